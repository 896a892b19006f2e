/*
 * kavka_admin.c — kavka-admin, a small Kafka admin client for healthchecks
 * and scripts where no JVM is available (the broker container image).
 *
 *   kavka-admin [-b HOST:PORT] [-t SECONDS] [-U USER -P PASSWORD] health
 *   kavka-admin [-b HOST:PORT] [-t SECONDS] [-U USER -P PASSWORD] topics
 *
 * health: ApiVersions, then Metadata must list at least one broker; exit 0
 * when healthy, 1 otherwise (like `kafka-broker-api-versions` as a check).
 * topics: one topic name per line, like `kafka-topics --list` (internal
 * topics left out). With -U, it authenticates with SASL/PLAIN first
 * (SaslHandshake v1 + SaslAuthenticate v0); the password may come from the
 * KAVKA_ADMIN_PASSWORD environment variable instead of -P.
 *
 * It speaks through the project's generated codec with blocking sockets:
 * classic (non-flexible) versions, so any Kafka broker answers it.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kafka_errors.h"
#include "kafka_msgs.h"
#include "wire.h"

#define MAX_RESPONSE (64 * 1024 * 1024)

struct client {
    int fd;
    int timeout_ms;
    int32_t corr;
    uint8_t *resp;      /* last response frame, owned */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kavka-admin: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int wait_fd(const struct client *c, short ev)
{
    struct pollfd p = { .fd = c->fd, .events = ev };
    int n;
    do
        n = poll(&p, 1, c->timeout_ms);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

static void io_all(struct client *c, uint8_t *p, size_t n, bool wr)
{
    while (n > 0) {
        if (wait_fd(c, wr ? POLLOUT : POLLIN) != 0)
            die("timed out %s the broker", wr ? "writing to" : "waiting for");
        ssize_t k = wr ? send(c->fd, p, n, MSG_NOSIGNAL) : recv(c->fd, p, n, 0);
        if (k <= 0)
            die("connection to the broker lost%s", k < 0 ? ": I/O error" : "");
        p += k;
        n -= (size_t)k;
    }
}

static void connect_to(struct client *c, const char *bootstrap)
{
    char host[256];
    const char *colon = strrchr(bootstrap, ':');
    if (!colon || colon == bootstrap || (size_t)(colon - bootstrap) >= sizeof host)
        die("bootstrap server must be HOST:PORT, not '%s'", bootstrap);
    memcpy(host, bootstrap, (size_t)(colon - bootstrap));
    host[colon - bootstrap] = 0;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        die("cannot resolve '%s'", bootstrap);
    c->fd = -1;
    for (ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(c->fd);
            c->fd = -1;
        }
    }
    freeaddrinfo(res);
    if (c->fd < 0)
        die("cannot connect to %s", bootstrap);
}

/* Sends the request in body (header v1 added here) and reads the response:
 * returns a reader positioned after the correlation id (response header v0). */
static struct kr roundtrip(struct client *c, int16_t key, int16_t ver, const struct kw *body)
{
    struct kw w;
    kw_init(&w, NULL);
    kw_i32(&w, 0);
    kw_i16(&w, key);
    kw_i16(&w, ver);
    kw_i32(&w, ++c->corr);
    kw_str(&w, kstr_c("kavka-admin"), false);
    kw_raw(&w, body->buf, body->len);
    if (w.err)
        die("out of memory");
    kw_patch_i32(&w, 0, (int32_t)(w.len - 4));
    io_all(c, w.buf, w.len, true);
    kw_free(&w);

    uint8_t hdr[4];
    io_all(c, hdr, 4, false);
    int32_t n = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                          (uint32_t)hdr[2] << 8 | hdr[3]);
    if (n < 4 || n > MAX_RESPONSE)
        die("malformed response from the broker");
    free(c->resp);
    c->resp = malloc((size_t)n);
    if (!c->resp)
        die("out of memory");
    io_all(c, c->resp, (size_t)n, false);
    struct kr r;
    kr_init(&r, c->resp, (size_t)n);
    if (kr_i32(&r) != c->corr)
        die("response out of order");
    return r;
}

