/* kload — a Kafka load tool that costs the client almost nothing, so that
 * the server, not the load tool, sets the figure on a machine with few
 * cores. It speaks the wire protocol directly (Produce v3, Fetch v4: the
 * oldest versions Kafka 4 still serves, so both brokers answer them), is
 * independent of kavka's own codec, and does no per-record work in the loop.
 *
 *   kload produce BOOTSTRAP TOPIC PARTITIONS RECORDS [VALUE_BYTES [ACKS [BATCH [INFLIGHT]]]]
 *
 * Builds one Produce request once: one record batch per partition (magic 2,
 * uncompressed, no producer id, BATCH records of VALUE_BYTES each, default
 * 16 records of 1024 bytes = Kafka's default batch.size of 16 KiB), acks
 * ACKS (default -1 = all). Sends it over and over on one connection with up
 * to INFLIGHT requests outstanding (default 5, the clients' default
 * max.in.flight), only the correlation id rewritten, until RECORDS records
 * are acknowledged; every partition's error code in every response is
 * checked (any error: exit 1). The broker assigns the offsets: without a
 * producer id a resent batch is a new batch. Prints one line:
 *   produced=... secs=... produce_rps=... produce_mbps=... requests=... errors=0
 * (MB = 10^6 bytes of record values; secs from the first send to the last
 * acknowledgement.)
 *
 *   kload fetch BOOTSTRAP TOPIC PARTITIONS SECONDS [MAX_PARTITION_BYTES [CONNS]]
 *
 * Reads an existing, filled TOPIC over and over: Fetch requests for every
 * partition (partition_max_bytes default 1 MiB and max_bytes 50 MiB, the
 * Java consumer's defaults; max_wait 0, min_bytes 1), one in flight, each
 * partition's offset advanced past the last complete batch of its answer
 * (only the 12-byte batch headers are read, not the records); a partition at
 * its high watermark starts again from offset 0. Runs SECONDS. Prints:
 *   fetched=... secs=... fetch_rps=... fetch_mbps=... requests=... errors=0
 * (records counted from the batch headers; MB = 10^6 bytes of complete
 * batches, headers included.) With CONNS > 1, that many processes (forked,
 * so on the load tool's core too) each read the topic on a connection of
 * their own, as many consumers in different groups would; the line gives
 * their sums (secs: the longest).
 *
 * Built by bench/run: cc -O2 -Wall -o kload kload.c
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "kload: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

/* ---- big-endian buffer writing ---- */

struct buf { uint8_t *p; size_t len, cap; };

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            die("out of memory");
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put16(struct buf *b, uint16_t v) { uint8_t x[2] = { v >> 8, v }; put(b, x, 2); }
static void put32(struct buf *b, uint32_t v) { uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v }; put(b, x, 4); }
static void put64(struct buf *b, uint64_t v) { put32(b, v >> 32); put32(b, (uint32_t)v); }
static void putstr(struct buf *b, const char *s) { put16(b, strlen(s)); put(b, s, strlen(s)); }
static void putvar(struct buf *b, int64_t v)   /* zigzag varint */
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (u >= 0x80) { put8(b, (uint8_t)(u | 0x80)); u >>= 7; }
    put8(b, (uint8_t)u);
}
static void set32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

/* CRC-32C (Castagnoli), bitwise table: used once per batch at start-up. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    static uint32_t t[256];
    if (!t[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = t[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---- connection ---- */

static int dial(const char *bootstrap)
{
    char host[256];
    const char *colon = strrchr(bootstrap, ':');
    if (!colon || (size_t)(colon - bootstrap) >= sizeof host)
        die("BOOTSTRAP must be HOST:PORT");
    memcpy(host, bootstrap, colon - bootstrap);
    host[colon - bootstrap] = 0;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        die("cannot resolve the bootstrap host");
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        die("connect");
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

static void recv_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            die("read (connection closed by the broker?)");
        }
        p += r;
        n -= (size_t)r;
    }
}

/* One response frame into *resp (grown as needed); returns its length. */
static size_t recv_frame(int fd, uint8_t **resp, size_t *cap)
{
    uint8_t h[4];
    recv_all(fd, h, 4);
    size_t n = get32(h);
    if (n < 4 || n > (1u << 30)) {
        errno = 0;
        die("bad response size");
    }
    if (n > *cap) {
        *cap = n;
        if (!(*resp = realloc(*resp, n)))
            die("out of memory");
    }
    recv_all(fd, *resp, n);
    return n;
}

