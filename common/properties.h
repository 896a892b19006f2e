/*
 * properties.h — a parser for Java .properties files.
 *
 * Kafka reads server.properties and ZooKeeper reads zoo.cfg with
 * java.util.Properties.load(), so both daemons share this one parser and
 * accept the same files their Java counterparts do:
 *
 *   - `key=value`, `key:value` and `key value` (the first unescaped '=', ':'
 *     or whitespace ends the key; whitespace around the separator is skipped);
 *   - comment lines whose first non-blank character is '#' or '!';
 *   - leading whitespace of every line is ignored, trailing whitespace of a
 *     value is kept (Kafka's ConfigDef trims values, the parser does not);
 *   - a line ending in an odd number of backslashes continues on the next
 *     line, whose leading whitespace is dropped;
 *   - escapes \t \n \r \f \\ and \uXXXX (UTF-16 surrogate pairs are combined
 *     and written as UTF-8); any other escaped character stands for itself;
 *   - a key given twice keeps its first position and takes the last value.
 *
 * One difference from Java: bytes above 0x7f pass through unchanged (so
 * UTF-8 files work) instead of being read as ISO-8859-1.
 *
 * A `struct props` owns every key and value string in it. Zero-initialise it
 * (`struct props p = {0};`), fill it with any number of parse/set calls, and
 * release it with props_free().
 */
#ifndef KAVKA_PROPERTIES_H
#define KAVKA_PROPERTIES_H

#include <stddef.h>

struct prop {
    char *key;
    char *value;
    int line;       /* line where the key was last set; 0 if set by props_set */
};

struct props {
    struct prop *v;  /* in order of first appearance */
    size_t n;
    size_t cap;
};

/* Parse `len` bytes of properties text into `p` (adding to what it holds).
 * Returns 0, or -1 with a message naming the line in err. On error `p` keeps
 * the pairs parsed before the bad line. */
__attribute__((warn_unused_result))
int props_parse_string(struct props *p, const char *text, size_t len,
                       char *err, size_t errlen);

/* Read and parse a whole file. Returns 0, or -1 with a message naming the
 * path (and line, for a syntax error) in err. */
__attribute__((warn_unused_result))
int props_parse_file(struct props *p, const char *path, char *err, size_t errlen);

/* Set key to value (copies both). Returns 0, or -1 when out of memory. */
__attribute__((warn_unused_result))
int props_set(struct props *p, const char *key, const char *value);

/* The value of key, or NULL when absent. Points into `p`. */
const char *props_get(const struct props *p, const char *key);

void props_free(struct props *p);

#endif
