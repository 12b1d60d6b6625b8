// CVE allowlists in the store layer, on SQLite and PostgreSQL: the system
// row (project_id 0) and project rows, replacement that keeps id and
// creation time, null expiry, and a project's row going with the project
// (store_test_support.h fixture).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/cve_allowlist_store.h"
#include "store/project_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

class CveAllowlistStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    lists_ = std::make_unique<CveAllowlistStore>(*db_);
  }
  void TearDown() override {
    lists_.reset();
    StoreTestBase::TearDown();
  }
  std::unique_ptr<CveAllowlistStore> lists_;
};

TEST_P(CveAllowlistStoreTest, SetReplacesWholeAndKeepsIdentity) {
  auto none = lists_->Get(0);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto first = lists_->Set(0, 4102444800, {"CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_GT(first->id, 0);
  EXPECT_EQ(first->project_id, 0);
  EXPECT_EQ(first->expires_at, 4102444800);
  EXPECT_EQ(first->items, (std::vector<std::string>{"CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"}));
  EXPECT_GT(first->creation_time, 0);

  auto second = lists_->Set(0, std::nullopt, {"CVE-2014-0160"});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->creation_time, first->creation_time);
  EXPECT_GE(second->update_time, first->update_time);
  EXPECT_FALSE(second->expires_at.has_value());
  auto read = lists_->Get(0);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->items, std::vector<std::string>{"CVE-2014-0160"});

  auto empty = lists_->Set(0, std::nullopt, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->items.empty());
}

TEST_P(CveAllowlistStoreTest, ProjectListsAreSeparateAndGoWithTheirProject) {
  int64_t doomed = Project("doomed");
  int64_t kept = Project("kept");
  ASSERT_TRUE(lists_->Set(0, std::nullopt, {"CVE-SYS"}).ok());
  ASSERT_TRUE(lists_->Set(doomed, 1, {"CVE-A"}).ok());
  ASSERT_TRUE(lists_->Set(kept, std::nullopt, {"CVE-B"}).ok());
  EXPECT_EQ((*lists_->Get(doomed))->items, std::vector<std::string>{"CVE-A"});
  EXPECT_EQ((*lists_->Get(doomed))->expires_at, 1);
  ASSERT_TRUE(projects_->Delete(doomed).ok());
  EXPECT_FALSE(lists_->Get(doomed)->has_value());
  EXPECT_EQ((*lists_->Get(kept))->items, std::vector<std::string>{"CVE-B"});
  EXPECT_EQ((*lists_->Get(0))->items, std::vector<std::string>{"CVE-SYS"});
}

TEST(CveAllowlistExpiry, HarborsRule) {
  CveAllowlistRecord r;
  EXPECT_FALSE(CveAllowlistExpired(r, 1 << 30));
  r.expires_at = 100;
  EXPECT_FALSE(CveAllowlistExpired(r, 99));
  EXPECT_TRUE(CveAllowlistExpired(r, 100));
  r.expires_at = 0;
  EXPECT_TRUE(CveAllowlistExpired(r, 0));
}

INSTANTIATE_TEST_SUITE_P(Backends, CveAllowlistStoreTest,
                         ::testing::Values(store_test::Backend::kSqlite,
                                           store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
