/*
 * authz.h — the authorizer wired into the broker: authorizer.class.name,
 * super.users, allow.everyone.if.no.acl.found, the ACLs (acl.h) kept in
 * memory and stored in the metastore under Kafka's ZooKeeper layout
 * (/kafka-acl/<Type>/<name>, /kafka-acl-extended/prefixed/<Type>/<name>,
 * change notifications in /kafka-acl-changes and /kafka-acl-extended-changes)
 * or, without zookeeper.connect, in <log.dirs>/kavka-acls.json; and the
 * CreateAcls / DescribeAcls / DeleteAcls handlers. CreateAcls and DeleteAcls
 * are answered after their write is stored, and change what is enforced
 * only then (authz.c, "writes").
 *
 * Without an authorizer every check allows (Kafka's behaviour).
 */
#ifndef KAVKA_AUTHZ_H
#define KAVKA_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "acl.h"
#include "wire.h"

struct broker;
struct conn;
struct zk;

/* Validate the authorizer settings and load the ACLs (start-up only, may
 * use zk_sync_*). -1: refuse to start (logged). */
int authz_open(struct broker *b, struct zk *zk);
void authz_close(void);

bool authz_enabled(const struct broker *b);

/* May the connection's principal, from its peer address, do op on the
 * resource? Always true without an authorizer. */
bool authz_allowed(const struct conn *c, int8_t op, int8_t res_type, struct kstr name);
bool authz_allowed_c(const struct conn *c, int8_t op, int8_t res_type, const char *name);

/* Is op allowed on some resource of the type (Kafka's authorizeByResourceType,
 * simplified: an ALLOW entry for the principal and host not denied)? */
bool authz_any(const struct conn *c, int8_t op, int8_t res_type);

/* Authorized-operations bits (1 << AclOperation) among `supported`. */
int32_t authz_operations(const struct conn *c, int8_t res_type, struct kstr name,
                         int32_t supported);

#define AUTHZ_CLUSTER_NAME "kafka-cluster"

#endif
