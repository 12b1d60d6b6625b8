// Artifact additions: build_history from an image config, and the chart
// additions read from real `helm package` output (testdata/charts, see
// make_charts.sh there), plus hostile archives built here with libarchive.
#include "registry/artifact_additions.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "registry/chart_archive.h"

namespace berth {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(BERTH_TESTDATA_DIR) + "/charts/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << name;
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

Descriptor Desc(const std::string& media_type, const std::string& data) {
  Descriptor d;
  d.media_type = media_type;
  d.digest = Digest::Of(DigestAlgorithm::kSha256, data);
  d.size = static_cast<int64_t>(data.size());
  return d;
}

// A manifest plus the blobs its fetch serves.
struct Artifact {
  ParsedManifest manifest;
  std::map<std::string, std::string> blobs;
  int fetches = 0;
  BlobFetch Fetch() {
    return [this](const Descriptor& d) -> StatusOr<std::string> {
      ++fetches;
      auto it = blobs.find(d.digest.ToString());
      if (it == blobs.end()) return Status::NotFound("blob unknown", "NOT_FOUND");
      return it->second;
    };
  }
};

Artifact Chart(const std::string& tgz) {
  Artifact a;
  std::string config = R"({"name":"x","version":"1.0.0"})";
  a.manifest.media_type = "application/vnd.oci.image.manifest.v1+json";
  a.manifest.config = Desc(kHelmConfigMediaType, config);
  a.manifest.layers.push_back(Desc(kHelmChartLayerMediaType, tgz));
  a.blobs[a.manifest.config->digest.ToString()] = config;
  a.blobs[a.manifest.layers[0].digest.ToString()] = tgz;
  return a;
}

Artifact Image(const std::string& config) {
  Artifact a;
  a.manifest.media_type = "application/vnd.oci.image.manifest.v1+json";
  a.manifest.config = Desc("application/vnd.oci.image.config.v1+json", config);
  a.manifest.layers.push_back(Desc("application/vnd.oci.image.layer.v1.tar+gzip", "layer"));
  a.blobs[a.manifest.config->digest.ToString()] = config;
  return a;
}

StatusOr<Addition> Get(Artifact& a, const char* addition, const char* type) {
  auto kind = ParseAdditionKind(addition);
  EXPECT_TRUE(kind.ok()) << addition;
  return BuildAddition(*kind, type, a.manifest, a.Fetch());
}

la_ssize_t AppendTo(archive*, void* out, const void* data, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), n);
  return static_cast<la_ssize_t>(n);
}

// A gzip'd (or plain) tar of the given files, written with libarchive.
std::string MakeTar(const std::vector<std::pair<std::string, std::string>>& files,
                    bool gzip = true) {
  std::string out;
  archive* w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  if (gzip) archive_write_add_filter_gzip(w);
  EXPECT_EQ(archive_write_open(w, &out, nullptr, AppendTo, nullptr), ARCHIVE_OK);
  for (const auto& [name, data] : files) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    EXPECT_EQ(archive_write_header(w, e), ARCHIVE_OK) << archive_error_string(w);
    EXPECT_EQ(archive_write_data(w, data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
    archive_entry_free(e);
  }
  archive_write_close(w);
  archive_write_free(w);
  return out;
}

// ---- build_history ---------------------------------------------------------

TEST(BuildHistory, HarborsShapeFromTheConfig) {
  json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"history",
       {{{"created", "2024-05-01T10:00:00.123456789Z"},
         {"created_by", "/bin/sh -c #(nop) ADD file:abc in / "}},
        {{"created", "2024-05-01T10:00:01Z"},
         {"created_by", "/bin/sh -c #(nop)  CMD [\"sh\"]"},
         {"empty_layer", true},
         {"author", "Berth <berth@example.com>"},
         {"comment", "buildkit.dockerfile.v0"},
         {"unknown_member", 42}},
        {{"empty_layer", false}, {"created_by", ""}}}}};
  Artifact a = Image(config.dump());
  auto add = Get(a, "build_history", "IMAGE");
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_EQ(add->content_type, "application/json; charset=utf-8");
  // Go's member order (created, created_by, author, comment, empty_layer),
  // empty members omitted.
  EXPECT_EQ(add->body,
            R"([{"created":"2024-05-01T10:00:00.123456789Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "},)"
            R"({"created":"2024-05-01T10:00:01Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]",)"
            R"("author":"Berth <berth@example.com>","comment":"buildkit.dockerfile.v0","empty_layer":true},)"
            R"({}])");
}

