/*
 * produce.c — Produce: validate each partition's record batches and append
 * them to the partition log exactly as received (base offsets patched in
 * the request frame itself, then written with one write).
 */
#include <stdio.h>

#include "authz.h"
#include "broker.h"
#include "clock.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "metrics.h"
#include "producer_state.h"
#include "record_batch.h"
#include "topics.h"

/*
 * Kafka's rule for Produce v3+ (message format v2): a partition's records are
 * exactly one batch; INVALID_RECORD otherwise. For a batch carrying a
 * producer id, fill *pb and check its sequence (producer_state.h). Other
 * malformations are left to plog_append's validation. The sequence check
 * reads the header only, so a byte-identical retry is answered from the
 * cache without being validated again.
 */
static int check_batches(const struct partition *p, const uint8_t *rec, size_t len,
                         int16_t version, struct pbatch *pb, int64_t *dup_offset)
{
    struct rb_iter it;
    const uint8_t *b, *first = NULL;
    size_t bn, first_n = 0;
    int nb = 0;
    pb->producer_id = -1;
    rb_iter_init(&it, rec, len);
    while (rb_iter_next(&it, &b, &bn)) {
        if (nb++ == 0) {
            first = b;
            first_n = bn;
        }
    }
    struct rb_header h;
    if (it.err || !first || rb_parse_header(first, first_n, &h) != KERR_NONE)
        return KERR_NONE;
    if (version >= 3 && nb != 1)
        return KERR_INVALID_RECORD;
    if (h.producer_id < 0)
        return KERR_NONE;
    if (nb != 1)
        return KERR_INVALID_RECORD; /* idempotence needs one batch per partition */
    pb->producer_id = h.producer_id;
    pb->epoch = h.producer_epoch;
    pb->first_seq = h.base_sequence;
    pb->last_seq = pbatch_last_seq(h.base_sequence, h.last_offset_delta);
    return pstate_check(p->producers, pb, dup_offset);
}

/* In-sync replicas of a partition: this broker alone. */
#define ISR_SIZE 1

static void answer_partition(struct kreq *req, struct kp_produce_req_topic_data_partition_data *pd,
                             struct kp_produce_resp_responses_partition_responses *pr,
                             struct kstr topic, int16_t acks, int16_t acks_err)
{
    struct broker *b = req->conn->b;
    kp_produce_resp_responses_partition_responses_init(pr);
    pr->index = pd->index;
    pr->base_offset = -1;
    pr->log_append_time_ms = -1;
    pr->log_start_offset = -1;
    pr->error_message = kstr_c(NULL);
    pr->record_errors_n = 0;
    if (acks_err) {
        pr->error_code = acks_err;
        return;
    }
    struct partition *p = topics_partition(b->topics, topic, pd->index);
    if (!p) {
        pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    /* After a storage failure the partition is offline (log.h); not even a
     * retry of an acknowledged batch is answered from producer state. */
    if (plog_offline(p->log)) {
        pr->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    /* Kafka's Partition.appendRecordsToLeader: acks=all needs at least
     * min.insync.replicas in sync, checked before anything is appended. */
    int32_t need = acks == -1 ? p->topic->min_insync : 0;
    if (need > ISR_SIZE) {
        char *msg = karena_alloc(&req->arena, 200);
        if (msg)
            snprintf(msg, 200,
                     "The size of the current ISR Set(%d) is insufficient to satisfy the min.isr "
                     "requirement of %d for partition %.*s-%d",
                     b->cfg->broker_id, need, (int)topic.len, topic.p, pd->index);
        pr->error_code = KERR_NOT_ENOUGH_REPLICAS;
        pr->error_message = kstr_c(msg);
        return;
    }
    if (pd->records.len <= 0) {
        pr->error_code = KERR_CORRUPT_MESSAGE;
        pr->error_message = kstr_c("Produce request has no records");
        return;
    }
    struct pbatch pb;
    int64_t dup_offset = -1;
    int e = check_batches(p, pd->records.p, (size_t)pd->records.len, req->api_version, &pb,
                          &dup_offset);
    pr->log_start_offset = plog_start_offset(p->log);
    if (e == KERR_DUPLICATE_SEQUENCE_NUMBER) {
        /* A retry of an acknowledged batch: its original offset, stored once. */
        KLOG_INFO("%s: duplicate batch from producer %lld seq %d on %.*s-%d, offset %lld",
                  req->conn->peer, (long long)pb.producer_id, pb.first_seq, (int)topic.len,
                  topic.p, pd->index, (long long)dup_offset);
        pr->error_code = KERR_NONE;
        pr->base_offset = dup_offset;
        return;
    }
    struct plog_append_result res;
    /* The frame is ours and writable: base offsets are patched in place. */
    if (e == KERR_NONE)
        e = plog_append(p->log, (uint8_t *)pd->records.p, (size_t)pd->records.len, clock_wall_ms(), &res);
    pr->error_code = (int16_t)e;
    if (e != KERR_NONE) {
        KLOG_WARN("%s: produce to %.*s-%d rejected: error %d", req->conn->peer, (int)topic.len,
                  topic.p, pd->index, e);
        return;
    }
    if (pb.producer_id >= 0) {
        pb.first_offset = res.base_offset;
        pb.last_offset = res.last_offset;
        if (pstate_update(p->producers, &pb) != 0)
            KLOG_ERROR("out of memory recording producer %lld", (long long)pb.producer_id);
    }
    pr->base_offset = res.base_offset;
    pr->log_append_time_ms = res.log_append_time;
    bm_produced(p->topic, res.record_count, pd->records.len);
    fetch_wake(b, p, pd->records.len);
}

int h_produce(struct kreq *req)
{
    struct kp_produce_req rq;
    if (kp_produce_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    int16_t acks_err = 0;
    if (rq.acks != 0 && rq.acks != 1 && rq.acks != -1)
        acks_err = KERR_INVALID_REQUIRED_ACKS;

    struct kp_produce_resp rs;
    kp_produce_resp_init(&rs);
    rs.responses_n = rq.topic_data_n > 0 ? rq.topic_data_n : 0;
    rs.responses = karena_calloc(&req->arena, (size_t)rs.responses_n + 1, sizeof *rs.responses);
    if (!rs.responses)
        return -1;
    for (int32_t i = 0; i < rs.responses_n; i++) {
        struct kp_produce_req_topic_data *td = &rq.topic_data[i];
        struct kp_produce_resp_responses *rt = &rs.responses[i];
        kp_produce_resp_responses_init(rt);
        rt->name = td->name;
        rt->partition_responses_n = td->partition_data_n > 0 ? td->partition_data_n : 0;
        rt->partition_responses = karena_calloc(&req->arena, (size_t)rt->partition_responses_n + 1,
                                                sizeof *rt->partition_responses);
        if (!rt->partition_responses)
            return -1;
        /* Kafka: WRITE on the topic, else TOPIC_AUTHORIZATION_FAILED per partition. */
        int16_t err = acks_err;
        if (!err && !authz_allowed(req->conn, ACL_OP_WRITE, ACL_RES_TOPIC, td->name))
            err = KERR_TOPIC_AUTHORIZATION_FAILED;
        for (int32_t j = 0; j < rt->partition_responses_n; j++)
            answer_partition(req, &td->partition_data[j], &rt->partition_responses[j], td->name,
                             rq.acks, err);
    }
    if (rq.acks == 0) {
        kreq_finish_silent(req);
        return 0;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_produce_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
