/*
 * group_offsets.c — committed offsets and the coordinator's durability:
 * OffsetCommit, OffsetFetch, OffsetDelete, offsets.retention.minutes, and
 * the group store (replay at start, records on change, compaction). The
 * offsets themselves are a table of each group's (group.c).
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "clock.h"
#include "config.h"
#include "fileio.h"
#include "group_int.h"
#include "kafka_errors.h"
#include "klog.h"
#include "topics.h"

static void offset_rec(const struct group *g, const struct goffset *o, struct gs_rec *r)
{
    memset(r, 0, sizeof *r);
    r->type = GS_OFFSET;
    r->group = kstr_c(g->id);
    r->topic = kstr_c(o->topic);
    r->partition = o->part;
    r->offset = o->offset;
    r->leader_epoch = o->leader_epoch;
    r->metadata = kstr_c(o->metadata);
    r->commit_ts = o->commit_ts;
    r->expire_ts = o->expire_ts;
}

/* ------------------------------------------------------------ the store */

/* The group's metadata record: members with their subscription for the
 * chosen protocol and their assignment. */
static void put_group(struct kw *w, const struct group *g)
{
    struct gs_rec r;
    memset(&r, 0, sizeof r);
    r.type = GS_GROUP;
    r.group = kstr_c(g->id);
    r.protocol_type = kstr_c(g->protocol_type);
    r.protocol = kstr_c(g->protocol);
    r.leader = kstr_c(g->leader);
    r.generation = g->generation;
    r.empty = g->nmembers == 0;
    r.state_ts = g->state_ts;
    struct gs_member *mv = calloc((size_t)g->nmembers + 1, sizeof *mv);
    if (!mv) {
        w->err = WIRE_ENOMEM;
        return;
    }
    int32_t n = 0;
    for (const struct gmember *m = g->members; m && n < g->nmembers; m = m->next) {
        if (m->pending)
            continue;
        struct gs_member *o = &mv[n++];
        const struct gproto *p = member_proto(m, g->protocol);
        o->member_id = kstr_c(m->id);
        o->instance_id = kstr_c(m->instance_id);
        o->client_id = kstr_c(m->client_id);
        o->client_host = kstr_c(m->client_host);
        o->session_timeout_ms = m->session_ms;
        o->rebalance_timeout_ms = m->rebalance_ms;
        o->subscription.p = p ? p->meta : NULL;
        o->subscription.len = p ? p->len : 0;
        o->assignment.p = m->assign;
        o->assignment.len = m->assign_len;
    }
    r.nmembers = n;
    r.members = mv;
    gs_put(w, &r);
    free(mv);
}

/* Everything live, as the records a compacted log holds. */
static void put_snapshot(struct kw *w, struct groups *gs)
{
    for (int i = 0; i < gs->n; i++) {
        struct group *g = gs->v[i];
        put_group(w, g);
        for (uint32_t b = 0; b < g->nob; b++)
            for (struct goffset *o = g->ob[b]; o; o = o->next) {
                struct gs_rec r;
                offset_rec(g, o, &r);
                gs_put(w, &r);
            }
    }
}

/* The store failed (group_store.h: fail-stop). Commits and group changes
 * answer NOT_COORDINATOR from now on (as Kafka maps a storage error of its
 * offsets log: GroupMetadataManager); if the log dir itself no
 * longer takes a durable write, nothing the broker does can be made durable
 * and it exits non-zero at once. */
static void store_down(struct groups *gs)
{
    if (gs->store_down || !gs->store.failed)
        return;
    gs->store_down = true;
    const char *dir = gs->b && gs->b->cfg ? gs->b->cfg->log_dirs : NULL;
    if (dir && fio_probe_dir(dir) != 0) {
        KLOG_ERROR("log dir %s is unusable (%s, after the group store failed): exiting", dir,
                   strerror(errno));
        exit(1);
    }
}

/* Rewrite the log once it is mostly superseded records, like Kafka's log
 * cleaner does for __consumer_offsets. Only where memory and the log agree:
 * nothing written but not yet applied (the flush event, after the pending
 * commits are applied and the callers of append() have applied theirs). */
static void maybe_compact(struct groups *gs)
{
    if (gs->pending || gs->store.failed || gs->store.size < 2 * gs->live_bytes + (4 << 20))
        return;
    struct kw w;
    kw_init(&w, NULL);
    put_snapshot(&w, gs);
    if (!w.err && gstore_rewrite(&gs->store, w.buf, w.len) == 0) {
        KLOG_INFO("group store compacted to %zu bytes", w.len);
        gs->live_bytes = (int64_t)w.len;
    }
    kw_free(&w);
    store_down(gs);
}

/* ------------------------------------------------------- group commit */

/* An OffsetCommit whose records are written but not yet synced. */
struct pending_commit {
    struct pending_commit *next;
    struct kreq *req;                   /* NULL once its connection is gone */
    struct kp_offset_commit_resp *rs;   /* in req's arena */
    int16_t **errs;                     /* in req's arena: the error code of the
                                           partition of each record, in order */
    uint8_t *recs;                      /* the framed records, owned */
    size_t len;
};

