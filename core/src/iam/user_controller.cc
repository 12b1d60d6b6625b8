#include "iam/user_controller.h"

#include "auth/secret_hash.h"
#include "iam/project_controller.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }
Status NotFound(const std::string& m) { return Status::NotFound(m, "NOT_FOUND"); }

Status ValidateUsername(const std::string& name) {
  if (name.empty() || name.size() > 255) return Bad("username must be 1-255 characters");
  for (char c : name) {
    if (c == ',' || c == '~' || c == '#' || c == '$' || c == '%' || static_cast<unsigned char>(c) < 0x21) {
      return Bad("username must not contain spaces or any of , ~ # $ %");
    }
  }
  return {};
}

}  // namespace

Status ValidatePassword(const std::string& password) {
  if (!IsStrongSecret(password)) {
    return Bad("password must be 8-128 characters and contain an uppercase letter, a lowercase "
               "letter and a digit");
  }
  return {};
}

Status UserController::RequireAdmin(const Identity& who, const char* what) const {
  if (who.sysadmin || evaluator_.CanSystem(who, "user", "create")) return {};
  return Deny(who, std::string("only system administrators may ") + what);
}

Status UserController::RequireSelfOrAdmin(const Identity& who, int64_t user_id) const {
  if (who.sysadmin) return {};
  if (who.kind == Identity::Kind::kUser && who.user_id == user_id) return {};
  return Deny(who, "not allowed to access another user");
}

StatusOr<UserRecord> UserController::Create(const Identity& who, UserRecord u,
                                            const std::string& password) {
  auto settings = settings_.Get();
  bool self_registration =
      settings->self_registration && settings->auth_mode == "db" && !who.authenticated();
  if (!self_registration) BERTH_RETURN_IF_ERROR(RequireAdmin(who, "create users"));
  if (settings->auth_mode != "db") {
    return Forbidden("users come from the " + settings->auth_mode + " provider");
  }
  BERTH_RETURN_IF_ERROR(ValidateUsername(u.username));
  if (u.username.rfind(settings->robot_name_prefix, 0) == 0) {
    return Bad("usernames must not start with the robot prefix " + settings->robot_name_prefix);
  }
  BERTH_RETURN_IF_ERROR(ValidatePassword(password));
  if (u.email.size() > 255 || u.realname.size() > 255 || u.comment.size() > 30) {
    return Bad("email and realname are at most 255 characters, comment at most 30");
  }
  BERTH_ASSIGN_OR_RETURN(u.password_hash, auth_.db_backend().HashPassword(password));
  u.auth_source = "db";
  u.sysadmin = false;
  BERTH_ASSIGN_OR_RETURN(UserRecord created, users_.Create(u));
  audit_.Record({0, 0, who.authenticated() ? who.username : u.username, u.username, "user", "create", "success", 0, {}});
  return created;
}

StatusOr<Page<UserRecord>> UserController::List(const Identity& who, const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "list users"));
  return users_.List(q);
}

StatusOr<Page<UserRecord>> UserController::Search(const Identity& who, const std::string& username,
                                                  const ListQuery& q) {
  if (!who.authenticated()) return Deny(who, "");
  if (username.empty()) return Bad("username is required");
  ListQuery s = q;
  s.terms = {{"username", QueryTerm::Op::kFuzzy, {username}}};
  s.sort.clear();
  return users_.List(s);
}

StatusOr<UserRecord> UserController::Get(const Identity& who, int64_t user_id) {
  BERTH_RETURN_IF_ERROR(RequireSelfOrAdmin(who, user_id));
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return NotFound("user not found");
  return *u;
}

StatusOr<UserRecord> UserController::Current(const Identity& who) {
  if (!who.authenticated()) return Deny(who, "");
  if (who.kind != Identity::Kind::kUser) {
    // Harbor: 412 for callers signed in through a non-local context (robots).
    return Status(Code::kPreconditionFailed, "only users have a current user record", "PRECONDITION");
  }
  return Get(who, who.user_id);
}

Status UserController::UpdateProfile(const Identity& who, int64_t user_id,
                                     const std::optional<std::string>& email,
                                     const std::optional<std::string>& realname,
                                     const std::optional<std::string>& comment) {
  BERTH_RETURN_IF_ERROR(RequireSelfOrAdmin(who, user_id));
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return NotFound("user not found");
  if (email) u->email = *email;
  if (realname) u->realname = *realname;
  if (comment) u->comment = *comment;
  if (u->email.size() > 255 || u->realname.size() > 255 || u->comment.size() > 30) {
    return Bad("email and realname are at most 255 characters, comment at most 30");
  }
  return users_.UpdateProfile(*u);
}

Status UserController::Delete(const Identity& who, int64_t user_id) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "delete users"));
  if (who.kind == Identity::Kind::kUser && who.user_id == user_id) {
    return Forbidden("you cannot delete yourself");
  }
  // As in Harbor, user 1 (the initial administrator) cannot be deleted.
  if (user_id == 1) return Forbidden("the initial administrator cannot be deleted");
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return NotFound("user not found");
  BERTH_RETURN_IF_ERROR(users_.Delete(user_id));
  auth_.InvalidateCache();
  audit_.Record({0, 0, who.username, u->username, "user", "delete", "success", 0, {}});
  return {};
}

Status UserController::SetSysadmin(const Identity& who, int64_t user_id, bool sysadmin) {
  if (!who.sysadmin) return Deny(who, "only system administrators may grant administrator rights");
  if (who.kind == Identity::Kind::kUser && who.user_id == user_id && !sysadmin) {
    return Forbidden("you cannot revoke your own administrator rights");
  }
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return NotFound("user not found");
  BERTH_RETURN_IF_ERROR(users_.SetSysadmin(user_id, sysadmin));
  auth_.InvalidateCache();
  return {};
}

