// Berth plugin SDK: storage drivers. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_STORAGE_HPP_
#define BERTH_SDK_STORAGE_HPP_

#include <berth/sdk/core.hpp>

namespace berth::sdk {

// ---- Storage driver --------------------------------------------------------

struct FileInfo {
  int64_t size = 0;
  int64_t mtime_unix_ns = 0;
  bool is_dir = false;
};

// Streams get the call context of every call (ABI 1.1): the request id for
// log lines, the deadline, and is_cancelled, which a long stream checks
// between chunks (returning Status::Cancelled). A 1.0 host passes an empty
// context (CallCtx(nullptr)).
class StorageReader {
 public:
  virtual ~StorageReader() = default;
  // Sets *n = 0 at the end of the object.
  virtual Status Read(const CallCtx& call, void* buf, size_t cap, size_t* n) = 0;
};

class StorageWriter {
 public:
  virtual ~StorageWriter() = default;
  virtual Status Write(const CallCtx& call, const void* data, size_t len) = 0;
  virtual Status Size(const CallCtx& call, int64_t* out) const = 0;
  virtual Status Commit(const CallCtx& call) = 0;
  virtual Status Cancel(const CallCtx& call) = 0;
  virtual Status Close(const CallCtx& call) = 0;
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
    return Guard(err, [&] {
      return static_cast<StorageReader*>(r)->Read(CallCtx(nullptr), buf, cap, n);
    });
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
    return Guard(err, [&] { return static_cast<StorageWriter*>(w)->Write(CallCtx(nullptr), d, n); });
  }
  static int64_t WriterSize(void*, void* w) noexcept {
    try {
      int64_t size = -1;
      return static_cast<StorageWriter*>(w)->Size(CallCtx(nullptr), &size).ok() ? size : -1;
    } catch (...) {
      return -1;
    }
  }
  // Ends the writer whatever the outcome: the handle is released.
  template <Status (StorageWriter::*M)(const CallCtx&)>
  static berth_status WriterEnd(void*, void* w, berth_sink* err) {
    std::unique_ptr<StorageWriter> owned(static_cast<StorageWriter*>(w));
    return Guard(err, [&] { return ((*owned).*M)(CallCtx(nullptr)); });
  }

  // ABI 1.1 streams: typed handles and a call context on every call.
  static StorageReader* R(berth_storage_reader* r) { return reinterpret_cast<StorageReader*>(r); }
  static StorageWriter* W(berth_storage_writer* w) { return reinterpret_cast<StorageWriter*>(w); }
  static berth_status ReaderOpenV2(berth_instance* s, const berth_call_ctx* c, berth_str p,
                                   int64_t off, berth_storage_reader** out, berth_sink* err) {
    void* r = nullptr;
    berth_status rc = ReaderOpen(s, c, p, off, &r, err);
    if (rc == BERTH_OK) *out = static_cast<berth_storage_reader*>(r);
    return rc;
  }
  static berth_status ReaderReadV2(berth_instance*, berth_storage_reader* r,
                                   const berth_call_ctx* c, void* buf, size_t cap, size_t* n,
                                   berth_sink* err) {
    return Guard(err, [&] { return R(r)->Read(CallCtx(c), buf, cap, n); });
  }
  static void ReaderCloseV2(berth_instance* s, berth_storage_reader* r) noexcept {
    ReaderClose(s, R(r));
  }
  static berth_status WriterOpenV2(berth_instance* s, const berth_call_ctx* c, berth_str p,
                                   int32_t append, berth_storage_writer** out, berth_sink* err) {
    void* w = nullptr;
    berth_status rc = WriterOpen(s, c, p, append, &w, err);
    if (rc == BERTH_OK) *out = static_cast<berth_storage_writer*>(w);
    return rc;
  }
  static berth_status WriterWriteV2(berth_instance*, berth_storage_writer* w,
                                    const berth_call_ctx* c, const void* d, size_t n,
                                    berth_sink* err) {
    return Guard(err, [&] { return W(w)->Write(CallCtx(c), d, n); });
  }
  static berth_status WriterSizeV2(berth_instance*, berth_storage_writer* w,
                                   const berth_call_ctx* c, int64_t* out, berth_sink* err) {
    return Guard(err, [&] { return W(w)->Size(CallCtx(c), out); });
  }
  template <Status (StorageWriter::*M)(const CallCtx&)>
  static berth_status WriterEndV2(berth_instance*, berth_storage_writer* w,
                                  const berth_call_ctx* c, berth_sink* err) {
    std::unique_ptr<StorageWriter> owned(W(w));
    return Guard(err, [&] { return ((*owned).*M)(CallCtx(c)); });
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
        &ReaderOpenV2,
        &ReaderReadV2,
        &ReaderCloseV2,
        &WriterOpenV2,
        &WriterWriteV2,
        &WriterSizeV2,
        &WriterEndV2<&StorageWriter::Commit>,
        &WriterEndV2<&StorageWriter::Cancel>,
        &WriterEndV2<&StorageWriter::Close>,
    };
    return &vt;
  }
};
}  // namespace detail

template <class D>
berth_provider MakeStorageProvider(const ProviderInfo& info) {
  return detail::MakeProvider<D>(BERTH_KIND_STORAGE, info, detail::StorageThunks<D>::Vtable());
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_STORAGE_HPP_
