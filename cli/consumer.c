/*
 * consumer.c — kafka-console-consumer: prints records the way Kafka's
 * DefaultMessageFormatter does (print.timestamp, print.partition,
 * print.offset, print.headers, print.key, print.value, key.separator,
 * line.separator, headers.separator, headers.key.separator, null.literal).
 *
 * With --group it is a real member of a classic consumer group: JoinGroup
 * with protocol type "consumer" and the "range" protocol, the leader
 * computes the range assignment for every member (as Kafka's
 * RangeAssignor), SyncGroup, Heartbeat while fetching, offsets committed
 * every 5 s and at exit, LeaveGroup on exit (also on SIGINT/SIGTERM).
 * Without --group it reads all partitions (or --partition P from --offset)
 * without a group.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_errors.h"
#include "record_batch.h"
#include "tools.h"

static const struct opt_spec OPTS[] = {
    { "consumer-property", OPT_ARG, "<String: consumer_prop>",
      "A mechanism to pass user-defined properties in the form key=value to the consumer." },
    { "consumer.config", OPT_ARG, "<String: config file>",
      "Consumer config properties file (deprecated: use --command-config)." },
    { "formatter-property", OPT_ARG, "<String: prop>", "The same as --property." },
    { "from-beginning", 0, NULL,
      "If the consumer does not already have an established offset to consume from, start "
      "with the earliest message present in the log rather than the latest message." },
    { "group", OPT_ARG, "<String: consumer group id>", "The consumer group id of the consumer." },
    { "isolation-level", OPT_ARG, "<String>", "read_uncommitted (the only level kavka has)." },
    { "max-messages", OPT_ARG, "<Integer: num_messages>",
      "The maximum number of messages to consume before exiting." },
    { "offset", OPT_ARG, "<String: consume offset>",
      "The offset to consume from (a non-negative number), or 'earliest' / 'latest' "
      "(default: latest)" },
    { "partition", OPT_ARG, "<Integer: partition>",
      "The partition to consume from. Consumption starts from the end of the partition "
      "unless '--offset' is specified." },
    { "property", OPT_ARG, "<String: prop>",
      "The properties to initialize the message formatter: print.timestamp, print.key, "
      "print.offset, print.partition, print.headers, print.value, key.separator, "
      "line.separator, headers.separator, headers.key.separator, null.literal" },
    { "skip-message-on-error", 0, NULL, "If there is an error when processing a message, skip "
                                        "it instead of halt." },
    { "timeout-ms", OPT_ARG, "<Integer: timeout_ms>",
      "If specified, exit if no message is available for consumption for the specified "
      "interval." },
    { "topic", OPT_ARG, "<String: topic>", "The topic to consume on." },
    COMMON_OPTS,
    { NULL, 0, NULL, NULL },
};

struct fmt {
    bool ts, partition, offset, headers, key, value;
    const char *key_sep, *line_sep, *hdr_sep, *hdr_key_sep, *null_literal;
};

struct cpart {
    int32_t partition;
    int64_t pos;            /* next offset to read */
    int64_t committed;      /* last committed position */
};

