// abi_bench: what the plugin ABI costs on the storage hot paths.
//
// The same filesystem driver (berth::storage_fs::FsDriver) is called two ways
// on the same directory and the same objects:
//
//   plugin  berth::PluginStorageDriver over storage-fs.so, loaded through
//           berth::PluginRegistry: what berthd runs. Every call crosses the C
//           vtable: the host checks the path, builds a call context with a
//           deadline, goes through the SDK's exception guard and status
//           conversion, and copies results through host sinks.
//   direct  DirectFsDriver below: a berth::StorageDriver that calls FsDriver's
//           C++ methods itself, as a driver linked into berthd would. It uses
//           the same core sink class for GetContent (FsDriver writes through an
//           SDK sink whichever way it is called).
//
// Each operation goes through berth::BlobStore exactly as the request
// handlers do:
//   manifest_get  GetContent of a ~2 KiB object (what a manifest GET reads when
//                 the manifest cache misses), bounded by kMaxManifestBytes;
//   blob_get_fd   OpenFd of a 1 KiB object + close (blob GET with sendfile);
//   blob_get_read OpenReader + one Read of 1 KiB + close (blob GET on a driver
//                 without file descriptors);
//   stat          Stat of the 1 KiB object.
// and, for the breakdown, two things the plugin path adds to every call:
//   parts/IsValidStoragePath  the host's check of a blob path;
//   parts/NowUnixNanos        one clock read (two per call: deadline set, checked).
//
// scripts/bench/abi/run.sh builds this in Release and prints the comparison.
#include <benchmark/benchmark.h>
#include <berth/plugin.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "blob/blob_store.h"
#include "blob/layout.h"
#include "blob/storage_driver.h"
#include "common/clock.h"
#include "common/digest.h"
#include "common/logger.h"
#include "fs_driver.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_call.h"
#include "plugin/plugin_registry.h"
#include "plugin/plugin_status.h"
#include "plugin/plugin_storage_driver.h"
#include "registry/manifest.h"

namespace berth {
namespace {

namespace sdk = berth::sdk;

Status FromSdk(const sdk::Status& s) {
  return s.ok() ? Status() : FromPluginStatus(s.code(), s.message());
}

class DirectReader : public StorageReader {
 public:
  explicit DirectReader(std::unique_ptr<sdk::StorageReader> r) : r_(std::move(r)) {}
  StatusOr<size_t> Read(void* buf, size_t cap) override {
    size_t n = 0;
    sdk::Status s = r_->Read(sdk::CallCtx(nullptr), buf, cap, &n);
    if (!s.ok()) return FromSdk(s);
    return n;
  }

 private:
  std::unique_ptr<sdk::StorageReader> r_;
};

class DirectWriter : public StorageWriter {
 public:
  explicit DirectWriter(std::unique_ptr<sdk::StorageWriter> w) : w_(std::move(w)) {}
  ~DirectWriter() override {
    if (w_) (void)w_->Close(sdk::CallCtx(nullptr));
  }
  Status Write(const void* data, size_t len) override {
    return FromSdk(w_->Write(sdk::CallCtx(nullptr), data, len));
  }
  int64_t Size() const override {
    int64_t n = -1;
    return w_ && w_->Size(sdk::CallCtx(nullptr), &n).ok() ? n : -1;
  }
  Status Commit() override { return End(&sdk::StorageWriter::Commit); }
  Status Cancel() override { return End(&sdk::StorageWriter::Cancel); }
  Status Close() override { return End(&sdk::StorageWriter::Close); }

 private:
  Status End(sdk::Status (sdk::StorageWriter::*m)(const sdk::CallCtx&)) {
    if (!w_) return Status::Internal("writer already ended");
    std::unique_ptr<sdk::StorageWriter> w = std::move(w_);
    return FromSdk(((*w).*m)(sdk::CallCtx(nullptr)));
  }
  std::unique_ptr<sdk::StorageWriter> w_;
};

// FsDriver behind berth::StorageDriver without the C ABI in between.
class DirectFsDriver : public StorageDriver {
 public:
  static StatusOr<std::unique_ptr<DirectFsDriver>> Create(const berth_host_services* host,
                                                          const std::string& config) {
    std::unique_ptr<storage_fs::FsDriver> fs;
    sdk::Status s = storage_fs::FsDriver::Create(sdk::Host(host), config, &fs);
    if (!s.ok()) return FromSdk(s);
    return std::unique_ptr<DirectFsDriver>(new DirectFsDriver(std::move(fs)));
  }

