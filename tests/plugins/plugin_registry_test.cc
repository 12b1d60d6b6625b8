// The plugin loader against real plugin files: every refusal path, config
// validation, and the boundary's behaviour when a plugin misbehaves.
#include "plugin/plugin_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/logger.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_storage_driver.h"

namespace berth {
namespace {

std::string Fixture(const std::string& dir) { return std::string(BERTH_FIXTURE_ROOT) + "/" + dir; }

class PluginRegistryTest : public ::testing::Test {
 protected:
  std::FILE* devnull_ = std::fopen("/dev/null", "w");
  Logger log_{LogLevel::kError, devnull_};
  Metrics metrics_;
  HostServices host_{log_, metrics_};
  PluginRegistry reg_{host_.table()};
  ~PluginRegistryTest() override { std::fclose(devnull_); }

  // Loads one fixture directory and returns the refusal message ("" if loaded).
  std::string Refusal(const std::string& dir) {
    Status s = reg_.LoadDirectories({Fixture(dir)});
    return s.ok() ? "" : s.message();
  }
};

TEST_F(PluginRegistryTest, LoadsTheInTreePlugins) {
  ASSERT_TRUE(reg_.LoadDirectories({BERTH_PLUGIN_DIR}).ok());
  EXPECT_NE(reg_.FindProvider(BERTH_KIND_STORAGE, "fs"), nullptr);
  EXPECT_NE(reg_.FindProvider(BERTH_KIND_NOTIFIER, "http"), nullptr);
  EXPECT_NE(reg_.FindProvider(BERTH_KIND_NOTIFIER, "slack"), nullptr);
  EXPECT_NE(reg_.FindProvider(BERTH_KIND_PREHEAT, "dragonfly"), nullptr);
  EXPECT_NE(reg_.FindProvider(BERTH_KIND_PREHEAT, "kraken"), nullptr);
  EXPECT_EQ(reg_.FindProvider(BERTH_KIND_STORAGE, "http"), nullptr);  // kind matters
  EXPECT_TRUE(reg_.refused().empty());
}

TEST_F(PluginRegistryTest, RefusesAFileThatIsNotASharedObject) {
  std::string m = Refusal("garbage");
  EXPECT_NE(m.find("garbage.so"), std::string::npos) << m;
  EXPECT_NE(m.find("not a Berth plugin"), std::string::npos) << m;
  ASSERT_EQ(reg_.refused().size(), 1u);
}

TEST_F(PluginRegistryTest, RefusesASharedObjectWithoutTheEntrySymbol) {
  std::string m = Refusal("not_a_plugin");
  EXPECT_NE(m.find("no berth_plugin_entry symbol"), std::string::npos) << m;
}

TEST_F(PluginRegistryTest, RefusesAnAbiMajorMismatch) {
  std::string m = Refusal("abi_major");
  EXPECT_NE(m.find("ABI major mismatch"), std::string::npos) << m;
  EXPECT_NE(m.find("built for ABI 2.0"), std::string::npos) << m;
}

TEST_F(PluginRegistryTest, RefusesAPluginBuiltForANewerMinor) {
  std::string m = Refusal("abi_newer_minor");
  EXPECT_NE(m.find("newer ABI"), std::string::npos) << m;
  EXPECT_NE(m.find("upgrade berthd"), std::string::npos) << m;
  EXPECT_EQ(reg_.FindProvider(BERTH_KIND_NOTIFIER, "newer"), nullptr);
}

TEST_F(PluginRegistryTest, RefusesADuplicateProviderName) {
  std::string m = Refusal("dup");
  EXPECT_NE(m.find("duplicate notifier provider 'dup'"), std::string::npos) << m;
  EXPECT_NE(m.find("dup_provider_1.so"), std::string::npos) << m;  // names the first owner
  // The first one stays usable; the second file was refused.
  EXPECT_NE(reg_.FindProvider(BERTH_KIND_NOTIFIER, "dup"), nullptr);
  EXPECT_EQ(reg_.plugins().size(), 1u);
}

TEST_F(PluginRegistryTest, RefusesATruncatedDescriptor) {
  EXPECT_NE(Refusal("truncated").find("truncated plugin descriptor"), std::string::npos);
}

TEST_F(PluginRegistryTest, RefusesAVtableMissingARequiredOperation) {
  std::string m = Refusal("missing_slot");
  EXPECT_NE(m.find("provider 'holes'"), std::string::npos) << m;
  EXPECT_NE(m.find("lacks a required operation"), std::string::npos) << m;
}

TEST_F(PluginRegistryTest, RefusesAWorldWritableDirectory) {
  auto dir = std::filesystem::temp_directory_path() / ("berth-ww-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::all);
  Status s = reg_.LoadDirectories({dir.string()});
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("world-writable"), std::string::npos) << s.message();
}

TEST_F(PluginRegistryTest, ValidatesConfigAgainstTheProviderSchemaBeforeCreate) {
  ASSERT_TRUE(reg_.LoadDirectories({Fixture("strict")}).ok());
  const berth_provider* p = reg_.FindProvider(BERTH_KIND_NOTIFIER, "strict");
  ASSERT_NE(p, nullptr);
  auto missing = reg_.CreateInstance(p, "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'target' is required"), std::string::npos)
      << missing.status().message();
  auto wrong_type = reg_.CreateInstance(p, R"({"target": 5})");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("config.target: expected string"),
            std::string::npos)
      << wrong_type.status().message();
  auto extra = reg_.CreateInstance(p, R"({"target": "x", "tagret": "y"})");
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("unknown key 'tagret'"), std::string::npos);
  auto ok = reg_.CreateInstance(p, R"({"target": "x"})");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  p->destroy(*ok);
}

