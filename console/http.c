/*
 * http.c — the console's HTTP side on libevent's evhttp: the embedded page,
 * the login form, sessions, CSRF checks and the JSON API (console.h).
 *
 * Sessions: a random 256-bit id in the cookie `kavka_session` (HttpOnly,
 * SameSite=Strict, Secure with console.cookie.secure), kept in memory with
 * a per-session CSRF token that the page reads from GET /api/session and
 * sends in the X-CSRF-Token header of every POST and DELETE. The login form
 * itself is protected by a double-submit token (cookie `kavka_login` and a
 * hidden field).
 *
 * Each API call runs the Kafka client in a forked child and waits for its
 * answer: the handler blocks the event loop for the length of the call (the
 * client's request timeout bounds each broker round trip). That is accepted
 * for an admin console used by a few people; it keeps the client code the
 * tools' own, blocking one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "assets.h"
#include "client.h"
#include "console.h"

#define MAX_SESSIONS 1024
#define TOKEN_HEX 64
#define CHILD_DEADLINE_MS 60000

struct session {
    char id[TOKEN_HEX + 1];        /* empty: free slot */
    char csrf[TOKEN_HEX + 1];
    char user[128];
    time_t expires;
};

static const struct console_cfg *cfg;
static struct session sessions[MAX_SESSIONS];

/* ------------------------------------------------------------ helpers */

static void random_hex(char out[TOKEN_HEX + 1])
{
    unsigned char b[TOKEN_HEX / 2];
    if (RAND_bytes(b, sizeof b) != 1) {
        fprintf(stderr, "kavka-console: no randomness from OpenSSL\n");
        abort();
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool token_eq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == TOKEN_HEX && strlen(b) == n && CRYPTO_memcmp(a, b, n) == 0;
}

static const struct console_asset *asset(const char *path)
{
    for (const struct console_asset *a = console_assets; a->path; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

static void common_headers(struct evhttp_request *req, const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "same-origin");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                      "form-action 'self'; base-uri 'none'");
}

static void log_request(struct evhttp_request *req, int code, const char *user)
{
    const char *m = "?";
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: m = "GET"; break;
    case EVHTTP_REQ_POST: m = "POST"; break;
    case EVHTTP_REQ_DELETE: m = "DELETE"; break;
    case EVHTTP_REQ_HEAD: m = "HEAD"; break;
    default: break;
    }
    /* The path only: no query (it may hold a message filter), no body. */
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    fprintf(stderr, "kavka-console: %s %s %d %s\n", m, path ? path : "?", code,
            user ? user : "-");
}

static void send_text(struct evhttp_request *req, int code, const char *ctype, const char *body,
                      size_t len, const char *user)
{
    common_headers(req, ctype);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
    log_request(req, code, user);
}

static void send_json(struct evhttp_request *req, int code, json_t *j, const char *user)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    send_text(req, code, "application/json; charset=utf-8", s ? s : "{}", s ? strlen(s) : 2, user);
    free(s);
}

static void send_error(struct evhttp_request *req, int code, const char *msg, const char *user)
{
    send_json(req, code, json_pack("{s:s}", "error", msg), user);
}

static void redirect(struct evhttp_request *req, const char *to)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", to);
    send_text(req, 303, "text/plain; charset=utf-8", "", 0, NULL);
}

/* The value of cookie `name` from the request, copied into out. */
static bool get_cookie(struct evhttp_request *req, const char *name, char *out, size_t cap)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
    size_t nl = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nl && strncmp(h, name, nl) == 0 && h[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl >= cap)
                return false;
            memcpy(out, h + nl + 1, vl);
            out[vl] = 0;
            return true;
        }
        h = end;
    }
    return false;
}

static void set_cookie(struct evhttp_request *req, const char *name, const char *value, int max_age)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", name, value,
             max_age, cfg->secure_cookie ? "; Secure" : "");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", buf);
}

static struct session *find_session(struct evhttp_request *req)
{
    char id[TOKEN_HEX + 8];
    if (!get_cookie(req, "kavka_session", id, sizeof id))
        return NULL;
    time_t now = time(NULL);
    for (int i = 0; i < MAX_SESSIONS; i++) {
        struct session *s = &sessions[i];
        if (s->id[0] && token_eq(id, s->id)) {
            if (s->expires < now) {
                memset(s, 0, sizeof *s);
                return NULL;
            }
            s->expires = now + cfg->session_ttl_s;   /* sliding expiry */
            return s;
        }
    }
    return NULL;
}

