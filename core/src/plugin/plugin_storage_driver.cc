#include "plugin/plugin_storage_driver.h"

#include <cstring>

#include "common/clock.h"
#include "plugin/plugin_status.h"

namespace berth {

namespace {

berth_str Str(std::string_view s) { return {s.data(), s.size()}; }

Status BadPath(std::string_view p) {
  return Status::InvalidArgument("invalid storage path: " + std::string(p));
}

}  // namespace

class PluginStorageReader : public StorageReader {
 public:
  PluginStorageReader(PluginStorageDriver* d, void* r) : d_(d), r_(r) {}
  ~PluginStorageReader() override {
    auto lock = d_->Lock();
    d_->vt_->reader_close(d_->self_, r_);
  }
  StatusOr<size_t> Read(void* buf, size_t cap) override {
    StringSink err(4096);
    size_t n = 0;
    berth_call_ctx call = d_->MakeCall();
    berth_status rc;
    {
      auto lock = d_->Lock();
      rc = d_->vt_->reader_read(d_->self_, r_, buf, cap, &n, err.get());
    }
    BERTH_RETURN_IF_ERROR(d_->Result(rc, err.str(), "read", call));
    if (n > cap) return Status::Internal("storage plugin reported reading more than asked");
    return n;
  }

 private:
  PluginStorageDriver* d_;
  void* r_;
};

class PluginStorageWriter : public StorageWriter {
 public:
  PluginStorageWriter(PluginStorageDriver* d, void* w) : d_(d), w_(w) {}
  ~PluginStorageWriter() override {
    if (w_ != nullptr) Close();
  }
  Status Write(const void* data, size_t len) override {
    if (w_ == nullptr) return Status::Internal("write on an ended writer");
    StringSink err(4096);
    berth_call_ctx call = d_->MakeCall();
    berth_status rc;
    {
      auto lock = d_->Lock();
      rc = d_->vt_->writer_write(d_->self_, w_, data, len, err.get());
    }
    return d_->Result(rc, err.str(), "write", call);
  }
  int64_t Size() const override {
    if (w_ == nullptr) return -1;
    auto lock = d_->Lock();
    return d_->vt_->writer_size(d_->self_, w_);
  }
  Status Commit() override { return End(d_->vt_->writer_commit, "commit"); }
  Status Cancel() override { return End(d_->vt_->writer_cancel, "cancel"); }
  Status Close() override { return End(d_->vt_->writer_close, "close"); }

 private:
  using EndFn = berth_status (*)(void*, void*, berth_sink*);
  Status End(EndFn fn, const char* op) {
    if (w_ == nullptr) return Status::Internal(std::string(op) + " on an ended writer");
    StringSink err(4096);
    void* w = w_;
    w_ = nullptr;  // released by the plugin whatever the outcome
    berth_call_ctx call = d_->MakeCall();
    berth_status rc;
    {
      auto lock = d_->Lock();
      rc = fn(d_->self_, w, err.get());
    }
    return d_->Result(rc, err.str(), op, call);
  }

  PluginStorageDriver* d_;
  void* w_;
};

PluginStorageDriver::PluginStorageDriver(const berth_provider* provider, void* instance,
                                         Logger* log, int64_t call_timeout_ms)
    : provider_(provider),
      vt_(static_cast<const berth_storage_vtable*>(provider->vtable)),
      self_(instance),
      serialized_(provider->threading == BERTH_THREADING_SERIALIZED),
      log_(log),
      call_timeout_ns_(call_timeout_ms * 1000000LL) {}

berth_call_ctx PluginStorageDriver::MakeCall() const {
  berth_call_ctx c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  if (call_timeout_ns_ > 0) c.deadline_unix_ns = NowUnixNanos() + call_timeout_ns_;
  return c;
}

Status PluginStorageDriver::Result(berth_status rc, const std::string& error, const char* op,
                                   const berth_call_ctx& call) {
  Status s;
  if (call.deadline_unix_ns > 0 && NowUnixNanos() > call.deadline_unix_ns) {
    s = Status(Code::kDeadlineExceeded,
               std::string("storage plugin '") + provider_->name + "' missed the deadline of " +
                   op);
  } else if (rc != BERTH_OK) {
    s = FromPluginStatus(rc, std::string("storage plugin '") + provider_->name + "' " + op +
                                 ": " + (error.empty() ? PluginStatusName(rc) : error));
  }
  if (!s.ok() && !s.IsNotFound() && log_ != nullptr) {
    log_->Warn("storage plugin call failed", {{"plugin", provider_->name},
                                             {"operation", op},
                                             {"status", PluginStatusName(rc)},
                                             {"error", s.message()}});
  }
  return s;
}

PluginStorageDriver::~PluginStorageDriver() { provider_->destroy(self_); }

std::unique_lock<std::mutex> PluginStorageDriver::Lock() {
  return serialized_ ? std::unique_lock<std::mutex>(mu_) : std::unique_lock<std::mutex>();
}

std::string PluginStorageDriver::name() const { return provider_->name; }

Status PluginStorageDriver::GetContent(std::string_view path, std::string* out, size_t max) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  StringSink data(max), err(4096);
  berth_call_ctx call = MakeCall();
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->get_content(self_, &call, Str(path), data.get(), err.get());
  }
  if (data.overflowed()) {
    return Status(Code::kTooLarge, std::string(path) + " exceeds " + std::to_string(max) +
                                       " bytes");
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "get_content", call));
  *out = std::move(data.str());
  return {};
}

