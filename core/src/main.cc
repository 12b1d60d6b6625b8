// berthd: the Berth registry daemon.
//
//   berthd [--config FILE]           serve
//   berthd --check-config [--config FILE]
//   berthd --version
//   berthd plugins list [--config FILE]
//   berthd plugins inspect FILE
#include <berth/plugin.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/logger.h"
#include "config/config.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_registry.h"
#include "preflight.h"
#include "server.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: berthd [--config FILE]\n"
               "       berthd --check-config [--config FILE]\n"
               "       berthd --version\n"
               "       berthd plugins list [--config FILE]\n"
               "       berthd plugins inspect FILE\n"
               "\nEnvironment: BERTH_CONFIG, BERTH_LISTEN (host:port), BERTH_DATA_DIR,\n"
               "BERTH_LOG_LEVEL, BERTH_METADATA_DRIVER, BERTH_POSTGRES_DSN, BERTH_PLUGIN_DIRS.\n");
}

void PrintPlugin(const berth::PluginInfo& p) {
  std::printf("%s %s (ABI %u.%u)\n  file: %s\n", p.name.c_str(), p.version.c_str(), p.abi_major,
              p.abi_minor, p.path.c_str());
  if (!p.description.empty()) std::printf("  %s\n", p.description.c_str());
  for (const auto& pr : p.providers) {
    std::printf("  provider %s/%s (%s)%s%s\n", berth::KindName(pr.kind), pr.name.c_str(),
                pr.threading == BERTH_THREADING_SERIALIZED ? "serialized" : "reentrant",
                pr.description.empty() ? "" : ": ", pr.description.c_str());
    if (!pr.config_schema_json.empty()) {
      // One line: collapse the schema's own formatting.
      std::string compact;
      bool space = false;
      for (char c : pr.config_schema_json) {
        bool ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (ws && !space && !compact.empty()) compact += ' ';
        space = ws;
        if (!ws) compact += c;
      }
      std::printf("    config schema: %s\n", compact.c_str());
    }
  }
}

int LoadConfig(const std::string& path, berth::Config* out) {
  std::string p = path;
  if (p.empty()) {
    if (const char* env = std::getenv("BERTH_CONFIG"); env != nullptr) p = env;
  }
  auto cfg = berth::Config::Load(p, [](const char* n) { return std::getenv(n); });
  if (!cfg.ok()) {
    std::fprintf(stderr, "berthd: configuration error: %s\n", cfg.status().message().c_str());
    return 2;
  }
  *out = std::move(*cfg);
  return 0;
}

// --check-config: the configuration loads, and every plugin and provider it
// needs is there and accepts its config; nothing is bound or written.
int CheckConfigCommand(const std::string& config_path) {
  berth::Config cfg;
  if (int rc = LoadConfig(config_path, &cfg); rc != 0) return rc;
  berth::Logger log(berth::LogLevel::kError);
  berth::Metrics metrics;
  berth::HostServices host(log, metrics);
  berth::PluginRegistry reg(host.table());
  std::vector<std::string> dirs;
  for (const auto& list : {cfg.plugin_dirs, berth::DefaultPluginDirs()}) {
    for (const auto& d : list) {
      if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    }
  }
  berth::PreflightResult r = berth::Preflight(cfg, dirs, reg);
  std::string origin = config_path.empty() ? "defaults and environment" : config_path;
  if (!r.problems.empty()) {
    std::fprintf(stderr, "berthd: configuration check failed (%s):\n", origin.c_str());
    for (const auto& p : r.problems) std::fprintf(stderr, "  - %s\n", p.c_str());
    return 1;
  }
  std::printf("berthd: configuration OK (%s)\n", origin.c_str());
  for (const auto& c : r.checked) std::printf("  %s\n", c.c_str());
  return 0;
}

