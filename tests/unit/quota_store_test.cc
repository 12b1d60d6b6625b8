// Project storage quotas in the store layer, on SQLite and PostgreSQL: what
// counts (once per project), what the limit refuses (and that nothing of a
// refused push is written), what deletes give back, the recount, and usage
// staying exact under 50 concurrent pushers (store_test_support.h fixture).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/digest.h"
#include "store/migrations.h"
#include "store/project_store.h"
#include "store/quota_store.h"
#include "store/registry_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

using testing_support::Dg;

using ::testing::HasSubstr;

constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";

NewManifest Image(const std::string& repo, const std::string& digest,
                  std::vector<std::string> blobs, const std::string& tag = "",
                  int64_t manifest_size = 100) {
  NewManifest m;
  m.repository = repo;
  m.digest = digest;
  m.media_type = kOciManifest;
  m.manifest_size = manifest_size;
  m.blobs = std::move(blobs);
  m.tag = tag;
  return m;
}

class QuotaStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    registry_ = std::make_unique<RegistryStore>(*db_);
    quotas_ = std::make_unique<QuotaStore>(*db_);
  }

  void TearDown() override {
    quotas_.reset();
    registry_.reset();
    StoreTestBase::TearDown();
  }

  QuotaRecord Quota(int64_t project_id) {
    auto q = quotas_->GetByProject(project_id);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_TRUE(q.ok() && q->has_value()) << "no quota for project " << project_id;
    return q.ok() && q->has_value() ? **q : QuotaRecord{};
  }
  int64_t Used(int64_t project_id) { return Quota(project_id).used_storage; }

  // The usage a from-scratch recount finds, checked to agree with the
  // maintained usage it replaces.
  int64_t RecountAgrees(int64_t project_id) {
    int64_t before = Used(project_id);
    auto r = quotas_->Recount(project_id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return -1;
    EXPECT_EQ(r->previous_used, before) << "maintained usage drifted from the recount";
    EXPECT_EQ(r->used, before);
    EXPECT_EQ(Used(project_id), r->used);
    EXPECT_EQ(QueryInt("SELECT COALESCE(SUM(size), 0) FROM project_blob WHERE project_id = $1",
                       {SqlInt(project_id)}),
              r->used);
    return r->used;
  }

  Status Link(const std::string& repo, const std::string& digest, int64_t size) {
    return registry_->LinkBlob(repo, digest, size);
  }

  std::unique_ptr<RegistryStore> registry_;
  std::unique_ptr<QuotaStore> quotas_;
};

// ---- Records ---------------------------------------------------------------------

TEST_P(QuotaStoreTest, ProjectCreationMakesAQuotaAndDeletionRemovesIt) {
  int64_t p = Project("alpha", 4096);
  QuotaRecord q = Quota(p);
  EXPECT_GT(q.id, 0);
  EXPECT_EQ(q.reference, "project");
  EXPECT_EQ(q.reference_id, p);
  EXPECT_EQ(q.ref_name, "alpha");
  EXPECT_EQ(q.hard_storage, 4096);
  EXPECT_EQ(q.used_storage, 0);
  EXPECT_GT(q.creation_time, 0);

  auto byid = quotas_->Get(q.id);
  ASSERT_OK(byid);
  ASSERT_TRUE(byid->has_value());
  EXPECT_EQ((*byid)->reference_id, p);

  ASSERT_OK(quotas_->SetHardStorage(q.id, -1));
  EXPECT_EQ(Quota(p).hard_storage, -1);
  EXPECT_EQ(quotas_->SetHardStorage(q.id + 1000, 5).code(), Code::kNotFound);

  ASSERT_OK(projects_->Delete(p));
  auto gone = quotas_->GetByProject(p);
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM quota"), 0);
}

