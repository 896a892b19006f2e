/*
 * producer_state.c — see producer_state.h. Producers are kept in an array
 * sorted by id: a partition sees few producers and lookups (one per produced
 * batch) are a binary search.
 */
#include "producer_state.h"

#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"

struct pentry {
    int64_t producer_id;
    int16_t epoch;
    int ncached;                       /* valid entries in cached[] */
    int next;                          /* ring position of the next insert */
    struct pbatch cached[PSTATE_CACHED];
};

struct pstate {
    struct pentry *v;
    int n, cap;
};

struct pstate *pstate_new(void)
{
    return calloc(1, sizeof(struct pstate));
}

void pstate_free(struct pstate *ps)
{
    if (!ps)
        return;
    free(ps->v);
    free(ps);
}

int pstate_count(const struct pstate *ps)
{
    return ps->n;
}

/* Index of pid, or -(insertion point) - 1. */
static int find(const struct pstate *ps, int64_t pid)
{
    int lo = 0, hi = ps->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ps->v[mid].producer_id == pid)
            return mid;
        if (ps->v[mid].producer_id < pid)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

static const struct pbatch *last_cached(const struct pentry *e)
{
    if (e->ncached == 0)
        return NULL;
    return &e->cached[(e->next + PSTATE_CACHED - 1) % PSTATE_CACHED];
}

/* Sequences wrap from INT32_MAX to 0. */
static int32_t next_seq(int32_t seq)
{
    return seq == INT32_MAX ? 0 : seq + 1;
}

int pstate_check(const struct pstate *ps, const struct pbatch *b, int64_t *dup_first_offset)
{
    int i = find(ps, b->producer_id);
    if (i < 0)
        return KERR_NONE;
    const struct pentry *e = &ps->v[i];
    if (b->epoch < e->epoch)
        return KERR_INVALID_PRODUCER_EPOCH;
    if (b->epoch > e->epoch)
        return b->first_seq == 0 ? KERR_NONE : KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    for (int k = 0; k < e->ncached; k++) {
        const struct pbatch *c = &e->cached[k];
        if (c->first_seq == b->first_seq && c->last_seq == b->last_seq) {
            *dup_first_offset = c->first_offset;
            return KERR_DUPLICATE_SEQUENCE_NUMBER;
        }
    }
    const struct pbatch *last = last_cached(e);
    if (last && b->first_seq != next_seq(last->last_seq))
        return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    return KERR_NONE;
}

static struct pentry *insert(struct pstate *ps, int at, int64_t pid)
{
    if (ps->n == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 8;
        struct pentry *v = realloc(ps->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        ps->v = v;
        ps->cap = cap;
    }
    memmove(&ps->v[at + 1], &ps->v[at], (size_t)(ps->n - at) * sizeof *ps->v);
    ps->n++;
    struct pentry *e = &ps->v[at];
    memset(e, 0, sizeof *e);
    e->producer_id = pid;
    return e;
}

int pstate_update(struct pstate *ps, const struct pbatch *b)
{
    int i = find(ps, b->producer_id);
    struct pentry *e = i >= 0 ? &ps->v[i] : insert(ps, -i - 1, b->producer_id);
    if (!e)
        return -1;
    if (i < 0 || b->epoch != e->epoch) {
        /* A new epoch starts a new sequence: the old cache means nothing. */
        e->epoch = b->epoch;
        e->ncached = 0;
        e->next = 0;
    }
    e->cached[e->next] = *b;
    e->next = (e->next + 1) % PSTATE_CACHED;
    if (e->ncached < PSTATE_CACHED)
        e->ncached++;
    return 0;
}

int pstate_get(const struct pstate *ps, int i, struct pstate_info *out)
{
    if (i < 0 || i >= ps->n)
        return -1;
    const struct pentry *e = &ps->v[i];
    const struct pbatch *last = last_cached(e);
    out->producer_id = e->producer_id;
    out->epoch = e->epoch;
    out->last_seq = last ? last->last_seq : -1;
    out->last_offset = last ? last->last_offset : -1;
    return 0;
}
