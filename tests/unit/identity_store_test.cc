// The identity stores (users and groups, projects and members, robots,
// sessions, the audit log), list queries and migrations, against both
// metadata backends: SQLite and PostgreSQL (store_test_support.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/digest.h"
#include "store/audit_store.h"
#include "store/list_query.h"
#include "store/migrations.h"
#include "store/project_store.h"
#include "store/registry_store.h"
#include "store/robot_store.h"
#include "store/session_store.h"
#include "store/user_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

// Who lists projects (designated initializers that leave fields out warn
// under g++ 12's -Wextra).
ProjectVisibility AllProjects() {
  ProjectVisibility v;
  v.all = true;
  return v;
}
ProjectVisibility AsUser(int64_t user_id, std::vector<int64_t> group_ids = {},
                         int64_t project_id = 0) {
  ProjectVisibility v;
  v.user_id = user_id;
  v.group_ids = std::move(group_ids);
  v.project_id = project_id;
  return v;
}

using testing_support::Dg;
using testing_support::Must;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using store_test::Backend;
using store_test::BackendName;

// ---- Helpers -------------------------------------------------------------------

// A query from Harbor's q and sort strings (failing the test when they do not parse).
ListQuery Q(std::string_view q = "", std::string_view sort = "", int64_t page = 1,
            int64_t page_size = 100) {
  ListQuery out;
  out.page = page;
  out.page_size = page_size;
  auto terms = ParseQ(q);
  EXPECT_TRUE(terms.ok()) << q << ": " << terms.status().ToString();
  if (terms.ok()) out.terms = *terms;
  auto s = ParseSort(sort);
  EXPECT_TRUE(s.ok()) << sort << ": " << s.status().ToString();
  if (s.ok()) out.sort = *s;
  return out;
}

std::vector<std::string> UserNames(const Page<UserRecord>& p) {
  std::vector<std::string> out;
  for (const auto& u : p.items) out.push_back(u.username);
  return out;
}
std::vector<std::string> ProjectNames(const Page<ProjectRecord>& p) {
  std::vector<std::string> out;
  for (const auto& x : p.items) out.push_back(x.name);
  return out;
}
std::vector<std::string> MemberNames(const Page<MemberRecord>& p) {
  std::vector<std::string> out;
  for (const auto& x : p.items) out.push_back(x.entity_name);
  return out;
}
std::vector<std::string> RobotNames(const Page<RobotRecord>& p) {
  std::vector<std::string> out;
  for (const auto& x : p.items) out.push_back(x.name);
  return out;
}
std::vector<int64_t> OpTimes(const Page<AuditRecord>& p) {
  std::vector<int64_t> out;
  for (const auto& x : p.items) out.push_back(x.op_time);
  return out;
}

// Runs fn(0..n-1) on n threads released together; exits the binary when they
// have not all finished within `limit` (joining would hang on a deadlock).
void RunConcurrently(int n, const std::function<void(int)>& fn,
                     std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::latch start(n);
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      fn(i);
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, limit, [&] { return finished == n; })) {
      std::fprintf(stderr, "FATAL: %d of %d threads still running after %lld s: deadlock?\n",
                   n - finished, n, static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::_Exit(1);
    }
  }
  for (auto& t : threads) t.join();
}

class IdentityStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    users_ = std::make_unique<UserStore>(*db_);
    robots_ = std::make_unique<RobotStore>(*db_);
    sessions_ = std::make_unique<SessionStore>(*db_);
    audit_ = std::make_unique<AuditStore>(*db_);
    registry_ = std::make_unique<RegistryStore>(*db_);
  }

  void TearDown() override {
    users_.reset();
    robots_.reset();
    sessions_.reset();
    audit_.reset();
    registry_.reset();
    StoreTestBase::TearDown();
  }

  UserRecord AddUser(const std::string& name, const std::string& email = "") {
    UserRecord u;
    u.username = name;
    u.email = email.empty() ? name + "@example.com" : email;
    u.password_hash = "hash-of-" + name;
    auto r = users_->Create(u);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : UserRecord{};
  }

  UserGroupRecord AddGroup(const std::string& name, int type = kGroupTypeHttp,
                           const std::string& dn = "") {
    UserGroupRecord g;
    g.group_name = name;
    g.group_type = type;
    g.ldap_group_dn = dn;
    auto r = users_->CreateGroup(g);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : UserGroupRecord{};
  }

  ProjectRecord AddProject(const std::string& name, int64_t owner = 0, bool is_public = false) {
    auto r = projects_->Create(name, owner, {{"public", is_public ? "true" : "false"}});
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : ProjectRecord{};
  }

  RobotRecord AddRobot(const std::string& name, const std::string& level, int64_t project_id) {
    RobotRecord x;
    x.name = name;
    x.description = "robot " + name;
    x.secret_hash = "secret-of-" + name;
    x.level = level;
    x.project_id = project_id;
    x.permissions_json = R"([{"kind":"project","namespace":"*"}])";
    x.creator_type = "local";
    x.creator_ref = "1";
    auto r = robots_->Create(x);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : RobotRecord{};
  }

  void Link(const std::string& repo) {
    Status s = registry_->LinkBlob(repo, Dg(repo), 10);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  int64_t RepoProjectId(const std::string& repo) {
    return QueryInt("SELECT project_id FROM repository WHERE name = $1", {SqlText(repo)});
  }

  std::vector<std::string> ListUserNames(std::string_view q, std::string_view sort = "") {
    return UserNames(Must(users_->List(Q(q, sort))));
  }
  Code UserListError(std::string_view q, std::string_view sort = "") {
    return users_->List(Q(q, sort)).status().code();
  }
  std::vector<std::string> Visible(const ProjectVisibility& who, std::string_view q = "") {
    auto page = Must(projects_->List(Q(q, "name"), who));
    EXPECT_EQ(page.total, static_cast<int64_t>(page.items.size()));
    return ProjectNames(page);
  }

  std::unique_ptr<UserStore> users_;
  std::unique_ptr<RobotStore> robots_;
  std::unique_ptr<SessionStore> sessions_;
  std::unique_ptr<AuditStore> audit_;
  std::unique_ptr<RegistryStore> registry_;
};

// ---- Migrations ------------------------------------------------------------------

TEST_P(IdentityStoreTest, MigrateReachesTheLatestVersionAndTwiceIsANoOp) {
  ASSERT_FALSE(AllMigrations().empty());
  EXPECT_EQ(version_, AllMigrations().back().version);
  EXPECT_GE(version_, 3);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(AllMigrations().size()));
  EXPECT_EQ(QueryInt("SELECT MAX(version) FROM schema_migrations"), version_);
  for (const char* table : {"harbor_user", "user_group", "user_group_membership", "project",
                            "project_metadata", "project_member", "robot", "session",
                            "audit_log"}) {
    EXPECT_EQ(QueryInt(std::string("SELECT COUNT(*) FROM ") + table), 0) << table;
  }
  int64_t applied = QueryInt("SELECT applied_at FROM schema_migrations WHERE version = 2");
  EXPECT_GT(applied, 0);

  UserRecord u;
  u.username = "keep";
  u.admin_in_auth = true;  // migration 3's column
  ASSERT_OK(users_->Create(u));
  ProjectRecord p = AddProject("kept", 0, true);

  auto again = Migrate(*db_);
  ASSERT_OK(again);
  EXPECT_EQ(*again, version_);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(AllMigrations().size()));
  EXPECT_EQ(QueryInt("SELECT applied_at FROM schema_migrations WHERE version = 2"), applied);
  auto kept = Must(users_->GetByName("keep"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->admin_in_auth);
  auto kp = Must(projects_->GetById(p.project_id));
  ASSERT_TRUE(kp.has_value());
  EXPECT_TRUE(kp->IsPublic());

  // Two nodes migrating at once (PostgreSQL: the advisory lock) both succeed.
  std::vector<Status> results(2);
  RunConcurrently(2, [&](int i) { results[i] = Migrate(*db_).status(); });
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM harbor_user"), 1);
}

// A database at version 2 (before admin_in_auth) upgrades in place. (Only
// version 3 is forgotten: the later migrations are not about this table.)
TEST_P(IdentityStoreTest, MigrateUpgradesADatabaseFromVersion2) {
  ASSERT_OK(users_->Create([] {
    UserRecord u;
    u.username = "old";
    u.sysadmin = true;
    return u;
  }()));
  ASSERT_OK(ExecSql("DELETE FROM schema_migrations WHERE version = 3"));
  ASSERT_OK(ExecSql("ALTER TABLE harbor_user DROP COLUMN admin_in_auth"));
  auto v = Migrate(*db_);
  ASSERT_OK(v);
  EXPECT_EQ(*v, AllMigrations().back().version);
  auto old = Must(users_->GetByName("old"));
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(old->sysadmin);
  EXPECT_FALSE(old->admin_in_auth);
  ASSERT_OK(users_->SetAdminInAuth(old->user_id, true));
  EXPECT_TRUE(Must(users_->GetById(old->user_id))->admin_in_auth);
}

// ---- Users -------------------------------------------------------------------------

