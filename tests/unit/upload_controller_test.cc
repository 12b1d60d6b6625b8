// UploadController in process, on the in-memory driver and a SQLite store:
// chunked and monolithic uploads, and what a failure at each step leaves
// behind: a storage error while a chunk is written or the upload committed
// (nothing visible, the session resumable), a store error after the bytes
// reached their content address (no link, and garbage collection takes the
// bytes), a wrong digest or a refused admission (nothing stays).
#include "registry/upload_controller.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "blob/layout.h"
#include "common/clock.h"
#include "gc/garbage_collector.h"
#include "store/gc_store.h"
#include "store/registry_store.h"
#include "support/faulty_sql_database.h"
#include "support/memory_storage_driver.h"
#include "support/sqlite_fixture.h"
#include "support/status_testing.h"

namespace berth {
namespace {

using testing_support::FaultySqlDatabase;
using testing_support::MemoryStorageDriver;
using testing_support::Must;
using testing_support::StorageOp;

constexpr char kRepo[] = "library/app";

Digest Sha256(const std::string& s) { return Digest::Of(DigestAlgorithm::kSha256, s); }

class UploadControllerTest : public testing_support::SqliteTest {
 protected:
  void SetUp() override {
    SqliteTest::SetUp();
    if (HasFatalFailure()) return;
    faulty_db_ = std::make_unique<FaultySqlDatabase>(*db_);
    store_ = std::make_unique<RegistryStore>(*faulty_db_);
    uploads_ = std::make_unique<UploadController>(*store_, blobs_);
  }

  StatusOr<UploadStatus> Patch(const std::string& uuid, const std::string& bytes,
                               std::optional<ByteRange> range = std::nullopt) {
    std::istringstream body(bytes);
    return uploads_->Append(kRepo, uuid, body, range, static_cast<int64_t>(bytes.size()));
  }
  // A started upload holding `bytes`; its id.
  std::string Started(const std::string& bytes) {
    auto up = Must(uploads_->Start(kRepo));
    EXPECT_OK(Patch(up.uuid, bytes));
    return up.uuid;
  }
  StatusOr<BlobRef> Put(const std::string& uuid, const Digest& d, const std::string& last = "") {
    std::istringstream body(last);
    return uploads_->Complete(kRepo, uuid, d, &body, std::nullopt,
                              static_cast<int64_t>(last.size()));
  }
  std::optional<int64_t> Linked(const Digest& d) {
    return Must(store_->GetLinkedBlobSize(kRepo, d.ToString()));
  }
  // Paths under /uploads (sessions' bytes).
  std::vector<std::string> UploadPaths() {
    std::vector<std::string> out;
    for (const auto& p : driver_.Paths()) {
      if (p.rfind(layout::kUploadsRoot, 0) == 0) out.push_back(p);
    }
    return out;
  }
  GcResult CollectGarbage() {
    GcStore gc_store(*db_);
    GarbageCollector gc(*store_, gc_store, blobs_, *uploads_, 0, 3600 * 1000);
    JobRecord job;
    job.kind = kGcJobKind;
    JobContext ctx(job, std::make_shared<std::atomic<bool>>(false));
    GcParams params;
    params.time_window_ms = 0;
    // The collector spares files written in the millisecond it starts.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return Must(gc.Collect(params, ctx));
  }

