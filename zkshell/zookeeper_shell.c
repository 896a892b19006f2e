/*
 * zookeeper_shell.c — `zookeeper-shell` / `zkCli.sh` for the kavka images: a
 * ZooKeeper command-line client in C on the project's jute codec, with the
 * arguments and the output of ZooKeeper 3.8's ZooKeeperMain (the client that
 * Kafka's and Confluent's `zookeeper-shell` run), for the everyday subset:
 *
 *     ls [-s] [-w] [-R] path      get [-s] [-w] path        stat [-w] path
 *     create [-s] [-e] [-c] [-t ttl] path [data] [acl]
 *     set path data [-s] [-v version]       delete [-v version] path
 *     deleteall path [-b batch size]        quit
 *
 * Invocation, as the two scripts call ZooKeeperMain:
 *
 *     zookeeper-shell HOST:PORT[/chroot] [cmd args...]     (Kafka's script: "-server" "$@")
 *     zkCli.sh [-server HOST:PORT[,...][/chroot]] [-timeout MS] [-r] [cmd args...]
 *
 * With a command it runs that one command and exits with its status (0, 1
 * for a failed command, 127 for an unknown one); without, it reads commands
 * from stdin, one per line, printing a prompt only when stdin is a terminal.
 * What ZooKeeperMain prints on stdout (data, lists, stats, watch events) goes
 * to stdout here, and what it prints on stderr (Created ..., errors, usage)
 * to stderr.
 *
 * SASL: when a JVM options variable (SERVER_JVMFLAGS, KAFKA_OPTS, JVMFLAGS,
 * CLIENT_JVMFLAGS; the last -D wins) names a JAAS file with
 * -Djava.security.auth.login.config, the session logs in with the `Client`
 * section's username/password (or the section -Dzookeeper.sasl.clientconfig
 * names) over DIGEST-MD5, as ZooKeeper's Java client does;
 * -Dzookeeper.sasl.client=false turns that off.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "jaas.h"
#include "jute.h"
#include "sasl_digest.h"
#include "wire.h"

#define MAX_FRAME (4 * 1024 * 1024)   /* jute.maxbuffer (1 MiB) with room to spare */
#define EXIT_CMD_NOT_FOUND 127

/* ---------------- small helpers ---------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fputs("zookeeper-shell: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xcalloc(n + 1, 1);
    memcpy(d, s, n);
    return d;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* Everything ZooKeeperMain prints with System.err: flush stdout first so a
 * terminal shows both in order. */
static void errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errf(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* KeeperException.Code.getCodeMessage */
static const char *code_message(int rc)
{
    switch (rc) {
    case ZSYSTEMERROR: return "SystemError";
    case ZRUNTIMEINCONSISTENCY: return "RuntimeInconsistency";
    case ZDATAINCONSISTENCY: return "DataInconsistency";
    case ZCONNECTIONLOSS: return "ConnectionLoss";
    case ZMARSHALLINGERROR: return "MarshallingError";
    case ZUNIMPLEMENTED: return "Unimplemented";
    case ZOPERATIONTIMEOUT: return "OperationTimeout";
    case ZBADARGUMENTS: return "BadArguments";
    case ZAPIERROR: return "APIError";
    case ZNONODE: return "NoNode";
    case ZNOAUTH: return "NoAuth";
    case ZBADVERSION: return "BadVersion";
    case ZNOCHILDRENFOREPHEMERALS: return "NoChildrenForEphemerals";
    case ZNODEEXISTS: return "NodeExists";
    case ZNOTEMPTY: return "Directory not empty";
    case ZSESSIONEXPIRED: return "Session expired";
    case ZINVALIDCALLBACK: return "Invalid callback";
    case ZINVALIDACL: return "InvalidACL";
    case ZAUTHFAILED: return "AuthFailed";
    case ZSESSIONMOVED: return "Session moved";
    case ZNOTREADONLY: return "Not a read-only call";
    case -120: return "Ephemeral node on local session";
    case ZNOWATCHER: return "No such watcher";
    case -123: return "Reconfig is disabled";
    case ZSESSIONCLOSEDREQUIRESASLAUTH: return "Session closed because client failed to authenticate";
    case -125: return "Quota has exceeded";
    case -127: return "Op throttled due to high load";
    default: return NULL;
    }
}

/* KeeperException.getMessage(): "KeeperErrorCode = X for /path". */
static void keeper_message(int rc, const char *path, char *out, size_t n)
{
    const char *m = code_message(rc);
    char unk[64];
    if (!m) {
        snprintf(unk, sizeof unk, "Unknown error %d", rc);
        m = unk;
    }
    if (path)
        snprintf(out, n, "KeeperErrorCode = %s for %s", m, path);
    else
        snprintf(out, n, "KeeperErrorCode = %s", m);
}

/* CliWrapperException's message for a KeeperException on `path`. */
static void print_keeper_error(int rc, const char *path)
{
    const char *p = path ? path : "null";
    switch (rc) {
    case ZNONODE: errf("Node does not exist: %s\n", p); return;
    case ZNOCHILDRENFOREPHEMERALS: errf("Ephemerals cannot have children: %s\n", p); return;
    case ZNODEEXISTS: errf("Node already exists: %s\n", p); return;
    case ZNOTEMPTY: errf("Node not empty: %s\n", p); return;
    case ZNOTREADONLY: errf("Not a read-only call: %s\n", p); return;
    case ZINVALIDACL: errf("Acl is not valid : %s\n", p); return;
    case ZNOAUTH: errf("Insufficient permission : %s\n", p); return;
    case ZBADARGUMENTS: errf("Arguments are not valid : %s\n", p); return;
    case ZBADVERSION: errf("version No is not valid : %s\n", p); return;
    case -125: errf("Quota has exceeded : %s\n", p); return;
    default: {
        char msg[512];
        keeper_message(rc, path, msg, sizeof msg);
        errf("%s\n", msg);
    }
    }
}

/* PathUtils.validatePath: 0, or -1 with IllegalArgumentException's message.
 * Indexes count UTF-16 units, as Java's do. */
static int validate_path(const char *path, bool sequential, char *msg, size_t n)
{
    char buf[4096];
    if (sequential) {
        snprintf(buf, sizeof buf, "%s1", path);
        path = buf;
    }
    size_t len = strlen(path);
    if (len == 0) {
        snprintf(msg, n, "Path length must be > 0");
        return -1;
    }
    if (path[0] != '/') {
        snprintf(msg, n, "Path must start with / character");
        return -1;
    }
    if (len == 1)
        return 0;
    if (path[len - 1] == '/') {
        snprintf(msg, n, "Path must not end with / character");
        return -1;
    }
    /* Decode to UTF-16-ish units: code points, supplementary ones as two
     * surrogates (which Java refuses as "invalid character"). */
    uint32_t *u = xcalloc(len * 2 + 1, sizeof *u);
    size_t nu = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)path[i];
        uint32_t cp;
        int k;
        if (c < 0x80) { cp = c; k = 1; }
        else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; k = 2; }
        else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; k = 3; }
        else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; k = 4; }
        else { cp = 0xfffd; k = 1; }
        for (int j = 1; j < k; j++) {
            if (i + (size_t)j >= len || ((unsigned char)path[i + j] & 0xc0) != 0x80) {
                cp = 0xfffd;
                k = j;
                break;
            }
            cp = (cp << 6) | ((unsigned char)path[i + j] & 0x3f);
        }
        i += (size_t)k;
        if (cp >= 0x10000) {
            u[nu++] = 0xd800;
            u[nu++] = 0xdc00;
        } else {
            u[nu++] = cp;
        }
    }
    const char *reason = NULL;
    size_t at = 0;
    uint32_t lastc = '/';
    for (size_t i = 1; i < nu; lastc = u[i], i++) {
        uint32_t c = u[i];
        if (c == 0) {
            reason = "null character not allowed @";
        } else if (c == '/' && lastc == '/') {
            reason = "empty node name specified @";
        } else if (c == '.' && lastc == '.') {
            if (u[i - 2] == '/' && (i + 1 == nu || u[i + 1] == '/'))
                reason = "relative paths not allowed @";
        } else if (c == '.') {
            if (u[i - 1] == '/' && (i + 1 == nu || u[i + 1] == '/'))
                reason = "relative paths not allowed @";
        } else if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
                   (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
            reason = "invalid character @";
        }
        if (reason) {
            at = i;
            break;
        }
    }
    free(u);
    if (reason) {
        snprintf(msg, n, "Invalid path string \"%s\" caused by %s%zu", path, reason, at);
        return -1;
    }
    return 0;
}

