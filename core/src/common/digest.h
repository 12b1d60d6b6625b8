// Content digests ("sha256:<hex>", "sha512:<hex>") and streaming hashers.
#ifndef BERTH_COMMON_DIGEST_H_
#define BERTH_COMMON_DIGEST_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

enum class DigestAlgorithm { kSha256, kSha512 };

struct Digest {
  DigestAlgorithm algorithm = DigestAlgorithm::kSha256;
  std::string hex;  // lowercase

  std::string ToString() const;
  std::string_view AlgorithmName() const;
  bool operator==(const Digest& o) const { return algorithm == o.algorithm && hex == o.hex; }

  // Parses and validates "alg:encoded"; errors carry DIGEST_INVALID.
  static StatusOr<Digest> Parse(std::string_view s);
  // Syntactic check only (the spec's digest grammar), any algorithm.
  static bool LooksLikeDigest(std::string_view s);
  static Digest Of(DigestAlgorithm alg, std::string_view data);
};

// Incremental hashing over OpenSSL EVP. Not thread-safe.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm alg);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(const void* data, size_t len);
  // Finishes and returns the digest; the hasher must not be used afterwards.
  Digest Finish();
  DigestAlgorithm algorithm() const { return alg_; }

 private:
  DigestAlgorithm alg_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth

#endif  // BERTH_COMMON_DIGEST_H_
