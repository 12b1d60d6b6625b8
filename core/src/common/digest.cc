#include "common/digest.h"

#include <openssl/evp.h>

namespace berth {

namespace {
const char* kDigestInvalid = "DIGEST_INVALID";

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ToHex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string_view Digest::AlgorithmName() const {
  return algorithm == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

std::string Digest::ToString() const { return std::string(AlgorithmName()) + ":" + hex; }

bool Digest::LooksLikeDigest(std::string_view s) {
  // algorithm: [a-z0-9]+([+._-][a-z0-9]+)* ; encoded: [a-zA-Z0-9=_-]+
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= s.size()) return false;
  std::string_view alg = s.substr(0, colon), enc = s.substr(colon + 1);
  bool prev_sep = true;
  for (char c : alg) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool sep = c == '+' || c == '.' || c == '_' || c == '-';
    if (!alnum && !sep) return false;
    if (sep && prev_sep) return false;
    prev_sep = sep;
  }
  if (prev_sep) return false;
  for (char c : enc) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '=' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

StatusOr<Digest> Digest::Parse(std::string_view s) {
  if (!LooksLikeDigest(s)) {
    return Status::InvalidArgument("invalid digest: " + std::string(s.substr(0, 200)),
                                   kDigestInvalid);
  }
  size_t colon = s.find(':');
  std::string_view alg = s.substr(0, colon), enc = s.substr(colon + 1);
  Digest d;
  size_t want;
  if (alg == "sha256") {
    d.algorithm = DigestAlgorithm::kSha256;
    want = 64;
  } else if (alg == "sha512") {
    d.algorithm = DigestAlgorithm::kSha512;
    want = 128;
  } else {
    return Status::InvalidArgument("unsupported digest algorithm: " + std::string(alg),
                                   kDigestInvalid);
  }
  if (enc.size() != want || !IsLowerHex(enc)) {
    return Status::InvalidArgument(
        "invalid " + std::string(alg) + " digest: expected " + std::to_string(want) +
            " lowercase hex characters",
        kDigestInvalid);
  }
  d.hex = std::string(enc);
  return d;
}

Digest Digest::Of(DigestAlgorithm alg, std::string_view data) {
  Hasher h(alg);
  h.Update(data.data(), data.size());
  return h.Finish();
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Hasher::Hasher(DigestAlgorithm alg) : alg_(alg), impl_(new Impl) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, alg == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512(),
                    nullptr);
}

Hasher::~Hasher() { EVP_MD_CTX_free(impl_->ctx); }

void Hasher::Update(const void* data, size_t len) { EVP_DigestUpdate(impl_->ctx, data, len); }

Digest Hasher::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &n);
  Digest d;
  d.algorithm = alg_;
  d.hex = ToHex(md, n);
  return d;
}

}  // namespace berth
