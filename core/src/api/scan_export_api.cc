#include "api/scan_export_api.h"

#include <algorithm>

#include "api/api_util.h"
#include "http/response.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

StatusOr<std::vector<int64_t>> IdList(const nlohmann::json& body, const char* key) {
  std::vector<int64_t> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return Bad(std::string(key) + " must be an array of integers");
  for (const auto& v : *it) {
    if (!v.is_number_integer()) return Bad(std::string(key) + " must be an array of integers");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

// Harbor's zero time for an execution still running.
std::string TimeOrZero(int64_t ms) { return ms > 0 ? ApiTime(ms) : "0001-01-01T00:00:00.000Z"; }

nlohmann::json ExecutionJson(const ScanExportRecord& e) {
  std::string text = e.status_text;
  // Harbor's hint for a failed export without a message.
  if (e.status == kExportError && text.empty()) {
    text = "Please contact the system administrator to check the logs of jobservice.";
  }
  return {{"id", e.id},
          {"user_id", e.user_id},
          {"user_name", e.user_name},
          {"status", e.status},
          {"status_text", text},
          {"trigger", "MANUAL"},
          {"start_time", TimeOrZero(e.start_time)},
          {"end_time", TimeOrZero(e.end_time)},
          {"file_present", e.file_present}};
}

}  // namespace

void RegisterScanExportApi(ApiRouter& r, ScanDataExportController& exports) {
  r.Add("POST", "/api/v2.0/export/cve", "export_cve", [&exports](ApiCall& call) -> Status {
    std::string type = call.ctx.Header("X-Scan-Data-Type");
    if (type != kScanDataExportMimeType) return Bad("Unsupported MIME type : " + type);
    BERTH_ASSIGN_OR_RETURN(nlohmann::json body, ReadJsonObject(call.ctx));
    ScanDataExportRequest req;
    BERTH_ASSIGN_OR_RETURN(req.job_name, JsonString(body, "job_name", false));
    BERTH_ASSIGN_OR_RETURN(req.projects, IdList(body, "projects"));
    BERTH_ASSIGN_OR_RETURN(req.labels, IdList(body, "labels"));
    BERTH_ASSIGN_OR_RETURN(req.repositories, JsonString(body, "repositories", false));
    BERTH_ASSIGN_OR_RETURN(req.cve_ids, JsonString(body, "cveIds", false));
    BERTH_ASSIGN_OR_RETURN(req.tags, JsonString(body, "tags", false));
    BERTH_ASSIGN_OR_RETURN(int64_t id, exports.Start(call.ctx.identity, req));
    return SendJsonValue(call.ctx, 200, {{"id", id}});
  });
  r.Add("GET", "/api/v2.0/export/cve/executions", "export_cve_executions",
        [&exports](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(auto list, exports.List(call.ctx.identity));
          nlohmann::json items = nlohmann::json::array();
          for (const auto& e : list) items.push_back(ExecutionJson(e));
          return SendJsonValue(call.ctx, 200, {{"items", items}});
        });
  r.Add("GET", "/api/v2.0/export/cve/execution/{execution_id}", "export_cve_execution",
        [&exports](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("execution_id"), "execution_id"));
          BERTH_ASSIGN_OR_RETURN(auto e, exports.Get(call.ctx.identity, id));
          return SendJsonValue(call.ctx, 200, ExecutionJson(e));
        });
  r.Add("GET", "/api/v2.0/export/cve/download/{execution_id}", "export_cve_download",
        [&exports](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("execution_id"), "execution_id"));
          // `format` is CSV whatever it says, as Harbor's handler ignores it.
          BERTH_ASSIGN_OR_RETURN(auto e, exports.Get(call.ctx.identity, id));
          BERTH_ASSIGN_OR_RETURN(auto reader, exports.OpenFile(e));
          auto& resp = call.ctx.response;
          SetStatus(call.ctx, 200);
          resp.setContentType("text/csv");
          resp.set("Content-Disposition",
                   "attachment; filename=\"scandata_export_" + std::to_string(id) + ".csv\"");
          resp.setContentLength64(e.file_size);
          std::ostream& os = resp.send();
          std::vector<char> buf(256 * 1024);
          int64_t left = e.file_size;
          while (left > 0) {
            size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size())));
            auto n = reader->Read(buf.data(), want);
            if (!n.ok() || *n == 0) break;
            left -= static_cast<int64_t>(*n);
            if (left == 0) {
              // Harbor deletes the file and the execution after a download.
              // Before the last bytes go out: a client that has them all
              // must not find the execution any more.
              reader.reset();
              (void)exports.Downloaded(e);
            }
            os.write(buf.data(), static_cast<std::streamsize>(*n));
            if (!os) break;
            call.ctx.bytes_out += static_cast<int64_t>(*n);
          }
          os.flush();
          // Headers are gone: a short body is the only signal left (an
          // export cut short stays for another download).
          if (left != 0 || !os) resp.setKeepAlive(false);
          return {};
        });
}

}  // namespace berth
