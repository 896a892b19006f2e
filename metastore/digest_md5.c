/*
 * digest_md5.c — see digest_md5.h.
 */
#include "digest_md5.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl_users.h"
#include "sasl_digest.h"

static int set_out(uint8_t **out, size_t *outlen, const char *s)
{
    *outlen = strlen(s);
    *out = malloc(*outlen + 1);
    if (!*out)
        return -1;
    memcpy(*out, s, *outlen + 1);
    return 0;
}

int digest_md5_step(struct digest_md5 *m, const struct sasl_users *users,
                    const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (m->state == 0) {
        uint8_t raw[24];
        if (RAND_bytes(raw, sizeof raw) != 1)
            return -1;
        EVP_EncodeBlock((unsigned char *)m->nonce, raw, sizeof raw);
        char ch[512];
        snprintf(ch, sizeof ch,
                 "realm=\"%s\",nonce=\"%s\",qop=\"auth\",charset=utf-8,algorithm=md5-sess",
                 DIGEST_MD5_REALM, m->nonce);
        m->state = 1;
        return set_out(out, outlen, ch) == 0 ? 0 : -1;
    }
    if (m->state == 2)
        return set_out(out, outlen, "") == 0 ? 1 : -1;
    const char *s = (const char *)in;
    char user[256], realm[256] = "", nonce[128], cnonce[256], nc[16], qop[32] = "auth",
         uri[256], resp[64], authzid[256] = "";
    if (!digest_md5_field(s, inlen, "username", user, sizeof user) ||
        !digest_md5_field(s, inlen, "nonce", nonce, sizeof nonce) ||
        !digest_md5_field(s, inlen, "cnonce", cnonce, sizeof cnonce) ||
        !digest_md5_field(s, inlen, "nc", nc, sizeof nc) ||
        !digest_md5_field(s, inlen, "digest-uri", uri, sizeof uri) ||
        !digest_md5_field(s, inlen, "response", resp, sizeof resp))
        return -1;
    digest_md5_field(s, inlen, "realm", realm, sizeof realm);
    digest_md5_field(s, inlen, "qop", qop, sizeof qop);
    digest_md5_field(s, inlen, "authzid", authzid, sizeof authzid);
    if (strcmp(nonce, m->nonce) != 0 || strcmp(qop, "auth") != 0 ||
        strncmp(uri, "zookeeper/", 10) != 0)
        return -1;
    const char *pw = sasl_users_get(users, user);
    if (!pw)
        return -1;
    char expect[33];
    digest_md5_response(user, realm, pw, nonce, cnonce, nc, qop, uri, authzid, 0, expect);
    if (strcasecmp(expect, resp) != 0)
        return -1;
    if (authzid[0] && strcmp(authzid, user) != 0)
        return -1;
    char rsp[33], tok[64];
    digest_md5_response(user, realm, pw, nonce, cnonce, nc, qop, uri, authzid, 1, rsp);
    snprintf(tok, sizeof tok, "rspauth=%s", rsp);
    free(m->username);
    m->username = strdup(user);
    m->state = 2;
    if (!m->username)
        return -1;
    return set_out(out, outlen, tok) == 0 ? 1 : -1;
}

void digest_md5_free(struct digest_md5 *m)
{
    free(m->username);
    m->username = NULL;
}
