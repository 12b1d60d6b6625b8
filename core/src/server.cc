#include "server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "api/api_router.h"
#include "api/artifact_api.h"
#include "api/repository_api.h"
#include "artifact/artifact_controller.h"
#include "artifact/pull_recorder.h"
#include "artifact/repository_controller.h"
#include "store/artifact_store.h"
#include "api/audit_api.h"
#include "api/configuration_api.h"
#include "api/jobservice_api.h"
#include "api/label_api.h"
#include "api/immutable_api.h"
#include "policy/immutable_controller.h"
#include "store/immutable_rule_store.h"
#include "api/registry_api.h"
#include "api/replication_api.h"
#include "api/retention_api.h"
#include "api/system_job_api.h"
#include "api/trusted_key_api.h"
#include "signing/signature_policy.h"
#include "api/cve_allowlist_api.h"
#include "scan/cve_allowlist_controller.h"
#include "scan/vulnerability_gate.h"
#include "store/cve_allowlist_store.h"
#include "signing/trusted_key_controller.h"
#include "store/trusted_key_store.h"
#include "audit/audit_purge.h"
#include "gc/garbage_collector.h"
#include "jobs/job_service.h"
#include "store/gc_store.h"
#include "store/job_store.h"
#include "api/project_api.h"
#include "api/quota_api.h"
#include "api/robot_api.h"
#include "api/session_api.h"
#include "api/user_api.h"
#include "api/webhook_api.h"
#include "api/scan_api.h"
#include "api/scan_export_api.h"
#include "api/scanner_api.h"
#include "api/security_hub_api.h"
#include "scan/scan_controller.h"
#include "scan/scan_data_export.h"
#include "scan/scanner_controller.h"
#include "store/scan_export_store.h"
#include "store/scan_report_store.h"
#include "store/scanner_store.h"
#include "api/system_api.h"
#include "api/icon_api.h"
#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "auth/authenticator.h"
#include "auth/login_limiter.h"
#include "auth/registry_access.h"
#include "auth/session_manager.h"
#include "auth/token_handler.h"
#include "auth/token_service.h"
#include "blob/blob_store.h"
#include "config/config_controller.h"
#include "config/runtime_settings.h"
#include "iam/bootstrap.h"
#include "iam/project_controller.h"
#include "iam/robot_controller.h"
#include "iam/user_controller.h"
#include "label/label_controller.h"
#include "proxy/proxy_cache_controller.h"
#include "replication/remote_registry_controller.h"
#include "replication/replication_controller.h"
#include "replication/replication_job.h"
#include "retention/retention_controller.h"
#include "retention/retention_job.h"
#include "plugin/plugin_auth_backend.h"
#include "quota/quota_controller.h"
#include "quota/quota_recount_job.h"
#include "store/audit_store.h"
#include "store/config_store.h"
#include "store/project_store.h"
#include "store/label_store.h"
#include "store/quota_store.h"
#include "store/robot_store.h"
#include "store/session_store.h"
#include "store/user_store.h"
#include "common/clock.h"
#include "common/strings.h"
#include "http/http_server.h"
#include "http/https_redirect.h"
#include "http/read_only_gate.h"
#include "http/tls_context.h"
#include "http/metrics.h"
#include "http/ops_handler.h"
#include "oci/v2_router.h"
#include "notify/notification_dispatcher.h"
#include "notify/policy_dispatcher.h"
#include "notify/webhook_policy_controller.h"
#include "store/webhook_policy_store.h"
#include "plugin/host_services.h"
#include "plugin/plugin_notifier.h"
#include "plugin/plugin_replication.h"
#include "plugin/plugin_preheat.h"
#include "api/preheat_api.h"
#include "preheat/preheat_controller.h"
#include "preheat/preheat_job.h"
#include "store/preheat_store.h"
#include "plugin/plugin_registry.h"
#include "plugin/plugin_storage_driver.h"
#include "plugin/plugin_status.h"
#include "registry/blob_controller.h"
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"
#include "store/database_factory.h"
#include "store/migrations.h"
#include "store/registry_store.h"

namespace berth {

namespace {

// Uploads untouched for this long are abandoned.
constexpr int64_t kUploadMaxAgeMillis = 24LL * 3600 * 1000;
// How stale /configurations may be on a node after a change made through
// another node (docs/scale-out.md).
constexpr int64_t kSettingsRefreshMillis = 5000;
// Blobs uploaded this long ago that no manifest claimed (failed pushes) stop
// counting against their project's quota; their links stay for GC.
constexpr int64_t kPendingBlobMaxAgeMillis = 24LL * 3600 * 1000;

std::string ExecutableDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::InvalidArgument("cannot create directory " + dir + ": " + ec.message());
  return {};
}

}  // namespace

std::vector<std::string> DefaultPluginDirs() {
  std::string exe = ExecutableDir();
  return {exe + "/../plugins", exe + "/../lib/berth/plugins", BERTH_INSTALL_PLUGIN_DIR};
}

// Secrets plugins may look up (secret_get): BERTH_SECRET_<NAME>=value in the
// environment is the secret "<name>" (lower case), e.g. BERTH_SECRET_S3_SECRET_KEY
// is storage-s3's "s3_secret_key", so keys need not sit in berth.yml.
std::map<std::string, std::string> SecretsFromEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    constexpr std::string_view kPrefix = "BERTH_SECRET_";
    size_t eq = kv.find('=');
    if (kv.substr(0, kPrefix.size()) != kPrefix || eq == std::string_view::npos) continue;
    std::string name(kv.substr(kPrefix.size(), eq - kPrefix.size()));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[name] = std::string(kv.substr(eq + 1));
  }
  return out;
}

