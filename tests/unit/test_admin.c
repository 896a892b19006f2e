/*
 * test_admin.c — config validation and layering in the admin handlers
 * (admin_configs.c), driven through the handler table with encoded
 * requests, and the invariants between the topic and broker config tables.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "topics.h"

static char tmpdir[] = "/tmp/kavka-admin-XXXXXX";
static struct broker_config cfg;
static struct topics topics;
static struct broker b;
static struct blistener lst = { .name = "PLAINTEXT", .adv_host = "h", .adv_port = 9092 };
static struct conn conn;
static struct bufferevent *pair[2];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void start(void)
{
    char logdirs[128], err[256];
    snprintf(logdirs, sizeof logdirs, "log.dirs=%s", tmpdir);
    char *ov[] = { logdirs, "broker.id=1", "log.retention.hours=100" };
    cr_assert_eq(broker_config_load(&cfg, NULL, 3, ov, err, sizeof err), 0, "%s", err);
    memset(&b, 0, sizeof b);
    b.cfg = &cfg;
    b.base = event_base_new();
    TAILQ_INIT(&b.conns);
    cr_assert_eq(dynconfig_open(&b), 0);
    cr_assert_eq(topics_open(&topics, &cfg), 0);
    b.topics = &topics;
    if (!topics_find(&topics, kstr_c("t")))
        cr_assert_eq(topics_create(&topics, kstr_c("t"), 2, 1, NULL, 0, false, NULL, err, sizeof err), 0);
    memset(&conn, 0, sizeof conn);
    cr_assert_eq(bufferevent_pair_new(b.base, 0, pair), 0);
    bufferevent_enable(pair[1], EV_READ);
    conn.b = &b;
    conn.bev = pair[0];
    conn.lst = &lst;
    TAILQ_INIT(&conn.q);
}

static void stop(void)
{
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    topics_close(&topics);
    dynconfig_close(&b);
    event_base_free(b.base);
    broker_config_free(&cfg);
}

static void setup(void)
{
    cr_assert(mkdtemp(tmpdir));
    start();
}

static void teardown(void)
{
    stop();
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(admin, .init = setup, .fini = teardown);

/* Encode msg, run the handler, decode its response into out. */
static void call(int16_t key, int16_t ver, const void *msg, void *out, struct karena *a)
{
    struct kw w;
    kw_init(&w, NULL);
    kp_msg_find(key, false)->encode(&w, ver, msg);
    cr_assert_eq(w.err, 0);
    /* The connection frees the request and its frame once answered. */
    struct kreq *req = calloc(1, sizeof *req);
    req->frame = malloc(w.len + 1);
    memcpy(req->frame, w.buf, w.len);
    req->frame_len = w.len;
    kw_free(&w);
    kr_init(&req->body, req->frame, req->frame_len);
    req->conn = &conn;
    req->api_key = key;
    req->api_version = ver;
    karena_init(&req->arena);
    TAILQ_INSERT_TAIL(&conn.q, req, link);
    conn.inflight++;
    cr_assert_eq(khandler_find(key)->fn(req), 0);
    cr_assert(TAILQ_EMPTY(&conn.q));
    event_base_loop(b.base, EVLOOP_NONBLOCK);
    struct evbuffer *in = bufferevent_get_input(pair[1]);
    size_t n = evbuffer_get_length(in);
    uint8_t *buf = karena_alloc(a, n);
    evbuffer_remove(in, buf, n);
    struct kr r;
    kr_init(&r, buf + 4, n - 4);
    kr_i32(&r);
    if (ver >= kp_api_find(key)->flex_min)
        kr_skip_tags(&r);
    cr_assert_eq(kp_msg_find(key, true)->decode(&r, ver, a, out), 0);
}

struct op {
    const char *name, *value;
    int8_t op;
};

/* IncrementalAlterConfigs v1 on one resource; returns its error code. */
static int16_t ialter(int8_t type, const char *name, const struct op *ops, int n, bool validate_only)
{
    struct karena a;
    karena_init(&a);
    struct kp_incremental_alter_configs_req rq;
    kp_incremental_alter_configs_req_init(&rq);
    struct kp_incremental_alter_configs_req_resources res;
    kp_incremental_alter_configs_req_resources_init(&res);
    struct kp_incremental_alter_configs_req_resources_configs c[8];
    for (int i = 0; i < n; i++) {
        kp_incremental_alter_configs_req_resources_configs_init(&c[i]);
        c[i].name = kstr_c(ops[i].name);
        c[i].value = kstr_c(ops[i].value);
        c[i].config_operation = ops[i].op;
    }
    res.resource_type = type;
    res.resource_name = kstr_c(name);
    res.configs = c;
    res.configs_n = n;
    rq.resources = &res;
    rq.resources_n = 1;
    rq.validate_only = validate_only;
    struct kp_incremental_alter_configs_resp rs;
    call(44, 1, &rq, &rs, &a);
    cr_assert_eq(rs.responses_n, 1);
    int16_t e = rs.responses[0].error_code;
    karena_free(&a);
    return e;
}

