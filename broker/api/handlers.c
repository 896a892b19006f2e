/*
 * handlers.c — the request handler table and ApiVersions.
 *
 * The table is the one source of truth: dispatch checks versions against it
 * and ApiVersions advertises exactly its rows, so what is advertised cannot
 * drift from what is implemented. Ranges are Kafka 4.x's plus the older,
 * non-flexible versions kafka-python 2.0.2 and kafkajs 2.2.4 still send.
 */
#include "broker.h"
#include "kafka_errors.h"

const struct khandler khandlers[] = {
    /* Produce from v0: librdkafka turns compression off when Produce v0 is
     * missing. Message format v0/v1 inside is refused per partition. */
    { KP_API_PRODUCE, 0, 11, h_produce },
    { KP_API_FETCH, 4, 17, h_fetch },
    { KP_API_LIST_OFFSETS, 0, 10, h_list_offsets },
    { KP_API_METADATA, 0, 12, h_metadata },
    { KP_API_OFFSET_COMMIT, 0, 9, h_offset_commit },
    { KP_API_OFFSET_FETCH, 0, 9, h_offset_fetch },
    /* FindCoordinator v6 only adds share groups (KIP-932). */
    { KP_API_FIND_COORDINATOR, 0, 5, h_find_coordinator },
    { KP_API_JOIN_GROUP, 0, 9, h_join_group },
    { KP_API_HEARTBEAT, 0, 4, h_heartbeat },
    { KP_API_LEAVE_GROUP, 0, 5, h_leave_group },
    { KP_API_SYNC_GROUP, 0, 5, h_sync_group },
    { KP_API_DESCRIBE_GROUPS, 0, 5, h_describe_groups },
    { KP_API_LIST_GROUPS, 0, 5, h_list_groups },
    { KP_API_SASL_HANDSHAKE, 0, 1, h_sasl_handshake },
    { KP_API_API_VERSIONS, 0, 4, h_api_versions },
    { KP_API_CREATE_TOPICS, 0, 7, h_create_topics },
    { KP_API_DELETE_TOPICS, 0, 6, h_delete_topics },
    { KP_API_DELETE_RECORDS, 0, 2, h_delete_records },
    { KP_API_INIT_PRODUCER_ID, 0, 5, h_init_producer_id },
    { KP_API_OFFSET_FOR_LEADER_EPOCH, 0, 4, h_offset_for_leader_epoch },
    { KP_API_DESCRIBE_ACLS, 0, 3, h_describe_acls },
    { KP_API_CREATE_ACLS, 0, 3, h_create_acls },
    { KP_API_DELETE_ACLS, 0, 3, h_delete_acls },
    { KP_API_DESCRIBE_CONFIGS, 0, 4, h_describe_configs },
    { KP_API_ALTER_CONFIGS, 0, 2, h_alter_configs },
    { KP_API_DESCRIBE_LOG_DIRS, 0, 4, h_describe_log_dirs },
    { KP_API_SASL_AUTHENTICATE, 0, 2, h_sasl_authenticate },
    { KP_API_CREATE_PARTITIONS, 0, 3, h_create_partitions },
    { KP_API_DELETE_GROUPS, 0, 2, h_delete_groups },
    { KP_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, h_incremental_alter_configs },
    { KP_API_LIST_PARTITION_REASSIGNMENTS, 0, 0, h_list_partition_reassignments },
    { KP_API_OFFSET_DELETE, 0, 0, h_offset_delete },
    { KP_API_DESCRIBE_CLIENT_QUOTAS, 0, 1, h_describe_client_quotas },
    { KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, h_describe_user_scram_credentials },
    { KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0, h_alter_user_scram_credentials },
    { KP_API_DESCRIBE_CLUSTER, 0, 1, h_describe_cluster },
    { KP_API_DESCRIBE_PRODUCERS, 0, 0, h_describe_producers },
    /* Kafka 4's kafka-topics --describe (KIP-966). */
    { KP_API_DESCRIBE_TOPIC_PARTITIONS, 0, 0, h_describe_topic_partitions },
};
const int khandlers_n = (int)(sizeof khandlers / sizeof khandlers[0]);

const struct khandler *khandler_find(int16_t key)
{
    for (int i = 0; i < khandlers_n; i++)
        if (khandlers[i].key == key)
            return &khandlers[i];
    return NULL;
}

int h_api_versions(struct kreq *req)
{
    struct kp_api_versions_req rq;
    const struct khandler *self = khandler_find(KP_API_API_VERSIONS);
    int16_t ver = req->api_version;
    bool unsupported = ver < self->min || ver > self->max;

    /* KIP-511: a client asking for a version we lack gets a v0-format
     * answer with UNSUPPORTED_VERSION and our ranges, and retries. Its
     * body may be in a layout we do not know, so it is not parsed. */
    if (unsupported) {
        ver = 0;
    } else if (kp_api_versions_req_decode(&req->body, ver, &req->arena, &rq) != 0) {
        return -1;
    }

    struct kp_api_versions_resp rs;
    kp_api_versions_resp_init(&rs);
    rs.error_code = unsupported ? KERR_UNSUPPORTED_VERSION : KERR_NONE;
    rs.api_keys_n = khandlers_n;
    rs.api_keys = karena_calloc(&req->arena, (size_t)khandlers_n, sizeof *rs.api_keys);
    if (!rs.api_keys)
        return -1;
    for (int i = 0; i < khandlers_n; i++) {
        kp_api_versions_resp_api_keys_init(&rs.api_keys[i]);
        rs.api_keys[i].api_key = khandlers[i].key;
        rs.api_keys[i].min_version = khandlers[i].min;
        rs.api_keys[i].max_version = khandlers[i].max;
    }
    rs.finalized_features_epoch = -1;
    rs.supported_features_n = 0;
    rs.finalized_features_n = 0;

    struct kw w;
    req->api_version = ver; /* the response header follows the answered version */
    kreq_writer(req, &w);
    kp_api_versions_resp_encode(&w, ver, &rs);
    kreq_finish(req, &w);
    return 0;
}
