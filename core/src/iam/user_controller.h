// UserController: users and user groups, with Harbor's rules: administrators
// manage users; users see and edit themselves; passwords go through the
// auth backend's KDF; OIDC users get a CLI secret for registry clients.
#ifndef BERTH_IAM_USER_CONTROLLER_H_
#define BERTH_IAM_USER_CONTROLLER_H_

#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "auth/authenticator.h"
#include "config/runtime_settings.h"
#include "store/project_store.h"
#include "store/user_store.h"

namespace berth {

class UserController {
 public:
  UserController(UserStore& users, ProjectStore& projects, Authenticator& auth,
                 AccessEvaluator& evaluator, AuditLog& audit, const SettingsSource& settings)
      : users_(users), projects_(projects), auth_(auth), evaluator_(evaluator), audit_(audit),
        settings_(settings) {}

  // Administrators always; anyone when self-registration is on (db mode).
  StatusOr<UserRecord> Create(const Identity& who, UserRecord u, const std::string& password);
  StatusOr<Page<UserRecord>> List(const Identity& who, const ListQuery& q);
  // Usernames matching a prefix, for any signed-in user (member pickers).
  StatusOr<Page<UserRecord>> Search(const Identity& who, const std::string& username,
                                    const ListQuery& q);
  StatusOr<UserRecord> Get(const Identity& who, int64_t user_id);
  StatusOr<UserRecord> Current(const Identity& who);
  Status UpdateProfile(const Identity& who, int64_t user_id, const std::optional<std::string>& email,
                       const std::optional<std::string>& realname,
                       const std::optional<std::string>& comment);
  Status Delete(const Identity& who, int64_t user_id);
  Status SetSysadmin(const Identity& who, int64_t user_id, bool sysadmin);
  // Users change their own password with the old one; administrators
  // change other users' without.
  Status ChangePassword(const Identity& who, int64_t user_id, const std::string& old_password,
                        const std::string& new_password);
  // Sets (or generates, when empty) the CLI secret of an OIDC user; returns it.
  StatusOr<std::string> SetCliSecret(const Identity& who, int64_t user_id, std::string secret);

  // Groups: administrators only.
  StatusOr<UserGroupRecord> CreateGroup(const Identity& who, UserGroupRecord g);
  StatusOr<Page<UserGroupRecord>> ListGroups(const Identity& who, const ListQuery& q);
  StatusOr<Page<UserGroupRecord>> SearchGroups(const Identity& who, const std::string& name,
                                               const ListQuery& q);
  StatusOr<UserGroupRecord> GetGroup(const Identity& who, int64_t id);
  Status RenameGroup(const Identity& who, int64_t id, const std::string& name);
  Status DeleteGroup(const Identity& who, int64_t id);

  // LDAP: search the directory and import users (administrators only).
  StatusOr<std::vector<ExternalUser>> SearchLdapUsers(const Identity& who, const std::string& q);
  StatusOr<std::vector<ExternalGroup>> SearchLdapGroups(const Identity& who, const std::string& q);
  // Onboards each uid found; returns the uids that failed, with the reason.
  StatusOr<std::vector<std::pair<std::string, std::string>>> ImportLdapUsers(
      const Identity& who, const std::vector<std::string>& uids);
  Status PingBackend(const Identity& who, const std::string& mode, const std::string& settings);

 private:
  Status RequireAdmin(const Identity& who, const char* what) const;
  Status RequireSelfOrAdmin(const Identity& who, int64_t user_id) const;
  std::shared_ptr<AuthBackend> Backend(const std::string& mode);

  UserStore& users_;
  ProjectStore& projects_;
  Authenticator& auth_;
  AccessEvaluator& evaluator_;
  AuditLog& audit_;
  const SettingsSource& settings_;
};

// Harbor's password rule: 8-128 characters with an uppercase letter, a
// lowercase letter and a digit.
Status ValidatePassword(const std::string& password);

}  // namespace berth

#endif  // BERTH_IAM_USER_CONTROLLER_H_
