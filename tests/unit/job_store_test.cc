// JobStore on SQLite and PostgreSQL: claims, leases, retries, stop requests,
// queues and schedules, including races between workers and nodes.
#include "store/job_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "store_test_support.h"

namespace berth {
namespace {

using store_test::Backend;
using store_test::BackendName;

class JobStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    jobs_ = std::make_unique<JobStore>(*db_);
  }
  void TearDown() override {
    jobs_.reset();
    StoreTestBase::TearDown();
  }

  int64_t Add(const std::string& kind, int64_t run_at = 0, int max_attempts = 1) {
    NewJob j;
    j.kind = kind;
    j.params_json = R"({"n":1})";
    // Due a second ago, so claims at "now" taken before the insert see it.
    j.run_at = run_at != 0 ? run_at : NowUnixMillis() - 1000;
    j.max_attempts = max_attempts;
    j.vendor_type = kind;
    auto id = jobs_->Enqueue(j);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  JobClaim Claim(const std::string& token, int64_t now, std::vector<std::string> kinds = {"K"}) {
    JobClaim c;
    c.kinds = std::move(kinds);
    c.worker = "pool:" + token;
    c.token = token;
    c.now = now;
    c.lease_ms = 1000;
    return c;
  }

  std::unique_ptr<JobStore> jobs_;
};

TEST_P(JobStoreTest, ClaimTakesDueJobsOnceInOrder) {
  int64_t now = NowUnixMillis();
  int64_t a = Add("K");
  int64_t later = Add("K", now + 60000);
  int64_t b = Add("K");
  Add("OTHER");
  auto j1 = jobs_->Claim(Claim("t1", now));
  ASSERT_TRUE(j1.ok() && *j1);
  EXPECT_EQ((*j1)->id, a);
  EXPECT_EQ((*j1)->status, kJobRunning);
  EXPECT_EQ((*j1)->attempts, 1);
  EXPECT_EQ((*j1)->params_json, R"({"n":1})");
  auto j2 = jobs_->Claim(Claim("t2", now));
  ASSERT_TRUE(j2.ok() && *j2);
  EXPECT_EQ((*j2)->id, b);
  auto none = jobs_->Claim(Claim("t3", now));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none) << "the scheduled job is not due and OTHER is not ours";
  auto g = jobs_->Get(later);
  ASSERT_TRUE(g.ok() && *g);
  EXPECT_EQ((*g)->status, kJobScheduled);
}

TEST_P(JobStoreTest, ExpiredLeaseIsTakenOverAndTheOldOwnerLosesIt) {
  int64_t now = NowUnixMillis();
  int64_t id = Add("K");
  auto j1 = jobs_->Claim(Claim("old", now));
  ASSERT_TRUE(j1.ok() && *j1);
  // Within the lease: nobody else gets it.
  auto early = jobs_->Claim(Claim("new", now + 500));
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(*early);
  // The old owner renews: still its own.
  auto hb = jobs_->Heartbeat(id, "old", now + 1500, "half way");
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->owned);
  // It then dies; after the lease another worker takes the job.
  auto late = jobs_->Claim(Claim("new", now + 1600));
  ASSERT_TRUE(late.ok() && *late);
  EXPECT_EQ((*late)->id, id);
  EXPECT_EQ((*late)->attempts, 2);
  EXPECT_EQ((*late)->lost, 1);
  auto stale = jobs_->Heartbeat(id, "old", now + 5000, "");
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->owned);
  auto fin = jobs_->Finish(id, "old", {kJobSuccess, "", 0});
  ASSERT_TRUE(fin.ok());
  EXPECT_FALSE(*fin) << "a result from a lost lease is dropped";
  fin = jobs_->Finish(id, "new", {kJobSuccess, "", 0});
  ASSERT_TRUE(fin.ok());
  EXPECT_TRUE(*fin);
  auto g = jobs_->Get(id);
  EXPECT_EQ((*g)->status, kJobSuccess);
}

