#include "common/address_range.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "common/strings.h"

namespace berth {

namespace {

// The address's family and bytes; IPv4-mapped IPv6 comes back as IPv4.
bool ParseIp(std::string_view text, int* family, std::array<unsigned char, 16>* bytes) {
  std::string s(Trim(text));
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  bytes->fill(0);
  if (inet_pton(AF_INET, s.c_str(), bytes->data()) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes->data()) != 1) return false;
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes->data(), kMapped, sizeof(kMapped)) == 0) {
    std::memmove(bytes->data(), bytes->data() + 12, 4);
    std::memset(bytes->data() + 4, 0, 12);
    *family = AF_INET;
  } else {
    *family = AF_INET6;
  }
  return true;
}

}  // namespace

StatusOr<AddressRange> AddressRange::Parse(std::string_view text) {
  std::string_view t = Trim(text);
  std::string_view addr = t, prefix;
  if (size_t slash = t.find('/'); slash != std::string_view::npos) {
    addr = t.substr(0, slash);
    prefix = t.substr(slash + 1);
  }
  AddressRange r;
  if (!ParseIp(addr, &r.family_, &r.bytes_)) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not an IP address or CIDR block");
  }
  int width = r.family_ == AF_INET ? 32 : 128;
  r.prefix_ = width;
  if (t.find('/') != std::string_view::npos) {
    auto n = ParseInt64(prefix);
    if (!n || *n < 0 || *n > width) {
      return Status::InvalidArgument("'" + std::string(text) + "': the prefix length must be 0 to " +
                                     std::to_string(width));
    }
    r.prefix_ = static_cast<int>(*n);
  }
  return r;
}

bool AddressRange::Contains(std::string_view address) const {
  int family = 0;
  std::array<unsigned char, 16> b{};
  if (!ParseIp(address, &family, &b) || family != family_) return false;
  int full = prefix_ / 8, rest = prefix_ % 8;
  if (std::memcmp(b.data(), bytes_.data(), full) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (b[full] & mask) == (bytes_[full] & mask);
}

StatusOr<std::vector<AddressRange>> ParseAddressRanges(const std::vector<std::string>& texts) {
  std::vector<AddressRange> out;
  for (const auto& t : texts) {
    BERTH_ASSIGN_OR_RETURN(AddressRange r, AddressRange::Parse(t));
    out.push_back(r);
  }
  return out;
}

bool AnyContains(const std::vector<AddressRange>& ranges, std::string_view address) {
  for (const auto& r : ranges) {
    if (r.Contains(address)) return true;
  }
  return false;
}

}  // namespace berth
