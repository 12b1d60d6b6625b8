#include "signing/public_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/digest.h"
#include "jose.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

constexpr size_t kMaxPemBytes = 16 * 1024;

}  // namespace

StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  if (pem.empty()) return Bad("public_key is required: a PEM \"PUBLIC KEY\" block");
  if (pem.size() > kMaxPemBytes) return Bad("public_key is too large");
  if (pem.find("-----BEGIN PUBLIC KEY-----") == std::string_view::npos) {
    return Bad("public_key must be a PEM \"PUBLIC KEY\" block (cosign.pub); private keys and "
               "certificates are not accepted");
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  ERR_clear_error();  // nothing of a refused key may linger for other callers
  if (raw == nullptr) return Bad("public_key is not a readable PEM public key");
  // Shared so that copies of the key (caches, snapshots) cost a reference.
  jose::Key held = jose::Key::Adopt(raw);
  PublicKey k;
  if (EVP_PKEY_is_a(raw, "ED25519")) {
    k.algorithm_ = "ed25519";
  } else if (held.type() == jose::KeyType::kEc && held.curve() == "P-256") {
    k.algorithm_ = "ecdsa-p256";
  } else {
    return Bad("public_key must be an ECDSA P-256 or Ed25519 key");
  }
  auto der = jose::PublicKeyDer(held);
  if (!der.ok()) return Status::Internal("encoding the public key: " + der.message());
  k.fingerprint_ = Digest::Of(DigestAlgorithm::kSha256, *der).ToString();
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), raw) != 1) {
    ERR_clear_error();
    return Status::Internal("writing the public key PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  k.pem_.assign(data, n > 0 ? static_cast<size_t>(n) : 0);
  EVP_PKEY_up_ref(raw);
  k.key_ = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
  return k;
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (!key_ || signature.empty()) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  // Ed25519 signs the message itself (no digest); cosign's ECDSA is SHA-256.
  const EVP_MD* md = algorithm_ == "ed25519" ? nullptr : EVP_sha256();
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace berth
