// BlobStore on the in-memory driver: content addressing, upload streams and
// their commit (moved into place once, dropped when the blob is already
// stored), and what its errors look like.
#include "blob/blob_store.h"

#include <gtest/gtest.h>

#include "blob/layout.h"
#include "support/memory_storage_driver.h"
#include "support/status_testing.h"

namespace berth {
namespace {

using testing_support::MemoryStorageDriver;
using testing_support::Must;
using testing_support::StorageOp;

Digest Of(const std::string& s) { return Digest::Of(DigestAlgorithm::kSha256, s); }

class BlobStoreTest : public ::testing::Test {
 protected:
  MemoryStorageDriver driver_;
  BlobStore blobs_{driver_};
};

TEST_F(BlobStoreTest, PutContentStoresAtTheContentAddressOnce) {
  Digest d = Of("hello");
  ASSERT_OK(blobs_.PutContent(d, "hello"));
  EXPECT_EQ(driver_.Object(layout::BlobDataPath(d)), "hello");
  EXPECT_EQ(Must(blobs_.Stat(d)).size, 5);
  ASSERT_OK(blobs_.PutContent(d, "hello"));
  EXPECT_EQ(driver_.Calls(StorageOp::kPutContent), 1);  // present: not written again
  std::string out;
  ASSERT_OK(blobs_.GetContent(d, &out, 0));
  EXPECT_EQ(out, "hello");
  EXPECT_EQ(blobs_.OpenFd(d).status().code(), Code::kUnsupported);
  EXPECT_FALSE(blobs_.CanOpenFd());
}

TEST_F(BlobStoreTest, CheckPresentNamesTheProtocolError) {
  Digest d = Of("gone");
  Status s = blobs_.CheckPresent(d, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.api_code(), "MANIFEST_BLOB_UNKNOWN");
  // A storage failure is not "unknown": it stays what it was.
  driver_.FailNth(StorageOp::kStat, 1);
  EXPECT_EQ(blobs_.CheckPresent(d).code(), Code::kIOError);
  ASSERT_OK(blobs_.PutContent(d, "gone"));
  EXPECT_OK(blobs_.CheckPresent(d));
}

TEST_F(BlobStoreTest, CommitUploadMovesTheBytesAndRemovesTheSession) {
  ASSERT_OK(blobs_.CreateUpload("u1"));
  {
    auto w = Must(blobs_.AppendToUpload("u1"));
    ASSERT_OK(w->Write("layer", 5));
    ASSERT_OK(w->Commit());
  }
  EXPECT_EQ(Must(blobs_.UploadSize("u1")), 5);
  Digest d = Of("layer");
  ASSERT_OK(blobs_.CommitUpload("u1", d));
  EXPECT_EQ(driver_.Object(layout::BlobDataPath(d)), "layer");
  EXPECT_TRUE(blobs_.UploadSize("u1").status().IsNotFound());
  EXPECT_EQ(driver_.Paths(), std::vector<std::string>{layout::BlobDataPath(d)});
}

TEST_F(BlobStoreTest, CommitUploadOfAStoredBlobDropsTheUpload) {
  Digest d = Of("same");
  ASSERT_OK(blobs_.PutContent(d, "same"));
  ASSERT_OK(blobs_.CreateUpload("u2"));
  ASSERT_OK(blobs_.CommitUpload("u2", d));
  EXPECT_EQ(driver_.Calls(StorageOp::kMove), 0);
  EXPECT_EQ(driver_.Paths(), std::vector<std::string>{layout::BlobDataPath(d)});
}

TEST_F(BlobStoreTest, FailedMoveLeavesTheUploadWhereItWas) {
  ASSERT_OK(blobs_.CreateUpload("u3"));
  driver_.FailNth(StorageOp::kMove, 1);
  Digest d = Of("");
  EXPECT_EQ(blobs_.CommitUpload("u3", d).code(), Code::kIOError);
  EXPECT_TRUE(blobs_.Stat(d).status().IsNotFound());
  EXPECT_EQ(Must(blobs_.UploadSize("u3")), 0);
  ASSERT_OK(blobs_.CommitUpload("u3", d));  // and a retry completes it
  EXPECT_OK(blobs_.CheckPresent(d));
}

TEST_F(BlobStoreTest, DeletingAMissingUploadIsNotAnError) {
  EXPECT_OK(blobs_.DeleteUpload("never"));
  driver_.FailNth(StorageOp::kRemove, 1);
  ASSERT_OK(blobs_.CreateUpload("u4"));
  EXPECT_EQ(blobs_.DeleteUpload("u4").code(), Code::kIOError);
}

}  // namespace
}  // namespace berth
