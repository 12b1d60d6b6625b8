// RobotController in process: project robots are made by their project's
// administrator only and hold permissions in that project only; system
// robots are for system administrators; the secret is returned once, stored
// hashed, and is what the authenticator accepts.
#include "iam/robot_controller.h"

#include <gtest/gtest.h>

#include "auth/rbac.h"
#include "support/iam_fixture.h"

namespace berth {
namespace {

using testing_support::Must;

std::string ProjectPerms(const std::string& project, const std::string& action = "pull") {
  return R"([{"kind":"project","namespace":")" + project +
         R"(","access":[{"resource":"repository","action":")" + action + R"("}]}])";
}

class RobotControllerTest : public testing_support::IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    if (HasFatalFailure()) return;
    ctl_ = std::make_unique<RobotController>(*robots_, *projects_, *evaluator_, *audit_, settings_);
  }
  static RobotSpec Spec(const std::string& name, const std::string& level, std::string perms) {
    RobotSpec s;
    s.name = name;
    s.level = level;
    s.permissions_json = std::move(perms);
    return s;
  }
  std::unique_ptr<RobotController> ctl_;
};

TEST_F(RobotControllerTest, ProjectAdministratorCreatesAProjectRobot) {
  ProjectRecord p = MakeProject("ci");
  for (int role : {rbac::kMaintainer, rbac::kDeveloper, rbac::kGuest, rbac::kLimitedGuest}) {
    auto refused = ctl_->Create(MemberOf(p, role), Spec("builder", "project", ProjectPerms("ci")));
    EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << rbac::RoleName(role);
  }
  EXPECT_EQ(
      ctl_->Create(Identity{}, Spec("builder", "project", ProjectPerms("ci"))).status().code(),
      Code::kUnauthenticated);

  CreatedRobot made = Must(ctl_->Create(MemberOf(p, rbac::kProjectAdmin),
                                        Spec("builder", "project", ProjectPerms("ci", "push"))));
  EXPECT_EQ(made.robot.name, "robot$ci+builder");
  EXPECT_EQ(made.robot.project_id, p.project_id);
  EXPECT_FALSE(made.secret.empty());
  auto stored = Must(robots_->GetById(made.robot.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->secret_hash.find(made.secret), std::string::npos);  // hashed at rest

  auto id = auth_->Password("robot$ci+builder", made.secret, "10.0.0.1");
  ASSERT_OK(id);
  EXPECT_TRUE(Must(evaluator_->Can(*id, p, "repository", "push")));
  EXPECT_FALSE(Must(evaluator_->Can(*id, p, "repository", "delete")));
}

TEST_F(RobotControllerTest, ProjectRobotsStayInTheirProject) {
  MakeProject("one");
  MakeProject("two");
  Identity admin = Admin();
  std::string both =
      R"([{"kind":"project","namespace":"one","access":[{"resource":"repository","action":"pull"}]},
                        {"kind":"project","namespace":"two","access":[{"resource":"repository","action":"pull"}]}])";
  EXPECT_EQ(ctl_->Create(admin, Spec("r", "project", both)).status().api_code(), "BAD_REQUEST");
  EXPECT_EQ(ctl_->Create(admin, Spec("r", "project", ProjectPerms("*"))).status().api_code(),
            "BAD_REQUEST");
  EXPECT_EQ(
      ctl_->Create(admin, Spec("r", "project", ProjectPerms("one", "fly"))).status().api_code(),
      "BAD_REQUEST");
  EXPECT_EQ(ctl_->Create(admin, Spec("r", "project", ProjectPerms("absent"))).status().api_code(),
            "NOT_FOUND");
  EXPECT_EQ(Must(robots_->List(ListQuery{})).total, 0);
}

TEST_F(RobotControllerTest, SystemRobotsAreForSystemAdministrators) {
  ProjectRecord p = MakeProject("lib");
  std::string perms =
      R"([{"kind":"system","namespace":"/","access":[{"resource":"project","action":"create"}]}])";
  EXPECT_EQ(
      ctl_->Create(MemberOf(p, rbac::kProjectAdmin), Spec("sys", "system", perms)).status().code(),
      Code::kPermissionDenied);
  CreatedRobot made = Must(ctl_->Create(Admin(), Spec("sys", "system", perms)));
  EXPECT_EQ(made.robot.name, "robot$sys");
  EXPECT_EQ(ctl_->Get(Outsider(), made.robot.id).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ctl_->List(Outsider(), ListQuery{}).status().code(), Code::kPermissionDenied);
}

TEST_F(RobotControllerTest, RefreshReplacesTheSecretAndDisableLocksOut) {
  ProjectRecord p = MakeProject("ci");
  Identity pa = MemberOf(p, rbac::kProjectAdmin);
  CreatedRobot made = Must(ctl_->Create(pa, Spec("bot", "project", ProjectPerms("ci"))));
  EXPECT_EQ(ctl_->RefreshSecret(MemberOf(p, rbac::kDeveloper), made.robot.id, "").status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(ctl_->RefreshSecret(pa, made.robot.id, "weak").status().api_code(), "BAD_REQUEST");
  std::string fresh = Must(ctl_->RefreshSecret(pa, made.robot.id, "N3wRobotSecret"));
  EXPECT_EQ(fresh, "N3wRobotSecret");
  EXPECT_FALSE(auth_->Password(made.robot.name, made.secret, "10.0.0.1").ok());
  EXPECT_OK(auth_->Password(made.robot.name, fresh, "10.0.0.1"));

  RobotSpec update = Spec("bot", "project", "");
  update.disabled = true;
  ASSERT_OK(ctl_->Update(pa, made.robot.id, update));
  EXPECT_FALSE(auth_->Password(made.robot.name, fresh, "10.0.0.1").ok());

  EXPECT_EQ(ctl_->Delete(MemberOf(p, rbac::kMaintainer), made.robot.id).code(),
            Code::kPermissionDenied);
  ASSERT_OK(ctl_->Delete(pa, made.robot.id));
  EXPECT_EQ(ctl_->Get(pa, made.robot.id).status().api_code(), "NOT_FOUND");
}

}  // namespace
}  // namespace berth
