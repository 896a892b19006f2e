/*
 * group_store.c — the append-only log of committed offsets and group
 * metadata (see group_store.h and docs/groups.md).
 */
#include "group_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fileio.h"
#include "klog.h"

#define GS_VERSION 0
/* A record larger than this is corruption, not data: group metadata with
 * thousands of members stays far below it. */
#define GS_MAX_RECORD (64 << 20)

static void put_payload(struct kw *w, const struct gs_rec *r)
{
    kw_i8(w, GS_VERSION);
    kw_i8(w, (int8_t)r->type);
    kw_str(w, r->group, false);
    switch (r->type) {
    case GS_OFFSET:
        kw_str(w, r->topic, false);
        kw_i32(w, r->partition);
        kw_i64(w, r->offset);
        kw_i32(w, r->leader_epoch);
        kw_str(w, r->metadata, false);
        kw_i64(w, r->commit_ts);
        kw_i64(w, r->expire_ts);
        break;
    case GS_OFFSET_DEL:
        kw_str(w, r->topic, false);
        kw_i32(w, r->partition);
        break;
    case GS_GROUP:
        kw_str(w, r->protocol_type, false);
        kw_str(w, r->protocol, false);
        kw_str(w, r->leader, false);
        kw_i32(w, r->generation);
        kw_i8(w, r->empty);
        kw_i64(w, r->state_ts);
        kw_i32(w, r->nmembers);
        for (int32_t i = 0; i < r->nmembers; i++) {
            const struct gs_member *m = &r->members[i];
            kw_str(w, m->member_id, false);
            kw_str(w, m->instance_id, false);
            kw_str(w, m->client_id, false);
            kw_str(w, m->client_host, false);
            kw_i32(w, m->session_timeout_ms);
            kw_i32(w, m->rebalance_timeout_ms);
            kw_bytes(w, m->subscription, false);
            kw_bytes(w, m->assignment, false);
        }
        break;
    case GS_GROUP_DEL:
        break;
    }
}

void gs_put(struct kw *w, const struct gs_rec *r)
{
    size_t at = w->len;
    kw_i32(w, 0); /* length, patched below */
    kw_i32(w, 0); /* crc */
    put_payload(w, r);
    if (w->err)
        return;
    size_t n = w->len - at - 8;
    kw_patch_i32(w, at, (int32_t)n);
    kw_patch_i32(w, at + 4, (int32_t)crc32c(0, w->buf + at + 8, n));
}

static int get_payload(struct kr *r, struct karena *a, struct gs_rec *out)
{
    memset(out, 0, sizeof *out);
    if (kr_i8(r) != GS_VERSION)
        return -1;
    out->type = (enum gs_type)kr_i8(r);
    out->group = kr_str(r, false);
    switch (out->type) {
    case GS_OFFSET:
        out->topic = kr_str(r, false);
        out->partition = kr_i32(r);
        out->offset = kr_i64(r);
        out->leader_epoch = kr_i32(r);
        out->metadata = kr_str(r, false);
        out->commit_ts = kr_i64(r);
        out->expire_ts = kr_i64(r);
        break;
    case GS_OFFSET_DEL:
        out->topic = kr_str(r, false);
        out->partition = kr_i32(r);
        break;
    case GS_GROUP:
        out->protocol_type = kr_str(r, false);
        out->protocol = kr_str(r, false);
        out->leader = kr_str(r, false);
        out->generation = kr_i32(r);
        out->empty = kr_i8(r);
        out->state_ts = kr_i64(r);
        out->nmembers = kr_array_len(r, false, 24);
        if (out->nmembers < 0)
            return -1;
        out->members = karena_calloc(a, (size_t)out->nmembers + 1, sizeof *out->members);
        if (!out->members)
            return -1;
        for (int32_t i = 0; i < out->nmembers && !r->err; i++) {
            struct gs_member *m = &out->members[i];
            m->member_id = kr_str(r, false);
            m->instance_id = kr_str(r, false);
            m->client_id = kr_str(r, false);
            m->client_host = kr_str(r, false);
            m->session_timeout_ms = kr_i32(r);
            m->rebalance_timeout_ms = kr_i32(r);
            m->subscription = kr_bytes(r, false);
            m->assignment = kr_bytes(r, false);
        }
        break;
    case GS_GROUP_DEL:
        break;
    default:
        return -1;
    }
    if (r->err || kr_left(r) != 0 || out->group.len <= 0)
        return -1;
    return 0;
}

int gs_get(struct kr *r, struct karena *a, struct gs_rec *out)
{
    if (kr_left(r) == 0)
        return 1;
    if (kr_left(r) < 8)
        return -1;
    uint32_t n = (uint32_t)kr_i32(r);
    uint32_t crc = (uint32_t)kr_i32(r);
    if (n < 2 || n > GS_MAX_RECORD || n > kr_left(r))
        return -1;
    const uint8_t *p = kr_raw(r, n);
    if (crc32c(0, p, n) != crc)
        return -1;
    struct kr sub;
    kr_init(&sub, p, n);
    return get_payload(&sub, a, out);
}

static int read_all(int fd, uint8_t **out, size_t *n)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    if (!buf)
        return -1;
    ssize_t got = fio_pread_full(fd, buf, size, 0);
    if (got < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *n = (size_t)got;
    return 0;
}

/* Fail-stop: after this nothing more is written to the store. */
static void store_fail(struct gstore *s, const char *what, int err)
{
    if (!s->failed)
        KLOG_ERROR("%s: %s failed: %s; the group store is offline until the broker restarts "
                   "(offset commits and group changes answer COORDINATOR_NOT_AVAILABLE)",
                   s->path, what, strerror(err));
    s->failed = true;
}