struct consumer {
    struct kclient *kc;
    const char *topic, *group;
    struct topic_meta *meta;
    int nmeta;
    struct cpart *parts;
    int nparts;
    struct fmt fmt;
    long max, count;
    int64_t timeout_ms, last_msg_ms;
    bool from_beginning;
    /* group state */
    struct kconn *coord;
    char *member_id;
    int32_t generation;
    int64_t next_hb_ms, next_commit_ms;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* ------------------------------------------------------------ printing */

static void put_bytes(struct kbytes b, const struct fmt *f)
{
    if (b.len < 0)
        fputs(f->null_literal, stdout);
    else
        fwrite(b.p, 1, (size_t)b.len, stdout);
}

static void print_record(const struct consumer *c, int32_t part, const struct rb_record *r,
                         bool log_append)
{
    const struct fmt *f = &c->fmt;
    const char *sep = "";
    if (f->ts) {
        if (r->timestamp >= 0)
            printf("%s:%lld", log_append ? "LogAppendTime" : "CreateTime", (long long)r->timestamp);
        else
            printf("NO_TIMESTAMP");
        sep = f->key_sep;
    }
    if (f->partition) {
        printf("%sPartition:%d", sep, (int)part);
        sep = f->key_sep;
    }
    if (f->offset) {
        printf("%sOffset:%lld", sep, (long long)r->offset);
        sep = f->key_sep;
    }
    if (f->headers) {
        fputs(sep, stdout);
        if (r->header_count == 0)
            fputs("NO_HEADERS", stdout);
        struct rb_hdr_iter it;
        rb_hdr_iter_init(&it, r);
        struct kstr k;
        struct kbytes v;
        for (int i = 0; rb_hdr_next(&it, &k, &v); i++) {
            printf("%s%.*s%s", i ? f->hdr_sep : "", (int)k.len, k.p, f->hdr_key_sep);
            put_bytes(v, f);
        }
        sep = f->key_sep;
    }
    if (f->key) {
        fputs(sep, stdout);
        put_bytes(r->key, f);
        sep = f->key_sep;
    }
    if (f->value) {
        fputs(sep, stdout);
        put_bytes(r->value, f);
    }
    fputs(f->line_sep, stdout);
}

/* ------------------------------------------------------------ positions */

static struct cpart *find_part(struct consumer *c, int32_t p)
{
    for (int i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == p)
            return &c->parts[i];
    return NULL;
}

/* Starting positions for partitions without one: committed offsets of the
 * group, else earliest/latest (auto.offset.reset). */
static void reset_positions(struct consumer *c, int64_t which)
{
    int64_t *offs = calloc((size_t)c->meta[0].npart + 1, sizeof *offs);
    list_offsets(c->kc, &c->meta[0], which, offs);
    for (int i = 0; i < c->nparts; i++)
        if (c->parts[i].pos < 0)
            c->parts[i].pos = offs[c->parts[i].partition];
    free(offs);
}

static void fetch_committed(struct consumer *c)
{
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c->coord, KP_API_OFFSET_FETCH, 7);
    struct kp_offset_fetch_req rq;
    kp_offset_fetch_req_init(&rq);
    rq.group_id = kstr_c(c->group);
    rq.topics_n = 1;
    rq.topics = karena_calloc(&a, 1, sizeof *rq.topics);
    rq.topics[0].name = kstr_c(c->topic);
    rq.topics[0].partition_indexes_n = c->nparts;
    rq.topics[0].partition_indexes = karena_calloc(&a, (size_t)c->nparts + 1, sizeof(int32_t));
    for (int i = 0; i < c->nparts; i++)
        rq.topics[0].partition_indexes[i] = c->parts[i].partition;
    struct kp_offset_fetch_resp rs;
    kc_call(c->coord, KP_API_OFFSET_FETCH, v, &rq, &rs, &a);
    for (int32_t i = 0; i < rs.topics_n; i++)
        for (int32_t j = 0; j < rs.topics[i].partitions_n; j++) {
            const struct kp_offset_fetch_resp_topics_partitions *p = &rs.topics[i].partitions[j];
            struct cpart *cp = find_part(c, p->partition_index);
            if (cp && p->error_code == KERR_NONE && p->committed_offset >= 0)
                cp->pos = cp->committed = p->committed_offset;
        }
    karena_free(&a);
}

/* ------------------------------------------------------------ group */

/* ConsumerProtocolSubscription v0: version, topics, user data (null). */
static void encode_subscription(struct kw *w, const char *topic)
{
    kw_i16(w, 0);
    kw_array_len(w, 1, false);
    kw_str(w, kstr_c(topic), false);
    kw_i32(w, -1);
}

/* The topics of a member's subscription that equal ours. */
static bool subscribes(struct kbytes meta, const char *topic)
{
    struct kr r;
    kr_init(&r, meta.p, meta.len > 0 ? (size_t)meta.len : 0);
    kr_i16(&r);
    int32_t n = kr_array_len(&r, false, 2);
    for (int32_t i = 0; i < n && !r.err; i++)
        if (kstr_eq(kr_str(&r, false), topic))
            return true;
    return false;
}

