/*
 * producer.c — kafka-console-producer: one record per stdin line, as
 * Kafka's ConsoleProducer with its LineMessageReader (parse.key,
 * key.separator, parse.headers, headers.delimiter/separator/key.separator,
 * null.marker, ignore.error). Keyed records go to the partition Kafka's
 * default partitioner picks (murmur2 of the key); unkeyed ones stick to one
 * partition per batch. Batches leave when stdin has nothing more ready,
 * every `batch-size` records, and at EOF; acks come from
 * --request-required-acks or --producer-property acks=... (default all).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "kafka_errors.h"
#include "record_batch.h"
#include "tools.h"

static const struct opt_spec OPTS[] = {
    { "batch-size", OPT_ARG, "<Integer: size>",
      "Number of messages to send in a single batch. (default: 16384)" },
    { "compression-codec", OPT_ARG, "[String: compression-codec]",
      "The compression codec: only 'none' is supported by kavka's console producer." },
    { "line-reader", OPT_ARG, "<String: reader_class>", "Only LineMessageReader is supported." },
    { "max-block-ms", OPT_ARG, "<Long: max block on send>",
      "The max time that the producer will block for during a send request. (default: 60000)" },
    { "producer-property", OPT_ARG, "<String: producer_prop>",
      "A mechanism to pass user-defined properties in the form key=value to the producer." },
    { "producer.config", OPT_ARG, "<String: config file>",
      "Producer config properties file (deprecated: use --command-config)." },
    { "property", OPT_ARG, "<String: prop>",
      "A mechanism to pass user-defined properties in the form key=value to the message "
      "reader: parse.key, key.separator, parse.headers, headers.delimiter, "
      "headers.separator, headers.key.separator, null.marker, ignore.error." },
    { "reader-property", OPT_ARG, "<String: reader_prop>", "The same as --property." },
    { "request-required-acks", OPT_ARG, "<String: request required acks>",
      "The required acks of the producer requests (default: -1)" },
    { "request-timeout-ms", OPT_ARG, "<Integer: request timeout ms>",
      "The ack timeout of the producer requests. (default: 1500)" },
    { "sync", 0, NULL, "If set message send requests to the brokers are synchronously, one at "
                       "a time as they arrive." },
    { "timeout", OPT_ARG, "<Long: timeout_ms>", "Accepted for compatibility (linger)." },
    { "topic", OPT_ARG, "<String: topic>", "REQUIRED: The topic id to produce messages to." },
    COMMON_OPTS,
    { NULL, 0, NULL, NULL },
};

struct reader_cfg {
    bool parse_key, parse_headers, ignore_error;
    const char *key_sep, *hdr_delim, *hdr_sep, *hdr_key_sep, *null_marker;
};

struct rec {
    char *key, *value;                  /* NULL: null */
    size_t klen, vlen;
    struct rb_hdr *hdrs;
    int nhdrs;
    char *line;                         /* owns the strings above */
};

struct producer {
    struct kclient *kc;
    const char *topic;
    struct topic_meta *meta;
    int nmeta;
    int16_t acks;
    int32_t timeout_ms;
    int sticky;                         /* partition for unkeyed records */
    struct rec **queue;                 /* by partition */
    int *qn, *qcap;
    int errors;
};

/* ------------------------------------------------------------ reading */

static char *cut(char *s, const char *sep)
{
    char *at = strstr(s, sep);
    if (!at)
        return NULL;
    *at = 0;
    return at + strlen(sep);
}

static void parse_headers(const struct reader_cfg *rc, char *s, struct rec *r)
{
    int n = 1;
    for (char *p = s; (p = strstr(p, rc->hdr_sep)); p += strlen(rc->hdr_sep))
        n++;
    r->hdrs = calloc((size_t)n, sizeof *r->hdrs);
    for (char *h = s; h;) {
        char *next = cut(h, rc->hdr_sep);
        char *val = cut(h, rc->hdr_key_sep);
        struct rb_hdr *hd = &r->hdrs[r->nhdrs++];
        hd->key = kstr_c(h);
        bool null = !val || (rc->null_marker && strcmp(val, rc->null_marker) == 0);
        hd->value = null ? (struct kbytes){ NULL, -1 }
                         : (struct kbytes){ (const uint8_t *)val, (int32_t)strlen(val) };
        h = next;
    }
}

