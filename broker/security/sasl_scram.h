/*
 * sasl_scram.h — SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as
 * Kafka's ScramSaslServer speaks them, and the credential computations.
 *
 * A credential is what Kafka stores per user and mechanism: the salt, the
 * iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
 * ServerKey = HMAC(SaltedPassword, "Server Key"); the password itself is
 * never kept. Text form (Kafka's ScramCredentialUtils):
 *   salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=N
 *
 * The exchange (three messages from the client's side):
 *   client-first  n,[a=authzid],n=user,r=cnonce[,ext]
 *   server-first  r=cnonce+snonce,s=<salt b64>,i=N
 *   client-final  c=<b64 gs2 header>,r=nonce[,ext],p=<proof b64>
 *   server-final  v=<server signature b64>
 * An unknown user gets a fake (per-process, deterministic) salt and fails
 * at the proof like a wrong password, so users cannot be probed. Proofs are
 * compared with CRYPTO_memcmp. OpenSSL computes PBKDF2 and HMAC.
 */
#ifndef KAVKA_SASL_SCRAM_H
#define KAVKA_SASL_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's ScramMechanism type ids (AlterUserScramCredentials). */
enum { SCRAM_UNKNOWN = 0, SCRAM_SHA_256 = 1, SCRAM_SHA_512 = 2 };
#define SCRAM_NMECH 2
#define SCRAM_MAX_HASH 64
#define SCRAM_MAX_SALT 128
#define SCRAM_MIN_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS 16384

struct scram_cred {
    uint8_t salt[SCRAM_MAX_SALT];
    size_t salt_len;
    uint8_t stored_key[SCRAM_MAX_HASH];
    uint8_t server_key[SCRAM_MAX_HASH];
    int32_t iterations;
};

/* "SCRAM-SHA-256" -> SCRAM_SHA_256, else SCRAM_UNKNOWN. */
int scram_mech_from_name(const char *name);
const char *scram_mech_name(int mech);   /* NULL when unknown */
size_t scram_hash_len(int mech);         /* 32 or 64; 0 when unknown */

/* Hi(password, salt, i) = PBKDF2-HMAC; out has scram_hash_len(mech) bytes. 0 or -1. */
int scram_salted_password(int mech, const char *pw, size_t pwlen, const uint8_t *salt,
                          size_t saltlen, int32_t iterations, uint8_t *out);
/* The stored credential from a salted password (as AlterUserScramCredentials sends). */
int scram_cred_from_salted(int mech, const uint8_t *salted, size_t salted_len,
                           const uint8_t *salt, size_t saltlen, int32_t iterations,
                           struct scram_cred *out);
/* Kafka's text form. 0, or -1 (too small / malformed). */
int scram_cred_format(int mech, const struct scram_cred *c, char *out, size_t outlen);
int scram_cred_parse(int mech, const char *text, struct scram_cred *out);

/* Base64 (standard alphabet, padded). Decode returns the length or -1. */
size_t scram_b64_encode(const uint8_t *in, size_t n, char *out, size_t outcap);
int scram_b64_decode(const char *in, size_t n, uint8_t *out, size_t outcap);

/* ---------------- the server side of one exchange ---------------- */

struct scram_server;
/* Credential lookup: NULL when the user has none for mech. */
typedef const struct scram_cred *(*scram_lookup_fn)(const char *user, int mech, void *arg);

struct scram_server *scram_server_new(int mech, scram_lookup_fn lookup, void *arg);
void scram_server_free(struct scram_server *s);
/* Tests only: use this server nonce instead of a random one. */
void scram_server_set_nonce(struct scram_server *s, const char *nonce);

enum { SCRAM_FAIL = -1, SCRAM_DONE = 0, SCRAM_CONTINUE = 1 };
/* Feed one client message. SCRAM_CONTINUE: send out (server-first).
 * SCRAM_DONE: authenticated as user; send out (server-final). SCRAM_FAIL:
 * *msg is the client-facing message. out is NUL-terminated. */
int scram_server_step(struct scram_server *s, const uint8_t *in, size_t inlen, char *out,
                      size_t outcap, size_t *outlen, char *user, size_t userlen,
                      const char **msg);

#endif
