/*
 * sasl_digest.h — SASL DIGEST-MD5 (RFC 2831) computations shared by the
 * metastore's server side (metastore/digest_md5.c) and the broker's client
 * side (broker/zk.c), as ZooKeeper uses the mechanism: realm "zk-sasl-md5",
 * qop "auth", digest-uri "zookeeper/zk-sasl-md5".
 */
#ifndef KAVKA_SASL_DIGEST_H
#define KAVKA_SASL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_MD5_REALM "zk-sasl-md5"

/* The response value a client with these inputs must send (32 hex chars +
 * NUL in out); rspauth when `for_rspauth`. */
void digest_md5_response(const char *user, const char *realm, const char *password,
                         const char *nonce, const char *cnonce, const char *nc,
                         const char *qop, const char *digest_uri, const char *authzid,
                         int for_rspauth, char out[33]);

/* Find key in a digest challenge or response ("k=v,k=\"v\",..."); copies the
 * unquoted value into out. False when absent or too long. */
bool digest_md5_field(const char *s, size_t n, const char *key, char *out, size_t outlen);

/* The client's digest-response to a server challenge (challenge[0..n)),
 * for `service` ("zookeeper"), in out. Returns its length, or -1. */
int digest_md5_client_response(const char *challenge, size_t n, const char *user,
                               const char *password, const char *service, char *out,
                               size_t outlen);

#endif
