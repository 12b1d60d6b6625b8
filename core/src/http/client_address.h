// ClientAddress: who sent a request, for the sign-in limiter and the logs.
// Behind a load balancer every request comes from the balancer: when the
// peer is a trusted proxy (http.trusted_proxies), the client is the
// right-most X-Forwarded-For entry that is not itself a trusted proxy (what
// nginx's real_ip_recursive does); entries further left were written by the
// client and prove nothing. An untrusted peer's X-Forwarded-For is ignored.
#ifndef BERTH_HTTP_CLIENT_ADDRESS_H_
#define BERTH_HTTP_CLIENT_ADDRESS_H_

#include <string>
#include <vector>

#include "common/address_range.h"

namespace berth {

// `forwarded_for`: every X-Forwarded-For header of the request, in order.
std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded_for,
                          const std::vector<AddressRange>& trusted_proxies);

}  // namespace berth

#endif  // BERTH_HTTP_CLIENT_ADDRESS_H_
