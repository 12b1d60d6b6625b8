#include "plugin/json_schema.h"

#include <nlohmann/json.hpp>
#include <regex>

namespace berth {

namespace {

using nlohmann::json;

const char* TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool HasType(const json& v, const std::string& t) {
  if (t == "number") return v.is_number();
  if (t == "integer") {
    if (v.is_number_integer() || v.is_number_unsigned()) return true;
    return v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()));
  }
  return t == TypeName(v);
}

Status Fail(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

Status Check(const json& schema, const json& v, const std::string& where) {
  if (schema.is_boolean()) {
    return schema.get<bool>() ? Status() : Fail(where, "no value is allowed here");
  }
  if (!schema.is_object()) return {};
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string names;
    if (t->is_string()) {
      ok = HasType(v, t->get<std::string>());
      names = t->get<std::string>();
    } else if (t->is_array()) {
      for (const auto& e : *t) {
        if (!e.is_string()) continue;
        ok = ok || HasType(v, e.get<std::string>());
        names += (names.empty() ? "" : " or ") + e.get<std::string>();
      }
    }
    if (!ok) return Fail(where, "expected " + names + ", got " + TypeName(v));
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (const auto& c : *e) found = found || c == v;
    if (!found) return Fail(where, "must be one of " + e->dump());
  }
  if (auto c = schema.find("const"); c != schema.end() && *c != v) {
    return Fail(where, "must be " + c->dump());
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number() && d < m->get<double>()) {
      return Fail(where, "must be at least " + m->dump());
    }
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number() && d > m->get<double>()) {
      return Fail(where, "must be at most " + m->dump());
    }
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (auto m = schema.find("minLength"); m != schema.end() && m->is_number_unsigned() &&
                                           s.size() < m->get<size_t>()) {
      return Fail(where, "must be at least " + m->dump() + " characters");
    }
    if (auto m = schema.find("maxLength"); m != schema.end() && m->is_number_unsigned() &&
                                           s.size() > m->get<size_t>()) {
      return Fail(where, "must be at most " + m->dump() + " characters");
    }
    if (auto p = schema.find("pattern"); p != schema.end() && p->is_string()) {
      try {
        if (!std::regex_search(s, std::regex(p->get<std::string>(), std::regex::ECMAScript))) {
          return Fail(where, "must match " + p->get<std::string>());
        }
      } catch (const std::regex_error&) {
        return Fail(where, "the schema's pattern is not a valid regular expression");
      }
    }
  }
  if (v.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && m->is_number_unsigned() &&
                                          v.size() < m->get<size_t>()) {
      return Fail(where, "needs at least " + m->dump() + " items");
    }
    if (auto m = schema.find("maxItems"); m != schema.end() && m->is_number_unsigned() &&
                                          v.size() > m->get<size_t>()) {
      return Fail(where, "allows at most " + m->dump() + " items");
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < v.size(); ++i) {
        BERTH_RETURN_IF_ERROR(Check(*items, v[i], where + "[" + std::to_string(i) + "]"));
      }
    }
  }
  if (v.is_object()) {
    json props = schema.value("properties", json::object());
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
      for (const auto& r : *req) {
        if (r.is_string() && !v.contains(r.get<std::string>())) {
          return Fail(where, "'" + r.get<std::string>() + "' is required");
        }
      }
    }
    auto extra = schema.find("additionalProperties");
    for (const auto& [k, val] : v.items()) {
      if (props.is_object() && props.contains(k)) {
        BERTH_RETURN_IF_ERROR(Check(props[k], val, where + "." + k));
      } else if (extra != schema.end()) {
        if (extra->is_boolean() && !extra->get<bool>()) {
          return Fail(where, "unknown key '" + k + "'");
        }
        BERTH_RETURN_IF_ERROR(Check(*extra, val, where + "." + k));
      }
    }
  }
  if (auto any = schema.find("anyOf"); any != schema.end() && any->is_array()) {
    Status first;
    for (const auto& s : *any) {
      Status st = Check(s, v, where);
      if (st.ok()) return {};
      if (first.ok()) first = st;
    }
    if (!any->empty()) return first;
  }
  if (auto one = schema.find("oneOf"); one != schema.end() && one->is_array()) {
    int matches = 0;
    Status first;
    for (const auto& s : *one) {
      Status st = Check(s, v, where);
      if (st.ok()) ++matches;
      else if (first.ok()) first = st;
    }
    if (matches == 0 && !one->empty()) return first;
    if (matches > 1) return Fail(where, "matches more than one alternative of oneOf");
  }
  return {};
}

}  // namespace

Status ValidateJsonSchema(const std::string& schema_text, const std::string& json_text) {
  json schema = json::parse(schema_text, nullptr, false);
  if (schema.is_discarded()) return Status::InvalidArgument("the provider's config schema is not valid JSON");
  json value = json::parse(json_text.empty() ? std::string("{}") : json_text, nullptr, false);
  if (value.is_discarded()) return Status::InvalidArgument("config is not valid JSON");
  return Check(schema, value, "config");
}

}  // namespace berth
