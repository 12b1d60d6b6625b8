// The "ldap" auth backend (plugins/auth-ldap) against a real slapd started by
// slapd-harness.sh (the "slapd" ctest fixture). The plugin is loaded the way
// berthd loads it, through PluginRegistry, and driven through its C vtable
// with host sinks written here.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ldap.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/logger.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_registry.h"

namespace berth {
namespace {

using nlohmann::json;

// ---- The harness's DIR/env ----------------------------------------------

const std::map<std::string, std::string>& Env() {
  static const std::map<std::string, std::string> env = [] {
    const char* p = std::getenv("BERTH_LDAP_ENV");
    std::string path = (p != nullptr && *p != '\0') ? p : BERTH_LDAP_ENV_FILE;
    std::map<std::string, std::string> m;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return m;
  }();
  return env;
}

std::string E(const std::string& key) {
  auto it = Env().find(key);
  return it == Env().end() ? std::string() : it->second;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- Host side: registry, sinks, calls ------------------------------------

// Everything the host keeps for the process (plugins are never unloaded).
struct HostState {
  std::FILE* log_out = stderr;
  Logger log{LogLevel::kWarn, log_out};
  Metrics metrics;
  HostServices host{log, metrics};
  PluginRegistry registry{host.table()};
  Status loaded;
  HostState() {
    std::signal(SIGPIPE, SIG_IGN);  // as berthd does
    loaded = registry.LoadFile(std::string(BERTH_PLUGIN_OUTPUT_DIR) + "/auth-ldap.so");
  }
};

HostState& Host() {
  static HostState* state = new HostState();  // outlives every plugin call
  return *state;
}

struct User {
  std::string username, email, realname, subject;
  std::vector<std::string> groups;
  bool is_admin = false;
};
struct Group {
  std::string name, id;
};

struct Outcome {
  berth_status rc = BERTH_E_INTERNAL;
  std::string error;
  std::vector<User> users;
  std::vector<Group> groups;
  double seconds = 0;
};

std::string S(berth_str s) { return s.ptr != nullptr ? std::string(s.ptr, s.len) : std::string(); }
berth_str B(const std::string& s) { return {s.data(), s.size()}; }

struct Sinks {
  Outcome* out;
  berth_sink err;
  berth_user_sink users;
  berth_group_sink groups;
  explicit Sinks(Outcome* o) : out(o) {
    err = {sizeof(berth_sink), o, [](void* ctx, const void* d, size_t n) -> berth_status {
             static_cast<Outcome*>(ctx)->error.append(static_cast<const char*>(d), n);
             return BERTH_OK;
           }};
    users = {sizeof(berth_user_sink), o, [](void* ctx, const berth_user_info* u) -> berth_status {
               User c;
               c.username = S(u->username);
               c.email = S(u->email);
               c.realname = S(u->realname);
               c.subject = S(u->subject);
               for (size_t i = 0; i < u->n_groups; ++i) c.groups.push_back(S(u->groups[i]));
               c.is_admin = u->is_admin != 0;
               static_cast<Outcome*>(ctx)->users.push_back(std::move(c));
               return BERTH_OK;
             }};
    groups = {sizeof(berth_group_sink), o, [](void* ctx, const berth_group_info* g) -> berth_status {
                static_cast<Outcome*>(ctx)->groups.push_back({S(g->name), S(g->id)});
                return BERTH_OK;
              }};
  }
};

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One backend instance, destroyed with the test.
class Backend {
 public:
  Backend(const berth_provider* p, void* self) : p_(p), self_(self) {}
  ~Backend() {
    if (self_ != nullptr) p_->destroy(self_);
  }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const berth_auth_vtable* vt() const { return static_cast<const berth_auth_vtable*>(p_->vtable); }

  Outcome Authenticate(const std::string& user, const std::string& password,
                       int64_t deadline_unix_ns = 0) const {
    return Run(deadline_unix_ns, [&](const berth_call_ctx* c, Sinks& s) {
      return vt()->authenticate(self_, c, B(user), B(password), B(""), &s.users, &s.err);
    });
  }
  Outcome SearchUsers(const std::string& q) const {
    return Run(0, [&](const berth_call_ctx* c, Sinks& s) {
      return vt()->search_users(self_, c, B(q), &s.users, &s.err);
    });
  }
  Outcome SearchGroups(const std::string& q) const {
    return Run(0, [&](const berth_call_ctx* c, Sinks& s) {
      return vt()->search_groups(self_, c, B(q), &s.groups, &s.err);
    });
  }
  Outcome Ping(const std::string& settings, int64_t deadline_unix_ns = 0) const {
    return Run(deadline_unix_ns, [&](const berth_call_ctx* c, Sinks& s) {
      return vt()->ping(self_, c, B(settings), &s.err);
    });
  }

 private:
  template <class Fn>
  Outcome Run(int64_t deadline, Fn&& fn) const {
    Outcome o;
    Sinks sinks(&o);
    berth_call_ctx call{};
    call.struct_size = sizeof call;
    call.deadline_unix_ns = deadline;
    call.request_id = B("ldap-test");
    auto t0 = std::chrono::steady_clock::now();
    o.rc = fn(&call, sinks);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return o;
  }

  const berth_provider* p_;
  void* self_;
};

// A TCP port where nothing listens.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Accepts TCP connections (the kernel does) and never says a word.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 64);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class LdapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(E("LDAP_URL").empty())
        << "no slapd harness environment; run through ctest (fixture 'slapd') or set "
           "BERTH_LDAP_ENV to the env file of tests/ldap/slapd-harness.sh start DIR";
    ASSERT_TRUE(Host().loaded.ok()) << Host().loaded.message();
    provider_ = Host().registry.FindProvider(BERTH_KIND_AUTH, "ldap");
    ASSERT_NE(provider_, nullptr);
  }

