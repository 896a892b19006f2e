/*
 * record_batch.h — Kafka record batches (message format v2, magic 2).
 *
 * The broker stores batches exactly as producers send them; the only byte it
 * changes is the baseOffset (rb_set_base_offset), which lies outside the CRC.
 * So this module validates, iterates and builds batches but never re-encodes
 * one.
 *
 * Layout (big-endian), offsets in bytes:
 *    0 baseOffset int64         8 batchLength int32 (bytes after this field)
 *   12 partitionLeaderEpoch     16 magic int8
 *   17 crc uint32 (CRC-32C of bytes 21..end)
 *   21 attributes int16        23 lastOffsetDelta int32
 *   27 baseTimestamp int64     35 maxTimestamp int64
 *   43 producerId int64        51 producerEpoch int16
 *   53 baseSequence int32      57 recordsCount int32
 *   61 records (compressed as one block when attributes & 7 != 0)
 * Legacy message sets (magic 0/1) share the first 17 bytes' meaning
 * (offset, size, crc, magic at 16), which is how they are recognised.
 *
 * Errors are Kafka error codes (kafka_errors.h):
 *   KERR_CORRUPT_MESSAGE       truncated, bad length, bad CRC, malformed record,
 *                              unknown magic > 2, undecompressible payload
 *   KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT  magic 0 or 1 (see docs/storage.md)
 *   KERR_INVALID_RECORD        recordsCount / lastOffsetDelta / offsetDelta
 *                              disagree with the records, or an empty batch
 *   KERR_MESSAGE_TOO_LARGE     batch above max_batch_bytes, or decompressing
 *                              to more than RB_MAX_UNCOMPRESSED bytes
 *   KERR_UNSUPPORTED_COMPRESSION_TYPE  codec 5, 6 or 7
 */
#ifndef KAVKA_RECORD_BATCH_H
#define KAVKA_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define RB_LOG_OVERHEAD 12        /* baseOffset + batchLength */
#define RB_HEADER_SIZE 61         /* bytes before the first record */
#define RB_MAGIC 2
/* Decompression bound: a batch whose records inflate beyond this is refused
 * (KERR_MESSAGE_TOO_LARGE) instead of letting a small request allocate
 * without limit. */
#define RB_MAX_UNCOMPRESSED (64 * 1024 * 1024)

enum rb_compression {
    RB_COMP_NONE = 0,
    RB_COMP_GZIP = 1,
    RB_COMP_SNAPPY = 2,
    RB_COMP_LZ4 = 3,
    RB_COMP_ZSTD = 4,
};

#define RB_ATTR_COMPRESSION_MASK 0x07
#define RB_ATTR_LOG_APPEND_TIME 0x08
#define RB_ATTR_TRANSACTIONAL 0x10
#define RB_ATTR_CONTROL 0x20

struct rb_header {
    int64_t base_offset;
    int32_t batch_length;     /* total batch size is RB_LOG_OVERHEAD + this */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
};

/*
 * Decode the fixed header from the first n bytes of p. Only the header is
 * looked at (no CRC). For magic 0/1 only base_offset, batch_length and magic
 * are filled in and KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT is returned, so a
 * caller can still tell how long the legacy entry is.
 */
int rb_parse_header(const uint8_t *p, size_t n, struct rb_header *h);

static inline int64_t rb_total_size(const struct rb_header *h)
{
    return RB_LOG_OVERHEAD + (int64_t)h->batch_length;
}

/* Header and CRC only: the check log recovery does on every batch. p..p+n
 * must be exactly one batch. */
int rb_verify_crc(const uint8_t *p, size_t n);

struct rb_info {
    int64_t size;                 /* whole batch, RB_LOG_OVERHEAD included */
    int32_t count;                /* records */
    int32_t last_offset_delta;
    int32_t partition_leader_epoch;
    int64_t base_timestamp;
    int64_t max_timestamp;        /* as in the header */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int compression;              /* enum rb_compression */
    bool is_transactional;
    bool is_control;
    bool log_append_time;
};

