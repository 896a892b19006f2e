/*
 * wire.c — see wire.h. All multi-byte integers are big-endian (Kafka and
 * jute agree on that); varints are protobuf-style little-endian base-128.
 */
#include "wire.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

bool kstr_eq(struct kstr a, const char *s)
{
    size_t n = strlen(s);
    return a.len >= 0 && (size_t)a.len == n && memcmp(a.p, s, n) == 0;
}

char *kstr_dup(struct kstr s)
{
    if (s.len < 0)
        return NULL;
    char *d = malloc((size_t)s.len + 1);
    if (!d)
        return NULL;
    memcpy(d, s.p, (size_t)s.len);
    d[s.len] = 0;
    return d;
}

/* ---------------- reader ---------------- */

void kr_fail(struct kr *r, int err)
{
    if (!r->err)
        r->err = err;
    r->p = r->end;
}

double kr_f64(struct kr *r)
{
    uint64_t u = (uint64_t)kr_i64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
bool kr_bool(struct kr *r)
{
    return kr_i8(r) != 0;
}

uint64_t kr_uvarlong(struct kr *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        const uint8_t *p = kr_take(r, 1);
        if (!p)
            return 0;
        if (shift == 63 && (*p & 0x7e)) {
            kr_fail(r, WIRE_ERANGE);
            return 0;
        }
        v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            return v;
    }
    kr_fail(r, WIRE_ERANGE);
    return 0;
}

uint32_t kr_uvarint(struct kr *r)
{
    uint64_t v = kr_uvarlong(r);
    if (v > UINT32_MAX) {
        kr_fail(r, WIRE_ERANGE);
        return 0;
    }
    return (uint32_t)v;
}

int32_t kr_varint(struct kr *r)
{
    uint32_t u = kr_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t kr_varlong(struct kr *r)
{
    uint64_t u = kr_uvarlong(r);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

void kr_uuid(struct kr *r, uint8_t out[16])
{
    const uint8_t *p = kr_take(r, 16);
    if (p)
        memcpy(out, p, 16);
    else
        memset(out, 0, 16);
}

const uint8_t *kr_raw(struct kr *r, size_t n)
{
    return kr_take(r, n);
}

void kr_skip(struct kr *r, size_t n)
{
    kr_take(r, n);
}

/* Reads a length prefix: returns -1 for null, -2 on error. Range-checks
 * before narrowing (compact lengths are uvarint - 1). */
static int64_t read_len(struct kr *r, bool compact, bool wide)
{
    int64_t n;
    if (compact) {
        uint32_t u = kr_uvarint(r);
        if (r->err)
            return -2;
        n = (int64_t)u - 1;
    } else {
        n = wide ? kr_i32(r) : kr_i16(r);
        if (r->err)
            return -2;
    }
    if (n < -1) {
        kr_fail(r, WIRE_ERANGE);
        return -2;
    }
    if (n > (int64_t)kr_left(r)) {
        kr_fail(r, WIRE_ETRUNC);
        return -2;
    }
    return n;
}

struct kstr kr_str(struct kr *r, bool compact)
{
    struct kstr s = { NULL, -1 };
    int64_t n = read_len(r, compact, false);
    if (n >= 0) {
        s.p = (const char *)kr_take(r, (size_t)n);
        s.len = (int32_t)n;
    }
    if (r->err) {
        s.p = "";
        s.len = 0;
    }
    return s;
}

struct kbytes kr_bytes(struct kr *r, bool compact)
{
    struct kbytes b = { NULL, -1 };
    int64_t n = read_len(r, compact, true);
    if (n >= 0) {
        b.p = kr_take(r, (size_t)n);
        b.len = (int32_t)n;
    }
    if (r->err) {
        b.p = NULL;
        b.len = 0;
    }
    return b;
}

struct krecords kr_records(struct kr *r, bool compact)
{
    struct kbytes b = kr_bytes(r, compact);
    struct krecords rec = { b.p, b.len, NULL, 0, 0 };
    return rec;
}

int32_t kr_array_len(struct kr *r, bool compact, size_t min_elem)
{
    int64_t n;
    if (compact) {
        uint32_t u = kr_uvarint(r);
        n = (int64_t)u - 1;
    } else {
        n = kr_i32(r);
    }
    if (r->err)
        return 0;
    if (n < -1) {
        kr_fail(r, WIRE_ERANGE);
        return 0;
    }
    if (min_elem == 0)
        min_elem = 1;
    if (n > 0 && (uint64_t)n > kr_left(r) / min_elem) {
        kr_fail(r, WIRE_ERANGE);
        return 0;
    }
    return (int32_t)n;
}

void kr_skip_tags(struct kr *r)
{
    uint32_t n = kr_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)kr_uvarint(r); /* tag */
        uint32_t size = kr_uvarint(r);
        kr_skip(r, size);
    }
}

/* ---------------- writer ---------------- */

