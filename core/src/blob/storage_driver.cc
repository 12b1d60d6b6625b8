#include "blob/storage_driver.h"

#include <array>

namespace berth {

namespace {
// 1: allowed in a component; 2: '/'.
constexpr std::array<uint8_t, 256> MakePathTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 1;
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  t['.'] = t['_'] = t['-'] = 1;
  t['/'] = 2;
  return t;
}
constexpr std::array<uint8_t, 256> kPathTable = MakePathTable();
}  // namespace

// One pass with a table lookup per byte (this runs before every storage
// call): a component is what lies between two '/', checked for emptiness
// and for "." and ".." when it ends.
bool IsValidStoragePath(std::string_view p) {
  const size_t n = p.size();
  if (n == 1) return p[0] == '/';
  if (n < 2 || p[0] != '/' || p[n - 1] == '/') return false;
  size_t comp_start = 1;
  for (size_t i = 1; i <= n; ++i) {
    uint8_t k = i < n ? kPathTable[static_cast<unsigned char>(p[i])] : 2;
    if (k == 1) continue;
    if (k == 0) return false;
    size_t len = i - comp_start;
    if (len == 0) return false;
    if (p[comp_start] == '.' && (len == 1 || (len == 2 && p[comp_start + 1] == '.'))) return false;
    comp_start = i + 1;
  }
  return true;
}

}  // namespace berth
