// Trivy's JSON report (SchemaVersion 2) mapped to Harbor's vulnerability
// report, the way harbor-scanner-trivy's transformer does it.
#ifndef BERTH_PLUGINS_SCANNER_TRIVY_TRIVY_REPORT_H_
#define BERTH_PLUGINS_SCANNER_TRIVY_TRIVY_REPORT_H_

#include <string>

#include "scan_common.h"

namespace berth::trivy {

using scanner::json;
using sdk::Status;

// Trivy's upper-case severity as Harbor's ("CRITICAL" -> "Critical"); any
// other value is "Unknown".
std::string HarborSeverity(const std::string& trivy_severity);

// Builds the report: generated_at, artifact, scanner, severity (the highest
// finding's; absent when there is none), vulnerabilities[]. Each Trivy
// vulnerability of every Results[] entry becomes one item:
//   id <- VulnerabilityID, package <- PkgName, version <- InstalledVersion,
//   fix_version <- FixedVersion (absent when empty), severity <- Severity,
//   description <- Description (Title when Description is empty),
//   links <- [PrimaryURL] or else References, layer <- Layer{digest,diff_id},
//   preferred_cvss <- CVSS["nvd"] (else the first vendor with a V3 score),
//   cwe_ids <- CweIDs, vendor_attributes <- {"CVSS": CVSS},
//   status <- Status, purl <- PkgIdentifier.PURL (both when present).
// Anything that is not a Trivy SchemaVersion 2 report is INVALID_ARGUMENT.
Status HarborReportFromTrivy(const json& trivy, const json& artifact, const json& scanner,
                             const std::string& generated_at, json* out);

}  // namespace berth::trivy

#endif  // BERTH_PLUGINS_SCANNER_TRIVY_TRIVY_REPORT_H_
