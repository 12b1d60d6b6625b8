// /api/v2.0/labels: Harbor's global and project labels (list, create, get,
// update, delete).
#ifndef BERTH_API_LABEL_API_H_
#define BERTH_API_LABEL_API_H_

#include <nlohmann/json.hpp>

#include "api/api_router.h"
#include "label/label_controller.h"

namespace berth {

void RegisterLabelApi(ApiRouter& router, LabelController& labels);

// Harbor's Label: id, name, description, color, scope, project_id (0 for
// global labels), creation_time, update_time. Artifacts embed it too.
nlohmann::json LabelJson(const LabelRecord& label);

}  // namespace berth

#endif  // BERTH_API_LABEL_API_H_