TEST_P(IdentityStoreTest, UserCreateGetAndConflict) {
  int64_t before = NowUnixMillis();
  UserRecord in;
  in.username = "alice";
  in.email = "alice@example.com";
  in.realname = "Alice Liddell";
  in.comment = "first user";
  in.password_hash = "$argon2id$v=19$hash";
  in.sysadmin = true;
  UserRecord alice = Must(users_->Create(in));
  EXPECT_GT(alice.user_id, 0);
  EXPECT_GE(alice.creation_time, before);
  EXPECT_EQ(alice.update_time, alice.creation_time);

  UserRecord oidc;
  oidc.username = "olga";
  oidc.auth_source = "oidc";
  oidc.subject = "https://idp.example.com|1234";
  oidc.cli_secret_hash = "cli-hash";
  oidc.admin_in_auth = true;
  UserRecord olga = Must(users_->Create(oidc));
  EXPECT_NE(olga.user_id, alice.user_id);

  auto by_id = Must(users_->GetById(alice.user_id));
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->username, "alice");
  EXPECT_EQ(by_id->email, "alice@example.com");
  EXPECT_EQ(by_id->realname, "Alice Liddell");
  EXPECT_EQ(by_id->comment, "first user");
  EXPECT_EQ(by_id->password_hash, "$argon2id$v=19$hash");
  EXPECT_TRUE(by_id->sysadmin);
  EXPECT_FALSE(by_id->admin_in_auth);
  EXPECT_EQ(by_id->auth_source, "db");
  EXPECT_EQ(by_id->subject, "");
  EXPECT_EQ(by_id->creation_time, alice.creation_time);

  auto by_name = Must(users_->GetByName("olga"));
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->user_id, olga.user_id);
  EXPECT_EQ(by_name->auth_source, "oidc");
  EXPECT_EQ(by_name->cli_secret_hash, "cli-hash");
  EXPECT_TRUE(by_name->admin_in_auth);
  EXPECT_FALSE(by_name->sysadmin);

  auto by_subject = Must(users_->GetBySubject("https://idp.example.com|1234"));
  ASSERT_TRUE(by_subject.has_value());
  EXPECT_EQ(by_subject->user_id, olga.user_id);
  // Local users have subject "": an empty subject finds nobody.
  EXPECT_FALSE(Must(users_->GetBySubject("")).has_value());
  EXPECT_FALSE(Must(users_->GetBySubject("https://idp.example.com|9")).has_value());
  EXPECT_FALSE(Must(users_->GetById(alice.user_id + olga.user_id + 100)).has_value());
  EXPECT_FALSE(Must(users_->GetByName("nobody")).has_value());
  EXPECT_FALSE(Must(users_->GetByName("ALICE")).has_value());  // bytewise on both backends

  UserRecord dup;
  dup.username = "alice";
  dup.email = "other@example.com";
  auto conflict = users_->Create(dup);
  EXPECT_EQ(conflict.status().code(), Code::kConflict);
  EXPECT_EQ(conflict.status().api_code(), "CONFLICT");
  EXPECT_THAT(conflict.status().message(), HasSubstr("alice"));
  EXPECT_EQ(Must(users_->Count()), 2);
  EXPECT_EQ(Must(users_->GetByName("alice"))->email, "alice@example.com");
}

TEST_P(IdentityStoreTest, UserListPagesAndFilters) {
  std::map<std::string, UserRecord> u;
  for (const char* n : {"alice", "bob", "carol", "dave", "a_b", "a%b", "axb", "a1b", "Zed"}) {
    u[n] = AddUser(n, std::string(n) + (std::string(n) == "carol" ? "@Corp.example" : "@example.com"));
  }
  ASSERT_OK(users_->SetSysadmin(u["carol"].user_id, true));

  auto p1 = Must(users_->List(Q("", "", 1, 4)));
  EXPECT_EQ(p1.total, 9);
  EXPECT_THAT(UserNames(p1), ElementsAre("alice", "bob", "carol", "dave"));  // by user_id
  auto p3 = Must(users_->List(Q("", "", 3, 4)));
  EXPECT_EQ(p3.total, 9);
  EXPECT_THAT(UserNames(p3), ElementsAre("Zed"));
  auto p4 = Must(users_->List(Q("", "", 4, 4)));
  EXPECT_EQ(p4.total, 9);
  EXPECT_THAT(p4.items, IsEmpty());

  EXPECT_THAT(ListUserNames("username=bob"), ElementsAre("bob"));
  EXPECT_THAT(ListUserNames("username=Bob"), IsEmpty());
  // Fuzzy: case-insensitive substring; % and _ match themselves.
  EXPECT_THAT(ListUserNames("username=~a_b"), ElementsAre("a_b"));
  EXPECT_THAT(ListUserNames("username=~a%b"), ElementsAre("a%b"));
  EXPECT_THAT(ListUserNames("username=~%"), ElementsAre("a%b"));
  EXPECT_THAT(ListUserNames("username=~_"), ElementsAre("a_b"));
  EXPECT_THAT(ListUserNames("username=~AL"), ElementsAre("alice"));
  EXPECT_THAT(ListUserNames("username=~b"), ElementsAre("bob", "a_b", "a%b", "axb", "a1b"));
  EXPECT_THAT(ListUserNames("username=~z"), ElementsAre("Zed"));
  EXPECT_THAT(ListUserNames("email=~@corp."), ElementsAre("carol"));
  // Lists and ranges.
  EXPECT_THAT(ListUserNames("username={bob dave nobody}"), ElementsAre("bob", "dave"));
  EXPECT_THAT(ListUserNames("username=(bob dave)"), IsEmpty());
  EXPECT_THAT(ListUserNames("username=(bob bob)"), ElementsAre("bob"));
  std::string bob = std::to_string(u["bob"].user_id), dave = std::to_string(u["dave"].user_id);
  EXPECT_THAT(ListUserNames("user_id=[" + bob + "~" + dave + "]"), ElementsAre("bob", "carol", "dave"));
  EXPECT_THAT(ListUserNames("user_id=[~" + bob + "]"), ElementsAre("alice", "bob"));
  EXPECT_THAT(ListUserNames("user_id=[" + std::to_string(u["a1b"].user_id) + "~]"),
              ElementsAre("a1b", "Zed"));
  EXPECT_THAT(ListUserNames("user_id={" + bob + " " + dave + "}"), ElementsAre("bob", "dave"));
  EXPECT_THAT(ListUserNames("user_id=" + dave), ElementsAre("dave"));
  EXPECT_EQ(ListUserNames("creation_time=[1~" + std::to_string(NowUnixMillis() + 1000) + "]").size(), 9u);
  EXPECT_THAT(ListUserNames("creation_time=[~1]"), IsEmpty());
  EXPECT_THAT(ListUserNames("sysadmin_flag=1"), ElementsAre("carol"));
  EXPECT_THAT(ListUserNames("sysadmin_flag=0,username=~a"),
              ElementsAre("alice", "dave", "a_b", "a%b", "axb", "a1b"));
  auto filtered = Must(users_->List(Q("username=~a", "", 2, 2)));
  EXPECT_EQ(filtered.total, 7);  // alice carol dave a_b a%b axb a1b
  EXPECT_THAT(UserNames(filtered), ElementsAre("dave", "a_b"));

  // Only whitelisted keys; numeric keys take numbers.
  EXPECT_EQ(UserListError("password_hash=hash-of-bob"), Code::kInvalidArgument);
  EXPECT_EQ(UserListError("subject=x"), Code::kInvalidArgument);
  EXPECT_EQ(UserListError("user_id=abc"), Code::kInvalidArgument);
  EXPECT_EQ(UserListError("user_id=[1~x]"), Code::kInvalidArgument);
  auto bad = users_->List(Q("nope=1"));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("nope"));
}

TEST_P(IdentityStoreTest, UserListSorts) {
  std::map<std::string, UserRecord> u;
  for (const char* n : {"carol", "alice", "Zed", "bob", "a_b"}) u[n] = AddUser(n);
  ASSERT_OK(users_->SetSysadmin(u["bob"].user_id, true));
  // Bytewise ("Z" < "_" < "a") on both backends.
  EXPECT_THAT(ListUserNames("", "username"), ElementsAre("Zed", "a_b", "alice", "bob", "carol"));
  EXPECT_THAT(ListUserNames("", "-username"), ElementsAre("carol", "bob", "alice", "a_b", "Zed"));
  EXPECT_THAT(ListUserNames("", "-user_id"), ElementsAre("a_b", "bob", "Zed", "alice", "carol"));
  EXPECT_THAT(ListUserNames("", "user_id"), ElementsAre("carol", "alice", "Zed", "bob", "a_b"));
  EXPECT_THAT(ListUserNames("", "-sysadmin_flag,username"),
              ElementsAre("bob", "Zed", "a_b", "alice", "carol"));
  // Ties fall back to user_id.
  EXPECT_THAT(ListUserNames("", "sysadmin_flag"), ElementsAre("carol", "alice", "Zed", "a_b", "bob"));
  auto page = Must(users_->List(Q("", "-username", 2, 2)));
  EXPECT_EQ(page.total, 5);
  EXPECT_THAT(UserNames(page), ElementsAre("alice", "a_b"));

  EXPECT_EQ(UserListError("", "password_hash"), Code::kInvalidArgument);
  auto bad = users_->List(Q("", "-shoe_size"));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("shoe_size"));
}

