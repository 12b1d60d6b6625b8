#include "common/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/base64.h"

namespace berth {

namespace {

constexpr char kPrefix[] = "aesgcm:v1:";
constexpr size_t kNonce = 12, kTag = 16, kKey = 32;

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string KeyFromText(const std::string& text) {
  if (IsHex64(text)) {
    std::string out(kKey, '\0');
    for (size_t i = 0; i < kKey; ++i) out[i] = static_cast<char>(std::stoi(text.substr(2 * i, 2), nullptr, 16));
    return out;
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

StatusOr<std::string> ReadOrCreateKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    std::string key(kKey, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKey) != 1) {
      return Status::Internal("no random bytes for the secret key");
    }
    // O_EXCL: two processes starting together must not write two keys.
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    int w = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
    bool ok = ::write(w, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(w) == 0;
    ::close(w);
    if (!ok || ::link(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      if (ok && e == EEXIST) return ReadOrCreateKey(path);  // another process won
      return Status::IOError("cannot write " + path + ": " + std::strerror(e));
    }
    ::unlink(tmp.c_str());
    return key;
  }
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  std::string key(kKey + 1, '\0');
  ssize_t n = ::read(fd, key.data(), key.size());
  struct stat st;
  bool private_file = ::fstat(fd, &st) == 0 && (st.st_mode & 077) == 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(kKey)) {
    return Status::InvalidArgument(path + " must hold exactly 32 bytes (the secret key)");
  }
  if (!private_file) {
    return Status::InvalidArgument(path + " is readable by others; chmod 600 it");
  }
  key.resize(kKey);
  return key;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

StatusOr<SecretBox> SecretBox::Open(const std::string& key_file, const std::string& env_key) {
  if (!env_key.empty()) return SecretBox(KeyFromText(env_key));
  BERTH_ASSIGN_OR_RETURN(std::string key, ReadOrCreateKey(key_file));
  return SecretBox(std::move(key));
}

StatusOr<std::string> SecretBox::Seal(std::string_view plaintext) const {
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(o, kNonce) != 1) return Status::Internal("no random bytes for a nonce");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kNonce, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonce + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + plaintext.size()) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  return std::string(kPrefix) + Base64Encode(out);
}

StatusOr<std::string> SecretBox::Unseal(std::string_view sealed) const {
  if (sealed.rfind(kPrefix, 0) != 0) return Status::Internal("stored secret is not sealed");
  auto raw = Base64Decode(sealed.substr(sizeof(kPrefix) - 1));
  if (!raw || raw->size() < kNonce + kTag) return Status::Internal("stored secret is malformed");
  const auto* in = reinterpret_cast<const unsigned char*>(raw->data());
  size_t n = raw->size() - kNonce - kTag;
  std::string out(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  std::string tag(raw->data() + kNonce + n, kTag);
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, in) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in + kNonce,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return Status::Internal("stored secret does not open with this key (was the secret key changed?)");
  }
  return out;
}

}  // namespace berth
