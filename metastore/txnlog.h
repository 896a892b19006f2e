/*
 * txnlog.h — the transaction log: append-only files in dataLogDir.
 *
 * File "log.<first zxid, 16 hex digits>": an 8-byte magic "KVMSLOG1", then
 * records [u32 length][u32 crc32c(payload)][payload], big-endian, where the
 * payload is one txn (db.h). A record whose length runs past the end of the
 * file or whose CRC does not match is a torn tail: recovery truncates the
 * file there. A new file is started after every snapshot and at startup.
 *
 * Appends are buffered in memory; txnlog_sync() writes them and fdatasyncs
 * once (group commit). `appended` and `durable` count records so the server
 * can release replies whose txns are on disk.
 */
#ifndef KAVKA_MS_TXNLOG_H
#define KAVKA_MS_TXNLOG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define TXNLOG_MAGIC "KVMSLOG1"

struct txnlog {
    char *dir;
    int fd;
    int64_t file_zxid;    /* first zxid of the current file */
    struct kw pending;    /* framed records not yet written */
    uint64_t appended;    /* records appended since start */
    uint64_t durable;     /* records written and fsynced */
    uint64_t since_snap;  /* records since the last snapshot/roll */
};

/* Open a new log file starting at first_zxid in dir. 0 or -1 (errno). */
int txnlog_open(struct txnlog *l, const char *dir, int64_t first_zxid);
void txnlog_close(struct txnlog *l);
/* Buffer one record; returns its sequence number (l->appended after it). */
uint64_t txnlog_append(struct txnlog *l, const uint8_t *payload, size_t n);
/* Write everything buffered and fdatasync. 0 or -1. */
int txnlog_sync(struct txnlog *l);
/* Sync, close, and start "log.<next_zxid>". */
int txnlog_roll(struct txnlog *l, int64_t next_zxid);

/* Replay every record of every log file in dir, oldest file first, calling
 * fn(arg, payload, n). Torn tails are truncated away. Returns the number of
 * records read or -1 when a file cannot be read. */
typedef int (*txnlog_fn)(void *arg, const uint8_t *payload, size_t n);
long txnlog_replay(const char *dir, txnlog_fn fn, void *arg);

/* Sorted list of files in dir named prefix + 16 hex digits; zxids out.
 * Returns count or -1; *zxids malloc'd. */
int txnlog_list(const char *dir, const char *prefix, int64_t **zxids);

#include "fileio.h"   /* fsync_dir */

#endif
