/*
 * record_batch.c — see record_batch.h.
 */
#include "record_batch.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "crc32c.h"
#include "kafka_errors.h"

#define CRC_START 21                /* attributes: first byte under the CRC */
#define OFF_CRC 17

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

int rb_parse_header(const uint8_t *p, size_t n, struct rb_header *h)
{
    memset(h, 0, sizeof *h);
    struct kr r;
    kr_init(&r, p, n);
    h->base_offset = kr_i64(&r);
    h->batch_length = kr_i32(&r);
    h->partition_leader_epoch = kr_i32(&r);
    h->magic = kr_i8(&r);
    if (r.err)
        return KERR_CORRUPT_MESSAGE;
    if (h->magic == 0 || h->magic == 1)
        return KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    if (h->magic != RB_MAGIC)
        return KERR_CORRUPT_MESSAGE;
    h->crc = kr_u32(&r);
    h->attributes = kr_i16(&r);
    h->last_offset_delta = kr_i32(&r);
    h->base_timestamp = kr_i64(&r);
    h->max_timestamp = kr_i64(&r);
    h->producer_id = kr_i64(&r);
    h->producer_epoch = kr_i16(&r);
    h->base_sequence = kr_i32(&r);
    h->records_count = kr_i32(&r);
    if (r.err || h->batch_length < RB_HEADER_SIZE - RB_LOG_OVERHEAD)
        return KERR_CORRUPT_MESSAGE;
    return KERR_NONE;
}

/* Header + exact size + CRC. */
static int check_frame(const uint8_t *p, size_t n, struct rb_header *h)
{
    int err = rb_parse_header(p, n, h);
    if (err)
        return err;
    if ((uint64_t)rb_total_size(h) != n)
        return KERR_CORRUPT_MESSAGE;
    if (crc32c(0, p + CRC_START, n - CRC_START) != h->crc)
        return KERR_CORRUPT_MESSAGE;
    return KERR_NONE;
}

int rb_verify_crc(const uint8_t *p, size_t n)
{
    struct rb_header h;
    return check_frame(p, n, &h);
}

void rb_set_base_offset(uint8_t *batch, int64_t off)
{
    /* baseOffset is outside the CRC range (which starts at attributes), so
     * the stored CRC stays correct. */
    put_be64(batch, (uint64_t)off);
}

/* ---------------- splitting ---------------- */

void rb_iter_init(struct rb_iter *it, const uint8_t *p, size_t n)
{
    it->p = p;
    it->left = n;
    it->err = 0;
}

bool rb_iter_next(struct rb_iter *it, const uint8_t **batch, size_t *len)
{
    if (it->err || it->left == 0)
        return false;
    struct kr r;
    kr_init(&r, it->p, it->left);
    kr_i64(&r);
    int32_t bl = kr_i32(&r);
    /* 5 bytes covers the smallest legacy entry header after the size field
     * (crc + magic); anything shorter cannot be a batch of any version. */
    if (r.err || bl < 5 || (uint64_t)bl > it->left - RB_LOG_OVERHEAD) {
        it->err = KERR_CORRUPT_MESSAGE;
        return false;
    }
    *batch = it->p;
    *len = RB_LOG_OVERHEAD + (size_t)bl;
    it->p += *len;
    it->left -= *len;
    return true;
}

/* ---------------- decompression ---------------- */

/* A growable output buffer that refuses to grow past `cap`. */
struct obuf {
    uint8_t *p;
    size_t len, size, cap;
};

/* Make room for at least one more byte. 0, or KERR_MESSAGE_TOO_LARGE once
 * the cap is reached, or KERR_UNKNOWN_SERVER_ERROR without memory. */
