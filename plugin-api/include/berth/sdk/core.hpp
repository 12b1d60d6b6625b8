// Berth plugin SDK, common part: Status, sinks, host services, the exception
// guard, provider factories and the entry point. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_CORE_HPP_
#define BERTH_SDK_CORE_HPP_

#include <berth/plugin.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::sdk {

inline std::string_view View(berth_str s) { return {s.ptr ? s.ptr : "", s.ptr ? s.len : 0}; }
inline berth_str Str(std::string_view s) { return {s.data(), s.size()}; }

// A status code plus message, the SDK-side mirror of berth_status.
class Status {
 public:
  Status() = default;
  Status(berth_status code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }
  static Status NotFound(std::string m) { return {BERTH_E_NOT_FOUND, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {BERTH_E_INVALID_ARGUMENT, std::move(m)}; }
  static Status Unsupported(std::string m) { return {BERTH_E_UNSUPPORTED, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {BERTH_E_UNAUTHENTICATED, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {BERTH_E_PERMISSION_DENIED, std::move(m)};
  }
  static Status Conflict(std::string m) { return {BERTH_E_CONFLICT, std::move(m)}; }
  static Status Retry(std::string m) { return {BERTH_E_RETRY, std::move(m)}; }
  static Status IO(std::string m) { return {BERTH_E_IO, std::move(m)}; }
  static Status InvalidOffset(std::string m) { return {BERTH_E_INVALID_OFFSET, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) {
    return {BERTH_E_DEADLINE_EXCEEDED, std::move(m)};
  }
  static Status Cancelled(std::string m) { return {BERTH_E_CANCELLED, std::move(m)}; }
  static Status Internal(std::string m) { return {BERTH_E_INTERNAL, std::move(m)}; }
  bool ok() const { return code_ == BERTH_OK; }
  berth_status code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  berth_status code_ = BERTH_OK;
  std::string message_;
};

// Wraps a host sink. Null-safe: a missing sink discards.
class Sink {
 public:
  explicit Sink(berth_sink* s) : s_(s) {}
  Status Append(const void* data, size_t len) {
    if (s_ == nullptr || s_->append == nullptr) return {};
    berth_status rc = s_->append(s_->ctx, data, len);
    return rc == BERTH_OK ? Status() : Status(rc, "host sink refused data");
  }
  Status Append(std::string_view s) { return Append(s.data(), s.size()); }

 private:
  berth_sink* s_;
};

namespace detail {
// Reports st through the error sink and returns its code.
inline berth_status Report(const Status& st, berth_sink* err) {
  if (!st.ok() && err != nullptr && err->append != nullptr && !st.message().empty()) {
    err->append(err->ctx, st.message().data(), st.message().size());
  }
  return st.code();
}
// Runs fn, converting any exception into BERTH_E_INTERNAL.
template <class Fn>
berth_status Guard(berth_sink* err, Fn&& fn) noexcept {
  try {
    return Report(fn(), err);
  } catch (const std::exception& e) {
    return Report(Status::Internal(std::string("plugin threw: ") + e.what()), err);
  } catch (...) {
    return Report(Status::Internal("plugin threw a non-standard exception"), err);
  }
}
// Appends s through sink when non-null.
inline Status Put(berth_sink* sink, std::string_view s) { return Sink(sink).Append(s); }

// A sink that collects into a std::string.
struct StringSink {
  berth_sink sink;
  std::string data;
  StringSink() {
    std::memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.ctx = this;
    sink.append = [](void* ctx, const void* d, size_t n) -> berth_status {
      static_cast<StringSink*>(ctx)->data.append(static_cast<const char*>(d), n);
      return BERTH_OK;
    };
  }
};
}  // namespace detail

// An outbound HTTP exchange through the host's HTTP client.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 0;
  bool insecure_skip_verify = false;
  std::string ca_pem;
};
struct HttpResponse {
  int32_t status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The host services, as a C++ object. Safe to copy.
class Host {
 public:
  Host() = default;
  explicit Host(const berth_host_services* h) : h_(h) {}
  const berth_host_services* raw() const { return h_; }
  void Log(int32_t level, std::string_view msg) const {
    if (h_ != nullptr && h_->log != nullptr) h_->log(h_->host_ctx, level, msg.data(), msg.size());
  }
  bool LogEnabled(int32_t level) const {
    return h_ != nullptr && h_->log_enabled != nullptr && h_->log_enabled(h_->host_ctx, level) != 0;
  }
  int64_t NowUnixNs() const {
    return (h_ != nullptr && h_->now_unix_ns != nullptr) ? h_->now_unix_ns(h_->host_ctx) : 0;
  }
  Status Http(const berth_call_ctx* call, const HttpRequest& req, HttpResponse* resp) const {
    if (h_ == nullptr || h_->http_request == nullptr) {
      return Status::Unsupported("host offers no HTTP client");
    }
    std::vector<berth_header> hs;
    for (const auto& [k, v] : req.headers) hs.push_back({Str(k), Str(v)});
    berth_http_request r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.method = Str(req.method);
    r.url = Str(req.url);
    r.headers = hs.data();
    r.n_headers = hs.size();
    r.body = Str(req.body);
    r.timeout_ms = req.timeout_ms;
    r.flags = req.insecure_skip_verify ? BERTH_HTTP_INSECURE_SKIP_VERIFY : 0u;
    r.ca_pem = Str(req.ca_pem);
    detail::StringSink body;
    berth_header_sink hsink;
    std::memset(&hsink, 0, sizeof hsink);
    hsink.struct_size = sizeof hsink;
    hsink.ctx = resp;
    hsink.add = [](void* ctx, berth_str n, berth_str v) -> berth_status {
      static_cast<HttpResponse*>(ctx)->headers.emplace_back(std::string(View(n)),
                                                             std::string(View(v)));
      return BERTH_OK;
    };
    berth_http_response out;
    std::memset(&out, 0, sizeof out);
    out.struct_size = sizeof out;
    out.headers = &hsink;
    out.body = &body.sink;
    detail::StringSink err;
    berth_status rc = h_->http_request(h_->host_ctx, call, &r, &out, &err.sink);
    if (rc != BERTH_OK) return Status(rc, err.data.empty() ? "HTTP request failed" : err.data);
    resp->status = out.status;
    resp->body = std::move(body.data);
    return {};
  }
  Status Secret(std::string_view name, std::string* out) const {
    if (h_ == nullptr || h_->secret_get == nullptr) return Status::Unsupported("no secrets");
    detail::StringSink v, err;
    berth_status rc = h_->secret_get(h_->host_ctx, Str(name), &v.sink, &err.sink);
    if (rc != BERTH_OK) return Status(rc, err.data);
    *out = std::move(v.data);
    return {};
  }

 private:
  const berth_host_services* h_ = nullptr;
};

// A view of the per-call context.
class CallCtx {
 public:
  explicit CallCtx(const berth_call_ctx* c) : c_(c) {}
  const berth_call_ctx* raw() const { return c_; }
  int64_t deadline_unix_ns() const { return c_ != nullptr ? c_->deadline_unix_ns : 0; }
  std::string_view request_id() const {
    return c_ != nullptr ? View(c_->request_id) : std::string_view();
  }
  bool cancelled() const {
    return c_ != nullptr && c_->is_cancelled != nullptr && c_->is_cancelled(c_->host_ctx) != 0;
  }

 private:
  const berth_call_ctx* c_;
};

namespace detail {
// create/destroy for any kind: D must have
//   static Status Create(const Host&, std::string_view config_json, std::unique_ptr<D>*).
template <class D>
struct Factory {
  static berth_status Create(const berth_host_services* host, berth_str config, void** out,
                             berth_sink* err) {
    return Guard(err, [&] {
      std::unique_ptr<D> inst;
      Status st = D::Create(Host(host), View(config), &inst);
      if (st.ok()) *out = inst.release();
      return st;
    });
  }
  static void Destroy(void* inst) noexcept {
    try {
      delete static_cast<D*>(inst);
    } catch (...) {
    }
  }
};
}  // namespace detail

// Describes one provider. Pass to Make<Kind>Provider<D>(...).
struct ProviderInfo {
  const char* name;
  const char* description;
  const char* config_schema_json;
  uint64_t capabilities;
  int32_t threading;
};

namespace detail {
template <class D>
berth_provider MakeProvider(int32_t kind, const ProviderInfo& info, const void* vtable) {
  berth_provider p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.kind = kind;
  p.name = info.name;
  p.description = info.description;
  p.config_schema_json = info.config_schema_json;
  p.capabilities = info.capabilities;
  p.threading = info.threading;
  p.create = &Factory<D>::Create;
  p.destroy = &Factory<D>::Destroy;
  p.vtable = vtable;
  return p;
}
}  // namespace detail

// Implements berth_plugin_entry for a descriptor: negotiation, then descriptor.
inline berth_status Entry(berth_entry_args* args, const berth_plugin_descriptor* d) noexcept {
  if (args == nullptr ||
      args->struct_size < offsetof(berth_entry_args, descriptor) + sizeof(args->descriptor)) {
    return BERTH_E_INVALID_ARGUMENT;
  }
  args->plugin_abi_major = BERTH_ABI_MAJOR;
  args->plugin_abi_minor = BERTH_ABI_MINOR;
  if (args->host_abi_major != BERTH_ABI_MAJOR) return BERTH_E_ABI_MISMATCH;
  args->descriptor = d;
  return BERTH_OK;
}

}  // namespace berth::sdk

// Defines berth_plugin_entry for a plugin whose providers are the berth_provider
// objects listed after the description, e.g.
//   static const berth_provider kFs = berth::sdk::MakeStorageProvider<FsDriver>({...});
//   BERTH_PLUGIN("storage-fs", "1.0.0", "Local filesystem storage", &kFs)
#define BERTH_PLUGIN(plugin_name, plugin_version, plugin_description, ...)                \
  extern "C" BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {       \
    static const berth_provider* const providers[] = {__VA_ARGS__};                        \
    static const berth_plugin_descriptor descriptor = {                                    \
        sizeof(berth_plugin_descriptor), plugin_name, plugin_version, plugin_description, \
        sizeof(providers) / sizeof(providers[0]), providers};                             \
    return ::berth::sdk::Entry(args, &descriptor);                                         \
  }

#endif  // BERTH_SDK_CORE_HPP_
