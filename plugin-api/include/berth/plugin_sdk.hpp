// Header-only C++17 SDK over berth/plugin.h (the "hourglass" top half).
//
// A plugin derives from a kind's interface (e.g. berth::sdk::StorageDriver),
// overrides its methods, and declares itself with BERTH_PLUGIN(...). Every thunk
// the SDK installs catches all exceptions and turns them into BERTH_E_INTERNAL,
// so no exception ever crosses the C boundary.
#ifndef BERTH_PLUGIN_SDK_HPP_
#define BERTH_PLUGIN_SDK_HPP_

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

inline std::string_view View(berth_str s) { return {s.ptr ? s.ptr : "", s.len}; }
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
}  // namespace detail

// The host services, as a C++ object. Safe to copy.
class Host {
 public:
  Host() = default;
  explicit Host(const berth_host_services* h) : h_(h) {}
  const berth_host_services* raw() const { return h_; }
  void Log(int32_t level, std::string_view msg) const {
    if (h_ != nullptr && h_->log != nullptr) h_->log(h_->host_ctx, level, msg.data(), msg.size());
  }
  int64_t NowUnixNs() const {
    return (h_ != nullptr && h_->now_unix_ns != nullptr) ? h_->now_unix_ns(h_->host_ctx) : 0;
  }

 private:
  const berth_host_services* h_ = nullptr;
};

