/* rdlat — end-to-end latency at a fixed rate, and throughput, on librdkafka.
 *
 *   rdlat BOOTSTRAP TOPIC RATE SECONDS [VALUE_BYTES [ACKS [LINGER_MS]]]
 *
 * One producer sends RATE records per second (VALUE_BYTES each, default 1024;
 * acks ACKS, default all) to TOPIC for SECONDS, round robin over all of its
 * partitions (the count from a metadata request; each record is sent to an
 * explicit partition); one consumer in the same process, assigned every
 * partition from its end before the first send, receives them. Each record
 * carries its send time (CLOCK_MONOTONIC); latency is receive time minus send
 * time, so it includes the producer's batching (librdkafka's default
 * linger.ms of 5 ms, or LINGER_MS), the broker, and the consumer's fetch wait. Delivery
 * errors are reported on stderr. Prints one line:
 *   sent=25000 received=25000 rate=5000.0 p50_us=... p99_us=... p999_us=... max_us=... ack_p50_us=... ack_p99_us=... errors=0 partitions=8
 * (ack_*: send to delivery report; errors: failed deliveries.)
 *
 *   rdlat --throughput BOOTSTRAP TOPIC RECORDS [VALUE_BYTES [ACKS]]
 *
 * Throughput instead: one producer sends RECORDS records as fast as
 * librdkafka takes them (default partitioner over all of TOPIC's partitions,
 * librdkafka's default batching) and waits for every acknowledgement; then a
 * consumer assigned every partition from the beginning fetches them all back.
 * Prints one line:
 *   produced=... produce_rps=... produce_mbps=... fetched=... fetch_rps=... fetch_mbps=... errors=...
 * (MB = 10^6 bytes of record values.)
 *
 *   rdlat --pingpong BOOTSTRAP TOPIC RECORDS
 *
 * The latency mode with one record in flight: each record is sent once the
 * one before came back, round robin over the partitions, RECORDS in all.
 * The broker then sees the same requests on every run (one produce, one
 * woken fetch per record), which is what bench/run's instruction counts
 * need. Prints the latency mode's line.
 *
 *   rdlat --fanout BOOTSTRAP TOPIC GROUPS SECONDS
 *
 * Fetch fan-out over an existing, filled TOPIC: GROUPS consumer threads, each
 * its own rd_kafka_t in its own consumer group (group.id fanout-<pid>-<i>),
 * subscribed to TOPIC with auto.offset.reset=earliest (auto commit left on)
 * and enable.partition.eof=true, and fetch.wait.max.ms=0 (the default long
 * poll of 500 ms would stall every pass over the topic, twice). Each reads;
 * whenever it has reached the end of every partition assigned to it, it
 * seeks them all back to offset 0 and reads on. The measured window starts
 * when every consumer has had its first record and lasts SECONDS; only
 * records received inside it are counted. Prints one line:
 *   groups=8 fetched=... secs=... fetch_rps=... fetch_mbps=... join_ms=... errors=...
 * (MB = 10^6 bytes of record values; join_ms: from the start until every
 * consumer had its first record; errors: consumer and seek errors.) Exits 1
 * if a consumer gets no record within 60 s.
 *
 * Built by bench/run: cc -O2 -Wall -o rdlat rdlat.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t *e2e, *ack;
static int pingpong; /* --pingpong: the next record only once the last came back */
static atomic_long n_e2e, n_ack, n_err;
static long total;

/* Reports an error on stderr, the first 100 of a kind only (the counts go in
   the output line). */
static void report(atomic_long *shown, const char *what, rd_kafka_resp_err_t err, int32_t partition)
{
    long k = atomic_fetch_add(shown, 1);
    if (k < 100)
        fprintf(stderr, "rdlat: %s error, partition %d: %s\n", what, (int)partition, rd_kafka_err2str(err));
    else if (k == 100)
        fprintf(stderr, "rdlat: further %s errors not shown\n", what);
}

