/*
 * topics.c — topic registry, its durable metadata file, and per-topic log
 * settings. See topics.h.
 */
#include "topics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "log.h"
#include "producer_state.h"
#include "record_batch.h"

#define META_FILE "kavka-topics.json"

/* Topic-level configs Kafka knows (LogConfig), with the broker keys that
 * supply their default (Kafka's ServerTopicConfigSynonyms), most precise
 * first; "key:N" means the broker value is multiplied by N (hours -> ms).
 * `dflt` is Kafka's default where kavka's config table lacks the broker key.
 * DescribeConfigs (admin_configs.c) and validation both walk this table. */
#define TSTR TCK_STRING
static const struct topic_config_def tdefs[] = {
    { "cleanup.policy", TCK_LIST, 0, "log.cleanup.policy", "delete",
      "How old segments are discarded: delete (compact is not implemented)." },
    { "compression.type", TSTR, 0, "compression.type", "producer",
      "Compression of stored batches (recorded: batches are stored as the producer sent them)." },
    { "delete.retention.ms", TCK_LONG, 0, NULL, "86400000",
      "How long delete tombstones are kept on compacted topics (recorded)." },
    { "file.delete.delay.ms", TCK_LONG, 0, NULL, "60000",
      "Delay before a deleted segment file is removed (recorded)." },
    { "flush.messages", TCK_LONG, 1, "log.flush.interval.messages", NULL,
      "fsync the partition after this many messages." },
    { "flush.ms", TCK_LONG, 0, "log.flush.interval.ms,log.flush.scheduler.interval.ms", NULL,
      "fsync the partition after this time." },
    { "follower.replication.throttled.replicas", TCK_LIST, 0, NULL, "",
      "Replicas whose follower replication is throttled (recorded)." },
    { "index.interval.bytes", TCK_INT, 0, "log.index.interval.bytes", NULL,
      "Bytes of records between two offset-index entries." },
    { "leader.replication.throttled.replicas", TCK_LIST, 0, NULL, "",
      "Replicas whose leader replication is throttled (recorded)." },
    { "local.retention.bytes", TCK_LONG, -2, NULL, "-2",
      "Local retention with tiered storage (recorded)." },
    { "local.retention.ms", TCK_LONG, -2, NULL, "-2",
      "Local retention with tiered storage (recorded)." },
    { "max.compaction.lag.ms", TCK_LONG, 1, NULL, "9223372036854775807",
      "Longest time a record stays uncompacted (recorded)." },
    { "max.message.bytes", TCK_INT, 0, "message.max.bytes", NULL,
      "Largest record batch accepted for the topic." },
    { "message.downconversion.enable", TCK_BOOL, 0, NULL, "true",
      "Down-conversion for old fetch versions (recorded)." },
    { "message.timestamp.after.max.ms", TCK_LONG, 0, NULL, "9223372036854775807",
      "How far in the future a CreateTime timestamp may be (recorded)." },
    { "message.timestamp.before.max.ms", TCK_LONG, 0, NULL, "9223372036854775807",
      "How far in the past a CreateTime timestamp may be (recorded)." },
    { "message.timestamp.difference.max.ms", TCK_LONG, 0, NULL, "9223372036854775807",
      "Deprecated form of message.timestamp.before.max.ms (recorded)." },
    { "message.timestamp.type", TSTR, 0, "log.message.timestamp.type", NULL,
      "Record timestamps: CreateTime (LogAppendTime is not implemented)." },
    { "min.cleanable.dirty.ratio", TCK_DOUBLE, 0, "log.cleaner.min.cleanable.ratio", NULL,
      "Dirty ratio that makes a log eligible for cleaning (recorded)." },
    { "min.compaction.lag.ms", TCK_LONG, 0, NULL, "0",
      "Shortest time a record stays uncompacted (recorded)." },
    { "min.insync.replicas", TCK_INT, 1, "min.insync.replicas", NULL,
      "Replicas that must acknowledge an acks=all produce." },
    { "preallocate", TCK_BOOL, 0, "log.preallocate", NULL,
      "Preallocate segment files (recorded)." },
    { "remote.storage.enable", TCK_BOOL, 0, NULL, "false",
      "Tiered storage (recorded)." },
    { "retention.bytes", TCK_LONG, -1, "log.retention.bytes", NULL,
      "Delete old segments while the partition is larger than this; -1 = unlimited." },
    { "retention.ms", TCK_LONG, -1,
      "log.retention.ms,log.retention.minutes:60000,log.retention.hours:3600000", NULL,
      "Delete segments older than this; -1 = unlimited." },
    { "segment.bytes", TCK_INT, 14, "log.segment.bytes", NULL,
      "Maximum size of one segment file." },
    { "segment.index.bytes", TCK_INT, 4, "log.index.size.max.bytes", NULL,
      "Maximum size of an offset index file." },
    { "segment.jitter.ms", TCK_LONG, 0, NULL, "0",
      "Random jitter subtracted from segment.ms (recorded)." },
    { "segment.ms", TCK_LONG, 1, "log.roll.ms,log.roll.hours:3600000", NULL,
      "Roll a new segment after this time." },
    { "unclean.leader.election.enable", TCK_BOOL, 0, "unclean.leader.election.enable", NULL,
      "Allow out-of-sync replicas to become leader (recorded: one replica)." },
};
#define NTDEFS (sizeof tdefs / sizeof tdefs[0])

