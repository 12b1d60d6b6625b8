#include "scan/scan_controller.h"

#include <algorithm>

#include "auth/denial.h"
#include "common/clock.h"
#include "common/random.h"
#include "registry/artifact_kind.h"
#include "scan/vulnerability_report.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

Status NoScanner(const std::string& why) {
  return Status(Code::kPreconditionFailed, why, "PRECONDITION");
}

bool IsIndex(const ArtifactRecord& a) {
  return a.media_type.find("index") != std::string::npos ||
         a.media_type.find("manifest.list") != std::string::npos;
}

// The mime type of the vulnerability report to ask a scanner for: Harbor's
// newer one when the scanner produces it.
std::string VulnerabilityMime(const ScannerHealth& h) {
  bool v11 = false, v10 = false;
  const auto& caps = h.metadata.value("capabilities", nlohmann::json::array());
  for (const auto& c : caps) {
    if (!c.is_object() || c.value("type", "vulnerability") != "vulnerability") continue;
    const auto& produces = c.value("produces_mime_types", nlohmann::json::array());
    for (const auto& m : produces) {
      if (!m.is_string()) continue;
      if (m.get<std::string>() == kVulnReportMimeV11) v11 = true;
      if (m.get<std::string>() == kVulnReportMimeV10) v10 = true;
    }
  }
  return v11 ? kVulnReportMimeV11 : v10 ? kVulnReportMimeV10 : "";
}

nlohmann::json ScannerJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) j = nlohmann::json::object();
  return {{"name", j.value("name", "")}, {"vendor", j.value("vendor", "")},
          {"version", j.value("version", "")}};
}

std::string Time(int64_t ms) { return ms > 0 ? FormatRfc3339Millis(ms) : std::string(); }

int64_t DurationS(const ScanReportRecord& r) {
  return r.start_time > 0 && r.end_time >= r.start_time ? (r.end_time - r.start_time) / 1000 : 0;
}

}  // namespace

ScanController::ScanController(ScanDeps deps, const ScanningConfig& config)
    : d_(std::move(deps)), config_(config) {}

ScanController::~ScanController() { Stop(); }

void ScanController::RegisterJobs() {
  // Never retried (a failed scan is reported, as Harbor); capped across nodes.
  d_.jobs.Register({kScanJobKind, 1, 10000, 600000, config_.max_concurrent, config_.max_concurrent},
                   [this](JobContext& ctx) { return RunScan(ctx); });
  d_.jobs.Register({kScanAllJobKind, 1, 10000, 600000, 1, 1},
                   [this](JobContext& ctx) { return RunScanAll(ctx); });
}

void ScanController::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (events_thread_.joinable()) return;
  stopping_ = false;
  events_thread_ = std::thread([this] { EventLoop(); });
}

void ScanController::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (events_thread_.joinable()) events_thread_.join();
}