int PluginsCommand(const std::vector<std::string>& args, const std::string& config_path) {
  if (args.empty()) {
    Usage(stderr);
    return 2;
  }
  if (args[0] == "inspect") {
    if (args.size() != 2) {
      std::fprintf(stderr, "usage: berthd plugins inspect FILE\n");
      return 2;
    }
    auto info = berth::PluginRegistry::Inspect(args[1]);
    if (!info.ok()) {
      std::fprintf(stderr, "berthd: %s\n", info.status().message().c_str());
      return 1;
    }
    PrintPlugin(*info);
    return 0;
  }
  if (args[0] == "list") {
    berth::Config cfg;
    if (int rc = LoadConfig(config_path, &cfg); rc != 0) return rc;
    berth::Logger log(berth::LogLevel::kError);
    berth::Metrics metrics;
    berth::HostServices host(log, metrics);
    berth::PluginRegistry reg(host.table());
    std::vector<std::string> dirs = cfg.plugin_dirs;
    for (auto& d : berth::DefaultPluginDirs()) dirs.push_back(d);
    berth::Status st = reg.LoadDirectories(dirs);
    for (const auto& p : reg.plugins()) PrintPlugin(p);
    for (const auto& r : reg.refused()) {
      std::printf("REFUSED %s\n  reason: %s\n", r.path.c_str(), r.reason.c_str());
    }
    return st.ok() ? 0 : 1;
  }
  Usage(stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // Large transient buffers (argon2id's 19 MiB per password check in
  // auth-db) must go back to the system when freed. Left to itself glibc
  // raises its mmap threshold after the first such free and from then on
  // keeps a copy in the heap of every thread that ever checked a password:
  // 8 concurrent failed logins left berthd at 174 MiB RSS instead of 22 MiB.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
  std::string config_path;
  bool check_config = false;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version" || a == "-v") {
      std::printf("berthd %s (plugin ABI %d.%d)\n", BERTH_VERSION, BERTH_ABI_MAJOR, BERTH_ABI_MINOR);
      return 0;
    } else if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else if (a == "--config" || a == "-c") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "berthd: --config needs a file\n");
        return 2;
      }
      config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else if (a == "--check-config") {
      check_config = true;
    } else {
      rest.push_back(a);
    }
  }
  if (check_config) {
    if (!rest.empty()) {
      std::fprintf(stderr, "berthd: --check-config takes no argument '%s'\n", rest[0].c_str());
      return 2;
    }
    // BERTH_CONFIG applies here as when serving (LoadConfig).
    std::string path = config_path;
    if (path.empty()) {
      if (const char* env = std::getenv("BERTH_CONFIG"); env != nullptr) path = env;
    }
    return CheckConfigCommand(path);
  }
  if (!rest.empty() && rest[0] == "plugins") {
    return PluginsCommand(std::vector<std::string>(rest.begin() + 1, rest.end()), config_path);
  }
  if (!rest.empty()) {
    std::fprintf(stderr, "berthd: unknown argument '%s'\n", rest[0].c_str());
    Usage(stderr);
    return 2;
  }

  berth::Config cfg;
  if (int rc = LoadConfig(config_path, &cfg); rc != 0) return rc;
  berth::LogLevel level = berth::LogLevel::kInfo;
  berth::ParseLogLevel(cfg.log_level, &level);
  berth::Logger log(level);

  // Signals are taken synchronously by the main thread; block them before
  // any other thread starts so none of them receives one.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);  // reload the TLS certificate
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  berth::Server server(cfg, log);
  berth::Status st = server.Init();
  if (!st.ok()) {
    std::fprintf(stderr, "berthd: %s\n", st.message().c_str());
    return 1;
  }
  st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "berthd: %s\n", st.message().c_str());
    return 1;
  }
  std::string url = std::string(cfg.tls.enabled() ? "https://" : "http://") + cfg.listen_host() +
                    ":" + std::to_string(server.port());
  log.Info("berthd listening", {{"url", url}, {"version", BERTH_VERSION}, {"data_dir", cfg.data_dir}});
  std::printf("berthd %s listening on %s (data in %s)\n", BERTH_VERSION, url.c_str(), cfg.data_dir.c_str());
  if (server.redirect_port() != 0) {
    std::printf("berthd redirects plain HTTP on %s:%d to HTTPS\n",
                cfg.tls.redirect_listen.substr(0, cfg.tls.redirect_listen.rfind(':')).c_str(),
                server.redirect_port());
  }
  std::fflush(stdout);

  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    if (!cfg.tls.enabled()) {
      log.Info("SIGHUP ignored: nothing to reload without TLS");
      continue;
    }
    berth::Status reloaded = server.ReloadTls();
    if (!reloaded.ok()) {
      log.Error("TLS reload failed; the previous certificate stays in service",
                {{"error", reloaded.message()}});
    }
  }
  log.Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.Stop();
  log.Info("stopped");
  return 0;
}
