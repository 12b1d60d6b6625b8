// Replication's stores on SQLite and PostgreSQL: remote registries (names
// unique, q/paging, the delete refused while a policy names it), policies,
// and execution tasks (EnsureTasks keeps what an earlier attempt made, so a
// resumed run skips finished tasks; counts; stop).
#include <gtest/gtest.h>

#include "store/remote_registry_store.h"
#include "store/replication_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

class ReplicationStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    registries_ = std::make_unique<RemoteRegistryStore>(*db_);
    replication_ = std::make_unique<ReplicationStore>(*db_);
  }
  void TearDown() override {
    replication_.reset();
    registries_.reset();
    StoreTestBase::TearDown();
  }
  int64_t AddRegistry(const std::string& name) {
    RemoteRegistryRecord r;
    r.name = name;
    r.type = "docker-registry";
    r.url = "http://127.0.0.1:5000";
    r.credential_type = "basic";
    r.access_key = "u";
    r.sealed_secret = "aesgcm:v1:xyz";
    auto id = registries_->Create(r);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }
  std::unique_ptr<RemoteRegistryStore> registries_;
  std::unique_ptr<ReplicationStore> replication_;
};

TEST_P(ReplicationStoreTest, RegistriesCrudAndInUse) {
  int64_t a = AddRegistry("alpha");
  int64_t b = AddRegistry("beta");
  RemoteRegistryRecord dup;
  dup.name = "alpha";
  dup.type = "harbor";
  dup.url = "http://x";
  EXPECT_EQ(registries_->Create(dup).status().code(), Code::kConflict);
  auto got = registries_->Get(a);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->sealed_secret, "aesgcm:v1:xyz");
  ListQuery q;
  q.terms = {{"name", QueryTerm::Op::kFuzzy, {"bet"}}};
  auto page = registries_->List(q);
  ASSERT_OK(page);
  ASSERT_EQ(page->total, 1);
  EXPECT_EQ(page->items[0].id, b);
  RemoteRegistryRecord upd = **got;
  upd.name = "beta";
  EXPECT_EQ(registries_->Update(upd).code(), Code::kConflict);
  upd.name = "gamma";
  upd.insecure = true;
  ASSERT_OK(registries_->Update(upd));
  EXPECT_TRUE((*registries_->Get(a))->insecure);

  ReplicationPolicyRecord p;
  p.name = "to-alpha";
  p.dest_registry_id = a;
  p.policy_json = "{}";
  auto pid = replication_->CreatePolicy(p);
  ASSERT_OK(pid);
  EXPECT_EQ(replication_->CreatePolicy(p).status().code(), Code::kConflict);
  EXPECT_EQ(registries_->Delete(a).code(), Code::kPreconditionFailed);
  ASSERT_OK(registries_->Delete(b));
  EXPECT_EQ(registries_->Delete(b).code(), Code::kNotFound);
  ASSERT_OK(replication_->DeletePolicy(*pid));
  ASSERT_OK(registries_->Delete(a));
}

TEST_P(ReplicationStoreTest, TasksSurviveARetriedRun) {
  ReplicationPolicyRecord p;
  p.name = "pol";
  p.dest_registry_id = AddRegistry("dest");
  p.policy_json = "{}";
  auto pid = replication_->CreatePolicy(p);
  ASSERT_OK(pid);
  std::vector<NewReplicationTask> want = {{"image", "copy", "a/x:[1]", "b/x:[1]"},
                                          {"image", "copy", "a/y:[1]", "b/y:[1]"},
                                          {"artifact", "copy", "a/z@sha256:1", "b/z@sha256:1"}};
  auto tasks = replication_->EnsureTasks(41, *pid, want);
  ASSERT_OK(tasks);
  ASSERT_EQ(tasks->size(), 3u);
  ReplicationTaskRecord done = (*tasks)[0];
  done.status = "Success";
  done.start_time = 10;
  done.end_time = 20;
  done.bytes = 1234;
  std::string log = "copied\n";
  ASSERT_OK(replication_->UpdateTask(done, &log));
  // The retried run asks again (one more artifact appeared): the finished
  // task keeps its state, nothing is duplicated.
  want.push_back({"image", "copy", "a/w:[2]", "b/w:[2]"});
  auto again = replication_->EnsureTasks(41, *pid, want);
  ASSERT_OK(again);
  ASSERT_EQ(again->size(), 4u);
  EXPECT_EQ((*again)[0].status, "Success");
  EXPECT_EQ((*again)[0].bytes, 1234);
  EXPECT_EQ((*again)[0].end_time, 20);
  EXPECT_EQ(*replication_->TaskLog(done.id), log);
  auto counts = replication_->Counts({41, 42});
  ASSERT_OK(counts);
  EXPECT_EQ((*counts)[41].total, 4);
  EXPECT_EQ((*counts)[41].succeed, 1);
  EXPECT_EQ((*counts)[41].in_progress, 3);
  EXPECT_EQ((*counts)[42].total, 0);
  ListQuery q;
  auto images = replication_->ListTasks(41, "", "artifact", q);
  ASSERT_OK(images);
  EXPECT_EQ(images->total, 1);
  ASSERT_OK(replication_->StopUnfinished(41, 99));
  counts = replication_->Counts({41});
  EXPECT_EQ((*counts)[41].stopped, 3);
  EXPECT_EQ((*counts)[41].succeed, 1);
  // Tasks go with their policy.
  ASSERT_OK(replication_->DeletePolicy(*pid));
  EXPECT_FALSE(*replication_->GetTask(done.id));
}

TEST_P(ReplicationStoreTest, TasksOfPrunedExecutionsGo) {
  // Execution 5 is no job at all (pruned by the job service).
  auto tasks = replication_->EnsureTasks(5, 1, {{"image", "copy", "a/x:[1]", "b/x:[1]"}});
  ASSERT_OK(tasks);
  auto n = replication_->PruneOrphanTasks();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(*replication_->GetTask((*tasks)[0].id));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReplicationStoreTest,
                         ::testing::Values(store_test::Backend::kSqlite,
                                           store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
