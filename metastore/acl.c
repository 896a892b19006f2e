/*
 * acl.c — see acl.h.
 */
#include "acl.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int zid_list_add(struct zid_list *l, const char *scheme, const char *id)
{
    if (zid_list_has(l, scheme, id))
        return 0;
    struct zid *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    v[l->n].scheme = strdup(scheme);
    v[l->n].id = strdup(id);
    if (!v[l->n].scheme || !v[l->n].id) {
        free(v[l->n].scheme);
        free(v[l->n].id);
        return -1;
    }
    l->n++;
    return 0;
}

bool zid_list_has(const struct zid_list *l, const char *scheme, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].scheme, scheme) == 0 && strcmp(l->v[i].id, id) == 0)
            return true;
    return false;
}

void zid_list_free(struct zid_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].scheme);
        free(l->v[i].id);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

char *acl_digest(const char *up, size_t len)
{
    const char *colon = memchr(up, ':', len);
    size_t ulen = colon ? (size_t)(colon - up) : len;
    unsigned char md[20];
    unsigned int mdlen = 0;
    if (!EVP_Digest(up, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return NULL;
    unsigned char b64[4 * ((20 + 2) / 3) + 1];
    EVP_EncodeBlock(b64, md, 20);
    char *out = malloc(ulen + 1 + sizeof b64);
    if (!out)
        return NULL;
    memcpy(out, up, ulen);
    out[ulen] = ':';
    strcpy(out + ulen + 1, (const char *)b64);
    return out;
}

/* ---------------- ip ---------------- */

/* Parse "addr" or "addr/bits" into bytes; returns address length or 0. */
static int parse_ip(const char *s, uint8_t addr[16], int *bits)
{
    char buf[64];
    size_t n = strcspn(s, "/");
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    int len;
    if (inet_pton(AF_INET, buf, addr) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, buf, addr) == 1)
        len = 16;
    else
        return 0;
    *bits = len * 8;
    if (s[n] == '/') {
        char *end;
        long b = strtol(s + n + 1, &end, 10);
        if (*end || end == s + n + 1 || b < 0 || b > len * 8)
            return 0;
        *bits = (int)b;
    }
    return len;
}

static bool ip_matches(const char *id, const char *expr)
{
    uint8_t a[16], e[16];
    int abits, ebits;
    int al = parse_ip(id, a, &abits), el = parse_ip(expr, e, &ebits);
    if (!al || al != el)
        return false;
    for (int i = 0; i < ebits; i++) {
        uint8_t m = (uint8_t)(0x80 >> (i % 8));
        if ((a[i / 8] & m) != (e[i / 8] & m))
            return false;
    }
    return true;
}

/* ---------------- checks ---------------- */

static bool id_matches(const struct zid *who, const struct zacl *a)
{
    if (strcmp(who->scheme, a->scheme) != 0)
        return false;
    if (strcmp(a->scheme, "ip") == 0)
        return ip_matches(who->id, a->id);
    return strcmp(who->id, a->id) == 0;
}

bool acl_check(const struct zacl_list *acl, int32_t perm, const struct zid_list *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->v[i].scheme, "super") == 0)
            return true;
    if (acl->n == 0)
        return true;
    for (int32_t i = 0; i < acl->n; i++) {
        const struct zacl *a = &acl->v[i];
        if (!(a->perms & perm))
            continue;
        if (strcmp(a->scheme, "world") == 0 && strcmp(a->id, "anyone") == 0)
            return true;
        for (size_t j = 0; j < ids->n; j++)
            if (id_matches(&ids->v[j], a))
                return true;
    }
    return false;
}

static bool scheme_valid(const char *scheme, const char *id)
{
    if (strcmp(scheme, "world") == 0)
        return strcmp(id, "anyone") == 0;
    if (strcmp(scheme, "digest") == 0) {
        const char *c = strchr(id, ':');
        return c && c != id && !strchr(c + 1, ':');
    }
    if (strcmp(scheme, "ip") == 0) {
        uint8_t a[16];
        int bits;
        return parse_ip(id, a, &bits) != 0;
    }
    if (strcmp(scheme, "sasl") == 0 || strcmp(scheme, "super") == 0)
        return true;
    return false;
}

/* Authenticated ids are the ones "auth" expands to: not ip, not world. */
static bool authenticated_scheme(const char *scheme)
{
    return strcmp(scheme, "digest") == 0 || strcmp(scheme, "sasl") == 0;
}

static int add_unique(struct zacl_list *out, int32_t perms, const char *scheme, const char *id)
{
    for (int32_t i = 0; i < out->n; i++)
        if (out->v[i].perms == perms && strcmp(out->v[i].scheme, scheme) == 0 &&
            strcmp(out->v[i].id, id) == 0)
            return 0;
    return zacl_list_add(out, perms, scheme, id);
}

int acl_fixup(const struct zacl_list *in, const struct zid_list *ids, struct zacl_list *out)
{
    out->n = 0;
    out->v = NULL;
    if (in->n == 0)
        return ZINVALIDACL;
    for (int32_t i = 0; i < in->n; i++) {
        const struct zacl *a = &in->v[i];
        int rc = 0;
        if (strcmp(a->scheme, "auth") == 0) {
            bool any = false;
            for (size_t j = 0; j < ids->n && rc == 0; j++) {
                if (authenticated_scheme(ids->v[j].scheme)) {
                    rc = add_unique(out, a->perms, ids->v[j].scheme, ids->v[j].id);
                    any = true;
                }
            }
            if (!any) {
                zacl_list_free(out);
                return ZINVALIDACL;
            }
        } else if (scheme_valid(a->scheme, a->id)) {
            rc = add_unique(out, a->perms, a->scheme, a->id);
        } else {
            zacl_list_free(out);
            return ZINVALIDACL;
        }
        if (rc != 0) {
            zacl_list_free(out);
            return ZSYSTEMERROR;
        }
    }
    return ZOK;
}