Status UserController::ChangePassword(const Identity& who, int64_t user_id,
                                      const std::string& old_password,
                                      const std::string& new_password) {
  BERTH_RETURN_IF_ERROR(RequireSelfOrAdmin(who, user_id));
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return NotFound("user not found");
  if (u->auth_source != "db") return Forbidden("the password of a " + u->auth_source + " user is managed by its provider");
  bool self = who.kind == Identity::Kind::kUser && who.user_id == user_id;
  if (self) {
    auto ok = auth_.db_backend().Authenticate(u->username, old_password, u->password_hash);
    if (!ok.ok()) return Forbidden("the old password is wrong");  // Harbor: 403
    if (old_password == new_password) return Bad("the new password must differ from the old one");
  }
  BERTH_RETURN_IF_ERROR(ValidatePassword(new_password));
  BERTH_ASSIGN_OR_RETURN(std::string hash, auth_.db_backend().HashPassword(new_password));
  BERTH_RETURN_IF_ERROR(users_.SetPassword(user_id, hash));
  auth_.InvalidateCache();
  audit_.Record({0, 0, who.username, u->username, "user", "update", "success", 0, {}});
  return {};
}

StatusOr<std::string> UserController::SetCliSecret(const Identity& who, int64_t user_id,
                                                   std::string secret) {
  BERTH_RETURN_IF_ERROR(RequireSelfOrAdmin(who, user_id));
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return NotFound("user not found");
  if (u->auth_source != "oidc") return Bad("CLI secrets are for OIDC users");
  if (secret.empty()) secret = GenerateSecret(32);
  if (!IsStrongSecret(secret)) {
    return Bad("the secret must be 8-128 characters with an uppercase letter, a lowercase letter and a digit");
  }
  BERTH_RETURN_IF_ERROR(users_.SetCliSecret(user_id, HashSecret(secret)));
  auth_.InvalidateCache();
  return secret;
}

StatusOr<UserGroupRecord> UserController::CreateGroup(const Identity& who, UserGroupRecord g) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "manage user groups"));
  if (g.group_name.empty() && g.ldap_group_dn.empty()) return Bad("group_name is required");
  if (g.group_type < 1 || g.group_type > 3) return Bad("group_type must be 1 (LDAP), 2 (HTTP) or 3 (OIDC)");
  if (g.group_type == kGroupTypeLdap && g.ldap_group_dn.empty()) return Bad("ldap_group_dn is required for LDAP groups");
  if (g.group_name.empty()) g.group_name = g.ldap_group_dn;
  return users_.CreateGroup(g);
}

StatusOr<Page<UserGroupRecord>> UserController::ListGroups(const Identity& who, const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "list user groups"));
  return users_.ListGroups(q);
}

StatusOr<Page<UserGroupRecord>> UserController::SearchGroups(const Identity& who,
                                                             const std::string& name,
                                                             const ListQuery& q) {
  if (!who.authenticated()) return Deny(who, "");
  if (name.empty()) return Bad("groupname is required");
  ListQuery s = q;
  s.terms = {{"group_name", QueryTerm::Op::kFuzzy, {name}}};
  s.sort.clear();
  return users_.ListGroups(s);
}

StatusOr<UserGroupRecord> UserController::GetGroup(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "read user groups"));
  BERTH_ASSIGN_OR_RETURN(auto g, users_.GetGroup(id));
  if (!g) return NotFound("user group not found");
  return *g;
}

Status UserController::RenameGroup(const Identity& who, int64_t id, const std::string& name) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "manage user groups"));
  if (name.empty()) return Bad("group_name is required");
  return users_.RenameGroup(id, name);
}

Status UserController::DeleteGroup(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "manage user groups"));
  return users_.DeleteGroup(id);
}

std::shared_ptr<AuthBackend> UserController::Backend(const std::string& mode) {
  return auth_.BackendFor(mode);
}

StatusOr<std::vector<ExternalUser>> UserController::SearchLdapUsers(const Identity& who,
                                                                    const std::string& q) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "search LDAP"));
  auto b = Backend("ldap");
  if (b == nullptr) return Bad("the auth mode is not ldap");
  return b->SearchUsers(q);
}

StatusOr<std::vector<ExternalGroup>> UserController::SearchLdapGroups(const Identity& who,
                                                                      const std::string& q) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "search LDAP"));
  auto b = Backend("ldap");
  if (b == nullptr) return Bad("the auth mode is not ldap");
  return b->SearchGroups(q);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> UserController::ImportLdapUsers(
    const Identity& who, const std::vector<std::string>& uids) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "import LDAP users"));
  auto b = Backend("ldap");
  if (b == nullptr) return Bad("the auth mode is not ldap");
  std::vector<std::pair<std::string, std::string>> failed;
  for (const auto& uid : uids) {
    auto found = b->SearchUsers(uid);
    const ExternalUser* match = nullptr;
    if (found.ok()) {
      for (const auto& u : *found) {
        if (u.username == uid) match = &u;
      }
    }
    if (match == nullptr) {
      failed.emplace_back(uid, found.ok() ? "not found in the directory" : found.status().message());
      continue;
    }
    auto onboarded = auth_.Onboard(*match, "ldap");
    if (!onboarded.ok()) failed.emplace_back(uid, onboarded.status().message());
  }
  return failed;
}

Status UserController::PingBackend(const Identity& who, const std::string& mode,
                                   const std::string& settings) {
  BERTH_RETURN_IF_ERROR(RequireAdmin(who, "test the identity provider"));
  auto b = Backend(mode);
  if (b == nullptr) return Bad("the auth mode is not " + mode);
  return b->Ping(settings);
}

}  // namespace berth