  BERTH_STORAGE_DRIVER_CONVENIENCE;
  std::string name() const override { return "fs (direct)"; }
  Status GetContent(const CallContext&, std::string_view path, std::string* out, size_t max_size) override {
    StringSink data(max_size);
    sdk::Sink sink(data.get());
    sdk::Status s = fs_->GetContent(Call(), path, sink);
    if (data.overflowed()) return Status(Code::kTooLarge, std::string(path) + " is too large");
    if (!s.ok()) return FromSdk(s);
    *out = std::move(data.str());
    return {};
  }
  Status PutContent(const CallContext&, std::string_view path, std::string_view data) override {
    return FromSdk(fs_->PutContent(Call(), path, data));
  }
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(const CallContext&, std::string_view path,
                                                      int64_t offset) override {
    std::unique_ptr<sdk::StorageReader> r;
    sdk::Status s = fs_->OpenReader(Call(), path, offset, &r);
    if (!s.ok()) return FromSdk(s);
    return std::unique_ptr<StorageReader>(new DirectReader(std::move(r)));
  }
  StatusOr<std::unique_ptr<StorageWriter>> OpenWriter(const CallContext&, std::string_view path,
                                                      bool append) override {
    std::unique_ptr<sdk::StorageWriter> w;
    sdk::Status s = fs_->OpenWriter(Call(), path, append, &w);
    if (!s.ok()) return FromSdk(s);
    return std::unique_ptr<StorageWriter>(new DirectWriter(std::move(w)));
  }
  StatusOr<FileInfo> Stat(const CallContext&, std::string_view path) override {
    sdk::FileInfo fi;
    sdk::Status s = fs_->Stat(Call(), path, &fi);
    if (!s.ok()) return FromSdk(s);
    return FileInfo{fi.size, fi.mtime_unix_ns, fi.is_dir};
  }
  StatusOr<std::vector<std::string>> List(const CallContext&, std::string_view path) override {
    std::vector<std::string> items;
    sdk::Status s = fs_->List(Call(), path, &items);
    if (!s.ok()) return FromSdk(s);
    return items;
  }
  Status Move(const CallContext&, std::string_view src, std::string_view dst) override {
    return FromSdk(fs_->Move(Call(), src, dst));
  }
  Status Remove(const CallContext&, std::string_view path) override { return FromSdk(fs_->Remove(Call(), path)); }
  Status Walk(const CallContext&, std::string_view path, const WalkFn& fn) override {
    return FromSdk(fs_->Walk(Call(), path, [&](std::string_view p, const sdk::FileInfo& fi) {
      switch (fn(std::string(p), FileInfo{fi.size, fi.mtime_unix_ns, fi.is_dir})) {
        case WalkAction::kContinue: return BERTH_WALK_CONTINUE;
        case WalkAction::kSkipDir: return BERTH_WALK_SKIP_DIR;
        case WalkAction::kStop: return BERTH_WALK_STOP;
      }
      return BERTH_WALK_STOP;
    }));
  }
  StatusOr<std::string> RedirectUrl(const CallContext&, std::string_view, std::string_view, int64_t) override {
    return Status::Unsupported("storage driver does not redirect");
  }
  StatusOr<int> OpenFd(const CallContext&, std::string_view path) override {
    int32_t fd = -1;
    sdk::Status s = fs_->OpenFd(Call(), path, &fd);
    if (!s.ok()) return FromSdk(s);
    return static_cast<int>(fd);
  }
  bool CanOpenFd() const override { return true; }

 private:
  explicit DirectFsDriver(std::unique_ptr<storage_fs::FsDriver> fs) : fs_(std::move(fs)) {}
  static sdk::CallCtx Call() { return sdk::CallCtx(nullptr); }
  std::unique_ptr<storage_fs::FsDriver> fs_;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "abi_bench: %s\n", what.c_str());
  std::exit(1);
}

// Both drivers on one temporary directory, and the objects they read.
struct Env {
  std::FILE* devnull = std::fopen("/dev/null", "w");
  Logger log{LogLevel::kError, devnull};
  Metrics metrics;
  HostServices host{log, metrics};
  PluginRegistry registry{host.table()};
  std::string root;
  std::unique_ptr<StorageDriver> plugin, direct;
  std::unique_ptr<BlobStore> plugin_store, direct_store;
  Digest manifest, blob;
  std::string manifest_bytes, blob_bytes;

