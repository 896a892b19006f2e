/*
 * configs.c — kafka-configs for topics and brokers: --describe [--all] and
 * --alter --add-config k=v,k2=[a,b] / --delete-config k, in Kafka's
 * ConfigCommand layout ("Dynamic configs for topic X are:", one
 * "  name=value sensitive=false synonyms={SOURCE:name=value, ...}" line per
 * entry, sorted by name; "Completed updating config for topic X.").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "tools.h"

enum { RES_TOPIC = 2, RES_BROKER = 4 };
enum { SRC_DYNAMIC_TOPIC = 1, SRC_DYNAMIC_BROKER = 2, SRC_DYNAMIC_DEFAULT_BROKER = 3 };

static const struct opt_spec OPTS[] = {
    { "add-config", OPT_ARG, "<String>",
      "Key Value pairs of configs to add. Square brackets can be used to group values which "
      "contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'." },
    { "all", 0, NULL, "List all configs for the given entity, including static configs." },
    { "alter", 0, NULL, "Alter the configuration for the entity." },
    { "broker", OPT_ARG, "<String>", "The broker's ID." },
    { "broker-defaults", 0, NULL, "The config defaults for all brokers." },
    { "delete-config", OPT_ARG, "<String>", "config keys to remove 'k1,k2'" },
    { "describe", 0, NULL, "List configs for the given entity." },
    { "entity-default", 0, NULL, "Default entity name for brokers (applies to corresponding "
                                 "entity type in command line)" },
    { "entity-name", OPT_ARG, "<String>", "Name of entity (topic name/broker id)" },
    { "entity-type", OPT_ARG, "<String>", "Type of entity (topics/brokers)" },
    { "topic", OPT_ARG, "<String>", "The topic's name." },
    COMMON_OPTS,
    { NULL, 0, NULL, NULL },
};

static const char *source_name(int8_t s)
{
    static const char *const names[] = {
        "UNKNOWN", "DYNAMIC_TOPIC_CONFIG", "DYNAMIC_BROKER_CONFIG",
        "DYNAMIC_DEFAULT_BROKER_CONFIG", "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG",
        "DYNAMIC_BROKER_LOGGER_CONFIG", "DYNAMIC_CLIENT_METRICS_CONFIG", "DYNAMIC_GROUP_CONFIG",
    };
    return s >= 0 && s < (int8_t)(sizeof names / sizeof names[0]) ? names[s] : "UNKNOWN";
}

/* The entity: its resource type and name ("" for the broker default). */
struct entity {
    int8_t type;
    const char *name;       /* NULL: every entity of the type */
};

static struct entity parse_entity(const struct args *a)
{
    struct entity e = { 0, NULL };
    const char *t = arg_get(a, "entity-type");
    if (arg_get(a, "topic")) {
        e.type = RES_TOPIC;
        e.name = arg_get(a, "topic");
    } else if (arg_get(a, "broker") || arg_has(a, "broker-defaults")) {
        e.type = RES_BROKER;
        e.name = arg_has(a, "broker-defaults") ? "" : arg_get(a, "broker");
    } else if (t && (strcmp(t, "topics") == 0 || strcmp(t, "brokers") == 0)) {
        e.type = strcmp(t, "topics") == 0 ? RES_TOPIC : RES_BROKER;
        e.name = arg_has(a, "entity-default") ? "" : arg_get(a, "entity-name");
    } else if (t) {
        args_usage_exit(a, "Invalid entity type %s, the entity type must be one of topics, "
                           "brokers (the types kavka's kafka-configs supports)", t);
    } else {
        args_usage_exit(a, "--entity-type must be specified");
    }
    if (e.type == RES_TOPIC && e.name && !*e.name)
        args_usage_exit(a, "--entity-default is only valid with brokers");
    return e;
}

static int cmp_entries(const void *x, const void *y)
{
    const struct kp_describe_configs_resp_results_configs *a = x, *b = y;
    int n = a->name.len < b->name.len ? a->name.len : b->name.len;
    int c = memcmp(a->name.p, b->name.p, (size_t)n);
    return c ? c : a->name.len - b->name.len;
}

static void print_value(struct kstr v)
{
    if (v.len >= 0)
        printf("%.*s", (int)v.len, v.p);
    else
        printf("null");
}

static void print_entry(const struct kp_describe_configs_resp_results_configs *c)
{
    printf("  %.*s=", (int)c->name.len, c->name.p);
    print_value(c->is_sensitive ? (struct kstr){ NULL, -1 } : c->value);
    printf(" sensitive=%s synonyms={", c->is_sensitive ? "true" : "false");
    for (int32_t i = 0; i < c->synonyms_n; i++) {
        const struct kp_describe_configs_resp_results_configs_synonyms *s = &c->synonyms[i];
        printf("%s%s:%.*s=", i ? ", " : "", source_name(s->source), (int)s->name.len, s->name.p);
        print_value(c->is_sensitive ? (struct kstr){ NULL, -1 } : s->value);
    }
    printf("}\n");
}

