/*
 * args.h — command-line parsing the way Kafka's tools (jopt-simple, no
 * abbreviations) do it: long options `--name value` or `--name=value`,
 * options without arguments, repeatable options; and Kafka's messages for
 * the errors (unknown option, missing argument, missing required option,
 * options that do not go together), on stderr with exit status 1.
 */
#ifndef KAVKA_CLI_ARGS_H
#define KAVKA_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "properties.h"

enum { OPT_ARG = 1 };   /* takes a value */

struct opt_spec {
    const char *name;       /* without the leading "--" */
    int flags;
    const char *arg;        /* "<String: topic>", for usage */
    const char *help;
};

#define ARGS_MAX_VALUES 256

struct args {
    const char *tool;
    const struct opt_spec *spec;
    int nspec;
    int *count;                 /* per spec entry */
    const char ***values;       /* per spec entry: values in order */
};

/* Parses argv[1..]; exits with Kafka's message on an unknown option or a
 * missing value. --help prints usage and exits 0; --version prints the
 * version and exits 0. */
void args_parse(struct args *a, const char *tool, const struct opt_spec *spec, int argc,
                char **argv);
void args_free(struct args *a);

bool arg_has(const struct args *a, const char *name);
/* The last value given for name, or NULL. */
const char *arg_get(const struct args *a, const char *name);
/* All values of a repeatable option. */
int arg_values(const struct args *a, const char *name, const char *const **out);

/* Prints msg and the option table on stderr and exits 1 (Kafka's
 * CommandLineUtils.printUsageAndExit). */
void args_usage_exit(const struct args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* `Option "[x]" can't be used with option "[y]"` when both are given. */
void args_exclusive(const struct args *a, const char *x, const char *const *others);
void args_require(const struct args *a, const char *name);

/* Integer values; exits with Kafka's wording when not a number. */
int64_t arg_int(const struct args *a, const char *name, int64_t dflt);

/* The client properties of --command-config (or another named option):
 * loaded into *p (zeroed first); exits when the file cannot be read. */
void args_load_config(const struct args *a, const char *name, struct props *p);

/* key=value pairs (--config, --property, --producer-property) into p. */
void args_kv_into(const struct args *a, const char *name, struct props *p);

#endif
