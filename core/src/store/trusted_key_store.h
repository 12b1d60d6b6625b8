// TrustedKeyStore: the public keys a project trusts for cosign signatures
// (Berth's own, see docs/signing.md). Keys are never edited, only added and
// removed, so the set of ids names one set of keys (the verification cache
// relies on it). They go with their project (foreign key).
#ifndef BERTH_STORE_TRUSTED_KEY_STORE_H_
#define BERTH_STORE_TRUSTED_KEY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sql.h"

namespace berth {

struct TrustedKeyRecord {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string description;
  std::string algorithm;    // "ecdsa-p256" | "ed25519"
  std::string fingerprint;  // "sha256:<hex>" of the DER SubjectPublicKeyInfo
  std::string public_key;   // PEM, as re-encoded by berthd
  std::string creator;
  int64_t creation_time = 0;  // unix millis
};

class TrustedKeyStore {
 public:
  explicit TrustedKeyStore(SqlDatabase& db) : db_(db) {}

  // Sets id and creation_time. kConflict (CONFLICT) when the project trusts
  // the key already; kNotFound when the project is gone.
  StatusOr<TrustedKeyRecord> Create(TrustedKeyRecord key);
  // The project's keys, oldest first.
  StatusOr<std::vector<TrustedKeyRecord>> List(int64_t project_id);
  StatusOr<std::optional<TrustedKeyRecord>> Get(int64_t project_id, int64_t id);
  // kNotFound (NOT_FOUND) when the project has no such key.
  Status Delete(int64_t project_id, int64_t id);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_TRUSTED_KEY_STORE_H_
