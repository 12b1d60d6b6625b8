// /api/v2.0/system/CVEAllowlist, and Harbor's CVEAllowlist JSON that the
// project API reads and writes as the project's cve_allowlist.
#ifndef BERTH_API_CVE_ALLOWLIST_API_H_
#define BERTH_API_CVE_ALLOWLIST_API_H_

#include <nlohmann/json.hpp>

#include "api/api_router.h"
#include "scan/cve_allowlist_controller.h"

namespace berth {

// Harbor's CVEAllowlist: items [{cve_id}], expires_at (integer or null). id,
// project_id, creation_time and update_time are the server's and ignored
// (the project API checks project_id itself). 400 for anything malformed;
// the result is validated (ValidateCveAllowlist).
StatusOr<CveAllowlistSpec> CveAllowlistFromJson(const nlohmann::json& j);
// Harbor's CVEAllowlist as its API renders it (expires_at left out when the
// list never expires).
nlohmann::json CveAllowlistJson(const CveAllowlistRecord& r);

void RegisterCveAllowlistApi(ApiRouter& router, CveAllowlistController& allowlists);

}  // namespace berth

#endif  // BERTH_API_CVE_ALLOWLIST_API_H_
