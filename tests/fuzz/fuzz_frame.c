/*
 * fuzz_frame.c — libFuzzer target for what the broker does with the bytes of
 * a connection before any API handler: the two-step framing (size prefix
 * checked against the limits, then the frame), the request header (v1, or
 * v2 with tagged fields for flexible versions), the SASL gate and the
 * in-order response queue — all through server.c's own read path, on a
 * connection made with conn_new() over a libevent bufferevent pair instead
 * of a socket.
 *
 * Built twice (tests/fuzz/meson.build):
 *   fuzz_frame  a PLAINTEXT listener;
 *   fuzz_sasl   (-DFUZZ_SASL) a SASL_PLAINTEXT listener with PLAIN and SCRAM:
 *               SaslHandshake v0/v1, SaslAuthenticate v0-v2, the v0 bare-token
 *               flow and the PLAIN token parser run for real; after a login
 *               the same table as fuzz_frame serves the rest.
 *
 * The handler table (server.c dispatches through b.hooks->handler) replaces
 * handlers.c's, so that no handler touches the disk: SaslHandshake and
 * SaslAuthenticate are the real ones; Fetch is decoded and parked (answered
 * later or cancelled by the close, like a delayed Fetch); CreateAcls is
 * decoded and held on the admin-write queue (awrite_*), completed after the
 * input, before or after the connection closed; every other API the codec
 * knows is decoded with the generated decoder and answered at once.
 *
 * Input: byte 0 flags (bit 0: feed in two chunks, split at byte 1; bit 1:
 * answer parked Fetches before the close; bit 2: complete held admin jobs
 * before the close), byte 1 the split point, then the client's bytes.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "kafka_msgs.h"
#include "klog.h"
#include "sasl.h"
#include "sasl_scram.h"
#include "scram_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct broker_config cfg;
static struct broker b;
static char logdir[64];

/* ---------------- the handler table ---------------- */

static void answer(struct kreq *req)
{
    struct kw w;
    kreq_writer(req, &w);
    kw_i16(&w, 0);
    kreq_finish(req, &w);
}

static int decode_body(struct kreq *req)
{
    const struct kp_msg_desc *d = kp_msg_find(req->api_key, false);
    void *m = d ? karena_alloc(&req->arena, d->size) : NULL;
    if (!m || d->decode(&req->body, req->api_version, &req->arena, m) != 0)
        return -1;   /* the real handlers close the connection too */
    return 0;
}

static int h_decode(struct kreq *req)
{
    if (decode_body(req) != 0)
        return -1;
    answer(req);
    return 0;
}

/* Parked requests, as fetch.c parks a Fetch waiting for min_bytes. */
#define MAX_PARKED 128
static struct kreq *parked[MAX_PARKED];
static int nparked;

static void park_cancel(struct kreq *req)
{
    for (int i = 0; i < nparked; i++)
        if (parked[i] == req) {
            parked[i] = parked[--nparked];
            break;
        }
    req->pending = NULL;
    req->cancel = NULL;
}

static int h_park(struct kreq *req)
{
    if (decode_body(req) != 0)
        return -1;
    if (nparked == MAX_PARKED) {
        answer(req);
        return 0;
    }
    parked[nparked++] = req;
    req->pending = req;
    req->cancel = park_cancel;
    return 0;
}

static void answer_parked(void)
{
    while (nparked > 0) {
        struct kreq *req = parked[--nparked];
        req->pending = NULL;
        req->cancel = NULL;
        answer(req);
    }
}

/* Admin jobs held on the queue until the end of the input. The queue runs
 * one job at a time, so at most one has started. */
static struct awrite *job_w;
static void *job_arg;
static int job_args_live;

static void job_start(struct awrite *w, void *arg)
{
    if (job_w)
        abort();   /* two jobs started at once */
    job_w = w;
    job_arg = arg;
}

static void job_drop(struct awrite *w, void *arg)
{
    (void)w;
    free(arg);
    job_args_live--;
}

static int h_hold(struct kreq *req)
{
    if (decode_body(req) != 0)
        return -1;
    int *arg = malloc(sizeof *arg);   /* the job's own memory: freed exactly once */
    if (!arg)
        return -1;
    job_args_live++;
    awrite_submit(req, job_start, job_drop, arg);
    return 0;
}

/* Finish the started job (answering its client if still there); the queue
 * then starts the next one. */
static void complete_jobs(void)
{
    while (job_w) {
        struct awrite *w = job_w;
        job_w = NULL;
        struct kreq *req = awrite_take(w);
        if (req)
            answer(req);
        job_drop(w, job_arg);
        awrite_done(w);
    }
}

#define API_FETCH 1
#define API_SASL_HANDSHAKE 17
#define API_CREATE_ACLS 30
#define API_SASL_AUTHENTICATE 36

static struct khandler table[128];
static int ntable;

const struct khandler *khandler_find(int16_t key)
{
    for (int i = 0; i < ntable; i++)
        if (table[i].key == key)
            return &table[i];
    return NULL;
}

