/*
 * describe_topic_partitions.c — DescribeTopicPartitions (KIP-966), what
 * Kafka 4's kafka-topics --describe asks instead of Metadata.
 *
 * Kafka's rules (DescribeTopicPartitionsRequestHandler and the metadata
 * cache's describeTopicResponse): the requested topics (all of them when the
 * list is empty) at or after the cursor's topic, deduplicated and sorted by
 * name; at most ResponsePartitionLimit partitions (capped by 2000, Kafka's
 * max.request.partition.size.limit default, and at least 1) starting at the
 * cursor's partition for the cursor's topic. When the limit stops a topic
 * midway, NextCursor names the next partition of that topic; when it is
 * reached exactly at a topic's end and more topics follow, NextCursor names
 * partition 0 of the next one. Unknown names (only when listed) answer
 * UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION for an invalid
 * name. A cursor naming a topic missing from a non-empty list, or a
 * negative cursor partition, fails the whole request with INVALID_REQUEST.
 * Topics the principal may not DESCRIBE are left out, or, when listed by
 * name, answered TOPIC_AUTHORIZATION_FAILED after the others (Kafka checks
 * them lazily as it walks the sorted names, so only those before where the
 * page stops).
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "authz.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "topics.h"

#define DTP_MAX_PARTITIONS 2000  /* max.request.partition.size.limit */

typedef struct kp_describe_topic_partitions_resp_topics rtopic;
typedef struct kp_describe_topic_partitions_resp_topics_partitions rpart;

/* Java's String.compareTo on the (ASCII) names: bytes, then length. */
static int name_cmp(struct kstr a, struct kstr b)
{
    int32_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.p, b.p, (size_t)n) : 0;
    if (c)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

static int name_qcmp(const void *x, const void *y)
{
    return name_cmp(*(const struct kstr *)x, *(const struct kstr *)y);
}

static bool name_internal(struct kstr n)
{
    return kstr_eq(n, "__consumer_offsets") || kstr_eq(n, "__transaction_state");
}

static void dtp_send(struct kreq *req, const struct kp_describe_topic_partitions_resp *rs)
{
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_topic_partitions_resp_encode(&w, req->api_version, rs);
    kreq_finish(req, &w);
}

/* Kafka's getErrorResponse: every requested topic with the error. */
static int fail_request(struct kreq *req, const struct kp_describe_topic_partitions_req *rq,
                        int16_t err)
{
    struct kp_describe_topic_partitions_resp rs;
    kp_describe_topic_partitions_resp_init(&rs);
    int32_t n = rq->topics_n > 0 ? rq->topics_n : 0;
    rs.topics = karena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.topics);
    if (!rs.topics)
        return -1;
    rs.topics_n = n;
    for (int32_t i = 0; i < n; i++) {
        kp_describe_topic_partitions_resp_topics_init(&rs.topics[i]);
        rs.topics[i].error_code = err;
        rs.topics[i].name = rq->topics[i].name;
    }
    dtp_send(req, &rs);
    return 0;
}

/* Partitions [from, to) of t into rt. */
static int fill_partitions(struct kreq *req, rtopic *rt, const struct topic *t, int32_t from,
                           int32_t to, int32_t node)
{
    int32_t n = to > from ? to - from : 0;
    rt->partitions_n = n;
    if (n == 0)
        return 0;
    rt->partitions = karena_calloc(&req->arena, (size_t)n, sizeof *rt->partitions);
    int32_t *node_arr = karena_alloc(&req->arena, sizeof *node_arr);
    if (!rt->partitions || !node_arr)
        return -1;
    node_arr[0] = node;
    for (int32_t i = 0; i < n; i++) {
        rpart *rp = &rt->partitions[i];
        kp_describe_topic_partitions_resp_topics_partitions_init(rp);
        rp->error_code = KERR_NONE;
        rp->partition_index = from + i;
        rp->leader_id = node;
        rp->leader_epoch = 0;
        rp->replica_nodes_n = 1;
        rp->replica_nodes = node_arr;
        rp->isr_nodes_n = 1;
        rp->isr_nodes = node_arr;
        /* One broker: no ELR, nothing offline (Kafka sends empty lists)
         * unless a storage failure took the partition offline (log.h). */
        rp->eligible_leader_replicas_n = 0;
        rp->last_known_elr_n = 0;
        rp->offline_replicas_n = 0;
        const struct partition *part = &t->parts[from + i];
        if (part->log && plog_offline(part->log)) {
            rp->error_code = KERR_LEADER_NOT_AVAILABLE;  /* Kafka: no live leader */
            rp->leader_id = -1;
            rp->isr_nodes_n = 0;
            rp->offline_replicas_n = 1;
            rp->offline_replicas = node_arr;
        }
    }
    return 0;
}

