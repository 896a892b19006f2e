/*
 * Conformance adapter for librdkafka's C API, used directly (no binding in
 * between), against the kavka started by tests/conformance/run.
 *
 * It runs the twelve Kafka scenarios of docs/conformance.md and prints one
 * line per scenario, as runner.py's docstring specifies:
 *     RESULT <scenario> PASS|FAIL [detail]
 * A failing scenario is reported, not fatal: the adapter always exits 0 so
 * the runner sees every line.  Diagnostics go to stderr (the runner's log).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define DETAIL_LEN 512
#define MAX_PARTS 64  /* owned partitions are kept in a 64-bit mask */
#define NKEYS 10      /* keys k0..k9 */

/* ------------------------------------------------------------------ */
/* Environment and small helpers                                       */
/* ------------------------------------------------------------------ */

static struct {
    const char *bootstrap, *sasl, *ssl, *ca, *prefix;
    const char *plain_user, *plain_pw, *scram_user, *scram_pw;
} env;

/* The runner always sets these; a missing one is a runner bug, and every
 * scenario would fail on it anyway, so say so once and stop. */
static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "rdkafka-adapter: %s is not set (run me from tests/conformance/run)\n", name);
        exit(2);
    }
    return v;
}

static void load_env(void)
{
    env.bootstrap = need_env("KC_BOOTSTRAP");
    env.sasl = need_env("KC_SASL_BOOTSTRAP");
    env.ssl = need_env("KC_SSL_BOOTSTRAP");
    env.ca = need_env("KC_CA_PEM");
    env.prefix = need_env("KC_PREFIX");
    env.plain_user = need_env("KC_PLAIN_USER");
    env.plain_pw = need_env("KC_PLAIN_PASSWORD");
    env.scram_user = need_env("KC_SCRAM_USER");
    env.scram_pw = need_env("KC_SCRAM_PASSWORD");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fills the scenario's detail and returns false, so checks read as
 * "if (bad) return fail(detail, ...)". */
__attribute__((format(printf, 2, 3)))
static bool fail(char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, DETAIL_LEN, fmt, ap);
    va_end(ap);
    return false;
}

static void topic_name(char *out, size_t len, const char *suffix)
{
    snprintf(out, len, "%s-%s", env.prefix, suffix);
}

/* ------------------------------------------------------------------ */
/* Clients: configuration and callbacks                                */
/* ------------------------------------------------------------------ */

/* How to reach the broker: one of the three listeners, with credentials. */
struct endpoint {
    const char *bootstrap;
    const char *protocol;   /* security.protocol */
    const char *mechanism;  /* sasl.mechanisms, NULL without SASL */
    const char *user, *password;
    const char *ca;         /* ssl.ca.location, NULL without TLS */
};

/* Where a produced record landed, from its delivery report; `seen` is set
 * when it is read back, to catch duplicates. */
struct sent {
    int32_t partition;
    int64_t offset;
    bool delivered, seen;
};

/* Everything the callbacks observe about one rd_kafka_t (its opaque). */
struct client {
    rd_kafka_t *rk;
    const char *name;
    rd_kafka_resp_err_t refused;  /* first __AUTHENTICATION or __SSL error seen */
    char refused_why[256];        /* its reason (later errors say only "brokers down") */
    char last_error[256];
    int delivered, dr_failed;   /* delivery reports */
    rd_kafka_resp_err_t dr_err;
    struct sent *sent;          /* indexed by the message opaque */
    const char *watch_topic;    /* rebalance_cb tracks this topic's partitions */
    uint64_t owned;             /* partitions currently assigned */
};

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct client *c = opaque;
    fprintf(stderr, "[%s] error_cb: %s: %s\n", c->name, rd_kafka_err2name(err), reason);
    snprintf(c->last_error, sizeof c->last_error, "%s: %s", rd_kafka_err2name(err), reason);
    bool refusal = err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL;
    if (refusal && !c->refused) {
        c->refused = err;
        snprintf(c->refused_why, sizeof c->refused_why, "%s", reason);
    }
}

/* The delivery report is the only place a producer learns where its record
 * went (partition, offset); the read-back is checked against it. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct client *c = opaque;
    if (m->err) {
        c->dr_failed++;
        c->dr_err = m->err;
        return;
    }
    c->delivered++;
    if (c->sent) {
        struct sent *s = &c->sent[(intptr_t)m->_private];
        s->partition = m->partition;
        s->offset = m->offset;
        s->delivered = true;
    }
}

static uint64_t parts_mask(const rd_kafka_topic_partition_list_t *parts, const char *topic)
{
    uint64_t mask = 0;
    for (int i = 0; i < parts->cnt; i++)
        if (topic && !strcmp(parts->elems[i].topic, topic) && parts->elems[i].partition >= 0 &&
            parts->elems[i].partition < MAX_PARTS)
            mask |= UINT64_C(1) << parts->elems[i].partition;
    return mask;
}

/* Records what the group coordinator gave this member, then does what the
 * default handler would (assign / unassign) for whichever protocol is on. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct client *c = opaque;
    bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    uint64_t mask = parts_mask(parts, c->watch_topic);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        c->owned |= mask;
        if (coop)
            rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        c->owned &= ~mask;
        if (coop)
            rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    fprintf(stderr, "[%s] rebalance %s: owned mask now 0x%" PRIx64 "\n", c->name,
            rd_kafka_err2name(err), c->owned);
}

/* Sets key=value pairs (NULL-terminated list); false with the reason. */
static bool conf_put(rd_kafka_conf_t *conf, const char *const *kv, char *detail)
{
    char err[256];
    for (; kv && kv[0]; kv += 2)
        if (kv[1] && rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof err) != RD_KAFKA_CONF_OK)
            return fail(detail, "config %s=%s: %s", kv[0], kv[1], err);
    return true;
}

