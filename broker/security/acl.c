/*
 * acl.c — the standard authorizer's decision and its ZooKeeper JSON (acl.h).
 */
#include "acl.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const res_names[] = { [ACL_RES_TOPIC] = "Topic", [ACL_RES_GROUP] = "Group",
                                         [ACL_RES_CLUSTER] = "Cluster",
                                         [ACL_RES_TRANSACTIONAL_ID] = "TransactionalId" };
static const char *const op_names[] = {
    [ACL_OP_ALL] = "All", [ACL_OP_READ] = "Read", [ACL_OP_WRITE] = "Write",
    [ACL_OP_CREATE] = "Create", [ACL_OP_DELETE] = "Delete", [ACL_OP_ALTER] = "Alter",
    [ACL_OP_DESCRIBE] = "Describe", [ACL_OP_CLUSTER_ACTION] = "ClusterAction",
    [ACL_OP_DESCRIBE_CONFIGS] = "DescribeConfigs", [ACL_OP_ALTER_CONFIGS] = "AlterConfigs",
    [ACL_OP_IDEMPOTENT_WRITE] = "IdempotentWrite",
};
#define NRES ((int)(sizeof res_names / sizeof res_names[0]))
#define NOPS ((int)(sizeof op_names / sizeof op_names[0]))

const char *acl_res_name(int8_t t)
{
    return t >= 0 && t < NRES ? res_names[t] : NULL;
}

const char *acl_op_name(int8_t op)
{
    return op >= 0 && op < NOPS ? op_names[op] : NULL;
}

int8_t acl_res_from_name(const char *s)
{
    for (int i = 0; s && i < NRES; i++)
        if (res_names[i] && strcmp(res_names[i], s) == 0)
            return (int8_t)i;
    return -1;
}

int8_t acl_op_from_name(const char *s)
{
    for (int i = 0; s && i < NOPS; i++)
        if (op_names[i] && strcmp(op_names[i], s) == 0)
            return (int8_t)i;
    return -1;
}

static void entry_free(struct acl_entry *e)
{
    free(e->res_name);
    free(e->principal);
    free(e->host);
}

