// Browser sign-in under /c: POST /c/login (form principal, password),
// GET /c/log_out, and OIDC's GET /c/oidc/login -> provider -> GET
// /c/oidc/callback. A successful sign-in sets the session cookie.
#ifndef BERTH_API_SESSION_API_H_
#define BERTH_API_SESSION_API_H_

#include <string>

#include "api/api_router.h"
#include "audit/audit_log.h"
#include "auth/authenticator.h"
#include "auth/session_manager.h"

namespace berth {

void RegisterSessionApi(ApiRouter& router, Authenticator& auth, SessionManager& sessions,
                        AuditLog& audit, std::string external_url);

}  // namespace berth

#endif  // BERTH_API_SESSION_API_H_
