// scanner-example: an example third-party Berth scanner, built out of tree
// against the installed SDK (berth/plugin_sdk.hpp). It is small but real: it
// reads the image's manifest and config from the registry with the scan
// credential berthd hands it, and reports, in Harbor's vulnerability-report
// format, what it finds in the image configuration:
//
//   EXAMPLE-ROOT-USER    Medium  the image runs as root (User empty, "root", "0", "0:0")
//   EXAMPLE-SECRET-ENV   High    an Env variable named like a secret (PASSWORD,
//                                SECRET, TOKEN, API_KEY, PRIVATE_KEY) has a value
//   EXAMPLE-DENIED       High    a history step, Entrypoint or Cmd contains a line
//                                of the deny-list file (e.g. "curl | sh")
//
// It is not a vulnerability scanner: it shows the shape of one. What a
// scanner plugin does, in order:
//   get_metadata  returns Harbor's ScannerAdapterMetadata;
//   submit_scan   returns an id at once and works in the background;
//   get_report    answers RETRY (with retry-after) until done, then the report.
// Errors leave through the SDK's Status, never as exceptions.
//
// Config: {"deny_list": "/etc/berth/deny.txt"}  (optional; one substring per
// line, '#' starts a comment). Limits: it reads single-image manifests (OCI
// or Docker v2), sends the credential as is (berthd accepts Basic and its own
// Bearer tokens on /v2), and keeps reports in memory for an hour.
#include <berth/plugin_sdk.hpp>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

namespace {

using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::ScanRequest;
using berth::sdk::Status;
using json = nlohmann::json;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "deny_list": {"type": "string", "description": "file of substrings that must not appear in the image's history, Entrypoint or Cmd"}
  },
  "additionalProperties": false
})json";

