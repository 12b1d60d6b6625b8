// scanner-adapter loaded through PluginRegistry, talking to
// tests/scanners/adapter_server.py (Harbor's pluggable scanner API v1.2 and
// v1.1, validating every request against the spec), which scans the image in
// berthd with the Trivy CLI as harbor-scanner-trivy does.
#include <set>

#include "scanner_test_util.h"

namespace berth::scantest {
namespace {

#define REQUIRE_ADAPTERS()                                                             \
  REQUIRE_SCANNER_ENV();                                                               \
  if (!Env().contains("adapter_v12")) GTEST_SKIP() << "the scanner adapter specs are missing"

json AdapterConfig(const char* version = "1.2") {
  const json& e = Env();
  return {{"url", e[std::string("adapter_v") + (version[2] == '2' ? "12" : "11")]},
          {"spec_version", version},
          {"auth", "X-ScannerAdapter-API-Key"},
          {"access_credential", e["api_key"]},
          {"timeout_seconds", 10}};
}

json Record(const char* version) {
  return json::parse(ReadText(Env()["work_dir"].get<std::string>() + "/adapter-" + version + ".json"));
}

class AdapterTest : public ScannerTest {};

TEST_F(AdapterTest, MetadataComesFromTheAdapter) {
  REQUIRE_ADAPTERS();
  Scanner s(reg_, "adapter", AdapterConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Metadata();
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  json m = json::parse(r.out);
  EXPECT_EQ(m["scanner"], json({{"name", "Trivy"}, {"vendor", "Aqua Security"}, {"version", "0.56.2"}}));
  ASSERT_EQ(m["capabilities"].size(), 2u);
  EXPECT_EQ(m["capabilities"][1]["type"], "sbom");
}

TEST_F(AdapterTest, WrongApiKeyIsRefused) {
  REQUIRE_ADAPTERS();
  int before = Record("1.2")["auth_failures"];
  json cfg = AdapterConfig();
  cfg["access_credential"] = "not-the-key";
  Scanner s(reg_, "adapter", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Metadata();
  EXPECT_EQ(r.status, BERTH_E_UNAUTHENTICATED);
  EXPECT_NE(r.err.find("answered 401: invalid api key"), std::string::npos) << r.err;
  r = s.Submit(DefaultRequest());
  EXPECT_EQ(r.status, BERTH_E_UNAUTHENTICATED) << r.err;
  EXPECT_EQ(Record("1.2")["auth_failures"].get<int>(), before + 2);
  // Without any credential, too.
  json none = AdapterConfig();
  none.erase("auth");
  none.erase("access_credential");
  Scanner anon(reg_, "adapter", none);
  ASSERT_TRUE(anon.ok()) << anon.error();
  EXPECT_EQ(anon.Metadata().status, BERTH_E_UNAUTHENTICATED);
  // The key as a Bearer token is also accepted by this adapter.
  json bearer = AdapterConfig();
  bearer["auth"] = "Bearer";
  Scanner b(reg_, "adapter", bearer);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b.Metadata().status, BERTH_OK);
}

// A full scan through the adapter; its polling honours 302 + Refresh-After
// (v1.2 server) or Retry-After (v1.1 server).
void FullScan(ScannerTest* t, PluginRegistry& reg, const char* version) {
  Scanner s(reg, "adapter", AdapterConfig(version));
  ASSERT_TRUE(s.ok()) << s.error();
  int scans_before = Record(version)["scans"];
  CallResult sub = s.Submit(DefaultRequest());
  ASSERT_EQ(sub.status, BERTH_OK) << sub.err;
  CallResult first = s.Report(sub.out, kVuln11);
  EXPECT_EQ(first.status, BERTH_E_RETRY) << first.err;
  EXPECT_EQ(first.retry_after, 1) << "the adapter's Refresh-After/Retry-After: 1 was not honoured";
  int retries = 0;
  CallResult r = s.Poll(sub.out, kVuln11, &retries);
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  EXPECT_GE(retries + 1, 2) << "the adapter answers 302 to the first two polls";
  json rep = json::parse(r.out);
  const json& e = Env();
  EXPECT_EQ(rep["artifact"]["repository"], e["repository"]);
  EXPECT_EQ(rep["artifact"]["digest"], e["digest"]);
  EXPECT_EQ(rep["scanner"]["name"], "Trivy");
  EXPECT_EQ(rep["severity"], "Critical");
  std::set<std::string> ids, want;
  for (const auto& v : rep["vulnerabilities"]) ids.insert(v["id"].get<std::string>());
  json fixture = Fixture("trivy-image.json");
  for (const auto& res : fixture["Results"]) {
    for (const auto& v : res["Vulnerabilities"]) want.insert(v["VulnerabilityID"].get<std::string>());
  }
  EXPECT_EQ(ids, want);
  EXPECT_EQ(Record(version)["scans"].get<int>(), scans_before + 1);
  (void)t;
}

TEST_F(AdapterTest, FullScanV12WithRefreshAfterPolling) {
  REQUIRE_ADAPTERS();
  FullScan(this, reg_, "1.2");
}

TEST_F(AdapterTest, FullScanV11WithRetryAfterPolling) {
  REQUIRE_ADAPTERS();
  FullScan(this, reg_, "1.1");
}

// The adapter path and the in-process Trivy path agree on every field both
// harbor-scanner-trivy and Berth's mapping fill.
TEST_F(AdapterTest, AgreesWithTheTrivyPluginOnTheSameImage) {
  REQUIRE_ADAPTERS();
  Scanner a(reg_, "adapter", AdapterConfig());
  Scanner t(reg_, "trivy", {{"trivy_path", Env()["trivy"]["normal"]}, {"cache_dir", Env()["cache_dir"]},
                           {"work_dir", Env()["work_dir"]}});
  ASSERT_TRUE(a.ok() && t.ok()) << a.error() << t.error();
  Request q = DefaultRequest();
  q.authorization = Env()["bearer_auth"];  // the token path through the adapter too
  CallResult ra = a.Submit(q), rt = t.Submit(q);
  ASSERT_EQ(ra.status, BERTH_OK) << ra.err;
  ASSERT_EQ(rt.status, BERTH_OK) << rt.err;
  CallResult ja = a.Poll(ra.out, kVuln11), jt = t.Poll(rt.out, kVuln11);
  ASSERT_EQ(ja.status, BERTH_OK) << ja.err;
  ASSERT_EQ(jt.status, BERTH_OK) << jt.err;
  json va = json::parse(ja.out)["vulnerabilities"], vt = json::parse(jt.out)["vulnerabilities"];
  ASSERT_EQ(va.size(), vt.size());
  for (size_t i = 0; i < va.size(); ++i) {
    for (const char* k : {"id", "package", "version", "fix_version", "severity", "links", "layer", "cwe_ids",
                          "vendor_attributes", "status", "purl"}) {
      EXPECT_EQ(va[i].value(k, json()), vt[i].value(k, json())) << va[i]["id"] << " " << k;
    }
  }
}

TEST_F(AdapterTest, SbomThroughV12) {
  REQUIRE_ADAPTERS();
  Scanner s(reg_, "adapter", AdapterConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  Request q = DefaultRequest();
  // No produces_mime_types: the plugin fills what harbor-scanner-trivy requires.
  q.capabilities = R"([{"type":"sbom","parameters":{"sbom_media_types":["application/vnd.cyclonedx+json"]}}])";
  CallResult sub = s.Submit(q);
  ASSERT_EQ(sub.status, BERTH_OK) << sub.err;
  CallResult r = s.Poll(sub.out, kSbomReport);
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  json rep = json::parse(r.out);
  EXPECT_EQ(rep["media_type"], "application/vnd.cyclonedx+json");
  EXPECT_EQ(rep["sbom"]["bomFormat"], "CycloneDX");
  EXPECT_EQ(rep["artifact"]["digest"], Env()["digest"]);

  // v1.1 has no SBOMs: refused before anything is sent.
  Scanner old(reg_, "adapter", AdapterConfig("1.1"));
  ASSERT_TRUE(old.ok()) << old.error();
  CallResult o = old.Submit(q);
  EXPECT_EQ(o.status, BERTH_E_UNSUPPORTED);
  EXPECT_NE(o.err.find("1.2"), std::string::npos) << o.err;
}

TEST_F(AdapterTest, UnknownScanIdAndUnreachableAdapter) {
  REQUIRE_ADAPTERS();
  Scanner s(reg_, "adapter", AdapterConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Report("3fa85f64-5717-4562-b3fc-2c963f66afa6", kVuln11);
  EXPECT_EQ(r.status, BERTH_E_NOT_FOUND);
  EXPECT_NE(r.err.find("cannot find scan job"), std::string::npos) << r.err;
  json cfg = AdapterConfig();
  cfg["url"] = "http://127.0.0.1:1";
  Scanner dead(reg_, "adapter", cfg);
  ASSERT_TRUE(dead.ok()) << dead.error();
  CallResult d = dead.Metadata();
  EXPECT_EQ(d.status, BERTH_E_IO);
  EXPECT_NE(d.err.find("http://127.0.0.1:1"), std::string::npos) << d.err;
}

TEST_F(AdapterTest, ConfigIsChecked) {
  REQUIRE_ADAPTERS();
  const berth_provider* p = reg_.FindProvider(BERTH_KIND_SCANNER, "adapter");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(reg_.ValidateConfig(p, "{}").ok());                                 // url is required
  EXPECT_FALSE(reg_.ValidateConfig(p, R"({"url":"ftp://x"})").ok());               // http(s) only
  EXPECT_FALSE(reg_.ValidateConfig(p, R"({"url":"http://x","auth":"Digest"})").ok());
  EXPECT_FALSE(reg_.CreateInstance(p, R"({"url":"http://x","auth":"Bearer"})").ok());  // no credential
}

// Last in this file: every request the plugin sent so far followed the spec.
TEST_F(AdapterTest, ZZNoRequestBrokeTheSpec) {
  REQUIRE_ADAPTERS();
  for (const char* v : {"1.2", "1.1"}) {
    json rec = Record(v);
    EXPECT_GT(rec["requests"].get<int>(), 0) << v;
    EXPECT_EQ(rec["violations"], json::array()) << "spec v" << v << ": " << rec["violations"].dump(2);
  }
}

}  // namespace
}  // namespace berth::scantest
