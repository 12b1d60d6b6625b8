#include "retention/retention_policy.h"

#include <cmath>
#include <set>

#include "common/strings.h"
#include "policy/doublestar.h"

namespace berth {

namespace {

using json = nlohmann::json;

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument(field + " " + why, "BAD_REQUEST");
}

struct TemplateInfo {
  const char* id;
  const char* display;
  const char* unit;   // "" when the template has no parameter
  int64_t max;        // Harbor's upper bound on the parameter
  bool offered;       // listed by GET /retentions/metadatas (as Harbor's)
};

const TemplateInfo kTemplates[] = {
    {kTplLatestPushedK, "the most recently pushed # artifacts", "COUNT", 32766, true},
    {kTplLatestPulledN, "the most recently pulled # artifacts", "COUNT", 32766, true},
    {kTplDaysSinceLastPush, "pushed within the last # days", "DAYS", 20190904, true},
    {kTplDaysSinceLastPull, "pulled within the last # days", "DAYS", 20190904, true},
    {kTplAlways, "always", "", 0, true},
    // Implemented by Harbor too, but not offered by its metadata.
    {kTplLatestActiveK, "the most recently active # artifacts", "COUNT", 32766, false},
    {kTplLastXDays, "the artifacts from the last # days", "DAYS", 20190904, false},
    {kTplNothing, "none", "", 0, false},
};

const TemplateInfo* FindTemplate(const std::string& id) {
  for (const auto& t : kTemplates) {
    if (id == t.id) return &t;
  }
  return nullptr;
}

StatusOr<std::string> OptString(const json& j, const char* key, const std::string& field) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Bad(field + "." + key, "must be a string");
  return it->get<std::string>();
}

StatusOr<int64_t> OptInt(const json& j, const char* key, const std::string& field) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return int64_t{0};
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  return Bad(field + "." + key, "must be an integer");
}

// Harbor's ParseJSONInt: a number, or a string holding one.
std::optional<int64_t> ParamInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
    return std::nullopt;
  }
  if (v.is_string()) return ParseInt64(Trim(v.get<std::string>()));
  return std::nullopt;
}

StatusOr<RetentionSelector> ParseSelector(const json& j, const std::string& field, bool scope) {
  if (!j.is_object()) return Bad(field, "must be an object");
  RetentionSelector s;
  BERTH_ASSIGN_OR_RETURN(s.kind, OptString(j, "kind", field));
  BERTH_ASSIGN_OR_RETURN(s.decoration, OptString(j, "decoration", field));
  BERTH_ASSIGN_OR_RETURN(s.pattern, OptString(j, "pattern", field));
  BERTH_ASSIGN_OR_RETURN(s.extras, OptString(j, "extras", field));
  if (scope) {
    if (s.kind != "doublestar") return Bad(field + ".kind", "must be doublestar");
    if (s.decoration != "repoMatches" && s.decoration != "repoExcludes") {
      return Bad(field + ".decoration", "must be repoMatches or repoExcludes");
    }
  } else if (s.kind == "doublestar") {
    if (s.decoration != "matches" && s.decoration != "excludes") {
      return Bad(field + ".decoration", "must be matches or excludes");
    }
    s.untagged = s.decoration == "matches";
    if (!s.extras.empty()) {
      json extras = json::parse(s.extras, nullptr, false);
      if (extras.is_discarded() || !extras.is_object()) {
        return Bad(field + ".extras", "must be a JSON object such as {\"untagged\":true}");
      }
      if (auto u = extras.find("untagged"); u != extras.end()) {
        if (!u->is_boolean()) return Bad(field + ".extras.untagged", "must be a boolean");
        s.untagged = u->get<bool>();
      }
    }
  } else if (s.kind == "label") {
    if (s.decoration != "withLabels" && s.decoration != "withoutLabels") {
      return Bad(field + ".decoration", "must be withLabels or withoutLabels");
    }
    return s;  // the pattern is a comma-separated list of label names
  } else {
    return Bad(field + ".kind", "must be doublestar or label");
  }
  Status v = ValidateDoublestar(s.pattern);
  if (!v.ok()) return Bad(field + ".pattern", "is not a valid pattern: " + v.message());
  return s;
}