static int obuf_grow(struct obuf *o)
{
    if (o->len < o->size)
        return 0;
    if (o->size >= o->cap)
        return KERR_MESSAGE_TOO_LARGE;
    size_t ns = o->size ? o->size * 2 : 64 * 1024;
    if (ns > o->cap)
        ns = o->cap;
    uint8_t *np = realloc(o->p, ns);
    if (!np)
        return KERR_UNKNOWN_SERVER_ERROR;
    o->p = np;
    o->size = ns;
    return 0;
}

static int inflate_gzip(const uint8_t *in, size_t n, struct obuf *o)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 32: zlib or gzip header, detected. */
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return KERR_UNKNOWN_SERVER_ERROR;
    int err = 0;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    for (;;) {
        if ((err = obuf_grow(o)))
            break;
        z.next_out = o->p + o->len;
        z.avail_out = (uInt)(o->size - o->len);
        int rc = inflate(&z, Z_NO_FLUSH);
        o->len = o->size - z.avail_out;
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            /* Java's GZIPInputStream reads concatenated members; so do we. */
            if (inflateReset(&z) != Z_OK) {
                err = KERR_CORRUPT_MESSAGE;
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && z.avail_out != 0) {   /* input ran out */
            err = KERR_CORRUPT_MESSAGE;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            err = KERR_CORRUPT_MESSAGE;
            break;
        }
    }
    inflateEnd(&z);
    return err;
}

static int snappy_block(const uint8_t *in, size_t n, struct obuf *o)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, n, &ulen) != SNAPPY_OK)
        return KERR_CORRUPT_MESSAGE;
    if (ulen > o->cap - o->len)
        return KERR_MESSAGE_TOO_LARGE;
    if (ulen == 0) /* nothing to write, and o->p may still be NULL */
        return snappy_validate_compressed_buffer((const char *)in, n) == SNAPPY_OK
                   ? 0 : KERR_CORRUPT_MESSAGE;
    if (o->size - o->len < ulen) {
        size_t ns = o->len + ulen;
        uint8_t *np = realloc(o->p, ns ? ns : 1);
        if (!np)
            return KERR_UNKNOWN_SERVER_ERROR;
        o->p = np;
        o->size = ns;
    }
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, n, (char *)o->p + o->len, &got) != SNAPPY_OK ||
        got != ulen)
        return KERR_CORRUPT_MESSAGE;
    o->len += got;
    return 0;
}

/* snappy-java's stream ("xerial") framing, which the Java client (and
 * kafka-python) send: 8-byte magic, int32 version, int32 compatible version,
 * then [int32 length][raw snappy block] chunks. librdkafka 2.x sends a plain
 * raw snappy block for v2 batches; both are accepted. */
static const uint8_t xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };

static int unsnappy(const uint8_t *in, size_t n, struct obuf *o)
{
    if (n < 16 || memcmp(in, xerial_magic, 8) != 0)
        return snappy_block(in, n, o);
    struct kr r;
    kr_init(&r, in + 16, n - 16);
    while (kr_left(&r) > 0) {
        int32_t clen = kr_i32(&r);
        const uint8_t *chunk = clen >= 0 ? kr_raw(&r, (size_t)clen) : NULL;
        if (r.err || !chunk)
            return KERR_CORRUPT_MESSAGE;
        int err = snappy_block(chunk, (size_t)clen, o);
        if (err)
            return err;
    }
    return 0;
}

static int unlz4(const uint8_t *in, size_t n, struct obuf *o)
{
    LZ4F_dctx *d;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return KERR_UNKNOWN_SERVER_ERROR;
    int err = 0;
    size_t hint = 1;            /* 0 once a frame is complete */
    /* Frames may follow one another; stop when the input is used up at a
     * frame end. Buffered output is drained with empty input. */
    while (!err && (n > 0 || hint != 0)) {
        if ((err = obuf_grow(o)))
            break;
        size_t dst = o->size - o->len, src = n;
        hint = LZ4F_decompress(d, o->p + o->len, &dst, in, &src, NULL);
        if (LZ4F_isError(hint) || (dst == 0 && src == 0)) {
            err = KERR_CORRUPT_MESSAGE;   /* bad or truncated frame */
            break;
        }
        o->len += dst;
        in += src;
        n -= src;
    }
    LZ4F_freeDecompressionContext(d);
    return err;
}