static void sasl_plain(struct client *c, const char *user, const char *password)
{
    struct karena a;
    karena_init(&a);
    struct kw w;

    struct kp_sasl_handshake_req hs;
    kp_sasl_handshake_req_init(&hs);
    hs.mechanism = kstr_c("PLAIN");
    kw_init(&w, NULL);
    kp_sasl_handshake_req_encode(&w, 1, &hs);
    struct kr r = roundtrip(c, KP_API_SASL_HANDSHAKE, 1, &w);
    kw_free(&w);
    struct kp_sasl_handshake_resp hsr;
    if (kp_sasl_handshake_resp_decode(&r, 1, &a, &hsr) != 0)
        die("malformed SaslHandshake response");
    if (hsr.error_code != KERR_NONE)
        die("the listener does not offer SASL/PLAIN (error %s)",
            hsr.error_code == KERR_UNSUPPORTED_SASL_MECHANISM ? "UNSUPPORTED_SASL_MECHANISM"
                                                               : "from SaslHandshake");

    /* RFC 4616: authzid NUL authcid NUL passwd. */
    size_t ul = strlen(user), pl = strlen(password);
    uint8_t *tok = karena_alloc(&a, ul + pl + 2);
    if (!tok)
        die("out of memory");
    memcpy(tok + 1, user, ul);
    memcpy(tok + 2 + ul, password, pl);
    struct kp_sasl_authenticate_req au;
    kp_sasl_authenticate_req_init(&au);
    au.auth_bytes = (struct kbytes){ tok, (int32_t)(ul + pl + 2) };
    kw_init(&w, NULL);
    kp_sasl_authenticate_req_encode(&w, 0, &au);
    r = roundtrip(c, KP_API_SASL_AUTHENTICATE, 0, &w);
    kw_free(&w);
    struct kp_sasl_authenticate_resp aur;
    if (kp_sasl_authenticate_resp_decode(&r, 0, &a, &aur) != 0)
        die("malformed SaslAuthenticate response");
    if (aur.error_code != KERR_NONE)
        die("authentication failed for user '%s'", user);
    karena_free(&a);
}

/* Metadata v1 for all topics into *m (views into c->resp). */
static void metadata(struct client *c, struct karena *a, struct kp_metadata_resp *m)
{
    struct kp_metadata_req rq;
    kp_metadata_req_init(&rq);
    rq.topics_n = -1;   /* all topics */
    struct kw w;
    kw_init(&w, NULL);
    kp_metadata_req_encode(&w, 1, &rq);
    struct kr r = roundtrip(c, KP_API_METADATA, 1, &w);
    kw_free(&w);
    if (kp_metadata_resp_decode(&r, 1, a, m) != 0)
        die("malformed Metadata response");
}

static int cmd_health(struct client *c, struct karena *a)
{
    struct kp_api_versions_req av;
    kp_api_versions_req_init(&av);
    struct kw w;
    kw_init(&w, NULL);
    kp_api_versions_req_encode(&w, 0, &av);
    struct kr r = roundtrip(c, KP_API_API_VERSIONS, 0, &w);
    kw_free(&w);
    struct kp_api_versions_resp avr;
    if (kp_api_versions_resp_decode(&r, 0, a, &avr) != 0 || avr.error_code != KERR_NONE)
        die("ApiVersions failed");
    struct kp_metadata_resp m;
    metadata(c, a, &m);
    if (m.brokers_n <= 0)
        die("the broker lists no brokers in Metadata");
    printf("ok: %d api keys, %d broker(s), %d topic(s)\n", avr.api_keys_n, m.brokers_n,
           m.topics_n > 0 ? m.topics_n : 0);
    return 0;
}

static int cmd_topics(struct client *c, struct karena *a)
{
    struct kp_metadata_resp m;
    metadata(c, a, &m);
    for (int32_t i = 0; i < m.topics_n; i++)
        if (!m.topics[i].is_internal)
            printf("%.*s\n", (int)m.topics[i].name.len, m.topics[i].name.p);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: kavka-admin [-b HOST:PORT] [-t SECONDS] [-U USER [-P PASSWORD]] "
                    "health|topics\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *user = NULL;
    const char *password = getenv("KAVKA_ADMIN_PASSWORD");
    int timeout_s = 10, opt;
    while ((opt = getopt(argc, argv, "b:t:U:P:h")) != -1) {
        switch (opt) {
        case 'b': bootstrap = optarg; break;
        case 't': timeout_s = atoi(optarg); break;
        case 'U': user = optarg; break;
        case 'P': password = optarg; break;
        default: usage();
        }
    }
    if (optind != argc - 1 || timeout_s <= 0)
        usage();
    const char *cmd = argv[optind];
    if (strcmp(cmd, "health") != 0 && strcmp(cmd, "topics") != 0)
        usage();
    if (user && !password)
        die("-U needs a password (-P or KAVKA_ADMIN_PASSWORD)");

    struct client c = { .timeout_ms = timeout_s * 1000 };
    connect_to(&c, bootstrap);
    if (user)
        sasl_plain(&c, user, password);
    struct karena a;
    karena_init(&a);
    int rc = strcmp(cmd, "health") == 0 ? cmd_health(&c, &a) : cmd_topics(&c, &a);
    karena_free(&a);
    free(c.resp);
    close(c.fd);
    return rc;
}
