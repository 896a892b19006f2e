/*
 * authz.c — ACL authorization wired into the broker (see authz.h).
 */
#include "authz.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "zk.h"

#define FILE_NAME "kavka-acls.json"

static struct {
    bool on;
    struct acl_set acls;
    char path[4096];           /* the file, without zookeeper.connect */
    struct zk *zk;             /* the metastore, or NULL */
    const char *super_users;
    bool allow_if_no_acl;
} az;

static const int8_t res_types[] = { ACL_RES_TOPIC, ACL_RES_GROUP, ACL_RES_CLUSTER,
                                    ACL_RES_TRANSACTIONAL_ID };
#define NRES_TYPES ((int)(sizeof res_types / sizeof res_types[0]))

/* Kafka's names for the authorizer that stores ACLs in ZooKeeper, and the
 * KRaft one; both apply the same rules. */
static const char *const known_authorizers[] = {
    "kafka.security.authorizer.AclAuthorizer",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
};

bool authz_enabled(const struct broker *b)
{
    (void)b;
    return az.on;
}

/* ---------------- decisions ---------------- */

static void peer_host(const struct conn *c, char *out, size_t outlen)
{
    const char *colon = strrchr(c->peer, ':');
    size_t n = colon ? (size_t)(colon - c->peer) : strlen(c->peer);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, c->peer, n);
    out[n] = 0;
}

bool authz_allowed_c(const struct conn *c, int8_t op, int8_t res_type, const char *name)
{
    if (!az.on)
        return true;
    if (!c)
        return false;
    char host[64];
    peer_host(c, host, sizeof host);
    bool ok = acl_authorize(&az.acls, c->principal, host, op, res_type, name, az.super_users,
                            az.allow_if_no_acl);
    if (!ok)
        KLOG_DEBUG("%s: %s denied %s on %s:%s", c->peer, c->principal, acl_op_name(op),
                   acl_res_name(res_type), name);
    return ok;
}

bool authz_allowed(const struct conn *c, int8_t op, int8_t res_type, struct kstr name)
{
    if (!az.on)
        return true;
    char buf[1024];
    int n = name.len > 0 ? name.len : 0;
    if (n >= (int)sizeof buf)
        return false;
    if (n)
        memcpy(buf, name.p, (size_t)n);
    buf[n] = 0;
    return authz_allowed_c(c, op, res_type, buf);
}

bool authz_any(const struct conn *c, int8_t op, int8_t res_type)
{
    if (!az.on)
        return true;
    bool any_acl = false;
    for (int i = 0; i < az.acls.n; i++) {
        const struct acl_entry *e = &az.acls.v[i];
        if (e->res_type != res_type)
            continue;
        any_acl = true;
        if (e->perm == ACL_PERM_ALLOW && (e->op == op || e->op == ACL_OP_ALL) &&
            authz_allowed_c(c, op, res_type, e->res_name))
            return true;
    }
    if (!any_acl && az.allow_if_no_acl)
        return true;
    /* super users: allowed with no ACL at all */
    struct acl_set none = { 0 };
    return c && acl_authorize(&none, c->principal, "", op, res_type, "", az.super_users, false);
}

int32_t authz_operations(const struct conn *c, int8_t res_type, struct kstr name,
                         int32_t supported)
{
    if (!az.on)
        return supported;
    int32_t bits = 0;
    for (int op = ACL_OP_READ; op <= ACL_OP_IDEMPOTENT_WRITE; op++)
        if ((supported & (1 << op)) && authz_allowed(c, (int8_t)op, res_type, name))
            bits |= 1 << op;
    return bits;
}

/* ---------------- the file (no metastore) ---------------- */

static const char *pattern_name(int8_t p)
{
    return p == ACL_PAT_PREFIXED ? "PREFIXED" : "LITERAL";
}

