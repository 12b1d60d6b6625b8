// The CVE export's store on SQLite and PostgreSQL: the executions' life
// (with the status of a job that ended without them), the artifact pages
// the export job walks (tags, labels, index children, keyset paging), the
// latest successful report of a digest and its findings rows with the
// columns only the export reads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/digest.h"
#include "store/job_store.h"
#include "store/label_store.h"
#include "store/registry_store.h"
#include "store/scan_export_store.h"
#include "store/scan_report_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

using testing_support::Dg;

class ScanExportStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    registry_ = std::make_unique<RegistryStore>(*db_);
    exports_ = std::make_unique<ScanExportStore>(*db_);
    reports_ = std::make_unique<ScanReportStore>(*db_);
  }

  void TearDown() override {
    reports_.reset();
    exports_.reset();
    registry_.reset();
    StoreTestBase::TearDown();
  }

  int64_t Push(const std::string& repo, const std::string& seed, const std::string& tag,
               std::vector<ManifestChild> children = {}) {
    NewManifest m;
    m.repository = repo;
    m.digest = Dg(seed);
    m.manifest_size = 100;
    if (children.empty()) {
      EXPECT_TRUE(registry_->LinkBlob(repo, Dg(seed + "-layer"), 10).ok());
      m.media_type = "application/vnd.oci.image.manifest.v1+json";
      m.blobs = {Dg(seed + "-layer")};
    } else {
      m.media_type = "application/vnd.oci.image.index.v1+json";
      m.children = std::move(children);
    }
    m.tag = tag;
    auto a = registry_->PutManifest(m);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->id : 0;
  }

  std::vector<ExportArtifact> All(int64_t repo_id, int64_t page) {
    std::vector<ExportArtifact> out;
    ExportArtifact after;
    for (int guard = 0; guard < 100; ++guard) {
      auto p = exports_->ArtifactsPage(repo_id, after, page);
      EXPECT_TRUE(p.ok()) << p.status().ToString();
      if (!p.ok() || p->empty()) break;
      EXPECT_LE(static_cast<int64_t>(p->size()), page);
      after = p->back();
      out.insert(out.end(), p->begin(), p->end());
    }
    return out;
  }

  std::unique_ptr<RegistryStore> registry_;
  std::unique_ptr<ScanExportStore> exports_;
  std::unique_ptr<ScanReportStore> reports_;
};

TEST_P(ScanExportStoreTest, ExecutionsLifeAndTheirJobs) {
  int64_t p = Project("proj");
  ScanExportRecord e;
  e.user_id = 7;
  e.user_name = "alice";
  e.job_name = "weekly";
  e.project_id = p;
  e.request_json = R"({"projects":[1]})";
  e.start_time = 1000;
  ASSERT_OK(exports_->Create(e));
  ASSERT_GT(e.id, 0);
  JobStore jobs(*db_);
  NewJob j;
  j.kind = "SCAN_DATA_EXPORT";
  auto job_id = jobs.Enqueue(j);
  ASSERT_OK(job_id.status());
  ASSERT_OK(exports_->SetJob(e.id, *job_id));

  auto got = exports_->Get(e.id);
  ASSERT_OK(got.status());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->user_name, "alice");
  EXPECT_EQ((*got)->job_name, "weekly");
  EXPECT_EQ((*got)->status, kExportRunning);
  EXPECT_EQ((*got)->job_status, "Pending");
  EXPECT_FALSE((*got)->file_present);

  // Running with a pending job: not old enough to purge, whatever its age.
  auto old = exports_->FinishedBefore(NowUnixMillis());
  ASSERT_OK(old.status());
  EXPECT_TRUE(old->empty());

  ScanExportRecord other = e;
  other.user_name = "bob";
  ASSERT_OK(exports_->Create(other));
  ScanExportRecord done = **got;
  done.status = kExportSuccess;
  done.end_time = 2000;
  done.file_path = "/system_artifacts/scandata/x.csv";
  done.file_digest = Dg("csv");
  done.file_size = 42;
  done.file_present = true;
  ASSERT_OK(exports_->Finish(done));
  got = exports_->Get(e.id);
  ASSERT_OK(got.status());
  EXPECT_EQ((*got)->status, kExportSuccess);
  EXPECT_EQ((*got)->file_size, 42);
  EXPECT_EQ((*got)->file_digest, Dg("csv"));
  EXPECT_TRUE((*got)->file_present);

  auto mine = exports_->OfUser("alice");
  ASSERT_OK(mine.status());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].id, e.id);
  auto of_project = exports_->OfProject(p);
  ASSERT_OK(of_project.status());
  EXPECT_EQ(of_project->size(), 2u);
  // bob's is Running without a job: a job that is gone counts as finished.
  old = exports_->FinishedBefore(1500);
  ASSERT_OK(old.status());
  EXPECT_EQ(old->size(), 2u);
  old = exports_->FinishedBefore(1000);
  ASSERT_OK(old.status());
  EXPECT_TRUE(old->empty());

  auto deleted = exports_->Delete(e.id);
  ASSERT_OK(deleted.status());
  EXPECT_TRUE(*deleted);
  deleted = exports_->Delete(e.id);
  ASSERT_OK(deleted.status());
  EXPECT_FALSE(*deleted);
  ScanExportRecord gone = e;
  EXPECT_EQ(exports_->Finish(gone).code(), Code::kNotFound);
}

