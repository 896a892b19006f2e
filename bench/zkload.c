/* zkload — a ZooKeeper load tool that costs the client almost nothing, so
 * that the server, not the load tool, sets the figure (bench/zkbench, on
 * the ZooKeeper C client's two threads per handle, saturates its core
 * first). It speaks the client protocol directly (jute frames), one thread,
 * epoll over all sessions, and is independent of kavka's own codec.
 *
 *   zkload HOST:PORT SESSIONS VALUE_BYTES SECONDS [WINDOW]
 *
 * The phases and output lines of bench/zkbench (same meaning, same format):
 *   create  for SECONDS, each session creating /zkload-<pid>/s<i>-<n>
 *   get     for SECONDS, reading back the znodes it created (round robin)
 *   set     for SECONDS, overwriting them with VALUE_BYTES
 *   watch   for SECONDS, each op a getData with a watch on one of them and a
 *           setData of it, sent back to back; the op completes when the
 *           NodeDataChanged notification arrives
 *   delete  until every znode created in the first phase is gone
 * Each session keeps WINDOW requests in flight (default 1: closed loop).
 * A session's replies come in request order (ZooKeeper's guarantee), so a
 * FIFO of send times per session gives each reply its latency. Any error in
 * a reply is counted; the exit status is 1 if there was one.
 *   op=create sessions=8 value=100 ops=12345 secs=2.001 ops_per_s=6169.4 p50_us=1200 p99_us=3400 p999_us=5100 errors=0
 *
 * Built by bench/run: cc -O2 -Wall -o zkload zkload.c
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { OP_CREATE, OP_GET, OP_SET, OP_WATCH, OP_DELETE, OP_N };
static const char *op_name[OP_N] = {"create", "get", "set", "watch", "delete"};
enum { ZK_CREATE = 1, ZK_DELETE = 2, ZK_GETDATA = 4, ZK_SETDATA = 5 };

/* What a reply in a session's FIFO stands for. */
enum { R_TIMED, R_UNTIMED };

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
    fprintf(stderr, "zkload: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

struct fifo_ent { int64_t t; int kind; };

struct sess {
    int fd, id;
    uint8_t in[1 << 16];
    size_t in_len;
    struct fifo_ent *fifo;   /* replies expected, in order */
    int head, tail, cap;     /* ring */
    int inflight;            /* ops in flight (a watch op counts once) */
    long created, next;      /* znodes created; next index to use */
    long deleted;
    int64_t *watch_t;        /* per znode: when its watch op started, 0 if none */
};

static struct sess *S;
static int nsess, window, value_bytes, phase, errors_, ep;
static char base[64];
static uint8_t *value;
static uint32_t *lat;
static long nlat, caplat;
static int xid_ctr = 1;

/* ---- jute writing ---- */

struct buf { uint8_t p[16384 + 512]; size_t n; };
static void b32(struct buf *b, uint32_t v)
{
    b->p[b->n++] = v >> 24; b->p[b->n++] = v >> 16; b->p[b->n++] = v >> 8; b->p[b->n++] = v;
}
static void b64(struct buf *b, uint64_t v) { b32(b, v >> 32); b32(b, (uint32_t)v); }
static void bbytes(struct buf *b, const void *p, int n) { b32(b, (uint32_t)n); memcpy(b->p + b->n, p, n); b->n += n; }
static void bstr(struct buf *b, const char *s) { bbytes(b, s, (int)strlen(s)); }
static uint32_t g32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void send_frame(struct sess *s, struct buf *b)
{
    uint32_t n = (uint32_t)(b->n - 4);
    b->p[0] = n >> 24; b->p[1] = n >> 16; b->p[2] = n >> 8; b->p[3] = n;
    const uint8_t *p = b->p;
    size_t left = b->n;
    while (left) {
        ssize_t w = write(s->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        p += w;
        left -= (size_t)w;
    }
}

static void push(struct sess *s, int64_t t, int kind)
{
    if ((s->tail + 1) % s->cap == s->head)
        die("reply queue full");
    s->fifo[s->tail] = (struct fifo_ent){ t, kind };
    s->tail = (s->tail + 1) % s->cap;
}

static void path_of(char *out, size_t n, int sess, long k)
{
    snprintf(out, n, "%s/s%d-%ld", base, sess, k);
}

static void request(struct sess *s, int type, long k, int watch, int kind, int64_t t)
{
    struct buf b = { .n = 4 };
    char path[128];
    path_of(path, sizeof path, s->id, k);
    b32(&b, (uint32_t)xid_ctr++);
    b32(&b, (uint32_t)type);
    bstr(&b, path);
    switch (type) {
    case ZK_CREATE:
        bbytes(&b, value, value_bytes);
        b32(&b, 1);                       /* ACL: world:anyone, all */
        b32(&b, 31);
        bstr(&b, "world");
        bstr(&b, "anyone");
        b32(&b, 0);                       /* persistent */
        break;
    case ZK_DELETE:
        b32(&b, (uint32_t)-1);
        break;
    case ZK_GETDATA:
        b.p[b.n++] = (uint8_t)watch;
        break;
    case ZK_SETDATA:
        bbytes(&b, value, value_bytes);
        b32(&b, (uint32_t)-1);
        break;
    }
    send_frame(s, &b);
    push(s, t, kind);
}

/* Starts one op of the current phase on s; 0 if there is nothing to do. */
static int start_op(struct sess *s)
{
    int64_t t = now_us();
    switch (phase) {
    case OP_CREATE:
        request(s, ZK_CREATE, s->created + s->inflight, 0, R_TIMED, t);
        break;
    case OP_GET:
    case OP_SET:
        if (!s->created)
            return 0;
        request(s, phase == OP_GET ? ZK_GETDATA : ZK_SETDATA, s->next++ % s->created, 0, R_TIMED, t);
        break;
    case OP_WATCH: {
        if (!s->created)
            return 0;
        long k = s->next++ % s->created;
        if (s->watch_t[k])
            return 0;                     /* fewer znodes than the window */
        s->watch_t[k] = t;
        request(s, ZK_GETDATA, k, 1, R_UNTIMED, t);
        request(s, ZK_SETDATA, k, 0, R_UNTIMED, t);
        break;
    }
    case OP_DELETE:
        if (s->next >= s->created)
            return 0;
        request(s, ZK_DELETE, s->next++, 0, R_TIMED, t);
        break;
    }
    s->inflight++;
    return 1;
}

static void record(int64_t t0)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 20;
        if (!(lat = realloc(lat, caplat * sizeof *lat)))
            die("out of memory");
    }
    int64_t d = now_us() - t0;
    lat[nlat++] = (uint32_t)(d < 0 ? 0 : d);
}

