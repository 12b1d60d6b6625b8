// The copying half of a replication execution: one artifact (or one
// deletion) between this Berth and a remote through a replication session.
// PushCopier reads manifests and blobs from the registry and streams blobs
// to the adapter; PullCopier streams from the adapter into uploads and
// stores manifests through the registry's writers. Both keep to the
// policy's speed and stop when the execution is being stopped.
#ifndef BERTH_REPLICATION_REPLICATION_COPIER_H_
#define BERTH_REPLICATION_REPLICATION_COPIER_H_

#include <map>
#include <string>
#include <vector>

#include "common/bandwidth_limiter.h"
#include "jobs/task_log.h"
#include "registry/manifest.h"
#include "replication/replication_job.h"
#include "replication/replication_policy.h"

namespace berth {

// One artifact in scope of an execution.
struct Candidate {
  std::string repository;  // in the source
  std::string digest;
  std::vector<std::string> tags;
  std::string resource_type = "image";
  std::string dst_repository;
  std::string operation = "copy";  // or "deletion"
};

class PushCopier {
 public:
  // `at_dest`: blob digest -> a destination repository holding it (mount sources).
  PushCopier(const ReplicationJobDeps& d, ReplicationSession& s, const ReplicationPolicy& p,
             JobContext& ctx, std::map<std::string, std::string>& at_dest)
      : d_(d), s_(s), p_(p), ctx_(ctx), at_dest_(at_dest), limiter_(p.speed_kb) {}
  // Records the blobs of an artifact the destination already holds.
  Status Seed(const Candidate& c);
  // Adds the bytes sent to *bytes.
  Status Copy(const Candidate& c, TaskLog& log, int64_t* bytes);

 private:
  Status LoadManifest(const std::string& repo, const std::string& digest, std::string* mt,
                      std::string* body);
  Status CopyManifest(const std::string& src, const std::string& digest, const std::string& dst,
                      TaskLog& log, int depth);
  Status CopyBlob(const Descriptor& b, const std::string& dst, TaskLog& log);

  const ReplicationJobDeps& d_;
  ReplicationSession& s_;
  const ReplicationPolicy& p_;
  JobContext& ctx_;
  std::map<std::string, std::string>& at_dest_;
  BandwidthLimiter limiter_;  // the policy's speed
  int64_t bytes_ = 0;
};

class PullCopier {
 public:
  PullCopier(const ReplicationJobDeps& d, ReplicationSession& s, const ReplicationPolicy& p,
             JobContext& ctx)
      : d_(d), s_(s), p_(p), ctx_(ctx), limiter_(p.speed_kb) {}
  // Adds the bytes received to *bytes.
  Status Copy(const Candidate& c, TaskLog& log, int64_t* bytes);

 private:
  Status EnsureProject(const std::string& repo, TaskLog& log);
  StatusOr<std::string> CopyManifestBody(const std::string& src, const std::string& mt,
                                         const std::string& body, const std::string& dst,
                                         TaskLog& log, int depth);
  Status CopyBlob(const std::string& src, const Descriptor& b, const std::string& dst, TaskLog& log);

  const ReplicationJobDeps& d_;
  ReplicationSession& s_;
  const ReplicationPolicy& p_;
  JobContext& ctx_;
  BandwidthLimiter limiter_;  // the policy's speed
  int64_t bytes_ = 0;
};

// Deletes the candidate's tags (or, untagged, its manifest) at the destination.
Status PropagateDeletion(ReplicationSession& s, const Candidate& c, TaskLog& log);

}  // namespace berth

#endif  // BERTH_REPLICATION_REPLICATION_COPIER_H_
