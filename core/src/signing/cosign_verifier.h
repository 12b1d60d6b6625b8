// CosignVerifier: whether an artifact carries a cosign key-based signature
// by one of a set of trusted keys (sigstore/cosign specs/SIGNATURE_SPEC.md).
// A signature manifest (tag scheme `sha256-<hex>.sig` or an OCI referrer)
// holds one `application/vnd.dev.cosign.simplesigning.v1+json` layer per
// signature: the layer's blob is the signed payload, its annotation
// `dev.cosignproject.cosign/signature` the base64 signature. A signature
// counts when it verifies with a trusted key AND its payload's
// critical.image.docker-manifest-digest names the artifact: a valid
// signature copied from another image proves nothing about this one.
#ifndef BERTH_SIGNING_COSIGN_VERIFIER_H_
#define BERTH_SIGNING_COSIGN_VERIFIER_H_

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "signing/public_key.h"

namespace berth {

// One signature manifest: its digest and its bytes.
struct SignatureManifest {
  std::string digest;
  std::string body;
};

// Reads a blob's bytes (at most max_bytes); kNotFound when it is missing.
using BlobReader = std::function<StatusOr<std::string>(const std::string& digest, int64_t max_bytes)>;

// The outcome, worst to best for the refusal message: when nothing
// verifies, the most telling failure is reported.
enum class CosignVerdict {
  kMalformed,     // no usable signature layer (bad base64, missing payload, ...)
  kUntrustedKey,  // signatures present, none valid for a trusted key
  kOtherDigest,   // a trusted key signed, but for another image
  kVerified,
};

struct CosignVerification {
  CosignVerdict verdict = CosignVerdict::kMalformed;
  std::string detail;  // what was wrong (or which key verified)
};

inline constexpr char kCosignSimpleSigningType[] = "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr char kCosignSignatureAnnotation[] = "dev.cosignproject.cosign/signature";
// A simplesigning payload is a few hundred bytes; anything near this is not one.
inline constexpr int64_t kMaxCosignPayloadBytes = 1 << 20;

// Errors are only failures to read (storage); a bad signature is a verdict.
StatusOr<CosignVerification> VerifyCosignSignatures(const std::string& subject_digest,
                                                    const std::vector<SignatureManifest>& signatures,
                                                    const std::vector<PublicKey>& keys,
                                                    const BlobReader& read_blob);

// The refusal message for a verdict other than kVerified.
std::string CosignRefusalMessage(const CosignVerification& v);

}  // namespace berth

#endif  // BERTH_SIGNING_COSIGN_VERIFIER_H_
