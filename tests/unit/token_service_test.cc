#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <string>

#include <unistd.h>

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
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-token-test-" + std::to_string(::getpid()));
    TokenServiceOptions o;
    o.key_path = (dir_ / "token.key").string();
    auto s = TokenService::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
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

}  // namespace
}  // namespace berth
