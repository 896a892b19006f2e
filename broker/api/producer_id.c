/*
 * producer_id.c — InitProducerId for idempotent producers.
 *
 * Producer ids come from blocks reserved on disk before any id of the block
 * is handed out (`<log.dirs>/producer-id-block` holds the first id of the
 * next block), so a restarted broker never hands out an id twice, however it
 * stopped. Kafka reserves blocks in ZooKeeper's /latest_producer_id_block the
 * same way. As in Kafka, a producer without a transactional id gets a fresh
 * id with epoch 0 on every call, whatever id and epoch it sends (KIP-360).
 * Transactions are not implemented: a transactional id is answered with
 * UNSUPPORTED_VERSION, which clients report as a fatal, non-retriable error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz.h"
#include "fileio.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"

#define PID_BLOCK 1000

static int write_block_file(const char *dir, int64_t next_block)
{
    char path[4096], text[32];
    snprintf(path, sizeof path, "%s/producer-id-block", dir);
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", next_block);
    return atomic_write_file(path, text, (size_t)n, 0644);
}

static int64_t read_block_file(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/producer-id-block", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long long v = 0;
    if (fscanf(f, "%lld", &v) != 1 || v < 0)
        v = -1;
    fclose(f);
    return v;
}

/* Next producer id, or -1 when no block can be reserved. */
static int64_t next_producer_id(struct broker *b)
{
    if (b->pid_next >= b->pid_limit) {
        const char *dir = b->cfg->log_dirs;
        int64_t start = read_block_file(dir);
        if (start < 0) {
            KLOG_ERROR("%s/producer-id-block is unreadable: not handing out producer ids", dir);
            return -1;
        }
        if (write_block_file(dir, start + PID_BLOCK) != 0) {
            KLOG_ERROR("cannot reserve producer ids in %s: %s", dir, strerror(errno));
            return -1;
        }
        b->pid_next = start;
        b->pid_limit = start + PID_BLOCK;
    }
    return b->pid_next++;
}

int h_init_producer_id(struct kreq *req)
{
    struct kp_init_producer_id_req rq;
    if (kp_init_producer_id_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_init_producer_id_resp rs;
    kp_init_producer_id_resp_init(&rs);
    rs.producer_id = -1;
    rs.producer_epoch = -1;
    if (rq.transactional_id.p) {
        KLOG_WARN("%s: InitProducerId for transactional id '%.*s' refused: transactions are "
                  "not supported", req->conn->peer, (int)rq.transactional_id.len,
                  rq.transactional_id.p);
        rs.error_code = KERR_UNSUPPORTED_VERSION;
    } else if (!authz_allowed_c(req->conn, ACL_OP_IDEMPOTENT_WRITE, ACL_RES_CLUSTER,
                                AUTHZ_CLUSTER_NAME) &&
               !authz_any(req->conn, ACL_OP_WRITE, ACL_RES_TOPIC)) {
        /* Kafka: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic. */
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
    } else {
        int64_t id = next_producer_id(req->conn->b);
        rs.error_code = id < 0 ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE; /* retriable */
        if (id >= 0) {
            rs.producer_id = id;
            rs.producer_epoch = 0;
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_init_producer_id_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
