/*
 * Durability: txn log records survive a reopen, a torn tail (half a record,
 * garbage after the last record) is truncated on replay, and recovery is
 * the newest valid snapshot plus the log records after it.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    cr_assert_eq(txnlog_replay(dir, count_cb, &n), 10);
    cr_assert_eq(n, 10);
}

Test(txnlog, torn_tail_truncated)
{
    write_log(10);
    off_t full = log_size();
    cut_and_garble(full - 5, "", 0);  /* half of the last record */
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, count_cb, &n), 9);
    off_t after = log_size();
    cr_assert_lt(after, full - 5, "the torn record is cut off");
    n = 0;
    cr_assert_eq(txnlog_replay(dir, count_cb, &n), 9, "replaying again finds the same");
    cr_assert_eq(log_size(), after);
}

Test(txnlog, garbage_after_last_record)
{
    write_log(5);
    off_t full = log_size();
    const uint8_t junk[] = { 0, 0, 0, 40, 1, 2, 3, 4, 'x', 'y' };
    cut_and_garble(full, junk, sizeof junk);
    int n = 0;
    cr_assert_eq(txnlog_replay(dir, count_cb, &n), 5);
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
    cr_assert_eq(txnlog_replay(dir, count_cb, &n), 2);
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
