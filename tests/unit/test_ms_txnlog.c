/*
 * Durability: txn log records survive a reopen; a torn tail (half a record,
 * garbage after the last record) of the newest log file is truncated on
 * replay, while corruption anywhere else, a zxid gap or duplicate, or a txn
 * that fails to apply stops recovery; a failed append is cut back and never
 * retried; recovery is the newest valid snapshot plus the log records after
 * it (an older snapshot only when the logs cover the gap); snapshots are
 * written by a forked child and never leave a partial file.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "snapshot.h"
#include "txnlog.h"

static char dir[] = "/tmp/ms-txnlog-XXXXXX";

static void setup(void)
{
    strcpy(dir, "/tmp/ms-txnlog-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(txnlog, .init = setup, .fini = teardown);

static int count_cb(void *arg, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    ++*(int *)arg;
    return 0;
}

/* A CREATE txn for path at zxid. */
static void create_txn(struct kw *w, int64_t zxid, const char *path)
{
    struct txn_hdr h = { zxid, 1, 1, 1000 + zxid, ZOP_CREATE };
    struct zacl_list acl;
    cr_assert_eq(zacl_list_open(&acl), 0);
    kw_init(w, NULL);
    txn_write_hdr(w, &h);
    jw_cstring(w, path);
    jw_buffer(w, "v", 1);
    jw_acl_list(w, &acl);
    kw_i64(w, 0);
    zacl_list_free(&acl);
}

static void write_log(int n)
{
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 1), 0);
    for (int i = 1; i <= n; i++) {
        struct kw w;
        char path[32];
        snprintf(path, sizeof path, "/n%d", i);
        create_txn(&w, i, path);
        txnlog_append(&l, w.buf, w.len);
        kw_free(&w);
    }
    cr_assert_eq(txnlog_sync(&l), 0);
    cr_assert_eq(l.durable, (uint64_t)n);
    txnlog_close(&l);
}

static off_t log_size(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/log.%016x", dir, 1);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

static void cut_and_garble(off_t cut, const void *junk, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/log.%016x", dir, 1);
    cr_assert_eq(truncate(path, cut), 0);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, junk, n), (ssize_t)n);
    close(fd);
}

Test(txnlog, replay_all)
{
    write_log(10);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 10);
    cr_assert_eq(n, 10);
}

Test(txnlog, torn_tail_truncated)
{
    write_log(10);
    off_t full = log_size();
    cut_and_garble(full - 5, "", 0);  /* half of the last record */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 9);
    off_t after = log_size();
    cr_assert_lt(after, full - 5, "the torn record is cut off");
    n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 9, "replaying again finds the same");
    cr_assert_eq(log_size(), after);
}

Test(txnlog, garbage_after_last_record)
{
    write_log(5);
    off_t full = log_size();
    const uint8_t junk[] = { 0, 0, 0, 40, 1, 2, 3, 4, 'x', 'y' };
    cut_and_garble(full, junk, sizeof junk);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 5);
    cr_assert_eq(log_size(), full);
}

Test(txnlog, bad_crc_stops_replay)
{
    write_log(3);
    off_t full = log_size();
    char path[256];
    snprintf(path, sizeof path, "%s/log.%016x", dir, 1);
    int fd = open(path, O_WRONLY);
    cr_assert_eq(pwrite(fd, "Z", 1, full - 1), 1);  /* flip a payload byte */
    close(fd);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 2);
}

Test(txnlog, recover_snapshot_plus_log)
{
    write_log(6);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(db.last_zxid, 6);
    cr_assert_not_null(tree_getc(&db.tree, "/n6"));
    cr_assert_eq(snapshot_write(&db, dir), 0);
    db_free(&db);
    /* later txns in a newer log file */
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 7), 0);
    struct kw w;
    create_txn(&w, 7, "/n7");
    txnlog_append(&l, w.buf, w.len);
    kw_free(&w);
    cr_assert_eq(txnlog_sync(&l), 0);
    txnlog_close(&l);
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(db.last_zxid, 7);
    struct znode *n = tree_getc(&db.tree, "/n3");
    cr_assert_not_null(n);
    cr_assert_eq(n->st.czxid, 3);
    cr_assert_eq(n->st.ctime, 1003);
    cr_assert_not_null(tree_getc(&db.tree, "/n7"));
    cr_assert_eq(tree_getc(&db.tree, "/")->st.cversion, 7);
    db_free(&db);
}

