/*
 * test_golden.c — request frames captured from real clients (golden_frames.h)
 * must parse exactly: header, then a body the generated decoder consumes to
 * the last byte, which re-encodes to the same bytes; produced record batches
 * must validate.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "golden_frames.h"
#include "kafka_errors.h"
#include "kafka_msgs.h"
#include "record_batch.h"
#include "wire.h"

/* Positions r at the body of frame g; returns the body's offset. */
static size_t skip_header(const struct golden_frame *g, struct kr *r)
{
    kr_init(r, g->bytes, g->len);
    int32_t size = kr_i32(r);
    cr_assert_eq((size_t)size + 4, g->len, "%s api %d: frame size", g->client, g->api_key);
    cr_assert_eq(kr_i16(r), g->api_key);
    cr_assert_eq(kr_i16(r), g->api_version);
    (void)kr_i32(r);                 /* correlation id */
    struct kstr client_id = kr_str(r, false);
    cr_assert(client_id.len > 0, "client id present");
    const struct kp_api_info *api = kp_api_find(g->api_key);
    cr_assert_not_null(api, "api %d described", g->api_key);
    if (g->api_version >= api->flex_min)
        kr_skip_tags(r);             /* request header v2 */
    cr_assert_eq(r->err, 0);
    return g->len - kr_left(r);
}

static void check_records(const struct kp_produce_req *m)
{
    for (int32_t t = 0; t < m->topic_data_n; t++)
        for (int32_t p = 0; p < m->topic_data[t].partition_data_n; p++) {
            const struct krecords *rec = &m->topic_data[t].partition_data[p].records;
            cr_assert_gt(rec->len, 0);
            struct rb_info info;
            cr_assert_eq(rb_validate(rec->p, (size_t)rec->len, 1 << 20, &info), KERR_NONE);
            cr_assert_eq(info.count, 1);
        }
}

Test(golden, real_client_frames_decode_and_reencode_exactly)
{
    size_t n = sizeof golden_frames / sizeof golden_frames[0];
    cr_assert_geq(n, 10);
    for (size_t i = 0; i < n; i++) {
        const struct golden_frame *g = &golden_frames[i];
        struct kr r;
        size_t body = skip_header(g, &r);
        const struct kp_msg_desc *d = kp_msg_find(g->api_key, false);
        cr_assert_not_null(d);
        struct karena a;
        karena_init(&a);
        void *m = karena_alloc(&a, d->size);
        cr_assert_eq(d->decode(&r, g->api_version, &a, m), 0, "%s: api %d v%d decodes",
                     g->client, g->api_key, g->api_version);
        cr_assert_eq(kr_left(&r), 0, "%s: api %d v%d: %zu bytes left over", g->client,
                     g->api_key, g->api_version, kr_left(&r));
        if (g->api_key == KP_API_PRODUCE)
            check_records(m);
        struct kw w;
        kw_init(&w, NULL);
        d->encode(&w, g->api_version, m);
        cr_assert_eq(w.err, 0);
        cr_assert_eq(w.len, g->len - body, "%s: api %d v%d re-encodes to %zu bytes, want %zu",
                     g->client, g->api_key, g->api_version, w.len, g->len - body);
        cr_assert(memcmp(w.buf, g->bytes + body, w.len) == 0, "%s: api %d v%d bytes differ",
                  g->client, g->api_key, g->api_version);
        kw_free(&w);
        karena_free(&a);
    }
}

Test(golden, every_truncated_golden_body_fails_cleanly)
{
    size_t n = sizeof golden_frames / sizeof golden_frames[0];
    for (size_t i = 0; i < n; i++) {
        const struct golden_frame *g = &golden_frames[i];
        struct kr r;
        size_t body = skip_header(g, &r);
        const struct kp_msg_desc *d = kp_msg_find(g->api_key, false);
        for (size_t cut = body; cut < g->len; cut++) {
            struct karena a;
            karena_init(&a);
            void *m = karena_alloc(&a, d->size);
            struct kr t;
            kr_init(&t, g->bytes + body, cut - body);
            int rc = d->decode(&t, g->api_version, &a, m);
            /* Every body ends in a required field (flexible ones in the
             * tag count), so no proper prefix may decode. */
            cr_assert_neq(rc, 0, "%s: api %d v%d decoded from %zu of %zu bytes",
                          g->client, g->api_key, g->api_version, cut - body, g->len - body);
            karena_free(&a);
        }
    }
}
