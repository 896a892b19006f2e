/*
 * group_admin.c — FindCoordinator, DescribeGroups, ListGroups and
 * DeleteGroups. One broker is the coordinator of every group and every
 * transactional id.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authz.h"
#include "config.h"
#include "group_int.h"
#include "kafka_errors.h"
#include "klog.h"

/* ------------------------------------------------------- FindCoordinator */

enum { KEY_TYPE_GROUP = 0, KEY_TYPE_TRANSACTION = 1 };

/* Kafka: DESCRIBE on the group or transactional id. */
static int16_t coordinator_authz(struct kreq *req, int8_t key_type, struct kstr key, int16_t err)
{
    if (err)
        return err;
    if (key_type == KEY_TYPE_GROUP && !authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_GROUP, key))
        return KERR_GROUP_AUTHORIZATION_FAILED;
    if (key_type == KEY_TYPE_TRANSACTION &&
        !authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_TRANSACTIONAL_ID, key))
        return KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return KERR_NONE;
}

int h_find_coordinator(struct kreq *req)
{
    struct kp_find_coordinator_req rq;
    if (kp_find_coordinator_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    const struct blistener *l = req->conn->lst;
    int32_t node = req->conn->b->cfg->broker_id;
    /* Share groups (key type 2) come with v6, which is not served. */
    int16_t err = rq.key_type == KEY_TYPE_GROUP || rq.key_type == KEY_TYPE_TRANSACTION
                      ? KERR_NONE
                      : KERR_INVALID_REQUEST;
    struct kp_find_coordinator_resp rs;
    kp_find_coordinator_resp_init(&rs);
    if (req->api_version < 4) {
        int16_t e0 = err;
        err = coordinator_authz(req, rq.key_type, rq.key, err);
        rs.error_code = err;
        rs.error_message = kstr_c(e0 ? "unsupported key type" : NULL);
        rs.node_id = err ? -1 : node;
        rs.host = kstr_c(err ? "" : l->adv_host);
        rs.port = err ? -1 : l->adv_port;
    } else {
        int32_t n = rq.coordinator_keys_n > 0 ? rq.coordinator_keys_n : 0;
        rs.coordinators = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.coordinators);
        if (!rs.coordinators)
            return -1;
        rs.coordinators_n = n;
        for (int32_t i = 0; i < n; i++) {
            struct kp_find_coordinator_resp_coordinators *c = &rs.coordinators[i];
            kp_find_coordinator_resp_coordinators_init(c);
            c->key = rq.coordinator_keys[i];
            int16_t e = coordinator_authz(req, rq.key_type, c->key, err);
            c->error_code = e;
            c->error_message = kstr_c(err ? "unsupported key type" : NULL);
            c->node_id = e ? -1 : node;
            c->host = kstr_c(e ? "" : l->adv_host);
            c->port = e ? -1 : l->adv_port;
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_find_coordinator_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ------------------------------------------------------- DescribeGroups */

/* Kafka's AclOperation codes a group supports: READ(3), DELETE(6),
 * DESCRIBE(8). Without an authorizer everything is allowed. */
#define GROUP_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8))

static int describe_one(struct kreq *req, struct kstr gid, bool want_ops,
                        struct kp_describe_groups_resp_groups *o)
{
    kp_describe_groups_resp_groups_init(o);
    o->group_id = gid;
    o->authorized_operations =
        want_ops ? authz_operations(req->conn, ACL_RES_GROUP, gid, GROUP_OPERATIONS) : INT32_MIN;
    struct group *g = gid.len > 0 ? group_find(req->conn->b->groups, gid) : NULL;
    /* Kafka: DESCRIBE on the group. */
    if (!authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_GROUP, gid)) {
        o->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
        o->authorized_operations = INT32_MIN;
        return 0;
    }
    if (gid.len <= 0) {
        o->error_code = KERR_INVALID_GROUP_ID;
        return 0;
    }
    if (!g) {
        /* Kafka describes an unknown group as Dead, without an error. */
        o->group_state = kstr_c("Dead");
        return 0;
    }
    /* Metadata and assignments are only meaningful once Stable. */
    bool stable = g->state == GS_STABLE;
    o->group_state = kstr_c(gstate_name(g->state));
    o->protocol_type = kstr_c(g->protocol_type ? g->protocol_type : "");
    o->protocol_data = kstr_c(stable && g->protocol ? g->protocol : "");
    o->members = karena_calloc(&req->arena, (size_t)g->nmembers + 1, sizeof *o->members);
    if (!o->members)
        return -1;
    int32_t n = 0;
    for (struct gmember *m = g->members; m; m = m->next) {
        if (m->pending)
            continue;
        struct kp_describe_groups_resp_groups_members *om = &o->members[n++];
        kp_describe_groups_resp_groups_members_init(om);
        om->member_id = kstr_c(m->id);
        om->group_instance_id = kstr_c(m->instance_id);
        om->client_id = kstr_c(m->client_id ? m->client_id : "");
        om->client_host = kstr_c(m->client_host ? m->client_host : "");
        const struct gproto *p = stable ? member_proto(m, g->protocol) : NULL;
        om->member_metadata.p = p ? p->meta : NULL;
        om->member_metadata.len = p ? p->len : 0;
        om->member_assignment.p = stable ? m->assign : NULL;
        om->member_assignment.len = stable ? m->assign_len : 0;
    }
    o->members_n = n;
    return 0;
}

int h_describe_groups(struct kreq *req)
{
    struct kp_describe_groups_req rq;
    if (kp_describe_groups_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_describe_groups_resp rs;
    kp_describe_groups_resp_init(&rs);
    int32_t n = rq.groups_n > 0 ? rq.groups_n : 0;
    rs.groups = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.groups);
    if (!rs.groups)
        return -1;
    rs.groups_n = n;
    for (int32_t i = 0; i < n; i++)
        if (describe_one(req, rq.groups[i], rq.include_authorized_operations, &rs.groups[i]) != 0)
            return -1;
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_groups_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ----------------------------------------------------------- ListGroups */

static bool in_filter(const struct kstr *v, int32_t n, const char *s)
{
    if (n <= 0)
        return true;
    for (int32_t i = 0; i < n; i++)
        if (v[i].len >= 0 && strlen(s) == (size_t)v[i].len && strncasecmp(v[i].p, s, (size_t)v[i].len) == 0)
            return true;
    return false;
}

int h_list_groups(struct kreq *req)
{
    struct kp_list_groups_req rq;
    if (kp_list_groups_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct groups *gs = req->conn->b->groups;
    struct kp_list_groups_resp rs;
    kp_list_groups_resp_init(&rs);
    rs.groups = karena_calloc(&req->arena, (size_t)gs->n + 1, sizeof *rs.groups);
    if (!rs.groups)
        return -1;
    int32_t n = 0;
    /* Kafka: DESCRIBE on the cluster lists every group, else the groups
     * the principal may DESCRIBE. */
    bool all = authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME);
    for (int i = 0; i < gs->n; i++) {
        struct group *g = gs->v[i];
        if (!all && !authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_GROUP, g->id))
            continue;
        /* Every group here speaks the classic protocol (KIP-848 types). */
        if (!in_filter(rq.states_filter, rq.states_filter_n, gstate_name(g->state)) ||
            !in_filter(rq.types_filter, rq.types_filter_n, "classic"))
            continue;
        struct kp_list_groups_resp_groups *o = &rs.groups[n++];
        kp_list_groups_resp_groups_init(o);
        o->group_id = kstr_c(g->id);
        o->protocol_type = kstr_c(g->protocol_type ? g->protocol_type : "");
        o->group_state = kstr_c(gstate_name(g->state));
        o->group_type = kstr_c("classic");
    }
    rs.groups_n = n;
    struct kw w;
    kreq_writer(req, &w);
    kp_list_groups_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* --------------------------------------------------------- DeleteGroups */

static int16_t delete_one(struct groups *gs, struct kstr gid)
{
    if (gid.len <= 0)
        return KERR_INVALID_GROUP_ID;
    struct group *g = group_find(gs, gid);
    if (!g)
        return KERR_GROUP_ID_NOT_FOUND;
    group_expire_overdue(g);
    if (g->state != GS_EMPTY || g->nmembers > 0 || g->npending > 0)
        return KERR_NON_EMPTY_GROUP;
    KLOG_INFO("group %s deleted", g->id);
    return group_delete_durably(g) == 0 ? KERR_NONE : KERR_COORDINATOR_NOT_AVAILABLE;
}

int h_delete_groups(struct kreq *req)
{
    struct kp_delete_groups_req rq;
    if (kp_delete_groups_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_delete_groups_resp rs;
    kp_delete_groups_resp_init(&rs);
    int32_t n = rq.groups_names_n > 0 ? rq.groups_names_n : 0;
    rs.results = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.results);
    if (!rs.results)
        return -1;
    rs.results_n = n;
    for (int32_t i = 0; i < n; i++) {
        kp_delete_groups_resp_results_init(&rs.results[i]);
        rs.results[i].group_id = rq.groups_names[i];
        /* Kafka: DELETE on the group. */
        rs.results[i].error_code =
            authz_allowed(req->conn, ACL_OP_DELETE, ACL_RES_GROUP, rq.groups_names[i])
                ? delete_one(req->conn->b->groups, rq.groups_names[i])
                : KERR_GROUP_AUTHORIZATION_FAILED;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_delete_groups_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
