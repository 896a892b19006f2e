/*
 * ops.c — one request from a connected client: the opcode table, node
 * reads and writes, watches, authentication and session requests.
 *
 * Checks follow ZooKeeper's order (PrepRequestProcessor for writes,
 * FinalRequestProcessor for reads) because clients and the differential
 * test see which error comes first.
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"
#include "sasl.h"

/* EphemeralType: TTLs use the low 40 bits of ephemeralOwner. */
#define TTL_MAX_MS 0xffffffffffLL

/* ---------------- decoding ---------------- */

void zreq_free(struct zreq *q)
{
    free(q->pathz);
    zacl_list_free(&q->acl);
    memset(q, 0, sizeof *q);
}

static int decode_path(struct kr *r, struct zreq *q)
{
    q->path = jr_string(r);
    if (r->err || q->path.len < 0)
        return ZMARSHALLINGERROR;
    q->pathz = kstr_dup(q->path);
    return q->pathz ? ZOK : ZSYSTEMERROR;
}

int zreq_decode(int32_t op, struct kr *r, struct zreq *q)
{
    memset(q, 0, sizeof *q);
    q->op = op;
    q->ttl = -1;
    q->version = -1;
    int rc = decode_path(r, q);
    if (rc != ZOK)
        return rc;
    switch (op) {
    case ZOP_CREATE:
    case ZOP_CREATE2:
    case ZOP_CREATECONTAINER:
    case ZOP_CREATETTL:
        q->data = jr_buffer(r);
        jr_acl_list(r, &q->acl);
        q->flags = kr_i32(r);
        if (op == ZOP_CREATETTL)
            q->ttl = kr_i64(r);
        break;
    case ZOP_DELETE:
    case ZOP_CHECK:
        q->version = kr_i32(r);
        break;
    case ZOP_SETDATA:
        q->data = jr_buffer(r);
        q->version = kr_i32(r);
        break;
    case ZOP_SETACL:
        jr_acl_list(r, &q->acl);
        q->version = kr_i32(r);
        break;
    case ZOP_EXISTS:
    case ZOP_GETDATA:
    case ZOP_GETCHILDREN:
    case ZOP_GETCHILDREN2:
        q->watch = kr_bool(r);
        break;
    case ZOP_GETACL:
    case ZOP_SYNC:
    case ZOP_GETALLCHILDRENNUMBER:
    case ZOP_GETEPHEMERALS:
        break;
    case ZOP_ADDWATCH:
    case ZOP_REMOVEWATCHES:
    case ZOP_CHECKWATCHES:
        q->flags = kr_i32(r);  /* AddWatchMode / WatcherType */
        break;
    default:
        return ZUNIMPLEMENTED;
    }
    return r->err ? ZMARSHALLINGERROR : ZOK;
}

/* ---------------- helpers ---------------- */

static bool may(const struct ms_conn *c, const struct znode *n, int32_t perm)
{
    return acl_check(&n->acl, perm, &c->auth);
}

static bool version_ok(int32_t expected, int32_t current)
{
    return expected == -1 || expected == current;
}

/* "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config" cannot be
 * deleted (DataTree.isSpecialPath). */
static bool special_path(const char *p)
{
    return strcmp(p, "/") == 0 || strcmp(p, "/zookeeper") == 0 ||
           strcmp(p, "/zookeeper/quota") == 0 || strcmp(p, "/zookeeper/config") == 0;
}

static bool path_ok(const struct zreq *q)
{
    return zk_path_valid(q->path.p, (size_t)q->path.len);
}

static struct znode *node_of(struct ms_conn *c, const struct zreq *q)
{
    return tree_get(&c->srv->db.tree, q->path.p, (size_t)q->path.len);
}

/* fixupACL: providers are world, ip, digest, and sasl only when the SASL
 * provider is configured; "auth" expands to the caller's ids. */
static int fixup_acl(struct ms_conn *c, const struct zacl_list *in, struct zacl_list *out)
{
    for (int32_t i = 0; i < in->n; i++) {
        const char *sch = in->v[i].scheme;
        if (strcmp(sch, "super") == 0 ||
            (strcmp(sch, "sasl") == 0 && !c->srv->cfg->sasl_provider))
            return ZINVALIDACL;
    }
    return acl_fixup(in, &c->auth, out);
}

/* ---------------- write preparation ---------------- */

