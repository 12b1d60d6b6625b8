// Immutable tag rules in the store layer, on SQLite and PostgreSQL: create
// (duplicates, the per-project limit), get, list with q/sort/paging,
// update, delete, rules going with their project; and the TagGuard the
// rules install on the registry's writers, checked inside their
// transactions (store_test_support.h fixture).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "policy/immutable_controller.h"
#include "store/artifact_store.h"
#include "store/immutable_rule_store.h"
#include "store/project_store.h"
#include "store/registry_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

using testing_support::Dg;

ImmutableRuleRecord Rule(int64_t project_id, const std::string& repo_pattern,
                         const std::string& tag_pattern, bool disabled = false,
                         const std::string& tag_decoration = "matches") {
  ImmutableRuleRecord r;
  r.project_id = project_id;
  r.disabled = disabled;
  r.repository = {"doublestar", "repoMatches", repo_pattern};
  r.tag = {"doublestar", tag_decoration, tag_pattern};
  return r;
}

class ImmutableRuleStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    registry_ = std::make_unique<RegistryStore>(*db_);
    artifacts_ = std::make_unique<ArtifactStore>(*db_);
    rules_ = std::make_unique<ImmutableRuleStore>(*db_);
  }

  void TearDown() override {
    rules_.reset();
    artifacts_.reset();
    registry_.reset();
    StoreTestBase::TearDown();
  }

  ImmutableRuleRecord Made(const ImmutableRuleRecord& r) {
    auto made = rules_->Create(r, 15);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : ImmutableRuleRecord{};
  }

  // As the server wires it: refuse when an enabled rule matches.
  void Enforce() {
    auto decide = [](const std::vector<ImmutableRuleRecord>& rules, std::string_view repo,
                     const std::vector<std::string>& tags, TagChange) -> Status {
      for (const auto& t : tags) {
        auto m = MatchingImmutableRule(rules, repo, t);
        if (!m.ok()) return m.status();
        if (*m != 0) {
          return Status(Code::kPreconditionFailed, "immutable " + t + " rule " + std::to_string(*m),
                        "PRECONDITION");
        }
      }
      return {};
    };
    registry_->set_tag_guard(rules_->Guard(decide));
    artifacts_->set_tag_guard(rules_->Guard(decide));
  }

  NewManifest Manifest(const std::string& repo, const std::string& seed, const std::string& tag) {
    EXPECT_TRUE(registry_->LinkBlob(repo, Dg(seed + "-layer"), 10).ok());
    NewManifest m;
    m.repository = repo;
    m.digest = Dg(seed);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.manifest_size = 100;
    m.blobs = {Dg(seed + "-layer")};
    m.tag = tag;
    return m;
  }

  StatusOr<ArtifactRecord> Push(const std::string& repo, const std::string& seed,
                                const std::string& tag) {
    return registry_->PutManifest(Manifest(repo, seed, tag));
  }

  std::string TagTarget(const std::string& repo, const std::string& tag) {
    auto a = registry_->GetArtifactByTag(repo, tag);
    EXPECT_TRUE(a.ok());
    return a.ok() && *a ? (*a)->digest : "";
  }

  std::unique_ptr<RegistryStore> registry_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<ImmutableRuleStore> rules_;
};

TEST_P(ImmutableRuleStoreTest, CreateGetAndRefuseDuplicates) {
  int64_t p = Project("alpha");
  ImmutableRuleRecord r = Rule(p, "team/**", "v*");
  r.priority = 7;
  ImmutableRuleRecord made = Made(r);
  EXPECT_GT(made.id, 0);
  EXPECT_GT(made.creation_time, 0);
  auto got = rules_->Get(made.id);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  const ImmutableRuleRecord& g = **got;
  EXPECT_EQ(g.project_id, p);
  EXPECT_EQ(g.priority, 7);
  EXPECT_FALSE(g.disabled);
  EXPECT_EQ(g.action, "immutable");
  EXPECT_EQ(g.template_name, "immutable_template");
  EXPECT_EQ(g.repository.decoration, "repoMatches");
  EXPECT_EQ(g.repository.pattern, "team/**");
  EXPECT_EQ(g.tag.kind, "doublestar");
  EXPECT_EQ(g.tag.pattern, "v*");

  // Same selectors: 409, whatever the priority or state.
  ImmutableRuleRecord again = Rule(p, "team/**", "v*", true);
  again.priority = 1;
  EXPECT_EQ(rules_->Create(again, 15).status().code(), Code::kConflict);
  // Another decoration, or another project, is another rule.
  Made(Rule(p, "team/**", "v*", false, "excludes"));
  Made(Rule(Project("beta"), "team/**", "v*"));
  EXPECT_EQ(rules_->Create(Rule(p + 1000, "x", "y"), 15).status().code(), Code::kNotFound);
  auto none = rules_->Get(made.id + 1000);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(ImmutableRuleStoreTest, AtMostTheLimitPerProject) {
  int64_t p = Project("full");
  int64_t q = Project("other");
  for (int i = 0; i < 15; ++i) Made(Rule(p, "**", "v" + std::to_string(i)));
  auto over = rules_->Create(Rule(p, "**", "v15"), 15);
  EXPECT_EQ(over.status().code(), Code::kInvalidArgument);
  EXPECT_NE(over.status().message().find("15"), std::string::npos);
  Made(Rule(q, "**", "v15"));  // per project
  // Concurrent creations cannot pass the limit together.
  int64_t r = Project("race");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      if (rules_->Create(Rule(r, "**", "t" + std::to_string(i)), 15).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 15);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM immutable_tag_rule WHERE project_id = $1", {SqlInt(r)}),
            15);
}

