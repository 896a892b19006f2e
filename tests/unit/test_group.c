/*
 * Unit tests of the group coordinator: the rebalance state machine driven
 * through its request handlers (real encoded requests, responses decoded
 * from the connection's output), session expiry on the event loop, static
 * membership, and the group store's durability and recovery (torn tail,
 * corrupt record), offsets across a restart and their retention.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "clock.h"
#include "config.h"
#include "fileio.h"
#include "group.h"
#include "group_store.h"
#include "kafka_errors.h"
#include "topics.h"

static char tmpdir[] = "/tmp/kavka-group-XXXXXX";
static struct broker_config cfg;
static struct topics topics;
static struct broker b;
static struct blistener lst = { .name = "PLAINTEXT", .adv_host = "adv.example", .adv_port = 9092 };

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void start(const char *extra)
{
    char logdirs[128], *ov[8];
    int n = 0;
    snprintf(logdirs, sizeof logdirs, "log.dirs=%s", tmpdir);
    ov[n++] = logdirs;
    ov[n++] = "group.min.session.timeout.ms=10";
    ov[n++] = "group.initial.rebalance.delay.ms=0";
    ov[n++] = "group.max.size=3";
    if (extra)
        ov[n++] = (char *)extra;
    char err[256];
    cr_assert_eq(broker_config_load(&cfg, NULL, n, ov, err, sizeof err), 0, "%s", err);
    memset(&b, 0, sizeof b);
    b.cfg = &cfg;
    b.base = event_base_new();
    TAILQ_INIT(&b.conns);
    cr_assert_eq(topics_open(&topics, &cfg), 0);
    b.topics = &topics;
    if (!topics_find(&topics, kstr_c("t")))
        cr_assert_eq(topics_create(&topics, kstr_c("t"), 4, 1, NULL, 0, false, NULL, err, sizeof err),
                     KERR_NONE, "%s", err);
    cr_assert_eq(groups_open(&b), 0);
}

static void stop(void)
{
    groups_close(&b);
    topics_close(&topics);
    event_base_free(b.base);
    broker_config_free(&cfg);
}

static void setup(void)
{
    cr_assert(mkdtemp(tmpdir));
    start(NULL);
}

static void teardown(void)
{
    fio_fault_hook = NULL;
    stop();
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(group, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- client */

struct tconn {
    struct conn c;
    struct bufferevent *pair[2];
    int32_t corr;
};

static struct tconn *tconn_new(void)
{
    struct tconn *t = calloc(1, sizeof *t);
    cr_assert(t);
    cr_assert_eq(bufferevent_pair_new(b.base, 0, t->pair), 0);
    bufferevent_enable(t->pair[1], EV_READ); /* responses flow to this end */
    t->c.b = &b;
    t->c.bev = t->pair[0];
    t->c.lst = &lst;
    snprintf(t->c.peer, sizeof t->c.peer, "10.0.0.7:5555");
    TAILQ_INIT(&t->c.q);
    return t;
}

/* Encode `msg` as a request and hand it to the API's handler. */
static void send_req(struct tconn *t, int16_t key, int16_t ver, const void *msg)
{
    const struct kp_msg_desc *d = kp_msg_find(key, false);
    struct kw w;
    kw_init(&w, NULL);
    d->encode(&w, ver, msg);
    cr_assert_eq(w.err, 0);
    struct kreq *req = calloc(1, sizeof *req);
    req->frame = malloc(w.len + 1);
    memcpy(req->frame, w.buf, w.len);
    req->frame_len = w.len;
    kw_free(&w);
    kr_init(&req->body, req->frame, req->frame_len);
    req->conn = &t->c;
    req->api_key = key;
    req->api_version = ver;
    req->corr_id = ++t->corr;
    req->client_id = kstr_c("ut-client");
    karena_init(&req->arena);
    TAILQ_INSERT_TAIL(&t->c.q, req, link);
    t->c.inflight++;
    cr_assert_eq(khandler_find(key)->fn(req), 0);
}

/* The next response on t, decoded into out (views into arena memory);
 * false when none has been sent yet. */
static bool recv_resp(struct tconn *t, int16_t key, int16_t ver, void *out, struct karena *a)
{
    event_base_loop(b.base, EVLOOP_NONBLOCK);
    struct evbuffer *in = bufferevent_get_input(t->pair[1]);
    uint8_t hdr[4];
    if (evbuffer_copyout(in, hdr, 4) < 4)
        return false;
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (evbuffer_get_length(in) < n + 4)
        return false;
    evbuffer_drain(in, 4);
    uint8_t *buf = karena_alloc(a, n + 1);
    evbuffer_remove(in, buf, n);
    struct kr r;
    kr_init(&r, buf, n);
    kr_i32(&r);
    const struct kp_api_info *api = kp_api_find(key);
    if (ver >= api->flex_min)
        kr_skip_tags(&r);
    cr_assert_eq(kp_msg_find(key, true)->decode(&r, ver, a, out), 0);
    return true;
}

