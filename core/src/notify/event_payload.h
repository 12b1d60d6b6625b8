// Webhook payloads in Harbor's formats: "Default", "CloudEvents" and the
// Slack message. Every event type is first built into Harbor's payload model
// (WebhookEvent: type, occur_at, operator, event_data) and then rendered.
#ifndef BERTH_NOTIFY_EVENT_PAYLOAD_H_
#define BERTH_NOTIFY_EVENT_PAYLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/manifest_controller.h"

namespace berth {

// Harbor's webhook event type for an artifact event ("" when the event has
// no webhook type, e.g. a tag deletion).
std::string WebhookEventType(ArtifactEventKind kind);
// CloudEvents "type" for a Harbor event type: PUSH_ARTIFACT -> harbor.artifact.pushed.
std::string CloudEventType(const std::string& event_type);

struct PayloadContext {
  std::string registry_host;  // host[:port] clients use, for resource_url
  std::string repo_type = "private";  // "public" or "private"
  int64_t repo_created_at_s = 0;
  std::string source;         // CloudEvents source
};

// Harbor's notifier model Payload.
struct WebhookEvent {
  std::string type;           // PUSH_ARTIFACT, QUOTA_EXCEED, ...
  int64_t occur_at_s = 0;
  std::string operator_name;
  std::string request_id;     // CloudEvents "requestid" extension
  nlohmann::json event_data = nlohmann::json::object();
};

WebhookEvent ArtifactWebhookEvent(const ArtifactEvent& e, const PayloadContext& ctx);
// QUOTA_EXCEED / QUOTA_WARNING: the repository, the artifact when known, and
// custom_attributes.Details with the quota message (Harbor's quota handler).
WebhookEvent QuotaWebhookEvent(const std::string& type, const std::string& repository,
                               const std::string& digest, const std::string& tag,
                               const std::string& details, const Actor& actor,
                               int64_t occurred_at_ms, const PayloadContext& ctx);

// Scanning (the scan manager through PolicyDispatcher::OnScanEvent),
// retention and replication (their jobs, through OnRetentionEvent and
// OnReplicationEvent).
struct ScanEventInfo {
  std::string type;  // SCANNING_COMPLETED | SCANNING_FAILED | SCANNING_STOPPED
  std::string repository, digest, tag;
  std::string scan_type = "vulnerability";  // or "sbom"
  nlohmann::json scan_overview = nlohmann::json::object();  // resources[0].scan_overview
};
WebhookEvent ScanWebhookEvent(const ScanEventInfo& s, const Actor& actor, int64_t occurred_at_ms,
                              const PayloadContext& ctx);
// TAG_RETENTION: event_data.retention is Harbor's Retention object (total,
// retained, harbor_hostname, project_name, retention_policy_id,
// retention_rule, result, deleted_artifact), built by the retention job.
WebhookEvent RetentionWebhookEvent(const nlohmann::json& retention, const Actor& actor,
                                   int64_t occurred_at_ms);
// REPLICATION: event_data.replication is Harbor's Replication object.
WebhookEvent ReplicationWebhookEvent(const nlohmann::json& replication, const Actor& actor,
                                     int64_t occurred_at_ms);

// {"type","occur_at","operator","event_data":{...}}
std::string DefaultPayload(const WebhookEvent& e);
// A structured-mode CloudEvent whose data is event_data.
std::string CloudEventPayload(const WebhookEvent& e, const std::string& source,
                              const std::string& event_id);
// Harbor's Slack message (blocks; event_data as an indented code block).
std::string SlackPayload(const WebhookEvent& e);

// The artifact-event forms the configured endpoints use.
std::string DefaultPayload(const ArtifactEvent& e, const PayloadContext& ctx);
std::string CloudEventPayload(const ArtifactEvent& e, const PayloadContext& ctx,
                              const std::string& event_id);

}  // namespace berth

#endif  // BERTH_NOTIFY_EVENT_PAYLOAD_H_