/* One frame from the server: a reply (in FIFO order) or a notification. */
static void on_frame(struct sess *s, const uint8_t *p, size_t n)
{
    if (n < 16) {
        errno = 0;
        die("short reply");
    }
    int32_t xid = (int32_t)g32(p), err = (int32_t)g32(p + 12);
    if (xid == -1) {                      /* WatcherEvent: type, state, path */
        if (n < 16 + 12)
            return;
        uint32_t plen = g32(p + 24);
        if (28 + plen > n || plen >= 128)
            return;
        char path[128];
        memcpy(path, p + 28, plen);
        path[plen] = 0;
        const char *dash = strrchr(path, '-');
        long k = dash ? atol(dash + 1) : -1;
        if (k >= 0 && k < s->created && s->watch_t[k]) {
            record(s->watch_t[k]);
            s->watch_t[k] = 0;
            s->inflight--;
        }
        return;
    }
    if (xid == -2)                        /* ping */
        return;
    if (s->head == s->tail) {
        errno = 0;
        die("a reply nobody asked for");
    }
    struct fifo_ent e = s->fifo[s->head];
    s->head = (s->head + 1) % s->cap;
    if (err) {
        if (errors_ < 10)
            fprintf(stderr, "zkload: %s: error %d\n", op_name[phase], err);
        errors_++;
    }
    if (e.kind == R_UNTIMED)
        return;
    record(e.t);
    s->inflight--;
    if (phase == OP_CREATE && !err)
        s->created++;
    if (phase == OP_DELETE)
        s->deleted++;
}

