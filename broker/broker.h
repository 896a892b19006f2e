/*
 * broker.h — the broker's core types: the broker, a client connection, one
 * request in flight, and the handler table keyed by API key.
 *
 * One thread runs a libevent loop. A connection may pipeline requests; each
 * gets a slot in the connection's queue and responses leave strictly in the
 * order the requests came, even when a handler finishes later (delayed Fetch).
 */
#ifndef KAVKA_BROKER_H
#define KAVKA_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "kafka_msgs.h"
#include "wire.h"

struct event_base;
struct event;
struct bufferevent;
struct evbuffer;
struct evconnlistener;
struct broker_config;
struct topics;

/* A listener as served: its bind address and the address advertised in
 * Metadata to clients that came in through it. */
struct blistener {
    struct broker *b;
    char *name;          /* e.g. PLAINTEXT, SASL_USER */
    char *protocol;      /* security protocol: PLAINTEXT, SASL_PLAINTEXT, ... */
    char *host;          /* bind host; empty = all interfaces */
    int port;
    char *adv_host;
    int adv_port;
    struct sasl_listener *sasl;  /* SASL_* listeners: mechanisms, users (sasl.c) */
    struct ssl_ctx_st *ssl_ctx;  /* SSL / SASL_SSL listeners (tls.c) */
};

struct conn;
struct kreq;

/* A request in flight. Owned by its connection's queue until answered. */
struct kreq {
    TAILQ_ENTRY(kreq) link;
    struct conn *conn;            /* NULL once the connection is gone */
    int16_t api_key;
    int16_t api_version;
    int32_t corr_id;
    struct kstr client_id;        /* view into frame */
    uint8_t *frame;               /* request bytes (owned) */
    size_t frame_len;
    struct kr body;               /* reader positioned at the body */
    struct karena arena;          /* decoded request, response structs */
    struct evbuffer *resp;        /* response header+body once done */
    bool done;
    bool no_response;             /* acks=0 produce */
    void *pending;                /* handler state while deferred (fetch) */
    void (*cancel)(struct kreq *); /* frees `pending` if the conn dies */
    int64_t t_start_us;           /* when it was read, for /metrics (metrics.h) */
};
TAILQ_HEAD(kreq_queue, kreq);

struct conn {
    TAILQ_ENTRY(conn) link;
    struct broker *b;
    struct bufferevent *bev;
    const struct blistener *lst;   /* listener the connection came in on */
    char peer[64];
    char principal[300];           /* "User:ANONYMOUS" until authenticated */
    struct sasl_conn *sasl;        /* SASL listeners only (sasl.c) */
    struct kreq_queue q;
    int inflight;
    bool closing;
    struct event *free_ev;         /* conn_close's deferred free, once scheduled */
    char host[64];                 /* peer address without the port (per-IP limits, ACLs) */
    int64_t last_active_ms;        /* last read or completed write (connections.max.idle.ms) */
    int64_t close_deadline_ms;     /* closing with output queued: dropped after this */
};
TAILQ_HEAD(conn_list, conn);

struct broker {
    struct event_base *base;
    struct broker_config *cfg;
    struct topics *topics;
    struct blistener *listeners;
    int nlisteners;
    struct evconnlistener **evl;
    struct conn_list conns;
    struct event *housekeeping;   /* retention, flush */
    struct event *sigint, *sigterm;
    char cluster_id[32];
    struct fetch_waiter *waiters; /* delayed fetches */
    int64_t conns_total;
    struct groups *groups;        /* group coordinator (group.h) */
    int64_t pid_next, pid_limit;  /* producer ids: next free, end of reserved block */
    struct dynconfig *dyn;        /* dynamic broker configs (admin.h) */
    struct cluster *cluster;      /* metastore registration (cluster.h), or NULL */
    struct zk *zk;                /* its metastore client (cluster_zk), or NULL */
    struct conn_limits *limits;   /* max.connections[.per.ip], idle and drain (server.c) */
    const struct broker_hooks *hooks; /* what the connection code reaches above it */
};

/* A request handler. It reads req->body, and either answers at once with
 * kreq_respond() or defers and answers later. Returning -1 means the request
 * was malformed: the connection is closed (as Kafka does). */
typedef int (*khandler_fn)(struct kreq *req);

struct khandler {
    int16_t key;
    int16_t min, max;            /* versions served */
    khandler_fn fn;
};

extern const struct khandler khandlers[];
extern const int khandlers_n;
const struct khandler *khandler_find(int16_t key);   /* api/handlers.c */

/* SASL on a connection, as the connection code sees it (security/sasl.h
 * says what each step does). */
struct conn_auth {
    int (*conn_new)(struct conn *c);          /* on accept, SASL listeners only */
    void (*conn_free)(struct conn *c);
    void (*frame_limits)(const struct conn *c, int32_t *min, int32_t *max);
    bool (*expects_raw)(const struct conn *c); /* next frame is a bare token */
    int (*raw_token)(struct kreq *req);
    bool (*request_allowed)(struct conn *c, const struct kreq *req);
};

/* The connection code (net/) sits under the handlers and SASL and never
 * calls them by name: main.c hands it these at start. */
