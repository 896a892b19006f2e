/*
 * errors.c — Kafka error codes as Kafka's Java client names them: the
 * protocol name, the exception class and its default message (Errors.java),
 * so the tools print what Kafka's tools print for the same broker answer.
 */
#include <stdio.h>

#include "client.h"
#include "kafka_errors.h"

struct kerr_info {
    int16_t code;
    const char *name, *exception, *message;
};

static const struct kerr_info ERRORS[] = {
    { KERR_UNKNOWN_SERVER_ERROR, "UNKNOWN_SERVER_ERROR", "UnknownServerException",
      "The server experienced an unexpected error when processing the request." },
    { KERR_OFFSET_OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE", "OffsetOutOfRangeException",
      "The requested offset is not within the range of offsets maintained by the server." },
    { KERR_UNKNOWN_TOPIC_OR_PARTITION, "UNKNOWN_TOPIC_OR_PARTITION",
      "UnknownTopicOrPartitionException", "This server does not host this topic-partition." },
    { KERR_LEADER_NOT_AVAILABLE, "LEADER_NOT_AVAILABLE", "LeaderNotAvailableException",
      "There is no leader for this topic-partition as we are in the middle of a leadership "
      "election." },
    { KERR_NOT_LEADER_OR_FOLLOWER, "NOT_LEADER_OR_FOLLOWER", "NotLeaderOrFollowerException",
      "For requests intended only for the leader, this error indicates that the broker is not "
      "the current leader." },
    { KERR_REQUEST_TIMED_OUT, "REQUEST_TIMED_OUT", "TimeoutException",
      "The request timed out." },
    { KERR_MESSAGE_TOO_LARGE, "MESSAGE_TOO_LARGE", "RecordTooLargeException",
      "The request included a message larger than the max message size the server will "
      "accept." },
    { KERR_COORDINATOR_LOAD_IN_PROGRESS, "COORDINATOR_LOAD_IN_PROGRESS",
      "CoordinatorLoadInProgressException",
      "The coordinator is loading and hence can't process requests." },
    { KERR_COORDINATOR_NOT_AVAILABLE, "COORDINATOR_NOT_AVAILABLE",
      "CoordinatorNotAvailableException", "The coordinator is not available." },
    { KERR_NOT_COORDINATOR, "NOT_COORDINATOR", "NotCoordinatorException",
      "This is not the correct coordinator." },
    { KERR_INVALID_TOPIC_EXCEPTION, "INVALID_TOPIC_EXCEPTION", "InvalidTopicException",
      "The request attempted to perform an operation on an invalid topic." },
    { KERR_NOT_ENOUGH_REPLICAS, "NOT_ENOUGH_REPLICAS", "NotEnoughReplicasException",
      "Messages are rejected since there are fewer in-sync replicas than required." },
    { KERR_INVALID_REQUIRED_ACKS, "INVALID_REQUIRED_ACKS", "InvalidRequiredAcksException",
      "Produce request specified an invalid value for required acks." },
    { KERR_ILLEGAL_GENERATION, "ILLEGAL_GENERATION", "IllegalGenerationException",
      "Specified group generation id is not valid." },
    { KERR_INCONSISTENT_GROUP_PROTOCOL, "INCONSISTENT_GROUP_PROTOCOL",
      "InconsistentGroupProtocolException",
      "The group member's supported protocols are incompatible with those of existing "
      "members or first group member tried to join with empty protocol type or empty "
      "protocol list." },
    { KERR_INVALID_GROUP_ID, "INVALID_GROUP_ID", "InvalidGroupIdException",
      "The configured groupId is invalid." },
    { KERR_UNKNOWN_MEMBER_ID, "UNKNOWN_MEMBER_ID", "UnknownMemberIdException",
      "The coordinator is not aware of this member." },
    { KERR_REBALANCE_IN_PROGRESS, "REBALANCE_IN_PROGRESS", "RebalanceInProgressException",
      "The group is rebalancing, so a rejoin is needed." },
    { KERR_TOPIC_AUTHORIZATION_FAILED, "TOPIC_AUTHORIZATION_FAILED",
      "TopicAuthorizationException", "Topic authorization failed." },
    { KERR_GROUP_AUTHORIZATION_FAILED, "GROUP_AUTHORIZATION_FAILED",
      "GroupAuthorizationException", "Group authorization failed." },
    { KERR_CLUSTER_AUTHORIZATION_FAILED, "CLUSTER_AUTHORIZATION_FAILED",
      "ClusterAuthorizationException", "Cluster authorization failed." },
    { KERR_UNSUPPORTED_SASL_MECHANISM, "UNSUPPORTED_SASL_MECHANISM",
      "UnsupportedSaslMechanismException",
      "The broker does not support the requested SASL mechanism." },
    { KERR_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION", "UnsupportedVersionException",
      "The version of API is not supported." },
    { KERR_TOPIC_ALREADY_EXISTS, "TOPIC_ALREADY_EXISTS", "TopicExistsException",
      "Topic with this name already exists." },
    { KERR_INVALID_PARTITIONS, "INVALID_PARTITIONS", "InvalidPartitionsException",
      "Number of partitions is below 1." },
    { KERR_INVALID_REPLICATION_FACTOR, "INVALID_REPLICATION_FACTOR",
      "InvalidReplicationFactorException",
      "Replication factor is below 1 or larger than the number of available brokers." },
    { KERR_INVALID_REPLICA_ASSIGNMENT, "INVALID_REPLICA_ASSIGNMENT",
      "InvalidReplicaAssignmentException", "Replica assignment is invalid." },
    { KERR_INVALID_CONFIG, "INVALID_CONFIG", "InvalidConfigurationException",
      "Configuration is invalid." },
    { KERR_NOT_CONTROLLER, "NOT_CONTROLLER", "NotControllerException",
      "This is not the correct controller for this cluster." },
    { KERR_INVALID_REQUEST, "INVALID_REQUEST", "InvalidRequestException",
      "This most likely occurs because of a request being malformed by the client library or "
      "the message was sent to an incompatible broker. See the broker logs for more details." },
    { KERR_POLICY_VIOLATION, "POLICY_VIOLATION", "PolicyViolationException",
      "Request parameters do not satisfy the configured policy." },
    { KERR_SASL_AUTHENTICATION_FAILED, "SASL_AUTHENTICATION_FAILED",
      "SaslAuthenticationException", "SASL Authentication failed." },
    { KERR_NON_EMPTY_GROUP, "NON_EMPTY_GROUP", "GroupNotEmptyException",
      "The group is not empty." },
    { KERR_GROUP_ID_NOT_FOUND, "GROUP_ID_NOT_FOUND", "GroupIdNotFoundException",
      "The group id does not exist." },
    { KERR_TOPIC_DELETION_DISABLED, "TOPIC_DELETION_DISABLED", "TopicDeletionDisabledException",
      "Topic deletion is disabled." },
    { KERR_MEMBER_ID_REQUIRED, "MEMBER_ID_REQUIRED", "MemberIdRequiredException",
      "The group member needs to have a valid member id before actually entering a consumer "
      "group." },
    { KERR_GROUP_SUBSCRIBED_TO_TOPIC, "GROUP_SUBSCRIBED_TO_TOPIC",
      "GroupSubscribedToTopicException",
      "The consumer group is actively subscribed to the topic" },
    { KERR_INVALID_RECORD, "INVALID_RECORD", "InvalidRecordException",
      "This record has failed the validation on broker and hence will be rejected." },
    { KERR_THROTTLING_QUOTA_EXCEEDED, "THROTTLING_QUOTA_EXCEEDED",
      "ThrottlingQuotaExceededException", "The throttling quota has been exceeded." },
    { KERR_UNKNOWN_TOPIC_ID, "UNKNOWN_TOPIC_ID", "UnknownTopicIdException",
      "This server does not host this topic ID." },
};

static const struct kerr_info *find(int16_t code)
{
    for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
        if (ERRORS[i].code == code)
            return &ERRORS[i];
    return NULL;
}

const char *kerr_name(int16_t code)
{
    static char buf[32];
    const struct kerr_info *e = find(code);
    if (e)
        return e->name;
    snprintf(buf, sizeof buf, "error code %d", (int)code);
    return buf;
}

const char *kerr_message(int16_t code)
{
    const struct kerr_info *e = find(code);
    return e ? e->message : kerr_name(code);
}

const char *kerr_exception(int16_t code)
{
    static char buf[128];
    const struct kerr_info *e = find(code);
    snprintf(buf, sizeof buf, "org.apache.kafka.common.errors.%s",
             e ? e->exception : "ApiException");
    return buf;
}
