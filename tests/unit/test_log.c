/*
 * Partition log tests, each in its own temporary directory.
 */
#undef _FORTIFY_SOURCE      /* pread64 below replaces libc's, not an inline wrapper */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../broker/log/log.h"   /* not common/log.h (logging) */
#include "fileio.h"
#include "kafka_errors.h"
#include "record_batch.h"

#define T0 1700000000000LL

static char tmpdir[64];
static char pdir[128];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/kavka-logtest-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    snprintf(pdir, sizeof pdir, "%s/logs/topic-0", tmpdir);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void teardown(void)
{
    fio_fault_hook = NULL;
    plog_set_fast_paths(true);
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(log, .init = setup, .fini = teardown);

static struct plog_config small_config(void)
{
    struct plog_config c;
    plog_config_defaults(&c);
    return c;
}

/* A batch of nrec records, timestamps ts0, ts0+1, ..., values of vlen bytes
 * (value of record i starts with its index, so reads can be checked). */
static struct kw mkbatch(int nrec, int64_t ts0, int vlen)
{
    struct kw w;
    kw_init(&w, NULL);
    struct rb_builder b;
    rb_builder_init(&b, &w, 0, ts0, 0, -1, -1, -1);
    uint8_t *v = malloc((size_t)vlen + 16);
    memset(v, 'v', (size_t)vlen + 16);
    for (int i = 0; i < nrec; i++) {
        int n = snprintf((char *)v, 16, "%d", i);
        v[n] = ':';
        rb_builder_add(&b, ts0 + i, (struct kbytes){ NULL, -1 },
                       (struct kbytes){ v, vlen > n ? vlen : n + 1 }, NULL, 0);
    }
    free(v);
    cr_assert_eq(rb_builder_finish(&b), 0);
    return w;
}

static struct plog_append_result append(struct plog *l, int nrec, int64_t ts0, int vlen,
                                        int64_t now)
{
    struct kw w = mkbatch(nrec, ts0, vlen);
    struct plog_append_result r;
    cr_assert_eq(plog_append(l, w.buf, w.len, now, &r), KERR_NONE);
    kw_free(&w);
    return r;
}

static uint8_t *read_span(const struct plog_slice *s)
{
    uint8_t *b = malloc((size_t)s->len + 1);
    cr_assert_eq(pread(s->fd, b, (size_t)s->len, s->file_pos), s->len);
    return b;
}

/* Whole batches in b[0..n): count them, check offsets follow on from
 * `first`, return the next offset. */
static int64_t walk_span(const uint8_t *b, int64_t n, int64_t first)
{
    struct rb_iter it;
    const uint8_t *p;
    size_t pn;
    rb_iter_init(&it, b, (size_t)n);
    int64_t next = first;
    while (rb_iter_next(&it, &p, &pn)) {
        struct rb_header h;
        cr_assert_eq(rb_parse_header(p, pn, &h), KERR_NONE);
        cr_assert_eq(h.base_offset, next);
        cr_assert_eq(rb_validate(p, pn, INT32_MAX, NULL), KERR_NONE);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    cr_assert_eq(it.err, 0, "span does not end on a batch boundary");
    return next;
}

/* The batch that plog_read returns first must contain `off`. */
static void check_read_contains(struct plog *l, int64_t off)
{
    struct plog_slice s;
    cr_assert_eq(plog_read(l, off, 1, &s), KERR_NONE);
    cr_assert_gt(s.len, 0);
    uint8_t *b = read_span(&s);
    struct rb_header h;
    cr_assert_eq(rb_parse_header(b, (size_t)s.len, &h), KERR_NONE);
    cr_assert_eq(rb_total_size(&h), s.len, "max_bytes 1 still gives exactly one batch");
    cr_assert(h.base_offset <= off && off <= h.base_offset + h.last_offset_delta,
              "offset %lld not in batch %lld+%d", (long long)off, (long long)h.base_offset,
              h.last_offset_delta);
    free(b);
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static int64_t file_len(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static char *seg_file(int64_t base, const char *ext)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%020lld%s", pdir, (long long)base, ext);
    return p;
}

/* ---------------- append / read ---------------- */

Test(log, append_read_round_trip)
{
    struct plog_config c = small_config();
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 0);
    cr_assert_eq(plog_end_offset(l), 0);
    cr_assert_eq(file_len(seg_file(0, ".log")), 0);

    struct kw w[3] = { mkbatch(3, T0, 10), mkbatch(1, T0 + 10, 10), mkbatch(5, T0 + 20, 10) };
    int64_t expect_base[3] = { 0, 3, 4 };
    for (int i = 0; i < 3; i++) {
        struct plog_append_result r;
        cr_assert_eq(plog_append(l, w[i].buf, w[i].len, 1000, &r), KERR_NONE);
        cr_assert_eq(r.base_offset, expect_base[i]);
        cr_assert_eq(r.log_append_time, -1);
        /* the caller's buffer now carries the assigned base offset */
        struct rb_header h;
        rb_parse_header(w[i].buf, w[i].len, &h);
        cr_assert_eq(h.base_offset, expect_base[i]);
    }
    cr_assert_eq(plog_end_offset(l), 9);

    struct plog_slice s;
    cr_assert_eq(plog_read(l, 0, 1 << 20, &s), KERR_NONE);
    cr_assert_eq(s.file_pos, 0);
    cr_assert_eq(s.len, (int64_t)(w[0].len + w[1].len + w[2].len));
    uint8_t *b = read_span(&s);
    cr_assert_eq(memcmp(b, w[0].buf, w[0].len), 0, "stored exactly as sent");
    cr_assert_eq(walk_span(b, s.len, 0), 9);
    free(b);

    /* mid-batch offset: the span starts at the batch containing it */
    cr_assert_eq(plog_read(l, 6, 1 << 20, &s), KERR_NONE);
    cr_assert_eq(s.file_pos, (int64_t)(w[0].len + w[1].len));
    /* KIP-74: max_bytes smaller than the batch still returns it whole */
    cr_assert_eq(plog_read(l, 1, 5, &s), KERR_NONE);
    cr_assert_eq(s.len, (int64_t)w[0].len);
    /* max_bytes between batches: whole batches only */
    cr_assert_eq(plog_read(l, 0, (int32_t)(w[0].len + w[1].len + 3), &s), KERR_NONE);
    cr_assert_eq(s.len, (int64_t)(w[0].len + w[1].len));
    /* at the end: nothing; past it or below the start: out of range */
    cr_assert_eq(plog_read(l, 9, 1 << 20, &s), KERR_NONE);
    cr_assert_eq(s.len, 0);
    cr_assert_eq(plog_read(l, 10, 1 << 20, &s), KERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_read(l, -1, 1 << 20, &s), KERR_OFFSET_OUT_OF_RANGE);
    for (int i = 0; i < 3; i++)
        kw_free(&w[i]);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, several_batches_in_one_append)
{
    struct plog_config c = small_config();
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 2, T0, 5, 0);
    struct kw a = mkbatch(3, T0, 5), b = mkbatch(4, T0, 5);
    kw_raw(&a, b.buf, b.len);
    struct plog_append_result r;
    cr_assert_eq(plog_append(l, a.buf, a.len, 0, &r), KERR_NONE);
    cr_assert_eq(r.base_offset, 2);
    cr_assert_eq(r.last_offset, 8);
    cr_assert_eq(r.record_count, 7);
    check_read_contains(l, 5);
    check_read_contains(l, 4);
    kw_free(&a);
    kw_free(&b);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, invalid_append_writes_nothing)
{
    struct plog_config c = small_config();
    c.max_message_bytes = 2000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 2, T0, 5, 0);
    int64_t size = plog_size_bytes(l);

    /* good batch followed by one with a bad CRC */
    struct kw a = mkbatch(3, T0, 5), b = mkbatch(1, T0, 5);
    b.buf[b.len - 1] ^= 1;
    kw_raw(&a, b.buf, b.len);
    struct plog_append_result r;
    cr_assert_eq(plog_append(l, a.buf, a.len, 0, &r), KERR_CORRUPT_MESSAGE);
    /* a trailing partial batch */
    cr_assert_eq(plog_append(l, a.buf, a.len - 3, 0, &r), KERR_CORRUPT_MESSAGE);
    /* too large for max.message.bytes */
    struct kw big = mkbatch(1, T0, 3000);
    cr_assert_eq(plog_append(l, big.buf, big.len, 0, &r), KERR_MESSAGE_TOO_LARGE);
    cr_assert_eq(plog_end_offset(l), 2);
    cr_assert_eq(plog_size_bytes(l), size);
    cr_assert_eq(file_len(seg_file(0, ".log")), size);
    kw_free(&a);
    kw_free(&b);
    kw_free(&big);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- segments and indexes ---------------- */

Test(log, roll_by_size)
{
    struct plog_config c = small_config();
    c.segment_bytes = 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    struct kw one = mkbatch(2, T0, 100);   /* ~300 bytes */
    size_t bl = one.len;
    kw_free(&one);
    int per_seg = (int)(1000 / bl);
    for (int i = 0; i < 10; i++)
        append(l, 2, T0 + i, 100, 0);
    int segs = (10 + per_seg - 1) / per_seg;
    cr_assert_eq(plog_segment_count(l), segs);
    cr_assert_eq(count_files(pdir, ".log"), segs);
    cr_assert_eq(count_files(pdir, ".index"), segs);
    cr_assert_eq(count_files(pdir, ".timeindex"), segs);
    /* the second segment starts where the first ended */
    cr_assert_eq(file_len(seg_file(2 * per_seg, ".log")), (int64_t)(per_seg * bl));
    for (int64_t o = 0; o < 20; o++)
        check_read_contains(l, o);
    /* a blob that could never fit in a segment */
    struct kw huge = mkbatch(1, T0, 1200);
    struct plog_append_result r;
    cr_assert_eq(plog_append(l, huge.buf, huge.len, 0, &r), KERR_RECORD_LIST_TOO_LARGE);
    kw_free(&huge);
    cr_assert_eq(plog_end_offset(l), 20);
    /* a read never spans two segments */
    struct plog_slice s;
    cr_assert_eq(plog_read(l, 0, 1 << 20, &s), KERR_NONE);
    cr_assert_eq(s.len, (int64_t)(per_seg * bl));
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, roll_by_time)
{
    struct plog_config c = small_config();
    c.roll_ms = 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 1, T0, 10, 5000);
    append(l, 1, T0, 10, 5999);
    cr_assert_eq(plog_segment_count(l), 1);
    append(l, 1, T0, 10, 6000);
    cr_assert_eq(plog_segment_count(l), 2);
    cr_assert_eq(file_len(seg_file(2, ".log")) > 0, true);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, sparse_index_lookup_mid_segment)
{
    struct plog_config c = small_config();
    c.index_interval_bytes = 256;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 200; i++)
        append(l, 1 + i % 3, T0 + i, 40, 0);
    int64_t end = plog_end_offset(l);
    int64_t isz = file_len(seg_file(0, ".index"));
    cr_assert_gt(isz, 8 * 20, "index has entries");
    cr_assert_eq(isz % 8, 0);
    cr_assert_lt(isz, 8 * 200, "index is sparse");
    for (int64_t o = 0; o < end; o++)
        check_read_contains(l, o);
    /* a large read from mid-segment ends on a batch boundary near the limit */
    struct plog_slice s;
    cr_assert_eq(plog_read(l, 100, 3000, &s), KERR_NONE);
    cr_assert_leq(s.len, 3000);
    cr_assert_gt(s.len, 3000 - 200);
    uint8_t *b = read_span(&s);
    struct rb_header h;
    rb_parse_header(b, (size_t)s.len, &h);
    walk_span(b, s.len, h.base_offset);
    free(b);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");

    /* indexes are hints: garbage in one does not make reads wrong */
    int fd = open(seg_file(0, ".index"), O_WRONLY);
    uint8_t junk[64];
    memset(junk, 0x5a, sizeof junk);
    cr_assert_eq(pwrite(fd, junk, sizeof junk, 40), (ssize_t)sizeof junk);
    close(fd);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int64_t o = 0; o < end; o++)
        check_read_contains(l, o);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- reopen and recovery ---------------- */

