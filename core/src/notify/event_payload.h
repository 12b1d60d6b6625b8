// Webhook payloads in Harbor's two formats: "Default" and "CloudEvents".
#ifndef BERTH_NOTIFY_EVENT_PAYLOAD_H_
#define BERTH_NOTIFY_EVENT_PAYLOAD_H_

#include <string>

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

// {"type","occur_at","operator","event_data":{"resources":[...],"repository":{...}}}
std::string DefaultPayload(const ArtifactEvent& e, const PayloadContext& ctx);
// A structured-mode CloudEvent whose data is the Default payload's event_data.
std::string CloudEventPayload(const ArtifactEvent& e, const PayloadContext& ctx,
                              const std::string& event_id);

}  // namespace berth

#endif  // BERTH_NOTIFY_EVENT_PAYLOAD_H_
