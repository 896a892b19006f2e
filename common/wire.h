/*
 * wire.h — bounded big-endian reader, growable writer and request arena.
 *
 * Shared by the Kafka codec and the jute (ZooKeeper) codec. The reader never
 * reads past its end: the first failure is recorded in r->err and every later
 * read returns zero without moving, so decoders read straight down the fields
 * and check the error once at the end (the librdkafka/PgBouncer pattern).
 *
 * Strings and byte fields decoded by the reader are views into the frame; the
 * frame (and the arena) must outlive the decoded message. One request owns one
 * arena; everything decoded for it is freed in one go.
 */
#ifndef KAVKA_WIRE_H
#define KAVKA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "compiler.h"

enum wire_err {
    WIRE_OK = 0,
    WIRE_ETRUNC = 1,   /* ran past the end of the frame */
    WIRE_ERANGE = 2,   /* a length, count or varint out of range */
    WIRE_ENOMEM = 3,
};

/* A string or byte view. len < 0 means null. */
struct kstr {
    const char *p;
    int32_t len;
};
struct kbytes {
    const uint8_t *p;
    int32_t len;
};

/*
 * A Kafka `records` field. Decoded, it is a view into the frame. For
 * encoding it may instead name a span of a log segment file (fetch responses):
 * `fileseg` is an evbuffer_file_segment* and the writer hands the span to the
 * output evbuffer without copying it through user space.
 */
struct krecords {
    const uint8_t *p;
    int32_t len;          /* < 0: null */
    void *fileseg;        /* struct evbuffer_file_segment *, or NULL */
    int64_t fs_off;
    int64_t fs_len;
};

static inline struct kstr kstr_c(const char *s)
{
    struct kstr k = { s, s ? (int32_t)strlen(s) : -1 };
    return k;
}
bool kstr_eq(struct kstr a, const char *s);
/* Copy into a NUL-terminated heap string (caller frees); NULL for null. */
char *kstr_dup(struct kstr s) KV_MUST_CHECK;

/* ---------------- reader ---------------- */
struct kr {
    const uint8_t *p;
    const uint8_t *end;
    int err;
};

static inline void kr_init(struct kr *r, const void *p, size_t n)
{
    r->p = p;
    r->end = n ? (const uint8_t *)p + n : (const uint8_t *)p; /* p may be NULL when empty */
    r->err = 0;
}
static inline size_t kr_left(const struct kr *r) { return (size_t)(r->end - r->p); }
void kr_fail(struct kr *r, int err);

/* The fixed-size readers are inline: the request decoders call them for
 * every field. A pointer to n readable bytes, advancing, or NULL with the
 * first error recorded (kr_fail). */
static inline const uint8_t *kr_take(struct kr *r, size_t n)
{
    if (r->err)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        kr_fail(r, WIRE_ETRUNC);
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}
static inline uint64_t kr_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline int8_t kr_i8(struct kr *r)
{
    const uint8_t *p = kr_take(r, 1);
    return p ? (int8_t)p[0] : 0;
}
static inline int16_t kr_i16(struct kr *r)
{
    const uint8_t *p = kr_take(r, 2);
    return p ? (int16_t)kr_be(p, 2) : 0;
}
static inline uint16_t kr_u16(struct kr *r)
{
    const uint8_t *p = kr_take(r, 2);
    return p ? (uint16_t)kr_be(p, 2) : 0;
}
static inline int32_t kr_i32(struct kr *r)
{
    const uint8_t *p = kr_take(r, 4);
    return p ? (int32_t)(uint32_t)kr_be(p, 4) : 0;
}
static inline uint32_t kr_u32(struct kr *r)
{
    const uint8_t *p = kr_take(r, 4);
    return p ? (uint32_t)kr_be(p, 4) : 0;
}
static inline int64_t kr_i64(struct kr *r)
{
    const uint8_t *p = kr_take(r, 8);
    return p ? (int64_t)kr_be(p, 8) : 0;
}
double kr_f64(struct kr *r);
bool kr_bool(struct kr *r);
uint32_t kr_uvarint(struct kr *r);
int32_t kr_varint(struct kr *r);   /* zigzag */
int64_t kr_varlong(struct kr *r);  /* zigzag */
uint64_t kr_uvarlong(struct kr *r);
void kr_uuid(struct kr *r, uint8_t out[16]);
const uint8_t *kr_raw(struct kr *r, size_t n);   /* view of n bytes */
void kr_skip(struct kr *r, size_t n);

