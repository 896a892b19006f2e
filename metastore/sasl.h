/*
 * sasl.h — SASL authentication over the ZooKeeper protocol (opcode 102).
 *
 * Credentials come from a JAAS file's `Server { ... user_<name>="pw"; }`
 * section (the login module class named there is not checked). A client
 * starts with an empty token; the server answers with a DIGEST-MD5
 * challenge (realm "zk-sasl-md5"), checks the client's response and sends
 * rspauth; on success the connection gains the id sasl:<name>. PLAIN is
 * accepted too: a non-empty first token is read as a PLAIN message.
 */
#ifndef KAVKA_MS_SASL_H
#define KAVKA_MS_SASL_H

#include <stddef.h>
#include <stdint.h>

#include "sasl_users.h"

struct sasl_conn;

enum sasl_step { SASL_CONTINUE, SASL_DONE, SASL_FAILED };

/* One round: consume the client's token, produce the server's token in
 * *out (malloc'd, *outlen). On SASL_DONE, *user names the authenticated
 * user (points into the conn state). */
enum sasl_step sasl_step(struct sasl_conn **conn, const struct sasl_users *users,
                         const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                         const char **user);
void sasl_conn_free(struct sasl_conn *c);

#endif
