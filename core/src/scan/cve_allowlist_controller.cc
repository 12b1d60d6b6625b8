#include "scan/cve_allowlist_controller.h"

#include <set>

#include "auth/denial.h"
#include "common/strings.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

}  // namespace

Status ValidateCveAllowlist(CveAllowlistSpec& spec) {
  std::set<std::string> seen;
  for (auto& id : spec.items) {
    id = std::string(Trim(id));
    if (id.empty()) return Bad("empty or whitespace-only CVE ID in allowlist");
    if (!seen.insert(id).second) return Bad("duplicate CVE ID in allowlist: " + id);
  }
  if (spec.expires_at && *spec.expires_at < 0) {
    return Bad("expires_at must be a unix time in seconds (or null: never expires)");
  }
  return {};
}

StatusOr<CveAllowlistRecord> CveAllowlistController::Load(int64_t project_id) {
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.Get(project_id));
  if (rec) return *rec;
  CveAllowlistRecord empty;  // Harbor's Get: an empty list when none was set
  empty.project_id = project_id;
  return empty;
}

StatusOr<CveAllowlistRecord> CveAllowlistController::System(const Identity& who) {
  if (!who.authenticated()) return Deny(who, "");
  return Load(0);
}

Status CveAllowlistController::CheckSetSystem(const Identity& who) const {
  if (who.sysadmin || evaluator_.CanSystem(who, "configuration", "update")) return {};
  return Deny(who, "only system administrators may change the system CVE allowlist");
}

StatusOr<CveAllowlistRecord> CveAllowlistController::SetSystem(const Identity& who,
                                                               CveAllowlistSpec spec) {
  BERTH_RETURN_IF_ERROR(CheckSetSystem(who));
  BERTH_RETURN_IF_ERROR(ValidateCveAllowlist(spec));
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.Set(0, spec.expires_at, spec.items));
  if (on_change_) on_change_();
  return rec;
}

StatusOr<CveAllowlistRecord> CveAllowlistController::OfProject(int64_t project_id) {
  return Load(project_id);
}

StatusOr<CveAllowlistRecord> CveAllowlistController::SetForProject(int64_t project_id,
                                                                   const CveAllowlistSpec& spec) {
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.Set(project_id, spec.expires_at, spec.items));
  if (on_change_) on_change_();
  return rec;
}

StatusOr<CveAllowlistRecord> CveAllowlistController::EffectiveFor(const ProjectRecord& p) {
  auto it = p.metadata.find("reuse_sys_cve_allowlist");
  if (it != p.metadata.end() && it->second == "true") {
    BERTH_ASSIGN_OR_RETURN(auto sys, Load(0));
    sys.project_id = p.project_id;  // as Harbor reports it
    return sys;
  }
  return Load(p.project_id);
}

}  // namespace berth