TEST_P(QuotaStoreTest, ListFiltersSortsAndPages) {
  int64_t a = Project("a", 300);
  int64_t b = Project("b", -1);
  int64_t c = Project("c", 100);
  ASSERT_OK(Link("c/x", Dg("c1"), 50));

  ListQuery q;
  q.page_size = 2;
  q.sort = {{"hard.storage", true}};
  auto page = quotas_->List(q);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].reference_id, b);  // unlimited sorts above every number
  EXPECT_EQ(page->items[1].reference_id, a);
  q.page = 2;
  page = quotas_->List(q);
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].reference_id, c);

  ListQuery by_used;
  by_used.sort = {{"used.storage", true}};
  page = quotas_->List(by_used);
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].reference_id, c);
  EXPECT_EQ(page->items[0].used_storage, 50);

  ListQuery one;
  one.terms.push_back({"reference", QueryTerm::Op::kExact, {"project"}});
  one.terms.push_back({"reference_id", QueryTerm::Op::kExact, {std::to_string(a)}});
  page = quotas_->List(one);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].ref_name, "a");

  ListQuery bad;
  bad.sort = {{"nope", false}};
  EXPECT_EQ(quotas_->List(bad).status().code(), Code::kInvalidArgument);
}

// ---- What counts -------------------------------------------------------------------

TEST_P(QuotaStoreTest, ABlobCountsOncePerProject) {
  int64_t p = Project("one");
  int64_t other = Project("two");
  ASSERT_OK(Link("one/a", Dg("layer"), 1000));
  EXPECT_EQ(Used(p), 1000);
  ASSERT_OK(Link("one/a", Dg("layer"), 1000));  // again: idempotent
  ASSERT_OK(Link("one/b", Dg("layer"), 1000));  // another repository of the project
  EXPECT_EQ(Used(p), 1000);
  ASSERT_OK(Link("two/a", Dg("layer"), 1000));  // another project pays too
  EXPECT_EQ(Used(other), 1000);
  EXPECT_EQ(Used(p), 1000);

  // The manifest counts its own bytes; its blobs stay counted once.
  ASSERT_OK(Link("one/a", Dg("config"), 10));
  ASSERT_OK(registry_->PutManifest(Image("one/a", Dg("m1"), {Dg("config"), Dg("layer")}, "v1", 200)));
  EXPECT_EQ(Used(p), 1210);
  // The same manifest digest in another repository of the project: once too.
  ASSERT_OK(registry_->PutManifest(Image("one/b", Dg("m1"), {Dg("layer")}, "v1", 200)));
  EXPECT_EQ(Used(p), 1210);
  EXPECT_EQ(RecountAgrees(p), 1210);
  EXPECT_EQ(RecountAgrees(other), 1000);
}

TEST_P(QuotaStoreTest, RepositoriesWithoutAProjectAreNotChargedUntilItIsCreated) {
  ASSERT_OK(Link("ghost/app", Dg("g"), 77));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM quota"), 0);
  int64_t p = Project("ghost");  // adopts ghost/app
  EXPECT_EQ(Used(p), 77);
  EXPECT_EQ(RecountAgrees(p), 77);
}

// ---- The limit -----------------------------------------------------------------------