Test(txnlog, corrupt_snapshot_falls_back)
{
    write_log(4);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(snapshot_write(&db, dir), 0);
    db_free(&db);
    char path[256];
    snprintf(path, sizeof path, "%s/snapshot.%016x", dir, 4);
    cr_assert_eq(truncate(path, 20), 0);
    cr_assert_eq(db_recover(&db, dir, dir), 0, "a bad snapshot is skipped; the log still has it all");
    cr_assert_eq(db.last_zxid, 4);
    cr_assert_not_null(tree_getc(&db.tree, "/n4"));
    db_free(&db);
}

static int count_files(const char *prefix)
{
    int64_t *z;
    int n = txnlog_list(dir, prefix, &z);
    free(z);
    return n;
}

Test(txnlog, autopurge_keeps_what_recovery_needs)
{
    struct ms_db db;
    cr_assert_eq(db_init(&db), 0);
    struct txnlog l = { 0 };
    for (int i = 1; i <= 5; i++) {
        /* log.<10i+1> holds the txns after snapshot.<10i> */
        db.last_zxid = 10 * i;
        cr_assert_eq(snapshot_write(&db, dir), 0);
        cr_assert_eq(i == 1 ? txnlog_open(&l, dir, 10 * i + 1) : txnlog_roll(&l, 10 * i + 1), 0);
    }
    txnlog_close(&l);
    db_free(&db);
    cr_assert_eq(count_files("snapshot."), 5);
    cr_assert_eq(count_files("log."), 5);
    /* snapshots 30, 40, 50 stay; so does log.21, the newest log starting at
     * or before snapshot 30 (it could hold txns after 30), as in ZooKeeper */
    cr_assert_eq(snapshot_purge(dir, dir, 3), 3);
    cr_assert_eq(count_files("snapshot."), 3);
    cr_assert_eq(count_files("log."), 4);
    cr_assert_eq(snapshot_purge(dir, dir, 1), 0, "at least 3 snapshots are always kept");
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(db.last_zxid, 50);
    db_free(&db);
}

/* ---------------- fail-stop: replay checks ---------------- */

static char *path_of(const char *prefix, int64_t zxid)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s%016" PRIx64, dir, prefix, (uint64_t)zxid);
    return path;
}

static off_t size_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    return st.st_size;
}

/* log.<name> holding CREATE /n<z> for each z in zxids (taken as given:
 * tests use this to make gaps, duplicates and mis-named files). */
static void write_file_zxids(int64_t name, const int64_t *zxids, int n)
{
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, name), 0);
    for (int i = 0; i < n; i++) {
        struct kw w;
        char path[32];
        snprintf(path, sizeof path, "/n%" PRId64, zxids[i]);
        create_txn(&w, zxids[i], path);
        txnlog_append(&l, w.buf, w.len);
        kw_free(&w);
    }
    cr_assert_eq(txnlog_sync(&l), 0);
    txnlog_close(&l);
}

static void write_file(int64_t first, int n)
{
    int64_t z[64];
    for (int i = 0; i < n; i++)
        z[i] = first + i;
    write_file_zxids(first, z, n);
}

static void corrupt_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0);
    uint8_t b;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x5a;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

Test(txnlog, torn_tail_of_newest_file_truncated)
{
    write_file(1, 5);
    write_file(6, 5);
    off_t older = size_of(path_of("log.", 1));
    off_t newest = size_of(path_of("log.", 6));
    cr_assert_eq(truncate(path_of("log.", 6), newest - 7), 0);  /* half the last record */
    int n = 0;
    int64_t last = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, &last), 9);
    cr_assert_eq(last, 9);
    cr_assert_lt(size_of(path_of("log.", 6)), newest - 7, "cut back to the last whole record");
    cr_assert_eq(size_of(path_of("log.", 1)), older, "the older file is untouched");
}

