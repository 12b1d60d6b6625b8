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
#include "store/tag_guard.h"

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
  std::string type;            // Harbor's: IMAGE, CHART, ... (registry/artifact_kind.h)
  std::string extra_attrs_json;
  std::string accessory_of;    // the subject's digest; "" when not an accessory
  std::string accessory_type;
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
  std::string type;                     // as in ArtifactRecord
  std::string extra_attrs_json;
  std::string accessory_of;
  std::string accessory_type;
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

// Writes a blob's or manifest's bytes to storage. In a project with a storage
// limit it runs inside the accounting transaction, after the quota admitted
// the push and before the metadata commits, so refused content is never
// stored; elsewhere it runs before the transaction (content first, metadata
// second). It may run twice when the transaction is retried.
using ContentCommit = std::function<Status()>;

// Thread-safe (each call is its own transaction).
//
// Storage quotas: every call that changes what a project references (LinkBlob,
// UnlinkBlob, PutManifest, DeleteArtifact, DeleteRepository) keeps the
// project's usage exact in the same transaction (store/storage_accounting.h);
// the pushing ones refuse with 403 DENIED when the project would go over its
// limit, and then write nothing.
class RegistryStore {
 public:
  explicit RegistryStore(SqlDatabase& db) : db_(db) {}

  // A link older than this is refreshed when a client looks at it, so that
  // garbage collection (which spares links seen within its time window)
  // leaves alone a blob a push in progress has just found. 0: never.
  void set_link_refresh_ms(int64_t ms) { link_refresh_ms_ = ms; }
  // Run inside PutManifest (a tag moving to another artifact), DeleteTag,
  // DeleteArtifact (the artifact's and its accessories' tags) and
  // DeleteRepository (every tag); a refusal leaves everything unchanged.
  // Garbage collection of untagged artifacts is not guarded.
  void set_tag_guard(TagGuard guard) { tag_guard_ = std::move(guard); }

  StatusOr<std::optional<RepositoryRecord>> GetRepository(std::string_view name);
  StatusOr<NamePage> ListRepositories(std::string_view last, int64_t limit);

  // The blob's size when it is linked into the repository (and not being
  // garbage collected); refreshes a stale link (see set_link_refresh_ms).
  StatusOr<std::optional<int64_t>> GetLinkedBlobSize(std::string_view repo,
                                                     std::string_view digest);
  // Records the blob and links it into the repository (creating the
  // repository). The blob counts against the project's quota until a manifest
  // of the repository claims it (then as long as an artifact uses it), it is
  // unlinked, or it is released as stale (QuotaStore::ReleaseStalePending).
  // `present` confirms the bytes are stored, under the digest's lock (after
  // `commit` wrote them).
  Status LinkBlob(std::string_view repo, std::string_view digest, int64_t size,
                  const ContentCommit& commit = nullptr, const ContentCheck& present = nullptr);
  // kNotFound when the blob was not linked. Releases its quota charge unless
  // an artifact of the project still uses it.
  Status UnlinkBlob(std::string_view repo, std::string_view digest);

  Status CreateUpload(const UploadRecord& upload);
  StatusOr<std::optional<UploadRecord>> GetUpload(std::string_view uuid);
  Status DeleteUpload(std::string_view uuid);
  StatusOr<std::vector<UploadRecord>> ListUploadsStartedBefore(int64_t unix_millis);

  // Stores a manifest's metadata and moves its tag, atomically. Fails with
  // MANIFEST_BLOB_UNKNOWN when a blob or child is missing from the repository.
  // Charges the manifest and claims the repository's pending blobs it uses.
  // `manifest_present` confirms the manifest's bytes are stored (under the
  // digest's lock, after `commit` wrote them).
  StatusOr<ArtifactRecord> PutManifest(const NewManifest& m, const ContentCommit& commit = nullptr,
                                       const ContentCheck& manifest_present = nullptr);
  StatusOr<std::optional<ArtifactRecord>> GetArtifactByDigest(std::string_view repo,
                                                              std::string_view digest);
  StatusOr<std::optional<ArtifactRecord>> GetArtifactByTag(std::string_view repo,
                                                           std::string_view tag);
  // kNotFound when the tag does not exist.
  Status DeleteTag(std::string_view repo, std::string_view tag);
  // Deletes the artifact, its tags and its accessories; children no longer
  // tagged or referenced go with it. kPreconditionFailed when an index in the repository uses it.
  // Gives back the quota of every blob no other artifact of the project uses.
  Status DeleteArtifact(std::string_view repo, std::string_view digest);
  // Garbage collection of untagged artifacts: deletes it (as DeleteArtifact
  // does) only if it is still untagged, not part of an index, and last
  // pushed before the cutoff. False when it was kept.
  StatusOr<bool> DeleteArtifactIfUntagged(int64_t artifact_id, int64_t pushed_before);
  // Deletes the repository with its artifacts, tags and blob links, and gives
  // back the quota of what nothing else in the project uses. kNotFound
  // (NAME_UNKNOWN) when it does not exist.
  Status DeleteRepository(std::string_view repo);
  StatusOr<NamePage> ListTags(std::string_view repo, std::string_view last, int64_t limit);
  // Artifacts whose subject is `digest`, optionally of one artifact type;
  // empty (not NAME_UNKNOWN) for a repository with nothing pushed yet.
  StatusOr<std::vector<ArtifactRecord>> ListReferrers(std::string_view repo,
                                                      std::string_view digest,
                                                      std::string_view artifact_type);

 private:
  // Whether pushes into the repository's project are checked against a limit.
  StatusOr<bool> HasStorageLimit(std::string_view repo);
  SqlDatabase& db_;
  int64_t link_refresh_ms_ = 0;
  TagGuard tag_guard_;
};

}  // namespace berth

#endif  // BERTH_STORE_REGISTRY_STORE_H_
