/*
 * group.h — the group coordinator (Kafka's classic group protocol) and the
 * committed offsets it owns. This broker is the coordinator of every group.
 *
 * A group moves through Kafka's states:
 *
 *   Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable
 *   Stable --join with new metadata / leave / session expiry--> PreparingRebalance
 *   PreparingRebalance --nobody left--> Empty (next generation)
 *
 * JoinGroup and SyncGroup answers are deferred (kreq->pending) until the
 * rebalance reaches the step that answers them. Offsets and group metadata
 * are written through group_store.h before they are acknowledged.
 */
#ifndef KAVKA_GROUP_H
#define KAVKA_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "group_store.h"
#include "compiler.h"

struct broker;
struct event;
struct group;

struct pending_commit;
struct groups {
    struct broker *b;
    struct gstore store;
    struct group **v;           /* every group, in creation order */
    /* Write a group's metadata record (group_offsets.c, set by groups_open).
     * 0 or -1. */
    int (*persist)(struct group *g);
    int n, cap;
    struct event *retention;    /* offsets.retention.check.interval.ms */
    int64_t live_bytes;         /* size of a compacted log, last estimate */
    /* Group commit: OffsetCommits written but not yet synced, answered
     * together after one fdatasync at the end of the event-loop turn. */
    struct pending_commit *pending, **pending_tail;
    struct event *flush_ev;
    bool flush_armed;
    bool store_down;            /* the store failed (reported once) */
};

enum gstate { GS_EMPTY, GS_PREPARING, GS_COMPLETING, GS_STABLE, GS_DEAD };
const char *gstate_name(enum gstate s);

/* Open the store in the log dir, rebuild every group from it and start the
 * retention timer on b->base. 0 or -1. */
int groups_open(struct broker *b) KV_MUST_CHECK;
/* Stop timers and free everything (after broker_stop: no requests left).
 * Returns -1 if the store failed (writes it acknowledged may be lost), else 0. */
int groups_close(struct broker *b);

/* Expire offsets past retention now (the timer calls it). */
void groups_expire_offsets(struct groups *gs, int64_t now);

/* For tests and tools: a group's state and generation; -1 if unknown. */
int groups_state(struct groups *gs, const char *group, int32_t *generation, int *members);
/* A committed offset, or -1 if none. */
int64_t groups_committed(struct groups *gs, const char *group, const char *topic, int32_t part);

#endif
