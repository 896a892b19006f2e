/*
 * sasl.c — the SASL exchange driver (the users are sasl_users.c's,
 * DIGEST-MD5 itself is in digest_md5.c).
 */
#include "sasl.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest_md5.h"
#include "klog.h"

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
