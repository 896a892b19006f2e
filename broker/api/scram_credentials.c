/*
 * scram_credentials.c — DescribeUserScramCredentials and
 * AlterUserScramCredentials over the SCRAM store (security/scram_store.h).
 * An alteration runs as a job on the admin-write queue and is answered once
 * its change is stored; a user with any bad entry changes nothing.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "authz.h"
#include "broker.h"
#include "kafka_errors.h"
#include "sasl_scram.h"
#include "scram_store.h"

/* One user's outcome in an AlterUserScramCredentials request (arena). */
struct alter_user {
    struct kstr name;
    int16_t err;
    const char *msg;
};

/* An AlterUserScramCredentials request while its change is worked out and
 * stored. In the request's arena: used only while awrite_req() is not NULL. */
struct alter_job {
    struct awrite *w;
    struct scram_change *ch;
    struct scram_cred *creds;              /* upsertion i's credential */
    struct kp_alter_user_scram_credentials_req rq;
    struct alter_user *users;
    int nusers;
};

static void job_free(struct alter_job *j)
{
    scram_change_free(j->ch);
    free(j->creds);
    free(j);
}

static void job_drop(struct awrite *w, void *arg)
{
    (void)w;
    job_free(arg);
}

static bool has_credential(const char *name)
{
    return scram_store_get(name, SCRAM_SHA_256) || scram_store_get(name, SCRAM_SHA_512);
}

