/*
 * config.c — see config.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "properties.h"

/* cp-zookeeper names that are not plain camelCase of the variable. */
static const struct {
    const char *env;
    const char *key;
} env_special[] = {
    { "AUTOPURGE_PURGE_INTERVAL", "autopurge.purgeInterval" },
    { "AUTOPURGE_SNAP_RETAIN_COUNT", "autopurge.snapRetainCount" },
    { "4LW_COMMANDS_WHITELIST", "4lw.commands.whitelist" },
    { "JUTE_MAXBUFFER", "jute.maxbuffer" },
    { "METRICS_PROVIDER_CLASS_NAME", "metricsProvider.className" },
    { "METRICS_PROVIDER_HTTP_HOST", "metricsProvider.httpHost" },
    { "METRICS_PROVIDER_HTTP_PORT", "metricsProvider.httpPort" },
    { "METRICS_PROVIDER_EXPORT_JVM_INFO", "metricsProvider.exportJvmInfo" },
};

char *ms_config_env_key(const char *name)
{
    static const char pfx[] = "ZOOKEEPER_";
    if (strncmp(name, pfx, sizeof pfx - 1) != 0 || !name[sizeof pfx - 1])
        return NULL;
    name += sizeof pfx - 1;
    for (size_t i = 0; i < sizeof env_special / sizeof env_special[0]; i++)
        if (strcmp(name, env_special[i].env) == 0)
            return strdup(env_special[i].key);
    char *k = malloc(strlen(name) + 1);
    if (!k)
        return NULL;
    size_t j = 0;
    bool up = false;
    for (const char *p = name; *p; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        k[j++] = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        up = false;
    }
    k[j] = 0;
    return k;
}

/* -Dkey=value words of a JVM options string (KAFKA_OPTS, SERVER_JVMFLAGS):
 * the images pass zookeeper system properties there. */
static int add_jvm_opts(struct props *p, const char *opts)
{
    char *copy = strdup(opts);
    if (!copy)
        return -1;
    int rc = 0;
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (strncmp(w, "-D", 2) != 0)
            continue;
        char *eq = strchr(w, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *key = w + 2;
        if (strncmp(key, "zookeeper.", 10) == 0 && strcmp(key, "zookeeper.authProvider") != 0)
            key += 10;
        rc |= props_set(p, key, eq + 1);
    }
    free(copy);
    return rc;
}

static const char *get(const struct props *p, const char *key)
{
    const char *v = props_get(p, key);
    /* Properties keep trailing blanks; ZooKeeper trims values. */
    return v;
}

static int parse_int(const struct props *p, const char *key, long def, long lo, long hi,
                     long *out, char *err, size_t errlen)
{
    const char *v = get(p, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || end == v || *end || x < lo || x > hi) {
        snprintf(err, errlen, "%s: invalid value '%s'", key, v);
        return -1;
    }
    *out = x;
    return 0;
}

static char *dup_trim(const char *v)
{
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, v, n);
        d[n] = 0;
    }
    return d;
}

static bool is_true(const char *v)
{
    return v && strncasecmp(v, "true", 4) == 0;
}

/* ZooKeeper's metrics provider: the Prometheus one serves /metrics
 * (metastore/metrics.c); the default and the null provider serve nothing.
 * Any other class would not load in ZooKeeper either. */
static int metrics_provider(struct ms_config *c, const struct props *p, char *err, size_t errlen)
{
    char *cls = dup_trim(get(p, "metricsProvider.className"));
    int rc = 0;
    if (!cls || !*cls || strcmp(cls, "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider") == 0 ||
        strcmp(cls, "org.apache.zookeeper.metrics.impl.NullMetricsProvider") == 0) {
        c->metrics = false;
    } else if (strcmp(cls, "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider") == 0) {
        c->metrics = true;
        c->metrics_host = dup_trim(get(p, "metricsProvider.httpHost") ? get(p, "metricsProvider.httpHost")
                                                                      : "0.0.0.0");
        if (!c->metrics_host) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    } else {
        snprintf(err, errlen, "metricsProvider.className: %s is not available (kavka-metastore has "
                 "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider)", cls);
        rc = -1;
    }
    free(cls);
    return rc;
}