/* Requests still parked when a test ends: free them as a closing
 * connection would. */
static void tconn_free(struct tconn *t)
{
    struct kreq *req;
    while ((req = TAILQ_FIRST(&t->c.q))) {
        TAILQ_REMOVE(&t->c.q, req, link);
        if (req->cancel)
            req->cancel(req);
        karena_free(&req->arena);
        if (req->resp)
            evbuffer_free(req->resp);
        free(req->frame);
        free(req);
    }
    bufferevent_free(t->pair[0]);
    bufferevent_free(t->pair[1]);
    free(t);
}

static uint8_t meta_a[] = { 0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0 };

static void join(struct tconn *t, int16_t ver, const char *group, const char *member,
                 const char *instance, int32_t session_ms)
{
    struct kp_join_group_req rq;
    kp_join_group_req_init(&rq);
    struct kp_join_group_req_protocols p[2];
    kp_join_group_req_protocols_init(&p[0]);
    kp_join_group_req_protocols_init(&p[1]);
    p[0].name = kstr_c("range");
    p[0].metadata = (struct kbytes){ meta_a, sizeof meta_a };
    p[1].name = kstr_c("roundrobin");
    p[1].metadata = (struct kbytes){ meta_a, sizeof meta_a };
    rq.group_id = kstr_c(group);
    rq.session_timeout_ms = session_ms;
    rq.rebalance_timeout_ms = session_ms;
    rq.member_id = kstr_c(member);
    rq.group_instance_id = kstr_c(instance);
    rq.protocol_type = kstr_c("consumer");
    rq.protocols = p;
    rq.protocols_n = 2;
    send_req(t, KP_API_JOIN_GROUP, ver, &rq);
}

static struct kp_join_group_resp join_resp(struct tconn *t, int16_t ver, struct karena *a)
{
    struct kp_join_group_resp rs;
    cr_assert(recv_resp(t, KP_API_JOIN_GROUP, ver, &rs, a), "no JoinGroup answer");
    return rs;
}

static char *dup_str(struct karena *a, struct kstr s)
{
    char *p = karena_alloc(a, (size_t)s.len + 1);
    memcpy(p, s.p, (size_t)s.len);
    return p;
}

/* A dynamic member through the MEMBER_ID_REQUIRED round trip. */
static char *join_dynamic(struct tconn *t, const char *group, struct karena *a)
{
    join(t, 9, group, "", NULL, 1000);
    struct kp_join_group_resp rs = join_resp(t, 9, a);
    cr_assert_eq(rs.error_code, KERR_MEMBER_ID_REQUIRED);
    cr_assert_gt(rs.member_id.len, 10);
    cr_assert(strncmp(rs.member_id.p, "ut-client-", 10) == 0);
    char *id = dup_str(a, rs.member_id);
    join(t, 9, group, id, NULL, 1000);
    return id;
}

static int16_t heartbeat(struct tconn *t, const char *group, int32_t gen, const char *member,
                         const char *instance)
{
    struct kp_heartbeat_req rq;
    kp_heartbeat_req_init(&rq);
    rq.group_id = kstr_c(group);
    rq.generation_id = gen;
    rq.member_id = kstr_c(member);
    rq.group_instance_id = kstr_c(instance);
    send_req(t, KP_API_HEARTBEAT, 4, &rq);
    struct karena a;
    karena_init(&a);
    struct kp_heartbeat_resp rs;
    cr_assert(recv_resp(t, KP_API_HEARTBEAT, 4, &rs, &a));
    karena_free(&a);
    return rs.error_code;
}

static void sync_group(struct tconn *t, const char *group, int32_t gen, const char *member,
                       int n, const char **ids, const char **assign)
{
    struct kp_sync_group_req rq;
    kp_sync_group_req_init(&rq);
    struct kp_sync_group_req_assignments as[4];
    for (int i = 0; i < n; i++) {
        kp_sync_group_req_assignments_init(&as[i]);
        as[i].member_id = kstr_c(ids[i]);
        as[i].assignment = (struct kbytes){ (const uint8_t *)assign[i], (int32_t)strlen(assign[i]) };
    }
    rq.group_id = kstr_c(group);
    rq.generation_id = gen;
    rq.member_id = kstr_c(member);
    rq.protocol_type = kstr_c("consumer");
    rq.protocol_name = kstr_c("range");
    rq.assignments = as;
    rq.assignments_n = n;
    send_req(t, KP_API_SYNC_GROUP, 5, &rq);
}