Test(log, reopen_after_clean_close)
{
    struct plog_config c = small_config();
    c.segment_bytes = 2000;
    c.index_interval_bytes = 300;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 30; i++)
        append(l, 3, T0 + 10 * i, 50, 0);
    int64_t end = plog_end_offset(l), size = plog_size_bytes(l);
    int segs = plog_segment_count(l);
    cr_assert_gt(segs, 2);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    char marker[256];
    snprintf(marker, sizeof marker, "%s/.clean-shutdown", pdir);
    cr_assert_eq(access(marker, F_OK), 0);

    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_neq(access(marker, F_OK), 0, "marker removed once the log is open");
    cr_assert_eq(plog_end_offset(l), end);
    cr_assert_eq(plog_size_bytes(l), size);
    cr_assert_eq(plog_segment_count(l), segs);
    for (int64_t o = 0; o < end; o++)
        check_read_contains(l, o);
    struct plog_append_result r = append(l, 2, T0 + 1000, 50, 0);
    cr_assert_eq(r.base_offset, end);
    int64_t off, ts;
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
    cr_assert_eq(ts, T0 + 1001);
    cr_assert_eq(off, end + 1);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, reopen_after_torn_tail)
{
    struct plog_config c = small_config();
    c.index_interval_bytes = 200;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    int64_t good_size = 0, good_end = 0;
    for (int i = 0; i < 20; i++) {
        append(l, 2, T0 + i, 60, 0);
        if (i == 18) {
            good_size = plog_size_bytes(l);
            good_end = plog_end_offset(l);
        }
    }
    int64_t full = plog_size_bytes(l);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");

    char marker[256];
    snprintf(marker, sizeof marker, "%s/.clean-shutdown", pdir);
    /* 1. the last batch cut in the middle (a write torn by a crash) */
    cr_assert_eq(unlink(marker), 0);
    cr_assert_eq(truncate(seg_file(0, ".log"), full - 7), 0);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), good_end);
    cr_assert_eq(plog_size_bytes(l), good_size);
    cr_assert_eq(file_len(seg_file(0, ".log")), good_size);
    for (int64_t o = 0; o < good_end; o++)
        check_read_contains(l, o);
    struct plog_append_result r = append(l, 2, T0 + 50, 60, 0);
    cr_assert_eq(r.base_offset, good_end);
    int64_t end2 = plog_end_offset(l), size2 = plog_size_bytes(l);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");

    /* 2. garbage appended after the last batch */
    cr_assert_eq(unlink(marker), 0);
    int fd = open(seg_file(0, ".log"), O_WRONLY | O_APPEND);
    uint8_t junk[100];
    memset(junk, 0x11, sizeof junk);
    cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), end2);
    cr_assert_eq(file_len(seg_file(0, ".log")), size2);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");

    /* 3. a flipped bit inside the last batch (CRC mismatch) */
    cr_assert_eq(unlink(marker), 0);
    fd = open(seg_file(0, ".log"), O_RDWR);
    uint8_t x;
    cr_assert_eq(pread(fd, &x, 1, size2 - 3), 1);
    x ^= 0x40;
    cr_assert_eq(pwrite(fd, &x, 1, size2 - 3), 1);
    close(fd);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), good_end);
    cr_assert_eq(plog_size_bytes(l), good_size);
    for (int64_t o = 0; o < good_end; o++)
        check_read_contains(l, o);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* In a child process: open the log, append n batches made by make(i), then
 * die by SIGKILL (no close, no flush), as a killed broker would. */
