// Labels in the store layer, on SQLite and PostgreSQL: names unique per
// scope and project, lists by scope with Harbor's q/sort/paging, updates,
// attaching to artifacts (and what goes with a deleted label, artifact or
// project), and the labels of a page of artifacts in one call
// (store_test_support.h fixture).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/digest.h"
#include "store/label_store.h"
#include "store/project_store.h"
#include "store/registry_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

using testing_support::Dg;

class LabelStoreTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    registry_ = std::make_unique<RegistryStore>(*db_);
    labels_ = std::make_unique<LabelStore>(*db_);
  }

  void TearDown() override {
    labels_.reset();
    registry_.reset();
    StoreTestBase::TearDown();
  }

  LabelRecord Label(const std::string& name, int64_t project_id = 0,
                    const std::string& color = "#000000") {
    LabelRecord l;
    l.name = name;
    l.description = "about " + name;
    l.color = color;
    l.project_id = project_id;
    auto made = labels_->Create(l);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : LabelRecord{};
  }

  // An artifact pushed the way a client pushes it (blob linked, manifest put).
  int64_t Artifact(const std::string& repo, const std::string& seed) {
    EXPECT_TRUE(registry_->LinkBlob(repo, Dg(seed + "-layer"), 10).ok());
    NewManifest m;
    m.repository = repo;
    m.digest = Dg(seed);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.manifest_size = 100;
    m.blobs = {Dg(seed + "-layer")};
    m.tag = seed;
    auto a = registry_->PutManifest(m);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->id : 0;
  }

  std::vector<std::string> Names(const LabelFilter& f, const ListQuery& q = {}) {
    auto page = labels_->List(f, q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& l : page->items) out.push_back(l.name);
    }
    return out;
  }

  std::unique_ptr<RegistryStore> registry_;
  std::unique_ptr<LabelStore> labels_;
};

using Strings = std::vector<std::string>;

TEST_P(LabelStoreTest, CreateAndGetGlobalAndProjectLabels) {
  int64_t p = Project("alpha");
  LabelRecord g = Label("stable");
  EXPECT_GT(g.id, 0);
  EXPECT_EQ(g.scope, "g");
  EXPECT_EQ(g.project_id, 0);
  EXPECT_GT(g.creation_time, 0);
  EXPECT_EQ(g.update_time, g.creation_time);

  LabelRecord pl = Label("stable", p, "#FF0000");
  EXPECT_NE(pl.id, g.id);
  EXPECT_EQ(pl.scope, "p");
  EXPECT_EQ(pl.project_id, p);

  auto got = labels_->Get(pl.id);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->name, "stable");
  EXPECT_EQ((*got)->description, "about stable");
  EXPECT_EQ((*got)->color, "#FF0000");
  EXPECT_EQ((*got)->scope, "p");
  EXPECT_EQ((*got)->project_id, p);
  got = labels_->Get(g.id);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->scope, "g");
  EXPECT_EQ((*got)->project_id, 0);

  auto none = labels_->Get(g.id + 1000);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(LabelStoreTest, NamesAreUniquePerScopeAndProject) {
  int64_t a = Project("a");
  int64_t b = Project("b");
  Label("dup");
  Label("dup", a);
  Label("dup", b);  // another project: fine
  Label("Dup");     // names are case-sensitive, as in Harbor

  LabelRecord again;
  again.name = "dup";
  auto global = labels_->Create(again);
  EXPECT_EQ(global.status().code(), Code::kConflict) << global.status().ToString();
  EXPECT_EQ(global.status().api_code(), "CONFLICT");
  again.project_id = a;
  EXPECT_EQ(labels_->Create(again).status().code(), Code::kConflict);

  again.project_id = 999999;
  EXPECT_EQ(labels_->Create(again).status().code(), Code::kNotFound);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM label"), 4);
}