StatusOr<int> ScanController::Enqueue(int64_t project_id, const std::string& repository,
                                      const ArtifactRecord& a, const std::string& scan_type,
                                      const std::string& trigger, int64_t scan_all_id,
                                      bool skip_scanned, bool conflict_is_error) {
  BERTH_ASSIGN_OR_RETURN(auto reg, d_.scanners.EffectiveFor(project_id));
  if (!reg) return NoScanner("no scanner is registered for the project and there is no default");
  if (reg->disabled) return NoScanner("the project's scanner '" + reg->name + "' is disabled");
  ScannerHealth h = d_.scanners.Health(*reg);
  if (!h.healthy) return NoScanner("the scanner '" + reg->name + "' is unavailable: " + h.error);
  std::string mime;
  if (scan_type == "sbom") {
    if (!h.support_sbom) return Bad("the scanner '" + reg->name + "' does not generate SBOMs");
    mime = kSbomReportMime;
  } else {
    mime = VulnerabilityMime(h);
    if (mime.empty()) {
      return Bad("the scanner '" + reg->name + "' produces no vulnerability report Berth reads");
    }
  }
  nlohmann::json scanner = {{"name", h.name}, {"vendor", h.vendor}, {"version", h.version}};

  std::vector<ArtifactRecord> targets;
  if (IsIndex(a)) {
    BERTH_ASSIGN_OR_RETURN(auto refs, d_.artifacts.ReferencesOf({a.id}));
    for (const auto& ref : refs[a.id]) {
      BERTH_ASSIGN_OR_RETURN(auto child, d_.registry.GetArtifactByDigest(repository, ref.child_digest));
      if (child && !IsIndex(*child)) targets.push_back(*child);
    }
    if (targets.empty()) return Bad("the index has no child that can be scanned");
  } else {
    targets.push_back(a);
  }
  std::string tag;
  if (auto tags = d_.artifacts.TagsOf({a.id}); tags.ok() && !(*tags)[a.id].empty()) {
    tag = (*tags)[a.id].front().name;
  }
  int queued = 0;
  for (const auto& t : targets) {
    if (skip_scanned) {
      BERTH_ASSIGN_OR_RETURN(auto existing, d_.reports.OfDigests({t.digest}, reg->uuid));
      bool has = std::any_of(existing.begin(), existing.end(),
                             [&](const ScanReportRecord& r) { return r.mime_type == mime; });
      if (has) continue;
    }
    ScanReportRecord r;
    r.uuid = NewUuid();
    r.digest = t.digest;
    r.registration_uuid = reg->uuid;
    r.mime_type = mime;
    r.scan_type = scan_type;
    r.project_id = project_id;
    r.repository = repository;
    r.scanner_json = scanner.dump();
    Status begun = d_.reports.Begin(r);
    if (begun.code() == Code::kConflict && !(conflict_is_error && targets.size() == 1)) continue;
    BERTH_RETURN_IF_ERROR(begun);
    NewJob job;
    job.kind = kScanJobKind;
    job.params_json = nlohmann::json{{"report_id", r.uuid}, {"tag", tag}}.dump();
    job.trigger = trigger;
    job.vendor_type = kScanJobKind;
    job.vendor_id = scan_all_id;
    auto id = d_.jobs.Enqueue(job);
    if (!id.ok()) {
      r.status = kScanError;
      r.error = "could not queue the scan: " + id.status().message();
      (void)d_.reports.Finish(r, {});
      return id.status();
    }
    BERTH_RETURN_IF_ERROR(d_.reports.SetJob(r.uuid, *id));
    ++queued;
  }
  return queued;
}

Status ScanController::Scan(const Identity& who, const ArtifactTarget& t, const std::string& scan_type) {
  (void)who;
  if (scan_type != "vulnerability" && scan_type != "sbom") {
    return Bad("scan_type must be vulnerability or sbom");
  }
  if (!t.artifact.accessory_type.empty()) return Bad("accessories are not scanned");
  BERTH_ASSIGN_OR_RETURN(int n, Enqueue(t.project.project_id, t.repository.name, t.artifact,
                                        scan_type, "Manual", 0, false, true));
  if (n == 0) {
    return Status::Conflict("a " + scan_type + " scan of " + t.artifact.digest + " is already running",
                            "CONFLICT");
  }
  return {};
}

Status ScanController::StopScan(const Identity& who, const ArtifactTarget& t,
                                const std::string& scan_type) {
  if (scan_type != "vulnerability" && scan_type != "sbom") {
    return Bad("scan_type must be vulnerability or sbom");
  }
  std::vector<std::string> digests{t.artifact.digest};
  if (IsIndex(t.artifact)) {
    BERTH_ASSIGN_OR_RETURN(auto refs, d_.artifacts.ReferencesOf({t.artifact.id}));
    for (const auto& r : refs[t.artifact.id]) digests.push_back(r.child_digest);
  }
  BERTH_ASSIGN_OR_RETURN(auto running, d_.reports.Unfinished(digests, scan_type));
  if (running.empty()) return Bad("no " + scan_type + " scan of " + t.artifact.digest + " is running");
  for (const auto& r : running) {
    if (r.job_id > 0) {
      auto stopped = d_.jobs.store().RequestStop(r.job_id);
      if (!stopped.ok() && !stopped.status().IsNotFound()) return stopped.status();
      // A pending job is stopped at once, and never runs to say so.
      BERTH_ASSIGN_OR_RETURN(auto job, d_.jobs.store().Get(r.job_id));
      if (job && job->status == kJobStopped) {
        BERTH_RETURN_IF_ERROR(d_.reports.EndWithJob(r.job_id, kScanStopped,
                                                   "stopped by " + who.username));
      }
    }
  }
  return {};
}

