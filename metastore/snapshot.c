/*
 * snapshot.c — see snapshot.h.
 */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "crc32c.h"
#include "fileio.h"
#include "klog.h"
#include "txnlog.h"

/* ---------------- write ---------------- */

/* The file is streamed in pieces of about this size, the CRC chained over
 * them, so writing needs no second copy of the tree in memory. */
#define SNAP_CHUNK (1u << 20)

struct snap_out {
    int fd;
    struct kw w;
    uint32_t crc;
    int err;  /* errno of the first failure */
};

static int snap_flush(struct snap_out *o)
{
    if (o->err)
        return -1;
    if (o->w.err) {
        o->err = ENOMEM;
        return -1;
    }
    o->crc = crc32c(o->crc, o->w.buf, o->w.len);
    if (fio_write_full(o->fd, o->w.buf, o->w.len) != 0) {
        o->err = errno ? errno : EIO;
        return -1;
    }
    o->w.len = 0;
    return 0;
}

static int write_node(struct znode *n, void *arg)
{
    struct snap_out *o = arg;
    struct kw *w = &o->w;
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
    if (w->err) {
        o->err = ENOMEM;
        return 1;
    }
    if (w->len >= SNAP_CHUNK && snap_flush(o) != 0)
        return 1;
    return 0;
}

static void snap_paths(char *path, char *tmp, size_t cap, const char *dir, int64_t zxid)
{
    snprintf(path, cap, "%s/snapshot.%016" PRIx64, dir, (uint64_t)zxid);
    snprintf(tmp, cap, "%s/snapshot.%016" PRIx64 ".tmp", dir, (uint64_t)zxid);
}

int snapshot_write_file(struct ms_db *db, const char *dir)
{
    char path[4096], tmp[4096];
    snap_paths(path, tmp, sizeof path, dir, db->last_zxid);
    struct snap_out o = { .fd = -1 };
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o.fd < 0)
        return -1;
    kw_init(&o.w, NULL);
    kw_raw(&o.w, SNAP_MAGIC, 8);
    kw_i64(&o.w, db->last_zxid);
    kw_i32(&o.w, db->nsessions);
    for (struct ms_session *s = db->sessions; s; s = s->next) {
        kw_i64(&o.w, s->id);
        kw_i32(&o.w, s->timeout);
        jw_buffer(&o.w, s->passwd, 16);
    }
    kw_i32(&o.w, (int32_t)db->tree.count);
    if (o.w.err)
        o.err = ENOMEM;
    if (!o.err)
        tree_walk(&db->tree, write_node, &o);
    if (!o.err && snap_flush(&o) == 0) {
        uint8_t trailer[4] = { (uint8_t)(o.crc >> 24), (uint8_t)(o.crc >> 16),
                               (uint8_t)(o.crc >> 8), (uint8_t)o.crc };
        if (fio_write_full(o.fd, trailer, 4) != 0 || fio_fsync(o.fd) != 0)
            o.err = errno ? errno : EIO;
    }
    kw_free(&o.w);
    if (close(o.fd) != 0 && !o.err)
        o.err = errno;
    if (!o.err && fio_rename(tmp, path) != 0)
        o.err = errno;
    if (o.err) {
        unlink(tmp);
        errno = o.err;
        return -1;
    }
    /* The new name must be durable before older files may be purged. */
    return fio_sync_dir(dir);
}

int snapshot_write(struct ms_db *db, const char *dir)
{
    int rc = snapshot_write_file(db, dir);
    if (rc != 0)
        KLOG_ERROR("snapshot: writing %s/snapshot.%016" PRIx64 ": %s", dir,
                   (uint64_t)db->last_zxid, strerror(errno));
    return rc;
}

pid_t snapshot_start(struct ms_db *db, const char *dir)
{
    /* Block every signal across fork, so that none reaches the child while
     * it still has the parent's handlers (libevent's would write to the
     * parent's signal socketpair). */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; sig++) {
            struct sigaction cur;
            if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &cur) != 0)
                continue;
            if (!(cur.sa_flags & SA_SIGINFO) &&
                (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN))
                continue;
            struct sigaction dfl;
            memset(&dfl, 0, sizeof dfl);
            dfl.sa_handler = SIG_DFL;
            sigaction(sig, &dfl, NULL);
        }
