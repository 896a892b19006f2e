/*
 * log.c — the partition log (see log.h and docs/storage.md).
 *
 * Every segment keeps its .log file open (fetches hand out its fd); the
 * index files are open only for the active segment, and opened on demand for
 * lookups in older ones, so a partition costs about one fd per segment.
 * Index lookups are binary searches over the index files: with pread(2) in
 * sealed segments, in a read-only shared mapping of the files in the active
 * one (entries appended with pwrite show through the page cache; only the
 * idx_n/tix_n whole entries, which lie inside the file, are read).
 *
 * Reads near the end of the log (caught-up consumers) read nothing: the log
 * keeps the position and size of the last RECENT_MAX batches appended to the
 * active segment (struct recent), and plog_read answers from them alone when
 * the offset falls in one of them. Anything that changes the active segment
 * other than an append (roll, recovery, a cut back) empties that record, and
 * the read takes the index and header path again.
 *
 * Indexes are hints. An entry that does not lead to a sane batch header makes
 * the lookup scan the segment from its start, and a failed index write is
 * simply undone, so no index problem can make a read wrong.
 *
 * Failures (docs/storage.md, "Failure model"): every write goes through
 * common/fileio.h. A failed append is cut back off and answered with
 * KAFKA_STORAGE_ERROR; the log end only moves once the append is as durable
 * as the flush policy asks. A failed fdatasync is never retried: the .log is
 * cut back to its last synced size and the log goes offline (every later
 * call answers KAFKA_STORAGE_ERROR) until the broker restarts and recovers
 * it from what is on disk.
 */
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "crc32c.h"
#include "kafka_errors.h"
#include "klog.h"
#include "record_batch.h"
#include "wire.h"

#define IDX_ENTRY 8      /* int32 relative offset, int32 position */
#define TIX_ENTRY 12     /* int64 timestamp, int32 relative offset */
#define CLEAN_MARKER ".clean-shutdown"
#define LSO_FILE "log-start-offset"
#define NEVER INT64_MAX

struct seg {
    int64_t base;          /* offset of its first batch (the file name) */
    int fd;                /* .log (written at explicit offsets) */
    int idx_fd, tix_fd;    /* active segment only, else -1 */
    const uint8_t *idx_map, *tix_map;  /* with idx_fd/tix_fd: the files mapped
                                          read-only, or NULL (ix_mapped) */
    size_t idx_maplen, tix_maplen;
    int64_t size;          /* bytes of whole batches in .log */
    int64_t synced;        /* of which known durable (last fdatasync, or open) */
    int64_t idx_n, tix_n;  /* whole entries in the index files */
    int64_t max_ts;        /* largest batch maxTimestamp, -1 if none */
    int64_t max_ts_off;    /* baseOffset of the first batch that reached it */
    int64_t tix_last_ts;   /* timestamp of the last time index entry, -1 */
    int64_t since_idx;     /* bytes appended since the last index entry */
    int64_t first_ms;      /* roll clock: first append in this process, -1 */
    bool dirty;            /* written since the last fdatasync */
};

/* A batch of the active segment (see the file comment). */
struct recent {
    int64_t base, last;    /* offsets of its first and last record */
    int64_t pos, len;      /* where it lies in the .log */
};

#define RECENT_MAX 64      /* a power of 2 */

struct plog {
    char *dir;
    struct plog_config cfg;
    struct seg *segs;      /* ascending base; the last one is active */
    int nsegs, cap;
    /* The last batches appended to the active segment, oldest first, in a
     * ring of RECENT_MAX (allocated at the first append): consecutive in the
     * file, the last one ending at the segment's size. */
    struct recent *recent;
    int recent_head, recent_n;
    int64_t start;         /* log start offset */
    int64_t end;           /* log end offset */
    int64_t unflushed;     /* records appended since the last flush */
    int64_t last_flush_ms; /* -1 until plog_maybe_flush first runs */
    bool offline;          /* a sync failed: nothing more is read or written */
    int offline_errno;
};

static plog_offline_fn offline_hook;
static void *offline_hook_arg;

/* Off (tests only): reads and index lookups take the pread path everywhere. */
static bool fast_paths = true;

void plog_set_fast_paths(bool on) { fast_paths = on; }

void plog_set_offline_hook(plog_offline_fn fn, void *arg)
{
    offline_hook = fn;
    offline_hook_arg = arg;
}

/* Fail-stop for this partition: what a failed sync covered may be gone, so
 * nothing is served or appended any more (see the file comment). */
static void go_offline(struct plog *l, const char *what, int err)
{
    if (l->offline)
        return;
    l->offline = true;
    l->offline_errno = err;
    KLOG_ERROR("%s: %s failed: %s; the partition is offline until the broker restarts "
               "(requests on it answer KAFKA_STORAGE_ERROR)",
               l->dir, what, strerror(err));
    if (offline_hook)
        offline_hook(l->dir, err, offline_hook_arg);
}

/* KERR_KAFKA_STORAGE_ERROR with the errno that took the log offline. */
static int offline_err(const struct plog *l)
{
    errno = l->offline_errno;
    return KERR_KAFKA_STORAGE_ERROR;
}

/* ---------------- small helpers ---------------- */

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static bool never(int64_t v) { return v == NEVER; }

static struct seg *active(struct plog *l) { return &l->segs[l->nsegs - 1]; }

/* ---------------- recent batches of the active segment ---------------- */

/* Forget them: the active segment changed other than by an append. */
static void recent_reset(struct plog *l)
{
    l->recent_head = l->recent_n = 0;
}

/* The k-th oldest, 0 <= k < recent_n. */
static const struct recent *recent_at(const struct plog *l, int k)
{
    return &l->recent[(l->recent_head + k) & (RECENT_MAX - 1)];
}

/* The batch with header h was appended to the active segment at pos. */
static void recent_add(struct plog *l, const struct rb_header *h, int64_t pos)
{
    if (!l->recent && !(l->recent = malloc(RECENT_MAX * sizeof *l->recent)))
        return;                 /* reads take the index path */
    if (l->recent_n == RECENT_MAX) {
        l->recent_head = (l->recent_head + 1) & (RECENT_MAX - 1);
        l->recent_n--;
    }
    l->recent[(l->recent_head + l->recent_n) & (RECENT_MAX - 1)] = (struct recent){
        h->base_offset, h->base_offset + h->last_offset_delta, pos, rb_total_size(h)
    };
    l->recent_n++;
}

static void seg_path(const struct plog *l, int64_t base, const char *ext, char *buf,
                     size_t n)
{
    snprintf(buf, n, "%s/%020" PRId64 "%s", l->dir, base, ext);
}

static void dir_path(const struct plog *l, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", l->dir, name);
}

/* n bytes at pos, all of them, or -1. */
static int read_full(int fd, void *p, size_t n, int64_t pos)
{
    ssize_t r = fio_pread_full(fd, p, n, (off_t)pos);
    return r == (ssize_t)n ? 0 : -1;
}

static int64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (int64_t)st.st_size : -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* mkdir -p; every directory it creates gets its entry fsynced in its
 * parent, so a new partition's directory survives a power loss. */
static int mkdir_one(const char *path)
{
    if (mkdir(path, 0755) != 0)
        return errno == EEXIST ? 0 : -1;
    return fio_sync_parent(path);
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir_one(buf) != 0)
            return -1;
        *s = '/';
    }
    return mkdir_one(buf);
}