static int load_file(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(az.path, 0, &jerr);
    if (!root) {
        if (access(az.path, F_OK) != 0)
            return 0;
        KLOG_ERROR("%s: %s (line %d)", az.path, jerr.text, jerr.line);
        return -1;
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "acls"), i, a) {
        const char *pat = json_string_value(json_object_get(a, "patternType"));
        const char *perm = json_string_value(json_object_get(a, "permissionType"));
        struct acl_entry e = {
            .res_type = acl_res_from_name(json_string_value(json_object_get(a, "resourceType"))),
            .res_name = (char *)json_string_value(json_object_get(a, "name")),
            .pattern = pat && strcmp(pat, "PREFIXED") == 0 ? ACL_PAT_PREFIXED : ACL_PAT_LITERAL,
            .principal = (char *)json_string_value(json_object_get(a, "principal")),
            .host = (char *)json_string_value(json_object_get(a, "host")),
            .op = acl_op_from_name(json_string_value(json_object_get(a, "operation"))),
            .perm = perm && strcmp(perm, "Allow") == 0  ? ACL_PERM_ALLOW
                    : perm && strcmp(perm, "Deny") == 0 ? ACL_PERM_DENY
                                                        : ACL_PERM_UNKNOWN,
        };
        if (e.res_type <= 0 || !e.res_name || !e.principal || !e.host || e.op <= 0 ||
            e.perm == ACL_PERM_UNKNOWN) {
            KLOG_WARN("%s: malformed ACL %zu ignored", az.path, i);
            continue;
        }
        if (acl_add(&az.acls, &e) < 0) {
            json_decref(root);
            return -1;
        }
    }
    json_decref(root);
    return 0;
}

static int save_file(void)
{
    json_t *acls = json_array();
    for (int i = 0; i < az.acls.n; i++) {
        const struct acl_entry *e = &az.acls.v[i];
        json_array_append_new(
            acls, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "resourceType",
                            acl_res_name(e->res_type), "name", e->res_name, "patternType",
                            pattern_name(e->pattern), "principal", e->principal,
                            "permissionType", e->perm == ACL_PERM_ALLOW ? "Allow" : "Deny",
                            "operation", acl_op_name(e->op), "host", e->host));
    }
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "acls", acls);
    int rc = atomic_write_json(az.path, root, 0600);
    json_decref(root);
    if (rc != 0)
        KLOG_ERROR("cannot write %s: %s", az.path, strerror(errno));
    return rc;
}

/* ---------------- the metastore ---------------- */

static void node_path(char *out, size_t outlen, int8_t res_type, const char *name, int8_t pattern)
{
    if (pattern == ACL_PAT_PREFIXED)
        snprintf(out, outlen, "/kafka-acl-extended/prefixed/%s%s%s", acl_res_name(res_type),
                 name ? "/" : "", name ? name : "");
    else
        snprintf(out, outlen, "/kafka-acl/%s%s%s", acl_res_name(res_type), name ? "/" : "",
                 name ? name : "");
}

static int load_zk_dir(struct zk *zk, int8_t res_type, int8_t pattern)
{
    char dir[256];
    node_path(dir, sizeof dir, res_type, NULL, pattern);
    /* Kafka's authorizer creates these at start. */
    int rc = zk_sync_mkdirs(zk, dir);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        KLOG_ERROR("metastore: cannot create %s: %s", dir, zk_err_name(rc));
        return -1;
    }
    char **kids = NULL;
    int n = 0;
    rc = zk_sync_get_children(zk, dir, &kids, &n);
    if (rc != ZOK) {
        KLOG_ERROR("metastore: cannot list %s: %s", dir, zk_err_name(rc));
        return -1;
    }
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        char path[1400], *data = NULL;
        int32_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, kids[i]);
        rc = zk_sync_get_data(zk, path, &data, &len, NULL);
        if (rc == ZNONODE)
            continue;
        if (rc != ZOK) {
            KLOG_ERROR("metastore: cannot read %s: %s", path, zk_err_name(rc));
            ret = -1;
            break;
        }
        if (data && len > 0 &&
            acl_node_parse(&az.acls, res_type, kids[i], pattern, data, (size_t)len) != 0)
            KLOG_WARN("metastore: %s: malformed ACLs ignored", path);
        free(data);
    }
    zk_strings_free(kids, n);
    return ret;
}

