/*
 * cluster.c — see cluster.h. Start-up runs synchronously (zk_sync_* and
 * zk_wait, before the listeners open); everything later is asynchronous,
 * inside the broker's event loop: re-registration after a lost session and
 * the mirror of topic changes.
 */
#include "clock.h"
#include "cluster.h"

#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "jaas.h"
#include "kafka_errors.h"
#include "klog.h"
#include "topics.h"
#include "zk.h"

struct cluster {
    struct broker *b;
    struct zk *zk;
    bool started;         /* start-up done: state changes act asynchronously */
    bool registered;      /* /brokers/ids/<id> is ours in the current session */
    bool gave_up;         /* another live broker holds our id */
    int64_t wait_since;   /* first NODEEXISTS of the current attempt, ms */
    struct event *retry_ev;
};

/* Paths Kafka makes at start-up (KafkaZkClient.createTopLevelPaths). */
static const char *const top_paths[] = {
    "/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
    "/config/topics", "/config/clients", "/config/users", "/config/brokers", "/config/ips",
    "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
    "/log_dir_event_notification", "/cluster",
};

/* Kafka's cluster id: 16 random bytes, URL-safe base64 without padding. */
void new_cluster_id(char out[23])
{
    uint8_t id[16];
    RAND_bytes(id, sizeof id);
    kuuid_b64(id, out);
}

static char *json_text(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void ms_string(char out[24])
{
    snprintf(out, 24, "%" PRId64, clock_wall_ms());
}

/* ---------------- znode contents ---------------- */

/* BrokerInfo v5, as Kafka writes it: host/port of the first PLAINTEXT
 * endpoint (null/-1 without one), every advertised endpoint, the protocol
 * map. */
static char *broker_json(const struct broker *b)
{
    json_t *eps = json_array(), *map = json_object();
    const struct blistener *plain = NULL;
    for (int i = 0; i < b->nlisteners; i++) {
        const struct blistener *l = &b->listeners[i];
        char ep[512];
        bool v6 = strchr(l->adv_host, ':') != NULL;
        snprintf(ep, sizeof ep, "%s://%s%s%s:%d", l->name, v6 ? "[" : "", l->adv_host,
                 v6 ? "]" : "", l->adv_port);
        json_array_append_new(eps, json_string(ep));
        json_object_set_new(map, l->name, json_string(l->protocol));
        if (!plain && strcmp(l->protocol, "PLAINTEXT") == 0)
            plain = l;
    }
    char ts[24];
    ms_string(ts);
    json_t *j = json_pack("{s:o,s:o,s:o,s:i,s:i,s:i,s:s}", "features", json_object(),
                          "listener_security_protocol_map", map, "endpoints", eps,
                          "jmx_port", -1, "port", plain ? plain->adv_port : -1, "version", 5,
                          "timestamp", ts);
    json_object_set_new(j, "host", plain ? json_string(plain->adv_host) : json_null());
    const char *rack = b->cfg->broker_rack;
    if (rack && *rack)
        json_object_set_new(j, "rack", json_string(rack));
    return json_text(j);
}

/* Partition assignment v3: every partition on this broker. */
static char *topic_json(const struct broker *b, const struct topic *t)
{
    json_t *parts = json_object();
    for (int32_t p = 0; p < t->nparts; p++) {
        char k[16];
        snprintf(k, sizeof k, "%d", p);
        json_object_set_new(parts, k, json_pack("[i]", b->cfg->broker_id));
    }
    char id[23];
    kuuid_b64(t->id, id);
    return json_text(json_pack("{s:o,s:s,s:o,s:o,s:i}", "partitions", parts, "topic_id", id,
                               "adding_replicas", json_object(), "removing_replicas",
                               json_object(), "version", 3));
}

static char *state_json(const struct broker *b)
{
    return json_text(json_pack("{s:i,s:i,s:i,s:i,s:[i]}", "controller_epoch", 1, "leader",
                               b->cfg->broker_id, "version", 1, "leader_epoch", 0, "isr",
                               b->cfg->broker_id));
}

static char *config_json(const struct topic *t)
{
    json_t *cfg = json_object();
    for (int i = 0; i < t->nconfigs; i++)
        json_object_set_new(cfg, t->configs[i].name, json_string(t->configs[i].value));
    return json_text(json_pack("{s:i,s:o}", "version", 1, "config", cfg));
}

/* ---------------- asynchronous writes ---------------- */

static void log_failure(struct zk *zk, int rc, struct kr *body, void *arg)
{
    char *what = arg;
    if (rc != ZOK && rc != ZNODEEXISTS && rc != ZNONODE)
        KLOG_WARN("metastore: %s failed: %s", what, zk_err_name(rc));
    free(what);
}

static void async_create(struct cluster *c, const char *path, const char *data, int mode)
{
    char *what = NULL;
    if (asprintf(&what, "create %s", path) < 0)
        return;
    if (zk_create(c->zk, path, data, data ? (int32_t)strlen(data) : 0, mode, log_failure,
                  what) != 0)
        free(what);
}

static void async_delete(struct cluster *c, const char *path)
{
    char *what = NULL;
    if (asprintf(&what, "delete %s", path) < 0)
        return;
    if (zk_delete(c->zk, path, -1, log_failure, what) != 0)
        free(what);
}

/* setData, falling back to create when the node is missing. */
struct upsert {
    struct cluster *c;
    char *path, *data;
};

static void upsert_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct upsert *u = arg;
    if (rc == ZNONODE)
        async_create(u->c, u->path, u->data, ZMODE_PERSISTENT);
    else if (rc != ZOK)
        KLOG_WARN("metastore: set %s failed: %s", u->path, zk_err_name(rc));
    free(u->path);
    free(u->data);
    free(u);
}

