/*
 * scram_store.c — SCRAM credentials in memory, in the metastore or a file,
 * and the AlterUserScramCredentials / DescribeUserScramCredentials handlers
 * (see scram_store.h).
 */
#include "scram_store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "authz.h"
#include "broker.h"
#include "config.h"
#include "jute.h"
#include "kafka_errors.h"
#include "klog.h"
#include "sasl_scram.h"
#include "zk.h"

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

/* Asynchronous write of one user's node: setData, create when missing,
 * setData again if a racing create got there first. The data written is
 * the user's state when the write is sent, so the last write wins. */
struct zwrite {
    struct broker *b;
    char name[512];
    int tries;
};

static void zwrite_send(struct zwrite *w);

static void zwrite_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    struct zwrite *w = arg;
    (void)zk;
    (void)body;
    if ((rc == ZNONODE || rc == ZNODEEXISTS) && w->tries < 4) {
        zwrite_send(w);
        return;
    }
    if (rc != ZOK)
        KLOG_WARN("metastore: writing the SCRAM credentials of a user failed: %s",
                  zk_err_name(rc));
    free(w);
}

static char *user_node_json(const char *name)
{
    struct suser *u = find_user(name);
    json_t *cfg = u ? user_config(u) : json_object();
    json_t *root = json_pack("{s:i,s:o}", "version", 1, "config", cfg);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* tries even: setData; odd: create. */
static void zwrite_send(struct zwrite *w)
{
    struct zk *zk = store.zk;
    char path[1600], san[1500];
    scram_sanitize(w->name, san, sizeof san);
    snprintf(path, sizeof path, "/config/users/%s", san);
    char *data = user_node_json(w->name);
    int rc = -1;
    if (data && zk) {
        if (w->tries++ % 2 == 0)
            rc = zk_set_data(zk, path, data, (int32_t)strlen(data), -1, zwrite_done, w);
        else
            rc = zk_create(zk, path, data, (int32_t)strlen(data), ZMODE_PERSISTENT, zwrite_done,
                           w);
    }
    free(data);
    if (rc != 0) {
        KLOG_WARN("metastore: SCRAM credentials of a user not written (no session)");
        free(w);
    }
}

static void notify_done(struct zk *zk, int rc, struct kr *body, void *arg)
{
    (void)zk;
    (void)body;
    (void)arg;
    if (rc != ZOK)
        KLOG_WARN("metastore: config change notification failed: %s", zk_err_name(rc));
}

static void zk_persist(struct broker *b, const char *name)
{
    struct zwrite *w = calloc(1, sizeof *w);
    if (!w)
        return;
    w->b = b;
    snprintf(w->name, sizeof w->name, "%s", name);
    zwrite_send(w);
    /* Kafka's change notification, so that brokers watching pick it up. */
    char san[1500], note[1700];
    scram_sanitize(name, san, sizeof san);
    snprintf(note, sizeof note, "{\"version\":2,\"entity_path\":\"users/%s\"}", san);
    zk_create(store.zk, "/config/changes/config_change_", note, (int32_t)strlen(note),
              ZMODE_PERSISTENT_SEQ, notify_done, NULL);
}

/* ---------------- interface ---------------- */

int scram_store_open(struct broker *b, struct zk *zk)
{
    scram_store_close();
    snprintf(store.path, sizeof store.path, "%s/%s", b->cfg->log_dirs, FILE_NAME);
    store.zk = zk;
    int rc = zk ? load_zk(zk) : load_file();
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
    if (mech < 1 || mech > SCRAM_NMECH)
        return -1;
    struct suser *u = add_user(user);
    if (!u)
        return -1;
    u->has[mech] = cred != NULL;
    if (cred)
        u->cred[mech] = *cred;
    else
        OPENSSL_cleanse(&u->cred[mech], sizeof u->cred[mech]);
    if (store.zk) {
        zk_persist(b, user);
        return 0;
    }
    return store.path[0] ? save_file() : 0;
}

/* ---------------- handlers ---------------- */

static struct kstr arena_kstr(struct karena *a, struct kstr s)
{
    char *p = karena_alloc(a, (size_t)(s.len > 0 ? s.len : 0) + 1);
    if (!p)
        return kstr_c("");
    if (s.len > 0)
        memcpy(p, s.p, (size_t)s.len);
    p[s.len > 0 ? s.len : 0] = 0;
    return kstr_c(p);
}

static bool kstr_same(struct kstr a, struct kstr b)
{
    int la = a.len > 0 ? a.len : 0, lb = b.len > 0 ? b.len : 0;
    return la == lb && (la == 0 || memcmp(a.p, b.p, (size_t)la) == 0);
}

int h_describe_user_scram_credentials(struct kreq *req)
{
    struct kp_describe_user_scram_credentials_req rq;
    if (kp_describe_user_scram_credentials_req_decode(&req->body, req->api_version, &req->arena,
                                                      &rq) != 0)
        return -1;
    struct kp_describe_user_scram_credentials_resp rs;
    kp_describe_user_scram_credentials_resp_init(&rs);
    /* Kafka: DESCRIBE on the cluster. */
    if (!authz_allowed_c(req->conn, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME)) {
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
        rs.error_message.p = NULL;
        rs.error_message.len = -1;
        rs.results_n = 0;
        struct kw w;
        kreq_writer(req, &w);
        kp_describe_user_scram_credentials_resp_encode(&w, req->api_version, &rs);
        kreq_finish(req, &w);
        return 0;
    }
    bool all = rq.users_n <= 0;
    int n = 0;
    if (all) {
        for (int i = 0; i < store.n; i++)
            n += store.v[i].has[SCRAM_SHA_256] || store.v[i].has[SCRAM_SHA_512];
    } else {
        n = rq.users_n;
    }
    rs.results_n = n;
    rs.results = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.results);
    if (!rs.results)
        return -1;
    int k = 0;
    for (int i = 0; i < (all ? store.n : rq.users_n); i++) {
        const struct suser *u = NULL;
        if (all) {
            u = &store.v[i];
            if (!u->has[SCRAM_SHA_256] && !u->has[SCRAM_SHA_512])
                continue;
        }
        struct kp_describe_user_scram_credentials_resp_results *r = &rs.results[k++];
        kp_describe_user_scram_credentials_resp_results_init(r);
        r->error_message.p = NULL;
        r->error_message.len = -1;
        if (all) {
            r->user = kstr_c(u->name);
        } else {
            r->user = arena_kstr(&req->arena, rq.users[i].name);
            bool dup = false;
            for (int j = 0; j < rq.users_n; j++)
                dup |= j != i && kstr_same(rq.users[j].name, rq.users[i].name);
            if (dup) {
                r->error_code = KERR_DUPLICATE_RESOURCE;
                r->error_message = kstr_c("Cannot describe SCRAM credentials for the same user "
                                          "twice in a single request");
                continue;
            }
            u = find_user(r->user.p);
            if (!u || (!u->has[SCRAM_SHA_256] && !u->has[SCRAM_SHA_512])) {
                r->error_code = KERR_RESOURCE_NOT_FOUND;
                r->error_message = kstr_c("Attempt to describe a user credential that does not "
                                          "exist");
                continue;
            }
        }
        int ni = u->has[SCRAM_SHA_256] + u->has[SCRAM_SHA_512];
        r->credential_infos_n = ni;
        r->credential_infos = karena_calloc(&req->arena, (size_t)ni, sizeof *r->credential_infos);
        if (!r->credential_infos)
            return -1;
        int j = 0;
        for (int m = 1; m <= SCRAM_NMECH; m++) {
            if (!u->has[m])
                continue;
            r->credential_infos[j].mechanism = (int8_t)m;
            r->credential_infos[j].iterations = u->cred[m].iterations;
            j++;
        }
    }
    rs.results_n = k;
    rs.error_message.p = NULL;
    rs.error_message.len = -1;
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_user_scram_credentials_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* One user's outcome in an AlterUserScramCredentials request. */
struct alter_user {
    struct kstr name;
    int16_t err;
    const char *msg;
};

static struct alter_user *alter_slot(struct alter_user *v, int *n, struct kstr name)
{
    for (int i = 0; i < *n; i++)
        if (kstr_same(v[i].name, name))
            return &v[i];
    v[*n].name = name;
    v[*n].err = KERR_NONE;
    v[*n].msg = NULL;
    return &v[(*n)++];
}

static void alter_fail(struct alter_user *u, int16_t err, const char *msg)
{
    if (u->err == KERR_NONE) {
        u->err = err;
        u->msg = msg;
    }
}

int h_alter_user_scram_credentials(struct kreq *req)
{
    struct kp_alter_user_scram_credentials_req rq;
    if (kp_alter_user_scram_credentials_req_decode(&req->body, req->api_version, &req->arena,
                                                   &rq) != 0)
        return -1;
    struct broker *b = req->conn ? req->conn->b : NULL;
    int nd = rq.deletions_n > 0 ? rq.deletions_n : 0;
    int nu = rq.upsertions_n > 0 ? rq.upsertions_n : 0;
    struct alter_user *users = karena_calloc(&req->arena, (size_t)(nd + nu + 1), sizeof *users);
    if (!users)
        return -1;
    int n = 0;
    bool writable = !store.zk || zk_get_state(store.zk) == ZK_CONNECTED;
    /* Validate everything first: a user with any bad entry changes nothing. */
    for (int i = 0; i < nd + nu; i++) {
        bool del = i < nd;
        struct kstr name = del ? rq.deletions[i].name : rq.upsertions[i - nd].name;
        int mech = del ? rq.deletions[i].mechanism : rq.upsertions[i - nd].mechanism;
        struct alter_user *u = alter_slot(users, &n, name);
        if (name.len <= 0) {
            alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
            continue;
        }
        if (mech != SCRAM_SHA_256 && mech != SCRAM_SHA_512) {
            alter_fail(u, KERR_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
            continue;
        }
        for (int j = 0; j < i; j++) {
            bool jdel = j < nd;
            struct kstr jn = jdel ? rq.deletions[j].name : rq.upsertions[j - nd].name;
            int jm = jdel ? rq.deletions[j].mechanism : rq.upsertions[j - nd].mechanism;
            if (jm == mech && kstr_same(jn, name))
                alter_fail(u, KERR_DUPLICATE_RESOURCE,
                           "A user credential cannot be altered twice in the same request");
        }
        if (del) {
            char nm[1024];
            snprintf(nm, sizeof nm, "%.*s", (int)name.len, name.p);
            if (!scram_store_get(nm, mech))
                alter_fail(u, KERR_RESOURCE_NOT_FOUND,
                           "Attempt to delete a user credential that does not exist");
        } else {
            const struct kp_alter_user_scram_credentials_req_upsertions *up = &rq.upsertions[i - nd];
            if (up->iterations < SCRAM_MIN_ITERATIONS)
                alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL, "Too few iterations");
            else if (up->iterations > SCRAM_MAX_ITERATIONS)
                alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL, "Too many iterations");
            else if (up->salt.len <= 0 || up->salt.len > SCRAM_MAX_SALT)
                alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL, "Salt must be 1 to 128 bytes");
            else if (up->salted_password.len != (int32_t)scram_hash_len(mech))
                alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL,
                           "Salted password has the wrong length for the mechanism");
        }
        if (u->name.len > 1000)
            alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL, "Username is too long");
        if (!writable)
            alter_fail(u, KERR_NOT_CONTROLLER, "The metastore session is lost; retry");
        /* Kafka: ALTER on the cluster. */
        if (!authz_allowed_c(req->conn, ACL_OP_ALTER, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME)) {
            u->err = KERR_CLUSTER_AUTHORIZATION_FAILED;
            u->msg = NULL;
        }
    }
    /* Apply the users without errors. */
    for (int i = 0; i < nd + nu; i++) {
        bool del = i < nd;
        struct kstr name = del ? rq.deletions[i].name : rq.upsertions[i - nd].name;
        struct alter_user *u = alter_slot(users, &n, name);
        if (u->err != KERR_NONE)
            continue;
        char nm[1024];
        snprintf(nm, sizeof nm, "%.*s", (int)name.len, name.p);
        int rc;
        if (del) {
            rc = scram_store_put(b, nm, rq.deletions[i].mechanism, NULL);
        } else {
            const struct kp_alter_user_scram_credentials_req_upsertions *up = &rq.upsertions[i - nd];
            struct scram_cred c;
            rc = scram_cred_from_salted(up->mechanism, up->salted_password.p,
                                        (size_t)up->salted_password.len, up->salt.p,
                                        (size_t)up->salt.len, up->iterations, &c);
            if (rc == 0)
                rc = scram_store_put(b, nm, up->mechanism, &c);
            OPENSSL_cleanse(&c, sizeof c);
        }
        if (rc != 0)
            alter_fail(u, KERR_UNKNOWN_SERVER_ERROR, "Storing the credential failed");
        else
            KLOG_INFO("SCRAM credential of user %s %s by %s", nm, del ? "deleted" : "set",
                      req->conn ? req->conn->principal : "?");
    }
    struct kp_alter_user_scram_credentials_resp rs;
    kp_alter_user_scram_credentials_resp_init(&rs);
    rs.results_n = n;
    rs.results = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.results);
    if (!rs.results)
        return -1;
    for (int i = 0; i < n; i++) {
        kp_alter_user_scram_credentials_resp_results_init(&rs.results[i]);
        rs.results[i].user = users[i].name;
        rs.results[i].error_code = users[i].err;
        rs.results[i].error_message = users[i].msg ? kstr_c(users[i].msg) : (struct kstr){ NULL, -1 };
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_alter_user_scram_credentials_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}