Test(txnlog, torn_header_of_newest_file_removed)
{
    write_file(1, 3);
    int fd = open(path_of("log.", 4), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "KVMS", 4), 4);  /* crash while the header was written */
    close(fd);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 3);
    cr_assert_eq(access(path_of("log.", 4), F_OK), -1);
}

Test(txnlog, bad_record_in_older_file_is_fatal)
{
    write_file(1, 5);
    write_file(6, 5);
    off_t older = size_of(path_of("log.", 1));
    corrupt_byte(path_of("log.", 1), older - 3);  /* last record of the OLDER file */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
    cr_assert_eq(size_of(path_of("log.", 1)), older, "nothing truncated on corruption");
    cr_assert_eq(n, 4, "replay stopped at the bad record");
}

Test(txnlog, torn_record_in_older_file_is_fatal)
{
    write_file(1, 5);
    write_file(6, 5);
    off_t older = size_of(path_of("log.", 1));
    cr_assert_eq(truncate(path_of("log.", 1), older - 7), 0);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
    cr_assert_eq(size_of(path_of("log.", 1)), older - 7);
}

Test(txnlog, headerless_older_file_is_fatal)
{
    write_file(1, 5);
    write_file(6, 5);
    corrupt_byte(path_of("log.", 1), 0);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
}

Test(txnlog, zxid_gap_in_a_file_is_fatal)
{
    const int64_t z[] = { 1, 2, 4, 5 };
    write_file_zxids(1, z, 4);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
    cr_assert_eq(n, 2);
}

Test(txnlog, duplicate_zxid_is_fatal)
{
    const int64_t z[] = { 1, 2, 2, 3 };
    write_file_zxids(1, z, 4);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
}

Test(txnlog, zxid_gap_between_files_is_fatal)
{
    write_file(1, 5);
    write_file(7, 3);  /* 6 is missing */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
    cr_assert_eq(n, 5);
}

Test(txnlog, file_name_must_match_first_record)
{
    write_file(1, 5);
    const int64_t z[] = { 6, 7 };
    write_file_zxids(5, z, 2);  /* log.5 starting with zxid 6 */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), -1);
}

Test(txnlog, replay_after_a_snapshot_zxid)
{
    write_file(1, 5);
    write_file(6, 5);
    int n = 0;
    int64_t last = 0;
    cr_assert_eq(txnlog_replay(dir, 7, count_cb, &n, &last), 3, "only 8, 9, 10");
    cr_assert_eq(n, 3);
    cr_assert_eq(last, 10);
    n = 0;
    cr_assert_eq(txnlog_replay(dir, 10, count_cb, &n, &last), 0);
    cr_assert_eq(last, 10);
}

Test(txnlog, gap_after_the_snapshot_is_fatal)
{
    write_file(6, 5);  /* the state ends at 3: 4 and 5 are missing */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 3, count_cb, &n, NULL), -1);
    cr_assert_eq(n, 0);
}

/* ---------------- fail-stop: writes ---------------- */

Test(txnlog, failed_append_is_cut_back_and_never_retried)
{
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 1), 0);
    for (int i = 1; i <= 3; i++) {
        struct kw w;
        create_txn(&w, i, "/a");
        txnlog_append(&l, w.buf, w.len);
        kw_free(&w);
    }
    cr_assert_eq(txnlog_sync(&l), 0);
    off_t good = size_of(path_of("log.", 1));
    cr_assert_eq(l.size, good);
    /* The next write may grow the file by 30 bytes only: part of a record
     * goes in, then write fails with EFBIG (SIGXFSZ ignored), like ENOSPC. */
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)good + 30;
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 4; i <= 6; i++) {
        struct kw w;
        create_txn(&w, i, "/b");
        txnlog_append(&l, w.buf, w.len);
        kw_free(&w);
    }
    int rc = txnlog_sync(&l);
    int e = errno;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(rc, -1);
    cr_assert_eq(e, EFBIG);
    cr_assert(l.failed);
    cr_assert_eq(size_of(path_of("log.", 1)), good, "the partial write is cut back");
    cr_assert_eq(l.durable, 3);
    /* With room again, the log still refuses: nothing is retried. */
    cr_assert_eq(txnlog_sync(&l), -1);
    cr_assert_eq(errno, EFBIG);
    cr_assert_eq(size_of(path_of("log.", 1)), good);
    cr_assert_eq(l.durable, 3);
    txnlog_close(&l);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 3, "no torn tail, no duplicate");
}

