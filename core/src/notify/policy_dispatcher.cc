#include "notify/policy_dispatcher.h"

#include <algorithm>

#include "common/clock.h"
#include "common/random.h"

namespace berth {

namespace {

std::string ProjectName(const std::string& repository) {
  size_t slash = repository.find('/');
  return slash == std::string::npos ? repository : repository.substr(0, slash);
}

bool Subscribes(const WebhookPolicyRecord& p, const std::string& event_type) {
  return std::find(p.event_types.begin(), p.event_types.end(), event_type) != p.event_types.end();
}

}  // namespace

void PolicyDispatcher::OnArtifactEvent(const ArtifactEvent& e) {
  std::string type = WebhookEventType(e.kind);
  if (type.empty()) return;
  Fanout(ProjectName(e.repository), type,
         [&](const PayloadContext& ctx) { return ArtifactWebhookEvent(e, ctx); }, e.repository);
}

void PolicyDispatcher::OnQuotaEvent(const QuotaEvent& e) {
  Fanout(ProjectName(e.repository), e.type,
         [&](const PayloadContext& ctx) {
           return QuotaWebhookEvent(e.type, e.repository, e.digest, e.tag, e.message,
                                    Actor{e.username, e.request_id}, e.occurred_at_ms, ctx);
         },
         e.repository);
}

void PolicyDispatcher::OnScanEvent(const ScanEventInfo& e) {
  Fanout(ProjectName(e.repository), e.type,
         [&](const PayloadContext& ctx) {
           // Harbor's scan events always name the operator "auto"
           // (controller/event/metadata/scan.go), whoever started the scan.
           return ScanWebhookEvent(e, Actor{"auto", ""}, NowUnixMillis(), ctx);
         },
         e.repository);
}

void PolicyDispatcher::OnRetentionEvent(const std::string& project_name,
                                        const nlohmann::json& retention,
                                        const std::string& trigger) {
  Fanout(project_name, "TAG_RETENTION",
         [&](const PayloadContext& ctx) {
           nlohmann::json r = retention;
           // Harbor: the external URL's host without its port.
           r["harbor_hostname"] = ctx.registry_host.substr(0, ctx.registry_host.find(':'));
           return RetentionWebhookEvent(r, Actor{trigger, ""}, NowUnixMillis());
         },
         "");
}

void PolicyDispatcher::OnReplicationEvent(const std::string& project_name,
                                          const nlohmann::json& replication,
                                          const std::string& trigger) {
  Fanout(project_name, "REPLICATION",
         [&](const PayloadContext& ctx) {
           nlohmann::json r = replication;
           r["harbor_hostname"] = ctx.registry_host.substr(0, ctx.registry_host.find(':'));
           return ReplicationWebhookEvent(r, Actor{trigger, ""}, NowUnixMillis());
         },
         "");
}

void PolicyDispatcher::Publish(const std::string& project_name, const WebhookEvent& event) {
  Fanout(project_name, event.type, [&](const PayloadContext&) { return event; }, "");
}

void PolicyDispatcher::Fanout(const std::string& project_name, const std::string& event_type,
                              const std::function<WebhookEvent(const PayloadContext&)>& build,
                              const std::string& repository) {
  // One indexed read per event; nothing more unless a policy wants it.
  auto policies = policies_.EnabledForProject(project_name);
  if (!policies.ok()) {
    log_.Error("webhook policies could not be read; event dropped",
               {{"project", project_name}, {"event", event_type},
                {"error", policies.status().message()}});
    return;
  }
  std::vector<const WebhookPolicyRecord*> wanted;
  for (const auto& p : *policies) {
    if (Subscribes(p, event_type)) wanted.push_back(&p);
  }
  if (wanted.empty()) return;
  PayloadContext ctx = context_(repository);
  if (auto project = projects_.GetByName(project_name); project.ok() && *project) {
    ctx.repo_type = (*project)->IsPublic() ? "public" : "private";
  }
  WebhookEvent event = build(ctx);
  int64_t now = NowUnixMillis();
  for (const WebhookPolicyRecord* p : wanted) {
    for (const WebhookTarget& t : p->targets) {
      std::string payload, content_type = "application/json", format = t.payload_format;
      if (t.type == "slack") {
        format = "Slack";
        payload = SlackPayload(event);
      } else if (t.payload_format == "CloudEvents") {
        payload = CloudEventPayload(event,
                                    "/projects/" + std::to_string(p->project_id) +
                                        "/webhook/policies/" + std::to_string(p->id),
                                    NewUuid());
        content_type = "application/cloudevents+json";
      } else {
        format = "Default";
        payload = DefaultPayload(event);
      }
      NewJob job;
      job.kind = kWebhookJobKind;
      job.trigger = "Event";
      job.vendor_type = t.type == "slack" ? kSlackVendorType : kWebhookVendorType;
      job.vendor_id = p->id;
      job.params_json = nlohmann::json{{"policy_id", p->id},
                                       {"project_id", p->project_id},
                                       {"event_type", event_type},
                                       {"notify_type", t.type},
                                       {"address", t.address},
                                       {"auth_header", t.auth_header},
                                       {"skip_cert_verify", t.skip_cert_verify},
                                       {"payload_format", format},
                                       {"content_type", content_type},
                                       {"payload", payload}}
                            .dump();
      auto id = jobs_.Enqueue(std::move(job));
      if (!id.ok()) {
        log_.Error("webhook delivery could not be queued; event dropped",
                   {{"policy_id", p->id}, {"event", event_type}, {"error", id.status().message()}});
      }
    }
    if (Status s = policies_.Triggered(p->id, event_type, now); !s.ok()) {
      log_.Warn("webhook last trigger time not recorded", {{"policy_id", p->id}, {"error", s.message()}});
    }
  }
}

std::vector<std::string> PolicyDispatcher::NotifyTypes() const {
  std::vector<std::string> out;
  for (const char* t : {"http", "slack"}) {
    if (notifiers_.count(t)) out.push_back(t);
  }
  return out;
}

Delivery PolicyDispatcher::DeliveryOf(const nlohmann::json& p, Notifier** notifier) const {
  Delivery d;
  d.event_type = p.value("event_type", "");
  d.payload_format = p.value("payload_format", "");
  d.payload = p.value("payload", "");
  d.content_type = p.value("content_type", "application/json");
  d.address = p.value("address", "");
  d.auth_header = p.value("auth_header", "");
  d.skip_cert_verify = p.value("skip_cert_verify", false);
  auto it = notifiers_.find(p.value("notify_type", ""));
  *notifier = it == notifiers_.end() ? nullptr : it->second;
  return d;
}

}  // namespace berth
