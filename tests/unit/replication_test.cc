// Replication's pure parts: sealing secrets (AES-256-GCM) and Harbor's
// policy rules (validation, replaceNamespace).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/secret_box.h"
#include "replication/replication_policy.h"

namespace berth {
namespace {

TEST(SecretBoxTest, SealsAndOpensWithTheSameKeyOnly) {
  SecretBox a = SecretBox::FromKey(std::string(32, 'a'));
  SecretBox b = SecretBox::FromKey(std::string(32, 'b'));
  auto sealed = a.Seal("s3cret-password");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->rfind("aesgcm:v1:", 0), 0u);
  EXPECT_EQ(sealed->find("s3cret"), std::string::npos);
  auto again = a.Seal("s3cret-password");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*sealed, *again);  // a fresh nonce each time
  auto opened = a.Unseal(*sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "s3cret-password");
  EXPECT_FALSE(b.Unseal(*sealed).ok());
  std::string tampered = *sealed;
  // A character in the middle: the last ones of base64 may hold padding bits
  // a decoder ignores.
  char& mid = tampered[tampered.size() / 2];
  mid = mid == 'A' ? 'B' : 'A';
  EXPECT_FALSE(a.Unseal(tampered).ok());
  EXPECT_FALSE(a.Unseal("plain").ok());
  auto empty = a.Seal("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*a.Unseal(*empty), "");
}

TEST(SecretBoxTest, KeyFileCreatedPrivateAndReused) {
  auto dir = std::filesystem::temp_directory_path() / ("berth-secret-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "secret.key").string();
  auto first = SecretBox::Open(path, "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto sealed = first->Seal("x");
  auto second = SecretBox::Open(path, "");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second->Unseal(*sealed), "x");
  // From the environment: another key.
  auto env = SecretBox::Open(path, "some passphrase");
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(env->Unseal(*sealed).ok());
  chmod(path.c_str(), 0644);
  EXPECT_FALSE(SecretBox::Open(path, "").ok());
  std::filesystem::remove_all(dir);
}

ReplicationPolicy Parse(const std::string& json) {
  auto p = ParseReplicationPolicy(nlohmann::json::parse(json));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : ReplicationPolicy{};
}

TEST(ReplicationPolicyTest, DestinationRepository) {
  auto p = Parse(R"({"name":"p","dest_registry":{"id":1}})");
  EXPECT_EQ(*DestinationRepository(p, "library/team/app"), "library/team/app");
  p = Parse(R"({"name":"p","dest_registry":{"id":1},"dest_namespace":"ns"})");
  EXPECT_EQ(*DestinationRepository(p, "library/team/app"), "ns/app");  // legacy
  p.dest_namespace_replace_count = 0;
  EXPECT_EQ(*DestinationRepository(p, "library/team/app"), "ns/library/team/app");
  p.dest_namespace_replace_count = 1;
  EXPECT_EQ(*DestinationRepository(p, "library/team/app"), "ns/team/app");
  p.dest_namespace_replace_count = 3;
  EXPECT_EQ(*DestinationRepository(p, "library/team/app"), "ns");
  p.dest_namespace_replace_count = 4;
  EXPECT_FALSE(DestinationRepository(p, "library/team/app").ok());
}

TEST(ReplicationPolicyTest, Validation) {
  for (const char* bad : {
           R"({"name":""})",
           R"({"name":"p"})",
           R"({"name":"p","src_registry":{"id":1},"dest_registry":{"id":2}})",
           R"({"name":"p","src_registry":{"id":1},"trigger":{"type":"event_based"}})",
           R"({"name":"p","dest_registry":{"id":1},"trigger":{"type":"scheduled"}})",
           R"({"name":"p","dest_registry":{"id":1},"filters":[{"type":"tag","value":"a","decoration":"maybe"}]})",
           R"({"name":"p","dest_registry":{"id":1},"filters":[{"type":"name","value":"a"},{"type":"name","value":"b"}]})",
           R"({"name":"p","dest_registry":{"id":1},"filters":[{"type":"label","value":[1]}]})",
           R"({"name":"p","dest_registry":{"id":1},"speed":"fast"})",
       }) {
    EXPECT_FALSE(ParseReplicationPolicy(nlohmann::json::parse(bad)).ok()) << bad;
  }
  auto p = Parse(R"({"name":"p","dest_registry":{"id":4},"deletion":true,
    "filters":[{"type":"label","value":["a","b"],"decoration":"excludes"},{"type":"resource","value":"artifact"}],
    "trigger":{"type":"scheduled","trigger_settings":{"cron":"0 0 * * * *"}},"speed":100})");
  EXPECT_TRUE(p.push_based());
  EXPECT_TRUE(p.replicate_deletion);
  EXPECT_EQ(p.cron, "0 0 * * * *");
  ASSERT_NE(FindFilter(p, "label"), nullptr);
  EXPECT_EQ(FindFilter(p, "label")->labels, (std::vector<std::string>{"a", "b"}));
  auto back = PolicyFromStored(7, "p", 0, 4, true, StoredPolicyJson(p), 1, 2);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, 7);
  EXPECT_EQ(back->speed_kb, 100);
  EXPECT_EQ(back->filters.size(), 2u);
}

}  // namespace
}  // namespace berth
