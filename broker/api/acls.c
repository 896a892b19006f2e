/*
 * acls.c — DescribeAcls, CreateAcls, DeleteAcls: Kafka's request semantics
 * (filters, validation, per-entry errors) over the authorizer's ACLs and
 * its change API (security/authz.h). CreateAcls and DeleteAcls run as a job
 * on the admin-write queue and are answered once their change is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "authz.h"
#include "broker.h"
#include "kafka_errors.h"

/* A CreateAcls or DeleteAcls request while its change is worked out and
 * stored. The request and the response being built live in the request's
 * arena: used only while awrite_req() is not NULL. */
struct acls_job {
    struct awrite *w;
    struct acl_change *ch;
    struct kp_create_acls_req crq;
    struct kp_create_acls_resp crs;
    int *owner;               /* creation i -> change target, or -1 */
    struct kp_delete_acls_req drq;
    struct kp_delete_acls_resp drs;
    int **match_owner;        /* filter i, match k -> change target */
};

static void job_free(struct acls_job *j)
{
    acl_change_free(j->ch);
    free(j);
}

static void job_drop(struct awrite *w, void *arg)
{
    (void)w;
    job_free(arg);
}

static void out_of_memory(struct acls_job *j)
{
    struct awrite *w = j->w;
    struct kreq *req = awrite_take(w);
    if (req && req->conn)
        conn_close(req->conn, "out of memory");
    job_free(j);
    awrite_done(w);
}

static struct kstr target_msg(struct karena *a, const struct acl_change *ch, int idx,
                              int16_t *err)
{
    const char *msg;
    *err = acl_change_error(ch, idx, &msg);
    return kstr_c(*err ? karena_strdup(a, msg) : NULL);
}

static void create_done(struct acl_change *ch, void *arg)
{
    struct acls_job *j = arg;
    struct awrite *w = j->w;
    struct kreq *req = awrite_take(w);
    if (req) {
        for (int i = 0; i < j->crs.results_n; i++) {
            if (j->owner[i] < 0)
                continue;
            int16_t err;
            struct kstr msg = target_msg(&req->arena, ch, j->owner[i], &err);
            if (err) {
                j->crs.results[i].error_code = err;
                j->crs.results[i].error_message = msg;
            }
        }
        struct kw kw;
        kreq_writer(req, &kw);
        kp_create_acls_resp_encode(&kw, req->api_version, &j->crs);
        kreq_finish(req, &kw);
    }
    job_free(j);
    awrite_done(w);
}

static void delete_done(struct acl_change *ch, void *arg)
{
    struct acls_job *j = arg;
    struct awrite *w = j->w;
    struct kreq *req = awrite_take(w);
    if (req) {
        for (int i = 0; i < j->drs.filter_results_n; i++) {
            struct kp_delete_acls_resp_filter_results *fr = &j->drs.filter_results[i];
            for (int k = 0; j->match_owner[i] && k < fr->matching_acls_n; k++) {
                int16_t err;
                struct kstr msg = target_msg(&req->arena, ch, j->match_owner[i][k], &err);
                if (err) {
                    fr->matching_acls[k].error_code = err;
                    fr->matching_acls[k].error_message = msg;
                }
            }
        }
        struct kw kw;
        kreq_writer(req, &kw);
        kp_delete_acls_resp_encode(&kw, req->api_version, &j->drs);
        kreq_finish(req, &kw);
    }
    job_free(j);
    awrite_done(w);
}

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
    if (!authz_enabled(NULL)) {
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
        const struct acl_set *acls = authz_acls();
        int n = acls->n;
        rs.resources = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.resources);
        int *owner = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *owner);
        int *count = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *count);
        if (!rs.resources || !owner || !count)
            return -1;
        for (int i = 0; i < n; i++) {
            const struct acl_entry *e = &acls->v[i];
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
            const struct acl_entry *e = &acls->v[i];
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

static void create_start(struct awrite *w, void *arg)
{
    struct acls_job *j = arg;
    j->w = w;
    struct kreq *req = awrite_req(w);
    struct kp_create_acls_req *rq = &j->crq;
    struct kp_create_acls_resp *rs = &j->crs;
    int n = rq->creations_n > 0 ? rq->creations_n : 0;
    j->ch = acl_change_new(req->conn ? req->conn->principal : "?");
    kp_create_acls_resp_init(rs);
    rs->results_n = n;
    rs->results = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs->results);
    j->owner = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *j->owner);
    if (!j->ch || !rs->results || !j->owner) {
        out_of_memory(j);
        return;
    }
    bool allowed = authz_allowed_c(req->conn, ACL_OP_ALTER, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME);
    for (int i = 0; i < n; i++) {
        struct kp_create_acls_req_creations *c = &rq->creations[i];
        struct kp_create_acls_resp_results *r = &rs->results[i];
        kp_create_acls_resp_results_init(r);
        r->error_message = kstr_c(NULL);
        j->owner[i] = -1;
        if (req->api_version == 0)
            c->resource_pattern_type = ACL_PAT_LITERAL;
        const char *bad;
        if (!authz_enabled(NULL)) {
            r->error_code = KERR_SECURITY_DISABLED;
            r->error_message = kstr_c("No Authorizer is configured.");
        } else if (!allowed) {
            r->error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
            r->error_message = kstr_c("Cluster authorization failed.");
        } else if ((bad = creation_invalid(c))) {
            r->error_code = KERR_INVALID_REQUEST;
            r->error_message = kstr_c(bad);
        } else if (!authz_writable()) {
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
            struct acl_set *want = e.res_name && e.principal && e.host
                                       ? acl_change_target(j->ch, e.res_type, e.pattern,
                                                           e.res_name, &j->owner[i])
                                       : NULL;
            if (!want || acl_add(want, &e) < 0) {
                j->owner[i] = -1;
                r->error_code = KERR_UNKNOWN_SERVER_ERROR;
                r->error_message = kstr_c("Out of memory");
            }
        }
    }
    acl_change_store(j->ch, create_done, j);
}