static void run_for(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(b.base, &tv);
    event_base_dispatch(b.base);
}

/* ---------------------------------------------------------------- tests */

Test(group, two_members_rebalance_and_sync)
{
    struct karena a;
    karena_init(&a);
    struct tconn *t1 = tconn_new(), *t2 = tconn_new();
    char *m1 = join_dynamic(t1, "g", &a);
    struct kp_join_group_resp r1 = join_resp(t1, 9, &a);
    cr_assert_eq(r1.error_code, KERR_NONE);
    cr_assert_eq(r1.generation_id, 1);
    cr_assert(kstr_eq(r1.leader, m1));
    cr_assert(kstr_eq(r1.protocol_name, "range"));
    cr_assert_eq(r1.members_n, 1);

    /* A second member: the group goes back to PreparingRebalance, the
     * first learns it from its heartbeat and rejoins. */
    char *m2 = join_dynamic(t2, "g", &a);
    struct kp_join_group_resp tmp;
    cr_assert(!recv_resp(t2, KP_API_JOIN_GROUP, 9, &tmp, &a), "answered before all rejoined");
    cr_assert_eq(heartbeat(t1, "g", 1, m1, NULL), KERR_REBALANCE_IN_PROGRESS);
    cr_assert_eq(groups_state(b.groups, "g", NULL, NULL), GS_PREPARING);
    join(t1, 9, "g", m1, NULL, 1000);
    r1 = join_resp(t1, 9, &a);
    struct kp_join_group_resp r2 = join_resp(t2, 9, &a);
    cr_assert_eq(r1.generation_id, 2);
    cr_assert_eq(r2.generation_id, 2);
    cr_assert_eq(r1.members_n, 2, "the leader gets every member");
    cr_assert_eq(r2.members_n, 0, "followers get none");
    cr_assert(kstr_eq(r2.leader, m1));

    /* The follower's SyncGroup waits for the leader's. */
    sync_group(t2, "g", 2, m2, 0, NULL, NULL);
    struct kp_sync_group_resp s2, s1;
    cr_assert(!recv_resp(t2, KP_API_SYNC_GROUP, 5, &s2, &a));
    cr_assert_eq(heartbeat(t1, "g", 2, m1, NULL), KERR_NONE);
    const char *ids[] = { m1, m2 }, *as[] = { "A1", "A2" };
    sync_group(t1, "g", 2, m1, 2, ids, as);
    cr_assert(recv_resp(t1, KP_API_SYNC_GROUP, 5, &s1, &a));
    cr_assert(recv_resp(t2, KP_API_SYNC_GROUP, 5, &s2, &a));
    cr_assert_eq(s1.error_code, KERR_NONE);
    cr_assert_eq(s2.error_code, KERR_NONE);
    cr_assert(s1.assignment.len == 2 && memcmp(s1.assignment.p, "A1", 2) == 0);
    cr_assert(s2.assignment.len == 2 && memcmp(s2.assignment.p, "A2", 2) == 0);
    cr_assert_eq(groups_state(b.groups, "g", NULL, NULL), GS_STABLE);

    cr_assert_eq(heartbeat(t2, "g", 1, m2, NULL), KERR_ILLEGAL_GENERATION);
    cr_assert_eq(heartbeat(t2, "g", 2, "nobody", NULL), KERR_UNKNOWN_MEMBER_ID);
    cr_assert_eq(heartbeat(t2, "nogroup", 2, m2, NULL), KERR_UNKNOWN_MEMBER_ID);

    /* Member 2 stops heartbeating: after its session timeout the group
     * rebalances without it. */
    for (int i = 0; i < 6; i++) {
        run_for(250);
        int16_t e = heartbeat(t1, "g", 2, m1, NULL);
        if (e == KERR_REBALANCE_IN_PROGRESS)
            break;
        cr_assert_eq(e, KERR_NONE);
    }
    int members = 0;
    cr_assert_eq(groups_state(b.groups, "g", NULL, &members), GS_PREPARING);
    cr_assert_eq(members, 1);
    join(t1, 9, "g", m1, NULL, 1000);
    r1 = join_resp(t1, 9, &a);
    cr_assert_eq(r1.generation_id, 3);
    cr_assert_eq(r1.members_n, 1);
    tconn_free(t1);
    tconn_free(t2);
    karena_free(&a);
}