static struct session *new_session(const char *user)
{
    time_t now = time(NULL);
    struct session *slot = NULL;
    for (int i = 0; i < MAX_SESSIONS && !slot; i++)
        if (!sessions[i].id[0] || sessions[i].expires < now)
            slot = &sessions[i];
    if (!slot) {   /* full: drop the one closest to expiry */
        slot = &sessions[0];
        for (int i = 1; i < MAX_SESSIONS; i++)
            if (sessions[i].expires < slot->expires)
                slot = &sessions[i];
    }
    memset(slot, 0, sizeof *slot);
    random_hex(slot->id);
    random_hex(slot->csrf);
    snprintf(slot->user, sizeof slot->user, "%s", user);
    slot->expires = now + cfg->session_ttl_s;
    return slot;
}

/* The request body as a NUL-terminated string (caller frees). */
static char *body_string(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    evbuffer_copyout(in, s, n);
    s[n] = 0;
    return s;
}

static bool check_password(const char *user, const char *password)
{
    unsigned char h[32];
    unsigned int hl = 0;
    if (!EVP_Digest(password, strlen(password), h, &hl, EVP_sha256(), NULL) || hl != 32)
        return false;
    bool ok = false;
    for (int i = 0; i < cfg->nusers; i++)
        if (strcmp(cfg->users[i].name, user) == 0 &&
            CRYPTO_memcmp(cfg->users[i].pw_sha256, h, 32) == 0)
            ok = true;
    return ok;
}

/* ------------------------------------------------------------ login */

static void escape_html(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': evbuffer_add_printf(b, "&lt;"); break;
        case '>': evbuffer_add_printf(b, "&gt;"); break;
        case '&': evbuffer_add_printf(b, "&amp;"); break;
        case '"': evbuffer_add_printf(b, "&quot;"); break;
        case '\'': evbuffer_add_printf(b, "&#39;"); break;
        default: evbuffer_add(b, s, 1);
        }
    }
}

/* login.html with {{csrf}}, {{error}} and {{cluster}} filled in; a fresh
 * double-submit token in the kavka_login cookie. */
static void login_page(struct evhttp_request *req, int code, const char *error)
{
    const struct console_asset *a = asset("/login.html");
    char tok[TOKEN_HEX + 1];
    random_hex(tok);
    set_cookie(req, "kavka_login", tok, 3600);
    struct evbuffer *b = evbuffer_new();
    const char *p = (const char *)a->data, *end = p + a->len;
    while (p < end) {
        const char *m = strstr(p, "{{");
        if (!m || m >= end) {
            evbuffer_add(b, p, (size_t)(end - p));
            break;
        }
        evbuffer_add(b, p, (size_t)(m - p));
        if (strncmp(m, "{{csrf}}", 8) == 0) {
            evbuffer_add_printf(b, "%s", tok);
            p = m + 8;
        } else if (strncmp(m, "{{error}}", 9) == 0) {
            escape_html(b, error ? error : "");
            p = m + 9;
        } else if (strncmp(m, "{{cluster}}", 11) == 0) {
            escape_html(b, cfg->cluster_name);
            p = m + 11;
        } else {
            evbuffer_add(b, m, 2);
            p = m + 2;
        }
    }
    common_headers(req, "text/html; charset=utf-8");
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
    log_request(req, code, NULL);
}

static void do_login(struct evhttp_request *req)
{
    char *body = body_string(req);
    struct evkeyvalq form;
    TAILQ_INIT(&form);
    if (!body || evhttp_parse_query_str(body, &form) != 0) {
        free(body);
        login_page(req, 400, "Malformed login request.");
        return;
    }
    free(body);
    const char *user = evhttp_find_header(&form, "username");
    const char *pw = evhttp_find_header(&form, "password");
    const char *tok = evhttp_find_header(&form, "csrf");
    char cookie[TOKEN_HEX + 8];
    if (!tok || !get_cookie(req, "kavka_login", cookie, sizeof cookie) || !token_eq(tok, cookie)) {
        evhttp_clear_headers(&form);
        login_page(req, 403, "The login form expired; please try again.");
        return;
    }
    if (!user || !pw || !check_password(user, pw)) {
        char shown[65];   /* the name as typed, printable ASCII only, for the log */
        size_t k = 0;
        for (const char *q = user ? user : ""; *q && k < sizeof shown - 1; q++)
            shown[k++] = *q >= 0x20 && *q < 0x7f ? *q : '?';
        shown[k] = 0;
        fprintf(stderr, "kavka-console: login refused for user '%s'\n", shown);
        evhttp_clear_headers(&form);
        login_page(req, 401, "Invalid username or password.");
        return;
    }
    struct session *s = new_session(user);
    fprintf(stderr, "kavka-console: user '%s' logged in\n", s->user);
    evhttp_clear_headers(&form);
    set_cookie(req, "kavka_login", "", 0);
    set_cookie(req, "kavka_session", s->id, cfg->session_ttl_s);
    redirect(req, "/");
}

