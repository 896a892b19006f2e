/*
 * server.c — listeners, connections, framing and in-order responses.
 *
 * Frames are read in two steps: the 4-byte size is checked against
 * socket.request.max.bytes before anything is buffered for the body, so a
 * hostile size cannot make us allocate. A connection has one exit path,
 * conn_close(); requests still deferred then are cancelled and freed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "sasl.h"
#include "tls.h"
#include "topics.h"

/* At most this many unanswered requests per connection before we stop
 * reading from it (back-pressure on pipelining clients). */
#define MAX_INFLIGHT 64

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kreq_free(struct kreq *req)
{
    if (req->cancel)
        req->cancel(req);
    karena_free(&req->arena);
    if (req->resp)
        evbuffer_free(req->resp);
    free(req->frame);
    free(req);
}

bool kreq_flexible(const struct kreq *req)
{
    const struct kp_api_info *a = kp_api_find(req->api_key);
    return a && req->api_version >= a->flex_min;
}

void kreq_writer(struct kreq *req, struct kw *w)
{
    if (!req->resp)
        req->resp = evbuffer_new();
    kw_init(w, req->resp);
    kw_i32(w, req->corr_id);
    /* Response header v1 carries tagged fields, except for ApiVersions,
     * whose response header is always v0 so that a client can parse it
     * whatever version it asked for. */
    if (req->api_key != 18 && kreq_flexible(req))
        kw_empty_tags(w);
}

/* Send every answered request at the head of the queue, in order. */
static void conn_drain_queue(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct kreq *req;
    while ((req = TAILQ_FIRST(&c->q)) && req->done) {
        TAILQ_REMOVE(&c->q, req, link);
        c->inflight--;
        if (!req->no_response && req->resp) {
            uint32_t n = htonl((uint32_t)evbuffer_get_length(req->resp));
            evbuffer_add(out, &n, 4);
            evbuffer_add_buffer(out, req->resp);
        }
        kreq_free(req);
    }
    if (c->inflight < MAX_INFLIGHT && !c->closing)
        bufferevent_enable(c->bev, EV_READ);
}

static void kreq_complete(struct kreq *req)
{
    req->done = true;
    if (req->conn)
        conn_drain_queue(req->conn);
}

void kreq_finish(struct kreq *req, struct kw *w)
{
    kw_flush(w);
    if (w->err)
        KLOG_ERROR("response encoding failed (api %d v%d): out of memory",
                   req->api_key, req->api_version);
    kw_free(w);
    kreq_complete(req);
}

void kreq_finish_silent(struct kreq *req)
{
    req->no_response = true;
    kreq_complete(req);
}

/* Unknown API key or unsupported version: answer with the correlation id
 * and UNSUPPORTED_VERSION rather than dropping the link. Every Kafka
 * response that can carry an error leads with it or with a throttle time
 * a client would read as 0 before failing on the version it never asked
 * for; either way the client sees an error, not a hang. */
static void answer_unsupported(struct kreq *req)
{
    struct kw w;
    if (!req->resp)
        req->resp = evbuffer_new();
    kw_init(&w, req->resp);
    kw_i32(&w, req->corr_id);
    kw_i16(&w, KERR_UNSUPPORTED_VERSION);
    kreq_finish(req, &w);
}

/* Parse the request header (v1 for classic, v2 for flexible versions;
 * client_id is a classic nullable string in both). */
static int parse_header(struct kreq *req)
{
    struct kr *r = &req->body;
    kr_init(r, req->frame, req->frame_len);
    req->api_key = kr_i16(r);
    req->api_version = kr_i16(r);
    req->corr_id = kr_i32(r);
    req->client_id = kr_str(r, false);
    if (r->err)
        return -1;
    const struct khandler *h = khandler_find(req->api_key);
    if (h && req->api_version >= h->min && req->api_version <= h->max &&
        kreq_flexible(req))
        kr_skip_tags(r);
    return r->err ? -1 : 0;
}