  void Init(const std::string& plugin_file) {
    char tmpl[] = "/tmp/berth-abi-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    root = tmpl;
    std::string config = nlohmann::json{{"root", root}}.dump();

    Status s = registry.LoadFile(plugin_file);
    if (!s.ok()) Die(s.message());
    const berth_provider* fs = registry.FindProvider(BERTH_KIND_STORAGE, "fs");
    if (fs == nullptr) Die(plugin_file + " provides no storage driver 'fs'");
    auto inst = registry.CreateInstance(fs, config);
    if (!inst.ok()) Die(inst.status().message());
    // berthd's default storage.call_timeout_ms.
    plugin = std::make_unique<PluginStorageDriver>(fs, *inst, &log, 60000);
    auto d = DirectFsDriver::Create(host.table(), config);
    if (!d.ok()) Die(d.status().message());
    direct = std::move(*d);
    plugin_store = std::make_unique<BlobStore>(*plugin);
    direct_store = std::make_unique<BlobStore>(*direct);

    // A ~2 KiB image manifest and a 1 KiB blob, written once.
    nlohmann::json layers = nlohmann::json::array();
    for (int i = 0; layers.dump().size() < 1800; ++i) {
      layers.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                        {"digest", Digest::Of(DigestAlgorithm::kSha256, std::to_string(i)).ToString()},
                        {"size", 1000 + i}});
    }
    manifest_bytes = nlohmann::json{{"schemaVersion", 2},
                                    {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                    {"layers", layers}}.dump();
    blob_bytes.assign(1024, 'b');
    manifest = Digest::Of(DigestAlgorithm::kSha256, manifest_bytes);
    blob = Digest::Of(DigestAlgorithm::kSha256, blob_bytes);
    if (!(s = plugin_store->PutContent(manifest, manifest_bytes)).ok()) Die(s.message());
    if (!(s = plugin_store->PutContent(blob, blob_bytes)).ok()) Die(s.message());

    // Both ways read the same bytes.
    for (BlobStore* bs : {plugin_store.get(), direct_store.get()}) {
      std::string body;
      if (!bs->GetContent(manifest, &body, kMaxManifestBytes).ok() || body != manifest_bytes) {
        Die(bs->driver().name() + ": GetContent does not return the manifest");
      }
      auto fi = bs->Stat(blob);
      if (!fi.ok() || fi->size != 1024) Die(bs->driver().name() + ": Stat is wrong");
      auto fd = bs->OpenFd(blob);
      if (!fd.ok()) Die(bs->driver().name() + ": OpenFd failed");
      ::close(*fd);
    }
  }

  ~Env() {
    plugin_store.reset();
    direct_store.reset();
    plugin.reset();
    direct.reset();
    if (!root.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
    }
    if (devnull != nullptr) std::fclose(devnull);
  }
};

Env* g_env = nullptr;

