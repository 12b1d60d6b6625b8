#include "api/immutable_api.h"

#include "api/api_util.h"
#include "common/strings.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/projects/{project_name_or_id}/immutabletagrules";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// A member error of a nested object, with the object's path in front.
Status Within(const std::string& field, const Status& s) {
  return s.ok() ? s : Bad(field + "." + s.message());
}

nlohmann::json SelectorJson(const Selector& s) {
  return {{"kind", s.kind}, {"decoration", s.decoration}, {"pattern", s.pattern}};
}

StatusOr<Selector> SelectorFrom(const nlohmann::json& j, const std::string& field) {
  if (!j.is_object()) return Bad(field + " must be an object");
  Selector s;
  auto kind = JsonString(j, "kind", false);
  BERTH_RETURN_IF_ERROR(Within(field, kind.status()));
  auto decoration = JsonString(j, "decoration", false);
  BERTH_RETURN_IF_ERROR(Within(field, decoration.status()));
  auto pattern = JsonString(j, "pattern", false);
  BERTH_RETURN_IF_ERROR(Within(field, pattern.status()));
  // (extras: Harbor's doublestar selectors take none for immutability.)
  s.kind = *kind;
  s.decoration = *decoration;
  s.pattern = *pattern;
  return s;
}

// The one selector of `list`: Harbor's matcher reads only the first, so a
// second would be silently ignored there; here it is refused.
StatusOr<Selector> OnlySelector(const nlohmann::json* list, const std::string& field) {
  if (list == nullptr || list->is_null()) return Bad(field + " is required");
  if (!list->is_array()) return Bad(field + " must be an array");
  if (list->size() != 1) return Bad(field + " must hold exactly one selector");
  return SelectorFrom((*list)[0], field + "[0]");
}

StatusOr<ImmutableRuleRecord> RuleFrom(const nlohmann::json& body) {
  ImmutableRuleRecord r;
  BERTH_ASSIGN_OR_RETURN(r.priority, JsonInt(body, "priority", 0));
  BERTH_ASSIGN_OR_RETURN(r.disabled, JsonBool(body, "disabled", false));
  BERTH_ASSIGN_OR_RETURN(std::string action, JsonString(body, "action", false));
  BERTH_ASSIGN_OR_RETURN(std::string tmpl, JsonString(body, "template", false));
  if (!action.empty()) r.action = action;
  if (!tmpl.empty()) r.template_name = tmpl;
  auto tags = body.find("tag_selectors");
  BERTH_ASSIGN_OR_RETURN(r.tag, OnlySelector(tags == body.end() ? nullptr : &*tags,
                                             "tag_selectors"));
  auto scopes = body.find("scope_selectors");
  if (scopes == body.end() || scopes->is_null()) return Bad("scope_selectors is required");
  if (!scopes->is_object()) return Bad("scope_selectors must be an object");
  for (const auto& [key, value] : scopes->items()) {
    if (key != "repository") {
      return Bad("scope_selectors." + key + ": unsupported scope (only repository)");
    }
  }
  auto repo = scopes->find("repository");
  BERTH_ASSIGN_OR_RETURN(r.repository,
                         OnlySelector(repo == scopes->end() ? nullptr : &*repo,
                                      "scope_selectors.repository"));
  return r;
}

}  // namespace

nlohmann::json ImmutableRuleJson(const ImmutableRuleRecord& r) {
  return {{"id", r.id},
          {"priority", r.priority},
          {"disabled", r.disabled},
          {"action", r.action},
          {"template", r.template_name},
          {"tag_selectors", nlohmann::json::array({SelectorJson(r.tag)})},
          {"scope_selectors", {{"repository", nlohmann::json::array({SelectorJson(r.repository)})}}}};
}

void RegisterImmutableApi(ApiRouter& r, ImmutableController& c, ProjectController& projects) {
  auto project_of = [&projects](ApiCall& call) {
    return projects.Resolve(call.Param("project_name_or_id"), IsNameHeader(call.ctx));
  };

  r.Add("GET", kBase, "immutabletagrules", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, p, q));
    return SendPage(call.ctx, q, page, ImmutableRuleJson);
  });

  r.Add("POST", kBase, "immutabletagrules", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    // Authorisation before the body, so callers without rights learn nothing.
    BERTH_RETURN_IF_ERROR(c.Authorize(call.ctx.identity, p, "create"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ImmutableRuleRecord rule, RuleFrom(body));
    BERTH_ASSIGN_OR_RETURN(ImmutableRuleRecord made, c.Create(call.ctx.identity, p, rule));
    std::string path = call.ctx.raw_path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    return SendCreated(call.ctx, path + "/" + std::to_string(made.id));
  });

  std::string one = std::string(kBase) + "/{immutable_rule_id}";
  r.Add("PUT", one, "immutabletagrule", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("immutable_rule_id"), "immutable_rule_id"));
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    BERTH_RETURN_IF_ERROR(c.Authorize(call.ctx.identity, p, "update"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    // Harbor requires the body's id; an absent one is taken as the path's.
    BERTH_ASSIGN_OR_RETURN(int64_t body_id, JsonInt(body, "id", id));
    if (body_id != id) {
      return Bad("the immutable_rule_id doesn't match the id in the payload body of ImmutableRule");
    }
    BERTH_ASSIGN_OR_RETURN(ImmutableRuleRecord rule, RuleFrom(body));
    rule.id = id;
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, p, rule));
    return SendOk(call.ctx);
  });

  r.Add("DELETE", one, "immutabletagrule", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("immutable_rule_id"), "immutable_rule_id"));
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, p, id));
    return SendOk(call.ctx);
  });
}

}  // namespace berth
