#include "api/cve_allowlist_api.h"

#include "api/api_util.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

}  // namespace

StatusOr<CveAllowlistSpec> CveAllowlistFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Bad("the CVE allowlist must be a JSON object");
  CveAllowlistSpec spec;
  if (auto e = j.find("expires_at"); e != j.end() && !e->is_null()) {
    if (!e->is_number_integer()) {
      return Bad("expires_at must be an integer (unix seconds) or null (never expires)");
    }
    spec.expires_at = e->get<int64_t>();
  }
  if (auto items = j.find("items"); items != j.end() && !items->is_null()) {
    if (!items->is_array()) return Bad("items must be an array of {\"cve_id\": \"...\"}");
    for (const auto& it : *items) {
      auto id = it.is_object() ? it.find("cve_id") : it.end();
      if (!it.is_object() || id == it.end() || !id->is_string()) {
        return Bad("each item of items must be an object with a string cve_id");
      }
      spec.items.push_back(id->get<std::string>());
    }
  }
  BERTH_RETURN_IF_ERROR(ValidateCveAllowlist(spec));
  return spec;
}

nlohmann::json CveAllowlistJson(const CveAllowlistRecord& r) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& id : r.items) items.push_back({{"cve_id", id}});
  nlohmann::json j = {{"id", r.id},
                      {"project_id", r.project_id},
                      {"items", items},
                      {"creation_time", ApiTime(r.creation_time)},
                      {"update_time", ApiTime(r.update_time)}};
  if (r.expires_at) j["expires_at"] = *r.expires_at;
  return j;
}

void RegisterCveAllowlistApi(ApiRouter& r, CveAllowlistController& c) {
  constexpr char kPath[] = "/api/v2.0/system/CVEAllowlist";
  r.Add("GET", kPath, "system_cve_allowlist", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto list, c.System(call.ctx.identity));
    return SendJsonValue(call.ctx, 200, CveAllowlistJson(list));
  });
  r.Add("PUT", kPath, "system_cve_allowlist", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    // Permission before the body: an anonymous caller learns nothing from 400s.
    BERTH_RETURN_IF_ERROR(c.CheckSetSystem(ctx.identity));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(auto spec, CveAllowlistFromJson(body));
    BERTH_RETURN_IF_ERROR(c.SetSystem(ctx.identity, std::move(spec)).status());
    return SendOk(ctx);
  });
}

}  // namespace berth