static void header(struct buf *b, int16_t api, int16_t version)
{
    put32(b, 0);            /* size, set at the end */
    put16(b, (uint16_t)api);
    put16(b, (uint16_t)version);
    put32(b, 0);            /* correlation id, at offset 8 */
    putstr(b, "kload");
}

/* ---- produce ---- */

static void build_batch(struct buf *b, int records, int value_bytes)
{
    struct buf r = { 0 };
    uint8_t *value = calloc(1, value_bytes ? value_bytes : 1);
    memset(value, 'x', value_bytes);
    int64_t ts = (int64_t)(time(NULL)) * 1000;
    for (int i = 0; i < records; i++) {
        struct buf one = { 0 };
        put8(&one, 0);              /* attributes */
        putvar(&one, 0);            /* timestamp delta */
        putvar(&one, i);            /* offset delta */
        putvar(&one, -1);           /* key: null */
        putvar(&one, value_bytes);
        put(&one, value, value_bytes);
        putvar(&one, 0);            /* headers */
        putvar(&r, (int64_t)one.len);
        put(&r, one.p, one.len);
        free(one.p);
    }
    struct buf tail = { 0 };        /* attributes .. records: what the CRC covers */
    put16(&tail, 0);
    put32(&tail, records - 1);
    put64(&tail, ts);
    put64(&tail, ts);
    put64(&tail, (uint64_t)-1);     /* producer id */
    put16(&tail, (uint16_t)-1);     /* producer epoch */
    put32(&tail, (uint32_t)-1);     /* base sequence */
    put32(&tail, records);
    put(&tail, r.p, r.len);
    put64(b, 0);                              /* base offset */
    put32(b, (uint32_t)(4 + 1 + 4 + tail.len)); /* batch length */
    put32(b, (uint32_t)-1);                   /* partition leader epoch */
    put8(b, 2);                               /* magic */
    put32(b, crc32c(tail.p, tail.len));
    put(b, tail.p, tail.len);
    free(tail.p);
    free(r.p);
    free(value);
}

/* Checks every partition's error code of a Produce v3 response; with
   `quiet`, errors are counted but not printed. */
static int produce_errors(const uint8_t *p, size_t n, int quiet)
{
    const uint8_t *end = p + n;
    p += 4;                                   /* correlation id */
    if (p + 4 > end) return 1;
    uint32_t topics = get32(p); p += 4;
    int errors = 0;
    for (uint32_t t = 0; t < topics; t++) {
        if (p + 2 > end) return 1;
        p += 2 + get16(p);
        if (p + 4 > end) return 1;
        uint32_t parts = get32(p); p += 4;
        for (uint32_t i = 0; i < parts; i++) {
            if (p + 22 > end) return 1;
            int16_t err = (int16_t)get16(p + 4);
            if (err) {
                if (errors < 10 && !quiet)
                    fprintf(stderr, "kload: partition %u: error %d\n", get32(p), err);
                errors++;
            }
            p += 22;
        }
    }
    return errors;
}