TEST_P(QuotaStoreTest, ABlobOverTheLimitIsRefusedAndNothingIsWritten) {
  int64_t p = Project("tight", 1000);
  ASSERT_OK(Link("tight/app", Dg("a"), 600));
  int commits = 0;
  Status s = registry_->LinkBlob("tight/app", Dg("b"), 500, [&] {
    ++commits;
    return Status();
  });
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_EQ(s.api_code(), "DENIED");
  EXPECT_THAT(s.message(), HasSubstr("adding 500 B of storage resource, which when updated to "
                                     "current usage of 600 B will exceed the configured upper "
                                     "limit of 1000 B"));
  EXPECT_EQ(commits, 0) << "refused content must not be written";
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM blob WHERE digest = $1", {SqlText(Dg("b"))}), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM repository_blob WHERE digest = $1", {SqlText(Dg("b"))}), 0);
  EXPECT_EQ(Used(p), 600);

  // Exactly up to the limit is fine; the content is written inside.
  ASSERT_OK(registry_->LinkBlob("tight/app", Dg("c"), 400, [&] {
    ++commits;
    return Status();
  }));
  EXPECT_EQ(commits, 1);
  EXPECT_EQ(Used(p), 1000);
  // A blob already in the project costs nothing, even at the limit.
  ASSERT_OK(Link("tight/other", Dg("a"), 600));
  EXPECT_EQ(Used(p), 1000);
  EXPECT_EQ(RecountAgrees(p), 1000);

  // A failing content write rolls the metadata back.
  ASSERT_OK(quotas_->SetHardStorage(Quota(p).id, 5000));
  s = registry_->LinkBlob("tight/app", Dg("d"), 1, [] { return Status::IOError("disk full"); });
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM blob WHERE digest = $1", {SqlText(Dg("d"))}), 0);
  EXPECT_EQ(Used(p), 1000);
}

TEST_P(QuotaStoreTest, UnlimitedProjectsWriteContentBeforeTheTransaction) {
  Project("free");
  int commits = 0;
  ASSERT_OK(registry_->LinkBlob("free/app", Dg("a"), 10, [&] {
    ++commits;
    return Status();
  }));
  EXPECT_EQ(commits, 1);
  Status s = registry_->LinkBlob("free/app", Dg("b"), 10, [] { return Status::IOError("disk full"); });
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM blob WHERE digest = $1", {SqlText(Dg("b"))}), 0);
}

