// A scanner plugin for the scanning tests, built against the installed
// plugin SDK and loaded through the C ABI like any scanner. It behaves as a
// pluggable-scanner adapter does: it pulls the artifact's manifest from the
// registry with the credential berthd hands it (a scan fails when that
// pull is refused), answers "not ready" until delay_ms has passed, then
// returns Harbor's vulnerability report built from a findings file, or an
// SPDX SBOM of the manifest's layers. Modes make it misbehave on purpose:
// hang (never returns from submit, ignoring its deadline), crash (its
// scanner process dies of SIGSEGV), garbage (the report is not JSON).
// record_dir receives one file per scan request (what berthd sent) and
// max_in_flight (the most scans it held at once).
#include <berth/plugin_sdk.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace {

using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::Status;

constexpr char kV11[] = "application/vnd.security.vulnerability.report; version=1.1";
constexpr char kV10[] = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
constexpr char kSbom[] = "application/vnd.security.sbom.report+json; version=1.0";

constexpr char kSchema[] = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "vendor": {"type": "string"},
    "version": {"type": "string"},
    "findings_file": {"type": "string"},
    "mode": {"enum": ["ok", "hang", "crash", "garbage"]},
    "delay_ms": {"type": "integer", "minimum": 0, "maximum": 600000},
    "sbom": {"type": "boolean"},
    "report_version": {"enum": ["1.0", "1.1"]},
    "record_dir": {"type": "string"}
  },
  "additionalProperties": false
})";

struct Scan {
  nlohmann::json artifact;
  nlohmann::json layers = nlohmann::json::array();
  int64_t ready_at_ms = 0;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rfc3339Now() {
  time_t t = time(nullptr);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  return buf;
}

class TestScanner : public berth::sdk::Scanner {
 public:
  static Status Create(const Host& host, std::string_view config, std::unique_ptr<TestScanner>* out) {
    auto c = nlohmann::json::parse(config, nullptr, false);
    if (!c.is_object()) return Status::InvalidArgument("config must be an object");
    auto s = std::unique_ptr<TestScanner>(new TestScanner(host));
    s->name_ = c.value("name", "Berth Test Scanner");
    s->vendor_ = c.value("vendor", "Berth");
    s->version_ = c.value("version", "1.0.0");
    s->mode_ = c.value("mode", "ok");
    s->delay_ms_ = c.value("delay_ms", int64_t{0});
    s->sbom_ = c.value("sbom", true);
    s->mime_ = c.value("report_version", "1.1") == "1.0" ? kV10 : kV11;
    s->record_dir_ = c.value("record_dir", "");
    s->findings_ = nlohmann::json::array();
    if (std::string f = c.value("findings_file", ""); !f.empty()) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      auto j = nlohmann::json::parse(ss.str(), nullptr, false);
      if (!in || !j.is_array()) return Status::InvalidArgument("findings_file " + f + " is not a JSON array");
      s->findings_ = j;
    }
    *out = std::move(s);
    return {};
  }

  Status GetMetadata(const CallCtx&, std::string* json) override {
    nlohmann::json caps = nlohmann::json::array();
    nlohmann::json consumes = {"application/vnd.oci.image.manifest.v1+json",
                               "application/vnd.docker.distribution.manifest.v2+json"};
    caps.push_back({{"type", "vulnerability"}, {"consumes_mime_types", consumes},
                    {"produces_mime_types", {mime_}}});
    if (sbom_) {
      caps.push_back({{"type", "sbom"}, {"consumes_mime_types", consumes},
                      {"produces_mime_types", {kSbom}},
                      {"additional_attributes", {{"sbom_media_types", {"application/spdx+json"}}}}});
    }
    *json = nlohmann::json{{"scanner", {{"name", name_}, {"vendor", vendor_}, {"version", version_}}},
                           {"capabilities", caps},
                           {"properties", {{"harbor.scanner-adapter/registry-authorization-type", "Bearer"}}}}
                .dump();
    return {};
  }

