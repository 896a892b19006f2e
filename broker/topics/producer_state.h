/*
 * producer_state.h — idempotent producers' sequence state of one partition.
 *
 * For each producer id seen on a partition: its current epoch and the last
 * PSTATE_CACHED batches it appended (sequence range and offsets), as Kafka's
 * ProducerStateManager keeps them. Produce consults it before appending a
 * batch that carries a producer id:
 *   - a batch equal to a cached one (same epoch, first and last sequence) is
 *     a retry of an acknowledged batch: answered with its original offset,
 *     not stored again;
 *   - an older epoch is fenced (INVALID_PRODUCER_EPOCH);
 *   - a newer epoch must start at sequence 0, the same epoch must continue
 *     at last sequence + 1 (wrapping at INT32_MAX), else
 *     OUT_OF_ORDER_SEQUENCE_NUMBER;
 *   - a producer the partition has no state for (new, or its batches were
 *     removed by retention) is accepted at any sequence, as Kafka does.
 * The state is not persisted: it is rebuilt from the batch headers in the
 * log when the partition opens (plog_scan).
 */
#ifndef KAVKA_PRODUCER_STATE_H
#define KAVKA_PRODUCER_STATE_H

#include <stdint.h>
#include "compiler.h"

#define PSTATE_CACHED 5   /* max.in.flight.requests.per.connection for idempotence */

struct pstate;

struct pbatch {
    int64_t producer_id;
    int16_t epoch;
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
    int64_t last_offset;
};

/* A batch's last sequence: base + lastOffsetDelta, wrapping past INT32_MAX. */
static inline int32_t pbatch_last_seq(int32_t base_seq, int32_t last_offset_delta)
{
    int64_t s = (int64_t)base_seq + last_offset_delta;
    return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

struct pstate *pstate_new(void);
void pstate_free(struct pstate *ps);

/* Checks b (offsets unused). Returns KERR_NONE when it may be appended,
 * KERR_DUPLICATE_SEQUENCE_NUMBER with *dup_first_offset set when it is a
 * retry of a cached batch, or the error to answer with. */
int pstate_check(const struct pstate *ps, const struct pbatch *b, int64_t *dup_first_offset);

/* Records an appended batch (offsets set). Returns -1 when out of memory. */
int pstate_update(struct pstate *ps, const struct pbatch *b) KV_MUST_CHECK;

/* Number of producers tracked (tests, introspection). */
int pstate_count(const struct pstate *ps);

/* The i-th producer tracked (0 <= i < pstate_count), ascending by id, for
 * DescribeProducers. Returns 0, or -1 when i is out of range. */
struct pstate_info {
    int64_t producer_id;
    int16_t epoch;
    int32_t last_seq;        /* -1 when no batch is cached */
    int64_t last_offset;     /* -1 likewise */
};
int pstate_get(const struct pstate *ps, int i, struct pstate_info *out);

#endif
