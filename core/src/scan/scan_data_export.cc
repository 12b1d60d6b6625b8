#include "scan/scan_data_export.h"

#include <set>

#include <nlohmann/json.hpp>

#include "auth/denial.h"
#include "common/clock.h"
#include "common/csv.h"
#include "common/digest.h"
#include "policy/doublestar.h"
#include "policy/selector.h"
#include "scan/vulnerability_report.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// "/system_artifacts/scandata/scandata_export_<id>.csv": outside the
// registry's /blobs and /uploads, which GC and upload purges walk.
std::string FilePath(int64_t id) {
  return "/system_artifacts/scandata/scandata_export_" + std::to_string(id) + ".csv";
}

// The UI sends "{CVE-1,CVE-2}"; a bare "CVE-1,CVE-2" means the same.
std::string CvePattern(const std::string& cve_ids) {
  if (cve_ids.empty() || cve_ids.front() == '{' || cve_ids.find(',') == std::string::npos) {
    return cve_ids;
  }
  return "{" + cve_ids + "}";
}

// A Running execution whose job ended without ending it (the job failed
// before it could record why, or was stopped) shows the job's outcome.
void WithJobOutcome(ScanExportRecord& e) {
  if (e.status == kExportRunning && (e.job_status == kJobError || e.job_status == kJobStopped)) {
    e.status = e.job_status;
    e.status_text = e.job_error;
  }
}

nlohmann::json RequestJson(const ScanDataExportRequest& r) {
  return {{"job_name", r.job_name}, {"projects", r.projects},   {"labels", r.labels},
          {"repositories", r.repositories}, {"cveIds", r.cve_ids}, {"tags", r.tags}};
}

ScanDataExportRequest RequestFrom(const std::string& text) {
  ScanDataExportRequest r;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return r;
  r.job_name = j.value("job_name", "");
  r.projects = j.value("projects", std::vector<int64_t>{});
  r.labels = j.value("labels", std::vector<int64_t>{});
  r.repositories = j.value("repositories", "");
  r.cve_ids = j.value("cveIds", "");
  r.tags = j.value("tags", "");
  return r;
}

// The CSV file being written: rows through the hasher into the driver.
class CsvSink {
 public:
  explicit CsvSink(std::unique_ptr<StorageWriter> w) : w_(std::move(w)), hasher_(DigestAlgorithm::kSha256) {}
  Status Write(const std::vector<std::string>& fields) {
    std::string line = CsvRecord(fields);
    hasher_.Update(line.data(), line.size());
    size_ += static_cast<int64_t>(line.size());
    return w_->Write(line.data(), line.size());
  }
  StatusOr<std::string> Commit() {
    BERTH_RETURN_IF_ERROR(w_->Commit());
    return hasher_.Finish().ToString();
  }
  void Cancel() { (void)w_->Cancel(); }
  int64_t size() const { return size_; }

 private:
  std::unique_ptr<StorageWriter> w_;
  Hasher hasher_;
  int64_t size_ = 0;
};

}  // namespace

const std::vector<std::string>& ScanDataExportColumns() {
  // Harbor 2.9 and later (what its users' scripts read).
  static const std::vector<std::string> kColumns = {
      "Repository", "Artifact Digest", "CVE",     "Package",         "Current Version",
      "Fixed in version", "Severity",  "CWE Ids", "Additional Data", "Scanner"};
  return kColumns;
}

void ScanDataExportController::RegisterJobs() {
  // Harbor: one attempt, one export at a time across the cluster.
  jobs_.Register({kScanDataExportJobKind, 1, 10000, 600000, 1, 1},
                 [this](JobContext& ctx) { return RunExport(ctx); });
  jobs_.Register({kScanDataExportCleanupJobKind, 1, 10000, 600000, 1, 1},
                 [this](JobContext& ctx) { return RunCleanup(ctx); });
}

Status ScanDataExportController::EnsureCleanupSchedule() {
  BERTH_ASSIGN_OR_RETURN(auto have, jobs_.store().GetSchedule(kScanDataExportCleanupJobKind, 0));
  if (have && have->cron == options_.cleanup_cron) return {};
  Status set = jobs_.SetSchedule(kScanDataExportCleanupJobKind, 0, options_.cleanup_cron,
                                 kScanDataExportCleanupJobKind, "{}");
  if (!set.ok()) return Status::InvalidArgument("scanning.export_cleanup_cron: " + set.message());
  return {};
}