static void dispatch(struct conn *c, struct kreq *req)
{
    const struct khandler *h = khandler_find(req->api_key);
    if (!h) {
        KLOG_WARN("%s: unknown API key %d (corr %d), answering UNSUPPORTED_VERSION",
                  c->peer, req->api_key, req->corr_id);
        answer_unsupported(req);
        return;
    }
    /* ApiVersions answers every version itself (KIP-511 fallback). */
    if (req->api_key != 18 &&
        (req->api_version < h->min || req->api_version > h->max)) {
        KLOG_WARN("%s: API %d version %d not supported (%d-%d)", c->peer,
                  req->api_key, req->api_version, h->min, h->max);
        answer_unsupported(req);
        return;
    }
    if (h->fn(req) != 0) {
        KLOG_WARN("%s: malformed request api %d v%d corr %d, closing", c->peer,
                  req->api_key, req->api_version, req->corr_id);
        conn_close(c, "malformed request");
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->closing && c->inflight < MAX_INFLIGHT) {
        /* Limits may change as authentication proceeds, so per frame. */
        int32_t max = c->b->cfg->socket_request_max_bytes;
        int32_t min = 8; /* a request header */
        sasl_frame_limits(c, &min, &max);
        uint8_t hdr[4];
        if (evbuffer_copyout(in, hdr, 4) < 4)
            break;
        int32_t size = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                                 (uint32_t)hdr[2] << 8 | hdr[3]);
        if (size < min || size > max) {
            KLOG_WARN("%s: invalid request size %d (limit %d: socket.request.max.bytes, or "
                      "sasl.server.max.receive.size before authentication), closing",
                      c->peer, size, max);
            conn_close(c, "bad frame size");
            return;
        }
        if (evbuffer_get_length(in) < (size_t)size + 4)
            break;
        struct kreq *req = calloc(1, sizeof *req);
        uint8_t *frame = malloc(size > 0 ? (size_t)size : 1); /* a bare token may be empty */
        if (!req || !frame) {
            free(req);
            free(frame);
            conn_close(c, "out of memory");
            return;
        }
        evbuffer_drain(in, 4);
        evbuffer_remove(in, frame, (size_t)size);
        req->frame = frame;
        req->frame_len = (size_t)size;
        req->conn = c;
        karena_init(&req->arena);
        TAILQ_INSERT_TAIL(&c->q, req, link);
        c->inflight++;
        if (sasl_expects_raw(c)) { /* legacy SASL: a bare token, no header */
            req->api_key = -1;
            if (sasl_raw_token(req) != 0) {
                conn_close(c, "out of memory");
                return;
            }
            continue;
        }
        if (parse_header(req) != 0) {
            KLOG_WARN("%s: truncated request header, closing", c->peer);
            conn_close(c, "bad header");
            return;
        }
        if (!sasl_request_allowed(c, req)) {
            conn_close(c, "request before SASL authentication");
            return;
        }
        dispatch(c, req);
    }
    if (!c->closing && c->inflight >= MAX_INFLIGHT)
        bufferevent_disable(bev, EV_READ);
}

static void free_conn(struct conn *c)
{
    struct kreq *req;
    while ((req = TAILQ_FIRST(&c->q))) {
        TAILQ_REMOVE(&c->q, req, link);
        req->conn = NULL;
        kreq_free(req);
    }
    TAILQ_REMOVE(&c->b->conns, c, link);
    sasl_conn_free(c);
    bufferevent_free(c->bev);
    if (c->free_ev)
        event_free(c->free_ev);   /* deletes it if still pending */
    free(c);
}

static void deferred_free(evutil_socket_t fd, short what, void *arg)
{
    free_conn(arg);
}

/* Frees c from the event loop, not from the caller's stack: conn_close may
 * run deep inside read_cb or a handler, which still look at c after it
 * returns. */