TEST_P(IdentityStoreTest, UserUpdates) {
  UserRecord erin = AddUser("erin");
  UserRecord other = AddUser("other");
  UserRecord change = erin;
  change.email = "erin@new.example";
  change.realname = "Erin E";
  change.comment = "moved";
  change.username = "hacked";       // not updatable
  change.password_hash = "zzz";      // nor this
  change.sysadmin = true;            // nor this
  ASSERT_OK(users_->UpdateProfile(change));
  auto got = Must(users_->GetById(erin.user_id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->username, "erin");
  EXPECT_EQ(got->email, "erin@new.example");
  EXPECT_EQ(got->realname, "Erin E");
  EXPECT_EQ(got->comment, "moved");
  EXPECT_EQ(got->password_hash, "hash-of-erin");
  EXPECT_FALSE(got->sysadmin);
  EXPECT_EQ(got->creation_time, erin.creation_time);
  EXPECT_GE(got->update_time, erin.update_time);

  ASSERT_OK(users_->SetPassword(erin.user_id, "new-hash"));
  EXPECT_EQ(Must(users_->GetById(erin.user_id))->password_hash, "new-hash");

  // sysadmin_flag and admin_in_auth are kept apart.
  ASSERT_OK(users_->SetSysadmin(erin.user_id, true));
  got = Must(users_->GetById(erin.user_id));
  EXPECT_TRUE(got->sysadmin);
  EXPECT_FALSE(got->admin_in_auth);
  ASSERT_OK(users_->SetAdminInAuth(erin.user_id, true));
  ASSERT_OK(users_->SetSysadmin(erin.user_id, false));
  got = Must(users_->GetById(erin.user_id));
  EXPECT_FALSE(got->sysadmin);
  EXPECT_TRUE(got->admin_in_auth);
  ASSERT_OK(users_->SetAdminInAuth(erin.user_id, false));
  EXPECT_FALSE(Must(users_->GetById(erin.user_id))->admin_in_auth);

  ASSERT_OK(users_->SetCliSecret(erin.user_id, "cli-secret-hash"));
  got = Must(users_->GetById(erin.user_id));
  EXPECT_EQ(got->cli_secret_hash, "cli-secret-hash");
  EXPECT_EQ(got->password_hash, "new-hash");
  EXPECT_EQ(got->email, "erin@new.example");

  // Nothing leaked onto the other user.
  auto o = Must(users_->GetById(other.user_id));
  EXPECT_EQ(o->email, "other@example.com");
  EXPECT_EQ(o->password_hash, "hash-of-other");
  EXPECT_FALSE(o->sysadmin);
  EXPECT_FALSE(o->admin_in_auth);
  EXPECT_EQ(o->cli_secret_hash, "");

  const int64_t missing = erin.user_id + other.user_id + 1000;
  UserRecord ghost;
  ghost.user_id = missing;
  EXPECT_EQ(users_->UpdateProfile(ghost).code(), Code::kNotFound);
  EXPECT_EQ(users_->SetPassword(missing, "x").code(), Code::kNotFound);
  EXPECT_EQ(users_->SetSysadmin(missing, true).code(), Code::kNotFound);
  EXPECT_EQ(users_->SetAdminInAuth(missing, true).code(), Code::kNotFound);
  EXPECT_EQ(users_->SetCliSecret(missing, "x").code(), Code::kNotFound);
}

TEST_P(IdentityStoreTest, UserDeleteRemovesMembershipsAndSessions) {
  UserRecord alice = AddUser("alice");
  UserRecord bob = AddUser("bob");
  UserGroupRecord g = AddGroup("devs");
  ASSERT_EQ(alice.user_id, g.id) << "fresh tables: the first user and group share id 1";
  ProjectRecord p = AddProject("lib", alice.user_id);
  ASSERT_OK(projects_->AddMember(p.project_id, bob.user_id, "u", 2));
  ASSERT_OK(projects_->AddMember(p.project_id, g.id, "g", 3));  // same id as alice, a group
  ASSERT_OK(users_->SetUserGroups(alice.user_id, {g.id}));
  ASSERT_OK(users_->SetUserGroups(bob.user_id, {g.id}));
  int64_t now = NowUnixMillis();
  ASSERT_OK(sessions_->Create({"sid-alice", alice.user_id, "csrf", now, now + 60000}));

  ASSERT_OK(users_->Delete(alice.user_id));
  EXPECT_FALSE(Must(users_->GetById(alice.user_id)).has_value());
  EXPECT_FALSE(Must(users_->GetByName("alice")).has_value());
  EXPECT_EQ(Must(users_->Count()), 1);
  auto members = Must(projects_->ListMembers(p.project_id, Q("", "entityname")));
  EXPECT_THAT(MemberNames(members), ElementsAre("bob", "devs"));  // the group of the same id stays
  EXPECT_TRUE(Must(users_->GroupIdsOf(alice.user_id)).empty());
  EXPECT_THAT(Must(users_->GroupIdsOf(bob.user_id)), ElementsAre(g.id));
  EXPECT_FALSE(Must(sessions_->Get("sid-alice", now)).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM session"), 0);
  EXPECT_TRUE(Must(users_->GetGroup(g.id)).has_value());
  EXPECT_TRUE(Must(projects_->GetById(p.project_id)).has_value());

  EXPECT_EQ(users_->Delete(alice.user_id).code(), Code::kNotFound);
  // A new user of the same name inherits nothing.
  UserRecord again = AddUser("alice");
  EXPECT_NE(again.user_id, alice.user_id);
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, again.user_id, {})), IsEmpty());
}

// ---- Groups ------------------------------------------------------------------------

TEST_P(IdentityStoreTest, GroupsCreateListRenameDelete) {
  UserGroupRecord devs = AddGroup("devs");
  EXPECT_GT(devs.id, 0);
  EXPECT_GT(devs.creation_time, 0);
  auto dup = users_->CreateGroup({0, "devs", kGroupTypeHttp, "", 0, 0});
  EXPECT_EQ(dup.status().code(), Code::kConflict);
  EXPECT_EQ(dup.status().api_code(), "CONFLICT");
  UserGroupRecord oidc_devs = AddGroup("devs", kGroupTypeOidc);  // another type: fine
  EXPECT_NE(oidc_devs.id, devs.id);
  // LDAP DNs are stored trimmed and lower-cased.
  UserGroupRecord ldap = AddGroup("LDAP Devs", kGroupTypeLdap, "  CN=Devs,OU=Groups,DC=Example,DC=Com ");
  EXPECT_EQ(ldap.ldap_group_dn, "cn=devs,ou=groups,dc=example,dc=com");
  UserGroupRecord ops = AddGroup("ops", kGroupTypeLdap, "cn=ops,ou=groups,dc=example,dc=com");

  auto got = Must(users_->GetGroup(ldap.id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->group_name, "LDAP Devs");
  EXPECT_EQ(got->group_type, kGroupTypeLdap);
  EXPECT_EQ(got->ldap_group_dn, "cn=devs,ou=groups,dc=example,dc=com");
  EXPECT_FALSE(Must(users_->GetGroup(ops.id + 100)).has_value());

  auto all = Must(users_->ListGroups(Q()));
  EXPECT_EQ(all.total, 4);
  auto names = [](const Page<UserGroupRecord>& p) {
    std::vector<std::string> out;
    for (const auto& g : p.items) out.push_back(g.group_name);
    return out;
  };
  EXPECT_THAT(names(all), ElementsAre("devs", "devs", "LDAP Devs", "ops"));
  EXPECT_THAT(names(Must(users_->ListGroups(Q("group_type=1")))), ElementsAre("LDAP Devs", "ops"));
  EXPECT_THAT(names(Must(users_->ListGroups(Q("group_name=~DEV")))),
              ElementsAre("devs", "devs", "LDAP Devs"));
  EXPECT_THAT(names(Must(users_->ListGroups(Q("ldap_group_dn=~cn=ops")))), ElementsAre("ops"));
  EXPECT_THAT(names(Must(users_->ListGroups(Q("group_type={2 3}", "-id")))), ElementsAre("devs", "devs"));
  auto page = Must(users_->ListGroups(Q("", "-group_type,id", 2, 2)));  // oidc, http | ldap
  EXPECT_EQ(page.total, 4);
  EXPECT_THAT(names(page), ElementsAre("LDAP Devs", "ops"));
  EXPECT_EQ(users_->ListGroups(Q("members=1")).status().code(), Code::kInvalidArgument);

  ASSERT_OK(users_->RenameGroup(devs.id, "developers"));
  got = Must(users_->GetGroup(devs.id));
  EXPECT_EQ(got->group_name, "developers");
  EXPECT_GE(got->update_time, devs.update_time);
  EXPECT_EQ(Must(users_->GetGroup(oidc_devs.id))->group_name, "devs");
  EXPECT_EQ(users_->RenameGroup(ops.id + 100, "x").code(), Code::kNotFound);

  // Deleting a group removes its memberships and its project members, not a
  // user member of the same id.
  UserRecord alice = AddUser("alice");
  ASSERT_EQ(alice.user_id, devs.id);
  ProjectRecord p = AddProject("lib");
  ASSERT_OK(projects_->AddMember(p.project_id, devs.id, "g", 2));
  ASSERT_OK(projects_->AddMember(p.project_id, alice.user_id, "u", 3));
  ASSERT_OK(projects_->AddMember(p.project_id, ops.id, "g", 4));
  ASSERT_OK(users_->SetUserGroups(alice.user_id, {devs.id, ops.id}));
  ASSERT_OK(users_->DeleteGroup(devs.id));
  EXPECT_FALSE(Must(users_->GetGroup(devs.id)).has_value());
  EXPECT_THAT(Must(users_->GroupIdsOf(alice.user_id)), ElementsAre(ops.id));
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, alice.user_id, {devs.id, ops.id})),
              ElementsAre(3, 4));
  EXPECT_EQ(Must(projects_->ListMembers(p.project_id, Q())).total, 2);
  EXPECT_EQ(users_->DeleteGroup(devs.id).code(), Code::kNotFound);
  EXPECT_EQ(Must(users_->ListGroups(Q())).total, 3);
}

