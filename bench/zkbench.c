/* zkbench — a small load generator on the ZooKeeper C client (libzookeeper-mt).
 *
 *   zkbench HOST:PORT SESSIONS VALUE_BYTES SECONDS [WINDOW]
 *
 * Opens SESSIONS sessions, then runs four phases in turn, each timed:
 *   create  for SECONDS, every session creating /zkbench-<run>/s<i>-<n> (n = 0, 1, ...)
 *   get     for SECONDS, reading back the znodes it created (round robin)
 *   set     for SECONDS, overwriting them with a new value of VALUE_BYTES
 *   watch   for SECONDS, each op a getData with a watch on one of them, then
 *           a setData of it; the op completes when the NodeDataChanged
 *           notification arrives (latency: getData submit to notification)
 *   delete  until every znode created in the first phase is gone
 * Each session keeps WINDOW asynchronous requests in flight (default 1: a
 * closed loop, one request per session at a time; ZooKeeper pipelines the
 * requests of one session in order). Every request's latency (submit to
 * completion callback) is recorded; each phase prints one line:
 *   op=create sessions=8 value=100 ops=12345 secs=2.001 ops_per_s=6169.4 p50_us=1200 p99_us=3400 p999_us=5100 errors=0
 *
 *   zkbench --ops HOST:PORT SESSIONS VALUE_BYTES OPS [WINDOW]
 *
 * The same phases and output lines, but each of create, get, set and watch
 * runs exactly OPS operations in total over all sessions instead of for a
 * time (delete still deletes every znode created). Meant for a server under
 * valgrind (slow, for instruction counts): the session timeout is 30 s (as in
 * the timed form) and the sessions get 120 s to connect instead of 20.
 *
 *   zkbench --fill HOST:PORT SESSIONS VALUE_BYTES COUNT
 *
 * Creates the persistent znode /zkfill-<pid>-<time>, then COUNT persistent
 * znodes under it, /zkfill-<pid>-<time>/n<k> (k = 0 .. COUNT-1), VALUE_BYTES
 * of data each, the sessions pipelining (16 requests in flight per session),
 * and exits leaving them all in place. Prints one line:
 *   filled=10000 path_bytes=... data_bytes=... secs=... errors=0
 * (filled: znodes created under the parent; path_bytes: the sum of the full
 * path lengths of every znode created, the parent's included; data_bytes:
 * the sum of their data; secs: from creating the parent until the last
 * create completed.) Exits 1 if any create failed.
 *
 * Built by bench/run: cc -O2 -Wall -DTHREADED -o zkbench zkbench.c -lzookeeper_mt -lpthread
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

enum { OP_CREATE, OP_GET, OP_SET, OP_WATCH, OP_DELETE, OP_N };
static const char *op_name[OP_N] = {"create", "get", "set", "watch", "delete"};
#define READS_BACK(ph) ((ph) == OP_GET || (ph) == OP_SET || (ph) == OP_WATCH)

struct sess {
    int id;
    zhandle_t *zh;
    atomic_int connected;
    pthread_mutex_t mu;      /* completions of one handle run on one thread; the
                                main thread only touches state before/after a phase */
    long created;            /* znodes created in the create phase */
    long path_bytes;         /* --fill: sum of the lengths of their paths */
    long next;               /* next index to issue in the current phase */
    int inflight;
    int done;
    uint32_t *lat;           /* latencies (us) of the current phase */
    size_t nlat, caplat;
    long errors;
};

struct req {
    struct sess *s;
    int64_t t0;
    long idx;
    char path[128];
};

static int nsess, vbytes, window = 1;
static double seconds;
static long ops_total;       /* --ops and --fill: ops per phase, over all sessions */
static int fill;             /* --fill */
static atomic_long issued;   /* --ops and --fill: ops issued in this phase */
static char *value;
static char root[64];
static atomic_int phase = -1;
static int64_t deadline_ns;
static atomic_int sessions_done;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void path_of(char *buf, size_t n, int sid, long idx)
{
    snprintf(buf, n, "%s/s%d-%ld", root, sid, idx);
}

static void issue(struct sess *s);

static void finish(struct req *r, int rc)
{
    struct sess *s = r->s;
    int64_t t1 = now_ns();
    pthread_mutex_lock(&s->mu);
    if (rc != ZOK)
        s->errors++;
    else if (atomic_load(&phase) == OP_CREATE) {
        s->created++;
        s->path_bytes += (long)strlen(r->path);
    }
    if (s->nlat == s->caplat) {
        s->caplat = s->caplat ? s->caplat * 2 : 4096;
        s->lat = realloc(s->lat, s->caplat * sizeof *s->lat);
        if (!s->lat) {
            perror("realloc");
            exit(1);
        }
    }
    s->lat[s->nlat++] = (uint32_t)((t1 - r->t0) / 1000);
    s->inflight--;
    free(r);
    issue(s); /* with s->mu held */
    pthread_mutex_unlock(&s->mu);
}