void plog_config_defaults(struct plog_config *c)
{
    c->segment_bytes = 1073741824;
    c->roll_ms = 7LL * 24 * 3600 * 1000;
    c->retention_ms = 7LL * 24 * 3600 * 1000;
    c->retention_bytes = -1;
    c->flush_interval_messages = NEVER;
    c->flush_interval_ms = NEVER;
    c->index_interval_bytes = 4096;
    c->max_message_bytes = 1048588;
    c->index_max_bytes = 10485760;
}

/* Fold the "default" and "never" spellings into one each (see log.h). */
static void normalize_config(struct plog_config *c)
{
    struct plog_config d;
    plog_config_defaults(&d);
    if (c->segment_bytes <= 0)
        c->segment_bytes = d.segment_bytes;
    if (c->segment_bytes > INT32_MAX)      /* index positions are int32 */
        c->segment_bytes = INT32_MAX;
    if (c->index_interval_bytes < 0)       /* 0 (Kafka's minimum): an entry at every batch */
        c->index_interval_bytes = d.index_interval_bytes;
    if (c->max_message_bytes <= 0)
        c->max_message_bytes = d.max_message_bytes;
    if (c->index_max_bytes <= 0)
        c->index_max_bytes = d.index_max_bytes;
    if (c->roll_ms <= 0)
        c->roll_ms = NEVER;
    if (c->retention_ms < 0)
        c->retention_ms = NEVER;
    if (c->retention_bytes < 0)
        c->retention_bytes = NEVER;
    if (c->flush_interval_messages <= 0)
        c->flush_interval_messages = NEVER;
    if (c->flush_interval_ms < 0)
        c->flush_interval_ms = NEVER;
}

/* ---------------- log start offset file ---------------- */