Test(group, join_validation)
{
    struct karena a;
    karena_init(&a);
    struct tconn *t = tconn_new();
    join(t, 9, "g", "", NULL, 5);
    cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_INVALID_SESSION_TIMEOUT);
    join(t, 9, "g", "", NULL, 1800001);
    cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_INVALID_SESSION_TIMEOUT);
    join(t, 9, "", "", NULL, 1000);
    cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_INVALID_GROUP_ID);
    join(t, 9, "g", "made-up", NULL, 1000);
    cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_UNKNOWN_MEMBER_ID);
    /* group.max.size=3 counts members waiting for their second join. */
    for (int i = 0; i < 3; i++) {
        join(t, 9, "full", "", NULL, 1000);
        cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_MEMBER_ID_REQUIRED);
    }
    join(t, 9, "full", "", NULL, 1000);
    cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_GROUP_MAX_SIZE_REACHED);
    /* v3 has no MEMBER_ID_REQUIRED: the member is in at once. */
    join(t, 3, "old", "", NULL, 1000);
    struct kp_join_group_resp r = join_resp(t, 3, &a);
    cr_assert_eq(r.error_code, KERR_NONE);
    cr_assert_eq(r.generation_id, 1);
    tconn_free(t);
    karena_free(&a);
}

Test(group, static_member_fencing)
{
    struct karena a;
    karena_init(&a);
    struct tconn *t = tconn_new();
    join(t, 9, "s", "", "inst-1", 5000);
    struct kp_join_group_resp r = join_resp(t, 9, &a);
    cr_assert_eq(r.error_code, KERR_NONE, "static members skip MEMBER_ID_REQUIRED");
    char *old = dup_str(&a, r.member_id);
    cr_assert(strncmp(old, "inst-1-", 7) == 0);
    const char *ids[] = { old }, *as[] = { "X" };
    sync_group(t, "s", 1, old, 1, ids, as);
    struct kp_sync_group_resp s;
    cr_assert(recv_resp(t, KP_API_SYNC_GROUP, 5, &s, &a));
    cr_assert_eq(s.error_code, KERR_NONE);

    /* A new incarnation: same generation, old id fenced. */
    join(t, 9, "s", "", "inst-1", 5000);
    r = join_resp(t, 9, &a);
    cr_assert_eq(r.error_code, KERR_NONE);
    cr_assert_eq(r.generation_id, 1, "no rebalance for a static rejoin");
    cr_assert(!kstr_eq(r.member_id, old));
    char *fresh = dup_str(&a, r.member_id);
    cr_assert_eq(heartbeat(t, "s", 1, old, "inst-1"), KERR_FENCED_INSTANCE_ID);
    cr_assert_eq(heartbeat(t, "s", 1, fresh, "inst-1"), KERR_NONE);
    sync_group(t, "s", 1, fresh, 0, NULL, NULL);
    cr_assert(recv_resp(t, KP_API_SYNC_GROUP, 5, &s, &a));
    cr_assert(s.error_code == KERR_NONE && s.assignment.len == 1 && s.assignment.p[0] == 'X',
              "the stored assignment is handed to the new incarnation");
    tconn_free(t);
    karena_free(&a);
}

static void commit_send(struct tconn *t, int16_t ver, const char *group, int32_t gen,
                        const char *member, int32_t part, int64_t off, int64_t retention)
{
    struct kp_offset_commit_req rq;
    kp_offset_commit_req_init(&rq);
    struct kp_offset_commit_req_topics tp;
    struct kp_offset_commit_req_topics_partitions pp;
    kp_offset_commit_req_topics_init(&tp);
    kp_offset_commit_req_topics_partitions_init(&pp);
    pp.partition_index = part;
    pp.committed_offset = off;
    pp.committed_metadata = kstr_c("meta");
    tp.name = kstr_c("t");
    tp.partitions = &pp;
    tp.partitions_n = 1;
    rq.group_id = kstr_c(group);
    rq.generation_id_or_member_epoch = gen;
    rq.member_id = kstr_c(member);
    rq.retention_time_ms = retention;
    rq.topics = &tp;
    rq.topics_n = 1;
    send_req(t, KP_API_OFFSET_COMMIT, ver, &rq);
}

/* The error of the next OffsetCommit answer on t. */
static int16_t commit_recv(struct tconn *t, int16_t ver)
{
    struct karena a;
    karena_init(&a);
    struct kp_offset_commit_resp rs;
    cr_assert(recv_resp(t, KP_API_OFFSET_COMMIT, ver, &rs, &a));
    int16_t e = rs.topics[0].partitions[0].error_code;
    karena_free(&a);
    return e;
}