static void append_then_kill9(const struct plog_config *c, int n, struct kw (*make)(int))
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct plog *l;
        if (plog_open(pdir, c, &l) != KERR_NONE)
            _exit(1);
        for (int i = 0; i < n; i++) {
            struct kw w = make(i);
            if (plog_append(l, w.buf, w.len, 0, NULL) != KERR_NONE)
                _exit(2);
        }
        raise(SIGKILL);
        _exit(3);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
}

static struct kw two_record_batch(int i) { return mkbatch(2, T0 + i, 80); }
static struct kw varied_batch(int i) { return mkbatch(1 + i % 4, T0 + i, 100 + 37 * (i % 11)); }

/* A process killed right after plog_append returned (no close, no flush):
 * everything it appended is there, and the open recovers without a marker. */
Test(log, survives_kill_9)
{
    struct plog_config c = small_config();
    c.segment_bytes = 3000;
    c.index_interval_bytes = 200;
    append_then_kill9(&c, 40, two_record_batch);
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), 80);
    cr_assert_gt(plog_segment_count(l), 1);
    for (int64_t o = 0; o < 80; o++)
        check_read_contains(l, o);
    int64_t off, ts;
    /* batch i holds T0+i, T0+i+1: T0+30 is first reached by offset 59 */
    cr_assert_eq(plog_offset_for_timestamp(l, T0 + 30, &off, &ts), KERR_NONE);
    cr_assert_eq(off, 59);
    cr_assert_eq(ts, T0 + 30);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- retention ---------------- */

Test(log, retention_by_size)
{
    struct plog_config c = small_config();
    c.segment_bytes = 1000;
    c.retention_bytes = 2500;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 20; i++)
        append(l, 2, T0 + i, 100, 0);
    int before = plog_segment_count(l);
    int n = plog_enforce_retention(l, T0 + 100);
    cr_assert_gt(n, 0);
    cr_assert_eq(plog_segment_count(l), before - n);
    cr_assert_leq(plog_size_bytes(l), 2500 + 1000, "at most one segment over");
    cr_assert_gt(plog_size_bytes(l), 2500 - 1000);
    int64_t start = plog_start_offset(l);
    cr_assert_gt(start, 0);
    cr_assert_eq(file_len(seg_file(start, ".log")) > 0, true, "start is a segment base");
    cr_assert_eq(count_files(pdir, ".log"), before - n);
    struct plog_slice s;
    cr_assert_eq(plog_read(l, start - 1, 100, &s), KERR_OFFSET_OUT_OF_RANGE);
    check_read_contains(l, start);
    cr_assert_eq(plog_enforce_retention(l, T0 + 100), 0, "idempotent");
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), start);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, retention_by_time_never_active)
{
    struct plog_config c = small_config();
    c.segment_bytes = 700;
    c.retention_ms = 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    /* timestamps T0 + 0,100,...; two ~300-byte batches per segment */
    for (int i = 0; i < 10; i++)
        append(l, 2, T0 + 100 * i, 100, 0);
    int segs = plog_segment_count(l);
    cr_assert_eq(segs, 5);
    /* at T0+1250 the segments whose newest record is older than T0+250
     * (the first: 0..101) go */
    cr_assert_eq(plog_enforce_retention(l, T0 + 1250), 1);
    cr_assert_eq(plog_start_offset(l), 4);
    /* far in the future everything but the active segment goes */
    cr_assert_eq(plog_enforce_retention(l, T0 + 1000000), segs - 2);
    cr_assert_eq(plog_segment_count(l), 1);
    cr_assert_eq(plog_start_offset(l), 16);
    cr_assert_eq(plog_end_offset(l), 20);
    check_read_contains(l, 16);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, delete_records)
{
    struct plog_config c = small_config();
    c.segment_bytes = 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 10; i++)
        append(l, 2, T0 + i, 100, 0);
    int segs = plog_segment_count(l);
    cr_assert_eq(plog_delete_records(l, 21), KERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_delete_records(l, 7), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 7);
    cr_assert_lt(plog_segment_count(l), segs, "segments wholly below 7 are gone");
    struct plog_slice s;
    cr_assert_eq(plog_read(l, 6, 100, &s), KERR_OFFSET_OUT_OF_RANGE);
    check_read_contains(l, 7);
    cr_assert_eq(plog_delete_records(l, 3), KERR_NONE, "never moves back");
    cr_assert_eq(plog_start_offset(l), 7);
    int64_t off, ts;
    cr_assert_eq(plog_offset_for_timestamp(l, T0, &off, &ts), KERR_NONE);
    cr_assert_eq(off, 7, "records below the start are not answered");
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 7);
    cr_assert_eq(plog_delete_records(l, -1), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 20);
    cr_assert_eq(plog_read(l, 20, 100, &s), KERR_NONE);
    cr_assert_eq(s.len, 0);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- timestamps ---------------- */