void acl_set_free(struct acl_set *s)
{
    for (int i = 0; i < s->n; i++)
        entry_free(&s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

bool acl_entry_same(const struct acl_entry *a, const struct acl_entry *b)
{
    return a->res_type == b->res_type && a->pattern == b->pattern && a->op == b->op &&
           a->perm == b->perm && strcmp(a->res_name, b->res_name) == 0 &&
           strcmp(a->principal, b->principal) == 0 && strcmp(a->host, b->host) == 0;
}

int acl_add(struct acl_set *s, const struct acl_entry *e)
{
    for (int i = 0; i < s->n; i++)
        if (acl_entry_same(&s->v[i], e))
            return 0;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        struct acl_entry *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    struct acl_entry *d = &s->v[s->n];
    *d = *e;
    d->res_name = strdup(e->res_name);
    d->principal = strdup(e->principal);
    d->host = strdup(e->host);
    if (!d->res_name || !d->principal || !d->host) {
        entry_free(d);
        return -1;
    }
    s->n++;
    return 1;
}

void acl_remove_at(struct acl_set *s, int i)
{
    if (i < 0 || i >= s->n)
        return;
    entry_free(&s->v[i]);
    s->v[i] = s->v[--s->n];
}

static bool is_super(const char *super_users, const char *principal)
{
    if (!super_users)
        return false;
    size_t pl = strlen(principal);
    for (const char *p = super_users; *p;) {
        while (*p == ';' || *p == ' ')
            p++;
        size_t n = strcspn(p, ";");
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if (m && m == pl && memcmp(p, principal, pl) == 0)
            return true;
        p += n;
    }
    return false;
}

static bool applies(const struct acl_entry *e, int8_t res_type, const char *name)
{
    if (e->res_type != res_type)
        return false;
    if (e->pattern == ACL_PAT_LITERAL)
        return strcmp(e->res_name, name) == 0 || strcmp(e->res_name, "*") == 0;
    if (e->pattern == ACL_PAT_PREFIXED)
        return strncmp(name, e->res_name, strlen(e->res_name)) == 0;
    return false;
}

static bool who_matches(const struct acl_entry *e, const char *principal, const char *host)
{
    return (strcmp(e->principal, principal) == 0 || strcmp(e->principal, "User:*") == 0) &&
           (strcmp(e->host, "*") == 0 || strcmp(e->host, host) == 0);
}

/* Does an ACL for acl_op allow (or deny) the requested op? */
static bool op_covers(int8_t acl_op, int8_t op, bool allow)
{
    if (acl_op == ACL_OP_ALL || acl_op == op)
        return true;
    if (!allow)
        return false;
    if (op == ACL_OP_DESCRIBE)
        return acl_op == ACL_OP_READ || acl_op == ACL_OP_WRITE || acl_op == ACL_OP_DELETE ||
               acl_op == ACL_OP_ALTER;
    if (op == ACL_OP_DESCRIBE_CONFIGS)
        return acl_op == ACL_OP_ALTER_CONFIGS;
    return false;
}

bool acl_authorize(const struct acl_set *s, const char *principal, const char *host,
                   int8_t op, int8_t res_type, const char *res_name, const char *super_users,
                   bool allow_if_no_acl)
{
    if (is_super(super_users, principal))
        return true;
    bool any = false, allowed = false;
    for (int i = 0; i < s->n; i++) {
        const struct acl_entry *e = &s->v[i];
        if (!applies(e, res_type, res_name))
            continue;
        any = true;
        if (!who_matches(e, principal, host))
            continue;
        if (e->perm == ACL_PERM_DENY && op_covers(e->op, op, false))
            return false;
        if (e->perm == ACL_PERM_ALLOW && op_covers(e->op, op, true))
            allowed = true;
    }
    return any ? allowed : allow_if_no_acl;
}

int acl_node_parse(struct acl_set *s, int8_t res_type, const char *res_name, int8_t pattern,
                   const char *json, size_t len)
{
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err);
    json_t *acls = json_object_get(root, "acls");
    if (!json_is_array(acls)) {
        if (root)
            json_decref(root);
        return -1;
    }
    size_t i;
    json_t *a;
    int rc = 0;
    json_array_foreach(acls, i, a) {
        const char *perm = json_string_value(json_object_get(a, "permissionType"));
        struct acl_entry e = {
            .res_type = res_type, .res_name = (char *)res_name, .pattern = pattern,
            .principal = (char *)json_string_value(json_object_get(a, "principal")),
            .host = (char *)json_string_value(json_object_get(a, "host")),
            .op = acl_op_from_name(json_string_value(json_object_get(a, "operation"))),
            .perm = perm && strcmp(perm, "Allow") == 0  ? ACL_PERM_ALLOW
                    : perm && strcmp(perm, "Deny") == 0 ? ACL_PERM_DENY
                                                        : ACL_PERM_UNKNOWN,
        };
        if (!e.principal || !e.host || e.op < 0 || e.perm == ACL_PERM_UNKNOWN) {
            rc = -1;
            continue;
        }
        if (acl_add(s, &e) < 0)
            rc = -1;
    }
    json_decref(root);
    return rc;
}

char *acl_node_format(const struct acl_set *s, int8_t res_type, const char *res_name,
                      int8_t pattern)
{
    json_t *acls = json_array();
    for (int i = 0; i < s->n; i++) {
        const struct acl_entry *e = &s->v[i];
        if (e->res_type != res_type || e->pattern != pattern || strcmp(e->res_name, res_name))
            continue;
        json_array_append_new(acls, json_pack("{s:s,s:s,s:s,s:s}", "principal", e->principal,
                                              "permissionType",
                                              e->perm == ACL_PERM_ALLOW ? "Allow" : "Deny",
                                              "operation", acl_op_name(e->op), "host", e->host));
    }
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "acls", acls);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