/*
 * Fully validate the one batch that p..p+n must be exactly: header, size
 * (<= max_batch_bytes), CRC, then decompress (bounded by RB_MAX_UNCOMPRESSED)
 * and walk every record, checking varint lengths, offsetDeltas 0..count-1,
 * recordsCount and lastOffsetDelta. Fills *info (may be NULL) on success.
 */
int rb_validate(const uint8_t *p, size_t n, int64_t max_batch_bytes,
                struct rb_info *info);

/* Patch baseOffset (bytes 0..7) in place. The CRC covers attributes onward
 * only, so the batch stays valid without recomputing it. */
void rb_set_base_offset(uint8_t *batch, int64_t off);

/*
 * Split a `records` blob (a produce request may carry several batches) into
 * batches. Only the 12-byte log overhead is read, so legacy entries split too
 * and are then refused by rb_validate.
 *
 *   struct rb_iter it; const uint8_t *b; size_t bn;
 *   rb_iter_init(&it, p, n);
 *   while (rb_iter_next(&it, &b, &bn)) ...;
 *   if (it.err) ...    // KERR_CORRUPT_MESSAGE: partial or bad-length batch
 */
struct rb_iter {
    const uint8_t *p;
    size_t left;
    int err;
};
void rb_iter_init(struct rb_iter *it, const uint8_t *p, size_t n);
bool rb_iter_next(struct rb_iter *it, const uint8_t **batch, size_t *len);

/* One record as handed to rb_records_foreach. Views point into the batch or
 * into a decompression buffer: valid during the callback only. */
struct rb_record {
    int64_t offset;               /* baseOffset + offsetDelta */
    int64_t timestamp;            /* maxTimestamp for LogAppendTime batches */
    int8_t attributes;
    struct kbytes key;            /* len -1: null */
    struct kbytes value;          /* len -1: null */
    int32_t header_count;
    const uint8_t *headers;       /* encoded headers, see rb_hdr_iter */
    size_t headers_len;
};

/* Return 0 to go on, anything else to stop: rb_records_foreach then returns
 * that value. */
typedef int (*rb_record_cb)(const struct rb_record *rec, void *arg);

/*
 * Call cb for each record of the batch p..p+n (CRC checked first, records
 * decompressed as needed). Returns KERR_NONE, a KERR_* code if the batch is
 * malformed (records before the bad one have then been seen by cb), or the
 * callback's non-zero return value.
 */
int rb_records_foreach(const uint8_t *p, size_t n, rb_record_cb cb, void *arg);

/* Record headers: key is a string (never null), value nullable bytes. */
struct rb_hdr_iter {
    struct kr r;
    int32_t left;
};
void rb_hdr_iter_init(struct rb_hdr_iter *it, const struct rb_record *rec);
bool rb_hdr_next(struct rb_hdr_iter *it, struct kstr *key, struct kbytes *value);

/*
 * Build an uncompressed batch into a writer (the broker's own records:
 * internal topics, tests). Timestamps are absolute; the header's base and max
 * timestamps and the CRC are filled in by rb_builder_finish.
 */
struct rb_hdr {
    struct kstr key;
    struct kbytes value;
};
struct rb_builder {
    struct kw *w;
    size_t start;                 /* batch position in w->buf */
    struct kw rec;                /* scratch for one record */
    int32_t count;
    int64_t base_ts;
    int64_t max_ts;
};
void rb_builder_init(struct rb_builder *b, struct kw *w, int64_t base_offset,
                     int64_t base_timestamp, int16_t attributes,
                     int64_t producer_id, int16_t producer_epoch,
                     int32_t base_sequence);
void rb_builder_add(struct rb_builder *b, int64_t timestamp, struct kbytes key,
                    struct kbytes value, const struct rb_hdr *hdrs, int32_t nhdrs);
/* Returns 0, or the writer's error. Frees the scratch writer either way. */
int rb_builder_finish(struct rb_builder *b);

#endif