TEST_P(ScanExportStoreTest, ArtifactPagesCarryTagsLabelsAndChildren) {
  int64_t p = Project("proj");
  Push("proj/app", "a1", "v1");
  int64_t a2 = Push("proj/app", "a2", "v2");
  Push("proj/app", "a3", "");
  Push("proj/app", "a4", "v4");
  Push("proj/app", "c1", "");
  Push("proj/app", "c2", "");
  Push("proj/app", "idx", "multi", {{Dg("c1"), "{}"}, {Dg("c2"), "{}"}});
  Push("proj/other", "o1", "latest");
  LabelStore labels(*db_);
  LabelRecord l;
  l.name = "hot";
  auto made = labels.Create(l);
  ASSERT_OK(made.status());
  ASSERT_OK(labels.AttachToArtifact(a2, made->id));

  auto repos = exports_->RepositoriesOf(p);
  ASSERT_OK(repos.status());
  ASSERT_EQ(repos->size(), 2u);
  EXPECT_EQ((*repos)[0].name, "proj/app");
  EXPECT_EQ((*repos)[1].name, "proj/other");

  // Pages of two: every top-level artifact once (the index's children are
  // not top level), in push order.
  auto all = All((*repos)[0].id, 2);
  std::vector<std::string> digests;
  for (const auto& a : all) digests.push_back(a.digest);
  EXPECT_EQ(digests, (std::vector<std::string>{Dg("a1"), Dg("a2"), Dg("a3"), Dg("a4"), Dg("idx")}));
  EXPECT_EQ(all[0].tags, std::vector<std::string>{"v1"});
  EXPECT_TRUE(all[2].tags.empty());
  EXPECT_EQ(all[1].label_ids, std::vector<int64_t>{made->id});
  EXPECT_TRUE(all[0].label_ids.empty());
  EXPECT_EQ(all[4].child_digests, (std::vector<std::string>{std::min(Dg("c1"), Dg("c2")),
                                                            std::max(Dg("c1"), Dg("c2"))}));
  EXPECT_EQ(All((*repos)[0].id, 100).size(), 5u);
}

TEST_P(ScanExportStoreTest, LatestReportAndItsFindingsInPages) {
  int64_t p = Project("proj");
  Push("proj/app", "a1", "v1");
  {
    auto tx = db_->Begin(true);
    ASSERT_OK(tx.status());
    for (const char* name : {"one", "two"}) {
      auto inserted = (*tx)->Exec("INSERT INTO scanner_registration (uuid, name, url, provider, "
                                  "creation_time, update_time) VALUES ($1, $2, 'plugin:x', 'x', 1, 1)",
                                  {SqlText(std::string("uuid-") + name), SqlText(std::string("Scanner ") + name)});
      ASSERT_OK(inserted.status());
    }
    ASSERT_OK((*tx)->Commit());
  }
  auto report = [&](const std::string& reg, int64_t end, int n, const std::string& status) {
    ScanReportRecord r;
    r.uuid = "r-" + reg + "-" + std::to_string(end);
    r.digest = Dg("a1");
    r.registration_uuid = "uuid-" + reg;
    r.mime_type = "application/vnd.security.vulnerability.report; version=1.1";
    r.scan_type = "vulnerability";
    r.project_id = p;
    r.repository = "proj/app";
    ASSERT_OK(reports_->Begin(r));
    r.status = status;
    r.end_time = end;
    std::vector<StoredFinding> findings;
    for (int i = 0; i < n; ++i) {
      StoredFinding f;
      f.finding.cve_id = "CVE-" + reg + "-" + std::to_string(i);
      f.finding.package = "pkg";
      f.finding.severity = Severity::kHigh;
      f.cvss_v3_x10 = 75;
      f.cvss_v2_x10 = 50;
      f.cvss_v3_vector = "CVSS:3.1/AV:N";
      f.cvss_v2_vector = "AV:N/AC:L";
      f.cwe_ids = "CWE-79,CWE-89";
      f.vendor_attributes_json = R"({"CVSS":{"nvd":{"V3Score":7.5}}})";
      findings.push_back(f);
    }
    ASSERT_OK(reports_->Finish(r, status == "Success" ? findings : std::vector<StoredFinding>{}));
  };
  auto none = exports_->LatestReport(Dg("a1"));
  ASSERT_OK(none.status());
  EXPECT_FALSE(none->has_value());
  report("one", 100, 5, "Success");
  report("two", 200, 3, "Error");  // later, but failed
  auto latest = exports_->LatestReport(Dg("a1"));
  ASSERT_OK(latest.status());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->scanner, "Scanner one");
  EXPECT_TRUE((*latest)->finding_details);
  EXPECT_EQ((*latest)->report, "");

  std::vector<std::string> cves;
  int64_t after = 0;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = exports_->FindingsPage((*latest)->id, after, 2);
    ASSERT_OK(page.status());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 2u);
    for (const auto& f : *page) {
      cves.push_back(f.f.finding.cve_id);
      EXPECT_EQ(f.f.cvss_v2_x10, 50);
      EXPECT_EQ(f.f.cvss_v3_vector, "CVSS:3.1/AV:N");
      EXPECT_EQ(f.f.cvss_v2_vector, "AV:N/AC:L");
      EXPECT_EQ(f.f.cwe_ids, "CWE-79,CWE-89");
      EXPECT_EQ(f.f.vendor_attributes_json, R"({"CVSS":{"nvd":{"V3Score":7.5}}})");
    }
    after = page->back().id;
  }
  EXPECT_EQ(cves, (std::vector<std::string>{"CVE-one-0", "CVE-one-1", "CVE-one-2", "CVE-one-3",
                                            "CVE-one-4"}));
  report("two", 300, 2, "Success");
  latest = exports_->LatestReport(Dg("a1"));
  ASSERT_OK(latest.status());
  EXPECT_EQ((*latest)->scanner, "Scanner two");
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanExportStoreTest,
                         testing::Values(store_test::Backend::kSqlite,
                                         store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