Test(log, timestamp_lookup)
{
    struct plog_config c = small_config();
    c.segment_bytes = 1500;
    c.index_interval_bytes = 150;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    int64_t off, ts;
    cr_assert_eq(plog_offset_for_timestamp(l, 0, &off, &ts), KERR_NONE);
    cr_assert_eq(off, -1);
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
    cr_assert_eq(off, -1);
    cr_assert_eq(ts, -1);
    /* batch i: 4 records at T0 + 10i .. T0 + 10i + 3 (offsets 4i..4i+3) */
    for (int i = 0; i < 30; i++)
        append(l, 4, T0 + 10 * i, 30, 0);
    cr_assert_gt(plog_segment_count(l), 2);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 30; i++)
            for (int k = 0; k < 4; k++) {
                cr_assert_eq(plog_offset_for_timestamp(l, T0 + 10 * i + k, &off, &ts), KERR_NONE);
                cr_assert_eq(off, 4 * i + k);
                cr_assert_eq(ts, T0 + 10 * i + k);
            }
        /* between batches: the next batch's first record */
        cr_assert_eq(plog_offset_for_timestamp(l, T0 + 55, &off, &ts), KERR_NONE);
        cr_assert_eq(off, 24);
        cr_assert_eq(ts, T0 + 60);
        cr_assert_eq(plog_offset_for_timestamp(l, 0, &off, &ts), KERR_NONE);
        cr_assert_eq(off, 0);
        cr_assert_eq(plog_offset_for_timestamp(l, T0 + 1000, &off, &ts), KERR_NONE);
        cr_assert_eq(off, -1);
        cr_assert_eq(ts, -1);
        cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
        cr_assert_eq(off, 119);
        cr_assert_eq(ts, T0 + 293);
        /* second pass: the same answers after a reopen */
        cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
        cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    }
    /* a batch with an older timestamp does not hide the max */
    append(l, 2, T0, 30, 0);
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
    cr_assert_eq(off, 119);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, max_timestamp_in_the_middle)
{
    struct plog_config c = small_config();
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 3, T0, 10, 0);
    append(l, 3, T0 + 500, 10, 0);   /* offsets 3..5, max at 5 */
    append(l, 3, T0 + 100, 10, 0);
    int64_t off, ts;
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
    cr_assert_eq(off, 5);
    cr_assert_eq(ts, T0 + 502);
    /* first record with ts >= T0+150 is in the second batch (T0+500) */
    cr_assert_eq(plog_offset_for_timestamp(l, T0 + 150, &off, &ts), KERR_NONE);
    cr_assert_eq(off, 3);
    cr_assert_eq(ts, T0 + 500);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- misc ---------------- */

Test(log, delete_removes_directory)
{
    struct plog_config c = small_config();
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 2, T0, 10, 0);
    plog_delete(l);
    cr_assert_neq(access(pdir, F_OK), 0);
}

Test(log, start_offset_survives_empty_reopen)
{
    struct plog_config c = small_config();
    c.segment_bytes = 600;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 6; i++)
        append(l, 2, T0, 100, 0);
    cr_assert_eq(plog_delete_records(l, 12), KERR_NONE);
    cr_assert_eq(plog_segment_count(l), 1);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 12);
    cr_assert_eq(plog_end_offset(l), 12);
    struct plog_append_result r = append(l, 1, T0, 10, 0);
    cr_assert_eq(r.base_offset, 12);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- failures (fileio's fault-injection hook) ---------------- */

/* Which calls fail: op `op` on files whose name ends in `suffix`, or, for
 * directory fsyncs, on the directory `dir`; after `after` of them passed.
 * err 0 only counts them. */
static struct {
    enum fio_op op;
    const char *suffix;
    const char *dir;
    int err;
    int after;
    size_t partial;      /* writes: bytes that land before the failure */
    bool fail_truncate;  /* the cut-back fails too (FIO_TORN) */
    int calls, failed;
} fx;

static bool fd_named(int fd, const char *suffix)
{
    char link[64], path[1024];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0 || !suffix)
        return false;
    path[n] = 0;
    size_t sl = strlen(suffix);
    return (size_t)n >= sl && strcmp(path + n - sl, suffix) == 0;
}

static int fault_hook(enum fio_op op, int fd, const char *path, size_t *len)
{
    if (op == FIO_OP_TRUNCATE)
        return fx.fail_truncate && fd_named(fd, fx.suffix) ? EIO : 0;
    if (op != fx.op)
        return 0;
    bool match = fd >= 0 ? fd_named(fd, fx.suffix) : (fx.dir && path && strcmp(path, fx.dir) == 0);
    if (!match)
        return 0;
    if (fx.calls++ < fx.after || fx.err == 0)
        return 0;
    fx.failed++;
    if (op == FIO_OP_WRITE && fx.partial)
        *len = fx.partial;
    return fx.err;
}

