/*
 * metrics.h — the metastore's Prometheus metrics, with the names and types
 * ZooKeeper's PrometheusMetricsProvider (3.6+) serves: turned on by
 * metricsProvider.className=org.apache.zookeeper.metrics.prometheus.
 * PrometheusMetricsProvider, at http://metricsProvider.httpHost:httpPort/
 * metrics (docs/operations.md, "Metrics").
 *
 * The request path only counts (msm_request: a store and two adds into
 * plain counters, no lock, no allocation); gauges (znodes, watches,
 * sessions, connections) are read from the server when scraped.
 */
#ifndef KAVKA_MS_METRICS_H
#define KAVKA_MS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "prom.h"

struct ms_server;
struct evbuffer;

struct msm_counters {
    struct prom_window read_latency;    /* ZooKeeper's readlatency summary */
    struct prom_window update_latency;  /* updatelatency */
};
extern struct msm_counters msm;

/* The clock msm_request's start is taken from. */
static inline int64_t msm_now(void)
{
    return prom_now_us();
}

/* ZooKeeper counts a request as an update when it carries a txn header
 * (writes, multi, session close), else as a read (pings included). */
static inline bool msm_is_update(int32_t op)
{
    switch (op) {
    case 1: case 2: case 5: case 7: case 13: case 14: case 15: case 16: case 19: case 20:
    case 21: case -10: case -11:
        return true;
    default:
        return false;
    }
}

/* server.c: a request of type op, started at msm_now() == t0, was handled. */
static inline void msm_request(int32_t op, int64_t t0)
{
    int64_t us = msm_now() - t0;
    prom_window_add(msm_is_update(op) ? &msm.update_latency : &msm.read_latency,
                    us > 0 ? (uint64_t)us : 0);
}

/* main.c: serve /metrics when the Prometheus provider is configured;
 * -1 (logged) when its address cannot be bound. */
int msm_open(struct ms_server *s);
void msm_close(void);

/* The exposition as served (tests). */
void msm_render(struct evbuffer *out, void *server);

#endif