static atomic_long n_dr_shown, n_cons_shown;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk; (void)opaque;
    if (m->err) {
        atomic_fetch_add(&n_err, 1);
        report(&n_dr_shown, "delivery", m->err, m->partition);
        return;
    }
    int64_t t0;
    memcpy(&t0, m->payload, sizeof t0);
    if (t0 == 0)
        return; /* warm-up */
    long i = atomic_fetch_add(&n_ack, 1);
    if (i < total)
        ack[i] = (uint32_t)((now_ns() - t0) / 1000);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t pct(uint32_t *v, long n, double p)
{
    return n ? v[(long)((double)(n - 1) * p)] : 0;
}

static rd_kafka_t *make(rd_kafka_type_t type, rd_kafka_conf_t *c)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rdlat: %s\n", err);
        exit(1);
    }
    return rk;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "rdlat: %s=%s: %s\n", k, v, err);
        exit(1);
    }
}

static atomic_long n_delivered;

static void dr_count_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk; (void)opaque;
    atomic_fetch_add(m->err ? &n_err : &n_delivered, 1);
}

/* The partitions of TOPIC, from a metadata request (the topic must exist),
   each with start offset OFFSET. */
static rd_kafka_topic_partition_list_t *all_partitions(rd_kafka_t *rk, const char *topic, int64_t offset)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "rdlat: no metadata for %s\n", topic);
        exit(1);
    }
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(tp, topic, md->topics[0].partitions[i].id)->offset = offset;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return tp;
}

static int throughput(const char *bootstrap, const char *topic, long records, int vbytes, const char *acks)
{
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", bootstrap);
    set(pc, "acks", acks);
    set(pc, "queue.buffering.max.messages", "1000000");
    rd_kafka_conf_set_dr_msg_cb(pc, dr_count_cb);
    rd_kafka_t *prod = make(RD_KAFKA_PRODUCER, pc);
    char *buf = malloc(vbytes);
    memset(buf, 'x', vbytes);
    int64_t t0 = now_ns();
    for (long i = 0; i < records;) {
        if (rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, vbytes),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == 0)
            i++;
        else
            rd_kafka_poll(prod, 5); /* queue full: let deliveries drain it */
    }
    rd_kafka_flush(prod, 120000);
    double psecs = (now_ns() - t0) / 1e9;
    long produced = atomic_load(&n_delivered);
    rd_kafka_destroy(prod);

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", bootstrap);
    set(cc, "group.id", "rdlat-throughput");
    set(cc, "enable.auto.commit", "false");
    rd_kafka_t *cons = make(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *tp = all_partitions(cons, topic, RD_KAFKA_OFFSET_BEGINNING);
    rd_kafka_assign(cons, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    long fetched = 0, bytes = 0;
    int64_t f0 = 0, deadline = now_ns() + 120000000000LL;
    while (fetched < produced && now_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (!m)
            continue;
        if (!m->err) {
            if (!fetched)
                f0 = now_ns(); /* from the first record: excludes connection set-up */
            fetched++;
            bytes += (long)m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double fsecs = f0 ? (now_ns() - f0) / 1e9 : 1;
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    free(buf);
    printf("produced=%ld produce_rps=%.0f produce_mbps=%.1f fetched=%ld fetch_rps=%.0f fetch_mbps=%.1f errors=%ld\n",
           produced, produced / psecs, produced * (double)vbytes / psecs / 1e6, fetched, fetched / fsecs,
           bytes / fsecs / 1e6, atomic_load(&n_err));
    return produced == records && fetched == produced ? 0 : 1;
}

/* --fanout: GROUPS consumers, one consumer group each, reading TOPIC over and
   over. */
struct fan {
    pthread_t th;
    int id;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *asg; /* the current assignment */
    char *eof;                            /* per element of asg: at its end */
    int got_first;
    int at_end;                           /* every assigned partition at its end */
    long pass;                            /* records since the last rewind */
    int64_t rewound;                      /* when */
    long fetched, bytes, errors;
};

static int fan_groups;
static int64_t fan_t0, fan_window_ns;
static atomic_int fan_joined;       /* consumers that have had a record */
static atomic_llong fan_start;      /* window start (ns), 0 until all joined */

static void fan_refresh(struct fan *f)
{
    if (f->asg)
        rd_kafka_topic_partition_list_destroy(f->asg);
    f->asg = NULL;
    if (rd_kafka_assignment(f->rk, &f->asg) || !f->asg)
        f->asg = rd_kafka_topic_partition_list_new(0);
    free(f->eof);
    f->eof = calloc(f->asg->cnt + 1, 1);
    f->at_end = 0;
}

static void fan_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                          void *opaque)
{
    struct fan *f = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else
            rd_kafka_assign(rk, parts);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            fprintf(stderr, "rdlat: consumer %d: rebalance: %s\n", f->id, rd_kafka_err2str(err));
            f->errors++;
        }
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else
            rd_kafka_assign(rk, NULL);
    }
    fan_refresh(f);
}

