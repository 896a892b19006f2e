/*
 * cli_sasl.c — SASL/PLAIN and SCRAM client exchanges (see cli_sasl.h).
 */
#include "cli_sasl.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"

#define SCRAM_MAX_HASH 64

static void auth_failed(const char *user, struct kstr msg)
{
    if (msg.len > 0)
        cli_die("org.apache.kafka.common.errors.SaslAuthenticationException: %.*s",
                (int)msg.len, msg.p);
    cli_die("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication "
            "failed for user %s", user);
}

static void handshake(const struct kclient *kc, struct kconn *c)
{
    struct karena a;
    karena_init(&a);
    /* v1 wraps the tokens in SaslAuthenticate; v0 (raw tokens) is not used. */
    int16_t v = kc_need(c, KP_API_SASL_HANDSHAKE, 1);
    if (v < 1)
        cli_die("the broker at %s only offers SaslHandshake v0", c->addr);
    struct kp_sasl_handshake_req rq;
    kp_sasl_handshake_req_init(&rq);
    rq.mechanism = kstr_c(kc->mechanism);
    struct kp_sasl_handshake_resp rs;
    kc_call(c, KP_API_SASL_HANDSHAKE, v, &rq, &rs, &a);
    if (rs.error_code == KERR_UNSUPPORTED_SASL_MECHANISM)
        cli_die("org.apache.kafka.common.errors.UnsupportedSaslMechanismException: Client "
                "SASL mechanism '%s' not enabled in the server", kc->mechanism);
    if (rs.error_code != KERR_NONE)
        cli_die("SaslHandshake with %s failed: %s", c->addr, kerr_name(rs.error_code));
    karena_free(&a);
}

/* One SaslAuthenticate round: sends tok, copies the server's bytes into out
 * (NUL-terminated). Exits on an error answer. */
static void authenticate(const struct kclient *kc, struct kconn *c, const void *tok, size_t n,
                         char *out, size_t outcap)
{
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c, KP_API_SASL_AUTHENTICATE, 2);
    struct kp_sasl_authenticate_req rq;
    kp_sasl_authenticate_req_init(&rq);
    rq.auth_bytes = (struct kbytes){ tok, (int32_t)n };
    struct kp_sasl_authenticate_resp rs;
    kc_call(c, KP_API_SASL_AUTHENTICATE, v, &rq, &rs, &a);
    if (rs.error_code != KERR_NONE)
        auth_failed(kc->user, rs.error_message);
    size_t got = rs.auth_bytes.len > 0 ? (size_t)rs.auth_bytes.len : 0;
    if (out) {
        if (got >= outcap)
            cli_die("SASL server message too long");
        memcpy(out, rs.auth_bytes.p, got);
        out[got] = 0;
    }
    karena_free(&a);
}

static void plain(const struct kclient *kc, struct kconn *c)
{
    /* RFC 4616: authzid NUL authcid NUL passwd, with an empty authzid. */
    size_t ul = strlen(kc->user), pl = strlen(kc->password);
    char *tok = calloc(1, ul + pl + 2);
    if (!tok)
        cli_die("out of memory");
    memcpy(tok + 1, kc->user, ul);
    memcpy(tok + 2 + ul, kc->password, pl);
    authenticate(kc, c, tok, ul + pl + 2, NULL, 0);
    free(tok);
}

/* ------------------------------------------------------------ SCRAM */

static const EVP_MD *scram_md(const char *mech)
{
    return strcmp(mech, "SCRAM-SHA-512") == 0 ? EVP_sha512() : EVP_sha256();
}

/* The value of attribute `k` ("k=value,") in a SCRAM message, or NULL. */
static const char *scram_attr(const char *msg, char k, size_t *len)
{
    for (const char *p = msg; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (p[0] == k && p[1] == '=') {
            const char *end = strchr(p, ',');
            *len = end ? (size_t)(end - p - 2) : strlen(p + 2);
            return p + 2;
        }
    }
    return NULL;
}

static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return -1;
    int k = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (k < 0)
        return -1;
    if (in[n - 1] == '=')
        k--;
    if (in[n - 2] == '=')
        k--;
    return k;
}

static void hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const void *d, size_t n,
                 uint8_t *out)
{
    unsigned int len = 0;
    if (!HMAC(md, key, (int)klen, d, n, out, &len))
        cli_die("HMAC failed");
}

