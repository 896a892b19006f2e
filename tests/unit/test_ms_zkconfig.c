/*
 * Metastore configuration: zoo.cfg keys and defaults, ZOOKEEPER_* variables
 * mapped as cp-zookeeper maps them, JVM-style -D options, the 4lw
 * whitelist.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char *write_cfg(const char *text)
{
    static char path[] = "/tmp/ms-zkconfig-XXXXXX";
    strcpy(path, "/tmp/ms-zkconfig-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

Test(zkconfig, defaults_and_file)
{
    struct ms_config c;
    char err[256];
    const char *p = write_cfg("dataDir=/tmp/zk\ntickTime=1000\nclientPort=2182\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.client_port, 2182);
    cr_assert_eq(c.min_session_timeout, 2000);
    cr_assert_eq(c.max_session_timeout, 20000);
    cr_assert_str_eq(c.data_log_dir, "/tmp/zk");
    cr_assert_eq(c.max_buffer, 0xfffff);
    cr_assert(ms_config_4lw_allowed(&c, "srvr"));
    cr_assert_not(ms_config_4lw_allowed(&c, "ruok"), "ZooKeeper's default whitelist is srvr");
    cr_assert_not(c.extended_types, "TTL nodes are off by default, as in ZooKeeper");
    ms_config_free(&c);
    unlink(p);
}

Test(zkconfig, env_mapping)
{
    char *k = ms_config_env_key("ZOOKEEPER_CLIENT_PORT");
    cr_assert_str_eq(k, "clientPort");
    free(k);
    k = ms_config_env_key("ZOOKEEPER_TICK_TIME");
    cr_assert_str_eq(k, "tickTime");
    free(k);
    k = ms_config_env_key("ZOOKEEPER_AUTOPURGE_SNAP_RETAIN_COUNT");
    cr_assert_str_eq(k, "autopurge.snapRetainCount");
    free(k);
    cr_assert_null(ms_config_env_key("PATH"));
    char *env[] = { "ZOOKEEPER_CLIENT_PORT=3181", "ZOOKEEPER_DATA_DIR=/tmp/e",
                    "ZOOKEEPER_4LW_COMMANDS_WHITELIST=ruok, mntr",
                    "KAFKA_OPTS=-Xmx1g -Djava.security.auth.login.config=/etc/jaas.conf "
                    "-Dzookeeper.authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
                    NULL };
    struct ms_config c;
    char err[256];
    const char *p = write_cfg("dataDir=/tmp/file\nclientPort=1\n");
    cr_assert_eq(ms_config_load(&c, p, env, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.client_port, 3181, "the environment overrides the file");
    cr_assert_str_eq(c.data_dir, "/tmp/e");
    cr_assert_str_eq(c.jaas_path, "/etc/jaas.conf");
    cr_assert(c.sasl_provider);
    cr_assert(ms_config_4lw_allowed(&c, "mntr") && ms_config_4lw_allowed(&c, "ruok"));
    cr_assert_not(ms_config_4lw_allowed(&c, "srvr"));
    ms_config_free(&c);
    unlink(p);
}

/* ZooKeeper's Prometheus provider keys, from zoo.cfg or cp-zookeeper style
 * variables; its defaults (0.0.0.0:7000); other providers serve nothing,
 * and a class ZooKeeper could not load refuses the config. */
Test(zkconfig, metrics_provider)
{
    struct ms_config c;
    char err[256];
    const char *p = write_cfg("dataDir=/tmp/file\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_not(c.metrics, "off by default");
    ms_config_free(&c);
    unlink(p);
    p = write_cfg("dataDir=/tmp/file\nmetricsProvider.className="
                  "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), 0, "%s", err);
    cr_assert(c.metrics);
    cr_assert_str_eq(c.metrics_host, "0.0.0.0");
    cr_assert_eq(c.metrics_port, 7000);
    ms_config_free(&c);
    unlink(p);
    char *k = ms_config_env_key("ZOOKEEPER_METRICS_PROVIDER_CLASS_NAME");
    cr_assert_str_eq(k, "metricsProvider.className");
    free(k);
    char *env[] = { "ZOOKEEPER_METRICS_PROVIDER_CLASS_NAME="
                    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
                    "ZOOKEEPER_METRICS_PROVIDER_HTTP_HOST=127.0.0.1",
                    "ZOOKEEPER_METRICS_PROVIDER_HTTP_PORT=7071", NULL };
    p = write_cfg("dataDir=/tmp/file\n");
    cr_assert_eq(ms_config_load(&c, p, env, err, sizeof err), 0, "%s", err);
    cr_assert(c.metrics);
    cr_assert_str_eq(c.metrics_host, "127.0.0.1");
    cr_assert_eq(c.metrics_port, 7071);
    ms_config_free(&c);
    unlink(p);
    p = write_cfg("dataDir=/tmp/file\nmetricsProvider.className="
                  "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_not(c.metrics);
    ms_config_free(&c);
    unlink(p);
    p = write_cfg("dataDir=/tmp/file\nmetricsProvider.className=com.example.Nope\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "metricsProvider.className"), "%s", err);
    unlink(p);
    p = write_cfg("dataDir=/tmp/file\nmetricsProvider.className="
                  "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
                  "metricsProvider.httpPort=70000\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), -1);
    unlink(p);
}

Test(zkconfig, invalid)
{
    struct ms_config c;
    char err[256];
    const char *p = write_cfg("clientPort=2181\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "dataDir"));
    unlink(p);
    p = write_cfg("dataDir=/x\nminSessionTimeout=5000\nmaxSessionTimeout=100\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), -1);
    unlink(p);
    p = write_cfg("dataDir=/x\ntickTime=abc\n");
    cr_assert_eq(ms_config_load(&c, p, NULL, err, sizeof err), -1);
    unlink(p);
}
