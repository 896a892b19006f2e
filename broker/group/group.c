/*
 * group.c — the group coordinator: groups, members and their rebalances
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, session expiry), plus the
 * registry of groups and committed offsets that group_offsets.c and
 * group_admin.c build on. Kafka's GroupCoordinator is the model; see
 * group.h for the states and docs/groups.md for the rules.
 */
#include "authz.h"
#include "clock.h"
#include "group_int.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kafka_errors.h"
#include "klog.h"

const char *gstate_name(enum gstate s)
{
    static const char *names[] = { "Empty", "PreparingRebalance", "CompletingRebalance",
                                   "Stable", "Dead" };
    return names[s];
}

char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool str_is(const char *s, struct kstr k)
{
    if (!s)
        return k.len < 0;
    return k.len >= 0 && strlen(s) == (size_t)k.len && memcmp(s, k.p, (size_t)k.len) == 0;
}

/* ------------------------------------------------------------ registry */

struct group *group_find(struct groups *gs, struct kstr id)
{
    for (int i = 0; i < gs->n; i++)
        if (str_is(gs->v[i]->id, id))
            return gs->v[i];
    return NULL;
}

static void join_timer_cb(evutil_socket_t fd, short what, void *arg);

struct group *group_create(struct groups *gs, struct kstr id)
{
    if (gs->n == gs->cap) {
        int cap = gs->cap ? gs->cap * 2 : 16;
        struct group **v = realloc(gs->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        gs->v = v;
        gs->cap = cap;
    }
    struct group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->gs = gs;
    g->id = kstr_dup(id);
    g->state = GS_EMPTY;
    g->state_ts = clock_wall_ms();
    if (gs->b && gs->b->base)
        g->join_timer = evtimer_new(gs->b->base, join_timer_cb, g);
    if (!g->id || (gs->b && gs->b->base && !g->join_timer)) {
        free(g->id);
        free(g);
        return NULL;
    }
    gs->v[gs->n++] = g;
    return g;
}

static void member_free(struct gmember *m)
{
    if (m->hb)
        event_free(m->hb);
    for (int i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    free(m->assign);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m);
}

/* Free a group and everything in it. Parked requests must have been
 * answered (group_delete) or be gone (shutdown: conns freed first). */
static void group_free(struct group *g)
{
    struct gmember *m;
    while ((m = g->members)) {
        g->members = m->next;
        member_free(m);
    }
    offsets_free(g);
    if (g->join_timer)
        event_free(g->join_timer);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

void group_delete(struct group *g)
{
    struct groups *gs = g->gs;
    struct gmember *m;
    while ((m = g->members))
        member_remove(m, KERR_UNKNOWN_MEMBER_ID);
    for (int i = 0; i < gs->n; i++) {
        if (gs->v[i] == g) {
            memmove(&gs->v[i], &gs->v[i + 1], (size_t)(gs->n - i - 1) * sizeof *gs->v);
            gs->n--;
            break;
        }
    }
    group_free(g);
}

void group_set_state(struct group *g, enum gstate s)
{
    if (g->state != s)
        KLOG_DEBUG("group %s: %s -> %s (generation %d)", g->id, gstate_name(g->state),
                   gstate_name(s), g->generation);
    g->state = s;
    g->state_ts = clock_wall_ms();
}

/* ------------------------------------------------------------ offsets */

static uint32_t ohash(struct kstr t, int32_t part)
{
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < t.len; i++)
        h = (h ^ (uint8_t)t.p[i]) * 16777619u;
    return (h ^ (uint32_t)part) * 16777619u;
}

struct goffset *offset_find(struct group *g, struct kstr topic, int32_t part)
{
    if (!g->nob)
        return NULL;
    for (struct goffset *o = g->ob[ohash(topic, part) & (g->nob - 1)]; o; o = o->next)
        if (o->part == part && str_is(o->topic, topic))
            return o;
    return NULL;
}

static int offsets_grow(struct group *g)
{
    uint32_t n = g->nob ? g->nob * 2 : 16;
    struct goffset **ob = calloc(n, sizeof *ob);
    if (!ob)
        return -1;
    for (uint32_t i = 0; i < g->nob; i++) {
        struct goffset *o = g->ob[i], *next;
        for (; o; o = next) {
            next = o->next;
            uint32_t h = ohash(kstr_c(o->topic), o->part) & (n - 1);
            o->next = ob[h];
            ob[h] = o;
        }
    }
    free(g->ob);
    g->ob = ob;
    g->nob = n;
    return 0;
}

static void offset_free(struct goffset *o)
{
    free(o->topic);
    free(o->metadata);
    free(o);
}

int offset_set(struct group *g, const struct gs_rec *r)
{
    struct goffset *o = offset_find(g, r->topic, r->partition);
    char *meta = r->metadata.len >= 0 ? kstr_dup(r->metadata) : NULL;
    if (r->metadata.len >= 0 && !meta)
        return -1;
    if (!o) {
        if (g->noffsets >= g->nob && offsets_grow(g) != 0)
            goto fail;
        o = calloc(1, sizeof *o);
        if (!o || !(o->topic = kstr_dup(r->topic))) {
            free(o);
            goto fail;
        }
        o->part = r->partition;
        uint32_t h = ohash(r->topic, r->partition) & (g->nob - 1);
        o->next = g->ob[h];
        g->ob[h] = o;
        g->noffsets++;
    }
    free(o->metadata);
    o->metadata = meta;
    o->offset = r->offset;
    o->leader_epoch = r->leader_epoch;
    o->commit_ts = r->commit_ts;
    o->expire_ts = r->expire_ts;
    return 0;
fail:
    free(meta);
    return -1;
}

void offset_del(struct group *g, struct kstr topic, int32_t part)
{
    if (!g->nob)
        return;
    struct goffset **pp = &g->ob[ohash(topic, part) & (g->nob - 1)];
    for (; *pp; pp = &(*pp)->next) {
        struct goffset *o = *pp;
        if (o->part == part && str_is(o->topic, topic)) {
            *pp = o->next;
            offset_free(o);
            g->noffsets--;
            return;
        }
    }
}

void offsets_free(struct group *g)
{
    for (uint32_t i = 0; i < g->nob; i++) {
        struct goffset *o = g->ob[i], *next;
        for (; o; o = next) {
            next = o->next;
            offset_free(o);
        }
    }
    free(g->ob);
    g->ob = NULL;
    g->nob = g->noffsets = 0;
}

/* ------------------------------------------------------------- members */

struct gmember *member_find(struct group *g, struct kstr id)
{
    if (id.len <= 0)
        return NULL;
    for (struct gmember *m = g->members; m; m = m->next)
        if (str_is(m->id, id))
            return m;
    return NULL;
}

struct gmember *member_find_instance(struct group *g, struct kstr instance)
{
    if (instance.len < 0)
        return NULL;
    for (struct gmember *m = g->members; m; m = m->next)
        if (!m->pending && m->instance_id && str_is(m->instance_id, instance))
            return m;
    return NULL;
}

/* A static member is fenced when its instance id now belongs to another
 * member id (a newer incarnation joined). */
bool instance_fenced(struct group *g, struct kstr instance, struct kstr member_id)
{
    struct gmember *m = member_find_instance(g, instance);
    return m && !str_is(m->id, member_id);
}

static void hb_cb(evutil_socket_t fd, short what, void *arg);

struct gmember *member_new(struct group *g, const char *id)
{
    struct gmember *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->g = g;
    m->id = strdup(id);
    struct broker *b = g->gs->b;
    if (b && b->base)
        m->hb = evtimer_new(b->base, hb_cb, m);
    if (!m->id || (b && b->base && !m->hb)) {
        member_free(m);
        return NULL;
    }
    /* Join order: the first member of a generation becomes its leader. */
    struct gmember **pp = &g->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    return m;
}

/* Kafka's member ids: "<client.id or group.instance.id>-<uuid>". */
char *member_id_make(struct kstr prefix)
{
    uint8_t u[16];
    if (RAND_bytes(u, sizeof u) != 1)
        return NULL;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    int plen = prefix.len > 0 ? prefix.len : 0;
    char *s = malloc((size_t)plen + 38);
    if (!s)
        return NULL;
    char *o = s;
    if (plen) {
        memcpy(o, prefix.p, (size_t)plen);
        o += plen;
    }
    *o++ = '-';
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        o += sprintf(o, "%02x", u[i]);
    }
    return s;
}

