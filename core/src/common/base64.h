// Standard base64 (RFC 4648 §4), for HTTP Basic credentials.
#ifndef BERTH_COMMON_BASE64_H_
#define BERTH_COMMON_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace berth {

std::string Base64Encode(std::string_view bytes);
// nullopt for malformed input.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace berth

#endif  // BERTH_COMMON_BASE64_H_
