// AuthBackend: who someone is, according to the configured identity source
// (local database, LDAP, OIDC). Implemented by auth plugins through
// plugin/plugin_auth_backend.h.
#ifndef BERTH_AUTH_AUTH_BACKEND_H_
#define BERTH_AUTH_AUTH_BACKEND_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth {

struct ExternalUser {
  std::string username;
  std::string email;
  std::string realname;
  std::string subject;  // LDAP DN, OIDC "iss|sub"; "" for local users
  std::vector<std::string> groups;
  bool is_admin = false;
};

struct ExternalGroup {
  std::string name;
  std::string id;  // LDAP DN or OIDC group name
};

class AuthBackend {
 public:
  virtual ~AuthBackend() = default;
  virtual std::string name() const = 0;
  virtual bool Supports(uint64_t capability) const = 0;
  // kUnauthenticated for a wrong password or unknown user (indistinguishable).
  virtual StatusOr<ExternalUser> Authenticate(std::string_view username, std::string_view password,
                                              std::string_view stored_credential) = 0;
  virtual StatusOr<std::string> HashPassword(std::string_view password) = 0;
  virtual StatusOr<std::vector<ExternalUser>> SearchUsers(std::string_view query) = 0;
  virtual StatusOr<std::vector<ExternalGroup>> SearchGroups(std::string_view query) = 0;
  virtual Status Ping(std::string_view settings_json) = 0;
  virtual StatusOr<std::string> LoginBegin(std::string_view redirect_uri, std::string_view state,
                                           std::string_view nonce) = 0;
  // The user and the raw ID token.
  virtual StatusOr<std::pair<ExternalUser, std::string>> LoginCallback(
      std::string_view redirect_uri, std::string_view code, std::string_view nonce) = 0;
  virtual StatusOr<ExternalUser> VerifyToken(std::string_view token) = 0;
};

}  // namespace berth

#endif  // BERTH_AUTH_AUTH_BACKEND_H_
