/*
 * admin_configs.c — DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
 * and the dynamic broker config layers (see admin.h).
 *
 * What DescribeConfigs reports is derived, never listed by hand: broker
 * entries from the config table (config.c), topic entries from the topic
 * config table (topics.c), whose synonym lists also give the broker synonym
 * groups (log.retention.ms / .minutes / .hours). Sources, synonyms and
 * defaults follow Kafka's ConfigHelper (checked against Kafka 4.1): synonyms
 * are listed per layer (dynamic broker, dynamic default, static, default),
 * the first one is the entry's source, a broker entry drops synonyms more
 * precise than itself, and a topic entry lists its override, then its
 * primary broker synonym's chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz.h"
#include "admin.h"
#include "fileio.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "topics.h"
#include "zk.h"
#include "zk_jobs.h"

#define DYN_FILE "kavka-dynamic-broker-config.json"
#define MAX_SYN 8

/* Kafka's ConfigEntry.ConfigType ids (DescribeConfigs v3+). */
enum { CT_UNKNOWN = 0, CT_BOOLEAN = 1, CT_STRING = 2, CT_INT = 3, CT_LONG = 5, CT_DOUBLE = 6,
       CT_LIST = 7 };
/* IncrementalAlterConfigs operations. */
enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

static char *astr(struct karena *a, struct kstr s)
{
    if (s.len < 0)
        return NULL;
    char *p = karena_alloc(a, (size_t)s.len + 1);
    if (p) {
        memcpy(p, s.p, (size_t)s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Topics whose last metastore write had an unknown outcome (see the
 * metastore jobs below), read back once the session is back. */
static struct {
    struct broker *b;
    struct zk *listening;     /* the client our state listener is on */
    char **topics;            /* topics whose last write had an unknown outcome */
    int n;
    bool queued;
} cfg_dirty;

/* ---------------- props helpers ---------------- */

static int props_copy(struct props *dst, const struct props *src, const char *skip)
{
    for (size_t i = 0; i < src->n; i++)
        if ((!skip || strcmp(src->v[i].key, skip) != 0) &&
            props_set(dst, src->v[i].key, src->v[i].value) != 0)
            return -1;
    return 0;
}

static int props_del(struct props *p, const char *key)
{
    struct props n = { 0 };
    if (props_copy(&n, p, key) != 0) {
        props_free(&n);
        return -1;
    }
    props_free(p);
    *p = n;
    return 0;
}

/* ---------------- persistence (the seam the metastore replaces) ---------------- */

static void json_to_props(json_t *obj, struct props *p)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (json_is_string(v) && props_set(p, k, json_string_value(v)) != 0)
            return;
    }
}

static json_t *props_to_json(const struct props *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < p->n; i++)
        json_object_set_new(o, p->v[i].key, json_string(p->v[i].value));
    return o;
}

static int dynconfig_store_load(const char *dir, struct props *dflt, struct props *brk)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, DYN_FILE);
    if (access(path, F_OK) != 0)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        KLOG_ERROR("%s: %s (line %d)", path, jerr.text, jerr.line);
        return -1;
    }
    json_to_props(json_object_get(root, "default"), dflt);
    json_to_props(json_object_get(root, "broker"), brk);
    json_decref(root);
    return 0;
}

static int dynconfig_store_save(const char *dir, const struct props *dflt, const struct props *brk)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, DYN_FILE);
    json_t *root = json_pack("{s:i, s:o, s:o}", "version", 1, "default", props_to_json(dflt),
                             "broker", props_to_json(brk));
    int rc = root ? atomic_write_json(path, root, 0644) : -1;
    json_decref(root);
    if (rc != 0)
        KLOG_ERROR("cannot write %s: %s", path, strerror(errno));
    return rc;
}

/* ---------------- applying the layers ---------------- */

/* The configuration static + dflt + brk would give, loaded into *out. */
static int layered_load(const struct dynconfig *d, const struct props *dflt,
                        const struct props *brk, struct broker_config *out, char *err, size_t errlen)
{
    const struct props *layers[] = { &d->static_raw, dflt, brk };
    size_t n = d->static_raw.n + dflt->n + brk->n, k = 0;
    char **ov = calloc(n + 1, sizeof *ov);
    int rc = ov ? 0 : -1;
    for (int l = 0; rc == 0 && l < 3; l++)
        for (size_t i = 0; rc == 0 && i < layers[l]->n; i++)
            if (asprintf(&ov[k++], "%s=%s", layers[l]->v[i].key, layers[l]->v[i].value) < 0) {
                ov[--k] = NULL;
                rc = -1;
            }
    if (rc == 0)
        rc = broker_config_load(out, NULL, (int)k, ov, err, errlen);
    else
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; ov && i < k; i++)
        free(ov[i]);
    free(ov);
    return rc;
}

static size_t member_size(enum config_type t)
{
    switch (t) {
    case CONFIG_INT: return sizeof(int32_t);
    case CONFIG_LONG: return sizeof(int64_t);
    case CONFIG_BOOL: return sizeof(bool);
    case CONFIG_DOUBLE: return sizeof(double);
    case CONFIG_STRING: return sizeof(char *);
    case CONFIG_LIST: return sizeof(struct config_list);
    }
    return 0;
}

static void swap_bytes(void *a, void *b, size_t n)
{
    unsigned char t[sizeof(struct config_list) + sizeof(int64_t)];
    memcpy(t, a, n);
    memcpy(a, b, n);
    memcpy(b, t, n);
}

