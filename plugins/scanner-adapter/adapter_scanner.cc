// scanner-adapter: a client of Harbor's Pluggable Scanner API (v1.1, v1.2),
// so that any existing adapter (harbor-scanner-trivy, Clair's, Aqua's,
// Anchore's) plugs into Berth by URL, as it registers in Harbor:
//   get_metadata -> GET  {url}/api/v1/metadata
//   submit_scan  -> POST {url}/api/v1/scan                (ScanRequest; 202 + id)
//   get_report   -> GET  {url}/api/v1/scan/{id}/report    (Accept: the MIME type;
//                   ?sbom_media_type=.. for SBOMs; 302 + Refresh-After while not ready)
// HTTP goes through berthd's client (libcurl, with berthd's proxy and CA
// settings) via the host services. Authentication is Harbor's: Basic
// (base64 of "user:password"), Bearer, or the X-ScannerAdapter-API-Key header.
#include <berth/plugin_sdk.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>

#include "scan_common.h"

namespace {

using berth::scanner::json;
using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::HttpRequest;
using berth::sdk::HttpResponse;
using berth::sdk::ScanRequest;
using berth::sdk::Status;
namespace sc = berth::scanner;

constexpr char kSchema[] = R"json({
  "type": "object",
  "required": ["url"],
  "properties": {
    "url": {"type": "string", "pattern": "^https?://",
            "description": "the adapter's base URL, e.g. http://harbor-scanner-trivy:8080 (the API is under /api/v1)"},
    "spec_version": {"enum": ["1.1", "1.2"],
                     "description": "the pluggable scanner API version the adapter speaks (default 1.2; SBOMs need 1.2)"},
    "auth": {"enum": ["", "Basic", "Bearer", "X-ScannerAdapter-API-Key"],
             "description": "how to authenticate to the adapter, as Harbor's scanner registration"},
    "access_credential": {"type": "string",
                          "description": "Basic: user:password; Bearer: the token; X-ScannerAdapter-API-Key: the key"},
    "access_credential_secret": {"type": "string",
                                 "description": "name of a berthd secret holding access_credential instead"},
    "skip_cert_verify": {"type": "boolean"},
    "ca_pem": {"type": "string", "description": "extra CA certificates (PEM) trusted for the adapter"},
    "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 600,
                        "description": "per-request timeout (default 10)"}
  },
  "additionalProperties": false
})json";

struct Options {
  std::string url;
  std::string spec_version = "1.2";
  std::string auth;
  std::string credential;
  bool skip_cert_verify = false;
  std::string ca_pem;
  int64_t timeout_seconds = 10;
};

Status ParseOptions(const Host& host, std::string_view config, Options* o) {
  json j = json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("config must be a JSON object");
  o->url = j.value("url", "");
  while (!o->url.empty() && o->url.back() == '/') o->url.pop_back();
  if (o->url.rfind("http://", 0) != 0 && o->url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("url must be the adapter's http:// or https:// base URL");
  }
  o->spec_version = j.value("spec_version", o->spec_version);
  o->auth = j.value("auth", o->auth);
  o->credential = j.value("access_credential", "");
  std::string secret = j.value("access_credential_secret", "");
  if (!secret.empty()) {
    Status s = host.Secret(secret, &o->credential);
    if (!s.ok()) return Status::InvalidArgument("access_credential_secret '" + secret + "': " + s.message());
  }
  if (!o->auth.empty() && o->credential.empty()) {
    return Status::InvalidArgument("auth " + o->auth + " needs access_credential (or access_credential_secret)");
  }
  o->skip_cert_verify = j.value("skip_cert_verify", o->skip_cert_verify);
  o->ca_pem = j.value("ca_pem", o->ca_pem);
  o->timeout_seconds = j.value("timeout_seconds", o->timeout_seconds);
  return {};
}

std::string Base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return v;
    }
  }
  return {};
}

std::string QueryEscape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

class AdapterScanner : public berth::sdk::Scanner {
 public:
  AdapterScanner(const Host& host, Options o) : host_(host), o_(std::move(o)) {}

  static Status Create(const Host& host, std::string_view config, std::unique_ptr<AdapterScanner>* out) {
    Options o;
    Status s = ParseOptions(host, config, &o);
    if (!s.ok()) return s;
    out->reset(new AdapterScanner(host, std::move(o)));
    return {};
  }

