#include "auth/token_handler.h"

#include <nlohmann/json.hpp>

#include "auth/registry_access.h"
#include "common/clock.h"
#include "http/response.h"

namespace berth {

void TokenHandler::Handle(RequestContext& ctx) {
  ctx.route = "token";
  if (ctx.method != "GET") {
    return SendApiError(ctx, Status(Code::kMethodNotAllowed, "use GET", "METHOD_NOT_ALLOWED"));
  }
  std::string service = ctx.query.Get("service");
  if (service != tokens_.options().service) {
    return SendApiError(ctx, Status::InvalidArgument("invalid service: '" + service + "'", "BAD_REQUEST"));
  }
  std::vector<TokenScope> scopes;
  for (const auto& value : ctx.query.GetAll("scope")) {
    auto parsed = ParseScopes(value);
    if (!parsed.ok()) return SendApiError(ctx, parsed.status());
    scopes.insert(scopes.end(), parsed->begin(), parsed->end());
  }

  Identity who;
  std::string header = ctx.Header("Authorization");
  if (!header.empty()) {
    std::string user, password;
    if (!ParseBasicAuthorization(header, &user, &password)) {
      ctx.response.set("WWW-Authenticate", "Basic realm=\"harbor\"");
      return SendApiError(ctx, Status::Unauthenticated("malformed Authorization header", "UNAUTHORIZED"));
    }
    auto id = auth_.Password(user, password, ctx.client_address);
    if (!id.ok()) {
      if (id.status().code() == Code::kUnauthenticated) {
        ctx.response.set("WWW-Authenticate", "Basic realm=\"harbor\"");
      }
      return SendApiError(ctx, id.status());
    }
    who = *id;
  } else if (session_) {
    auto id = session_(ctx);
    if (id.ok() && *id) who = **id;
  }
  // `docker login` asks for a token without a scope: that needs credentials.
  if (!who.authenticated() && scopes.empty()) {
    ctx.response.set("WWW-Authenticate", "Basic realm=\"harbor\"");
    return SendApiError(ctx, Status::Unauthenticated("authentication required", "UNAUTHORIZED"));
  }
  ctx.identity = who;

  std::vector<TokenAccess> access;
  for (const auto& s : scopes) {
    TokenAccess a{s.type, s.name, {}};
    if (s.type == "repository") {
      auto project = projects_.GetByName(ProjectOf(s.name));
      if (!project.ok()) return SendApiError(ctx, project.status());
      if (*project) {
        auto actions = evaluator_.RepositoryActions(who, **project);
        if (!actions.ok()) return SendApiError(ctx, actions.status());
        a.actions = *actions;
      }
    } else if (s.type == "registry" && s.name == "catalog") {
      if (who.sysadmin) a.actions = s.actions;
    }
    access.push_back(std::move(a));
  }
  // `podman search` lists /v2/_catalog with the token it got without a
  // scope (as at login) and never asks for registry:catalog:*. Harbor
  // refuses it even to administrators; Berth puts the catalog into an
  // administrator's scope-less token, so the search works. Others' tokens
  // stay empty, and the catalog answers them 401 as Harbor does.
  if (scopes.empty() && who.sysadmin) access.push_back({"registry", "catalog", {"*"}});
  auto issued = tokens_.Issue(who.username, access);
  if (!issued.ok()) return SendApiError(ctx, issued.status());
  nlohmann::json body = {{"token", issued->token},
                         {"access_token", ""},
                         {"expires_in", issued->expires_in},
                         {"issued_at", FormatRfc3339(issued->issued_at)}};
  ctx.response.set("Cache-Control", "no-store");
  SendJson(ctx, 200, body.dump());
}

}  // namespace berth
