#include "preheat/preheat_policy.h"

#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "policy/selector.h"
#include "common/vulnerability.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// A doublestar pattern, checked the way immutability and retention check theirs.
Status CheckPattern(const std::string& pattern, SelectorScope scope, const std::string& field) {
  Selector s;
  s.decoration = scope == SelectorScope::kTag ? selectors::kMatches : selectors::kRepoMatches;
  s.pattern = pattern;
  return ValidateSelector(s, scope, field);
}

bool IsTrue(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->second == "true";
}

}  // namespace

Status ValidatePreheatName(const std::string& name, const char* field) {
  static const std::regex kName("^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$");
  if (name.empty()) return Bad(std::string(field) + " is required");
  if (name.size() > 255 || !std::regex_match(name, kName)) {
    return Bad(std::string(field) + " '" + name + "' is invalid: it must match " +
               "^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$");
  }
  return {};
}

StatusOr<PreheatFilters> ParsePreheatFilters(const std::string& text) {
  PreheatFilters f;
  if (Trim(text).empty()) return Bad("filters is required (a JSON array of {type, value})");
  auto a = nlohmann::json::parse(text, nullptr, false);
  if (!a.is_array()) return Bad("filters must be a JSON array of {type, value} objects");
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string field = "filters[" + std::to_string(i) + "]";
    const auto& e = a[i];
    if (!e.is_object() || !e.contains("type") || !e["type"].is_string()) {
      return Bad(field + " must be an object with a string type");
    }
    std::string type = e["type"].get<std::string>();
    const nlohmann::json value = e.value("value", nlohmann::json());
    if (type == "repository" || type == "tag") {
      if (!value.is_string()) return Bad(field + ".value of a " + type + " filter must be a string");
      std::string pattern = value.get<std::string>();
      BERTH_RETURN_IF_ERROR(CheckPattern(
          pattern, type == "tag" ? SelectorScope::kTag : SelectorScope::kRepository,
          field + ".value"));
      (type == "tag" ? f.tag : f.repository) = pattern;
    } else if (type == "label") {
      std::vector<std::string> labels;
      if (value.is_string()) {
        for (const auto& l : Split(value.get<std::string>(), ',')) {
          if (!Trim(l).empty()) labels.emplace_back(Trim(l));
        }
      } else if (value.is_array()) {
        for (const auto& l : value) {
          if (!l.is_string()) return Bad(field + ".value of a label filter must be strings");
          labels.push_back(l.get<std::string>());
        }
      } else if (!value.is_null()) {
        return Bad(field + ".value of a label filter must be an array of label names");
      }
      f.labels = std::move(labels);
    } else if (type == "signature") {
      if (!value.is_boolean()) return Bad(field + ".value of a signature filter must be a boolean");
      f.signature = value.get<bool>();
    } else if (type == "vulnerability") {
      int64_t code = -1;
      if (value.is_number_integer()) {
        code = value.get<int64_t>();
      } else if (value.is_number()) {
        code = static_cast<int64_t>(value.get<double>());
      } else if (value.is_string()) {
        // Harbor's UI sends the code as a string; a severity name is accepted too.
        std::string s = value.get<std::string>();
        if (auto sev = ParseSeverity(s)) {
          code = static_cast<int64_t>(*sev);
        } else if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit) && s.size() < 4) {
          code = std::stoll(s);
        }
      }
      if (code < 0 || code > static_cast<int64_t>(Severity::kCritical)) {
        return Bad(field + ".value of a vulnerability filter must be a severity code 0..5 " +
                   "(None, Unknown, Low, Medium, High, Critical)");
      }
      f.vulnerability = static_cast<int>(code);
    } else {
      return Bad(field + ".type '" + type +
                 "' is invalid: use repository, tag, label, signature or vulnerability");
    }
  }
  return f;
}

