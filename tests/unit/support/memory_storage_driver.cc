#include "support/memory_storage_driver.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include "common/clock.h"

namespace berth::testing_support {

namespace {

Status InvalidPath(std::string_view p) {
  return Status::InvalidArgument("invalid path: " + std::string(p));
}

Status NotFound(std::string_view p) { return Status::NotFound(std::string(p) + " not found"); }

// "/a/b" -> "/a/b/"; "/" -> "/".
std::string DirPrefix(std::string_view p) {
  std::string out(p);
  if (out.back() != '/') out += '/';
  return out;
}

}  // namespace

class MemoryReader : public StorageReader {
 public:
  MemoryReader(std::string data, size_t offset) : data_(std::move(data)), pos_(offset) {}
  StatusOr<size_t> Read(void* buf, size_t cap) override {
    size_t n = std::min(cap, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;  // a snapshot, as an open file keeps the bytes it was opened on
  size_t pos_;
};

class MemoryWriter : public StorageWriter {
 public:
  MemoryWriter(MemoryStorageDriver& d, std::string path, int64_t size)
      : d_(d), path_(std::move(path)), size_(size) {}
  Status Write(const void* data, size_t len) override {
    std::lock_guard<std::mutex> lock(d_.mu_);
    BERTH_RETURN_IF_ERROR(d_.Enter(StorageOp::kWrite));
    auto before = d_.objects_.count(path_) ? d_.objects_[path_].data.size() : 0;
    Status s = d_.AppendLocked(path_, data, len);
    size_ += static_cast<int64_t>(d_.objects_[path_].data.size() - before);
    return s;
  }
  int64_t Size() const override { return size_; }
  Status Commit() override {
    std::lock_guard<std::mutex> lock(d_.mu_);
    return d_.Enter(StorageOp::kCommit);
  }
  Status Cancel() override {
    std::lock_guard<std::mutex> lock(d_.mu_);
    d_.objects_.erase(path_);
    return {};
  }
  Status Close() override {
    std::lock_guard<std::mutex> lock(d_.mu_);
    return d_.Enter(StorageOp::kClose);
  }

 private:
  MemoryStorageDriver& d_;
  std::string path_;
  int64_t size_;
};

// ---- Fault injection ------------------------------------------------------------

void MemoryStorageDriver::FailNth(StorageOp op, int n, Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[op].emplace_back(calls_[op] + n, std::move(error));
}

void MemoryStorageDriver::FailWritesAfter(int64_t bytes, Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  write_budget_ = bytes;
  write_budget_error_ = std::move(error);
}

void MemoryStorageDriver::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
  write_budget_.reset();
}

int MemoryStorageDriver::Calls(StorageOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

Status MemoryStorageDriver::Enter(StorageOp op) {
  int n = ++calls_[op];
  auto& pending = faults_[op];
  for (auto it = pending.begin(); it != pending.end(); ++it) {
    if (it->first == n) {
      Status s = it->second;
      pending.erase(it);
      return s;
    }
  }
  return {};
}

Status MemoryStorageDriver::AppendLocked(const std::string& path, const void* data, size_t len) {
  size_t take = len;
  if (write_budget_) take = static_cast<size_t>(std::clamp<int64_t>(*write_budget_, 0, len));
  auto& o = objects_[path];
  o.data.append(static_cast<const char*>(data), take);
  o.mtime_ns = NowUnixNanos();
  if (write_budget_) {
    *write_budget_ -= static_cast<int64_t>(take);
    if (take < len) return write_budget_error_;
  }
  return {};
}

// ---- Inspection -------------------------------------------------------------------

std::optional<std::string> MemoryStorageDriver::Object(std::string_view path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(std::string(path));
  if (it == objects_.end()) return std::nullopt;
  return it->second.data;
}

std::vector<std::string> MemoryStorageDriver::Paths() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [p, o] : objects_) out.push_back(p);
  return out;
}

bool MemoryStorageDriver::IsDirLocked(const std::string& path) const {
  std::string prefix = DirPrefix(path);
  auto it = objects_.lower_bound(prefix);
  return it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

// ---- StorageDriver ----------------------------------------------------------------

Status MemoryStorageDriver::GetContent(const CallContext& /*ctx*/, std::string_view path, std::string* out, size_t max_size) {
  if (!IsValidStoragePath(path)) return InvalidPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kGetContent));
  auto it = objects_.find(std::string(path));
  if (it == objects_.end()) return NotFound(path);
  if (max_size != 0 && it->second.data.size() > max_size) {
    return Status(Code::kTooLarge,
                  std::string(path) + " exceeds " + std::to_string(max_size) + " bytes");
  }
  *out = it->second.data;
  return {};
}