/* A line without a separator it must have ends the producer (exit 1) once
 * the lines before it are sent, as Kafka's LineMessageReader's exception does. */
static char bad_msg[4096];

/* One line into a record; false when it is skipped (ignore.error) or bad
 * (bad_msg set). */
static bool parse_line(const struct reader_cfg *rc, char *line, long lineno, struct rec *r)
{
    memset(r, 0, sizeof *r);
    r->line = line;
    char *rest = line;
    if (rc->parse_headers) {
        char *after = cut(rest, rc->hdr_delim);
        if (!after) {
            if (rc->ignore_error)
                return false;
            snprintf(bad_msg, sizeof bad_msg, "No headers delimiter found on line number %ld: "
                     "'%s'", lineno, line);
            return false;
        }
        parse_headers(rc, rest, r);
        rest = after;
    }
    if (rc->parse_key) {
        char *value = cut(rest, rc->key_sep);
        if (!value) {
            if (rc->ignore_error) {
                r->value = rest;
                r->vlen = strlen(rest);
                return true;
            }
            snprintf(bad_msg, sizeof bad_msg, "No key separator found on line number %ld: '%s'",
                     lineno, line);
            return false;
        }
        r->key = rest;
        rest = value;
    }
    r->value = rest;
    if (rc->null_marker && r->key && strcmp(r->key, rc->null_marker) == 0)
        r->key = NULL;
    if (rc->null_marker && strcmp(r->value, rc->null_marker) == 0)
        r->value = NULL;
    r->klen = r->key ? strlen(r->key) : 0;
    r->vlen = r->value ? strlen(r->value) : 0;
    return true;
}

/* ------------------------------------------------------------ sending */

