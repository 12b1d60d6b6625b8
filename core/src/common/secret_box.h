// SecretBox: authenticated encryption (AES-256-GCM) of small secrets kept in
// the metadata database, such as P2P preheat instances' credentials. The key
// is derived (HMAC-SHA256 with a purpose label) from key material every node
// of a deployment shares: berthd uses its registry token signing key, which
// several nodes must share anyway for tokens to verify everywhere.
#ifndef BERTH_COMMON_SECRET_BOX_H_
#define BERTH_COMMON_SECRET_BOX_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

class SecretBox {
 public:
  // `material`: secret bytes (e.g. a PEM private key); `purpose` separates
  // the keys of different uses of the same material.
  SecretBox(std::string_view material, std::string_view purpose);

  // "enc:v1:" + base64(nonce | ciphertext | tag).
  StatusOr<std::string> Seal(std::string_view plaintext) const;
  // Opens what Seal made; text without the prefix is returned as is (rows
  // written before encryption). kInvalidArgument when it does not
  // authenticate (another key, or tampered).
  StatusOr<std::string> Open(std::string_view sealed) const;

 private:
  unsigned char key_[32];
};

}  // namespace berth

#endif  // BERTH_COMMON_SECRET_BOX_H_
