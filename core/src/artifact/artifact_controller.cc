#include "artifact/artifact_controller.h"

#include "policy/immutable_controller.h"
#include "registry/manifest.h"
#include "registry/reference.h"

namespace berth {

namespace {

Status ArtifactNotFound(const std::string& what) {
  return Status::NotFound("artifact " + what + " not found", "NOT_FOUND");
}

// A chart layer or image config read for an addition.
constexpr int64_t kMaxAdditionBlobBytes = 20 << 20;

// Indexes of indexes are legal; a copy deeper than this is not a real one.
constexpr int kMaxCopyDepth = 4;

ManifestReference DigestRef(const std::string& digest) {
  ManifestReference r;
  r.is_digest = true;
  auto d = Digest::Parse(digest);
  if (d.ok()) r.digest = *d;
  return r;
}

ManifestReference TagRef(const std::string& tag) {
  ManifestReference r;
  r.tag = tag;
  return r;
}

std::vector<int64_t> IdsOf(const std::vector<ArtifactView>& views) {
  std::vector<int64_t> ids;
  for (const auto& v : views) ids.push_back(v.artifact.id);
  return ids;
}

}  // namespace

StatusOr<ArtifactTarget> ArtifactController::Resolve(const Identity& who, const ProjectRecord& p,
                                                     const std::string& repo_param,
                                                     const std::string& reference,
                                                     const std::string& resource,
                                                     const std::string& action) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, resource, action));
  BERTH_ASSIGN_OR_RETURN(std::string name, RepositoryController::FullName(p, repo_param));
  auto ref = ParseManifestReference(reference);
  if (!ref.ok()) return Status::InvalidArgument(ref.status().message(), "BAD_REQUEST");
  BERTH_ASSIGN_OR_RETURN(auto repo, artifacts_.GetRepository(name));
  if (!repo) return Status::NotFound("repository " + name + " not found", "NOT_FOUND");
  std::optional<ArtifactRecord> a;
  if (ref->is_digest) {
    BERTH_ASSIGN_OR_RETURN(a, registry_.GetArtifactByDigest(name, ref->digest.ToString()));
  } else {
    BERTH_ASSIGN_OR_RETURN(a, registry_.GetArtifactByTag(name, ref->tag));
  }
  if (!a) return ArtifactNotFound(name + (ref->is_digest ? "@" : ":") + reference);
  return ArtifactTarget{p, std::move(*repo), std::move(*a)};
}

StatusOr<std::set<std::string>> ArtifactController::ImmutableOf(
    const RepositoryInfo& repo, const std::vector<TagRecord>& tags) {
  std::set<std::string> out;
  if (immutable_ == nullptr || tags.empty()) return out;
  std::vector<std::string> names;
  for (const auto& t : tags) names.push_back(t.name);
  BERTH_ASSIGN_OR_RETURN(auto matched, immutable_->ImmutableTags(repo.project_id, repo.name, names));
  for (const auto& [name, rule] : matched) out.insert(name);
  return out;
}

