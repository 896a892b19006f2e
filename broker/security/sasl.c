/*
 * sasl.c — SaslHandshake, SaslAuthenticate, the legacy bare-token flow and
 * the pre-authentication gate (see sasl.h). Mechanisms: PLAIN (sasl_plain.c),
 * SCRAM-SHA-256 and SCRAM-SHA-512 (sasl_scram.c, credentials in scram_store.c).
 *
 * Nothing here logs a token or a password: a PLAIN token carries the
 * password, and a mistyped username may be a password too.
 */
#include "sasl.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "clock.h"
#include "config.h"
#include "jaas.h"
#include "kafka_errors.h"
#include "klog.h"
#include "sasl_plain.h"
#include "sasl_scram.h"
#include "scram_store.h"

/* Mechanisms kavka implements, in the order offered. */
static const char *const supported_mechs[] = { "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" };
#define NSUPPORTED (sizeof supported_mechs / sizeof supported_mechs[0])

struct sasl_listener {
    const char *mechs[NSUPPORTED]; /* enabled and supported */
    int nmechs;
    struct plain_users *plain;     /* users for PLAIN, if enabled */
    int64_t reauth_ms;             /* connections.max.reauth.ms (0: off) */
    int32_t fail_delay_ms;         /* connection.failed.authentication.delay.ms */
    int32_t max_receive;           /* sasl.server.max.receive.size */
};

enum sasl_state { S_HANDSHAKE, S_AUTHENTICATE, S_RAW, S_AUTHENTICATED, S_FAILED };

struct sasl_conn {
    enum sasl_state state;
    const char *mech;              /* chosen in SaslHandshake */
    bool reauth;                   /* handshake after a completed login (KIP-368) */
    int64_t session_end_ms;        /* 0: no expiry */
    char user[256];
    struct scram_server *scram;    /* a SCRAM exchange in progress */
    /* a failed login's answer, held back for the delay */
    struct event *delay;
    struct kreq *held;
    struct kw held_w;
    bool held_has_w;
};

/* ---------------- configuration ---------------- */

static int64_t config_long(const struct broker_config *c, const char *lname, const char *key,
                           int64_t dflt)
{
    const char *v = listener_config_get(c, lname, key);
    if (!v || !*v)
        return dflt;
    char *end;
    long long x = strtoll(v, &end, 10);
    return (*end || x < 0) ? dflt : (int64_t)x;
}

/* The JAAS section for `mech` on listener `lname`, Kafka's lookup order:
 * listener.name.<l>.<mech>.sasl.jaas.config, then sections
 * <l>.KafkaServer and KafkaServer of the java.security.auth.login.config
 * file named in $KAFKA_OPTS. */
