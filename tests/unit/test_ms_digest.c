/*
 * Credentials: the digest ACL id (base64(sha1("user:password"))), the
 * DIGEST-MD5 response of RFC 2831's example, JAAS Server sections, and a
 * whole server-side DIGEST-MD5 exchange with right and wrong passwords.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "digest_md5.h"
#include "sasl.h"

Test(digest, acl_digest)
{
    char *d = acl_digest("alice:secret", 12);
    cr_assert_str_eq(d, "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
    free(d);
}

Test(digest, rfc2831_example)
{
    char out[33];
    digest_md5_response("chris", "elwood.innosoft.com", "secret", "OA6MG9tEQGm2hh",
                        "OA6MHXh6VqTrRk", "00000001", "auth", "imap/elwood.innosoft.com", NULL,
                        0, out);
    cr_assert_str_eq(out, "d388dad90d4bbd760a152321f2143af7");
    digest_md5_response("chris", "elwood.innosoft.com", "secret", "OA6MG9tEQGm2hh",
                        "OA6MHXh6VqTrRk", "00000001", "auth", "imap/elwood.innosoft.com", NULL,
                        1, out);
    cr_assert_str_eq(out, "ea40f60335c427b5527b84dbabcdfffd");
}

static struct sasl_users *load_jaas(void)
{
    char path[] = "/tmp/ms-jaas-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("/* c */ Client { x required username=\"n\" password=\"p\"; };\n"
          "Server {\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n"
          "  // comment\n  user_admin=\"a-pw\"\n  user_kafka=\"k;pw\";\n};\n", f);
    fclose(f);
    struct sasl_users *u;
    cr_assert_eq(sasl_users_load(&u, path), 0);
    unlink(path);
    return u;
}

Test(digest, jaas_server_section)
{
    struct sasl_users *u = load_jaas();
    cr_assert_str_eq(sasl_users_get(u, "admin"), "a-pw");
    cr_assert_str_eq(sasl_users_get(u, "kafka"), "k;pw");
    cr_assert_null(sasl_users_get(u, "n"), "Client section entries are not users");
    sasl_users_free(u);
}

/* Runs the client side by hand; returns the server's verdict. */
static int exchange(struct sasl_users *u, const char *password)
{
    struct digest_md5 m = { 0 };
    uint8_t *out;
    size_t outlen;
    cr_assert_eq(digest_md5_step(&m, u, (const uint8_t *)"", 0, &out, &outlen), 0);
    char *nonce = strstr((char *)out, "nonce=\"") + 7;
    *strchr(nonce, '"') = 0;
    char n[64];
    snprintf(n, sizeof n, "%s", nonce);
    free(out);
    char resp[33], tok[512];
    digest_md5_response("admin", "zk-sasl-md5", password, n, "cn0nce", "00000001", "auth",
                        "zookeeper/zk-sasl-md5", NULL, 0, resp);
    snprintf(tok, sizeof tok,
             "charset=utf-8,username=\"admin\",realm=\"zk-sasl-md5\",nonce=\"%s\",nc=00000001,"
             "cnonce=\"cn0nce\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,"
             "response=%s,qop=auth", n, resp);
    int rc = digest_md5_step(&m, u, (const uint8_t *)tok, strlen(tok), &out, &outlen);
    if (rc == 1)
        cr_assert(strncmp((char *)out, "rspauth=", 8) == 0);
    free(out);
    digest_md5_free(&m);
    return rc;
}

Test(digest, server_exchange)
{
    struct sasl_users *u = load_jaas();
    cr_assert_eq(exchange(u, "a-pw"), 1);
    cr_assert_eq(exchange(u, "wrong"), -1);
    sasl_users_free(u);
}
