#include "registry/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/json_depth.h"
#include "registry/media_types.h"

namespace berth {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Hex(char c) { return std::string(64, c); }
std::string Dg(char c) { return "sha256:" + Hex(c); }

json Desc(const std::string& media_type, char digest_char, int64_t size) {
  return {{"mediaType", media_type}, {"digest", Dg(digest_char)}, {"size", size}};
}

constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";

json OciImage() {
  return {{"schemaVersion", 2},
          {"mediaType", media_types::kOciManifest},
          {"config", Desc(kConfigType, 'c', 100)},
          {"layers", json::array({Desc(kLayerType, '1', 1000), Desc(kLayerType, '2', 2000)})}};
}

json OciIndex() {
  json m1 = Desc(media_types::kOciManifest, 'a', 500);
  m1["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  json m2 = Desc(media_types::kOciManifest, 'b', 600);
  return {{"schemaVersion", 2},
          {"mediaType", media_types::kOciIndex},
          {"manifests", json::array({m1, m2})}};
}

StatusOr<ParsedManifest> Parse(const json& j, const std::string& ct) {
  return ParseManifest(j.dump(), ct);
}

std::string ErrorOf(const json& j, const std::string& ct = media_types::kOciManifest) {
  auto m = Parse(j, ct);
  if (m.ok()) return "<accepted>";
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(m.status().api_code(), "MANIFEST_INVALID");
  return m.status().message();
}

TEST(ParseManifest, OciImageManifest) {
  auto m = Parse(OciImage(), media_types::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kOciManifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config.has_value());
  EXPECT_EQ(m->config->media_type, kConfigType);
  EXPECT_EQ(m->config->digest.ToString(), Dg('c'));
  EXPECT_EQ(m->config->size, 100);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].digest.ToString(), Dg('2'));
  EXPECT_EQ(m->layers[1].size, 2000);
  EXPECT_THAT(m->manifests, IsEmpty());
  EXPECT_FALSE(m->subject.has_value());
  EXPECT_EQ(m->artifact_type, kConfigType);  // the config's media type
  EXPECT_EQ(m->annotations_json, "");
  EXPECT_THAT(m->RequiredBlobs(), ElementsAre(Dg('c'), Dg('1'), Dg('2')));
}

TEST(ParseManifest, OciImageWithoutLayersIsAllowed) {
  json j = OciImage();
  j.erase("layers");
  auto m = Parse(j, media_types::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_THAT(m->RequiredBlobs(), ElementsAre(Dg('c')));
}

TEST(ParseManifest, MediaTypeFromContentTypeWhenTheFieldIsAbsent) {
  json j = OciImage();
  j.erase("mediaType");
  auto m = Parse(j, std::string(media_types::kOciManifest) + "; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kOciManifest);

  json d = OciImage();
  d.erase("mediaType");
  m = Parse(d, "Application/VND.Docker.Distribution.Manifest.V2+JSON");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kDockerManifest);
}

TEST(ParseManifest, GuessesFromTheBodyWhenNeitherSaysWhatItIs) {
  json img = OciImage();
  img.erase("mediaType");
  auto m = Parse(img, "application/json");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kOciManifest);

  json idx = OciIndex();
  idx.erase("mediaType");
  m = Parse(idx, "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kOciIndex);
  EXPECT_TRUE(m->is_index);
}

TEST(ParseManifest, DockerSchema2Manifest) {
  json j = {{"schemaVersion", 2},
            {"mediaType", media_types::kDockerManifest},
            {"config", Desc(kDockerConfig, 'c', 10)},
            {"layers", json::array({Desc(kDockerLayer, '1', 20)})}};
  auto m = Parse(j, media_types::kDockerManifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kDockerManifest);
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->artifact_type, kDockerConfig);
  EXPECT_THAT(m->RequiredBlobs(), ElementsAre(Dg('c'), Dg('1')));

  j.erase("layers");
  EXPECT_THAT(ErrorOf(j, media_types::kDockerManifest), HasSubstr("layers is required"));
}

TEST(ParseManifest, OciIndex) {
  auto m = Parse(OciIndex(), media_types::kOciIndex);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kOciIndex);
  EXPECT_TRUE(m->is_index);
  EXPECT_FALSE(m->config.has_value());
  EXPECT_THAT(m->layers, IsEmpty());
  ASSERT_EQ(m->manifests.size(), 2u);
  EXPECT_EQ(m->manifests[0].digest.ToString(), Dg('a'));
  EXPECT_EQ(json::parse(m->manifests[0].platform_json),
            json({{"architecture", "amd64"}, {"os", "linux"}}));
  EXPECT_EQ(m->manifests[1].platform_json, "");
  EXPECT_THAT(m->RequiredBlobs(), IsEmpty());
  EXPECT_EQ(m->artifact_type, "");
}

