/*
 * fourlw.c — four-letter words on the client port (ruok, srvr, stat, mntr,
 * conf, cons, envi, isro, wchs, dump), answered as plain text in
 * ZooKeeper's formats; the connection is closed after the answer.
 *
 * Only words in 4lw.commands.whitelist run (ZooKeeper's default is srvr);
 * others get ZooKeeper's refusal line.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "clock.h"
#include "server.h"

#define ZK_COMPAT_VERSION "3.9.5-kavka, built on " __DATE__

typedef void (*fourlw_fn)(struct ms_server *s, struct evbuffer *out);

static void out_printf(struct evbuffer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_printf(struct evbuffer *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(out, fmt, ap);
    va_end(ap);
}

static void latency(struct ms_server *s, struct evbuffer *out)
{
    double avg = s->lat_count ? (double)s->lat_total / (double)s->lat_count : 0.0;
    out_printf(out, "Latency min/avg/max: %" PRId64 "/%.4f/%" PRId64 "\n", s->lat_min, avg,
               s->lat_max);
}

static void server_lines(struct ms_server *s, struct evbuffer *out)
{
    latency(s, out);
    out_printf(out, "Received: %" PRIu64 "\nSent: %" PRIu64 "\nConnections: %d\n",
               s->packets_recv, s->packets_sent, s->nconns);
    out_printf(out, "Outstanding: 0\nZxid: 0x%" PRIx64 "\nMode: standalone\nNode count: %zu\n",
               (uint64_t)s->db.last_zxid, s->db.tree.count);
}

static void w_srvr(struct ms_server *s, struct evbuffer *out)
{
    out_printf(out, "Zookeeper version: %s\n", ZK_COMPAT_VERSION);
    server_lines(s, out);
}

static void conn_brief(const struct ms_conn *c, struct evbuffer *out)
{
    out_printf(out, " /%s:%d[%d](queued=0,recved=%" PRIu64 ",sent=%" PRIu64 ")\n", c->ip,
               c->port, c->state == CONN_CONNECTED, c->recv, c->sent);
}

static void w_stat(struct ms_server *s, struct evbuffer *out)
{
    out_printf(out, "Zookeeper version: %s\nClients:\n", ZK_COMPAT_VERSION);
    for (const struct ms_conn *c = s->conns; c; c = c->next)
        conn_brief(c, out);
    out_printf(out, "\n");
    server_lines(s, out);
}

static void w_cons(struct ms_server *s, struct evbuffer *out)
{
    for (const struct ms_conn *c = s->conns; c; c = c->next) {
        out_printf(out, " /%s:%d[%d](queued=0,recved=%" PRIu64 ",sent=%" PRIu64, c->ip, c->port,
                   c->state == CONN_CONNECTED, c->recv, c->sent);
        if (c->sess)
            out_printf(out, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%d,lcxid=0x%x,"
                       "lzxid=0x%" PRIx64, (uint64_t)c->sess->id, c->last_op, c->established,
                       c->sess->timeout, (unsigned)c->last_xid, (uint64_t)c->last_zxid);
        out_printf(out, ")\n");
    }
    out_printf(out, "\n");
}

static void w_ruok(struct ms_server *s, struct evbuffer *out)
{
    (void)s;
    out_printf(out, "imok");
}

static void w_isro(struct ms_server *s, struct evbuffer *out)
{
    (void)s;
    out_printf(out, "rw");
}

static void w_conf(struct ms_server *s, struct evbuffer *out)
{
    const struct ms_config *c = s->cfg;
    out_printf(out, "clientPort=%d\nsecureClientPort=-1\ndataDir=%s\ndataDirSize=0\n"
               "dataLogDir=%s\ndataLogSize=0\ntickTime=%d\nmaxClientCnxns=%d\n"
               "minSessionTimeout=%d\nmaxSessionTimeout=%d\nclientPortListenBacklog=-1\n"
               "serverId=0\n", s->port, c->data_dir, c->data_log_dir, c->tick_time,
               c->max_client_cnxns, c->min_session_timeout, c->max_session_timeout);
}

static void w_envi(struct ms_server *s, struct evbuffer *out)
{
    (void)s;
    struct utsname u;
    char host[256] = "localhost", cwd[1024] = "?";
    gethostname(host, sizeof host - 1);
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, "?");
    uname(&u);
    out_printf(out, "Environment:\nzookeeper.version=%s\nhost.name=%s\n", ZK_COMPAT_VERSION,
               host);
    out_printf(out, "os.name=%s\nos.arch=%s\nos.version=%s\nuser.dir=%s\n", u.sysname,
               u.machine, u.release, cwd);
}

struct wchs_ctx {
    const void *seen[4096];
    size_t nseen;
    size_t total;
};

static void count_watch(const char *path, void *who, uint8_t modes, void *arg)
{
    (void)path;
    (void)modes;
    struct wchs_ctx *x = arg;
    x->total++;
    for (size_t i = 0; i < x->nseen; i++)
        if (x->seen[i] == who)
            return;
    if (x->nseen < sizeof x->seen / sizeof x->seen[0])
        x->seen[x->nseen++] = who;
}

static void w_wchs(struct ms_server *s, struct evbuffer *out)
{
    struct wchs_ctx x = { .nseen = 0, .total = 0 };
    watch_foreach(&s->dwatch, count_watch, &x);
    watch_foreach(&s->cwatch, count_watch, &x);
    out_printf(out, "%zu connections watching %zu paths\nTotal watches:%zu\n", x.nseen,
               s->dwatch.npaths + s->cwatch.npaths, x.total);
}

static void w_dump(struct ms_server *s, struct evbuffer *out)
{
    int64_t now = clock_mono_ms();
    out_printf(out, "SessionTracker dump:\nGlobal Sessions(%d):\n", s->db.nsessions);
    for (const struct ms_session *x = s->db.sessions; x; x = x->next)
        out_printf(out, "0x%" PRIx64 "\t%dms\t(expires in %" PRId64 "ms)\n", (uint64_t)x->id,
                   x->timeout, x->expire_at - now);
    out_printf(out, "ephemeral nodes dump:\nSessions with Ephemerals (%d):\n", s->db.nsessions);
    for (const struct ms_session *x = s->db.sessions; x; x = x->next) {
        char **paths;
        int n = db_ephemerals(&s->db, x->id, NULL, &paths);
        if (n <= 0)
            continue;
        out_printf(out, "0x%" PRIx64 ":\n", (uint64_t)x->id);
        for (int i = 0; i < n; i++)
            out_printf(out, "\t%s\n", paths[i]);
        db_free_paths(paths, n);
    }
}

static int count_ephemeral(struct znode *n, void *arg)
{
    int64_t o = n->st.ephemeral_owner;
    if (o != 0 && o != ZK_CONTAINER_OWNER && (o & ZK_TTL_MASK) != ZK_TTL_MASK)
        ++*(size_t *)arg;
    return 0;
}

static int add_size(struct znode *n, void *arg)
{
    *(size_t *)arg += n->plen + (n->dlen > 0 ? (size_t)n->dlen : 0);
    return 0;
}

static void w_mntr(struct ms_server *s, struct evbuffer *out)
{
    size_t eph = 0, size = 0;
    tree_walk(&s->db.tree, count_ephemeral, &eph);
    tree_walk(&s->db.tree, add_size, &size);
    double avg = s->lat_count ? (double)s->lat_total / (double)s->lat_count : 0.0;
    out_printf(out, "zk_version\t%s\nzk_server_state\tstandalone\n", ZK_COMPAT_VERSION);
    out_printf(out, "zk_avg_latency\t%.4f\nzk_max_latency\t%" PRId64 "\nzk_min_latency\t%" PRId64
               "\n", avg, s->lat_max, s->lat_min);
    out_printf(out, "zk_packets_received\t%" PRIu64 "\nzk_packets_sent\t%" PRIu64 "\n",
               s->packets_recv, s->packets_sent);
    out_printf(out, "zk_num_alive_connections\t%d\nzk_outstanding_requests\t0\n", s->nconns);
    out_printf(out, "zk_znode_count\t%zu\nzk_watch_count\t%zu\nzk_ephemerals_count\t%zu\n",
               s->db.tree.count, watch_count(&s->dwatch, NULL) + watch_count(&s->cwatch, NULL),
               eph);
    out_printf(out, "zk_approximate_data_size\t%zu\nzk_global_sessions\t%d\n", size,
               s->db.nsessions);
    out_printf(out, "zk_last_proposal_size\t-1\nzk_uptime\t%" PRId64 "\n",
               clock_wall_ms() - s->start_time);
}

static const struct {
    char word[5];
    fourlw_fn fn;
} words[] = {
    { "ruok", w_ruok }, { "srvr", w_srvr }, { "stat", w_stat }, { "mntr", w_mntr },
    { "conf", w_conf }, { "cons", w_cons }, { "envi", w_envi }, { "isro", w_isro },
    { "wchs", w_wchs }, { "dump", w_dump },
};

static int find_word(const uint8_t w[4])
{
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (memcmp(words[i].word, w, 4) == 0)
            return (int)i;
    return -1;
}

bool fourlw_is_command(const uint8_t word[4])
{
    return find_word(word) >= 0;
}

void fourlw_run(struct ms_conn *c, const uint8_t word[4])
{
    int i = find_word(word);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (i < 0)
        return;
    if (!ms_config_4lw_allowed(c->srv->cfg, words[i].word))
        out_printf(out, "%s is not executed because it is not in the whitelist.\n",
                   words[i].word);
    else
        words[i].fn(c->srv, out);
    ms_conn_close_after_flush(c);
}