/* Move the dynamic keys' values (and the members Kafka derives from them)
 * from `fresh` into the live configuration; the old ones go to `fresh`,
 * which the caller frees. Only dynamic keys can differ between the two. */
static void adopt_dynamic(struct broker_config *live, struct broker_config *fresh)
{
    for (size_t i = 0; i < broker_config_nkeys(); i++) {
        const struct config_key *k = broker_config_key(i);
        if (k->offset != CONFIG_NO_FIELD && broker_config_dynamic(k->name))
            swap_bytes((char *)live + k->offset, (char *)fresh + k->offset, member_size(k->type));
    }
    swap_bytes(&live->log_retention_ms, &fresh->log_retention_ms, sizeof live->log_retention_ms);
    swap_bytes(&live->log_roll_ms, &fresh->log_roll_ms, sizeof live->log_roll_ms);
    swap_bytes(&live->log_flush_interval_ms, &fresh->log_flush_interval_ms,
               sizeof live->log_flush_interval_ms);
}

static int dyn_apply(struct broker *b, char *err, size_t errlen)
{
    struct broker_config fresh;
    if (layered_load(b->dyn, &b->dyn->dflt, &b->dyn->broker, &fresh, err, errlen) != 0)
        return -1;
    adopt_dynamic(b->cfg, &fresh);
    broker_config_free(&fresh);
    if (b->topics)
        topics_reconfigure(b->topics);
    return 0;
}

int dynconfig_open(struct broker *b)
{
    struct dynconfig *d = calloc(1, sizeof *d);
    if (!d || props_copy(&d->static_raw, &b->cfg->raw, NULL) != 0) {
        free(d);
        return -1;
    }
    b->dyn = d;
    if (dynconfig_store_load(b->cfg->log_dirs, &d->dflt, &d->broker) != 0)
        return -1;
    if (d->dflt.n == 0 && d->broker.n == 0)
        return 0;
    char err[512];
    if (dyn_apply(b, err, sizeof err) != 0) {
        KLOG_ERROR("dynamic broker configs in %s/%s: %s", b->cfg->log_dirs, DYN_FILE, err);
        return -1;
    }
    KLOG_INFO("applied %zu dynamic default and %zu per-broker config(s)", d->dflt.n, d->broker.n);
    return 0;
}

void dynconfig_close(struct broker *b)
{
    if (!b->dyn)
        return;
    props_free(&b->dyn->static_raw);
    props_free(&b->dyn->dflt);
    props_free(&b->dyn->broker);
    free(b->dyn);
    b->dyn = NULL;
    for (int i = 0; i < cfg_dirty.n; i++)
        free(cfg_dirty.topics[i]);
    free(cfg_dirty.topics);
    memset(&cfg_dirty, 0, sizeof cfg_dirty);
}

/* ---------------- synonyms and values ---------------- */

struct group {
    int n;
    char names[MAX_SYN][80];
    int64_t mult[MAX_SYN];
};

/* Parse a topic table synonym list ("a,b:60000,...") into a group. */
static void group_parse(const char *list, struct group *g)
{
    g->n = 0;
    for (const char *p = list; p && *p && g->n < MAX_SYN;) {
        size_t len = strcspn(p, ",");
        char item[80];
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        char *colon = strchr(item, ':');
        g->mult[g->n] = colon ? strtoll(colon + 1, NULL, 10) : 1;
        if (colon)
            *colon = '\0';
        snprintf(g->names[g->n++], sizeof g->names[0], "%s", item);
        p += len + (p[len] == ',');
    }
}

/* Kafka's brokerConfigSynonyms: the keys that set the same thing, most
 * precise first. Taken from the topic table; a key outside it stands alone. */
static void broker_group(const char *key, struct group *g)
{
    for (size_t i = 0; i < topic_config_ndefs(); i++) {
        const struct topic_config_def *td = topic_config_def_at(i);
        if (!td->synonyms)
            continue;
        group_parse(td->synonyms, g);
        for (int k = 0; k < g->n; k++)
            if (strcmp(g->names[k], key) == 0 && g->n > 1)
                return;
    }
    g->n = 1;
    g->mult[0] = 1;
    snprintf(g->names[0], sizeof g->names[0], "%s", key);
}

struct syn {
    const char *name;
    const char *value;
    int8_t source;
};

static const char *layer_get(const struct dynconfig *d, int8_t src, const char *name)
{
    const struct config_key *k;
    switch (src) {
    case SRC_DYNAMIC_BROKER: return props_get(&d->broker, name);
    case SRC_DYNAMIC_DEFAULT_BROKER: return props_get(&d->dflt, name);
    case SRC_STATIC_BROKER: return props_get(&d->static_raw, name);
    default: return (k = broker_config_find(name)) ? k->dflt : NULL;
    }
}

/* The broker's current value of a key: the first layer that sets it. */
static const char *broker_value(const struct dynconfig *d, const char *name)
{
    for (int8_t src = SRC_DYNAMIC_BROKER; src <= SRC_DEFAULT; src++) {
        const char *v = layer_get(d, src, name);
        if (v)
            return v;
    }
    return NULL;
}

