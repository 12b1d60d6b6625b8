#include "plugin/plugin_storage_driver.h"

#include <cstring>

#include "plugin/plugin_status.h"

namespace berth {

namespace {

berth_str Str(std::string_view s) { return {s.data(), s.size()}; }

Status BadPath(std::string_view p) {
  return Status::InvalidArgument("invalid storage path: " + std::string(p));
}

}  // namespace

bool StorageHasStreamsV2(const berth_storage_vtable* vt) {
  if (!BERTH_HAS_FIELD(vt, berth_storage_vtable, writer_close_v2)) return false;
  return vt->reader_open_v2 != nullptr || vt->reader_read_v2 != nullptr ||
         vt->reader_close_v2 != nullptr || vt->writer_open_v2 != nullptr ||
         vt->writer_write_v2 != nullptr || vt->writer_size_v2 != nullptr ||
         vt->writer_commit_v2 != nullptr || vt->writer_cancel_v2 != nullptr ||
         vt->writer_close_v2 != nullptr;
}

// Keeps the context it was opened under: every read reports to that request.
class PluginStorageReader : public StorageReader {
 public:
  PluginStorageReader(PluginStorageDriver* d, void* r, const CallContext& ctx)
      : d_(d), r_(r), ctx_(ctx) {}
  ~PluginStorageReader() override {
    ScopedCallContext scope(ctx_);
    auto lock = d_->caller_.Lock();
    if (d_->v2_) {
      d_->vt_->reader_close_v2(Self(), Handle());
    } else {
      d_->vt_->reader_close(d_->self_, r_);
    }
  }
  StatusOr<size_t> Read(void* buf, size_t cap) override {
    size_t n = 0;
    BERTH_RETURN_IF_ERROR(
        d_->caller_.Call("reader_read", ctx_, [&](const berth_call_ctx* c, berth_sink* err) {
          return d_->v2_ ? d_->vt_->reader_read_v2(Self(), Handle(), c, buf, cap, &n, err)
                         : d_->vt_->reader_read(d_->self_, r_, buf, cap, &n, err);
        }));
    if (n > cap) return Status::Internal("storage plugin reported reading more than asked");
    return n;
  }

 private:
  berth_instance* Self() const { return static_cast<berth_instance*>(d_->self_); }
  berth_storage_reader* Handle() const { return static_cast<berth_storage_reader*>(r_); }
  PluginStorageDriver* d_;
  void* r_;
  CallContext ctx_;
};

class PluginStorageWriter : public StorageWriter {
 public:
  PluginStorageWriter(PluginStorageDriver* d, void* w, const CallContext& ctx)
      : d_(d), w_(w), ctx_(ctx) {}
  ~PluginStorageWriter() override {
    if (w_ != nullptr) (void)Close();
  }
  Status Write(const void* data, size_t len) override {
    if (w_ == nullptr) return Status::Internal("write on an ended writer");
    return d_->caller_.Call("writer_write", ctx_, [&](const berth_call_ctx* c, berth_sink* err) {
      return d_->v2_ ? d_->vt_->writer_write_v2(Self(), Handle(w_), c, data, len, err)
                     : d_->vt_->writer_write(d_->self_, w_, data, len, err);
    });
  }
  int64_t Size() const override {
    if (w_ == nullptr) return -1;
    int64_t size = -1;
    Status s = d_->caller_.Call("writer_size", ctx_, [&](const berth_call_ctx* c, berth_sink* err) {
      if (d_->v2_) return d_->vt_->writer_size_v2(Self(), Handle(w_), c, &size, err);
      size = d_->vt_->writer_size(d_->self_, w_);
      return size >= 0 ? BERTH_OK : BERTH_E_IO;
    });
    return s.ok() ? size : -1;
  }
  Status Commit() override { return End("writer_commit"); }
  Status Cancel() override { return End("writer_cancel"); }
  Status Close() override { return End("writer_close"); }