static int16_t commit(struct tconn *t, int16_t ver, const char *group, int32_t gen,
                      const char *member, int32_t part, int64_t off, int64_t retention)
{
    commit_send(t, ver, group, gen, member, part, off, retention);
    return commit_recv(t, ver);
}

/* A request handled after a member's session deadline sees the member gone
 * even when the loop has not run the session timer yet (libevent runs a
 * turn's I/O callbacks before the timers that came due in it): librdkafka's
 * 0081_admin closes static members (their close commits, which restarts the
 * session), sleeps exactly the session timeout and deletes their group. */
Test(group, delete_after_the_session_deadline_sees_the_member_expired)
{
    struct karena a;
    karena_init(&a);
    struct tconn *t = tconn_new();
    join(t, 9, "d", "", "inst-1", 100);
    struct kp_join_group_resp r = join_resp(t, 9, &a);
    cr_assert_eq(r.error_code, KERR_NONE);
    char *id = dup_str(&a, r.member_id);
    const char *ids[] = { id }, *as[] = { "X" };
    sync_group(t, "d", 1, id, 1, ids, as);
    struct kp_sync_group_resp s;
    cr_assert(recv_resp(t, KP_API_SYNC_GROUP, 5, &s, &a));
    cr_assert_eq(s.error_code, KERR_NONE);
    cr_assert_eq(commit(t, 8, "d", 1, id, 0, 5, -1), KERR_NONE);
    usleep(150 * 1000); /* past the 100 ms session, without running the loop */
    struct kp_delete_groups_req rq;
    kp_delete_groups_req_init(&rq);
    struct kstr names[] = { kstr_c("d") };
    rq.groups_names = names;
    rq.groups_names_n = 1;
    send_req(t, KP_API_DELETE_GROUPS, 2, &rq);
    struct kp_delete_groups_resp rs;
    cr_assert(recv_resp(t, KP_API_DELETE_GROUPS, 2, &rs, &a));
    cr_assert_eq(rs.results_n, 1);
    cr_assert_eq(rs.results[0].error_code, KERR_NONE, "DeleteGroups: error %d (68: NON_EMPTY_GROUP)",
                 rs.results[0].error_code);
    tconn_free(t);
    karena_free(&a);
}

