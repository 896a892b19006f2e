/*
 * authz.c — ACL authorization wired into the broker (see authz.h).
 */
#include "authz.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "broker.h"
#include "config.h"
#include "kafka_errors.h"
#include "klog.h"
#include "zk.h"
#include "zk_jobs.h"

#define FILE_NAME "kavka-acls.json"

static struct {
    bool on;
    struct acl_set acls;
    char path[4096];           /* the file, without zookeeper.connect */
    struct zk *zk;             /* the metastore, or NULL */
    const char *super_users;
    bool allow_if_no_acl;
} az;

static const int8_t res_types[] = { ACL_RES_TOPIC, ACL_RES_GROUP, ACL_RES_CLUSTER,
                                    ACL_RES_TRANSACTIONAL_ID };
#define NRES_TYPES ((int)(sizeof res_types / sizeof res_types[0]))

/* Kafka's names for the authorizer that stores ACLs in ZooKeeper, and the
 * KRaft one; both apply the same rules. */
static const char *const known_authorizers[] = {
    "kafka.security.authorizer.AclAuthorizer",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
};

bool authz_enabled(const struct broker *b)
{
    (void)b;
    return az.on;
}

/* ---------------- decisions ---------------- */

static void peer_host(const struct conn *c, char *out, size_t outlen)
{
    const char *colon = strrchr(c->peer, ':');
    size_t n = colon ? (size_t)(colon - c->peer) : strlen(c->peer);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, c->peer, n);
    out[n] = 0;
}

bool authz_allowed_c(const struct conn *c, int8_t op, int8_t res_type, const char *name)
{
    if (!az.on)
        return true;
    if (!c)
        return false;
    char host[64];
    peer_host(c, host, sizeof host);
    bool ok = acl_authorize(&az.acls, c->principal, host, op, res_type, name, az.super_users,
                            az.allow_if_no_acl);
    if (!ok)
        KLOG_DEBUG("%s: %s denied %s on %s:%s", c->peer, c->principal, acl_op_name(op),
                   acl_res_name(res_type), name);
    return ok;
}

bool authz_allowed(const struct conn *c, int8_t op, int8_t res_type, struct kstr name)
{
    if (!az.on)
        return true;
    char buf[1024];
    int n = name.len > 0 ? name.len : 0;
    if (n >= (int)sizeof buf)
        return false;
    if (n)
        memcpy(buf, name.p, (size_t)n);
    buf[n] = 0;
    return authz_allowed_c(c, op, res_type, buf);
}

bool authz_any(const struct conn *c, int8_t op, int8_t res_type)
{
    if (!az.on)
        return true;
    bool any_acl = false;
    for (int i = 0; i < az.acls.n; i++) {
        const struct acl_entry *e = &az.acls.v[i];
        if (e->res_type != res_type)
            continue;
        any_acl = true;
        if (e->perm == ACL_PERM_ALLOW && (e->op == op || e->op == ACL_OP_ALL) &&
            authz_allowed_c(c, op, res_type, e->res_name))
            return true;
    }
    if (!any_acl && az.allow_if_no_acl)
        return true;
    /* super users: allowed with no ACL at all */
    struct acl_set none = { 0 };
    return c && acl_authorize(&none, c->principal, "", op, res_type, "", az.super_users, false);
}

int32_t authz_operations(const struct conn *c, int8_t res_type, struct kstr name,
                         int32_t supported)
{
    if (!az.on)
        return supported;
    int32_t bits = 0;
    for (int op = ACL_OP_READ; op <= ACL_OP_IDEMPOTENT_WRITE; op++)
        if ((supported & (1 << op)) && authz_allowed(c, (int8_t)op, res_type, name))
            bits |= 1 << op;
    return bits;
}

/* ---------------- the file (no metastore) ---------------- */

static const char *pattern_name(int8_t p)
{
    return p == ACL_PAT_PREFIXED ? "PREFIXED" : "LITERAL";
}

