// TokenService: Docker registry bearer tokens as Harbor issues them (RS256,
// libtrust "kid", iss "harbor-token-issuer", aud = the service), and their
// full verification on /v2: signature, algorithm, key id, issuer, audience,
// expiry and not-before.
#ifndef BERTH_AUTH_TOKEN_SERVICE_H_
#define BERTH_AUTH_TOKEN_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity.h"
#include "common/status.h"

namespace berth {

struct TokenServiceOptions {
  std::string issuer = "harbor-token-issuer";
  std::string service = "harbor-registry";
  int64_t expiration_s = 30 * 60;
  std::string key_path;  // PEM private key; generated (RSA 2048, mode 0600) when missing
};

// One requested scope, "type:name:actions".
struct TokenScope {
  std::string type;
  std::string name;
  std::vector<std::string> actions;
};

// Parses a scope parameter, which may hold several space-separated scopes.
// The name may contain ':' (the type is before the first ':', the actions
// after the last).
StatusOr<std::vector<TokenScope>> ParseScopes(std::string_view value);

class TokenService {
 public:
  static StatusOr<std::unique_ptr<TokenService>> Open(const TokenServiceOptions& options);
  ~TokenService();

  struct Issued {
    std::string token;
    int64_t expires_in = 0;
    int64_t issued_at = 0;  // unix seconds
  };
  StatusOr<Issued> Issue(const std::string& subject, const std::vector<TokenAccess>& access) const;
  // A kToken identity; kUnauthenticated with the reason otherwise. Tokens
  // that verified are remembered (by SHA-256) until they expire, so the
  // signature is checked once per token rather than once per request.
  StatusOr<Identity> Verify(std::string_view token) const;

  const TokenServiceOptions& options() const { return options_; }
  // Harbor's token_expiration, changed through /configurations: the next
  // token issued lives this long.
  void set_expiration_s(int64_t s) { expiration_s_.store(s); }
  const std::string& kid() const { return kid_; }
  // The public key (PEM), for distribution's rootcertbundle-style consumers.
  const std::string& public_key_pem() const { return public_pem_; }

 private:
  TokenService() = default;
  struct Keys;
  StatusOr<Identity> VerifyUncached(std::string_view token, int64_t* expires_at) const;

  TokenServiceOptions options_;
  std::atomic<int64_t> expiration_s_{30 * 60};
  std::unique_ptr<Keys> keys_;
  struct CachedToken {
    Identity identity;
    int64_t expires_at;  // unix seconds (exp + leeway)
  };
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, CachedToken> cache_;
  std::string kid_;
  std::string public_pem_;
};

}  // namespace berth

#endif  // BERTH_AUTH_TOKEN_SERVICE_H_
