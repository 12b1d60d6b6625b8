#include "notify/notification_dispatcher.h"

#include <chrono>

#include "common/clock.h"
#include "common/random.h"

namespace berth {

NotificationDispatcher::NotificationDispatcher(std::vector<NotificationTarget> targets,
                                               const NotificationsConfig& options,
                                               ContextFn context, Logger& log, Metrics& metrics)
    : targets_(std::move(targets)),
      options_(options),
      context_(std::move(context)),
      log_(log),
      metrics_(metrics) {
  m_delivered_ = metrics_.Define("berth_notifications_delivered_total",
                                 "Notifications delivered to their endpoint.", true);
  m_failed_ = metrics_.Define("berth_notifications_failed_total",
                              "Notifications given up on after their last attempt.", true);
  m_retried_ = metrics_.Define("berth_notifications_retried_total",
                               "Notification delivery attempts that will be retried.", true);
  m_dropped_ = metrics_.Define("berth_notifications_dropped_total",
                               "Notifications dropped because the queue was full.", true);
}

NotificationDispatcher::~NotificationDispatcher() { Stop(); }

void NotificationDispatcher::Start() {
  if (targets_.empty()) return;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Worker(); });
}

void NotificationDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (!queue_.empty()) {
    log_.Warn("notifications pending at shutdown were not delivered",
              {{"count", static_cast<int64_t>(queue_.size())}});
  }
}

void NotificationDispatcher::OnArtifactEvent(const ArtifactEvent& e) {
  std::string type = WebhookEventType(e.kind);
  if (type.empty() || targets_.empty()) return;
  auto event = std::make_shared<const ArtifactEvent>(e);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  for (size_t i = 0; i < targets_.size(); ++i) {
    const auto& ep = targets_[i].endpoint;
    if (!ep.events.empty() && !ep.events.count(type)) continue;
    if (queue_.size() >= options_.max_queue) {
      metrics_.Add(m_dropped_, 1);
      log_.Error("notification queue full; event dropped",
                 {{"endpoint", ep.name}, {"event", type}, {"digest", e.digest}});
      continue;
    }
    Task t{NowUnixMillis(), seq_++, i, event, {}};
    t.delivery.event_type = type;
    queue_.push(std::move(t));
  }
  cv_.notify_all();
}

void NotificationDispatcher::BuildDelivery(Task& t) {
  const auto& ep = targets_[t.target].endpoint;
  const ArtifactEvent& e = *t.event;
  PayloadContext ctx = context_(e);
  Delivery& d = t.delivery;
  d.payload_format = ep.payload_format;
  if (ep.payload_format == "CloudEvents") {
    if (ctx.source.empty()) ctx.source = "/berth/notifications/" + ep.name;
    d.payload = CloudEventPayload(e, ctx, NewUuid());
    d.content_type = "application/cloudevents+json";
  } else {
    d.payload = DefaultPayload(e, ctx);
    d.content_type = "application/json";
  }
  d.address = ep.address;
  d.auth_header = ep.auth_header;
  d.skip_cert_verify = ep.skip_cert_verify;
  t.event.reset();  // retries resend exactly this payload
}

int64_t NotificationDispatcher::Backoff(int attempt) const {
  int64_t b = options_.initial_backoff_ms;
  for (int i = 1; i < attempt && b < options_.max_backoff_ms; ++i) b *= 2;
  return std::min(b, options_.max_backoff_ms);
}

void NotificationDispatcher::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    int64_t now = NowUnixMillis();
    if (queue_.top().due_ms > now) {
      cv_.wait_for(lock, std::chrono::milliseconds(queue_.top().due_ms - now));
      continue;
    }
    Task t = queue_.top();
    queue_.pop();
    lock.unlock();
    Run(std::move(t));
    lock.lock();
  }
}

void NotificationDispatcher::Run(Task t) {
  const auto& target = targets_[t.target];
  if (t.event) BuildDelivery(t);
  int64_t deadline = NowUnixNanos() + options_.timeout_ms * 1000000LL;
  Status s = target.notifier->Deliver(t.delivery, deadline);
  if (s.ok()) {
    metrics_.Add(m_delivered_, 1);
    log_.Info("notification delivered", {{"endpoint", target.endpoint.name},
                                         {"event", t.delivery.event_type},
                                         {"attempt", t.delivery.attempt}});
    return;
  }
  bool transient = s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
  if (transient && t.delivery.attempt < options_.max_attempts) {
    metrics_.Add(m_retried_, 1);
    int64_t wait = Backoff(t.delivery.attempt);
    log_.Warn("notification failed; will retry", {{"endpoint", target.endpoint.name},
                                                  {"event", t.delivery.event_type},
                                                  {"attempt", t.delivery.attempt},
                                                  {"retry_in_ms", wait},
                                                  {"error", s.message()}});
    t.delivery.attempt++;
    t.due_ms = NowUnixMillis() + wait;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    t.seq = seq_++;
    queue_.push(std::move(t));
    cv_.notify_one();
    return;
  }
  metrics_.Add(m_failed_, 1);
  log_.Error("notification failed; giving up", {{"endpoint", target.endpoint.name},
                                                {"event", t.delivery.event_type},
                                                {"attempt", t.delivery.attempt},
                                                {"error", s.message()}});
}

}  // namespace berth
