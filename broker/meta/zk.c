/*
 * zk.c — see zk.h. One connection at a time; requests leave in order and
 * ZooKeeper answers them in order, so the reply to the oldest pending
 * request is always the next non-event, non-ping frame.
 */
#include "zk.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "clock.h"
#include "klog.h"
#include "sasl_digest.h"

#define ZK_MAX_FRAME (16 * 1024 * 1024)  /* larger than any jute.maxbuffer in use */
#define ZK_RECONNECT_MS 500

struct zreq {
    TAILQ_ENTRY(zreq) link;
    int32_t xid;
    int32_t op;
    zk_reply_fn cb;
    void *arg;
};
TAILQ_HEAD(zreq_queue, zreq);

struct zk_host {
    char *host;
    int port;
};

#define ZK_MAX_LISTENERS 8

struct zk {
    struct event_base *base;
    struct zk_host *hosts;
    int nhosts, cur;
    char *chroot;                 /* "" or "/kafka" */
    int32_t want_timeout_ms, conn_timeout_ms;
    char *sasl_user, *sasl_password;
    bool set_acl;
    zk_state_fn on_state;
    void *arg;
    struct {
        zk_state_fn fn;
        void *arg;
    } listeners[ZK_MAX_LISTENERS];  /* more state callbacks (zk_add_state_listener) */

    struct bufferevent *bev;
    enum zk_state state;
    bool handshaking;             /* ConnectResponse not read yet */
    int64_t session_id;
    uint8_t passwd[16];
    int32_t timeout_ms;           /* negotiated */
    int64_t last_zxid;
    int32_t next_xid;
    struct zreq_queue pending;
    struct event *ping_ev, *retry_ev;
    bool stopped;
    int sasl_step;                /* next SASL round, -1 when done */
    bool sasl_new_session;
};

static void zk_connect(struct zk *zk);
static void on_connected(struct zk *zk, bool new_session);

/* ---------------- connect string ---------------- */

