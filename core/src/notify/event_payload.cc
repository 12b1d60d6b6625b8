#include "notify/event_payload.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace berth {

namespace {

nlohmann::json EventData(const ArtifactEvent& e, const PayloadContext& ctx) {
  std::string ns = e.repository, name = e.repository;
  if (size_t slash = e.repository.find('/'); slash != std::string::npos) {
    ns = e.repository.substr(0, slash);
    name = e.repository.substr(slash + 1);
  }
  std::string url = ctx.registry_host + "/" + e.repository +
                    (e.tag.empty() ? "@" + e.digest : ":" + e.tag);
  nlohmann::json resource = {{"digest", e.digest}, {"resource_url", url}};
  if (!e.tag.empty()) resource["tag"] = e.tag;
  return {{"resources", nlohmann::json::array({resource})},
          {"repository",
           {{"date_created", ctx.repo_created_at_s},
            {"name", name},
            {"namespace", ns},
            {"repo_full_name", e.repository},
            {"repo_type", ctx.repo_type}}}};
}

}  // namespace

std::string WebhookEventType(ArtifactEventKind kind) {
  switch (kind) {
    case ArtifactEventKind::kPushed: return "PUSH_ARTIFACT";
    case ArtifactEventKind::kDeleted: return "DELETE_ARTIFACT";
    case ArtifactEventKind::kTagDeleted: return "";
    case ArtifactEventKind::kPulled: return "PULL_ARTIFACT";
  }
  return "";
}

std::string CloudEventType(const std::string& t) {
  if (t == "PUSH_ARTIFACT") return "harbor.artifact.pushed";
  if (t == "PULL_ARTIFACT") return "harbor.artifact.pulled";
  if (t == "DELETE_ARTIFACT") return "harbor.artifact.deleted";
  if (t == "QUOTA_EXCEED") return "harbor.quota.exceeded";
  if (t == "QUOTA_WARNING") return "harbor.quota.warned";
  if (t == "SCANNING_FAILED") return "harbor.scan.failed";
  if (t == "SCANNING_STOPPED") return "harbor.scan.stopped";
  if (t == "SCANNING_COMPLETED") return "harbor.scan.completed";
  if (t == "REPLICATION") return "harbor.replication.status.changed";
  if (t == "TAG_RETENTION") return "harbor.tag_retention.finished";
  return "harbor." + t;
}

std::string DefaultPayload(const ArtifactEvent& e, const PayloadContext& ctx) {
  nlohmann::json j = {{"type", WebhookEventType(e.kind)},
                      {"occur_at", e.occurred_at_ms / 1000},
                      {"operator", e.actor.username},
                      {"event_data", EventData(e, ctx)}};
  return j.dump();
}

std::string CloudEventPayload(const ArtifactEvent& e, const PayloadContext& ctx,
                              const std::string& event_id) {
  nlohmann::json j = {{"specversion", "1.0"},
                      {"id", event_id},
                      {"source", ctx.source},
                      {"type", CloudEventType(WebhookEventType(e.kind))},
                      {"datacontenttype", "application/json"},
                      {"time", FormatRfc3339(e.occurred_at_ms / 1000)},
                      {"data", EventData(e, ctx)},
                      {"operator", e.actor.username}};
  if (!e.actor.request_id.empty()) j["requestid"] = e.actor.request_id;
  return j.dump();
}

}  // namespace berth
