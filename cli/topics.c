/*
 * topics.c — kafka-topics: --list, --create, --describe, --alter
 * --partitions, --delete, with Kafka's TopicCommand output (4.x layout:
 * "Created topic X.", one name per line, the tab-separated describe lines).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "tools.h"

static const struct opt_spec OPTS[] = {
    { "alter", 0, NULL, "Alter the number of partitions and replica assignment." },
    { "at-min-isr-partitions", 0, NULL,
      "If set when describing topics, only show partitions whose isr count is equal to the "
      "configured minimum." },
    { "config", OPT_ARG, "<String: name=value>",
      "A topic configuration override for the topic being created." },
    { "create", 0, NULL, "Create a new topic." },
    { "delete", 0, NULL, "Delete a topic." },
    { "describe", 0, NULL, "List details for the given topics." },
    { "exclude-internal", 0, NULL, "Exclude internal topics when listing or describing topics." },
    { "if-exists", 0, NULL,
      "If set when altering or deleting or describing topics, the action will only execute "
      "if the topic exists." },
    { "if-not-exists", 0, NULL,
      "If set when creating topics, the action will only execute if the topic does not "
      "already exist." },
    { "list", 0, NULL, "List all available topics." },
    { "partitions", OPT_ARG, "<Integer: # of partitions>",
      "The number of partitions for the topic being created or altered." },
    { "replica-assignment", OPT_ARG, "<String: broker_id_for_part1_replica1 : ...>",
      "A list of manual partition-to-broker assignments for the topic being created or "
      "altered." },
    { "replication-factor", OPT_ARG, "<Integer: replication factor>",
      "The replication factor for each partition in the topic being created." },
    { "topic", OPT_ARG, "<String: topic>",
      "The topic to create, alter, describe or delete. It also accepts a regular expression, "
      "except for --create option." },
    { "topic-id", OPT_ARG, "<String: topic-id>", "The topic-id to describe." },
    { "topics-with-overrides", 0, NULL,
      "If set when describing topics, only show topics that have overridden configs." },
    { "unavailable-partitions", 0, NULL,
      "If set when describing topics, only show partitions whose leader is not available." },
    { "under-min-isr-partitions", 0, NULL,
      "If set when describing topics, only show partitions whose isr count is less than the "
      "configured minimum." },
    { "under-replicated-partitions", 0, NULL,
      "If set when describing topics, only show under-replicated partitions." },
    COMMON_OPTS,
    { NULL, 0, NULL, NULL },
};

/* TopicCommand prints failures on stdout and exits 1. */
static void topic_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void topic_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error while executing topic command : ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static const char *msg_or_default(struct kstr msg, int16_t code, char *buf, size_t cap)
{
    if (msg.len > 0) {
        snprintf(buf, cap, "%.*s", (int)msg.len, msg.p);
        return buf;
    }
    return kerr_message(code);
}

/* ------------------------------------------------------------ list */

static int topics_matching(struct kclient *kc, const struct args *a, struct topic_meta **all,
                           int *nall, char ***names)
{
    int n = topic_meta_load(kc, NULL, -1, all);
    *nall = n;
    struct name_filter *f = arg_get(a, "topic") ? name_filter_new(arg_get(a, "topic")) : NULL;
    const char *id = arg_get(a, "topic-id");
    char **out = calloc((size_t)n + 1, sizeof *out);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char idstr[23];
        kuuid_b64((*all)[i].id, idstr);
        if ((*all)[i].internal && arg_has(a, "exclude-internal"))
            continue;
        if (name_filter_match(f, (*all)[i].name) && (!id || strcmp(id, idstr) == 0))
            out[k++] = (*all)[i].name;
    }
    name_filter_free(f);
    *names = out;
    return k;
}

/* Kafka's ensureTopicExists: a named topic that matches nothing is an
 * error unless --if-exists. */
static void ensure_exists(const struct args *a, int n)
{
    if (n > 0 || arg_has(a, "if-exists"))
        return;
    if (arg_get(a, "topic"))
        topic_error("Topic '%s' does not exist as expected", arg_get(a, "topic"));
    if (arg_get(a, "topic-id"))
        topic_error("Topic '%s' does not exist as expected", arg_get(a, "topic-id"));
}

