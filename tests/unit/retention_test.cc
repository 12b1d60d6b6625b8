// Tag retention without a database: doublestar globs, policy validation
// (each bad field named), and rule evaluation over a fixture of artifacts
// with controlled push and pull times — every template's result exactly,
// tag/label selectors, untagged artifacts, "or" across rules, repository
// scope, and the task log's table.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "policy/doublestar.h"
#include "retention/retention_evaluator.h"
#include "retention/retention_policy.h"

namespace berth {
namespace {

using json = nlohmann::json;

bool M(const char* pattern, const char* name) {
  auto r = DoublestarMatch(pattern, name);
  EXPECT_TRUE(r.ok()) << pattern << ": " << r.status().message();
  return r.ok() && *r;
}

TEST(DoublestarTest, Matches) {
  EXPECT_TRUE(M("", "anything/at/all"));
  EXPECT_TRUE(M("**", "a/b/c"));
  EXPECT_TRUE(M("**", "latest"));
  EXPECT_TRUE(M("*", "latest"));
  EXPECT_FALSE(M("*", "a/b"));
  EXPECT_TRUE(M("v*", "v1.2"));
  EXPECT_FALSE(M("v*", "latest"));
  EXPECT_TRUE(M("app/**", "app/x"));
  EXPECT_TRUE(M("app/**", "app/x/y"));
  EXPECT_FALSE(M("app/**", "apps/x"));
  EXPECT_TRUE(M("**/tool", "tool"));
  EXPECT_TRUE(M("**/tool", "a/b/tool"));
  EXPECT_TRUE(M("a/**/c", "a/c"));
  EXPECT_TRUE(M("a/**/c", "a/b/b/c"));
  EXPECT_FALSE(M("a/*/c", "a/b/b/c"));
  EXPECT_TRUE(M("v?.0", "v1.0"));
  EXPECT_FALSE(M("v?.0", "v10.0"));
  EXPECT_TRUE(M("[a-c]x", "bx"));
  EXPECT_FALSE(M("[!a-c]x", "bx"));
  EXPECT_TRUE(M("[^a-c]x", "dx"));
  EXPECT_TRUE(M("{dev,test}-*", "test-9"));
  EXPECT_FALSE(M("{dev,test}-*", "prod-9"));
  EXPECT_TRUE(M("{a,b{c,d}}", "bd"));
  EXPECT_TRUE(M("rel\\*", "rel*"));
  EXPECT_FALSE(M("rel\\*", "release"));
  EXPECT_TRUE(M("*-rc*", "1.0-rc2"));
}

TEST(DoublestarTest, BadPatterns) {
  EXPECT_FALSE(ValidateDoublestar("[abc").ok());
  EXPECT_FALSE(ValidateDoublestar("{a,b").ok());
  EXPECT_FALSE(ValidateDoublestar("a\\").ok());
  EXPECT_FALSE(DoublestarMatch("{x", "x").ok());
  EXPECT_TRUE(ValidateDoublestar("**/{a,b}[0-9]").ok());
}

json Sel(const std::string& decoration, const std::string& pattern, const std::string& extras = "",
         const std::string& kind = "doublestar") {
  return {{"kind", kind}, {"decoration", decoration}, {"pattern", pattern}, {"extras", extras}};
}

json Rule(const std::string& tpl, json params, json tag_selectors = json::array({Sel("matches", "**")}),
          json repo_selectors = json::array({Sel("repoMatches", "**")})) {
  return {{"id", 0},
          {"priority", 0},
          {"disabled", false},
          {"action", "retain"},
          {"template", tpl},
          {"params", params},
          {"tag_selectors", tag_selectors},
          {"scope_selectors", {{"repository", repo_selectors}}}};
}

json Policy(json rules, const std::string& cron = "") {
  return {{"algorithm", "or"},
          {"rules", rules},
          {"trigger", {{"kind", "Schedule"}, {"settings", {{"cron", cron}}}}},
          {"scope", {{"level", "project"}, {"ref", 7}}}};
}

// The message of a parse failure ("" when it parsed).
std::string ParseError(const json& body, Code* code = nullptr) {
  auto p = ParseRetentionPolicy(body);
  if (code) *code = p.status().code();
  return p.ok() ? "" : p.status().message();
}

TEST(RetentionPolicyTest, RoundTrip) {
  json body = Policy(json::array({Rule("latestPushedK", {{"latestPushedK", 3}}),
                                  Rule("always", json::object(),
                                       json::array({Sel("matches", "release-*", "{\"untagged\":false}")}),
                                       json::array({Sel("repoExcludes", "tmp/**")}))}),
                     "0 0 * * * *");
  auto p = ParseRetentionPolicy(body);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->project_id, 7);
  EXPECT_EQ(p->cron, "0 0 * * * *");
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].param, 3);
  EXPECT_FALSE(p->rules[1].tag_selectors[0].untagged);
  json out = RetentionPolicyJson(*p);
  EXPECT_EQ(out["rules"][1]["scope_selectors"]["repository"][0]["decoration"], "repoExcludes");
  EXPECT_EQ(out["trigger"]["settings"]["cron"], "0 0 * * * *");
  EXPECT_EQ(out["scope"], json({{"level", "project"}, {"ref", 7}}));
  auto again = ParseRetentionPolicy(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(RetentionPolicyJson(*again), out);
}