static int64_t read_lso(const struct plog *l)
{
    char path[4200], buf[32];
    dir_path(l, LSO_FILE, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end != buf && v >= 0 ? (int64_t)v : -1;
}

/* Replaced whole (temp file, fsync, rename, directory fsync), so a crash
 * leaves the old or the new value, and the new one is durable on return. */
static int write_lso(const struct plog *l)
{
    char path[4200], buf[32];
    dir_path(l, LSO_FILE, path, sizeof path);
    int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", l->start);
    return fio_replace(path, buf, (size_t)n, 0644);
}

/* ---------------- indexes ---------------- */

/* Entries produced by one append, written with one write per file. */
struct ixbuf {
    struct kw idx, tix;
};

static void ixbuf_init(struct ixbuf *b)
{
    kw_init(&b->idx, NULL);
    kw_init(&b->tix, NULL);
}

/* Account for the batch with header h written at pos: track the segment's
 * max timestamp and add index entries every index_interval_bytes. */
static void seg_track(const struct plog *l, struct seg *s, int64_t pos,
                      const struct rb_header *h, struct ixbuf *b)
{
    if (h->max_timestamp > s->max_ts) {
        s->max_ts = h->max_timestamp;
        s->max_ts_off = h->base_offset;
    }
    /* Like Kafka, the first batch of a segment gets no entry: a lookup that
     * finds no entry starts at position 0 anyway. */
    if (s->since_idx > 0 && s->since_idx >= l->cfg.index_interval_bytes) {
        kw_i32(&b->idx, (int32_t)(h->base_offset - s->base));
        kw_i32(&b->idx, (int32_t)pos);
        if (s->max_ts > s->tix_last_ts) {
            kw_i64(&b->tix, s->max_ts);
            kw_i32(&b->tix, (int32_t)(s->max_ts_off - s->base));
            s->tix_last_ts = s->max_ts;
        }
        s->since_idx = 0;
    }
    s->since_idx += rb_total_size(h);
}

/* Append buffered entries after the n whole ones. A failed write is cut
 * back off (fio_append): the index stays a consistent (shorter) hint. */
static void ix_write(int fd, struct kw *w, int64_t *n, size_t entry)
{
    if (fd >= 0 && w->len > 0 && !w->err) {
        int rc = fio_append(fd, (off_t)(*n * (int64_t)entry), w->buf, w->len);
        if (rc == 0)
            *n += (int64_t)(w->len / entry);
        else
            KLOG_WARN("index write failed%s: %s",
                      rc == FIO_TORN ? " and could not be cut back" : "", strerror(errno));
    }
    kw_free(w);
}

static void ixbuf_commit(struct seg *s, struct ixbuf *b)
{
    ix_write(s->idx_fd, &b->idx, &s->idx_n, IDX_ENTRY);
    ix_write(s->tix_fd, &b->tix, &s->tix_n, TIX_ENTRY);
}

/* An index file of segment s, read-only: its own fd when active (*own = 0),
 * else a fresh one the caller closes (*own = 1). -1 if missing. */
static int ix_fd(const struct plog *l, const struct seg *s, bool time, bool *own)
{
    int fd = time ? s->tix_fd : s->idx_fd;
    *own = false;
    if (fd >= 0)
        return fd;
    char path[4200];
    seg_path(l, s->base, time ? ".timeindex" : ".index", path, sizeof path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    *own = fd >= 0;
    return fd;
}

static int64_t ix_count(const struct seg *s, int fd, bool time)
{
    if (s->idx_fd >= 0)          /* active: counts are tracked */
        return time ? s->tix_n : s->idx_n;
    int64_t sz = file_size(fd);
    return sz < 0 ? 0 : sz / (time ? TIX_ENTRY : IDX_ENTRY);
}

/* The mapping of an index file of s that holds its first n entries, or NULL
 * (none, or the file grew past the mapping: a smaller segment.index.bytes
 * when it was mapped). Entries below the tracked count lie inside the file. */
static const uint8_t *ix_mapped(const struct seg *s, bool time, int64_t n)
{
    const uint8_t *m = time ? s->tix_map : s->idx_map;
    size_t len = time ? s->tix_maplen : s->idx_maplen;
    int64_t esz = time ? TIX_ENTRY : IDX_ENTRY;
    return fast_paths && m && n >= 0 && (uint64_t)(n * esz) <= len ? m : NULL;
}

/*
 * Binary search for the last entry whose key is <= target, where the key is
 * the relative offset (IX_OFFSET) or the position (IX_POSITION) of an offset
 * index entry, or the timestamp of a time index entry (IX_TIME). On success
 * e->rel is the entry's relative offset, e->pos its position (offset index)
 * and e->ts its timestamp (time index); false if there is no such entry.
 */
enum ix_key { IX_OFFSET, IX_POSITION, IX_TIME };
struct ix_entry {
    int64_t rel, pos, ts;
};

static bool ix_floor(const struct plog *l, const struct seg *s, enum ix_key key,
                     int64_t target, struct ix_entry *out)
{
    bool time = key == IX_TIME, own, found = false;
    int fd = ix_fd(l, s, time, &own);
    if (fd < 0)
        return false;
    size_t esz = time ? TIX_ENTRY : IDX_ENTRY;
    int64_t n = ix_count(s, fd, time), lo = 0, hi = n - 1;
    const uint8_t *map = ix_mapped(s, time, n);
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        uint8_t e[TIX_ENTRY];
        if (map)
            memcpy(e, map + mid * (int64_t)esz, esz);
        else if (read_full(fd, e, esz, mid * (int64_t)esz) != 0)
            break;
        struct ix_entry x = { -1, -1, -1 };
        if (time) {
            x.ts = (int64_t)get_be(e, 8);
            x.rel = (int32_t)get_be(e + 8, 4);
        } else {
            x.rel = (int32_t)get_be(e, 4);
            x.pos = (int32_t)get_be(e + 4, 4);
        }
        int64_t k = key == IX_TIME ? x.ts : key == IX_OFFSET ? x.rel : x.pos;
        if (k <= target) {
            *out = x;
            found = true;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (own)
        close(fd);
    return found;
}

/* ---------------- scanning batch headers ---------------- */

/* Reads batch headers of one segment through a small buffer, so walking
 * many small batches costs few syscalls. */
struct hscan {
    const struct seg *s;
    int64_t bpos;          /* file position of buf[0] */
    size_t blen;
    uint8_t buf[8192];
};

static void hscan_init(struct hscan *sc, const struct seg *s)
{
    sc->s = s;
    sc->bpos = 0;
    sc->blen = 0;
}

/* The header of the batch at pos, which must lie wholly within the segment.
 * KERR_NONE, or KERR_CORRUPT_MESSAGE (also for pos at the end). */
static int hscan_at(struct hscan *sc, int64_t pos, struct rb_header *h)
{
    int64_t left = sc->s->size - pos;
    if (left < RB_HEADER_SIZE)
        return KERR_CORRUPT_MESSAGE;
    if (pos < sc->bpos || pos + RB_HEADER_SIZE > sc->bpos + (int64_t)sc->blen) {
        size_t want = left < (int64_t)sizeof sc->buf ? (size_t)left : sizeof sc->buf;
        sc->blen = 0;
        if (read_full(sc->s->fd, sc->buf, want, pos) != 0)
            return KERR_CORRUPT_MESSAGE;
        sc->bpos = pos;
        sc->blen = want;
    }
    int err = rb_parse_header(sc->buf + (pos - sc->bpos), RB_HEADER_SIZE, h);
    if (err)
        return KERR_CORRUPT_MESSAGE;
    if (rb_total_size(h) > left || h->last_offset_delta < 0)
        return KERR_CORRUPT_MESSAGE;
    return KERR_NONE;
}

static int64_t last_offset(const struct rb_header *h)
{
    return h->base_offset + h->last_offset_delta;
}

/*
 * Find the first batch of s whose last offset is >= offset, starting from
 * the offset index's floor entry. Sets *pos and *h and returns true; false if
 * there is none in this segment.
 */
static bool seg_find(const struct plog *l, struct hscan *sc, int64_t offset, int64_t *pos,
                     struct rb_header *h)
{
    const struct seg *s = sc->s;
    struct ix_entry e;
    int64_t p = 0;
    /* The entry must lead to the batch it names, else the index is bad and
     * the segment is scanned from its start. */
    if (ix_floor(l, s, IX_OFFSET, offset - s->base, &e) && hscan_at(sc, e.pos, h) == 0 &&
        h->base_offset == s->base + e.rel)
        p = e.pos;
    while (p < s->size) {
        if (hscan_at(sc, p, h) != 0)
            return false;
        if (last_offset(h) >= offset) {
            *pos = p;
            return true;
        }
        p += rb_total_size(h);
    }
    return false;
}

/* Index of the segment that would hold offset: the last with base <= it. */
static int seg_for(const struct plog *l, int64_t offset)
{
    int lo = 0, hi = l->nsegs - 1, found = 0;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (l->segs[mid].base <= offset) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* ---------------- segments ---------------- */

static void seg_init(struct seg *s, int64_t base)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    s->fd = s->idx_fd = s->tix_fd = -1;
    s->max_ts = s->max_ts_off = s->tix_last_ts = -1;
    s->first_ms = -1;
}

/* Map an index file read-only, as long as segment.index.bytes lets it
 * grow (no remap as it does). A failure only means lookups use pread. */
static void ix_map(int fd, int64_t max_bytes, const uint8_t **map, size_t *len)
{
    *map = NULL;
    *len = 0;
    if (fd < 0 || max_bytes <= 0)
        return;
    void *m = mmap(NULL, (size_t)max_bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return;
    *map = m;
    *len = (size_t)max_bytes;
}

static void ix_unmap(const uint8_t **map, size_t *len)
{
    if (*map)
        munmap((void *)*map, *len);
    *map = NULL;
    *len = 0;
}

static int seg_open_indexes(const struct plog *l, struct seg *s, int extra_flags)
{
    char path[4200];
    int fl = O_RDWR | O_CREAT | O_CLOEXEC | extra_flags;
    seg_path(l, s->base, ".index", path, sizeof path);
    s->idx_fd = open(path, fl, 0644);
    seg_path(l, s->base, ".timeindex", path, sizeof path);
    s->tix_fd = open(path, fl, 0644);
    if (s->idx_fd < 0 || s->tix_fd < 0)
        return -1;
    ix_map(s->idx_fd, l->cfg.index_max_bytes, &s->idx_map, &s->idx_maplen);
    ix_map(s->tix_fd, l->cfg.index_max_bytes, &s->tix_map, &s->tix_maplen);
    return 0;
}

/* The segment stops being active: its index files are closed and unmapped. */
static void seg_close_indexes(struct seg *s)
{
    ix_unmap(&s->idx_map, &s->idx_maplen);
    ix_unmap(&s->tix_map, &s->tix_maplen);
    close_fd(&s->idx_fd);
    close_fd(&s->tix_fd);
}

static void seg_close(struct seg *s)
{
    close_fd(&s->fd);
    seg_close_indexes(s);
}

static int grow_segs(struct plog *l)
{
    if (l->nsegs < l->cap)
        return 0;
    int nc = l->cap ? l->cap * 2 : 8;
    struct seg *ns = realloc(l->segs, (size_t)nc * sizeof *ns);
    if (!ns)
        return -1;
    l->segs = ns;
    l->cap = nc;
    return 0;
}

static void seg_unlink(const struct plog *l, int64_t base);

/* Create an empty segment at `base` and make it the active one. Its three
 * files' directory entries are fsynced before anything is written to them:
 * data appended to a file whose name a power loss can undo is not durable,
 * whatever fdatasync says. A failed directory fsync takes the log offline. */
static int seg_create(struct plog *l, int64_t base)
{
    recent_reset(l);
    if (grow_segs(l) != 0)
        return -1;
    struct seg *s = &l->segs[l->nsegs];
    seg_init(s, base);
    char path[4200];
    seg_path(l, base, ".log", path, sizeof path);
    s->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool opened = s->fd >= 0 && seg_open_indexes(l, s, O_TRUNC) == 0;
    if (!opened || fio_sync_dir(l->dir) != 0) {
        int e = errno;
        seg_close(s);
        seg_unlink(l, base);
        if (opened)
            go_offline(l, "directory fsync after creating a segment", e);
        else
            KLOG_ERROR("%s: cannot create segment %020" PRId64 ": %s", l->dir, base, strerror(e));
        errno = e;
        return -1;
    }
    l->nsegs++;
    return 0;
}

/* Record the segment's max timestamp in its time index, as Kafka does when a
 * segment stops being active, so reopening knows it without a scan. */
static void seg_seal_timeindex(struct seg *s)
{
    if (s->tix_fd < 0 || s->max_ts <= s->tix_last_ts)
        return;
    struct kw w;
    kw_init(&w, NULL);
    kw_i64(&w, s->max_ts);
    kw_i32(&w, (int32_t)(s->max_ts_off - s->base));
    s->tix_last_ts = s->max_ts;
    ix_write(s->tix_fd, &w, &s->tix_n, TIX_ENTRY);
    s->dirty = true;
}

/*
 * fdatasync the segment's files, each once. A failure is never retried (see
 * fileio.h): what the sync covered may be gone whatever a second call says.
 * The .log is cut back to its last synced size, so that neither a reader
 * nor a restart finds records the broker could not make durable, and the
 * log goes offline.
 */
static int seg_sync(struct plog *l, struct seg *s)
{
    if (!s->dirty)
        return 0;
    const char *what = NULL;
    if (fio_datasync(s->fd) != 0)
        what = "fdatasync of a segment";
    else if (s->idx_fd >= 0 && fio_datasync(s->idx_fd) != 0)
        what = "fdatasync of an offset index";
    else if (s->tix_fd >= 0 && fio_datasync(s->tix_fd) != 0)
        what = "fdatasync of a time index";
    if (what) {
        int e = errno;
        if (s->synced < s->size) {
            if (fio_truncate(s->fd, (off_t)s->synced) == 0)
                KLOG_ERROR("%s: %020" PRId64 ".log cut back from %" PRId64 " to %" PRId64
                           " bytes (its last synced size)",
                           l->dir, s->base, s->size, s->synced);
            else
                KLOG_ERROR("%s: %020" PRId64 ".log cannot be cut back to its last synced size: %s",
                           l->dir, s->base, strerror(errno));
            s->size = s->synced;
            recent_reset(l);
        }
        go_offline(l, what, e);
        errno = e;
        return -1;
    }
    s->dirty = false;
    s->synced = s->size;
    return 0;
}

static bool flush_policy(const struct plog *l)
{
    return !never(l->cfg.flush_interval_messages) || !never(l->cfg.flush_interval_ms);
}

static int roll(struct plog *l)
{
    struct seg *old = active(l);
    seg_seal_timeindex(old);
    /* With a flush policy, the finished segment is made durable now; with
     * Kafka's default (never) the OS writes it back in its own time. */
    if (flush_policy(l)) {
        if (seg_sync(l, old) != 0)
            return -1;
        l->unflushed = 0;     /* the new active segment is empty */
    }
    if (seg_create(l, l->end) != 0)
        return -1;
    old = &l->segs[l->nsegs - 2];    /* seg_create may have moved the array */
    seg_close_indexes(old);
    return 0;
}

static void seg_unlink(const struct plog *l, int64_t base)
{
    static const char *const ext[] = { ".log", ".index", ".timeindex" };
    char path[4200];
    for (size_t i = 0; i < 3; i++) {
        seg_path(l, base, ext[i], path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            KLOG_WARN("cannot delete %s: %s", path, strerror(errno));
    }
}

/* Delete the oldest segment (never the active one). Readers holding a dup
 * of its fd keep reading: the data goes when the last fd closes. */
static void delete_oldest(struct plog *l)
{
    struct seg *s = &l->segs[0];
    seg_close(s);
    seg_unlink(l, s->base);
    memmove(l->segs, l->segs + 1, (size_t)(l->nsegs - 1) * sizeof *l->segs);
    l->nsegs--;
}

/* ---------------- opening and recovery ---------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* "<20 digits>.log" -> base offset, else -1. */
static int64_t parse_seg_name(const char *name)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

/* Sorted base offsets of the segments in l->dir (malloc'd, caller frees). */
static int list_segments(const struct plog *l, int64_t **out, int *n)
{
    DIR *d = opendir(l->dir);
    if (!d)
        return -1;
    int64_t *v = NULL;
    int cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t base = parse_seg_name(e->d_name);
        if (base < 0)
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                return -1;
            }
            v = nv;
        }
        v[cnt++] = base;
    }
    closedir(d);
    if (cnt > 0)
        qsort(v, (size_t)cnt, sizeof *v, cmp_i64);
    *out = v;
    *n = cnt;
    return 0;
}

/* Open an existing segment's .log (its indexes stay closed) and add it. */
static int add_segment(struct plog *l, int64_t base)
{
    if (grow_segs(l) != 0)
        return -1;
    struct seg *s = &l->segs[l->nsegs];
    seg_init(s, base);
    char path[4200];
    seg_path(l, base, ".log", path, sizeof path);
    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0 || (s->size = file_size(s->fd)) < 0) {
        int e = errno;
        seg_close(s);
        errno = e;
        return -1;
    }
    s->synced = s->size;
    l->nsegs++;
    return 0;
}

/* The last whole entry of one of s's index files, read into e. Returns the
 * number of whole entries (0 if none or no file), or -1 if it cannot be
 * read; *torn says the file ends in part of an entry. */
static int64_t ix_last(const struct plog *l, const struct seg *s, bool time, uint8_t *e,
                       bool *torn)
{
    bool own;
    int64_t esz = time ? TIX_ENTRY : IDX_ENTRY;
    *torn = false;
    int fd = ix_fd(l, s, time, &own);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int64_t sz = file_size(fd), n = sz < 0 ? -1 : sz / esz;
    *torn = sz > 0 && sz % esz != 0;
    if (n > 0 && read_full(fd, e, (size_t)esz, (n - 1) * esz) != 0)
        n = -1;
    if (own)
        close(fd);
    return n;
}

/* After a clean shutdown: a sealed segment's max timestamp is its last time
 * index entry (written when it was rolled). */
static void sealed_max_ts(const struct plog *l, struct seg *s)
{
    uint8_t e[TIX_ENTRY];
    bool torn;
    if (ix_last(l, s, true, e, &torn) > 0) {
        s->max_ts = s->tix_last_ts = (int64_t)get_be(e, 8);
        s->max_ts_off = s->base + (int32_t)get_be(e + 8, 4);
    }
}

/*
 * After a clean shutdown: trust the files, and find the log end offset by
 * walking the headers after the last offset index entry. Returns false if
 * anything disagrees, and the caller falls back to full recovery.
 */
static bool recover_clean(struct plog *l, struct seg *s)
{
    int64_t isz = file_size(s->idx_fd), tsz = file_size(s->tix_fd);
    if (isz < 0 || tsz < 0 || isz % IDX_ENTRY || tsz % TIX_ENTRY)
        return false;
    s->idx_n = isz / IDX_ENTRY;
    s->tix_n = tsz / TIX_ENTRY;
    int64_t pos = 0, next = s->base;
    uint8_t e[TIX_ENTRY];
    if (s->idx_n > 0) {
        if (read_full(s->idx_fd, e, IDX_ENTRY, isz - IDX_ENTRY) != 0)
            return false;
        next = s->base + (int32_t)get_be(e, 4);
        pos = (int32_t)get_be(e + 4, 4);
    }
    if (s->tix_n > 0) {
        if (read_full(s->tix_fd, e, TIX_ENTRY, tsz - TIX_ENTRY) != 0)
            return false;
        s->max_ts = s->tix_last_ts = (int64_t)get_be(e, 8);
        s->max_ts_off = s->base + (int32_t)get_be(e + 8, 4);
    }
    if (pos > s->size)
        return false;
    s->since_idx = s->size - pos;
    struct hscan sc;
    hscan_init(&sc, s);
    struct rb_header h;
    while (pos < s->size) {
        if (hscan_at(&sc, pos, &h) != 0 || h.base_offset != next)
            return false;
        if (h.max_timestamp > s->max_ts) {
            s->max_ts = h.max_timestamp;
            s->max_ts_off = h.base_offset;
        }
        next = last_offset(&h) + 1;
        pos += rb_total_size(&h);
    }
    l->end = next;
    return true;
}

/* CRC of the batch at pos (whose header is h), read in pieces. */
static bool batch_crc_ok(int fd, int64_t pos, const struct rb_header *h)
{
    uint8_t buf[65536];
    int64_t at = pos + 21, end = pos + rb_total_size(h);   /* CRC covers 21.. */
    uint32_t crc = 0;
    while (at < end) {
        size_t n = end - at < (int64_t)sizeof buf ? (size_t)(end - at) : sizeof buf;
        if (read_full(fd, buf, n, at) != 0)
            return false;
        crc = crc32c(crc, buf, n);
        at += (int64_t)n;
    }
    return crc == h->crc;
}

/*
 * After a crash, the tail of a sealed segment. A power loss can leave a
 * file whose size made it to disk but whose last pages did not (zeros), or
 * an index that ends in garbage; reopening must not trust either (a zeroed
 * time index entry would give the segment max timestamp 0, and retention
 * would delete it). Checked, as cheaply as the indexes allow:
 *  - the batches after the last offset index entry: sane headers, offsets
 *    following on, CRC, ending exactly where the next segment starts;
 *  - the last time index entry: it names a batch with that max timestamp,
 *    at least as large as any checked.
 * Sets the segment's max timestamp and returns true if all agree; false
 * and the caller recovers the whole segment.
 */
static bool sealed_tail_ok(const struct plog *l, struct seg *s, int64_t next_base)
{
    uint8_t e[TIX_ENTRY];
    bool torn;
    struct hscan sc;
    struct rb_header h;
    hscan_init(&sc, s);
    int64_t pos = 0, off = s->base;
    int64_t n = ix_last(l, s, false, e, &torn);
    if (n < 0 || torn)
        return false;
    if (n > 0) {
        int64_t rel = (int32_t)get_be(e, 4), p = (int32_t)get_be(e + 4, 4);
        /* A segment's first batch never gets an entry: one at 0 is zeros. */
        if (rel <= 0 || p <= 0 || hscan_at(&sc, p, &h) != 0 || h.base_offset != s->base + rel)
            return false;
        pos = p;
        off = s->base + rel;
    }
    int64_t checked_max = -1;
    while (pos < s->size) {
        if (hscan_at(&sc, pos, &h) != 0 || h.base_offset != off || !batch_crc_ok(s->fd, pos, &h))
            return false;
        if (h.max_timestamp > checked_max)
            checked_max = h.max_timestamp;
        off = last_offset(&h) + 1;
        pos += rb_total_size(&h);
    }
    if (off != next_base)
        return false;
    n = ix_last(l, s, true, e, &torn);
    if (n < 0 || torn)
        return false;
    if (n == 0)   /* no timestamps in the segment, or a lost time index */
        return checked_max < 0;
    int64_t ts = (int64_t)get_be(e, 8), ts_off = s->base + (int32_t)get_be(e + 8, 4);
    if (ts < checked_max || ts_off < s->base || ts_off >= next_base)
        return false;
    if (!seg_find(l, &sc, ts_off, &pos, &h) || h.base_offset != ts_off || h.max_timestamp != ts)
        return false;
    s->max_ts = s->tix_last_ts = ts;
    s->max_ts_off = ts_off;
    return true;
}

/*
 * Check every batch of s (header, offsets following on, CRC), cut the .log
 * at the first bad or torn one, and rebuild its indexes from what is left:
 * the active segment after a crash, or a sealed one whose tail did not check
 * out (whose indexes are then sealed and closed again). Sets *end to the
 * offset after its last batch. Returns the bytes cut off, or -1.
 */
static int64_t recover_segment(struct plog *l, struct seg *s, int64_t *end)
{
    bool sealed = s->idx_fd < 0;
    recent_reset(l);
    if (sealed && seg_open_indexes(l, s, 0) != 0)
        return -1;
    if (fio_truncate(s->idx_fd, 0) != 0 || fio_truncate(s->tix_fd, 0) != 0)
        return -1;
    s->idx_n = s->tix_n = 0;
    s->since_idx = 0;
    s->max_ts = s->max_ts_off = s->tix_last_ts = -1;
    struct hscan sc;
    hscan_init(&sc, s);
    struct ixbuf ib;
    ixbuf_init(&ib);
    int64_t pos = 0, next = s->base;
    struct rb_header h;
    while (pos < s->size) {
        if (hscan_at(&sc, pos, &h) != 0 || h.base_offset != next ||
            !batch_crc_ok(s->fd, pos, &h))
            break;
        seg_track(l, s, pos, &h, &ib);
        next = last_offset(&h) + 1;
        pos += rb_total_size(&h);
    }
    ixbuf_commit(s, &ib);
    int64_t cut = s->size - pos;
    if (cut > 0) {
        KLOG_WARN("%s: truncating %020" PRId64 ".log from %" PRId64 " to %" PRId64
                  " bytes (torn or corrupt tail)",
                  l->dir, s->base, s->size, pos);
        if (fio_truncate(s->fd, (off_t)pos) != 0)
            return -1;
        s->size = s->synced = pos;
    }
    *end = next;
    if (sealed) {
        seg_seal_timeindex(s);
        seg_close_indexes(s);
    }
    return cut;
}

static int open_active(struct plog *l, bool clean)
{
    struct seg *s = active(l);
    if (seg_open_indexes(l, s, 0) != 0)
        return -1;
    if (clean && recover_clean(l, s))
        return 0;
    KLOG_INFO("%s: %s, checking %020" PRId64 ".log (%" PRId64 " bytes)", l->dir,
              clean ? "clean-shutdown state inconsistent" : "no clean-shutdown marker",
              s->base, s->size);
    return recover_segment(l, s, &l->end) < 0 ? -1 : 0;
}

/* Drop the segments after the first n (recovery lost the offsets before
 * them: like Kafka's LogLoader, nothing is kept past a gap). */
static int drop_segments_after(struct plog *l, int n)
{
    while (l->nsegs > n) {
        l->nsegs--;
        seg_close(&l->segs[l->nsegs]);
        seg_unlink(l, l->segs[l->nsegs].base);
    }
    return fio_sync_dir(l->dir);
}

static int load(struct plog *l, bool clean)
{
    int64_t *bases;
    int n;
    if (list_segments(l, &bases, &n) != 0)
        return -1;
    int64_t lso = read_lso(l);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = add_segment(l, bases[i]);
    free(bases);
    if (rc != 0)
        return -1;
    for (int i = 0; i + 1 < l->nsegs; i++) {
        struct seg *s = &l->segs[i];
        if (clean) {
            sealed_max_ts(l, s);
            continue;
        }
        int64_t next_base = l->segs[i + 1].base, end;
        if (sealed_tail_ok(l, s, next_base))
            continue;
        KLOG_WARN("%s: sealed segment %020" PRId64 ".log does not end cleanly after an "
                  "unclean shutdown: checking all of it", l->dir, s->base);
        int64_t cut = recover_segment(l, s, &end);
        if (cut < 0)
            return -1;
        if (cut > 0 || end > next_base) {
            KLOG_WARN("%s: offsets from %" PRId64 " on are lost; deleting the %d later segment(s)",
                      l->dir, end, l->nsegs - i - 1);
            if (drop_segments_after(l, i + 1) != 0)
                return -1;
            break;
        }
        if (end != next_base)
            KLOG_WARN("%s: offsets %" PRId64 " to %" PRId64 " are missing between segments",
                      l->dir, end, next_base - 1);
    }
    if (l->nsegs > 0 && open_active(l, clean) != 0)
        return -1;
    if (l->nsegs == 0) {
        l->end = lso > 0 ? lso : 0;
        if (seg_create(l, l->end) != 0)
            return -1;
    }
    l->start = lso > l->segs[0].base ? lso : l->segs[0].base;
    if (l->start > l->end) {
        /* The start offset was persisted past what survived the crash:
         * like Kafka, drop the remains and start over at the start. */
        if (drop_segments_after(l, 0) != 0)
            return -1;
        l->end = l->start;
        if (seg_create(l, l->end) != 0)
            return -1;
    }
    return 0;
}

static void plog_free(struct plog *l)
{
    for (int i = 0; i < l->nsegs; i++)
        seg_close(&l->segs[i]);
    free(l->segs);
    free(l->recent);
    free(l->dir);
    free(l);
}

int plog_open(const char *dir, const struct plog_config *cfg, struct plog **out)
{
    *out = NULL;
    struct plog *l = calloc(1, sizeof *l);
    if (!l || !(l->dir = strdup(dir))) {
        free(l);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    l->cfg = *cfg;
    normalize_config(&l->cfg);
    l->last_flush_ms = -1;
    if (mkdir_p(dir) != 0) {
        int e = errno;
        KLOG_ERROR("%s: cannot create the log directory: %s", dir, strerror(e));
        plog_free(l);
        errno = e;
        return KERR_KAFKA_STORAGE_ERROR;
    }
    char marker[4200];
    dir_path(l, CLEAN_MARKER, marker, sizeof marker);
    bool clean = access(marker, F_OK) == 0;
    if (load(l, clean) != 0 || l->offline) {
        int e = l->offline ? l->offline_errno : errno;
        KLOG_ERROR("%s: cannot open log: %s", dir, strerror(e));
        plog_free(l);
        errno = e;
        return KERR_KAFKA_STORAGE_ERROR;
    }
    /* From here on the files change, so the marker must go, durably: a
     * marker that came back after a power loss would vouch for files it
     * never saw. */
    if (clean && ((unlink(marker) != 0 && errno != ENOENT) || fio_sync_dir(dir) != 0)) {
        int e = errno;
        KLOG_ERROR("%s: cannot remove %s: %s", dir, CLEAN_MARKER, strerror(e));
        plog_free(l);
        errno = e;
        return KERR_KAFKA_STORAGE_ERROR;
    }
    *out = l;
    return KERR_NONE;
}

/* ---------------- closing ---------------- */

int plog_close(struct plog *l)
{
    if (!l)
        return 0;
    /* The marker promises the files are consistent, so everything must be
     * on disk before it is. The first failed sync takes the log offline. */
    if (!l->offline) {
        seg_seal_timeindex(active(l));
        for (int i = 0; i < l->nsegs && !l->offline; i++)
            (void)seg_sync(l, &l->segs[i]);
    }
    int rc = 0;
    char marker[4200];
    dir_path(l, CLEAN_MARKER, marker, sizeof marker);
    int fd = l->offline ? -1 : open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        /* A marker that may vanish only costs a full recovery next start. */
        if (fio_sync_dir(l->dir) != 0)
            KLOG_WARN("%s: clean-shutdown marker not synced: %s", l->dir, strerror(errno));
    } else if (l->offline) {
        KLOG_ERROR("%s: closed offline, without a clean-shutdown marker: records that were "
                   "not durable are lost; the next start recovers what is on disk", l->dir);
        rc = -1;
    } else {
        KLOG_WARN("%s: closed without a clean-shutdown marker: %s", l->dir, strerror(errno));
    }
    plog_free(l);
    return rc;
}

void plog_delete(struct plog *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->nsegs; i++)
        seg_close(&l->segs[i]);
    DIR *d = opendir(l->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (unlinkat(dirfd(d), e->d_name, 0) != 0)
                KLOG_WARN("%s: cannot delete %s: %s", l->dir, e->d_name, strerror(errno));
        }
        closedir(d);
    }
    if (rmdir(l->dir) != 0)
        KLOG_WARN("%s: cannot remove directory: %s", l->dir, strerror(errno));
    l->nsegs = 0;
    plog_free(l);
}