TEST_P(IdentityStoreTest, EnsureGroupIsIdempotentAndPerType) {
  auto http1 = Must(users_->EnsureGroup("devs", kGroupTypeHttp, ""));
  auto http2 = Must(users_->EnsureGroup("devs", kGroupTypeHttp, ""));
  EXPECT_GT(http1.id, 0);
  EXPECT_EQ(http2.id, http1.id);
  auto oidc = Must(users_->EnsureGroup("devs", kGroupTypeOidc, ""));
  EXPECT_NE(oidc.id, http1.id);
  EXPECT_EQ(oidc.group_type, kGroupTypeOidc);
  EXPECT_EQ(Must(users_->EnsureGroup("devs", kGroupTypeOidc, "")).id, oidc.id);
  EXPECT_NE(Must(users_->EnsureGroup("ops", kGroupTypeHttp, "")).id, http1.id);

  // LDAP groups: by DN, case-insensitively, whatever the name.
  auto ldap = Must(users_->EnsureGroup("Devs", kGroupTypeLdap, " CN=Devs,OU=Groups,DC=Example,DC=Com"));
  EXPECT_EQ(ldap.ldap_group_dn, "cn=devs,ou=groups,dc=example,dc=com");
  EXPECT_EQ(ldap.group_name, "Devs");
  EXPECT_NE(ldap.id, http1.id);
  auto same = Must(users_->EnsureGroup("renamed", kGroupTypeLdap, "cn=DEVS,ou=groups,dc=EXAMPLE,dc=com"));
  EXPECT_EQ(same.id, ldap.id);
  EXPECT_EQ(same.group_name, "Devs");
  auto other_dn = Must(users_->EnsureGroup("Devs", kGroupTypeLdap, "cn=devs,ou=other,dc=example,dc=com"));
  EXPECT_NE(other_dn.id, ldap.id);
  // A group made through CreateGroup is found by EnsureGroup.
  UserGroupRecord created = AddGroup("Made", kGroupTypeLdap, "CN=Made,DC=Example");
  EXPECT_EQ(Must(users_->EnsureGroup("x", kGroupTypeLdap, "cn=made,dc=example")).id, created.id);
  // Rows stored before DNs were normalized are found too.
  ASSERT_OK(ExecSql(
      "INSERT INTO user_group (group_name, group_type, ldap_group_dn, creation_time, update_time) "
      "VALUES ('legacy', 1, 'CN=Legacy,DC=Example', 1, 1)"));
  int64_t legacy = QueryInt("SELECT id FROM user_group WHERE group_name = 'legacy'");
  EXPECT_EQ(Must(users_->EnsureGroup("legacy", kGroupTypeLdap, "CN=LEGACY,dc=example")).id, legacy);

  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM user_group"), 7);
  EXPECT_EQ(Must(users_->ListGroups(Q("group_type=1"))).total, 4);
}

TEST_P(IdentityStoreTest, SetUserGroupsReplacesMemberships) {
  UserRecord alice = AddUser("alice");
  UserRecord bob = AddUser("bob");
  UserGroupRecord g1 = AddGroup("g1"), g2 = AddGroup("g2"), g3 = AddGroup("g3");
  EXPECT_THAT(Must(users_->GroupIdsOf(alice.user_id)), IsEmpty());
  ASSERT_OK(users_->SetUserGroups(alice.user_id, {g3.id, g1.id}));
  EXPECT_THAT(Must(users_->GroupIdsOf(alice.user_id)), ElementsAre(g1.id, g3.id));
  ASSERT_OK(users_->SetUserGroups(bob.user_id, {g2.id}));
  ASSERT_OK(users_->SetUserGroups(alice.user_id, {g2.id, g2.id}));  // duplicates collapse
  EXPECT_THAT(Must(users_->GroupIdsOf(alice.user_id)), ElementsAre(g2.id));
  EXPECT_THAT(Must(users_->GroupIdsOf(bob.user_id)), ElementsAre(g2.id));
  // A missing group fails the whole replacement: the old memberships stay.
  Status bad = users_->SetUserGroups(alice.user_id, {g1.id, g3.id + 100});
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(Must(users_->GroupIdsOf(alice.user_id)), ElementsAre(g2.id));
  ASSERT_OK(users_->SetUserGroups(alice.user_id, {}));
  EXPECT_THAT(Must(users_->GroupIdsOf(alice.user_id)), IsEmpty());
  EXPECT_THAT(Must(users_->GroupIdsOf(bob.user_id)), ElementsAre(g2.id));
  EXPECT_THAT(Must(users_->GroupIdsOf(bob.user_id + 100)), IsEmpty());
}

// ---- Projects ----------------------------------------------------------------------

TEST_P(IdentityStoreTest, ProjectCreateAndGet) {
  UserRecord alice = AddUser("alice");
  int64_t before = NowUnixMillis();
  ProjectRecord p = Must(projects_->Create("lib", alice.user_id,
                                           {{"public", "true"}, {"auto_scan", "false"}}));
  EXPECT_GT(p.project_id, 0);
  EXPECT_EQ(p.name, "lib");
  EXPECT_EQ(p.owner_id, alice.user_id);
  EXPECT_EQ(p.owner_name, "alice");
  EXPECT_EQ(p.registry_id, 0);
  EXPECT_GE(p.creation_time, before);
  EXPECT_EQ(p.update_time, p.creation_time);
  EXPECT_THAT(p.metadata, ElementsAre(Pair("auto_scan", "false"), Pair("public", "true")));
  EXPECT_TRUE(p.IsPublic());
  EXPECT_EQ(p.repo_count, 0);

  // The owner is the project's admin.
  auto members = Must(projects_->ListMembers(p.project_id, Q()));
  ASSERT_EQ(members.total, 1);
  EXPECT_EQ(members.items[0].entity_id, alice.user_id);
  EXPECT_EQ(members.items[0].entity_type, "u");
  EXPECT_EQ(members.items[0].entity_name, "alice");
  EXPECT_EQ(members.items[0].role, 1);
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, alice.user_id, {})), ElementsAre(1));

  for (auto got : {Must(projects_->GetByName("lib")), Must(projects_->GetById(p.project_id))}) {
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->project_id, p.project_id);
    EXPECT_EQ(got->name, "lib");
    EXPECT_EQ(got->owner_name, "alice");
    EXPECT_EQ(got->metadata, p.metadata);
    EXPECT_EQ(got->creation_time, p.creation_time);
  }
  EXPECT_FALSE(Must(projects_->GetByName("LIB")).has_value());
  EXPECT_FALSE(Must(projects_->GetByName("li")).has_value());
  EXPECT_FALSE(Must(projects_->GetById(p.project_id + 100)).has_value());

  // A taken name: kConflict, and nothing half-made.
  auto dup = projects_->Create("lib", 0, {{"public", "false"}, {"x", "y"}});
  EXPECT_EQ(dup.status().code(), Code::kConflict);
  EXPECT_EQ(dup.status().api_code(), "CONFLICT");
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM project_metadata"), 2);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM project_member"), 1);

  ProjectRecord bare = Must(projects_->Create("bare", 0, {}));
  EXPECT_TRUE(bare.metadata.empty());
  EXPECT_FALSE(bare.IsPublic());
  EXPECT_EQ(bare.owner_name, "");
  EXPECT_EQ(Must(projects_->ListMembers(bare.project_id, Q())).total, 0);
  ProjectRecord proxy = Must(projects_->Create("proxy", alice.user_id, {{"public", "false"}}, 7));
  EXPECT_EQ(proxy.registry_id, 7);
  EXPECT_FALSE(proxy.IsPublic());
}

TEST_P(IdentityStoreTest, ProjectRepositoriesJoinOnCreationByExactPrefix) {
  Link("early/app");
  Link("early/db");
  Link("earlyish/z");
  Link("myXp/x");
  Link("my_p/y");
  EXPECT_EQ(RepoProjectId("early/app"), 0);

  ProjectRecord early = AddProject("early");
  EXPECT_EQ(early.repo_count, 2);
  EXPECT_EQ(Must(projects_->RepoCount(early.project_id)), 2);
  EXPECT_EQ(RepoProjectId("early/app"), early.project_id);
  EXPECT_EQ(RepoProjectId("earlyish/z"), 0);

  // "_" is not a wildcard: my_p does not capture myXp/....
  ProjectRecord my_p = AddProject("my_p");
  EXPECT_EQ(my_p.repo_count, 1);
  EXPECT_EQ(RepoProjectId("my_p/y"), my_p.project_id);
  EXPECT_EQ(RepoProjectId("myXp/x"), 0);
  ProjectRecord myxp = AddProject("myXp");
  EXPECT_EQ(myxp.repo_count, 1);
  EXPECT_EQ(RepoProjectId("myXp/x"), myxp.project_id);

  // Pushed after creation: joins at once.
  Link("early/later");
  EXPECT_EQ(RepoProjectId("early/later"), early.project_id);
  EXPECT_EQ(Must(projects_->GetByName("early"))->repo_count, 3);
  EXPECT_EQ(Must(projects_->GetById(my_p.project_id))->repo_count, 1);
  auto listed = Must(projects_->List(Q("name=early"), AllProjects()));
  ASSERT_EQ(listed.items.size(), 1u);
  EXPECT_EQ(listed.items[0].repo_count, 3);
}

TEST_P(IdentityStoreTest, ProjectListVisibility) {
  UserRecord alice = AddUser("alice");
  UserRecord bob = AddUser("bob");
  UserRecord carol = AddUser("carol");
  UserGroupRecord g = AddGroup("bob-team");
  AddProject("pub", 0, true);
  AddProject("apriv", alice.user_id, false);
  ProjectRecord bpriv = AddProject("bpriv", 0, false);
  ProjectRecord cpriv = AddProject("cpriv", 0, false);
  ProjectRecord nometa = Must(projects_->Create("nometa", 0, {}));  // no "public" key: private
  ASSERT_OK(projects_->AddMember(bpriv.project_id, g.id, "g", 3));

  EXPECT_THAT(Visible(AllProjects()), ElementsAre("apriv", "bpriv", "cpriv", "nometa", "pub"));
  EXPECT_THAT(Visible({}), ElementsAre("pub"));  // anonymous
  EXPECT_THAT(Visible(AsUser(alice.user_id)), ElementsAre("apriv", "pub"));
  EXPECT_THAT(Visible(AsUser(bob.user_id, {g.id})), ElementsAre("bpriv", "pub"));
  EXPECT_THAT(Visible(AsUser(bob.user_id)), ElementsAre("pub"));
  EXPECT_THAT(Visible(AsUser(carol.user_id)), ElementsAre("pub"));
  // Group id 1 does not match alice, the user member 1 of apriv.
  ASSERT_EQ(alice.user_id, g.id);
  EXPECT_THAT(Visible(AsUser(carol.user_id, {g.id})), ElementsAre("bpriv", "pub"));
  ASSERT_OK(projects_->AddMember(cpriv.project_id, carol.user_id, "u", 2));
  EXPECT_THAT(Visible(AsUser(carol.user_id)), ElementsAre("cpriv", "pub"));
  // A project robot also sees its own project.
  EXPECT_THAT(Visible(AsUser(0, {}, nometa.project_id)), ElementsAre("nometa", "pub"));
  EXPECT_THAT(Visible(AsUser(alice.user_id, {}, nometa.project_id)),
              ElementsAre("apriv", "nometa", "pub"));
  // Filters apply within what one may see; totals count the visible only.
  EXPECT_THAT(Visible(AsUser(alice.user_id), "name=~priv"), ElementsAre("apriv"));
  EXPECT_THAT(Visible({}, "public=false"), IsEmpty());
  auto page = Must(projects_->List(Q("", "name", 1, 2), AsUser(carol.user_id)));
  EXPECT_EQ(page.total, 2);
  auto all_page = Must(projects_->List(Q("", "name", 2, 2), AllProjects()));
  EXPECT_EQ(all_page.total, 5);
  EXPECT_THAT(ProjectNames(all_page), ElementsAre("cpriv", "nometa"));
}