/* ---------------- the session ---------------- */

enum zs_state { ZS_NOT_CONNECTED, ZS_CONNECTED, ZS_AUTH_FAILED, ZS_EXPIRED, ZS_CLOSED };

struct zs {
    char *connect_string;          /* as given: the prompt shows it */
    char **hosts;                  /* "host:port" */
    int nhosts, cur;
    char chroot[1024];             /* "" or "/x" */
    int session_timeout;           /* requested */
    bool read_only;
    int fd;
    enum zs_state state;
    bool ever_connected;
    int64_t session_id;
    uint8_t passwd[16];
    int timeout_ms;                /* negotiated */
    int64_t last_zxid;
    int32_t next_xid;
    int64_t last_send;
    uint8_t *rbuf;
    size_t rlen, rcap;
    char *sasl_user, *sasl_password;
};

/* A reply: the frame and a reader positioned after the ReplyHeader. */
struct reply {
    uint8_t *frame;
    size_t len;
    int32_t err;
    struct kr r;
};

static void reply_free(struct reply *rp)
{
    free(rp->frame);
    memset(rp, 0, sizeof *rp);
}

static void print_event(const char *state, const char *type, const char *path)
{
    printf("\nWATCHER::\n\nWatchedEvent state:%s type:%s path:%s\n", state, type,
           path ? path : "null");
    fflush(stdout);
}

static const char *event_type_name(int t)
{
    switch (t) {
    case -1: return "None";
    case 1: return "NodeCreated";
    case 2: return "NodeDeleted";
    case 3: return "NodeDataChanged";
    case 4: return "NodeChildrenChanged";
    case 5: return "DataWatchRemoved";
    case 6: return "ChildWatchRemoved";
    case 7: return "PersistentWatchRemoved";
    default: return "Unknown";
    }
}

static const char *event_state_name(int s)
{
    switch (s) {
    case 0: return "Disconnected";
    case 3: return "SyncConnected";
    case 4: return "AuthFailed";
    case 5: return "ConnectedReadOnly";
    case 6: return "SaslAuthenticated";
    case -112: return "Expired";
    case 7: return "Closed";
    default: return "Unknown";
    }
}