static int apply_offset(struct groups *gs, const struct gs_rec *r)
{
    struct group *g = group_find(gs, r->group);
    if (!g && !(g = group_create(gs, r->group)))
        return -1;
    return offset_set(g, r);
}

/* Apply a commit's records in memory if they are durable (ok), and answer
 * it: partitions whose record is not durable or not applied get
 * NOT_COORDINATOR (Kafka's answer to a storage error of the offsets log). */
static void commit_finish(struct groups *gs, struct pending_commit *pc, bool ok)
{
    struct kr r;
    kr_init(&r, pc->recs, pc->len);
    for (int i = 0;; i++) {
        struct karena a;
        karena_init(&a);
        struct gs_rec rec;
        int rc = gs_get(&r, &a, &rec);
        bool applied = rc == 0 && ok && rec.type == GS_OFFSET && apply_offset(gs, &rec) == 0;
        karena_free(&a);
        if (rc != 0)
            break;
        if (pc->req && !applied)
            *pc->errs[i] = KERR_NOT_COORDINATOR;
    }
    struct kreq *req = pc->req;
    if (!req)
        return;
    req->pending = NULL;
    req->cancel = NULL;
    struct kw out;
    kreq_writer(req, &out);
    kp_offset_commit_resp_encode(&out, req->api_version, pc->rs);
    kreq_finish(req, &out);
}

/* The connection went away while the commit waited for its sync: the
 * records are still applied once durable, as they will be after a restart. */
static void commit_cancel(struct kreq *req)
{
    struct pending_commit *pc = req->pending;
    if (pc)
        pc->req = NULL;
    req->pending = NULL;
    req->cancel = NULL;
}

/* One fdatasync for everything written since the last, then the pending
 * commits are applied and answered in the order they were written; a failed
 * sync fails all of them. 0 or -1. */
static int commits_flush(struct groups *gs)
{
    if (!gs->pending && !gs->store.failed && gs->store.synced == gs->store.size)
        return 0;
    int rc = gstore_sync(&gs->store);
    store_down(gs);
    struct pending_commit *pc = gs->pending;
    gs->pending = NULL;
    gs->pending_tail = &gs->pending;
    while (pc) {
        struct pending_commit *next = pc->next;
        commit_finish(gs, pc, rc == 0);
        free(pc->recs);
        free(pc);
        pc = next;
    }
    return rc;
}

/* The end of the event-loop turn in which commits were written. */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct groups *gs = arg;
    gs->flush_armed = false;
    commits_flush(gs);
    maybe_compact(gs);
}

/* Run flush_cb once, after the events already active in this turn of the
 * loop (every request read in it). Without an event base: now. */
static void flush_arm(struct groups *gs)
{
    if (!gs->flush_ev) {
        commits_flush(gs);
        return;
    }
    if (gs->flush_armed)
        return;
    gs->flush_armed = true;
    event_active(gs->flush_ev, EV_TIMEOUT, 0);
}

/* Write records and make them durable before returning (group metadata,
 * deletions, expiry): the callers apply them in memory afterwards. The one
 * fdatasync also covers the commits pending in this turn, which are applied
 * and answered first, so memory changes in the order of the log. */
static int append(struct groups *gs, struct kw *w)
{
    if (w->err || gstore_write(&gs->store, w->buf, w->len) != 0) {
        store_down(gs);
        return -1;
    }
    int rc = commits_flush(gs);
    if (gs->flush_ev)
        flush_arm(gs);    /* the compaction check, once the caller has applied its change */
    return rc;
}

static int group_persist(struct group *g)
{
    struct kw w;
    kw_init(&w, NULL);
    put_group(&w, g);
    int rc = append(g->gs, &w);
    kw_free(&w);
    return rc;
}

static int persist_group_delete(struct group *g)
{
    struct gs_rec r;
    memset(&r, 0, sizeof r);
    r.type = GS_GROUP_DEL;
    r.group = kstr_c(g->id);
    struct kw w;
    kw_init(&w, NULL);
    gs_put(&w, &r);
    int rc = append(g->gs, &w);
    kw_free(&w);
    return rc;
}

int group_delete_durably(struct group *g)
{
    if (persist_group_delete(g) != 0)
        return -1;
    group_delete(g);
    return 0;
}

