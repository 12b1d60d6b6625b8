// RegistryStore against both metadata backends: SQLite (a temp file) and
// PostgreSQL (the ctest "pg" fixture; one fresh database per test); the
// fixture's plumbing is in store_test_support.h.
#include "store/registry_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "common/strings.h"
#include "store/artifact_store.h"
#include "store/list_query.h"
#include "store/migrations.h"
#include "store/pg_database.h"
#include "store/sqlite_database.h"
#include "store_test_support.h"

namespace berth {
namespace {

using testing_support::Dg;

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";

using store_test::AdminDsn;
using store_test::Backend;
using store_test::BackendName;
using store_test::PgExec;
using store_test::PgQueryInt;
using store_test::WithDatabase;

// ---- Helpers -------------------------------------------------------------------

NewManifest Image(const std::string& repo, const std::string& digest,
                  std::vector<std::string> blobs, const std::string& tag = "",
                  int64_t manifest_size = 500) {
  NewManifest m;
  m.repository = repo;
  m.digest = digest;
  m.media_type = kOciManifest;
  m.artifact_type = kConfigType;
  m.manifest_size = manifest_size;
  m.blobs = std::move(blobs);
  m.tag = tag;
  return m;
}

NewManifest Index(const std::string& repo, const std::string& digest,
                  const std::vector<std::string>& children, const std::string& tag = "",
                  int64_t manifest_size = 300) {
  NewManifest m;
  m.repository = repo;
  m.digest = digest;
  m.media_type = kOciIndex;
  m.manifest_size = manifest_size;
  for (const auto& c : children) m.children.push_back({c, R"({"os":"linux"})"});
  m.tag = tag;
  return m;
}

class RegistryStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<RegistryStore>(*db_);
  }

  void TearDown() override {
    store_.reset();
    StoreTestBase::TearDown();
  }

  void Link(const std::string& repo, const std::string& digest, int64_t size) {
    Status s = store_->LinkBlob(repo, digest, size);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  ArtifactRecord Put(const NewManifest& m) {
    auto r = store_->PutManifest(m);
    EXPECT_TRUE(r.ok()) << m.digest << ": " << r.status().ToString();
    return r.ok() ? *r : ArtifactRecord{};
  }

  std::optional<ArtifactRecord> ByTag(const std::string& repo, const std::string& tag) {
    auto r = store_->GetArtifactByTag(repo, tag);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  std::optional<ArtifactRecord> ByDigest(const std::string& repo, const std::string& digest) {
    auto r = store_->GetArtifactByDigest(repo, digest);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  // Every tag of a repository, through pages of `page` names.
  std::vector<std::string> AllTags(const std::string& repo, int64_t page) {
    std::vector<std::string> out;
    std::string last;
    for (int guard = 0; guard < 1000; ++guard) {
      auto p = store_->ListTags(repo, last, page);
      EXPECT_TRUE(p.ok()) << p.status().ToString();
      if (!p.ok()) break;
      EXPECT_LE(static_cast<int64_t>(p->names.size()), page);
      out.insert(out.end(), p->names.begin(), p->names.end());
      if (!p->more) break;
      EXPECT_FALSE(p->names.empty()) << "more=true on an empty page";
      if (p->names.empty()) break;
      last = p->names.back();
    }
    return out;
  }

  std::unique_ptr<RegistryStore> store_;
};

// ---- Migrations ------------------------------------------------------------------

TEST_P(RegistryStoreTest, MigrateTwiceIsANoOp) {
  ASSERT_FALSE(AllMigrations().empty());
  EXPECT_EQ(version_, AllMigrations().back().version);
  Link("repo", Dg("b"), 5);
  auto again = Migrate(*db_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, version_);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(AllMigrations().size()));
  // Nothing was recreated: data survives.
  auto size = store_->GetLinkedBlobSize("repo", Dg("b"));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 5);
}

// ---- Blobs -------------------------------------------------------------------------

TEST_P(RegistryStoreTest, LinkBlobCreatesTheRepositoryAndIsIdempotent) {
  auto before = store_->GetLinkedBlobSize("lib/app", Dg("x"));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  auto no_repo = store_->GetRepository("lib/app");
  ASSERT_TRUE(no_repo.ok());
  EXPECT_FALSE(no_repo->has_value());

  Link("lib/app", Dg("x"), 1234);
  Link("lib/app", Dg("x"), 1234);  // again: no error, no duplicate
  auto size = store_->GetLinkedBlobSize("lib/app", Dg("x"));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 1234);

  auto repo = store_->GetRepository("lib/app");
  ASSERT_TRUE(repo.ok());
  ASSERT_TRUE(repo->has_value());
  EXPECT_EQ((*repo)->name, "lib/app");
  EXPECT_GT((*repo)->id, 0);
  EXPECT_GT((*repo)->created_at, 0);
  EXPECT_LE((*repo)->created_at, (*repo)->updated_at);

