// The auth-oidc plugin, loaded through berth::PluginRegistry with a real host
// table (HTTP on core's libcurl client), against a real OpenID Provider
// (oidc-provider 9, started by the ctest fixture "oidc"). Sign-ins are real
// authorization-code flows driven by DriveLogin.
#include <gtest/gtest.h>
#include <jose.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/logger.h"
#include "http/metrics.h"
#include "oidc_login_driver.h"
#include "plugin/host_services.h"
#include "plugin/plugin_registry.h"

namespace berth {
namespace {

using json = nlohmann::json;
using oidctest::DriveLogin;
using oidctest::LoginOutcome;
using oidctest::ProviderState;

struct User {
  std::string username, email, realname, subject;
  std::vector<std::string> groups;
  bool is_admin = false;
};

struct Outcome {
  berth_status rc = BERTH_OK;
  std::string error;
  bool ok() const { return rc == BERTH_OK; }
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) { return os << o.rc << " " << o.error; }

// Host-side sinks.
struct StrSink {
  berth_sink sink{sizeof(berth_sink), this, [](void* ctx, const void* d, size_t n) -> berth_status {
                    static_cast<StrSink*>(ctx)->data.append(static_cast<const char*>(d), n);
                    return BERTH_OK;
                  }};
  std::string data;
};
struct UserSink {
  berth_user_sink sink{sizeof(berth_user_sink), this, [](void* ctx, const berth_user_info* u) -> berth_status {
                         auto* self = static_cast<UserSink*>(ctx);
                         User out;
                         auto s = [](berth_str v) { return std::string(v.ptr ? v.ptr : "", v.ptr ? v.len : 0); };
                         out.username = s(u->username);
                         out.email = s(u->email);
                         out.realname = s(u->realname);
                         out.subject = s(u->subject);
                         for (size_t i = 0; i < u->n_groups; ++i) out.groups.push_back(s(u->groups[i]));
                         out.is_admin = u->is_admin != 0;
                         self->users.push_back(out);
                         return BERTH_OK;
                       }};
  std::vector<User> users;
};

berth_str S(const std::string& s) { return {s.data(), s.size()}; }

// One instance of the provider, called through its vtable.
class Backend {
 public:
  Backend(const berth_provider* p, void* inst)
      : p_(p), inst_(inst), vt_(static_cast<const berth_auth_vtable*>(p->vtable)) {}
  ~Backend() { p_->destroy(inst_); }

  Outcome LoginBegin(const std::string& redirect, const std::string& state, const std::string& nonce,
                     std::string* url) {
    StrSink out, err;
    Call c;
    berth_status rc = vt_->login_begin(inst_, &c.ctx, S(redirect), S(state), S(nonce), &out.sink, &err.sink);
    *url = out.data;
    return {rc, err.data};
  }
  Outcome LoginCallback(const std::string& redirect, const std::string& code, const std::string& nonce, User* user,
                        std::string* token) {
    StrSink tok, err;
    UserSink users;
    Call c;
    berth_status rc =
        vt_->login_callback(inst_, &c.ctx, S(redirect), S(code), S(nonce), &users.sink, &tok.sink, &err.sink);
    if (rc == BERTH_OK) {
      EXPECT_EQ(users.users.size(), 1u);
      if (!users.users.empty()) *user = users.users[0];
    }
    *token = tok.data;
    return {rc, err.data};
  }
  Outcome VerifyToken(const std::string& token, User* user = nullptr) {
    StrSink err;
    UserSink users;
    Call c;
    berth_status rc = vt_->verify_token(inst_, &c.ctx, S(token), &users.sink, &err.sink);
    if (rc == BERTH_OK && user != nullptr) {
      EXPECT_EQ(users.users.size(), 1u);
      if (!users.users.empty()) *user = users.users[0];
    }
    return {rc, err.data};
  }
  Outcome Ping(const std::string& settings) {
    StrSink err;
    Call c;
    return {vt_->ping(inst_, &c.ctx, S(settings), &err.sink), err.data};
  }
  Outcome Authenticate(const std::string& user, const std::string& password) {
    StrSink err;
    UserSink users;
    Call c;
    return {vt_->authenticate(inst_, &c.ctx, S(user), S(password), S(""), &users.sink, &err.sink), err.data};
  }