static int parse_connect(struct zk *zk, const char *s, char *err, size_t errlen)
{
    const char *slash = strchr(s, '/');
    size_t hostlen = slash ? (size_t)(slash - s) : strlen(s);
    zk->chroot = strdup(slash && strcmp(slash, "/") != 0 ? slash : "");
    char *hosts = strndup(s, hostlen);
    if (!zk->chroot || !hosts) {
        free(hosts);
        return -1;
    }
    for (char *save = NULL, *tok = strtok_r(hosts, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *colon = strrchr(tok, ':');
        int port = colon ? atoi(colon + 1) : 2181;
        if (colon)
            *colon = 0;
        if (!*tok || port <= 0 || port > 65535) {
            snprintf(err, errlen, "zookeeper.connect: bad host:port in '%s'", s);
            free(hosts);
            return -1;
        }
        struct zk_host *v = realloc(zk->hosts, (size_t)(zk->nhosts + 1) * sizeof *v);
        if (!v) {
            free(hosts);
            return -1;
        }
        zk->hosts = v;
        v[zk->nhosts].host = strdup(tok);
        v[zk->nhosts++].port = port;
    }
    free(hosts);
    if (zk->nhosts == 0) {
        snprintf(err, errlen, "zookeeper.connect: no host in '%s'", s);
        return -1;
    }
    if (zk->chroot[0] && !zk_path_valid(zk->chroot, strlen(zk->chroot))) {
        snprintf(err, errlen, "zookeeper.connect: bad chroot '%s'", zk->chroot);
        return -1;
    }
    return 0;
}

/* ---------------- state ---------------- */

static void set_state(struct zk *zk, enum zk_state st, bool new_session)
{
    zk->state = st;
    if (zk->on_state)
        zk->on_state(zk, st, new_session, zk->arg);
    for (int i = 0; i < ZK_MAX_LISTENERS; i++)
        if (zk->listeners[i].fn)
            zk->listeners[i].fn(zk, st, new_session, zk->listeners[i].arg);
}

int zk_add_state_listener(struct zk *zk, zk_state_fn fn, void *arg)
{
    for (int i = 0; i < ZK_MAX_LISTENERS; i++)
        if (!zk->listeners[i].fn) {
            zk->listeners[i].fn = fn;
            zk->listeners[i].arg = arg;
            return 0;
        }
    return -1;
}

void zk_remove_state_listener(struct zk *zk, zk_state_fn fn, void *arg)
{
    for (int i = 0; i < ZK_MAX_LISTENERS; i++)
        if (zk->listeners[i].fn == fn && zk->listeners[i].arg == arg)
            zk->listeners[i].fn = NULL;
}

/* Every pending request fails: their answers will never come. */
static void fail_pending(struct zk *zk, int rc)
{
    struct zreq *q;
    while ((q = TAILQ_FIRST(&zk->pending))) {
        TAILQ_REMOVE(&zk->pending, q, link);
        if (q->cb)
            q->cb(zk, rc, NULL, q->arg);
        free(q);
    }
}

static void schedule_retry(struct zk *zk, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_add(zk->retry_ev, &tv);
}

/* Drop the link; keep the session for the next attempt (next host). */
static void disconnect(struct zk *zk, const char *why)
{
    if (zk->bev) {
        bufferevent_free(zk->bev);
        zk->bev = NULL;
    }
    event_del(zk->ping_ev);
    bool was_connected = zk->state == ZK_CONNECTED;
    if (why)
        KLOG_WARN("metastore %s:%d: %s", zk->hosts[zk->cur].host, zk->hosts[zk->cur].port, why);
    fail_pending(zk, ZCONNECTIONLOSS);
    if (zk->stopped || zk->state == ZK_AUTH_FAILED)
        return;
    zk->cur = (zk->cur + 1) % zk->nhosts;
    if (was_connected)
        set_state(zk, ZK_DISCONNECTED, false);
    schedule_retry(zk, ZK_RECONNECT_MS);
}

/* ---------------- sending ---------------- */

static void send_frame(struct zk *zk, struct kw *w)
{
    kw_patch_i32(w, 0, (int32_t)(w->len - 4));
    if (!w->err && zk->bev)
        bufferevent_write(zk->bev, w->buf, w->len);
    kw_free(w);
}

static void path_with_root(struct zk *zk, struct kw *w, const char *path)
{
    size_t rl = strlen(zk->chroot), pl = strlen(path);
    if (rl && strcmp(path, "/") == 0)
        pl = 0;   /* "/" within the chroot is the chroot itself */
    kw_i32(w, (int32_t)(rl + pl));
    kw_raw(w, zk->chroot, rl);
    kw_raw(w, path, pl);
}

/* Starts a request: frame length placeholder and RequestHeader. SASL
 * requests go out before the session is usable (`raw`). */
static struct zreq *begin_req(struct zk *zk, struct kw *w, int32_t op, zk_reply_fn cb,
                              void *arg, bool raw)
{
    if ((!raw && zk->state != ZK_CONNECTED) || !zk->bev)
        return NULL;
    struct zreq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->xid = zk->next_xid++;
    if (zk->next_xid <= 0)
        zk->next_xid = 1;
    q->op = op;
    q->cb = cb;
    q->arg = arg;
    kw_init(w, NULL);
    kw_i32(w, 0);
    kw_i32(w, q->xid);
    kw_i32(w, op);
    return q;
}

static struct zreq *begin(struct zk *zk, struct kw *w, int32_t op, zk_reply_fn cb, void *arg)
{
    return begin_req(zk, w, op, cb, arg, false);
}

static int finish(struct zk *zk, struct zreq *q, struct kw *w)
{
    if (w->err) {
        kw_free(w);
        free(q);
        return -1;
    }
    TAILQ_INSERT_TAIL(&zk->pending, q, link);
    send_frame(zk, w);
    return 0;
}

static void write_open_acl(struct kw *w)
{
    kw_i32(w, 1);                  /* world:anyone, all permissions */
    kw_i32(w, ZPERM_ALL);
    jw_cstring(w, "world");
    jw_cstring(w, "anyone");
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A new znode's ACL. With zookeeper.set.acl, Kafka's ZkData.defaultAcls:
 * the creator's authenticated identity ("auth", which the server expands to
 * the SASL id) may do everything and everyone may read, except under the
 * paths that hold credentials and broker configs, which only the creator
 * may read; the old consumers' /consumers stays open to all. */
static void write_acl(const struct zk *zk, struct kw *w, const char *path)
{
    if (!zk->set_acl || strcmp(path, "/consumers") == 0) {
        write_open_acl(w);
        return;
    }
    bool sensitive = has_prefix(path, "/config/users") || has_prefix(path, "/config/brokers") ||
                     has_prefix(path, "/delegation_token");
    kw_i32(w, sensitive ? 1 : 2);
    kw_i32(w, ZPERM_ALL);
    jw_cstring(w, "auth");
    jw_cstring(w, "");
    if (!sensitive) {
        kw_i32(w, ZPERM_READ);
        jw_cstring(w, "world");
        jw_cstring(w, "anyone");
    }
}

int zk_create(struct zk *zk, const char *path, const void *data, int32_t len, int mode,
              zk_reply_fn cb, void *arg)
{
    struct kw w;
    struct zreq *q = begin(zk, &w, ZOP_CREATE, cb, arg);
    if (!q)
        return -1;
    path_with_root(zk, &w, path);
    jw_buffer(&w, data, data ? len : -1);
    write_acl(zk, &w, path);
    kw_i32(&w, mode);
    return finish(zk, q, &w);
}

int zk_delete(struct zk *zk, const char *path, int32_t version, zk_reply_fn cb, void *arg)
{
    struct kw w;
    struct zreq *q = begin(zk, &w, ZOP_DELETE, cb, arg);
    if (!q)
        return -1;
    path_with_root(zk, &w, path);
    kw_i32(&w, version);
    return finish(zk, q, &w);
}

/* getData, getChildren and exists share their request layout: path, watch. */
static int path_watch(struct zk *zk, int32_t op, const char *path, zk_reply_fn cb, void *arg)
{
    struct kw w;
    struct zreq *q = begin(zk, &w, op, cb, arg);
    if (!q)
        return -1;
    path_with_root(zk, &w, path);
    kw_i8(&w, 0);                  /* no watch */
    return finish(zk, q, &w);
}

int zk_get_data(struct zk *zk, const char *path, zk_reply_fn cb, void *arg)
{
    return path_watch(zk, ZOP_GETDATA, path, cb, arg);
}

int zk_get_children(struct zk *zk, const char *path, zk_reply_fn cb, void *arg)
{
    return path_watch(zk, ZOP_GETCHILDREN, path, cb, arg);
}

int zk_exists(struct zk *zk, const char *path, zk_reply_fn cb, void *arg)
{
    return path_watch(zk, ZOP_EXISTS, path, cb, arg);
}

int zk_set_data(struct zk *zk, const char *path, const void *data, int32_t len,
                int32_t version, zk_reply_fn cb, void *arg)
{
    struct kw w;
    struct zreq *q = begin(zk, &w, ZOP_SETDATA, cb, arg);
    if (!q)
        return -1;
    path_with_root(zk, &w, path);
    jw_buffer(&w, data, data ? len : -1);
    kw_i32(&w, version);
    return finish(zk, q, &w);
}

/* setData, falling back to create when the node is missing, and to setData
 * again when a racing create won: the callback hears the last reply. */
struct upsert {
    struct zk *zk;
    char *path;
    uint8_t *data;
    int32_t len;
    int tries;
    zk_reply_fn cb;
    void *arg;
};

static int upsert_send(struct upsert *u);

static void upsert_reply(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct upsert *u = arg;
    if ((rc == ZNONODE || rc == ZNODEEXISTS) && u->tries < 4) {
        if (upsert_send(u) == 0)
            return;
        rc = ZCONNECTIONLOSS;      /* the link went between two replies */
        body = NULL;
    }
    if (u->cb)
        u->cb(zk, rc, body, u->arg);
    explicit_bzero(u->data, (size_t)(u->len > 0 ? u->len : 0)); /* credentials, at times */
    free(u->path);
    free(u->data);
    free(u);
}

static int upsert_send(struct upsert *u)
{
    if (u->tries++ % 2 == 0)
        return zk_set_data(u->zk, u->path, u->data, u->len, -1, upsert_reply, u);
    return zk_create(u->zk, u->path, u->data, u->len, ZMODE_PERSISTENT, upsert_reply, u);
}

int zk_upsert(struct zk *zk, const char *path, const void *data, int32_t len, zk_reply_fn cb,
              void *arg)
{
    struct upsert *u = calloc(1, sizeof *u);
    if (!u)
        return -1;
    u->zk = zk;
    u->len = data ? len : 0;
    u->path = strdup(path);
    u->data = malloc(u->len > 0 ? (size_t)u->len : 1);
    u->cb = cb;
    u->arg = arg;
    if (u->path && u->data && u->len > 0)
        memcpy(u->data, data, (size_t)u->len);
    if (!u->path || !u->data || upsert_send(u) != 0) {
        free(u->path);
        free(u->data);
        free(u);
        return -1;
    }
    return 0;
}

static void send_ping(evutil_socket_t fd, short what, void *arg)
{
    struct zk *zk = arg;
    if (zk->state != ZK_CONNECTED || !zk->bev)
        return;
    struct kw w;
    kw_init(&w, NULL);
    kw_i32(&w, 0);
    kw_i32(&w, ZXID_PING);
    kw_i32(&w, ZOP_PING);
    send_frame(zk, &w);
}

static void send_connect_request(struct zk *zk)
{
    struct kw w;
    kw_init(&w, NULL);
    kw_i32(&w, 0);
    kw_i32(&w, 0);                 /* protocolVersion */
    kw_i64(&w, zk->last_zxid);
    kw_i32(&w, zk->want_timeout_ms);
    kw_i64(&w, zk->session_id);
    jw_buffer(&w, zk->passwd, 16);
    kw_i8(&w, 0);                  /* readOnly: no */
    send_frame(zk, &w);
}

/* ---------------- receiving ---------------- */

static void on_connected(struct zk *zk, bool new_session)
{
    /* Ping at a third of the timeout; give up on silence at two thirds, as
     * ZooKeeper's own client does. */
    int ping = zk->timeout_ms / 3;
    struct timeval tv = { ping / 1000, (ping % 1000) * 1000 };
    event_add(zk->ping_ev, &tv);
    int silence = zk->timeout_ms * 2 / 3;
    struct timeval rt = { silence / 1000, (silence % 1000) * 1000 };
    bufferevent_set_timeouts(zk->bev, &rt, NULL);
    KLOG_INFO("metastore %s:%d: session 0x%llx %s (timeout %d ms)", zk->hosts[zk->cur].host,
              zk->hosts[zk->cur].port, (unsigned long long)zk->session_id,
              new_session ? "established" : "resumed", zk->timeout_ms);
    set_state(zk, ZK_CONNECTED, new_session);
}

/* ---------------- SASL (DIGEST-MD5, as ZooKeeper's Java client) ----------------
 * Two round trips over opcode 102 with ordinary xids, as the Java client
 * does: an empty token (the server answers with its challenge), then the
 * digest-response (answered with rspauth). Only then is the session usable. A refusal stops the client: retrying a wrong password
 * would only fill the server's log. */

static void sasl_send(struct zk *zk, const char *token, size_t n);

static void sasl_reply(struct zk *zk, int rc, struct kr *body, void *arg)
{
    intptr_t step = (intptr_t)arg;
    if (rc == ZCONNECTIONLOSS)
        return;                          /* disconnect() is already under way */
    struct kbytes tok = { NULL, 0 };
    if (rc == ZOK)
        tok = jr_buffer(body);
    if (rc != ZOK || body->err) {
        KLOG_ERROR("metastore: SASL login as '%s' refused (%s): check the JAAS Client section",
                   zk->sasl_user, zk_err_name(rc == ZOK ? ZMARSHALLINGERROR : rc));
        zk->state = ZK_AUTH_FAILED;
        if (zk->on_state)
            zk->on_state(zk, ZK_AUTH_FAILED, false, zk->arg);
        disconnect(zk, NULL);
        return;
    }
    if (step == 0) {
        char resp[1024];
        int n = digest_md5_client_response((const char *)tok.p, tok.len > 0 ? (size_t)tok.len : 0,
                                           zk->sasl_user, zk->sasl_password, "zookeeper", resp,
                                           sizeof resp);
        if (n < 0) {
            disconnect(zk, "unusable SASL challenge");
            return;
        }
        sasl_send(zk, resp, (size_t)n);
    } else {
        /* rspauth: the exchange is complete. (Apache ZooKeeper refuses a
         * further empty token: "DIGEST-MD5: Server at illegal state".) */
        zk->sasl_step = -1;
        on_connected(zk, zk->sasl_new_session);
    }
}

static void sasl_send(struct zk *zk, const char *token, size_t n)
{
    struct kw w;
    struct zreq *q = begin_req(zk, &w, ZOP_SASL, sasl_reply, (void *)(intptr_t)zk->sasl_step++,
                               true);
    if (!q)
        return;
    jw_buffer(&w, token, (int32_t)n);
    finish(zk, q, &w);
}

static void handle_connect_response(struct zk *zk, struct kr *r)
{
    (void)kr_i32(r);               /* protocolVersion */
    int32_t timeout = kr_i32(r);
    int64_t sid = kr_i64(r);
    struct kbytes pw = jr_buffer(r);
    if (r->err) {
        disconnect(zk, "malformed ConnectResponse");
        return;
    }
    zk->handshaking = false;
    if (timeout <= 0) {
        /* The server no longer knows our session: start a new one. */
        KLOG_WARN("metastore: session 0x%llx expired", (unsigned long long)zk->session_id);
        zk->session_id = 0;
        memset(zk->passwd, 0, sizeof zk->passwd);
        set_state(zk, ZK_EXPIRED, false);
        if (zk->bev) {
            bufferevent_free(zk->bev);
            zk->bev = NULL;
        }
        schedule_retry(zk, 0);
        return;
    }
    bool new_session = sid != zk->session_id;
    zk->session_id = sid;
    zk->timeout_ms = timeout;
    if (pw.len == 16)
        memcpy(zk->passwd, pw.p, 16);
    if (zk->sasl_user) {
        zk->sasl_step = 0;
        zk->sasl_new_session = new_session;
        sasl_send(zk, "", 0);
        return;
    }
    on_connected(zk, new_session);
}

static void handle_reply(struct zk *zk, struct kr *r)
{
    int32_t xid = kr_i32(r);
    int64_t zxid = kr_i64(r);
    int32_t err = kr_i32(r);
    if (r->err) {
        disconnect(zk, "malformed reply header");
        return;
    }
    if (zxid > 0)
        zk->last_zxid = zxid;
    if (xid == ZXID_PING || xid == ZXID_NOTIFICATION)
        return;                    /* no watches are set: events are ignored */
    struct zreq *q = TAILQ_FIRST(&zk->pending);
    if (!q || q->xid != xid) {
        disconnect(zk, "reply out of order");
        return;
    }
    TAILQ_REMOVE(&zk->pending, q, link);
    if (q->cb)
        q->cb(zk, err, err == ZOK ? r : NULL, q->arg);
    free(q);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct zk *zk = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (zk->bev == bev && evbuffer_get_length(in) >= 4) {
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        int32_t n = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                              (uint32_t)hdr[2] << 8 | hdr[3]);
        if (n < 0 || n > ZK_MAX_FRAME) {
            disconnect(zk, "frame length out of range");
            return;
        }
        if (evbuffer_get_length(in) < (size_t)n + 4)
            return;
        evbuffer_drain(in, 4);
        uint8_t *frame = malloc(n ? (size_t)n : 1);
        if (!frame) {
            disconnect(zk, "out of memory");
            return;
        }
        evbuffer_remove(in, frame, (size_t)n);
        struct kr r;
        kr_init(&r, frame, (size_t)n);
        if (zk->handshaking)
            handle_connect_response(zk, &r);
        else
            handle_reply(zk, &r);
        free(frame);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct zk *zk = arg;
    if (what & BEV_EVENT_CONNECTED) {
        zk->handshaking = true;
        send_connect_request(zk);
        return;
    }
    disconnect(zk, what & BEV_EVENT_TIMEOUT ? "timed out" :
                   what & BEV_EVENT_EOF ? "connection closed" : "connection failed");
}

static void retry(evutil_socket_t fd, short what, void *arg)
{
    zk_connect(arg);
}

static void zk_connect(struct zk *zk)
{
    if (zk->stopped)
        return;
    struct zk_host *h = &zk->hosts[zk->cur];
    zk->bev = bufferevent_socket_new(zk->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!zk->bev) {
        schedule_retry(zk, ZK_RECONNECT_MS);
        return;
    }
    bufferevent_setcb(zk->bev, on_read, NULL, on_event, zk);
    bufferevent_enable(zk->bev, EV_READ | EV_WRITE);
    /* One attempt gets the session timeout divided among the hosts, as
     * ZooKeeper's own client does; a server that accepted the connection
     * but never answers (one still starting) is then retried instead of
     * eating the whole connection timeout. */
    int ct = zk->want_timeout_ms / zk->nhosts;
    if (ct < 1000)
        ct = 1000;
    if (ct > zk->conn_timeout_ms)
        ct = zk->conn_timeout_ms;
    struct timeval tv = { ct / 1000, (ct % 1000) * 1000 };
    bufferevent_set_timeouts(zk->bev, &tv, &tv);
    if (zk->state != ZK_DISCONNECTED && zk->state != ZK_EXPIRED)
        zk->state = ZK_CONNECTING;
    if (bufferevent_socket_connect_hostname(zk->bev, NULL, AF_UNSPEC, h->host, h->port) != 0)
        disconnect(zk, "cannot connect");
}

/* ---------------- lifecycle ---------------- */

struct zk *zk_new(struct event_base *base, const struct zk_options *o, zk_state_fn on_state,
                  void *arg, char *err, size_t errlen)
{
    struct zk *zk = calloc(1, sizeof *zk);
    if (!zk)
        return NULL;
    zk->base = base;
    zk->on_state = on_state;
    zk->arg = arg;
    zk->want_timeout_ms = o->session_timeout_ms > 0 ? o->session_timeout_ms : 18000;
    zk->conn_timeout_ms = o->connection_timeout_ms > 0 ? o->connection_timeout_ms
                                                       : zk->want_timeout_ms;
    zk->timeout_ms = zk->want_timeout_ms;
    zk->next_xid = 1;
    TAILQ_INIT(&zk->pending);
    zk->ping_ev = event_new(base, -1, EV_PERSIST, send_ping, zk);
    zk->retry_ev = evtimer_new(base, retry, zk);
    zk->set_acl = o->set_acl;
    if (o->sasl_user) {
        zk->sasl_user = strdup(o->sasl_user);
        zk->sasl_password = strdup(o->sasl_password ? o->sasl_password : "");
    }
    if (!zk->ping_ev || !zk->retry_ev || parse_connect(zk, o->connect, err, errlen) != 0) {
        zk_free(zk);
        return NULL;
    }
    return zk;
}

void zk_start(struct zk *zk)
{
    zk->state = ZK_CONNECTING;
    zk_connect(zk);
}

void zk_free(struct zk *zk)
{
    if (!zk)
        return;
    zk->stopped = true;
    if (zk->bev && zk->state == ZK_CONNECTED) {
        /* closeSession: ephemeral nodes go at once, not after the timeout. */
        struct kw w;
        kw_init(&w, NULL);
        kw_i32(&w, 0);
        kw_i32(&w, zk->next_xid++);
        kw_i32(&w, ZOP_CLOSESESSION);
        send_frame(zk, &w);
        evutil_socket_t fd = bufferevent_getfd(zk->bev);
        struct evbuffer *out = bufferevent_get_output(zk->bev);
        if (fd >= 0)
            evbuffer_write(out, fd);
    }
    if (zk->bev)
        bufferevent_free(zk->bev);
    /* The callbacks below may try to send (a chained write): with no link
     * and no session every request is refused at once. */
    zk->bev = NULL;
    zk->state = ZK_DISCONNECTED;
    fail_pending(zk, ZCONNECTIONLOSS);
    if (zk->ping_ev)
        event_free(zk->ping_ev);
    if (zk->retry_ev)
        event_free(zk->retry_ev);
    for (int i = 0; i < zk->nhosts; i++)
        free(zk->hosts[i].host);
    free(zk->hosts);
    free(zk->chroot);
    free(zk->sasl_user);
    free(zk->sasl_password);
    free(zk);
}

enum zk_state zk_get_state(const struct zk *zk)
{
    return zk->state;
}

int64_t zk_session_id(const struct zk *zk)
{
    return zk->session_id;
}

int32_t zk_session_timeout(const struct zk *zk)
{
    return zk->timeout_ms;
}

/* ---------------- synchronous helpers ---------------- */

static void wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    *(bool *)arg = true;
}

