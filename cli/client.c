/*
 * client.c — connections, version negotiation, SASL and cluster discovery
 * for the kafka-* tools (see client.h).
 */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jaas.h"
#include "kafka_errors.h"
#include "properties.h"
#include "cli_sasl.h"

#define MAX_RESPONSE (256 * 1024 * 1024)

const char *cli_tool_name = "kafka";

void cli_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

int64_t kc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        cli_die("out of memory");
    return d;
}

/* ------------------------------------------------------------ sockets */

static int wait_fd(int fd, short ev, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = ev };
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

static void io_all(struct kconn *c, int timeout_ms, uint8_t *p, size_t n, bool wr)
{
    while (n > 0) {
        if (wait_fd(c->fd, wr ? POLLOUT : POLLIN, timeout_ms) != 0)
            cli_die("Timed out waiting for a response from %s", c->addr);
        ssize_t k = wr ? send(c->fd, p, n, MSG_NOSIGNAL) : recv(c->fd, p, n, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0)
            cli_die("Connection to %s was disconnected before the response was read", c->addr);
        p += k;
        n -= (size_t)k;
    }
}

/* A non-blocking connect bounded by timeout_ms; -1 when nothing answers. */
static int connect_addr(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, timeout_ms) != 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static int connect_host(const char *host, int32_t port, int timeout_ms)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", (int)port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    if (getaddrinfo(host, portstr, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai, timeout_ms);
    freeaddrinfo(res);
    return fd;
}

/* ------------------------------------------------------------ framing */

static bool is_flexible(int16_t key, int16_t ver)
{
    const struct kp_api_info *api = kp_api_find(key);
    return api && ver >= api->flex_min;
}

/* Request header v1 (v2 with a tag section for flexible versions). */
static void send_request(struct kconn *c, const struct kclient *kc, int16_t key, int16_t ver,
                         const struct kw *body)
{
    bool flex = is_flexible(key, ver);
    struct kw w;
    kw_init(&w, NULL);
    kw_i32(&w, 0);
    kw_i16(&w, key);
    kw_i16(&w, ver);
    kw_i32(&w, ++c->corr);
    kw_str(&w, kstr_c(kc->client_id), false);   /* client id is never compact */
    if (flex)
        kw_empty_tags(&w);
    kw_raw(&w, body->buf, body->len);
    if (w.err)
        cli_die("out of memory");
    kw_patch_i32(&w, 0, (int32_t)(w.len - 4));
    io_all(c, kc->timeout_ms, w.buf, w.len, true);
    kw_free(&w);
}

/* Reads one response frame; returns a reader after the response header
 * (v1 with tags for flexible versions, but always v0 for ApiVersions). */
static struct kr recv_response(struct kconn *c, const struct kclient *kc, int16_t key,
                               int16_t ver)
{
    uint8_t hdr[4];
    io_all(c, kc->timeout_ms, hdr, 4, false);
    int32_t n = (int32_t)kr_be(hdr, 4);
    if (n < 4 || n > MAX_RESPONSE)
        cli_die("malformed response from %s", c->addr);
    free(c->resp);
    c->resp = malloc((size_t)n);
    if (!c->resp)
        cli_die("out of memory");
    io_all(c, kc->timeout_ms, c->resp, (size_t)n, false);
    struct kr r;
    kr_init(&r, c->resp, (size_t)n);
    if (kr_i32(&r) != c->corr)
        cli_die("response from %s out of order", c->addr);
    if (key != KP_API_API_VERSIONS && is_flexible(key, ver))
        kr_skip_tags(&r);
    return r;
}

void kc_call(struct kconn *c, int16_t key, int16_t ver, const void *req, void *resp,
             struct karena *a)
{
    const struct kp_msg_desc *rq = kp_msg_find(key, false), *rs = kp_msg_find(key, true);
    if (!rq || !rs)
        cli_die("internal: api %d not described", key);
    struct kw w;
    kw_init(&w, NULL);
    rq->encode(&w, ver, req);
    if (w.err)
        cli_die("out of memory");
    send_request(c, c->kc, key, ver, &w);
    kw_free(&w);
    struct kr r = recv_response(c, c->kc, key, ver);
    if (rs->decode(&r, ver, a, resp) != 0)
        cli_die("malformed %s response from %s", kp_api_find(key)->name, c->addr);
}

