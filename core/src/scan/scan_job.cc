// The IMAGE_SCAN and SCAN_ALL jobs of ScanController.
#include <chrono>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "registry/artifact_kind.h"
#include "registry/media_types.h"
#include "scan/scan_controller.h"
#include "scan/vulnerability_report.h"

namespace berth {

namespace {

// Sleeps up to `ms`, in short steps, while the job is not asked to stop.
void Nap(JobContext& ctx, int64_t ms) {
  int64_t until = NowUnixMillis() + ms;
  while (!ctx.stopping() && NowUnixMillis() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(100, until - NowUnixMillis())));
  }
}

std::string Capabilities(const ScanReportRecord& r) {
  if (r.scan_type == "sbom") {
    return nlohmann::json::array(
               {{{"type", "sbom"},
                 {"produces_mime_types", {kSbomReportMime}},
                 {"parameters",
                  {{"sbom_media_types", {"application/spdx+json", "application/vnd.cyclonedx+json"}}}}}})
        .dump();
  }
  return nlohmann::json::array({{{"type", "vulnerability"}, {"produces_mime_types", {r.mime_type}}}})
      .dump();
}

}  // namespace

Status ScanController::RunScan(JobContext& ctx) {
  auto params = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  std::string uuid = params.is_object() ? params.value("report_id", "") : "";
  std::string tag = params.is_object() ? params.value("tag", "") : "";
  BERTH_ASSIGN_OR_RETURN(auto found, d_.reports.Get(uuid));
  if (!found) {
    ctx.Warn("scan report " + uuid + " no longer exists (its registration was deleted); nothing to do");
    return {};
  }
  ScanReportRecord r = *found;
  r.start_time = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(d_.reports.MarkRunning(r.uuid, r.start_time));

  auto fail = [&](const Status& why) -> Status {
    ctx.Error(why.message());
    r.status = kScanError;
    r.error = why.message();
    r.end_time = NowUnixMillis();
    Status s = d_.reports.Finish(r, {});
    if (!s.ok()) ctx.Error("the report could not be updated: " + s.message());
    Announce("SCANNING_FAILED", r, tag);
    ctx.GiveUp();
    return why;
  };
  // A stop request ends the report Stopped; a shutdown puts it back to
  // Pending for the node that takes the job over.
  auto interrupted = [&]() -> Status {
    auto job = d_.jobs.store().Get(ctx.id());
    bool by_user = job.ok() && *job && (*job)->stop_requested;
    r.status = by_user ? kScanStopped : kScanPending;
    r.error = by_user ? "stopped on request" : "";
    r.end_time = by_user ? NowUnixMillis() : 0;
    (void)d_.reports.Finish(r, {});  // best effort: the job's own status says Stopped
    if (by_user) Announce("SCANNING_STOPPED", r, tag);
    ctx.Info(by_user ? "scan stopped on request" : "scan interrupted by shutdown");
    return Status(Code::kUnavailable, "scan interrupted");
  };

  BERTH_ASSIGN_OR_RETURN(auto reg, d_.scanners.Find(r.registration_uuid));
  if (!reg) return fail(Status::NotFound("the scanner registration was deleted"));
  ctx.Info("scanning " + r.repository + "@" + r.digest + " (" + r.scan_type + ") with '" +
           reg->name + "' (provider " + reg->provider + "); report " + r.uuid + " as " + r.mime_type);
  BERTH_ASSIGN_OR_RETURN(auto artifact, d_.registry.GetArtifactByDigest(r.repository, r.digest));
  if (!artifact) return fail(Status::NotFound("the artifact is no longer in " + r.repository));
  auto scanner = d_.scanners.Instance(*reg);
  if (!scanner.ok()) return fail(scanner.status());

  // The scanner's credential: a registry token for this repository only.
  auto token = d_.tokens.Issue("scanner:" + reg->name,
                               {TokenAccess{"repository", r.repository, {"pull", "scanner-pull"}}});
  if (!token.ok()) return fail(token.status());
  ScanSubmission sub;
  sub.registry_url = d_.registry_url;
  sub.registry_authorization = "Bearer " + token->token;
  sub.repository = r.repository;
  sub.digest = r.digest;
  sub.tag = tag;
  sub.mime_type = artifact->media_type;
  sub.capabilities_json = Capabilities(r);

  const int64_t call_ms = int64_t{config_.call_timeout_s} * 1000;
  const int64_t deadline = r.start_time + int64_t{config_.timeout_s} * 1000;
  auto remaining = [&] { return deadline - NowUnixMillis(); };
  auto scan_id = (*scanner)->Submit(sub, std::max<int64_t>(1, std::min(call_ms, remaining())));
  if (!scan_id.ok()) return fail(scan_id.status());
  ctx.Info("the scanner accepted the scan request: id " + *scan_id);

  std::string report;
  for (int polls = 1;; ++polls) {
    if (ctx.stopping()) return interrupted();
    if (remaining() <= 0) {
      return fail(Status(Code::kDeadlineExceeded,
                         "no report within scanning.timeout_s (" + std::to_string(config_.timeout_s) +
                             " s)"));
    }
    auto poll = (*scanner)->Report(*scan_id, r.mime_type, std::max<int64_t>(1, std::min(call_ms, remaining())));
    if (!poll.ok()) {
      if (ctx.stopping()) return interrupted();
      return fail(poll.status());
    }
    if (poll->ready) {
      report = std::move(poll->report);
      break;
    }
    ctx.CheckIn("waiting for the report (poll " + std::to_string(polls) + ")");
    int64_t wait = poll->retry_after_s > 0 ? poll->retry_after_s * 1000 : 500;
    Nap(ctx, std::min({wait, int64_t{30000}, std::max<int64_t>(0, remaining())}));
  }

  if (r.scan_type == "sbom") {
    auto sbom = ParseSbomReport(report);
    if (!sbom.ok()) return fail(sbom.status());
    auto pushed = PushSbom(r.repository, r.digest, artifact->media_type, artifact->manifest_size,
                           sbom->media_type, sbom->document);
    if (!pushed.ok()) return fail(Status(pushed.status().code(), "storing the SBOM accessory: " +
                                                                     pushed.status().message()));
    if (!sbom->scanner.value("name", "").empty()) r.scanner_json = sbom->scanner.dump();
    r.sbom_digest = *pushed;
    r.report = report;
    r.status = kScanSuccess;
    r.end_time = NowUnixMillis();
    ctx.Info("SBOM (" + sbom->media_type + ") stored as accessory " + *pushed);
    // Before the report says Success, so that whoever sees it sees one SBOM.
    DropOlderSboms(ctx, r.repository, r.digest, *pushed);
    BERTH_RETURN_IF_ERROR(d_.reports.Finish(r, {}));
    Announce("SCANNING_COMPLETED", r, tag);
    return {};
  }
  auto parsed = ParseVulnerabilityReport(report);
  if (!parsed.ok()) return fail(parsed.status());
  if (!parsed->scanner.value("name", "").empty()) r.scanner_json = parsed->scanner.dump();
  r.severity = parsed->severity;
  r.total = static_cast<int64_t>(parsed->findings.size());
  r.fixable = parsed->fixable;
  r.summary_json = nlohmann::json(parsed->summary).dump();
  r.report = parsed->report.dump();
  r.status = kScanSuccess;
  r.end_time = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(d_.reports.Finish(r, parsed->findings));
  Announce("SCANNING_COMPLETED", r, tag);
  ctx.Info("report stored: " + std::to_string(r.total) + " vulnerabilities (" +
           std::to_string(r.fixable) + " fixable), severity " + std::string(SeverityName(r.severity)));
  return {};
}

