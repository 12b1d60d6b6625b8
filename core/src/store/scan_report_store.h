// ScanReportStore: scan reports per artifact digest, scanner registration
// and report mime type (Harbor's scan_report), and the findings of every
// vulnerability report as indexed rows, so that the pull gate and the
// security hub read columns instead of parsing JSON reports.
#ifndef BERTH_STORE_SCAN_REPORT_STORE_H_
#define BERTH_STORE_SCAN_REPORT_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/vulnerability.h"
#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

// Harbor's scan statuses (job statuses).
inline constexpr char kScanPending[] = "Pending";
inline constexpr char kScanRunning[] = "Running";
inline constexpr char kScanSuccess[] = "Success";
inline constexpr char kScanError[] = "Error";
inline constexpr char kScanStopped[] = "Stopped";

struct ScanReportRecord {
  int64_t id = 0;
  std::string uuid;  // Harbor's report_id
  std::string digest;
  std::string registration_uuid;
  std::string mime_type;
  std::string scan_type;  // vulnerability | sbom
  int64_t project_id = 0;
  std::string repository;
  std::string status = kScanPending;
  int64_t job_id = 0;
  int64_t start_time = 0;
  int64_t end_time = 0;
  Severity severity = Severity::kNone;
  int64_t total = 0;
  int64_t fixable = 0;
  std::string summary_json = "{}";  // {"Critical": n, ...}
  std::string scanner_json = "{}";  // {"name","vendor","version"}
  std::string report;               // the report as Harbor serves it
  std::string sbom_digest;          // sbom: the accessory's manifest digest
  std::string error;
};

struct StoredFinding {
  VulnerabilityFinding finding;
  int64_t cvss_v3_x10 = -1;  // CVSS v3 score times ten; -1 unknown
  std::string description;
  std::string links_json = "[]";
  // What the CVE export writes besides (preferred_cvss, cwe_ids).
  int64_t cvss_v2_x10 = -1;  // CVSS v2 score times ten; -1 unknown
  std::string cvss_v3_vector;
  std::string cvss_v2_vector;
  std::string cwe_ids;  // comma-separated, as the scanner listed them
  std::string vendor_attributes_json;  // the scanner's vendor_attributes object; "" when none
};

// Harbor 2.10's security hub, over the findings rows of successful reports.
struct FindingRow {
  int64_t project_id = 0;
  std::string repository;
  std::string digest;
  StoredFinding f;
};

struct SecuritySummaryData {
  std::map<Severity, int64_t> by_severity;
  int64_t total = 0;
  int64_t fixable = 0;
  int64_t scanned_artifacts = 0;  // digests with a successful report
  int64_t total_artifacts = 0;
  std::vector<FindingRow> dangerous_cves;  // the 5 highest CVSS scores among Critical
  struct Artifact {
    int64_t project_id = 0;
    std::string repository, digest;
    int64_t critical = 0, high = 0, medium = 0;
  };
  std::vector<Artifact> dangerous_artifacts;  // the 5 with most Critical, High, Medium
};

class ScanReportStore : public ScanResultSource {
 public:
  explicit ScanReportStore(SqlDatabase& db) : db_(db) {}

  // A fresh Pending report for (digest, registration, mime type), replacing
  // a finished one. kConflict when one is Pending or Running.
  Status Begin(ScanReportRecord& r);
  Status SetJob(const std::string& uuid, int64_t job_id);
  Status MarkRunning(const std::string& uuid, int64_t start_time);
  // Ends the report (status, times, summary, report, error) and replaces its
  // findings, in one transaction.
  Status Finish(const ScanReportRecord& r, const std::vector<StoredFinding>& findings);
  StatusOr<std::optional<ScanReportRecord>> Get(const std::string& uuid);
  // Reports of these digests by one registration (without the report body).
  StatusOr<std::vector<ScanReportRecord>> OfDigests(const std::vector<std::string>& digests,
                                                    const std::string& registration_uuid,
                                                    bool with_body = false);
  // Pending or Running reports of these digests (any registration).
  StatusOr<std::vector<ScanReportRecord>> Unfinished(const std::vector<std::string>& digests,
                                                     const std::string& scan_type);
  // Marks reports whose job ended without finishing them (a stop before the
  // job ran, a crash of the node) with the job's outcome.
  Status EndWithJob(int64_t job_id, const std::string& status, const std::string& error);

  StatusOr<SecuritySummaryData> SecuritySummary(bool with_cves, bool with_artifacts);
  // Harbor's q keys: cve_id, package, severity (a name), project_id,
  // repository_name, digest, cvss_score_v3 (a range of scores, e.g. [7~10]),
  // tag (findings of the artifact carrying that tag in its repository).
  // Ordered as Harbor: highest CVSS v3 score first. `tune_count`: Harbor's
  // X-Total-Count of -1 past 1000 matches, without counting them all.
  StatusOr<Page<FindingRow>> ListFindings(const ListQuery& q, bool tune_count = false);
  // The tags of each (repository, digest), for /security/vul?with_tag=true.
  StatusOr<std::map<std::pair<std::string, std::string>, std::vector<std::string>>> TagsOf(
      const std::vector<std::pair<std::string, std::string>>& artifacts);

  // Finished reports (and their findings) of digests no artifact holds any
  // more: Harbor deletes an artifact's reports with it. Returns how many.
  StatusOr<int64_t> PruneOrphans();
  // Finished IMAGE_SCAN jobs (`kind`) and their logs that no report points
  // at any more (the report was scanned again, or its artifact deleted),
  // except those of the scan-all run `keep_vendor_id` (its metrics read them).
  StatusOr<int64_t> PruneScanJobs(const std::string& kind, int64_t keep_vendor_id);

  // ScanResultSource: the latest successful vulnerability report of the
  // digest (any registration) with its findings, read from the rows.
  StatusOr<ScanResult> LatestVulnerabilityResult(const std::string& repository,
                                                 const std::string& digest) override;

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_SCAN_REPORT_STORE_H_