/* Kafka strings / bytes: classic (int16/int32 length, -1 null) or compact
 * (uvarint length+1, 0 null). */
struct kstr kr_str(struct kr *r, bool compact);
struct kbytes kr_bytes(struct kr *r, bool compact);
/* Records: like nullable bytes. */
struct krecords kr_records(struct kr *r, bool compact);
/* Array count: -1 for null. Counts larger than the bytes left (each element
 * takes at least `min_elem` bytes) are rejected, which caps allocation by
 * the frame size whatever the peer declares. */
int32_t kr_array_len(struct kr *r, bool compact, size_t min_elem);
/* Skip a tagged-field section (flexible versions); unknown tags are ignored. */
void kr_skip_tags(struct kr *r);

/* ---------------- writer ---------------- */
struct evbuffer;

struct kw {
    uint8_t *buf;
    size_t len;
    size_t cap;
    struct evbuffer *out;  /* optional: records spans and flushes go here */
    int err;
};

void kw_init(struct kw *w, struct evbuffer *out);
void kw_free(struct kw *w);
/* Hand the buffered bytes to w->out (no copy: the evbuffer takes the
 * buffer over; no-op without out). */
void kw_flush(struct kw *w);
uint8_t *kw_reserve_grow(struct kw *w, size_t n) KV_MUST_CHECK;
/* n bytes to fill at the end of the buffer; NULL on failure (error kept). */
static inline uint8_t *kw_reserve(struct kw *w, size_t n)
{
    if (w->err || !w->buf || w->cap - w->len < n)
        return kw_reserve_grow(w, n);
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}
static inline void kw_be(struct kw *w, uint64_t v, int n)
{
    uint8_t *p = kw_reserve(w, (size_t)n);
    if (!p)
        return;
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline void kw_i8(struct kw *w, int8_t v) { kw_be(w, (uint8_t)v, 1); }
static inline void kw_i16(struct kw *w, int16_t v) { kw_be(w, (uint16_t)v, 2); }
static inline void kw_u16(struct kw *w, uint16_t v) { kw_be(w, v, 2); }
static inline void kw_i32(struct kw *w, int32_t v) { kw_be(w, (uint32_t)v, 4); }
static inline void kw_u32(struct kw *w, uint32_t v) { kw_be(w, v, 4); }
static inline void kw_i64(struct kw *w, int64_t v) { kw_be(w, (uint64_t)v, 8); }
void kw_f64(struct kw *w, double v);
void kw_bool(struct kw *w, bool v);
void kw_uvarint(struct kw *w, uint32_t v);
void kw_uvarlong(struct kw *w, uint64_t v);
void kw_varint(struct kw *w, int32_t v);
void kw_varlong(struct kw *w, int64_t v);
void kw_uuid(struct kw *w, const uint8_t v[16]);
void kw_raw(struct kw *w, const void *p, size_t n);
void kw_str(struct kw *w, struct kstr s, bool compact);
void kw_bytes(struct kw *w, struct kbytes b, bool compact);
void kw_records(struct kw *w, const struct krecords *rec, bool compact);
void kw_array_len(struct kw *w, int32_t n, bool compact);
/* Empty tagged-field section. */
void kw_empty_tags(struct kw *w);
/* Patch a big-endian int32 at byte offset `at` of the buffer. */
void kw_patch_i32(struct kw *w, size_t at, int32_t v);

/* Size of an unsigned varint encoding. */
size_t uvarint_size(uint32_t v);

/* Kafka's Uuid.toString(): URL-safe base64 without padding, 22 chars. */
void kuuid_b64(const uint8_t id[16], char out[23]);
/* The inverse; -1 unless s is 22 such chars. */
int kuuid_from_b64(const char *s, uint8_t id[16]) KV_MUST_CHECK;

/* ---------------- arena ---------------- */
struct karena_chunk;
struct karena {
    struct karena_chunk *head;
};
void karena_init(struct karena *a);
/* Zeroed memory, 8-byte aligned; NULL when out of memory. */
void *karena_alloc(struct karena *a, size_t n) KV_MUST_CHECK;
void *karena_calloc(struct karena *a, size_t n, size_t size) KV_MUST_CHECK;
char *karena_strdup(struct karena *a, const char *s) KV_MUST_CHECK;
void karena_free(struct karena *a);

#endif
