/*
 * server.c — connections, framing, sessions, group commit and timers
 * (see server.h for the ordering rules).
 */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "clock.h"
#include "klog.h"
#include "metrics.h"
#include "sasl.h"
#include "snapshot.h"

enum { PRIO_IO = 0, PRIO_FLUSH = 1 };

void ms_fatal(struct ms_server *s, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    KLOG_ERROR("fatal: %s; stopping without acknowledging the %" PRIu64
               " txns that are not on disk", why, s->log.appended - s->log.durable);
    s->fatal = true;
    event_base_loopbreak(s->base);
}

static void schedule_flush(struct ms_server *s)
{
    if (!s->flush_pending) {
        s->flush_pending = true;
        event_active(s->ev_flush, 0, 0);
    }
}

/* ---------------- connections ---------------- */

static void conn_free(struct ms_conn *c)
{
    struct ms_server *s = c->srv;
    watch_remove_all(&s->dwatch, c);
    watch_remove_all(&s->cwatch, c);
    if (c->sess && c->sess->conn == c)
        c->sess->conn = NULL;
    while (c->outq) {
        struct ms_out *o = c->outq;
        c->outq = o->next;
        evbuffer_free(o->buf);
        free(o);
    }
    zid_list_free(&c->auth);
    sasl_conn_free(c->sasl);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    bufferevent_free(c->bev);
    free(c);
}

/* Free a closing connection once everything it owes the client is out. */
static bool conn_reap_if_done(struct ms_conn *c)
{
    if (c->state == CONN_CLOSING && !c->outq &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_free(c);
        return true;
    }
    return false;
}

void ms_conn_close_after_flush(struct ms_conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    c->state = CONN_CLOSING;
    bufferevent_disable(c->bev, EV_READ);
    if (c->sess && c->sess->conn == c)
        c->sess->conn = NULL;
    c->sess = NULL;
    schedule_flush(c->srv);  /* the flush pass reaps it if nothing is owed */
}

/* With nothing queued in the connection's output, a reply is written to the
 * socket at once: handing it to the bufferevent costs an epoll_ctl to watch
 * for writability, a loop turn and another epoll_ctl per reply. What the
 * socket does not take (or an error, which the bufferevent then meets and
 * reports) is queued as before, in order. */
static void conn_write(struct ms_conn *c, struct evbuffer *buf)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0)
        (void)evbuffer_write(buf, bufferevent_getfd(c->bev));
    if (evbuffer_get_length(buf) > 0)
        evbuffer_add_buffer(out, buf);
}

static void conn_write_bytes(struct ms_conn *c, const uint8_t len[4], const uint8_t *p, size_t n)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t done = 0;
    if (evbuffer_get_length(out) == 0) {
        struct iovec iov[2] = { { (void *)len, 4 }, { (void *)p, n } };
        ssize_t w = writev(bufferevent_getfd(c->bev), iov, 2);
        done = w > 0 ? (size_t)w : 0;
    }
    if (done < 4)
        evbuffer_add(out, len + done, 4 - done);
    size_t skip = done > 4 ? done - 4 : 0;
    if (skip < n)
        evbuffer_add(out, p + skip, n - skip);
}

void ms_conn_send(struct ms_conn *c, const uint8_t *p, size_t n)
{
    struct ms_server *s = c->srv;
    uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
    uint64_t seq = s->log.appended;
    if (s->fatal)
        return;  /* stopping: nothing more leaves */
    c->sent++;
    s->packets_sent++;
    if (!c->outq && seq <= s->log.durable) {
        conn_write_bytes(c, len, p, n);
        return;
    }
    struct ms_out *o = calloc(1, sizeof *o);
    if (!o || !(o->buf = evbuffer_new())) {
        free(o);
        KLOG_ERROR("out of memory queueing a reply; closing %s:%d", c->ip, c->port);
        ms_conn_close_after_flush(c);
        return;
    }
    o->seq = seq;
    evbuffer_add(o->buf, len, 4);
    evbuffer_add(o->buf, p, n);
    if (c->outq_tail)
        c->outq_tail->next = o;
    else
        c->outq = o;
    c->outq_tail = o;
    schedule_flush(s);
}