TEST(BuildHistory, NoHistoryIsAnEmptyList) {
  Artifact a = Image(R"({"architecture":"arm64","os":"linux"})");
  auto add = Get(a, "build_history", "IMAGE");
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_EQ(add->body, "[]");
}

TEST(BuildHistory, BadConfigIsBadRequest) {
  for (const char* config : {"not json", "[1,2]", R"({"history":"x"})", R"({"history":[1]})"}) {
    Artifact a = Image(config);
    auto add = Get(a, "build_history", "IMAGE");
    ASSERT_FALSE(add.ok()) << config;
    EXPECT_EQ(add.status().code(), Code::kInvalidArgument) << config;
    EXPECT_EQ(add.status().api_code(), "BAD_REQUEST") << config;
  }
}

TEST(BuildHistory, FetchErrorsPassThrough) {
  Artifact a = Image("{}");
  a.blobs.clear();
  auto add = Get(a, "build_history", "IMAGE");
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.status().message(), "blob unknown");
}

// ---- which additions exist ----------------------------------------------------

TEST(Additions, ParseKnowsHarborsNamesOnly) {
  EXPECT_EQ(*ParseAdditionKind("build_history"), AdditionKind::kBuildHistory);
  EXPECT_EQ(*ParseAdditionKind("values.yaml"), AdditionKind::kValuesYaml);
  EXPECT_EQ(*ParseAdditionKind("readme.md"), AdditionKind::kReadme);
  EXPECT_EQ(*ParseAdditionKind("dependencies"), AdditionKind::kDependencies);
  for (const char* bad : {"", "BUILD_HISTORY", "README.md", "sbom", "vulnerabilities", "license"}) {
    auto k = ParseAdditionKind(bad);
    ASSERT_FALSE(k.ok()) << bad;
    EXPECT_EQ(k.status().code(), Code::kNotFound);
    EXPECT_EQ(k.status().api_code(), "NOT_FOUND");
  }
  for (auto k : {AdditionKind::kBuildHistory, AdditionKind::kValuesYaml, AdditionKind::kReadme,
                 AdditionKind::kDependencies}) {
    EXPECT_EQ(*ParseAdditionKind(AdditionName(k)), k);
  }
}

TEST(Additions, TypesWithoutTheAdditionAreNotFound) {
  Artifact image = Image("{}");
  Artifact chart = Chart(ReadFixture("berth-demo-0.3.0.tgz"));
  struct Case {
    Artifact* a;
    const char* addition;
    const char* type;
  } cases[] = {
      {&image, "values.yaml", "IMAGE"},   {&image, "readme.md", "IMAGE"},
      {&image, "dependencies", "IMAGE"},  {&chart, "build_history", "CHART"},
      {&image, "build_history", "CNAB"},  {&image, "build_history", "SIGNATURE"},
      {&image, "build_history", "SBOM"},  {&image, "build_history", "UNKNOWN"},
      {&chart, "values.yaml", "UNKNOWN"}, {&image, "build_history", "image"},
  };
  for (const auto& c : cases) {
    auto add = Get(*c.a, c.addition, c.type);
    ASSERT_FALSE(add.ok()) << c.addition << " " << c.type;
    EXPECT_EQ(add.status().code(), Code::kNotFound) << c.addition << " " << c.type;
    EXPECT_EQ(add.status().api_code(), "NOT_FOUND");
  }
  EXPECT_EQ(image.fetches + chart.fetches, 0) << "nothing is read for a missing addition";
}

TEST(Additions, AnIndexHasNone) {
  Artifact a;
  a.manifest.media_type = "application/vnd.oci.image.index.v1+json";
  a.manifest.is_index = true;
  auto add = Get(a, "build_history", "IMAGE");
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.status().code(), Code::kNotFound);
}

// ---- charts --------------------------------------------------------------------

TEST(ChartAdditions, ValuesAndReadmeOfAHelmPackagedChart) {
  Artifact a = Chart(ReadFixture("berth-demo-0.3.0.tgz"));
  auto values = Get(a, "values.yaml", "CHART");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->content_type, "text/plain; charset=utf-8");
  // `helm create`'s values, not the subchart's (charts/berth-sub/values.yaml).
  EXPECT_THAT(values->body, HasSubstr("replicaCount: 1"));
  EXPECT_THAT(values->body, HasSubstr("repository: nginx"));
  auto readme = Get(a, "readme.md", "CHART");
  ASSERT_TRUE(readme.ok()) << readme.status().ToString();
  EXPECT_EQ(readme->content_type, "text/markdown; charset=utf-8");
  EXPECT_EQ(readme->body, "# berth-demo\n\nA chart for Berth's addition tests.\n");
}