 private:
  struct Call {
    berth_call_ctx ctx;
    Call() {
      std::memset(&ctx, 0, sizeof ctx);
      ctx.struct_size = sizeof ctx;
      ctx.deadline_unix_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count() +
          20'000'000'000LL;
    }
  };
  const berth_provider* p_;
  void* inst_;
  const berth_auth_vtable* vt_;
};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// claims with some members replaced.
json With(json claims, const json& patch) {
  claims.update(patch);
  return claims;
}

class OidcPluginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string err;
    state_ = new ProviderState();
    if (!oidctest::LoadProviderState(BERTH_OIDC_STATE_FILE, state_, &err)) {
      load_error_ = new std::string(err);
    }
  }
  static void TearDownTestSuite() {
    delete state_;
    delete load_error_;
    state_ = nullptr;
    load_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(load_error_, nullptr) << *load_error_;
    Status s = reg_.LoadFile(std::string(BERTH_PLUGIN_DIR) + "/auth-oidc.so");
    ASSERT_TRUE(s.ok()) << s.message();
    provider_ = reg_.FindProvider(BERTH_KIND_AUTH, "oidc");
    ASSERT_NE(provider_, nullptr);
  }

  const ProviderState& St() const { return *state_; }
  const std::string& Issuer() const { return state_->issuer; }
  const std::string& Redirect() const { return state_->redirect_uri; }

  json Config(const json& extra = json::object(), size_t client = 0) const {
    json c = {{"endpoint", Issuer()},
              {"client_id", state_->clients.at(client).client_id},
              {"client_secret", state_->clients.at(client).client_secret},
              {"scope", "openid,profile,email,groups"},
              {"admin_group", "berth-admins"}};
    for (const auto& [k, v] : extra.items()) {
      if (v.is_null()) {
        c.erase(k);
      } else {
        c[k] = v;
      }
    }
    return c;
  }

  StatusOr<void*> CreateRaw(const json& config) { return reg_.CreateInstance(provider_, config.dump()); }

  std::unique_ptr<Backend> Make(const json& config) {
    auto inst = CreateRaw(config);
    EXPECT_TRUE(inst.ok()) << inst.status().message();
    if (!inst.ok()) return nullptr;
    return std::make_unique<Backend>(provider_, *inst);
  }

  // login_begin + a real browser-less sign-in; returns the callback's code.
  std::string SignIn(Backend& b, const std::string& login, const std::string& state, const std::string& nonce,
                     LoginOutcome* outcome = nullptr) {
    std::string url;
    Outcome o = b.LoginBegin(Redirect(), state, nonce, &url);
    EXPECT_TRUE(o.ok()) << o;
    LoginOutcome lo;
    std::string err;
    bool ok = DriveLogin(url, login, "any-password", Redirect(), &lo, &err);
    EXPECT_TRUE(ok) << err;
    EXPECT_TRUE(lo.error.empty()) << lo.callback_url;
    if (outcome != nullptr) *outcome = lo;
    return lo.code;
  }

  // A token signed with the provider's own key (from the state file) with
  // the claims given: passes the signature check, so claim checks are hit.
  std::string Mint(const json& claims, const std::string& kid = "rsa-1", jose::Alg alg = jose::Alg::kRS256) const {
    const jose::Jwk* found = nullptr;
    auto jwks = jose::Jwks::FromJson(state_->signing_keys);
    EXPECT_TRUE(jwks.ok()) << jwks.message();
    found = jwks->Find(kid);
    EXPECT_NE(found, nullptr) << kid;
    auto t = jose::SignCompact(claims.dump(), found->key, alg, json{{"kid", kid}, {"typ", "JWT"}});
    EXPECT_TRUE(t.ok()) << t.message();
    return t.ok() ? *t : std::string();
  }