static void replay_group(struct groups *gs, struct group *g, const struct gs_rec *r)
{
    struct gmember *m;
    while ((m = g->members))
        member_remove(m, KERR_NONE);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    g->protocol_type = kstr_dup(r->protocol_type);
    g->protocol = kstr_dup(r->protocol);
    g->leader = kstr_dup(r->leader);
    g->generation = r->generation;
    for (int32_t i = 0; i < r->nmembers; i++) {
        const struct gs_member *rm = &r->members[i];
        char *id = kstr_dup(rm->member_id);
        m = id ? member_new(g, id) : NULL;
        free(id);
        if (!m)
            break;
        g->nmembers++;
        m->instance_id = kstr_dup(rm->instance_id);
        m->client_id = kstr_dup(rm->client_id);
        m->client_host = kstr_dup(rm->client_host);
        m->session_ms = rm->session_timeout_ms;
        m->rebalance_ms = rm->rebalance_timeout_ms;
        m->protos = calloc(1, sizeof *m->protos);
        if (m->protos && g->protocol) {
            int32_t n = rm->subscription.len > 0 ? rm->subscription.len : 0;
            m->protos[0].name = strdup(g->protocol);
            m->protos[0].meta = malloc((size_t)n + 1);
            m->protos[0].len = n;
            if (m->protos[0].meta && n)
                memcpy(m->protos[0].meta, rm->subscription.p, (size_t)n);
            m->nprotos = 1;
        }
        m->assign_len = rm->assignment.len > 0 ? rm->assignment.len : 0;
        m->assign = malloc((size_t)m->assign_len + 1);
        if (m->assign && m->assign_len)
            memcpy(m->assign, rm->assignment.p, (size_t)m->assign_len);
    }
    g->state = g->nmembers ? GS_STABLE : GS_EMPTY;
    g->state_ts = r->state_ts;
    (void)gs;
}

static void replay(void *arg, const struct gs_rec *r)
{
    struct groups *gs = arg;
    struct group *g = group_find(gs, r->group);
    if (!g && (r->type == GS_OFFSET || r->type == GS_GROUP))
        g = group_create(gs, r->group);
    if (!g)
        return;
    switch (r->type) {
    case GS_OFFSET:
        if (offset_set(g, r) != 0)
            KLOG_ERROR("group store replay: out of memory");
        break;
    case GS_OFFSET_DEL:
        offset_del(g, r->topic, r->partition);
        break;
    case GS_GROUP:
        replay_group(gs, g, r);
        break;
    case GS_GROUP_DEL:
        group_delete(g);
        break;
    }
}

static void retention_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    groups_expire_offsets(arg, clock_wall_ms());
}

int groups_open(struct broker *b)
{
    struct groups *gs = calloc(1, sizeof *gs);
    if (!gs)
        return -1;
    gs->b = b;
    gs->persist = group_persist;
    gs->pending_tail = &gs->pending;
    b->groups = gs;
    if (gstore_open(&gs->store, b->cfg->log_dirs, replay, gs) != 0) {
        groups_close(b);
        return -1;
    }
    /* Members loaded from the log must heartbeat again within their
     * session timeout, or they are expired and the group rebalances. */
    for (int i = 0; i < gs->n; i++)
        for (struct gmember *m = gs->v[i]->members; m; m = m->next)
            hb_schedule(m);
    /* Start from a compacted log: replay made the live state cheap to get. */
    struct kw w;
    kw_init(&w, NULL);
    put_snapshot(&w, gs);
    gs->live_bytes = (int64_t)w.len;
    if (!w.err && gs->store.size > (int64_t)w.len && gstore_rewrite(&gs->store, w.buf, w.len) != 0)
        KLOG_WARN("group store: compaction at start failed, continuing with the full log");
    kw_free(&w);
    if (gs->store.failed) {   /* the compaction's rename is not durable */
        groups_close(b);
        return -1;
    }
    if (b->base) {
        gs->flush_ev = event_new(b->base, -1, 0, flush_cb, gs);
        if (!gs->flush_ev) {
            groups_close(b);
            return -1;
        }
        gs->retention = event_new(b->base, -1, EV_PERSIST, retention_cb, gs);
        int64_t ms = b->cfg->offsets_retention_check_interval_ms;
        struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
        if (!gs->retention || event_add(gs->retention, &tv) != 0) {
            groups_close(b);
            return -1;
        }
    }
    KLOG_INFO("group coordinator: %d groups loaded", gs->n);
    return 0;
}

int groups_close(struct broker *b)
{
    struct groups *gs = b->groups;
    if (!gs)
        return 0;
    if (gs->store.fd >= 0)
        commits_flush(gs);   /* their connections are gone: made durable, not answered */
    while (gs->n > 0)
        group_delete(gs->v[gs->n - 1]);
    free(gs->v);
    if (gs->retention)
        event_free(gs->retention);
    if (gs->flush_ev)
        event_free(gs->flush_ev);
    int rc = gs->store.failed ? -1 : 0;
    gstore_close(&gs->store);
    free(gs);
    b->groups = NULL;
    return rc;
}

/* ------------------------------------------------------------ retention */

/* Kafka (KIP-211): offsets of a group with members do not expire; once the
 * group is empty they expire offsets.retention.minutes after it became
 * empty (after the commit, for groups that never had members). A commit
 * with an explicit retention time (OffsetCommit v2-4) expires at that time. */
static bool offset_expired(const struct group *g, const struct goffset *o, int64_t now,
                           int64_t retention_ms)
{
    if (o->expire_ts >= 0)
        return now >= o->expire_ts;
    if (g->nmembers > 0 || g->npending > 0)
        return false;
    int64_t base = g->protocol_type ? g->state_ts : o->commit_ts;
    if (base < o->commit_ts)
        base = o->commit_ts;
    return now - base >= retention_ms;
}

