/*
 * Java .properties parsing: each case is what java.util.Properties.load()
 * yields for the same text.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "properties.h"

static struct props p;
static char err[256];

static void teardown(void) { props_free(&p); }

TestSuite(properties, .fini = teardown);

/* Parse `text`, expecting success. */
static void parse_ok(const char *text)
{
    err[0] = '\0';
    int rc = props_parse_string(&p, text, strlen(text), err, sizeof err);
    cr_assert_eq(rc, 0, "parse failed: %s", err);
}

static void expect(const char *key, const char *value)
{
    const char *v = props_get(&p, key);
    cr_assert_not_null(v, "key '%s' missing", key);
    cr_assert_str_eq(v, value, "key '%s'", key);
}

Test(properties, three_separators)
{
    parse_ok("a=1\nb:2\nc 3\nd\t4\ne = 5\nf : 6\ng   7\n");
    cr_assert_eq(p.n, 7);
    expect("a", "1");
    expect("b", "2");
    expect("c", "3");
    expect("d", "4");
    expect("e", "5");
    expect("f", "6");
    expect("g", "7");
}

Test(properties, blank_then_separator_takes_one_separator_only)
{
    /* "k = =v": blanks, one '=', blanks, then the value starts at '='. */
    parse_ok("k = =v\nm :: x\n");
    expect("k", "=v");
    expect("m", ": x");
}

Test(properties, value_keeps_separators_and_trailing_blanks)
{
    parse_ok("url=http://h:80/x?a=b  \n");
    expect("url", "http://h:80/x?a=b  ");
}

Test(properties, comments_and_blank_lines)
{
    parse_ok("# c1\n! c2\n   # indented comment\n\n   \t\nk=v # not a comment\n");
    cr_assert_eq(p.n, 1);
    expect("k", "v # not a comment");
}

Test(properties, leading_whitespace_trimmed)
{
    parse_ok("   \t\fkey=value\n");
    expect("key", "value");
}

Test(properties, key_without_value_and_empty_key)
{
    parse_ok("lonely\nempty=\n=novalue\n");
    expect("lonely", "");
    expect("empty", "");
    expect("", "novalue");
}

Test(properties, continuation_drops_leading_blanks)
{
    parse_ok("list=a,\\\n    b,\\\n\t  c\nnext=1\n");
    expect("list", "a,b,c");
    expect("next", "1");
    cr_assert_eq(p.v[0].line, 1);
    cr_assert_eq(p.v[1].line, 4);
}

Test(properties, even_backslashes_do_not_continue)
{
    parse_ok("a=x\\\\\nb=y\n");
    expect("a", "x\\");
    expect("b", "y");
}

Test(properties, hash_on_continuation_line_is_text)
{
    parse_ok("k=v\\\n#tail\n");
    expect("k", "v#tail");
    cr_assert_eq(p.n, 1);
}

Test(properties, comment_does_not_continue)
{
    parse_ok("# comment \\\nk=v\n");
    expect("k", "v");
    cr_assert_eq(p.n, 1);
}

Test(properties, blank_continuation_line_ends_entry)
{
    parse_ok("k=v\\\n   \nm=w\n");
    expect("k", "v");
    expect("m", "w");
}

Test(properties, continuation_at_end_of_text)
{
    parse_ok("k=v\\");
    expect("k", "v");
}

Test(properties, lone_continuation_line_is_skipped)
{
    parse_ok("\\\n\nk=v\n");
    cr_assert_eq(p.n, 1);
    expect("k", "v");
}

Test(properties, line_endings)
{
    parse_ok("a=1\r\nb=2\rc=3\nd=4\\\r\n  5");
    expect("a", "1");
    expect("b", "2");
    expect("c", "3");
    expect("d", "45");
}

Test(properties, escapes)
{
    parse_ok("k=a\\tb\\nc\\rd\\fe\\\\f\\qg\\=\\:\n");
    expect("k", "a\tb\nc\rd\fe\\fqg=:");
}

Test(properties, escaped_separators_in_key)
{
    parse_ok("a\\=b\\:c\\ d=v\n");
    expect("a=b:c d", "v");
}

Test(properties, unicode_escapes_become_utf8)
{
    parse_ok("e=\\u00e9\\u20AC\\u0041\nsmile=\\uD83D\\uDE00\nlone=\\uD800x\n");
    expect("e", "\xc3\xa9\xe2\x82\xac" "A");
    expect("smile", "\xf0\x9f\x98\x80");
    expect("lone", "\xef\xbf\xbdx"); /* U+FFFD */
}

Test(properties, malformed_unicode_escape_is_an_error)
{
    const char *t = "ok=1\nbad=\\u12g4\n";
    int rc = props_parse_string(&p, t, strlen(t), err, sizeof err);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, "line 2") != NULL, "err: %s", err);
    cr_assert(strstr(err, "\\uXXXX") != NULL, "err: %s", err);
    expect("ok", "1"); /* pairs before the bad line are kept */

    const char *t2 = "short=\\u12";
    cr_assert_eq(props_parse_string(&p, t2, strlen(t2), err, sizeof err), -1);
}

Test(properties, nul_is_rejected)
{
    const char t[] = "a=b\0c";
    cr_assert_eq(props_parse_string(&p, t, sizeof t - 1, err, sizeof err), -1);
    const char *t2 = "z=\\u0000";
    cr_assert_eq(props_parse_string(&p, t2, strlen(t2), err, sizeof err), -1);
}

Test(properties, duplicate_key_keeps_position_takes_last_value)
{
    parse_ok("a=1\nb=2\na=3\n");
    cr_assert_eq(p.n, 2);
    cr_assert_str_eq(p.v[0].key, "a");
    cr_assert_str_eq(p.v[0].value, "3");
    cr_assert_eq(p.v[0].line, 3);
    cr_assert_str_eq(p.v[1].key, "b");
}

Test(properties, set_and_get)
{
    parse_ok("a=1\n");
    cr_assert_eq(props_set(&p, "a", "2"), 0);
    cr_assert_eq(props_set(&p, "new", "x"), 0);
    expect("a", "2");
    expect("new", "x");
    cr_assert_null(props_get(&p, "missing"));
    cr_assert_eq(p.v[0].line, 0);
}

Test(properties, empty_text)
{
    parse_ok("");
    cr_assert_eq(p.n, 0);
    parse_ok("\n\n# only comments\n");
    cr_assert_eq(p.n, 0);
}

Test(properties, file_round_trip)
{
    char path[] = "/tmp/kavka-props-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *text = "# zoo.cfg\ntickTime=2000\ndataDir=/var/zk\nserver.1=h1:2888:3888\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = props_parse_file(&p, path, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    expect("tickTime", "2000");
    expect("dataDir", "/var/zk");
    expect("server.1", "h1:2888:3888");
}

Test(properties, missing_file_names_path)
{
    int rc = props_parse_file(&p, "/nonexistent/kavka.properties", err, sizeof err);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, "/nonexistent/kavka.properties") != NULL, "err: %s", err);
}

Test(properties, long_lines)
{
    size_t n = 100000;
    char *t = malloc(n + 8);
    memcpy(t, "k=", 2);
    memset(t + 2, 'x', n);
    t[n + 2] = '\0';
    parse_ok(t);
    cr_assert_eq(strlen(props_get(&p, "k")), n);
    free(t);
}