int zk_wait(struct zk *zk, const bool *done, int timeout_ms)
{
    bool expired = false;
    struct event *t = evtimer_new(zk->base, wait_timeout, &expired);
    if (!t)
        return -1;
    int ms = timeout_ms > 0 ? timeout_ms : zk->conn_timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(t, &tv);
    while (!*done && !expired && zk->state != ZK_AUTH_FAILED)
        event_base_loop(zk->base, EVLOOP_ONCE);
    event_free(t);
    return *done ? 0 : -1;
}

int zk_drain(struct zk *zk, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    const bool never = false;
    while (!TAILQ_EMPTY(&zk->pending) && zk->state == ZK_CONNECTED && clock_mono_ms() < deadline)
        zk_wait(zk, &never, 100);
    return TAILQ_EMPTY(&zk->pending) ? 0 : -1;
}

struct sync_call {
    bool done;
    int rc;
    char *data;
    int32_t len;
    struct zstat st;
    char **children;
    int nchildren;
};

static void sync_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct sync_call *c = arg;
    c->rc = rc;
    c->done = true;
}

static int sync_run(struct zk *zk, struct sync_call *c, int sent)
{
    if (sent != 0)
        return ZCONNECTIONLOSS;
    if (zk_wait(zk, &c->done, 0) != 0)
        return ZCONNECTIONLOSS;    /* the late reply finds c gone: see zk_free */
    return c->rc;
}

