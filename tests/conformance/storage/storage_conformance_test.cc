// Storage-driver conformance suite, after distribution's
// registry/storage/driver/testsuites, run against every storage plugin in
// BERTH_PLUGIN_DIR through the plugin loader (PluginRegistry) and the host's
// wrapper (PluginStorageDriver) -- exactly the path berthd uses.
//
// Adding a driver: build its plugin into the plugin directory and give it a
// config, in drivers.json beside this file or in a JSON file named by
// BERTH_STORAGE_CONFORMANCE_CONFIG ({"provider": {config...}}). In configs,
// "{{TMPDIR}}" becomes a fresh empty directory per test and "{{UNIQUE}}" a
// token unique to the test (for a bucket prefix). A string in place of a
// config skips that provider's tests, saying why (the s3 provider: its bucket
// comes from tests/s3's radosgw fixture). Each test starts from an
// empty store and removes what it wrote.
#include <berth/plugin.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "blob/storage_driver.h"
#include "common/digest.h"
#include "common/logger.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_registry.h"
#include "plugin/plugin_status.h"
#include "plugin/plugin_storage_driver.h"

namespace berth {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

// ---- Loading plugins and configs -------------------------------------------------

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Loaded once per process: plugins are never unloaded anyway.
struct Harness {
  Logger logger{LogLevel::kWarn};
  Metrics metrics;
  HostServices host{logger, metrics};
  PluginRegistry registry{host.table()};
  std::string plugin_dir;
  Status load_status;
  std::vector<std::string> providers;  // storage providers, in load order
  json configs = json::object();       // provider -> config template
  std::string config_error;

  Harness() {
    plugin_dir = Env("BERTH_TEST_PLUGIN_DIR", BERTH_PLUGIN_DIR);
    if (!std::filesystem::is_directory(plugin_dir)) {
      load_status = Status::NotFound("plugin directory " + plugin_dir + " does not exist");
    } else {
      load_status = registry.LoadDirectories({plugin_dir});
    }
    for (const auto& p : registry.plugins()) {
      for (const auto& pr : p.providers) {
        if (pr.kind == BERTH_KIND_STORAGE) providers.push_back(pr.name);
      }
    }
    for (const std::string& file :
         {std::string(BERTH_STORAGE_DRIVERS_JSON), Env("BERTH_STORAGE_CONFORMANCE_CONFIG", "")}) {
      if (file.empty()) continue;
      std::ifstream in(file);
      if (!in) {
        config_error += "cannot read " + file + "; ";
        continue;
      }
      json j = json::parse(in, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        config_error += file + " must hold a JSON object {\"provider\": {config}}; ";
      } else {
        for (auto& [k, v] : j.items()) configs[k] = v;
      }
    }
  }
};

Harness& H() {
  static Harness* h = new Harness();  // leaked: plugins outlive everything
  return *h;
}

std::vector<std::string> StorageProviders() { return H().providers; }

// Substitutes {{TMPDIR}} and {{UNIQUE}} in every string of a config.
void Substitute(json& j, const std::string& tmpdir, const std::string& unique) {
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    for (const auto& [token, value] :
         {std::pair<std::string, std::string>{"{{TMPDIR}}", tmpdir}, {"{{UNIQUE}}", unique}}) {
      for (size_t pos = s.find(token); pos != std::string::npos; pos = s.find(token, pos)) {
        s.replace(pos, token.size(), value);
        pos += value.size();
      }
    }
    j = s;
  } else if (j.is_structured()) {
    for (auto& v : j) Substitute(v, tmpdir, unique);
  }
}

TEST(StoragePlugins, LoadWithoutRefusals) {
  EXPECT_TRUE(H().load_status.ok()) << H().load_status.message();
  for (const auto& r : H().registry.refused()) ADD_FAILURE() << r.path << ": " << r.reason;
}

TEST(StoragePlugins, AtLeastOneStorageProvider) {
  EXPECT_FALSE(H().providers.empty()) << "no storage provider in " << H().plugin_dir;
}

TEST(StoragePlugins, ConfigsAreReadable) { EXPECT_EQ(H().config_error, ""); }

TEST(StoragePlugins, EveryProviderHasAConformanceConfig) {
  for (const auto& p : H().providers) {
    EXPECT_TRUE(H().configs.contains(p))
        << "storage provider '" << p << "' has no conformance config: add it to "
        << BERTH_STORAGE_DRIVERS_JSON << " or to BERTH_STORAGE_CONFORMANCE_CONFIG";
  }
}