static void async_upsert(struct cluster *c, const char *path, char *data)
{
    struct upsert *u = calloc(1, sizeof *u);
    if (!u || !(u->path = strdup(path))) {
        free(u);
        free(data);
        return;
    }
    u->c = c;
    u->data = data;
    if (zk_set_data(c->zk, path, data, (int32_t)strlen(data), -1, upsert_done, u) != 0) {
        free(u->path);
        free(u->data);
        free(u);
    }
}

static void mirror_partition_states(struct cluster *c, const struct topic *t, int32_t from)
{
    char path[600], *state = state_json(c->b);
    snprintf(path, sizeof path, "/brokers/topics/%s/partitions", t->name);
    async_create(c, path, NULL, ZMODE_PERSISTENT);
    for (int32_t p = from; p < t->nparts; p++) {
        snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d", t->name, p);
        async_create(c, path, NULL, ZMODE_PERSISTENT);
        snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d/state", t->name, p);
        async_create(c, path, state, ZMODE_PERSISTENT);
    }
    free(state);
}

/* A new topic's overrides (notify false), or changed ones with Kafka's
 * change notification. */
static void mirror_config(struct cluster *c, const struct topic *t, bool notify)
{
    char path[600];
    snprintf(path, sizeof path, "/config/topics/%s", t->name);
    if (!notify) {                      /* a new topic: one round trip */
        char *j = config_json(t);
        async_create(c, path, j, ZMODE_PERSISTENT);
        free(j);
        return;
    }
    async_upsert(c, path, config_json(t));
    /* Kafka's change notification, which other brokers' (and tools')
     * watchers read; sequential, as ZkAdminManager makes it. */
    char *n = json_text(json_pack("{s:i,s:s+}", "version", 2, "entity_path", "topics/", t->name));
    async_create(c, "/config/changes/config_change_", n, ZMODE_PERSISTENT_SEQ);
    free(n);
}

static void mirror_delete(struct cluster *c, const struct topic *t)
{
    char path[600];
    for (int32_t p = 0; p < t->nparts; p++) {
        snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d/state", t->name, p);
        async_delete(c, path);
        snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d", t->name, p);
        async_delete(c, path);
    }
    snprintf(path, sizeof path, "/brokers/topics/%s/partitions", t->name);
    async_delete(c, path);
    snprintf(path, sizeof path, "/brokers/topics/%s", t->name);
    async_delete(c, path);
    snprintf(path, sizeof path, "/config/topics/%s", t->name);
    async_delete(c, path);
}

/* topics.c hook: every change is mirrored into the metastore. */
static void topic_changed(void *arg, const struct topic *t, enum topic_change what)
{
    struct cluster *c = arg;
    char path[600];
    snprintf(path, sizeof path, "/brokers/topics/%s", t->name);
    switch (what) {
    case TOPIC_CREATED: {
        char *j = topic_json(c->b, t);
        async_create(c, path, j, ZMODE_PERSISTENT);
        free(j);
        mirror_partition_states(c, t, 0);
        mirror_config(c, t, false);
        break;
    }
    case TOPIC_PARTITIONS_ADDED:
        async_upsert(c, path, topic_json(c->b, t));
        mirror_partition_states(c, t, 0);   /* existing ones answer NODEEXISTS */
        break;
    case TOPIC_CONFIG_CHANGED:
        mirror_config(c, t, true);
        break;
    case TOPIC_DELETED:
        mirror_delete(c, t);
        break;
    }
}

