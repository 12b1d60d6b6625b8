// TokenService: tokens it issues verify, and every other token is refused
// with kUnauthenticated: a bad signature, another key, another issuer or
// audience, an expired token; and what a verified token grants is exactly
// its scope (RegistryTokenGrants).
#include "auth/token_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <string>

#include "auth/registry_access.h"

namespace berth {
namespace {

std::string B64Url(const std::string& s) {
  std::string out;
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += a[(v >> k) & 63];
  }
  if (s.size() - i == 1) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
  } else if (s.size() - i == 2) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    for (int k = 18; k >= 6; k -= 6) out += a[(v >> k) & 63];
  }
  return out;
}

class TokenServiceTest : public testing::Test {
 protected:
  // One key for the suite: generating an RSA key costs more than all the
  // tests together; each test opens a fresh service (and cache) on it.
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-token-test-" + std::to_string(::getpid()));
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  void SetUp() override {
    TokenServiceOptions o;
    o.key_path = (dir_ / "token.key").string();
    auto s = TokenService::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(*s);
  }

  // Another service on the same key file (so the same kid), with `edit`
  // applied to its options.
  template <class F>
  std::unique_ptr<TokenService> Sibling(F edit) {
    TokenServiceOptions o = service_->options();
    edit(o);
    auto s = TokenService::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string IssueFrom(const TokenService& t) {
    auto issued = t.Issue("alice", {{"repository", "library/nginx", {"pull"}}});
    EXPECT_TRUE(issued.ok()) << issued.status().ToString();
    return issued.ok() ? issued->token : "";
  }
  void ExpectRefused(const std::string& token, const std::string& why) {
    auto id = service_->Verify(token);
    ASSERT_FALSE(id.ok()) << why;
    EXPECT_EQ(id.status().code(), Code::kUnauthenticated) << why;
    EXPECT_EQ(id.status().api_code(), "UNAUTHORIZED") << why;
  }

  static inline std::filesystem::path dir_;
  std::unique_ptr<TokenService> service_;
};

TEST_F(TokenServiceTest, IssuedTokenVerifies) {
  auto t = service_->Issue("alice", {{"repository", "library/nginx", {"pull"}}});
  ASSERT_TRUE(t.ok());
  auto id = service_->Verify(t->token);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->username, "alice");
}

// A header whose kid is not a string threw nlohmann's type_error out of
// Verify (tests/fuzz/regressions/token/kid_number).
TEST_F(TokenServiceTest, NonStringKidIsAnInvalidToken) {
  std::string payload = B64Url(R"({"sub":"a","access":[]})");
  for (const char* kid : {"12", "null", "[]", "{\"a\":1}", "true"}) {
    std::string token = B64Url(std::string(R"({"alg":"RS256","kid":)") + kid + "}") + "." +
                        payload + ".AAAA";
    StatusOr<Identity> id = Status::Internal("not run");
    ASSERT_NO_THROW(id = service_->Verify(token)) << kid;
    ASSERT_FALSE(id.ok()) << kid;
    EXPECT_EQ(id.status().code(), Code::kUnauthenticated) << kid;
  }
}

// Nodes that share one key file sign and verify each other's tokens; a
// service with another key refuses them.
TEST_F(TokenServiceTest, ServicesOnOneKeyFileAcceptEachOthersTokens) {
  TokenServiceOptions o;
  o.key_path = (dir_ / "token.key").string();
  auto other = TokenService::Open(o);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ((*other)->kid(), service_->kid());
  auto t = service_->Issue("alice", {{"repository", "library/nginx", {"pull"}}});
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE((*other)->Verify(t->token).ok());

  o.key_path = (dir_ / "elsewhere" / "token.key").string();
  auto stranger = TokenService::Open(o);
  ASSERT_TRUE(stranger.ok()) << stranger.status().ToString();
  EXPECT_NE((*stranger)->kid(), service_->kid());
  EXPECT_FALSE((*stranger)->Verify(t->token).ok());
}

// Several services creating a missing key file at once end up with one key.
TEST_F(TokenServiceTest, ConcurrentCreationKeepsOneKey) {
  std::string path = (dir_ / "shared" / "token.key").string();
  std::vector<std::unique_ptr<TokenService>> services(4);
  std::vector<std::thread> threads;
  for (auto& s : services) {
    threads.emplace_back([&s, path] {
      TokenServiceOptions o;
      o.key_path = path;
      auto opened = TokenService::Open(o);
      if (opened.ok()) s = std::move(*opened);
    });
  }
  for (auto& t : threads) t.join();
  for (auto& s : services) {
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->kid(), services[0]->kid());
  }
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "shared")) {
    EXPECT_EQ(e.path().filename(), "token.key");  // no temporary file left
  }
}