static void fault_on(enum fio_op op, const char *suffix, int err)
{
    memset(&fx, 0, sizeof fx);
    fx.op = op;
    fx.suffix = suffix;
    fx.err = err;
    fio_fault_hook = fault_hook;
}

static void fault_off(void)
{
    fio_fault_hook = NULL;
}

static bool marker_exists(void)
{
    char m[256];
    snprintf(m, sizeof m, "%s/.clean-shutdown", pdir);
    return access(m, F_OK) == 0;
}

/* Every offset in [from, to) reads back, in whole batches. */
static void check_all_readable(struct plog *l, int64_t from, int64_t to)
{
    for (int64_t o = from; o < to; o++)
        check_read_contains(l, o);
}

Test(log, failed_append_is_cut_back_and_changes_nothing)
{
    struct plog_config c = small_config();
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 3, T0, 50, 0);
    int64_t end = plog_end_offset(l), size = plog_size_bytes(l);

    /* 40 bytes of the batch land, then the disk is full. */
    fault_on(FIO_OP_WRITE, ".log", ENOSPC);
    fx.partial = 40;
    struct kw w = mkbatch(2, T0 + 10, 50);
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    kw_free(&w);
    fault_off();
    cr_assert_eq(fx.failed, 1);
    cr_assert_eq(plog_end_offset(l), end, "a failed append does not move the log end");
    cr_assert_eq(plog_size_bytes(l), size);
    cr_assert_eq(file_len(seg_file(0, ".log")), size, "the torn part is cut off");
    cr_assert_not(plog_offline(l), "a write that was cut back loses nothing: still online");

    /* The next append goes exactly where the failed one would have. */
    struct plog_append_result r = append(l, 2, T0 + 10, 50, 0);
    cr_assert_eq(r.base_offset, end);
    check_all_readable(l, 0, end + 2);
    cr_assert_eq(plog_close(l), 0);
    cr_assert(marker_exists());
}

Test(log, failed_append_that_cannot_be_cut_back_takes_the_log_offline)
{
    struct plog_config c = small_config();
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 3, T0, 50, 0);
    int64_t end = plog_end_offset(l), size = plog_size_bytes(l);
    fault_on(FIO_OP_WRITE, ".log", EIO);
    fx.partial = 40;
    fx.fail_truncate = true;
    struct kw w = mkbatch(2, T0 + 10, 50);
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    fault_off();
    cr_assert(plog_offline(l), "the file's tail is unknown: offline");
    cr_assert_eq(plog_end_offset(l), end);
    struct plog_slice sl;
    cr_assert_eq(plog_read(l, 0, 1000, &sl), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    kw_free(&w);
    cr_assert_eq(plog_close(l), -1, "closing an offline log reports it");
    cr_assert_not(marker_exists(), "no clean-shutdown marker for an offline log");
    cr_assert_eq(file_len(seg_file(0, ".log")), size + 40, "the torn 40 bytes are still there");

    /* The next start recovers: the torn bytes go, the good records stay. */
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), end);
    cr_assert_eq(file_len(seg_file(0, ".log")), size);
    check_all_readable(l, 0, end);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, failed_sync_takes_the_log_offline_and_hides_the_records)
{
    struct plog_config c = small_config();
    c.flush_interval_messages = 1;    /* fdatasync before every acknowledgement */
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 3; i++)
        append(l, 2, T0 + i, 50, 0);
    int64_t end = plog_end_offset(l), size = plog_size_bytes(l);

    fault_on(FIO_OP_SYNC, ".log", EIO);
    struct kw w = mkbatch(2, T0 + 10, 50);
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(fx.failed, 1);
    cr_assert(plog_offline(l));
    cr_assert_eq(plog_end_offset(l), end, "records a failed sync covered are never visible");
    cr_assert_eq(file_len(seg_file(0, ".log")), size, "cut back to the last synced size");

    /* Offline: nothing is served or written, and nothing is synced again. */
    fault_on(FIO_OP_SYNC, ".log", 0);   /* count only */
    struct plog_slice sl;
    int64_t off, ts;
    cr_assert_eq(plog_read(l, 0, 1000, &sl), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_read(l, end, 1000, &sl), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_offset_for_timestamp(l, T0, &off, &ts), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_delete_records(l, 1), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    kw_free(&w);
    cr_assert_eq(plog_flush(l), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_maybe_flush(l, T0), KERR_KAFKA_STORAGE_ERROR);
    cr_assert_eq(plog_close(l), -1);
    cr_assert_eq(fx.calls, 0, "a failed fdatasync is never retried");
    fault_off();
    cr_assert_not(marker_exists());

    /* After a restart: exactly the acknowledged records. */
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), end);
    check_all_readable(l, 0, end);
    struct plog_append_result r = append(l, 2, T0 + 20, 50, 0);
    cr_assert_eq(r.base_offset, end);
    cr_assert_eq(plog_close(l), 0);
}

Test(log, failed_periodic_sync_cuts_back_to_the_last_synced_size)
{
    struct plog_config c = small_config();
    c.flush_interval_messages = 4;    /* a sync every second append of 2 */
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    append(l, 2, T0, 50, 0);
    append(l, 2, T0 + 1, 50, 0);      /* synced here */
    int64_t synced = plog_size_bytes(l), synced_end = plog_end_offset(l);
    append(l, 2, T0 + 2, 50, 0);      /* acknowledged, in the page cache only */
    cr_assert_eq(plog_end_offset(l), synced_end + 2);
    fault_on(FIO_OP_SYNC, ".log", EIO);
    struct kw w = mkbatch(2, T0 + 3, 50);
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    kw_free(&w);
    fault_off();
    cr_assert(plog_offline(l));
    cr_assert_eq(file_len(seg_file(0, ".log")), synced);
    cr_assert_eq(plog_close(l), -1, "closing an offline log reports it");
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), synced_end,
                 "what the flush policy had not made durable is gone, nothing else");
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, new_segments_are_durable_in_their_directory)
{
    struct plog_config c = small_config();
    c.segment_bytes = 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    fault_on(FIO_OP_SYNC, NULL, 0);      /* count the fsyncs of the partition directory */
    fx.dir = pdir;
    for (int i = 0; i < 8; i++)
        append(l, 2, T0 + i, 200, 0);
    int rolls = plog_segment_count(l) - 1;
    cr_assert_gt(rolls, 1);
    cr_assert_geq(fx.calls, rolls, "every new segment's directory entry is fsynced");

    /* That fsync failing: the roll fails and the log goes offline. */
    int64_t end = plog_end_offset(l);
    int segs = plog_segment_count(l);
    fault_on(FIO_OP_SYNC, NULL, EIO);
    fx.dir = pdir;
    struct kw w = mkbatch(1, T0 + 9, 600);   /* does not fit: a roll */
    cr_assert_eq(plog_append(l, w.buf, w.len, 0, NULL), KERR_KAFKA_STORAGE_ERROR);
    kw_free(&w);
    fault_off();
    cr_assert(plog_offline(l));
    cr_assert_eq(plog_end_offset(l), end);
    cr_assert_eq(plog_segment_count(l), segs);
    cr_assert_eq(file_len(seg_file(end, ".log")), -1, "the half-made segment is removed");
    cr_assert_eq(plog_close(l), -1);
}

