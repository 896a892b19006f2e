/*
 * fuzz_scram.c — libFuzzer target for the SCRAM server (broker/sasl_scram.c):
 * client-first and client-final as scram_server_step() parses them, and the
 * credential text form read back from the metastore (scram_cred_parse).
 *
 * Input: byte 0 selects (bit 0: SCRAM-SHA-512 rather than -256; bit 1: the
 * user is unknown, so the fake credential is used; bit 2: the rest is a
 * credential text instead of an exchange), bytes 1-2 the length of the
 * client-first message (big endian), then client-first, then client-final
 * (absent: the exchange stops after the first step). The server nonce is
 * fixed ("fuzznonce") and user alice's credential is made from the password
 * alice-secret, salt "0123456789abcdef", 4096 iterations, so that a seed can
 * carry a complete, valid exchange.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl_scram.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scram_cred alice[SCRAM_NMECH + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const uint8_t salt[16] = "0123456789abcdef";
    for (int m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++) {
        uint8_t salted[SCRAM_MAX_HASH];
        if (scram_salted_password(m, "alice-secret", 12, salt, sizeof salt, 4096, salted) != 0 ||
            scram_cred_from_salted(m, salted, scram_hash_len(m), salt, sizeof salt, 4096,
                                   &alice[m]) != 0)
            abort();
    }
    return 0;
}

static const struct scram_cred *lookup(const char *user, int mech, void *arg)
{
    bool unknown = *(const bool *)arg;
    return !unknown && strcmp(user, "alice") == 0 ? &alice[mech] : NULL;
}

static void credential_text(int mech, const uint8_t *p, size_t n)
{
    char *text = malloc(n + 1);
    if (!text)
        return;
    memcpy(text, p, n);
    text[n] = 0;
    struct scram_cred c, again;
    if (scram_cred_parse(mech, text, &c) == 0) {
        /* What parses formats, and the format parses to the same credential. */
        char out[1024];
        if (scram_cred_format(mech, &c, out, sizeof out) != 0 ||
            scram_cred_parse(mech, out, &again) != 0 || again.salt_len != c.salt_len ||
            again.iterations != c.iterations ||
            memcmp(again.salt, c.salt, c.salt_len) != 0 ||
            memcmp(again.stored_key, c.stored_key, scram_hash_len(mech)) != 0 ||
            memcmp(again.server_key, c.server_key, scram_hash_len(mech)) != 0) {
            fprintf(stderr, "fuzz_scram: credential does not survive format + parse\n");
            abort();
        }
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int mech = data[0] & 1 ? SCRAM_SHA_512 : SCRAM_SHA_256;
    bool unknown = data[0] & 2;
    if (data[0] & 4) {
        credential_text(mech, data + 1, size - 1);
        return 0;
    }
    size_t n1 = (size_t)data[1] << 8 | data[2];
    const uint8_t *first = data + 3;
    size_t left = size - 3;
    if (n1 > left)
        n1 = left;
    /* Exact-size copies: a read past a message is a heap overflow. */
    uint8_t *m1 = malloc(n1 ? n1 : 1), *m2 = malloc(left - n1 ? left - n1 : 1);
    if (!m1 || !m2) {
        free(m1);
        free(m2);
        return 0;
    }
    memcpy(m1, first, n1);
    memcpy(m2, first + n1, left - n1);
    struct scram_server *s = scram_server_new(mech, lookup, &unknown);
    if (!s)
        abort();
    scram_server_set_nonce(s, "fuzznonce");
    char out[1024], user[256] = "";
    size_t outlen = 0;
    const char *msg = NULL;
    int rc = scram_server_step(s, m1, n1, out, sizeof out, &outlen, user, sizeof user, &msg);
    if (rc == SCRAM_FAIL && !msg)
        abort();           /* a failure always carries the client-facing message */
    if (getenv("FUZZ_VERBOSE"))   /* to check what a seed reaches */
        fprintf(stderr, "client-first: %d %s\n", rc, rc == SCRAM_FAIL ? msg : out);
    if (rc == SCRAM_CONTINUE && left > n1) {
        rc = scram_server_step(s, m2, left - n1, out, sizeof out, &outlen, user, sizeof user,
                               &msg);
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "client-final: %d %s user '%s'\n", rc, rc == SCRAM_FAIL ? msg : out,
                    user);
        if (rc == SCRAM_DONE && (unknown || strcmp(user, "alice") != 0)) {
            fprintf(stderr, "fuzz_scram: authenticated '%s' without its credential\n", user);
            abort();
        }
        /* A finished exchange takes nothing more. */
        if (scram_server_step(s, m2, left - n1, out, sizeof out, &outlen, user, sizeof user,
                              &msg) != SCRAM_FAIL)
            abort();
    }
    if (outlen >= sizeof out || (outlen && strlen(out) != outlen))
        abort();
    scram_server_free(s);
    free(m1);
    free(m2);
    return 0;
}