// ---- Test helpers ------------------------------------------------------------------

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ShortDigest(const std::string& s) {
  return Digest::Of(DigestAlgorithm::kSha256, s).hex.substr(0, 16) + " (" +
         std::to_string(s.size()) + " bytes)";
}

// Compares big strings without dumping them.
#define EXPECT_SAME_BYTES(actual, expected) \
  EXPECT_EQ(ShortDigest(actual), ShortDigest(expected))

StatusOr<std::string> ReadAll(StorageReader& r, size_t buf_size = 32 * 1024) {
  std::string out;
  std::vector<char> buf(buf_size);
  for (;;) {
    auto n = r.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

struct Visit {
  std::string path;
  bool is_dir;
  int64_t size;
};

class StorageDriverConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& name = GetParam();
    provider_ = H().registry.FindProvider(BERTH_KIND_STORAGE, name);
    ASSERT_NE(provider_, nullptr) << name;
    ASSERT_TRUE(H().configs.contains(name))
        << "storage provider '" << name << "' has no conformance config (see "
        << BERTH_STORAGE_DRIVERS_JSON << ")";
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "berth-storage-conformance-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    tmpdir_ = tmpl;
    static std::atomic<int> counter{0};
    std::string unique = "berth-conformance-" + std::to_string(getpid()) + "-" +
                         std::to_string(counter++) + "-" +
                         std::to_string(std::random_device{}() % 1000000);
    json cfg = H().configs[name];
    // A string instead of a config: the provider needs a service the run
    // supplies (an S3 endpoint) through BERTH_STORAGE_CONFORMANCE_CONFIG.
    if (cfg.is_string()) GTEST_SKIP() << name << ": " << cfg.get<std::string>();
    Substitute(cfg, tmpdir_, unique);
    std::string cfg_text = cfg.dump();

    StringSink err(4096);
    void* instance = nullptr;
    berth_status rc = provider_->create(H().host.table(), {cfg_text.data(), cfg_text.size()},
                                        &instance, err.get());
    ASSERT_EQ(rc, BERTH_OK) << "create(" << cfg_text << ") failed: " << PluginStatusName(rc)
                            << ": " << err.str();
    ASSERT_NE(instance, nullptr);
    driver_ = std::make_unique<PluginStorageDriver>(provider_, instance);
    auto top = driver_->List("/");
    if (top.ok()) {
      ASSERT_THAT(*top, IsEmpty()) << "a fresh instance must start empty";
    }
  }

  void TearDown() override {
    if (driver_) {
      // Leave nothing behind in remote backends.
      auto top = driver_->List("/");
      if (top.ok()) {
        for (const auto& p : *top) {
          IgnoreError(driver_->Remove(p), "best-effort cleanup; the test already has its verdict");
        }
      }
      driver_.reset();
    }
    if (!tmpdir_.empty()) std::filesystem::remove_all(tmpdir_);
  }

  StorageDriver& d() { return *driver_; }

  void Put(const std::string& path, const std::string& data) {
    Status s = d().PutContent(path, data);
    ASSERT_TRUE(s.ok()) << path << ": " << s.ToString();
  }

  std::string Get(const std::string& path) {
    std::string out;
    Status s = d().GetContent(path, &out);
    EXPECT_TRUE(s.ok()) << path << ": " << s.ToString();
    return out;
  }

  // Writes `data` through a writer in chunks of `chunk` and commits.
  void WriteStream(const std::string& path, const std::string& data, size_t chunk) {
    auto w = d().OpenWriter(path, false);
    ASSERT_TRUE(w.ok()) << path << ": " << w.status().ToString();
    for (size_t pos = 0; pos < data.size(); pos += chunk) {
      size_t n = std::min(chunk, data.size() - pos);
      Status s = (*w)->Write(data.data() + pos, n);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ((*w)->Size(), static_cast<int64_t>(pos + n));
    }
    Status s = (*w)->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string ReadFrom(const std::string& path, int64_t offset) {
    auto r = d().OpenReader(path, offset);
    EXPECT_TRUE(r.ok()) << path << "@" << offset << ": " << r.status().ToString();
    if (!r.ok()) return {};
    auto all = ReadAll(**r);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return all.ok() ? *all : std::string();
  }

  void ExpectNotFound(const std::string& path) {
    std::string out;
    Status s = d().GetContent(path, &out);
    EXPECT_EQ(s.code(), Code::kNotFound) << path << ": " << s.ToString();
    auto st = d().Stat(path);
    EXPECT_EQ(st.status().code(), Code::kNotFound) << path << ": " << st.status().ToString();
  }

  std::vector<std::string> ListOk(const std::string& path) {
    auto l = d().List(path);
    EXPECT_TRUE(l.ok()) << path << ": " << l.status().ToString();
    return l.ok() ? *l : std::vector<std::string>();
  }

  std::vector<Visit> WalkAll(const std::string& root,
                             const std::function<WalkAction(const std::string&)>& decide) {
    std::vector<Visit> out;
    Status s = d().Walk(root, [&](const std::string& p, const FileInfo& fi) {
      out.push_back({p, fi.is_dir, fi.size});
      return decide(p);
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  const berth_provider* provider_ = nullptr;
  std::unique_ptr<StorageDriver> driver_;
  std::string tmpdir_;
};

std::vector<std::string> Paths(const std::vector<Visit>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.path);
  return out;
}

// ---- Paths -----------------------------------------------------------------------------

TEST_P(StorageDriverConformance, Name) { EXPECT_EQ(d().name(), GetParam()); }

TEST_P(StorageDriverConformance, ValidPaths) {
  const std::string contents = "contents";
  const std::vector<std::string> paths = {
      "/a",       "/2",         "/aa",     "/a.a",    "/0-9/abcdefg", "/abcdefg/z.75",
      "/abc/1.2.3.4.5-6_zyx/123.z/4",       "/docker/docker-registry",  "/123.abc",
      "/abc./abc", "/.abc",     "/a--b",   "/a-.b",   "/_.abc",       "/Docker/docker-registry",
      "/Abc/Cba", "/..a",       "/a..",    "/-",      "/_"};
  for (const auto& p : paths) {
    Put(p, contents + p);
    EXPECT_EQ(Get(p), contents + p) << p;
    auto st = d().Stat(p);
    ASSERT_TRUE(st.ok()) << p << ": " << st.status().ToString();
    EXPECT_EQ(st->size, static_cast<int64_t>(contents.size() + p.size())) << p;
  }
  for (const auto& p : paths) {
    std::string first = p.substr(0, p.find('/', 1));
    Status s = d().Remove(first);
    EXPECT_TRUE(s.ok() || s.code() == Code::kNotFound) << first << ": " << s.ToString();
    ExpectNotFound(p);
  }
}

TEST_P(StorageDriverConformance, InvalidPaths) {
  const std::vector<std::string> paths = {
      "",     "/",     "abc",   "123.abc", "//bcd",  "/abc_123/", "/a//b", "/a/../b", "/a/./b",
      "/..",  "/.",    "/a/..", "/a b",    "/a:b",   "/a\\b",     "/a?b",  "/a*",     "/\xc3\xa9",
      std::string("/a\0b", 4), "/a\n"};
  for (const auto& p : paths) {
    Status put = d().PutContent(p, "x");
    EXPECT_EQ(put.code(), Code::kInvalidArgument) << "PutContent('" << p << "'): " << put.ToString();
    auto w = d().OpenWriter(p, false);
    EXPECT_EQ(w.status().code(), Code::kInvalidArgument) << "OpenWriter('" << p << "')";
    EXPECT_EQ(d().Move("/src", p).code(), Code::kInvalidArgument) << "Move(_, '" << p << "')";
    EXPECT_EQ(d().Remove(p).code(), Code::kInvalidArgument) << "Remove('" << p << "')";
    if (p == "/") continue;  // "/" is a valid path to read, list or walk
    std::string out;
    EXPECT_EQ(d().GetContent(p, &out).code(), Code::kInvalidArgument) << "GetContent('" << p << "')";
    EXPECT_EQ(d().Stat(p).status().code(), Code::kInvalidArgument) << "Stat('" << p << "')";
    EXPECT_EQ(d().List(p).status().code(), Code::kInvalidArgument) << "List('" << p << "')";
    EXPECT_EQ(d().OpenReader(p, 0).status().code(), Code::kInvalidArgument) << "OpenReader('" << p << "')";
    EXPECT_EQ(d().Move(p, "/dst").code(), Code::kInvalidArgument) << "Move('" << p << "', _)";
  }
  // Nothing was written anywhere.
  EXPECT_THAT(ListOk("/"), IsEmpty());
}

// ---- Whole objects -------------------------------------------------------------------

TEST_P(StorageDriverConformance, WriteReadSmall) {
  Put("/small", "hello, world");
  EXPECT_EQ(Get("/small"), "hello, world");
}

TEST_P(StorageDriverConformance, WriteReadEmpty) {
  Put("/empty", "");
  EXPECT_EQ(Get("/empty"), "");
  auto st = d().Stat("/empty");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, 0);
  EXPECT_FALSE(st->is_dir);
}

TEST_P(StorageDriverConformance, WriteReadNonUtf8) {
  std::string data = "\xff\xfe\xfd\x80\xc3\x28\xa0\xa1";
  data += std::string("\0\0\x01\0", 4);
  Put("/binary", data);
  EXPECT_EQ(Get("/binary"), data);
}

TEST_P(StorageDriverConformance, WriteReadLarge) {
  std::string data = RandomBytes(3 * 1024 * 1024 + 7, 1);
  Put("/large/object", data);
  std::string got = Get("/large/object");
  EXPECT_SAME_BYTES(got, data);
}

TEST_P(StorageDriverConformance, PutContentMultipleTimesTruncates) {
  Put("/multi", RandomBytes(1024 * 1024, 2));
  Put("/multi", "short");
  EXPECT_EQ(Get("/multi"), "short");
  auto st = d().Stat("/multi");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 5);
  Put("/multi", "");
  EXPECT_EQ(Get("/multi"), "");
  Put("/multi", "longer again");
  EXPECT_EQ(Get("/multi"), "longer again");
}

TEST_P(StorageDriverConformance, GetContentHonoursMaxSize) {
  std::string data(100, 'x');
  Put("/bounded", data);
  std::string out;
  EXPECT_TRUE(d().GetContent("/bounded", &out, 100).ok());
  EXPECT_EQ(out, data);
  std::string small;
  Status s = d().GetContent("/bounded", &small, 99);
  EXPECT_EQ(s.code(), Code::kTooLarge) << s.ToString();
}

TEST_P(StorageDriverConformance, ReadNonexistent) {
  ExpectNotFound("/nonexistent");
  ExpectNotFound("/nonexistent/deeper");
  Put("/file", "x");
  ExpectNotFound("/file/child");  // a file is not a directory
}

TEST_P(StorageDriverConformance, GetContentOfADirectoryFails) {
  Put("/dir/file", "x");
  std::string out;
  Status s = d().GetContent("/dir", &out);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

// ---- Streams ---------------------------------------------------------------------------

TEST_P(StorageDriverConformance, WriteReadStreams) {
  std::string data = RandomBytes(200 * 1024 + 3, 3);
  WriteStream("/stream/a", data, 32 * 1024);
  EXPECT_SAME_BYTES(ReadFrom("/stream/a", 0), data);
  std::string whole = Get("/stream/a");
  EXPECT_SAME_BYTES(whole, data);
  auto st = d().Stat("/stream/a");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, static_cast<int64_t>(data.size()));
}

TEST_P(StorageDriverConformance, WriteReadLargeStreamWithUnevenChunks) {
  std::string data = RandomBytes(5 * 1024 * 1024 + 1, 4);
  auto w = d().OpenWriter("/stream/large", false);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->Size(), 0);
  size_t pos = 0;
  const size_t steps[] = {1, 7, 65536, 1024 * 1024, 2 * 1024 * 1024 + 5, 333, 4096};
  for (size_t i = 0; pos < data.size(); ++i) {
    size_t n = std::min(steps[i % std::size(steps)], data.size() - pos);
    ASSERT_TRUE((*w)->Write(data.data() + pos, n).ok());
    pos += n;
    ASSERT_EQ((*w)->Size(), static_cast<int64_t>(pos));
  }
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = d().OpenReader("/stream/large", 0);
  ASSERT_TRUE(r.ok());
  auto all = ReadAll(**r, 1000);  // a small, odd buffer
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_SAME_BYTES(*all, data);
}