int zk_sync_create(struct zk *zk, const char *path, const void *data, int32_t len, int mode)
{
    struct sync_call *c = calloc(1, sizeof *c);
    if (!c)
        return ZSYSTEMERROR;
    int rc = sync_run(zk, c, zk_create(zk, path, data, len, mode, sync_done, c));
    if (c->done)
        free(c);     /* else the pending request still points at it: leak, not crash */
    return rc;
}

static void got_data(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct sync_call *c = arg;
    if (rc == ZOK) {
        struct kbytes d = jr_buffer(body);
        c->st = jr_stat(body);
        if (body->err) {
            rc = ZMARSHALLINGERROR;
        } else {
            c->len = d.len < 0 ? 0 : d.len;
            c->data = malloc((size_t)c->len + 1);
            if (!c->data) {
                rc = ZSYSTEMERROR;
            } else {
                memcpy(c->data, d.p, (size_t)c->len);
                c->data[c->len] = 0;
            }
        }
    }
    c->rc = rc;
    c->done = true;
}

int zk_sync_get_data(struct zk *zk, const char *path, char **out, int32_t *len,
                     struct zstat *st)
{
    struct sync_call *c = calloc(1, sizeof *c);
    if (!c)
        return ZSYSTEMERROR;
    int rc = sync_run(zk, c, zk_get_data(zk, path, got_data, c));
    if (!c->done)
        return rc;
    if (rc == ZOK) {
        *out = c->data;
        if (len)
            *len = c->len;
        if (st)
            *st = c->st;
    } else {
        free(c->data);
    }
    free(c);
    return rc;
}