static int cmp_members(const void *x, const void *y)
{
    const struct kp_join_group_resp_members *a = x, *b = y;
    int n = a->member_id.len < b->member_id.len ? a->member_id.len : b->member_id.len;
    int d = memcmp(a->member_id.p, b->member_id.p, (size_t)n);
    return d ? d : a->member_id.len - b->member_id.len;
}

/* Kafka's RangeAssignor for our one topic: members subscribed to it, by
 * member id; each gets a consecutive range, the first ones one more. */
static void range_assign(struct consumer *c, struct karena *a, struct kp_join_group_resp *jr,
                         struct kp_sync_group_req *sr)
{
    qsort(jr->members, (size_t)jr->members_n, sizeof *jr->members, cmp_members);
    int nsub = 0;
    for (int32_t i = 0; i < jr->members_n; i++)
        nsub += subscribes(jr->members[i].metadata, c->topic);
    int np = c->meta[0].npart, per = nsub ? np / nsub : 0, extra = nsub ? np % nsub : 0;
    sr->assignments_n = jr->members_n;
    sr->assignments = karena_calloc(a, (size_t)jr->members_n + 1, sizeof *sr->assignments);
    int k = 0, next = 0;
    for (int32_t i = 0; i < jr->members_n; i++) {
        struct kw w;
        kw_init(&w, NULL);
        kw_i16(&w, 0);
        if (subscribes(jr->members[i].metadata, c->topic)) {
            int n = per + (k++ < extra);
            kw_array_len(&w, 1, false);
            kw_str(&w, kstr_c(c->topic), false);
            kw_array_len(&w, n, false);
            for (int p = 0; p < n; p++)
                kw_i32(&w, next++);
        } else {
            kw_array_len(&w, 0, false);
        }
        kw_i32(&w, -1);
        uint8_t *buf = karena_alloc(a, w.len);
        memcpy(buf, w.buf, w.len);
        sr->assignments[i].member_id = jr->members[i].member_id;
        sr->assignments[i].assignment = (struct kbytes){ buf, (int32_t)w.len };
        kw_free(&w);
    }
}

static void our_part(void *arg, struct kstr t, int32_t p)
{
    struct consumer *c = arg;
    if (!kstr_eq(t, c->topic))
        return;
    c->parts = realloc(c->parts, sizeof *c->parts * (size_t)(c->nparts + 1));
    if (!c->parts)
        cli_die("out of memory");
    c->parts[c->nparts++] = (struct cpart){ p, -1, -1 };
}

/* Our partitions from a ConsumerProtocolAssignment. */
static void take_assignment(struct consumer *c, struct kbytes as)
{
    free(c->parts);
    c->parts = NULL;
    c->nparts = 0;
    (void)assignment_each(as, our_part, c);   /* a malformed one: what it held before the fault */
}

static bool join(struct consumer *c, struct karena *a, struct kp_join_group_resp *jr)
{
    int16_t v = kc_need(c->coord, KP_API_JOIN_GROUP, 7);
    struct kp_join_group_req rq;
    kp_join_group_req_init(&rq);
    rq.group_id = kstr_c(c->group);
    rq.session_timeout_ms = 45000;      /* the Java consumer's defaults */
    rq.rebalance_timeout_ms = 300000;
    rq.member_id = kstr_c(c->member_id);
    rq.protocol_type = kstr_c("consumer");
    struct kw w;
    kw_init(&w, NULL);
    encode_subscription(&w, c->topic);
    uint8_t *meta = karena_alloc(a, w.len);
    memcpy(meta, w.buf, w.len);
    rq.protocols_n = 1;
    rq.protocols = karena_calloc(a, 1, sizeof *rq.protocols);
    rq.protocols[0].name = kstr_c("range");
    rq.protocols[0].metadata = (struct kbytes){ meta, (int32_t)w.len };
    kw_free(&w);
    kc_call(c->coord, KP_API_JOIN_GROUP, v, &rq, jr, a);
    free(c->member_id);
    c->member_id = kstr_dup(jr->member_id);
    if (jr->error_code == KERR_MEMBER_ID_REQUIRED || jr->error_code == KERR_UNKNOWN_MEMBER_ID ||
        jr->error_code == KERR_REBALANCE_IN_PROGRESS) {
        if (jr->error_code == KERR_UNKNOWN_MEMBER_ID) {
            free(c->member_id);
            c->member_id = strdup("");
        }
        return false;   /* join again (with the id the coordinator gave) */
    }
    if (jr->error_code != KERR_NONE)
        cli_die("%s: %s", kerr_exception(jr->error_code), kerr_message(jr->error_code));
    return true;
}

