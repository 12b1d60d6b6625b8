#include "registry/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth {
namespace {

const std::string kHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(RepositoryName, ValidNames) {
  for (const std::string& name : std::vector<std::string>{"a", "a/b", "a.b", "a_b", "a__b", "a---b", "a-b", "0", "9a", "library/ubuntu",
        "a/b/c/d/e", "foo.bar_baz__qux-quux/x1", "a.b.c", "blobs", "a/manifests/b",
        "a/blobs/uploads", std::string(255, 'a')}) {
    Status s = ValidateRepositoryName(name);
    EXPECT_TRUE(s.ok()) << "rejected '" << name << "': " << s.message();
  }
}

TEST(RepositoryName, InvalidNames) {
  for (const std::string& name : std::vector<std::string>{"", "A", "aB", "a..b", "a___b", "a_-b", "a-_b", "a._b", "-a", "a-", "_a", "a_", ".a",
        "a.", "a/", "/a", "a//b", "../x", "a/../b", "./a", "a/.", "a b", "a:b", "a@b", "a\\b",
        "\xc3\xa9", std::string("a\0b", 3), std::string(256, 'a'), "a/" + std::string(254, 'b')}) {
    Status s = ValidateRepositoryName(name);
    EXPECT_FALSE(s.ok()) << "accepted '" << name << "'";
    if (!s.ok()) {
      EXPECT_EQ(s.code(), Code::kInvalidArgument);
      EXPECT_EQ(s.api_code(), "NAME_INVALID");
    }
  }
}

TEST(RepositoryName, LengthLimitCountsTheWholeName) {
  std::string at_limit = std::string(127, 'a') + "/" + std::string(127, 'b');
  ASSERT_EQ(at_limit.size(), 255u);
  EXPECT_TRUE(ValidateRepositoryName(at_limit).ok());
  EXPECT_FALSE(ValidateRepositoryName(at_limit + "c").ok());
}

TEST(Tag, Valid) {
  for (const std::string& tag : std::vector<std::string>{"latest", "v1.0.0", "_x", "A", "0", "1.2-rc_3", "__", "a..b",
                                "a--", std::string(128, 'a')}) {
    EXPECT_TRUE(IsValidTag(tag)) << tag;
  }
}

TEST(Tag, Invalid) {
  for (const std::string& tag : std::vector<std::string>{"", ".x", "-x", "a/b", "a:b", "a b", "a@b", "a+b", "\xc3\xa9",
                                std::string("a\0", 2), std::string(129, 'a')}) {
    EXPECT_FALSE(IsValidTag(tag)) << tag;
  }
}

TEST(ManifestReference, Tag) {
  auto r = ParseManifestReference("v1.2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->is_digest);
  EXPECT_EQ(r->tag, "v1.2");
}

TEST(ManifestReference, Digest) {
  auto r = ParseManifestReference("sha256:" + kHex);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->is_digest);
  EXPECT_TRUE(r->tag.empty());
  EXPECT_EQ(r->digest.ToString(), "sha256:" + kHex);
}

TEST(ManifestReference, MalformedDigestIsDigestInvalid) {
  for (const std::string& ref : std::vector<std::string>{"sha256:abc", "sha256:" + kHex + "0", "sha999:" + kHex,
                                "a:b", ":", "sha256:"}) {
    auto r = ParseManifestReference(ref);
    ASSERT_FALSE(r.ok()) << ref;
    EXPECT_EQ(r.status().api_code(), "DIGEST_INVALID") << ref;
  }
}

TEST(ManifestReference, BadTagIsTagInvalid) {
  for (const std::string& ref : std::vector<std::string>{"", ".hidden", "-x", std::string(129, 'a'), "a/b", "a b"}) {
    auto r = ParseManifestReference(ref);
    ASSERT_FALSE(r.ok()) << ref;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().api_code(), "TAG_INVALID") << ref;
  }
  // The message never echoes an unbounded reference.
  auto r = ParseManifestReference(std::string(100000, '-'));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 1000u);
}

}  // namespace
}  // namespace berth
