/*
 * config.c — the broker's configuration table, loader and listener parser.
 *
 * Loading is: raw pairs (file, then overrides) -> one walk over the table
 * parsing each key's value or its default into the struct -> resolve the
 * keys Kafka derives from several others -> parse and cross-check the
 * listeners. Values are parsed the way Kafka's ConfigDef does: trimmed,
 * decimal numbers, case-insensitive booleans, comma lists split and trimmed.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "klog.h" /* common/log.h under a name distinct from broker/log.h */

#define F(m) offsetof(struct broker_config, m)
#define NF CONFIG_NO_FIELD
#define H CONFIG_HONOURED
#define R CONFIG_RECORDED
#define IMAX INT32_MAX
#define LMAX INT64_MAX

#define KINT(name, off, def, lo, hi, st, doc) \
    { name, CONFIG_INT, def, lo, hi, 0, 0, NULL, st, off, doc }
#define KLONG(name, off, def, lo, hi, st, doc) \
    { name, CONFIG_LONG, def, lo, hi, 0, 0, NULL, st, off, doc }
#define KBOOL(name, off, def, st, doc) \
    { name, CONFIG_BOOL, def, 0, 0, 0, 0, NULL, st, off, doc }
#define KDBL(name, off, def, lo, hi, st, doc) \
    { name, CONFIG_DOUBLE, def, 0, 0, lo, hi, NULL, st, off, doc }
#define KSTR(name, off, def, choices, st, doc) \
    { name, CONFIG_STRING, def, 0, 0, 0, 0, choices, st, off, doc }
#define KLIST(name, off, def, choices, st, doc) \
    { name, CONFIG_LIST, def, 0, 0, 0, 0, choices, st, off, doc }

#define KAFKA_PROTOCOL_MAP "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"

/*
 * The table. Names, types, defaults and ranges are Kafka's (KafkaConfig /
 * ServerLogConfigs). Ranges Kafka leaves open use the type's limits.
 */