Test(group, commits_checked_and_durable)
{
    struct karena a;
    karena_init(&a);
    struct tconn *t = tconn_new();
    char *m = join_dynamic(t, "c", &a);
    cr_assert_eq(join_resp(t, 9, &a).error_code, KERR_NONE);
    cr_assert_eq(commit(t, 8, "c", 1, m, 0, 42, -1), KERR_REBALANCE_IN_PROGRESS,
                 "commits wait for the assignment");
    const char *ids[] = { m }, *as[] = { "" };
    sync_group(t, "c", 1, m, 1, ids, as);
    struct kp_sync_group_resp s;
    cr_assert(recv_resp(t, KP_API_SYNC_GROUP, 5, &s, &a));
    cr_assert_eq(commit(t, 8, "c", 7, m, 0, 42, -1), KERR_ILLEGAL_GENERATION);
    cr_assert_eq(commit(t, 8, "c", 1, "other", 0, 42, -1), KERR_UNKNOWN_MEMBER_ID);
    cr_assert_eq(commit(t, 8, "c", -1, "", 0, 42, -1), KERR_UNKNOWN_MEMBER_ID,
                 "no admin commits while the group has members");
    cr_assert_eq(commit(t, 8, "c", 1, m, 9, 42, -1), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_eq(commit(t, 8, "c", 1, m, 0, 42, -1), KERR_NONE);
    cr_assert_eq(commit(t, 8, "c", 1, m, 1, 7, -1), KERR_NONE);
    cr_assert_eq(commit(t, 8, "c", 1, m, 1, 8, -1), KERR_NONE);
    cr_assert_eq(commit(t, 8, "simple", -1, "", 3, 99, -1), KERR_NONE, "group without members");
    tconn_free(t);
    karena_free(&a);

    /* Restart: offsets and the group's generation come back. */
    stop();
    start(NULL);
    cr_assert_eq(groups_committed(b.groups, "c", "t", 0), 42);
    cr_assert_eq(groups_committed(b.groups, "c", "t", 1), 8);
    cr_assert_eq(groups_committed(b.groups, "simple", "t", 3), 99);
    int32_t gen = 0;
    int members = 0;
    cr_assert_eq(groups_state(b.groups, "c", &gen, &members), GS_STABLE);
    cr_assert_eq(gen, 1);
    cr_assert_eq(members, 1);
}

Test(group, retention)
{
    struct tconn *t = tconn_new();
    cr_assert_eq(commit(t, 2, "r", -1, "", 0, 5, 1000), KERR_NONE); /* explicit retention */
    cr_assert_eq(commit(t, 8, "r", -1, "", 1, 6, -1), KERR_NONE);   /* broker default */
    tconn_free(t);
    groups_expire_offsets(b.groups, clock_wall_ms() + 2000);
    cr_assert_eq(groups_committed(b.groups, "r", "t", 0), -1);
    cr_assert_eq(groups_committed(b.groups, "r", "t", 1), 6);
    /* offsets.retention.minutes (7 days) after the commit, for a group
     * without members; then the empty group goes too. */
    groups_expire_offsets(b.groups, clock_wall_ms() + 7LL * 24 * 3600 * 1000 + 1000);
    cr_assert_eq(groups_committed(b.groups, "r", "t", 1), -1);
    cr_assert_eq(groups_state(b.groups, "r", NULL, NULL), -1);
    stop();
    start(NULL);
    cr_assert_eq(groups_state(b.groups, "r", NULL, NULL), -1, "expiry is durable");
}

/* A non-default offsets.retention.minutes: the commits of a group without
 * members expire that long after the commit, not a minute before. */
Test(group, offsets_retention_minutes_from_the_config)
{
    stop();
    start("offsets.retention.minutes=3");
    struct tconn *t = tconn_new();
    int64_t before = clock_wall_ms();
    cr_assert_eq(commit(t, 8, "rm", -1, "", 0, 5, -1), KERR_NONE);
    int64_t after = clock_wall_ms();
    tconn_free(t);
    groups_expire_offsets(b.groups, before + 2 * 60000);
    cr_assert_eq(groups_committed(b.groups, "rm", "t", 0), 5, "expired before 3 minutes");
    groups_expire_offsets(b.groups, after + 3 * 60000);
    cr_assert_eq(groups_committed(b.groups, "rm", "t", 0), -1, "kept after 3 minutes");
}

/* ------------------------------------------------------------ the store */

static int nreplayed;
static int64_t last_offset;
static void count_cb(void *arg, const struct gs_rec *r)
{
    (void)arg;
    nreplayed++;
    if (r->type == GS_OFFSET)
        last_offset = r->offset;
}

static void put_offsets(struct gstore *s, int n)
{
    for (int i = 0; i < n; i++) {
        struct gs_rec r;
        memset(&r, 0, sizeof r);
        r.type = GS_OFFSET;
        r.group = kstr_c("g");
        r.topic = kstr_c("t");
        r.offset = i;
        r.metadata = kstr_c(NULL);
        r.expire_ts = -1;
        struct kw w;
        kw_init(&w, NULL);
        gs_put(&w, &r);
        cr_assert_eq(gstore_append(s, w.buf, w.len), 0);
        kw_free(&w);
    }
}

static off_t file_size(const char *p)
{
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    return st.st_size;
}

Test(group, store_torn_tail_and_corruption)
{
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/st", tmpdir);
    mkdir(dir, 0755);
    struct gstore s;
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    put_offsets(&s, 10);
    snprintf(path, sizeof path, "%s", s.path);
    off_t full = file_size(path);
    gstore_close(&s);

    /* A crash mid-append: half a record at the end. */
    cr_assert_eq(truncate(path, full - 5), 0);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 9);
    cr_assert_eq(last_offset, 8);
    off_t nine = file_size(path);
    cr_assert_lt(nine, full - 5, "the torn record is cut off");
    put_offsets(&s, 1); /* appends continue cleanly after the cut */
    gstore_close(&s);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 10);
    cr_assert_eq(last_offset, 0);
    gstore_close(&s);

    /* A flipped byte inside record 3: replay stops before it. */
    int fd = open(path, O_RDWR);
    uint8_t byte;
    off_t rec = nine / 9;
    cr_assert_eq(pread(fd, &byte, 1, 3 * rec + 20), 1);
    byte ^= 0x40;
    cr_assert_eq(pwrite(fd, &byte, 1, 3 * rec + 20), 1);
    close(fd);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 3);
    cr_assert_eq(file_size(path), 3 * rec);
    gstore_close(&s);
}

/* ------------------------------------------- failures and group commit */

/* fileio's fault-injection hook: counts (and may fail) the fdatasyncs of
 * groups.log, and may fail the fsync of one directory. */
static struct {
    int syncs;
    bool fail_syncs;
    bool fail_rename;
    const char *dir;
} gfx;

