/*
 * tool_common.c — helpers the kafka-* tools share (see tools.h).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "tools.h"

void tool_connect(struct kclient *kc, const struct args *a, const char *config_opt,
                  const struct props *extra)
{
    struct props cfg;
    args_load_config(a, config_opt, &cfg);
    for (size_t i = 0; extra && i < extra->n; i++)
        if (props_set(&cfg, extra->v[i].key, extra->v[i].value) != 0)
            cli_die("out of memory");
    kc_init(kc, a->tool, arg_get(a, "bootstrap-server"), &cfg);
    props_free(&cfg);
    kc_bootstrap(kc);
}

static int cmp_meta(const void *x, const void *y)
{
    return strcmp(((const struct topic_meta *)x)->name, ((const struct topic_meta *)y)->name);
}

int topic_meta_load(struct kclient *kc, const char *const *topics, int n,
                    struct topic_meta **out)
{
    struct karena a;
    karena_init(&a);
    struct kp_metadata_resp m;
    kc_metadata(kc, kc->boot, topics, n, false, &a, &m, NULL);
    int nt = m.topics_n > 0 ? m.topics_n : 0;
    struct topic_meta *t = calloc((size_t)nt + 1, sizeof *t);
    if (!t)
        cli_die("out of memory");
    for (int i = 0; i < nt; i++) {
        const struct kp_metadata_resp_topics *mt = &m.topics[i];
        t[i].name = kstr_dup(mt->name);
        memcpy(t[i].id, mt->topic_id, 16);
        t[i].internal = mt->is_internal;
        t[i].error = mt->error_code;
        int np = 0;
        for (int32_t p = 0; p < mt->partitions_n; p++)
            if (mt->partitions[p].partition_index + 1 > np)
                np = mt->partitions[p].partition_index + 1;
        t[i].npart = np;
        t[i].leader = calloc((size_t)np + 1, sizeof *t[i].leader);
        if (!t[i].name || !t[i].leader)
            cli_die("out of memory");
        for (int p = 0; p < np; p++)
            t[i].leader[p] = -1;
        for (int32_t p = 0; p < mt->partitions_n; p++)
            t[i].leader[mt->partitions[p].partition_index] = mt->partitions[p].leader_id;
    }
    karena_free(&a);
    qsort(t, (size_t)nt, sizeof *t, cmp_meta);
    *out = t;
    return nt;
}

void topic_meta_free(struct topic_meta *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].leader);
    }
    free(t);
}

const struct topic_meta *topic_meta_find(const struct topic_meta *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

/* ListOffsets to one leader for the partitions it leads. */
static void list_offsets_at(struct kclient *kc, const struct topic_meta *t, int32_t leader,
                            int64_t which, int64_t *out)
{
    struct kconn *c = kc_node(kc, leader);
    struct karena a;
    karena_init(&a);
    int16_t v = kc_need(c, KP_API_LIST_OFFSETS, 7);
    struct kp_list_offsets_req rq;
    kp_list_offsets_req_init(&rq);
    rq.replica_id = -1;
    rq.topics_n = 1;
    rq.topics = karena_calloc(&a, 1, sizeof *rq.topics);
    rq.topics[0].name = kstr_c(t->name);
    rq.topics[0].partitions = karena_calloc(&a, (size_t)t->npart + 1,
                                            sizeof *rq.topics[0].partitions);
    for (int p = 0; p < t->npart; p++) {
        if (t->leader[p] != leader)
            continue;
        struct kp_list_offsets_req_topics_partitions *rp =
            &rq.topics[0].partitions[rq.topics[0].partitions_n++];
        kp_list_offsets_req_topics_partitions_init(rp);
        rp->partition_index = p;
        rp->timestamp = which;
    }
    struct kp_list_offsets_resp rs;
    kc_call(c, KP_API_LIST_OFFSETS, v, &rq, &rs, &a);
    for (int32_t i = 0; i < rs.topics_n; i++)
        for (int32_t j = 0; j < rs.topics[i].partitions_n; j++) {
            const struct kp_list_offsets_resp_topics_partitions *rp = &rs.topics[i].partitions[j];
            if (rp->partition_index < 0 || rp->partition_index >= t->npart)
                continue;
            int64_t off = v == 0 ? (rp->old_style_offsets_n > 0 ? rp->old_style_offsets[0] : -1)
                                 : rp->offset;
            out[rp->partition_index] = rp->error_code == KERR_NONE ? off : -1;
        }
    karena_free(&a);
}

void list_offsets(struct kclient *kc, const struct topic_meta *t, int64_t which, int64_t *out)
{
    for (int p = 0; p < t->npart; p++)
        out[p] = -1;
    /* One request per distinct leader, as the Java admin client batches. */
    for (int p = 0; p < t->npart; p++) {
        int32_t leader = t->leader[p];
        bool seen = leader < 0;
        for (int q = 0; q < p && !seen; q++)
            seen = t->leader[q] == leader;
        if (!seen)
            list_offsets_at(kc, t, leader, which, out);
    }
}

struct name_filter {
    regex_t re;
};

/* Java regex -> POSIX ERE for the common subset: ',' separates
 * alternatives (IncludeList), the whole name must match. */
struct name_filter *name_filter_new(const char *pattern)
{
    size_t n = strlen(pattern);
    char *ere = malloc(n * 2 + 8);
    struct name_filter *f = calloc(1, sizeof *f);
    if (!ere || !f)
        cli_die("out of memory");
    size_t o = 0;
    ere[o++] = '^';
    ere[o++] = '(';
    for (size_t i = 0; i < n; i++) {
        char ch = pattern[i];
        if (ch == ',')
            ere[o++] = '|';
        else if (ch != ' ' && ch != '"')
            ere[o++] = ch;
    }
    ere[o++] = ')';
    ere[o++] = '$';
    ere[o] = 0;
    if (regcomp(&f->re, ere, REG_EXTENDED | REG_NOSUB) != 0)
        cli_die("Invalid topic pattern '%s'", pattern);
    free(ere);
    return f;
}

int name_filter_match(const struct name_filter *f, const char *name)
{
    return !f || regexec(&f->re, name, 0, NULL, 0) == 0;
}

void name_filter_free(struct name_filter *f)
{
    if (f) {
        regfree(&f->re);
        free(f);
    }
}

/* Kafka's Utils.murmur2, the default partitioner's hash of a key (the Java
 * producer, kafka-console-producer, the console's produce form). */
int32_t kafka_murmur2(const uint8_t *data, size_t len)
{
    const uint32_t m = 0x5bd1e995, seed = 0x9747b28c;
    const int r = 24;
    uint32_t h = seed ^ (uint32_t)len;
    size_t n4 = len / 4;
    for (size_t i = 0; i < n4; i++) {
        const uint8_t *p = data + i * 4;
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const uint8_t *tail = data + n4 * 4;
    switch (len % 4) {
    case 3: h ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1: h ^= tail[0]; h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int assignment_each(struct kbytes as, assignment_fn fn, void *arg)
{
    struct kr r;
    kr_init(&r, as.p, as.len > 0 ? (size_t)as.len : 0);
    if (kr_left(&r) < 2)
        return 0;
    kr_i16(&r);                                   /* version */
    int32_t nt = kr_array_len(&r, false, 6);
    for (int32_t i = 0; i < nt && !r.err; i++) {
        struct kstr t = kr_str(&r, false);
        int32_t np = kr_array_len(&r, false, 4);
        for (int32_t j = 0; j < np && !r.err; j++) {
            int32_t p = kr_i32(&r);
            if (!r.err)
                fn(arg, t, p);
        }
    }
    return r.err ? -1 : 0;
}