/* Kafka's configSynonyms: per layer, every name of the group that is set. */
static int collect(const struct dynconfig *d, const struct group *g, bool per_broker,
                   struct syn *out, int max)
{
    int n = 0;
    for (int8_t src = SRC_DYNAMIC_BROKER; src <= SRC_DEFAULT; src++) {
        if (!per_broker && src != SRC_DYNAMIC_DEFAULT_BROKER)
            continue;
        for (int i = 0; i < g->n && n < max; i++) {
            const char *v = layer_get(d, src, g->names[i]);
            if (v)
                out[n++] = (struct syn){ g->names[i], v, src };
        }
    }
    return n;
}

/* A topic config's value without an override: the first broker synonym
 * that has a value (scaled to the topic key's unit), else Kafka's default. */
static const char *topic_default(struct karena *a, const struct dynconfig *d,
                                 const struct topic_config_def *td)
{
    struct group g;
    group_parse(td->synonyms, &g);
    for (int i = 0; i < g.n; i++) {
        const char *v = broker_value(d, g.names[i]);
        if (!v)
            continue;
        if (g.mult[i] == 1)
            return v;
        long long x = strtoll(v, NULL, 10);
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", x < 0 ? -1LL : x * g.mult[i]);
        return karena_strdup(a, buf);
    }
    return td->dflt;
}

/* ---------------- DescribeConfigs ---------------- */

typedef struct kp_describe_configs_resp_results_configs dc_entry;

struct dctx {
    struct kreq *req;
    const struct kp_describe_configs_req *rq;
    const struct kp_describe_configs_req_resources *res;
    dc_entry *v;
    int32_t n, cap;
};

static bool wanted(const struct dctx *c, const char *name)
{
    if (c->res->configuration_keys_n < 0)
        return true;
    for (int32_t i = 0; i < c->res->configuration_keys_n; i++)
        if (kstr_eq(c->res->configuration_keys[i], name))
            return true;
    return false;
}

struct einfo {
    const char *name, *value, *doc;
    bool read_only, sensitive;
    int8_t type;
};

static void add_entry(struct dctx *c, const struct einfo *ei, const struct syn *s, int ns)
{
    if (c->n >= c->cap || !wanted(c, ei->name))
        return;
    struct karena *a = &c->req->arena;
    dc_entry *e = &c->v[c->n++];
    kp_describe_configs_resp_results_configs_init(e);
    e->name = kstr_c(ei->name);
    e->value = kstr_c(ei->sensitive ? NULL : ei->value);
    e->read_only = ei->read_only;
    e->config_source = ns > 0 ? s[0].source : SRC_DEFAULT;
    e->is_default = e->config_source == SRC_DEFAULT;
    e->is_sensitive = ei->sensitive;
    e->config_type = ei->type;
    e->documentation = kstr_c(c->rq->include_documentation ? ei->doc : NULL);
    e->synonyms_n = 0;
    if (!c->rq->include_synonyms || ns == 0)
        return;
    e->synonyms = karena_calloc(a, (size_t)ns, sizeof *e->synonyms);
    if (!e->synonyms)
        return;
    e->synonyms_n = ns;
    for (int i = 0; i < ns; i++) {
        kp_describe_configs_resp_results_configs_synonyms_init(&e->synonyms[i]);
        /* Names may live in the caller's stack frame (synonym groups). */
        e->synonyms[i].name = kstr_c(karena_strdup(a, s[i].name));
        e->synonyms[i].value = kstr_c(ei->sensitive ? NULL : s[i].value);
        e->synonyms[i].source = s[i].source;
    }
}

static int8_t broker_type(enum config_type t)
{
    static const int8_t m[] = { CT_INT, CT_LONG, CT_BOOLEAN, CT_DOUBLE, CT_STRING, CT_LIST };
    return (unsigned)t < sizeof m ? m[t] : CT_UNKNOWN;
}

static int8_t topic_type(enum topic_config_kind k)
{
    static const int8_t m[] = { CT_LONG, CT_INT, CT_STRING, CT_BOOLEAN, CT_DOUBLE, CT_LIST };
    return (unsigned)k < sizeof m ? m[k] : CT_UNKNOWN;
}

static void broker_entry(struct dctx *c, const struct dynconfig *d, const struct config_key *k,
                         bool per_broker)
{
    struct group g;
    struct syn s[4 * MAX_SYN];
    broker_group(k->name, &g);
    int n = collect(d, &g, per_broker, s, 4 * MAX_SYN);
    /* Drop the more precise synonyms (log.retention.ms for .hours). */
    int first = 0;
    while (first < n && strcmp(s[first].name, k->name) != 0)
        first++;
    struct einfo ei = { k->name, per_broker ? broker_value(d, k->name) : props_get(&d->dflt, k->name),
                        k->doc, !broker_config_dynamic(k->name), false, broker_type(k->type) };
    add_entry(c, &ei, s + first, n - first);
}

