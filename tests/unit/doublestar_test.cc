// The doublestar matcher against Go doublestar v1's own table (the library
// Harbor's selectors call), Harbor's selector cases (lib/selector/selectors/
// doublestar) and the immutable rule matching built on it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/doublestar.h"
#include "policy/immutable_controller.h"
#include "policy/selector.h"

namespace berth {
namespace {

struct Case {
  const char* pattern;
  const char* name;
  bool match;
};

TEST(DoublestarTest, GoDoublestarTable) {
  const Case kCases[] = {
      {"abc", "abc", true},
      {"*", "abc", true},
      {"*c", "abc", true},
      {"a*", "a", true},
      {"a*", "abc", true},
      {"a*", "ab/c", false},
      {"a*/b", "abc/b", true},
      {"a*/b", "a/c/b", false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true},
      {"a*b?c*x", "abxbbxdbxebxczzy", false},
      {"ab[c]", "abc", true},
      {"ab[b-d]", "abc", true},
      {"ab[e-g]", "abc", false},
      {"ab[^c]", "abc", false},
      {"ab[^b-d]", "abc", false},
      {"ab[^e-g]", "abc", true},
      {"a\\*b", "a*b", true},
      {"a\\*b", "ab", false},
      {"a?b", "a\xE2\x98\xBA" "b", true},  // one rune, three bytes
      {"a[^a]b", "a\xE2\x98\xBA" "b", true},
      {"a???b", "a\xE2\x98\xBA" "b", false},
      {"a[^a][^a][^a]b", "a\xE2\x98\xBA" "b", false},
      {"[a-\xCE\xB6]*", "\xCE\xB1", true},  // [a-ζ]* matches α
      {"*[a-\xCE\xB6]", "A", false},
      {"a?b", "a/b", false},
      {"a*b", "a/b", false},
      {"[\\]a]", "]", true},
      {"[\\-]", "-", true},
      {"[x\\-]", "x", true},
      {"[x\\-]", "-", true},
      {"[x\\-]", "z", false},
      {"[\\-x]", "x", true},
      {"[\\-x]", "-", true},
      {"[\\-x]", "a", false},
      {"*x", "xxx", true},
      {"a/**", "a", false},
      {"a/**", "a/b", true},
      {"a/**", "a/b/c", true},
      {"**/c", "c", true},
      {"**/c", "b/c", true},
      {"**/c", "a/b/c", true},
      {"**/c", "a/b", false},
      {"**/c", "abcd", false},
      {"**/c", "a/abc", false},
      {"a/**/b", "a/b", true},
      {"a/**/c", "a/b/c", true},
      {"a/**/d", "a/b/c/d", true},
      {"a/\\**", "a/b/c", false},
      {"a/\\[*\\]", "a/bc", false},
      {"a/b/c", "a/b//c", false},
      {"a/", "a", false},
      {"ab{c,d}", "abc", true},
      {"ab{c,d,*}", "abcde", true},
      {"a{,bc}", "a", true},
      {"a{,bc}", "abc", true},
      {"a/{b/c,c/b}", "a/b/c", true},
      {"a/{b/c,c/b}", "a/c/b", true},
      {"{a/{b,c},abc}", "a/b", true},
      {"{a/{b,c},abc}", "a/c", true},
      {"{a/{b,c},abc}", "abc", true},
      {"{a/{b,c},abc}", "a/b/c", false},
      {"{a/ab*}", "a/abc", true},
      {"{a/*}", "a/b", true},
      {"{a/abc}", "a/abc", true},
      {"{a/b,a/c}", "a/c", true},
      {"abc/**", "abc/b", true},
      {"**/abc", "abc", true},
      {"abc**", "abc/b", false},
      {"**/*.txt", "abc/\xE3\x80\x90test\xE3\x80\x91.txt", true},
      {"**/\xE3\x80\x90*", "abc/\xE3\x80\x90test\xE3\x80\x91.txt", true},
      {"**", "a/b/c", true},
      {"**", "a", true},
  };
  for (const auto& c : kCases) {
    auto m = DoublestarMatch(c.pattern, c.name);
    ASSERT_TRUE(m.ok()) << c.pattern << ": " << m.status().ToString();
    EXPECT_EQ(*m, c.match) << "pattern " << c.pattern << " name " << c.name;
  }
}

TEST(DoublestarTest, MalformedPatternsAreRefused) {
  for (const char* p : {"[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc",
                        "a[", "ab{c,d}[", "{a,b", "a{b{c,d}", "x/[", "v1.*\\"}) {
    EXPECT_EQ(ValidateDoublestar(p).code(), Code::kInvalidArgument) << p;
    EXPECT_EQ(DoublestarMatch(p, "abcd").status().code(), Code::kInvalidArgument) << p;
  }
  // A lone closing brace is an ordinary character, as in Go.
  ASSERT_TRUE(ValidateDoublestar("a}").ok());
  EXPECT_TRUE(*DoublestarMatch("a}", "a}"));
  // Brace alternatives multiply; past the cap the pattern is refused.
  std::string many;
  for (int i = 0; i < 9; ++i) many += "{a,b}";
  EXPECT_EQ(ValidateDoublestar(many).code(), Code::kInvalidArgument);
  EXPECT_TRUE(ValidateDoublestar("{a,b}{a,b}{a,b}{a,b}").ok());
}

TEST(DoublestarTest, LongNamesStayFast) {
  // Star backtracking is per component and never exponential.
  std::string name(4000, 'a');
  EXPECT_FALSE(*DoublestarMatch("*a*a*a*a*a*a*a*a*a*b", name));
  EXPECT_TRUE(*DoublestarMatch("*a*a*a*a*a*a*a*a*a*", name));
}

// Harbor's selector_test.go: library/harbor:latest, retention/redis:4.0 and
// 4.1, library/special untagged (not a tag candidate here).
TEST(SelectorTest, HarborDoublestarSelectorCases) {
  auto sel = [](const char* decoration, const char* pattern, const char* value) {
    auto r = SelectorSelects(Selector{"doublestar", decoration, pattern}, value);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  };
  EXPECT_TRUE(sel("matches", "{latest,4.*}", "latest"));
  EXPECT_TRUE(sel("matches", "{latest,4.*}", "4.0"));
  EXPECT_FALSE(sel("matches", "4.*", "latest"));
  EXPECT_TRUE(sel("matches", "4.*", "4.1"));
  EXPECT_FALSE(sel("excludes", "{latest,4.*}", "latest"));
  EXPECT_FALSE(sel("excludes", "4.*", "4.0"));
  EXPECT_TRUE(sel("excludes", "4.*", "latest"));
  EXPECT_TRUE(sel("repoMatches", "{redis}", "redis"));
  EXPECT_FALSE(sel("repoMatches", "{redis}", "harbor"));
  EXPECT_TRUE(sel("repoMatches", "har*", "harbor"));
  EXPECT_TRUE(sel("repoExcludes", "{redis}", "harbor"));
  EXPECT_FALSE(sel("repoExcludes", "har*", "harbor"));
  EXPECT_TRUE(sel("nsMatches", "{library}", "library"));
  EXPECT_TRUE(sel("nsExcludes", "re*", "library"));
  // Harbor: an empty pattern matches everything.
  EXPECT_TRUE(sel("matches", "", "anything"));
  EXPECT_FALSE(sel("excludes", "", "anything"));
}

TEST(SelectorTest, ValidationNamesTheField) {
  Selector ok{"doublestar", "matches", "v*"};
  EXPECT_TRUE(ValidateSelector(ok, SelectorScope::kTag, "tag_selectors[0]").ok());
  Selector bad_kind{"regex", "matches", "v*"};
  Status s = ValidateSelector(bad_kind, SelectorScope::kTag, "tag_selectors[0]");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("tag_selectors[0].kind"), std::string::npos) << s.message();
  s = ValidateSelector({"doublestar", "repoMatches", "v*"}, SelectorScope::kTag, "tag_selectors[0]");
  EXPECT_NE(s.message().find("tag_selectors[0].decoration"), std::string::npos) << s.message();
  s = ValidateSelector({"doublestar", "matches", "v*"}, SelectorScope::kRepository, "repo");
  EXPECT_NE(s.message().find("repo.decoration"), std::string::npos) << s.message();
  s = ValidateSelector({"doublestar", "matches", ""}, SelectorScope::kTag, "t");
  EXPECT_NE(s.message().find("t.pattern"), std::string::npos) << s.message();
  s = ValidateSelector({"doublestar", "matches", "v[1"}, SelectorScope::kTag, "t");
  EXPECT_NE(s.message().find("t.pattern"), std::string::npos) << s.message();
}

ImmutableRuleRecord Rule(int64_t id, const char* repo_dec, const char* repo_pat,
                         const char* tag_dec, const char* tag_pat, bool disabled = false) {
  ImmutableRuleRecord r;
  r.id = id;
  r.disabled = disabled;
  r.repository = {"doublestar", repo_dec, repo_pat};
  r.tag = {"doublestar", tag_dec, tag_pat};
  return r;
}

TEST(ImmutableMatchTest, RepositoriesAreMatchedWithoutTheirProject) {
  std::vector<ImmutableRuleRecord> rules = {Rule(1, "repoMatches", "team/*", "matches", "v*")};
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/team/app", "v1"), 1);
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/team/app", "latest"), 0);
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/team/x/app", "v1"), 0);  // '*' stops at '/'
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/app", "v1"), 0);
  rules = {Rule(2, "repoMatches", "lib/**", "matches", "**")};
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/app", "v1"), 0) << "the project is not in the path";
  rules = {Rule(3, "repoMatches", "**", "matches", "**")};
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/app", "v1"), 3);
  EXPECT_EQ(*MatchingImmutableRule(rules, "lib/a/b/c", "x"), 3);
}

TEST(ImmutableMatchTest, ExcludesDisabledAndOrder) {
  std::vector<ImmutableRuleRecord> rules = {
      Rule(4, "repoExcludes", "tmp/**", "excludes", "dev-*"),
      Rule(5, "repoMatches", "**", "matches", "release", true),
      Rule(6, "repoMatches", "**", "matches", "{1,2}.*"),
  };
  EXPECT_EQ(*MatchingImmutableRule(rules, "p/app", "v1"), 4);
  EXPECT_EQ(*MatchingImmutableRule(rules, "p/app", "dev-1"), 0);
  EXPECT_EQ(*MatchingImmutableRule(rules, "p/tmp/x", "v1"), 0);
  EXPECT_EQ(*MatchingImmutableRule(rules, "p/tmp/x", "2.0"), 6);
  EXPECT_EQ(*MatchingImmutableRule(rules, "p/tmp/x", "release"), 0) << "disabled";
  EXPECT_EQ(*MatchingImmutableRule(rules, "p/app", "1.0"), 4) << "the first rule by order";
}

TEST(ImmutableMatchTest, ValidateRule) {
  ImmutableRuleRecord r = Rule(0, "repoMatches", "**", "matches", "v*");
  EXPECT_TRUE(ValidateImmutableRule(r).ok());
  r.action = "retain";
  EXPECT_NE(ValidateImmutableRule(r).message().find("action"), std::string::npos);
  r = Rule(0, "repoMatches", "**", "matches", "v*");
  r.template_name = "always";
  EXPECT_NE(ValidateImmutableRule(r).message().find("template"), std::string::npos);
  r = Rule(0, "matches", "**", "matches", "v*");
  EXPECT_NE(ValidateImmutableRule(r).message().find("scope_selectors.repository[0].decoration"),
            std::string::npos);
  r = Rule(0, "repoMatches", "**", "matches", "{v1");
  EXPECT_NE(ValidateImmutableRule(r).message().find("tag_selectors[0].pattern"),
            std::string::npos);
}

}  // namespace
}  // namespace berth
