/*
 * jaas.h — Java JAAS login configuration files, as Kafka and ZooKeeper
 * read them (java.security.auth.login.config), and Kafka's inline
 * `sasl.jaas.config` values.
 *
 * A file is a list of sections:
 *
 *     KafkaServer {
 *         org.apache.kafka.common.security.plain.PlainLoginModule required
 *             username="admin" password="admin-secret" user_alice="alice-secret";
 *     };
 *
 * Each section holds login-module entries: a class name, a control flag
 * (required, requisite, sufficient, optional — any case) and key=value
 * options ending with ';'. Values are double-quoted (with Java's
 * backslash escapes) or bare words. // and slash-star comments are ignored,
 * as Java's StreamTokenizer-based parser does. An inline sasl.jaas.config
 * value is the entry list alone, without the section name and braces.
 *
 * The parser is strict: anything Java would refuse (missing flag, missing
 * ';' or '};', unknown flag, unterminated string or comment, '=' without a
 * value, a repeated section) is an error with its line number, so a typo
 * in a credentials file fails at startup instead of silently dropping users.
 */
#ifndef KAVKA_JAAS_H
#define KAVKA_JAAS_H

#include <stddef.h>

struct jaas_option {
    char *key;
    char *value;
};

struct jaas_entry {
    char *module;   /* login module class name */
    char *flag;     /* control flag, lower-cased */
    struct jaas_option *opts;
    size_t nopts;
};

struct jaas_section {
    char *name;
    struct jaas_entry *entries;
    size_t nentries;
};

struct jaas_config {
    struct jaas_section *sections;
    size_t nsections;
};

/* Parse a whole JAAS file's text. 0, or -1 with "line N: ..." in err;
 * on -1 `out` holds nothing to free. */
int jaas_parse(const char *text, struct jaas_config *out, char *err, size_t errlen);
/* jaas_parse() on a file's contents; err names the file. */
int jaas_parse_file(const char *path, struct jaas_config *out, char *err, size_t errlen);
/* Parse an inline sasl.jaas.config value into one section named `name`. */
int jaas_parse_inline(const char *text, const char *name, struct jaas_config *out, char *err,
                      size_t errlen);
void jaas_free(struct jaas_config *c);

/* The section called `name` (case-sensitive, as Java's), or NULL. */
const struct jaas_section *jaas_section(const struct jaas_config *c, const char *name);
/* The value of option `key` in an entry, or NULL. */
const char *jaas_option(const struct jaas_entry *e, const char *key);

/*
 * The JAAS file named by -Djava.security.auth.login.config=PATH inside a
 * JVM options string such as $KAFKA_OPTS (quotes around PATH allowed).
 * Writes PATH into out; 0 if found, -1 if not (or it does not fit).
 */
int jaas_path_from_jvm_opts(const char *opts, char *out, size_t outlen);

#endif