static void describe_broker(struct dctx *c, const struct broker *b, const char *name,
                            struct kp_describe_configs_resp_results *out)
{
    const struct dynconfig *d = b->dyn;
    char id[16];
    snprintf(id, sizeof id, "%d", b->cfg->broker_id);
    bool per_broker = strcmp(name, id) == 0;
    if (!per_broker && *name) {
        out->error_code = KERR_INVALID_REQUEST;
        out->error_message = kstr_c(karena_strdup(&c->req->arena, "Unexpected broker id"));
        return;
    }
    c->cap = (int32_t)(broker_config_nkeys() + d->static_raw.n);
    c->v = karena_calloc(&c->req->arena, (size_t)c->cap, sizeof *c->v);
    if (!c->v)
        return;
    for (size_t i = 0; i < broker_config_nkeys(); i++) {
        const struct config_key *k = broker_config_key(i);
        if (per_broker || props_get(&d->dflt, k->name))
            broker_entry(c, d, k, per_broker);
    }
    /* Keys given that the table does not know: Kafka cannot tell their
     * type, so it treats them as sensitive and hides the value. */
    for (size_t i = 0; per_broker && i < d->static_raw.n; i++) {
        const char *key = d->static_raw.v[i].key;
        if (broker_config_find(key))
            continue;
        struct syn s = { key, NULL, SRC_STATIC_BROKER };
        struct einfo ei = { key, NULL, NULL, true, true, CT_UNKNOWN };
        add_entry(c, &ei, &s, 1);
    }
}

static void describe_topic(struct dctx *c, struct broker *b, struct kstr name,
                           struct kp_describe_configs_resp_results *out)
{
    struct topic *t = topics_find(b->topics, name);
    if (!t) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = kstr_c(karena_strdup(&c->req->arena, "Topic does not exist"));
        return;
    }
    c->cap = (int32_t)topic_config_ndefs();
    c->v = karena_calloc(&c->req->arena, (size_t)c->cap, sizeof *c->v);
    for (size_t i = 0; c->v && i < topic_config_ndefs(); i++) {
        const struct topic_config_def *td = topic_config_def_at(i);
        struct group g;
        struct syn s[1 + 4 * MAX_SYN];
        int n = 0;
        const char *ov = topic_config_value(t, td->name);
        if (ov)
            s[n++] = (struct syn){ td->name, ov, SRC_DYNAMIC_TOPIC };
        /* As for the primary broker synonym's own entry (log.retention.ms),
         * the chain starts at its first occurrence: with only
         * log.retention.hours set it is empty, though the value comes
         * from the hours. */
        group_parse(td->synonyms, &g);
        int m = collect(b->dyn, &g, true, s + n, 4 * MAX_SYN), first = 0;
        while (first < m && strcmp(s[n + first].name, g.names[0]) != 0)
            first++;
        memmove(s + n, s + n + first, sizeof *s * (size_t)(m - first));
        n += m - first;
        struct einfo ei = { td->name, ov ? ov : topic_default(&c->req->arena, b->dyn, td), td->doc,
                            false, false, topic_type(td->kind) };
        add_entry(c, &ei, s, n);
    }
}

/* Kafka: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or on the cluster
 * for broker resources. */
static int16_t configs_authz(struct kreq *req, int8_t type, struct kstr name, int8_t op)
{
    if (type == RES_TOPIC)
        return authz_allowed(req->conn, op, ACL_RES_TOPIC, name) ? KERR_NONE
                                                                 : KERR_TOPIC_AUTHORIZATION_FAILED;
    return authz_allowed_c(req->conn, op, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME)
               ? KERR_NONE
               : KERR_CLUSTER_AUTHORIZATION_FAILED;
}

