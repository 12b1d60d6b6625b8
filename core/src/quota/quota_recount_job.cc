#include "quota/quota_recount_job.h"

namespace berth {

StatusOr<std::string> ValidateQuotaRecountParams(const nlohmann::json& p) {
  nlohmann::json out = nlohmann::json::object();
  if (auto it = p.find("project_id"); it != p.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
      return Status::InvalidArgument("invalid parameter project_id: must be a positive integer",
                                     "BAD_REQUEST");
    }
    out["project_id"] = it->get<int64_t>();
  }
  return out.dump();
}

Status RunQuotaRecount(QuotaController& quotas, JobContext& ctx) {
  auto p = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (p.is_discarded()) p = nlohmann::json::object();
  BERTH_ASSIGN_OR_RETURN(std::string norm, ValidateQuotaRecountParams(p));
  auto params = nlohmann::json::parse(norm);
  std::vector<QuotaRecount> results;
  if (params.contains("project_id")) {
    BERTH_ASSIGN_OR_RETURN(QuotaRecount r, quotas.Recount(params["project_id"].get<int64_t>()));
    results.push_back(r);
  } else {
    BERTH_ASSIGN_OR_RETURN(results, quotas.RecountAll());
  }
  int drifted = 0;
  for (const auto& r : results) {
    bool drift = r.previous_used != r.used;
    drifted += drift ? 1 : 0;
    ctx.Info("project " + std::to_string(r.project_id) + ": " + std::to_string(r.blob_count) +
             " blobs, " + std::to_string(r.used) + " bytes" +
             (drift ? " (was " + std::to_string(r.previous_used) + ": repaired)" : " (exact)"));
  }
  ctx.Info(std::to_string(results.size()) + " projects recounted, " + std::to_string(drifted) +
           " repaired");
  return {};
}

}  // namespace berth