/* Base offsets of the segments on disk, ascending. */
static int seg_bases(int64_t *v, int max)
{
    DIR *d = opendir(pdir);
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len == 24 && strcmp(e->d_name + 20, ".log") == 0)
            v[n++] = strtoll(e->d_name, NULL, 10);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n;
}

/* Overwrite [from, to) of a file with zeros, keeping its size: what a power
 * loss leaves when a file's size reached the disk but its last pages did
 * not. */
static void zero_range(const char *path, int64_t from, int64_t to)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    uint8_t z[4096] = { 0 };
    for (int64_t at = from; at < to;) {
        size_t n = to - at < (int64_t)sizeof z ? (size_t)(to - at) : sizeof z;
        cr_assert_eq(pwrite(fd, z, n, at), (ssize_t)n);
        at += (int64_t)n;
    }
    close(fd);
}

/* Three or more sealed segments and an active one, closed cleanly, then the
 * marker removed: the next open is an unclean start. */
static int make_segments(struct plog_config *c, int64_t *bases, int max)
{
    c->segment_bytes = 1500;
    c->index_interval_bytes = 200;
    c->retention_ms = 24LL * 3600 * 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, c, &l), KERR_NONE);
    for (int i = 0; i < 24; i++)
        append(l, 2, T0 + i * 1000, 100, 0);
    cr_assert_geq(plog_segment_count(l), 4);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    char m[256];
    snprintf(m, sizeof m, "%s/.clean-shutdown", pdir);
    cr_assert_eq(unlink(m), 0);
    return seg_bases(bases, max);
}

/* The position of the last batch of a segment file. */
static int64_t last_batch_pos(const char *path)
{
    int64_t size = file_len(path);
    uint8_t *buf = malloc((size_t)size);
    int fd = open(path, O_RDONLY);
    cr_assert_eq(pread(fd, buf, (size_t)size, 0), size);
    close(fd);
    struct rb_iter it;
    const uint8_t *b, *last = NULL;
    size_t bn;
    rb_iter_init(&it, buf, (size_t)size);
    while (rb_iter_next(&it, &b, &bn))
        last = b;
    cr_assert(last);
    int64_t pos = last - buf;
    free(buf);
    return pos;
}

Test(log, unclean_start_cuts_a_zero_filled_tail_of_a_sealed_segment)
{
    struct plog_config c = small_config();
    int64_t bases[16];
    int n = make_segments(&c, bases, 16);
    cr_assert_geq(n, 4);
    /* The second segment's last batch and its time index seal entry are
     * zeros; the later segments were written after it. */
    char logf[256], tixf[256];
    snprintf(logf, sizeof logf, "%s", seg_file(bases[1], ".log"));
    snprintf(tixf, sizeof tixf, "%s", seg_file(bases[1], ".timeindex"));
    int64_t cut = last_batch_pos(logf), size = file_len(logf);
    zero_range(logf, cut, size);
    zero_range(tixf, file_len(tixf) - 12, file_len(tixf));

    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(file_len(logf), cut, "the zero-filled tail is cut off");
    cr_assert_eq(plog_segment_count(l), 2,
                 "like Kafka, nothing is kept past the offsets that were lost");
    cr_assert_eq(file_len(seg_file(bases[2], ".log")), -1);
    int64_t end = plog_end_offset(l);
    cr_assert_gt(end, bases[1]);
    cr_assert_lt(end, bases[2]);
    check_all_readable(l, 0, end);
    /* Retention goes by the real timestamps, not by a zeroed entry. */
    cr_assert_eq(plog_enforce_retention(l, T0 + 100000), 0);
    int64_t off, ts;
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
    cr_assert_eq(off, end - 1);
    struct plog_append_result r = append(l, 2, T0 + 99000, 100, 0);
    cr_assert_eq(r.base_offset, end);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_end_offset(l), end + 2);
    check_all_readable(l, 0, end + 2);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, unclean_start_does_not_trust_a_zeroed_time_index_tail)
{
    struct plog_config c = small_config();
    int64_t bases[16];
    int n = make_segments(&c, bases, 16);
    /* Only the first segment's time index seal entry is zeros: its max
     * timestamp would read as 0, and retention would delete it. */
    char tixf[256];
    snprintf(tixf, sizeof tixf, "%s", seg_file(bases[0], ".timeindex"));
    int64_t tsz = file_len(tixf);
    cr_assert_geq(tsz, 12);
    zero_range(tixf, tsz - 12, tsz);
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_segment_count(l), n, "the .log files were whole: nothing is lost");
    cr_assert_eq(plog_enforce_retention(l, T0 + 100000), 0,
                 "segments are within retention.ms of their real max timestamp");
    int64_t off, ts;
    cr_assert_eq(plog_offset_for_timestamp(l, T0 + 1000, &off, &ts), KERR_NONE);
    cr_assert_eq(ts, T0 + 1000);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    /* The rebuilt index holds the real max timestamp again. */
    int fd = open(tixf, O_RDONLY);
    uint8_t e[12];
    cr_assert_eq(pread(fd, e, 12, file_len(tixf) - 12), 12);
    close(fd);
    int64_t sealed = 0;
    for (int i = 0; i < 8; i++)
        sealed = sealed << 8 | e[i];
    cr_assert_gt(sealed, T0);
}