static bool conf_endpoint(rd_kafka_conf_t *conf, const struct endpoint *ep, char *detail)
{
    const char *kv[] = {
        "bootstrap.servers", ep->bootstrap,
        "security.protocol", ep->protocol,
        "sasl.mechanisms", ep->mechanism,
        "sasl.username", ep->user,
        "sasl.password", ep->password,
        "ssl.ca.location", ep->ca,
        /* librdkafka's defaults already verify the certificate and its
         * host name; stated here so the tls scenario cannot lose them. */
        "enable.ssl.certificate.verification", ep->ca ? "true" : NULL,
        "ssl.endpoint.identification.algorithm", ep->ca ? "https" : NULL,
        /* A refused login or a closed idle connection is expected in some
         * scenarios; error_cb reports what matters. */
        "log.connection.close", "false",
        NULL,
    };
    return conf_put(conf, kv, detail);
}

/* Creates c->rk; a consumer gets the rebalance callback and its main queue
 * redirected to the consumer queue, as the high-level consumer wants. */
static bool client_new(struct client *c, rd_kafka_type_t type, const struct endpoint *ep,
                       const char *const *extra, char *detail)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    if (!conf_endpoint(conf, ep, detail) || !conf_put(conf, extra, detail)) {
        rd_kafka_conf_destroy(conf);
        return false;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    else
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    c->rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        return fail(detail, "rd_kafka_new: %s", err);
    }
    if (type == RD_KAFKA_CONSUMER)
        rd_kafka_poll_set_consumer(c->rk);
    return true;
}

static void client_close(struct client *c)
{
    if (!c->rk)
        return;
    if (rd_kafka_type(c->rk) == RD_KAFKA_CONSUMER)
        rd_kafka_consumer_close(c->rk);  /* LeaveGroup now, not after session.timeout.ms */
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
}

static struct endpoint plaintext(void)
{
    return (struct endpoint){ .bootstrap = env.bootstrap, .protocol = "plaintext" };
}

/* ------------------------------------------------------------------ */
/* Records: what is sent, and the check of what comes back             */
/* ------------------------------------------------------------------ */

/* A set of records: key k<i%10>, value v<i><pad>, headers h1=<i> and h2 =
 * four binary bytes (with a NUL and high bytes, to catch text handling). */
struct batch {
    const char *topic;
    int n;
    const char *pad;
    struct sent *rec;
};

static void h2_bytes(int i, unsigned char out[4])
{
    out[0] = 0x00;
    out[1] = 0xff;
    out[2] = 0x80;
    out[3] = (unsigned char)i;
}

static rd_kafka_headers_t *headers_for(int i)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    char h1[16];
    unsigned char h2[4];
    snprintf(h1, sizeof h1, "%d", i);
    h2_bytes(i, h2);
    rd_kafka_header_add(h, "h1", -1, h1, -1);
    rd_kafka_header_add(h, "h2", -1, h2, sizeof h2);
    return h;
}

