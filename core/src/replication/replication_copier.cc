#include "replication/replication_copier.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/digest.h"
#include "registry/manifest.h"

namespace berth {

namespace {

constexpr char kAllManifestTypes[] =
    "application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,"
    "application/vnd.docker.distribution.manifest.list.v2+json,"
    "application/vnd.docker.distribution.manifest.v2+json,"
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
// Pulled bytes are handed to the upload in pieces of this size.
constexpr size_t kUploadPiece = 4 << 20;

}  // namespace

Status PushCopier::Seed(const Candidate& c) {
  BERTH_ASSIGN_OR_RETURN(RemoteManifest there, s_.ManifestExists(c.dst_repository, c.digest));
  if (!there.exists) return {};
  std::vector<std::string> digests = {c.digest};
  for (size_t i = 0; i < digests.size() && i < 64; ++i) {
    std::string mt, body;
    BERTH_RETURN_IF_ERROR(LoadManifest(c.repository, digests[i], &mt, &body));
    BERTH_ASSIGN_OR_RETURN(ParsedManifest pm, ParseManifest(body, mt));
    for (const auto& child : pm.manifests) digests.push_back(child.digest.ToString());
    if (pm.config) at_dest_.emplace(pm.config->digest.ToString(), c.dst_repository);
    for (const auto& l : pm.layers) at_dest_.emplace(l.digest.ToString(), c.dst_repository);
  }
  return {};
}

Status PushCopier::Copy(const Candidate& c, TaskLog& log, int64_t* bytes) {
  std::vector<std::string> tags;
  for (const auto& t : c.tags) {
    if (!p_.override_) {
      BERTH_ASSIGN_OR_RETURN(RemoteManifest m, s_.ManifestExists(c.dst_repository, t));
      if (m.exists && m.digest != c.digest) {
        log.Info("the tag " + c.dst_repository + ":" + t +
                 " exists on the destination and override is off: skip");
        continue;
      }
    }
    tags.push_back(t);
  }
  if (tags.empty() && !c.tags.empty()) return {};
  BERTH_RETURN_IF_ERROR(CopyManifest(c.repository, c.digest, c.dst_repository, log, 0));
  std::string mt, body;
  BERTH_RETURN_IF_ERROR(LoadManifest(c.repository, c.digest, &mt, &body));
  for (const auto& t : tags) {
    BERTH_RETURN_IF_ERROR(s_.PushManifest(c.dst_repository, t, mt, body).status());
    log.Info("pushed manifest " + c.dst_repository + ":" + t);
  }
  *bytes += bytes_;
  return {};
}

Status PushCopier::LoadManifest(const std::string& repo, const std::string& digest, std::string* mt,
                    std::string* body) {
  BERTH_ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
  ManifestReference ref;
  ref.is_digest = true;
  ref.digest = dg;
  BERTH_ASSIGN_OR_RETURN(ManifestContent m, d_.manifests.Get(repo, ref, {}, nullptr));
  *mt = m.artifact.media_type;
  *body = *m.body;
  return {};
}

Status PushCopier::CopyManifest(const std::string& src, const std::string& digest, const std::string& dst,
                    TaskLog& log, int depth) {
  if (depth > 4) return Status::InvalidArgument("manifests nested too deep at " + digest);
  if (ctx_.stopping()) return Status(Code::kUnavailable, "stopped");
  BERTH_ASSIGN_OR_RETURN(RemoteManifest there, s_.ManifestExists(dst, digest));
  std::string mt, body;
  BERTH_RETURN_IF_ERROR(LoadManifest(src, digest, &mt, &body));
  BERTH_ASSIGN_OR_RETURN(ParsedManifest pm, ParseManifest(body, mt));
  if (there.exists) {
    log.Info("manifest " + dst + "@" + digest + " exists on the destination: skip");
    // Its blobs are there: later artifacts of this run may mount them.
    if (pm.config) at_dest_.emplace(pm.config->digest.ToString(), dst);
    for (const auto& l : pm.layers) at_dest_.emplace(l.digest.ToString(), dst);
    return {};
  }
  if (pm.is_index) {
    for (const auto& child : pm.manifests) {
      BERTH_RETURN_IF_ERROR(CopyManifest(src, child.digest.ToString(), dst, log, depth + 1));
    }
  } else {
    std::vector<Descriptor> blobs;
    if (pm.config) blobs.push_back(*pm.config);
    for (const auto& l : pm.layers) blobs.push_back(l);
    for (const auto& b : blobs) {
      if (!b.urls.empty()) continue;  // foreign layers stay where they are
      BERTH_RETURN_IF_ERROR(CopyBlob(b, dst, log));
    }
  }
  BERTH_RETURN_IF_ERROR(s_.PushManifest(dst, digest, mt, body).status());
  log.Info("pushed manifest " + dst + "@" + digest);
  return {};
}

Status PushCopier::CopyBlob(const Descriptor& b, const std::string& dst, TaskLog& log) {
  std::string digest = b.digest.ToString();
  BERTH_ASSIGN_OR_RETURN(bool exists, s_.BlobExists(dst, digest));
  if (exists) {
    log.Info("blob " + digest + " exists on the destination: skip");
    at_dest_[digest] = dst;
    return {};
  }
  auto known = at_dest_.find(digest);
  if (known != at_dest_.end() && known->second != dst) {
    Status m = s_.MountBlob(known->second, digest, dst);
    if (m.ok()) {
      log.Info("blob " + digest + " mounted from " + known->second);
      at_dest_[digest] = dst;
      return {};
    }
    if (m.code() != Code::kUnsupported) log.Info("mounting " + digest + " failed, copying: " + m.message());
  }
  BERTH_ASSIGN_OR_RETURN(auto reader, d_.blobs.OpenReader(b.digest, 0));
  int64_t sent = 0;
  Status st = s_.PushBlob(dst, digest, b.size, [&](char* buf, size_t cap) -> StatusOr<size_t> {
    if (ctx_.stopping()) return Status(Code::kUnavailable, "the execution is being stopped");
    BERTH_ASSIGN_OR_RETURN(size_t n, reader->Read(buf, limiter_.Piece(cap)));
    sent += static_cast<int64_t>(n);
    limiter_.Took(n, [this] { return ctx_.stopping(); });
    return n;
  });
  bytes_ += sent;
  BERTH_RETURN_IF_ERROR(st);
  log.Info("copied blob " + digest + " (" + std::to_string(b.size) + " bytes)");
  at_dest_[digest] = dst;
  return {};
}

Status PullCopier::Copy(const Candidate& c, TaskLog& log, int64_t* bytes) {
  BERTH_RETURN_IF_ERROR(EnsureProject(c.dst_repository, log));
  std::string ref = c.digest.empty() ? c.tags.front() : c.digest;
  std::string mt, body;
  BERTH_RETURN_IF_ERROR(s_.PullManifest(c.repository, ref, kAllManifestTypes, &mt, &body));
  BERTH_ASSIGN_OR_RETURN(std::string digest, CopyManifestBody(c.repository, mt, body, c.dst_repository, log, 0));
  for (const auto& t : c.tags) {
    if (!p_.override_) {
      auto have = d_.registry.GetArtifactByTag(c.dst_repository, t);
      if (have.ok() && *have && (*have)->digest != digest) {
        log.Info("the tag " + c.dst_repository + ":" + t + " exists here and override is off: skip");
        continue;
      }
    }
    ManifestReference tr;
    tr.tag = t;
    BERTH_RETURN_IF_ERROR(d_.manifests.Put(c.dst_repository, tr, body, mt, Actor{"replication", ""}).status());
    log.Info("stored manifest " + c.dst_repository + ":" + t);
  }
  *bytes += bytes_;
  return {};
}

Status PullCopier::EnsureProject(const std::string& repo, TaskLog& log) {
  std::string project = repo.substr(0, repo.find('/'));
  BERTH_ASSIGN_OR_RETURN(bool exists, d_.projects.Exists(project));
  if (exists) return {};
  Identity admin;
  admin.kind = Identity::Kind::kUser;
  admin.username = "admin";
  admin.user_id = 1;
  admin.sysadmin = true;
  auto made = d_.projects.Create(admin, project, {{"public", "false"}});
  if (!made.ok() && made.status().code() != Code::kConflict) return made.status();
  log.Info("created project " + project);
  return {};
}

StatusOr<std::string> PullCopier::CopyManifestBody(const std::string& src, const std::string& mt,
                                       const std::string& body, const std::string& dst,
                                       TaskLog& log, int depth) {
  if (depth > 4) return Status::InvalidArgument("manifests nested too deep");
  if (ctx_.stopping()) return Status(Code::kUnavailable, "stopped");
  BERTH_ASSIGN_OR_RETURN(ParsedManifest pm, ParseManifest(body, mt));
  if (pm.is_index) {
    for (const auto& child : pm.manifests) {
      std::string cmt, cbody;
      BERTH_RETURN_IF_ERROR(s_.PullManifest(src, child.digest.ToString(), kAllManifestTypes, &cmt, &cbody));
      BERTH_RETURN_IF_ERROR(CopyManifestBody(src, cmt, cbody, dst, log, depth + 1).status());
    }
  } else {
    std::vector<Descriptor> blobs;
    if (pm.config) blobs.push_back(*pm.config);
    for (const auto& l : pm.layers) blobs.push_back(l);
    for (const auto& b : blobs) {
      if (!b.urls.empty()) continue;
      BERTH_RETURN_IF_ERROR(CopyBlob(src, b, dst, log));
    }
  }
  Digest dg = Digest::Of(DigestAlgorithm::kSha256, body);
  ManifestReference ref;
  ref.is_digest = true;
  ref.digest = dg;
  BERTH_ASSIGN_OR_RETURN(PushedManifest pushed,
                         d_.manifests.Put(dst, ref, body, mt, Actor{"replication", ""}));
  log.Info("stored manifest " + dst + "@" + pushed.digest);
  return pushed.digest;
}

Status PullCopier::CopyBlob(const std::string& src, const Descriptor& b, const std::string& dst, TaskLog& log) {
  std::string digest = b.digest.ToString();
  BERTH_ASSIGN_OR_RETURN(auto linked, d_.registry.GetLinkedBlobSize(dst, digest));
  if (linked) {
    log.Info("blob " + digest + " is here already: skip");
    return {};
  }
  BERTH_ASSIGN_OR_RETURN(UploadStatus up, d_.uploads.Start(dst));
  std::string piece;
  int64_t got = 0;
  auto flush = [&]() -> Status {
    if (piece.empty()) return {};
    std::istringstream in(piece);
    auto r = d_.uploads.Append(dst, up.uuid, in, std::nullopt, static_cast<int64_t>(piece.size()));
    piece.clear();
    return r.status();
  };
  int64_t total = 0;
  Status st = s_.PullBlob(src, digest, 0, -1, [&](const char* data, size_t len) -> Status {
    if (ctx_.stopping()) return Status(Code::kUnavailable, "the execution is being stopped");
    piece.append(data, len);
    got += static_cast<int64_t>(len);
    limiter_.Took(len, [this] { return ctx_.stopping(); });
    if (piece.size() >= kUploadPiece) return flush();
    return {};
  }, &total);
  if (st.ok()) st = flush();
  bytes_ += got;
  if (st.ok()) st = d_.uploads.Complete(dst, up.uuid, b.digest, nullptr, std::nullopt, -1).status();
  if (!st.ok()) {
    (void)d_.uploads.Cancel(dst, up.uuid);
    return st;
  }
  log.Info("copied blob " + digest + " (" + std::to_string(got) + " bytes)");
  return {};
}

Status PropagateDeletion(ReplicationSession& s, const Candidate& c, TaskLog& log) {
  if (!c.tags.empty()) {
    for (const auto& t : c.tags) {
      Status st = s.DeleteTag(c.dst_repository, t);
      if (st.IsNotFound()) {
        log.Info("tag " + c.dst_repository + ":" + t + " is not on the destination");
        continue;
      }
      BERTH_RETURN_IF_ERROR(st);
      log.Info("deleted tag " + c.dst_repository + ":" + t);
    }
    return {};
  }
  Status st = s.DeleteManifest(c.dst_repository, c.digest);
  if (st.IsNotFound()) {
    log.Info("artifact " + c.dst_repository + "@" + c.digest + " is not on the destination");
    return {};
  }
  BERTH_RETURN_IF_ERROR(st);
  log.Info("deleted artifact " + c.dst_repository + "@" + c.digest);
  return {};
}

}  // namespace berth