TEST_P(StorageDriverConformance, ReaderWithOffset) {
  const size_t chunk = 32 * 1024;
  std::string c1 = RandomBytes(chunk, 5), c2 = RandomBytes(chunk, 6), c3 = RandomBytes(chunk, 7);
  Put("/offset", c1 + c2 + c3);
  const int64_t size = static_cast<int64_t>(3 * chunk);

  EXPECT_SAME_BYTES(ReadFrom("/offset", 0), c1 + c2 + c3);
  EXPECT_SAME_BYTES(ReadFrom("/offset", chunk), c2 + c3);
  EXPECT_SAME_BYTES(ReadFrom("/offset", 2 * chunk), c3);
  EXPECT_SAME_BYTES(ReadFrom("/offset", chunk + 17), (c2 + c3).substr(17));
  EXPECT_EQ(ReadFrom("/offset", size - 1), c3.substr(chunk - 1));
  EXPECT_EQ(ReadFrom("/offset", size), "");  // at the end: reads nothing

  auto beyond = d().OpenReader("/offset", size + 1);
  EXPECT_EQ(beyond.status().code(), Code::kRangeNotSatisfiable) << beyond.status().ToString();
  auto far = d().OpenReader("/offset", size * 100);
  EXPECT_EQ(far.status().code(), Code::kRangeNotSatisfiable) << far.status().ToString();
  auto negative = d().OpenReader("/offset", -1);
  EXPECT_FALSE(negative.ok());
}

