#include "iam/bootstrap.h"

#include "auth/secret_hash.h"

namespace berth {

Status EnsureInitialAdmin(UserStore& users, AuthBackend& db_backend, const std::string& password,
                          Logger& log, std::FILE* announce) {
  BERTH_ASSIGN_OR_RETURN(int64_t n, users.Count());
  if (n > 0) return {};
  std::string pw = password.empty() ? GenerateSecret(24) : password;
  BERTH_ASSIGN_OR_RETURN(std::string hash, db_backend.HashPassword(pw));
  UserRecord admin;
  admin.username = "admin";
  admin.realname = "system admin";
  admin.comment = "initial administrator";
  admin.password_hash = hash;
  admin.sysadmin = true;
  auto created = users.Create(admin);
  if (!created.ok()) {
    // Another node may have created it at the same moment.
    if (created.status().code() == Code::kConflict) return {};
    return created.status();
  }
  log.Info("initial administrator created", {{"username", "admin"},
                                             {"password_source", password.empty() ? "generated" : "configured"}});
  if (password.empty() && announce != nullptr) {
    std::fprintf(announce,
                 "berthd: created the initial administrator 'admin' with the generated password: %s\n"
                 "berthd: it is shown only this once; change it with PUT /api/v2.0/users/1/password\n",
                 pw.c_str());
    std::fflush(announce);
  }
  return {};
}

Status EnsureDefaultProject(ProjectStore& projects, UserStore& users, Logger& log) {
  BERTH_ASSIGN_OR_RETURN(auto existing, projects.GetByName("library"));
  if (existing) return {};
  ListQuery q;
  q.page_size = 1;
  BERTH_ASSIGN_OR_RETURN(auto page, projects.List(q, ProjectVisibility{true, 0, {}}));
  if (page.total > 0) return {};
  BERTH_ASSIGN_OR_RETURN(auto admin, users.GetByName("admin"));
  auto p = projects.Create("library", admin ? admin->user_id : 0, {{"public", "true"}});
  if (!p.ok() && p.status().code() != Code::kConflict) return p.status();
  log.Info("default project created", {{"project", "library"}});
  return {};
}

}  // namespace berth