size_t topic_config_ndefs(void) { return NTDEFS; }

const struct topic_config_def *topic_config_def_at(size_t i)
{
    return i < NTDEFS ? &tdefs[i] : NULL;
}

const struct topic_config_def *topic_config_def_find(const char *name)
{
    for (size_t i = 0; i < NTDEFS; i++)
        if (strcmp(tdefs[i].name, name) == 0)
            return &tdefs[i];
    return NULL;
}

static bool parse_long(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

int topic_config_check(const char *name, const char *value, char *err, size_t errlen)
{
    const struct topic_config_def *d = topic_config_def_find(name);
    if (!d) {
        snprintf(err, errlen, "Unknown topic config name: %s", name);
        return KERR_INVALID_CONFIG;
    }
    if (!value) {
        snprintf(err, errlen, "Null value not supported for topic config %s", name);
        return KERR_INVALID_CONFIG;
    }
    int64_t v;
    switch (d->kind) {
    case TCK_LONG:
    case TCK_INT:
        if (!parse_long(value, &v) || v < d->min ||
            (d->kind == TCK_INT && v > INT32_MAX)) {
            snprintf(err, errlen, "Invalid value %s for configuration %s", value, name);
            return KERR_INVALID_CONFIG;
        }
        break;
    case TCK_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false")) {
            snprintf(err, errlen, "Invalid value %s for configuration %s: Expected value to be either true or false",
                     value, name);
            return KERR_INVALID_CONFIG;
        }
        break;
    case TCK_DOUBLE: {
        char *end;
        strtod(value, &end);
        if (end == value || *end) {
            snprintf(err, errlen, "Invalid value %s for configuration %s", value, name);
            return KERR_INVALID_CONFIG;
        }
        break;
    }
    case TCK_STRING:
    case TCK_LIST:
        break;
    }
    if (strcmp(name, "cleanup.policy") == 0 && strcmp(value, "delete") != 0) {
        /* Compaction is not implemented; accepting it would silently keep
         * or drop the wrong records. */
        snprintf(err, errlen, "cleanup.policy=%s is not supported by kavka (only delete)", value);
        return KERR_INVALID_CONFIG;
    }
    if (strcmp(name, "message.timestamp.type") == 0 && strcmp(value, "CreateTime") != 0) {
        snprintf(err, errlen, "message.timestamp.type=%s is not supported by kavka (only CreateTime)", value);
        return KERR_INVALID_CONFIG;
    }
    return KERR_NONE;
}

