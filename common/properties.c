/*
 * properties.c — Java .properties parser (see properties.h).
 *
 * The structure follows java.util.Properties: a line reader first joins
 * natural lines into logical lines (dropping comments, blank lines, leading
 * whitespace and continuation backslashes), then each logical line is split
 * into key and value and unescaped. Keeping the two steps apart is what makes
 * the odd corner cases (a '#' on a continuation line is text, a blank
 * continuation line ends the entry) come out the way Java does them.
 */
#include "properties.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- small growable byte buffer ---------- */

struct buf {
    char *p;
    size_t len;
    size_t cap;
};

static int buf_put(struct buf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 128;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return 0;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* ---------- pairs ---------- */

static struct prop *find(const struct props *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

/* Store key/value, taking ownership of both (freed here on failure). */
static int put_owned(struct props *p, char *key, char *value, int line)
{
    struct prop *e = find(p, key);
    if (e) {
        free(key);
        free(e->value);
        e->value = value;
        e->line = line;
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct prop *nv = realloc(p->v, cap * sizeof *nv);
        if (!nv) {
            free(key);
            free(value);
            return -1;
        }
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = (struct prop){ key, value, line };
    return 0;
}

int props_set(struct props *p, const char *key, const char *value)
{
    char *k = strdup(key);
    char *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    return put_owned(p, k, v, 0);
}

const char *props_get(const struct props *p, const char *key)
{
    const struct prop *e = find(p, key);
    return e ? e->value : NULL;
}

void props_free(struct props *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

/* ---------- unescaping ---------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Read the 4 hex digits after "\u" at s[*i]; advances *i. -1 if malformed. */
static long read_u4(const char *s, size_t n, size_t *i)
{
    if (*i + 4 > n)
        return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[*i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    *i += 4;
    return v;
}

static int put_utf8(struct buf *b, uint32_t cp)
{
    int rc = 0;
    if (cp < 0x80) {
        rc |= buf_put(b, (char)cp);
    } else if (cp < 0x800) {
        rc |= buf_put(b, (char)(0xc0 | (cp >> 6)));
        rc |= buf_put(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        rc |= buf_put(b, (char)(0xe0 | (cp >> 12)));
        rc |= buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        rc |= buf_put(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        rc |= buf_put(b, (char)(0xf0 | (cp >> 18)));
        rc |= buf_put(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        rc |= buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        rc |= buf_put(b, (char)(0x80 | (cp & 0x3f)));
    }
    return rc ? -1 : 0;
}

/* A \uXXXX escape whose digits start at s[*i]. A high surrogate followed by
 * an escaped low surrogate becomes one code point; a lone surrogate cannot
 * be written as UTF-8 and becomes U+FFFD. */
static int put_unicode_escape(struct buf *b, const char *s, size_t n, size_t *i,
                              const char **why)
{
    long u = read_u4(s, n, i);
    if (u < 0) {
        *why = "malformed \\uXXXX escape";
        return -1;
    }
    if (u == 0) {
        *why = "\\u0000 cannot be stored in a C string";
        return -1;
    }
    uint32_t cp = (uint32_t)u;
    if (cp >= 0xd800 && cp <= 0xdbff && *i + 6 <= n && s[*i] == '\\' && s[*i + 1] == 'u') {
        size_t j = *i + 2;
        long lo = read_u4(s, n, &j);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            *i = j;
        }
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd;
    if (put_utf8(b, cp) < 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

/* Unescape s[0..n) into a new heap string. NULL with *why set on error. */
static char *unescape(const char *s, size_t n, const char **why)
{
    struct buf b = { 0 };
    if (buf_put(&b, 'x') < 0) /* allocate so an empty result is "" */
        goto oom;
    b.len = 0;
    b.p[0] = '\0';
    for (size_t i = 0; i < n;) {
        char c = s[i++];
        if (c == '\\' && i < n) {
            c = s[i++];
            if (c == 'u') {
                if (put_unicode_escape(&b, s, n, &i, why) < 0) {
                    free(b.p);
                    return NULL;
                }
                continue;
            }
            c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
        }
        /* A lone trailing backslash cannot reach here from the line reader
         * (it would have been a continuation); it is kept literally. */
        if (buf_put(&b, c) < 0)
            goto oom;
    }
    return b.p;
oom:
    free(b.p);
    *why = "out of memory";
    return NULL;
}

/* ---------- one logical line -> key/value ---------- */

static int split_line(struct props *p, const char *l, size_t n, int line,
                      char *err, size_t errlen)
{
    size_t klen = 0, vstart = n;
    bool has_sep = false, esc = false;
    for (; klen < n; klen++) {
        char c = l[klen];
        if (!esc && (c == '=' || c == ':')) {
            vstart = klen + 1;
            has_sep = true;
            break;
        }
        if (!esc && is_blank(c)) {
            vstart = klen + 1;
            break;
        }
        esc = c == '\\' ? !esc : false;
    }
    /* Skip blanks, and at most one '='/':' if the key ended on a blank. */
    for (; vstart < n; vstart++) {
        char c = l[vstart];
        if (is_blank(c))
            continue;
        if (!has_sep && (c == '=' || c == ':')) {
            has_sep = true;
            continue;
        }
        break;
    }
    const char *why = NULL;
    char *key = unescape(l, klen, &why);
    char *value = key ? unescape(l + vstart, n - vstart, &why) : NULL;
    if (!key || !value) {
        free(key);
        seterr(err, errlen, "line %d: %s", line, why);
        return -1;
    }
    if (put_owned(p, key, value, line) < 0) {
        seterr(err, errlen, "line %d: out of memory", line);
        return -1;
    }
    return 0;
}

/* ---------- line reader ---------- */

/*
 * Reader state for one pass over the text. `line` counts natural lines;
 * `start_line` is where the logical line being collected began.
 */
struct reader {
    const char *s;
    size_t n;
    size_t i;
    int line;
};

/* Consume one end-of-line ("\n", "\r" or "\r\n") at r->i. */
static void eat_eol(struct reader *r)
{
    if (r->s[r->i] == '\r' && r->i + 1 < r->n && r->s[r->i + 1] == '\n')
        r->i++;
    r->i++;
    r->line++;
}

static bool at_eol(const struct reader *r)
{
    return r->s[r->i] == '\n' || r->s[r->i] == '\r';
}

/*
 * Collect the next logical line into lb. Returns 1 with a line, 0 at the end
 * of the text, -1 when out of memory.
 */
static int next_logical_line(struct reader *r, struct buf *lb, int *start_line)
{
    lb->len = 0;
    for (;;) {
        /* Start of a logical line: skip blanks, blank lines and comments. */
        while (r->i < r->n && is_blank(r->s[r->i]))
            r->i++;
        if (r->i >= r->n)
            return 0;
        if (at_eol(r)) {
            eat_eol(r);
            continue;
        }
        if (r->s[r->i] == '#' || r->s[r->i] == '!') {
            while (r->i < r->n && !at_eol(r))
                r->i++;
            if (r->i < r->n)
                eat_eol(r);
            continue;
        }
        break;
    }
    *start_line = r->line;
    bool esc = false;
    for (;;) {
        if (r->i >= r->n || at_eol(r)) {
            if (!esc)
                break;
            /* Odd backslash run: drop the last backslash and join the next
             * line without its leading blanks. At the end of the text the
             * backslash is simply dropped. */
            lb->len--;
            lb->p[lb->len] = '\0';
            esc = false;
            if (r->i >= r->n)
                break;
            eat_eol(r);
            while (r->i < r->n && is_blank(r->s[r->i]))
                r->i++;
            continue;
        }
        char c = r->s[r->i++];
        esc = c == '\\' ? !esc : false;
        if (buf_put(lb, c) < 0)
            return -1;
    }
    if (r->i < r->n)
        eat_eol(r);
    return 1;
}

int props_parse_string(struct props *p, const char *text, size_t len,
                       char *err, size_t errlen)
{
    if (memchr(text, '\0', len)) {
        seterr(err, errlen, "NUL byte in properties text");
        return -1;
    }
    struct reader r = { text, len, 0, 1 };
    struct buf lb = { 0 };
    int rc = 0, start_line = 0;
    for (;;) {
        int got = next_logical_line(&r, &lb, &start_line);
        if (got < 0) {
            seterr(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        if (got == 0)
            break;
        if (lb.len == 0) /* only a continuation backslash: Java skips it */
            continue;
        if (split_line(p, lb.p, lb.len, start_line, err, errlen) < 0) {
            rc = -1;
            break;
        }
    }
    free(lb.p);
    return rc;
}

int props_parse_file(struct props *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct buf b = { 0 };
    char chunk[4096];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        for (size_t i = 0; i < got && rc == 0; i++)
            rc = buf_put(&b, chunk[i]);
        if (rc < 0)
            break;
    }
    if (rc < 0 || ferror(f)) {
        seterr(err, errlen, "%s: %s", path, rc < 0 ? "out of memory" : "read error");
        fclose(f);
        free(b.p);
        return -1;
    }
    fclose(f);
    char msg[256];
    rc = props_parse_string(p, b.p ? b.p : "", b.len, msg, sizeof msg);
    if (rc < 0)
        seterr(err, errlen, "%s: %s", path, msg);
    free(b.p);
    return rc;
}