static bool group_disposable(const struct group *g)
{
    return g->state == GS_EMPTY && g->nmembers == 0 && g->npending == 0 && g->noffsets == 0;
}

void groups_expire_offsets(struct groups *gs, int64_t now)
{
    /* Decide on what the log holds: pending commits first. */
    commits_flush(gs);
    int64_t retention_ms = (int64_t)gs->b->cfg->offsets_retention_minutes * 60000;
    struct kw w;
    kw_init(&w, NULL);
    int expired = 0;
    for (int i = 0; i < gs->n; i++) {
        struct group *g = gs->v[i];
        for (uint32_t b = 0; b < g->nob; b++)
            for (struct goffset *o = g->ob[b]; o; o = o->next) {
                if (!offset_expired(g, o, now, retention_ms))
                    continue;
                struct gs_rec r;
                offset_rec(g, o, &r);
                r.type = GS_OFFSET_DEL;
                gs_put(&w, &r);
                expired++;
            }
    }
    if (expired == 0 || append(gs, &w) != 0) {
        kw_free(&w);
        return;
    }
    kw_free(&w);
    for (int i = 0; i < gs->n; i++) {
        struct group *g = gs->v[i];
        for (uint32_t b = 0; b < g->nob; b++) {
            struct goffset *o = g->ob[b], *next;
            for (; o; o = next) {
                next = o->next;
                if (offset_expired(g, o, now, retention_ms))
                    offset_del(g, kstr_c(o->topic), o->part);
            }
        }
    }
    KLOG_INFO("offsets.retention.minutes: %d committed offsets expired", expired);
    /* Kafka drops an empty group once its last offset is gone. */
    for (int i = gs->n - 1; i >= 0; i--)
        if (group_disposable(gs->v[i]))
            group_delete_durably(gs->v[i]);
}

/* --------------------------------------------------------- OffsetCommit */

static int16_t commit_check(struct groups *gs, const struct kp_offset_commit_req *rq, int16_t ver,
                            struct group **out)
{
    int32_t gen = ver >= 1 ? rq->generation_id_or_member_epoch : -1;
    struct kstr member = ver >= 1 ? rq->member_id : kstr_c("");
    if (rq->group_id.len <= 0)
        return KERR_INVALID_GROUP_ID;
    struct group *g = group_find(gs, rq->group_id);
    if (!g) {
        /* A group that does not use the coordinator for membership (an
         * admin or assign() client) commits with generation -1. */
        if (gen >= 0)
            return ver >= 9 ? KERR_GROUP_ID_NOT_FOUND : KERR_ILLEGAL_GENERATION;
        if (!(g = group_create(gs, rq->group_id)))
            return KERR_UNKNOWN_SERVER_ERROR;
        *out = g;
        return KERR_NONE;
    }
    *out = g;
    if (instance_fenced(g, rq->group_instance_id, member))
        return KERR_FENCED_INSTANCE_ID;
    if (gen < 0 && g->state == GS_EMPTY)
        return KERR_NONE;
    if (g->state == GS_COMPLETING)
        return KERR_REBALANCE_IN_PROGRESS;
    struct gmember *m = member_find(g, member);
    if (!m || m->pending)
        return KERR_UNKNOWN_MEMBER_ID;
    if (gen != g->generation)
        return KERR_ILLEGAL_GENERATION;
    hb_schedule(m); /* a commit shows the member is alive, as in Kafka */
    return KERR_NONE;
}

static int16_t commit_one(struct groups *gs, struct kstr topic,
                          const struct kp_offset_commit_req_topics_partitions *p)
{
    if (!topics_partition(gs->b->topics, topic, p->partition_index))
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (p->committed_metadata.len > gs->b->cfg->offset_metadata_max_bytes)
        return KERR_OFFSET_METADATA_TOO_LARGE;
    return KERR_NONE;
}

static void commit_rec(const struct group *g, struct kstr topic,
                       const struct kp_offset_commit_req_topics_partitions *p, int64_t now,
                       int64_t retention, struct gs_rec *r)
{
    memset(r, 0, sizeof *r);
    r->type = GS_OFFSET;
    r->group = kstr_c(g->id);
    r->topic = topic;
    r->partition = p->partition_index;
    r->offset = p->committed_offset;
    r->leader_epoch = p->committed_leader_epoch;
    r->metadata = p->committed_metadata;
    r->commit_ts = now;
    r->expire_ts = retention >= 0 ? now + retention : -1;
}

