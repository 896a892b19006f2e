/*
 * metadata.c — Metadata: this broker (as advertised on the listener the
 * client came in through), the cluster id, and topics with their
 * partitions, auto-creating unknown topics where Kafka would.
 */
#include "admin.h"
#include "authz.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "topics.h"

static const uint8_t zero_uuid[16];

static void fill_topic(struct kreq *req, struct kp_metadata_resp_topics *rt,
                       const struct topic *t, int32_t node)
{
    kp_metadata_resp_topics_init(rt);
    rt->error_code = KERR_NONE;
    rt->name = kstr_c(t->name);
    memcpy(rt->topic_id, t->id, 16);
    rt->is_internal = false;
    rt->topic_authorized_operations = INT32_MIN;
    rt->partitions_n = t->nparts;
    rt->partitions = karena_calloc(&req->arena, (size_t)t->nparts, sizeof *rt->partitions);
    int32_t *node_arr = karena_alloc(&req->arena, sizeof *node_arr);
    if (!rt->partitions || !node_arr) {
        rt->partitions_n = 0;
        rt->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    node_arr[0] = node;
    for (int32_t p = 0; p < t->nparts; p++) {
        struct kp_metadata_resp_topics_partitions *rp = &rt->partitions[p];
        kp_metadata_resp_topics_partitions_init(rp);
        rp->error_code = KERR_NONE;
        rp->partition_index = p;
        rp->leader_id = node;
        rp->leader_epoch = 0;
        rp->replica_nodes_n = 1;
        rp->replica_nodes = node_arr;
        rp->isr_nodes_n = 1;
        rp->isr_nodes = node_arr;
        rp->offline_replicas_n = 0;
        if (t->parts[p].log && plog_offline(t->parts[p].log)) {
            /* Offline after a storage failure (log.h): its only replica is
             * offline, so there is no leader and nothing in sync. */
            rp->error_code = KERR_LEADER_NOT_AVAILABLE;  /* Kafka: no live leader */
            rp->leader_id = -1;
            rp->isr_nodes_n = 0;
            rp->offline_replicas_n = 1;
            rp->offline_replicas = node_arr;
        }
    }
}

/* Kafka auto-creates on Metadata when the broker allows it and (v4+) the
 * client asks for it. */
static int16_t lookup_or_create(struct kreq *req, const struct kp_metadata_req *rq,
                                struct kstr name, struct topic **out)
{
    struct broker *b = req->conn->b;
    *out = topics_find(b->topics, name);
    if (*out)
        return KERR_NONE;
    if (!topic_name_valid(name))
        return KERR_INVALID_TOPIC_EXCEPTION;
    bool allow = req->api_version < 4 || rq->allow_auto_topic_creation;
    if (!allow || !b->cfg->auto_create_topics_enable)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    /* Kafka: auto-creation needs CREATE on the cluster or on the topic. */
    if (!authz_allowed_c(req->conn, ACL_OP_CREATE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME) &&
        !authz_allowed(req->conn, ACL_OP_CREATE, ACL_RES_TOPIC, name))
        return KERR_TOPIC_AUTHORIZATION_FAILED;
    char err[256];
    int e = topics_create(b->topics, name, -1, -1, NULL, 0, false, out, err, sizeof err);
    if (e != KERR_NONE) {
        KLOG_WARN("auto-create of topic %.*s failed: %s", (int)name.len, name.p, err);
        return (int16_t)(e == KERR_TOPIC_ALREADY_EXISTS ? KERR_NONE : KERR_LEADER_NOT_AVAILABLE);
    }
    return KERR_NONE;
}

int h_metadata(struct kreq *req)
{
    struct kp_metadata_req rq;
    if (kp_metadata_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct broker *b = req->conn->b;
    const struct blistener *l = req->conn->lst;
    int32_t node = b->cfg->broker_id;

    struct kp_metadata_resp rs;
    kp_metadata_resp_init(&rs);
    rs.brokers_n = 1;
    rs.brokers = karena_calloc(&req->arena, 1, sizeof *rs.brokers);
    if (!rs.brokers)
        return -1;
    kp_metadata_resp_brokers_init(&rs.brokers[0]);
    rs.brokers[0].node_id = node;
    rs.brokers[0].host = kstr_c(l->adv_host);
    rs.brokers[0].port = l->adv_port;
    rs.brokers[0].rack = kstr_c(NULL);
    rs.cluster_id = kstr_c(b->cluster_id);
    rs.controller_id = node;
    rs.cluster_authorized_operations = INT32_MIN;
    if (req->api_version >= 8 && req->api_version <= 10 && rq.include_cluster_authorized_operations)
        rs.cluster_authorized_operations = authz_operations(
            req->conn, ACL_RES_CLUSTER, kstr_c(AUTHZ_CLUSTER_NAME), admin_cluster_operations());

    /* Null (v1+) or, in v0, empty means every topic. */
    bool all = rq.topics_n < 0 || (req->api_version == 0 && rq.topics_n == 0);
    if (all) {
        rs.topics_n = b->topics->n;
        rs.topics = karena_calloc(&req->arena, (size_t)rs.topics_n + 1, sizeof *rs.topics);
        if (!rs.topics)
            return -1;
        /* Topics the principal may not DESCRIBE are left out (Kafka). */
        rs.topics_n = 0;
        for (int i = 0; i < b->topics->n; i++)
            if (authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_TOPIC, b->topics->v[i]->name))
                fill_topic(req, &rs.topics[rs.topics_n++], b->topics->v[i], node);
    } else {
        rs.topics_n = rq.topics_n;
        rs.topics = karena_calloc(&req->arena, (size_t)rq.topics_n + 1, sizeof *rs.topics);
        if (!rs.topics)
            return -1;
        for (int32_t i = 0; i < rq.topics_n; i++) {
            struct kp_metadata_resp_topics *rt = &rs.topics[i];
            struct kstr name = rq.topics[i].name;
            struct topic *t = NULL;
            int16_t err;
            kp_metadata_resp_topics_init(rt);
            if (name.len < 0) {
                t = topics_find_id(b->topics, rq.topics[i].topic_id);
                err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_ID;
                if (t && !authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_TOPIC, t->name)) {
                    t = NULL;
                    err = KERR_TOPIC_AUTHORIZATION_FAILED;
                }
                memcpy(rt->topic_id, rq.topics[i].topic_id, 16);
            } else if (!authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_TOPIC, name)) {
                /* Kafka: DESCRIBE on the topic, checked before its existence. */
                err = KERR_TOPIC_AUTHORIZATION_FAILED;
            } else {
                err = lookup_or_create(req, &rq, name, &t);
            }
            if (t) {
                fill_topic(req, rt, t, node);
            } else {
                rt->error_code = err;
                rt->name = name;
                if (name.len >= 0)
                    memcpy(rt->topic_id, zero_uuid, 16);
                rt->partitions_n = 0;
                rt->topic_authorized_operations = INT32_MIN;
            }
        }
    }
    /* Operations allowed, when asked for (librdkafka's describe_topics). */
    for (int32_t i = 0; rq.include_topic_authorized_operations && i < rs.topics_n; i++)
        if (rs.topics[i].error_code == KERR_NONE)
            rs.topics[i].topic_authorized_operations = authz_operations(
                req->conn, ACL_RES_TOPIC, rs.topics[i].name, admin_topic_operations());
    struct kw w;
    kreq_writer(req, &w);
    kp_metadata_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
