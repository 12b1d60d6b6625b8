#include "registry/artifact_icons.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/digest.h"

namespace berth {
namespace {

using ::testing::StartsWith;

TEST(ArtifactIcons, EachTypeHasItsIconAndOthersTheDefault) {
  std::set<std::string> digests;
  for (const char* t : {"IMAGE", "CHART", "CNAB", "WASM", "SIGNATURE", "SBOM", "UNKNOWN"}) {
    std::string d(IconDigestForType(t));
    EXPECT_TRUE(Digest::Parse(d).ok()) << t << ": " << d;
    digests.insert(d);
  }
  EXPECT_EQ(digests.size(), 7u) << "distinct icons";
  EXPECT_EQ(IconDigestForType("image"), IconDigestForType("IMAGE"));
  EXPECT_EQ(IconDigestForType("signature.cosign"), IconDigestForType("SIGNATURE"));
  EXPECT_EQ(IconDigestForType("signature.notation"), IconDigestForType("SIGNATURE"));
  EXPECT_EQ(IconDigestForType("harbor.sbom"), IconDigestForType("SBOM"));
  EXPECT_EQ(IconDigestForType("MODEL"), IconDigestForType("UNKNOWN"));
  EXPECT_EQ(IconDigestForType(""), IconDigestForType("UNKNOWN"));
}

TEST(ArtifactIcons, LookupByDigestServesTheBytesTheDigestNames) {
  for (const char* t : {"IMAGE", "CHART", "CNAB", "WASM", "SIGNATURE", "SBOM", "UNKNOWN"}) {
    const ArtifactIcon* icon = FindIcon(IconDigestForType(t));
    ASSERT_NE(icon, nullptr) << t;
    EXPECT_EQ(icon->digest, IconDigestForType(t));
    EXPECT_EQ(icon->content_type, "image/svg+xml");
    EXPECT_THAT(std::string(icon->content), StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha256, icon->content).ToString(), icon->digest);
  }
  EXPECT_EQ(FindIcon("sha256:" + std::string(64, '0')), nullptr);
  EXPECT_EQ(FindIcon(""), nullptr);
}

}  // namespace
}  // namespace berth
