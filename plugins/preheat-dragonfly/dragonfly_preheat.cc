// preheat-dragonfly: Harbor's Dragonfly driver (pkg/p2p/preheat/provider/
// dragonfly.go) against the Dragonfly 2 manager's open API:
//   GET  <endpoint>/healthy                        health
//   POST <endpoint>/oapi/v1/jobs                   {"type":"preheat","args":{...},
//                                                   "scheduler_cluster_ids":[...]}
//   GET  <endpoint>/oapi/v1/jobs/{id}              {"id","state":PENDING|SUCCESS|FAILURE,...}
// The manager's seed peers fetch the image from `args.url` with
// `args.headers` (berthd's short-lived pull token).
#include <berth/plugin_sdk.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "preheat_http.hpp"

namespace {

using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::PreheatImage;
using berth::sdk::PreheatInstance;
using berth::sdk::Status;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 600000,
                   "description": "per-request HTTP timeout (default 30000)"}
  },
  "additionalProperties": false
})json";

constexpr char kHealthPath[] = "/healthy";
constexpr char kJobPath[] = "/oapi/v1/jobs";

class DragonflyPreheat : public berth::sdk::PreheatProvider {
 public:
  DragonflyPreheat(const Host& host, int64_t timeout_ms) : host_(host), timeout_ms_(timeout_ms) {}

  static Status Create(const Host& host, std::string_view config,
                       std::unique_ptr<DragonflyPreheat>* out) {
    auto j = nlohmann::json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
    if (!j.is_object()) return Status::InvalidArgument("config must be an object");
    out->reset(new DragonflyPreheat(host, j.value("timeout_ms", int64_t{30000})));
    return {};
  }

  Status SelfInfo(const CallCtx&, std::string* json) override {
    *json = nlohmann::json({{"id", "dragonfly"},
                            {"name", "Dragonfly"},
                            {"icon", "https://raw.githubusercontent.com/dragonflyoss/Dragonfly2/master/"
                                     "docs/images/logo/dragonfly-linear.png"},
                            {"version", "2.1.59"},
                            {"source", "https://github.com/dragonflyoss/Dragonfly2"},
                            {"maintainers", {"chlins.zhang@gmail.com", "gaius.qi@gmail.com"}},
                            {"auth_mode", "NONE"}})
                .dump();
    return {};
  }

  Status GetHealth(const CallCtx& call, const PreheatInstance& at) override {
    berth::sdk::HttpResponse resp;
    return berth_preheat::Exchange(host_, call, at, "GET",
                                   berth_preheat::Endpoint(at.endpoint, kHealthPath), "",
                                   timeout_ms_, &resp);
  }

  Status Preheat(const CallCtx& call, const PreheatInstance& at, const PreheatImage& image,
                 std::string* json) override {
    auto headers = nlohmann::json::parse(image.headers_json.empty() ? "{}" : image.headers_json,
                                         nullptr, false);
    nlohmann::json header_map = nlohmann::json::object();
    if (headers.is_object()) {
      for (auto it = headers.begin(); it != headers.end(); ++it) {
        if (it.value().is_string()) header_map[it.key()] = it.value();  // headerToMapString
      }
    }
    // Harbor's dragonflyCreateJobRequest, every member as Go marshals it.
    nlohmann::json args = {{"type", image.type.empty() ? "image" : image.type},
                           {"url", image.url},
                           {"tag", ""},
                           {"filtered_query_params", ""},
                           {"headers", header_map},
                           {"scope", image.scope},
                           {"concurrent_count", 0},
                           {"timeout", 0}};
    nlohmann::json req = {{"type", "preheat"}, {"args", args}, {"scheduler_cluster_ids", nullptr}};
    auto extra = nlohmann::json::parse(image.extra_json.empty() ? "{}" : image.extra_json, nullptr, false);
    if (extra.is_object() && extra.contains("cluster_ids") && extra["cluster_ids"].is_array() &&
        !extra["cluster_ids"].empty()) {
      req["scheduler_cluster_ids"] = extra["cluster_ids"];
    }
    berth::sdk::HttpResponse resp;
    Status s = berth_preheat::Exchange(host_, call, at, "POST",
                                       berth_preheat::Endpoint(at.endpoint, kJobPath), req.dump(),
                                       timeout_ms_, &resp);
    if (!s.ok()) return s;
    auto job = nlohmann::json::parse(resp.body, nullptr, false);
    if (!job.is_object() || !job.contains("id") || !job["id"].is_number_integer()) {
      return Status::InvalidArgument("Dragonfly answered the job request without a job id: " +
                                     resp.body.substr(0, 300));
    }
    *json = nlohmann::json({{"task_id", std::to_string(job["id"].get<int64_t>())},
                            {"status", "PENDING"},
                            {"error", ""}})
                .dump();
    return {};
  }

