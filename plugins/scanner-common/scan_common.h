// What Berth's scanner plugins share about Harbor's pluggable scanner API
// (goharbor/pluggable-scanner-spec v1.1 and v1.2): the MIME types, the
// enabled_capabilities a scan request carries, the registry credential, scan
// ids and timestamps. No plugin state here.
#ifndef BERTH_PLUGINS_SCANNER_COMMON_SCAN_COMMON_H_
#define BERTH_PLUGINS_SCANNER_COMMON_SCAN_COMMON_H_

#include <berth/plugin_sdk.hpp>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace berth::scanner {

using sdk::Status;
using json = nlohmann::json;

// Artifacts a scanner consumes.
inline constexpr char kMimeOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kMimeDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
// Reports a scanner produces.
inline constexpr char kMimeVulnReport11[] = "application/vnd.security.vulnerability.report; version=1.1";
inline constexpr char kMimeVulnReport10[] =
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
inline constexpr char kMimeRawReport[] = "application/vnd.scanner.adapter.vuln.report.raw";
inline constexpr char kMimeSbomReport[] = "application/vnd.security.sbom.report+json; version=1.0";
// SBOM document formats (sbom_media_types).
inline constexpr char kSbomSpdx[] = "application/spdx+json";
inline constexpr char kSbomCycloneDx[] = "application/vnd.cyclonedx+json";

// A report MIME type as the host asks for it in get_report.
struct ReportType {
  enum Kind { kVulnerability, kRaw, kSbom } kind = kVulnerability;
  std::string mime;             // as asked, for messages
  std::string sbom_media_type;  // from an optional "; sbom_media_type=..." parameter
};

// Parses a report MIME type. Case and blanks around ';' and '=' do not
// matter. Unknown types are BERTH_E_UNSUPPORTED naming what is supported.
Status ParseReportType(std::string_view mime, ReportType* out);

// The enabled_capabilities of a scan request (spec v1.2). Without any, a
// scanner runs a vulnerability scan only (as Harbor's adapters do).
struct EnabledCapabilities {
  bool vulnerability = true;
  bool sbom = false;
  std::vector<std::string> sbom_media_types;  // in request order; SPDX when none given
  json raw = json::array();                   // the capabilities as received (for adapters)
};

// Accepts the enabled_capabilities array, or an object holding it, or "".
// Unknown capability types and SBOM formats are INVALID_ARGUMENT.
Status ParseCapabilities(std::string_view capabilities_json, EnabledCapabilities* out);

// The registry credential berthd hands a scanner.
struct RegistryCredential {
  enum Kind { kNone, kBasic, kBearer } kind = kNone;
  std::string username;
  std::string password;
  std::string token;
};

// "Basic base64(user:password)", "Bearer token" or "" (anonymous).
Status ParseAuthorization(std::string_view header, RegistryCredential* out);

// "host:port" of an http(s) URL and whether it is plain http. The port is
// made explicit (80/443) as harbor-scanner-trivy does.
Status RegistryHostPort(std::string_view registry_url, std::string* host_port, bool* plain_http);

// A random RFC 4122 version 4 UUID.
std::string NewScanId();

// Now as RFC 3339 UTC with nanoseconds, as Go's time.Time marshals.
std::string Rfc3339Now();

// Harbor's Artifact object of a report: repository, digest, tag, mime_type.
json ArtifactJson(const sdk::ScanRequest& req);

// Base64 (RFC 4648) decoding; false on malformed input.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace berth::scanner

#endif  // BERTH_PLUGINS_SCANNER_COMMON_SCAN_COMMON_H_
