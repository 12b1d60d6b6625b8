// Config: berth.yml, overridden by BERTH_* environment variables.
#ifndef BERTH_CONFIG_CONFIG_H_
#define BERTH_CONFIG_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/database_factory.h"  // MetadataConfig

namespace berth {

struct StorageConfig {
  std::string driver = "fs";
  std::string config_json;  // the provider's config object, as JSON
  int call_timeout_ms = 60000;  // a storage call returning later is an error
};

struct HttpConfig {
  // Workers that run requests (event engine: connections between requests
  // and while their header arrives hold none; requests with a body may take
  // all but max(2, max_threads/8)). Thread engine: also the connection ceiling.
  int max_threads = 256;
  int keep_alive_timeout_s = 10;  // an idle keep-alive connection is closed after this
  // A request header must be complete this long after its first byte (or
  // after the accept / TLS handshake start); else 408 and the connection closes.
  int header_timeout_s = 10;
  int max_connections = 10000;    // event engine: open connections beyond this are closed at accept
  // "event": epoll connection layer (connection_reactor.h); "threads": Poco's
  // thread-per-connection HTTPServer, kept as a fallback.
  std::string engine = "event";
  int shutdown_grace_s = 30;      // SIGTERM: how long in-flight requests may finish
  // Load balancers whose X-Forwarded-For names the client (addresses or CIDR
  // blocks); the sign-in limiter and the request log then see the client,
  // not the balancer. Empty: X-Forwarded-For is ignored.
  std::vector<std::string> trusted_proxies;
};

// HTTPS served by berthd itself (OpenSSL through Poco NetSSL). Enabled by
// `cert`; `listen` then speaks TLS only (plain HTTP there fails the handshake).
struct TlsConfig {
  std::string cert;       // PEM: the serving certificate, then its chain
  std::string key;        // PEM private key; re-read with cert on SIGHUP
  std::string client_ca;  // PEM CA bundle: when set, clients must present a certificate it signed
  std::string ca;         // PEM: the CA clients trust, served at /api/v2.0/systeminfo/getcert
  std::string min_version = "1.2";  // 1.2 | 1.3
  std::string redirect_listen;      // host:port answering plain HTTP with a redirect to https
  bool enabled() const { return !cert.empty(); }
};

struct AuthConfig {
  std::string mode = "db";  // db | ldap | oidc: the auth provider for users
  std::string admin_password;  // initial administrator; BERTH_ADMIN_PASSWORD; generated when empty
  int token_expiration_minutes = 30;
  std::string token_service = "harbor-registry";
  std::string token_issuer = "harbor-token-issuer";
  std::string robot_name_prefix = "robot$";
  int robot_token_duration_days = 30;  // default lifetime of new robots
  bool self_registration = false;
  std::string project_creation_restriction = "everyone";  // everyone | adminonly
  int session_timeout_minutes = 60;
  std::string config_json = "{}";     // config of the mode's provider (ldap, oidc)
  std::string db_config_json = "{}";  // config of the db provider (argon2 parameters)
};

// A notification endpoint (until per-project webhook policies exist).
struct NotificationEndpointConfig {
  std::string name;
  std::string type = "http";            // notifier provider: http, slack, ...
  std::string address;
  std::string auth_header;
  std::string payload_format = "Default";  // Default | CloudEvents
  bool skip_cert_verify = false;
  std::set<std::string> events;         // empty: every event
};

struct NotificationsConfig {
  std::vector<NotificationEndpointConfig> endpoints;
  int max_attempts = 5;
  int64_t initial_backoff_ms = 1000;
  int64_t max_backoff_ms = 60000;
  int64_t timeout_ms = 10000;  // per delivery attempt
  int workers = 2;
  size_t max_queue = 10000;
};

// The job service (core/src/jobs): this node's worker pool.
struct JobsConfig {
  int workers = 4;
  int lease_s = 30;    // a job whose node stops renewing for this long runs elsewhere
  int poll_ms = 1000;  // how often idle workers look for jobs other nodes queued
};

// P2P preheat tasks (Harbor's preheat job waits for its provider).
struct PreheatConfig {
  int task_timeout_s = 1800;    // a task still not SUCCESS/FAIL after this fails
  int poll_interval_ms = 2000;  // between progress checks
};

struct GcConfig {
  // Blobs and untagged artifacts touched within this window are kept.
  int64_t time_window_s = 7200;
  int64_t upload_grace_s = 86400;  // upload sessions idle this long are removed
};

// Where audit entries go besides (or instead of) the database.
struct AuditConfig {
  std::string forward_endpoint;  // syslog over TCP, "host:port"; "" = off
  bool skip_database = false;    // only forward (needs forward_endpoint)
};

// Harbor's project quotas.
struct QuotaConfig {
  // Hard storage limit (bytes) of projects created without one; -1 =
  // unlimited. Harbor's storage_per_project. Existing projects keep theirs.
  int64_t storage_per_project = -1;
};

// Scanning (core/src/scan): the default scanner and the scan job limits.
struct ScanningConfig {
  int max_concurrent = 2;      // scans running at once across all nodes
  int timeout_s = 600;         // a scan not finished by then fails
  int call_timeout_s = 60;     // one call into a scanner plugin
  // The provider a registration with an http(s) URL uses (an adapter client).
  std::string adapter_provider = "adapter";
  // scanning.default: created or updated at startup and made the default.
  std::string default_name;    // "" = "<provider> (berth.yml)"
  std::string default_provider;  // "" = none
  std::string default_config_json = "{}";
  // CVE exports (scan data export) never downloaded: removed by the
  // SYSTEM_ARTIFACT_CLEANUP schedule once older than this (Harbor: a day).
  int export_max_age_s = 86400;
  std::string export_cleanup_cron = "0 0 0 * * *";  // Harbor's daily run
};

// Proxy-cache projects (core/src/proxy): how often a cached tag is checked
// upstream. 0 = on every pull by tag, as Harbor does.
struct ProxyCacheConfig {
  int manifest_check_interval_s = 0;
  // How long after serving a manifest it did not store the PROXY_CACHE_FILL
  // job fetches what the client did not pull (the client gets a head start).
  int fill_delay_s = 10;
};

struct Config {
  std::string listen = "127.0.0.1:5000";
  std::string data_dir = "./berth-data";
  std::string log_level = "info";
  std::string external_url;  // public base URL; default http://<listen>
  bool external_url_explicit = false;  // set by the operator, not derived
  HttpConfig http;
  TlsConfig tls;
  AuthConfig auth;
  MetadataConfig metadata;
  StorageConfig storage;
  NotificationsConfig notifications;
  JobsConfig jobs;
  PreheatConfig preheat;
  AuditConfig audit;
  GcConfig gc;
  QuotaConfig quota;
  ScanningConfig scanning;
  ProxyCacheConfig proxy_cache;
  // Harbor's read_only: every write on /v2 and the API is refused.
  bool read_only = false;
  // The settings the operator fixed in the file or the environment, by path
  // ("auth.mode", "auth.config.url", "read_only", ...): /configurations
  // reports them as not editable and refuses to change them.
  std::set<std::string> fixed;
  std::vector<std::string> plugin_dirs;
  // provider name -> JSON config, for plugin kinds chosen by name later.
  std::map<std::string, std::string> plugin_configs;

  // Reads `path` (may be empty: defaults only), then applies the environment
  // (looked up through getenv). Every problem yields one clear message.
  static StatusOr<Config> Load(const std::string& path,
                               const std::function<const char*(const char*)>& getenv);
  // Parses YAML text (for tests and Load).
  static StatusOr<Config> Parse(const std::string& yaml_text, const std::string& origin);
  Status ApplyEnvironment(const std::function<const char*(const char*)>& getenv);
  // Fills derived defaults and checks invariants.
  Status Finalize();

  std::string listen_host() const;
  int listen_port() const;  // -1 when malformed; 0 picks a free port
};

}  // namespace berth

#endif  // BERTH_CONFIG_CONFIG_H_