Status PluginStorageDriver::PutContent(std::string_view path, std::string_view bytes) {
  if (!IsValidStoragePath(path) || path == "/") return BadPath(path);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->put_content(self_, &call, Str(path), Str(bytes), err.get());
  }
  return Result(rc, err.str(), "put_content", call);
}

StatusOr<std::unique_ptr<StorageReader>> PluginStorageDriver::OpenReader(std::string_view path,
                                                                         int64_t offset) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  void* r = nullptr;
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->reader_open(self_, &call, Str(path), offset, &r, err.get());
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "reader_open", call));
  return std::unique_ptr<StorageReader>(new PluginStorageReader(this, r));
}

StatusOr<std::unique_ptr<StorageWriter>> PluginStorageDriver::OpenWriter(std::string_view path,
                                                                         bool append) {
  if (!IsValidStoragePath(path) || path == "/") return BadPath(path);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  void* w = nullptr;
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->writer_open(self_, &call, Str(path), append ? 1 : 0, &w, err.get());
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "writer_open", call));
  return std::unique_ptr<StorageWriter>(new PluginStorageWriter(this, w));
}

StatusOr<FileInfo> PluginStorageDriver::Stat(std::string_view path) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  berth_file_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->stat(self_, &call, Str(path), &info, err.get());
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "stat", call));
  FileInfo fi;
  fi.size = info.size;
  fi.mtime_unix_ns = info.mtime_unix_ns;
  fi.is_dir = info.is_dir != 0;
  return fi;
}

StatusOr<std::vector<std::string>> PluginStorageDriver::List(std::string_view path) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  StringSink err(4096);
  ListSink items;
  berth_call_ctx call = MakeCall();
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->list(self_, &call, Str(path), items.get(), err.get());
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "list", call));
  return std::move(items.items());
}

Status PluginStorageDriver::Move(std::string_view src, std::string_view dst) {
  if (!IsValidStoragePath(src) || src == "/") return BadPath(src);
  if (!IsValidStoragePath(dst) || dst == "/") return BadPath(dst);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->move(self_, &call, Str(src), Str(dst), err.get());
  }
  return Result(rc, err.str(), "move", call);
}

Status PluginStorageDriver::Remove(std::string_view path) {
  if (!IsValidStoragePath(path) || path == "/") return BadPath(path);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->remove(self_, &call, Str(path), err.get());
  }
  return Result(rc, err.str(), "remove", call);
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

Status PluginStorageDriver::Walk(std::string_view path, const WalkFn& fn) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  WalkState st{&fn};
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->walk(self_, &call, Str(path), &WalkThunk, &st, err.get());
  }
  return Result(rc, err.str(), "walk", call);
}

StatusOr<std::string> PluginStorageDriver::RedirectUrl(std::string_view method,
                                                       std::string_view path, int64_t ttl) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  if (vt_->redirect_url == nullptr || !(provider_->capabilities & BERTH_STORAGE_CAP_REDIRECT_URL)) {
    return Status::Unsupported("storage driver does not redirect");
  }
  StringSink url(8192), err(4096);
  berth_call_ctx call = MakeCall();
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->redirect_url(self_, &call, Str(method), Str(path), ttl, url.get(), err.get());
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "redirect_url", call));
  return std::move(url.str());
}

bool PluginStorageDriver::CanOpenFd() const {
  return vt_->open_fd != nullptr && (provider_->capabilities & BERTH_STORAGE_CAP_OPEN_FD);
}

StatusOr<int> PluginStorageDriver::OpenFd(std::string_view path) {
  if (!IsValidStoragePath(path)) return BadPath(path);
  if (!CanOpenFd()) return Status::Unsupported("storage driver has no local files");
  StringSink err(4096);
  berth_call_ctx call = MakeCall();
  int32_t fd = -1;
  berth_status rc;
  {
    auto lock = Lock();
    rc = vt_->open_fd(self_, &call, Str(path), &fd, err.get());
  }
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "open_fd", call));
  if (fd < 0) return Status::Internal("storage plugin returned an invalid descriptor");
  return static_cast<int>(fd);
}

}  // namespace berth
