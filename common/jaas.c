/*
 * jaas.c — a strict parser for JAAS login configuration (see jaas.h).
 *
 * A small tokenizer (words, quoted strings, { } ; =, comments skipped)
 * feeds a recursive-descent parser for
 *     file    := section*
 *     section := WORD '{' entry* '}' ';'
 *     entry   := WORD WORD (WORD '=' (WORD | STRING))* ';'
 * Error messages never quote option values: they may be passwords.
 */
#include "jaas.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tok_kind { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_EQ, T_ERR };

struct lexer {
    const char *p;
    int line;
    /* current token */
    enum tok_kind kind;
    char *text;       /* T_WORD / T_STRING: malloc'd */
    int tok_line;
    char *err;
    size_t errlen;
    bool failed;
};

static void fail(struct lexer *lx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct lexer *lx, int line, const char *fmt, ...)
{
    if (lx->failed)
        return;
    lx->failed = true;
    int n = snprintf(lx->err, lx->errlen, "line %d: ", line);
    if (n < 0 || (size_t)n >= lx->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Skip blanks and comments. False on an unterminated comment. */
static bool skip_space(struct lexer *lx)
{
    for (;;) {
        while (*lx->p && isspace((unsigned char)*lx->p)) {
            if (*lx->p == '\n')
                lx->line++;
            lx->p++;
        }
        if (lx->p[0] == '/' && lx->p[1] == '/') {
            while (*lx->p && *lx->p != '\n')
                lx->p++;
        } else if (lx->p[0] == '/' && lx->p[1] == '*') {
            int start = lx->line;
            const char *q = lx->p + 2;
            for (; *q && !(q[0] == '*' && q[1] == '/'); q++)
                if (*q == '\n')
                    lx->line++;
            if (!*q) {
                fail(lx, start, "unterminated comment");
                return false;
            }
            lx->p = q + 2;
        } else {
            return true;
        }
    }
}

static bool word_char(char c)
{
    return c && !isspace((unsigned char)c) && !strchr("{};=\"", c);
}

static char unescape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'b': return '\b';
    case 'f': return '\f';
    default: return c; /* \" \\ and anything else stand for themselves */
    }
}

static char *lex_string(struct lexer *lx)
{
    const char *q = ++lx->p;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    while (s && *q && *q != '"' && *q != '\n') {
        char c = *q++;
        if (c == '\\' && *q && *q != '\n')
            c = unescape(*q++);
        if (n + 1 >= cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) {
                free(s);
                s = NULL;
                break;
            }
            s = t;
        }
        s[n++] = c;
    }
    if (!s) {
        fail(lx, lx->line, "out of memory");
        return NULL;
    }
    if (*q != '"') {
        free(s);
        fail(lx, lx->line, "unterminated quoted string");
        return NULL;
    }
    s[n] = 0;
    lx->p = q + 1;
    return s;
}

/* Advance to the next token. */
static void next(struct lexer *lx)
{
    free(lx->text);
    lx->text = NULL;
    if (lx->failed || !skip_space(lx)) {
        lx->kind = T_ERR;
        return;
    }
    lx->tok_line = lx->line;
    char c = *lx->p;
    switch (c) {
    case 0: lx->kind = T_EOF; return;
    case '{': lx->kind = T_LBRACE; lx->p++; return;
    case '}': lx->kind = T_RBRACE; lx->p++; return;
    case ';': lx->kind = T_SEMI; lx->p++; return;
    case '=': lx->kind = T_EQ; lx->p++; return;
    case '"':
        lx->text = lex_string(lx);
        lx->kind = lx->text ? T_STRING : T_ERR;
        return;
    default: break;
    }
    const char *s = lx->p;
    while (word_char(*lx->p) && !(lx->p[0] == '/' && (lx->p[1] == '/' || lx->p[1] == '*')))
        lx->p++;
    lx->text = strndup(s, (size_t)(lx->p - s));
    lx->kind = lx->text ? T_WORD : T_ERR;
    if (!lx->text)
        fail(lx, lx->line, "out of memory");
}

static const char *tok_name(enum tok_kind k)
{
    static const char *const names[] = { "end of file", "a word", "a quoted string", "'{'",
                                         "'}'", "';'", "'='", "an error" };
    return names[k];
}

