// The RETENTION job (Harbor's, src/pkg/retention/job.go): one run of a
// project's retention policy. It makes one task per repository some enabled
// rule covers, reads each repository's top-level artifacts with their tags,
// labels and push/pull times from the store in pages (no per-artifact
// round trips), evaluates the rules ("or") and deletes what no rule retains
// through the registry's delete path (accessories go along, quota is freed,
// blobs are left to GC). A dry run deletes nothing and reports the same.
// Artifacts carrying an immutable tag are kept (IMMUTABLE in the log).
#ifndef BERTH_RETENTION_RETENTION_JOB_H_
#define BERTH_RETENTION_RETENTION_JOB_H_

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iam/project_controller.h"
#include "jobs/job_service.h"
#include "registry/manifest_controller.h"
#include "store/artifact_store.h"
#include "store/label_store.h"
#include "store/retention_store.h"

namespace berth {

inline constexpr char kRetentionJobKind[] = "RETENTION";

// Whether `tag` of `repo` is immutable in the project. `repo` is the full
// repository name ("library/app"). Default: nothing is immutable. The tag
// immutability feature provides the real one.
using ImmutableTagCheck =
    std::function<StatusOr<bool>(int64_t project_id, std::string_view repo, std::string_view tag)>;
// Deletes an artifact (by digest) the way the API does: accessories with it,
// quota released, events and audit. kNotFound when it is already gone.
using ArtifactDeleter = std::function<Status(const std::string& repo, const std::string& digest)>;
// A finished repository task of a real (not dry) run that deleted or failed
// to delete something: Harbor's TAG_RETENTION webhook. `retention` is
// Harbor's Retention object without harbor_hostname (the notifier knows
// it); `trigger` is the execution's, upper-case as Harbor's operator field.
using RetentionTaskEvent = std::function<void(const std::string& project_name,
                                              const nlohmann::json& retention,
                                              const std::string& trigger)>;

struct RetentionJobDeps {
  RetentionStore& store;
  ProjectController& projects;
  ArtifactStore& artifacts;
  LabelStore& labels;
  JobStore& jobs;
  ArtifactDeleter delete_artifact;
  ImmutableTagCheck is_immutable;  // may be empty: nothing is immutable
  RetentionTaskEvent on_task_event;  // may be empty
};

// The registry's delete path (ManifestController::Delete by digest), as the
// artifact API uses it.
ArtifactDeleter RegistryArtifactDeleter(ManifestController& manifests);

// Job parameters: {"policy_id": n, "dry_run": bool}.
Status RunRetentionJob(const RetentionJobDeps& deps, JobContext& ctx);

}  // namespace berth

#endif  // BERTH_RETENTION_RETENTION_JOB_H_
