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