static bool topics_writable(void *arg)
{
    struct cluster *c = arg;
    return c->registered && zk_get_state(c->zk) == ZK_CONNECTED;
}

/* ---------------- registration ---------------- */

static void register_broker(struct cluster *c);

static void become_controller(struct cluster *c)
{
    char ts[24];
    ms_string(ts);
    char *j = json_text(json_pack("{s:i,s:i,s:s}", "version", 2, "brokerid",
                                  c->b->cfg->broker_id, "timestamp", ts));
    async_create(c, "/controller", j, ZMODE_EPHEMERAL);
    free(j);
    /* The epoch itself only matters to other brokers; record that a
     * controller exists, as Kafka does on its first election. */
    async_create(c, "/controller_epoch", "1", ZMODE_PERSISTENT);
}

static void registered_owner(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct cluster *c = arg;
    if (rc == ZNONODE) {              /* the stale node just went: try again */
        register_broker(c);
        return;
    }
    if (rc != ZOK) {
        event_active(c->retry_ev, 0, 0);
        return;
    }
    struct zstat st = jr_stat(body);
    if (!body->err && st.ephemeral_owner == zk_session_id(zk)) {
        c->registered = true;        /* ours: made before a reconnect */
        return;
    }
    /* Another session holds our id: a broker killed a moment ago whose
     * session has not expired yet, or a live broker. Wait out the session
     * timeout, then give up. */
    int64_t now = clock_wall_ms();
    if (!c->wait_since)
        c->wait_since = now;
    int64_t limit = (int64_t)c->b->cfg->zookeeper_session_timeout_ms + 5000;
    if (now - c->wait_since > limit && !c->started) {
        KLOG_ERROR("metastore: broker.id %d is registered by another live broker (session "
                   "0x%llx): refusing to start a second one", c->b->cfg->broker_id,
                   (unsigned long long)st.ephemeral_owner);
        c->gave_up = true;
        return;
    }
    /* Running already (a new session after expiry): keep serving and keep
     * trying; the stale node of our old session goes when the metastore
     * expires it, which after its own restart can take a while. */
    if (now - c->wait_since > limit && (now - c->wait_since) % 10000 < 1000)
        KLOG_ERROR("metastore: /brokers/ids/%d still held by session 0x%llx; retrying",
                   c->b->cfg->broker_id, (unsigned long long)st.ephemeral_owner);
    if (now == c->wait_since)
        KLOG_WARN("metastore: /brokers/ids/%d belongs to session 0x%llx; waiting for it to "
                  "expire", c->b->cfg->broker_id, (unsigned long long)st.ephemeral_owner);
    struct timeval tv = { 1, 0 };
    event_add(c->retry_ev, &tv);
}

static void registered(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct cluster *c = arg;
    char path[64];
    snprintf(path, sizeof path, "/brokers/ids/%d", c->b->cfg->broker_id);
    if (rc == ZOK) {
        c->registered = true;
        c->wait_since = 0;
        KLOG_INFO("metastore: registered %s", path);
        become_controller(c);
    } else if (rc == ZNODEEXISTS) {
        if (zk_exists(zk, path, registered_owner, c) != 0)
            event_active(c->retry_ev, 0, 0);
    } else if (rc != ZCONNECTIONLOSS) {
        KLOG_ERROR("metastore: cannot register %s: %s", path, zk_err_name(rc));
        struct timeval tv = { 1, 0 };
        event_add(c->retry_ev, &tv);
    }
}

static void register_broker(struct cluster *c)
{
    char path[64];
    snprintf(path, sizeof path, "/brokers/ids/%d", c->b->cfg->broker_id);
    for (size_t i = 0; i < sizeof top_paths / sizeof top_paths[0]; i++)
        async_create(c, top_paths[i], NULL, ZMODE_PERSISTENT);
    char *j = broker_json(c->b);
    if (!j || zk_create(c->zk, path, j, (int32_t)strlen(j), ZMODE_EPHEMERAL, registered, c) != 0)
        KLOG_WARN("metastore: not connected, registration waits for the session");
    free(j);
}

