/*
 * console.h — kavka-console: a web console for any Kafka-protocol cluster
 * (docs/console.md).
 *
 * main.c reads the configuration (a properties file with console.* keys and
 * Kafka UI's environment variables), http.c serves the page, the login and
 * the JSON API over evhttp, and kafka_ops.c answers each API call with the
 * blocking Kafka client of cli/ (client.h).
 *
 * That client ends the process on any failure (cli_die), as the kafka-*
 * tools do, so every API call runs in a forked child: the child connects,
 * does its calls, writes one JSON document and exits; a broker that is down
 * or answers with an error costs that child, never the console.
 */
#ifndef KAVKA_CONSOLE_H
#define KAVKA_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "properties.h"

struct console_user {
    char *name;
    unsigned char pw_sha256[32];    /* the password itself is not kept */
};

struct console_cfg {
    char *listen_host;
    int port;
    char *cluster_name;
    char *bootstrap;                /* HOST:PORT,... */
    struct props client;            /* security.protocol, sasl.*, request.timeout.ms */
    struct console_user *users;
    int nusers;
    bool secure_cookie;             /* console.cookie.secure: behind a TLS proxy */
    int session_ttl_s;
};

/* ------------------------------------------------------------ kafka_ops.c */

/* What an API call gets: path parts, the query and the JSON body. */
struct op_req {
    const char *topic;      /* /api/topics/{topic}/... or NULL */
    const char *group;      /* /api/groups/{group} or NULL */
    const char *q_partition, *q_offset, *q_limit, *q_filter;   /* query, or NULL */
    json_t *body;           /* POST body, or NULL */
};

struct kclient;
/* An API operation: returns the JSON answer and sets *status (200 unless a
 * request error: 400/404/409). Runs in the child; may end it (cli_die). */
typedef json_t *(*op_fn)(struct kclient *kc, const struct op_req *r, int *status);

json_t *op_cluster(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_topics(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_topic_create(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_topic_delete(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_messages(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_produce(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_groups(struct kclient *kc, const struct op_req *r, int *status);
json_t *op_group(struct kclient *kc, const struct op_req *r, int *status);

/* ------------------------------------------------------------ http.c */

int console_serve(const struct console_cfg *cfg);

#endif