/* Replay records until the end or the first bad one; returns the length
 * of the valid prefix. */
static size_t replay(const uint8_t *buf, size_t n, gs_replay_fn fn, void *arg, int64_t *count)
{
    struct kr r;
    kr_init(&r, buf, n);
    size_t good = 0;
    for (;;) {
        struct karena a;
        karena_init(&a);
        struct gs_rec rec;
        int rc = gs_get(&r, &a, &rec);
        if (rc == 0) {
            fn(arg, &rec);
            (*count)++;
            good = (size_t)(r.p - buf);
        }
        karena_free(&a);
        if (rc != 0)
            break;
    }
    return good;
}

int gstore_open(struct gstore *s, const char *logdir, gs_replay_fn fn, void *arg)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->sync = true;
    size_t dl = strlen(logdir) + 32;
    s->dir = malloc(dl);
    s->path = malloc(dl + 16);
    if (!s->dir || !s->path)
        goto fail;
    snprintf(s->dir, dl, "%s/__consumer_offsets", logdir);
    snprintf(s->path, dl + 16, "%s/groups.log", s->dir);
    /* A directory or file created here is only there after a power loss
     * once its entry is fsynced. */
    if (mkdir(s->dir, 0755) == 0 ? fio_sync_parent(s->dir) != 0 : errno != EEXIST) {
        KLOG_ERROR("cannot create %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    bool existed = access(s->path, F_OK) == 0;
    s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->fd < 0 || (!existed && fio_sync_dir(s->dir) != 0)) {
        KLOG_ERROR("cannot open %s: %s", s->path, strerror(errno));
        goto fail;
    }
    uint8_t *buf;
    size_t n;
    if (read_all(s->fd, &buf, &n) != 0) {
        KLOG_ERROR("cannot read %s: %s", s->path, strerror(errno));
        goto fail;
    }
    int64_t count = 0;
    size_t good = replay(buf, n, fn, arg, &count);
    free(buf);
    if (good < n) {
        /* A crash mid-append leaves a partial record; nothing after it was
         * ever acknowledged, so cutting it off loses nothing committed. */
        KLOG_WARN("%s: %zu bytes of torn or corrupt records after offset %zu removed", s->path,
                  n - good, good);
        if (fio_truncate(s->fd, (off_t)good) != 0 || fio_fsync(s->fd) != 0) {
            KLOG_ERROR("cannot truncate %s: %s", s->path, strerror(errno));
            goto fail;
        }
    }
    s->size = s->synced = (int64_t)good;
    KLOG_INFO("group store %s: %lld records replayed", s->path, (long long)count);
    return 0;
fail:
    gstore_close(s);
    return -1;
}

int gstore_write(struct gstore *s, const uint8_t *p, size_t n)
{
    if (s->fd < 0 || s->failed) {
        errno = EIO;
        return -1;
    }
    /* fio_append leaves no half record behind for the next one to follow. */
    int rc = fio_append(s->fd, (off_t)s->size, p, n);
    if (rc != 0) {
        int e = errno;
        KLOG_ERROR("%s: append failed: %s", s->path, strerror(e));
        if (rc == FIO_TORN)
            store_fail(s, "truncate after a failed append", e);
        errno = e;
        return -1;
    }
    s->size += (int64_t)n;
    return 0;
}

int gstore_sync(struct gstore *s)
{
    if (s->fd < 0 || s->failed) {
        errno = EIO;
        return -1;
    }
    if (s->synced == s->size)
        return 0;
    if (s->sync && fio_datasync(s->fd) != 0) {
        int e = errno;
        /* Never retried: what it covered may be gone. Cut it off, so that a
         * restart does not replay commits that were answered with an error. */
        if (fio_truncate(s->fd, (off_t)s->synced) != 0)
            KLOG_ERROR("%s: cannot cut back to the last synced size: %s", s->path,
                       strerror(errno));
        s->size = s->synced;
        store_fail(s, "fdatasync", e);
        errno = e;
        return -1;
    }
    s->synced = s->size;
    return 0;
}

int gstore_append(struct gstore *s, const uint8_t *p, size_t n)
{
    if (gstore_write(s, p, n) != 0)
        return -1;
    return gstore_sync(s);
}

int gstore_rewrite(struct gstore *s, const uint8_t *p, size_t n)
{
    if (s->fd < 0 || s->failed || s->synced != s->size) {
        errno = s->failed ? EIO : EBUSY;
        return -1;
    }
    size_t tl = strlen(s->path) + 8;
    char *tmp = malloc(tl);
    if (!tmp)
        return -1;
    snprintf(tmp, tl, "%s.tmp", s->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || fio_write_full(fd, p, n) != 0 || fio_fsync(fd) != 0 ||
        fio_rename(tmp, s->path) != 0) {
        /* The old log is still the one at path and in use: nothing lost. */
        int e = errno;
        KLOG_ERROR("%s: compaction failed: %s", s->path, strerror(e));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
        errno = e;
        return -1;
    }
    free(tmp);
    /* path names the new file now: from here on every write goes to it,
     * never to the old, unlinked inode. */
    close(s->fd);
    s->fd = fd;
    s->size = s->synced = (int64_t)n;
    if (fio_sync_dir(s->dir) != 0) {
        /* A power loss may bring the old file back, and with it lose what
         * is appended to this one: nothing more may be. */
        store_fail(s, "directory fsync after compaction", errno);
        return -1;
    }
    return 0;
}

void gstore_close(struct gstore *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->dir);
    free(s->path);
    s->dir = s->path = NULL;
}
