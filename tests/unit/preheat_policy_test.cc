// Harbor's preheat policy model: filter and trigger parsing with the field
// named, and which candidates the filters keep.
#include "preheat/preheat_policy.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

PreheatCandidate Candidate(std::string path, std::string tag) {
  PreheatCandidate c;
  c.repository = "library/" + path;
  c.path = std::move(path);
  c.tag = std::move(tag);
  c.digest = "sha256:" + std::string(64, 'a');
  return c;
}

bool Keeps(const std::string& filters, const PreheatCandidate& c) {
  auto f = ParsePreheatFilters(filters);
  EXPECT_TRUE(f.ok()) << f.status().message();
  auto keep = PreheatFiltersKeep(*f, c);
  EXPECT_TRUE(keep.ok()) << keep.status().message();
  return *keep;
}

TEST(PreheatPolicyTest, RepositoryAndTagPatterns) {
  const std::string f = R"([{"type":"repository","value":"**/app"},{"type":"tag","value":"v*"}])";
  EXPECT_TRUE(Keeps(f, Candidate("app", "v1")));
  EXPECT_TRUE(Keeps(f, Candidate("team/app", "v2")));
  EXPECT_FALSE(Keeps(f, Candidate("team/app", "dev")));
  EXPECT_FALSE(Keeps(f, Candidate("other", "v1")));
  EXPECT_TRUE(Keeps("[]", Candidate("anything", "x")));
}

TEST(PreheatPolicyTest, LabelsSignatureVulnerability) {
  PreheatCandidate c = Candidate("app", "v1");
  c.labels = {"hot", "prod"};
  EXPECT_TRUE(Keeps(R"([{"type":"label","value":["hot"]}])", c));
  EXPECT_TRUE(Keeps(R"([{"type":"label","value":"hot, prod"}])", c));
  EXPECT_FALSE(Keeps(R"([{"type":"label","value":["hot","cold"]}])", c));

  EXPECT_FALSE(Keeps(R"([{"type":"signature","value":true}])", c));
  EXPECT_TRUE(Keeps(R"([{"type":"signature","value":false}])", c));
  c.is_signed = true;
  EXPECT_TRUE(Keeps(R"([{"type":"signature","value":true}])", c));

  // Unscanned (Harbor's code 99) is excluded by any vulnerability filter.
  EXPECT_FALSE(Keeps(R"([{"type":"vulnerability","value":5}])", c));
  c.severity = 3;  // Medium
  EXPECT_TRUE(Keeps(R"([{"type":"vulnerability","value":4}])", c));
  EXPECT_FALSE(Keeps(R"([{"type":"vulnerability","value":"3"}])", c));
  EXPECT_FALSE(Keeps(R"([{"type":"vulnerability","value":"Medium"}])", c));
}

TEST(PreheatPolicyTest, ProjectSecurityOverrides) {
  PreheatFilters f;
  auto notes = ApplyProjectSecurity(
      {{"enable_content_trust_cosign", "true"}, {"prevent_vul", "true"}, {"severity", "high"}}, &f);
  EXPECT_EQ(notes.size(), 2u);
  EXPECT_EQ(f.signature, true);
  EXPECT_EQ(f.vulnerability, 4);
  PreheatFilters g;
  EXPECT_TRUE(ApplyProjectSecurity({{"prevent_vul", "false"}, {"severity", "high"}}, &g).empty());
  EXPECT_FALSE(g.vulnerability.has_value());
}

TEST(PreheatPolicyTest, BadFiltersNameTheField) {
  for (const auto& [filters, field] : std::vector<std::pair<std::string, std::string>>{
           {"", "filters"},
           {"{}", "filters"},
           {R"([{"type":"color","value":1}])", "filters[0].type"},
           {R"([{"type":"tag","value":"v*"},{"type":"repository","value":7}])", "filters[1].value"},
           {R"([{"type":"signature","value":"true"}])", "filters[0].value"},
           {R"([{"type":"vulnerability","value":6}])", "filters[0].value"},
           {R"([{"type":"label","value":[1]}])", "filters[0].value"}}) {
    auto f = ParsePreheatFilters(filters);
    ASSERT_FALSE(f.ok()) << filters;
    EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
    EXPECT_NE(f.status().message().find(field), std::string::npos) << f.status().message();
  }
}

TEST(PreheatPolicyTest, Triggers) {
  auto t = ParsePreheatTrigger(R"({"type":"scheduled","trigger_setting":{"cron":"0 0 * * * *"}})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->cron, "0 0 * * * *");
  t = ParsePreheatTrigger(R"({"type":"event_based","trigger_setting":{"cron":"0 0 * * * *"}})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->cron, "");  // only a scheduled trigger keeps its cron
  EXPECT_FALSE(ParsePreheatTrigger(R"({"type":"scheduled"})").ok());
  EXPECT_FALSE(ParsePreheatTrigger(R"({"type":"hourly"})").ok());
  EXPECT_FALSE(ParsePreheatTrigger("").ok());
  EXPECT_EQ(*ParsePreheatScope(""), "single_peer");
  EXPECT_FALSE(ParsePreheatScope("most_peers").ok());
  EXPECT_TRUE(ValidatePreheatExtraAttrs(R"({"cluster_ids":[1,2]})").ok());
  EXPECT_FALSE(ValidatePreheatExtraAttrs(R"({"cluster_ids":[-1]})").ok());
  EXPECT_TRUE(ValidatePreheatName("p2p.policy-1", "name").ok());
  EXPECT_FALSE(ValidatePreheatName("-bad", "name").ok());
}

}  // namespace
}  // namespace berth