struct Server::Parts {
  Parts(Logger& log, const Config& config)
      : host(log, metrics, SecretsFromEnvironment()), plugins(host.table()) {
    (void)config;
  }
  Metrics metrics;
  HostServices host;
  PluginRegistry plugins;
  std::unique_ptr<SqlDatabase> db;
  std::unique_ptr<RegistryStore> store;
  std::unique_ptr<StorageDriver> storage;
  std::map<std::string, std::unique_ptr<PluginNotifier>> notifiers;
  // P2P preheat: one driver per loaded preheat provider (vendor).
  std::map<std::string, std::unique_ptr<PluginPreheat>> preheaters;
  std::unique_ptr<SecretBox> secrets;  // seals secrets stored in the database
  std::unique_ptr<PreheatStore> preheat_store;
  std::unique_ptr<PreheatController> preheat;
  std::unique_ptr<NotificationDispatcher> dispatcher;
  // Project webhook policies.
  std::unique_ptr<WebhookPolicyStore> webhook_store;
  std::unique_ptr<PolicyDispatcher> policy_dispatcher;
  std::unique_ptr<WebhookPolicyController> webhooks;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<UploadController> uploads;
  std::unique_ptr<BlobController> blob_controller;
  std::unique_ptr<ManifestController> manifests;
  std::unique_ptr<V2Router> v2;
  std::unique_ptr<OpsHandler> ops;
  // Identity and access.
  std::unique_ptr<UserStore> users;
  std::unique_ptr<ProjectStore> projects;
  std::unique_ptr<QuotaStore> quota_store;
  std::unique_ptr<QuotaController> quotas;
  std::unique_ptr<RobotStore> robots;
  std::unique_ptr<SessionStore> session_store;
  std::unique_ptr<AuditStore> audit_store;
  std::unique_ptr<AuditLog> audit;
  std::string audit_endpoint;  // of the forwarder in use ("" = none)
  // System configuration: file, environment, then /configurations.
  std::unique_ptr<ConfigStore> config_store;
  std::unique_ptr<SettingsSource> settings;
  std::unique_ptr<ConfigController> configs;
  std::unique_ptr<ReadOnlyGate> read_only_v2;
  std::unique_ptr<ReadOnlyGate> read_only_api;
  std::unique_ptr<PluginAuthBackend> db_auth;
  std::shared_ptr<AuthBackend> mode_auth;
  LoginLimiter limiter;
  std::unique_ptr<Authenticator> authenticator;
  std::unique_ptr<TokenService> tokens;
  std::unique_ptr<AccessEvaluator> evaluator;
  std::unique_ptr<RegistryAccess> registry_access;
  std::unique_ptr<SessionManager> sessions;
  std::unique_ptr<TokenHandler> token_handler;
  std::unique_ptr<ProjectController> project_controller;
  std::unique_ptr<UserController> user_controller;
  std::unique_ptr<RobotController> robot_controller;
  std::unique_ptr<LabelStore> label_store;
  std::unique_ptr<LabelController> labels;
  // Harbor's artifact management.
  std::unique_ptr<ArtifactStore> artifact_store;
  std::unique_ptr<PullRecorder> pulls;
  std::unique_ptr<RepositoryController> repository_controller;
  std::unique_ptr<ArtifactController> artifact_controller;
  std::unique_ptr<ImmutableRuleStore> immutable_store;
  std::unique_ptr<ImmutableController> immutable;
  // Signed-image enforcement on pulls, and the projects' trusted keys.
  std::unique_ptr<TrustedKeyStore> trusted_key_store;
  std::unique_ptr<SignaturePolicy> signature_policy;
  std::unique_ptr<TrustedKeyController> trusted_keys;
  // CVE allowlists, and the vulnerability gate on pulls (scanning wires its
  // results in through VulnerabilityGate::set_scanning).
  std::unique_ptr<CveAllowlistStore> cve_allowlist_store;
  std::unique_ptr<CveAllowlistController> cve_allowlists;
  std::unique_ptr<VulnerabilityGate> vulnerability_gate;
  // Background work.
  std::unique_ptr<JobStore> job_store;
  std::unique_ptr<JobService> jobs;
  std::unique_ptr<GcStore> gc_store;
  std::unique_ptr<GarbageCollector> gc;
  std::unique_ptr<RetentionStore> retention_store;
  std::unique_ptr<RetentionController> retentions;
  // Replication: remote registries, policies, executions.
  std::unique_ptr<RemoteRegistryStore> remote_registry_store;
  std::unique_ptr<RemoteRegistryController> remote_registries;
  std::unique_ptr<UpstreamSlotStore> upstream_slots;
  std::unique_ptr<ProxyCacheController> proxy_cache;
  std::unique_ptr<ReplicationStore> replication_store;
  std::unique_ptr<ReplicationController> replications;
  // Scanning: registrations over scanner plugins, reports, scan jobs.
  std::unique_ptr<ScannerStore> scanner_store;
  std::unique_ptr<ScanReportStore> scan_reports;
  std::unique_ptr<ScannerController> scanners;
  std::unique_ptr<ScanController> scans;
  std::unique_ptr<ScanExportStore> scan_export_store;
  std::unique_ptr<ScanDataExportController> scan_exports;
  std::unique_ptr<ApiRouter> api;
  Router router;
  std::unique_ptr<TlsContext> tls;
  std::unique_ptr<HttpServer> http;
  // tls.redirect_listen: plain HTTP answered with redirects to https.
  std::unique_ptr<HttpsRedirect> redirect;
  Router redirect_router;
  std::unique_ptr<HttpServer> redirect_http;
};

Server::Server(Config config, Logger& log) : config_(std::move(config)), log_(log) {}

Server::~Server() { Stop(); }