static int cmd_list(struct kclient *kc, const struct args *a)
{
    struct topic_meta *all;
    char **names;
    int nall;
    int n = topics_matching(kc, a, &all, &nall, &names);
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    free(names);
    topic_meta_free(all, nall);
    return 0;
}

/* ------------------------------------------------------------ create */

static void parse_assignment(struct karena *ar, const char *s,
                             struct kp_create_topics_req_topics *t)
{
    int parts = 1;
    for (const char *p = s; *p; p++)
        parts += *p == ',';
    t->assignments = karena_calloc(ar, (size_t)parts, sizeof *t->assignments);
    char *copy = karena_strdup(ar, s), *save = NULL;
    int i = 0;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save), i++) {
        struct kp_create_topics_req_topics_assignments *as = &t->assignments[i];
        as->partition_index = i;
        as->broker_ids = karena_calloc(ar, strlen(p) + 1, sizeof *as->broker_ids);
        char *save2 = NULL;
        for (char *b = strtok_r(p, ":", &save2); b; b = strtok_r(NULL, ":", &save2))
            as->broker_ids[as->broker_ids_n++] = atoi(b);
    }
    t->assignments_n = i;
}

static void warn_collision(const char *topic)
{
    if (strchr(topic, '.') || strchr(topic, '_'))
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or "
               "underscore ('_') could collide. To avoid issues it is best to use either, but "
               "not both.\n");
}

static int cmd_create(struct kclient *kc, const struct args *a)
{
    const char *topic = arg_get(a, "topic");
    struct karena ar;
    karena_init(&ar);
    int16_t v = kc_need(kc->boot, KP_API_CREATE_TOPICS, 7);
    struct kp_create_topics_req rq;
    kp_create_topics_req_init(&rq);
    rq.topics_n = 1;
    rq.topics = karena_calloc(&ar, 1, sizeof *rq.topics);
    struct kp_create_topics_req_topics *t = &rq.topics[0];
    t->name = kstr_c(topic);
    /* -1: the broker's num.partitions / default.replication.factor (v4+). */
    t->num_partitions = (int32_t)arg_int(a, "partitions", -1);
    t->replication_factor = (int16_t)arg_int(a, "replication-factor", -1);
    if (arg_get(a, "replica-assignment")) {
        parse_assignment(&ar, arg_get(a, "replica-assignment"), t);
        t->num_partitions = t->replication_factor = -1;
    }
    struct props cfg = { 0 };
    args_kv_into(a, "config", &cfg);
    t->configs_n = (int32_t)cfg.n;
    t->configs = karena_calloc(&ar, cfg.n + 1, sizeof *t->configs);
    for (size_t i = 0; i < cfg.n; i++) {
        t->configs[i].name = kstr_c(cfg.v[i].key);
        t->configs[i].value = kstr_c(cfg.v[i].value);
    }
    warn_collision(topic);
    struct kp_create_topics_resp rs;
    kc_call(kc->boot, KP_API_CREATE_TOPICS, v, &rq, &rs, &ar);
    int16_t err = rs.topics_n > 0 ? rs.topics[0].error_code : KERR_UNKNOWN_SERVER_ERROR;
    if (err == KERR_TOPIC_ALREADY_EXISTS && arg_has(a, "if-not-exists"))
        err = KERR_NONE;
    else if (err == KERR_NONE)
        printf("Created topic %s.\n", topic);
    else {
        char buf[1024];
        topic_error("%s", msg_or_default(rs.topics[0].error_message, err, buf, sizeof buf));
    }
    props_free(&cfg);
    karena_free(&ar);
    return 0;
}

/* ------------------------------------------------------------ describe */

/* One partition as TopicCommand's PartitionDescription holds it. */
struct part_desc {
    int32_t index, leader;
    int32_t nrep, nisr, nelr, nlkelr;    /* nelr/nlkelr < 0: not reported */
    int32_t *rep, *isr, *elr, *lkelr;
};

struct topic_desc {
    const char *name;
    uint8_t id[16];
    int npart;
    struct part_desc *parts;
    char *configs;          /* "k=v,k2=v2" of non-default entries */
    int min_isr;            /* from min.insync.replicas, 1 when unknown */
};

