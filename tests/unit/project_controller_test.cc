// ProjectController in process: who may create projects (and under which
// restriction), who may read a private project, and member management
// refused to every role but the project administrator.
#include "iam/project_controller.h"

#include <gtest/gtest.h>

#include "auth/rbac.h"
#include "support/iam_fixture.h"

namespace berth {
namespace {

using testing_support::Must;

class ProjectControllerTest : public testing_support::IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    if (HasFatalFailure()) return;
    ctl_ =
        std::make_unique<ProjectController>(*projects_, *users_, *evaluator_, *audit_, settings_);
    ctl_->set_on_change([this](const ProjectRecord& p) { changed_.push_back(p.name); });
  }
  std::unique_ptr<ProjectController> ctl_;
  std::vector<std::string> changed_;
};

TEST_F(ProjectControllerTest, UsersCreateProjectsTheyOwnUnlessAdminOnly) {
  UserRecord alice = User("alice");
  ProjectRecord p = Must(ctl_->Create(As(alice), "alpha", {}));
  EXPECT_EQ(p.owner_id, alice.user_id);
  EXPECT_FALSE(p.IsPublic());
  EXPECT_EQ(changed_, std::vector<std::string>{"alpha"});
  EXPECT_EQ(ctl_->Create(Identity{}, "anon", {}).status().code(), Code::kUnauthenticated);

  EditSettings([](RuntimeSettings& s) { s.project_creation_restriction = "adminonly"; });
  EXPECT_EQ(ctl_->Create(As(alice), "beta", {}).status().code(), Code::kPermissionDenied);
  EXPECT_OK(ctl_->Create(Admin(), "beta", {}));
}

TEST_F(ProjectControllerTest, BadNamesAndMetadataAreRefused) {
  Identity admin = Admin();
  for (const char* bad : {"", "Upper", "-lead", "trail-", "a..b", "sp ace"}) {
    EXPECT_EQ(ctl_->Create(admin, bad, {}).status().api_code(), "BAD_REQUEST") << bad;
  }
  EXPECT_EQ(ctl_->Create(admin, "ok", {{"public", "yes"}}).status().api_code(), "BAD_REQUEST");
  EXPECT_EQ(ctl_->Create(admin, "ok", {{"nonsense", "1"}}).status().api_code(), "BAD_REQUEST");
  EXPECT_FALSE(Must(ctl_->Exists("ok")));
  ASSERT_OK(ctl_->Create(admin, "ok", {}));
  EXPECT_EQ(ctl_->Create(admin, "ok", {}).status().code(), Code::kConflict);
}

TEST_F(ProjectControllerTest, PrivateProjectsAreHiddenFromOutsiders) {
  ProjectRecord priv = MakeProject("secret");
  ProjectRecord pub = MakeProject("open", true);
  EXPECT_EQ(ctl_->Get(Outsider(), "secret", true).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ctl_->Get(Identity{}, "secret", true).status().code(), Code::kUnauthenticated);
  EXPECT_OK(ctl_->Get(Identity{}, "open", true));
  EXPECT_OK(ctl_->Get(MemberOf(priv, rbac::kLimitedGuest), std::to_string(priv.project_id), false));
  EXPECT_EQ(ctl_->Get(Admin(), "missing", true).status().api_code(), "NOT_FOUND");
  auto listed = Must(ctl_->List(Outsider(), ListQuery{}));
  ASSERT_EQ(listed.items.size(), 1u);
  EXPECT_EQ(listed.items[0].name, pub.name);
}

TEST_F(ProjectControllerTest, OnlyTheProjectAdministratorManagesMembers) {
  ProjectRecord p = MakeProject("team");
  UserRecord carol = User("carol");
  MemberSpec spec;
  spec.role = rbac::kDeveloper;
  spec.username = "carol";
  for (int role : {rbac::kMaintainer, rbac::kDeveloper, rbac::kGuest, rbac::kLimitedGuest}) {
    auto refused = ctl_->AddMember(MemberOf(p, role), p, spec);
    EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << rbac::RoleName(role);
  }
  EXPECT_EQ(ctl_->AddMember(Identity{}, p, spec).status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(Must(projects_->RolesOf(p.project_id, carol.user_id, {})).size());

  Identity pa = MemberOf(p, rbac::kProjectAdmin);
  MemberRecord m = Must(ctl_->AddMember(pa, p, spec));
  EXPECT_EQ(m.entity_name, "carol");
  EXPECT_EQ(m.role, rbac::kDeveloper);
  spec.role = 9;
  EXPECT_EQ(ctl_->AddMember(pa, p, spec).status().api_code(), "BAD_REQUEST");
  spec.role = rbac::kGuest;
  spec.username = "nobody";
  EXPECT_EQ(ctl_->AddMember(pa, p, spec).status().api_code(), "NOT_FOUND");

  EXPECT_EQ(ctl_->UpdateMember(MemberOf(p, rbac::kMaintainer), p, m.id, rbac::kGuest).code(),
            Code::kPermissionDenied);
  ASSERT_OK(ctl_->UpdateMember(pa, p, m.id, rbac::kMaintainer));
  EXPECT_EQ(Must(ctl_->Member(pa, p, m.id)).role, rbac::kMaintainer);
  EXPECT_EQ(ctl_->Members(MemberOf(p, rbac::kLimitedGuest), p, ListQuery{}).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(ctl_->DeleteMember(MemberOf(p, rbac::kDeveloper), p, m.id).code(),
            Code::kPermissionDenied);
  ASSERT_OK(ctl_->DeleteMember(pa, p, m.id));
  EXPECT_EQ(ctl_->Member(pa, p, m.id).status().api_code(), "NOT_FOUND");
}

TEST_F(ProjectControllerTest, NobodyChangesTheirOwnRole) {
  ProjectRecord p = MakeProject("self");
  UserRecord dana = User("dana");
  MemberRecord m = Must(projects_->AddMember(p.project_id, dana.user_id, "u", rbac::kProjectAdmin));
  EXPECT_EQ(ctl_->UpdateMember(As(dana), p, m.id, rbac::kGuest).code(), Code::kPermissionDenied);
}

TEST_F(ProjectControllerTest, OnlyTheProjectAdministratorDeletesTheProject) {
  ProjectRecord p = MakeProject("doomed");
  EXPECT_EQ(ctl_->Delete(MemberOf(p, rbac::kMaintainer), p).code(), Code::kPermissionDenied);
  EXPECT_EQ(ctl_->UpdateMetadata(MemberOf(p, rbac::kDeveloper), p, {{"public", "true"}}).code(),
            Code::kPermissionDenied);
  Identity pa = MemberOf(p, rbac::kProjectAdmin);
  ASSERT_OK(ctl_->UpdateMetadata(pa, p, {{"public", "true"}}));
  EXPECT_TRUE(Must(projects_->GetById(p.project_id))->IsPublic());
  EXPECT_EQ(ctl_->DeleteMetadataKey(pa, p, "public").api_code(), "BAD_REQUEST");
  EXPECT_TRUE(Must(ctl_->Deletable(pa, p)).first);
  ASSERT_OK(ctl_->Delete(pa, p));
  EXPECT_FALSE(Must(ctl_->Exists("doomed")));
}

}  // namespace
}  // namespace berth
