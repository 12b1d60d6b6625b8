// SessionManager: browser sessions. The cookie "sid" (HttpOnly,
// SameSite=Strict, Secure on https) carries a random id whose SHA-256 is
// stored; each session has a CSRF token that unsafe requests must echo in
// X-Harbor-CSRF-Token.
#ifndef BERTH_AUTH_SESSION_MANAGER_H_
#define BERTH_AUTH_SESSION_MANAGER_H_

#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "http/request_context.h"
#include "store/session_store.h"

namespace berth {

struct ActiveSession {
  Identity identity;
  std::string csrf_token;
};

class SessionManager {
 public:
  SessionManager(SessionStore& store, Authenticator& auth, int timeout_minutes, bool secure_cookie)
      : store_(store), auth_(auth), timeout_ms_(int64_t{timeout_minutes} * 60000),
        secure_(secure_cookie) {}

  // Starts a session for the user and sets the cookie on the response.
  StatusOr<ActiveSession> Start(RequestContext& ctx, int64_t user_id);
  // The session the request's cookie names, if valid.
  StatusOr<std::optional<ActiveSession>> Resume(RequestContext& ctx);
  // Ends the request's session (if any) and clears the cookie.
  Status End(RequestContext& ctx);
  Status PurgeExpired();

  static constexpr const char* kCsrfHeader = "X-Harbor-CSRF-Token";

 private:
  std::string CookieId(const RequestContext& ctx) const;
  SessionStore& store_;
  Authenticator& auth_;
  int64_t timeout_ms_;
  bool secure_;
};

}  // namespace berth

#endif  // BERTH_AUTH_SESSION_MANAGER_H_
