/*
 * tools.h — the kafka-* tools of the multi-call binary `kavka-cli`
 * (main.c dispatches on the name it is called by) and their shared helpers.
 */
#ifndef KAVKA_CLI_TOOLS_H
#define KAVKA_CLI_TOOLS_H

#include <stdint.h>

#include "args.h"
#include "client.h"

int tool_topics(int argc, char **argv);
int tool_broker_api_versions(int argc, char **argv);
int tool_configs(int argc, char **argv);
int tool_consumer_groups(int argc, char **argv);
int tool_console_producer(int argc, char **argv);
int tool_console_consumer(int argc, char **argv);

/* Options every tool takes, for their option tables. */
#define COMMON_OPTS                                                                      \
    { "bootstrap-server", OPT_ARG, "<String: server to connect to>",                    \
      "REQUIRED: The Kafka server to connect to." },                                     \
    { "command-config", OPT_ARG, "<String: command config property file>",              \
      "Property file containing configs to be passed to Admin Client." },                \
    { "help", 0, NULL, "Print usage information." },                                     \
    { "version", 0, NULL, "Display Kafka version." }

/* --bootstrap-server and the client properties of `config_opt`
 * (--command-config, --consumer.config, ...) plus `extra` overrides, then
 * bootstrap. */
void tool_connect(struct kclient *kc, const struct args *a, const char *config_opt,
                  const struct props *extra);

/* Topic partition leaders and counts from one Metadata answer. */
struct topic_meta {
    char *name;
    uint8_t id[16];
    bool internal;
    int16_t error;
    int npart;
    int32_t *leader;        /* by partition index */
};
/* Metadata for the given topics (all when n < 0); sorted by name. */
int topic_meta_load(struct kclient *kc, const char *const *topics, int n,
                    struct topic_meta **out);
void topic_meta_free(struct topic_meta *t, int n);
const struct topic_meta *topic_meta_find(const struct topic_meta *t, int n, const char *name);

/* ListOffsets: the earliest (-2), latest (-1) or by-timestamp offset of each
 * partition of a topic, asked of each partition's leader; out[p] = -1 on
 * error. */
void list_offsets(struct kclient *kc, const struct topic_meta *t, int64_t which, int64_t *out);

/* Kafka's IncludeList: a Java regex (',' also separates alternatives)
 * matched against the whole name. */
struct name_filter;
struct name_filter *name_filter_new(const char *pattern);
int name_filter_match(const struct name_filter *f, const char *name);
void name_filter_free(struct name_filter *f);
/* Kafka's default partitioner hash of a key (Utils.murmur2). */
int32_t kafka_murmur2(const uint8_t *data, size_t len);
/* Calls fn for every (topic, partition) of a ConsumerProtocolAssignment
 * (any version: v1+ only append fields). 0, or -1 if it is malformed (the
 * pairs before the fault were visited). */
typedef void (*assignment_fn)(void *arg, struct kstr topic, int32_t partition);
int assignment_each(struct kbytes as, assignment_fn fn, void *arg);

#endif
