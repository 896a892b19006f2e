/*
 * db.c — see db.h.
 */
#include "db.h"

#include <stdlib.h>
#include <string.h>

int db_init(struct ms_db *db)
{
    memset(db, 0, sizeof *db);
    return tree_init(&db->tree);
}

int db_init_bare(struct ms_db *db)
{
    memset(db, 0, sizeof *db);
    return tree_init_bare(&db->tree);
}

void db_free(struct ms_db *db)
{
    tree_free(&db->tree);
    struct ms_session *s = db->sessions;
    while (s) {
        struct ms_session *next = s->next;
        free(s);
        s = next;
    }
    db->sessions = NULL;
    db->nsessions = 0;
}

struct ms_session *db_session(const struct ms_db *db, int64_t id)
{
    for (struct ms_session *s = db->sessions; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

struct ms_session *db_session_add(struct ms_db *db, int64_t id, int32_t timeout,
                                  const uint8_t passwd[16])
{
    struct ms_session *s = db_session(db, id);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        s->id = id;
        s->next = db->sessions;
        db->sessions = s;
        db->nsessions++;
    }
    s->timeout = timeout;
    memcpy(s->passwd, passwd, 16);
    return s;
}

static void session_remove(struct ms_db *db, int64_t id)
{
    for (struct ms_session **pp = &db->sessions; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct ms_session *s = *pp;
            *pp = s->next;
            free(s);
            db->nsessions--;
            return;
        }
    }
}

void txn_write_hdr(struct kw *w, const struct txn_hdr *h)
{
    kw_i64(w, h->zxid);
    kw_i64(w, h->session);
    kw_i32(w, h->cxid);
    kw_i64(w, h->time);
    kw_i32(w, h->type);
}

/* ---------------- ephemerals ---------------- */

struct eph_ctx {
    int64_t session;
    const char *prefix;
    size_t prefix_len;
    char **v;
    int n, cap;
    bool oom;
};

static int eph_visit(struct znode *n, void *arg)
{
    struct eph_ctx *c = arg;
    if (n->st.ephemeral_owner != c->session)
        return 0;
    if (c->prefix && strncmp(n->path, c->prefix, c->prefix_len) != 0)
        return 0;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 8;
        char **v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return 1;
        }
        c->v = v;
        c->cap = cap;
    }
    if (!(c->v[c->n] = strdup(n->path))) {
        c->oom = true;
        return 1;
    }
    c->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int db_ephemerals(struct ms_db *db, int64_t session, const char *prefix, char ***out)
{
    struct eph_ctx c = { session, prefix, prefix ? strlen(prefix) : 0, NULL, 0, 0, false };
    if (session == 0)
        return *out = NULL, 0;
    tree_walk(&db->tree, eph_visit, &c);
    if (c.oom) {
        db_free_paths(c.v, c.n);
        return -1;
    }
    if (c.n > 1)
        qsort(c.v, (size_t)c.n, sizeof *c.v, cmp_str);
    *out = c.v;
    return c.n;
}

void db_free_paths(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* ---------------- apply ---------------- */

static int apply_close_session(struct ms_db *db, const struct txn_hdr *h)
{
    char **paths;
    int n = db_ephemerals(db, h->session, NULL, &paths);
    if (n < 0)
        return ZSYSTEMERROR;
    for (int i = 0; i < n; i++)
        (void)tree_delete(&db->tree, paths[i], h->zxid);
    db_free_paths(paths, n);
    session_remove(db, h->session);
    return ZOK;
}

static int apply_multi(struct ms_db *db, const struct txn_hdr *h, struct kr *r)
{
    int32_t count = kr_i32(r);
    if (r->err || count < 0)
        return ZMARSHALLINGERROR;
    bool outer = !db->tree.recording;
    if (outer)
        tree_begin(&db->tree);
    int rc = ZOK;
    for (int32_t i = 0; i < count && rc == ZOK; i++) {
        int32_t type = kr_i32(r);
        rc = r->err ? ZMARSHALLINGERROR : db_apply_body(db, h, type, r);
    }
    if (outer) {
        if (rc == ZOK)
            tree_commit(&db->tree);
        else
            tree_rollback(&db->tree);
    }
    return rc;
}

int db_apply_body(struct ms_db *db, const struct txn_hdr *h, int32_t type, struct kr *r)
{
    int rc = ZOK;
    char *path = NULL;
    struct zacl_list acl = { 0, NULL };
    struct kbytes data;
    switch (type) {
    case ZOP_CREATE:
        path = jr_string_dup(r);
        data = jr_buffer(r);
        jr_acl_list(r, &acl);
        int64_t owner = kr_i64(r);
        if (r->err || !path)
            rc = ZMARSHALLINGERROR;
        else
            rc = tree_create(&db->tree, path, data.p, data.len, &acl, owner, h->zxid, h->time);
        break;
    case ZOP_DELETE:
        path = jr_string_dup(r);
        rc = (r->err || !path) ? ZMARSHALLINGERROR : tree_delete(&db->tree, path, h->zxid);
        break;
    case ZOP_SETDATA:
        path = jr_string_dup(r);
        data = jr_buffer(r);
        if (r->err || !path)
            rc = ZMARSHALLINGERROR;
        else
            rc = tree_set_data(&db->tree, path, data.p, data.len, h->zxid, h->time);
        break;
    case ZOP_SETACL:
        path = jr_string_dup(r);
        jr_acl_list(r, &acl);
        rc = (r->err || !path) ? ZMARSHALLINGERROR : tree_set_acl(&db->tree, path, &acl);
        break;
    case ZOP_CHECK:
        path = jr_string_dup(r);
        rc = (r->err || !path) ? ZMARSHALLINGERROR : ZOK;
        break;
    case ZOP_MULTI:
        rc = apply_multi(db, h, r);
        break;
    case ZOP_CREATESESSION: {
        int32_t timeout = kr_i32(r);
        struct kbytes pw = jr_buffer(r);
        if (r->err || pw.len != 16)
            rc = ZMARSHALLINGERROR;
        else if (!db_session_add(db, h->session, timeout, pw.p))
            rc = ZSYSTEMERROR;
        break;
    }
    case ZOP_CLOSESESSION:
        rc = apply_close_session(db, h);
        break;
    case ZOP_ERROR:
        (void)kr_i32(r);
        rc = r->err ? ZMARSHALLINGERROR : ZOK;
        break;
    default:
        rc = ZMARSHALLINGERROR;
    }
    free(path);
    zacl_list_free(&acl);
    return rc;
}

int db_apply(struct ms_db *db, const uint8_t *p, size_t n, struct txn_hdr *hdr_out)
{
    struct kr r;
    kr_init(&r, p, n);
    struct txn_hdr h;
    h.zxid = kr_i64(&r);
    h.session = kr_i64(&r);
    h.cxid = kr_i32(&r);
    h.time = kr_i64(&r);
    h.type = kr_i32(&r);
    if (hdr_out)
        *hdr_out = h;
    if (r.err)
        return ZMARSHALLINGERROR;
    int rc = db_apply_body(db, &h, h.type, &r);
    /* The zxid is taken whether or not the txn changed anything: failed
     * writes are logged as ERROR txns and still advance it. */
    if (rc == ZOK && h.zxid > db->last_zxid)
        db->last_zxid = h.zxid;
    return rc;
}