void ms_reply(struct ms_conn *c, int32_t xid, int64_t zxid, int32_t err, const struct kw *body)
{
    struct kw w;
    kw_init(&w, NULL);
    jw_reply_header(&w, xid, zxid, err);
    if (err == ZOK && body && body->len)
        kw_raw(&w, body->buf, body->len);
    if (!w.err)
        ms_conn_send(c, w.buf, w.len);
    kw_free(&w);
    c->last_zxid = zxid;
    c->last_xid = xid;
}

void ms_notify(struct ms_conn *c, int type, const char *path, int64_t zxid)
{
    if (c->state != CONN_CONNECTED)
        return;
    struct kw w;
    kw_init(&w, NULL);
    jw_reply_header(&w, ZXID_NOTIFICATION, zxid, ZOK);
    kw_i32(&w, type);
    kw_i32(&w, ZSTATE_SYNCCONNECTED);
    jw_cstring(&w, path);
    if (!w.err)
        ms_conn_send(c, w.buf, w.len);
    kw_free(&w);
}

/* Move replies whose txns are durable to the sockets; reap closed conns. */
static void release_replies(struct ms_server *s)
{
    if (s->fatal)
        return;
    struct ms_conn *c = s->conns;
    while (c) {
        struct ms_conn *next = c->next;
        while (c->outq && c->outq->seq <= s->log.durable) {
            struct ms_out *o = c->outq;
            c->outq = o->next;
            if (!c->outq)
                c->outq_tail = NULL;
            conn_write(c, o->buf);
            evbuffer_free(o->buf);
            free(o);
        }
        conn_reap_if_done(c);
        c = next;
    }
}

/* ---------------- commit ---------------- */

void ms_fire_events(struct ms_server *s, int64_t zxid)
{
    struct tree *t = &s->db.tree;
    for (size_t i = 0; i < t->nevents; i++) {
        const struct tree_event *e = &t->events[i];
        struct watch_set fired = { 0 };
        if (e->type == ZEV_CHILDCHANGED) {
            watch_trigger(&s->cwatch, e->path, &fired, NULL);
        } else {
            watch_trigger(&s->dwatch, e->path, &fired, NULL);
            if (e->type == ZEV_DELETED) {
                struct watch_set more = { 0 };
                watch_trigger(&s->cwatch, e->path, &more, &fired);
                for (size_t j = 0; j < more.n; j++)
                    ms_notify(more.v[j], e->type, e->path, zxid);
                watch_set_free(&more);
            }
        }
        for (size_t j = 0; j < fired.n; j++)
            ms_notify(fired.v[j], e->type, e->path, zxid);
        watch_set_free(&fired);
    }
    tree_clear_events(t);
}

static int append_txn(struct ms_server *s, const struct txn_hdr *h, const struct kw *body,
                      int32_t err, struct kw *out)
{
    kw_init(out, NULL);
    txn_write_hdr(out, h);
    if (h->type == ZOP_ERROR)
        kw_i32(out, err);
    else if (body && body->len)
        kw_raw(out, body->buf, body->len);
    if (out->err)
        return ZSYSTEMERROR;
    return db_apply(&s->db, out->buf, out->len, NULL);
}

int ms_commit(struct ms_server *s, int64_t session, int32_t cxid, int32_t type,
              const struct kw *body, int pre_err, int64_t *zxid_out)
{
    return ms_commit_at(s, session, cxid, type, body, pre_err, clock_wall_ms(), zxid_out);
}

