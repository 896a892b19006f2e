/*
 * args.c — Kafka-style option parsing (see args.h).
 */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define KAFKA_TOOLS_VERSION "4.1.1 (kavka " KAVKA_VERSION ")"

static int find_spec(const struct args *a, const char *name, size_t len)
{
    for (int i = 0; i < a->nspec; i++)
        if (strlen(a->spec[i].name) == len && strncmp(a->spec[i].name, name, len) == 0)
            return i;
    return -1;
}

/* Kafka's option table: name and argument description in a 40-column
 * field, then the help text. */
static void print_usage(const struct args *a, FILE *f)
{
    fprintf(f, "%-40s %s\n%-40s %s\n", "Option", "Description", "------", "-----------");
    for (int i = 0; i < a->nspec; i++) {
        char head[256];
        snprintf(head, sizeof head, "--%s%s%s", a->spec[i].name, a->spec[i].arg ? " " : "",
                 a->spec[i].arg ? a->spec[i].arg : "");
        fprintf(f, "%-40s %s\n", head, a->spec[i].help ? a->spec[i].help : "");
    }
}

void args_usage_exit(const struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage(a, stderr);
    exit(1);
}

static void add_value(struct args *a, int i, const char *v)
{
    if (a->count[i] >= ARGS_MAX_VALUES)
        cli_die("too many --%s options", a->spec[i].name);
    a->values[i][a->count[i]++] = v;
}

void args_parse(struct args *a, const char *tool, const struct opt_spec *spec, int argc,
                char **argv)
{
    memset(a, 0, sizeof *a);
    a->tool = tool;
    a->spec = spec;
    while (spec[a->nspec].name)
        a->nspec++;
    a->count = calloc((size_t)a->nspec, sizeof *a->count);
    a->values = calloc((size_t)a->nspec, sizeof *a->values);
    if (!a->count || !a->values)
        cli_die("out of memory");
    for (int i = 0; i < a->nspec; i++)
        if (!(a->values[i] = calloc(ARGS_MAX_VALUES, sizeof **a->values)))
            cli_die("out of memory");
    for (int k = 1; k < argc; k++) {
        const char *s = argv[k];
        if (strncmp(s, "--", 2) != 0 || s[2] == 0) {
            /* jopt-simple keeps non-option words; Kafka's tools reject them. */
            fprintf(stderr, "Found non argument parameters: %s\n", s);
            print_usage(a, stderr);
            exit(1);
        }
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int i = find_spec(a, name, len);
        if (i < 0) {
            fprintf(stderr, "%.*s is not a recognized option\n", (int)len, name);
            exit(1);
        }
        if (!(spec[i].flags & OPT_ARG)) {
            if (eq) {
                fprintf(stderr, "Option %s does not take an argument\n", spec[i].name);
                exit(1);
            }
            add_value(a, i, "");
        } else if (eq) {
            add_value(a, i, eq + 1);
        } else if (k + 1 < argc) {
            add_value(a, i, argv[++k]);
        } else {
            fprintf(stderr, "Option %s requires an argument\n", spec[i].name);
            exit(1);
        }
    }
    if (arg_has(a, "help")) {
        print_usage(a, stdout);
        exit(0);
    }
    if (arg_has(a, "version")) {
        printf("%s\n", KAFKA_TOOLS_VERSION);
        exit(0);
    }
}

void args_free(struct args *a)
{
    for (int i = 0; i < a->nspec; i++)
        free(a->values[i]);
    free(a->values);
    free(a->count);
}

static int spec_index(const struct args *a, const char *name)
{
    int i = find_spec(a, name, strlen(name));
    if (i < 0)
        cli_die("internal: option --%s not declared", name);
    return i;
}

bool arg_has(const struct args *a, const char *name)
{
    return a->count[spec_index(a, name)] > 0;
}

const char *arg_get(const struct args *a, const char *name)
{
    int i = spec_index(a, name);
    return a->count[i] ? a->values[i][a->count[i] - 1] : NULL;
}

int arg_values(const struct args *a, const char *name, const char *const **out)
{
    int i = spec_index(a, name);
    *out = a->values[i];
    return a->count[i];
}

void args_exclusive(const struct args *a, const char *x, const char *const *others)
{
    if (!arg_has(a, x))
        return;
    for (; *others; others++)
        if (arg_has(a, *others))
            args_usage_exit(a, "Option \"[%s]\" can't be used with option \"[%s]\"", x, *others);
}

void args_require(const struct args *a, const char *name)
{
    if (!arg_has(a, name))
        args_usage_exit(a, "Missing required argument \"[%s]\"", name);
}

int64_t arg_int(const struct args *a, const char *name, int64_t dflt)
{
    const char *v = arg_get(a, name);
    if (!v)
        return dflt;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        fprintf(stderr, "Cannot parse argument '%s' of option %s\n", v, name);
        exit(1);
    }
    return n;
}

void args_load_config(const struct args *a, const char *name, struct props *p)
{
    memset(p, 0, sizeof *p);
    const char *path = arg_get(a, name);
    if (!path)
        return;
    char err[512];
    if (props_parse_file(p, path, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
}

void args_kv_into(const struct args *a, const char *name, struct props *p)
{
    const char *const *vals;
    int n = arg_values(a, name, &vals);
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(vals[i], '=');
        if (!eq || eq == vals[i]) {
            fprintf(stderr, "Invalid %s '%s': expected key=value\n", name, vals[i]);
            exit(1);
        }
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - vals[i]), vals[i]);
        if (props_set(p, key, eq + 1) != 0)
            cli_die("out of memory");
    }
}
