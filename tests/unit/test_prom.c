/*
 * test_prom.c — the Prometheus text format and listener parsing
 * (common/prom.c), latency windows, and the broker's rendering of partition
 * state (broker/metrics.c), including a partition taken offline by a failed
 * fsync.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/buffer.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "fileio.h"
#include "kafka_errors.h"
#include "metrics.h"
#include "prom.h"
#include "record_batch.h"
#include "topics.h"

static char *text(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    evbuffer_copyout(b, s, n);
    s[n] = 0;
    return s;
}

Test(prom, family_and_samples)
{
    struct evbuffer *b = evbuffer_new();
    prom_family(b, "x_total", "counter", "Things counted");
    prom_sample_u64(b, "x_total", NULL, 0, 18446744073709551615ULL);
    struct prom_label l[2] = { { "topic", "a\"b\\c\nd" }, { "partition", "0" } };
    prom_sample_i64(b, "x_total", l, 2, -5);
    prom_sample_dbl(b, "y", NULL, 0, 0.045);
    prom_sample_dbl(b, "y", NULL, 0, 0.1 + 0.2);
    prom_sample_dbl(b, "y", NULL, 0, NAN);
    prom_sample_dbl(b, "y", NULL, 0, INFINITY);
    prom_sample_dbl(b, "y", NULL, 0, -INFINITY);
    char *s = text(b);
    cr_assert_str_eq(s, "# HELP x_total Things counted\n"
                        "# TYPE x_total counter\n"
                        "x_total 18446744073709551615\n"
                        "x_total{topic=\"a\\\"b\\\\c\\nd\",partition=\"0\"} -5\n"
                        "y 0.045\n"
                        "y 0.30000000000000004\n"
                        "y NaN\n"
                        "y +Inf\n"
                        "y -Inf\n");
    free(s);
    evbuffer_free(b);
}

Test(prom, listener_urls)
{
    char host[64], err[200];
    int port = -1;
    cr_assert_eq(prom_parse_listener("http://127.0.0.1:7071", host, sizeof host, &port, err,
                                     sizeof err), 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 7071);
    cr_assert_eq(prom_parse_listener("HTTP://:9404/", host, sizeof host, &port, err, sizeof err), 0);
    cr_assert_str_eq(host, "");
    cr_assert_eq(port, 9404);
    cr_assert_eq(prom_parse_listener("http://[::1]:0", host, sizeof host, &port, err, sizeof err), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 0);
    const char *bad[] = { "127.0.0.1:7071", "https://h:1", "http://h", "http://h:", "http://h:x",
                          "http://h:65536", "http://h:1/metrics", "http://[::1:5", "http://a/b:1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        cr_assert_eq(prom_parse_listener(bad[i], host, sizeof host, &port, err, sizeof err), -1,
                     "%s accepted", bad[i]);
        cr_assert(err[0], "no message for %s", bad[i]);
    }
}

Test(prom, window_quantiles)
{
    static struct prom_window w;
    const double q[] = { 0.5, 0.99, 1.0 };
    double v[3];
    prom_window_quantiles(&w, q, 3, v);
    cr_assert(v[0] == 0 && v[1] == 0, "an empty window is 0");
    for (int i = 100; i >= 1; i--) /* 1..100 us, out of order */
        prom_window_add(&w, (uint64_t)i);
    prom_window_quantiles(&w, q, 3, v);
    cr_assert_float_eq(v[0], 0.0505, 1e-9, "median of 1..100 us: %f ms", v[0]);
    cr_assert_float_eq(v[2], 0.100, 1e-9);
    cr_assert_eq(w.count, 100);
    cr_assert_eq(w.sum_us, 5050);
    /* Only the last PROM_WINDOW observations decide the quantiles. */
    for (int i = 0; i < PROM_WINDOW; i++)
        prom_window_add(&w, 2000);
    prom_window_quantiles(&w, q, 3, v);
    cr_assert_float_eq(v[0], 2.0, 1e-9);
    cr_assert_float_eq(v[1], 2.0, 1e-9);
    cr_assert_eq(w.count, 100 + PROM_WINDOW);
}

