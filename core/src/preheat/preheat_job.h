// The P2P_PREHEAT job: one execution of a preheat policy (Harbor's enforcer
// and its per-artifact P2P_PREHEAT jobs, as one durable job with one task
// per artifact tag). It selects the candidates (the project's image
// artifacts split by tag, or the one pushed artifact of an event), filters
// them with the policy and the project's security settings, and for each
// task asks the provider to preheat berthd's /v2 manifest URL, with a pull
// token limited to that repository in the headers, then polls the provider
// until SUCCESS or FAIL or the task timeout. Every step goes to the task log.
#ifndef BERTH_PREHEAT_PREHEAT_JOB_H_
#define BERTH_PREHEAT_PREHEAT_JOB_H_

#include <functional>
#include <map>
#include <string>

#include "iam/project_controller.h"
#include "jobs/job_service.h"
#include "preheat/preheat_driver.h"
#include "common/vulnerability.h"
#include "store/artifact_store.h"
#include "store/label_store.h"
#include "store/preheat_store.h"

namespace berth {

inline constexpr char kPreheatJobKind[] = "P2P_PREHEAT";

// A pull credential for one repository: the value of an Authorization
// header ("Bearer <registry token>").
using PullCredentialFn = std::function<StatusOr<std::string>(const std::string& repository)>;

struct PreheatJobOptions {
  int64_t task_timeout_ms = 30LL * 60 * 1000;  // Harbor's dragonfly default: 30 minutes
  int64_t poll_interval_ms = 2000;
  int64_t call_timeout_ms = 30000;  // one provider call
};

struct PreheatJobDeps {
  PreheatStore& store;
  ProjectController& projects;
  ArtifactStore& artifacts;
  LabelStore& labels;
  JobStore& jobs;
  std::map<std::string, PreheatDriver*> drivers;  // by vendor
  std::string registry_url;  // berthd's external URL, without a trailing '/'
  PullCredentialFn pull_credential;
  ScanResultSource* scans = nullptr;  // nullptr: every artifact is unscanned
  PreheatJobOptions options;
};

// Job parameters: {"policy_id": n, "trigger": "manual|scheduled|event_based",
// "artifact": {"repository", "digest", "tag"} (event_based only)}.
Status RunPreheatJob(const PreheatJobDeps& deps, JobContext& ctx);

// The PreheatEndpoint of a stored instance.
PreheatEndpoint EndpointOf(const PreheatInstanceRecord& instance);

}  // namespace berth

#endif  // BERTH_PREHEAT_PREHEAT_JOB_H_