static bool fd_named(int fd, const char *suffix)
{
    char link[64], path[1024];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return false;
    path[n] = 0;
    size_t sl = strlen(suffix);
    return (size_t)n >= sl && strcmp(path + n - sl, suffix) == 0;
}

static int gs_hook(enum fio_op op, int fd, const char *path, size_t *len)
{
    (void)len;
    if (op == FIO_OP_RENAME)
        return gfx.fail_rename ? EIO : 0;
    if (op != FIO_OP_SYNC)
        return 0;
    if (fd >= 0 && fd_named(fd, "/groups.log")) {
        gfx.syncs++;
        return gfx.fail_syncs ? EIO : 0;
    }
    if (fd < 0 && gfx.dir && path && strcmp(path, gfx.dir) == 0)
        return EIO;
    return 0;
}

static void gs_hook_on(void)
{
    memset(&gfx, 0, sizeof gfx);
    fio_fault_hook = gs_hook;
}

Test(group, commits_of_one_loop_turn_share_one_fdatasync)
{
    struct tconn *t = tconn_new(), *u = tconn_new();
    gs_hook_on();
    commit_send(t, 8, "gc", -1, "", 0, 10, -1);
    commit_send(u, 8, "gc", -1, "", 1, 11, -1);
    commit_send(t, 8, "gc2", -1, "", 2, 12, -1);
    cr_assert_eq(gfx.syncs, 0, "answers are held until the end of the loop turn");
    cr_assert_eq(groups_committed(b.groups, "gc", "t", 0), -1, "not applied before it is durable");
    cr_assert_eq(commit_recv(t, 8), KERR_NONE);
    cr_assert_eq(gfx.syncs, 1, "one fdatasync for all the commits of the turn");
    cr_assert_eq(commit_recv(u, 8), KERR_NONE);
    cr_assert_eq(commit_recv(t, 8), KERR_NONE);
    cr_assert_eq(gfx.syncs, 1);
    cr_assert_eq(groups_committed(b.groups, "gc", "t", 0), 10);
    cr_assert_eq(groups_committed(b.groups, "gc", "t", 1), 11);
    cr_assert_eq(groups_committed(b.groups, "gc2", "t", 2), 12);
    /* A connection that goes away while its commit waits: the commit is
     * still applied once durable, as a restart would replay it. */
    commit_send(u, 8, "gc", -1, "", 3, 13, -1);
    tconn_free(u);
    cr_assert_eq(commit(t, 8, "gc", -1, "", 0, 20, -1), KERR_NONE);
    cr_assert_eq(gfx.syncs, 2);
    cr_assert_eq(groups_committed(b.groups, "gc", "t", 3), 13);
    tconn_free(t);
    fio_fault_hook = NULL;
    stop();
    start(NULL);
    cr_assert_eq(groups_committed(b.groups, "gc", "t", 0), 20);
    cr_assert_eq(groups_committed(b.groups, "gc", "t", 3), 13);
}

Test(group, failed_fdatasync_fails_every_commit_it_covered)
{
    struct tconn *t = tconn_new(), *u = tconn_new();
    cr_assert_eq(commit(t, 8, "gf", -1, "", 0, 5, -1), KERR_NONE);
    gs_hook_on();
    gfx.fail_syncs = true;
    commit_send(t, 8, "gf", -1, "", 0, 6, -1);
    commit_send(u, 8, "gf", -1, "", 1, 7, -1);
    cr_assert_eq(commit_recv(t, 8), KERR_NOT_COORDINATOR);
    cr_assert_eq(commit_recv(u, 8), KERR_NOT_COORDINATOR);
    cr_assert_eq(gfx.syncs, 1);
    cr_assert(b.groups->store.failed);
    cr_assert_eq(groups_committed(b.groups, "gf", "t", 0), 5, "nothing of a failed sync is applied");
    cr_assert_eq(groups_committed(b.groups, "gf", "t", 1), -1);
    /* Fail-stop: later commits fail at once, and nothing is synced again. */
    gfx.fail_syncs = false;
    cr_assert_eq(commit(t, 8, "gf", -1, "", 2, 8, -1), KERR_NOT_COORDINATOR);
    cr_assert_eq(gfx.syncs, 1, "a failed fdatasync is never retried");
    tconn_free(t);
    tconn_free(u);
    fio_fault_hook = NULL;
    cr_assert_eq(groups_close(&b), -1, "the broker exits non-zero after this");
    cr_assert_eq(groups_open(&b), 0);
    cr_assert_eq(groups_committed(b.groups, "gf", "t", 0), 5);
    cr_assert_eq(groups_committed(b.groups, "gf", "t", 1), -1, "cut back: never replayed");
}

