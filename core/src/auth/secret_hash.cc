#include "auth/secret_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cctype>

#include "common/random.h"
#include "common/strings.h"

namespace berth {

namespace {
std::string Hex(const unsigned char* p, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += k[p[i] >> 4];
    out += k[p[i] & 15];
  }
  return out;
}

std::string Mac(std::string_view salt_hex, std::string_view secret) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), salt_hex.data(), static_cast<int>(salt_hex.size()),
       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), md, &n);
  return Hex(md, n);
}
}  // namespace

std::string HashSecret(std::string_view secret) {
  std::string salt = RandomHex(16);
  return "hmac-sha256$" + salt + "$" + Mac(salt, secret);
}

bool VerifySecret(std::string_view secret, std::string_view hash) {
  auto parts = Split(hash, '$');
  if (parts.size() != 3 || parts[0] != "hmac-sha256") return false;
  std::string mac = Mac(parts[1], secret);
  return mac.size() == parts[2].size() &&
         CRYPTO_memcmp(mac.data(), parts[2].data(), mac.size()) == 0;
}

std::string GenerateSecret(size_t length) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (;;) {
    std::string out;
    unsigned char b[256];
    RAND_bytes(b, sizeof b);
    for (size_t i = 0; out.size() < length && i < sizeof b; ++i) {
      if (b[i] < 248) out += kAlphabet[b[i] % 62];  // 248 = 4 * 62: no modulo bias
    }
    if (out.size() == length && IsStrongSecret(out)) return out;
  }
}

bool IsStrongSecret(std::string_view s) {
  if (s.size() < 8 || s.size() > 128) return false;
  bool upper = false, lower = false, digit = false;
  for (unsigned char c : s) {
    upper = upper || std::isupper(c);
    lower = lower || std::islower(c);
    digit = digit || std::isdigit(c);
  }
  return upper && lower && digit;
}

}  // namespace berth
