/*
 * scram_store.c — SCRAM credentials in memory, in the metastore or a file
 * (see scram_store.h).
 */
#include "scram_store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "broker.h"
#include "config.h"
#include "jute.h"
#include "kafka_errors.h"
#include "klog.h"
#include "sasl_scram.h"
#include "zk.h"
#include "zk_jobs.h"

#define FILE_NAME "kavka-scram-credentials.json"

struct suser {
    char *name;
    bool has[SCRAM_NMECH + 1];            /* indexed by mechanism id */
    struct scram_cred cred[SCRAM_NMECH + 1];
    json_t *other;                        /* other keys of /config/users/<name> (quotas) */
};

static struct {
    struct suser *v;
    int n, cap;
    char path[4096];                      /* the file, without zookeeper.connect */
    struct zk *zk;                        /* the metastore, or NULL */
} store;

static struct {
    char **names;                          /* users whose last write had an unknown outcome */
    int n;
    bool queued;
} dirty;


/* ---------------- names ---------------- */

void scram_sanitize(const char *name, char *out, size_t outlen)
{
    /* Kafka's Sanitizer: URLEncoder (UTF-8) with "+" -> "%20" and "*" -> "%2A". */
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 4 < outlen; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", c);
    }
    out[o] = 0;
}

int scram_desanitize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        if (o + 1 >= outlen)
            return -1;
        if (*p == '%') {
            unsigned v;
            if (!p[1] || !p[2] || sscanf(p + 1, "%2x", &v) != 1)
                return -1;
            out[o++] = (char)v;
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
    return 0;
}

/* ---------------- memory ---------------- */

static struct suser *find_user(const char *name)
{
    for (int i = 0; i < store.n; i++)
        if (strcmp(store.v[i].name, name) == 0)
            return &store.v[i];
    return NULL;
}

static struct suser *add_user(const char *name)
{
    struct suser *u = find_user(name);
    if (u)
        return u;
    if (store.n == store.cap) {
        int cap = store.cap ? store.cap * 2 : 16;
        struct suser *v = realloc(store.v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        store.v = v;
        store.cap = cap;
    }
    u = &store.v[store.n];
    memset(u, 0, sizeof *u);
    if (!(u->name = strdup(name)))
        return NULL;
    store.n++;
    return u;
}

const struct scram_cred *scram_store_get(const char *user, int mech)
{
    if (mech < 1 || mech > SCRAM_NMECH)
        return NULL;
    struct suser *u = find_user(user);
    return u && u->has[mech] ? &u->cred[mech] : NULL;
}

void scram_store_close(void)
{
    for (int i = 0; i < store.n; i++) {
        free(store.v[i].name);
        if (store.v[i].other)
            json_decref(store.v[i].other);
        OPENSSL_cleanse(store.v[i].cred, sizeof store.v[i].cred);
    }
    free(store.v);
    memset(&store, 0, sizeof store);
    for (int i = 0; i < dirty.n; i++)
        free(dirty.names[i]);
    free(dirty.names);
    memset(&dirty, 0, sizeof dirty);
}

/* Read the SCRAM keys of one user's config object into u; keep the others. */
static void load_config(struct suser *u, json_t *config, const char *where)
{
    const char *key;
    json_t *val;
    json_object_foreach(config, key, val) {
        int mech = scram_mech_from_name(key);
        if (mech == SCRAM_UNKNOWN) {
            if (!u->other)
                u->other = json_object();
            json_object_set(u->other, key, val);
            continue;
        }
        if (!json_is_string(val) ||
            scram_cred_parse(mech, json_string_value(val), &u->cred[mech]) != 0) {
            KLOG_WARN("%s: malformed %s credential of user %s ignored", where, key, u->name);
            continue;
        }
        u->has[mech] = true;
    }
}

/* The user's config object: other keys, then the credentials. */
static json_t *user_config(const struct suser *u)
{
    json_t *cfg = u->other ? json_deep_copy(u->other) : json_object();
    for (int m = 1; m <= SCRAM_NMECH; m++) {
        char text[1024];
        if (u->has[m] && scram_cred_format(m, &u->cred[m], text, sizeof text) == 0)
            json_object_set_new(cfg, scram_mech_name(m), json_string(text));
    }
    return cfg;
}

/* ---------------- the file (no metastore) ---------------- */

static int load_file(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(store.path, 0, &jerr);
    if (!root) {
        if (access(store.path, F_OK) != 0)
            return 0;
        KLOG_ERROR("%s: %s (line %d)", store.path, jerr.text, jerr.line);
        return -1;
    }
    json_t *users = json_object_get(root, "users");
    const char *name;
    json_t *cfg;
    json_object_foreach(users, name, cfg) {
        struct suser *u = add_user(name);
        if (!u) {
            json_decref(root);
            return -1;
        }
        load_config(u, cfg, store.path);
    }
    json_decref(root);
    return 0;
}

static int save_file(void)
{
    json_t *users = json_object();
    for (int i = 0; i < store.n; i++)
        json_object_set_new(users, store.v[i].name, user_config(&store.v[i]));
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "users", users);
    int rc = atomic_write_json(store.path, root, 0600);  /* credentials: owner only */
    json_decref(root);
    if (rc != 0)
        KLOG_ERROR("cannot write %s: %s", store.path, strerror(errno));
    return rc;
}

