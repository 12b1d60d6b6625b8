// scanner-trivy: Harbor's pluggable-scanner calls served by the Trivy CLI.
//
// submit_scan queues a job and returns its id at once; a worker runs
//   trivy image --no-progress --image-src remote --format json|spdx-json|cyclonedx
//         --output FILE --timeout Ns [--severity ..] [--ignore-unfixed]
//         [--cache-dir ..] [--skip-db-update] [--skip-java-db-update]
//         [--offline-scan] [--db-repository ..] [--insecure] HOST:PORT/REPO@DIGEST
// with the scan credential in TRIVY_USERNAME/TRIVY_PASSWORD (Basic) or
// TRIVY_REGISTRY_TOKEN (Bearer), as harbor-scanner-trivy runs it, and kills
// the process group when the timeout passes. get_report answers RETRY until
// then, and the report in the asked MIME type after: Harbor's vulnerability
// report (trivy_report.h), Trivy's own JSON (raw), or the SBOM document
// wrapped in Harbor's SBOM report.
#include <berth/plugin_sdk.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "scan_common.h"
#include "scan_jobs.h"
#include "trivy_process.h"
#include "trivy_report.h"

extern char** environ;

namespace {

using berth::scanner::json;
using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::ScanRequest;
using berth::sdk::Status;
namespace sc = berth::scanner;
namespace tv = berth::trivy;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "trivy_path": {"type": "string", "minLength": 1,
                   "description": "the Trivy CLI: an absolute path, or a name looked up in PATH (default trivy)"},
    "cache_dir": {"type": "string",
                  "description": "Trivy's --cache-dir, holding db/ (and java-db/); default: Trivy's own"},
    "work_dir": {"type": "string", "description": "where report files are written while a scan runs (default $TMPDIR or /tmp)"},
    "offline_scan": {"type": "boolean", "description": "--offline-scan: no network access beyond the registry"},
    "skip_db_update": {"type": "boolean", "description": "--skip-db-update: use the database in cache_dir as is"},
    "skip_java_db_update": {"type": "boolean", "description": "--skip-java-db-update"},
    "db_repository": {"type": "string", "description": "--db-repository: an OCI mirror of the vulnerability DB"},
    "java_db_repository": {"type": "string", "description": "--java-db-repository"},
    "insecure": {"type": "boolean", "description": "--insecure: skip TLS verification of the registry (automatic for http:// registries)"},
    "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 86400,
                        "description": "a scan's time limit; the process group is killed after it (default 300)"},
    "severities": {"type": "array", "items": {"enum": ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]},
                   "minItems": 1, "description": "--severity (default all five)"},
    "ignore_unfixed": {"type": "boolean", "description": "--ignore-unfixed: report only vulnerabilities with a fix"},
    "vuln_type": {"type": "string", "description": "--vuln-type (default os,library)"},
    "max_parallel_scans": {"type": "integer", "minimum": 1, "maximum": 64,
                           "description": "Trivy processes running at once; more submissions wait (default 2)"},
    "report_ttl_seconds": {"type": "integer", "minimum": 10,
                           "description": "how long a finished scan's reports stay fetchable (default 3600)"},
    "debug": {"type": "boolean", "description": "--debug"}
  },
  "additionalProperties": false
})json";

