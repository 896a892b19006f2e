/*
 * groups.c — kafka-consumer-groups: --list, --describe (offsets and LAG per
 * partition, Kafka's columns), --reset-offsets (--dry-run by default,
 * --execute to commit) and --delete, in Kafka's ConsumerGroupCommand
 * layout and wording.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "tools.h"

static const struct opt_spec OPTS[] = {
    { "all-groups", 0, NULL, "Apply to all consumer groups." },
    { "all-topics", 0, NULL, "Consider all topics assigned to a group in the `reset-offsets` "
                             "process." },
    { "delete", 0, NULL, "Pass in groups to delete topic partition offsets and ownership "
                         "information over the entire consumer group." },
    { "describe", 0, NULL, "Describe consumer group and list offset lag (number of messages "
                           "not yet processed) related to given group." },
    { "dry-run", 0, NULL, "Only show results without executing changes on Consumer Groups." },
    { "execute", 0, NULL, "Execute operation." },
    { "group", OPT_ARG, "<String: consumer group>", "The consumer group we wish to act on." },
    { "list", 0, NULL, "List all consumer groups." },
    { "offsets", 0, NULL, "Describe the group and list all topic partitions in the group along "
                          "with their offset lag. This is the default sub-action." },
    { "reset-offsets", 0, NULL, "Reset offsets of consumer group." },
    { "shift-by", OPT_ARG, "<Long: number-of-offsets>",
      "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative." },
    { "timeout", OPT_ARG, "<Long: timeout (ms)>",
      "The timeout that can be set for some use cases." },
    { "to-current", 0, NULL, "Reset offsets to current offset." },
    { "to-earliest", 0, NULL, "Reset offsets to earliest offset." },
    { "to-latest", 0, NULL, "Reset offsets to latest offset." },
    { "to-offset", OPT_ARG, "<Long: offset>", "Reset offsets to a specific offset." },
    { "topic", OPT_ARG, "<String: topic>",
      "The topic whose consumer group information should be deleted or topic whose should be "
      "included in the reset offset process. `topic:0,1,2` selects partitions." },
    COMMON_OPTS,
    { NULL, 0, NULL, NULL },
};

/* One committed or assigned partition of a group. */
struct gpart {
    char *topic;
    int32_t partition;
    int64_t offset;         /* committed, -1: none */
    int64_t leo;            /* log end offset, -1: unknown */
    const char *member, *host, *client;   /* NULL: not assigned */
};

struct gmember {
    const char *id, *client, *host;
};

struct group_view {
    char state[64];
    bool exists;
    struct karena ar;
    struct gmember *members;    /* copies: the response frame is reused */
    int nmembers;
    struct gpart *parts;
    int nparts;
};

static void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\nError: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------ fetching */

static struct gpart *add_part(struct group_view *v, const char *topic, int32_t p)
{
    for (int i = 0; i < v->nparts; i++)
        if (v->parts[i].partition == p && strcmp(v->parts[i].topic, topic) == 0)
            return &v->parts[i];
    v->parts = realloc(v->parts, sizeof *v->parts * (size_t)(v->nparts + 1));
    if (!v->parts)
        cli_die("out of memory");
    struct gpart *g = &v->parts[v->nparts++];
    memset(g, 0, sizeof *g);
    g->topic = karena_strdup(&v->ar, topic);
    g->partition = p;
    g->offset = g->leo = -1;
    return g;
}

static const char *arena_kstr(struct karena *a, struct kstr s)
{
    char *p = karena_alloc(a, (size_t)(s.len > 0 ? s.len : 0) + 1);
    if (!p)
        cli_die("out of memory");
    if (s.len > 0)
        memcpy(p, s.p, (size_t)s.len);
    return p;
}

struct assign_ctx { struct group_view *v; const struct gmember *gm; };

static void assigned_part(void *arg, struct kstr t, int32_t p)
{
    struct assign_ctx *x = arg;
    char *topic = kstr_dup(t);
    if (!topic)
        cli_die("out of memory");
    struct gpart *g = add_part(x->v, topic, p);
    free(topic);
    g->member = x->gm->id;
    g->host = x->gm->host;
    g->client = x->gm->client;
}

