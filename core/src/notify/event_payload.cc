#include "notify/event_payload.h"

#include "common/clock.h"

namespace berth {

namespace {

// {"date_created","name","namespace","repo_full_name","repo_type"}; Harbor
// leaves date_created out when the repository is gone.
nlohmann::json RepositoryData(const std::string& repository, const PayloadContext& ctx) {
  std::string ns = repository, name = repository;
  if (size_t slash = repository.find('/'); slash != std::string::npos) {
    ns = repository.substr(0, slash);
    name = repository.substr(slash + 1);
  }
  return {{"date_created", ctx.repo_created_at_s},
          {"name", name},
          {"namespace", ns},
          {"repo_full_name", repository},
          {"repo_type", ctx.repo_type}};
}

nlohmann::json Resource(const std::string& repository, const std::string& digest,
                        const std::string& tag, const PayloadContext& ctx) {
  std::string url = ctx.registry_host + "/" + repository + (tag.empty() ? "@" + digest : ":" + tag);
  nlohmann::json resource = {{"digest", digest}, {"resource_url", url}};
  if (!tag.empty()) resource["tag"] = tag;
  return resource;
}

WebhookEvent Base(const std::string& type, const Actor& actor, int64_t occurred_at_ms) {
  WebhookEvent w;
  w.type = type;
  w.occur_at_s = occurred_at_ms / 1000;
  w.operator_name = actor.username;
  w.request_id = actor.request_id;
  return w;
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

WebhookEvent ArtifactWebhookEvent(const ArtifactEvent& e, const PayloadContext& ctx) {
  WebhookEvent w = Base(WebhookEventType(e.kind), e.actor, e.occurred_at_ms);
  w.event_data = {{"resources", nlohmann::json::array({Resource(e.repository, e.digest, e.tag, ctx)})},
                  {"repository", RepositoryData(e.repository, ctx)}};
  return w;
}

WebhookEvent QuotaWebhookEvent(const std::string& type, const std::string& repository,
                               const std::string& digest, const std::string& tag,
                               const std::string& details, const Actor& actor,
                               int64_t occurred_at_ms, const PayloadContext& ctx) {
  WebhookEvent w = Base(type, actor, occurred_at_ms);
  nlohmann::json repo = RepositoryData(repository, ctx);
  repo.erase("date_created");  // Harbor's quota payload has none
  w.event_data = {{"repository", repo}, {"custom_attributes", {{"Details", details}}}};
  if (!digest.empty() || !tag.empty()) {
    nlohmann::json r = {{"digest", digest}};
    if (!tag.empty()) r["tag"] = tag;
    w.event_data["resources"] = nlohmann::json::array({r});
  }
  return w;
}

WebhookEvent ScanWebhookEvent(const ScanEventInfo& s, const Actor& actor, int64_t occurred_at_ms,
                              const PayloadContext& ctx) {
  WebhookEvent w = Base(s.type, actor, occurred_at_ms);
  nlohmann::json r = Resource(s.repository, s.digest, s.tag, ctx);
  if (!s.scan_overview.empty()) r["scan_overview"] = s.scan_overview;
  w.event_data = {{"resources", nlohmann::json::array({r})},
                  {"repository", RepositoryData(s.repository, ctx)},
                  {"scan", {{"scan_type", s.scan_type}}}};
  return w;
}

WebhookEvent RetentionWebhookEvent(const nlohmann::json& retention, const Actor& actor,
                                   int64_t occurred_at_ms) {
  WebhookEvent w = Base("TAG_RETENTION", actor, occurred_at_ms);
  w.event_data = {{"retention", retention}};
  return w;
}

WebhookEvent ReplicationWebhookEvent(const nlohmann::json& replication, const Actor& actor,
                                     int64_t occurred_at_ms) {
  WebhookEvent w = Base("REPLICATION", actor, occurred_at_ms);
  w.event_data = {{"replication", replication}};
  return w;
}

std::string DefaultPayload(const WebhookEvent& e) {
  return nlohmann::json{{"type", e.type},
                        {"occur_at", e.occur_at_s},
                        {"operator", e.operator_name},
                        {"event_data", e.event_data}}
      .dump();
}

std::string CloudEventPayload(const WebhookEvent& e, const std::string& source,
                              const std::string& event_id) {
  nlohmann::json j = {{"specversion", "1.0"},
                      {"id", event_id},
                      {"source", source},
                      {"type", CloudEventType(e.type)},
                      {"datacontenttype", "application/json"},
                      {"time", FormatRfc3339(e.occur_at_s)},
                      {"data", e.event_data},
                      {"operator", e.operator_name}};
  if (!e.request_id.empty()) j["requestid"] = e.request_id;
  return j.dump();
}

std::string SlackPayload(const WebhookEvent& e) {
  auto section = [](const std::string& text) {
    return nlohmann::json{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}};
  };
  std::string at = std::to_string(e.occur_at_s);
  return nlohmann::json{
      {"blocks",
       {section("*Harbor webhook events*"), section("*event_type:* " + e.type),
        section("*occur_at:* <!date^" + at + "^{date} at {time}|" + FormatRfc3339(e.occur_at_s) + ">"),
        section("*operator:* " + e.operator_name), section("*event_data:*"),
        section("```" + e.event_data.dump(1, '\t') + "```")}}}
      .dump();
}

std::string DefaultPayload(const ArtifactEvent& e, const PayloadContext& ctx) {
  return DefaultPayload(ArtifactWebhookEvent(e, ctx));
}

std::string CloudEventPayload(const ArtifactEvent& e, const PayloadContext& ctx,
                              const std::string& event_id) {
  return CloudEventPayload(ArtifactWebhookEvent(e, ctx), ctx.source, event_id);
}

}  // namespace berth