  // Linked into one repository only.
  auto other = store_->GetLinkedBlobSize("lib/other", Dg("x"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_P(RegistryStoreTest, UnlinkBlobIsPerRepository) {
  Link("a", Dg("x"), 10);
  Link("b", Dg("x"), 10);
  ASSERT_TRUE(store_->UnlinkBlob("a", Dg("x")).ok());
  auto in_a = store_->GetLinkedBlobSize("a", Dg("x"));
  auto in_b = store_->GetLinkedBlobSize("b", Dg("x"));
  ASSERT_TRUE(in_a.ok() && in_b.ok());
  EXPECT_FALSE(in_a->has_value());
  EXPECT_EQ(*in_b, 10);

  Status again = store_->UnlinkBlob("a", Dg("x"));
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(again.api_code(), "BLOB_UNKNOWN");
  EXPECT_EQ(store_->UnlinkBlob("no/such/repo", Dg("x")).code(), Code::kNotFound);
  EXPECT_EQ(store_->UnlinkBlob("b", Dg("never")).code(), Code::kNotFound);

  // Linking again after an unlink works.
  Link("a", Dg("x"), 10);
  auto relinked = store_->GetLinkedBlobSize("a", Dg("x"));
  ASSERT_TRUE(relinked.ok());
  EXPECT_EQ(*relinked, 10);
}

// ---- Uploads -----------------------------------------------------------------------

TEST_P(RegistryStoreTest, UploadsCrud) {
  UploadRecord u{"5f0e-uuid", "lib/app", 1700000000000};
  ASSERT_TRUE(store_->CreateUpload(u).ok());
  auto got = store_->GetUpload("5f0e-uuid");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->uuid, "5f0e-uuid");
  EXPECT_EQ((*got)->repository, "lib/app");
  EXPECT_EQ((*got)->started_at, 1700000000000);

  Status dup = store_->CreateUpload(u);
  EXPECT_EQ(dup.code(), Code::kConflict) << dup.ToString();

  ASSERT_TRUE(store_->DeleteUpload("5f0e-uuid").ok());
  got = store_->GetUpload("5f0e-uuid");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_TRUE(store_->DeleteUpload("5f0e-uuid").ok());  // deleting twice is fine
  auto none = store_->GetUpload("never");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(RegistryStoreTest, ListUploadsStartedBefore) {
  ASSERT_TRUE(store_->CreateUpload({"c", "r1", 300}).ok());
  ASSERT_TRUE(store_->CreateUpload({"a", "r2", 100}).ok());
  ASSERT_TRUE(store_->CreateUpload({"b", "r1", 200}).ok());
  ASSERT_TRUE(store_->CreateUpload({"d", "r3", 400}).ok());
  auto uuids = [&](int64_t before) {
    std::vector<std::string> out;
    auto l = store_->ListUploadsStartedBefore(before);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (l.ok()) {
      for (const auto& u : *l) out.push_back(u.uuid);
    }
    return out;
  };
  EXPECT_THAT(uuids(100), IsEmpty());          // strictly before
  EXPECT_THAT(uuids(101), ElementsAre("a"));
  EXPECT_THAT(uuids(300), ElementsAre("a", "b"));
  EXPECT_THAT(uuids(1000), ElementsAre("a", "b", "c", "d"));  // ordered by uuid
  auto l = store_->ListUploadsStartedBefore(250);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].repository, "r1");
  EXPECT_EQ((*l)[1].started_at, 200);
}

// ---- Manifests -----------------------------------------------------------------------

TEST_P(RegistryStoreTest, PutManifestStoresTheArtifactAndTag) {
  Link("lib/app", Dg("config"), 100);
  Link("lib/app", Dg("layer"), 1000);
  NewManifest m = Image("lib/app", Dg("m1"), {Dg("config"), Dg("layer"), Dg("layer")}, "v1", 500);
  m.annotations_json = R"({"k":"v"})";
  ArtifactRecord a = Put(m);
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.digest, Dg("m1"));
  EXPECT_EQ(a.media_type, kOciManifest);
  EXPECT_EQ(a.artifact_type, kConfigType);
  EXPECT_EQ(a.manifest_size, 500);
  EXPECT_EQ(a.size, 500 + 100 + 1000);  // each blob counted once
  EXPECT_EQ(a.subject_digest, "");
  EXPECT_EQ(a.annotations_json, R"({"k":"v"})");
  EXPECT_GT(a.push_time, 0);

  auto by_tag = ByTag("lib/app", "v1");
  ASSERT_TRUE(by_tag.has_value());
  EXPECT_EQ(by_tag->id, a.id);
  EXPECT_EQ(by_tag->digest, a.digest);
  EXPECT_EQ(by_tag->size, a.size);
  auto by_digest = ByDigest("lib/app", Dg("m1"));
  ASSERT_TRUE(by_digest.has_value());
  EXPECT_EQ(by_digest->id, a.id);
  EXPECT_EQ(by_digest->repository_id, a.repository_id);
  EXPECT_EQ(by_digest->annotations_json, a.annotations_json);

  EXPECT_FALSE(ByTag("lib/app", "v2").has_value());
  EXPECT_FALSE(ByTag("lib/other", "v1").has_value());
  EXPECT_FALSE(ByDigest("lib/app", Dg("m2")).has_value());
  EXPECT_FALSE(ByDigest("lib/other", Dg("m1")).has_value());
}