int ms_commit_at(struct ms_server *s, int64_t session, int32_t cxid, int32_t type,
                 const struct kw *body, int pre_err, int64_t time, int64_t *zxid_out)
{
    struct txn_hdr h = { s->db.last_zxid + 1, session, cxid, time, type };
    struct kw t;
    int rc = pre_err;
    if (rc == ZOK && body && body->err)
        rc = ZSYSTEMERROR;
    if (rc == ZOK) {
        rc = append_txn(s, &h, body, 0, &t);
        if (rc != ZOK) {
            kw_free(&t);
            tree_clear_events(&s->db.tree);
        }
    }
    if (rc != ZOK) {
        /* A failed write still takes a zxid, as in ZooKeeper. */
        h.type = ZOP_ERROR;
        if (append_txn(s, &h, NULL, rc, &t) != ZOK) {
            /* The zxid is taken but cannot be logged: the log would have a
             * gap, so nothing after this may be acknowledged. */
            kw_free(&t);
            tree_clear_events(&s->db.tree);
            ms_fatal(s, "cannot build the ERROR txn for zxid 0x%" PRIx64 " (out of memory)",
                     (uint64_t)h.zxid);
            if (zxid_out)
                *zxid_out = h.zxid;
            return rc;
        }
    }
    txnlog_append(&s->log, t.buf, t.len);
    kw_free(&t);
    schedule_flush(s);
    if (rc == ZOK)
        ms_fire_events(s, h.zxid);
    if (zxid_out)
        *zxid_out = h.zxid;
    return rc;
}

int64_t ms_close_session(struct ms_server *s, struct ms_session *sess, int32_t cxid)
{
    sess->closing = true;
    struct ms_conn *c = sess->conn;
    if (c) {
        c->sess = NULL;
        sess->conn = NULL;
    }
    int64_t zxid = 0;
    int64_t id = sess->id;
    /* sess is freed by the txn's apply. */
    int rc = ms_commit(s, id, cxid, ZOP_CLOSESESSION, NULL, 0, &zxid);
    if (rc != ZOK)
        KLOG_ERROR("closing session 0x%" PRIx64 ": %s", (uint64_t)id, zk_err_name(rc));
    return zxid;
}

/* ---------------- connect ---------------- */

static int64_t new_session_id(struct ms_server *s)
{
    int64_t id = s->next_session_id++;
    while (id == 0 || db_session(&s->db, id))
        id = s->next_session_id++;
    return id;
}

static void send_connect_response(struct ms_conn *c, int32_t timeout, int64_t id,
                                  const uint8_t passwd[16])
{
    struct kw w;
    kw_init(&w, NULL);
    kw_i32(&w, 0);  /* protocolVersion */
    kw_i32(&w, timeout);
    kw_i64(&w, id);
    jw_buffer(&w, passwd, 16);
    if (c->sent_readonly)
        kw_bool(&w, false);
    if (!w.err)
        ms_conn_send(c, w.buf, w.len);
    kw_free(&w);
}