  // Service account, users under the suffix, groups under ou=groups, admins.
  static json Config() {
    return {{"url", E("LDAP_URL")},
            {"search_dn", E("LDAP_SEARCH_DN")},
            {"search_password", E("LDAP_SEARCH_PASSWORD")},
            {"base_dn", E("LDAP_BASE_DN")},
            {"group_base_dn", E("LDAP_GROUP_BASE_DN")},
            {"group_admin_dn", E("LDAP_ADMIN_GROUP_DN")},
            {"timeout_s", 5}};
  }

  StatusOr<void*> TryCreate(const json& config) const {
    return Host().registry.CreateInstance(provider_, config.dump());
  }

  std::unique_ptr<Backend> Make(const json& config) {
    auto inst = TryCreate(config);
    EXPECT_TRUE(inst.ok()) << inst.status().message();
    return std::make_unique<Backend>(provider_, inst.ok() ? *inst : nullptr);
  }

  static std::string Password(const std::string& user) {
    std::string key = "LDAP_PASSWORD_";
    for (char c : user) key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return E(key);
  }
  static std::string People(const std::string& rdn) { return rdn + "," + E("LDAP_PEOPLE_DN"); }
  static std::string GroupDn(const std::string& cn) {
    return "cn=" + cn + "," + E("LDAP_GROUP_BASE_DN");
  }
  static std::set<std::string> LowerSet(const std::vector<std::string>& v) {
    std::set<std::string> s;
    for (const auto& x : v) s.insert(Lower(x));
    return s;
  }