TEST_P(ImmutableRuleStoreTest, ListsWithQuerySortAndPages) {
  int64_t p = Project("listed");
  int64_t other = Project("unlisted");
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ImmutableRuleRecord r = Rule(p, "**", "v" + std::to_string(i), i % 2 == 1);
    r.priority = 10 - i;
    ids.push_back(Made(r).id);
  }
  Made(Rule(other, "**", "v0"));
  auto all = rules_->List(p, {});
  ASSERT_OK(all);
  EXPECT_EQ(all->total, 5);
  ASSERT_EQ(all->items.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(all->items[i].id, ids[i]);

  ListQuery page;
  page.page = 2;
  page.page_size = 2;
  auto p2 = rules_->List(p, page);
  ASSERT_OK(p2);
  EXPECT_EQ(p2->total, 5);
  ASSERT_EQ(p2->items.size(), 2u);
  EXPECT_EQ(p2->items[0].id, ids[2]);

  ListQuery by_priority;
  by_priority.sort = {{"priority", false}};
  auto sorted = rules_->List(p, by_priority);
  ASSERT_OK(sorted);
  EXPECT_EQ(sorted->items.front().id, ids[4]);

  ListQuery disabled;
  disabled.terms.push_back({"disabled", QueryTerm::Op::kExact, {"true"}});
  auto d = rules_->List(p, disabled);
  ASSERT_OK(d);
  EXPECT_EQ(d->total, 2);

  ListQuery unknown;
  unknown.terms.push_back({"pattern", QueryTerm::Op::kExact, {"x"}});
  EXPECT_EQ(rules_->List(p, unknown).status().code(), Code::kInvalidArgument);

  auto enabled = rules_->EnabledRules(p);
  ASSERT_OK(enabled);
  ASSERT_EQ(enabled->size(), 3u);
  EXPECT_EQ((*enabled)[0].id, ids[0]);
  EXPECT_EQ((*enabled)[2].id, ids[4]);
}

TEST_P(ImmutableRuleStoreTest, UpdateAndDelete) {
  int64_t p = Project("edited");
  ImmutableRuleRecord a = Made(Rule(p, "**", "a"));
  ImmutableRuleRecord b = Made(Rule(p, "**", "b"));
  ImmutableRuleRecord changed = Rule(p, "app", "c*", true);
  changed.id = a.id;
  changed.priority = 3;
  ASSERT_OK(rules_->Update(changed));
  auto got = rules_->Get(a.id);
  ASSERT_OK(got);
  EXPECT_TRUE((*got)->disabled);
  EXPECT_EQ((*got)->priority, 3);
  EXPECT_EQ((*got)->repository.pattern, "app");
  EXPECT_EQ((*got)->tag.pattern, "c*");
  // Onto another rule's selectors: 409, and nothing changes.
  ImmutableRuleRecord clash = Rule(p, "**", "b");
  clash.id = a.id;
  EXPECT_EQ(rules_->Update(clash).code(), Code::kConflict);
  EXPECT_EQ((*rules_->Get(a.id))->tag.pattern, "c*");
  clash.id = b.id + 1000;
  EXPECT_EQ(rules_->Update(clash).code(), Code::kNotFound);

  ASSERT_OK(rules_->Delete(b.id));
  EXPECT_EQ(rules_->Delete(b.id).code(), Code::kNotFound);
  EXPECT_FALSE(rules_->Get(b.id)->has_value());
}

