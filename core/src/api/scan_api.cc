#include "api/scan_api.h"

#include "api/api_util.h"
#include "api/system_job_api.h"
#include "auth/denial.h"
#include "common/json_depth.h"
#include "http/response.h"

namespace berth {

namespace {

constexpr char kArtifact[] =
    "/api/v2.0/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}";

// Harbor's ScanType body; an empty body means a vulnerability scan.
StatusOr<std::string> ScanTypeOf(RequestContext& ctx) {
  std::string text;
  Status read = ctx.ReadBody(1 << 16, &text);
  if (!read.ok()) return read.WithApiCode("BAD_REQUEST");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return std::string("vulnerability");
  if (JsonNestingExceeds(text)) return Status::InvalidArgument("the body nests too deep", "BAD_REQUEST");
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (!body.is_object()) return Status::InvalidArgument("the body must be a JSON object", "BAD_REQUEST");
  BERTH_ASSIGN_OR_RETURN(std::string type, JsonString(body, "scan_type", false));
  if (type.empty()) type = "vulnerability";
  if (type != "vulnerability" && type != "sbom") {
    return Status::InvalidArgument("scan_type must be vulnerability or sbom", "BAD_REQUEST");
  }
  return type;
}

}  // namespace

void RegisterScanApi(ApiRouter& r, ScanController& scans, ArtifactController& artifacts,
                     ProjectController& projects, JobService& jobs, AccessEvaluator& evaluator) {
  auto target = [&artifacts, &projects](ApiCall& call, const std::string& resource,
                                        const char* action) -> StatusOr<ArtifactTarget> {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(call.Param("project_name"), true));
    return artifacts.Resolve(call.ctx.identity, p, call.Param("repository_name"),
                             call.Param("reference"), resource, action);
  };
  const std::string base = kArtifact;
  r.Add("POST", base + "/scan", "artifact_scan", [&scans, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(std::string type, ScanTypeOf(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t,
                           target(call, type == "sbom" ? "sbom" : "scan", "create"));
    BERTH_RETURN_IF_ERROR(scans.Scan(call.ctx.identity, t, type));
    SendBody(call.ctx, 202, "", "");
    return {};
  });
  r.Add("POST", base + "/scan/stop", "artifact_scan_stop", [&scans, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(std::string type, ScanTypeOf(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, type == "sbom" ? "sbom" : "scan", "stop"));
    BERTH_RETURN_IF_ERROR(scans.StopScan(call.ctx.identity, t, type));
    SendBody(call.ctx, 202, "", "");
    return {};
  });
  r.Add("GET", base + "/scan/{report_id}/log", "artifact_scan_log",
        [&scans, target](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "scan", "read"));
          BERTH_ASSIGN_OR_RETURN(std::string log, scans.Log(t, call.Param("report_id")));
          SendBody(call.ctx, 200, "text/plain; charset=utf-8", log);
          return {};
        });

  // Scan all: Harbor's schedule endpoints (and Berth's history, run, log).
  RegisterSystemJobApi(r, jobs, evaluator,
                       {"/api/v2.0/system/scanAll", "scanall", kScanAllJobKind, "scan-all",
                        [](const nlohmann::json& params) -> StatusOr<std::string> {
                          return params.dump();
                        }});
  auto require = [&evaluator](const Identity& who, const char* action) -> Status {
    if (evaluator.CanSystem(who, "scan-all", action)) return {};
    return Deny(who, "not allowed to " + std::string(action) + " scan-all");
  };
  r.Add("POST", "/api/v2.0/system/scanAll/stop", "scanall_stop",
        [&scans, require](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "stop"));
          BERTH_RETURN_IF_ERROR(scans.StopScanAll());
          SendBody(call.ctx, 202, "", "");
          return {};
        });
  for (const auto& entry : {std::pair<const char*, bool>{"/api/v2.0/scans/all/metrics", false},
                            {"/api/v2.0/scans/schedule/metrics", true}}) {
    bool schedule_only = entry.second;
    r.Add("GET", entry.first, "scanall_metrics", [&scans, require, schedule_only](ApiCall& call) -> Status {
      BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "read"));
      BERTH_ASSIGN_OR_RETURN(auto m, scans.ScanAllMetrics(schedule_only));
      return SendJsonValue(call.ctx, 200, m);
    });
  }
}

}  // namespace berth