/* ---------------- the metastore ---------------- */

static int load_zk(struct zk *zk)
{
    char **kids = NULL;
    int n = 0;
    int rc = zk_sync_get_children(zk, "/config/users", &kids, &n);
    if (rc == ZNONODE)
        return 0;
    if (rc != ZOK) {
        KLOG_ERROR("metastore: cannot list /config/users: %s", zk_err_name(rc));
        return -1;
    }
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        char path[1200], name[1024], *data = NULL;
        int32_t len = 0;
        snprintf(path, sizeof path, "/config/users/%s", kids[i]);
        if (scram_desanitize(kids[i], name, sizeof name) != 0)
            continue;
        rc = zk_sync_get_data(zk, path, &data, &len, NULL);
        if (rc == ZNONODE)
            continue;
        if (rc != ZOK) {
            KLOG_ERROR("metastore: cannot read %s: %s", path, zk_err_name(rc));
            ret = -1;
            break;
        }
        json_error_t jerr;
        json_t *root = data && len > 0 ? json_loadb(data, (size_t)len, 0, &jerr) : NULL;
        free(data);
        json_t *cfg = json_object_get(root, "config");
        if (json_is_object(cfg)) {
            struct suser *u = add_user(name);
            if (!u)
                ret = -1;
            else
                load_config(u, cfg, path);
        }
        if (root)
            json_decref(root);
    }
    zk_strings_free(kids, n);
    return ret;
}

/* ---------------- interface ---------------- */

static void on_zk_state(struct zk *zk, enum zk_state st, bool new_session, void *arg);

int scram_store_open(struct broker *b, struct zk *zk)
{
    scram_store_close();
    snprintf(store.path, sizeof store.path, "%s/%s", b->cfg->log_dirs, FILE_NAME);
    store.zk = zk;
    int rc = zk ? load_zk(zk) : load_file();
    if (rc == 0 && zk && zk_add_state_listener(zk, on_zk_state, NULL) != 0)
        KLOG_WARN("metastore: no room for the SCRAM store's state listener");
    if (rc == 0) {
        int n = 0;
        for (int i = 0; i < store.n; i++)
            n += store.v[i].has[SCRAM_SHA_256] || store.v[i].has[SCRAM_SHA_512];
        KLOG_INFO("SCRAM credentials of %d users loaded from %s", n,
                  zk ? "the metastore (/config/users)" : store.path);
    }
    return rc;
}

