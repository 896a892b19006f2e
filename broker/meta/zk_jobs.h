/*
 * zk_jobs.h — metastore jobs over a list of items, one node at a time, in
 * order: the machinery the stores whose writes a client waits for (ACLs,
 * SCRAM credentials, topic configs: security.md, "Admin writes wait for the
 * store") share.
 *
 * A write job writes each item's node (zk_upsert: setData, create when
 * missing; or a delete, where a missing node counts as stored), tells the
 * owner the item's outcome, and after a stored item creates its change
 * notification (a sequential node) before it goes on; after the last item
 * it calls finish. A read job reads each item's node back (after a write
 * whose outcome was lost with the link) and hands the owner each reply.
 *
 * The owner builds the items and turns outcomes into its own errors: this
 * file knows nothing of Kafka's error codes, and calls only through `ops`.
 */
#ifndef KAVKA_BROKER_ZK_JOBS_H
#define KAVKA_BROKER_ZK_JOBS_H

#include <stddef.h>

#include "wire.h"

struct zk;
struct json_t;

/* An outcome besides ZOK and the ZooKeeper errors: the request could not be
 * sent (no session, or the item's node could not be built). */
#define ZK_JOB_NOT_SENT 1

struct zk_job_ops {
    /* Item i's node: its path into path (pathlen bytes) and, when data is
     * not NULL (a write job), *data: malloc'd NUL-terminated text the job
     * releases with free_data (free when NULL) once sent, or NULL to delete
     * the node. Returns 0; 1 to pass the item over (nothing sent, no
     * outcome); -1 when it cannot be built (outcome ZK_JOB_NOT_SENT). */
    int (*node)(void *owner, int i, char *path, size_t pathlen, char **data);
    void (*free_data)(char *data);
    /* Write job: item i's outcome, rc ZOK (stored), a ZooKeeper error or
     * ZK_JOB_NOT_SENT; path is the node's ("" when not built). */
    void (*written)(void *owner, int i, int rc, const char *path);
    /* Write job, after item i is stored: its change notification as
     * malloc'd text, with the sequential node's path prefix in *seq_path;
     * NULL for none. */
    char *(*note)(void *owner, int i, const char **seq_path);
    const char *note_kind;   /* the log's name for the notification ("config", "ACL") */
    /* Read job: item i's node: ZOK with body at its data (valid during the
     * call only), ZNONODE, a ZooKeeper error or ZK_JOB_NOT_SENT. */
    void (*got)(void *owner, int i, int rc, struct kr *body);
    /* Every item done; the owner may free the job (and this struct) here. */
    void (*finish)(void *owner);
};

/* Embedded in the owner's job; filled by zk_job_write / zk_job_read. */
struct zk_job {
    struct zk *zk;
    const struct zk_job_ops *ops;
    void *owner;
    int n, cur;
    char path[1600];         /* the current item's node */
    int deleting;            /* the current item is a delete */
};

/* Run a job over items 0..n-1 with the metastore zk (NULL: every item is
 * ZK_JOB_NOT_SENT). finish may be called before these return. */
void zk_job_write(struct zk_job *j, struct zk *zk, int n, const struct zk_job_ops *ops,
                  void *owner);
void zk_job_read(struct zk_job *j, struct zk *zk, int n, const struct zk_job_ops *ops,
                 void *owner);

/* The end of a failed write's message: for ZCONNECTIONLOSS, that the change
 * may or may not be stored; "" otherwise. */
const char *zk_job_loss_note(int rc);

/* A read job's reply as JSON: the node's text parsed when rc is ZOK and it
 * holds any (NULL otherwise: ZNONODE, empty, malformed; json_decref it). */
struct json_t *zk_job_json(int rc, struct kr *body);

/* Kafka's config change notification for an entity ("topics/<t>",
 * "users/<sanitized name>"): {"version":2,"entity_path":...} as malloc'd
 * text (NULL when out of memory), its sequential node's prefix in *seq_path. */
char *zk_config_change_note(const char *entity_type, const char *name, const char **seq_path);

#endif