Status ScanDataExportController::RequireRead(const Identity& who, int64_t project_id) {
  BERTH_ASSIGN_OR_RETURN(auto project, projects_.GetById(project_id));
  if (!project) return Status::NotFound("project " + std::to_string(project_id) + " not found", "NOT_FOUND");
  BERTH_ASSIGN_OR_RETURN(bool can, evaluator_.Can(who, *project, "export-cve", "read"));
  if (!can) return Deny(who, "not allowed to read the project's scan data exports");
  return {};
}

StatusOr<int64_t> ScanDataExportController::Start(const Identity& who,
                                                  const ScanDataExportRequest& request) {
  // Harbor's order: the criteria, the project, the spaces, then access.
  if (request.projects.size() != 1) {
    return Bad("only support export single project, invalid value: " +
               nlohmann::json(request.projects).dump());
  }
  BERTH_ASSIGN_OR_RETURN(auto project, projects_.GetById(request.projects[0]));
  if (!project) {
    return Status::NotFound("project " + std::to_string(request.projects[0]) + " not found",
                            "NOT_FOUND");
  }
  for (const std::string* s : {&request.repositories, &request.tags, &request.cve_ids}) {
    if (s->find(' ') != std::string::npos) {
      return Bad("invalid criteria value, please remove additional spaces for input: " + *s);
    }
  }
  for (auto [name, pattern] : {std::pair<const char*, std::string>{"repositories", request.repositories},
                               {"tags", request.tags},
                               {"cveIds", CvePattern(request.cve_ids)}}) {
    if (Status v = ValidateDoublestar(pattern); !v.ok()) {
      return Bad(std::string(name) + ": " + v.message());
    }
  }
  BERTH_ASSIGN_OR_RETURN(bool can, evaluator_.Can(who, *project, "export-cve", "create"));
  if (!can) return Deny(who, "not allowed to export the project's scan data");
  // Harbor keys executions by user; a robot is no user (its GetByName fails).
  if (who.kind != Identity::Kind::kUser) {
    return Forbidden("User : " + who.username + " not found");
  }
  ScanExportRecord e;
  e.user_id = who.user_id;
  e.user_name = who.username;
  e.job_name = request.job_name;
  e.project_id = project->project_id;
  e.request_json = RequestJson(request).dump();
  e.status = kExportRunning;
  e.start_time = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(store_.Create(e));
  NewJob job;
  job.kind = kScanDataExportJobKind;
  job.params_json = nlohmann::json{{"execution_id", e.id}}.dump();
  job.vendor_type = kScanDataExportJobKind;
  job.vendor_id = e.id;
  auto job_id = jobs_.Enqueue(job);
  if (!job_id.ok()) {
    (void)store_.Delete(e.id);  // nothing half-written
    return job_id.status();
  }
  BERTH_RETURN_IF_ERROR(store_.SetJob(e.id, *job_id));
  return e.id;
}

StatusOr<ScanExportRecord> ScanDataExportController::Get(const Identity& who, int64_t id) {
  if (!who.authenticated()) return Deny(who, "");
  BERTH_ASSIGN_OR_RETURN(auto e, store_.Get(id));
  if (!e) return Status::NotFound("execution with id: " + std::to_string(id) + " not found", "NOT_FOUND");
  BERTH_RETURN_IF_ERROR(RequireRead(who, e->project_id));
  if (who.username != e->user_name) return Forbidden();
  WithJobOutcome(*e);
  return *e;
}

StatusOr<std::vector<ScanExportRecord>> ScanDataExportController::List(const Identity& who) {
  if (!who.authenticated()) return Deny(who, "");
  BERTH_ASSIGN_OR_RETURN(auto list, store_.OfUser(who.username));
  std::set<int64_t> projects;
  for (auto& e : list) {
    projects.insert(e.project_id);
    WithJobOutcome(e);
  }
  // Harbor: read access to every project the caller's executions cover.
  for (int64_t p : projects) BERTH_RETURN_IF_ERROR(RequireRead(who, p));
  return list;
}