TEST_P(QuotaStoreTest, AManifestOverTheLimitIsRefusedAndNothingIsWritten) {
  int64_t p = Project("mf", 1000);
  ASSERT_OK(Link("mf/app", Dg("c"), 100));
  ASSERT_OK(Link("mf/app", Dg("l"), 800));
  int commits = 0;
  auto r = registry_->PutManifest(Image("mf/app", Dg("m"), {Dg("c"), Dg("l")}, "v1", 101), [&] {
    ++commits;
    return Status();
  });
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(r.status().api_code(), "DENIED");
  EXPECT_EQ(commits, 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM tag"), 0);
  // The blobs stay pending (their uploads were accepted).
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM blob_pending"), 2);
  EXPECT_EQ(Used(p), 900);

  auto ok = registry_->PutManifest(Image("mf/app", Dg("m"), {Dg("c"), Dg("l")}, "v1", 100), [&] {
    ++commits;
    return Status();
  });
  ASSERT_OK(ok);
  EXPECT_EQ(commits, 1);
  EXPECT_EQ(Used(p), 1000);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM blob_pending"), 0) << "the manifest claims its blobs";
  // Re-pushing it (or tagging it again) adds nothing and is allowed at the limit.
  ASSERT_OK(registry_->PutManifest(Image("mf/app", Dg("m"), {Dg("c"), Dg("l")}, "v2", 100)));
  EXPECT_EQ(Used(p), 1000);
  EXPECT_EQ(RecountAgrees(p), 1000);
}

TEST_P(QuotaStoreTest, ALimitBelowUsageRefusesNewContentOnly) {
  int64_t p = Project("shrink");
  ASSERT_OK(Link("shrink/app", Dg("a"), 500));
  ASSERT_OK(registry_->PutManifest(Image("shrink/app", Dg("m"), {Dg("a")}, "v1", 50)));
  ASSERT_OK(quotas_->SetHardStorage(Quota(p).id, 100));
  EXPECT_EQ(Link("shrink/app", Dg("new"), 1).code(), Code::kPermissionDenied);
  ASSERT_OK(Link("shrink/other", Dg("a"), 500));  // already counted
  ASSERT_OK(registry_->DeleteArtifact("shrink/app", Dg("m")));
  EXPECT_EQ(Used(p), 500) << "shrink/other still holds the blob, unclaimed";
  ASSERT_OK(registry_->UnlinkBlob("shrink/other", Dg("a")));
  EXPECT_EQ(Used(p), 0);
  ASSERT_OK(Link("shrink/app", Dg("new"), 1));
  EXPECT_EQ(RecountAgrees(p), 1);
}

// ---- Giving space back -------------------------------------------------------------------

TEST_P(QuotaStoreTest, DeletingArtifactsGivesBackWhatNoOtherArtifactUses) {
  int64_t p = Project("del");
  int64_t other = Project("elsewhere");
  for (const char* repo : {"del/a", "del/b", "elsewhere/a"}) {
    ASSERT_OK(Link(repo, Dg("base"), 1000));
  }
  ASSERT_OK(Link("del/a", Dg("top1"), 10));
  ASSERT_OK(Link("del/a", Dg("top2"), 20));
  ASSERT_OK(Link("del/b", Dg("top3"), 30));
  ASSERT_OK(registry_->PutManifest(Image("del/a", Dg("m1"), {Dg("base"), Dg("top1")}, "1", 100)));
  ASSERT_OK(registry_->PutManifest(Image("del/a", Dg("m2"), {Dg("base"), Dg("top2")}, "2", 100)));
  ASSERT_OK(registry_->PutManifest(Image("del/b", Dg("m3"), {Dg("base"), Dg("top3")}, "3", 100)));
  ASSERT_OK(registry_->PutManifest(Image("elsewhere/a", Dg("m1x"), {Dg("base")}, "1", 100)));
  EXPECT_EQ(Used(p), 1000 + 10 + 20 + 30 + 300);

  ASSERT_OK(registry_->DeleteArtifact("del/a", Dg("m1")));
  EXPECT_EQ(Used(p), 1000 + 20 + 30 + 200) << "top1 and m1 given back; base still used";
  ASSERT_OK(registry_->DeleteArtifact("del/a", Dg("m2")));
  EXPECT_EQ(Used(p), 1000 + 30 + 100) << "base is still used by del/b";
  ASSERT_OK(registry_->DeleteArtifact("del/b", Dg("m3")));
  EXPECT_EQ(Used(p), 0);
  EXPECT_EQ(Used(other), 1100) << "another project's use is its own";
  // The links stay (a later push may reuse them), but count no longer.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM repository_blob rb JOIN repository r ON "
                     "r.id = rb.repository_id WHERE r.project_id = $1",
                     {SqlInt(p)}),
            5);
  EXPECT_EQ(RecountAgrees(p), 0);
  EXPECT_EQ(RecountAgrees(other), 1100);

  // Pushing a manifest over the released blobs charges them again.
  ASSERT_OK(registry_->PutManifest(Image("del/a", Dg("m1"), {Dg("base"), Dg("top1")}, "1", 100)));
  EXPECT_EQ(Used(p), 1110);
  EXPECT_EQ(RecountAgrees(p), 1110);
}

TEST_P(QuotaStoreTest, DeletingAnIndexGivesBackItsChildren) {
  int64_t p = Project("idx");
  ASSERT_OK(Link("idx/app", Dg("l1"), 100));
  ASSERT_OK(Link("idx/app", Dg("l2"), 200));
  ASSERT_OK(registry_->PutManifest(Image("idx/app", Dg("c1"), {Dg("l1")}, "", 10)));
  ASSERT_OK(registry_->PutManifest(Image("idx/app", Dg("c2"), {Dg("l2")}, "", 20)));
  NewManifest index;
  index.repository = "idx/app";
  index.digest = Dg("index");
  index.media_type = kOciIndex;
  index.manifest_size = 5;
  index.children = {{Dg("c1"), "{}"}, {Dg("c2"), "{}"}};
  index.tag = "latest";
  ASSERT_OK(registry_->PutManifest(index));
  EXPECT_EQ(Used(p), 335);
  ASSERT_OK(registry_->DeleteArtifact("idx/app", Dg("index")));
  EXPECT_EQ(Used(p), 0) << "the untagged children went with the index";
  EXPECT_EQ(RecountAgrees(p), 0);
}

