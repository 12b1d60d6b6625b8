// ScannerController: Harbor's scanner registrations over Berth's scanner
// plugins. A registration names a provider some loaded plugin offers
// (BERTH_KIND_SCANNER) and that provider's config, validated against the
// provider's JSON schema. Harbor's `url` is "plugin:<provider>" for a
// plugin scanner, or an adapter's http(s) URL, which selects the adapter
// client provider (scanning.adapter_provider) and is passed in its config.
// berth.yml's scanning.default creates or updates one registration at
// startup and makes it the default, so one changed line and a restart swap
// the scanner of every project that did not choose its own.
#ifndef BERTH_SCAN_SCANNER_CONTROLLER_H_
#define BERTH_SCAN_SCANNER_CONTROLLER_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/access_evaluator.h"
#include "config/config.h"
#include "iam/project_controller.h"
#include "plugin/plugin_registry.h"
#include "plugin/plugin_scanner.h"
#include "store/scanner_store.h"

namespace berth {

// What a registration's scanner says about itself (cached briefly).
struct ScannerHealth {
  bool healthy = false;
  std::string error;
  std::string name, vendor, version;  // metadata.scanner
  bool support_vulnerability = false;
  bool support_sbom = false;
  nlohmann::json metadata;            // the whole ScannerAdapterMetadata
};

// A create or update request (Harbor's ScannerRegistrationReq plus Berth's
// provider and config).
struct ScannerRegistrationInput {
  nlohmann::json body;
};

class ScannerController {
 public:
  ScannerController(ScannerStore& store, PluginRegistry& plugins, AccessEvaluator& evaluator,
                    ProjectController& projects, const ScanningConfig& config);

  // scanning.default from berth.yml (no-op without a provider).
  Status ApplyConfiguredDefault();

  StatusOr<ScannerRegistrationRecord> Create(const Identity& who, const nlohmann::json& body);
  StatusOr<ScannerRegistrationRecord> Get(const Identity& who, const std::string& uuid);
  StatusOr<Page<ScannerRegistrationRecord>> List(const Identity& who, const ListQuery& q);
  Status Update(const Identity& who, const std::string& uuid, const nlohmann::json& body);
  // Returns the deleted registration (Harbor answers with it).
  StatusOr<ScannerRegistrationRecord> Delete(const Identity& who, const std::string& uuid);
  Status SetDefault(const Identity& who, const std::string& uuid, bool is_default);
  // Builds a scanner from the settings without storing anything and asks
  // for its metadata (POST /scanners/ping).
  Status Ping(const Identity& who, const nlohmann::json& body);
  StatusOr<nlohmann::json> Metadata(const Identity& who, const std::string& uuid);

  // The project's own choice, else the default; nullopt when neither.
  StatusOr<std::optional<ScannerRegistrationRecord>> ProjectScanner(const Identity& who,
                                                                    const ProjectRecord& p);
  Status SetProjectScanner(const Identity& who, const ProjectRecord& p, const std::string& uuid);
  StatusOr<Page<ScannerRegistrationRecord>> Candidates(const Identity& who, const ProjectRecord& p,
                                                       const ListQuery& q);

  // For scans (no RBAC): the registration scans of project_id use, enabled
  // or not; nullopt when none.
  StatusOr<std::optional<ScannerRegistrationRecord>> EffectiveFor(int64_t project_id);
  StatusOr<std::optional<ScannerRegistrationRecord>> Find(const std::string& uuid);
  // The plugin instance of a registration (created on first use and again
  // after the registration changed).
  StatusOr<std::shared_ptr<PluginScanner>> Instance(const ScannerRegistrationRecord& r);
  // Metadata, cached for a short while; never fails (health says why).
  ScannerHealth Health(const ScannerRegistrationRecord& r, bool fresh = false);

  const ScanningConfig& config() const { return config_; }

 private:
  Status RequireSystem(const Identity& who, const char* action) const;
  // Fills provider, config, url and the Harbor fields from a request body;
  // `existing` for updates.
  Status FromBody(const nlohmann::json& body, ScannerRegistrationRecord* r, bool update);
  StatusOr<std::shared_ptr<PluginScanner>> Build(const ScannerRegistrationRecord& r);
  void Forget(const std::string& uuid);

  ScannerStore& store_;
  PluginRegistry& plugins_;
  AccessEvaluator& evaluator_;
  ProjectController& projects_;
  ScanningConfig config_;
  std::mutex mu_;
  struct Cached {
    int64_t update_time = 0;
    std::shared_ptr<PluginScanner> scanner;
    int64_t health_at = 0;
    ScannerHealth health;
  };
  std::map<std::string, Cached> cache_;
};

}  // namespace berth

#endif  // BERTH_SCAN_SCANNER_CONTROLLER_H_
