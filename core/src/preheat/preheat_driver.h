// PreheatDriver: Harbor's preheat provider driver (pkg/p2p/preheat/provider:
// Self, GetHealth, Preheat, CheckProgress) as berthd calls it. The preheat
// plugins implement it through the C ABI (plugin/plugin_preheat.h).
#ifndef BERTH_PREHEAT_PREHEAT_DRIVER_H_
#define BERTH_PREHEAT_PREHEAT_DRIVER_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth {

// The provider instance a call goes to.
struct PreheatEndpoint {
  std::string endpoint;
  std::string auth_mode = "NONE";
  std::string auth_info_json = "{}";
  bool insecure = false;
};

// Harbor's PreheatImage.
struct PreheatImageSpec {
  std::string type = "image";
  std::string url;           // berthd's /v2 manifest URL
  std::string headers_json;  // {"Authorization": "Bearer ..."}
  std::string image;         // "library/app:tag"
  std::string digest;
  std::string scope;         // single_peer | all_peers
  std::string extra_json;    // the policy's extra_attrs
};

// Harbor's provider PreheatingStatus values.
inline constexpr char kPreheatPending[] = "PENDING";
inline constexpr char kPreheatRunning[] = "RUNNING";
inline constexpr char kPreheatSuccess[] = "SUCCESS";
inline constexpr char kPreheatFail[] = "FAIL";

struct PreheatProgress {
  std::string task_id;
  std::string status;  // PENDING | RUNNING | SUCCESS | FAIL
  std::string error;
  std::string message;  // optional details the provider reports
};

class PreheatDriver {
 public:
  virtual ~PreheatDriver() = default;
  // {id, name, icon, version, source, maintainers, ...}.
  virtual StatusOr<nlohmann::json> SelfInfo(int64_t deadline_unix_ns) = 0;
  virtual Status GetHealth(const PreheatEndpoint& at, int64_t deadline_unix_ns) = 0;
  virtual StatusOr<PreheatProgress> Preheat(const PreheatEndpoint& at, const PreheatImageSpec& image,
                                            int64_t deadline_unix_ns) = 0;
  virtual StatusOr<PreheatProgress> CheckProgress(const PreheatEndpoint& at,
                                                  const std::string& task_id,
                                                  int64_t deadline_unix_ns) = 0;
};

}  // namespace berth

#endif  // BERTH_PREHEAT_PREHEAT_DRIVER_H_
