/*
 * authz.h — the authorizer wired into the broker: authorizer.class.name,
 * super.users, allow.everyone.if.no.acl.found, the ACLs (acl.h) kept in
 * memory and stored in the metastore under Kafka's ZooKeeper layout
 * (/kafka-acl/<Type>/<name>, /kafka-acl-extended/prefixed/<Type>/<name>,
 * change notifications in /kafka-acl-changes and /kafka-acl-extended-changes)
 * or, without zookeeper.connect, in <log.dirs>/kavka-acls.json. Changes
 * (made by the CreateAcls / DeleteAcls handlers, api/acls.c) are stored
 * first and change what is enforced only then (authz.c, "writes").
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

/* The ACLs in force (empty without an authorizer). */
const struct acl_set *authz_acls(void);
/* Can a change be stored now (no metastore, or its session is up)? */
bool authz_writable(void);

/*
 * A change to the ACLs, run inside a job on the admin-write queue (broker.h)
 * so that changes apply in order. Per resource pattern touched, a target
 * holds the entries its node will hold, starting from those in force; the
 * caller edits them, then stores the change: the file in one replace, or
 * the metastore node after node with Kafka's change notifications. Memory
 * takes only what was stored; done() runs once every target is stored or
 * failed, and the caller then reads each target's outcome and frees the
 * change.
 */
struct acl_change;
typedef void (*acl_change_done)(struct acl_change *ch, void *arg);
/* who: the requesting principal, for the log. NULL: out of memory. */
struct acl_change *acl_change_new(const char *who);
void acl_change_free(struct acl_change *ch);
/* The entries the resource pattern's node will hold (to edit), and its
 * target index in *idx; NULL: out of memory. */
struct acl_set *acl_change_target(struct acl_change *ch, int8_t type, int8_t pattern,
                                  const char *name, int *idx);
void acl_change_store(struct acl_change *ch, acl_change_done done, void *arg);
/* A stored change's outcome for target idx: 0, or an error code and *msg. */
int16_t acl_change_error(const struct acl_change *ch, int idx, const char **msg);

#define AUTHZ_CLUSTER_NAME "kafka-cluster"

#endif
