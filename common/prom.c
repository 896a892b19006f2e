/*
 * prom.c — see prom.h.
 */
#include "prom.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

/* ---------------- the text format ---------------- */

void prom_family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels(struct evbuffer *out, const struct prom_label *l, int n)
{
    if (n <= 0)
        return;
    evbuffer_add(out, "{", 1);
    for (int i = 0; i < n; i++) {
        evbuffer_add_printf(out, "%s%s=\"", i ? "," : "", l[i].name);
        for (const char *p = l[i].value ? l[i].value : ""; *p; p++) {
            if (*p == '\\')
                evbuffer_add(out, "\\\\", 2);
            else if (*p == '"')
                evbuffer_add(out, "\\\"", 2);
            else if (*p == '\n')
                evbuffer_add(out, "\\n", 2);
            else
                evbuffer_add(out, p, 1);
        }
        evbuffer_add(out, "\"", 1);
    }
    evbuffer_add(out, "}", 1);
}

void prom_sample_u64(struct evbuffer *out, const char *name, const struct prom_label *l, int n,
                     uint64_t v)
{
    evbuffer_add_printf(out, "%s", name);
    labels(out, l, n);
    evbuffer_add_printf(out, " %llu\n", (unsigned long long)v);
}

void prom_sample_i64(struct evbuffer *out, const char *name, const struct prom_label *l, int n,
                     int64_t v)
{
    evbuffer_add_printf(out, "%s", name);
    labels(out, l, n);
    evbuffer_add_printf(out, " %lld\n", (long long)v);
}

void prom_sample_dbl(struct evbuffer *out, const char *name, const struct prom_label *l, int n,
                     double v)
{
    evbuffer_add_printf(out, "%s", name);
    labels(out, l, n);
    if (isnan(v))
        evbuffer_add_printf(out, " NaN\n");
    else if (isinf(v))
        evbuffer_add_printf(out, " %sInf\n", v > 0 ? "+" : "-");
    else {
        /* The shortest of 15 or 17 significant digits that reads back as v. */
        char s[40];
        snprintf(s, sizeof s, "%.15g", v);
        if (strtod(s, NULL) != v)
            snprintf(s, sizeof s, "%.17g", v);
        evbuffer_add_printf(out, " %s\n", s);
    }
}

/* ---------------- latency windows ---------------- */

int64_t prom_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void prom_window_quantiles(const struct prom_window *w, const double *q, int nq, double *out)
{
    size_t n = w->count < PROM_WINDOW ? (size_t)w->count : PROM_WINDOW;
    uint32_t v[PROM_WINDOW];
    memcpy(v, w->ring, n * sizeof v[0]);
    qsort(v, n, sizeof v[0], cmp_u32);
    for (int i = 0; i < nq; i++) {
        if (n == 0) {
            out[i] = 0;
            continue;
        }
        /* Interpolated as Kafka's (Yammer's) histogram snapshots do. */
        double pos = q[i] * (double)(n + 1);
        double us;
        if (pos < 1)
            us = v[0];
        else if (pos >= (double)n)
            us = v[n - 1];
        else {
            size_t k = (size_t)pos;
            double lo = v[k - 1], hi = v[k];
            us = lo + (pos - (double)k) * (hi - lo);
        }
        out[i] = us / 1000.0;
    }
}

/* ---------------- the HTTP endpoint ---------------- */

struct prom_server {
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    int port;
    prom_render_fn render;
    void *arg;
};

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evbuffer *body = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (body)
        evbuffer_add_printf(body, "%s\n", text);
    evhttp_send_reply(req, code, reason, body);
    if (body)
        evbuffer_free(body);
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
    struct prom_server *s = arg;
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
        s->render(body, s->arg);
    evhttp_send_reply(req, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

static void other_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    reply_text(req, HTTP_NOTFOUND, "Not Found", "Not Found: the metrics are at /metrics");
}

struct prom_server *prom_server_start(struct event_base *base, const char *host, int port,
                                      prom_render_fn render, void *arg)
{
    const char *bind_host = host && *host ? host : "0.0.0.0";
    struct prom_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->render = render;
    s->arg = arg;
    s->http = evhttp_new(base);
    if (!s->http) {
        free(s);
        return NULL;
    }
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(s->http, 16384);
    evhttp_set_max_body_size(s->http, 4096);
    evhttp_set_timeout(s->http, 30);
    evhttp_set_cb(s->http, "/metrics", metrics_cb, s);
    evhttp_set_gencb(s->http, other_cb, s);
    s->sock = evhttp_bind_socket_with_handle(s->http, bind_host, (uint16_t)port);
    if (!s->sock) {
        KLOG_ERROR("metrics: cannot listen on %s:%d: %s", bind_host, port, strerror(errno));
        evhttp_free(s->http);
        free(s);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    s->port = port;
    if (getsockname(evhttp_bound_socket_get_fd(s->sock), (struct sockaddr *)&ss, &len) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    KLOG_INFO("metrics: serving Prometheus /metrics on http://%s%s%s:%d", strchr(bind_host, ':') ? "[" : "",
              bind_host, strchr(bind_host, ':') ? "]" : "", s->port);
    return s;
}

int prom_server_port(const struct prom_server *s)
{
    return s->port;
}

void prom_server_free(struct prom_server *s)
{
    if (!s)
        return;
    evhttp_free(s->http); /* closes the listener and the connections */
    free(s);
}

int prom_parse_listener(const char *url, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen)
{
    static const char scheme[] = "http://";
    size_t sl = sizeof scheme - 1;
    if (strncasecmp(url, scheme, sl) != 0) {
        snprintf(err, errlen, "'%s' is not an http://host:port address", url);
        return -1;
    }
    const char *h = url + sl, *colon;
    size_t hl;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "'%s': an IPv6 address is written [addr]:port", url);
            return -1;
        }
        h++;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (!colon) {
            snprintf(err, errlen, "'%s' has no port (http://host:port)", url);
            return -1;
        }
        hl = (size_t)(colon - h);
        if (memchr(h, '/', hl)) {
            snprintf(err, errlen, "'%s' is not an http://host:port address", url);
            return -1;
        }
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (pl > 0 && p[pl - 1] == '/') /* http://host:port/ */
        pl--;
    long v = 0;
    size_t i = 0;
    for (; i < pl && isdigit((unsigned char)p[i]) && v <= 65535; i++)
        v = v * 10 + (p[i] - '0');
    if (pl == 0 || i != pl || v > 65535) {
        snprintf(err, errlen, "'%s': the port must be a number 0..65535", url);
        return -1;
    }
    if (hl >= hostlen) {
        snprintf(err, errlen, "'%s': host name too long", url);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (int)v;
    return 0;
}
