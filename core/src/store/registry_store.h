// RegistryStore: repositories, blobs, artifacts (manifests), tags, references
// and upload sessions in the metadata database.
#ifndef BERTH_STORE_REGISTRY_STORE_H_
#define BERTH_STORE_REGISTRY_STORE_H_

#include <cstdint>
#include <functional>
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

// Checks, inside the transaction and under the digest's lock, that the
// content is in storage (garbage collection may have just removed it).
using ContentCheck = std::function<Status()>;

// Thread-safe (each call is its own transaction).
class RegistryStore {
 public:
  explicit RegistryStore(SqlDatabase& db) : db_(db) {}

  // A link older than this is refreshed when a client looks at it, so that
  // garbage collection (which spares links seen within its time window)
  // leaves alone a blob a push in progress has just found. 0: never.
  void set_link_refresh_ms(int64_t ms) { link_refresh_ms_ = ms; }

  StatusOr<std::optional<RepositoryRecord>> GetRepository(std::string_view name);
  StatusOr<NamePage> ListRepositories(std::string_view last, int64_t limit);

  // The blob's size when it is linked into the repository (and not being
  // garbage collected); refreshes a stale link (see set_link_refresh_ms).
  StatusOr<std::optional<int64_t>> GetLinkedBlobSize(std::string_view repo,
                                                     std::string_view digest);
  // Records the blob and links it into the repository (creating the
  // repository). `present` must confirm the bytes are stored.
  Status LinkBlob(std::string_view repo, std::string_view digest, int64_t size,
                  const ContentCheck& present = nullptr);
  // kNotFound when the blob was not linked.
  Status UnlinkBlob(std::string_view repo, std::string_view digest);

  Status CreateUpload(const UploadRecord& upload);
  StatusOr<std::optional<UploadRecord>> GetUpload(std::string_view uuid);
  Status DeleteUpload(std::string_view uuid);
  StatusOr<std::vector<UploadRecord>> ListUploadsStartedBefore(int64_t unix_millis);

  // Stores a manifest's metadata and moves its tag, atomically. Fails with
  // MANIFEST_BLOB_UNKNOWN when a blob or child is missing from the repository.
  // `manifest_present` confirms the manifest's bytes are stored.
  StatusOr<ArtifactRecord> PutManifest(const NewManifest& m,
                                       const ContentCheck& manifest_present = nullptr);
  StatusOr<std::optional<ArtifactRecord>> GetArtifactByDigest(std::string_view repo,
                                                              std::string_view digest);
  StatusOr<std::optional<ArtifactRecord>> GetArtifactByTag(std::string_view repo,
                                                           std::string_view tag);
  // kNotFound when the tag does not exist.
  Status DeleteTag(std::string_view repo, std::string_view tag);
  // Deletes the artifact and its tags; children no longer tagged or referenced
  // go with it. kPreconditionFailed when an index in the repository uses it.
  Status DeleteArtifact(std::string_view repo, std::string_view digest);
  // Garbage collection of untagged artifacts: deletes it (as DeleteArtifact
  // does) only if it is still untagged, not part of an index, and last
  // pushed before the cutoff. False when it was kept.
  StatusOr<bool> DeleteArtifactIfUntagged(int64_t artifact_id, int64_t pushed_before);
  StatusOr<NamePage> ListTags(std::string_view repo, std::string_view last, int64_t limit);
  // Artifacts whose subject is `digest`, optionally of one artifact type.
  StatusOr<std::vector<ArtifactRecord>> ListReferrers(std::string_view repo,
                                                      std::string_view digest,
                                                      std::string_view artifact_type);

 private:
  SqlDatabase& db_;
  int64_t link_refresh_ms_ = 0;
};

}  // namespace berth

#endif  // BERTH_STORE_REGISTRY_STORE_H_
