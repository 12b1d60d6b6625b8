// NotificationDispatcher: turns artifact events into webhook deliveries to
// the configured endpoints. Each delivery is a WEBHOOK job on the job
// service, so it survives a restart (a delivery pending when berthd stops is
// sent after it starts again, by this node or another), is retried with
// exponential backoff, and shows its status and log in the job API.
#ifndef BERTH_NOTIFY_NOTIFICATION_DISPATCHER_H_
#define BERTH_NOTIFY_NOTIFICATION_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/logger.h"
#include "config/config.h"
#include "http/metrics.h"
#include "jobs/job_service.h"
#include "notify/event_payload.h"
#include "notify/notifier.h"
#include "notify/policy_dispatcher.h"

namespace berth {

struct NotificationTarget {
  NotificationEndpointConfig endpoint;
  Notifier* notifier;  // not owned
};

class NotificationDispatcher {
 public:
  using ContextFn = std::function<PayloadContext(const ArtifactEvent&)>;
  // Registers the WEBHOOK job kind: construct before jobs.Start().
  NotificationDispatcher(std::vector<NotificationTarget> targets,
                         const NotificationsConfig& options, ContextFn context, JobService& jobs,
                         Logger& log, Metrics& metrics);
  // Queues one delivery per endpoint that wants the event (a write to the
  // metadata store; the delivery itself happens on a job worker).
  void OnArtifactEvent(const ArtifactEvent& e);
  // Runs the WEBHOOK jobs of project webhook policies too (params with a
  // policy_id). Set before jobs.Start().
  void set_policies(const PolicyDispatcher* policies) { policies_ = policies; }

 private:
  Status Deliver(JobContext& ctx);
  // One attempt with the retry rules shared by endpoints and policies; `who`
  // names the destination in logs.
  Status Send(JobContext& ctx, Notifier& notifier, Delivery d, const std::string& who);
  const NotificationTarget* Target(const std::string& name) const;

  std::vector<NotificationTarget> targets_;
  NotificationsConfig options_;
  ContextFn context_;
  const PolicyDispatcher* policies_ = nullptr;
  JobService& jobs_;
  Logger& log_;
  uint32_t m_delivered_, m_failed_, m_retried_, m_dropped_;
  Metrics& metrics_;
};

}  // namespace berth

#endif  // BERTH_NOTIFY_NOTIFICATION_DISPATCHER_H_
