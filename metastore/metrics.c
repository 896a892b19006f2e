/*
 * metrics.c — the metastore's /metrics (see metrics.h): rendering on
 * scrape, under the names ZooKeeper's PrometheusMetricsProvider serves
 * (ZooKeeperServer.registerMetrics gauges, ServerMetrics summaries).
 */
#include "metrics.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "klog.h"
#include "server.h"

struct msm_counters msm;

static struct prom_server *server;

static void gauge(struct evbuffer *o, const char *name, const char *help, int64_t v)
{
    prom_family(o, name, "gauge", help);
    prom_sample_i64(o, name, NULL, 0, v);
}

static void gauge_dbl(struct evbuffer *o, const char *name, const char *help, double v)
{
    prom_family(o, name, "gauge", help);
    prom_sample_dbl(o, name, NULL, 0, v);
}

/* ZooKeeper's ADVANCED summaries: quantiles 0.5, 0.9 and 0.99, in ms. */
static void summary(struct evbuffer *o, const char *name, const char *help,
                    const struct prom_window *w)
{
    static const double q[] = { 0.5, 0.9, 0.99 };
    static const char *const ql[] = { "0.5", "0.9", "0.99" };
    double v[3];
    char n[64];
    prom_window_quantiles(w, q, 3, v);
    prom_family(o, name, "summary", help);
    for (int i = 0; i < 3; i++) {
        struct prom_label l = { "quantile", ql[i] };
        prom_sample_dbl(o, name, &l, 1, v[i]);
    }
    snprintf(n, sizeof n, "%s_count", name);
    prom_sample_u64(o, n, NULL, 0, w->count);
    snprintf(n, sizeof n, "%s_sum", name);
    prom_sample_dbl(o, n, NULL, 0, (double)w->sum_us / 1000.0);
}

struct tree_stats {
    int64_t ephemerals;
    int64_t data_size;
};

/* As mntr (fourlw.c): ephemerals are nodes owned by a session (not
 * containers, not TTL nodes); the data size is paths plus data. */
static int tree_stat(struct znode *n, void *arg)
{
    struct tree_stats *x = arg;
    int64_t o = n->st.ephemeral_owner;
    if (o != 0 && o != ZK_CONTAINER_OWNER && (o & ZK_TTL_MASK) != ZK_TTL_MASK)
        x->ephemerals++;
    x->data_size += (int64_t)n->plen + (n->dlen > 0 ? n->dlen : 0);
    return 0;
}

/* Replies made but held until their txns are fsynced (server.h, group
 * commit): the requests not finished yet. */
static int64_t outstanding(const struct ms_server *s)
{
    int64_t n = 0;
    for (const struct ms_conn *c = s->conns; c; c = c->next)
        for (const struct ms_out *o = c->outq; o; o = o->next)
            n += o->seq > s->log.durable;
    return n;
}

static int64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

void msm_render(struct evbuffer *o, void *arg)
{
    struct ms_server *s = arg;
    struct tree_stats ts = { 0, 0 };
    tree_walk(&s->db.tree, tree_stat, &ts);
    struct rlimit rl;
    int64_t max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                          ? (int64_t)rl.rlim_cur : -1;
    double avg = s->lat_count ? (double)s->lat_total / (double)s->lat_count : 0.0;

    gauge(o, "znode_count", "Znodes in the tree", (int64_t)s->db.tree.count);
    gauge(o, "watch_count", "Watches set: (path, connection) pairs of data and child watches",
          (int64_t)(watch_count(&s->dwatch, NULL) + watch_count(&s->cwatch, NULL)));
    gauge(o, "ephemerals_count", "Ephemeral znodes", ts.ephemerals);
    gauge(o, "approximate_data_size", "Bytes of znode paths and data", ts.data_size);
    gauge(o, "global_sessions", "Sessions", s->db.nsessions);
    gauge(o, "local_sessions", "Local sessions (none: every session is global)", 0);
    gauge(o, "num_alive_connections", "Client connections", s->nconns);
    gauge(o, "outstanding_requests",
          "Requests handled whose replies wait for their transactions to be fsynced",
          outstanding(s));
    gauge(o, "packets_received", "Client packets received", (int64_t)s->packets_recv);
    gauge(o, "packets_sent", "Client packets sent", (int64_t)s->packets_sent);
    gauge_dbl(o, "avg_latency", "Mean request processing time, ms", avg);
    gauge(o, "max_latency", "Longest request processing time, ms", s->lat_max);
    gauge(o, "min_latency", "Shortest request processing time, ms", s->lat_min);
    gauge(o, "uptime", "Milliseconds since the server started", clock_wall_ms() - s->start_time);
    gauge(o, "open_file_descriptor_count", "Open file descriptors", open_fds());
    gauge(o, "max_file_descriptor_count", "The file descriptor limit", max_fds);
    summary(o, "readlatency",
            "Processing time of read requests (pings included), ms, over the last 1024",
            &msm.read_latency);
    summary(o, "updatelatency",
            "Processing time of write requests (before the group-commit fsync), ms, over the last 1024",
            &msm.update_latency);
}

int msm_open(struct ms_server *s)
{
    if (!s->cfg->metrics)
        return 0;
    server = prom_server_start(s->base, s->cfg->metrics_host, s->cfg->metrics_port, msm_render, s);
    return server ? 0 : -1;
}

void msm_close(void)
{
    prom_server_free(server);
    server = NULL;
}