Status ArtifactController::Fill(const RepositoryInfo& repo, const ArtifactViewOptions& opts,
                                std::vector<ArtifactView>* views) {
  int64_t repository_id = repo.id;
  std::vector<int64_t> ids = IdsOf(*views);
  if (opts.with_tag) {
    BERTH_ASSIGN_OR_RETURN(auto tags, artifacts_.TagsOf(ids));
    for (auto& v : *views) v.tags = std::move(tags[v.artifact.id]);
  }
  if (opts.with_tag && opts.with_immutable_status) {
    // One read of the rules for the whole page.
    std::vector<TagRecord> all;
    for (const auto& v : *views) all.insert(all.end(), v.tags.begin(), v.tags.end());
    BERTH_ASSIGN_OR_RETURN(auto immutable, ImmutableOf(repo, all));
    for (auto& v : *views) {
      for (const auto& t : v.tags) {
        if (immutable.count(t.name) != 0) v.immutable_tags.insert(t.name);
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto refs, artifacts_.ReferencesOf(ids));
  for (auto& v : *views) v.references = std::move(refs[v.artifact.id]);
  if (opts.with_accessory) {
    std::vector<std::string> digests;
    for (const auto& v : *views) digests.push_back(v.artifact.digest);
    BERTH_ASSIGN_OR_RETURN(auto acc, artifacts_.AccessoriesOf(repository_id, digests));
    for (auto& v : *views) v.accessories = std::move(acc[v.artifact.digest]);
  }
  if (opts.with_label) {
    BERTH_ASSIGN_OR_RETURN(auto labels, label_store_.LabelsOfArtifacts(ids));
    for (auto& v : *views) v.labels = std::move(labels[v.artifact.id]);
  }
  return {};
}

StatusOr<Page<ArtifactView>> ArtifactController::List(const Identity& who, const ProjectRecord& p,
                                                      const std::string& repo_param,
                                                      const ListQuery& q,
                                                      const ArtifactViewOptions& opts,
                                                      RepositoryInfo* repo) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "artifact", "list"));
  BERTH_ASSIGN_OR_RETURN(std::string name, RepositoryController::FullName(p, repo_param));
  BERTH_ASSIGN_OR_RETURN(auto r, artifacts_.GetRepository(name));
  if (!r) return Status::NotFound("repository " + name + " not found", "NOT_FOUND");
  *repo = *r;
  BERTH_ASSIGN_OR_RETURN(auto page, artifacts_.ListArtifacts(r->id, q));
  Page<ArtifactView> out{{}, page.total};
  for (auto& a : page.items) out.items.push_back({std::move(a), {}, {}, {}, {}, {}});
  BERTH_RETURN_IF_ERROR(Fill(*r, opts, &out.items));
  return out;
}

StatusOr<Page<ArtifactView>> ArtifactController::ListOfProject(
    const Identity& who, const ProjectRecord& p, const ListQuery& q,
    const ArtifactViewOptions& opts, bool latest_in_repository,
    std::map<int64_t, RepositoryInfo>* repos) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "artifact", "list"));
  BERTH_ASSIGN_OR_RETURN(auto page, artifacts_.ListProjectArtifacts(p.project_id, q, latest_in_repository));
  Page<ArtifactView> out{{}, page.total};
  // The page's repositories, one query; then each repository's artifacts
  // filled together (tags, accessories, immutability are per repository).
  std::map<int64_t, std::vector<size_t>> by_repo;
  for (auto& a : page.items) {
    by_repo[a.repository_id].push_back(out.items.size());
    out.items.push_back({std::move(a), {}, {}, {}, {}, {}});
  }
  if (by_repo.empty()) return out;
  ListQuery rq;
  rq.page_size = static_cast<int64_t>(by_repo.size());
  QueryTerm ids{"id", QueryTerm::Op::kAnyOf, {}};
  for (const auto& [id, _] : by_repo) ids.values.push_back(std::to_string(id));
  rq.terms.push_back(std::move(ids));
  BERTH_ASSIGN_OR_RETURN(auto found, artifacts_.ListRepositories(rq, p.project_id, {}));
  for (auto& r : found.items) repos->emplace(r.id, std::move(r));
  for (const auto& [id, positions] : by_repo) {
    auto repo = repos->find(id);
    // Deleted between the two reads: its artifacts went with it.
    if (repo == repos->end()) continue;
    std::vector<ArtifactView> group;
    for (size_t i : positions) group.push_back(std::move(out.items[i]));
    BERTH_RETURN_IF_ERROR(Fill(repo->second, opts, &group));
    for (size_t k = 0; k < positions.size(); ++k) out.items[positions[k]] = std::move(group[k]);
  }
  std::erase_if(out.items, [repos](const ArtifactView& v) {
    return repos->count(v.artifact.repository_id) == 0;
  });
  return out;
}

StatusOr<ArtifactView> ArtifactController::View(const ArtifactTarget& t,
                                                const ArtifactViewOptions& opts) {
  std::vector<ArtifactView> one = {{t.artifact, {}, {}, {}, {}, {}}};
  BERTH_RETURN_IF_ERROR(Fill(t.repository, opts, &one));
  return std::move(one[0]);
}

Status ArtifactController::Delete(const Identity& who, const ArtifactTarget& t) {
  Status s = manifests_.Delete(t.repository.name, DigestRef(t.artifact.digest),
                               Actor{who.username, ""});
  if (s.code() == Code::kNotFound) return ArtifactNotFound(t.artifact.digest);
  if (s.code() == Code::kPreconditionFailed) {
    return Status(Code::kPreconditionFailed, s.message(), "PRECONDITION");
  }
  return s;
}

