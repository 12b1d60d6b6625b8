// PolicyDispatcher: turns events into deliveries to the targets of the
// project's webhook policies (Harbor's notification policies). Each target
// of each enabled policy that subscribes to the event becomes one WEBHOOK job
// (vendor type WEBHOOK, or SLACK for slack targets; vendor id the policy),
// which is Harbor's execution with its single task. The payload is rendered
// when the event happens, as Harbor does, so retries send the same bytes and
// the execution shows what was sent. NotificationDispatcher runs the jobs.
#ifndef BERTH_NOTIFY_POLICY_DISPATCHER_H_
#define BERTH_NOTIFY_POLICY_DISPATCHER_H_

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/logger.h"
#include "jobs/job_service.h"
#include "notify/event_payload.h"
#include "notify/notifier.h"
#include "quota/quota_controller.h"
#include "store/project_store.h"
#include "store/webhook_policy_store.h"

namespace berth {

// Harbor's vendor types of webhook executions.
inline constexpr char kWebhookVendorType[] = "WEBHOOK";
inline constexpr char kSlackVendorType[] = "SLACK";

class PolicyDispatcher {
 public:
  // registry_host and the repository's creation time, as for configured
  // endpoints.
  using ContextFn = std::function<PayloadContext(const std::string& repository)>;
  // `notifiers`: notify type ("http", "slack") -> its notifier plugin.
  PolicyDispatcher(WebhookPolicyStore& policies, ProjectStore& projects,
                   std::map<std::string, Notifier*> notifiers, ContextFn context, JobService& jobs,
                   Logger& log)
      : policies_(policies), projects_(projects), notifiers_(std::move(notifiers)),
        context_(std::move(context)), jobs_(jobs), log_(log) {}

  void OnArtifactEvent(const ArtifactEvent& e);
  void OnQuotaEvent(const QuotaEvent& e);
  // SCANNING_COMPLETED / _FAILED / _STOPPED.
  void OnScanEvent(const ScanEventInfo& e);
  // TAG_RETENTION for one finished retention task (RetentionTaskEvent):
  // harbor_hostname is filled in here.
  void OnRetentionEvent(const std::string& project_name, const nlohmann::json& retention,
                        const std::string& trigger);
  // REPLICATION for one finished replication task (ReplicationTaskEvent).
  void OnReplicationEvent(const std::string& project_name, const nlohmann::json& replication,
                          const std::string& trigger);
  // Any event already in Harbor's model (scanning, retention, replication
  // when they come): queued for the policies of `project_name`.
  void Publish(const std::string& project_name, const WebhookEvent& event);

  // The notify types a policy target may use (the loaded providers of the two
  // Harbor has).
  std::vector<std::string> NotifyTypes() const;

  // For NotificationDispatcher: the delivery a policy job describes, and the
  // notifier to send it with (nullptr when its type is no longer loaded).
  Delivery DeliveryOf(const nlohmann::json& params, Notifier** notifier) const;

 private:
  // `build` renders the event once the project is known (for repo_type).
  void Fanout(const std::string& project_name, const std::string& event_type,
              const std::function<WebhookEvent(const PayloadContext&)>& build,
              const std::string& repository);

  WebhookPolicyStore& policies_;
  ProjectStore& projects_;
  std::map<std::string, Notifier*> notifiers_;
  ContextFn context_;
  JobService& jobs_;
  Logger& log_;
};

}  // namespace berth

#endif  // BERTH_NOTIFY_POLICY_DISPATCHER_H_
