/*
 * ops.h — request decoding and the write "prepare" step shared by single
 * requests (ops.c) and multi (multi.c).
 *
 * A write is handled in two steps, as ZooKeeper's PrepRequestProcessor and
 * FinalRequestProcessor do: prepare checks the request against the current
 * tree (path, ACL, version, existence, in ZooKeeper's order, so the first
 * failing check decides the error code) and builds the txn body; committing
 * applies that body (db_apply) and logs it. The reply is built from the tree
 * after the commit.
 */
#ifndef KAVKA_MS_OPS_H
#define KAVKA_MS_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "jute.h"
#include "server.h"

/* One decoded request of any of the node operations. Views (path, data)
 * point into the frame, which outlives the request's handling. */
struct zreq {
    int32_t op;
    struct kstr path;
    char *pathz;             /* NUL-terminated copy of path (owned) */
    struct kbytes data;
    struct zacl_list acl;    /* owned */
    int32_t flags;           /* create mode */
    int32_t version;
    int64_t ttl;             /* createTTL; -1 otherwise */
    bool watch;
};

/* Decode the body of op from r. ZOK, or ZMARSHALLINGERROR (truncated,
 * trailing garbage is allowed as ZooKeeper allows it) or ZUNIMPLEMENTED
 * (an opcode with no zreq form). */
int zreq_decode(int32_t op, struct kr *r, struct zreq *q);
void zreq_free(struct zreq *q);

/* A prepared write: the txn type and the path it resolved to (a sequential
 * create's suffix is chosen here). */
struct wprep {
    int32_t txn_type;
    char path[1024 + 16];
};

/* Check q against the tree as connection c and write the txn body into
 * txn. ZOK or the ZooKeeper error. */
int prep_write(struct ms_conn *c, const struct zreq *q, struct kw *txn, struct wprep *out);

/* Is op a write that prep_write knows? */
bool op_is_node_write(int32_t op);

/* Response body of a successful write (CreateResponse, Create2Response,
 * SetDataResponse, SetACLResponse or nothing) for the node's stat right
 * after the write. */
void write_response(struct kw *w, int32_t op, const char *path, const struct zstat *stat);

/* Reads shared with multiRead: getData and getChildren. Write the response
 * body into w; ZOK or the error. Set the watch when q->watch. */
int read_get_data(struct ms_conn *c, const struct zreq *q, struct kw *w);
int read_get_children(struct ms_conn *c, const struct zreq *q, struct kw *w, bool with_stat);

/* multi.c */
void handle_multi(struct ms_conn *c, int32_t xid, struct kr *r);
void handle_multi_read(struct ms_conn *c, int32_t xid, struct kr *r);

#endif