Status Server::Init() {
  parts_ = std::make_unique<Parts>(log_, config_);
  Parts& p = *parts_;
  BERTH_RETURN_IF_ERROR(MakeDirs(config_.data_dir));

  // Bind first: with port 0 the real port is part of the external URL that
  // tokens, webhooks and sign-in redirects are built from.
  if (config_.tls.enabled()) {
    BERTH_ASSIGN_OR_RETURN(p.tls, TlsContext::Create(config_.tls));
    log_.Info("TLS certificate loaded", {{"certificate", p.tls->Describe()}});
    if (std::string w = p.tls->Warning(); !w.empty()) log_.Warn("TLS certificate", {{"warning", w}});
  }
  p.http = std::make_unique<HttpServer>(config_.http, p.router, log_, p.metrics);
  BERTH_RETURN_IF_ERROR(p.http->Bind(config_.listen_host(), config_.listen_port(), p.tls.get()));
  if (!config_.external_url_explicit) {
    std::string host = config_.listen_host();
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    config_.external_url = std::string(p.tls ? "https://" : "http://") + host + ":" +
                           std::to_string(p.http->port());
  }
  if (!config_.tls.redirect_listen.empty()) {
    const std::string& rl = config_.tls.redirect_listen;
    size_t colon = rl.rfind(':');
    std::string rhost = rl.substr(0, colon);
    if (rhost.size() >= 2 && rhost.front() == '[') rhost = rhost.substr(1, rhost.size() - 2);
    p.redirect = std::make_unique<HttpsRedirect>(
        config_.external_url_explicit ? config_.external_url : "", p.http->port());
    p.redirect_router.Add("/", p.redirect.get());
    HttpConfig small = config_.http;
    small.max_threads = 8;  // redirects are one short answer per connection
    p.redirect_http = std::make_unique<HttpServer>(small, p.redirect_router, log_, p.metrics);
    BERTH_RETURN_IF_ERROR(p.redirect_http->Bind(rhost, std::stoi(rl.substr(colon + 1))));
  }

  // Plugins: configured directories first, then the ones next to berthd.
  std::vector<std::string> dirs = config_.plugin_dirs;
  for (auto& d : DefaultPluginDirs()) dirs.push_back(d);
  BERTH_RETURN_IF_ERROR(p.plugins.LoadDirectories(dirs));
  for (const auto& pl : p.plugins.plugins()) {
    log_.Info("plugin loaded", {{"name", pl.name}, {"version", pl.version}, {"path", pl.path}});
  }

  // Storage through its plugin.
  const berth_provider* sp = p.plugins.FindProvider(BERTH_KIND_STORAGE, config_.storage.driver);
  if (sp == nullptr) {
    return Status::InvalidArgument("storage.driver '" + config_.storage.driver +
                                   "' is not provided by any loaded plugin (searched the "
                                   "plugin directories; see `berthd plugins list`)");
  }
  auto instance = p.plugins.CreateInstance(sp, config_.storage.config_json);
  if (!instance.ok()) return instance.status();
  p.storage = std::make_unique<PluginStorageDriver>(sp, *instance, &log_,
                                                    config_.storage.call_timeout_ms);

  // One notifier instance per provider the endpoints use.
  std::vector<NotificationTarget> targets;
  for (const auto& ep : config_.notifications.endpoints) {
    auto it = p.notifiers.find(ep.type);
    if (it == p.notifiers.end()) {
      const berth_provider* np = p.plugins.FindProvider(BERTH_KIND_NOTIFIER, ep.type);
      if (np == nullptr) {
        return Status::InvalidArgument("notification endpoint '" + ep.name + "' has type '" +
                                       ep.type + "', which no loaded notifier plugin provides");
      }
      auto cfg = config_.plugin_configs.find(ep.type);
      auto ni = p.plugins.CreateInstance(np, cfg == config_.plugin_configs.end() ? "{}" : cfg->second);
      if (!ni.ok()) return ni.status();
      it = p.notifiers.emplace(ep.type, std::make_unique<PluginNotifier>(np, *ni)).first;
    }
    targets.push_back({ep, it->second.get()});
  }
  // Harbor's two notify types, for project webhook policies, whenever a
  // loaded plugin provides them.
  for (const char* type : {"http", "slack"}) {
    if (p.notifiers.count(type)) continue;
    const berth_provider* np = p.plugins.FindProvider(BERTH_KIND_NOTIFIER, type);
    if (np == nullptr) continue;
    auto cfg = config_.plugin_configs.find(type);
    auto ni = p.plugins.CreateInstance(np, cfg == config_.plugin_configs.end() ? "{}" : cfg->second);
    if (!ni.ok()) return ni.status();
    p.notifiers.emplace(type, std::make_unique<PluginNotifier>(np, *ni));
  }

  // Every loaded preheat provider is a vendor instances may name.
  for (const auto& pl : p.plugins.plugins()) {
    for (const auto& pi : pl.providers) {
      if (pi.kind != BERTH_KIND_PREHEAT || p.preheaters.count(pi.name)) continue;
      const berth_provider* pp = p.plugins.FindProvider(BERTH_KIND_PREHEAT, pi.name);
      if (pp == nullptr) continue;
      auto cfg = config_.plugin_configs.find(pi.name);
      auto inst = p.plugins.CreateInstance(pp, cfg == config_.plugin_configs.end() ? "{}" : cfg->second);
      if (!inst.ok()) return inst.status();
      p.preheaters.emplace(pi.name, std::make_unique<PluginPreheat>(pp, *inst));
    }
  }

  // Metadata.
  auto db = OpenDatabase(config_.metadata);
  if (!db.ok()) return db.status();
  p.db = std::move(*db);
  auto version = Migrate(*p.db);
  if (!version.ok()) return version.status();
  log_.Info("metadata store ready",
            {{"driver", config_.metadata.driver}, {"schema_version", *version}});
  p.store = std::make_unique<RegistryStore>(*p.db);
  p.store->set_link_refresh_ms(config_.gc.time_window_s * 1000 / 2);
  p.users = std::make_unique<UserStore>(*p.db);
  p.projects = std::make_unique<ProjectStore>(*p.db);
  p.quota_store = std::make_unique<QuotaStore>(*p.db);
  p.robots = std::make_unique<RobotStore>(*p.db);
  p.session_store = std::make_unique<SessionStore>(*p.db);
  p.audit_store = std::make_unique<AuditStore>(*p.db);
  p.audit = std::make_unique<AuditLog>(*p.audit_store, log_);

  // The settings /configurations may change: berth.yml and the environment
  // fix what they set; the rest comes from the database.
  p.config_store = std::make_unique<ConfigStore>(*p.db);
  p.settings = std::make_unique<SettingsSource>(RuntimeSettings::FromConfig(config_));
  p.configs = std::make_unique<ConfigController>(
      *p.config_store, *p.users, *p.settings, config_,
      ConfigHooks{[this](const std::string& mode, const std::string& cfg)
                      -> StatusOr<std::shared_ptr<AuthBackend>> { return MakeAuthBackend(mode, cfg); },
                  [this](const RuntimeSettings& s,
                         std::optional<std::shared_ptr<AuthBackend>> backend) {
                    ApplySettings(s, std::move(backend));
                  }});
  BERTH_ASSIGN_OR_RETURN(RuntimeSettings effective, p.configs->Effective());
  p.settings->Set(effective);
  if (!effective.audit_log_forward_endpoint.empty()) {
    p.audit_endpoint = effective.audit_log_forward_endpoint;
    p.audit->set_forwarder(std::make_shared<AuditForwarder>(p.audit_endpoint, log_),
                           effective.skip_audit_log_database);
  }
  // The job service and its first consumers.
  p.job_store = std::make_unique<JobStore>(*p.db);
  JobServiceOptions jopts;
  // Webhook deliveries get their own workers (they wait on receivers); any
  // project may add webhook policies at any time.
  jopts.workers = config_.jobs.workers + config_.notifications.workers;
  jopts.lease_ms = int64_t{config_.jobs.lease_s} * 1000;
  jopts.poll_ms = config_.jobs.poll_ms;
  jopts.tick_ms = std::min<int64_t>(1000, jopts.lease_ms / 3);
  p.jobs = std::make_unique<JobService>(*p.job_store, jopts, log_, p.metrics);

  // Auth backends: the database one always (local users, the administrator),
  // plus the one auth.mode names.
  {
    const berth_provider* ap = p.plugins.FindProvider(BERTH_KIND_AUTH, "db");
    if (ap == nullptr) {
      return Status::InvalidArgument(
          "auth provider 'db' is not provided by any loaded plugin (see `berthd plugins list`)");
    }
    BERTH_ASSIGN_OR_RETURN(void* inst, p.plugins.CreateInstance(ap, config_.auth.db_config_json));
    p.db_auth = std::make_unique<PluginAuthBackend>(ap, inst, &log_);
  }
  if (effective.auth_mode != "db") {
    auto made = MakeAuthBackend(effective.auth_mode, effective.auth_config_json);
    bool from_file = effective.auth_mode == config_.auth.mode &&
                     effective.auth_config_json == RuntimeSettings::FromConfig(config_).auth_config_json;
    if (!made.ok() && from_file) return made.status();
    if (!made.ok()) {
      // Settings stored through /configurations that no longer work (a
      // plugin gone, say): the file's mode, so an administrator can sign in
      // and fix them.
      log_.Error("the stored auth settings are not usable; using berth.yml's",
                 {{"mode", effective.auth_mode}, {"error", made.status().message()}});
      RuntimeSettings file = RuntimeSettings::FromConfig(config_);
      effective.auth_mode = file.auth_mode;
      effective.auth_config_json = file.auth_config_json;
      p.settings->Set(effective);
      if (effective.auth_mode != "db") {
        BERTH_ASSIGN_OR_RETURN(p.mode_auth, MakeAuthBackend(effective.auth_mode, effective.auth_config_json));
      }
    } else {
      p.mode_auth = std::move(*made);
    }
  }
  AuthSettings auth_settings;
  auth_settings.mode = effective.auth_mode;
  auth_settings.robot_prefix = effective.robot_name_prefix;
  p.authenticator = std::make_unique<Authenticator>(auth_settings, *p.users, *p.robots, *p.db_auth,
                                                    std::move(p.mode_auth), p.limiter, *p.audit, log_);
  TokenServiceOptions topts;
  topts.issuer = config_.auth.token_issuer;
  topts.service = config_.auth.token_service;
  topts.expiration_s = effective.token_expiration_minutes * 60;
  // Nodes behind one address must sign with one key: BERTH_TOKEN_KEY_FILE
  // names a copy of it (docs/scale-out.md), else <data_dir>/token/.
  const char* token_key_file = std::getenv("BERTH_TOKEN_KEY_FILE");
  topts.key_path = token_key_file != nullptr && *token_key_file != '\0'
                       ? std::string(token_key_file)
                       : config_.data_dir + "/token/private_key.pem";
  BERTH_ASSIGN_OR_RETURN(p.tokens, TokenService::Open(topts));
  p.evaluator = std::make_unique<AccessEvaluator>(*p.projects);
  BERTH_RETURN_IF_ERROR(EnsureInitialAdmin(*p.users, *p.db_auth, config_.auth.admin_password, log_, stderr));
  BERTH_RETURN_IF_ERROR(EnsureDefaultProject(*p.projects, *p.users, log_));

  // Registry.
  p.blobs = std::make_unique<BlobStore>(*p.storage);
  p.uploads = std::make_unique<UploadController>(*p.store, *p.blobs);
  p.blob_controller = std::make_unique<BlobController>(*p.store, *p.blobs);
  p.manifests = std::make_unique<ManifestController>(*p.store, *p.blobs);
  p.v2 = std::make_unique<V2Router>(*p.blob_controller, *p.uploads, *p.manifests);
  p.registry_access = std::make_unique<RegistryAccess>(*p.authenticator, *p.tokens, *p.projects,
                                                       *p.evaluator, config_.external_url,
                                                       config_.external_url_explicit);
  p.v2->set_access_control(p.registry_access.get());
  p.sessions = std::make_unique<SessionManager>(*p.session_store, *p.authenticator,
                                                config_.auth.session_timeout_minutes,
                                                config_.external_url.rfind("https://", 0) == 0);
  SessionManager* sessions = p.sessions.get();
  p.token_handler = std::make_unique<TokenHandler>(
      *p.authenticator, *p.tokens, *p.projects, *p.evaluator,
      [sessions](RequestContext& ctx) -> StatusOr<std::optional<Identity>> {
        BERTH_ASSIGN_OR_RETURN(auto s, sessions->Resume(ctx));
        if (!s) return std::optional<Identity>();
        return std::optional<Identity>(s->identity);
      });
  p.quotas = std::make_unique<QuotaController>(*p.quota_store, *p.evaluator,
                                               config_.quota.storage_per_project);
  p.project_controller = std::make_unique<ProjectController>(*p.projects, *p.users, *p.evaluator,
                                                             *p.audit, *p.settings);
  p.project_controller->set_quotas(p.quotas.get());
  p.label_store = std::make_unique<LabelStore>(*p.db);
  p.labels = std::make_unique<LabelController>(*p.label_store, *p.project_controller, *p.evaluator);
  {
    Authenticator* authenticator = p.authenticator.get();
    p.project_controller->set_ldap_group_check([authenticator](const std::string& dn) -> Status {
      auto ldap = authenticator->BackendFor("ldap");
      if (ldap == nullptr) return {};  // not in the ldap mode: nothing to look up
      auto groups = ldap->SearchGroups(dn);
      if (!groups.ok()) return groups.status();
      std::string want = ToLower(Trim(dn));
      for (const auto& g : *groups) {
        if (ToLower(Trim(g.id)) == want) return {};
      }
      return Status::NotFound("LDAP group " + dn + " not found in the directory", "NOT_FOUND");
    });
  }
  p.user_controller = std::make_unique<UserController>(*p.users, *p.projects, *p.authenticator,
                                                       *p.evaluator, *p.audit, *p.settings);
  p.robot_controller = std::make_unique<RobotController>(*p.robots, *p.projects, *p.evaluator,
                                                         *p.audit, *p.settings);

  std::string registry_host = config_.external_url;
  if (size_t scheme = registry_host.find("://"); scheme != std::string::npos) {
    registry_host = registry_host.substr(scheme + 3);
  }
  RegistryStore* store = p.store.get();
  p.dispatcher = std::make_unique<NotificationDispatcher>(
      std::move(targets), config_.notifications,
      [registry_host, store](const ArtifactEvent& e) {
        PayloadContext c;
        c.registry_host = registry_host;
        if (auto r = store->GetRepository(e.repository); r.ok() && *r) {
          c.repo_created_at_s = (*r)->created_at / 1000;
        }
        return c;
      },
      *p.jobs, log_, p.metrics);
  NotificationDispatcher* dispatcher = p.dispatcher.get();
  p.webhook_store = std::make_unique<WebhookPolicyStore>(*p.db);
  {
    std::map<std::string, Notifier*> by_type;
    for (auto& [type, n] : p.notifiers) by_type[type] = n.get();
    p.policy_dispatcher = std::make_unique<PolicyDispatcher>(
        *p.webhook_store, *p.projects, std::move(by_type),
        [registry_host, store](const std::string& repository) {
          PayloadContext c;
          c.registry_host = registry_host;
          if (repository.empty()) return c;
          if (auto r = store->GetRepository(repository); r.ok() && *r) {
            c.repo_created_at_s = (*r)->created_at / 1000;
          }
          return c;
        },
        *p.jobs, log_);
  }
  PolicyDispatcher* policy_dispatcher = p.policy_dispatcher.get();
  dispatcher->set_policies(policy_dispatcher);
  {
    // Quota events come from the quota controller: refusals the registry
    // reports, and the warning threshold after a push.
    QuotaController* quotas = p.quotas.get();
    quotas->set_event_sink([policy_dispatcher](const QuotaEvent& e) { policy_dispatcher->OnQuotaEvent(e); });
    p.manifests->set_refusal_sink([quotas](std::string_view repo, const std::string& digest,
                                           const std::string& tag, const Actor& actor,
                                           const Status& why) {
      quotas->OnPushRefused(std::string(repo), digest, tag, actor.username, actor.request_id, why);
    });
    p.uploads->set_refusal_sink([quotas](std::string_view repo, const std::string& digest,
                                         const Status& why) {
      quotas->OnPushRefused(std::string(repo), digest, "", "", "", why);
    });
  }
  {
    // Secrets kept in the database (remote registries' passwords, preheat
    // instances' credentials) are sealed with one key: BERTH_SECRET_KEY, else
    // <data_dir>/secret.key. Nodes sharing a database must share it.
    const char* env_key = std::getenv("BERTH_SECRET_KEY");
    BERTH_ASSIGN_OR_RETURN(SecretBox secrets,
                           SecretBox::Open(config_.data_dir + "/secret.key", env_key ? env_key : ""));
    p.secrets = std::make_unique<SecretBox>(std::move(secrets));
  }
  p.preheat_store = std::make_unique<PreheatStore>(*p.db);
  p.preheat_store->set_secret_box(p.secrets.get());
  {
    std::map<std::string, PreheatDriver*> drivers;
    for (auto& [vendor, d] : p.preheaters) drivers[vendor] = d.get();
    p.preheat = std::make_unique<PreheatController>(*p.preheat_store, *p.project_controller,
                                                    *p.evaluator, *p.jobs, std::move(drivers), log_);
  }
  PreheatController* preheat = p.preheat.get();
  QuotaController* quota_events = p.quotas.get();
  ProjectStore* project_store = p.projects.get();
  AuditLog* audit = p.audit.get();
  p.artifact_store = std::make_unique<ArtifactStore>(*p.db);
  p.pulls = std::make_unique<PullRecorder>(*p.artifact_store, log_);
  PullRecorder* pulls = p.pulls.get();
  // Replication: one adapter instance per replication provider loaded.
  {
    std::map<std::string, std::unique_ptr<PluginReplicationAdapter>> adapters;
    for (const auto& pl : p.plugins.plugins()) {
      for (const auto& prov : pl.providers) {
        if (prov.kind != BERTH_KIND_REPLICATION || adapters.count(prov.name)) continue;
        const berth_provider* rp = p.plugins.FindProvider(BERTH_KIND_REPLICATION, prov.name);
        if (rp == nullptr) continue;
        auto cfg = config_.plugin_configs.find(prov.name);
        auto ri = p.plugins.CreateInstance(rp, cfg == config_.plugin_configs.end() ? "{}" : cfg->second);
        if (!ri.ok()) return ri.status();
        adapters.emplace(prov.name, std::make_unique<PluginReplicationAdapter>(rp, *ri));
      }
    }
    p.remote_registry_store = std::make_unique<RemoteRegistryStore>(*p.db);
    p.remote_registries = std::make_unique<RemoteRegistryController>(
        *p.remote_registry_store, *p.evaluator, *p.secrets, std::move(adapters));
    // Proxy-cache projects pull through the registries' adapters.
    RemoteRegistryController* registries = p.remote_registries.get();
    p.project_controller->set_registry_check(
        [registries](int64_t id) { return registries->Load(id).status(); });
    p.upstream_slots = std::make_unique<UpstreamSlotStore>(*p.db);
    p.proxy_cache = std::make_unique<ProxyCacheController>(
        *p.projects, *p.store, *p.blobs, *p.remote_registries, *p.manifests, *p.uploads,
        *p.upstream_slots, log_,
        ProxyCacheOptions{config_.proxy_cache.manifest_check_interval_s,
                          int64_t{config_.proxy_cache.fill_delay_s} * 1000});
    p.v2->set_proxy_cache(p.proxy_cache.get());
    // At most two fills per node: workers stay free for other kinds.
    ProxyCacheController* proxy_cache = p.proxy_cache.get();
    p.jobs->Register({kProxyCacheFillJobKind, 1, 10000, 600000, 0, 2},
                     [proxy_cache](JobContext& ctx) { return proxy_cache->RunFill(ctx); });
    p.proxy_cache->set_jobs(p.jobs.get());
    p.replication_store = std::make_unique<ReplicationStore>(*p.db);
    p.replications = std::make_unique<ReplicationController>(*p.replication_store, *p.remote_registries,
                                                             *p.evaluator, *p.jobs, log_);
  }
  ReplicationController* replications = p.replications.get();
  // Scanning is wired here because scan on push hangs off the push events.
  p.scanner_store = std::make_unique<ScannerStore>(*p.db);
  p.scan_reports = std::make_unique<ScanReportStore>(*p.db);
  p.scanners = std::make_unique<ScannerController>(*p.scanner_store, p.plugins, *p.evaluator,
                                                   *p.project_controller, config_.scanning);
  BERTH_RETURN_IF_ERROR(p.scanners->ApplyConfiguredDefault());
  p.scans = std::make_unique<ScanController>(
      ScanDeps{*p.scan_reports, *p.scanners, *p.projects, *p.artifact_store, *p.store,
               *p.manifests, *p.uploads, *p.jobs, *p.tokens, log_, config_.external_url},
      config_.scanning);
  p.scans->RegisterJobs();
  p.scans->set_event_sink([policy_dispatcher, preheat](const ScanFinished& f) {
    policy_dispatcher->OnScanEvent(
        ScanEventInfo{f.type, f.repository, f.digest, f.tag, f.scan_type, f.scan_overview});
    // Harbor's event-based preheat also fires on a finished vulnerability scan.
    if (f.type == "SCANNING_COMPLETED" && f.scan_type == "vulnerability") {
      preheat->OnArtifactScanned(f.repository, f.digest);
    }
  });
  ScanController* scans = p.scans.get();
  p.manifests->set_event_sink([dispatcher, policy_dispatcher, quota_events, project_store, audit,
                               pulls, replications, scans, preheat](const ArtifactEvent& e) {
    dispatcher->OnArtifactEvent(e);
    replications->OnArtifactEvent(e);
    scans->OnArtifactEvent(e);
    policy_dispatcher->OnArtifactEvent(e);
    if (e.kind == ArtifactEventKind::kPushed) preheat->OnArtifactPushed(e.repository, e.digest, e.tag);
    if (e.kind == ArtifactEventKind::kPushed) {
      if (auto project = project_store->GetByName(ProjectOf(e.repository)); project.ok() && *project) {
        quota_events->OnPushed((*project)->project_id, e.repository, e.digest, e.tag,
                               e.actor.username, e.actor.request_id);
      }
    }
    if (e.kind == ArtifactEventKind::kPulled) {
      pulls->Record(e.repository, e.digest, e.tag, e.occurred_at_ms);
    }
    static const char* kOps[] = {"push", "delete", "delete", "pull"};
    AuditRecord a;
    a.project_name = ProjectOf(e.repository);  // resolved by the audit writer
    a.username = e.actor.username;
    a.resource = e.repository + (e.tag.empty() ? "@" + e.digest : ":" + e.tag);
    a.resource_type = e.kind == ArtifactEventKind::kTagDeleted ? "tag" : "artifact";
    a.operation = kOps[static_cast<int>(e.kind)];
    a.operation_result = "success";
    a.op_time = e.occurred_at_ms;
    audit->Record(std::move(a));
  });

  UploadController* uploads = p.uploads.get();
  p.metrics.AddGaugeFunction("berth_uploads_in_flight", "Blob upload requests being received.",
                             [uploads] { return static_cast<double>(uploads->in_flight()); });

  SqlDatabase* dbp = p.db.get();
  StorageDriver* storage = p.storage.get();
  p.ops = std::make_unique<OpsHandler>(
      p.metrics,
      std::vector<HealthCheck>{
          {"database",
           [dbp] {
             return RunInTransaction(*dbp, false, [](SqlTransaction& tx) {
               return tx.Exec("SELECT 1").status();
             });
           }},
          {"storage", [storage] { return storage->Stat("/").status(); }}});
  p.ops->AddMetricsText(&PluginCaller::AppendMetrics);

  p.gc_store = std::make_unique<GcStore>(*p.db);
  p.gc = std::make_unique<GarbageCollector>(*p.store, *p.gc_store, *p.blobs, *p.uploads,
                                            config_.gc.time_window_s * 1000,
                                            config_.gc.upload_grace_s * 1000);
  GarbageCollector* gc = p.gc.get();
  // One GC at a time across all nodes; never retried (Harbor's MaxFails 1).
  p.jobs->Register({kGcJobKind, 1, 10000, 600000, 1}, [gc](JobContext& ctx) { return gc->Run(ctx); });
  AuditStore* audit_store = p.audit_store.get();
  p.jobs->Register({kPurgeAuditJobKind, 1, 10000, 600000, 1},
                   [audit_store](JobContext& ctx) { return RunAuditPurge(*audit_store, ctx); });

  p.api = std::make_unique<ApiRouter>(*p.authenticator, *p.sessions);
  RegisterSystemApi(*p.api, SystemApiDeps{config_, *p.ops, p.plugins, *p.evaluator, *p.settings});
  RegisterConfigurationApi(*p.api, *p.configs);
  RegisterIconApi(*p.api);
  p.cve_allowlist_store = std::make_unique<CveAllowlistStore>(*p.db);
  p.cve_allowlists = std::make_unique<CveAllowlistController>(*p.cve_allowlist_store, *p.evaluator);
  RegisterProjectApi(*p.api, *p.project_controller, p.cve_allowlists.get());
  RegisterCveAllowlistApi(*p.api, *p.cve_allowlists);
  RegisterQuotaApi(*p.api, *p.quotas);
  RegisterLabelApi(*p.api, *p.labels);
  p.webhooks = std::make_unique<WebhookPolicyController>(*p.webhook_store, *p.project_controller,
                                                         *p.job_store, *p.policy_dispatcher);
  RegisterWebhookApi(*p.api, *p.webhooks, *p.project_controller);
  p.repository_controller = std::make_unique<RepositoryController>(
      *p.project_controller, *p.artifact_store, *p.store, *p.evaluator, *p.audit);
  p.repository_controller->set_on_deleted([scans](const std::string& repository) {
    scans->OnArtifactEvent({ArtifactEventKind::kDeleted, repository, "", "", "", Actor{}, NowUnixMillis(), {}});
  });
  p.artifact_controller = std::make_unique<ArtifactController>(
      *p.project_controller, *p.artifact_store, *p.store, *p.manifests, *p.blobs, *p.label_store,
      *p.labels, *p.audit);
  {
    p.trusted_key_store = std::make_unique<TrustedKeyStore>(*p.db);
    SignaturePolicyOptions sopts;
    sopts.signer_bootstrap_pull =
        ParseSignerPullSetting(std::getenv("CONTENT_TRUST_LEGACY_SIGNER_PULL_ENABLED"));
    p.signature_policy = std::make_unique<SignaturePolicy>(
        *p.projects, *p.trusted_key_store, *p.artifact_store, *p.blobs, sopts);
    p.trusted_keys = std::make_unique<TrustedKeyController>(*p.trusted_key_store,
                                                            *p.project_controller, *p.audit);
    SignaturePolicy* policy = p.signature_policy.get();
    p.trusted_keys->set_on_change([policy] { policy->Invalidate(); });
    ProjectStore* projects = p.projects.get();
    CveAllowlistController* allowlists = p.cve_allowlists.get();
    ArtifactStore* artifacts = p.artifact_store.get();
    RegistryStore* registry = p.store.get();
    VulnerabilityGateDeps gate_deps;
    gate_deps.load_policy = [projects, allowlists](const std::string& name)
        -> StatusOr<ProjectVulnerabilityPolicy> {
      ProjectVulnerabilityPolicy out;
      BERTH_ASSIGN_OR_RETURN(auto proj, projects->GetByName(name));
      if (!proj) return out;
      out.project_id = proj->project_id;
      ReadVulnerabilityMetadata(proj->metadata, &out);
      if (out.prevent) {
        BERTH_ASSIGN_OR_RETURN(out.allowlist, allowlists->EffectiveFor(*proj));
      }
      return out;
    };
    gate_deps.children = [artifacts, registry](const std::string& repo, const ArtifactRecord& index)
        -> StatusOr<std::vector<ArtifactRecord>> {
      std::vector<ArtifactRecord> out;
      BERTH_ASSIGN_OR_RETURN(auto refs, artifacts->ReferencesOf({index.id}));
      for (const auto& ref : refs[index.id]) {
        BERTH_ASSIGN_OR_RETURN(auto child, registry->GetArtifactByDigest(repo, ref.child_digest));
        if (child) out.push_back(std::move(*child));
      }
      return out;
    };
    p.vulnerability_gate = std::make_unique<VulnerabilityGate>(std::move(gate_deps));
    VulnerabilityGate* gate = p.vulnerability_gate.get();
    // The scan manager's latest reports, and Harbor's "can the project's
    // scanner scan this type" check for artifacts without one.
    gate->set_scanning(p.scan_reports.get(), [scans](int64_t project_id, const ArtifactRecord& a) {
      return scans->Scannable(project_id, a);
    });
    p.project_controller->set_on_change([policy, gate](const ProjectRecord&) {
      policy->Invalidate();
      gate->Invalidate();
    });
    p.cve_allowlists->set_on_change([gate] { gate->Invalidate(); });
    // Harbor's order: content trust, then vulnerability prevention.
    p.v2->add_pull_policy(policy);
    p.v2->add_pull_policy(gate);
    RegisterTrustedKeyApi(*p.api, *p.trusted_keys, *p.project_controller);
  }
  RegisterRepositoryApi(*p.api, *p.repository_controller, *p.project_controller);
  RegisterArtifactApi(*p.api, *p.artifact_controller, *p.project_controller, p.scans.get());
  RegisterScannerApi(*p.api, *p.scanners, *p.project_controller);
  RegisterScanApi(*p.api, *p.scans, *p.artifact_controller, *p.project_controller, *p.jobs,
                  *p.evaluator);
  RegisterSecurityHubApi(*p.api, *p.scan_reports, *p.evaluator);
  // Harbor's CVE export: SCAN_DATA_EXPORT jobs write CSV files into the
  // storage driver; SYSTEM_ARTIFACT_CLEANUP purges those never downloaded.
  p.scan_export_store = std::make_unique<ScanExportStore>(*p.db);
  p.scan_exports = std::make_unique<ScanDataExportController>(
      *p.scan_export_store, *p.projects, *p.evaluator, *p.jobs, *p.storage, log_,
      ScanDataExportOptions{int64_t{config_.scanning.export_max_age_s} * 1000,
                            config_.scanning.export_cleanup_cron});
  p.scan_exports->RegisterJobs();
  BERTH_RETURN_IF_ERROR(p.scan_exports->EnsureCleanupSchedule());
  RegisterScanExportApi(*p.api, *p.scan_exports);
  // Immutable tag rules, enforced inside the registry's writes.
  p.immutable_store = std::make_unique<ImmutableRuleStore>(*p.db);
  p.immutable = std::make_unique<ImmutableController>(*p.immutable_store, *p.project_controller);
  p.immutable->Enforce(*p.store, *p.artifact_store);
  p.artifact_controller->set_immutability(p.immutable.get());
  RegisterImmutableApi(*p.api, *p.immutable, *p.project_controller);
  // Tag retention: RETENTION jobs delete through the registry like the API,
  // and keep artifacts with an immutable tag (Harbor).
  ImmutableController* immutable = p.immutable.get();
  p.retention_store = std::make_unique<RetentionStore>(*p.db);
  p.retentions = std::make_unique<RetentionController>(*p.retention_store,
                                                       *p.project_controller, *p.jobs);
  p.jobs->Register({kRetentionJobKind, 1, 10000, 600000, 0},
                   [deps = RetentionJobDeps{*p.retention_store, *p.project_controller,
                                            *p.artifact_store, *p.label_store, *p.job_store,
                                            RegistryArtifactDeleter(*p.manifests),
                                            [immutable](int64_t project_id, std::string_view repo,
                                                        std::string_view tag) {
                                              return immutable->IsImmutable(project_id, repo, tag);
                                            },
                                            [policy_dispatcher = p.policy_dispatcher.get()](
                                                const std::string& project,
                                                const nlohmann::json& retention,
                                                const std::string& trigger) {
                                              policy_dispatcher->OnRetentionEvent(project, retention,
                                                                                  trigger);
                                            }}](
                       JobContext& ctx) { return RunRetentionJob(deps, ctx); });
  RegisterRetentionApi(*p.api, *p.retentions);
  // Harbor gives each proxy-cache project a retention policy.
  // A deleted project's CVE exports (and their files) go with it.
  p.project_controller->set_on_deleted([retentions = p.retentions.get(),
                                        exports = p.scan_exports.get(),
                                        &log = log_](const ProjectRecord& project) {
    Status s = retentions->ProjectDeleted(project);
    if (!s.ok()) {
      log.Warn("the deleted project's retention policy stays",
               {{"project", project.name}, {"error", s.message()}});
    }
    if (Status e = exports->ProjectDeleted(project.project_id); !e.ok()) {
      log.Warn("the deleted project's scan data exports stay",
               {{"project", project.name}, {"error", e.message()}});
    }
  });
  p.project_controller->set_on_proxy_created(
      [retentions = p.retentions.get()](const Identity& who, const ProjectRecord& project) {
        return retentions->CreateProxyCacheDefault(who, project.project_id).status();
      });
  p.jobs->Register({kReplicationJobKind, 1, 10000, 600000, 0},
                   [deps = ReplicationJobDeps{*p.replication_store, *p.remote_registries,
                                              *p.project_controller, *p.artifact_store,
                                              *p.label_store, *p.manifests, *p.uploads, *p.blobs,
                                              *p.store, config_.external_url,
                                              [policy_dispatcher = p.policy_dispatcher.get()](
                                                  const std::string& project,
                                                  const nlohmann::json& replication,
                                                  const std::string& trigger) {
                                                policy_dispatcher->OnReplicationEvent(
                                                    project, replication, trigger);
                                              }}](JobContext& ctx) {
                     return RunReplicationJob(deps, ctx);
                   });
  RegisterRegistryApi(*p.api, *p.remote_registries);
  RegisterReplicationApi(*p.api, *p.replications);
  // P2P preheat: executions are P2P_PREHEAT jobs that wait on their provider,
  // so a node runs at most two at once and keeps workers for other kinds.
  {
    PreheatJobDeps deps{*p.preheat_store, *p.project_controller, *p.artifact_store, *p.label_store,
                        *p.job_store, {}, config_.external_url, nullptr, p.scan_reports.get(), {}};
    for (auto& [vendor, d] : p.preheaters) deps.drivers[vendor] = d.get();
    while (!deps.registry_url.empty() && deps.registry_url.back() == '/') deps.registry_url.pop_back();
    TokenService* tokens = p.tokens.get();
    // Harbor's credMaker: a registry token for pull on the one repository.
    deps.pull_credential = [tokens](const std::string& repository) -> StatusOr<std::string> {
      BERTH_ASSIGN_OR_RETURN(auto issued,
                             tokens->Issue("preheat", {TokenAccess{"repository", repository, {"pull"}}}));
      return "Bearer " + issued.token;
    };
    deps.options.task_timeout_ms = int64_t{config_.preheat.task_timeout_s} * 1000;
    deps.options.poll_interval_ms = config_.preheat.poll_interval_ms;
    p.jobs->Register({kPreheatJobKind, 1, 10000, 600000, 0, 2},
                     [deps](JobContext& ctx) { return RunPreheatJob(deps, ctx); });
  }
  RegisterPreheatApi(*p.api, *p.preheat, *p.preheat_store, *p.project_controller);
  p.artifact_controller->set_on_labeled([preheat](const std::string& repo, const std::string& digest) {
    preheat->OnArtifactLabeled(repo, digest);
  });
  QuotaController* quotas = p.quotas.get();
  p.jobs->Register({kQuotaRecountJobKind, 1, 10000, 600000, 1},
                   [quotas](JobContext& ctx) { return RunQuotaRecount(*quotas, ctx); });
  // Berth's own: Harbor has no recount endpoint, so it takes the shape of
  // Harbor's other system jobs (history, log, schedule, run now).
  RegisterSystemJobApi(*p.api, *p.jobs, *p.evaluator,
                       {"/api/v2.0/system/quotarecount", "quotarecount", kQuotaRecountJobKind,
                        "quota", ValidateQuotaRecountParams});
  RegisterUserApi(*p.api, *p.user_controller, *p.project_controller);
  RegisterRobotApi(*p.api, *p.robot_controller);
  RegisterAuditApi(*p.api, *p.audit, *p.audit_store, *p.evaluator, *p.projects,
                   *p.project_controller);
  RegisterSessionApi(*p.api, *p.authenticator, *p.sessions, *p.audit, config_.external_url);
  RegisterJobServiceApi(*p.api, *p.jobs, *p.evaluator);
  RegisterSystemJobApi(*p.api, *p.jobs, *p.evaluator,
                       {"/api/v2.0/system/gc", "gc", kGcJobKind, "garbage-collection",
                        [](const nlohmann::json& params) -> StatusOr<std::string> {
                          BERTH_RETURN_IF_ERROR(ParseGcParams(params.dump()).status());
                          return params.dump();
                        }});
  RegisterSystemJobApi(*p.api, *p.jobs, *p.evaluator,
                       {"/api/v2.0/system/purgeaudit", "purgeaudit", kPurgeAuditJobKind,
                        "purge-audit", ValidatePurgeAuditParams});

  SettingsSource* settings = p.settings.get();
  auto read_only = [settings] { return settings->read_only(); };
  p.read_only_v2 = std::make_unique<ReadOnlyGate>(*p.v2, read_only, true);
  p.read_only_api = std::make_unique<ReadOnlyGate>(*p.api, read_only, false);
  p.router.Add("/v2", p.read_only_v2.get());
  p.router.Add("/api", p.read_only_api.get());
  p.router.Add("/c", p.read_only_api.get());
  p.router.Add("/service/token", p.token_handler.get());
  p.router.Add("/metrics", p.ops.get());
  p.router.Add("/health", p.ops.get());
  return {};
}

