// RBAC in process: Harbor's role matrix (what each project role is refused
// as carefully as what it is granted), the public-project policies, and the
// AccessEvaluator over real members, groups and robots on SQLite.
#include "auth/rbac.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "auth/access_evaluator.h"
#include "common/clock.h"
#include "support/iam_fixture.h"

namespace berth {
namespace {

using testing_support::Must;

struct Expectation {
  const char* resource;
  const char* action;
  // projectAdmin, maintainer, developer, guest, limitedGuest
  bool pa, m, d, g, lg;
};

// A sample across the matrix, from Harbor's rbac_role.go.
const Expectation kMatrix[] = {
    {"", "read", true, true, true, true, true},
    {"", "update", true, false, false, false, false},
    {"", "delete", true, false, false, false, false},
    {"repository", "pull", true, true, true, true, true},
    {"repository", "push", true, true, true, false, false},
    {"repository", "delete", true, true, false, false, false},
    {"artifact", "delete", true, true, false, false, false},
    {"tag", "create", true, true, true, false, false},
    {"tag", "delete", true, true, false, false, false},
    {"member", "create", true, false, false, false, false},
    {"member", "list", true, true, true, true, false},
    {"metadata", "read", true, true, false, false, false},
    {"robot", "create", true, false, false, false, false},
    {"robot", "list", true, true, true, true, false},
    {"scan", "create", true, true, false, false, false},
    {"label", "create", true, true, false, false, false},
    {"immutable-tag", "list", true, true, false, false, false},
    {"tag-retention", "operate", true, true, true, false, false},
    {"preheat-policy", "read", true, false, false, false, false},
    {"notification-policy", "list", true, true, false, false, false},
    {"log", "list", true, false, false, false, false},
    {"quota", "read", true, true, true, true, true},
    {"repository", "scanner-pull", false, false, false, false, false},  // robots only
    {"no-such-resource", "read", false, false, false, false, false},
};

TEST(RbacMatrix, EachRoleIsGrantedAndDeniedAsHarbor) {
  const std::pair<int, bool Expectation::*> roles[] = {{rbac::kProjectAdmin, &Expectation::pa},
                                                       {rbac::kMaintainer, &Expectation::m},
                                                       {rbac::kDeveloper, &Expectation::d},
                                                       {rbac::kGuest, &Expectation::g},
                                                       {rbac::kLimitedGuest, &Expectation::lg}};
  for (const auto& e : kMatrix) {
    for (const auto& [role, field] : roles) {
      EXPECT_EQ(rbac::RoleAllows(role, e.resource, e.action), e.*field)
          << rbac::RoleName(role) << " " << e.action << " " << e.resource;
    }
  }
  for (int invalid : {0, 6, -1}) {
    EXPECT_FALSE(rbac::IsValidRole(invalid));
    EXPECT_FALSE(rbac::RoleAllows(invalid, "repository", "pull"));
    EXPECT_TRUE(rbac::RoleGrants(invalid).empty());
  }
}

TEST(RbacMatrix, PublicProjectsGrantReadsOnly) {
  EXPECT_TRUE(rbac::PublicAllows("repository", "pull"));
  EXPECT_TRUE(rbac::PublicAllows("artifact", "list"));
  for (auto [res, act] : std::vector<std::pair<const char*, const char*>>{{"repository", "push"},
                                                                          {"artifact", "delete"},
                                                                          {"member", "list"},
                                                                          {"quota", "read"},
                                                                          {"", "update"},
                                                                          {"metadata", "read"}}) {
    EXPECT_FALSE(rbac::PublicAllows(res, act)) << act << " " << res;
  }
}

TEST(RbacMatrix, RoleGrantsAgreeWithRoleAllows) {
  for (int role = rbac::kProjectAdmin; role <= rbac::kLimitedGuest; ++role) {
    for (const auto& [res, act] : rbac::RoleGrants(role)) {
      EXPECT_TRUE(rbac::RoleAllows(role, res, act)) << role << " " << act << " " << res;
    }
  }
  EXPECT_GT(rbac::RoleGrants(rbac::kProjectAdmin).size(), rbac::RoleGrants(rbac::kGuest).size());
}

class AccessEvaluatorTest : public testing_support::IamFixture {
 protected:
  bool Can(const Identity& who, const ProjectRecord& p, const char* res, const char* act) {
    return Must(evaluator_->Can(who, p, res, act));
  }
};

TEST_F(AccessEvaluatorTest, MembersGetTheirRolesPermissionsOnly) {
  ProjectRecord p = MakeProject("private");
  Identity dev = MemberOf(p, rbac::kDeveloper);
  Identity guest = MemberOf(p, rbac::kGuest);
  Identity limited = MemberOf(p, rbac::kLimitedGuest);
  Identity outsider = Outsider();
  EXPECT_TRUE(Can(dev, p, "repository", "push"));
  EXPECT_FALSE(Can(dev, p, "repository", "delete"));
  EXPECT_TRUE(Can(guest, p, "repository", "pull"));
  EXPECT_FALSE(Can(guest, p, "repository", "push"));
  EXPECT_FALSE(Can(limited, p, "member", "list"));
  EXPECT_FALSE(Can(outsider, p, "repository", "pull"));
  EXPECT_FALSE(Can(outsider, p, "", "read"));
  EXPECT_FALSE(Can(Identity{}, p, "repository", "pull"));  // anonymous
  EXPECT_EQ(Must(evaluator_->RepositoryActions(dev, p)),
            (std::vector<std::string>{"pull", "push"}));
  EXPECT_TRUE(Must(evaluator_->RepositoryActions(outsider, p)).empty());
  // A role in one project is nothing in another.
  ProjectRecord other = MakeProject("other");
  EXPECT_FALSE(Can(dev, other, "repository", "pull"));
}

TEST_F(AccessEvaluatorTest, PublicProjectsAreReadableByAnyoneButNotWritable) {
  ProjectRecord pub = MakeProject("open", true);
  Identity anonymous;
  EXPECT_TRUE(Can(anonymous, pub, "repository", "pull"));
  EXPECT_FALSE(Can(anonymous, pub, "repository", "push"));
  EXPECT_FALSE(Can(Outsider(), pub, "repository", "push"));
  EXPECT_FALSE(Can(Outsider(), pub, "member", "list"));
}

TEST_F(AccessEvaluatorTest, GroupMembershipGrantsTheGroupsRole) {
  ProjectRecord p = MakeProject("teamwork");
  UserGroupRecord g;
  g.group_name = "devs";
  g.group_type = kGroupTypeHttp;
  g = Must(users_->CreateGroup(g));
  ASSERT_OK(projects_->AddMember(p.project_id, g.id, "g", rbac::kMaintainer));
  UserRecord u = User("grouped");
  Identity without = As(u);
  EXPECT_FALSE(Can(without, p, "repository", "delete"));
  ASSERT_OK(users_->SetUserGroups(u.user_id, {g.id}));
  Identity with = As(u);
  EXPECT_TRUE(Can(with, p, "repository", "delete"));
  EXPECT_FALSE(Can(with, p, "member", "create"));
}

TEST_F(AccessEvaluatorTest, SysadminMayDoAnythingAndOthersNoSystemResource) {
  ProjectRecord p = MakeProject("any");
  Identity admin = Admin();
  EXPECT_TRUE(Can(admin, p, "member", "create"));
  EXPECT_TRUE(evaluator_->CanSystem(admin, "user", "create"));
  EXPECT_FALSE(evaluator_->CanSystem(MemberOf(p, rbac::kProjectAdmin), "user", "create"));
  EXPECT_FALSE(evaluator_->CanSystem(Identity{}, "catalog", "read"));
}

TEST_F(AccessEvaluatorTest, RobotsHoldExactlyTheirPermissions) {
  ProjectRecord p = MakeProject("ci");
  ProjectRecord other = MakeProject("elsewhere");
  Identity robot;
  robot.kind = Identity::Kind::kRobot;
  robot.username = "robot$ci+builder";
  robot.robot_project_id = p.project_id;
  robot.robot_updated_ms = NowUnixMillis();
  robot.robot_permissions = {{"project", "ci", {{"repository", "push"}, {"repository", "pull"}}}};
  EXPECT_TRUE(Can(robot, p, "repository", "push"));
  EXPECT_FALSE(Can(robot, p, "repository", "delete"));
  EXPECT_FALSE(Can(robot, other, "repository", "pull"));
  EXPECT_FALSE(evaluator_->CanSystem(robot, "project", "create"));
  // A project re-created under the same name after the grant is another project.
  ASSERT_OK(projects_->Delete(p.project_id));
  robot.robot_project_id = 0;
  robot.robot_updated_ms = NowUnixMillis() - 10000;
  ProjectRecord again = MakeProject("ci");
  EXPECT_FALSE(Can(robot, again, "repository", "pull"));
}

}  // namespace
}  // namespace berth