TEST(ParseManifest, EmptyIndexIsValid) {
  json j = {{"schemaVersion", 2}, {"mediaType", media_types::kOciIndex}, {"manifests", json::array()}};
  auto m = Parse(j, media_types::kOciIndex);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->is_index);
  EXPECT_THAT(m->manifests, IsEmpty());
}

TEST(ParseManifest, DockerManifestList) {
  json j = {{"schemaVersion", 2},
            {"mediaType", media_types::kDockerManifestList},
            {"manifests", json::array({Desc(media_types::kDockerManifest, 'a', 7)})}};
  auto m = Parse(j, media_types::kDockerManifestList);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(m->media_type, media_types::kDockerManifestList);
  ASSERT_EQ(m->manifests.size(), 1u);
  EXPECT_EQ(m->manifests[0].size, 7);
}

TEST(ParseManifest, RefusesSchema1) {
  json s1 = {{"schemaVersion", 1}, {"name", "x"}, {"tag", "latest"}, {"fsLayers", json::array()}};
  for (const char* ct : {media_types::kDockerSchema1, media_types::kDockerSchema1Signed,
                         "application/json", media_types::kOciManifest}) {
    EXPECT_THAT(ErrorOf(s1, ct), HasSubstr("schema 1")) << ct;
  }
  // The content type alone is enough, whatever the body.
  auto m = ParseManifest(OciImage().dump(), media_types::kDockerSchema1Signed);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("schema 1"));
}

TEST(ParseManifest, SchemaVersionMustBeTwo) {
  for (const json& v : {json(3), json("2"), json(2.5), json(nullptr)}) {
    json j = OciImage();
    j["schemaVersion"] = v;
    EXPECT_THAT(ErrorOf(j), HasSubstr("schemaVersion must be 2")) << v.dump();
  }
  json j = OciImage();
  j.erase("schemaVersion");
  EXPECT_THAT(ErrorOf(j), HasSubstr("schemaVersion must be 2"));
}

TEST(ParseManifest, BodyMustBeAJsonObject) {
  for (const char* body : {"", "{", "not json", "[]", "2", "\"x\"", "null"}) {
    auto m = ParseManifest(body, media_types::kOciManifest);
    ASSERT_FALSE(m.ok()) << body;
    EXPECT_EQ(m.status().api_code(), "MANIFEST_INVALID") << body;
  }
}

TEST(ParseManifest, ContentTypeMustMatchTheMediaTypeField) {
  EXPECT_THAT(ErrorOf(OciImage(), media_types::kOciIndex), HasSubstr("does not match"));
  EXPECT_THAT(ErrorOf(OciImage(), media_types::kDockerManifest), HasSubstr("does not match"));
  EXPECT_THAT(ErrorOf(OciIndex(), media_types::kOciManifest), HasSubstr("does not match"));
  // An unknown or generic Content-Type defers to the field.
  EXPECT_TRUE(Parse(OciImage(), "application/json").ok());
  EXPECT_TRUE(Parse(OciImage(), "").ok());
}