void kc_send(struct kconn *c, int16_t key, int16_t ver, const void *req)
{
    struct kw w;
    kw_init(&w, NULL);
    kp_msg_find(key, false)->encode(&w, ver, req);
    if (w.err)
        cli_die("out of memory");
    send_request(c, c->kc, key, ver, &w);
    kw_free(&w);
}

int16_t kc_version(const struct kconn *c, int16_t key, int16_t tool_max)
{
    const struct kp_api_info *api = kp_api_find(key);
    if (key < 0 || key >= KC_MAX_API || !api || c->vmax[key] < 0)
        return -1;
    int16_t v = c->vmax[key] < tool_max ? c->vmax[key] : tool_max;
    if (v > api->max)
        v = api->max;
    int16_t lo = c->vmin[key] > api->min ? c->vmin[key] : api->min;
    return v >= lo ? v : -1;
}

int16_t kc_need(const struct kconn *c, int16_t key, int16_t tool_max)
{
    int16_t v = kc_version(c, key, tool_max);
    if (v < 0) {
        const struct kp_api_info *api = kp_api_find(key);
        cli_die("org.apache.kafka.common.errors.UnsupportedVersionException: The node %s "
                "does not support %s", c->addr, api ? api->name : "this API");
    }
    return v;
}

/* ------------------------------------------------------------ handshake */

static void api_versions(struct kconn *c)
{
    struct karena a;
    karena_init(&a);
    struct kp_api_versions_req rq;
    kp_api_versions_req_init(&rq);
    struct kp_api_versions_resp rs;
    /* v0 is answered by every broker since 0.10; newer bodies add nothing
     * the tools use except in kafka-broker-api-versions, which reads the
     * same key list. */
    kc_call(c, KP_API_API_VERSIONS, 0, &rq, &rs, &a);
    if (rs.error_code != KERR_NONE)
        cli_die("ApiVersions to %s failed: %s", c->addr, kerr_name(rs.error_code));
    for (int i = 0; i < KC_MAX_API; i++)
        c->vmin[i] = c->vmax[i] = -1;
    c->napis = rs.api_keys_n > 0 ? rs.api_keys_n : 0;
    c->apis = calloc((size_t)c->napis + 1, sizeof *c->apis);
    if (!c->apis)
        cli_die("out of memory");
    for (int32_t i = 0; i < c->napis; i++) {
        const struct kp_api_versions_resp_api_keys *k = &rs.api_keys[i];
        c->apis[i] = *k;
        if (k->api_key >= 0 && k->api_key < KC_MAX_API) {
            c->vmin[k->api_key] = k->min_version;
            c->vmax[k->api_key] = k->max_version;
        }
    }
    karena_free(&a);
}

static struct kconn *conn_open(struct kclient *kc, const char *host, int32_t port,
                               int32_t node_id)
{
    int fd = connect_host(host, port, kc->timeout_ms);
    if (fd < 0)
        return NULL;
    struct kconn *c = calloc(1, sizeof *c);
    if (!c)
        cli_die("out of memory");
    c->fd = fd;
    c->node_id = node_id;
    snprintf(c->addr, sizeof c->addr, "%s:%d", host, (int)port);
    c->kc = kc;
    api_versions(c);
    if (kc->security == KC_SASL_PLAINTEXT)
        sasl_login(kc, c);
    return c;
}

static void conn_free(struct kconn *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->resp);
    free(c->apis);
    free(c);
}

/* ------------------------------------------------------------ config */

/* Kafka's JAAS option values from sasl.jaas.config: one login module entry
 * with username and password options. */
static void read_jaas(struct kclient *kc, const char *text)
{
    struct jaas_config jc;
    char err[256];
    if (jaas_parse_inline(text, "KafkaClient", &jc, err, sizeof err) != 0)
        cli_die("Invalid value for sasl.jaas.config: %s", err);
    const struct jaas_section *s = jaas_section(&jc, "KafkaClient");
    if (!s || s->nentries != 1)
        cli_die("Invalid value for sasl.jaas.config: it must contain exactly one login module");
    const char *u = jaas_option(&s->entries[0], "username");
    const char *p = jaas_option(&s->entries[0], "password");
    if (u)
        kc->user = xstrdup(u);
    if (p)
        kc->password = xstrdup(p);
    jaas_free(&jc);
}

