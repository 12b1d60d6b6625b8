// RegistryAccess: authentication and authorisation for /v2, as Harbor does
// it. Requests carry HTTP Basic credentials or a bearer token from
// /service/token; anonymous requests get Docker's WWW-Authenticate challenge
// (even for public repositories, so clients fetch an anonymous token);
// tokens are verified fully and refused when issued before the project was
// (re)created.
#ifndef BERTH_AUTH_REGISTRY_ACCESS_H_
#define BERTH_AUTH_REGISTRY_ACCESS_H_

#include <string>

#include "auth/access_evaluator.h"
#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "oci/v2_access.h"
#include "store/project_store.h"

namespace berth {

class RegistryAccess : public V2AccessControl {
 public:
  RegistryAccess(Authenticator& auth, TokenService& tokens, ProjectStore& projects,
                 AccessEvaluator& evaluator, std::string external_url, bool external_url_explicit);

  Status Authorize(RequestContext& ctx, const V2Access& access) override;
  bool CanPull(const RequestContext& ctx, const std::string& repo) override;

  // The token endpoint URL clients are sent to.
  std::string Realm(const RequestContext& ctx) const;

 private:
  // Establishes ctx.identity from the Authorization header.
  Status Authenticate(RequestContext& ctx);
  Status Challenge(RequestContext& ctx, const std::string& scope, const std::string& why);
  StatusOr<bool> Allowed(RequestContext& ctx, const std::string& repo,
                         const std::string& action);
  StatusOr<bool> Allowed(const Identity& who, const ProjectRecord& project,
                         const std::string& repo, const std::string& action);

  Authenticator& auth_;
  TokenService& tokens_;
  ProjectStore& projects_;
  AccessEvaluator& evaluator_;
  std::string external_url_;
  bool external_url_explicit_;
};

// Splits "Basic <base64>" into user and password; false when malformed.
bool ParseBasicAuthorization(const std::string& header, std::string* user, std::string* password);
// The project a repository belongs to (its first path component).
std::string ProjectOf(const std::string& repository);
// Whether the caller's registry token grants `action` on the repository.
// Harbor's pull-policy exemptions (scanner-pull, the signer's push) are for
// its v2 tokens only, never Basic credentials.
bool RegistryTokenGrants(const Identity& who, const std::string& repository, const char* action);

}  // namespace berth

#endif  // BERTH_AUTH_REGISTRY_ACCESS_H_
