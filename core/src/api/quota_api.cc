#include "api/quota_api.h"

#include <limits>

#include "api/api_util.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/quotas";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

nlohmann::json QuotaJson(const QuotaRecord& q) {
  nlohmann::json ref = nlohmann::json::object();
  if (q.reference == "project") {
    ref = {{"id", q.reference_id}, {"name", q.ref_name}, {"owner_name", q.ref_owner_name}};
  }
  return {{"id", q.id},
          {"ref", ref},
          {"hard", StorageResourceList(q.hard_storage)},
          {"used", StorageResourceList(q.used_storage)},
          {"creation_time", ApiTime(q.creation_time)},
          {"update_time", ApiTime(q.update_time)}};
}

// QuotaUpdateReq: {"hard": {"<resource>": <int64>, ...}}.
StatusOr<std::map<std::string, int64_t>> HardFrom(const nlohmann::json& body) {
  auto h = body.find("hard");
  if (h == body.end() || h->is_null()) return Bad("hard is required, e.g. {\"hard\":{\"storage\":1073741824}}");
  if (!h->is_object()) return Bad("hard must be an object of resource limits");
  std::map<std::string, int64_t> out;
  for (const auto& [name, v] : h->items()) {
    bool fits = v.is_number_integer() &&
                (!v.is_number_unsigned() ||
                 v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    if (!fits) return Bad("hard." + name + " must be an integer number of bytes");
    out[name] = v.get<int64_t>();
  }
  return out;
}

}  // namespace

nlohmann::json StorageResourceList(int64_t bytes) { return {{"storage", bytes}}; }

void RegisterQuotaApi(ApiRouter& r, QuotaController& c) {
  r.Add("GET", kBase, "quotas", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(ctx.identity, ctx.query.Get("reference"),
                                             ctx.query.Get("reference_id"), q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : page.items) out.push_back(QuotaJson(item));
    SetPagination(ctx, q, page.total);
    return SendJsonValue(ctx, 200, out);
  });

  std::string one = std::string(kBase) + "/{id}";
  r.Add("GET", one, "quota", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(QuotaRecord q, c.Get(ctx.identity, id));
    return SendJsonValue(ctx, 200, QuotaJson(q));
  });

  r.Add("PUT", one, "quota", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    // Authorisation before the body, so callers without rights learn nothing.
    BERTH_RETURN_IF_ERROR(c.AuthorizeUpdate(ctx.identity));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(auto hard, HardFrom(body));
    BERTH_RETURN_IF_ERROR(c.UpdateHard(ctx.identity, id, hard));
    return SendOk(ctx);
  });
}

}  // namespace berth