static rd_kafka_resp_err_t produce_one(struct client *c, const struct batch *b, int i)
{
    char key[8], value[1024];
    snprintf(key, sizeof key, "k%d", i % NKEYS);
    int vlen = snprintf(value, sizeof value, "v%d%s", i, b->pad);
    rd_kafka_headers_t *h = headers_for(i);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        c->rk, RD_KAFKA_V_TOPIC(b->topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(value, (size_t)vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
    if (err)
        rd_kafka_headers_destroy(h);  /* ownership passes only on success */
    return err;
}

/* Produces the whole batch without waiting in between (so linger.ms groups
 * records into batches), then waits for every delivery report. */
static bool produce_batch(struct client *c, const struct batch *b, char *detail)
{
    c->sent = b->rec;
    for (int i = 0; i < b->n; i++) {
        rd_kafka_resp_err_t err;
        while ((err = produce_one(c, b, i)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(c->rk, 10);
        if (err)
            return fail(detail, "producev #%d: %s", i, rd_kafka_err2str(err));
    }
    /* Flushed in slices so that a refused login ends the wait at once:
     * librdkafka would retry it until the deadline, to no avail. */
    for (int64_t end = now_ms() + 15000; rd_kafka_outq_len(c->rk) > 0 && now_ms() < end;) {
        rd_kafka_flush(c->rk, 100);
        if (c->refused)
            return fail(detail, "producer refused: %s", c->refused_why);
    }
    if (c->dr_failed)
        return fail(detail, "%d delivery reports failed, last %s", c->dr_failed,
                    rd_kafka_err2name(c->dr_err));
    if (c->delivered != b->n)
        return fail(detail, "%d of %d records delivered within 15 s (%s)", c->delivered, b->n,
                    c->last_error);
    return true;
}

/* Read-back state: order is checked per partition and per key. */
struct readback {
    const struct batch *b;
    int seen;
    int last_in_part[MAX_PARTS];
    int last_of_key[NKEYS];
};

static bool check_headers(const rd_kafka_message_t *m, int i, char *detail)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    char h1[16];
    unsigned char h2[4];
    snprintf(h1, sizeof h1, "%d", i);
    h2_bytes(i, h2);
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_cnt(h) != 2)
        return fail(detail, "record %d: expected 2 headers, got %zu", i, h ? rd_kafka_header_cnt(h) : 0);
    if (rd_kafka_header_get_last(h, "h1", &v, &len) || len != strlen(h1) || memcmp(v, h1, len))
        return fail(detail, "record %d: header h1 wrong", i);
    if (rd_kafka_header_get_last(h, "h2", &v, &len) || len != sizeof h2 || memcmp(v, h2, len))
        return fail(detail, "record %d: header h2 (binary) wrong", i);
    return true;
}

/* The value names its index; everything else about the record must be
 * exactly what was sent for that index. */
static bool parse_value(const rd_kafka_message_t *m, const struct batch *b, int *idx, char *detail)
{
    char want[1024], digits[16];
    const char *p = m->payload;
    if (!p || m->len < 2 || p[0] != 'v')
        return fail(detail, "p%" PRId32 "@%" PRId64 ": value not v<i>", m->partition, m->offset);
    /* The payload is not NUL-terminated: parse a bounded copy. */
    snprintf(digits, sizeof digits, "%.*s", (int)(m->len < 15 ? m->len - 1 : 14), p + 1);
    int i = atoi(digits);
    int wlen = snprintf(want, sizeof want, "v%d%s", i, b->pad);
    if (i < 0 || i >= b->n || (size_t)wlen != m->len || memcmp(want, p, m->len))
        return fail(detail, "p%" PRId32 "@%" PRId64 ": value corrupted (%zu bytes)", m->partition,
                    m->offset, m->len);
    *idx = i;
    return true;
}

static bool check_record(struct readback *r, const rd_kafka_message_t *m, char *detail)
{
    int i = -1;
    char key[8];
    if (!parse_value(m, r->b, &i, detail))
        return false;
    struct sent *s = &r->b->rec[i];
    snprintf(key, sizeof key, "k%d", i % NKEYS);
    if (s->seen)
        return fail(detail, "record %d read twice", i);
    if (!s->delivered)
        return fail(detail, "record %d read back but never reported delivered", i);
    if (m->key_len != strlen(key) || memcmp(m->key, key, m->key_len))
        return fail(detail, "record %d: key wrong", i);
    if (m->partition != s->partition || m->offset != s->offset)
        return fail(detail, "record %d read at p%" PRId32 "@%" PRId64 ", delivered to p%" PRId32
                    "@%" PRId64, i, m->partition, m->offset, s->partition, s->offset);
    if (m->partition >= MAX_PARTS || r->last_in_part[m->partition] > i || r->last_of_key[i % NKEYS] > i)
        return fail(detail, "record %d out of order", i);
    if (!check_headers(m, i, detail))
        return false;
    s->seen = true;
    r->seen++;
    r->last_in_part[m->partition] = i;
    r->last_of_key[i % NKEYS] = i;
    return true;
}

/* Consumer errors such as a partition EOF are informational; the scenario
 * fails on what is (not) read, with the last error in the detail. */
static void note_consumer_error(struct client *c, const rd_kafka_message_t *m)
{
    fprintf(stderr, "[%s] consumer error: %s\n", c->name, rd_kafka_message_errstr(m));
    snprintf(c->last_error, sizeof c->last_error, "%s", rd_kafka_message_errstr(m));
}

static const char *const *group_consumer_conf(const char *group)
{
    static const char *kv[] = {
        "group.id", NULL,
        "auto.offset.reset", "earliest",
        "enable.auto.commit", "false",
        /* Short timeouts keep rebalances within the adapter's time budget. */
        "session.timeout.ms", "6000",
        "heartbeat.interval.ms", "500",
        "fetch.wait.max.ms", "100",
        NULL,
    };
    kv[1] = group;
    return kv;
}

/* One consumer poll; false when a record read fails its check. */
static bool poll_check(struct client *c, struct readback *r, char *detail)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
    if (!m)
        return true;
    bool ok = true;
    if (m->err)
        note_consumer_error(c, m);
    else
        ok = check_record(r, m, detail);
    rd_kafka_message_destroy(m);
    return ok;
}

/* Polls c until `want` records passed the check, or timeout; then half a
 * second more, so a duplicate delivered after the last record is caught. */
static bool read_back(struct client *c, struct readback *r, int want, int timeout_ms, char *detail)
{
    int64_t deadline = now_ms() + timeout_ms;
    int64_t drain_end = -1;
    while (now_ms() < (drain_end >= 0 ? drain_end : deadline)) {
        if (c->refused)
            return fail(detail, "consumer refused: %s", c->refused_why);
        if (!poll_check(c, r, detail))
            return false;
        if (r->seen == want && drain_end < 0)
            drain_end = now_ms() + 500;
    }
    if (r->seen != want)
        return fail(detail, "read back %d of %d records in %d s (%s)", r->seen, want,
                    timeout_ms / 1000, c->last_error);
    return true;
}

static bool subscribe(struct client *c, const char *topic, char *detail)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        return fail(detail, "subscribe %s: %s", topic, rd_kafka_err2str(err));
    return true;
}