 private:
  berth_instance* Self() const { return static_cast<berth_instance*>(d_->self_); }
  static berth_storage_writer* Handle(void* w) { return static_cast<berth_storage_writer*>(w); }
  // `op` is one of the three literals above.
  Status End(const char* op) {
    if (w_ == nullptr) return Status::Internal(std::string(op) + " on an ended writer");
    void* w = w_;
    w_ = nullptr;  // released by the plugin whatever the outcome
    const berth_storage_vtable* vt = d_->vt_;
    bool commit = std::strcmp(op, "writer_commit") == 0;
    bool cancel = std::strcmp(op, "writer_cancel") == 0;
    return d_->caller_.Call(op, ctx_, [&](const berth_call_ctx* c, berth_sink* err) {
      if (d_->v2_) {
        auto fn = commit ? vt->writer_commit_v2 : cancel ? vt->writer_cancel_v2 : vt->writer_close_v2;
        return fn(Self(), Handle(w), c, err);
      }
      auto fn = commit ? vt->writer_commit : cancel ? vt->writer_cancel : vt->writer_close;
      return fn(d_->self_, w, err);
    });
  }

  PluginStorageDriver* d_;
  void* w_;
  CallContext ctx_;
};

PluginStorageDriver::PluginStorageDriver(const berth_provider* provider, void* instance,
                                         Logger* log, int64_t call_timeout_ms)
    : provider_(provider),
      vt_(static_cast<const berth_storage_vtable*>(provider->vtable)),
      self_(instance),
      v2_(StorageHasStreamsV2(vt_)),
      caller_("storage", provider, log, call_timeout_ms) {}

PluginStorageDriver::~PluginStorageDriver() { provider_->destroy(self_); }

std::string PluginStorageDriver::name() const { return provider_->name; }

Status PluginStorageDriver::GetContent(const CallContext& ctx, std::string_view path,
                                       std::string* out, size_t max) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  StringSink data(max);
  Status s = caller_.Call("get_content", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->get_content(self_, c, Str(path), data.get(), err);
  });
  if (data.overflowed()) {
    return Status(Code::kTooLarge, std::string(path) + " exceeds " + std::to_string(max) +
                                       " bytes");
  }
  BERTH_RETURN_IF_ERROR(s);
  *out = std::move(data.str());
  return {};
}

Status PluginStorageDriver::PutContent(const CallContext& ctx, std::string_view path,
                                       std::string_view bytes) {
  if (!IsValidStoragePath(path) || path == "/") return BadPath(path);
  return caller_.Call("put_content", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->put_content(self_, c, Str(path), Str(bytes), err);
  });
}

StatusOr<std::unique_ptr<StorageReader>> PluginStorageDriver::OpenReader(const CallContext& ctx,
                                                                         std::string_view path,
                                                                         int64_t offset) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  void* r = nullptr;
  BERTH_RETURN_IF_ERROR(
      caller_.Call("reader_open", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
        if (!v2_) return vt_->reader_open(self_, c, Str(path), offset, &r, err);
        berth_storage_reader* h = nullptr;
        berth_status rc = vt_->reader_open_v2(static_cast<berth_instance*>(self_), c, Str(path),
                                              offset, &h, err);
        r = h;
        return rc;
      }));
  return std::unique_ptr<StorageReader>(new PluginStorageReader(this, r, ctx));
}

StatusOr<std::unique_ptr<StorageWriter>> PluginStorageDriver::OpenWriter(const CallContext& ctx,
                                                                         std::string_view path,
                                                                         bool append) {
  if (!IsValidStoragePath(path) || path == "/") return BadPath(path);
  void* w = nullptr;
  BERTH_RETURN_IF_ERROR(
      caller_.Call("writer_open", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
        if (!v2_) return vt_->writer_open(self_, c, Str(path), append ? 1 : 0, &w, err);
        berth_storage_writer* h = nullptr;
        berth_status rc = vt_->writer_open_v2(static_cast<berth_instance*>(self_), c, Str(path),
                                              append ? 1 : 0, &h, err);
        w = h;
        return rc;
      }));
  return std::unique_ptr<StorageWriter>(new PluginStorageWriter(this, w, ctx));
}