static int load_jaas(const struct broker_config *c, const char *lname, const char *mech,
                     struct jaas_config *jc, const struct jaas_section **sec, char *err,
                     size_t errlen)
{
    char lower[128], key[256];
    size_t i;
    for (i = 0; lname[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)tolower((unsigned char)lname[i]);
    lower[i] = 0;
    char mlower[32];
    for (i = 0; mech[i] && i < sizeof mlower - 1; i++)
        mlower[i] = (char)tolower((unsigned char)mech[i]);
    mlower[i] = 0;
    snprintf(key, sizeof key, "listener.name.%s.%s.sasl.jaas.config", lower, mlower);
    const char *inline_cfg = props_get(&c->raw, key);
    char msg[512];
    if (inline_cfg) {
        if (jaas_parse_inline(inline_cfg, "KafkaServer", jc, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s: %s", key, msg);
            return -1;
        }
        *sec = jaas_section(jc, "KafkaServer");
        return 0;
    }
    char path[4096];
    if (jaas_path_from_jvm_opts(getenv("KAFKA_OPTS"), path, sizeof path) != 0) {
        snprintf(err, errlen, "listener %s: no %s and no -Djava.security.auth.login.config= "
                 "in KAFKA_OPTS: no JAAS configuration for SASL/%s", lname, key, mech);
        return -1;
    }
    if (jaas_parse_file(path, jc, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "JAAS configuration: %s", msg);
        return -1;
    }
    char name[200];
    snprintf(name, sizeof name, "%s.KafkaServer", lower);
    *sec = jaas_section(jc, name);
    if (!*sec)
        *sec = jaas_section(jc, "KafkaServer");
    if (!*sec) {
        snprintf(err, errlen, "Could not find a 'KafkaServer' or '%s' entry in the JAAS "
                 "configuration file %s", name, path);
        jaas_free(jc);
        return -1;
    }
    return 0;
}

static int init_plain(const struct broker_config *c, const struct blistener *l,
                      struct sasl_listener *s, char *err, size_t errlen)
{
    struct jaas_config jc;
    const struct jaas_section *sec = NULL;
    if (load_jaas(c, l->name, "PLAIN", &jc, &sec, err, errlen) != 0)
        return -1;
    int rc = plain_users_load(sec, &s->plain, err, errlen);
    jaas_free(&jc);
    if (rc == 0)
        KLOG_INFO("listener %s: SASL/PLAIN with %zu users", l->name, plain_users_count(s->plain));
    return rc;
}

static int pick_mechanisms(const struct broker_config *c, const struct blistener *l,
                           struct sasl_listener *s, char *err, size_t errlen)
{
    const char *list = listener_config_get(c, l->name, "sasl.enabled.mechanisms");
    char *copy = strdup(list ? list : "");
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *m = strtok_r(copy, ", \t", &save); m; m = strtok_r(NULL, ", \t", &save)) {
        size_t i;
        for (i = 0; i < NSUPPORTED; i++)
            if (strcmp(m, supported_mechs[i]) == 0)
                break;
        if (i == NSUPPORTED) {
            KLOG_WARN("listener %s: SASL mechanism %s is not supported by kavka; not offered",
                      l->name, m);
            continue;
        }
        bool dup = false;
        for (int j = 0; j < s->nmechs; j++)
            dup |= s->mechs[j] == supported_mechs[i];
        if (!dup)
            s->mechs[s->nmechs++] = supported_mechs[i];
    }
    free(copy);
    if (s->nmechs == 0) {
        snprintf(err, errlen, "listener %s (%s): sasl.enabled.mechanisms '%s' names no mechanism "
                 "kavka supports (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", l->name, l->protocol, list ? list : "");
        return -1;
    }
    return 0;
}

static bool is_sasl_protocol(const char *p)
{
    return strcmp(p, "SASL_PLAINTEXT") == 0 || strcmp(p, "SASL_SSL") == 0;
}

static bool mech_enabled(const struct sasl_listener *s, const char *m)
{
    for (int i = 0; i < s->nmechs; i++)
        if (strcmp(s->mechs[i], m) == 0)
            return true;
    return false;
}

int sasl_listener_init(const struct broker_config *c, struct blistener *l, char *err,
                       size_t errlen)
{
    if (!is_sasl_protocol(l->protocol))
        return 0;
    struct sasl_listener *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->sasl = s;
    if (pick_mechanisms(c, l, s, err, errlen) != 0)
        return -1;
    if (mech_enabled(s, "PLAIN") && init_plain(c, l, s, err, errlen) != 0)
        return -1;
    s->reauth_ms = config_long(c, l->name, "connections.max.reauth.ms", 0);
    int64_t d = config_long(c, l->name, "connection.failed.authentication.delay.ms", 100);
    s->fail_delay_ms = d > 60000 ? 60000 : (int32_t)d;
    int64_t m = config_long(c, l->name, "sasl.server.max.receive.size", 524288);
    s->max_receive = m > INT32_MAX ? INT32_MAX : (int32_t)m;
    return 0;
}

void sasl_listener_free(struct blistener *l)
{
    if (!l->sasl)
        return;
    plain_users_free(l->sasl->plain);
    free(l->sasl);
    l->sasl = NULL;
}

int sasl_check_inter_broker(const struct broker_config *c, const struct blistener *v, int n,
                            char *err, size_t errlen)
{
    const char *ib = c->inter_broker_listener_name;
    if (!ib)
        return 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].name, ib) != 0 || !v[i].sasl)
            continue;
        const char *m = c->sasl_mechanism_inter_broker_protocol;
        if (!m || !mech_enabled(v[i].sasl, m)) {
            snprintf(err, errlen, "sasl.mechanism.inter.broker.protocol %s must be included in "
                     "sasl.enabled.mechanisms of inter-broker listener %s when SASL is used for "
                     "inter-broker communication", m ? m : "(null)", ib);
            return -1;
        }
        KLOG_INFO("inter-broker listener %s, SASL mechanism %s (recorded: single node)", ib, m);
    }
    return 0;
}