  const berth_provider* provider_ = nullptr;
};

// ---- The provider ----------------------------------------------------------

TEST_F(LdapTest, DeclaresAReentrantAuthProviderWithItsCapabilities) {
  EXPECT_EQ(provider_->kind, BERTH_KIND_AUTH);
  EXPECT_STREQ(provider_->name, "ldap");
  EXPECT_EQ(provider_->threading, BERTH_THREADING_REENTRANT);
  EXPECT_EQ(provider_->capabilities, BERTH_AUTH_CAP_PASSWORD | BERTH_AUTH_CAP_SEARCH_USERS |
                                         BERTH_AUTH_CAP_SEARCH_GROUPS | BERTH_AUTH_CAP_PING);
  auto schema = json::parse(provider_->config_schema_json);
  EXPECT_EQ(schema["required"], json::array({"url", "base_dn"}));
  for (const char* key : {"url", "search_dn", "search_password", "base_dn", "filter", "uid", "scope",
                          "timeout_s", "start_tls", "verify_cert", "ca_cert", "group_base_dn",
                          "group_filter", "group_attribute", "group_membership_attribute",
                          "group_search_scope", "group_admin_dn"}) {
    EXPECT_TRUE(schema["properties"].contains(key)) << key;
  }
  EXPECT_NE(Host().registry.PathOf(provider_).find(BERTH_PLUGIN_OUTPUT_DIR), std::string::npos);
}

// ---- Configuration ---------------------------------------------------------

TEST_F(LdapTest, ConfigWithoutUrlOrBaseDnIsRefusedWithTheSchemaMessage) {
  json no_url = Config();
  no_url.erase("url");
  auto r = TryCreate(no_url);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rejected by the plugin's schema"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("'url' is required"), std::string::npos) << r.status().message();

  json no_base = Config();
  no_base.erase("base_dn");
  r = TryCreate(no_base);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'base_dn' is required"), std::string::npos)
      << r.status().message();
}

TEST_F(LdapTest, ConfigValuesAreChecked) {
  struct Case {
    json patch;
    std::string expect;
  };
  std::string missing_ca = ::testing::TempDir() + "/no-such-ca.pem";
  for (const Case& c : std::vector<Case>{
           {{{"url", "http://127.0.0.1:389"}}, "config.url: must match"},
           {{{"scope", "deep"}}, "config.scope: must be one of"},
           {{{"timeout_s", 0}}, "config.timeout_s: must be at least"},
           {{{"uid", "uid)(x=*"}}, "config.uid: must match"},
           {{{"verify_cert", "yes"}}, "config.verify_cert: expected boolean"},
           {{{"bogus", 1}}, "unknown key 'bogus'"},
           // What the schema cannot express, the plugin checks.
           {{{"ca_cert", missing_ca}}, "cannot read '" + missing_ca + "'"},
           {{{"url", E("LDAPS_URL")}, {"start_tls", true}}, "'start_tls'"},
           {{{"search_password", ""}}, "'search_password': is required with search_dn"},
           {{{"filter", "(objectClass=person"}}, "'filter': unbalanced parentheses"},
           {{{"group_admin_dn", "not a dn"}}, "'group_admin_dn': 'not a dn' is not a valid DN"},
       }) {
    json cfg = Config();
    cfg.merge_patch(c.patch);
    auto r = TryCreate(cfg);
    ASSERT_FALSE(r.ok()) << c.patch.dump();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.patch.dump() << " -> " << r.status().message();
  }
}

// ---- Sign-in ---------------------------------------------------------------

TEST_F(LdapTest, AliceSignsInWithHerGroupsAndEmail) {
  auto b = Make(Config());
  Outcome o = b->Authenticate("alice", Password("alice"));
  ASSERT_EQ(o.rc, BERTH_OK) << o.error;
  ASSERT_EQ(o.users.size(), 1u);
  const User& u = o.users[0];
  EXPECT_EQ(u.username, "alice");
  EXPECT_EQ(u.email, "alice@berth.test");
  EXPECT_EQ(u.realname, "Alice Liddell");
  EXPECT_EQ(Lower(u.subject), Lower(People("uid=alice")));
  EXPECT_EQ(LowerSet(u.groups), std::set<std::string>{Lower(GroupDn("developers"))});
  EXPECT_FALSE(u.is_admin);
}

TEST_F(LdapTest, UsernameMatchesCaseInsensitivelyAndTheStoredUidIsReturned) {
  auto b = Make(Config());
  Outcome o = b->Authenticate("ALICE", Password("alice"));
  ASSERT_EQ(o.rc, BERTH_OK) << o.error;
  ASSERT_EQ(o.users.size(), 1u);
  EXPECT_EQ(o.users[0].username, "alice");
}

TEST_F(LdapTest, WrongPasswordAndUnknownUserAreIndistinguishable) {
  auto b = Make(Config());
  Outcome wrong = b->Authenticate("bob", "not-" + Password("bob"));
  Outcome unknown = b->Authenticate("nobody", Password("bob"));
  EXPECT_EQ(wrong.rc, BERTH_E_UNAUTHENTICATED) << wrong.error;
  EXPECT_EQ(unknown.rc, BERTH_E_UNAUTHENTICATED) << unknown.error;
  EXPECT_EQ(wrong.error, unknown.error);
  EXPECT_FALSE(wrong.error.empty());
  EXPECT_TRUE(wrong.users.empty());
  EXPECT_TRUE(unknown.users.empty());
  // bob's right password does work, so the refusal above was the password.
  EXPECT_EQ(b->Authenticate("bob", Password("bob")).rc, BERTH_OK);
}

TEST_F(LdapTest, CarolIsAdminThroughGroupAdminDn) {
  json cfg = Config();
  // Compared as DNs: case and spacing do not matter.
  cfg["group_admin_dn"] = "CN=Admins, OU=Groups, DC=berth, DC=test";
  auto b = Make(cfg);
  Outcome carol = b->Authenticate("carol", Password("carol"));
  ASSERT_EQ(carol.rc, BERTH_OK) << carol.error;
  ASSERT_EQ(carol.users.size(), 1u);
  EXPECT_TRUE(carol.users[0].is_admin);
  EXPECT_EQ(carol.users[0].realname, "Carol D.");  // displayName wins over cn
  EXPECT_EQ(LowerSet(carol.users[0].groups),
            (std::set<std::string>{Lower(GroupDn("developers")), Lower(GroupDn("admins"))}));

  Outcome alice = b->Authenticate("alice", Password("alice"));
  ASSERT_EQ(alice.rc, BERTH_OK) << alice.error;
  EXPECT_FALSE(alice.users[0].is_admin);

  json no_admin = Config();
  no_admin.erase("group_admin_dn");
  auto plain = Make(no_admin);
  Outcome carol2 = plain->Authenticate("carol", Password("carol"));
  ASSERT_EQ(carol2.rc, BERTH_OK) << carol2.error;
  EXPECT_FALSE(carol2.users[0].is_admin);
}

TEST_F(LdapTest, AdminGroupWithoutMemberOfIsFoundByItsMembers) {
  // qa is a groupOfUniqueNames: the memberof overlay does not list it.
  json cfg = Config();
  cfg["group_admin_dn"] = GroupDn("qa");
  auto b = Make(cfg);
  Outcome bob = b->Authenticate("bob", Password("bob"));
  ASSERT_EQ(bob.rc, BERTH_OK) << bob.error;
  EXPECT_TRUE(bob.users[0].is_admin);
  Outcome alice = b->Authenticate("alice", Password("alice"));
  ASSERT_EQ(alice.rc, BERTH_OK) << alice.error;
  EXPECT_FALSE(alice.users[0].is_admin);
}

TEST_F(LdapTest, EmptyPasswordIsRefusedBeforeBinding) {
  // Precondition: this server, like Active Directory, accepts a DN with an
  // empty password as an (anonymous) "unauthenticated bind".
  LDAP* ld = nullptr;
  ASSERT_EQ(ldap_initialize(&ld, E("LDAP_URL").c_str()), LDAP_SUCCESS);
  int v3 = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  berval empty{0, const_cast<char*>("")};
  int rc = ldap_sasl_bind_s(ld, People("uid=alice").c_str(), LDAP_SASL_SIMPLE, &empty, nullptr,
                            nullptr, nullptr);
  ldap_unbind_ext(ld, nullptr, nullptr);
  ASSERT_EQ(rc, LDAP_SUCCESS) << "the harness should allow unauthenticated binds";

  auto b = Make(Config());
  Outcome o = b->Authenticate("alice", "");
  EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_TRUE(o.users.empty());
  EXPECT_EQ(o.error, b->Authenticate("alice", "wrong").error);
}

TEST_F(LdapTest, FilterInjectionInTheUsernameMatchesNoOne) {
  auto b = Make(Config());
  // Unescaped, "alice*", "al*ce" and "alice)(uid=alice" would each find only
  // alice and sign in with her password.
  for (const std::string& name :
       {std::string("*"), std::string("alice*"), std::string("al*ce"), std::string("alice)(uid=*"),
        std::string("alice)(uid=alice"), std::string("*)(uid=alice"), std::string("\\"),
        std::string("alice\\"), std::string("\\61lice"), std::string("alice\0", 6)}) {
    Outcome o = b->Authenticate(name, Password("alice"));
    EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED) << "username '" << name << "': " << o.error;
    EXPECT_TRUE(o.users.empty()) << name;
  }
  Outcome star = b->SearchUsers("*");
  EXPECT_EQ(star.rc, BERTH_OK) << star.error;
  EXPECT_TRUE(star.users.empty());
  Outcome groups = b->SearchGroups("*)(cn=");
  EXPECT_EQ(groups.rc, BERTH_OK) << groups.error;
  EXPECT_TRUE(groups.groups.empty());
}

