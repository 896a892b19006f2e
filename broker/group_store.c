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

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
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
    size_t got = 0;
    while (got < size) {
        ssize_t k = pread(fd, buf + got, size - got, (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    *out = buf;
    *n = got;
    return 0;
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
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
        KLOG_ERROR("cannot create %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->fd < 0) {
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
        if (ftruncate(s->fd, (off_t)good) != 0 || fsync(s->fd) != 0) {
            KLOG_ERROR("cannot truncate %s: %s", s->path, strerror(errno));
            goto fail;
        }
    }
    s->size = (int64_t)good;
    if (lseek(s->fd, s->size, SEEK_SET) < 0)
        goto fail;
    KLOG_INFO("group store %s: %lld records replayed", s->path, (long long)count);
    return 0;
fail:
    gstore_close(s);
    return -1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int gstore_append(struct gstore *s, const uint8_t *p, size_t n)
{
    if (s->fd < 0)
        return -1;
    if (write_all(s->fd, p, n) != 0 || (s->sync && fdatasync(s->fd) != 0)) {
        KLOG_ERROR("%s: append failed: %s", s->path, strerror(errno));
        /* Leave no half record behind for the next append to follow. */
        if (ftruncate(s->fd, (off_t)s->size) != 0 || lseek(s->fd, s->size, SEEK_SET) < 0)
            KLOG_ERROR("%s: cannot cut back a failed append: %s", s->path, strerror(errno));
        return -1;
    }
    s->size += (int64_t)n;
    return 0;
}

int gstore_rewrite(struct gstore *s, const uint8_t *p, size_t n)
{
    size_t tl = strlen(s->path) + 8;
    char *tmp = malloc(tl);
    if (!tmp)
        return -1;
    snprintf(tmp, tl, "%s.tmp", s->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = -1;
    if (fd >= 0 && write_all(fd, p, n) == 0 && fsync(fd) == 0 && rename(tmp, s->path) == 0 &&
        fsync_path(s->dir) == 0)
        rc = 0;
    if (rc != 0) {
        KLOG_ERROR("%s: compaction failed: %s", s->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    close(s->fd);
    s->fd = fd;
    s->size = (int64_t)n;
    lseek(s->fd, s->size, SEEK_SET);
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