static int load_file(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(az.path, 0, &jerr);
    if (!root) {
        if (access(az.path, F_OK) != 0)
            return 0;
        KLOG_ERROR("%s: %s (line %d)", az.path, jerr.text, jerr.line);
        return -1;
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "acls"), i, a) {
        const char *pat = json_string_value(json_object_get(a, "patternType"));
        const char *perm = json_string_value(json_object_get(a, "permissionType"));
        struct acl_entry e = {
            .res_type = acl_res_from_name(json_string_value(json_object_get(a, "resourceType"))),
            .res_name = (char *)json_string_value(json_object_get(a, "name")),
            .pattern = pat && strcmp(pat, "PREFIXED") == 0 ? ACL_PAT_PREFIXED : ACL_PAT_LITERAL,
            .principal = (char *)json_string_value(json_object_get(a, "principal")),
            .host = (char *)json_string_value(json_object_get(a, "host")),
            .op = acl_op_from_name(json_string_value(json_object_get(a, "operation"))),
            .perm = perm && strcmp(perm, "Allow") == 0  ? ACL_PERM_ALLOW
                    : perm && strcmp(perm, "Deny") == 0 ? ACL_PERM_DENY
                                                        : ACL_PERM_UNKNOWN,
        };
        if (e.res_type <= 0 || !e.res_name || !e.principal || !e.host || e.op <= 0 ||
            e.perm == ACL_PERM_UNKNOWN) {
            KLOG_WARN("%s: malformed ACL %zu ignored", az.path, i);
            continue;
        }
        if (acl_add(&az.acls, &e) < 0) {
            json_decref(root);
            return -1;
        }
    }
    json_decref(root);
    return 0;
}

static int save_file(const struct acl_set *set)
{
    json_t *acls = json_array();
    for (int i = 0; i < set->n; i++) {
        const struct acl_entry *e = &set->v[i];
        json_array_append_new(
            acls, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "resourceType",
                            acl_res_name(e->res_type), "name", e->res_name, "patternType",
                            pattern_name(e->pattern), "principal", e->principal,
                            "permissionType", e->perm == ACL_PERM_ALLOW ? "Allow" : "Deny",
                            "operation", acl_op_name(e->op), "host", e->host));
    }
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "acls", acls);
    int rc = atomic_write_json(az.path, root, 0600);
    json_decref(root);
    if (rc != 0)
        KLOG_ERROR("cannot write %s: %s", az.path, strerror(errno));
    return rc;
}

/* ---------------- the metastore ---------------- */

static void node_path(char *out, size_t outlen, int8_t res_type, const char *name, int8_t pattern)
{
    if (pattern == ACL_PAT_PREFIXED)
        snprintf(out, outlen, "/kafka-acl-extended/prefixed/%s%s%s", acl_res_name(res_type),
                 name ? "/" : "", name ? name : "");
    else
        snprintf(out, outlen, "/kafka-acl/%s%s%s", acl_res_name(res_type), name ? "/" : "",
                 name ? name : "");
}

static int load_zk_dir(struct zk *zk, int8_t res_type, int8_t pattern)
{
    char dir[256];
    node_path(dir, sizeof dir, res_type, NULL, pattern);
    /* Kafka's authorizer creates these at start. */
    int rc = zk_sync_mkdirs(zk, dir);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        KLOG_ERROR("metastore: cannot create %s: %s", dir, zk_err_name(rc));
        return -1;
    }
    char **kids = NULL;
    int n = 0;
    rc = zk_sync_get_children(zk, dir, &kids, &n);
    if (rc != ZOK) {
        KLOG_ERROR("metastore: cannot list %s: %s", dir, zk_err_name(rc));
        return -1;
    }
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        char path[1400], *data = NULL;
        int32_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, kids[i]);
        rc = zk_sync_get_data(zk, path, &data, &len, NULL);
        if (rc == ZNONODE)
            continue;
        if (rc != ZOK) {
            KLOG_ERROR("metastore: cannot read %s: %s", path, zk_err_name(rc));
            ret = -1;
            break;
        }
        if (data && len > 0 &&
            acl_node_parse(&az.acls, res_type, kids[i], pattern, data, (size_t)len) != 0)
            KLOG_WARN("metastore: %s: malformed ACLs ignored", path);
        free(data);
    }
    zk_strings_free(kids, n);
    return ret;
}

