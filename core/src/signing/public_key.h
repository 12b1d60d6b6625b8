// PublicKey: a signing key a project trusts (ECDSA P-256 or Ed25519), parsed
// from PEM, and the signature check cosign's key-based signatures need:
// ECDSA over SHA-256 with an ASN.1 DER signature, Ed25519 over the message
// itself.
#ifndef BERTH_SIGNING_PUBLIC_KEY_H_
#define BERTH_SIGNING_PUBLIC_KEY_H_

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

class PublicKey {
 public:
  // A "PUBLIC KEY" (SubjectPublicKeyInfo) PEM block; anything else (private
  // keys, certificates, other curves, RSA) is refused with 400 BAD_REQUEST.
  static StatusOr<PublicKey> FromPem(std::string_view pem);

  const std::string& algorithm() const { return algorithm_; }      // ecdsa-p256 | ed25519
  const std::string& fingerprint() const { return fingerprint_; }  // sha256:<hex> of the DER
  const std::string& pem() const { return pem_; }                  // re-encoded

  // Whether `signature` is this key's signature over `message`.
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  std::shared_ptr<EVP_PKEY> key_;
  std::string algorithm_;
  std::string fingerprint_;
  std::string pem_;
};

}  // namespace berth

#endif  // BERTH_SIGNING_PUBLIC_KEY_H_