int h_offset_commit(struct kreq *req)
{
    struct kp_offset_commit_req rq;
    if (kp_offset_commit_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct groups *gs = req->conn->b->groups;
    struct group *g = NULL;
    /* Kafka: READ on the group, then READ on each topic. */
    int16_t gerr = authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, rq.group_id)
                       ? commit_check(gs, &rq, req->api_version, &g)
                       : KERR_GROUP_AUTHORIZATION_FAILED;
    int64_t now = clock_wall_ms();
    int64_t retention = req->api_version >= 2 && req->api_version <= 4 ? rq.retention_time_ms : -1;

    struct kp_offset_commit_resp rs;
    kp_offset_commit_resp_init(&rs);
    int32_t nt = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)nt + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    rs.topics_n = nt;
    struct kw w;
    kw_init(&w, NULL);
    int nrec = 0;
    for (int32_t i = 0; i < nt; i++) {
        const struct kp_offset_commit_req_topics *t = &rq.topics[i];
        struct kp_offset_commit_resp_topics *o = &rs.topics[i];
        kp_offset_commit_resp_topics_init(o);
        o->name = t->name;
        int32_t np = t->partitions_n > 0 ? t->partitions_n : 0;
        o->partitions = karena_calloc(&req->arena, (size_t)np + 1, sizeof *o->partitions);
        if (!o->partitions) {
            kw_free(&w);
            return -1;
        }
        o->partitions_n = np;
        int16_t terr = gerr;
        if (!terr && !authz_allowed(req->conn, ACL_OP_READ, ACL_RES_TOPIC, t->name))
            terr = KERR_TOPIC_AUTHORIZATION_FAILED;
        for (int32_t j = 0; j < np; j++) {
            kp_offset_commit_resp_topics_partitions_init(&o->partitions[j]);
            o->partitions[j].partition_index = t->partitions[j].partition_index;
            int16_t e = terr ? terr : commit_one(gs, t->name, &t->partitions[j]);
            o->partitions[j].error_code = e;
            if (e == KERR_NONE) {
                struct gs_rec r;
                commit_rec(g, t->name, &t->partitions[j], now, retention, &r);
                gs_put(&w, &r);
                nrec++;
            }
        }
    }
    /* Written now; acknowledged, and applied in memory, once durable: the
     * commits of one event-loop turn share one fdatasync (group commit). */
    struct pending_commit *pc = nrec > 0 ? calloc(1, sizeof *pc) : NULL;
    struct kp_offset_commit_resp *rsp = pc ? karena_alloc(&req->arena, sizeof *rsp) : NULL;
    int16_t **errs = pc ? karena_calloc(&req->arena, (size_t)nrec, sizeof *errs) : NULL;
    uint8_t *recs = pc && !w.err ? malloc(w.len) : NULL;
    if (recs && rsp && errs && gstore_write(&gs->store, w.buf, w.len) == 0) {
        size_t len = w.len;
        memcpy(recs, w.buf, len);
        kw_free(&w);
        *rsp = rs;
        int k = 0;
        for (int32_t i = 0; i < nt; i++)
            for (int32_t j = 0; j < rs.topics[i].partitions_n; j++)
                if (rs.topics[i].partitions[j].error_code == KERR_NONE)
                    errs[k++] = &rs.topics[i].partitions[j].error_code;
        pc->req = req;
        pc->rs = rsp;
        pc->errs = errs;
        pc->recs = recs;
        pc->len = len;
        *gs->pending_tail = pc;
        gs->pending_tail = &pc->next;
        req->pending = pc;
        req->cancel = commit_cancel;
        flush_arm(gs);
        return 0;
    }
    free(recs);
    free(pc);
    kw_free(&w);
    if (nrec > 0) {
        store_down(gs);
        for (int32_t i = 0; i < nt; i++)
            for (int32_t j = 0; j < rs.topics[i].partitions_n; j++)
                if (rs.topics[i].partitions[j].error_code == KERR_NONE)
                    rs.topics[i].partitions[j].error_code = KERR_NOT_COORDINATOR;
    }
    struct kw out;
    kreq_writer(req, &out);
    kp_offset_commit_resp_encode(&out, req->api_version, &rs);
    kreq_finish(req, &out);
    return 0;
}

/* ---------------------------------------------------------- OffsetFetch */

/* What one group's OffsetFetch asked for (same shape in v0-7 and v8+). */
struct fetch_topic {
    struct kstr name;
    int32_t n;
    int32_t *parts;
};
struct fetched {
    struct kstr name;
    int32_t n;
    struct kp_offset_fetch_resp_groups_topics_partitions *p;
};

static void fill_part(struct kp_offset_fetch_resp_groups_topics_partitions *o, struct group *g,
                      struct kstr topic, int32_t part)
{
    kp_offset_fetch_resp_groups_topics_partitions_init(o);
    o->partition_index = part;
    const struct goffset *off = g ? offset_find(g, topic, part) : NULL;
    o->committed_offset = off ? off->offset : -1;
    o->committed_leader_epoch = off ? off->leader_epoch : -1;
    o->metadata = kstr_c(off && off->metadata ? off->metadata : "");
    o->error_code = KERR_NONE;
}