struct Options {
  std::string trivy_path = "trivy";
  std::string cache_dir;
  std::string work_dir;
  bool offline_scan = false;
  bool skip_db_update = false;
  bool skip_java_db_update = false;
  std::string db_repository;
  std::string java_db_repository;
  bool insecure = false;
  int64_t timeout_seconds = 300;
  std::vector<std::string> severities = {"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
  bool ignore_unfixed = false;
  std::string vuln_type = "os,library";
  int max_parallel_scans = 2;
  int64_t report_ttl_seconds = 3600;
  bool debug = false;
};

Status ParseOptions(std::string_view config, Options* o) {
  json j = json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("config must be a JSON object");
  o->trivy_path = j.value("trivy_path", o->trivy_path);
  o->cache_dir = j.value("cache_dir", o->cache_dir);
  o->work_dir = j.value("work_dir", o->work_dir);
  o->offline_scan = j.value("offline_scan", o->offline_scan);
  o->skip_db_update = j.value("skip_db_update", o->skip_db_update);
  o->skip_java_db_update = j.value("skip_java_db_update", o->skip_java_db_update);
  o->db_repository = j.value("db_repository", o->db_repository);
  o->java_db_repository = j.value("java_db_repository", o->java_db_repository);
  o->insecure = j.value("insecure", o->insecure);
  o->timeout_seconds = j.value("timeout_seconds", o->timeout_seconds);
  if (j.contains("severities")) o->severities = j["severities"].get<std::vector<std::string>>();
  o->ignore_unfixed = j.value("ignore_unfixed", o->ignore_unfixed);
  o->vuln_type = j.value("vuln_type", o->vuln_type);
  o->max_parallel_scans = j.value("max_parallel_scans", o->max_parallel_scans);
  o->report_ttl_seconds = j.value("report_ttl_seconds", o->report_ttl_seconds);
  o->debug = j.value("debug", o->debug);
  if (o->work_dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    o->work_dir = (t != nullptr && *t != '\0') ? t : "/tmp";
  }
  return {};
}

bool FileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A temp file name in dir (the file is created empty, 0600).
Status TempFile(const std::string& dir, const char* suffix, std::string* path) {
  std::string tmpl = dir + "/berth-trivy-XXXXXX" + suffix;
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemps(buf.data(), static_cast<int>(std::strlen(suffix)));
  if (fd < 0) return Status::IO("cannot create a file in work_dir '" + dir + "': " + std::strerror(errno));
  ::close(fd);
  *path = buf.data();
  return {};
}

// Removes the files it names when it goes out of scope.
struct FilesCleanup {
  std::vector<std::string> paths;
  ~FilesCleanup() {
    for (const auto& p : paths) ::unlink(p.c_str());
  }
};

// berthd's environment without its own settings (BERTH_*: DSNs, the admin
// password) and without credentials we set ourselves, plus `extra`. Other
// TRIVY_* settings (e.g. TRIVY_DB_REPOSITORY) and proxies pass through.
std::vector<std::string> ChildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.rfind("BERTH_", 0) == 0 || v.rfind("TRIVY_USERNAME=", 0) == 0 ||
        v.rfind("TRIVY_PASSWORD=", 0) == 0 || v.rfind("TRIVY_REGISTRY_TOKEN=", 0) == 0) {
      continue;
    }
    env.emplace_back(v);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

class TrivyScanner : public berth::sdk::Scanner {
 public:
  TrivyScanner(const Host& host, Options o)
      : host_(host),
        o_(std::move(o)),
        jobs_(o_.max_parallel_scans, std::chrono::seconds(o_.report_ttl_seconds)) {}

  static Status Create(const Host& host, std::string_view config, std::unique_ptr<TrivyScanner>* out) {
    Options o;
    Status s = ParseOptions(config, &o);
    if (!s.ok()) return s;
    out->reset(new TrivyScanner(host, std::move(o)));
    return {};
  }

