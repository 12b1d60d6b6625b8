// IamFixture: the identity world of berthd, in process: users, projects,
// members, robots and the audit log on a migrated SQLite database, the
// access evaluator, runtime settings, the authenticator (over a
// LocalAuthBackend) and makers for the callers of each role. The
// authenticator, RBAC and iam controller tests build on it.
#ifndef BERTH_TESTS_UNIT_SUPPORT_IAM_FIXTURE_H_
#define BERTH_TESTS_UNIT_SUPPORT_IAM_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "auth/authenticator.h"
#include "auth/login_limiter.h"
#include "common/logger.h"
#include "config/runtime_settings.h"
#include "store/audit_store.h"
#include "store/project_store.h"
#include "store/robot_store.h"
#include "store/user_store.h"
#include "support/local_auth_backend.h"
#include "support/sqlite_fixture.h"
#include "support/status_testing.h"

namespace berth::testing_support {

inline constexpr char kTestPassword[] = "Harbor12345";

class IamFixture : public SqliteTest {
 protected:
  void SetUp() override {
    SqliteTest::SetUp();
    if (HasFatalFailure()) return;
    users_ = std::make_unique<UserStore>(*db_);
    projects_ = std::make_unique<ProjectStore>(*db_);
    robots_ = std::make_unique<RobotStore>(*db_);
    audit_store_ = std::make_unique<AuditStore>(*db_);
    audit_ = std::make_unique<AuditLog>(*audit_store_, log_);
    audit_->Start();
    evaluator_ = std::make_unique<AccessEvaluator>(*projects_);
    auth_ = std::make_unique<Authenticator>(AuthSettings{}, *users_, *robots_, db_auth_, nullptr,
                                            limiter_, *audit_, log_);
  }

  void TearDown() override {
    if (audit_) audit_->Stop();
  }

  // A local user whose password is kTestPassword (hashed by the db backend).
  UserRecord User(const std::string& name, bool sysadmin = false) {
    UserRecord u;
    u.username = name;
    u.email = name + "@example.com";
    u.realname = name;
    u.password_hash = Must(db_auth_.HashPassword(kTestPassword));
    u.sysadmin = sysadmin;
    return Must(users_->Create(u));
  }
  // The identity a signed-in user has.
  Identity As(const UserRecord& u) {
    return auth_->ForUser(u, Must(users_->GroupIdsOf(u.user_id)));
  }
  Identity Admin() { return As(User("admin-" + std::to_string(++serial_), true)); }
  // A user holding `role` in the project.
  Identity MemberOf(const ProjectRecord& p, int role) {
    UserRecord u = User("member-" + std::to_string(++serial_));
    EXPECT_OK(projects_->AddMember(p.project_id, u.user_id, "u", role));
    return As(u);
  }
  // A signed-in user with no role anywhere.
  Identity Outsider() { return As(User("outsider-" + std::to_string(++serial_))); }
  ProjectRecord MakeProject(const std::string& name, bool is_public = false, int64_t owner = 0) {
    return Must(projects_->Create(name, owner, {{"public", is_public ? "true" : "false"}}));
  }
  // Replaces the runtime settings with `edit` applied to the current ones.
  template <class F>
  void EditSettings(F edit) {
    RuntimeSettings s = *settings_.Get();
    edit(s);
    settings_.Set(s);
  }

  Logger log_{LogLevel::kError};
  SettingsSource settings_{RuntimeSettings{}};
  LocalAuthBackend db_auth_;
  LoginLimiter limiter_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<ProjectStore> projects_;
  std::unique_ptr<RobotStore> robots_;
  std::unique_ptr<AuditStore> audit_store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<AccessEvaluator> evaluator_;
  std::unique_ptr<Authenticator> auth_;
  int serial_ = 0;
};

}  // namespace berth::testing_support

#endif  // BERTH_TESTS_UNIT_SUPPORT_IAM_FIXTURE_H_
