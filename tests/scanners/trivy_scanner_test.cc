// scanner-trivy loaded through PluginRegistry, scanning an image skopeo
// pushed into a real berthd, with tests/scanners/fake-trivy as the CLI.
#include <signal.h>
#include <sys/stat.h>

#include <set>

#include "scanner_test_util.h"

namespace berth::scantest {
namespace {

json TrivyConfig(const std::string& mode = "normal") {
  const json& e = Env();
  return {{"trivy_path", e["trivy"][mode]},
          {"cache_dir", e["cache_dir"]},
          {"work_dir", e["work_dir"]},
          {"timeout_seconds", 60}};
}

// Each run of the fake appends its argv and credential kind to this file.
std::string ArgsLog() { return Env()["work_dir"].get<std::string>() + "/trivy-args.jsonl"; }

json LastTrivyRun() {
  std::ifstream f(ArgsLog());
  std::string line, last;
  while (std::getline(f, line)) {
    if (!line.empty()) last = line;
  }
  return last.empty() ? json() : json::parse(last);
}

bool HasArg(const json& run, const std::string& a) {
  for (const auto& x : run["argv"]) {
    if (x == a) return true;
  }
  return false;
}
std::string ArgAfter(const json& run, const std::string& a) {
  const auto& v = run["argv"];
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] == a) return v[i + 1];
  }
  return "";
}

class TrivyTest : public ScannerTest {
 protected:
  void SetUp() override {
    ScannerTest::SetUp();
    if (!Env().is_null()) setenv("FAKE_TRIVY_ARGS_LOG", ArgsLog().c_str(), 1);
  }
  // Submits `q` and polls its report in `mime`.
  CallResult Scan(Scanner& s, const Request& q, const std::string& mime, int* retries = nullptr) {
    CallResult sub = s.Submit(q);
    EXPECT_EQ(sub.status, BERTH_OK) << sub.err;
    if (sub.status != BERTH_OK) return sub;
    return s.Poll(sub.out, mime, retries);
  }
};

// A process is gone: no /proc entry, or a zombie waiting for init.
bool ProcessGone(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  if (!f) return true;
  std::string stat;
  std::getline(f, stat);
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

TEST_F(TrivyTest, MetadataIsHarborsScannerAdapterMetadata) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Metadata();
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  json m = json::parse(r.out);
  EXPECT_EQ(m["scanner"], json({{"name", "Trivy"}, {"vendor", "Aqua Security"}, {"version", "0.56.2"}}));
  ASSERT_EQ(m["capabilities"].size(), 2u);
  EXPECT_EQ(m["capabilities"][0]["type"], "vulnerability");
  EXPECT_EQ(m["capabilities"][0]["consumes_mime_types"],
            json::array({"application/vnd.oci.image.manifest.v1+json",
                         "application/vnd.docker.distribution.manifest.v2+json"}));
  EXPECT_EQ(m["capabilities"][0]["produces_mime_types"][0], kVuln11);
  EXPECT_EQ(m["capabilities"][1]["type"], "sbom");
  EXPECT_EQ(m["capabilities"][1]["produces_mime_types"], json::array({kSbomReport}));
  EXPECT_EQ(m["capabilities"][1]["additional_attributes"]["sbom_media_types"],
            json::array({"application/spdx+json", "application/vnd.cyclonedx+json"}));
  json db = Fixture("db-metadata.json");
  EXPECT_EQ(m["properties"]["harbor.scanner-adapter/scanner-type"], "os-package-vulnerability");
  EXPECT_EQ(m["properties"]["harbor.scanner-adapter/vulnerability-database-updated-at"], db["UpdatedAt"]);
  EXPECT_EQ(m["properties"]["harbor.scanner-adapter/vulnerability-database-next-update-at"], db["NextUpdate"]);
  for (const auto& [k, v] : m["properties"].items()) EXPECT_TRUE(v.is_string()) << k;
}