TEST_F(PluginRegistryTest, ReportsInitFailureWithThePluginsMessage) {
  ASSERT_TRUE(reg_.LoadDirectories({Fixture("initfail")}).ok());
  const berth_provider* p = reg_.FindProvider(BERTH_KIND_NOTIFIER, "initfail");
  ASSERT_NE(p, nullptr);
  auto inst = reg_.CreateInstance(p, "{}");
  ASSERT_FALSE(inst.ok());
  EXPECT_NE(inst.status().message().find("failed to initialise"), std::string::npos);
  EXPECT_NE(inst.status().message().find("mq.invalid:5672"), std::string::npos);
}

TEST_F(PluginRegistryTest, InspectReadsTheDescriptorWithoutCreatingAnything) {
  auto info = PluginRegistry::Inspect(std::string(BERTH_PLUGIN_DIR) + "/storage-fs.so");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->name, "storage-fs");
  EXPECT_EQ(info->abi_major, BERTH_ABI_MAJOR);
  ASSERT_EQ(info->providers.size(), 1u);
  EXPECT_EQ(info->providers[0].kind, BERTH_KIND_STORAGE);
  EXPECT_NE(info->providers[0].config_schema_json.find("\"root\""), std::string::npos);
  auto bad = PluginRegistry::Inspect(Fixture("abi_major") + "/abi_major.so");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ABI major mismatch"), std::string::npos);
}

// The boundary when a plugin misbehaves: errors, exceptions and slowness come
// back as statuses, and the driver keeps working afterwards.
class FaultyStorageTest : public PluginRegistryTest {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("berth-faulty-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    ASSERT_TRUE(reg_.LoadDirectories({Fixture("faulty")}).ok());
    const berth_provider* p = reg_.FindProvider(BERTH_KIND_STORAGE, "faulty");
    ASSERT_NE(p, nullptr);
    auto inst = reg_.CreateInstance(p, "{\"root\":\"" + root_.string() + "\"}");
    ASSERT_TRUE(inst.ok()) << inst.status().message();
    driver_ = std::make_unique<PluginStorageDriver>(p, *inst, &log_, 500);
    ASSERT_TRUE(driver_->PutContent("/obj", "hello").ok());
  }
  void TearDown() override {
    driver_.reset();
    std::filesystem::remove_all(root_);
  }
  void SetFault(const std::string& mode) { std::ofstream(root_ / "fault") << mode; }

  std::filesystem::path root_;
  std::unique_ptr<StorageDriver> driver_;
};

TEST_F(FaultyStorageTest, ReturnedErrorsBecomeStatuses) {
  SetFault("error");
  std::string out;
  Status s = driver_->GetContent("/obj", &out);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find("injected storage failure"), std::string::npos) << s.message();
  SetFault("none");
  EXPECT_TRUE(driver_->GetContent("/obj", &out).ok());
  EXPECT_EQ(out, "hello");
}

TEST_F(FaultyStorageTest, ExceptionsNeverCrossTheBoundary) {
  SetFault("throw");
  auto r = driver_->OpenReader("/obj", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("injected exception"), std::string::npos);
  SetFault("none");
  EXPECT_TRUE(driver_->OpenReader("/obj", 0).ok());
}

TEST_F(FaultyStorageTest, AMissedDeadlineIsAnError) {
  SetFault("slow");
  std::string out;
  Status s = driver_->GetContent("/obj", &out);
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
  EXPECT_NE(s.message().find("missed the deadline"), std::string::npos) << s.message();
  SetFault("none");
  EXPECT_TRUE(driver_->GetContent("/obj", &out).ok());
}

