/*
 * kreq.h — the connection's side of the response plumbing (kreq.c), for
 * server.c. Handlers use the part declared in broker.h (kreq_writer,
 * kreq_finish, kreq_finish_silent).
 */
#ifndef KAVKA_KREQ_H
#define KAVKA_KREQ_H

#include "broker.h"

/* At most this many unanswered requests per connection before we stop
 * reading from it (back-pressure on pipelining clients). */
#define MAX_INFLIGHT 64

/* Cancels deferred work (req->cancel) and frees the request. */
void kreq_free(struct kreq *req);

#endif