static bool sync_group(struct consumer *c, struct karena *a, struct kp_join_group_resp *jr)
{
    int16_t v = kc_need(c->coord, KP_API_SYNC_GROUP, 4);
    struct kp_sync_group_req rq;
    kp_sync_group_req_init(&rq);
    rq.group_id = kstr_c(c->group);
    rq.generation_id = jr->generation_id;
    rq.member_id = kstr_c(c->member_id);
    if (kstr_eq(jr->leader, c->member_id))
        range_assign(c, a, jr, &rq);
    struct kp_sync_group_resp rs;
    kc_call(c->coord, KP_API_SYNC_GROUP, v, &rq, &rs, a);
    if (rs.error_code == KERR_REBALANCE_IN_PROGRESS || rs.error_code == KERR_ILLEGAL_GENERATION ||
        rs.error_code == KERR_UNKNOWN_MEMBER_ID)
        return false;
    if (rs.error_code != KERR_NONE)
        cli_die("%s: %s", kerr_exception(rs.error_code), kerr_message(rs.error_code));
    c->generation = jr->generation_id;
    take_assignment(c, rs.assignment);
    return true;
}

static void join_group(struct consumer *c)
{
    c->coord = kc_coordinator(c->kc, c->group);
    for (int tries = 0; !stop_flag; tries++) {
        struct karena a;
        karena_init(&a);
        struct kp_join_group_resp jr;
        bool ok = join(c, &a, &jr) && sync_group(c, &a, &jr);
        karena_free(&a);
        if (ok)
            break;
        if (tries > 50)
            cli_die("could not join group %s", c->group);
    }
    if (stop_flag)
        return;
    fetch_committed(c);
    reset_positions(c, c->from_beginning ? -2 : -1);
    c->next_hb_ms = kc_now_ms() + 3000;
}

static void commit(struct consumer *c)
{
    int n = 0;
    for (int i = 0; i < c->nparts; i++)
        n += c->parts[i].pos >= 0 && c->parts[i].pos != c->parts[i].committed;
    if (n == 0)
        return;
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c->coord, KP_API_OFFSET_COMMIT, 8);
    struct kp_offset_commit_req rq;
    kp_offset_commit_req_init(&rq);
    rq.group_id = kstr_c(c->group);
    rq.generation_id_or_member_epoch = c->generation;
    rq.member_id = kstr_c(c->member_id);
    rq.topics_n = 1;
    rq.topics = karena_calloc(&a, 1, sizeof *rq.topics);
    rq.topics[0].name = kstr_c(c->topic);
    rq.topics[0].partitions = karena_calloc(&a, (size_t)n, sizeof *rq.topics[0].partitions);
    for (int i = 0; i < c->nparts; i++) {
        if (c->parts[i].pos < 0 || c->parts[i].pos == c->parts[i].committed)
            continue;
        struct kp_offset_commit_req_topics_partitions *p =
            &rq.topics[0].partitions[rq.topics[0].partitions_n++];
        kp_offset_commit_req_topics_partitions_init(p);
        p->partition_index = c->parts[i].partition;
        p->committed_offset = c->parts[i].pos;
        p->committed_metadata = kstr_c("");
    }
    struct kp_offset_commit_resp rs;
    kc_call(c->coord, KP_API_OFFSET_COMMIT, v, &rq, &rs, &a);
    bool ok = true;
    for (int32_t i = 0; i < rs.topics_n; i++)
        for (int32_t j = 0; j < rs.topics[i].partitions_n; j++)
            ok &= rs.topics[i].partitions[j].error_code == KERR_NONE;
    if (ok)
        for (int i = 0; i < c->nparts; i++)
            c->parts[i].committed = c->parts[i].pos;
    karena_free(&a);
    c->next_commit_ms = kc_now_ms() + 5000;
}