void kw_init(struct kw *w, struct evbuffer *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

void kw_free(struct kw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static void free_flushed(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

/* The bytes go to w->out by reference, the evbuffer taking the buffer over
 * (the writer starts a new one if written to again): no copy, and no
 * evbuffer_add, which after a file segment (a fetch's records) allocates a
 * chain sized to the next power of two above the segment's file offset plus
 * length — 32 MiB for a span 29 MB into a segment, up to 1 GiB near the end
 * of a full one, one per partition per fetch (libevent 2.1). */
void kw_flush(struct kw *w)
{
    if (!w->out || w->len == 0)
        return;
    if (evbuffer_add_reference(w->out, w->buf, w->len, free_flushed, NULL) != 0) {
        w->err = WIRE_ENOMEM;
        free(w->buf);
    }
    w->buf = NULL;
    w->len = w->cap = 0;
}

/* kw_reserve's slow path (wire.h): grows the buffer, then reserves. */
uint8_t *kw_reserve_grow(struct kw *w, size_t n)
{
    if (w->err)
        return NULL;
    /* A writer with no buffer yet gets one even for n == 0: NULL + 0 is
     * undefined (found by fuzz_sasl: an empty bare SASL token answer). */
    if (!w->buf || w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            w->err = WIRE_ENOMEM;
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void kw_bool(struct kw *w, bool v) { kw_be(w, v ? 1 : 0, 1); }

void kw_f64(struct kw *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    kw_be(w, u, 8);
}

void kw_uvarlong(struct kw *w, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    kw_raw(w, tmp, (size_t)n);
}

void kw_uvarint(struct kw *w, uint32_t v) { kw_uvarlong(w, v); }

void kw_varint(struct kw *w, int32_t v)
{
    kw_uvarlong(w, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

void kw_varlong(struct kw *w, int64_t v)
{
    kw_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t uvarint_size(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void kw_uuid(struct kw *w, const uint8_t v[16]) { kw_raw(w, v, 16); }

void kw_raw(struct kw *w, const void *p, size_t n)
{
    uint8_t *d = kw_reserve(w, n);
    if (d && n)
        memcpy(d, p, n);
}

static void put_len(struct kw *w, int32_t n, bool compact, bool wide)
{
    if (compact)
        kw_uvarint(w, n < 0 ? 0 : (uint32_t)n + 1);
    else if (wide)
        kw_i32(w, n < 0 ? -1 : n);
    else
        kw_i16(w, (int16_t)(n < 0 ? -1 : n));
}

void kw_str(struct kw *w, struct kstr s, bool compact)
{
    put_len(w, s.len, compact, false);
    if (s.len > 0)
        kw_raw(w, s.p, (size_t)s.len);
}

void kw_bytes(struct kw *w, struct kbytes b, bool compact)
{
    put_len(w, b.len, compact, true);
    if (b.len > 0)
        kw_raw(w, b.p, (size_t)b.len);
}

void kw_records(struct kw *w, const struct krecords *rec, bool compact)
{
    if (rec->fileseg && w->out) {
        put_len(w, (int32_t)rec->fs_len, compact, true);
        kw_flush(w);
        if (evbuffer_add_file_segment(w->out, rec->fileseg, rec->fs_off,
                                      rec->fs_len) != 0)
            w->err = WIRE_ENOMEM;
        return;
    }
    struct kbytes b = { rec->p, rec->len };
    kw_bytes(w, b, compact);
}

void kw_array_len(struct kw *w, int32_t n, bool compact)
{
    put_len(w, n, compact, true);
}

void kw_empty_tags(struct kw *w) { kw_uvarint(w, 0); }

void kw_patch_i32(struct kw *w, size_t at, int32_t v)
{
    if (w->err || at + 4 > w->len)
        return;
    uint32_t u = (uint32_t)v;
    w->buf[at] = (uint8_t)(u >> 24);
    w->buf[at + 1] = (uint8_t)(u >> 16);
    w->buf[at + 2] = (uint8_t)(u >> 8);
    w->buf[at + 3] = (uint8_t)u;
}

/* ---------------- arena ---------------- */

struct karena_chunk {
    struct karena_chunk *next;
    size_t used, cap;
    _Alignas(16) uint8_t data[];
};

void karena_init(struct karena *a) { a->head = NULL; }

void *karena_alloc(struct karena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct karena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void *karena_calloc(struct karena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t total = n * size;
    return karena_alloc(a, total ? total : 1);
}

char *karena_strdup(struct karena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = karena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void karena_free(struct karena *a)
{
    struct karena_chunk *c = a->head;
    while (c) {
        struct karena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

/* ---------------- Kafka UUIDs as text ---------------- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void kuuid_b64(const uint8_t id[16], char out[23])
{
    int o = 0;
    for (int i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id[i + 1] << 8;
        if (i + 2 < 16)
            v |= id[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < 16)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < 16)
            out[o++] = b64url[v & 63];
    }
    out[o] = 0;
}

int kuuid_from_b64(const char *s, uint8_t id[16])
{
    if (!s || strlen(s) != 22)
        return -1;
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < 22; i++) {
        const char *p = strchr(b64url, s[i]);
        if (!p || !s[i])
            return -1;
        acc = (acc << 6) | (uint32_t)(p - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < 16)
                id[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n == 16 ? 0 : -1;
}
