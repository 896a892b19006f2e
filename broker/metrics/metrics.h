/*
 * metrics.h — the broker's Prometheus metrics (docs/operations.md,
 * "Metrics"), served on `metrics.listener` under the names the JMX
 * exporter's Kafka rules give Kafka's MBeans.
 *
 * The hot path only counts: the hooks below are inline adds into plain
 * counters (the broker is one thread; no lock, no allocation). Gauges
 * (partition counts, log sizes) are read from the topics when scraped, and
 * everything is rendered then (metrics.c).
 */
#ifndef KAVKA_BROKER_METRICS_H
#define KAVKA_BROKER_METRICS_H

#include <stdint.h>

#include "broker.h"
#include "prom.h"
#include "topics.h"

#define BM_APIS 96      /* API keys counted (0..95) */
#define BM_VERSIONS 32  /* versions counted per API */

struct bm_counters {
    uint64_t requests[BM_APIS][BM_VERSIONS];  /* RequestMetrics RequestsPerSec */
    struct prom_window total_time[BM_APIS];   /* RequestMetrics TotalTimeMs */
    uint64_t messages_in, bytes_in, bytes_out; /* BrokerTopicMetrics, all topics */
};
extern struct bm_counters bm;

/* server.c: a request was read; its total time starts. */
static inline void bm_request_start(struct kreq *req)
{
    req->t_start_us = prom_now_us();
}

/* server.c: the request's response left (or it was answered silently). */
static inline void bm_request_done(const struct kreq *req)
{
    if ((uint16_t)req->api_key >= BM_APIS || (uint16_t)req->api_version >= BM_VERSIONS)
        return;
    bm.requests[req->api_key][req->api_version]++;
    int64_t us = prom_now_us() - req->t_start_us;
    prom_window_add(&bm.total_time[req->api_key], us > 0 ? (uint64_t)us : 0);
}

/* produce.c: `records` records in `bytes` bytes of batches appended to t. */
static inline void bm_produced(struct topic *t, int64_t records, int64_t bytes)
{
    t->m_messages_in += (uint64_t)records;
    t->m_bytes_in += (uint64_t)bytes;
    bm.messages_in += (uint64_t)records;
    bm.bytes_in += (uint64_t)bytes;
}

/* fetch.c: a partition's records went into a Fetch response. */
static inline void bm_fetched(struct partition *p,
                              const struct kp_fetch_resp_responses_partitions *rp)
{
    int64_t n = rp->records.fileseg ? rp->records.fs_len : rp->records.len;
    if (!p || n <= 0)
        return;
    p->topic->m_bytes_out += (uint64_t)n;
    bm.bytes_out += (uint64_t)n;
}

/* main.c: serve /metrics when metrics.listener is set (after broker_start);
 * -1 (logged) when its value is invalid or its address cannot be bound. */
int bm_open(struct broker *b);
void bm_close(void);

/* The exposition as served (tests). */
struct evbuffer;
void bm_render(struct evbuffer *out, void *broker);

#endif