static int load_zk(struct zk *zk)
{
    for (int t = 0; t < NRES_TYPES; t++)
        if (load_zk_dir(zk, res_types[t], ACL_PAT_LITERAL) != 0 ||
            load_zk_dir(zk, res_types[t], ACL_PAT_PREFIXED) != 0)
            return -1;
    const char *const more[] = { "/kafka-acl-changes", "/kafka-acl-extended-changes" };
    for (int i = 0; i < 2; i++) {
        int rc = zk_sync_mkdirs(zk, more[i]);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            KLOG_ERROR("metastore: cannot create %s: %s", more[i], zk_err_name(rc));
            return -1;
        }
    }
    return 0;
}

/* ---------------- writes (CreateAcls, DeleteAcls, resync) ----------------
 *
 * A change is a job on the admin-write queue (broker.h: awrite_*): jobs run
 * one at a time, each reading the ACLs in memory as its predecessors left
 * them. A job works out, per resource touched, the entries its node will
 * hold, then stores them — the file in one replace, or the metastore one
 * node after another (setData / create, or delete when no entry is left,
 * then Kafka's change notification) — and changes memory only for what was
 * stored. The client is answered after the last reply, with the real error
 * of each resource. A metastore link lost during a write leaves its outcome
 * unknown: the client hears an error, and the resource is read back from
 * the metastore once the session is back, so memory follows what the
 * metastore really has.
 */

static bool has_entry(const struct acl_set *s, const struct acl_entry *e)
{
    for (int i = 0; i < s->n; i++)
        if (acl_entry_same(&s->v[i], e))
            return true;
    return false;
}

static bool of_resource(const struct acl_entry *e, int8_t type, int8_t pattern, const char *name)
{
    return e->res_type == type && e->pattern == pattern && strcmp(e->res_name, name) == 0;
}

/* One resource pattern touched by a job, and what its node will hold. */
struct acl_target {
    int8_t type, pattern;
    char *name;
    struct acl_set want;      /* the resource's entries after the change */
    int16_t err;
    char msg[256];
};

struct acl_change {
    struct acl_target *res;
    int nres;
    struct zk_job zj;         /* the metastore writes (or reads back) of res */
    char who[300];            /* who asked, for the log */
    acl_change_done done;
    void *arg;
    struct awrite *w;         /* a resync's own admin-write job */
};

/* Resources whose last write had an unknown outcome, read back once the
 * metastore session is back. */
static struct {
    struct acl_target *v;
    int n;
    bool queued;
} dirty;

void acl_change_free(struct acl_change *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->nres; i++) {
        free(j->res[i].name);
        acl_set_free(&j->res[i].want);
    }
    free(j->res);
    free(j);
}

static void job_drop(struct awrite *w, void *arg)
{
    (void)w;
    acl_change_free(arg);
}

struct acl_change *acl_change_new(const char *who)
{
    struct acl_change *j = calloc(1, sizeof *j);
    if (j)
        snprintf(j->who, sizeof j->who, "%s", who);
    return j;
}

/* The job's resource for a pattern, made with the entries memory has now. */
static struct acl_target *job_resource(struct acl_change *j, int8_t type, int8_t pattern,
                                   const char *name, int *idx)
{
    for (int i = 0; i < j->nres; i++)
        if (j->res[i].type == type && j->res[i].pattern == pattern &&
            strcmp(j->res[i].name, name) == 0) {
            *idx = i;
            return &j->res[i];
        }
    struct acl_target *v = realloc(j->res, sizeof *v * (size_t)(j->nres + 1));
    if (!v)
        return NULL;
    j->res = v;
    struct acl_target *r = &v[j->nres];
    memset(r, 0, sizeof *r);
    r->type = type;
    r->pattern = pattern;
    if (!(r->name = strdup(name)))
        return NULL;
    j->nres++;
    for (int i = 0; i < az.acls.n; i++)
        if (of_resource(&az.acls.v[i], type, pattern, name) && acl_add(&r->want, &az.acls.v[i]) < 0)
            return NULL;
    *idx = j->nres - 1;
    return r;
}