TEST_P(StorageDriverConformance, ReadNonexistentStream) {
  EXPECT_EQ(d().OpenReader("/nope", 0).status().code(), Code::kNotFound);
  EXPECT_EQ(d().OpenReader("/nope", 64).status().code(), Code::kNotFound);
  EXPECT_EQ(d().OpenReader("/no/such/dir/file", 0).status().code(), Code::kNotFound);
}

TEST_P(StorageDriverConformance, ContinueStreamAppend) {
  const size_t chunk = 10 * 1024;
  std::string c1 = RandomBytes(chunk, 8), c2 = RandomBytes(chunk, 9), c3 = RandomBytes(chunk, 10);
  const std::string path = "/uploads/u1/data";

  auto w = d().OpenWriter(path, false);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Write(c1.data(), c1.size()).ok());
  EXPECT_EQ((*w)->Size(), static_cast<int64_t>(chunk));
  ASSERT_TRUE((*w)->Close().ok());

  w = d().OpenWriter(path, true);  // resume where the last writer stopped
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->Size(), static_cast<int64_t>(chunk));
  ASSERT_TRUE((*w)->Write(c2.data(), c2.size()).ok());
  EXPECT_EQ((*w)->Size(), static_cast<int64_t>(2 * chunk));
  ASSERT_TRUE((*w)->Close().ok());

  w = d().OpenWriter(path, true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Size(), static_cast<int64_t>(2 * chunk));
  ASSERT_TRUE((*w)->Write(c3.data(), c3.size()).ok());
  EXPECT_EQ((*w)->Size(), static_cast<int64_t>(3 * chunk));
  ASSERT_TRUE((*w)->Commit().ok());

  EXPECT_SAME_BYTES(Get(path), c1 + c2 + c3);
  auto st = d().Stat(path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, static_cast<int64_t>(3 * chunk));
}

