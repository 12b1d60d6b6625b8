#include "signing/signature_policy.h"

#include <algorithm>

#include "auth/registry_access.h"
#include "common/clock.h"
#include "common/strings.h"
#include "registry/artifact_kind.h"
#include "registry/manifest.h"

namespace berth {

namespace {

Status Violation(const std::string& message) {
  return Status(Code::kPreconditionFailed, message, "PROJECTPOLICYVIOLATION");
}

bool MetadataTrue(const ProjectRecord& p, const char* key) {
  auto it = p.metadata.find(key);
  return it != p.metadata.end() && it->second == "true";
}

}  // namespace

bool ParseSignerPullSetting(const char* value) {
  if (value == nullptr) return true;
  std::string_view v = Trim(value);
  if (v.empty()) return true;
  // Go's strconv.ParseBool, as Harbor reads it; anything else fails closed.
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

void SignaturePolicy::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  policies_.clear();
}

StatusOr<std::shared_ptr<const ProjectSignaturePolicy>> SignaturePolicy::PolicyOf(
    const std::string& project) {
  int64_t now = NowUnixMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = policies_.find(project);
    if (it != policies_.end() && now - it->second->loaded_at_ms < options_.policy_ttl_ms) {
      return it->second;
    }
  }
  auto policy = std::make_shared<ProjectSignaturePolicy>();
  policy->loaded_at_ms = now;
  BERTH_ASSIGN_OR_RETURN(auto p, projects_.GetByName(project));
  if (p) {
    policy->project_id = p->project_id;
    policy->cosign = MetadataTrue(*p, "enable_content_trust_cosign");
    policy->notation = MetadataTrue(*p, "enable_content_trust") ||
                       MetadataTrue(*p, "enable_content_trust_notation");
  }
  if (policy->cosign) {
    BERTH_ASSIGN_OR_RETURN(auto records, keys_.List(policy->project_id));
    for (const auto& r : records) {
      auto k = PublicKey::FromPem(r.public_key);
      // Stored keys were parsed on the way in; one that no longer parses
      // (an OpenSSL without Ed25519?) must not silently widen the trust.
      if (!k.ok()) return Status::Internal("trusted key " + std::to_string(r.id) + ": " + k.status().message());
      policy->keys.push_back(std::move(*k));
      policy->keys_version += std::to_string(r.id) + ",";
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  policies_[project] = policy;
  return std::shared_ptr<const ProjectSignaturePolicy>(policy);
}

Status SignaturePolicy::CheckPull(const RequestContext& ctx, const std::string& repo,
                                  const ArtifactRecord& artifact) {
  BERTH_ASSIGN_OR_RETURN(auto policy, PolicyOf(ProjectOf(repo)));
  if (!policy->enforced()) return {};
  // A signature is pulled to verify what it signs.
  if (artifact.accessory_type == accessory_types::kCosign ||
      artifact.accessory_type == accessory_types::kNotation) {
    return {};
  }
  const Identity& who = ctx.identity;
  if (RegistryTokenGrants(who, repo, "scanner-pull")) return {};
  if (options_.signer_bootstrap_pull && RegistryTokenGrants(who, repo, "push")) {
    std::string ua = ctx.Header("User-Agent");
    if (ua.find("cosign") != std::string::npos || ua.find("notation") != std::string::npos) return {};
  }

  BERTH_ASSIGN_OR_RETURN(auto accessories,
                         artifacts_.AccessoriesOf(artifact.repository_id, {artifact.digest}));
  std::vector<ArtifactRecord> cosign, notation;
  for (auto& a : accessories[artifact.digest]) {
    if (a.accessory_type == accessory_types::kCosign) cosign.push_back(a);
    if (a.accessory_type == accessory_types::kNotation) notation.push_back(a);
  }
  if (policy->cosign) {
    if (cosign.empty()) return Violation("The image is not signed by cosign.");
    if (!policy->keys.empty()) BERTH_RETURN_IF_ERROR(CheckCosign(*policy, artifact, cosign));
  }
  if (policy->notation && notation.empty()) return Violation("The image is not signed by notation.");
  return {};
}

Status SignaturePolicy::CheckCosign(const ProjectSignaturePolicy& policy,
                                    const ArtifactRecord& artifact,
                                    const std::vector<ArtifactRecord>& signatures) {
  std::vector<std::string> sig_digests;
  for (const auto& s : signatures) sig_digests.push_back(s.digest);
  std::sort(sig_digests.begin(), sig_digests.end());
  std::string cache_key = std::to_string(policy.project_id) + "|" + policy.keys_version + "|" +
                          artifact.digest + "|" + Join(sig_digests, ",");
  std::optional<CosignVerification> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = verified_.find(cache_key); it != verified_.end()) result = it->second;
  }
  if (!result) {
    std::vector<SignatureManifest> manifests;
    for (const auto& s : signatures) {
      BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(s.digest));
      SignatureManifest m{s.digest, {}};
      Status st = blobs_.GetContent(d, &m.body, kMaxManifestBytes);
      if (st.IsNotFound()) continue;  // gone with GC: as if never pushed
      BERTH_RETURN_IF_ERROR(st);
      manifests.push_back(std::move(m));
    }
    BlobReader read = [this](const std::string& digest, int64_t max) -> StatusOr<std::string> {
      BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(digest));
      std::string out;
      BERTH_RETURN_IF_ERROR(blobs_.GetContent(d, &out, static_cast<size_t>(max)));
      return out;
    };
    BERTH_ASSIGN_OR_RETURN(result, VerifyCosignSignatures(artifact.digest, manifests, policy.keys, read));
    std::lock_guard<std::mutex> lock(mu_);
    // Crude bound: entries are small and recomputed on demand.
    if (verified_.size() >= options_.max_cached_verifications) verified_.clear();
    verified_[cache_key] = *result;
  }
  if (result->verdict == CosignVerdict::kVerified) return {};
  return Violation(CosignRefusalMessage(*result));
}

}  // namespace berth
