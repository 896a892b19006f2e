/*
 * Broker configuration: Kafka's defaults, precedence rules, validation,
 * listeners, the docs staying in step with the key table, and the logger
 * the loader warns through.
 */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "klog.h"

static struct broker_config cfg;
static char err[512];
static bool loaded;

static void teardown(void)
{
    if (loaded)
        broker_config_free(&cfg);
    loaded = false;
}

TestSuite(config, .fini = teardown);
TestSuite(listeners);
TestSuite(klog);

/* Load with overrides only (no file). */
#define LOAD(...) load_with(NULL, (char *const[]){ __VA_ARGS__, NULL })

static int load_with(const char *path, char *const *ov)
{
    int n = 0;
    while (ov && ov[n])
        n++;
    err[0] = '\0';
    int rc = broker_config_load(&cfg, path, n, ov, err, sizeof err);
    loaded = rc == 0;
    return rc;
}

static void load_ok(const char *path, char *const *ov)
{
    int rc = load_with(path, ov);
    cr_assert_eq(rc, 0, "load failed: %s", err);
}

/* The load must fail and the message must mention every given word. */
static void load_fails(char *const *ov, const char *w1, const char *w2)
{
    int rc = load_with(NULL, ov);
    cr_assert_eq(rc, -1, "load of '%s' should fail", ov[0]);
    cr_assert(strstr(err, w1) != NULL, "'%s' not in error: %s", w1, err);
    cr_assert(!w2 || strstr(err, w2) != NULL, "'%s' not in error: %s", w2, err);
}

static char *write_temp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/kavka-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* ---- stderr capture, for the warnings ---- */

static int cap_pipe[2] = { -1, -1 }, cap_saved = -1;

static void capture_begin(void)
{
    cr_assert_eq(pipe(cap_pipe), 0);
    cap_saved = dup(2);
    dup2(cap_pipe[1], 2);
    close(cap_pipe[1]);
}