TEST_P(StorageDriverConformance, AbandonedWriterKeepsWhatWasWritten) {
  {
    auto w = d().OpenWriter("/abandoned", false);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("abc", 3).ok());
  }  // destroyed without Commit, Cancel or Close: closed
  auto w = d().OpenWriter("/abandoned", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->Size(), 3);
  ASSERT_TRUE((*w)->Write("def", 3).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(Get("/abandoned"), "abcdef");
}

TEST_P(StorageDriverConformance, CancelRemovesTheObject) {
  auto w = d().OpenWriter("/cancel/me", false);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("partial", 7).ok());
  ASSERT_TRUE((*w)->Close().ok());
  w = d().OpenWriter("/cancel/me", true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Size(), 7);
  ASSERT_TRUE((*w)->Write("more", 4).ok());
  Status s = (*w)->Cancel();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectNotFound("/cancel/me");
  // A fresh writer starts from nothing.
  w = d().OpenWriter("/cancel/me", true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Size(), 0);
  ASSERT_TRUE((*w)->Cancel().ok());
}

TEST_P(StorageDriverConformance, WriterWithoutAppendReplaces) {
  Put("/replace", "old content that is long");
  auto w = d().OpenWriter("/replace", false);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Size(), 0);
  ASSERT_TRUE((*w)->Write("new", 3).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(Get("/replace"), "new");
}

TEST_P(StorageDriverConformance, ZeroByteWritesThenAppend) {
  auto w = d().OpenWriter("/zero", false);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Write("", 0).ok());
  EXPECT_EQ((*w)->Size(), 0);
  ASSERT_TRUE((*w)->Commit().ok());
  auto st = d().Stat("/zero");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, 0);
  EXPECT_FALSE(st->is_dir);
  EXPECT_EQ(Get("/zero"), "");
  EXPECT_EQ(ReadFrom("/zero", 0), "");

  w = d().OpenWriter("/zero", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->Size(), 0);
  ASSERT_TRUE((*w)->Write("abc", 3).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(Get("/zero"), "abc");

  // A writer that never writes still commits an empty object.
  w = d().OpenWriter("/zero2", false);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(Get("/zero2"), "");
}

TEST_P(StorageDriverConformance, EndedWriterRefusesFurtherUse) {
  auto w = d().OpenWriter("/ended", false);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("a", 1).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_FALSE((*w)->Write("b", 1).ok());
  EXPECT_FALSE((*w)->Commit().ok());
  EXPECT_FALSE((*w)->Close().ok());
  EXPECT_FALSE((*w)->Cancel().ok());
  EXPECT_EQ(Get("/ended"), "a");  // the failed Cancel removed nothing
}