TEST(RetentionPolicyTest, BadInputNamesTheField) {
  EXPECT_NE(ParseError(Policy(json::array({Rule("keepEverything", json::object())}))).find("rules[0].template"),
            std::string::npos);
  EXPECT_NE(ParseError(Policy(json::array({Rule("latestPushedK", {{"latestPushedK", -1}})})))
                .find("rules[0].params.latestPushedK is less than zero"),
            std::string::npos);
  EXPECT_NE(ParseError(Policy(json::array({Rule("latestPulledN", json::object())})))
                .find("rules[0].params.latestPulledN is required"),
            std::string::npos);
  EXPECT_NE(ParseError(Policy(json::array({Rule("nDaysSinceLastPush", {{"nDaysSinceLastPush", "x"}})})))
                .find("rules[0].params.nDaysSinceLastPush must be an integer"),
            std::string::npos);
  // Harbor's ParseJSONInt takes a number in a string.
  EXPECT_EQ(ParseError(Policy(json::array({Rule("nDaysSinceLastPull", {{"nDaysSinceLastPull", "7"}})}))), "");
  EXPECT_NE(ParseError(Policy(json::array({Rule("always", json::object(),
                                                json::array({Sel("contains", "x")}))})))
                .find("rules[0].tag_selectors[0].decoration"),
            std::string::npos);
  EXPECT_NE(ParseError(Policy(json::array({Rule("always", json::object(),
                                                json::array({Sel("matches", "[x")}))})))
                .find("rules[0].tag_selectors[0].pattern"),
            std::string::npos);
  EXPECT_NE(ParseError(Policy(json::array({Rule("always", json::object(),
                                                json::array({Sel("matches", "x", "{bad")}))})))
                .find("rules[0].tag_selectors[0].extras"),
            std::string::npos);
  EXPECT_NE(ParseError(Policy(json::array({Rule("always", json::object(), json::array({Sel("matches", "**")}),
                                                json::array({Sel("matches", "**")}))})))
                .find("rules[0].scope_selectors.repository[0].decoration"),
            std::string::npos);
  json many = json::array();
  for (int i = 0; i < 16; ++i) many.push_back(Rule("latestPushedK", {{"latestPushedK", i}}));
  EXPECT_NE(ParseError(Policy(many)).find("rules has 16 rules"), std::string::npos);
  json bad_trigger = Policy(json::array());
  bad_trigger["trigger"]["kind"] = "Event";
  EXPECT_NE(ParseError(bad_trigger).find("trigger.kind"), std::string::npos);
  json bad_scope = Policy(json::array());
  bad_scope["scope"]["level"] = "system";
  EXPECT_NE(ParseError(bad_scope).find("scope.level"), std::string::npos);
  Code code;
  ParseError(Policy(json::array({Rule("always", json::object()), Rule("always", json::object())})), &code);
  EXPECT_EQ(code, Code::kConflict);  // Harbor's checkRuleConflict
}

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kNow = 1000 * kDay;

