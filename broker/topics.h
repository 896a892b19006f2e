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
};

struct topics {
    char *dir;
    const struct broker_config *cfg;
    struct topic **v;
    int n;
    int64_t last_retention_ms;
};

int topics_open(struct topics *ts, const struct broker_config *cfg);
void topics_close(struct topics *ts);

struct topic *topics_find(struct topics *ts, struct kstr name);
struct topic *topics_find_id(struct topics *ts, const uint8_t id[16]);
struct partition *topics_partition(struct topics *ts, struct kstr name, int32_t part);

/* Kafka's rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool topic_name_valid(struct kstr name);

/* Validate a topic config (name known to Kafka, value well-formed).
 * Returns KERR_NONE or KERR_INVALID_CONFIG with a message in err. */
int topic_config_check(const char *name, const char *value, char *err, size_t errlen);

/* Create a topic; returns a Kafka error code (and a message in err).
 * With validate_only nothing is created. nparts <= 0 means num.partitions. */
int topics_create(struct topics *ts, struct kstr name, int32_t nparts, int16_t rf,
                  const struct tconfig *cfgs, int ncfgs, bool validate_only,
                  struct topic **out, char *err, size_t errlen);
int topics_delete(struct topics *ts, struct topic *t);

/* Effective value of a topic config: override or the broker default. */
const char *topic_config_value(const struct topic *t, const char *name);

/* Retention, time-based roll and flush checks. */
void topics_housekeeping(struct topics *ts, int64_t now);

#endif