static int fan_index(struct fan *f, int32_t partition)
{
    for (int i = 0; i < f->asg->cnt; i++)
        if (f->asg->elems[i].partition == partition)
            return i;
    return -1;
}

/* Every assigned partition at its end: all back to offset 0. The seek waits
   until the fetcher has taken it (a local operation, no request), so that no
   record fetched before it is delivered after it; with no time limit, as
   librdkafka before 2.1.0 takes the limit for microseconds (librdkafka
   pull request 4230): 10000 would time out after 10 ms. */
static void fan_rewind(struct fan *f)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(f->asg);
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = 0;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(f->rk, l, -1);
    if (e) {
        fprintf(stderr, "rdlat: consumer %d: seek: %s\n", f->id, rd_kafka_error_string(e));
        f->errors++;
        rd_kafka_error_destroy(e);
    } else
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].err) {
                fprintf(stderr, "rdlat: consumer %d: seek partition %d: %s\n", f->id,
                        (int)l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
                f->errors++;
            }
    rd_kafka_topic_partition_list_destroy(l);
    memset(f->eof, 0, f->asg->cnt);
}

/* Rewinds when at the end, but after a pass that found no record (an empty
   topic) not again within 100 ms: no seek storm while waiting for records. */
static void fan_maybe_rewind(struct fan *f)
{
    if (!f->at_end)
        return;
    int64_t now = now_ns();
    if (f->pass == 0 && now - f->rewound < 100000000)
        return;
    fan_rewind(f);
    f->at_end = 0;
    f->pass = 0;
    f->rewound = now;
}

