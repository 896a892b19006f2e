/*
 * db.h — the replicated state: the znode tree, the session table and the
 * last zxid, changed only by applying transactions.
 *
 * A transaction (txn) is a header plus a type-specific body, both encoded
 * with jute (this is also the txn log's record payload, docs/metastore.md):
 *
 *   long zxid; long sessionId; int cxid; long time; int type; body...
 *
 *   CREATE (1)          ustring path; buffer data; vector<ACL> acl; long ephemeralOwner
 *   DELETE (2)          ustring path
 *   SETDATA (5)         ustring path; buffer data
 *   SETACL (7)          ustring path; vector<ACL> acl
 *   CHECK (13)          ustring path                 (multi only, no effect)
 *   MULTI (14)          int count; count x { int type; body }
 *   CREATESESSION (-10) int timeout; buffer passwd(16)
 *   CLOSESESSION (-11)  (nothing: the session's ephemerals are deleted)
 *   ERROR (-1)          int err                      (a failed write: it
 *                                                    still takes a zxid)
 *
 * The live server builds a txn, applies it with db_apply() and logs it;
 * recovery applies the same bytes, so both paths share one implementation.
 * Version and ACL checks happen before a txn is built, never in apply.
 */
#ifndef KAVKA_MS_DB_H
#define KAVKA_MS_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "jute.h"
#include "tree.h"
#include "compiler.h"

struct ms_conn;

struct ms_session {
    int64_t id;
    int32_t timeout;        /* negotiated, ms */
    uint8_t passwd[16];
    int64_t expire_at;      /* monotonic ms; maintained by the server */
    struct ms_conn *conn;   /* attached connection or NULL */
    bool closing;           /* closeSession in progress */
    struct ms_session *next;
};

struct ms_db {
    struct tree tree;
    struct ms_session *sessions;
    int nsessions;
    int64_t last_zxid;
};

struct txn_hdr {
    int64_t zxid;
    int64_t session;
    int32_t cxid;
    int64_t time;
    int32_t type;
};

int db_init(struct ms_db *db) KV_MUST_CHECK;       /* fresh tree with the system nodes */
int db_init_bare(struct ms_db *db) KV_MUST_CHECK;  /* root only, for snapshot loading */
void db_free(struct ms_db *db);

struct ms_session *db_session(const struct ms_db *db, int64_t id);
/* Adds a session (snapshot loading and CREATESESSION). */
struct ms_session *db_session_add(struct ms_db *db, int64_t id, int32_t timeout,
                                  const uint8_t passwd[16]) KV_MUST_CHECK;

/* Encode a txn header. */
void txn_write_hdr(struct kw *w, const struct txn_hdr *h);

/* Apply one encoded txn (header + body). Returns ZOK, or the error that made
 * it fail (then nothing changed; for MULTI, all sub-ops were undone). The
 * watch events it caused are left in db->tree.events. */
int db_apply(struct ms_db *db, const uint8_t *p, size_t n, struct txn_hdr *hdr_out) KV_MUST_CHECK;
/* Apply one body of type `type` (used for multi sub-ops). */
int db_apply_body(struct ms_db *db, const struct txn_hdr *h, int32_t type, struct kr *r) KV_MUST_CHECK;

/* Paths of the ephemerals owned by session (sorted; malloc'd array of
 * malloc'd strings). Returns the count, or -1. */
int db_ephemerals(struct ms_db *db, int64_t session, const char *prefix, char ***out) KV_MUST_CHECK;
void db_free_paths(char **paths, int n);

#endif
