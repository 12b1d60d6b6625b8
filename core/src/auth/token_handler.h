// TokenHandler: GET /service/token, Docker's token endpoint as Harbor serves
// it. The caller (Basic credentials, a session, or nobody) gets a token
// whose access lists, per requested repository, every action it may do.
#ifndef BERTH_AUTH_TOKEN_HANDLER_H_
#define BERTH_AUTH_TOKEN_HANDLER_H_

#include <functional>

#include "auth/access_evaluator.h"
#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "http/http_server.h"
#include "store/project_store.h"

namespace berth {

class TokenHandler : public HttpHandler {
 public:
  // `session` resolves a browser session to an identity (may be empty).
  using SessionFn = std::function<StatusOr<std::optional<Identity>>(RequestContext&)>;
  TokenHandler(Authenticator& auth, TokenService& tokens, ProjectStore& projects,
               AccessEvaluator& evaluator, SessionFn session = {})
      : auth_(auth), tokens_(tokens), projects_(projects), evaluator_(evaluator),
        session_(std::move(session)) {}
  void Handle(RequestContext& ctx) override;

 private:
  Authenticator& auth_;
  TokenService& tokens_;
  ProjectStore& projects_;
  AccessEvaluator& evaluator_;
  SessionFn session_;
};

}  // namespace berth

#endif  // BERTH_AUTH_TOKEN_HANDLER_H_
