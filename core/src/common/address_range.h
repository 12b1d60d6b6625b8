// AddressRange: one IP address or CIDR block ("10.0.0.0/8", "fd00::/8",
// "127.0.0.1"), as configuration lists of trusted peers name them.
#ifndef BERTH_COMMON_ADDRESS_RANGE_H_
#define BERTH_COMMON_ADDRESS_RANGE_H_

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth {

class AddressRange {
 public:
  // kInvalidArgument for anything but an IPv4/IPv6 address with an optional
  // prefix length within the family's width.
  static StatusOr<AddressRange> Parse(std::string_view text);
  // False for text that is not an IP address. An IPv4-mapped IPv6 address
  // (::ffff:10.0.0.1) is matched as the IPv4 address it carries.
  bool Contains(std::string_view address) const;

 private:
  int family_ = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes_{};
  int prefix_ = 0;
};

// Parses every entry; the first bad one is the error.
StatusOr<std::vector<AddressRange>> ParseAddressRanges(const std::vector<std::string>& texts);
bool AnyContains(const std::vector<AddressRange>& ranges, std::string_view address);

}  // namespace berth

#endif  // BERTH_COMMON_ADDRESS_RANGE_H_