Status Server::Start() {
  BERTH_RETURN_IF_ERROR(parts_->http->Start());
  if (parts_->redirect_http) BERTH_RETURN_IF_ERROR(parts_->redirect_http->Start());
  parts_->audit->Start();
  parts_->pulls->Start();
  parts_->scans->Start();
  BERTH_RETURN_IF_ERROR(parts_->jobs->Start());
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  settings_refresh_ = std::thread([this] { SettingsRefreshLoop(); });
  return {};
}

StatusOr<std::shared_ptr<AuthBackend>> Server::MakeAuthBackend(const std::string& mode,
                                                                const std::string& config_json) {
  const berth_provider* ap = parts_->plugins.FindProvider(BERTH_KIND_AUTH, mode);
  if (ap == nullptr) {
    return Status::InvalidArgument("auth provider '" + mode +
                                   "' is not provided by any loaded plugin (see `berthd plugins list`)");
  }
  BERTH_ASSIGN_OR_RETURN(void* inst, parts_->plugins.CreateInstance(ap, config_json));
  return std::shared_ptr<AuthBackend>(std::make_shared<PluginAuthBackend>(ap, inst, &log_));
}

void Server::ApplySettings(const RuntimeSettings& s,
                           std::optional<std::shared_ptr<AuthBackend>> backend) {
  Parts& p = *parts_;
  if (backend) {
    p.authenticator->Reconfigure(s.auth_mode, std::move(*backend), s.robot_name_prefix);
  } else {
    p.authenticator->SetRobotPrefix(s.robot_name_prefix);
  }
  p.tokens->set_expiration_s(s.token_expiration_minutes * 60);
  if (s.audit_log_forward_endpoint != p.audit_endpoint) {
    p.audit_endpoint = s.audit_log_forward_endpoint;
    p.audit->set_forwarder(p.audit_endpoint.empty() ? nullptr
                                                    : std::make_shared<AuditForwarder>(p.audit_endpoint, log_),
                           s.skip_audit_log_database);
  } else if (!p.audit_endpoint.empty()) {
    // Same endpoint: keep its connection, change only where entries go.
    p.audit->set_skip_database(s.skip_audit_log_database);
  }
  log_.Info("configuration changed", {{"auth_mode", s.auth_mode}, {"read_only", s.read_only}});
}