TEST_P(LabelStoreTest, ListsByScopeWithQuerySortAndPages) {
  int64_t a = Project("a");
  int64_t b = Project("b");
  Label("prod");
  Label("qa");
  Label("dev-x");
  Label("a-prod", a);
  Label("a-dev", a);
  Label("b-only", b);

  LabelFilter global;
  EXPECT_EQ(Names(global), (Strings{"prod", "qa", "dev-x"}));  // by id
  LabelFilter of_a{"p", a};
  EXPECT_EQ(Names(of_a), (Strings{"a-prod", "a-dev"}));
  EXPECT_EQ(Names(LabelFilter{"p", b}), (Strings{"b-only"}));
  EXPECT_TRUE(Names(LabelFilter{"p", 424242}).empty());

  ListQuery fuzzy;
  fuzzy.terms.push_back({"name", QueryTerm::Op::kFuzzy, {"PROD"}});
  EXPECT_EQ(Names(global, fuzzy), (Strings{"prod"}));
  EXPECT_EQ(Names(of_a, fuzzy), (Strings{"a-prod"}));

  ListQuery sorted;
  sorted.sort = {{"name", true}};
  EXPECT_EQ(Names(global, sorted), (Strings{"qa", "prod", "dev-x"}));

  // q cannot widen the scope: its terms are ANDed with it.
  ListQuery other;
  other.terms.push_back({"project_id", QueryTerm::Op::kExact, {std::to_string(b)}});
  EXPECT_TRUE(Names(of_a, other).empty());
  other.terms = {{"scope", QueryTerm::Op::kExact, {"p"}}};
  EXPECT_TRUE(Names(global, other).empty());
  EXPECT_EQ(Names(of_a, other).size(), 2u);

  ListQuery paged;
  paged.page_size = 2;
  paged.page = 2;
  auto page = labels_->List(global, paged);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "dev-x");

  ListQuery bad;
  bad.terms.push_back({"nope", QueryTerm::Op::kExact, {"x"}});
  EXPECT_EQ(labels_->List(global, bad).status().code(), Code::kInvalidArgument);
}

TEST_P(LabelStoreTest, UpdateRenamesAndRefusesTakenNames) {
  int64_t p = Project("p");
  LabelRecord one = Label("one", p);
  Label("two", p);
  LabelRecord global = Label("two");

  ASSERT_OK(labels_->Update(one.id, "uno", "first", "#111111"));
  auto got = labels_->Get(one.id);
  ASSERT_OK(got);
  EXPECT_EQ((*got)->name, "uno");
  EXPECT_EQ((*got)->description, "first");
  EXPECT_EQ((*got)->color, "#111111");
  EXPECT_EQ((*got)->scope, "p");
  EXPECT_GE((*got)->update_time, one.update_time);

  Status taken = labels_->Update(one.id, "two", "", "");
  EXPECT_EQ(taken.code(), Code::kConflict) << taken.ToString();
  EXPECT_EQ(labels_->Update(global.id, "two", "same name, new text", "").code(), Code::kOk);
  EXPECT_EQ(labels_->Update(global.id + 1000, "x", "", "").code(), Code::kNotFound);
}