/* DescribeConfigs of one resource; exits with Kafka's exception on error. */
static void describe_one(struct kclient *kc, int8_t type, const char *name, bool synonyms,
                         struct karena *ar, struct kp_describe_configs_resp_results **out)
{
    int16_t v = kc_need(kc->boot, KP_API_DESCRIBE_CONFIGS, 4);
    struct kp_describe_configs_req rq;
    kp_describe_configs_req_init(&rq);
    rq.include_synonyms = synonyms;
    rq.resources_n = 1;
    rq.resources = karena_calloc(ar, 1, sizeof *rq.resources);
    rq.resources[0].resource_type = type;
    rq.resources[0].resource_name = kstr_c(name);
    rq.resources[0].configuration_keys_n = -1;
    /* Broker resources are answered by that broker (the default by any). */
    struct kconn *c = type == RES_BROKER && *name ? kc_node(kc, atoi(name)) : kc->boot;
    struct kp_describe_configs_resp rs;
    kc_call(c, KP_API_DESCRIBE_CONFIGS, v, &rq, &rs, ar);
    if (rs.results_n < 1)
        cli_die("empty DescribeConfigs response");
    struct kp_describe_configs_resp_results *r = &rs.results[0];
    if (r->error_code != KERR_NONE) {
        if (r->error_message.len > 0)
            cli_die("%s: %.*s", kerr_exception(r->error_code), (int)r->error_message.len,
                    r->error_message.p);
        cli_die("%s: %s", kerr_exception(r->error_code), kerr_message(r->error_code));
    }
    *out = r;
}

static void describe_entity(struct kclient *kc, const struct args *a, int8_t type,
                            const char *name)
{
    bool all = arg_has(a, "all");
    struct karena ar;
    karena_init(&ar);
    struct kp_describe_configs_resp_results *r;
    describe_one(kc, type, name, true, &ar, &r);
    int8_t want = type == RES_TOPIC ? SRC_DYNAMIC_TOPIC
                  : *name           ? SRC_DYNAMIC_BROKER
                                    : SRC_DYNAMIC_DEFAULT_BROKER;
    if (type == RES_BROKER && !*name)
        printf("%s configs for brokers in the cluster are:\n", all ? "All" : "Default");
    else
        printf("%s configs for %s %s are:\n", all ? "All" : "Dynamic",
               type == RES_TOPIC ? "topic" : "broker", name);
    if (r->configs_n > 0)
        qsort(r->configs, (size_t)r->configs_n, sizeof *r->configs, cmp_entries);
    for (int32_t i = 0; i < r->configs_n; i++)
        if (all || r->configs[i].config_source == want)
            print_entry(&r->configs[i]);
    karena_free(&ar);
}

static int cmd_describe(struct kclient *kc, const struct args *a, struct entity e)
{
    if (e.name) {
        describe_entity(kc, a, e.type, e.name);
        return 0;
    }
    if (e.type == RES_BROKER) {
        for (int i = 0; i < kc->nnodes; i++) {
            char id[16];
            snprintf(id, sizeof id, "%d", (int)kc->nodes[i].id);
            describe_entity(kc, a, RES_BROKER, id);
        }
        describe_entity(kc, a, RES_BROKER, "");
        return 0;
    }
    struct topic_meta *t;
    int n = topic_meta_load(kc, NULL, -1, &t);
    for (int i = 0; i < n; i++)
        describe_entity(kc, a, RES_TOPIC, t[i].name);
    topic_meta_free(t, n);
    return 0;
}

/* ------------------------------------------------------------ alter */

/* Kafka's parseConfigsToBeAdded: "k=v,k2=[a,b]": commas inside brackets
 * belong to the value, the brackets are dropped. */
static void parse_add_config(const char *s, struct props *out)
{
    char *buf = strdup(s), *item = buf;
    int depth = 0;
    for (char *p = buf;; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        if ((*p == ',' && depth == 0) || *p == 0) {
            bool end = *p == 0;
            *p = 0;
            char *eq = strchr(item, '=');
            if (!eq || eq == item)
                cli_die("Invalid entity config: all configs to be added must be in the format "
                        "\"key=val\" or \"key=[val1,val2]\"");
            *eq = 0;
            char *v = eq + 1;
            size_t vl = strlen(v);
            if (vl >= 2 && v[0] == '[' && v[vl - 1] == ']') {
                v[vl - 1] = 0;
                v++;
            }
            if (props_set(out, item, v) != 0)
                cli_die("out of memory");
            if (end)
                break;
            item = p + 1;
        }
    }
    free(buf);
}

static void alter_failed(const struct args *a, int argc, char **argv, int16_t code,
                         struct kstr msg)
{
    (void)a;
    fputs("Error while executing config command with args '", stderr);
    for (int i = 1; i < argc; i++)
        fprintf(stderr, "%s%s", i > 1 ? " " : "", argv[i]);
    fprintf(stderr, "'\njava.util.concurrent.ExecutionException: %s: ", kerr_exception(code));
    if (msg.len > 0)
        fprintf(stderr, "%.*s\n", (int)msg.len, msg.p);
    else
        fprintf(stderr, "%s\n", kerr_message(code));
    exit(1);
}

