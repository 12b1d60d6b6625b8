#include "plugin/plugin_registry.h"

#define BOOST_DLL_USE_STD_FS 1
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstring>
#include <filesystem>

#include "plugin/json_schema.h"
#include "plugin/plugin_status.h"
#include "plugin/plugin_storage_driver.h"

namespace berth {

const char* KindName(int32_t kind) {
  switch (kind) {
    case BERTH_KIND_STORAGE: return "storage";
    case BERTH_KIND_AUTH: return "auth";
    case BERTH_KIND_SCANNER: return "scanner";
    case BERTH_KIND_REPLICATION: return "replication";
    case BERTH_KIND_NOTIFIER: return "notifier";
    case BERTH_KIND_PREHEAT: return "preheat";
    default: return "unknown";
  }
}

namespace {

// Size of each struct as ABI 1.0 defined it: the minimum a plugin may hand us.
constexpr size_t kDescriptorV1 = offsetof(berth_plugin_descriptor, providers) +
                                 sizeof(((berth_plugin_descriptor*)0)->providers);
constexpr size_t kProviderV1 =
    offsetof(berth_provider, vtable) + sizeof(((berth_provider*)0)->vtable);

struct Library {
  boost::dll::shared_library lib;
  const berth_plugin_descriptor* descriptor = nullptr;
  uint16_t abi_major = 0, abi_minor = 0;
};

template <class V>
uint32_t VtableSize(const berth_provider* p) {
  return static_cast<const V*>(p->vtable)->struct_size;
}

#define BERTH_V1_SIZE(type, last) (offsetof(type, last) + sizeof(((type*)0)->last))
#define BERTH_FN(vt, slot) reinterpret_cast<const void*>((vt)->slot)

Status RequireAll(std::initializer_list<const void*> slots, const char* kind) {
  for (const void* fn : slots) {
    if (fn == nullptr) {
      return Status::InvalidArgument(std::string(kind) + " vtable lacks a required operation");
    }
  }
  return {};
}

Status CheckVtable(const berth_provider* p) {
  uint64_t caps = p->capabilities;
  switch (p->kind) {
    case BERTH_KIND_STORAGE: {
      auto* vt = static_cast<const berth_storage_vtable*>(p->vtable);
      if (vt->struct_size < BERTH_V1_SIZE(berth_storage_vtable, open_fd)) break;
      BERTH_RETURN_IF_ERROR(RequireAll(
          {BERTH_FN(vt, get_content), BERTH_FN(vt, put_content), BERTH_FN(vt, stat),
           BERTH_FN(vt, list), BERTH_FN(vt, move), BERTH_FN(vt, remove), BERTH_FN(vt, walk)},
          "storage"));
      // Streams: the 1.1 set (all nine slots) or else the 1.0 one.
      if (StorageHasStreamsV2(vt)) {
        BERTH_RETURN_IF_ERROR(RequireAll(
            {BERTH_FN(vt, reader_open_v2), BERTH_FN(vt, reader_read_v2),
             BERTH_FN(vt, reader_close_v2), BERTH_FN(vt, writer_open_v2),
             BERTH_FN(vt, writer_write_v2), BERTH_FN(vt, writer_size_v2),
             BERTH_FN(vt, writer_commit_v2), BERTH_FN(vt, writer_cancel_v2),
             BERTH_FN(vt, writer_close_v2)},
            "storage (1.1 streams: all nine or none)"));
      } else {
        BERTH_RETURN_IF_ERROR(RequireAll(
            {BERTH_FN(vt, reader_open), BERTH_FN(vt, reader_read), BERTH_FN(vt, reader_close),
             BERTH_FN(vt, writer_open), BERTH_FN(vt, writer_write), BERTH_FN(vt, writer_size),
             BERTH_FN(vt, writer_commit), BERTH_FN(vt, writer_cancel),
             BERTH_FN(vt, writer_close)},
            "storage"));
      }
      if ((caps & BERTH_STORAGE_CAP_OPEN_FD) && vt->open_fd == nullptr) {
        return Status::InvalidArgument("claims open_fd but does not implement it");
      }
      if ((caps & BERTH_STORAGE_CAP_REDIRECT_URL) && vt->redirect_url == nullptr) {
        return Status::InvalidArgument("claims redirect_url but does not implement it");
      }
      return {};
    }
    case BERTH_KIND_AUTH: {
      auto* vt = static_cast<const berth_auth_vtable*>(p->vtable);
      if (vt->struct_size < BERTH_V1_SIZE(berth_auth_vtable, verify_token)) break;
      struct {
        uint64_t cap;
        const void* fn;
        const char* name;
      } pairs[] = {{BERTH_AUTH_CAP_PASSWORD, BERTH_FN(vt, authenticate), "authenticate"},
                   {BERTH_AUTH_CAP_HASH_PASSWORD, BERTH_FN(vt, hash_password), "hash_password"},
                   {BERTH_AUTH_CAP_SEARCH_USERS, BERTH_FN(vt, search_users), "search_users"},
                   {BERTH_AUTH_CAP_SEARCH_GROUPS, BERTH_FN(vt, search_groups), "search_groups"},
                   {BERTH_AUTH_CAP_PING, BERTH_FN(vt, ping), "ping"},
                   {BERTH_AUTH_CAP_BROWSER_LOGIN, BERTH_FN(vt, login_begin), "login_begin"},
                   {BERTH_AUTH_CAP_BROWSER_LOGIN, BERTH_FN(vt, login_callback), "login_callback"},
                   {BERTH_AUTH_CAP_VERIFY_TOKEN, BERTH_FN(vt, verify_token), "verify_token"}};
      for (const auto& pr : pairs) {
        if ((caps & pr.cap) && pr.fn == nullptr) {
          return Status::InvalidArgument(std::string("claims ") + pr.name +
                                         " but does not implement it");
        }
      }
      return {};
    }
    case BERTH_KIND_SCANNER: {
      auto* vt = static_cast<const berth_scanner_vtable*>(p->vtable);
      if (vt->struct_size < BERTH_V1_SIZE(berth_scanner_vtable, get_report)) break;
      return RequireAll({BERTH_FN(vt, get_metadata), BERTH_FN(vt, submit_scan),
                         BERTH_FN(vt, get_report)},
                        "scanner");
    }
    case BERTH_KIND_REPLICATION: {
      auto* vt = static_cast<const berth_replication_vtable*>(p->vtable);
      if (vt->struct_size < BERTH_V1_SIZE(berth_replication_vtable, list_referrers)) break;
      return RequireAll(
          {BERTH_FN(vt, info), BERTH_FN(vt, open), BERTH_FN(vt, close), BERTH_FN(vt, health_check),
           BERTH_FN(vt, prepare_for_push), BERTH_FN(vt, fetch_artifacts), BERTH_FN(vt, list_tags),
           BERTH_FN(vt, manifest_exists), BERTH_FN(vt, pull_manifest), BERTH_FN(vt, push_manifest),
           BERTH_FN(vt, delete_manifest), BERTH_FN(vt, blob_exists), BERTH_FN(vt, pull_blob),
           BERTH_FN(vt, push_blob), BERTH_FN(vt, delete_tag)},
          "replication");
    }
    case BERTH_KIND_NOTIFIER: {
      auto* vt = static_cast<const berth_notifier_vtable*>(p->vtable);
      if (vt->struct_size < BERTH_V1_SIZE(berth_notifier_vtable, deliver)) break;
      return RequireAll({BERTH_FN(vt, deliver)}, "notifier");
    }
    case BERTH_KIND_PREHEAT: {
      auto* vt = static_cast<const berth_preheat_vtable*>(p->vtable);
      if (vt->struct_size < BERTH_V1_SIZE(berth_preheat_vtable, check_progress)) break;
      return RequireAll({BERTH_FN(vt, self_info), BERTH_FN(vt, get_health), BERTH_FN(vt, preheat),
                         BERTH_FN(vt, check_progress)},
                        "preheat");
    }
    default:
      return Status::InvalidArgument("unknown provider kind " + std::to_string(p->kind));
  }
  return Status::InvalidArgument(std::string(KindName(p->kind)) +
                                 " vtable is smaller than ABI 1.0 defines");
}

Status CheckProvider(const berth_provider* p) {
  if (p == nullptr) return Status::InvalidArgument("descriptor lists a null provider");
  if (p->struct_size < kProviderV1) {
    return Status::InvalidArgument("provider struct is smaller than ABI 1.0 defines");
  }
  if (p->name == nullptr || *p->name == '\0') {
    return Status::InvalidArgument("provider has no name");
  }
  std::string who = std::string("provider '") + p->name + "': ";
  if (p->create == nullptr || p->destroy == nullptr || p->vtable == nullptr) {
    return Status::InvalidArgument(who + "create, destroy and vtable are required");
  }
  if (p->threading != BERTH_THREADING_REENTRANT && p->threading != BERTH_THREADING_SERIALIZED) {
    return Status::InvalidArgument(who + "unknown threading model");
  }
  Status st = CheckVtable(p);
  if (!st.ok()) return Status::InvalidArgument(who + st.message());
  return {};
}

// Opens a file and runs the negotiation. `host` may be null (inspection).
StatusOr<std::unique_ptr<Library>> Open(const std::string& path,
                                        const berth_host_services* host) {
  auto out = std::make_unique<Library>();
  // Boost.DLL reports every dlopen() failure as "Bad file descriptor" and
  // clears dlerror(), so open the file directly first to report the loader's
  // own reason (not an ELF file, missing dependency, undefined symbol, ...).
  void* probe = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (probe == nullptr) {
    const char* e = ::dlerror();
    std::string why = e != nullptr ? e : "unknown dynamic loader error";
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);  // named by the caller
    return Status::InvalidArgument("not a loadable shared object (" + why +
                                   "): not a Berth plugin");
  }
  boost::dll::fs::error_code ec;
  out->lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  ::dlclose(probe);  // the library keeps its own reference
  if (ec) {
    return Status::InvalidArgument("not a loadable shared object (" + ec.message() +
                                   "): not a Berth plugin");
  }
  if (!out->lib.has(BERTH_PLUGIN_ENTRY_SYMBOL)) {
    return Status::InvalidArgument(std::string("no ") + BERTH_PLUGIN_ENTRY_SYMBOL +
                                   " symbol: not a Berth plugin");
  }
  auto entry = out->lib.get<berth_status(berth_entry_args*)>(BERTH_PLUGIN_ENTRY_SYMBOL);
  berth_entry_args args;
  std::memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.host_abi_major = BERTH_ABI_MAJOR;
  args.host_abi_minor = BERTH_ABI_MINOR;
  args.host = host;
  berth_status rc = entry(&args);
  std::string host_abi =
      std::to_string(BERTH_ABI_MAJOR) + "." + std::to_string(BERTH_ABI_MINOR);
  std::string plugin_abi =
      std::to_string(args.plugin_abi_major) + "." + std::to_string(args.plugin_abi_minor);
  if (rc == BERTH_E_ABI_MISMATCH || (rc == BERTH_OK && args.plugin_abi_major != BERTH_ABI_MAJOR)) {
    return Status::InvalidArgument("ABI major mismatch: plugin built for ABI " + plugin_abi +
                                   ", berthd implements ABI " + host_abi);
  }
  if (rc != BERTH_OK) {
    return Status::InvalidArgument(std::string("entry point failed with ") +
                                   PluginStatusName(rc));
  }
  if (args.plugin_abi_minor > BERTH_ABI_MINOR) {
    return Status::InvalidArgument("plugin built for newer ABI " + plugin_abi +
                                   " than berthd's " + host_abi + "; upgrade berthd");
  }
  const berth_plugin_descriptor* d = args.descriptor;
  if (d == nullptr || d->struct_size < kDescriptorV1) {
    return Status::InvalidArgument("missing or truncated plugin descriptor");
  }
  if (d->name == nullptr || *d->name == '\0' || d->version == nullptr) {
    return Status::InvalidArgument("descriptor lacks a name or version");
  }
  if (d->n_providers > 0 && d->providers == nullptr) {
    return Status::InvalidArgument("descriptor lists providers but gives none");
  }
  for (size_t i = 0; i < d->n_providers; ++i) BERTH_RETURN_IF_ERROR(CheckProvider(d->providers[i]));
  out->descriptor = d;
  out->abi_major = args.plugin_abi_major;
  out->abi_minor = args.plugin_abi_minor;
  return out;
}

PluginInfo Describe(const std::string& path, const Library& lib) {
  PluginInfo info;
  const berth_plugin_descriptor* d = lib.descriptor;
  info.path = path;
  info.name = d->name;
  info.version = d->version;
  info.description = d->description ? d->description : "";
  info.abi_major = lib.abi_major;
  info.abi_minor = lib.abi_minor;
  for (size_t i = 0; i < d->n_providers; ++i) {
    const berth_provider* p = d->providers[i];
    ProviderInfo pi;
    pi.kind = p->kind;
    pi.name = p->name;
    pi.description = p->description ? p->description : "";
    pi.config_schema_json = p->config_schema_json ? p->config_schema_json : "";
    pi.capabilities = p->capabilities;
    pi.threading = p->threading;
    info.providers.push_back(std::move(pi));
  }
  return info;
}

}  // namespace

