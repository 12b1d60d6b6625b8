#include "http/https_redirect.h"

#include <Poco/Net/HTTPResponse.h>

#include <ostream>

namespace berth {

void HttpsRedirect::Handle(RequestContext& ctx) {
  ctx.route = "https_redirect";
  std::string base = external_url_;
  if (base.empty()) {
    std::string host = ctx.request.getHost();
    // Drop the plain port from Host ("h:80", "[::1]:80"), keep the name.
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
      host.resize(colon);
    }
    if (host.empty()) host = "localhost";
    base = "https://" + host + (https_port_ == 443 ? "" : ":" + std::to_string(https_port_));
  }
  std::string target = base + ctx.raw_path + (ctx.raw_query.empty() ? "" : "?" + ctx.raw_query);
  std::string body = "This registry is served over HTTPS: " + target + "\n";
  ctx.status = 308;
  // Poco 1.11 knows no reason phrase for 308.
  ctx.response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(308),
                                  "Permanent Redirect");
  ctx.response.set("Location", target);
  ctx.response.setKeepAlive(false);
  ctx.response.setContentType("text/plain; charset=utf-8");
  ctx.response.setContentLength64(static_cast<Poco::Int64>(body.size()));
  ctx.response.send() << body << std::flush;
  ctx.bytes_out += static_cast<int64_t>(body.size());
}

}  // namespace berth