bool op_is_node_write(int32_t op)
{
    switch (op) {
    case ZOP_CREATE:
    case ZOP_CREATE2:
    case ZOP_CREATECONTAINER:
    case ZOP_CREATETTL:
    case ZOP_DELETE:
    case ZOP_SETDATA:
    case ZOP_SETACL:
    case ZOP_CHECK:
        return true;
    default:
        return false;
    }
}

/* CreateMode checks of validateCreateRequest; returns the ephemeralOwner
 * the node gets, or an error through *err. */
static int64_t create_owner(struct ms_conn *c, const struct zreq *q, int *err)
{
    int32_t f = q->flags;
    bool ttl_mode = f == ZMODE_TTL || f == ZMODE_TTL_SEQ;
    *err = ZOK;
    if (f < 0 || f > ZMODE_TTL_SEQ) {
        *err = ZBADARGUMENTS;
        return 0;
    }
    if (ttl_mode && !c->srv->cfg->extended_types) {
        *err = ZUNIMPLEMENTED;
        return 0;
    }
    if (ttl_mode ? (q->ttl <= 0 || q->ttl > TTL_MAX_MS) : q->ttl >= 0) {
        *err = ZBADARGUMENTS;
        return 0;
    }
    if ((q->op == ZOP_CREATECONTAINER) != (f == ZMODE_CONTAINER)) {
        *err = ZBADARGUMENTS;
        return 0;
    }
    if (f == ZMODE_EPHEMERAL || f == ZMODE_EPHEMERAL_SEQ)
        return c->sess ? c->sess->id : 0;
    if (f == ZMODE_CONTAINER)
        return ZK_CONTAINER_OWNER;
    if (ttl_mode)
        return ZK_TTL_MASK | q->ttl;
    return 0;
}

static bool ephemeral_normal(int64_t owner)
{
    return owner != 0 && owner != ZK_CONTAINER_OWNER && (owner & ZK_TTL_MASK) != ZK_TTL_MASK;
}

static int prep_create(struct ms_conn *c, const struct zreq *q, struct kw *txn,
                       struct wprep *out)
{
    struct tree *t = &c->srv->db.tree;
    bool seq = q->flags == ZMODE_PERSISTENT_SEQ || q->flags == ZMODE_EPHEMERAL_SEQ ||
               q->flags == ZMODE_TTL_SEQ;
    size_t len = (size_t)q->path.len;
    if (len + 16 > sizeof out->path)
        return ZBADARGUMENTS;
    /* A sequential path is validated with a digit appended ("/q/" is a
     * valid prefix), as ZooKeeper does. */
    memcpy(out->path, q->path.p, len);
    out->path[len] = '1';
    if (!zk_path_valid(out->path, len + (seq ? 1 : 0)))
        return ZBADARGUMENTS;
    int rc;
    int64_t owner = create_owner(c, q, &rc);
    if (rc != ZOK)
        return rc;
    const char *slash = memrchr(q->path.p, '/', len);
    if (!slash || len <= 1)
        return ZBADARGUMENTS;
    struct zacl_list acl;
    if ((rc = fixup_acl(c, &q->acl, &acl)) != ZOK)
        return rc;
    size_t plen = slash == q->path.p ? 1 : (size_t)(slash - q->path.p);
    struct znode *parent = tree_get(t, q->path.p, plen);
    if (!parent)
        rc = ZNONODE;
    else if (!may(c, parent, ZPERM_CREATE))
        rc = ZNOAUTH;
    if (rc == ZOK) {
        if (seq)
            snprintf(out->path + len, 16, "%010d", parent->st.cversion);
        else
            out->path[len] = 0;
        if (!zk_path_valid(out->path, strlen(out->path)))
            rc = ZBADARGUMENTS;
        else if (tree_getc(t, out->path))
            rc = ZNODEEXISTS;
        else if (ephemeral_normal(parent->st.ephemeral_owner))
            rc = ZNOCHILDRENFOREPHEMERALS;
    }
    if (rc == ZOK) {
        out->txn_type = ZOP_CREATE;
        jw_cstring(txn, out->path);
        jw_buffer(txn, q->data.p, q->data.len);
        jw_acl_list(txn, &acl);
        kw_i64(txn, owner);
    }
    zacl_list_free(&acl);
    return rc;
}

