/*
 * JAAS login configuration parsing (common/jaas.c): the files Kafka and
 * ZooKeeper users write, inline sasl.jaas.config values, and malformed
 * input that Java's parser refuses too.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jaas.h"

static struct jaas_config c;
static char err[512];

static void teardown(void) { jaas_free(&c); }

TestSuite(jaas, .fini = teardown);

static void parse_ok(const char *text)
{
    err[0] = 0;
    int rc = jaas_parse(text, &c, err, sizeof err);
    cr_assert_eq(rc, 0, "parse failed: %s", err);
}

/* Expect failure with `needle` in the message (and nothing left allocated). */
static void parse_bad(const char *text, const char *needle)
{
    err[0] = 0;
    int rc = jaas_parse(text, &c, err, sizeof err);
    cr_assert_eq(rc, -1, "parse of <<%s>> should fail", text);
    cr_assert_eq(c.nsections, 0);
    cr_assert_null(c.sections);
    cr_assert(strstr(err, needle), "error <<%s>> lacks <<%s>>", err, needle);
}

static const char users_file[] =
    "KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required "
    "username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" "
    "user_alice=\"alice-secret\"; };\n"
    "Client { org.apache.kafka.common.security.plain.PlainLoginModule required "
    "username=\"admin\" password=\"admin-secret\"; };\n";

Test(jaas, users_file_sections_and_options)
{
    parse_ok(users_file);
    cr_assert_eq(c.nsections, 2);
    const struct jaas_section *s = jaas_section(&c, "KafkaServer");
    cr_assert_not_null(s);
    cr_assert_eq(s->nentries, 1);
    const struct jaas_entry *e = &s->entries[0];
    cr_assert_str_eq(e->module, "org.apache.kafka.common.security.plain.PlainLoginModule");
    cr_assert_str_eq(e->flag, "required");
    cr_assert_eq(e->nopts, 4);
    cr_assert_str_eq(jaas_option(e, "username"), "admin");
    cr_assert_str_eq(jaas_option(e, "user_admin"), "admin-secret");
    cr_assert_str_eq(jaas_option(e, "user_alice"), "alice-secret");
    cr_assert_null(jaas_option(e, "user_bob"));
    s = jaas_section(&c, "Client");
    cr_assert_not_null(s);
    cr_assert_str_eq(jaas_option(&s->entries[0], "password"), "admin-secret");
    cr_assert_null(jaas_section(&c, "kafkaserver"), "section names are case-sensitive");
}

Test(jaas, several_modules_comments_and_bare_values)
{
    parse_ok("// a comment\n"
             "/* block\n comment */ Server {\n"
             "  org.apache.zookeeper.server.auth.DigestLoginModule Required\n"
             "    user_super=\"s3cr3t\" debug=true;  // trailing\n"
             "  org.apache.kafka.common.security.scram.ScramLoginModule optional;\n"
             "};\n");
    const struct jaas_section *s = jaas_section(&c, "Server");
    cr_assert_not_null(s);
    cr_assert_eq(s->nentries, 2);
    cr_assert_str_eq(s->entries[0].flag, "required", "flags are case-insensitive, kept lower-case");
    cr_assert_str_eq(jaas_option(&s->entries[0], "debug"), "true");
    cr_assert_str_eq(s->entries[1].module, "org.apache.kafka.common.security.scram.ScramLoginModule");
    cr_assert_eq(s->entries[1].nopts, 0);
}

Test(jaas, quoted_values_keep_special_characters_and_escapes)
{
    parse_ok("KafkaServer { M required user_a=\"p;w{d}=// /* x\" user_b=\"q\\\"uo\\\\te\" "
             "user_c=\"\"; };");
    const struct jaas_entry *e = &jaas_section(&c, "KafkaServer")->entries[0];
    cr_assert_str_eq(jaas_option(e, "user_a"), "p;w{d}=// /* x");
    cr_assert_str_eq(jaas_option(e, "user_b"), "q\"uo\\te");
    cr_assert_str_eq(jaas_option(e, "user_c"), "");
}

Test(jaas, empty_file_and_empty_section)
{
    parse_ok("  // nothing\n");
    cr_assert_eq(c.nsections, 0);
    jaas_free(&c);
    parse_ok("KafkaServer { };");
    cr_assert_eq(jaas_section(&c, "KafkaServer")->nentries, 0);
}

Test(jaas, malformed_missing_flag)
{
    parse_bad("KafkaServer { org.Module user_a=\"x\"; };", "control flag");
}

Test(jaas, malformed_unknown_flag)
{
    parse_bad("KafkaServer {\n org.Module mandatory user_a=\"x\"; };", "line 2: login module "
              "org.Module: invalid control flag 'mandatory'");
}

Test(jaas, malformed_missing_semicolon_after_entry)
{
    parse_bad("KafkaServer { org.Module required user_a=\"x\" };", "expected ';' to end the entry");
}

