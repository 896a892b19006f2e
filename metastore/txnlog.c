/*
 * txnlog.c — see txnlog.h.
 */
#include "txnlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "klog.h"

static void log_path(char *out, size_t cap, const char *dir, int64_t zxid)
{
    snprintf(out, cap, "%s/log.%016" PRIx64, dir, (uint64_t)zxid);
}

/* Creates log.<first_zxid> with its header, durable; the fd or -1. */
static int create_file(const char *dir, int64_t first_zxid)
{
    char path[4096];
    log_path(path, sizeof path, dir, first_zxid);
    /* A file of that name can only be an empty leftover (no txn was logged
     * after it was made), so it is replaced. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (fio_write_full(fd, TXNLOG_MAGIC, 8) != 0 || fio_datasync(fd) != 0 ||
        fio_sync_dir(dir) != 0) {
        int e = errno;
        close(fd);
        unlink(path);  /* holds no record: nothing is lost */
        errno = e;
        return -1;
    }
    return fd;
}

int txnlog_open(struct txnlog *l, const char *dir, int64_t first_zxid)
{
    if (!l->dir) {
        l->dir = strdup(dir);
        if (!l->dir) {
            errno = ENOMEM;
            return -1;
        }
        kw_init(&l->pending, NULL);
        l->fd = -1;
    }
    int fd = create_file(dir, first_zxid);
    if (fd < 0)
        return -1;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = fd;
    l->file_zxid = first_zxid;
    l->size = 8;
    l->since_snap = 0;
    return 0;
}

void txnlog_close(struct txnlog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    kw_free(&l->pending);
    free(l->dir);
    l->dir = NULL;
}

uint64_t txnlog_append(struct txnlog *l, const uint8_t *payload, size_t n)
{
    kw_u32(&l->pending, (uint32_t)n);
    kw_u32(&l->pending, crc32c(0, payload, n));
    kw_raw(&l->pending, payload, n);
    l->since_snap++;
    return ++l->appended;
}

static int fail(struct txnlog *l, const char *op, int e)
{
    if (!l->failed) {
        l->failed = true;
        l->fail_op = op;
        l->fail_errno = e;
    }
    errno = l->fail_errno;
    return -1;
}

int txnlog_sync(struct txnlog *l)
{
    if (l->failed)
        return fail(l, l->fail_op, l->fail_errno);  /* never retried */
    if (l->appended == l->durable)
        return 0;
    if (l->pending.err)
        return fail(l, "buffer", ENOMEM);
    if (l->fd < 0)
        return fail(l, "write", EBADF);
    /* One write at the end of the last good record. On failure fio_append
     * has cut the file back there (or could not: FIO_TORN); the records are
     * not written again, blindly or otherwise. */
    int rc = fio_append(l->fd, l->size, l->pending.buf, l->pending.len);
    if (rc == FIO_TORN)
        return fail(l, "write (and the truncate back after it)", errno);
    if (rc != 0)
        return fail(l, "write", errno);
    l->size += (off_t)l->pending.len;
    if (fio_datasync(l->fd) != 0)
        return fail(l, "fdatasync", errno);
    l->pending.len = 0;
    l->durable = l->appended;
    return 0;
}

int txnlog_roll(struct txnlog *l, int64_t next_zxid)
{
    if (txnlog_sync(l) != 0)
        return -1;
    return txnlog_open(l, l->dir, next_zxid);
}

/* ---------------- listing ---------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int txnlog_list(const char *dir, const char *prefix, int64_t **zxids)
{
    *zxids = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t plen = strlen(prefix);
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, prefix, plen) != 0 || strlen(s + plen) != 16 ||
            strspn(s + plen, "0123456789abcdefABCDEF") != 16)
            continue;
        uint64_t z = strtoull(s + plen, NULL, 16);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *v = realloc(*zxids, (size_t)cap * sizeof *v);
            if (!v) {
                free(*zxids);
                *zxids = NULL;
                closedir(d);
                errno = ENOMEM;
                return -1;
            }
            *zxids = v;
        }
        (*zxids)[n++] = (int64_t)z;
    }
    closedir(d);
    if (n > 1)
        qsort(*zxids, (size_t)n, sizeof **zxids, cmp_i64);
    return n;
}

/* ---------------- replay ---------------- */

uint8_t *txnlog_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    ssize_t got = fio_pread_full(fd, buf, n, 0);
    int e = errno;
    close(fd);
    if (got < 0) {
        free(buf);
        errno = e;
        return NULL;
    }
    *len = (size_t)got;  /* short only if the file shrank meanwhile */
    return buf;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct replay {
    int64_t after;    /* the state holds every txn up to here */
    int64_t prev;     /* zxid of the last record read; -1 before the first */
    txnlog_fn fn;
    void *arg;
    long applied;
};

