#include "common/random.h"

#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace berth {

namespace {
void Fill(unsigned char* p, size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}
}  // namespace

std::string RandomHex(size_t n_bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string raw(n_bytes, '\0');
  Fill(reinterpret_cast<unsigned char*>(raw.data()), n_bytes);
  std::string out;
  out.reserve(n_bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string NewUuid() {
  unsigned char b[16];
  Fill(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace berth
