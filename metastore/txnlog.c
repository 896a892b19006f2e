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

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int txnlog_open(struct txnlog *l, const char *dir, int64_t first_zxid)
{
    if (!l->dir) {
        l->dir = strdup(dir);
        kw_init(&l->pending, NULL);
        l->fd = -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/log.%016" PRIx64, dir, (uint64_t)first_zxid);
    /* A file of that name can only be an empty leftover (no txn was logged
     * after it was made), so it is replaced. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write_all(fd, (const uint8_t *)TXNLOG_MAGIC, 8) != 0 || fdatasync(fd) != 0 ||
        fsync_dir(dir) != 0) {
        close(fd);
        return -1;
    }
    l->fd = fd;
    l->file_zxid = first_zxid;
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

int txnlog_sync(struct txnlog *l)
{
    if (l->appended == l->durable)
        return 0;
    if (l->pending.err) {
        errno = ENOMEM;
        return -1;
    }
    if (write_all(l->fd, l->pending.buf, l->pending.len) != 0 || fdatasync(l->fd) != 0)
        return -1;
    l->pending.len = 0;
    l->durable = l->appended;
    return 0;
}

int txnlog_roll(struct txnlog *l, int64_t next_zxid)
{
    if (txnlog_sync(l) != 0)
        return -1;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
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
        if (strncmp(s, prefix, plen) != 0 || strlen(s + plen) != 16)
            continue;
        char *end;
        uint64_t z = strtoull(s + plen, &end, 16);
        if (*end)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *v = realloc(*zxids, (size_t)cap * sizeof *v);
            if (!v) {
                free(*zxids);
                *zxids = NULL;
                closedir(d);
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

static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    size_t got = 0;
    while (buf && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            free(buf);
            buf = NULL;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    *len = n;
    return buf;
}

/* Replays one file; returns records read or -1. Truncates a torn tail. */
static long replay_file(const char *path, txnlog_fn fn, void *arg)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf)
        return -1;
    size_t off = 8;
    long count = 0;
    if (len < 8 || memcmp(buf, TXNLOG_MAGIC, 8) != 0) {
        KLOG_WARN("txnlog: %s has no valid header; ignoring it", path);
        free(buf);
        return 0;
    }
    while (off < len) {
        if (len - off < 8)
            break;
        uint32_t n = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
                     (uint32_t)buf[off + 2] << 8 | buf[off + 3];
        uint32_t crc = (uint32_t)buf[off + 4] << 24 | (uint32_t)buf[off + 5] << 16 |
                       (uint32_t)buf[off + 6] << 8 | buf[off + 7];
        if (n == 0 || n > len - off - 8 || crc32c(0, buf + off + 8, n) != crc)
            break;
        if (fn(arg, buf + off + 8, n) != 0) {
            /* The record is intact but cannot be applied: stop replaying
             * rather than build a tree that skips a committed change. */
            KLOG_ERROR("txnlog: %s: record at offset %zu cannot be applied", path, off);
            free(buf);
            return -1;
        }
        off += 8 + n;
        count++;
    }
    if (off < len) {
        KLOG_WARN("txnlog: %s: torn tail at offset %zu of %zu; truncating", path, off, len);
        if (truncate(path, (off_t)off) != 0)
            KLOG_WARN("txnlog: truncate %s: %s", path, strerror(errno));
    }
    free(buf);
    return count;
}

long txnlog_replay(const char *dir, txnlog_fn fn, void *arg)
{
    int64_t *zx;
    int n = txnlog_list(dir, "log.", &zx);
    if (n < 0)
        return -1;
    long total = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/log.%016" PRIx64, dir, (uint64_t)zx[i]);
        long c = replay_file(path, fn, arg);
        if (c < 0) {
            free(zx);
            return -1;
        }
        total += c;
    }
    free(zx);
    return total;
}
