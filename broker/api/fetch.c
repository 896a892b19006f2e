/*
 * fetch.c — Fetch, served from the segment files: a partition's span larger
 * than FETCH_INLINE_MAX becomes an evbuffer file segment, sent with
 * sendfile on plain sockets (no copy through user space); smaller spans,
 * what caught-up consumers get, are read into the response with one pread.
 *
 * When less than min_bytes is available, the request waits (a real delayed
 * response) until a produce brings enough data or max_wait_ms runs out.
 * Responses still leave in request order: later requests on the same
 * connection queue behind a waiting fetch, as on Kafka.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "authz.h"
#include "fileio.h"
#include "broker.h"
#include "kafka_errors.h"
#include "klog.h"
#include "metrics.h"
#include "topics.h"

/* Spans up to this size are copied into the response, larger ones are sent
 * from the file (sendfile on plain sockets): below it the syscalls and the
 * event loop turns of a file segment cost more than copying the bytes. */
#define FETCH_INLINE_MAX (16 * 1024)

struct fetch_waiter {
    struct fetch_waiter *next;
    struct broker *b;
    struct kreq *req;
    struct kp_fetch_req rq;
    struct event *timer;
    struct partition **parts; /* compared by address only, never dereferenced */
    int32_t *room;            /* per part: bytes it may still add (partition_max_bytes) */
    int nparts;
    int64_t acc;              /* bytes available to it, as counted by fetch_wake */
};

