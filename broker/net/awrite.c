/*
 * awrite.c — admin writes held until the metastore (or the file store) has
 * them: one queue, one job at a time, in arrival order (see broker.h).
 * It is about holding a request's answer, so it sits with the response
 * plumbing; the jobs themselves belong to their handlers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "broker.h"

struct awrite {
    TAILQ_ENTRY(awrite) link;
    struct kreq *req;             /* NULL once the client has gone */
    bool internal, started;
    awrite_fn start, drop;
    void *arg;
};
static TAILQ_HEAD(awrite_queue, awrite) aw_queue = TAILQ_HEAD_INITIALIZER(aw_queue);
static bool aw_pumping;

static void aw_pump(void)
{
    if (aw_pumping)
        return;
    aw_pumping = true;
    struct awrite *w;
    /* A job that finishes inside start() (no metastore, an error) lets the
     * next one start in this same loop rather than by recursion. */
    while ((w = TAILQ_FIRST(&aw_queue)) && !w->started) {
        w->started = true;
        w->start(w, w->arg);
    }
    aw_pumping = false;
}

/* The connection is going: forget the request; a job that has not started
 * is dropped altogether. */
static void aw_cancel(struct kreq *req)
{
    struct awrite *w = req->pending;
    req->pending = NULL;
    req->cancel = NULL;
    if (!w)
        return;
    w->req = NULL;
    if (!w->started) {
        TAILQ_REMOVE(&aw_queue, w, link);
        if (w->drop)
            w->drop(w, w->arg);
        free(w);
    }
}

void awrite_submit(struct kreq *req, awrite_fn start, awrite_fn drop, void *arg)
{
    struct awrite *w = calloc(1, sizeof *w);
    if (!w) {
        /* Out of memory: the client hears nothing and retries on timeout;
         * closing says more. */
        if (drop)
            drop(NULL, arg);
        if (req && req->conn)
            conn_close(req->conn, "out of memory");
        return;
    }
    w->req = req;
    w->internal = req == NULL;
    w->start = start;
    w->drop = drop;
    w->arg = arg;
    if (req) {
        req->pending = w;
        req->cancel = aw_cancel;
    }
    TAILQ_INSERT_TAIL(&aw_queue, w, link);
    aw_pump();
}

struct kreq *awrite_req(const struct awrite *w)
{
    return w->req;
}

struct kreq *awrite_take(struct awrite *w)
{
    struct kreq *req = w->req;
    if (req) {
        req->pending = NULL;
        req->cancel = NULL;
        w->req = NULL;
    }
    return req;
}

void awrite_done(struct awrite *w)
{
    TAILQ_REMOVE(&aw_queue, w, link);
    struct kreq *req = awrite_take(w);
    if (req && req->conn) /* a job that forgot to answer: do not leave the client hanging */
        conn_close(req->conn, "admin request not answered");
    free(w);
    aw_pump();
}
