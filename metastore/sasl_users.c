/*
 * sasl_users.c — SASL users from a JAAS file's Server section (sasl_users.h).
 */
#include "sasl_users.h"

#include <stdlib.h>
#include <string.h>

#include "jaas.h"
#include "klog.h"

struct sasl_user {
    char *name;
    char *password;
};

struct sasl_users {
    struct sasl_user *v;
    size_t n;
};

const char *sasl_users_get(const struct sasl_users *u, const char *name)
{
    if (!u)
        return NULL;
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0)
            return u->v[i].password;
    return NULL;
}

void sasl_users_free(struct sasl_users *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++) {
        free(u->v[i].name);
        free(u->v[i].password);
    }
    free(u->v);
    free(u);
}

static int add_user(struct sasl_users *u, const char *name, size_t nl, const char *pw, size_t pl)
{
    struct sasl_user *v = realloc(u->v, (u->n + 1) * sizeof *v);
    if (!v)
        return -1;
    u->v = v;
    v[u->n].name = strndup(name, nl);
    v[u->n].password = strndup(pw, pl);
    if (!v[u->n].name || !v[u->n].password) {
        free(v[u->n].name);
        free(v[u->n].password);
        return -1;
    }
    u->n++;
    return 0;
}

/* Users are the `user_<name>="password"` options of the Server section's
 * entries (the login module class is not checked). The file is parsed by
 * the JAAS parser the broker shares (common/jaas.c), which refuses
 * malformed files with a line number. */
int sasl_users_load(struct sasl_users **out, const char *path)
{
    *out = NULL;
    struct jaas_config jc;
    char err[512];
    if (jaas_parse_file(path, &jc, err, sizeof err) != 0) {
        KLOG_ERROR("JAAS: %s", err);
        return -1;
    }
    const struct jaas_section *sec = jaas_section(&jc, "Server");
    struct sasl_users *u = sec ? calloc(1, sizeof *u) : NULL;
    int rc = u ? 0 : -1;
    for (size_t i = 0; u && rc == 0 && i < sec->nentries; i++)
        for (size_t j = 0; rc == 0 && j < sec->entries[i].nopts; j++) {
            const struct jaas_option *o = &sec->entries[i].opts[j];
            if (strncmp(o->key, "user_", 5) == 0 && o->key[5])
                rc = add_user(u, o->key + 5, strlen(o->key) - 5, o->value, strlen(o->value));
        }
    jaas_free(&jc);
    if (rc != 0) {
        KLOG_ERROR("JAAS file %s has no usable Server section", path);
        sasl_users_free(u);
        return -1;
    }
    KLOG_INFO("JAAS: %zu SASL users from %s", u->n, path);
    *out = u;
    return 0;
}
