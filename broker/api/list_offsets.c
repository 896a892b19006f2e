/*
 * list_offsets.c — ListOffsets: earliest (-2), latest (-1), max timestamp
 * (-3), earliest local (-4, the same as earliest here: no tiered storage),
 * or the first offset whose timestamp is at or after the one given.
 */
#include "authz.h"
#include "broker.h"
#include "kafka_errors.h"
#include "topics.h"

static void answer(struct kreq *req, struct kstr topic,
                   const struct kp_list_offsets_req_topics_partitions *q,
                   struct kp_list_offsets_resp_topics_partitions *a)
{
    struct broker *b = req->conn->b;
    kp_list_offsets_resp_topics_partitions_init(a);
    a->partition_index = q->partition_index;
    a->timestamp = -1;
    a->offset = -1;
    a->leader_epoch = -1;
    a->old_style_offsets_n = 0;
    /* Kafka: DESCRIBE on the topic. */
    if (!authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_TOPIC, topic)) {
        a->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    struct partition *p = topics_partition(b->topics, topic, q->partition_index);
    if (!p) {
        a->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (plog_offline(p->log)) {   /* a storage failure took it offline (log.h) */
        a->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    int64_t off = -1, ts = -1;
    int e = KERR_NONE;
    switch (q->timestamp) {
    case -1: /* latest */
    case -5: /* latest tiered: nothing is tiered */
        off = plog_end_offset(p->log);
        break;
    case -2: /* earliest */
    case -4: /* earliest local */
        off = plog_start_offset(p->log);
        break;
    case -3: /* max timestamp (v7+) */
        e = plog_max_timestamp(p->log, &off, &ts);
        break;
    default:
        if (q->timestamp < 0) {
            e = KERR_INVALID_REQUEST;
            break;
        }
        e = plog_offset_for_timestamp(p->log, q->timestamp, &off, &ts);
        break;
    }
    a->error_code = (int16_t)e;
    a->leader_epoch = 0;
    a->offset = off;
    a->timestamp = ts;
    if (req->api_version == 0 && e == KERR_NONE && off >= 0) {
        int64_t *v = karena_alloc(&req->arena, sizeof *v);
        if (v) {
            *v = off;
            a->old_style_offsets = v;
            a->old_style_offsets_n = 1;
        }
    }
}

int h_list_offsets(struct kreq *req)
{
    struct kp_list_offsets_req rq;
    if (kp_list_offsets_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_list_offsets_resp rs;
    kp_list_offsets_resp_init(&rs);
    rs.topics_n = rq.topics_n > 0 ? rq.topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)rs.topics_n + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    for (int32_t i = 0; i < rs.topics_n; i++) {
        struct kp_list_offsets_req_topics *qt = &rq.topics[i];
        struct kp_list_offsets_resp_topics *at = &rs.topics[i];
        kp_list_offsets_resp_topics_init(at);
        at->name = qt->name;
        at->partitions_n = qt->partitions_n > 0 ? qt->partitions_n : 0;
        at->partitions = karena_calloc(&req->arena, (size_t)at->partitions_n + 1, sizeof *at->partitions);
        if (!at->partitions)
            return -1;
        for (int32_t j = 0; j < at->partitions_n; j++)
            answer(req, qt->name, &qt->partitions[j], &at->partitions[j]);
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_list_offsets_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
