/*
 * kafka_ops.c — the console's API calls on the Kafka protocol, with the
 * tools' blocking client (cli/client.h). Each runs in a forked child (see
 * console.h): failures inside the client end the child with "Error: ..."
 * and the console answers 502 with that message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "kafka_errors.h"
#include "record_batch.h"
#include "tools.h"

#define MAX_LIMIT 1000
#define SCAN_BACK 200000   /* records a filtered newest-first read looks back */

static json_t *error_json(int *status, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *error_json(int *status, int code, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *status = code;
    return json_pack("{s:s}", "error", buf);
}

/* A Kafka error with the broker's message when it gave one. */
static json_t *kafka_error(int *status, int16_t code, struct kstr msg)
{
    int http = code == KERR_TOPIC_ALREADY_EXISTS ? 409
             : code == KERR_UNKNOWN_TOPIC_OR_PARTITION ? 404 : 400;
    if (msg.len > 0)
        return error_json(status, http, "%s: %.*s", kerr_name(code), (int)msg.len, msg.p);
    return error_json(status, http, "%s: %s", kerr_name(code), kerr_message(code));
}

/* A JSON string of Kafka bytes: the text when it is UTF-8, else null and
 * base64 in `<field>_base64` (the page shows which). */
static void put_bytes(json_t *o, const char *field, const uint8_t *p, int32_t len)
{
    if (len < 0) {
        json_object_set_new(o, field, json_null());
        return;
    }
    json_t *s = json_stringn((const char *)p, (size_t)len);
    if (s) {
        json_object_set_new(o, field, s);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (size_t)len, o_len = (n + 2) / 3 * 4;
    char *out = malloc(o_len + 1);
    if (!out)
        cli_die("out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[k++] = b64[v >> 18 & 63];
        out[k++] = b64[v >> 12 & 63];
        out[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[k] = 0;
    char name[64];
    snprintf(name, sizeof name, "%s_base64", field);
    json_object_set_new(o, field, json_null());
    json_object_set_new(o, name, json_string(out));
    free(out);
}

static json_t *kstr_json(struct kstr s)
{
    if (s.len < 0)
        return json_null();
    json_t *j = json_stringn(s.p, (size_t)s.len);
    return j ? j : json_string("?");
}

/* ------------------------------------------------------------ cluster */

/* Broker configs `listeners` and `advertised.listeners` (DescribeConfigs),
 * or nothing when the broker does not answer them. */
static void broker_listeners(struct kclient *kc, int32_t id, json_t *b)
{
    int16_t v = kc_version(kc->boot, KP_API_DESCRIBE_CONFIGS, 4);
    if (v < 0)
        return;
    struct karena a;
    karena_init(&a);
    char idstr[16];
    snprintf(idstr, sizeof idstr, "%d", (int)id);
    struct kstr keys[2] = { kstr_c("listeners"), kstr_c("advertised.listeners") };
    struct kp_describe_configs_req rq;
    kp_describe_configs_req_init(&rq);
    rq.resources_n = 1;
    rq.resources = karena_calloc(&a, 1, sizeof *rq.resources);
    rq.resources[0].resource_type = 4;   /* BROKER */
    rq.resources[0].resource_name = kstr_c(idstr);
    rq.resources[0].configuration_keys_n = 2;
    rq.resources[0].configuration_keys = keys;
    struct kp_describe_configs_resp rs;
    kc_call(kc_node(kc, id), KP_API_DESCRIBE_CONFIGS, v, &rq, &rs, &a);
    for (int32_t i = 0; i < rs.results_n; i++) {
        if (rs.results[i].error_code != KERR_NONE)
            continue;
        for (int32_t j = 0; j < rs.results[i].configs_n; j++) {
            const struct kp_describe_configs_resp_results_configs *c = &rs.results[i].configs[j];
            if (c->value.len < 0 || c->is_sensitive)
                continue;
            char *name = kstr_dup(c->name);
            if (name)
                json_object_set_new(b, name, kstr_json(c->value));
            free(name);
        }
    }
    karena_free(&a);
}

json_t *op_cluster(struct kclient *kc, const struct op_req *r, int *status)
{
    struct karena a;
    karena_init(&a);
    struct kp_metadata_resp m;
    int16_t mver;
    kc_metadata(kc, kc->boot, NULL, -1, false, &a, &m, &mver);
    json_t *out = json_object();
    json_object_set_new(out, "cluster_id", kstr_json(m.cluster_id));
    json_object_set_new(out, "controller_id", json_integer(m.controller_id));
    int ntopics = 0, ninternal = 0, nparts = 0;
    for (int32_t i = 0; i < m.topics_n; i++) {
        if (m.topics[i].is_internal)
            ninternal++;
        else
            ntopics++;
        nparts += m.topics[i].partitions_n > 0 ? m.topics[i].partitions_n : 0;
    }
    json_object_set_new(out, "topics", json_integer(ntopics));
    json_object_set_new(out, "internal_topics", json_integer(ninternal));
    json_object_set_new(out, "partitions", json_integer(nparts));
    json_t *brokers = json_array();
    int nb = m.brokers_n > 0 ? m.brokers_n : 0;
    int32_t *ids = calloc((size_t)nb + 1, sizeof *ids);
    if (!ids)
        cli_die("out of memory");
    for (int i = 0; i < nb; i++) {
        const struct kp_metadata_resp_brokers *b = &m.brokers[i];
        ids[i] = b->node_id;
        json_t *jb = json_pack("{s:i, s:o, s:i, s:o, s:b}", "id", (int)b->node_id,
                               "host", kstr_json(b->host), "port", (int)b->port,
                               "rack", kstr_json(b->rack),
                               "controller", b->node_id == m.controller_id);
        json_array_append_new(brokers, jb);
    }
    karena_free(&a);   /* m is not used after this */
    for (int i = 0; i < nb; i++)
        broker_listeners(kc, ids[i], json_array_get(brokers, (size_t)i));
    free(ids);
    json_object_set_new(out, "brokers", brokers);
    /* The protocol the bootstrap broker speaks: ApiVersions as received. */
    json_t *apis = json_array();
    const struct kconn *c = kc->boot;
    for (int32_t i = 0; i < c->napis; i++) {
        const struct kp_api_info *info = kp_api_find(c->apis[i].api_key);
        json_array_append_new(apis, json_pack("{s:i, s:s, s:i, s:i}", "key", c->apis[i].api_key,
                                              "name", info ? info->name : "?",
                                              "min", c->apis[i].min_version,
                                              "max", c->apis[i].max_version));
    }
    json_object_set_new(out, "api_versions", apis);
    json_object_set_new(out, "bootstrap", json_string(c->addr));
    json_object_set_new(out, "metadata_version", json_integer(mver));
    return out;
}

/* ------------------------------------------------------------ topics */

/* partition sizes by topic from DescribeLogDirs on every broker; -1 when
 * no broker answers it. */
static json_t *log_dir_sizes(struct kclient *kc)
{
    json_t *sizes = json_object();
    bool any = false;
    int nn = kc->nnodes;
    int32_t *ids = calloc((size_t)nn + 1, sizeof *ids);
    if (!ids)
        cli_die("out of memory");
    for (int i = 0; i < nn; i++)
        ids[i] = kc->nodes[i].id;
    for (int i = 0; i < nn; i++) {
        struct kconn *c = kc_node(kc, ids[i]);
        int16_t v = kc_version(c, KP_API_DESCRIBE_LOG_DIRS, 4);
        if (v < 1)   /* v0 sizes are not reliable in old brokers */
            continue;
        struct karena a;
        karena_init(&a);
        struct kp_describe_log_dirs_req rq;
        kp_describe_log_dirs_req_init(&rq);
        rq.topics_n = -1;
        struct kp_describe_log_dirs_resp rs;
        kc_call(c, KP_API_DESCRIBE_LOG_DIRS, v, &rq, &rs, &a);
        for (int32_t d = 0; d < rs.results_n; d++) {
            if (rs.results[d].error_code != KERR_NONE)
                continue;
            any = true;
            for (int32_t t = 0; t < rs.results[d].topics_n; t++) {
                const struct kp_describe_log_dirs_resp_results_topics *tt = &rs.results[d].topics[t];
                char *name = kstr_dup(tt->name);
                if (!name)
                    cli_die("out of memory");
                int64_t sum = json_integer_value(json_object_get(sizes, name));
                for (int32_t p = 0; p < tt->partitions_n; p++)
                    if (!tt->partitions[p].is_future_key)
                        sum += tt->partitions[p].partition_size;
                json_object_set_new(sizes, name, json_integer(sum));
                free(name);
            }
        }
        karena_free(&a);
    }
    free(ids);
    if (!any) {
        json_decref(sizes);
        return NULL;
    }
    return sizes;
}

json_t *op_topics(struct kclient *kc, const struct op_req *r, int *status)
{
    /* Replication factors from a metadata answer of our own (topic_meta
     * keeps leaders only). */
    struct karena a;
    karena_init(&a);
    struct kp_metadata_resp m;
    kc_metadata(kc, kc->boot, NULL, -1, false, &a, &m, NULL);
    json_t *rf = json_object();
    for (int32_t i = 0; i < m.topics_n; i++) {
        char *name = kstr_dup(m.topics[i].name);
        if (!name)
            cli_die("out of memory");
        int32_t n = m.topics[i].partitions_n > 0 ? m.topics[i].partitions[0].replica_nodes_n : 0;
        json_object_set_new(rf, name, json_integer(n));
        free(name);
    }
    karena_free(&a);

    struct topic_meta *t;
    int nt = topic_meta_load(kc, NULL, -1, &t);
    json_t *sizes = log_dir_sizes(kc);
    json_t *list = json_array();
    for (int i = 0; i < nt; i++) {
        json_t *o = json_pack("{s:s, s:b, s:i, s:O}", "name", t[i].name, "internal", t[i].internal,
                              "partitions", t[i].npart, "replication_factor",
                              json_object_get(rf, t[i].name) ? json_object_get(rf, t[i].name)
                                                             : json_null());
        if (t[i].error != KERR_NONE) {
            json_object_set_new(o, "error", json_string(kerr_name(t[i].error)));
        } else {
            int64_t *lo = calloc((size_t)t[i].npart + 1, sizeof *lo);
            int64_t *hi = calloc((size_t)t[i].npart + 1, sizeof *hi);
            if (!lo || !hi)
                cli_die("out of memory");
            list_offsets(kc, &t[i], -2, lo);
            list_offsets(kc, &t[i], -1, hi);
            int64_t msgs = 0;
            bool known = true;
            for (int p = 0; p < t[i].npart; p++) {
                if (lo[p] < 0 || hi[p] < 0)
                    known = false;
                else
                    msgs += hi[p] - lo[p];
            }
            json_object_set_new(o, "messages", known ? json_integer(msgs) : json_null());
            free(lo);
            free(hi);
        }
        json_t *sz = sizes ? json_object_get(sizes, t[i].name) : NULL;
        json_object_set_new(o, "size", sz ? json_copy(sz) : (sizes ? json_integer(0) : json_null()));
        json_array_append_new(list, o);
    }
    topic_meta_free(t, nt);
    json_decref(sizes);
    json_decref(rf);
    return json_pack("{s:o}", "topics", list);
}

json_t *op_topic_create(struct kclient *kc, const struct op_req *r, int *status)
{
    const char *name = json_string_value(json_object_get(r->body, "name"));
    if (!name || !*name)
        return error_json(status, 400, "a topic name is required");
    json_t *jp = json_object_get(r->body, "partitions");
    json_t *jr = json_object_get(r->body, "replication_factor");
    json_t *cfg = json_object_get(r->body, "configs");
    if ((jp && !json_is_null(jp) && !json_is_integer(jp)) ||
        (jr && !json_is_null(jr) && !json_is_integer(jr)) || (cfg && !json_is_object(cfg)))
        return error_json(status, 400, "partitions and replication_factor must be numbers, "
                                       "configs an object");
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(kc->boot, KP_API_CREATE_TOPICS, 7);
    struct kp_create_topics_req rq;
    kp_create_topics_req_init(&rq);
    rq.timeout_ms = kc->timeout_ms;
    rq.topics_n = 1;
    rq.topics = karena_calloc(&a, 1, sizeof *rq.topics);
    struct kp_create_topics_req_topics *t = &rq.topics[0];
    t->name = kstr_c(name);
    /* -1: the broker's num.partitions / default.replication.factor (v4+). */
    t->num_partitions = json_is_integer(jp) ? (int32_t)json_integer_value(jp) : -1;
    t->replication_factor = json_is_integer(jr) ? (int16_t)json_integer_value(jr) : -1;
    if (v < 4 && (t->num_partitions < 0 || t->replication_factor < 0))
        return error_json(status, 400, "this broker needs partitions and replication_factor");
    t->assignments_n = 0;
    size_t nc = cfg ? json_object_size(cfg) : 0;
    t->configs_n = (int32_t)nc;
    t->configs = karena_calloc(&a, nc + 1, sizeof *t->configs);
    const char *k;
    json_t *val;
    size_t i = 0;
    if (cfg)
        json_object_foreach(cfg, k, val) {
            if (!json_is_string(val))
                return error_json(status, 400, "config %s: the value must be a string", k);
            t->configs[i].name = kstr_c(k);
            t->configs[i].value = kstr_c(json_string_value(val));
            i++;
        }
    struct kp_create_topics_resp rs;
    kc_call(kc->boot, KP_API_CREATE_TOPICS, v, &rq, &rs, &a);
    json_t *out;
    if (rs.topics_n < 1)
        out = error_json(status, 502, "empty CreateTopics response");
    else if (rs.topics[0].error_code != KERR_NONE)
        out = kafka_error(status, rs.topics[0].error_code, rs.topics[0].error_message);
    else
        out = json_pack("{s:s}", "created", name);
    karena_free(&a);
    return out;
}

json_t *op_topic_delete(struct kclient *kc, const struct op_req *r, int *status)
{
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(kc->boot, KP_API_DELETE_TOPICS, 5);
    struct kp_delete_topics_req rq;
    kp_delete_topics_req_init(&rq);
    rq.timeout_ms = kc->timeout_ms;
    struct kstr name = kstr_c(r->topic);
    rq.topic_names_n = 1;
    rq.topic_names = &name;
    struct kp_delete_topics_resp rs;
    kc_call(kc->boot, KP_API_DELETE_TOPICS, v, &rq, &rs, &a);
    json_t *out;
    if (rs.responses_n < 1)
        out = error_json(status, 502, "empty DeleteTopics response");
    else if (rs.responses[0].error_code != KERR_NONE)
        out = kafka_error(status, rs.responses[0].error_code, rs.responses[0].error_message);
    else
        out = json_pack("{s:s}", "deleted", r->topic);
    karena_free(&a);
    return out;
}

/* ------------------------------------------------------------ messages */

struct collect {
    json_t *list;
    int32_t partition;
    int64_t from, to;       /* offsets [from, to) */
    int64_t next;           /* next offset to fetch */
    int64_t limit;
    int64_t taken;
    const char *filter;
};

static bool contains(const uint8_t *p, int32_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return true;
    if (len < 0 || (size_t)len < n)
        return false;
    for (size_t i = 0; i + n <= (size_t)len; i++)
        if (memcmp(p + i, needle, n) == 0)
            return true;
    return false;
}

static int on_record(const struct rb_record *rec, void *arg)
{
    struct collect *c = arg;
    if (rec->offset < c->next)
        return 0;
    if (rec->offset >= c->to)
        return 1;
    c->next = rec->offset + 1;
    bool match = !c->filter || contains(rec->key.p, rec->key.len, c->filter) ||
                 contains(rec->value.p, rec->value.len, c->filter);
    json_t *hdrs = json_array();
    struct rb_hdr_iter it;
    rb_hdr_iter_init(&it, rec);
    struct kstr hk;
    struct kbytes hv;
    while (rb_hdr_next(&it, &hk, &hv)) {
        json_t *h = json_object();
        json_object_set_new(h, "key", kstr_json(hk));
        put_bytes(h, "value", hv.p, hv.len);
        json_array_append_new(hdrs, h);
        if (c->filter && !match)
            match = contains(hv.p, hv.len, c->filter);
    }
    if (!match) {
        json_decref(hdrs);
        return 0;
    }
    json_t *o = json_pack("{s:i, s:I, s:I}", "partition", (int)c->partition,
                          "offset", (json_int_t)rec->offset, "timestamp", (json_int_t)rec->timestamp);
    put_bytes(o, "key", rec->key.p, rec->key.len);
    put_bytes(o, "value", rec->value.p, rec->value.len);
    json_object_set_new(o, "headers", hdrs);
    json_array_append_new(c->list, o);
    c->taken++;
    return c->taken >= c->limit ? 1 : 0;
}

/* Fetch [c->from, c->to) of one partition from its leader. */
static void read_partition(struct kclient *kc, const char *topic, int32_t leader, struct collect *c)
{
    struct kconn *conn = kc_node(kc, leader);
    int16_t v = kc_need(conn, KP_API_FETCH, 11);
    if (v < 4)
        cli_die("the broker at %s only speaks Fetch below v4 (message format v2 needs v4+)",
                conn->addr);
    c->next = c->from;
    for (int round = 0; round < 64 && c->next < c->to && c->taken < c->limit; round++) {
        struct karena a;
        karena_init(&a);
        struct kp_fetch_req rq;
        kp_fetch_req_init(&rq);
        rq.replica_id = -1;
        rq.max_wait_ms = 0;
        rq.min_bytes = 0;
        rq.max_bytes = 8 << 20;
        rq.topics_n = 1;
        rq.topics = karena_calloc(&a, 1, sizeof *rq.topics);
        rq.topics[0].topic = kstr_c(topic);
        rq.topics[0].partitions_n = 1;
        rq.topics[0].partitions = karena_calloc(&a, 1, sizeof *rq.topics[0].partitions);
        kp_fetch_req_topics_partitions_init(&rq.topics[0].partitions[0]);
        rq.topics[0].partitions[0].partition = c->partition;
        rq.topics[0].partitions[0].fetch_offset = c->next;
        rq.topics[0].partitions[0].partition_max_bytes = 4 << 20;
        struct kp_fetch_resp rs;
        kc_call(conn, KP_API_FETCH, v, &rq, &rs, &a);
        int64_t before = c->next;
        for (int32_t i = 0; i < rs.responses_n; i++)
            for (int32_t j = 0; j < rs.responses[i].partitions_n; j++) {
                const struct kp_fetch_resp_responses_partitions *p = &rs.responses[i].partitions[j];
                if (p->partition_index != c->partition)
                    continue;
                if (p->error_code != KERR_NONE)
                    cli_die("Fetch %s-%d at offset %lld: %s", topic, (int)c->partition,
                            (long long)c->next, kerr_name(p->error_code));
                struct rb_iter bi;
                rb_iter_init(&bi, p->records.p, p->records.len > 0 ? (size_t)p->records.len : 0);
                const uint8_t *batch;
                size_t n;
                while (rb_iter_next(&bi, &batch, &n) && c->taken < c->limit && c->next < c->to) {
                    struct rb_header h;
                    if (rb_parse_header(batch, n, &h) != KERR_NONE)
                        continue;
                    int64_t last = h.base_offset + h.last_offset_delta;
                    if (h.attributes & RB_ATTR_CONTROL) {
                        if (last >= c->next)
                            c->next = last + 1;
                        continue;
                    }
                    if (rb_records_foreach(batch, n, on_record, c) > 0 && c->taken >= c->limit)
                        break;
                    if (last >= c->next)   /* compacted gaps */
                        c->next = last + 1;
                }
            }
        karena_free(&a);
        if (c->next == before)   /* nothing more to read (e.g. a gap at the end) */
            break;
    }
}

static int cmp_newest(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    json_int_t ta = json_integer_value(json_object_get(a, "timestamp"));
    json_int_t tb = json_integer_value(json_object_get(b, "timestamp"));
    if (ta != tb)
        return ta > tb ? -1 : 1;
    json_int_t oa = json_integer_value(json_object_get(a, "offset"));
    json_int_t ob = json_integer_value(json_object_get(b, "offset"));
    if (oa != ob)
        return oa > ob ? -1 : 1;
    return (int)(json_integer_value(json_object_get(a, "partition")) -
                 json_integer_value(json_object_get(b, "partition")));
}

/* GET /api/topics/{t}/messages?partition=&offset=&limit=&filter=
 * Without offset: the newest `limit` records of each partition, newest
 * first. With offset: `limit` records from that offset on, oldest first. */
json_t *op_messages(struct kclient *kc, const struct op_req *r, int *status)
{
    int64_t limit = r->q_limit ? strtoll(r->q_limit, NULL, 10) : 100;
    if (limit <= 0 || limit > MAX_LIMIT)
        limit = limit <= 0 ? 100 : MAX_LIMIT;
    int32_t only = r->q_partition && *r->q_partition ? (int32_t)strtol(r->q_partition, NULL, 10) : -1;
    bool from_offset = r->q_offset && *r->q_offset;
    int64_t offset = from_offset ? strtoll(r->q_offset, NULL, 10) : 0;
    const char *filter = r->q_filter && *r->q_filter ? r->q_filter : NULL;
    struct topic_meta *t;
    const char *name = r->topic;
    int nt = topic_meta_load(kc, &name, 1, &t);
    if (nt != 1 || t[0].error != KERR_NONE) {
        int16_t e = nt == 1 ? t[0].error : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        topic_meta_free(t, nt);
        return kafka_error(status, e, (struct kstr){ NULL, -1 });
    }
    if (only >= t[0].npart) {
        topic_meta_free(t, nt);
        return error_json(status, 404, "topic %s has no partition %d", name, (int)only);
    }
    int64_t *lo = calloc((size_t)t[0].npart + 1, sizeof *lo);
    int64_t *hi = calloc((size_t)t[0].npart + 1, sizeof *hi);
    if (!lo || !hi)
        cli_die("out of memory");
    list_offsets(kc, &t[0], -2, lo);
    list_offsets(kc, &t[0], -1, hi);
    json_t *msgs = json_array(), *parts = json_array();
    for (int32_t p = 0; p < t[0].npart; p++) {
        json_array_append_new(parts, json_pack("{s:i, s:I, s:I}", "partition", (int)p,
                                               "earliest", (json_int_t)lo[p],
                                               "latest", (json_int_t)hi[p]));
        if ((only >= 0 && p != only) || lo[p] < 0 || hi[p] <= lo[p] || t[0].leader[p] < 0)
            continue;
        struct collect c = { .list = msgs, .partition = p, .to = hi[p], .limit = limit,
                             .filter = filter };
        if (from_offset) {
            c.from = offset > lo[p] ? offset : lo[p];
        } else {
            /* Newest first: read back from the end in growing windows until
             * `limit` records (that match the filter) are found. */
            json_t *window = json_array();
            int64_t end = hi[p], span = limit;
            while (end > lo[p]) {
                int64_t from = end - span > lo[p] ? end - span : lo[p];
                struct collect w = { .list = json_array(), .partition = p, .from = from, .to = end,
                                     .limit = MAX_LIMIT * 100, .filter = filter };
                read_partition(kc, name, t[0].leader[p], &w);
                /* Keep the newest: w.list is in offset order. */
                json_t *merged = json_array();
                json_array_extend(merged, w.list);
                json_array_extend(merged, window);
                json_decref(window);
                json_decref(w.list);
                window = merged;
                /* With a filter, look back at most SCAN_BACK records. */
                if ((int64_t)json_array_size(window) >= limit || !filter || hi[p] - from >= SCAN_BACK)
                    break;
                end = from;
                span *= 4;
            }
            size_t n = json_array_size(window);
            for (size_t i = n > (size_t)limit ? n - (size_t)limit : 0; i < n; i++)
                json_array_append(msgs, json_array_get(window, i));
            json_decref(window);
            continue;
        }
        if (c.from < c.to)
            read_partition(kc, name, t[0].leader[p], &c);
    }
    if (!from_offset) {
        size_t n = json_array_size(msgs);
        json_t **v = calloc(n + 1, sizeof *v);
        if (!v)
            cli_die("out of memory");
        for (size_t i = 0; i < n; i++)
            v[i] = json_incref(json_array_get(msgs, i));
        qsort(v, n, sizeof *v, cmp_newest);
        json_array_clear(msgs);
        for (size_t i = 0; i < n && (int64_t)i < limit; i++)
            json_array_append(msgs, v[i]);
        for (size_t i = 0; i < n; i++)
            json_decref(v[i]);
        free(v);
    }
    free(lo);
    free(hi);
    topic_meta_free(t, nt);
    return json_pack("{s:s, s:o, s:o}", "topic", name, "partitions", parts, "messages", msgs);
}

/* ------------------------------------------------------------ produce */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool opt_string(json_t *body, const char *field, const char **out)
{
    json_t *j = json_object_get(body, field);
    *out = NULL;
    if (!j || json_is_null(j))
        return true;
    if (!json_is_string(j))
        return false;
    *out = json_string_value(j);
    return true;
}

/* POST /api/topics/{t}/messages {partition?, key?, value?, headers?: [{key, value}]} */
json_t *op_produce(struct kclient *kc, const struct op_req *r, int *status)
{
    const char *key, *value;
    if (!r->body)
        return error_json(status, 400, "a JSON body with the record is required");
    if (!opt_string(r->body, "key", &key) || !opt_string(r->body, "value", &value))
        return error_json(status, 400, "key and value must be strings or null");
    json_t *jp = json_object_get(r->body, "partition");
    json_t *jh = json_object_get(r->body, "headers");
    if ((jp && !json_is_null(jp) && !json_is_integer(jp)) || (jh && !json_is_array(jh)))
        return error_json(status, 400, "partition must be a number, headers a list");
    size_t nh = jh ? json_array_size(jh) : 0;
    struct rb_hdr *hdrs = calloc(nh + 1, sizeof *hdrs);
    if (!hdrs)
        cli_die("out of memory");
    for (size_t i = 0; i < nh; i++) {
        json_t *h = json_array_get(jh, i);
        const char *hk = json_string_value(json_object_get(h, "key")), *hv;
        if (!json_is_object(h) || !hk || !opt_string(h, "value", &hv)) {
            free(hdrs);
            return error_json(status, 400, "each header needs a string key and a string value");
        }
        hdrs[i].key = kstr_c(hk);
        hdrs[i].value = hv ? (struct kbytes){ (const uint8_t *)hv, (int32_t)strlen(hv) }
                           : (struct kbytes){ NULL, -1 };
    }
    struct topic_meta *t;
    const char *name = r->topic;
    int nt = topic_meta_load(kc, &name, 1, &t);
    if (nt != 1 || t[0].error != KERR_NONE || t[0].npart < 1) {
        int16_t e = nt == 1 && t[0].error ? t[0].error : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        topic_meta_free(t, nt);
        free(hdrs);
        return kafka_error(status, e, (struct kstr){ NULL, -1 });
    }
    int32_t part;
    if (json_is_integer(jp) && json_integer_value(jp) >= 0) {
        part = (int32_t)json_integer_value(jp);
        if (part >= t[0].npart) {
            topic_meta_free(t, nt);
            free(hdrs);
            return error_json(status, 400, "topic %s has %d partitions", name, t[0].npart);
        }
    } else if (key) {
        part = (int32_t)((uint32_t)kafka_murmur2((const uint8_t *)key, strlen(key)) & 0x7fffffff) %
               t[0].npart;
    } else {
        part = (int32_t)(wall_ms() % t[0].npart);
    }
    if (t[0].leader[part] < 0) {
        topic_meta_free(t, nt);
        free(hdrs);
        return kafka_error(status, KERR_LEADER_NOT_AVAILABLE, (struct kstr){ NULL, -1 });
    }
    struct kconn *c = kc_node(kc, t[0].leader[part]);
    int16_t v = kc_need(c, KP_API_PRODUCE, 9);
    if (v < 3)
        cli_die("the broker at %s only speaks Produce below v3", c->addr);
    struct kw w;
    kw_init(&w, NULL);
    struct rb_builder b;
    int64_t now = wall_ms();
    rb_builder_init(&b, &w, 0, now, 0, -1, -1, -1);
    rb_builder_add(&b, now,
                   key ? (struct kbytes){ (const uint8_t *)key, (int32_t)strlen(key) }
                       : (struct kbytes){ NULL, -1 },
                   value ? (struct kbytes){ (const uint8_t *)value, (int32_t)strlen(value) }
                         : (struct kbytes){ NULL, -1 },
                   hdrs, (int32_t)nh);
    if (rb_builder_finish(&b) != 0)
        cli_die("out of memory");
    struct karena a;
    karena_init(&a);
    struct kp_produce_req rq;
    kp_produce_req_init(&rq);
    rq.acks = -1;
    rq.timeout_ms = kc->timeout_ms;
    rq.topic_data_n = 1;
    rq.topic_data = karena_calloc(&a, 1, sizeof *rq.topic_data);
    rq.topic_data[0].name = kstr_c(name);
    rq.topic_data[0].partition_data_n = 1;
    rq.topic_data[0].partition_data = karena_calloc(&a, 1, sizeof *rq.topic_data[0].partition_data);
    rq.topic_data[0].partition_data[0].index = part;
    rq.topic_data[0].partition_data[0].records = (struct krecords){ w.buf, (int32_t)w.len, NULL, 0, 0 };
    struct kp_produce_resp rs;
    kc_call(c, KP_API_PRODUCE, v, &rq, &rs, &a);
    json_t *out;
    if (rs.responses_n < 1 || rs.responses[0].partition_responses_n < 1) {
        out = error_json(status, 502, "empty Produce response");
    } else {
        const struct kp_produce_resp_responses_partition_responses *pr =
            &rs.responses[0].partition_responses[0];
        if (pr->error_code != KERR_NONE)
            out = kafka_error(status, pr->error_code, pr->error_message);
        else
            out = json_pack("{s:s, s:i, s:I}", "topic", name, "partition", (int)part,
                            "offset", (json_int_t)pr->base_offset);
    }
    karena_free(&a);
    kw_free(&w);
    topic_meta_free(t, nt);
    free(hdrs);
    return out;
}

/* ------------------------------------------------------------ groups */

static json_t *part_row(json_t *rows, const char *topic, int32_t p)
{
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o) {
        if (json_integer_value(json_object_get(o, "partition")) == p &&
            strcmp(json_string_value(json_object_get(o, "topic")), topic) == 0)
            return o;
    }
    o = json_pack("{s:s, s:i, s:n, s:n, s:n, s:n}", "topic", topic, "partition", (int)p,
                  "committed", "log_end", "lag", "member");
    json_array_append_new(rows, o);
    return o;
}

struct assign_ctx { json_t *rows, *assigned; const char *member; };

static void assigned_part(void *arg, struct kstr t, int32_t p)
{
    struct assign_ctx *x = arg;
    char *topic = kstr_dup(t);
    if (!topic)
        cli_die("out of memory");
    json_object_set_new(part_row(x->rows, topic, p), "member", json_string(x->member));
    json_array_append_new(x->assigned, json_pack("{s:s, s:i}", "topic", topic, "partition", (int)p));
    free(topic);
}

/* A member's ConsumerProtocolAssignment into the group's rows. */
static void read_assignment(json_t *rows, json_t *assigned, struct kbytes as, const char *member)
{
    struct assign_ctx x = { rows, assigned, member };
    (void)assignment_each(as, assigned_part, &x);   /* a malformed one: what it held */
}

/* One group: state, members with assignments, committed offsets and lag. */
static json_t *load_group(struct kclient *kc, const char *group)
{
    struct kconn *c = kc_coordinator(kc, group);
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c, KP_API_DESCRIBE_GROUPS, 5);
    struct kp_describe_groups_req rq;
    kp_describe_groups_req_init(&rq);
    struct kstr gname = kstr_c(group);
    rq.groups_n = 1;
    rq.groups = &gname;
    struct kp_describe_groups_resp rs;
    kc_call(c, KP_API_DESCRIBE_GROUPS, v, &rq, &rs, &a);
    if (rs.groups_n < 1)
        cli_die("empty DescribeGroups response");
    const struct kp_describe_groups_resp_groups *g = &rs.groups[0];
    if (g->error_code != KERR_NONE && g->error_code != KERR_GROUP_ID_NOT_FOUND)
        cli_die("DescribeGroups %s: %s", group, kerr_name(g->error_code));
    json_t *rows = json_array(), *members = json_array();
    json_t *out = json_pack("{s:s, s:o, s:o}", "group", group, "state",
                            g->error_code ? json_string("Dead") : kstr_json(g->group_state),
                            "protocol_type", kstr_json(g->protocol_type));
    for (int32_t i = 0; i < g->members_n; i++) {
        const struct kp_describe_groups_resp_groups_members *m = &g->members[i];
        json_t *assigned = json_array();
        json_t *jm = json_pack("{s:o, s:o, s:o, s:o}", "member_id", kstr_json(m->member_id),
                               "client_id", kstr_json(m->client_id), "host", kstr_json(m->client_host),
                               "instance_id", kstr_json(m->group_instance_id));
        if (g->protocol_type.len == 8 && memcmp(g->protocol_type.p, "consumer", 8) == 0)
            read_assignment(rows, assigned, m->member_assignment,
                            json_string_value(json_object_get(jm, "member_id")));
        json_object_set_new(jm, "assignment", assigned);
        json_array_append_new(members, jm);
    }
    karena_free(&a);
    json_object_set_new(out, "members", members);

    /* Committed offsets: v2-7 answer every partition of the group for
     * topics null. */
    karena_init(&a);
    v = kc_need(c, KP_API_OFFSET_FETCH, 7);
    struct kp_offset_fetch_req oq;
    kp_offset_fetch_req_init(&oq);
    oq.group_id = kstr_c(group);
    oq.topics_n = -1;
    struct kp_offset_fetch_resp os;
    kc_call(c, KP_API_OFFSET_FETCH, v, &oq, &os, &a);
    if (os.error_code != KERR_NONE)
        cli_die("OffsetFetch %s: %s", group, kerr_name(os.error_code));
    for (int32_t i = 0; i < os.topics_n; i++) {
        char *topic = kstr_dup(os.topics[i].name);
        if (!topic)
            cli_die("out of memory");
        for (int32_t j = 0; j < os.topics[i].partitions_n; j++) {
            const struct kp_offset_fetch_resp_topics_partitions *p = &os.topics[i].partitions[j];
            if (p->error_code == KERR_NONE && p->committed_offset >= 0)
                json_object_set_new(part_row(rows, topic, p->partition_index), "committed",
                                    json_integer(p->committed_offset));
        }
        free(topic);
    }
    karena_free(&a);

    /* Log end offsets, one ListOffsets per topic and leader. */
    json_int_t total = 0;
    bool any_lag = false;
    size_t i;
    json_t *row;
    json_t *done = json_object();
    json_array_foreach(rows, i, row) {
        const char *topic = json_string_value(json_object_get(row, "topic"));
        if (json_object_get(done, topic))
            continue;
        struct topic_meta *t;
        int nt = topic_meta_load(kc, &topic, 1, &t);
        json_t *leo = json_array();
        if (nt == 1 && t[0].error == KERR_NONE) {
            int64_t *hi = calloc((size_t)t[0].npart + 1, sizeof *hi);
            if (!hi)
                cli_die("out of memory");
            list_offsets(kc, &t[0], -1, hi);
            for (int p = 0; p < t[0].npart; p++)
                json_array_append_new(leo, json_integer(hi[p]));
            free(hi);
        }
        topic_meta_free(t, nt);
        json_object_set_new(done, topic, leo);
    }
    json_array_foreach(rows, i, row) {
        json_t *leo = json_object_get(done, json_string_value(json_object_get(row, "topic")));
        size_t p = (size_t)json_integer_value(json_object_get(row, "partition"));
        json_t *e = json_array_get(leo, p);
        if (e && json_integer_value(e) >= 0) {
            json_object_set(row, "log_end", e);
            json_t *cm = json_object_get(row, "committed");
            if (json_is_integer(cm)) {
                json_int_t lag = json_integer_value(e) - json_integer_value(cm);
                json_object_set_new(row, "lag", json_integer(lag));
                total += lag;
                any_lag = true;
            }
        }
    }
    json_decref(done);
    json_object_set_new(out, "offsets", rows);
    json_object_set_new(out, "lag", any_lag ? json_integer(total) : json_null());
    return out;
}

json_t *op_groups(struct kclient *kc, const struct op_req *r, int *status)
{
    /* ListGroups on every broker: each lists the groups it coordinates. */
    json_t *names = json_object();
    int nn = kc->nnodes;
    int32_t *ids = calloc((size_t)nn + 1, sizeof *ids);
    if (!ids)
        cli_die("out of memory");
    for (int i = 0; i < nn; i++)
        ids[i] = kc->nodes[i].id;
    for (int i = 0; i < nn; i++) {
        struct kconn *c = kc_node(kc, ids[i]);
        struct karena a;
        karena_init(&a);
        int16_t v = kc_need(c, KP_API_LIST_GROUPS, 4);
        struct kp_list_groups_req rq;
        kp_list_groups_req_init(&rq);
        rq.states_filter_n = 0;
        struct kp_list_groups_resp rs;
        kc_call(c, KP_API_LIST_GROUPS, v, &rq, &rs, &a);
        if (rs.error_code != KERR_NONE)
            cli_die("ListGroups on broker %d: %s", (int)ids[i], kerr_name(rs.error_code));
        for (int32_t g = 0; g < rs.groups_n; g++) {
            char *id = kstr_dup(rs.groups[g].group_id);
            if (!id)
                cli_die("out of memory");
            json_object_set_new(names, id, kstr_json(rs.groups[g].protocol_type));
            free(id);
        }
        karena_free(&a);
    }
    free(ids);
    json_t *list = json_array();
    const char *id;
    json_t *pt;
    json_object_foreach(names, id, pt) {
        json_t *g = load_group(kc, id);
        json_object_set_new(g, "member_count", json_integer((json_int_t)json_array_size(json_object_get(g, "members"))));
        json_object_del(g, "members");
        json_object_del(g, "offsets");
        json_array_append_new(list, g);
    }
    json_decref(names);
    return json_pack("{s:o}", "groups", list);
}

json_t *op_group(struct kclient *kc, const struct op_req *r, int *status)
{
    json_t *g = load_group(kc, r->group);
    if (strcmp(json_string_value(json_object_get(g, "state")), "Dead") == 0) {
        json_decref(g);
        return error_json(status, 404, "consumer group %s does not exist", r->group);
    }
    return g;
}