TEST(ParseManifest, UnknownMediaTypeIsRefused) {
  json j = OciImage();
  j["mediaType"] = "application/vnd.example.thing+json";
  auto m = Parse(j, "application/json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("unsupported manifest media type"));
  j["mediaType"] = 5;
  EXPECT_THAT(ErrorOf(j, "application/json"), HasSubstr("mediaType must be a string"));
}

TEST(ParseManifest, ImageManifestNeedsConfig) {
  json j = OciImage();
  j.erase("config");
  EXPECT_THAT(ErrorOf(j), HasSubstr("config is required"));
}

TEST(ParseManifest, IndexAndImageFieldsDoNotMix) {
  json idx = OciIndex();
  idx["config"] = Desc(kConfigType, 'c', 1);
  EXPECT_THAT(ErrorOf(idx, media_types::kOciIndex), HasSubstr("must not have config or layers"));
  idx = OciIndex();
  idx["layers"] = json::array();
  EXPECT_THAT(ErrorOf(idx, media_types::kOciIndex), HasSubstr("must not have config or layers"));
  idx = OciIndex();
  idx.erase("manifests");
  EXPECT_THAT(ErrorOf(idx, media_types::kOciIndex), HasSubstr("manifests must be an array"));

  json img = OciImage();
  img["manifests"] = json::array();
  EXPECT_THAT(ErrorOf(img), HasSubstr("must not have manifests"));
  img = OciImage();
  img["layers"] = json::object();
  EXPECT_THAT(ErrorOf(img), HasSubstr("layers must be an array"));
}

TEST(ParseManifest, BadDescriptorsNameTheField) {
  struct Case {
    const char* path;  // which descriptor to break
    const char* field;
    json value;        // null: remove the field
    const char* want;
  };
  const Case cases[] = {
      {"config", "mediaType", nullptr, "config.mediaType must be a non-empty string"},
      {"config", "mediaType", "", "config.mediaType must be a non-empty string"},
      {"config", "mediaType", 7, "config.mediaType must be a non-empty string"},
      {"config", "digest", nullptr, "config.digest must be a string"},
      {"config", "digest", 12, "config.digest must be a string"},
      {"config", "digest", "sha256:abc", "config.digest"},
      {"config", "digest", "sha256:" + std::string(64, 'A'), "config.digest"},
      {"config", "size", nullptr, "config.size must be a non-negative integer"},
      {"config", "size", -1, "config.size must be a non-negative integer"},
      {"config", "size", 1.5, "config.size must be a non-negative integer"},
      {"config", "size", "10", "config.size must be a non-negative integer"},
      {"config", "urls", "http://x", "config.urls must be an array"},
      {"config", "urls", json::array({1}), "config.urls must hold strings"},
      {"config", "annotations", "x", "config.annotations must be an object"},
      {"layers1", "digest", "md5:abc", "layers[1].digest"},
      {"layers1", "size", nullptr, "layers[1].size must be a non-negative integer"},
  };
  for (const auto& c : cases) {
    json j = OciImage();
    json& d = std::string(c.path) == "config" ? j["config"] : j["layers"][1];
    if (c.value.is_null()) {
      d.erase(c.field);
    } else {
      d[c.field] = c.value;
    }
    EXPECT_THAT(ErrorOf(j), HasSubstr(c.want)) << c.path << "." << c.field << " = " << c.value;
  }
  json j = OciImage();
  j["config"] = "sha256:abc";
  EXPECT_THAT(ErrorOf(j), HasSubstr("config must be an object"));

  json idx = OciIndex();
  idx["manifests"][0]["platform"] = "linux/amd64";
  EXPECT_THAT(ErrorOf(idx, media_types::kOciIndex), HasSubstr("manifests[0].platform must be an object"));
  idx = OciIndex();
  idx["manifests"][1].erase("mediaType");
  EXPECT_THAT(ErrorOf(idx, media_types::kOciIndex), HasSubstr("manifests[1].mediaType"));
}

TEST(ParseManifest, SizeZeroIsValid) {
  json j = OciImage();
  j["config"]["size"] = 0;
  EXPECT_TRUE(Parse(j, media_types::kOciManifest).ok());
}

TEST(ParseManifest, SubjectArtifactTypeAndAnnotations) {
  json j = OciImage();
  j["subject"] = Desc(media_types::kOciManifest, 'e', 321);
  j["artifactType"] = "application/vnd.example.sbom";
  j["annotations"] = {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}, {"k", "v"}};
  auto m = Parse(j, media_types::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->ToString(), Dg('e'));
  EXPECT_EQ(m->artifact_type, "application/vnd.example.sbom");  // overrides config type
  EXPECT_EQ(json::parse(m->annotations_json), j["annotations"]);

  json idx = OciIndex();
  idx["subject"] = Desc(media_types::kOciManifest, 'e', 321);
  idx["artifactType"] = "application/vnd.example.sig";
  m = Parse(idx, media_types::kOciIndex);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->subject->ToString(), Dg('e'));
  EXPECT_EQ(m->artifact_type, "application/vnd.example.sig");
}

TEST(ParseManifest, NullOptionalFieldsAreAbsent) {
  json j = OciImage();
  j["subject"] = nullptr;
  j["artifactType"] = nullptr;
  j["annotations"] = nullptr;
  auto m = Parse(j, media_types::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->subject.has_value());
  EXPECT_EQ(m->artifact_type, kConfigType);
  EXPECT_EQ(m->annotations_json, "");
}

