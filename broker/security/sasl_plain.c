/*
 * sasl_plain.c — SASL/PLAIN, with Kafka's PlainSaslServer messages.
 *
 * Passwords are compared as SHA-256 digests with CRYPTO_memcmp, so the time
 * taken depends neither on where the first differing byte is nor on the
 * stored password's length; an unknown user is compared against a dummy
 * so that it costs the same as a wrong password.
 */
#include "sasl_plain.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jaas.h"
#include "klog.h"

struct plain_user {
    char *name;
    uint8_t digest[SHA256_DIGEST_LENGTH]; /* of the password; the password is not kept */
};

struct plain_users {
    struct plain_user *v;
    size_t n;
};

static void digest(const void *p, size_t n, uint8_t out[SHA256_DIGEST_LENGTH])
{
    SHA256(p, n, out);
}

static int add_user(struct plain_users *u, const char *name, const char *password)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0) {
            /* Java keeps the last of repeated options; so do we. */
            digest(password, strlen(password), u->v[i].digest);
            return 0;
        }
    struct plain_user *v = realloc(u->v, (u->n + 1) * sizeof *v);
    if (!v)
        return -1;
    u->v = v;
    v[u->n].name = strdup(name);
    if (!v[u->n].name)
        return -1;
    digest(password, strlen(password), v[u->n].digest);
    u->n++;
    return 0;
}

int plain_users_load(const struct jaas_section *sec, struct plain_users **out, char *err,
                     size_t errlen)
{
    struct plain_users *u = calloc(1, sizeof *u);
    bool found = false;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; sec && i < sec->nentries; i++) {
        const struct jaas_entry *e = &sec->entries[i];
        if (strcmp(e->module, PLAIN_LOGIN_MODULE) != 0)
            continue;
        found = true;
        for (size_t j = 0; j < e->nopts; j++) {
            const char *k = e->opts[j].key;
            if (strncmp(k, "user_", 5) != 0 || !k[5])
                continue;
            if (add_user(u, k + 5, e->opts[j].value) != 0) {
                plain_users_free(u);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
    }
    if (!found) {
        plain_users_free(u);
        snprintf(err, errlen, "JAAS section %s has no %s entry, needed for SASL/PLAIN",
                 sec ? sec->name : "KafkaServer", PLAIN_LOGIN_MODULE);
        return -1;
    }
    if (u->n == 0)
        KLOG_WARN("JAAS section %s defines no user_<name> for SASL/PLAIN: every login will fail",
                  sec->name);
    *out = u;
    return 0;
}

void plain_users_free(struct plain_users *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++) {
        OPENSSL_cleanse(u->v[i].digest, sizeof u->v[i].digest);
        free(u->v[i].name);
    }
    free(u->v);
    free(u);
}

size_t plain_users_count(const struct plain_users *u)
{
    return u ? u->n : 0;
}

/* Split at NULs into exactly three parts; false otherwise. */
static bool split3(const uint8_t *tok, size_t len, const char *part[3], size_t plen[3], int *count)
{
    size_t start = 0;
    int n = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && tok[i] != 0)
            continue;
        if (n < 3) {
            part[n] = (const char *)tok + start;
            plen[n] = i - start;
        }
        n++;
        start = i + 1;
    }
    *count = n;
    return n == 3;
}

int plain_authenticate(const struct plain_users *u, const uint8_t *tok, size_t len, char *user,
                       size_t userlen, const char **msg)
{
    const char *part[3];
    size_t plen[3];
    int count;
    if (!tok || !split3(tok, len, part, plen, &count)) {
        *msg = "Invalid SASL/PLAIN response: expected 3 tokens";
        return -1;
    }
    if (plen[1] == 0) {
        *msg = "Authentication failed: username not specified";
        return -1;
    }
    if (plen[2] == 0) {
        *msg = "Authentication failed: password not specified";
        return -1;
    }
    if (plen[0] && (plen[0] != plen[1] || memcmp(part[0], part[1], plen[1]) != 0)) {
        *msg = "Authentication failed: Client requested an authorization id that is different "
               "from username";
        return -1;
    }
    static const uint8_t dummy[SHA256_DIGEST_LENGTH]; /* no password hashes to all zeros */
    const uint8_t *want = dummy;
    for (size_t i = 0; u && i < u->n; i++)
        if (strlen(u->v[i].name) == plen[1] && memcmp(u->v[i].name, part[1], plen[1]) == 0)
            want = u->v[i].digest;
    uint8_t got[SHA256_DIGEST_LENGTH];
    digest(part[2], plen[2], got);
    bool ok = CRYPTO_memcmp(got, want, sizeof got) == 0 && want != dummy;
    OPENSSL_cleanse(got, sizeof got);
    if (!ok || plen[1] >= userlen) {
        *msg = "Authentication failed: Invalid username or password";
        return -1;
    }
    memcpy(user, part[1], plen[1]);
    user[plen[1]] = 0;
    return 0;
}
