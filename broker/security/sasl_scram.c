/*
 * sasl_scram.c — SCRAM-SHA-256/512 computations and the server side of the
 * exchange (see sasl_scram.h). Nothing here logs a message of the exchange.
 */
#include "sasl_scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const EVP_MD *md_of(int mech)
{
    switch (mech) {
    case SCRAM_SHA_256: return EVP_sha256();
    case SCRAM_SHA_512: return EVP_sha512();
    default: return NULL;
    }
}

int scram_mech_from_name(const char *name)
{
    if (name && strcmp(name, "SCRAM-SHA-256") == 0)
        return SCRAM_SHA_256;
    if (name && strcmp(name, "SCRAM-SHA-512") == 0)
        return SCRAM_SHA_512;
    return SCRAM_UNKNOWN;
}

const char *scram_mech_name(int mech)
{
    switch (mech) {
    case SCRAM_SHA_256: return "SCRAM-SHA-256";
    case SCRAM_SHA_512: return "SCRAM-SHA-512";
    default: return NULL;
    }
}

size_t scram_hash_len(int mech)
{
    const EVP_MD *md = md_of(mech);
    return md ? (size_t)EVP_MD_get_size(md) : 0;
}

static int hmac(int mech, const uint8_t *key, size_t klen, const void *data, size_t n,
                uint8_t *out)
{
    unsigned int len = 0;
    return HMAC(md_of(mech), key, (int)klen, data, n, out, &len) ? 0 : -1;
}

static int digest(int mech, const uint8_t *data, size_t n, uint8_t *out)
{
    unsigned int len = 0;
    return EVP_Digest(data, n, out, &len, md_of(mech), NULL) == 1 ? 0 : -1;
}

int scram_salted_password(int mech, const char *pw, size_t pwlen, const uint8_t *salt,
                          size_t saltlen, int32_t iterations, uint8_t *out)
{
    const EVP_MD *md = md_of(mech);
    if (!md || iterations < 1)
        return -1;
    return PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen, iterations, md,
                             EVP_MD_get_size(md), out) == 1 ? 0 : -1;
}

int scram_cred_from_salted(int mech, const uint8_t *salted, size_t salted_len,
                           const uint8_t *salt, size_t saltlen, int32_t iterations,
                           struct scram_cred *out)
{
    size_t hl = scram_hash_len(mech);
    if (!hl || saltlen == 0 || saltlen > SCRAM_MAX_SALT || salted_len == 0)
        return -1;
    uint8_t client_key[SCRAM_MAX_HASH];
    memset(out, 0, sizeof *out);
    memcpy(out->salt, salt, saltlen);
    out->salt_len = saltlen;
    out->iterations = iterations;
    int rc = hmac(mech, salted, salted_len, "Client Key", 10, client_key) ||
             digest(mech, client_key, hl, out->stored_key) ||
             hmac(mech, salted, salted_len, "Server Key", 10, out->server_key);
    OPENSSL_cleanse(client_key, sizeof client_key);
    return rc ? -1 : 0;
}

/* ---------------- base64 ---------------- */

size_t scram_b64_encode(const uint8_t *in, size_t n, char *out, size_t outcap)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (outcap < need)
        return 0;
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return len < 0 ? 0 : (size_t)len;
}

