/*
 * sasl.c — JAAS Server section parsing and the SASL exchange driver
 * (DIGEST-MD5 itself is in digest_md5.c).
 */
#include "sasl.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest_md5.h"
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

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (cap - n - 1 == 0) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* Blank out // and slash-star comments so the scanner below can ignore them. */
static void strip_comments(char *s)
{
    bool in_str = false;
    for (char *p = s; *p; p++) {
        if (*p == '"')
            in_str = !in_str;
        if (in_str)
            continue;
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                *p++ = ' ';
            if (!*p)
                break;
        } else if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            char *end = e ? e + 2 : p + strlen(p);
            memset(p, ' ', (size_t)(end - p));
            p = end - 1;
        }
    }
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

/* Parse the body of the Server section: "<class> <flag> key=value ... ;". */
static int parse_section(struct sasl_users *u, const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (isspace((unsigned char)*p) || *p == ';'))
            p++;
        const char *k = p;
        while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != ';')
            p++;
        size_t kl = (size_t)(p - k);
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p >= end || *p != '=')
            continue;  /* the login module class or its control flag */
        p++;
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *v;
        size_t vl;
        if (p < end && *p == '"') {
            v = ++p;
            while (p < end && *p != '"')
                p++;
            vl = (size_t)(p - v);
            if (p < end)
                p++;
        } else {
            v = p;
            while (p < end && !isspace((unsigned char)*p) && *p != ';')
                p++;
            vl = (size_t)(p - v);
        }
        if (kl > 5 && strncmp(k, "user_", 5) == 0 && add_user(u, k + 5, kl - 5, v, vl) != 0)
            return -1;
    }
    return 0;
}

int sasl_users_load(struct sasl_users **out, const char *path)
{
    *out = NULL;
    char *text = read_all(path);
    if (!text) {
        KLOG_ERROR("cannot read JAAS file %s", path);
        return -1;
    }
    strip_comments(text);
    struct sasl_users *u = calloc(1, sizeof *u);
    int rc = -1;
    const char *p = text;
    /* Find "Server" followed by '{' as a whole word. */
    while (u && (p = strstr(p, "Server"))) {
        bool word_start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        const char *q = p + 6;
        while (isspace((unsigned char)*q))
            q++;
        if (word_start && *q == '{') {
            const char *end = strstr(q, "};");
            if (!end)
                end = q + strlen(q);
            rc = parse_section(u, q + 1, end);
            break;
        }
        p += 6;
    }
    free(text);
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
};

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
    free(c);
}
