/*
 * client_quotas.c — DescribeClientQuotas.
 *
 * kavka enforces no quotas and keeps none for client ids or IPs; quota keys
 * found in /config/users/<name> (written by another tool, kept beside the
 * SCRAM credentials by the SCRAM store) are reported as they are, so
 * kafka-configs --describe --entity-type users works.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "authz.h"
#include "broker.h"
#include "kafka_errors.h"
#include "scram_store.h"

static bool quota_value(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    char *end;
    *out = strtod(json_string_value(v), &end);
    return end != json_string_value(v) && *end == 0;
}

int h_describe_client_quotas(struct kreq *req)
{
    struct kp_describe_client_quotas_req rq;
    if (kp_describe_client_quotas_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_describe_client_quotas_resp rs;
    kp_describe_client_quotas_resp_init(&rs);
    rs.error_message.p = NULL;
    rs.error_message.len = -1;
    if (!authz_allowed_c(req->conn, ACL_OP_DESCRIBE_CONFIGS, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME))
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
    /* Only user components can match (match_type 0: exact, 1: default, 2: any). */
    bool only_users = true;
    const struct kp_describe_client_quotas_req_components *uc = NULL;
    for (int i = 0; i < rq.components_n; i++) {
        const struct kp_describe_client_quotas_req_components *c = &rq.components[i];
        if (c->match_type < 0 || c->match_type > 2 || (c->match_type == 0 && c->match.len < 0)) {
            rs.error_code = KERR_INVALID_REQUEST;
            rs.error_message = kstr_c("Invalid match type or missing match");
        }
        if (kstr_eq(c->entity_type, "user"))
            uc = c;
        else
            only_users = false;
    }
    int nusers = scram_store_nusers();
    rs.entries = karena_calloc(&req->arena, (size_t)nusers + 1, sizeof *rs.entries);
    if (!rs.entries)
        return -1;
    rs.entries_n = 0;
    for (int i = 0; i < nusers && only_users && rs.error_code == KERR_NONE; i++) {
        json_t *other;
        const char *name = scram_store_user(i, &other);
        bool is_default = strcmp(name, "<default>") == 0;
        if (!other)
            continue;
        if (uc && uc->match_type == 0 && !kstr_eq(uc->match, name))
            continue;
        if (uc && uc->match_type == 1 && !is_default)
            continue;
        size_t nkeys = json_object_size(other);
        struct kp_describe_client_quotas_resp_entries *e = &rs.entries[rs.entries_n];
        kp_describe_client_quotas_resp_entries_init(e);
        e->values = karena_calloc(&req->arena, nkeys + 1, sizeof *e->values);
        e->entity = karena_calloc(&req->arena, 1, sizeof *e->entity);
        if (!e->values || !e->entity)
            return -1;
        e->values_n = 0;
        const char *key;
        json_t *val;
        json_object_foreach(other, key, val) {
            double d;
            if (!quota_value(val, &d))
                continue;
            e->values[e->values_n].key = kstr_c(key);
            e->values[e->values_n].value = d;
            e->values_n++;
        }
        if (e->values_n == 0)
            continue;
        e->entity_n = 1;
        e->entity[0].entity_type = kstr_c("user");
        e->entity[0].entity_name = is_default ? (struct kstr){ NULL, -1 } : kstr_c(name);
        rs.entries_n++;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_client_quotas_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
