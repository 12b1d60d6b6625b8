#include "api/api_router.h"

#include <openssl/crypto.h>

#include "auth/registry_access.h"
#include "common/strings.h"
#include "http/response.h"

namespace berth {

namespace {
bool AllowsCliSecret(const std::string& method, const std::string& label) {
  static const std::pair<const char*, const char*> kAllowed[] = {
      {"GET", "projects"}, {"POST", "projects"}, {"HEAD", "projects"}, {"GET", "project"},
      {"GET", "systeminfo"}, {"GET", "getcert"}, {"GET", "version"}, {"GET", "ping"},
      {"GET", "health"}};
  for (const auto& [m, l] : kAllowed) {
    if (method == m && label == l) return true;
  }
  return false;
}
}  // namespace

ApiRouter::ApiRouter(Authenticator& auth, SessionManager& sessions)
    : auth_(auth), sessions_(sessions) {}

void ApiRouter::Add(const std::string& method, const std::string& pattern,
                    const std::string& label, ApiFn fn) {
  Route r{method, {}, label, std::move(fn)};
  for (auto& s : Split(pattern, '/')) {
    if (!s.empty()) r.segments.push_back(s);
  }
  routes_.push_back(std::move(r));
}

Status ApiRouter::Authenticate(RequestContext& ctx, bool* via_session, std::string* csrf,
                               Status* refused) {
  std::string header = ctx.Header("Authorization");
  if (!header.empty()) {
    std::string_view h = Trim(header);
    if (h.size() > 7 && EqualsIgnoreCase(h.substr(0, 7), "bearer ")) {
      // An OIDC ID token, verified by the OIDC provider's plugin.
      auto b = auth_.BackendFor("oidc");
      if (b == nullptr) {
        return Status::Unauthenticated("bearer tokens are only accepted with OIDC", "UNAUTHORIZED");
      }
      auto ext = b->VerifyToken(Trim(h.substr(7)));
      if (!ext.ok()) return Status::Unauthenticated(ext.status().message(), "UNAUTHORIZED");
      BERTH_ASSIGN_OR_RETURN(ctx.identity, auth_.Onboard(*ext, "oidc"));
      ctx.identity.method = "id_token";
      return {};
    }
    std::string user, password;
    StatusOr<Identity> id =
        ParseBasicAuthorization(header, &user, &password)
            ? auth_.Password(user, password, ctx.client_address)
            : StatusOr<Identity>(Status::Unauthenticated("malformed Authorization header", "UNAUTHORIZED"));
    if (id.ok()) {
      ctx.identity = *id;
      return {};
    }
    // As in Harbor, Basic credentials that do not sign in leave the caller
    // anonymous: endpoints open to everyone (ping, systeminfo, public
    // projects) answer as for no credentials, and the refusal (401, or 429
    // when the limiter holds the name) is what a caller who needs to be
    // someone gets. The limiter has already counted the failure.
    Code c = id.status().code();
    if (c != Code::kUnauthenticated && c != Code::kTooManyRequests) return id.status();
    *refused = id.status();
  }
  BERTH_ASSIGN_OR_RETURN(auto session, sessions_.Resume(ctx));
  if (session) {
    ctx.identity = session->identity;
    *via_session = true;
    *csrf = session->csrf_token;
  }
  return {};
}

void ApiRouter::Handle(RequestContext& ctx) {
  ctx.route = "api";
  std::vector<std::string> segs;
  for (auto& s : Split(ctx.raw_path, '/')) {
    if (!s.empty()) segs.push_back(s);
  }
  const Route* match = nullptr;
  bool path_matched = false;
  std::map<std::string, std::string> params;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> p;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& pat = r.segments[i];
      if (pat.size() > 2 && pat.front() == '{' && pat.back() == '}') {
        auto decoded = UrlDecode(segs[i]);
        if (!decoded || decoded->empty()) ok = false;
        else p[pat.substr(1, pat.size() - 2)] = *decoded;
      } else {
        ok = pat == segs[i];
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (r.method == ctx.method) {
      match = &r;
      params = std::move(p);
      break;
    }
  }
  if (match == nullptr) {
    if (path_matched) {
      return SendApiError(ctx, Status(Code::kMethodNotAllowed, ctx.method + " is not allowed on " + ctx.raw_path,
                                      "METHOD_NOT_ALLOWED"));
    }
    return SendApiError(ctx, Status::NotFound("no such API endpoint: " + ctx.raw_path, "NOT_FOUND"));
  }
  ctx.route = "api_" + match->label;

  bool via_session = false;
  std::string csrf;
  Status refused;
  Status auth = Authenticate(ctx, &via_session, &csrf, &refused);
  if (!auth.ok()) return SendApiError(ctx, auth);
  // An OIDC user's CLI secret is for registry clients, as in Harbor: it
  // opens /v2 and the token service, and on the API only what those clients
  // (helm, docker CLIs, CI scripts) need; never account management.
  if (ctx.identity.method == "cli_secret" && !AllowsCliSecret(ctx.method, match->label)) {
    return SendApiError(ctx, Status::Unauthenticated(
                                 "the CLI secret is for registry clients; sign in through OIDC for this",
                                 "UNAUTHORIZED"));
  }
  if (via_session) {
    ctx.response.set(SessionManager::kCsrfHeader, csrf);
    bool unsafe = ctx.method != "GET" && ctx.method != "HEAD" && ctx.method != "OPTIONS";
    std::string sent = ctx.Header(SessionManager::kCsrfHeader);
    if (unsafe && (sent.size() != csrf.size() ||
                   CRYPTO_memcmp(sent.data(), csrf.data(), csrf.size()) != 0)) {
      return SendApiError(ctx, Status::PermissionDenied("CSRF token invalid", "FORBIDDEN"));
    }
  }
  ApiCall call{ctx, std::move(params)};
  Status s = match->fn(call);
  // Refused credentials on an endpoint that wants a caller: say why the
  // credentials failed rather than "authentication required".
  if (!s.ok() && s.code() == Code::kUnauthenticated && !refused.ok() &&
      !ctx.identity.authenticated()) {
    s = refused;
  }
  if (!s.ok() && !ctx.response.sent()) SendApiError(ctx, s);
}

}  // namespace berth