static void handle_connect(struct ms_conn *c, const uint8_t *p, size_t n)
{
    struct ms_server *s = c->srv;
    struct kr r;
    kr_init(&r, p, n);
    (void)kr_i32(&r); /* protocolVersion */
    int64_t last_zxid_seen = kr_i64(&r);
    int32_t timeout = kr_i32(&r);
    int64_t sid = kr_i64(&r);
    struct kbytes pw = jr_buffer(&r);
    if (!r.err && kr_left(&r) >= 1) {
        (void)kr_bool(&r);
        c->sent_readonly = true;
    }
    if (r.err) {
        KLOG_WARN("malformed ConnectRequest from %s:%d; closing", c->ip, c->port);
        ms_conn_close_after_flush(c);
        return;
    }
    if (last_zxid_seen > s->db.last_zxid) {
        KLOG_WARN("refusing session request from %s:%d: it has seen zxid 0x%" PRIx64
                  ", our last zxid is 0x%" PRIx64, c->ip, c->port,
                  (uint64_t)last_zxid_seen, (uint64_t)s->db.last_zxid);
        ms_conn_close_after_flush(c);
        return;
    }
    if (timeout < s->cfg->min_session_timeout)
        timeout = s->cfg->min_session_timeout;
    if (timeout > s->cfg->max_session_timeout)
        timeout = s->cfg->max_session_timeout;
    c->state = CONN_CONNECTED;
    if (sid == 0) {
        uint8_t passwd[16];
        if (RAND_bytes(passwd, sizeof passwd) != 1) {
            ms_conn_close_after_flush(c);
            return;
        }
        sid = new_session_id(s);
        struct kw body;
        kw_init(&body, NULL);
        kw_i32(&body, timeout);
        jw_buffer(&body, passwd, 16);
        int rc = ms_commit(s, sid, 0, ZOP_CREATESESSION, &body, 0, NULL);
        kw_free(&body);
        struct ms_session *sess = db_session(&s->db, sid);
        if (rc != ZOK || !sess) {
            ms_conn_close_after_flush(c);
            return;
        }
        sess->conn = c;
        sess->expire_at = clock_mono_ms() + timeout;
        c->sess = sess;
        KLOG_DEBUG("new session 0x%" PRIx64 " timeout %d for %s:%d", (uint64_t)sid, timeout,
                   c->ip, c->port);
        send_connect_response(c, timeout, sid, passwd);
        return;
    }
    struct ms_session *sess = db_session(&s->db, sid);
    if (!sess || sess->closing || pw.len != 16 || memcmp(pw.p, sess->passwd, 16) != 0) {
        static const uint8_t zero[16];
        KLOG_INFO("session 0x%" PRIx64 " from %s:%d is %s", (uint64_t)sid, c->ip, c->port,
                  sess ? "not valid (password)" : "expired");
        send_connect_response(c, 0, 0, zero);
        ms_conn_close_after_flush(c);
        return;
    }
    if (sess->conn && sess->conn != c) {
        struct ms_conn *old = sess->conn;
        sess->conn = NULL;
        old->sess = NULL;
        ms_conn_close_after_flush(old);
    }
    sess->conn = c;
    sess->expire_at = clock_mono_ms() + sess->timeout;
    c->sess = sess;
    send_connect_response(c, sess->timeout, sess->id, sess->passwd);
}

/* ---------------- reading ---------------- */

/* Request processing time for the 4lw figures (ms; the fsync wait of
 * writes is not included). */
static void note_latency(struct ms_server *s, int64_t ms)
{
    if (s->lat_count == 0 || ms < s->lat_min)
        s->lat_min = ms;
    if (ms > s->lat_max)
        s->lat_max = ms;
    s->lat_total += ms;
    s->lat_count++;
}

static void handle_frame(struct ms_conn *c, const uint8_t *p, size_t n)
{
    c->recv++;
    c->srv->packets_recv++;
    if (c->state == CONN_NEW) {
        handle_connect(c, p, n);
        return;
    }
    struct kr r;
    kr_init(&r, p, n);
    int32_t xid = kr_i32(&r);
    int32_t type = kr_i32(&r);
    if (r.err) {
        KLOG_WARN("short request header from %s:%d; closing", c->ip, c->port);
        ms_conn_close_after_flush(c);
        return;
    }
    int64_t t0 = clock_mono_ms(), m0 = msm_now();
    if (c->sess)
        c->sess->expire_at = t0 + c->sess->timeout;
    ms_handle_request(c, xid, type, &r);
    note_latency(c->srv, clock_mono_ms() - t0);
    msm_request(type, m0);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct ms_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (c->state != CONN_CLOSING) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            break;
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        if (c->state == CONN_NEW && fourlw_is_command(hdr)) {
            evbuffer_drain(in, avail);
            fourlw_run(c, hdr);
            break;
        }
        int32_t n = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                              (uint32_t)hdr[2] << 8 | hdr[3]);
        if (n < 0 || n > c->srv->cfg->max_buffer) {
            KLOG_WARN("closing %s:%d: frame length %d outside 0..jute.maxbuffer (%d)", c->ip,
                      c->port, n, c->srv->cfg->max_buffer);
            conn_free(c);
            return;
        }
        if (avail < 4 + (size_t)n)
            break;
        const uint8_t *frame = evbuffer_pullup(in, 4 + (ssize_t)n);
        if (!frame) {
            conn_free(c);
            return;
        }
        handle_frame(c, frame + 4, (size_t)n);
        evbuffer_drain(in, 4 + (size_t)n);
    }
    if (c->state == CONN_CLOSING)
        evbuffer_drain(in, evbuffer_get_length(in));
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_reap_if_done(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct ms_conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        KLOG_DEBUG("connection %s:%d closed", c->ip, c->port);
        conn_free(c);
    }
}