/* ---------------- accessors ---------------- */

/* Topic configs altered at runtime: later appends, rolls, flushes and
 * retention checks use the new values; nothing already written changes. */
void plog_set_config(struct plog *l, const struct plog_config *cfg)
{
    l->cfg = *cfg;
    normalize_config(&l->cfg);
}

bool plog_offline(const struct plog *l) { return l->offline; }
int64_t plog_start_offset(const struct plog *l) { return l->start; }
int64_t plog_end_offset(const struct plog *l) { return l->end; }
int plog_segment_count(const struct plog *l) { return l->nsegs; }

int64_t plog_size_bytes(const struct plog *l)
{
    int64_t n = 0;
    for (int i = 0; i < l->nsegs; i++)
        n += l->segs[i].size;
    return n;
}

/* ---------------- append ---------------- */

/* Validate every batch; sum their records. */
static int validate_all(const struct plog *l, const uint8_t *p, size_t len, int64_t *count)
{
    struct rb_iter it;
    rb_iter_init(&it, p, len);
    const uint8_t *b;
    size_t bn;
    int nb = 0;
    *count = 0;
    while (rb_iter_next(&it, &b, &bn)) {
        struct rb_info info;
        int err = rb_validate(b, bn, l->cfg.max_message_bytes, &info);
        if (err)
            return err;
        *count += info.count;
        nb++;
    }
    if (it.err)
        return it.err;
    return nb > 0 ? KERR_NONE : KERR_INVALID_RECORD;
}

