// The REPLICATION job: one execution of a replication policy (Harbor's
// src/controller/replication/flow). It lists the artifacts in scope (local
// ones for push-based policies, the source adapter's fetch_artifacts for
// pull-based ones), makes one task per artifact (and one per deletion an
// event propagates), and copies each: index children first, blobs the
// destination already has skipped (blob_exists), a cross-repository mount
// tried before a copy, then the manifest by digest and by each tag. Blobs
// stream between the blob store and the adapter without touching local
// disk; pulled content goes through the registry's upload and manifest paths
// (quota, events). A run taken over after a crash keeps its tasks and skips
// those already finished.
#ifndef BERTH_REPLICATION_REPLICATION_JOB_H_
#define BERTH_REPLICATION_REPLICATION_JOB_H_

#include "blob/blob_store.h"
#include "iam/project_controller.h"
#include "jobs/job_service.h"
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "replication/remote_registry_controller.h"
#include "store/artifact_store.h"
#include "store/label_store.h"
#include "store/replication_store.h"

namespace berth {

inline constexpr char kReplicationJobKind[] = "REPLICATION";

// A finished task (Success or Error): Harbor's REPLICATION webhook.
// `project` is the local project (the source of a push, the destination of
// a pull); `replication` is Harbor's Replication object without
// harbor_hostname (the notifier knows it).
using ReplicationTaskEvent = std::function<void(const std::string& project,
                                                const nlohmann::json& replication,
                                                const std::string& trigger)>;

struct ReplicationJobDeps {
  ReplicationStore& store;
  RemoteRegistryController& registries;
  ProjectController& projects;
  ArtifactStore& artifacts;
  LabelStore& labels;
  ManifestController& manifests;
  UploadController& uploads;
  BlobStore& blobs;
  RegistryStore& registry;
  std::string local_endpoint;          // berthd's external URL, for the events
  ReplicationTaskEvent on_task_event;  // may be empty
};

// Job parameters: {"policy_id": n} and, for event-based runs,
// {"event": {"operation": "push"|"delete", "repository", "digest", "tags"}}.
Status RunReplicationJob(const ReplicationJobDeps& deps, JobContext& ctx);

}  // namespace berth

#endif  // BERTH_REPLICATION_REPLICATION_JOB_H_
