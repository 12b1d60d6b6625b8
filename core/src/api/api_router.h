// ApiRouter: Harbor's management API under /api/v2.0 (and /api/version).
// Authenticates the caller (session cookie, Basic credentials, or an OIDC
// bearer ID token), enforces CSRF for session callers on unsafe methods,
// matches the route and runs its handler; errors are rendered as Harbor's
// {"errors":[{"code","message"}]}.
#ifndef BERTH_API_API_ROUTER_H_
#define BERTH_API_API_ROUTER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/session_manager.h"
#include "http/http_server.h"

namespace berth {

struct ApiCall {
  RequestContext& ctx;
  std::map<std::string, std::string> params;  // path parameters, decoded
  const std::string& Param(const std::string& name) const { return params.at(name); }
};

// A handler returns an error to send, or OK after sending its response.
using ApiFn = std::function<Status(ApiCall&)>;

class ApiRouter : public HttpHandler {
 public:
  ApiRouter(Authenticator& auth, SessionManager& sessions);
  // `pattern` like "/api/v2.0/projects/{project_name_or_id}/members/{mid}".
  void Add(const std::string& method, const std::string& pattern, const std::string& label,
           ApiFn fn);
  void Handle(RequestContext& ctx) override;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string label;
    ApiFn fn;
  };
  // `refused` receives the failure of Basic credentials that did not sign
  // in (the caller then goes on as anonymous, or with its session).
  Status Authenticate(RequestContext& ctx, bool* via_session, std::string* csrf, Status* refused);

  Authenticator& auth_;
  SessionManager& sessions_;
  std::vector<Route> routes_;
};

}  // namespace berth

#endif  // BERTH_API_API_ROUTER_H_