static void build_table(void)
{
    for (size_t i = 0; i < kp_apis_n && ntable < (int)(sizeof table / sizeof table[0]); i++) {
        const struct kp_api_info *a = &kp_apis[i];
        khandler_fn fn = h_decode;
        if (a->key == API_SASL_HANDSHAKE)
            fn = h_sasl_handshake;
        else if (a->key == API_SASL_AUTHENTICATE)
            fn = h_sasl_authenticate;
        else if (a->key == API_FETCH)
            fn = h_park;
        else if (a->key == API_CREATE_ACLS)
            fn = h_hold;
        table[ntable++] = (struct khandler){ a->key, a->min, a->max, fn };
    }
}

/* ---------------- set-up ---------------- */

static void remove_logdir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/kavka-scram-credentials.json", logdir);
    unlink(path);
    rmdir(logdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* FUZZ_VERBOSE=1 shows the broker's log, to check what a seed reaches. */
    klog_set_level(getenv("FUZZ_VERBOSE") ? KLOG_LEVEL_DEBUG : KLOG_LEVEL_ERROR);
    snprintf(logdir, sizeof logdir, "%s/kavka-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(logdir))
        abort();
    atexit(remove_logdir);
    char ld[128];
    snprintf(ld, sizeof ld, "log.dirs=%s", logdir);
    char *ov[] = {
        "listeners=PLAINTEXT://127.0.0.1:19092,SASL_PLAINTEXT://127.0.0.1:19093",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config="
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        "user_alice=\"alice-secret\";",
        "connection.failed.authentication.delay.ms=0",
        "connections.max.reauth.ms=3600000",
        ld,
    };
    char err[512];
    if (broker_config_load(&cfg, NULL, (int)(sizeof ov / sizeof ov[0]), ov, err, sizeof err) != 0 ||
        broker_listeners(&cfg, &b.listeners, &b.nlisteners, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_frame: %s\n", err);
        abort();
    }
    static const struct broker_hooks hooks = {
        .handler = khandler_find, .auth = &sasl_conn_auth, .stopped = NULL };
    b.cfg = &cfg;
    b.hooks = &hooks;
    b.base = event_base_new();
    TAILQ_INIT(&b.conns);
    for (int i = 0; i < b.nlisteners; i++)
        b.listeners[i].b = &b;
    /* A SCRAM user, so that client-first finds a real credential. */
    if (scram_store_open(&b, NULL) != 0)
        abort();
    uint8_t salt[16] = "0123456789abcdef", salted[SCRAM_MAX_HASH];
    for (int m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++) {
        struct scram_cred c;
        if (scram_salted_password(m, "alice-secret", 12, salt, sizeof salt, 4096, salted) != 0 ||
            scram_cred_from_salted(m, salted, scram_hash_len(m), salt, sizeof salt, 4096, &c) != 0 ||
            scram_store_put(&b, "alice", m, &c) != 0)
            abort();
    }
    build_table();
    return 0;
}

/* ---------------- one input ---------------- */

static void drain_peer(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void run_loop(void)
{
    for (int i = 0; i < 8; i++)
        event_base_loop(b.base, EVLOOP_NONBLOCK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    size_t split = (size_t)data[1] * (size - 2) / 255;
    data += 2;
    size -= 2;
#ifdef FUZZ_SASL
    const struct blistener *lst = &b.listeners[1];
#else
    const struct blistener *lst = &b.listeners[0];
#endif
    struct bufferevent *pair[2];
    if (bufferevent_pair_new(b.base, BEV_OPT_CLOSE_ON_FREE, pair) != 0)
        abort();
    struct bufferevent *peer = pair[1];
    bufferevent_setcb(peer, drain_peer, NULL, NULL, NULL);
    bufferevent_enable(peer, EV_READ | EV_WRITE);
    struct conn *c = conn_new(&b, lst, pair[0], "127.0.0.1", 40000);
    if (!c) {
        bufferevent_free(peer);
        return 0;
    }
    /* The client's bytes, as the kernel would hand them over. */
    if (flags & 1) {
        bufferevent_write(peer, data, split);
        run_loop();
        bufferevent_write(peer, data + split, size - split);
    } else {
        bufferevent_write(peer, data, size);
    }
    run_loop();   /* delayed SASL failures, deferred frees */
    if (flags & 2)
        answer_parked();
    if (flags & 4)
        complete_jobs();
    /* The client goes away: everything still held must be let go. */
    bufferevent_flush(peer, EV_WRITE, BEV_FINISHED);   /* EOF on the broker's side */
    bufferevent_free(peer);
    run_loop();
    complete_jobs();
    if (!TAILQ_EMPTY(&b.conns) || nparked != 0) {
        fprintf(stderr, "fuzz_frame: a connection or a parked request outlived the close\n");
        abort();
    }
    if (job_args_live != 0) {
        fprintf(stderr, "fuzz_frame: an admin job was neither dropped nor completed\n");
        abort();
    }
    return 0;
}
