// Harbor's scan data export (the CVE export): POST /export/cve records an
// execution and enqueues a SCAN_DATA_EXPORT job; the job selects the
// project's artifacts by repository, tag and label, writes the findings of
// each one's latest successful vulnerability report (filtered by CVE id) as
// CSV into the storage driver, where every node can read it, and records
// the file's digest and size. A complete download deletes the file and the
// execution (Harbor's cleanUpArtifact); files never downloaded are purged
// daily (Harbor's SYSTEM_ARTIFACT_CLEANUP) and with their project.
#ifndef BERTH_SCAN_SCAN_DATA_EXPORT_H_
#define BERTH_SCAN_SCAN_DATA_EXPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "auth/access_evaluator.h"
#include "blob/storage_driver.h"
#include "common/identity.h"
#include "common/logger.h"
#include "jobs/job_service.h"
#include "store/project_store.h"
#include "store/scan_export_store.h"

namespace berth {

inline constexpr char kScanDataExportJobKind[] = "SCAN_DATA_EXPORT";
// Harbor's SYSTEM_ARTIFACT_CLEANUP: the daily purge of export files.
inline constexpr char kScanDataExportCleanupJobKind[] = "SYSTEM_ARTIFACT_CLEANUP";
// The only X-Scan-Data-Type Harbor exports.
inline constexpr char kScanDataExportMimeType[] =
    "application/vnd.security.vulnerability.report; version=1.1";

// Harbor's ScanDataExportRequest.
struct ScanDataExportRequest {
  std::string job_name;
  std::vector<int64_t> projects;
  std::vector<int64_t> labels;
  std::string repositories;  // doublestar over the path inside the project; "" = all
  std::string cve_ids;       // doublestar over the CVE id; a bare comma list means any of them
  std::string tags;          // doublestar over the tags; "" = all, untagged included
};

struct ScanDataExportOptions {
  int64_t max_age_ms = 24LL * 3600 * 1000;  // undownloaded files older than this are purged
  std::string cleanup_cron = "0 0 0 * * *";   // Harbor's daily schedule
  int64_t artifact_page = 100;
  int64_t finding_page = 500;
};

// The CSV header, in Harbor's column order.
const std::vector<std::string>& ScanDataExportColumns();

class ScanDataExportController {
 public:
  ScanDataExportController(ScanExportStore& store, ProjectStore& projects, AccessEvaluator& evaluator,
                           JobService& jobs, StorageDriver& storage, Logger& log,
                           ScanDataExportOptions options = {})
      : store_(store), projects_(projects), evaluator_(evaluator), jobs_(jobs), storage_(storage),
        log_(log), options_(std::move(options)) {}

  // Before the job service starts: the export and the cleanup kinds.
  void RegisterJobs();
  // The daily cleanup schedule, kept if already there (any node).
  Status EnsureCleanupSchedule();

  // Harbor's validation (one project that exists, no spaces, well-formed
  // patterns), export-cve create on the project; the new execution's id.
  StatusOr<int64_t> Start(const Identity& who, const ScanDataExportRequest& request);
  // The caller's own execution (404 unknown, 403 someone else's), with the
  // status of a job that ended without ending it.
  StatusOr<ScanExportRecord> Get(const Identity& who, int64_t id);
  StatusOr<std::vector<ScanExportRecord>> List(const Identity& who);
  // Get, then the stored file (kNotFound while it is not present).
  StatusOr<std::unique_ptr<StorageReader>> OpenFile(const ScanExportRecord& e);
  // After a complete download: the file and the execution go.
  Status Downloaded(const ScanExportRecord& e);
  // A deleted project's exports and their files.
  Status ProjectDeleted(int64_t project_id);

  Status RunExport(JobContext& ctx);
  Status RunCleanup(JobContext& ctx);

 private:
  Status Remove(const ScanExportRecord& e);
  Status RequireRead(const Identity& who, int64_t project_id);
  ScanExportStore& store_;
  ProjectStore& projects_;
  AccessEvaluator& evaluator_;
  JobService& jobs_;
  StorageDriver& storage_;
  Logger& log_;
  ScanDataExportOptions options_;
};

}  // namespace berth

#endif  // BERTH_SCAN_SCAN_DATA_EXPORT_H_
