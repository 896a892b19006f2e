/*
 * server.c — listeners, connections, framing and dispatch.
 *
 * Frames are read in two steps: the 4-byte size is checked against
 * socket.request.max.bytes before anything is buffered for the body, so a
 * hostile size cannot make us allocate. A connection has one exit path,
 * conn_close(); requests still deferred then are cancelled and freed.
 *
 * Connection limits, with Kafka's names and semantics: max.connections
 * (at the limit the listeners stop accepting until a connection closes, as
 * Kafka's acceptor waits for a slot), max.connections.per.ip and its
 * overrides (a connection over the limit is closed right after accept),
 * connections.max.idle.ms (a connection with nothing in flight and no
 * traffic that long is closed). A closing connection gets at most
 * min(connections.max.idle.ms, 30 s) to send what is queued, then is
 * dropped.
 *
 * Responses and their in-order queue are kreq.c's; the handlers, and SASL,
 * are reached only through b->hooks (broker.h), never by name.
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
#include "clock.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "kreq.h"
#include "metrics.h"
#include "tls.h"
#include "topics.h"

/* The most a closing connection may take to send what it has queued. */
#define MAX_DRAIN_MS 30000

/* ---------------- connection limits ---------------- */

struct ip_limit {
    char host[64];
    int32_t max;
};

struct conn_limits {
    int32_t max_conns;            /* max.connections */
    int32_t per_ip;               /* max.connections.per.ip */
    struct ip_limit *overrides;   /* max.connections.per.ip.overrides, resolved */
    int noverrides;
    int64_t idle_ms;              /* connections.max.idle.ms; < 0: never */
    int nconns;
    bool paused;                  /* listeners stopped at max.connections */
};

static int32_t config_int(const struct broker *b, const char *key, int32_t dflt)
{
    const char *v = broker_config_get(b->cfg, key);
    if (!v || !*v)
        return dflt;
    char *end;
    long long x = strtoll(v, &end, 10);
    return *end || x < 0 || x > INT32_MAX ? dflt : (int32_t)x;
}

/* Kafka's max.connections.per.ip.overrides: "host:N,host:N" where host is
 * a name or an address (a name counts for every address it resolves to). */
static int parse_ip_overrides(struct conn_limits *l, const char *list)
{
    char *copy = strdup(list ? list : "");
    if (!copy)
        return -1;
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ' || *item == '\t')
            item++;
        char *colon = strrchr(item, ':');
        char *end = NULL;
        long n = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == item || !end || end == colon + 1 || (*end && *end != ' ') ||
            n < 0 || n > INT32_MAX) {
            KLOG_ERROR("Invalid value '%s' for configuration max.connections.per.ip.overrides: "
                       "expected host:count entries", list);
            rc = -1;
            break;
        }
        *colon = 0;
        if (item[0] == '[' && colon[-1] == ']') { /* [::1]:5 */
            colon[-1] = 0;
            item++;
        }
        struct evutil_addrinfo hints = { 0 }, *ai = NULL;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int g = evutil_getaddrinfo(item, NULL, &hints, &ai);
        if (g != 0) {
            KLOG_ERROR("max.connections.per.ip.overrides: cannot resolve %s: %s", item,
                       evutil_gai_strerror(g));
            rc = -1;
            break;
        }
        for (struct evutil_addrinfo *a = ai; a; a = a->ai_next) {
            char host[64] = "";
            if (a->ai_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, host, sizeof host);
            else if (a->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, host,
                          sizeof host);
            if (!host[0])
                continue;
            struct ip_limit *v = realloc(l->overrides, sizeof *v * (size_t)(l->noverrides + 1));
            if (!v) {
                rc = -1;
                break;
            }
            l->overrides = v;
            snprintf(v[l->noverrides].host, sizeof v[0].host, "%s", host);
            v[l->noverrides++].max = (int32_t)n;
        }
        evutil_freeaddrinfo(ai);
    }
    free(copy);
    return rc;
}