TEST_P(JobStoreTest, AJobWhoseWorkersKeepDyingFails) {
  int64_t now = NowUnixMillis();
  int64_t id = Add("K");
  JobClaim c = Claim("a", now);
  c.max_lost = 2;
  ASSERT_TRUE(*jobs_->Claim(c));
  c.token = "b";
  c.now = now + 2000;
  ASSERT_TRUE(*jobs_->Claim(c));  // lost once
  c.token = "c";
  c.now = now + 4000;
  auto third = jobs_->Claim(c);  // lost twice: given up
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(*third);
  auto g = jobs_->Get(id);
  EXPECT_EQ((*g)->status, kJobError);
  EXPECT_NE((*g)->error.find("stopped answering"), std::string::npos) << (*g)->error;
}

TEST_P(JobStoreTest, RetryGoesBackToTheQueueAtItsTime) {
  int64_t now = NowUnixMillis();
  int64_t id = Add("K", 0, 3);
  ASSERT_TRUE(*jobs_->Claim(Claim("a", now)));
  auto fin = jobs_->Finish(id, "a", {kJobPending, "boom", now + 10000});
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  ASSERT_TRUE(*fin);
  auto g = jobs_->Get(id);
  EXPECT_EQ((*g)->status, kJobScheduled);
  EXPECT_EQ((*g)->error, "boom");
  EXPECT_FALSE(*jobs_->Claim(Claim("b", now + 5000)));
  auto again = jobs_->Claim(Claim("b", now + 10000));
  ASSERT_TRUE(again.ok() && *again);
  EXPECT_EQ((*again)->attempts, 2);
}

TEST_P(JobStoreTest, ExactlyOnceUnderEightRacingWorkers) {
  const int kJobs = 200;
  std::set<int64_t> ids;
  for (int i = 0; i < kJobs; ++i) ids.insert(Add("K"));
  std::mutex mu;
  std::map<int64_t, int> taken;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      for (int n = 0;; ++n) {
        JobClaim c = Claim("w" + std::to_string(w) + "-" + std::to_string(n), NowUnixMillis());
        c.lease_ms = 600000;
        auto j = jobs_->Claim(c);
        if (!j.ok()) {
          errors++;
          continue;
        }
        if (!*j) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          taken[(*j)->id]++;
        }
        auto f = jobs_->Finish((*j)->id, c.token, {kJobSuccess, "", 0});
        if (!f.ok() || !*f) errors++;
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_EQ(taken.size(), ids.size());
  for (const auto& [id, n] : taken) EXPECT_EQ(n, 1) << "job " << id << " ran " << n << " times";
}