void hb_schedule(struct gmember *m)
{
    if (!m->hb)
        return;
    struct timeval tv = { m->session_ms / 1000, (m->session_ms % 1000) * 1000 };
    m->session_deadline_ms = clock_mono_ms() + m->session_ms;
    event_add(m->hb, &tv);
}

/* Expire now the members whose session ran out but whose timer has not run:
 * libevent runs the I/O callbacks of a loop turn before the timers that came
 * due in it (and rounds its wait up to whole ms), so a request that arrives
 * just after a deadline would otherwise see the member still there (Kafka
 * expires on its own thread, by the deadline).  Called before a group
 * request reads the membership. */
void group_expire_overdue(struct group *g)
{
    for (bool again = true; again;) {
        again = false;
        int64_t now = clock_mono_ms();
        for (struct gmember *m = g->members; m; m = m->next) {
            if (m->hb && evtimer_pending(m->hb, NULL) && now >= m->session_deadline_ms) {
                event_del(m->hb);
                hb_cb(-1, EV_TIMEOUT, m);  /* may remove m and others: rescan */
                again = true;
                break;
            }
        }
    }
}

static void park_cancel(struct kreq *req)
{
    struct gmember *m = req->pending;
    if (m->join_req == req)
        m->join_req = NULL;
    if (m->sync_req == req)
        m->sync_req = NULL;
    req->pending = NULL;
    req->cancel = NULL;
}

