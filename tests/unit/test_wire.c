#include <criterion/criterion.h>
#include "wire.h"

Test(wire, varint_roundtrip)
{
    int32_t vals[] = { 0, 1, -1, 63, -64, 64, 300, INT32_MAX, INT32_MIN };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        struct kw w;
        kw_init(&w, NULL);
        kw_varint(&w, vals[i]);
        struct kr r;
        kr_init(&r, w.buf, w.len);
        cr_assert_eq(kr_varint(&r), vals[i]);
        cr_assert_eq(r.err, 0);
        cr_assert_eq(kr_left(&r), 0);
        kw_free(&w);
    }
}

Test(wire, varint_golden)
{
    /* zigzag: 1 -> 2, -1 -> 1, 150 -> 300 = ac 02 */
    struct kw w;
    kw_init(&w, NULL);
    kw_varint(&w, 150);
    cr_assert_eq(w.len, 2);
    cr_assert_eq(w.buf[0], 0xac);
    cr_assert_eq(w.buf[1], 0x02);
    kw_free(&w);
}

Test(wire, varlong_roundtrip)
{
    int64_t vals[] = { 0, -1, INT64_MAX, INT64_MIN, 1234567890123LL };
    for (size_t i = 0; i < 5; i++) {
        struct kw w;
        kw_init(&w, NULL);
        kw_varlong(&w, vals[i]);
        struct kr r;
        kr_init(&r, w.buf, w.len);
        cr_assert_eq(kr_varlong(&r), vals[i]);
        cr_assert_eq(r.err, 0);
        kw_free(&w);
    }
}

Test(wire, overlong_varint_rejected)
{
    uint8_t b[11];
    memset(b, 0xff, sizeof b);
    struct kr r;
    kr_init(&r, b, sizeof b);
    kr_uvarint(&r);
    cr_assert_neq(r.err, 0);
}

Test(wire, truncated_read_sticky)
{
    uint8_t b[3] = { 0, 0, 1 };
    struct kr r;
    kr_init(&r, b, sizeof b);
    cr_assert_eq(kr_i32(&r), 0);
    cr_assert_eq(r.err, WIRE_ETRUNC);
    cr_assert_eq(kr_i8(&r), 0); /* sticky: nothing more is read */
    cr_assert_eq(r.err, WIRE_ETRUNC);
}

Test(wire, strings_classic_and_compact)
{
    struct kw w;
    kw_init(&w, NULL);
    kw_str(&w, kstr_c("abc"), false);
    kw_str(&w, kstr_c(NULL), false);
    kw_str(&w, kstr_c("xy"), true);
    kw_str(&w, kstr_c(NULL), true);
    struct kr r;
    kr_init(&r, w.buf, w.len);
    cr_assert(kstr_eq(kr_str(&r, false), "abc"));
    cr_assert_eq(kr_str(&r, false).len, -1);
    cr_assert(kstr_eq(kr_str(&r, true), "xy"));
    cr_assert_eq(kr_str(&r, true).len, -1);
    cr_assert_eq(r.err, 0);
    cr_assert_eq(kr_left(&r), 0);
    kw_free(&w);
}

Test(wire, negative_and_huge_lengths)
{
    uint8_t neg[] = { 0xff, 0xfe, 'a' };           /* int16 -2 */
    uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 1 }; /* int32 max bytes */
    struct kr r;
    kr_init(&r, neg, sizeof neg);
    kr_str(&r, false);
    cr_assert_eq(r.err, WIRE_ERANGE);
    kr_init(&r, huge, sizeof huge);
    kr_bytes(&r, false);
    cr_assert_neq(r.err, 0);
    kr_init(&r, huge, sizeof huge);
    kr_array_len(&r, false, 4);
    cr_assert_eq(r.err, WIRE_ERANGE);
}

Test(wire, tagged_fields_skipped)
{
    /* 2 tags: tag 0 size 2, tag 5 size 0 */
    uint8_t b[] = { 2, 0, 2, 0xaa, 0xbb, 5, 0, 0x42 };
    struct kr r;
    kr_init(&r, b, sizeof b);
    kr_skip_tags(&r);
    cr_assert_eq(r.err, 0);
    cr_assert_eq(kr_i8(&r), 0x42);
}

Test(wire, arena)
{
    struct karena a;
    karena_init(&a);
    for (int i = 0; i < 1000; i++) {
        int *p = karena_calloc(&a, 100, sizeof(int));
        cr_assert_not_null(p);
        cr_assert_eq(p[99], 0);
        p[99] = i;
    }
    karena_free(&a);
}