/* Keys to delete must be configs of the entity (ConfigCommand's check). */
static void check_deletable(struct kclient *kc, struct entity e, const struct props *del)
{
    struct karena ar;
    karena_init(&ar);
    struct kp_describe_configs_resp_results *r;
    describe_one(kc, e.type, e.name, false, &ar, &r);
    char bad[1024] = "";
    for (size_t i = 0; i < del->n; i++) {
        bool found = false;
        for (int32_t j = 0; j < r->configs_n && !found; j++)
            found = kstr_eq(r->configs[j].name, del->v[i].key);
        if (!found && strlen(bad) + strlen(del->v[i].key) + 2 < sizeof bad)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%s%s", *bad ? "," : "",
                     del->v[i].key);
    }
    karena_free(&ar);
    if (*bad)
        cli_die("org.apache.kafka.common.errors.InvalidConfigurationException: Invalid "
                "config(s): %s", bad);
}

static int cmd_alter(struct kclient *kc, const struct args *a, struct entity e, int argc,
                     char **argv)
{
    if (!e.name)
        args_usage_exit(a, "an entity name must be specified with --alter of %s",
                        e.type == RES_TOPIC ? "topics" : "brokers");
    struct props add = { 0 }, del = { 0 };
    const char *const *vals;
    int n = arg_values(a, "add-config", &vals);
    for (int i = 0; i < n; i++)
        parse_add_config(vals[i], &add);
    n = arg_values(a, "delete-config", &vals);
    for (int i = 0; i < n; i++) {
        char *copy = strdup(vals[i]), *save = NULL;
        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save))
            if (props_set(&del, k, "") != 0)
                cli_die("out of memory");
        free(copy);
    }
    if (add.n == 0 && del.n == 0)
        args_usage_exit(a, "At least one of --add-config or --delete-config must be specified "
                           "with --alter");
    if (e.type == RES_TOPIC && del.n)
        check_deletable(kc, e, &del);
    struct karena ar;
    karena_init(&ar);
    int16_t v = kc_need(kc->boot, KP_API_INCREMENTAL_ALTER_CONFIGS, 1);
    struct kp_incremental_alter_configs_req rq;
    kp_incremental_alter_configs_req_init(&rq);
    rq.resources_n = 1;
    rq.resources = karena_calloc(&ar, 1, sizeof *rq.resources);
    struct kp_incremental_alter_configs_req_resources *res = &rq.resources[0];
    res->resource_type = e.type;
    res->resource_name = kstr_c(e.name);
    res->configs = karena_calloc(&ar, add.n + del.n + 1, sizeof *res->configs);
    for (size_t i = 0; i < add.n; i++)
        res->configs[res->configs_n++] = (struct kp_incremental_alter_configs_req_resources_configs){
            kstr_c(add.v[i].key), 0 /* SET */, kstr_c(add.v[i].value) };
    for (size_t i = 0; i < del.n; i++)
        res->configs[res->configs_n++] = (struct kp_incremental_alter_configs_req_resources_configs){
            kstr_c(del.v[i].key), 1 /* DELETE */, { NULL, -1 } };
    struct kconn *c = e.type == RES_BROKER && *e.name ? kc_node(kc, atoi(e.name)) : kc->boot;
    struct kp_incremental_alter_configs_resp rs;
    kc_call(c, KP_API_INCREMENTAL_ALTER_CONFIGS, v, &rq, &rs, &ar);
    for (int32_t i = 0; i < rs.responses_n; i++)
        if (rs.responses[i].error_code != KERR_NONE)
            alter_failed(a, argc, argv, rs.responses[i].error_code, rs.responses[i].error_message);
    if (e.type == RES_BROKER && !*e.name)
        printf("Completed updating default config for brokers in the cluster.\n");
    else
        printf("Completed updating config for %s %s.\n", e.type == RES_TOPIC ? "topic" : "broker",
               e.name);
    karena_free(&ar);
    props_free(&add);
    props_free(&del);
    return 0;
}

int tool_configs(int argc, char **argv)
{
    struct args a;
    args_parse(&a, "kafka-configs", OPTS, argc, argv);
    if (arg_has(&a, "describe") + arg_has(&a, "alter") != 1)
        args_usage_exit(&a, "Command must include exactly one action: --describe, --alter");
    args_require(&a, "bootstrap-server");
    struct entity e = parse_entity(&a);
    if (arg_has(&a, "describe") && (arg_has(&a, "add-config") || arg_has(&a, "delete-config")))
        args_usage_exit(&a, "Option \"[describe]\" can't be used with option \"[%s]\"",
                        arg_has(&a, "add-config") ? "add-config" : "delete-config");
    struct kclient kc;
    tool_connect(&kc, &a, "command-config", NULL);
    int rc = arg_has(&a, "describe") ? cmd_describe(&kc, &a, e) : cmd_alter(&kc, &a, e, argc, argv);
    kc_close(&kc);
    args_free(&a);
    return rc;
}
