/*
 * zk_c_adapter.c — conformance adapter: the ZooKeeper C client
 * (libzookeeper_mt, Debian's libzookeeper-mt-dev) against kavka's metastore.
 * Runs the ZooKeeper scenarios of docs/conformance.md with the synchronous
 * API and prints "RESULT <scenario> PASS|FAIL|N/A [detail]" for each.
 * Environment: KC_ZK (host:port), KC_PREFIX (znode name prefix).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* The synchronous API exists only in the multi-threaded library. */
#define THREADED
#include <zookeeper/zookeeper.h>

static const char *hosts;
static char base[256];
static char failmsg[512];
static char detail[512];

__attribute__((format(printf, 2, 3)))
static int fail(int line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(failmsg, sizeof failmsg, "line %d: ", line);
    va_start(ap, fmt);
    vsnprintf(failmsg + n, sizeof failmsg - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

#define CHECK(cond)                                       \
    do {                                                  \
        if (!(cond))                                      \
            return fail(__LINE__, "check failed: %s", #cond); \
    } while (0)

#define CHECK_RC(call, want)                                                                 \
    do {                                                                                     \
        int rc_ = (call);                                                                    \
        if (rc_ != (want))                                                                   \
            return fail(__LINE__, "%s -> %s (%d), want %s", #call, zerror(rc_), rc_, zerror(want)); \
    } while (0)

static void path_of(char *out, size_t n, const char *suffix)
{
    snprintf(out, n, "%s%s", base, suffix);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- sessions */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

struct session {
    int state; /* last session state seen by the global watcher */
};

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)path;
    (void)ctx;
    struct session *s = (struct session *)zoo_get_context(zh);
    if (type != ZOO_SESSION_EVENT || !s)
        return;
    pthread_mutex_lock(&mu);
    s->state = state;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits up to `secs` for *flag (under mu) to become nonzero. */
static int wait_flag(const int *flag, int secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    pthread_mutex_lock(&mu);
    while (!*flag && pthread_cond_timedwait(&cv, &mu, &ts) == 0)
        ;
    int v = *flag;
    pthread_mutex_unlock(&mu);
    return v;
}

static zhandle_t *connect_session(struct session *s)
{
    s->state = 0;
    zhandle_t *zh = zookeeper_init(hosts, session_watcher, 8000, NULL, s, 0);
    if (!zh)
        return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 15;
    pthread_mutex_lock(&mu);
    while (s->state != ZOO_CONNECTED_STATE && pthread_cond_timedwait(&cv, &mu, &ts) == 0)
        ;
    int ok = s->state == ZOO_CONNECTED_STATE;
    pthread_mutex_unlock(&mu);
    if (!ok) {
        zookeeper_close(zh);
        return NULL;
    }
    return zh;
}

/* ---------------------------------------------------------------- watches */

struct watch {
    int count;     /* node events */
    int type;      /* of the last one */
    char path[256];
};

static void node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    struct watch *w = ctx;
    if (type == ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&mu);
    w->count++;
    w->type = type;
    snprintf(w->path, sizeof w->path, "%s", path ? path : "");
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static const char *event_name(int type)
{
    if (type == ZOO_CREATED_EVENT)
        return "NodeCreated";
    if (type == ZOO_DELETED_EVENT)
        return "NodeDeleted";
    if (type == ZOO_CHANGED_EVENT)
        return "NodeDataChanged";
    if (type == ZOO_CHILD_EVENT)
        return "NodeChildrenChanged";
    return "?";
}

/* ---------------------------------------------------------------- auth completion */

struct done {
    int done, rc;
};

static void void_done(int rc, const void *data)
{
    struct done *d = (struct done *)data;
    pthread_mutex_lock(&mu);
    d->rc = rc;
    d->done = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static int add_auth(zhandle_t *zh, const char *cred)
{
    struct done d = { 0, -999 };
    int rc = zoo_add_auth(zh, "digest", cred, (int)strlen(cred), void_done, &d);
    if (rc != ZOK)
        return rc;
    if (!wait_flag(&d.done, 10))
        return ZOPERATIONTIMEOUT;
    return d.rc;
}

/* ---------------------------------------------------------------- scenarios */

static int crud(zhandle_t *zh)
{
    char p[300], a[320], b[320], out[320], buf[64];
    struct Stat st;
    int len = sizeof buf;
    path_of(p, sizeof p, "/crud");
    snprintf(a, sizeof a, "%s/a", p);
    snprintf(b, sizeof b, "%s/b", p);
    CHECK_RC(zoo_create(zh, p, "hello", 5, &ZOO_OPEN_ACL_UNSAFE, 0, out, sizeof out), ZOK);
    CHECK(strcmp(out, p) == 0);
    CHECK_RC(zoo_create(zh, p, "again", 5, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZNODEEXISTS);
    CHECK_RC(zoo_get(zh, p, 0, buf, &len, &st), ZOK);
    CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(st.version == 0 && st.dataLength == 5 && st.numChildren == 0 && st.ephemeralOwner == 0);
    CHECK(st.czxid > 0 && st.czxid == st.mzxid);
    CHECK_RC(zoo_set2(zh, p, "world", 5, 0, &st), ZOK);
    CHECK(st.version == 1);
    CHECK_RC(zoo_set(zh, p, "stale", 5, 0), ZBADVERSION);
    len = sizeof buf;
    CHECK_RC(zoo_get(zh, p, 0, buf, &len, &st), ZOK);
    CHECK(len == 5 && memcmp(buf, "world", 5) == 0 && st.version == 1);
    CHECK_RC(zoo_create(zh, b, "b", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    CHECK_RC(zoo_create(zh, a, "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    struct String_vector kids = { 0, NULL };
    CHECK_RC(zoo_get_children(zh, p, 0, &kids), ZOK);
    int ok = kids.count == 2 && ((strcmp(kids.data[0], "a") == 0 && strcmp(kids.data[1], "b") == 0) ||
                                 (strcmp(kids.data[0], "b") == 0 && strcmp(kids.data[1], "a") == 0));
    deallocate_String_vector(&kids);
    CHECK(ok);
    CHECK_RC(zoo_exists(zh, p, 0, &st), ZOK);
    CHECK(st.numChildren == 2);
    CHECK_RC(zoo_delete(zh, p, -1), ZNOTEMPTY);
    CHECK_RC(zoo_delete(zh, a, 5), ZBADVERSION);
    CHECK_RC(zoo_delete(zh, a, 0), ZOK);
    CHECK_RC(zoo_delete(zh, b, -1), ZOK);
    CHECK_RC(zoo_delete(zh, p, 1), ZOK);
    len = sizeof buf;
    CHECK_RC(zoo_get(zh, p, 0, buf, &len, &st), ZNONODE);
    CHECK_RC(zoo_exists(zh, p, 0, &st), ZNONODE);
    CHECK_RC(zoo_delete(zh, p, -1), ZNONODE);
    CHECK_RC(zoo_set(zh, p, "x", 1, -1), ZNONODE);
    CHECK_RC(zoo_create(zh, a, "orphan", 6, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZNONODE);
    snprintf(detail, sizeof detail,
             "create/get/stat/set2(version)/children/delete(version); NodeExists, BadVersion, NotEmpty, NoNode");
    return 0;
}

static int ephemeral(zhandle_t *zh)
{
    char p[300], child[320];
    struct Stat st;
    struct session s2;
    path_of(p, sizeof p, "/eph");
    snprintf(child, sizeof child, "%s/child", p);
    zhandle_t *owner = connect_session(&s2);
    CHECK(owner != NULL);
    int64_t sid = zoo_client_id(owner)->client_id;
    int rc = zoo_create(owner, p, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    int rc2 = zoo_create(owner, child, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    int rc3 = zoo_exists(zh, p, 0, &st);
    zookeeper_close(owner);
    CHECK_RC(rc, ZOK);
    CHECK_RC(rc2, ZNOCHILDRENFOREPHEMERALS);
    CHECK_RC(rc3, ZOK);
    CHECK(st.ephemeralOwner == sid && sid != 0);
    CHECK_RC(zoo_exists(zh, p, 0, &st), ZNONODE);
    snprintf(detail, sizeof detail, "seen by another session (owner 0x%llx), gone after close",
             (unsigned long long)sid);
    return 0;
}

static int sequential(zhandle_t *zh)
{
    char p[300], prefix[320], out[320];
    const int flags[5] = { ZOO_SEQUENCE, ZOO_SEQUENCE, ZOO_SEQUENCE | ZOO_EPHEMERAL, ZOO_SEQUENCE,
                           ZOO_SEQUENCE | ZOO_EPHEMERAL };
    long long last = -1;
    struct Stat st;
    path_of(p, sizeof p, "/seq");
    snprintf(prefix, sizeof prefix, "%s/n-", p);
    CHECK_RC(zoo_create(zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    size_t used = 0;
    detail[0] = 0;
    for (int i = 0; i < 5; i++) {
        CHECK_RC(zoo_create(zh, prefix, "d", 1, &ZOO_OPEN_ACL_UNSAFE, flags[i], out, sizeof out), ZOK);
        size_t pl = strlen(prefix);
        CHECK(strncmp(out, prefix, pl) == 0 && strlen(out) == pl + 10);
        CHECK(strspn(out + pl, "0123456789") == 10);
        long long n = atoll(out + pl);
        if (n <= last)
            return fail(__LINE__, "suffix %lld after %lld does not increase", n, last);
        last = n;
        CHECK_RC(zoo_exists(zh, out, 0, &st), ZOK);
        CHECK((st.ephemeralOwner != 0) == ((flags[i] & ZOO_EPHEMERAL) != 0));
        used += (size_t)snprintf(detail + used, sizeof detail - used, "%s%s", i ? "," : "suffixes ", out + pl);
    }
    struct String_vector kids = { 0, NULL };
    CHECK_RC(zoo_get_children(zh, p, 0, &kids), ZOK);
    int n = kids.count;
    deallocate_String_vector(&kids);
    CHECK(n == 5);
    return 0;
}

static int watch(zhandle_t *zh)
{
    char p[300], pn[300], c1[320], c2[320], buf[16];
    struct Stat st;
    struct session s2;
    struct watch wd = { 0, 0, "" }, wc = { 0, 0, "" }, we = { 0, 0, "" };
    int len = sizeof buf;
    path_of(p, sizeof p, "/w");
    path_of(pn, sizeof pn, "/wn");
    snprintf(c1, sizeof c1, "%s/c", p);
    snprintf(c2, sizeof c2, "%s/c2", p);
    CHECK_RC(zoo_create(zh, p, "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    CHECK_RC(zoo_wget(zh, p, node_watcher, &wd, buf, &len, &st), ZOK);
    struct String_vector kids = { 0, NULL };
    CHECK_RC(zoo_wget_children(zh, p, node_watcher, &wc, &kids), ZOK);
    deallocate_String_vector(&kids);
    CHECK_RC(zoo_wexists(zh, pn, node_watcher, &we, &st), ZNONODE);
    zhandle_t *other = connect_session(&s2);
    CHECK(other != NULL);
    int rc[6];
    rc[0] = zoo_set(other, p, "v1", 2, -1);
    rc[1] = zoo_create(other, c1, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    rc[2] = zoo_create(other, pn, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    int fired = wait_flag(&wd.count, 10) && wait_flag(&wc.count, 10) && wait_flag(&we.count, 10);
    /* one-shot: more changes fire nothing */
    rc[3] = zoo_set(other, p, "v2", 2, -1);
    rc[4] = zoo_create(other, c2, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    rc[5] = zoo_set(other, pn, "z", 1, -1);
    zookeeper_close(other);
    for (int i = 0; i < 6; i++)
        CHECK_RC(rc[i], ZOK);
    CHECK(fired);
    CHECK_RC(zoo_exists(zh, p, 0, &st), ZOK);
    usleep(500000);
    pthread_mutex_lock(&mu);
    struct watch d = wd, c = wc, e = we;
    pthread_mutex_unlock(&mu);
    if (d.count != 1 || d.type != ZOO_CHANGED_EVENT || strcmp(d.path, p) != 0)
        return fail(__LINE__, "data watch: %d x %s %s", d.count, event_name(d.type), d.path);
    if (c.count != 1 || c.type != ZOO_CHILD_EVENT || strcmp(c.path, p) != 0)
        return fail(__LINE__, "child watch: %d x %s %s", c.count, event_name(c.type), c.path);
    if (e.count != 1 || e.type != ZOO_CREATED_EVENT || strcmp(e.path, pn) != 0)
        return fail(__LINE__, "exists watch: %d x %s %s", e.count, event_name(e.type), e.path);
    snprintf(detail, sizeof detail, "NodeDataChanged, NodeChildrenChanged, NodeCreated once each");
    return 0;
}

static int multi(zhandle_t *zh)
{
    char p[300], a[320], b[320], pa[320], pb[320], buf[16];
    struct Stat st, st2;
    int len;
    zoo_op_t ops[4];
    zoo_op_result_t res[4];
    path_of(p, sizeof p, "/multi");
    snprintf(a, sizeof a, "%s/a", p);
    snprintf(b, sizeof b, "%s/b", p);
    CHECK_RC(zoo_create(zh, p, "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);

    zoo_check_op_init(&ops[0], p, 0);
    zoo_create_op_init(&ops[1], a, "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, pa, sizeof pa);
    zoo_set_op_init(&ops[2], p, "v1", 2, 0, &st2);
    zoo_check_op_init(&ops[3], p, 1);
    CHECK_RC(zoo_multi(zh, 4, ops, res), ZOK);
    for (int i = 0; i < 4; i++)
        CHECK_RC(res[i].err, ZOK);
    CHECK(strcmp(pa, a) == 0 && st2.version == 1);
    len = sizeof buf;
    CHECK_RC(zoo_get(zh, p, 0, buf, &len, &st), ZOK);
    CHECK(len == 2 && memcmp(buf, "v1", 2) == 0 && st.version == 1);
    CHECK_RC(zoo_exists(zh, a, 0, &st), ZOK);

    /* the last op fails: nothing of the first two is applied */
    zoo_create_op_init(&ops[0], b, "b", 1, &ZOO_OPEN_ACL_UNSAFE, 0, pb, sizeof pb);
    zoo_set_op_init(&ops[1], p, "v2", 2, 1, NULL);
    zoo_check_op_init(&ops[2], p, 99);
    CHECK_RC(zoo_multi(zh, 3, ops, res), ZBADVERSION);
    CHECK_RC(res[0].err, ZOK);
    CHECK_RC(res[1].err, ZOK);
    CHECK_RC(res[2].err, ZBADVERSION);
    CHECK_RC(zoo_exists(zh, b, 0, &st), ZNONODE);
    len = sizeof buf;
    CHECK_RC(zoo_get(zh, p, 0, buf, &len, &st), ZOK);
    CHECK(len == 2 && memcmp(buf, "v1", 2) == 0 && st.version == 1);

    /* the first op fails: the rest is not run */
    zoo_delete_op_init(&ops[0], a, 42);
    zoo_create_op_init(&ops[1], b, "b", 1, &ZOO_OPEN_ACL_UNSAFE, 0, pb, sizeof pb);
    zoo_delete_op_init(&ops[2], a, -1);
    CHECK_RC(zoo_multi(zh, 3, ops, res), ZBADVERSION);
    CHECK_RC(res[0].err, ZBADVERSION);
    CHECK_RC(res[1].err, ZRUNTIMEINCONSISTENCY);
    CHECK_RC(res[2].err, ZRUNTIMEINCONSISTENCY);
    CHECK_RC(zoo_exists(zh, a, 0, &st), ZOK);
    CHECK_RC(zoo_exists(zh, b, 0, &st), ZNONODE);
    snprintf(detail, sizeof detail, "check+create+set+check committed; failing multis applied nothing");
    return 0;
}

static int acl(zhandle_t *zh)
{
    char p[300], buf[16];
    struct Stat st;
    struct session s1, s2;
    int len;
    path_of(p, sizeof p, "/acl");
    (void)zh;
    /* The creator authenticates and creates with its own digest ACL
     * (ZOO_CREATOR_ALL_ACL: "auth" scheme, stored as digest:user:hash). */
    zhandle_t *owner = connect_session(&s1);
    CHECK(owner != NULL);
    int rc0 = add_auth(owner, "cfuser:cfpass");
    int rc1 = zoo_create(owner, p, "secret", 6, &ZOO_CREATOR_ALL_ACL, 0, NULL, 0);
    zookeeper_close(owner);
    CHECK_RC(rc0, ZOK);
    CHECK_RC(rc1, ZOK);

    zhandle_t *c = connect_session(&s2);
    CHECK(c != NULL);
    int r[8];
    struct ACL_vector acls = { 0, NULL };
    len = sizeof buf;
    r[0] = zoo_get(c, p, 0, buf, &len, &st);
    r[1] = zoo_set(c, p, "x", 1, -1);
    r[2] = add_auth(c, "cfuser:wrong");
    len = sizeof buf;
    r[3] = zoo_get(c, p, 0, buf, &len, &st);
    r[4] = add_auth(c, "cfuser:cfpass");
    len = sizeof buf;
    r[5] = zoo_get(c, p, 0, buf, &len, &st);
    int got = r[5] == ZOK && len == 6 && memcmp(buf, "secret", 6) == 0;
    r[6] = zoo_set(c, p, "changed", 7, -1);
    r[7] = zoo_get_acl(c, p, &acls, &st);
    zookeeper_close(c);
    CHECK_RC(r[0], ZNOAUTH);
    CHECK_RC(r[1], ZNOAUTH);
    CHECK_RC(r[2], ZOK); /* digest addauth always succeeds; it only adds an id */
    CHECK_RC(r[3], ZNOAUTH);
    CHECK_RC(r[4], ZOK);
    CHECK_RC(r[5], ZOK);
    CHECK(got);
    CHECK_RC(r[6], ZOK);
    CHECK_RC(r[7], ZOK);
    /* digest ids are user:base64(sha1("user:password")) */
    int ok = acls.count == 1 && strcmp(acls.data[0].id.scheme, "digest") == 0 &&
             strcmp(acls.data[0].id.id, "cfuser:guc8q8QFuuu61AVeV2bPfBC4z3g=") == 0 &&
             acls.data[0].perms == ZOO_PERM_ALL;
    if (!ok) {
        fail(__LINE__, "getAcl: %d entries, first %s:%s perms %d", acls.count,
             acls.count ? acls.data[0].id.scheme : "-", acls.count ? acls.data[0].id.id : "-",
             acls.count ? acls.data[0].perms : 0);
        deallocate_ACL_vector(&acls);
        return -1;
    }
    snprintf(detail, sizeof detail,
             "NoAuth without/with wrong credentials, allowed after zoo_add_auth, getAcl %s", acls.data[0].id.id);
    deallocate_ACL_vector(&acls);
    return 0;
}

int main(void)
{
    hosts = getenv("KC_ZK");
    const char *prefix = getenv("KC_PREFIX");
    if (!hosts || !prefix) {
        fprintf(stderr, "zk-c-adapter: KC_ZK and KC_PREFIX must be set\n");
        return 2;
    }
    snprintf(base, sizeof base, "/%s", prefix);
    setvbuf(stdout, NULL, _IOLBF, 0);
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    fprintf(stderr, "ZooKeeper C client %s\n", ZOO_VERSION);
    double t0 = now();
    struct session s;
    zhandle_t *zh = connect_session(&s);
    int rc = zh ? zoo_create(zh, base, "root", 4, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0) : ZCONNECTIONLOSS;
    if (rc != ZOK) {
        const char *all[] = { "crud", "ephemeral", "sequential", "watch", "multi", "acl", "sasl", "recipes" };
        for (int i = 0; i < 8; i++)
            printf("RESULT %s FAIL cannot connect/create %s: %s\n", all[i], base, zerror(rc));
        return 1;
    }
    struct {
        const char *name;
        int (*fn)(zhandle_t *);
    } scen[] = {
        { "crud", crud }, { "ephemeral", ephemeral }, { "sequential", sequential },
        { "watch", watch }, { "multi", multi }, { "acl", acl },
    };
    for (size_t i = 0; i < sizeof scen / sizeof scen[0]; i++) {
        failmsg[0] = detail[0] = 0;
        double t = now();
        if (scen[i].fn(zh) == 0)
            printf("RESULT %s PASS %s (%.1fs)\n", scen[i].name, detail, now() - t);
        else
            printf("RESULT %s FAIL %s\n", scen[i].name, failmsg);
    }
    /* Debian's libzookeeper_mt is built without Cyrus SASL: it has no
     * zookeeper_init_sasl. A SASL-enabled build would need this adapter
     * to grow the scenario, so that is reported as a failure, not N/A. */
    if (dlsym(RTLD_DEFAULT, "zookeeper_init_sasl"))
        printf("RESULT sasl FAIL this libzookeeper_mt has SASL (zookeeper_init_sasl) but the adapter "
               "does not drive it yet\n");
    else
        printf("RESULT sasl N/A this libzookeeper_mt (%s, Debian's) is built without SASL "
               "(no zookeeper_init_sasl)\n", ZOO_VERSION);
    printf("RESULT recipes N/A the C client ships no recipes (lock, election, queue)\n");
    zookeeper_close(zh);
    fprintf(stderr, "zk-c-adapter done in %.1fs\n", now() - t0);
    return 0;
}