Test(txnlog, roll_keeps_old_file_until_new_one_exists)
{
    write_file(1, 2);
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 3), 0);
    struct kw w;
    create_txn(&w, 3, "/c");
    txnlog_append(&l, w.buf, w.len);
    kw_free(&w);
    cr_assert_eq(txnlog_sync(&l), 0);
    /* The new file's header cannot be written: files may grow to 4 bytes
     * (works as root too, unlike a read-only directory). */
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4;
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = txnlog_roll(&l, 4);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(rc, -1);
    cr_assert_eq(l.file_zxid, 3, "still on the old file");
    cr_assert_eq(l.fd >= 0, 1);
    cr_assert_eq(access(path_of("log.", 4), F_OK), -1, "the half-made file is removed");
    txnlog_close(&l);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 3);
}

/* ---------------- recovery ---------------- */

Test(txnlog, apply_failure_during_recovery_is_fatal)
{
    write_file(1, 2);
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 3), 0);
    struct kw w;
    create_txn(&w, 3, "/missing/child");  /* intact, but the parent does not exist */
    txnlog_append(&l, w.buf, w.len);
    kw_free(&w);
    cr_assert_eq(txnlog_sync(&l), 0);
    txnlog_close(&l);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), -1);
}

Test(txnlog, corrupt_log_stops_recovery)
{
    write_file(1, 5);
    write_file(6, 5);
    corrupt_byte(path_of("log.", 1), size_of(path_of("log.", 1)) - 3);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), -1);
}

/* snapshot.5 over log.1 (1..5), log.6 (6..8), snapshot.8, log.9 (9). */
static void two_snapshots(void)
{
    write_file(1, 5);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(snapshot_write(&db, dir), 0);
    db_free(&db);
    write_file(6, 3);
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(db.last_zxid, 8);
    cr_assert_eq(snapshot_write(&db, dir), 0);
    db_free(&db);
    write_file(9, 1);
}

Test(txnlog, bad_snapshot_skipped_when_logs_cover_it)
{
    two_snapshots();
    cr_assert_eq(truncate(path_of("snapshot.", 8), 30), 0);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    cr_assert_eq(db.last_zxid, 9);
    cr_assert_not_null(tree_getc(&db.tree, "/n7"));
    db_free(&db);
}

Test(txnlog, bad_snapshot_fatal_when_logs_do_not_cover_it)
{
    two_snapshots();
    corrupt_byte(path_of("snapshot.", 8), 12);
    /* log.6 (6..8) is gone (purged, say): from snapshot.5 the next record
     * is 9, a gap */
    cr_assert_eq(unlink(path_of("log.", 6)), 0);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), -1);
}

Test(txnlog, bad_snapshot_fatal_when_logs_end_before_it)
{
    two_snapshots();
    corrupt_byte(path_of("snapshot.", 8), 12);
    /* the logs after 5 are gone altogether: the state would end at 5 */
    cr_assert_eq(unlink(path_of("log.", 6)), 0);
    cr_assert_eq(unlink(path_of("log.", 9)), 0);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), -1);
}

Test(txnlog, snapshot_named_for_another_zxid_is_invalid)
{
    two_snapshots();
    char other[256];
    snprintf(other, sizeof other, "%s", path_of("snapshot.", 9));
    cr_assert_eq(rename(path_of("snapshot.", 8), other), 0);  /* holds 8, named 9 */
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0, "snapshot.5 + logs reach 9");
    cr_assert_eq(db.last_zxid, 9);
    db_free(&db);
}

