#include "api/session_api.h"

#include <Poco/Net/NameValueCollection.h>
#include <openssl/crypto.h>

#include "api/api_util.h"
#include "common/random.h"
#include "http/request_context.h"
#include "http/response.h"

namespace berth {

namespace {

Status Redirect(RequestContext& ctx, const std::string& location) {
  ctx.response.set("Location", location);
  SendEmpty(ctx, 302);
  return {};
}

}  // namespace

void RegisterSessionApi(ApiRouter& r, Authenticator& auth, SessionManager& sessions,
                        AuditLog& audit, std::string external_url) {
  r.Add("POST", "/c/login", "login", [&auth, &sessions, &audit](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    std::string body;
    Status read = ctx.ReadBody(65536, &body);
    if (!read.ok()) return read.WithApiCode("BAD_REQUEST");
    QueryParams form = QueryParams::Parse(body);
    std::string user = form.Get("principal"), password = form.Get("password");
    auto id = auth.Password(user, password, ctx.client_address);
    if (!id.ok()) return id.status();
    // Robots, and OIDC users' CLI secrets (credentials for registry clients;
    // OIDC users sign in to the browser through /c/oidc/login), open no
    // session, as in Harbor.
    if (id->kind != Identity::Kind::kUser || id->method == "cli_secret") {
      return Status::Unauthenticated("invalid username or password", "UNAUTHORIZED");
    }
    BERTH_ASSIGN_OR_RETURN(ActiveSession s, sessions.Start(ctx, id->user_id));
    ctx.identity = s.identity;
    audit.Record({0, 0, id->username, id->username, "user", "login", "success", 0, {}});
    return SendOk(ctx);
  });
  r.Add("GET", "/c/log_out", "logout", [&sessions](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(sessions.End(call.ctx));
    return SendOk(call.ctx);
  });

  std::string redirect_uri = external_url + "/c/oidc/callback";
  r.Add("GET", "/c/oidc/login", "oidc_login", [&auth, redirect_uri](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    auto b = auth.BackendFor("oidc");
    if (b == nullptr) {
      return Status::InvalidArgument("the auth mode is not oidc", "BAD_REQUEST");
    }
    std::string state = RandomHex(16), nonce = RandomHex(16);
    BERTH_ASSIGN_OR_RETURN(std::string url, b->LoginBegin(redirect_uri, state, nonce));
    // The state and nonce ride in a short-lived cookie: any node can finish.
    ctx.response.add("Set-Cookie", "oidc_state=" + state + "." + nonce +
                                       "; Path=/c/oidc; HttpOnly; SameSite=Lax; Max-Age=600");
    return Redirect(ctx, url);
  });
  r.Add("GET", "/c/oidc/callback", "oidc_callback",
        [&auth, &sessions, &audit, redirect_uri](ApiCall& call) -> Status {
          auto& ctx = call.ctx;
          auto b = auth.BackendFor("oidc");
          if (b == nullptr) {
            return Status::InvalidArgument("the auth mode is not oidc", "BAD_REQUEST");
          }
          Poco::Net::NameValueCollection cookies;
          ctx.request.getCookies(cookies);
          std::string saved = cookies.get("oidc_state", "");
          size_t dot = saved.find('.');
          std::string state = ctx.query.Get("state");
          if (dot == std::string::npos || state.size() != dot ||
              CRYPTO_memcmp(state.data(), saved.data(), dot) != 0) {
            return Status::Unauthenticated("the sign-in state does not match; start again", "UNAUTHORIZED");
          }
          if (ctx.query.Has("error")) {
            return Status::Unauthenticated("the identity provider refused: " + ctx.query.Get("error"),
                                           "UNAUTHORIZED");
          }
          std::string nonce = saved.substr(dot + 1);
          auto done = b->LoginCallback(redirect_uri, ctx.query.Get("code"), nonce);
          if (!done.ok()) {
            audit.Record({0, 0, "", "oidc", "user", "login", "failure", 0, {}});
            return Status::Unauthenticated(done.status().message(), "UNAUTHORIZED");
          }
          BERTH_ASSIGN_OR_RETURN(Identity who, auth.Onboard(done->first, "oidc"));
          BERTH_ASSIGN_OR_RETURN(ActiveSession s, sessions.Start(ctx, who.user_id));
          ctx.identity = s.identity;
          ctx.response.add("Set-Cookie", "oidc_state=; Path=/c/oidc; HttpOnly; SameSite=Lax; Max-Age=0");
          audit.Record({0, 0, who.username, who.username, "user", "login", "success", 0, {}});
          return Redirect(ctx, "/");
        });
}

}  // namespace berth