/* Reads the whole batch back from the beginning with a group member of a
 * fresh group (so auto.offset.reset=earliest applies). */
static bool consume_batch(const struct endpoint *ep, const struct batch *b, char *detail)
{
    struct client c = { .name = "consumer", .watch_topic = b->topic };
    struct readback r = { .b = b };
    char group[256];
    memset(r.last_in_part, -1, sizeof r.last_in_part);
    memset(r.last_of_key, -1, sizeof r.last_of_key);
    snprintf(group, sizeof group, "%s-g", b->topic);
    bool ok = client_new(&c, RD_KAFKA_CONSUMER, ep, group_consumer_conf(group), detail) &&
              subscribe(&c, b->topic, detail) && read_back(&c, &r, b->n, 20000, detail);
    client_close(&c);
    return ok;
}

/* Produces b through ep with the extra producer config, reads it back. */
static bool roundtrip(const struct endpoint *ep, const struct batch *b, const char *const *pconf,
                      char *detail)
{
    struct client p = { .name = "producer" };
    bool ok = client_new(&p, RD_KAFKA_PRODUCER, ep, pconf, detail) && produce_batch(&p, b, detail);
    client_close(&p);
    return ok && consume_batch(ep, b, detail);
}

/* ------------------------------------------------------------------ */
/* Admin API                                                            */
/* ------------------------------------------------------------------ */

static struct client admin = { .name = "admin" };

/* Waits for the result of the one admin request in flight on q. */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, char *detail)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev) {
        fail(detail, "admin request: no result in 20 s");
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        fail(detail, "%s: %s", rd_kafka_event_name(ev), rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* CreateTopics, CreatePartitions and DeleteTopics all answer with
 * per-topic results; each must be error-free. */
static bool topic_results_ok(rd_kafka_event_t *ev, char *detail)
{
    const rd_kafka_topic_result_t **tr = NULL;
    size_t n = 0;
    switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_CREATETOPICS_RESULT:
        tr = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        break;
    case RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT:
        tr = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        break;
    case RD_KAFKA_EVENT_DELETETOPICS_RESULT:
        tr = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        break;
    default:
        return fail(detail, "unexpected admin event %s", rd_kafka_event_name(ev));
    }
    if (n != 1)
        return fail(detail, "%s: %zu topic results, expected 1", rd_kafka_event_name(ev), n);
    if (rd_kafka_topic_result_error(tr[0]))
        return fail(detail, "%s %s: %s", rd_kafka_event_name(ev), rd_kafka_topic_result_name(tr[0]),
                    rd_kafka_topic_result_error_string(tr[0]));
    return true;
}

static bool admin_wait_topics(rd_kafka_queue_t *q, char *detail)
{
    rd_kafka_event_t *ev = admin_result(q, detail);
    if (!ev)
        return false;
    bool ok = topic_results_ok(ev, detail);
    rd_kafka_event_destroy(ev);
    return ok;
}

/* Creates topic with `partitions` and the config pairs in kv (may be NULL). */
static bool create_topic(const char *topic, int partitions, const char *const *kv, char *detail)
{
    char err[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
    if (!nt)
        return fail(detail, "NewTopic: %s", err);
    for (; kv && kv[0]; kv += 2)
        rd_kafka_NewTopic_set_config(nt, kv[0], kv[1]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin.rk);
    rd_kafka_CreateTopics(admin.rk, &nt, 1, NULL, q);
    bool ok = admin_wait_topics(q, detail);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return ok;
}

static bool create_partitions(const char *topic, int total, char *detail)
{
    char err[256];
    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)total, err, sizeof err);
    if (!np)
        return fail(detail, "NewPartitions: %s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin.rk);
    rd_kafka_CreatePartitions(admin.rk, &np, 1, NULL, q);
    bool ok = admin_wait_topics(q, detail);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewPartitions_destroy(np);
    return ok;
}

static bool delete_topic(const char *topic, char *detail)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin.rk);
    rd_kafka_DeleteTopics(admin.rk, &dt, 1, NULL, q);
    bool ok = admin_wait_topics(q, detail);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
    return ok;
}

/* The topic's partition count in the full listing (all_topics metadata),
 * 0 if it is not listed, -1 if the request failed. */
static int listed_partitions(const char *topic, char *detail)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(admin.rk, 1, NULL, &md, 5000);
    if (err) {
        fail(detail, "metadata (all topics): %s", rd_kafka_err2str(err));
        return -1;
    }
    int n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
            n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* The topic's partition count from a metadata request for that topic only
 * (what "describe" is in the Kafka protocol), -1 on error. */