static void print_ids(const char *label, const int32_t *v, int32_t n)
{
    printf("\t%s: ", label);
    for (int32_t i = 0; i < n; i++)
        printf(i ? ",%d" : "%d", (int)v[i]);
}

static bool leader_alive(const struct kclient *kc, int32_t leader)
{
    return leader >= 0 && kc_node_info(kc, leader) != NULL;
}

static bool part_selected(const struct kclient *kc, const struct args *a,
                          const struct topic_desc *t, const struct part_desc *p)
{
    if (arg_has(a, "under-replicated-partitions"))
        return p->nisr < p->nrep;
    if (arg_has(a, "unavailable-partitions"))
        return !leader_alive(kc, p->leader);
    if (arg_has(a, "under-min-isr-partitions"))
        return p->nisr < t->min_isr;
    if (arg_has(a, "at-min-isr-partitions"))
        return p->nisr == t->min_isr;
    return true;
}

static bool partition_filter(const struct args *a)
{
    return arg_has(a, "under-replicated-partitions") || arg_has(a, "unavailable-partitions") ||
           arg_has(a, "under-min-isr-partitions") || arg_has(a, "at-min-isr-partitions");
}

static void print_topic(const struct kclient *kc, const struct args *a,
                        const struct topic_desc *t)
{
    bool overrides_only = arg_has(a, "topics-with-overrides");
    if (overrides_only && !*t->configs)
        return;
    if (!partition_filter(a)) {
        char id[23];
        kuuid_b64(t->id, id);
        printf("Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
               t->name, id, t->npart, t->npart > 0 ? (int)t->parts[0].nrep : 0, t->configs);
    }
    if (overrides_only)
        return;
    for (int i = 0; i < t->npart; i++) {
        const struct part_desc *p = &t->parts[i];
        if (!part_selected(kc, a, t, p))
            continue;
        printf("\tTopic: %s\tPartition: %d\tLeader: ", t->name, (int)p->index);
        if (p->leader >= 0)
            printf("%d", (int)p->leader);
        else
            printf("none");
        print_ids("Replicas", p->rep, p->nrep);
        print_ids("Isr", p->isr, p->nisr);
        if (p->nelr >= 0)
            print_ids("Elr", p->elr, p->nelr);
        if (p->nlkelr >= 0)
            print_ids("LastKnownElr", p->lkelr, p->nlkelr);
        putchar('\n');
    }
}

static int32_t *copy_ids(struct karena *ar, const int32_t *v, int32_t n)
{
    int32_t *o = karena_calloc(ar, (size_t)(n > 0 ? n : 0) + 1, sizeof *o);
    if (n > 0)
        memcpy(o, v, sizeof *o * (size_t)n);
    return o;
}

/* Partitions by DescribeTopicPartitions (Kafka 3.8+: Elr fields), one page
 * after another. */