static int prep_delete(struct ms_conn *c, const struct zreq *q, struct kw *txn,
                       struct wprep *out)
{
    if (!path_ok(q) || special_path(q->pathz))
        return ZBADARGUMENTS;
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n->parent, ZPERM_DELETE))
        return ZNOAUTH;
    if (!version_ok(q->version, n->st.version))
        return ZBADVERSION;
    if (n->nchildren > 0)
        return ZNOTEMPTY;
    out->txn_type = ZOP_DELETE;
    snprintf(out->path, sizeof out->path, "%s", q->pathz);
    jw_cstring(txn, q->pathz);
    return ZOK;
}

static int prep_set_data(struct ms_conn *c, const struct zreq *q, struct kw *txn,
                         struct wprep *out)
{
    if (!path_ok(q))
        return ZBADARGUMENTS;
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n, ZPERM_WRITE))
        return ZNOAUTH;
    if (!version_ok(q->version, n->st.version))
        return ZBADVERSION;
    out->txn_type = ZOP_SETDATA;
    snprintf(out->path, sizeof out->path, "%s", q->pathz);
    jw_cstring(txn, q->pathz);
    jw_buffer(txn, q->data.p, q->data.len);
    return ZOK;
}

static int prep_set_acl(struct ms_conn *c, const struct zreq *q, struct kw *txn,
                        struct wprep *out)
{
    if (!path_ok(q))
        return ZBADARGUMENTS;
    struct zacl_list acl;
    int rc = fixup_acl(c, &q->acl, &acl);
    if (rc != ZOK)
        return rc;
    struct znode *n = node_of(c, q);
    if (!n)
        rc = ZNONODE;
    else if (!may(c, n, ZPERM_ADMIN))
        rc = ZNOAUTH;
    else if (!version_ok(q->version, n->st.aversion))
        rc = ZBADVERSION;
    if (rc == ZOK) {
        out->txn_type = ZOP_SETACL;
        snprintf(out->path, sizeof out->path, "%s", q->pathz);
        jw_cstring(txn, q->pathz);
        jw_acl_list(txn, &acl);
    }
    zacl_list_free(&acl);
    return rc;
}

static int prep_check(struct ms_conn *c, const struct zreq *q, struct kw *txn,
                      struct wprep *out)
{
    if (!path_ok(q))
        return ZBADARGUMENTS;
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n, ZPERM_READ))
        return ZNOAUTH;
    if (!version_ok(q->version, n->st.version))
        return ZBADVERSION;
    out->txn_type = ZOP_CHECK;
    snprintf(out->path, sizeof out->path, "%s", q->pathz);
    jw_cstring(txn, q->pathz);
    return ZOK;
}

int prep_write(struct ms_conn *c, const struct zreq *q, struct kw *txn, struct wprep *out)
{
    out->path[0] = 0;
    switch (q->op) {
    case ZOP_CREATE:
    case ZOP_CREATE2:
    case ZOP_CREATECONTAINER:
    case ZOP_CREATETTL:
        return prep_create(c, q, txn, out);
    case ZOP_DELETE:
        return prep_delete(c, q, txn, out);
    case ZOP_SETDATA:
        return prep_set_data(c, q, txn, out);
    case ZOP_SETACL:
        return prep_set_acl(c, q, txn, out);
    case ZOP_CHECK:
        return prep_check(c, q, txn, out);
    default:
        return ZUNIMPLEMENTED;
    }
}

void write_response(struct kw *w, int32_t op, const char *path, const struct zstat *stat)
{
    switch (op) {
    case ZOP_CREATE:
        jw_cstring(w, path);
        break;
    case ZOP_CREATE2:
    case ZOP_CREATECONTAINER:
    case ZOP_CREATETTL:
        jw_cstring(w, path);
        jw_stat(w, stat);
        break;
    case ZOP_SETDATA:
    case ZOP_SETACL:
        jw_stat(w, stat);
        break;
    default:
        break;
    }
}

static void handle_write(struct ms_conn *c, int32_t xid, int32_t op, struct kr *r)
{
    struct ms_server *s = c->srv;
    struct zreq q;
    struct wprep p;
    struct kw txn;
    kw_init(&txn, NULL);
    int rc = zreq_decode(op, r, &q);
    if (rc == ZOK)
        rc = prep_write(c, &q, &txn, &p);
    int64_t zxid;
    rc = ms_commit(s, c->sess->id, xid, rc == ZOK ? p.txn_type : ZOP_ERROR, &txn, rc, &zxid);
    struct kw body;
    kw_init(&body, NULL);
    if (rc == ZOK) {
        struct znode *n = tree_getc(&s->db.tree, p.path);
        struct zstat st;
        memset(&st, 0, sizeof st);
        if (n)
            znode_stat(n, &st);
        write_response(&body, op, p.path, &st);
    }
    ms_reply(c, xid, zxid, rc, &body);
    kw_free(&body);
    kw_free(&txn);
    zreq_free(&q);
}