// ---- Listing ---------------------------------------------------------------------------

TEST_P(StorageDriverConformance, ListDirectChildrenSortedAsFullPaths) {
  for (const char* p : {"/list/b/2", "/list/a", "/list/c/d/e", "/list/b/1", "/list/Z",
                        "/list/a.b", "/list.x"}) {
    Put(p, p);
  }
  EXPECT_THAT(ListOk("/list"),
              ElementsAre("/list/Z", "/list/a", "/list/a.b", "/list/b", "/list/c"));
  EXPECT_THAT(ListOk("/list/b"), ElementsAre("/list/b/1", "/list/b/2"));
  EXPECT_THAT(ListOk("/list/c"), ElementsAre("/list/c/d"));
  EXPECT_THAT(ListOk("/"), ElementsAre("/list", "/list.x"));
  auto missing = d().List("/list/nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
  auto no_root = d().List("/nope");
  EXPECT_EQ(no_root.status().code(), Code::kNotFound);
}

TEST_P(StorageDriverConformance, ListEmptyRoot) { EXPECT_THAT(ListOk("/"), IsEmpty()); }

TEST_P(StorageDriverConformance, ListManyChildren) {
  std::vector<std::string> want;
  for (int i = 0; i < 150; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/many/f%03d", i);
    want.push_back(name);
  }
  for (auto it = want.rbegin(); it != want.rend(); ++it) Put(*it, "x");
  EXPECT_THAT(ListOk("/many"), ElementsAreArray(want));
}

// ---- Move ------------------------------------------------------------------------------

TEST_P(StorageDriverConformance, Move) {
  std::string data = RandomBytes(32 * 1024, 11);
  Put("/move/src", data);
  ASSERT_TRUE(d().Move("/move/src", "/move/dst").ok());
  EXPECT_SAME_BYTES(Get("/move/dst"), data);
  ExpectNotFound("/move/src");
}

TEST_P(StorageDriverConformance, MoveOverwrites) {
  Put("/move/src", "new");
  Put("/move/dst", "old and longer");
  Status s = d().Move("/move/src", "/move/dst");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Get("/move/dst"), "new");
  ExpectNotFound("/move/src");
}

TEST_P(StorageDriverConformance, MoveNonexistentFailsAndKeepsDestination) {
  Put("/move/dst", "untouched");
  Status s = d().Move("/move/nope", "/move/dst");
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_EQ(Get("/move/dst"), "untouched");
  EXPECT_EQ(d().Move("/nope/deeper", "/elsewhere").code(), Code::kNotFound);
  ExpectNotFound("/elsewhere");
}

TEST_P(StorageDriverConformance, MoveIntoNewDirectories) {
  Put("/move/src", "payload");
  ASSERT_TRUE(d().Move("/move/src", "/move/x/y/z/dst").ok());
  EXPECT_EQ(Get("/move/x/y/z/dst"), "payload");
  ExpectNotFound("/move/src");
  EXPECT_THAT(ListOk("/move/x/y"), ElementsAre("/move/x/y/z"));
}

// ---- Delete ----------------------------------------------------------------------------

TEST_P(StorageDriverConformance, DeleteFile) {
  Put("/del/file", "x");
  Put("/del/other", "y");
  ASSERT_TRUE(d().Remove("/del/file").ok());
  ExpectNotFound("/del/file");
  EXPECT_EQ(Get("/del/other"), "y");
}

TEST_P(StorageDriverConformance, DeleteIsRecursive) {
  Put("/del/f1", "1");
  Put("/del/sub/f2", "2");
  Put("/del/sub/deeper/f3", "3");
  ASSERT_TRUE(d().Remove("/del/sub").ok());
  ExpectNotFound("/del/sub/f2");
  ExpectNotFound("/del/sub/deeper/f3");
  ExpectNotFound("/del/sub");
  EXPECT_EQ(Get("/del/f1"), "1");
  EXPECT_THAT(ListOk("/del"), ElementsAre("/del/f1"));
  ASSERT_TRUE(d().Remove("/del").ok());
  ExpectNotFound("/del/f1");
  ExpectNotFound("/del");
  EXPECT_THAT(ListOk("/"), IsEmpty());
}

TEST_P(StorageDriverConformance, DeleteOnlyDeletesSubpaths) {
  Put("/a/b/file", "1");
  Put("/a/bc/file", "2");
  Put("/a/b.x", "3");
  Put("/a/b-", "4");
  ASSERT_TRUE(d().Remove("/a/b").ok());
  ExpectNotFound("/a/b/file");
  EXPECT_EQ(Get("/a/bc/file"), "2");
  EXPECT_EQ(Get("/a/b.x"), "3");
  EXPECT_EQ(Get("/a/b-"), "4");
}

