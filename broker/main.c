/*
 * kavka-broker — a Kafka-wire-compatible broker.
 *
 * Usage, as kafka-server-start: kavka-broker server.properties [--override key=value ...]
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "broker.h"
#include "admin.h"
#include "config.h"
#include "klog.h"
#include "properties.h"
#include "cluster.h"
#include "group.h"
#include "metrics.h"
#include "sasl.h"
#include "authz.h"
#include "scram_store.h"
#include "topics.h"

static void usage(void)
{
    fprintf(stderr, "usage: kavka-broker [server.properties] [--override key=value ...]\n");
}

/* meta.properties in the log dir, as Kafka writes it: the cluster id is
 * made once and kept; a log dir of another broker id is refused. Reading
 * leaves b->cluster_id empty when the file does not exist yet: with a
 * metastore the id comes from there (cluster.c), else write_meta makes one. */
static int read_meta(struct broker *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.properties", b->cfg->log_dirs);
    b->cluster_id[0] = 0;
    if (access(path, F_OK) != 0)
        return 0;
    struct props p = { 0 };
    char err[256];
    if (props_parse_file(&p, path, err, sizeof err) != 0) {
        KLOG_ERROR("%s: %s", path, err);
        return -1;
    }
    const char *cid = props_get(&p, "cluster.id");
    const char *bid = props_get(&p, "broker.id");
    int rc = 0;
    if (bid && atoi(bid) != b->cfg->broker_id) {
        KLOG_ERROR("%s: log dir belongs to broker.id %s, configured broker.id is %d", path, bid,
                   b->cfg->broker_id);
        rc = -1;
    } else if (cid) {
        snprintf(b->cluster_id, sizeof b->cluster_id, "%s", cid);
    }
    props_free(&p);
    return rc;
}

static int write_meta(struct broker *b)
{
    char path[4096], text[128];
    snprintf(path, sizeof path, "%s/meta.properties", b->cfg->log_dirs);
    if (access(path, F_OK) == 0)
        return 0;
    if (!b->cluster_id[0])
        new_cluster_id(b->cluster_id);
    int n = snprintf(text, sizeof text, "#kavka\nversion=0\nbroker.id=%d\ncluster.id=%s\n",
                     b->cfg->broker_id, b->cluster_id);
    if (atomic_write_file(path, text, (size_t)n, 0644) != 0) {
        KLOG_ERROR("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    char **overrides = calloc((size_t)argc, sizeof *overrides);
    int nover = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--override") == 0 && i + 1 < argc)
            overrides[nover++] = argv[++i];
        else if (strncmp(argv[i], "--override=", 11) == 0)
            overrides[nover++] = argv[i] + 11;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            usage();
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    static struct broker_config cfg;
    char err[512];
    if (broker_config_load(&cfg, path, nover, overrides, err, sizeof err) != 0) {
        KLOG_ERROR("invalid configuration: %s", err);
        free(overrides);
        broker_config_free(&cfg);
        return 1;
    }
    free(overrides);

    /* Everything below is undone by one path, whatever step failed: each
     * close function accepts what was never opened. */
    static struct broker b;
    static struct topics topics;
    /* The connection code reaches the handlers and SASL only through these. */
    static const struct broker_hooks hooks = {
        .handler = khandler_find,
        .auth = &sasl_conn_auth,
        .stopped = fetch_waiters_free,
    };
    b.cfg = &cfg;
    b.topics = &topics;
    b.hooks = &hooks;
    int rc = 1;
    if (broker_listeners(&cfg, &b.listeners, &b.nlisteners, err, sizeof err) != 0) {
        KLOG_ERROR("invalid listeners: %s", err);
        goto out;
    }
    if (mkdir(cfg.log_dirs, 0755) != 0 && errno != EEXIST) {
        KLOG_ERROR("cannot create log dir %s: %s", cfg.log_dirs, strerror(errno));
        goto out;
    }
    /* Dynamic broker configs change defaults the topics are opened with.
     * Groups need the event base for their timers, and must be loaded
     * before the first request arrives. */
    if (read_meta(&b) != 0 || dynconfig_open(&b) != 0 || topics_open(&topics, &cfg) != 0 ||
        !(b.base = event_base_new()) || cluster_open(&b) != 0 || write_meta(&b) != 0 ||
        scram_store_open(&b, cluster_zk(&b)) != 0 ||
        authz_open(&b, cluster_zk(&b)) != 0 || groups_open(&b) != 0 ||
        broker_start(&b) != 0 || bm_open(&b) != 0)
        goto out;
    KLOG_INFO("kavka broker %d started (cluster id %s, log dir %s)", cfg.broker_id, b.cluster_id,
              cfg.log_dirs);
    event_base_dispatch(b.base);
    rc = 0;
out:
    bm_close();
    broker_stop(&b);
    cluster_close(&b);
    /* Never exit 0 after a storage failure: a partition or the group store
     * that went offline may have lost acknowledged writes (storage.md). */
    int lost = groups_close(&b) != 0;
    scram_store_close();
    authz_close();
    lost += topics_close(&topics);
    if (b.base)
        event_base_free(b.base);
    broker_listeners_free(b.listeners, b.nlisteners);
    dynconfig_close(&b);
    broker_config_free(&cfg);
    if (rc != 0) {
        KLOG_ERROR("kavka broker failed to start");
        return rc;
    }
    if (lost) {
        KLOG_ERROR("kavka broker stopped after storage failures (%d offline log(s), see above)",
                   lost);
        return 1;
    }
    KLOG_INFO("kavka broker stopped");
    return 0;
}
