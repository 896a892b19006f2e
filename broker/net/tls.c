/*
 * tls.c — SSL contexts per listener from Kafka's ssl.* keys (see tls.h).
 */
#include "tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "config.h"
#include "klog.h"

static bool is_tls_protocol(const char *p)
{
    return strcmp(p, "SSL") == 0 || strcmp(p, "SASL_SSL") == 0;
}

/* The last OpenSSL error, for messages. */
static const char *ssl_err(void)
{
    static char buf[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return e ? buf : "unknown error";
}

static BIO *open_pem(const char *location, const char *inline_pem)
{
    if (inline_pem && *inline_pem)
        return BIO_new_mem_buf(inline_pem, -1);
    return location && *location ? BIO_new_file(location, "r") : NULL;
}

static int key_password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = u;
    if (!pw)
        return 0;
    int n = (int)strlen(pw);
    if (n > size)
        return 0;
    memcpy(buf, pw, (size_t)n);
    return n;
}

struct tls_keys {
    const char *lname;
    const char *ks_type, *ks_loc, *ks_key, *ks_chain, *key_pw;
    const char *ts_type, *ts_loc, *ts_certs;
    const char *client_auth, *protocols, *ciphers;
};

static void read_keys(const struct broker_config *c, const char *lname, struct tls_keys *k)
{
#define G(key) listener_config_get(c, lname, key)
    k->lname = lname;
    k->ks_type = G("ssl.keystore.type");
    k->ks_loc = G("ssl.keystore.location");
    k->ks_key = G("ssl.keystore.key");
    k->ks_chain = G("ssl.keystore.certificate.chain");
    k->key_pw = G("ssl.key.password");
    k->ts_type = G("ssl.truststore.type");
    k->ts_loc = G("ssl.truststore.location");
    k->ts_certs = G("ssl.truststore.certificates");
    k->client_auth = G("ssl.client.auth");
    k->protocols = G("ssl.enabled.protocols");
    k->ciphers = G("ssl.cipher.suites");
#undef G
}

/* Key and certificate chain from the PEM keystore. */
static int load_keystore(SSL_CTX *ctx, const struct tls_keys *k, char *err, size_t errlen)
{
    bool given = (k->ks_loc && *k->ks_loc) || (k->ks_key && *k->ks_key);
    if (!given) {
        snprintf(err, errlen, "listener %s: ssl.keystore.location (or ssl.keystore.key) is required",
                 k->lname);
        return -1;
    }
    /* Kafka's default type is JKS; kavka reads PEM only, so it must be said. */
    if (!k->ks_type || strcasecmp(k->ks_type, "PEM") != 0) {
        snprintf(err, errlen, "listener %s: ssl.keystore.type %s is not supported: set "
                 "ssl.keystore.type=PEM and give a PEM key and certificate chain", k->lname,
                 k->ks_type ? k->ks_type : "JKS (default)");
        return -1;
    }
    const char *where = k->ks_key && *k->ks_key ? "ssl.keystore.key" : k->ks_loc;
    BIO *b = open_pem(k->ks_loc, k->ks_key);
    EVP_PKEY *pkey = b ? PEM_read_bio_PrivateKey(b, NULL, key_password_cb, (void *)k->key_pw)
                       : NULL;
    BIO_free(b);
    if (!pkey) {
        snprintf(err, errlen, "listener %s: cannot read the private key from %s (wrong "
                 "ssl.key.password?): %s", k->lname, where, ssl_err());
        return -1;
    }
    int rc = SSL_CTX_use_PrivateKey(ctx, pkey);
    EVP_PKEY_free(pkey);
    /* The chain: leaf first, then intermediates. */
    b = open_pem(k->ks_loc, k->ks_chain && *k->ks_chain ? k->ks_chain : k->ks_key);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    rc = rc == 1 && leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (rc && b && (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            rc = 0;
        }
    ERR_clear_error(); /* the loop ends on "no start line" */
    BIO_free(b);
    if (!rc || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "listener %s: no certificate matching the private key in %s: %s",
                 k->lname, where, ssl_err());
        return -1;
    }
    return 0;
}

static int load_truststore(SSL_CTX *ctx, const struct tls_keys *k, char *err, size_t errlen)
{
    bool given = (k->ts_loc && *k->ts_loc) || (k->ts_certs && *k->ts_certs);
    if (!given)
        return 0;
    if (!k->ts_type || strcasecmp(k->ts_type, "PEM") != 0) {
        snprintf(err, errlen, "listener %s: ssl.truststore.type %s is not supported: set "
                 "ssl.truststore.type=PEM", k->lname, k->ts_type ? k->ts_type : "JKS (default)");
        return -1;
    }
    BIO *b = open_pem(k->ts_loc, k->ts_certs);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    int n = 0;
    X509 *x;
    while (b && names && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (X509_STORE_add_cert(store, x) == 1) {
            X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(x));
            if (nm)
                sk_X509_NAME_push(names, nm);
            n++;
        }
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
    if (n == 0) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        snprintf(err, errlen, "listener %s: no certificate in the truststore %s", k->lname,
                 k->ts_loc ? k->ts_loc : "ssl.truststore.certificates");
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names); /* the CAs we ask client certificates from */
    return 0;
}