void ManifestGet(benchmark::State& state, BlobStore* bs) {
  std::string body;
  for (auto _ : state) {
    Status s = bs->GetContent(g_env->manifest, &body, kMaxManifestBytes);
    if (!s.ok() || body.size() != g_env->manifest_bytes.size()) {
      state.SkipWithError("GetContent failed");
      break;
    }
    benchmark::DoNotOptimize(body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(g_env->manifest_bytes.size()));
}

void BlobGetFd(benchmark::State& state, BlobStore* bs) {
  for (auto _ : state) {
    auto fd = bs->OpenFd(g_env->blob);
    if (!fd.ok()) {
      state.SkipWithError("OpenFd failed");
      break;
    }
    ::close(*fd);
  }
}

void BlobGetRead(benchmark::State& state, BlobStore* bs) {
  char buf[1024];
  for (auto _ : state) {
    auto r = bs->OpenReader(g_env->blob, 0);
    if (!r.ok()) {
      state.SkipWithError("OpenReader failed");
      break;
    }
    // As the blob handler does: it knows the size and reads exactly that.
    auto n = (*r)->Read(buf, sizeof buf);
    if (!n.ok() || *n != sizeof buf) {
      state.SkipWithError("Read failed");
      break;
    }
    benchmark::DoNotOptimize(buf);
  }  // the reader is closed here, inside the timed loop
}

void StatBlob(benchmark::State& state, BlobStore* bs) {
  for (auto _ : state) {
    auto fi = bs->Stat(g_env->blob);
    if (!fi.ok()) {
      state.SkipWithError("Stat failed");
      break;
    }
    benchmark::DoNotOptimize(fi->size);
  }
}

// Two parts of what PluginStorageDriver adds to every call, for the
// breakdown: the host's path check (the plugin checks again on its side) and
// one of the two clock reads for the deadline.
void PathCheck(benchmark::State& state) {
  std::string path = layout::BlobDataPath(g_env->blob);
  for (auto _ : state) {
    benchmark::DoNotOptimize(path.data());
    bool ok = IsValidStoragePath(path);
    benchmark::DoNotOptimize(ok);
  }
  state.SetLabel(std::to_string(path.size()) + " chars");
}

void ClockRead(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NowUnixNanos());
}

// ABI 1.0's host path check (before issue 13), kept here to compare.
bool IsValidStoragePath10(std::string_view p) {
  if (p == "/") return true;
  if (p.size() < 2 || p[0] != '/' || p.back() == '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view comp = p.substr(start, end - start);
    if (comp.empty() || comp == "." || comp == "..") return false;
    for (char c : comp) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

void PathCheck10(benchmark::State& state) {
  std::string path = layout::BlobDataPath(g_env->blob);
  for (auto _ : state) {
    benchmark::DoNotOptimize(path.data());
    bool ok = IsValidStoragePath10(path);
    benchmark::DoNotOptimize(ok);
  }
}

// The clocks one PluginCaller::Call reads: the monotonic clock before and
// after (latency metric, deadline check) and a coarse wall clock for the
// deadline the plugin sees.
void CallClocks(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(PluginClockNanos());
    benchmark::DoNotOptimize(PluginClockNanos());
    timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    benchmark::DoNotOptimize(ts);
  }
}

}  // namespace
}  // namespace berth

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string plugin_file = std::string(BERTH_PLUGIN_DIR) + "/storage-fs.so";
  if (argc > 1) plugin_file = argv[1];
  if (argc > 2 || benchmark::ReportUnrecognizedArguments(argc, argv)) {
    if (argc > 2) std::fprintf(stderr, "usage: abi_bench [benchmark flags] [storage-fs.so]\n");
    return 2;
  }
  berth::Env env;
  env.Init(plugin_file);
  berth::g_env = &env;

  struct Op {
    const char* name;
    void (*fn)(benchmark::State&, berth::BlobStore*);
  };
  const Op ops[] = {{"manifest_get/GetContent_2KiB", &berth::ManifestGet},
                    {"blob_get_fd/OpenFd_1KiB+close", &berth::BlobGetFd},
                    {"blob_get_read/OpenReader+Read_1KiB+close", &berth::BlobGetRead},
                    {"stat/Stat_1KiB", &berth::StatBlob}};
  for (const Op& op : ops) {
    benchmark::RegisterBenchmark((std::string(op.name) + "/plugin").c_str(), op.fn,
                                 env.plugin_store.get());
    benchmark::RegisterBenchmark((std::string(op.name) + "/direct").c_str(), op.fn,
                                 env.direct_store.get());
  }
  benchmark::RegisterBenchmark("parts/IsValidStoragePath", &berth::PathCheck);
  benchmark::RegisterBenchmark("parts/NowUnixNanos", &berth::ClockRead);
  benchmark::RegisterBenchmark("parts/IsValidStoragePath_abi_1_0", &berth::PathCheck10);
  benchmark::RegisterBenchmark("parts/PluginCaller_clocks", &berth::CallClocks);
  benchmark::AddCustomContext("plugin", plugin_file);
  benchmark::AddCustomContext("storage_root", env.root);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  berth::g_env = nullptr;
  return 0;
}
