/*
 * admin_topics.c — CreateTopics and DeleteTopics.
 */
#include <stdio.h>

#include "authz.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "topics.h"

static void create_one(struct kreq *req, const struct kp_create_topics_req *rq,
                       const struct kp_create_topics_req_topics *ct,
                       struct kp_create_topics_resp_topics *rt)
{
    struct broker *b = req->conn->b;
    kp_create_topics_resp_topics_init(rt);
    rt->name = ct->name;
    rt->num_partitions = -1;
    rt->replication_factor = -1;
    rt->error_message = kstr_c(NULL);
    rt->configs_n = -1;
    char err[512] = "";
    int e;
    int32_t nparts = ct->num_partitions;
    int16_t rf = ct->replication_factor;
    /* Kafka: CREATE on the cluster or on the topic. */
    if (!authz_allowed_c(req->conn, ACL_OP_CREATE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME) &&
        !authz_allowed(req->conn, ACL_OP_CREATE, ACL_RES_TOPIC, ct->name)) {
        e = KERR_TOPIC_AUTHORIZATION_FAILED;
        snprintf(err, sizeof err, "Authorization failed.");
        goto out;
    }
    if (ct->assignments_n > 0) {
        /* Manual assignment: every partition on this broker, one replica. */
        e = KERR_NONE;
        if (nparts != -1 || rf != -1) {
            e = KERR_INVALID_REQUEST;
            snprintf(err, sizeof err, "Both numPartitions or replicationFactor and replicasAssignments were set.");
        }
        for (int32_t i = 0; i < ct->assignments_n && !e; i++) {
            const struct kp_create_topics_req_topics_assignments *a = &ct->assignments[i];
            if (a->partition_index != i || a->broker_ids_n != 1 ||
                a->broker_ids[0] != b->cfg->broker_id) {
                e = KERR_INVALID_REPLICA_ASSIGNMENT;
                snprintf(err, sizeof err, "Replica assignment must place partition %d on broker %d only",
                         i, b->cfg->broker_id);
            }
        }
        nparts = ct->assignments_n;
        rf = 1;
        if (e)
            goto out;
    }
    struct tconfig *cfgs = karena_calloc(&req->arena, (size_t)(ct->configs_n > 0 ? ct->configs_n : 0) + 1,
                                         sizeof *cfgs);
    int ncfgs = 0;
    for (int32_t i = 0; cfgs && i < ct->configs_n; i++) {
        struct kstr n = ct->configs[i].name, v = ct->configs[i].value;
        char *ns = karena_alloc(&req->arena, (size_t)(n.len > 0 ? n.len : 0) + 1);
        char *vs = v.len >= 0 ? karena_alloc(&req->arena, (size_t)v.len + 1) : NULL;
        if (!ns)
            break;
        memcpy(ns, n.p, n.len > 0 ? (size_t)n.len : 0);
        if (vs)
            memcpy(vs, v.p, (size_t)v.len);
        cfgs[ncfgs].name = ns;
        cfgs[ncfgs].value = vs;
        ncfgs++;
    }
    bool validate_only = req->api_version >= 1 && rq->validate_only;
    struct topic *t = NULL;
    e = topics_create(b->topics, ct->name, nparts, rf, cfgs, ncfgs, validate_only, &t, err, sizeof err);
    if (e == KERR_NONE) {
        rt->num_partitions = t ? t->nparts : (nparts == -1 ? b->cfg->num_partitions : nparts);
        rt->replication_factor = 1;
        if (t)
            memcpy(rt->topic_id, t->id, 16);
        rt->configs_n = 0;
    }
out:
    rt->error_code = (int16_t)e;
    if (e && err[0])
        rt->error_message = kstr_c(karena_strdup(&req->arena, err));
}

int h_create_topics(struct kreq *req)
{
    struct kp_create_topics_req rq;
    if (kp_create_topics_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_create_topics_resp rs;
    kp_create_topics_resp_init(&rs);
    rs.topics_n = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)rs.topics_n + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    for (int32_t i = 0; i < rs.topics_n; i++)
        create_one(req, &rq, &rq.topics[i], &rs.topics[i]);
    struct kw w;
    kreq_writer(req, &w);
    kp_create_topics_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

static void delete_one(struct kreq *req, struct kstr name, const uint8_t *id,
                       struct kp_delete_topics_resp_responses *r)
{
    struct broker *b = req->conn->b;
    struct topic *t = name.len >= 0 ? topics_find(b->topics, name) : topics_find_id(b->topics, id);
    kp_delete_topics_resp_responses_init(r);
    r->name = name;
    r->error_message = kstr_c(NULL);
    if (id)
        memcpy(r->topic_id, id, 16);
    /* Kafka: DELETE on the topic (by name: checked before its existence). */
    if (!authz_allowed(req->conn, ACL_OP_DELETE, ACL_RES_TOPIC, name) &&
        (name.len >= 0 || (t && !authz_allowed_c(req->conn, ACL_OP_DELETE, ACL_RES_TOPIC, t->name)))) {
        r->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    if (!t) {
        r->error_code = name.len >= 0 ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
        return;
    }
    if (!b->cfg->delete_topic_enable) {
        r->error_code = KERR_TOPIC_DELETION_DISABLED;
        return;
    }
    if (name.len < 0)
        r->name = kstr_c(karena_strdup(&req->arena, t->name));
    memcpy(r->topic_id, t->id, 16);
    r->error_code = (int16_t)topics_delete(b->topics, t);
}

int h_delete_topics(struct kreq *req)
{
    struct kp_delete_topics_req rq;
    if (kp_delete_topics_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    bool v6 = req->api_version >= 6;
    int32_t n = v6 ? rq.topics_n : rq.topic_names_n;
    struct kp_delete_topics_resp rs;
    kp_delete_topics_resp_init(&rs);
    rs.responses_n = n > 0 ? n : 0;
    rs.responses = karena_calloc(&req->arena, (size_t)rs.responses_n + 1, sizeof *rs.responses);
    if (!rs.responses)
        return -1;
    for (int32_t i = 0; i < rs.responses_n; i++) {
        if (v6)
            delete_one(req, rq.topics[i].name, rq.topics[i].topic_id, &rs.responses[i]);
        else
            delete_one(req, rq.topic_names[i], NULL, &rs.responses[i]);
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_delete_topics_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