  Status GetMetadata(const CallCtx& call, std::string* out) override {
    HttpResponse r;
    std::string accept = v12() ? "application/vnd.scanner.adapter.metadata+json; version=1.1"
                               : "application/vnd.scanner.adapter.metadata+json; version=1.0";
    Status s = Send(call, "GET", "/metadata", {{"Accept", accept}}, "", &r);
    if (!s.ok()) return s;
    if (r.status != 200) return Failure("GET /metadata", r);
    json m = json::parse(r.body, nullptr, false);
    if (m.is_discarded() || !m.is_object() || !m.contains("scanner") || !m.contains("capabilities")) {
      return Status::IO("adapter " + o_.url + ": /metadata is not ScannerAdapterMetadata JSON");
    }
    *out = m.dump();
    return {};
  }

  Status SubmitScan(const CallCtx& call, const ScanRequest& req, std::string* scan_id) override {
    if (req.registry_url.empty() || req.repository.empty() || req.digest.empty()) {
      return Status::InvalidArgument("scan request needs registry_url, repository and digest");
    }
    sc::EnabledCapabilities caps;
    Status s = sc::ParseCapabilities(req.capabilities_json, &caps);
    if (!s.ok()) return s;
    if (caps.sbom && !v12()) {
      return Status::Unsupported("SBOM scans need the pluggable scanner API 1.2; adapter " + o_.url +
                                 " is configured with spec_version 1.1");
    }
    json body = {{"registry", {{"url", req.registry_url}, {"authorization", req.registry_authorization}}},
                 {"artifact", sc::ArtifactJson(req)}};
    if (v12() && !caps.raw.empty()) body["enabled_capabilities"] = Capabilities(caps);
    std::string content_type = v12() ? "application/vnd.scanner.adapter.scan.request+json; version=1.1"
                                     : "application/vnd.scanner.adapter.scan.request+json; version=1.0";
    HttpResponse r;
    s = Send(call, "POST", "/scan",
             {{"Content-Type", content_type},
              {"Accept", "application/vnd.scanner.adapter.scan.response+json; version=1.0"}},
             body.dump(), &r);
    if (!s.ok()) return s;
    if (r.status != 202) return Failure("POST /scan", r);
    json resp = json::parse(r.body, nullptr, false);
    if (resp.is_discarded() || !resp.is_object() || !resp.contains("id") || !resp["id"].is_string() ||
        resp["id"].get<std::string>().empty()) {
      return Status::IO("adapter " + o_.url + ": POST /scan answered 202 without a ScanResponse id");
    }
    *scan_id = resp["id"].get<std::string>();
    if (caps.sbom) Remember(*scan_id, caps.sbom_media_types.front());
    return {};
  }

  Status GetReport(const CallCtx& call, std::string_view scan_id, std::string_view mime, std::string* report,
                   int64_t* retry_after) override {
    sc::ReportType rt;
    Status s = sc::ParseReportType(mime, &rt);
    if (!s.ok()) return s;
    if (scan_id.empty() || scan_id.find_first_of("/?#% ") != std::string_view::npos) {
      return Status::NotFound("no scan with id '" + std::string(scan_id) + "'");
    }
    std::string path = "/scan/" + std::string(scan_id) + "/report";
    std::string accept;
    switch (rt.kind) {
      case sc::ReportType::kVulnerability:
        accept = rt.mime.find("version=1.0") != std::string::npos ? sc::kMimeVulnReport10 : sc::kMimeVulnReport11;
        break;
      case sc::ReportType::kRaw:
        accept = sc::kMimeRawReport;
        break;
      case sc::ReportType::kSbom: {
        if (!v12()) return Status::Unsupported("SBOM reports need the pluggable scanner API 1.2");
        accept = sc::kMimeSbomReport;
        std::string media = rt.sbom_media_type.empty() ? Recall(std::string(scan_id)) : rt.sbom_media_type;
        path += "?sbom_media_type=" + QueryEscape(media);
        break;
      }
    }
    HttpResponse r;
    s = Send(call, "GET", path, {{"Accept", accept}}, "", &r);
    if (!s.ok()) return s;
    if (r.status == 302) {
      // The spec's header is Refresh-After; Retry-After is HTTP's own.
      std::string after = Header(r, "Refresh-After");
      if (after.empty()) after = Header(r, "Retry-After");
      int64_t secs = 5;  // Harbor's default refresh interval
      if (!after.empty()) {
        try {
          secs = std::stoll(after);
        } catch (...) {
        }
      }
      *retry_after = std::max<int64_t>(1, std::min<int64_t>(secs, 3600));
      return Status::Retry("adapter " + o_.url + ": report of scan " + std::string(scan_id) + " not ready");
    }
    if (r.status != 200) return Failure("GET " + path, r);
    *report = std::move(r.body);
    return {};
  }

