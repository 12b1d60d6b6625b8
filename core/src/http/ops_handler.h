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
  // Appends more Prometheus text (labelled series) to every /metrics answer.
  void AddMetricsText(std::function<void(std::string*)> fn) { texts_.push_back(std::move(fn)); }

 private:
  Metrics& metrics_;
  std::vector<HealthCheck> checks_;
  std::vector<std::function<void(std::string*)>> texts_;
};

}  // namespace berth

#endif  // BERTH_HTTP_OPS_HANDLER_H_
