/*
 * txnlog.h — the transaction log: append-only files in dataLogDir.
 *
 * File "log.<first zxid, 16 hex digits>": an 8-byte magic "KVMSLOG1", then
 * records [u32 length][u32 crc32c(payload)][payload], big-endian, where the
 * payload is one txn (db.h) and so starts with its zxid. Records are
 * consecutive: every record's zxid is the previous record's + 1, across
 * files, and a file's first record has the zxid in its name. A new file is
 * started before every snapshot and at startup.
 *
 * Writing (docs/metastore.md, "Failure model"). Appends are buffered in
 * memory; txnlog_sync() writes them with one fio_append() at the end of the
 * last good record and fdatasyncs once (group commit). The server does the
 * same off its event loop: txnlog_sync_begin() hands the buffer to the log's
 * syncer thread and returns; the loop goes on taking requests (they buffer
 * for the next sync, as ZooKeeper's SyncRequestProcessor batches behind its
 * flush) and calls txnlog_sync_end() when the log's `notify_fd` (an eventfd)
 * becomes readable. While a sync is in flight only the thread touches the
 * file, its size and the handed-over buffer. `appended` and
 * `durable` count records so the server can release replies whose txns are
 * on disk. A failed or partial write is cut back to the last good size by
 * fio_append, a failed fdatasync is never retried: either failure makes the
 * log refuse everything after it (`failed`), and the server stops without
 * acknowledging what the failed sync covered.
 *
 * Replay (recovery) is strict: only the torn tail of the newest file is
 * tolerated (and truncated, as ZooKeeper does); anything else that is wrong
 * stops recovery with an error naming the file and offset.
 */
#ifndef KAVKA_MS_TXNLOG_H
#define KAVKA_MS_TXNLOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fileio.h"
#include "wire.h"
#include "compiler.h"

#define TXNLOG_MAGIC "KVMSLOG1"

struct txnlog {
    char *dir;
    int fd;
    int64_t file_zxid;    /* first zxid of the current file */
    off_t size;           /* bytes of the current file that hold good records */
    struct kw pending;    /* framed records not yet written */
    uint64_t appended;    /* records appended since start */
    uint64_t durable;     /* records written and fsynced */
    uint64_t since_snap;  /* records since the last snapshot/roll */
    bool failed;          /* a write or fdatasync failed: nothing more is written */
    const char *fail_op;  /* what failed ("write", "fdatasync", ...) */
    int fail_errno;
    /* The syncer thread (started by the first txnlog_sync_begin). */
    struct txnlog_syncer *syncer;
    int notify_fd;        /* eventfd: readable when an asynchronous sync is done; -1 before */
};

/* Open a new log file starting at first_zxid in dir (header written and
 * fdatasynced, directory fsynced). 0 or -1 (errno). */
int txnlog_open(struct txnlog *l, const char *dir, int64_t first_zxid) KV_MUST_CHECK;
void txnlog_close(struct txnlog *l);
/* Buffer one record; returns its sequence number (l->appended after it). */
uint64_t txnlog_append(struct txnlog *l, const uint8_t *payload, size_t n);
/* Write everything buffered and fdatasync once. 0, or -1 with errno and
 * l->failed set: the write was cut back to the last good record (or that cut
 * failed too) or the fdatasync failed; every later call fails the same way,
 * nothing is ever written or synced again. */
int txnlog_sync(struct txnlog *l) KV_MUST_CHECK;
/* Start writing and syncing what is buffered on the syncer thread. 1 when
 * started, 0 when there is nothing to sync or a sync is already in flight
 * (its end is the time to try again), -1 (errno; l->failed set or the thread
 * could not start). */
int txnlog_sync_begin(struct txnlog *l) KV_MUST_CHECK;
/* After notify_fd became readable: collect the sync's result. 0 (what it
 * covered is durable: l->durable moved), 1 if nothing had finished, or -1
 * with l->failed set as txnlog_sync fails. */
int txnlog_sync_end(struct txnlog *l) KV_MUST_CHECK;
/* A sync is in flight on the syncer thread. */
bool txnlog_sync_busy(const struct txnlog *l);
/* Sync, then start "log.<next_zxid>" (the old file is closed only once the
 * new one is in place). 0 or -1. */
int txnlog_roll(struct txnlog *l, int64_t next_zxid) KV_MUST_CHECK;

/* Replay the log files in dir for a state that already holds every txn up to
 * `after` (a snapshot's zxid, or 0): reads the newest file whose first zxid
 * is <= after + 1 and every later one, checks zxid continuity (each record
 * = previous + 1, across files; a file's first record = its name; the first
 * record past `after` = after + 1) and calls fn(arg, payload, n) for every
 * record with a zxid > after, oldest first.
 *
 * The torn tail of the newest file (a record that runs past the end or fails
 * its CRC, and everything after it; or a header cut short) is truncated and
 * the truncation fsynced. Anything else is corruption: a file other than the
 * newest that cannot be read, has no header or holds a bad record; a zxid gap
 * or duplicate; a record fn rejects. It is logged with the file and offset
 * and -1 returned (nothing is truncated then).
 *
 * Returns the number of records passed to fn, with *last (may be NULL) the
 * zxid of the last record read (`after` when none is newer). */
typedef int (*txnlog_fn)(void *arg, const uint8_t *payload, size_t n);
long txnlog_replay(const char *dir, int64_t after, txnlog_fn fn, void *arg, int64_t *last) KV_MUST_CHECK;

/* Sorted list of files in dir named prefix + 16 hex digits; zxids out.
 * Returns count or -1; *zxids malloc'd. */
int txnlog_list(const char *dir, const char *prefix, int64_t **zxids) KV_MUST_CHECK;

/* The whole file at path, read with fio_pread_full (malloc'd; *len its
 * size). NULL with errno on failure. */
uint8_t *txnlog_read_file(const char *path, size_t *len) KV_MUST_CHECK;

#endif