TEST_P(IdentityStoreTest, ProjectListQueryKeysAndSort) {
  UserRecord alice = AddUser("alice");
  UserRecord bob = AddUser("bob");
  ProjectRecord lib = AddProject("lib", alice.user_id, true);
  ProjectRecord app = AddProject("app", bob.user_id, false);
  ProjectRecord my_p = AddProject("my_p", alice.user_id, false);
  ProjectRecord myxp = AddProject("myxp", 0, true);
  ProjectVisibility all = AllProjects();
  auto names = [&](std::string_view q, std::string_view sort = "") {
    return ProjectNames(Must(projects_->List(Q(q, sort), all)));
  };
  EXPECT_THAT(names(""), ElementsAre("lib", "app", "my_p", "myxp"));  // by project_id
  EXPECT_THAT(names("name=lib"), ElementsAre("lib"));
  EXPECT_THAT(names("name=~LI"), ElementsAre("lib"));
  EXPECT_THAT(names("name=~_"), ElementsAre("my_p"));
  EXPECT_THAT(names("name=~p", "name"), ElementsAre("app", "my_p", "myxp"));
  EXPECT_THAT(names("public=true"), ElementsAre("lib", "myxp"));
  EXPECT_THAT(names("public=false"), ElementsAre("app", "my_p"));
  EXPECT_THAT(names("owner=alice"), ElementsAre("lib", "my_p"));
  EXPECT_THAT(names("owner=~B"), ElementsAre("app"));
  EXPECT_THAT(names("project_id=" + std::to_string(app.project_id)), ElementsAre("app"));
  EXPECT_THAT(names("project_id={" + std::to_string(lib.project_id) + " " +
                    std::to_string(myxp.project_id) + "}"),
              ElementsAre("lib", "myxp"));
  EXPECT_THAT(names("project_id=[" + std::to_string(app.project_id) + "~" +
                    std::to_string(my_p.project_id) + "]", "-name"),
              ElementsAre("my_p", "app"));
  EXPECT_THAT(names("public=true,owner=alice"), ElementsAre("lib"));
  EXPECT_THAT(names("", "-name"), ElementsAre("myxp", "my_p", "lib", "app"));
  EXPECT_THAT(names("", "-project_id"), ElementsAre("myxp", "my_p", "app", "lib"));
  EXPECT_THAT(names("creation_time=[1~]"), ElementsAre("lib", "app", "my_p", "myxp"));
  EXPECT_EQ(projects_->List(Q("owner_id=1"), all).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(projects_->List(Q("project_id=lib"), all).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(projects_->List(Q("", "owner_id"), all).status().code(), Code::kInvalidArgument);
}

TEST_P(IdentityStoreTest, ProjectMetadataUpsertAndDelete) {
  ProjectRecord p = AddProject("lib", 0, false);
  ProjectRecord other = Must(projects_->Create("other", 0, {{"public", "true"}, {"severity", "low"}}));
  ASSERT_OK(projects_->SetMetadata(p.project_id, {{"public", "true"}, {"severity", "high"}}));
  auto got = Must(projects_->GetById(p.project_id));
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->metadata, ElementsAre(Pair("public", "true"), Pair("severity", "high")));
  EXPECT_TRUE(got->IsPublic());
  EXPECT_GE(got->update_time, p.update_time);
  ASSERT_OK(projects_->SetMetadata(p.project_id, {{"public", "true"}}));  // idempotent
  ASSERT_OK(projects_->SetMetadata(p.project_id, {}));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM project_metadata WHERE project_id = $1",
                     {SqlInt(p.project_id)}),
            2);

  ASSERT_OK(projects_->DeleteMetadata(p.project_id, "severity"));
  EXPECT_THAT(Must(projects_->GetById(p.project_id))->metadata, ElementsAre(Pair("public", "true")));
  EXPECT_EQ(projects_->DeleteMetadata(p.project_id, "severity").code(), Code::kNotFound);
  EXPECT_EQ(projects_->DeleteMetadata(p.project_id, "nope").code(), Code::kNotFound);
  ASSERT_OK(projects_->DeleteMetadata(p.project_id, "public"));
  EXPECT_FALSE(Must(projects_->GetById(p.project_id))->IsPublic());
  // The other project is untouched.
  EXPECT_THAT(Must(projects_->GetById(other.project_id))->metadata,
              ElementsAre(Pair("public", "true"), Pair("severity", "low")));
}

TEST_P(IdentityStoreTest, ProjectDeleteRefusedWithRepositoriesAndTakesItsRobots) {
  UserRecord alice = AddUser("alice");
  ProjectRecord lib = AddProject("lib", alice.user_id, true);
  ProjectRecord other = AddProject("other");
  ASSERT_OK(projects_->AddMember(lib.project_id, AddGroup("g").id, "g", 2));
  RobotRecord lib_bot = AddRobot("robot$lib+ci", "project", lib.project_id);
  RobotRecord other_bot = AddRobot("robot$other+ci", "project", other.project_id);
  RobotRecord sys_bot = AddRobot("robot$sys", "system", 0);
  Link("lib/x");
  Link("libx/y");  // another project's name, not lib's

  Status refused = projects_->Delete(lib.project_id);
  EXPECT_EQ(refused.code(), Code::kPreconditionFailed);
  EXPECT_TRUE(Must(projects_->GetById(lib.project_id)).has_value());
  EXPECT_EQ(Must(projects_->ListMembers(lib.project_id, Q())).total, 2);
  EXPECT_TRUE(Must(robots_->GetById(lib_bot.id)).has_value());

  ASSERT_OK(ExecSql("DELETE FROM repository WHERE name = 'lib/x'"));
  ASSERT_OK(projects_->Delete(lib.project_id));
  EXPECT_FALSE(Must(projects_->GetById(lib.project_id)).has_value());
  EXPECT_FALSE(Must(projects_->GetByName("lib")).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM project_metadata WHERE project_id = $1",
                     {SqlInt(lib.project_id)}),
            0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM project_member WHERE project_id = $1",
                     {SqlInt(lib.project_id)}),
            0);
  EXPECT_FALSE(Must(robots_->GetById(lib_bot.id)).has_value());
  EXPECT_TRUE(Must(robots_->GetById(other_bot.id)).has_value());
  EXPECT_TRUE(Must(robots_->GetById(sys_bot.id)).has_value());
  EXPECT_TRUE(Must(projects_->GetById(other.project_id)).has_value());
  EXPECT_EQ(projects_->Delete(lib.project_id).code(), Code::kNotFound);

  // Re-created under the same name: a new project, nothing inherited.
  ProjectRecord again = AddProject("lib");
  EXPECT_NE(again.project_id, lib.project_id);
  EXPECT_EQ(again.repo_count, 0);
  EXPECT_EQ(Must(projects_->ListMembers(again.project_id, Q())).total, 0);
  EXPECT_EQ(Must(robots_->List(Q("project_id=" + std::to_string(again.project_id)))).total, 0);
}

// ---- Members -----------------------------------------------------------------------