static int load_zk(struct zk *zk)
{
    for (int t = 0; t < NRES_TYPES; t++)
        if (load_zk_dir(zk, res_types[t], ACL_PAT_LITERAL) != 0 ||
            load_zk_dir(zk, res_types[t], ACL_PAT_PREFIXED) != 0)
            return -1;
    const char *const more[] = { "/kafka-acl-changes", "/kafka-acl-extended-changes" };
    for (int i = 0; i < 2; i++) {
        int rc = zk_sync_mkdirs(zk, more[i]);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            KLOG_ERROR("metastore: cannot create %s: %s", more[i], zk_err_name(rc));
            return -1;
        }
    }
    return 0;
}

/* Asynchronous write of one resource's node: setData, create when missing,
 * setData again if a racing create got there first; delete when the
 * resource has no ACL left. The data is the state when the write is sent. */
struct zwrite {
    int8_t res_type, pattern;
    int tries;
    char name[1024];
};

static void zwrite_send(struct zwrite *w);

static bool resource_empty(const struct zwrite *w)
{
    for (int i = 0; i < az.acls.n; i++) {
        const struct acl_entry *e = &az.acls.v[i];
        if (e->res_type == w->res_type && e->pattern == w->pattern &&
            strcmp(e->res_name, w->name) == 0)
            return false;
    }
    return true;
}

static void zwrite_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct zwrite *w = arg;
    (void)zk;
    (void)body;
    bool empty = resource_empty(w);
    if (((rc == ZNONODE && !empty) || rc == ZNODEEXISTS) && w->tries < 4) {
        zwrite_send(w);
        return;
    }
    if (rc != ZOK && !(rc == ZNONODE && empty))
        KLOG_WARN("metastore: writing the ACLs of %s:%s failed: %s", acl_res_name(w->res_type),
                  w->name, zk_err_name(rc));
    free(w);
}

static void zwrite_send(struct zwrite *w)
{
    char path[1400];
    node_path(path, sizeof path, w->res_type, w->name, w->pattern);
    int rc = -1;
    if (resource_empty(w)) {
        w->tries = 4;
        rc = zk_delete(az.zk, path, -1, zwrite_done, w);
    } else {
        char *data = acl_node_format(&az.acls, w->res_type, w->name, w->pattern);
        if (data) {
            if (w->tries++ % 2 == 0)
                rc = zk_set_data(az.zk, path, data, (int32_t)strlen(data), -1, zwrite_done, w);
            else
                rc = zk_create(az.zk, path, data, (int32_t)strlen(data), ZMODE_PERSISTENT,
                               zwrite_done, w);
        }
        free(data);
    }
    if (rc != 0) {
        KLOG_WARN("metastore: ACLs of %s:%s not written (no session)", acl_res_name(w->res_type),
                  w->name);
        free(w);
    }
}

static void notify_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    (void)zk;
    (void)body;
    (void)arg;
    if (rc != ZOK)
        KLOG_WARN("metastore: ACL change notification failed: %s", zk_err_name(rc));
}