Test(log, unclean_start_checks_a_sealed_index_ending_in_zeros)
{
    struct plog_config c = small_config();
    int64_t bases[16];
    int n = make_segments(&c, bases, 16);
    char idxf[256];
    snprintf(idxf, sizeof idxf, "%s", seg_file(bases[0], ".index"));
    int64_t isz = file_len(idxf);
    cr_assert_geq(isz, 8);
    zero_range(idxf, isz - 8, isz);
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_segment_count(l), n);
    check_all_readable(l, 0, plog_end_offset(l));
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
    /* Rebuilt: its last entry is a real one again. */
    int fd = open(idxf, O_RDONLY);
    uint8_t e[8];
    cr_assert_eq(pread(fd, e, 8, file_len(idxf) - 8), 8);
    close(fd);
    cr_assert_neq(e[7] | e[6] | e[5] | e[4], 0);
}

Test(log, segment_rolls_before_its_index_outgrows_segment_index_bytes)
{
    struct plog_config c = small_config();
    c.index_interval_bytes = 1;      /* an entry at every batch but a segment's first */
    c.index_max_bytes = 40;          /* 5 offset entries, 3 time entries */
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 20; i++)
        append(l, 1, T0 + i, 20, 0);
    cr_assert_eq(plog_segment_count(l), 5, "4 batches a segment: the first, then 3 entries");
    int64_t bases[16];
    int n = seg_bases(bases, 16);
    for (int i = 0; i < n; i++) {
        cr_assert_leq(file_len(seg_file(bases[i], ".index")), 40);
        cr_assert_leq(file_len(seg_file(bases[i], ".timeindex")), 36 + 12,
                      "at most the limit, plus the seal entry at roll (Kafka skips the check there)");
    }
    check_all_readable(l, 0, 20);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ---------------- reads without syscalls ---------------- */

/* Every pread the log makes (fio_pread_full) comes here, linked in place of
 * libc's: the tests below count them. */
static long preads;

#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64
ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
#else
ssize_t pread(int fd, void *buf, size_t n, off_t off)
#endif
{
    preads++;
    return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}

/* plog_read from the log's record of recent batches and its index mappings
 * (the default) and without them must give the same answer. Returns the
 * preads the first one made. */
static long check_same_read(struct plog *l, int64_t off, int32_t max)
{
    struct plog_slice f = { -2, -2, -2 }, s = { -2, -2, -2 };
    long p0 = preads;
    int ef = plog_read(l, off, max, &f);
    long made = preads - p0;
    plog_set_fast_paths(false);
    int es = plog_read(l, off, max, &s);
    plog_set_fast_paths(true);
    cr_assert_eq(ef, es, "offset %lld max %d: error %d vs %d", (long long)off, max, ef, es);
    if (ef == KERR_NONE) {
        cr_assert(f.fd == s.fd && f.file_pos == s.file_pos && f.len == s.len,
                  "offset %lld max %d: (fd %d, pos %lld, len %lld) vs (fd %d, pos %lld, len %lld)",
                  (long long)off, max, f.fd, (long long)f.file_pos, (long long)f.len, s.fd,
                  (long long)s.file_pos, (long long)s.len);
    }
    return made;
}

static const int32_t read_limits[] = { -1, 0, 1, 61, 100, 700, 4096, 10000, 65536, INT32_MAX };
#define NLIMITS (int)(sizeof read_limits / sizeof read_limits[0])

/* check_same_read for every offset in [from, end + 1] (clamped to the log)
 * and every limit; returns how many of them made no pread. */
static long check_same_reads(struct plog *l, int64_t from)
{
    long free_reads = 0;
    if (from < plog_start_offset(l) - 1)
        from = plog_start_offset(l) - 1;
    for (int64_t o = from; o <= plog_end_offset(l) + 1; o++)
        for (int k = 0; k < NLIMITS; k++)
            free_reads += check_same_read(l, o, read_limits[k]) == 0;
    return free_reads;
}

/* Deterministic sizes: mostly small batches, some of several KiB, some
 * larger than most of read_limits. */
static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static void append_varied(struct plog *l, int i)
{
    static const int vlens[] = { 1, 1, 20, 20, 200, 1500, 9000 };
    int nrec = 1 + (int)rnd(8), vlen = vlens[rnd(7)];
    if (i % 37 == 5)
        nrec = 12, vlen = 9000;          /* ~108 KiB, more than 65536 */
    append(l, nrec, T0 + i, vlen, T0);
}