static void retry_register(evutil_socket_t fd, short what, void *arg)
{
    struct cluster *c = arg;
    if (!c->registered && !c->gave_up && zk_get_state(c->zk) == ZK_CONNECTED)
        register_broker(c);
}

static void on_state(struct zk *zk, enum zk_state st, bool new_session, void *arg)
{
    struct cluster *c = arg;
    if (st == ZK_EXPIRED || (st == ZK_CONNECTED && new_session))
        c->registered = false;
    if (st == ZK_DISCONNECTED)
        KLOG_WARN("metastore: connection lost; serving known topics, metadata changes wait");
    if (st == ZK_CONNECTED && c->started && !c->registered) {
        c->wait_since = 0;
        register_broker(c);
    }
}

/* ---------------- start-up ---------------- */

static int check_cluster_id(struct cluster *c)
{
    struct broker *b = c->b;
    char *data = NULL;
    int rc = zk_sync_get_data(c->zk, "/cluster/id", &data, NULL, NULL);
    if (rc == ZNONODE) {
        if (!b->cluster_id[0])
            new_cluster_id(b->cluster_id);
        char *j = json_text(json_pack("{s:s,s:s}", "version", "1", "id", b->cluster_id));
        rc = zk_sync_create(c->zk, "/cluster/id", j, (int32_t)strlen(j), ZMODE_PERSISTENT);
        free(j);
        if (rc == ZOK)
            return 0;
        if (rc != ZNODEEXISTS)
            goto fail;
        rc = zk_sync_get_data(c->zk, "/cluster/id", &data, NULL, NULL);
    }
    if (rc != ZOK)
        goto fail;
    json_t *j = json_loads(data, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id && !b->cluster_id[0] && strlen(id) < sizeof b->cluster_id)
        snprintf(b->cluster_id, sizeof b->cluster_id, "%s", id);  /* a new log dir joins */
    int ok = id && strcmp(id, b->cluster_id) == 0;
    if (!ok)
        KLOG_ERROR("metastore: the cluster id there (%s) does not match meta.properties in "
                   "%s (%s): this log dir belongs to another cluster", id ? id : "?",
                   b->cfg->log_dirs, b->cluster_id);
    json_decref(j);
    free(data);
    return ok ? 0 : -1;
fail:
    KLOG_ERROR("metastore: cannot read or create /cluster/id: %s", zk_err_name(rc));
    free(data);
    return -1;
}

/* A topic the metastore has and the log dir lacks: create it here. */
static void adopt_topic(struct cluster *c, const char *name)
{
    char path[600], *data = NULL, *cfgdata = NULL;
    snprintf(path, sizeof path, "/brokers/topics/%s", name);
    if (zk_sync_get_data(c->zk, path, &data, NULL, NULL) != ZOK)
        return;
    json_t *j = json_loads(data, 0, NULL);
    int32_t nparts = (int32_t)json_object_size(json_object_get(j, "partitions"));
    const char *id = json_string_value(json_object_get(j, "topic_id"));
    snprintf(path, sizeof path, "/config/topics/%s", name);
    json_t *cj = NULL;
    if (zk_sync_get_data(c->zk, path, &cfgdata, NULL, NULL) == ZOK)
        cj = json_loads(cfgdata, 0, NULL);
    json_t *cfgobj = json_object_get(cj, "config");
    int ncfgs = (int)json_object_size(cfgobj), i = 0;
    struct tconfig *cfgs = calloc((size_t)ncfgs + 1, sizeof *cfgs);
    const char *k;
    json_t *v;
    json_object_foreach(cfgobj, k, v) {
        if (cfgs && json_is_string(v)) {
            cfgs[i].name = (char *)k;
            cfgs[i++].value = (char *)json_string_value(v);
        }
    }
    struct topic *t = NULL;
    char err[256];
    int e = nparts > 0 && cfgs ? topics_create(c->b->topics, kstr_c(name), nparts, -1, cfgs, i,
                                               false, &t, err, sizeof err)
                               : KERR_INVALID_PARTITIONS;
    if (e == KERR_NONE) {
        /* Keep the metastore's topic id.  A failed save (logged by
         * topics_save) leaves the old id in the local topic list only: the
         * next start takes the topic from the metastore again. */
        if (id && kuuid_from_b64(id, t->id) == 0 && topics_save(c->b->topics) != 0)
            KLOG_WARN("metastore: topic %s: its metastore topic id is not saved locally", name);
        KLOG_INFO("metastore: topic %s (%d partitions) taken from the metastore", name, nparts);
    } else {
        KLOG_WARN("metastore: cannot create topic %s found there: error %d %s", name, e, err);
    }
    free(cfgs);
    json_decref(cj);
    json_decref(j);
    free(cfgdata);
    free(data);
}

