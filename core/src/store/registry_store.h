// RegistryStore: repositories, blobs, artifacts (manifests), tags, references
// and upload sessions in the metadata database.
#ifndef BERTH_STORE_REGISTRY_STORE_H_
#define BERTH_STORE_REGISTRY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.h"

namespace berth {

struct RepositoryRecord {
  int64_t id = 0;
  std::string name;
  int64_t created_at = 0;  // unix millis
  int64_t updated_at = 0;
};

struct ArtifactRecord {
  int64_t id = 0;
  int64_t repository_id = 0;
  std::string digest;
  std::string media_type;
  std::string artifact_type;
  int64_t manifest_size = 0;  // bytes of the manifest itself
  int64_t size = 0;           // manifest + referenced blobs / children
  std::string subject_digest; // "" when none
  std::string annotations_json;
  int64_t push_time = 0;
  int64_t pull_time = 0;
};

struct ManifestChild {
  std::string digest;
  std::string platform_json;
};

struct NewManifest {
  std::string repository;
  std::string digest;
  std::string media_type;
  std::string artifact_type;
  int64_t manifest_size = 0;
  std::string subject_digest;
  std::string annotations_json;
  std::vector<std::string> blobs;       // must be linked in the repository
  std::vector<ManifestChild> children;  // must be artifacts of the repository
  std::string tag;                      // "" when pushed by digest
};

struct UploadRecord {
  std::string uuid;
  std::string repository;
  int64_t started_at = 0;
};

// A page of names after `last` (exclusive), plus whether more follow.
struct NamePage {
  std::vector<std::string> names;
  bool more = false;
};

// Thread-safe (each call is its own transaction).
class RegistryStore {
 public:
  explicit RegistryStore(SqlDatabase& db) : db_(db) {}

  StatusOr<std::optional<RepositoryRecord>> GetRepository(std::string_view name);
  StatusOr<NamePage> ListRepositories(std::string_view last, int64_t limit);

  // The blob's size when it is linked into the repository.
  StatusOr<std::optional<int64_t>> GetLinkedBlobSize(std::string_view repo,
                                                     std::string_view digest);
  // Records the blob and links it into the repository (creating the repository).
  Status LinkBlob(std::string_view repo, std::string_view digest, int64_t size);
  // kNotFound when the blob was not linked.
  Status UnlinkBlob(std::string_view repo, std::string_view digest);

  Status CreateUpload(const UploadRecord& upload);
  StatusOr<std::optional<UploadRecord>> GetUpload(std::string_view uuid);
  Status DeleteUpload(std::string_view uuid);
  StatusOr<std::vector<UploadRecord>> ListUploadsStartedBefore(int64_t unix_millis);

  // Stores a manifest's metadata and moves its tag, atomically. Fails with
  // MANIFEST_BLOB_UNKNOWN when a blob or child is missing from the repository.
  StatusOr<ArtifactRecord> PutManifest(const NewManifest& m);
  StatusOr<std::optional<ArtifactRecord>> GetArtifactByDigest(std::string_view repo,
                                                              std::string_view digest);
  StatusOr<std::optional<ArtifactRecord>> GetArtifactByTag(std::string_view repo,
                                                           std::string_view tag);
  // kNotFound when the tag does not exist.
  Status DeleteTag(std::string_view repo, std::string_view tag);
  // Deletes the artifact and its tags; children no longer tagged or referenced
  // go with it. kPreconditionFailed when an index in the repository uses it.
  Status DeleteArtifact(std::string_view repo, std::string_view digest);
  StatusOr<NamePage> ListTags(std::string_view repo, std::string_view last, int64_t limit);
  // Artifacts whose subject is `digest`, optionally of one artifact type;
  // empty (not NAME_UNKNOWN) for a repository with nothing pushed yet.
  StatusOr<std::vector<ArtifactRecord>> ListReferrers(std::string_view repo,
                                                      std::string_view digest,
                                                      std::string_view artifact_type);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_REGISTRY_STORE_H_