TEST_P(RegistryStoreTest, PutManifestByDigestHasNoTag) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("m"), {Dg("c")}));
  EXPECT_TRUE(ByDigest("r", Dg("m")).has_value());
  EXPECT_THAT(AllTags("r", 10), IsEmpty());
}

TEST_P(RegistryStoreTest, PutManifestWithMissingBlobWritesNothing) {
  Link("other/repo", Dg("layer"), 10);  // linked elsewhere: does not count
  auto r = store_->PutManifest(Image("new/repo", Dg("m"), {Dg("layer")}, "latest"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().api_code(), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_THAT(r.status().message(), HasSubstr(Dg("layer")));
  EXPECT_THAT(r.status().detail_json(), HasSubstr(Dg("layer")));
  // Rolled back entirely, including the repository row.
  auto repo = store_->GetRepository("new/repo");
  ASSERT_TRUE(repo.ok());
  EXPECT_FALSE(repo->has_value());
  EXPECT_FALSE(ByDigest("new/repo", Dg("m")).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM tag"), 0);

  // One missing blob among present ones fails just the same.
  Link("r", Dg("present"), 10);
  r = store_->PutManifest(Image("r", Dg("m"), {Dg("present"), Dg("absent")}, "latest"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().api_code(), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_THAT(r.status().message(), HasSubstr(Dg("absent")));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM tag"), 0);
}

TEST_P(RegistryStoreTest, PutIndexWithMissingChildWritesNothing) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("child1"), {Dg("c")}));
  Put(Image("elsewhere", Dg("child2"), {}));  // an artifact of another repository
  auto r = store_->PutManifest(Index("r", Dg("idx"), {Dg("child1"), Dg("child2")}, "latest"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().api_code(), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_THAT(r.status().message(), HasSubstr(Dg("child2")));
  EXPECT_FALSE(ByDigest("r", Dg("idx")).has_value());
  EXPECT_FALSE(ByTag("r", "latest").has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_reference"), 0);
}

TEST_P(RegistryStoreTest, RePutIsIdempotent) {
  Link("r", Dg("c"), 7);
  ArtifactRecord first = Put(Image("r", Dg("m"), {Dg("c")}, "v1"));
  ArtifactRecord second = Put(Image("r", Dg("m"), {Dg("c")}, "v1"));
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.size, first.size);
  // Pushing it again is a push (as in Harbor): untagged-artifact GC and
  // retention go by it.
  EXPECT_GE(second.push_time, first.push_time);
  ArtifactRecord third = Put(Image("r", Dg("m"), {Dg("c")}, "v2"));  // another tag, same artifact
  EXPECT_EQ(third.id, first.id);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_blob"), 1);
  EXPECT_EQ(ByTag("r", "v1")->id, first.id);
  EXPECT_EQ(ByTag("r", "v2")->id, first.id);
  EXPECT_THAT(AllTags("r", 10), ElementsAre("v1", "v2"));
}

TEST_P(RegistryStoreTest, TagMovesToTheNewestPut) {
  Link("r", Dg("c"), 1);
  ArtifactRecord a = Put(Image("r", Dg("a"), {Dg("c")}, "latest"));
  ArtifactRecord b = Put(Image("r", Dg("b"), {Dg("c")}, "latest"));
  ASSERT_NE(a.id, b.id);
  EXPECT_EQ(ByTag("r", "latest")->digest, Dg("b"));
  EXPECT_TRUE(ByDigest("r", Dg("a")).has_value());  // the old artifact stays
  Put(Image("r", Dg("a"), {Dg("c")}, "latest"));    // and the tag can move back
  EXPECT_EQ(ByTag("r", "latest")->digest, Dg("a"));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM tag"), 1);
  // Same tag name in another repository is independent.
  Link("r2", Dg("c"), 1);
  Put(Image("r2", Dg("b"), {Dg("c")}, "latest"));
  EXPECT_EQ(ByTag("r", "latest")->digest, Dg("a"));
  EXPECT_EQ(ByTag("r2", "latest")->digest, Dg("b"));
}

TEST_P(RegistryStoreTest, IndexSizeCountsChildren) {
  Link("r", Dg("c1"), 10);
  Link("r", Dg("c2"), 20);
  ArtifactRecord m1 = Put(Image("r", Dg("m1"), {Dg("c1")}, "", 100));
  ArtifactRecord m2 = Put(Image("r", Dg("m2"), {Dg("c2")}, "", 200));
  ArtifactRecord idx = Put(Index("r", Dg("idx"), {Dg("m1"), Dg("m2"), Dg("m1")}, "multi", 50));
  EXPECT_EQ(idx.media_type, kOciIndex);
  EXPECT_EQ(idx.size, 50 + m1.size + m2.size);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_reference"), 2);
}

TEST_P(RegistryStoreTest, SubjectAndReferrers) {
  Link("r", Dg("c"), 1);
  ArtifactRecord subject = Put(Image("r", Dg("subject"), {Dg("c")}, "v1"));

  NewManifest sig = Image("r", Dg("sig"), {Dg("c")});
  sig.subject_digest = subject.digest;
  sig.artifact_type = "application/vnd.example.signature";
  sig.annotations_json = R"({"org.opencontainers.image.created":"2024-01-01T00:00:00Z"})";
  ArtifactRecord sig_rec = Put(sig);
  EXPECT_EQ(sig_rec.subject_digest, subject.digest);

  NewManifest sbom = Image("r", Dg("sbom"), {Dg("c")});
  sbom.subject_digest = subject.digest;
  sbom.artifact_type = "application/vnd.example.sbom";
  Put(sbom);

  NewManifest sig2 = Image("r", Dg("sig2"), {Dg("c")});
  sig2.subject_digest = subject.digest;
  sig2.artifact_type = "application/vnd.example.signature";
  Put(sig2);

  // Referrers of another subject, and in another repository, stay apart.
  NewManifest unrelated = Image("r", Dg("unrelated"), {Dg("c")});
  unrelated.subject_digest = Dg("other-subject");
  Put(unrelated);
  Link("r2", Dg("c"), 1);
  NewManifest foreign = Image("r2", Dg("foreign"), {Dg("c")});
  foreign.subject_digest = subject.digest;
  Put(foreign);

  auto digests = [](const std::vector<ArtifactRecord>& v) {
    std::vector<std::string> out;
    for (const auto& a : v) out.push_back(a.digest);
    return out;
  };
  auto all = store_->ListReferrers("r", subject.digest, "");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_THAT(digests(*all), ElementsAre(Dg("sig"), Dg("sbom"), Dg("sig2")));  // push order
  EXPECT_EQ((*all)[0].annotations_json, sig.annotations_json);
  EXPECT_EQ((*all)[0].artifact_type, "application/vnd.example.signature");

  auto sigs = store_->ListReferrers("r", subject.digest, "application/vnd.example.signature");
  ASSERT_TRUE(sigs.ok());
  EXPECT_THAT(digests(*sigs), ElementsAre(Dg("sig"), Dg("sig2")));
  auto none = store_->ListReferrers("r", subject.digest, "application/none");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());

  // A subject that is not (yet) in the registry may have referrers.
  auto dangling = store_->ListReferrers("r", Dg("other-subject"), "");
  ASSERT_TRUE(dangling.ok());
  EXPECT_THAT(digests(*dangling), ElementsAre(Dg("unrelated")));
  auto nothing = store_->ListReferrers("r", Dg("no-referrers"), "");
  ASSERT_TRUE(nothing.ok());
  EXPECT_THAT(*nothing, IsEmpty());
  // The subject's own row has no subject.
  auto plain = store_->ListReferrers("r", "", "");
  ASSERT_TRUE(plain.ok());
  EXPECT_THAT(*plain, IsEmpty());

  // A repository with nothing pushed has no referrers (the referrers API
  // must not answer 404).
  auto unknown = store_->ListReferrers("no/such", subject.digest, "");
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_THAT(*unknown, IsEmpty());
}

// ---- Deletion ------------------------------------------------------------------------

TEST_P(RegistryStoreTest, DeleteTagKeepsTheArtifact) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("m"), {Dg("c")}, "v1"));
  Put(Image("r", Dg("m"), {Dg("c")}, "v2"));
  ASSERT_TRUE(store_->DeleteTag("r", "v1").ok());
  EXPECT_FALSE(ByTag("r", "v1").has_value());
  EXPECT_TRUE(ByTag("r", "v2").has_value());
  EXPECT_TRUE(ByDigest("r", Dg("m")).has_value());
  Status again = store_->DeleteTag("r", "v1");
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(again.api_code(), "MANIFEST_UNKNOWN");
  EXPECT_EQ(store_->DeleteTag("no/such", "v2").code(), Code::kNotFound);
}