int scram_b64_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
{
    if (n % 4 != 0)
        return -1;
    if (n == 0)
        return 0;
    size_t pad = 0;
    if (in[n - 1] == '=')
        pad++;
    if (n > 1 && in[n - 2] == '=')
        pad++;
    size_t len = n / 4 * 3 - pad;
    if (len > outcap)
        return -1;
    uint8_t *tmp = malloc(n / 4 * 3 + 1);
    if (!tmp)
        return -1;
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    /* EVP_DecodeBlock accepts padding anywhere; re-check the characters. */
    for (size_t i = 0; i < n && got >= 0; i++) {
        char c = in[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || (c == '=' && i >= n - pad);
        if (!ok)
            got = -1;
    }
    if (got < 0) {
        free(tmp);
        return -1;
    }
    memcpy(out, tmp, len);
    free(tmp);
    return (int)len;
}

/* ---------------- text form ---------------- */

int scram_cred_format(int mech, const struct scram_cred *c, char *out, size_t outlen)
{
    size_t hl = scram_hash_len(mech);
    char salt[SCRAM_MAX_SALT * 2], sk[SCRAM_MAX_HASH * 2], vk[SCRAM_MAX_HASH * 2];
    if (!hl || !scram_b64_encode(c->salt, c->salt_len, salt, sizeof salt) ||
        !scram_b64_encode(c->stored_key, hl, sk, sizeof sk) ||
        !scram_b64_encode(c->server_key, hl, vk, sizeof vk))
        return -1;
    int n = snprintf(out, outlen, "salt=%s,stored_key=%s,server_key=%s,iterations=%d", salt, sk,
                     vk, c->iterations);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int scram_cred_parse(int mech, const char *text, struct scram_cred *out)
{
    size_t hl = scram_hash_len(mech);
    if (!hl || !text)
        return -1;
    memset(out, 0, sizeof *out);
    bool have_salt = false, have_sk = false, have_vk = false, have_it = false;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq)
            return -1;
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vlen = n - klen - 1;
        int got;
        if (klen == 4 && memcmp(p, "salt", 4) == 0) {
            got = scram_b64_decode(v, vlen, out->salt, sizeof out->salt);
            if (got <= 0)
                return -1;
            out->salt_len = (size_t)got;
            have_salt = true;
        } else if (klen == 10 && memcmp(p, "stored_key", 10) == 0) {
            got = scram_b64_decode(v, vlen, out->stored_key, sizeof out->stored_key);
            if (got != (int)hl)
                return -1;
            have_sk = true;
        } else if (klen == 10 && memcmp(p, "server_key", 10) == 0) {
            got = scram_b64_decode(v, vlen, out->server_key, sizeof out->server_key);
            if (got != (int)hl)
                return -1;
            have_vk = true;
        } else if (klen == 10 && memcmp(p, "iterations", 10) == 0) {
            char num[16];
            if (vlen == 0 || vlen >= sizeof num)
                return -1;
            memcpy(num, v, vlen);
            num[vlen] = 0;
            char *e;
            long it = strtol(num, &e, 10);
            if (*e || it < 1 || it > 1000000)
                return -1;
            out->iterations = (int32_t)it;
            have_it = true;
        }
        /* other keys (Kafka adds none today) are ignored */
        p = end ? end + 1 : p + n;
    }
    return have_salt && have_sk && have_vk && have_it ? 0 : -1;
}

/* ---------------- the exchange ---------------- */

struct scram_server {
    int mech;
    scram_lookup_fn lookup;
    void *arg;
    int step;                  /* 0: expect client-first, 1: client-final, 2: done/failed */
    char user[256];
    char gs2[300];             /* the client's GS2 header, e.g. "n,," */
    char *client_first_bare;
    char *server_first;
    char nonce[200];           /* client nonce + server nonce */
    char fixed_nonce[100];     /* tests */
    struct scram_cred cred;
    bool fake;                 /* unknown user: fail at the proof */
};

#define FAIL_MSG_256 "Authentication failed during authentication due to invalid credentials " \
                     "with SASL mechanism SCRAM-SHA-256"
#define FAIL_MSG_512 "Authentication failed during authentication due to invalid credentials " \
                     "with SASL mechanism SCRAM-SHA-512"

static const char *fail_msg(const struct scram_server *s)
{
    return s->mech == SCRAM_SHA_512 ? FAIL_MSG_512 : FAIL_MSG_256;
}

struct scram_server *scram_server_new(int mech, scram_lookup_fn lookup, void *arg)
{
    if (!md_of(mech))
        return NULL;
    struct scram_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mech = mech;
    s->lookup = lookup;
    s->arg = arg;
    return s;
}

void scram_server_free(struct scram_server *s)
{
    if (!s)
        return;
    free(s->client_first_bare);
    free(s->server_first);
    OPENSSL_cleanse(&s->cred, sizeof s->cred);
    free(s);
}

void scram_server_set_nonce(struct scram_server *s, const char *nonce)
{
    snprintf(s->fixed_nonce, sizeof s->fixed_nonce, "%s", nonce);
}

/* saslname -> username: "=2C" is ',' and "=3D" is '='; any other '=' is an error. */
static int unescape_name(const char *in, size_t n, char *out, size_t outcap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '=') {
            if (i + 3 > n)
                return -1;
            if (memcmp(in + i, "=2C", 3) == 0)
                ch = ',';
            else if (memcmp(in + i, "=3D", 3) == 0)
                ch = '=';
            else
                return -1;
            i += 2;
        } else if (ch == 0) {
            return -1;
        }
        if (o + 1 >= outcap)
            return -1;
        out[o++] = ch;
    }
    out[o] = 0;
    return o ? 0 : -1;
}

/* A per-process secret for the fake credentials of unknown users. */
static uint8_t fake_secret[32];
static bool fake_ready;