static void load_meta(struct producer *p)
{
    int64_t deadline = kc_now_ms() + 60000;
    for (;;) {
        topic_meta_free(p->meta, p->nmeta);
        struct karena a;
        karena_init(&a);
        struct kp_metadata_resp m;
        const char *t = p->topic;
        /* Auto-creation, as the Java producer's metadata request allows. */
        kc_metadata(p->kc, p->kc->boot, &t, 1, true, &a, &m, NULL);
        karena_free(&a);
        p->nmeta = topic_meta_load(p->kc, &t, 1, &p->meta);
        bool ready = p->nmeta == 1 && p->meta[0].error == KERR_NONE && p->meta[0].npart > 0;
        for (int i = 0; ready && i < p->meta[0].npart; i++)
            ready = p->meta[0].leader[i] >= 0;
        if (ready)
            return;
        if (kc_now_ms() > deadline)
            cli_die("org.apache.kafka.common.errors.TimeoutException: Topic %s not present in "
                    "metadata after 60000 ms.", p->topic);
        usleep(200 * 1000);
    }
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static bool retriable(int16_t e)
{
    return e == KERR_NOT_LEADER_OR_FOLLOWER || e == KERR_LEADER_NOT_AVAILABLE ||
           e == KERR_UNKNOWN_TOPIC_OR_PARTITION || e == KERR_REQUEST_TIMED_OUT ||
           e == KERR_NOT_ENOUGH_REPLICAS;
}

/* Produce one partition's queued records as one batch; true when the
 * broker asks for a retry. */
static bool send_partition(struct producer *p, int part)
{
    struct kconn *c = kc_node(p->kc, p->meta[0].leader[part]);
    /* v3+: exactly one batch per partition; v13+ names topics by id. */
    int16_t v = kc_need(c, KP_API_PRODUCE, 9);
    if (v < 3)
        cli_die("the broker at %s only speaks Produce below v3 (message format v2 needs v3+)",
                c->addr);
    struct kw w;
    kw_init(&w, NULL);
    struct rb_builder b;
    int64_t now = wall_ms();
    rb_builder_init(&b, &w, 0, now, 0, -1, -1, -1);
    for (int i = 0; i < p->qn[part]; i++) {
        const struct rec *r = &p->queue[part][i];
        rb_builder_add(&b, now,
                       r->key ? (struct kbytes){ (const uint8_t *)r->key, (int32_t)r->klen }
                              : (struct kbytes){ NULL, -1 },
                       r->value ? (struct kbytes){ (const uint8_t *)r->value, (int32_t)r->vlen }
                                : (struct kbytes){ NULL, -1 },
                       r->hdrs, r->nhdrs);
    }
    if (rb_builder_finish(&b) != 0)
        cli_die("out of memory");
    struct karena a;
    karena_init(&a);
    struct kp_produce_req rq;
    kp_produce_req_init(&rq);
    rq.acks = p->acks;
    rq.timeout_ms = p->timeout_ms;
    rq.topic_data_n = 1;
    rq.topic_data = karena_calloc(&a, 1, sizeof *rq.topic_data);
    rq.topic_data[0].name = kstr_c(p->topic);
    rq.topic_data[0].partition_data_n = 1;
    rq.topic_data[0].partition_data = karena_calloc(&a, 1, sizeof *rq.topic_data[0].partition_data);
    rq.topic_data[0].partition_data[0].index = part;
    rq.topic_data[0].partition_data[0].records = (struct krecords){ w.buf, (int32_t)w.len, NULL, 0, 0 };
    bool retry = false;
    if (p->acks == 0) {
        kc_send(c, KP_API_PRODUCE, v, &rq);
    } else {
        struct kp_produce_resp rs;
        kc_call(c, KP_API_PRODUCE, v, &rq, &rs, &a);
        int16_t e = KERR_UNKNOWN_SERVER_ERROR;
        if (rs.responses_n > 0 && rs.responses[0].partition_responses_n > 0)
            e = rs.responses[0].partition_responses[0].error_code;
        if (retriable(e)) {
            retry = true;
        } else if (e != KERR_NONE) {
            fprintf(stderr, "ERROR Error when sending message to topic %s with key: %s, value: "
                    "%s with error: (org.apache.kafka.clients.producer.internals."
                    "ErrorLoggingCallback)\n%s: %s\n", p->topic, "(batch)", "(batch)",
                    kerr_exception(e), kerr_message(e));
            p->errors++;
        }
    }
    karena_free(&a);
    kw_free(&w);
    return retry;
}

static void flush(struct producer *p)
{
    int64_t deadline = kc_now_ms() + 60000;
    for (int part = 0; part < p->meta[0].npart; part++) {
        if (p->qn[part] == 0)
            continue;
        while (send_partition(p, part)) {
            if (kc_now_ms() > deadline)
                cli_die("org.apache.kafka.common.errors.TimeoutException: Expiring records for "
                        "%s-%d", p->topic, part);
            usleep(200 * 1000);
            load_meta(p);
        }
        for (int i = 0; i < p->qn[part]; i++) {
            free(p->queue[part][i].line);
            free(p->queue[part][i].hdrs);
        }
        p->qn[part] = 0;
    }
    p->sticky = (p->sticky + 1) % p->meta[0].npart;
}

static void enqueue(struct producer *p, const struct rec *r)
{
    int np = p->meta[0].npart;
    int part = r->key ? (int)((kafka_murmur2((const uint8_t *)r->key, r->klen) & 0x7fffffff) % np)
                      : p->sticky;
    if (p->qn[part] == p->qcap[part]) {
        p->qcap[part] = p->qcap[part] ? p->qcap[part] * 2 : 64;
        p->queue[part] = realloc(p->queue[part], sizeof **p->queue * (size_t)p->qcap[part]);
        if (!p->queue[part])
            cli_die("out of memory");
    }
    p->queue[part][p->qn[part]++] = *r;
}

static bool stdin_ready(void)
{
    struct pollfd pf = { .fd = 0, .events = POLLIN };
    return poll(&pf, 1, 0) == 1;
}

/* ------------------------------------------------------------ main */

static const char *prop(const struct props *pp, const char *k, const char *dflt)
{
    const char *v = props_get(pp, k);
    return v ? v : dflt;
}

static int16_t parse_acks(const char *s)
{
    if (strcmp(s, "all") == 0 || strcmp(s, "-1") == 0)
        return -1;
    if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0)
        return (int16_t)atoi(s);
    cli_die("Invalid value %s for configuration acks: String must be one of: all, -1, 0, 1", s);
}