TEST_P(RegistryStoreTest, DeleteArtifactRemovesItsTags) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("m"), {Dg("c")}, "v1"));
  Put(Image("r", Dg("m"), {Dg("c")}, "v2"));
  Put(Image("r", Dg("keep"), {Dg("c")}, "v3"));
  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("m")).ok());
  EXPECT_FALSE(ByDigest("r", Dg("m")).has_value());
  EXPECT_FALSE(ByTag("r", "v1").has_value());
  EXPECT_FALSE(ByTag("r", "v2").has_value());
  EXPECT_THAT(AllTags("r", 10), ElementsAre("v3"));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_blob"), 1);
  // The blob stays linked: manifests and blobs are deleted separately.
  auto size = store_->GetLinkedBlobSize("r", Dg("c"));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 1);

  Status again = store_->DeleteArtifact("r", Dg("m"));
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(again.api_code(), "MANIFEST_UNKNOWN");
  Status no_repo = store_->DeleteArtifact("no/such", Dg("m"));
  EXPECT_EQ(no_repo.code(), Code::kNotFound);
  EXPECT_EQ(no_repo.api_code(), "NAME_UNKNOWN");
}

TEST_P(RegistryStoreTest, DeleteIndexTakesUnreferencedUntaggedChildren) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("only-child"), {Dg("c")}));        // untagged, only in idx
  Put(Image("r", Dg("tagged-child"), {Dg("c")}, "t"));  // tagged
  Put(Image("r", Dg("shared-child"), {Dg("c")}));      // also in idx2
  Put(Index("r", Dg("idx"), {Dg("only-child"), Dg("tagged-child"), Dg("shared-child")}, "i"));
  Put(Index("r", Dg("idx2"), {Dg("shared-child")}, "i2"));

  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("idx")).ok());
  EXPECT_FALSE(ByDigest("r", Dg("idx")).has_value());
  EXPECT_FALSE(ByDigest("r", Dg("only-child")).has_value());
  EXPECT_TRUE(ByDigest("r", Dg("tagged-child")).has_value());
  EXPECT_TRUE(ByDigest("r", Dg("shared-child")).has_value());
  EXPECT_THAT(AllTags("r", 10), ElementsAre("i2", "t"));

  // Now idx2 was the last reference.
  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("idx2")).ok());
  EXPECT_FALSE(ByDigest("r", Dg("shared-child")).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_reference"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 1);  // tagged-child
}

