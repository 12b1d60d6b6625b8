// HostServices: the berth_host_services table handed to every plugin,
// backed by berthd's logger, clock and metrics.
#ifndef BERTH_PLUGIN_HOST_SERVICES_H_
#define BERTH_PLUGIN_HOST_SERVICES_H_

#include <berth/plugin.h>

#include <map>
#include <string>

#include "common/logger.h"
#include "http/metrics.h"

namespace berth {

class HostServices {
 public:
  // `secrets` maps names plugins may look up to their values.
  HostServices(Logger& log, Metrics& metrics, std::map<std::string, std::string> secrets = {});
  const berth_host_services* table() const { return &table_; }

 private:
  static void Log(void* ctx, int32_t level, const char* msg, size_t len);
  static int32_t LogEnabled(void* ctx, int32_t level);
  static int64_t NowUnixNs(void* ctx);
  static berth_status HttpRequest(void* ctx, const berth_call_ctx* call,
                                  const berth_http_request* req, berth_http_response* resp,
                                  berth_sink* err);
  static berth_status SecretGet(void* ctx, berth_str name, berth_sink* out, berth_sink* err);
  static berth_status MetricDefine(void* ctx, berth_str name, berth_str help, int32_t kind,
                                   uint32_t* out);
  static void MetricAdd(void* ctx, uint32_t handle, double v);

  Logger& log_;
  Metrics& metrics_;
  std::map<std::string, std::string> secrets_;
  berth_host_services table_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_HOST_SERVICES_H_
