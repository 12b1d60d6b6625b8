// SecretBox: encrypts secrets kept at rest (remote registry passwords) with
// AES-256-GCM. The key comes from BERTH_SECRET_KEY (64 hex digits, or any
// other text, hashed with SHA-256) or from a 32-byte key file in the data
// directory, created with mode 0600 on first use. A sealed value is
// "aesgcm:v1:" + base64(nonce(12) | ciphertext | tag(16)); opening checks the
// tag, so a value sealed under another key is refused, not misread.
#ifndef BERTH_COMMON_SECRET_BOX_H_
#define BERTH_COMMON_SECRET_BOX_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

class SecretBox {
 public:
  // From BERTH_SECRET_KEY when `env_key` is not empty, else from `key_file`
  // (created 0600 with a random key when missing).
  static StatusOr<SecretBox> Open(const std::string& key_file, const std::string& env_key);
  static SecretBox FromKey(std::string key32) { return SecretBox(std::move(key32)); }

  StatusOr<std::string> Seal(std::string_view plaintext) const;
  StatusOr<std::string> Unseal(std::string_view sealed) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;  // 32 bytes
};

}  // namespace berth

#endif  // BERTH_COMMON_SECRET_BOX_H_
