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
#include "scram_store.h"

const struct khandler khandlers[] = {
    /* Produce from v0: librdkafka turns compression off when Produce v0 is
     * missing. Message format v0/v1 inside is refused per partition. */
    { 0, 0, 11, h_produce },
    { 1, 4, 17, h_fetch },
    { 2, 0, 10, h_list_offsets },
    { 3, 0, 12, h_metadata },
    { 8, 0, 9, h_offset_commit },
    { 9, 0, 9, h_offset_fetch },
    /* FindCoordinator v6 only adds share groups (KIP-932). */
    { 10, 0, 5, h_find_coordinator },
    { 11, 0, 9, h_join_group },
    { 12, 0, 4, h_heartbeat },
    { 13, 0, 5, h_leave_group },
    { 14, 0, 5, h_sync_group },
    { 15, 0, 5, h_describe_groups },
    { 16, 0, 5, h_list_groups },
    { 17, 0, 1, h_sasl_handshake },
    { 18, 0, 4, h_api_versions },
    { 19, 0, 7, h_create_topics },
    { 20, 0, 6, h_delete_topics },
    { 21, 0, 2, h_delete_records },
    { 22, 0, 5, h_init_producer_id },
    { 23, 0, 4, h_offset_for_leader_epoch },
    { 29, 0, 3, h_describe_acls },
    { 30, 0, 3, h_create_acls },
    { 31, 0, 3, h_delete_acls },
    { 32, 0, 4, h_describe_configs },
    { 33, 0, 2, h_alter_configs },
    { 35, 0, 4, h_describe_log_dirs },
    { 36, 0, 2, h_sasl_authenticate },
    { 37, 0, 3, h_create_partitions },
    { 42, 0, 2, h_delete_groups },
    { 44, 0, 1, h_incremental_alter_configs },
    { 46, 0, 0, h_list_partition_reassignments },
    { 47, 0, 0, h_offset_delete },
    { 48, 0, 1, h_describe_client_quotas },
    { 50, 0, 0, h_describe_user_scram_credentials },
    { 51, 0, 0, h_alter_user_scram_credentials },
    { 60, 0, 1, h_describe_cluster },
    { 61, 0, 0, h_describe_producers },
    /* Kafka 4's kafka-topics --describe (KIP-966). */
    { 75, 0, 0, h_describe_topic_partitions },
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
    const struct khandler *self = khandler_find(18);
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
