// preheat-kraken: Harbor's Kraken driver (pkg/p2p/preheat/provider/kraken.go):
//   GET  <endpoint>/health                     health
//   POST <endpoint>/registry/notifications     a distribution-style notification
//                                              of one "push" event for the image
// Kraken's origin then pulls the manifest and its blobs itself. Kraken has
// no progress API: as in Harbor, an accepted notification is SUCCESS.
#include <berth/plugin_sdk.hpp>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "preheat_http.hpp"

namespace {

using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::PreheatImage;
using berth::sdk::PreheatInstance;
using berth::sdk::Status;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 600000,
                   "description": "per-request HTTP timeout (default 30000)"}
  },
  "additionalProperties": false
})json";

constexpr char kHealthPath[] = "/health";
constexpr char kPreheatPath[] = "/registry/notifications";
constexpr char kManifestV2[] = "application/vnd.docker.distribution.manifest.v2+json";

// Harbor's utils.GenerateRandomString: 32 alphanumerics.
std::string RandomId() {
  static const char* k = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::mt19937_64 gen(rd());
  std::string out;
  for (int i = 0; i < 32; ++i) out += k[gen() % 62];
  return out;
}

std::string RFC3339Now(int64_t unix_ns) {
  time_t s = static_cast<time_t>(unix_ns / 1000000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(unix_ns % 1000000000));
  return std::string(buf) + frac;
}

class KrakenPreheat : public berth::sdk::PreheatProvider {
 public:
  KrakenPreheat(const Host& host, int64_t timeout_ms) : host_(host), timeout_ms_(timeout_ms) {}

  static Status Create(const Host& host, std::string_view config,
                       std::unique_ptr<KrakenPreheat>* out) {
    auto j = nlohmann::json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
    if (!j.is_object()) return Status::InvalidArgument("config must be an object");
    out->reset(new KrakenPreheat(host, j.value("timeout_ms", int64_t{30000})));
    return {};
  }

  Status SelfInfo(const CallCtx&, std::string* json) override {
    *json = nlohmann::json({{"id", "kraken"},
                            {"name", "Kraken"},
                            {"icon", "https://github.com/uber/kraken/blob/master/assets/kraken-logo-color.svg"},
                            {"version", "0.1.3"},
                            {"source", "https://github.com/uber/kraken"},
                            {"maintainers", {"mmpei/peimingming@corp.netease.com"}},
                            {"auth_mode", "NONE"}})
                .dump();
    return {};
  }

  Status GetHealth(const CallCtx& call, const PreheatInstance& at) override {
    berth::sdk::HttpResponse resp;
    return berth_preheat::Exchange(host_, call, at, "GET",
                                   berth_preheat::Endpoint(at.endpoint, kHealthPath), "",
                                   timeout_ms_, &resp);
  }

  Status Preheat(const CallCtx& call, const PreheatInstance& at, const PreheatImage& image,
                 std::string* json) override {
    auto [repository, tag] = berth_preheat::SplitImage(image.image);
    std::string id = RandomId();
    // Harbor's notification.Notification, as Go marshals it (field names as declared).
    nlohmann::json event = {{"Id", id},
                            {"TimeStamp", RFC3339Now(host_.NowUnixNs())},
                            {"Action", "push"},
                            {"Target",
                             {{"MediaType", kManifestV2},
                              {"Digest", image.digest},
                              {"Repository", repository},
                              {"Url", image.url},
                              {"Tag", tag}}},
                            {"Request", nullptr},
                            {"Actor", nullptr}};
    nlohmann::json payload = {{"Events", nlohmann::json::array({event})}};
    berth::sdk::HttpResponse resp;
    Status s = berth_preheat::Exchange(host_, call, at, "POST",
                                       berth_preheat::Endpoint(at.endpoint, kPreheatPath),
                                       payload.dump(), timeout_ms_, &resp);
    if (!s.ok()) return s;
    *json = nlohmann::json({{"task_id", id}, {"status", "SUCCESS"}, {"error", ""}}).dump();
    return {};
  }

  Status CheckProgress(const CallCtx&, const PreheatInstance&, std::string_view task_id,
                       std::string* json) override {
    *json = nlohmann::json({{"task_id", std::string(task_id)}, {"status", "SUCCESS"}, {"error", ""}}).dump();
    return {};
  }

 private:
  Host host_;
  int64_t timeout_ms_;
};

const berth_provider kKraken = berth::sdk::MakePreheatProvider<KrakenPreheat>(
    {"kraken", "Preheats images into Uber Kraken through its registry notifications", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("preheat-kraken", "1.0.0", "P2P preheat with Kraken", &kKraken)