StatusOr<std::string> ScanController::Log(const ArtifactTarget& t, const std::string& report_id) {
  BERTH_ASSIGN_OR_RETURN(auto r, d_.reports.Get(report_id));
  std::vector<std::string> digests{t.artifact.digest};
  if (r && IsIndex(t.artifact)) {
    BERTH_ASSIGN_OR_RETURN(auto refs, d_.artifacts.ReferencesOf({t.artifact.id}));
    for (const auto& ref : refs[t.artifact.id]) digests.push_back(ref.child_digest);
  }
  if (!r || std::find(digests.begin(), digests.end(), r->digest) == digests.end()) {
    return Status::NotFound("scan report " + report_id + " not found for this artifact", "NOT_FOUND");
  }
  if (r->job_id <= 0) return std::string();
  return d_.jobs.store().ReadLog(r->job_id);
}

StatusOr<nlohmann::json> ScanController::Vulnerabilities(const ArtifactTarget& t) {
  nlohmann::json out = nlohmann::json::object();
  BERTH_ASSIGN_OR_RETURN(auto reg, d_.scanners.EffectiveFor(t.project.project_id));
  if (!reg) return out;
  BERTH_ASSIGN_OR_RETURN(auto reports, d_.reports.OfDigests({t.artifact.digest}, reg->uuid, true));
  for (const auto& r : reports) {
    if (r.scan_type != "vulnerability" || r.status != kScanSuccess) continue;
    auto j = nlohmann::json::parse(r.report, nullptr, false);
    if (!j.is_discarded()) out[r.mime_type] = std::move(j);
  }
  return out;
}

StatusOr<std::map<std::string, nlohmann::json>> ScanController::ScanOverviews(
    int64_t project_id, const std::vector<OverviewTarget>& targets,
    const std::vector<std::string>& accept) {
  std::map<std::string, nlohmann::json> out;
  BERTH_ASSIGN_OR_RETURN(auto reg, d_.scanners.EffectiveFor(project_id));
  if (!reg || targets.empty()) return out;
  std::vector<std::string> digests;
  for (const auto& t : targets) {
    digests.push_back(t.digest);
    digests.insert(digests.end(), t.children.begin(), t.children.end());
  }
  BERTH_ASSIGN_OR_RETURN(auto reports, d_.reports.OfDigests(digests, reg->uuid));
  // digest -> mime -> report
  std::map<std::string, std::map<std::string, const ScanReportRecord*>> by;
  for (const auto& r : reports) {
    if (r.scan_type == "vulnerability") by[r.digest][r.mime_type] = &r;
  }
  for (const auto& t : targets) {
    const std::vector<std::string> own{t.digest};
    const auto& sources = t.children.empty() ? own : t.children;
    for (const auto& mime : accept) {
      std::vector<const ScanReportRecord*> found;
      for (const auto& d : sources) {
        auto it = by.find(d);
        if (it == by.end()) continue;
        auto m = it->second.find(mime);
        if (m != it->second.end()) found.push_back(m->second);
      }
      if (found.empty()) continue;
      // One report, or an index's children summed up (Harbor's index overview).
      std::string status = kScanSuccess;
      Severity severity = Severity::kNone;
      int64_t total = 0, fixable = 0, start = 0, end = 0;
      nlohmann::json summary = nlohmann::json::object();
      bool unfinished = false, failed = false, stopped = false;
      for (const auto* r : found) {
        unfinished = unfinished || r->status == kScanPending || r->status == kScanRunning;
        failed = failed || r->status == kScanError;
        stopped = stopped || r->status == kScanStopped;
        if (r->severity > severity) severity = r->severity;
        total += r->total;
        fixable += r->fixable;
        auto s = nlohmann::json::parse(r->summary_json, nullptr, false);
        if (s.is_object()) {
          for (auto& [k, v] : s.items()) {
            if (v.is_number_integer()) summary[k] = summary.value(k, int64_t{0}) + v.get<int64_t>();
          }
        }
        if (r->start_time > 0 && (start == 0 || r->start_time < start)) start = r->start_time;
        end = std::max(end, r->end_time);
      }
      if (found.size() == 1) {
        status = found[0]->status;
      } else if (unfinished) {
        status = kScanRunning;
      } else if (failed) {
        status = kScanError;
      } else if (stopped) {
        status = kScanStopped;
      }
      const ScanReportRecord& first = *found[0];
      nlohmann::json o = {
          {"report_id", first.uuid},
          {"scan_status", status},
          {"severity", std::string(SeverityName(status == kScanSuccess ? severity : Severity::kUnknown))},
          {"duration", start > 0 && end >= start ? (end - start) / 1000 : 0},
          {"start_time", Time(start)},
          {"end_time", Time(end)},
          {"complete_percent", status == kScanSuccess ? 100 : 0},
          {"scanner", ScannerJson(first.scanner_json)},
      };
      if (status == kScanSuccess) {
        o["summary"] = {{"total", total}, {"fixable", fixable}, {"summary", summary}};
      }
      out[t.digest] = nlohmann::json{{mime, std::move(o)}};
      break;
    }
  }
  return out;
}