/* ------------------------------------------------------------ API */

/* Runs fn in a child and sends its JSON (see the comment at the top). */
static void run_op(struct evhttp_request *req, op_fn fn, const struct op_req *r, const char *user)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
        send_error(req, 500, "pipe failed", user);
        return;
    }
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        send_error(req, 500, "pipe failed", user);
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        send_error(req, 500, "fork failed", user);
        return;
    }
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        struct kclient kc;
        kc_init(&kc, "kavka-console", cfg->bootstrap, &cfg->client);
        kc_bootstrap(&kc);
        int status = 200;
        json_t *j = fn(&kc, r, &status);
        char *s = json_dumps(j, JSON_COMPACT);
        if (!s)
            cli_die("could not encode the answer");
        FILE *f = fdopen(out[1], "w");
        if (!f || fprintf(f, "%d\n%s", status, s) < 0 || fclose(f) != 0)
            _exit(2);
        _exit(0);
    }
    close(out[1]);
    close(err[1]);
    struct evbuffer *ob = evbuffer_new(), *eb = evbuffer_new();
    struct pollfd pf[2] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN } };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool timed_out = false;
    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = CHILD_DEADLINE_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
                                         (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int n = poll(pf, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            char buf[16384];
            ssize_t k = read(pf[i].fd, buf, sizeof buf);
            if (k > 0)
                evbuffer_add(i ? eb : ob, buf, (size_t)k);
            else if (k == 0 || errno != EINTR)
                pf[i].fd = -1;
        }
    }
    close(out[0]);
    close(err[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    size_t n = evbuffer_get_length(ob);
    char *text = malloc(n + 1);
    if (text) {
        evbuffer_copyout(ob, text, n);
        text[n] = 0;
    }
    if (timed_out) {
        send_error(req, 504, "the broker did not answer in time", user);
    } else if (WIFEXITED(wst) && WEXITSTATUS(wst) == 0 && text && strchr(text, '\n')) {
        char *nl = strchr(text, '\n');
        int code = atoi(text);
        send_text(req, code >= 200 && code < 600 ? code : 502, "application/json; charset=utf-8",
                  nl + 1, strlen(nl + 1), user);
    } else {
        /* The client's "Error: ..." line(s): the broker's or the network's
         * wording, never a credential. */
        size_t en = evbuffer_get_length(eb);
        char *msg = malloc(en + 1);
        if (msg) {
            evbuffer_copyout(eb, msg, en);
            msg[en] = 0;
            while (en > 0 && (msg[en - 1] == '\n' || msg[en - 1] == ' '))
                msg[--en] = 0;
        }
        const char *m = msg && *msg ? msg : "the Kafka call failed";
        if (strncmp(m, "Error: ", 7) == 0)
            m += 7;
        fprintf(stderr, "kavka-console: call failed: %s\n", m);
        json_t *j = json_pack("{s:s}", "error", m);
        if (!j)
            j = json_pack("{s:s}", "error", "the Kafka call failed");
        send_json(req, 502, j, user);
        free(msg);
    }
    free(text);
    evbuffer_free(ob);
    evbuffer_free(eb);
}

/* Splits "/api/topics/NAME/messages" style paths; decoded parts. */
static int split_path(const char *path, char parts[4][256])
{
    int n = 0;
    const char *p = path;
    while (*p && n < 4) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char raw[256];
        if (len >= sizeof raw)
            return -1;
        memcpy(raw, p, len);
        raw[len] = 0;
        char *dec = evhttp_uridecode(raw, 0, NULL);
        if (!dec || strlen(dec) >= 256) {
            free(dec);
            return -1;
        }
        strcpy(parts[n++], dec);
        free(dec);
        p += len;
    }
    return *p && *p != '/' ? -1 : n;
}

