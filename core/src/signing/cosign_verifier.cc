#include "signing/cosign_verifier.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/digest.h"

namespace berth {

namespace {

using nlohmann::json;

void Consider(CosignVerification* best, CosignVerdict v, std::string detail) {
  if (best->detail.empty() || v > best->verdict) *best = {v, std::move(detail)};
}

// The digest the payload names, or "" when it names none.
std::string PayloadDigest(const std::string& payload) {
  auto j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto c = j.find("critical");
  if (c == j.end() || !c->is_object()) return {};
  auto i = c->find("image");
  if (i == c->end() || !i->is_object()) return {};
  auto d = i->find("docker-manifest-digest");
  if (d == i->end() || !d->is_string()) return {};
  return d->get<std::string>();
}

}  // namespace

StatusOr<CosignVerification> VerifyCosignSignatures(const std::string& subject,
                                                    const std::vector<SignatureManifest>& signatures,
                                                    const std::vector<PublicKey>& keys,
                                                    const BlobReader& read_blob) {
  CosignVerification best{CosignVerdict::kMalformed, ""};
  for (const auto& sig : signatures) {
    auto m = json::parse(sig.body, nullptr, false);
    if (m.is_discarded() || !m.is_object() || !m.contains("layers") || !m["layers"].is_array()) {
      Consider(&best, CosignVerdict::kMalformed, "the signature manifest " + sig.digest + " is not an image manifest");
      continue;
    }
    bool any_layer = false;
    for (const auto& layer : m["layers"]) {
      if (!layer.is_object() || layer.value("mediaType", "") != kCosignSimpleSigningType) continue;
      any_layer = true;
      std::string sig_b64;
      if (auto a = layer.find("annotations"); a != layer.end() && a->is_object()) {
        if (auto s = a->find(kCosignSignatureAnnotation); s != a->end() && s->is_string()) {
          sig_b64 = s->get<std::string>();
        }
      }
      if (sig_b64.empty()) {
        Consider(&best, CosignVerdict::kMalformed, std::string("a signature layer has no ") + kCosignSignatureAnnotation + " annotation");
        continue;
      }
      auto raw_sig = Base64Decode(sig_b64);
      if (!raw_sig || raw_sig->empty()) {
        Consider(&best, CosignVerdict::kMalformed, "the signature is not base64");
        continue;
      }
      std::string payload_digest = layer.value("digest", "");
      auto parsed = Digest::Parse(payload_digest);
      if (!parsed.ok()) {
        Consider(&best, CosignVerdict::kMalformed, "a signature layer has no valid digest");
        continue;
      }
      auto payload = read_blob(payload_digest, kMaxCosignPayloadBytes);
      if (!payload.ok()) {
        if (!payload.status().IsNotFound() && payload.status().code() != Code::kTooLarge) {
          return payload.status();
        }
        Consider(&best, CosignVerdict::kMalformed, "the signed payload " + payload_digest + " cannot be read");
        continue;
      }
      // Storage is content-addressed, but the payload is what was signed:
      // make sure these are the bytes the layer names.
      if (!(Digest::Of(parsed->algorithm, *payload) == *parsed)) {
        Consider(&best, CosignVerdict::kMalformed, "the signed payload does not match its digest");
        continue;
      }
      const PublicKey* signer = nullptr;
      for (const auto& k : keys) {
        if (k.Verify(*payload, *raw_sig)) {
          signer = &k;
          break;
        }
      }
      if (signer == nullptr) {
        Consider(&best, CosignVerdict::kUntrustedKey, "no trusted key verifies the signature in " + sig.digest);
        continue;
      }
      std::string named = PayloadDigest(*payload);
      if (named != subject) {
        Consider(&best, CosignVerdict::kOtherDigest,
                 named.empty() ? std::string("the signed payload names no image digest")
                               : "the signed payload names " + named);
        continue;
      }
      return CosignVerification{CosignVerdict::kVerified, signer->fingerprint()};
    }
    if (!any_layer) {
      Consider(&best, CosignVerdict::kMalformed, "the signature manifest " + sig.digest + " has no simplesigning layer");
    }
  }
  if (best.detail.empty()) best.detail = "no signature";
  return best;
}

std::string CosignRefusalMessage(const CosignVerification& v) {
  switch (v.verdict) {
    case CosignVerdict::kOtherDigest:
      return "The image's cosign signature is for another image: " + v.detail + ".";
    case CosignVerdict::kUntrustedKey:
      return "The image's cosign signature is not valid for any trusted key of the project.";
    case CosignVerdict::kMalformed:
      return "The image's cosign signature is malformed: " + v.detail + ".";
    case CosignVerdict::kVerified:
      break;
  }
  return {};
}

}  // namespace berth