StatusOr<std::map<std::string, nlohmann::json>> ScanController::SbomOverviews(
    int64_t project_id, const std::vector<std::string>& digests) {
  std::map<std::string, nlohmann::json> out;
  BERTH_ASSIGN_OR_RETURN(auto reg, d_.scanners.EffectiveFor(project_id));
  if (!reg || digests.empty()) return out;
  BERTH_ASSIGN_OR_RETURN(auto reports, d_.reports.OfDigests(digests, reg->uuid));
  for (const auto& r : reports) {
    if (r.scan_type != "sbom") continue;
    out[r.digest] = {{"start_time", Time(r.start_time)},
                     {"end_time", Time(r.end_time)},
                     {"scan_status", r.status},
                     {"sbom_digest", r.sbom_digest},
                     {"report_id", r.uuid},
                     {"duration", DurationS(r)},
                     {"scanner", ScannerJson(r.scanner_json)}};
  }
  return out;
}

StatusOr<bool> ScanController::Scannable(int64_t project_id, const ArtifactRecord& a) {
  if (!a.accessory_type.empty() || a.type != artifact_types::kImage) return false;
  BERTH_ASSIGN_OR_RETURN(auto reg, d_.scanners.EffectiveFor(project_id));
  return reg.has_value() && !reg->disabled;
}

void ScanController::OnArtifactEvent(const ArtifactEvent& e) {
  if (e.kind != ArtifactEventKind::kPushed && e.kind != ArtifactEventKind::kDeleted) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || events_.size() > 100000) return;
  events_.push_back(e);
  cv_.notify_one();
}

void ScanController::EventLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !events_.empty(); });
    if (stopping_) return;
    ArtifactEvent e = std::move(events_.front());
    events_.pop_front();
    if (e.kind == ArtifactEventKind::kDeleted) {
      // One sweep for a run of deletions (a retention run, a cleanup script).
      while (!events_.empty() && events_.front().kind == ArtifactEventKind::kDeleted) {
        events_.pop_front();
      }
    }
    lock.unlock();
    if (e.kind == ArtifactEventKind::kPushed) {
      AutoScan(e);
    } else {
      auto pruned = d_.reports.PruneOrphans();
      if (!pruned.ok()) {
        d_.log.Warn("dropping the scan reports of deleted artifacts failed",
                    {{"error", pruned.status().message()}});
      }
    }
    lock.lock();
  }
}