static void zk_persist(int8_t res_type, const char *name, int8_t pattern)
{
    struct zwrite *w = calloc(1, sizeof *w);
    if (!w)
        return;
    w->res_type = res_type;
    w->pattern = pattern;
    snprintf(w->name, sizeof w->name, "%s", name);
    zwrite_send(w);
    /* The notifications Kafka's AclAuthorizer writes. */
    char *note = NULL;
    const char *dir;
    if (pattern == ACL_PAT_LITERAL) {
        dir = "/kafka-acl-changes/acl_changes_";
        size_t n = strlen(name) + 32;
        if ((note = malloc(n)))
            snprintf(note, n, "%s:%s", acl_res_name(res_type), name);
    } else {
        dir = "/kafka-acl-extended-changes/acl_changes_";
        char type[32];
        snprintf(type, sizeof type, "%s", acl_res_name(res_type));
        for (char *p = type; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        /* TransactionalId -> TRANSACTIONAL_ID */
        if (res_type == ACL_RES_TRANSACTIONAL_ID)
            snprintf(type, sizeof type, "TRANSACTIONAL_ID");
        json_t *j = json_pack("{s:i,s:s,s:s,s:s}", "version", 1, "resourceType", type, "name",
                              name, "patternType", "PREFIXED");
        note = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (j)
            json_decref(j);
    }
    if (note)
        zk_create(az.zk, dir, note, (int32_t)strlen(note), ZMODE_PERSISTENT_SEQ, notify_done,
                  NULL);
    free(note);
}

/* Persist the resources touched (entries of `changed`). */
static int persist(const struct acl_set *changed)
{
    if (changed->n == 0)
        return 0;
    if (!az.zk)
        return az.path[0] ? save_file() : 0;
    for (int i = 0; i < changed->n; i++) {
        const struct acl_entry *e = &changed->v[i];
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = changed->v[j].res_type == e->res_type && changed->v[j].pattern == e->pattern &&
                   strcmp(changed->v[j].res_name, e->res_name) == 0;
        if (!seen)
            zk_persist(e->res_type, e->res_name, e->pattern);
    }
    return 0;
}

/* ---------------- start-up ---------------- */

int authz_open(struct broker *b, struct zk *zk)
{
    authz_close();
    const char *cls = b->cfg->authorizer_class_name;
    if (!cls || !*cls)
        return 0;
    bool known = false;
    for (size_t i = 0; i < sizeof known_authorizers / sizeof known_authorizers[0]; i++)
        known |= strcmp(cls, known_authorizers[i]) == 0;
    if (!known) {
        KLOG_ERROR("authorizer.class.name=%s is not supported: kavka implements Kafka's standard "
                   "authorizer only (kafka.security.authorizer.AclAuthorizer or "
                   "org.apache.kafka.metadata.authorizer.StandardAuthorizer)",
                   cls);
        return -1;
    }
    az.on = true;
    az.super_users = b->cfg->super_users;
    az.allow_if_no_acl = b->cfg->allow_everyone_if_no_acl_found;
    snprintf(az.path, sizeof az.path, "%s/%s", b->cfg->log_dirs, FILE_NAME);
    az.zk = zk;
    int rc = zk ? load_zk(zk) : load_file();
    if (rc == 0)
        KLOG_INFO("authorizer %s on: %d ACLs loaded from %s", cls, az.acls.n,
                  zk ? "the metastore (/kafka-acl)" : az.path);
    return rc;
}

void authz_close(void)
{
    acl_set_free(&az.acls);
    memset(&az, 0, sizeof az);
}

/* ---------------- handlers ---------------- */

static bool kstr_is(struct kstr s, const char *c)
{
    return s.len >= 0 && kstr_eq(s, c);
}

/* Kafka's AclBindingFilter.matches. Null strings match anything. */
static bool filter_matches(const struct acl_entry *e, int8_t rtype, struct kstr name,
                           int8_t pattern, struct kstr principal, struct kstr host, int8_t op,
                           int8_t perm)
{
    if (rtype != ACL_RES_ANY && rtype != e->res_type)
        return false;
    if (pattern == ACL_PAT_MATCH) {
        if (name.len >= 0) {
            char buf[1024];
            snprintf(buf, sizeof buf, "%.*s", (int)name.len, name.p);
            if (e->pattern == ACL_PAT_LITERAL) {
                if (strcmp(e->res_name, buf) != 0 && strcmp(e->res_name, "*") != 0)
                    return false;
            } else if (strncmp(buf, e->res_name, strlen(e->res_name)) != 0) {
                return false;
            }
        }
    } else {
        if (pattern != ACL_PAT_ANY && pattern != e->pattern)
            return false;
        if (name.len >= 0 && !kstr_is(name, e->res_name))
            return false;
    }
    if (principal.len >= 0 && !kstr_is(principal, e->principal))
        return false;
    if (host.len >= 0 && !kstr_is(host, e->host))
        return false;
    if (op != ACL_OP_ANY && op != e->op)
        return false;
    if (perm != ACL_PERM_ANY && perm != e->perm)
        return false;
    return true;
}

static bool filter_valid(int8_t rtype, int8_t pattern, int8_t op, int8_t perm)
{
    return rtype >= ACL_RES_ANY && rtype <= ACL_RES_TRANSACTIONAL_ID && pattern >= ACL_PAT_ANY &&
           pattern <= ACL_PAT_PREFIXED && op >= ACL_OP_ANY && op <= ACL_OP_IDEMPOTENT_WRITE &&
           perm >= ACL_PERM_ANY && perm <= ACL_PERM_ALLOW;
}

static bool metastore_writable(void)
{
    return !az.zk || zk_get_state(az.zk) == ZK_CONNECTED;
}

int h_describe_acls(struct kreq *req)
{
    struct kp_describe_acls_req rq;
    if (kp_describe_acls_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_describe_acls_resp rs;
    kp_describe_acls_resp_init(&rs);
    rs.resources_n = 0;
    rs.error_message = kstr_c(NULL);
    if (req->api_version == 0)
        rq.pattern_type_filter = ACL_PAT_LITERAL;
    if (!az.on) {
        /* Kafka answers SECURITY_DISABLED without an authorizer. */
        rs.error_code = KERR_SECURITY_DISABLED;
        rs.error_message = kstr_c("No Authorizer is configured.");
    } else if (!authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_CLUSTER,
                                AUTHZ_CLUSTER_NAME)) {
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
        rs.error_message = kstr_c("Cluster authorization failed.");
    } else if (!filter_valid(rq.resource_type_filter, rq.pattern_type_filter, rq.operation,
                             rq.permission_type)) {
        rs.error_code = KERR_INVALID_REQUEST;
        rs.error_message = kstr_c("Invalid filter");
    } else {
        /* Group the matching entries by resource pattern. */
        int n = az.acls.n;
        rs.resources = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.resources);
        int *owner = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *owner);
        int *count = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *count);
        if (!rs.resources || !owner || !count)
            return -1;
        for (int i = 0; i < n; i++) {
            const struct acl_entry *e = &az.acls.v[i];
            owner[i] = -1;
            if (!filter_matches(e, rq.resource_type_filter, rq.resource_name_filter,
                                rq.pattern_type_filter, rq.principal_filter, rq.host_filter,
                                rq.operation, rq.permission_type))
                continue;
            int r;
            for (r = 0; r < rs.resources_n; r++) {
                struct kp_describe_acls_resp_resources *x = &rs.resources[r];
                if (x->resource_type == e->res_type && x->pattern_type == e->pattern &&
                    kstr_is(x->resource_name, e->res_name))
                    break;
            }
            if (r == rs.resources_n) {
                kp_describe_acls_resp_resources_init(&rs.resources[r]);
                rs.resources[r].resource_type = e->res_type;
                rs.resources[r].resource_name = kstr_c(e->res_name);
                rs.resources[r].pattern_type = e->pattern;
                rs.resources_n++;
            }
            owner[i] = r;
            count[r]++;
        }
        for (int r = 0; r < rs.resources_n; r++) {
            rs.resources[r].acls = karena_calloc(&req->arena, (size_t)count[r],
                                                 sizeof *rs.resources[r].acls);
            if (!rs.resources[r].acls)
                return -1;
            rs.resources[r].acls_n = 0;
        }
        for (int i = 0; i < n; i++) {
            if (owner[i] < 0)
                continue;
            const struct acl_entry *e = &az.acls.v[i];
            struct kp_describe_acls_resp_resources *x = &rs.resources[owner[i]];
            struct kp_describe_acls_resp_resources_acls *a = &x->acls[x->acls_n++];
            kp_describe_acls_resp_resources_acls_init(a);
            a->principal = kstr_c(e->principal);
            a->host = kstr_c(e->host);
            a->operation = e->op;
            a->permission_type = e->perm;
        }
        /* v0 cannot carry prefixed patterns. */
        if (req->api_version == 0) {
            int k = 0;
            for (int r = 0; r < rs.resources_n; r++)
                if (rs.resources[r].pattern_type == ACL_PAT_LITERAL)
                    rs.resources[k++] = rs.resources[r];
            rs.resources_n = k;
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_acls_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* Kafka's checks on a new ACL binding; NULL when valid. */
static const char *creation_invalid(const struct kp_create_acls_req_creations *c)
{
    if (c->resource_type < ACL_RES_TOPIC || c->resource_type > ACL_RES_TRANSACTIONAL_ID)
        return "Invalid resource type";
    if (c->resource_pattern_type != ACL_PAT_LITERAL &&
        c->resource_pattern_type != ACL_PAT_PREFIXED)
        return "Invalid pattern type";
    if (c->operation < ACL_OP_ALL || c->operation > ACL_OP_IDEMPOTENT_WRITE)
        return "Invalid operation";
    if (c->permission_type != ACL_PERM_ALLOW && c->permission_type != ACL_PERM_DENY)
        return "Invalid permission type";
    if (c->resource_name.len <= 0 || c->resource_name.len > 900 ||
        memchr(c->resource_name.p, '/', (size_t)c->resource_name.len))
        return "Invalid resource name";
    if (c->resource_type == ACL_RES_CLUSTER && !kstr_is(c->resource_name, AUTHZ_CLUSTER_NAME))
        return "The only valid name for the CLUSTER resource is kafka-cluster";
    if (c->principal.len <= 0 || c->principal.len > 290 ||
        !memchr(c->principal.p, ':', (size_t)c->principal.len))
        return "Invalid principal: expected <type>:<name>";
    if (c->host.len <= 0 || c->host.len > 60)
        return "Invalid host";
    return NULL;
}

static char *arena_str(struct karena *a, struct kstr s)
{
    int n = s.len > 0 ? s.len : 0;
    char *p = karena_alloc(a, (size_t)n + 1);
    if (p) {
        if (n)
            memcpy(p, s.p, (size_t)n);
        p[n] = 0;
    }
    return p;
}

int h_create_acls(struct kreq *req)
{
    struct kp_create_acls_req rq;
    if (kp_create_acls_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    int n = rq.creations_n > 0 ? rq.creations_n : 0;
    struct kp_create_acls_resp rs;
    kp_create_acls_resp_init(&rs);
    rs.results_n = n;
    rs.results = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.results);
    if (!rs.results)
        return -1;
    bool allowed = authz_allowed_c(req->conn, ACL_OP_ALTER, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME);
    struct acl_set changed = { 0 };
    for (int i = 0; i < n; i++) {
        struct kp_create_acls_req_creations *c = &rq.creations[i];
        struct kp_create_acls_resp_results *r = &rs.results[i];
        kp_create_acls_resp_results_init(r);
        r->error_message = kstr_c(NULL);
        if (req->api_version == 0)
            c->resource_pattern_type = ACL_PAT_LITERAL;
        const char *bad;
        if (!az.on) {
            r->error_code = KERR_SECURITY_DISABLED;
            r->error_message = kstr_c("No Authorizer is configured.");
        } else if (!allowed) {
            r->error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
            r->error_message = kstr_c("Cluster authorization failed.");
        } else if ((bad = creation_invalid(c))) {
            r->error_code = KERR_INVALID_REQUEST;
            r->error_message = kstr_c(bad);
        } else if (!metastore_writable()) {
            r->error_code = KERR_UNKNOWN_SERVER_ERROR;
            r->error_message = kstr_c("The metastore session is lost; retry");
        } else {
            struct acl_entry e = {
                .res_type = c->resource_type, .res_name = arena_str(&req->arena, c->resource_name),
                .pattern = c->resource_pattern_type,
                .principal = arena_str(&req->arena, c->principal),
                .host = arena_str(&req->arena, c->host), .op = c->operation,
                .perm = c->permission_type,
            };
            if (!e.res_name || !e.principal || !e.host || acl_add(&az.acls, &e) < 0 ||
                acl_add(&changed, &e) < 0) {
                r->error_code = KERR_UNKNOWN_SERVER_ERROR;
                r->error_message = kstr_c("Out of memory");
                continue;
            }
            KLOG_INFO("ACL added by %s: %s %s %s on %s:%s:%s from %s",
                      req->conn ? req->conn->principal : "?", e.principal,
                      e.perm == ACL_PERM_ALLOW ? "Allow" : "Deny", acl_op_name(e.op),
                      acl_res_name(e.res_type), pattern_name(e.pattern), e.res_name, e.host);
        }
    }
    if (persist(&changed) != 0)
        for (int i = 0; i < n; i++)
            if (rs.results[i].error_code == KERR_NONE) {
                rs.results[i].error_code = KERR_UNKNOWN_SERVER_ERROR;
                rs.results[i].error_message = kstr_c("Storing the ACLs failed");
            }
    acl_set_free(&changed);
    struct kw w;
    kreq_writer(req, &w);
    kp_create_acls_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

int h_delete_acls(struct kreq *req)
{
    struct kp_delete_acls_req rq;
    if (kp_delete_acls_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    int n = rq.filters_n > 0 ? rq.filters_n : 0;
    struct kp_delete_acls_resp rs;
    kp_delete_acls_resp_init(&rs);
    rs.filter_results_n = n;
    rs.filter_results = karena_calloc(&req->arena, (size_t)(n ? n : 1),
                                      sizeof *rs.filter_results);
    if (!rs.filter_results)
        return -1;
    bool allowed = authz_allowed_c(req->conn, ACL_OP_ALTER, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME);
    struct acl_set removed = { 0 };
    bool oom = false;
    for (int i = 0; i < n; i++) {
        struct kp_delete_acls_req_filters *f = &rq.filters[i];
        struct kp_delete_acls_resp_filter_results *r = &rs.filter_results[i];
        kp_delete_acls_resp_filter_results_init(r);
        r->error_message = kstr_c(NULL);
        r->matching_acls_n = 0;
        if (req->api_version == 0)
            f->pattern_type_filter = ACL_PAT_LITERAL;
        if (!az.on) {
            r->error_code = KERR_SECURITY_DISABLED;
            r->error_message = kstr_c("No Authorizer is configured.");
            continue;
        }
        if (!allowed) {
            r->error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
            r->error_message = kstr_c("Cluster authorization failed.");
            continue;
        }
        if (!filter_valid(f->resource_type_filter, f->pattern_type_filter, f->operation,
                          f->permission_type)) {
            r->error_code = KERR_INVALID_REQUEST;
            r->error_message = kstr_c("Invalid filter");
            continue;
        }
        if (!metastore_writable()) {
            r->error_code = KERR_UNKNOWN_SERVER_ERROR;
            r->error_message = kstr_c("The metastore session is lost; retry");
            continue;
        }
        int cnt = 0;
        for (int j = 0; j < az.acls.n; j++)
            cnt += filter_matches(&az.acls.v[j], f->resource_type_filter, f->resource_name_filter,
                                  f->pattern_type_filter, f->principal_filter, f->host_filter,
                                  f->operation, f->permission_type);
        r->matching_acls = karena_calloc(&req->arena, (size_t)(cnt ? cnt : 1),
                                         sizeof *r->matching_acls);
        if (!r->matching_acls) {
            acl_set_free(&removed);
            return -1;
        }
        for (int j = 0; j < az.acls.n;) {
            struct acl_entry *e = &az.acls.v[j];
            if (!filter_matches(e, f->resource_type_filter, f->resource_name_filter,
                                f->pattern_type_filter, f->principal_filter, f->host_filter,
                                f->operation, f->permission_type)) {
                j++;
                continue;
            }
            struct kp_delete_acls_resp_filter_results_matching_acls *m =
                &r->matching_acls[r->matching_acls_n++];
            kp_delete_acls_resp_filter_results_matching_acls_init(m);
            m->error_message = kstr_c(NULL);
            m->resource_type = e->res_type;
            m->resource_name = kstr_c(arena_str(&req->arena, kstr_c(e->res_name)));
            m->pattern_type = e->pattern;
            m->principal = kstr_c(arena_str(&req->arena, kstr_c(e->principal)));
            m->host = kstr_c(arena_str(&req->arena, kstr_c(e->host)));
            m->operation = e->op;
            m->permission_type = e->perm;
            if (acl_add(&removed, e) < 0)
                oom = true;
            KLOG_INFO("ACL removed by %s: %s %s %s on %s:%s:%s from %s",
                      req->conn ? req->conn->principal : "?", e->principal,
                      e->perm == ACL_PERM_ALLOW ? "Allow" : "Deny", acl_op_name(e->op),
                      acl_res_name(e->res_type), pattern_name(e->pattern), e->res_name, e->host);
            acl_remove_at(&az.acls, j);
        }
    }
    if (oom || persist(&removed) != 0)
        KLOG_ERROR("storing the ACLs after a deletion failed");
    acl_set_free(&removed);
    struct kw w;
    kreq_writer(req, &w);
    kp_delete_acls_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
