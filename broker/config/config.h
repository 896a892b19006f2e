/*
 * config.h — the broker's configuration (Kafka's server.properties keys).
 *
 * One table in config.c lists every key kavka knows: its Kafka name, type,
 * Kafka's default, the allowed range or values, a doc string, whether the
 * broker honours it or only accepts and records it, and the member of
 * struct broker_config it fills. Loading, validation, freeing and the docs
 * check (tests/unit/test_config.c against docs/configuration.md) all walk
 * that table, so a key cannot be known in one place and missing in another.
 *
 * Every key given (known or not) is also kept verbatim in `raw`, so code can
 * look up per-listener (`listener.name.*`), `ssl.*` and `sasl.*` keys with
 * broker_config_get(). Unknown keys are logged with a warning and otherwise
 * ignored, as Kafka does.
 *
 * Members are named after their key with '.' -> '_'. Where Kafka derives a
 * value from several keys (retention, roll, flush interval, broker id,
 * advertised listeners, log dirs) the member holds the resolved value; see
 * docs/configuration.md for the rules.
 */
#ifndef KAVKA_BROKER_CONFIG_H
#define KAVKA_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "properties.h"

/* ---------------- listeners ---------------- */

enum security_protocol {
    SECPROTO_PLAINTEXT = 0,
    SECPROTO_SSL = 1,
    SECPROTO_SASL_PLAINTEXT = 2,
    SECPROTO_SASL_SSL = 3,
};

/* "PLAINTEXT", "SSL", ... */
const char *security_protocol_name(enum security_protocol p);
/* Exact (upper-case) name -> protocol; -1 if unknown. */
int security_protocol_parse(const char *name);

struct listener {
    char name[64];                   /* listener name, upper-cased as Kafka does */
    enum security_protocol protocol; /* from listener.security.protocol.map */
    char host[256];                  /* "" = all interfaces; IPv6 without brackets */
    int port;                        /* 0..65535 */
};

/*
 * Parse a Kafka listener list such as
 *   "SASL_USER://host:29092,SASL_UI://0.0.0.0:19092,PLAINTEXT_HOST://:9092"
 * using `protocol_map` ("NAME:PROTOCOL,..."; NULL = Kafka's default map, in
 * which each protocol name maps to itself). On success *out is a malloc'd
 * array of *n listeners (caller frees with free()). Errors (returned as -1
 * with a message in err): malformed entry, listener name missing from the
 * map, unknown protocol in the map, port outside 0..65535, two listeners with
 * the same name, or two with the same non-zero port.
 */
__attribute__((warn_unused_result))
int listeners_parse(const char *spec, const char *protocol_map, struct listener **out,
                    int *n, char *err, size_t errlen);

/* ---------------- the key table ---------------- */

enum config_type {
    CONFIG_INT,     /* int32_t member */
    CONFIG_LONG,    /* int64_t member */
    CONFIG_BOOL,    /* bool member */
    CONFIG_DOUBLE,  /* double member */
    CONFIG_STRING,  /* char * member (NULL when the value is null) */
    CONFIG_LIST,    /* struct config_list member; comma separated, trimmed */
};

enum config_status {
    CONFIG_HONOURED,   /* the broker acts on it */
    CONFIG_RECORDED,   /* accepted, validated and recorded; no effect */
};

#define CONFIG_NO_FIELD ((size_t)-1)

struct config_key {
    const char *name;
    enum config_type type;
    const char *dflt;     /* as it would be written in the file; NULL = null */
    int64_t min, max;     /* CONFIG_INT / CONFIG_LONG range (inclusive) */
    double dmin, dmax;    /* CONFIG_DOUBLE range */
    const char *choices;  /* STRING/LIST: comma-separated allowed values, or NULL */
    enum config_status status;
    size_t offset;        /* into struct broker_config, or CONFIG_NO_FIELD when the
                             key only feeds a resolved member (e.g. log.retention.ms) */
    const char *doc;
};

/* The table, for docs and tooling. */
size_t broker_config_nkeys(void);
const struct config_key *broker_config_key(size_t i);
/* The entry for `name`, or NULL if kavka does not know the key. */
const struct config_key *broker_config_find(const char *name);
const char *config_type_name(enum config_type t);
/* May `name` be changed at runtime (AlterConfigs)? Otherwise read-only. */
bool broker_config_dynamic(const char *name);