static int unzstd(const uint8_t *in, size_t n, struct obuf *o)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    if (!d)
        return KERR_UNKNOWN_SERVER_ERROR;
    ZSTD_inBuffer ib = { in, n, 0 };
    size_t rc = 1;
    int err = 0;
    /* rc == 0 means a frame ended exactly; stop once the input is used up
     * then. Otherwise keep going while output keeps arriving. */
    while (!err && (ib.pos < ib.size || rc != 0)) {
        if ((err = obuf_grow(o)))
            break;
        ZSTD_outBuffer ob = { o->p, o->size, o->len };
        size_t before_in = ib.pos;
        rc = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(rc)) {
            err = KERR_CORRUPT_MESSAGE;
            break;
        }
        bool progress = ob.pos != o->len || ib.pos != before_in;
        o->len = ob.pos;
        if (!progress && rc != 0)
            err = KERR_CORRUPT_MESSAGE;   /* truncated frame */
    }
    ZSTD_freeDStream(d);
    return err;
}

/* Decompress the records section. On success *out is a malloc'd buffer the
 * caller frees (may be NULL when empty). */
static int decompress(int codec, const uint8_t *in, size_t n, uint8_t **out,
                      size_t *outlen)
{
    struct obuf o = { NULL, 0, 0, RB_MAX_UNCOMPRESSED };
    int err;
    switch (codec) {
    case RB_COMP_GZIP: err = inflate_gzip(in, n, &o); break;
    case RB_COMP_SNAPPY: err = unsnappy(in, n, &o); break;
    case RB_COMP_LZ4: err = unlz4(in, n, &o); break;
    case RB_COMP_ZSTD: err = unzstd(in, n, &o); break;
    default: err = KERR_UNSUPPORTED_COMPRESSION_TYPE; break;
    }
    if (err) {
        free(o.p);
        return err;
    }
    *out = o.p;
    *outlen = o.len;
    return 0;
}

/* ---------------- records ---------------- */

/* Read a varint length that must be -1 (null, if allowed) or fit in r. */
static struct kbytes read_varbytes(struct kr *r, bool nullable)
{
    struct kbytes b = { NULL, -1 };
    int32_t len = kr_varint(r);
    if (r->err)
        return b;
    if (len < 0) {
        if (len != -1 || !nullable)
            kr_fail(r, WIRE_ERANGE);
        return b;
    }
    b.p = kr_raw(r, (size_t)len);
    b.len = b.p ? len : -1;
    return b;
}

/* Parse one record body (after its length prefix). */
static int parse_record(struct kr *r, const struct rb_header *h, int32_t index,
                        struct rb_record *rec)
{
    rec->attributes = kr_i8(r);
    int64_t ts_delta = kr_varlong(r);
    int32_t off_delta = kr_varint(r);
    rec->key = read_varbytes(r, true);
    rec->value = read_varbytes(r, true);
    rec->header_count = kr_varint(r);
    /* A header takes at least 2 bytes: a declared count beyond that is
     * refused before looping over it. */
    if (r->err || rec->header_count < 0 || (size_t)rec->header_count > kr_left(r) / 2)
        return KERR_CORRUPT_MESSAGE;
    rec->headers = r->p;
    for (int32_t i = 0; i < rec->header_count && !r->err; i++) {
        read_varbytes(r, false);
        read_varbytes(r, true);
    }
    if (r->err)
        return KERR_CORRUPT_MESSAGE;
    rec->headers_len = (size_t)(r->p - rec->headers);
    if (kr_left(r) != 0)            /* record longer than its fields */
        return KERR_CORRUPT_MESSAGE;
    if (off_delta != index)
        return KERR_INVALID_RECORD;
    rec->offset = h->base_offset + off_delta;
    rec->timestamp = (h->attributes & RB_ATTR_LOG_APPEND_TIME)
                         ? h->max_timestamp
                         : h->base_timestamp + ts_delta;
    return KERR_NONE;
}