static void read_assignment(struct group_view *v, const struct kp_describe_groups_resp_groups_members *m,
                            const struct gmember *gm)
{
    struct assign_ctx x = { v, gm };
    (void)assignment_each(m->member_assignment, assigned_part, &x);  /* a bad one shows what it held */
}

static void describe_group(struct kconn *c, const char *group, struct group_view *v)
{
    int16_t ver = kc_need(c, KP_API_DESCRIBE_GROUPS, 5);
    struct kp_describe_groups_req rq;
    kp_describe_groups_req_init(&rq);
    struct kstr name = kstr_c(group);
    rq.groups_n = 1;
    rq.groups = &name;
    struct kp_describe_groups_resp rs;
    kc_call(c, KP_API_DESCRIBE_GROUPS, ver, &rq, &rs, &v->ar);
    if (rs.groups_n < 1)
        cli_die("empty DescribeGroups response");
    const struct kp_describe_groups_resp_groups *g = &rs.groups[0];
    int16_t err = g->error_code;
    if (err == KERR_GROUP_ID_NOT_FOUND) {
        snprintf(v->state, sizeof v->state, "Dead");
        return;
    }
    if (err != KERR_NONE)
        cli_die("%s: %s", kerr_exception(err), kerr_message(err));
    snprintf(v->state, sizeof v->state, "%.*s", (int)g->group_state.len, g->group_state.p);
    v->exists = strcmp(v->state, "Dead") != 0;
    v->nmembers = g->members_n > 0 ? g->members_n : 0;
    v->members = karena_calloc(&v->ar, (size_t)v->nmembers + 1, sizeof *v->members);
    for (int i = 0; i < v->nmembers; i++) {
        struct gmember *gm = &v->members[i];
        gm->id = arena_kstr(&v->ar, g->members[i].member_id);
        gm->client = arena_kstr(&v->ar, g->members[i].client_id);
        gm->host = arena_kstr(&v->ar, g->members[i].client_host);
        read_assignment(v, &g->members[i], gm);
    }
}

static void fetch_committed(struct kconn *c, const char *group, struct group_view *v)
{
    struct karena a;
    karena_init(&a);
    /* v8+ batch groups; v2-7 answer all of a group's partitions for topics null. */
    int16_t ver = kc_need(c, KP_API_OFFSET_FETCH, 7);
    struct kp_offset_fetch_req rq;
    kp_offset_fetch_req_init(&rq);
    rq.group_id = kstr_c(group);
    rq.topics_n = -1;
    struct kp_offset_fetch_resp rs;
    kc_call(c, KP_API_OFFSET_FETCH, ver, &rq, &rs, &a);
    if (rs.error_code != KERR_NONE)
        cli_die("%s: %s", kerr_exception(rs.error_code), kerr_message(rs.error_code));
    for (int32_t i = 0; i < rs.topics_n; i++) {
        char *topic = kstr_dup(rs.topics[i].name);
        for (int32_t j = 0; j < rs.topics[i].partitions_n; j++) {
            const struct kp_offset_fetch_resp_topics_partitions *p = &rs.topics[i].partitions[j];
            if (p->error_code == KERR_NONE && p->committed_offset >= 0)
                add_part(v, topic, p->partition_index)->offset = p->committed_offset;
        }
        free(topic);
    }
    karena_free(&a);
}

/* Earliest (-2) or latest (-1) offsets into each part's `leo` or `out`. */
static void fetch_offsets(struct kclient *kc, struct gpart *parts, int n, int64_t which,
                          int64_t *out)
{
    for (int i = 0; i < n; i++) {
        bool first = true;
        for (int k = 0; k < i && first; k++)
            first = strcmp(parts[k].topic, parts[i].topic) != 0;
        if (!first)
            continue;
        struct topic_meta *t;
        const char *name = parts[i].topic;
        int nt = topic_meta_load(kc, &name, 1, &t);
        int64_t *offs = calloc((size_t)(nt ? t[0].npart : 0) + 1, sizeof *offs);
        if (nt == 1 && t[0].error == KERR_NONE)
            list_offsets(kc, &t[0], which, offs);
        for (int k = i; k < n; k++)
            if (strcmp(parts[k].topic, name) == 0)
                out[k] = nt == 1 && parts[k].partition < t[0].npart ? offs[parts[k].partition] : -1;
        free(offs);
        topic_meta_free(t, nt);
    }
}