TEST_F(LdapTest, AUsernameMatchingTwoEntriesIsRefused) {
  auto b = Make(Config());
  Outcome o = b->Authenticate("twin", Password("twin"));
  EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_EQ(o.error, b->Authenticate("nobody", "x").error);
  // One level under ou=people there is only one twin.
  json cfg = Config();
  cfg["base_dn"] = E("LDAP_PEOPLE_DN");
  cfg["scope"] = "onelevel";
  Outcome one = Make(cfg)->Authenticate("twin", Password("twin"));
  ASSERT_EQ(one.rc, BERTH_OK) << one.error;
  EXPECT_EQ(Lower(one.users[0].subject), Lower(People("uid=twin")));
}

TEST_F(LdapTest, TheUserFilterIsApplied) {
  // robot (objectClass account) signs in when nothing filters it out...
  Outcome any = Make(Config())->Authenticate("robot", Password("robot"));
  ASSERT_EQ(any.rc, BERTH_OK) << any.error;
  // ...and not when only people may.
  for (const char* f : {"(objectClass=inetOrgPerson)", "objectClass=inetOrgPerson"}) {
    json cfg = Config();
    cfg["filter"] = f;
    auto b = Make(cfg);
    EXPECT_EQ(b->Authenticate("robot", Password("robot")).rc, BERTH_E_UNAUTHENTICATED) << f;
    EXPECT_EQ(b->Authenticate("alice", Password("alice")).rc, BERTH_OK) << f;
  }
}