static void run(struct producer *p, const struct reader_cfg *rc, long batch)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, queued = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = 0;
        struct rec r;
        if (parse_line(rc, line, lineno, &r)) {
            enqueue(p, &r);
            queued++;
        } else {
            free(line);
            if (*bad_msg) {
                flush(p);
                cli_die("org.apache.kafka.common.KafkaException: %s", bad_msg);
            }
        }
        line = NULL;
        cap = 0;
        if (queued >= batch || !stdin_ready()) {
            flush(p);
            queued = 0;
        }
    }
    free(line);
    flush(p);
}

int tool_console_producer(int argc, char **argv)
{
    struct args a;
    args_parse(&a, "kafka-console-producer", OPTS, argc, argv);
    args_require(&a, "topic");
    args_require(&a, "bootstrap-server");
    const char *codec = arg_get(&a, "compression-codec");
    if (codec && strcmp(codec, "none") != 0)
        cli_die("compression codec %s is not supported by kavka's console producer", codec);
    struct props reader = { 0 }, prod = { 0 };
    args_kv_into(&a, "property", &reader);
    args_kv_into(&a, "reader-property", &reader);
    args_kv_into(&a, "producer-property", &prod);
    struct reader_cfg rc = {
        .parse_key = strcmp(prop(&reader, "parse.key", "false"), "true") == 0,
        .parse_headers = strcmp(prop(&reader, "parse.headers", "false"), "true") == 0,
        .ignore_error = strcmp(prop(&reader, "ignore.error", "false"), "true") == 0,
        .key_sep = prop(&reader, "key.separator", "\t"),
        .hdr_delim = prop(&reader, "headers.delimiter", "\t"),
        .hdr_sep = prop(&reader, "headers.separator", ","),
        .hdr_key_sep = prop(&reader, "headers.key.separator", ":"),
        .null_marker = props_get(&reader, "null.marker"),
    };
    struct kclient kc;
    tool_connect(&kc, &a, arg_has(&a, "command-config") ? "command-config" : "producer.config",
                 &prod);
    struct producer p = { .kc = &kc, .topic = arg_get(&a, "topic") };
    p.acks = parse_acks(prop(&prod, "acks", arg_get(&a, "request-required-acks")
                                                ? arg_get(&a, "request-required-acks") : "-1"));
    p.timeout_ms = (int32_t)arg_int(&a, "request-timeout-ms", 1500);
    load_meta(&p);
    int np = p.meta[0].npart;
    p.queue = calloc((size_t)np, sizeof *p.queue);
    p.qn = calloc((size_t)np, sizeof *p.qn);
    p.qcap = calloc((size_t)np, sizeof *p.qcap);
    p.sticky = (int)(wall_ms() % np);
    run(&p, &rc, arg_has(&a, "sync") ? 1 : arg_int(&a, "batch-size", 16384));
    int rc_exit = p.errors ? 1 : 0;
    for (int i = 0; i < np; i++)
        free(p.queue[i]);
    free(p.queue);
    free(p.qn);
    free(p.qcap);
    topic_meta_free(p.meta, p.nmeta);
    props_free(&reader);
    props_free(&prod);
    kc_close(&kc);
    args_free(&a);
    return rc_exit;
}