// repository.artifact_count (kept by triggers) equals a count of the
// repository's top-level artifacts after every kind of change.
TEST_P(RegistryStoreTest, ArtifactCountFollowsEveryChange) {
  ArtifactStore artifacts(*db_);
  auto expect_count = [&](int64_t want, const char* step) {
    int64_t counted = QueryInt(
        "SELECT COUNT(*) FROM artifact a JOIN repository r ON r.id = a.repository_id "
        "WHERE r.name = 'r' AND a.top_level = 1");
    auto repo = artifacts.GetRepository("r");
    ASSERT_TRUE(repo.ok() && repo->has_value()) << step;
    EXPECT_EQ((*repo)->artifact_count, counted) << step;
    EXPECT_EQ(counted, want) << step;
  };
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("a"), {Dg("c")}, "a"));
  Put(Image("r", Dg("b"), {Dg("c")}));
  Put(Image("r", Dg("d"), {Dg("c")}));
  expect_count(3, "three images");
  Put(Image("r", Dg("a"), {Dg("c")}, "again"));
  expect_count(3, "a re-put");
  Put(Index("r", Dg("idx"), {Dg("b"), Dg("d")}, "i"));
  expect_count(2, "an index adopts two children");
  NewManifest sig = Image("r", Dg("sig"), {Dg("c")});
  sig.subject_digest = Dg("a");
  sig.accessory_of = Dg("a");
  sig.accessory_type = "signature.cosign";
  Put(sig);
  expect_count(2, "an accessory");
  // Pushed by digest first (a top-level artifact), then tagged in cosign's
  // scheme: the tag makes it an accessory (replication, crane).
  Put(Image("r", Dg("late"), {Dg("c")}));
  expect_count(3, "a late signature before its tag");
  NewManifest late = Image("r", Dg("late"), {Dg("c")}, "sha256-late.sig");
  late.accessory_of = Dg("a");
  late.accessory_type = "signature.cosign";
  late.type = "SIGNATURE";
  Put(late);
  expect_count(2, "the late signature tagged");
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact WHERE accessory_of <> '' AND harbor_type = "
                     "'SIGNATURE' AND top_level = 0"),
            1);
  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("idx")).ok());
  expect_count(1, "the index and its untagged children deleted");
  Link("other", Dg("c"), 1);
  Put(Image("other", Dg("x"), {Dg("c")}));
  expect_count(1, "another repository");
  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("a")).ok());
  expect_count(0, "the last one deleted");
}

// Pages past the middle walk from the other end; every page agrees with one
// big page, in every order.
TEST_P(RegistryStoreTest, ArtifactPagesFromBothEndsAgree) {
  ArtifactStore artifacts(*db_);
  Link("r", Dg("c"), 1);
  for (int i = 0; i < 23; ++i) Put(Image("r", Dg("m" + std::to_string(i)), {Dg("c")}));
  auto repo = artifacts.GetRepository("r");
  ASSERT_TRUE(repo.ok() && repo->has_value());
  for (const auto& sort : std::vector<std::vector<std::pair<std::string, bool>>>{
           {}, {{"digest", false}}, {{"push_time", false}}, {{"size", true}, {"digest", true}}}) {
    ListQuery all;
    all.page_size = 100;
    all.sort = sort;
    auto whole = artifacts.ListArtifacts((*repo)->id, all);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    ASSERT_EQ(whole->total, 23);
    std::vector<std::string> want, got;
    for (const auto& a : whole->items) want.push_back(a.digest);
    for (int64_t page = 1; page <= 6; ++page) {
      ListQuery q;
      q.page = page;
      q.page_size = 5;
      q.sort = sort;
      auto p = artifacts.ListArtifacts((*repo)->id, q);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_EQ(p->total, 23);
      EXPECT_EQ(p->items.size(), page <= 4 ? 5u : page == 5 ? 3u : 0u) << "page " << page;
      for (const auto& a : p->items) got.push_back(a.digest);
    }
    EXPECT_EQ(got, want);
  }
}

