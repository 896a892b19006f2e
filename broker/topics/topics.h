/*
 * topics.h — the broker's topics and partitions.
 *
 * Topic metadata (name, id, partition count, topic configs) is kept in
 * `<log.dir>/kavka-topics.json`, rewritten atomically (temp file, fsync,
 * rename, fsync of the directory) on every change. Partition data lives in
 * `<log.dir>/<topic>-<partition>/` (see log.h). A later issue moves the
 * metadata into the metastore.
 */
#ifndef KAVKA_TOPICS_H
#define KAVKA_TOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "wire.h"
#include "compiler.h"

struct broker_config;

struct tconfig {
    char *name;
    char *value;
};

struct pstate;
struct partition {
    struct topic *topic;
    int32_t id;
    struct plog *log;
    struct pstate *producers;  /* idempotent producers' sequences */
};

struct topic {
    char *name;
    uint8_t id[16];
    int32_t nparts;
    struct partition *parts;
    struct tconfig *configs;   /* topic-level overrides as given */
    int nconfigs;
    struct plog_config lcfg;   /* effective log settings */
    int32_t min_insync;        /* effective min.insync.replicas (override, else the broker's) */
    uint64_t m_messages_in, m_bytes_in, m_bytes_out; /* counted for /metrics (metrics.h) */
};

/* What topics_* tell the metastore mirror (cluster.c) after a change. */
enum topic_change { TOPIC_CREATED, TOPIC_DELETED, TOPIC_CONFIG_CHANGED, TOPIC_PARTITIONS_ADDED };

struct topics {
    char *dir;
    const struct broker_config *cfg;
    struct topic **v;
    int n;
    int64_t last_retention_ms;
    /* Optional hooks: `writable` refuses metadata changes while it says no
     * (the metastore is unreachable: KERR_NOT_CONTROLLER, retriable);
     * `changed` hears every change made. */
    bool (*writable)(void *arg);
    void (*changed)(void *arg, const struct topic *t, enum topic_change what);
    void *hook_arg;
};

/* Write the topic metadata file (after changing a topic in place). */
int topics_save(struct topics *ts) KV_MUST_CHECK;

/* Refuse a metadata change now? Sets err. */
int topics_check_writable(const struct topics *ts, char *err, size_t errlen);
void topics_notify(struct topics *ts, const struct topic *t, enum topic_change what);

int topics_open(struct topics *ts, const struct broker_config *cfg);
/* Close every partition log; returns how many were not closed cleanly
 * (offline after a storage failure), for the broker's exit status. */
int topics_close(struct topics *ts);

struct topic *topics_find(struct topics *ts, struct kstr name);
struct topic *topics_find_id(struct topics *ts, const uint8_t id[16]);
struct partition *topics_partition(struct topics *ts, struct kstr name, int32_t part);

/* Kafka's rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool topic_name_valid(struct kstr name);

/* The topic-level configs Kafka knows (topics.c's table). */
enum topic_config_kind { TCK_LONG, TCK_INT, TCK_STRING, TCK_BOOL, TCK_DOUBLE, TCK_LIST };
struct topic_config_def {
    const char *name;
    enum topic_config_kind kind;
    int64_t min;            /* numeric kinds */
    const char *synonyms;   /* broker keys giving the default, most precise first,
                               comma-separated, "key:N" = value times N; or NULL */
    const char *dflt;       /* Kafka's default when no synonym applies */
    const char *doc;
};
size_t topic_config_ndefs(void);
const struct topic_config_def *topic_config_def_at(size_t i);
const struct topic_config_def *topic_config_def_find(const char *name);

/* Validate a topic config (name known to Kafka, value well-formed).
 * Returns KERR_NONE or KERR_INVALID_CONFIG with a message in err. */
int topic_config_check(const char *name, const char *value, char *err, size_t errlen);

/* Create a topic; returns a Kafka error code (and a message in err).
 * With validate_only nothing is created. nparts <= 0 means num.partitions. */
int topics_create(struct topics *ts, struct kstr name, int32_t nparts, int16_t rf,
                  const struct tconfig *cfgs, int ncfgs, bool validate_only,
                  struct topic **out, char *err, size_t errlen);
int topics_delete(struct topics *ts, struct topic *t);

/* Replace a topic's overrides (already validated with topic_config_check),
 * persist them and apply them to its partitions. Returns a Kafka error. */
int topics_set_configs(struct topics *ts, struct topic *t, const struct tconfig *cfgs, int n);
/* The same for overrides the metastore already has (/config/topics/<t>,
 * written and confirmed by admin_configs.c): written to the local file and
 * applied, without the mirror hook. */
int topics_set_configs_stored(struct topics *ts, struct topic *t, const struct tconfig *cfgs,
                              int n) KV_MUST_CHECK;

/* Re-derive every topic's log settings after broker defaults changed. */
void topics_reconfigure(struct topics *ts);

/* Grow a topic to `count` partitions (more than it has), persisted. */
int topics_add_partitions(struct topics *ts, struct topic *t, int32_t count, char *err,
                          size_t errlen);

/* Effective value of a topic config: override or the broker default. */
const char *topic_config_value(const struct topic *t, const char *name);

/* Retention, time-based roll and flush checks. */
void topics_housekeeping(struct topics *ts, int64_t now);

#endif