static int fake_cred(int mech, const char *user, struct scram_cred *c)
{
    if (!fake_ready) {
        if (RAND_bytes(fake_secret, sizeof fake_secret) != 1)
            return -1;
        fake_ready = true;
    }
    uint8_t h[SCRAM_MAX_HASH];
    memset(c, 0, sizeof *c);
    if (hmac(mech, fake_secret, sizeof fake_secret, user, strlen(user), h) != 0 ||
        RAND_bytes(c->stored_key, sizeof c->stored_key) != 1 ||
        RAND_bytes(c->server_key, sizeof c->server_key) != 1)
        return -1;
    c->salt_len = 20;
    memcpy(c->salt, h, c->salt_len);
    c->iterations = SCRAM_MIN_ITERATIONS;
    return 0;
}

static int client_first(struct scram_server *s, const char *m, char *out, size_t outcap,
                        size_t *outlen, const char **msg)
{
    /* gs2-header: ("n" | "y" | "p=...") "," [ "a=" authzid ] "," */
    if (m[0] == 'p') {
        *msg = "Authentication failed: channel binding is not supported";
        return SCRAM_FAIL;
    }
    if ((m[0] != 'n' && m[0] != 'y') || m[1] != ',')
        return SCRAM_FAIL;
    const char *c2 = strchr(m + 2, ',');
    if (!c2)
        return SCRAM_FAIL;
    size_t gs2len = (size_t)(c2 + 1 - m);
    if (gs2len >= sizeof s->gs2)
        return SCRAM_FAIL;
    memcpy(s->gs2, m, gs2len);
    s->gs2[gs2len] = 0;
    char authzid[256] = "";
    if (c2 > m + 2) {
        if (strncmp(m + 2, "a=", 2) != 0 ||
            unescape_name(m + 4, (size_t)(c2 - m - 4), authzid, sizeof authzid) != 0)
            return SCRAM_FAIL;
    }
    const char *bare = c2 + 1;
    if (strncmp(bare, "n=", 2) != 0)
        return SCRAM_FAIL;
    const char *ue = strchr(bare + 2, ',');
    if (!ue || unescape_name(bare + 2, (size_t)(ue - bare - 2), s->user, sizeof s->user) != 0)
        return SCRAM_FAIL;
    if (strncmp(ue + 1, "r=", 2) != 0)
        return SCRAM_FAIL;
    const char *cn = ue + 3;
    size_t cnlen = strcspn(cn, ",");
    if (cnlen == 0 || cnlen > 100)
        return SCRAM_FAIL;
    for (size_t i = 0; i < cnlen; i++)
        if (cn[i] < 0x21 || cn[i] > 0x7e)
            return SCRAM_FAIL;
    /* Extensions (Kafka's KIP-84: name=value after the nonce). */
    const char *ext = cn + cnlen;
    while (*ext == ',') {
        ext++;
        size_t el = strcspn(ext, ",");
        if (el >= 10 && strncmp(ext, "tokenauth=", 10) == 0 &&
            !(el == 15 && strncmp(ext + 10, "false", 5) == 0)) {
            *msg = "Authentication failed: delegation tokens are not supported";
            return SCRAM_FAIL;
        }
        if (!memchr(ext, '=', el))
            return SCRAM_FAIL;
        ext += el;
    }
    if (authzid[0] && strcmp(authzid, s->user) != 0) {
        *msg = "Authentication failed: Client requested an authorization id that is different "
               "from username";
        return SCRAM_FAIL;
    }
    const struct scram_cred *c = s->lookup ? s->lookup(s->user, s->mech, s->arg) : NULL;
    if (c) {
        s->cred = *c;
    } else {
        s->fake = true;
        if (fake_cred(s->mech, s->user, &s->cred) != 0)
            return SCRAM_FAIL;
    }
    char snonce[sizeof s->fixed_nonce];
    if (s->fixed_nonce[0]) {
        snprintf(snonce, sizeof snonce, "%s", s->fixed_nonce);
    } else {
        uint8_t rnd[18];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return SCRAM_FAIL;
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(snonce + 2 * i, 3, "%02x", rnd[i]);
    }
    snprintf(s->nonce, sizeof s->nonce, "%.*s%s", (int)cnlen, cn, snonce);
    char salt[SCRAM_MAX_SALT * 2];
    if (!scram_b64_encode(s->cred.salt, s->cred.salt_len, salt, sizeof salt))
        return SCRAM_FAIL;
    int n = snprintf(out, outcap, "r=%s,s=%s,i=%d", s->nonce, salt, s->cred.iterations);
    if (n < 0 || (size_t)n >= outcap)
        return SCRAM_FAIL;
    *outlen = (size_t)n;
    s->client_first_bare = strdup(bare);
    s->server_first = strdup(out);
    if (!s->client_first_bare || !s->server_first)
        return SCRAM_FAIL;
    s->step = 1;
    return SCRAM_CONTINUE;
}

