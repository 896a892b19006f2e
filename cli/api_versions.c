/*
 * api_versions.c — kafka-broker-api-versions: each broker's ApiVersions
 * answer in Kafka's NodeApiVersions layout,
 *
 *     HOST:PORT (id: 1 rack: null isFenced: false) -> (
 *     	Produce(0): 0 to 11 [usable: 11],
 *     	...
 *     )
 *
 * "usable" is the highest version these tools' codec and the broker share;
 * it is left out for APIs the codec does not describe (Kafka's Java client
 * knows every API, these tools only the ones they can encode).
 */
#include <stdio.h>
#include <string.h>

#include "tools.h"

/* The client-facing APIs of Kafka 4.1 (ApiKeys.clientApis()), by key. */
static const char *const API_NAMES[] = {
    [0] = "Produce", [1] = "Fetch", [2] = "ListOffsets", [3] = "Metadata",
    [8] = "OffsetCommit", [9] = "OffsetFetch", [10] = "FindCoordinator", [11] = "JoinGroup",
    [12] = "Heartbeat", [13] = "LeaveGroup", [14] = "SyncGroup", [15] = "DescribeGroups",
    [16] = "ListGroups", [17] = "SaslHandshake", [18] = "ApiVersions", [19] = "CreateTopics",
    [20] = "DeleteTopics", [21] = "DeleteRecords", [22] = "InitProducerId",
    [23] = "OffsetForLeaderEpoch", [24] = "AddPartitionsToTxn", [25] = "AddOffsetsToTxn",
    [26] = "EndTxn", [27] = "WriteTxnMarkers", [28] = "TxnOffsetCommit", [29] = "DescribeAcls",
    [30] = "CreateAcls", [31] = "DeleteAcls", [32] = "DescribeConfigs", [33] = "AlterConfigs",
    [34] = "AlterReplicaLogDirs", [35] = "DescribeLogDirs", [36] = "SaslAuthenticate",
    [37] = "CreatePartitions", [38] = "CreateDelegationToken", [39] = "RenewDelegationToken",
    [40] = "ExpireDelegationToken", [41] = "DescribeDelegationToken", [42] = "DeleteGroups",
    [43] = "ElectLeaders", [44] = "IncrementalAlterConfigs", [45] = "AlterPartitionReassignments",
    [46] = "ListPartitionReassignments", [47] = "OffsetDelete", [48] = "DescribeClientQuotas",
    [49] = "AlterClientQuotas", [50] = "DescribeUserScramCredentials",
    [51] = "AlterUserScramCredentials", [55] = "DescribeQuorum", [57] = "UpdateFeatures",
    [60] = "DescribeCluster", [61] = "DescribeProducers", [64] = "UnregisterBroker",
    [65] = "DescribeTransactions", [66] = "ListTransactions", [68] = "ConsumerGroupHeartbeat",
    [69] = "ConsumerGroupDescribe", [71] = "GetTelemetrySubscriptions", [72] = "PushTelemetry",
    [74] = "ListConfigResources", [75] = "DescribeTopicPartitions", [76] = "ShareGroupHeartbeat",
    [77] = "ShareGroupDescribe", [78] = "ShareFetch", [79] = "ShareAcknowledge",
    [80] = "AddRaftVoter", [81] = "RemoveRaftVoter", [83] = "InitializeShareGroupState",
    [84] = "ReadShareGroupState", [85] = "WriteShareGroupState", [86] = "DeleteShareGroupState",
    [87] = "ReadShareGroupStateSummary", [88] = "StreamsGroupHeartbeat",
    [89] = "StreamsGroupDescribe", [90] = "DescribeShareGroupOffsets",
    [91] = "AlterShareGroupOffsets", [92] = "DeleteShareGroupOffsets",
};
#define NAMES_N ((int)(sizeof API_NAMES / sizeof API_NAMES[0]))

static const struct opt_spec OPTS[] = {
    COMMON_OPTS,
    { NULL, 0, NULL, NULL },
};

/* One API's text, NULL when neither side has it. */
static const char *api_text(const struct kconn *c, int key, char *buf, size_t cap)
{
    const char *name = key < NAMES_N ? API_NAMES[key] : NULL;
    const struct kp_api_versions_resp_api_keys *k = NULL;
    for (int32_t i = 0; i < c->napis && !k; i++)
        if (c->apis[i].api_key == key)
            k = &c->apis[i];
    if (!k && !name)
        return NULL;
    int n = name ? snprintf(buf, cap, "%s(%d): ", name, key) : snprintf(buf, cap, "UNKNOWN(%d): ", key);
    if (!k) {
        snprintf(buf + n, cap - (size_t)n, "UNSUPPORTED");
        return buf;
    }
    if (k->min_version == k->max_version)
        n += snprintf(buf + n, cap - (size_t)n, "%d", k->min_version);
    else
        n += snprintf(buf + n, cap - (size_t)n, "%d to %d", k->min_version, k->max_version);
    const struct kp_api_info *api = kp_api_find((int16_t)key);
    if (name && api) {
        if (api->max < k->min_version)
            snprintf(buf + n, cap - (size_t)n, " [unusable: node too new]");
        else if (k->max_version < api->min)
            snprintf(buf + n, cap - (size_t)n, " [unusable: node too old]");
        else
            snprintf(buf + n, cap - (size_t)n, " [usable: %d]",
                     api->max < k->max_version ? api->max : k->max_version);
    }
    return buf;
}

static void print_node(const struct kc_node *n, const struct kconn *c)
{
    printf("%s:%d (id: %d rack: %s isFenced: false) -> (\n", n->host, (int)n->port, (int)n->id,
           n->rack ? n->rack : "null");
    int last = NAMES_N - 1;
    for (int32_t i = 0; i < c->napis; i++)
        if (c->apis[i].api_key > last)
            last = c->apis[i].api_key;
    const char *sep = "";
    for (int key = 0; key <= last; key++) {
        char buf[256];
        const char *t = api_text(c, key, buf, sizeof buf);
        if (t) {
            printf("%s\t%s", sep, t);
            sep = ",\n";
        }
    }
    printf("\n)\n");
}

int tool_broker_api_versions(int argc, char **argv)
{
    struct args a;
    args_parse(&a, "kafka-broker-api-versions", OPTS, argc, argv);
    args_require(&a, "bootstrap-server");
    struct kclient kc;
    tool_connect(&kc, &a, "command-config", NULL);
    for (int i = 0; i < kc.nnodes; i++)
        print_node(&kc.nodes[i], kc_node(&kc, kc.nodes[i].id));
    kc_close(&kc);
    args_free(&a);
    return 0;
}