struct acl_set *acl_change_target(struct acl_change *j, int8_t type, int8_t pattern,
                                  const char *name, int *idx)
{
    struct acl_target *r = job_resource(j, type, pattern, name, idx);
    return r ? &r->want : NULL;
}

int16_t acl_change_error(const struct acl_change *j, int idx, const char **msg)
{
    const struct acl_target *r = &j->res[idx];
    *msg = r->err ? r->msg : NULL;
    return r->err;
}

/* Make set hold r->want for r's resource. 0 or -1 (out of memory: set unchanged
 * only in part; callers apply to a copy or log). */
static int set_replace(struct acl_set *set, const struct acl_target *r)
{
    for (int i = 0; i < set->n;) {
        if (of_resource(&set->v[i], r->type, r->pattern, r->name) && !has_entry(&r->want, &set->v[i]))
            acl_remove_at(set, i);
        else
            i++;
    }
    for (int i = 0; i < r->want.n; i++)
        if (acl_add(set, &r->want.v[i]) < 0)
            return -1;
    return 0;
}

/* r is stored: memory takes it, with one log line per entry added or removed. */
static void apply_resource(const struct acl_change *j, const struct acl_target *r)
{
    for (int i = 0; i < az.acls.n; i++) {
        const struct acl_entry *e = &az.acls.v[i];
        if (of_resource(e, r->type, r->pattern, r->name) && !has_entry(&r->want, e))
            KLOG_INFO("ACL removed by %s: %s %s %s on %s:%s:%s from %s", j->who, e->principal,
                      e->perm == ACL_PERM_ALLOW ? "Allow" : "Deny", acl_op_name(e->op),
                      acl_res_name(e->res_type), pattern_name(e->pattern), e->res_name, e->host);
    }
    for (int i = 0; i < r->want.n; i++) {
        const struct acl_entry *e = &r->want.v[i];
        if (!has_entry(&az.acls, e))
            KLOG_INFO("ACL added by %s: %s %s %s on %s:%s:%s from %s", j->who, e->principal,
                      e->perm == ACL_PERM_ALLOW ? "Allow" : "Deny", acl_op_name(e->op),
                      acl_res_name(e->res_type), pattern_name(e->pattern), e->res_name, e->host);
    }
    if (set_replace(&az.acls, r) != 0)
        KLOG_ERROR("out of memory applying the ACLs of %s:%s", acl_res_name(r->type), r->name);
}