/* How many offset index entries appending these batches to a would add
 * (seg_track's rule: one at each batch that starts index_interval_bytes or
 * more after the previous entry). */
static int64_t index_entries(const struct plog *l, const struct seg *a, const uint8_t *records,
                             size_t len)
{
    struct rb_iter it;
    const uint8_t *b;
    size_t bn;
    int64_t since = a->since_idx, n = 0;
    rb_iter_init(&it, records, len);
    while (rb_iter_next(&it, &b, &bn)) {
        if (since > 0 && since >= l->cfg.index_interval_bytes) {
            n++;
            since = 0;
        }
        since += (int64_t)bn;
    }
    return n;
}

static bool needs_roll(const struct plog *l, const struct seg *a, const uint8_t *records,
                       size_t len, int64_t count, int64_t now_ms)
{
    if (a->size == 0)
        return false;
    if (a->size + (int64_t)len > l->cfg.segment_bytes)
        return true;
    if (!never(l->cfg.roll_ms) && a->first_ms >= 0 && now_ms - a->first_ms >= l->cfg.roll_ms)
        return true;
    /* segment.index.bytes (log.index.size.max.bytes): as Kafka, roll when
     * the offset or time index is full (isFull), or when this append's
     * entries (several batches: Produce v0-2) would overflow it. */
    int64_t k = index_entries(l, a, records, len);
    int64_t max_idx = l->cfg.index_max_bytes / IDX_ENTRY, max_tix = l->cfg.index_max_bytes / TIX_ENTRY;
    if (a->idx_n >= max_idx || a->tix_n >= max_tix || a->idx_n + k > max_idx ||
        a->tix_n + k > max_tix)
        return true;
    /* Index entries hold offsets relative to the base as int32. */
    return l->end + count - 1 - a->base > INT32_MAX;
}

