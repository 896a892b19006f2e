/*
 * test_scram.c — SCRAM-SHA-256/512 (broker/sasl_scram.c): RFC 7677's test
 * vector, a SHA-512 exchange computed independently (Python's hashlib and
 * hmac), the credential text form, and refusals.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "sasl_scram.h"
#include "scram_store.h"

#define CNONCE "rOprNGfwEbeRWgbNEkqO"
#define SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define SALT_B64 "W22ZaJ0SNY7soEsUEjb6gQ=="

static struct scram_cred the_cred;
static int the_mech;

static const struct scram_cred *lookup(const char *user, int mech, void *arg)
{
    (void)arg;
    return strcmp(user, "user") == 0 && mech == the_mech ? &the_cred : NULL;
}

static void make_cred(int mech, const char *pw)
{
    uint8_t salt[64], salted[64];
    int sl = scram_b64_decode(SALT_B64, strlen(SALT_B64), salt, sizeof salt);
    cr_assert_eq(sl, 16);
    cr_assert_eq(scram_salted_password(mech, pw, strlen(pw), salt, (size_t)sl, 4096, salted), 0);
    cr_assert_eq(scram_cred_from_salted(mech, salted, scram_hash_len(mech), salt, (size_t)sl,
                                        4096, &the_cred), 0);
    the_mech = mech;
}

/* Run the exchange; returns the final step's result and its output in out. */
static int exchange(int mech, const char *first, const char *final, char *out, char *user)
{
    struct scram_server *s = scram_server_new(mech, lookup, NULL);
    scram_server_set_nonce(s, SNONCE);
    char buf[1024];
    size_t len;
    const char *msg;
    int rc = scram_server_step(s, (const uint8_t *)first, strlen(first), buf, sizeof buf, &len,
                               user, 256, &msg);
    cr_assert_eq(rc, SCRAM_CONTINUE);
    cr_assert_str_eq(buf, "r=" CNONCE SNONCE ",s=" SALT_B64 ",i=4096");
    rc = scram_server_step(s, (const uint8_t *)final, strlen(final), out, 1024, &len, user, 256,
                           &msg);
    if (rc == SCRAM_FAIL)
        cr_assert(msg && strstr(msg, "Authentication failed"));
    scram_server_free(s);
    return rc;
}

Test(scram, rfc7677_sha256_vector)
{
    make_cred(SCRAM_SHA_256, "pencil");
    char out[1024], user[256] = "";
    int rc = exchange(SCRAM_SHA_256, "n,,n=user,r=" CNONCE,
                      "c=biws,r=" CNONCE SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                      out, user);
    cr_assert_eq(rc, SCRAM_DONE);
    cr_assert_str_eq(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    cr_assert_str_eq(user, "user");
}

Test(scram, sha512_exchange)
{
    make_cred(SCRAM_SHA_512, "pencil");
    char out[1024], user[256] = "";
    int rc = exchange(SCRAM_SHA_512, "n,,n=user,r=" CNONCE,
                      "c=biws,r=" CNONCE SNONCE ",p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+"
                      "3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==",
                      out, user);
    cr_assert_eq(rc, SCRAM_DONE);
    cr_assert_str_eq(out, "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+"
                          "5ZxXnJq199RVG2rR7N7Zw==");
}

Test(scram, stored_and_server_keys)
{
    make_cred(SCRAM_SHA_256, "pencil");
    char text[512];
    cr_assert_eq(scram_cred_format(SCRAM_SHA_256, &the_cred, text, sizeof text), 0);
    cr_assert_str_eq(text, "salt=" SALT_B64 ",stored_key=WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
                           ",server_key=wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=,iterations=4096");
    struct scram_cred back;
    cr_assert_eq(scram_cred_parse(SCRAM_SHA_256, text, &back), 0);
    cr_assert_eq(memcmp(&back.stored_key, &the_cred.stored_key, 32), 0);
    cr_assert_eq(memcmp(&back.server_key, &the_cred.server_key, 32), 0);
    cr_assert_eq(back.iterations, 4096);
    cr_assert_eq(back.salt_len, 16);
    cr_assert_neq(scram_cred_parse(SCRAM_SHA_512, text, &back), 0); /* key lengths */
    cr_assert_neq(scram_cred_parse(SCRAM_SHA_256, "salt=AA==,iterations=4096", &back), 0);
    cr_assert_neq(scram_cred_parse(SCRAM_SHA_256, "garbage", &back), 0);
}

Test(scram, wrong_password_refused)
{
    make_cred(SCRAM_SHA_256, "not-pencil");
    char out[1024], user[256] = "";
    int rc = exchange(SCRAM_SHA_256, "n,,n=user,r=" CNONCE,
                      "c=biws,r=" CNONCE SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                      out, user);
    cr_assert_eq(rc, SCRAM_FAIL);
    cr_assert_str_eq(out, "");
}

Test(scram, tampered_messages_refused)
{
    make_cred(SCRAM_SHA_256, "pencil");
    char out[1024], user[256];
    /* wrong nonce, wrong channel binding, proof one bit off */
    cr_assert_eq(exchange(SCRAM_SHA_256, "n,,n=user,r=" CNONCE,
                          "c=biws,r=" CNONCE "x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                          out, user), SCRAM_FAIL);
    cr_assert_eq(exchange(SCRAM_SHA_256, "n,,n=user,r=" CNONCE,
                          "c=eSws,r=" CNONCE SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                          out, user), SCRAM_FAIL);
    cr_assert_eq(exchange(SCRAM_SHA_256, "n,,n=user,r=" CNONCE,
                          "c=biws,r=" CNONCE SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
                          out, user), SCRAM_FAIL);
}

Test(scram, unknown_user_fails_at_the_proof)
{
    make_cred(SCRAM_SHA_256, "pencil");
    struct scram_server *s = scram_server_new(SCRAM_SHA_256, lookup, NULL);
    char buf[1024], user[256];
    size_t len;
    const char *msg;
    const char *first = "n,,n=nobody,r=abc";
    cr_assert_eq(scram_server_step(s, (const uint8_t *)first, strlen(first), buf, sizeof buf,
                                   &len, user, sizeof user, &msg), SCRAM_CONTINUE);
    cr_assert(strstr(buf, ",i=4096"));
    scram_server_free(s);
    /* malformed first messages */
    const char *bad[] = { "p=tls-unique,,n=user,r=abc", "n,,r=abc", "x,,n=user,r=abc",
                          "n,,n=us=er,r=abc", "n,a=other,n=user,r=abc", "n,,n=user,r=a,tokenauth=true" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = scram_server_new(SCRAM_SHA_256, lookup, NULL);
        cr_assert_eq(scram_server_step(s, (const uint8_t *)bad[i], strlen(bad[i]), buf, sizeof buf,
                                       &len, user, sizeof user, &msg), SCRAM_FAIL, "%s", bad[i]);
        scram_server_free(s);
    }
}

Test(scram, escaped_names_and_sanitizer)
{
    char out[64];
    scram_sanitize("alice", out, sizeof out);
    cr_assert_str_eq(out, "alice");
    scram_sanitize("a b*c@d", out, sizeof out);
    cr_assert_str_eq(out, "a%20b%2Ac%40d");
    char back[64];
    cr_assert_eq(scram_desanitize(out, back, sizeof back), 0);
    cr_assert_str_eq(back, "a b*c@d");
}