static void describe_dtp(struct kclient *kc, struct karena *ar, struct topic_desc *td, int n)
{
    char cursor_topic[512] = "";
    int32_t cursor_part = -1;
    for (;;) {
        struct karena pa;
        karena_init(&pa);
        struct kp_describe_topic_partitions_req rq;
        kp_describe_topic_partitions_req_init(&rq);
        rq.topics_n = n;
        rq.topics = karena_calloc(&pa, (size_t)n + 1, sizeof *rq.topics);
        for (int i = 0; i < n; i++)
            rq.topics[i].name = kstr_c(td[i].name);
        struct kp_describe_topic_partitions_req_cursor cur;
        if (cursor_part >= 0) {
            cur.topic_name = kstr_c(cursor_topic);
            cur.partition_index = cursor_part;
            rq.cursor = &cur;
        }
        struct kp_describe_topic_partitions_resp rs;
        kc_call(kc->boot, KP_API_DESCRIBE_TOPIC_PARTITIONS, 0, &rq, &rs, &pa);
        for (int32_t i = 0; i < rs.topics_n; i++) {
            const struct kp_describe_topic_partitions_resp_topics *rt = &rs.topics[i];
            struct topic_desc *t = NULL;
            for (int k = 0; k < n && !t; k++)
                if (kstr_eq(rt->name, td[k].name))
                    t = &td[k];
            if (!t || rt->error_code != KERR_NONE)
                continue;
            memcpy(t->id, rt->topic_id, 16);
            t->parts = realloc(t->parts, sizeof *t->parts * (size_t)(t->npart + rt->partitions_n + 1));
            for (int32_t j = 0; j < rt->partitions_n; j++) {
                const struct kp_describe_topic_partitions_resp_topics_partitions *rp = &rt->partitions[j];
                struct part_desc *p = &t->parts[t->npart++];
                p->index = rp->partition_index;
                p->leader = rp->leader_id;
                p->nrep = rp->replica_nodes_n > 0 ? rp->replica_nodes_n : 0;
                p->nisr = rp->isr_nodes_n > 0 ? rp->isr_nodes_n : 0;
                p->nelr = rp->eligible_leader_replicas_n;
                p->nlkelr = rp->last_known_elr_n;
                p->rep = copy_ids(ar, rp->replica_nodes, rp->replica_nodes_n);
                p->isr = copy_ids(ar, rp->isr_nodes, rp->isr_nodes_n);
                p->elr = copy_ids(ar, rp->eligible_leader_replicas, rp->eligible_leader_replicas_n);
                p->lkelr = copy_ids(ar, rp->last_known_elr, rp->last_known_elr_n);
            }
        }
        cursor_part = -1;
        if (rs.next_cursor) {
            snprintf(cursor_topic, sizeof cursor_topic, "%.*s", (int)rs.next_cursor->topic_name.len,
                     rs.next_cursor->topic_name.p);
            cursor_part = rs.next_cursor->partition_index;
        }
        karena_free(&pa);
        if (cursor_part < 0)
            return;
    }
}