static int run_produce(int argc, char **argv)
{
    if (argc < 6) return 2;
    const char *topic = argv[3];
    int partitions = atoi(argv[4]);
    long long records = atoll(argv[5]);
    int value_bytes = argc > 6 ? atoi(argv[6]) : 1024;
    int acks = argc > 7 ? (strcmp(argv[7], "all") == 0 ? -1 : atoi(argv[7])) : -1;
    int batch = argc > 8 ? atoi(argv[8]) : 16;
    int inflight = argc > 9 ? atoi(argv[9]) : 5;
    if (partitions < 1 || records < 1 || value_bytes < 0 || batch < 1 || inflight < 1 || acks == 0)
        return 2;

    struct buf req = { 0 }, one = { 0 };
    build_batch(&one, batch, value_bytes);
    header(&req, 0, 3);
    put16(&req, (uint16_t)-1);          /* transactional id: null */
    put16(&req, (uint16_t)acks);
    put32(&req, 30000);
    put32(&req, 1);
    putstr(&req, topic);
    put32(&req, (uint32_t)partitions);
    for (int i = 0; i < partitions; i++) {
        put32(&req, (uint32_t)i);
        put32(&req, (uint32_t)one.len);
        put(&req, one.p, one.len);
    }
    set32(req.p, (uint32_t)(req.len - 4));

    long long per_req = (long long)batch * partitions, sent = 0, acked = 0, requests = 0;
    int fd = dial(argv[2]), outstanding = 0, errors = 0;
    uint8_t *resp = NULL;
    size_t cap = 0;
    /* Before the clock starts: one request at a time until every partition
       takes it (a topic just created may not have its leaders in place yet,
       which a client would wait out too: NOT_LEADER_OR_FOLLOWER and the
       like). These records are not counted. */
    for (double give_up = now_s() + 30;;) {
        set32(req.p + 8, (uint32_t)requests++);
        send_all(fd, req.p, req.len);
        size_t n = recv_frame(fd, &resp, &cap);
        if (!produce_errors(resp, n, now_s() < give_up))
            break;
        if (now_s() >= give_up) {
            fprintf(stderr, "kload: the partitions still refuse records after 30 s\n");
            return 1;
        }
        usleep(100000);
    }
    requests = 0;
    double t0 = now_s();
    while (acked < records) {
        while (outstanding < inflight && sent < records) {
            set32(req.p + 8, (uint32_t)requests++);
            send_all(fd, req.p, req.len);
            sent += per_req;
            outstanding++;
        }
        size_t n = recv_frame(fd, &resp, &cap);
        errors += produce_errors(resp, n, 0);
        if (errors) {
            fprintf(stderr, "kload: the broker refused records; stopping\n");
            break;
        }
        acked += per_req;
        outstanding--;
    }
    double secs = now_s() - t0;
    printf("produced=%lld secs=%.3f produce_rps=%.1f produce_mbps=%.2f requests=%lld errors=%d\n",
           acked, secs, acked / secs, acked * (double)value_bytes / secs / 1e6, requests, errors);
    close(fd);
    return errors ? 1 : 0;
}

/* ---- fetch ---- */

struct part { int64_t offset; };

/* Walks a Fetch v4 response: advances each partition past its last complete
   batch, counts records and bytes. Returns the error count. */
static int fetch_walk(const uint8_t *p, size_t n, struct part *parts, int nparts,
                      long long *records, long long *bytes)
{
    const uint8_t *end = p + n;
    int errors = 0;
    p += 4 + 4;                               /* correlation id, throttle */
    if (p + 4 > end) return 1;
    uint32_t topics = get32(p); p += 4;
    for (uint32_t t = 0; t < topics; t++) {
        if (p + 2 > end) return 1;
        p += 2 + get16(p);
        if (p + 4 > end) return 1;
        uint32_t np = get32(p); p += 4;
        for (uint32_t i = 0; i < np; i++) {
            if (p + 30 > end) return 1;
            uint32_t idx = get32(p);
            int16_t err = (int16_t)get16(p + 4);
            int64_t hw = (int64_t)get64(p + 6);
            p += 4 + 2 + 8 + 8;
            int32_t aborted = (int32_t)get32(p); p += 4;
            if (aborted > 0) p += (size_t)aborted * 16;
            if (p + 4 > end) return 1;
            int32_t len = (int32_t)get32(p); p += 4;
            if (len < 0) len = 0;
            if (p + len > end || idx >= (uint32_t)nparts) return 1;
            if (err) {
                if (errors < 10)
                    fprintf(stderr, "kload: fetch partition %u: error %d\n", idx, err);
                errors++;
            }
            const uint8_t *b = p, *bend = p + len;
            while (b + 61 <= bend) {
                uint32_t blen = get32(b + 8);
                if (b + 12 + blen > bend)
                    break;                    /* a partial batch at the end */
                parts[idx].offset = (int64_t)get64(b) + (int32_t)get32(b + 23) + 1;
                *records += get32(b + 57);
                *bytes += 12 + blen;
                b += 12 + blen;
            }
            if (parts[idx].offset >= hw)
                parts[idx].offset = 0;        /* at the end: read it again */
            p += len;
        }
    }
    return errors;
}

struct fetch_result { long long records, bytes, requests; double secs; int errors; };

static struct fetch_result fetch_one(const char *bootstrap, const char *topic, int nparts,
                                     double seconds, int part_max);