/* ---------------- DescribeClientQuotas ---------------- */

/* kavka enforces no quotas and keeps none for client ids or IPs; quota keys
 * found in /config/users/<name> (written by another tool) are reported as
 * they are, so kafka-configs --describe --entity-type users works. */
static bool quota_value(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    char *end;
    *out = strtod(json_string_value(v), &end);
    return end != json_string_value(v) && *end == 0;
}

int h_describe_client_quotas(struct kreq *req)
{
    struct kp_describe_client_quotas_req rq;
    if (kp_describe_client_quotas_req_decode(&req->body, req->api_version, &req->arena, &rq) != 0)
        return -1;
    struct kp_describe_client_quotas_resp rs;
    kp_describe_client_quotas_resp_init(&rs);
    rs.error_message.p = NULL;
    rs.error_message.len = -1;
    if (!authz_allowed_c(req->conn, ACL_OP_DESCRIBE_CONFIGS, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME))
        rs.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
    /* Only user components can match (match_type 0: exact, 1: default, 2: any). */
    bool only_users = true;
    const struct kp_describe_client_quotas_req_components *uc = NULL;
    for (int i = 0; i < rq.components_n; i++) {
        const struct kp_describe_client_quotas_req_components *c = &rq.components[i];
        if (c->match_type < 0 || c->match_type > 2 || (c->match_type == 0 && c->match.len < 0)) {
            rs.error_code = KERR_INVALID_REQUEST;
            rs.error_message = kstr_c("Invalid match type or missing match");
        }
        if (kstr_eq(c->entity_type, "user"))
            uc = c;
        else
            only_users = false;
    }
    rs.entries = karena_calloc(&req->arena, (size_t)store.n + 1, sizeof *rs.entries);
    if (!rs.entries)
        return -1;
    rs.entries_n = 0;
    for (int i = 0; i < store.n && only_users && rs.error_code == KERR_NONE; i++) {
        const struct suser *u = &store.v[i];
        bool is_default = strcmp(u->name, "<default>") == 0;
        if (!u->other)
            continue;
        if (uc && uc->match_type == 0 && !kstr_eq(uc->match, u->name))
            continue;
        if (uc && uc->match_type == 1 && !is_default)
            continue;
        size_t nkeys = json_object_size(u->other);
        struct kp_describe_client_quotas_resp_entries *e = &rs.entries[rs.entries_n];
        kp_describe_client_quotas_resp_entries_init(e);
        e->values = karena_calloc(&req->arena, nkeys + 1, sizeof *e->values);
        e->entity = karena_calloc(&req->arena, 1, sizeof *e->entity);
        if (!e->values || !e->entity)
            return -1;
        e->values_n = 0;
        const char *key;
        json_t *val;
        json_object_foreach(u->other, key, val) {
            double d;
            if (!quota_value(val, &d))
                continue;
            e->values[e->values_n].key = kstr_c(key);
            e->values[e->values_n].value = d;
            e->values_n++;
        }
        if (e->values_n == 0)
            continue;
        e->entity_n = 1;
        e->entity[0].entity_type = kstr_c("user");
        e->entity[0].entity_name = is_default ? (struct kstr){ NULL, -1 } : kstr_c(u->name);
        rs.entries_n++;
    }
    struct kw w;
    kreq_writer(req, &w);
    kp_describe_client_quotas_resp_encode(&w, req->api_version, &rs);
    kreq_finish(req, &w);
    return 0;
}