/* ssl.enabled.protocols -> the minimum and maximum TLS version. */
static int set_protocols(SSL_CTX *ctx, const struct tls_keys *k, char *err, size_t errlen)
{
    const char *list = k->protocols && *k->protocols ? k->protocols : "TLSv1.2,TLSv1.3";
    bool v12 = strstr(list, "TLSv1.2") != NULL, v13 = strstr(list, "TLSv1.3") != NULL;
    if (!v12 && !v13) {
        snprintf(err, errlen, "listener %s: ssl.enabled.protocols '%s' has neither TLSv1.2 nor "
                 "TLSv1.3 (older protocols are not supported)", k->lname, list);
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, v12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (k->ciphers && *k->ciphers && SSL_CTX_set_cipher_list(ctx, k->ciphers) != 1) {
        snprintf(err, errlen, "listener %s: ssl.cipher.suites '%s': %s", k->lname, k->ciphers,
                 ssl_err());
        return -1;
    }
    return 0;
}

static int set_client_auth(SSL_CTX *ctx, const struct tls_keys *k, char *err, size_t errlen)
{
    const char *a = k->client_auth && *k->client_auth ? k->client_auth : "none";
    int mode;
    if (strcasecmp(a, "required") == 0)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (strcasecmp(a, "requested") == 0)
        mode = SSL_VERIFY_PEER;
    else if (strcasecmp(a, "none") == 0)
        mode = SSL_VERIFY_NONE;
    else {
        snprintf(err, errlen, "listener %s: invalid ssl.client.auth '%s' (required, requested or "
                 "none)", k->lname, a);
        return -1;
    }
    if (mode != SSL_VERIFY_NONE && SSL_CTX_get_client_CA_list(ctx) == NULL) {
        snprintf(err, errlen, "listener %s: ssl.client.auth=%s needs ssl.truststore.location",
                 k->lname, a);
        return -1;
    }
    SSL_CTX_set_verify(ctx, mode, NULL);
    return 0;
}

int tls_listener_init(const struct broker_config *c, struct blistener *l, char *err,
                      size_t errlen)
{
    if (!is_tls_protocol(l->protocol))
        return 0;
    struct tls_keys k;
    read_keys(c, l->name, &k);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "listener %s: SSL_CTX_new: %s", l->name, ssl_err());
        return -1;
    }
    l->ssl_ctx = ctx;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* No TLS 1.3 session tickets: OpenSSL sends two right after the
     * handshake, before the client's first request, and some clients
     * (kafka-python 2.x: "EVENT_READ without in-flight-requests") drop a
     * connection that is readable while they wait for nothing. Kafka clients
     * keep their connections, so resumption buys little. */
    SSL_CTX_set_num_tickets(ctx, 0);
    if (load_keystore(ctx, &k, err, errlen) != 0 || load_truststore(ctx, &k, err, errlen) != 0 ||
        set_protocols(ctx, &k, err, errlen) != 0 || set_client_auth(ctx, &k, err, errlen) != 0)
        return -1;
    KLOG_INFO("listener %s: TLS (%s), client auth %s", l->name, l->protocol,
              k.client_auth && *k.client_auth ? k.client_auth : "none");
    return 0;
}

void tls_listener_free(struct blistener *l)
{
    if (l->ssl_ctx)
        SSL_CTX_free(l->ssl_ctx);
    l->ssl_ctx = NULL;
}

struct bufferevent *tls_bufferevent(struct event_base *base, const struct blistener *l, int fd)
{
    SSL *ssl = SSL_new(l->ssl_ctx);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
                                                             BUFFEREVENT_SSL_ACCEPTING,
                                                             BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* Clients often close without close_notify; that is not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void tls_connected(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (!ssl)
        return;
    X509 *peer = SSL_get_peer_certificate(ssl);
    if (peer && SSL_get_verify_result(ssl) == X509_V_OK && !c->sasl) {
        /* Kafka's default principal: the subject in RFC 2253 form. */
        BIO *b = BIO_new(BIO_s_mem());
        if (b && X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
            char dn[sizeof c->principal - 6];
            int n = BIO_read(b, dn, (int)sizeof dn - 1);
            dn[n > 0 ? n : 0] = 0;
            snprintf(c->principal, sizeof c->principal, "User:%s", dn);
        }
        BIO_free(b);
    }
    X509_free(peer);
    KLOG_INFO("%s: TLS %s (%s) on listener %s, principal %s", c->peer, SSL_get_version(ssl),
              SSL_get_cipher_name(ssl), c->lst->name, c->principal);
}

void tls_error_string(struct conn *c, char *out, size_t outlen)
{
    out[0] = 0;
    unsigned long e;
    size_t n = 0;
    while ((e = bufferevent_get_openssl_error(c->bev)) && n + 2 < outlen) {
        /* A peer closing without close_notify is an ordinary close; errors
         * outside OpenSSL's libraries are errno values logged elsewhere. */
        if (ERR_GET_LIB(e) == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            continue;
        char buf[200];
        ERR_error_string_n(e, buf, sizeof buf);
        n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? "; " : "", buf);
    }
}
