#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/address_range.h"
#include "common/strings.h"

namespace berth {

namespace {

Status Bad(const std::string& origin, const std::string& msg) {
  return Status::InvalidArgument(origin + ": " + msg);
}

// A YAML 1.2 core-schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
// (.inf and .nan have no JSON form and stay strings). Sets *out when it fits a double.
bool ParseYamlFloat(std::string_view s, double* out) {
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != body.size()) return false;
  std::string_view num = s[0] == '+' ? s.substr(1) : s;  // from_chars refuses '+'
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), *out);
  return ec == std::errc() && p == num.data() + num.size();
}

// Converts YAML to JSON. Plain scalars become bool/null/number when they look
// like one; quoted scalars stay strings.
nlohmann::json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = ToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& v : n) j.push_back(ToJson(v));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      // YAML allows a leading '+' on numbers; ParseInt64 does not.
      bool plus = s.size() > 1 && s[0] == '+' && std::isdigit(static_cast<unsigned char>(s[1]));
      if (auto i = ParseInt64(plus ? std::string_view(s).substr(1) : std::string_view(s))) return *i;
      if (double d; ParseYamlFloat(s, &d)) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

Status ReadString(const YAML::Node& parent, const char* key, const std::string& origin,
                  std::string* out) {
  YAML::Node n = parent[key];
  if (!n) return {};
  if (!n.IsScalar()) return Bad(origin, std::string("'") + key + "' must be a string");
  *out = n.Scalar();
  return {};
}

Status ReadInt(const YAML::Node& parent, const char* key, const std::string& origin, int* out,
               int min, int max) {
  YAML::Node n = parent[key];
  if (!n) return {};
  auto v = n.IsScalar() ? ParseInt64(n.Scalar()) : std::nullopt;
  if (!v || *v < min || *v > max) {
    return Bad(origin, std::string("'") + key + "' must be an integer between " +
                           std::to_string(min) + " and " + std::to_string(max));
  }
  *out = static_cast<int>(*v);
  return {};
}

Status ReadInt64(const YAML::Node& parent, const char* key, const std::string& origin,
                 int64_t* out) {
  YAML::Node n = parent[key];
  if (!n) return {};
  auto v = n.IsScalar() ? ParseInt64(n.Scalar()) : std::nullopt;
  if (!v) return Bad(origin, std::string("'") + key + "' must be an integer");
  *out = *v;
  return {};
}

// Records the settings the file sets (each key of the top two levels, and
// each key of auth.config), for Config::fixed.
void RecordFixed(const YAML::Node& root, std::set<std::string>* out) {
  for (const auto& kv : root) {
    std::string k = kv.first.as<std::string>();
    out->insert(k);
    if (!kv.second.IsMap()) continue;
    for (const auto& kv2 : kv.second) {
      std::string k2 = k + "." + kv2.first.as<std::string>();
      out->insert(k2);
      if (k2 == "auth.config" && kv2.second.IsMap()) {
        for (const auto& kv3 : kv2.second) out->insert(k2 + "." + kv3.first.as<std::string>());
      }
    }
  }
}

Status CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed,
                 const std::string& where, const std::string& origin) {
  if (!map.IsMap()) return Bad(origin, "'" + where + "' must be a mapping");
  for (const auto& kv : map) {
    std::string k = kv.first.as<std::string>();
    if (!allowed.count(k)) return Bad(origin, "unknown key '" + k + "' in " + where);
  }
  return {};
}

}  // namespace

