#include "api/label_api.h"

#include "api/api_util.h"
#include "common/strings.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/labels";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

}  // namespace

nlohmann::json LabelJson(const LabelRecord& l) {
  return {{"id", l.id},
          {"name", l.name},
          {"description", l.description},
          {"color", l.color},
          {"scope", l.scope},
          {"project_id", l.project_id},
          {"creation_time", ApiTime(l.creation_time)},
          {"update_time", ApiTime(l.update_time)}};
}

void RegisterLabelApi(ApiRouter& r, LabelController& c) {
  r.Add("GET", kBase, "labels", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(ctx));
    LabelFilter filter;
    filter.scope = ctx.query.Get("scope");
    if (ctx.query.Has("project_id")) {
      auto id = ParseInt64(ctx.query.Get("project_id"));
      if (!id) return Bad("project_id must be an integer");
      filter.project_id = *id;
    }
    // name: a case-insensitive substring, as Harbor's fuzzy match.
    if (std::string name = ctx.query.Get("name"); !name.empty()) {
      q.terms.push_back({"name", QueryTerm::Op::kFuzzy, {name}});
    }
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(ctx.identity, filter, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : page.items) out.push_back(LabelJson(l));
    SetPagination(ctx, q, page.total);
    return SendJsonValue(ctx, 200, out);
  });

  r.Add("POST", kBase, "labels", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    LabelSpec spec;
    BERTH_ASSIGN_OR_RETURN(spec.name, JsonString(body, "name", false));
    BERTH_ASSIGN_OR_RETURN(spec.description, JsonString(body, "description", false));
    BERTH_ASSIGN_OR_RETURN(spec.color, JsonString(body, "color", false));
    BERTH_ASSIGN_OR_RETURN(spec.scope, JsonString(body, "scope", false));
    BERTH_ASSIGN_OR_RETURN(spec.project_id, JsonInt(body, "project_id", 0));
    BERTH_ASSIGN_OR_RETURN(LabelRecord l, c.Create(ctx.identity, spec));
    return SendCreated(ctx, std::string(kBase) + "/" + std::to_string(l.id));
  });

  std::string one = std::string(kBase) + "/{label_id}";
  r.Add("GET", one, "label", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("label_id"), "label_id"));
    BERTH_ASSIGN_OR_RETURN(LabelRecord l, c.Get(ctx.identity, id));
    return SendJsonValue(ctx, 200, LabelJson(l));
  });

  // Harbor's UpdateLabel replaces name, description and color with the
  // body's (an absent description or color becomes empty).
  r.Add("PUT", one, "label", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("label_id"), "label_id"));
    // Authorisation before the body, so callers without rights learn nothing.
    BERTH_RETURN_IF_ERROR(c.AuthorizeUpdate(ctx.identity, id));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(std::string name, JsonString(body, "name", false));
    BERTH_ASSIGN_OR_RETURN(std::string description, JsonString(body, "description", false));
    BERTH_ASSIGN_OR_RETURN(std::string color, JsonString(body, "color", false));
    BERTH_RETURN_IF_ERROR(c.Update(ctx.identity, id, name, description, color));
    return SendOk(ctx);
  });

  r.Add("DELETE", one, "label", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("label_id"), "label_id"));
    BERTH_RETURN_IF_ERROR(c.Delete(ctx.identity, id));
    return SendOk(ctx);
  });
}

}  // namespace berth