TEST_P(StorageDriverConformance, DeleteNonexistent) {
  EXPECT_EQ(d().Remove("/nope").code(), Code::kNotFound);
  Put("/exists/file", "x");
  EXPECT_EQ(d().Remove("/exists/nope").code(), Code::kNotFound);
  EXPECT_EQ(d().Remove("/").code(), Code::kInvalidArgument);  // never the whole store
  EXPECT_EQ(Get("/exists/file"), "x");
}

// ---- Stat ------------------------------------------------------------------------------

TEST_P(StorageDriverConformance, Stat) {
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t slack = int64_t{2} * 1000 * 1000 * 1000;  // coarse filesystem clocks
  int64_t before = now_ns();
  std::string data = RandomBytes(12345, 12);
  Put("/stat/dir/file", data);
  int64_t after = now_ns();

  auto file = d().Stat("/stat/dir/file");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->size, 12345);
  EXPECT_FALSE(file->is_dir);
  EXPECT_GE(file->mtime_unix_ns, before - slack);
  EXPECT_LE(file->mtime_unix_ns, after + slack);

  for (const char* dir : {"/stat", "/stat/dir"}) {
    auto st = d().Stat(dir);
    ASSERT_TRUE(st.ok()) << dir << ": " << st.status().ToString();
    EXPECT_TRUE(st->is_dir) << dir;
  }
  EXPECT_EQ(d().Stat("/stat/nope").status().code(), Code::kNotFound);
  EXPECT_EQ(d().Stat("/stat/dir/file/under-a-file").status().code(), Code::kNotFound);

  // Rewriting updates size and does not move mtime backwards.
  Put("/stat/dir/file", "tiny");
  auto again = d().Stat("/stat/dir/file");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size, 4);
  EXPECT_GE(again->mtime_unix_ns, file->mtime_unix_ns);
}

// ---- Walk ------------------------------------------------------------------------------

TEST_P(StorageDriverConformance, WalkVisitsDepthFirstInLexicalOrder) {
  for (const char* p : {"/walk/d", "/walk/b/c/3", "/walk/a/2", "/walk/a.x", "/walk/a/1"}) {
    Put(p, std::string(p) + "!");
  }
  auto visits = WalkAll("/walk", [](const std::string&) { return WalkAction::kContinue; });
  EXPECT_THAT(Paths(visits), ElementsAre("/walk/a", "/walk/a/1", "/walk/a/2", "/walk/a.x",
                                         "/walk/b", "/walk/b/c", "/walk/b/c/3", "/walk/d"));
  for (const auto& v : visits) {
    bool dir = v.path == "/walk/a" || v.path == "/walk/b" || v.path == "/walk/b/c";
    EXPECT_EQ(v.is_dir, dir) << v.path;
    if (!dir) {
      EXPECT_EQ(v.size, static_cast<int64_t>(v.path.size() + 1)) << v.path;
    }
  }
  // From the root, the starting directory itself is reported.
  auto from_root = WalkAll("/", [](const std::string&) { return WalkAction::kContinue; });
  ASSERT_FALSE(from_root.empty());
  EXPECT_EQ(from_root.front().path, "/walk");
  EXPECT_EQ(from_root.size(), visits.size() + 1);
}

TEST_P(StorageDriverConformance, WalkSkipDir) {
  for (const char* p : {"/walk/a/1", "/walk/a/2", "/walk/b/1", "/walk/c"}) Put(p, "x");
  auto visits = WalkAll("/walk", [](const std::string& p) {
    return p == "/walk/a" ? WalkAction::kSkipDir : WalkAction::kContinue;
  });
  EXPECT_THAT(Paths(visits), ElementsAre("/walk/a", "/walk/b", "/walk/b/1", "/walk/c"));
}

TEST_P(StorageDriverConformance, WalkStop) {
  for (const char* p : {"/walk/a/1", "/walk/a/2", "/walk/b/1", "/walk/c"}) Put(p, "x");
  int seen = 0;
  auto visits = WalkAll("/walk", [&](const std::string&) {
    return ++seen == 3 ? WalkAction::kStop : WalkAction::kContinue;
  });
  EXPECT_THAT(Paths(visits), ElementsAre("/walk/a", "/walk/a/1", "/walk/a/2"));
}

