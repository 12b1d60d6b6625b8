// /api/v2.0 users, usergroups, ldap and oidc endpoints.
#ifndef BERTH_API_USER_API_H_
#define BERTH_API_USER_API_H_

#include "api/api_router.h"
#include "iam/project_controller.h"
#include "iam/user_controller.h"

namespace berth {

void RegisterUserApi(ApiRouter& router, UserController& users, ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_USER_API_H_