static int limits_open(struct broker *b)
{
    struct conn_limits *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    b->limits = l;
    l->max_conns = config_int(b, "max.connections", INT32_MAX);
    l->per_ip = config_int(b, "max.connections.per.ip", INT32_MAX);
    l->idle_ms = b->cfg->connections_max_idle_ms;
    const char *ov = broker_config_get(b->cfg, "max.connections.per.ip.overrides");
    if (parse_ip_overrides(l, ov) != 0)
        return -1;
    if (l->per_ip == 0 && l->noverrides == 0) {
        /* Kafka's KafkaConfig check. */
        KLOG_ERROR("max.connections.per.ip can be set to zero only if "
                   "max.connections.per.ip.overrides property is set.");
        return -1;
    }
    return 0;
}

static void limits_close(struct broker *b)
{
    if (!b->limits)
        return;
    free(b->limits->overrides);
    free(b->limits);
    b->limits = NULL;
}

static int32_t ip_limit(const struct conn_limits *l, const char *host)
{
    for (int i = 0; i < l->noverrides; i++)
        if (strcmp(l->overrides[i].host, host) == 0)
            return l->overrides[i].max;
    return l->per_ip;
}

/* At max.connections every listener stops accepting: new clients wait in
 * the kernel's backlog until a connection closes, as they wait in Kafka's
 * acceptor (ConnectionQuotas.waitForConnectionSlot). */
static void limits_update(struct broker *b)
{
    struct conn_limits *l = b->limits;
    if (!l || !b->evl)
        return;
    bool full = l->nconns >= l->max_conns;
    if (full == l->paused)
        return;
    l->paused = full;
    for (int i = 0; i < b->nlisteners; i++) {
        if (!b->evl[i])
            continue;
        if (full)
            evconnlistener_disable(b->evl[i]);
        else
            evconnlistener_enable(b->evl[i]);
    }
    if (full)
        KLOG_WARN("max.connections (%d) reached: not accepting until a connection closes",
                  l->max_conns);
    else
        KLOG_INFO("below max.connections (%d) again: accepting", l->max_conns);
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
    const struct khandler *h = req->conn->b->hooks->handler(req->api_key);
    if (h && req->api_version >= h->min && req->api_version <= h->max &&
        kreq_flexible(req))
        kr_skip_tags(r);
    return r->err ? -1 : 0;
}