/* ---------------- the broker's partition gauges ---------------- */

static char tmpdir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* Fail every fdatasync of partition t-1's files. */
static int fail_t1_sync(enum fio_op op, int fd, const char *path, size_t *len)
{
    (void)len;
    if (op != FIO_OP_SYNC)
        return 0;
    char buf[512] = "";
    if (!path && fd >= 0) {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        path = buf;
    }
    return path && strstr(path, "/t-1/") ? EIO : 0;
}

static void append_one(struct plog *l)
{
    struct kw w;
    kw_init(&w, NULL);
    struct rb_builder rb;
    rb_builder_init(&rb, &w, 0, 1000, 0, -1, -1, -1);
    uint8_t v[] = "value";
    rb_builder_add(&rb, 1000, (struct kbytes){ NULL, -1 }, (struct kbytes){ v, 5 }, NULL, 0);
    cr_assert_eq(rb_builder_finish(&rb), 0);
    cr_assert_eq(plog_append(l, w.buf, w.len, 1000, NULL), KERR_NONE);
    kw_free(&w);
}

Test(broker_metrics, offline_partition_counts_as_offline_and_not_led)
{
    static struct broker_config cfg;
    static struct topics topics;
    static struct broker b;
    char logdirs[128], err[256];
    strcpy(tmpdir, "/tmp/kavka-prom-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    snprintf(logdirs, sizeof logdirs, "log.dirs=%s/logs", tmpdir);
    char *ov[] = { logdirs };
    cr_assert_eq(broker_config_load(&cfg, NULL, 1, ov, err, sizeof err), 0, "%s", err);
    cr_assert_eq(mkdir(cfg.log_dirs, 0755), 0);
    cr_assert_eq(topics_open(&topics, &cfg), 0);
    struct topic *t = NULL;
    cr_assert_eq(topics_create(&topics, kstr_c("t"), 2, 1, NULL, 0, false, &t, err, sizeof err),
                 KERR_NONE, "%s", err);
    append_one(t->parts[0].log);
    append_one(t->parts[1].log);
    b.cfg = &cfg;
    b.topics = &topics;

    struct evbuffer *o = evbuffer_new();
    bm_render(o, &b);
    char *s = text(o);
    cr_assert(strstr(s, "\nkafka_controller_kafkacontroller_offlinepartitionscount 0\n"), "%s", s);
    cr_assert(strstr(s, "\nkafka_server_replicamanager_leadercount 2\n"));
    cr_assert(strstr(s, "kafka_log_log_size{topic=\"t\",partition=\"1\"} "));
    free(s);

    fio_fault_hook = fail_t1_sync;
    cr_assert_eq(plog_flush(t->parts[1].log), KERR_KAFKA_STORAGE_ERROR);
    fio_fault_hook = NULL;
    cr_assert(plog_offline(t->parts[1].log));

    evbuffer_drain(o, evbuffer_get_length(o));
    bm_render(o, &b);
    s = text(o);
    cr_assert(strstr(s, "\nkafka_controller_kafkacontroller_offlinepartitionscount 1\n"), "%s", s);
    cr_assert(strstr(s, "\nkafka_server_replicamanager_offlinereplicacount 1\n"));
    cr_assert(strstr(s, "\nkafka_server_replicamanager_partitioncount 2\n"));
    cr_assert(strstr(s, "\nkafka_server_replicamanager_leadercount 1\n"));
    cr_assert(strstr(s, "\nkafka_controller_kafkacontroller_activecontrollercount 1\n"));
    cr_assert(strstr(s, "kafka_log_log_size{topic=\"t\",partition=\"0\"} "));
    cr_assert_null(strstr(s, "kafka_log_log_size{topic=\"t\",partition=\"1\"}"),
                   "an offline log's metrics go, as Kafka removes them");
    free(s);
    evbuffer_free(o);
    cr_assert_eq(topics_close(&topics), 1, "the offline log did not close cleanly");
    broker_config_free(&cfg);
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