TEST_P(IdentityStoreTest, ProjectMembers) {
  UserRecord alice = AddUser("alice");
  UserRecord bob = AddUser("bob");
  UserRecord b_x = AddUser("b_x");
  UserRecord bxx = AddUser("bxx");
  UserRecord carol = AddUser("carol");
  UserGroupRecord devs = AddGroup("devs");
  ProjectRecord p = AddProject("lib", alice.user_id);
  ProjectRecord other = AddProject("other");

  MemberRecord mb = Must(projects_->AddMember(p.project_id, bob.user_id, "u", 2));
  EXPECT_GT(mb.id, 0);
  EXPECT_EQ(mb.project_id, p.project_id);
  EXPECT_EQ(mb.entity_id, bob.user_id);
  EXPECT_EQ(mb.entity_type, "u");
  EXPECT_EQ(mb.entity_name, "bob");
  EXPECT_EQ(mb.role, 2);
  EXPECT_GT(mb.creation_time, 0);
  MemberRecord mg = Must(projects_->AddMember(p.project_id, devs.id, "g", 3));
  EXPECT_EQ(mg.entity_name, "devs");
  EXPECT_EQ(mg.entity_type, "g");
  MemberRecord mbx = Must(projects_->AddMember(p.project_id, b_x.user_id, "u", 4));
  MemberRecord mbxx = Must(projects_->AddMember(p.project_id, bxx.user_id, "u", 5));
  auto dup = projects_->AddMember(p.project_id, bob.user_id, "u", 3);
  EXPECT_EQ(dup.status().code(), Code::kConflict);
  EXPECT_EQ(dup.status().api_code(), "CONFLICT");
  ASSERT_OK(projects_->AddMember(other.project_id, bob.user_id, "u", 3));  // another project: fine

  auto all = Must(projects_->ListMembers(p.project_id, Q()));
  EXPECT_EQ(all.total, 5);
  EXPECT_THAT(MemberNames(all), ElementsAre("alice", "bob", "devs", "b_x", "bxx"));
  auto names = [&](std::string_view q, std::string_view sort = "") {
    return MemberNames(Must(projects_->ListMembers(p.project_id, Q(q, sort))));
  };
  EXPECT_THAT(names("entityname=bob"), ElementsAre("bob"));
  EXPECT_THAT(names("entityname=~B"), ElementsAre("bob", "b_x", "bxx"));
  EXPECT_THAT(names("entityname=~b_"), ElementsAre("b_x"));
  EXPECT_THAT(names("entityname=~EV"), ElementsAre("devs"));
  EXPECT_THAT(names("entity_type=g"), ElementsAre("devs"));
  EXPECT_THAT(names("role={4 5}", "-role"), ElementsAre("bxx", "b_x"));
  EXPECT_THAT(names("", "entityname"), ElementsAre("alice", "b_x", "bob", "bxx", "devs"));
  auto page = Must(projects_->ListMembers(p.project_id, Q("entity_type=u", "", 2, 3)));
  EXPECT_EQ(page.total, 4);
  EXPECT_THAT(MemberNames(page), ElementsAre("bxx"));
  EXPECT_EQ(projects_->ListMembers(p.project_id, Q("entity_id=1")).status().code(),
            Code::kInvalidArgument);

  auto got = Must(projects_->GetMember(p.project_id, mg.id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->entity_name, "devs");
  EXPECT_FALSE(Must(projects_->GetMember(other.project_id, mg.id)).has_value());
  EXPECT_FALSE(Must(projects_->GetMember(p.project_id, mbxx.id + 100)).has_value());

  ASSERT_OK(projects_->UpdateMemberRole(p.project_id, mb.id, 4));
  got = Must(projects_->GetMember(p.project_id, mb.id));
  EXPECT_EQ(got->role, 4);
  EXPECT_GE(got->update_time, mb.update_time);
  EXPECT_EQ(projects_->UpdateMemberRole(other.project_id, mb.id, 1).code(), Code::kNotFound);
  EXPECT_EQ(projects_->UpdateMemberRole(p.project_id, mbxx.id + 100, 1).code(), Code::kNotFound);
  EXPECT_EQ(Must(projects_->GetMember(p.project_id, mb.id))->role, 4);

  // Roles directly and through groups.
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, bob.user_id, {})), ElementsAre(4));
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, bob.user_id, {devs.id})), ElementsAre(3, 4));
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, carol.user_id, {devs.id})), ElementsAre(3));
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, carol.user_id, {})), IsEmpty());
  EXPECT_THAT(Must(projects_->RolesOf(other.project_id, bob.user_id, {devs.id})), ElementsAre(3));
  EXPECT_THAT(Must(projects_->RolesOf(other.project_id, carol.user_id, {devs.id})), IsEmpty());
  // alice is user 1 and devs is group 1: neither stands in for the other.
  ASSERT_EQ(alice.user_id, devs.id);
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, carol.user_id, {alice.user_id + 100})), IsEmpty());
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, alice.user_id, {})), ElementsAre(1));

  EXPECT_THAT(Must(projects_->RoleCounts(p.project_id)),
              ElementsAre(Pair(1, 1), Pair(3, 1), Pair(4, 2), Pair(5, 1)));
  EXPECT_THAT(Must(projects_->RoleCounts(other.project_id)), ElementsAre(Pair(3, 1)));
  EXPECT_THAT(Must(projects_->RoleCounts(other.project_id + 100)), IsEmpty());

  EXPECT_EQ(projects_->DeleteMember(other.project_id, mg.id).code(), Code::kNotFound);
  ASSERT_OK(projects_->DeleteMember(p.project_id, mg.id));
  EXPECT_EQ(projects_->DeleteMember(p.project_id, mg.id).code(), Code::kNotFound);
  EXPECT_FALSE(Must(projects_->GetMember(p.project_id, mg.id)).has_value());
  EXPECT_THAT(Must(projects_->RolesOf(p.project_id, carol.user_id, {devs.id})), IsEmpty());
  EXPECT_EQ(Must(projects_->ListMembers(p.project_id, Q())).total, 4);
  // Re-adding after removal works.
  ASSERT_OK(projects_->AddMember(p.project_id, devs.id, "g", 2));
}

// ---- Robots ------------------------------------------------------------------------

TEST_P(IdentityStoreTest, Robots) {
  ProjectRecord lib = AddProject("lib");
  ProjectRecord app = AddProject("app");
  RobotRecord sys = AddRobot("robot$ci", "system", 0);
  RobotRecord lib_ci = AddRobot("robot$lib+ci", "project", lib.project_id);
  RobotRecord lib_push = AddRobot("robot$lib+push", "project", lib.project_id);
  RobotRecord app_ci = AddRobot("robot$app+ci", "project", app.project_id);
  EXPECT_GT(sys.id, 0);
  EXPECT_GT(sys.creation_time, 0);
  auto dup = robots_->Create(lib_ci);
  EXPECT_EQ(dup.status().code(), Code::kConflict);
  EXPECT_EQ(dup.status().api_code(), "CONFLICT");

  auto got = Must(robots_->GetById(lib_ci.id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "robot$lib+ci");
  EXPECT_EQ(got->description, "robot robot$lib+ci");
  EXPECT_EQ(got->secret_hash, "secret-of-robot$lib+ci");
  EXPECT_EQ(got->level, "project");
  EXPECT_EQ(got->project_id, lib.project_id);
  EXPECT_EQ(got->duration, -1);
  EXPECT_EQ(got->expires_at, -1);
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(got->permissions_json, R"([{"kind":"project","namespace":"*"}])");
  EXPECT_EQ(got->creator_type, "local");
  EXPECT_EQ(got->creator_ref, "1");
  EXPECT_EQ(got->creation_time, lib_ci.creation_time);
  auto by_name = Must(robots_->GetByName("robot$ci"));
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->id, sys.id);
  EXPECT_EQ(by_name->level, "system");
  EXPECT_FALSE(Must(robots_->GetByName("robot$nope")).has_value());
  EXPECT_FALSE(Must(robots_->GetById(app_ci.id + 100)).has_value());

  auto names = [&](std::string_view q, std::string_view sort = "") {
    return RobotNames(Must(robots_->List(Q(q, sort))));
  };
  EXPECT_THAT(names(""), ElementsAre("robot$ci", "robot$lib+ci", "robot$lib+push", "robot$app+ci"));
  EXPECT_THAT(names("level=system"), ElementsAre("robot$ci"));
  EXPECT_THAT(names("level=project,project_id=" + std::to_string(lib.project_id)),
              ElementsAre("robot$lib+ci", "robot$lib+push"));
  EXPECT_THAT(names("project_id=" + std::to_string(app.project_id)), ElementsAre("robot$app+ci"));
  EXPECT_THAT(names("name=~+CI", "name"), ElementsAre("robot$app+ci", "robot$lib+ci"));
  EXPECT_THAT(names("", "-id"), ElementsAre("robot$app+ci", "robot$lib+push", "robot$lib+ci", "robot$ci"));
  auto page = Must(robots_->List(Q("level=project", "", 1, 2)));
  EXPECT_EQ(page.total, 3);
  EXPECT_EQ(page.items.size(), 2u);
  EXPECT_EQ(robots_->List(Q("secret_hash=x")).status().code(), Code::kInvalidArgument);

  RobotRecord change = *got;
  change.description = "updated";
  change.disabled = true;
  change.duration = 30;
  change.expires_at = 1900000000;
  change.permissions_json = "[]";
  change.name = "robot$renamed";      // not updatable
  change.secret_hash = "sneaky";      // nor this
  change.project_id = app.project_id;  // nor this
  ASSERT_OK(robots_->Update(change));
  got = Must(robots_->GetById(lib_ci.id));
  EXPECT_EQ(got->description, "updated");
  EXPECT_TRUE(got->disabled);
  EXPECT_EQ(got->duration, 30);
  EXPECT_EQ(got->expires_at, 1900000000);
  EXPECT_EQ(got->permissions_json, "[]");
  EXPECT_EQ(got->name, "robot$lib+ci");
  EXPECT_EQ(got->secret_hash, "secret-of-robot$lib+ci");
  EXPECT_EQ(got->project_id, lib.project_id);
  EXPECT_GE(got->update_time, lib_ci.update_time);
  EXPECT_THAT(names("disabled=1"), ElementsAre("robot$lib+ci"));
  EXPECT_EQ(Must(robots_->List(Q("disabled=0"))).total, 3);

  ASSERT_OK(robots_->SetSecret(lib_ci.id, "rotated"));
  EXPECT_EQ(Must(robots_->GetById(lib_ci.id))->secret_hash, "rotated");
  EXPECT_EQ(Must(robots_->GetById(lib_push.id))->secret_hash, "secret-of-robot$lib+push");

  ASSERT_OK(robots_->Delete(lib_ci.id));
  EXPECT_FALSE(Must(robots_->GetById(lib_ci.id)).has_value());
  RobotRecord ghost;
  ghost.id = lib_ci.id;
  EXPECT_EQ(robots_->Update(ghost).code(), Code::kNotFound);
  EXPECT_EQ(robots_->SetSecret(lib_ci.id, "x").code(), Code::kNotFound);
  EXPECT_EQ(robots_->Delete(lib_ci.id).code(), Code::kNotFound);
  EXPECT_EQ(Must(robots_->List(Q())).total, 3);
  // The name is free again.
  EXPECT_OK(robots_->Create(lib_ci));
}

// ---- Sessions ----------------------------------------------------------------------

