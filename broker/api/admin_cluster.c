/*
 * admin_cluster.c — DescribeCluster, DescribeLogDirs, DescribeProducers,
 * DescribeAcls and ListPartitionReassignments: what kavka's single node
 * looks like to admin tools.
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include "admin.h"
#include "authz.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "producer_state.h"
#include "topics.h"

/* AclOperation codes (Kafka's org.apache.kafka.common.acl.AclOperation). */
enum { OP_READ = 3, OP_WRITE = 4, OP_CREATE = 5, OP_DELETE = 6, OP_ALTER = 7, OP_DESCRIBE = 8, OP_CLUSTER_ACTION = 9,
       OP_DESCRIBE_CONFIGS = 10, OP_ALTER_CONFIGS = 11, OP_IDEMPOTENT_WRITE = 12 };

static int32_t op_bits(const int *ops, size_t n)
{
    int32_t bits = 0;
    for (size_t i = 0; i < n; i++)
        bits |= 1 << ops[i];
    return bits;
}

/* kavka evaluates no ACLs, so a client may do every operation Kafka defines
 * on the resource (what Kafka reports without an authorizer). */
int32_t admin_cluster_operations(void)
{
    static const int ops[] = { OP_CREATE, OP_ALTER, OP_DESCRIBE, OP_CLUSTER_ACTION,
                               OP_DESCRIBE_CONFIGS, OP_ALTER_CONFIGS, OP_IDEMPOTENT_WRITE };
    return op_bits(ops, sizeof ops / sizeof ops[0]);
}

int32_t admin_topic_operations(void)
{
    static const int ops[] = { OP_READ, OP_WRITE, OP_CREATE, OP_DELETE, OP_ALTER, OP_DESCRIBE,
                               OP_DESCRIBE_CONFIGS, OP_ALTER_CONFIGS };
    return op_bits(ops, sizeof ops / sizeof ops[0]);
}

/* ---------------- DescribeCluster ---------------- */

#define ENDPOINT_BROKERS 1