#ifdef __linux__
        /* Dies with the parent: an orphan would keep the client sockets
         * and the listening port open. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(ESRCH);
#endif
        sigprocmask(SIG_SETMASK, &old, NULL);
        int rc = snapshot_write_file(db, dir);
        int e = errno;
        _exit(rc == 0 ? 0 : (e > 0 && e < 256 ? e : EIO));
    }
    int e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return pid;
}

void snapshot_discard_temp(const char *dir, int64_t zxid)
{
    char path[4096], tmp[4096];
    snap_paths(path, tmp, sizeof path, dir, zxid);
    if (unlink(tmp) == 0)
        KLOG_INFO("snapshot: removed the unfinished %s", tmp);
}

int snapshot_remove_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, "snapshot.", 9) != 0 || strlen(s) != 9 + 16 + 4 ||
            strspn(s + 9, "0123456789abcdefABCDEF") != 16 || strcmp(s + 25, ".tmp") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, s);
        if (unlink(path) == 0) {
            KLOG_INFO("snapshot: removed the unfinished %s", path);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* ---------------- load ---------------- */

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
    uint8_t *buf = txnlog_read_file(path, &len);
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
    struct txn_hdr h;
    int rc = db_apply(db, p, n, &h);
    tree_clear_events(&db->tree);
    /* Only txns that applied live are logged as themselves (a write that
     * failed is logged as an ERROR txn), so a failure now means the log and
     * the tree disagree: recovery stops rather than skip a committed change. */
    if (rc != ZOK) {
        KLOG_ERROR("recovery: txn zxid 0x%" PRIx64 " type %d fails to apply: %s",
                   (uint64_t)h.zxid, h.type, zk_err_name(rc));
        return -1;
    }
    if (db->last_zxid != h.zxid) {
        KLOG_ERROR("recovery: txn zxid 0x%" PRIx64 " left the state at 0x%" PRIx64,
                   (uint64_t)h.zxid, (uint64_t)db->last_zxid);
        return -1;
    }
    return 0;
}

int db_recover(struct ms_db *db, const char *data_dir, const char *log_dir)
{
    int64_t *snaps;
    int ns = txnlog_list(data_dir, "snapshot.", &snaps);
    if (ns < 0) {
        KLOG_ERROR("recovery: cannot list %s: %s", data_dir, strerror(errno));
        return -1;
    }
    bool loaded = false;
    int64_t need = -1;  /* newest snapshot skipped: the logs must reach it */
    for (int i = ns - 1; i >= 0 && !loaded; i--) {
        char path[4096];
        snprintf(path, sizeof path, "%s/snapshot.%016" PRIx64, data_dir, (uint64_t)snaps[i]);
        if (db_init_bare(db) != 0) {
            free(snaps);
            return -1;
        }
        if (snapshot_load(db, path) == 0 && db->last_zxid == snaps[i]) {
            KLOG_INFO("recovery: loaded %s (zxid 0x%" PRIx64 ", %zu nodes, %d sessions)",
                      path, (uint64_t)db->last_zxid, db->tree.count, db->nsessions);
            loaded = true;
        } else {
            KLOG_WARN("recovery: %s is not a valid snapshot; trying an older one, which the "
                      "logs must carry up to zxid 0x%" PRIx64, path, (uint64_t)snaps[i]);
            if (need < 0)
                need = snaps[i];
            db_free(db);
        }
    }
    free(snaps);
    if (!loaded && db_init(db) != 0)
        return -1;
    int64_t base = db->last_zxid, last = base;
    long n = txnlog_replay(log_dir, base, replay_one, db, &last);
    if (n < 0) {
        KLOG_ERROR("recovery: the txn log in %s is corrupt (see above); not starting", log_dir);
        db_free(db);
        return -1;
    }
    if (need >= 0 && db->last_zxid < need) {
        KLOG_ERROR("recovery: snapshot zxid 0x%" PRIx64 " is corrupt and the logs end at 0x%" PRIx64
                   " (from the snapshot at 0x%" PRIx64 "): acknowledged txns would be lost; "
                   "not starting", (uint64_t)need, (uint64_t)db->last_zxid, (uint64_t)base);
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