TEST_P(LabelStoreTest, AttachDetachAndLabelsOfArtifacts) {
  int64_t p = Project("proj");
  int64_t a1 = Artifact("proj/app", "one");
  int64_t a2 = Artifact("proj/app", "two");
  int64_t a3 = Artifact("proj/other", "three");
  LabelRecord g = Label("global");
  LabelRecord pl = Label("mine", p);

  ASSERT_OK(labels_->AttachToArtifact(a1, pl.id));
  ASSERT_OK(labels_->AttachToArtifact(a1, g.id));
  ASSERT_OK(labels_->AttachToArtifact(a2, g.id));
  Status twice = labels_->AttachToArtifact(a1, g.id);
  EXPECT_EQ(twice.code(), Code::kConflict) << twice.ToString();
  EXPECT_EQ(twice.api_code(), "CONFLICT");
  EXPECT_EQ(labels_->AttachToArtifact(a1, g.id + 1000).code(), Code::kNotFound);
  EXPECT_EQ(labels_->AttachToArtifact(a3 + 1000, g.id).code(), Code::kNotFound);

  auto of = labels_->LabelsOfArtifacts({a1, a2, a3, a1});
  ASSERT_OK(of);
  ASSERT_EQ(of->size(), 3u);  // every requested artifact, once
  ASSERT_EQ(of->at(a1).size(), 2u);
  EXPECT_EQ(of->at(a1)[0].id, g.id);  // by label id
  EXPECT_EQ(of->at(a1)[0].scope, "g");
  EXPECT_EQ(of->at(a1)[1].id, pl.id);
  EXPECT_EQ(of->at(a1)[1].project_id, p);
  EXPECT_EQ(of->at(a1)[1].description, "about mine");
  ASSERT_EQ(of->at(a2).size(), 1u);
  EXPECT_EQ(of->at(a2)[0].name, "global");
  EXPECT_TRUE(of->at(a3).empty());
  auto empty = labels_->LabelsOfArtifacts({});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());

  ASSERT_OK(labels_->DetachFromArtifact(a1, pl.id));
  EXPECT_EQ(labels_->DetachFromArtifact(a1, pl.id).code(), Code::kNotFound);
  EXPECT_EQ(labels_->DetachFromArtifact(a3, g.id).code(), Code::kNotFound);
  of = labels_->LabelsOfArtifacts({a1});
  ASSERT_OK(of);
  ASSERT_EQ(of->at(a1).size(), 1u);
  EXPECT_EQ(of->at(a1)[0].id, g.id);
  ASSERT_OK(labels_->AttachToArtifact(a1, pl.id));  // and again after detaching
}

TEST_P(LabelStoreTest, ManyArtifactsInOneCall) {
  Project("many");
  LabelRecord g = Label("g");
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Artifact("many/r", "m" + std::to_string(i)));
    ASSERT_OK(labels_->AttachToArtifact(ids.back(), g.id));
  }
  // More ids than one statement binds (unknown ids simply have no labels).
  std::vector<int64_t> asked = ids;
  for (int64_t i = 1; i <= 1200; ++i) asked.push_back(1000000 + i);
  auto of = labels_->LabelsOfArtifacts(asked);
  ASSERT_OK(of);
  EXPECT_EQ(of->size(), asked.size());
  for (int64_t id : ids) EXPECT_EQ(of->at(id).size(), 1u);
}

TEST_P(LabelStoreTest, DeletingALabelDetachesIt) {
  Project("d");
  int64_t a = Artifact("d/app", "x");
  LabelRecord g = Label("gone");
  LabelRecord kept = Label("kept");
  ASSERT_OK(labels_->AttachToArtifact(a, g.id));
  ASSERT_OK(labels_->AttachToArtifact(a, kept.id));
  ASSERT_OK(labels_->Delete(g.id));
  EXPECT_EQ(labels_->Delete(g.id).code(), Code::kNotFound);
  auto of = labels_->LabelsOfArtifacts({a});
  ASSERT_OK(of);
  ASSERT_EQ(of->at(a).size(), 1u);
  EXPECT_EQ(of->at(a)[0].id, kept.id);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_label WHERE label_id = $1", {SqlInt(g.id)}), 0);
  // The name is free again.
  Label("gone");
}

TEST_P(LabelStoreTest, DeletedArtifactsAndProjectsTakeTheirLabelsAlong) {
  int64_t p = Project("doomed");
  int64_t a = Artifact("doomed/app", "x");
  LabelRecord g = Label("g");
  LabelRecord pl = Label("p", p);
  ASSERT_OK(labels_->AttachToArtifact(a, g.id));
  ASSERT_OK(labels_->AttachToArtifact(a, pl.id));

  ASSERT_OK(registry_->DeleteArtifact("doomed/app", Dg("x")));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM artifact_label"), 0);

  ASSERT_OK(registry_->DeleteRepository("doomed/app"));
  ASSERT_OK(projects_->Delete(p));
  auto gone = labels_->Get(pl.id);
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  auto still = labels_->Get(g.id);
  ASSERT_OK(still);
  EXPECT_TRUE(still->has_value());  // global labels stay
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM label"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, LabelStoreTest,
                         ::testing::Values(store_test::Backend::kSqlite,
                                           store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
