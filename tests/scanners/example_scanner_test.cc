// plugins/examples/scanner-example, built out of tree against a staging
// install of the plugin-api-dev component (run_scanner_tests.py
// --example-build), loaded through PluginRegistry and scanning images in
// berthd.
#include <set>

#include "scanner_test_util.h"

namespace berth::scantest {
namespace {

class ExampleTest : public ::testing::Test {
 protected:
  std::FILE* devnull_ = std::fopen("/dev/null", "w");
  Logger log_{LogLevel::kError, devnull_};
  Metrics metrics_;
  HostServices host_{log_, metrics_};
  PluginRegistry reg_{host_.table()};
  ~ExampleTest() override { std::fclose(devnull_); }

  void SetUp() override {
    if (Env().is_null() || !Env().contains("example_plugin_dir")) return;
    Status s = reg_.LoadDirectories({Env()["example_plugin_dir"].get<std::string>()});
    ASSERT_TRUE(s.ok()) << s.message();
  }
};

#define REQUIRE_EXAMPLE()                                  \
  REQUIRE_SCANNER_ENV();                                   \
  if (!Env().contains("example_plugin_dir"))               \
  GTEST_SKIP() << "run_scanner_tests.py --example-build builds the example"

TEST_F(ExampleTest, TheOutOfTreeBuildIsAScannerPlugin) {
  REQUIRE_EXAMPLE();
  ASSERT_EQ(reg_.plugins().size(), 1u);
  EXPECT_EQ(reg_.plugins()[0].name, "scanner-example");
  Scanner s(reg_, "config-audit", json::object());
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult m = s.Metadata();
  ASSERT_EQ(m.status, BERTH_OK) << m.err;
  EXPECT_EQ(json::parse(m.out)["scanner"]["name"], "config-audit");
}

TEST_F(ExampleTest, AuditsTheImageConfigFromTheRegistry) {
  REQUIRE_EXAMPLE();
  Scanner s(reg_, "config-audit", {{"deny_list", Env()["example_deny_list"]}});
  ASSERT_TRUE(s.ok()) << s.error();
  Request q = DefaultRequest();
  q.repository = Env()["audit_repository"];
  q.digest = Env()["audit_digest"];
  CallResult sub = s.Submit(q);
  ASSERT_EQ(sub.status, BERTH_OK) << sub.err;
  CallResult r = s.Poll(sub.out, kVuln11);
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  json rep = json::parse(r.out);
  std::set<std::string> found;
  for (const auto& v : rep["vulnerabilities"]) found.insert(v["id"].get<std::string>() + " " + v["version"].get<std::string>());
  // GITHUB_TOKEN= has no value: not a finding.
  EXPECT_EQ(found, (std::set<std::string>{"EXAMPLE-ROOT-USER User=", "EXAMPLE-SECRET-ENV DB_PASSWORD",
                                          "EXAMPLE-DENIED | sh"}));
  EXPECT_EQ(rep["severity"], "High");
  EXPECT_EQ(rep["artifact"]["digest"], Env()["audit_digest"]);

  // The skopeo-pushed image: root user only (no Env, no denied step).
  CallResult sub2 = s.Submit(DefaultRequest());
  ASSERT_EQ(sub2.status, BERTH_OK) << sub2.err;
  CallResult r2 = s.Poll(sub2.out, kVuln11);
  ASSERT_EQ(r2.status, BERTH_OK) << r2.err;
  json rep2 = json::parse(r2.out);
  ASSERT_EQ(rep2["vulnerabilities"].size(), 1u) << rep2.dump();
  EXPECT_EQ(rep2["vulnerabilities"][0]["id"], "EXAMPLE-ROOT-USER");

  // A refused credential fails that scan clearly.
  Request bad = DefaultRequest();
  bad.authorization = Env()["wrong_basic_auth"];
  CallResult sub3 = s.Submit(bad);
  ASSERT_EQ(sub3.status, BERTH_OK) << sub3.err;
  CallResult r3 = s.Poll(sub3.out, kVuln11);
  EXPECT_EQ(r3.status, BERTH_E_IO);
  EXPECT_NE(r3.err.find("answered 401"), std::string::npos) << r3.err;
}

TEST_F(ExampleTest, MissingDenyListIsAConfigError) {
  REQUIRE_EXAMPLE();
  Scanner s(reg_, "config-audit", {{"deny_list", "/nonexistent/deny.txt"}});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error().find("cannot be read"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace berth::scantest