struct PluginRegistry::Loaded {
  std::string path;
  std::unique_ptr<Library> lib;
};

PluginRegistry::PluginRegistry(const berth_host_services* host) : host_(host) {}

// Libraries stay mapped for the life of the process: a provider's code may be
// referenced from anywhere, and unloading is a class of bugs we do not want.
PluginRegistry::~PluginRegistry() {
  for (auto& l : loaded_) {
    if (l->lib) {
      new boost::dll::shared_library(std::move(l->lib->lib));  // intentionally leaked
    }
  }
}

Status PluginRegistry::LoadDirectories(const std::vector<std::string>& dirs) {
  std::vector<std::string> failures;
  for (const auto& dir : dirs) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      failures.push_back(dir + ": not a directory");
      continue;
    }
    if (st.st_mode & S_IWOTH) {
      refused_.push_back({dir, "plugin directory is world-writable"});
      failures.push_back(dir + ": plugin directory is world-writable; refusing to load from it");
      continue;
    }
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".so") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Status s = LoadFile(f);
      if (!s.ok()) failures.push_back(s.message());
    }
  }
  if (failures.empty()) return {};
  std::string msg = "refusing to start: ";
  for (size_t i = 0; i < failures.size(); ++i) msg += (i ? "; " : "") + failures[i];
  return Status::InvalidArgument(msg);
}

