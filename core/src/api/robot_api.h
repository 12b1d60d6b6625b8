// /api/v2.0/robots.
#ifndef BERTH_API_ROBOT_API_H_
#define BERTH_API_ROBOT_API_H_

#include "api/api_router.h"
#include "iam/robot_controller.h"

namespace berth {

void RegisterRobotApi(ApiRouter& router, RobotController& robots);

}  // namespace berth

#endif  // BERTH_API_ROBOT_API_H_
