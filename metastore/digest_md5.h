/*
 * digest_md5.h — the server side of SASL DIGEST-MD5 (RFC 2831) as Java's
 * SaslServer does it for ZooKeeper: realm "zk-sasl-md5", qop "auth",
 * algorithm md5-sess, digest-uri "zookeeper/zk-sasl-md5".
 *
 *   step 1: client token empty        -> server challenge (nonce)
 *   step 2: client digest-response    -> "rspauth=..." if the response
 *                                        matches the user's password
 *   later:  empty tokens              -> empty answers (already done)
 */
#ifndef KAVKA_MS_DIGEST_MD5_H
#define KAVKA_MS_DIGEST_MD5_H

#include <stddef.h>
#include <stdint.h>

struct sasl_users;

#include "sasl_digest.h"

struct digest_md5 {
    int state;            /* 0 start, 1 challenged, 2 done */
    char nonce[64];
    char *username;       /* after success; owned */
};

/* One step: 0 = continue (send *out), 1 = authenticated (send *out),
 * -1 = failed. *out is malloc'd (may be empty). */
int digest_md5_step(struct digest_md5 *m, const struct sasl_users *users,
                    const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);
void digest_md5_free(struct digest_md5 *m);

#endif
