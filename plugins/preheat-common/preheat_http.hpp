// What Berth's preheat plugins share: Harbor's provider auth handlers
// (pkg/p2p/preheat/provider/auth: NONE, BASIC, OAUTH, CUSTOM) as request
// headers, and Harbor's HTTP client rule that anything but a 2xx answer is
// an error. Header-only; each plugin is a self-contained .so.
#ifndef BERTH_PLUGINS_PREHEAT_HTTP_HPP_
#define BERTH_PLUGINS_PREHEAT_HTTP_HPP_

#include <berth/plugin_sdk.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace berth_preheat {

using berth::sdk::Status;

inline std::string Base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], k[n & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += {k[n >> 18], k[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], '='};
  }
  return out;
}

// The headers an instance's credential adds to every request.
inline Status AuthHeaders(const berth::sdk::PreheatInstance& at,
                          std::vector<std::pair<std::string, std::string>>* out) {
  const std::string& mode = at.auth_mode;
  if (mode.empty() || mode == "NONE") return {};
  auto info = nlohmann::json::parse(at.auth_info_json.empty() ? "{}" : at.auth_info_json, nullptr, false);
  if (!info.is_object()) return Status::InvalidArgument("auth_info is not a JSON object");
  auto str = [&info](const char* key) -> std::string {
    auto it = info.find(key);
    return it != info.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (mode == "BASIC") {
    if (str("username").empty()) return Status::InvalidArgument("missing username");
    out->emplace_back("Authorization", "Basic " + Base64(str("username") + ":" + str("password")));
  } else if (mode == "OAUTH") {
    if (str("token").empty()) return Status::InvalidArgument("missing OAuth token");
    out->emplace_back("Authorization", "Bearer " + str("token"));
  } else if (mode == "CUSTOM") {
    if (info.empty()) return Status::InvalidArgument("missing custom token/key data");
    for (auto it = info.begin(); it != info.end(); ++it) {
      if (it.value().is_string()) out->emplace_back(it.key(), it.value().get<std::string>());
    }
  } else {
    return Status::InvalidArgument("unknown auth mode '" + mode + "'");
  }
  return {};
}

inline std::string Endpoint(const std::string& base, const char* path) {
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + path;
}

// One request to the provider. Transport failures are RETRY (the caller may
// try again); a non-2xx answer is an error naming the status and the start
// of the body.
inline Status Exchange(const berth::sdk::Host& host, const berth::sdk::CallCtx& call,
                       const berth::sdk::PreheatInstance& at, std::string method, std::string url,
                       std::string body, int64_t timeout_ms, berth::sdk::HttpResponse* resp) {
  berth::sdk::HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  Status s = AuthHeaders(at, &req.headers);
  if (!s.ok()) return s;
  req.headers.emplace_back("Accept", "application/json");
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("User-Agent", "berth-preheat/1.0");
  req.body = std::move(body);
  req.timeout_ms = timeout_ms;
  req.insecure_skip_verify = at.insecure;
  s = host.Http(call.raw(), req, resp);
  if (!s.ok()) return Status::Retry(req.method + " " + req.url + ": " + s.message());
  if (resp->status < 200 || resp->status >= 300) {
    std::string snippet = resp->body.substr(0, 300);
    return Status::InvalidArgument(req.method + " " + req.url + " answered " +
                                   std::to_string(resp->status) +
                                   (snippet.empty() ? "" : ": " + snippet));
  }
  return {};
}

// berth_preheat_image.image is "repository:tag".
inline std::pair<std::string, std::string> SplitImage(const std::string& image) {
  size_t colon = image.rfind(':');
  size_t slash = image.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return {image, ""};
  return {image.substr(0, colon), image.substr(colon + 1)};
}

}  // namespace berth_preheat

#endif  // BERTH_PLUGINS_PREHEAT_HTTP_HPP_
