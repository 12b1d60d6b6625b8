#include "api/trusted_key_api.h"

#include "api/api_util.h"
#include "common/strings.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/projects/{project_name_or_id}/trusted-keys";

nlohmann::json KeyJson(const TrustedKeyRecord& k) {
  return {{"id", k.id},
          {"project_id", k.project_id},
          {"description", k.description},
          {"algorithm", k.algorithm},
          {"fingerprint", k.fingerprint},
          {"public_key", k.public_key},
          {"creator", k.creator},
          {"creation_time", ApiTime(k.creation_time)}};
}

StatusOr<ProjectRecord> ProjectOfCall(ApiCall& call, ProjectController& projects) {
  bool by_name = IsNameHeader(call.ctx);
  return projects.Resolve(call.Param("project_name_or_id"), by_name);
}

}  // namespace

void RegisterTrustedKeyApi(ApiRouter& r, TrustedKeyController& c, ProjectController& projects) {
  r.Add("GET", kBase, "trusted_keys", [&c, &projects](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, ProjectOfCall(call, projects));
    BERTH_ASSIGN_OR_RETURN(auto keys, c.List(ctx.identity, p));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : keys) out.push_back(KeyJson(k));
    ctx.response.set("X-Total-Count", std::to_string(keys.size()));
    return SendJsonValue(ctx, 200, out);
  });

  r.Add("POST", kBase, "trusted_keys", [&c, &projects](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(ctx));
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, ProjectOfCall(call, projects));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(std::string pem, JsonString(body, "public_key", true));
    BERTH_ASSIGN_OR_RETURN(std::string description, JsonString(body, "description", false));
    BERTH_ASSIGN_OR_RETURN(TrustedKeyRecord k, c.Add(ctx.identity, p, pem, description));
    return SendCreated(ctx, "/api/v2.0/projects/" + call.Param("project_name_or_id") +
                                "/trusted-keys/" + std::to_string(k.id));
  });

  std::string one = std::string(kBase) + "/{key_id}";
  r.Add("GET", one, "trusted_key", [&c, &projects](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, ProjectOfCall(call, projects));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("key_id"), "key_id"));
    BERTH_ASSIGN_OR_RETURN(TrustedKeyRecord k, c.Get(ctx.identity, p, id));
    return SendJsonValue(ctx, 200, KeyJson(k));
  });

  r.Add("DELETE", one, "trusted_key", [&c, &projects](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, ProjectOfCall(call, projects));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("key_id"), "key_id"));
    BERTH_RETURN_IF_ERROR(c.Delete(ctx.identity, p, id));
    return SendOk(ctx);
  });
}

}  // namespace berth
