// First-start setup: the initial administrator and the public "library"
// project, as Harbor ships them.
#ifndef BERTH_IAM_BOOTSTRAP_H_
#define BERTH_IAM_BOOTSTRAP_H_

#include <cstdio>
#include <string>

#include "auth/auth_backend.h"
#include "common/logger.h"
#include "store/project_store.h"
#include "store/user_store.h"

namespace berth {

// Creates user "admin" when no user exists. The password is `password` when
// given, otherwise generated and written once to `announce` (never logged).
Status EnsureInitialAdmin(UserStore& users, AuthBackend& db_backend, const std::string& password,
                          Logger& log, std::FILE* announce);
// Creates the public project "library" owned by the administrator when no
// project exists yet.
Status EnsureDefaultProject(ProjectStore& projects, UserStore& users, Logger& log);

}  // namespace berth

#endif  // BERTH_IAM_BOOTSTRAP_H_