Status PluginRegistry::LoadFile(const std::string& path) {
  std::string canonical = path;
  std::error_code ec;
  auto abs = std::filesystem::weakly_canonical(path, ec);
  if (!ec) canonical = abs.string();
  for (const auto& l : loaded_) {
    if (l->path == canonical) return {};  // listed twice through different dirs
  }
  auto lib = Open(canonical, host_);
  if (!lib.ok()) {
    refused_.push_back({canonical, lib.status().message()});
    return Status::InvalidArgument(canonical + ": " + lib.status().message());
  }
  const berth_plugin_descriptor* d = (*lib)->descriptor;
  for (size_t i = 0; i < d->n_providers; ++i) {
    const berth_provider* p = d->providers[i];
    for (size_t j = 0; j < i; ++j) {
      const berth_provider* q = d->providers[j];
      if (q->kind == p->kind && std::strcmp(q->name, p->name) == 0) {
        std::string msg = std::string("duplicate ") + KindName(p->kind) + " provider '" +
                          p->name + "' within the plugin";
        refused_.push_back({canonical, msg});
        return Status::InvalidArgument(canonical + ": " + msg);
      }
    }
    if (const berth_provider* other = FindProvider(p->kind, p->name)) {
      std::string msg = std::string("duplicate ") + KindName(p->kind) + " provider '" + p->name +
                        "' (already provided by " + PathOf(other) + ")";
      refused_.push_back({canonical, msg});
      return Status::InvalidArgument(canonical + ": " + msg);
    }
  }
  plugins_.push_back(Describe(canonical, **lib));
  auto loaded = std::make_unique<Loaded>();
  loaded->path = canonical;
  loaded->lib = std::move(*lib);
  loaded_.push_back(std::move(loaded));
  return {};
}

