// WebhookPolicyController: Harbor's project webhook policies (CRUD with
// Harbor's validation and the project's "notification-policy" RBAC:
// project admins manage them, maintainers read them) and their executions,
// which are the WEBHOOK jobs PolicyDispatcher queued (one execution with one
// task per delivery, both numbered as the job).
#ifndef BERTH_NOTIFY_WEBHOOK_POLICY_CONTROLLER_H_
#define BERTH_NOTIFY_WEBHOOK_POLICY_CONTROLLER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/identity.h"
#include "iam/project_controller.h"
#include "notify/policy_dispatcher.h"
#include "store/job_store.h"
#include "store/webhook_policy_store.h"

namespace berth {

// Harbor's supported event types, in Harbor's order.
const std::vector<std::string>& WebhookEventTypes();
// Harbor's payload formats of "http" targets.
const std::vector<std::string>& WebhookPayloadFormats();

// One event type of one policy with the last time it fired (0: never).
struct WebhookLastTrigger {
  std::string policy_name;
  std::string event_type;
  bool enabled = false;
  int64_t creation_time = 0;
  int64_t last_trigger_time = 0;
};

class WebhookPolicyController {
 public:
  WebhookPolicyController(WebhookPolicyStore& policies, ProjectController& projects,
                          JobStore& jobs, const PolicyDispatcher& dispatcher)
      : policies_(policies), projects_(projects), jobs_(jobs), dispatcher_(dispatcher) {}

  // Each resolves the project (404) and checks the caller's permission
  // (401/403) before anything else.
  StatusOr<Page<WebhookPolicyRecord>> List(const Identity& who, const ProjectRecord& p,
                                           const ListQuery& q);
  // 400 on a bad policy (the message names the field), 409 on a name taken.
  StatusOr<WebhookPolicyRecord> Create(const Identity& who, const ProjectRecord& p,
                                       WebhookPolicyRecord spec);
  StatusOr<WebhookPolicyRecord> Get(const Identity& who, const ProjectRecord& p, int64_t id);
  Status Update(const Identity& who, const ProjectRecord& p, int64_t id, WebhookPolicyRecord spec);
  Status Delete(const Identity& who, const ProjectRecord& p, int64_t id);

  // What GET .../webhook/events lists: notify types of the loaded plugins.
  StatusOr<std::vector<std::string>> NotifyTypes(const Identity& who, const ProjectRecord& p);
  StatusOr<std::vector<WebhookLastTrigger>> LastTriggers(const Identity& who,
                                                         const ProjectRecord& p);

  // Executions (= tasks = jobs) of a policy, newest first.
  StatusOr<JobPage> Executions(const Identity& who, const ProjectRecord& p, int64_t policy_id,
                               const ListQuery& q);
  // Harbor's deprecated webhook jobs of a policy (its deliveries), newest
  // first, in any of `statuses` (job statuses; empty: all).
  StatusOr<JobPage> Jobs(const Identity& who, const ProjectRecord& p, int64_t policy_id,
                         const std::vector<std::string>& statuses, const ListQuery& q);
  // The execution's job, 404 unless it is one of the policy's.
  StatusOr<JobRecord> Execution(const Identity& who, const ProjectRecord& p, int64_t policy_id,
                                int64_t execution_id);
  // The task's log; 404 unless task and execution match.
  StatusOr<std::string> TaskLog(const Identity& who, const ProjectRecord& p, int64_t policy_id,
                                int64_t execution_id, int64_t task_id);

 private:
  // 404 unless the policy belongs to the project.
  StatusOr<WebhookPolicyRecord> Load(const ProjectRecord& p, int64_t id);
  // Harbor's validateTargets / validateEventTypes; normalises addresses and
  // payload formats.
  Status Validate(WebhookPolicyRecord& spec) const;

  WebhookPolicyStore& policies_;
  ProjectController& projects_;
  JobStore& jobs_;
  const PolicyDispatcher& dispatcher_;
};

}  // namespace berth

#endif  // BERTH_NOTIFY_WEBHOOK_POLICY_CONTROLLER_H_