/* ---------------- reads ---------------- */

static void add_watch(struct ms_conn *c, bool child, const char *path, uint8_t mode)
{
    struct ms_server *s = c->srv;
    if (watch_add(child ? &s->cwatch : &s->dwatch, path, c, mode) != 0)
        KLOG_WARN("out of memory adding a watch on %s", path);
}

int read_get_data(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n, ZPERM_READ))
        return ZNOAUTH;
    if (q->watch)
        add_watch(c, false, n->path, WMODE_STANDARD);
    struct zstat st;
    znode_stat(n, &st);
    jw_buffer(w, n->data, n->dlen);
    jw_stat(w, &st);
    return ZOK;
}

int read_get_children(struct ms_conn *c, const struct zreq *q, struct kw *w, bool with_stat)
{
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n, ZPERM_READ))
        return ZNOAUTH;
    if (q->watch)
        add_watch(c, true, n->path, WMODE_STANDARD);
    kw_i32(w, n->nchildren);
    for (struct znode *ch = n->child_head; ch; ch = ch->next_sib)
        jw_cstring(w, ch->name);
    if (with_stat) {
        struct zstat st;
        znode_stat(n, &st);
        jw_stat(w, &st);
    }
    return ZOK;
}

static int read_exists(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    struct znode *n = node_of(c, q);
    /* exists watches even a missing node: it fires NodeCreated. */
    if (q->watch)
        add_watch(c, false, q->pathz, WMODE_STANDARD);
    if (!n)
        return ZNONODE;
    struct zstat st;
    znode_stat(n, &st);
    jw_stat(w, &st);
    return ZOK;
}

/* getACL needs READ or ADMIN; without ADMIN digest passwords are hidden. */
static int read_get_acl(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n, ZPERM_READ | ZPERM_ADMIN))
        return ZNOAUTH;
    bool admin = may(c, n, ZPERM_ADMIN);
    kw_i32(w, n->acl.n);
    for (int32_t i = 0; i < n->acl.n; i++) {
        const struct zacl *a = &n->acl.v[i];
        kw_i32(w, a->perms);
        jw_cstring(w, a->scheme);
        const char *colon = strchr(a->id, ':');
        if (!admin && strcmp(a->scheme, "digest") == 0 && colon) {
            kw_i32(w, (int32_t)(colon - a->id) + 2);
            kw_raw(w, a->id, (size_t)(colon - a->id));
            kw_raw(w, ":x", 2);
        } else {
            jw_cstring(w, a->id);
        }
    }
    struct zstat st;
    znode_stat(n, &st);
    jw_stat(w, &st);
    return ZOK;
}

static int read_all_children_number(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    struct znode *n = node_of(c, q);
    if (!n)
        return ZNONODE;
    if (!may(c, n, ZPERM_READ))
        return ZNOAUTH;
    kw_i32(w, tree_count_descendants(n));
    return ZOK;
}

static int read_ephemerals(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    const char *prefix = q->pathz;
    while (*prefix == ' ')
        prefix++;
    if (!*prefix || strcmp(prefix, "/") == 0)
        prefix = NULL;
    char **paths;
    int n = db_ephemerals(&c->srv->db, c->sess->id, prefix, &paths);
    if (n < 0)
        return ZSYSTEMERROR;
    kw_i32(w, n);
    for (int i = 0; i < n; i++)
        jw_cstring(w, paths[i]);
    db_free_paths(paths, n);
    return ZOK;
}

/* addWatch: PERSISTENT (0) goes in both tables, PERSISTENT_RECURSIVE (1)
 * in the data table only (WatchManager). */
