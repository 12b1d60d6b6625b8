#include "plugin/host_services.h"

#include <cstring>

#include "common/call_context.h"
#include "common/clock.h"
#include "plugin/http_client.h"

namespace berth {

namespace {
LogLevel ToLevel(int32_t level) {
  switch (level) {
    case BERTH_LOG_DEBUG: return LogLevel::kDebug;
    case BERTH_LOG_WARN: return LogLevel::kWarn;
    case BERTH_LOG_ERROR: return LogLevel::kError;
    default: return LogLevel::kInfo;
  }
}
void SinkError(berth_sink* err, const std::string& msg) {
  if (err != nullptr && err->append != nullptr) err->append(err->ctx, msg.data(), msg.size());
}
bool ValidMetricName(std::string_view n) {
  if (n.empty() || n.size() > 100) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}
}  // namespace

HostServices::HostServices(Logger& log, Metrics& metrics,
                           std::map<std::string, std::string> secrets)
    : log_(log), metrics_(metrics), secrets_(std::move(secrets)) {
  std::memset(&table_, 0, sizeof table_);
  table_.struct_size = sizeof table_;
  table_.host_ctx = this;
  table_.log = &HostServices::Log;
  table_.log_enabled = &HostServices::LogEnabled;
  table_.now_unix_ns = &HostServices::NowUnixNs;
  table_.http_request = &HostServices::HttpRequest;
  table_.secret_get = &HostServices::SecretGet;
  table_.metric_define = &HostServices::MetricDefine;
  table_.metric_add = &HostServices::MetricAdd;
}

void HostServices::Log(void* ctx, int32_t level, const char* msg, size_t len) {
  auto* self = static_cast<HostServices*>(ctx);
  // Plugin calls run under their CallContext (PluginCaller installs it), so a
  // line logged during a call names the request or job it was made for.
  const std::string& request_id = CallContext::Current().request_id;
  std::string_view text(msg ? msg : "", msg ? len : 0);
  if (request_id.empty()) {
    self->log_.Log(ToLevel(level), text, {{"source", "plugin"}});
  } else {
    self->log_.Log(ToLevel(level), text, {{"source", "plugin"}, {"request_id", request_id}});
  }
}

int32_t HostServices::LogEnabled(void* ctx, int32_t level) {
  return static_cast<HostServices*>(ctx)->log_.Enabled(ToLevel(level)) ? 1 : 0;
}

int64_t HostServices::NowUnixNs(void*) { return NowUnixNanos(); }

berth_status HostServices::HttpRequest(void*, const berth_call_ctx* call,
                                       const berth_http_request* req, berth_http_response* resp,
                                       berth_sink* err) {
  if (req == nullptr || resp == nullptr) {
    SinkError(err, "http_request needs a request and a response");
    return BERTH_E_INVALID_ARGUMENT;
  }
  return PerformPluginHttpRequest(call, *req, *resp, err);
}

berth_status HostServices::SecretGet(void* ctx, berth_str name, berth_sink* out,
                                     berth_sink* err) {
  auto* self = static_cast<HostServices*>(ctx);
  std::string key(name.ptr ? name.ptr : "", name.ptr ? name.len : 0);
  auto it = self->secrets_.find(key);
  if (it == self->secrets_.end()) {
    SinkError(err, "no secret named " + key);
    return BERTH_E_NOT_FOUND;
  }
  if (out != nullptr && out->append != nullptr) {
    return out->append(out->ctx, it->second.data(), it->second.size());
  }
  return BERTH_OK;
}

berth_status HostServices::MetricDefine(void* ctx, berth_str name, berth_str help, int32_t kind,
                                        uint32_t* out) {
  auto* self = static_cast<HostServices*>(ctx);
  std::string n(name.ptr ? name.ptr : "", name.ptr ? name.len : 0);
  if (!ValidMetricName(n) || out == nullptr ||
      (kind != BERTH_METRIC_COUNTER && kind != BERTH_METRIC_GAUGE)) {
    return BERTH_E_INVALID_ARGUMENT;
  }
  *out = self->metrics_.Define("berth_plugin_" + n,
                               std::string(help.ptr ? help.ptr : "", help.ptr ? help.len : 0),
                               kind == BERTH_METRIC_COUNTER);
  return BERTH_OK;
}

void HostServices::MetricAdd(void* ctx, uint32_t handle, double v) {
  static_cast<HostServices*>(ctx)->metrics_.Add(handle, v);
}

}  // namespace berth