static void read_security(struct kclient *kc, const struct props *cfg)
{
    const char *proto = cfg ? props_get(cfg, "security.protocol") : NULL;
    if (!proto || strcasecmp(proto, "PLAINTEXT") == 0)
        kc->security = KC_PLAINTEXT;
    else if (strcasecmp(proto, "SASL_PLAINTEXT") == 0)
        kc->security = KC_SASL_PLAINTEXT;
    else if (strcasecmp(proto, "SSL") == 0 || strcasecmp(proto, "SASL_SSL") == 0)
        cli_die("security.protocol %s is not supported by these tools (PLAINTEXT and "
                "SASL_PLAINTEXT are)", proto);
    else
        cli_die("Invalid value %s for configuration security.protocol: String must be one of: "
                "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", proto);
    const char *mech = cfg ? props_get(cfg, "sasl.mechanism") : NULL;
    kc->mechanism = xstrdup(mech ? mech : "GSSAPI");
    const char *jaas = cfg ? props_get(cfg, "sasl.jaas.config") : NULL;
    if (kc->security != KC_SASL_PLAINTEXT)
        return;
    if (strcmp(kc->mechanism, "PLAIN") != 0 && strcmp(kc->mechanism, "SCRAM-SHA-256") != 0 &&
        strcmp(kc->mechanism, "SCRAM-SHA-512") != 0)
        cli_die("sasl.mechanism %s is not supported by these tools (PLAIN, SCRAM-SHA-256 and "
                "SCRAM-SHA-512 are)", kc->mechanism);
    if (!jaas)
        cli_die("Could not find a 'KafkaClient' entry in the JAAS configuration. System "
                "property 'java.security.auth.login.config' is not set");
    read_jaas(kc, jaas);
    if (!kc->user || !kc->password)
        cli_die("sasl.jaas.config must set username and password");
}

void kc_init(struct kclient *kc, const char *tool, const char *bootstrap_list,
             const struct props *config)
{
    memset(kc, 0, sizeof *kc);
    kc->tool = tool;
    const char *cid = config ? props_get(config, "client.id") : NULL;
    kc->client_id = cid ? cid : tool;
    const char *to = config ? props_get(config, "request.timeout.ms") : NULL;
    kc->timeout_ms = to ? atoi(to) : 30000;
    if (kc->timeout_ms <= 0)
        kc->timeout_ms = 30000;
    kc->controller_id = -1;
    read_security(kc, config);
    char *list = xstrdup(bootstrap_list), *save = NULL;
    for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ')
            s++;
        if (!*s)
            continue;
        kc->bootstrap = realloc(kc->bootstrap, sizeof *kc->bootstrap * (size_t)(kc->nbootstrap + 1));
        if (!kc->bootstrap)
            cli_die("out of memory");
        kc->bootstrap[kc->nbootstrap++] = xstrdup(s);
    }
    free(list);
    if (kc->nbootstrap == 0)
        cli_die("No resolvable bootstrap urls given in bootstrap.servers");
}

/* ------------------------------------------------------------ cluster */