/* Heartbeat when due; a rebalance means commit, then join again. */
static void heartbeat(struct consumer *c)
{
    if (kc_now_ms() < c->next_hb_ms)
        return;
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c->coord, KP_API_HEARTBEAT, 4);
    struct kp_heartbeat_req rq;
    kp_heartbeat_req_init(&rq);
    rq.group_id = kstr_c(c->group);
    rq.generation_id = c->generation;
    rq.member_id = kstr_c(c->member_id);
    struct kp_heartbeat_resp rs;
    kc_call(c->coord, KP_API_HEARTBEAT, v, &rq, &rs, &a);
    karena_free(&a);
    c->next_hb_ms = kc_now_ms() + 3000;
    if (rs.error_code == KERR_NONE)
        return;
    if (rs.error_code == KERR_REBALANCE_IN_PROGRESS)
        commit(c);
    if (rs.error_code == KERR_UNKNOWN_MEMBER_ID || rs.error_code == KERR_ILLEGAL_GENERATION) {
        free(c->member_id);
        c->member_id = strdup("");
    }
    join_group(c);
}

static void leave_group(struct consumer *c)
{
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c->coord, KP_API_LEAVE_GROUP, 4);
    struct kp_leave_group_req rq;
    kp_leave_group_req_init(&rq);
    rq.group_id = kstr_c(c->group);
    rq.member_id = kstr_c(c->member_id);          /* v0-2 */
    struct kp_leave_group_req_members m = { kstr_c(c->member_id), { NULL, -1 }, { NULL, -1 } };
    rq.members_n = 1;                             /* v3+ */
    rq.members = &m;
    struct kp_leave_group_resp rs;
    kc_call(c->coord, KP_API_LEAVE_GROUP, v, &rq, &rs, &a);
    karena_free(&a);
}

/* ------------------------------------------------------------ fetching */

struct batch_ctx {
    struct consumer *c;
    struct cpart *cp;
    bool log_append;
};

static int on_record(const struct rb_record *r, void *arg)
{
    struct batch_ctx *b = arg;
    if (r->offset < b->cp->pos)
        return 0;
    if (b->c->max >= 0 && b->c->count >= b->c->max)
        return 1;
    print_record(b->c, b->cp->partition, r, b->log_append);
    b->c->count++;
    b->cp->pos = r->offset + 1;
    b->c->last_msg_ms = kc_now_ms();
    return 0;
}

static void take_records(struct consumer *c, struct cpart *cp, struct krecords recs)
{
    struct rb_iter it;
    rb_iter_init(&it, recs.p, recs.len > 0 ? (size_t)recs.len : 0);
    const uint8_t *batch;
    size_t n;
    while (rb_iter_next(&it, &batch, &n)) {
        struct rb_header h;
        if (rb_parse_header(batch, n, &h) != KERR_NONE)
            continue;
        if (h.attributes & RB_ATTR_CONTROL) {
            if (h.base_offset + h.last_offset_delta >= cp->pos)
                cp->pos = h.base_offset + h.last_offset_delta + 1;
            continue;
        }
        struct batch_ctx ctx = { c, cp, (h.attributes & RB_ATTR_LOG_APPEND_TIME) != 0 };
        if (rb_records_foreach(batch, n, on_record, &ctx) != 0)
            return;
    }
    fflush(stdout);
}

