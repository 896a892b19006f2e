/*
 * scram_store.h — SCRAM credentials: kept in memory, loaded at start-up,
 * written through to
 *
 *   with zookeeper.connect:  /config/users/<sanitized name> in the metastore,
 *                            Kafka's layout {"version":1,"config":{"SCRAM-SHA-256":
 *                            "salt=..,stored_key=..,server_key=..,iterations=N"}},
 *                            other keys of the node (quotas) kept as they are,
 *                            plus a /config/changes/config_change_ notification;
 *                            AlterUserScramCredentials is answered after the
 *                            metastore confirmed the node (a job on the
 *                            admin-write queue, broker.h), and memory changes
 *                            only then.
 *   without:                 <log dir>/kavka-scram-credentials.json (mode 0600),
 *                            {"version":1,"users":{"<name>":{"SCRAM-SHA-256":"..."}}},
 *                            replaced atomically on every change.
 *
 * Managed with AlterUserScramCredentials / DescribeUserScramCredentials
 * (kafka-configs --entity-type users --add-config 'SCRAM-SHA-256=[...]').
 * One broker per process: the store is process-wide.
 */
#ifndef KAVKA_SCRAM_STORE_H
#define KAVKA_SCRAM_STORE_H

#include <stddef.h>

struct broker;
struct kreq;
struct scram_cred;
struct zk;

/* Load the credentials: from zk (cluster_zk(b), after cluster_open; zk_sync_*
 * at start-up) or, when zk is NULL, from the file in the log dir. 0 or -1 (logged). */
int scram_store_open(struct broker *b, struct zk *zk);
void scram_store_close(void);

/* The credential of user for mech (SCRAM_SHA_256/512), or NULL. */
const struct scram_cred *scram_store_get(const char *user, int mech);
/* Set (cred != NULL) or remove a credential in memory and persist the user's
 * entry in the file (tests, the fuzz harness): without a metastore only.
 * 0, or -1 when the file write failed (or a metastore is in use). */
int scram_store_put(struct broker *b, const char *user, int mech, const struct scram_cred *cred);

/* Kafka's Sanitizer for entity names in znode paths (URL encoding). */
void scram_sanitize(const char *name, char *out, size_t outlen);
int scram_desanitize(const char *in, char *out, size_t outlen);

int h_describe_user_scram_credentials(struct kreq *req);
int h_alter_user_scram_credentials(struct kreq *req);
/* User quotas kept in /config/users (kavka enforces none). */
int h_describe_client_quotas(struct kreq *req);

#endif
