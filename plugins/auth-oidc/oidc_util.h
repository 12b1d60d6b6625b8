// auth-oidc helpers with no plugin state: settings, URL encoding, claims.
#ifndef BERTH_PLUGINS_AUTH_OIDC_OIDC_UTIL_H_
#define BERTH_PLUGINS_AUTH_OIDC_OIDC_UTIL_H_

#include <berth/plugin_sdk.hpp>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::oidc {

using sdk::Status;
using json = nlohmann::json;

// The provider's config, after defaults. Mirrors Harbor's oidc_* settings.
struct Settings {
  std::string endpoint;  // the issuer URL as configured
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> scopes;  // from the comma-separated "scope"
  bool verify_cert = true;
  std::string ca_cert;
  std::string user_claim;  // "" = preferred_username, then name, then sub
  std::string groups_claim = "groups";
  std::string admin_group;
  std::string group_filter;
  std::shared_ptr<const std::regex> group_regex;  // compiled group_filter
  std::vector<std::pair<std::string, std::string>> extra_params;
  int64_t timeout_ms = 10000;
  int64_t leeway_seconds = 60;
};

// Parses and checks a config object (already schema-validated by the host,
// checked again here: a plugin must not trust its input).
Status ParseSettings(const json& config, Settings* out);

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string UrlEncode(std::string_view s);
// key=value&... with both sides encoded.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params);
// Appends query parameters to a URL that may already have a query.
std::string AppendQuery(const std::string& url, const std::vector<std::pair<std::string, std::string>>& params);
// Standard base64 (with padding), for HTTP Basic credentials.
std::string Base64(std::string_view bytes);

// "https://idp/" and "https://idp" name the same issuer for discovery.
std::string TrimTrailingSlash(std::string s);
bool IsHttpUrl(std::string_view s);

// The user a verified ID token describes.
Status UserFromClaims(const json& claims, const Settings& s, sdk::UserInfo* out);

}  // namespace berth::oidc

#endif  // BERTH_PLUGINS_AUTH_OIDC_OIDC_UTIL_H_