// A view of the per-call context.
class CallCtx {
 public:
  explicit CallCtx(const berth_call_ctx* c) : c_(c) {}
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

// ---- Storage driver --------------------------------------------------------

struct FileInfo {
  int64_t size = 0;
  int64_t mtime_unix_ns = 0;
  bool is_dir = false;
};

class StorageReader {
 public:
  virtual ~StorageReader() = default;
  // Sets *n = 0 at the end of the object.
  virtual Status Read(void* buf, size_t cap, size_t* n) = 0;
};

class StorageWriter {
 public:
  virtual ~StorageWriter() = default;
  virtual Status Write(const void* data, size_t len) = 0;
  virtual int64_t Size() const = 0;
  virtual Status Commit() = 0;
  virtual Status Cancel() = 0;
  virtual Status Close() = 0;
};

class StorageDriver {
 public:
  using WalkFn = std::function<int32_t(std::string_view path, const FileInfo& info)>;
  virtual ~StorageDriver() = default;
  virtual Status GetContent(const CallCtx& call, std::string_view path, Sink& out) = 0;
  virtual Status PutContent(const CallCtx& call, std::string_view path, std::string_view data) = 0;
  virtual Status OpenReader(const CallCtx& call, std::string_view path, int64_t offset,
                            std::unique_ptr<StorageReader>* out) = 0;
  virtual Status OpenWriter(const CallCtx& call, std::string_view path, bool append,
                            std::unique_ptr<StorageWriter>* out) = 0;
  virtual Status Stat(const CallCtx& call, std::string_view path, FileInfo* out) = 0;
  virtual Status List(const CallCtx& call, std::string_view path,
                      std::vector<std::string>* out) = 0;
  virtual Status Move(const CallCtx& call, std::string_view src, std::string_view dst) = 0;
  virtual Status Remove(const CallCtx& call, std::string_view path) = 0;
  virtual Status Walk(const CallCtx& call, std::string_view path, const WalkFn& fn) = 0;
  virtual Status RedirectUrl(const CallCtx&, std::string_view /*method*/,
                             std::string_view /*path*/, int64_t /*ttl_seconds*/,
                             std::string* /*url*/) {
    return Status::Unsupported("redirects are not supported by this driver");
  }
  virtual Status OpenFd(const CallCtx&, std::string_view /*path*/, int32_t* /*fd*/) {
    return Status::Unsupported("file descriptors are not supported by this driver");
  }
};

namespace detail {
inline berth_file_info ToC(const FileInfo& fi) {
  berth_file_info c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.size = fi.size;
  c.mtime_unix_ns = fi.mtime_unix_ns;
  c.is_dir = fi.is_dir ? 1 : 0;
  return c;
}
inline void CopyInfo(const FileInfo& fi, berth_file_info* out) {
  if (out == nullptr) return;
  // Only write what the host's struct has room for.
  berth_file_info c = ToC(fi);
  uint32_t n = out->struct_size < sizeof c ? out->struct_size : static_cast<uint32_t>(sizeof c);
  c.struct_size = out->struct_size;
  std::memcpy(out, &c, n);
}

template <class D>
struct StorageThunks {
  static D* Self(void* s) { return static_cast<D*>(s); }
  static berth_status GetContent(void* s, const berth_call_ctx* c, berth_str p, berth_sink* out,
                                 berth_sink* err) {
    return Guard(err, [&] {
      Sink sink(out);
      return Self(s)->GetContent(CallCtx(c), View(p), sink);
    });
  }
  static berth_status PutContent(void* s, const berth_call_ctx* c, berth_str p, berth_str d,
                                 berth_sink* err) {
    return Guard(err, [&] { return Self(s)->PutContent(CallCtx(c), View(p), View(d)); });
  }
  static berth_status ReaderOpen(void* s, const berth_call_ctx* c, berth_str p, int64_t off,
                                 void** out, berth_sink* err) {
    return Guard(err, [&] {
      std::unique_ptr<StorageReader> r;
      Status st = Self(s)->OpenReader(CallCtx(c), View(p), off, &r);
      if (st.ok()) *out = r.release();
      return st;
    });
  }
  static berth_status ReaderRead(void*, void* r, void* buf, size_t cap, size_t* n,
                                 berth_sink* err) {
    return Guard(err, [&] { return static_cast<StorageReader*>(r)->Read(buf, cap, n); });
  }
  static void ReaderClose(void*, void* r) noexcept {
    try {
      delete static_cast<StorageReader*>(r);
    } catch (...) {
    }
  }
  static berth_status WriterOpen(void* s, const berth_call_ctx* c, berth_str p, int32_t append,
                                 void** out, berth_sink* err) {
    return Guard(err, [&] {
      std::unique_ptr<StorageWriter> w;
      Status st = Self(s)->OpenWriter(CallCtx(c), View(p), append != 0, &w);
      if (st.ok()) *out = w.release();
      return st;
    });
  }
  static berth_status WriterWrite(void*, void* w, const void* d, size_t n, berth_sink* err) {
    return Guard(err, [&] { return static_cast<StorageWriter*>(w)->Write(d, n); });
  }
  static int64_t WriterSize(void*, void* w) noexcept {
    try {
      return static_cast<StorageWriter*>(w)->Size();
    } catch (...) {
      return -1;
    }
  }
  // Ends the writer whatever the outcome: the handle is released.
  template <Status (StorageWriter::*M)()>
  static berth_status WriterEnd(void*, void* w, berth_sink* err) {
    std::unique_ptr<StorageWriter> owned(static_cast<StorageWriter*>(w));
    return Guard(err, [&] { return ((*owned).*M)(); });
  }
  static berth_status Stat(void* s, const berth_call_ctx* c, berth_str p, berth_file_info* out,
                           berth_sink* err) {
    return Guard(err, [&] {
      FileInfo fi;
      Status st = Self(s)->Stat(CallCtx(c), View(p), &fi);
      if (st.ok()) CopyInfo(fi, out);
      return st;
    });
  }
  static berth_status List(void* s, const berth_call_ctx* c, berth_str p, berth_sink* out,
                           berth_sink* err) {
    return Guard(err, [&] {
      std::vector<std::string> items;
      Status st = Self(s)->List(CallCtx(c), View(p), &items);
      if (!st.ok()) return st;
      Sink sink(out);
      for (const auto& i : items) {
        st = sink.Append(i);
        if (!st.ok()) return st;
      }
      return st;
    });
  }
  static berth_status Move(void* s, const berth_call_ctx* c, berth_str a, berth_str b,
                           berth_sink* err) {
    return Guard(err, [&] { return Self(s)->Move(CallCtx(c), View(a), View(b)); });
  }
  static berth_status Remove(void* s, const berth_call_ctx* c, berth_str p, berth_sink* err) {
    return Guard(err, [&] { return Self(s)->Remove(CallCtx(c), View(p)); });
  }
  static berth_status Walk(void* s, const berth_call_ctx* c, berth_str p, berth_walk_fn fn,
                           void* user, berth_sink* err) {
    return Guard(err, [&] {
      return Self(s)->Walk(CallCtx(c), View(p), [&](std::string_view path, const FileInfo& fi) {
        berth_file_info ci = ToC(fi);
        return fn(user, Str(path), &ci);
      });
    });
  }
  static berth_status RedirectUrl(void* s, const berth_call_ctx* c, berth_str m, berth_str p,
                                  int64_t ttl, berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::string url;
      Status st = Self(s)->RedirectUrl(CallCtx(c), View(m), View(p), ttl, &url);
      if (st.ok()) st = Sink(out).Append(url);
      return st;
    });
  }
  static berth_status OpenFd(void* s, const berth_call_ctx* c, berth_str p, int32_t* fd,
                             berth_sink* err) {
    return Guard(err, [&] { return Self(s)->OpenFd(CallCtx(c), View(p), fd); });
  }

