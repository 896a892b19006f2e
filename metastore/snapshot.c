/*
 * snapshot.c — see snapshot.h.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fileio.h"
#include "klog.h"
#include "txnlog.h"

/* ---------------- write ---------------- */

static int write_node(struct znode *n, void *arg)
{
    struct kw *w = arg;
    jw_string(w, n->path, n->plen);
    jw_buffer(w, n->data, n->dlen);
    jw_acl_list(w, &n->acl);
    kw_i64(w, n->st.czxid);
    kw_i64(w, n->st.mzxid);
    kw_i64(w, n->st.ctime);
    kw_i64(w, n->st.mtime);
    kw_i32(w, n->st.version);
    kw_i32(w, n->st.cversion);
    kw_i32(w, n->st.aversion);
    kw_i64(w, n->st.ephemeral_owner);
    kw_i64(w, n->st.pzxid);
    return w->err ? 1 : 0;
}

int snapshot_write(struct ms_db *db, const char *dir)
{
    struct kw w;
    kw_init(&w, NULL);
    kw_raw(&w, SNAP_MAGIC, 8);
    kw_i64(&w, db->last_zxid);
    kw_i32(&w, db->nsessions);
    for (struct ms_session *s = db->sessions; s; s = s->next) {
        kw_i64(&w, s->id);
        kw_i32(&w, s->timeout);
        jw_buffer(&w, s->passwd, 16);
    }
    kw_i32(&w, (int32_t)db->tree.count);
    tree_walk(&db->tree, write_node, &w);
    if (w.err) {
        kw_free(&w);
        return -1;
    }
    kw_u32(&w, crc32c(0, w.buf, w.len));
    char path[4096];
    snprintf(path, sizeof path, "%s/snapshot.%016" PRIx64, dir, (uint64_t)db->last_zxid);
    int rc = w.err ? -1 : atomic_write_file(path, w.buf, w.len, 0644);
    if (rc != 0)
        KLOG_ERROR("snapshot: writing %s: %s", path, strerror(errno));
    kw_free(&w);
    return rc;
}

/* ---------------- load ---------------- */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int load_nodes(struct ms_db *db, struct kr *r)
{
    int32_t nn = kr_i32(r);
    for (int32_t i = 0; i < nn && !r->err; i++) {
        char *path = jr_string_dup(r);
        struct kbytes data = jr_buffer(r);
        struct zacl_list acl;
        jr_acl_list(r, &acl);
        struct zstat st;
        memset(&st, 0, sizeof st);
        st.czxid = kr_i64(r);
        st.mzxid = kr_i64(r);
        st.ctime = kr_i64(r);
        st.mtime = kr_i64(r);
        st.version = kr_i32(r);
        st.cversion = kr_i32(r);
        st.aversion = kr_i32(r);
        st.ephemeral_owner = kr_i64(r);
        st.pzxid = kr_i64(r);
        int rc = (r->err || !path) ? -1
                 : tree_insert_raw(&db->tree, path, data.p, data.len, &acl, &st);
        free(path);
        zacl_list_free(&acl);
        if (rc != 0)
            return -1;
    }
    return r->err ? -1 : 0;
}

int snapshot_load(struct ms_db *db, const char *path)
{
    size_t len;
    uint8_t *buf = slurp(path, &len);
    if (!buf)
        return -1;
    int rc = -1;
    struct kr r;
    if (len < 8 + 8 + 4 + 4 + 4 || memcmp(buf, SNAP_MAGIC, 8) != 0)
        goto out;
    kr_init(&r, buf + len - 4, 4);
    if (kr_u32(&r) != crc32c(0, buf, len - 4))
        goto out;
    kr_init(&r, buf + 8, len - 12);
    db->last_zxid = kr_i64(&r);
    int32_t ns = kr_i32(&r);
    for (int32_t i = 0; i < ns && !r.err; i++) {
        int64_t id = kr_i64(&r);
        int32_t to = kr_i32(&r);
        struct kbytes pw = jr_buffer(&r);
        if (r.err || pw.len != 16 || !db_session_add(db, id, to, pw.p))
            goto out;
    }
    if (r.err || load_nodes(db, &r) != 0 || kr_left(&r) != 0)
        goto out;
    rc = 0;
out:
    free(buf);
    return rc;
}