/* ---------------- connection state ---------------- */

int sasl_conn_new(struct conn *c)
{
    c->sasl = calloc(1, sizeof *c->sasl);
    return c->sasl ? 0 : -1;
}

void sasl_conn_free(struct conn *c)
{
    struct sasl_conn *s = c->sasl;
    if (!s)
        return;
    if (s->delay)
        event_free(s->delay);
    if (s->held_has_w)
        kw_free(&s->held_w);
    scram_server_free(s->scram);
    free(s);
    c->sasl = NULL;
}

bool sasl_expects_raw(const struct conn *c)
{
    return c->sasl && c->sasl->state == S_RAW;
}

void sasl_frame_limits(const struct conn *c, int32_t *min, int32_t *max)
{
    const struct sasl_conn *s = c->sasl;
    if (!s || s->state == S_AUTHENTICATED)
        return;
    if (*max > c->lst->sasl->max_receive)
        *max = c->lst->sasl->max_receive;
    if (s->state == S_RAW)
        *min = 0;
}

bool sasl_request_allowed(struct conn *c, const struct kreq *req)
{
    struct sasl_conn *s = c->sasl;
    if (!s)
        return true;
    switch (s->state) {
    case S_AUTHENTICATED:
        /* KIP-368: once the session has expired only re-authentication is served. */
        if (s->session_end_ms && clock_wall_ms() > s->session_end_ms &&
            req->api_key != KP_API_SASL_HANDSHAKE && req->api_key != KP_API_SASL_AUTHENTICATE) {
            KLOG_INFO("%s: SASL session of User:%s expired, closing", c->peer, s->user);
            return false;
        }
        return true;
    case S_HANDSHAKE:
        if (req->api_key == KP_API_API_VERSIONS || req->api_key == KP_API_SASL_HANDSHAKE)
            return true;
        break;
    case S_AUTHENTICATE:
        if (req->api_key == KP_API_SASL_AUTHENTICATE || req->api_key == KP_API_API_VERSIONS)
            return true;
        break;
    case S_RAW:
    case S_FAILED:
        break;
    }
    KLOG_WARN("%s: unexpected request (api %d v%d) during SASL authentication on listener %s, "
              "closing", c->peer, req->api_key, req->api_version, c->lst->name);
    return false;
}

const struct conn_auth sasl_conn_auth = {
    .conn_new = sasl_conn_new,
    .conn_free = sasl_conn_free,
    .frame_limits = sasl_frame_limits,
    .expects_raw = sasl_expects_raw,
    .raw_token = sasl_raw_token,
    .request_allowed = sasl_request_allowed,
};

/* ---------------- failed logins ---------------- */

/* Recent failures per host: each doubles the next failure's delay (up to
 * 32x) for a minute, so guessing from one host slows down even across
 * fresh connections. A small fixed table; the oldest entry is reused. */