int plog_append(struct plog *l, uint8_t *records, size_t len, int64_t now_ms,
                struct plog_append_result *res)
{
    if (l->offline)
        return offline_err(l);
    int64_t count;
    int err = validate_all(l, records, len, &count);
    if (err)
        return err;
    /* Kafka's RecordBatchTooLargeException: it could never fit a segment. */
    if (len > (size_t)l->cfg.segment_bytes)
        return KERR_RECORD_LIST_TOO_LARGE;
    if (needs_roll(l, active(l), records, len, count, now_ms) && roll(l) != 0)
        return KERR_KAFKA_STORAGE_ERROR;
    struct seg *a = active(l);

    /* Assign offsets. Validation guarantees count == lastOffsetDelta + 1. */
    struct rb_iter it;
    const uint8_t *b;
    size_t bn;
    int64_t next = l->end;
    rb_iter_init(&it, records, len);
    while (rb_iter_next(&it, &b, &bn)) {
        struct rb_header h;
        rb_parse_header(b, bn, &h);
        rb_set_base_offset(records + (b - records), next);
        next += (int64_t)h.last_offset_delta + 1;
    }

    /* Whatever part of a failed write made it is cut off again, so the
     * file ends on a batch and the next append goes where this one would
     * have. If even that fails, the tail is unknown: offline. */
    int wrc = fio_append(a->fd, (off_t)a->size, records, len);
    if (wrc != 0) {
        int e = errno;
        KLOG_ERROR("%s: append of %zu bytes failed: %s", l->dir, len, strerror(e));
        if (wrc == FIO_TORN)
            go_offline(l, "truncate after a failed append", e);
        errno = e;
        return KERR_KAFKA_STORAGE_ERROR;
    }