/* All committed partitions of the group, one entry per topic. */
static int32_t fetch_all(struct karena *a, struct group *g, struct fetched **out)
{
    int32_t cap = g ? (int32_t)g->noffsets : 0, n = 0;
    struct fetched *v = karena_calloc(a, (size_t)cap + 1, sizeof *v);
    if (!v)
        return -1;
    for (uint32_t b = 0; g && b < g->nob; b++) {
        for (struct goffset *o = g->ob[b]; o; o = o->next) {
            int32_t i = 0;
            while (i < n && !str_is(o->topic, v[i].name))
                i++;
            if (i == n)
                v[n++].name = kstr_c(o->topic);
            v[i].n++; /* first pass: count partitions per topic */
        }
    }
    for (int32_t i = 0; i < n; i++) {
        v[i].p = karena_calloc(a, (size_t)v[i].n, sizeof *v[i].p);
        if (!v[i].p)
            return -1;
        v[i].n = 0;
    }
    for (uint32_t b = 0; g && b < g->nob; b++) {
        for (struct goffset *o = g->ob[b]; o; o = o->next) {
            int32_t i = 0;
            while (!str_is(o->topic, v[i].name))
                i++;
            fill_part(&v[i].p[v[i].n++], g, v[i].name, o->part);
        }
    }
    *out = v;
    return n;
}

static int32_t fetch_some(struct karena *a, struct group *g, const struct fetch_topic *want,
                          int32_t nw, struct fetched **out)
{
    struct fetched *v = karena_calloc(a, (size_t)nw + 1, sizeof *v);
    if (!v)
        return -1;
    for (int32_t i = 0; i < nw; i++) {
        v[i].name = want[i].name;
        v[i].n = want[i].n > 0 ? want[i].n : 0;
        v[i].p = karena_calloc(a, (size_t)v[i].n + 1, sizeof *v[i].p);
        if (!v[i].p)
            return -1;
        for (int32_t j = 0; j < v[i].n; j++)
            fill_part(&v[i].p[j], g, want[i].name, want[i].parts[j]);
    }
    *out = v;
    return nw;
}

/* nw < 0: every committed partition. */
static int32_t fetch_group(struct kreq *req, struct kstr gid, const struct fetch_topic *want,
                           int32_t nw, struct fetched **out)
{
    struct group *g = group_find(req->conn->b->groups, gid);
    return nw < 0 ? fetch_all(&req->arena, g, out) : fetch_some(&req->arena, g, want, nw, out);
}

static int offset_fetch_v0_7(struct kreq *req, const struct kp_offset_fetch_req *rq,
                             struct kp_offset_fetch_resp *rs)
{
    int32_t nw = rq->topics_n;
    struct fetch_topic *want = karena_calloc(&req->arena, (size_t)(nw > 0 ? nw : 0) + 1, sizeof *want);
    if (!want)
        return -1;
    for (int32_t i = 0; i < nw; i++)
        want[i] = (struct fetch_topic){ rq->topics[i].name, rq->topics[i].partition_indexes_n,
                                        rq->topics[i].partition_indexes };
    if (rq->group_id.len <= 0) {
        rs->error_code = KERR_INVALID_GROUP_ID;
        return 0;
    }
    struct fetched *f;
    int32_t n = fetch_group(req, rq->group_id, want, nw, &f);
    if (n < 0)
        return -1;
    rs->topics = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rs->topics);
    if (!rs->topics)
        return -1;
    rs->topics_n = n;
    for (int32_t i = 0; i < n; i++) {
        struct kp_offset_fetch_resp_topics *t = &rs->topics[i];
        kp_offset_fetch_resp_topics_init(t);
        t->name = f[i].name;
        t->partitions_n = f[i].n;
        t->partitions = karena_calloc(&req->arena, (size_t)f[i].n + 1, sizeof *t->partitions);
        if (!t->partitions)
            return -1;
        for (int32_t j = 0; j < f[i].n; j++) {
            struct kp_offset_fetch_resp_topics_partitions *o = &t->partitions[j];
            kp_offset_fetch_resp_topics_partitions_init(o);
            o->partition_index = f[i].p[j].partition_index;
            o->committed_offset = f[i].p[j].committed_offset;
            o->committed_leader_epoch = f[i].p[j].committed_leader_epoch;
            o->metadata = f[i].p[j].metadata;
            o->error_code = f[i].p[j].error_code;
        }
    }
    return 0;
}