/* Take the current word (ownership moves to the caller) and advance. */
static char *take_word(struct lexer *lx)
{
    char *w = lx->text;
    lx->text = NULL;
    next(lx);
    return w;
}

static bool valid_flag(const char *f)
{
    static const char *const flags[] = { "required", "requisite", "sufficient", "optional" };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcasecmp(f, flags[i]) == 0)
            return true;
    return false;
}

static void entry_free(struct jaas_entry *e)
{
    for (size_t i = 0; i < e->nopts; i++) {
        free(e->opts[i].key);
        free(e->opts[i].value);
    }
    free(e->opts);
    free(e->module);
    free(e->flag);
}

static int add_option(struct lexer *lx, struct jaas_entry *e, char *key, char *value)
{
    struct jaas_option *v = realloc(e->opts, (e->nopts + 1) * sizeof *v);
    if (!v) {
        free(key);
        free(value);
        fail(lx, lx->tok_line, "out of memory");
        return -1;
    }
    e->opts = v;
    v[e->nopts].key = key;
    v[e->nopts].value = value;
    e->nopts++;
    return 0;
}

/* entry := WORD WORD (WORD '=' (WORD | STRING))* ';'  — current token is the class. */
static int parse_entry(struct lexer *lx, struct jaas_entry *e)
{
    memset(e, 0, sizeof *e);
    e->module = take_word(lx);
    if (lx->kind != T_WORD) {
        fail(lx, lx->tok_line, "login module %s: expected a control flag, found %s",
             e->module, tok_name(lx->kind));
        return -1;
    }
    if (!valid_flag(lx->text)) {
        fail(lx, lx->tok_line, "login module %s: invalid control flag '%s' (expected "
             "required, requisite, sufficient or optional)", e->module, lx->text);
        return -1;
    }
    e->flag = take_word(lx);
    for (char *f = e->flag; *f; f++)
        *f = (char)tolower((unsigned char)*f);
    while (lx->kind == T_WORD) {
        int line = lx->tok_line;
        char *key = take_word(lx);
        if (lx->kind != T_EQ) {
            fail(lx, line, "option '%s': expected '=', found %s", key, tok_name(lx->kind));
            free(key);
            return -1;
        }
        next(lx);
        if (lx->kind != T_WORD && lx->kind != T_STRING) {
            fail(lx, line, "option '%s': expected a value, found %s", key, tok_name(lx->kind));
            free(key);
            return -1;
        }
        if (add_option(lx, e, key, take_word(lx)) != 0)
            return -1;
    }
    if (lx->kind != T_SEMI) {
        fail(lx, lx->tok_line, "login module %s: expected ';' to end the entry, found %s",
             e->module, tok_name(lx->kind));
        return -1;
    }
    next(lx);
    return 0;
}

/* Entries until `end` (T_RBRACE in a file, T_EOF inline). */
static int parse_entries(struct lexer *lx, struct jaas_section *s, enum tok_kind end)
{
    while (lx->kind == T_WORD) {
        struct jaas_entry *v = realloc(s->entries, (s->nentries + 1) * sizeof *v);
        if (!v) {
            fail(lx, lx->tok_line, "out of memory");
            return -1;
        }
        s->entries = v;
        int rc = parse_entry(lx, &v[s->nentries]);
        s->nentries++; /* counted even on failure so jaas_free() frees it */
        if (rc != 0)
            return -1;
    }
    if (lx->kind != end) {
        fail(lx, lx->tok_line, "section %s: expected a login module or %s, found %s",
             s->name, tok_name(end), tok_name(lx->kind));
        return -1;
    }
    return 0;
}

static struct jaas_section *new_section(struct lexer *lx, struct jaas_config *c, char *name)
{
    struct jaas_section *v = realloc(c->sections, (c->nsections + 1) * sizeof *v);
    if (!v) {
        free(name);
        fail(lx, lx->tok_line, "out of memory");
        return NULL;
    }
    c->sections = v;
    struct jaas_section *s = &v[c->nsections++];
    memset(s, 0, sizeof *s);
    s->name = name;
    return s;
}