TEST_P(RegistryStoreTest, DeleteNestedIndexRecurses) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("leaf"), {Dg("c")}));
  Put(Index("r", Dg("inner"), {Dg("leaf")}));
  Put(Index("r", Dg("outer"), {Dg("inner")}, "top"));
  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("outer")).ok());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_reference"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM tag"), 0);
}

TEST_P(RegistryStoreTest, DeleteChildOfAnIndexIsRefused) {
  Link("r", Dg("c"), 1);
  Put(Image("r", Dg("child"), {Dg("c")}, "child-tag"));
  Put(Index("r", Dg("idx"), {Dg("child")}, "i"));
  Status s = store_->DeleteArtifact("r", Dg("child"));
  EXPECT_EQ(s.code(), Code::kPreconditionFailed) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Dg("idx")));
  EXPECT_TRUE(ByDigest("r", Dg("child")).has_value());
  EXPECT_TRUE(ByTag("r", "child-tag").has_value());  // nothing was touched

  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("idx")).ok());
  EXPECT_TRUE(ByDigest("r", Dg("child")).has_value());  // kept: tagged
  ASSERT_TRUE(store_->DeleteArtifact("r", Dg("child")).ok());
  EXPECT_FALSE(ByDigest("r", Dg("child")).has_value());
}

// ---- Listing -------------------------------------------------------------------------

TEST_P(RegistryStoreTest, ListTagsIsAsciibeticalAndPaginated) {
  Link("r", Dg("c"), 1);
  std::vector<std::string> tags = {"latest", "B",  "a",    "Z",       "_x",    "0",
                                   "b",      "A1", "v1.0", "v1.0-rc", "v1.0.1", "v1-0"};
  for (size_t i = 0; i < tags.size(); ++i) {
    Put(Image("r", Dg("m" + std::to_string(i % 3)), {Dg("c")}, tags[i]));
  }
  std::vector<std::string> want = tags;
  std::sort(want.begin(), want.end());  // bytewise: "0" < "A1" < "B" < "Z" < "_x" < "a" ...
  ASSERT_EQ(want.front(), "0");
  for (int64_t page : {1, 2, 3, 5, 12, 13, 100}) {
    EXPECT_THAT(AllTags("r", page), ElementsAreArray(want)) << "page size " << page;
  }

  auto first = store_->ListTags("r", "", 3);
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(first->names, ElementsAre("0", "A1", "B"));
  EXPECT_TRUE(first->more);
  auto exact = store_->ListTags("r", "", static_cast<int64_t>(tags.size()));
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->names.size(), tags.size());
  EXPECT_FALSE(exact->more);
  // `last` need not be a tag; it is an exclusive lower bound.
  auto after = store_->ListTags("r", "_", 100);
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(after->names,
              ElementsAre("_x", "a", "b", "latest", "v1-0", "v1.0", "v1.0-rc", "v1.0.1"));
  auto past_end = store_->ListTags("r", "zzz", 10);
  ASSERT_TRUE(past_end.ok());
  EXPECT_THAT(past_end->names, IsEmpty());
  EXPECT_FALSE(past_end->more);

  auto unknown = store_->ListTags("no/such", "", 10);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kNotFound);
  EXPECT_EQ(unknown.status().api_code(), "NAME_UNKNOWN");
}

TEST_P(RegistryStoreTest, ListTagsOfARepositoryWithoutTags) {
  Link("r", Dg("c"), 1);
  auto p = store_->ListTags("r", "", 10);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_THAT(p->names, IsEmpty());
  EXPECT_FALSE(p->more);
}

TEST_P(RegistryStoreTest, ListRepositoriesIsAsciibeticalAndPaginated) {
  std::vector<std::string> repos = {"b", "a/b", "a", "a-b", "a.b", "a_b",
                                    "ab", "a0", "B", "lib/z", "lib/a/b", "lib-x"};
  for (const auto& r : repos) Link(r, Dg("c"), 1);
  std::vector<std::string> want = repos;
  std::sort(want.begin(), want.end());  // "B" < "a" < "a-b" < "a.b" < "a/b" < "a0" < "a_b" ...
  ASSERT_EQ(want.front(), "B");
  for (int64_t page : {1, 2, 5, 11, 12, 50}) {
    std::vector<std::string> got;
    std::string last;
    for (int guard = 0; guard < 100; ++guard) {
      auto p = store_->ListRepositories(last, page);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_LE(static_cast<int64_t>(p->names.size()), page);
      got.insert(got.end(), p->names.begin(), p->names.end());
      if (!p->more) break;
      last = p->names.back();
    }
    EXPECT_THAT(got, ElementsAreArray(want)) << "page size " << page;
  }
  auto after = store_->ListRepositories("a.b", 3);
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(after->names, ElementsAre("a/b", "a0", "a_b"));
  EXPECT_TRUE(after->more);
}

TEST_P(RegistryStoreTest, ListRepositoriesWhenEmpty) {
  auto p = store_->ListRepositories("", 10);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_THAT(p->names, IsEmpty());
  EXPECT_FALSE(p->more);
}