void ScanController::Announce(const char* type, const ScanReportRecord& r, const std::string& tag) {
  if (!on_finished_) return;
  ScanFinished e{type, r.repository, r.digest, tag, r.scan_type};
  if (r.scan_type == "vulnerability") {
    auto overviews = ScanOverviews(r.project_id, {OverviewTarget{r.digest, {}}}, {r.mime_type});
    if (overviews.ok() && overviews->count(r.digest)) e.scan_overview = (*overviews)[r.digest];
  }
  on_finished_(e);
}

void ScanController::DropOlderSboms(JobContext& ctx, const std::string& repository,
                                    const std::string& digest, const std::string& keep) {
  // Deleted only once the new one is stored: a failed re-scan keeps the old.
  auto refs = d_.registry.ListReferrers(repository, digest, kSbomArtifactType);
  if (!refs.ok()) {
    ctx.Warn("listing the earlier SBOM accessories failed: " + refs.status().message());
    return;
  }
  for (const auto& a : *refs) {
    if (a.digest == keep || a.accessory_type != accessory_types::kSbom) continue;
    auto d = Digest::Parse(a.digest);
    if (!d.ok()) continue;
    ManifestReference ref;
    ref.is_digest = true;
    ref.digest = *d;
    Status s = d_.manifests.Delete(repository, ref, Actor{"scanner", ""});
    if (s.ok() || s.code() == Code::kNotFound) {
      ctx.Info("the earlier SBOM accessory " + a.digest + " is deleted");
    } else {
      ctx.Warn("deleting the earlier SBOM accessory " + a.digest + " failed: " + s.message());
    }
  }
}