static int client_final(struct scram_server *s, const char *m, char *out, size_t outcap,
                        size_t *outlen, char *user, size_t userlen, const char **msg)
{
    /* c=<b64 gs2 header>,r=<nonce>[,ext]*,p=<proof> */
    const char *pp = strstr(m, ",p=");
    if (strncmp(m, "c=", 2) != 0 || !pp || strchr(pp + 3, ','))
        return SCRAM_FAIL;
    const char *ce = strchr(m, ',');
    char cb[512];
    if (!scram_b64_encode((const uint8_t *)s->gs2, strlen(s->gs2), cb, sizeof cb))
        return SCRAM_FAIL;
    if ((size_t)(ce - m - 2) != strlen(cb) || memcmp(m + 2, cb, strlen(cb)) != 0) {
        *msg = "Authentication failed: Invalid channel binding in the final client message";
        return SCRAM_FAIL;
    }
    if (strncmp(ce + 1, "r=", 2) != 0)
        return SCRAM_FAIL;
    const char *rn = ce + 3;
    size_t rnlen = strcspn(rn, ",");
    if (rnlen != strlen(s->nonce) || memcmp(rn, s->nonce, rnlen) != 0) {
        *msg = "Authentication failed: Invalid client nonce in the final client message.";
        return SCRAM_FAIL;
    }
    size_t hl = scram_hash_len(s->mech);
    uint8_t proof[SCRAM_MAX_HASH + 4];
    int plen = scram_b64_decode(pp + 3, strlen(pp + 3), proof, sizeof proof);
    if (plen != (int)hl)
        return SCRAM_FAIL;
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    size_t wlen = (size_t)(pp - m);
    size_t alen = strlen(s->client_first_bare) + strlen(s->server_first) + wlen + 3;
    char *auth = malloc(alen);
    if (!auth)
        return SCRAM_FAIL;
    snprintf(auth, alen, "%s,%s,%.*s", s->client_first_bare, s->server_first, (int)wlen, m);
    uint8_t sig[SCRAM_MAX_HASH], client_key[SCRAM_MAX_HASH], stored[SCRAM_MAX_HASH];
    uint8_t server_sig[SCRAM_MAX_HASH];
    int rc = hmac(s->mech, s->cred.stored_key, hl, auth, strlen(auth), sig);
    for (size_t i = 0; i < hl; i++)
        client_key[i] = proof[i] ^ sig[i];
    rc |= digest(s->mech, client_key, hl, stored);
    rc |= hmac(s->mech, s->cred.server_key, hl, auth, strlen(auth), server_sig);
    free(auth);
    OPENSSL_cleanse(client_key, sizeof client_key);
    bool ok = rc == 0 && CRYPTO_memcmp(stored, s->cred.stored_key, hl) == 0;
    if (!ok || s->fake)
        return SCRAM_FAIL;
    char v[SCRAM_MAX_HASH * 2];
    if (!scram_b64_encode(server_sig, hl, v, sizeof v))
        return SCRAM_FAIL;
    int n = snprintf(out, outcap, "v=%s", v);
    if (n < 0 || (size_t)n >= outcap)
        return SCRAM_FAIL;
    *outlen = (size_t)n;
    snprintf(user, userlen, "%s", s->user);
    s->step = 2;
    return SCRAM_DONE;
}

int scram_server_step(struct scram_server *s, const uint8_t *in, size_t inlen, char *out,
                      size_t outcap, size_t *outlen, char *user, size_t userlen,
                      const char **msg)
{
    *msg = NULL;
    *outlen = 0;
    if (outcap)
        out[0] = 0;
    char *m = NULL;
    int rc = SCRAM_FAIL;
    if (inlen == 0 || inlen > 4096 || memchr(in, 0, inlen) || !(m = malloc(inlen + 1)))
        goto done;
    memcpy(m, in, inlen);
    m[inlen] = 0;
    if (s->step == 0)
        rc = client_first(s, m, out, outcap, outlen, msg);
    else if (s->step == 1)
        rc = client_final(s, m, out, outcap, outlen, user, userlen, msg);
done:
    free(m);
    if (rc == SCRAM_FAIL) {
        s->step = 2;
        *outlen = 0;
        if (!*msg)
            *msg = fail_msg(s);
    }
    return rc;
}