int zk_sync_set_data(struct zk *zk, const char *path, const void *data, int32_t len)
{
    struct sync_call *c = calloc(1, sizeof *c);
    if (!c)
        return ZSYSTEMERROR;
    int rc = sync_run(zk, c, zk_set_data(zk, path, data, len, -1, sync_done, c));
    if (c->done)
        free(c);
    return rc;
}

int zk_sync_delete(struct zk *zk, const char *path)
{
    struct sync_call *c = calloc(1, sizeof *c);
    if (!c)
        return ZSYSTEMERROR;
    int rc = sync_run(zk, c, zk_delete(zk, path, -1, sync_done, c));
    if (c->done)
        free(c);
    return rc;
}

void zk_strings_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void got_children(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct sync_call *c = arg;
    if (rc == ZOK) {
        int32_t n = jr_vec_len(body, 4);
        c->children = calloc((size_t)(n > 0 ? n : 1), sizeof *c->children);
        for (int32_t i = 0; c->children && i < n && !body->err; i++)
            c->children[c->nchildren++] = jr_string_dup(body);
        if (!c->children || body->err)
            rc = ZMARSHALLINGERROR;
    }
    c->rc = rc;
    c->done = true;
}

int zk_sync_get_children(struct zk *zk, const char *path, char ***out, int *n)
{
    struct sync_call *c = calloc(1, sizeof *c);
    if (!c)
        return ZSYSTEMERROR;
    int rc = sync_run(zk, c, zk_get_children(zk, path, got_children, c));
    if (!c->done)
        return rc;
    if (rc == ZOK) {
        *out = c->children;
        *n = c->nchildren;
    } else {
        zk_strings_free(c->children, c->nchildren);
    }
    free(c);
    return rc;
}

int zk_sync_make_chroot(struct zk *zk)
{
    if (!zk->chroot[0])
        return ZOK;
    /* The chroot's own path lies outside it: create it with no prefix, as
     * Kafka does when zookeeper.connect names a chroot that is missing. */
    char *root = zk->chroot;
    zk->chroot = "";
    int rc = zk_sync_mkdirs(zk, root);
    zk->chroot = root;
    return rc;
}

int zk_sync_mkdirs(struct zk *zk, const char *path)
{
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf || path[0] != '/')
        return ZBADARGUMENTS;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char saved = buf[i];
        buf[i] = 0;
        int rc = zk_sync_create(zk, buf, NULL, 0, ZMODE_PERSISTENT);
        buf[i] = saved;
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
    }
    return ZOK;
}