/* DescribeConfigs v4 of one key: value (copied), source; false if absent. */
static bool describe(int8_t type, const char *res, const char *key, char *value, size_t vlen,
                     int8_t *source, int *nsyn)
{
    struct karena a;
    karena_init(&a);
    struct kp_describe_configs_req rq;
    kp_describe_configs_req_init(&rq);
    struct kp_describe_configs_req_resources r;
    kp_describe_configs_req_resources_init(&r);
    struct kstr k = kstr_c(key);
    r.resource_type = type;
    r.resource_name = kstr_c(res);
    r.configuration_keys = &k;
    r.configuration_keys_n = 1;
    rq.resources = &r;
    rq.resources_n = 1;
    rq.include_synonyms = true;
    rq.include_documentation = true;
    struct kp_describe_configs_resp rs;
    call(32, 4, &rq, &rs, &a);
    bool found = rs.results[0].configs_n == 1;
    if (found) {
        const struct kp_describe_configs_resp_results_configs *e = &rs.results[0].configs[0];
        snprintf(value, vlen, "%.*s", e->value.len < 0 ? 4 : (int)e->value.len,
                 e->value.len < 0 ? "null" : e->value.p);
        *source = e->config_source;
        *nsyn = e->synonyms_n;
        cr_assert(e->documentation.len > 0, "%s has no documentation", key);
    }
    karena_free(&a);
    return found;
}