static int conns_from(struct ms_server *s, const char *ip)
{
    int n = 0;
    for (struct ms_conn *c = s->conns; c; c = c->next)
        if (strcmp(c->ip, ip) == 0)
            n++;
    return n;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l;
    (void)salen;
    struct ms_server *s = arg;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        /* An IPv4 client on the dual-stack socket is shown (and matched by
         * ip ACLs) as the IPv4 address, as Java does. */
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
        else
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    if (s->cfg->max_client_cnxns > 0 && conns_from(s, ip) >= s->cfg->max_client_cnxns) {
        KLOG_WARN("too many connections from %s (max %d)", ip, s->cfg->max_client_cnxns);
        evutil_closesocket(fd);
        return;
    }
    /* As ZooKeeper (NIOServerCnxn sets TCP_NODELAY): a reply and a watch
     * notification written back to back must not wait for the client's
     * delayed ACK (Nagle holds the second small segment until then). */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct ms_conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev || zid_list_add(&c->auth, "ip", ip) != 0) {
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        zid_list_free(&c->auth);
        free(c);
        return;
    }
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    c->port = port;
    c->established = clock_wall_ms();
    c->last_op = "NA";
    bufferevent_priority_set(c->bev, PRIO_IO);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
}

/* ---------------- timers ---------------- */

static void run_purge(struct ms_server *s)
{
    s->purge_due = false;
    int n = snapshot_purge(s->cfg->data_dir, s->cfg->data_log_dir, s->cfg->snap_retain_count);
    KLOG_INFO("autopurge: removed %d files", n < 0 ? 0 : n);
}

