/*
 * cluster.h — the broker's place in the metastore, in Kafka's ZooKeeper
 * layout, when `zookeeper.connect` is set (see docs/cluster.md):
 *
 *   /cluster/id                          {"version":"1","id":"<cluster id>"}
 *   /brokers/ids/<broker.id>             ephemeral, Kafka's broker JSON (v5)
 *   /controller, /controller_epoch       this broker is the controller
 *   /brokers/topics/<t>                  partition assignment JSON (v3)
 *   /brokers/topics/<t>/partitions/<p>/state   leader and ISR JSON
 *   /config/topics/<t>                   topic config overrides
 *   /config/changes/config_change_N      change notifications
 *
 * The metastore is the source of truth for topics: at start-up topics found
 * there and missing locally are created, local topics missing there are
 * registered (a log dir from before zookeeper.connect was set), and topics
 * queued under /admin/delete_topics are deleted. While the session is lost
 * the broker keeps serving produce and fetch for known topics, refuses
 * metadata changes with NOT_CONTROLLER (retriable), and registers again
 * once a session is back.
 */
#ifndef KAVKA_BROKER_CLUSTER_H
#define KAVKA_BROKER_CLUSTER_H

#include <stdbool.h>
#include "compiler.h"

struct broker;

/* Without zookeeper.connect: nothing, returns 0. Otherwise connects,
 * registers and reconciles topics before returning; -1 (logged) when the
 * metastore cannot be reached within zookeeper.connection.timeout.ms, the
 * cluster id disagrees with meta.properties, or another live broker holds
 * this broker.id. */
int cluster_open(struct broker *b) KV_MUST_CHECK;
/* Closes the session (the ephemeral registration goes at once). */
void cluster_close(struct broker *b);

/* The metastore client (zk.h) for other znodes (credentials, ACLs), or NULL
 * without zookeeper.connect. Paths are within the chroot. Asynchronous calls
 * only once the broker runs; zk_sync_* only during start-up. */
struct zk *cluster_zk(const struct broker *b);
/* True when metadata may change now (a session and our registration). */
bool cluster_writable(const struct broker *b);

/* Kafka's cluster id: 16 random bytes as Kafka's Uuid text (meta.properties
 * when there is no metastore, else the metastore's /cluster/id). */
void new_cluster_id(char out[23]);

#endif