/* Partitions by Metadata, for brokers before 3.8 (no Elr columns then). */
static void describe_metadata(struct kclient *kc, struct karena *ar, struct topic_desc *td, int n)
{
    struct karena pa;
    karena_init(&pa);
    const char **names = karena_calloc(&pa, (size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++)
        names[i] = td[i].name;
    struct kp_metadata_resp m;
    kc_metadata(kc, kc->boot, names, n, false, &pa, &m, NULL);
    for (int32_t i = 0; i < m.topics_n; i++) {
        const struct kp_metadata_resp_topics *mt = &m.topics[i];
        struct topic_desc *t = NULL;
        for (int k = 0; k < n && !t; k++)
            if (kstr_eq(mt->name, td[k].name))
                t = &td[k];
        if (!t || mt->error_code != KERR_NONE)
            continue;
        memcpy(t->id, mt->topic_id, 16);
        t->parts = calloc((size_t)mt->partitions_n + 1, sizeof *t->parts);
        for (int32_t j = 0; j < mt->partitions_n; j++) {
            const struct kp_metadata_resp_topics_partitions *mp = &mt->partitions[j];
            struct part_desc *p = &t->parts[t->npart++];
            p->index = mp->partition_index;
            p->leader = mp->leader_id;
            p->nrep = mp->replica_nodes_n > 0 ? mp->replica_nodes_n : 0;
            p->nisr = mp->isr_nodes_n > 0 ? mp->isr_nodes_n : 0;
            p->nelr = p->nlkelr = -1;
            p->rep = copy_ids(ar, mp->replica_nodes, mp->replica_nodes_n);
            p->isr = copy_ids(ar, mp->isr_nodes, mp->isr_nodes_n);
        }
    }
    karena_free(&pa);
}

static int cmp_part(const void *x, const void *y)
{
    return ((const struct part_desc *)x)->index - ((const struct part_desc *)y)->index;
}

/* Configs whose source is not DEFAULT_CONFIG (ConfigEntry.isDefault), in
 * the broker's order, for each topic. */
static void describe_configs(struct kclient *kc, struct karena *ar, struct topic_desc *td, int n)
{
    struct karena pa;
    karena_init(&pa);
    int16_t v = kc_need(kc->boot, KP_API_DESCRIBE_CONFIGS, 4);
    struct kp_describe_configs_req rq;
    kp_describe_configs_req_init(&rq);
    rq.resources_n = n;
    rq.resources = karena_calloc(&pa, (size_t)n + 1, sizeof *rq.resources);
    for (int i = 0; i < n; i++) {
        rq.resources[i].resource_type = 2;   /* TOPIC */
        rq.resources[i].resource_name = kstr_c(td[i].name);
        rq.resources[i].configuration_keys_n = -1;
        td[i].configs = karena_strdup(ar, "");
        td[i].min_isr = 1;
    }
    struct kp_describe_configs_resp rs;
    kc_call(kc->boot, KP_API_DESCRIBE_CONFIGS, v, &rq, &rs, &pa);
    for (int32_t i = 0; i < rs.results_n; i++) {
        const struct kp_describe_configs_resp_results *r = &rs.results[i];
        struct topic_desc *t = NULL;
        for (int k = 0; k < n && !t; k++)
            if (kstr_eq(r->resource_name, td[k].name))
                t = &td[k];
        if (!t || r->error_code != KERR_NONE)
            continue;
        size_t len = 1;
        for (int32_t j = 0; j < r->configs_n; j++)
            len += (size_t)(r->configs[j].name.len + (r->configs[j].value.len > 0 ? r->configs[j].value.len : 4) + 2);
        char *s = karena_alloc(ar, len), *o = s;
        for (int32_t j = 0; j < r->configs_n; j++) {
            const struct kp_describe_configs_resp_results_configs *c = &r->configs[j];
            if (kstr_eq(c->name, "min.insync.replicas") && c->value.len > 0)
                t->min_isr = atoi(c->value.p);
            bool dflt = v == 0 ? c->is_default : c->config_source == 5;   /* DEFAULT_CONFIG */
            if (dflt)
                continue;
            o += sprintf(o, "%s%.*s=", o == s ? "" : ",", (int)c->name.len, c->name.p);
            if (c->value.len >= 0)
                o += sprintf(o, "%.*s", (int)c->value.len, c->value.p);
            else
                o += sprintf(o, "null");
        }
        *o = 0;
        t->configs = s;
    }
    karena_free(&pa);
}

static int cmd_describe(struct kclient *kc, const struct args *a)
{
    struct topic_meta *all;
    char **names;
    int nall;
    int n = topics_matching(kc, a, &all, &nall, &names);
    ensure_exists(a, n);
    struct karena ar;
    karena_init(&ar);
    struct topic_desc *td = calloc((size_t)n + 1, sizeof *td);
    for (int i = 0; i < n; i++)
        td[i].name = names[i];
    if (n > 0) {
        describe_configs(kc, &ar, td, n);
        if (kc_version(kc->boot, KP_API_DESCRIBE_TOPIC_PARTITIONS, 0) == 0)
            describe_dtp(kc, &ar, td, n);
        else
            describe_metadata(kc, &ar, td, n);
    }
    for (int i = 0; i < n; i++) {
        qsort(td[i].parts, (size_t)td[i].npart, sizeof *td[i].parts, cmp_part);
        print_topic(kc, a, &td[i]);
        free(td[i].parts);
    }
    free(td);
    free(names);
    topic_meta_free(all, nall);
    karena_free(&ar);
    return 0;
}

/* ------------------------------------------------------------ alter, delete */

static int cmd_alter(struct kclient *kc, const struct args *a)
{
    struct topic_meta *all;
    char **names;
    int nall;
    int n = topics_matching(kc, a, &all, &nall, &names);
    ensure_exists(a, n);
    if (n == 0 || !arg_has(a, "partitions")) {
        free(names);
        topic_meta_free(all, nall);
        return 0;
    }
    struct karena ar;
    karena_init(&ar);
    int16_t v = kc_need(kc->boot, KP_API_CREATE_PARTITIONS, 3);
    struct kp_create_partitions_req rq;
    kp_create_partitions_req_init(&rq);
    rq.timeout_ms = kc->timeout_ms;
    rq.topics_n = n;
    rq.topics = karena_calloc(&ar, (size_t)n, sizeof *rq.topics);
    for (int i = 0; i < n; i++) {
        rq.topics[i].name = kstr_c(names[i]);
        rq.topics[i].count = (int32_t)arg_int(a, "partitions", 0);
        rq.topics[i].assignments_n = -1;
    }
    struct kp_create_partitions_resp rs;
    kc_call(kc->boot, KP_API_CREATE_PARTITIONS, v, &rq, &rs, &ar);
    for (int32_t i = 0; i < rs.results_n; i++)
        if (rs.results[i].error_code != KERR_NONE) {
            char buf[1024];
            topic_error("%s", msg_or_default(rs.results[i].error_message,
                                             rs.results[i].error_code, buf, sizeof buf));
        }
    karena_free(&ar);
    free(names);
    topic_meta_free(all, nall);
    return 0;
}

static int cmd_delete(struct kclient *kc, const struct args *a)
{
    struct topic_meta *all;
    char **names;
    int nall;
    int n = topics_matching(kc, a, &all, &nall, &names);
    ensure_exists(a, n);
    if (n == 0) {
        free(names);
        topic_meta_free(all, nall);
        return 0;
    }
    struct karena ar;
    karena_init(&ar);
    int16_t v = kc_need(kc->boot, KP_API_DELETE_TOPICS, 5);
    struct kp_delete_topics_req rq;
    kp_delete_topics_req_init(&rq);
    rq.timeout_ms = kc->timeout_ms;
    rq.topic_names_n = n;
    rq.topic_names = karena_calloc(&ar, (size_t)n, sizeof *rq.topic_names);
    for (int i = 0; i < n; i++)
        rq.topic_names[i] = kstr_c(names[i]);
    struct kp_delete_topics_resp rs;
    kc_call(kc->boot, KP_API_DELETE_TOPICS, v, &rq, &rs, &ar);
    for (int32_t i = 0; i < rs.responses_n; i++) {
        int16_t err = rs.responses[i].error_code;
        if (err == KERR_UNKNOWN_TOPIC_OR_PARTITION && arg_has(a, "if-exists"))
            continue;
        if (err != KERR_NONE) {
            char buf[1024];
            topic_error("%s", msg_or_default(rs.responses[i].error_message, err, buf, sizeof buf));
        }
    }
    karena_free(&ar);
    free(names);
    topic_meta_free(all, nall);
    return 0;
}

/* ------------------------------------------------------------ main */

static void check_args(const struct args *a)
{
    int actions = arg_has(a, "list") + arg_has(a, "describe") + arg_has(a, "create") +
                  arg_has(a, "alter") + arg_has(a, "delete");
    if (actions != 1)
        args_usage_exit(a, "Command must include exactly one action: --list, --describe, "
                           "--create, --alter or --delete");
    if (!arg_has(a, "bootstrap-server")) {
        fprintf(stderr, "--bootstrap-server must be specified\n");
        exit(1);
    }
    if (arg_has(a, "create") || arg_has(a, "alter") || arg_has(a, "delete"))
        args_require(a, "topic");
    static const char *const not_create[] = { "describe", "list", "delete", NULL };
    static const char *const only_create[] = { "alter", "describe", "list", "delete", NULL };
    args_exclusive(a, "partitions", (const char *const[]){ "describe", "list", "delete", NULL });
    args_exclusive(a, "replication-factor", only_create);
    args_exclusive(a, "config", only_create);
    args_exclusive(a, "if-not-exists", only_create);
    args_exclusive(a, "if-exists", (const char *const[]){ "create", "list", NULL });
    args_exclusive(a, "replica-assignment", not_create);
    if (arg_has(a, "create") && !arg_has(a, "replica-assignment") && arg_has(a, "partitions") &&
        arg_int(a, "partitions", 1) < 1)
        topic_error("The partitions must be greater than 0");
}

int tool_topics(int argc, char **argv)
{
    struct args a;
    args_parse(&a, "kafka-topics", OPTS, argc, argv);
    check_args(&a);
    struct kclient kc;
    tool_connect(&kc, &a, "command-config", NULL);
    int rc;
    if (arg_has(&a, "list"))
        rc = cmd_list(&kc, &a);
    else if (arg_has(&a, "create"))
        rc = cmd_create(&kc, &a);
    else if (arg_has(&a, "describe"))
        rc = cmd_describe(&kc, &a);
    else if (arg_has(&a, "alter"))
        rc = cmd_alter(&kc, &a);
    else
        rc = cmd_delete(&kc, &a);
    kc_close(&kc);
    args_free(&a);
    return rc;
}
