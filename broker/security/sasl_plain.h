/*
 * sasl_plain.h — SASL/PLAIN (RFC 4616) against users from a JAAS
 * PlainLoginModule entry (`user_<name>="<password>"` options), as Kafka's
 * PlainServerCallbackHandler does.
 */
#ifndef KAVKA_SASL_PLAIN_H
#define KAVKA_SASL_PLAIN_H

#include <stddef.h>
#include <stdint.h>

struct jaas_section;
struct plain_users;

#define PLAIN_LOGIN_MODULE "org.apache.kafka.common.security.plain.PlainLoginModule"

/* Users of the PlainLoginModule entries of `sec`. 0, or -1 with err (no
 * such entry). A section without users loads, with a warning. */
int plain_users_load(const struct jaas_section *sec, struct plain_users **out, char *err,
                     size_t errlen);
void plain_users_free(struct plain_users *u);
size_t plain_users_count(const struct plain_users *u);

/* Check one PLAIN token ([authzid] NUL authcid NUL passwd). 0 with the
 * username in user, or -1 with Kafka's client-facing message in *msg.
 * Password checks take the same time whether or not the user exists. */
int plain_authenticate(const struct plain_users *u, const uint8_t *tok, size_t len, char *user,
                       size_t userlen, const char **msg);

#endif