TEST_F(LdapTest, GroupsAreSearchedByMemberWhenTheUserHasNoMemberOf) {
  auto b = Make(Config());
  // bob: uniqueMember of qa, memberUid of ops, no memberOf.
  Outcome bob = b->Authenticate("bob", Password("bob"));
  ASSERT_EQ(bob.rc, BERTH_OK) << bob.error;
  EXPECT_EQ(LowerSet(bob.users[0].groups),
            (std::set<std::string>{Lower(GroupDn("qa")), Lower(GroupDn("ops"))}));
  // jsmith's DN has a comma and parentheses: it must be escaped in the filter.
  Outcome js = b->Authenticate("jsmith", Password("jsmith"));
  ASSERT_EQ(js.rc, BERTH_OK) << js.error;
  EXPECT_EQ(js.users[0].realname, "Smith, John (Ops)");
  EXPECT_EQ(js.users[0].email, "jsmith@berth.test");
  EXPECT_EQ(js.users[0].subject.rfind("cn=Smith", 0), 0u) << js.users[0].subject;
  EXPECT_NE(js.users[0].subject.find("John (Ops),ou=people,dc=berth,dc=test"), std::string::npos)
      << js.users[0].subject;
  EXPECT_EQ(LowerSet(js.users[0].groups), std::set<std::string>{Lower(GroupDn("qa"))});
  // dave is in no group.
  Outcome dave = b->Authenticate("dave", Password("dave"));
  ASSERT_EQ(dave.rc, BERTH_OK) << dave.error;
  EXPECT_TRUE(dave.users[0].groups.empty());
  EXPECT_FALSE(dave.users[0].is_admin);
}

TEST_F(LdapTest, TheMembershipAttributeIsConfigurable) {
  json cfg = Config();
  cfg["group_membership_attribute"] = "isMemberOf";  // absent here: falls back to the search
  Outcome o = Make(cfg)->Authenticate("carol", Password("carol"));
  ASSERT_EQ(o.rc, BERTH_OK) << o.error;
  EXPECT_EQ(LowerSet(o.users[0].groups),
            (std::set<std::string>{Lower(GroupDn("developers")), Lower(GroupDn("admins"))}));
  EXPECT_TRUE(o.users[0].is_admin);
}