StatusOr<FileInfo> PluginStorageDriver::Stat(const CallContext& ctx, std::string_view path) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  berth_file_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  BERTH_RETURN_IF_ERROR(caller_.Call("stat", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->stat(self_, c, Str(path), &info, err);
  }));
  FileInfo fi;
  fi.size = info.size;
  fi.mtime_unix_ns = info.mtime_unix_ns;
  fi.is_dir = info.is_dir != 0;
  return fi;
}

StatusOr<std::vector<std::string>> PluginStorageDriver::List(const CallContext& ctx,
                                                             std::string_view path) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  ListSink items;
  BERTH_RETURN_IF_ERROR(caller_.Call("list", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->list(self_, c, Str(path), items.get(), err);
  }));
  return std::move(items.items());
}

Status PluginStorageDriver::Move(const CallContext& ctx, std::string_view src,
                                 std::string_view dst) {
  if (!IsValidStoragePath(src) || src == "/") return BadPath(src);
  if (!IsValidStoragePath(dst) || dst == "/") return BadPath(dst);
  return caller_.Call("move", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->move(self_, c, Str(src), Str(dst), err);
  });
}

Status PluginStorageDriver::Remove(const CallContext& ctx, std::string_view path) {
  if (!IsValidStoragePath(path) || path == "/") return BadPath(path);
  return caller_.Call("remove", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->remove(self_, c, Str(path), err);
  });
}

namespace {
struct WalkState {
  const StorageDriver::WalkFn* fn;
};
int32_t WalkThunk(void* user, berth_str path, const berth_file_info* info) {
  auto* st = static_cast<WalkState*>(user);
  FileInfo fi;
  if (info != nullptr) {
    fi.size = info->size;
    fi.mtime_unix_ns = info->mtime_unix_ns;
    fi.is_dir = info->is_dir != 0;
  }
  try {
    switch ((*st->fn)(std::string(path.ptr, path.len), fi)) {
      case WalkAction::kContinue: return BERTH_WALK_CONTINUE;
      case WalkAction::kSkipDir: return BERTH_WALK_SKIP_DIR;
      case WalkAction::kStop: return BERTH_WALK_STOP;
    }
  } catch (...) {
  }
  return BERTH_WALK_STOP;  // never let an exception unwind through the plugin
}
}  // namespace

Status PluginStorageDriver::Walk(const CallContext& ctx, std::string_view path,
                                 const WalkFn& fn) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  WalkState st{&fn};
  return caller_.Call("walk", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->walk(self_, c, Str(path), &WalkThunk, &st, err);
  });
}

StatusOr<std::string> PluginStorageDriver::RedirectUrl(const CallContext& ctx,
                                                       std::string_view method,
                                                       std::string_view path, int64_t ttl) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  if (vt_->redirect_url == nullptr || !(provider_->capabilities & BERTH_STORAGE_CAP_REDIRECT_URL)) {
    return Status::Unsupported("storage driver does not redirect");
  }
  StringSink url(8192);
  BERTH_RETURN_IF_ERROR(
      caller_.Call("redirect_url", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
        return vt_->redirect_url(self_, c, Str(method), Str(path), ttl, url.get(), err);
      }));
  return std::move(url.str());
}

bool PluginStorageDriver::CanOpenFd() const {
  return vt_->open_fd != nullptr && (provider_->capabilities & BERTH_STORAGE_CAP_OPEN_FD);
}

StatusOr<int> PluginStorageDriver::OpenFd(const CallContext& ctx, std::string_view path) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  if (!CanOpenFd()) return Status::Unsupported("storage driver has no local files");
  int32_t fd = -1;
  BERTH_RETURN_IF_ERROR(caller_.Call("open_fd", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->open_fd(self_, c, Str(path), &fd, err);
  }));
  if (fd < 0) return Status::Internal("storage plugin returned an invalid descriptor");
  return static_cast<int>(fd);
}

}  // namespace berth