TEST_P(IdentityStoreTest, Sessions) {
  UserRecord alice = AddUser("alice");
  const int64_t now = NowUnixMillis();
  ASSERT_OK(sessions_->Create({"h1", alice.user_id, "csrf-1", now, now + 60000}));
  auto got = Must(sessions_->Get("h1", now));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id_hash, "h1");
  EXPECT_EQ(got->user_id, alice.user_id);
  EXPECT_EQ(got->csrf_token, "csrf-1");
  EXPECT_EQ(got->creation_time, now);
  EXPECT_EQ(got->expires_at, now + 60000);
  // Only while not expired: gone at expires_at.
  EXPECT_TRUE(Must(sessions_->Get("h1", now + 59999)).has_value());
  EXPECT_FALSE(Must(sessions_->Get("h1", now + 60000)).has_value());
  EXPECT_FALSE(Must(sessions_->Get("h2", now)).has_value());

  EXPECT_EQ(sessions_->Create({"h1", alice.user_id, "other", now, now + 1}).code(), Code::kConflict);
  EXPECT_FALSE(sessions_->Create({"hx", alice.user_id + 100, "c", now, now + 1000}).ok());  // no such user

  ASSERT_OK(sessions_->Create({"h2", alice.user_id, "csrf-2", now, now + 10}));
  ASSERT_OK(sessions_->Create({"h3", alice.user_id, "csrf-3", now, now + 1000}));
  ASSERT_OK(sessions_->DeleteExpired(now + 1000));  // h2 and h3 (at their expiry) go
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM session"), 1);
  EXPECT_TRUE(Must(sessions_->Get("h1", now)).has_value());
  ASSERT_OK(sessions_->DeleteExpired(now));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM session"), 1);

  ASSERT_OK(sessions_->Delete("h1"));
  EXPECT_FALSE(Must(sessions_->Get("h1", now)).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM session"), 0);
  EXPECT_OK(sessions_->Delete("h1"));  // deleting a missing session is not an error
}

// ---- Audit log ---------------------------------------------------------------------

TEST_P(IdentityStoreTest, AuditLog) {
  ProjectRecord lib = AddProject("lib");
  ProjectRecord other = AddProject("other");
  auto rec = [](int64_t project_id, std::string project_name, std::string user,
                std::string resource, std::string type, std::string op, std::string result,
                int64_t t) {
    AuditRecord a;
    a.project_id = project_id;
    a.project_name = std::move(project_name);
    a.username = std::move(user);
    a.resource = std::move(resource);
    a.resource_type = std::move(type);
    a.operation = std::move(op);
    a.operation_result = std::move(result);
    a.op_time = t;
    return a;
  };
  // project_id from project_name when 0; an explicit id wins.
  ASSERT_OK(audit_->Add(rec(0, "lib", "alice", "lib/app:1", "artifact", "push", "success", 1000)));
  ASSERT_OK(audit_->Add(rec(other.project_id, "lib", "bob", "other/app:1", "artifact", "pull",
                            "success", 2000)));
  ASSERT_OK(audit_->Add(rec(0, "ghost", "carol", "carol", "user", "create", "success", 3000)));
  ASSERT_OK(audit_->Add(rec(0, "", "admin", "alice", "login", "login", "failure", 4000)));
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(rec(i % 2 == 0 ? lib.project_id : 0, i % 2 == 0 ? "" : "other",
                        i % 3 == 0 ? "alice" : "bob", "r" + std::to_string(i),
                        i % 2 == 0 ? "artifact" : "repository", i % 4 == 0 ? "delete" : "push",
                        "success", 10000 + i));
  }
  ASSERT_OK(audit_->AddBatch(batch));
  ASSERT_OK(audit_->AddBatch({}));

  auto all = Must(audit_->List(Q(), nullptr));
  EXPECT_EQ(all.total, 24);
  ASSERT_EQ(all.items.size(), 24u);
  // Newest first.
  EXPECT_EQ(all.items.front().op_time, 10019);
  EXPECT_EQ(all.items.back().op_time, 1000);
  for (size_t i = 1; i < all.items.size(); ++i) {
    EXPECT_GT(all.items[i - 1].op_time, all.items[i].op_time);
    EXPECT_GT(all.items[i - 1].id, all.items[i].id);
  }
  const AuditRecord& first = all.items.back();
  EXPECT_EQ(first.project_id, lib.project_id);
  EXPECT_EQ(first.username, "alice");
  EXPECT_EQ(first.resource, "lib/app:1");
  EXPECT_EQ(first.resource_type, "artifact");
  EXPECT_EQ(first.operation, "push");
  EXPECT_EQ(first.operation_result, "success");
  EXPECT_EQ(all.items[all.items.size() - 2].project_id, other.project_id);
  EXPECT_EQ(all.items[all.items.size() - 3].project_id, 0);  // "ghost"
  EXPECT_EQ(all.items[all.items.size() - 4].project_id, 0);  // no name
  EXPECT_EQ(Must(audit_->List(Q("resource=r1"), nullptr)).items.at(0).project_id, other.project_id);

  auto times = [&](std::string_view q, const std::vector<int64_t>* scope = nullptr,
                   std::string_view sort = "") {
    return OpTimes(Must(audit_->List(Q(q, sort), scope)));
  };
  EXPECT_THAT(times("op_time=[10005~10009]"), ElementsAre(10009, 10008, 10007, 10006, 10005));
  EXPECT_THAT(times("op_time=[~2000]"), ElementsAre(2000, 1000));
  EXPECT_THAT(times("op_time=[10017~]"), ElementsAre(10019, 10018, 10017));
  EXPECT_THAT(times("op_time=[3000~4000]", nullptr, "op_time"), ElementsAre(3000, 4000));
  EXPECT_THAT(times("operation=pull"), ElementsAre(2000));
  EXPECT_THAT(times("operation_result=failure"), ElementsAre(4000));
  EXPECT_THAT(times("username=~ADM"), ElementsAre(4000));
  EXPECT_THAT(times("resource_type={user login}"), ElementsAre(4000, 3000));
  EXPECT_THAT(times("operation=delete,op_time=[10000~10010]"), ElementsAre(10008, 10004, 10000));
  EXPECT_EQ(Must(audit_->List(Q("resource_type=repository"), nullptr)).total, 10);
  auto page = Must(audit_->List(Q("", "", 2, 5), nullptr));
  EXPECT_EQ(page.total, 24);
  EXPECT_THAT(OpTimes(page), ElementsAre(10014, 10013, 10012, 10011, 10010));

  // Scoped to project ids.
  std::vector<int64_t> only_lib = {lib.project_id};
  auto scoped = Must(audit_->List(Q(), &only_lib));
  EXPECT_EQ(scoped.total, 11);
  for (const auto& a : scoped.items) EXPECT_EQ(a.project_id, lib.project_id);
  EXPECT_THAT(times("op_time=[~10004]", &only_lib), ElementsAre(10004, 10002, 10000, 1000));
  std::vector<int64_t> both = {lib.project_id, other.project_id};
  EXPECT_EQ(Must(audit_->List(Q(), &both)).total, 22);
  std::vector<int64_t> none;
  auto empty = Must(audit_->List(Q(), &none));
  EXPECT_EQ(empty.total, 0);
  EXPECT_THAT(empty.items, IsEmpty());
  // A q term cannot widen the scope.
  EXPECT_THAT(times("project_id=0", &only_lib), IsEmpty());

  EXPECT_EQ(audit_->List(Q("project_name=lib"), nullptr).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(audit_->List(Q("op_time=[a~b]"), nullptr).status().code(), Code::kInvalidArgument);
}

// ---- SQL metacharacters stay data --------------------------------------------------

TEST_P(IdentityStoreTest, SqlMetacharactersAreBoundParameters) {
  const std::string evil = "x'); DROP TABLE harbor_user; --";
  UserRecord in;
  in.username = evil;
  in.email = evil;
  in.realname = "Robert'); DROP TABLE students;--";
  in.subject = evil;
  UserRecord u = Must(users_->Create(in));
  auto got = Must(users_->GetByName(evil));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->username, evil);
  EXPECT_EQ(got->email, evil);
  EXPECT_EQ(got->realname, "Robert'); DROP TABLE students;--");
  EXPECT_EQ(Must(users_->GetBySubject(evil))->user_id, u.user_id);
  EXPECT_THAT(ListUserNames("username=" + evil), ElementsAre(evil));
  EXPECT_THAT(ListUserNames("username=~drop table"), ElementsAre(evil));
  EXPECT_THAT(ListUserNames("username=~'"), ElementsAre(evil));
  EXPECT_THAT(ListUserNames("email={\"x'\" y}"), IsEmpty());
  // Keys and sort fields are whitelisted, never pasted.
  EXPECT_EQ(UserListError("username=x' OR '1'='1"), Code::kOk);
  EXPECT_THAT(ListUserNames("username=x' OR '1'='1"), IsEmpty());
  EXPECT_EQ(UserListError("1=1 OR username=x"), Code::kInvalidArgument);
  EXPECT_EQ(UserListError("", "username; DROP TABLE harbor_user"), Code::kInvalidArgument);
  EXPECT_EQ(UserListError("", "-username --"), Code::kInvalidArgument);

  UserRecord change = *got;
  change.comment = "'; DELETE FROM harbor_user; --";
  ASSERT_OK(users_->UpdateProfile(change));
  ASSERT_OK(users_->SetPassword(u.user_id, "'); DROP TABLE session; --"));
  ProjectRecord p = Must(projects_->Create("evil", u.user_id, {{"public", "true"}, {"k'--", evil}}));
  EXPECT_EQ(p.owner_name, evil);
  EXPECT_EQ(p.metadata.at("k'--"), evil);
  auto members = Must(projects_->ListMembers(p.project_id, Q("entityname=" + evil)));
  EXPECT_EQ(members.total, 1);
  EXPECT_THAT(ProjectNames(Must(projects_->List(Q("owner=" + evil), AllProjects()))), ElementsAre("evil"));
  UserGroupRecord g = Must(users_->EnsureGroup(evil, kGroupTypeLdap, "cn=" + evil));
  EXPECT_EQ(Must(users_->GetGroup(g.id))->group_name, evil);
  ASSERT_OK(audit_->Add({0, 0, evil, evil, "user", "create", "success", 1, "evil"}));
  auto logs = Must(audit_->List(Q("username=" + evil), nullptr));
  ASSERT_EQ(logs.total, 1);
  EXPECT_EQ(logs.items[0].project_id, p.project_id);

  // Every table survives.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM harbor_user"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM session"), 0);
  EXPECT_EQ(Must(users_->Count()), 1);
  EXPECT_EQ(Must(users_->GetById(u.user_id))->comment, "'; DELETE FROM harbor_user; --");
}

