/*
 * tls.h — TLS on SSL and SASL_SSL listeners (OpenSSL through libevent's
 * bufferevent_openssl).
 *
 * Keys are Kafka's, each overridable per listener with
 * listener.name.<listener>.<key>:
 *   ssl.keystore.type=PEM            (JKS/PKCS12 keystores are refused: convert to PEM)
 *   ssl.keystore.location            PEM file: private key + certificate chain
 *   ssl.keystore.key / ssl.keystore.certificate.chain   the same, inline
 *   ssl.key.password                 password of an encrypted private key
 *   ssl.truststore.type=PEM, ssl.truststore.location / ssl.truststore.certificates
 *   ssl.client.auth=required|requested|none
 *   ssl.enabled.protocols            TLSv1.2,TLSv1.3 (default); older are refused
 *   ssl.cipher.suites                OpenSSL names (TLS 1.2 list)
 * A client certificate verified on an SSL listener gives the principal
 * User:<subject DN in RFC 2253 form>, as Kafka's default principal builder.
 */
#ifndef KAVKA_TLS_H
#define KAVKA_TLS_H

#include <stddef.h>

struct broker_config;
struct blistener;
struct bufferevent;
struct event_base;
struct conn;

/* Set up l->ssl_ctx for SSL / SASL_SSL listeners (no-op for others). */
int tls_listener_init(const struct broker_config *c, struct blistener *l, char *err,
                      size_t errlen);
void tls_listener_free(struct blistener *l);
/* A server-side TLS bufferevent for an accepted socket; NULL on failure. */
struct bufferevent *tls_bufferevent(struct event_base *base, const struct blistener *l, int fd);
/* The handshake completed: log it and take the principal from the client
 * certificate (SSL listeners). */
void tls_connected(struct conn *c);
/* Why the TLS connection failed, for the log ("" if not a TLS error). */
void tls_error_string(struct conn *c, char *out, size_t outlen);

#endif
