// /api/v2.0/projects/{project_name_or_id}/immutabletagrules: Harbor's
// immutable tag rules (list, create, update or toggle, delete).
#ifndef BERTH_API_IMMUTABLE_API_H_
#define BERTH_API_IMMUTABLE_API_H_

#include <nlohmann/json.hpp>

#include "api/api_router.h"
#include "policy/immutable_controller.h"

namespace berth {

void RegisterImmutableApi(ApiRouter& router, ImmutableController& rules,
                          ProjectController& projects);

// Harbor's ImmutableRule: id, priority, disabled, action, template,
// tag_selectors, scope_selectors {"repository": [...]}.
nlohmann::json ImmutableRuleJson(const ImmutableRuleRecord& rule);

}  // namespace berth

#endif  // BERTH_API_IMMUTABLE_API_H_
