// ArtifactController: Harbor's artifact resources — list and get with their
// tags, references and accessories, delete, copy between repositories, tags
// and accessories — with the RBAC of each operation. Pushes and pulls stay
// with the registry's ManifestController, which this one uses for writes so
// that events, audit and quotas see the same thing.
#ifndef BERTH_ARTIFACT_ARTIFACT_CONTROLLER_H_
#define BERTH_ARTIFACT_ARTIFACT_CONTROLLER_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "artifact/repository_controller.h"
#include "blob/blob_store.h"
#include "label/label_controller.h"
#include "registry/artifact_additions.h"
#include "registry/manifest_controller.h"
#include "store/artifact_store.h"
#include "store/label_store.h"

namespace berth {

// An artifact named by a request: its project, repository and row.
struct ArtifactTarget {
  ProjectRecord project;
  RepositoryInfo repository;
  ArtifactRecord artifact;
};

struct ArtifactViewOptions {
  bool with_tag = true;
  bool with_label = false;
  bool with_accessory = false;
  bool with_immutable_status = false;
};

// An artifact with what the list asked for.
struct ArtifactView {
  ArtifactRecord artifact;
  std::vector<TagRecord> tags;
  std::vector<ReferenceRecord> references;
  std::vector<ArtifactRecord> accessories;
  std::vector<LabelRecord> labels;
  std::set<std::string> immutable_tags;  // with_immutable_status: which tags a rule protects
};

class ImmutableController;

class ArtifactController {
 public:
  ArtifactController(ProjectController& projects, ArtifactStore& artifacts,
                     RegistryStore& registry, ManifestController& manifests, BlobStore& blobs,
                     LabelStore& label_store, LabelController& labels, AuditLog& audit)
      : projects_(projects),
        artifacts_(artifacts),
        registry_(registry),
        manifests_(manifests),
        blobs_(blobs),
        label_store_(label_store),
        labels_(labels),
        audit_(audit) {}

  // Immutable tag rules, for with_immutable_status (unset: no tag is).
  void set_immutability(ImmutableController* immutable) { immutable_ = immutable; }

  // The artifact `reference` (a digest or a tag) names, once `who` may do
  // `action` on `resource` of the project. 404 NOT_FOUND when missing.
  StatusOr<ArtifactTarget> Resolve(const Identity& who, const ProjectRecord& p,
                                   const std::string& repo_param, const std::string& reference,
                                   const std::string& resource, const std::string& action);

  StatusOr<Page<ArtifactView>> List(const Identity& who, const ProjectRecord& p,
                                    const std::string& repo_param, const ListQuery& q,
                                    const ArtifactViewOptions& opts, RepositoryInfo* repo);
  // Harbor's listArtifactsOfProject: the top-level artifacts of every
  // repository of the project (ArtifactStore::ListProjectArtifacts), each
  // with its repository in `repos` (by repository id).
  StatusOr<Page<ArtifactView>> ListOfProject(const Identity& who, const ProjectRecord& p,
                                             const ListQuery& q, const ArtifactViewOptions& opts,
                                             bool latest_in_repository,
                                             std::map<int64_t, RepositoryInfo>* repos);
  StatusOr<ArtifactView> View(const ArtifactTarget& t, const ArtifactViewOptions& opts);
  Status Delete(const Identity& who, const ArtifactTarget& t);
  // Copies "project/repo@digest" or "project/repo:tag" (with its children,
  // tags and accessories) into the repository; blobs are linked, not copied.
  StatusOr<std::string> Copy(const Identity& who, const ProjectRecord& p,
                             const std::string& repo_param, const std::string& from);

  StatusOr<Page<TagRecord>> Tags(const ArtifactTarget& t, const ListQuery& q);
  // Which of the artifact's `tags` an enabled immutable tag rule protects.
  StatusOr<std::set<std::string>> ImmutableTags(const ArtifactTarget& t,
                                                const std::vector<TagRecord>& tags);
  StatusOr<TagRecord> CreateTag(const Identity& who, const ArtifactTarget& t,
                                const std::string& name);
  Status DeleteTag(const Identity& who, const ArtifactTarget& t, const std::string& name);
  StatusOr<Page<ArtifactRecord>> Accessories(const ArtifactTarget& t, const ListQuery& q);
  // Harbor's additions (build_history, values.yaml, readme.md,
  // dependencies); 404 for a type without that addition.
  StatusOr<Addition> GetAddition(const ArtifactTarget& t, const std::string& name);
  // 409 when attached already; 400 for another project's label.
  Status AddLabel(const Identity& who, const ArtifactTarget& t, int64_t label_id);
  // Told after a label is attached (Harbor's ArtifactLabeledEvent: P2P
  // preheat's event-based policies listen).
  using LabeledFn = std::function<void(const std::string& repository, const std::string& digest)>;
  void set_on_labeled(LabeledFn fn) { on_labeled_ = std::move(fn); }
  // 404 when the label is not on the artifact.
  Status RemoveLabel(const Identity& who, const ArtifactTarget& t, int64_t label_id);

 private:
  Status Fill(const RepositoryInfo& repo, const ArtifactViewOptions& opts,
              std::vector<ArtifactView>* views);
  StatusOr<std::set<std::string>> ImmutableOf(const RepositoryInfo& repo,
                                              const std::vector<TagRecord>& tags);
  Status CopyDeep(const std::string& from_repo, const std::string& to_repo,
                  const ArtifactRecord& a, const Actor& actor, int depth);

  ProjectController& projects_;
  ArtifactStore& artifacts_;
  RegistryStore& registry_;
  ManifestController& manifests_;
  BlobStore& blobs_;
  LabelStore& label_store_;
  LabelController& labels_;
  AuditLog& audit_;
  ImmutableController* immutable_ = nullptr;
  LabeledFn on_labeled_;
};

}  // namespace berth

#endif  // BERTH_ARTIFACT_ARTIFACT_CONTROLLER_H_