  json GoodClaims() const {
    return {{"iss", Issuer()},  {"sub", "alice"}, {"aud", state_->clients[0].client_id}, {"exp", Now() + 600},
            {"iat", Now()},     {"preferred_username", "alice"}, {"groups", {"berth-devs"}}};
  }

  static ProviderState* state_;
  static std::string* load_error_;
  // What the plugin logs through the host.
  std::string LogText() {
    std::fflush(logfile_);
    std::rewind(logfile_);
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, logfile_)) > 0;) out.append(buf, n);
    std::fseek(logfile_, 0, SEEK_END);
    return out;
  }
  static size_t Count(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
  }

  std::FILE* logfile_ = std::tmpfile();
  Logger log_{LogLevel::kInfo, logfile_};
  Metrics metrics_;
  HostServices host_{log_, metrics_};
  PluginRegistry reg_{host_.table()};
  const berth_provider* provider_ = nullptr;

 public:
  ~OidcPluginTest() override { std::fclose(logfile_); }
};
ProviderState* OidcPluginTest::state_ = nullptr;
std::string* OidcPluginTest::load_error_ = nullptr;

// ---- Descriptor and config -----------------------------------------------------

TEST_F(OidcPluginTest, DescriptorDeclaresAnAuthProviderWithItsCapabilities) {
  auto info = PluginRegistry::Inspect(std::string(BERTH_PLUGIN_DIR) + "/auth-oidc.so");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->name, "auth-oidc");
  ASSERT_EQ(info->providers.size(), 1u);
  EXPECT_EQ(info->providers[0].kind, BERTH_KIND_AUTH);
  EXPECT_EQ(info->providers[0].name, "oidc");
  EXPECT_EQ(info->providers[0].capabilities,
            BERTH_AUTH_CAP_BROWSER_LOGIN | BERTH_AUTH_CAP_VERIFY_TOKEN | BERTH_AUTH_CAP_PING);
  json schema = json::parse(info->providers[0].config_schema_json);
  EXPECT_EQ(schema["required"], json({"endpoint", "client_id", "client_secret"}));
  for (const char* k : {"scope", "verify_cert", "ca_cert", "user_claim", "groups_claim", "admin_group",
                        "group_filter", "extra_redirect_parms"}) {
    EXPECT_TRUE(schema["properties"].contains(k)) << k;
  }
}

TEST_F(OidcPluginTest, ConfigIsValidatedAgainstTheSchema) {
  auto msg = [&](const json& c) {
    auto r = CreateRaw(c);
    if (r.ok()) {
      provider_->destroy(*r);
      return std::string("created");
    }
    return r.status().message();
  };
  EXPECT_NE(msg(json::object()).find("'endpoint' is required"), std::string::npos);
  EXPECT_NE(msg(Config({{"client_secret", nullptr}})).find("'client_secret' is required"), std::string::npos);
  EXPECT_NE(msg(Config({{"client_id", ""}})).find("config.client_id"), std::string::npos);
  EXPECT_NE(msg(Config({{"endpoint", "ftp://idp.example"}})).find("config.endpoint: must match"), std::string::npos);
  EXPECT_NE(msg(Config({{"verify_cert", "yes"}})).find("config.verify_cert: expected boolean"), std::string::npos);
  EXPECT_NE(msg(Config({{"scopes", "openid"}})).find("unknown key 'scopes'"), std::string::npos);
  EXPECT_NE(msg(Config({{"extra_redirect_parms", {{"prompt", 1}}}})).find("expected string"), std::string::npos);
  // Checks only the plugin can make.
  EXPECT_NE(msg(Config({{"group_filter", "(["}})).find("not a valid regular expression"), std::string::npos);
  EXPECT_NE(msg(Config({{"scope", "profile,email"}})).find("must include \"openid\""), std::string::npos);
  EXPECT_NE(msg(Config({{"extra_redirect_parms", {{"nonce", "x"}}}})).find("cannot be overridden"),
            std::string::npos);
  EXPECT_EQ(msg(Config()), "created");
  EXPECT_EQ(msg(Config({{"scope", nullptr}, {"verify_cert", false}, {"group_filter", "^berth-"}})), "created");
}

