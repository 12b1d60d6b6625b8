#include "fs_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace berth::storage_fs {
namespace {

using berth::sdk::CallCtx;
using berth::sdk::FileInfo;
using berth::sdk::Host;
using berth::sdk::Sink;
using berth::sdk::Status;

constexpr size_t kWriteBuffer = 1 << 20;

Status Errno(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return Status::NotFound(msg);
  if (err == EINVAL || err == ENAMETOOLONG) return Status::InvalidArgument(msg);
  return Status::IO(msg);
}

// Rejects anything that could escape the root, whatever the host checked.
bool SafePath(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  size_t i = 1;
  if (p.size() == 1) return true;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view comp = p.substr(i, j - i);
    if (comp.empty() || comp == "." || comp == "..") return false;
    for (char c : comp) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    i = j + 1;
  }
  return true;
}

Status MkdirAll(const std::string& dir) {
  if (dir.empty()) return {};
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status() : Status::Conflict(dir + " is not a directory");
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    Status s = MkdirAll(dir.substr(0, slash));
    if (!s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", dir, errno);
  return {};
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open dir", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status() : Errno("fsync dir", dir, err);
}

std::string Parent(const std::string& p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

Status WriteAll(int fd, const char* data, size_t len, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path, errno);
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

Status RemoveTree(const std::string& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return Errno("stat", p, errno);
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(p.c_str());
    if (d == nullptr) return Errno("opendir", p, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) {
      Status s = RemoveTree(p + "/" + n);
      if (!s.ok() && s.code() != BERTH_E_NOT_FOUND) return s;
    }
    if (::rmdir(p.c_str()) != 0 && errno != ENOENT) return Errno("rmdir", p, errno);
    return {};
  }
  if (::unlink(p.c_str()) != 0) return Errno("unlink", p, errno);
  return {};
}

FileInfo InfoOf(const struct stat& st) {
  FileInfo fi;
  fi.is_dir = S_ISDIR(st.st_mode);
  fi.size = fi.is_dir ? 0 : static_cast<int64_t>(st.st_size);
  fi.mtime_unix_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return fi;
}

// A stream checks for cancellation before each chunk (one host call each):
// a client that went away stops the work at the next chunk. The log line goes
// through the host, which tags it with the call's request id.
Status StopIfCancelled(const CallCtx& call, const berth::sdk::Host& host, const char* what,
                       const std::string& path) {
  if (!call.cancelled()) return {};
  host.Log(BERTH_LOG_INFO, std::string("storage-fs: ") + what + " of " + path + " cancelled");
  return Status::Cancelled(std::string(what) + " of " + path + " cancelled by the host");
}

class FsReader : public berth::sdk::StorageReader {
 public:
  FsReader(int fd, std::string path, berth::sdk::Host host)
      : fd_(fd), path_(std::move(path)), host_(host) {}
  ~FsReader() override { ::close(fd_); }
  Status Read(const CallCtx& call, void* buf, size_t cap, size_t* n) override {
    if (Status s = StopIfCancelled(call, host_, "read", path_); !s.ok()) return s;
    for (;;) {
      ssize_t r = ::read(fd_, buf, cap);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("read", path_, errno);
      *n = static_cast<size_t>(r);
      return {};
    }
  }

 private:
  int fd_;
  std::string path_;
  berth::sdk::Host host_;
};

class FsWriter : public berth::sdk::StorageWriter {
 public:
  FsWriter(int fd, std::string path, int64_t size, berth::sdk::Host host)
      : fd_(fd), path_(std::move(path)), size_(size), host_(host) {}
  ~FsWriter() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Write(const CallCtx& call, const void* data, size_t len) override {
    if (Status s = StopIfCancelled(call, host_, "write", path_); !s.ok()) return s;
    const char* p = static_cast<const char*>(data);
    if (buf_.size() + len > kWriteBuffer) {
      Status s = Flush();
      if (!s.ok()) return s;
      if (len >= kWriteBuffer) {
        s = WriteAll(fd_, p, len, path_);
        if (s.ok()) size_ += static_cast<int64_t>(len);
        return s;
      }
    }
    buf_.append(p, len);
    size_ += static_cast<int64_t>(len);
    return {};
  }
  Status Size(const CallCtx&, int64_t* out) const override {
    *out = size_;
    return {};
  }
  // A cancelled upload is not made durable (no fsync); what was written stays
  // for a resumed upload, as after Close.
  Status Commit(const CallCtx& call) override {
    if (Status c = StopIfCancelled(call, host_, "commit", path_); !c.ok()) {
      (void)Close(call);
      return c;
    }
    Status s = Flush();
    if (s.ok() && ::fsync(fd_) != 0) s = Errno("fsync", path_, errno);
    CloseFd();
    if (s.ok()) s = FsyncDir(Parent(path_));
    return s;
  }
  Status Cancel(const CallCtx&) override {
    CloseFd();
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path_, errno);
    return {};
  }
  Status Close(const CallCtx&) override {
    Status s = Flush();
    CloseFd();
    return s;
  }

 private:
  Status Flush() {
    if (buf_.empty()) return {};
    Status s = WriteAll(fd_, buf_.data(), buf_.size(), path_);
    buf_.clear();
    return s;
  }
  void CloseFd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_;
  std::string path_;
  int64_t size_;
  std::string buf_;
  berth::sdk::Host host_;
};

}  // namespace