TEST_P(ImmutableRuleStoreTest, RulesGoWithTheirProject) {
  int64_t p = Project("doomed");
  int64_t kept = Project("kept");
  ImmutableRuleRecord r = Made(Rule(p, "**", "**"));
  Made(Rule(kept, "**", "**"));
  ASSERT_OK(projects_->Delete(p));
  EXPECT_FALSE(rules_->Get(r.id)->has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM immutable_tag_rule"), 1);
}

TEST_P(ImmutableRuleStoreTest, GuardRefusesOverwritesInsideThePush) {
  int64_t p = Project("lib");
  Enforce();
  Made(Rule(p, "app", "v*"));
  ASSERT_OK(Push("lib/app", "one", "v1"));
  // The same digest again is a push, not an overwrite.
  ASSERT_OK(Push("lib/app", "one", "v1"));
  auto moved = Push("lib/app", "two", "v1");
  EXPECT_EQ(moved.status().code(), Code::kPreconditionFailed);
  EXPECT_EQ(moved.status().api_code(), "PRECONDITION");
  EXPECT_EQ(TagTarget("lib/app", "v1"), Dg("one"));
  // The refused push left no artifact behind (the whole write rolled back).
  auto two = registry_->GetArtifactByDigest("lib/app", Dg("two"));
  ASSERT_OK(two);
  EXPECT_FALSE(two->has_value());
  // Tags no rule matches move freely; so do tags of other repositories.
  ASSERT_OK(Push("lib/app", "one", "latest"));
  ASSERT_OK(Push("lib/app", "two", "latest"));
  ASSERT_OK(Push("lib/other", "one", "v1"));
  ASSERT_OK(Push("lib/other", "two", "v1"));
  // A project of the same name prefix is another project.
  int64_t q = Project("lib2");
  (void)q;
  ASSERT_OK(Push("lib2/app", "one", "v1"));
  ASSERT_OK(Push("lib2/app", "two", "v1"));
}

TEST_P(ImmutableRuleStoreTest, GuardRefusesEveryDeletePath) {
  int64_t p = Project("lib");
  Enforce();
  ImmutableRuleRecord rule = Made(Rule(p, "**", "v1"));
  auto a = Push("lib/app", "one", "v1");
  ASSERT_OK(a);
  ASSERT_OK(Push("lib/app", "one", "dev"));
  EXPECT_EQ(registry_->DeleteTag("lib/app", "v1").code(), Code::kPreconditionFailed);
  EXPECT_EQ(artifacts_->DeleteTag(a->id, "v1").code(), Code::kPreconditionFailed);
  EXPECT_EQ(registry_->DeleteArtifact("lib/app", Dg("one")).code(), Code::kPreconditionFailed);
  EXPECT_EQ(registry_->DeleteRepository("lib/app").code(), Code::kPreconditionFailed);
  EXPECT_EQ(TagTarget("lib/app", "v1"), Dg("one"));
  // Mutable tags still go.
  ASSERT_OK(artifacts_->DeleteTag(a->id, "dev"));
  ASSERT_OK(Push("lib/app", "one", "dev"));
  ASSERT_OK(registry_->DeleteTag("lib/app", "dev"));

  // A signature's tag protects its subject too: deleting the subject would
  // delete the accessory and its tag.
  ASSERT_OK(Push("lib/signed", "subject", "dev"));
  NewManifest sig = Manifest("lib/signed", "sig", "v1");
  sig.accessory_of = Dg("subject");
  sig.accessory_type = "signature.cosign";
  ASSERT_OK(registry_->PutManifest(sig));
  EXPECT_EQ(registry_->DeleteArtifact("lib/signed", Dg("subject")).code(),
            Code::kPreconditionFailed);

  // Disabled, the rule protects nothing.
  ImmutableRuleRecord off = rule;
  off.disabled = true;
  ASSERT_OK(rules_->Update(off));
  ASSERT_OK(registry_->DeleteArtifact("lib/signed", Dg("subject")));
  ASSERT_OK(registry_->DeleteTag("lib/app", "v1"));
  ASSERT_OK(Push("lib/app", "two", "v1"));
  ASSERT_OK(registry_->DeleteRepository("lib/app"));
}

TEST_P(ImmutableRuleStoreTest, RacingFirstPushesOfAnImmutableTagCannotBothWin) {
  int64_t p = Project("race");
  Enforce();
  Made(Rule(p, "**", "v1"));
  ASSERT_OK(Push("race/app", "seed", "base"));
  std::vector<NewManifest> ms;
  for (int i = 0; i < 6; ++i) ms.push_back(Manifest("race/app", "m" + std::to_string(i), "v1"));
  std::atomic<int> won{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto r = registry_->PutManifest(ms[i]);
      if (r.ok()) {
        ++won;
      } else if (r.status().code() == Code::kPreconditionFailed) {
        ++refused;
      } else {
        ADD_FAILURE() << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), 5);
}

INSTANTIATE_TEST_SUITE_P(Backends, ImmutableRuleStoreTest,
                         ::testing::Values(store_test::Backend::kSqlite,
                                           store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