static void string_done(int rc, const char *v, const void *d) { (void)v; finish((struct req *)d, rc); }
static void data_done(int rc, const char *v, int l, const struct Stat *st, const void *d)
{
    (void)v; (void)l; (void)st;
    finish((struct req *)d, rc);
}
static void stat_done(int rc, const struct Stat *st, const void *d) { (void)st; finish((struct req *)d, rc); }
static void void_done(int rc, const void *d) { finish((struct req *)d, rc); }

/* The watch phase: the notification completes the op. */
static void watch_fired(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)state; (void)path;
    finish((struct req *)ctx, type == ZOO_CHANGED_EVENT ? ZOK : ZSYSTEMERROR);
}
static void watch_set_done(int rc, const struct Stat *st, const void *d)
{
    (void)st;
    if (rc != ZOK) /* no change, so no notification: the op ends here */
        finish((struct req *)d, rc);
}
static void watch_get_done(int rc, const char *v, int l, const struct Stat *st, const void *d)
{
    (void)v; (void)l; (void)st;
    struct req *r = (struct req *)d;
    if (rc != ZOK) {
        finish(r, rc);
        return;
    }
    int src = zoo_aset(r->s->zh, r->path, value, vbytes, -1, watch_set_done, r);
    if (src != ZOK) {
        fprintf(stderr, "zkbench: session %d: submit set (watch): %s\n", r->s->id, zerror(src));
        exit(1);
    }
}

/* Issue requests until the window is full or the phase is over; s->mu held. */
static void issue(struct sess *s)
{
    int ph = atomic_load(&phase);
    while (!s->done && s->inflight < window) {
        int over;
        long k = 0; /* --ops and --fill: the op's number in the phase */
        if (ph == OP_DELETE)
            over = s->next >= s->created;
        else if (READS_BACK(ph) && s->created == 0)
            over = 1;
        else if (ops_total > 0) /* takes one of the phase's ops if not over */
            over = (k = atomic_fetch_add(&issued, 1)) >= ops_total;
        else
            over = now_ns() >= deadline_ns;
        if (over) {
            if (s->inflight == 0) {
                s->done = 1;
                pthread_mutex_lock(&done_mu);
                atomic_fetch_add(&sessions_done, 1);
                pthread_cond_signal(&done_cv);
                pthread_mutex_unlock(&done_mu);
            }
            return;
        }
        struct req *r = malloc(sizeof *r);
        char *path = r->path;
        r->s = s;
        r->idx = READS_BACK(ph) ? s->next % s->created : s->next;
        s->next++;
        if (fill)
            snprintf(path, sizeof r->path, "%s/n%ld", root, k);
        else
            path_of(path, sizeof r->path, s->id, r->idx);
        s->inflight++;
        r->t0 = now_ns();
        int rc;
        switch (ph) {
        case OP_CREATE:
            rc = zoo_acreate(s->zh, path, value, vbytes, &ZOO_OPEN_ACL_UNSAFE, 0, string_done, r);
            break;
        case OP_GET:
            rc = zoo_aget(s->zh, path, 0, data_done, r);
            break;
        case OP_SET:
            rc = zoo_aset(s->zh, path, value, vbytes, -1, stat_done, r);
            break;
        case OP_WATCH:
            rc = zoo_awget(s->zh, path, watch_fired, r, watch_get_done, r);
            break;
        default:
            rc = zoo_adelete(s->zh, path, -1, void_done, r);
            break;
        }
        if (rc != ZOK) {
            fprintf(stderr, "zkbench: session %d: submit %s: %s\n", s->id, op_name[ph], zerror(rc));
            exit(1);
        }
    }
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)path;
    struct sess *s = ctx;
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE)
            atomic_store(&s->connected, 1);
        else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
            fprintf(stderr, "zkbench: session %d lost (state %d)\n", s->id, state);
            exit(1);
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Runs phase PH on every session until all are done; returns its seconds. */
static double run_phase(struct sess *ss, int ph)
{
    for (int i = 0; i < nsess; i++) {
        ss[i].next = 0;
        ss[i].done = 0;
        ss[i].nlat = 0;
        ss[i].errors = 0;
    }
    atomic_store(&sessions_done, 0);
    atomic_store(&issued, 0);
    atomic_store(&phase, ph);
    int64_t t0 = now_ns();
    deadline_ns = t0 + (int64_t)(seconds * 1e9);
    for (int i = 0; i < nsess; i++) {
        pthread_mutex_lock(&ss[i].mu);
        issue(&ss[i]);
        pthread_mutex_unlock(&ss[i].mu);
    }
    pthread_mutex_lock(&done_mu);
    while (atomic_load(&sessions_done) < nsess)
        pthread_cond_wait(&done_cv, &done_mu);
    pthread_mutex_unlock(&done_mu);
    return (now_ns() - t0) / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: zkbench HOST:PORT SESSIONS VALUE_BYTES SECONDS [WINDOW]\n"
                    "       zkbench --ops HOST:PORT SESSIONS VALUE_BYTES OPS [WINDOW]\n"
                    "       zkbench --fill HOST:PORT SESSIONS VALUE_BYTES COUNT\n");
    return 2;
}

