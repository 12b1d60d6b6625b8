#include "http/client_address.h"

#include <gtest/gtest.h>

#include "common/address_range.h"

namespace berth {
namespace {

std::vector<AddressRange> Ranges(const std::vector<std::string>& texts) {
  auto r = ParseAddressRanges(texts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<AddressRange>{};
}

TEST(AddressRange, ParsesAddressesAndBlocks) {
  auto r = Ranges({"10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1", "172.16.0.0/12"});
  EXPECT_TRUE(AnyContains(r, "10.200.3.4"));
  EXPECT_TRUE(AnyContains(r, "192.168.1.7"));
  EXPECT_FALSE(AnyContains(r, "192.168.1.8"));
  EXPECT_TRUE(AnyContains(r, "fd12::5"));
  EXPECT_TRUE(AnyContains(r, "::1"));
  EXPECT_TRUE(AnyContains(r, "172.31.255.255"));
  EXPECT_FALSE(AnyContains(r, "172.32.0.0"));
  EXPECT_FALSE(AnyContains(r, "11.0.0.1"));
  // IPv4-mapped IPv6 is the IPv4 address; other text is no address at all.
  EXPECT_TRUE(AnyContains(r, "::ffff:10.1.2.3"));
  EXPECT_FALSE(AnyContains(r, "unknown"));
  EXPECT_FALSE(AnyContains(r, ""));
  EXPECT_FALSE(AnyContains(r, "10.0.0.1:80"));
  // /0 holds its whole family and nothing of the other.
  auto all4 = Ranges({"0.0.0.0/0"});
  EXPECT_TRUE(AnyContains(all4, "8.8.8.8"));
  EXPECT_FALSE(AnyContains(all4, "2001:db8::1"));
  // A prefix that does not end on a byte.
  auto odd = Ranges({"10.0.0.128/25"});
  EXPECT_TRUE(AnyContains(odd, "10.0.0.200"));
  EXPECT_FALSE(AnyContains(odd, "10.0.0.127"));
}

TEST(AddressRange, RejectsWhatIsNotOne) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/", "10.0.0/8",
                          "example.com", "10.0.0.1/8x", "1.2.3.4.5"}) {
    auto r = AddressRange::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
}

TEST(ClientAddress, OnlyTrustedPeersForward) {
  auto trusted = Ranges({"127.0.0.9", "10.0.0.0/8"});
  // No trusted proxies configured: the header means nothing.
  EXPECT_EQ(ClientAddress("127.0.0.9", {"203.0.113.5"}, {}), "127.0.0.9");
  // An untrusted peer cannot choose its address with the header.
  EXPECT_EQ(ClientAddress("198.51.100.1", {"203.0.113.5"}, trusted), "198.51.100.1");
  // A trusted peer without the header is the client itself.
  EXPECT_EQ(ClientAddress("127.0.0.9", {}, trusted), "127.0.0.9");
  EXPECT_EQ(ClientAddress("127.0.0.9", {"203.0.113.5"}, trusted), "203.0.113.5");
}

TEST(ClientAddress, RightMostUntrustedHopWins) {
  auto trusted = Ranges({"127.0.0.9", "10.0.0.0/8"});
  // The client wrote "1.1.1.1" itself; the proxies appended the rest.
  EXPECT_EQ(ClientAddress("127.0.0.9", {"1.1.1.1, 203.0.113.5, 10.2.3.4"}, trusted),
            "203.0.113.5");
  // Several headers are one list, in order.
  EXPECT_EQ(ClientAddress("127.0.0.9", {"1.1.1.1", "203.0.113.5, 10.2.3.4"}, trusted),
            "203.0.113.5");
  // Every hop trusted: the left-most one is as far as it goes.
  EXPECT_EQ(ClientAddress("127.0.0.9", {"10.9.9.9, 10.2.3.4"}, trusted), "10.9.9.9");
  // Garbage ends the chain at the last trusted hop.
  EXPECT_EQ(ClientAddress("127.0.0.9", {"203.0.113.5, unknown, 10.2.3.4"}, trusted), "10.2.3.4");
  EXPECT_EQ(ClientAddress("127.0.0.9", {"nonsense"}, trusted), "127.0.0.9");
  EXPECT_EQ(ClientAddress("127.0.0.9", {"203.0.113.0/24"}, trusted), "127.0.0.9");
  EXPECT_EQ(ClientAddress("127.0.0.9", {" 2001:db8::7 "}, trusted), "2001:db8::7");
}

}  // namespace
}  // namespace berth
