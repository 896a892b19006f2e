/*
 * admin.h — state shared by the admin APIs (admin_*.c).
 *
 * Dynamic broker configs (AlterConfigs / IncrementalAlterConfigs on a BROKER
 * resource) come in two layers above the static configuration, as in Kafka:
 * this broker's own (DYNAMIC_BROKER_CONFIG) and the cluster-wide default,
 * resource name "" (DYNAMIC_DEFAULT_BROKER_CONFIG). The effective value of a
 * key is the first of: per-broker, cluster default, static (file and
 * --override), Kafka's default. They are persisted by a small store
 * (admin_configs.c: dynconfig_store_load/save), for now a JSON file in the log
 * dir; the metastore takes that over later without touching the rest.
 */
#ifndef KAVKA_ADMIN_H
#define KAVKA_ADMIN_H

#include <stdbool.h>

#include "properties.h"

struct broker;

struct dynconfig {
    struct props static_raw;  /* file + overrides as loaded, before dynamic layers */
    struct props dflt;        /* cluster-wide dynamic defaults */
    struct props broker;      /* this broker's dynamic configs */
};

/* Load the persisted dynamic configs and apply them to b->cfg. Call after
 * broker_config_load and before topics_open. Returns 0 or -1 (logged). */
int dynconfig_open(struct broker *b);
void dynconfig_close(struct broker *b);

/* Authorized-operation bitfields (DescribeCluster, Metadata): everything
 * Kafka defines on the resource, since kavka evaluates no ACLs. */
#include <stdint.h>
int32_t admin_cluster_operations(void);
int32_t admin_topic_operations(void);

/* Kafka's ConfigResource types and ConfigEntry sources (DescribeConfigs). */
enum {
    RES_TOPIC = 2,
    RES_BROKER = 4,
    RES_BROKER_LOGGER = 8,
};
enum {
    SRC_UNKNOWN = 0,
    SRC_DYNAMIC_TOPIC = 1,
    SRC_DYNAMIC_BROKER = 2,
    SRC_DYNAMIC_DEFAULT_BROKER = 3,
    SRC_STATIC_BROKER = 4,
    SRC_DEFAULT = 5,
};

#endif
