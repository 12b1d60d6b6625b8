#include "audit/audit_purge.h"

#include "common/clock.h"
#include "common/strings.h"

namespace berth {

namespace {

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument("invalid parameter " + field + ": " + why, "BAD_REQUEST");
}

}  // namespace

StatusOr<std::string> ValidatePurgeAuditParams(const nlohmann::json& p) {
  nlohmann::json out = {{"audit_retention_hour", 24 * 30}, {"include_operations", "create,delete,pull"},
                        {"dry_run", false}};
  if (auto it = p.find("audit_retention_hour"); it != p.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Bad("audit_retention_hour", "must be a non-negative integer");
    }
    out["audit_retention_hour"] = it->get<int64_t>();
  }
  if (auto it = p.find("include_operations"); it != p.end() && !it->is_null()) {
    if (!it->is_string()) return Bad("include_operations", "must be a comma-separated string");
    for (const auto& op : Split(it->get<std::string>(), ',')) {
      std::string o(Trim(op));
      if (o.empty()) continue;
      for (char c : o) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
          return Bad("include_operations", "'" + o + "' is not an operation name");
        }
      }
    }
    out["include_operations"] = it->get<std::string>();
  }
  if (auto it = p.find("dry_run"); it != p.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("dry_run", "must be a boolean");
    out["dry_run"] = it->get<bool>();
  }
  return out.dump();
}

Status RunAuditPurge(AuditStore& store, JobContext& ctx) {
  auto p = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (p.is_discarded()) p = nlohmann::json::object();
  BERTH_ASSIGN_OR_RETURN(std::string norm, ValidatePurgeAuditParams(p));
  auto params = nlohmann::json::parse(norm);
  int64_t hours = params["audit_retention_hour"].get<int64_t>();
  bool dry = params["dry_run"].get<bool>();
  std::vector<std::string> ops;
  for (const auto& op : Split(params["include_operations"].get<std::string>(), ',')) {
    std::string o(Trim(op));
    if (!o.empty()) ops.push_back(o);
  }
  int64_t before = NowUnixMillis() - hours * 3600 * 1000;
  ctx.Info("purging audit log entries older than " + FormatRfc3339(before / 1000) +
           " with operations " + params["include_operations"].get<std::string>() +
           (dry ? " (dry run)" : ""));
  BERTH_ASSIGN_OR_RETURN(int64_t n, store.Purge(before, ops, dry));
  ctx.Info(std::to_string(n) + (dry ? " entries would be purged" : " entries purged"));
  return {};
}

}  // namespace berth
