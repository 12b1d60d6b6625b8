// ArtifactStore: Harbor's view of what the registry holds — repositories
// with their counts, artifact lists with tags, references and accessories,
// tags as resources, pull times, search and statistics. The /v2 protocol's
// reads and every write that changes content stay in RegistryStore.
#ifndef BERTH_STORE_ARTIFACT_STORE_H_
#define BERTH_STORE_ARTIFACT_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/list_query.h"
#include "store/project_store.h"
#include "store/registry_store.h"
#include "store/sql.h"
#include "store/tag_guard.h"

namespace berth {

struct RepositoryInfo {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string name;
  std::string description;
  int64_t artifact_count = 0;  // top-level artifacts (not accessories, not index children)
  int64_t pull_count = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct TagRecord {
  int64_t id = 0;
  int64_t repository_id = 0;
  int64_t artifact_id = 0;
  std::string name;
  int64_t push_time = 0;
  int64_t pull_time = 0;
};

struct ReferenceRecord {
  int64_t parent_id = 0;
  int64_t child_id = 0;
  std::string child_digest;
  std::string platform_json;  // "" when the index gave none
};

// A counted pull, applied later in a batch (see PullRecorder).
struct PullRecord {
  std::string repository;
  std::string digest;
  std::string tag;  // "" when pulled by digest
  int64_t time = 0;   // the latest pull (unix millis)
  int64_t count = 0;  // pulls merged into this record
};

struct SearchRepositoryRow {
  int64_t project_id = 0;
  std::string project_name;
  bool project_public = false;
  std::string repository_name;
  int64_t pull_count = 0;
  int64_t artifact_count = 0;
};

struct RegistryStatistics {
  int64_t public_projects = 0;
  int64_t private_projects = 0;
  int64_t public_repositories = 0;
  int64_t private_repositories = 0;
  int64_t total_projects = 0;
  int64_t total_repositories = 0;
  int64_t total_storage = 0;  // bytes the projects' quotas count
};

// Thread-safe (each call is its own transaction).
class ArtifactStore {
 public:
  explicit ArtifactStore(SqlDatabase& db) : db_(db) {}

  // Run inside DeleteTag; a refusal keeps the tag.
  void set_tag_guard(TagGuard guard) { tag_guard_ = std::move(guard); }

  // Repositories of one project (project_id > 0), or of every project `who`
  // may see. q keys: name, project_id; sort: name, creation_time,
  // update_time, pull_count.
  StatusOr<Page<RepositoryInfo>> ListRepositories(const ListQuery& q, int64_t project_id,
                                                  const ProjectVisibility& who);
  StatusOr<std::optional<RepositoryInfo>> GetRepository(std::string_view name);
  // kNotFound when the repository does not exist.
  Status SetRepositoryDescription(std::string_view name, std::string_view description);

  // Top-level artifacts of the repository, newest push first. q keys: type,
  // media_type, digest, tags (nil, *, exact, fuzzy), labels (label ids);
  // sort: push_time, pull_time, size, digest, type, id. Pages through the
  // listing index (ids first, rows second), so a late page costs an index
  // walk, not a fetch of every row before it.
  StatusOr<Page<ArtifactRecord>> ListArtifacts(int64_t repository_id, const ListQuery& q);
  // Top-level artifacts of every repository of the project, with the same q
  // keys and sort. `latest_in_repository`: only each repository's newest
  // among those the media_type/artifact_type terms select (Harbor applies it
  // only when one of them is in q; the caller decides).
  StatusOr<Page<ArtifactRecord>> ListProjectArtifacts(int64_t project_id, const ListQuery& q,
                                                      bool latest_in_repository);
  // Accessories of `subject` (a digest) in the repository.
  StatusOr<Page<ArtifactRecord>> ListAccessories(int64_t repository_id, std::string_view subject,
                                                 const ListQuery& q);
  // One query each, for a page of artifacts.
  StatusOr<std::map<int64_t, std::vector<TagRecord>>> TagsOf(const std::vector<int64_t>& ids);
  StatusOr<std::map<int64_t, std::vector<ReferenceRecord>>> ReferencesOf(
      const std::vector<int64_t>& ids);
  StatusOr<std::map<std::string, std::vector<ArtifactRecord>>> AccessoriesOf(
      int64_t repository_id, const std::vector<std::string>& digests);

  // Tags of one artifact. q keys: name, id; sort: name, push_time, pull_time, id.
  StatusOr<Page<TagRecord>> ListTags(int64_t artifact_id, const ListQuery& q);
  // kConflict when the repository has the tag already (on any artifact).
  StatusOr<TagRecord> CreateTag(int64_t artifact_id, std::string_view name);
  // kNotFound unless the tag exists and is the artifact's.
  Status DeleteTag(int64_t artifact_id, std::string_view name);

  // Applies pulls: artifact and tag pull times (never moved back) and the
  // repositories' pull counts, in one transaction. Pulls of artifacts deleted
  // meanwhile are dropped.
  Status RecordPulls(const std::vector<PullRecord>& pulls);

  // Repositories whose name contains `fragment`, in projects `who` sees.
  StatusOr<std::vector<SearchRepositoryRow>> SearchRepositories(std::string_view fragment,
                                                               const ProjectVisibility& who,
                                                               int64_t limit);
  // Counts over the projects `who` sees; the totals always cover everything
  // (the caller decides who may read them).
  StatusOr<RegistryStatistics> Statistics(const ProjectVisibility& who);

 private:
  SqlDatabase& db_;
  TagGuard tag_guard_;
};

}  // namespace berth

#endif  // BERTH_STORE_ARTIFACT_STORE_H_
