/*
 * zk_jobs.c — metastore jobs over a list of items (see zk_jobs.h).
 */
#include "zk_jobs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jute.h"
#include "klog.h"
#include "zk.h"

static void write_next(struct zk_job *j);
static void read_next(struct zk_job *j);

static void job_start(struct zk_job *j, struct zk *zk, int n, const struct zk_job_ops *ops,
                      void *owner)
{
    j->zk = zk;
    j->ops = ops;
    j->owner = owner;
    j->n = n;
    j->cur = 0;
    j->path[0] = 0;
    j->deleting = 0;
}

static void note_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct zk_job *j = arg;
    (void)zk;
    (void)body;
    if (rc != ZOK)   /* the item is stored; only watchers miss the news */
        KLOG_WARN("metastore: %s change notification failed: %s", j->ops->note_kind,
                  zk_err_name(rc));
    j->cur++;
    write_next(j);
}

static void node_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct zk_job *j = arg;
    (void)body;
    if (rc == ZNONODE && j->deleting)
        rc = ZOK;
    j->ops->written(j->owner, j->cur, rc, j->path);
    if (rc == ZOK) {
        const char *seq_path = NULL;
        char *note = j->ops->note ? j->ops->note(j->owner, j->cur, &seq_path) : NULL;
        int sent = note ? zk_create(zk, seq_path, note, (int32_t)strlen(note),
                                    ZMODE_PERSISTENT_SEQ, note_done, j)
                        : -1;
        free(note);
        if (sent == 0)
            return;
    }
    j->cur++;
    write_next(j);
}

static void release(const struct zk_job *j, char *data)
{
    if (!data)
        return;
    if (j->ops->free_data)
        j->ops->free_data(data);
    else
        free(data);
}

static void write_next(struct zk_job *j)
{
    while (j->cur < j->n) {
        char *data = NULL;
        j->path[0] = 0;
        int built = j->ops->node(j->owner, j->cur, j->path, sizeof j->path, &data);
        if (built == 1) {
            j->cur++;
            continue;
        }
        int rc = -1;
        j->deleting = built == 0 && !data;
        if (built == 0 && j->zk)
            rc = data ? zk_upsert(j->zk, j->path, data, (int32_t)strlen(data), node_done, j)
                      : zk_delete(j->zk, j->path, -1, node_done, j);
        release(j, data);
        if (rc == 0)
            return;
        j->ops->written(j->owner, j->cur, ZK_JOB_NOT_SENT, j->path);
        j->cur++;
    }
    j->ops->finish(j->owner);
}

void zk_job_write(struct zk_job *j, struct zk *zk, int n, const struct zk_job_ops *ops,
                  void *owner)
{
    job_start(j, zk, n, ops, owner);
    write_next(j);
}

static void read_got(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct zk_job *j = arg;
    (void)zk;
    j->ops->got(j->owner, j->cur, rc, body);
    j->cur++;
    read_next(j);
}

static void read_next(struct zk_job *j)
{
    for (; j->cur < j->n; j->cur++) {
        j->path[0] = 0;
        int built = j->ops->node(j->owner, j->cur, j->path, sizeof j->path, NULL);
        if (built == 1)
            continue;
        if (built == 0 && j->zk && zk_get_data(j->zk, j->path, read_got, j) == 0)
            return;
        j->ops->got(j->owner, j->cur, ZK_JOB_NOT_SENT, NULL);
    }
    j->ops->finish(j->owner);
}

void zk_job_read(struct zk_job *j, struct zk *zk, int n, const struct zk_job_ops *ops,
                 void *owner)
{
    job_start(j, zk, n, ops, owner);
    read_next(j);
}

json_t *zk_job_json(int rc, struct kr *body)
{
    if (rc != ZOK)
        return NULL;
    struct kbytes d = jr_buffer(body);
    json_error_t jerr;
    if (body->err || d.len <= 0)
        return NULL;
    return json_loadb((const char *)d.p, (size_t)d.len, 0, &jerr);
}

const char *zk_job_loss_note(int rc)
{
    return rc == ZCONNECTIONLOSS ? ": connection lost, the change may or may not be stored" : "";
}

char *zk_config_change_note(const char *entity_type, const char *name, const char **seq_path)
{
    char *note = NULL;
    *seq_path = "/config/changes/config_change_";
    if (asprintf(&note, "{\"version\":2,\"entity_path\":\"%s/%s\"}", entity_type, name) < 0)
        return NULL;
    return note;
}
