/*
 * admin_partitions.c — CreatePartitions, DeleteRecords, OffsetForLeaderEpoch.
 *
 * kavka is one broker and never changes leader, so every partition's leader
 * epoch is 0 (what Metadata reports) and its only replica is this broker.
 */
#include <stdio.h>

#include "authz.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "topics.h"

#define LEADER_EPOCH 0

/* ---------------- CreatePartitions ---------------- */

static int check_assignments(const struct broker *b, const struct topic *t,
                             const struct kp_create_partitions_req_topics *ct, char *err, size_t errlen)
{
    if (ct->assignments_n < 0)
        return KERR_NONE;
    if (ct->assignments_n != ct->count - t->nparts) {
        snprintf(err, errlen, "Increasing the number of partitions by %d but %d assignments provided.",
                 ct->count - t->nparts, ct->assignments_n);
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t i = 0; i < ct->assignments_n; i++) {
        const struct kp_create_partitions_req_topics_assignments *a = &ct->assignments[i];
        if (a->broker_ids_n != 1 || a->broker_ids[0] != b->cfg->broker_id) {
            snprintf(err, errlen, "Replica assignment must place each new partition on broker %d only",
                     b->cfg->broker_id);
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    return KERR_NONE;
}

static bool seen_before(const struct kp_create_partitions_req *rq, int32_t i)
{
    for (int32_t j = 0; j < i; j++)
        if (rq->topics[j].name.len == rq->topics[i].name.len && rq->topics[i].name.len >= 0 &&
            memcmp(rq->topics[j].name.p, rq->topics[i].name.p, (size_t)rq->topics[i].name.len) == 0)
            return true;
    return false;
}

static int create_partitions_one(struct broker *b, const struct kp_create_partitions_req *rq, int32_t i,
                                 char *err, size_t errlen)
{
    const struct kp_create_partitions_req_topics *ct = &rq->topics[i];
    if (seen_before(rq, i)) {
        snprintf(err, errlen, "Duplicate topic in request.");
        return KERR_INVALID_REQUEST;
    }
    struct topic *t = topics_find(b->topics, ct->name);
    if (!t) {
        snprintf(err, errlen, "The topic '%.*s' does not exist.", ct->name.len > 0 ? (int)ct->name.len : 0,
                 ct->name.p ? ct->name.p : "");
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (ct->count == t->nparts) {
        snprintf(err, errlen, "Topic already has %d partitions.", t->nparts);
        return KERR_INVALID_PARTITIONS;
    }
    if (ct->count < t->nparts) {
        snprintf(err, errlen, "Topic currently has %d partitions, which is higher than the requested %d.",
                 t->nparts, ct->count);
        return KERR_INVALID_PARTITIONS;
    }
    int e = check_assignments(b, t, ct, err, errlen);
    if (e || rq->validate_only)
        return e;
    return topics_add_partitions(b->topics, t, ct->count, err, errlen);
}

int h_create_partitions(struct kreq *req)
{
    struct kp_create_partitions_req rq;
    if (kp_create_partitions_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_create_partitions_resp rs;
    kp_create_partitions_resp_init(&rs);
    rs.results_n = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.results = karena_calloc(&req->arena, (size_t)rs.results_n + 1, sizeof *rs.results);
    if (!rs.results)
        return -1;
    for (int32_t i = 0; i < rs.results_n; i++) {
        struct kp_create_partitions_resp_results *r = &rs.results[i];
        kp_create_partitions_resp_results_init(r);
        r->name = rq.topics[i].name;
        char err[512] = "";
        /* Kafka: ALTER on the topic. */
        int e = !authz_allowed(req->conn, ACL_OP_ALTER, ACL_RES_TOPIC, rq.topics[i].name)
                    ? KERR_TOPIC_AUTHORIZATION_FAILED
                    : create_partitions_one(req->conn->b, &rq, i, err, sizeof err);
        r->error_code = (int16_t)e;
        r->error_message = kstr_c(e && *err ? karena_strdup(&req->arena, err) : NULL);
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_create_partitions_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- DeleteRecords ---------------- */

int h_delete_records(struct kreq *req)
{
    struct kp_delete_records_req rq;
    if (kp_delete_records_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct broker *b = req->conn->b;
    struct kp_delete_records_resp rs;
    kp_delete_records_resp_init(&rs);
    rs.topics_n = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)rs.topics_n + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    for (int32_t i = 0; i < rs.topics_n; i++) {
        const struct kp_delete_records_req_topics *qt = &rq.topics[i];
        struct kp_delete_records_resp_topics *rt = &rs.topics[i];
        kp_delete_records_resp_topics_init(rt);
        rt->name = qt->name;
        rt->partitions_n = qt->partitions_n > 0 ? qt->partitions_n : 0;
        rt->partitions = karena_calloc(&req->arena, (size_t)rt->partitions_n + 1, sizeof *rt->partitions);
        if (!rt->partitions)
            return -1;
        for (int32_t j = 0; j < rt->partitions_n; j++) {
            struct kp_delete_records_resp_topics_partitions *rp = &rt->partitions[j];
            kp_delete_records_resp_topics_partitions_init(rp);
            rp->partition_index = qt->partitions[j].partition_index;
            rp->low_watermark = -1;
            /* Kafka: DELETE on the topic. */
            if (!authz_allowed(req->conn, ACL_OP_DELETE, ACL_RES_TOPIC, qt->name)) {
                rp->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
                continue;
            }
            struct partition *p = topics_partition(b->topics, qt->name, rp->partition_index);
            if (!p) {
                rp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            /* -1 means "up to the high watermark" (the log end offset here). */
            rp->error_code = (int16_t)plog_delete_records(p->log, qt->partitions[j].offset);
            rp->low_watermark = plog_start_offset(p->log);
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_delete_records_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- OffsetForLeaderEpoch ---------------- */

static void epoch_end(struct broker *b, struct kstr topic,
                      const struct kp_offset_for_leader_epoch_req_topics_partitions *q,
                      struct kp_offset_for_leader_epoch_resp_topics_partitions *r)
{
    kp_offset_for_leader_epoch_resp_topics_partitions_init(r);
    r->partition = q->partition;
    r->leader_epoch = -1;
    r->end_offset = -1;
    struct partition *p = topics_partition(b->topics, topic, q->partition);
    if (!p) {
        r->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (plog_offline(p->log)) {   /* a storage failure took it offline (log.h) */
        r->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    /* The client's idea of the current epoch is checked as Kafka does. */
    if (q->current_leader_epoch > LEADER_EPOCH) {
        r->error_code = KERR_UNKNOWN_LEADER_EPOCH;
        return;
    }
    if (q->current_leader_epoch >= 0 && q->current_leader_epoch < LEADER_EPOCH) {
        r->error_code = KERR_FENCED_LEADER_EPOCH;
        return;
    }
    /* Epoch 0 is the only one there ever was: it ends at the log end. Asking
     * for a later or negative epoch gets UNDEFINED_EPOCH / _OFFSET. */
    if (q->leader_epoch == LEADER_EPOCH) {
        r->leader_epoch = LEADER_EPOCH;
        r->end_offset = plog_end_offset(p->log);
    }
}

int h_offset_for_leader_epoch(struct kreq *req)
{
    struct kp_offset_for_leader_epoch_req rq;
    if (kp_offset_for_leader_epoch_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_offset_for_leader_epoch_resp rs;
    kp_offset_for_leader_epoch_resp_init(&rs);
    rs.topics_n = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)rs.topics_n + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    for (int32_t i = 0; i < rs.topics_n; i++) {
        const struct kp_offset_for_leader_epoch_req_topics *qt = &rq.topics[i];
        struct kp_offset_for_leader_epoch_resp_topics *rt = &rs.topics[i];
        kp_offset_for_leader_epoch_resp_topics_init(rt);
        rt->topic = qt->topic;
        rt->partitions_n = qt->partitions_n > 0 ? qt->partitions_n : 0;
        rt->partitions = karena_calloc(&req->arena, (size_t)rt->partitions_n + 1, sizeof *rt->partitions);
        if (!rt->partitions)
            return -1;
        /* Kafka: DESCRIBE on the topic (consumers validating positions). */
        bool ok = authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_TOPIC, qt->topic);
        for (int32_t j = 0; j < rt->partitions_n; j++) {
            epoch_end(req->conn->b, qt->topic, &qt->partitions[j], &rt->partitions[j]);
            if (!ok) {
                rt->partitions[j].error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
                rt->partitions[j].leader_epoch = -1;
                rt->partitions[j].end_offset = -1;
            }
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_offset_for_leader_epoch_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
