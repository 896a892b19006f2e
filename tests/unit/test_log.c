/*
 * Partition log tests, each in its own temporary directory.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../broker/log.h"   /* not common/log.h (logging) */
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
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);

    /* indexes are hints: garbage in one does not make reads wrong */
    int fd = open(seg_file(0, ".index"), O_WRONLY);
    uint8_t junk[64];
    memset(junk, 0x5a, sizeof junk);
    cr_assert_eq(pwrite(fd, junk, sizeof junk, 40), (ssize_t)sizeof junk);
    close(fd);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    for (int64_t o = 0; o < end; o++)
        check_read_contains(l, o);
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);

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
    plog_close(l);

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
    plog_close(l);

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
    plog_close(l);
}

/* A process killed right after plog_append returned (no close, no flush):
 * everything it appended is there, and the open recovers without a marker. */
Test(log, survives_kill_9)
{
    struct plog_config c = small_config();
    c.segment_bytes = 3000;
    c.index_interval_bytes = 200;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct plog *l;
        if (plog_open(pdir, &c, &l) != KERR_NONE)
            _exit(1);
        for (int i = 0; i < 40; i++) {
            struct kw w = mkbatch(2, T0 + i, 80);
            struct plog_append_result r;
            if (plog_append(l, w.buf, w.len, 0, &r) != KERR_NONE)
                _exit(2);
        }
        raise(SIGKILL);
        _exit(3);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
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
    plog_close(l);
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
    plog_close(l);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), start);
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 7);
    cr_assert_eq(plog_delete_records(l, -1), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 20);
    cr_assert_eq(plog_read(l, 20, 100, &s), KERR_NONE);
    cr_assert_eq(s.len, 0);
    plog_close(l);
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
        plog_close(l);
        cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    }
    /* a batch with an older timestamp does not hide the max */
    append(l, 2, T0, 30, 0);
    cr_assert_eq(plog_max_timestamp(l, &off, &ts), KERR_NONE);
    cr_assert_eq(off, 119);
    plog_close(l);
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
    plog_close(l);
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
    plog_close(l);
    cr_assert_eq(plog_open(pdir, &c, &l), KERR_NONE);
    cr_assert_eq(plog_start_offset(l), 12);
    cr_assert_eq(plog_end_offset(l), 12);
    struct plog_append_result r = append(l, 1, T0, 10, 0);
    cr_assert_eq(r.base_offset, 12);
    plog_close(l);
}
