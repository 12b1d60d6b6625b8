// /api/v2.0/projects: projects, metadata, members (Harbor's shapes).
#ifndef BERTH_API_PROJECT_API_H_
#define BERTH_API_PROJECT_API_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "api/api_router.h"
#include "iam/project_controller.h"

namespace berth {

void RegisterProjectApi(ApiRouter& router, ProjectController& projects);
// Harbor's Project, as `roles` (the caller's roles in it) see it.
nlohmann::json ProjectJson(const ProjectRecord& p, const std::vector<int>& roles);

}  // namespace berth

#endif  // BERTH_API_PROJECT_API_H_