static int do_add_watch(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    if (q->flags == 0) {
        add_watch(c, false, q->pathz, WMODE_PERSISTENT);
        add_watch(c, true, q->pathz, WMODE_PERSISTENT);
    } else if (q->flags == 1) {
        add_watch(c, false, q->pathz, WMODE_RECURSIVE);
    } else {
        return ZBADARGUMENTS;
    }
    /* ZooKeeper answers addWatch with an ErrorResponse {int err} of 0
     * (FinalRequestProcessor: rsp = new ErrorResponse(0)); the Java client
     * reads it (ZooKeeper.addWatch submits with new ErrorResponse()), and
     * without it hits EOF and drops the connection. */
    kw_i32(w, 0);
    return ZOK;
}

/* checkWatches / removeWatches; WatcherType Children 1, Data 2, Any 3. */
static int do_watches(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    (void)w;
    struct ms_server *s = c->srv;
    int32_t type = q->flags;
    if (type < 1 || type > 3)
        return ZBADARGUMENTS;
    bool child = type & 1, data = type & 2;
    if (q->op == ZOP_CHECKWATCHES) {
        bool has = (child && watch_has(&s->cwatch, q->pathz, c, 0xff)) ||
                   (data && watch_has(&s->dwatch, q->pathz, c, 0xff));
        return has ? ZOK : ZNOWATCHER;
    }
    bool removed = false;
    if (child)
        removed |= watch_remove(&s->cwatch, q->pathz, c, 0xff);
    if (data)
        removed |= watch_remove(&s->dwatch, q->pathz, c, 0xff);
    return removed ? ZOK : ZNOWATCHER;
}

static int do_sync(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    (void)c;
    jw_string(w, q->path.p, (size_t)q->path.len);
    return ZOK;
}

static int do_get_data(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    return read_get_data(c, q, w);
}

static int do_get_children(struct ms_conn *c, const struct zreq *q, struct kw *w)
{
    return read_get_children(c, q, w, q->op == ZOP_GETCHILDREN2);
}

typedef int (*read_fn)(struct ms_conn *c, const struct zreq *q, struct kw *w);

static void handle_read(struct ms_conn *c, int32_t xid, int32_t op, struct kr *r, read_fn fn)
{
    struct zreq q;
    struct kw body;
    kw_init(&body, NULL);
    int rc = zreq_decode(op, r, &q);
    if (rc == ZOK)
        rc = fn(c, &q, &body);
    ms_reply(c, xid, c->srv->db.last_zxid, rc, &body);
    kw_free(&body);
    zreq_free(&q);
}

/* ---------------- setWatches ---------------- */

/* A watch re-registered after a reconnect fires at once when the change
 * it waited for happened while the client was away (DataTree.setWatches).
 * kind: 0 data, 1 exist, 2 child, 3 persistent, 4 persistent recursive. */
static void set_one_watch(struct ms_conn *c, int kind, const char *path, int64_t rel)
{
    struct znode *n = tree_getc(&c->srv->db.tree, path);
    switch (kind) {
    case 0:
        if (!n)
            ms_notify(c, ZEV_DELETED, path, -1);
        else if (n->st.mzxid > rel)
            ms_notify(c, ZEV_DATACHANGED, path, -1);
        else
            add_watch(c, false, path, WMODE_STANDARD);
        break;
    case 1:
        if (n)
            ms_notify(c, ZEV_CREATED, path, -1);
        else
            add_watch(c, false, path, WMODE_STANDARD);
        break;
    case 2:
        if (!n)
            ms_notify(c, ZEV_DELETED, path, -1);
        else if (n->st.pzxid > rel)
            ms_notify(c, ZEV_CHILDCHANGED, path, -1);
        else
            add_watch(c, true, path, WMODE_STANDARD);
        break;
    case 3:
        add_watch(c, false, path, WMODE_PERSISTENT);
        add_watch(c, true, path, WMODE_PERSISTENT);
        break;
    default:
        add_watch(c, false, path, WMODE_RECURSIVE);
    }
}

static void handle_set_watches(struct ms_conn *c, int32_t xid, int32_t op, struct kr *r)
{
    int64_t rel = kr_i64(r);
    int kinds = op == ZOP_SETWATCHES2 ? 5 : 3;
    /* Decode everything first: a malformed request changes nothing. */
    struct kr scan = *r;
    for (int k = 0; k < kinds && !scan.err; k++) {
        int32_t n = jr_vec_len(&scan, 4);
        for (int32_t i = 0; i < n && !scan.err; i++)
            (void)jr_string(&scan);
    }
    if (r->err || scan.err) {
        ms_reply(c, xid, c->srv->db.last_zxid, ZMARSHALLINGERROR, NULL);
        return;
    }
    for (int k = 0; k < kinds; k++) {
        int32_t n = jr_vec_len(r, 4);
        for (int32_t i = 0; i < n; i++) {
            char *p = jr_string_dup(r);
            if (p)
                set_one_watch(c, k, p, rel);
            free(p);
        }
    }
    ms_reply(c, xid, c->srv->db.last_zxid, ZOK, NULL);
}

