/*
 * server.h — kavka-metastore's server: one libevent loop serving the
 * ZooKeeper client protocol.
 *
 * Ordering and durability. Every reply, notification and ConnectResponse
 * is tagged with the txn log's `appended` count at the moment it is made and
 * is released to the socket only once that many records are fsynced. So a
 * client never sees a change (its own reply, a watch event, or a read of
 * another session's write) before it is durable, and each connection's
 * messages leave in the order they were made: notifications a write causes
 * precede its reply, and replies go out in request order.
 *
 * Group commit: writes processed during one pass of the event loop append
 * to the log buffer; a low-priority event runs after every socket event of
 * that pass, writes the buffer, fsyncs once and releases the replies.
 *
 * Fail-stop: when that write or fdatasync fails (or anything else leaves the
 * in-memory state ahead of what the log can hold), ms_fatal() stops the loop
 * and the process exits non-zero without releasing a single held reply: the
 * clients of those txns see their connection drop, never a success.
 *
 * Snapshots are written by a forked child (snapshot_start) every snapCount
 * txns, right after the log is rolled; the loop keeps serving meanwhile. The
 * child is reaped on SIGCHLD (and by the tick as a backstop); only after a
 * successful one are old files purged.
 */
#ifndef KAVKA_MS_SERVER_H
#define KAVKA_MS_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "acl.h"
#include "config.h"
#include "db.h"
#include "txnlog.h"
#include "watch.h"
#include "compiler.h"

struct event_base;
struct event;
struct evconnlistener;
struct bufferevent;
struct evbuffer;
struct sasl_conn;
struct sasl_users;

struct ms_out {
    struct ms_out *next;
    uint64_t seq;             /* log records that must be durable first */
    struct evbuffer *buf;
};

enum conn_state { CONN_NEW, CONN_CONNECTED, CONN_CLOSING };

struct ms_conn {
    struct ms_server *srv;
    struct bufferevent *bev;
    struct ms_session *sess;
    enum conn_state state;
    bool sent_readonly;       /* the ConnectRequest carried the flag */
    struct ms_out *outq, *outq_tail;
    struct zid_list auth;     /* ip, digest, sasl, super ids */
    char ip[INET6_ADDRSTRLEN];
    int port;
    uint64_t recv, sent;
    int64_t established;      /* wall ms */
    int64_t last_zxid;
    int32_t last_xid;
    const char *last_op;
    struct sasl_conn *sasl;
    bool sasl_ok;
    struct ms_conn *next, *prev;
};

struct ms_server {
    struct ms_config *cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    int port;                 /* bound port */
    struct ms_db db;
    struct txnlog log;
    struct watch_table dwatch, cwatch;
    struct ms_conn *conns;
    int nconns;
    struct event *ev_flush, *ev_synced, *ev_tick, *ev_container, *ev_purge;
    struct event *ev_sigterm, *ev_sigint, *ev_sigchld;
    bool flush_pending;
    bool fatal;               /* fail-stop: nothing more is acknowledged */
    pid_t snap_pid;           /* snapshot child, 0 when none */
    int64_t snap_zxid;        /* the zxid it writes */
    int64_t snap_started;     /* monotonic ms */
    bool snap_busy_logged;
    bool purge_due;           /* autopurge waits for the snapshot child */
    int64_t next_session_id;
    uint64_t packets_recv, packets_sent;
    int64_t start_time;
    int64_t lat_min, lat_max, lat_total, lat_count;
    struct sasl_users *sasl_users;  /* from the JAAS Server section */
};

/* Set up: recover the db from disk, open a new log file, bind the port.
 * Returns 0 or -1 (logged). */
int ms_server_init(struct ms_server *s, struct ms_config *cfg, struct event_base *base) KV_MUST_CHECK;
/* Stop listening, sync the log and release the replies it covers, stop a
 * running snapshot child, close every connection. Returns 0, or -1 when the
 * server stopped on a fatal error or the final sync failed: then no held
 * reply was released, and the process must exit non-zero. */
int ms_server_shutdown(struct ms_server *s) KV_MUST_CHECK;
void ms_server_free(struct ms_server *s);

/* ---- used by ops.c / fourlw.c / sasl.c ---- */

/* Queue a framed message (length prefix added here) for c. */
void ms_conn_send(struct ms_conn *c, const uint8_t *p, size_t n);
/* A reply: header, then `body` (may be NULL) when err is 0. */
void ms_reply(struct ms_conn *c, int32_t xid, int64_t zxid, int32_t err, const struct kw *body);
/* Close after everything queued is sent. */
void ms_conn_close_after_flush(struct ms_conn *c);

/* Commit a write: assign the next zxid, apply `body` as a txn of `type`
 * (or an ERROR txn when pre_err != 0 or applying fails), log it, deliver
 * the watch events. Returns ZOK or the error; *zxid_out the txn's zxid. */
int ms_commit(struct ms_server *s, int64_t session, int32_t cxid, int32_t type,
              const struct kw *body, int pre_err, int64_t *zxid_out);
/* The same with the txn's time given (multi computes result stats before
 * committing, so both must use one clock reading). */
int ms_commit_at(struct ms_server *s, int64_t session, int32_t cxid, int32_t type,
                 const struct kw *body, int pre_err, int64_t time, int64_t *zxid_out);
/* Fail-stop (see above): log why, stop the loop; nothing held goes out. */
void ms_fatal(struct ms_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Deliver db.tree.events as notifications for zxid, then clear them. */
void ms_fire_events(struct ms_server *s, int64_t zxid);
/* Send one notification to a connection. */
void ms_notify(struct ms_conn *c, int type, const char *path, int64_t zxid);

/* Close a session (client closeSession or expiry): CLOSESESSION txn,
 * ephemerals deleted. Returns the txn's zxid. */
int64_t ms_close_session(struct ms_server *s, struct ms_session *sess, int32_t cxid);

/* ops.c: one request from a connected client. */
void ms_handle_request(struct ms_conn *c, int32_t xid, int32_t type, struct kr *r);
/* fourlw.c: is `word` a four-letter word; run it (writes the answer and
 * closes the connection). */
bool fourlw_is_command(const uint8_t word[4]);
void fourlw_run(struct ms_conn *c, const uint8_t word[4]);

#endif
