/*
 * fuzz_codec.c — libFuzzer target for one API's generated decoders.
 *
 * Built once per API with -DFUZZ_API=<api key> (tests/fuzz/meson.build).
 * Input: byte 0 picks request (even) or response (odd), byte 1 the version
 * (modulo the API's range), the rest is the message body. Whatever decodes
 * must re-encode to bytes that decode again and re-encode identically
 * (decoding drops unknown tags and non-canonical varints, so the first
 * encoding may differ from the input, but from then on the codec is stable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_msgs.h"
#include "wire.h"

#ifndef FUZZ_API
#error "build with -DFUZZ_API=<api key>"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const struct kp_msg_desc *d, int16_t ver)
{
    fprintf(stderr, "fuzz_codec: %s v%d: %s\n", d->name, ver, what);
    abort();
}

/* Writes one input file: selector bytes, then the encoded sample. */
static void write_seed(const char *dir, const struct kp_msg_desc *d, int16_t ver)
{
    struct karena a;
    karena_init(&a);
    void *m = karena_alloc(&a, d->size);
    struct kw w;
    kw_init(&w, NULL);
    if (m) {
        d->sample(&a, ver, m, 1);
        d->encode(&w, ver, m);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s-v%d", dir, d->name, ver);
    FILE *f = fopen(path, "wb");
    if (f && !w.err) {
        uint8_t sel[2] = { d->response ? 1 : 0, (uint8_t)(ver - d->min) };
        fwrite(sel, 1, 2, f);
        fwrite(w.buf, 1, w.len, f);
    }
    if (f)
        fclose(f);
    kw_free(&w);
    karena_free(&a);
}

/* With FUZZ_SEEDS_DIR set, starts the corpus with a sample of every message
 * and version of this API, so the fuzzer begins from well-formed bodies. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDS_DIR");
    if (!dir)
        return 0;
    for (int resp = 0; resp <= 1; resp++) {
        const struct kp_msg_desc *d = kp_msg_find(FUZZ_API, resp);
        for (int16_t v = d ? d->min : 0; d && v <= d->max; v++)
            write_seed(dir, d, v);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct kp_msg_desc *d = kp_msg_find(FUZZ_API, data[0] & 1);
    if (!d)
        abort();
    int16_t ver = (int16_t)(d->min + data[1] % (d->max - d->min + 1));
    /* An exact-size copy: any read past the body is a heap overflow. */
    size_t n = size - 2;
    uint8_t *body = malloc(n ? n : 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, n);

    struct karena a;
    karena_init(&a);
    void *m1 = karena_alloc(&a, d->size);
    void *m2 = karena_alloc(&a, d->size);
    struct kr r;
    kr_init(&r, body, n);
    if (m1 && m2 && d->decode(&r, ver, &a, m1) == 0) {
        struct kw w1, w2;
        kw_init(&w1, NULL);
        kw_init(&w2, NULL);
        d->encode(&w1, ver, m1);
        if (w1.err)
            die("encode of a decoded message failed", d, ver);
        kr_init(&r, w1.buf, w1.len);
        if (d->decode(&r, ver, &a, m2) != 0 || kr_left(&r) != 0)
            die("own encoding does not decode", d, ver);
        d->encode(&w2, ver, m2);
        if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
            die("re-encoding differs", d, ver);
        kw_free(&w1);
        kw_free(&w2);
    }
    karena_free(&a);
    free(body);
    return 0;
}