StatusOr<std::unique_ptr<StorageReader>> ScanDataExportController::OpenFile(const ScanExportRecord& e) {
  if (!e.file_present || e.file_path.empty()) {
    return Status::NotFound("the export file of execution " + std::to_string(e.id) + " is not present",
                            "NOT_FOUND");
  }
  return storage_.OpenReader(e.file_path, 0);
}

Status ScanDataExportController::Remove(const ScanExportRecord& e) {
  // The record first: a file without one is found by nobody, a record
  // without its file would be offered for download.
  BERTH_RETURN_IF_ERROR(store_.Delete(e.id).status());
  if (!e.file_path.empty()) {
    Status s = storage_.Remove(e.file_path);
    if (!s.ok() && s.code() != Code::kNotFound) {
      log_.Warn("removing a scan data export file failed", {{"path", e.file_path}, {"error", s.message()}});
    }
  }
  return {};
}

Status ScanDataExportController::Downloaded(const ScanExportRecord& e) { return Remove(e); }

Status ScanDataExportController::ProjectDeleted(int64_t project_id) {
  BERTH_ASSIGN_OR_RETURN(auto list, store_.OfProject(project_id));
  for (const auto& e : list) BERTH_RETURN_IF_ERROR(Remove(e));
  return {};
}

Status ScanDataExportController::RunCleanup(JobContext& ctx) {
  BERTH_ASSIGN_OR_RETURN(auto old, store_.FinishedBefore(NowUnixMillis() - options_.max_age_ms));
  int64_t n = 0;
  for (const auto& e : old) {
    if (ctx.stopping()) break;
    BERTH_RETURN_IF_ERROR(Remove(e));
    ++n;
  }
  ctx.Info("removed " + std::to_string(n) + " scan data export(s) older than " +
           std::to_string(options_.max_age_ms / 1000) + " s");
  return {};
}