/* Stop capturing; returns what was written (static buffer). */
static const char *capture_end(void)
{
    static char buf[65536];
    dup2(cap_saved, 2);
    close(cap_saved);
    size_t n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 && (got = read(cap_pipe[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    close(cap_pipe[0]);
    return buf;
}

/* ---------------- defaults ---------------- */

Test(config, kafka_defaults_without_a_file)
{
    load_ok(NULL, NULL);
    cr_assert_eq(cfg.broker_id, 0);
    cr_assert_str_eq(cfg.listeners, "PLAINTEXT://:9092");
    cr_assert_str_eq(cfg.advertised_listeners, "PLAINTEXT://:9092");
    cr_assert_eq(cfg.nlisteners, 1);
    cr_assert_str_eq(cfg.listener_list[0].name, "PLAINTEXT");
    cr_assert_str_eq(cfg.listener_list[0].host, "");
    cr_assert_eq(cfg.listener_list[0].port, 9092);
    cr_assert_str_eq(cfg.log_dirs, "/tmp/kafka-logs");
    cr_assert_eq(cfg.num_partitions, 1);
    cr_assert_eq(cfg.default_replication_factor, 1);
    cr_assert(cfg.auto_create_topics_enable);
    cr_assert(cfg.delete_topic_enable);
    cr_assert_eq(cfg.log_segment_bytes, 1073741824);
    cr_assert_eq(cfg.log_roll_ms, 168LL * 3600 * 1000);
    cr_assert_eq(cfg.log_retention_ms, 168LL * 3600 * 1000);
    cr_assert_eq(cfg.log_retention_bytes, -1);
    cr_assert_eq(cfg.log_retention_check_interval_ms, 300000);
    cr_assert_eq(cfg.log_flush_interval_messages, INT64_MAX);
    cr_assert_eq(cfg.log_flush_interval_ms, INT64_MAX);
    cr_assert_eq(cfg.log_index_interval_bytes, 4096);
    cr_assert_eq(cfg.log_index_size_max_bytes, 10485760);
    cr_assert_eq(cfg.message_max_bytes, 1048588);
    cr_assert_eq(cfg.socket_request_max_bytes, 104857600);
    cr_assert_eq(cfg.num_io_threads, 8);
    cr_assert_eq(cfg.num_network_threads, 3);
    cr_assert_null(cfg.zookeeper_connect);
    cr_assert_eq(cfg.zookeeper_session_timeout_ms, 18000);
    cr_assert_eq(cfg.zookeeper_connection_timeout_ms, 18000);
    cr_assert_eq(cfg.offsets_topic_replication_factor, 3);
    cr_assert_eq(cfg.transaction_state_log_replication_factor, 3);
    cr_assert_eq(cfg.transaction_state_log_min_isr, 2);
    cr_assert_eq(cfg.group_initial_rebalance_delay_ms, 3000);
    cr_assert_eq(cfg.group_min_session_timeout_ms, 6000);
    cr_assert_eq(cfg.group_max_session_timeout_ms, 1800000);
    cr_assert_eq(cfg.group_max_size, INT32_MAX);
    cr_assert_eq(cfg.offsets_retention_minutes, 10080);
    cr_assert(cfg.log_cleaner_enable);
    cr_assert_float_eq(cfg.log_cleaner_min_cleanable_ratio, 0.5, 1e-9);
    cr_assert_eq(cfg.log_cleanup_policy.n, 1);
    cr_assert_str_eq(cfg.log_cleanup_policy.v[0], "delete");
    cr_assert_str_eq(cfg.compression_type, "producer");
    cr_assert_str_eq(cfg.log_message_timestamp_type, "CreateTime");
    cr_assert_eq(cfg.min_insync_replicas, 1);
    cr_assert_null(cfg.inter_broker_listener_name);
    cr_assert_str_eq(cfg.security_inter_broker_protocol, "PLAINTEXT");
    cr_assert_eq(cfg.sasl_enabled_mechanisms.n, 1);
    cr_assert_str_eq(cfg.sasl_enabled_mechanisms.v[0], "GSSAPI");
    cr_assert_str_eq(cfg.sasl_mechanism_inter_broker_protocol, "GSSAPI");
    cr_assert_str_eq(cfg.authorizer_class_name, "");
    cr_assert_null(cfg.super_users);
    cr_assert(!cfg.allow_everyone_if_no_acl_found);
    cr_assert_eq(cfg.raw.n, 0);
}

Test(config, get_falls_back_to_table_default)
{
    load_ok(NULL, (char *const[]){ "num.partitions=4", NULL });
    cr_assert_str_eq(broker_config_get(&cfg, "num.partitions"), "4");
    cr_assert_str_eq(broker_config_get(&cfg, "log.segment.bytes"), "1073741824");
    cr_assert_null(broker_config_get(&cfg, "zookeeper.connect"));
    cr_assert_null(broker_config_get(&cfg, "no.such.key"));
}

/* Kafka's own config/server.properties (ZooKeeper mode) loads cleanly. */
Test(config, stock_kafka_server_properties)
{
    const char *text =
        "broker.id=0\n"
        "#listeners=PLAINTEXT://:9092\n"
        "num.network.threads=3\nnum.io.threads=8\n"
        "socket.send.buffer.bytes=102400\nsocket.receive.buffer.bytes=102400\n"
        "socket.request.max.bytes=104857600\n"
        "log.dirs=/tmp/kafka-logs\nnum.partitions=1\nnum.recovery.threads.per.data.dir=1\n"
        "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
        "transaction.state.log.min.isr=1\n"
        "#log.flush.interval.messages=10000\n"
        "log.retention.hours=168\n#log.retention.bytes=1073741824\n"
        "log.segment.bytes=1073741824\nlog.retention.check.interval.ms=300000\n"
        "zookeeper.connect=localhost:2181\nzookeeper.connection.timeout.ms=18000\n"
        "group.initial.rebalance.delay.ms=0\n";
    char *path = write_temp(text);
    capture_begin();
    int rc = load_with(path, NULL);
    const char *out = capture_end();
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "", "unexpected warnings: %s", out);
    cr_assert_str_eq(cfg.zookeeper_connect, "localhost:2181");
    cr_assert_eq(cfg.offsets_topic_replication_factor, 1);
    cr_assert_eq(cfg.group_initial_rebalance_delay_ms, 0);
}

/* ---------------- precedence ---------------- */

Test(config, retention_hours_minutes_ms_precedence)
{
    load_ok(NULL, (char *const[]){ "log.retention.hours=2", NULL });
    cr_assert_eq(cfg.log_retention_ms, 2LL * 3600 * 1000);
    teardown();

    load_ok(NULL, (char *const[]){ "log.retention.hours=2", "log.retention.minutes=3", NULL });
    cr_assert_eq(cfg.log_retention_ms, 3LL * 60 * 1000);
    teardown();

    load_ok(NULL, (char *const[]){ "log.retention.hours=2", "log.retention.minutes=3",
                                   "log.retention.ms=1234", NULL });
    cr_assert_eq(cfg.log_retention_ms, 1234);
}

Test(config, retention_negative_is_unlimited_zero_is_invalid)
{
    load_ok(NULL, (char *const[]){ "log.retention.ms=-5", NULL });
    cr_assert_eq(cfg.log_retention_ms, -1);
    teardown();
    load_ok(NULL, (char *const[]){ "log.retention.minutes=-1", NULL });
    cr_assert_eq(cfg.log_retention_ms, -1);
    teardown();
    load_ok(NULL, (char *const[]){ "log.retention.hours=-1", NULL });
    cr_assert_eq(cfg.log_retention_ms, -1);
    teardown();
    load_fails((char *const[]){ "log.retention.ms=0", NULL }, "log.retention.ms", "unlimited");
}

Test(config, roll_and_flush_resolution)
{
    load_ok(NULL, (char *const[]){ "log.roll.hours=1", "log.flush.scheduler.interval.ms=500", NULL });
    cr_assert_eq(cfg.log_roll_ms, 3600000);
    cr_assert_eq(cfg.log_flush_interval_ms, 500);
    teardown();
    load_ok(NULL, (char *const[]){ "log.roll.hours=1", "log.roll.ms=777", "log.flush.interval.ms=20",
                                   NULL });
    cr_assert_eq(cfg.log_roll_ms, 777);
    cr_assert_eq(cfg.log_flush_interval_ms, 20);
}

Test(config, zookeeper_connection_timeout_defaults_to_session_timeout)
{
    load_ok(NULL, (char *const[]){ "zookeeper.session.timeout.ms=9000", NULL });
    cr_assert_eq(cfg.zookeeper_connection_timeout_ms, 9000);
    teardown();
    load_ok(NULL, (char *const[]){ "zookeeper.session.timeout.ms=9000",
                                   "zookeeper.connection.timeout.ms=100", NULL });
    cr_assert_eq(cfg.zookeeper_connection_timeout_ms, 100);
}

Test(config, broker_id_and_node_id)
{
    load_ok(NULL, (char *const[]){ "node.id=3", NULL });
    cr_assert_eq(cfg.broker_id, 3);
    teardown();
    load_ok(NULL, (char *const[]){ "broker.id=4", "node.id=4", NULL });
    cr_assert_eq(cfg.broker_id, 4);
    teardown();
    load_ok(NULL, (char *const[]){ "broker.id=7", NULL });
    cr_assert_eq(cfg.broker_id, 7);
    teardown();
    load_fails((char *const[]){ "broker.id=1", "node.id=2", NULL }, "broker.id", "node.id");
    load_fails((char *const[]){ "broker.id=-2", NULL }, "broker.id", "-2");
}

Test(config, log_dirs_wins_and_first_is_used)
{
    load_ok(NULL, (char *const[]){ "log.dir=/a", NULL });
    cr_assert_str_eq(cfg.log_dirs, "/a");
    teardown();

    capture_begin();
    int rc = load_with(NULL, (char *const[]){ "log.dir=/a", "log.dirs= /b , /c", NULL });
    const char *out = capture_end();
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(cfg.log_dirs, "/b");
    cr_assert(strstr(out, "WARN") && strstr(out, "/b"), "no warning: %s", out);
    teardown();

    load_fails((char *const[]){ "log.dirs= , ", NULL }, "log.dirs", "no directory");
}

Test(config, overrides_beat_file)
{
    char *path = write_temp("num.partitions=3\nlog.dirs=/from/file\nmessage.max.bytes=100\n");
    int rc = load_with(path, (char *const[]){ "num.partitions=5", "zookeeper.connect=h:1/a=b",
                                             "num.partitions=6", NULL });
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(cfg.num_partitions, 6);
    cr_assert_eq(cfg.message_max_bytes, 100);
    cr_assert_str_eq(cfg.log_dirs, "/from/file");
    cr_assert_str_eq(cfg.zookeeper_connect, "h:1/a=b");
}

Test(config, bad_override_and_missing_file)
{
    load_fails((char *const[]){ "num.partitions", NULL }, "num.partitions", "key=value");
    load_fails((char *const[]){ "=5", NULL }, "=5", NULL);
    cr_assert_eq(broker_config_load(&cfg, "/nonexistent/server.properties", 0, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/server.properties"), "%s", err);
}

Test(config, values_are_trimmed)
{
    char *path = write_temp("num.partitions = 12   \ncompression.type=lz4 \t\n"
                            "auto.create.topics.enable=  FALSE\n");
    int rc = load_with(path, NULL);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(cfg.num_partitions, 12);
    cr_assert_str_eq(cfg.compression_type, "lz4");
    cr_assert(!cfg.auto_create_topics_enable);
}

/* ---------------- validation ---------------- */

Test(config, invalid_values_name_key_and_value)
{
    load_fails((char *const[]){ "num.partitions=abc", NULL }, "num.partitions", "'abc'");
    load_fails((char *const[]){ "num.partitions=0", NULL }, "num.partitions", "at least 1");
    load_fails((char *const[]){ "num.partitions=12x", NULL }, "num.partitions", "INT");
    load_fails((char *const[]){ "num.partitions=", NULL }, "num.partitions", "INT");
    load_fails((char *const[]){ "message.max.bytes=2147483648", NULL }, "message.max.bytes", "2147483648");
    load_fails((char *const[]){ "log.segment.bytes=13", NULL }, "log.segment.bytes", "at least 14");
    load_fails((char *const[]){ "log.retention.bytes=1.5", NULL }, "log.retention.bytes", "LONG");
    load_fails((char *const[]){ "log.retention.ms=99999999999999999999", NULL }, "log.retention.ms", NULL);
    load_fails((char *const[]){ "auto.create.topics.enable=yes", NULL }, "auto.create.topics.enable",
               "'yes'");
    load_fails((char *const[]){ "compression.type=brotli", NULL }, "compression.type", "brotli");
    load_fails((char *const[]){ "log.message.timestamp.type=createtime", NULL },
               "log.message.timestamp.type", "LogAppendTime");
    load_fails((char *const[]){ "log.cleaner.min.cleanable.ratio=1.5", NULL },
               "log.cleaner.min.cleanable.ratio", "1.5");
    load_fails((char *const[]){ "log.cleaner.min.cleanable.ratio=nan", NULL },
               "log.cleaner.min.cleanable.ratio", NULL);
    load_fails((char *const[]){ "log.cleanup.policy=delete,shred", NULL }, "log.cleanup.policy", "shred");
    load_fails((char *const[]){ "offsets.topic.replication.factor=40000", NULL },
               "offsets.topic.replication.factor", "32767");
    load_fails((char *const[]){ "security.inter.broker.protocol=TLS", NULL },
               "security.inter.broker.protocol", "TLS");
}

Test(config, valid_non_default_values)
{
    load_ok(NULL, (char *const[]){ "log.cleanup.policy=compact, delete", "log.cleaner.min.cleanable.ratio=0.25",
                                   "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256", "log.retention.bytes=-1",
                                   "log.message.timestamp.type=LogAppendTime", "num.partitions=+2", NULL });
    cr_assert_eq(cfg.log_cleanup_policy.n, 2);
    cr_assert_str_eq(cfg.log_cleanup_policy.v[1], "delete");
    cr_assert_float_eq(cfg.log_cleaner_min_cleanable_ratio, 0.25, 1e-9);
    cr_assert_eq(cfg.sasl_enabled_mechanisms.n, 2);
    cr_assert_str_eq(cfg.sasl_enabled_mechanisms.v[1], "SCRAM-SHA-256");
    cr_assert_str_eq(cfg.log_message_timestamp_type, "LogAppendTime");
    cr_assert_eq(cfg.num_partitions, 2);
}

/* ---------------- unknown and pass-through keys ---------------- */

Test(config, unknown_keys_warned_and_kept)
{
    capture_begin();
    int rc = load_with(NULL, (char *const[]){ "foo.bar=1", "ssl.keystore.location=/k.jks",
                                             "listener.name.sasl_user.plain.sasl.jaas.config=x y;",
                                             "sasl.kerberos.service.name=kafka", NULL });
    const char *out = capture_end();
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "foo.bar") != NULL, "no warning for foo.bar: '%s'", out);
    cr_assert(strstr(out, "WARN") != NULL, "%s", out);
    cr_assert(strstr(out, "ssl.") == NULL && strstr(out, "listener.name") == NULL &&
              strstr(out, "sasl.") == NULL, "warned about a pass-through key: %s", out);
    cr_assert_str_eq(broker_config_get(&cfg, "foo.bar"), "1");
    cr_assert_str_eq(broker_config_get(&cfg, "ssl.keystore.location"), "/k.jks");
    cr_assert_str_eq(broker_config_get(&cfg, "listener.name.sasl_user.plain.sasl.jaas.config"), "x y;");
    cr_assert_eq(cfg.raw.n, 4);
}

/* ---------------- listeners in the config ---------------- */

Test(config, named_listeners_with_advertised)
{
    load_ok(NULL, (char *const[]){
        "listeners=SASL_USER://0.0.0.0:29092,PLAINTEXT_HOST://0.0.0.0:9092",
        "advertised.listeners=SASL_USER://broker1:29092,PLAINTEXT_HOST://localhost:9092",
        "listener.security.protocol.map=SASL_USER:SASL_PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
        "inter.broker.listener.name=sasl_user", NULL });
    cr_assert_eq(cfg.nlisteners, 2);
    cr_assert_eq(cfg.nadvertised, 2);
    cr_assert_str_eq(cfg.advertised_list[0].host, "broker1");
    cr_assert_eq(cfg.advertised_list[0].protocol, SECPROTO_SASL_PLAINTEXT);
    cr_assert_str_eq(cfg.inter_broker_listener_name, "SASL_USER");
}

Test(config, listener_rules)
{
    load_fails((char *const[]){ "listeners=PLAINTEXT://:9092", "advertised.listeners=PLAINTEXT://0.0.0.0:9092",
                                NULL }, "advertised.listeners", "0.0.0.0");
    load_fails((char *const[]){ "listeners=PLAINTEXT://:9092", "advertised.listeners=SSL://h:9093", NULL },
               "advertised.listeners", "SSL");
    load_fails((char *const[]){ "listeners=PLAINTEXT://:9092", "inter.broker.listener.name=PLAINTEXT",
                                "security.inter.broker.protocol=SSL", NULL },
               "inter.broker.listener.name", "security.inter.broker.protocol");
    load_fails((char *const[]){ "listeners=PLAINTEXT://:9092", "inter.broker.listener.name=OTHER", NULL },
               "inter.broker.listener.name", "OTHER");
    load_fails((char *const[]){ "listeners=FOO://:9092", NULL }, "listeners", "FOO");
    load_fails((char *const[]){ "listeners=", NULL }, "listeners", "no listener");
    load_fails((char *const[]){ "listeners=PLAINTEXT://:9092,SSL://:9092", NULL }, "listeners", "different port");
}

Test(config, advertised_listeners_may_share_a_port)
{
    load_ok(NULL, (char *const[]){ "listeners=PLAINTEXT://:9092,SSL://:9093",
                                   "advertised.listeners=PLAINTEXT://a:9000,SSL://b:9000", NULL });
    cr_assert_eq(cfg.advertised_list[1].port, 9000);
}

/* ---------------- listeners_parse ---------------- */

Test(listeners, named_listeners_with_map)
{
    struct listener *l;
    int n;
    char e[256];
    int rc = listeners_parse("SASL_USER://host:29092,SASL_UI://0.0.0.0:19092,PLAINTEXT_HOST://0.0.0.0:9092",
                             "SASL_USER:SASL_PLAINTEXT, SASL_UI:SASL_SSL,PLAINTEXT_HOST:PLAINTEXT",
                             &l, &n, e, sizeof e);
    cr_assert_eq(rc, 0, "%s", e);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(l[0].name, "SASL_USER");
    cr_assert_eq(l[0].protocol, SECPROTO_SASL_PLAINTEXT);
    cr_assert_str_eq(l[0].host, "host");
    cr_assert_eq(l[0].port, 29092);
    cr_assert_str_eq(l[1].name, "SASL_UI");
    cr_assert_eq(l[1].protocol, SECPROTO_SASL_SSL);
    cr_assert_str_eq(l[1].host, "0.0.0.0");
    cr_assert_eq(l[1].port, 19092);
    cr_assert_str_eq(l[2].name, "PLAINTEXT_HOST");
    cr_assert_eq(l[2].protocol, SECPROTO_PLAINTEXT);
    cr_assert_eq(l[2].port, 9092);
    free(l);
}

Test(listeners, default_map_ipv6_and_case)
{
    struct listener *l;
    int n;
    char e[256];
    int rc = listeners_parse(" plaintext://[::1]:9092 , SSL://:9093,SASL_SSL://::1:9094", NULL, &l, &n, e,
                             sizeof e);
    cr_assert_eq(rc, 0, "%s", e);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(l[0].name, "PLAINTEXT");
    cr_assert_str_eq(l[0].host, "::1");
    cr_assert_str_eq(l[1].host, "");
    cr_assert_eq(l[1].protocol, SECPROTO_SSL);
    cr_assert_str_eq(l[2].host, "::1");
    cr_assert_eq(l[2].port, 9094);
    free(l);
}

static void parse_fails(const char *spec, const char *map, const char *word)
{
    struct listener *l = (struct listener *)1;
    int n = 99;
    char e[256] = "";
    cr_assert_eq(listeners_parse(spec, map, &l, &n, e, sizeof e), -1, "'%s' accepted", spec);
    cr_assert_null(l);
    cr_assert_eq(n, 0);
    cr_assert(strstr(e, word) != NULL, "'%s' not in error: %s", word, e);
}

Test(listeners, errors)
{
    parse_fails("SASL_USER://h:1", NULL, "SASL_USER");                 /* not in default map */
    parse_fails("A://h:1", "A:KERBEROS", "KERBEROS");                 /* unknown protocol */
    parse_fails("A://h:1", "A", "malformed");                         /* map entry without ':' */
    parse_fails("PLAINTEXT://h:65536", NULL, "port");
    parse_fails("PLAINTEXT://h:-1", NULL, "port");
    parse_fails("PLAINTEXT://h:", NULL, "port");
    parse_fails("PLAINTEXT://h:9x", NULL, "port");
    parse_fails("PLAINTEXT://h", NULL, "port");
    parse_fails("PLAINTEXT:/h:1", NULL, "NAME://");
    parse_fails("://h:1", NULL, "NAME://");
    parse_fails("PLAINTEXT://h h:1", NULL, "host");
    parse_fails("PLAINTEXT://[::1:1", NULL, "host");
    parse_fails("PLAINTEXT://a:1,SSL://b:1", NULL, "different port");
    parse_fails("PLAINTEXT://a:1,plaintext://b:2", NULL, "different name");
}

Test(listeners, port_zero_may_repeat)
{
    struct listener *l;
    int n;
    char e[256];
    cr_assert_eq(listeners_parse("PLAINTEXT://:0,SSL://:0", NULL, &l, &n, e, sizeof e), 0, "%s", e);
    cr_assert_eq(n, 2);
    free(l);
}

/* ---------------- the table and the docs ---------------- */

Test(config, table_is_consistent)
{
    size_t n = broker_config_nkeys();
    cr_assert_gt(n, 40);
    for (size_t i = 0; i < n; i++) {
        const struct config_key *k = broker_config_key(i);
        cr_assert_not_null(k->doc);
        cr_assert_eq(broker_config_find(k->name), k, "%s listed twice", k->name);
        for (size_t j = 0; j < i; j++) {
            const struct config_key *o = broker_config_key(j);
            cr_assert(k->offset == CONFIG_NO_FIELD || o->offset != k->offset,
                      "%s and %s share a member", k->name, o->name);
        }
    }
    cr_assert_null(broker_config_key(n));
}

/* A file of the source tree, found from this source file's path. meson
 * compiles it as a path relative to the build dir, which is the parent of
 * the test binary's directory; cwd may be either. Returns its path. */
static const char *repo_path(const char *rel)
{
    static char path[PATH_MAX];
    char exe[PATH_MAX] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = '\0';
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    const char *srcdir = dirname(src); /* .../tests/unit */
    snprintf(path, sizeof path, "%s/../../%s", srcdir, rel);
    if (access(path, R_OK) == 0 || srcdir[0] == '/')
        return path;
    snprintf(path, sizeof path, "%s/../%s/../../%s", dirname(exe), srcdir, rel);
    return path;
}

static char *read_docs(void)
{
    const char *path = repo_path("docs/configuration.md");
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static char buf[1 << 20];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

Test(config, every_key_documented_with_default_and_status)
{
    const char *docs = read_docs();
    for (size_t i = 0; i < broker_config_nkeys(); i++) {
        const struct config_key *k = broker_config_key(i);
        char head[128];
        snprintf(head, sizeof head, "| `%s` |", k->name);
        const char *row = strstr(docs, head);
        cr_assert_not_null(row, "%s is not in docs/configuration.md", k->name);
        const char *eol = strchr(row, '\n');
        size_t len = eol ? (size_t)(eol - row) : strlen(row);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)len, row);
        char dflt[256];
        snprintf(dflt, sizeof dflt, "| `%s` |", k->dflt ? k->dflt : "null");
        if (k->dflt && !*k->dflt)
            snprintf(dflt, sizeof dflt, "| `\"\"` |");
        cr_assert(strstr(line, dflt) != NULL, "docs row of %s lacks default %s: %s", k->name, dflt, line);
        const char *status = k->status == CONFIG_HONOURED ? "| honoured |" : "| recorded |";
        cr_assert(strstr(line, status) != NULL, "docs row of %s lacks %s: %s", k->name, status, line);
        char type[32];
        snprintf(type, sizeof type, "| %s |", config_type_name(k->type));
        cr_assert(strstr(line, type) != NULL, "docs row of %s lacks type %s: %s", k->name, type, line);
    }
}

/* ---------------- klog ---------------- */

Test(klog, line_format_and_levels)
{
    int saved = klog_get_level();
    klog_set_level(KLOG_LEVEL_INFO);
    capture_begin();
    KLOG_ERROR("e %d", 1);
    KLOG_WARN("w %s", "two");
    KLOG_INFO("i");
    KLOG_DEBUG("dropped");
    const char *out = capture_end();
    klog_set_level(saved);

    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ERROR e 1\n"
                         "[0-9T:.Z-]{24} WARN  w two\n"
                         "[0-9T:.Z-]{24} INFO  i\n$",
                         REG_EXTENDED), 0);
    int m = regexec(&re, out, 0, NULL, 0);
    regfree(&re);
    cr_assert_eq(m, 0, "unexpected log output:\n%s", out);
}