/* Reap the snapshot child if it has finished (or wait for it). */
static void snapshot_reap(struct ms_server *s, bool wait)
{
    if (s->snap_pid <= 0)
        return;
    int st;
    pid_t r;
    do
        r = waitpid(s->snap_pid, &st, wait ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return;
    const char *dir = s->cfg->data_dir;
    int64_t ms = clock_mono_ms() - s->snap_started;
    s->snap_pid = 0;
    s->snap_busy_logged = false;
    if (r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        KLOG_INFO("snapshot: wrote %s/snapshot.%016" PRIx64 " in %" PRId64 " ms", dir,
                  (uint64_t)s->snap_zxid, ms);
        /* Old files go only once the new snapshot is durable. */
        if (s->cfg->purge_interval_hours > 0 || s->purge_due)
            run_purge(s);
        return;
    }
    if (r < 0)
        KLOG_ERROR("snapshot: waiting for the child writing snapshot.%016" PRIx64 ": %s",
                   (uint64_t)s->snap_zxid, strerror(errno));
    else if (WIFEXITED(st))
        KLOG_ERROR("snapshot: writing %s/snapshot.%016" PRIx64 " failed: %s; the log holds "
                   "everything, next try after snapCount more txns", dir,
                   (uint64_t)s->snap_zxid, strerror(WEXITSTATUS(st)));
    else
        KLOG_ERROR("snapshot: the child writing %s/snapshot.%016" PRIx64 " died of signal %d; "
                   "the log holds everything, next try after snapCount more txns", dir,
                   (uint64_t)s->snap_zxid, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    snapshot_discard_temp(dir, s->snap_zxid);
}

/* Every snapCount txns: roll the log to a new file, then fork a child that
 * writes the tree as of now, the zxid the new file starts after. */
static void maybe_snapshot(struct ms_server *s)
{
    if ((long)s->log.since_snap < s->cfg->snap_count)
        return;
    if (s->snap_pid > 0) {
        if (!s->snap_busy_logged)
            KLOG_WARN("snapshot: snapshot.%016" PRIx64 " is still being written; the next "
                      "one starts when it is done", (uint64_t)s->snap_zxid);
        s->snap_busy_logged = true;
        return;
    }
    if (txnlog_roll(&s->log, s->db.last_zxid + 1) != 0) {
        ms_fatal(s, "rolling the txn log to log.%016" PRIx64 ": %s",
                 (uint64_t)(s->db.last_zxid + 1), strerror(errno));
        return;
    }
    pid_t pid = snapshot_start(&s->db, s->cfg->data_dir);
    if (pid < 0) {
        KLOG_ERROR("snapshot: fork: %s; next try after snapCount more txns", strerror(errno));
        return;
    }
    s->snap_pid = pid;
    s->snap_zxid = s->db.last_zxid;
    s->snap_started = clock_mono_ms();
    KLOG_DEBUG("snapshot: child %d writes snapshot.%016" PRIx64, (int)pid,
               (uint64_t)s->snap_zxid);
}

/* Runs when the loop has nothing else to do (low priority): what the txns
 * handled so far appended goes to the syncer thread (group commit); the
 * loop goes on reading requests meanwhile, and they wait for the next sync.
 * If a sync is in flight, synced_cb starts the next one when it ends. */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ms_server *s = arg;
    s->flush_pending = false;
    if (s->fatal)
        return;
    int rc = txnlog_sync_begin(&s->log);
    if (rc < 0)
        ms_fatal(s, "txn log %s failed: %s", s->log.fail_op ? s->log.fail_op : "syncer",
                 strerror(errno));
    else if (rc == 0 && !txnlog_sync_busy(&s->log))
        release_replies(s);   /* nothing to sync: what is queued may go, closed conns be reaped */
}

/* The syncer thread finished a sync. */
static void synced_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ms_server *s = arg;
    if (s->fatal)
        return;
    int rc = txnlog_sync_end(&s->log);
    if (rc < 0) {
        /* What this sync covered may be lost (a failed fdatasync is never
         * retried, fileio.h): its replies are never released. */
        ms_fatal(s, "txn log %s failed: %s", s->log.fail_op, strerror(errno));
        return;
    }
    if (rc > 0)
        return;
    /* A snapshot first rolls the log, which syncs (on this thread) what
     * was appended while this sync ran: release after it, or those replies
     * would wait for the next write to come along. */
    maybe_snapshot(s);
    release_replies(s);
    if (s->log.appended > s->log.durable)
        schedule_flush(s);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ms_server *s = arg;
    snapshot_reap(s, false);  /* backstop for a missed SIGCHLD */
    int64_t now = clock_mono_ms();
    for (;;) {
        struct ms_session *victim = NULL;
        for (struct ms_session *x = s->db.sessions; x; x = x->next)
            if (!x->closing && x->expire_at <= now) {
                victim = x;
                break;
            }
        if (!victim)
            break;
        KLOG_INFO("expiring session 0x%" PRIx64 " (timeout %d ms)", (uint64_t)victim->id,
                  victim->timeout);
        struct ms_conn *c = victim->conn;
        ms_close_session(s, victim, 0);
        if (c)
            ms_conn_close_after_flush(c);
    }
}

struct reap_ctx {
    int64_t now;
    char **paths;
    int n, cap;
};

static int reap_visit(struct znode *n, void *arg)
{
    struct reap_ctx *r = arg;
    int64_t o = n->st.ephemeral_owner;
    bool victim = false;
    if (n->nchildren != 0)
        return 0;
    if (o == ZK_CONTAINER_OWNER)
        victim = n->st.cversion > 0;
    else if (o != 0 && (o & ZK_TTL_MASK) == ZK_TTL_MASK)
        victim = r->now - n->st.mtime > (o & ZK_TTL_MAX);
    if (!victim)
        return 0;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        char **v = realloc(r->paths, (size_t)cap * sizeof *v);
        if (!v)
            return 1;
        r->paths = v;
        r->cap = cap;
    }
    if ((r->paths[r->n] = strdup(n->path)))
        r->n++;
    return 0;
}

/* ZooKeeper's ContainerManager: containers that had children and are now
 * empty, and TTL nodes without children not modified for their TTL. */
