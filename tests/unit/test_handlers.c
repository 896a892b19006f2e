/*
 * test_handlers.c — the handler table against the protocol description.
 *
 * Every API the broker serves must be described (common/proto, generated
 * into kafka_msgs.h), and every version it serves must be one its request
 * and its response are described for: a version outside that range would
 * be decoded and encoded by no definition at all.
 */
#include <criterion/criterion.h>

#include "broker.h"
#include "kafka_msgs.h"

Test(handlers, served_ranges_lie_inside_the_definitions)
{
    cr_assert_gt(khandlers_n, 0);
    for (int i = 0; i < khandlers_n; i++) {
        const struct khandler *h = &khandlers[i];
        const struct kp_api_info *a = kp_api_find(h->key);
        cr_assert_not_null(a, "API key %d is served but not described", h->key);
        cr_assert_leq(h->min, h->max, "%s: empty range %d-%d", a->name, h->min, h->max);
        cr_assert(h->min >= a->min && h->max <= a->max,
                  "%s: serves v%d-%d, described v%d-%d", a->name, h->min, h->max, a->min, a->max);
        for (int resp = 0; resp <= 1; resp++) {
            const struct kp_msg_desc *m = kp_msg_find(h->key, resp);
            cr_assert_not_null(m, "%s: no %s definition", a->name, resp ? "response" : "request");
            cr_assert(h->min >= m->min && h->max <= m->max,
                      "%s: serves v%d-%d, described v%d-%d", m->name, h->min, h->max, m->min,
                      m->max);
            /* The request header, and every body, switches to tagged
             * fields where the description says (kreq_flexible). */
            cr_assert_eq(m->flex_min, a->flex_min, "%s: flexible from v%d, API from v%d",
                         m->name, m->flex_min, a->flex_min);
        }
    }
}

Test(handlers, one_row_per_api_key)
{
    for (int i = 0; i < khandlers_n; i++) {
        cr_assert_eq(khandler_find(khandlers[i].key), &khandlers[i]);
        for (int j = i + 1; j < khandlers_n; j++)
            cr_assert_neq(khandlers[i].key, khandlers[j].key, "API key %d twice",
                          khandlers[i].key);
    }
}
