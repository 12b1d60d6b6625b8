// ManifestController in process (in-memory driver, SQLite store): a pushed
// image manifest is readable by tag and digest and reported as an event; a
// manifest whose blobs the repository lacks, or whose bytes cannot be
// stored, leaves no tag, no artifact and no event behind.
#include "registry/manifest_controller.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "blob/layout.h"
#include "store/registry_store.h"
#include "support/memory_storage_driver.h"
#include "support/sqlite_fixture.h"
#include "support/status_testing.h"

namespace berth {
namespace {

using testing_support::MemoryStorageDriver;
using testing_support::Must;
using testing_support::StorageOp;

constexpr char kRepo[] = "library/app";
constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";

class ManifestControllerTest : public testing_support::SqliteTest {
 protected:
  void SetUp() override {
    SqliteTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<RegistryStore>(*db_);
    manifests_ = std::make_unique<ManifestController>(*store_, blobs_);
    manifests_->set_event_sink([this](const ArtifactEvent& e) { events_.push_back(e); });
  }

  // Stores bytes as a blob and links it into kRepo (what an upload does).
  Digest Blob(const std::string& bytes) {
    Digest d = Digest::Of(DigestAlgorithm::kSha256, bytes);
    EXPECT_OK(blobs_.PutContent(d, bytes));
    EXPECT_OK(store_->LinkBlob(kRepo, d.ToString(), static_cast<int64_t>(bytes.size())));
    return d;
  }
  static std::string ImageManifest(const Digest& config, int64_t config_size, const Digest& layer,
                                   int64_t layer_size) {
    nlohmann::json m = {{"schemaVersion", 2},
                        {"mediaType", kOciManifest},
                        {"config",
                         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", config.ToString()},
                          {"size", config_size}}},
                        {"layers",
                         {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                           {"digest", layer.ToString()},
                           {"size", layer_size}}}}};
    return m.dump();
  }
  static ManifestReference Ref(const std::string& r) { return Must(ParseManifestReference(r)); }

  std::unique_ptr<RegistryStore> store_;
  MemoryStorageDriver driver_;
  BlobStore blobs_{driver_};
  std::unique_ptr<ManifestController> manifests_;
  std::vector<ArtifactEvent> events_;
};

TEST_F(ManifestControllerTest, PushedManifestIsReadableByTagAndDigest) {
  std::string config = R"({"architecture":"amd64","os":"linux"})";
  std::string body = ImageManifest(Blob(config), config.size(), Blob("layer"), 5);
  auto pushed = Must(manifests_->Put(kRepo, Ref("v1"), body, kOciManifest, {"alice", "req-1"}));
  Digest d = Digest::Of(DigestAlgorithm::kSha256, body);
  EXPECT_EQ(pushed.digest, d.ToString());
  EXPECT_EQ(driver_.Object(layout::BlobDataPath(d)), body);

  auto by_tag = Must(manifests_->Get(kRepo, Ref("v1"), {}));
  EXPECT_EQ(*by_tag.body, body);
  EXPECT_EQ(by_tag.artifact.media_type, kOciManifest);
  auto by_digest = Must(manifests_->Get(kRepo, Ref(d.ToString()), {kOciManifest}));
  EXPECT_EQ(by_digest.artifact.digest, d.ToString());
  EXPECT_EQ(Must(manifests_->Tags(kRepo, "", 10)).names, std::vector<std::string>{"v1"});

  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, ArtifactEventKind::kPushed);
  EXPECT_EQ(events_[0].tag, "v1");
  EXPECT_EQ(events_[0].actor.username, "alice");

  ASSERT_OK(manifests_->Delete(kRepo, Ref(d.ToString())));
  EXPECT_EQ(manifests_->Get(kRepo, Ref("v1"), {}).status().api_code(), "MANIFEST_UNKNOWN");
}

TEST_F(ManifestControllerTest, MissingBlobRefusesThePush) {
  std::string config = "{}";
  Digest unlinked = Digest::Of(DigestAlgorithm::kSha256, "never uploaded");
  std::string body = ImageManifest(Blob(config), config.size(), unlinked, 14);
  auto pushed = manifests_->Put(kRepo, Ref("v1"), body, kOciManifest);
  EXPECT_EQ(pushed.status().api_code(), "MANIFEST_BLOB_UNKNOWN") << pushed.status().ToString();
  EXPECT_EQ(manifests_->Get(kRepo, Ref("v1"), {}).status().api_code(), "MANIFEST_UNKNOWN");
  EXPECT_TRUE(events_.empty());
}

TEST_F(ManifestControllerTest, StorageErrorStoresNoMetadata) {
  std::string config = "{}";
  std::string body = ImageManifest(Blob(config), config.size(), Blob("layer"), 5);
  driver_.FailNth(StorageOp::kPutContent, 1);
  auto pushed = manifests_->Put(kRepo, Ref("v1"), body, kOciManifest);
  EXPECT_EQ(pushed.status().code(), Code::kIOError);
  EXPECT_EQ(manifests_->Get(kRepo, Ref("v1"), {}).status().api_code(), "MANIFEST_UNKNOWN");
  EXPECT_TRUE(Must(manifests_->Tags(kRepo, "", 10)).names.empty());
  EXPECT_TRUE(events_.empty());
  // The client's retry goes through.
  ASSERT_OK(manifests_->Put(kRepo, Ref("v1"), body, kOciManifest));
}

TEST_F(ManifestControllerTest, DigestReferenceMustMatchTheBody) {
  std::string config = "{}";
  std::string body = ImageManifest(Blob(config), config.size(), Blob("layer"), 5);
  Digest other = Digest::Of(DigestAlgorithm::kSha256, "other");
  auto pushed = manifests_->Put(kRepo, Ref(other.ToString()), body, kOciManifest);
  EXPECT_EQ(pushed.status().api_code(), "DIGEST_INVALID");
}

}  // namespace
}  // namespace berth