const char *topic_config_value(const struct topic *t, const char *name)
{
    for (int i = 0; i < t->nconfigs; i++)
        if (strcmp(t->configs[i].name, name) == 0)
            return t->configs[i].value;
    return NULL;
}

static int64_t cfg_long(const struct topic *t, const char *name, int64_t dflt)
{
    const char *v = topic_config_value(t, name);
    int64_t x;
    return v && parse_long(v, &x) ? x : dflt;
}

/* Topic overrides on top of the broker's log.* defaults. */
static void effective_log_config(const struct topics *ts, struct topic *t)
{
    const struct broker_config *c = ts->cfg;
    struct plog_config *l = &t->lcfg;
    l->segment_bytes = cfg_long(t, "segment.bytes", c->log_segment_bytes);
    l->roll_ms = cfg_long(t, "segment.ms", c->log_roll_ms);
    l->retention_ms = cfg_long(t, "retention.ms", c->log_retention_ms);
    l->retention_bytes = cfg_long(t, "retention.bytes", c->log_retention_bytes);
    l->flush_interval_messages = cfg_long(t, "flush.messages", c->log_flush_interval_messages);
    l->flush_interval_ms = cfg_long(t, "flush.ms", c->log_flush_interval_ms);
    l->index_interval_bytes = (int32_t)cfg_long(t, "index.interval.bytes", c->log_index_interval_bytes);
    l->max_message_bytes = (int32_t)cfg_long(t, "max.message.bytes", c->message_max_bytes);
    l->index_max_bytes = (int32_t)cfg_long(t, "segment.index.bytes", c->log_index_size_max_bytes);
    int64_t isr = cfg_long(t, "min.insync.replicas", c->min_insync_replicas);
    t->min_insync = isr > 0 && isr <= INT32_MAX ? (int32_t)isr : c->min_insync_replicas;
}

bool topic_name_valid(struct kstr name)
{
    if (name.len <= 0 || name.len > 249)
        return false;
    if ((name.len == 1 && name.p[0] == '.') ||
        (name.len == 2 && name.p[0] == '.' && name.p[1] == '.'))
        return false;
    for (int32_t i = 0; i < name.len; i++) {
        char ch = name.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static void part_dir(const struct topics *ts, const struct topic *t, int32_t p,
                     char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s-%d", ts->dir, t->name, p);
}

/* Returns the number of partition logs that were not closed cleanly
 * (offline after a storage failure: acknowledged records may be lost). */
static int topic_free(struct topic *t, bool delete_data)
{
    int failed = 0;
    for (int32_t i = 0; i < t->nparts; i++) {
        pstate_free(t->parts[i].producers);
        if (!t->parts[i].log)
            continue;
        if (delete_data)
            plog_delete(t->parts[i].log);
        else if (plog_close(t->parts[i].log) != 0)
            failed++;
    }
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->configs[i].name);
        free(t->configs[i].value);
    }
    free(t->configs);
    free(t->parts);
    free(t->name);
    free(t);
    return failed;
}

/* plog_scan callback: replay one batch header into the producer state. */
static void rebuild_producer(const struct rb_header *h, void *arg)
{
    if (h->producer_id < 0 || h->magic != RB_MAGIC)
        return;
    struct pbatch b = {
        .producer_id = h->producer_id,
        .epoch = h->producer_epoch,
        .first_seq = h->base_sequence,
        .last_seq = pbatch_last_seq(h->base_sequence, h->last_offset_delta),
        .first_offset = h->base_offset,
        .last_offset = h->base_offset + h->last_offset_delta,
    };
    /* Out of memory: this producer's last batches are not remembered, so a
     * retry of one of them after the restart is not recognised as a
     * duplicate; the open goes on (the callback cannot stop the scan). */
    if (pstate_update(arg, &b) != 0)
        KLOG_WARN("producer state: out of memory rebuilding producer %" PRId64 "'s batches",
                  h->producer_id);
}