  Status CheckProgress(const CallCtx& call, const PreheatInstance& at, std::string_view task_id,
                       std::string* json) override {
    if (task_id.empty()) return Status::InvalidArgument("no task ID");
    berth::sdk::HttpResponse resp;
    Status s = berth_preheat::Exchange(
        host_, call, at, "GET",
        berth_preheat::Endpoint(at.endpoint, kJobPath) + "/" + std::string(task_id), "", timeout_ms_,
        &resp);
    if (!s.ok()) return s;
    auto job = nlohmann::json::parse(resp.body, nullptr, false);
    if (!job.is_object()) {
      return Status::InvalidArgument("Dragonfly answered with invalid JSON: " + resp.body.substr(0, 300));
    }
    std::string state = job.value("state", "");
    std::string status, error, message;
    const auto& job_states = job.contains("result") && job["result"].is_object() &&
                                     job["result"].contains("job_states") &&
                                     job["result"]["job_states"].is_array()
                                 ? job["result"]["job_states"]
                                 : nlohmann::json::array();
    if (state == "PENDING") {
      status = "RUNNING";
    } else if (state == "SUCCESS") {
      status = "SUCCESS";
      // Harbor prints the per-peer results as a table; one line per peer here.
      for (const auto& js : job_states) {
        for (const auto& r : js.value("results", nlohmann::json::array())) {
          std::string cluster = std::to_string(r.value("scheduler_cluster_id", 0));
          for (const auto& t : r.value("success_tasks", nlohmann::json::array())) {
            if (!t.is_object()) continue;
            message += t.value("url", "") + " " + t.value("hostname", "") + " " + t.value("ip", "") +
                       " cluster " + cluster + " SUCCESS\n";
          }
          for (const auto& t : r.value("failure_tasks", nlohmann::json::array())) {
            if (!t.is_object()) continue;
            message += t.value("url", "") + " " + t.value("hostname", "") + " " + t.value("ip", "") +
                       " cluster " + cluster + " FAILURE " + t.value("description", "") + "\n";
          }
        }
      }
    } else if (state == "FAILURE") {
      status = "FAIL";
      for (const auto& js : job_states) {
        std::string e = js.value("error", "");
        if (!e.empty()) error += (error.empty() ? "" : "; ") + e;
      }
    } else {
      status = "FAIL";
      error = "unknown state: " + state;
    }
    std::string id = job.contains("id") && job["id"].is_number_integer()
                         ? std::to_string(job["id"].get<int64_t>())
                         : std::string(task_id);
    *json = nlohmann::json({{"task_id", id}, {"status", status}, {"error", error}, {"message", message}})
                .dump();
    return {};
  }

 private:
  Host host_;
  int64_t timeout_ms_;
};

const berth_provider kDragonfly = berth::sdk::MakePreheatProvider<DragonflyPreheat>(
    {"dragonfly", "Preheats images into Dragonfly 2 through the manager's open API", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("preheat-dragonfly", "1.0.0", "P2P preheat with Dragonfly 2", &kDragonfly)