#define FAIL_SLOTS 128
#define FAIL_WINDOW_MS 60000
static struct {
    char host[64];
    int fails;
    int64_t last_ms;
} fail_table[FAIL_SLOTS];

static int32_t failure_delay(const char *peer, int32_t base)
{
    char host[64];
    snprintf(host, sizeof host, "%s", peer);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = 0;
    int64_t now = clock_wall_ms();
    int slot = 0;
    for (int i = 0; i < FAIL_SLOTS; i++) {
        if (strcmp(fail_table[i].host, host) == 0) {
            slot = i;
            break;
        }
        if (fail_table[i].last_ms < fail_table[slot].last_ms)
            slot = i;
    }
    if (strcmp(fail_table[slot].host, host) != 0 || now - fail_table[slot].last_ms > FAIL_WINDOW_MS) {
        snprintf(fail_table[slot].host, sizeof fail_table[slot].host, "%s", host);
        fail_table[slot].fails = 0;
    }
    fail_table[slot].last_ms = now;
    int f = fail_table[slot].fails++;
    return base << (f < 5 ? f : 5);
}

static void held_cancel(struct kreq *req)
{
    /* The connection died while the answer was held: only forget it. */
    struct sasl_conn *s = req->pending;
    if (s) {
        s->held = NULL;
        if (s->delay)
            event_del(s->delay);
    }
    req->pending = NULL;
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct sasl_conn *s = c->sasl;
    (void)fd;
    (void)what;
    struct kreq *req = s->held;
    s->held = NULL;
    if (req) {
        req->cancel = NULL;
        req->pending = NULL;
        if (s->held_has_w) {
            s->held_has_w = false;
            kreq_finish(req, &s->held_w);
        } else {
            kreq_finish_silent(req);
        }
    }
    conn_close(c, "SASL authentication failed");
}

/* Log, then answer (w != NULL) or stay silent (bare-token flow) after the
 * delay, then close. The request stays queued meanwhile so nothing after it
 * is answered; S_FAILED makes the gate refuse anything else. */
static void fail_login(struct kreq *req, struct kw *w, const char *reason)
{
    struct conn *c = req->conn;
    struct sasl_conn *s = c->sasl;
    s->state = S_FAILED;
    bufferevent_disable(c->bev, EV_READ); /* nothing more is read from this client */
    int32_t delay = failure_delay(c->peer, c->lst->sasl->fail_delay_ms);
    KLOG_WARN("Failed authentication with %s on listener %s (mechanism %s): %s; closing in %d ms",
              c->peer, c->lst->name, s->mech ? s->mech : "?", reason, delay);
    s->held = req;
    if (w) {
        s->held_w = *w;
        s->held_has_w = true;
    }
    req->pending = s;
    req->cancel = held_cancel;
    if (!s->delay)
        s->delay = evtimer_new(c->b->base, delay_done, c);
    struct timeval tv = { delay / 1000, (delay % 1000) * 1000 };
    if (!s->delay || evtimer_add(s->delay, &tv) != 0)
        delay_done(-1, 0, c);
}

/* ---------------- the mechanisms ---------------- */

static const struct scram_cred *scram_lookup(const char *user, int mech, void *arg)
{
    (void)arg;
    return scram_store_get(user, mech);
}

/* Run the chosen mechanism on one client token. MECH_DONE with s->user set,
 * MECH_CONTINUE (SCRAM's first round), or MECH_FAIL with a client-facing
 * message; out/outlen is the token to answer with (empty for PLAIN). */
enum { MECH_FAIL = -1, MECH_DONE = 0, MECH_CONTINUE = 1 };