// ---- Concurrency -------------------------------------------------------------------

// 8 threads creating users and 8 adding members to one project, all at once.
TEST_P(IdentityStoreTest, ConcurrentUserCreatesAndMemberAdds) {
  constexpr int kCreators = 8, kAdders = 8, kEach = 3;
  ProjectRecord team = AddProject("team");
  std::vector<int64_t> member_ids;
  for (int i = 0; i < kAdders * kEach; ++i) {
    member_ids.push_back(AddUser("member" + std::to_string(i)).user_id);
  }
  std::mutex mu;
  std::vector<std::string> errors;
  auto report = [&](const std::string& who, const Status& s) {
    if (s.ok()) return;
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(who + ": " + s.ToString());
  };
  auto t0 = std::chrono::steady_clock::now();
  RunConcurrently(kCreators + kAdders, [&](int i) {
    if (i < kCreators) {
      UserRecord u;
      u.username = "new" + std::to_string(i);
      report(u.username, users_->Create(u).status());
    } else {
      int a = i - kCreators;
      for (int k = 0; k < kEach; ++k) {
        int idx = a * kEach + k;
        report("adder " + std::to_string(a),
               projects_->AddMember(team.project_id, member_ids[idx], "u", 2 + idx % 3).status());
      }
    }
  });
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_EQ(Must(users_->Count()), kCreators + kAdders * kEach);
  for (int i = 0; i < kCreators; ++i) {
    EXPECT_TRUE(Must(users_->GetByName("new" + std::to_string(i))).has_value()) << i;
  }
  EXPECT_EQ(Must(projects_->ListMembers(team.project_id, Q())).total, kAdders * kEach);
  EXPECT_THAT(Must(projects_->RoleCounts(team.project_id)),
              ElementsAre(Pair(2, 8), Pair(3, 8), Pair(4, 8)));
}

// Racing for the same name: exactly one wins, the others get kConflict (not
// an internal error); racing sign-ins agree on one group.
TEST_P(IdentityStoreTest, ConcurrentCreatesOfTheSameNames) {
  constexpr int kThreads = 8;
  UserRecord bob = AddUser("bob");
  ProjectRecord p = AddProject("lib");
  std::vector<Status> user_results(kThreads), member_results(kThreads);
  std::vector<StatusOr<UserGroupRecord>> groups(kThreads, Status::Internal("not run"));
  RunConcurrently(kThreads * 3, [&](int i) {
    if (i < kThreads) {
      UserRecord u;
      u.username = "same";
      user_results[i] = users_->Create(u).status();
    } else if (i < 2 * kThreads) {
      member_results[i - kThreads] = projects_->AddMember(p.project_id, bob.user_id, "u", 2).status();
    } else {
      groups[i - 2 * kThreads] = users_->EnsureGroup("Ops", kGroupTypeLdap, "CN=Ops,DC=Example");
    }
  });
  auto tally = [](const std::vector<Status>& rs) {
    int ok = 0, conflict = 0;
    for (const auto& s : rs) {
      if (s.ok()) ++ok;
      else if (s.code() == Code::kConflict) ++conflict;
      else ADD_FAILURE() << s.ToString();
    }
    return std::make_pair(ok, conflict);
  };
  EXPECT_EQ(tally(user_results), std::make_pair(1, kThreads - 1));
  EXPECT_EQ(tally(member_results), std::make_pair(1, kThreads - 1));
  std::set<int64_t> group_ids;
  for (const auto& g : groups) {
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    if (g.ok()) group_ids.insert(g->id);
  }
  EXPECT_EQ(group_ids.size(), 1u);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM user_group"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM harbor_user WHERE username = 'same'"), 1);
  EXPECT_EQ(Must(projects_->ListMembers(p.project_id, Q())).total, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return BackendName(info.param); });

// ---- ListQuery (no database) -------------------------------------------------------

TEST(ListQueryTest, ParseQ) {
  auto q = ParseQ(" name = ~lib , id=[1~5],tags={a  b c},all=(x y),when=[~9], from=[3~] ");
  ASSERT_OK(q);
  ASSERT_EQ(q->size(), 6u);
  EXPECT_EQ((*q)[0].key, "name");
  EXPECT_EQ((*q)[0].op, QueryTerm::Op::kFuzzy);
  EXPECT_THAT((*q)[0].values, ElementsAre("lib"));
  EXPECT_EQ((*q)[1].op, QueryTerm::Op::kRange);
  EXPECT_THAT((*q)[1].values, ElementsAre("1", "5"));
  EXPECT_EQ((*q)[2].op, QueryTerm::Op::kAnyOf);
  EXPECT_THAT((*q)[2].values, ElementsAre("a", "b", "c"));
  EXPECT_EQ((*q)[3].op, QueryTerm::Op::kAllOf);
  EXPECT_THAT((*q)[3].values, ElementsAre("x", "y"));
  EXPECT_THAT((*q)[4].values, ElementsAre("", "9"));
  EXPECT_THAT((*q)[5].values, ElementsAre("3", ""));

  EXPECT_THAT(*ParseQ(""), IsEmpty());
  EXPECT_THAT(*ParseQ("   "), IsEmpty());
  // Exact values: quotes removed, "=" kept, commas inside quotes or brackets kept.
  auto exact = ParseQ("a=\"x,y\",b=k=v,c={p,q}");
  ASSERT_OK(exact);
  ASSERT_EQ(exact->size(), 3u);
  EXPECT_EQ((*exact)[0].op, QueryTerm::Op::kExact);
  EXPECT_THAT((*exact)[0].values, ElementsAre("x,y"));
  EXPECT_THAT((*exact)[1].values, ElementsAre("k=v"));
  EXPECT_THAT((*exact)[2].values, ElementsAre("p,q"));
  // A fuzzy "~" inside a value, a range without closing bracket: exact.
  EXPECT_THAT((*ParseQ("a=x~y"))[0].values, ElementsAre("x~y"));
  EXPECT_EQ((*ParseQ("a=[1~2"))[0].op, QueryTerm::Op::kExact);
  // An unbalanced closing bracket in one value does not swallow the next term.
  auto unbalanced = ParseQ("name=a),email=b");
  ASSERT_OK(unbalanced);
  ASSERT_EQ(unbalanced->size(), 2u);
  EXPECT_THAT((*unbalanced)[0].values, ElementsAre("a)"));
  EXPECT_EQ((*unbalanced)[1].key, "email");

  // An unmatched quote is refused rather than swallowing the terms after it.
  EXPECT_FALSE(ParseQ("name=\"x,email=b").ok());
  EXPECT_FALSE(ParseQ("name=a,email=\"b").ok());
  for (const char* bad : {"novalue", "=x", "k=", "k= ", "k=~", "k=~\"\"", "k=[15]", "k={}",
                          "k=()", "k={  }", "a=1,", ",a=1", "a=1,,b=2"}) {
    auto r = ParseQ(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << "'" << bad << "'";
  }
}

TEST(ListQueryTest, ParseSort) {
  auto s = ParseSort(" name , -creation_time,,id ");
  ASSERT_OK(s);
  EXPECT_THAT(*s, ElementsAre(Pair("name", false), Pair("creation_time", true), Pair("id", false)));
  EXPECT_THAT(*ParseSort(""), IsEmpty());
  EXPECT_THAT(*ParseSort(" , "), IsEmpty());
  EXPECT_EQ(ParseSort("-").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseSort("name,-").status().code(), Code::kInvalidArgument);
}

TEST(ListQueryTest, BuildSqlFilter) {
  const std::map<std::string, QueryColumn> cols = {{"name", {"t.name"}}, {"id", {"t.id", true}}};
  ListQuery q;
  q.terms = *ParseQ("name=~a_b%,id=[3~],name={x y},id=(4 4)");
  q.sort = *ParseSort("-name,id");
  auto f = BuildSqlFilter(q, cols, "t.id", 3);
  ASSERT_OK(f);
  EXPECT_EQ(f->where,
            " AND LOWER(t.name) LIKE $3 ESCAPE '\\' AND t.id >= $4 AND t.name IN ($5, $6)"
            " AND t.id = $7 AND t.id = $8");
  EXPECT_EQ(f->order_by, " ORDER BY t.name DESC, t.id ASC, t.id");
  ASSERT_EQ(f->params.size(), 6u);
  EXPECT_EQ(std::get<std::string>(f->params[0]), "%a\\_b\\%%");
  EXPECT_EQ(std::get<int64_t>(f->params[1]), 3);
  EXPECT_EQ(std::get<std::string>(f->params[2]), "x");
  EXPECT_EQ(std::get<int64_t>(f->params[4]), 4);

  ListQuery none;
  auto plain = BuildSqlFilter(none, cols, "t.id DESC", 1);
  ASSERT_OK(plain);
  EXPECT_EQ(plain->where, "");
  EXPECT_EQ(plain->order_by, " ORDER BY t.id DESC");
  EXPECT_THAT(plain->params, IsEmpty());

  ListQuery backslash;
  backslash.terms = *ParseQ("name=~a\\b");
  EXPECT_EQ(std::get<std::string>(BuildSqlFilter(backslash, cols, "t.id", 1)->params[0]), "%a\\\\b%");

  for (const char* bad_q : {"secret=1", "Name=x", "id=x", "id=[1~x]", "id={1 two}"}) {
    ListQuery b;
    b.terms = *ParseQ(bad_q);
    auto r = BuildSqlFilter(b, cols, "t.id", 1);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad_q;
  }
  ListQuery unknown;
  unknown.terms = *ParseQ("t.name=x");
  EXPECT_THAT(BuildSqlFilter(unknown, cols, "t.id", 1).status().message(), HasSubstr("'t.name'"));
  ListQuery bad_sort;
  bad_sort.sort = *ParseSort("name;DROP TABLE t");
  EXPECT_EQ(BuildSqlFilter(bad_sort, cols, "t.id", 1).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth
