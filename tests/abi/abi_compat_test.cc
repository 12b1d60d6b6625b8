// A plugin compiled against the frozen ABI 1.0 header (tests/abi/v1_0) loads
// into the current host and does its job.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "common/logger.h"
#include "http/metrics.h"
#include "plugin/host_services.h"
#include "plugin/plugin_notifier.h"
#include "plugin/plugin_registry.h"

namespace berth {
namespace {

TEST(AbiCompatTest, PluginBuiltAgainstFrozenV1_0LoadsAndDelivers) {
  std::FILE* devnull = std::fopen("/dev/null", "w");
  Logger log(LogLevel::kError, devnull);
  Metrics metrics;
  HostServices host(log, metrics);
  PluginRegistry reg(host.table());
  ASSERT_TRUE(reg.LoadDirectories({std::string(BERTH_FIXTURE_ROOT) + "/frozen_v1_0"}).ok());
  ASSERT_EQ(reg.plugins().size(), 1u);
  EXPECT_EQ(reg.plugins()[0].abi_major, 1);
  EXPECT_EQ(reg.plugins()[0].abi_minor, 0);
  const berth_provider* p = reg.FindProvider(BERTH_KIND_NOTIFIER, "file");
  ASSERT_NE(p, nullptr);

  auto events = std::filesystem::temp_directory_path() /
                ("berth-abi-events-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(events);
  auto inst = reg.CreateInstance(p, "{\"path\":\"" + events.string() + "\"}");
  ASSERT_TRUE(inst.ok()) << inst.status().message();
  {
    PluginNotifier notifier(p, *inst);
    Delivery d;
    d.event_type = "PUSH_ARTIFACT";
    d.payload_format = "Default";
    d.payload = R"({"type":"PUSH_ARTIFACT"})";
    d.content_type = "application/json";
    d.address = "somewhere";
    ASSERT_TRUE(notifier.Deliver(d, NowUnixNanos() + 5'000'000'000LL).ok());
  }
  std::ifstream in(events);
  std::stringstream ss;
  ss << in.rdbuf();
  std::filesystem::remove(events);
  EXPECT_NE(ss.str().find(R"("event":"PUSH_ARTIFACT")"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find(R"("payload":{"type":"PUSH_ARTIFACT"})"), std::string::npos);
  std::fclose(devnull);
}

}  // namespace
}  // namespace berth
