// ScanController: Harbor's scans. A scan is a report row (Pending) and an
// IMAGE_SCAN job on the job service; the job asks the registration's
// scanner plugin to scan the artifact, giving it berthd's URL and a
// short-lived bearer token limited to pulling that one repository
// (repository:<repo>:pull,scanner-pull), polls for the report within
// scanning.timeout_s, checks it, and stores it with its findings as rows.
// An SBOM scan stores the SBOM as an OCI accessory of the artifact (a
// manifest whose subject is the artifact, artifactType
// application/vnd.goharbor.harbor.sbom.v1) pushed through the registry.
// Indexes are scanned child by child. IMAGE_SCAN jobs are capped at
// scanning.max_concurrent across all nodes; SCAN_ALL enqueues one per
// artifact. A scanner that hangs, fails or answers garbage fails its own
// scan, with the reason in the scan log.
#ifndef BERTH_SCAN_SCAN_CONTROLLER_H_
#define BERTH_SCAN_SCAN_CONTROLLER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "artifact/artifact_controller.h"
#include "auth/token_service.h"
#include "common/logger.h"
#include "jobs/job_service.h"
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"
#include "scan/scanner_controller.h"
#include "store/artifact_store.h"
#include "store/project_store.h"
#include "store/registry_store.h"
#include "store/scan_report_store.h"

namespace berth {

inline constexpr char kScanJobKind[] = "IMAGE_SCAN";
inline constexpr char kScanAllJobKind[] = "SCAN_ALL";
inline constexpr char kSbomArtifactType[] = "application/vnd.goharbor.harbor.sbom.v1";

struct ScanDeps {
  ScanReportStore& reports;
  ScannerController& scanners;
  ProjectStore& projects;
  ArtifactStore& artifacts;
  RegistryStore& registry;
  ManifestController& manifests;
  UploadController& uploads;
  JobService& jobs;
  TokenService& tokens;
  Logger& log;
  std::string registry_url;  // what scanners pull from (berthd's external URL)
};

// One scan_overview / sbom_overview entry source: an artifact's digest and
// its children's (for an index).
struct OverviewTarget {
  std::string digest;
  std::vector<std::string> children;
};

// A scan that ended, for Harbor's SCANNING_* webhook events.
struct ScanFinished {
  std::string type;  // SCANNING_COMPLETED | SCANNING_FAILED | SCANNING_STOPPED
  std::string repository, digest, tag, scan_type;
  nlohmann::json scan_overview = nlohmann::json::object();  // by mime type, as artifacts show it
};
using ScanFinishedFn = std::function<void(const ScanFinished&)>;

class ScanController {
 public:
  ScanController(ScanDeps deps, const ScanningConfig& config);
  ~ScanController();

  // Registers IMAGE_SCAN and SCAN_ALL with the job service (before Start).
  void RegisterJobs();
  // The auto-scan thread.
  void Start();
  void Stop();

  // POST .../scan: `t` was resolved with scan (or sbom) create.
  Status Scan(const Identity& who, const ArtifactTarget& t, const std::string& scan_type);
  // POST .../scan/stop.
  Status StopScan(const Identity& who, const ArtifactTarget& t, const std::string& scan_type);
  // GET .../scan/{report_id}/log: the scan job's log.
  StatusOr<std::string> Log(const ArtifactTarget& t, const std::string& report_id);
  // GET .../additions/vulnerabilities: reports by mime type.
  StatusOr<nlohmann::json> Vulnerabilities(const ArtifactTarget& t);
  // with_scan_overview / with_sbom_overview, for a page of artifacts of one
  // project. `accept`: X-Accept-Vulnerabilities' mime types in order.
  StatusOr<std::map<std::string, nlohmann::json>> ScanOverviews(
      int64_t project_id, const std::vector<OverviewTarget>& targets,
      const std::vector<std::string>& accept);
  StatusOr<std::map<std::string, nlohmann::json>> SbomOverviews(
      int64_t project_id, const std::vector<std::string>& digests);

  // For the pull gate's ScannableCheck: an image (not an accessory) of a
  // project whose scanner exists and is enabled.
  StatusOr<bool> Scannable(int64_t project_id, const ArtifactRecord& a);

  // Scan endings: set before serving.
  void set_event_sink(ScanFinishedFn fn) { on_finished_ = std::move(fn); }

  // Registry events, queued, never blocking the request: a push starts scan
  // on push (project metadata auto_scan=true); a deletion drops the reports
  // and findings of digests no artifact holds any more (Harbor deletes an
  // artifact's reports with it).
  void OnArtifactEvent(const ArtifactEvent& e);

  // The maintenance loop's sweep: reports of deleted artifacts (those no
  // event reached: a deleted repository or project), and the finished
  // IMAGE_SCAN jobs and logs no report points at (the report was scanned
  // again), except the latest scan-all's, whose metrics read them.
  Status PruneFinished();

  // /scans/all/metrics (schedule_only: /scans/schedule/metrics).
  StatusOr<nlohmann::json> ScanAllMetrics(bool schedule_only);
  // POST /system/scanAll/stop.
  Status StopScanAll();

 private:
  // Starts scans of `a` (its children for an index) with the project's
  // scanner. `skip_scanned`: leave digests that already have a report of
  // that registration (auto-scan of an index whose children were pushed
  // and scanned just before). Returns how many scans were queued.
  StatusOr<int> Enqueue(int64_t project_id, const std::string& repository, const ArtifactRecord& a,
                        const std::string& scan_type, const std::string& trigger,
                        int64_t scan_all_id, bool skip_scanned, bool conflict_is_error);
  Status RunScan(JobContext& ctx);
  Status RunScanAll(JobContext& ctx);
  // Pushes the SBOM as an accessory of `digest`; its manifest digest.
  StatusOr<std::string> PushSbom(const std::string& repository, const std::string& digest,
                                 const std::string& subject_media_type, int64_t subject_size,
                                 const std::string& sbom_media_type, const std::string& document);
  void EventLoop();
  void AutoScan(const ArtifactEvent& e);
  // After an SBOM scan stored `keep`: deletes the artifact's earlier SBOM
  // accessories, so the newest is the only one (Harbor).
  void DropOlderSboms(JobContext& ctx, const std::string& repository, const std::string& digest,
                      const std::string& keep);
  // Sends the SCANNING_* event of a finished report (no-op without a sink).
  void Announce(const char* type, const ScanReportRecord& r, const std::string& tag);

  ScanDeps d_;
  ScanningConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ArtifactEvent> events_;
  bool stopping_ = false;
  std::thread events_thread_;
  ScanFinishedFn on_finished_;
};

}  // namespace berth

#endif  // BERTH_SCAN_SCAN_CONTROLLER_H_
