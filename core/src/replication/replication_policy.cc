#include "replication/replication_policy.h"

#include "common/strings.h"
#include "policy/doublestar.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

int64_t RegistryId(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_object()) return -1;
  auto id = it->find("id");
  if (id == it->end() || !id->is_number_integer()) return -1;
  return id->get<int64_t>();
}

nlohmann::json FiltersJson(const std::vector<ReplicationFilter>& fs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : fs) {
    nlohmann::json j = {{"type", f.type}};
    if (f.type == "label") j["value"] = f.labels;
    else j["value"] = f.value;
    if (!f.decoration.empty()) j["decoration"] = f.decoration;
    a.push_back(j);
  }
  return a;
}

}  // namespace

const ReplicationFilter* FindFilter(const ReplicationPolicy& p, const std::string& type) {
  for (const auto& f : p.filters) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

StatusOr<ReplicationPolicy> ParseReplicationPolicy(const nlohmann::json& body) {
  ReplicationPolicy p;
  auto str = [&](const char* key, std::string* out) -> Status {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return {};
    if (!it->is_string()) return Bad(std::string(key) + " must be a string");
    *out = it->get<std::string>();
    return {};
  };
  auto boolean = [&](const char* key, bool* out) -> Status {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return {};
    if (!it->is_boolean()) return Bad(std::string(key) + " must be a boolean");
    *out = it->get<bool>();
    return {};
  };
  BERTH_RETURN_IF_ERROR(str("name", &p.name));
  if (p.name.empty()) return Bad("name is required");
  if (p.name.size() > 256) return Bad("name is longer than 256 characters");
  BERTH_RETURN_IF_ERROR(str("description", &p.description));
  for (const char* key : {"src_registry", "dest_registry"}) {
    auto it = body.find(key);
    if (it != body.end() && !it->is_null() && !it->is_object()) {
      return Bad(std::string(key) + " must be an object");
    }
  }
  int64_t src = RegistryId(body, "src_registry"), dest = RegistryId(body, "dest_registry");
  p.src_registry_id = src < 0 ? 0 : src;
  p.dest_registry_id = dest < 0 ? 0 : dest;
  if (p.src_registry_id == 0 && p.dest_registry_id == 0) {
    return Bad("either src_registry or dest_registry must be a remote registry");
  }
  if (p.src_registry_id != 0 && p.dest_registry_id != 0) {
    return Bad("either src_registry or dest_registry should be empty (this registry)");
  }
  BERTH_RETURN_IF_ERROR(str("dest_namespace", &p.dest_namespace));
  if (!p.dest_namespace.empty()) {
    for (char c : p.dest_namespace) {
      if (!(islower(static_cast<unsigned char>(c)) || isdigit(static_cast<unsigned char>(c)) ||
            c == '.' || c == '_' || c == '-' || c == '/')) {
        return Bad("dest_namespace '" + p.dest_namespace + "' is invalid");
      }
    }
    if (p.dest_namespace.front() == '/' || p.dest_namespace.back() == '/' ||
        p.dest_namespace.find("//") != std::string::npos || p.dest_namespace.size() > 255) {
      return Bad("dest_namespace '" + p.dest_namespace + "' is invalid");
    }
  }
  if (auto it = body.find("dest_namespace_replace_count"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < -1 || it->get<int64_t>() > 127) {
      return Bad("dest_namespace_replace_count must be an integer from -1 to 127");
    }
    p.dest_namespace_replace_count = it->get<int>();
  }
  if (auto it = body.find("trigger"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("trigger must be an object");
    auto t = it->find("type");
    if (t != it->end() && !t->is_null()) {
      if (!t->is_string()) return Bad("trigger.type must be a string");
      p.trigger = t->get<std::string>();
    }
    auto s = it->find("trigger_settings");
    if (s != it->end() && s->is_object()) {
      auto c = s->find("cron");
      if (c != s->end() && !c->is_null()) {
        if (!c->is_string()) return Bad("trigger.trigger_settings.cron must be a string");
        p.cron = c->get<std::string>();
      }
    }
  }
  if (p.trigger.empty()) p.trigger = "manual";
  if (p.trigger != "manual" && p.trigger != "scheduled" && p.trigger != "event_based") {
    return Bad("invalid trigger type: " + p.trigger);
  }
  if (p.trigger == "scheduled" && p.cron.empty()) return Bad("the cron string cannot be empty");
  if (p.trigger != "scheduled") p.cron.clear();
  if (p.trigger == "event_based" && !p.push_based()) {
    return Bad("the event_based trigger is only for push-based policies");
  }
  if (auto it = body.find("filters"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return Bad("filters must be an array");
    size_t i = 0;
    for (const auto& fj : *it) {
      std::string field = "filters[" + std::to_string(i++) + "]";
      if (!fj.is_object()) return Bad(field + " must be an object");
      ReplicationFilter f;
      f.type = fj.value("type", nlohmann::json()).is_string() ? fj["type"].get<std::string>() : "";
      if (fj.contains("decoration") && !fj["decoration"].is_null()) {
        if (!fj["decoration"].is_string()) return Bad(field + ".decoration must be a string");
        f.decoration = fj["decoration"].get<std::string>();
      }
      const nlohmann::json value = fj.value("value", nlohmann::json());
      if (f.type == "name" || f.type == "tag" || f.type == "resource") {
        if (!value.is_string()) return Bad(field + ".value must be a string");
        f.value = value.get<std::string>();
        if (f.type == "resource" && f.value != "image" && f.value != "artifact") {
          return Bad(field + ": invalid resource filter value: " + f.value);
        }
        if (f.type != "resource") {
          Status s = ValidateDoublestar(f.value);
          if (!s.ok()) return Bad(field + ": invalid pattern '" + f.value + "': " + s.message());
        }
      } else if (f.type == "label") {
        if (value.is_string()) {
          f.labels.push_back(value.get<std::string>());
        } else if (value.is_array()) {
          for (const auto& l : value) {
            if (!l.is_string()) return Bad(field + ".value must be an array of strings");
            f.labels.push_back(l.get<std::string>());
          }
        } else {
          return Bad(field + ".value must be an array of strings");
        }
      } else {
        return Bad(field + ": invalid filter type '" + f.type + "'");
      }
      if (!f.decoration.empty() && f.decoration != "matches" && f.decoration != "excludes") {
        return Bad(field + ": invalid decoration '" + f.decoration + "'");
      }
      if (!f.decoration.empty() && f.type != "tag" && f.type != "label") {
        return Bad(field + ": only tag and label filters take a decoration");
      }
      if (FindFilter(p, f.type) != nullptr) return Bad("duplicated " + f.type + " filter");
      p.filters.push_back(std::move(f));
    }
  }
  bool deletion = false;
  BERTH_RETURN_IF_ERROR(boolean("deletion", &deletion));
  BERTH_RETURN_IF_ERROR(boolean("replicate_deletion", &p.replicate_deletion));
  p.replicate_deletion = p.replicate_deletion || deletion;
  BERTH_RETURN_IF_ERROR(boolean("override", &p.override_));
  BERTH_RETURN_IF_ERROR(boolean("enabled", &p.enabled));
  BERTH_RETURN_IF_ERROR(boolean("copy_by_chunk", &p.copy_by_chunk));
  BERTH_RETURN_IF_ERROR(boolean("single_active_replication", &p.single_active_replication));
  if (auto it = body.find("speed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < -1 || it->get<int64_t>() > INT32_MAX) {
      return Bad("speed must be -1 (unlimited) or a number of KB/s");
    }
    p.speed_kb = it->get<int64_t>();
  }
  return p;
}

std::string StoredPolicyJson(const ReplicationPolicy& p) {
  return nlohmann::json({{"description", p.description},
                         {"dest_namespace", p.dest_namespace},
                         {"dest_namespace_replace_count", p.dest_namespace_replace_count},
                         {"trigger", p.trigger},
                         {"cron", p.cron},
                         {"filters", FiltersJson(p.filters)},
                         {"replicate_deletion", p.replicate_deletion},
                         {"override", p.override_},
                         {"speed", p.speed_kb},
                         {"copy_by_chunk", p.copy_by_chunk},
                         {"single_active_replication", p.single_active_replication}})
      .dump();
}

StatusOr<ReplicationPolicy> PolicyFromStored(int64_t id, const std::string& name, int64_t src,
                                             int64_t dest, bool enabled, const std::string& json,
                                             int64_t created, int64_t updated) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return Status::Internal("stored replication policy " + std::to_string(id) + " is invalid");
  nlohmann::json body = {{"name", name},
                         {"description", j.value("description", "")},
                         {"src_registry", {{"id", src}}},
                         {"dest_registry", {{"id", dest}}},
                         {"dest_namespace", j.value("dest_namespace", "")},
                         {"dest_namespace_replace_count", j.value("dest_namespace_replace_count", -1)},
                         {"trigger", {{"type", j.value("trigger", "manual")},
                                      {"trigger_settings", {{"cron", j.value("cron", "")}}}}},
                         {"filters", j.value("filters", nlohmann::json::array())},
                         {"replicate_deletion", j.value("replicate_deletion", false)},
                         {"override", j.value("override", true)},
                         {"enabled", enabled},
                         {"speed", j.value("speed", -1)},
                         {"copy_by_chunk", j.value("copy_by_chunk", false)},
                         {"single_active_replication", j.value("single_active_replication", false)}};
  auto p = ParseReplicationPolicy(body);
  if (!p.ok()) return Status::Internal("stored replication policy " + std::to_string(id) +
                                       " is invalid: " + p.status().message());
  p->id = id;
  p->creation_time = created;
  p->update_time = updated;
  return p;
}

StatusOr<std::string> DestinationRepository(const ReplicationPolicy& p,
                                            const std::string& repository) {
  if (p.dest_namespace.empty()) return repository;
  if (p.dest_namespace_replace_count < 0) {
    size_t slash = repository.rfind('/');
    return p.dest_namespace + "/" +
           (slash == std::string::npos ? repository : repository.substr(slash + 1));
  }
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = repository.find('/', start);
    parts.push_back(repository.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  size_t count = static_cast<size_t>(p.dest_namespace_replace_count);
  if (count > parts.size()) {
    return Status::InvalidArgument("the source repository " + repository + " contains only " +
                                   std::to_string(parts.size()) +
                                   " path components, but the destination namespace flattening "
                                   "level is " + std::to_string(count));
  }
  std::string out = p.dest_namespace;
  for (size_t i = count; i < parts.size(); ++i) out += "/" + parts[i];
  return out;
}

}  // namespace berth