static const struct config_key keys[] = {
    /* identity */
    KINT("broker.id", F(broker_id), "-1", -1, IMAX, H,
         "The broker's id. -1 (unset) falls back to node.id, then to 0."),
    KINT("node.id", NF, "-1", -1, IMAX, H,
         "Alias of broker.id (KRaft name). Must equal broker.id when both are set."),
    KSTR("broker.rack", F(broker_rack), NULL, NULL, R,
         "Rack of the broker; recorded."),

    /* listeners */
    KSTR("listeners", F(listeners), "PLAINTEXT://:9092", NULL, H,
         "Comma-separated NAME://host:port listeners to bind. An empty host binds all interfaces."),
    KSTR("advertised.listeners", F(advertised_listeners), NULL, NULL, H,
         "Listeners returned to clients in Metadata; defaults to listeners. Names must be among listeners."),
    KSTR("listener.security.protocol.map", F(listener_security_protocol_map), KAFKA_PROTOCOL_MAP, NULL, H,
         "Maps listener names to security protocols (NAME:PROTOCOL,...)."),
    KSTR("inter.broker.listener.name", F(inter_broker_listener_name), NULL, NULL, R,
         "Listener for inter-broker traffic; must be an advertised listener. Recorded (single node)."),
    KSTR("security.inter.broker.protocol", F(security_inter_broker_protocol), "PLAINTEXT",
         "PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL", R,
         "Protocol for inter-broker traffic; not to be set together with inter.broker.listener.name."),
    KSTR("inter.broker.protocol.version", NF, "3.9-IV0", NULL, R,
         "Inter-broker protocol version; recorded (single node). Tools read it to tell the Kafka version."),

    /* storage */
    KSTR("log.dirs", NF, NULL, NULL, H,
         "Comma-separated data directories; wins over log.dir. Only the first is used."),
    KSTR("log.dir", NF, "/tmp/kafka-logs", NULL, H,
         "Data directory used when log.dirs is not set."),
    KINT("num.partitions", F(num_partitions), "1", 1, IMAX, H,
         "Partitions of auto-created topics."),
    KINT("default.replication.factor", F(default_replication_factor), "1", 1, IMAX, H,
         "Replication factor of auto-created topics (kavka has one broker, so only 1 succeeds)."),
    KBOOL("auto.create.topics.enable", F(auto_create_topics_enable), "true", H,
          "Create a topic when a client asks for metadata of, or produces to, an unknown topic."),
    KBOOL("delete.topic.enable", F(delete_topic_enable), "true", H,
          "Allow DeleteTopics."),
    KINT("log.segment.bytes", F(log_segment_bytes), "1073741824", 14, IMAX, H,
         "Maximum size of one log segment file."),
    KLONG("log.roll.ms", NF, NULL, 1, LMAX, H,
          "Roll a new segment after this time; wins over log.roll.hours."),
    KINT("log.roll.hours", F(log_roll_hours), "168", 1, IMAX, H,
         "Roll a new segment after this many hours."),
    KLONG("log.retention.ms", NF, NULL, LLONG_MIN, LMAX, H,
          "Delete segments older than this; wins over minutes and hours. Negative = unlimited."),
    KINT("log.retention.minutes", NF, NULL, INT32_MIN, IMAX, H,
         "Retention in minutes; wins over log.retention.hours."),
    KINT("log.retention.hours", F(log_retention_hours), "168", INT32_MIN, IMAX, H,
         "Retention in hours."),
    KLONG("log.retention.bytes", F(log_retention_bytes), "-1", LLONG_MIN, LMAX, H,
          "Delete old segments while a partition is larger than this; -1 = unlimited."),
    KLONG("log.retention.check.interval.ms", F(log_retention_check_interval_ms), "300000", 1, LMAX, H,
          "How often retention is checked."),
    KLONG("log.flush.interval.messages", F(log_flush_interval_messages), "9223372036854775807", 1, LMAX, H,
          "fsync a partition after this many messages."),
    KLONG("log.flush.interval.ms", NF, NULL, LLONG_MIN, LMAX, H,
          "fsync a partition after this time; defaults to log.flush.scheduler.interval.ms."),
    KLONG("log.flush.scheduler.interval.ms", F(log_flush_scheduler_interval_ms), "9223372036854775807",
          LLONG_MIN, LMAX, H, "How often the flusher checks whether a log needs an fsync (at least every "
          "second anyway); also the default of log.flush.interval.ms."),
    KINT("log.index.interval.bytes", F(log_index_interval_bytes), "4096", 0, IMAX, H,
         "Bytes of records between two offset-index entries (0: an entry at every batch but a segment's first)."),
    KINT("log.index.size.max.bytes", F(log_index_size_max_bytes), "10485760", 4, IMAX, H,
         "Maximum size of an offset index file: a segment rolls before its offset or time index would outgrow it."),
    KLIST("log.cleanup.policy", F(log_cleanup_policy), "delete", "delete,compact", R,
          "Default cleanup policy; only delete is implemented, compact is recorded."),
    KBOOL("log.cleaner.enable", F(log_cleaner_enable), "true", R,
          "Run the log cleaner (compaction); recorded."),
    KDBL("log.cleaner.min.cleanable.ratio", F(log_cleaner_min_cleanable_ratio), "0.5", 0.0, 1.0, R,
         "Dirty ratio that makes a log eligible for cleaning; recorded."),
    KBOOL("log.preallocate", F(log_preallocate), "false", R,
          "Preallocate segment files; recorded."),
    KINT("num.recovery.threads.per.data.dir", F(num_recovery_threads_per_data_dir), "1", 1, IMAX, R,
         "Threads for log recovery at startup; recorded."),
    KSTR("log.message.timestamp.type", F(log_message_timestamp_type), "CreateTime",
         "CreateTime,LogAppendTime", R,
         "Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime); "
         "recorded: records keep the producer's timestamps (CreateTime)."),
    KSTR("compression.type", F(compression_type), "producer",
         "uncompressed,zstd,lz4,snappy,gzip,producer", R,
         "Compression of stored batches; recorded: batches are stored as the producer sent them "
         "(what producer means)."),
    KINT("message.max.bytes", F(message_max_bytes), "1048588", 0, IMAX, H,
         "Largest record batch the broker accepts."),
    KINT("min.insync.replicas", F(min_insync_replicas), "1", 1, IMAX, H,
         "Replicas that must be in sync for an acks=all produce; above 1, acks=all gets NOT_ENOUGH_REPLICAS on one broker (as Kafka <= 3.6; 3.7+ caps it at the replication factor)."),
    KBOOL("unclean.leader.election.enable", F(unclean_leader_election_enable), "false", R,
          "Allow out-of-sync replicas to become leader; recorded."),

    /* network */
    KINT("socket.request.max.bytes", F(socket_request_max_bytes), "104857600", 1, IMAX, H,
         "Largest request frame the broker reads; larger frames close the connection."),
    KINT("socket.send.buffer.bytes", F(socket_send_buffer_bytes), "102400", -1, IMAX, R,
         "SO_SNDBUF of client sockets (-1 = OS default); recorded."),
    KINT("socket.receive.buffer.bytes", F(socket_receive_buffer_bytes), "102400", -1, IMAX, R,
         "SO_RCVBUF of client sockets (-1 = OS default); recorded."),
    KINT("num.network.threads", F(num_network_threads), "3", 1, IMAX, R,
         "Network threads; recorded."),
    KINT("num.io.threads", F(num_io_threads), "8", 1, IMAX, R,
         "Request handler threads; recorded."),
    KINT("queued.max.requests", F(queued_max_requests), "500", 1, IMAX, R,
         "Requests queued before network threads stop reading; recorded."),
    KLONG("connections.max.idle.ms", F(connections_max_idle_ms), "600000", LLONG_MIN, LMAX, H,
          "Close a connection with nothing in flight and no traffic for this long (negative: never)."),
    KINT("max.connections", NF, "2147483647", 0, IMAX, H,
         "Most connections the broker keeps; at the limit it stops accepting until one closes."),
    KINT("max.connections.per.ip", NF, "2147483647", 0, IMAX, H,
         "Most connections from one address; more are closed right after accept."),
    KSTR("max.connections.per.ip.overrides", NF, "", NULL, H,
         "Per-address limits, host:count,... (names or addresses); win over max.connections.per.ip."),
    KSTR("metrics.listener", NF, NULL, NULL, H,
         "http://host:port on which /metrics serves Prometheus metrics (kavka's own key); unset: no metrics port."),

    /* metastore */
    KSTR("zookeeper.connect", F(zookeeper_connect), NULL, NULL, H,
         "host:port[,host:port...][/chroot] of the metastore (ZooKeeper protocol)."),
    KINT("zookeeper.session.timeout.ms", F(zookeeper_session_timeout_ms), "18000", INT32_MIN, IMAX, H,
         "ZooKeeper session timeout."),
    KINT("zookeeper.connection.timeout.ms", F(zookeeper_connection_timeout_ms), NULL, INT32_MIN, IMAX, H,
         "How long to wait for a metastore connection; defaults to zookeeper.session.timeout.ms."),
    KBOOL("zookeeper.set.acl", F(zookeeper_set_acl), "false", H,
          "Create znodes with Kafka's secure ACLs: the broker's SASL identity may do everything, "
          "everyone may read (not under /config/users, /config/brokers). Needs a JAAS Client login."),

    /* groups, offsets, transactions */
    KINT("group.initial.rebalance.delay.ms", F(group_initial_rebalance_delay_ms), "3000", INT32_MIN, IMAX, H,
         "Delay before the first rebalance of a new group."),
    KINT("group.min.session.timeout.ms", F(group_min_session_timeout_ms), "6000", INT32_MIN, IMAX, H,
         "Smallest session timeout a member may ask for."),
    KINT("group.max.session.timeout.ms", F(group_max_session_timeout_ms), "1800000", INT32_MIN, IMAX, H,
         "Largest session timeout a member may ask for."),
    KINT("group.max.size", F(group_max_size), "2147483647", 1, IMAX, H,
         "Most members in one consumer group."),
    KINT("offsets.retention.minutes", F(offsets_retention_minutes), "10080", 1, IMAX, H,
         "How long committed offsets of an empty group are kept."),
    KLONG("offsets.retention.check.interval.ms", F(offsets_retention_check_interval_ms), "600000", 1, LMAX, H,
          "How often committed offsets are checked for expiry."),
    KINT("offset.metadata.max.bytes", F(offset_metadata_max_bytes), "4096", 0, IMAX, H,
         "Largest metadata string an offset commit may carry."),
    KINT("offsets.topic.replication.factor", F(offsets_topic_replication_factor), "3", 1, INT16_MAX, R,
         "Replication factor of __consumer_offsets; recorded (one broker)."),
    KINT("offsets.topic.num.partitions", F(offsets_topic_num_partitions), "50", 1, IMAX, R,
         "Partitions of __consumer_offsets; recorded."),
    KINT("transaction.state.log.replication.factor", F(transaction_state_log_replication_factor), "3",
         1, INT16_MAX, R, "Replication factor of __transaction_state; recorded."),
    KINT("transaction.state.log.min.isr", F(transaction_state_log_min_isr), "2", 1, IMAX, R,
         "min.insync.replicas of __transaction_state; recorded."),
    KINT("transaction.state.log.num.partitions", F(transaction_state_log_num_partitions), "50", 1, IMAX, R,
         "Partitions of __transaction_state; recorded."),

    /* security */
    KLIST("sasl.enabled.mechanisms", F(sasl_enabled_mechanisms), "GSSAPI", NULL, H,
          "SASL mechanisms offered to clients in SaslHandshake."),
    KSTR("sasl.mechanism.inter.broker.protocol", F(sasl_mechanism_inter_broker_protocol), "GSSAPI", NULL, R,
         "SASL mechanism for inter-broker traffic; recorded."),
    /* Kafka's GSSAPI settings, dynamic per listener in Kafka; kavka has no
     * GSSAPI, so they are kept (and may be altered, as Kafka allows) but do
     * nothing, as in a Kafka that does not enable GSSAPI. */
    KSTR("sasl.kerberos.service.name", NF, NULL, NULL, R,
         "Kerberos service name (GSSAPI); recorded, kavka has no GSSAPI."),
    KSTR("sasl.kerberos.kinit.cmd", NF, "/usr/bin/kinit", NULL, R,
         "Kerberos kinit command (GSSAPI); recorded, kavka has no GSSAPI."),
    KLONG("sasl.kerberos.min.time.before.relogin", NF, "60000", INT64_MIN, LMAX, R,
          "Login thread sleep between refresh attempts (GSSAPI); recorded, kavka has no GSSAPI."),
    KDBL("sasl.kerberos.ticket.renew.jitter", NF, "0.05", -HUGE_VAL, HUGE_VAL, R,
         "Random jitter added to the renewal time (GSSAPI); recorded, kavka has no GSSAPI."),
    KDBL("sasl.kerberos.ticket.renew.window.factor", NF, "0.8", -HUGE_VAL, HUGE_VAL, R,
         "Part of the ticket lifetime after which it is renewed (GSSAPI); recorded, kavka has no GSSAPI."),
    KLIST("sasl.kerberos.principal.to.local.rules", NF, "DEFAULT", NULL, R,
          "Rules mapping Kerberos principals to short names (GSSAPI); recorded, kavka has no GSSAPI."),
    KINT("connection.failed.authentication.delay.ms", NF, "100", 0, IMAX, H,
         "Delay before a failed login is answered and the connection closed; doubled per recent "
         "failure from the same host (up to 32x). See docs/security.md."),
    KLONG("connections.max.reauth.ms", NF, "0", 0, LMAX, H,
          "SASL session lifetime returned in SaslAuthenticate v1+; an expired session must "
          "re-authenticate. 0 = sessions do not expire."),
    KSTR("authorizer.class.name", F(authorizer_class_name), "", NULL, H,
         "Non-empty turns ACL authorization on (the class name itself is recorded)."),
    KSTR("super.users", F(super_users), NULL, NULL, H,
         "Principals allowed everything, separated by ';' (User:alice;User:bob)."),
    KBOOL("allow.everyone.if.no.acl.found", F(allow_everyone_if_no_acl_found), "false", H,
          "With an authorizer, allow access to resources that have no ACL."),

    /* replication (single node) */
    KBOOL("auto.leader.rebalance.enable", F(auto_leader_rebalance_enable), "true", R,
          "Preferred-leader rebalancing; recorded."),
    KBOOL("controlled.shutdown.enable", F(controlled_shutdown_enable), "true", R,
          "Controlled shutdown; recorded."),
    KINT("num.replica.fetchers", F(num_replica_fetchers), "1", 1, IMAX, R,
         "Replica fetcher threads; recorded."),
};

