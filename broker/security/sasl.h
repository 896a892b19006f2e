/*
 * sasl.h — SASL authentication on SASL_PLAINTEXT / SASL_SSL listeners.
 *
 * Per listener: the enabled mechanisms (listener.name.<l>.sasl.enabled.mechanisms,
 * else sasl.enabled.mechanisms) and, for PLAIN, the users from a JAAS
 * PlainLoginModule entry: listener.name.<l>.plain.sasl.jaas.config (inline,
 * Kafka's format), else the `<l>.KafkaServer` or `KafkaServer` section of the
 * file named by -Djava.security.auth.login.config= in $KAFKA_OPTS.
 *
 * Per connection, the state machine of Kafka's SaslServerAuthenticator:
 *
 *   HANDSHAKE --SaslHandshake v1--> AUTHENTICATE --SaslAuthenticate ok--> AUTHENTICATED
 *             --SaslHandshake v0--> RAW (next frame is a bare token, answered bare)
 *
 * Before AUTHENTICATED only ApiVersions, SaslHandshake and SaslAuthenticate are
 * served; anything else closes the connection unanswered, as Kafka does. A
 * failed login is answered SASL_AUTHENTICATION_FAILED after a delay
 * (connection.failed.authentication.delay.ms, doubled per recent failure from
 * the same host) and the connection is closed.
 */
#ifndef KAVKA_SASL_H
#define KAVKA_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker_config;
struct blistener;
struct conn;
struct kreq;

/* Set up l->sasl for a SASL listener (no-op for others). 0, or -1 with err. */
int sasl_listener_init(const struct broker_config *c, struct blistener *l, char *err,
                       size_t errlen);
void sasl_listener_free(struct blistener *l);
/* Kafka's checks of inter.broker.listener.name / sasl.mechanism.inter.broker.protocol
 * against the listeners (single node: validated and recorded only). */
int sasl_check_inter_broker(const struct broker_config *c, const struct blistener *v, int n,
                            char *err, size_t errlen);

/* Connection hooks, handed to the connection code (net/server.c) as
 * sasl_conn_auth (broker.h, struct conn_auth). sasl_conn_new() is called on
 * accept for a SASL listener; free with sasl_conn_free(). */
extern const struct conn_auth sasl_conn_auth;
int sasl_conn_new(struct conn *c);
void sasl_conn_free(struct conn *c);
/* True when the next frame is a bare SASL token (after SaslHandshake v0). */
bool sasl_expects_raw(const struct conn *c);
/* Handle a bare-token frame; req has no header. 0, or -1 to close. */
int sasl_raw_token(struct kreq *req);
/* Frame size limits on this connection: before authentication Kafka caps
 * frames at sasl.server.max.receive.size (512 KiB) so that an unauthenticated
 * peer cannot make the broker buffer socket.request.max.bytes; a bare token
 * has no 8-byte request header, so it may be shorter. */
void sasl_frame_limits(const struct conn *c, int32_t *min, int32_t *max);
/* May this (parsed) request be served now? False: close the connection. */
bool sasl_request_allowed(struct conn *c, const struct kreq *req);

#endif