constexpr char kVulnReport[] = "application/vnd.security.vulnerability.report; version=1.1";

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string NewId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> l(mu);
  char buf[40];
  std::snprintf(buf, sizeof buf, "audit-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// One finding as a Harbor VulnerabilityItem.
json Finding(const char* id, const std::string& what, const char* severity, const std::string& text,
             const char* link) {
  return {{"id", id}, {"package", "image-config"}, {"version", what}, {"severity", severity},
          {"description", text}, {"links", json::array({link})}};
}

class ConfigAudit : public berth::sdk::Scanner {
 public:
  ConfigAudit(const Host& host, std::vector<std::string> deny) : host_(host), deny_(std::move(deny)) {}
  ~ConfigAudit() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> l(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  static Status Create(const Host& host, std::string_view config, std::unique_ptr<ConfigAudit>* out) {
    json c = json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
    if (c.is_discarded() || !c.is_object()) return Status::InvalidArgument("config must be an object");
    std::vector<std::string> deny;
    std::string path = c.value("deny_list", "");
    if (!path.empty()) {
      std::ifstream f(path);
      if (!f) return Status::InvalidArgument("deny_list '" + path + "' cannot be read");
      for (std::string line; std::getline(f, line);) {
        line = line.substr(0, line.find('#'));
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
        size_t start = line.find_first_not_of(" \t");
        if (start != std::string::npos) deny.push_back(line.substr(start));
      }
    }
    out->reset(new ConfigAudit(host, std::move(deny)));
    return {};
  }

  Status GetMetadata(const CallCtx&, std::string* out) override {
    json m = {{"scanner", {{"name", "config-audit"}, {"vendor", "Berth examples"}, {"version", "1.0.0"}}},
              {"capabilities",
               json::array({{{"type", "vulnerability"},
                             {"consumes_mime_types", {"application/vnd.oci.image.manifest.v1+json",
                                                      "application/vnd.docker.distribution.manifest.v2+json"}},
                             {"produces_mime_types", {kVulnReport}}}})},
              {"properties", {{"harbor.scanner-adapter/scanner-type", "image-config-audit"},
                              {"deny_list_entries", std::to_string(deny_.size())}}}};
    *out = m.dump();
    return {};
  }

  Status SubmitScan(const CallCtx&, const ScanRequest& req, std::string* scan_id) override {
    if (req.registry_url.empty() || req.repository.empty() || req.digest.empty()) {
      return Status::InvalidArgument("scan request needs registry_url, repository and digest");
    }
    if (!req.capabilities_json.empty() && req.capabilities_json.find("sbom") != std::string::npos) {
      return Status::Unsupported("config-audit produces no SBOM");
    }
    *scan_id = NewId();
    std::lock_guard<std::mutex> l(mu_);
    jobs_[*scan_id] = Job{};
    // A thread per scan is fine for an example: each one is two HTTP GETs.
    threads_.emplace_back([this, id = *scan_id, req] {
      Job done;
      done.finished = true;
      done.status = Audit(req, &done.report);
      std::lock_guard<std::mutex> l(mu_);
      jobs_[id] = std::move(done);
    });
    return {};
  }

  Status GetReport(const CallCtx&, std::string_view scan_id, std::string_view mime, std::string* report,
                   int64_t* retry_after) override {
    if (mime.find("application/vnd.security.vulnerability.report") != 0 &&
        mime.find("application/vnd.scanner.adapter.vuln.report.harbor+json") != 0) {
      return Status::Unsupported("config-audit produces '" + std::string(kVulnReport) + "' only");
    }
    std::lock_guard<std::mutex> l(mu_);
    auto it = jobs_.find(std::string(scan_id));
    if (it == jobs_.end()) return Status::NotFound("no scan '" + std::string(scan_id) + "'");
    if (!it->second.finished) {
      *retry_after = 1;
      return Status::Retry("scan running");
    }
    if (!it->second.status.ok()) return it->second.status;
    *report = it->second.report;
    return {};
  }

 private:
  struct Job {
    bool finished = false;
    Status status;
    std::string report;
  };

  Status Get(const ScanRequest& req, const std::string& what, const std::string& accept, std::string* body) {
    berth::sdk::HttpRequest h;
    h.url = req.registry_url + "/v2/" + req.repository + "/" + what;
    h.headers = {{"Accept", accept}};
    if (!req.registry_authorization.empty()) h.headers.emplace_back("Authorization", req.registry_authorization);
    h.timeout_ms = 30000;
    berth::sdk::HttpResponse r;
    Status s = host_.Http(nullptr, h, &r);  // no call context: this runs after submit_scan returned
    if (!s.ok()) return Status::IO("GET " + h.url + ": " + s.message());
    if (r.status != 200) return Status::IO("GET " + h.url + " answered " + std::to_string(r.status));
    *body = std::move(r.body);
    return {};
  }

  Status Audit(const ScanRequest& req, std::string* out) {
    std::string mbody, cbody;
    Status s = Get(req, "manifests/" + req.digest,
                   "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
                   &mbody);
    if (!s.ok()) return s;
    json manifest = json::parse(mbody, nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("config") || !manifest["config"].contains("digest")) {
      return Status::Unsupported("the artifact is not a single-image manifest");
    }
    if (s = Get(req, "blobs/" + manifest["config"]["digest"].get<std::string>(), "*/*", &cbody); !s.ok()) return s;
    json config = json::parse(cbody, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return Status::IO("the image config is not JSON");
    const json cfg = config.value("config", json::object());

    json items = json::array();
    std::string user = cfg.value("User", "");
    if (user.empty() || user == "root" || user == "0" || user == "0:0" || user.rfind("root:", 0) == 0) {
      items.push_back(Finding("EXAMPLE-ROOT-USER", "User=" + user, "Medium",
                              "The image runs as root. Set USER to an unprivileged user.",
                              "https://docs.docker.com/reference/dockerfile/#user"));
    }
    for (const auto& e : cfg.value("Env", json::array())) {
      std::string kv = e.get<std::string>(), name = Upper(kv.substr(0, kv.find('=')));
      bool has_value = kv.find('=') != std::string::npos && kv.find('=') + 1 < kv.size();
      for (const char* word : {"PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"}) {
        if (has_value && name.find(word) != std::string::npos) {
          items.push_back(Finding("EXAMPLE-SECRET-ENV", kv.substr(0, kv.find('=')), "High",
                                  "The image config carries a value for " + kv.substr(0, kv.find('=')) +
                                      ": anyone who can pull the image can read it.",
                                  "https://docs.docker.com/build/building/secrets/"));
          break;
        }
      }
    }
    std::vector<std::string> commands;
    for (const auto& h : config.value("history", json::array())) commands.push_back(h.value("created_by", ""));
    for (const char* k : {"Entrypoint", "Cmd"}) {
      if (cfg.contains(k) && cfg[k].is_array()) {
        std::string joined;
        for (const auto& a : cfg[k]) joined += (joined.empty() ? "" : " ") + a.get<std::string>();
        commands.push_back(joined);
      }
    }
    for (const auto& d : deny_) {
      for (const auto& c : commands) {
        if (c.find(d) != std::string::npos) {
          items.push_back(Finding("EXAMPLE-DENIED", d, "High", "The image was built with a denied step: " + c,
                                  "https://docs.docker.com/build/building/best-practices/"));
          break;
        }
      }
    }
    static const std::map<std::string, int> kRank = {{"Low", 2}, {"Medium", 3}, {"High", 4}};
    std::string highest;
    for (const auto& i : items) {
      if (highest.empty() || kRank.at(i["severity"]) > kRank.at(highest)) highest = i["severity"];
    }
    auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    json report = {{"generated_at", when},
                   {"artifact", {{"repository", req.repository}, {"digest", req.digest}, {"mime_type", req.mime_type}}},
                   {"scanner", {{"name", "config-audit"}, {"vendor", "Berth examples"}, {"version", "1.0.0"}}},
                   {"vulnerabilities", items}};
    if (!highest.empty()) report["severity"] = highest;
    *out = report.dump();
    return {};
  }

  Host host_;
  const std::vector<std::string> deny_;
  std::mutex mu_;
  std::map<std::string, Job> jobs_;
  std::vector<std::thread> threads_;
};

const berth_provider kAudit = berth::sdk::MakeScannerProvider<ConfigAudit>(
    {"config-audit", "Example: audits the image config (root user, secrets in Env, denied build steps)",
     kSchema, 0, BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("scanner-example", "1.0.0", "Example third-party scanner (image config audit)", &kAudit)