static int run_mechanism(struct conn *c, const uint8_t *tok, size_t len, const char **msg,
                         char *out, size_t outcap, size_t *outlen)
{
    struct sasl_conn *s = c->sasl;
    char user[sizeof s->user];
    int rc = MECH_FAIL;
    *outlen = 0;
    int scram = scram_mech_from_name(s->mech);
    if (strcmp(s->mech, "PLAIN") == 0) {
        rc = plain_authenticate(c->lst->sasl->plain, tok, len, user, sizeof user, msg) == 0
                 ? MECH_DONE : MECH_FAIL;
    } else if (scram != SCRAM_UNKNOWN) {
        if (!s->scram)
            s->scram = scram_server_new(scram, scram_lookup, NULL);
        if (!s->scram) {
            *msg = "Authentication failed: out of memory";
            return MECH_FAIL;
        }
        rc = scram_server_step(s->scram, tok, len, out, outcap, outlen, user, sizeof user, msg);
        if (rc == MECH_CONTINUE)
            return rc;
        scram_server_free(s->scram);
        s->scram = NULL;
    } else {
        *msg = "Authentication failed: mechanism not available";
    }
    if (rc != MECH_DONE)
        return MECH_FAIL;
    if (s->reauth && strcmp(user, s->user) != 0) {
        /* Kafka refuses a re-authentication that changes the principal. */
        *msg = "Authentication failed: cannot change principals during re-authentication";
        return MECH_FAIL;
    }
    snprintf(s->user, sizeof s->user, "%s", user);
    return MECH_DONE;
}

static void login_succeeded(struct conn *c)
{
    struct sasl_conn *s = c->sasl;
    int64_t lifetime = c->lst->sasl->reauth_ms;
    s->state = S_AUTHENTICATED;
    s->session_end_ms = lifetime > 0 ? clock_wall_ms() + lifetime : 0;
    snprintf(c->principal, sizeof c->principal, "User:%s", s->user);
    KLOG_INFO("%s: %sauthenticated as %s with SASL/%s on listener %s", c->peer,
              s->reauth ? "re-" : "", c->principal, s->mech, c->lst->name);
}

int sasl_raw_token(struct kreq *req)
{
    struct conn *c = req->conn;
    const char *msg = NULL;
    char out[1024];
    size_t outlen = 0;
    int rc = run_mechanism(c, req->frame, req->frame_len, &msg, out, sizeof out, &outlen);
    if (rc == MECH_FAIL) {
        fail_login(req, NULL, msg);
        return 0;
    }
    if (rc == MECH_DONE)
        login_succeeded(c);
    /* The legacy flow answers a bare token: empty for PLAIN, SCRAM's
     * server-first then server-final. */
    req->resp = evbuffer_new();
    if (!req->resp)
        return -1;
    struct kw w;
    kw_init(&w, req->resp);
    kw_raw(&w, out, outlen);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- handlers ---------------- */

static void fill_mechs(struct kreq *req, struct kp_sasl_handshake_resp *rs)
{
    const struct sasl_listener *sl = req->conn->lst->sasl;
    int n = sl ? sl->nmechs : 0;
    rs->mechanisms_n = n;
    rs->mechanisms = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs->mechanisms);
    if (!rs->mechanisms) {
        rs->mechanisms_n = 0;
        return;
    }
    for (int i = 0; i < n; i++)
        rs->mechanisms[i] = kstr_c(sl->mechs[i]);
}

static int16_t handshake_error(struct conn *c, const char *mech)
{
    struct sasl_conn *s = c->sasl;
    if (!s)
        return KERR_ILLEGAL_SASL_STATE; /* not a SASL listener */
    bool reauth_ok = s->state == S_AUTHENTICATED && c->lst->sasl->reauth_ms > 0;
    if (s->state != S_HANDSHAKE && !reauth_ok)
        return KERR_ILLEGAL_SASL_STATE;
    if (!mech_enabled(c->lst->sasl, mech))
        return KERR_UNSUPPORTED_SASL_MECHANISM;
    return KERR_NONE;
}

