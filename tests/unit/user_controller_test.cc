// UserController in process: administrators manage users, users see and
// edit only themselves, self-registration opens Create to anonymous callers
// in db mode only, and passwords change with the old one (own) or without
// it (administrators), through the auth backend's hash.
#include "iam/user_controller.h"

#include <gtest/gtest.h>

#include "support/iam_fixture.h"

namespace berth {
namespace {

using testing_support::kTestPassword;
using testing_support::Must;

class UserControllerTest : public testing_support::IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    if (HasFatalFailure()) return;
    users_ctl_ = std::make_unique<UserController>(*users_, *projects_, *auth_, *evaluator_, *audit_,
                                                  settings_);
  }
  static UserRecord NewUser(const std::string& name) {
    UserRecord u;
    u.username = name;
    u.email = name + "@example.com";
    return u;
  }
  std::unique_ptr<UserController> users_ctl_;
};

TEST_F(UserControllerTest, AdministratorsCreateUsersOthersAreRefused) {
  Identity admin = Admin();
  UserRecord made = Must(users_ctl_->Create(admin, NewUser("alice"), "Passw0rdOk"));
  EXPECT_FALSE(made.sysadmin);
  EXPECT_NE(made.password_hash, "Passw0rdOk");  // stored hashed
  EXPECT_OK(auth_->Password("alice", "Passw0rdOk", "10.0.0.1"));

  auto by_user = users_ctl_->Create(As(made), NewUser("bob"), "Passw0rdOk");
  EXPECT_EQ(by_user.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(by_user.status().api_code(), "FORBIDDEN");
  auto by_anonymous = users_ctl_->Create(Identity{}, NewUser("bob"), "Passw0rdOk");
  EXPECT_EQ(by_anonymous.status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(Must(users_->GetByName("bob")).has_value());
}

TEST_F(UserControllerTest, BadInputIsRefusedBeforeAnythingIsWritten) {
  Identity admin = Admin();
  EXPECT_EQ(users_ctl_->Create(admin, NewUser("weak"), "password").status().api_code(),
            "BAD_REQUEST");
  EXPECT_EQ(users_ctl_->Create(admin, NewUser("a b"), "Passw0rdOk").status().api_code(),
            "BAD_REQUEST");
  EXPECT_EQ(users_ctl_->Create(admin, NewUser("robot$x"), "Passw0rdOk").status().api_code(),
            "BAD_REQUEST");
  EXPECT_FALSE(Must(users_->GetByName("weak")).has_value());
  ASSERT_OK(users_ctl_->Create(admin, NewUser("dup"), "Passw0rdOk"));
  EXPECT_EQ(users_ctl_->Create(admin, NewUser("dup"), "Passw0rdOk").status().code(),
            Code::kConflict);
}

TEST_F(UserControllerTest, SelfRegistrationOnlyInDbMode) {
  EditSettings([](RuntimeSettings& s) { s.self_registration = true; });
  ASSERT_OK(users_ctl_->Create(Identity{}, NewUser("newcomer"), "Passw0rdOk"));
  EditSettings([](RuntimeSettings& s) { s.auth_mode = "ldap"; });
  EXPECT_EQ(users_ctl_->Create(Identity{}, NewUser("late"), "Passw0rdOk").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(users_ctl_->Create(Admin(), NewUser("late"), "Passw0rdOk").status().code(),
            Code::kPermissionDenied);
}

TEST_F(UserControllerTest, UsersSeeAndEditOnlyThemselves) {
  UserRecord alice = User("alice");
  UserRecord bob = User("bob");
  Identity as_alice = As(alice);
  EXPECT_EQ(Must(users_ctl_->Current(as_alice)).username, "alice");
  EXPECT_OK(users_ctl_->Get(as_alice, alice.user_id));
  EXPECT_EQ(users_ctl_->Get(as_alice, bob.user_id).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(users_ctl_->UpdateProfile(as_alice, bob.user_id, "x@example.com", {}, {}).code(),
            Code::kPermissionDenied);
  ASSERT_OK(users_ctl_->UpdateProfile(as_alice, alice.user_id, "new@example.com", {}, {}));
  EXPECT_EQ(Must(users_->GetById(alice.user_id))->email, "new@example.com");
  EXPECT_EQ(users_ctl_->List(as_alice, {}).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(users_ctl_->Delete(as_alice, bob.user_id).code(), Code::kPermissionDenied);
  EXPECT_EQ(users_ctl_->SetSysadmin(as_alice, alice.user_id, true).code(), Code::kPermissionDenied);
  EXPECT_EQ(users_ctl_->Current(Identity{}).status().code(), Code::kUnauthenticated);
}

TEST_F(UserControllerTest, PasswordChangesNeedTheOldPasswordForOneself) {
  UserRecord alice = User("alice");
  Identity as_alice = As(alice);
  Status wrong_old =
      users_ctl_->ChangePassword(as_alice, alice.user_id, "Wrong0ld1", "N3wPassword");
  EXPECT_EQ(wrong_old.code(), Code::kPermissionDenied);
  EXPECT_EQ(
      users_ctl_->ChangePassword(as_alice, alice.user_id, kTestPassword, kTestPassword).api_code(),
      "BAD_REQUEST");
  ASSERT_OK(users_ctl_->ChangePassword(as_alice, alice.user_id, kTestPassword, "N3wPassword"));
  EXPECT_OK(auth_->Password("alice", "N3wPassword", "10.0.0.1"));
  EXPECT_FALSE(auth_->Password("alice", kTestPassword, "10.0.0.1").ok());  // cache invalidated
  // An administrator sets another user's password without the old one.
  ASSERT_OK(users_ctl_->ChangePassword(Admin(), alice.user_id, "", "Adm1nChosen"));
  EXPECT_OK(auth_->Password("alice", "Adm1nChosen", "10.0.0.1"));
}

TEST_F(UserControllerTest, AdministratorsDeleteAndPromoteButNotThemselves) {
  UserRecord root = User("root", true);
  Identity admin = As(root);
  UserRecord alice = User("alice");
  ASSERT_OK(users_ctl_->SetSysadmin(admin, alice.user_id, true));
  EXPECT_TRUE(As(Must(users_->GetById(alice.user_id)).value()).sysadmin);
  EXPECT_EQ(users_ctl_->SetSysadmin(admin, root.user_id, false).code(), Code::kPermissionDenied);
  EXPECT_EQ(users_ctl_->Delete(admin, root.user_id).code(), Code::kPermissionDenied);
  ASSERT_OK(users_ctl_->Delete(admin, alice.user_id));
  EXPECT_FALSE(Must(users_->GetById(alice.user_id)).has_value());
  EXPECT_EQ(users_ctl_->Delete(admin, alice.user_id).code(), Code::kNotFound);
}

TEST_F(UserControllerTest, GroupsAreForAdministrators) {
  UserGroupRecord g;
  g.group_name = "devs";
  g.group_type = kGroupTypeHttp;
  EXPECT_EQ(users_ctl_->CreateGroup(Outsider(), g).status().code(), Code::kPermissionDenied);
  UserGroupRecord made = Must(users_ctl_->CreateGroup(Admin(), g));
  EXPECT_EQ(made.group_name, "devs");
  g.group_type = kGroupTypeLdap;  // an LDAP group needs its DN
  EXPECT_EQ(users_ctl_->CreateGroup(Admin(), g).status().api_code(), "BAD_REQUEST");
}

}  // namespace
}  // namespace berth
