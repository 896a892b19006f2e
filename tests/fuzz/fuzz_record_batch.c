/*
 * fuzz_record_batch.c — libFuzzer target for the record batch code that runs
 * on every produced byte: splitting a records blob into batches, full
 * validation (CRC, decompression of every codec, record walk) and record
 * iteration with headers. The CRC check would stop almost every mutated
 * input before the record walk, so a second pass fixes the CRC up first
 * (the broker itself never does that: it refuses such batches).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "kafka_errors.h"
#include "record_batch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* With FUZZ_SEEDS_DIR set, seeds the corpus with two valid batches (one with
 * headers and a null key) so mutations start from the real layout. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_SEEDS_DIR");
    if (!dir)
        return 0;
    struct kw w;
    kw_init(&w, NULL);
    for (int i = 0; i < 2; i++) {
        struct rb_builder b;
        struct rb_hdr h = { kstr_c("trace"), { (const uint8_t *)"abc", 3 } };
        rb_builder_init(&b, &w, 0, 1700000000000, 0, i ? 7 : -1, i ? 0 : -1, i ? 0 : -1);
        rb_builder_add(&b, 1700000000000, (struct kbytes){ (const uint8_t *)"key", 3 },
                       (struct kbytes){ (const uint8_t *)"value", 5 }, &h, 1);
        rb_builder_add(&b, 1700000000001, (struct kbytes){ NULL, -1 },
                       (struct kbytes){ (const uint8_t *)"v2", 2 }, NULL, 0);
        rb_builder_finish(&b);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-two-batches", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(w.buf, 1, w.len, f);
        fclose(f);
    }
    kw_free(&w);
    return 0;
}

static int walk(const struct rb_record *rec, void *arg)
{
    struct rb_hdr_iter it;
    struct kstr k;
    struct kbytes v;
    size_t *sum = arg;
    rb_hdr_iter_init(&it, rec);
    while (rb_hdr_next(&it, &k, &v))
        *sum += (size_t)k.len + (v.len > 0 ? (size_t)v.len : 0);
    *sum += rec->key.len > 0 ? (size_t)rec->key.len : 0;
    return 0;
}

static void one_batch(uint8_t *b, size_t n)
{
    struct rb_info info;
    size_t sum = 0;
    if (rb_validate(b, n, 1 << 20, &info) == KERR_NONE) {
        /* What validated must iterate cleanly, record for record. */
        if (rb_records_foreach(b, n, walk, &sum) != KERR_NONE)
            abort();
    }
    if (n >= RB_HEADER_SIZE) {
        uint32_t crc = crc32c(0, b + 21, n - 21);
        b[17] = (uint8_t)(crc >> 24);
        b[18] = (uint8_t)(crc >> 16);
        b[19] = (uint8_t)(crc >> 8);
        b[20] = (uint8_t)crc;
        if (rb_validate(b, n, 1 << 20, &info) == KERR_NONE &&
            rb_records_foreach(b, n, walk, &sum) != KERR_NONE)
            abort();
        (void)rb_records_foreach(b, n, walk, &sum);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct rb_iter it;
    const uint8_t *b;
    size_t bn;
    rb_iter_init(&it, copy, size);
    while (rb_iter_next(&it, &b, &bn))
        one_batch(copy + (b - copy), bn);
    free(copy);
    return 0;
}