static struct partition *resolve(const struct conn *c, int16_t ver,
                                 const struct kp_fetch_req_topics *t, int32_t part,
                                 int16_t *err)
{
    struct broker *b = c->b;
    /* Kafka: READ on the topic, checked before its existence by name. */
    if (ver < 13 && !authz_allowed(c, ACL_OP_READ, ACL_RES_TOPIC, t->topic)) {
        *err = KERR_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    struct topic *topic = ver >= 13 ? topics_find_id(b->topics, t->topic_id)
                                    : topics_find(b->topics, t->topic);
    if (!topic) {
        *err = ver >= 13 ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    if (ver >= 13 && !authz_allowed_c(c, ACL_OP_READ, ACL_RES_TOPIC, topic->name)) {
        *err = KERR_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    if (part < 0 || part >= topic->nparts) {
        *err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    *err = KERR_NONE;
    return &topic->parts[part];
}

/* Bytes a fetch would return now, without building anything. */
static int64_t available_bytes(const struct conn *c, int16_t ver, const struct kp_fetch_req *rq)
{
    int64_t total = 0;
    for (int32_t i = 0; i < rq->topics_n; i++)
        for (int32_t j = 0; j < rq->topics[i].partitions_n; j++) {
            const struct kp_fetch_req_topics_partitions *fp = &rq->topics[i].partitions[j];
            int16_t err;
            struct partition *p = resolve(c, ver, &rq->topics[i], fp->partition, &err);
            if (!p)
                return INT64_MAX; /* an error answers at once */
            struct plog_slice s;
            int e = plog_read(p->log, fp->fetch_offset, fp->partition_max_bytes, &s);
            if (e != KERR_NONE)
                return INT64_MAX;
            total += s.len;
        }
    return total;
}

static void build_partition(struct kreq *req, struct partition *p, int16_t err,
                            const struct kp_fetch_req_topics_partitions *fp,
                            struct kp_fetch_resp_responses_partitions *rp, int32_t *budget,
                            bool *first)
{
    kp_fetch_resp_responses_partitions_init(rp);
    rp->partition_index = fp->partition;
    rp->error_code = err;
    rp->high_watermark = -1;
    rp->last_stable_offset = -1;
    rp->log_start_offset = -1;
    rp->preferred_read_replica = -1;
    rp->aborted_transactions_n = 0;
    rp->records.len = 0;
    rp->records.p = (const uint8_t *)"";
    if (!p)
        return;
    /* An offline partition (log.h) serves nothing, not even its offsets. */
    if (plog_offline(p->log)) {
        rp->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    rp->high_watermark = plog_end_offset(p->log);
    rp->last_stable_offset = rp->high_watermark;
    rp->log_start_offset = plog_start_offset(p->log);
    /* As Kafka's ReplicaManager.readFromLog: every partition reads at most
     * min(partition_max_bytes, what is left of the request's max_bytes); only
     * the first partition that returns records may exceed that, by its first
     * batch (KIP-74), so that a consumer always makes progress. */
    int32_t max = fp->partition_max_bytes;
    if (max > *budget)
        max = *budget;
    if (max <= 0 && !*first)
        return;
    struct plog_slice s;
    int e = plog_read(p->log, fp->fetch_offset, max, &s);
    if (e != KERR_NONE) {
        rp->error_code = (int16_t)e;
        return;
    }
    if (s.len <= 0 || (!*first && s.len > max))
        return;
    if (s.len <= FETCH_INLINE_MAX) {
        /* Small spans (caught-up consumers, a few batches) are read into the
         * response: one pread, and the whole response leaves in one writev.
         * A file segment would cost a dup and close, and either an mmap and
         * munmap (TLS) or a writev, a sendfile and a writev with an event
         * loop turn between them. */
        uint8_t *buf = karena_alloc(&req->arena, (size_t)s.len);
        if (!buf || fio_pread_full(s.fd, buf, (size_t)s.len, (off_t)s.file_pos) != s.len) {
            rp->error_code = KERR_KAFKA_STORAGE_ERROR;
            return;
        }
        rp->records.p = buf;
        rp->records.len = (int32_t)s.len;
        *budget -= (int32_t)(s.len > *budget ? *budget : s.len);
        *first = false;
        return;
    }
    int fd = dup(s.fd);
    struct evbuffer_file_segment *seg =
        fd < 0 ? NULL : evbuffer_file_segment_new(fd, s.file_pos, s.len, EVBUF_FS_CLOSE_ON_FREE);
    if (!seg) {
        if (fd >= 0)
            close(fd);
        rp->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    rp->records.p = NULL;
    rp->records.fileseg = seg;
    rp->records.fs_off = 0;
    rp->records.fs_len = s.len;
    *budget -= (int32_t)(s.len > *budget ? *budget : s.len);
    *first = false;
}

static void respond(struct kreq *req, const struct kp_fetch_req *rq)
{
    int16_t ver = req->api_version;
    struct kp_fetch_resp rs;
    kp_fetch_resp_init(&rs);
    rs.session_id = 0; /* sessionless: clients send full requests */
    if (rq->session_id != 0)
        rs.error_code = KERR_FETCH_SESSION_ID_NOT_FOUND;

    int32_t budget = rq->max_bytes > 0 ? rq->max_bytes : INT32_MAX;
    bool first = true;
    rs.responses_n = rs.error_code ? 0 : (rq->topics_n > 0 ? rq->topics_n : 0);
    rs.responses = karena_calloc(&req->arena, (size_t)rs.responses_n + 1, sizeof *rs.responses);
    if (!rs.responses) {
        conn_close(req->conn, "out of memory");
        return;
    }
    for (int32_t i = 0; i < rs.responses_n; i++) {
        const struct kp_fetch_req_topics *ft = &rq->topics[i];
        struct kp_fetch_resp_responses *rt = &rs.responses[i];
        kp_fetch_resp_responses_init(rt);
        rt->topic = ft->topic;
        memcpy(rt->topic_id, ft->topic_id, 16);
        rt->partitions_n = ft->partitions_n > 0 ? ft->partitions_n : 0;
        rt->partitions = karena_calloc(&req->arena, (size_t)rt->partitions_n + 1,
                                       sizeof *rt->partitions);
        if (!rt->partitions) {
            rt->partitions_n = 0;
            continue;
        }
        for (int32_t j = 0; j < rt->partitions_n; j++) {
            int16_t err;
            struct partition *p = resolve(req->conn, ver, ft, ft->partitions[j].partition, &err);
            build_partition(req, p, err, &ft->partitions[j], &rt->partitions[j], &budget, &first);
            bm_fetched(p, &rt->partitions[j]);
        }
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_fetch_resp_encode(&w, ver, &rs);
    /* The output evbuffer holds its own references to the file segments. */
    for (int32_t i = 0; i < rs.responses_n; i++)
        for (int32_t j = 0; j < rs.responses[i].partitions_n; j++)
            if (rs.responses[i].partitions[j].records.fileseg)
                evbuffer_file_segment_free(rs.responses[i].partitions[j].records.fileseg);
    kreq_finish(req, &w);
}

/* ---------------- waiting fetches ---------------- */

static void waiter_unlink(struct broker *b, struct fetch_waiter *fw)
{
    for (struct fetch_waiter **pp = &b->waiters; *pp; pp = &(*pp)->next)
        if (*pp == fw) {
            *pp = fw->next;
            break;
        }
}

static void waiter_free(struct fetch_waiter *fw)
{
    if (fw->timer)
        event_free(fw->timer);
    free(fw->parts);
    free(fw->room);
    free(fw);
}

/* The connection went away while the fetch waited. */
static void waiter_cancel(struct kreq *req)
{
    struct fetch_waiter *fw = req->pending;
    if (!fw)
        return;
    waiter_unlink(fw->b, fw);
    waiter_free(fw);
    req->pending = NULL;
    req->cancel = NULL;
}

static void waiter_done(struct broker *b, struct fetch_waiter *fw)
{
    struct kreq *req = fw->req;
    waiter_unlink(b, fw);
    req->pending = NULL;
    req->cancel = NULL;
    struct kp_fetch_req rq = fw->rq;
    waiter_free(fw);
    respond(req, &rq);
}

static void waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fetch_waiter *fw = arg;
    waiter_done(fw->b, fw);
}

/*
 * bytes were appended to p. As Kafka's DelayedFetch, a waiting fetch keeps a
 * running count of what it could now return instead of reading the logs
 * again: the request was authorized and its partitions resolved when it was
 * parsed, and everything appended since lies after its fetch offsets (it
 * waited because it had read up to the end). Each partition counts at most
 * its partition_max_bytes. respond() then reads the logs once.
 */
void fetch_wake(struct broker *b, const struct partition *p, int64_t bytes)
{
    struct fetch_waiter *fw = b->waiters, *next;
    for (; fw; fw = next) {
        next = fw->next;
        bool interested = false;
        for (int i = 0; i < fw->nparts; i++) {
            if (fw->parts[i] != p)
                continue;
            int64_t add = bytes < fw->room[i] ? bytes : fw->room[i];
            fw->room[i] -= (int32_t)add;
            fw->acc += add;
            interested = true;
        }
        if (interested && fw->acc >= fw->rq.min_bytes)
            waiter_done(b, fw);
    }
}

void fetch_waiters_free(struct broker *b)
{
    while (b->waiters) {
        struct fetch_waiter *fw = b->waiters;
        b->waiters = fw->next;
        fw->req->pending = NULL;
        fw->req->cancel = NULL;
        waiter_free(fw);
    }
}

static int defer(struct kreq *req, const struct kp_fetch_req *rq, int64_t avail)
{
    struct broker *b = req->conn->b;
    struct fetch_waiter *fw = calloc(1, sizeof *fw);
    if (!fw)
        return -1;
    fw->req = req;
    fw->b = b;
    fw->rq = *rq; /* views into req->frame, which lives as long as req */
    int n = 0;
    for (int32_t i = 0; i < rq->topics_n; i++)
        n += rq->topics[i].partitions_n > 0 ? rq->topics[i].partitions_n : 0;
    fw->parts = calloc((size_t)n + 1, sizeof *fw->parts);
    fw->room = calloc((size_t)n + 1, sizeof *fw->room);
    fw->timer = event_new(b->base, -1, 0, waiter_timeout, fw);
    fw->acc = avail;
    if (!fw->parts || !fw->room || !fw->timer) {
        waiter_free(fw);
        return -1;
    }
    for (int32_t i = 0; i < rq->topics_n; i++)
        for (int32_t j = 0; j < rq->topics[i].partitions_n; j++) {
            int16_t err;
            struct partition *p =
                resolve(req->conn, req->api_version, &rq->topics[i], rq->topics[i].partitions[j].partition, &err);
            if (p) {
                int32_t max = rq->topics[i].partitions[j].partition_max_bytes;
                fw->room[fw->nparts] = max > 0 ? max : 0;
                fw->parts[fw->nparts++] = p;
            }
        }
    struct timeval tv = { rq->max_wait_ms / 1000, (rq->max_wait_ms % 1000) * 1000 };
    event_add(fw->timer, &tv);
    fw->next = b->waiters;
    b->waiters = fw;
    req->pending = fw;
    req->cancel = waiter_cancel;
    return 0;
}

int h_fetch(struct kreq *req)
{
    struct kp_fetch_req rq;
    if (kp_fetch_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    if (rq.max_wait_ms > 0 && rq.min_bytes > 0 && rq.session_id == 0) {
        int64_t avail = available_bytes(req->conn, req->api_version, &rq);
        if (avail < rq.min_bytes && defer(req, &rq, avail) == 0)
            return 0;
    }
    respond(req, &rq);
    return 0;
}