Status FsDriver::PrepareRoot(const Host& host, std::string_view config, std::string* out_root) {
  nlohmann::json cfg = nlohmann::json::parse(config, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object() || !cfg.contains("root") ||
      !cfg["root"].is_string() || cfg["root"].get<std::string>().empty()) {
    return Status::InvalidArgument("storage-fs needs a non-empty string \"root\"");
  }
  std::string root = cfg["root"].get<std::string>();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  for (const char* sub : {"/data", "/tmp"}) {
    Status s = MkdirAll(root + sub);
    if (!s.ok()) return s;
  }
  // Whole-object temporaries left by a crash are garbage: nothing refers to them.
  RemoveTree(root + "/tmp");
  MkdirAll(root + "/tmp");
  host.Log(BERTH_LOG_INFO, "storage-fs: root " + root);
  *out_root = root;
  return {};
}

Status FsDriver::Create(const Host& host, std::string_view config,
                        std::unique_ptr<FsDriver>* out) {
  std::string root;
  Status s = PrepareRoot(host, config, &root);
  if (s.ok()) {
    out->reset(new FsDriver(root));
    (*out)->host_ = host;
  }
  return s;
}

Status FsDriver::GetContent(const CallCtx&, std::string_view path, Sink& out) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", p, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::NotFound(std::string(path) + " is not a file");
  }
  char buf[64 * 1024];
  Status result;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = Errno("read", p, errno);
      break;
    }
    if (n == 0) break;
    result = out.Append(buf, static_cast<size_t>(n));
    if (!result.ok()) break;
  }
  ::close(fd);
  return result;
}

Status FsDriver::PutContent(const CallCtx&, std::string_view path, std::string_view data) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  if (Status s = MkdirAll(Parent(p)); !s.ok()) return s;
  std::string tmp = TempPath();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", tmp, errno);
  Status s = WriteAll(fd, data.data(), data.size(), tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync", tmp, errno);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), p.c_str()) != 0) s = Errno("rename", p, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncDir(Parent(p));
}

Status FsDriver::OpenReader(const CallCtx&, std::string_view path, int64_t offset,
                  std::unique_ptr<berth::sdk::StorageReader>* out) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  if (offset < 0) return Status::InvalidOffset("negative offset");
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", p, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::NotFound(std::string(path) + " is not a file");
  }
  if (offset > st.st_size) {
    ::close(fd);
    return Status::InvalidOffset("offset " + std::to_string(offset) + " is beyond the end of " +
                                 std::string(path));
  }
  if (::lseek(fd, offset, SEEK_SET) < 0) {
    int err = errno;
    ::close(fd);
    return Errno("seek", p, err);
  }
  out->reset(new FsReader(fd, p, host_));
  return {};
}

