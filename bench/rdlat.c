/* rdlat — end-to-end latency at a fixed rate, on librdkafka.
 *
 *   rdlat BOOTSTRAP TOPIC RATE SECONDS [VALUE_BYTES [ACKS]]
 *
 * One producer sends RATE records per second (VALUE_BYTES each, default 1024;
 * acks ACKS, default all) to partition 0 of TOPIC for SECONDS; one consumer in
 * the same process, assigned to partition 0 from its end before the first
 * send, receives them. Each record carries its send time (CLOCK_MONOTONIC);
 * latency is receive time minus send time, so it includes the producer's
 * batching (librdkafka's default linger.ms of 5 ms), the broker, and the
 * consumer's fetch wait. Prints one line:
 *   sent=25000 received=25000 rate=5000.0 p50_us=... p99_us=... p999_us=... max_us=... ack_p99_us=...
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
 * Built by bench/run: cc -O2 -o rdlat rdlat.c -lrdkafka
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
static atomic_long n_e2e, n_ack, n_err;
static long total;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk; (void)opaque;
    if (m->err) {
        atomic_fetch_add(&n_err, 1);
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

/* The partitions of TOPIC, from a metadata request (the topic must exist). */
static rd_kafka_topic_partition_list_t *all_partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "rdlat: no metadata for %s\n", topic);
        exit(1);
    }
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(tp, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
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
    rd_kafka_topic_partition_list_t *tp = all_partitions(cons, topic);
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

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "--throughput") == 0)
        return throughput(argv[2], argv[3], atol(argv[4]), argc > 5 ? atoi(argv[5]) : 1024,
                          argc > 6 ? argv[6] : "all");
    if (argc < 5) {
        fprintf(stderr, "usage: rdlat BOOTSTRAP TOPIC RATE SECONDS [VALUE_BYTES [ACKS]]\n"
                        "       rdlat --throughput BOOTSTRAP TOPIC RECORDS [VALUE_BYTES [ACKS]]\n");
        return 2;
    }
    const char *bootstrap = argv[1], *topic = argv[2];
    double rate = atof(argv[3]), secs = atof(argv[4]);
    int vbytes = argc > 5 ? atoi(argv[5]) : 1024;
    const char *acks = argc > 6 ? argv[6] : "all";
    if (vbytes < 8)
        vbytes = 8;
    total = (long)(rate * secs);
    e2e = calloc(total + 1, sizeof *e2e);
    ack = calloc(total + 1, sizeof *ack);

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", bootstrap);
    set(cc, "group.id", "rdlat");
    set(cc, "enable.auto.commit", "false");
    set(cc, "fetch.wait.max.ms", "100");
    rd_kafka_t *cons = make(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, 0)->offset = RD_KAFKA_OFFSET_END;
    if (rd_kafka_assign(cons, tp)) {
        fprintf(stderr, "rdlat: assign failed\n");
        return 1;
    }
    rd_kafka_topic_partition_list_destroy(tp);

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", bootstrap);
    set(pc, "acks", acks);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_t *prod = make(RD_KAFKA_PRODUCER, pc);

    /* Warm-up, not measured: the producer learns the topic's leader (records
       with send time 0, acknowledged before the measurement starts), and the
       consumer resolves its start offset and sees them go by. */
    char *buf = calloc(1, vbytes);
    memset(buf, 'x', vbytes);
    int64_t zero = 0;
    memcpy(buf, &zero, sizeof zero);
    for (int i = 0; i < 10; i++)
        rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(buf, vbytes),
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
        while (sent < total && t >= start + (int64_t)(sent * interval)) {
            int64_t ts = now_ns();
            memcpy(buf, &ts, sizeof ts);
            rd_kafka_resp_err_t err = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
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
            if (!m->err && m->len >= 8)
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
    printf("sent=%ld received=%ld rate=%.1f p50_us=%u p99_us=%u p999_us=%u max_us=%u ack_p50_us=%u ack_p99_us=%u errors=%ld\n",
           sent, ne, sent / (elapsed > secs ? secs : elapsed), pct(e2e, ne, 0.5), pct(e2e, ne, 0.99),
           pct(e2e, ne, 0.999), ne ? e2e[ne - 1] : 0, pct(ack, na, 0.5), pct(ack, na, 0.99), atomic_load(&n_err));
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    return ne == sent && sent == total ? 0 : 1;
}