Status ScanDataExportController::RunExport(JobContext& ctx) {
  auto params = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  int64_t id = params.is_object() ? params.value("execution_id", int64_t{0}) : 0;
  BERTH_ASSIGN_OR_RETURN(auto found, store_.Get(id));
  if (!found) {
    ctx.Info("execution " + std::to_string(id) + " is gone; nothing to export");
    return {};
  }
  ScanExportRecord e = *found;
  const ScanDataExportRequest req = RequestFrom(e.request_json);
  auto fail = [&](const Status& s) -> Status {
    e.status = kExportError;
    e.status_text = s.message();
    e.end_time = NowUnixMillis();
    e.file_present = false;
    Status f = store_.Finish(e);
    if (!f.ok()) ctx.Warn("recording the failure failed: " + f.message());
    ctx.GiveUp();
    return s;
  };
  BERTH_ASSIGN_OR_RETURN(auto project, projects_.GetById(e.project_id));
  if (!project) return fail(Status::NotFound("project " + std::to_string(e.project_id) + " is gone"));

  const Selector repo_sel{selectors::kDoublestar, selectors::kRepoMatches, req.repositories};
  const Selector tag_sel{selectors::kDoublestar, selectors::kMatches, req.tags};
  const std::string cve_pattern = CvePattern(req.cve_ids);
  const std::set<int64_t> labels(req.labels.begin(), req.labels.end());

  const std::string path = FilePath(e.id);
  auto writer = storage_.OpenWriter(path, false);
  if (!writer.ok()) return fail(writer.status());
  CsvSink sink(std::move(*writer));
  auto discard = [&] {
    sink.Cancel();
    (void)storage_.Remove(path);
  };
  auto abort = [&](const Status& s) {
    discard();
    return fail(s);
  };
  if (Status h = sink.Write(ScanDataExportColumns()); !h.ok()) return abort(h);

  int64_t rows = 0, artifacts = 0;
  // One artifact's findings, filtered by CVE, as rows.
  auto write_findings = [&](const std::string& repository, const std::string& digest,
                            const ExportReport& report, const std::vector<StoredFinding>& findings) -> Status {
    for (const auto& f : findings) {
      if (!cve_pattern.empty()) {
        BERTH_ASSIGN_OR_RETURN(bool match, DoublestarMatch(cve_pattern, f.finding.cve_id));
        if (!match) continue;
      }
      ++rows;
      BERTH_RETURN_IF_ERROR(sink.Write(
          {SanitizeCsvCell(repository), SanitizeCsvCell(digest), SanitizeCsvCell(f.finding.cve_id),
           SanitizeCsvCell(f.finding.package), SanitizeCsvCell(f.finding.version),
           SanitizeCsvCell(f.finding.fixed_version), std::string(SeverityName(f.finding.severity)),
           SanitizeCsvCell(f.cwe_ids), SanitizeCsvCell(f.vendor_attributes_json),
           SanitizeCsvCell(report.scanner)}));
    }
    return {};
  };
  auto export_digest = [&](const std::string& repository, const std::string& digest) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto report, store_.LatestReport(digest));
    if (!report) return {};
    ++artifacts;
    if (!report->finding_details) {
      // Indexed before the rows kept the CWEs and vendor attributes: the report.
      auto parsed = ParseVulnerabilityReport(report->report);
      if (!parsed.ok()) {
        ctx.Warn("the stored report of " + repository + "@" + digest + " does not parse: " +
                 parsed.status().message());
        return {};
      }
      return write_findings(repository, digest, *report, parsed->findings);
    }
    for (int64_t after = 0;;) {
      BERTH_ASSIGN_OR_RETURN(auto page, store_.FindingsPage(report->id, after, options_.finding_page));
      if (page.empty()) return {};
      std::vector<StoredFinding> findings;
      findings.reserve(page.size());
      for (auto& x : page) findings.push_back(std::move(x.f));
      after = page.back().id;
      BERTH_RETURN_IF_ERROR(write_findings(repository, digest, *report, findings));
    }
  };

  Status walked = [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto repos, store_.RepositoriesOf(e.project_id));
    const std::string prefix = project->name + "/";
    for (const auto& repo : repos) {
      std::string inside = repo.name.rfind(prefix, 0) == 0 ? repo.name.substr(prefix.size()) : repo.name;
      if (!req.repositories.empty()) {
        BERTH_ASSIGN_OR_RETURN(bool keep, SelectorSelects(repo_sel, inside));
        if (!keep) continue;
      }
      std::set<std::string> done;  // a child under two indexes is written once
      for (ExportArtifact after;;) {
        if (ctx.stopping()) return Status::Unsupported("interrupted");
        BERTH_ASSIGN_OR_RETURN(auto page, store_.ArtifactsPage(repo.id, after, options_.artifact_page));
        if (page.empty()) break;
        after = page.back();
        for (const auto& a : page) {
          if (!req.tags.empty()) {
            bool keep = false;
            for (const auto& t : a.tags) {
              BERTH_ASSIGN_OR_RETURN(keep, SelectorSelects(tag_sel, t));
              if (keep) break;
            }
            if (!keep) continue;
          }
          if (!labels.empty()) {
            bool keep = false;
            for (int64_t l : a.label_ids) keep = keep || labels.count(l) > 0;
            if (!keep) continue;
          }
          // Harbor: an index's children (their reports) with the index.
          for (const auto& child : a.child_digests) {
            if (done.insert(child).second) BERTH_RETURN_IF_ERROR(export_digest(repo.name, child));
          }
          if (done.insert(a.digest).second) BERTH_RETURN_IF_ERROR(export_digest(repo.name, a.digest));
        }
        ctx.CheckIn(repo.name + ": " + std::to_string(rows) + " rows");
      }
    }
    return {};
  }();
  if (!walked.ok()) {
    if (ctx.stopping()) {
      // Shutdown: the job goes back to the queue and any node starts over.
      discard();
      return Status::Unsupported("interrupted by shutdown");
    }
    return abort(walked);
  }
  auto digest = sink.Commit();
  if (!digest.ok()) return abort(digest.status());
  e.status = kExportSuccess;
  e.status_text = "";
  e.end_time = NowUnixMillis();
  e.file_path = path;
  e.file_digest = *digest;
  e.file_size = sink.size();
  e.file_present = true;
  if (Status f = store_.Finish(e); !f.ok()) {
    (void)storage_.Remove(path);
    if (f.code() == Code::kNotFound) return {};  // deleted meanwhile (its project went)
    return f;
  }
  ctx.Info("exported " + std::to_string(rows) + " finding(s) of " + std::to_string(artifacts) +
           " artifact(s) to " + path + " (" + std::to_string(sink.size()) + " bytes, " + *digest + ")");
  return {};
}

}  // namespace berth
