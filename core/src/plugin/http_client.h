// Outbound HTTP on libcurl, shared by the core and (through host services)
// by plugins. Proxy settings come from the standard environment variables.
#ifndef BERTH_PLUGIN_HTTP_CLIENT_H_
#define BERTH_PLUGIN_HTTP_CLIENT_H_

#include <berth/plugin.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 30000;
  bool insecure_skip_verify = false;
  std::string ca_pem;  // extra trusted CAs
  // Called before the transfer and periodically; returning true aborts.
  std::function<bool()> cancelled;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(const std::string& name) const;  // case-insensitive, first match
};

// Performs the request. Transport failures give kUnavailable or
// kDeadlineExceeded; any HTTP status is a successful exchange.
Status PerformHttpRequest(const HttpRequest& req, HttpResponse* resp,
                          size_t max_body_bytes = 64 << 20);

// The berth_host_services.http_request implementation.
berth_status PerformPluginHttpRequest(const berth_call_ctx* call, const berth_http_request& req,
                                      berth_http_response& resp, berth_sink* err);

}  // namespace berth

#endif  // BERTH_PLUGIN_HTTP_CLIENT_H_
