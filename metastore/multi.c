/*
 * multi.c — multi (atomic writes) and multiRead.
 *
 * multi: every op is prepared and applied in turn to the live tree inside
 * an undo scope (tree_begin), so later ops see earlier ones (a sequential
 * create's suffix, a version bumped by a setData before a check); then the
 * scope is rolled back and, if all ops succeeded, the whole MULTI txn is
 * committed under one zxid. A failed multi commits an ERROR txn (it still
 * takes a zxid, as in ZooKeeper) and answers header error 0 with per-op
 * results: 0 before the failing op, its code, RUNTIMEINCONSISTENCY after.
 *
 * multiRead: getData / getChildren ops answered one by one, each with its
 * own result or error; nothing is atomic there.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "clock.h"

struct mop {
    struct zreq q;
    struct wprep p;
    struct zstat st;    /* the node right after this op (create2/setData) */
    int err;
};

static void mops_free(struct mop *m, int n)
{
    for (int i = 0; i < n; i++)
        zreq_free(&m[i].q);
    free(m);
}

static bool allowed_in_multi(int32_t op, bool reads)
{
    if (reads)
        return op == ZOP_GETDATA || op == ZOP_GETCHILDREN;
    return op_is_node_write(op) && op != ZOP_SETACL;
}

/* MultiOperationRecord: { MultiHeader(type, done, err); body }* until a
 * header with done set. ZOK or ZMARSHALLINGERROR. */
static int decode_ops(struct kr *r, bool reads, struct mop **out, int *nout)
{
    struct mop *m = NULL;
    int n = 0, cap = 0;
    *out = NULL;
    *nout = 0;
    for (;;) {
        int32_t type = kr_i32(r);
        bool done = kr_bool(r);
        (void)kr_i32(r);
        if (r->err || done)
            break;
        if (!allowed_in_multi(type, reads)) {
            kr_fail(r, WIRE_ERANGE);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct mop *v = realloc(m, (size_t)cap * sizeof *v);
            if (!v) {
                kr_fail(r, WIRE_ENOMEM);
                break;
            }
            m = v;
        }
        memset(&m[n], 0, sizeof m[n]);
        int rc = zreq_decode(type, r, &m[n].q);
        n++;
        if (rc != ZOK) {
            kr_fail(r, WIRE_ERANGE);
            break;
        }
    }
    if (r->err) {
        mops_free(m, n);
        return ZMARSHALLINGERROR;
    }
    *out = m;
    *nout = n;
    return ZOK;
}

static void multi_header(struct kw *w, int32_t type, bool done, int32_t err)
{
    kw_i32(w, type);
    kw_bool(w, done);
    kw_i32(w, err);
}

/* The result type the Java server reports: create -> create, the other
 * create flavours -> create2 (CreateResult with a stat). */
static int32_t result_type(int32_t op)
{
    if (op == ZOP_CREATECONTAINER || op == ZOP_CREATETTL)
        return ZOP_CREATE2;
    return op;
}

/* Dry run: prepare and apply each op in an undo scope, building the MULTI
 * txn body. Returns the index of the failing op or -1. */
static int dry_run(struct ms_conn *c, struct mop *m, int n, const struct txn_hdr *h,
                   struct kw *txn)
{
    struct ms_db *db = &c->srv->db;
    int failed = -1;
    kw_i32(txn, n);
    tree_begin(&db->tree);
    for (int i = 0; i < n && failed < 0; i++) {
        struct kw sub;
        kw_init(&sub, NULL);
        int rc = prep_write(c, &m[i].q, &sub, &m[i].p);
        if (rc == ZOK && sub.err)
            rc = ZSYSTEMERROR;
        if (rc == ZOK) {
            struct kr sr;
            kr_init(&sr, sub.buf, sub.len);
            rc = db_apply_body(db, h, m[i].p.txn_type, &sr);
        }
        if (rc == ZOK) {
            kw_i32(txn, m[i].p.txn_type);
            kw_raw(txn, sub.buf, sub.len);
            struct znode *node = tree_getc(&db->tree, m[i].p.path);
            if (node)
                znode_stat(node, &m[i].st);
        } else {
            m[i].err = rc;
            failed = i;
        }
        kw_free(&sub);
    }
    tree_rollback(&db->tree);
    return failed;
}

static void write_results(struct kw *w, const struct mop *m, int n, int failed)
{
    for (int i = 0; i < n; i++) {
        if (failed >= 0) {
            int32_t err = i < failed ? ZOK : i == failed ? m[i].err : ZRUNTIMEINCONSISTENCY;
            multi_header(w, ZOP_ERROR, false, err);
            kw_i32(w, err);  /* ErrorResponse */
            continue;
        }
        multi_header(w, result_type(m[i].q.op), false, ZOK);
        write_response(w, m[i].q.op, m[i].p.path, &m[i].st);
    }
    multi_header(w, -1, true, -1);
}

void handle_multi(struct ms_conn *c, int32_t xid, struct kr *r)
{
    struct ms_server *s = c->srv;
    struct mop *m;
    int n;
    int64_t zxid;
    if (decode_ops(r, false, &m, &n) != ZOK) {
        ms_commit(s, c->sess->id, xid, ZOP_ERROR, NULL, ZMARSHALLINGERROR, &zxid);
        ms_reply(c, xid, zxid, ZMARSHALLINGERROR, NULL);
        return;
    }
    struct txn_hdr h = { s->db.last_zxid + 1, c->sess->id, xid, clock_wall_ms(), ZOP_MULTI };
    struct kw txn;
    kw_init(&txn, NULL);
    int failed = dry_run(c, m, n, &h, &txn);
    int rc;
    if (failed < 0) {
        rc = ms_commit_at(s, h.session, xid, ZOP_MULTI, &txn, 0, h.time, &zxid);
        if (rc != ZOK && n > 0) {  /* cannot happen unless out of memory */
            failed = 0;
            m[0].err = rc;
        }
    } else {
        ms_commit_at(s, h.session, xid, ZOP_ERROR, NULL, m[failed].err, h.time, &zxid);
    }
    struct kw body;
    kw_init(&body, NULL);
    write_results(&body, m, n, failed);
    ms_reply(c, xid, zxid, ZOK, &body);
    kw_free(&body);
    kw_free(&txn);
    mops_free(m, n);
}

void handle_multi_read(struct ms_conn *c, int32_t xid, struct kr *r)
{
    struct mop *m;
    int n;
    int64_t zxid = c->srv->db.last_zxid;
    if (decode_ops(r, true, &m, &n) != ZOK) {
        ms_reply(c, xid, zxid, ZMARSHALLINGERROR, NULL);
        return;
    }
    struct kw body;
    kw_init(&body, NULL);
    for (int i = 0; i < n; i++) {
        struct kw one;
        kw_init(&one, NULL);
        int rc = m[i].q.op == ZOP_GETDATA ? read_get_data(c, &m[i].q, &one)
                                          : read_get_children(c, &m[i].q, &one, false);
        if (rc == ZOK) {
            multi_header(&body, m[i].q.op, false, ZOK);
            kw_raw(&body, one.buf, one.len);
        } else {
            multi_header(&body, ZOP_ERROR, false, rc);
            kw_i32(&body, rc);
        }
        kw_free(&one);
    }
    multi_header(&body, -1, true, -1);
    ms_reply(c, xid, zxid, ZOK, &body);
    kw_free(&body);
    mops_free(m, n);
}