/* A record for gstore tests: offset `off` of g/t-0. */
static struct kw one_offset(int64_t off)
{
    struct gs_rec r;
    memset(&r, 0, sizeof r);
    r.type = GS_OFFSET;
    r.group = kstr_c("g");
    r.topic = kstr_c("t");
    r.offset = off;
    r.metadata = kstr_c(NULL);
    r.expire_ts = -1;
    struct kw w;
    kw_init(&w, NULL);
    gs_put(&w, &r);
    return w;
}

static bool same_file(int fd, const char *path)
{
    struct stat a, p;
    return fstat(fd, &a) == 0 && stat(path, &p) == 0 && a.st_ino == p.st_ino && a.st_dev == p.st_dev;
}

Test(group, store_appends_after_compaction_go_to_the_new_file)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/st", tmpdir);
    mkdir(dir, 0755);
    struct gstore s;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    put_offsets(&s, 5);
    struct kw snap = one_offset(77);
    cr_assert_eq(gstore_rewrite(&s, snap.buf, snap.len), 0);
    kw_free(&snap);
    cr_assert(same_file(s.fd, s.path), "the store writes to the file at its path");
    put_offsets(&s, 2);
    gstore_close(&s);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 3, "the snapshot and both later appends");
    cr_assert_eq(last_offset, 1);
    gstore_close(&s);
}

Test(group, store_rename_with_failed_directory_fsync_is_fatal)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/st", tmpdir);
    mkdir(dir, 0755);
    struct gstore s;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    put_offsets(&s, 5);
    gs_hook_on();
    gfx.dir = s.dir;     /* the rename lands, its directory fsync fails */
    struct kw snap = one_offset(77);
    cr_assert_eq(gstore_rewrite(&s, snap.buf, snap.len), -1);
    fio_fault_hook = NULL;
    cr_assert(s.failed, "the rename may not be durable: the store stops");
    cr_assert(same_file(s.fd, s.path), "never the old, unlinked inode");
    struct kw w = one_offset(5);
    cr_assert_eq(gstore_append(&s, w.buf, w.len), -1, "nothing more is written");
    kw_free(&w);
    struct stat st;
    cr_assert_eq(fstat(s.fd, &st), 0);
    cr_assert_eq(st.st_size, (off_t)snap.len);
    kw_free(&snap);
    gstore_close(&s);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 1);
    cr_assert_eq(last_offset, 77);
    gstore_close(&s);
}

Test(group, store_failed_sync_cuts_back_and_stops)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/st", tmpdir);
    mkdir(dir, 0755);
    struct gstore s;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    put_offsets(&s, 3);
    off_t synced = file_size(s.path);
    struct kw w = one_offset(9);
    cr_assert_eq(gstore_write(&s, w.buf, w.len), 0);
    gs_hook_on();
    gfx.fail_syncs = true;
    cr_assert_eq(gstore_sync(&s), -1);
    cr_assert_eq(gfx.syncs, 1);
    cr_assert(s.failed);
    cr_assert_eq(file_size(s.path), synced, "what the failed sync covered is cut off");
    cr_assert_eq(gstore_sync(&s), -1);
    cr_assert_eq(gfx.syncs, 1, "never retried");
    cr_assert_eq(gstore_write(&s, w.buf, w.len), -1);
    fio_fault_hook = NULL;
    kw_free(&w);
    gstore_close(&s);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 3);
    gstore_close(&s);
}

Test(group, store_failed_compaction_keeps_the_old_log)
{
    char dir[256], tmp[320];
    snprintf(dir, sizeof dir, "%s/st", tmpdir);
    mkdir(dir, 0755);
    struct gstore s;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    put_offsets(&s, 5);
    gs_hook_on();
    gfx.fail_rename = true;
    struct kw snap = one_offset(77);
    cr_assert_eq(gstore_rewrite(&s, snap.buf, snap.len), -1);
    kw_free(&snap);
    fio_fault_hook = NULL;
    cr_assert_not(s.failed, "nothing was lost: the old log stays in use");
    cr_assert(same_file(s.fd, s.path));
    snprintf(tmp, sizeof tmp, "%s.tmp", s.path);
    cr_assert_neq(access(tmp, F_OK), 0, "the temp file is removed");
    put_offsets(&s, 1);
    gstore_close(&s);
    nreplayed = 0;
    cr_assert_eq(gstore_open(&s, dir, count_cb, NULL), 0);
    cr_assert_eq(nreplayed, 6);
    cr_assert_eq(last_offset, 0);
    gstore_close(&s);
}
