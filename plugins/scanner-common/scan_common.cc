#include "scan_common.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace berth::scanner {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "type; a=b; c=d" -> ("type", {{a,b},{c,d}}), keys lower-cased, quotes dropped.
void SplitMime(std::string_view mime, std::string* type,
               std::vector<std::pair<std::string, std::string>>* params) {
  size_t semi = mime.find(';');
  *type = Lower(TrimView(mime.substr(0, semi)));
  while (semi != std::string_view::npos) {
    mime.remove_prefix(semi + 1);
    semi = mime.find(';');
    std::string_view p = TrimView(mime.substr(0, semi));
    size_t eq = p.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view v = TrimView(p.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    params->emplace_back(Lower(TrimView(p.substr(0, eq))), std::string(v));
  }
}

std::string Param(const std::vector<std::pair<std::string, std::string>>& params,
                  std::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return {};
}

bool KnownSbomFormat(std::string_view f) { return f == kSbomSpdx || f == kSbomCycloneDx; }

}  // namespace

Status ParseReportType(std::string_view mime, ReportType* out) {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
  SplitMime(mime, &type, &params);
  out->mime = std::string(mime);
  std::string version = Param(params, "version");
  if (type == "application/vnd.security.vulnerability.report" && version == "1.1") {
    out->kind = ReportType::kVulnerability;
  } else if (type == "application/vnd.scanner.adapter.vuln.report.harbor+json" && version == "1.0") {
    out->kind = ReportType::kVulnerability;
  } else if (type == "application/vnd.scanner.adapter.vuln.report.raw") {
    out->kind = ReportType::kRaw;
  } else if (type == "application/vnd.security.sbom.report+json" && version == "1.0") {
    out->kind = ReportType::kSbom;
    out->sbom_media_type = Param(params, "sbom_media_type");
    if (!out->sbom_media_type.empty() && !KnownSbomFormat(out->sbom_media_type)) {
      return Status::Unsupported("unsupported SBOM media type '" + out->sbom_media_type + "' (" +
                                 kSbomSpdx + " or " + kSbomCycloneDx + ")");
    }
  } else {
    return Status::Unsupported("unsupported report MIME type '" + std::string(mime) + "' (one of '" +
                               kMimeVulnReport11 + "', '" + kMimeVulnReport10 + "', '" +
                               kMimeRawReport + "', '" + kMimeSbomReport + "')");
  }
  return {};
}

Status ParseCapabilities(std::string_view text, EnabledCapabilities* out) {
  *out = EnabledCapabilities();
  if (TrimView(text).empty()) return {};
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("capabilities_json is not JSON");
  if (j.is_object() && j.contains("enabled_capabilities")) j = j["enabled_capabilities"];
  if (j.is_null()) return {};
  if (!j.is_array()) {
    return Status::InvalidArgument("capabilities_json must be the enabled_capabilities array");
  }
  if (j.empty()) return {};
  out->raw = j;
  out->vulnerability = false;
  for (const auto& c : j) {
    if (!c.is_object() || !c.contains("type") || !c["type"].is_string()) {
      return Status::InvalidArgument("each enabled capability needs a string \"type\"");
    }
    std::string type = c["type"].get<std::string>();
    if (type == "vulnerability") {
      out->vulnerability = true;
    } else if (type == "sbom") {
      out->sbom = true;
      const json* params = c.contains("parameters") && c["parameters"].is_object() ? &c["parameters"] : nullptr;
      if (params != nullptr && params->contains("sbom_media_types")) {
        const json& types = (*params)["sbom_media_types"];
        if (!types.is_array()) return Status::InvalidArgument("sbom_media_types must be an array");
        for (const auto& t : types) {
          if (!t.is_string() || !KnownSbomFormat(t.get<std::string>())) {
            return Status::InvalidArgument("unsupported SBOM media type " + t.dump() + " (" +
                                           kSbomSpdx + " or " + kSbomCycloneDx + ")");
          }
          out->sbom_media_types.push_back(t.get<std::string>());
        }
      }
    } else {
      return Status::InvalidArgument("unknown scan capability type '" + type +
                                     "' (vulnerability or sbom)");
    }
  }
  if (out->sbom && out->sbom_media_types.empty()) out->sbom_media_types.push_back(kSbomSpdx);
  return {};
}

bool Base64Decode(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  out->clear();
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return true;
}

Status ParseAuthorization(std::string_view header, RegistryCredential* out) {
  *out = RegistryCredential();
  std::string_view h = TrimView(header);
  if (h.empty()) return {};
  size_t sp = h.find(' ');
  std::string scheme = Lower(h.substr(0, sp));
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : TrimView(h.substr(sp));
  if (scheme == "bearer" && !rest.empty()) {
    out->kind = RegistryCredential::kBearer;
    out->token = std::string(rest);
    return {};
  }
  if (scheme == "basic" && !rest.empty()) {
    std::string decoded;
    size_t colon;
    if (!Base64Decode(rest, &decoded) || (colon = decoded.find(':')) == std::string::npos) {
      return Status::InvalidArgument("registry_authorization: malformed Basic credential");
    }
    out->kind = RegistryCredential::kBasic;
    out->username = decoded.substr(0, colon);
    out->password = decoded.substr(colon + 1);
    return {};
  }
  return Status::InvalidArgument("registry_authorization must be \"Basic ...\" or \"Bearer ...\"");
}

Status RegistryHostPort(std::string_view url, std::string* host_port, bool* plain_http) {
  std::string u = Lower(url.substr(0, std::min<size_t>(url.size(), 8)));
  std::string_view rest;
  if (u.rfind("http://", 0) == 0) {
    *plain_http = true;
    rest = url.substr(7);
  } else if (u.rfind("https://", 0) == 0) {
    *plain_http = false;
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument("registry_url must be an http:// or https:// URL, got '" +
                                   std::string(url) + "'");
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return Status::InvalidArgument("registry_url has no host: '" + std::string(url) + "'");
  bool has_port = rest.back() != ']' && rest.rfind(':') != std::string_view::npos &&
                  (rest.front() != '[' || rest.rfind("]:") != std::string_view::npos);
  *host_port = std::string(rest);
  if (!has_port) *host_port += *plain_http ? ":80" : ":443";
  return {};
}

std::string NewScanId() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string Rfc3339Now() {
  auto now = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(ns % 1000000000));
  return buf;
}

json ArtifactJson(const sdk::ScanRequest& req) {
  json a = {{"repository", req.repository}, {"digest", req.digest}};
  if (!req.tag.empty()) a["tag"] = req.tag;
  if (!req.mime_type.empty()) a["mime_type"] = req.mime_type;
  return a;
}

}  // namespace berth::scanner