static void container_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ms_server *s = arg;
    struct reap_ctx r = { clock_wall_ms(), NULL, 0, 0 };
    tree_walk(&s->db.tree, reap_visit, &r);
    for (int i = 0; i < r.n; i++) {
        struct kw body;
        kw_init(&body, NULL);
        jw_cstring(&body, r.paths[i]);
        int rc = ms_commit(s, 0, 0, ZOP_DELETE, &body, 0, NULL);
        KLOG_DEBUG("reaped %s: %s", r.paths[i], zk_err_name(rc));
        kw_free(&body);
    }
    db_free_paths(r.paths, r.n);
}

static void purge_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ms_server *s = arg;
    if (s->snap_pid > 0)
        s->purge_due = true;  /* after the child is reaped */
    else
        run_purge(s);
}

static void sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    snapshot_reap(arg, false);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct ms_server *s = arg;
    KLOG_INFO("signal %d: shutting down", (int)sig);
    event_base_loopbreak(s->base);
}

/* ---------------- lifecycle ---------------- */

static struct event *add_timer(struct ms_server *s, event_callback_fn cb, int64_t ms)
{
    struct event *ev = event_new(s->base, -1, EV_PERSIST, cb, s);
    if (!ev)
        return NULL;
    event_priority_set(ev, PRIO_IO);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    event_add(ev, &tv);
    return ev;
}

static int bind_port(struct ms_server *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    const char *addr = s->cfg->client_addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    if (addr && inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)s->cfg->client_port);
        len = sizeof *in;
    } else if (addr && inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)s->cfg->client_port);
        len = sizeof *in6;
    } else {
        if (addr)
            KLOG_WARN("clientPortAddress '%s' is not a numeric address; listening on all", addr);
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_any;
        in6->sin6_port = htons((uint16_t)s->cfg->client_port);
        len = sizeof *in6;
    }
    s->listener = evconnlistener_new_bind(s->base, accept_cb, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                          (struct sockaddr *)&ss, (int)len);
    if (!s->listener && ss.ss_family == AF_INET6 && !addr) {
        /* no IPv6 on this host: fall back to IPv4 any */
        memset(&ss, 0, sizeof ss);
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)s->cfg->client_port);
        s->listener = evconnlistener_new_bind(s->base, accept_cb, s,
                                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                              (struct sockaddr *)in, sizeof *in);
    }
    if (!s->listener) {
        KLOG_ERROR("cannot listen on %s:%d: %s", addr ? addr : "*", s->cfg->client_port,
                   strerror(errno));
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&bound, &bl);
    s->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return 0;
}