TEST_P(JobStoreTest, PerKindCapHoldsAcrossClaimers) {
  int64_t now = NowUnixMillis();
  for (int i = 0; i < 5; ++i) Add("GC");
  std::atomic<int> got{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < 6; ++w) {
    ts.emplace_back([&, w] {
      JobClaim c = Claim("c" + std::to_string(w), now, {"GC"});
      c.max_running = {{"GC", 1}};
      c.lease_ms = 600000;
      auto j = jobs_->Claim(c);
      if (j.ok() && *j) got++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(got.load(), 1);
}

TEST_P(JobStoreTest, StopRequestsAndQueues) {
  int64_t now = NowUnixMillis();
  int64_t running = Add("K");
  int64_t pending = Add("K");
  ASSERT_TRUE(*jobs_->Claim(Claim("a", now)));
  auto s1 = jobs_->RequestStop(pending);
  ASSERT_TRUE(s1.ok() && *s1);
  EXPECT_EQ((*jobs_->Get(pending))->status, kJobStopped);
  auto s2 = jobs_->RequestStop(running);
  ASSERT_TRUE(s2.ok() && *s2);
  auto hb = jobs_->Heartbeat(running, "a", now + 1000, "");
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->stop_requested);
  EXPECT_EQ(jobs_->RequestStop(999999).status().code(), Code::kNotFound);

  // Paused queues are not claimed from, and show as paused with their count.
  Add("K");
  ASSERT_TRUE(jobs_->SetPaused("K", true).ok());
  EXPECT_FALSE(*jobs_->Claim(Claim("b", now)));
  auto qs = jobs_->Queues({"K", "OTHER"}, now + 3000);
  ASSERT_TRUE(qs.ok());
  ASSERT_EQ(qs->size(), 2u);
  EXPECT_EQ((*qs)[0].kind, "K");
  EXPECT_TRUE((*qs)[0].paused);
  EXPECT_EQ((*qs)[0].count, 1);
  EXPECT_GE((*qs)[0].latency_s, 2);
  EXPECT_FALSE((*qs)[1].paused);
  ASSERT_TRUE(jobs_->SetPaused("K", false).ok());
  EXPECT_TRUE(*jobs_->Claim(Claim("b", now)));
  // Stopping the queue stops what is pending.
  int64_t p2 = Add("K");
  ASSERT_TRUE(jobs_->StopQueue("K").ok());
  EXPECT_EQ((*jobs_->Get(p2))->status, kJobStopped);
}

TEST_P(JobStoreTest, UniqueJobsAndLogsAndPruning) {
  NewJob j;
  j.kind = "GC";
  j.vendor_type = "GC";
  j.unique = true;
  auto a = jobs_->Enqueue(j);
  ASSERT_TRUE(a.ok());
  auto b = jobs_->Enqueue(j);
  EXPECT_EQ(b.status().code(), Code::kConflict);
  ASSERT_TRUE(jobs_->AppendLog(*a, {{NowUnixMillis(), "[INFO] one"}, {NowUnixMillis(), "[INFO] two"}}).ok());
  auto log = jobs_->ReadLog(*a);
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("[INFO] one\n"), std::string::npos);
  EXPECT_LT(log->find("one"), log->find("two"));
  // Finished runs beyond the newest N go, with their logs.
  for (int i = 0; i < 5; ++i) {
    JobClaim c = Claim("p" + std::to_string(i), NowUnixMillis(), {"GC"});
    auto got = jobs_->Claim(c);
    ASSERT_TRUE(got.ok() && *got);
    ASSERT_TRUE(*jobs_->Finish((*got)->id, c.token, {kJobSuccess, "", 0}));
    ASSERT_TRUE(jobs_->Enqueue(j).ok());
  }
  auto pruned = jobs_->PruneFinished("GC", 2);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);
  auto page = jobs_->List("GC", 1, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 3);  // 2 finished + 1 pending
  EXPECT_FALSE(*jobs_->Get(*a));
  EXPECT_EQ(*jobs_->ReadLog(*a), "");
}

TEST_P(JobStoreTest, ScheduleFiresOnceAcrossRacingNodes) {
  ScheduleRecord s;
  s.vendor_type = "GARBAGE_COLLECTION";
  s.cron = "0 0 0 * * *";
  s.kind = "GC";
  s.params_json = R"({"dry_run":true})";
  s.next_run = NowUnixMillis() - 10;
  ASSERT_TRUE(jobs_->PutSchedule(s).ok());
  auto due = jobs_->DueSchedules(NowUnixMillis());
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  const ScheduleRecord r = (*due)[0];
  std::atomic<int> fired{0}, errors{0};
  std::vector<std::thread> nodes;
  for (int n = 0; n < 8; ++n) {
    nodes.emplace_back([&] {
      NewJob j;
      j.kind = r.kind;
      j.params_json = r.params_json;
      j.trigger = "Schedule";
      j.vendor_type = r.vendor_type;
      j.unique = true;
      auto f = jobs_->FireSchedule(r.id, r.next_run, r.next_run + 86400000, j);
      if (!f.ok()) errors++;
      else if (*f) fired++;
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(fired.load(), 1);
  auto page = jobs_->List("GARBAGE_COLLECTION", 1, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 1);
  EXPECT_EQ(page->items[0].trigger, "Schedule");
  EXPECT_EQ(page->items[0].params_json, R"({"dry_run":true})");
  EXPECT_TRUE(jobs_->DueSchedules(NowUnixMillis())->empty());
  // Update, list, delete.
  s.cron = "0 0 * * * *";
  ASSERT_TRUE(jobs_->PutSchedule(s).ok());
  auto all = jobs_->ListSchedules();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].cron, "0 0 * * * *");
  ASSERT_TRUE(jobs_->DeleteSchedule("GARBAGE_COLLECTION", 0).ok());
  EXPECT_EQ(jobs_->DeleteSchedule("GARBAGE_COLLECTION", 0).code(), Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace berth