static int run_fetch(int argc, char **argv)
{
    if (argc < 6) return 2;
    const char *topic = argv[3];
    int nparts = atoi(argv[4]);
    double seconds = atof(argv[5]);
    int part_max = argc > 6 ? atoi(argv[6]) : 1 << 20;
    int conns = argc > 7 ? atoi(argv[7]) : 1;
    if (nparts < 1 || nparts > 4096 || seconds <= 0 || part_max < 1 || conns < 1 || conns > 256)
        return 2;
    struct fetch_result sum = { 0 };
    if (conns == 1) {
        sum = fetch_one(argv[2], topic, nparts, seconds, part_max);
    } else {
        int fds[2];
        if (pipe(fds) != 0)
            die("pipe");
        for (int i = 0; i < conns; i++) {
            pid_t pid = fork();
            if (pid < 0)
                die("fork");
            if (pid == 0) {
                close(fds[0]);
                struct fetch_result r = fetch_one(argv[2], topic, nparts, seconds, part_max);
                if (write(fds[1], &r, sizeof r) != sizeof r)
                    _exit(1);
                _exit(0);
            }
        }
        close(fds[1]);
        struct fetch_result r;
        int got = 0;
        while (read(fds[0], &r, sizeof r) == sizeof r) {
            sum.records += r.records;
            sum.bytes += r.bytes;
            sum.requests += r.requests;
            sum.errors += r.errors;
            if (r.secs > sum.secs)
                sum.secs = r.secs;
            got++;
        }
        while (wait(NULL) > 0)
            ;
        if (got != conns) {
            fprintf(stderr, "kload: %d of %d fetchers reported\n", got, conns);
            sum.errors++;
        }
    }
    printf("fetched=%lld secs=%.3f fetch_rps=%.1f fetch_mbps=%.2f requests=%lld errors=%d conns=%d\n",
           sum.records, sum.secs, sum.records / sum.secs, sum.bytes / sum.secs / 1e6, sum.requests,
           sum.errors, conns);
    return sum.errors || !sum.records ? 1 : 0;
}

/* One connection reading the topic over and over for `seconds`. */
static struct fetch_result fetch_one(const char *bootstrap, const char *topic, int nparts,
                                     double seconds, int part_max)
{
    struct part *parts = calloc((size_t)nparts, sizeof *parts);
    int fd = dial(bootstrap), errors = 0;
    uint8_t *resp = NULL;
    size_t cap = 0, off_at[4096];
    long long records = 0, bytes = 0, requests = 0;

    struct buf req = { 0 };
    header(&req, 1, 4);
    put32(&req, (uint32_t)-1);                /* replica id */
    put32(&req, 0);                           /* max wait ms */
    put32(&req, 1);                           /* min bytes */
    put32(&req, 50 << 20);                    /* max bytes */
    put8(&req, 0);                            /* read_uncommitted */
    put32(&req, 1);
    putstr(&req, topic);
    put32(&req, (uint32_t)nparts);
    for (int i = 0; i < nparts; i++) {
        put32(&req, (uint32_t)i);
        off_at[i] = req.len;
        put64(&req, 0);
        put32(&req, (uint32_t)part_max);
    }
    set32(req.p, (uint32_t)(req.len - 4));

    double t0 = now_s(), t;
    do {
        set32(req.p + 8, (uint32_t)requests++);
        for (int i = 0; i < nparts; i++) {
            set32(req.p + off_at[i], (uint32_t)((uint64_t)parts[i].offset >> 32));
            set32(req.p + off_at[i] + 4, (uint32_t)parts[i].offset);
        }
        send_all(fd, req.p, req.len);
        size_t n = recv_frame(fd, &resp, &cap);
        errors += fetch_walk(resp, n, parts, nparts, &records, &bytes);
        if (errors)
            break;
        t = now_s();
    } while (t - t0 < seconds);
    struct fetch_result r = { records, bytes, requests, now_s() - t0, errors };
    close(fd);
    free(parts);
    free(resp);
    free(req.p);
    return r;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc > 1 && strcmp(argv[1], "produce") == 0)
        rc = run_produce(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "fetch") == 0)
        rc = run_fetch(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: kload produce BOOTSTRAP TOPIC PARTITIONS RECORDS [VALUE_BYTES [ACKS [BATCH [INFLIGHT]]]]\n"
                        "       kload fetch BOOTSTRAP TOPIC PARTITIONS SECONDS [MAX_PARTITION_BYTES [CONNS]]\n");
    return rc;
}