static int open_partition(struct topics *ts, struct topic *t, int32_t i)
{
    char dir[4096];
    part_dir(ts, t, i, dir, sizeof dir);
    t->parts[i].topic = t;
    t->parts[i].id = i;
    if (plog_open(dir, &t->lcfg, &t->parts[i].log) != 0) {
        KLOG_ERROR("cannot open partition log %s", dir);
        return -1;
    }
    t->parts[i].producers = pstate_new();
    if (!t->parts[i].producers)
        return -1;
    plog_scan(t->parts[i].log, rebuild_producer, t->parts[i].producers);
    return 0;
}

static int topic_open_logs(struct topics *ts, struct topic *t)
{
    effective_log_config(ts, t);
    t->parts = calloc((size_t)t->nparts, sizeof *t->parts);
    if (!t->parts)
        return -1;
    for (int32_t i = 0; i < t->nparts; i++)
        if (open_partition(ts, t, i) != 0)
            return -1;
    return 0;
}

/* ---------------- durable metadata ---------------- */

static void hex16(const uint8_t id[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static bool unhex16(const char *s, uint8_t id[16])
{
    if (!s || strlen(s) != 32)
        return false;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        id[i] = (uint8_t)v;
    }
    return true;
}

/* Temp file, fsync, rename, fsync the directory: a crash leaves either
 * the old file or the new one, never a torn one. */
int topics_save(struct topics *ts)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "version", json_integer(1));
    for (int i = 0; i < ts->n; i++) {
        struct topic *t = ts->v[i];
        char id[33];
        hex16(t->id, id);
        json_t *cfg = json_object();
        for (int k = 0; k < t->nconfigs; k++)
            json_object_set_new(cfg, t->configs[k].name, json_string(t->configs[k].value));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:o}", "name", t->name, "id", id,
                                             "partitions", (int)t->nparts, "configs", cfg));
    }
    json_object_set_new(root, "topics", arr);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ts->dir, META_FILE);
    int rc = atomic_write_json(path, root, 0644);
    json_decref(root);
    if (rc != 0)
        KLOG_ERROR("cannot write %s: %s", path, strerror(errno));
    return rc;
}