/* ---------------- auth ---------------- */

static void fail_auth(struct ms_conn *c, int32_t xid, int err)
{
    ms_reply(c, xid, 0, err, NULL);
    ms_conn_close_after_flush(c);
}

/* addauth: only the digest provider; anything else is AUTHFAILED and the
 * connection is closed, as ZooKeeper does. */
static void handle_auth(struct ms_conn *c, int32_t xid, struct kr *r)
{
    (void)kr_i32(r);
    char *scheme = jr_string_dup(r);
    struct kbytes auth = jr_buffer(r);
    int rc = ZAUTHFAILED;
    if (!r->err && scheme && strcmp(scheme, "digest") == 0 && auth.len >= 0) {
        char *id = acl_digest((const char *)auth.p, (size_t)auth.len);
        const char *super = c->srv->cfg->super_digest;
        if (id && zid_list_add(&c->auth, "digest", id) == 0) {
            rc = ZOK;
            if (super && strcmp(super, id) == 0)
                zid_list_add(&c->auth, "super", "");
        }
        free(id);
    }
    if (rc != ZOK)
        KLOG_WARN("authentication failed for scheme %s from %s:%d", scheme ? scheme : "?",
                  c->ip, c->port);
    free(scheme);
    if (rc == ZOK)
        ms_reply(c, xid, 0, ZOK, NULL);
    else
        fail_auth(c, xid, rc);
}

static void handle_sasl(struct ms_conn *c, int32_t xid, struct kr *r)
{
    struct ms_server *s = c->srv;
    struct kbytes tok = jr_buffer(r);
    uint8_t *out = NULL;
    size_t outlen = 0;
    const char *user = NULL;
    enum sasl_step st = SASL_FAILED;
    if (!r->err)
        st = sasl_step(&c->sasl, s->sasl_users, tok.p, tok.len > 0 ? (size_t)tok.len : 0, &out,
                       &outlen, &user);
    if (st == SASL_FAILED) {
        free(out);
        KLOG_WARN("SASL authentication failed from %s:%d", c->ip, c->port);
        /* ZooKeeper answers a failed SASL step with its error code AND a
         * SetSASLResponse with a null token before closing: the Java client
         * reads that token while authenticating whatever the error
         * (ClientCnxn.readResponse -> GetSASLRequest.deserialize), and
         * without it hits EOF (ConnectionLoss, reconnect) instead of
         * AuthFailed. ms_reply sends no body with an error, so by hand. */
        struct kw w;
        kw_init(&w, NULL);
        jw_reply_header(&w, xid, 0,
                        s->cfg->require_sasl ? ZSESSIONCLOSEDREQUIRESASLAUTH : ZAUTHFAILED);
        jw_buffer(&w, NULL, -1);
        if (!w.err)
            ms_conn_send(c, w.buf, w.len);
        kw_free(&w);
        ms_conn_close_after_flush(c);
        return;
    }
    if (st == SASL_DONE && !c->sasl_ok) {
        c->sasl_ok = true;
        zid_list_add(&c->auth, "sasl", user);
        KLOG_INFO("SASL: %s:%d authenticated as %s", c->ip, c->port, user);
    }
    struct kw body;
    kw_init(&body, NULL);
    jw_buffer(&body, out, (int32_t)outlen);
    ms_reply(c, xid, s->db.last_zxid, ZOK, &body);
    kw_free(&body);
    free(out);
}

static void handle_who_am_i(struct ms_conn *c, int32_t xid)
{
    struct kw body;
    kw_init(&body, NULL);
    int32_t n = 0;
    for (size_t i = 0; i < c->auth.n; i++)
        n += strcmp(c->auth.v[i].scheme, "super") != 0;
    kw_i32(&body, n);
    for (size_t i = 0; i < c->auth.n; i++) {
        const struct zid *id = &c->auth.v[i];
        if (strcmp(id->scheme, "super") == 0)
            continue;
        jw_cstring(&body, id->scheme);
        /* digest ids show the user name only */
        size_t ulen = strcmp(id->scheme, "digest") == 0 ? strcspn(id->id, ":") : strlen(id->id);
        jw_string(&body, id->id, ulen);
    }
    ms_reply(c, xid, c->srv->db.last_zxid, ZOK, &body);
    kw_free(&body);
}

