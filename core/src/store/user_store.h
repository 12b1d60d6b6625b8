// UserStore: users, user groups and who belongs to which group.
#ifndef BERTH_STORE_USER_STORE_H_
#define BERTH_STORE_USER_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct UserRecord {
  int64_t user_id = 0;
  std::string username;
  std::string email;
  std::string realname;
  std::string comment;
  std::string password_hash;    // credential from the auth backend; "" for external users
  bool sysadmin = false;        // granted through the API (sysadmin_flag)
  bool admin_in_auth = false;   // granted by the identity provider's admin group
  std::string auth_source = "db";  // db | ldap | oidc
  std::string subject;          // LDAP DN or OIDC "iss|sub"; "" for local users
  std::string cli_secret_hash;  // OIDC users' CLI secret, hashed
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

// Harbor's group types.
inline constexpr int kGroupTypeLdap = 1;
inline constexpr int kGroupTypeHttp = 2;
inline constexpr int kGroupTypeOidc = 3;

struct UserGroupRecord {
  int64_t id = 0;
  std::string group_name;
  int group_type = 0;
  std::string ldap_group_dn;
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

class UserStore {
 public:
  explicit UserStore(SqlDatabase& db) : db_(db) {}

  // kConflict when the username is taken.
  StatusOr<UserRecord> Create(UserRecord u);
  StatusOr<std::optional<UserRecord>> GetById(int64_t id);
  StatusOr<std::optional<UserRecord>> GetByName(std::string_view username);
  StatusOr<std::optional<UserRecord>> GetBySubject(std::string_view subject);
  // Keys: username, email, realname, user_id, sysadmin_flag, creation_time.
  StatusOr<Page<UserRecord>> List(const ListQuery& q);
  // Updates email, realname and comment.
  Status UpdateProfile(const UserRecord& u);
  Status SetPassword(int64_t id, std::string_view hash);
  Status SetSysadmin(int64_t id, bool sysadmin);
  Status SetAdminInAuth(int64_t id, bool admin);
  Status SetCliSecret(int64_t id, std::string_view hash);
  Status Delete(int64_t id);
  StatusOr<int64_t> Count();

  // Groups.
  StatusOr<UserGroupRecord> CreateGroup(UserGroupRecord g);
  // The group with this type and name/DN, created when missing.
  StatusOr<UserGroupRecord> EnsureGroup(std::string_view name, int type, std::string_view dn);
  StatusOr<std::optional<UserGroupRecord>> GetGroup(int64_t id);
  // Keys: group_name, group_type, ldap_group_dn.
  StatusOr<Page<UserGroupRecord>> ListGroups(const ListQuery& q);
  Status RenameGroup(int64_t id, std::string_view name);
  Status DeleteGroup(int64_t id);
  // Replaces the user's group memberships (refreshed at each external sign-in).
  Status SetUserGroups(int64_t user_id, const std::vector<int64_t>& group_ids);
  StatusOr<std::vector<int64_t>> GroupIdsOf(int64_t user_id);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_USER_STORE_H_