static void zs_drop(struct zs *z, bool report)
{
    if (z->fd >= 0) {
        close(z->fd);
        z->fd = -1;
    }
    z->rlen = 0;
    if (z->state == ZS_CONNECTED) {
        z->state = ZS_NOT_CONNECTED;
        if (report)
            print_event("Disconnected", "None", NULL);
    }
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int zs_send(struct zs *z, struct kw *w)
{
    kw_patch_i32(w, 0, (int32_t)(w->len - 4));
    int rc = w->err ? -1 : write_all(z->fd, w->buf, w->len);
    kw_free(w);
    if (rc == 0)
        z->last_send = now_ms();
    return rc;
}

/* One whole frame into *out (malloc'd), waiting until `deadline` (ms, or -1
 * to return at once when none is buffered). 1 got one, 0 timed out, -1 the
 * connection failed. */
static int zs_read_frame(struct zs *z, int64_t deadline, uint8_t **out, size_t *outlen)
{
    for (;;) {
        if (z->rlen >= 4) {
            uint32_t n = (uint32_t)kr_be(z->rbuf, 4);
            if (n > MAX_FRAME)
                return -1;
            if (z->rlen >= 4 + (size_t)n) {
                *out = xcalloc(n ? n : 1, 1);
                memcpy(*out, z->rbuf + 4, n);
                *outlen = n;
                memmove(z->rbuf, z->rbuf + 4 + n, z->rlen - 4 - n);
                z->rlen -= 4 + (size_t)n;
                return 1;
            }
        }
        int wait = 0;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return 0;
            wait = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd pfd = { z->fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr == 0)
            return 0;
        if (z->rcap - z->rlen < 65536) {
            z->rcap = z->rcap ? z->rcap * 2 : 131072;
            z->rbuf = realloc(z->rbuf, z->rcap);
            if (!z->rbuf)
                return -1;
        }
        ssize_t k = recv(z->fd, z->rbuf + z->rlen, z->rcap - z->rlen, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        z->rlen += (size_t)k;
    }
}

/* Path as the server knows it (chroot prepended) and back. */
static char *server_path(const struct zs *z, const char *path)
{
    if (!z->chroot[0])
        return xstrdup(path);
    size_t rl = strlen(z->chroot);
    char *s = xcalloc(rl + strlen(path) + 1, 1);
    memcpy(s, z->chroot, rl);
    if (strcmp(path, "/") != 0)
        strcpy(s + rl, path);
    return s;
}

static char *client_path(const struct zs *z, const char *path)
{
    size_t rl = strlen(z->chroot);
    if (rl && strncmp(path, z->chroot, rl) == 0) {
        if (path[rl] == 0)
            return xstrdup("/");
        if (path[rl] == '/')
            return xstrdup(path + rl);
    }
    return xstrdup(path);
}

/* A frame that is not the reply being waited for: a watch event or a
 * ping's answer. */
static void zs_other_frame(struct zs *z, const uint8_t *f, size_t n)
{
    struct kr r;
    kr_init(&r, f, n);
    int32_t xid = kr_i32(&r);
    int64_t zxid = kr_i64(&r);
    (void)kr_i32(&r);
    if (zxid > 0)
        z->last_zxid = zxid;
    if (xid != ZXID_NOTIFICATION || r.err)
        return;
    int32_t type = kr_i32(&r);
    int32_t state = kr_i32(&r);
    char *path = jr_string_dup(&r);
    if (!r.err) {
        char *cp = path ? client_path(z, path) : NULL;
        print_event(event_state_name(state), event_type_name(type), cp);
        free(cp);
    }
    free(path);
}

/* Sends the request in w (built by req_begin) and waits for its reply.
 * Returns the reply's error code, or ZCONNECTIONLOSS. */
static int zs_call_raw(struct zs *z, struct kw *w, struct reply *rp)
{
    memset(rp, 0, sizeof *rp);
    int32_t xid = z->next_xid++;
    if (z->next_xid <= 0)
        z->next_xid = 1;
    kw_patch_i32(w, 4, xid);
    if (zs_send(z, w) != 0) {
        zs_drop(z, true);
        return ZCONNECTIONLOSS;
    }
    int64_t deadline = now_ms() + (z->timeout_ms > 0 ? z->timeout_ms : z->session_timeout);
    for (;;) {
        uint8_t *f;
        size_t n;
        int got = zs_read_frame(z, deadline, &f, &n);
        if (got <= 0) {
            zs_drop(z, true);
            return ZCONNECTIONLOSS;
        }
        struct kr r;
        kr_init(&r, f, n);
        int32_t rx = kr_i32(&r);
        int64_t zxid = kr_i64(&r);
        int32_t err = kr_i32(&r);
        if (r.err) {
            free(f);
            zs_drop(z, true);
            return ZCONNECTIONLOSS;
        }
        if (rx != xid) {
            zs_other_frame(z, f, n);
            free(f);
            continue;
        }
        if (zxid > 0)
            z->last_zxid = zxid;
        rp->frame = f;
        rp->len = n;
        rp->err = err;
        rp->r = r;
        return err;
    }
}

static void req_begin(struct kw *w, int32_t op)
{
    kw_init(w, NULL);
    kw_i32(w, 0);     /* length */
    kw_i32(w, 0);     /* xid, set when sent */
    kw_i32(w, op);
}

static int zs_sasl(struct zs *z)
{
    struct kw w;
    struct reply rp;
    req_begin(&w, ZOP_SASL);
    jw_buffer(&w, "", 0);
    int rc = zs_call_raw(z, &w, &rp);
    if (rc == ZOK) {
        struct kbytes tok = jr_buffer(&rp.r);
        char resp[2048];
        int n = rp.r.err ? -1
                         : digest_md5_client_response((const char *)tok.p,
                                                      tok.len > 0 ? (size_t)tok.len : 0,
                                                      z->sasl_user, z->sasl_password,
                                                      "zookeeper", resp, sizeof resp);
        reply_free(&rp);
        if (n < 0) {
            rc = ZAUTHFAILED;
        } else {
            req_begin(&w, ZOP_SASL);
            jw_buffer(&w, resp, n);
            rc = zs_call_raw(z, &w, &rp);
            reply_free(&rp);
        }
    } else {
        reply_free(&rp);
    }
    if (rc == ZCONNECTIONLOSS)
        return rc;
    if (rc != ZOK) {
        z->state = ZS_AUTH_FAILED;
        print_event("AuthFailed", "None", NULL);
        if (z->fd >= 0) {
            close(z->fd);
            z->fd = -1;
        }
        return ZAUTHFAILED;
    }
    print_event("SaslAuthenticated", "None", NULL);
    return ZOK;
}

static int tcp_connect(const char *hostport, int timeout_ms)
{
    char host[512], port[16];
    const char *colon = strrchr(hostport, ':');
    if (colon) {
        size_t hl = (size_t)(colon - hostport);
        if (hl >= sizeof host || strlen(colon + 1) >= sizeof port)
            return -1;
        memcpy(host, hostport, hl);
        host[hl] = 0;
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", hostport);
        snprintf(port, sizeof port, "2181");
    }
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {   /* [::1]:2181 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = { fd, POLLOUT, 0 };
            int err = 0;
            socklen_t el = sizeof err;
            if (poll(&pfd, 1, timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                rc = 0;
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
            continue;
        }
        fcntl(fd, F_SETFL, fl);
    }
    freeaddrinfo(res);
    return fd;
}

/* Connects (or reconnects, resuming the session) to the next host that
 * answers; one round over the host list. ZOK, ZCONNECTIONLOSS, or the
 * state's error. */
static int zs_connect(struct zs *z)
{
    if (z->state == ZS_CONNECTED)
        return ZOK;
    if (z->state == ZS_AUTH_FAILED)
        return ZAUTHFAILED;
    if (z->state == ZS_EXPIRED)
        return ZSESSIONEXPIRED;
    if (z->state == ZS_CLOSED)
        return ZCONNECTIONLOSS;
    int per_host = z->session_timeout / (z->nhosts > 0 ? z->nhosts : 1);
    for (int attempt = 0; attempt < z->nhosts; attempt++) {
        const char *hp = z->hosts[z->cur];
        int fd = tcp_connect(hp, per_host);
        if (fd < 0) {
            z->cur = (z->cur + 1) % z->nhosts;
            continue;
        }
        z->fd = fd;
        z->rlen = 0;
        struct kw w;
        kw_init(&w, NULL);
        kw_i32(&w, 0);
        kw_i32(&w, 0);                 /* protocolVersion */
        kw_i64(&w, z->last_zxid);
        kw_i32(&w, z->session_timeout);
        kw_i64(&w, z->session_id);
        jw_buffer(&w, z->passwd, 16);
        kw_bool(&w, z->read_only);
        uint8_t *f = NULL;
        size_t n = 0;
        if (zs_send(z, &w) != 0 || zs_read_frame(z, now_ms() + per_host, &f, &n) != 1) {
            free(f);
            zs_drop(z, false);
            z->cur = (z->cur + 1) % z->nhosts;
            continue;
        }
        struct kr r;
        kr_init(&r, f, n);
        (void)kr_i32(&r);
        int32_t to = kr_i32(&r);
        int64_t sid = kr_i64(&r);
        struct kbytes pw = jr_buffer(&r);
        bool bad = r.err != 0;
        if (!bad && to > 0) {
            z->timeout_ms = to;
            z->session_id = sid;
            if (pw.len == 16)
                memcpy(z->passwd, pw.p, 16);
        }
        free(f);
        if (bad) {
            zs_drop(z, false);
            z->cur = (z->cur + 1) % z->nhosts;
            continue;
        }
        if (to <= 0) {
            zs_drop(z, false);
            z->state = ZS_EXPIRED;
            print_event("Expired", "None", NULL);
            return ZSESSIONEXPIRED;
        }
        z->state = ZS_CONNECTED;
        z->ever_connected = true;
        print_event("SyncConnected", "None", NULL);
        if (z->sasl_user)
            return zs_sasl(z);
        return ZOK;
    }
    return ZCONNECTIONLOSS;
}

/* A request on the session: connects first when needed. */
static int zs_call(struct zs *z, struct kw *w, struct reply *rp)
{
    memset(rp, 0, sizeof *rp);
    int rc = zs_connect(z);
    if (rc != ZOK) {
        kw_free(w);
        return rc;
    }
    return zs_call_raw(z, w, rp);
}

static void zs_ping(struct zs *z)
{
    struct kw w;
    kw_init(&w, NULL);
    kw_i32(&w, 0);
    kw_i32(&w, ZXID_PING);
    kw_i32(&w, ZOP_PING);
    if (zs_send(z, &w) != 0)
        zs_drop(z, true);
}

/* closeSession, waiting for its answer so that ephemerals are gone on exit,
 * as ZooKeeper.close() does. */
static void zs_close(struct zs *z)
{
    if (z->state == ZS_CONNECTED) {
        struct kw w;
        struct reply rp;
        req_begin(&w, ZOP_CLOSESESSION);
        zs_call_raw(z, &w, &rp);
        reply_free(&rp);
    }
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    z->state = ZS_CLOSED;
}

/* Everything the shell allocated for z, at exit (one owner: struct zs). */
static void zs_free(struct zs *z)
{
    free(z->connect_string);
    for (int i = 0; i < z->nhosts; i++)
        free(z->hosts[i]);
    free(z->hosts);
    free(z->rbuf);
    free(z->sasl_user);
    if (z->sasl_password) {
        memset(z->sasl_password, 0, strlen(z->sasl_password));
        free(z->sasl_password);
    }
    memset(z, 0, sizeof *z);
    z->fd = -1;
}

/* ---------------- requests ---------------- */

static void w_path(const struct zs *z, struct kw *w, const char *path)
{
    char *sp = server_path(z, path);
    jw_cstring(w, sp);
    free(sp);
}

static int op_exists(struct zs *z, const char *path, bool watch, struct zstat *st)
{
    struct kw w;
    struct reply rp;
    req_begin(&w, ZOP_EXISTS);
    w_path(z, &w, path);
    kw_bool(&w, watch);
    int rc = zs_call(z, &w, &rp);
    if (rc == ZOK) {
        *st = jr_stat(&rp.r);
        if (rp.r.err)
            rc = ZMARSHALLINGERROR;
    }
    reply_free(&rp);
    return rc;
}

/* getData: *data NULL with *dlen -1 for null data. */
static int op_get_data(struct zs *z, const char *path, bool watch, uint8_t **data,
                       int32_t *dlen, struct zstat *st)
{
    struct kw w;
    struct reply rp;
    req_begin(&w, ZOP_GETDATA);
    w_path(z, &w, path);
    kw_bool(&w, watch);
    *data = NULL;
    *dlen = -1;
    int rc = zs_call(z, &w, &rp);
    if (rc == ZOK) {
        struct kbytes b = jr_buffer(&rp.r);
        struct zstat s = jr_stat(&rp.r);
        if (rp.r.err) {
            rc = ZMARSHALLINGERROR;
        } else {
            if (b.len >= 0) {
                *data = xcalloc((size_t)b.len + 1, 1);
                memcpy(*data, b.p, (size_t)b.len);
            }
            *dlen = b.len;
            if (st)
                *st = s;
        }
    }
    reply_free(&rp);
    return rc;
}

static void strings_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* getChildren (op 8) or getChildren2 (op 12, with the parent's stat). */
static int op_children(struct zs *z, const char *path, bool watch, char ***out, int *nout,
                       struct zstat *st)
{
    struct kw w;
    struct reply rp;
    req_begin(&w, st ? ZOP_GETCHILDREN2 : ZOP_GETCHILDREN);
    w_path(z, &w, path);
    kw_bool(&w, watch);
    *out = NULL;
    *nout = 0;
    int rc = zs_call(z, &w, &rp);
    if (rc == ZOK) {
        int32_t n = jr_vec_len(&rp.r, 4);
        char **v = xcalloc(n > 0 ? (size_t)n : 1, sizeof *v);
        int got = 0;
        for (int32_t i = 0; i < n && !rp.r.err; i++) {
            char *s = jr_string_dup(&rp.r);
            if (s)
                v[got++] = s;
        }
        if (st)
            *st = jr_stat(&rp.r);
        if (rp.r.err) {
            strings_free(v, got);
            rc = ZMARSHALLINGERROR;
        } else {
            *out = v;
            *nout = got;
        }
    }
    reply_free(&rp);
    return rc;
}

static void print_stat(const struct zstat *st)
{
    char ct[128], mt[128];
    int64_t t[2] = { st->ctime, st->mtime };
    char *o[2] = { ct, mt };
    for (int i = 0; i < 2; i++) {
        /* java.util.Date.toString(): "EEE MMM dd HH:mm:ss zzz yyyy", local time */
        int64_t ms = t[i];
        time_t s = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
        struct tm tm;
        localtime_r(&s, &tm);
        strftime(o[i], sizeof ct, "%a %b %d %H:%M:%S %Z %Y", &tm);
    }
    printf("cZxid = 0x%" PRIx64 "\nctime = %s\nmZxid = 0x%" PRIx64 "\nmtime = %s\n"
           "pZxid = 0x%" PRIx64 "\ncversion = %d\ndataVersion = %d\naclVersion = %d\n"
           "ephemeralOwner = 0x%" PRIx64 "\ndataLength = %d\nnumChildren = %d\n",
           (uint64_t)st->czxid, ct, (uint64_t)st->mzxid, mt, (uint64_t)st->pzxid,
           st->cversion, st->version, st->aversion, (uint64_t)st->ephemeral_owner,
           st->data_length, st->num_children);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------- command-line parsing (commons-cli, as the Cli*Commands) ---------------- */

struct opts {
    char flags[16];                /* flags seen, each once */
    const char *val[128];          /* value of a flag that takes one */
    char **args;                   /* the rest, args[0] = command */
    int nargs;
};

static bool has(const struct opts *o, char f)
{
    return strchr(o->flags, f) != NULL;
}

/* known: flag letters; with_arg: those taking a value. -1 with the
 * message printed when a flag is unknown or lacks its value. */
static int parse_opts(int argc, char **argv, const char *known, const char *with_arg,
                      struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->args = xcalloc((size_t)argc + 1, sizeof *o->args);
    bool done = false;
    for (int i = 0; i < argc; i++) {
        const char *t = argv[i];
        if (i == 0 || done || t[0] != '-' || t[1] == 0) {
            o->args[o->nargs++] = argv[i];
            continue;
        }
        if (strcmp(t, "--") == 0) {
            done = true;
            continue;
        }
        for (const char *c = t + 1; *c; c++) {
            if (!strchr(known, *c) || *c == '-') {
                errf("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: %s\n",
                     t);
                return -1;
            }
            if (!has(o, *c) && strlen(o->flags) < sizeof o->flags - 1)
                o->flags[strlen(o->flags)] = *c;
            if (strchr(with_arg, *c)) {
                if (c[1]) {
                    o->val[(unsigned char)*c & 127] = c + 1;
                } else if (i + 1 < argc) {
                    o->val[(unsigned char)*c & 127] = argv[++i];
                } else {
                    errf("org.apache.commons.cli.MissingArgumentException: Missing argument for "
                         "option: %c\n", *c);
                    return -1;
                }
                break;
            }
        }
    }
    return 0;
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* ---------------- commands ---------------- */

struct cmd {
    const char *name;
    const char *usage;             /* getUsageStr() */
    const char *help;              /* commons-cli help lines, when the command prints them */
    const char *known, *with_arg;
    int (*fn)(struct zs *z, struct opts *o);
};

static int usage_error(const struct cmd *c)
{
    errf("%s %s\n%s", c->name, c->usage, c->help ? c->help : "");
    return 1;
}

static int path_error(const char *msg)
{
    errf("%s\n", msg);
    return 1;
}

static int check_path(const char *path, bool seq)
{
    char msg[4400];
    if (validate_path(path, seq, msg, sizeof msg) != 0)
        return path_error(msg);
    return 0;
}

static void deprecated(const char *cmd, const char *flags)
{
    errf("'%s path [watch]' has been deprecated. Please use '%s [%s] path' instead.\n", cmd, cmd,
         flags);
}

/* ls -R: ZKUtil.visitSubTreeDFS — a node's sorted children, then each
 * child's subtree. */
static void ls_tree(struct zs *z, const char *path, bool watch)
{
    char **v;
    int n;
    if (op_children(z, path, watch, &v, &n, NULL) != ZOK)
        return;
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    bool root = strcmp(path, "/") == 0;
    char **full = xcalloc((size_t)n + 1, sizeof *full);
    for (int i = 0; i < n; i++) {
        full[i] = xcalloc(strlen(path) + strlen(v[i]) + 2, 1);
        sprintf(full[i], "%s%s%s", path, root ? "" : "/", v[i]);
        printf("%s\n", full[i]);
    }
    for (int i = 0; i < n; i++)
        ls_tree(z, full[i], watch);
    strings_free(full, n);
    strings_free(v, n);
}

static int cmd_ls(struct zs *z, struct opts *o)
{
    bool watch = has(o, 'w');
    if (o->nargs == 3 && !has(o, 'w')) {
        deprecated("ls", "-w");
        watch = true;
    } else if (o->nargs < 2) {
        return -2;
    }
    const char *path = o->args[1];
    if (check_path(path, false))
        return 1;
    int rc;
    if (has(o, 'R')) {
        uint8_t *d;
        int32_t dl;
        rc = op_get_data(z, path, watch, &d, &dl, NULL);
        free(d);
        if (rc == ZOK) {
            printf("%s\n", path);
            ls_tree(z, path, watch);
        }
    } else {
        char **v;
        int n;
        struct zstat st;
        rc = op_children(z, path, watch, &v, &n, has(o, 's') ? &st : NULL);
        if (rc == ZOK) {
            qsort(v, (size_t)n, sizeof *v, cmp_str);
            printf("[");
            for (int i = 0; i < n; i++)
                printf("%s%s", i ? ", " : "", v[i]);
            printf("]\n");
            if (has(o, 's'))
                print_stat(&st);
            strings_free(v, n);
        }
    }
    if (rc != ZOK) {
        print_keeper_error(rc, path);
        return 1;
    }
    return 0;
}

/* GetCommand -b: java.util.Base64's encoder. */
static void print_base64(const uint8_t *d, int32_t n)
{
    char *out = xcalloc(((size_t)n + 2) / 3 * 4 + 1, 1);
    EVP_EncodeBlock((unsigned char *)out, d, n);
    fputs(out, stdout);
    free(out);
}

/* GetCommand -x: Netty's ByteBufUtil.prettyHexDump. */
static void print_hexdump(const uint8_t *d, int32_t n)
{
    if (n <= 0)
        return;
    fputs("         +-------------------------------------------------+\n"
          "         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |\n"
          "+--------+-------------------------------------------------+----------------+", stdout);
    for (int32_t row = 0; row < n; row += 16) {
        int32_t k = n - row < 16 ? n - row : 16;
        printf("\n|%08x|", (unsigned)row);
        for (int32_t j = 0; j < 16; j++) {
            if (j < k)
                printf(" %02x", d[row + j]);
            else
                fputs("   ", stdout);
        }
        fputs(" |", stdout);
        for (int32_t j = 0; j < 16; j++)
            putchar(j >= k ? ' ' : d[row + j] > 0x1f && d[row + j] < 0x7f ? d[row + j] : '.');
        putchar('|');
    }
    fputs("\n+--------+-------------------------------------------------+----------------+",
          stdout);
}

static int cmd_get(struct zs *z, struct opts *o)
{
    bool watch = has(o, 'w');
    if (o->nargs == 3 && !has(o, 'w')) {
        deprecated("get", "-s] [-w");
        watch = true;
    } else if (o->nargs < 2) {
        return -2;
    }
    const char *path = o->args[1];
    if (check_path(path, false))
        return 1;
    uint8_t *d;
    int32_t dl;
    struct zstat st;
    int rc = op_get_data(z, path, watch, &d, &dl, &st);
    if (rc != ZOK) {
        print_keeper_error(rc, path);
        return 1;
    }
    if (dl < 0)
        fputs("null", stdout);
    else if (has(o, 'b'))
        print_base64(d, dl);
    else if (has(o, 'x'))
        print_hexdump(d, dl);
    else
        fwrite(d, 1, (size_t)dl, stdout);
    putchar('\n');
    free(d);
    if (has(o, 's'))
        print_stat(&st);
    return 0;
}

static int cmd_stat(struct zs *z, struct opts *o)
{
    bool watch = has(o, 'w');
    if (o->nargs == 3 && !has(o, 'w')) {
        deprecated("stat", "-w");
        watch = true;
    } else if (o->nargs < 2) {
        return -2;
    }
    const char *path = o->args[1];
    if (check_path(path, false))
        return 1;
    struct zstat st;
    int rc = op_exists(z, path, watch, &st);
    if (rc != ZOK) {
        print_keeper_error(rc, path);
        return 1;
    }
    print_stat(&st);
    return 0;
}

/* AclParser.parse: "scheme:id:perms,...". */
static void parse_acl(const char *s, struct zacl_list *out)
{
    memset(out, 0, sizeof *out);
    char *copy = xstrdup(s), *save = NULL;
    for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        char *first = strchr(a, ':'), *last = strrchr(a, ':');
        if (!first || first == last) {
            errf("%s does not have the form scheme:id:perm\n", a);
            continue;
        }
        int32_t perms = 0;
        for (const char *p = last + 1; *p; p++) {
            switch (*p) {
            case 'r': perms |= ZPERM_READ; break;
            case 'w': perms |= ZPERM_WRITE; break;
            case 'c': perms |= ZPERM_CREATE; break;
            case 'd': perms |= ZPERM_DELETE; break;
            case 'a': perms |= ZPERM_ADMIN; break;
            default: errf("Unknown perm type: %c\n", *p);
            }
        }
        *first = 0;
        *last = 0;
        zacl_list_add(out, perms, a, first + 1);
    }
    free(copy);
}

static int cmd_create(struct zs *z, struct opts *o)
{
    if (o->nargs < 2)
        return -2;
    bool e = has(o, 'e'), s = has(o, 's'), c = has(o, 'c'), t = has(o, 't');
    if (c && (e || s))
        return path_error("-c cannot be combined with -s or -e. Containers cannot be ephemeral or "
                          "sequential.");
    int64_t ttl = 0;
    if (t && !parse_int(o->val['t'], INT64_MIN, INT64_MAX, &ttl))
        return path_error("-t argument must be a long value");
    if (t && e)
        return path_error("TTLs cannot be used with Ephemeral znodes");
    if (t && c)
        return path_error("TTLs cannot be used with Container znodes");
    int mode = e && s ? ZMODE_EPHEMERAL_SEQ : e ? ZMODE_EPHEMERAL
             : s ? (t ? ZMODE_TTL_SEQ : ZMODE_PERSISTENT_SEQ) : c ? ZMODE_CONTAINER
             : t ? ZMODE_TTL : ZMODE_PERSISTENT;
    if (t && (ttl <= 0 || ttl > ZK_TTL_MAX)) {
        errf("ttl must be positive and cannot be larger than: %" PRId64 "\n", (int64_t)ZK_TTL_MAX);
        return 1;
    }
    const char *path = o->args[1];
    const char *data = o->nargs > 2 ? o->args[2] : NULL;
    struct zacl_list acl;
    if (o->nargs > 3)
        parse_acl(o->args[3], &acl);
    else
        zacl_list_open(&acl);
    if (check_path(path, s)) {
        zacl_list_free(&acl);
        return 1;
    }
    if (acl.n == 0) {
        /* ZooKeeper.create refuses an empty ACL list before sending. */
        zacl_list_free(&acl);
        errf("KeeperErrorCode = InvalidACL\n");
        print_keeper_error(ZINVALIDACL, NULL);
        return 1;
    }
    struct kw w;
    struct reply rp;
    int op = c ? ZOP_CREATECONTAINER : t ? ZOP_CREATETTL : ZOP_CREATE;
    req_begin(&w, op);
    w_path(z, &w, path);
    jw_buffer(&w, data, data ? (int32_t)strlen(data) : -1);
    jw_acl_list(&w, &acl);
    kw_i32(&w, mode);
    if (t)
        kw_i64(&w, ttl);
    zacl_list_free(&acl);
    int rc = zs_call(z, &w, &rp);
    char *created = rc == ZOK ? jr_string_dup(&rp.r) : NULL;
    if (rc == ZOK && !created)
        rc = ZMARSHALLINGERROR;
    reply_free(&rp);
    if (rc != ZOK) {
        if (rc == ZINVALIDACL) {
            char msg[4400];
            keeper_message(rc, path, msg, sizeof msg);
            errf("%s\n", msg);
        } else if (rc == -120) {
            errf("Unable to create ephemeral node on a local session\n");
        }
        print_keeper_error(rc, path);
        return 1;
    }
    char *cp = client_path(z, created);
    errf("Created %s\n", cp);
    free(cp);
    free(created);
    return 0;
}

static int cmd_set(struct zs *z, struct opts *o)
{
    if (o->nargs < 3)
        return -2;
    int64_t version = -1;
    if (has(o, 'v') && !parse_int(o->val['v'], INT32_MIN, INT32_MAX, &version)) {
        errf("java.lang.NumberFormatException: For input string: \"%s\"\n", o->val['v']);
        return 1;
    }
    const char *path = o->args[1], *data = o->args[2];
    if (check_path(path, false))
        return 1;
    int32_t dlen = (int32_t)strlen(data);
    unsigned char *decoded = NULL;
    if (has(o, 'b')) {
        /* java.util.Base64.getDecoder(): padding optional, nothing else allowed */
        size_t l = strlen(data);
        char *padded = xcalloc(l + 4, 1);
        memcpy(padded, data, l);
        while (l % 4)
            padded[l++] = '=';
        decoded = xcalloc(l / 4 * 3 + 1, 1);
        int k = l ? EVP_DecodeBlock(decoded, (unsigned char *)padded, (int)l) : 0;
        for (size_t j = l; k > 0 && j > 0 && padded[j - 1] == '='; j--)
            k--;
        free(padded);
        if (k < 0) {
            free(decoded);
            errf("java.lang.IllegalArgumentException: Illegal base64 character\n");
            return 1;
        }
        data = (const char *)decoded;
        dlen = k;
    }
    struct kw w;
    struct reply rp;
    req_begin(&w, ZOP_SETDATA);
    w_path(z, &w, path);
    jw_buffer(&w, data, dlen);
    free(decoded);
    kw_i32(&w, (int32_t)version);
    int rc = zs_call(z, &w, &rp);
    struct zstat st = jr_stat(&rp.r);
    if (rc == ZOK && rp.r.err)
        rc = ZMARSHALLINGERROR;
    reply_free(&rp);
    if (rc != ZOK) {
        print_keeper_error(rc, path);
        return 1;
    }
    if (has(o, 's'))
        print_stat(&st);
    return 0;
}

static int op_delete(struct zs *z, const char *path, int32_t version)
{
    struct kw w;
    struct reply rp;
    req_begin(&w, ZOP_DELETE);
    w_path(z, &w, path);
    kw_i32(&w, version);
    int rc = zs_call(z, &w, &rp);
    reply_free(&rp);
    return rc;
}

static int cmd_delete(struct zs *z, struct opts *o)
{
    int64_t version = -1;
    if (o->nargs == 3 && !has(o, 'v')) {
        errf("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' "
             "instead.\n");
        if (!parse_int(o->args[2], INT32_MIN, INT32_MAX, &version)) {
            errf("java.lang.NumberFormatException: For input string: \"%s\"\n", o->args[2]);
            return 1;
        }
    } else if (o->nargs < 2) {
        return -2;
    }
    if (has(o, 'v') && !parse_int(o->val['v'], INT32_MIN, INT32_MAX, &version)) {
        errf("java.lang.NumberFormatException: For input string: \"%s\"\n", o->val['v']);
        return 1;
    }
    const char *path = o->args[1];
    if (check_path(path, false))
        return 1;
    int rc = op_delete(z, path, (int32_t)version);
    if (rc != ZOK) {
        print_keeper_error(rc, path);
        return 1;
    }
    return 0;
}

/* One multi of deletes; true when every one succeeded. */
static bool delete_batch(struct zs *z, char **paths, int n)
{
    struct kw w;
    struct reply rp;
    req_begin(&w, ZOP_MULTI);
    for (int i = 0; i < n; i++) {
        kw_i32(&w, ZOP_DELETE);         /* MultiHeader: type, done, err */
        kw_bool(&w, false);
        kw_i32(&w, -1);
        w_path(z, &w, paths[i]);
        kw_i32(&w, -1);
    }
    kw_i32(&w, -1);
    kw_bool(&w, true);
    kw_i32(&w, -1);
    int rc = zs_call(z, &w, &rp);
    bool ok = rc == ZOK;
    while (ok) {
        int32_t type = kr_i32(&rp.r);
        bool done = kr_i8(&rp.r) != 0;
        int32_t err = kr_i32(&rp.r);
        if (rp.r.err || done)
            break;
        if (type == ZOP_ERROR) {
            (void)kr_i32(&rp.r);
            if (err != ZOK)
                ok = false;
        } else if (type != ZOP_DELETE) {
            ok = false;
        }
    }
    if (rp.r.err)
        ok = false;
    reply_free(&rp);
    return ok;
}

static int cmd_deleteall(struct zs *z, struct opts *o)
{
    if (o->nargs < 2)
        return -2;
    int64_t batch = 1000;
    if (has(o, 'b') && !parse_int(o->val['b'], INT32_MIN, INT32_MAX, &batch))
        return path_error("-b argument must be an int value");
    const char *root = o->args[1];
    if (check_path(root, false))
        return 1;
    /* ZKUtil.listSubTreeBFS, then deletes from the end (leaves first). */
    size_t cap = 64, n = 0;
    char **tree = xcalloc(cap, sizeof *tree);
    tree[n++] = xstrdup(root);
    for (size_t q = 0; q < n; q++) {
        char **v;
        int nv;
        int rc = op_children(z, tree[q], false, &v, &nv, NULL);
        if (rc != ZOK) {
            print_keeper_error(rc, tree[q]);
            strings_free(tree, (int)n);
            return 1;
        }
        bool isroot = strcmp(tree[q], "/") == 0;
        for (int i = 0; i < nv; i++) {
            if (n == cap) {
                cap *= 2;
                tree = realloc(tree, cap * sizeof *tree);
                if (!tree)
                    exit(1);
            }
            tree[n] = xcalloc(strlen(tree[q]) + strlen(v[i]) + 2, 1);
            sprintf(tree[n], "%s/%s", isroot ? "" : tree[q], v[i]);
            n++;
        }
        strings_free(v, nv);
    }
    bool ok = true;
    int status = 0;
    if (batch > 0) {
        char **ops = xcalloc((size_t)batch < n ? (size_t)batch : n, sizeof *ops);
        int k = 0;
        for (size_t i = n; i-- > 0;) {
            ops[k++] = tree[i];
            if (k == batch || i == 0) {
                if (!delete_batch(z, ops, k)) {
                    ok = false;
                    break;
                }
                k = 0;
            }
        }
        free(ops);
    } else {
        for (size_t i = n; i-- > 0;) {
            int rc = op_delete(z, tree[i], -1);
            if (rc != ZOK) {
                print_keeper_error(rc, tree[i]);
                status = 1;
                break;
            }
        }
    }
    if (!ok)
        errf("Failed to delete some node(s) in the subtree!\n");
    strings_free(tree, (int)n);
    return status;
}

static const struct cmd commands[] = {
    { "create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]", NULL, "sect", "t", cmd_create },
    { "delete", "[-v version] path", NULL, "v", "v", cmd_delete },
    { "deleteall", "path [-b batch size]", NULL, "b", "b", cmd_deleteall },
    { "get", "[-s] [-w] [-b] [-x] path",
      " -b   Output data in base64 format\n -s   Print znode stats additionally\n"
      " -w   Watch for changes on the znode\n -x   Output data in hexdump format\n\n",
      "swbx", "", cmd_get },
    { "ls", "[-s] [-w] [-R] path", NULL, "swR", "", cmd_ls },
    { "quit", "", NULL, "", "", NULL },
    { "set", "path data [-s] [-v version] [-b]",
      " -b         Supply data in base64 format\n -s         Print znode stats additionally\n"
      " -v <arg>   Set with an expected version\n\n",
      "svb", "v", cmd_set },
    { "stat", "[-w] path", NULL, "w", "", cmd_stat },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(void)
{
    errf("ZooKeeper -server host:port cmd args\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        errf("\t%s %s\n", commands[i].name, commands[i].usage);
}

/* Runs one parsed command; returns its exit status. *quit set by quit. */
static int run_command(struct zs *z, int argc, char **argv, bool *quit)
{
    const struct cmd *c = NULL;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, argv[0]) == 0)
            c = &commands[i];
    if (!c) {
        usage();
        errf("Command not found: Command not found %s\n", argv[0]);
        return EXIT_CMD_NOT_FOUND;
    }
    if (!c->fn) {
        *quit = true;
        return 0;
    }
    struct opts o;
    if (parse_opts(argc, argv, c->known, c->with_arg, &o) != 0) {
        free(o.args);
        return 1;
    }
    int rc = c->fn(z, &o);
    free(o.args);
    if (rc == -2)
        rc = usage_error(c);
    fflush(stdout);
    return rc;
}

/* ZooKeeperMain.MyCommandOptions.parseCommand: words, or '...' / "..."
 * taken whole (quotes stripped). */
static int split_line(const char *line, char ***out)
{
    size_t len = strlen(line), cap = 8;
    int n = 0;
    char **v = xcalloc(cap, sizeof *v);
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i >= len)
            break;
        char q = line[i];
        size_t start = i, end;
        if (q == '"' || q == '\'') {
            const char *close = strchr(line + i + 1, q);
            if (!close) {
                i++;            /* no match here: the regex moves on */
                continue;
            }
            start = i + 1;
            end = (size_t)(close - line);
            i = end + 1;
        } else {
            while (i < len && !isspace((unsigned char)line[i]))
                i++;
            end = i;
        }
        if ((size_t)n + 1 >= cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            if (!v)
                exit(1);
        }
        v[n++] = xstrndup(line + start, end - start);
    }
    *out = v;
    return n;
}

/* ---------------- SASL configuration from the JVM options ---------------- */

/* The value of -Dkey=VALUE in the options (last one wins), or NULL. */
static bool jvm_prop(const char *opts, const char *key, char *out, size_t n)
{
    char pat[128];
    snprintf(pat, sizeof pat, "-D%s=", key);
    const char *found = NULL;
    for (const char *p = opts ? strstr(opts, pat) : NULL; p; p = strstr(p + 1, pat))
        if (p == opts || isspace((unsigned char)p[-1]) || p[-1] == '"' || p[-1] == '\'')
            found = p + strlen(pat);
    if (!found)
        return false;
    char quote = (*found == '"' || *found == '\'') ? *found++ : 0;
    size_t k = 0;
    while (found[k] && (quote ? found[k] != quote : !isspace((unsigned char)found[k])))
        k++;
    if (k >= n)
        return false;
    memcpy(out, found, k);
    out[k] = 0;
    return true;
}

static void sasl_setup(struct zs *z)
{
    static const char *vars[] = { "SERVER_JVMFLAGS", "KAFKA_OPTS", "JVMFLAGS", "CLIENT_JVMFLAGS" };
    size_t total = 1;
    for (size_t i = 0; i < 4; i++)
        total += (getenv(vars[i]) ? strlen(getenv(vars[i])) : 0) + 1;
    char *opts = xcalloc(total, 1);
    for (size_t i = 0; i < 4; i++)
        if (getenv(vars[i])) {
            strcat(opts, getenv(vars[i]));
            strcat(opts, " ");
        }
    char path[4096], section[256] = "Client", flag[16];
    bool have = jaas_path_from_jvm_opts(opts, path, sizeof path) == 0;
    if (jvm_prop(opts, "zookeeper.sasl.client", flag, sizeof flag) && strcmp(flag, "true") != 0)
        have = false;
    jvm_prop(opts, "zookeeper.sasl.clientconfig", section, sizeof section);
    free(opts);
    if (!have)
        return;
    struct jaas_config jc;
    char err[512];
    if (jaas_parse_file(path, &jc, err, sizeof err) != 0) {
        errf("zookeeper-shell: not using SASL: %s\n", err);
        return;
    }
    const struct jaas_section *s = jaas_section(&jc, section);
    if (s && s->nentries > 0) {
        const char *u = jaas_option(&s->entries[0], "username");
        const char *p = jaas_option(&s->entries[0], "password");
        if (u) {
            z->sasl_user = xstrdup(u);
            z->sasl_password = xstrdup(p ? p : "");
        }
    }
    jaas_free(&jc);
}

/* ---------------- main ---------------- */

static int parse_connect_string(struct zs *z, const char *s)
{
    z->connect_string = xstrdup(s);
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (slash && strcmp(slash, "/") != 0) {
        char msg[4400];
        if (validate_path(slash, false, msg, sizeof msg) != 0) {
            errf("Exception in thread \"main\" java.lang.IllegalArgumentException: %s\n", msg);
            return -1;
        }
        snprintf(z->chroot, sizeof z->chroot, "%s", slash);
    }
    char *hosts = xstrndup(s, hl), *save = NULL;
    z->hosts = xcalloc(hl + 1, sizeof *z->hosts);
    for (char *h = strtok_r(hosts, ",", &save); h; h = strtok_r(NULL, ",", &save))
        z->hosts[z->nhosts++] = xstrdup(h);
    free(hosts);
    if (z->nhosts == 0) {
        errf("Exception in thread \"main\" java.lang.IllegalArgumentException: A HostProvider "
             "may not be empty!\n");
        return -1;
    }
    /* The Java client shuffles its host list. */
    srand((unsigned)(time(NULL) ^ getpid()));
    z->cur = rand() % z->nhosts;
    return 0;
}

/* Reads one line from stdin while keeping the session alive (pings) and
 * printing watch events. NULL at end of input. */
static char *read_line(struct zs *z, char *buf, size_t *blen, size_t bcap)
{
    for (;;) {
        char *nl = memchr(buf, '\n', *blen);
        if (nl) {
            size_t k = (size_t)(nl - buf);
            char *line = xstrndup(buf, k);
            memmove(buf, nl + 1, *blen - k - 1);
            *blen -= k + 1;
            size_t ll = strlen(line);
            if (ll && line[ll - 1] == '\r')
                line[ll - 1] = 0;
            return line;
        }
        struct pollfd p[2] = { { 0, POLLIN, 0 }, { z->fd, POLLIN, 0 } };
        int np = z->state == ZS_CONNECTED && z->fd >= 0 ? 2 : 1;
        int wait = -1;
        if (np == 2) {
            int64_t due = z->last_send + z->timeout_ms / 3 - now_ms();
            wait = due < 0 ? 0 : (int)due;
        }
        int pr = poll(p, (nfds_t)np, wait);
        if (pr < 0 && errno != EINTR)
            return NULL;
        if (pr <= 0) {
            if (np == 2 && now_ms() - z->last_send >= z->timeout_ms / 3)
                zs_ping(z);
            continue;
        }
        if (np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            uint8_t *f;
            size_t n;
            int got;
            /* read what arrived; frames are events or ping answers */
            struct pollfd one = { z->fd, POLLIN, 0 };
            if (poll(&one, 1, 0) == 1) {
                if (z->rcap - z->rlen < 65536) {
                    z->rcap = z->rcap ? z->rcap * 2 : 131072;
                    z->rbuf = realloc(z->rbuf, z->rcap);
                }
                ssize_t k = z->rbuf ? recv(z->fd, z->rbuf + z->rlen, z->rcap - z->rlen, 0) : -1;
                if (k <= 0) {
                    zs_drop(z, true);
                    continue;
                }
                z->rlen += (size_t)k;
            }
            while ((got = zs_read_frame(z, -1, &f, &n)) == 1) {
                zs_other_frame(z, f, n);
                free(f);
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (*blen == bcap - 1) {        /* overlong line: take it as is */
                buf[*blen] = '\n';
                (*blen)++;
                continue;
            }
            ssize_t k = read(0, buf + *blen, bcap - 1 - *blen);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                if (*blen == 0)
                    return NULL;
                buf[(*blen)++] = '\n';   /* last line without a newline */
                continue;
            }
            *blen += (size_t)k;
        }
    }
}

static const char *state_name(const struct zs *z)
{
    switch (z->state) {
    case ZS_CONNECTED: return "CONNECTED";
    case ZS_AUTH_FAILED: return "AUTH_FAILED";
    case ZS_CLOSED: case ZS_EXPIRED: return "CLOSED";
    default: return "CONNECTING";
    }
}

int main(int argc, char **argv)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    struct zs z = { .fd = -1, .session_timeout = 30000, .next_xid = 1 };
    const char *server = "localhost:2181";
    int i = 1;
    if (strcmp(prog, "zookeeper-shell") == 0) {
        /* Kafka's zookeeper-shell.sh: USAGE check, then "-server" "$@". */
        if (argc < 2) {
            fprintf(stderr, "USAGE: %s zookeeper_host:port[/path] [-zk-tls-config-file file] "
                    "[args...]\n", argv[0]);
            return 1;
        }
        server = argv[1];
        i = 2;
    }
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i];
        bool takes = strcmp(opt, "-server") == 0 || strcmp(opt, "-timeout") == 0 ||
                     strcmp(opt, "-client-configuration") == 0 ||
                     strcmp(opt, "-zk-tls-config-file") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "Error: no argument found for option %s\n", opt);
            return 1;
        }
        if (strcmp(opt, "-server") == 0) {
            server = argv[++i];
        } else if (strcmp(opt, "-timeout") == 0) {
            int64_t t;
            if (!parse_int(argv[++i], 1, INT32_MAX, &t)) {
                fprintf(stderr, "Exception in thread \"main\" java.lang.NumberFormatException: "
                        "For input string: \"%s\"\n", argv[i]);
                return 1;
            }
            z.session_timeout = (int)t;
        } else if (strcmp(opt, "-r") == 0) {
            z.read_only = true;
        } else if (strcmp(opt, "-client-configuration") == 0 ||
                   strcmp(opt, "-zk-tls-config-file") == 0) {
            fprintf(stderr, "%s: %s is not supported (this shell speaks plaintext, with SASL "
                    "from the JAAS file in KAFKA_OPTS/JVMFLAGS)\n", prog, opt);
            return 1;
        }
        /* -waitforconnection and others: the shell always connects first */
    }
    if (parse_connect_string(&z, server) != 0) {
        zs_free(&z);
        return 1;
    }
    sasl_setup(&z);
    printf("Connecting to %s\n", server);
    fflush(stdout);

    int status = 0;
    bool quit = false;
    if (i < argc) {
        /* One command from the arguments. */
        status = run_command(&z, argc - i, argv + i, &quit);
        zs_close(&z);
        zs_free(&z);
        fflush(stdout);
        return status;
    }

    bool tty = isatty(0);
    printf("Welcome to ZooKeeper!\nJLine support is disabled\n");
    fflush(stdout);
    zs_connect(&z);
    static char buf[1 << 20];
    size_t blen = 0;
    int count = 0;
    while (!quit) {
        if (tty) {
            printf("[zk: %s(%s) %d] ", z.connect_string, state_name(&z), count);
            fflush(stdout);
        }
        char *line = read_line(&z, buf, &blen, sizeof buf);
        if (!line)
            break;
        char **words;
        int n = split_line(line, &words);
        if (n > 0) {
            if (strcmp(words[0], "quit") == 0)
                quit = true;   /* exit with the previous command's status, as ZooKeeperMain */
            else
                status = run_command(&z, n, words, &quit);
            count++;
        }
        for (int k = 0; k < n; k++)
            free(words[k]);
        free(words);
        free(line);
    }
    zs_close(&z);
    zs_free(&z);
    if (quit)
        print_event("Closed", "None", NULL);   /* ZooKeeper.close()'s event */
    fflush(stdout);
    return status;
}