StatusOr<PluginInfo> PluginRegistry::Inspect(const std::string& path) {
  auto lib = Open(path, nullptr);
  if (!lib.ok()) return Status::InvalidArgument(path + ": " + lib.status().message());
  PluginInfo info = Describe(path, **lib);
  new boost::dll::shared_library(std::move((*lib)->lib));  // never unloaded
  return info;
}

const berth_provider* PluginRegistry::FindProvider(int32_t kind, std::string_view name) const {
  for (const auto& l : loaded_) {
    const berth_plugin_descriptor* d = l->lib->descriptor;
    for (size_t i = 0; i < d->n_providers; ++i) {
      const berth_provider* p = d->providers[i];
      if (p->kind == kind && name == p->name) return p;
    }
  }
  return nullptr;
}

Status PluginRegistry::ValidateConfig(const berth_provider* p,
                                     const std::string& config_json) const {
  std::string config = config_json.empty() ? "{}" : config_json;
  if (p->config_schema_json == nullptr || *p->config_schema_json == '\0') return {};
  Status valid = ValidateJsonSchema(p->config_schema_json, config);
  if (valid.ok()) return {};
  return Status::InvalidArgument(std::string(KindName(p->kind)) + " provider '" + p->name +
                                 "' (" + PathOf(p) +
                                 "): configuration rejected by the plugin's schema: " +
                                 valid.message());
}

StatusOr<void*> PluginRegistry::CreateInstance(const berth_provider* p,
                                              const std::string& config_json) const {
  std::string who = std::string(KindName(p->kind)) + " provider '" + p->name + "' (" +
                    PathOf(p) + ")";
  std::string config = config_json.empty() ? "{}" : config_json;
  BERTH_RETURN_IF_ERROR(ValidateConfig(p, config));
  void* instance = nullptr;
  StringSink err(4096);
  berth_status rc = p->create(host_, {config.data(), config.size()}, &instance, err.get());
  if (rc != BERTH_OK || instance == nullptr) {
    return Status::InvalidArgument(who + " failed to initialise: " +
                                   (err.str().empty() ? PluginStatusName(rc) : err.str()));
  }
  return instance;
}

std::string PluginRegistry::PathOf(const berth_provider* provider) const {
  for (const auto& l : loaded_) {
    const berth_plugin_descriptor* d = l->lib->descriptor;
    for (size_t i = 0; i < d->n_providers; ++i) {
      if (d->providers[i] == provider) return l->path;
    }
  }
  return {};
}

}  // namespace berth