static void res_fail(struct acl_target *r, int16_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void res_fail(struct acl_target *r, int16_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->err = err;
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

static void mark_dirty(const struct acl_target *r)
{
    for (int i = 0; i < dirty.n; i++)
        if (dirty.v[i].type == r->type && dirty.v[i].pattern == r->pattern &&
            strcmp(dirty.v[i].name, r->name) == 0)
            return;
    struct acl_target *v = realloc(dirty.v, sizeof *v * (size_t)(dirty.n + 1));
    if (!v)
        return;
    dirty.v = v;
    memset(&v[dirty.n], 0, sizeof v[0]);
    v[dirty.n].type = r->type;
    v[dirty.n].pattern = r->pattern;
    if ((v[dirty.n].name = strdup(r->name)))
        dirty.n++;
}

static void job_finish(void *arg);

/* A resource's node: its entries after the change, or a delete when none is
 * left; a resource already refused is passed over. */
static int res_node(void *arg, int i, char *path, size_t pathlen, char **data)
{
    struct acl_change *j = arg;
    const struct acl_target *r = &j->res[i];
    if (data && r->err)
        return 1;
    node_path(path, pathlen, r->type, r->name, r->pattern);
    if (data && r->want.n > 0 &&
        !(*data = acl_node_format(&r->want, r->type, r->name, r->pattern)))
        return -1;
    return 0;
}

/* Kafka's AclAuthorizer notification for a changed resource. */
static char *change_note(void *arg, int i, const char **dir)
{
    const struct acl_change *j = arg;
    const struct acl_target *r = &j->res[i];
    char *note = NULL;
    if (r->pattern == ACL_PAT_LITERAL) {
        *dir = "/kafka-acl-changes/acl_changes_";
        size_t n = strlen(r->name) + 32;
        if ((note = malloc(n)))
            snprintf(note, n, "%s:%s", acl_res_name(r->type), r->name);
        return note;
    }
    *dir = "/kafka-acl-extended-changes/acl_changes_";
    /* ResourceType names in upper case: TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID */
    char type[32];
    snprintf(type, sizeof type, "%s", r->type == ACL_RES_TRANSACTIONAL_ID ? "TRANSACTIONAL_ID"
                                                                           : acl_res_name(r->type));
    for (char *p = type; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    json_t *js = json_pack("{s:i,s:s,s:s,s:s}", "version", 1, "resourceType", type, "name",
                           r->name, "patternType", "PREFIXED");
    note = js ? json_dumps(js, JSON_COMPACT) : NULL;
    json_decref(js);
    return note;
}

static void res_written(void *arg, int i, int rc, const char *path)
{
    struct acl_change *j = arg;
    struct acl_target *r = &j->res[i];
    if (rc == ZOK) {
        apply_resource(j, r);
    } else if (rc == ZK_JOB_NOT_SENT) {
        res_fail(r, KERR_UNKNOWN_SERVER_ERROR, "The metastore session is lost; retry");
    } else {
        if (rc == ZCONNECTIONLOSS)
            mark_dirty(r);
        res_fail(r, KERR_KAFKA_STORAGE_ERROR, "Storing the ACLs in the metastore failed (%s %s)%s",
                 zk_err_name(rc), path, zk_job_loss_note(rc));
        KLOG_WARN("metastore: writing %s failed: %s", path, zk_err_name(rc));
    }
}

static const struct zk_job_ops write_ops = {
    .node = res_node,
    .written = res_written,
    .note = change_note,
    .note_kind = "ACL",
    .finish = job_finish,
};

/* Store every resource of the job: the metastore (asynchronous), or the
 * file (a copy of the ACLs with the changes, written, then taken). */
static void job_store(struct acl_change *j)
{
    if (j->nres == 0) {          /* nothing to store: every entry was refused */
        job_finish(j);
        return;
    }
    if (az.zk) {
        zk_job_write(&j->zj, az.zk, j->nres, &write_ops, j);
        return;
    }
    struct acl_set next = { 0 };
    int rc = 0;
    for (int i = 0; i < az.acls.n && rc == 0; i++)
        rc = acl_add(&next, &az.acls.v[i]) < 0 ? -1 : 0;
    for (int i = 0; i < j->nres && rc == 0; i++)
        rc = set_replace(&next, &j->res[i]);
    if (rc == 0 && az.path[0])
        rc = save_file(&next);
    if (rc == 0) {
        for (int i = 0; i < j->nres; i++)
            apply_resource(j, &j->res[i]);   /* logs; the result equals `next` */
    } else {
        for (int i = 0; i < j->nres; i++)
            res_fail(&j->res[i], KERR_KAFKA_STORAGE_ERROR, "Storing the ACLs failed");
    }
    acl_set_free(&next);
    job_finish(j);
}

static void job_finish(void *arg)
{
    struct acl_change *j = arg;
    j->done(j, j->arg);
}

void acl_change_store(struct acl_change *j, acl_change_done done, void *arg)
{
    j->done = done;
    j->arg = arg;
    job_store(j);
}

/* ---------------- resync after an unknown outcome ---------------- */

static void resync_got(void *arg, int i, int rc, struct kr *body)
{
    struct acl_change *j = arg;
    struct acl_target *r = &j->res[i];
    struct acl_set found = { 0 };
    bool ok = rc == ZNONODE;
    if (rc == ZOK) {
        struct kbytes d = jr_buffer(body);
        (void)jr_stat(body);
        ok = !body->err;
        if (ok && d.len > 0) {
            char *text = strndup((const char *)d.p, (size_t)d.len);
            if (!text || acl_node_parse(&found, r->type, r->name, r->pattern, text,
                                        (size_t)d.len) != 0)
                KLOG_WARN("metastore: malformed ACLs of %s:%s ignored", acl_res_name(r->type),
                          r->name);
            free(text);
        }
    }
    if (ok) {
        acl_set_free(&r->want);
        r->want = found;
        apply_resource(j, r);
        KLOG_INFO("ACLs of %s:%s:%s read back from the metastore: %d entries",
                  acl_res_name(r->type), pattern_name(r->pattern), r->name, r->want.n);
    } else {
        acl_set_free(&found);
        mark_dirty(r);
    }
}

static const struct zk_job_ops read_ops = {
    .node = res_node,
    .got = resync_got,
    .finish = job_finish,
};

static void resync_done(struct acl_change *j, void *arg)
{
    struct awrite *w = j->w;
    (void)arg;
    acl_change_free(j);
    awrite_done(w);
}

static void resync_start(struct awrite *w, void *arg)
{
    struct acl_change *j = arg;
    j->w = w;
    dirty.queued = false;
    /* The list as it is now; failures add to a fresh one. */
    j->res = dirty.v;
    j->nres = dirty.n;
    dirty.v = NULL;
    dirty.n = 0;
    zk_job_read(&j->zj, az.zk, j->nres, &read_ops, j);
}

static void on_zk_state(struct zk *zk, enum zk_state st, bool new_session, void *arg)
{
    (void)zk;
    (void)new_session;
    (void)arg;
    if (st != ZK_CONNECTED || dirty.n == 0 || dirty.queued)
        return;
    struct acl_change *j = acl_change_new("the metastore");
    if (!j)
        return;
    j->done = resync_done;
    dirty.queued = true;
    awrite_submit(NULL, resync_start, job_drop, j);
}

/* ---------------- start-up ---------------- */

int authz_open(struct broker *b, struct zk *zk)
{
    authz_close();
    const char *cls = b->cfg->authorizer_class_name;
    if (!cls || !*cls)
        return 0;
    bool known = false;
    for (size_t i = 0; i < sizeof known_authorizers / sizeof known_authorizers[0]; i++)
        known |= strcmp(cls, known_authorizers[i]) == 0;
    if (!known) {
        KLOG_ERROR("authorizer.class.name=%s is not supported: kavka implements Kafka's standard "
                   "authorizer only (kafka.security.authorizer.AclAuthorizer or "
                   "org.apache.kafka.metadata.authorizer.StandardAuthorizer)",
                   cls);
        return -1;
    }
    az.on = true;
    az.super_users = b->cfg->super_users;
    az.allow_if_no_acl = b->cfg->allow_everyone_if_no_acl_found;
    snprintf(az.path, sizeof az.path, "%s/%s", b->cfg->log_dirs, FILE_NAME);
    az.zk = zk;
    int rc = zk ? load_zk(zk) : load_file();
    if (rc == 0 && zk && zk_add_state_listener(zk, on_zk_state, NULL) != 0)
        KLOG_WARN("metastore: no room for the ACL store's state listener");
    if (rc == 0)
        KLOG_INFO("authorizer %s on: %d ACLs loaded from %s", cls, az.acls.n,
                  zk ? "the metastore (/kafka-acl)" : az.path);
    return rc;
}

void authz_close(void)
{
    acl_set_free(&az.acls);
    memset(&az, 0, sizeof az);
    for (int i = 0; i < dirty.n; i++)
        free(dirty.v[i].name);
    free(dirty.v);
    memset(&dirty, 0, sizeof dirty);
}

const struct acl_set *authz_acls(void)
{
    return &az.acls;
}

bool authz_writable(void)
{
    return !az.zk || zk_get_state(az.zk) == ZK_CONNECTED;
}