int main(int argc, char **argv)
{
    int a = 1, ops_mode = 0;
    if (argc > 1 && strcmp(argv[1], "--ops") == 0)
        ops_mode = a = 2;
    else if (argc > 1 && strcmp(argv[1], "--fill") == 0) {
        fill = 1;
        a = 2;
    }
    if (argc < a + 4 || (fill && argc > a + 4))
        return usage();
    const char *hosts = argv[a];
    nsess = atoi(argv[a + 1]);
    vbytes = atoi(argv[a + 2]);
    if (ops_mode || fill)
        ops_total = atol(argv[a + 3]);
    else
        seconds = atof(argv[a + 3]);
    if (argc > a + 4)
        window = atoi(argv[a + 4]);
    if (fill)
        window = 16;
    if (nsess < 1 || vbytes < 0 || window < 1 || ((ops_mode || fill) ? ops_total < 1 : seconds <= 0)) {
        fprintf(stderr, "zkbench: bad arguments\n");
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    value = malloc(vbytes ? vbytes : 1);
    memset(value, 'v', vbytes ? vbytes : 1);
    if (fill)
        snprintf(root, sizeof root, "/zkfill-%d-%ld", (int)getpid(), (long)time(NULL));
    else
        snprintf(root, sizeof root, "/zkbench-%ld-%d", (long)time(NULL), (int)getpid());

    struct sess *ss = calloc(nsess, sizeof *ss);
    for (int i = 0; i < nsess; i++) {
        ss[i].id = i;
        pthread_mutex_init(&ss[i].mu, NULL);
        ss[i].zh = zookeeper_init(hosts, watcher, 30000, NULL, &ss[i], 0);
        if (!ss[i].zh) {
            fprintf(stderr, "zkbench: zookeeper_init: %s\n", strerror(errno));
            return 1;
        }
    }
    int64_t until = now_ns() + (ops_mode ? 120LL : 20LL) * 1000000000;
    for (int i = 0; i < nsess; i++)
        while (!atomic_load(&ss[i].connected)) {
            if (now_ns() > until) {
                fprintf(stderr, "zkbench: session %d did not connect\n", i);
                return 1;
            }
            usleep(1000);
        }
    int64_t fill_t0 = now_ns();
    int rc = zoo_create(ss[0].zh, root, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK) {
        fprintf(stderr, "zkbench: create %s: %s\n", root, zerror(rc));
        return 1;
    }

    if (fill) {
        run_phase(ss, OP_CREATE);
        double secs = (now_ns() - fill_t0) / 1e9;
        long created = 0, path_bytes = (long)strlen(root), errors = 0;
        for (int i = 0; i < nsess; i++) {
            created += ss[i].created;
            path_bytes += ss[i].path_bytes;
            errors += ss[i].errors;
        }
        printf("filled=%ld path_bytes=%ld data_bytes=%ld secs=%.3f errors=%ld\n", created, path_bytes,
               created * (long)vbytes, secs, errors);
        fflush(stdout);
        for (int i = 0; i < nsess; i++)
            zookeeper_close(ss[i].zh);
        return errors ? 1 : 0;
    }

    for (int ph = 0; ph < OP_N; ph++) {
        double secs = run_phase(ss, ph);
        size_t n = 0;
        long errors = 0;
        for (int i = 0; i < nsess; i++) {
            n += ss[i].nlat;
            errors += ss[i].errors;
        }
        uint32_t *all = malloc((n ? n : 1) * sizeof *all);
        size_t k = 0;
        for (int i = 0; i < nsess; i++) {
            memcpy(all + k, ss[i].lat, ss[i].nlat * sizeof *all);
            k += ss[i].nlat;
        }
        qsort(all, n, sizeof *all, cmp_u32);
#define PCT(p) (n ? all[(size_t)((double)(n - 1) * (p))] : 0)
        printf("op=%s sessions=%d value=%d ops=%zu secs=%.3f ops_per_s=%.1f p50_us=%u p99_us=%u p999_us=%u errors=%ld\n",
               op_name[ph], nsess, vbytes, n, secs, n / secs, PCT(0.50), PCT(0.99), PCT(0.999), errors);
        fflush(stdout);
        free(all);
    }
    zoo_delete(ss[0].zh, root, -1);
    for (int i = 0; i < nsess; i++)
        zookeeper_close(ss[i].zh);
    return 0;
}