Status MemoryStorageDriver::PutContent(const CallContext& /*ctx*/, std::string_view path, std::string_view data) {
  if (!IsValidStoragePath(path) || path == "/") return InvalidPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kPutContent));
  objects_[std::string(path)] = {std::string(data), NowUnixNanos()};
  return {};
}

StatusOr<std::unique_ptr<StorageReader>> MemoryStorageDriver::OpenReader(const CallContext& /*ctx*/, std::string_view path,
                                                                         int64_t offset) {
  if (!IsValidStoragePath(path)) return InvalidPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kOpenReader));
  auto it = objects_.find(std::string(path));
  if (it == objects_.end()) return NotFound(path);
  if (offset < 0 || offset > static_cast<int64_t>(it->second.data.size())) {
    return Status(Code::kRangeNotSatisfiable, "offset " + std::to_string(offset) +
                                                  " is beyond the end of " + std::string(path));
  }
  return std::unique_ptr<StorageReader>(
      new MemoryReader(it->second.data, static_cast<size_t>(offset)));
}

StatusOr<std::unique_ptr<StorageWriter>> MemoryStorageDriver::OpenWriter(const CallContext& /*ctx*/, std::string_view path,
                                                                         bool append) {
  if (!IsValidStoragePath(path) || path == "/") return InvalidPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kOpenWriter));
  auto& o = objects_[std::string(path)];
  if (!append) o.data.clear();
  return std::unique_ptr<StorageWriter>(
      new MemoryWriter(*this, std::string(path), static_cast<int64_t>(o.data.size())));
}

StatusOr<FileInfo> MemoryStorageDriver::Stat(const CallContext& /*ctx*/, std::string_view path) {
  if (!IsValidStoragePath(path)) return InvalidPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kStat));
  auto it = objects_.find(std::string(path));
  if (it != objects_.end()) {
    return FileInfo{static_cast<int64_t>(it->second.data.size()), it->second.mtime_ns, false};
  }
  if (path == "/" || IsDirLocked(std::string(path))) return FileInfo{0, 0, true};
  return NotFound(path);
}

StatusOr<std::vector<std::string>> MemoryStorageDriver::List(const CallContext& /*ctx*/, std::string_view path) {
  if (!IsValidStoragePath(path)) return InvalidPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix = DirPrefix(path);
  if (path != "/" && !IsDirLocked(std::string(path))) return NotFound(path);
  std::set<std::string> children;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    size_t slash = it->first.find('/', prefix.size());
    children.insert(it->first.substr(0, slash));
  }
  return std::vector<std::string>(children.begin(), children.end());
}

Status MemoryStorageDriver::Move(const CallContext& /*ctx*/, std::string_view src, std::string_view dst) {
  if (!IsValidStoragePath(src)) return InvalidPath(src);
  if (!IsValidStoragePath(dst) || dst == "/") return InvalidPath(dst);
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kMove));
  auto it = objects_.find(std::string(src));
  if (it == objects_.end()) return NotFound(src);
  Object_ o = std::move(it->second);
  objects_.erase(it);
  objects_[std::string(dst)] = std::move(o);
  return {};
}

Status MemoryStorageDriver::Remove(const CallContext& /*ctx*/, std::string_view path) {
  if (!IsValidStoragePath(path)) return InvalidPath(path);
  if (path == "/") return Status::InvalidArgument("refusing to remove the storage root");
  std::lock_guard<std::mutex> lock(mu_);
  BERTH_RETURN_IF_ERROR(Enter(StorageOp::kRemove));
  size_t removed = objects_.erase(std::string(path));
  std::string prefix = DirPrefix(path);
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = objects_.erase(it);
    ++removed;
  }
  return removed == 0 ? NotFound(path) : Status();
}

Status MemoryStorageDriver::Walk(const CallContext& /*ctx*/, std::string_view path, const WalkFn& fn) {
  bool stop = false;
  std::function<Status(const std::string&)> walk = [&](const std::string& dir) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto children, List(dir));
    for (const auto& c : children) {
      auto fi = Stat(c);
      if (fi.status().IsNotFound()) continue;  // removed concurrently
      if (!fi.ok()) return fi.status();
      WalkAction a = fn(c, *fi);
      if (a == WalkAction::kStop) stop = true;
      if (stop) return {};
      if (fi->is_dir && a != WalkAction::kSkipDir) BERTH_RETURN_IF_ERROR(walk(c));
    }
    return {};
  };
  return walk(std::string(path));
}

StatusOr<std::string> MemoryStorageDriver::RedirectUrl(const CallContext& /*ctx*/, std::string_view, std::string_view,
                                                       int64_t) {
  return Status::Unsupported("the memory driver does not redirect");
}

StatusOr<int> MemoryStorageDriver::OpenFd(const CallContext& /*ctx*/, std::string_view) {
  return Status::Unsupported("the memory driver has no local files");
}

}  // namespace berth::testing_support