TEST_F(FaultyStorageTest, PathsAreCheckedBeforeThePluginSeesThem) {
  std::string out;
  EXPECT_EQ(driver_->GetContent("/../etc/passwd", &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(driver_->PutContent("relative", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(driver_->Remove("/").code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth

namespace berth {
namespace {

// storage-fs through berthd's adapter, with a log file to read back: the
// call context (request id, cancellation) reaching the plugin's streams.
class StorageFsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("berth-fsctx-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    log_file_ = std::tmpfile();
    log_ = std::make_unique<Logger>(LogLevel::kInfo, log_file_);
    host_ = std::make_unique<HostServices>(*log_, metrics_);
    reg_ = std::make_unique<PluginRegistry>(host_->table());
    ASSERT_TRUE(reg_->LoadDirectories({BERTH_PLUGIN_DIR}).ok());
    const berth_provider* p = reg_->FindProvider(BERTH_KIND_STORAGE, "fs");
    ASSERT_NE(p, nullptr);
    auto inst = reg_->CreateInstance(p, "{\"root\":\"" + root_.string() + "\"}");
    ASSERT_TRUE(inst.ok()) << inst.status().message();
    driver_ = std::make_unique<PluginStorageDriver>(p, *inst, log_.get(), 5000);
    ctx_.request_id = "req-ctx-test-1";
    ctx_.cancellation = std::make_shared<Cancellation>();
  }
  void TearDown() override {
    driver_.reset();
    std::filesystem::remove_all(root_);
    std::fclose(log_file_);
  }
  std::string LogText() {
    std::fflush(log_file_);
    std::rewind(log_file_);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, log_file_)) > 0) out.append(buf, n);
    return out;
  }

  std::filesystem::path root_;
  std::FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;
  Metrics metrics_;
  std::unique_ptr<HostServices> host_;
  std::unique_ptr<PluginRegistry> reg_;
  std::unique_ptr<PluginStorageDriver> driver_;
  CallContext ctx_;
};

TEST_F(StorageFsContextTest, TheVtableHasTheContextStreams) {
  const berth_provider* p = reg_->FindProvider(BERTH_KIND_STORAGE, "fs");
  EXPECT_TRUE(StorageHasStreamsV2(static_cast<const berth_storage_vtable*>(p->vtable)));
}

TEST_F(StorageFsContextTest, ACancelledContextStopsALongRead) {
  const size_t size = 8 << 20;
  ASSERT_TRUE(driver_->PutContent(ctx_, "/big", std::string(size, 'x')).ok());
  auto r = driver_->OpenReader(ctx_, "/big", 0);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<char> buf(64 << 10);
  size_t total = 0;
  auto first = (*r)->Read(buf.data(), buf.size());
  ASSERT_TRUE(first.ok());
  total += *first;
  ctx_.cancellation->Cancel();  // the client went away
  StatusOr<size_t> next = (*r)->Read(buf.data(), buf.size());
  while (next.ok() && *next > 0) {
    total += *next;
    next = (*r)->Read(buf.data(), buf.size());
  }
  ASSERT_FALSE(next.ok()) << "read to the end despite the cancellation";
  EXPECT_NE(next.status().message().find("cancelled"), std::string::npos)
      << next.status().message();
  EXPECT_LT(total, size);
  r->reset();
  // The plugin's own log line names the request it was working for.
  std::string log = LogText();
  size_t at = log.find("storage-fs: read of");
  ASSERT_NE(at, std::string::npos) << log;
  size_t line_end = log.find('\n', at);
  size_t line_start = log.rfind('\n', at);
  std::string line = log.substr(line_start == std::string::npos ? 0 : line_start + 1,
                                line_end - (line_start == std::string::npos ? 0 : line_start + 1));
  EXPECT_NE(line.find("\"request_id\":\"req-ctx-test-1\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"source\":\"plugin\""), std::string::npos) << line;
}

TEST_F(StorageFsContextTest, ACancelledContextStopsAnUploadAndItIsNotCommitted) {
  auto w = driver_->OpenWriter(ctx_, "/upload", false);
  ASSERT_TRUE(w.ok()) << w.status().message();
  std::string chunk(1 << 20, 'y');
  ASSERT_TRUE((*w)->Write(chunk.data(), chunk.size()).ok());
  EXPECT_EQ((*w)->Size(), static_cast<int64_t>(chunk.size()));
  ctx_.cancellation->Cancel();
  Status s = (*w)->Write(chunk.data(), chunk.size());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cancelled"), std::string::npos) << s.message();
  Status c = (*w)->Commit();
  EXPECT_FALSE(c.ok()) << "committed a cancelled upload";
  EXPECT_NE(c.message().find("cancelled"), std::string::npos) << c.message();
  // Only the bytes before the cancellation were written.
  CallContext fresh;
  auto st = driver_->Stat(fresh, "/upload");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, static_cast<int64_t>(chunk.size()));
  EXPECT_NE(LogText().find("\"request_id\":\"req-ctx-test-1\""), std::string::npos);
}

TEST_F(StorageFsContextTest, CallsAreCountedOnMetrics) {
  ASSERT_TRUE(driver_->PutContent(ctx_, "/m", "abc").ok());
  std::string text;
  PluginCaller::AppendMetrics(&text);
  EXPECT_NE(text.find("berth_host_plugin_calls_total{kind=\"storage\",provider=\"fs\",slot=\"put_content\"}"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace berth