TEST_P(QuotaStoreTest, UnlinkingAPendingBlobGivesItBack) {
  int64_t p = Project("un");
  ASSERT_OK(Link("un/app", Dg("orphan"), 70));
  ASSERT_OK(Link("un/app", Dg("used"), 30));
  ASSERT_OK(registry_->PutManifest(Image("un/app", Dg("m"), {Dg("used")}, "v", 5)));
  EXPECT_EQ(Used(p), 105);
  ASSERT_OK(registry_->UnlinkBlob("un/app", Dg("orphan")));
  EXPECT_EQ(Used(p), 35);
  ASSERT_OK(registry_->UnlinkBlob("un/app", Dg("used")));
  EXPECT_EQ(Used(p), 35) << "an artifact still uses it";
  EXPECT_EQ(RecountAgrees(p), 35);
}

TEST_P(QuotaStoreTest, DeletingARepositoryGivesBackWhatItAloneHeld) {
  int64_t p = Project("repo");
  ASSERT_OK(Link("repo/a", Dg("shared"), 100));
  ASSERT_OK(Link("repo/a", Dg("own"), 10));
  ASSERT_OK(Link("repo/a", Dg("pending"), 1));
  ASSERT_OK(registry_->PutManifest(Image("repo/a", Dg("ma"), {Dg("shared"), Dg("own")}, "v", 5)));
  ASSERT_OK(Link("repo/b", Dg("shared"), 100));
  ASSERT_OK(registry_->PutManifest(Image("repo/b", Dg("mb"), {Dg("shared")}, "v", 6)));
  EXPECT_EQ(Used(p), 122);
  ASSERT_OK(registry_->DeleteRepository("repo/a"));
  EXPECT_EQ(Used(p), 106);
  EXPECT_EQ(registry_->DeleteRepository("repo/a").code(), Code::kNotFound);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM blob_pending"), 0);
  EXPECT_EQ(RecountAgrees(p), 106);
  ASSERT_OK(registry_->DeleteRepository("repo/b"));
  EXPECT_EQ(Used(p), 0);
  ASSERT_OK(projects_->Delete(p));
}

TEST_P(QuotaStoreTest, StalePendingBlobsAreReleasedAndALateManifestPaysAgain) {
  int64_t p = Project("stale", 1000);
  ASSERT_OK(Link("stale/app", Dg("orphan"), 600));  // a push that never finished
  ASSERT_OK(Link("stale/app", Dg("c"), 100));
  EXPECT_EQ(Used(p), 700);
  auto none = quotas_->ReleaseStalePending(NowUnixMillis() - 3600 * 1000);
  ASSERT_OK(none);
  EXPECT_EQ(*none, 0);
  auto released = quotas_->ReleaseStalePending(NowUnixMillis() + 1000);
  ASSERT_OK(released);
  EXPECT_EQ(*released, 2);
  EXPECT_EQ(Used(p), 0);
  EXPECT_EQ(RecountAgrees(p), 0);
  // The links remain: the late manifest is accepted, and charged.
  ASSERT_OK(registry_->PutManifest(Image("stale/app", Dg("m"), {Dg("orphan"), Dg("c")}, "v", 50)));
  EXPECT_EQ(Used(p), 750);
  EXPECT_EQ(RecountAgrees(p), 750);
}

// ---- Recount and migration -------------------------------------------------------------