static bool in_list(char **v, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Delete a znode that may be gone already: false (logged) if the metastore
 * failed. */
static bool zk_delete_gone(struct cluster *c, const char *path)
{
    int rc = zk_sync_delete(c->zk, path);
    if (rc == ZOK || rc == ZNONODE)
        return true;
    KLOG_WARN("metastore: cannot delete %s: error %d", path, rc);
    return false;
}

/* Deletions queued while the broker was away (/admin/delete_topics). */
static void pending_deletions(struct cluster *c)
{
    char **del = NULL, path[600];
    int ndel = 0;
    if (zk_sync_get_children(c->zk, "/admin/delete_topics", &del, &ndel) != ZOK)
        return;
    for (int i = 0; i < ndel; i++) {
        struct topic *t = topics_find(c->b->topics, kstr_c(del[i]));
        bool ok = true;
        if (t) {
            int32_t n = t->nparts;
            topics_delete(c->b->topics, t);
            for (int32_t p = 0; p < n; p++) {
                snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d/state", del[i], p);
                ok = zk_delete_gone(c, path) && ok;
                snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d", del[i], p);
                ok = zk_delete_gone(c, path) && ok;
            }
        }
        snprintf(path, sizeof path, "/brokers/topics/%s/partitions", del[i]);
        ok = zk_delete_gone(c, path) && ok;
        snprintf(path, sizeof path, "/brokers/topics/%s", del[i]);
        ok = zk_delete_gone(c, path) && ok;
        snprintf(path, sizeof path, "/config/topics/%s", del[i]);
        ok = zk_delete_gone(c, path) && ok;
        /* Dequeued even when a znode above could not go: the topic is gone
         * here, and a retry at the next start would no longer know its
         * partitions.  The failures are logged. */
        snprintf(path, sizeof path, "/admin/delete_topics/%s", del[i]);
        ok = zk_delete_gone(c, path) && ok;
        if (ok)
            KLOG_INFO("metastore: topic %s deleted as queued in /admin/delete_topics", del[i]);
        else
            KLOG_WARN("metastore: topic %s deleted as queued in /admin/delete_topics, but some of "
                      "its znodes could not be removed (above)", del[i]);
    }
    zk_strings_free(del, ndel);
}

static int reconcile_topics(struct cluster *c)
{
    pending_deletions(c);
    char **names = NULL;
    int n = 0;
    int rc = zk_sync_get_children(c->zk, "/brokers/topics", &names, &n);
    if (rc != ZOK) {
        KLOG_ERROR("metastore: cannot list /brokers/topics: %s", zk_err_name(rc));
        return -1;
    }
    struct topics *ts = c->b->topics;
    for (int i = 0; i < n; i++)
        if (!topics_find(ts, kstr_c(names[i])))
            adopt_topic(c, names[i]);
    /* Local topics unknown there (a log dir from before zookeeper.connect):
     * registered, so the metastore describes everything served. */
    for (int i = 0; i < ts->n; i++)
        if (!in_list(names, n, ts->v[i]->name)) {
            KLOG_INFO("metastore: registering local topic %s", ts->v[i]->name);
            topic_changed(c, ts->v[i], TOPIC_CREATED);
        }
    zk_strings_free(names, n);
    return 0;
}

/* The JAAS `Client` section's username/password, if any: the broker's
 * login to the metastore, as Kafka's ZooKeeper client reads it. */
static void client_credentials(char **user, char **password)
{
    char path[4096], err[256];
    *user = *password = NULL;
    if (jaas_path_from_jvm_opts(getenv("KAFKA_OPTS"), path, sizeof path) != 0)
        return;
    struct jaas_config jc;
    if (jaas_parse_file(path, &jc, err, sizeof err) != 0)
        return;
    const struct jaas_section *s = jaas_section(&jc, "Client");
    if (s && s->nentries > 0) {
        const char *u = jaas_option(&s->entries[0], "username");
        const char *p = jaas_option(&s->entries[0], "password");
        if (u && p) {
            *user = strdup(u);
            *password = strdup(p);
        }
    }
    jaas_free(&jc);
}

int cluster_open(struct broker *b)
{
    const struct broker_config *cfg = b->cfg;
    if (!cfg->zookeeper_connect || !*cfg->zookeeper_connect)
        return 0;
    struct cluster *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->b = b;
    b->cluster = c;
    char err[256], *user, *password;
    client_credentials(&user, &password);
    if (cfg->zookeeper_set_acl && !user) {
        /* The secure ACLs name the broker's SASL identity; without a login
         * every znode would be the creator's in name only (Kafka refuses too). */
        KLOG_ERROR("zookeeper.set.acl is true, but there is no SASL login to the metastore: "
                   "KAFKA_OPTS -Djava.security.auth.login.config must name a JAAS file with a "
                   "Client section (username, password)");
        return -1;
    }
    struct zk_options o = {
        .connect = cfg->zookeeper_connect,
        .session_timeout_ms = cfg->zookeeper_session_timeout_ms,
        .connection_timeout_ms = cfg->zookeeper_connection_timeout_ms,
        .sasl_user = user,
        .sasl_password = password,
        .set_acl = cfg->zookeeper_set_acl,
    };
    c->zk = zk_new(b->base, &o, on_state, c, err, sizeof err);
    b->zk = c->zk;
    free(user);
    free(password);
    c->retry_ev = evtimer_new(b->base, retry_register, c);
    if (!c->zk || !c->retry_ev) {
        KLOG_ERROR("%s", c->zk ? "out of memory" : err);
        return -1;
    }
    zk_start(c->zk);
    const bool never = false;
    int64_t deadline = clock_wall_ms() + cfg->zookeeper_connection_timeout_ms;
    while (zk_get_state(c->zk) != ZK_CONNECTED && zk_get_state(c->zk) != ZK_AUTH_FAILED &&
           clock_wall_ms() < deadline)
        zk_wait(c->zk, &never, 200);
    if (zk_get_state(c->zk) == ZK_AUTH_FAILED)
        return -1;                       /* zk.c said why */
    if (zk_get_state(c->zk) != ZK_CONNECTED) {
        KLOG_ERROR("metastore: no session with %s within %d ms", cfg->zookeeper_connect,
                   cfg->zookeeper_connection_timeout_ms);
        return -1;
    }
    int rc = zk_sync_make_chroot(c->zk);
    for (size_t i = 0; rc == ZOK && i < sizeof top_paths / sizeof top_paths[0]; i++)
        rc = zk_sync_mkdirs(c->zk, top_paths[i]);
    if (rc != ZOK) {
        KLOG_ERROR("metastore: cannot create Kafka's paths: %s", zk_err_name(rc));
        return -1;
    }
    if (check_cluster_id(c) != 0)
        return -1;
    register_broker(c);
    /* Long enough to wait out a stale registration (registered_owner). */
    deadline = clock_wall_ms() + cfg->zookeeper_session_timeout_ms + 15000;
    while (!c->registered && !c->gave_up && clock_wall_ms() < deadline &&
           zk_get_state(c->zk) != ZK_AUTH_FAILED)
        zk_wait(c->zk, &c->registered, 500);
    if (!c->registered) {
        if (!c->gave_up)
            KLOG_ERROR("metastore: could not register broker %d", cfg->broker_id);
        return -1;
    }
    if (reconcile_topics(c) != 0)
        return -1;
    b->topics->writable = topics_writable;
    b->topics->changed = topic_changed;
    b->topics->hook_arg = c;
    c->started = true;
    return 0;
}

void cluster_close(struct broker *b)
{
    struct cluster *c = b->cluster;
    if (!c)
        return;
    b->topics->writable = NULL;
    b->topics->changed = NULL;
    /* Writes still in flight (a topic created just before the stop) land
     * before the session closes. */
    zk_drain(c->zk, 3000);
    zk_free(c->zk);
    b->zk = NULL;
    if (c->retry_ev)
        event_free(c->retry_ev);
    free(c);
    b->cluster = NULL;
}

struct zk *cluster_zk(const struct broker *b)
{
    return b->cluster ? b->cluster->zk : NULL;
}

bool cluster_writable(const struct broker *b)
{
    return !b->cluster || topics_writable(b->cluster);
}
