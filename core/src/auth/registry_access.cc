#include "auth/registry_access.h"

#include <algorithm>

#include "common/base64.h"
#include "common/strings.h"

namespace berth {

bool ParseBasicAuthorization(const std::string& header, std::string* user, std::string* password) {
  std::string_view h = Trim(header);
  if (h.size() < 6 || !EqualsIgnoreCase(h.substr(0, 6), "basic ")) return false;
  auto decoded = Base64Decode(Trim(h.substr(6)));
  if (!decoded) return false;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  *user = decoded->substr(0, colon);
  *password = decoded->substr(colon + 1);
  return true;
}

std::string ProjectOf(const std::string& repository) {
  return repository.substr(0, repository.find('/'));
}

RegistryAccess::RegistryAccess(Authenticator& auth, TokenService& tokens, ProjectStore& projects,
                               AccessEvaluator& evaluator, std::string external_url,
                               bool external_url_explicit)
    : auth_(auth),
      tokens_(tokens),
      projects_(projects),
      evaluator_(evaluator),
      external_url_(std::move(external_url)),
      external_url_explicit_(external_url_explicit) {}

std::string RegistryAccess::Realm(const RequestContext& ctx) const {
  std::string host = ctx.request.getHost();
  if (external_url_explicit_ || host.empty()) return external_url_ + "/service/token";
  std::string scheme = external_url_.substr(0, external_url_.find("://"));
  return scheme + "://" + host + "/service/token";
}

Status RegistryAccess::Authenticate(RequestContext& ctx) {
  std::string header = ctx.Header("Authorization");
  if (header.empty()) return {};
  std::string_view h = Trim(header);
  if (h.size() > 7 && EqualsIgnoreCase(h.substr(0, 7), "bearer ")) {
    auto id = tokens_.Verify(Trim(h.substr(7)));
    if (!id.ok()) {
      ctx.response.set("WWW-Authenticate",
                       "Bearer realm=\"" + Realm(ctx) + "\",service=\"" + tokens_.options().service +
                           "\",error=\"invalid_token\"");
      return id.status();
    }
    ctx.identity = *id;
    return {};
  }
  std::string user, password;
  if (!ParseBasicAuthorization(header, &user, &password)) {
    ctx.response.set("WWW-Authenticate", "Basic realm=\"harbor\"");
    return Status::Unauthenticated("malformed Authorization header", "UNAUTHORIZED");
  }
  auto id = auth_.Password(user, password, ctx.client_address);
  if (!id.ok()) {
    if (id.status().code() == Code::kUnauthenticated) {
      ctx.response.set("WWW-Authenticate", "Basic realm=\"harbor\"");
    }
    return id.status();
  }
  ctx.identity = *id;
  return {};
}

Status RegistryAccess::Challenge(RequestContext& ctx, const std::string& scope,
                                 const std::string& why) {
  std::string v = "Bearer realm=\"" + Realm(ctx) + "\",service=\"" + tokens_.options().service + "\"";
  if (!scope.empty()) v += ",scope=\"" + scope + "\"";
  ctx.response.set("WWW-Authenticate", v);
  return Status::Unauthenticated(why, "UNAUTHORIZED");
}

StatusOr<bool> RegistryAccess::Allowed(RequestContext& ctx, const std::string& repo,
                                       const std::string& action) {
  BERTH_ASSIGN_OR_RETURN(auto project, projects_.GetByName(ProjectOf(repo)));
  if (!project) return false;
  return Allowed(ctx.identity, *project, repo, action);
}

StatusOr<bool> RegistryAccess::Allowed(const Identity& who, const ProjectRecord& project,
                                       const std::string& repo, const std::string& action) {
  if (who.kind == Identity::Kind::kToken) {
    // A token issued before the project was (re)created speaks of another project.
    if (who.token_issued_at * 1000 < project.creation_time - 1000) return false;
    for (const auto& a : who.token_access) {
      if (a.type != "repository" || a.name != repo) continue;
      for (const auto& act : a.actions) {
        if (act == action) return true;
      }
    }
    return false;
  }
  return evaluator_.Can(who, project, "repository", action);
}

Status RegistryAccess::Authorize(RequestContext& ctx, const V2Access& access) {
  BERTH_RETURN_IF_ERROR(Authenticate(ctx));
  const Identity& who = ctx.identity;
  bool anonymous = !who.authenticated();
  if (access.route == V2Route::kBase) {
    if (anonymous) return Challenge(ctx, "", "authentication required");
    return {};
  }
  if (access.route == V2Route::kCatalog) {
    // Harbor's v2auth asks for system "catalog read": administrators, and
    // robots granted it. A token must carry registry:catalog:* -- the token
    // service lists the entry for everyone, with no actions for callers
    // that may not list the catalog.
    bool ok = who.sysadmin ||
              (who.kind == Identity::Kind::kRobot && evaluator_.CanSystem(who, "catalog", "read"));
    if (who.kind == Identity::Kind::kToken) {
      for (const auto& a : who.token_access) {
        if (a.type != "registry" || a.name != "catalog") continue;
        for (const auto& act : a.actions) {
          if (act == "*") ok = true;
        }
      }
    }
    if (ok) return {};
    if (anonymous || who.kind == Identity::Kind::kToken) {
      return Challenge(ctx, "registry:catalog:*", "authentication required");
    }
    return Status::PermissionDenied("the catalog is only for system administrators", "DENIED");
  }
  std::string scope = "repository:" + access.repository + ":" + Join(access.actions, ",");
  // Harbor challenges every anonymous request, public repositories included,
  // so registry clients fetch an (anonymous) token first.
  if (anonymous) return Challenge(ctx, scope, "authentication required");
  BERTH_ASSIGN_OR_RETURN(auto project, projects_.GetByName(ProjectOf(access.repository)));
  if (!project) {
    return Status::NotFound("project " + ProjectOf(access.repository) +
                                " not found: repositories live in projects; create the project first",
                            "NAME_UNKNOWN");
  }
  for (const auto& action : access.actions) {
    BERTH_ASSIGN_OR_RETURN(bool ok, Allowed(who, *project, access.repository, action));
    if (ok) continue;
    std::string msg = "unauthorized to access repository: " + access.repository +
                      ", action: " + action;
    // A token that lacks a scope may be replaced by one that has it.
    if (who.kind == Identity::Kind::kToken) return Challenge(ctx, scope, msg);
    return Status::PermissionDenied(msg, "DENIED");
  }
  // A mount source the caller cannot read is handled by V2Router (CanPull):
  // the mount degrades to a normal upload.
  return {};
}

bool RegistryAccess::CanPull(const RequestContext& ctx, const std::string& repo) {
  auto ok = const_cast<RegistryAccess*>(this)->Allowed(const_cast<RequestContext&>(ctx), repo, "pull");
  return ok.ok() && *ok;
}

bool RegistryTokenGrants(const Identity& who, const std::string& repository, const char* action) {
  if (who.kind != Identity::Kind::kToken) return false;
  for (const auto& a : who.token_access) {
    if (a.type != "repository" || a.name != repository) continue;
    if (std::find(a.actions.begin(), a.actions.end(), action) != a.actions.end()) return true;
  }
  return false;
}

}  // namespace berth