  Status GetMetadata(const CallCtx&, std::string* out) override {
    json version;
    Status s = Version(&version);
    if (!s.ok()) return s;
    json props = {
        {"harbor.scanner-adapter/scanner-type", "os-package-vulnerability"},
        {"org.label-schema.vcs", "https://github.com/aquasecurity/trivy"},
        {"env.SCANNER_TRIVY_SKIP_UPDATE", o_.skip_db_update ? "true" : "false"},
        {"env.SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE", o_.skip_java_db_update ? "true" : "false"},
        {"env.SCANNER_TRIVY_OFFLINE_SCAN", o_.offline_scan ? "true" : "false"},
        {"env.SCANNER_TRIVY_IGNORE_UNFIXED", o_.ignore_unfixed ? "true" : "false"},
        {"env.SCANNER_TRIVY_INSECURE", o_.insecure ? "true" : "false"},
        {"env.SCANNER_TRIVY_VULN_TYPE", o_.vuln_type},
        {"env.SCANNER_TRIVY_SEVERITY", Join(o_.severities, ",")},
        {"env.SCANNER_TRIVY_TIMEOUT", std::to_string(o_.timeout_seconds) + "s"},
    };
    if (version.contains("VulnerabilityDB") && version["VulnerabilityDB"].is_object()) {
      const json& db = version["VulnerabilityDB"];
      if (db.contains("UpdatedAt") && db["UpdatedAt"].is_string()) {
        props["harbor.scanner-adapter/vulnerability-database-updated-at"] = db["UpdatedAt"];
      }
      if (!o_.skip_db_update && db.contains("NextUpdate") && db["NextUpdate"].is_string()) {
        props["harbor.scanner-adapter/vulnerability-database-next-update-at"] = db["NextUpdate"];
      }
    }
    if (version.contains("JavaDB") && version["JavaDB"].is_object()) {
      const json& db = version["JavaDB"];
      if (db.contains("UpdatedAt") && db["UpdatedAt"].is_string()) {
        props["harbor.scanner-adapter/vulnerability-java-database-updated-at"] = db["UpdatedAt"];
      }
      if (!o_.skip_java_db_update && db.contains("NextUpdate") && db["NextUpdate"].is_string()) {
        props["harbor.scanner-adapter/vulnerability-java-database-next-update-at"] = db["NextUpdate"];
      }
    }
    json consumes = json::array({sc::kMimeOciManifest, sc::kMimeDockerManifest});
    json meta = {
        {"scanner", ScannerJson(version)},
        {"capabilities",
         json::array({{{"type", "vulnerability"},
                       {"consumes_mime_types", consumes},
                       {"produces_mime_types",
                        json::array({sc::kMimeVulnReport11, sc::kMimeVulnReport10, sc::kMimeRawReport})}},
                      {{"type", "sbom"},
                       {"consumes_mime_types", consumes},
                       {"produces_mime_types", json::array({sc::kMimeSbomReport})},
                       {"additional_attributes",
                        {{"sbom_media_types", json::array({sc::kSbomSpdx, sc::kSbomCycloneDx})}}}}})},
        {"properties", props}};
    *out = meta.dump();
    return {};
  }

  Status SubmitScan(const CallCtx&, const ScanRequest& req, std::string* scan_id) override {
    if (req.registry_url.empty()) return Status::InvalidArgument("scan request without registry_url");
    if (req.repository.empty()) return Status::InvalidArgument("scan request without repository");
    if (req.digest.empty() || req.digest.find(':') == std::string::npos) {
      return Status::InvalidArgument("scan request needs the artifact's digest (algorithm:hex), got '" +
                                     req.digest + "'");
    }
    if (!req.mime_type.empty() && req.mime_type != sc::kMimeOciManifest &&
        req.mime_type != sc::kMimeDockerManifest) {
      return Status::Unsupported("Trivy scans image manifests (" + std::string(sc::kMimeOciManifest) +
                                 ", " + sc::kMimeDockerManifest + "), not '" + req.mime_type + "'");
    }
    sc::EnabledCapabilities caps;
    Status s = sc::ParseCapabilities(req.capabilities_json, &caps);
    if (!s.ok()) return s;
    sc::RegistryCredential cred;
    if (s = sc::ParseAuthorization(req.registry_authorization, &cred); !s.ok()) return s;
    std::string host_port;
    bool plain_http = false;
    if (s = sc::RegistryHostPort(req.registry_url, &host_port, &plain_http); !s.ok()) return s;
    if (o_.skip_db_update && !o_.cache_dir.empty() && !FileExists(o_.cache_dir + "/db/metadata.json")) {
      // Trivy would fail the same way, after pulling the image; say why now.
      return Status::Conflict("skip_db_update is set but cache_dir '" + o_.cache_dir +
                              "' holds no Trivy database (db/metadata.json): put an offline "
                              "trivy-db there first (see docs/scanners.md)");
    }
    Target t{host_port + "/" + req.repository + "@" + req.digest, plain_http, cred, req, caps};
    *scan_id = jobs_.Submit([this, t](const std::atomic<bool>& stopping) { return Run(t, stopping); });
    host_.Log(BERTH_LOG_INFO, "trivy scan " + *scan_id + " queued for " + t.image);
    return {};
  }

  Status GetReport(const CallCtx&, std::string_view scan_id, std::string_view mime, std::string* report,
                   int64_t* retry_after) override {
    sc::ReportType rt;
    Status s = sc::ParseReportType(mime, &rt);
    if (!s.ok()) return s;
    std::string key = rt.kind == sc::ReportType::kVulnerability ? "vulnerability"
                      : rt.kind == sc::ReportType::kRaw         ? "raw"
                      : rt.sbom_media_type.empty()              ? "sbom"
                                                                : "sbom:" + rt.sbom_media_type;
    return jobs_.Get(std::string(scan_id), key, report, retry_after);
  }

