/*
 * metrics.c — the broker's /metrics (see metrics.h): rendering on scrape.
 *
 * Names are those the Prometheus JMX exporter's Kafka example rules
 * (kafka-2_0_0.yml, lowercaseOutputName) make of Kafka's MBeans:
 *
 *   kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec[,topic=T]
 *     -> kafka_server_brokertopicmetrics_messagesin_total[{topic="T"}]
 *   kafka.network:type=RequestMetrics,name=RequestsPerSec,request=R,version=V
 *     -> kafka_network_requestmetrics_requests_total{request="R",version="V"}
 *   kafka.network:type=RequestMetrics,name=TotalTimeMs,request=R (a histogram)
 *     -> kafka_network_requestmetrics_totaltimems{request="R",quantile="0.50"...}
 *        and _count (here also _sum, so that it is a whole summary)
 *   kafka.log:type=Log,name=Size,topic=T,partition=P
 *     -> kafka_log_log_size{topic="T",partition="P"}
 *   kafka.server:type=ReplicaManager,name=PartitionCount
 *     -> kafka_server_replicamanager_partitioncount
 *   ...
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "klog.h"

struct bm_counters bm;

static struct prom_server *server;

/* Kafka's BrokerState: RUNNING (3) is what a serving broker reports. */
#define BROKER_STATE_RUNNING 3

/* The request name Kafka's RequestMetrics use: the API's name, but a
 * consumer's Fetch is "FetchConsumer" (a follower's would be FetchFollower;
 * kavka has none). */
static const char *request_name(int key)
{
    if (key == 1)
        return "FetchConsumer";
    const struct kp_api_info *a = kp_api_find((int16_t)key);
    return a ? a->name : NULL;
}

static void topic_counter(struct evbuffer *o, const struct topics *ts, const char *name,
                          const char *help, uint64_t all, size_t field)
{
    prom_family(o, name, "counter", help);
    prom_sample_u64(o, name, NULL, 0, all);
    for (int i = 0; i < ts->n; i++) {
        const struct topic *t = ts->v[i];
        struct prom_label l = { "topic", t->name };
        prom_sample_u64(o, name, &l, 1, *(const uint64_t *)((const char *)t + field));
    }
}

static void render_topic_metrics(struct evbuffer *o, const struct topics *ts)
{
    topic_counter(o, ts, "kafka_server_brokertopicmetrics_messagesin_total",
                  "Records appended (kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec), "
                  "all topics and per topic", bm.messages_in,
                  offsetof(struct topic, m_messages_in));
    topic_counter(o, ts, "kafka_server_brokertopicmetrics_bytesin_total",
                  "Bytes of record batches appended (kafka.server:type=BrokerTopicMetrics,"
                  "name=BytesInPerSec), all topics and per topic", bm.bytes_in,
                  offsetof(struct topic, m_bytes_in));
    topic_counter(o, ts, "kafka_server_brokertopicmetrics_bytesout_total",
                  "Bytes of records in Fetch responses (kafka.server:type=BrokerTopicMetrics,"
                  "name=BytesOutPerSec), all topics and per topic", bm.bytes_out,
                  offsetof(struct topic, m_bytes_out));
}

static void render_request_metrics(struct evbuffer *o)
{
    static const char req_name[] = "kafka_network_requestmetrics_requests_total";
    prom_family(o, req_name, "counter",
                "Requests answered, per API and version (kafka.network:type=RequestMetrics,"
                "name=RequestsPerSec)");
    for (int k = 0; k < BM_APIS; k++) {
        const char *name = request_name(k);
        if (!name)
            continue;
        for (int v = 0; v < BM_VERSIONS; v++) {
            if (!bm.requests[k][v])
                continue;
            char ver[8];
            snprintf(ver, sizeof ver, "%d", v);
            struct prom_label l[2] = { { "request", name }, { "version", ver } };
            prom_sample_u64(o, req_name, l, 2, bm.requests[k][v]);
        }
    }

    /* TotalTimeMs: the histogram's percentiles, with the quantile labels
     * the exporter's rule writes ("0.$N" of the Nth percentile), over the
     * last PROM_WINDOW requests of each API. */
    static const char t_name[] = "kafka_network_requestmetrics_totaltimems";
    static const double q[] = { 0.50, 0.75, 0.95, 0.98, 0.99, 0.999 };
    static const char *const qlabel[] = { "0.50", "0.75", "0.95", "0.98", "0.99", "0.999" };
    enum { NQ = sizeof q / sizeof q[0] };
    prom_family(o, t_name, "summary",
                "Time from a request's arrival to its response leaving, ms, per API "
                "(kafka.network:type=RequestMetrics,name=TotalTimeMs)");
    for (int k = 0; k < BM_APIS; k++) {
        const struct prom_window *w = &bm.total_time[k];
        const char *name = request_name(k);
        if (!name || !w->count)
            continue;
        double v[NQ];
        prom_window_quantiles(w, q, NQ, v);
        for (int i = 0; i < NQ; i++) {
            struct prom_label l[2] = { { "request", name }, { "quantile", qlabel[i] } };
            prom_sample_dbl(o, t_name, l, 2, v[i]);
        }
        struct prom_label l = { "request", name };
        prom_sample_dbl(o, "kafka_network_requestmetrics_totaltimems_sum", &l, 1,
                        (double)w->sum_us / 1000.0);
        prom_sample_u64(o, "kafka_network_requestmetrics_totaltimems_count", &l, 1, w->count);
    }
}