static int topics_load(struct topics *ts)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ts->dir, META_FILE);
    if (access(path, F_OK) != 0)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        KLOG_ERROR("%s: %s (line %d)", path, jerr.text, jerr.line);
        return -1;
    }
    json_t *arr = json_object_get(root, "topics"), *jt;
    size_t i;
    int rc = 0;
    json_array_foreach(arr, i, jt) {
        struct topic *t = calloc(1, sizeof *t);
        const char *name = json_string_value(json_object_get(jt, "name"));
        json_int_t np = json_integer_value(json_object_get(jt, "partitions"));
        if (!t || !name || np <= 0 ||
            !unhex16(json_string_value(json_object_get(jt, "id")), t->id)) {
            KLOG_ERROR("%s: bad topic entry %zu", path, i);
            free(t);
            rc = -1;
            break;
        }
        t->name = strdup(name);
        t->nparts = (int32_t)np;
        json_t *cfg = json_object_get(jt, "configs"), *jv;
        const char *k;
        t->configs = calloc(json_object_size(cfg) + 1, sizeof *t->configs);
        json_object_foreach(cfg, k, jv) {
            t->configs[t->nconfigs].name = strdup(k);
            t->configs[t->nconfigs].value = strdup(json_string_value(jv) ? json_string_value(jv) : "");
            t->nconfigs++;
        }
        struct topic **nv = realloc(ts->v, sizeof *nv * (size_t)(ts->n + 1));
        if (!nv) {
            topic_free(t, false);
            rc = -1;
            break;
        }
        ts->v = nv;
        ts->v[ts->n++] = t;
        if (topic_open_logs(ts, t) != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

/* A partition log went offline (a failed fsync: log.c). Kafka takes the
 * whole log dir offline and, with no other dir, halts; kavka keeps serving
 * the other partitions unless the log dir itself no longer takes a durable
 * write, and then exits non-zero at once: nothing it would still do there
 * could be made durable. */
static void partition_offline(const char *dir, int err, void *arg)
{
    struct topics *ts = arg;
    (void)err;
    if (ts->dir && fio_probe_dir(ts->dir) != 0) {
        KLOG_ERROR("log dir %s is unusable (%s, after %s went offline): exiting", ts->dir,
                   strerror(errno), dir);
        exit(1);
    }
}

int topics_open(struct topics *ts, const struct broker_config *cfg)
{
    memset(ts, 0, sizeof *ts);
    plog_set_offline_hook(partition_offline, ts);
    ts->cfg = cfg;
    ts->dir = strdup(cfg->log_dirs);
    if (mkdir(ts->dir, 0755) != 0 && errno != EEXIST) {
        KLOG_ERROR("cannot create log dir %s: %s", ts->dir, strerror(errno));
        return -1;
    }
    if (topics_load(ts) != 0)
        return -1;
    KLOG_INFO("loaded %d topics from %s", ts->n, ts->dir);
    return 0;
}

int topics_close(struct topics *ts)
{
    int failed = 0;
    for (int i = 0; i < ts->n; i++)
        failed += topic_free(ts->v[i], false);
    free(ts->v);
    free(ts->dir);
    memset(ts, 0, sizeof *ts);
    plog_set_offline_hook(NULL, NULL);
    return failed;
}

struct topic *topics_find(struct topics *ts, struct kstr name)
{
    if (name.len < 0)
        return NULL;
    for (int i = 0; i < ts->n; i++)
        if (kstr_eq(name, ts->v[i]->name))
            return ts->v[i];
    return NULL;
}

struct topic *topics_find_id(struct topics *ts, const uint8_t id[16])
{
    for (int i = 0; i < ts->n; i++)
        if (memcmp(ts->v[i]->id, id, 16) == 0)
            return ts->v[i];
    return NULL;
}

struct partition *topics_partition(struct topics *ts, struct kstr name, int32_t part)
{
    struct topic *t = topics_find(ts, name);
    if (!t || part < 0 || part >= t->nparts)
        return NULL;
    return &t->parts[part];
}

int topics_check_writable(const struct topics *ts, char *err, size_t errlen)
{
    if (!ts->writable || ts->writable(ts->hook_arg))
        return KERR_NONE;
    snprintf(err, errlen, "The metastore is unreachable: metadata changes wait until it is back.");
    return KERR_NOT_CONTROLLER;
}

void topics_notify(struct topics *ts, const struct topic *t, enum topic_change what)
{
    if (ts->changed)
        ts->changed(ts->hook_arg, t, what);
}

int topics_create(struct topics *ts, struct kstr name, int32_t nparts, int16_t rf,
                  const struct tconfig *cfgs, int ncfgs, bool validate_only,
                  struct topic **out, char *err, size_t errlen)
{
    err[0] = 0;
    if (!topic_name_valid(name)) {
        snprintf(err, errlen, "Topic name \"%.*s\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
                 name.len > 0 ? (int)name.len : 0, name.p ? name.p : "");
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (topics_find(ts, name)) {
        snprintf(err, errlen, "Topic '%.*s' already exists.", (int)name.len, name.p);
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    if (nparts == -1)
        nparts = ts->cfg->num_partitions;
    if (nparts <= 0 || nparts > 100000) {
        snprintf(err, errlen, "Number of partitions must be larger than 0.");
        return KERR_INVALID_PARTITIONS;
    }
    if (rf == -1)
        rf = (int16_t)ts->cfg->default_replication_factor;
    if (rf != 1) {
        snprintf(err, errlen, "Replication factor: %d larger than available brokers: 1.", rf);
        return rf <= 0 ? KERR_INVALID_REPLICATION_FACTOR : KERR_INVALID_REPLICATION_FACTOR;
    }
    for (int i = 0; i < ncfgs; i++) {
        int e = topic_config_check(cfgs[i].name, cfgs[i].value, err, errlen);
        if (e)
            return e;
    }
    if (validate_only)
        return KERR_NONE;
    int w = topics_check_writable(ts, err, errlen);
    if (w)
        return w;

    struct topic *t = calloc(1, sizeof *t);
    if (!t)
        return KERR_UNKNOWN_SERVER_ERROR;
    t->name = kstr_dup(name);
    t->nparts = nparts;
    if (RAND_bytes(t->id, 16) != 1) {
        free(t->name);
        free(t);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    t->id[6] = (t->id[6] & 0x0f) | 0x40; /* UUID v4, as Kafka's Uuid.randomUuid */
    t->id[8] = (t->id[8] & 0x3f) | 0x80;
    t->configs = calloc((size_t)ncfgs + 1, sizeof *t->configs);
    for (int i = 0; i < ncfgs; i++) {
        t->configs[i].name = strdup(cfgs[i].name);
        t->configs[i].value = strdup(cfgs[i].value);
    }
    t->nconfigs = ncfgs;
    struct topic **nv = realloc(ts->v, sizeof *nv * (size_t)(ts->n + 1));
    if (!nv) {
        topic_free(t, false);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    ts->v = nv;
    ts->v[ts->n++] = t;
    /* Metadata first: a crash between the two leaves a topic whose empty
     * partition directories are created again on the next start. */
    if (topics_save(ts) != 0 || topic_open_logs(ts, t) != 0) {
        ts->n--;
        /* Out of the saved list again; if that fails too (logged by
         * topics_save), the next start finds it listed and opens it anew. */
        if (topics_save(ts) != 0)
            KLOG_WARN("topic %s: still in the saved topic list after its failed create", t->name);
        topic_free(t, true);
        snprintf(err, errlen, "Storage error while creating topic");
        return KERR_KAFKA_STORAGE_ERROR;
    }
    KLOG_INFO("created topic %s with %d partitions", t->name, t->nparts);
    topics_notify(ts, t, TOPIC_CREATED);
    if (out)
        *out = t;
    return KERR_NONE;
}

int topics_delete(struct topics *ts, struct topic *t)
{
    int idx = -1;
    for (int i = 0; i < ts->n; i++)
        if (ts->v[i] == t)
            idx = i;
    if (idx < 0)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    char err[128];
    int w = topics_check_writable(ts, err, sizeof err);
    if (w)
        return w;
    memmove(&ts->v[idx], &ts->v[idx + 1], sizeof *ts->v * (size_t)(ts->n - idx - 1));
    ts->n--;
    if (topics_save(ts) != 0) {
        ts->v[ts->n++] = t; /* order does not matter */
        return KERR_KAFKA_STORAGE_ERROR;
    }
    KLOG_INFO("deleted topic %s", t->name);
    topics_notify(ts, t, TOPIC_DELETED);
    topic_free(t, true);
    return KERR_NONE;
}

void topics_housekeeping(struct topics *ts, int64_t now)
{
    bool retention = now - ts->last_retention_ms >= ts->cfg->log_retention_check_interval_ms;
    if (retention)
        ts->last_retention_ms = now;
    for (int i = 0; i < ts->n; i++) {
        struct topic *t = ts->v[i];
        for (int32_t p = 0; p < t->nparts; p++) {
            struct plog *l = t->parts[p].log;
            /* A failed flush took the partition offline (the log reports it
             * once, through the offline hook); nothing more to do with an
             * offline log here, retention included. */
            if (plog_maybe_flush(l, now) != KERR_NONE)
                continue;
            if (retention) {
                int n = plog_enforce_retention(l, now);
                if (n > 0)
                    KLOG_INFO("%s-%d: retention deleted %d segment(s), log start offset now %lld",
                              t->name, p, n, (long long)plog_start_offset(l));
            }
        }
    }
}

/* Recompute a topic's log settings and hand them to its open partitions. */
static void topic_apply_config(struct topics *ts, struct topic *t)
{
    effective_log_config(ts, t);
    for (int32_t p = 0; p < t->nparts; p++)
        if (t->parts[p].log)
            plog_set_config(t->parts[p].log, &t->lcfg);
}

void topics_reconfigure(struct topics *ts)
{
    for (int i = 0; i < ts->n; i++)
        topic_apply_config(ts, ts->v[i]);
}

static void tconfigs_free(struct tconfig *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

static int set_configs(struct topics *ts, struct topic *t, const struct tconfig *cfgs, int n,
                       bool mirror)
{
    char err[128];
    int w = mirror ? topics_check_writable(ts, err, sizeof err) : KERR_NONE;
    if (w)
        return w;
    struct tconfig *nv = calloc((size_t)n + 1, sizeof *nv);
    if (!nv)
        return KERR_UNKNOWN_SERVER_ERROR;
    for (int i = 0; i < n; i++) {
        nv[i].name = strdup(cfgs[i].name);
        nv[i].value = strdup(cfgs[i].value ? cfgs[i].value : "");
        if (!nv[i].name || !nv[i].value) {
            tconfigs_free(nv, i + 1);
            return KERR_UNKNOWN_SERVER_ERROR;
        }
    }
    struct tconfig *old = t->configs;
    int nold = t->nconfigs;
    t->configs = nv;
    t->nconfigs = n;
    if (topics_save(ts) != 0) {
        /* Keep serving with the old overrides: the file still has them. */
        t->configs = old;
        t->nconfigs = nold;
        tconfigs_free(nv, n);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    tconfigs_free(old, nold);
    topic_apply_config(ts, t);
    KLOG_INFO("topic %s: %d config override(s) now", t->name, n);
    if (mirror)
        topics_notify(ts, t, TOPIC_CONFIG_CHANGED);
    return KERR_NONE;
}

int topics_set_configs(struct topics *ts, struct topic *t, const struct tconfig *cfgs, int n)
{
    return set_configs(ts, t, cfgs, n, true);
}

int topics_set_configs_stored(struct topics *ts, struct topic *t, const struct tconfig *cfgs,
                              int n)
{
    return set_configs(ts, t, cfgs, n, false);
}

int topics_add_partitions(struct topics *ts, struct topic *t, int32_t count, char *err,
                          size_t errlen)
{
    int32_t old = t->nparts;
    if (count <= old) {
        snprintf(err, errlen, "Topic currently has %d partitions, which is higher than the "
                 "requested %d.", old, count);
        return KERR_INVALID_PARTITIONS;
    }
    int w = topics_check_writable(ts, err, errlen);
    if (w)
        return w;
    /* Fetch waiters compare partitions by address only, so moving the
     * array costs a parked fetch at most its wait time. */
    struct partition *np = realloc(t->parts, sizeof *np * (size_t)count);
    if (!np)
        return KERR_UNKNOWN_SERVER_ERROR;
    memset(np + old, 0, sizeof *np * (size_t)(count - old));
    t->parts = np;
    for (int32_t i = 0; i < old; i++)
        np[i].topic = t;
    for (int32_t i = old; i < count; i++) {
        if (open_partition(ts, t, i) != 0) {
            for (int32_t k = old; k <= i; k++) {
                pstate_free(np[k].producers);
                if (np[k].log)
                    plog_delete(np[k].log);
            }
            snprintf(err, errlen, "Storage error while adding partitions");
            return KERR_KAFKA_STORAGE_ERROR;
        }
    }
    /* Logs first, then metadata: a crash between leaves empty directories
     * that the next start ignores, never metadata naming missing logs. */
    t->nparts = count;
    if (topics_save(ts) != 0) {
        for (int32_t k = old; k < count; k++) {
            pstate_free(np[k].producers);
            plog_delete(np[k].log);
        }
        t->nparts = old;
        snprintf(err, errlen, "Storage error while adding partitions");
        return KERR_KAFKA_STORAGE_ERROR;
    }
    KLOG_INFO("topic %s: partitions %d -> %d", t->name, old, count);
    topics_notify(ts, t, TOPIC_PARTITIONS_ADDED);
    return KERR_NONE;
}