 private:
  bool v12() const { return o_.spec_version == "1.2"; }

  // enabled_capabilities with what harbor-scanner-trivy requires filled in:
  // produces_mime_types, and sbom_media_types for SBOMs.
  json Capabilities(const sc::EnabledCapabilities& caps) const {
    json out = json::array();
    for (json c : caps.raw) {
      std::string type = c["type"];
      if (!c.contains("produces_mime_types") || !c["produces_mime_types"].is_array() ||
          c["produces_mime_types"].empty()) {
        c["produces_mime_types"] = json::array({type == "sbom" ? sc::kMimeSbomReport : sc::kMimeVulnReport11});
      }
      if (type == "sbom") c["parameters"] = {{"sbom_media_types", caps.sbom_media_types}};
      out.push_back(std::move(c));
    }
    return out;
  }

  Status Send(const CallCtx& call, const std::string& method, const std::string& path,
              std::vector<std::pair<std::string, std::string>> headers, std::string body, HttpResponse* r) {
    HttpRequest req;
    req.method = method;
    req.url = o_.url + "/api/v1" + path;
    req.headers = std::move(headers);
    if (o_.auth == "Basic") {
      req.headers.emplace_back("Authorization", "Basic " + Base64(o_.credential));
    } else if (o_.auth == "Bearer") {
      req.headers.emplace_back("Authorization", "Bearer " + o_.credential);
    } else if (o_.auth == "X-ScannerAdapter-API-Key") {
      req.headers.emplace_back("X-ScannerAdapter-API-Key", o_.credential);
    }
    req.body = std::move(body);
    req.timeout_ms = o_.timeout_seconds * 1000;
    req.insecure_skip_verify = o_.skip_cert_verify;
    req.ca_pem = o_.ca_pem;
    Status s = host_.Http(call.raw(), req, r);
    if (!s.ok()) {
      if (s.code() == BERTH_E_DEADLINE_EXCEEDED) return s;
      return Status::IO("adapter " + o_.url + ": " + method + " " + path + ": " + s.message());
    }
    return {};
  }

  // An error answer as a status: the spec's ErrorResponse message when there is one.
  Status Failure(const std::string& what, const HttpResponse& r) const {
    std::string msg;
    json e = json::parse(r.body, nullptr, false);
    if (!e.is_discarded() && e.is_object() && e.contains("error") && e["error"].is_object() &&
        e["error"].contains("message") && e["error"]["message"].is_string()) {
      msg = e["error"]["message"].get<std::string>();
    } else {
      msg = r.body.substr(0, 300);
    }
    std::string text = "adapter " + o_.url + ": " + what + " answered " + std::to_string(r.status) +
                       (msg.empty() ? "" : ": " + msg);
    switch (r.status) {
      case 400:
      case 422: return Status::InvalidArgument(text);
      case 401: return Status::Unauthenticated(text + " (check auth and access_credential)");
      case 403: return Status::PermissionDenied(text);
      case 404: return Status::NotFound(text);
      case 406:
      case 415:
      case 501: return Status::Unsupported(text);
      default: return Status::IO(text);
    }
  }

  // The SBOM format asked at submit, per scan id (a bounded memory).
  void Remember(const std::string& id, const std::string& media_type) {
    std::lock_guard<std::mutex> l(mu_);
    sbom_format_[id] = media_type;
    order_.push_back(id);
    while (order_.size() > 10000) {
      sbom_format_.erase(order_.front());
      order_.pop_front();
    }
  }
  std::string Recall(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sbom_format_.find(id);
    return it == sbom_format_.end() ? sc::kSbomSpdx : it->second;
  }

  Host host_;
  const Options o_;
  std::mutex mu_;
  std::map<std::string, std::string> sbom_format_;
  std::deque<std::string> order_;
};

const berth_provider kAdapter = berth::sdk::MakeScannerProvider<AdapterScanner>(
    {"adapter", "Any Harbor pluggable scanner adapter (API v1.1/v1.2) by URL", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("scanner-adapter", "1.0.0", "Harbor pluggable scanner API client", &kAdapter)