TEST_F(TokenServiceTest, TamperedSignatureIsRefused) {
  std::string token = IssueFrom(*service_);
  // A character inside the signature (the last one also holds padding bits).
  char& c = token[token.rfind('.') + 10];
  c = c == 'A' ? 'B' : 'A';
  ExpectRefused(token, "bad signature");
  std::string payload_swapped = IssueFrom(*service_);
  size_t a = payload_swapped.find('.'), b = payload_swapped.rfind('.');
  std::string other = IssueFrom(*Sibling([](TokenServiceOptions&) {}));
  // Another token's claims under this token's signature.
  std::string forged = payload_swapped.substr(0, a) +
                       other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                       payload_swapped.substr(b);
  ExpectRefused(forged, "claims of another token");
}

TEST_F(TokenServiceTest, TokenOfAnotherKeyIsRefused) {
  // The fuzzers' fixed key (generating another would cost more than the suite).
  auto stranger = Sibling([](TokenServiceOptions& o) {
    o.key_path = std::string(BERTH_TESTDATA_DIR) + "/../../fuzz/token_key.pem";
  });
  ASSERT_NE(stranger, nullptr);
  EXPECT_NE(stranger->kid(), service_->kid());
  ExpectRefused(IssueFrom(*stranger), "unknown key");
}

TEST_F(TokenServiceTest, WrongIssuerIsRefused) {
  auto other = Sibling([](TokenServiceOptions& o) { o.issuer = "another-issuer"; });
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(other->kid(), service_->kid());
  ExpectRefused(IssueFrom(*other), "wrong issuer");
}

TEST_F(TokenServiceTest, WrongAudienceIsRefused) {
  auto other = Sibling([](TokenServiceOptions& o) { o.service = "another-registry"; });
  ASSERT_NE(other, nullptr);
  ExpectRefused(IssueFrom(*other), "wrong audience");
}

TEST_F(TokenServiceTest, ExpiredTokenIsRefused) {
  service_->set_expiration_s(-3600);  // exp an hour ago: past the minute of leeway
  ExpectRefused(IssueFrom(*service_), "expired");
  service_->set_expiration_s(1800);
  auto id = service_->Verify(IssueFrom(*service_));
  EXPECT_TRUE(id.ok()) << id.status().ToString();
}

TEST_F(TokenServiceTest, GrantsAreExactlyTheScope) {
  auto t = service_->Issue("alice", {{"repository", "library/nginx", {"pull"}},
                                     {"repository", "alice/app", {"pull", "push"}}});
  ASSERT_TRUE(t.ok());
  auto id = service_->Verify(t->token);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->kind, Identity::Kind::kToken);
  EXPECT_TRUE(RegistryTokenGrants(*id, "library/nginx", "pull"));
  EXPECT_FALSE(RegistryTokenGrants(*id, "library/nginx", "push"));
  EXPECT_FALSE(RegistryTokenGrants(*id, "library/nginx", "delete"));
  EXPECT_FALSE(RegistryTokenGrants(*id, "library/redis", "pull"));
  EXPECT_FALSE(RegistryTokenGrants(*id, "library/nginx/sub", "pull"));
  EXPECT_TRUE(RegistryTokenGrants(*id, "alice/app", "push"));
  // An identity that is not a token holds no token grants, whatever it lists.
  Identity user = *id;
  user.kind = Identity::Kind::kUser;
  EXPECT_FALSE(RegistryTokenGrants(user, "library/nginx", "pull"));
}

TEST(TokenScopes, ParseRejectsMalformedScopes) {
  auto scopes = ParseScopes("repository:library/nginx:pull,push registry:catalog:*");
  ASSERT_TRUE(scopes.ok());
  ASSERT_EQ(scopes->size(), 2u);
  EXPECT_EQ((*scopes)[0].actions, (std::vector<std::string>{"pull", "push"}));
  auto port = ParseScopes("repository:localhost:5000/app:pull");
  ASSERT_TRUE(port.ok());
  EXPECT_EQ((*port)[0].name, "localhost:5000/app");
  for (const char* bad : {"repository", "repository:pull", ":name:pull", "repository::pull"}) {
    EXPECT_EQ(ParseScopes(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace berth