TEST_P(QuotaStoreTest, RecountRepairsDrift) {
  int64_t p = Project("drift");
  ASSERT_OK(Link("drift/app", Dg("a"), 40));
  ASSERT_OK(registry_->PutManifest(Image("drift/app", Dg("m"), {Dg("a")}, "v", 2)));
  ASSERT_OK(ExecSql("UPDATE quota SET used_storage = 999999"));
  ASSERT_OK(ExecSql("DELETE FROM project_blob WHERE digest = $1", {SqlText(Dg("a"))}));
  ASSERT_OK(ExecSql("INSERT INTO project_blob (project_id, digest, size) VALUES ($1, 'sha256:x', 7)",
                    {SqlInt(p)}));
  auto r = quotas_->Recount(p);
  ASSERT_OK(r);
  EXPECT_EQ(r->previous_used, 999999);
  EXPECT_EQ(r->used, 42);
  EXPECT_EQ(r->blob_count, 2);
  EXPECT_EQ(Used(p), 42);
  EXPECT_EQ(RecountAgrees(p), 42);
  EXPECT_EQ(quotas_->Recount(p + 100).status().code(), Code::kNotFound);
}

// A garbage collector that drops links with its own SQL instead of
// RegistryStore::UnlinkBlob leaves the usage stale; the recount repairs it.
TEST_P(QuotaStoreTest, RecountRepairsLinksDroppedBehindTheStoresBack) {
  int64_t p = Project("gc");
  ASSERT_OK(Link("gc/app", Dg("orphan"), 64));
  ASSERT_OK(Link("gc/app", Dg("kept"), 8));
  ASSERT_OK(registry_->PutManifest(Image("gc/app", Dg("m"), {Dg("kept")}, "v", 1)));
  EXPECT_EQ(Used(p), 73);
  ASSERT_OK(ExecSql("DELETE FROM repository_blob WHERE digest = $1", {SqlText(Dg("orphan"))}));
  auto r = quotas_->Recount(p);
  ASSERT_OK(r);
  EXPECT_EQ(r->previous_used, 73);
  EXPECT_EQ(r->used, 9) << "an unlinked upload no longer counts";
  EXPECT_EQ(RecountAgrees(p), 9);
}

TEST_P(QuotaStoreTest, MigrationGivesExistingProjectsAQuotaWithRecountedUsage) {
  int64_t p = Project("old");
  ASSERT_OK(Link("old/app", Dg("a"), 300));
  ASSERT_OK(registry_->PutManifest(Image("old/app", Dg("m"), {Dg("a")}, "v", 30)));
  ASSERT_OK(Link("old/app2", Dg("a"), 300));
  ASSERT_OK(registry_->PutManifest(Image("old/app2", Dg("m"), {Dg("a")}, "v", 30)));
  // Back to a database from before quotas.
  ASSERT_OK(ExecSql("DELETE FROM project_blob"));
  ASSERT_OK(ExecSql("DELETE FROM quota"));
  ASSERT_OK(ExecSql("DELETE FROM schema_migrations WHERE version = 6"));
  auto v = Migrate(*db_);
  ASSERT_OK(v);
  EXPECT_EQ(*v, AllMigrations().back().version);
  QuotaRecord q = Quota(p);
  EXPECT_EQ(q.hard_storage, -1);
  EXPECT_EQ(q.used_storage, 330);
  EXPECT_EQ(RecountAgrees(p), 330);
}

TEST_P(QuotaStoreTest, AProjectWithoutAQuotaRowGetsOneOnItsNextPush) {
  int64_t p = Project("lazy");
  ASSERT_OK(Link("lazy/app", Dg("a"), 5));
  ASSERT_OK(ExecSql("DELETE FROM project_blob"));
  ASSERT_OK(ExecSql("DELETE FROM quota"));
  ASSERT_OK(Link("lazy/app", Dg("b"), 6));
  QuotaRecord q = Quota(p);
  EXPECT_EQ(q.hard_storage, -1);
  EXPECT_EQ(q.used_storage, 11);
}

// ---- Concurrency ------------------------------------------------------------------------