TEST_P(StorageDriverConformance, WalkNonexistent) {
  Status s = d().Walk("/nope", [](const std::string&, const FileInfo&) {
    ADD_FAILURE() << "callback on a nonexistent tree";
    return WalkAction::kContinue;
  });
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

// ---- Concurrency -------------------------------------------------------------------------

TEST_P(StorageDriverConformance, ConcurrentStreamReads) {
  const std::string data = RandomBytes(1024 * 1024, 13);
  Put("/concurrent/read", data);
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      for (int i = 0; i < 10; ++i) {
        int64_t offset = rng() % data.size();
        auto r = d().OpenReader("/concurrent/read", offset);
        std::string got;
        if (r.ok()) {
          std::vector<char> buf(4096);
          while (got.size() < 64 * 1024) {
            auto n = (*r)->Read(buf.data(), buf.size());
            if (!n.ok() || *n == 0) break;
            got.append(buf.data(), *n);
          }
        }
        std::string want = data.substr(offset, got.size());
        if (!r.ok() || got.empty() || got != want ||
            (got.size() < 64 * 1024 && offset + got.size() != data.size())) {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          errors.push_back("thread " + std::to_string(t) + " offset " + std::to_string(offset) +
                           (r.ok() ? ": wrong bytes" : ": " + r.status().ToString()));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_THAT(errors, IsEmpty());
}

TEST_P(StorageDriverConformance, ConcurrentWritersOnDifferentPaths) {
  constexpr int kThreads = 8;
  std::vector<std::string> contents;
  for (int t = 0; t < kThreads; ++t) contents.push_back(RandomBytes(300 * 1024 + t, 200 + t));
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const std::string& what, const Status& s) {
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back("thread " + std::to_string(t) + " " + what + ": " + s.ToString());
      };
      const std::string& data = contents[t];
      std::string path = "/concurrent/w" + std::to_string(t) + "/data";
      auto w = d().OpenWriter(path, false);
      if (!w.ok()) return fail("open", w.status());
      for (size_t pos = 0; pos < data.size(); pos += 7777) {
        Status s = (*w)->Write(data.data() + pos, std::min<size_t>(7777, data.size() - pos));
        if (!s.ok()) return fail("write", s);
        if (pos == 70000) {  // stop and resume half-way
          if (Status c = (*w)->Close(); !c.ok()) return fail("close", c);
          w = d().OpenWriter(path, true);
          if (!w.ok()) return fail("reopen", w.status());
        }
      }
      if (Status s = (*w)->Commit(); !s.ok()) return fail("commit", s);
      Status p = d().PutContent("/concurrent/small" + std::to_string(t), data.substr(0, 100));
      if (!p.ok()) fail("put", p);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(errors, IsEmpty());
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_SAME_BYTES(Get("/concurrent/w" + std::to_string(t) + "/data"), contents[t]);
    EXPECT_EQ(Get("/concurrent/small" + std::to_string(t)), contents[t].substr(0, 100));
  }
  EXPECT_EQ(ListOk("/concurrent").size(), 2u * kThreads);
}

// ---- Optional capabilities ---------------------------------------------------------------

TEST_P(StorageDriverConformance, OpenFd) {
  std::string data = RandomBytes(70000, 14);
  Put("/fd/object", data);
  if (!d().CanOpenFd()) {
    EXPECT_EQ(d().OpenFd("/fd/object").status().code(), Code::kUnsupported);
    return;
  }
  auto fd = d().OpenFd("/fd/object");
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  struct stat st;
  ASSERT_EQ(::fstat(*fd, &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(data.size()));
  std::string got(data.size(), '\0');
  ssize_t n = ::pread(*fd, got.data(), got.size(), 0);
  EXPECT_EQ(n, static_cast<ssize_t>(data.size()));
  EXPECT_SAME_BYTES(got, data);
  // Read-only: writing through it must fail.
  EXPECT_LT(::write(*fd, "x", 1), 0);
  ::close(*fd);
  EXPECT_EQ(d().OpenFd("/fd/nope").status().code(), Code::kNotFound);
}

TEST_P(StorageDriverConformance, RedirectUrlOnlyWithTheCapability) {
  Put("/redirect/object", "x");
  auto url = d().RedirectUrl("GET", "/redirect/object", 60);
  if (!(provider_->capabilities & BERTH_STORAGE_CAP_REDIRECT_URL)) {
    EXPECT_EQ(url.status().code(), Code::kUnsupported) << url.status().ToString();
  } else {
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    EXPECT_FALSE(url->empty());
  }
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) {
  std::string out;
  for (char c : info.param) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(Plugins, StorageDriverConformance,
                         ::testing::ValuesIn(StorageProviders()), ParamName);

}  // namespace
}  // namespace berth