// The fixture: ids 1..5 with controlled times.
std::vector<RetentionCandidate> Fixture() {
  auto c = [](int64_t id, std::vector<std::string> tags, int64_t push, int64_t pull,
              std::vector<std::string> labels = {}) {
    RetentionCandidate r;
    r.id = id;
    r.digest = "sha256:" + std::string(64, static_cast<char>('0' + id));
    r.tags = std::move(tags);
    r.labels = std::move(labels);
    r.push_time = r.creation_time = push;
    r.pull_time = pull;
    return r;
  };
  return {c(1, {"v1"}, kNow - 10 * kDay, kNow - kDay / 2),
          c(2, {"v2", "latest"}, kNow - 5 * kDay, 0),
          c(3, {"dev-1"}, kNow - 3 * kDay, kNow - 20 * kDay),
          c(4, {}, kNow - 1 * kDay, 0),
          c(5, {"v3"}, kNow - 40 * kDay, kNow - 2 * kDay, {"keep", "prod"})};
}

std::set<int64_t> Retained(json rules) {
  auto p = ParseRetentionPolicy(Policy(rules));
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (!p.ok()) return {};
  auto applicable = RulesForRepository(*p, "app");
  EXPECT_TRUE(applicable.ok());
  auto r = RetainedBy(*applicable, Fixture(), kNow);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::set<int64_t>{};
}

using Ids = std::set<int64_t>;

TEST(RetentionEvaluatorTest, Templates) {
  EXPECT_EQ(Retained({Rule("latestPushedK", {{"latestPushedK", 2}})}), (Ids{4, 3}));
  EXPECT_EQ(Retained({Rule("latestPushedK", {{"latestPushedK", 0}})}), (Ids{}));
  EXPECT_EQ(Retained({Rule("latestPushedK", {{"latestPushedK", 99}})}), (Ids{1, 2, 3, 4, 5}));
  EXPECT_EQ(Retained({Rule("latestPulledN", {{"latestPulledN", 2}})}), (Ids{1, 5}));
  // Never pulled come last (Harbor sorts a zero pull time last); ties go to
  // the later artifact.
  EXPECT_EQ(Retained({Rule("latestPulledN", {{"latestPulledN", 4}})}), (Ids{1, 5, 3, 4}));
  EXPECT_EQ(Retained({Rule("nDaysSinceLastPush", {{"nDaysSinceLastPush", 7}})}), (Ids{2, 3, 4}));
  EXPECT_EQ(Retained({Rule("nDaysSinceLastPush", {{"nDaysSinceLastPush", 3}})}), (Ids{3, 4}));
  EXPECT_EQ(Retained({Rule("nDaysSinceLastPull", {{"nDaysSinceLastPull", 3}})}), (Ids{1, 5}));
  EXPECT_EQ(Retained({Rule("nDaysSinceLastPull", {{"nDaysSinceLastPull", 30}})}), (Ids{1, 3, 5}));
  EXPECT_EQ(Retained({Rule("always", json::object())}), (Ids{1, 2, 3, 4, 5}));
  EXPECT_EQ(Retained({Rule("nothing", json::object())}), (Ids{}));
  EXPECT_EQ(Retained({Rule("latestActiveK", {{"latestActiveK", 2}})}), (Ids{1, 4}));
  // lastXDays is strictly after the cutoff: 3 was pushed exactly 3 days ago.
  EXPECT_EQ(Retained({Rule("lastXDays", {{"lastXDays", 3}})}), (Ids{4}));
}

