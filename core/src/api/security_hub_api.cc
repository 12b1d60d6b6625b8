#include "api/security_hub_api.h"

#include <algorithm>

#include "api/api_util.h"
#include "auth/denial.h"

namespace berth {

namespace {

double Score(int64_t x10) { return x10 < 0 ? 0.0 : static_cast<double>(x10) / 10.0; }

}  // namespace

void RegisterSecurityHubApi(ApiRouter& r, ScanReportStore& reports, AccessEvaluator& evaluator) {
  auto require = [&evaluator](const Identity& who, const char* action) -> Status {
    if (who.authenticated() && evaluator.CanSystem(who, "security-hub", action)) return {};
    return Deny(who, "the security hub is for system administrators");
  };
  r.Add("GET", "/api/v2.0/security/summary", "security_summary",
        [&reports, require](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(bool cves, QueryBool(call.ctx, "with_dangerous_cve", false));
          BERTH_ASSIGN_OR_RETURN(bool arts, QueryBool(call.ctx, "with_dangerous_artifact", false));
          BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "read"));
          BERTH_ASSIGN_OR_RETURN(auto s, reports.SecuritySummary(cves, arts));
          auto count = [&s](Severity v) {
            auto it = s.by_severity.find(v);
            return it == s.by_severity.end() ? int64_t{0} : it->second;
          };
          nlohmann::json out = {{"critical_cnt", count(Severity::kCritical)},
                                {"high_cnt", count(Severity::kHigh)},
                                {"medium_cnt", count(Severity::kMedium)},
                                {"low_cnt", count(Severity::kLow)},
                                {"none_cnt", count(Severity::kNone)},
                                {"unknown_cnt", count(Severity::kUnknown)},
                                {"total_vuls", s.total},
                                {"fixable_cnt", s.fixable},
                                {"scanned_cnt", s.scanned_artifacts},
                                {"total_artifact", s.total_artifacts}};
          if (cves) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& f : s.dangerous_cves) {
              list.push_back({{"cve_id", f.f.finding.cve_id},
                              {"severity", std::string(SeverityName(f.f.finding.severity))},
                              {"cvss_score_v3", Score(f.f.cvss_v3_x10)},
                              {"desc", f.f.description},
                              {"package", f.f.finding.package},
                              {"version", f.f.finding.version}});
            }
            out["dangerous_cves"] = std::move(list);
          }
          if (arts) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& a : s.dangerous_artifacts) {
              list.push_back({{"project_id", a.project_id},
                              {"repository_name", a.repository},
                              {"digest", a.digest},
                              {"critical_cnt", a.critical},
                              {"high_cnt", a.high},
                              {"medium_cnt", a.medium}});
            }
            out["dangerous_artifacts"] = std::move(list);
          }
          return SendJsonValue(call.ctx, 200, out);
        });
  r.Add("GET", "/api/v2.0/security/vul", "security_vul", [&reports, require](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(bool tune_count, QueryBool(call.ctx, "tune_count", false));
    BERTH_ASSIGN_OR_RETURN(bool with_tag, QueryBool(call.ctx, "with_tag", false));
    BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "list"));
    BERTH_ASSIGN_OR_RETURN(auto page, reports.ListFindings(q, tune_count));
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> tags;
    if (with_tag) {
      std::vector<std::pair<std::string, std::string>> artifacts;
      for (const auto& row : page.items) artifacts.emplace_back(row.repository, row.digest);
      std::sort(artifacts.begin(), artifacts.end());
      artifacts.erase(std::unique(artifacts.begin(), artifacts.end()), artifacts.end());
      BERTH_ASSIGN_OR_RETURN(tags, reports.TagsOf(artifacts));
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : page.items) {
      nlohmann::json links = nlohmann::json::parse(row.f.links_json, nullptr, false);
      if (!links.is_array()) links = nlohmann::json::array();
      out.push_back({{"project_id", row.project_id},
                     {"repository_name", row.repository},
                     {"digest", row.digest},
                     {"cve_id", row.f.finding.cve_id},
                     {"severity", std::string(SeverityName(row.f.finding.severity))},
                     {"cvss_v3_score", Score(row.f.cvss_v3_x10)},
                     {"package", row.f.finding.package},
                     {"version", row.f.finding.version},
                     {"fixed_version", row.f.finding.fixed_version},
                     {"desc", row.f.description},
                     {"links", links}});
      if (with_tag) {
        auto it = tags.find({row.repository, row.digest});
        out.back()["tags"] = it == tags.end() ? nlohmann::json::array() : nlohmann::json(it->second);
      }
    }
    if (page.total < 0) {
      // tune_count past 1000: Harbor's -1, and a next page while pages are full.
      SetPagination(call.ctx, q,
                    static_cast<int64_t>(out.size()) < q.page_size ? 0 : (q.page + 1) * q.page_size);
      call.ctx.response.set("X-Total-Count", "-1");
    } else {
      SetPagination(call.ctx, q, page.total);
    }
    return SendJsonValue(call.ctx, 200, out);
  });
}

}  // namespace berth