int h_create_acls(struct kreq *req)
{
    struct acls_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    if (kp_create_acls_req_decode(&req->body, req->api_version, &req->arena, &j->crq) != 0) {
        free(j);
        return -1;
    }
    awrite_submit(req, create_start, job_drop, j);
    return 0;
}

static void delete_start(struct awrite *w, void *arg)
{
    struct acls_job *j = arg;
    j->w = w;
    struct kreq *req = awrite_req(w);
    struct kp_delete_acls_req *rq = &j->drq;
    struct kp_delete_acls_resp *rs = &j->drs;
    const struct acl_set *acls = authz_acls();
    int n = rq->filters_n > 0 ? rq->filters_n : 0;
    j->ch = acl_change_new(req->conn ? req->conn->principal : "?");
    kp_delete_acls_resp_init(rs);
    rs->filter_results_n = n;
    rs->filter_results = karena_calloc(&req->arena, (size_t)(n ? n : 1),
                                       sizeof *rs->filter_results);
    j->match_owner = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *j->match_owner);
    bool oom = !j->ch || !rs->filter_results || !j->match_owner;
    bool allowed = authz_allowed_c(req->conn, ACL_OP_ALTER, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME);
    for (int i = 0; i < n && !oom; i++) {
        struct kp_delete_acls_req_filters *f = &rq->filters[i];
        struct kp_delete_acls_resp_filter_results *r = &rs->filter_results[i];
        kp_delete_acls_resp_filter_results_init(r);
        r->error_message = kstr_c(NULL);
        r->matching_acls_n = 0;
        if (req->api_version == 0)
            f->pattern_type_filter = ACL_PAT_LITERAL;
        if (!authz_enabled(NULL)) {
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
        if (!authz_writable()) {
            r->error_code = KERR_UNKNOWN_SERVER_ERROR;
            r->error_message = kstr_c("The metastore session is lost; retry");
            continue;
        }
        int cnt = 0;
        for (int k = 0; k < acls->n; k++)
            cnt += filter_matches(&acls->v[k], f->resource_type_filter, f->resource_name_filter,
                                  f->pattern_type_filter, f->principal_filter, f->host_filter,
                                  f->operation, f->permission_type);
        r->matching_acls = karena_calloc(&req->arena, (size_t)(cnt ? cnt : 1),
                                         sizeof *r->matching_acls);
        j->match_owner[i] = karena_calloc(&req->arena, (size_t)(cnt ? cnt : 1), sizeof(int));
        if (!r->matching_acls || !j->match_owner[i]) {
            oom = true;
            break;
        }
        for (int k = 0; k < acls->n; k++) {
            const struct acl_entry *e = &acls->v[k];
            if (!filter_matches(e, f->resource_type_filter, f->resource_name_filter,
                                f->pattern_type_filter, f->principal_filter, f->host_filter,
                                f->operation, f->permission_type))
                continue;
            int idx;
            struct acl_set *want = acl_change_target(j->ch, e->res_type, e->pattern, e->res_name,
                                                     &idx);
            if (!want) {
                oom = true;
                break;
            }
            /* Remove it from what the node will hold (another filter may have already). */
            for (int x = 0; x < want->n; x++)
                if (acl_entry_same(&want->v[x], e)) {
                    acl_remove_at(want, x);
                    break;
                }
            struct kp_delete_acls_resp_filter_results_matching_acls *m =
                &r->matching_acls[r->matching_acls_n];
            j->match_owner[i][r->matching_acls_n++] = idx;
            kp_delete_acls_resp_filter_results_matching_acls_init(m);
            m->error_message = kstr_c(NULL);
            m->resource_type = e->res_type;
            m->resource_name = kstr_c(arena_str(&req->arena, kstr_c(e->res_name)));
            m->pattern_type = e->pattern;
            m->principal = kstr_c(arena_str(&req->arena, kstr_c(e->principal)));
            m->host = kstr_c(arena_str(&req->arena, kstr_c(e->host)));
            m->operation = e->op;
            m->permission_type = e->perm;
        }
    }
    if (oom) {
        out_of_memory(j);
        return;
    }
    acl_change_store(j->ch, delete_done, j);
}

int h_delete_acls(struct kreq *req)
{
    struct acls_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    if (kp_delete_acls_req_decode(&req->body, req->api_version, &req->arena, &j->drq) != 0) {
        free(j);
        return -1;
    }
    awrite_submit(req, delete_start, job_drop, j);
    return 0;
}