#define NKEYS (sizeof keys / sizeof keys[0])

/* Keys that may be changed at runtime with AlterConfigs (Kafka's "per-broker"
 * / "cluster-wide" update modes), limited to those kavka re-applies without a
 * restart (see admin_configs.c). Every other key is read-only. */
static const char *const dynamic_keys[] = {
    "log.segment.bytes", "log.roll.ms", "log.roll.hours", "log.retention.ms",
    "log.retention.minutes", "log.retention.hours", "log.retention.bytes",
    "log.flush.interval.messages", "log.flush.interval.ms", "log.index.interval.bytes",
    "log.cleanup.policy", "log.cleaner.min.cleanable.ratio", "log.preallocate",
    "log.message.timestamp.type", "compression.type", "message.max.bytes",
    "min.insync.replicas", "unclean.leader.election.enable", "num.io.threads",
    "num.network.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir",
    /* recorded only: kavka has no GSSAPI */
    "sasl.kerberos.service.name", "sasl.kerberos.kinit.cmd", "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.ticket.renew.jitter", "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.principal.to.local.rules",
};

bool broker_config_dynamic(const char *name)
{
    for (size_t i = 0; i < sizeof dynamic_keys / sizeof dynamic_keys[0]; i++)
        if (strcmp(dynamic_keys[i], name) == 0)
            return true;
    return false;
}