json SelectorJson(const RetentionSelector& s) {
  return {{"kind", s.kind}, {"decoration", s.decoration}, {"pattern", s.pattern},
          {"extras", s.extras}};
}

json RuleJson(const RetentionRule& r, bool with_id) {
  json tags = json::array();
  for (const auto& s : r.tag_selectors) tags.push_back(SelectorJson(s));
  json scopes = json::object();
  for (const auto& [k, list] : r.scope_selectors) {
    json a = json::array();
    for (const auto& s : list) a.push_back(SelectorJson(s));
    scopes[k] = a;
  }
  json out = {{"priority", r.priority}, {"disabled", r.disabled}, {"action", r.action},
              {"template", r.template_id}, {"params", r.params}, {"tag_selectors", tags},
              {"scope_selectors", scopes}};
  if (with_id) out["id"] = r.id;
  return out;
}

StatusOr<RetentionRule> ParseRule(const json& j, const std::string& field) {
  if (!j.is_object()) return Bad(field, "must be an object");
  RetentionRule r;
  BERTH_ASSIGN_OR_RETURN(r.id, OptInt(j, "id", field));
  BERTH_ASSIGN_OR_RETURN(r.priority, OptInt(j, "priority", field));
  if (auto d = j.find("disabled"); d != j.end() && !d->is_null()) {
    if (!d->is_boolean()) return Bad(field + ".disabled", "must be a boolean");
    r.disabled = d->get<bool>();
  }
  BERTH_ASSIGN_OR_RETURN(r.action, OptString(j, "action", field));
  if (r.action != "retain") return Bad(field + ".action", "must be retain");
  BERTH_ASSIGN_OR_RETURN(r.template_id, OptString(j, "template", field));
  const TemplateInfo* t = FindTemplate(r.template_id);
  if (t == nullptr) {
    return Bad(field + ".template", "'" + r.template_id + "' is not a known template");
  }
  if (auto p = j.find("params"); p != j.end() && !p->is_null()) {
    if (!p->is_object()) return Bad(field + ".params", "must be an object");
    r.params = *p;
  }
  if (t->unit[0] != '\0') {
    std::string pf = field + ".params." + r.template_id;
    auto v = r.params.find(r.template_id);
    if (v == r.params.end() || v->is_null()) return Bad(pf, "is required");
    auto n = ParamInt(*v);
    if (!n) return Bad(pf, "must be an integer");
    if (*n < 0) return Bad(pf, "is less than zero");
    if (*n > t->max) return Bad(pf, "is too large");
    r.param = *n;
  }
  auto tags = j.find("tag_selectors");
  if (tags == j.end() || !tags->is_array() || tags->empty()) {
    return Bad(field + ".tag_selectors", "is required (at least one selector)");
  }
  for (size_t i = 0; i < tags->size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(auto s, ParseSelector((*tags)[i], field + ".tag_selectors[" +
                                                                 std::to_string(i) + "]",
                                                 false));
    r.tag_selectors.push_back(std::move(s));
  }
  auto scopes = j.find("scope_selectors");
  if (scopes != j.end() && !scopes->is_null()) {
    if (!scopes->is_object()) return Bad(field + ".scope_selectors", "must be an object");
    for (const auto& [key, list] : scopes->items()) {
      std::string sf = field + ".scope_selectors." + key;
      if (key != "repository") return Bad(sf, "is not supported (only repository)");
      if (!list.is_array()) return Bad(sf, "must be an array");
      for (size_t i = 0; i < list.size(); ++i) {
        BERTH_ASSIGN_OR_RETURN(auto s, ParseSelector(list[i], sf + "[" + std::to_string(i) + "]",
                                                     true));
        r.scope_selectors[key].push_back(std::move(s));
      }
    }
  }
  return r;
}

}  // namespace