StatusOr<std::string> ScanController::PushSbom(const std::string& repository, const std::string& digest,
                                               const std::string& subject_media_type,
                                               int64_t subject_size, const std::string& sbom_media_type,
                                               const std::string& document) {
  const std::string config = "{}";
  Digest config_digest = Digest::Of(DigestAlgorithm::kSha256, config);
  Digest layer_digest = Digest::Of(DigestAlgorithm::kSha256, document);
  for (const auto& [d, bytes] : {std::pair<Digest, const std::string*>{config_digest, &config},
                                 {layer_digest, &document}}) {
    std::istringstream in(*bytes);
    BERTH_RETURN_IF_ERROR(
        d_.uploads.Monolithic(repository, d, in, static_cast<int64_t>(bytes->size())).status());
  }
  bool spdx = sbom_media_type == "application/spdx+json";
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"artifactType", kSbomArtifactType},
      {"config",
       {{"mediaType", "application/vnd.oci.empty.v1+json"},
        {"digest", config_digest.ToString()},
        {"size", config.size()}}},
      {"layers",
       {{{"mediaType", sbom_media_type},
         {"digest", layer_digest.ToString()},
         {"size", document.size()},
         {"annotations",
          {{"org.opencontainers.image.title", spdx ? "sbom.spdx.json" : "sbom.cdx.json"}}}}}},
      {"subject", {{"mediaType", subject_media_type}, {"digest", digest}, {"size", subject_size}}},
      {"annotations",
       {{"created-by", "Berth"},
        {"org.opencontainers.artifact.created", FormatRfc3339(NowUnixMillis() / 1000)},
        {"org.opencontainers.artifact.description",
         spdx ? "SPDX JSON SBOM" : "CycloneDX JSON SBOM"}}}};
  std::string body = m.dump();
  ManifestReference ref;
  ref.is_digest = true;
  ref.digest = Digest::Of(DigestAlgorithm::kSha256, body);
  BERTH_ASSIGN_OR_RETURN(auto pushed, d_.manifests.Put(repository, ref, body,
                                                       "application/vnd.oci.image.manifest.v1+json",
                                                       Actor{"scanner", ""}));
  return pushed.digest;
}

Status ScanController::RunScanAll(JobContext& ctx) {
  ctx.Info("scan all: queueing a vulnerability scan of every artifact");
  ProjectVisibility all;
  all.all = true;
  int64_t artifacts = 0, queued = 0, skipped = 0;
  for (int64_t rp = 1;; ++rp) {
    ListQuery rq;
    rq.page = rp;
    rq.page_size = 100;
    BERTH_ASSIGN_OR_RETURN(auto repos, d_.artifacts.ListRepositories(rq, 0, all));
    for (const auto& repo : repos.items) {
      for (int64_t ap = 1;; ++ap) {
        if (ctx.stopping()) return Status(Code::kUnavailable, "scan all stopped");
        ListQuery aq;
        aq.page = ap;
        aq.page_size = 100;
        BERTH_ASSIGN_OR_RETURN(auto arts, d_.artifacts.ListArtifacts(repo.id, aq));
        for (const auto& a : arts.items) {
          if (!a.accessory_type.empty() || a.type != artifact_types::kImage) continue;
          ++artifacts;
          auto n = Enqueue(repo.project_id, repo.name, a, "vulnerability", ctx.job().trigger,
                           ctx.id(), false, false);
          if (!n.ok()) {
            ++skipped;
            ctx.Warn(repo.name + "@" + a.digest + ": " + n.status().message());
            continue;
          }
          queued += *n;
        }
        if (static_cast<int64_t>(arts.items.size()) < aq.page_size) break;
      }
    }
    if (static_cast<int64_t>(repos.items.size()) < rq.page_size) break;
  }
  ctx.Info("scan all: " + std::to_string(artifacts) + " artifacts, " + std::to_string(queued) +
           " scans queued, " + std::to_string(skipped) + " not scanned");
  return {};
}

}  // namespace berth