StatusOr<std::string> ArtifactController::Copy(const Identity& who, const ProjectRecord& p,
                                               const std::string& repo_param,
                                               const std::string& from) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "artifact", "create"));
  BERTH_ASSIGN_OR_RETURN(std::string to_repo, RepositoryController::FullName(p, repo_param));
  // "project/repo@digest" or "project/repo:tag".
  std::string src_repo, reference;
  size_t at = from.find('@');
  size_t colon = from.rfind(':');
  size_t slash = from.rfind('/');
  if (at != std::string::npos) {
    src_repo = from.substr(0, at);
    reference = from.substr(at + 1);
  } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    src_repo = from.substr(0, colon);
    reference = from.substr(colon + 1);
  } else {
    return Status::InvalidArgument("from must be project/repository@digest or project/repository:tag",
                                   "BAD_REQUEST");
  }
  size_t first = src_repo.find('/');
  if (first == std::string::npos || first == 0) {
    return Status::InvalidArgument("from must name a repository inside a project", "BAD_REQUEST");
  }
  BERTH_ASSIGN_OR_RETURN(ProjectRecord src_project, projects_.Resolve(src_repo.substr(0, first), true));
  BERTH_ASSIGN_OR_RETURN(ArtifactTarget src,
                         Resolve(who, src_project, src_repo.substr(first + 1), reference,
                                 "repository", "pull"));
  if (src.repository.name == to_repo) {
    return Status::InvalidArgument("the source and the destination are the same repository",
                                   "BAD_REQUEST");
  }
  Actor actor{who.username, ""};
  BERTH_RETURN_IF_ERROR(CopyDeep(src.repository.name, to_repo, src.artifact, actor, 0));
  return src.artifact.digest;
}

Status ArtifactController::CopyDeep(const std::string& from_repo, const std::string& to_repo,
                                    const ArtifactRecord& a, const Actor& actor, int depth) {
  if (depth > kMaxCopyDepth) {
    return Status::InvalidArgument("artifact nests indexes too deeply to copy", "BAD_REQUEST");
  }
  BERTH_ASSIGN_OR_RETURN(auto content, manifests_.Get(from_repo, DigestRef(a.digest), {}));
  const std::string& body = *content.body;
  BERTH_ASSIGN_OR_RETURN(ParsedManifest parsed, ParseManifest(body, a.media_type));
  for (const auto& child : parsed.manifests) {
    BERTH_ASSIGN_OR_RETURN(auto c, registry_.GetArtifactByDigest(from_repo, child.digest.ToString()));
    if (!c) return ArtifactNotFound(from_repo + "@" + child.digest.ToString());
    BERTH_RETURN_IF_ERROR(CopyDeep(from_repo, to_repo, *c, actor, depth + 1));
  }
  // Mount: the destination links the blobs the source holds; no bytes move.
  for (const auto& d : parsed.RequiredBlobs()) {
    BERTH_ASSIGN_OR_RETURN(auto size, registry_.GetLinkedBlobSize(from_repo, d));
    if (!size) return Status::NotFound("blob " + d + " of the source is missing", "NOT_FOUND");
    BERTH_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d));
    BERTH_RETURN_IF_ERROR(registry_.LinkBlob(to_repo, d, *size, nullptr, [this, digest] {
      return blobs_.CheckPresent(digest, "BLOB_UNKNOWN");
    }));
  }
  // Tags (the root's and its accessories'; an index's children keep none):
  // pushing with the first tag lets a cosign tag-scheme signature be
  // recognised as one, as it was in the source.
  std::vector<std::string> tags;
  if (depth == 0 || !a.accessory_of.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto by_artifact, artifacts_.TagsOf({a.id}));
    for (const auto& t : by_artifact[a.id]) tags.push_back(t.name);
  }
  if (tags.empty()) {
    BERTH_RETURN_IF_ERROR(manifests_.Put(to_repo, DigestRef(a.digest), body, a.media_type, actor).status());
  }
  for (const auto& t : tags) {
    BERTH_RETURN_IF_ERROR(manifests_.Put(to_repo, TagRef(t), body, a.media_type, actor).status());
  }
  // Accessories follow their subject.
  BERTH_ASSIGN_OR_RETURN(auto src_repo, artifacts_.GetRepository(from_repo));
  if (!src_repo) return Status::NotFound("repository " + from_repo + " not found", "NOT_FOUND");
  BERTH_ASSIGN_OR_RETURN(auto acc, artifacts_.AccessoriesOf(src_repo->id, {a.digest}));
  for (const auto& x : acc[a.digest]) {
    if (x.id == a.id) continue;
    BERTH_RETURN_IF_ERROR(CopyDeep(from_repo, to_repo, x, actor, depth + 1));
  }
  return {};
}