void park(struct gmember *m, struct kreq *req, bool join)
{
    struct kreq **slot = join ? &m->join_req : &m->sync_req;
    /* A client that re-sends while its first request waits gave up on
     * that one; answer it so the connection's queue keeps moving. */
    if (*slot) {
        if (join)
            join_answer(m, KERR_REBALANCE_IN_PROGRESS);
        else
            sync_answer(m, KERR_REBALANCE_IN_PROGRESS);
    }
    *slot = req;
    req->pending = m;
    req->cancel = park_cancel;
}

struct kreq *unpark(struct gmember *m, bool join)
{
    struct kreq **slot = join ? &m->join_req : &m->sync_req;
    struct kreq *req = *slot;
    if (req) {
        req->pending = NULL;
        req->cancel = NULL;
        *slot = NULL;
    }
    return req;
}

/* Unlink and free a member, answering what it had parked with `err`. */
void member_remove(struct gmember *m, int16_t err)
{
    struct group *g = m->g;
    if (m->join_req)
        join_answer(m, err);
    if (m->sync_req)
        sync_answer(m, err);
    for (struct gmember **pp = &g->members; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    if (m->pending)
        g->npending--;
    else
        g->nmembers--;
    member_free(m);
}

/* Copy a join request's identity and protocols into the member. */
int member_update(struct gmember *m, struct kreq *req, const struct kp_join_group_req *rq,
                  int32_t rebalance_ms)
{
    struct gproto *p = calloc((size_t)rq->protocols_n + 1, sizeof *p);
    if (!p)
        return -1;
    for (int32_t i = 0; i < rq->protocols_n; i++) {
        const struct kp_join_group_req_protocols *rp = &rq->protocols[i];
        p[i].name = kstr_dup(rp->name.len >= 0 ? rp->name : kstr_c(""));
        int32_t n = rp->metadata.len > 0 ? rp->metadata.len : 0;
        p[i].meta = malloc((size_t)n + 1);
        if (p[i].meta && n)
            memcpy(p[i].meta, rp->metadata.p, (size_t)n);
        p[i].len = n;
    }
    for (int i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    m->protos = p;
    m->nprotos = rq->protocols_n;
    m->session_ms = rq->session_timeout_ms;
    m->rebalance_ms = rebalance_ms;
    free(m->client_id);
    m->client_id = kstr_dup(req->client_id.len >= 0 ? req->client_id : kstr_c(""));
    free(m->client_host);
    m->client_host = NULL;
    if (req->conn) {
        /* "/host" as Kafka shows it, from "host:port". */
        const char *colon = strrchr(req->conn->peer, ':');
        size_t n = colon ? (size_t)(colon - req->conn->peer) : strlen(req->conn->peer);
        m->client_host = malloc(n + 2);
        if (m->client_host)
            snprintf(m->client_host, n + 2, "/%.*s", (int)n, req->conn->peer);
    }
    free(m->instance_id);
    m->instance_id = rq->group_instance_id.len >= 0 ? kstr_dup(rq->group_instance_id) : NULL;
    return 0;
}

const struct gproto *member_proto(const struct gmember *m, const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < m->nprotos; i++)
        if (strcmp(m->protos[i].name, name) == 0)
            return &m->protos[i];
    return NULL;
}

/* Does the request carry exactly the protocols the member has? */
static bool member_matches(const struct gmember *m, const struct kp_join_group_req *rq)
{
    if (rq->protocols_n != m->nprotos)
        return false;
    for (int i = 0; i < m->nprotos; i++) {
        const struct kp_join_group_req_protocols *rp = &rq->protocols[i];
        int32_t n = rp->metadata.len > 0 ? rp->metadata.len : 0;
        if (!str_is(m->protos[i].name, rp->name) || n != m->protos[i].len ||
            (n && memcmp(rp->metadata.p, m->protos[i].meta, (size_t)n) != 0))
            return false;
    }
    return true;
}

/* How many members other than `self` support protocol `name`. */
static int proto_support(const struct group *g, const struct gmember *self, struct kstr name)
{
    int n = 0;
    for (const struct gmember *m = g->members; m; m = m->next) {
        if (m == self || m->pending)
            continue;
        for (int i = 0; i < m->nprotos; i++)
            if (str_is(m->protos[i].name, name)) {
                n++;
                break;
            }
    }
    return n;
}

/* Kafka's supportsProtocols: an empty group takes any non-empty protocol
 * list; otherwise the protocol type must match and at least one protocol
 * must be supported by every other member. */
static bool protocols_compatible(const struct group *g, const struct gmember *self,
                                 const struct kp_join_group_req *rq)
{
    if (rq->protocol_type.len <= 0 || rq->protocols_n <= 0)
        return false;
    int others = g->nmembers - (self && !self->pending ? 1 : 0);
    if (others == 0)
        return true;
    if (!str_is(g->protocol_type, rq->protocol_type))
        return false;
    for (int32_t i = 0; i < rq->protocols_n; i++)
        if (proto_support(g, self, rq->protocols[i].name) == others)
            return true;
    return false;
}

/* Kafka's selectProtocol: among the protocols every member supports, each
 * member votes for the first of its own list; most votes wins, ties go to
 * the candidate found first. */
static const char *select_protocol(const struct group *g)
{
    const struct gmember *first = NULL;
    for (const struct gmember *m = g->members; m && !first; m = m->next)
        if (!m->pending)
            first = m;
    if (!first)
        return NULL;
    const char *best = NULL;
    int best_votes = -1;
    for (int i = 0; i < first->nprotos; i++) {
        const char *cand = first->protos[i].name;
        if (proto_support(g, NULL, kstr_c(cand)) != g->nmembers)
            continue;
        int votes = 0;
        for (const struct gmember *m = g->members; m; m = m->next) {
            if (m->pending)
                continue;
            for (int j = 0; j < m->nprotos; j++) {
                if (proto_support(g, NULL, kstr_c(m->protos[j].name)) != g->nmembers)
                    continue;
                votes += strcmp(m->protos[j].name, cand) == 0;
                break;
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

static int32_t max_rebalance_ms(const struct group *g)
{
    int32_t t = 0;
    for (const struct gmember *m = g->members; m; m = m->next)
        if (!m->pending && m->rebalance_ms > t)
            t = m->rebalance_ms;
    return t;
}

static void arm(struct event *ev, int64_t ms)
{
    if (!ev)
        return;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    event_add(ev, &tv);
}

/* ------------------------------------------------------------ rebalance */

static void reset_assignments(struct group *g, int16_t err)
{
    for (struct gmember *m = g->members; m; m = m->next) {
        free(m->assign);
        m->assign = NULL;
        m->assign_len = 0;
        if (m->sync_req)
            sync_answer(m, err);
    }
}

static bool all_joined(const struct group *g)
{
    if (g->npending > 0)
        return false;
    for (const struct gmember *m = g->members; m; m = m->next)
        if (!m->joined)
            return false;
    return true;
}

static void complete_join(struct group *g)
{
    if (g->join_timer)
        event_del(g->join_timer);
    g->initial = false;
    /* Members that did not rejoin in time leave the group. */
    struct gmember *m = g->members, *next;
    for (; m; m = next) {
        next = m->next;
        if (!m->pending && !m->joined) {
            KLOG_INFO("group %s: member %s did not rejoin in time, removed", g->id, m->id);
            member_remove(m, KERR_UNKNOWN_MEMBER_ID);
        }
    }
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (g->nmembers == 0) {
        free(g->leader);
        g->leader = NULL;
        group_set_state(g, GS_EMPTY);
        g->gs->persist(g);
        return;
    }
    g->protocol = xstrdup(select_protocol(g));
    if (!g->leader || !member_find(g, kstr_c(g->leader))) {
        for (m = g->members; m->pending; m = m->next)
            ;
        free(g->leader);
        g->leader = strdup(m->id);
    }
    group_set_state(g, GS_COMPLETING);
    KLOG_INFO("group %s: generation %d with %d members, protocol %s, leader %s", g->id,
              g->generation, g->nmembers, g->protocol ? g->protocol : "-", g->leader);
    for (m = g->members; m; m = m->next) {
        if (m->pending)
            continue;
        m->joined = false;
        if (m->join_req)
            join_answer(m, KERR_NONE);
        hb_schedule(m);
    }
}

void maybe_complete_join(struct group *g)
{
    if (g->state == GS_PREPARING && !g->initial && all_joined(g))
        complete_join(g);
}

void prepare_rebalance(struct group *g)
{
    const struct broker_config *cfg = g->gs->b->cfg;
    if (g->state == GS_COMPLETING)
        reset_assignments(g, KERR_REBALANCE_IN_PROGRESS);
    bool initial = g->state == GS_EMPTY && cfg->group_initial_rebalance_delay_ms > 0;
    group_set_state(g, GS_PREPARING);
    int64_t timeout = max_rebalance_ms(g);
    if (initial) {
        /* Kafka's InitialDelayedJoin: wait for more members to arrive
         * before the first generation, up to the rebalance timeout. */
        int64_t delay = cfg->group_initial_rebalance_delay_ms;
        if (delay > timeout)
            delay = timeout;
        g->initial = true;
        g->new_member_added = false;
        g->initial_remaining = timeout - delay > 0 ? timeout - delay : 0;
        arm(g->join_timer, delay);
        return;
    }
    g->initial = false;
    arm(g->join_timer, timeout);
    maybe_complete_join(g);
}

static void join_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct group *g = arg;
    (void)fd;
    (void)what;
    if (g->state != GS_PREPARING)
        return;
    if (g->initial && g->new_member_added && g->initial_remaining > 0) {
        int64_t delay = g->gs->b->cfg->group_initial_rebalance_delay_ms;
        if (delay > g->initial_remaining)
            delay = g->initial_remaining;
        g->initial_remaining -= delay;
        g->new_member_added = false;
        arm(g->join_timer, delay);
        return;
    }
    complete_join(g);
}

/* After a member left or expired: Kafka's maybePrepareRebalance, or a
 * check whether the rebalance in progress can now finish. */
void rebalance_after_removal(struct group *g)
{
    if (g->state == GS_STABLE || g->state == GS_COMPLETING)
        prepare_rebalance(g);
    else if (g->state == GS_PREPARING)
        maybe_complete_join(g);
}

static void hb_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gmember *m = arg;
    struct group *g = m->g;
    (void)fd;
    (void)what;
    if (m->pending) {
        KLOG_INFO("group %s: pending member %s never rejoined, dropped", g->id, m->id);
        member_remove(m, KERR_UNKNOWN_MEMBER_ID);
        maybe_complete_join(g);
        return;
    }
    /* A member waiting for its join or sync answer is alive by definition. */
    if (m->join_req || m->sync_req) {
        hb_schedule(m);
        return;
    }
    KLOG_INFO("group %s: member %s session timed out (%d ms), removed", g->id, m->id,
              m->session_ms);
    member_remove(m, KERR_UNKNOWN_MEMBER_ID);
    rebalance_after_removal(g);
}

/* ------------------------------------------------------------ JoinGroup */

static void join_reply(struct kreq *req, int16_t err, struct group *g, const char *member_id,
                       bool with_members)
{
    struct kp_join_group_resp rs;
    kp_join_group_resp_init(&rs);
    rs.error_code = err;
    rs.member_id = kstr_c(member_id ? member_id : "");
    rs.leader = kstr_c("");
    rs.protocol_name = req->api_version >= 7 ? kstr_c(NULL) : kstr_c("");
    if (g && err == KERR_NONE) {
        rs.generation_id = g->generation;
        rs.protocol_type = kstr_c(g->protocol_type);
        rs.protocol_name = kstr_c(g->protocol ? g->protocol : "");
        rs.leader = kstr_c(g->leader ? g->leader : "");
    }
    /* Members sent in Stable: the leader must not assign again (v9). */
    rs.skip_assignment = g && err == KERR_NONE && with_members && g->state == GS_STABLE;
    if (g && err == KERR_NONE && with_members) {
        rs.members = karena_calloc(&req->arena, (size_t)g->nmembers + 1, sizeof *rs.members);
        int32_t n = 0;
        for (struct gmember *m = g->members; m && rs.members; m = m->next) {
            if (m->pending)
                continue;
            struct kp_join_group_resp_members *o = &rs.members[n++];
            kp_join_group_resp_members_init(o);
            const struct gproto *p = member_proto(m, g->protocol);
            o->member_id = kstr_c(m->id);
            o->group_instance_id = kstr_c(m->instance_id);
            o->metadata.p = p ? p->meta : NULL;
            o->metadata.len = p ? p->len : 0;
        }
        rs.members_n = rs.members ? n : 0;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_join_group_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
}

void join_answer(struct gmember *m, int16_t err)
{
    struct kreq *req = unpark(m, true);
    if (!req)
        return;
    struct group *g = m->g;
    bool leader = g->leader && strcmp(g->leader, m->id) == 0;
    join_reply(req, err, err == KERR_NONE ? g : NULL, m->id, leader);
}

static void add_and_rebalance(struct group *g, struct gmember *m, struct kreq *req)
{
    m->joined = true;
    park(m, req, true);
    hb_schedule(m);
    if (g->state == GS_PREPARING && g->initial)
        g->new_member_added = true;
    if (g->state == GS_PREPARING)
        maybe_complete_join(g);
    else
        prepare_rebalance(g);
}

/* A static member rejoining with a new incarnation (empty member id):
 * the old member id is fenced and replaced. In a stable group whose chosen
 * protocol stays the same, the member gets the current generation back
 * without a rebalance (KIP-345), as in Kafka's updateStaticMemberAndRebalance.
 * A leader learns it is one; from v9 it also gets the members with
 * skip_assignment, older versions get none (the group keeps its assignment
 * either way: SyncGroup in Stable hands out the stored one). */
static int16_t static_rejoin(struct kreq *req, const struct kp_join_group_req *rq,
                             struct group *g, struct gmember *m, int32_t rebalance_ms)
{
    char *id = member_id_make(rq->group_instance_id);
    if (!id)
        return KERR_UNKNOWN_SERVER_ERROR;
    bool was_leader = g->leader && strcmp(g->leader, m->id) == 0;
    if (m->join_req)
        join_answer(m, KERR_FENCED_INSTANCE_ID);
    if (m->sync_req)
        sync_answer(m, KERR_FENCED_INSTANCE_ID);
    KLOG_INFO("group %s: static member %s replaced by %s", g->id, m->id, id);
    free(m->id);
    m->id = id;
    if (was_leader) {
        free(g->leader);
        g->leader = strdup(id);
    }
    if (member_update(m, req, rq, rebalance_ms) != 0)
        return KERR_UNKNOWN_SERVER_ERROR;
    const char *next = g->state == GS_STABLE ? select_protocol(g) : NULL;
    if (next && g->protocol && strcmp(next, g->protocol) == 0) {
        hb_schedule(m);
        g->gs->persist(g);
        bool members = was_leader && req->api_version >= 9;
        join_reply(req, KERR_NONE, g, m->id, members);
        return KERR_NONE;
    }
    if (g->state == GS_PREPARING) {
        m->joined = true;
        park(m, req, true);
        hb_schedule(m);
        maybe_complete_join(g);
        return KERR_NONE;
    }
    add_and_rebalance(g, m, req);
    return KERR_NONE;
}

static int16_t join_new_member(struct kreq *req, const struct kp_join_group_req *rq,
                               struct group *g, int32_t rebalance_ms)
{
    const struct broker_config *cfg = g->gs->b->cfg;
    bool is_static = rq->group_instance_id.len >= 0;
    if (!protocols_compatible(g, NULL, rq))
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (is_static) {
        struct gmember *old = member_find_instance(g, rq->group_instance_id);
        if (old)
            return static_rejoin(req, rq, g, old, rebalance_ms);
    }
    if (g->nmembers + g->npending >= cfg->group_max_size)
        return KERR_GROUP_MAX_SIZE_REACHED;
    char *id = member_id_make(is_static ? rq->group_instance_id : req->client_id);
    struct gmember *m = id ? member_new(g, id) : NULL;
    free(id);
    if (!m)
        return KERR_UNKNOWN_SERVER_ERROR;
    if (member_update(m, req, rq, rebalance_ms) != 0) {
        m->pending = true;
        g->npending++;
        member_remove(m, KERR_NONE);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    if (!g->protocol_type)
        g->protocol_type = kstr_dup(rq->protocol_type);
    /* KIP-394: from v4 a dynamic member first gets its id and must come
     * back with it, so ids of clients that die mid-join do not pile up. */
    if (!is_static && req->api_version >= 4) {
        m->pending = true;
        g->npending++;
        hb_schedule(m);
        join_reply(req, KERR_MEMBER_ID_REQUIRED, NULL, m->id, false);
        return KERR_NONE;
    }
    g->nmembers++;
    add_and_rebalance(g, m, req);
    return KERR_NONE;
}

static int16_t join_known_member(struct kreq *req, const struct kp_join_group_req *rq,
                                 struct group *g, int32_t rebalance_ms)
{
    if (instance_fenced(g, rq->group_instance_id, rq->member_id))
        return KERR_FENCED_INSTANCE_ID;
    struct gmember *m = member_find(g, rq->member_id);
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    if (!protocols_compatible(g, m, rq))
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (m->pending) {
        m->pending = false;
        g->npending--;
        g->nmembers++;
        if (member_update(m, req, rq, rebalance_ms) != 0)
            return KERR_UNKNOWN_SERVER_ERROR;
        if (!g->protocol_type)
            g->protocol_type = kstr_dup(rq->protocol_type);
        add_and_rebalance(g, m, req);
        return KERR_NONE;
    }
    bool same = member_matches(m, rq);
    bool leader = g->leader && strcmp(g->leader, m->id) == 0;
    switch (g->state) {
    case GS_PREPARING:
        if (member_update(m, req, rq, rebalance_ms) != 0)
            return KERR_UNKNOWN_SERVER_ERROR;
        m->joined = true;
        park(m, req, true);
        hb_schedule(m);
        maybe_complete_join(g);
        return KERR_NONE;
    case GS_COMPLETING:
        if (same) {
            /* A lost JoinGroup answer: send the same generation again. */
            hb_schedule(m);
            join_reply(req, KERR_NONE, g, m->id, leader);
            return KERR_NONE;
        }
        break;
    case GS_STABLE:
        if (same && !leader) {
            hb_schedule(m);
            join_reply(req, KERR_NONE, g, m->id, false);
            return KERR_NONE;
        }
        break;
    default:
        return KERR_UNKNOWN_MEMBER_ID;
    }
    if (member_update(m, req, rq, rebalance_ms) != 0)
        return KERR_UNKNOWN_SERVER_ERROR;
    add_and_rebalance(g, m, req);
    return KERR_NONE;
}

int h_join_group(struct kreq *req)
{
    struct kp_join_group_req rq;
    if (kp_join_group_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct groups *gs = req->conn->b->groups;
    const struct broker_config *cfg = gs->b->cfg;
    int16_t err;
    /* v0 has no rebalance timeout: Kafka uses the session timeout. */
    int32_t rebalance_ms = req->api_version >= 1 ? rq.rebalance_timeout_ms : rq.session_timeout_ms;
    if (rebalance_ms <= 0)
        rebalance_ms = rq.session_timeout_ms;
    struct group *g = group_find(gs, rq.group_id);
    /* Kafka: READ on the group. */
    if (!authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, rq.group_id))
        err = KERR_GROUP_AUTHORIZATION_FAILED;
    else if (rq.group_id.len <= 0)
        err = KERR_INVALID_GROUP_ID;
    else if (rq.session_timeout_ms < cfg->group_min_session_timeout_ms ||
             rq.session_timeout_ms > cfg->group_max_session_timeout_ms)
        err = KERR_INVALID_SESSION_TIMEOUT;
    else if (rq.member_id.len > 0)
        err = g ? join_known_member(req, &rq, g, rebalance_ms) : KERR_UNKNOWN_MEMBER_ID;
    else if (!g && !(g = group_create(gs, rq.group_id)))
        err = KERR_UNKNOWN_SERVER_ERROR;
    else
        err = join_new_member(req, &rq, g, rebalance_ms);
    if (err != KERR_NONE) {
        KLOG_DEBUG("JoinGroup %.*s member %.*s: error %d", (int)(rq.group_id.len > 0 ? rq.group_id.len : 0),
                   rq.group_id.p, (int)(rq.member_id.len > 0 ? rq.member_id.len : 0), rq.member_id.p, err);
        char *mid = kstr_dup(rq.member_id);
        join_reply(req, err, NULL, mid, false);
        free(mid);
    }
    return 0;
}

/* ------------------------------------------------------------ SyncGroup */

static void sync_reply(struct kreq *req, int16_t err, const struct group *g,
                       const uint8_t *assign, int32_t len)
{
    struct kp_sync_group_resp rs;
    kp_sync_group_resp_init(&rs);
    rs.error_code = err;
    if (g && err == KERR_NONE) {
        rs.protocol_type = kstr_c(g->protocol_type);
        rs.protocol_name = kstr_c(g->protocol);
    }
    rs.assignment.p = err == KERR_NONE ? assign : NULL;
    rs.assignment.len = err == KERR_NONE ? len : 0;
    struct kw w;
    kreq_writer(req, &w);
    kp_sync_group_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
}

void sync_answer(struct gmember *m, int16_t err)
{
    struct kreq *req = unpark(m, false);
    if (req)
        sync_reply(req, err, m->g, m->assign, m->assign_len);
}

static int set_assignments(struct group *g, const struct kp_sync_group_req *rq)
{
    for (struct gmember *m = g->members; m; m = m->next) {
        free(m->assign);
        m->assign = NULL;
        m->assign_len = 0;
    }
    for (int32_t i = 0; i < rq->assignments_n; i++) {
        struct gmember *m = member_find(g, rq->assignments[i].member_id);
        struct kbytes a = rq->assignments[i].assignment;
        if (!m || m->pending)
            continue;
        free(m->assign);
        m->assign_len = a.len > 0 ? a.len : 0;
        m->assign = malloc((size_t)m->assign_len + 1);
        if (!m->assign)
            return -1;
        if (m->assign_len)
            memcpy(m->assign, a.p, (size_t)m->assign_len);
    }
    return 0;
}

/* The leader's assignment arrived: store it, then hand every waiting
 * member its share. */
static void complete_sync(struct group *g, const struct kp_sync_group_req *rq)
{
    if (set_assignments(g, rq) != 0 || g->gs->persist(g) != 0) {
        /* Kafka: the assignment could not be stored, so nobody gets it and
         * the group rebalances again. */
        reset_assignments(g, KERR_NOT_COORDINATOR);  /* Kafka maps a storage error so */
        prepare_rebalance(g);
        return;
    }
    group_set_state(g, GS_STABLE);
    for (struct gmember *m = g->members; m; m = m->next)
        if (m->sync_req)
            sync_answer(m, KERR_NONE);
}

static int16_t sync_check(struct group *g, const struct kp_sync_group_req *rq, int16_t ver,
                          struct gmember **out)
{
    if (rq->group_id.len <= 0)
        return KERR_INVALID_GROUP_ID;
    if (!g)
        return KERR_UNKNOWN_MEMBER_ID;
    if (instance_fenced(g, rq->group_instance_id, rq->member_id))
        return KERR_FENCED_INSTANCE_ID;
    struct gmember *m = member_find(g, rq->member_id);
    if (!m || m->pending)
        return KERR_UNKNOWN_MEMBER_ID;
    if (rq->generation_id != g->generation)
        return KERR_ILLEGAL_GENERATION;
    if (ver >= 5 && ((rq->protocol_type.len >= 0 && !str_is(g->protocol_type, rq->protocol_type)) ||
                     (rq->protocol_name.len >= 0 && !str_is(g->protocol, rq->protocol_name))))
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    *out = m;
    return KERR_NONE;
}

int h_sync_group(struct kreq *req)
{
    struct kp_sync_group_req rq;
    if (kp_sync_group_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct group *g = group_find(req->conn->b->groups, rq.group_id);
    struct gmember *m = NULL;
    int16_t err = authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, rq.group_id)
                      ? sync_check(g, &rq, req->api_version, &m)
                      : KERR_GROUP_AUTHORIZATION_FAILED;
    if (err == KERR_NONE) {
        switch (g->state) {
        case GS_PREPARING:
            err = KERR_REBALANCE_IN_PROGRESS;
            break;
        case GS_COMPLETING:
            park(m, req, false);
            hb_schedule(m);
            if (g->leader && strcmp(g->leader, m->id) == 0)
                complete_sync(g, &rq);
            return 0;
        case GS_STABLE:
            hb_schedule(m);
            sync_reply(req, KERR_NONE, g, m->assign, m->assign_len);
            return 0;
        default:
            err = KERR_UNKNOWN_MEMBER_ID;
        }
    }
    sync_reply(req, err, NULL, NULL, 0);
    return 0;
}

/* ------------------------------------------------------------ Heartbeat */

int h_heartbeat(struct kreq *req)
{
    struct kp_heartbeat_req rq;
    if (kp_heartbeat_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct group *g = group_find(req->conn->b->groups, rq.group_id);
    struct gmember *m = g ? member_find(g, rq.member_id) : NULL;
    int16_t err = KERR_NONE;
    if (!authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, rq.group_id))
        err = KERR_GROUP_AUTHORIZATION_FAILED;
    else if (rq.group_id.len <= 0)
        err = KERR_INVALID_GROUP_ID;
    else if (!g || g->state == GS_EMPTY)
        err = KERR_UNKNOWN_MEMBER_ID;
    else if (instance_fenced(g, rq.group_instance_id, rq.member_id))
        err = KERR_FENCED_INSTANCE_ID;
    else if (!m || m->pending)
        err = KERR_UNKNOWN_MEMBER_ID;
    else if (rq.generation_id != g->generation)
        err = KERR_ILLEGAL_GENERATION;
    else {
        hb_schedule(m);
        /* Tells the member to rejoin; it stays alive meanwhile. */
        if (g->state == GS_PREPARING)
            err = KERR_REBALANCE_IN_PROGRESS;
    }
    struct kp_heartbeat_resp rs;
    kp_heartbeat_resp_init(&rs);
    rs.error_code = err;
    struct kw w;
    kreq_writer(req, &w);
    kp_heartbeat_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ----------------------------------------------------------- LeaveGroup */

static int16_t leave_one(struct group *g, struct kstr member_id, struct kstr instance,
                         bool *removed)
{
    struct gmember *m;
    if (instance.len >= 0) {
        m = member_find_instance(g, instance);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
        /* An admin removal names only the instance; a member names both. */
        if (member_id.len > 0 && !str_is(m->id, member_id))
            return KERR_FENCED_INSTANCE_ID;
    } else {
        m = member_find(g, member_id);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
    }
    KLOG_INFO("group %s: member %s left", g->id, m->id);
    if (!m->pending)
        *removed = true;
    member_remove(m, KERR_UNKNOWN_MEMBER_ID);
    return KERR_NONE;
}

int h_leave_group(struct kreq *req)
{
    struct kp_leave_group_req rq;
    if (kp_leave_group_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    /* Kafka: READ on the group; denied, the group is left alone. */
    bool denied = !authz_allowed(req->conn, ACL_OP_READ, ACL_RES_GROUP, rq.group_id);
    struct group *g = denied ? NULL : group_find(req->conn->b->groups, rq.group_id);
    /* v0-2 name one member; v3+ a batch. */
    struct kp_leave_group_req_members one;
    kp_leave_group_req_members_init(&one);
    one.member_id = rq.member_id;
    one.group_instance_id = kstr_c(NULL);
    struct kp_leave_group_req_members *list = req->api_version >= 3 ? rq.members : &one;
    int32_t n = req->api_version >= 3 ? (rq.members_n > 0 ? rq.members_n : 0) : 1;

    struct kp_leave_group_resp rs;
    kp_leave_group_resp_init(&rs);
    rs.members = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.members);
    if (!rs.members)
        return -1;
    rs.members_n = n;
    bool removed = false;
    for (int32_t i = 0; i < n; i++) {
        struct kp_leave_group_resp_members *o = &rs.members[i];
        kp_leave_group_resp_members_init(o);
        o->member_id = list[i].member_id;
        o->group_instance_id = list[i].group_instance_id;
        if (denied)
            o->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
        else if (rq.group_id.len <= 0)
            o->error_code = KERR_INVALID_GROUP_ID;
        else if (!g)
            o->error_code = KERR_UNKNOWN_MEMBER_ID;
        else
            o->error_code = leave_one(g, list[i].member_id, list[i].group_instance_id, &removed);
    }
    if (removed)
        rebalance_after_removal(g);
    else if (g)
        maybe_complete_join(g);
    if (denied) {
        rs.error_code = KERR_GROUP_AUTHORIZATION_FAILED;
        rs.members_n = 0;
    } else if (rq.group_id.len <= 0)
        rs.error_code = KERR_INVALID_GROUP_ID;
    else if (req->api_version < 3)
        rs.error_code = rs.members[0].error_code;
    struct kw w;
    kreq_writer(req, &w);
    kp_leave_group_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
