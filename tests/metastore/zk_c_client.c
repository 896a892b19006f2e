/*
 * zk_c_client.c — drives a server with the ZooKeeper C client
 * (libzookeeper_mt): synchronous and asynchronous calls, multi and watches.
 * Usage: zk_c_client host:port. Exits 0 when every check passes and prints
 * the first failing check otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* The synchronous API exists only in the multi-threaded library. */
#define THREADED
#include <zookeeper/zookeeper.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected;
static int watch_type, watch_count;
static char watch_path[256];
static int async_done, async_rc;
static char async_buf[256];
static int async_len;

static void signal_all(void)
{
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void global_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)ctx;
    pthread_mutex_lock(&mu);
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE)
        connected = 1;
    else if (type != ZOO_SESSION_EVENT) {
        watch_type = type;
        watch_count++;
        snprintf(watch_path, sizeof watch_path, "%s", path);
    }
    signal_all();
}

/* Wait until *flag becomes nonzero (5 s at most). */
static int wait_for(int *flag)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&mu);
    while (!*flag && pthread_cond_timedwait(&cv, &mu, &ts) == 0)
        ;
    int v = *flag;
    pthread_mutex_unlock(&mu);
    return v;
}

static void data_done(int rc, const char *value, int len, const struct Stat *st, const void *d)
{
    (void)st;
    (void)d;
    pthread_mutex_lock(&mu);
    async_rc = rc;
    async_len = len;
    if (value && len > 0 && len < (int)sizeof async_buf)
        memcpy(async_buf, value, (size_t)len);
    async_done = 1;
    signal_all();
}

static void string_done(int rc, const char *value, const void *d)
{
    (void)d;
    pthread_mutex_lock(&mu);
    async_rc = rc;
    snprintf(async_buf, sizeof async_buf, "%s", value ? value : "");
    async_done = 1;
    signal_all();
}

static void reset_async(void)
{
    pthread_mutex_lock(&mu);
    async_done = 0;
    async_rc = -999;
    memset(async_buf, 0, sizeof async_buf);
    pthread_mutex_unlock(&mu);
}

static void sync_calls(zhandle_t *zh)
{
    char path[256];
    char buf[64];
    int len = sizeof buf;
    struct Stat st;
    CHECK(zoo_create(zh, "/c", "hello", 5, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path) == ZOK);
    CHECK(strcmp(path, "/c") == 0);
    CHECK(zoo_create(zh, "/c", "x", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0) == ZNODEEXISTS);
    CHECK(zoo_get(zh, "/c", 0, buf, &len, &st) == ZOK);
    CHECK(len == 5 && memcmp(buf, "hello", 5) == 0 && st.version == 0 && st.dataLength == 5);
    CHECK(zoo_set(zh, "/c", "bye", 3, 0) == ZOK);
    CHECK(zoo_set(zh, "/c", "bye", 3, 0) == ZBADVERSION);
    CHECK(zoo_create(zh, "/c/s-", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE | ZOO_EPHEMERAL,
                     path, sizeof path) == ZOK);
    CHECK(strcmp(path, "/c/s-0000000000") == 0);
    struct String_vector kids;
    CHECK(zoo_get_children(zh, "/c", 0, &kids) == ZOK);
    CHECK(kids.count == 1 && strcmp(kids.data[0], "s-0000000000") == 0);
    deallocate_String_vector(&kids);
    CHECK(zoo_exists(zh, "/nope", 0, &st) == ZNONODE);
    CHECK(zoo_delete(zh, "/c", -1) == ZNOTEMPTY);
    len = sizeof buf;
    CHECK(zoo_get(zh, "/c/s-0000000000", 0, buf, &len, &st) == ZOK && len == -1);
}

static void async_calls(zhandle_t *zh)
{
    reset_async();
    CHECK(zoo_acreate(zh, "/a", "async", 5, &ZOO_OPEN_ACL_UNSAFE, 0, string_done, NULL) == ZOK);
    CHECK(wait_for(&async_done) && async_rc == ZOK && strcmp(async_buf, "/a") == 0);
    reset_async();
    CHECK(zoo_aget(zh, "/a", 0, data_done, NULL) == ZOK);
    CHECK(wait_for(&async_done) && async_rc == ZOK && async_len == 5);
    CHECK(memcmp(async_buf, "async", 5) == 0);
    reset_async();
    CHECK(zoo_aget(zh, "/missing", 0, data_done, NULL) == ZOK);
    CHECK(wait_for(&async_done) && async_rc == ZNONODE);
}

static void multi_calls(zhandle_t *zh)
{
    zoo_op_t ops[3];
    zoo_op_result_t res[3];
    char p0[64], p1[64];
    zoo_create_op_init(&ops[0], "/m", "1", 1, &ZOO_OPEN_ACL_UNSAFE, 0, p0, sizeof p0);
    zoo_create_op_init(&ops[1], "/m/x", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, p1, sizeof p1);
    zoo_set_op_init(&ops[2], "/m", "2", 1, 0, NULL);
    CHECK(zoo_multi(zh, 3, ops, res) == ZOK);
    CHECK(res[0].err == ZOK && res[1].err == ZOK && res[2].err == ZOK);
    CHECK(strcmp(p0, "/m") == 0 && strcmp(p1, "/m/x") == 0);
    zoo_delete_op_init(&ops[0], "/m/x", -1);
    zoo_check_op_init(&ops[1], "/m", 7);
    zoo_delete_op_init(&ops[2], "/m", -1);
    CHECK(zoo_multi(zh, 3, ops, res) == ZBADVERSION);
    CHECK(res[0].err == ZOK && res[1].err == ZBADVERSION && res[2].err == ZRUNTIMEINCONSISTENCY);
    struct Stat st;
    CHECK(zoo_exists(zh, "/m/x", 0, &st) == ZOK);
}

static void watches(zhandle_t *zh, zhandle_t *other)
{
    char buf[16];
    int len = sizeof buf;
    struct Stat st;
    CHECK(zoo_get(zh, "/a", 1, buf, &len, &st) == ZOK);
    CHECK(zoo_set(other, "/a", "changed", 7, -1) == ZOK);
    CHECK(wait_for(&watch_count));
    CHECK(watch_type == ZOO_CHANGED_EVENT && strcmp(watch_path, "/a") == 0);
    CHECK(zoo_exists(zh, "/w", 1, &st) == ZNONODE);
    pthread_mutex_lock(&mu);
    watch_count = 0;
    pthread_mutex_unlock(&mu);
    CHECK(zoo_create(other, "/w", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0) == ZOK);
    CHECK(wait_for(&watch_count));
    CHECK(watch_type == ZOO_CREATED_EVENT && strcmp(watch_path, "/w") == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: zk_c_client host:port\n");
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    zhandle_t *zh = zookeeper_init(argv[1], global_watcher, 10000, NULL, NULL, 0);
    CHECK(zh && wait_for(&connected));
    zhandle_t *other = zookeeper_init(argv[1], NULL, 10000, NULL, NULL, 0);
    CHECK(other);
    for (int i = 0; i < 100 && zoo_state(other) != ZOO_CONNECTED_STATE; i++)
        usleep(50000);
    sync_calls(zh);
    async_calls(zh);
    multi_calls(zh);
    watches(zh, other);
    CHECK(zookeeper_close(other) == ZOK);
    CHECK(zookeeper_close(zh) == ZOK);
    printf("zk_c_client: all checks passed\n");
    return 0;
}
