/*
 * sasl_digest.c — see sasl_digest.h.
 */
#include "sasl_digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

bool digest_md5_field(const char *s, size_t n, const char *key, char *out, size_t outlen)
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


int digest_md5_client_response(const char *challenge, size_t n, const char *user,
                               const char *password, const char *service, char *out,
                               size_t outlen)
{
    char realm[256] = "", nonce[256], qop[64] = "auth";
    if (!digest_md5_field(challenge, n, "nonce", nonce, sizeof nonce))
        return -1;
    digest_md5_field(challenge, n, "realm", realm, sizeof realm);
    digest_md5_field(challenge, n, "qop", qop, sizeof qop);
    if (!strstr(qop, "auth"))
        return -1;
    uint8_t raw[16];
    char cnonce[64];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)cnonce, raw, sizeof raw);
    char uri[300], resp[33];
    snprintf(uri, sizeof uri, "%s/%s", service, realm[0] ? realm : DIGEST_MD5_REALM);
    digest_md5_response(user, realm, password, nonce, cnonce, "00000001", "auth", uri, NULL, 0,
                        resp);
    int k = snprintf(out, outlen,
                     "charset=utf-8,username=\"%s\",realm=\"%s\",nonce=\"%s\",nc=00000001,"
                     "cnonce=\"%s\",digest-uri=\"%s\",maxbuf=65536,response=%s,qop=auth",
                     user, realm, nonce, cnonce, uri, resp);
    return k > 0 && (size_t)k < outlen ? k : -1;
}