int scram_client_final(const char *mech, const char *password, const char *client_first_bare,
                       const char *server_first, const char *client_nonce, char *final_out,
                       size_t final_cap, char *server_sig_b64, size_t sig_cap)
{
    const EVP_MD *md = scram_md(mech);
    size_t hl = (size_t)EVP_MD_get_size(md), rl = 0, sl = 0, il = 0;
    const char *r = scram_attr(server_first, 'r', &rl);
    const char *s = scram_attr(server_first, 's', &sl);
    const char *i = scram_attr(server_first, 'i', &il);
    uint8_t salt[256];
    int saltlen = s ? b64_decode(s, sl, salt, sizeof salt) : -1;
    long iter = i ? strtol(i, NULL, 10) : 0;
    /* The server nonce must extend ours (RFC 5802 5.1). */
    if (!r || saltlen <= 0 || iter < 1 || rl < strlen(client_nonce) ||
        strncmp(r, client_nonce, strlen(client_nonce)) != 0)
        return -1;
    uint8_t salted[SCRAM_MAX_HASH], ckey[SCRAM_MAX_HASH], stored[SCRAM_MAX_HASH];
    uint8_t csig[SCRAM_MAX_HASH], skey[SCRAM_MAX_HASH], ssig[SCRAM_MAX_HASH];
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, saltlen, (int)iter, md,
                          (int)hl, salted) != 1)
        return -1;
    hmac(md, salted, hl, "Client Key", 10, ckey);
    unsigned int dl = 0;
    EVP_Digest(ckey, hl, stored, &dl, md, NULL);
    char without_proof[512];
    snprintf(without_proof, sizeof without_proof, "c=biws,r=%.*s", (int)rl, r);
    size_t am_len = strlen(client_first_bare) + strlen(server_first) + strlen(without_proof) + 3;
    char *am = malloc(am_len);
    if (!am)
        cli_die("out of memory");
    snprintf(am, am_len, "%s,%s,%s", client_first_bare, server_first, without_proof);
    hmac(md, stored, hl, am, strlen(am), csig);
    hmac(md, salted, hl, "Server Key", 10, skey);
    hmac(md, skey, hl, am, strlen(am), ssig);
    free(am);
    uint8_t proof[SCRAM_MAX_HASH];
    for (size_t k = 0; k < hl; k++)
        proof[k] = ckey[k] ^ csig[k];
    char proof_b64[128];
    EVP_EncodeBlock((unsigned char *)proof_b64, proof, (int)hl);
    if (sig_cap < 4 * ((hl + 2) / 3) + 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)server_sig_b64, ssig, (int)hl);
    int n = snprintf(final_out, final_cap, "%s,p=%s", without_proof, proof_b64);
    return n > 0 && (size_t)n < final_cap ? 0 : -1;
}

/* saslname escaping of RFC 5802: ',' and '=' in the user name. */
static void scram_name(const char *user, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = user; *p && o + 4 < cap; p++) {
        if (*p == ',')
            o += (size_t)snprintf(out + o, cap - o, "=2C");
        else if (*p == '=')
            o += (size_t)snprintf(out + o, cap - o, "=3D");
        else
            out[o++] = *p;
    }
    out[o] = 0;
}

static void scram(const struct kclient *kc, struct kconn *c)
{
    uint8_t rnd[18];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        cli_die("no random bytes for the SCRAM nonce");
    char nonce[32], name[512], bare[700], first[720], server_first[1024];
    EVP_EncodeBlock((unsigned char *)nonce, rnd, sizeof rnd);   /* 24 chars, no ',' */
    scram_name(kc->user, name, sizeof name);
    snprintf(bare, sizeof bare, "n=%s,r=%s", name, nonce);
    snprintf(first, sizeof first, "n,,%s", bare);
    authenticate(kc, c, first, strlen(first), server_first, sizeof server_first);
    char final[1024], sig[128], server_final[512];
    if (scram_client_final(kc->mechanism, kc->password, bare, server_first, nonce, final,
                           sizeof final, sig, sizeof sig) != 0)
        cli_die("org.apache.kafka.common.errors.SaslAuthenticationException: Invalid server "
                "first message");
    authenticate(kc, c, final, strlen(final), server_final, sizeof server_final);
    size_t vl;
    const char *v = scram_attr(server_final, 'v', &vl);
    if (!v || vl != strlen(sig) || memcmp(v, sig, vl) != 0)
        cli_die("org.apache.kafka.common.errors.SaslAuthenticationException: Invalid server "
                "signature in server final message");
}

void sasl_login(const struct kclient *kc, struct kconn *c)
{
    handshake(kc, c);
    if (strcmp(kc->mechanism, "PLAIN") == 0)
        plain(kc, c);
    else
        scram(kc, c);
}
