// Identity: who is calling, as established by the authenticator.
#ifndef BERTH_COMMON_IDENTITY_H_
#define BERTH_COMMON_IDENTITY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace berth {

// A robot's grant, in Harbor's format: kind "project" (namespace = project
// name or "*") or "system" (namespace "/").
struct RobotPermission {
  std::string kind;
  std::string ns;
  std::vector<std::pair<std::string, std::string>> access;  // resource, action
};

// One "access" entry of a registry token.
struct TokenAccess {
  std::string type;  // "repository" | "registry"
  std::string name;
  std::vector<std::string> actions;
};

struct Identity {
  enum class Kind { kAnonymous, kUser, kRobot, kToken };
  Kind kind = Kind::kAnonymous;
  std::string username;  // user or robot name; "" when anonymous
  std::string method = "anonymous";  // basic, bearer, session, id_token, cli_secret
  // Users.
  int64_t user_id = 0;
  bool sysadmin = false;
  std::vector<int64_t> group_ids;
  // Robots.
  int64_t robot_id = 0;
  int64_t robot_project_id = 0;  // project robots
  int64_t robot_updated_ms = 0;  // when its permissions were last set (unix millis)
  std::vector<RobotPermission> robot_permissions;
  // Registry bearer tokens (/v2 only).
  std::vector<TokenAccess> token_access;
  int64_t token_issued_at = 0;  // unix seconds

  bool authenticated() const { return kind != Kind::kAnonymous; }
};

}  // namespace berth

#endif  // BERTH_COMMON_IDENTITY_H_