int h_describe_topic_partitions(struct kreq *req)
{
    struct kp_describe_topic_partitions_req rq;
    if (kp_describe_topic_partitions_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct broker *b = req->conn->b;
    int32_t node = b->cfg->broker_id;
    bool all = rq.topics_n <= 0;
    struct kstr cur = kstr_c("");
    if (rq.cursor && rq.cursor->topic_name.len > 0)
        cur = rq.cursor->topic_name;

    /* The names to describe: at or after the cursor's, without duplicates. */
    int32_t cap = all ? b->topics->n : rq.topics_n;
    struct kstr *names = karena_calloc(&req->arena, (size_t)cap + 1, sizeof *names);
    if (!names)
        return -1;
    int32_t nn = 0;
    for (int32_t i = 0; i < cap; i++) {
        struct kstr n = all ? kstr_c(b->topics->v[i]->name) : rq.topics[i].name;
        if (n.len < 0)
            return fail_request(req, &rq, KERR_INVALID_REQUEST);
        if (name_cmp(n, cur) >= 0)
            names[nn++] = n;
    }
    qsort(names, (size_t)nn, sizeof *names, name_qcmp);
    int32_t uniq = 0;
    for (int32_t i = 0; i < nn; i++)
        if (uniq == 0 || name_cmp(names[uniq - 1], names[i]) != 0)
            names[uniq++] = names[i];
    nn = uniq;
    if (rq.cursor) {
        bool listed = all;
        for (int32_t i = 0; !listed && i < nn; i++)
            listed = name_cmp(names[i], cur) == 0;
        if (!listed || rq.cursor->partition_index < 0)
            return fail_request(req, &rq, KERR_INVALID_REQUEST);
    }

    int32_t remaining = rq.response_partition_limit;
    if (remaining > DTP_MAX_PARTITIONS)
        remaining = DTP_MAX_PARTITIONS;
    if (remaining < 1)
        remaining = 1;

    struct kp_describe_topic_partitions_resp rs;
    kp_describe_topic_partitions_resp_init(&rs);
    rs.topics = karena_calloc(&req->arena, (size_t)nn + 1, sizeof *rs.topics);
    struct kstr *denied = karena_calloc(&req->arena, (size_t)nn + 1, sizeof *denied);
    if (!rs.topics || !denied)
        return -1;
    rs.topics_n = 0;
    int32_t ndenied = 0;
    for (int32_t i = 0; i < nn; i++) {
        struct kstr name = names[i];
        if (!authz_allowed(req->conn, ACL_OP_DESCRIBE, ACL_RES_TOPIC, name)) {
            if (!all)
                denied[ndenied++] = name;
            continue;
        }
        if (remaining == 0) {
            /* The previous topic ended exactly at the limit. */
            rs.next_cursor = karena_calloc(&req->arena, 1, sizeof *rs.next_cursor);
            if (!rs.next_cursor)
                return -1;
            kp_describe_topic_partitions_resp_next_cursor_init(rs.next_cursor);
            rs.next_cursor->topic_name = name;
            rs.next_cursor->partition_index = 0;
            break;
        }
        struct topic *t = topics_find(b->topics, name);
        rtopic *rt = &rs.topics[rs.topics_n];
        kp_describe_topic_partitions_resp_topics_init(rt);
        rt->name = name;
        rt->is_internal = name_internal(name);
        rt->topic_authorized_operations = authz_operations(req->conn, ACL_RES_TOPIC, name,
                                                           admin_topic_operations());
        if (!t) {
            if (all)
                continue;
            rt->error_code = topic_name_valid(name) ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                                                    : KERR_INVALID_TOPIC_EXCEPTION;
            rs.topics_n++;
            continue;
        }
        rs.topics_n++;
        rt->error_code = KERR_NONE;
        memcpy(rt->topic_id, t->id, 16);
        int32_t from = name_cmp(name, cur) == 0 && rq.cursor ? rq.cursor->partition_index : 0;
        int32_t to = t->nparts;
        if (from < to && to - from > remaining)
            to = from + remaining;
        if (fill_partitions(req, rt, t, from, to, node) != 0)
            return -1;
        if (to < t->nparts) {
            rs.next_cursor = karena_calloc(&req->arena, 1, sizeof *rs.next_cursor);
            if (!rs.next_cursor)
                return -1;
            kp_describe_topic_partitions_resp_next_cursor_init(rs.next_cursor);
            rs.next_cursor->topic_name = name;
            rs.next_cursor->partition_index = to;
            break;
        }
        remaining -= rt->partitions_n;
    }
    /* Zero id, no partitions, operations unset. */
    for (int32_t i = 0; i < ndenied; i++) {
        rtopic *rt = &rs.topics[rs.topics_n++];
        kp_describe_topic_partitions_resp_topics_init(rt);
        rt->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        rt->name = denied[i];
    }
    dtp_send(req, &rs);
    return 0;
}
