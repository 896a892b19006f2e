/*
 * test_acl.c — the standard authorizer's rules (broker/acl.c): literal,
 * wildcard and prefixed patterns, deny over allow, hosts, implied
 * DESCRIBE, super users, allow.everyone.if.no.acl.found, and Kafka's
 * ZooKeeper JSON.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

static void add(struct acl_set *s, int8_t rt, const char *name, int8_t pat, const char *who,
                const char *host, int8_t op, int8_t perm)
{
    struct acl_entry e = { rt, (char *)name, pat, (char *)who, (char *)host, op, perm };
    cr_assert_geq(acl_add(s, &e), 0);
}

#define CAN(s, who, op, rt, name) acl_authorize(&(s), who, "10.0.0.1", op, rt, name, "User:admin", false)

Test(acl, read_only_user)
{
    struct acl_set s = { 0 };
    add(&s, ACL_RES_TOPIC, "a", ACL_PAT_LITERAL, "User:alice", "*", ACL_OP_READ, ACL_PERM_ALLOW);
    cr_assert(CAN(s, "User:alice", ACL_OP_READ, ACL_RES_TOPIC, "a"));
    cr_assert(CAN(s, "User:alice", ACL_OP_DESCRIBE, ACL_RES_TOPIC, "a")); /* implied */
    cr_assert_not(CAN(s, "User:alice", ACL_OP_WRITE, ACL_RES_TOPIC, "a"));
    cr_assert_not(CAN(s, "User:alice", ACL_OP_DESCRIBE, ACL_RES_TOPIC, "b"));
    cr_assert_not(CAN(s, "User:bob", ACL_OP_READ, ACL_RES_TOPIC, "a"));
    cr_assert(CAN(s, "User:admin", ACL_OP_WRITE, ACL_RES_TOPIC, "b"));     /* super user */
    /* no ACL on b: allow.everyone.if.no.acl.found decides */
    cr_assert(acl_authorize(&s, "User:bob", "h", ACL_OP_WRITE, ACL_RES_TOPIC, "b", NULL, true));
    cr_assert_not(acl_authorize(&s, "User:bob", "h", ACL_OP_WRITE, ACL_RES_TOPIC, "a", NULL, true));
    acl_set_free(&s);
}

Test(acl, deny_wins_prefix_wildcard_hosts)
{
    struct acl_set s = { 0 };
    add(&s, ACL_RES_TOPIC, "*", ACL_PAT_LITERAL, "User:*", "*", ACL_OP_ALL, ACL_PERM_ALLOW);
    add(&s, ACL_RES_TOPIC, "secret-", ACL_PAT_PREFIXED, "User:bob", "*", ACL_OP_READ, ACL_PERM_DENY);
    add(&s, ACL_RES_GROUP, "g", ACL_PAT_LITERAL, "User:bob", "10.0.0.2", ACL_OP_READ, ACL_PERM_ALLOW);
    cr_assert(CAN(s, "User:bob", ACL_OP_WRITE, ACL_RES_TOPIC, "anything"));
    cr_assert_not(CAN(s, "User:bob", ACL_OP_READ, ACL_RES_TOPIC, "secret-x"));
    cr_assert(CAN(s, "User:bob", ACL_OP_WRITE, ACL_RES_TOPIC, "secret-x"));
    cr_assert(CAN(s, "User:carol", ACL_OP_READ, ACL_RES_TOPIC, "secret-x"));
    cr_assert_not(CAN(s, "User:bob", ACL_OP_READ, ACL_RES_GROUP, "g"));   /* wrong host */
    cr_assert(acl_authorize(&s, "User:bob", "10.0.0.2", ACL_OP_READ, ACL_RES_GROUP, "g", NULL, false));
    /* ALTER_CONFIGS implies DESCRIBE_CONFIGS, not the other way round */
    add(&s, ACL_RES_CLUSTER, "kafka-cluster", ACL_PAT_LITERAL, "User:ops", "*", ACL_OP_ALTER_CONFIGS, ACL_PERM_ALLOW);
    cr_assert(CAN(s, "User:ops", ACL_OP_DESCRIBE_CONFIGS, ACL_RES_CLUSTER, "kafka-cluster"));
    cr_assert_not(CAN(s, "User:ops", ACL_OP_CREATE, ACL_RES_CLUSTER, "kafka-cluster"));
    acl_set_free(&s);
}

Test(acl, zookeeper_json)
{
    const char *node = "{\"version\":1,\"acls\":[{\"principal\":\"User:alice\",\"permissionType\":"
                       "\"Allow\",\"operation\":\"Read\",\"host\":\"*\"},{\"principal\":\"User:bob\","
                       "\"permissionType\":\"Deny\",\"operation\":\"Write\",\"host\":\"10.0.0.1\"}]}";
    struct acl_set s = { 0 };
    cr_assert_eq(acl_node_parse(&s, ACL_RES_TOPIC, "a", ACL_PAT_LITERAL, node, strlen(node)), 0);
    cr_assert_eq(s.n, 2);
    cr_assert(CAN(s, "User:alice", ACL_OP_READ, ACL_RES_TOPIC, "a"));
    char *back = acl_node_format(&s, ACL_RES_TOPIC, "a", ACL_PAT_LITERAL);
    cr_assert_str_eq(back, node);
    free(back);
    cr_assert_eq(acl_res_from_name("TransactionalId"), ACL_RES_TRANSACTIONAL_ID);
    cr_assert_eq(acl_op_from_name("IdempotentWrite"), ACL_OP_IDEMPOTENT_WRITE);
    cr_assert_neq(acl_node_parse(&s, ACL_RES_TOPIC, "a", ACL_PAT_LITERAL, "{}", 2), 0);
    acl_set_free(&s);
}
