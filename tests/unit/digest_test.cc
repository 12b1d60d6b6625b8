#include "common/digest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>

namespace berth {
namespace {

constexpr char kSha256Empty[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kSha256Abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kSha512Empty[] =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
constexpr char kSha512Abc[] =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

TEST(DigestParse, ValidSha256) {
  auto d = Digest::Parse(std::string("sha256:") + kSha256Abc);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->algorithm, DigestAlgorithm::kSha256);
  EXPECT_EQ(d->hex, kSha256Abc);
  EXPECT_EQ(d->AlgorithmName(), "sha256");
  EXPECT_EQ(d->ToString(), std::string("sha256:") + kSha256Abc);
}

TEST(DigestParse, ValidSha512) {
  auto d = Digest::Parse(std::string("sha512:") + kSha512Abc);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->algorithm, DigestAlgorithm::kSha512);
  EXPECT_EQ(d->hex, kSha512Abc);
  EXPECT_EQ(d->AlgorithmName(), "sha512");
  EXPECT_EQ(d->ToString(), std::string("sha512:") + kSha512Abc);
}

TEST(DigestParse, RoundTripsThroughToString) {
  for (const std::string& s : {std::string("sha256:") + kSha256Empty,
                               std::string("sha512:") + kSha512Empty}) {
    auto d = Digest::Parse(s);
    ASSERT_TRUE(d.ok()) << s;
    auto again = Digest::Parse(d->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *d);
  }
}

TEST(DigestParse, InvalidInputsCarryDigestInvalid) {
  const std::string hex64 = kSha256Abc;
  std::string upper = hex64;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string cases[] = {
      "",
      "sha256",
      "sha256:",
      ":" + hex64,
      "sha256:" + hex64.substr(1),              // 63 characters
      "sha256:" + hex64 + "0",                  // 65 characters
      "sha256:" + upper,                        // uppercase hex
      "sha256:" + hex64.substr(1) + "g",        // not hex
      "sha256:" + hex64.substr(1) + "=",        // grammar allows '=', sha256 does not
      "SHA256:" + hex64,                        // algorithm must be lowercase
      "sha384:" + hex64 + hex64.substr(0, 32),  // well-formed but unsupported
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha256::" + hex64,
      "sha256:" + hex64.substr(0, 32) + " " + hex64.substr(33),
      "sha512:" + hex64,                        // sha512 needs 128 characters
      "sha256:" + std::string(kSha512Abc),      // and sha256 exactly 64
      " sha256:" + hex64,
      "sha256:" + hex64 + "\n",
  };
  for (const auto& c : cases) {
    auto d = Digest::Parse(c);
    EXPECT_FALSE(d.ok()) << "accepted: '" << c << "'";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Code::kInvalidArgument) << c;
      EXPECT_EQ(d.status().api_code(), "DIGEST_INVALID") << c;
    }
  }
}

TEST(DigestParse, LongInputIsTruncatedInTheMessage) {
  std::string huge = "sha256:" + std::string(100000, 'x') + "!";
  auto d = Digest::Parse(huge);
  ASSERT_FALSE(d.ok());
  EXPECT_LT(d.status().message().size(), 1000u);
}

TEST(DigestLooksLike, FollowsTheSpecGrammar) {
  // Examples from the OCI image spec's descriptor section.
  EXPECT_TRUE(Digest::LooksLikeDigest(
      "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"));
  EXPECT_TRUE(Digest::LooksLikeDigest(
      "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"));
  EXPECT_TRUE(Digest::LooksLikeDigest("sha256:abc"));
  EXPECT_TRUE(Digest::LooksLikeDigest("a:b"));
  EXPECT_TRUE(Digest::LooksLikeDigest("a.b_c-d+e:A=b_-"));

  EXPECT_FALSE(Digest::LooksLikeDigest(""));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha256"));
  EXPECT_FALSE(Digest::LooksLikeDigest(":abc"));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha256:"));
  EXPECT_FALSE(Digest::LooksLikeDigest("Sha256:abc"));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha256..x:abc"));
  EXPECT_FALSE(Digest::LooksLikeDigest("-sha:abc"));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha-:abc"));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha256:ab/c"));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha256:ab:c"));
  EXPECT_FALSE(Digest::LooksLikeDigest("sha256:ab c"));
}

TEST(DigestOf, KnownVectors) {
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha256, "").hex, kSha256Empty);
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha256, "abc").hex, kSha256Abc);
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha512, "").hex, kSha512Empty);
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha512, "abc").hex, kSha512Abc);
  Digest d = Digest::Of(DigestAlgorithm::kSha512, "abc");
  EXPECT_EQ(d.algorithm, DigestAlgorithm::kSha512);
  EXPECT_EQ(d.ToString(), std::string("sha512:") + kSha512Abc);
}

TEST(DigestOf, BinaryContent) {
  std::string data("\0\xff\x01", 3);
  Digest a = Digest::Of(DigestAlgorithm::kSha256, data);
  Digest b = Digest::Of(DigestAlgorithm::kSha256, std::string("\0\xff\x02", 3));
  EXPECT_EQ(a.hex.size(), 64u);
  EXPECT_NE(a, b);
  // Embedded NUL bytes are hashed, not treated as a terminator.
  EXPECT_NE(a, Digest::Of(DigestAlgorithm::kSha256, ""));
}

TEST(DigestEquality, ComparesAlgorithmAndHex) {
  Digest a{DigestAlgorithm::kSha256, "ab"};
  Digest b{DigestAlgorithm::kSha512, "ab"};
  Digest c{DigestAlgorithm::kSha256, "ab"};
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(a == c);
}

class HasherTest : public ::testing::TestWithParam<DigestAlgorithm> {};

TEST_P(HasherTest, IncrementalEqualsOneShot) {
  std::mt19937 rng(42);
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  Hasher h(GetParam());
  EXPECT_EQ(h.algorithm(), GetParam());
  // Uneven chunk sizes, including empty updates.
  size_t pos = 0, step = 1;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    h.Update(data.data() + pos, n);
    h.Update(data.data() + pos, 0);
    pos += n;
    step = step * 3 + 1;
  }
  Digest inc = h.Finish();
  Digest one = Digest::Of(GetParam(), data);
  EXPECT_EQ(inc, one);
  EXPECT_EQ(inc.algorithm, GetParam());
  EXPECT_EQ(inc.hex.size(), GetParam() == DigestAlgorithm::kSha256 ? 64u : 128u);
}

TEST_P(HasherTest, EmptyInput) {
  Hasher h(GetParam());
  Digest d = h.Finish();
  EXPECT_EQ(d.hex, GetParam() == DigestAlgorithm::kSha256 ? kSha256Empty : kSha512Empty);
}

TEST_P(HasherTest, ByteAtATime) {
  Hasher h(GetParam());
  for (char c : std::string("abc")) h.Update(&c, 1);
  EXPECT_EQ(h.Finish().hex, GetParam() == DigestAlgorithm::kSha256 ? kSha256Abc : kSha512Abc);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, HasherTest,
                         ::testing::Values(DigestAlgorithm::kSha256, DigestAlgorithm::kSha512),
                         [](const auto& info) {
                           return info.param == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
                         });

}  // namespace
}  // namespace berth