/* ---------------- snapshots in a child ---------------- */

static int wait_child(pid_t pid)
{
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "the child exits (status 0x%x)", st);
    return WEXITSTATUS(st);
}

Test(txnlog, snapshot_child_writes_the_tree)
{
    write_file(1, 20);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    pid_t pid = snapshot_start(&db, dir);
    cr_assert_gt(pid, 0);
    /* the parent changes its tree at once: the child wrote the old one */
    struct kw w;
    create_txn(&w, 21, "/late");
    cr_assert_eq(db_apply(&db, w.buf, w.len, NULL), ZOK);
    kw_free(&w);
    cr_assert_eq(wait_child(pid), 0);
    struct ms_db back;
    cr_assert_eq(db_init_bare(&back), 0);
    cr_assert_eq(snapshot_load(&back, path_of("snapshot.", 20)), 0);
    cr_assert_eq(back.last_zxid, 20);
    cr_assert_eq(back.tree.count, db.tree.count - 1);
    cr_assert_not_null(tree_getc(&back.tree, "/n20"));
    cr_assert_null(tree_getc(&back.tree, "/late"));
    db_free(&back);
    db_free(&db);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path_of("snapshot.", 20));
    cr_assert_eq(access(tmp, F_OK), -1);
}

Test(txnlog, failed_snapshot_child_leaves_nothing)
{
    write_file(1, 20);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100;  /* the snapshot cannot be written whole */
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pid_t pid = snapshot_start(&db, dir);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_gt(pid, 0);
    cr_assert_eq(wait_child(pid), EFBIG, "the exit status is the errno");
    cr_assert_eq(access(path_of("snapshot.", 20), F_OK), -1);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path_of("snapshot.", 20));
    cr_assert_eq(access(tmp, F_OK), -1, "the temp file is removed");
    db_free(&db);
}

Test(txnlog, killed_snapshot_leftovers_removed)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path_of("snapshot.", 7));
    int fd = open(tmp, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "KVMSSNP1", 8), 8);
    close(fd);
    cr_assert_eq(count_files("snapshot."), 0, "a temp file is not a snapshot");
    cr_assert_eq(snapshot_remove_temps(dir), 1);
    cr_assert_eq(access(tmp, F_OK), -1);
}

/* ---------------- fail-stop: injected faults (fio_fault_hook) ---------------- */

static struct {
    int fail_op;        /* the fio_op to fail, -1 for none */
    int fail_errno;
    size_t partial;     /* for writes: bytes to let through first */
    int fail_truncate;  /* errno for truncates, 0 to let them through */
    int syncs, writes, truncates, renames;
} inj;

static int inject(enum fio_op op, int fd, const char *path, size_t *len)
{
    (void)fd;
    (void)path;
    switch (op) {
    case FIO_OP_SYNC: inj.syncs++; break;
    case FIO_OP_WRITE: inj.writes++; break;
    case FIO_OP_TRUNCATE: inj.truncates++; return inj.fail_truncate;
    case FIO_OP_RENAME: inj.renames++; break;
    }
    if ((int)op != inj.fail_op)
        return 0;
    if (op == FIO_OP_WRITE && inj.partial < *len)
        *len = inj.partial;
    return inj.fail_errno;
}

static void arm(int op, int e, size_t partial)
{
    memset(&inj, 0, sizeof inj);
    inj.fail_op = op;
    inj.fail_errno = e;
    inj.partial = partial;
    fio_fault_hook = inject;
}

static void append_n(struct txnlog *l, int64_t first, int n)
{
    for (int64_t z = first; z < first + n; z++) {
        struct kw w;
        create_txn(&w, z, "/x");
        txnlog_append(l, w.buf, w.len);
        kw_free(&w);
    }
}

