#include "api/registry_api.h"

#include "api/api_util.h"

namespace berth {

namespace {
constexpr char kBase[] = "/api/v2.0/registries";
}  // namespace

void RegisterRegistryApi(ApiRouter& r, RemoteRegistryController& c) {
  r.Add("POST", kBase, "registries", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, c.Create(call.ctx.identity, body));
    return SendCreated(call.ctx, std::string(kBase) + "/" + std::to_string(id));
  });
  r.Add("GET", kBase, "registries", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    // The deprecated name parameter: a fuzzy match, as Harbor's.
    if (std::string name = call.ctx.query.Get("name"); !name.empty()) {
      q.terms.push_back({"name", QueryTerm::Op::kFuzzy, {name}});
    }
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& reg : page.items) out.push_back(RemoteRegistryJson(reg));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });
  // Before /{id}: "ping" is not an id.
  r.Add("POST", std::string(kBase) + "/ping", "registry_ping", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(c.Ping(call.ctx.identity, body));
    return SendOk(call.ctx);
  });
  r.Add("GET", std::string(kBase) + "/{id}", "registry", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto reg, c.Get(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, RemoteRegistryJson(reg));
  });
  r.Add("PUT", std::string(kBase) + "/{id}", "registry", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, id, body));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", std::string(kBase) + "/{id}", "registry", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, id));
    return SendOk(call.ctx);
  });
  r.Add("GET", std::string(kBase) + "/{id}/info", "registry_info", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto info, c.Info(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, info);
  });
  r.Add("GET", "/api/v2.0/replication/adapters", "replication_adapters", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto types, c.Adapters(call.ctx.identity));
    return SendJsonValue(call.ctx, 200, types);
  });
  r.Add("GET", "/api/v2.0/replication/adapterinfos", "replication_adapterinfos",
        [&c](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(auto infos, c.AdapterInfos(call.ctx.identity));
          return SendJsonValue(call.ctx, 200, infos);
        });
}

}  // namespace berth