TEST_F(TrivyTest, MetadataFailsClearlyWhenTheCliIsMissing) {
  REQUIRE_SCANNER_ENV();
  json cfg = TrivyConfig();
  cfg["trivy_path"] = "/nonexistent/trivy";
  Scanner s(reg_, "trivy", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Metadata();
  EXPECT_EQ(r.status, BERTH_E_IO);
  EXPECT_NE(r.err.find("/nonexistent/trivy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

// The whole report, field by field, against the fixture Trivy printed.
TEST_F(TrivyTest, FullScanMapsTrivysReportFieldByField) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  Request q = DefaultRequest();
  auto t0 = std::chrono::steady_clock::now();
  CallResult sub = s.Submit(q);
  ASSERT_EQ(sub.status, BERTH_OK) << sub.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << "submit_scan blocked";
  EXPECT_EQ(sub.out.size(), 36u) << sub.out;  // a UUID
  int retries = 0;
  CallResult r = s.Poll(sub.out, kVuln11, &retries);
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  EXPECT_GE(retries, 1) << "the first get_report should have been RETRY (the scan runs in the background)";
  json rep = json::parse(r.out);

  const json& e = Env();
  EXPECT_EQ(rep["artifact"], json({{"repository", e["repository"]}, {"digest", e["digest"]}, {"tag", "v1"},
                                   {"mime_type", "application/vnd.oci.image.manifest.v1+json"}}));
  EXPECT_EQ(rep["scanner"], json({{"name", "Trivy"}, {"vendor", "Aqua Security"}, {"version", "0.56.2"}}));
  EXPECT_EQ(rep["severity"], "Critical");
  ASSERT_TRUE(rep["generated_at"].is_string());
  EXPECT_EQ(rep["generated_at"].get<std::string>().back(), 'Z');

  // The fixture's two layers are the image's two layers, in order.
  std::map<std::string, json> layer_of = {
      {"sha256:1f7ce2fa46ab3942feabee654933948821303a5a821789dddab2d8c3df59e227",
       {{"digest", e["layers"][0]}, {"diff_id", e["diff_ids"][0]}}},
      {"sha256:8a0d2d6f7c1e4b3a9e5d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a61",
       {{"digest", e["layers"][1]}, {"diff_id", e["diff_ids"][1]}}}};
  static const std::map<std::string, std::string> kSev = {
      {"CRITICAL", "Critical"}, {"HIGH", "High"}, {"MEDIUM", "Medium"}, {"LOW", "Low"}, {"UNKNOWN", "Unknown"}};

  json fixture = Fixture("trivy-image.json");
  size_t expected = 0;
  std::set<std::string> severities, fixable, unfixable;
  for (const auto& result : fixture["Results"]) {
    for (const auto& f : result["Vulnerabilities"]) {
      ++expected;
      std::string id = f["VulnerabilityID"];
      SCOPED_TRACE(id);
      const json* item = nullptr;
      for (const auto& v : rep["vulnerabilities"]) {
        if (v["id"] == id && v["package"] == f["PkgName"]) item = &v;
      }
      ASSERT_NE(item, nullptr);
      const json& v = *item;
      EXPECT_EQ(v["version"], f["InstalledVersion"]);
      if (f.value("FixedVersion", "").empty()) {
        EXPECT_FALSE(v.contains("fix_version"));
        unfixable.insert(id);
      } else {
        EXPECT_EQ(v["fix_version"], f["FixedVersion"]);
        fixable.insert(id);
      }
      EXPECT_EQ(v["severity"], kSev.at(f["Severity"]));
      severities.insert(v["severity"]);
      std::string desc = f["Description"];
      EXPECT_EQ(v["description"], desc.empty() ? f["Title"] : f["Description"]);
      if (f.contains("PrimaryURL")) {
        EXPECT_EQ(v["links"], json::array({f["PrimaryURL"]}));
      } else {
        EXPECT_EQ(v["links"], f["References"]);
      }
      EXPECT_EQ(v["layer"], layer_of.at(f["Layer"]["Digest"]));
      if (f.contains("CweIDs")) {
        EXPECT_EQ(v["cwe_ids"], f["CweIDs"]);
      } else {
        EXPECT_FALSE(v.contains("cwe_ids"));
      }
      if (f.contains("CVSS")) {
        EXPECT_EQ(v["vendor_attributes"], json({{"CVSS", f["CVSS"]}}));
        const json& pref = f["CVSS"].contains("nvd") ? f["CVSS"]["nvd"] : f["CVSS"]["ghsa"];
        EXPECT_EQ(v["preferred_cvss"]["score_v3"], pref["V3Score"]);
        EXPECT_EQ(v["preferred_cvss"]["vector_v3"], pref["V3Vector"]);
        if (pref.contains("V2Score")) {
          EXPECT_EQ(v["preferred_cvss"]["score_v2"], pref["V2Score"]);
        }
      } else {
        EXPECT_FALSE(v.contains("vendor_attributes"));
        EXPECT_FALSE(v.contains("preferred_cvss"));
      }
      EXPECT_EQ(v["purl"], f["PkgIdentifier"]["PURL"]);
      EXPECT_EQ(v["status"], f["Status"]);
    }
  }
  EXPECT_EQ(rep["vulnerabilities"].size(), expected);
  EXPECT_EQ(expected, 10u);
  EXPECT_EQ(severities, (std::set<std::string>{"Unknown", "Low", "Medium", "High", "Critical"}));
  EXPECT_TRUE(fixable.count("CVE-2024-5535") && unfixable.count("CVE-2022-3715"));

  // Spot checks written out, so the loop above cannot share a mistake with the plugin.
  for (const auto& v : rep["vulnerabilities"]) {
    if (v["id"] == "CVE-2021-44906") {  // no NVD score: GHSA's; no PrimaryURL: References
      EXPECT_EQ(v["preferred_cvss"]["score_v3"], 9.8);
      EXPECT_EQ(v["links"].size(), 3u);
    }
    if (v["id"] == "CVE-2024-35195") {
      EXPECT_EQ(v["description"], "requests: subsequent requests to the same host ignore cert verification");
    }
    if (v["id"] == "CVE-2023-6246") {
      EXPECT_EQ(v["links"], json::array({"https://avd.aquasec.com/nvd/cve-2023-6246"}));
      EXPECT_EQ(v["cwe_ids"], json::array({"CWE-787", "CWE-122"}));
      EXPECT_EQ(v["preferred_cvss"], json({{"score_v3", 7.8},
                                           {"vector_v3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}}));
    }
  }

  // What the plugin asked Trivy: the image by digest on berthd, over plain
  // HTTP (--insecure), JSON, the cache, every severity, the Basic credential.
  json run = LastTrivyRun();
  ASSERT_FALSE(run.is_null());
  std::string host = e["registry_url"].get<std::string>().substr(7);
  EXPECT_EQ(run["argv"].back(), host + "/" + e["repository"].get<std::string>() + "@" + e["digest"].get<std::string>());
  EXPECT_EQ(run["argv"][0], "image");
  EXPECT_EQ(ArgAfter(run, "--format"), "json");
  EXPECT_EQ(ArgAfter(run, "--cache-dir"), e["cache_dir"]);
  EXPECT_EQ(ArgAfter(run, "--severity"), "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL");
  EXPECT_EQ(ArgAfter(run, "--timeout"), "60s");
  EXPECT_TRUE(HasArg(run, "--insecure"));
  EXPECT_FALSE(HasArg(run, "--skip-db-update"));
  EXPECT_FALSE(HasArg(run, "--ignore-unfixed"));
  EXPECT_EQ(run["auth"], "basic");
  EXPECT_EQ(run["username"], "admin");
  // berthd's own settings stay out of Trivy's environment.
  ASSERT_NE(std::getenv("BERTH_SCANNER_ENV"), nullptr);
  EXPECT_EQ(run["berth_env"], json::array());

  // The raw report is Trivy's own JSON.
  CallResult raw = s.Report(sub.out, "application/vnd.scanner.adapter.vuln.report.raw");
  ASSERT_EQ(raw.status, BERTH_OK) << raw.err;
  json rawj = json::parse(raw.out);
  EXPECT_EQ(rawj["SchemaVersion"], 2);
  EXPECT_EQ(rawj["ArtifactName"], run["argv"].back());
  EXPECT_EQ(rawj["Metadata"]["DiffIDs"], e["diff_ids"]);
  // The same report in the 1.0 MIME type.
  CallResult v10 = s.Report(sub.out, "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0");
  ASSERT_EQ(v10.status, BERTH_OK) << v10.err;
  EXPECT_EQ(json::parse(v10.out)["vulnerabilities"], rep["vulnerabilities"]);
}

TEST_F(TrivyTest, BearerCredentialGoesToTrivyAsRegistryToken) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  Request q = DefaultRequest();
  q.authorization = Env()["bearer_auth"];
  CallResult r = Scan(s, q, kVuln11);
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  EXPECT_EQ(json::parse(r.out)["vulnerabilities"].size(), 10u);
  json run = LastTrivyRun();
  EXPECT_EQ(run["auth"], "bearer");
  EXPECT_EQ(run["username"], "");
}

TEST_F(TrivyTest, RefusedPullFailsTheScanWithTrivysError) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  Request q = DefaultRequest();
  q.authorization = Env()["wrong_basic_auth"];
  CallResult r = Scan(s, q, kVuln11);
  EXPECT_EQ(r.status, BERTH_E_IO);
  EXPECT_NE(r.err.find("trivy exited with status 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("UNAUTHORIZED"), std::string::npos) << r.err;
}

TEST_F(TrivyTest, SeveritiesAndIgnoreUnfixedFilterAsTrivyDoes) {
  REQUIRE_SCANNER_ENV();
  json cfg = TrivyConfig();
  cfg["severities"] = {"HIGH", "CRITICAL"};
  cfg["ignore_unfixed"] = true;
  cfg["skip_db_update"] = true;
  cfg["offline_scan"] = true;
  cfg["skip_java_db_update"] = true;
  Scanner s(reg_, "trivy", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = Scan(s, DefaultRequest(), kVuln11);
  ASSERT_EQ(r.status, BERTH_OK) << r.err;
  std::set<std::string> ids;
  json rep = json::parse(r.out);
  for (const auto& v : rep["vulnerabilities"]) ids.insert(v["id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"CVE-2023-6246", "CVE-2024-5535", "CVE-2021-23337", "CVE-2021-44906"}));
  json run = LastTrivyRun();
  EXPECT_EQ(ArgAfter(run, "--severity"), "HIGH,CRITICAL");
  EXPECT_TRUE(HasArg(run, "--ignore-unfixed"));
  EXPECT_TRUE(HasArg(run, "--skip-db-update"));
  EXPECT_TRUE(HasArg(run, "--skip-java-db-update"));
  EXPECT_TRUE(HasArg(run, "--offline-scan"));
}

TEST_F(TrivyTest, SkipDbUpdateWithoutADatabaseIsRefusedAtSubmit) {
  REQUIRE_SCANNER_ENV();
  json cfg = TrivyConfig();
  cfg["cache_dir"] = Env()["empty_cache_dir"];
  cfg["skip_db_update"] = true;
  Scanner s(reg_, "trivy", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Submit(DefaultRequest());
  EXPECT_EQ(r.status, BERTH_E_CONFLICT);
  EXPECT_NE(r.err.find("holds no Trivy database"), std::string::npos) << r.err;
}

TEST_F(TrivyTest, AirGappedTrivyWithoutSkipDbUpdateFailsWithTheDownloadError) {
  REQUIRE_SCANNER_ENV();
  json cfg = TrivyConfig();
  cfg["cache_dir"] = Env()["empty_cache_dir"];
  Scanner s(reg_, "trivy", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = Scan(s, DefaultRequest(), kVuln11);
  EXPECT_EQ(r.status, BERTH_E_IO);
  EXPECT_NE(r.err.find("failed to download vulnerability DB"), std::string::npos) << r.err;
}

TEST_F(TrivyTest, SbomInSpdxAndCycloneDx) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  Request q = DefaultRequest();
  q.capabilities = json::array({{{"type", "sbom"},
                                 {"produces_mime_types", {kSbomReport}},
                                 {"parameters", {{"sbom_media_types", {"application/spdx+json",
                                                                        "application/vnd.cyclonedx+json"}}}}}})
                       .dump();
  CallResult sub = s.Submit(q);
  ASSERT_EQ(sub.status, BERTH_OK) << sub.err;
  CallResult spdx = s.Poll(sub.out, kSbomReport);
  ASSERT_EQ(spdx.status, BERTH_OK) << spdx.err;
  json rep = json::parse(spdx.out);
  const json& e = Env();
  std::string ref = e["registry_url"].get<std::string>().substr(7) + "/" + e["repository"].get<std::string>() +
                    "@" + e["digest"].get<std::string>();
  EXPECT_EQ(rep["media_type"], "application/spdx+json");
  EXPECT_EQ(rep["scanner"]["name"], "Trivy");
  EXPECT_EQ(rep["artifact"]["digest"], e["digest"]);
  EXPECT_EQ(rep["sbom"]["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(rep["sbom"]["name"], ref);
  EXPECT_EQ(rep["sbom"]["packages"].size(), Fixture("trivy-image.spdx.json")["packages"].size());

  CallResult cdx = s.Report(sub.out, std::string(kSbomReport) + "; sbom_media_type=application/vnd.cyclonedx+json");
  ASSERT_EQ(cdx.status, BERTH_OK) << cdx.err;
  json c = json::parse(cdx.out);
  EXPECT_EQ(c["media_type"], "application/vnd.cyclonedx+json");
  EXPECT_EQ(c["sbom"]["bomFormat"], "CycloneDX");
  EXPECT_EQ(c["sbom"]["metadata"]["component"]["name"], ref);
  EXPECT_EQ(c["sbom"]["components"].size(), Fixture("trivy-image.cdx.json")["components"].size());
  EXPECT_EQ(ArgAfter(LastTrivyRun(), "--format"), "cyclonedx");  // SPDX ran first, as asked

  // Only the SBOM was asked for.
  CallResult vuln = s.Report(sub.out, kVuln11);
  EXPECT_EQ(vuln.status, BERTH_E_INVALID_ARGUMENT);
  EXPECT_NE(vuln.err.find("no vulnerability report"), std::string::npos) << vuln.err;
}

TEST_F(TrivyTest, TimeoutKillsTheWholeProcessGroup) {
  REQUIRE_SCANNER_ENV();
  json cfg = TrivyConfig("slow");
  cfg["timeout_seconds"] = 2;
  std::string pidfile = Env()["work_dir"].get<std::string>() + "/slow.pid";
  setenv("FAKE_TRIVY_PIDFILE", pidfile.c_str(), 1);
  Scanner s(reg_, "trivy", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  auto t0 = std::chrono::steady_clock::now();
  CallResult sub = s.Submit(DefaultRequest());
  ASSERT_EQ(sub.status, BERTH_OK) << sub.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << "submit_scan blocked";
  CallResult r = s.Poll(sub.out, kVuln11);
  auto took = std::chrono::steady_clock::now() - t0;
  unsetenv("FAKE_TRIVY_PIDFILE");
  EXPECT_EQ(r.status, BERTH_E_DEADLINE_EXCEEDED);
  EXPECT_NE(r.err.find("did not finish within 2 s"), std::string::npos) << r.err;
  EXPECT_LT(took, std::chrono::seconds(10));
  int trivy_pid = 0, child_pid = 0;
  std::istringstream(ReadText(pidfile)) >> trivy_pid >> child_pid;
  ASSERT_GT(trivy_pid, 0);
  ASSERT_GT(child_pid, 0);
  for (int i = 0; i < 50 && !(ProcessGone(trivy_pid) && ProcessGone(child_pid)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(ProcessGone(trivy_pid)) << "trivy " << trivy_pid << " survived the timeout";
  EXPECT_TRUE(ProcessGone(child_pid)) << "trivy's child " << child_pid << " survived the timeout";
}

TEST_F(TrivyTest, MaxParallelScansQueuesTheRest) {
  REQUIRE_SCANNER_ENV();
  json cfg = TrivyConfig("slow");
  cfg["timeout_seconds"] = 1;
  cfg["max_parallel_scans"] = 1;
  Scanner s(reg_, "trivy", cfg);
  ASSERT_TRUE(s.ok()) << s.error();
  auto t0 = std::chrono::steady_clock::now();
  CallResult a = s.Submit(DefaultRequest()), b = s.Submit(DefaultRequest());
  ASSERT_EQ(a.status, BERTH_OK) << a.err;
  ASSERT_EQ(b.status, BERTH_OK) << b.err;
  EXPECT_NE(a.out, b.out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CallResult qb = s.Report(b.out, kVuln11);
  EXPECT_EQ(qb.status, BERTH_E_RETRY);
  EXPECT_NE(qb.err.find("is queued"), std::string::npos) << qb.err;  // one Trivy at a time
  EXPECT_EQ(s.Poll(a.out, kVuln11).status, BERTH_E_DEADLINE_EXCEEDED);
  EXPECT_EQ(s.Poll(b.out, kVuln11).status, BERTH_E_DEADLINE_EXCEEDED);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));  // one after the other
}

TEST_F(TrivyTest, CrashFailsThatScanWithTheSignal) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig("crash"));
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = Scan(s, DefaultRequest(), kVuln11);
  EXPECT_EQ(r.status, BERTH_E_IO);
  EXPECT_NE(r.err.find("killed by signal 11"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nil pointer dereference"), std::string::npos) << r.err;
  // The instance still scans afterwards (another instance, the normal CLI).
  Scanner ok(reg_, "trivy", TrivyConfig());
  EXPECT_EQ(Scan(ok, DefaultRequest(), kVuln11).status, BERTH_OK);
}

TEST_F(TrivyTest, GarbageOutputFailsThatScanClearly) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig("garbage"));
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = Scan(s, DefaultRequest(), kVuln11);
  EXPECT_EQ(r.status, BERTH_E_IO);
  EXPECT_NE(r.err.find("is not JSON"), std::string::npos) << r.err;
}

TEST_F(TrivyTest, UnknownIdsMimeTypesAndBadRequests) {
  REQUIRE_SCANNER_ENV();
  Scanner s(reg_, "trivy", TrivyConfig());
  ASSERT_TRUE(s.ok()) << s.error();
  CallResult r = s.Report("3fa85f64-5717-4562-b3fc-2c963f66afa6", kVuln11);
  EXPECT_EQ(r.status, BERTH_E_NOT_FOUND);
  r = s.Report("x", "application/json");
  EXPECT_EQ(r.status, BERTH_E_UNSUPPORTED);
  EXPECT_NE(r.err.find("unsupported report MIME type"), std::string::npos) << r.err;
  Request q = DefaultRequest();
  q.digest = "";
  EXPECT_EQ(s.Submit(q).status, BERTH_E_INVALID_ARGUMENT);
  q = DefaultRequest();
  q.mime_type = "application/vnd.oci.image.index.v1+json";
  EXPECT_EQ(s.Submit(q).status, BERTH_E_UNSUPPORTED);
  q = DefaultRequest();
  q.capabilities = R"([{"type":"licenses"}])";
  r = s.Submit(q);
  EXPECT_EQ(r.status, BERTH_E_INVALID_ARGUMENT);
  EXPECT_NE(r.err.find("unknown scan capability type 'licenses'"), std::string::npos) << r.err;
  q = DefaultRequest();
  q.authorization = "Digest abc";
  EXPECT_EQ(s.Submit(q).status, BERTH_E_INVALID_ARGUMENT);
}

TEST_F(TrivyTest, ConfigSchemaRefusesUnknownKeys) {
  REQUIRE_SCANNER_ENV();
  const berth_provider* p = reg_.FindProvider(BERTH_KIND_SCANNER, "trivy");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(reg_.ValidateConfig(p, R"({"trivy_path":"trivy","severity":"HIGH"})").ok());
  EXPECT_FALSE(reg_.ValidateConfig(p, R"({"timeout_seconds":0})").ok());
  EXPECT_FALSE(reg_.ValidateConfig(p, R"({"severities":["SEVERE"]})").ok());
  EXPECT_TRUE(reg_.ValidateConfig(p, TrivyConfig().dump()).ok());
}

}  // namespace
}  // namespace berth::scantest
