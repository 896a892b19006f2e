/*
 * log.h — one partition's log: segment files in Kafka's layout.
 *
 *   <dir>/00000000000000000000.log        batches exactly as received, with
 *                                         baseOffset patched in place
 *   <dir>/00000000000000000000.index      sparse offset index: entries of
 *                                         int32 offset - base, int32 position
 *   <dir>/00000000000000000000.timeindex  int64 max timestamp so far,
 *                                         int32 offset - base
 *   <dir>/log-start-offset                the log start offset, as text
 *   <dir>/.clean-shutdown                 present only between plog_close
 *                                         and the next plog_open
 *
 * (<dir> is `<log.dir>/<topic>-<partition>`, chosen by the caller.) See
 * docs/storage.md for recovery and retention.
 *
 * Functions returning int return Kafka error codes (kafka_errors.h):
 * KERR_NONE, KERR_KAFKA_STORAGE_ERROR for I/O failures (errno kept), or the
 * specific code named below. A log is not thread-safe: one thread owns it.
 *
 * Failure model (docs/storage.md): a failed append is cut back and changes
 * nothing; a failed fdatasync (or directory fsync) is never retried and
 * takes the log offline: the .log is cut back to its last synced size, and
 * every later append, read, timestamp lookup, DeleteRecords and flush
 * answers KAFKA_STORAGE_ERROR until the log is reopened (broker restart).
 */
#ifndef KAVKA_BROKER_LOG_H
#define KAVKA_BROKER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compiler.h"

/*
 * Values <= 0 for segment_bytes and max_message_bytes, and < 0 for
 * index_interval_bytes (0: an index entry at every batch but a segment's
 * first), mean the Kafka default. "Never" is < 0 for retention_ms,
 * retention_bytes and flush_interval_ms, <= 0 for roll_ms and
 * flush_interval_messages, and INT64_MAX for all of them (Kafka's own
 * spelling of never).
 */
struct plog_config {
    int64_t segment_bytes;            /* segment.bytes (1 GiB; max 2 GiB - 1) */
    int64_t roll_ms;                  /* segment.ms (7 days) */
    int64_t retention_ms;             /* retention.ms (7 days) */
    int64_t retention_bytes;          /* retention.bytes (-1) */
    int64_t flush_interval_messages;  /* flush.messages (never) */
    int64_t flush_interval_ms;        /* flush.ms (never) */
    int32_t index_interval_bytes;     /* index.interval.bytes (4096) */
    int32_t max_message_bytes;        /* max.message.bytes (1048588) */
    int32_t index_max_bytes;          /* segment.index.bytes (10 MiB): roll before
                                         an index would grow past it */
};

/* Kafka's defaults. */
void plog_config_defaults(struct plog_config *c);

struct plog;

/* Create `dir` if needed (parents too), load its segments and recover: see
 * docs/storage.md. The log keeps a copy of *cfg. */
int plog_open(const char *dir, const struct plog_config *cfg, struct plog **out) KV_MUST_CHECK;

/* Flush, then write the clean-shutdown marker that lets the next open skip
 * the CRC scan, and free the log. Returns 0, or -1 when the log is (or, by a
 * failed flush, went) offline: records it acknowledged may be lost, and no
 * marker was written. NULL is ignored (0). */
int plog_close(struct plog *l) KV_MUST_CHECK;

/* Close and remove the directory with everything in it (topic deletion). */
void plog_delete(struct plog *l);

/* Replace the log's settings (AlterConfigs); takes effect from the next
 * append, roll, flush or retention check. */
void plog_set_config(struct plog *l, const struct plog_config *cfg);

/* Offline after a failed sync (see above)? Callers that answer from the
 * accessors below without calling into the log check this first. */
bool plog_offline(const struct plog *l);

/* Called once for each log that goes offline, with its directory and the
 * errno (the broker checks whether the whole log dir is gone). Process-wide;
 * NULL to unset. */
typedef void (*plog_offline_fn)(const char *dir, int err, void *arg);
void plog_set_offline_hook(plog_offline_fn fn, void *arg);