/* Walk `count` length-prefixed records in p..p+n; cb may be NULL. */
static int walk_records(const uint8_t *p, size_t n, const struct rb_header *h,
                        rb_record_cb cb, void *arg)
{
    struct kr r;
    kr_init(&r, p, n);
    int32_t i = 0;
    for (; kr_left(&r) > 0; i++) {
        if (i == h->records_count)          /* more records than declared */
            return KERR_INVALID_RECORD;
        int32_t len = kr_varint(&r);
        const uint8_t *body = len >= 0 ? kr_raw(&r, (size_t)len) : NULL;
        if (r.err || !body)
            return KERR_CORRUPT_MESSAGE;
        struct kr rr;
        kr_init(&rr, body, (size_t)len);
        struct rb_record rec;
        int err = parse_record(&rr, h, i, &rec);
        if (err)
            return err;
        if (cb && (err = cb(&rec, arg)) != 0)
            return err;
    }
    return i == h->records_count ? KERR_NONE : KERR_INVALID_RECORD;
}

/* Shared by rb_validate and rb_records_foreach. */
static int check_batch(const uint8_t *p, size_t n, int64_t max_batch_bytes,
                       struct rb_header *h, rb_record_cb cb, void *arg)
{
    int err = rb_parse_header(p, n, h);
    if (err)
        return err;
    if (rb_total_size(h) > max_batch_bytes)
        return KERR_MESSAGE_TOO_LARGE;
    if ((err = check_frame(p, n, h)))
        return err;
    /* Kafka refuses empty batches and offset ranges that disagree with the
     * count; checked before the (costly) decompression. */
    if (h->records_count <= 0 || h->last_offset_delta != h->records_count - 1)
        return KERR_INVALID_RECORD;
    int codec = h->attributes & RB_ATTR_COMPRESSION_MASK;
    if (codec > RB_COMP_ZSTD)
        return KERR_UNSUPPORTED_COMPRESSION_TYPE;
    const uint8_t *recs = p + RB_HEADER_SIZE;
    size_t rn = n - RB_HEADER_SIZE;
    if (codec == RB_COMP_NONE)
        return walk_records(recs, rn, h, cb, arg);
    uint8_t *buf = NULL;
    size_t blen = 0;
    if ((err = decompress(codec, recs, rn, &buf, &blen)))
        return err;
    err = walk_records(buf, blen, h, cb, arg);
    free(buf);
    return err;
}

int rb_validate(const uint8_t *p, size_t n, int64_t max_batch_bytes,
                struct rb_info *info)
{
    struct rb_header h;
    int err = check_batch(p, n, max_batch_bytes, &h, NULL, NULL);
    if (err || !info)
        return err;
    info->size = rb_total_size(&h);
    info->count = h.records_count;
    info->last_offset_delta = h.last_offset_delta;
    info->partition_leader_epoch = h.partition_leader_epoch;
    info->base_timestamp = h.base_timestamp;
    info->max_timestamp = h.max_timestamp;
    info->producer_id = h.producer_id;
    info->producer_epoch = h.producer_epoch;
    info->base_sequence = h.base_sequence;
    info->compression = h.attributes & RB_ATTR_COMPRESSION_MASK;
    info->is_transactional = (h.attributes & RB_ATTR_TRANSACTIONAL) != 0;
    info->is_control = (h.attributes & RB_ATTR_CONTROL) != 0;
    info->log_append_time = (h.attributes & RB_ATTR_LOG_APPEND_TIME) != 0;
    return KERR_NONE;
}

int rb_records_foreach(const uint8_t *p, size_t n, rb_record_cb cb, void *arg)
{
    struct rb_header h;
    return check_batch(p, n, INT64_MAX, &h, cb, arg);
}