    struct ixbuf ib;
    ixbuf_init(&ib);
    rb_iter_init(&it, records, len);
    while (rb_iter_next(&it, &b, &bn)) {
        struct rb_header h;
        rb_parse_header(b, bn, &h);
        seg_track(l, a, a->size + (b - records), &h, &ib);
        recent_add(l, &h, a->size + (b - records));
    }
    ixbuf_commit(a, &ib);

    a->size += (int64_t)len;
    a->dirty = true;
    if (a->first_ms < 0)
        a->first_ms = now_ms;
    l->unflushed += count;
    /* The records become visible (the log end moves) only once they are as
     * durable as the flush policy asks: with flush.messages reached, after
     * the fdatasync. If that fails they never were: seg_sync cut them off
     * and the log is offline. */
    if (!never(l->cfg.flush_interval_messages) &&
        l->unflushed >= l->cfg.flush_interval_messages && plog_flush(l) != KERR_NONE)
        return KERR_KAFKA_STORAGE_ERROR;
    if (res) {
        res->base_offset = l->end;
        res->last_offset = next - 1;
        res->log_append_time = -1;
        res->record_count = count;
    }
    l->end = next;
    return KERR_NONE;
}

void plog_scan(struct plog *l, plog_scan_cb cb, void *arg)
{
    if (l->offline)
        return;
    struct hscan sc;
    for (int i = 0; i < l->nsegs; i++) {
        struct rb_header h;
        hscan_init(&sc, &l->segs[i]);
        for (int64_t p = 0; p < l->segs[i].size && hscan_at(&sc, p, &h) == 0;
             p += rb_total_size(&h))
            cb(&h, arg);
    }
}

/* ---------------- read ---------------- */

/* Last k in [lo, recent_n) whose batch ends at or before limit, else lo - 1. */
static int recent_last_within(const struct plog *l, int lo, int64_t limit)
{
    int hi = l->recent_n - 1, found = lo - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const struct recent *r = recent_at(l, mid);
        if (r->pos + r->len <= limit) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/*
 * plog_read's answer from the recent batches alone, for an offset below the
 * log end that falls in one of them; false, and the caller takes the index
 * path, for any other. The same answer: the batches before the first recent
 * one end below its base, so the first batch whose last offset is >= offset
 * is a recent one (seg_find's), and every batch boundary from there to the
 * segment's end is a recent batch's end (the limit walk's).
 */
static bool recent_read(struct plog *l, int64_t offset, int32_t max_bytes, struct plog_slice *out)
{
    if (!fast_paths || l->recent_n == 0 || offset < recent_at(l, 0)->base)
        return false;
    const struct seg *a = active(l);
    const struct recent *r = recent_at(l, l->recent_n - 1);
    if (r->pos + r->len != a->size || r->last < offset)
        return false;           /* not expected: see recent_reset's callers */
    /* The first recent batch whose last offset is >= offset. */
    int lo = 0, hi = l->recent_n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (recent_at(l, mid)->last >= offset)
            hi = mid;
        else
            lo = mid + 1;
    }
    r = recent_at(l, lo);
    int64_t pos = r->pos, end = r->pos + r->len;
    /* Whole batches up to max_bytes, the first one always (KIP-74). */
    int k = recent_last_within(l, lo, pos + (max_bytes > 0 ? max_bytes : 0));
    if (k > lo)
        end = recent_at(l, k)->pos + recent_at(l, k)->len;
    out->fd = a->fd;
    out->file_pos = pos;
    out->len = end - pos;
    return true;
}

int plog_read(struct plog *l, int64_t offset, int32_t max_bytes, struct plog_slice *out)
{
    if (l->offline)
        return offline_err(l);
    if (offset < l->start || offset > l->end)
        return KERR_OFFSET_OUT_OF_RANGE;
    struct seg *a = active(l);
    out->fd = a->fd;
    out->file_pos = a->size;
    out->len = 0;
    if (offset == l->end || recent_read(l, offset, max_bytes, out))
        return KERR_NONE;

    struct hscan sc;
    struct rb_header h;
    int64_t pos = 0;
    bool found = false;
    int i = seg_for(l, offset);
    /* Normally the first segment tried holds the offset; moving on only
     * matters if a segment ends early. */
    for (; i < l->nsegs && !found; i++) {
        hscan_init(&sc, &l->segs[i]);
        found = seg_find(l, &sc, offset, &pos, &h);
    }
    if (!found)
        return KERR_NONE;
    const struct seg *s = sc.s;

    int64_t end = pos + rb_total_size(&h);
    int64_t limit = pos + (max_bytes > 0 ? max_bytes : 0);
    if (limit > s->size)
        limit = s->size;
    if (limit > end) {
        /* Jump over whole batches with the index (entries sit on batch
         * starts), then walk the last few headers. */
        struct ix_entry e;
        struct rb_header jh;
        if (ix_floor(l, s, IX_POSITION, limit, &e) && e.pos > end &&
            hscan_at(&sc, e.pos, &jh) == 0 && jh.base_offset == s->base + e.rel)
            end = e.pos;
        while (end < limit && hscan_at(&sc, end, &h) == 0 &&
               end + rb_total_size(&h) <= limit)
            end += rb_total_size(&h);
    }
    out->fd = s->fd;
    out->file_pos = pos;
    out->len = end - pos;
    return KERR_NONE;
}