// ---- Concurrency ---------------------------------------------------------------------

// 16 writers push different artifacts under one tag of one repository while
// other threads link blobs into other repositories. Everything must succeed
// (retries are the store's business), the tag must end on exactly one of the
// artifacts, every artifact row must be intact, and nothing may deadlock.
TEST_P(RegistryStoreTest, ConcurrentPutsUnderOneTag) {
  constexpr int kWriters = 16;
  constexpr int kLinkers = 4;
  constexpr int kLinksEach = 10;
  const std::string repo = "conc/app";
  const std::string shared_layer = Dg("shared-layer");

  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<std::string> errors;
  auto report = [&](const std::string& who, const Status& s) {
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      errors.push_back(who + ": " + s.ToString());
    }
  };

  std::latch start(kWriters + kLinkers);  // release every thread at once
  RegistryStore* store = store_.get();
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      std::string who = "writer " + std::to_string(i);
      report(who, store->LinkBlob(repo, shared_layer, 1000));
      report(who, store->LinkBlob(repo, Dg("config" + std::to_string(i)), 10 + i));
      auto r = store->PutManifest(Image(repo, Dg("manifest" + std::to_string(i)),
                                        {Dg("config" + std::to_string(i)), shared_layer},
                                        "latest", 100 + i));
      report(who, r.status());
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      cv.notify_all();
    });
  }
  for (int j = 0; j < kLinkers; ++j) {
    threads.emplace_back([&, j] {
      start.arrive_and_wait();
      std::string other = "other/repo" + std::to_string(j);
      for (int k = 0; k < kLinksEach; ++k) {
        report("linker " + std::to_string(j),
               store->LinkBlob(other, Dg("o" + std::to_string(j) + "-" + std::to_string(k)), k + 1));
      }
      report("linker " + std::to_string(j), store->LinkBlob(other, shared_layer, 1000));
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    bool done = cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return finished == kWriters + kLinkers; });
    if (!done) {
      // Joining would hang the test binary; fail loudly instead.
      std::fprintf(stderr, "FATAL: %d of %d threads still running after 60 s: deadlock?\n",
                   kWriters + kLinkers - finished, kWriters + kLinkers);
      std::fflush(stderr);
      std::_Exit(1);
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(errors, IsEmpty());

  auto tagged = ByTag(repo, "latest");
  ASSERT_TRUE(tagged.has_value());
  std::set<std::string> candidates;
  for (int i = 0; i < kWriters; ++i) candidates.insert(Dg("manifest" + std::to_string(i)));
  EXPECT_EQ(candidates.count(tagged->digest), 1u) << tagged->digest;
  EXPECT_THAT(AllTags(repo, 100), ElementsAre("latest"));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM tag"), 1);

  for (int i = 0; i < kWriters; ++i) {
    auto a = ByDigest(repo, Dg("manifest" + std::to_string(i)));
    ASSERT_TRUE(a.has_value()) << "artifact " << i << " missing";
    EXPECT_EQ(a->media_type, kOciManifest);
    EXPECT_EQ(a->artifact_type, kConfigType);
    EXPECT_EQ(a->manifest_size, 100 + i);
    EXPECT_EQ(a->size, (100 + i) + (10 + i) + 1000) << "artifact " << i;
  }
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), kWriters);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_blob"), 2 * kWriters);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM repository"), 1 + kLinkers);
  for (int j = 0; j < kLinkers; ++j) {
    std::string other = "other/repo" + std::to_string(j);
    for (int k = 0; k < kLinksEach; ++k) {
      auto size = store_->GetLinkedBlobSize(other, Dg("o" + std::to_string(j) + "-" + std::to_string(k)));
      ASSERT_TRUE(size.ok());
      EXPECT_EQ(*size, k + 1);
    }
  }
}