static int cmp_gpart(const void *x, const void *y)
{
    const struct gpart *a = x, *b = y;
    if ((a->member == NULL) != (b->member == NULL))
        return a->member ? -1 : 1;   /* assigned rows first, as Kafka prints them */
    int c = strcmp(a->topic, b->topic);
    return c ? c : a->partition - b->partition;
}

static void load_group(struct kclient *kc, const char *group, struct group_view *v)
{
    memset(v, 0, sizeof *v);
    karena_init(&v->ar);
    struct kconn *c = kc_coordinator(kc, group);
    describe_group(c, group, v);
    if (!v->exists)
        return;
    fetch_committed(c, group, v);
    int64_t *leo = calloc((size_t)v->nparts + 1, sizeof *leo);
    fetch_offsets(kc, v->parts, v->nparts, -1, leo);
    for (int i = 0; i < v->nparts; i++)
        v->parts[i].leo = leo[i];
    free(leo);
    qsort(v->parts, (size_t)v->nparts, sizeof *v->parts, cmp_gpart);
}

static void free_group(struct group_view *v)
{
    free(v->parts);
    karena_free(&v->ar);
}

/* ------------------------------------------------------------ describe */

static void print_num(int width, int64_t n, bool last)
{
    char buf[32];
    if (n >= 0)
        snprintf(buf, sizeof buf, "%lld", (long long)n);
    else
        snprintf(buf, sizeof buf, "-");
    if (last)
        printf("%s", buf);
    else
        printf("%-*s ", width, buf);
}

static int max_len(int w, const char *s)
{
    int n = s ? (int)strlen(s) : 1;
    return n > w ? n : w;
}

/* Members without partitions get a row of their own, as in Kafka. */
static int member_rows(const struct group_view *v, const struct gmember ***out)
{
    const struct gmember **idle = calloc((size_t)v->nmembers + 1, sizeof *idle);
    int n = 0;
    for (int i = 0; i < v->nmembers; i++) {
        bool has = false;
        for (int k = 0; k < v->nparts && !has; k++)
            has = v->parts[k].member == v->members[i].id;
        if (!has)
            idle[n++] = &v->members[i];
    }
    *out = idle;
    return n;
}

static void print_offsets(const char *group, const struct group_view *v)
{
    const struct gmember **idle;
    int nidle = member_rows(v, &idle);
    if (v->nparts + nidle == 0) {
        free(idle);
        return;
    }
    int wg = max_len(15, group), wt = 15, wc = 15, wh = 15;
    for (int i = 0; i < v->nparts; i++) {
        wt = max_len(wt, v->parts[i].topic);
        wc = max_len(wc, v->parts[i].member);
        wh = max_len(wh, v->parts[i].host);
    }
    for (int i = 0; i < nidle; i++) {
        wc = max_len(wc, idle[i]->id);
        wh = max_len(wh, idle[i]->host);
    }
    printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", wg, "GROUP", wt, "TOPIC",
           "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST",
           "CLIENT-ID");
    for (int i = 0; i < v->nparts; i++) {
        const struct gpart *p = &v->parts[i];
        printf("\n%-*s %-*s ", wg, group, wt, p->topic);
        print_num(10, p->partition, false);
        print_num(15, p->offset, false);
        print_num(15, p->leo, false);
        print_num(15, p->offset >= 0 && p->leo >= 0 ? p->leo - p->offset : -1, false);
        printf("%-*s %-*s %s", wc, p->member ? p->member : "-", wh, p->host ? p->host : "-",
               p->client ? p->client : "-");
    }
    for (int i = 0; i < nidle; i++)
        printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", wg, group, wt, "-", "-", "-",
               "-", "-", wc, idle[i]->id, wh, idle[i]->host, idle[i]->client);
    printf("\n");
    free(idle);
}

static int cmd_describe(struct kclient *kc, const char *const *groups, int ngroups)
{
    for (int i = 0; i < ngroups; i++) {
        struct group_view v;
        load_group(kc, groups[i], &v);
        if (!v.exists)
            print_error("Consumer group '%s' does not exist.", groups[i]);
        else if (strcmp(v.state, "Empty") == 0)
            fprintf(stderr, "\nConsumer group '%s' has no active members.\n", groups[i]);
        else if (strcmp(v.state, "PreparingRebalance") == 0 ||
                 strcmp(v.state, "CompletingRebalance") == 0)
            fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", groups[i]);
        if (v.exists)
            print_offsets(groups[i], &v);
        free_group(&v);
    }
    return 0;
}