int64_t plog_start_offset(const struct plog *l);
int64_t plog_end_offset(const struct plog *l);    /* log end offset (LEO) */
int64_t plog_size_bytes(const struct plog *l);    /* all segments */
int plog_segment_count(const struct plog *l);

struct plog_append_result {
    int64_t base_offset;       /* offset of the first record appended */
    int64_t last_offset;
    int64_t log_append_time;   /* -1: CreateTime (the only mode so far) */
    int64_t record_count;
};

/*
 * Append the batches in records[0..len) (a produce request's `records`,
 * possibly several batches). All are validated first (rb_validate; the first
 * error is returned and nothing is written), then given consecutive offsets
 * by patching their baseOffset in `records` in place, and written at the
 * segment's end (fio_append, cut back on failure): once that returns, the
 * data survives the process being killed.
 * The active segment is rolled first if the append would overflow it or
 * its indexes (index_max_bytes), or it is older than roll_ms. Errors also
 * include KERR_INVALID_RECORD for an empty blob and
 * KERR_RECORD_LIST_TOO_LARGE for a blob larger than segment_bytes.
 * The log end moves only on success, and only once the records are as
 * durable as the flush policy asks (fdatasync'ed first when
 * flush_interval_messages is reached): on KAFKA_STORAGE_ERROR nothing of
 * the append is ever served.
 */
int plog_append(struct plog *l, uint8_t *records, size_t len, int64_t now_ms,
                struct plog_append_result *res) KV_MUST_CHECK;

/* A span of one segment file: whole batches starting with the one that
 * contains the requested offset. fd stays owned by the log (dup it to keep
 * it beyond the next call that may delete or roll segments). */
struct plog_slice {
    int fd;
    int64_t file_pos;
    int64_t len;               /* 0 when the offset is the log end offset */
};

/*
 * KERR_OFFSET_OUT_OF_RANGE unless start <= offset <= end. The span holds as
 * many whole batches as fit in max_bytes, but always the first one even if it
 * is larger (KIP-74), and never crosses into the next segment.
 */
int plog_read(struct plog *l, int64_t offset, int32_t max_bytes, struct plog_slice *out) KV_MUST_CHECK;

/* Tests only (process-wide, default true): false makes plog_read and index
 * lookups ignore the log's record of recent batches and its mappings of the
 * active segment's indexes, and read the files as for older segments, so
 * both ways can be compared on one log. */
void plog_set_fast_paths(bool on);

/* ListOffsets by time: the first record at or after the log start with
 * timestamp >= ts, with its timestamp; *offset = *found_ts = -1 if none. */
int plog_offset_for_timestamp(struct plog *l, int64_t ts, int64_t *offset, int64_t *found_ts) KV_MUST_CHECK;

/* ListOffsets -3 (KIP-734): the first record with the largest timestamp;
 * -1/-1 when the log has no timestamped record. */
int plog_max_timestamp(struct plog *l, int64_t *offset, int64_t *ts) KV_MUST_CHECK;

/* Delete whole segments, oldest first, that are older than retention_ms (by
 * their largest timestamp, else file mtime), that retention_bytes says to
 * drop, or that lie entirely below the log start offset. Never the active
 * segment. Returns the number of segments deleted. */
int plog_enforce_retention(struct plog *l, int64_t now_ms);

/* DeleteRecords: move the log start offset up to before_offset (-1: the log
 * end offset), persist it, and delete the segments entirely below it.
 * KERR_OFFSET_OUT_OF_RANGE if before_offset > end. Never moves it back. */
int plog_delete_records(struct plog *l, int64_t before_offset) KV_MUST_CHECK;

/* Call cb with the header of every batch in the log, oldest first (only
 * headers are read, no CRC check): how producer state is rebuilt at open.
 * Stops at the first unreadable header of a segment and goes on with the
 * next one. */
struct rb_header;
typedef void (*plog_scan_cb)(const struct rb_header *h, void *arg);
void plog_scan(struct plog *l, plog_scan_cb cb, void *arg);

/* fdatasync the active segment and its indexes. */
int plog_flush(struct plog *l) KV_MUST_CHECK;
/* Flush if flush_interval_ms has passed since the last flush. */
int plog_maybe_flush(struct plog *l, int64_t now_ms) KV_MUST_CHECK;

#endif
