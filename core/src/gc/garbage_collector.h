// GarbageCollector: the GARBAGE_COLLECTION job. Online: pushes and pulls go
// on while it runs. It deletes untagged artifacts when asked, then every
// blob (layer, config or manifest) that nothing references any more, then
// upload sessions abandoned past their grace period.
//
// Why it never deletes what a push is using: a blob is only a candidate when
// no artifact references it and no repository link to it was seen within the
// time window; HEAD, GET and mount refresh a stale link, and every removal
// re-checks under the digest's lock, as gc_store.h explains. So a push that
// found a blob (HEAD) and references it (manifest PUT) within the window is
// safe, and a push racing the very removal gets an error, not a manifest
// pointing at nothing.
#ifndef BERTH_GC_GARBAGE_COLLECTOR_H_
#define BERTH_GC_GARBAGE_COLLECTOR_H_

#include <cstdint>
#include <string>

#include "blob/blob_store.h"
#include "jobs/job_service.h"
#include "registry/upload_controller.h"
#include "store/gc_store.h"
#include "store/registry_store.h"

namespace berth {

inline constexpr char kGcJobKind[] = "GARBAGE_COLLECTION";

struct GcParams {
  bool delete_untagged = true;
  bool dry_run = false;
  int workers = 1;               // 1..10, as Harbor's API allows
  int64_t time_window_ms = 0;    // 0: the collector's default
};

// Parses Harbor's GC parameters (delete_untagged, dry_run, workers,
// time_window in hours as an extension); kInvalidArgument names the field.
StatusOr<GcParams> ParseGcParams(const std::string& json);

struct GcResult {
  int64_t artifacts_deleted = 0;
  int64_t blobs_deleted = 0;
  int64_t bytes_freed = 0;
  int64_t uploads_purged = 0;
};

class GarbageCollector {
 public:
  GarbageCollector(RegistryStore& registry, GcStore& gc, BlobStore& blobs,
                   UploadController& uploads, int64_t default_window_ms,
                   int64_t upload_grace_ms);
  // The job handler.
  Status Run(JobContext& ctx);
  StatusOr<GcResult> Collect(const GcParams& params, JobContext& ctx);

 private:
  Status DeleteUntagged(const GcParams& p, int64_t cutoff, JobContext& ctx, GcResult* r);
  Status SweepBlobs(const GcParams& p, int64_t cutoff, JobContext& ctx, GcResult* r);
  Status SweepOrphanFiles(const GcParams& p, int64_t cutoff, JobContext& ctx, GcResult* r);
  // Removes one blob (mark, then finish); adds to r when it went.
  Status RemoveBlob(const std::string& digest, int64_t size, bool orphan, int64_t cutoff,
                    JobContext& ctx, GcResult* r);

  RegistryStore& registry_;
  GcStore& gc_;
  BlobStore& blobs_;
  UploadController& uploads_;
  int64_t default_window_ms_;
  int64_t upload_grace_ms_;
};

}  // namespace berth

#endif  // BERTH_GC_GARBAGE_COLLECTOR_H_