void rb_hdr_iter_init(struct rb_hdr_iter *it, const struct rb_record *rec)
{
    kr_init(&it->r, rec->headers, rec->headers_len);
    it->left = rec->header_count;
}

bool rb_hdr_next(struct rb_hdr_iter *it, struct kstr *key, struct kbytes *value)
{
    if (it->left <= 0 || it->r.err)
        return false;
    struct kbytes k = read_varbytes(&it->r, false);
    *value = read_varbytes(&it->r, true);
    key->p = (const char *)k.p;
    key->len = k.len;
    it->left--;
    return it->r.err == 0;
}

/* ---------------- builder ---------------- */

void rb_builder_init(struct rb_builder *b, struct kw *w, int64_t base_offset,
                     int64_t base_timestamp, int16_t attributes,
                     int64_t producer_id, int16_t producer_epoch,
                     int32_t base_sequence)
{
    b->w = w;
    b->start = w->len;
    b->count = 0;
    b->base_ts = base_timestamp;
    b->max_ts = -1;
    kw_init(&b->rec, NULL);
    /* Uncompressed only: the builder writes records straight into w. */
    attributes &= (int16_t)~RB_ATTR_COMPRESSION_MASK;
    kw_i64(w, base_offset);
    kw_i32(w, 0);                 /* batchLength, patched by finish */
    kw_i32(w, -1);                /* partitionLeaderEpoch */
    kw_i8(w, RB_MAGIC);
    kw_u32(w, 0);                 /* crc, patched by finish */
    kw_i16(w, attributes);
    kw_i32(w, 0);                 /* lastOffsetDelta */
    kw_i64(w, base_timestamp);
    kw_i64(w, -1);                /* maxTimestamp */
    kw_i64(w, producer_id);
    kw_i16(w, producer_epoch);
    kw_i32(w, base_sequence);
    kw_i32(w, 0);                 /* recordsCount */
}

static void kw_varbytes(struct kw *w, const void *p, int32_t len)
{
    kw_varint(w, len < 0 ? -1 : len);
    if (len > 0)
        kw_raw(w, p, (size_t)len);
}

void rb_builder_add(struct rb_builder *b, int64_t timestamp, struct kbytes key,
                    struct kbytes value, const struct rb_hdr *hdrs, int32_t nhdrs)
{
    struct kw *r = &b->rec;
    r->len = 0;
    kw_i8(r, 0);
    kw_varlong(r, timestamp - b->base_ts);
    kw_varint(r, b->count);
    kw_varbytes(r, key.p, key.len);
    kw_varbytes(r, value.p, value.len);
    kw_varint(r, nhdrs);
    for (int32_t i = 0; i < nhdrs; i++) {
        kw_varbytes(r, hdrs[i].key.p, hdrs[i].key.len < 0 ? 0 : hdrs[i].key.len);
        kw_varbytes(r, hdrs[i].value.p, hdrs[i].value.len);
    }
    if (r->err) {
        b->w->err = b->w->err ? b->w->err : r->err;
        return;
    }
    kw_varint(b->w, (int32_t)r->len);
    kw_raw(b->w, r->buf, r->len);
    b->count++;
    if (timestamp > b->max_ts)
        b->max_ts = timestamp;
}

int rb_builder_finish(struct rb_builder *b)
{
    kw_free(&b->rec);
    struct kw *w = b->w;
    if (w->err)
        return w->err;
    uint8_t *p = w->buf + b->start;
    size_t n = w->len - b->start;
    put_be32(p + 8, (uint32_t)(n - RB_LOG_OVERHEAD));
    put_be32(p + 23, (uint32_t)(b->count - 1));
    put_be64(p + 35, (uint64_t)b->max_ts);
    put_be32(p + 57, (uint32_t)b->count);
    put_be32(p + OFF_CRC, crc32c(0, p + CRC_START, n - CRC_START));
    return 0;
}