/* Cuts the newest file's torn tail at off, durably. 0 or -1 (logged). */
static int cut_tail(const char *path, size_t off, size_t len)
{
    KLOG_WARN("txnlog: %s: torn tail at offset %zu of %zu; truncating", path, off, len);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || fio_truncate(fd, (off_t)off) != 0 || fio_fsync(fd) != 0) {
        KLOG_ERROR("txnlog: %s: cannot truncate the torn tail at offset %zu: %s", path, off,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Replays one file; 0 or -1 (logged). */
static int replay_file(struct replay *rp, const char *dir, int64_t name_zxid, bool newest)
{
    char path[4096];
    log_path(path, sizeof path, dir, name_zxid);
    size_t len;
    uint8_t *buf = txnlog_read_file(path, &len);
    if (!buf) {
        KLOG_ERROR("txnlog: %s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    if (len < 8 || memcmp(buf, TXNLOG_MAGIC, 8) != 0) {
        /* A crash while the newest file was being created leaves part of
         * the header: it holds no record, so it goes. */
        if (newest && len < 8 && memcmp(buf, TXNLOG_MAGIC, len) == 0) {
            KLOG_WARN("txnlog: %s: header cut short (%zu bytes); removing the file", path, len);
            if (unlink(path) != 0 || fio_sync_dir(dir) != 0)
                KLOG_ERROR("txnlog: %s: cannot remove: %s", path, strerror(errno));
            else
                rc = 0;
        } else {
            KLOG_ERROR("txnlog: %s: offset 0: not a txn log header", path);
        }
        goto out;
    }
    size_t off = 8;
    bool first = true;
    while (off < len) {
        const char *bad = NULL;
        uint32_t n = 0;
        if (len - off < 8) {
            bad = "record header runs past the end of the file";
        } else {
            n = be32(buf + off);
            if (n < 8)
                bad = "record too short for a zxid";
            else if (n > len - off - 8)
                bad = "record runs past the end of the file";
            else if (crc32c(0, buf + off + 8, n) != be32(buf + off + 4))
                bad = "record fails its CRC";
        }
        if (bad) {
            if (newest) {
                rc = cut_tail(path, off, len);
            } else {
                KLOG_ERROR("txnlog: %s: offset %zu: %s, in a log file that is not the newest "
                           "(corruption, not a torn write)", path, off, bad);
            }
            goto out;
        }
        const uint8_t *p = buf + off + 8;
        int64_t zxid = be64(p);
        if (first && zxid != name_zxid) {
            KLOG_ERROR("txnlog: %s: offset %zu: first record has zxid 0x%" PRIx64
                       ", not the file's 0x%" PRIx64, path, off, (uint64_t)zxid,
                       (uint64_t)name_zxid);
            goto out;
        }
        if (rp->prev >= 0 && zxid != rp->prev + 1) {
            KLOG_ERROR("txnlog: %s: offset %zu: zxid 0x%" PRIx64 " follows 0x%" PRIx64 " (%s)",
                       path, off, (uint64_t)zxid, (uint64_t)rp->prev,
                       zxid <= rp->prev ? "duplicate or out of order" : "gap");
            goto out;
        }
        if (zxid > rp->after && rp->prev < rp->after) {
            /* The first record newer than the state must be the next one. */
            if (zxid != rp->after + 1) {
                KLOG_ERROR("txnlog: %s: offset %zu: zxid 0x%" PRIx64 " but the state ends at "
                           "0x%" PRIx64 " (the txns between are missing)", path, off,
                           (uint64_t)zxid, (uint64_t)rp->after);
                goto out;
            }
        }
        if (zxid > rp->after) {
            if (rp->fn(rp->arg, p, n) != 0) {
                KLOG_ERROR("txnlog: %s: offset %zu: txn zxid 0x%" PRIx64 " cannot be applied",
                           path, off, (uint64_t)zxid);
                goto out;
            }
            rp->applied++;
        }
        rp->prev = zxid;
        first = false;
        off += 8 + n;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

long txnlog_replay(const char *dir, int64_t after, txnlog_fn fn, void *arg, int64_t *last)
{
    int64_t *zx;
    int n = txnlog_list(dir, "log.", &zx);
    if (n < 0) {
        KLOG_ERROR("txnlog: cannot list %s: %s", dir, strerror(errno));
        return -1;
    }
    /* Files before the newest one starting at or before after + 1 hold
     * nothing the state lacks. */
    int from = 0;
    for (int i = 0; i < n; i++)
        if (zx[i] <= after + 1)
            from = i;
    struct replay rp = { after, -1, fn, arg, 0 };
    /* Without a file that can hold after + 1, the first record read must
     * still be after + 1 (checked in replay_file). */
    long rc = 0;
    for (int i = from; i < n && rc == 0; i++)
        rc = replay_file(&rp, dir, zx[i], i == n - 1);
    free(zx);
    if (rc != 0)
        return -1;
    if (last)
        *last = rp.prev > after ? rp.prev : after;
    return rp.applied;
}
