// Shared by the scanner-plugin tests: the peers run_scanner_tests.py started
// (read from $BERTH_SCANNER_ENV), and a scanner instance loaded through
// berthd's PluginRegistry and driven through its C vtable.
#ifndef BERTH_TESTS_SCANNERS_SCANNER_TEST_UTIL_H_
#define BERTH_TESTS_SCANNERS_SCANNER_TEST_UTIL_H_

#include <berth/plugin.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "common/logger.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_registry.h"

namespace berth::scantest {

using json = nlohmann::json;

inline const json& Env() {
  static const json env = [] {
    const char* p = std::getenv("BERTH_SCANNER_ENV");
    if (p == nullptr) return json();
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return json::parse(ss.str());
  }();
  return env;
}

#define REQUIRE_SCANNER_ENV()                                                               \
  if (Env().is_null()) GTEST_SKIP() << "run through run_scanner_tests.py (BERTH_SCANNER_ENV unset)"

inline std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline json Fixture(const std::string& name) {
  return json::parse(ReadText(Env()["fixtures"].get<std::string>() + "/" + name));
}

// What one vtable call returned.
struct CallResult {
  berth_status status = BERTH_OK;
  std::string out;
  std::string err;
  int64_t retry_after = -1;
};

struct Collector {
  berth_sink sink{};
  std::string data;
  Collector() {
    sink.struct_size = sizeof sink;
    sink.ctx = this;
    sink.append = [](void* ctx, const void* d, size_t n) -> berth_status {
      static_cast<Collector*>(ctx)->data.append(static_cast<const char*>(d), n);
      return BERTH_OK;
    };
  }
};

inline berth_str S(const std::string& s) { return {s.data(), s.size()}; }

struct Request {
  std::string registry_url, authorization, repository, digest, tag, mime_type, capabilities;
};

inline Request DefaultRequest() {
  const json& e = Env();
  return {e["registry_url"], e["basic_auth"], e["repository"], e["digest"], e["tag"],
          "application/vnd.oci.image.manifest.v1+json", ""};
}

// One scanner instance of a loaded plugin.
class Scanner {
 public:
  Scanner(const PluginRegistry& reg, const char* provider, const json& config) {
    p_ = reg.FindProvider(BERTH_KIND_SCANNER, provider);
    if (p_ == nullptr) {
      error_ = std::string("no scanner provider ") + provider;
      return;
    }
    auto inst = reg.CreateInstance(p_, config.dump());
    if (!inst.ok()) {
      error_ = inst.status().message();
      return;
    }
    self_ = *inst;
    vt_ = static_cast<const berth_scanner_vtable*>(p_->vtable);
  }
  ~Scanner() {
    if (self_ != nullptr) p_->destroy(self_);
  }
  bool ok() const { return self_ != nullptr; }
  const std::string& error() const { return error_; }

  CallResult Metadata() {
    Collector out, err;
    CallResult r;
    r.status = vt_->get_metadata(self_, nullptr, &out.sink, &err.sink);
    r.out = out.data;
    r.err = err.data;
    return r;
  }
  CallResult Submit(const Request& q) {
    berth_scan_request req{};
    req.struct_size = sizeof req;
    req.registry_url = S(q.registry_url);
    req.registry_authorization = S(q.authorization);
    req.repository = S(q.repository);
    req.digest = S(q.digest);
    req.tag = S(q.tag);
    req.mime_type = S(q.mime_type);
    req.capabilities_json = S(q.capabilities);
    Collector out, err;
    CallResult r;
    r.status = vt_->submit_scan(self_, nullptr, &req, &out.sink, &err.sink);
    r.out = out.data;
    r.err = err.data;
    return r;
  }
  CallResult Report(const std::string& id, const std::string& mime) {
    Collector out, err;
    CallResult r;
    r.status = vt_->get_report(self_, nullptr, S(id), S(mime), &out.sink, &r.retry_after, &err.sink);
    r.out = out.data;
    r.err = err.data;
    return r;
  }
  // Polls as berthd does: sleeps the advised seconds (capped) while RETRY.
  CallResult Poll(const std::string& id, const std::string& mime, int* retries = nullptr,
                  std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int n = 0;
    for (;;) {
      CallResult r = Report(id, mime);
      if (r.status != BERTH_E_RETRY || std::chrono::steady_clock::now() > deadline) {
        if (retries != nullptr) *retries = n;
        return r;
      }
      ++n;
      EXPECT_GT(r.retry_after, 0) << "RETRY without retry_after_seconds";
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(r.retry_after, 2) * 250));
    }
  }

 private:
  const berth_provider* p_ = nullptr;
  const berth_scanner_vtable* vt_ = nullptr;
  void* self_ = nullptr;
  std::string error_;
};

// A PluginRegistry over the build's plugin directory, as berthd loads it.
class ScannerTest : public ::testing::Test {
 protected:
  std::FILE* devnull_ = std::fopen("/dev/null", "w");
  Logger log_{LogLevel::kError, devnull_};
  Metrics metrics_;
  HostServices host_{log_, metrics_};
  PluginRegistry reg_{host_.table()};

  void SetUp() override {
    if (Env().is_null()) return;
    Status s = reg_.LoadDirectories({Env()["plugin_dir"].get<std::string>()});
    ASSERT_TRUE(s.ok()) << s.message();
  }
  ~ScannerTest() override { std::fclose(devnull_); }
};

inline const char* kVuln11 = "application/vnd.security.vulnerability.report; version=1.1";
inline const char* kSbomReport = "application/vnd.security.sbom.report+json; version=1.0";

}  // namespace berth::scantest

#endif  // BERTH_TESTS_SCANNERS_SCANNER_TEST_UTIL_H_