Test(jaas, malformed_missing_semicolon_after_section)
{
    parse_bad("KafkaServer { org.Module required; }\nClient { M required; };",
              "line 2: section KafkaServer: expected ';' after '}'");
}

Test(jaas, malformed_unclosed_section)
{
    parse_bad("KafkaServer { org.Module required user_a=\"x\";\n", "expected a login module or '}'");
}

Test(jaas, malformed_missing_brace)
{
    parse_bad("KafkaServer org.Module required;", "expected '{'");
}

Test(jaas, malformed_value_missing)
{
    parse_bad("KafkaServer { M required user_a=; };", "option 'user_a': expected a value");
    parse_bad("KafkaServer { M required user_a \"x\"; };", "option 'user_a': expected '='");
}

Test(jaas, malformed_unterminated_string_does_not_echo_it)
{
    parse_bad("KafkaServer {\n M required user_a=\"topsecret; };\n", "line 2: unterminated quoted string");
    cr_assert_null(strstr(err, "topsecret"), "error messages must not show values: %s", err);
}

Test(jaas, malformed_unterminated_comment)
{
    parse_bad("KafkaServer { M required; };\n/* never closed", "line 2: unterminated comment");
}

Test(jaas, malformed_duplicate_section)
{
    parse_bad("A { M required; };\nA { M required; };", "line 2: section A appears twice");
}

Test(jaas, malformed_stray_tokens)
{
    parse_bad("; KafkaServer { M required; };", "expected a section name");
    parse_bad("KafkaServer { M required; }; =", "expected a section name");
}

Test(jaas, inline_sasl_jaas_config)
{
    err[0] = 0;
    int rc = jaas_parse_inline("org.apache.kafka.common.security.plain.PlainLoginModule required "
                               "username=\"admin\" password=\"admin-secret\" user_bob=\"b\";",
                               "KafkaServer", &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    const struct jaas_section *s = jaas_section(&c, "KafkaServer");
    cr_assert_not_null(s);
    cr_assert_eq(s->nentries, 1);
    cr_assert_str_eq(jaas_option(&s->entries[0], "user_bob"), "b");
}

Test(jaas, inline_needs_exactly_one_module)
{
    cr_assert_eq(jaas_parse_inline("A required; B required;", "X", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "exactly one login module"), "%s", err);
    cr_assert_eq(jaas_parse_inline("", "X", &c, err, sizeof err), -1);
    cr_assert_eq(jaas_parse_inline("A required user_a=\"x\"", "X", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "expected ';'"), "%s", err);
    cr_assert_eq(jaas_parse_inline("X { A required; };", "X", &c, err, sizeof err), -1);
    cr_assert_eq(c.nsections, 0);
}

Test(jaas, parse_file_names_the_file)
{
    char path[] = "/tmp/kavka-jaas-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(users_file, f);
    fclose(f);
    cr_assert_eq(jaas_parse_file(path, &c, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(jaas_section(&c, "KafkaServer"));
    jaas_free(&c);
    f = fopen(path, "w");
    fputs("KafkaServer { M required", f);
    fclose(f);
    cr_assert_eq(jaas_parse_file(path, &c, err, sizeof err), -1);
    cr_assert(strstr(err, path) && strstr(err, "line 1"), "%s", err);
    unlink(path);
    cr_assert_eq(jaas_parse_file(path, &c, err, sizeof err), -1);
    cr_assert(strstr(err, "No such file"), "%s", err);
}

Test(jaas, path_from_kafka_opts)
{
    char p[256];
    cr_assert_eq(jaas_path_from_jvm_opts("-Djava.security.auth.login.config=/etc/kafka/jaas.conf",
                                         p, sizeof p), 0);
    cr_assert_str_eq(p, "/etc/kafka/jaas.conf");
    cr_assert_eq(jaas_path_from_jvm_opts("-Xmx1g -Djava.security.auth.login.config=\"/a b/j.conf\" "
                                         "-Dfoo=bar", p, sizeof p), 0);
    cr_assert_str_eq(p, "/a b/j.conf");
    cr_assert_eq(jaas_path_from_jvm_opts("-Djava.security.auth.login.config=/one "
                                         "-Djava.security.auth.login.config=/two", p, sizeof p), 0);
    cr_assert_str_eq(p, "/two", "the last -D wins");
    cr_assert_eq(jaas_path_from_jvm_opts("-Xmx1g", p, sizeof p), -1);
    cr_assert_eq(jaas_path_from_jvm_opts(NULL, p, sizeof p), -1);
    cr_assert_eq(jaas_path_from_jvm_opts("-Djava.security.auth.login.config=", p, sizeof p), -1);
    cr_assert_eq(jaas_path_from_jvm_opts("-Xjava.security.auth.login.config=/x", p, sizeof p), -1);
    cr_assert_eq(jaas_path_from_jvm_opts("-Djava.security.auth.login.config=/very/long", p, 5), -1);
}
