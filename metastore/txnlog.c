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
#include <sys/eventfd.h>
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

#define SYNC_FAILED (-100)   /* the write went in, its fdatasync failed */

/* The syncer thread's side: one job at a time, handed over under `mu`. */
struct txnlog_syncer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool has_job, done, quit;
    /* the job: set by the loop, read by the thread */
    int fd;
    off_t at;
    struct kw buf;          /* the records, owned by the job while in flight */
    uint64_t target;        /* l->appended when it was handed over */
    /* the result: set by the thread */
    int rc;                 /* 0, FIO_TORN or -1 (the write), SYNC_FAILED */
    int err;
};

static void *syncer_main(void *arg)
{
    struct txnlog *l = arg;
    struct txnlog_syncer *y = l->syncer;
    pthread_mutex_lock(&y->mu);
    for (;;) {
        while (!y->has_job && !y->quit)
            pthread_cond_wait(&y->cv, &y->mu);
        if (y->quit)
            break;
        pthread_mutex_unlock(&y->mu);
        int rc = fio_append(y->fd, y->at, y->buf.buf, y->buf.len), err = errno;
        if (rc == 0 && fio_datasync(y->fd) != 0) {
            rc = SYNC_FAILED;
            err = errno;
        }
        pthread_mutex_lock(&y->mu);
        y->rc = rc;
        y->err = err;
        y->has_job = false;
        y->done = true;
        uint64_t one = 1;
        /* A failed notify would leave the loop waiting: nothing to do but
         * say so (eventfd writes fail only on counter overflow). */
        if (write(l->notify_fd, &one, sizeof one) != sizeof one)
            KLOG_ERROR("txn log syncer: eventfd write: %s", strerror(errno));
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

static int syncer_start(struct txnlog *l)
{
    struct txnlog_syncer *y = calloc(1, sizeof *y);
    if (!y)
        return -1;
    l->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->notify_fd < 0) {
        free(y);
        return -1;
    }
    pthread_mutex_init(&y->mu, NULL);
    pthread_cond_init(&y->cv, NULL);
    kw_init(&y->buf, NULL);
    l->syncer = y;
    int e = pthread_create(&y->thread, NULL, syncer_main, l);
    if (e != 0) {
        l->syncer = NULL;
        close(l->notify_fd);
        l->notify_fd = -1;
        free(y);
        errno = e;
        return -1;
    }
    return 0;
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
        l->notify_fd = -1;
        if (syncer_start(l) != 0)
            return -1;
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

static void syncer_wait(struct txnlog *l);

void txnlog_close(struct txnlog *l)
{
    struct txnlog_syncer *y = l->syncer;
    if (y) {
        syncer_wait(l);
        pthread_mutex_lock(&y->mu);
        y->quit = true;
        pthread_cond_signal(&y->cv);
        pthread_mutex_unlock(&y->mu);
        pthread_join(y->thread, NULL);
        kw_free(&y->buf);
        pthread_mutex_destroy(&y->mu);
        pthread_cond_destroy(&y->cv);
        free(y);
        l->syncer = NULL;
    }
    if (l->notify_fd >= 0)
        close(l->notify_fd);
    l->notify_fd = -1;
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

bool txnlog_sync_busy(const struct txnlog *l)
{
    struct txnlog_syncer *y = l->syncer;
    if (!y)
        return false;
    pthread_mutex_lock(&y->mu);
    bool busy = y->has_job || y->done;
    pthread_mutex_unlock(&y->mu);
    return busy;
}

int txnlog_sync_begin(struct txnlog *l)
{
    if (l->failed)
        return fail(l, l->fail_op, l->fail_errno);
    if (l->appended == l->durable || txnlog_sync_busy(l))
        return 0;
    if (l->pending.err)
        return fail(l, "buffer", ENOMEM);
    if (l->fd < 0)
        return fail(l, "write", EBADF);
    struct txnlog_syncer *y = l->syncer;
    if (!y) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&y->mu);
    /* Swap buffers: the job takes the records, the log keeps the job's old
     * (empty) buffer and its capacity for the next batch. */
    struct kw t = y->buf;
    y->buf = l->pending;
    l->pending = t;
    l->pending.len = 0;
    y->fd = l->fd;
    y->at = l->size;
    y->target = l->appended;
    y->has_job = true;
    pthread_cond_signal(&y->cv);
    pthread_mutex_unlock(&y->mu);
    return 1;
}

int txnlog_sync_end(struct txnlog *l)
{
    struct txnlog_syncer *y = l->syncer;
    uint64_t n;
    if (l->notify_fd >= 0)
        while (read(l->notify_fd, &n, sizeof n) < 0 && errno == EINTR)
            ;
    if (!y)
        return 1;
    pthread_mutex_lock(&y->mu);
    if (!y->done) {
        pthread_mutex_unlock(&y->mu);
        return 1;
    }
    y->done = false;
    int rc = y->rc, err = y->err;
    size_t len = y->buf.len;
    uint64_t target = y->target;
    y->buf.len = 0;
    pthread_mutex_unlock(&y->mu);
    /* The same outcomes as txnlog_sync's: never retried. */
    if (rc == FIO_TORN)
        return fail(l, "write (and the truncate back after it)", err);
    if (rc == SYNC_FAILED) {
        l->size += (off_t)len;
        return fail(l, "fdatasync", err);
    }
    if (rc != 0)
        return fail(l, "write", err);
    l->size += (off_t)len;
    l->durable = target;
    return 0;
}

/* Blocks until no sync is in flight, collecting its result. */
static void syncer_wait(struct txnlog *l)
{
    struct txnlog_syncer *y = l->syncer;
    if (!y)
        return;
    for (;;) {
        pthread_mutex_lock(&y->mu);
        bool busy = y->has_job, done = y->done;
        pthread_mutex_unlock(&y->mu);
        if (done) {
            /* A failure stays in l->failed, which every caller checks next. */
            if (txnlog_sync_end(l) < 0)
                KLOG_DEBUG("txn log: the sync in flight failed (%s)", l->fail_op);
            return;
        }
        if (!busy)
            return;
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
}

int txnlog_sync(struct txnlog *l)
{
    syncer_wait(l);
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