  Status SubmitScan(const CallCtx& call, const berth::sdk::ScanRequest& req, std::string* id) override {
    if (mode_ == "hang") {
      // A scanner stuck for good: it ignores its deadline and cancellation.
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(60));
    }
    if (mode_ == "crash") {
      pid_t pid = fork();
      if (pid == 0) {
        raise(SIGSEGV);
        _exit(0);
      }
      int st = 0;
      waitpid(pid, &st, 0);
      if (WIFSIGNALED(st)) {
        return Status::IO("the scanner process died of signal " + std::to_string(WTERMSIG(st)));
      }
      return Status::IO("the scanner process exited with " + std::to_string(WEXITSTATUS(st)));
    }
    // Pull the manifest the way an adapter does, with the credential given.
    berth::sdk::HttpRequest get;
    get.url = req.registry_url + "/v2/" + req.repository + "/manifests/" + req.digest;
    get.headers = {{"Authorization", req.registry_authorization},
                   {"Accept", req.mime_type.empty() ? "application/vnd.oci.image.manifest.v1+json" : req.mime_type}};
    get.timeout_ms = 10000;
    berth::sdk::HttpResponse resp;
    Status s = host_.Http(call.raw(), get, &resp);
    if (!s.ok()) return s;
    if (resp.status != 200) {
      return Status::PermissionDenied("pulling " + req.repository + "@" + req.digest +
                                      " with the given credential returned HTTP " +
                                      std::to_string(resp.status));
    }
    auto manifest = nlohmann::json::parse(resp.body, nullptr, false);
    Scan scan;
    scan.artifact = {{"repository", req.repository}, {"digest", req.digest}, {"tag", req.tag},
                     {"mime_type", req.mime_type}};
    if (manifest.is_object() && manifest.contains("layers") && manifest["layers"].is_array()) {
      scan.layers = manifest["layers"];
    }
    scan.ready_at_ms = NowMs() + delay_ms_;
    std::lock_guard<std::mutex> lock(mu_);
    *id = "scan-" + std::to_string(++next_id_);
    scans_[*id] = scan;
    max_in_flight_ = std::max<int64_t>(max_in_flight_, static_cast<int64_t>(scans_.size()));
    Record(*id, {{"registry_url", req.registry_url},
                 {"authorization", req.registry_authorization},
                 {"repository", req.repository},
                 {"digest", req.digest},
                 {"tag", req.tag},
                 {"mime_type", req.mime_type},
                 {"capabilities", nlohmann::json::parse(req.capabilities_json.empty() ? "null" : req.capabilities_json, nullptr, false)}});
    return {};
  }

  Status GetReport(const CallCtx&, std::string_view scan_id, std::string_view mime,
                   std::string* report, int64_t* retry_after) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = scans_.find(std::string(scan_id));
    if (it == scans_.end()) return Status::NotFound("unknown scan " + std::string(scan_id));
    if (NowMs() < it->second.ready_at_ms) {
      *retry_after = 1;
      return Status::Retry("scan in progress");
    }
    Scan scan = it->second;
    scans_.erase(it);
    Record("", {});
    if (mode_ == "garbage") {
      *report = "<html><body>502 Bad Gateway</body></html>\x01\x02";
      return {};
    }
    nlohmann::json scanner = {{"name", name_}, {"vendor", vendor_}, {"version", version_}};
    if (mime == kSbom) {
      if (!sbom_) return Status::Unsupported("this scanner makes no SBOM");
      nlohmann::json packages = nlohmann::json::array();
      int n = 0;
      for (const auto& l : scan.layers) {
        packages.push_back({{"SPDXID", "SPDXRef-Layer-" + std::to_string(++n)},
                            {"name", l.value("digest", "")},
                            {"downloadLocation", "NOASSERTION"}});
      }
      for (const auto& f : findings_) {
        packages.push_back({{"SPDXID", "SPDXRef-Package-" + std::to_string(++n)},
                            {"name", f.value("package", "")},
                            {"versionInfo", f.value("version", "")},
                            {"downloadLocation", "NOASSERTION"}});
      }
      nlohmann::json doc = {{"spdxVersion", "SPDX-2.3"},
                            {"dataLicense", "CC0-1.0"},
                            {"SPDXID", "SPDXRef-DOCUMENT"},
                            {"name", scan.artifact.value("repository", "") + "@" + scan.artifact.value("digest", "")},
                            {"documentNamespace", "https://berth.test/spdx/" + std::string(scan_id)},
                            {"creationInfo", {{"created", Rfc3339Now()}, {"creators", {"Tool: " + name_}}}},
                            {"packages", packages}};
      *report = nlohmann::json{{"generated_at", Rfc3339Now()}, {"artifact", scan.artifact},
                               {"scanner", scanner}, {"media_type", "application/spdx+json"},
                               {"sbom", doc}}
                    .dump();
      return {};
    }
    if (mime != mime_) return Status::Unsupported("this scanner produces " + mime_);
    std::string worst = "None";
    static const char* kOrder[] = {"none", "unknown", "low", "medium", "high", "critical"};
    auto rank = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(), ::tolower);
      for (int i = 0; i < 6; ++i) if (s == kOrder[i]) return i;
      return 1;
    };
    for (const auto& f : findings_) {
      if (rank(f.value("severity", "")) > rank(worst)) worst = f.value("severity", "");
    }
    *report = nlohmann::json{{"generated_at", Rfc3339Now()}, {"artifact", scan.artifact},
                             {"scanner", scanner}, {"severity", worst},
                             {"vulnerabilities", findings_}}
                  .dump();
    return {};
  }

 private:
  explicit TestScanner(const Host& host) : host_(host) {}

  // Called with mu_ held.
  void Record(const std::string& id, const nlohmann::json& request) {
    if (record_dir_.empty()) return;
    if (!id.empty()) std::ofstream(record_dir_ + "/" + id + ".json") << request.dump();
    std::ofstream(record_dir_ + "/max_in_flight") << max_in_flight_;
  }

  Host host_;
  std::string name_, vendor_, version_, mode_, mime_, record_dir_;
  int64_t delay_ms_ = 0;
  bool sbom_ = true;
  nlohmann::json findings_;
  std::mutex mu_;
  std::map<std::string, Scan> scans_;
  int64_t next_id_ = 0;
  int64_t max_in_flight_ = 0;
};

const berth_provider kTestScanner = berth::sdk::MakeScannerProvider<TestScanner>(
    {"test-scanner", "A configurable scanner for Berth's scanning tests", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("test-scanner", "1.0.0", "Scanner fixture for Berth's tests", &kTestScanner)