int scram_store_put(struct broker *b, const char *user, int mech, const struct scram_cred *cred)
{
    (void)b;
    if (mech < 1 || mech > SCRAM_NMECH || store.zk)
        return -1;
    struct suser *u = add_user(user);
    if (!u)
        return -1;
    u->has[mech] = cred != NULL;
    if (cred)
        u->cred[mech] = *cred;
    else
        OPENSSL_cleanse(&u->cred[mech], sizeof u->cred[mech]);
    return store.path[0] ? save_file() : 0;
}

/* ---------------- writes (AlterUserScramCredentials, resync) ----------------
 *
 * A change is a job on the admin-write queue (broker.h: awrite_*), so jobs
 * see each other's results in order. Per user, the credentials after the
 * request are worked out from memory, then stored — the file in one
 * replace, or /config/users/<name> (setData / create) followed by Kafka's
 * /config/changes notification, user after user — and memory takes them
 * only once stored. The client is answered after the last reply. A link
 * lost during a write leaves its outcome unknown: the user's node is read
 * back once the session is back.
 */

struct user_change {
    char name[1024];
    int tag;                               /* the caller's (its entry in the response) */
    bool has[SCRAM_NMECH + 1];
    struct scram_cred cred[SCRAM_NMECH + 1];
    int16_t err;
    char msg[256];
};

struct scram_change {
    struct awrite *w;                      /* a resync's own admin-write job */
    char who[300];
    struct user_change *ch;
    int nch, cap;
    struct zk_job zj;                      /* the metastore writes (or reads back) of ch */
    scram_change_done done;
    void *arg;
};

void scram_change_free(struct scram_change *j)
{
    if (!j)
        return;
    if (j->ch)
        OPENSSL_cleanse(j->ch, sizeof *j->ch * (size_t)j->nch);
    free(j->ch);
    free(j);
}

static void job_drop(struct awrite *w, void *arg)
{
    (void)w;
    scram_change_free(arg);
}

struct scram_change *scram_change_new(const char *who, int max_users)
{
    struct scram_change *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    snprintf(j->who, sizeof j->who, "%s", who);
    j->cap = max_users > 0 ? max_users : 1;
    if (!(j->ch = calloc((size_t)j->cap, sizeof *j->ch))) {
        free(j);
        return NULL;
    }
    return j;
}

int scram_change_user(struct scram_change *j, const char *name, int tag)
{
    for (int i = 0; i < j->nch; i++)
        if (strcmp(j->ch[i].name, name) == 0)
            return i;
    if (j->nch == j->cap)
        return -1;
    struct user_change *c = &j->ch[j->nch];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->tag = tag;
    const struct suser *u = find_user(name);
    if (u) {
        memcpy(c->has, u->has, sizeof c->has);
        memcpy(c->cred, u->cred, sizeof c->cred);
    }
    return j->nch++;
}

void scram_change_set(struct scram_change *j, int idx, int mech, const struct scram_cred *cred)
{
    struct user_change *c = &j->ch[idx];
    c->has[mech] = cred != NULL;
    if (cred)
        c->cred[mech] = *cred;
    else
        OPENSSL_cleanse(&c->cred[mech], sizeof c->cred[mech]);
}

int scram_change_count(const struct scram_change *j)
{
    return j->nch;
}

int16_t scram_change_result(const struct scram_change *j, int i, int *tag, const char **msg)
{
    *tag = j->ch[i].tag;
    *msg = j->ch[i].err ? j->ch[i].msg : NULL;
    return j->ch[i].err;
}

static void mark_dirty(const char *name)
{
    for (int i = 0; i < dirty.n; i++)
        if (strcmp(dirty.names[i], name) == 0)
            return;
    char **v = realloc(dirty.names, sizeof *v * (size_t)(dirty.n + 1));
    if (!v)
        return;
    dirty.names = v;
    if ((v[dirty.n] = strdup(name)))
        dirty.n++;
}

/* The node of a user with these credentials, the other keys (quotas) as
 * memory has them. */