static void fetch_from(struct consumer *c, int32_t leader)
{
    struct kconn *conn = kc_node(c->kc, leader);
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(conn, KP_API_FETCH, 11);
    struct kp_fetch_req rq;
    kp_fetch_req_init(&rq);
    rq.replica_id = -1;
    rq.max_wait_ms = 500;
    rq.min_bytes = 1;
    rq.max_bytes = 52428800;
    rq.topics_n = 1;
    rq.topics = karena_calloc(&a, 1, sizeof *rq.topics);
    rq.topics[0].topic = kstr_c(c->topic);
    rq.topics[0].partitions = karena_calloc(&a, (size_t)c->nparts + 1, sizeof *rq.topics[0].partitions);
    for (int i = 0; i < c->nparts; i++) {
        const struct cpart *cp = &c->parts[i];
        if (cp->partition >= c->meta[0].npart || c->meta[0].leader[cp->partition] != leader)
            continue;
        struct kp_fetch_req_topics_partitions *p = &rq.topics[0].partitions[rq.topics[0].partitions_n++];
        kp_fetch_req_topics_partitions_init(p);
        p->partition = cp->partition;
        p->fetch_offset = cp->pos;
        p->partition_max_bytes = 1048576;
    }
    struct kp_fetch_resp rs;
    kc_call(conn, KP_API_FETCH, v, &rq, &rs, &a);
    for (int32_t i = 0; i < rs.responses_n; i++)
        for (int32_t j = 0; j < rs.responses[i].partitions_n; j++) {
            const struct kp_fetch_resp_responses_partitions *p = &rs.responses[i].partitions[j];
            struct cpart *cp = find_part(c, p->partition_index);
            if (!cp)
                continue;
            if (p->error_code == KERR_OFFSET_OUT_OF_RANGE) {
                cp->pos = -1;
                reset_positions(c, c->from_beginning ? -2 : -1);
            } else if (p->error_code == KERR_NONE) {
                take_records(c, cp, p->records);
            }
        }
    karena_free(&a);
}

static bool done(const struct consumer *c)
{
    return stop_flag || (c->max >= 0 && c->count >= c->max);
}

static void poll_loop(struct consumer *c)
{
    c->last_msg_ms = kc_now_ms();
    while (!done(c)) {
        for (int i = 0; i < c->meta[0].npart && !done(c); i++) {
            int32_t leader = c->meta[0].leader[i];
            bool first = leader >= 0;
            for (int k = 0; k < i && first; k++)
                first = c->meta[0].leader[k] != leader;
            if (first && c->nparts > 0)
                fetch_from(c, leader);
        }
        if (c->nparts == 0)
            usleep(200 * 1000);
        if (c->group) {
            heartbeat(c);
            if (kc_now_ms() >= c->next_commit_ms)
                commit(c);
        }
        if (c->timeout_ms >= 0 && kc_now_ms() - c->last_msg_ms >= c->timeout_ms && !done(c)) {
            fprintf(stderr, "ERROR Error processing message, terminating consumer process: "
                            "(org.apache.kafka.tools.consumer.ConsoleConsumer$)\n"
                            "org.apache.kafka.common.errors.TimeoutException\n");
            break;
        }
    }
}

/* ------------------------------------------------------------ setup */

static bool prop_true(const struct props *p, const char *k, bool dflt)
{
    const char *v = props_get(p, k);
    return v ? strcasecmp(v, "true") == 0 : dflt;
}

static const char *prop_str(const struct props *p, const char *k, const char *dflt)
{
    const char *v = props_get(p, k);
    return v ? v : dflt;
}

static void read_format(struct consumer *c, const struct props *p)
{
    c->fmt = (struct fmt){
        .ts = prop_true(p, "print.timestamp", false),
        .partition = prop_true(p, "print.partition", false),
        .offset = prop_true(p, "print.offset", false),
        .headers = prop_true(p, "print.headers", false),
        .key = prop_true(p, "print.key", false),
        .value = prop_true(p, "print.value", true),
        .key_sep = prop_str(p, "key.separator", "\t"),
        .line_sep = prop_str(p, "line.separator", "\n"),
        .hdr_sep = prop_str(p, "headers.separator", ","),
        .hdr_key_sep = prop_str(p, "headers.key.separator", ":"),
        .null_literal = prop_str(p, "null.literal", "null"),
    };
}

static void load_topic(struct consumer *c)
{
    int64_t deadline = kc_now_ms() + 60000;
    for (;;) {
        topic_meta_free(c->meta, c->nmeta);
        c->nmeta = topic_meta_load(c->kc, &c->topic, 1, &c->meta);
        if (c->nmeta == 1 && c->meta[0].error == KERR_NONE && c->meta[0].npart > 0)
            return;
        if (kc_now_ms() > deadline || stop_flag)
            cli_die("org.apache.kafka.common.errors.TimeoutException: Topic %s not present in "
                    "metadata", c->topic);
        usleep(200 * 1000);
    }
}