StatusOr<Page<TagRecord>> ArtifactController::Tags(const ArtifactTarget& t, const ListQuery& q) {
  return artifacts_.ListTags(t.artifact.id, q);
}

StatusOr<std::set<std::string>> ArtifactController::ImmutableTags(
    const ArtifactTarget& t, const std::vector<TagRecord>& tags) {
  return ImmutableOf(t.repository, tags);
}

StatusOr<TagRecord> ArtifactController::CreateTag(const Identity& who, const ArtifactTarget& t,
                                                  const std::string& name) {
  if (!IsValidTag(name)) {
    return Status::InvalidArgument("invalid tag name '" + name + "'", "BAD_REQUEST");
  }
  BERTH_ASSIGN_OR_RETURN(TagRecord tag, artifacts_.CreateTag(t.artifact.id, name));
  audit_.Record({0, t.project.project_id, who.username, t.repository.name + ":" + name, "tag",
                 "create", "success", 0, {}});
  return tag;
}

Status ArtifactController::DeleteTag(const Identity& who, const ArtifactTarget& t,
                                     const std::string& name) {
  BERTH_RETURN_IF_ERROR(artifacts_.DeleteTag(t.artifact.id, name));
  audit_.Record({0, t.project.project_id, who.username, t.repository.name + ":" + name, "tag",
                 "delete", "success", 0, {}});
  return {};
}

StatusOr<Page<ArtifactRecord>> ArtifactController::Accessories(const ArtifactTarget& t,
                                                               const ListQuery& q) {
  return artifacts_.ListAccessories(t.repository.id, t.artifact.digest, q);
}

StatusOr<Addition> ArtifactController::GetAddition(const ArtifactTarget& t,
                                                   const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(AdditionKind kind, ParseAdditionKind(name));
  BERTH_ASSIGN_OR_RETURN(auto content,
                         manifests_.Get(t.repository.name, DigestRef(t.artifact.digest), {}));
  BERTH_ASSIGN_OR_RETURN(ParsedManifest parsed, ParseManifest(*content.body, t.artifact.media_type));
  return BuildAddition(kind, t.artifact.type, parsed,
                       [this](const Descriptor& d) -> StatusOr<std::string> {
                         if (d.size > kMaxAdditionBlobBytes) {
                           return Status::InvalidArgument("the blob is too large to read",
                                                          "BAD_REQUEST");
                         }
                         std::string out;
                         BERTH_RETURN_IF_ERROR(blobs_.GetContent(d.digest, &out, kMaxAdditionBlobBytes));
                         return out;
                       });
}

Status ArtifactController::AddLabel(const Identity& who, const ArtifactTarget& t,
                                    int64_t label_id) {
  BERTH_ASSIGN_OR_RETURN(LabelRecord label,
                         labels_.ResolveForArtifact(who, t.project.project_id, label_id));
  BERTH_RETURN_IF_ERROR(label_store_.AttachToArtifact(t.artifact.id, label.id));
  audit_.Record({0, t.project.project_id, who.username,
                 t.repository.name + "@" + t.artifact.digest, "artifact-label", "create",
                 "success", 0, {}});
  if (on_labeled_) on_labeled_(t.repository.name, t.artifact.digest);
  return {};
}

Status ArtifactController::RemoveLabel(const Identity& who, const ArtifactTarget& t,
                                       int64_t label_id) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, t.project, "artifact-label", "delete"));
  BERTH_RETURN_IF_ERROR(label_store_.DetachFromArtifact(t.artifact.id, label_id));
  audit_.Record({0, t.project.project_id, who.username,
                 t.repository.name + "@" + t.artifact.digest, "artifact-label", "delete",
                 "success", 0, {}});
  return {};
}

}  // namespace berth