int h_sasl_handshake(struct kreq *req)
{
    struct kp_sasl_handshake_req rq;
    if (kp_sasl_handshake_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct conn *c = req->conn;
    char mech[64];
    snprintf(mech, sizeof mech, "%.*s", rq.mechanism.len > 0 ? (int)rq.mechanism.len : 0,
             rq.mechanism.p ? rq.mechanism.p : "");
    struct kp_sasl_handshake_resp rs;
    kp_sasl_handshake_resp_init(&rs);
    rs.error_code = handshake_error(c, mech);
    fill_mechs(req, &rs);
    if (rs.error_code == KERR_NONE) {
        struct sasl_conn *s = c->sasl;
        s->reauth = s->state == S_AUTHENTICATED;
        scram_server_free(s->scram); /* a new exchange */
        s->scram = NULL;
        s->mech = c->lst->sasl->mechs[0];
        for (int i = 0; i < c->lst->sasl->nmechs; i++)
            if (strcmp(c->lst->sasl->mechs[i], mech) == 0)
                s->mech = c->lst->sasl->mechs[i];
        /* v0 is followed by bare tokens, v1 by SaslAuthenticate (KIP-152). */
        s->state = req->api_version == 0 && !s->reauth ? S_RAW : S_AUTHENTICATE;
    } else {
        KLOG_WARN("%s: SaslHandshake for mechanism '%.*s' on listener %s refused: error %d",
                  c->peer, (int)strcspn(mech, "\r\n"), mech, c->lst->name, rs.error_code);
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_sasl_handshake_resp_encode(&w, req->api_version, &rs);
    bool close = rs.error_code != KERR_NONE && c->sasl;
    kreq_finish(req, &w);
    if (close) /* Kafka closes after refusing a handshake on a SASL listener */
        conn_close(c, "SASL handshake refused");
    return 0;
}

int h_sasl_authenticate(struct kreq *req)
{
    struct kp_sasl_authenticate_req rq;
    if (kp_sasl_authenticate_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct conn *c = req->conn;
    struct sasl_conn *s = c->sasl;
    struct kp_sasl_authenticate_resp rs;
    kp_sasl_authenticate_resp_init(&rs);
    rs.auth_bytes.p = (const uint8_t *)"";
    rs.auth_bytes.len = 0;
    struct kw w;
    if (!s || s->state != S_AUTHENTICATE) {
        rs.error_code = KERR_ILLEGAL_SASL_STATE;
        rs.error_message = kstr_c(s ? "Unexpected SaslAuthenticate request"
                                    : "SaslAuthenticate on a listener without SASL");
        kreq_writer(req, &w);
        kp_sasl_authenticate_resp_encode(&w, req->api_version, &rs);
        kreq_finish(req, &w);
        if (s)
            conn_close(c, "unexpected SaslAuthenticate");
        return 0;
    }
    const char *msg = NULL;
    size_t len = rq.auth_bytes.len > 0 ? (size_t)rq.auth_bytes.len : 0;
    char out[1024];
    size_t outlen = 0;
    int rc = run_mechanism(c, rq.auth_bytes.p, len, &msg, out, sizeof out, &outlen);
    if (rc == MECH_FAIL) {
        rs.error_code = KERR_SASL_AUTHENTICATION_FAILED;
        rs.error_message = kstr_c(msg);
        kreq_writer(req, &w);
        kp_sasl_authenticate_resp_encode(&w, req->api_version, &rs);
        fail_login(req, &w, msg);
        return 0;
    }
    if (rc == MECH_DONE)
        login_succeeded(c);
    rs.error_code = KERR_NONE;
    rs.error_message.p = NULL;
    rs.error_message.len = -1;
    rs.auth_bytes.p = (const uint8_t *)out;
    rs.auth_bytes.len = (int32_t)outlen;
    rs.session_lifetime_ms = rc == MECH_DONE ? c->lst->sasl->reauth_ms : 0;
    kreq_writer(req, &w);
    kp_sasl_authenticate_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
