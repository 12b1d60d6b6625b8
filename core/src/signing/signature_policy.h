// SignaturePolicy: the projects' signature requirements on /v2 manifest
// pulls, as Harbor's content-trust middleware enforces them, plus Berth's
// trusted keys (docs/signing.md).
//
//   - enable_content_trust_cosign=true: the pulled artifact needs a cosign
//     signature accessory of its own (tag scheme or OCI referrer); when the
//     project has trusted keys, one of its signatures must verify with one
//     of them and name the artifact's digest.
//   - enable_content_trust=true (Harbor's key, notation since Notary v1 went)
//     or enable_content_trust_notation=true (Berth's explicit name): a
//     notation signature accessory.
//   - Refusals: 412 PROJECTPOLICYVIOLATION with Harbor's message.
//   - Exempt, as in Harbor: signatures themselves; tokens carrying
//     scanner-pull; a token that may push whose User-Agent says cosign or
//     notation (the signer must read the manifest it signs; Harbor's
//     CONTENT_TRUST_LEGACY_SIGNER_PULL_ENABLED=false turns this off).
//   - An index's children are not covered by the index's signature (Harbor
//     checks the pulled digest's own accessories): sign with --recursive.
//
// Project policies are cached for a few seconds (and dropped at once when
// this node changes them), so a project without a policy costs one map
// lookup per pull. Verification results are cached per (project, key set,
// digest, signature set): a new signature or key changes the entry's name.
#ifndef BERTH_SIGNING_SIGNATURE_POLICY_H_
#define BERTH_SIGNING_SIGNATURE_POLICY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "blob/blob_store.h"
#include "oci/v2_access.h"
#include "signing/cosign_verifier.h"
#include "signing/public_key.h"
#include "store/artifact_store.h"
#include "store/project_store.h"
#include "store/trusted_key_store.h"

namespace berth {

struct SignaturePolicyOptions {
  int64_t policy_ttl_ms = 5000;     // how stale another node's change may be seen
  bool signer_bootstrap_pull = true;  // Harbor's legacy signer pull exemption
  size_t max_cached_verifications = 10000;
};

// Harbor's CONTENT_TRUST_LEGACY_SIGNER_PULL_ENABLED: unset or empty is true,
// a malformed value false (fails closed).
bool ParseSignerPullSetting(const char* value);

// A project's signature requirements, as cached.
struct ProjectSignaturePolicy {
  int64_t project_id = 0;
  bool cosign = false;
  bool notation = false;
  std::vector<PublicKey> keys;  // loaded only with cosign
  std::string keys_version;     // the key ids: names the key set
  int64_t loaded_at_ms = 0;
  bool enforced() const { return cosign || notation; }
};

class SignaturePolicy : public V2PullPolicy {
 public:
  SignaturePolicy(ProjectStore& projects, TrustedKeyStore& keys, ArtifactStore& artifacts,
                  BlobStore& blobs, SignaturePolicyOptions options = {})
      : projects_(projects), keys_(keys), artifacts_(artifacts), blobs_(blobs),
        options_(options) {}

  Status CheckPull(const RequestContext& ctx, const std::string& repo,
                   const ArtifactRecord& artifact) override;

  // Drops the cached policies (a project's metadata or keys changed here).
  void Invalidate();

 private:
  StatusOr<std::shared_ptr<const ProjectSignaturePolicy>> PolicyOf(const std::string& project);
  Status CheckCosign(const ProjectSignaturePolicy& policy, const ArtifactRecord& artifact,
                     const std::vector<ArtifactRecord>& signatures);

  ProjectStore& projects_;
  TrustedKeyStore& keys_;
  ArtifactStore& artifacts_;
  BlobStore& blobs_;
  SignaturePolicyOptions options_;

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const ProjectSignaturePolicy>> policies_;
  std::unordered_map<std::string, CosignVerification> verified_;
};

}  // namespace berth

#endif  // BERTH_SIGNING_SIGNATURE_POLICY_H_