Test(log, recent_reads_match_the_index_path)
{
    struct plog_config c = small_config();
    c.segment_bytes = 300000;            /* several rolls */
    c.index_interval_bytes = 1000;
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    long free_reads = 0;
    for (int i = 0; i < 300; i++) {
        append_varied(l, i);
        /* right after each append: the offsets a caught-up consumer asks for */
        int64_t end = plog_end_offset(l);
        for (int k = 0; k < NLIMITS; k++) {
            check_same_read(l, end - 1, read_limits[k]);
            check_same_read(l, end, read_limits[k]);
        }
        if (i % 25 == 24)
            free_reads += check_same_reads(l, end - 700);
    }
    cr_assert_gt(plog_segment_count(l), 3);
    free_reads += check_same_reads(l, 0);
    cr_assert_gt(free_reads, 1000, "the recent batches served reads");

    /* A failed append changes nothing, the record of recent batches neither. */
    int64_t end = plog_end_offset(l);
    fault_on(FIO_OP_WRITE, ".log", ENOSPC);
    fx.partial = 40;
    struct kw w = mkbatch(2, T0, 50);
    cr_assert_eq(plog_append(l, w.buf, w.len, T0, NULL), KERR_KAFKA_STORAGE_ERROR);
    kw_free(&w);
    fault_off();
    cr_assert_eq(plog_end_offset(l), end);
    check_same_reads(l, end - 300);
    append(l, 3, T0, 30, T0);
    check_same_reads(l, end - 300);

    /* DeleteRecords into the active segment: below the start is out of range
     * both ways, the rest unchanged. */
    cr_assert_eq(plog_delete_records(l, plog_end_offset(l) - 5), KERR_NONE);
    check_same_reads(l, plog_start_offset(l) - 3);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

Test(log, recent_reads_match_after_recovery_and_index_changes)
{
    struct plog_config c = small_config();
    c.segment_bytes = 200000;
    c.index_interval_bytes = 0;          /* an entry at every batch */
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 150; i++)
        append_varied(l, i);
    check_same_reads(l, 0);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");

    /* Unclean: the active segment's tail is cut in the middle of a batch and
     * recovered; then the log goes on. */
    int64_t bases[64];
    int n = seg_bases(bases, 64);
    cr_assert_gt(n, 1);
    char marker[256];
    snprintf(marker, sizeof marker, "%s/.clean-shutdown", pdir);
    cr_assert_eq(unlink(marker), 0);
    char *active = seg_file(bases[n - 1], ".log");
    cr_assert_eq(truncate(active, file_len(active) - 7), 0);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    check_same_reads(l, 0);
    for (int i = 0; i < 100; i++) {
        append_varied(l, i);
        check_same_read(l, plog_end_offset(l) - 1, 1);
        check_same_read(l, plog_end_offset(l) - 1, 50000);
    }
    check_same_reads(l, 0);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");

    /* A smaller segment.index.bytes after a restart: the active segment's
     * index files are bigger than it (than their mapping). */
    c.index_max_bytes = 64;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    check_same_reads(l, 0);
    for (int i = 0; i < 40; i++)
        append_varied(l, i);
    cr_assert_gt(plog_segment_count(l), n);
    check_same_reads(l, 0);

    /* and a larger one at runtime: the mapping of the active segment's
     * index stays as it was mapped */
    c.index_max_bytes = 4096;
    plog_set_config(l, &c);
    for (int i = 0; i < 60; i++)
        append_varied(l, i);
    check_same_reads(l, 0);
    int64_t off1, ts1, off2, ts2;
    for (int64_t t = T0 - 1; t < T0 + 70; t += 3) {
        cr_assert_eq(plog_offset_for_timestamp(l, t, &off1, &ts1), KERR_NONE);
        plog_set_fast_paths(false);
        cr_assert_eq(plog_offset_for_timestamp(l, t, &off2, &ts2), KERR_NONE);
        plog_set_fast_paths(true);
        cr_assert(off1 == off2 && ts1 == ts2);
    }
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* A kill -9 leaves a log whose active segment recovery rebuilds. */
Test(log, recent_reads_match_after_kill_9)
{
    struct plog_config c = small_config();
    c.segment_bytes = 20000;
    c.index_interval_bytes = 300;
    append_then_kill9(&c, 80, varied_batch);
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    check_same_reads(l, 0);
    for (int i = 0; i < 80; i++) {
        append(l, 1 + i % 5, T0 + i, 50 + 113 * (i % 9), 0);
        check_same_read(l, plog_end_offset(l) - 1, 100);
    }
    check_same_reads(l, 0);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* What it is for: a consumer that is caught up reads without a syscall, and
 * so does an index lookup in the active segment. */
Test(log, caught_up_reads_and_active_index_lookups_make_no_pread)
{
    struct plog_config c = small_config();
    c.index_interval_bytes = 0;          /* an entry at every batch */
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 1000; i++)
        append(l, 2, T0 + i, 30, T0);
    int64_t end = plog_end_offset(l);
    cr_assert_eq(end, 2000);
    /* the last 64 batches (the record's size in log.c) */
    for (int64_t o = end - 128; o <= end; o++)
        for (int k = 0; k < NLIMITS; k++)
            cr_assert_eq(check_same_read(l, o, read_limits[k]), 0, "offset %lld", (long long)o);
    /* Older ones: the offset index lookup is free, the header read is not
     * (one pread of the 8 KiB buffer). */
    for (int64_t o = 0; o < end - 128; o += 7) {
        cr_assert_eq(check_same_read(l, o, 1), 1, "offset %lld", (long long)o);
        long p0 = preads;
        struct plog_slice s;
        plog_set_fast_paths(false);
        cr_assert_eq(plog_read(l, o, 1, &s), KERR_NONE);
        plog_set_fast_paths(true);
        if (o >= 2)
            cr_assert_gt(preads - p0, 1, "the pread path reads index entries");
    }

    /* Batches larger than the header read buffer: a lookup that landed on
     * any but the right index entry would need a second read. */
    for (int i = 0; i < 200; i++)
        append(l, 1, T0 + i, 9000, T0);
    for (int64_t o = end; o < end + 200 - 64; o++)
        cr_assert_eq(check_same_read(l, o, 1), 1, "offset %lld", (long long)o);
    end = plog_end_offset(l);

    /* A new active segment starts with no recent batches: reads of the old
     * one take the index path, those of the new one none. */
    c.segment_bytes = plog_size_bytes(l) + 10;
    plog_set_config(l, &c);
    append(l, 2, T0, 30, T0);
    cr_assert_eq(plog_segment_count(l), 2);
    cr_assert_gt(check_same_read(l, end - 1, 1), 1, "a sealed segment's index is read with pread");
    cr_assert_eq(check_same_read(l, end, 1), 0);
    cr_assert_eq(check_same_read(l, end + 1, 100000), 0);
    cr_assert_eq(check_same_read(l, end + 2, 100000), 0);
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}

/* ListOffsets by time in the active segment: its time index is read through
 * the mapping, with the same answers. */
Test(log, active_time_index_lookups_match)
{
    struct plog_config c = small_config();
    c.index_interval_bytes = 400;        /* an entry every few batches */
    struct plog *l;
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int i = 0; i < 300; i++)
        append(l, 1, T0 + 10 * i, 30, T0);
    cr_assert_gt(file_len(seg_file(0, ".timeindex")), 12 * 40);
    for (int64_t t = T0 - 3; t < T0 + 3010; t += 4) {
        int64_t off1, ts1, off2, ts2;
        long p0 = preads;
        cr_assert_eq(plog_offset_for_timestamp(l, t, &off1, &ts1), KERR_NONE);
        long fast = preads - p0;
        plog_set_fast_paths(false);
        p0 = preads;
        cr_assert_eq(plog_offset_for_timestamp(l, t, &off2, &ts2), KERR_NONE);
        long slow = preads - p0;
        plog_set_fast_paths(true);
        cr_assert(off1 == off2 && ts1 == ts2, "ts %lld: %lld/%lld vs %lld/%lld", (long long)t,
                  (long long)off1, (long long)ts1, (long long)off2, (long long)ts2);
        int64_t want = t <= T0 ? 0 : (t - T0 + 9) / 10;
        cr_assert_eq(off1, want < 300 ? want : -1);
        if (want > 1 && want < 300)
            cr_assert_lt(fast, slow, "ts %lld: %ld preads vs %ld", (long long)t, fast, slow);
    }
    cr_assert_eq(plog_close(l), 0, "close: flush and clean-shutdown marker");
}