TEST(RetentionEvaluatorTest, TagSelectorsAndUntagged) {
  // matches: any tag matches; untagged per extras (default true).
  EXPECT_EQ(Retained({Rule("always", json::object(), json::array({Sel("matches", "v*")}))}),
            (Ids{1, 2, 4, 5}));
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("matches", "v*", "{\"untagged\":false}")}))}),
            (Ids{1, 2, 5}));
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("matches", "**", "{\"untagged\":false}")}))}),
            (Ids{1, 2, 3, 5}));
  // excludes: some tag does not match; untagged selected unless untagged:true.
  EXPECT_EQ(Retained({Rule("always", json::object(), json::array({Sel("excludes", "v*")}))}),
            (Ids{2, 3, 4}));
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("excludes", "v*", "{\"untagged\":true}")}))}),
            (Ids{2, 3}));
  // The template counts only what the selectors chose.
  EXPECT_EQ(Retained({Rule("latestPushedK", {{"latestPushedK", 1}},
                           json::array({Sel("matches", "v*", "{\"untagged\":false}")}))}),
            (Ids{2}));
  // Selectors in sequence: all must select.
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("matches", "v*", "{\"untagged\":false}"),
                                        Sel("excludes", "latest")}))}),
            (Ids{1, 2, 5}));
}

TEST(RetentionEvaluatorTest, LabelSelectors) {
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("withLabels", "keep", "", "label")}))}),
            (Ids{5}));
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("withLabels", "keep,other", "", "label")}))}),
            (Ids{}));
  EXPECT_EQ(Retained({Rule("always", json::object(),
                           json::array({Sel("withoutLabels", "keep", "", "label")}))}),
            (Ids{1, 2, 3, 4}));
}

TEST(RetentionEvaluatorTest, OrAcrossRulesAndDisabled) {
  EXPECT_EQ(Retained({Rule("latestPushedK", {{"latestPushedK", 1}}),
                      Rule("nDaysSinceLastPull", {{"nDaysSinceLastPull", 3}})}),
            (Ids{4, 1, 5}));
  json disabled = Rule("always", json::object());
  disabled["disabled"] = true;
  EXPECT_EQ(Retained({Rule("latestPushedK", {{"latestPushedK", 1}}), disabled}), (Ids{4}));
}

TEST(RetentionEvaluatorTest, RepositoryScope) {
  auto p = ParseRetentionPolicy(Policy(json::array(
      {Rule("always", json::object(), json::array({Sel("matches", "**")}),
            json::array({Sel("repoMatches", "team/**")})),
       Rule("latestPushedK", {{"latestPushedK", 1}}, json::array({Sel("matches", "**")}),
            json::array({Sel("repoExcludes", "{tmp*,team/**}")}))})));
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto count = [&](const char* repo) {
    auto r = RulesForRepository(*p, repo);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->size() : 99u;
  };
  EXPECT_EQ(count("team/tool"), 1u);
  EXPECT_EQ(count("team/a/b"), 1u);
  EXPECT_EQ(count("app"), 1u);
  EXPECT_EQ(count("tmp-x"), 0u);
}

TEST(RetentionEvaluatorTest, LogTable) {
  auto fixture = Fixture();
  std::string table = RetentionTable(fixture, {{2, "DEL"}, {3, "IMMUTABLE"}});
  EXPECT_NE(table.find("Digest"), std::string::npos);
  EXPECT_NE(table.find("Retention"), std::string::npos);
  EXPECT_NE(table.find("| v2,latest "), std::string::npos);
  EXPECT_NE(table.find("| keep,prod "), std::string::npos);
  size_t row2 = table.find(fixture[1].digest);
  ASSERT_NE(row2, std::string::npos);
  EXPECT_NE(table.substr(row2, table.find('\n', row2) - row2).find("DEL"), std::string::npos);
  size_t row1 = table.find(fixture[0].digest);
  EXPECT_NE(table.substr(row1, table.find('\n', row1) - row1).find("RETAIN"), std::string::npos);
  EXPECT_NE(table.find("IMMUTABLE"), std::string::npos);
}

}  // namespace
}  // namespace berth
