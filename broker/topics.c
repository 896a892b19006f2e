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

#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "log.h"
#include "producer_state.h"
#include "record_batch.h"

#define META_FILE "kavka-topics.json"

/* Topic-level configs Kafka knows, with the broker key that supplies the
 * default. Values are validated by kind. */
enum tkind { TK_LONG, TK_INT, TK_STR, TK_BOOL, TK_DOUBLE };
static const struct tdef {
    const char *name;
    enum tkind kind;
    int64_t min;
} tdefs[] = {
    { "cleanup.policy", TK_STR, 0 },
    { "compression.type", TK_STR, 0 },
    { "delete.retention.ms", TK_LONG, 0 },
    { "file.delete.delay.ms", TK_LONG, 0 },
    { "flush.messages", TK_LONG, 1 },
    { "flush.ms", TK_LONG, 0 },
    { "index.interval.bytes", TK_INT, 0 },
    { "local.retention.bytes", TK_LONG, -2 },
    { "local.retention.ms", TK_LONG, -2 },
    { "max.compaction.lag.ms", TK_LONG, 1 },
    { "max.message.bytes", TK_INT, 0 },
    { "message.downconversion.enable", TK_BOOL, 0 },
    { "message.timestamp.after.max.ms", TK_LONG, 0 },
    { "message.timestamp.before.max.ms", TK_LONG, 0 },
    { "message.timestamp.difference.max.ms", TK_LONG, 0 },
    { "message.timestamp.type", TK_STR, 0 },
    { "min.cleanable.dirty.ratio", TK_DOUBLE, 0 },
    { "min.compaction.lag.ms", TK_LONG, 0 },
    { "min.insync.replicas", TK_INT, 1 },
    { "preallocate", TK_BOOL, 0 },
    { "remote.storage.enable", TK_BOOL, 0 },
    { "retention.bytes", TK_LONG, -1 },
    { "retention.ms", TK_LONG, -1 },
    { "segment.bytes", TK_INT, 14 },
    { "segment.index.bytes", TK_INT, 4 },
    { "segment.jitter.ms", TK_LONG, 0 },
    { "segment.ms", TK_LONG, 1 },
    { "unclean.leader.election.enable", TK_BOOL, 0 },
    { "follower.replication.throttled.replicas", TK_STR, 0 },
    { "leader.replication.throttled.replicas", TK_STR, 0 },
};

static const struct tdef *tdef_find(const char *name)
{
    for (size_t i = 0; i < sizeof tdefs / sizeof tdefs[0]; i++)
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
    const struct tdef *d = tdef_find(name);
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
    case TK_LONG:
    case TK_INT:
        if (!parse_long(value, &v) || v < d->min ||
            (d->kind == TK_INT && v > INT32_MAX)) {
            snprintf(err, errlen, "Invalid value %s for configuration %s", value, name);
            return KERR_INVALID_CONFIG;
        }
        break;
    case TK_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false")) {
            snprintf(err, errlen, "Invalid value %s for configuration %s: Expected value to be either true or false",
                     value, name);
            return KERR_INVALID_CONFIG;
        }
        break;
    case TK_DOUBLE: {
        char *end;
        strtod(value, &end);
        if (end == value || *end) {
            snprintf(err, errlen, "Invalid value %s for configuration %s", value, name);
            return KERR_INVALID_CONFIG;
        }
        break;
    }
    case TK_STR:
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

static void topic_free(struct topic *t, bool delete_data)
{
    for (int32_t i = 0; i < t->nparts; i++) {
        pstate_free(t->parts[i].producers);
        if (!t->parts[i].log)
            continue;
        if (delete_data)
            plog_delete(t->parts[i].log);
        else
            plog_close(t->parts[i].log);
    }
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->configs[i].name);
        free(t->configs[i].value);
    }
    free(t->configs);
    free(t->parts);
    free(t->name);
    free(t);
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
    pstate_update(arg, &b);
}

static int topic_open_logs(struct topics *ts, struct topic *t)
{
    effective_log_config(ts, t);
    t->parts = calloc((size_t)t->nparts, sizeof *t->parts);
    if (!t->parts)
        return -1;
    for (int32_t i = 0; i < t->nparts; i++) {
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
    }
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

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Temp file, fsync, rename, fsync the directory: a crash leaves either
 * the old file or the new one, never a torn one. */
static int topics_save(struct topics *ts)
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
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", ts->dir, META_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int rc = -1;
    FILE *f = fopen(tmp, "w");
    if (f) {
        if (json_dumpf(root, f, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 && fflush(f) == 0 &&
            fsync(fileno(f)) == 0)
            rc = 0;
        if (fclose(f) != 0)
            rc = -1;
    }
    json_decref(root);
    if (rc == 0 && rename(tmp, path) == 0 && fsync_dir(ts->dir) == 0)
        return 0;
    KLOG_ERROR("cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
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

int topics_open(struct topics *ts, const struct broker_config *cfg)
{
    memset(ts, 0, sizeof *ts);
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

void topics_close(struct topics *ts)
{
    for (int i = 0; i < ts->n; i++)
        topic_free(ts->v[i], false);
    free(ts->v);
    free(ts->dir);
    memset(ts, 0, sizeof *ts);
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
        topic_free(t, true);
        topics_save(ts);
        snprintf(err, errlen, "Storage error while creating topic");
        return KERR_KAFKA_STORAGE_ERROR;
    }
    KLOG_INFO("created topic %s with %d partitions", t->name, t->nparts);
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
    memmove(&ts->v[idx], &ts->v[idx + 1], sizeof *ts->v * (size_t)(ts->n - idx - 1));
    ts->n--;
    if (topics_save(ts) != 0) {
        ts->v[ts->n++] = t; /* order does not matter */
        return KERR_KAFKA_STORAGE_ERROR;
    }
    KLOG_INFO("deleted topic %s", t->name);
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
            plog_maybe_flush(l, now);
            if (retention) {
                int n = plog_enforce_retention(l, now);
                if (n > 0)
                    KLOG_INFO("%s-%d: retention deleted %d segment(s), log start offset now %lld",
                              t->name, p, n, (long long)plog_start_offset(l));
            }
        }
    }
}