static void *fan_run(void *arg)
{
    struct fan *f = arg;
    for (;;) {
        int64_t now = now_ns(), start = atomic_load(&fan_start);
        if (start && now >= start + fan_window_ns)
            break;
        if (!f->got_first && now - fan_t0 > 60000000000LL) {
            fprintf(stderr, "rdlat: consumer %d got no record within 60 s\n", f->id);
            exit(1);
        }
        fan_maybe_rewind(f);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, f->at_end ? 10 : 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            int i = fan_index(f, m->partition);
            if (i >= 0)
                f->eof[i] = 1;
            int all = f->asg->cnt > 0;
            for (int k = 0; k < f->asg->cnt; k++)
                all &= f->eof[k];
            if (all) {
                f->at_end = 1;
                fan_maybe_rewind(f);
            }
        } else if (m->err) {
            if (f->errors++ < 100)
                fprintf(stderr, "rdlat: consumer %d: %s\n", f->id, rd_kafka_message_errstr(m));
        } else {
            int64_t t = now_ns();
            if (!f->got_first) {
                f->got_first = 1;
                if (atomic_fetch_add(&fan_joined, 1) + 1 == fan_groups)
                    atomic_store(&fan_start, t);
            }
            start = atomic_load(&fan_start);
            if (start && t < start + fan_window_ns) {
                f->fetched++;
                f->bytes += (long)m->len;
            }
            f->pass++;
            f->at_end = 0;
            int i = fan_index(f, m->partition);
            if (i >= 0)
                f->eof[i] = 0;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(f->rk);
    rd_kafka_destroy(f->rk);
    return NULL;
}

static int fanout(const char *bootstrap, const char *topic, int groups, double secs)
{
    if (groups < 1 || secs <= 0) {
        fprintf(stderr, "rdlat: bad arguments\n");
        return 2;
    }
    fan_groups = groups;
    fan_window_ns = (int64_t)(secs * 1e9);
    fan_t0 = now_ns();
    struct fan *fs = calloc(groups, sizeof *fs);
    for (int i = 0; i < groups; i++) {
        struct fan *f = &fs[i];
        char gid[64];
        f->id = i;
        snprintf(gid, sizeof gid, "fanout-%d-%d", (int)getpid(), i);
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        set(c, "bootstrap.servers", bootstrap);
        set(c, "group.id", gid);
        set(c, "auto.offset.reset", "earliest");
        set(c, "enable.partition.eof", "true");
        /* No long poll at the end of the partitions: with librdkafka's
           default of 500 ms, every pass over the topic would wait twice for
           it (the fetch that reports the end, then the one in flight when
           the seek is made), and a small topic would measure the wait. */
        set(c, "fetch.wait.max.ms", "0");
        rd_kafka_conf_set_rebalance_cb(c, fan_rebalance);
        rd_kafka_conf_set_opaque(c, f);
        f->rk = make(RD_KAFKA_CONSUMER, c);
        rd_kafka_poll_set_consumer(f->rk);
        f->asg = rd_kafka_topic_partition_list_new(0);
        f->eof = calloc(1, 1);
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(f->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
            fprintf(stderr, "rdlat: subscribe: %s\n", rd_kafka_err2str(err));
            return 1;
        }
    }
    for (int i = 0; i < groups; i++)
        if (pthread_create(&fs[i].th, NULL, fan_run, &fs[i])) {
            fprintf(stderr, "rdlat: pthread_create failed\n");
            return 1;
        }
    long fetched = 0, bytes = 0, errors = 0;
    for (int i = 0; i < groups; i++) {
        pthread_join(fs[i].th, NULL);
        fetched += fs[i].fetched;
        bytes += fs[i].bytes;
        errors += fs[i].errors;
        rd_kafka_topic_partition_list_destroy(fs[i].asg);
        free(fs[i].eof);
    }
    free(fs);
    double wsecs = fan_window_ns / 1e9;
    printf("groups=%d fetched=%ld secs=%.3f fetch_rps=%.0f fetch_mbps=%.1f join_ms=%.0f errors=%ld\n", groups,
           fetched, wsecs, fetched / wsecs, bytes / wsecs / 1e6, (atomic_load(&fan_start) - fan_t0) / 1e6, errors);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "--fanout") == 0)
        return fanout(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
    if (argc >= 5 && strcmp(argv[1], "--throughput") == 0)
        return throughput(argv[2], argv[3], atol(argv[4]), argc > 5 ? atoi(argv[5]) : 1024,
                          argc > 6 ? argv[6] : "all");
    char *pp[6];
    long pp_records = 0;
    if (argc == 5 && strcmp(argv[1], "--pingpong") == 0) {
        /* the latency mode with one record in flight: RECORDS records, the
           same requests on every run (for instruction counts) */
        pingpong = 1;
        pp_records = atol(argv[4]);
        pp[0] = argv[0], pp[1] = argv[2], pp[2] = argv[3], pp[3] = "1", pp[4] = "1", pp[5] = NULL;
        argv = pp;
        argc = 5;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: rdlat BOOTSTRAP TOPIC RATE SECONDS [VALUE_BYTES [ACKS [LINGER_MS]]]\n"
                        "       rdlat --pingpong BOOTSTRAP TOPIC RECORDS\n"
                        "       rdlat --throughput BOOTSTRAP TOPIC RECORDS [VALUE_BYTES [ACKS]]\n"
                        "       rdlat --fanout BOOTSTRAP TOPIC GROUPS SECONDS\n");
        return 2;
    }
    const char *bootstrap = argv[1], *topic = argv[2];
    double rate = atof(argv[3]), secs = atof(argv[4]);
    int vbytes = argc > 5 ? atoi(argv[5]) : 1024;
    const char *acks = argc > 6 ? argv[6] : "all";
    const char *linger = argc > 7 ? argv[7] : NULL;   /* NULL: librdkafka's default */
    if (vbytes < 8)
        vbytes = 8;
    total = pingpong ? pp_records : (long)(rate * secs);
    e2e = calloc(total + 1, sizeof *e2e);
    ack = calloc(total + 1, sizeof *ack);

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", bootstrap);
    set(cc, "group.id", "rdlat");
    set(cc, "enable.auto.commit", "false");
    set(cc, "fetch.wait.max.ms", "100");
    rd_kafka_t *cons = make(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *tp = all_partitions(cons, topic, RD_KAFKA_OFFSET_END);
    int nparts = tp->cnt;
    int32_t *parts = malloc((nparts + 1) * sizeof *parts);
    for (int i = 0; i < nparts; i++)
        parts[i] = tp->elems[i].partition;
    if (nparts < 1 || rd_kafka_assign(cons, tp)) {
        fprintf(stderr, "rdlat: assign failed\n");
        return 1;
    }
    rd_kafka_topic_partition_list_destroy(tp);

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", bootstrap);
    set(pc, "acks", acks);
    if (linger)
        set(pc, "linger.ms", linger);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_t *prod = make(RD_KAFKA_PRODUCER, pc);

    /* Warm-up, not measured: the producer learns the topic's leader (records
       with send time 0, acknowledged before the measurement starts), and the
       consumer resolves its start offsets and sees them go by: at least one
       to every partition. */
    char *buf = calloc(1, vbytes);
    memset(buf, 'x', vbytes);
    int64_t zero = 0;
    memcpy(buf, &zero, sizeof zero);
    for (int i = 0; i < (nparts > 10 ? nparts : 10); i++)
        rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(parts[i % nparts]),
                          RD_KAFKA_V_VALUE(buf, vbytes),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(prod, 30000);
    int64_t until = now_ns() + 2000000000LL;
    while (now_ns() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 50);
        if (m)
            rd_kafka_message_destroy(m);
        rd_kafka_poll(prod, 0);
    }
    int64_t start = now_ns();
    double interval = 1e9 / rate;
    long sent = 0;
    while (sent < total || atomic_load(&n_e2e) < sent) {
        int64_t t = now_ns();
        while (sent < total && (pingpong ? atomic_load(&n_e2e) >= sent
                                         : t >= start + (int64_t)(sent * interval))) {
            int64_t ts = now_ns();
            memcpy(buf, &ts, sizeof ts);
            rd_kafka_resp_err_t err = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic),
                                                        RD_KAFKA_V_PARTITION(parts[sent % nparts]),
                                                        RD_KAFKA_V_VALUE(buf, vbytes),
                                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err) {
                rd_kafka_poll(prod, 10);
                break;
            }
            sent++;
        }
        rd_kafka_poll(prod, 0);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 1);
        if (m) {
            int64_t ts = 0;
            if (m->err)
                report(&n_cons_shown, "consumer", m->err, m->partition);
            else if (m->len >= 8)
                memcpy(&ts, m->payload, sizeof ts);
            if (ts != 0) {
                long i = atomic_fetch_add(&n_e2e, 1);
                if (i < total)
                    e2e[i] = (uint32_t)((now_ns() - ts) / 1000);
            }
            rd_kafka_message_destroy(m);
        }
        if (now_ns() - start > (int64_t)((secs + 30) * 1e9)) {
            fprintf(stderr, "rdlat: timed out with %ld of %ld received\n", atomic_load(&n_e2e), sent);
            break;
        }
    }
    double elapsed = (now_ns() - start) / 1e9;
    rd_kafka_flush(prod, 10000);
    long ne = atomic_load(&n_e2e), na = atomic_load(&n_ack);
    if (ne > total)
        ne = total;
    if (na > total)
        na = total;
    qsort(e2e, ne, sizeof *e2e, cmp_u32);
    qsort(ack, na, sizeof *ack, cmp_u32);
    printf("sent=%ld received=%ld rate=%.1f p50_us=%u p99_us=%u p999_us=%u max_us=%u ack_p50_us=%u ack_p99_us=%u errors=%ld partitions=%d\n",
           sent, ne, sent / (elapsed > secs ? secs : elapsed), pct(e2e, ne, 0.5), pct(e2e, ne, 0.99),
           pct(e2e, ne, 0.999), ne ? e2e[ne - 1] : 0, pct(ack, na, 0.5), pct(ack, na, 0.99), atomic_load(&n_err),
           nparts);
    free(parts);
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    return ne == sent && sent == total ? 0 : 1;
}