int Server::port() const { return parts_ && parts_->http ? parts_->http->port() : 0; }

int Server::redirect_port() const {
  return parts_ && parts_->redirect_http ? parts_->redirect_http->port() : 0;
}

Status Server::ReloadTls() {
  if (!parts_ || !parts_->tls) return Status::InvalidArgument("TLS is not configured");
  BERTH_RETURN_IF_ERROR(parts_->tls->Reload());
  log_.Info("TLS certificate reloaded", {{"certificate", parts_->tls->Describe()}});
  if (std::string w = parts_->tls->Warning(); !w.empty()) log_.Warn("TLS certificate", {{"warning", w}});
  return {};
}

void Server::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  if (settings_refresh_.joinable()) settings_refresh_.join();
  if (parts_ && parts_->redirect_http) parts_->redirect_http->Stop(0);
  if (parts_ && parts_->http) parts_->http->Stop(config_.http.shutdown_grace_s);
  if (parts_ && parts_->scans) parts_->scans->Stop();
  if (parts_ && parts_->jobs) parts_->jobs->Stop();
  if (parts_ && parts_->pulls) parts_->pulls->Stop();
  if (parts_ && parts_->audit) parts_->audit->Stop();
}

void Server::SettingsRefreshLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(kSettingsRefreshMillis),
                       [this] { return stopping_; })) {
    lock.unlock();
    auto changed = parts_->configs->Refresh();
    if (!changed.ok()) {
      log_.Warn("re-reading the stored configuration failed", {{"error", changed.status().message()}});
    }
    lock.lock();
  }
}