static void log_gauge(struct evbuffer *o, const struct topics *ts, const char *name,
                      const char *help, int64_t (*get)(const struct plog *))
{
    prom_family(o, name, "gauge", help);
    for (int i = 0; i < ts->n; i++) {
        const struct topic *t = ts->v[i];
        for (int32_t p = 0; p < t->nparts; p++) {
            const struct plog *log = t->parts[p].log;
            /* Kafka removes an offline log's metrics. */
            if (!log || plog_offline(log))
                continue;
            char part[16];
            snprintf(part, sizeof part, "%d", (int)p);
            struct prom_label l[2] = { { "topic", t->name }, { "partition", part } };
            prom_sample_i64(o, name, l, 2, get(log));
        }
    }
}

static int64_t segments(const struct plog *l)
{
    return plog_segment_count(l);
}

static void gauge(struct evbuffer *o, const char *name, const char *help, int64_t v)
{
    prom_family(o, name, "gauge", help);
    prom_sample_i64(o, name, NULL, 0, v);
}

static void render_partitions(struct evbuffer *o, const struct broker *b)
{
    const struct topics *ts = b->topics;
    int64_t parts = 0, offline = 0, under_min_isr = 0, at_min_isr = 0;
    for (int i = 0; i < ts->n; i++) {
        const struct topic *t = ts->v[i];
        for (int32_t p = 0; p < t->nparts; p++) {
            parts++;
            if (!t->parts[p].log || plog_offline(t->parts[p].log)) {
                offline++;
                continue;
            }
            /* The ISR is this broker alone: one replica in sync. */
            if (t->min_insync > 1)
                under_min_isr++;
            else if (t->min_insync == 1)
                at_min_isr++;
        }
    }
    /* One broker: it leads every partition that is online, and every
     * partition has exactly one replica, which is in sync. */
    gauge(o, "kafka_server_replicamanager_partitioncount",
          "Partitions on this broker (kafka.server:type=ReplicaManager,name=PartitionCount)", parts);
    gauge(o, "kafka_server_replicamanager_leadercount",
          "Partitions this broker leads: every online one (kafka.server:type=ReplicaManager,"
          "name=LeaderCount)", parts - offline);
    gauge(o, "kafka_server_replicamanager_underreplicatedpartitions",
          "Partitions with replicas out of sync: none, each has one replica "
          "(kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions)", 0);
    gauge(o, "kafka_server_replicamanager_underminisrpartitioncount",
          "Partitions whose min.insync.replicas is above their one in-sync replica "
          "(kafka.server:type=ReplicaManager,name=UnderMinIsrPartitionCount)", under_min_isr);
    gauge(o, "kafka_server_replicamanager_atminisrpartitioncount",
          "Partitions whose in-sync replicas are exactly min.insync.replicas "
          "(kafka.server:type=ReplicaManager,name=AtMinIsrPartitionCount)", at_min_isr);
    gauge(o, "kafka_server_replicamanager_offlinereplicacount",
          "Replicas offline after a storage error (kafka.server:type=ReplicaManager,"
          "name=OfflineReplicaCount)", offline);
    /* With a metastore, the topics' writable hook is cluster.c's "registered
     * in a live session", which is when this broker holds /controller. */
    gauge(o, "kafka_controller_kafkacontroller_activecontrollercount",
          "1 when this broker is the active controller: always alone, or once registered in "
          "the metastore (kafka.controller:type=KafkaController,name=ActiveControllerCount)",
          !ts->writable || ts->writable(ts->hook_arg) ? 1 : 0);
    gauge(o, "kafka_controller_kafkacontroller_offlinepartitionscount",
          "Partitions without a leader: those taken offline by a storage error "
          "(kafka.controller:type=KafkaController,name=OfflinePartitionsCount)", offline);
    gauge(o, "kafka_controller_kafkacontroller_globaltopiccount",
          "Topics in the cluster (kafka.controller:type=KafkaController,name=GlobalTopicCount)",
          ts->n);
    gauge(o, "kafka_controller_kafkacontroller_globalpartitioncount",
          "Partitions in the cluster (kafka.controller:type=KafkaController,"
          "name=GlobalPartitionCount)", parts);
    gauge(o, "kafka_server_kafkaserver_brokerstate",
          "Broker state, 3 = RUNNING (kafka.server:type=KafkaServer,name=BrokerState)",
          BROKER_STATE_RUNNING);
}

void bm_render(struct evbuffer *o, void *arg)
{
    const struct broker *b = arg;
    render_topic_metrics(o, b->topics);
    render_request_metrics(o);
    log_gauge(o, b->topics, "kafka_log_log_size",
              "Bytes in a partition's segment files (kafka.log:type=Log,name=Size)", plog_size_bytes);
    log_gauge(o, b->topics, "kafka_log_log_logendoffset",
              "A partition's log end offset (kafka.log:type=Log,name=LogEndOffset)",
              plog_end_offset);
    log_gauge(o, b->topics, "kafka_log_log_logstartoffset",
              "A partition's log start offset (kafka.log:type=Log,name=LogStartOffset)",
              plog_start_offset);
    log_gauge(o, b->topics, "kafka_log_log_numlogsegments",
              "Segments of a partition's log (kafka.log:type=Log,name=NumLogSegments)", segments);
    render_partitions(o, b);
}

int bm_open(struct broker *b)
{
    const char *url = broker_config_get(b->cfg, "metrics.listener");
    if (!url || !*url)
        return 0;
    char host[256], err[300];
    int port;
    if (prom_parse_listener(url, host, sizeof host, &port, err, sizeof err) != 0) {
        KLOG_ERROR("Invalid value for configuration metrics.listener: %s", err);
        return -1;
    }
    server = prom_server_start(b->base, host, port, bm_render, b);
    return server ? 0 : -1;
}

void bm_close(void)
{
    prom_server_free(server);
    server = NULL;
}
