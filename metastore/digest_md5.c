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

#include "sasl.h"

static void md5_hex(const uint8_t d[16], char out[33])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[32] = 0;
}

/* MD5 over n (pointer, length) parts. */
static void md5_parts(uint8_t out[16], const void *const *parts, const size_t *lens, int n)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    memset(out, 0, 16);
    if (!ctx)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
        for (int i = 0; i < n; i++)
            EVP_DigestUpdate(ctx, parts[i], lens[i]);
        EVP_DigestFinal_ex(ctx, out, &len);
    }
    EVP_MD_CTX_free(ctx);
}

static void md5_str(uint8_t out[16], const char *s)
{
    const void *p[1] = { s };
    size_t l[1] = { strlen(s) };
    md5_parts(out, p, l, 1);
}

void digest_md5_response(const char *user, const char *realm, const char *password,
                         const char *nonce, const char *cnonce, const char *nc,
                         const char *qop, const char *digest_uri, const char *authzid,
                         int for_rspauth, char out[33])
{
    /* H(user:realm:password) is binary inside A1. */
    uint8_t urp[16];
    {
        const void *p[5] = { user, ":", realm, ":", password };
        size_t l[5] = { strlen(user), 1, strlen(realm), 1, strlen(password) };
        md5_parts(urp, p, l, 5);
    }
    uint8_t ha1[16];
    {
        const void *p[7] = { urp, ":", nonce, ":", cnonce, ":", authzid };
        size_t l[7] = { 16, 1, strlen(nonce), 1, strlen(cnonce), 1, authzid ? strlen(authzid) : 0 };
        md5_parts(ha1, p, l, authzid && *authzid ? 7 : 5);
    }
    char a2[1024];
    snprintf(a2, sizeof a2, "%s:%s", for_rspauth ? "" : "AUTHENTICATE", digest_uri);
    uint8_t ha2[16];
    md5_str(ha2, a2);
    char h1[33], h2[33];
    md5_hex(ha1, h1);
    md5_hex(ha2, h2);
    char kd[2048];
    snprintf(kd, sizeof kd, "%s:%s:%s:%s:%s:%s", h1, nonce, nc, cnonce, qop, h2);
    uint8_t r[16];
    md5_str(r, kd);
    md5_hex(r, out);
}

/* Find key in a digest-response ("k=v,k="v",..."); copies the unquoted
 * value into out. Returns false when absent or too long. */
static bool get_field(const char *s, size_t n, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ',' || s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t ks = i;
        while (i < n && s[i] != '=')
            i++;
        size_t klen = i - ks;
        while (klen > 0 && s[ks + klen - 1] == ' ')
            klen--;
        if (i >= n)
            return false;
        i++;  /* '=' */
        size_t o = 0;
        bool match = klen == kl && strncasecmp(s + ks, key, kl) == 0;
        if (i < n && s[i] == '"') {
            i++;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                if (match && o + 1 < outlen)
                    out[o++] = s[i];
                else if (match)
                    return false;
                i++;
            }
            i++;
        } else {
            while (i < n && s[i] != ',') {
                if (match && o + 1 < outlen)
                    out[o++] = s[i];
                else if (match)
                    return false;
                i++;
            }
        }
        if (match) {
            out[o] = 0;
            return true;
        }
    }
    return false;
}

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
    if (!get_field(s, inlen, "username", user, sizeof user) ||
        !get_field(s, inlen, "nonce", nonce, sizeof nonce) ||
        !get_field(s, inlen, "cnonce", cnonce, sizeof cnonce) ||
        !get_field(s, inlen, "nc", nc, sizeof nc) ||
        !get_field(s, inlen, "digest-uri", uri, sizeof uri) ||
        !get_field(s, inlen, "response", resp, sizeof resp))
        return -1;
    get_field(s, inlen, "realm", realm, sizeof realm);
    get_field(s, inlen, "qop", qop, sizeof qop);
    get_field(s, inlen, "authzid", authzid, sizeof authzid);
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
