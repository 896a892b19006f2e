/*
 * config.h — zoo.cfg (java.util.Properties syntax) plus ZOOKEEPER_*
 * environment variables mapped the way the cp-zookeeper image maps them
 * (ZOOKEEPER_CLIENT_PORT -> clientPort, ZOOKEEPER_TICK_TIME -> tickTime,
 * ZOOKEEPER_AUTOPURGE_SNAP_RETAIN_COUNT -> autopurge.snapRetainCount, ...).
 * Environment values override the file.
 */
#ifndef KAVKA_MS_CONFIG_H
#define KAVKA_MS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compiler.h"

struct ms_config {
    char *client_addr;          /* clientPortAddress; NULL = all addresses */
    int client_port;
    char *data_dir;
    char *data_log_dir;         /* defaults to data_dir */
    int tick_time;
    int min_session_timeout;    /* default 2 * tickTime */
    int max_session_timeout;    /* default 20 * tickTime */
    int max_client_cnxns;       /* per IP; 0 = unlimited */
    long snap_count;
    int snap_retain_count;
    int purge_interval_hours;   /* 0 = no autopurge */
    char *fourlw_whitelist;     /* comma-separated, "*" = all */
    int32_t max_buffer;         /* jute.maxbuffer */
    int container_check_ms;     /* znode.container.checkIntervalMs */
    bool extended_types;        /* TTL nodes (zookeeper.extendedTypesEnabled) */
    char *super_digest;         /* DigestAuthenticationProvider.superDigest */
    char *jaas_path;            /* JAAS file for SASL (Server section) */
    bool sasl_provider;         /* authProvider.N=...SASLAuthenticationProvider */
    bool require_sasl;          /* requireClientAuthScheme=sasl */
    bool metrics;               /* metricsProvider.className=...PrometheusMetricsProvider */
    char *metrics_host;         /* metricsProvider.httpHost (0.0.0.0) */
    int metrics_port;           /* metricsProvider.httpPort (7000) */
};

/* Defaults, then the file (may be NULL), then the environment (envp may be
 * NULL). Returns 0, or -1 with a message in err. */
int ms_config_load(struct ms_config *c, const char *path, char *const *envp,
                   char *err, size_t errlen);
void ms_config_free(struct ms_config *c);

/* Property key for a ZOOKEEPER_* variable name (without the value), or
 * NULL when it is not one; malloc'd. */
char *ms_config_env_key(const char *env_name) KV_MUST_CHECK;

/* Is a four-letter word allowed by the whitelist? */
bool ms_config_4lw_allowed(const struct ms_config *c, const char *cmd);

#endif
