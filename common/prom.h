/*
 * prom.h — Prometheus text exposition (format 0.0.4) and the small HTTP
 * endpoint that serves it, shared by the broker and the metastore.
 *
 * The endpoint is libevent's evhttp on the daemon's own event loop (no
 * thread): GET or HEAD /metrics calls the daemon's render function, which
 * writes the whole exposition into an evbuffer; any other path is 404, any
 * other method 405, and a request evhttp cannot parse is 400. Counting is
 * the daemons' business (plain counters on their hot paths); everything
 * here runs only when Prometheus scrapes.
 */
#ifndef KAVKA_PROM_H
#define KAVKA_PROM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;

/* ---------------- the text format ---------------- */

struct prom_label {
    const char *name;
    const char *value;
};

/* "# HELP name help\n# TYPE name type\n" (type: counter, gauge, summary). */
void prom_family(struct evbuffer *out, const char *name, const char *type, const char *help);

/* One sample line: name{l1="v1",...} value. Label values are escaped as the
 * format asks (backslash, double quote, newline); n may be 0. Integers are
 * written exactly, doubles with up to 17 significant digits (NaN, +Inf and
 * -Inf by their names). */
void prom_sample_u64(struct evbuffer *out, const char *name, const struct prom_label *l, int n,
                     uint64_t v);
void prom_sample_i64(struct evbuffer *out, const char *name, const struct prom_label *l, int n,
                     int64_t v);
void prom_sample_dbl(struct evbuffer *out, const char *name, const struct prom_label *l, int n,
                     double v);

/* ---------------- latency windows ---------------- */

/*
 * The last PROM_WINDOW observations of one latency (in microseconds), for a
 * summary's quantiles, plus the running count and sum since start (the
 * summary's _count and _sum). Recording is a store and two adds: no
 * allocation, no lock. Quantiles are computed when scraped, over the window
 * (the most recent observations, as Kafka's histograms weigh recent ones).
 */
#define PROM_WINDOW 1024
struct prom_window {
    uint64_t count;            /* observations since start */
    uint64_t sum_us;
    uint32_t ring[PROM_WINDOW];
};

static inline void prom_window_add(struct prom_window *w, uint64_t us)
{
    w->ring[w->count % PROM_WINDOW] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    w->count++;
    w->sum_us += us;
}

/* The q-quantiles (0..1, nq of them) of the window, in milliseconds, into
 * out[]; 0 for an empty window. */
void prom_window_quantiles(const struct prom_window *w, const double *q, int nq, double *out);

/* Monotonic microseconds (the latencies' clock). */
int64_t prom_now_us(void);

/* ---------------- the HTTP endpoint ---------------- */

typedef void (*prom_render_fn)(struct evbuffer *out, void *arg);

struct prom_server;

/* Listen on host:port (host NULL or "" = all IPv4 addresses; port 0 = any
 * free port) and serve /metrics from base. NULL (logged) when the address
 * cannot be bound. */
struct prom_server *prom_server_start(struct event_base *base, const char *host, int port,
                                      prom_render_fn render, void *arg);
/* The port actually bound. */
int prom_server_port(const struct prom_server *s);
/* Closes the listener and every scrape connection. NULL is ignored. */
void prom_server_free(struct prom_server *s);

/* Parse a listener URL "http://host:port" (host may be empty for all
 * addresses, or a bracketed IPv6 address). 0, or -1 with a message in err. */
int prom_parse_listener(const char *url, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen);

#endif
