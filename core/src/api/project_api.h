// /api/v2.0/projects: projects, metadata, members (Harbor's shapes).
#ifndef BERTH_API_PROJECT_API_H_
#define BERTH_API_PROJECT_API_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "api/api_router.h"
#include "iam/project_controller.h"
#include "scan/cve_allowlist_controller.h"

namespace berth {

// With `allowlists`, projects carry their own CVE allowlist (cve_allowlist)
// on create, update and read; without, an empty one.
void RegisterProjectApi(ApiRouter& router, ProjectController& projects,
                        CveAllowlistController* allowlists = nullptr);
// Harbor's Project, as `roles` (the caller's roles in it) see it.
// `allowlist`: the project's own CVE allowlist (an empty one when null).
nlohmann::json ProjectJson(const ProjectRecord& p, const std::vector<int>& roles,
                           const CveAllowlistRecord* allowlist = nullptr);

}  // namespace berth

#endif  // BERTH_API_PROJECT_API_H_
