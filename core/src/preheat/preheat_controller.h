// PreheatController: Harbor's P2P preheat use cases (controller/p2p/preheat
// and the preheat API's rules): the providers the loaded preheat plugins
// offer, provider instances (system administrators: preheat-instance),
// project preheat policies (preheat-policy, project administrators) with
// their schedules and push triggers, manual runs, executions (P2P_PREHEAT
// jobs), their tasks and task logs, and stop.
#ifndef BERTH_PREHEAT_PREHEAT_CONTROLLER_H_
#define BERTH_PREHEAT_PREHEAT_CONTROLLER_H_

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/access_evaluator.h"
#include "common/logger.h"
#include "iam/project_controller.h"
#include "jobs/job_service.h"
#include "preheat/preheat_driver.h"
#include "store/preheat_store.h"

namespace berth {

// The secret values of auth_info are replaced by this in every answer.
inline constexpr char kMaskedSecret[] = "*****";

// What a caller sends for an instance (Harbor's Instance body).
struct PreheatInstanceInput {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string vendor;
  std::string endpoint;
  std::string auth_mode;
  bool has_auth_info = false;  // auth_info present and non-empty
  std::map<std::string, std::string> auth_info;
  bool enabled = false;
  bool is_default = false;
  bool insecure = false;
};

// An execution with its tasks' counts.
struct PreheatExecution {
  JobRecord job;
  std::map<std::string, int64_t> task_counts;  // by status
};

class PreheatController {
 public:
  PreheatController(PreheatStore& store, ProjectController& projects, AccessEvaluator& evaluator,
                    JobService& jobs, std::map<std::string, PreheatDriver*> drivers, Logger& log)
      : store_(store), projects_(projects), evaluator_(evaluator), jobs_(jobs),
        drivers_(std::move(drivers)), log_(log) {}

  // Harbor's Metadata of each loaded preheat plugin's provider.
  StatusOr<std::vector<nlohmann::json>> Providers(const Identity& who);

  StatusOr<Page<PreheatInstanceRecord>> ListInstances(const Identity& who, const ListQuery& q);
  StatusOr<PreheatInstanceRecord> GetInstance(const Identity& who, const std::string& name);
  StatusOr<PreheatInstanceRecord> CreateInstance(const Identity& who, PreheatInstanceInput in);
  // auth_info omitted or empty keeps the stored credentials unless the mode
  // becomes NONE; a masked value keeps that stored value.
  Status UpdateInstance(const Identity& who, const std::string& name, PreheatInstanceInput in);
  // 412 while policies use the instance.
  Status DeleteInstance(const Identity& who, const std::string& name);
  // By id (404 when unknown), or by vendor + endpoint + credentials.
  Status Ping(const Identity& who, const PreheatInstanceInput& in);
  // Every instance, for the policies of `project` (Harbor's ProviderUnderProject).
  StatusOr<std::vector<PreheatInstanceRecord>> ProjectProviders(const Identity& who,
                                                                const ProjectRecord& project);

  StatusOr<Page<PreheatPolicyRecord>> ListPolicies(const Identity& who, const ProjectRecord& p,
                                                   const ListQuery& q);
  StatusOr<PreheatPolicyRecord> GetPolicy(const Identity& who, const ProjectRecord& p,
                                          const std::string& name);
  StatusOr<PreheatPolicyRecord> CreatePolicy(const Identity& who, const ProjectRecord& p,
                                             PreheatPolicyRecord in);
  Status UpdatePolicy(const Identity& who, const ProjectRecord& p, const std::string& name,
                      PreheatPolicyRecord in);
  // 412 while an execution of the policy runs.
  Status DeletePolicy(const Identity& who, const ProjectRecord& p, const std::string& name);
  // Harbor's EnforcePolicy for a manual run: the policy must be enabled and
  // its instance enabled and healthy. Returns the execution id.
  StatusOr<int64_t> Run(const Identity& who, const ProjectRecord& p, const std::string& name);

  StatusOr<Page<PreheatExecution>> Executions(const Identity& who, const ProjectRecord& p,
                                              const std::string& name, const ListQuery& q);
  StatusOr<PreheatExecution> Execution(const Identity& who, const ProjectRecord& p,
                                       const std::string& name, int64_t execution_id);
  Status StopExecution(const Identity& who, const ProjectRecord& p, const std::string& name,
                       int64_t execution_id);
  StatusOr<Page<PreheatTaskRecord>> Tasks(const Identity& who, const ProjectRecord& p,
                                          const std::string& name, int64_t execution_id,
                                          const ListQuery& q);
  StatusOr<std::string> TaskLog(const Identity& who, const ProjectRecord& p,
                                const std::string& name, int64_t execution_id, int64_t task_id);

  // A pushed tag: one execution per enabled event_based policy of its project
  // whose repository and tag filters keep it. Never fails the push.
  void OnArtifactPushed(const std::string& repository, const std::string& digest,
                        const std::string& tag);
  // Harbor's ArtifactLabeledEvent and ScanImageEvent: the same, for every
  // tag of the artifact. (The scan manager calls OnArtifactScanned.)
  void OnArtifactLabeled(const std::string& repository, const std::string& digest) {
    TriggerEventPolicies(repository, digest, "");
  }
  void OnArtifactScanned(const std::string& repository, const std::string& digest) {
    TriggerEventPolicies(repository, digest, "");
  }

 private:
  Status RequireSystem(const Identity& who, const char* action);
  StatusOr<PreheatInstanceRecord> InstanceByName(const std::string& name);
  // Validates and normalises a policy body (name, provider, filters,
  // trigger, scope, extra_attrs).
  Status CheckPolicy(PreheatPolicyRecord& p);
  StatusOr<PreheatPolicyRecord> Load(const Identity& who, const ProjectRecord& p,
                                     const std::string& name, const char* action);
  StatusOr<JobRecord> ExecutionJob(int64_t policy_id, int64_t execution_id);
  Status ApplySchedule(const PreheatPolicyRecord& p);
  StatusOr<PreheatDriver*> DriverFor(const std::string& vendor);
  // One execution per enabled event_based policy whose repository (and,
  // with a tag, tag) filters keep the artifact. `tag` "" means all its tags.
  void TriggerEventPolicies(const std::string& repository, const std::string& digest,
                            const std::string& tag);

  PreheatStore& store_;
  ProjectController& projects_;
  AccessEvaluator& evaluator_;
  JobService& jobs_;
  std::map<std::string, PreheatDriver*> drivers_;
  Logger& log_;
};

}  // namespace berth

#endif  // BERTH_PREHEAT_PREHEAT_CONTROLLER_H_
