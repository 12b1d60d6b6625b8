#include "notify/notification_dispatcher.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/random.h"

namespace berth {

namespace {

nlohmann::json EventJson(const ArtifactEvent& e) {
  return {{"kind", static_cast<int>(e.kind)},
          {"repository", e.repository},
          {"digest", e.digest},
          {"media_type", e.media_type},
          {"tag", e.tag},
          {"operator", e.actor.username},
          {"request_id", e.actor.request_id},
          {"occurred_at_ms", e.occurred_at_ms}};
}

ArtifactEvent EventFrom(const nlohmann::json& j) {
  ArtifactEvent e;
  e.kind = static_cast<ArtifactEventKind>(j.value("kind", 0));
  e.repository = j.value("repository", "");
  e.digest = j.value("digest", "");
  e.media_type = j.value("media_type", "");
  e.tag = j.value("tag", "");
  e.actor.username = j.value("operator", "");
  e.actor.request_id = j.value("request_id", "");
  e.occurred_at_ms = j.value("occurred_at_ms", int64_t{0});
  return e;
}

}  // namespace

NotificationDispatcher::NotificationDispatcher(std::vector<NotificationTarget> targets,
                                               const NotificationsConfig& options,
                                               ContextFn context, JobService& jobs, Logger& log,
                                               Metrics& metrics)
    : targets_(std::move(targets)),
      options_(options),
      context_(std::move(context)),
      jobs_(jobs),
      log_(log),
      metrics_(metrics) {
  m_delivered_ = metrics_.Define("berth_notifications_delivered_total",
                                 "Notifications delivered to their endpoint.", true);
  m_failed_ = metrics_.Define("berth_notifications_failed_total",
                              "Notifications given up on after their last attempt.", true);
  m_retried_ = metrics_.Define("berth_notifications_retried_total",
                               "Notification delivery attempts that will be retried.", true);
  m_dropped_ = metrics_.Define("berth_notifications_dropped_total",
                               "Notifications that could not be queued.", true);
  JobKind kind;
  kind.name = kWebhookJobKind;
  kind.max_attempts = options_.max_attempts;
  kind.retry_backoff_ms = options_.initial_backoff_ms;
  kind.max_backoff_ms = options_.max_backoff_ms;
  kind.max_local = options_.workers;  // deliveries at a time on this node
  jobs_.Register(kind, [this](JobContext& ctx) { return Deliver(ctx); });
}

const NotificationTarget* NotificationDispatcher::Target(const std::string& name) const {
  for (const auto& t : targets_) {
    if (t.endpoint.name == name) return &t;
  }
  return nullptr;
}

void NotificationDispatcher::OnArtifactEvent(const ArtifactEvent& e) {
  std::string type = WebhookEventType(e.kind);
  if (type.empty() || targets_.empty()) return;
  for (const auto& t : targets_) {
    const auto& ep = t.endpoint;
    if (!ep.events.empty() && !ep.events.count(type)) continue;
    NewJob job;
    job.kind = kWebhookJobKind;
    job.trigger = "Event";
    job.vendor_type = kWebhookJobKind;
    job.params_json = nlohmann::json{{"endpoint", ep.name},
                                     {"event_type", type},
                                     {"event", EventJson(e)},
                                     {"event_id", NewUuid()}}
                          .dump();
    auto id = jobs_.Enqueue(std::move(job));
    if (!id.ok()) {
      metrics_.Add(m_dropped_, 1);
      log_.Error("notification could not be queued; event dropped",
                 {{"endpoint", ep.name}, {"event", type}, {"digest", e.digest},
                  {"error", id.status().message()}});
    }
  }
}

Status NotificationDispatcher::Deliver(JobContext& ctx) {
  auto p = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (p.is_discarded() || !p.is_object()) return Status::InvalidArgument("malformed job parameters");
  if (p.contains("policy_id")) {
    Notifier* notifier = nullptr;
    Delivery d;
    if (policies_ != nullptr) d = policies_->DeliveryOf(p, &notifier);
    if (notifier == nullptr) {
      ctx.Error("no notifier plugin provides type '" + p.value("notify_type", "") + "'");
      ctx.GiveUp();
      return Status::Unsupported("notify type '" + p.value("notify_type", "") + "' is not loaded");
    }
    return Send(ctx, *notifier, std::move(d),
                "policy " + std::to_string(p.value("policy_id", int64_t{0})));
  }
  const NotificationTarget* target = Target(p.value("endpoint", ""));
  if (target == nullptr) {
    // The endpoint was removed from the configuration since.
    ctx.Warn("endpoint '" + p.value("endpoint", "") + "' is no longer configured; dropped");
    return {};
  }
  const auto& ep = target->endpoint;
  ArtifactEvent e = EventFrom(p.value("event", nlohmann::json::object()));
  PayloadContext pc = context_(e);
  Delivery d;
  d.event_type = p.value("event_type", "");
  d.payload_format = ep.payload_format;
  if (ep.payload_format == "CloudEvents") {
    if (pc.source.empty()) pc.source = "/berth/notifications/" + ep.name;
    d.payload = CloudEventPayload(e, pc, p.value("event_id", ""));
    d.content_type = "application/cloudevents+json";
  } else {
    d.payload = DefaultPayload(e, pc);
    d.content_type = "application/json";
  }
  d.address = ep.address;
  d.auth_header = ep.auth_header;
  d.skip_cert_verify = ep.skip_cert_verify;
  return Send(ctx, *target->notifier, std::move(d), ep.name);
}

Status NotificationDispatcher::Send(JobContext& ctx, Notifier& notifier, Delivery d,
                                    const std::string& who) {
  d.attempt = ctx.job().attempts;
  ctx.Info("delivering " + d.event_type + " to " + who + " (" + d.address + "), attempt " +
           std::to_string(d.attempt));
  int64_t deadline = NowUnixNanos() + options_.timeout_ms * 1000000LL;
  Status s = notifier.Deliver(d, deadline);
  if (s.ok()) {
    metrics_.Add(m_delivered_, 1);
    ctx.Info("delivered");
    log_.Info("notification delivered",
              {{"endpoint", who}, {"event", d.event_type}, {"attempt", d.attempt}});
    return {};
  }
  bool transient = s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
  if (transient && d.attempt < options_.max_attempts) {
    metrics_.Add(m_retried_, 1);
    int64_t wait = options_.initial_backoff_ms;
    for (int i = 1; i < d.attempt && wait < options_.max_backoff_ms; ++i) wait *= 2;
    wait = std::min(wait, options_.max_backoff_ms);
    log_.Warn("notification failed; will retry", {{"endpoint", who},
                                                  {"event", d.event_type},
                                                  {"attempt", d.attempt},
                                                  {"retry_in_ms", wait},
                                                  {"error", s.message()}});
    return s;
  }
  metrics_.Add(m_failed_, 1);
  log_.Error("notification failed; giving up", {{"endpoint", who},
                                                {"event", d.event_type},
                                                {"attempt", d.attempt},
                                                {"error", s.message()}});
  ctx.GiveUp();
  return s;
}

}  // namespace berth