TEST(ParseManifest, BadSubjectArtifactTypeOrAnnotations) {
  json j = OciImage();
  j["subject"] = {{"mediaType", media_types::kOciManifest}, {"digest", "nope"}, {"size", 1}};
  EXPECT_THAT(ErrorOf(j), HasSubstr("subject.digest"));
  j = OciImage();
  j["subject"] = "sha256:" + Hex('e');
  EXPECT_THAT(ErrorOf(j), HasSubstr("subject must be an object"));
  j = OciImage();
  j["artifactType"] = 3;
  EXPECT_THAT(ErrorOf(j), HasSubstr("artifactType must be a string"));
  j = OciImage();
  j["annotations"] = json::array({"a"});
  EXPECT_THAT(ErrorOf(j), HasSubstr("annotations must be an object"));
  j = OciImage();
  j["annotations"] = {{"count", 3}};
  EXPECT_THAT(ErrorOf(j), HasSubstr("annotation count must be a string"));
}

TEST(ParseManifest, ForeignLayersWithUrlsAreNotRequired) {
  json j = OciImage();
  json docker_foreign = Desc(media_types::kDockerForeignLayer, '3', 30);
  docker_foreign["urls"] = json::array({"https://example.com/layer.tar.gz"});
  json oci_nondist = Desc(std::string(media_types::kOciNondistributablePrefix) + "v1.tar+gzip", '4', 40);
  oci_nondist["urls"] = json::array({"https://example.com/layer2"});
  json foreign_without_urls = Desc(media_types::kDockerForeignLayer, '5', 50);
  j["layers"].push_back(docker_foreign);
  j["layers"].push_back(oci_nondist);
  j["layers"].push_back(foreign_without_urls);
  auto m = Parse(j, media_types::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->layers.size(), 5u);
  ASSERT_EQ(m->layers[2].urls.size(), 1u);
  EXPECT_EQ(m->layers[2].urls[0], "https://example.com/layer.tar.gz");
  // A foreign layer the registry cannot fetch from anywhere else stays required.
  EXPECT_THAT(m->RequiredBlobs(), ElementsAre(Dg('c'), Dg('1'), Dg('2'), Dg('5')));
}

TEST(ParseManifest, OrdinaryLayerWithUrlsIsStillRequired) {
  json j = OciImage();
  j["layers"][0]["urls"] = json::array({"https://example.com/l"});
  auto m = Parse(j, media_types::kOciManifest);
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m->RequiredBlobs(), ElementsAre(Dg('c'), Dg('1'), Dg('2')));
}

// A deeply nested platform parsed fine and then overflowed the stack in
// dump() (tests/fuzz/regressions/manifest/deep_platform_stack_overflow).
TEST(ParseManifest, RefusesDeepNesting) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
                     R"("manifests":[{"mediaType":"x","digest":"sha256:)" + std::string(64, 'a') +
                     R"(","size":1,"platform":{"a":)" + deep + "}}]}";
  auto m = ParseManifest(body, media_types::kOciIndex);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().api_code(), "MANIFEST_INVALID");
  EXPECT_THAT(m.status().message(), testing::HasSubstr("nested deeper"));
  // 128 levels in all are still fine.
  std::string ok = R"({"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:)" +
                   std::string(64, 'a') + R"(","size":1},"annotations":{"a":")" +
                   std::string(500, '[') + R"("},"x":)" + std::string(126, '[') +
                   std::string(126, ']') + "}";
  EXPECT_TRUE(ParseManifest(ok, media_types::kOciManifest).ok());
}

TEST(JsonNestingExceeds, CountsBracketsOutsideStrings) {
  EXPECT_FALSE(JsonNestingExceeds("{}", 1));
  EXPECT_TRUE(JsonNestingExceeds("[[]]", 1));
  EXPECT_FALSE(JsonNestingExceeds(R"(["[[[", "\"[[", {}])", 2));
  EXPECT_TRUE(JsonNestingExceeds(R"(["\\", [[]]])", 2));
  EXPECT_FALSE(JsonNestingExceeds(R"([1],[2],[3],{"a":[]})", 2));
}

TEST(BareMediaType, StripsParametersAndLowercases) {
  EXPECT_EQ(BareMediaType("Application/JSON ; charset=utf-8"), "application/json");
  EXPECT_EQ(BareMediaType("  application/vnd.oci.image.index.v1+json"),
            "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(BareMediaType(""), "");
  EXPECT_EQ(BareMediaType(";x=y"), "");
}

}  // namespace
}  // namespace berth