int h_describe_cluster(struct kreq *req)
{
    struct kp_describe_cluster_req rq;
    if (kp_describe_cluster_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct broker *b = req->conn->b;
    const struct blistener *l = req->conn->lst;
    struct kp_describe_cluster_resp rs;
    kp_describe_cluster_resp_init(&rs);
    rs.endpoint_type = rq.endpoint_type;
    rs.cluster_id = kstr_c(b->cluster_id);
    /* Like Metadata, DescribeCluster needs no ACL (Kafka 4's admin client
     * sends it before DescribeTopicPartitions); DESCRIBE on the cluster only
     * decides whether the authorized operations are told. */
    if (rq.endpoint_type != ENDPOINT_BROKERS) {
        /* kavka has no separate controllers to describe. */
        rs.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
        rs.error_message = kstr_c("The endpoint type is not supported by this broker");
        rs.brokers_n = 0;
    } else {
        rs.controller_id = b->cfg->broker_id;
        rs.brokers_n = 1;
        rs.brokers = karena_calloc(&req->arena, 1, sizeof *rs.brokers);
        if (!rs.brokers)
            return -1;
        kp_describe_cluster_resp_brokers_init(&rs.brokers[0]);
        rs.brokers[0].broker_id = b->cfg->broker_id;
        rs.brokers[0].host = kstr_c(l->adv_host);
        rs.brokers[0].port = l->adv_port;
        rs.brokers[0].rack = kstr_c(b->cfg->broker_rack);
        if (rq.include_cluster_authorized_operations)
            rs.cluster_authorized_operations =
                authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME)
                    ? authz_operations(req->conn, ACL_RES_CLUSTER, kstr_c(AUTHZ_CLUSTER_NAME),
                                       admin_cluster_operations())
                    : 0;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_cluster_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- DescribeLogDirs ---------------- */

typedef struct kp_describe_log_dirs_resp_results_topics ld_topic;

static bool part_wanted(const struct kp_describe_log_dirs_req_topics *q, int32_t p)
{
    for (int32_t i = 0; i < q->partitions_n; i++)
        if (q->partitions[i] == p)
            return true;
    return false;
}

/* One topic's partitions in the log dir; q == NULL means all of them. */
static int fill_log_dir_topic(struct kreq *req, const struct topic *t,
                              const struct kp_describe_log_dirs_req_topics *q, ld_topic *out)
{
    kp_describe_log_dirs_resp_results_topics_init(out);
    out->name = kstr_c(t->name);
    out->partitions = karena_calloc(&req->arena, (size_t)t->nparts, sizeof *out->partitions);
    if (!out->partitions)
        return -1;
    out->partitions_n = 0;
    for (int32_t p = 0; p < t->nparts; p++) {
        if (q && !part_wanted(q, p))
            continue;
        struct kp_describe_log_dirs_resp_results_topics_partitions *rp =
            &out->partitions[out->partitions_n++];
        kp_describe_log_dirs_resp_results_topics_partitions_init(rp);
        rp->partition_index = p;
        rp->partition_size = plog_size_bytes(t->parts[p].log);
        rp->offset_lag = 0;
        rp->is_future_key = false;
    }
    return 0;
}

static int fill_log_dir(struct kreq *req, const struct kp_describe_log_dirs_req *rq,
                        struct kp_describe_log_dirs_resp_results *r)
{
    struct broker *b = req->conn->b;
    struct topics *ts = b->topics;
    kp_describe_log_dirs_resp_results_init(r);
    char *abs = realpath(ts->dir, NULL);
    r->log_dir = kstr_c(karena_strdup(&req->arena, abs ? abs : ts->dir));
    free(abs);
    struct statvfs sv;
    if (statvfs(ts->dir, &sv) == 0) {
        r->total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        r->usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    bool all = rq->topics_n < 0;
    int32_t cap = all ? ts->n : rq->topics_n;
    r->topics = karena_calloc(&req->arena, (size_t)cap + 1, sizeof *r->topics);
    if (!r->topics)
        return -1;
    r->topics_n = 0;
    for (int32_t i = 0; i < cap; i++) {
        /* Unknown topics are left out, as Kafka does. */
        const struct topic *t = all ? ts->v[i] : topics_find(ts, rq->topics[i].topic);
        if (t && fill_log_dir_topic(req, t, all ? NULL : &rq->topics[i], &r->topics[r->topics_n++]) != 0)
            return -1;
    }
    return 0;
}

int h_describe_log_dirs(struct kreq *req)
{
    struct kp_describe_log_dirs_req rq;
    if (kp_describe_log_dirs_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_describe_log_dirs_resp rs;
    kp_describe_log_dirs_resp_init(&rs);
    rs.results = karena_calloc(&req->arena, 1, sizeof *rs.results);
    if (!rs.results)
        return -1;
    /* Kafka answers no log dirs without DESCRIBE on the cluster, and says
     * why from v3 on. */
    if (!authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME)) {
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
        rs.results_n = 0;
    } else {
        rs.results_n = 1;
        if (fill_log_dir(req, &rq, &rs.results[0]) != 0)
            return -1;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_log_dirs_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- DescribeProducers ---------------- */

static int fill_producers(struct kreq *req, const struct partition *p,
                          struct kp_describe_producers_resp_topics_partitions *rp)
{
    int n = pstate_count(p->producers);
    rp->active_producers = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rp->active_producers);
    if (!rp->active_producers)
        return -1;
    rp->active_producers_n = n;
    for (int i = 0; i < n; i++) {
        struct kp_describe_producers_resp_topics_partitions_active_producers *ap = &rp->active_producers[i];
        struct pstate_info pi;
        kp_describe_producers_resp_topics_partitions_active_producers_init(ap);
        pstate_get(p->producers, i, &pi);
        ap->producer_id = pi.producer_id;
        ap->producer_epoch = pi.epoch;
        ap->last_sequence = pi.last_seq;
        ap->last_timestamp = -1;      /* not tracked */
        ap->coordinator_epoch = -1;   /* no transactions */
        ap->current_txn_start_offset = -1;
    }
    return 0;
}

int h_describe_producers(struct kreq *req)
{
    struct kp_describe_producers_req rq;
    if (kp_describe_producers_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct broker *b = req->conn->b;
    struct kp_describe_producers_resp rs;
    kp_describe_producers_resp_init(&rs);
    rs.topics_n = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)rs.topics_n + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    for (int32_t i = 0; i < rs.topics_n; i++) {
        const struct kp_describe_producers_req_topics *qt = &rq.topics[i];
        struct kp_describe_producers_resp_topics *rt = &rs.topics[i];
        kp_describe_producers_resp_topics_init(rt);
        rt->name = qt->name;
        bool readable = authz_allowed(req->conn, ACL_OP_READ, ACL_RES_TOPIC, qt->name);
        rt->partitions_n = qt->partition_indexes_n > 0 ? qt->partition_indexes_n : 0;
        rt->partitions = karena_calloc(&req->arena, (size_t)rt->partitions_n + 1, sizeof *rt->partitions);
        if (!rt->partitions)
            return -1;
        for (int32_t j = 0; j < rt->partitions_n; j++) {
            struct kp_describe_producers_resp_topics_partitions *rp = &rt->partitions[j];
            kp_describe_producers_resp_topics_partitions_init(rp);
            rp->partition_index = qt->partition_indexes[j];
            rp->error_message = kstr_c(NULL);
            const struct partition *p = topics_partition(b->topics, qt->name, rp->partition_index);
            if (!readable)
                rp->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            else if (!p)
                rp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (fill_producers(req, p, rp) != 0)
                return -1;
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_producers_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* DescribeAcls, CreateAcls, DeleteAcls: authz.c. */

/* ---------------- ListPartitionReassignments ---------------- */

int h_list_partition_reassignments(struct kreq *req)
{
    struct kp_list_partition_reassignments_req rq;
    if (kp_list_partition_reassignments_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    /* One broker, one replica per partition: nothing is ever reassigned. */
    struct kp_list_partition_reassignments_resp rs;
    kp_list_partition_reassignments_resp_init(&rs);
    rs.error_message = kstr_c(NULL);
    rs.topics_n = 0;
    if (!authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME))
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
    struct kw w;
    kreq_writer(req, &w);
    kp_list_partition_reassignments_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