/* ---------------- timestamps ---------------- */

/* Read the whole batch at pos into a malloc'd buffer. */
static uint8_t *read_batch(const struct seg *s, int64_t pos, const struct rb_header *h)
{
    size_t n = (size_t)rb_total_size(h);
    uint8_t *b = malloc(n);
    if (b && read_full(s->fd, b, n, pos) != 0) {
        free(b);
        b = NULL;
    }
    return b;
}

#define TS_FOUND 1000   /* callback's stop value: not a Kafka error code */

struct ts_query {
    int64_t min_ts;        /* first record with timestamp >= min_ts */
    int64_t min_off;       /* ... and offset >= min_off */
    int64_t off, ts;       /* result, -1 if none */
};

static int ts_cb(const struct rb_record *rec, void *arg)
{
    struct ts_query *q = arg;
    if (rec->timestamp >= q->min_ts && rec->offset >= q->min_off) {
        q->off = rec->offset;
        q->ts = rec->timestamp;
        return TS_FOUND;
    }
    return 0;
}

/* Search the records of the batch at pos. If the batch cannot be decoded,
 * answer with the batch itself, which is the best the header can say. */
static bool batch_search(const struct seg *s, int64_t pos, const struct rb_header *h,
                         struct ts_query *q)
{
    q->off = q->ts = -1;
    uint8_t *b = read_batch(s, pos, h);
    int rc = b ? rb_records_foreach(b, (size_t)rb_total_size(h), ts_cb, q) : -1;
    free(b);
    if (rc == TS_FOUND)
        return true;
    if (rc == KERR_NONE)
        return false;
    q->off = h->base_offset > q->min_off ? h->base_offset : q->min_off;
    q->ts = h->max_timestamp;
    return true;
}

int plog_offset_for_timestamp(struct plog *l, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    *offset = *found_ts = -1;
    if (l->offline)
        return offline_err(l);
    struct ts_query q = { ts, l->start, -1, -1 };
    for (int i = 0; i < l->nsegs; i++) {
        const struct seg *s = &l->segs[i];
        if (s->max_ts < ts)
            continue;
        /* Start at the later of: the log start offset, and the first batch
         * that reached the time index's last timestamp <= ts (all batches
         * before it have smaller max timestamps). */
        int64_t from = l->start > s->base ? l->start : s->base;
        struct ix_entry e;
        if (ix_floor(l, s, IX_TIME, ts, &e) && s->base + e.rel > from)
            from = s->base + e.rel;
        struct hscan sc;
        hscan_init(&sc, s);
        struct rb_header h;
        int64_t pos;
        if (!seg_find(l, &sc, from, &pos, &h))
            continue;
        while (pos < s->size && hscan_at(&sc, pos, &h) == 0) {
            if (h.max_timestamp >= ts && batch_search(s, pos, &h, &q)) {
                *offset = q.off;
                *found_ts = q.ts;
                return KERR_NONE;
            }
            pos += rb_total_size(&h);
        }
    }
    return KERR_NONE;
}

int plog_max_timestamp(struct plog *l, int64_t *offset, int64_t *ts)
{
    *offset = *ts = -1;
    if (l->offline)
        return offline_err(l);
    const struct seg *best = NULL;
    for (int i = 0; i < l->nsegs; i++)
        if (l->segs[i].max_ts >= 0 && (!best || l->segs[i].max_ts > best->max_ts))
            best = &l->segs[i];
    if (!best)
        return KERR_NONE;
    struct hscan sc;
    hscan_init(&sc, best);
    struct rb_header h;
    int64_t pos;
    struct ts_query q = { best->max_ts, best->max_ts_off, -1, -1 };
    if (seg_find(l, &sc, best->max_ts_off, &pos, &h) && batch_search(best, pos, &h, &q)) {
        *offset = q.off;
        *ts = q.ts;
    } else {
        *offset = best->max_ts_off;
        *ts = best->max_ts;
    }
    return KERR_NONE;
}

/* ---------------- retention ---------------- */

static int64_t seg_age_ts(const struct seg *s)
{
    if (s->max_ts >= 0)
        return s->max_ts;
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return INT64_MAX;          /* unknown: keep it */
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

static bool oldest_deletable(const struct plog *l, int64_t now_ms, int64_t total)
{
    const struct seg *s = &l->segs[0];
    if (l->segs[1].base <= l->start)       /* entirely below the start */
        return true;
    if (!never(l->cfg.retention_ms) && now_ms - seg_age_ts(s) > l->cfg.retention_ms)
        return true;
    return !never(l->cfg.retention_bytes) && total - s->size >= l->cfg.retention_bytes;
}

int plog_enforce_retention(struct plog *l, int64_t now_ms)
{
    if (l->offline)
        return 0;
    int deleted = 0;
    int64_t total = plog_size_bytes(l);
    while (l->nsegs > 1 && oldest_deletable(l, now_ms, total)) {
        total -= l->segs[0].size;
        delete_oldest(l);
        deleted++;
    }
    /* The new start is the first segment's base, which a restart derives
     * anyway: a failed write here loses nothing. The file's directory fsync
     * also makes the deletions durable. */
    if (deleted > 0 && l->segs[0].base > l->start) {
        l->start = l->segs[0].base;
        if (write_lso(l) != 0)
            KLOG_WARN("%s: cannot write %s: %s", l->dir, LSO_FILE, strerror(errno));
    }
    return deleted;
}

int plog_delete_records(struct plog *l, int64_t before_offset)
{
    if (l->offline)
        return offline_err(l);
    if (before_offset == -1)
        before_offset = l->end;
    if (before_offset < 0 || before_offset > l->end)
        return KERR_OFFSET_OUT_OF_RANGE;
    if (before_offset <= l->start)
        return KERR_NONE;
    int64_t old = l->start;
    l->start = before_offset;
    /* Persisted before any segment goes, and synced: the client is told
     * the records are gone. On failure the file holds the old value or the
     * new one (fio_replace), both consistent; the client is told it failed. */
    if (write_lso(l) != 0) {
        int e = errno;
        KLOG_ERROR("%s: cannot write %s: %s", l->dir, LSO_FILE, strerror(e));
        l->start = old;
        errno = e;
        return KERR_KAFKA_STORAGE_ERROR;
    }
    while (l->nsegs > 1 && l->segs[1].base <= l->start)
        delete_oldest(l);
    return KERR_NONE;
}

/* ---------------- flushing ---------------- */

int plog_flush(struct plog *l)
{
    for (int i = 0; i < l->nsegs && !l->offline; i++)
        (void)seg_sync(l, &l->segs[i]);
    if (l->offline)
        return offline_err(l);
    l->unflushed = 0;
    return KERR_NONE;
}

int plog_maybe_flush(struct plog *l, int64_t now_ms)
{
    if (l->offline)
        return offline_err(l);
    if (l->last_flush_ms < 0)
        l->last_flush_ms = now_ms;
    if (never(l->cfg.flush_interval_ms) || l->unflushed == 0 ||
        now_ms - l->last_flush_ms < l->cfg.flush_interval_ms)
        return KERR_NONE;
    l->last_flush_ms = now_ms;
    return plog_flush(l);
}