static void schedule_free(struct conn *c)
{
    if (c->free_ev)
        return;
    c->free_ev = evtimer_new(c->b->base, deferred_free, c);
    if (!c->free_ev) {
        KLOG_ERROR("%s: out of memory: connection leaked", c->peer);
        return;
    }
    event_active(c->free_ev, EV_TIMEOUT, 0);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        schedule_free(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) { /* TLS handshake done */
        tls_connected(c);
        return;
    }
    char tls_err[512] = "";
    if (c->lst->ssl_ctx)
        tls_error_string(c, tls_err, sizeof tls_err);
    if (tls_err[0]) {
        KLOG_WARN("%s: TLS failure on listener %s: %s", c->peer, c->lst->name, tls_err);
    } else if (what & BEV_EVENT_EOF) {
        KLOG_DEBUG("%s: closed by peer", c->peer);
    } else if (what & BEV_EVENT_ERROR) {
        KLOG_DEBUG("%s: socket error: %s", c->peer,
                   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
    if (!c->closing)
        conn_close(c, "connection lost");  /* drops the requests, then frees */
    else
        schedule_free(c);
}

/* The one exit path: stop reading, drop pending requests, let queued
 * output drain (responses already in order), then free. */
void conn_close(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    KLOG_INFO("%s: closing connection: %s", c->peer, why);
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    struct kreq *req;
    while ((req = TAILQ_FIRST(&c->q))) {
        TAILQ_REMOVE(&c->q, req, link);
        c->inflight--;
        req->conn = NULL;
        kreq_free(req);
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        schedule_free(c);
        return;
    }
    bufferevent_enable(c->bev, EV_WRITE);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg)
{
    const struct blistener *lst = arg;
    struct broker *b = lst->b;
    (void)l;
    (void)socklen;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->b = b;
    c->lst = lst;
    TAILQ_INIT(&c->q);
    snprintf(c->principal, sizeof c->principal, "User:ANONYMOUS");
    if (lst->sasl && sasl_conn_new(c) != 0) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->bev = lst->ssl_ctx ? tls_bufferevent(b->base, lst, fd)
                          : bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        sasl_conn_free(c);
        free(c);
        return;
    }
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    TAILQ_INSERT_TAIL(&b->conns, c, link);
    b->conns_total++;
    KLOG_DEBUG("%s: accepted on %s", c->peer, lst->name);
}

static void housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd;
    (void)what;
    topics_housekeeping(b->topics, now_ms());
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct broker *b = arg;
    (void)what;
    KLOG_INFO("signal %d: shutting down", (int)sig);
    event_base_loopexit(b->base, NULL);
}

static int listen_one(struct broker *b, struct blistener *l, int i)
{
    struct evutil_addrinfo hints = { 0 }, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", l->port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    const char *host = l->host && l->host[0] ? l->host : NULL;
    int rc = evutil_getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        KLOG_ERROR("listener %s: cannot resolve %s: %s", l->name, host ? host : "*",
                   evutil_gai_strerror(rc));
        return -1;
    }
    l->b = b;
    b->evl[i] = evconnlistener_new_bind(b->base, accept_cb, l,
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                        ai->ai_addr, (int)ai->ai_addrlen);
    evutil_freeaddrinfo(ai);
    if (!b->evl[i]) {
        KLOG_ERROR("listener %s: cannot bind %s:%d: %s", l->name, host ? host : "*",
                   l->port, strerror(errno));
        return -1;
    }
    KLOG_INFO("listening on %s://%s:%d", l->name, host ? host : "0.0.0.0", l->port);
    return 0;
}

int broker_start(struct broker *b)
{
    TAILQ_INIT(&b->conns);
    b->evl = calloc((size_t)b->nlisteners, sizeof *b->evl);
    if (!b->evl)
        return -1;
    for (int i = 0; i < b->nlisteners; i++)
        if (listen_one(b, &b->listeners[i], i) != 0)
            return -1;
    b->housekeeping = event_new(b->base, -1, EV_PERSIST, housekeeping_cb, b);
    int64_t ms = b->cfg->log_retention_check_interval_ms;
    if (ms > 1000)
        ms = 1000; /* flush and roll checks want a finer tick; retention is rate-limited in topics */
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_add(b->housekeeping, &tv);
    b->sigint = evsignal_new(b->base, SIGINT, signal_cb, b);
    b->sigterm = evsignal_new(b->base, SIGTERM, signal_cb, b);
    event_add(b->sigint, NULL);
    event_add(b->sigterm, NULL);
    return 0;
}

void broker_stop(struct broker *b)
{
    struct conn *c;
    while ((c = TAILQ_FIRST(&b->conns)))
        free_conn(c);
    fetch_waiters_free(b);
    for (int i = 0; i < b->nlisteners; i++)
        if (b->evl && b->evl[i])
            evconnlistener_free(b->evl[i]);
    free(b->evl);
    b->evl = NULL;
    if (b->housekeeping)
        event_free(b->housekeeping);
    if (b->sigint)
        event_free(b->sigint);
    if (b->sigterm)
        event_free(b->sigterm);
}
