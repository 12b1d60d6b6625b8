#include "http/client_address.h"

#include "common/strings.h"

namespace berth {

std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded_for,
                          const std::vector<AddressRange>& trusted_proxies) {
  if (trusted_proxies.empty() || !AnyContains(trusted_proxies, peer)) return peer;
  std::vector<std::string> hops;
  for (const auto& h : forwarded_for) {
    for (const auto& part : Split(h, ',')) hops.emplace_back(Trim(part));
  }
  std::string client = peer;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    // A hop that is not an address (garbage, "unknown", a port) ends the
    // chain: the last trusted hop is as far as the evidence goes.
    if (it->find('/') != std::string::npos || !AddressRange::Parse(*it).ok()) break;
    client = *it;
    if (!AnyContains(trusted_proxies, client)) break;
  }
  return client;
}

}  // namespace berth
