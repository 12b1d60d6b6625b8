#include "trivy_report.h"

#include <map>

namespace berth::trivy {

namespace {

// Harbor's order (pkg/scan/vuln): Unknown < Low < Medium < High < Critical.
int Rank(const std::string& harbor_severity) {
  static const std::map<std::string, int> kRank = {
      {"Unknown", 1}, {"Low", 2}, {"Medium", 3}, {"High", 4}, {"Critical", 5}};
  auto it = kRank.find(harbor_severity);
  return it == kRank.end() ? 1 : it->second;
}

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Harbor's CVSSDetails from one vendor's Trivy CVSS entry.
json Cvss(const json& v) {
  json c = json::object();
  if (v.contains("V3Score") && v["V3Score"].is_number()) c["score_v3"] = v["V3Score"];
  if (v.contains("V2Score") && v["V2Score"].is_number()) c["score_v2"] = v["V2Score"];
  if (v.contains("V3Vector") && v["V3Vector"].is_string()) c["vector_v3"] = v["V3Vector"];
  if (v.contains("V2Vector") && v["V2Vector"].is_string()) c["vector_v2"] = v["V2Vector"];
  return c;
}

// NVD first, as Harbor's security hub reads scores; else the first vendor
// (in name order) that has a V3 score; else NVD's or any V2-only entry.
json PreferredCvss(const json& cvss) {
  if (!cvss.is_object() || cvss.empty()) return nullptr;
  if (cvss.contains("nvd") && cvss["nvd"].is_object()) return Cvss(cvss["nvd"]);
  for (const auto& [vendor, v] : cvss.items()) {
    if (v.is_object() && v.contains("V3Score")) return Cvss(v);
  }
  for (const auto& [vendor, v] : cvss.items()) {
    if (v.is_object()) return Cvss(v);
  }
  return nullptr;
}

json Links(const json& v) {
  std::string primary = Str(v, "PrimaryURL");
  if (!primary.empty()) return json::array({primary});
  json links = json::array();
  if (v.contains("References") && v["References"].is_array()) {
    for (const auto& r : v["References"]) {
      if (r.is_string()) links.push_back(r);
    }
  }
  return links;
}

}  // namespace

std::string HarborSeverity(const std::string& s) {
  if (s == "CRITICAL") return "Critical";
  if (s == "HIGH") return "High";
  if (s == "MEDIUM") return "Medium";
  if (s == "LOW") return "Low";
  return "Unknown";
}

Status HarborReportFromTrivy(const json& trivy, const json& artifact, const json& scanner,
                             const std::string& generated_at, json* out) {
  if (!trivy.is_object()) return Status::InvalidArgument("the Trivy report is not a JSON object");
  if (!trivy.contains("SchemaVersion") || !trivy["SchemaVersion"].is_number_integer() ||
      trivy["SchemaVersion"].get<int64_t>() != 2) {
    return Status::InvalidArgument("unsupported Trivy report schema " +
                                   (trivy.contains("SchemaVersion") ? trivy["SchemaVersion"].dump() : std::string("(none)")) +
                                   ", expected 2");
  }
  json items = json::array();
  int highest = 0;
  std::string highest_name;
  const json& results = trivy.contains("Results") && trivy["Results"].is_array() ? trivy["Results"] : json::array();
  for (const auto& result : results) {
    if (!result.is_object() || !result.contains("Vulnerabilities") || !result["Vulnerabilities"].is_array()) continue;
    for (const auto& v : result["Vulnerabilities"]) {
      if (!v.is_object()) continue;
      json item;
      item["id"] = Str(v, "VulnerabilityID");
      item["package"] = Str(v, "PkgName");
      item["version"] = Str(v, "InstalledVersion");
      if (std::string s = Str(v, "Status"); !s.empty()) item["status"] = s;
      if (v.contains("PkgIdentifier") && v["PkgIdentifier"].is_object()) {
        if (std::string p = Str(v["PkgIdentifier"], "PURL"); !p.empty()) item["purl"] = p;
      }
      if (std::string f = Str(v, "FixedVersion"); !f.empty()) item["fix_version"] = f;
      std::string sev = HarborSeverity(Str(v, "Severity"));
      item["severity"] = sev;
      std::string desc = Str(v, "Description");
      item["description"] = desc.empty() ? Str(v, "Title") : desc;
      item["links"] = Links(v);
      if (v.contains("Layer") && v["Layer"].is_object()) {
        json layer = json::object();
        if (std::string d = Str(v["Layer"], "Digest"); !d.empty()) layer["digest"] = d;
        if (std::string d = Str(v["Layer"], "DiffID"); !d.empty()) layer["diff_id"] = d;
        item["layer"] = layer;
      } else {
        item["layer"] = nullptr;
      }
      const json cvss = v.contains("CVSS") && v["CVSS"].is_object() ? v["CVSS"] : json::object();
      if (json p = PreferredCvss(cvss); !p.is_null()) item["preferred_cvss"] = p;
      if (v.contains("CweIDs") && v["CweIDs"].is_array() && !v["CweIDs"].empty()) {
        item["cwe_ids"] = v["CweIDs"];
      }
      if (!cvss.empty()) item["vendor_attributes"] = {{"CVSS", cvss}};
      if (Rank(sev) > highest) {
        highest = Rank(sev);
        highest_name = sev;
      }
      items.push_back(std::move(item));
    }
  }
  json report = {{"generated_at", generated_at}, {"artifact", artifact}, {"scanner", scanner}};
  if (!highest_name.empty()) report["severity"] = highest_name;
  report["vulnerabilities"] = std::move(items);
  *out = std::move(report);
  return {};
}

}  // namespace berth::trivy
