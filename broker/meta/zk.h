/*
 * zk.h — the broker's asynchronous ZooKeeper client (jute over libevent).
 *
 * It talks to kavka-metastore or Apache ZooKeeper as Kafka's ZooKeeper
 * client does: `zookeeper.connect` (host:port[,host:port...][/chroot]), a
 * session with a negotiated timeout kept alive by pings at a third of it,
 * requests answered in order through callbacks, and SASL DIGEST-MD5 with the
 * JAAS `Client` section's username/password when one is given.
 *
 * Connection loss fails the requests in flight with ZCONNECTIONLOSS (their
 * outcome is unknown: the server may have applied them) and
 * reconnects (next host, same session) after a short delay; if the server
 * says the session is gone, the state callback hears ZK_EXPIRED and the
 * client starts a new session by itself (ephemeral nodes must then be made
 * again by the owner: see cluster.c).
 */
#ifndef KAVKA_BROKER_ZK_H
#define KAVKA_BROKER_ZK_H

#include <stdbool.h>
#include <stdint.h>

#include "jute.h"
#include "wire.h"
#include "compiler.h"

struct event_base;
struct zk;

enum zk_state {
    ZK_CONNECTING,
    ZK_CONNECTED,      /* session established (new or resumed) */
    ZK_DISCONNECTED,   /* link lost; reconnecting to the same session */
    ZK_EXPIRED,        /* the session is gone; a new one is being made */
    ZK_AUTH_FAILED,    /* SASL refused: the client stops */
};

/* A reply: rc is ZOK or a ZooKeeper error code; on ZOK, body is positioned
 * at the response body (valid during the call only). */
typedef void (*zk_reply_fn)(struct zk *zk, int rc, struct kr *body, void *arg);
/* Session state changes; new_session tells a fresh session from a resumed one. */
typedef void (*zk_state_fn)(struct zk *zk, enum zk_state st, bool new_session, void *arg);

struct zk_options {
    const char *connect;          /* zookeeper.connect */
    int32_t session_timeout_ms;
    int32_t connection_timeout_ms;
    const char *sasl_user;        /* NULL: no SASL */
    const char *sasl_password;
    bool set_acl;                 /* zookeeper.set.acl: Kafka's secure znode ACLs */
};

/* Returns NULL with a message in err when `connect` is malformed. */
struct zk *zk_new(struct event_base *base, const struct zk_options *o, zk_state_fn on_state,
                  void *arg, char *err, size_t errlen);
void zk_free(struct zk *zk);
void zk_start(struct zk *zk);
enum zk_state zk_get_state(const struct zk *zk);
int64_t zk_session_id(const struct zk *zk);
int32_t zk_session_timeout(const struct zk *zk);

/* Requests. Paths are absolute within the chroot. They return 0, or -1 when
 * not connected (the callback is then not called). */
int zk_create(struct zk *zk, const char *path, const void *data, int32_t len, int mode,
              zk_reply_fn cb, void *arg);
int zk_delete(struct zk *zk, const char *path, int32_t version, zk_reply_fn cb, void *arg);
int zk_get_data(struct zk *zk, const char *path, zk_reply_fn cb, void *arg);
int zk_set_data(struct zk *zk, const char *path, const void *data, int32_t len,
                int32_t version, zk_reply_fn cb, void *arg);
int zk_get_children(struct zk *zk, const char *path, zk_reply_fn cb, void *arg);
int zk_exists(struct zk *zk, const char *path, zk_reply_fn cb, void *arg);
/* setData (any version), create (persistent, the node's default ACL) when
 * the node is missing, setData again when a racing create got there first;
 * cb hears the final rc. Used by writes a client waits for (ACLs, SCRAM
 * credentials, topic configs): ZOK means the metastore has the data. */
int zk_upsert(struct zk *zk, const char *path, const void *data, int32_t len, zk_reply_fn cb,
              void *arg);

/* More state callbacks besides zk_new's (the stores that resynchronise
 * after a write with an unknown outcome). -1 when all slots are taken. */
int zk_add_state_listener(struct zk *zk, zk_state_fn fn, void *arg);
void zk_remove_state_listener(struct zk *zk, zk_state_fn fn, void *arg);

/*
 * Synchronous use (start-up only, never from a callback): run the event
 * loop until *done is set or timeout_ms (0: the connection timeout) passes.
 * Returns 0 when done.
 */
int zk_wait(struct zk *zk, const bool *done, int timeout_ms);

/* Run the loop until no request is pending (or timeout_ms): before a stop. */
int zk_drain(struct zk *zk, int timeout_ms);

/* Synchronous wrappers on zk_wait: rc of the request (ZCONNECTIONLOSS on
 * timeout). get_data copies the data into *out (malloc'd, NUL-terminated,
 * caller frees) and fills *st when not NULL. */
int zk_sync_create(struct zk *zk, const char *path, const void *data, int32_t len, int mode) KV_MUST_CHECK;
int zk_sync_get_data(struct zk *zk, const char *path, char **out, int32_t *len,
                     struct zstat *st) KV_MUST_CHECK;
int zk_sync_set_data(struct zk *zk, const char *path, const void *data, int32_t len) KV_MUST_CHECK;
int zk_sync_delete(struct zk *zk, const char *path) KV_MUST_CHECK;
/* Children as a malloc'd array of malloc'd strings (zk_strings_free). */
int zk_sync_get_children(struct zk *zk, const char *path, char ***out, int *n) KV_MUST_CHECK;
void zk_strings_free(char **v, int n);
/* create every missing parent of path and path itself (persistent, empty). */
int zk_sync_mkdirs(struct zk *zk, const char *path) KV_MUST_CHECK;
/* Create the chroot of zookeeper.connect (and its parents) if missing. */
int zk_sync_make_chroot(struct zk *zk) KV_MUST_CHECK;

#endif