void Server::MaintenanceLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Status sessions_purged = parts_->sessions->PurgeExpired();
    if (!sessions_purged.ok()) {
      log_.Warn("purging expired sessions failed", {{"error", sessions_purged.message()}});
    }
    auto purged = parts_->uploads->PurgeStale(NowUnixMillis() - kUploadMaxAgeMillis);
    if (purged.ok() && *purged > 0) log_.Info("purged abandoned uploads", {{"count", *purged}});
    // Finished runs kept per kind, as Harbor's *_EXECUTION_RETENTION_COUNT.
    for (auto [kind, keep] : {std::pair<const char*, int64_t>{kGcJobKind, 50},
                              {kPurgeAuditJobKind, 50},
                              {kQuotaRecountJobKind, 50},
                              {kScanAllJobKind, 50},
                              {kWebhookJobKind, 10000},
                              {kSlackVendorType, 10000},
                              {kReplicationJobKind, 1000},
                              {kScanDataExportJobKind, 1000},
                              {kScanDataExportCleanupJobKind, 50}}) {
      auto pruned = parts_->job_store->PruneFinished(kind, keep);
      if (!pruned.ok()) log_.Warn("pruning finished jobs failed", {{"error", pruned.status().message()}});
    }
    // Reports of deleted artifacts, scan jobs no report points at.
    if (Status pruned = parts_->scans->PruneFinished(); !pruned.ok()) {
      log_.Warn("pruning scan data failed", {{"error", pruned.message()}});
    }
    // The tasks of the replication executions just pruned.
    if (auto orphans = parts_->replication_store->PruneOrphanTasks(); !orphans.ok()) {
      log_.Warn("pruning replication tasks failed", {{"error", orphans.status().message()}});
    }
    auto released = parts_->quotas->ReleaseStalePending(NowUnixMillis() - kPendingBlobMaxAgeMillis);
    if (!released.ok()) {
      log_.Warn("releasing stale pending blobs failed", {{"error", released.status().message()}});
    } else if (*released > 0) {
      log_.Info("released the quota of blobs no manifest claimed", {{"count", *released}});
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::minutes(10), [this] { return stopping_; });
  }
}

}  // namespace berth
