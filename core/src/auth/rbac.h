// Harbor's RBAC model: project roles, the project permission matrix, the
// policies public projects grant to everyone, and the system resources.
#ifndef BERTH_AUTH_RBAC_H_
#define BERTH_AUTH_RBAC_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::rbac {

enum Role : int {
  kProjectAdmin = 1,
  kDeveloper = 2,
  kGuest = 3,
  kMaintainer = 4,
  kLimitedGuest = 5,
};

bool IsValidRole(int role);
// "projectAdmin", "developer", "guest", "maintainer", "limitedGuest".
const char* RoleName(int role);

// Whether `role` may perform `action` on project resource `resource`
// ("" is the project itself).
bool RoleAllows(int role, std::string_view resource, std::string_view action);
// What everyone, anonymous included, may do in a public project.
bool PublicAllows(std::string_view resource, std::string_view action);

using Grant = std::pair<std::string, std::string>;  // resource, action
// Everything a project role may do (for /users/current/permissions).
std::vector<Grant> RoleGrants(int role);
// What robots may be granted, per Harbor's /permissions.
std::vector<Grant> ProjectPermissionCatalog();
std::vector<Grant> SystemPermissionCatalog();
bool IsProjectResource(std::string_view resource);
bool IsSystemResource(std::string_view resource);

}  // namespace berth::rbac

#endif  // BERTH_AUTH_RBAC_H_