/* ---------------- the loaded configuration ---------------- */

struct config_list {
    int n;
    char **v;
};

struct broker_config {
    /* identity: broker.id, else node.id, else 0 */
    int32_t broker_id;
    char *broker_rack;

    /* listeners (strings as given; parsed forms below) */
    char *listeners;
    char *advertised_listeners;       /* resolved: `listeners` when unset */
    char *listener_security_protocol_map;
    char *inter_broker_listener_name;
    char *security_inter_broker_protocol;
    struct listener *listener_list;   /* parsed `listeners` */
    int nlisteners;
    struct listener *advertised_list; /* parsed advertised listeners */
    int nadvertised;

    /* storage */
    char *log_dirs;                   /* first of log.dirs, else log.dir */
    int32_t num_partitions;
    int32_t default_replication_factor;
    bool auto_create_topics_enable;
    bool delete_topic_enable;
    int32_t log_segment_bytes;
    int64_t log_roll_ms;              /* resolved: log.roll.ms, else hours */
    int32_t log_roll_hours;
    int64_t log_retention_ms;         /* resolved: ms > minutes > hours; -1 = unlimited */
    int32_t log_retention_hours;
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;    /* resolved: else log.flush.scheduler.interval.ms */
    int64_t log_flush_scheduler_interval_ms;
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    struct config_list log_cleanup_policy;
    bool log_cleaner_enable;
    double log_cleaner_min_cleanable_ratio;
    bool log_preallocate;
    int32_t num_recovery_threads_per_data_dir;
    char *log_message_timestamp_type;
    char *compression_type;
    int32_t message_max_bytes;
    int32_t min_insync_replicas;
    bool unclean_leader_election_enable;

    /* network */
    int32_t socket_request_max_bytes;
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    int32_t num_network_threads;
    int32_t num_io_threads;
    int32_t queued_max_requests;
    int64_t connections_max_idle_ms;

    /* metastore */
    char *zookeeper_connect;
    int32_t zookeeper_session_timeout_ms;
    int32_t zookeeper_connection_timeout_ms; /* resolved: else session timeout */
    bool zookeeper_set_acl;

    /* groups, offsets, transactions */
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;
    int32_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int32_t offset_metadata_max_bytes;
    int32_t offsets_topic_replication_factor;
    int32_t offsets_topic_num_partitions;
    int32_t transaction_state_log_replication_factor;
    int32_t transaction_state_log_min_isr;
    int32_t transaction_state_log_num_partitions;

    /* security */
    struct config_list sasl_enabled_mechanisms;
    char *sasl_mechanism_inter_broker_protocol;
    char *authorizer_class_name;
    char *super_users;                /* as given: "User:a;User:b" */
    bool allow_everyone_if_no_acl_found;

    /* replication (recorded only: kavka is a single node) */
    bool auto_leader_rebalance_enable;
    bool controlled_shutdown_enable;
    int32_t num_replica_fetchers;

    /* every key given, file first then overrides, verbatim */
    struct props raw;
};

/*
 * Load the configuration: Kafka's defaults, then the file at `path` (NULL =
 * defaults only), then `overrides` ("key=value", split at the first '=';
 * later ones win). Validates every value and the rules between keys.
 * Returns 0, or -1 with a message naming the key and value in err; on -1
 * `c` holds nothing that needs freeing. Call broker_config_free() after 0.
 */
__attribute__((warn_unused_result))
int broker_config_load(struct broker_config *c, const char *path, int noverrides,
                       char *const *overrides, char *err, size_t errlen);

void broker_config_free(struct broker_config *c);

/* The value given for `key` (file or override), else the key's default from
 * the table, else NULL. Works for any key, known or not. */
const char *broker_config_get(const struct broker_config *c, const char *key);

/* The value of `key` for listener `name`: listener.name.<name lower-cased>.<key>
 * if given, else the broker-wide value (or its default), else NULL. */
const char *listener_config_get(const struct broker_config *c, const char *name, const char *key);

#endif