/* Keys with these prefixes are kept without a warning: per-listener
 * overrides and TLS/SASL settings are looked up by name later. */
static const char *const quiet_prefixes[] = { "listener.name.", "ssl.", "sasl." };

size_t broker_config_nkeys(void) { return NKEYS; }

const struct config_key *broker_config_key(size_t i)
{
    return i < NKEYS ? &keys[i] : NULL;
}

const struct config_key *broker_config_find(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

const char *config_type_name(enum config_type t)
{
    static const char *const names[] = { "int", "long", "boolean", "double", "string", "list" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------- value parsing ---------------- */

/* A trimmed heap copy of s (Kafka's ConfigDef trims every value). */
static char *trimmed_dup(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

/* Is `v` one of the comma-separated `choices`? */
static bool in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        p += len + (e ? 1 : 0);
    }
    return false;
}

static void list_free(struct config_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Split a trimmed comma list; empty items are dropped. */
static int list_split(const char *s, struct config_list *out)
{
    struct config_list l = { 0, NULL };
    char *copy = strdup(s);
    if (!copy)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *item = trimmed_dup(tok);
        char **nv = item ? realloc(l.v, (size_t)(l.n + 1) * sizeof *nv) : NULL;
        if (!nv) {
            free(item);
            list_free(&l);
            free(copy);
            return -1;
        }
        l.v = nv;
        if (*item)
            l.v[l.n++] = item;
        else
            free(item);
    }
    free(copy);
    *out = l;
    return 0;
}

/* Parse a decimal integer in [min,max] (the whole trimmed string). */
static int parse_integer(const struct config_key *k, const char *s, int64_t *out,
                         char *err, size_t errlen)
{
    const char *tname = k->type == CONFIG_INT ? "INT" : "LONG";
    char *t = trimmed_dup(s);
    if (!t) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    bool ok = *t && *end == '\0' && errno == 0 && !isspace((unsigned char)*t);
    if (ok && k->type == CONFIG_INT && (v < INT32_MIN || v > INT32_MAX))
        ok = false;
    free(t);
    if (!ok) {
        seterr(err, errlen, "Invalid value '%s' for configuration %s: Not a number of type %s",
               s, k->name, tname);
        return -1;
    }
    if (v < k->min || v > k->max) {
        seterr(err, errlen, "Invalid value '%s' for configuration %s: Value must be %s %lld",
               s, k->name, v < k->min ? "at least" : "no more than",
               (long long)(v < k->min ? k->min : k->max));
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_bool(const struct config_key *k, const char *s, bool *out, char *err, size_t errlen)
{
    char *t = trimmed_dup(s);
    if (!t) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    if (strcasecmp(t, "true") == 0)
        *out = true;
    else if (strcasecmp(t, "false") == 0)
        *out = false;
    else
        rc = -1;
    free(t);
    if (rc < 0)
        seterr(err, errlen, "Invalid value '%s' for configuration %s: Expected value to be either true or false",
               s, k->name);
    return rc;
}

static int parse_double(const struct config_key *k, const char *s, double *out,
                        char *err, size_t errlen)
{
    char *t = trimmed_dup(s);
    if (!t) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    bool ok = *t && *end == '\0' && errno == 0 && isfinite(v);
    free(t);
    if (!ok) {
        seterr(err, errlen, "Invalid value '%s' for configuration %s: Not a number of type DOUBLE",
               s, k->name);
        return -1;
    }
    if (v < k->dmin || v > k->dmax) {
        seterr(err, errlen, "Invalid value '%s' for configuration %s: Value must be between %g and %g",
               s, k->name, k->dmin, k->dmax);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_string(const struct config_key *k, const char *s, char **out,
                        char *err, size_t errlen)
{
    char *t = trimmed_dup(s);
    if (!t) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    if (k->choices && !in_choices(k->choices, t)) {
        seterr(err, errlen, "Invalid value '%s' for configuration %s: String must be one of: %s",
               s, k->name, k->choices);
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static int parse_list(const struct config_key *k, const char *s, struct config_list *out,
                      char *err, size_t errlen)
{
    if (list_split(s, out) < 0) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; k->choices && i < out->n; i++) {
        if (!in_choices(k->choices, out->v[i])) {
            seterr(err, errlen, "Invalid value '%s' for configuration %s: each item must be one of: %s",
                   s, k->name, k->choices);
            list_free(out);
            return -1;
        }
    }
    return 0;
}

/*
 * Parse value `s` of key `k` into `dst` (a member of the key's type).
 * A null value (s == NULL) leaves the member as it is (NULL, empty or 0);
 * numeric keys with a null default are resolved after the table walk.
 */
static int parse_into(const struct config_key *k, const char *s, void *dst, char *err, size_t errlen)
{
    int64_t v;
    if (!s)
        return 0;
    switch (k->type) {
    case CONFIG_INT:
        if (parse_integer(k, s, &v, err, errlen) < 0)
            return -1;
        *(int32_t *)dst = (int32_t)v;
        return 0;
    case CONFIG_LONG:
        return parse_integer(k, s, (int64_t *)dst, err, errlen);
    case CONFIG_BOOL:
        return parse_bool(k, s, (bool *)dst, err, errlen);
    case CONFIG_DOUBLE:
        return parse_double(k, s, (double *)dst, err, errlen);
    case CONFIG_STRING:
        return parse_string(k, s, (char **)dst, err, errlen);
    case CONFIG_LIST:
        return parse_list(k, s, (struct config_list *)dst, err, errlen);
    }
    return -1;
}

/* The value of `key` as given (file or override), NULL if not given. */
static const char *given(const struct broker_config *c, const char *key)
{
    return props_get(&c->raw, key);
}

const char *broker_config_get(const struct broker_config *c, const char *key)
{
    const char *v = given(c, key);
    if (v)
        return v;
    const struct config_key *k = broker_config_find(key);
    return k ? k->dflt : NULL;
}

const char *listener_config_get(const struct broker_config *c, const char *name, const char *key)
{
    char k[512];
    int n = snprintf(k, sizeof k, "listener.name.");
    for (const char *p = name; *p && n < (int)sizeof k - 1; p++)
        k[n++] = (char)tolower((unsigned char)*p);
    snprintf(k + n, sizeof k - (size_t)n, ".%s", key);
    const char *v = props_get(&c->raw, k);
    return v ? v : broker_config_get(c, key);
}

/* A numeric key's value as given, validated. 1 if given, 0 if not, -1 bad. */
static int given_integer(const struct broker_config *c, const char *key, int64_t *out,
                         char *err, size_t errlen)
{
    const char *s = given(c, key);
    if (!s)
        return 0;
    return parse_integer(broker_config_find(key), s, out, err, errlen) < 0 ? -1 : 1;
}

/* ---------------- loading ---------------- */

static int apply_overrides(struct broker_config *c, int n, char *const *ov, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(ov[i], '=');
        if (!eq || eq == ov[i]) {
            seterr(err, errlen, "Invalid override '%s': expected key=value", ov[i]);
            return -1;
        }
        char *key = strndup(ov[i], (size_t)(eq - ov[i]));
        int rc = key ? props_set(&c->raw, key, eq + 1) : -1;
        free(key);
        if (rc < 0) {
            seterr(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void warn_unknown_keys(const struct broker_config *c)
{
    for (size_t i = 0; i < c->raw.n; i++) {
        const char *key = c->raw.v[i].key;
        bool quiet = broker_config_find(key) != NULL;
        for (size_t p = 0; !quiet && p < sizeof quiet_prefixes / sizeof quiet_prefixes[0]; p++)
            quiet = strncmp(key, quiet_prefixes[p], strlen(quiet_prefixes[p])) == 0;
        if (!quiet)
            KLOG_WARN("config: unknown key '%s' ignored", key);
    }
}

/* Validate the value of a key that has no member of its own. */
static int check_only(const struct config_key *k, const char *s, char *err, size_t errlen)
{
    union {
        int32_t i;
        int64_t l;
        bool b;
        double d;
        char *str;
        struct config_list list;
    } scratch;
    memset(&scratch, 0, sizeof scratch);
    if (parse_into(k, s, &scratch, err, errlen) < 0)
        return -1;
    if (k->type == CONFIG_STRING)
        free(scratch.str);
    else if (k->type == CONFIG_LIST)
        list_free(&scratch.list);
    return 0;
}

/* Every key: its given value or its default, into its member. Keys without
 * a member are still parsed so a bad value is reported. */
static int parse_table(struct broker_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct config_key *k = &keys[i];
        const char *s = given(c, k->name);
        if (!s)
            s = k->dflt;
        if (k->offset == NF) {
            if (check_only(k, s, err, errlen) < 0)
                return -1;
            continue;
        }
        if (parse_into(k, s, (char *)c + k->offset, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* broker.id and node.id are one setting under two names (Kafka 3.x). */
static int resolve_broker_id(struct broker_config *c, char *err, size_t errlen)
{
    int64_t bid = 0, nid = 0;
    int gb = given_integer(c, "broker.id", &bid, err, errlen);
    int gn = given_integer(c, "node.id", &nid, err, errlen);
    if (gb < 0 || gn < 0)
        return -1;
    if (gb && gn && bid >= 0 && nid >= 0 && bid != nid) {
        seterr(err, errlen, "broker.id (%lld) and node.id (%lld) must be the same when both are set",
               (long long)bid, (long long)nid);
        return -1;
    }
    /* Kafka would generate an id above reserved.broker.max.id for -1; a
     * single kavka broker simply takes 0. */
    if (c->broker_id < 0)
        c->broker_id = gn && nid >= 0 ? (int32_t)nid : 0;
    return 0;
}

/* The ms / minutes / hours families: the most precise key given wins. */
static int resolve_times(struct broker_config *c, char *err, size_t errlen)
{
    int64_t v;
    int g;
    if ((g = given_integer(c, "log.roll.ms", &v, err, errlen)) < 0)
        return -1;
    c->log_roll_ms = g ? v : (int64_t)c->log_roll_hours * 3600000LL;

    if ((g = given_integer(c, "log.retention.ms", &v, err, errlen)) < 0)
        return -1;
    if (!g) {
        if ((g = given_integer(c, "log.retention.minutes", &v, err, errlen)) < 0)
            return -1;
        v = g ? v * 60000LL : (int64_t)c->log_retention_hours * 3600000LL;
    }
    c->log_retention_ms = v < 0 ? -1 : v;
    if (c->log_retention_ms == 0) {
        seterr(err, errlen, "log.retention.ms must be unlimited (-1) or, equal or greater than 1");
        return -1;
    }

    if ((g = given_integer(c, "log.flush.interval.ms", &v, err, errlen)) < 0)
        return -1;
    c->log_flush_interval_ms = g ? v : c->log_flush_scheduler_interval_ms;

    if (!given(c, "zookeeper.connection.timeout.ms"))
        c->zookeeper_connection_timeout_ms = c->zookeeper_session_timeout_ms;
    return 0;
}

/* log.dirs wins over log.dir; kavka stores everything in the first dir. */
static int resolve_log_dirs(struct broker_config *c, char *err, size_t errlen)
{
    const char *key = "log.dirs";
    const char *s = given(c, key);
    if (!s) {
        key = "log.dir";
        s = broker_config_get(c, key);
    }
    struct config_list l;
    if (list_split(s, &l) < 0) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    if (l.n == 0) {
        seterr(err, errlen, "Invalid value '%s' for configuration %s: no directory given", s, key);
        list_free(&l);
        return -1;
    }
    if (l.n > 1)
        KLOG_WARN("config: %s lists %d directories; kavka uses only the first, %s", key, l.n, l.v[0]);
    c->log_dirs = strdup(l.v[0]);
    list_free(&l);
    if (!c->log_dirs) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int listeners_parse_opt(const char *spec, const char *map, bool distinct_ports,
                               struct listener **out, int *n, char *err, size_t errlen);

static const struct listener *listener_named(const struct listener *l, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return &l[i];
    return NULL;
}

/* Kafka's rules between listeners, advertised.listeners and the
 * inter-broker settings. */
static int resolve_listeners(struct broker_config *c, char *err, size_t errlen)
{
    char msg[256];
    const char *map = c->listener_security_protocol_map;
    if (listeners_parse_opt(c->listeners, map, true, &c->listener_list, &c->nlisteners,
                            msg, sizeof msg) < 0) {
        seterr(err, errlen, "Invalid value '%s' for configuration listeners: %s", c->listeners, msg);
        return -1;
    }
    if (c->nlisteners == 0) {
        seterr(err, errlen, "Invalid value '%s' for configuration listeners: no listener given",
               c->listeners);
        return -1;
    }
    if (!c->advertised_listeners && !(c->advertised_listeners = strdup(c->listeners))) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    /* Advertised listeners may share a port (different hosts, e.g. behind NAT). */
    if (listeners_parse_opt(c->advertised_listeners, map, false, &c->advertised_list,
                            &c->nadvertised, msg, sizeof msg) < 0) {
        seterr(err, errlen, "Invalid value '%s' for configuration advertised.listeners: %s",
               c->advertised_listeners, msg);
        return -1;
    }
    for (int i = 0; i < c->nadvertised; i++) {
        const struct listener *a = &c->advertised_list[i];
        if (strcmp(a->host, "0.0.0.0") == 0 || strcmp(a->host, "::") == 0) {
            seterr(err, errlen, "advertised.listeners cannot use the nonroutable meta-address %s "
                   "(listener %s); use a routable IP address", a->host, a->name);
            return -1;
        }
        if (!listener_named(c->listener_list, c->nlisteners, a->name)) {
            seterr(err, errlen, "advertised.listeners listener name %s is not one of listeners (%s)",
                   a->name, c->listeners);
            return -1;
        }
    }
    if (given(c, "inter.broker.listener.name") && given(c, "security.inter.broker.protocol")) {
        seterr(err, errlen, "Only one of inter.broker.listener.name and security.inter.broker.protocol "
               "should be set");
        return -1;
    }
    if (c->inter_broker_listener_name) {
        for (char *p = c->inter_broker_listener_name; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        if (!listener_named(c->advertised_list, c->nadvertised, c->inter_broker_listener_name)) {
            seterr(err, errlen, "inter.broker.listener.name must be a listener name defined in "
                   "advertised.listeners; '%s' is not", c->inter_broker_listener_name);
            return -1;
        }
    }
    return 0;
}

int broker_config_load(struct broker_config *c, const char *path, int noverrides,
                       char *const *overrides, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (path && props_parse_file(&c->raw, path, err, errlen) < 0)
        goto fail;
    if (apply_overrides(c, noverrides, overrides, err, errlen) < 0)
        goto fail;
    warn_unknown_keys(c);
    if (parse_table(c, err, errlen) < 0 || resolve_broker_id(c, err, errlen) < 0 ||
        resolve_times(c, err, errlen) < 0 || resolve_log_dirs(c, err, errlen) < 0 ||
        resolve_listeners(c, err, errlen) < 0)
        goto fail;
    return 0;
fail:
    broker_config_free(c);
    return -1;
}

void broker_config_free(struct broker_config *c)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].offset == NF)
            continue;
        void *m = (char *)c + keys[i].offset;
        if (keys[i].type == CONFIG_STRING) {
            free(*(char **)m);
            *(char **)m = NULL;
        } else if (keys[i].type == CONFIG_LIST) {
            list_free((struct config_list *)m);
        }
    }
    free(c->log_dirs);
    free(c->listener_list);
    free(c->advertised_list);
    props_free(&c->raw);
    memset(c, 0, sizeof *c);
}

/* ---------------- listeners ---------------- */

static const char *const proto_names[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };

const char *security_protocol_name(enum security_protocol p)
{
    return (unsigned)p < 4 ? proto_names[p] : "?";
}

int security_protocol_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(proto_names[i], name) == 0)
            return i;
    return -1;
}

static void upcase(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

/* Look a listener name up in a "NAME:PROTOCOL,..." map. Returns the
 * protocol, or -1 with err set (name absent or a malformed map). */
static int map_lookup(const char *map, const char *name, char *err, size_t errlen)
{
    struct config_list l;
    if (list_split(map, &l) < 0) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    int found = -1;
    for (int i = 0; i < l.n; i++) {
        char *colon = strchr(l.v[i], ':');
        if (!colon || colon == l.v[i]) {
            seterr(err, errlen, "malformed listener.security.protocol.map entry '%s'", l.v[i]);
            found = -2;
            break;
        }
        *colon = '\0';
        char *proto = colon + 1;
        upcase(l.v[i]);
        upcase(proto);
        int p = security_protocol_parse(proto);
        if (p < 0) {
            seterr(err, errlen, "unknown security protocol '%s' in listener.security.protocol.map", proto);
            found = -2;
            break;
        }
        if (strcmp(l.v[i], name) == 0)
            found = p;
    }
    list_free(&l);
    if (found == -1)
        seterr(err, errlen, "no security protocol defined for listener %s in "
               "listener.security.protocol.map", name);
    return found < 0 ? -1 : found;
}

static bool host_char_ok(char ch)
{
    return isalnum((unsigned char)ch) || strchr("-%._:", ch) != NULL;
}

/* One "NAME://host:port" (already trimmed) into *l. */
static int parse_one(const char *item, const char *map, struct listener *l, char *err, size_t errlen)
{
    const char *sep = strstr(item, "://");
    if (!sep || sep == item || (size_t)(sep - item) >= sizeof l->name) {
        seterr(err, errlen, "'%s' is not of the form NAME://host:port", item);
        return -1;
    }
    memcpy(l->name, item, (size_t)(sep - item));
    l->name[sep - item] = '\0';
    upcase(l->name);
    const char *hp = sep + 3;
    const char *colon = strrchr(hp, ':');
    if (!colon) {
        seterr(err, errlen, "'%s' has no port", item);
        return -1;
    }
    const char *h0 = hp, *h1 = colon;
    if (*hp == '[') { /* [ipv6]:port */
        const char *rb = strchr(hp, ']');
        if (!rb || rb + 1 != colon) {
            seterr(err, errlen, "'%s': bad bracketed host", item);
            return -1;
        }
        h0 = hp + 1;
        h1 = rb;
    }
    if ((size_t)(h1 - h0) >= sizeof l->host) {
        seterr(err, errlen, "'%s': host name too long", item);
        return -1;
    }
    for (const char *p = h0; p < h1; p++) {
        if (!host_char_ok(*p)) {
            seterr(err, errlen, "'%s': invalid character in host", item);
            return -1;
        }
    }
    memcpy(l->host, h0, (size_t)(h1 - h0));
    l->host[h1 - h0] = '\0';
    const char *ps = colon + 1;
    char *end;
    errno = 0;
    long port = strtol(ps, &end, 10);
    if (!isdigit((unsigned char)*ps) || *end || errno || port > 65535) {
        seterr(err, errlen, "'%s': port must be a number from 0 to 65535", item);
        return -1;
    }
    l->port = (int)port;
    int proto = map_lookup(map ? map : KAFKA_PROTOCOL_MAP, l->name, err, errlen);
    if (proto < 0)
        return -1;
    l->protocol = (enum security_protocol)proto;
    return 0;
}

static int listeners_parse_opt(const char *spec, const char *map, bool distinct_ports,
                               struct listener **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    struct config_list items;
    if (list_split(spec ? spec : "", &items) < 0) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    struct listener *ls = calloc(items.n ? (size_t)items.n : 1, sizeof *ls);
    int rc = ls ? 0 : -1;
    if (!ls)
        seterr(err, errlen, "out of memory");
    for (int i = 0; rc == 0 && i < items.n; i++) {
        rc = parse_one(items.v[i], map, &ls[i], err, errlen);
        for (int j = 0; rc == 0 && j < i; j++) {
            if (strcmp(ls[j].name, ls[i].name) == 0) {
                seterr(err, errlen, "each listener must have a different name; %s is used twice",
                       ls[i].name);
                rc = -1;
            } else if (distinct_ports && ls[i].port != 0 && ls[j].port == ls[i].port) {
                seterr(err, errlen, "each listener must have a different port; %d is used by %s and %s",
                       ls[i].port, ls[j].name, ls[i].name);
                rc = -1;
            }
        }
    }
    if (rc == 0) {
        *out = ls;
        *n = items.n;
    } else {
        free(ls);
    }
    list_free(&items);
    return rc;
}

int listeners_parse(const char *spec, const char *protocol_map, struct listener **out, int *n,
                    char *err, size_t errlen)
{
    return listeners_parse_opt(spec, protocol_map, true, out, n, err, errlen);
}