TEST_F(OidcPluginTest, PasswordSignInIsNotOffered) {
  auto b = Make(Config());
  Outcome o = b->Authenticate("alice", "pw");
  EXPECT_EQ(o.rc, BERTH_E_UNSUPPORTED) << o;
}

// ---- login_begin -------------------------------------------------------------

TEST_F(OidcPluginTest, LoginBeginBuildsAnEncodedAuthorizationUrl) {
  auto b = Make(Config({{"extra_redirect_parms", {{"prompt", "login"}, {"ui_locales", "en fr"}}}}));
  std::string url;
  std::string state = "st a&b=c/é";
  std::string nonce = "n+1%2?#";
  Outcome o = b->LoginBegin(Redirect(), state, nonce, &url);
  ASSERT_TRUE(o.ok()) << o;
  EXPECT_EQ(url.rfind(Issuer() + "/auth?", 0), 0u) << url;
  EXPECT_EQ(url.find(' '), std::string::npos);
  EXPECT_EQ(url.find('#'), std::string::npos);
  EXPECT_EQ(oidctest::QueryParam(url, "response_type"), "code");
  EXPECT_EQ(oidctest::QueryParam(url, "client_id"), "berth");
  EXPECT_EQ(oidctest::QueryParam(url, "redirect_uri"), Redirect());
  EXPECT_EQ(oidctest::QueryParam(url, "scope"), "openid profile email groups");
  EXPECT_EQ(oidctest::QueryParam(url, "state"), state);
  EXPECT_EQ(oidctest::QueryParam(url, "nonce"), nonce);
  EXPECT_EQ(oidctest::QueryParam(url, "prompt"), "login");
  EXPECT_EQ(oidctest::QueryParam(url, "ui_locales"), "en fr");
  EXPECT_NE(url.find("state=st%20a%26b%3Dc%2F%C3%A9"), std::string::npos) << url;

  EXPECT_EQ(b->LoginBegin(Redirect(), "", "n", &url).rc, BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(b->LoginBegin(Redirect(), "s", "", &url).rc, BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(b->LoginBegin("not a url", "s", "n", &url).rc, BERTH_E_INVALID_ARGUMENT);
}

TEST_F(OidcPluginTest, DefaultScopeIsHarborsCommaSeparatedList) {
  auto b = Make(Config({{"scope", nullptr}}));
  std::string url;
  ASSERT_TRUE(b->LoginBegin(Redirect(), "s", "n", &url).ok());
  EXPECT_EQ(oidctest::QueryParam(url, "scope"), "openid profile email offline_access");
}

// ---- Full sign-in ------------------------------------------------------------------

TEST_F(OidcPluginTest, SignsInANormalUser) {
  auto b = Make(Config());
  LoginOutcome lo;
  std::string code = SignIn(*b, "alice", "state-alice", "nonce-alice", &lo);
  ASSERT_FALSE(code.empty()) << lo.callback_url;
  EXPECT_EQ(lo.state, "state-alice");  // the provider hands the state back for berthd to check
  User u;
  std::string token;
  Outcome o = b->LoginCallback(Redirect(), code, "nonce-alice", &u, &token);
  ASSERT_TRUE(o.ok()) << o;
  EXPECT_EQ(u.username, "alice");
  EXPECT_EQ(u.email, "alice@example.test");
  EXPECT_EQ(u.realname, "Alice Liddell");
  EXPECT_EQ(u.subject, Issuer() + "|alice");
  EXPECT_EQ(u.groups, (std::vector<std::string>{"berth-devs", "qa"}));
  EXPECT_FALSE(u.is_admin);
  // The raw ID token comes back and is a valid RS256 JWS with our nonce.
  auto jws = jose::DecodeCompact(token);
  ASSERT_TRUE(jws.ok()) << jws.message();
  EXPECT_EQ(jws->header["alg"], "RS256");
  EXPECT_EQ(json::parse(jws->payload)["nonce"], "nonce-alice");
  // And verify_token accepts it, giving the same user.
  User v;
  Outcome vo = b->VerifyToken(token, &v);
  ASSERT_TRUE(vo.ok()) << vo;
  EXPECT_EQ(v.username, "alice");
  EXPECT_EQ(v.subject, u.subject);
  EXPECT_EQ(v.groups, u.groups);
}

TEST_F(OidcPluginTest, SignsInAnAdministrator) {
  auto b = Make(Config());
  std::string code = SignIn(*b, "carol", "s", "n-carol");
  User u;
  std::string token;
  Outcome o = b->LoginCallback(Redirect(), code, "n-carol", &u, &token);
  ASSERT_TRUE(o.ok()) << o;
  EXPECT_EQ(u.username, "carol");
  EXPECT_EQ(u.groups, (std::vector<std::string>{"berth-admins", "berth-devs", "ops"}));
  EXPECT_TRUE(u.is_admin);
  User v;
  ASSERT_TRUE(b->VerifyToken(token, &v).ok());
  EXPECT_TRUE(v.is_admin);
}

TEST_F(OidcPluginTest, GroupFilterKeepsMatchingGroupsAndAdminStillCounts) {
  auto b = Make(Config({{"group_filter", "^berth-d"}}));
  std::string code = SignIn(*b, "carol", "s", "n");
  User u;
  std::string token;
  ASSERT_TRUE(b->LoginCallback(Redirect(), code, "n", &u, &token).ok());
  EXPECT_EQ(u.groups, (std::vector<std::string>{"berth-devs"}));
  EXPECT_TRUE(u.is_admin);
}

TEST_F(OidcPluginTest, UsernameClaimFallbacksAndUserClaim) {
  // dave has no preferred_username: the default falls back to "name".
  auto b = Make(Config());
  std::string code = SignIn(*b, "dave", "s", "n");
  User u;
  std::string token;
  ASSERT_TRUE(b->LoginCallback(Redirect(), code, "n", &u, &token).ok());
  EXPECT_EQ(u.username, "Dave NoGroups");
  EXPECT_TRUE(u.groups.empty());
  EXPECT_FALSE(u.is_admin);
  // user_claim picks the claim; a missing one is refused.
  auto by_email = Make(Config({{"user_claim", "email"}}));
  User e;
  ASSERT_TRUE(by_email->VerifyToken(token, &e).ok());
  EXPECT_EQ(e.username, "dave@example.test");
  auto by_nick = Make(Config({{"user_claim", "nickname"}}));
  Outcome o = by_nick->VerifyToken(token);
  EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(o.error.find("\"nickname\""), std::string::npos) << o;
}

TEST_F(OidcPluginTest, Es256ClientWithClientSecretPost) {
  // The second client may only authenticate with client_secret_post and gets
  // ES256 ID tokens: the plugin falls back from basic to post.
  auto b = Make(Config(json::object(), 1));
  std::string code = SignIn(*b, "alice", "s", "n-es");
  User u;
  std::string token;
  Outcome o = b->LoginCallback(Redirect(), code, "n-es", &u, &token);
  ASSERT_TRUE(o.ok()) << o;
  EXPECT_EQ(u.username, "alice");
  EXPECT_EQ(jose::DecodeCompact(token)->header["alg"], "ES256");
  EXPECT_TRUE(b->VerifyToken(token).ok());
  // That token is not for the first client.
  auto other = Make(Config());
  Outcome wrong = other->VerifyToken(token);
  EXPECT_EQ(wrong.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(wrong.error.find("audience"), std::string::npos) << wrong;
}

// ---- Refusals in the callback -------------------------------------------------------

TEST_F(OidcPluginTest, ADifferentNonceIsRefused) {
  auto b = Make(Config());
  std::string code = SignIn(*b, "alice", "s", "the-real-nonce");
  User u;
  std::string token;
  Outcome o = b->LoginCallback(Redirect(), code, "another-nonce", &u, &token);
  EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(o.error.find("nonce does not match"), std::string::npos) << o;
  EXPECT_TRUE(token.empty());
  EXPECT_EQ(b->LoginCallback(Redirect(), "c", "", &u, &token).rc, BERTH_E_INVALID_ARGUMENT);
}

TEST_F(OidcPluginTest, AReplayedOrInvalidCodeIsRefused) {
  auto b = Make(Config());
  std::string code = SignIn(*b, "alice", "s", "n");
  User u;
  std::string token;
  ASSERT_TRUE(b->LoginCallback(Redirect(), code, "n", &u, &token).ok());
  Outcome replay = b->LoginCallback(Redirect(), code, "n", &u, &token);
  EXPECT_EQ(replay.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(replay.error.find("invalid_grant"), std::string::npos) << replay;
  Outcome bogus = b->LoginCallback(Redirect(), "not-a-code", "n", &u, &token);
  EXPECT_EQ(bogus.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(bogus.error.find("invalid_grant"), std::string::npos) << bogus;
  // A code redeemed with another redirect_uri than it was issued for.
  std::string code2 = SignIn(*b, "alice", "s", "n");
  Outcome redirect = b->LoginCallback(Redirect() + "/elsewhere", code2, "n", &u, &token);
  EXPECT_EQ(redirect.rc, BERTH_E_UNAUTHENTICATED) << redirect;
}

TEST_F(OidcPluginTest, AWrongClientSecretIsRefused) {
  auto b = Make(Config({{"client_secret", "wrong"}}));
  std::string code = SignIn(*b, "alice", "s", "n");
  User u;
  std::string token;
  Outcome o = b->LoginCallback(Redirect(), code, "n", &u, &token);
  EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(o.error.find("invalid_client"), std::string::npos) << o;
}

// ---- verify_token -----------------------------------------------------------------

TEST_F(OidcPluginTest, VerifyTokenAcceptsAValidlySignedTokenOfTheProvider) {
  auto b = Make(Config());
  User u;
  Outcome o = b->VerifyToken(Mint(GoodClaims()), &u);
  ASSERT_TRUE(o.ok()) << o;
  EXPECT_EQ(u.username, "alice");
  EXPECT_EQ(u.groups, std::vector<std::string>{"berth-devs"});
  // ES256 is advertised and the EC key is in the JWKS.
  EXPECT_TRUE(b->VerifyToken(Mint(GoodClaims(), "ec-1", jose::Alg::kES256)).ok());
}

TEST_F(OidcPluginTest, VerifyTokenRefusesTamperedTokens) {
  auto b = Make(Config());
  std::string code = SignIn(*b, "alice", "s", "n");
  User u;
  std::string token;
  ASSERT_TRUE(b->LoginCallback(Redirect(), code, "n", &u, &token).ok());
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  auto expect_refused = [&](const std::string& t, const std::string& why) {
    Outcome o = b->VerifyToken(t);
    EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED) << why << ": " << o;
    EXPECT_NE(o.error.find(why), std::string::npos) << o;
  };
  // Payload edited: alice claims the admin group.
  json claims = json::parse(*jose::Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1)));
  claims["groups"] = {"berth-admins"};
  expect_refused(token.substr(0, d1 + 1) + jose::Base64UrlEncode(claims.dump()) + token.substr(d2),
                 "signature does not verify");
  // Signature bytes changed.
  std::string sig = *jose::Base64UrlDecode(token.substr(d2 + 1));
  sig[10] ^= 1;
  expect_refused(token.substr(0, d2 + 1) + jose::Base64UrlEncode(sig), "signature does not verify");
  // Signed by a key the provider does not know, under the provider's kid...
  auto foreign = *jose::GenerateRsaKey(2048);
  expect_refused(*jose::SignCompact(claims.dump(), foreign, jose::Alg::kRS256, json{{"kid", "rsa-1"}}),
                 "signature does not verify");
  // ...and under a kid of its own (the JWKS is refetched once, still unknown).
  expect_refused(*jose::SignCompact(claims.dump(), foreign, jose::Alg::kRS256, json{{"kid", "attacker"}}),
                 "no key with kid \"attacker\"");
  // alg none, and HS256 keyed with the client secret.
  expect_refused(jose::Base64UrlEncode(R"({"alg":"none"})") + "." + jose::Base64UrlEncode(claims.dump()) + ".",
                 "unsecured");
  expect_refused(jose::Base64UrlEncode(R"({"alg":"HS256","kid":"rsa-1"})") + "." +
                     jose::Base64UrlEncode(claims.dump()) + "." + jose::Base64UrlEncode("mac"),
                 "HMAC");
  // PS256 is supported by berth_jose but not advertised by this provider.
  expect_refused(Mint(GoodClaims(), "rsa-1", jose::Alg::kPS256), "does not advertise");
  expect_refused("garbage", "malformed");
  expect_refused("", "no token");
}

TEST_F(OidcPluginTest, AnUnknownKidRefetchesTheJwksAtMostOnceInTenSeconds) {
  auto b = Make(Config());
  ASSERT_TRUE(b->VerifyToken(Mint(GoodClaims())).ok());  // the JWKS is fetched and cached
  EXPECT_EQ(Count(LogText(), "refetched the provider's JWKS"), 0u);
  auto foreign = *jose::GenerateEcKey("P-256");
  auto ghost = [&](const std::string& kid) {
    return *jose::SignCompact(GoodClaims().dump(), foreign, jose::Alg::kES256, json{{"kid", kid}});
  };
  Outcome first = b->VerifyToken(ghost("rotated-1"));
  EXPECT_EQ(first.rc, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(first.error.find("no key with kid \"rotated-1\""), std::string::npos) << first;
  EXPECT_EQ(Count(LogText(), "refetched the provider's JWKS"), 1u) << LogText();
  // A flood of unknown kids does not turn into a flood of JWKS fetches.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b->VerifyToken(ghost("rotated-" + std::to_string(i + 2))).rc,
                                        BERTH_E_UNAUTHENTICATED);
  EXPECT_EQ(Count(LogText(), "refetched the provider's JWKS"), 1u) << LogText();
  EXPECT_TRUE(b->VerifyToken(Mint(GoodClaims(), "ec-1", jose::Alg::kES256)).ok());
}

TEST_F(OidcPluginTest, VerifyTokenChecksEveryClaim) {
  auto b = Make(Config());
  auto refused = [&](json claims, const std::string& why) {
    Outcome o = b->VerifyToken(Mint(claims));
    EXPECT_EQ(o.rc, BERTH_E_UNAUTHENTICATED) << why << ": " << o;
    EXPECT_NE(o.error.find(why), std::string::npos) << o;
  };
  json c = GoodClaims();
  refused(With(c, {{"iss", Issuer() + "/"}}), "issuer");
  refused(With(c, {{"iss", "http://127.0.0.1:1"}}), "issuer");
  refused(With(c, {{"aud", "someone-else"}}), "audience");
  refused(With(c, {{"aud", {"someone-else", "another"}}}), "audience");
  refused(With(c, {{"aud", {"berth", "another"}}}), "several audiences and no azp");
  refused(With(c, {{"aud", {"berth", "another"}}, {"azp", "another"}}), "azp is not this client");
  refused(With(c, {{"exp", Now() - 3600}}), "expired");
  refused(With(c, {{"exp", "soon"}}), "not a number");
  refused(With(c, {{"iat", Now() + 3600}}), "issued in the future");
  refused(With(c, {{"nbf", Now() + 3600}}), "not valid before");
  json no_exp = c;
  no_exp.erase("exp");
  refused(no_exp, "\"exp\" is required");
  json no_iat = c;
  no_iat.erase("iat");
  refused(no_iat, "\"iat\" is required");
  json no_sub = c;
  no_sub.erase("sub");
  refused(no_sub, "\"sub\" is required");
  // Within the leeway, and with a matching azp among several audiences: fine.
  EXPECT_TRUE(b->VerifyToken(Mint(With(c, {{"exp", Now() - 20}}))).ok());
  EXPECT_TRUE(b->VerifyToken(Mint(With(c, {{"aud", {"berth", "x"}}, {"azp", "berth"}}))).ok());
}

TEST_F(OidcPluginTest, VerifyTokenIsSafeToCallConcurrently) {
  auto b = Make(Config());
  std::string good = Mint(GoodClaims());
  std::string bad = Mint(With(GoodClaims(), {{"aud", "x"}}));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        bool want_ok = (i + t) % 2 == 0;
        if (b->VerifyToken(want_ok ? good : bad).ok() != want_ok) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---- ping and unreachable providers ------------------------------------------------

TEST_F(OidcPluginTest, PingChecksDiscoveryAndJwks) {
  auto b = Make(Config());
  Outcome own = b->Ping("");
  EXPECT_TRUE(own.ok()) << own;
  EXPECT_TRUE(b->Ping(json{{"endpoint", Issuer() + "/"}}.dump()).ok());

  Outcome down = b->Ping(json{{"endpoint", "http://127.0.0.1:1"}}.dump());
  EXPECT_EQ(down.rc, BERTH_E_IO) << down;
  EXPECT_NE(down.error.find("OIDC discovery document"), std::string::npos) << down;
  EXPECT_NE(down.error.find("127.0.0.1:1"), std::string::npos) << down;

  Outcome not_found = b->Ping(json{{"endpoint", Issuer() + "/nope"}}.dump());
  EXPECT_EQ(not_found.rc, BERTH_E_IO) << not_found;
  EXPECT_NE(not_found.error.find("answered HTTP 404"), std::string::npos) << not_found;

  // The provider's /auth is not a discovery document for that "issuer".
  Outcome bad = b->Ping(json{{"endpoint", "http://localhost:" + Issuer().substr(Issuer().rfind(':') + 1)}}.dump());
  EXPECT_EQ(bad.rc, BERTH_E_IO) << bad;
  EXPECT_NE(bad.error.find("names issuer"), std::string::npos) << bad;

  EXPECT_EQ(b->Ping("not json").rc, BERTH_E_INVALID_ARGUMENT);
  Outcome invalid = b->Ping(json{{"scope", "email"}}.dump());
  EXPECT_EQ(invalid.rc, BERTH_E_INVALID_ARGUMENT);
  EXPECT_NE(invalid.error.find("openid"), std::string::npos) << invalid;
}

TEST_F(OidcPluginTest, AnUnreachableProviderIsAnIoError) {
  auto b = Make(Config({{"endpoint", "http://127.0.0.1:1"}, {"timeout_ms", 2000}}));
  std::string url;
  Outcome o = b->LoginBegin(Redirect(), "s", "n", &url);
  EXPECT_EQ(o.rc, BERTH_E_IO) << o;
  EXPECT_EQ(b->VerifyToken(Mint(GoodClaims())).rc, BERTH_E_IO);
}

}  // namespace
}  // namespace berth
