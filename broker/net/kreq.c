/*
 * kreq.c — a request's answer and the in-order queue it leaves by.
 *
 * A handler encodes its response with kreq_writer() / kreq_finish() (or
 * kreq_finish_silent() for acks=0), at once or later; the connection's
 * queue then sends every answered request at its head, so responses leave
 * strictly in request order. This is all a handler needs of the network
 * side: it never reaches into the connection code (server.c).
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>

#include "clock.h"
#include "klog.h"
#include "kreq.h"
#include "metrics.h"

void kreq_free(struct kreq *req)
{
    if (req->cancel)
        req->cancel(req);
    karena_free(&req->arena);
    if (req->resp)
        evbuffer_free(req->resp);
    free(req->frame);
    free(req);
}

bool kreq_flexible(const struct kreq *req)
{
    const struct kp_api_info *a = kp_api_find(req->api_key);
    return a && req->api_version >= a->flex_min;
}

void kreq_writer(struct kreq *req, struct kw *w)
{
    if (!req->resp) {
        req->resp = evbuffer_new();
        /* The response moves whole into the socket's output buffer: on a
         * plain socket, saying so lets a fetch's file segments go out with
         * sendfile(2). Without the flag libevent mmaps each segment when it
         * is added (a dup, mmap, munmap and close per partition per fetch);
         * TLS must have the bytes in memory, so it keeps that way. */
        if (req->resp && !req->conn->lst->ssl_ctx)
            evbuffer_set_flags(req->resp, EVBUFFER_FLAG_DRAINS_TO_FD);
    }
    kw_init(w, req->resp);
    kw_i32(w, req->corr_id);
    /* Response header v1 carries tagged fields, except for ApiVersions,
     * whose response header is always v0 so that a client can parse it
     * whatever version it asked for. */
    if (req->api_key != KP_API_API_VERSIONS && kreq_flexible(req))
        kw_empty_tags(w);
}

/* One framed response to the connection. On a plain socket with nothing
 * queued before it, it is written at once: handing it to the bufferevent
 * would cost an epoll_ctl to watch for writability, a loop turn, the write
 * and an epoll_ctl to stop watching. What the socket does not take (or any
 * error, which the bufferevent then meets and reports) goes to the output
 * buffer as before, in order. */
static void conn_send(struct conn *c, struct evbuffer *out, struct evbuffer *resp)
{
    uint32_t n = htonl((uint32_t)evbuffer_get_length(resp));
    if (c->lst->ssl_ctx || evbuffer_get_length(out) > 0) {
        evbuffer_add(out, &n, 4);
        evbuffer_add_buffer(out, resp);
        return;
    }
    evbuffer_prepend(resp, &n, 4);
    /* evbuffer_write stops at each file segment (one sendfile per call), so
     * go on while the socket takes it: a fetch of 8 partitions is then 17
     * calls in a row, not 17 loop turns. */
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    bool wrote = false;
    while (evbuffer_get_length(resp) > 0 && evbuffer_write(resp, fd) > 0)
        wrote = true;
    if (wrote)
        c->last_active_ms = clock_mono_ms();
    if (evbuffer_get_length(resp) > 0)
        evbuffer_add_buffer(out, resp);
}

/* Send every answered request at the head of the queue, in order. */
static void conn_drain_queue(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct kreq *req;
    while ((req = TAILQ_FIRST(&c->q)) && req->done) {
        TAILQ_REMOVE(&c->q, req, link);
        c->inflight--;
        if (!req->no_response && req->resp)
            conn_send(c, out, req->resp);
        bm_request_done(req);
        kreq_free(req);
    }
    if (c->inflight < MAX_INFLIGHT && !c->closing)
        bufferevent_enable(c->bev, EV_READ);
}

static void kreq_complete(struct kreq *req)
{
    req->done = true;
    if (req->conn)
        conn_drain_queue(req->conn);
}

void kreq_finish(struct kreq *req, struct kw *w)
{
    kw_flush(w);
    if (w->err)
        KLOG_ERROR("response encoding failed (api %d v%d): out of memory",
                   req->api_key, req->api_version);
    kw_free(w);
    kreq_complete(req);
}

void kreq_finish_silent(struct kreq *req)
{
    req->no_response = true;
    kreq_complete(req);
}