Test(klog, set_and_parse_level)
{
    cr_assert_eq(klog_level_parse("debug"), KLOG_LEVEL_DEBUG);
    cr_assert_eq(klog_level_parse("WARN"), KLOG_LEVEL_WARN);
    cr_assert_eq(klog_level_parse("verbose"), -1);
    klog_set_level(KLOG_LEVEL_ERROR);
    capture_begin();
    KLOG_WARN("hidden");
    KLOG_ERROR("shown");
    const char *out = capture_end();
    cr_assert(strstr(out, "hidden") == NULL && strstr(out, "shown") != NULL, "%s", out);
    klog_set_level(99);
    cr_assert_eq(klog_get_level(), KLOG_LEVEL_DEBUG);
}

Test(klog, long_messages_are_cut)
{
    char big[10000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    capture_begin();
    KLOG_ERROR("%s", big);
    const char *out = capture_end();
    size_t n = strlen(out);
    cr_assert_lt(n, 4096);
    cr_assert_eq(out[n - 1], '\n');
    cr_assert_eq(strncmp(out + n - 4, "...", 3), 0);
}

/* The quick start's configuration file loads without warnings. */
Test(config, default_properties_file_loads)
{
    const char *path = repo_path("broker/default.properties");
    capture_begin();
    int rc = load_with(path, NULL);
    const char *out = capture_end();
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "", "unexpected warnings: %s", out);
    cr_assert_eq(cfg.nlisteners, 1);
    cr_assert_str_eq(cfg.listener_list[0].host, "127.0.0.1");
    cr_assert_eq(cfg.listener_list[0].port, 9092);
    cr_assert_str_eq(cfg.log_dirs, "./.kavka-data/broker");
    cr_assert_eq(cfg.broker_id, 0);
}
