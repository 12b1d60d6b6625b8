// ReplicationController: Harbor's /replication/policies and
// /replication/executions use cases: policy CRUD (registries must exist,
// cron schedules on the job service), manual runs, executions (REPLICATION
// jobs) with their task counts, stop, tasks and task logs, and event-based
// runs for pushes and deletions in this Berth. System resources
// "replication-policy" and "replication".
#ifndef BERTH_REPLICATION_REPLICATION_CONTROLLER_H_
#define BERTH_REPLICATION_REPLICATION_CONTROLLER_H_

#include <nlohmann/json.hpp>

#include "jobs/job_service.h"
#include "registry/manifest_controller.h"
#include "replication/remote_registry_controller.h"
#include "replication/replication_policy.h"
#include "store/replication_store.h"

namespace berth {

struct ExecutionView {
  JobRecord job;
  TaskCounts counts;
};

class ReplicationController {
 public:
  ReplicationController(ReplicationStore& store, RemoteRegistryController& registries,
                        AccessEvaluator& ev, JobService& jobs, Logger& log)
      : store_(store), registries_(registries), ev_(ev), jobs_(jobs), log_(log) {}

  StatusOr<int64_t> Create(const Identity& who, const nlohmann::json& body);
  StatusOr<ReplicationPolicy> Get(const Identity& who, int64_t id);
  StatusOr<Page<ReplicationPolicy>> List(const Identity& who, const ListQuery& q);
  Status Update(const Identity& who, int64_t id, const nlohmann::json& body);
  // 412 while an execution of the policy runs.
  Status Delete(const Identity& who, int64_t id);
  // Registry JSON for a policy side (the local registry for id 0).
  nlohmann::json RegistrySide(int64_t id);

  StatusOr<int64_t> Start(const Identity& who, int64_t policy_id);
  StatusOr<Page<ExecutionView>> Executions(const Identity& who, int64_t policy_id,
                                           const std::string& status, const std::string& trigger,
                                           const ListQuery& q);
  StatusOr<ExecutionView> Execution(const Identity& who, int64_t id);
  Status Stop(const Identity& who, int64_t id);
  StatusOr<Page<ReplicationTaskRecord>> Tasks(const Identity& who, int64_t execution_id,
                                              const std::string& status,
                                              const std::string& resource_type, const ListQuery& q);
  StatusOr<std::string> TaskLog(const Identity& who, int64_t execution_id, int64_t task_id);

  // Event-based policies: a push (tagged) or a deletion in this Berth.
  void OnArtifactEvent(const ArtifactEvent& e);

 private:
  Status Require(const Identity& who, const char* resource, const char* action);
  StatusOr<ReplicationPolicy> Load(int64_t id);
  Status CheckPolicy(const ReplicationPolicy& p);
  Status ApplySchedule(const ReplicationPolicy& p);
  StatusOr<JobRecord> ExecutionJob(int64_t id);

  ReplicationStore& store_;
  RemoteRegistryController& registries_;
  AccessEvaluator& ev_;
  JobService& jobs_;
  Logger& log_;
};

nlohmann::json ReplicationPolicyJson(const ReplicationPolicy& p, const nlohmann::json& src,
                                     const nlohmann::json& dest);

}  // namespace berth

#endif  // BERTH_REPLICATION_REPLICATION_CONTROLLER_H_
