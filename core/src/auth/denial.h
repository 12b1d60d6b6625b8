// How refusals look on the management API: 401 for anonymous callers, 403
// FORBIDDEN for signed-in ones.
#ifndef BERTH_AUTH_DENIAL_H_
#define BERTH_AUTH_DENIAL_H_

#include <string>

#include "common/identity.h"
#include "common/status.h"

namespace berth {

inline Status Forbidden(const std::string& what = "") {
  return Status::PermissionDenied(what.empty() ? "forbidden" : what, "FORBIDDEN");
}

inline Status Deny(const Identity& who, const std::string& what) {
  if (!who.authenticated()) return Status::Unauthenticated("authentication required", "UNAUTHORIZED");
  return Forbidden(what);
}

}  // namespace berth

#endif  // BERTH_AUTH_DENIAL_H_