static int split_hostport(const char *s, char *host, size_t hostlen, int32_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
        return -1;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {   /* [ipv6]:port */
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return -1;
    *port = (int32_t)p;
    return 0;
}

void kc_bootstrap(struct kclient *kc)
{
    for (int i = 0; i < kc->nbootstrap && !kc->boot; i++) {
        char host[256];
        int32_t port;
        if (split_hostport(kc->bootstrap[i], host, sizeof host, &port) != 0)
            cli_die("Invalid url in bootstrap.servers: %s", kc->bootstrap[i]);
        kc->boot = conn_open(kc, host, port, -1);
    }
    if (!kc->boot)
        cli_die("Could not connect to any of the bootstrap servers (%s)", kc->bootstrap[0]);
    struct karena a;
    karena_init(&a);
    struct kp_metadata_resp m;
    kc_metadata(kc, kc->boot, NULL, -1, false, &a, &m, NULL);
    karena_free(&a);
}

static void set_nodes(struct kclient *kc, const struct kp_metadata_resp *m)
{
    for (int32_t i = 0; i < m->brokers_n; i++) {
        const struct kp_metadata_resp_brokers *b = &m->brokers[i];
        struct kc_node *n = NULL;
        for (int j = 0; j < kc->nnodes; j++)
            if (kc->nodes[j].id == b->node_id)
                n = &kc->nodes[j];
        if (!n) {
            kc->nodes = realloc(kc->nodes, sizeof *kc->nodes * (size_t)(kc->nnodes + 1));
            if (!kc->nodes)
                cli_die("out of memory");
            n = &kc->nodes[kc->nnodes++];
            memset(n, 0, sizeof *n);
            n->id = b->node_id;
        }
        free(n->host);
        free(n->rack);
        n->host = kstr_dup(b->host);
        n->rack = b->rack.len >= 0 ? kstr_dup(b->rack) : NULL;
        n->port = b->port;
    }
    free(kc->cluster_id);
    kc->cluster_id = m->cluster_id.len >= 0 ? kstr_dup(m->cluster_id) : NULL;
    kc->controller_id = m->controller_id;
}

void kc_metadata(struct kclient *kc, struct kconn *c, const char *const *topics, int ntopics,
                 bool auto_create, struct karena *a, struct kp_metadata_resp *out, int16_t *ver)
{
    int16_t v = kc_need(c, KP_API_METADATA, 12);
    struct kp_metadata_req rq;
    kp_metadata_req_init(&rq);
    rq.allow_auto_topic_creation = auto_create;
    if (ntopics < 0 || (!topics && ntopics == 0)) {
        /* All topics: null in v1+, an empty list in v0. */
        rq.topics_n = v >= 1 ? -1 : 0;
    } else {
        rq.topics_n = ntopics;
        rq.topics = karena_calloc(a, (size_t)ntopics + 1, sizeof *rq.topics);
        for (int i = 0; i < ntopics; i++)
            rq.topics[i].name = kstr_c(topics[i]);
    }
    kc_call(c, KP_API_METADATA, v, &rq, out, a);
    set_nodes(kc, out);
    if (ver)
        *ver = v;
}

const struct kc_node *kc_node_info(const struct kclient *kc, int32_t node_id)
{
    for (int i = 0; i < kc->nnodes; i++)
        if (kc->nodes[i].id == node_id)
            return &kc->nodes[i];
    return NULL;
}

struct kconn *kc_node(struct kclient *kc, int32_t node_id)
{
    struct kc_node *n = (struct kc_node *)kc_node_info(kc, node_id);
    if (!n)
        cli_die("broker %d is not in the cluster metadata", (int)node_id);
    if (!n->conn) {
        n->conn = conn_open(kc, n->host, n->port, node_id);
        if (!n->conn)
            cli_die("Connection to node %d (%s:%d) could not be established. Node may not be "
                    "available.", (int)node_id, n->host, (int)n->port);
    }
    return n->conn;
}

void kc_close(struct kclient *kc)
{
    for (int i = 0; i < kc->nnodes; i++) {
        conn_free(kc->nodes[i].conn);
        free(kc->nodes[i].host);
        free(kc->nodes[i].rack);
    }
    free(kc->nodes);
    conn_free(kc->boot);
    for (int i = 0; i < kc->nbootstrap; i++)
        free(kc->bootstrap[i]);
    free(kc->bootstrap);
    free(kc->mechanism);
    free(kc->user);
    free(kc->password);
    free(kc->cluster_id);
    memset(kc, 0, sizeof *kc);
}

static bool retriable_coordinator_error(int16_t e)
{
    return e == KERR_COORDINATOR_LOAD_IN_PROGRESS || e == KERR_COORDINATOR_NOT_AVAILABLE ||
           e == KERR_NOT_COORDINATOR;
}

struct kconn *kc_coordinator(struct kclient *kc, const char *group)
{
    int64_t deadline = kc_now_ms() + kc->timeout_ms;
    for (;;) {
        struct karena a;
        karena_init(&a);
        /* v4+ batches keys in a list; v0-3 are enough for one group. */
        int16_t v = kc_need(kc->boot, KP_API_FIND_COORDINATOR, 3);
        struct kp_find_coordinator_req rq;
        kp_find_coordinator_req_init(&rq);
        rq.key = kstr_c(group);
        struct kp_find_coordinator_resp rs;
        kc_call(kc->boot, KP_API_FIND_COORDINATOR, v, &rq, &rs, &a);
        int16_t err = rs.error_code;
        if (err == KERR_NONE) {
            int32_t id = rs.node_id;
            if (!kc_node_info(kc, id)) {   /* not in our metadata yet: refresh */
                struct kp_metadata_resp m;
                kc_metadata(kc, kc->boot, NULL, -1, false, &a, &m, NULL);
            }
            karena_free(&a);
            return kc_node(kc, id);
        }
        karena_free(&a);
        if (!retriable_coordinator_error(err) || kc_now_ms() > deadline)
            cli_die("%s: %s", kerr_exception(err), kerr_message(err));
        usleep(200 * 1000);
    }
}