static char *node_json(const char *name, const bool *has, const struct scram_cred *cred)
{
    struct suser *u = find_user(name);
    json_t *cfg = u && u->other ? json_deep_copy(u->other) : json_object();
    for (int m = 1; m <= SCRAM_NMECH; m++) {
        char text[1024];
        if (has[m] && scram_cred_format(m, &cred[m], text, sizeof text) == 0)
            json_object_set_new(cfg, scram_mech_name(m), json_string(text));
    }
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "config", cfg);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

/* Memory takes a stored change. */
static int apply_change(const struct user_change *c)
{
    struct suser *u = add_user(c->name);
    if (!u)
        return -1;
    for (int m = 1; m <= SCRAM_NMECH; m++) {
        u->has[m] = c->has[m];
        if (c->has[m])
            u->cred[m] = c->cred[m];
        else
            OPENSSL_cleanse(&u->cred[m], sizeof u->cred[m]);
    }
    return 0;
}

static void change_fail(struct user_change *c, int16_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void change_fail(struct user_change *c, int16_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->err = err;
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

static void user_path(const char *name, char *out, size_t outlen)
{
    char san[1500];
    scram_sanitize(name, san, sizeof san);
    snprintf(out, outlen, "/config/users/%s", san);
}

static void job_finish(void *arg);

/* A user's node, with the credentials the change gives it. */
static int change_node(void *arg, int i, char *path, size_t pathlen, char **data)
{
    struct scram_change *j = arg;
    const struct user_change *c = &j->ch[i];
    user_path(c->name, path, pathlen);
    if (data && !(*data = node_json(c->name, c->has, c->cred)))
        return -1;
    return 0;
}

static void wipe_free(char *data)
{
    OPENSSL_cleanse(data, strlen(data));
    free(data);
}

static void change_written(void *arg, int i, int rc, const char *path)
{
    struct scram_change *j = arg;
    struct user_change *c = &j->ch[i];
    (void)path;
    if (rc == ZOK) {
        if (apply_change(c) != 0)
            KLOG_ERROR("out of memory applying the SCRAM credentials of a user");
        KLOG_INFO("SCRAM credentials of user %s changed by %s (stored in the metastore)", c->name,
                  j->who);
    } else if (rc == ZK_JOB_NOT_SENT) {
        change_fail(c, KERR_NOT_CONTROLLER, "The metastore session is lost; retry");
    } else {
        if (rc == ZCONNECTIONLOSS)
            mark_dirty(c->name);
        change_fail(c, KERR_KAFKA_STORAGE_ERROR,
                    "Storing the credential in the metastore failed (%s)%s", zk_err_name(rc),
                    zk_job_loss_note(rc));
        KLOG_WARN("metastore: writing the SCRAM credentials of user %s failed: %s", c->name,
                  zk_err_name(rc));
    }
}

static char *change_note(void *arg, int i, const char **seq_path)
{
    struct scram_change *j = arg;
    char san[1500];
    scram_sanitize(j->ch[i].name, san, sizeof san);
    return zk_config_change_note("users", san, seq_path);
}

static const struct zk_job_ops write_ops = {
    .node = change_node,
    .free_data = wipe_free,
    .written = change_written,
    .note = change_note,
    .note_kind = "config",
    .finish = job_finish,
};

/* Store the changes: the metastore (asynchronous), or the file — memory
 * takes them, the file is replaced, and memory goes back if that failed
 * (nothing runs in between: the event loop is not entered). */
static void job_store(struct scram_change *j)
{
    if (j->nch == 0) {           /* nothing to store: every user was refused */
        job_finish(j);
        return;
    }
    if (store.zk) {
        zk_job_write(&j->zj, store.zk, j->nch, &write_ops, j);
        return;
    }
    struct user_change *old = calloc((size_t)(j->nch ? j->nch : 1), sizeof *old);
    int rc = old ? 0 : -1;
    for (int i = 0; i < j->nch && rc == 0; i++) {
        struct suser *u = add_user(j->ch[i].name);
        if (!u) {
            rc = -1;
            break;
        }
        snprintf(old[i].name, sizeof old[i].name, "%s", u->name);
        memcpy(old[i].has, u->has, sizeof u->has);
        memcpy(old[i].cred, u->cred, sizeof u->cred);
    }
    for (int i = 0; i < j->nch && rc == 0; i++)
        rc = apply_change(&j->ch[i]);
    if (rc == 0 && store.path[0])
        rc = save_file();
    if (rc != 0) {
        for (int i = 0; old && i < j->nch; i++)
            if (old[i].name[0])
                apply_change(&old[i]);
        for (int i = 0; i < j->nch; i++)
            change_fail(&j->ch[i], KERR_KAFKA_STORAGE_ERROR, "Storing the credential failed");
    } else {
        for (int i = 0; i < j->nch; i++)
            KLOG_INFO("SCRAM credentials of user %s changed by %s", j->ch[i].name, j->who);
    }
    if (old) {
        OPENSSL_cleanse(old, sizeof *old * (size_t)j->nch);
        free(old);
    }
    job_finish(j);
}

static void job_finish(void *arg)
{
    struct scram_change *j = arg;
    j->done(j, j->arg);
}

void scram_change_store(struct scram_change *j, scram_change_done done, void *arg)
{
    j->done = done;
    j->arg = arg;
    job_store(j);
}

/* ---------------- resync after an unknown outcome ---------------- */

static void resync_got(void *arg, int i, int rc, struct kr *body)
{
    struct scram_change *j = arg;
    struct user_change *c = &j->ch[i];
    if (rc == ZOK || rc == ZNONODE) {
        json_t *root = zk_job_json(rc, body);
        struct suser *u = add_user(c->name);
        if (u) {
            for (int m = 1; m <= SCRAM_NMECH; m++)
                u->has[m] = false;
            OPENSSL_cleanse(u->cred, sizeof u->cred);
            if (u->other)
                json_decref(u->other);
            u->other = NULL;
            json_t *cfg = json_object_get(root, "config");
            if (json_is_object(cfg))
                load_config(u, cfg, "metastore");
            KLOG_INFO("SCRAM credentials of user %s read back from the metastore", c->name);
        }
        if (root)
            json_decref(root);
    } else {
        mark_dirty(c->name);
    }
}

static const struct zk_job_ops read_ops = {
    .node = change_node,
    .got = resync_got,
    .finish = job_finish,
};

static void resync_done(struct scram_change *j, void *arg)
{
    struct awrite *w = j->w;
    (void)arg;
    scram_change_free(j);
    awrite_done(w);
}

static void resync_start(struct awrite *w, void *arg)
{
    struct scram_change *j = arg;
    j->w = w;
    dirty.queued = false;
    j->ch = calloc((size_t)(dirty.n ? dirty.n : 1), sizeof *j->ch);
    for (int i = 0; j->ch && i < dirty.n; i++)
        snprintf(j->ch[j->nch++].name, sizeof j->ch[0].name, "%s", dirty.names[i]);
    if (j->ch) {
        for (int i = 0; i < dirty.n; i++)
            free(dirty.names[i]);
        free(dirty.names);
        dirty.names = NULL;
        dirty.n = 0;
    }
    zk_job_read(&j->zj, store.zk, j->nch, &read_ops, j);
}

static void on_zk_state(struct zk *zk, enum zk_state st, bool new_session, void *arg)
{
    (void)zk;
    (void)new_session;
    (void)arg;
    if (st != ZK_CONNECTED || dirty.n == 0 || dirty.queued)
        return;
    struct scram_change *j = calloc(1, sizeof *j);
    if (!j)
        return;
    snprintf(j->who, sizeof j->who, "the metastore");
    j->done = resync_done;
    dirty.queued = true;
    awrite_submit(NULL, resync_start, job_drop, j);
}

/* ---------------- reading ---------------- */

int scram_store_nusers(void)
{
    return store.n;
}

const char *scram_store_user(int i, struct json_t **other)
{
    if (other)
        *other = store.v[i].other;
    return store.v[i].name;
}

bool scram_store_writable(void)
{
    return !store.zk || zk_get_state(store.zk) == ZK_CONNECTED;
}
