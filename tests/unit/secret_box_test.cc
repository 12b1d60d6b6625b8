// SecretBox: sealed secrets open with the same key only, and tampering shows.
#include "common/secret_box.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(SecretBoxTest, SealsAndOpens) {
  SecretBox box("key material", "purpose");
  auto a = box.Seal(R"({"password":"s3cret"})");
  auto b = box.Seal(R"({"password":"s3cret"})");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("enc:v1:", 0), 0u);
  EXPECT_EQ(a->find("s3cret"), std::string::npos);
  EXPECT_NE(*a, *b);  // a fresh nonce each time
  EXPECT_EQ(*box.Open(*a), R"({"password":"s3cret"})");
  EXPECT_EQ(*box.Open(""), "");
  EXPECT_EQ(*box.Open("{}"), "{}");  // written before sealing: as is
}

TEST(SecretBoxTest, OtherKeysAndTamperingFail) {
  SecretBox box("key material", "purpose");
  auto sealed = box.Seal("token");
  ASSERT_TRUE(sealed.ok());
  EXPECT_FALSE(SecretBox("other material", "purpose").Open(*sealed).ok());
  EXPECT_FALSE(SecretBox("key material", "other purpose").Open(*sealed).ok());
  std::string bad = *sealed;
  bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.Open(bad).ok());
  EXPECT_FALSE(box.Open("enc:v1:!!").ok());
}

}  // namespace
}  // namespace berth