StatusOr<Config> Config::Parse(const std::string& text, const std::string& origin) {
  Config c;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Bad(origin, std::string("invalid YAML: ") + e.what());
  }
  if (root.IsNull()) return c;
  try {
    BERTH_RETURN_IF_ERROR(CheckKeys(root,
                                    {"listen", "data_dir", "log_level", "external_url", "http",
                                     "metadata", "storage", "plugins", "notifications", "auth",
                                     "tls", "jobs", "gc", "audit", "quota", "read_only", "scanning",
                                     "preheat", "proxy_cache"},
                                    "the top level", origin));
    RecordFixed(root, &c.fixed);
    if (YAML::Node ro = root["read_only"]) {
      if (!ro.IsScalar() || (ro.Scalar() != "true" && ro.Scalar() != "false")) {
        return Bad(origin, "'read_only' must be true or false");
      }
      c.read_only = ro.Scalar() == "true";
    }
    BERTH_RETURN_IF_ERROR(ReadString(root, "listen", origin, &c.listen));
    BERTH_RETURN_IF_ERROR(ReadString(root, "data_dir", origin, &c.data_dir));
    BERTH_RETURN_IF_ERROR(ReadString(root, "log_level", origin, &c.log_level));
    BERTH_RETURN_IF_ERROR(ReadString(root, "external_url", origin, &c.external_url));
    if (YAML::Node h = root["http"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(
          h, {"max_threads", "keep_alive_timeout_s", "shutdown_grace_s", "header_timeout_s",
              "max_connections", "engine", "trusted_proxies"},
          "http", origin));
      BERTH_RETURN_IF_ERROR(ReadInt(h, "max_threads", origin, &c.http.max_threads, 4, 10000));
      BERTH_RETURN_IF_ERROR(
          ReadInt(h, "keep_alive_timeout_s", origin, &c.http.keep_alive_timeout_s, 1, 3600));
      BERTH_RETURN_IF_ERROR(
          ReadInt(h, "shutdown_grace_s", origin, &c.http.shutdown_grace_s, 0, 3600));
      BERTH_RETURN_IF_ERROR(
          ReadInt(h, "header_timeout_s", origin, &c.http.header_timeout_s, 1, 3600));
      BERTH_RETURN_IF_ERROR(
          ReadInt(h, "max_connections", origin, &c.http.max_connections, 16, 1000000));
      BERTH_RETURN_IF_ERROR(ReadString(h, "engine", origin, &c.http.engine));
      if (YAML::Node tp = h["trusted_proxies"]) {
        if (!tp.IsSequence()) {
          return Bad(origin, "'http.trusted_proxies' must be a list of addresses or CIDR blocks");
        }
        for (const auto& e : tp) c.http.trusted_proxies.push_back(e.as<std::string>());
        auto ranges = ParseAddressRanges(c.http.trusted_proxies);
        if (!ranges.ok()) return Bad(origin, "http.trusted_proxies: " + ranges.status().message());
      }
    }
    if (YAML::Node t = root["tls"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(
          t, {"cert", "key", "client_ca", "ca", "min_version", "redirect_listen"}, "tls", origin));
      BERTH_RETURN_IF_ERROR(ReadString(t, "cert", origin, &c.tls.cert));
      BERTH_RETURN_IF_ERROR(ReadString(t, "key", origin, &c.tls.key));
      BERTH_RETURN_IF_ERROR(ReadString(t, "client_ca", origin, &c.tls.client_ca));
      BERTH_RETURN_IF_ERROR(ReadString(t, "ca", origin, &c.tls.ca));
      BERTH_RETURN_IF_ERROR(ReadString(t, "min_version", origin, &c.tls.min_version));
      BERTH_RETURN_IF_ERROR(ReadString(t, "redirect_listen", origin, &c.tls.redirect_listen));
    }
    if (YAML::Node m = root["metadata"]) {
      BERTH_RETURN_IF_ERROR(
          CheckKeys(m, {"driver", "sqlite", "postgres", "pool_size"}, "metadata", origin));
      BERTH_RETURN_IF_ERROR(ReadString(m, "driver", origin, &c.metadata.driver));
      BERTH_RETURN_IF_ERROR(ReadInt(m, "pool_size", origin, &c.metadata.pool_size, 1, 1000));
      if (YAML::Node s = m["sqlite"]) {
        BERTH_RETURN_IF_ERROR(CheckKeys(s, {"path"}, "metadata.sqlite", origin));
        BERTH_RETURN_IF_ERROR(ReadString(s, "path", origin, &c.metadata.sqlite_path));
      }
      if (YAML::Node p = m["postgres"]) {
        BERTH_RETURN_IF_ERROR(CheckKeys(p, {"dsn"}, "metadata.postgres", origin));
        BERTH_RETURN_IF_ERROR(ReadString(p, "dsn", origin, &c.metadata.postgres_dsn));
      }
    }
    if (YAML::Node s = root["storage"]) {
      BERTH_RETURN_IF_ERROR(
          CheckKeys(s, {"driver", "config", "call_timeout_ms"}, "storage", origin));
      BERTH_RETURN_IF_ERROR(ReadString(s, "driver", origin, &c.storage.driver));
      BERTH_RETURN_IF_ERROR(
          ReadInt(s, "call_timeout_ms", origin, &c.storage.call_timeout_ms, 1, 3600000));
      if (YAML::Node sc = s["config"]) {
        if (!sc.IsMap()) return Bad(origin, "'storage.config' must be a mapping");
        c.storage.config_json = ToJson(sc).dump();
      }
    }
    if (YAML::Node a = root["auth"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(
          a,
          {"mode", "admin_password", "token_expiration_minutes", "token_service", "token_issuer",
           "robot_name_prefix", "robot_token_duration_days", "self_registration",
           "project_creation_restriction", "session_timeout_minutes", "config", "db"},
          "auth", origin));
      auto& ac = c.auth;
      BERTH_RETURN_IF_ERROR(ReadString(a, "mode", origin, &ac.mode));
      BERTH_RETURN_IF_ERROR(ReadString(a, "admin_password", origin, &ac.admin_password));
      BERTH_RETURN_IF_ERROR(ReadInt(a, "token_expiration_minutes", origin,
                                    &ac.token_expiration_minutes, 1, 7 * 24 * 60));
      BERTH_RETURN_IF_ERROR(ReadString(a, "token_service", origin, &ac.token_service));
      BERTH_RETURN_IF_ERROR(ReadString(a, "token_issuer", origin, &ac.token_issuer));
      BERTH_RETURN_IF_ERROR(ReadString(a, "robot_name_prefix", origin, &ac.robot_name_prefix));
      BERTH_RETURN_IF_ERROR(ReadInt(a, "robot_token_duration_days", origin,
                                    &ac.robot_token_duration_days, 1, 99999999));
      std::string selfreg;
      BERTH_RETURN_IF_ERROR(ReadString(a, "self_registration", origin, &selfreg));
      ac.self_registration = selfreg == "true";
      BERTH_RETURN_IF_ERROR(ReadString(a, "project_creation_restriction", origin,
                                       &ac.project_creation_restriction));
      BERTH_RETURN_IF_ERROR(ReadInt(a, "session_timeout_minutes", origin,
                                    &ac.session_timeout_minutes, 1, 7 * 24 * 60));
      if (YAML::Node cfg = a["config"]) {
        if (!cfg.IsMap()) return Bad(origin, "'auth.config' must be a mapping");
        ac.config_json = ToJson(cfg).dump();
      }
      if (YAML::Node db = a["db"]) {
        if (!db.IsMap()) return Bad(origin, "'auth.db' must be a mapping");
        ac.db_config_json = ToJson(db).dump();
      }
    }
    if (YAML::Node j = root["jobs"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(j, {"workers", "lease_s", "poll_ms"}, "jobs", origin));
      BERTH_RETURN_IF_ERROR(ReadInt(j, "workers", origin, &c.jobs.workers, 1, 256));
      BERTH_RETURN_IF_ERROR(ReadInt(j, "lease_s", origin, &c.jobs.lease_s, 2, 86400));
      BERTH_RETURN_IF_ERROR(ReadInt(j, "poll_ms", origin, &c.jobs.poll_ms, 10, 600000));
    }
    if (YAML::Node au = root["audit"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(au, {"forward_endpoint", "skip_database"}, "audit", origin));
      BERTH_RETURN_IF_ERROR(ReadString(au, "forward_endpoint", origin, &c.audit.forward_endpoint));
      std::string skip;
      BERTH_RETURN_IF_ERROR(ReadString(au, "skip_database", origin, &skip));
      if (!skip.empty() && skip != "true" && skip != "false") {
        return Bad(origin, "'audit.skip_database' must be true or false");
      }
      c.audit.skip_database = skip == "true";
      if (c.audit.skip_database && c.audit.forward_endpoint.empty()) {
        return Bad(origin, "'audit.skip_database' needs 'audit.forward_endpoint'");
      }
      if (!c.audit.forward_endpoint.empty() &&
          c.audit.forward_endpoint.rfind(':') == std::string::npos) {
        return Bad(origin, "'audit.forward_endpoint' must be host:port");
      }
    }
    if (YAML::Node g = root["gc"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(g, {"time_window_s", "upload_grace_s"}, "gc", origin));
      int v = 0;
      if (g["time_window_s"]) {
        BERTH_RETURN_IF_ERROR(ReadInt(g, "time_window_s", origin, &v, 0, 365 * 86400));
        c.gc.time_window_s = v;
      }
      if (g["upload_grace_s"]) {
        BERTH_RETURN_IF_ERROR(ReadInt(g, "upload_grace_s", origin, &v, 0, 365 * 86400));
        c.gc.upload_grace_s = v;
      }
    }
    if (YAML::Node sc = root["scanning"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(sc,
                                      {"max_concurrent", "timeout_s", "call_timeout_s",
                                       "adapter_provider", "default", "export_max_age_s",
                                       "export_cleanup_cron"},
                                      "scanning", origin));
      auto& s = c.scanning;
      BERTH_RETURN_IF_ERROR(ReadInt(sc, "max_concurrent", origin, &s.max_concurrent, 1, 256));
      BERTH_RETURN_IF_ERROR(ReadInt(sc, "timeout_s", origin, &s.timeout_s, 1, 86400));
      BERTH_RETURN_IF_ERROR(ReadInt(sc, "call_timeout_s", origin, &s.call_timeout_s, 1, 3600));
      BERTH_RETURN_IF_ERROR(ReadString(sc, "adapter_provider", origin, &s.adapter_provider));
      BERTH_RETURN_IF_ERROR(
          ReadInt(sc, "export_max_age_s", origin, &s.export_max_age_s, 1, 365 * 86400));
      BERTH_RETURN_IF_ERROR(ReadString(sc, "export_cleanup_cron", origin, &s.export_cleanup_cron));
      if (YAML::Node d = sc["default"]) {
        if (!d.IsMap()) return Bad(origin, "'scanning.default' must be a mapping");
        BERTH_RETURN_IF_ERROR(CheckKeys(d, {"name", "provider", "config"}, "scanning.default", origin));
        BERTH_RETURN_IF_ERROR(ReadString(d, "name", origin, &s.default_name));
        BERTH_RETURN_IF_ERROR(ReadString(d, "provider", origin, &s.default_provider));
        if (s.default_provider.empty()) return Bad(origin, "'scanning.default.provider' is required");
        if (YAML::Node cfg = d["config"]) {
          if (!cfg.IsMap()) return Bad(origin, "'scanning.default.config' must be a mapping");
          s.default_config_json = ToJson(cfg).dump();
        }
      }
    }
    if (YAML::Node ph = root["preheat"]) {
      BERTH_RETURN_IF_ERROR(
          CheckKeys(ph, {"task_timeout_s", "poll_interval_ms"}, "preheat", origin));
      BERTH_RETURN_IF_ERROR(
          ReadInt(ph, "task_timeout_s", origin, &c.preheat.task_timeout_s, 1, 86400));
      BERTH_RETURN_IF_ERROR(
          ReadInt(ph, "poll_interval_ms", origin, &c.preheat.poll_interval_ms, 10, 600000));
    }
    if (YAML::Node pc = root["proxy_cache"]) {
      BERTH_RETURN_IF_ERROR(
          CheckKeys(pc, {"manifest_check_interval_s", "fill_delay_s"}, "proxy_cache", origin));
      BERTH_RETURN_IF_ERROR(ReadInt(pc, "manifest_check_interval_s", origin,
                                    &c.proxy_cache.manifest_check_interval_s, 0, 7 * 86400));
      BERTH_RETURN_IF_ERROR(
          ReadInt(pc, "fill_delay_s", origin, &c.proxy_cache.fill_delay_s, 0, 86400));
    }
    if (YAML::Node q = root["quota"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(q, {"storage_per_project"}, "quota", origin));
      BERTH_RETURN_IF_ERROR(
          ReadInt64(q, "storage_per_project", origin, &c.quota.storage_per_project));
    }
    if (YAML::Node n = root["notifications"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(n,
                                      {"endpoints", "max_attempts", "initial_backoff_ms",
                                       "max_backoff_ms", "timeout_ms", "workers", "max_queue"},
                                      "notifications", origin));
      auto& nc = c.notifications;
      int v = 0;
      BERTH_RETURN_IF_ERROR(ReadInt(n, "max_attempts", origin, &nc.max_attempts, 1, 100));
      v = static_cast<int>(nc.initial_backoff_ms);
      BERTH_RETURN_IF_ERROR(ReadInt(n, "initial_backoff_ms", origin, &v, 1, 3600000));
      nc.initial_backoff_ms = v;
      v = static_cast<int>(nc.max_backoff_ms);
      BERTH_RETURN_IF_ERROR(ReadInt(n, "max_backoff_ms", origin, &v, 1, 86400000));
      nc.max_backoff_ms = v;
      v = static_cast<int>(nc.timeout_ms);
      BERTH_RETURN_IF_ERROR(ReadInt(n, "timeout_ms", origin, &v, 1, 3600000));
      nc.timeout_ms = v;
      BERTH_RETURN_IF_ERROR(ReadInt(n, "workers", origin, &nc.workers, 1, 64));
      v = static_cast<int>(nc.max_queue);
      BERTH_RETURN_IF_ERROR(ReadInt(n, "max_queue", origin, &v, 1, 10000000));
      nc.max_queue = static_cast<size_t>(v);
      if (YAML::Node eps = n["endpoints"]) {
        if (!eps.IsSequence()) return Bad(origin, "'notifications.endpoints' must be a list");
        int i = 0;
        for (const auto& e : eps) {
          std::string where = "notifications.endpoints[" + std::to_string(i++) + "]";
          BERTH_RETURN_IF_ERROR(CheckKeys(e,
                                          {"name", "type", "address", "auth_header",
                                           "payload_format", "skip_cert_verify", "events"},
                                          where, origin));
          NotificationEndpointConfig ep;
          ep.name = where;
          BERTH_RETURN_IF_ERROR(ReadString(e, "name", origin, &ep.name));
          BERTH_RETURN_IF_ERROR(ReadString(e, "type", origin, &ep.type));
          BERTH_RETURN_IF_ERROR(ReadString(e, "address", origin, &ep.address));
          BERTH_RETURN_IF_ERROR(ReadString(e, "auth_header", origin, &ep.auth_header));
          BERTH_RETURN_IF_ERROR(ReadString(e, "payload_format", origin, &ep.payload_format));
          std::string skip;
          BERTH_RETURN_IF_ERROR(ReadString(e, "skip_cert_verify", origin, &skip));
          ep.skip_cert_verify = skip == "true";
          if (ep.address.empty()) return Bad(origin, where + ".address is required");
          if (ep.payload_format != "Default" && ep.payload_format != "CloudEvents") {
            return Bad(origin, where + ".payload_format must be Default or CloudEvents");
          }
          if (YAML::Node ev = e["events"]) {
            if (!ev.IsSequence()) return Bad(origin, where + ".events must be a list");
            for (const auto& x : ev) ep.events.insert(x.as<std::string>());
          }
          nc.endpoints.push_back(std::move(ep));
        }
      }
    }
    if (YAML::Node p = root["plugins"]) {
      BERTH_RETURN_IF_ERROR(CheckKeys(p, {"dirs", "config"}, "plugins", origin));
      if (YAML::Node d = p["dirs"]) {
        if (!d.IsSequence()) return Bad(origin, "'plugins.dirs' must be a list of directories");
        for (const auto& e : d) c.plugin_dirs.push_back(e.as<std::string>());
      }
      if (YAML::Node pc = p["config"]) {
        if (!pc.IsMap()) return Bad(origin, "'plugins.config' must be a mapping");
        for (const auto& kv : pc) {
          c.plugin_configs[kv.first.as<std::string>()] = ToJson(kv.second).dump();
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return Bad(origin, std::string("invalid configuration: ") + e.what());
  }
  return c;
}

StatusOr<Config> Config::Load(const std::string& path,
                              const std::function<const char*(const char*)>& getenv) {
  Config c;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return Status::InvalidArgument("cannot read config file " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = Parse(ss.str(), path);
    if (!parsed.ok()) return parsed.status();
    c = std::move(*parsed);
  }
  BERTH_RETURN_IF_ERROR(c.ApplyEnvironment(getenv));
  BERTH_RETURN_IF_ERROR(c.Finalize());
  return c;
}

Status Config::ApplyEnvironment(const std::function<const char*(const char*)>& getenv) {
  auto set = [&](const char* name, std::string* field) {
    if (const char* v = getenv(name); v != nullptr && *v != '\0') *field = v;
  };
  if (const char* v = getenv("BERTH_AUTH_MODE"); v != nullptr && *v != '\0') fixed.insert("auth.mode");
  if (const char* v = getenv("BERTH_READ_ONLY"); v != nullptr && *v != '\0') {
    std::string s = v;
    if (s != "true" && s != "false") {
      return Status::InvalidArgument("BERTH_READ_ONLY must be true or false, got '" + s + "'");
    }
    read_only = s == "true";
    fixed.insert("read_only");
  }
  set("BERTH_LISTEN", &listen);
  set("BERTH_HTTP_ENGINE", &http.engine);
  set("BERTH_DATA_DIR", &data_dir);
  set("BERTH_LOG_LEVEL", &log_level);
  set("BERTH_EXTERNAL_URL", &external_url);
  set("BERTH_METADATA_DRIVER", &metadata.driver);
  set("BERTH_POSTGRES_DSN", &metadata.postgres_dsn);
  set("BERTH_ADMIN_PASSWORD", &auth.admin_password);
  set("BERTH_AUTH_MODE", &auth.mode);
  set("BERTH_TLS_CERT", &tls.cert);
  set("BERTH_TLS_KEY", &tls.key);
  set("BERTH_TLS_CA", &tls.ca);
  set("BERTH_TLS_CLIENT_CA", &tls.client_ca);
  set("BERTH_TLS_REDIRECT_LISTEN", &tls.redirect_listen);
  if (const char* v = getenv("BERTH_QUOTA_STORAGE_PER_PROJECT"); v != nullptr && *v != '\0') {
    auto n = ParseInt64(v);
    if (!n) {
      return Status::InvalidArgument(
          "BERTH_QUOTA_STORAGE_PER_PROJECT must be an integer number of bytes, got '" +
          std::string(v) + "'");
    }
    quota.storage_per_project = *n;
    fixed.insert("quota.storage_per_project");
  }
  if (const char* v = getenv("BERTH_PLUGIN_DIRS"); v != nullptr && *v != '\0') {
    plugin_dirs.clear();
    for (auto& d : Split(v, ':')) {
      if (!d.empty()) plugin_dirs.push_back(d);
    }
  }
  return {};
}

Status Config::Finalize() {
  if (http.engine != "event" && http.engine != "threads") {
    return Status::InvalidArgument("http.engine must be 'event' or 'threads', not '" + http.engine +
                                   "'");
  }
  if (listen_port() < 0 || listen_host().empty()) {
    return Status::InvalidArgument("listen must be host:port with a port in 0-65535, got '" +
                                   listen + "'");
  }
  if (data_dir.empty()) return Status::InvalidArgument("data_dir must not be empty");
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "warning", "error"};
  if (!kLevels.count(log_level)) {
    return Status::InvalidArgument("log_level must be debug, info, warn or error, got '" +
                                   log_level + "'");
  }
  if (metadata.driver == "sqlite") {
    if (metadata.sqlite_path.empty()) metadata.sqlite_path = data_dir + "/berth.db";
  } else if (metadata.driver == "postgres") {
    if (metadata.postgres_dsn.empty()) {
      return Status::InvalidArgument(
          "metadata.driver is postgres but metadata.postgres.dsn (or BERTH_POSTGRES_DSN) is "
          "empty");
    }
  } else {
    return Status::InvalidArgument("metadata.driver must be sqlite or postgres, got '" +
                                   metadata.driver + "'");
  }
  if (storage.driver.empty()) return Status::InvalidArgument("storage.driver must not be empty");
  if (quota.storage_per_project != -1 && quota.storage_per_project <= 0) {
    return Status::InvalidArgument(
        "quota.storage_per_project must be -1 (unlimited) or a positive number of bytes, got " +
        std::to_string(quota.storage_per_project));
  }
  if (auth.mode != "db" && auth.mode != "ldap" && auth.mode != "oidc") {
    return Status::InvalidArgument("auth.mode must be db, ldap or oidc, got '" + auth.mode + "'");
  }
  if (auth.project_creation_restriction != "everyone" &&
      auth.project_creation_restriction != "adminonly") {
    return Status::InvalidArgument(
        "auth.project_creation_restriction must be everyone or adminonly");
  }
  if (auth.robot_name_prefix.empty()) {
    return Status::InvalidArgument("auth.robot_name_prefix must not be empty");
  }
  if (storage.config_json.empty() && storage.driver == "fs") {
    storage.config_json = nlohmann::json{{"root", data_dir + "/storage"}}.dump();
  }
  if (storage.config_json.empty()) storage.config_json = "{}";
  if (tls.cert.empty() != tls.key.empty()) {
    return Status::InvalidArgument("tls.cert and tls.key go together: set both or neither");
  }
  if (!tls.enabled() && (!tls.client_ca.empty() || !tls.redirect_listen.empty())) {
    return Status::InvalidArgument("tls.client_ca and tls.redirect_listen need tls.cert and tls.key");
  }
  if (tls.min_version != "1.2" && tls.min_version != "1.3") {
    return Status::InvalidArgument("tls.min_version must be 1.2 or 1.3, got '" + tls.min_version + "'");
  }
  if (!tls.redirect_listen.empty()) {
    size_t colon = tls.redirect_listen.rfind(':');
    auto port = colon == std::string::npos
                    ? std::nullopt
                    : ParseInt64(std::string_view(tls.redirect_listen).substr(colon + 1));
    if (!port || *port < 0 || *port > 65535 || colon == 0) {
      return Status::InvalidArgument("tls.redirect_listen must be host:port, got '" +
                                     tls.redirect_listen + "'");
    }
  }
  external_url_explicit = !external_url.empty();
  if (external_url.empty()) external_url = (tls.enabled() ? "https://" : "http://") + listen;
  while (!external_url.empty() && external_url.back() == '/') external_url.pop_back();
  return {};
}

std::string Config::listen_host() const {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return {};
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

int Config::listen_port() const {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return -1;
  auto p = ParseInt64(std::string_view(listen).substr(colon + 1));
  if (!p || *p < 0 || *p > 65535) return -1;
  return static_cast<int>(*p);
}

}  // namespace berth
