/*
 * sasl.c — users from the JAAS Server section and the SASL exchange driver
 * (DIGEST-MD5 itself is in digest_md5.c).
 */
#include "sasl.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest_md5.h"
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

struct sasl_conn {
    struct digest_md5 md5;
    int round;
    char *plain_user;     /* PLAIN: the authenticated name */
};

/* PLAIN (RFC 4616): one client message "authzid NUL authcid NUL passwd",
 * sent first (kazoo through pure-sasl does this); DIGEST-MD5 always starts
 * from an empty token, so a non-empty first token means PLAIN. */
static enum sasl_step plain_step(struct sasl_conn *c, const struct sasl_users *users,
                                 const uint8_t *in, size_t inlen, const char **user)
{
    const char *authz = (const char *)in;
    const char *nul1 = memchr(in, 0, inlen);
    const char *nul2 = nul1 ? memchr(nul1 + 1, 0, inlen - (size_t)(nul1 + 1 - authz)) : NULL;
    if (!nul2 || nul1 == authz + inlen)
        return SASL_FAILED;
    char *name = strndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
    size_t pwlen = inlen - (size_t)(nul2 + 1 - authz);
    const char *pw = name ? sasl_users_get(users, name) : NULL;
    bool ok = pw && strlen(pw) == pwlen && CRYPTO_memcmp(pw, nul2 + 1, pwlen) == 0 &&
              (nul1 == authz || (strlen(name) == (size_t)(nul1 - authz) &&
                                 memcmp(name, authz, (size_t)(nul1 - authz)) == 0));
    if (!ok) {
        free(name);
        return SASL_FAILED;
    }
    c->plain_user = name;
    *user = name;
    return SASL_DONE;
}

enum sasl_step sasl_step(struct sasl_conn **cp, const struct sasl_users *users,
                         const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                         const char **user)
{
    *out = NULL;
    *outlen = 0;
    if (!users)
        return SASL_FAILED;
    if (!*cp) {
        *cp = calloc(1, sizeof **cp);
        if (!*cp)
            return SASL_FAILED;
    }
    struct sasl_conn *c = *cp;
    c->round++;
    if (c->plain_user)
        return SASL_FAILED;  /* PLAIN has one round */
    if (c->round == 1 && inlen > 0)
        return plain_step(c, users, in, inlen, user);
    int rc = digest_md5_step(&c->md5, users, in, inlen, out, outlen);
    if (rc < 0)
        return SASL_FAILED;
    if (rc == 1) {
        *user = c->md5.username;
        return SASL_DONE;
    }
    return SASL_CONTINUE;
}

void sasl_conn_free(struct sasl_conn *c)
{
    if (!c)
        return;
    digest_md5_free(&c->md5);
    free(c->plain_user);
    free(c);
}