/* ---------------- recovery ---------------- */

static int replay_one(void *arg, const uint8_t *p, size_t n)
{
    struct ms_db *db = arg;
    struct kr r;
    kr_init(&r, p, n);
    int64_t zxid = kr_i64(&r);
    if (r.err)
        return -1;
    if (zxid <= db->last_zxid)
        return 0;  /* already in the snapshot */
    struct txn_hdr h;
    int rc = db_apply(db, p, n, &h);
    tree_clear_events(&db->tree);
    /* A txn that fails now failed the same way when it was logged only if
     * it is an ERROR txn; anything else means the log and tree disagree. */
    if (rc != ZOK) {
        KLOG_WARN("recovery: txn zxid 0x%" PRIx64 " type %d failed: %s",
                  (uint64_t)zxid, h.type, zk_err_name(rc));
        db->last_zxid = zxid;
    }
    return 0;
}

int db_recover(struct ms_db *db, const char *data_dir, const char *log_dir)
{
    int64_t *snaps;
    int ns = txnlog_list(data_dir, "snapshot.", &snaps);
    if (ns < 0)
        return -1;
    bool loaded = false;
    for (int i = ns - 1; i >= 0 && !loaded; i--) {
        char path[4096];
        snprintf(path, sizeof path, "%s/snapshot.%016" PRIx64, data_dir, (uint64_t)snaps[i]);
        if (db_init_bare(db) != 0) {
            free(snaps);
            return -1;
        }
        if (snapshot_load(db, path) == 0) {
            KLOG_INFO("recovery: loaded %s (zxid 0x%" PRIx64 ", %zu nodes, %d sessions)",
                      path, (uint64_t)db->last_zxid, db->tree.count, db->nsessions);
            loaded = true;
        } else {
            KLOG_WARN("recovery: %s is not a valid snapshot; trying an older one", path);
            db_free(db);
        }
    }
    free(snaps);
    if (!loaded && db_init(db) != 0)
        return -1;
    long n = txnlog_replay(log_dir, replay_one, db);
    if (n < 0) {
        db_free(db);
        return -1;
    }
    KLOG_INFO("recovery: read %ld log records; last zxid 0x%" PRIx64, n, (uint64_t)db->last_zxid);
    return 0;
}

/* ---------------- purge ---------------- */

static int unlink_named(const char *dir, const char *prefix, int64_t z)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%016" PRIx64, dir, prefix, (uint64_t)z);
    if (unlink(path) != 0)
        return 0;
    KLOG_INFO("purge: removed %s", path);
    return 1;
}

int snapshot_purge(const char *data_dir, const char *log_dir, int retain)
{
    if (retain < 3)
        retain = 3;
    int64_t *snaps, *logs;
    int ns = txnlog_list(data_dir, "snapshot.", &snaps);
    if (ns < 0)
        return -1;
    if (ns <= retain) {
        free(snaps);
        return 0;
    }
    int nl = txnlog_list(log_dir, "log.", &logs);
    if (nl < 0) {
        free(snaps);
        return -1;
    }
    int64_t oldest_kept = snaps[ns - retain];
    int deleted = 0;
    for (int i = 0; i < ns - retain; i++)
        deleted += unlink_named(data_dir, "snapshot.", snaps[i]);
    /* The newest log starting at or before the oldest kept snapshot may
     * hold txns after it; every log before that one is not needed. */
    int keep_from = 0;
    for (int i = 0; i < nl; i++)
        if (logs[i] <= oldest_kept)
            keep_from = i;
    for (int i = 0; i < keep_from; i++)
        deleted += unlink_named(log_dir, "log.", logs[i]);
    free(snaps);
    free(logs);
    return deleted;
}