static int offset_fetch_v8(struct kreq *req, const struct kp_offset_fetch_req *rq,
                           struct kp_offset_fetch_resp *rs)
{
    int32_t ng = rq->groups_n > 0 ? rq->groups_n : 0;
    rs->groups = karena_calloc(&req->arena, (size_t)ng + 1, sizeof *rs->groups);
    if (!rs->groups)
        return -1;
    rs->groups_n = ng;
    for (int32_t i = 0; i < ng; i++) {
        const struct kp_offset_fetch_req_groups *rg = &rq->groups[i];
        struct kp_offset_fetch_resp_groups *og = &rs->groups[i];
        kp_offset_fetch_resp_groups_init(og);
        og->group_id = rg->group_id;
        if (rg->group_id.len <= 0) {
            og->error_code = KERR_INVALID_GROUP_ID;
            continue;
        }
        int32_t nw = rg->topics_n;
        struct fetch_topic *want = karena_calloc(&req->arena, (size_t)(nw > 0 ? nw : 0) + 1,
                                                 sizeof *want);
        if (!want)
            return -1;
        for (int32_t j = 0; j < nw; j++)
            want[j] = (struct fetch_topic){ rg->topics[j].name, rg->topics[j].partition_indexes_n,
                                            rg->topics[j].partition_indexes };
        struct fetched *f;
        int32_t n = fetch_group(req, rg->group_id, want, nw, &f);
        if (n < 0)
            return -1;
        og->topics = karena_calloc(&req->arena, (size_t)n + 1, sizeof *og->topics);
        if (!og->topics)
            return -1;
        og->topics_n = n;
        for (int32_t j = 0; j < n; j++) {
            kp_offset_fetch_resp_groups_topics_init(&og->topics[j]);
            og->topics[j].name = f[j].name;
            og->topics[j].partitions_n = f[j].n;
            og->topics[j].partitions = f[j].p;
        }
    }
    return 0;
}

/* Kafka's OffsetFetch authorization, applied to the answer: without READ on
 * the group every partition (and the group, v2+) gets
 * GROUP_AUTHORIZATION_FAILED; topics without READ are left out of an
 * all-topics answer, and get TOPIC_AUTHORIZATION_FAILED when named. */
#define AUTHZ_OFFSETS(TOPICS, TOPICS_N, GID, ALL, GERR)                                       \
    do {                                                                                   \
        bool gok_ = authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, (GID));           \
        int32_t k_ = 0;                                                                    \
        if (!gok_)                                                                         \
            (GERR) = KERR_GROUP_AUTHORIZATION_FAILED;                                      \
        for (int32_t i_ = 0; i_ < (TOPICS_N); i_++) {                                      \
            bool tok_ = authz_allowed(req->conn, ACL_OP_READ, ACL_RES_TOPIC, (TOPICS)[i_].name); \
            if (gok_ && !tok_ && (ALL))                                                    \
                continue;                                                                  \
            for (int32_t j_ = 0; j_ < (TOPICS)[i_].partitions_n; j_++)                     \
                if (!gok_ || !tok_) {                                                      \
                    (TOPICS)[i_].partitions[j_].error_code =                               \
                        !gok_ ? KERR_GROUP_AUTHORIZATION_FAILED                            \
                              : KERR_TOPIC_AUTHORIZATION_FAILED;                           \
                    (TOPICS)[i_].partitions[j_].committed_offset = -1;                     \
                    (TOPICS)[i_].partitions[j_].metadata = kstr_c("");                     \
                }                                                                          \
            (TOPICS)[k_++] = (TOPICS)[i_];                                                 \
        }                                                                                  \
        if (!gok_ && req->api_version >= 2)                                                \
            k_ = 0;                                                                        \
        (TOPICS_N) = k_;                                                                   \
    } while (0)

static void authz_offset_fetch(struct kreq *req, const struct kp_offset_fetch_req *rq,
                               struct kp_offset_fetch_resp *rs)
{
    if (!authz_enabled(req->conn->b))
        return;
    if (req->api_version < 8) {
        if (rs->topics_n > 0)
            AUTHZ_OFFSETS(rs->topics, rs->topics_n, rq->group_id, rq->topics_n < 0,
                          rs->error_code);
        else if (!authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, rq->group_id))
            rs->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
        return;
    }
    for (int32_t g = 0; g < rs->groups_n; g++) {
        bool all = false;
        for (int32_t i = 0; i < rq->groups_n; i++)
            if (rq->groups[i].group_id.len == rs->groups[g].group_id.len &&
                (rq->groups[i].group_id.len <= 0 ||
                 memcmp(rq->groups[i].group_id.p, rs->groups[g].group_id.p,
                        (size_t)rq->groups[i].group_id.len) == 0))
                all = rq->groups[i].topics_n < 0;
        if (rs->groups[g].topics_n < 0)
            rs->groups[g].topics_n = 0;
        AUTHZ_OFFSETS(rs->groups[g].topics, rs->groups[g].topics_n, rs->groups[g].group_id, all,
                      rs->groups[g].error_code);
    }
}