// 50 pushers share a pool of layers in one project with a tight limit: some
// blobs and manifests are refused. Whatever was accepted is exactly what the
// project is charged for, the limit holds, and the maintained usage equals a
// from-scratch recount. A few deleters run alongside.
TEST_P(QuotaStoreTest, FiftyConcurrentPushersKeepUsageExact) {
  constexpr int kPushers = 50;
  constexpr int kShared = 12;
  constexpr int64_t kLimit = 60000;
  int64_t p = Project("busy", kLimit);
  auto layer_size = [](int i) { return int64_t{1000} + 137 * i; };

  std::mutex mu;
  std::map<std::string, int64_t> accepted;  // digest -> size, of every accepted link / manifest
  std::vector<std::string> errors;
  std::atomic<int> refused{0};
  std::latch start(kPushers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kPushers; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      std::string repo = "busy/app" + std::to_string(t % 7);
      std::vector<std::string> blobs;
      bool all_in = true;
      for (int k = 0; k < 3; ++k) {
        int i = (t * 5 + k * 3) % kShared;
        std::string d = Dg("shared" + std::to_string(i));
        Status s = registry_->LinkBlob(repo, d, layer_size(i));
        std::lock_guard<std::mutex> lock(mu);
        if (s.ok()) {
          accepted[d] = layer_size(i);
          blobs.push_back(d);
        } else if (s.code() == Code::kPermissionDenied) {
          ++refused;
          all_in = false;
        } else {
          errors.push_back(s.ToString());
        }
      }
      std::string own = Dg("own" + std::to_string(t));
      Status s = registry_->LinkBlob(repo, own, 2000 + t);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (s.ok()) {
          accepted[own] = 2000 + t;
          blobs.push_back(own);
        } else if (s.code() == Code::kPermissionDenied) {
          ++refused;
          all_in = false;
        } else {
          errors.push_back(s.ToString());
        }
      }
      if (!all_in) return;
      std::string m = Dg("manifest" + std::to_string(t));
      auto r = registry_->PutManifest(Image(repo, m, blobs, "t" + std::to_string(t), 300 + t));
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok()) {
        accepted[m] = 300 + t;
      } else if (r.status().code() == Code::kPermissionDenied) {
        ++refused;
      } else {
        errors.push_back(r.status().ToString());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(errors, ::testing::IsEmpty());
  EXPECT_GT(refused.load(), 0) << "the limit was not tight enough to refuse anything";

  int64_t expected = 0;
  for (const auto& [d, size] : accepted) expected += size;
  EXPECT_LE(expected, kLimit) << "accepted pushes exceed the limit";
  EXPECT_EQ(Used(p), expected);
  EXPECT_EQ(RecountAgrees(p), expected);

  // Now delete half the artifacts while others push more under a raised limit.
  ASSERT_OK(quotas_->SetHardStorage(Quota(p).id, kLimit * 2));
  std::vector<std::thread> more;
  std::latch go(20);
  for (int t = 0; t < 20; ++t) {
    more.emplace_back([&, t] {
      go.arrive_and_wait();
      std::string repo = "busy/app" + std::to_string(t % 7);
      if (t % 2 == 0) {
        Status s = registry_->DeleteArtifact(repo, Dg("manifest" + std::to_string(t)));
        if (!s.ok() && s.code() != Code::kNotFound) {
          std::lock_guard<std::mutex> lock(mu);
          errors.push_back(s.ToString());
        }
      } else {
        std::string d = Dg("late" + std::to_string(t));
        Status s = registry_->LinkBlob(repo, d, 500);
        if (s.ok()) s = registry_->PutManifest(Image(repo, Dg("lm" + std::to_string(t)), {d}, "", 50)).status();
        if (!s.ok() && s.code() != Code::kPermissionDenied) {
          std::lock_guard<std::mutex> lock(mu);
          errors.push_back(s.ToString());
        }
      }
    });
  }
  for (auto& th : more) th.join();
  EXPECT_THAT(errors, ::testing::IsEmpty());
  int64_t used = Used(p);
  EXPECT_LE(used, kLimit * 2);
  EXPECT_EQ(RecountAgrees(p), used);
}

INSTANTIATE_TEST_SUITE_P(Backends, QuotaStoreTest,
                         ::testing::Values(store_test::Backend::kSqlite,
                                           store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