TEST(ChartAdditions, DependenciesFromChartYamlForApiV2) {
  Artifact a = Chart(ReadFixture("berth-demo-0.3.0.tgz"));
  auto deps = Get(a, "dependencies", "CHART");
  ASSERT_TRUE(deps.ok()) << deps.status().ToString();
  EXPECT_EQ(deps->content_type, "application/json; charset=utf-8");
  // Helm's chart.Dependency JSON: its member order, omitempty members.
  EXPECT_EQ(deps->body,
            R"([{"name":"berth-sub","version":"0.1.x","repository":"file://../berth-sub",)"
            R"("condition":"sub.enabled","tags":["backend","storage"],)"
            R"("import-values":[{"child":"exports.data","parent":"data"}],"alias":"store"}])");
}

TEST(ChartAdditions, DependenciesFromRequirementsYamlForApiV1) {
  Artifact a = Chart(ReadFixture("berth-legacy-1.0.0.tgz"));
  auto deps = Get(a, "dependencies", "CHART");
  ASSERT_TRUE(deps.ok()) << deps.status().ToString();
  EXPECT_EQ(deps->body,
            R"([{"name":"berth-sub","version":"0.1.0","repository":"https://charts.example.com/stable",)"
            R"("enabled":true}])");
  // readme.md in lower case is still the readme (Harbor compares upper-cased).
  auto readme = Get(a, "readme.md", "CHART");
  ASSERT_TRUE(readme.ok());
  EXPECT_EQ(readme->body, "legacy readme\n");
  EXPECT_EQ(Get(a, "values.yaml", "CHART")->body, "legacy: true\n");
}

TEST(ChartAdditions, MissingFilesAreEmpty) {
  std::string tgz = MakeTar({{"bare/Chart.yaml", "apiVersion: v2\nname: bare\nversion: 1.0.0\n"},
                             {"bare/templates/x.yaml", "kind: ConfigMap\n"}});
  Artifact a = Chart(tgz);
  EXPECT_EQ(Get(a, "values.yaml", "CHART")->body, "");
  EXPECT_EQ(Get(a, "readme.md", "CHART")->body, "");
  EXPECT_EQ(Get(a, "dependencies", "CHART")->body, "[]");
  // v1 without requirements.yaml: no dependencies either (Chart.yaml's ignored).
  Artifact v1 = Chart(MakeTar({{"old/Chart.yaml",
                                "name: old\nversion: 1.0.0\ndependencies:\n  - name: x\n"}}));
  EXPECT_EQ(Get(v1, "dependencies", "CHART")->body, "[]");
}

TEST(ChartAdditions, TheChartLayerIsFoundByMediaTypeAfterAProvenanceLayer) {
  Artifact a = Chart(ReadFixture("berth-legacy-1.0.0.tgz"));
  std::string prov = "-----BEGIN PGP SIGNED MESSAGE-----\n";
  Descriptor p = Desc("application/vnd.cncf.helm.chart.provenance.v1.prov", prov);
  a.blobs[p.digest.ToString()] = prov;
  a.manifest.layers.insert(a.manifest.layers.begin(), p);
  auto values = Get(a, "values.yaml", "CHART");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->body, "legacy: true\n");
}

TEST(ChartAdditions, NoLayerIsNotFound) {
  Artifact a = Chart("x");
  a.manifest.layers.clear();
  auto add = Get(a, "values.yaml", "CHART");
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.status().code(), Code::kNotFound);
}

void ExpectBadChart(const std::string& tgz, const std::string& why, const char* addition = "values.yaml") {
  Artifact a = Chart(tgz);
  auto add = Get(a, addition, "CHART");
  ASSERT_FALSE(add.ok()) << why;
  EXPECT_EQ(add.status().code(), Code::kInvalidArgument) << add.status().ToString();
  EXPECT_EQ(add.status().api_code(), "BAD_REQUEST");
  EXPECT_THAT(add.status().message(), HasSubstr(why));
}

