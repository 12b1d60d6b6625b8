// OpsHandler: /metrics (Prometheus text) and /health.
#ifndef BERTH_HTTP_OPS_HANDLER_H_
#define BERTH_HTTP_OPS_HANDLER_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "http/http_server.h"
#include "http/metrics.h"

namespace berth {

// A named component check for /health.
struct HealthCheck {
  std::string name;
  std::function<Status()> check;
};

class OpsHandler : public HttpHandler {
 public:
  OpsHandler(Metrics& metrics, std::vector<HealthCheck> checks)
      : metrics_(metrics), checks_(std::move(checks)) {}
  void Handle(RequestContext& ctx) override;
  // {"status":"healthy|unhealthy","components":[{name,status,error}]}; false when unhealthy.
  bool HealthJson(std::string* out) const;

 private:
  Metrics& metrics_;
  std::vector<HealthCheck> checks_;
};

}  // namespace berth

#endif  // BERTH_HTTP_OPS_HANDLER_H_
