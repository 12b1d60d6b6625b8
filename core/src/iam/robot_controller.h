// RobotController: robot accounts. System robots (administrators) may hold
// system and project permissions; project robots hold permissions in their
// own project only, and are managed by whoever may manage that project's
// robots. The secret is shown once, at creation or refresh, and stored hashed.
#ifndef BERTH_IAM_ROBOT_CONTROLLER_H_
#define BERTH_IAM_ROBOT_CONTROLLER_H_

#include <limits>
#include <string>

#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "config/runtime_settings.h"
#include "store/project_store.h"
#include "store/robot_store.h"

namespace berth {

struct RobotSpec {
  std::string name;  // short name, without prefix or project
  std::string description;
  std::string level;  // "system" | "project"
  bool disabled = false;
  // Days; -1 never expires; kDefaultDuration: the system's robot_token_duration.
  int64_t duration = -1;
  static constexpr int64_t kDefaultDuration = std::numeric_limits<int64_t>::min();
  std::string permissions_json;  // Harbor's RobotPermission list
  std::string secret;  // "" generates one
};

struct CreatedRobot {
  RobotRecord robot;
  std::string secret;
};

class RobotController {
 public:
  RobotController(RobotStore& robots, ProjectStore& projects, AccessEvaluator& evaluator,
                  AuditLog& audit, const SettingsSource& settings)
      : robots_(robots), projects_(projects), evaluator_(evaluator), audit_(audit),
        settings_(settings) {}

  StatusOr<CreatedRobot> Create(const Identity& who, const RobotSpec& spec);
  // Administrators list everything; others must filter by a project whose
  // robots they may list.
  StatusOr<Page<RobotRecord>> List(const Identity& who, const ListQuery& q);
  StatusOr<RobotRecord> Get(const Identity& who, int64_t id);
  Status Update(const Identity& who, int64_t id, const RobotSpec& spec);
  Status Delete(const Identity& who, int64_t id);
  // Returns the new secret.
  StatusOr<std::string> RefreshSecret(const Identity& who, int64_t id, std::string secret);

 private:
  // Checks `action` on the robot resource that governs `r` (system or project).
  Status CheckRobotAccess(const Identity& who, const std::string& level, int64_t project_id,
                          const std::string& action);
  // Validates the permission list for a robot of `level`; for project robots
  // returns the project.
  StatusOr<int64_t> ValidatePermissions(const std::string& level, const std::string& json,
                                        std::string* project_name);

  RobotStore& robots_;
  ProjectStore& projects_;
  AccessEvaluator& evaluator_;
  AuditLog& audit_;
  const SettingsSource& settings_;
};

}  // namespace berth

#endif  // BERTH_IAM_ROBOT_CONTROLLER_H_