static void dispatch(struct conn *c, struct kreq *req)
{
    const struct khandler *h = c->b->hooks->handler(req->api_key);
    if (!h) {
        KLOG_WARN("%s: unknown API key %d (corr %d), answering UNSUPPORTED_VERSION",
                  c->peer, req->api_key, req->corr_id);
        answer_unsupported(req);
        return;
    }
    /* ApiVersions answers every version itself (KIP-511 fallback). */
    if (req->api_key != KP_API_API_VERSIONS &&
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
    c->last_active_ms = clock_mono_ms();
    while (!c->closing && c->inflight < MAX_INFLIGHT) {
        /* Limits may change as authentication proceeds, so per frame. */
        int32_t max = c->b->cfg->socket_request_max_bytes;
        int32_t min = 8; /* a request header */
        const struct conn_auth *auth = c->b->hooks->auth;
        if (auth)
            auth->frame_limits(c, &min, &max);
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
        bm_request_start(req);
        karena_init(&req->arena);
        TAILQ_INSERT_TAIL(&c->q, req, link);
        c->inflight++;
        if (auth && auth->expects_raw(c)) { /* legacy SASL: a bare token, no header */
            req->api_key = -1;
            if (auth->raw_token(req) != 0) {
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
        if (auth && !auth->request_allowed(c, req)) {
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
    if (c->b->hooks->auth)
        c->b->hooks->auth->conn_free(c);
    bufferevent_free(c->bev);
    if (c->free_ev)
        event_free(c->free_ev);   /* deletes it if still pending */
    struct broker *b = c->b;
    free(c);
    if (b->limits) {
        b->limits->nconns--;
        limits_update(b);
    }
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
    c->last_active_ms = clock_mono_ms();
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        schedule_free(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) { /* TLS handshake done */
        c->last_active_ms = clock_mono_ms();
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
    /* A peer that stops reading must not keep the connection forever. */
    int64_t drain = MAX_DRAIN_MS;
    if (c->b->limits && c->b->limits->idle_ms >= 0 && c->b->limits->idle_ms < drain)
        drain = c->b->limits->idle_ms;
    c->close_deadline_ms = clock_mono_ms() + drain;
    bufferevent_enable(c->bev, EV_WRITE);
}

/* Idle connections (nothing in flight, no traffic for connections.max.idle.ms)
 * are closed, as Kafka's Selector does; closing ones past their drain
 * deadline are dropped with their output. Runs on the housekeeping tick. */
static void conns_sweep(struct broker *b)
{
    const struct conn_limits *l = b->limits;
    int64_t now = clock_mono_ms();
    struct conn *c, *next;
    for (c = TAILQ_FIRST(&b->conns); c; c = next) {
        next = TAILQ_NEXT(c, link);
        if (c->closing) {
            if (c->close_deadline_ms && now >= c->close_deadline_ms && !c->free_ev) {
                KLOG_INFO("%s: closing connection: %zu bytes not taken by the peer in time, "
                          "dropped", c->peer, evbuffer_get_length(bufferevent_get_output(c->bev)));
                schedule_free(c);
            }
            continue;
        }
        if (l && l->idle_ms >= 0 && c->inflight == 0 && now - c->last_active_ms >= l->idle_ms) {
            char why[96];
            snprintf(why, sizeof why, "idle for more than connections.max.idle.ms (%lld ms)",
                     (long long)l->idle_ms);
            conn_close(c, why);
        }
    }
}

struct conn *conn_new(struct broker *b, const struct blistener *lst, struct bufferevent *bev,
                      const char *host, int port)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        bufferevent_free(bev);
        return NULL;
    }
    c->b = b;
    c->lst = lst;
    TAILQ_INIT(&c->q);
    snprintf(c->principal, sizeof c->principal, "User:ANONYMOUS");
    if (lst->sasl && b->hooks->auth && b->hooks->auth->conn_new(c) != 0) {
        bufferevent_free(bev);
        free(c);
        return NULL;
    }
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    c->bev = bev;
    c->last_active_ms = clock_mono_ms();
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    TAILQ_INSERT_TAIL(&b->conns, c, link);
    b->conns_total++;
    if (b->limits) {
        b->limits->nconns++;
        limits_update(b);
    }
    return c;
}

static int conns_from(const struct broker *b, const char *host)
{
    int n = 0;
    const struct conn *c;
    TAILQ_FOREACH(c, &b->conns, link)
        n += strcmp(c->host, host) == 0;
    return n;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg)
{
    const struct blistener *lst = arg;
    struct broker *b = lst->b;
    (void)l;
    (void)socklen;
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
    if (b->limits) {
        int32_t max = ip_limit(b->limits, host);
        if (conns_from(b, host) >= max) {
            /* Kafka: TooManyConnectionsException, the new socket is closed. */
            KLOG_INFO("Rejected connection from %s:%d on listener %s, address already has the "
                      "configured maximum of %d connections.", host, port, lst->name, max);
            evutil_closesocket(fd);
            return;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *bev = lst->ssl_ctx ? tls_bufferevent(b->base, lst, fd)
                                           : bufferevent_socket_new(b->base, fd,
                                                                    BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = conn_new(b, lst, bev, host, port);
    if (c)
        KLOG_DEBUG("%s: accepted on %s", c->peer, lst->name);
}

static void housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd;
    (void)what;
    topics_housekeeping(b->topics, clock_wall_ms());
    conns_sweep(b);
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
    if (limits_open(b) != 0)
        return -1;
    b->evl = calloc((size_t)b->nlisteners, sizeof *b->evl);
    if (!b->evl)
        return -1;
    for (int i = 0; i < b->nlisteners; i++)
        if (listen_one(b, &b->listeners[i], i) != 0)
            return -1;
    b->housekeeping = event_new(b->base, -1, EV_PERSIST, housekeeping_cb, b);
    int64_t ms = b->cfg->log_retention_check_interval_ms;
    /* log.flush.scheduler.interval.ms: how often the flusher looks (Kafka's
     * kafka-log-flusher task period); unset, it is never and changes nothing. */
    int64_t flush_check = b->cfg->log_flush_scheduler_interval_ms;
    if (flush_check > 0 && flush_check < ms)
        ms = flush_check;
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
    if (b->hooks && b->hooks->stopped)
        b->hooks->stopped(b);
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
    b->housekeeping = b->sigint = b->sigterm = NULL;
    limits_close(b);
}