/* ---------------- dispatch ---------------- */

static void handle_close(struct ms_conn *c, int32_t xid)
{
    struct ms_server *s = c->srv;
    int64_t zxid = ms_close_session(s, c->sess, xid);
    ms_reply(c, xid, zxid, ZOK, NULL);
    ms_conn_close_after_flush(c);
}

static const struct read_op {
    int32_t op;
    const char *name;
    read_fn fn;
} read_ops[] = {
    { ZOP_EXISTS, "exists", read_exists },
    { ZOP_GETDATA, "getData", do_get_data },
    { ZOP_GETCHILDREN, "getChildren", do_get_children },
    { ZOP_GETCHILDREN2, "getChildren2", do_get_children },
    { ZOP_GETACL, "getACL", read_get_acl },
    { ZOP_SYNC, "sync", do_sync },
    { ZOP_GETALLCHILDRENNUMBER, "getAllChildrenNumber", read_all_children_number },
    { ZOP_GETEPHEMERALS, "getEphemerals", read_ephemerals },
    { ZOP_ADDWATCH, "addWatch", do_add_watch },
    { ZOP_CHECKWATCHES, "checkWatches", do_watches },
    { ZOP_REMOVEWATCHES, "removeWatches", do_watches },
};

static const struct read_op *find_read_op(int32_t op)
{
    for (size_t i = 0; i < sizeof read_ops / sizeof read_ops[0]; i++)
        if (read_ops[i].op == op)
            return &read_ops[i];
    return NULL;
}

/* enforce.auth / requireClientAuthScheme=sasl: before SASL succeeds only
 * the handshake itself, pings and closing are served. */
static bool auth_required(const struct ms_conn *c, int32_t type)
{
    return c->srv->cfg->require_sasl && !c->sasl_ok && type != ZOP_SASL && type != ZOP_PING &&
           type != ZOP_CLOSESESSION;
}

void ms_handle_request(struct ms_conn *c, int32_t xid, int32_t type, struct kr *r)
{
    if (!c->sess) {
        ms_conn_close_after_flush(c);
        return;
    }
    if (auth_required(c, type)) {
        KLOG_WARN("%s:%d: request %d before SASL authentication; closing", c->ip, c->port, type);
        fail_auth(c, xid, ZSESSIONCLOSEDREQUIRESASLAUTH);
        return;
    }
    const struct read_op *ro = find_read_op(type);
    if (ro) {
        c->last_op = ro->name;
        handle_read(c, xid, type, r, ro->fn);
        return;
    }
    if (op_is_node_write(type)) {
        c->last_op = "write";
        handle_write(c, xid, type, r);
        return;
    }
    switch (type) {
    case ZOP_PING:
        c->last_op = "PING";
        ms_reply(c, xid, c->srv->db.last_zxid, ZOK, NULL);
        return;
    case ZOP_CLOSESESSION:
        c->last_op = "CLOSE";
        handle_close(c, xid);
        return;
    case ZOP_MULTI:
        c->last_op = "multi";
        handle_multi(c, xid, r);
        return;
    case ZOP_MULTIREAD:
        c->last_op = "multiRead";
        handle_multi_read(c, xid, r);
        return;
    case ZOP_SETWATCHES:
    case ZOP_SETWATCHES2:
        c->last_op = "setWatches";
        handle_set_watches(c, xid, type, r);
        return;
    case ZOP_AUTH:
        c->last_op = "auth";
        handle_auth(c, xid, r);
        return;
    case ZOP_SASL:
        c->last_op = "sasl";
        handle_sasl(c, xid, r);
        return;
    case ZOP_WHOAMI:
        c->last_op = "whoAmI";
        handle_who_am_i(c, xid);
        return;
    default:
        /* UnimplementedRequestProcessor: answer, then drop the link. */
        KLOG_WARN("%s:%d: unknown request type %d; closing", c->ip, c->port, type);
        ms_reply(c, xid, 0, ZUNIMPLEMENTED, NULL);
        ms_conn_close_after_flush(c);
    }
}
