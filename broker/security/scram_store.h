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
 * (kafka-configs --entity-type users --add-config 'SCRAM-SHA-256=[...]'),
 * whose handlers are api/scram_credentials.c.
 * One broker per process: the store is process-wide.
 */
#ifndef KAVKA_SCRAM_STORE_H
#define KAVKA_SCRAM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compiler.h"

struct broker;
struct json_t;
struct scram_cred;
struct zk;

/* Load the credentials: from zk (cluster_zk(b), after cluster_open; zk_sync_*
 * at start-up) or, when zk is NULL, from the file in the log dir. 0 or -1 (logged). */
int scram_store_open(struct broker *b, struct zk *zk) KV_MUST_CHECK;
void scram_store_close(void);

/* The credential of user for mech (SCRAM_SHA_256/512), or NULL. */
const struct scram_cred *scram_store_get(const char *user, int mech);
/* Set (cred != NULL) or remove a credential in memory and persist the user's
 * entry in the file (tests, the fuzz harness): without a metastore only.
 * 0, or -1 when the file write failed (or a metastore is in use). */
int scram_store_put(struct broker *b, const char *user, int mech, const struct scram_cred *cred) KV_MUST_CHECK;

/* Kafka's Sanitizer for entity names in znode paths (URL encoding). */
void scram_sanitize(const char *name, char *out, size_t outlen);
int scram_desanitize(const char *in, char *out, size_t outlen);

/* Can a change be stored now (no metastore, or its session is up)? */
bool scram_store_writable(void);
/* The users known (with credentials, or only other keys such as quotas):
 * user i's name, and in *other (if asked) the other keys of its
 * /config/users node as a JSON object, or NULL. */
int scram_store_nusers(void);
const char *scram_store_user(int i, struct json_t **other);

/*
 * A change to users' credentials, run inside a job on the admin-write
 * queue (broker.h) so that changes apply in order. Per user, the change
 * starts from the credentials held now; the caller edits it, then stores
 * it: the file in one replace, or /config/users/<name> user after user
 * with Kafka's /config/changes notification. Memory takes only what was
 * stored; done() runs once every user is stored or failed, and the caller
 * then reads each user's outcome and frees the change.
 */
struct scram_change;
typedef void (*scram_change_done)(struct scram_change *ch, void *arg);
/* who: the requesting principal, for the log; at most max_users users.
 * NULL: out of memory. */
struct scram_change *scram_change_new(const char *who, int max_users);
void scram_change_free(struct scram_change *ch);
/* The index of user name's change (tag: the caller's, given back with the
 * outcome), or -1 when max_users are in already. */
int scram_change_user(struct scram_change *ch, const char *name, int tag);
/* Set (cred != NULL) or remove the user's credential for mech. */
void scram_change_set(struct scram_change *ch, int idx, int mech, const struct scram_cred *cred);
void scram_change_store(struct scram_change *ch, scram_change_done done, void *arg);
/* The outcome for change i: 0, or an error code and *msg; its tag. */
int scram_change_count(const struct scram_change *ch);
int16_t scram_change_result(const struct scram_change *ch, int i, int *tag, const char **msg);

#endif