int ms_server_init(struct ms_server *s, struct ms_config *cfg, struct event_base *base)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->base = base;
    s->start_time = clock_wall_ms();
    s->log.fd = -1;
    if (event_base_priority_init(base, 2) != 0) {
        KLOG_ERROR("event_base_priority_init failed");
        return -1;
    }
    /* Session passwords come from OpenSSL's generator: instantiate and seed
     * it now (some 8M instructions, a few ms) rather than in the first
     * client's connect, and refuse to start if it cannot be seeded. */
    uint8_t probe[16];
    if (RAND_bytes(probe, sizeof probe) != 1) {
        KLOG_ERROR("OpenSSL's random generator cannot be seeded; session passwords need it");
        return -1;
    }
    if (watch_table_init(&s->dwatch) != 0 || watch_table_init(&s->cwatch) != 0)
        return -1;
    if (db_recover(&s->db, cfg->data_dir, cfg->data_log_dir) != 0) {
        KLOG_ERROR("cannot recover the database from %s / %s", cfg->data_dir, cfg->data_log_dir);
        return -1;
    }
    /* Like ZooKeeper: a snapshot of the recovered state, then a new log
     * (before the port is open, so written here, not by a child). */
    snapshot_remove_temps(cfg->data_dir);
    if (snapshot_write(&s->db, cfg->data_dir) != 0)
        return -1;
    if (txnlog_open(&s->log, cfg->data_log_dir, s->db.last_zxid + 1) != 0) {
        KLOG_ERROR("cannot open a txn log in %s: %s", cfg->data_log_dir, strerror(errno));
        return -1;
    }
    /* Sessions from disk get a full timeout from now to reconnect. */
    int64_t now = clock_mono_ms();
    int64_t max_id = 0;
    for (struct ms_session *x = s->db.sessions; x; x = x->next) {
        x->expire_at = now + x->timeout;
        if (x->id > max_id)
            max_id = x->id;
    }
    /* ZooKeeper's layout: server id (0) in the top byte, time below. */
    s->next_session_id = (int64_t)(((uint64_t)clock_wall_ms() << 24) >> 8);
    if (s->next_session_id <= max_id)
        s->next_session_id = max_id + 1;
    if (cfg->jaas_path && sasl_users_load(&s->sasl_users, cfg->jaas_path) != 0)
        return -1;
    if (bind_port(s) != 0)
        return -1;
    s->ev_flush = event_new(base, -1, 0, flush_cb, s);
    s->ev_synced = event_new(base, s->log.notify_fd, EV_READ | EV_PERSIST, synced_cb, s);
    if (!s->ev_flush || !s->ev_synced)
        return -1;
    event_priority_set(s->ev_flush, PRIO_FLUSH);
    event_priority_set(s->ev_synced, PRIO_IO);
    if (event_add(s->ev_synced, NULL) != 0)
        return -1;
    int tick = cfg->tick_time / 2 > 10 ? cfg->tick_time / 2 : 10;
    s->ev_tick = add_timer(s, tick_cb, tick);
    s->ev_container = add_timer(s, container_cb, cfg->container_check_ms);
    if (cfg->purge_interval_hours > 0)
        s->ev_purge = add_timer(s, purge_cb, (int64_t)cfg->purge_interval_hours * 3600 * 1000);
    s->ev_sigterm = evsignal_new(base, SIGTERM, signal_cb, s);
    s->ev_sigint = evsignal_new(base, SIGINT, signal_cb, s);
    s->ev_sigchld = evsignal_new(base, SIGCHLD, sigchld_cb, s);
    if (s->ev_sigterm)
        event_add(s->ev_sigterm, NULL);
    if (s->ev_sigint)
        event_add(s->ev_sigint, NULL);
    if (s->ev_sigchld)
        event_add(s->ev_sigchld, NULL);
    signal(SIGPIPE, SIG_IGN);
    KLOG_INFO("kavka-metastore listening on port %d (zxid 0x%" PRIx64 ", %zu znodes, %d sessions)",
              s->port, (uint64_t)s->db.last_zxid, s->db.tree.count, s->db.nsessions);
    return 0;
}

int ms_server_shutdown(struct ms_server *s)
{
    if (!s->fatal && s->log.fd >= 0 && txnlog_sync(&s->log) != 0)
        ms_fatal(s, "final txn log %s failed: %s", s->log.fail_op, strerror(errno));
    if (s->listener) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
    if (s->snap_pid > 0) {
        /* Not worth waiting for: the log holds everything it would have. */
        KLOG_INFO("stopping the child writing snapshot.%016" PRIx64, (uint64_t)s->snap_zxid);
        kill(s->snap_pid, SIGKILL);
        while (waitpid(s->snap_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        s->snap_pid = 0;
        snapshot_discard_temp(s->cfg->data_dir, s->snap_zxid);
    }
    /* Queued replies whose txns are durable go out best-effort; after a
     * fatal error none does (release_replies checks). */
    release_replies(s);
    while (s->conns)
        conn_free(s->conns);
    return s->fatal ? -1 : 0;
}

void ms_server_free(struct ms_server *s)
{
    struct event *evs[] = { s->ev_flush, s->ev_synced, s->ev_tick, s->ev_container, s->ev_purge,
                            s->ev_sigterm, s->ev_sigint, s->ev_sigchld };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
    while (s->conns)
        conn_free(s->conns);
    if (s->listener)
        evconnlistener_free(s->listener);
    txnlog_close(&s->log);
    watch_table_free(&s->dwatch);
    watch_table_free(&s->cwatch);
    db_free(&s->db);
    sasl_users_free(s->sasl_users);
    memset(s, 0, sizeof *s);
}