static void on_readable(struct sess *s)
{
    ssize_t r = read(s->fd, s->in + s->in_len, sizeof s->in - s->in_len);
    if (r <= 0) {
        if (r < 0 && errno == EINTR)
            return;
        if (r == 0)
            errno = 0;
        die("read (session closed by the server?)");
    }
    s->in_len += (size_t)r;
    size_t off = 0;
    while (s->in_len - off >= 4) {
        uint32_t fl = g32(s->in + off);
        if (fl > sizeof s->in - 4) {
            errno = 0;
            die("reply too large");
        }
        if (s->in_len - off - 4 < fl)
            break;
        on_frame(s, s->in + off + 4, fl);
        off += 4 + fl;
    }
    memmove(s->in, s->in + off, s->in_len - off);
    s->in_len -= off;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void run_phase(int ph, double seconds)
{
    phase = ph;
    nlat = 0;
    int errs0 = errors_;
    for (int i = 0; i < nsess; i++)
        S[i].next = 0;
    int64_t t0 = now_us(), until = t0 + (int64_t)(seconds * 1e6);
    int stopping = 0;
    for (int i = 0; i < nsess; i++)
        for (int w = 0; w < window; w++)
            start_op(&S[i]);
    for (;;) {
        int busy = 0;
        for (int i = 0; i < nsess; i++)
            busy += S[i].inflight;
        if (!busy && (stopping || ph == OP_DELETE))
            break;
        struct epoll_event ev[64];
        int n = epoll_wait(ep, ev, 64, 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        if (ph != OP_DELETE && now_us() >= until)
            stopping = 1;
        for (int j = 0; j < n; j++) {
            struct sess *s = &S[ev[j].data.u32];
            on_readable(s);
            while (!stopping && s->inflight < window && start_op(s))
                ;
        }
    }
    double secs = (now_us() - t0) / 1e6;
    qsort(lat, (size_t)nlat, sizeof *lat, cmp_u32);
#define PCT(q) (nlat ? lat[(long)((nlat - 1) * (q))] : 0)
    printf("op=%s sessions=%d value=%d ops=%ld secs=%.3f ops_per_s=%.1f p50_us=%u p99_us=%u p999_us=%u errors=%d\n",
           op_name[ph], nsess, value_bytes, nlat, secs, nlat / secs, PCT(0.5), PCT(0.99), PCT(0.999),
           errors_ - errs0);
    fflush(stdout);
}

static int dial(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host)
        die("HOST:PORT expected");
    memcpy(host, hostport, colon - hostport);
    host[colon - hostport] = 0;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        die("cannot resolve the host");
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        die("connect");
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* ConnectRequest, then its response, synchronously. */
static void handshake(struct sess *s)
{
    struct buf b = { .n = 4 };
    uint8_t passwd[16] = { 0 };
    b32(&b, 0);                /* protocol version */
    b64(&b, 0);                /* last zxid seen */
    b32(&b, 30000);            /* session timeout */
    b64(&b, 0);                /* session id */
    bbytes(&b, passwd, 16);
    b.p[b.n++] = 0;            /* read-only */
    send_frame(s, &b);
    uint8_t h[4];
    size_t got = 0;
    while (got < 4) {
        ssize_t r = read(s->fd, h + got, 4 - got);
        if (r <= 0)
            die("connect response");
        got += (size_t)r;
    }
    uint32_t n = g32(h);
    uint8_t resp[256];
    if (n > sizeof resp || n < 16)
        die("bad connect response");
    for (got = 0; got < n;) {
        ssize_t r = read(s->fd, resp + got, n - got);
        if (r <= 0)
            die("connect response");
        got += (size_t)r;
    }
    if ((int32_t)g32(resp + 4) <= 0) {
        errno = 0;
        die("session refused");
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: zkload HOST:PORT SESSIONS VALUE_BYTES SECONDS [WINDOW]\n");
        return 2;
    }
    nsess = atoi(argv[2]);
    value_bytes = atoi(argv[3]);
    double seconds = atof(argv[4]);
    window = argc > 5 ? atoi(argv[5]) : 1;
    if (nsess < 1 || value_bytes < 0 || value_bytes > 16384 || seconds <= 0 || window < 1)
        return 2;
    value = calloc(1, (size_t)value_bytes + 1);
    memset(value, 'v', (size_t)value_bytes);
    snprintf(base, sizeof base, "/zkload-%d-%ld", (int)getpid(), (long)time(NULL));
    S = calloc((size_t)nsess, sizeof *S);
    ep = epoll_create1(0);
    for (int i = 0; i < nsess; i++) {
        struct sess *s = &S[i];
        s->id = i;
        s->fd = dial(argv[1]);
        s->cap = 4 * window + 4;
        s->fifo = calloc((size_t)s->cap, sizeof *s->fifo);
        handshake(s);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
            die("epoll_ctl");
    }
    /* the parent znode, by session 0, synchronously through the loop */
    {
        struct buf b = { .n = 4 };
        b32(&b, (uint32_t)xid_ctr++);
        b32(&b, ZK_CREATE);
        bstr(&b, base);
        bbytes(&b, "", 0);
        b32(&b, 1);
        b32(&b, 31);
        bstr(&b, "world");
        bstr(&b, "anyone");
        b32(&b, 0);
        send_frame(&S[0], &b);
        push(&S[0], now_us(), R_UNTIMED);
        while (S[0].head != S[0].tail) {
            struct epoll_event ev;
            if (epoll_wait(ep, &ev, 1, 10000) == 1)
                on_readable(&S[ev.data.u32]);
            else
                die("no answer to creating the parent znode");
        }
        if (errors_)
            return 1;
    }
    run_phase(OP_CREATE, seconds);
    for (int i = 0; i < nsess; i++)
        S[i].watch_t = calloc((size_t)S[i].created + 1, sizeof *S[i].watch_t);
    run_phase(OP_GET, seconds);
    run_phase(OP_SET, seconds);
    run_phase(OP_WATCH, seconds);
    run_phase(OP_DELETE, seconds);
    return errors_ ? 1 : 0;
}