TEST(ChartAdditions, MalformedArchivesAreRefused) {
  std::string good = ReadFixture("berth-demo-0.3.0.tgz");
  ExpectBadChart("", "cannot be read");
  ExpectBadChart("definitely not a tarball", "cannot be read");
  ExpectBadChart(good.substr(0, good.size() / 2), "cannot be read");  // truncated
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x55;
  ExpectBadChart(flipped, "cannot be read");
  ExpectBadChart(MakeTar({{"c/Chart.yaml", "name: c\n"}}, /*gzip=*/false), "not gzip-compressed");
  ExpectBadChart(MakeTar({{"c/values.yaml", "a: 1\n"}}), "Chart.yaml file is missing");
  ExpectBadChart(MakeTar({{"Chart.yaml", "name: c\n"}}), "outside the chart directory");
  ExpectBadChart(MakeTar({{"c/../../etc/Chart.yaml", "name: c\n"}}), "outside the chart directory");
  ExpectBadChart(MakeTar({{"c/Chart.yaml", "name: [unclosed\n"}}), "not valid YAML");
  ExpectBadChart(MakeTar({{"c/Chart.yaml", "- a list\n"}}), "not a mapping");
  ExpectBadChart(MakeTar({{"c/Chart.yaml", "apiVersion: v2\ndependencies: 3\n"}}),
                 "not a list", "dependencies");
  ExpectBadChart(MakeTar({{"c/Chart.yaml", "apiVersion: v1\n"},
                          {"c/requirements.yaml", "other: 1\n"}}),
                 "no dependencies found", "dependencies");
  ExpectBadChart(MakeTar({{"c/Chart.yaml", "apiVersion: v9\n"}}), "apiVersion", "dependencies");
}

TEST(ChartAdditions, ZipBombsStopAtTheCaps) {
  // 6 MiB of zeros gzip to a few KiB: over Helm's 5 MiB per file.
  std::string big(6 << 20, '\0');
  std::string bomb = MakeTar({{"c/Chart.yaml", "name: c\n"}, {"c/templates/big.yaml", big}});
  EXPECT_LT(bomb.size(), 64u << 10);
  ExpectBadChart(bomb, "larger than 5242880 bytes");
  // Many files under the per-file cap add up past the total.
  std::string four(4 << 20, 'a');
  std::vector<std::pair<std::string, std::string>> files = {{"c/Chart.yaml", "name: c\n"}};
  for (int i = 0; i < 26; ++i) files.push_back({"c/templates/f" + std::to_string(i), four});
  ExpectBadChart(MakeTar(files), "more than 104857600 bytes decompressed");
}

TEST(ChartAdditions, AliasBombsInDependenciesStopAtTheBudget) {
  // Each level repeats the previous alias ten times: 10^7 nodes once expanded.
  std::string chart = "apiVersion: v2\nname: boom\nversion: 1.0.0\nx0: &a0 [v, v, v, v, v, v, v, v, v, v]\n";
  for (int i = 1; i <= 6; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    chart += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) chart += (k ? ", " : "") + prev;
    chart += "]\n";
  }
  chart += "dependencies:\n  - name: boom\n    repository: x\n    import-values: [*a6]\n";
  ExpectBadChart(MakeTar({{"c/Chart.yaml", chart}}), "dependencies are too large", "dependencies");
}

TEST(ChartAdditions, SelfReferentialAliasesStop) {
  std::string chart =
      "apiVersion: v2\ndependencies:\n  - name: loop\n    import-values: &a [x, *a]\n";
  Artifact a = Chart(MakeTar({{"c/Chart.yaml", chart}}));
  auto add = Get(a, "dependencies", "CHART");
  // Whatever yaml-cpp makes of it (an error or a cycle), no crash and no hang.
  if (!add.ok()) {
    EXPECT_EQ(add.status().code(), Code::kInvalidArgument) << add.status().ToString();
  }
}

TEST(ChartArchive, LimitsAreConfigurable) {
  std::string tgz = ReadFixture("berth-demo-0.3.0.tgz");
  ASSERT_TRUE(ReadChartArchive(tgz).ok());
  ChartArchiveLimits few;
  few.max_entries = 3;
  EXPECT_THAT(ReadChartArchive(tgz, few).status().message(), HasSubstr("more than 3 entries"));
  ChartArchiveLimits small;
  small.max_file_bytes = 1000;  // values.yaml is ~4 KiB
  EXPECT_THAT(ReadChartArchive(tgz, small).status().message(), HasSubstr("larger than 1000"));
  ChartArchiveLimits total;
  total.max_total_bytes = 5000;
  EXPECT_THAT(ReadChartArchive(tgz, total).status().message(), HasSubstr("more than 5000 bytes"));
}

}  // namespace
}  // namespace berth