Test(admin, topic_config_validation)
{
    struct op bad_value = { "retention.ms", "soon", 0 };
    struct op unknown = { "retention.mss", "1", 0 };
    struct op append_int = { "retention.ms", "1", 2 };
    struct op dup[2] = { { "retention.ms", "1", 0 }, { "retention.ms", "2", 0 } };
    struct op null_set = { "retention.ms", NULL, 0 };
    cr_assert_eq(ialter(RES_TOPIC, "t", &bad_value, 1, false), KERR_INVALID_CONFIG);
    cr_assert_eq(ialter(RES_TOPIC, "t", &unknown, 1, false), KERR_INVALID_CONFIG);
    cr_assert_eq(ialter(RES_TOPIC, "t", &append_int, 1, false), KERR_INVALID_CONFIG);
    cr_assert_eq(ialter(RES_TOPIC, "t", dup, 2, false), KERR_INVALID_REQUEST);
    cr_assert_eq(ialter(RES_TOPIC, "t", &null_set, 1, false), KERR_INVALID_REQUEST);
    cr_assert_eq(ialter(RES_TOPIC, "nope", &dup[0], 1, false), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* Nothing above, nor a validate-only request, changed the topic. */
    cr_assert_eq(ialter(RES_TOPIC, "t", &dup[0], 1, true), KERR_NONE);
    cr_assert_eq(topics_find(&topics, kstr_c("t"))->nconfigs, 0);
}

Test(admin, topic_override_applies_and_persists)
{
    struct op set = { "retention.ms", "5000", 0 };
    cr_assert_eq(ialter(RES_TOPIC, "t", &set, 1, false), KERR_NONE);
    struct topic *t = topics_find(&topics, kstr_c("t"));
    cr_assert_eq(t->lcfg.retention_ms, 5000);
    char v[64];
    int8_t src;
    int nsyn;
    cr_assert(describe(RES_TOPIC, "t", "retention.ms", v, sizeof v, &src, &nsyn));
    cr_assert_str_eq(v, "5000");
    cr_assert_eq(src, SRC_DYNAMIC_TOPIC);
    stop();
    start();
    t = topics_find(&topics, kstr_c("t"));
    cr_assert_str_eq(topic_config_value(t, "retention.ms"), "5000");
    cr_assert_eq(t->lcfg.retention_ms, 5000);
    struct op del = { "retention.ms", NULL, 1 };
    cr_assert_eq(ialter(RES_TOPIC, "t", &del, 1, false), KERR_NONE);
    cr_assert_eq(t->lcfg.retention_ms, 100 * 3600000LL);
}

Test(admin, list_append_and_subtract)
{
    struct op app = { "leader.replication.throttled.replicas", "0:1,1:1", 2 };
    struct op sub = { "leader.replication.throttled.replicas", "0:1", 3 };
    cr_assert_eq(ialter(RES_TOPIC, "t", &app, 1, false), KERR_NONE);
    cr_assert_eq(ialter(RES_TOPIC, "t", &app, 1, false), KERR_NONE); /* no duplicates */
    struct topic *t = topics_find(&topics, kstr_c("t"));
    cr_assert_str_eq(topic_config_value(t, "leader.replication.throttled.replicas"), "0:1,1:1");
    cr_assert_eq(ialter(RES_TOPIC, "t", &sub, 1, false), KERR_NONE);
    cr_assert_str_eq(topic_config_value(t, "leader.replication.throttled.replicas"), "1:1");
}

Test(admin, broker_dynamic_layers)
{
    struct op ro = { "broker.id", "7", 0 };
    struct op unknown = { "no.such.key", "1", 0 };
    struct op bad = { "log.retention.bytes", "lots", 0 };
    struct op dflt = { "log.retention.ms", "7200000", 0 };
    struct op mine = { "log.retention.ms", "3600000", 0 };
    cr_assert_eq(ialter(RES_BROKER, "1", &ro, 1, false), KERR_INVALID_CONFIG);
    cr_assert_eq(ialter(RES_BROKER, "1", &unknown, 1, false), KERR_INVALID_CONFIG);
    cr_assert_eq(ialter(RES_BROKER, "1", &bad, 1, false), KERR_INVALID_CONFIG);
    cr_assert_eq(ialter(RES_BROKER, "2", &dflt, 1, false), KERR_INVALID_REQUEST);
    cr_assert_eq(ialter(RES_BROKER, "", &dflt, 1, false), KERR_NONE);
    cr_assert_eq(cfg.log_retention_ms, 7200000);
    cr_assert_eq(topics_find(&topics, kstr_c("t"))->lcfg.retention_ms, 7200000);
    cr_assert_eq(ialter(RES_BROKER, "1", &mine, 1, false), KERR_NONE);
    cr_assert_eq(cfg.log_retention_ms, 3600000); /* per-broker wins over the default */

    char v[64];
    int8_t src;
    int nsyn;
    cr_assert(describe(RES_BROKER, "1", "log.retention.ms", v, sizeof v, &src, &nsyn));
    cr_assert_str_eq(v, "3600000");
    cr_assert_eq(src, SRC_DYNAMIC_BROKER);
    cr_assert_eq(nsyn, 4); /* broker, default, static hours, default hours */
    cr_assert(describe(RES_BROKER, "", "log.retention.ms", v, sizeof v, &src, &nsyn));
    cr_assert_str_eq(v, "7200000");
    cr_assert_eq(src, SRC_DYNAMIC_DEFAULT_BROKER);
    cr_assert(!describe(RES_BROKER, "", "log.retention.bytes", v, sizeof v, &src, &nsyn));
    cr_assert(describe(RES_TOPIC, "t", "retention.ms", v, sizeof v, &src, &nsyn));
    cr_assert_str_eq(v, "3600000");
    cr_assert_eq(src, SRC_DYNAMIC_BROKER);

    /* Both layers survive a restart. */
    stop();
    start();
    cr_assert_eq(cfg.log_retention_ms, 3600000);
    struct op del = { "log.retention.ms", NULL, 1 };
    cr_assert_eq(ialter(RES_BROKER, "1", &del, 1, false), KERR_NONE);
    cr_assert_eq(cfg.log_retention_ms, 7200000);
    cr_assert_eq(ialter(RES_BROKER, "", &del, 1, false), KERR_NONE);
    cr_assert_eq(cfg.log_retention_ms, 100 * 3600000LL);
    cr_assert(describe(RES_TOPIC, "t", "retention.ms", v, sizeof v, &src, &nsyn));
    cr_assert_str_eq(v, "360000000");
    cr_assert_eq(src, SRC_DEFAULT);
}

/* One source of truth: every broker key the topic table names exists in
 * the broker table, and every dynamic key is a known key. */
Test(admin, tables_agree)
{
    for (size_t i = 0; i < topic_config_ndefs(); i++) {
        const struct topic_config_def *td = topic_config_def_at(i);
        cr_assert(td->synonyms || td->dflt, "%s has neither synonym nor default", td->name);
        for (const char *p = td->synonyms; p && *p;) {
            size_t len = strcspn(p, ",:");
            char key[80];
            snprintf(key, sizeof key, "%.*s", (int)len, p);
            cr_assert_not_null(broker_config_find(key), "%s: broker key %s unknown", td->name, key);
            p += strcspn(p, ",");
            p += *p == ',';
        }
    }
    for (size_t i = 0; i < broker_config_nkeys(); i++) {
        const struct config_key *k = broker_config_key(i);
        (void)broker_config_dynamic(k->name);
    }
    cr_assert(broker_config_dynamic("log.retention.ms"));
    cr_assert(!broker_config_dynamic("broker.id"));
    cr_assert_not_null(broker_config_find("inter.broker.protocol.version"));
}