/* section := WORD '{' entry* '}' ';' — current token is the name. */
static int parse_section(struct lexer *lx, struct jaas_config *c)
{
    int line = lx->tok_line;
    if (jaas_section(c, lx->text)) {
        fail(lx, line, "section %s appears twice", lx->text);
        return -1;
    }
    struct jaas_section *s = new_section(lx, c, take_word(lx));
    if (!s)
        return -1;
    if (lx->kind != T_LBRACE) {
        fail(lx, lx->tok_line, "section %s: expected '{', found %s", s->name, tok_name(lx->kind));
        return -1;
    }
    next(lx);
    if (parse_entries(lx, s, T_RBRACE) != 0)
        return -1;
    next(lx);
    if (lx->kind != T_SEMI) {
        fail(lx, lx->tok_line, "section %s: expected ';' after '}', found %s", s->name,
             tok_name(lx->kind));
        return -1;
    }
    next(lx);
    return 0;
}

static void lexer_init(struct lexer *lx, const char *text, char *err, size_t errlen)
{
    memset(lx, 0, sizeof *lx);
    lx->p = text;
    lx->line = 1;
    lx->err = err;
    lx->errlen = errlen;
    next(lx);
}

int jaas_parse(const char *text, struct jaas_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct lexer lx;
    lexer_init(&lx, text, err, errlen);
    while (lx.kind == T_WORD)
        if (parse_section(&lx, out) != 0)
            break;
    if (!lx.failed && lx.kind != T_EOF)
        fail(&lx, lx.tok_line, "expected a section name, found %s", tok_name(lx.kind));
    free(lx.text);
    if (lx.failed) {
        jaas_free(out);
        return -1;
    }
    return 0;
}

int jaas_parse_inline(const char *text, const char *name, struct jaas_config *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct lexer lx;
    lexer_init(&lx, text, err, errlen);
    char *n = strdup(name);
    struct jaas_section *s = n ? new_section(&lx, out, n) : NULL;
    if (!n)
        fail(&lx, 1, "out of memory");
    if (s && parse_entries(&lx, s, T_EOF) == 0 && s->nentries != 1)
        /* Kafka's JaasConfig: "must contain exactly one login module" */
        fail(&lx, 1, "sasl.jaas.config must contain exactly one login module, found %zu",
             s->nentries);
    free(lx.text);
    if (lx.failed) {
        jaas_free(out);
        return -1;
    }
    return 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n + 1 == cap) {
            char *t = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!t) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = t;
            cap *= 2;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        snprintf(err, errlen, "%s: cannot read (too large or I/O error)", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (strlen(buf) != n) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        free(buf);
        return NULL;
    }
    return buf;
}

int jaas_parse_file(const char *path, struct jaas_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *text = read_file(path, err, errlen);
    if (!text)
        return -1;
    char msg[400];
    int rc = jaas_parse(text, out, msg, sizeof msg);
    free(text);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, msg);
    return rc;
}

void jaas_free(struct jaas_config *c)
{
    for (size_t i = 0; i < c->nsections; i++) {
        struct jaas_section *s = &c->sections[i];
        for (size_t j = 0; j < s->nentries; j++)
            entry_free(&s->entries[j]);
        free(s->entries);
        free(s->name);
    }
    free(c->sections);
    memset(c, 0, sizeof *c);
}

const struct jaas_section *jaas_section(const struct jaas_config *c, const char *name)
{
    for (size_t i = 0; i < c->nsections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    return NULL;
}

const char *jaas_option(const struct jaas_entry *e, const char *key)
{
    for (size_t i = 0; i < e->nopts; i++)
        if (strcmp(e->opts[i].key, key) == 0)
            return e->opts[i].value;
    return NULL;
}

int jaas_path_from_jvm_opts(const char *opts, char *out, size_t outlen)
{
    static const char key[] = "-Djava.security.auth.login.config=";
    const char *found = NULL;
    /* The last occurrence wins, as with the JVM's own -D handling. */
    for (const char *p = opts ? strstr(opts, key) : NULL; p; p = strstr(p + 1, key))
        if (p == opts || isspace((unsigned char)p[-1]) || p[-1] == '"' || p[-1] == '\'')
            found = p + sizeof key - 1;
    if (!found)
        return -1;
    char quote = (*found == '"' || *found == '\'') ? *found++ : 0;
    size_t n = 0;
    while (found[n] && (quote ? found[n] != quote : !isspace((unsigned char)found[n])))
        n++;
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, found, n);
    out[n] = 0;
    return 0;
}