  std::unique_ptr<FaultySqlDatabase> faulty_db_;
  std::unique_ptr<RegistryStore> store_;
  MemoryStorageDriver driver_;
  BlobStore blobs_{driver_};
  std::unique_ptr<UploadController> uploads_;
};

TEST_F(UploadControllerTest, ChunkedUploadBecomesAVisibleBlob) {
  auto up = Must(uploads_->Start(kRepo));
  EXPECT_TRUE(IsValidUploadId(up.uuid));
  EXPECT_EQ(Must(Patch(up.uuid, "hello ", ByteRange{0, 5})).size, 6);
  EXPECT_EQ(Must(Patch(up.uuid, "world")).size, 11);
  EXPECT_EQ(Must(uploads_->GetStatus(kRepo, up.uuid)).size, 11);
  Digest d = Sha256("hello world");
  EXPECT_FALSE(Linked(d));  // nothing is visible before the PUT
  BlobRef ref = Must(Put(up.uuid, d));
  EXPECT_EQ(ref.size, 11);
  EXPECT_EQ(Linked(d), 11);
  EXPECT_EQ(driver_.Object(layout::BlobDataPath(d)), "hello world");
  EXPECT_TRUE(UploadPaths().empty());
  EXPECT_EQ(uploads_->GetStatus(kRepo, up.uuid).status().api_code(), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadControllerTest, Sha512IsVerifiedFromStorage) {
  std::string uuid = Started("abc");
  Digest d = Digest::Of(DigestAlgorithm::kSha512, "abcdef");
  ASSERT_OK(Put(uuid, d, "def"));
  EXPECT_EQ(Linked(d), 6);
}

TEST_F(UploadControllerTest, SessionsBelongToTheirRepository) {
  auto up = Must(uploads_->Start(kRepo));
  std::istringstream body("x");
  auto other = uploads_->Append("library/other", up.uuid, body, std::nullopt, 1);
  EXPECT_EQ(other.status().api_code(), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(uploads_->GetStatus(kRepo, "not-a-uuid").status().api_code(), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadControllerTest, ChunkOutOfOrderIsRefusedAndChangesNothing) {
  std::string uuid = Started("abc");
  auto skipped = Patch(uuid, "xyz", ByteRange{5, 7});
  EXPECT_EQ(skipped.status().code(), Code::kRangeNotSatisfiable);
  EXPECT_EQ(skipped.status().api_code(), "BLOB_UPLOAD_INVALID");
  EXPECT_EQ(Must(uploads_->GetStatus(kRepo, uuid)).size, 3);
}

TEST_F(UploadControllerTest, StorageErrorMidChunkLeavesAResumableSession) {
  std::string uuid = Started("0123");
  driver_.FailWritesAfter(3);  // the disk fills up three bytes into the next chunk
  auto failed = Patch(uuid, "456789");
  EXPECT_EQ(failed.status().code(), Code::kIOError);
  driver_.ClearFaults();
  // The client asks where the upload stands and continues from there.
  int64_t at = Must(uploads_->GetStatus(kRepo, uuid)).size;
  EXPECT_EQ(at, 7);
  ASSERT_OK(Patch(uuid, "789", ByteRange{at, at + 2}));
  Digest d = Sha256("0123456789");
  ASSERT_OK(Put(uuid, d));
  EXPECT_EQ(Linked(d), 10);
}

TEST_F(UploadControllerTest, StorageErrorInTheCommitShowsNothingAndCanBeRetried) {
  std::string uuid = Started("layer bytes");
  Digest d = Sha256("layer bytes");
  driver_.FailNth(StorageOp::kCommit, 1);  // the fsync of the final PUT
  EXPECT_EQ(Put(uuid, d).status().code(), Code::kIOError);
  EXPECT_FALSE(Linked(d));
  EXPECT_FALSE(driver_.Object(layout::BlobDataPath(d)));
  EXPECT_EQ(Must(uploads_->GetStatus(kRepo, uuid)).size, 11);

  driver_.FailNth(StorageOp::kMove, 1);  // the move to the content address
  EXPECT_EQ(Put(uuid, d).status().code(), Code::kIOError);
  EXPECT_FALSE(Linked(d));
  EXPECT_FALSE(driver_.Object(layout::BlobDataPath(d)));

  ASSERT_OK(Put(uuid, d));
  EXPECT_EQ(Linked(d), 11);
}

TEST_F(UploadControllerTest, StoreErrorAfterTheBytesLandedLeavesNoLinkAndGcTakesThem) {
  std::string uuid = Started("orphan");
  Digest d = Sha256("orphan");
  faulty_db_->FailNextExec("INSERT INTO repository_blob");
  auto put = Put(uuid, d);
  EXPECT_EQ(put.status().code(), Code::kIOError) << put.status().ToString();
  EXPECT_EQ(faulty_db_->pending_faults(), 0u);
  EXPECT_FALSE(Linked(d));  // no dangling reference
  // The bytes reached their content address before the metadata failed...
  EXPECT_EQ(driver_.Object(layout::BlobDataPath(d)), "orphan");
  // ...and the session failed cleanly: its bytes are gone with it.
  EXPECT_EQ(uploads_->GetStatus(kRepo, uuid).status().api_code(), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_TRUE(UploadPaths().empty());

  GcResult r = CollectGarbage();
  EXPECT_EQ(r.blobs_deleted, 1);
  EXPECT_EQ(r.bytes_freed, 6);
  EXPECT_FALSE(driver_.Object(layout::BlobDataPath(d)));
}

TEST_F(UploadControllerTest, WrongDigestDiscardsTheUpload) {
  std::string uuid = Started("actual");
  auto put = Put(uuid, Sha256("claimed"));
  EXPECT_EQ(put.status().api_code(), "DIGEST_INVALID");
  EXPECT_TRUE(driver_.Paths().empty());
  EXPECT_EQ(uploads_->GetStatus(kRepo, uuid).status().api_code(), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadControllerTest, FailedMonolithicUploadLeavesNoSession) {
  std::istringstream body("whole");
  driver_.FailNth(StorageOp::kMove, 1);
  auto r = uploads_->Monolithic(kRepo, Sha256("whole"), body, 5);
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_TRUE(driver_.Paths().empty());
  EXPECT_TRUE(Must(store_->ListUploadsStartedBefore(NowUnixMillis() + 1000)).empty());

  std::istringstream again("whole");
  EXPECT_EQ(Must(uploads_->Monolithic(kRepo, Sha256("whole"), again, 5)).size, 5);
  EXPECT_EQ(Linked(Sha256("whole")), 5);
}

TEST_F(UploadControllerTest, CancelAndPurgeRemoveSessions) {
  auto a = Must(uploads_->Start(kRepo));
  auto b = Must(uploads_->Start(kRepo));
  ASSERT_OK(Patch(b.uuid, "partial"));
  ASSERT_OK(uploads_->Cancel(kRepo, a.uuid));
  EXPECT_EQ(uploads_->Cancel(kRepo, a.uuid).api_code(), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(Must(uploads_->PurgeStale(NowUnixMillis() + 1)), 1);
  EXPECT_TRUE(driver_.Paths().empty());
}

}  // namespace
}  // namespace berth
