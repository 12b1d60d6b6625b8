// Cryptographically random identifiers.
#ifndef BERTH_COMMON_RANDOM_H_
#define BERTH_COMMON_RANDOM_H_

#include <cstddef>
#include <string>

namespace berth {

std::string RandomHex(size_t n_bytes);
std::string NewUuid();  // RFC 4122 version 4, lowercase

}  // namespace berth

#endif  // BERTH_COMMON_RANDOM_H_