// The same manifest pushed concurrently under different tags: one artifact.
TEST_P(RegistryStoreTest, ConcurrentPutsOfTheSameDigest) {
  constexpr int kThreads = 8;
  Link("same/app", Dg("c"), 5);
  std::latch start(kThreads);
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<int64_t> ids(kThreads, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = store_->PutManifest(Image("same/app", Dg("m"), {Dg("c")}, "t" + std::to_string(i)));
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok()) {
        ids[i] = r->id;
      } else {
        errors.push_back(r.status().ToString());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(errors, IsEmpty());
  for (int i = 1; i < kThreads; ++i) EXPECT_EQ(ids[i], ids[0]) << "thread " << i;
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_blob"), 1);
  EXPECT_EQ(AllTags("same/app", 100).size(), static_cast<size_t>(kThreads));
}

// The server may drop pooled sessions at any time (restart, failover, idle
// timeouts). A broken connection must give its pool slot back, or after
// pool_size such events every metadata call blocks forever.
TEST(PgDatabasePool, SurvivesServerSideTerminationOfPooledSessions) {
  const std::string admin = AdminDsn();
  ASSERT_FALSE(admin.empty()) << "no PostgreSQL DSN (see RegistryStoreTest)";
  const std::string name = "berth_test_" + std::to_string(getpid()) + "_terminated";
  ASSERT_TRUE(PgExec(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").ok());
  ASSERT_TRUE(PgExec(admin, "CREATE DATABASE " + name).ok());
  {
    auto db = PgDatabase::Open(WithDatabase(admin, name), 1);  // one slot: a leak hangs at once
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(Migrate(**db).ok());
    RegistryStore store(**db);
    ASSERT_TRUE(store.LinkBlob("r", Dg("b"), 3).ok());
    for (int round = 0; round < 3; ++round) {
      ASSERT_EQ(PgQueryInt(admin, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = '" + name + "'"),
                1)
          << "round " << round << ": expected the pool's one session";
      for (int i = 0; i < 500 && PgQueryInt(admin, "SELECT COUNT(*) FROM pg_stat_activity WHERE "
                                                   "datname = '" + name + "'") != 0;
           ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      auto call = std::async(std::launch::async, [&] { return store.GetLinkedBlobSize("r", Dg("b")); });
      if (call.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
        std::fprintf(stderr, "FATAL: round %d: metadata call still blocked after 30 s: the pool "
                             "lost its connection slot\n", round);
        std::fflush(stderr);
        std::_Exit(1);
      }
      auto size = call.get();
      ASSERT_TRUE(size.ok()) << "round " << round << ": " << size.status().ToString();
      EXPECT_EQ(*size, 3);
    }
  }
  EXPECT_TRUE(PgExec(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").ok());
}

// PgTransaction sends BEGIN with the first statement that is not a plain
// read: reads before it run on their own, everything from it on is one
// transaction that commits or rolls back whole.
TEST(PgTransaction, BeginsAtTheFirstWriteAndStaysAtomic) {
  const std::string admin = AdminDsn();
  ASSERT_FALSE(admin.empty()) << "no PostgreSQL DSN (see RegistryStoreTest)";
  const std::string name = "berth_test_" + std::to_string(getpid()) + "_lazy";
  ASSERT_TRUE(PgExec(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").ok());
  ASSERT_TRUE(PgExec(admin, "CREATE DATABASE " + name).ok());
  {
    auto db = PgDatabase::Open(WithDatabase(admin, name), 2);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto exec = [](SqlTransaction& tx, const std::string& sql) {
      auto r = tx.Exec(sql, {});
      EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
      return r.ok() ? *r : SqlResult{};
    };
    auto count = [&]() {
      auto tx = (*db)->Begin(false);
      EXPECT_TRUE(tx.ok());
      return exec(**tx, "SELECT COUNT(*) FROM lazy").rows.at(0).Int(0);
    };
    {
      auto tx = (*db)->Begin(true);
      ASSERT_TRUE(tx.ok());
      exec(**tx, "CREATE TABLE lazy (x BIGINT PRIMARY KEY)");
      ASSERT_TRUE((*tx)->Commit().ok());
    }
    // Reads, then writes, then no commit: nothing stays.
    {
      auto tx = (*db)->Begin(false);
      ASSERT_TRUE(tx.ok());
      EXPECT_EQ(exec(**tx, "SELECT COUNT(*) FROM lazy").rows.at(0).Int(0), 0);
      exec(**tx, "INSERT INTO lazy VALUES (1)");
      EXPECT_EQ(exec(**tx, "SELECT COUNT(*) FROM lazy").rows.at(0).Int(0), 1);  // sees its write
      EXPECT_EQ(count(), 0);  // nobody else does yet
    }
    EXPECT_EQ(count(), 0);
    // The same committed: both rows of the transaction stay.
    {
      auto tx = (*db)->Begin(true);
      ASSERT_TRUE(tx.ok());
      exec(**tx, "SELECT 1");
      exec(**tx, "INSERT INTO lazy VALUES (1)");
      exec(**tx, "INSERT INTO lazy VALUES (2)");
      ASSERT_TRUE((*tx)->Commit().ok());
    }
    EXPECT_EQ(count(), 2);
    // A failed write aborts the whole transaction (the first insert goes too).
    {
      auto tx = (*db)->Begin(true);
      ASSERT_TRUE(tx.ok());
      exec(**tx, "INSERT INTO lazy VALUES (3)");
      auto dup = (*tx)->Exec("INSERT INTO lazy VALUES (1)", {});
      EXPECT_EQ(dup.status().code(), Code::kConflict);
    }
    EXPECT_EQ(count(), 2);
    // A locking read is part of the transaction: the row stays locked until
    // the end, so another session's NOWAIT lock fails meanwhile.
    {
      auto tx = (*db)->Begin(true);
      ASSERT_TRUE(tx.ok());
      exec(**tx, "SELECT x FROM lazy WHERE x = 1 FOR UPDATE");
      auto other = (*db)->Begin(true);
      ASSERT_TRUE(other.ok());
      auto blocked = (*other)->Exec("SELECT x FROM lazy WHERE x = 1 FOR UPDATE NOWAIT", {});
      EXPECT_FALSE(blocked.ok());
    }
  }
  EXPECT_TRUE(PgExec(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace berth
