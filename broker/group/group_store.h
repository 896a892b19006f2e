/*
 * group_store.h — the group coordinator's durable state.
 *
 * What Kafka keeps in the compacted __consumer_offsets topic, kavka keeps in
 * one append-only file, <log.dir>/__consumer_offsets/groups.log. Records:
 *
 *   [u32 length][u32 crc32c(payload)][payload = u8 version 0, u8 type, fields]
 *
 * A commit is acknowledged only after its records are written and
 * fdatasync'ed: gstore_write appends, gstore_sync makes everything written
 * so far durable with one fdatasync (the coordinator groups the commits of
 * one event-loop turn behind it). Opening replays every record in order; the
 * first short or corrupt record ends the log (a torn tail from a crash) and
 * the file is cut there. The coordinator compacts by rewriting the live
 * state into a temp file that replaces the log (fsync, rename, fsync of the
 * directory).
 *
 * Failures (docs/storage.md, "Failure model"): all I/O goes through
 * common/fileio.h. A failed write is cut back and changes nothing. A failed
 * fdatasync is never retried: the file is cut back to its last synced size
 * and the store fails (fail-stop): every later write and sync returns -1
 * until the broker restarts. So does a failed directory fsync after the
 * compaction's rename (the rename may not be durable, so nothing may be
 * appended to the new file). See docs/groups.md.
 */
#ifndef KAVKA_GROUP_STORE_H
#define KAVKA_GROUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"
#include "compiler.h"

enum gs_type {
    GS_OFFSET = 1,      /* a committed offset */
    GS_OFFSET_DEL = 2,  /* OffsetDelete, expiry: the offset is gone */
    GS_GROUP = 3,       /* a group's metadata (generation, members, assignments) */
    GS_GROUP_DEL = 4,   /* DeleteGroups: the group and its offsets are gone */
};

struct gs_member {
    struct kstr member_id, instance_id, client_id, client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    struct kbytes subscription;   /* metadata for the group's protocol */
    struct kbytes assignment;
};

/* One record. Strings and bytes are views (into the file image while
 * replaying; into the caller's data when writing). */
struct gs_rec {
    enum gs_type type;
    struct kstr group;
    /* GS_OFFSET, GS_OFFSET_DEL */
    struct kstr topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    struct kstr metadata;
    int64_t commit_ts;
    int64_t expire_ts;        /* -1: expires by offsets.retention.minutes */
    /* GS_GROUP */
    struct kstr protocol_type, protocol, leader;
    int32_t generation;
    int8_t empty;             /* 1: the group had no members */
    int64_t state_ts;         /* when it entered its state (retention of empty groups) */
    int32_t nmembers;
    struct gs_member *members;
};

/* Append one framed record to w. */
void gs_put(struct kw *w, const struct gs_rec *r);

/* Decode one framed record at the head of r into *out (members allocated
 * from a). Returns 0, 1 at a clean end of input, or -1 if the record is
 * short or corrupt. */
int gs_get(struct kr *r, struct karena *a, struct gs_rec *out);

struct gstore {
    char *dir;
    char *path;
    int fd;              /* the file path names (switched at compaction) */
    int64_t size;        /* bytes of valid records written */
    int64_t synced;      /* of which durable */
    bool sync;           /* fdatasync in gstore_sync (tests may turn off) */
    bool failed;         /* fail-stop after a failed sync: see above */
};

typedef void (*gs_replay_fn)(void *arg, const struct gs_rec *r);

/* Open (creating) <logdir>/__consumer_offsets/groups.log and replay it.
 * A torn or corrupt tail is cut off with a warning. 0 or -1. */
int gstore_open(struct gstore *s, const char *logdir, gs_replay_fn fn, void *arg) KV_MUST_CHECK;
/* Write n bytes of framed records at the end, not yet durable. On failure
 * nothing of them remains in the log. 0 or -1. */
int gstore_write(struct gstore *s, const uint8_t *p, size_t n) KV_MUST_CHECK;
/* Make everything written so far durable: one fdatasync, never retried.
 * 0, or -1 and the store has failed (what was not yet synced is cut off). */
int gstore_sync(struct gstore *s) KV_MUST_CHECK;
/* gstore_write, then gstore_sync. 0 or -1. */
int gstore_append(struct gstore *s, const uint8_t *p, size_t n) KV_MUST_CHECK;
/* Replace the whole log with these framed records, atomically; everything
 * written must have been synced. -1 with the old log still in use and
 * nothing lost if the new file could not be made; -1 and the store failed
 * if the directory fsync after the rename failed (the new file is in use
 * by then, but may not survive a power loss). 0 on success. */
int gstore_rewrite(struct gstore *s, const uint8_t *p, size_t n) KV_MUST_CHECK;
void gstore_close(struct gstore *s);

#endif