StatusOr<RetentionPolicy> ParseRetentionPolicy(const json& body) {
  if (!body.is_object()) return Bad("policy", "must be an object");
  RetentionPolicy p;
  BERTH_ASSIGN_OR_RETURN(p.algorithm, OptString(body, "algorithm", "policy"));
  if (p.algorithm != "or") return Bad("algorithm", "must be or");
  auto rules = body.find("rules");
  if (rules != body.end() && !rules->is_null()) {
    if (!rules->is_array()) return Bad("rules", "must be an array");
    if (rules->size() > kMaxRetentionRules) {
      return Bad("rules", "has " + std::to_string(rules->size()) + " rules; only 15 rules are "
                          "allowed at most");
    }
    for (size_t i = 0; i < rules->size(); ++i) {
      BERTH_ASSIGN_OR_RETURN(auto r, ParseRule((*rules)[i], "rules[" + std::to_string(i) + "]"));
      p.rules.push_back(std::move(r));
    }
  }
  // Harbor's checkRuleConflict: the same rule twice (ids aside) is a 409.
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < p.rules.size(); ++i) {
    std::string key = RuleJson(p.rules[i], false).dump();
    auto [it, fresh] = seen.emplace(key, i);
    if (!fresh) {
      return Status::Conflict("rules[" + std::to_string(i) + "] is conflict with rules[" +
                                  std::to_string(it->second) + "]",
                              "CONFLICT");
    }
  }
  auto trigger = body.find("trigger");
  if (trigger == body.end() || !trigger->is_object()) {
    return Bad("trigger", "is required and must be an object");
  }
  BERTH_ASSIGN_OR_RETURN(p.trigger_kind, OptString(*trigger, "kind", "trigger"));
  if (p.trigger_kind != "Schedule") return Bad("trigger.kind", "must be Schedule");
  if (auto s = trigger->find("settings"); s != trigger->end() && !s->is_null()) {
    if (!s->is_object()) return Bad("trigger.settings", "must be an object");
    BERTH_ASSIGN_OR_RETURN(p.cron, OptString(*s, "cron", "trigger.settings"));
    p.cron = std::string(Trim(p.cron));
  }
  if (auto r = trigger->find("references"); r != trigger->end() && r->is_object()) {
    p.trigger_references = *r;
  }
  auto scope = body.find("scope");
  if (scope == body.end() || !scope->is_object()) {
    return Bad("scope", "is required and must be an object");
  }
  BERTH_ASSIGN_OR_RETURN(p.scope_level, OptString(*scope, "level", "scope"));
  if (p.scope_level != "project") return Bad("scope.level", "'" + p.scope_level + "' is not supported");
  BERTH_ASSIGN_OR_RETURN(p.project_id, OptInt(*scope, "ref", "scope"));
  if (p.project_id <= 0) return Bad("scope.ref", "must be a project id");
  return p;
}

json RetentionPolicyJson(const RetentionPolicy& p) {
  json rules = json::array();
  for (const auto& r : p.rules) rules.push_back(RuleJson(r, true));
  return {{"id", p.id},
          {"algorithm", p.algorithm},
          {"rules", rules},
          {"trigger",
           {{"kind", p.trigger_kind},
            {"settings", {{"cron", p.cron}}},
            {"references", p.trigger_references}}},
          {"scope", {{"level", p.scope_level}, {"ref", p.project_id}}}};
}

json RetentionMetadataJson() {
  json templates = json::array();
  for (const auto& t : kTemplates) {
    if (!t.offered) continue;
    json params = json::array();
    if (t.unit[0] != '\0') params.push_back({{"type", "int"}, {"unit", t.unit}, {"required", true}});
    templates.push_back({{"rule_template", t.id},
                         {"display_text", t.display},
                         {"action", "retain"},
                         {"params", params}});
  }
  return {{"templates", templates},
          {"scope_selectors",
           json::array({{{"display_text", "Repositories"},
                         {"kind", "doublestar"},
                         {"decorations", json::array({"repoMatches", "repoExcludes"})}}})},
          {"tag_selectors",
           json::array({{{"display_text", "Tags"},
                         {"kind", "doublestar"},
                         {"decorations", json::array({"matches", "excludes"})}}})}};
}

}  // namespace berth