Test(txnlog, failed_fdatasync_is_never_retried)
{
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 1), 0);
    append_n(&l, 1, 3);
    cr_assert_eq(txnlog_sync(&l), 0);
    arm(FIO_OP_SYNC, EIO, 0);
    append_n(&l, 4, 3);
    cr_assert_eq(txnlog_sync(&l), -1);
    cr_assert_eq(errno, EIO);
    cr_assert_eq(inj.syncs, 1);
    cr_assert(l.failed);
    cr_assert_str_eq(l.fail_op, "fdatasync");
    cr_assert_eq(l.durable, 3, "what the failed sync covered is not durable");
    /* the fault is gone, but the log does not write or sync again */
    inj.fail_op = -1;
    append_n(&l, 7, 1);
    cr_assert_eq(txnlog_sync(&l), -1);
    cr_assert_eq(errno, EIO, "the first failure is reported again");
    cr_assert_eq(txnlog_roll(&l, 8), -1, "no rolling past a failed sync either");
    cr_assert_eq(inj.syncs, 1, "fdatasync was not retried");
    cr_assert_eq(inj.writes, 1, "nothing was written again");
    cr_assert_eq(l.durable, 3);
    fio_fault_hook = NULL;
    txnlog_close(&l);
}

Test(txnlog, injected_partial_write_cut_back)
{
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 1), 0);
    append_n(&l, 1, 2);
    cr_assert_eq(txnlog_sync(&l), 0);
    off_t good = size_of(path_of("log.", 1));
    arm(FIO_OP_WRITE, ENOSPC, 17);
    append_n(&l, 3, 2);
    cr_assert_eq(txnlog_sync(&l), -1);
    cr_assert_eq(errno, ENOSPC);
    cr_assert_str_eq(l.fail_op, "write");
    cr_assert_eq(inj.truncates, 1);
    cr_assert_eq(inj.syncs, 0, "no fdatasync after a failed write");
    cr_assert_eq(size_of(path_of("log.", 1)), good);
    fio_fault_hook = NULL;
    txnlog_close(&l);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 2);
}

Test(txnlog, failed_cut_back_leaves_a_torn_tail_for_recovery)
{
    struct txnlog l = { 0 };
    cr_assert_eq(txnlog_open(&l, dir, 1), 0);
    append_n(&l, 1, 2);
    cr_assert_eq(txnlog_sync(&l), 0);
    off_t good = size_of(path_of("log.", 1));
    arm(FIO_OP_WRITE, EIO, 17);
    inj.fail_truncate = EIO;
    append_n(&l, 3, 2);
    cr_assert_eq(txnlog_sync(&l), -1);
    cr_assert(l.failed);
    cr_assert_str_eq(l.fail_op, "write (and the truncate back after it)");
    cr_assert_eq(size_of(path_of("log.", 1)), good + 17, "17 torn bytes stay");
    fio_fault_hook = NULL;
    txnlog_close(&l);
    /* the process stops here; at the next start the newest file's torn
     * tail is cut */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, 0, count_cb, &n, NULL), 2);
    cr_assert_eq(size_of(path_of("log.", 1)), good);
}

static void snapshot_child_fails_on(int op)
{
    write_file(1, 5);
    struct ms_db db;
    cr_assert_eq(db_recover(&db, dir, dir), 0);
    arm(op, EIO, 0);
    pid_t pid = snapshot_start(&db, dir);
    cr_assert_gt(pid, 0);
    cr_assert_eq(wait_child(pid), EIO);
    fio_fault_hook = NULL;
    cr_assert_eq(access(path_of("snapshot.", 5), F_OK), -1, "no snapshot");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path_of("snapshot.", 5));
    cr_assert_eq(access(tmp, F_OK), -1, "no temp file either");
    db_free(&db);
}

Test(txnlog, snapshot_child_fsync_failure_leaves_nothing)
{
    snapshot_child_fails_on(FIO_OP_SYNC);
}

Test(txnlog, snapshot_child_rename_failure_leaves_nothing)
{
    snapshot_child_fails_on(FIO_OP_RENAME);
}
