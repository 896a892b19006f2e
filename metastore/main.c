/*
 * main.c — `kavka-metastore [zoo.cfg]`, like `zkServer.sh start-foreground`:
 * configuration from the file and ZOOKEEPER_* variables, recovery, then the
 * event loop until SIGTERM/SIGINT, after which the txn log is synced and the
 * process exits 0 — or 1 when it stopped on a fatal error (a failed txn log
 * write or fdatasync) or the final sync failed.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "klog.h"
#include "metrics.h"
#include "server.h"

extern char **environ;

static void usage(void)
{
    fprintf(stderr, "usage: kavka-metastore [zoo.cfg]\n"
                    "  ZOOKEEPER_* environment variables override the file\n"
                    "  (ZOOKEEPER_CLIENT_PORT -> clientPort, ...); KAVKA_LOG_LEVEL sets logging.\n");
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0) {
        /* Its entry must be durable before anything in it can be. */
        if (fio_sync_parent(dir) != 0) {
            KLOG_ERROR("cannot fsync the directory holding %s: %s", dir, strerror(errno));
            return -1;
        }
    } else if (errno != EEXIST) {
        KLOG_ERROR("cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        usage();
        return argc > 2 ? 2 : 0;
    }
    const char *level = getenv("KAVKA_LOG_LEVEL");
    if (level && klog_level_parse(level) >= 0)
        klog_set_level(klog_level_parse(level));
    static struct ms_config cfg;
    char err[512];
    if (ms_config_load(&cfg, argc == 2 ? argv[1] : NULL, environ, err, sizeof err) != 0) {
        KLOG_ERROR("invalid configuration: %s", err);
        return 1;
    }
    if (make_dir(cfg.data_dir) != 0 || make_dir(cfg.data_log_dir) != 0)
        return 1;
    struct event_base *base = event_base_new();
    static struct ms_server srv;
    if (!base || ms_server_init(&srv, &cfg, base) != 0 || msm_open(&srv) != 0) {
        KLOG_ERROR("kavka-metastore failed to start");
        return 1;
    }
    event_base_dispatch(base);
    msm_close();
    int rc = ms_server_shutdown(&srv);
    ms_server_free(&srv);
    event_base_free(base);
    ms_config_free(&cfg);
    if (rc != 0) {
        /* Fail-stop (docs/metastore.md, "Failure model"): the held replies
         * were not sent; recovery at the next start decides what is durable. */
        KLOG_ERROR("kavka-metastore stopped after a fatal error");
        return 1;
    }
    KLOG_INFO("kavka-metastore stopped");
    return 0;
}