struct broker_hooks {
    const struct khandler *(*handler)(int16_t key); /* the handler table (khandler_find) */
    const struct conn_auth *auth;                   /* SASL (sasl_conn_auth); NULL: none */
    /* At broker_stop, once every connection is gone: handlers free what
     * they keep beyond a request (fetch_waiters_free). */
    void (*stopped)(struct broker *b);
};

/* Is this request's version flexible (compact encodings, tagged fields)? */
bool kreq_flexible(const struct kreq *req);

/* Response plumbing (net/kreq.c). kreq_writer() gives a writer whose output is the
 * response evbuffer, with the response header already written. Encode the
 * body into it, then call kreq_finish(). */
void kreq_writer(struct kreq *req, struct kw *w);
void kreq_finish(struct kreq *req, struct kw *w);
/* Mark answered without a response (acks=0). */
void kreq_finish_silent(struct kreq *req);

/*
 * Admin writes held until the metastore (or the file store) has them
 * (net/awrite.c). A handler whose answer must wait for a write hands a job to
 * awrite_submit(); jobs run one at a time in arrival order, so each one
 * computes its write from the state its predecessors left, and the state in
 * memory changes only when the write is confirmed. The job's own memory
 * (arg) belongs to the job; the request only points at the job, and the
 * job reaches the request through awrite_req(), which is NULL once the
 * client has gone. A job whose client leaves before it started is dropped
 * (drop(arg) frees it: nothing was written, nobody waits); a started one
 * completes its write, applies it, and ends without answering.
 */
struct awrite;
typedef void (*awrite_fn)(struct awrite *w, void *arg);
/* req NULL: an internal job (a resync), never dropped. start runs when the
 * job's turn comes, possibly before awrite_submit returns. */
void awrite_submit(struct kreq *req, awrite_fn start, awrite_fn drop, void *arg);
/* The waiting request, or NULL when its connection has closed. */
struct kreq *awrite_req(const struct awrite *w);
/* Detach the request to answer it now (kreq_finish); NULL if it has gone. */
struct kreq *awrite_take(struct awrite *w);
/* The job is over (the caller has freed arg): the next one starts. */
void awrite_done(struct awrite *w);

/* Listeners as served, from the configuration (listeners.c). */
int broker_listeners(const struct broker_config *c, struct blistener **out, int *n,
                     char *err, size_t errlen);
void broker_listeners_free(struct blistener *v, int n);

/* Server lifecycle (server.c). */
int broker_start(struct broker *b);
void broker_stop(struct broker *b);
void conn_close(struct conn *c, const char *why);
/* A connection on bev (a socket, or a bufferevent pair in the fuzz harness)
 * accepted on lst from peer host:port; NULL when out of memory (bev is then
 * freed). */
struct conn *conn_new(struct broker *b, const struct blistener *lst, struct bufferevent *bev,
                      const char *host, int port);

/* Fetch waiters (api/fetch.c): called after data is appended to a partition. */
struct partition;
void fetch_wake(struct broker *b, const struct partition *p, int64_t bytes);
void fetch_waiters_free(struct broker *b);

/* Handlers. */
int h_api_versions(struct kreq *req);
int h_metadata(struct kreq *req);
int h_produce(struct kreq *req);
int h_fetch(struct kreq *req);
int h_list_offsets(struct kreq *req);
int h_create_topics(struct kreq *req);
int h_delete_topics(struct kreq *req);
int h_sasl_handshake(struct kreq *req);
int h_sasl_authenticate(struct kreq *req);
int h_init_producer_id(struct kreq *req);
/* Group coordinator (group.c, group_offsets.c, group_admin.c). */
int h_find_coordinator(struct kreq *req);
int h_join_group(struct kreq *req);
int h_sync_group(struct kreq *req);
int h_heartbeat(struct kreq *req);
int h_leave_group(struct kreq *req);
int h_offset_commit(struct kreq *req);
int h_offset_fetch(struct kreq *req);
int h_offset_delete(struct kreq *req);
int h_describe_groups(struct kreq *req);
int h_list_groups(struct kreq *req);
int h_delete_groups(struct kreq *req);
/* Admin and introspection (admin_configs.c, admin_cluster.c, admin_partitions.c, acls.c). */
int h_describe_configs(struct kreq *req);
int h_alter_configs(struct kreq *req);
int h_incremental_alter_configs(struct kreq *req);
int h_create_partitions(struct kreq *req);
int h_delete_records(struct kreq *req);
int h_offset_for_leader_epoch(struct kreq *req);
int h_describe_cluster(struct kreq *req);
int h_describe_log_dirs(struct kreq *req);
int h_describe_producers(struct kreq *req);
int h_describe_acls(struct kreq *req);
int h_create_acls(struct kreq *req);
int h_delete_acls(struct kreq *req);
int h_list_partition_reassignments(struct kreq *req);
int h_describe_topic_partitions(struct kreq *req);
/* SCRAM credentials and quotas (scram_credentials.c, client_quotas.c). */
int h_describe_user_scram_credentials(struct kreq *req);
int h_alter_user_scram_credentials(struct kreq *req);
int h_describe_client_quotas(struct kreq *req);

#endif