static void api(struct evhttp_request *req, const char *path, struct session *s)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        const char *tok = evhttp_find_header(evhttp_request_get_input_headers(req), "X-CSRF-Token");
        if (!tok || !token_eq(tok, s->csrf)) {
            send_error(req, 403, "missing or wrong CSRF token", s->user);
            return;
        }
    }
    char parts[4][256];
    int n = split_path(path, parts);
    if (n < 2 || strcmp(parts[0], "api") != 0) {
        send_error(req, 404, "no such API", s->user);
        return;
    }
    struct op_req r = { 0 };
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query && evhttp_parse_query_str(query, &q) != 0) {
        send_error(req, 400, "malformed query", s->user);
        return;
    }
    r.q_partition = evhttp_find_header(&q, "partition");
    r.q_offset = evhttp_find_header(&q, "offset");
    r.q_limit = evhttp_find_header(&q, "limit");
    r.q_filter = evhttp_find_header(&q, "filter");
    if (cmd == EVHTTP_REQ_POST && evbuffer_get_length(evhttp_request_get_input_buffer(req)) > 0) {
        char *body = body_string(req);
        json_error_t je;
        r.body = body ? json_loads(body, 0, &je) : NULL;
        free(body);
        if (!json_is_object(r.body)) {
            json_decref(r.body);
            evhttp_clear_headers(&q);
            send_error(req, 400, "the body must be a JSON object", s->user);
            return;
        }
    }
    op_fn fn = NULL;
    const char *sec = parts[1];
    if (n == 2 && strcmp(sec, "session") == 0 && cmd == EVHTTP_REQ_GET) {
        send_json(req, 200, json_pack("{s:s, s:s, s:s}", "user", s->user, "csrf", s->csrf,
                                      "cluster", cfg->cluster_name), s->user);
    } else if (n == 2 && strcmp(sec, "logout") == 0 && cmd == EVHTTP_REQ_POST) {
        char user[128];
        snprintf(user, sizeof user, "%s", s->user);
        memset(s, 0, sizeof *s);
        set_cookie(req, "kavka_session", "", 0);
        send_json(req, 200, json_pack("{s:b}", "logged_out", 1), user);
    } else if (n == 2 && strcmp(sec, "cluster") == 0 && cmd == EVHTTP_REQ_GET) {
        fn = op_cluster;
    } else if (n == 2 && strcmp(sec, "topics") == 0) {
        fn = cmd == EVHTTP_REQ_GET ? op_topics : cmd == EVHTTP_REQ_POST ? op_topic_create : NULL;
    } else if (n == 3 && strcmp(sec, "topics") == 0 && cmd == EVHTTP_REQ_DELETE) {
        r.topic = parts[2];
        fn = op_topic_delete;
    } else if (n == 4 && strcmp(sec, "topics") == 0 && strcmp(parts[3], "messages") == 0) {
        r.topic = parts[2];
        fn = cmd == EVHTTP_REQ_GET ? op_messages : cmd == EVHTTP_REQ_POST ? op_produce : NULL;
    } else if (n == 2 && strcmp(sec, "groups") == 0 && cmd == EVHTTP_REQ_GET) {
        fn = op_groups;
    } else if (n == 3 && strcmp(sec, "groups") == 0 && cmd == EVHTTP_REQ_GET) {
        r.group = parts[2];
        fn = op_group;
    } else {
        send_error(req, 404, "no such API", s->user);
    }
    if (fn)
        run_op(req, fn, &r, s->user);
    json_decref(r.body);
    evhttp_clear_headers(&q);
}

/* ------------------------------------------------------------ routing */

static void handle(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (!path || !*path)
        path = "/";
    if (strcmp(path, "/login") == 0) {
        if (cmd == EVHTTP_REQ_POST)
            do_login(req);
        else
            login_page(req, 200, NULL);
        return;
    }
    const struct console_asset *a = NULL;
    if (strcmp(path, "/app.js") == 0 || strcmp(path, "/style.css") == 0) {
        a = asset(path);   /* code and style only: no data, no login needed */
        send_text(req, 200, a->content_type, (const char *)a->data, a->len, NULL);
        return;
    }
    struct session *s = find_session(req);
    if (strncmp(path, "/api/", 5) == 0) {
        if (!s)
            send_error(req, 401, "not logged in", NULL);
        else
            api(req, path, s);
        return;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        if (!s) {
            redirect(req, "/login");
            return;
        }
        a = asset("/index.html");
        send_text(req, 200, a->content_type, (const char *)a->data, a->len, s->user);
        return;
    }
    send_text(req, 404, "text/plain; charset=utf-8", "Not found\n", 10, s ? s->user : NULL);
}

int console_serve(const struct console_cfg *c)
{
    cfg = c;
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http) {
        fprintf(stderr, "kavka-console: cannot set up the HTTP server\n");
        return 1;
    }
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(http, 1 << 20);
    evhttp_set_timeout(http, 120);
    evhttp_set_gencb(http, handle, NULL);
    if (!evhttp_bind_socket_with_handle(http, c->listen_host, (ev_uint16_t)c->port)) {
        fprintf(stderr, "kavka-console: cannot listen on %s:%d: %s\n", c->listen_host, c->port,
                strerror(errno));
        return 1;
    }
    fprintf(stderr, "kavka-console: listening on http://%s:%d/ for cluster %s (%s), %d user(s)\n",
            c->listen_host, c->port, c->cluster_name, c->bootstrap, c->nusers);
    event_base_dispatch(base);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