static int described_partitions(const char *topic, char *detail)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(admin.rk, topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(admin.rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        fail(detail, "metadata (%s): %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    int n = -1;
    if (md->topic_cnt != 1 || md->topics[0].err)
        fail(detail, "describe %s: %s", topic,
             md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic in answer");
    else
        n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Metadata may trail an admin change by a moment (as in Kafka, where it
 * propagates to every broker's cache), so the expected state gets a few
 * seconds to show; the final answer is what is checked. */
static bool await_partitions(int (*query)(const char *, char *), const char *topic, int want,
                             const char *what, char *detail)
{
    int got = -1;
    for (int64_t end = now_ms() + 5000; now_ms() < end; usleep(100 * 1000))
        if ((got = query(topic, detail)) == want)
            return true;
    if (got >= 0)
        fail(detail, "%s %s: %d partitions, expected %d", what, topic, got, want);
    return false;
}

/* ------------------------------------------------------------------ */
/* Scenarios 1-5: produce-consume and compression                       */
/* ------------------------------------------------------------------ */

static bool scenario_produce_consume(char *detail)
{
    char topic[256];
    struct sent rec[100] = { 0 };
    topic_name(topic, sizeof topic, "pc");
    struct batch b = { .topic = topic, .n = 100, .pad = "", .rec = rec };
    struct endpoint ep = plaintext();
    return create_topic(topic, 3, NULL, detail) && roundtrip(&ep, &b, NULL, detail);
}

/* Compressible text, so a codec that mangles data cannot hide behind
 * incompressible input being stored raw. */
static const char PAD[] =
    "|kavka compression payload kavka compression payload kavka compression payload "
    "kavka compression payload kavka compression payload kavka compression payload";

static bool scenario_codec(const char *codec, char *detail)
{
    char topic[256];
    struct sent rec[200] = { 0 };
    topic_name(topic, sizeof topic, codec);
    struct batch b = { .topic = topic, .n = 200, .pad = PAD, .rec = rec };
    struct endpoint ep = plaintext();
    /* linger.ms: all 200 records are produced at once, so they go out as a
     * few multi-record (compressed) batches, not one request each. */
    const char *pconf[] = { "compression.codec", codec, "linger.ms", "50", NULL };
    return create_topic(topic, 3, NULL, detail) && roundtrip(&ep, &b, pconf, detail);
}

/* ------------------------------------------------------------------ */
/* Scenario 6: group-rebalance                                          */
/* ------------------------------------------------------------------ */

static bool owns_all(const struct client *a, uint64_t all)
{
    return a->owned == all;
}

static bool split_between(const struct client *a, const struct client *b, uint64_t all)
{
    return a->owned && b->owned && !(a->owned & b->owned) && (a->owned | b->owned) == all;
}

/* Polls every open member from this one thread (callbacks such as
 * rebalance_cb run inside the poll) until `done` holds or timeout. */
static bool poll_until(struct client *m[], int n, bool (*done)(struct client *[], uint64_t),
                       uint64_t all, int timeout_ms)
{
    for (int64_t end = now_ms() + timeout_ms; now_ms() < end;) {
        for (int i = 0; i < n; i++) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(m[i]->rk, 50);
            if (msg)
                rd_kafka_message_destroy(msg);  /* the topic is empty; errors are logged */
        }
        if (done(m, all))
            return true;
    }
    return false;
}

static bool first_owns_all(struct client *m[], uint64_t all)
{
    return owns_all(m[0], all);
}

static bool first_two_split(struct client *m[], uint64_t all)
{
    return split_between(m[0], m[1], all);
}

static bool member_join(struct client *c, const char *topic, const char *group, char *detail)
{
    struct endpoint ep = plaintext();
    c->watch_topic = topic;
    return client_new(c, RD_KAFKA_CONSUMER, &ep, group_consumer_conf(group), detail) &&
           subscribe(c, topic, detail);
}

static bool rebalance_steps(struct client *a, struct client *b, const char *topic,
                            const char *group, char *detail)
{
    const uint64_t all = 0xf;
    struct client *both[] = { a, b };
    if (!member_join(a, topic, group, detail))
        return false;
    if (!poll_until(both, 1, first_owns_all, all, 20000))
        return fail(detail, "A alone: owns mask 0x%" PRIx64 ", expected 0xf", a->owned);
    if (!member_join(b, topic, group, detail))
        return false;
    if (!poll_until(both, 2, first_two_split, all, 20000))
        return fail(detail, "A+B: A owns 0x%" PRIx64 ", B owns 0x%" PRIx64
                    " (want non-empty, disjoint, covering 0xf)", a->owned, b->owned);
    fprintf(stderr, "group-rebalance: A 0x%" PRIx64 " B 0x%" PRIx64 "\n", a->owned, b->owned);
    client_close(b);  /* LeaveGroup: the group rebalances without waiting for B's session */
    if (!poll_until(both, 1, first_owns_all, all, 20000))
        return fail(detail, "after B left: A owns 0x%" PRIx64 ", expected 0xf", a->owned);
    return true;
}

static bool scenario_group_rebalance(char *detail)
{
    char topic[256], group[300];
    topic_name(topic, sizeof topic, "rebalance");
    snprintf(group, sizeof group, "%s-g", topic);
    if (!create_topic(topic, 4, NULL, detail))
        return false;
    struct client a = { .name = "member-A" }, b = { .name = "member-B" };
    bool ok = rebalance_steps(&a, &b, topic, group, detail);
    client_close(&b);
    client_close(&a);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Scenario 7: committed-offsets                                        */
/* ------------------------------------------------------------------ */

/* Returns the offset of the next record polled from c (value checked to be
 * v<offset>), -1 on timeout or a bad record. */
static int64_t next_offset(struct client *c, char *detail)
{
    for (int64_t end = now_ms() + 15000; now_ms() < end;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
        if (!m)
            continue;
        if (m->err) {
            note_consumer_error(c, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        char want[32];
        int wl = snprintf(want, sizeof want, "v%" PRId64, m->offset);
        int64_t at = m->offset;
        bool intact = (size_t)wl == m->len && !memcmp(want, m->payload, m->len);
        rd_kafka_message_destroy(m);
        if (intact)
            return at;
        fail(detail, "record at offset %" PRId64 " has the wrong value", at);
        return -1;
    }
    fail(detail, "no record within 15 s (%s)", c->last_error);
    return -1;
}

static rd_kafka_topic_partition_list_t *partition0(const char *topic, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = offset;
    return l;
}

/* The first member: reads records 0..4 and commits offset 5 synchronously. */
static bool consume_five_commit(const char *topic, const char *group, char *detail)
{
    struct client c = { .name = "member-1", .watch_topic = topic };
    struct endpoint ep = plaintext();
    bool ok = client_new(&c, RD_KAFKA_CONSUMER, &ep, group_consumer_conf(group), detail) &&
              subscribe(&c, topic, detail);
    for (int64_t want = 0; ok && want < 5; want++) {
        int64_t off = next_offset(&c, detail);
        if (off != want)
            ok = off < 0 ? false : fail(detail, "member 1 read offset %" PRId64 ", expected %" PRId64,
                                        off, want);
    }
    if (ok) {
        rd_kafka_topic_partition_list_t *l = partition0(topic, 5);
        rd_kafka_resp_err_t err = rd_kafka_commit(c.rk, l, 0);
        rd_kafka_topic_partition_list_destroy(l);
        if (err)
            ok = fail(detail, "commit: %s", rd_kafka_err2str(err));
    }
    client_close(&c);
    return ok;
}

/* The second member: its first record is offset 5, and rd_kafka_committed
 * (an OffsetFetch) answers 5. */
static bool resume_at_five(const char *topic, const char *group, char *detail)
{
    struct client c = { .name = "member-2", .watch_topic = topic };
    struct endpoint ep = plaintext();
    bool ok = client_new(&c, RD_KAFKA_CONSUMER, &ep, group_consumer_conf(group), detail) &&
              subscribe(&c, topic, detail);
    int64_t off = ok ? next_offset(&c, detail) : -1;
    if (ok && off != 5)
        ok = off < 0 ? false : fail(detail, "new member started at offset %" PRId64 ", expected 5", off);
    if (ok) {
        rd_kafka_topic_partition_list_t *l = partition0(topic, RD_KAFKA_OFFSET_INVALID);
        rd_kafka_resp_err_t err = rd_kafka_committed(c.rk, l, 10000);
        if (err || l->elems[0].err || l->elems[0].offset != 5)
            ok = fail(detail, "committed: %s / %s, offset %" PRId64 " (expected 5)",
                      rd_kafka_err2name(err), rd_kafka_err2name(l->elems[0].err), l->elems[0].offset);
        rd_kafka_topic_partition_list_destroy(l);
    }
    client_close(&c);
    return ok;
}

static bool produce_values_by_offset(const char *topic, char *detail)
{
    struct client p = { .name = "producer" };
    struct endpoint ep = plaintext();
    bool ok = client_new(&p, RD_KAFKA_PRODUCER, &ep, NULL, detail);
    for (int i = 0; ok && i < 10; i++) {
        char v[16];
        int vl = snprintf(v, sizeof v, "v%d", i);
        rd_kafka_resp_err_t err = rd_kafka_producev(p.rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                                    RD_KAFKA_V_VALUE(v, (size_t)vl),
                                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err)
            ok = fail(detail, "producev: %s", rd_kafka_err2str(err));
    }
    if (ok) {
        rd_kafka_flush(p.rk, 15000);
        if (p.delivered != 10)
            ok = fail(detail, "%d of 10 delivered (%s)", p.delivered, rd_kafka_err2name(p.dr_err));
    }
    client_close(&p);
    return ok;
}

static bool scenario_committed_offsets(char *detail)
{
    char topic[256], group[300];
    topic_name(topic, sizeof topic, "commit");
    snprintf(group, sizeof group, "%s-g", topic);
    return create_topic(topic, 1, NULL, detail) && produce_values_by_offset(topic, detail) &&
           consume_five_commit(topic, group, detail) && resume_at_five(topic, group, detail);
}

/* ------------------------------------------------------------------ */
/* Scenario 8: admin-topics                                             */
/* ------------------------------------------------------------------ */

static bool await_gone(const char *topic, char *detail)
{
    int got = -1;
    for (int64_t end = now_ms() + 5000; now_ms() < end; usleep(100 * 1000))
        if ((got = listed_partitions(topic, detail)) == 0)
            return true;
    if (got > 0)
        fail(detail, "%s still listed after DeleteTopics", topic);
    return false;
}

static bool scenario_admin_topics(char *detail)
{
    char topic[256];
    topic_name(topic, sizeof topic, "admin");
    const char *cfg[] = { "retention.ms", "3600000", NULL };
    return create_topic(topic, 2, cfg, detail) &&
           await_partitions(listed_partitions, topic, 2, "list", detail) &&
           await_partitions(described_partitions, topic, 2, "describe", detail) &&
           create_partitions(topic, 4, detail) &&
           await_partitions(described_partitions, topic, 4, "describe", detail) &&
           delete_topic(topic, detail) && await_gone(topic, detail);
}

/* ------------------------------------------------------------------ */
/* Scenario 9: describe-configs                                         */
/* ------------------------------------------------------------------ */

/* What a DescribeConfigs answer says about one entry. */
struct config_view {
    size_t entries;
    bool found, is_default;
    char value[128];
};

static bool read_config(const rd_kafka_ConfigResource_t *r, const char *key, struct config_view *v,
                        char *detail)
{
    if (rd_kafka_ConfigResource_error(r))
        return fail(detail, "DescribeConfigs %s: %s", rd_kafka_ConfigResource_name(r),
                    rd_kafka_ConfigResource_error_string(r));
    const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(r, &v->entries);
    for (size_t i = 0; key && i < v->entries; i++) {
        if (strcmp(rd_kafka_ConfigEntry_name(e[i]), key))
            continue;
        const char *val = rd_kafka_ConfigEntry_value(e[i]);
        v->found = true;
        v->is_default = rd_kafka_ConfigEntry_is_default(e[i]);
        snprintf(v->value, sizeof v->value, "%s", val ? val : "(null)");
    }
    return true;
}

static bool describe_config(rd_kafka_ResourceType_t type, const char *name, const char *key,
                            struct config_view *v, char *detail)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(type, name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin.rk);
    rd_kafka_DescribeConfigs(admin.rk, &res, 1, NULL, q);
    rd_kafka_event_t *ev = admin_result(q, detail);
    bool ok = false;
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **r =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
        ok = n == 1 ? read_config(r[0], key, v, detail) : fail(detail, "%zu resources in answer", n);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return ok;
}

/* librdkafka 2.0.2 has no IncrementalAlterConfigs (2.2.0 added it), so this
 * is the classic AlterConfigs, which replaces the topic's dynamic config. */
static bool alter_topic_config(const char *topic, const char *key, const char *value, char *detail)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_ConfigResource_set_config(res, key, value);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin.rk);
    rd_kafka_AlterConfigs(admin.rk, &res, 1, NULL, q);
    rd_kafka_event_t *ev = admin_result(q, detail);
    bool ok = false;
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **r =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
        if (n != 1)
            ok = fail(detail, "AlterConfigs: %zu resources in answer", n);
        else if (rd_kafka_ConfigResource_error(r[0]))
            ok = fail(detail, "AlterConfigs: %s", rd_kafka_ConfigResource_error_string(r[0]));
        else
            ok = true;
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return ok;
}

static bool expect_topic_config(const char *topic, const char *key, const char *want, char *detail)
{
    struct config_view v = { 0 };
    if (!describe_config(RD_KAFKA_RESOURCE_TOPIC, topic, key, &v, detail))
        return false;
    if (!v.found)
        return fail(detail, "%s missing from %s's %zu configs", key, topic, v.entries);
    if (strcmp(v.value, want) || v.is_default)
        return fail(detail, "%s=%s (%s), expected %s (non-default)", key, v.value,
                    v.is_default ? "default" : "non-default", want);
    return true;
}

/* The broker's id comes from metadata rather than being assumed. */
static bool expect_broker_configs(char *detail)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(admin.rk, 0, NULL, &md, 5000);
    if (err || md->broker_cnt < 1) {
        if (!err)
            rd_kafka_metadata_destroy(md);
        return fail(detail, "metadata for the broker id: %s", rd_kafka_err2str(err));
    }
    char id[16];
    snprintf(id, sizeof id, "%" PRId32, md->brokers[0].id);
    rd_kafka_metadata_destroy(md);
    struct config_view v = { 0 };
    if (!describe_config(RD_KAFKA_RESOURCE_BROKER, id, NULL, &v, detail))
        return false;
    if (v.entries == 0)
        return fail(detail, "broker %s: no config entries", id);
    fprintf(stderr, "describe-configs: broker %s has %zu entries\n", id, v.entries);
    return true;
}

static bool scenario_describe_configs(char *detail)
{
    char topic[256];
    topic_name(topic, sizeof topic, "configs");
    const char *cfg[] = { "retention.ms", "123456", NULL };
    return create_topic(topic, 1, cfg, detail) &&
           expect_topic_config(topic, "retention.ms", "123456", detail) &&
           alter_topic_config(topic, "retention.ms", "654321", detail) &&
           expect_topic_config(topic, "retention.ms", "654321", detail) &&
           expect_broker_configs(detail);
}

/* ------------------------------------------------------------------ */
/* Scenarios 10-12: SASL and TLS                                        */
/* ------------------------------------------------------------------ */

/* 10 records through ep, read back through ep, and no login trouble. */
static bool secured_roundtrip(const struct endpoint *ep, const char *suffix, char *detail)
{
    char topic[256];
    struct sent rec[10] = { 0 };
    topic_name(topic, sizeof topic, suffix);
    struct batch b = { .topic = topic, .n = 10, .pad = "", .rec = rec };
    return create_topic(topic, 1, NULL, detail) && roundtrip(ep, &b, NULL, detail);
}

/* Connects with ep and waits for error_cb to report `want` (a refused login
 * or certificate); the connection must not work meanwhile. */
static bool refused_with(const struct endpoint *ep, rd_kafka_resp_err_t want, const char *what,
                         char *detail)
{
    struct client c = { .name = what };
    if (!client_new(&c, RD_KAFKA_PRODUCER, ep, NULL, detail))
        return false;
    /* A metadata request makes the client connect (and log in) now. */
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c.rk, 1, NULL, &md, 1500);
    if (!err)
        rd_kafka_metadata_destroy(md);
    for (int64_t end = now_ms() + 10000; c.refused != want && now_ms() < end;)
        rd_kafka_poll(c.rk, 100);  /* error_cb is served here */
    bool ok = true;
    if (!err)
        ok = fail(detail, "%s: metadata request succeeded", what);
    else if (c.refused != want)
        ok = fail(detail, "%s: no %s error (last: %s)", what, rd_kafka_err2name(want), c.last_error);
    client_close(&c);
    return ok;
}

/* A wrong password must end in an authentication error (error_cb with
 * RD_KAFKA_RESP_ERR__AUTHENTICATION), not in a working connection. */
static bool login_refused(const struct endpoint *good, char *detail)
{
    struct endpoint ep = *good;
    char what[64];
    ep.password = "wrong-password";
    snprintf(what, sizeof what, "%s with a wrong password", ep.mechanism);
    return refused_with(&ep, RD_KAFKA_RESP_ERR__AUTHENTICATION, what, detail);
}

static bool scenario_sasl_plain(char *detail)
{
    struct endpoint ep = { .bootstrap = env.sasl, .protocol = "sasl_plaintext", .mechanism = "PLAIN",
                           .user = env.plain_user, .password = env.plain_pw };
    return secured_roundtrip(&ep, "sasl-plain", detail) && login_refused(&ep, detail);
}

/* One SCRAM mechanism: a round trip and a refused wrong password. */
static bool scram_mechanism(const char *mech, const char *suffix, char *detail)
{
    struct endpoint ep = { .bootstrap = env.sasl, .protocol = "sasl_plaintext", .mechanism = mech,
                           .user = env.scram_user, .password = env.scram_pw };
    return secured_roundtrip(&ep, suffix, detail) && login_refused(&ep, detail);
}

/* Both mechanisms run even when the first fails, so the detail tells
 * whether a failure is about one hash or about SCRAM as a whole. */
static bool scenario_sasl_scram(char *detail)
{
    char d256[DETAIL_LEN] = "", d512[DETAIL_LEN] = "";
    bool ok256 = scram_mechanism("SCRAM-SHA-256", "scram-256", d256);
    bool ok512 = scram_mechanism("SCRAM-SHA-512", "scram-512", d512);
    if (ok256 && ok512)
        return true;
    return fail(detail, "%s%.240s%s%s%.240s", ok256 ? "" : "SCRAM-SHA-256: ", ok256 ? "" : d256,
                ok256 || ok512 ? "" : "; ", ok512 ? "" : "SCRAM-SHA-512: ", ok512 ? "" : d512);
}

/* The counter-check that verification is really on: a client trusting only
 * the public CAs (Debian's ca-certificates bundle, not the run's CA) must
 * refuse the broker's certificate. */
static bool untrusted_refused(const struct endpoint *good, char *detail)
{
    struct endpoint ep = *good;
    ep.ca = "/etc/ssl/certs/ca-certificates.crt";
    return refused_with(&ep, RD_KAFKA_RESP_ERR__SSL, "TLS trusting only the public CAs", detail);
}

/* The broker's certificate is verified against the run's CA, host name
 * (the IP SAN 127.0.0.1) included: see conf_endpoint. */
static bool scenario_tls(char *detail)
{
    struct endpoint ep = { .bootstrap = env.ssl, .protocol = "ssl", .ca = env.ca };
    return secured_roundtrip(&ep, "tls", detail) && untrusted_refused(&ep, detail);
}

/* ------------------------------------------------------------------ */
/* Driver                                                               */
/* ------------------------------------------------------------------ */

static void report(const char *scenario, bool ok, const char *detail, int64_t t0)
{
    fprintf(stderr, "--- %s: %s in %.1f s %s\n", scenario, ok ? "PASS" : "FAIL",
            (double)(now_ms() - t0) / 1000, detail);
    printf("RESULT %s %s%s%s\n", scenario, ok ? "PASS" : "FAIL", *detail ? " " : "", detail);
    fflush(stdout);
}

static void run(const char *scenario, bool (*fn)(char *))
{
    char detail[DETAIL_LEN] = "";
    int64_t t0 = now_ms();
    fprintf(stderr, "--- %s\n", scenario);
    report(scenario, fn(detail), detail, t0);
}

static void run_codec(const char *codec)
{
    char detail[DETAIL_LEN] = "";
    int64_t t0 = now_ms();
    fprintf(stderr, "--- %s\n", codec);
    report(codec, scenario_codec(codec, detail), detail, t0);
}

int main(void)
{
    char detail[DETAIL_LEN] = "";
    load_env();
    fprintf(stderr, "librdkafka %s\n", rd_kafka_version_str());
    struct endpoint ep = plaintext();
    if (!client_new(&admin, RD_KAFKA_PRODUCER, &ep, NULL, detail)) {
        fprintf(stderr, "admin client: %s\n", detail);
        return 0;  /* every scenario is unreported, so the runner fails them all */
    }
    run("produce-consume", scenario_produce_consume);
    run_codec("gzip");
    run_codec("snappy");
    run_codec("lz4");
    run_codec("zstd");
    run("group-rebalance", scenario_group_rebalance);
    run("committed-offsets", scenario_committed_offsets);
    run("admin-topics", scenario_admin_topics);
    run("describe-configs", scenario_describe_configs);
    run("sasl-plain", scenario_sasl_plain);
    run("sasl-scram", scenario_sasl_scram);
    run("tls", scenario_tls);
    client_close(&admin);
    return 0;
}