/* --partition P [--offset N|earliest|latest], or every partition. */
static void assign_manual(struct consumer *c, const struct args *a)
{
    if (arg_has(a, "partition")) {
        c->nparts = 1;
        c->parts = calloc(1, sizeof *c->parts);
        c->parts[0] = (struct cpart){ (int32_t)arg_int(a, "partition", 0), -1, -1 };
        if (c->parts[0].partition >= c->meta[0].npart || c->parts[0].partition < 0)
            cli_die("org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
                    "partition %s-%d does not exist", c->topic, (int)c->parts[0].partition);
    } else {
        c->nparts = c->meta[0].npart;
        c->parts = calloc((size_t)c->nparts, sizeof *c->parts);
        for (int i = 0; i < c->nparts; i++)
            c->parts[i] = (struct cpart){ i, -1, -1 };
    }
    const char *off = arg_get(a, "offset");
    if (off && strcmp(off, "earliest") != 0 && strcmp(off, "latest") != 0) {
        char *end;
        long long n = strtoll(off, &end, 10);
        if (*end || n < 0)
            cli_die("The provided offset value '%s' is incorrect. Valid values are 'earliest', "
                    "'latest', or a non-negative long.", off);
        c->parts[0].pos = n;
        return;
    }
    bool earliest = off ? strcmp(off, "earliest") == 0 : c->from_beginning;
    reset_positions(c, earliest ? -2 : -1);
}

static void check_args(const struct args *a)
{
    args_require(a, "bootstrap-server");
    if (!arg_has(a, "topic"))
        args_usage_exit(a, "Exactly one of whitelist/topic is required.");
    if (arg_has(a, "offset") && !arg_has(a, "partition"))
        args_usage_exit(a, "The partition is required when offset is specified.");
    if (arg_has(a, "partition") && arg_has(a, "group"))
        args_usage_exit(a, "Options group and partition cannot be specified together.");
    if (arg_has(a, "from-beginning") && arg_has(a, "offset"))
        args_usage_exit(a, "Options from-beginning and offset cannot be specified together.");
}

int tool_console_consumer(int argc, char **argv)
{
    struct args a;
    args_parse(&a, "kafka-console-consumer", OPTS, argc, argv);
    check_args(&a);
    struct props fmtp = { 0 }, cons = { 0 };
    args_kv_into(&a, "property", &fmtp);
    args_kv_into(&a, "formatter-property", &fmtp);
    args_kv_into(&a, "consumer-property", &cons);
    struct kclient kc;
    tool_connect(&kc, &a, arg_has(&a, "command-config") ? "command-config" : "consumer.config",
                 &cons);
    struct consumer c = { .kc = &kc, .topic = arg_get(&a, "topic") };
    c.group = arg_get(&a, "group") ? arg_get(&a, "group") : props_get(&cons, "group.id");
    c.max = arg_int(&a, "max-messages", -1);
    c.timeout_ms = arg_int(&a, "timeout-ms", -1);
    const char *reset = props_get(&cons, "auto.offset.reset");
    c.from_beginning = arg_has(&a, "from-beginning") || (reset && strcmp(reset, "earliest") == 0);
    c.member_id = strdup("");
    read_format(&c, &fmtp);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    load_topic(&c);
    if (c.group && !arg_has(&a, "partition"))
        join_group(&c);
    else
        assign_manual(&c, &a);
    c.next_commit_ms = kc_now_ms() + 5000;
    poll_loop(&c);
    if (c.group && c.coord) {
        commit(&c);
        leave_group(&c);
    }
    fflush(stdout);
    fprintf(stderr, "Processed a total of %ld messages\n", c.count);
    free(c.parts);
    free(c.member_id);
    topic_meta_free(c.meta, c.nmeta);
    props_free(&fmtp);
    props_free(&cons);
    kc_close(&kc);
    args_free(&a);
    return 0;
}
