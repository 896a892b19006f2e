/*
 * jute codec: round trips of the records the metastore exchanges (stat,
 * ACL lists, strings, buffers), golden bytes, and malformed input (short
 * frames, lengths and counts past the end) failing without reading out of
 * bounds.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "jute.h"

static const uint8_t reply_hdr[] = { 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0x9b };

Test(jute, reply_header_golden)
{
    struct kw w;
    kw_init(&w, NULL);
    jw_reply_header(&w, 7, 9, ZNONODE);
    cr_assert_eq(w.len, sizeof reply_hdr);
    cr_assert(memcmp(w.buf, reply_hdr, sizeof reply_hdr) == 0);
    kw_free(&w);
}

Test(jute, stat_round_trip)
{
    struct zstat st = { 1, 2, 3, 4, 5, 6, 7, (int64_t)0x8000000000000000ULL, 9, 10, 11 };
    struct kw w;
    kw_init(&w, NULL);
    jw_stat(&w, &st);
    cr_assert_eq(w.len, 68);  /* 6 longs, 5 ints */
    struct kr r;
    kr_init(&r, w.buf, w.len);
    struct zstat b = jr_stat(&r);
    cr_assert_eq(r.err, 0);
    cr_assert(b.czxid == 1 && b.mzxid == 2 && b.ctime == 3 && b.mtime == 4 && b.version == 5);
    cr_assert(b.cversion == 6 && b.aversion == 7 && b.ephemeral_owner == st.ephemeral_owner);
    cr_assert(b.data_length == 9 && b.num_children == 10 && b.pzxid == 11);
    kr_init(&r, w.buf, w.len - 1);
    (void)jr_stat(&r);
    cr_assert_neq(r.err, 0, "a short stat is an error");
    kw_free(&w);
}

Test(jute, acl_list_round_trip)
{
    struct zacl_list acl = { 0, NULL }, back;
    cr_assert_eq(zacl_list_add(&acl, ZPERM_ALL, "digest", "alice:abc="), 0);
    cr_assert_eq(zacl_list_add(&acl, ZPERM_READ, "world", "anyone"), 0);
    struct kw w;
    kw_init(&w, NULL);
    jw_acl_list(&w, &acl);
    struct kr r;
    kr_init(&r, w.buf, w.len);
    cr_assert_eq(jr_acl_list(&r, &back), 0);
    cr_assert(zacl_list_eq(&acl, &back));
    zacl_list_free(&back);
    /* every truncation fails cleanly */
    for (size_t n = 0; n < w.len; n++) {
        kr_init(&r, w.buf, n);
        cr_assert_eq(jr_acl_list(&r, &back), -1, "truncated at %zu", n);
        cr_assert_eq(back.n, 0);
    }
    zacl_list_free(&acl);
    kw_free(&w);
}

Test(jute, huge_counts_and_lengths_rejected)
{
    const uint8_t vec[] = { 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1 };
    struct kr r;
    struct zacl_list acl;
    kr_init(&r, vec, sizeof vec);
    cr_assert_eq(jr_acl_list(&r, &acl), -1, "a count beyond the frame allocates nothing");
    const uint8_t str[] = { 0, 0, 1, 0, 'a', 'b' };
    kr_init(&r, str, sizeof str);
    struct kstr s = jr_string(&r);
    cr_assert_neq(r.err, 0);
    cr_assert_eq(s.len, 0);
    const uint8_t neg[] = { 0xff, 0xff, 0xff, 0xfe };
    kr_init(&r, neg, sizeof neg);
    (void)jr_buffer(&r);
    cr_assert_neq(r.err, 0, "lengths below -1 are errors");
}

Test(jute, null_buffer_and_string)
{
    struct kw w;
    kw_init(&w, NULL);
    jw_buffer(&w, NULL, -1);
    jw_cstring(&w, NULL);
    jw_cstring(&w, "/a");
    struct kr r;
    kr_init(&r, w.buf, w.len);
    cr_assert_eq(jr_buffer(&r).len, -1);
    cr_assert_null(jr_string_dup(&r));
    char *a = jr_string_dup(&r);
    cr_assert_str_eq(a, "/a");
    cr_assert_eq(r.err, 0);
    cr_assert_eq(kr_left(&r), 0);
    free(a);
    kw_free(&w);
}

Test(jute, path_validation)
{
    const char *good[] = { "/", "/a", "/a/b", "/a.b", "/..a", "/zookeeper" };
    const char *bad[] = { "", "a", "/a/", "//a", "/a//b", "/.", "/a/..", "/a/./b" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert(zk_path_valid(good[i], strlen(good[i])), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(zk_path_valid(bad[i], strlen(bad[i])), "%s", bad[i]);
    cr_assert_not(zk_path_valid("/a\0b", 4), "NUL inside a path");
    cr_assert_not(zk_path_valid("/a\x01", 3), "control characters");
    cr_assert_not(zk_path_valid("/\xc3", 2), "broken UTF-8");
}