TEST_F(LdapTest, AnonymousSearchWorksWithoutAServiceAccount) {
  json cfg = Config();
  cfg.erase("search_dn");
  cfg.erase("search_password");
  auto b = Make(cfg);
  Outcome o = b->Authenticate("alice", Password("alice"));
  ASSERT_EQ(o.rc, BERTH_OK) << o.error;
  EXPECT_EQ(o.users[0].username, "alice");
  EXPECT_EQ(b->Authenticate("alice", "wrong").rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_EQ(b->Ping("").rc, BERTH_OK);
}

TEST_F(LdapTest, AnUnreachableServerIsAnIoErrorNotAWrongPassword) {
  json cfg = Config();
  cfg["url"] = "ldap://127.0.0.1:" + std::to_string(ClosedPort());
  auto b = Make(cfg);
  Outcome o = b->Authenticate("alice", Password("alice"));
  EXPECT_EQ(o.rc, BERTH_E_IO) << o.error;
  EXPECT_NE(o.error.find(cfg["url"].get<std::string>()), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("Connection refused"), std::string::npos) << o.error;

  // A wrong service password is the configuration's fault, not the user's.
  json bad = Config();
  bad["search_password"] = "wrong";
  Outcome svc = Make(bad)->Authenticate("alice", Password("alice"));
  EXPECT_EQ(svc.rc, BERTH_E_IO) << svc.error;
  EXPECT_NE(svc.error.find("search_password"), std::string::npos) << svc.error;
}

TEST_F(LdapTest, ConcurrentSignInsFromManyThreads) {
  auto b = Make(Config());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        if ((t + i) % 2 == 0) {
          Outcome o = b->Authenticate("carol", Password("carol"));
          if (o.rc != BERTH_OK || o.users.size() != 1 || !o.users[0].is_admin) ++failures;
        } else {
          Outcome o = b->Authenticate("alice", "wrong");
          if (o.rc != BERTH_E_UNAUTHENTICATED || !o.users.empty()) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- Search ----------------------------------------------------------------

TEST_F(LdapTest, SearchUsersByUidPrefix) {
  auto b = Make(Config());
  Outcome a = b->SearchUsers("al");
  ASSERT_EQ(a.rc, BERTH_OK) << a.error;
  ASSERT_EQ(a.users.size(), 1u);
  EXPECT_EQ(a.users[0].username, "alice");
  EXPECT_EQ(a.users[0].email, "alice@berth.test");
  EXPECT_EQ(a.users[0].realname, "Alice Liddell");
  EXPECT_EQ(Lower(a.users[0].subject), Lower(People("uid=alice")));

  Outcome j = b->SearchUsers("JS");
  ASSERT_EQ(j.rc, BERTH_OK) << j.error;
  ASSERT_EQ(j.users.size(), 1u);
  EXPECT_EQ(j.users[0].username, "jsmith");
  EXPECT_EQ(j.users[0].realname, "Smith, John (Ops)");

  Outcome all = b->SearchUsers("");
  ASSERT_EQ(all.rc, BERTH_OK) << all.error;
  std::multiset<std::string> names;
  for (const auto& u : all.users) names.insert(u.username);
  EXPECT_EQ(names, (std::multiset<std::string>{"alice", "bob", "carol", "dave", "jsmith", "robot",
                                               "twin", "twin"}));

  json people = Config();
  people["filter"] = "(objectClass=inetOrgPerson)";
  EXPECT_EQ(Make(people)->SearchUsers("r").users.size(), 0u);  // robot is not a person

  Outcome none = b->SearchUsers("zz");
  ASSERT_EQ(none.rc, BERTH_OK) << none.error;
  EXPECT_TRUE(none.users.empty());
}

TEST_F(LdapTest, SearchGroupsByNamePrefixAndByDn) {
  auto b = Make(Config());
  Outcome dev = b->SearchGroups("dev");
  ASSERT_EQ(dev.rc, BERTH_OK) << dev.error;
  ASSERT_EQ(dev.groups.size(), 1u);
  EXPECT_EQ(dev.groups[0].name, "developers");
  EXPECT_EQ(Lower(dev.groups[0].id), Lower(GroupDn("developers")));

  Outcome all = b->SearchGroups("");
  ASSERT_EQ(all.rc, BERTH_OK) << all.error;
  std::vector<std::string> names;
  for (const auto& g : all.groups) names.push_back(g.name);
  EXPECT_EQ(names, (std::vector<std::string>{"admins", "developers", "ops", "qa"}));

  Outcome by_dn = b->SearchGroups("CN=admins,OU=groups,DC=berth,DC=test");
  ASSERT_EQ(by_dn.rc, BERTH_OK) << by_dn.error;
  ASSERT_EQ(by_dn.groups.size(), 1u);
  EXPECT_EQ(by_dn.groups[0].name, "admins");
  EXPECT_EQ(Lower(by_dn.groups[0].id), Lower(GroupDn("admins")));

  // A DN that is no group, or does not exist: nothing.
  EXPECT_TRUE(b->SearchGroups(People("uid=alice")).groups.empty());
  Outcome missing = b->SearchGroups(GroupDn("nope"));
  EXPECT_EQ(missing.rc, BERTH_OK) << missing.error;
  EXPECT_TRUE(missing.groups.empty());

  json only_names = Config();
  only_names["group_filter"] = "(objectClass=groupOfNames)";
  Outcome gon = Make(only_names)->SearchGroups("");
  ASSERT_EQ(gon.rc, BERTH_OK) << gon.error;
  EXPECT_EQ(gon.groups.size(), 2u);  // developers, admins
}

// ---- Ping ------------------------------------------------------------------

TEST_F(LdapTest, PingWithGoodSettings) {
  auto b = Make(Config());
  Outcome own = b->Ping("");
  EXPECT_EQ(own.rc, BERTH_OK) << own.error;
  // Settings override the configuration key by key.
  Outcome ldaps = b->Ping(json{{"url", E("LDAPS_URL")}, {"ca_cert", E("LDAP_CA_CERT")}}.dump());
  EXPECT_EQ(ldaps.rc, BERTH_OK) << ldaps.error;
}

TEST_F(LdapTest, PingWithAWrongServicePassword) {
  auto b = Make(Config());
  Outcome o = b->Ping(json{{"search_password", "wrong"}}.dump());
  EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED) << o.error;
  EXPECT_NE(o.error.find(E("LDAP_SEARCH_DN")), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("Invalid credentials"), std::string::npos) << o.error;
}

TEST_F(LdapTest, PingAnUnreachablePort) {
  auto b = Make(Config());
  std::string url = "ldap://127.0.0.1:" + std::to_string(ClosedPort());
  Outcome o = b->Ping(json{{"url", url}, {"timeout_s", 2}}.dump());
  EXPECT_EQ(o.rc, BERTH_E_IO) << o.error;
  EXPECT_NE(o.error.find(url), std::string::npos) << o.error;
  EXPECT_LT(o.seconds, 3.0);
}

TEST_F(LdapTest, PingAServerThatNeverAnswersTimesOut) {
  SilentServer silent;
  auto b = Make(Config());
  for (const std::string scheme : {"ldap", "ldaps"}) {
    std::string url = scheme + "://127.0.0.1:" + std::to_string(silent.port());
    Outcome o = b->Ping(json{{"url", url}, {"timeout_s", 1}}.dump());
    EXPECT_EQ(o.rc, BERTH_E_IO) << url << ": " << o.error;
    EXPECT_NE(o.error.find(url), std::string::npos) << o.error;
    EXPECT_GE(o.seconds, 0.9) << url;
    EXPECT_LT(o.seconds, 3.0) << url;
  }
  // Sign-in too: a silent server is not a wrong password.
  json cfg = Config();
  cfg["url"] = "ldap://127.0.0.1:" + std::to_string(silent.port());
  cfg["timeout_s"] = 1;
  Outcome a = Make(cfg)->Authenticate("alice", Password("alice"));
  EXPECT_EQ(a.rc, BERTH_E_IO) << a.error;
  EXPECT_NE(a.error.find("no answer within 1s"), std::string::npos) << a.error;
  EXPECT_LT(a.seconds, 3.0);
}

TEST_F(LdapTest, TheHostsDeadlineIsHonoured) {
  SilentServer silent;
  json cfg = Config();
  cfg["url"] = "ldap://127.0.0.1:" + std::to_string(silent.port());
  cfg["timeout_s"] = 60;
  auto b = Make(cfg);
  Outcome o = b->Authenticate("alice", Password("alice"), NowUnixNs() + 500'000'000);
  EXPECT_EQ(o.rc, BERTH_E_DEADLINE_EXCEEDED) << o.error;
  EXPECT_LT(o.seconds, 2.5);
  Outcome p = b->Ping("", NowUnixNs() + 300'000'000);
  EXPECT_EQ(p.rc, BERTH_E_DEADLINE_EXCEEDED) << p.error;
  EXPECT_LT(p.seconds, 2.5);
}

TEST_F(LdapTest, PingReportsAMissingBaseDn) {
  auto b = Make(Config());
  Outcome o = b->Ping(json{{"base_dn", "dc=nope,dc=test"}}.dump());
  EXPECT_EQ(o.rc, BERTH_E_NOT_FOUND) << o.error;
  EXPECT_NE(o.error.find("dc=nope,dc=test"), std::string::npos) << o.error;
  Outcome g = b->Ping(json{{"group_base_dn", "ou=nope,dc=berth,dc=test"}}.dump());
  EXPECT_EQ(g.rc, BERTH_E_NOT_FOUND) << g.error;
}

TEST_F(LdapTest, PingRefusesMalformedSettings) {
  auto b = Make(Config());
  for (const std::string s : {"{not json", "[1]", R"({"bogus": 1})", R"({"timeout_s": "x"})",
                              R"({"url": "http://x"})", R"({"url": null})"}) {
    Outcome o = b->Ping(s);
    EXPECT_EQ(o.rc, BERTH_E_INVALID_ARGUMENT) << s << ": " << o.error;
    EXPECT_FALSE(o.error.empty()) << s;
  }
}

// ---- TLS -------------------------------------------------------------------

TEST_F(LdapTest, StartTlsWithTheHarnessCa) {
  json cfg = Config();
  cfg["start_tls"] = true;
  cfg["ca_cert"] = E("LDAP_CA_CERT");
  auto b = Make(cfg);
  Outcome o = b->Authenticate("alice", Password("alice"));
  ASSERT_EQ(o.rc, BERTH_OK) << o.error;
  EXPECT_EQ(o.users[0].username, "alice");
  EXPECT_EQ(b->Ping("").rc, BERTH_OK);
  EXPECT_EQ(b->Authenticate("alice", "wrong").rc, BERTH_E_UNAUTHENTICATED);
}

TEST_F(LdapTest, LdapsWithTheHarnessCa) {
  json cfg = Config();
  cfg["url"] = E("LDAPS_URL");
  cfg["ca_cert"] = E("LDAP_CA_CERT");
  auto b = Make(cfg);
  Outcome o = b->Authenticate("carol", Password("carol"));
  ASSERT_EQ(o.rc, BERTH_OK) << o.error;
  EXPECT_TRUE(o.users[0].is_admin);
  EXPECT_EQ(b->SearchGroups("q").groups.size(), 1u);
}

TEST_F(LdapTest, VerifyingWithoutTheCaFails) {
  for (bool start_tls : {false, true}) {
    json cfg = Config();
    if (start_tls) cfg["start_tls"] = true;
    else cfg["url"] = E("LDAPS_URL");
    cfg["verify_cert"] = true;  // and no ca_cert: the system store does not know the harness CA
    auto b = Make(cfg);
    Outcome a = b->Authenticate("alice", Password("alice"));
    EXPECT_EQ(a.rc, BERTH_E_IO) << (start_tls ? "StartTLS: " : "LDAPS: ") << a.error;
    EXPECT_TRUE(a.users.empty());
    Outcome p = b->Ping("");
    EXPECT_EQ(p.rc, BERTH_E_IO) << p.error;
    EXPECT_NE(p.error.find(cfg["url"].get<std::string>()), std::string::npos) << p.error;
  }
}

TEST_F(LdapTest, WithoutCaCertTheTrustLibldapIsConfiguredWithApplies) {
  // What ldap.conf's TLS_CACERT (or LDAPTLS_CACERT) names is the default
  // trust; set here the way ldap.conf would.
  char* previous = nullptr;
  ASSERT_EQ(ldap_get_option(nullptr, LDAP_OPT_X_TLS_CACERTFILE, &previous), LDAP_OPT_SUCCESS);
  std::string ca = E("LDAP_CA_CERT");
  ASSERT_EQ(ldap_set_option(nullptr, LDAP_OPT_X_TLS_CACERTFILE, ca.c_str()), LDAP_OPT_SUCCESS);
  json cfg = Config();
  cfg["url"] = E("LDAPS_URL");  // verify_cert defaults to true; no ca_cert
  auto b = Make(cfg);
  ldap_set_option(nullptr, LDAP_OPT_X_TLS_CACERTFILE, previous);
  if (previous != nullptr) ldap_memfree(previous);
  Outcome o = b->Authenticate("alice", Password("alice"));
  EXPECT_EQ(o.rc, BERTH_OK) << o.error;
}

TEST_F(LdapTest, VerifyCertFalseAcceptsAnUnknownCa) {
  json cfg = Config();
  cfg["url"] = E("LDAPS_URL");
  cfg["verify_cert"] = false;
  Outcome o = Make(cfg)->Authenticate("alice", Password("alice"));
  EXPECT_EQ(o.rc, BERTH_OK) << o.error;

  json st = Config();
  st["start_tls"] = true;
  st["verify_cert"] = false;
  EXPECT_EQ(Make(st)->Ping("").rc, BERTH_OK);
}

}  // namespace
}  // namespace berth
