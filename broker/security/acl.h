/*
 * acl.h — Kafka's standard authorizer (AclAuthorizer / StandardAuthorizer)
 * decision logic and its ZooKeeper JSON. The broker's use of it (storage,
 * CreateAcls/DeleteAcls/DescribeAcls, the checks) is in authz.[ch].
 *
 * Rules, as Kafka's authorizer applies them:
 *  - a principal in super.users is allowed everything;
 *  - ACLs that apply to a resource: literal ones with its name, literal
 *    ones with the wildcard name "*", prefixed ones whose name prefixes it;
 *  - a DENY entry matching principal (or User:*), host (or *) and operation
 *    (or ALL) wins;
 *  - when no ACL at all applies to the resource, allow.everyone.if.no.acl.found
 *    decides;
 *  - else an ALLOW entry must match; DESCRIBE is implied by READ, WRITE,
 *    DELETE and ALTER, DESCRIBE_CONFIGS by ALTER_CONFIGS.
 */
#ifndef KAVKA_ACL_H
#define KAVKA_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compiler.h"

/* Kafka's codes (AclOperation, ResourceType, PatternType, AclPermissionType). */
enum acl_op {
    ACL_OP_UNKNOWN = 0, ACL_OP_ANY = 1, ACL_OP_ALL = 2, ACL_OP_READ = 3, ACL_OP_WRITE = 4,
    ACL_OP_CREATE = 5, ACL_OP_DELETE = 6, ACL_OP_ALTER = 7, ACL_OP_DESCRIBE = 8,
    ACL_OP_CLUSTER_ACTION = 9, ACL_OP_DESCRIBE_CONFIGS = 10, ACL_OP_ALTER_CONFIGS = 11,
    ACL_OP_IDEMPOTENT_WRITE = 12,
};
enum acl_res { ACL_RES_UNKNOWN = 0, ACL_RES_ANY = 1, ACL_RES_TOPIC = 2, ACL_RES_GROUP = 3,
               ACL_RES_CLUSTER = 4, ACL_RES_TRANSACTIONAL_ID = 5 };
enum acl_pattern { ACL_PAT_UNKNOWN = 0, ACL_PAT_ANY = 1, ACL_PAT_MATCH = 2,
                   ACL_PAT_LITERAL = 3, ACL_PAT_PREFIXED = 4 };
enum acl_perm { ACL_PERM_UNKNOWN = 0, ACL_PERM_ANY = 1, ACL_PERM_DENY = 2, ACL_PERM_ALLOW = 3 };

struct acl_entry {
    int8_t res_type;          /* enum acl_res */
    char *res_name;
    int8_t pattern;           /* LITERAL or PREFIXED */
    char *principal;          /* "User:alice", "User:*" */
    char *host;               /* "*" or an address */
    int8_t op;                /* enum acl_op */
    int8_t perm;              /* ALLOW or DENY */
};

struct acl_set {
    struct acl_entry *v;
    int n, cap;
};

void acl_set_free(struct acl_set *s);
/* Add a copy (no duplicate). 1 added, 0 already there, -1 out of memory. */
int acl_add(struct acl_set *s, const struct acl_entry *e) KV_MUST_CHECK;
/* Same resource pattern, principal, host, operation and permission. */
bool acl_entry_same(const struct acl_entry *a, const struct acl_entry *b);
/* Remove entry i (the last one takes its place). */
void acl_remove_at(struct acl_set *s, int i);

/* The decision. super_users: Kafka's `super.users` value ("User:a;User:b"). */
bool acl_authorize(const struct acl_set *s, const char *principal, const char *host,
                   int8_t op, int8_t res_type, const char *res_name, const char *super_users,
                   bool allow_if_no_acl);

/* Names as in Kafka's ZooKeeper JSON ("Topic", "Read", "Allow"); NULL/-1 when unknown. */
const char *acl_res_name(int8_t t);
const char *acl_op_name(int8_t op);
int8_t acl_res_from_name(const char *s);
int8_t acl_op_from_name(const char *s);

/* One znode of /kafka-acl/<Type>/<name> (or /kafka-acl-extended/prefixed/...):
 * {"version":1,"acls":[{"principal":..,"permissionType":..,"operation":..,"host":..}]}.
 * Parse adds its entries to s; format writes the entries of s for that
 * resource (malloc'd). */
int acl_node_parse(struct acl_set *s, int8_t res_type, const char *res_name, int8_t pattern,
                   const char *json, size_t len);
char *acl_node_format(const struct acl_set *s, int8_t res_type, const char *res_name,
                      int8_t pattern);

#endif
