/*
 * group_int.h — the coordinator's internal types, shared by group.c
 * (membership and rebalances), group_offsets.c (offsets, durability,
 * retention) and group_admin.c (FindCoordinator, Describe/List/DeleteGroups).
 *
 * Ownership: struct groups owns its groups; a group owns its members and
 * offsets; a member owns its strings and byte copies. A parked request
 * (JoinGroup/SyncGroup waiting for the rebalance) is owned by its
 * connection: the member only points at it, and the request's cancel hook
 * clears that pointer if the connection goes away first.
 */
#ifndef KAVKA_GROUP_INT_H
#define KAVKA_GROUP_INT_H

#include "broker.h"
#include "group.h"

struct gproto {
    char *name;
    uint8_t *meta;
    int32_t len;
};

struct gmember {
    struct group *g;
    struct gmember *next;
    char *id;
    char *instance_id;             /* group.instance.id, NULL if dynamic */
    char *client_id, *client_host;
    int32_t session_ms, rebalance_ms;
    struct gproto *protos;
    int nprotos;
    uint8_t *assign;
    int32_t assign_len;
    bool pending;                  /* got MEMBER_ID_REQUIRED, not yet rejoined */
    bool joined;                   /* joined in the rebalance in progress */
    struct kreq *join_req, *sync_req;  /* parked, not owned */
    struct event *hb;              /* session timeout */
    int64_t session_deadline_ms;   /* clock_mono_ms() when hb is due */
};

struct goffset {
    struct goffset *next;          /* hash chain */
    char *topic;
    int32_t part;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;                /* NULL when committed as null */
    int64_t commit_ts;
    int64_t expire_ts;             /* -1: offsets.retention.minutes applies */
};

struct group {
    struct groups *gs;
    char *id;
    enum gstate state;
    int64_t state_ts;
    char *protocol_type, *protocol, *leader;
    int32_t generation;
    struct gmember *members;       /* join order */
    int nmembers, npending;
    struct event *join_timer;
    bool initial;                  /* in the group.initial.rebalance.delay.ms wait */
    bool new_member_added;
    int64_t initial_remaining;
    struct goffset **ob;           /* offsets hash */
    uint32_t nob, noffsets;
};

/* group.c */
char *xstrdup(const char *s);
bool str_is(const char *s, struct kstr k);
struct group *group_find(struct groups *gs, struct kstr id);
struct group *group_create(struct groups *gs, struct kstr id);
void group_delete(struct group *g);
void group_set_state(struct group *g, enum gstate s);
struct gmember *member_find(struct group *g, struct kstr id);
struct gmember *member_find_instance(struct group *g, struct kstr instance);
bool instance_fenced(struct group *g, struct kstr instance, struct kstr member_id);
struct gmember *member_new(struct group *g, const char *id);
char *member_id_make(struct kstr prefix);
void member_remove(struct gmember *m, int16_t err);
int member_update(struct gmember *m, struct kreq *req, const struct kp_join_group_req *rq,
                  int32_t rebalance_ms);
const struct gproto *member_proto(const struct gmember *m, const char *name);
void hb_schedule(struct gmember *m);
void group_expire_overdue(struct group *g);
void park(struct gmember *m, struct kreq *req, bool join);
struct kreq *unpark(struct gmember *m, bool join);
void join_answer(struct gmember *m, int16_t err);
void sync_answer(struct gmember *m, int16_t err);
void prepare_rebalance(struct group *g);
void maybe_complete_join(struct group *g);
void rebalance_after_removal(struct group *g);

/* group.c: the group's committed offsets (a hash table). */
struct goffset *offset_find(struct group *g, struct kstr topic, int32_t part);
/* Set (creating) the committed offset of topic-part. 0 or -1. */
int offset_set(struct group *g, const struct gs_rec *r);
void offset_del(struct group *g, struct kstr topic, int32_t part);
void offsets_free(struct group *g);

/* group_offsets.c */
/* Record the deletion, then delete (members' parked requests answered). */
int group_delete_durably(struct group *g);

#endif
