// Authenticator in process (SQLite stores, a LocalAuthBackend): users sign
// in with their password and nothing else, every refusal reads the same,
// the login limiter locks out guessing, verified passwords are cached until
// invalidated, robots sign in with their secret unless disabled or expired,
// and directory (LDAP-mode) users are onboarded with their groups.
#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "auth/secret_hash.h"
#include "common/clock.h"
#include "support/iam_fixture.h"

namespace berth {
namespace {

using testing_support::kTestPassword;
using testing_support::LocalAuthBackend;
using testing_support::Must;

class AuthenticatorTest : public testing_support::IamFixture {
 protected:
  RobotRecord Robot(const std::string& name, const std::string& secret, bool disabled = false,
                    int64_t expires_at = -1) {
    RobotRecord r;
    r.name = name;
    r.secret_hash = HashSecret(secret);
    r.level = "system";
    r.disabled = disabled;
    r.expires_at = expires_at;
    r.permissions_json =
        R"([{"kind":"system","namespace":"/","access":[{"resource":"project","action":"create"}]}])";
    return Must(robots_->Create(r));
  }
  void ExpectInvalid(const StatusOr<Identity>& id, const std::string& why) {
    ASSERT_FALSE(id.ok()) << why;
    EXPECT_EQ(id.status().code(), Code::kUnauthenticated) << why;
    EXPECT_EQ(id.status().message(), "invalid username or password") << why;
  }
};

TEST_F(AuthenticatorTest, UserSignsInWithThePassword) {
  UserRecord alice = User("alice");
  auto id = auth_->Password("alice", kTestPassword, "10.0.0.1");
  ASSERT_OK(id);
  EXPECT_EQ(id->kind, Identity::Kind::kUser);
  EXPECT_EQ(id->user_id, alice.user_id);
  EXPECT_FALSE(id->sysadmin);
  EXPECT_EQ(id->method, "basic");
}

TEST_F(AuthenticatorTest, EveryRefusalReadsTheSame) {
  User("alice");
  ExpectInvalid(auth_->Password("alice", "wrong", "10.0.0.1"), "wrong password");
  ExpectInvalid(auth_->Password("nobody", kTestPassword, "10.0.0.1"), "unknown user");
  ExpectInvalid(auth_->Password("alice", "", "10.0.0.1"), "empty password");
  ExpectInvalid(auth_->Password("", kTestPassword, "10.0.0.1"), "empty user");
}

TEST_F(AuthenticatorTest, RepeatedFailuresLockTheUserOut) {
  User("alice");
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(auth_->Password("alice", "guess" + std::to_string(i), "10.0.0.2").ok());
  }
  auto locked = auth_->Password("alice", kTestPassword, "10.0.0.3");
  EXPECT_EQ(locked.status().code(), Code::kTooManyRequests);
  // Other users are not affected.
  User("bob");
  EXPECT_OK(auth_->Password("bob", kTestPassword, "10.0.0.3"));
}

TEST_F(AuthenticatorTest, VerifiedPasswordsAreCachedUntilInvalidated) {
  User("alice");
  ASSERT_OK(auth_->Password("alice", kTestPassword, "10.0.0.1"));
  int checks = db_auth_.authentications();
  ASSERT_OK(auth_->Password("alice", kTestPassword, "10.0.0.1"));
  EXPECT_EQ(db_auth_.authentications(), checks);
  auth_->InvalidateCache();
  ASSERT_OK(auth_->Password("alice", kTestPassword, "10.0.0.1"));
  EXPECT_EQ(db_auth_.authentications(), checks + 1);
  // A wrong password is never answered from the cache.
  ExpectInvalid(auth_->Password("alice", "Harbor12346", "10.0.0.1"), "near miss");
}

TEST_F(AuthenticatorTest, DeletedUserNoLongerResolves) {
  UserRecord alice = User("alice");
  ASSERT_OK(auth_->ForUserId(alice.user_id));
  ASSERT_OK(users_->Delete(alice.user_id));
  EXPECT_EQ(auth_->ForUserId(alice.user_id).status().code(), Code::kUnauthenticated);
}

TEST_F(AuthenticatorTest, RobotsSignInWithTheirSecretUnlessDisabledOrExpired) {
  Robot("robot$ci", "S3cretSecret");
  Robot("robot$off", "S3cretSecret", true);
  Robot("robot$old", "S3cretSecret", false, NowUnixMillis() / 1000 - 1);
  auto id = auth_->Password("robot$ci", "S3cretSecret", "10.0.0.1");
  ASSERT_OK(id);
  EXPECT_EQ(id->kind, Identity::Kind::kRobot);
  ASSERT_EQ(id->robot_permissions.size(), 1u);
  EXPECT_EQ(id->robot_permissions[0].access[0],
            (std::pair<std::string, std::string>{"project", "create"}));
  ExpectInvalid(auth_->Password("robot$ci", "WrongSecret1", "10.0.0.1"), "wrong secret");
  ExpectInvalid(auth_->Password("robot$off", "S3cretSecret", "10.0.0.1"), "disabled");
  ExpectInvalid(auth_->Password("robot$old", "S3cretSecret", "10.0.0.1"), "expired");
  ExpectInvalid(auth_->Password("robot$none", "S3cretSecret", "10.0.0.1"), "unknown robot");
  // Under another prefix the same name is a user name (and unknown).
  auth_->SetRobotPrefix("bot_");
  ExpectInvalid(auth_->Password("robot$ci", "S3cretSecret", "10.0.0.1"), "prefix changed");
}

TEST_F(AuthenticatorTest, DirectoryUsersAreOnboardedWithTheirGroups) {
  auto ldap = std::make_shared<LocalAuthBackend>("ldap");
  ExternalUser carol;
  carol.username = "carol";
  carol.email = "carol@example.com";
  carol.subject = "uid=carol,ou=people,dc=example,dc=com";
  carol.groups = {"cn=devs,ou=groups,dc=example,dc=com"};
  ldap->AddDirectoryUser(carol, "LdapPass1");
  auth_->Reconfigure("ldap", ldap, "robot$");

  auto id = auth_->Password("carol", "LdapPass1", "10.0.0.1");
  ASSERT_OK(id);
  auto stored = Must(users_->GetByName("carol"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->auth_source, "ldap");
  EXPECT_EQ(stored->subject, carol.subject);
  ASSERT_EQ(id->group_ids.size(), 1u);
  auto group = Must(users_->GetGroup(id->group_ids[0]));
  ASSERT_TRUE(group.has_value());
  EXPECT_EQ(group->group_name, "devs");
  ExpectInvalid(auth_->Password("carol", "wrong", "10.0.0.1"), "wrong directory password");

  // Local users keep signing in through the database in LDAP mode.
  User("localadmin", true);
  EXPECT_TRUE(Must(auth_->Password("localadmin", kTestPassword, "10.0.0.1")).sysadmin);
}

TEST_F(AuthenticatorTest, OnboardingRefusesAUsernameTakenByAnotherSource) {
  User("dave");  // a local user
  ExternalUser dave;
  dave.username = "dave";
  dave.subject = "uid=dave,dc=example,dc=com";
  EXPECT_EQ(auth_->Onboard(dave, "ldap").status().code(), Code::kConflict);
}

}  // namespace
}  // namespace berth