static void alter_done(struct scram_change *ch, void *arg)
{
    struct alter_job *j = arg;
    struct awrite *w = j->w;
    struct kreq *req = awrite_take(w);
    if (req) {
        for (int i = 0; i < scram_change_count(ch); i++) {
            int tag;
            const char *msg;
            int16_t err = scram_change_result(ch, i, &tag, &msg);
            if (err) {
                j->users[tag].err = err;
                j->users[tag].msg = karena_strdup(&req->arena, msg);
            }
        }
        struct kp_alter_user_scram_credentials_resp rs;
        kp_alter_user_scram_credentials_resp_init(&rs);
        int n = j->nusers;
        rs.results_n = n;
        rs.results = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.results);
        for (int i = 0; rs.results && i < n; i++) {
            kp_alter_user_scram_credentials_resp_results_init(&rs.results[i]);
            rs.results[i].user = j->users[i].name;
            rs.results[i].error_code = j->users[i].err;
            rs.results[i].error_message =
                j->users[i].msg ? kstr_c(j->users[i].msg) : (struct kstr){ NULL, -1 };
        }
        if (!rs.results)
            rs.results_n = 0;
        struct kw kw;
        kreq_writer(req, &kw);
        kp_alter_user_scram_credentials_resp_encode(&kw, req->api_version, &rs);
        kreq_finish(req, &kw);
    }
    job_free(j);
    awrite_done(w);
}

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
    int nusers = scram_store_nusers();
    int n = 0;
    if (all) {
        for (int i = 0; i < nusers; i++)
            n += has_credential(scram_store_user(i, NULL));
    } else {
        n = rq.users_n;
    }
    rs.results_n = n;
    rs.results = karena_calloc(&req->arena, (size_t)(n ? n : 1), sizeof *rs.results);
    if (!rs.results)
        return -1;
    int k = 0;
    for (int i = 0; i < (all ? nusers : rq.users_n); i++) {
        const char *name = NULL;
        if (all) {
            name = scram_store_user(i, NULL);
            if (!has_credential(name))
                continue;
        }
        struct kp_describe_user_scram_credentials_resp_results *r = &rs.results[k++];
        kp_describe_user_scram_credentials_resp_results_init(r);
        r->error_message.p = NULL;
        r->error_message.len = -1;
        if (all) {
            r->user = kstr_c(name);
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
            name = r->user.p;
            if (!has_credential(name)) {
                r->error_code = KERR_RESOURCE_NOT_FOUND;
                r->error_message = kstr_c("Attempt to describe a user credential that does not "
                                          "exist");
                continue;
            }
        }
        int ni = (scram_store_get(name, SCRAM_SHA_256) != NULL) +
                 (scram_store_get(name, SCRAM_SHA_512) != NULL);
        r->credential_infos_n = ni;
        r->credential_infos = karena_calloc(&req->arena, (size_t)ni, sizeof *r->credential_infos);
        if (!r->credential_infos)
            return -1;
        int j = 0;
        for (int m = 1; m <= SCRAM_NMECH; m++) {
            const struct scram_cred *cred = scram_store_get(name, m);
            if (!cred)
                continue;
            r->credential_infos[j].mechanism = (int8_t)m;
            r->credential_infos[j].iterations = cred->iterations;
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

static void alter_start(struct awrite *w, void *arg)
{
    struct alter_job *j = arg;
    j->w = w;
    struct kreq *req = awrite_req(w);
    struct kp_alter_user_scram_credentials_req *rq = &j->rq;
    int nd = rq->deletions_n > 0 ? rq->deletions_n : 0;
    int nu = rq->upsertions_n > 0 ? rq->upsertions_n : 0;
    j->users = karena_calloc(&req->arena, (size_t)(nd + nu + 1), sizeof *j->users);
    j->ch = scram_change_new(req->conn ? req->conn->principal : "?", nd + nu + 1);
    j->creds = calloc((size_t)(nu + 1), sizeof *j->creds);
    if (!j->users || !j->ch || !j->creds) {
        awrite_take(w);
        if (req->conn)
            conn_close(req->conn, "out of memory");
        job_free(j);
        awrite_done(w);
        return;
    }
    int n = 0;
    bool writable = scram_store_writable();
    bool allowed = authz_allowed_c(req->conn, ACL_OP_ALTER, ACL_RES_CLUSTER, AUTHZ_CLUSTER_NAME);
    /* Validate everything first: a user with any bad entry changes nothing. */
    for (int i = 0; i < nd + nu; i++) {
        bool del = i < nd;
        struct kstr name = del ? rq->deletions[i].name : rq->upsertions[i - nd].name;
        int mech = del ? rq->deletions[i].mechanism : rq->upsertions[i - nd].mechanism;
        struct alter_user *u = alter_slot(j->users, &n, name);
        if (name.len <= 0) {
            alter_fail(u, KERR_UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
            continue;
        }
        if (mech != SCRAM_SHA_256 && mech != SCRAM_SHA_512) {
            alter_fail(u, KERR_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
            continue;
        }
        for (int k = 0; k < i; k++) {
            bool kdel = k < nd;
            struct kstr kn = kdel ? rq->deletions[k].name : rq->upsertions[k - nd].name;
            int km = kdel ? rq->deletions[k].mechanism : rq->upsertions[k - nd].mechanism;
            if (km == mech && kstr_same(kn, name))
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
            const struct kp_alter_user_scram_credentials_req_upsertions *up =
                &rq->upsertions[i - nd];
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
        if (!allowed) {
            u->err = KERR_CLUSTER_AUTHORIZATION_FAILED;
            u->msg = NULL;
        }
    }
    j->nusers = n;
    /* A user whose credential cannot be computed changes nothing. */
    for (int i = 0; i < nu; i++) {
        const struct kp_alter_user_scram_credentials_req_upsertions *up = &rq->upsertions[i];
        struct alter_user *u = alter_slot(j->users, &n, up->name);
        if (u->err != KERR_NONE)
            continue;
        if (scram_cred_from_salted(up->mechanism, up->salted_password.p,
                                   (size_t)up->salted_password.len, up->salt.p,
                                   (size_t)up->salt.len, up->iterations, &j->creds[i]) != 0) {
            u->err = KERR_UNKNOWN_SERVER_ERROR;
            u->msg = "Computing the credential failed";
        }
    }
    /* The credentials of the users without errors after the request. */
    for (int i = 0; i < nd + nu; i++) {
        bool del = i < nd;
        struct kstr name = del ? rq->deletions[i].name : rq->upsertions[i - nd].name;
        struct alter_user *u = alter_slot(j->users, &n, name);
        if (u->err != KERR_NONE)
            continue;
        char nm[1024];
        snprintf(nm, sizeof nm, "%.*s", (int)name.len, name.p);
        int c = scram_change_user(j->ch, nm, (int)(u - j->users));
        if (del)
            scram_change_set(j->ch, c, rq->deletions[i].mechanism, NULL);
        else
            scram_change_set(j->ch, c, rq->upsertions[i - nd].mechanism, &j->creds[i - nd]);
    }
    OPENSSL_cleanse(j->creds, sizeof *j->creds * (size_t)(nu + 1));
    scram_change_store(j->ch, alter_done, j);
}

int h_alter_user_scram_credentials(struct kreq *req)
{
    struct alter_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    if (kp_alter_user_scram_credentials_req_decode(&req->body, req->api_version, &req->arena,
                                                   &j->rq) != 0) {
        free(j);
        return -1;
    }
    awrite_submit(req, alter_start, job_drop, j);
    return 0;
}