  static const berth_storage_vtable* Vtable() {
    static const berth_storage_vtable vt = {
        sizeof(berth_storage_vtable),
        &GetContent,
        &PutContent,
        &ReaderOpen,
        &ReaderRead,
        &ReaderClose,
        &WriterOpen,
        &WriterWrite,
        &WriterSize,
        &WriterEnd<&StorageWriter::Commit>,
        &WriterEnd<&StorageWriter::Cancel>,
        &WriterEnd<&StorageWriter::Close>,
        &Stat,
        &List,
        &Move,
        &Remove,
        &Walk,
        &RedirectUrl,
        &OpenFd,
    };
    return &vt;
  }
};

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

// Describes one provider of a kind. Use with BERTH_PLUGIN below.
struct ProviderInfo {
  const char* name;
  const char* description;
  const char* config_schema_json;
  uint64_t capabilities;
  int32_t threading;
};

template <class D>
berth_provider MakeStorageProvider(const ProviderInfo& info) {
  berth_provider p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.kind = BERTH_KIND_STORAGE;
  p.name = info.name;
  p.description = info.description;
  p.config_schema_json = info.config_schema_json;
  p.capabilities = info.capabilities;
  p.threading = info.threading;
  p.create = &detail::Factory<D>::Create;
  p.destroy = &detail::Factory<D>::Destroy;
  p.vtable = detail::StorageThunks<D>::Vtable();
  return p;
}

// Implements berth_plugin_entry for a descriptor: negotiation, then descriptor.
inline berth_status Entry(berth_entry_args* args, const berth_plugin_descriptor* d) noexcept {
  if (args == nullptr || args->struct_size < offsetof(berth_entry_args, descriptor) +
                                                 sizeof(args->descriptor)) {
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
#define BERTH_PLUGIN(plugin_name, plugin_version, plugin_description, ...)                  \
  extern "C" BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {         \
    static const berth_provider* const providers[] = {__VA_ARGS__};                          \
    static const berth_plugin_descriptor descriptor = {                                      \
        sizeof(berth_plugin_descriptor), plugin_name, plugin_version, plugin_description,   \
        sizeof(providers) / sizeof(providers[0]), providers};                               \
    return ::berth::sdk::Entry(args, &descriptor);                                           \
  }

#endif  // BERTH_PLUGIN_SDK_HPP_
