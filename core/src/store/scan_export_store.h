// ScanExportStore: Harbor's scan data export (CVE export) executions, and
// the reads the export job pages through: a project's repositories, their
// artifacts with tags and labels, each digest's latest successful
// vulnerability report and its findings rows.
#ifndef BERTH_STORE_SCAN_EXPORT_STORE_H_
#define BERTH_STORE_SCAN_EXPORT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/scan_report_store.h"
#include "store/sql.h"

namespace berth {

// Harbor's execution statuses.
inline constexpr char kExportRunning[] = "Running";
inline constexpr char kExportSuccess[] = "Success";
inline constexpr char kExportError[] = "Error";
inline constexpr char kExportStopped[] = "Stopped";

struct ScanExportRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string user_name;
  std::string job_name;
  int64_t project_id = 0;
  std::string request_json = "{}";  // the ScanDataExportRequest as accepted
  std::string status = kExportRunning;
  std::string status_text;
  int64_t job_id = 0;
  int64_t start_time = 0;
  int64_t end_time = 0;
  std::string file_path;  // in the storage driver
  std::string file_digest;
  int64_t file_size = 0;
  bool file_present = false;
  // The job's own status and error (a job that died without ending the
  // execution: a crash past its retries, a stop before it ran).
  std::string job_status;
  std::string job_error;
};

struct ExportRepository {
  int64_t id = 0;
  std::string name;  // "project/path"
};

// A top-level artifact, or a child of an image index, which carries its
// parent's tags and labels (Harbor's filter processor).
struct ExportArtifact {
  int64_t id = 0;
  std::string digest;
  int64_t push_time = 0;
  std::vector<std::string> tags;
  std::vector<int64_t> label_ids;
  std::vector<std::string> child_digests;
};

struct ExportReport {
  int64_t id = 0;
  std::string scanner;     // the registration's name
  bool finding_details = false;  // rows carry CVSS v2, vectors and CWEs
  std::string report;      // the stored report, only without finding_details
};

struct ExportFinding {
  int64_t id = 0;
  StoredFinding f;
};

class ScanExportStore {
 public:
  explicit ScanExportStore(SqlDatabase& db) : db_(db) {}

  // Fills r.id.
  Status Create(ScanExportRecord& r);
  Status SetJob(int64_t id, int64_t job_id);
  // Ends the execution; a present file records its path, digest and size.
  Status Finish(const ScanExportRecord& r);
  StatusOr<std::optional<ScanExportRecord>> Get(int64_t id);
  // Newest first.
  StatusOr<std::vector<ScanExportRecord>> OfUser(const std::string& user_name);
  StatusOr<std::vector<ScanExportRecord>> OfProject(int64_t project_id);
  // Executions started before `before_ms` that are not running.
  StatusOr<std::vector<ScanExportRecord>> FinishedBefore(int64_t before_ms);
  // false when it was already gone.
  StatusOr<bool> Delete(int64_t id);

  StatusOr<std::vector<ExportRepository>> RepositoriesOf(int64_t project_id);
  // Top-level artifacts (neither accessories nor index children) of a
  // repository, by push time and id, at most `limit`, after `after` (a
  // default ExportArtifact for the first page).
  StatusOr<std::vector<ExportArtifact>> ArtifactsPage(int64_t repository_id,
                                                      const ExportArtifact& after, int64_t limit);
  // The latest successful vulnerability report of the digest, any scanner.
  StatusOr<std::optional<ExportReport>> LatestReport(const std::string& digest);
  // The report's findings rows with id > after_id, by id.
  StatusOr<std::vector<ExportFinding>> FindingsPage(int64_t report_id, int64_t after_id,
                                                    int64_t limit);

 private:
  StatusOr<std::vector<ScanExportRecord>> Select(const std::string& where,
                                                 const std::vector<SqlValue>& params);
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_SCAN_EXPORT_STORE_H_