StatusOr<PreheatTrigger> ParsePreheatTrigger(const std::string& text) {
  PreheatTrigger t;
  if (Trim(text).empty()) return Bad("trigger is required (a JSON object with a type)");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Bad("trigger must be a JSON object with a string type");
  }
  t.type = j["type"].get<std::string>();
  if (t.type != preheat::kTriggerManual && t.type != preheat::kTriggerScheduled &&
      t.type != preheat::kTriggerEventBased) {
    return Bad("trigger.type '" + t.type + "' is invalid: use manual, scheduled or event_based");
  }
  if (auto s = j.find("trigger_setting"); s != j.end() && !s->is_null()) {
    if (!s->is_object()) return Bad("trigger.trigger_setting must be an object");
    if (auto c = s->find("cron"); c != s->end() && !c->is_null()) {
      if (!c->is_string()) return Bad("trigger.trigger_setting.cron must be a string");
      t.cron = c->get<std::string>();
    }
  }
  if (t.type == preheat::kTriggerScheduled && Trim(t.cron).empty()) {
    return Bad("trigger.trigger_setting.cron cannot be empty when the trigger type is scheduled");
  }
  if (t.type != preheat::kTriggerScheduled) t.cron.clear();
  return t;
}

StatusOr<std::string> ParsePreheatScope(const std::string& scope) {
  if (scope.empty()) return std::string("single_peer");
  for (const char* s : {"single_peer", "all_peers", "single_seed_peer", "all_seed_peers"}) {
    if (scope == s) return scope;
  }
  return Bad("scope '" + scope + "' is invalid: use single_peer or all_peers");
}

Status ValidatePreheatExtraAttrs(const std::string& extra) {
  if (Trim(extra).empty()) return {};
  auto j = nlohmann::json::parse(extra, nullptr, false);
  if (!j.is_object()) return Bad("extra_attrs must be a JSON object");
  if (auto c = j.find("cluster_ids"); c != j.end() && !c->is_null()) {
    if (!c->is_array()) return Bad("extra_attrs.cluster_ids must be an array of integers");
    for (const auto& id : *c) {
      if (!id.is_number_unsigned()) return Bad("extra_attrs.cluster_ids must be an array of integers");
    }
  }
  return {};
}

StatusOr<bool> PreheatFiltersKeep(const PreheatFilters& f, const PreheatCandidate& c) {
  if (!f.repository.empty()) {
    Selector s{selectors::kDoublestar, selectors::kRepoMatches, f.repository};
    BERTH_ASSIGN_OR_RETURN(bool keep, SelectorSelects(s, c.path));
    if (!keep) return false;
  }
  if (!f.tag.empty()) {
    Selector s{selectors::kDoublestar, selectors::kMatches, f.tag};
    BERTH_ASSIGN_OR_RETURN(bool keep, SelectorSelects(s, c.tag));
    if (!keep) return false;
  }
  for (const auto& want : f.labels) {
    if (std::find(c.labels.begin(), c.labels.end(), want) == c.labels.end()) return false;
  }
  if (f.signature.value_or(false) && !c.is_signed) return false;
  if (f.vulnerability && c.severity >= *f.vulnerability) return false;
  return true;
}

std::vector<std::string> ApplyProjectSecurity(const std::map<std::string, std::string>& metadata,
                                              PreheatFilters* f) {
  std::vector<std::string> out;
  if (IsTrue(metadata, "enable_content_trust") || IsTrue(metadata, "enable_content_trust_cosign")) {
    f->signature = true;
    out.push_back("signature=true (the project enforces signed images)");
  }
  if (IsTrue(metadata, "prevent_vul")) {
    auto it = metadata.find("severity");
    if (it != metadata.end()) {
      if (auto sev = ParseSeverity(it->second)) {
        f->vulnerability = static_cast<int>(*sev);
        out.push_back("vulnerability=" + std::string(SeverityName(*sev)) + ":" +
                      std::to_string(static_cast<int>(*sev)) +
                      " (the project prevents vulnerable images)");
      }
    }
  }
  return out;
}

}  // namespace berth