int h_offset_fetch(struct kreq *req)
{
    struct kp_offset_fetch_req rq;
    if (kp_offset_fetch_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_offset_fetch_resp rs;
    kp_offset_fetch_resp_init(&rs);
    int rc = req->api_version >= 8 ? offset_fetch_v8(req, &rq, &rs)
                                   : offset_fetch_v0_7(req, &rq, &rs);
    if (rc != 0)
        return -1;
    authz_offset_fetch(req, &rq, &rs);
    struct kw w;
    kreq_writer(req, &w);
    kp_offset_fetch_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* --------------------------------------------------------- OffsetDelete */

/* Does any member's consumer-protocol subscription name this topic?
 * (ConsumerProtocolSubscription: int16 version, then [string] topics, in
 * the classic encoding in every version.) */
static bool group_subscribed(const struct group *g, struct kstr topic)
{
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0)
        return false;
    for (const struct gmember *m = g->members; m; m = m->next) {
        const struct gproto *p = m->pending ? NULL : member_proto(m, g->protocol);
        if (!p)
            continue;
        struct kr r;
        kr_init(&r, p->meta, (size_t)p->len);
        (void)kr_i16(&r);
        int32_t n = kr_array_len(&r, false, 2);
        for (int32_t i = 0; i < n && !r.err; i++) {
            struct kstr t = kr_str(&r, false);
            if (!r.err && t.len == topic.len && t.len >= 0 && memcmp(t.p, topic.p, (size_t)t.len) == 0)
                return true;
        }
    }
    return false;
}

static int16_t offset_delete_check(const struct kreq *req, struct groups *gs, struct kstr gid,
                                   struct group **out)
{
    /* Kafka asks for DELETE on the group before anything else. */
    if (!authz_allowed(req->conn, ACL_OP_DELETE, ACL_RES_GROUP, gid))
        return KERR_GROUP_AUTHORIZATION_FAILED;
    if (gid.len <= 0)
        return KERR_INVALID_GROUP_ID;
    struct group *g = group_find(gs, gid);
    if (!g)
        return KERR_GROUP_ID_NOT_FOUND;
    /* Only consumer groups say what they subscribe to. */
    if (g->nmembers > 0 && (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0))
        return KERR_NON_EMPTY_GROUP;
    *out = g;
    return KERR_NONE;
}

int h_offset_delete(struct kreq *req)
{
    struct kp_offset_delete_req rq;
    if (kp_offset_delete_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct groups *gs = req->conn->b->groups;
    struct group *g = NULL;
    struct kp_offset_delete_resp rs;
    kp_offset_delete_resp_init(&rs);
    rs.error_code = offset_delete_check(req, gs, rq.group_id, &g);
    int32_t nt = rs.error_code == KERR_NONE && rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)nt + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    rs.topics_n = nt;
    struct kw w;
    kw_init(&w, NULL);
    for (int32_t i = 0; i < nt; i++) {
        const struct kp_offset_delete_req_topics *t = &rq.topics[i];
        struct kp_offset_delete_resp_topics *o = &rs.topics[i];
        kp_offset_delete_resp_topics_init(o);
        o->name = t->name;
        int32_t np = t->partitions_n > 0 ? t->partitions_n : 0;
        o->partitions = karena_calloc(&req->arena, (size_t)np + 1, sizeof *o->partitions);
        if (!o->partitions) {
            kw_free(&w);
            return -1;
        }
        o->partitions_n = np;
        bool readable = authz_allowed(req->conn, ACL_OP_READ, ACL_RES_TOPIC, t->name);
        bool subscribed = group_subscribed(g, t->name);
        for (int32_t j = 0; j < np; j++) {
            struct kp_offset_delete_resp_topics_partitions *op = &o->partitions[j];
            kp_offset_delete_resp_topics_partitions_init(op);
            op->partition_index = t->partitions[j].partition_index;
            if (!readable)
                op->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            else if (subscribed)
                op->error_code = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            else if (!topics_partition(gs->b->topics, t->name, op->partition_index))
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (offset_find(g, t->name, op->partition_index)) {
                struct gs_rec r;
                memset(&r, 0, sizeof r);
                r.type = GS_OFFSET_DEL;
                r.group = kstr_c(g->id);
                r.topic = t->name;
                r.partition = op->partition_index;
                gs_put(&w, &r);
            }
        }
    }
    if (w.len > 0 && append(gs, &w) != 0) {
        rs.error_code = KERR_NOT_COORDINATOR;
        w.len = 0;
    }
    if (w.len > 0)
        for (int32_t i = 0; i < nt; i++)
            for (int32_t j = 0; j < rs.topics[i].partitions_n; j++)
                if (rs.topics[i].partitions[j].error_code == KERR_NONE)
                    offset_del(g, rq.topics[i].name, rs.topics[i].partitions[j].partition_index);
    kw_free(&w);
    struct kw out;
    kreq_writer(req, &out);
    kp_offset_delete_resp_encode(&out, req->api_version, &rs);
    kreq_finish(req, &out);
    return 0;
}

/* ------------------------------------------------------------ queries */

int groups_state(struct groups *gs, const char *group, int32_t *generation, int *members)
{
    struct group *g = group_find(gs, kstr_c(group));
    if (!g)
        return -1;
    if (generation)
        *generation = g->generation;
    if (members)
        *members = g->nmembers;
    return (int)g->state;
}

int64_t groups_committed(struct groups *gs, const char *group, const char *topic, int32_t part)
{
    struct group *g = group_find(gs, kstr_c(group));
    const struct goffset *o = g ? offset_find(g, kstr_c(topic), part) : NULL;
    return o ? o->offset : -1;
}