/* ------------------------------------------------------------ list */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Consumer groups (protocol type "consumer" or none) of every broker. */
static int list_groups(struct kclient *kc, char ***out)
{
    char **names = NULL;
    int n = 0;
    for (int i = 0; i < kc->nnodes; i++) {
        struct kconn *c = kc_node(kc, kc->nodes[i].id);
        struct karena a;
        karena_init(&a);
        int16_t v = kc_need(c, KP_API_LIST_GROUPS, 4);
        struct kp_list_groups_req rq;
        kp_list_groups_req_init(&rq);
        struct kp_list_groups_resp rs;
        kc_call(c, KP_API_LIST_GROUPS, v, &rq, &rs, &a);
        if (rs.error_code != KERR_NONE)
            cli_die("%s: %s", kerr_exception(rs.error_code), kerr_message(rs.error_code));
        for (int32_t j = 0; j < rs.groups_n; j++) {
            struct kstr pt = rs.groups[j].protocol_type;
            if (pt.len > 0 && !kstr_eq(pt, "consumer"))
                continue;
            names = realloc(names, sizeof *names * (size_t)(n + 1));
            names[n++] = kstr_dup(rs.groups[j].group_id);
        }
        karena_free(&a);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static int cmd_list(struct kclient *kc)
{
    char **names;
    int n = list_groups(kc, &names);
    for (int i = 0; i < n; i++) {
        printf("%s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* ------------------------------------------------------------ reset */

/* The partitions named by --topic T or T:0,1 (all of T's otherwise). */
static void reset_targets(struct kclient *kc, const struct args *a, struct group_view *v,
                          struct gpart **out, int *nout)
{
    const char *const *topics;
    int nt = arg_values(a, "topic", &topics);
    struct group_view sel;
    memset(&sel, 0, sizeof sel);
    karena_init(&sel.ar);
    if (arg_has(a, "all-topics")) {
        for (int i = 0; i < v->nparts; i++)
            add_part(&sel, v->parts[i].topic, v->parts[i].partition);
    }
    for (int i = 0; i < nt; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s", topics[i]);
        char *colon = strchr(name, ':');
        if (colon)
            *colon++ = 0;
        if (colon) {
            char *save = NULL;
            for (char *p = strtok_r(colon, ",", &save); p; p = strtok_r(NULL, ",", &save))
                add_part(&sel, name, atoi(p));
            continue;
        }
        struct topic_meta *t;
        const char *nm = name;
        int n = topic_meta_load(kc, &nm, 1, &t);
        if (n != 1 || t[0].error != KERR_NONE)
            cli_die("org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This "
                    "server does not host this topic-partition.");
        for (int p = 0; p < t[0].npart; p++)
            add_part(&sel, name, p);
        topic_meta_free(t, n);
    }
    /* Current committed offsets, for --to-current and --shift-by. */
    for (int i = 0; i < sel.nparts; i++)
        for (int k = 0; k < v->nparts; k++)
            if (v->parts[k].partition == sel.parts[i].partition &&
                strcmp(v->parts[k].topic, sel.parts[i].topic) == 0)
                sel.parts[i].offset = v->parts[k].offset;
    /* Names live in sel's arena: copy into v's, which outlives this. */
    for (int i = 0; i < sel.nparts; i++)
        sel.parts[i].topic = karena_strdup(&v->ar, sel.parts[i].topic);
    karena_free(&sel.ar);
    *out = sel.parts;
    *nout = sel.nparts;
}

static void new_offsets(struct kclient *kc, const struct args *a, struct gpart *p, int n)
{
    int64_t *lo = calloc((size_t)n + 1, sizeof *lo), *hi = calloc((size_t)n + 1, sizeof *hi);
    fetch_offsets(kc, p, n, -2, lo);
    fetch_offsets(kc, p, n, -1, hi);
    for (int i = 0; i < n; i++) {
        int64_t want;
        if (arg_has(a, "to-earliest"))
            want = lo[i];
        else if (arg_has(a, "to-latest"))
            want = hi[i];
        else if (arg_has(a, "to-offset"))
            want = arg_int(a, "to-offset", 0);
        else if (arg_has(a, "shift-by"))
            want = (p[i].offset >= 0 ? p[i].offset : hi[i]) + arg_int(a, "shift-by", 0);
        else   /* --to-current */
            want = p[i].offset >= 0 ? p[i].offset : hi[i];
        /* Kafka clamps a target outside the log to its ends. */
        if (want > hi[i])
            want = hi[i];
        if (want < lo[i])
            want = lo[i];
        p[i].leo = want;   /* the new offset */
    }
    free(lo);
    free(hi);
}

static void commit_offsets(struct kconn *c, const char *group, const struct gpart *p, int n)
{
    struct karena a;
    karena_init(&a);
    int16_t ver = kc_need(c, KP_API_OFFSET_COMMIT, 8);
    struct kp_offset_commit_req rq;
    kp_offset_commit_req_init(&rq);
    rq.group_id = kstr_c(group);
    rq.generation_id_or_member_epoch = -1;   /* a commit from outside the group */
    rq.member_id = kstr_c("");
    rq.topics = karena_calloc(&a, (size_t)n + 1, sizeof *rq.topics);
    for (int i = 0; i < n; i++) {
        struct kp_offset_commit_req_topics *t = NULL;
        for (int32_t k = 0; k < rq.topics_n && !t; k++)
            if (kstr_eq(rq.topics[k].name, p[i].topic))
                t = &rq.topics[k];
        if (!t) {
            t = &rq.topics[rq.topics_n++];
            t->name = kstr_c(p[i].topic);
            t->partitions = karena_calloc(&a, (size_t)n + 1, sizeof *t->partitions);
        }
        struct kp_offset_commit_req_topics_partitions *tp = &t->partitions[t->partitions_n++];
        kp_offset_commit_req_topics_partitions_init(tp);
        tp->partition_index = p[i].partition;
        tp->committed_offset = p[i].leo;
        tp->committed_metadata = kstr_c("");
    }
    struct kp_offset_commit_resp rs;
    kc_call(c, KP_API_OFFSET_COMMIT, ver, &rq, &rs, &a);
    for (int32_t i = 0; i < rs.topics_n; i++)
        for (int32_t j = 0; j < rs.topics[i].partitions_n; j++) {
            int16_t e = rs.topics[i].partitions[j].error_code;
            if (e != KERR_NONE)
                cli_die("%s: %s", kerr_exception(e), kerr_message(e));
        }
    karena_free(&a);
}

static int cmd_reset(struct kclient *kc, const struct args *a, const char *group)
{
    struct group_view v;
    load_group(kc, group, &v);
    if (v.exists && strcmp(v.state, "Empty") != 0) {
        print_error("Assignments can only be reset if the group '%s' is inactive, but the "
                    "current state is %s.", group, v.state);
        free_group(&v);
        return 0;
    }
    struct gpart *p;
    int n;
    reset_targets(kc, a, &v, &p, &n);
    new_offsets(kc, a, p, n);
    if (arg_has(a, "execute") && n > 0)
        commit_offsets(kc_coordinator(kc, group), group, p, n);
    qsort(p, (size_t)n, sizeof *p, cmp_gpart);
    if (n > 0)
        printf("\n%-30s %-30s %-10s %-15s", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
    for (int i = 0; i < n; i++)
        printf("\n%-30s %-30s %-10d %-15lld", group, p[i].topic, (int)p[i].partition,
               (long long)p[i].leo);
    printf("\n");
    free(p);
    free_group(&v);
    return 0;
}

/* ------------------------------------------------------------ delete */

static int cmd_delete(struct kclient *kc, const char *const *groups, int n)
{
    char ok[4096] = "", failed[8192] = "";
    for (int i = 0; i < n; i++) {
        struct kconn *c = kc_coordinator(kc, groups[i]);
        struct karena a;
        karena_init(&a);
        int16_t v = kc_need(c, KP_API_DELETE_GROUPS, 2);
        struct kp_delete_groups_req rq;
        kp_delete_groups_req_init(&rq);
        struct kstr name = kstr_c(groups[i]);
        rq.groups_names_n = 1;
        rq.groups_names = &name;
        struct kp_delete_groups_resp rs;
        kc_call(c, KP_API_DELETE_GROUPS, v, &rq, &rs, &a);
        int16_t e = rs.results_n > 0 ? rs.results[0].error_code : KERR_UNKNOWN_SERVER_ERROR;
        if (e == KERR_NONE)
            snprintf(ok + strlen(ok), sizeof ok - strlen(ok), "%s'%s'", *ok ? ", " : "", groups[i]);
        else
            snprintf(failed + strlen(failed), sizeof failed - strlen(failed),
                     "* Group '%s' could not be deleted due to: %s: %s\n", groups[i],
                     kerr_exception(e), kerr_message(e));
        karena_free(&a);
    }
    if (!*failed) {
        printf("Deletion of requested consumer groups (%s) was successful.\n", ok);
        return 0;
    }
    print_error("Deletion of some consumer groups failed:");
    fputs(failed, stdout);
    if (*ok)
        printf("\nThese consumer groups were deleted successfully: %s\n", ok);
    return 0;
}

/* ------------------------------------------------------------ main */

static void check_args(const struct args *a)
{
    int actions = arg_has(a, "list") + arg_has(a, "describe") + arg_has(a, "delete") +
                  arg_has(a, "reset-offsets");
    if (actions != 1)
        args_usage_exit(a, "Command must include exactly one action: --list, --describe, "
                           "--delete, --reset-offsets, --delete-offsets");
    args_require(a, "bootstrap-server");
    if ((arg_has(a, "describe") || arg_has(a, "delete") || arg_has(a, "reset-offsets")) &&
        !arg_has(a, "group") && !arg_has(a, "all-groups"))
        args_usage_exit(a, "Option [%s] takes one of these options: [all-groups], [group]",
                        arg_has(a, "describe") ? "describe"
                        : arg_has(a, "delete") ? "delete"
                                               : "reset-offsets");
    if (arg_has(a, "reset-offsets")) {
        int scen = arg_has(a, "to-earliest") + arg_has(a, "to-latest") + arg_has(a, "to-offset") +
                   arg_has(a, "to-current") + arg_has(a, "shift-by");
        if (scen != 1)
            args_usage_exit(a, "Option [reset-offsets] takes exactly one of these options: "
                               "[to-datetime], [by-duration], [to-earliest], [to-latest], "
                               "[shift-by], [from-file], [to-current], [to-offset]");
        if (!arg_has(a, "topic") && !arg_has(a, "all-topics"))
            args_usage_exit(a, "Option [reset-offsets] takes one of these options: "
                               "[all-topics], [topic]");
        if (arg_has(a, "execute") && arg_has(a, "dry-run"))
            args_usage_exit(a, "Option [reset-offsets] only accepts one of [execute, dry-run]");
    }
}

int tool_consumer_groups(int argc, char **argv)
{
    struct args a;
    args_parse(&a, "kafka-consumer-groups", OPTS, argc, argv);
    check_args(&a);
    struct kclient kc;
    tool_connect(&kc, &a, "command-config", NULL);
    const char *const *groups;
    int ng = arg_values(&a, "group", &groups);
    char **all = NULL;
    if (arg_has(&a, "all-groups")) {
        ng = list_groups(&kc, &all);
        groups = (const char *const *)all;
    }
    int rc = 0;
    if (arg_has(&a, "list")) {
        rc = cmd_list(&kc);
    } else if (arg_has(&a, "describe")) {
        rc = cmd_describe(&kc, groups, ng);
    } else if (arg_has(&a, "delete")) {
        rc = cmd_delete(&kc, groups, ng);
    } else {
        if (!arg_has(&a, "execute") && !arg_has(&a, "dry-run"))
            fprintf(stderr, "WARN: No action will be performed as the --execute option is missing. In a "
                   "future major release, the default behavior of this command will be to "
                   "prompt the user before executing the reset rather than doing a dry run. You "
                   "should add the --dry-run option explicitly if you are scripting this command "
                   "and want to keep the current default behavior without prompting.\n");
        for (int i = 0; i < ng; i++)
            rc |= cmd_reset(&kc, &a, groups[i]);
    }
    for (int i = 0; all && i < ng; i++)
        free(all[i]);
    free(all);
    kc_close(&kc);
    args_free(&a);
    return rc;
}