void ScanController::AutoScan(const ArtifactEvent& e) {
  std::string project = e.repository.substr(0, e.repository.find('/'));
  auto p = d_.projects.GetByName(project);
  if (!p.ok() || !*p) return;
  auto it = (*p)->metadata.find("auto_scan");
  if (it == (*p)->metadata.end() || it->second != "true") return;
  auto a = d_.registry.GetArtifactByDigest(e.repository, e.digest);
  if (!a.ok() || !*a || !(*a)->accessory_type.empty() || (*a)->type != artifact_types::kImage) return;
  auto n = Enqueue((*p)->project_id, e.repository, **a, "vulnerability", "Event", 0, IsIndex(**a),
                   false);
  if (!n.ok()) {
    d_.log.Warn("scan on push not started", {{"repository", e.repository},
                                              {"digest", e.digest},
                                              {"error", n.status().message()}});
  }
}

Status ScanController::PruneFinished() {
  BERTH_ASSIGN_OR_RETURN(int64_t reports, d_.reports.PruneOrphans());
  BERTH_ASSIGN_OR_RETURN(auto latest, d_.jobs.store().List(kScanAllJobKind, 1, 1));
  int64_t keep = latest.items.empty() ? -1 : latest.items[0].id;
  BERTH_ASSIGN_OR_RETURN(int64_t jobs, d_.reports.PruneScanJobs(kScanJobKind, keep));
  if (reports > 0 || jobs > 0) {
    d_.log.Info("pruned scan data", {{"orphan_reports", reports}, {"scan_jobs", jobs}});
  }
  return {};
}

StatusOr<nlohmann::json> ScanController::ScanAllMetrics(bool schedule_only) {
  nlohmann::json out = {{"total", 0}, {"completed", 0}, {"metrics", nlohmann::json::object()},
                        {"ongoing", false}};
  BERTH_ASSIGN_OR_RETURN(auto page, d_.jobs.store().List(kScanAllJobKind, 1, 50));
  const JobRecord* latest = nullptr;
  for (const auto& j : page.items) {
    if (!schedule_only || j.trigger == "Schedule") {
      latest = &j;
      break;
    }
  }
  if (latest == nullptr) return out;
  BERTH_ASSIGN_OR_RETURN(auto counts, d_.jobs.store().StatusCounts(kScanJobKind, latest->id));
  int64_t total = 0, completed = 0;
  for (const auto& [status, n] : counts) {
    total += n;
    if (status == kJobSuccess || status == kJobError || status == kJobStopped) completed += n;
    out["metrics"][status] = n;
  }
  out["total"] = total;
  out["completed"] = completed;
  out["ongoing"] = !latest->finished() || completed < total;
  out["trigger"] = latest->trigger;
  return out;
}

Status ScanController::StopScanAll() {
  BERTH_ASSIGN_OR_RETURN(auto page, d_.jobs.store().List(kScanAllJobKind, 1, 1));
  if (page.items.empty()) return Bad("no scan-all has run");
  const JobRecord& all = page.items[0];
  if (!all.finished()) BERTH_RETURN_IF_ERROR(d_.jobs.store().RequestStop(all.id).status());
  // Its queued scans: stop the ones not finished.
  for (int64_t p = 1;; ++p) {
    BERTH_ASSIGN_OR_RETURN(auto scans, d_.jobs.store().List(kScanJobKind, p, 100, all.id));
    for (const auto& j : scans.items) {
      if (j.finished()) continue;
      BERTH_RETURN_IF_ERROR(d_.jobs.store().RequestStop(j.id).status());
      BERTH_ASSIGN_OR_RETURN(auto now, d_.jobs.store().Get(j.id));
      if (now && now->status == kJobStopped) {
        BERTH_RETURN_IF_ERROR(d_.reports.EndWithJob(j.id, kScanStopped, "scan-all stopped"));
      }
    }
    if (scans.items.size() < 100) break;
  }
  return {};
}

}  // namespace berth
