// RetentionController: Harbor's /retentions use cases — policy CRUD bound
// to a project (project metadata retention_id), its cron schedule on the job
// service, manual and dry runs, executions (RETENTION jobs), their
// per-repository tasks and task logs, stop — with the project's
// tag-retention permissions.
#ifndef BERTH_RETENTION_RETENTION_CONTROLLER_H_
#define BERTH_RETENTION_RETENTION_CONTROLLER_H_

#include <nlohmann/json.hpp>

#include "iam/project_controller.h"
#include "jobs/job_service.h"
#include "retention/retention_policy.h"
#include "store/retention_store.h"

namespace berth {

class RetentionController {
 public:
  RetentionController(RetentionStore& store, ProjectController& projects, JobService& jobs)
      : store_(store), projects_(projects), jobs_(jobs) {}

  // 400 naming the field, 409 for duplicate rules, 403; 400 when the project
  // already has a policy (as Harbor). Returns the new id.
  StatusOr<int64_t> Create(const Identity& who, const nlohmann::json& body);
  // Harbor's policy for a new proxy-cache project: retain what was pulled in
  // the last 7 days, every repository and tag, run daily at midnight.
  StatusOr<int64_t> CreateProxyCacheDefault(const Identity& who, int64_t project_id);
  StatusOr<RetentionPolicy> Get(const Identity& who, int64_t id);
  Status Update(const Identity& who, int64_t id, const nlohmann::json& body);
  Status Delete(const Identity& who, int64_t id);
  // After its project was deleted (the caller was allowed to): the policy,
  // its tasks and its schedule go too, as in Harbor. Nothing to do without one.
  Status ProjectDeleted(const ProjectRecord& project);

  // Queues a run; returns the execution id.
  StatusOr<int64_t> Trigger(const Identity& who, int64_t id, bool dry_run);
  StatusOr<JobPage> Executions(const Identity& who, int64_t id, const ListQuery& q);
  // Only "stop" (Harbor's).
  Status Operate(const Identity& who, int64_t id, int64_t execution_id, const std::string& action);
  StatusOr<Page<RetentionTaskRecord>> Tasks(const Identity& who, int64_t id, int64_t execution_id,
                                            const ListQuery& q);
  StatusOr<std::string> TaskLog(const Identity& who, int64_t id, int64_t execution_id,
                                int64_t task_id);

 private:
  // The policy and its project once `who` may do `action` on tag-retention.
  StatusOr<std::pair<RetentionPolicy, ProjectRecord>> Load(const Identity& who, int64_t id,
                                                           const std::string& action);
  StatusOr<JobRecord> Execution(int64_t policy_id, int64_t execution_id);
  Status CheckCron(const std::string& cron);
  Status ApplySchedule(const RetentionPolicy& p);

  RetentionStore& store_;
  ProjectController& projects_;
  JobService& jobs_;
};

}  // namespace berth

#endif  // BERTH_RETENTION_RETENTION_CONTROLLER_H_