Status FsDriver::OpenWriter(const CallCtx&, std::string_view path, bool append,
                  std::unique_ptr<berth::sdk::StorageWriter>* out) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  if (Status s = MkdirAll(Parent(p)); !s.ok()) return s;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd = ::open(p.c_str(), flags, 0644);
  if (fd < 0) return Errno("open", p, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Errno("stat", p, err);
  }
  out->reset(new FsWriter(fd, p, static_cast<int64_t>(st.st_size), host_));
  return {};
}

Status FsDriver::Stat(const CallCtx&, std::string_view path, FileInfo* out) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return Errno("stat", p, errno);
  *out = InfoOf(st);
  return {};
}

Status FsDriver::List(const CallCtx&, std::string_view path, std::vector<std::string>* out) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  DIR* d = ::opendir(p.c_str());
  if (d == nullptr) return Errno("list", p, errno);
  std::string prefix(path);
  if (prefix.back() != '/') prefix += '/';
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out->push_back(prefix + n);
  }
  ::closedir(d);
  std::sort(out->begin(), out->end());
  return {};
}

Status FsDriver::Move(const CallCtx&, std::string_view src, std::string_view dst) {
  std::string a, b;
  if (Status s = Map(src, &a); !s.ok()) return s;
  if (Status s = Map(dst, &b); !s.ok()) return s;
  struct stat st;
  if (::stat(a.c_str(), &st) != 0) return Errno("move", a, errno);
  if (Status s = MkdirAll(Parent(b)); !s.ok()) return s;
  if (::rename(a.c_str(), b.c_str()) != 0) return Errno("rename", a, errno);
  Status s = FsyncDir(Parent(b));
  if (s.ok() && Parent(a) != Parent(b)) s = FsyncDir(Parent(a));
  return s;
}

Status FsDriver::Remove(const CallCtx&, std::string_view path) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  if (path == "/") return Status::InvalidArgument("refusing to remove the storage root");
  return RemoveTree(p);
}

Status FsDriver::Walk(const CallCtx& call, std::string_view path, const WalkFn& fn) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return Errno("walk", p, errno);
  bool stop = false;
  return WalkDir(call, std::string(path), fn, &stop);
}

Status FsDriver::OpenFd(const CallCtx&, std::string_view path, int32_t* fd) {
  std::string p;
  if (Status s = Map(path, &p); !s.ok()) return s;
  int f = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (f < 0) return Errno("open", p, errno);
  *fd = f;
  return {};
}


Status FsDriver::Map(std::string_view path, std::string* out) const {
  if (!SafePath(path)) return Status::InvalidArgument("invalid path: " + std::string(path));
  *out = root_ + "/data" + (path == "/" ? std::string() : std::string(path));
  return {};
}

std::string FsDriver::TempPath() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return root_ + "/tmp/" + std::to_string(rng()) + "-" + std::to_string(counter_++);
}

Status FsDriver::WalkDir(const CallCtx& call, const std::string& path, const WalkFn& fn, bool* stop) {
  std::vector<std::string> children;
  if (Status s = List(call, path, &children); !s.ok()) return s;
  for (const auto& c : children) {
    if (*stop) break;
    FileInfo fi;
    Status s = Stat(call, c, &fi);
    if (s.code() == BERTH_E_NOT_FOUND) continue;  // removed concurrently
    if (!s.ok()) return s;
    int32_t r = fn(c, fi);
    if (r == BERTH_WALK_STOP) {
      *stop = true;
      break;
    }
    if (fi.is_dir && r != BERTH_WALK_SKIP_DIR) {
      s = WalkDir(call, c, fn, stop);
      if (!s.ok()) return s;
    }
  }
  return {};
}

const char kConfigSchema[] = R"json({
  "type": "object",
  "properties": {
    "root": {"type": "string", "minLength": 1, "description": "directory holding all objects"}
  },
  "required": ["root"],
  "additionalProperties": false
})json";

}  // namespace berth::storage_fs