static int apply_props(struct ms_config *c, const struct props *p, char *err, size_t errlen)
{
    long v;
#define INT(key, def, lo, hi, field)                                   \
    do {                                                               \
        if (parse_int(p, key, def, lo, hi, &v, err, errlen) != 0)      \
            return -1;                                                 \
        c->field = (__typeof__(c->field))v;                                \
    } while (0)
    INT("clientPort", 2181, 0, 65535, client_port);
    INT("tickTime", 2000, 1, 1000000, tick_time);
    INT("minSessionTimeout", 2L * c->tick_time, 1, 1L << 30, min_session_timeout);
    INT("maxSessionTimeout", 20L * c->tick_time, 1, 1L << 30, max_session_timeout);
    INT("maxClientCnxns", 60, 0, 1L << 30, max_client_cnxns);
    INT("snapCount", 100000, 2, 1L << 40, snap_count);
    INT("autopurge.snapRetainCount", 3, 1, 1L << 20, snap_retain_count);
    INT("autopurge.purgeInterval", 0, 0, 1L << 20, purge_interval_hours);
    INT("jute.maxbuffer", 0xfffff, 16, INT32_MAX, max_buffer);
    INT("znode.container.checkIntervalMs", 60000, 1, 1L << 30, container_check_ms);
    INT("metricsProvider.httpPort", 7000, 0, 65535, metrics_port);
#undef INT
    if (c->min_session_timeout > c->max_session_timeout) {
        snprintf(err, errlen, "minSessionTimeout %d is larger than maxSessionTimeout %d",
                 c->min_session_timeout, c->max_session_timeout);
        return -1;
    }
    const char *dd = get(p, "dataDir");
    if (!dd) {
        snprintf(err, errlen, "dataDir is not set");
        return -1;
    }
    c->data_dir = dup_trim(dd);
    c->data_log_dir = dup_trim(get(p, "dataLogDir") ? get(p, "dataLogDir") : dd);
    c->client_addr = dup_trim(get(p, "clientPortAddress"));
    c->fourlw_whitelist = dup_trim(get(p, "4lw.commands.whitelist") ? get(p, "4lw.commands.whitelist")
                                                                    : "srvr");
    const char *ext = get(p, "extendedTypesEnabled");
    c->extended_types = is_true(ext);  /* off by default, as in ZooKeeper */
    c->super_digest = dup_trim(get(p, "DigestAuthenticationProvider.superDigest"));
    const char *jaas = get(p, "java.security.auth.login.config");
    if (!jaas)
        jaas = get(p, "jaasLoginConfig");
    c->jaas_path = dup_trim(jaas);
    for (size_t i = 0; i < p->n; i++) {
        const char *k = p->v[i].key;
        if ((strncmp(k, "authProvider.", 13) == 0 || strncmp(k, "zookeeper.authProvider.", 23) == 0) &&
            strstr(p->v[i].value, "SASLAuthenticationProvider"))
            c->sasl_provider = true;
    }
    if (metrics_provider(c, p, err, errlen) != 0)
        return -1;
    const char *req = get(p, "requireClientAuthScheme");
    c->require_sasl = req && strncasecmp(req, "sasl", 4) == 0;
    const char *enforce = get(p, "enforce.auth.enabled");
    const char *schemes = get(p, "enforce.auth.schemes");
    if (is_true(enforce) && schemes && strstr(schemes, "sasl"))
        c->require_sasl = true;
    if (!c->data_dir || !c->data_log_dir || !c->fourlw_whitelist) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int ms_config_load(struct ms_config *c, const char *path, char *const *envp,
                   char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    struct props p = { 0 };
    if (path && props_parse_file(&p, path, err, errlen) != 0) {
        props_free(&p);
        return -1;
    }
    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char name[256];
        size_t nl = (size_t)(eq - *e);
        if (nl >= sizeof name)
            continue;
        memcpy(name, *e, nl);
        name[nl] = 0;
        if (strcmp(name, "KAFKA_OPTS") == 0 || strcmp(name, "SERVER_JVMFLAGS") == 0 ||
            strcmp(name, "JVMFLAGS") == 0) {
            if (add_jvm_opts(&p, eq + 1) != 0)
                goto oom;
            continue;
        }
        char *key = ms_config_env_key(name);
        if (!key)
            continue;
        int rc = props_set(&p, key, eq + 1);
        free(key);
        if (rc != 0)
            goto oom;
    }
    int rc = apply_props(c, &p, err, errlen);
    props_free(&p);
    if (rc != 0)
        ms_config_free(c);
    return rc;
oom:
    props_free(&p);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void ms_config_free(struct ms_config *c)
{
    free(c->client_addr);
    free(c->data_dir);
    free(c->data_log_dir);
    free(c->fourlw_whitelist);
    free(c->super_digest);
    free(c->jaas_path);
    free(c->metrics_host);
    memset(c, 0, sizeof *c);
}

bool ms_config_4lw_allowed(const struct ms_config *c, const char *cmd)
{
    const char *w = c->fourlw_whitelist;
    while (w && *w) {
        while (*w == ' ' || *w == ',' || *w == '\t')
            w++;
        size_t n = strcspn(w, ", \t");
        if (n == 1 && w[0] == '*')
            return true;
        if (n == strlen(cmd) && strncmp(w, cmd, n) == 0)
            return true;
        w += n;
    }
    return false;
}