 private:
  struct Target {
    std::string image;  // host:port/repository@digest
    bool plain_http;
    sc::RegistryCredential cred;
    ScanRequest req;
    sc::EnabledCapabilities caps;
  };

  json ScannerJson(const json& version) const {
    std::string v = version.is_object() && version.contains("Version") && version["Version"].is_string()
                        ? version["Version"].get<std::string>()
                        : "Unknown";
    return {{"name", "Trivy"}, {"vendor", "Aqua Security"}, {"version", v}};
  }

  // `trivy [--cache-dir D] version --format json`, cached for a minute.
  Status Version(json* out) {
    {
      std::lock_guard<std::mutex> l(version_mu_);
      if (!version_.is_null() && std::chrono::steady_clock::now() - version_at_ < std::chrono::seconds(60)) {
        *out = version_;
        return {};
      }
    }
    std::vector<std::string> argv = {o_.trivy_path};
    if (!o_.cache_dir.empty()) argv.insert(argv.end(), {"--cache-dir", o_.cache_dir});
    argv.insert(argv.end(), {"version", "--format", "json"});
    std::string log;
    FilesCleanup cleanup;
    Status s = TempFile(o_.work_dir, ".log", &log);
    if (!s.ok()) return s;
    cleanup.paths.push_back(log);
    tv::ProcessResult r;
    std::atomic<bool> never{false};
    s = tv::RunProcess(argv, ChildEnv({}), std::chrono::seconds(30), never, log, &r);
    if (!s.ok()) return Status::IO("trivy_path '" + o_.trivy_path + "': " + s.message());
    if (r.exit_code != 0) {
      return Status::IO("'" + o_.trivy_path + " version' " + tv::DescribeEnd(r) + ": " + tv::LastLines(r.output, 3));
    }
    // Logs may precede the JSON on the same stream: take the last JSON line.
    json v;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object()) v = j;
    }
    if (!v.is_object() || !v.contains("Version")) {
      return Status::IO("'" + o_.trivy_path + " version --format json' printed no version JSON: " +
                        tv::LastLines(r.output, 3));
    }
    std::lock_guard<std::mutex> l(version_mu_);
    version_ = v;
    version_at_ = std::chrono::steady_clock::now();
    *out = v;
    return {};
  }

  // One Trivy run producing `format` into *output.
  Status RunTrivy(const Target& t, const std::string& format, const std::atomic<bool>& stopping,
                  std::string* output) {
    FilesCleanup cleanup;
    std::string report_path, log_path;
    Status s = TempFile(o_.work_dir, ".json", &report_path);
    if (!s.ok()) return s;
    cleanup.paths.push_back(report_path);
    if (s = TempFile(o_.work_dir, ".log", &log_path); !s.ok()) return s;
    cleanup.paths.push_back(log_path);
    std::vector<std::string> argv = {o_.trivy_path, "image", "--no-progress", "--image-src", "remote",
                                     "--scanners", "vuln", "--format", format, "--output", report_path,
                                     "--timeout", std::to_string(o_.timeout_seconds) + "s",
                                     "--severity", Join(o_.severities, ","), "--vuln-type", o_.vuln_type};
    if (!o_.cache_dir.empty()) argv.insert(argv.end(), {"--cache-dir", o_.cache_dir});
    if (o_.ignore_unfixed) argv.push_back("--ignore-unfixed");
    if (o_.skip_db_update) argv.push_back("--skip-db-update");
    if (o_.skip_java_db_update) argv.push_back("--skip-java-db-update");
    if (o_.offline_scan) argv.push_back("--offline-scan");
    if (!o_.db_repository.empty()) argv.insert(argv.end(), {"--db-repository", o_.db_repository});
    if (!o_.java_db_repository.empty()) argv.insert(argv.end(), {"--java-db-repository", o_.java_db_repository});
    if (o_.debug) argv.push_back("--debug");
    if (o_.insecure || t.plain_http) argv.push_back("--insecure");
    argv.push_back(t.image);
    std::vector<std::string> extra;
    if (t.cred.kind == sc::RegistryCredential::kBasic) {
      extra = {"TRIVY_USERNAME=" + t.cred.username, "TRIVY_PASSWORD=" + t.cred.password};
    } else if (t.cred.kind == sc::RegistryCredential::kBearer) {
      extra = {"TRIVY_REGISTRY_TOKEN=" + t.cred.token};
    }
    tv::ProcessResult r;
    s = tv::RunProcess(argv, ChildEnv(extra), std::chrono::seconds(o_.timeout_seconds), stopping, log_path, &r);
    if (!s.ok()) return Status::IO("trivy_path '" + o_.trivy_path + "': " + s.message());
    if (r.timed_out) {
      return Status::DeadlineExceeded("trivy scan of " + t.image + " did not finish within " +
                                      std::to_string(o_.timeout_seconds) + " s (timeout_seconds); killed it. " +
                                      "Last output: " + tv::LastLines(r.output, 3));
    }
    if (r.exit_code != 0) {
      return Status::IO("trivy " + tv::DescribeEnd(r) + " scanning " + t.image + ": " + tv::LastLines(r.output, 4));
    }
    *output = ReadFile(report_path);
    if (output->empty()) {
      return Status::IO("trivy exited 0 but wrote no report for " + t.image + ": " + tv::LastLines(r.output, 3));
    }
    return {};
  }

  sc::ScanOutcome Run(const Target& t, const std::atomic<bool>& stopping) {
    sc::ScanOutcome out;
    json version;
    Status vs = Version(&version);  // the scanner's version goes into each report
    if (!vs.ok()) {
      out.status = vs;
      return out;
    }
    json scanner = ScannerJson(version);
    json artifact = sc::ArtifactJson(t.req);
    if (t.caps.vulnerability) {
      std::string raw;
      out.status = RunTrivy(t, "json", stopping, &raw);
      if (!out.status.ok()) return Fail(t, out);
      json doc = json::parse(raw, nullptr, false);
      if (doc.is_discarded()) {
        out.status = Status::IO("trivy's report for " + t.image + " is not JSON (" + std::to_string(raw.size()) +
                                " bytes starting '" + raw.substr(0, 40) + "')");
        return Fail(t, out);
      }
      json harbor;
      out.status = tv::HarborReportFromTrivy(doc, artifact, scanner, sc::Rfc3339Now(), &harbor);
      if (!out.status.ok()) {
        out.status = Status::IO("trivy's report for " + t.image + ": " + out.status.message());
        return Fail(t, out);
      }
      out.reports["vulnerability"] = harbor.dump();
      out.reports["raw"] = std::move(raw);
    }
    for (const auto& media_type : t.caps.sbom_media_types) {
      std::string raw;
      out.status = RunTrivy(t, media_type == sc::kSbomSpdx ? "spdx-json" : "cyclonedx", stopping, &raw);
      if (!out.status.ok()) return Fail(t, out);
      json doc = json::parse(raw, nullptr, false);
      if (doc.is_discarded() || !doc.is_object()) {
        out.status = Status::IO("trivy's " + media_type + " SBOM for " + t.image + " is not a JSON object");
        return Fail(t, out);
      }
      json report = {{"generated_at", sc::Rfc3339Now()}, {"artifact", artifact}, {"scanner", scanner},
                     {"media_type", media_type}, {"sbom", std::move(doc)}};
      std::string body = report.dump();
      if (out.reports.count("sbom") == 0) out.reports["sbom"] = body;  // the first asked format
      out.reports["sbom:" + media_type] = std::move(body);
    }
    host_.Log(BERTH_LOG_INFO, "trivy scan of " + t.image + " finished");
    return out;
  }

  sc::ScanOutcome Fail(const Target& t, sc::ScanOutcome& out) {
    host_.Log(BERTH_LOG_WARN, "trivy scan of " + t.image + " failed: " + out.status.message());
    out.reports.clear();
    return out;
  }

  Host host_;
  const Options o_;
  std::mutex version_mu_;
  json version_;
  std::chrono::steady_clock::time_point version_at_;
  sc::ScanJobs jobs_;  // last: its workers stop before the rest goes
};

const berth_provider kTrivy = berth::sdk::MakeScannerProvider<TrivyScanner>(
    {"trivy", "Vulnerability scans and SBOMs with the Trivy CLI (as harbor-scanner-trivy)", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("scanner-trivy", "1.0.0", "Trivy scanner: vulnerabilities and SBOMs", &kTrivy)