int h_describe_configs(struct kreq *req)
{
    struct kp_describe_configs_req rq;
    if (kp_describe_configs_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct broker *b = req->conn->b;
    struct kp_describe_configs_resp rs;
    kp_describe_configs_resp_init(&rs);
    rs.results_n = rq.resources_n > 0 ? rq.resources_n : 0;
    rs.results = karena_calloc(&req->arena, (size_t)rs.results_n + 1, sizeof *rs.results);
    if (!rs.results)
        return -1;
    for (int32_t i = 0; i < rs.results_n; i++) {
        const struct kp_describe_configs_req_resources *r = &rq.resources[i];
        struct kp_describe_configs_resp_results *out = &rs.results[i];
        kp_describe_configs_resp_results_init(out);
        out->resource_type = r->resource_type;
        out->resource_name = r->resource_name;
        out->error_message = kstr_c(NULL);
        struct dctx c = { req, &rq, r, NULL, 0, 0 };
        char *name = astr(&req->arena, r->resource_name);
        int16_t ae = configs_authz(req, r->resource_type, r->resource_name,
                                   ACL_OP_DESCRIBE_CONFIGS);
        if (ae) {
            out->error_code = ae;
        } else if (r->resource_type == RES_BROKER && name) {
            describe_broker(&c, b, name, out);
        } else if (r->resource_type == RES_TOPIC) {
            describe_topic(&c, b, r->resource_name, out);
        } else {
            out->error_code = KERR_INVALID_REQUEST;
            out->error_message = kstr_c("Unsupported resource type");
        }
        out->configs = c.v;
        out->configs_n = c.n;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_configs_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- altering ---------------- */

/* A resource's current dynamic set, which an alter edits. */
static int current_set(struct broker *b, int8_t type, const char *name, struct props *out,
                       char *err, size_t errlen)
{
    if (type == RES_TOPIC) {
        struct topic *t = topics_find(b->topics, kstr_c(name));
        if (!t) {
            snprintf(err, errlen, "Topic %s does not exist", name);
            return KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        for (int i = 0; i < t->nconfigs; i++)
            if (props_set(out, t->configs[i].name, t->configs[i].value) != 0)
                return KERR_UNKNOWN_SERVER_ERROR;
        return KERR_NONE;
    }
    if (type != RES_BROKER) {
        snprintf(err, errlen, "Unsupported resource type %d", type);
        return KERR_INVALID_REQUEST;
    }
    char id[16];
    snprintf(id, sizeof id, "%d", b->cfg->broker_id);
    if (*name && strcmp(name, id) != 0) {
        snprintf(err, errlen, "Unexpected broker id, expected %s or empty string, but received %s",
                 id, name);
        return KERR_INVALID_REQUEST;
    }
    return props_copy(out, *name ? &b->dyn->broker : &b->dyn->dflt, NULL) ? KERR_UNKNOWN_SERVER_ERROR
                                                                          : KERR_NONE;
}

/* ---------------- topic overrides in the metastore ----------------
 *
 * With zookeeper.connect, an alter of a topic's overrides is a job on the
 * admin-write queue (broker.h: awrite_*): the resources are validated when
 * the job starts (in order with other admin writes), the new overrides of
 * each topic go to /config/topics/<t> (setData / create) followed by
 * Kafka's /config/changes notification, and only then are they written to
 * the local topic file and applied to the partitions (topics_set_configs_stored).
 * The client is answered after the last reply, with each resource's real
 * error. A link lost during a write leaves its outcome unknown: the
 * topic's node is read back once the session is back. Broker resources and
 * brokers without a metastore are stored synchronously (file first, then
 * memory) before the answer, as before.
 */

struct topic_write {
    char *topic;
    struct props set;
    int idx;                  /* the resource's entry in the response */
    int16_t err;
    char msg[256];
};

struct cfg_job {
    struct awrite *w;
    struct broker *b;
    bool incremental;
    struct topic_write *v;
    int n;
    struct zk_job zj;         /* the metastore writes (or reads back) of v */
    /* In the request's arena: used only while awrite_req() is not NULL. */
    struct kp_alter_configs_req arq;
    struct kp_alter_configs_resp ars;
    struct kp_incremental_alter_configs_req irq;
    struct kp_incremental_alter_configs_resp irs;
};

static void cfg_job_free(struct cfg_job *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->v[i].topic);
        props_free(&j->v[i].set);
    }
    free(j->v);
    free(j);
}

static void cfg_job_drop(struct awrite *w, void *arg)
{
    (void)w;
    cfg_job_free(arg);
}

static void cfg_mark_dirty(const char *topic)
{
    for (int i = 0; i < cfg_dirty.n; i++)
        if (strcmp(cfg_dirty.topics[i], topic) == 0)
            return;
    char **v = realloc(cfg_dirty.topics, sizeof *v * (size_t)(cfg_dirty.n + 1));
    if (!v)
        return;
    cfg_dirty.topics = v;
    if ((v[cfg_dirty.n] = strdup(topic)))
        cfg_dirty.n++;
}

static void write_fail(struct topic_write *t, int16_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void write_fail(struct topic_write *t, int16_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t->err = err;
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
}

/* Overrides as topics.c takes them; NULL when out of memory. */
static struct tconfig *to_tconfig(const struct props *set)
{
    struct tconfig *v = calloc(set->n + 1, sizeof *v);
    for (size_t i = 0; v && i < set->n; i++) {
        v[i].name = set->v[i].key;
        v[i].value = set->v[i].value;
    }
    return v;
}

/* Local file and partitions take overrides the metastore has. */
static int16_t apply_stored(struct broker *b, const char *topic, const struct props *set)
{
    struct topic *t = topics_find(b->topics, kstr_c(topic));
    if (!t)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    struct tconfig *v = to_tconfig(set);
    int e = v ? topics_set_configs_stored(b->topics, t, v, (int)set->n) : KERR_UNKNOWN_SERVER_ERROR;
    free(v);
    return (int16_t)e;
}

static char *topic_node_json(const struct props *set)
{
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "config", props_to_json(set));
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

static void cfg_job_finish(void *arg);

/* A topic's node: /config/topics/<t> with its overrides. */
static int cfg_node(void *arg, int i, char *path, size_t pathlen, char **data)
{
    struct cfg_job *j = arg;
    const struct topic_write *t = &j->v[i];
    snprintf(path, pathlen, "/config/topics/%s", t->topic);
    if (data && !(*data = topic_node_json(&t->set)))
        return -1;
    return 0;
}

static void cfg_written(void *arg, int i, int rc, const char *path)
{
    struct cfg_job *j = arg;
    struct topic_write *t = &j->v[i];
    (void)path;
    if (rc == ZOK) {
        int16_t e = apply_stored(j->b, t->topic, &t->set);
        if (e == KERR_UNKNOWN_TOPIC_OR_PARTITION)
            write_fail(t, e, "Topic %s was deleted meanwhile", t->topic);
        else if (e)
            write_fail(t, e, "The overrides are stored in the metastore, but the local topic "
                       "file could not be written");
    } else if (rc == ZK_JOB_NOT_SENT) {
        write_fail(t, KERR_NOT_CONTROLLER, "The metastore session is lost; retry");
    } else {
        if (rc == ZCONNECTIONLOSS)
            cfg_mark_dirty(t->topic);
        write_fail(t, KERR_KAFKA_STORAGE_ERROR,
                   "Storing the configs in the metastore failed (%s)%s", zk_err_name(rc),
                   zk_job_loss_note(rc));
        KLOG_WARN("metastore: writing /config/topics/%s failed: %s", t->topic, zk_err_name(rc));
    }
}

static char *cfg_note(void *arg, int i, const char **seq_path)
{
    struct cfg_job *j = arg;
    return zk_config_change_note("topics", j->v[i].topic, seq_path);
}

static const struct zk_job_ops cfg_write_ops = {
    .node = cfg_node,
    .written = cfg_written,
    .note = cfg_note,
    .note_kind = "config",
    .finish = cfg_job_finish,
};

static void cfg_job_finish(void *arg)
{
    struct cfg_job *j = arg;
    struct awrite *w = j->w;
    struct kreq *req = awrite_take(w);
    if (req) {
        for (int i = 0; i < j->n; i++) {
            const struct topic_write *t = &j->v[i];
            int16_t *code = j->incremental ? &j->irs.responses[t->idx].error_code
                                           : &j->ars.responses[t->idx].error_code;
            struct kstr *msg = j->incremental ? &j->irs.responses[t->idx].error_message
                                              : &j->ars.responses[t->idx].error_message;
            *code = t->err;
            *msg = kstr_c(t->err ? karena_strdup(&req->arena, t->msg) : NULL);
            if (!t->err)
                KLOG_INFO("topic %s: overrides stored in the metastore", t->topic);
        }
        struct kw kw;
        kreq_writer(req, &kw);
        if (j->incremental)
            kp_incremental_alter_configs_resp_encode(&kw, req->api_version, &j->irs);
        else
            kp_alter_configs_resp_encode(&kw, req->api_version, &j->ars);
        kreq_finish(req, &kw);
    }
    cfg_job_free(j);
    awrite_done(w);
}

/* ---------------- resync after an unknown outcome ---------------- */

static void cfg_resync_got(void *arg, int i, int rc, struct kr *body)
{
    struct cfg_job *j = arg;
    struct topic_write *t = &j->v[i];
    if (rc == ZOK || rc == ZNONODE) {
        json_t *root = zk_job_json(rc, body);
        json_to_props(json_object_get(root, "config"), &t->set);
        if (root)
            json_decref(root);
        if (apply_stored(j->b, t->topic, &t->set) == KERR_NONE)
            KLOG_INFO("topic %s: overrides read back from the metastore (%zu)", t->topic,
                      t->set.n);
    } else {
        cfg_mark_dirty(t->topic);
    }
}

static const struct zk_job_ops cfg_read_ops = {
    .node = cfg_node,
    .got = cfg_resync_got,
    .finish = cfg_job_finish,
};

static void cfg_resync_start(struct awrite *w, void *arg)
{
    struct cfg_job *j = arg;
    j->w = w;
    cfg_dirty.queued = false;
    j->v = calloc((size_t)(cfg_dirty.n ? cfg_dirty.n : 1), sizeof *j->v);
    for (int i = 0; j->v && i < cfg_dirty.n; i++) {
        j->v[j->n].topic = cfg_dirty.topics[i];   /* ownership moves to the job */
        j->v[j->n++].idx = -1;
    }
    if (j->v) {
        free(cfg_dirty.topics);
        cfg_dirty.topics = NULL;
        cfg_dirty.n = 0;
    }
    zk_job_read(&j->zj, j->b->zk, j->n, &cfg_read_ops, j);
}

static void cfg_on_zk_state(struct zk *zk, enum zk_state st, bool new_session, void *arg)
{
    (void)zk;
    (void)new_session;
    (void)arg;
    if (st != ZK_CONNECTED || cfg_dirty.n == 0 || cfg_dirty.queued || !cfg_dirty.b)
        return;
    struct cfg_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->b = cfg_dirty.b;
    cfg_dirty.queued = true;
    awrite_submit(NULL, cfg_resync_start, cfg_job_drop, j);
}

/* A topic's new overrides go to the metastore before anything else. */
static int queue_topic_write(struct cfg_job *j, const char *name, const struct props *set, int idx)
{
    struct zk *zk = j->b->zk;
    if (zk && cfg_dirty.listening != zk) {
        cfg_dirty.b = j->b;
        if (zk_add_state_listener(zk, cfg_on_zk_state, NULL) == 0)
            cfg_dirty.listening = zk;
    }
    struct topic_write *v = realloc(j->v, sizeof *v * (size_t)(j->n + 1));
    if (!v)
        return KERR_UNKNOWN_SERVER_ERROR;
    j->v = v;
    struct topic_write *t = &v[j->n];
    memset(t, 0, sizeof *t);
    t->idx = idx;
    if (!(t->topic = strdup(name)) || props_copy(&t->set, set, NULL) != 0) {
        free(t->topic);
        props_free(&t->set);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    j->n++;
    return KERR_NONE;
}

/* A topic's new overrides: validated, then stored — through the metastore
 * (queued in the job: its result comes when it is stored) or the local file. */
static int commit_topic(struct cfg_job *j, const char *name, const struct props *set,
                        bool validate_only, int idx, char *err, size_t errlen)
{
    struct broker *b = j->b;
    int e = KERR_NONE;
    for (size_t i = 0; i < set->n && !e; i++)
        e = topic_config_check(set->v[i].key, set->v[i].value, err, errlen);
    if (e || validate_only)
        return e;
    if (b->zk) {
        e = topics_check_writable(b->topics, err, errlen);
        if (!e)
            e = queue_topic_write(j, name, set, idx);
        return e;
    }
    struct tconfig *v = to_tconfig(set);
    if (!v)
        return KERR_UNKNOWN_SERVER_ERROR;
    e = topics_set_configs(b->topics, topics_find(b->topics, kstr_c(name)), v, (int)set->n);
    free(v);
    return e;
}

static int commit_broker(struct broker *b, const char *name, const struct props *set,
                         bool validate_only, char *err, size_t errlen)
{
    for (size_t i = 0; i < set->n; i++) {
        const char *k = set->v[i].key;
        if (!broker_config_find(k) || !broker_config_dynamic(k)) {
            snprintf(err, errlen, "Cannot update these configs dynamically: %s", k);
            return KERR_INVALID_CONFIG;
        }
    }
    struct dynconfig *d = b->dyn;
    bool per_broker = *name != '\0';
    struct broker_config fresh;
    if (layered_load(d, per_broker ? &d->dflt : set, per_broker ? set : &d->broker, &fresh, err,
                     errlen) != 0)
        return KERR_INVALID_CONFIG;
    broker_config_free(&fresh);
    if (validate_only)
        return KERR_NONE;
    struct props *layer = per_broker ? &d->broker : &d->dflt, old = *layer, nw = { 0 };
    if (props_copy(&nw, set, NULL) != 0) {
        props_free(&nw);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    *layer = nw;
    if (dynconfig_store_save(b->cfg->log_dirs, &d->dflt, &d->broker) != 0) {
        *layer = old;
        props_free(&nw);
        snprintf(err, errlen, "Cannot persist dynamic broker configs");
        return KERR_KAFKA_STORAGE_ERROR;
    }
    props_free(&old);
    KLOG_INFO("dynamic broker configs (%s) now: %zu key(s)", per_broker ? name : "<default>",
              layer->n);
    return dyn_apply(b, err, errlen) == 0 ? KERR_NONE : KERR_INVALID_CONFIG;
}

static int commit(struct cfg_job *j, int8_t type, const char *name, const struct props *set,
                  bool validate_only, int idx, char *err, size_t errlen)
{
    if (type == RES_TOPIC)
        return commit_topic(j, name, set, validate_only, idx, err, errlen);
    return commit_broker(j->b, name, set, validate_only, err, errlen);
}

static void set_result(struct karena *a, int e, const char *err, int16_t *code, struct kstr *msg)
{
    *code = (int16_t)e;
    *msg = kstr_c(e && *err ? karena_strdup(a, err) : NULL);
}

static void alter_start(struct awrite *w, void *arg)
{
    struct cfg_job *j = arg;
    j->w = w;
    struct kreq *req = awrite_req(w);
    struct broker *b = j->b;
    struct kp_alter_configs_req *rq = &j->arq;
    struct kp_alter_configs_resp *rs = &j->ars;
    kp_alter_configs_resp_init(rs);
    rs->responses_n = rq->resources_n > 0 ? rq->resources_n : 0;
    rs->responses = karena_calloc(&req->arena, (size_t)rs->responses_n + 1, sizeof *rs->responses);
    if (!rs->responses)
        rs->responses_n = 0;
    for (int32_t i = 0; i < rs->responses_n; i++) {
        const struct kp_alter_configs_req_resources *r = &rq->resources[i];
        struct kp_alter_configs_resp_responses *out = &rs->responses[i];
        kp_alter_configs_resp_responses_init(out);
        out->resource_type = r->resource_type;
        out->resource_name = r->resource_name;
        char err[512] = "";
        char *name = astr(&req->arena, r->resource_name);
        struct props cur = { 0 }, set = { 0 };
        /* AlterConfigs replaces the whole set; reading the current one
         * still checks that the resource exists. */
        int e = configs_authz(req, r->resource_type, r->resource_name, ACL_OP_ALTER_CONFIGS);
        if (!e)
            e = name ? current_set(b, r->resource_type, name, &cur, err, sizeof err)
                     : KERR_INVALID_REQUEST;
        for (int32_t k = 0; !e && k < r->configs_n; k++) {
            char *kn = astr(&req->arena, r->configs[k].name);
            char *kv = astr(&req->arena, r->configs[k].value);
            if (!kn || !kv) {
                snprintf(err, sizeof err, "Null value not supported for: %s", kn ? kn : "null");
                e = KERR_INVALID_REQUEST;
            } else if (props_set(&set, kn, kv) != 0) {
                e = KERR_UNKNOWN_SERVER_ERROR;
            }
        }
        if (!e)
            e = commit(j, r->resource_type, name, &set, rq->validate_only, i, err, sizeof err);
        set_result(&req->arena, e, err, &out->error_code, &out->error_message);
        props_free(&cur);
        props_free(&set);
    }
    zk_job_write(&j->zj, j->b->zk, j->n, &cfg_write_ops, j);
}

int h_alter_configs(struct kreq *req)
{
    struct cfg_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    if (kp_alter_configs_req_decode(&req->body, req->api_version, &req->arena, &j->arq) != 0) {
        free(j);
        return -1;
    }
    j->b = req->conn->b;
    awrite_submit(req, alter_start, cfg_job_drop, j);
    return 0;
}

/* Is `name` a list-typed config of this resource type? */
static bool is_list(int8_t type, const char *name)
{
    if (type == RES_TOPIC) {
        const struct topic_config_def *td = topic_config_def_find(name);
        return td && td->kind == TCK_LIST;
    }
    const struct config_key *k = broker_config_find(name);
    return k && k->type == CONFIG_LIST;
}

/* The list value a resource has for `name` now (override or default). */
static const char *list_now(struct broker *b, int8_t type, const struct props *cur,
                            const char *name, struct karena *a)
{
    const char *v = props_get(cur, name);
    if (v)
        return v;
    if (type == RES_TOPIC)
        return topic_default(a, b->dyn, topic_config_def_find(name));
    return broker_value(b->dyn, name);
}

static bool list_has(const char *list, const char *item, size_t n)
{
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, item, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* APPEND adds the items not yet present, SUBTRACT removes the given ones. */
static char *list_edit(struct karena *a, const char *now, const char *arg, bool append)
{
    size_t cap = strlen(now ? now : "") + strlen(arg) + 2;
    char *out = karena_alloc(a, cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (const char *p = now; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len && (append || !list_has(arg, p, len)))
            snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", *out ? "," : "", (int)len, p);
        p += len + (p[len] == ',');
    }
    for (const char *p = arg; append && *p;) {
        size_t len = strcspn(p, ",");
        if (len && !list_has(out, p, len))
            snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", *out ? "," : "", (int)len, p);
        p += len + (p[len] == ',');
    }
    return out;
}

static int incremental_op(struct broker *b, struct karena *a, int8_t type, struct props *cur,
                          const struct kp_incremental_alter_configs_req_resources_configs *op,
                          char *err, size_t errlen)
{
    char *kn = astr(a, op->name), *kv = astr(a, op->value);
    if (!kn)
        return KERR_INVALID_REQUEST;
    switch (op->config_operation) {
    case OP_SET:
        if (!kv) {
            snprintf(err, errlen, "Null value not supported for : %s", kn);
            return KERR_INVALID_REQUEST;
        }
        return props_set(cur, kn, kv) ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
    case OP_DELETE:
        return props_del(cur, kn) ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
    case OP_APPEND:
    case OP_SUBTRACT:
        if (!is_list(type, kn)) {
            snprintf(err, errlen, "Config value %s is not allowed for config key: %s",
                     op->config_operation == OP_APPEND ? "append" : "subtract", kn);
            return KERR_INVALID_CONFIG;
        }
        kv = list_edit(a, list_now(b, type, cur, kn, a), kv ? kv : "",
                       op->config_operation == OP_APPEND);
        return !kv || props_set(cur, kn, kv) ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
    }
    snprintf(err, errlen, "Unknown config operation %d", op->config_operation);
    return KERR_INVALID_REQUEST;
}

static bool duplicate_keys(const struct kp_incremental_alter_configs_req_resources *r)
{
    for (int32_t i = 0; i < r->configs_n; i++)
        for (int32_t j = 0; j < i; j++)
            if (r->configs[i].name.len == r->configs[j].name.len && r->configs[i].name.len > 0 &&
                memcmp(r->configs[i].name.p, r->configs[j].name.p, (size_t)r->configs[i].name.len) == 0)
                return true;
    return false;
}

static void incremental_start(struct awrite *w, void *arg)
{
    struct cfg_job *j = arg;
    j->w = w;
    struct kreq *req = awrite_req(w);
    struct broker *b = j->b;
    struct kp_incremental_alter_configs_req *rq = &j->irq;
    struct kp_incremental_alter_configs_resp *rs = &j->irs;
    kp_incremental_alter_configs_resp_init(rs);
    rs->responses_n = rq->resources_n > 0 ? rq->resources_n : 0;
    rs->responses = karena_calloc(&req->arena, (size_t)rs->responses_n + 1, sizeof *rs->responses);
    if (!rs->responses)
        rs->responses_n = 0;
    for (int32_t i = 0; i < rs->responses_n; i++) {
        const struct kp_incremental_alter_configs_req_resources *r = &rq->resources[i];
        struct kp_incremental_alter_configs_resp_responses *out = &rs->responses[i];
        kp_incremental_alter_configs_resp_responses_init(out);
        out->resource_type = r->resource_type;
        out->resource_name = r->resource_name;
        char err[512] = "";
        char *name = astr(&req->arena, r->resource_name);
        struct props cur = { 0 };
        int e = configs_authz(req, r->resource_type, r->resource_name, ACL_OP_ALTER_CONFIGS);
        if (!e)
            e = name ? current_set(b, r->resource_type, name, &cur, err, sizeof err)
                     : KERR_INVALID_REQUEST;
        if (!e && duplicate_keys(r)) {
            snprintf(err, sizeof err, "Error due to duplicate config keys");
            e = KERR_INVALID_REQUEST;
        }
        for (int32_t k = 0; !e && k < r->configs_n; k++)
            e = incremental_op(b, &req->arena, r->resource_type, &cur, &r->configs[k], err,
                               sizeof err);
        if (!e)
            e = commit(j, r->resource_type, name, &cur, rq->validate_only, i, err, sizeof err);
        set_result(&req->arena, e, err, &out->error_code, &out->error_message);
        props_free(&cur);
    }
    zk_job_write(&j->zj, j->b->zk, j->n, &cfg_write_ops, j);
}

int h_incremental_alter_configs(struct kreq *req)
{
    struct cfg_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    if (kp_incremental_alter_configs_req_decode(&req->body, req->api_version, &req->arena,
                                                &j->irq) != 0) {
        free(j);
        return -1;
    }
    j->incremental = true;
    j->b = req->conn->b;
    awrite_submit(req, incremental_start, cfg_job_drop, j);
    return 0;
}
