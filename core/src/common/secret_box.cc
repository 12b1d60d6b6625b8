#include "common/secret_box.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

#include "common/base64.h"

namespace berth {

namespace {

constexpr char kPrefix[] = "enc:v1:";
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

SecretBox::SecretBox(std::string_view material, std::string_view purpose) {
  unsigned int len = sizeof key_;
  HMAC(EVP_sha256(), material.data(), static_cast<int>(material.size()),
       reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(), key_, &len);
}

StatusOr<std::string> SecretBox::Seal(std::string_view plaintext) const {
  unsigned char nonce[kNonce];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return Status::Internal("no random bytes for a nonce");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string out(reinterpret_cast<char*>(nonce), kNonce);
  out.resize(kNonce + plaintext.size() + kTag);
  auto* body = reinterpret_cast<unsigned char*>(out.data()) + kNonce;
  int n = 0, m = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, body + n + m) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  return std::string(kPrefix) + Base64Encode(out);
}

StatusOr<std::string> SecretBox::Open(std::string_view sealed) const {
  if (sealed.rfind(kPrefix, 0) != 0) return std::string(sealed);
  auto raw = Base64Decode(sealed.substr(sizeof kPrefix - 1));
  if (!raw || raw->size() < kNonce + kTag) {
    return Status::InvalidArgument("sealed secret is malformed");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw->data());
  size_t len = raw->size() - kNonce - kTag;
  std::string out(len, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int n = 0, m = 0;
  unsigned char tag[kTag];
  std::memcpy(tag, bytes + kNonce + len, kTag);
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, bytes) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, bytes + kNonce,
                        static_cast<int>(len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &m) != 1) {
    return Status::InvalidArgument(
        "sealed secret does not authenticate (was the token signing key replaced?)");
  }
  out.resize(static_cast<size_t>(n + m));
  return out;
}

}  // namespace berth
