/*
 * cli_sasl.h — the client side of SASL/PLAIN and SASL/SCRAM-SHA-256/512
 * (RFC 4616, RFC 5802/7677) over Kafka's SaslHandshake v1 +
 * SaslAuthenticate, as Kafka's Java client does it.
 */
#ifndef KAVKA_CLI_SASL_H
#define KAVKA_CLI_SASL_H

#include "client.h"

/* Authenticates c with kc's mechanism and credentials; exits on failure
 * with Kafka's SaslAuthenticationException wording. */
void sasl_login(const struct kclient *kc, struct kconn *c);

/* The SCRAM client computation, apart from the I/O: the client-final
 * message for the given exchange, and the server signature to expect
 * (base64). Returns 0, or -1 on a malformed server-first (or a server
 * nonce that does not extend ours). */
int scram_client_final(const char *mech, const char *password, const char *client_first_bare,
                       const char *server_first, const char *client_nonce, char *final_out,
                       size_t final_cap, char *server_sig_b64, size_t sig_cap);

#endif
