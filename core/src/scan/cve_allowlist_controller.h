// CveAllowlistController: Harbor's CVE allowlists (docs/vulnerability-gate.md).
// The system list (/system/CVEAllowlist) and each project's own (the
// project's cve_allowlist); a project whose metadata reuse_sys_cve_allowlist
// is "true" is judged by the system list instead of its own. An expired
// list (now >= expires_at) exempts nothing.
#ifndef BERTH_SCAN_CVE_ALLOWLIST_CONTROLLER_H_
#define BERTH_SCAN_CVE_ALLOWLIST_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/access_evaluator.h"
#include "common/identity.h"
#include "store/cve_allowlist_store.h"
#include "store/project_store.h"

namespace berth {

// A list as a client sends it (Harbor's CVEAllowlist without its bookkeeping).
struct CveAllowlistSpec {
  std::optional<int64_t> expires_at;  // unix seconds; none: never
  std::vector<std::string> items;
};

// Trims each id; 400 BAD_REQUEST for an empty id, a duplicate (Harbor's
// "duplicate CVE ID in allowlist: <id>") or a negative expires_at.
Status ValidateCveAllowlist(CveAllowlistSpec& spec);

class CveAllowlistController {
 public:
  CveAllowlistController(CveAllowlistStore& store, AccessEvaluator& evaluator)
      : store_(store), evaluator_(evaluator) {}

  // Any signed-in caller may read the system list (Harbor).
  StatusOr<CveAllowlistRecord> System(const Identity& who);
  // System administrators, and robots granted configuration update (Harbor's
  // RequireSystemAccess(update, configuration)).
  Status CheckSetSystem(const Identity& who) const;
  StatusOr<CveAllowlistRecord> SetSystem(const Identity& who, CveAllowlistSpec spec);

  // The project's own list; the caller has checked access to the project.
  StatusOr<CveAllowlistRecord> OfProject(int64_t project_id);
  // Replaces it; the caller has validated `spec` and checked project update.
  StatusOr<CveAllowlistRecord> SetForProject(int64_t project_id, const CveAllowlistSpec& spec);
  // The list the pull gate applies to the project (Harbor's effective list).
  StatusOr<CveAllowlistRecord> EffectiveFor(const ProjectRecord& p);

  // Called after any list changed here (the gate's policy cache).
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

 private:
  StatusOr<CveAllowlistRecord> Load(int64_t project_id);

  CveAllowlistStore& store_;
  AccessEvaluator& evaluator_;
  std::function<void()> on_change_;
};

}  // namespace berth

#endif  // BERTH_SCAN_CVE_ALLOWLIST_CONTROLLER_H_
