/*
 * client.h — the small blocking Kafka client shared by the kafka-* tools.
 *
 * One `struct kclient` holds the security settings read from
 * --command-config, the bootstrap list and one connection per broker node.
 * Every connection asks ApiVersions first (KIP-511 order, before SASL), so
 * each request can be sent at the highest version both the tool and that
 * broker support (kc_version): the same tool answers Kafka 2.x to 4.x.
 *
 * Failures end the tool: cli_die() prints "Error: ..." on stderr and exits 1,
 * which is what Kafka's tools do for errors they do not handle themselves.
 */
#ifndef KAVKA_CLI_CLIENT_H
#define KAVKA_CLI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "kafka_msgs.h"
#include "wire.h"

#define KC_MAX_API 128

struct kclient;
struct kconn {
    const struct kclient *kc;       /* timeouts, client id */
    int fd;
    int32_t node_id;                /* -1 for a bootstrap connection */
    char addr[300];                 /* host:port, for messages */
    int32_t corr;
    int16_t vmin[KC_MAX_API], vmax[KC_MAX_API];   /* -1: not offered */
    int32_t napis;                  /* ApiVersions entries, as received */
    struct kp_api_versions_resp_api_keys *apis;   /* heap copy, in broker order */
    uint8_t *resp;                  /* last response frame (decoded views point here) */
};

enum kc_security { KC_PLAINTEXT, KC_SASL_PLAINTEXT };

struct kc_node {
    int32_t id;
    char *host;
    int32_t port;
    char *rack;
    struct kconn *conn;
};

struct kclient {
    const char *tool;               /* for messages and client.id */
    const char *client_id;
    int timeout_ms;                 /* per request (request.timeout.ms) */
    enum kc_security security;
    char *mechanism;                /* PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 */
    char *user, *password;
    char **bootstrap;               /* HOST:PORT list */
    int nbootstrap;
    struct kconn *boot;             /* the first bootstrap server that answered */
    struct kc_node *nodes;
    int nnodes;
    char *cluster_id;
    int32_t controller_id;
};

void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The tool's name for messages (set by main). */
extern const char *cli_tool_name;

/* Fill security settings from a client properties file (--command-config
 * or --producer.config ...) and explicit overrides; exits on bad input.
 * `props_path` may be NULL. */
struct props;
void kc_init(struct kclient *kc, const char *tool, const char *bootstrap_list,
             const struct props *config);
/* Connect to the first bootstrap server that answers, then read Metadata
 * for the broker list. */
void kc_bootstrap(struct kclient *kc);
void kc_close(struct kclient *kc);

/* Connection to broker `node_id` (from the last metadata), made on first use. */
struct kconn *kc_node(struct kclient *kc, int32_t node_id);
const struct kc_node *kc_node_info(const struct kclient *kc, int32_t node_id);

/* The version to send for api `key`: the highest both the broker on `c` and
 * the tool (at most `tool_max`) support, or -1 when there is none. */
int16_t kc_version(const struct kconn *c, int16_t key, int16_t tool_max);
/* As kc_version but exits with Kafka's UnsupportedVersionException wording. */
int16_t kc_need(const struct kconn *c, int16_t key, int16_t tool_max);

/* One request/response with the generated codec (req and resp are the
 * kp_<api>_req / _resp structs of api `key`). Decoded views live in `a` and
 * in the connection's last frame: use them before the next call on `c`. */
void kc_call(struct kconn *c, int16_t key, int16_t ver, const void *req, void *resp,
             struct karena *a);

/* A request without a response (Produce with acks=0). */
void kc_send(struct kconn *c, int16_t key, int16_t ver, const void *req);

/* Metadata for `topics` (NULL/0: all topics) on c, at the highest version
 * up to 12; refreshes the client's broker list. */
void kc_metadata(struct kclient *kc, struct kconn *c, const char *const *topics, int ntopics,
                 bool auto_create, struct karena *a, struct kp_metadata_resp *out, int16_t *ver);

/* The coordinator of group `group` (FindCoordinator), retried while the
 * coordinator is loading or not available, up to the request timeout. */
struct kconn *kc_coordinator(struct kclient *kc, const char *group);

/* The Kafka error name (e.g. "TOPIC_ALREADY_EXISTS") and the default
 * message Kafka's client gives an exception of that code. */
const char *kerr_name(int16_t code);
const char *kerr_message(int16_t code);
/* Kafka's exception class for a code, as printed by the tools
 * ("org.apache.kafka.common.errors.TopicExistsException"). */
const char *kerr_exception(int16_t code);

int64_t kc_now_ms(void);

#endif
