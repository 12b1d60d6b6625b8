// LabelController's rule for labelling an artifact of a project (a global
// label, or one of that project's own; only for callers who may attach
// labels there), on the real stores of both backends.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "auth/rbac.h"
#include "common/logger.h"
#include "config/config.h"
#include "config/runtime_settings.h"
#include "iam/project_controller.h"
#include "label/label_controller.h"
#include "store/audit_store.h"
#include "store/label_store.h"
#include "store/project_store.h"
#include "store/user_store.h"
#include "store_test_support.h"

namespace berth {
namespace {

class LabelControllerTest : public store_test::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (HasFatalFailure()) return;
    users_ = std::make_unique<UserStore>(*db_);
    audit_store_ = std::make_unique<AuditStore>(*db_);
    audit_ = std::make_unique<AuditLog>(*audit_store_, log_);
    evaluator_ = std::make_unique<AccessEvaluator>(*projects_);
    project_controller_ =
        std::make_unique<ProjectController>(*projects_, *users_, *evaluator_, *audit_, settings_);
    labels_ = std::make_unique<LabelStore>(*db_);
    controller_ = std::make_unique<LabelController>(*labels_, *project_controller_, *evaluator_);
  }

  void TearDown() override {
    controller_.reset();
    labels_.reset();
    project_controller_.reset();
    evaluator_.reset();
    audit_.reset();
    audit_store_.reset();
    users_.reset();
    StoreTestBase::TearDown();
  }

  // A user identity with `role` in `project_id` (0: no membership).
  Identity Member(const std::string& name, int64_t project_id, int role) {
    UserRecord u;
    u.username = name;
    u.email = name + "@example.com";
    auto made = users_->Create(u);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (project_id != 0) {
      EXPECT_TRUE(projects_->AddMember(project_id, made->user_id, "u", role).ok());
    }
    Identity who;
    who.kind = Identity::Kind::kUser;
    who.username = name;
    who.user_id = made->user_id;
    who.method = "basic";
    return who;
  }

  int64_t Label(const std::string& name, int64_t project_id) {
    LabelRecord l;
    l.name = name;
    l.project_id = project_id;
    auto made = labels_->Create(l);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? made->id : 0;
  }

  Logger log_{LogLevel::kError};
  SettingsSource settings_{RuntimeSettings{}};
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<AuditStore> audit_store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<AccessEvaluator> evaluator_;
  std::unique_ptr<ProjectController> project_controller_;
  std::unique_ptr<LabelStore> labels_;
  std::unique_ptr<LabelController> controller_;
};

TEST_P(LabelControllerTest, ResolveForArtifactTakesGlobalAndOwnProjectLabels) {
  int64_t p = Project("mine");
  int64_t other = Project("theirs");
  int64_t global = Label("global", 0);
  int64_t own = Label("own", p);
  int64_t foreign = Label("foreign", other);
  Identity dev = Member("dev", p, rbac::kDeveloper);

  auto g = controller_->ResolveForArtifact(dev, p, global);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->scope, "g");
  auto o = controller_->ResolveForArtifact(dev, p, own);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->project_id, p);

  auto f = controller_->ResolveForArtifact(dev, p, foreign);
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument) << f.status().ToString();
  EXPECT_EQ(f.status().api_code(), "BAD_REQUEST");
  auto missing = controller_->ResolveForArtifact(dev, p, foreign + 1000);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().api_code(), "NOT_FOUND");

  Identity admin;
  admin.kind = Identity::Kind::kUser;
  admin.username = "admin";
  admin.sysadmin = true;
  EXPECT_TRUE(controller_->ResolveForArtifact(admin, other, foreign).ok());
  EXPECT_EQ(controller_->ResolveForArtifact(admin, p, foreign).status().code(),
            Code::kInvalidArgument);  // not even for administrators
  EXPECT_EQ(controller_->ResolveForArtifact(admin, 987654, global).status().code(),
            Code::kNotFound);  // no such project
}

TEST_P(LabelControllerTest, ResolveForArtifactNeedsTheArtifactLabelPermission) {
  int64_t p = Project("guarded");
  int64_t global = Label("g", 0);
  // artifact-label create: project admin, maintainer, developer.
  for (int role : {rbac::kProjectAdmin, rbac::kMaintainer, rbac::kDeveloper}) {
    Identity who = Member("ok" + std::to_string(role), p, role);
    EXPECT_TRUE(controller_->ResolveForArtifact(who, p, global).ok()) << "role " << role;
  }
  for (int role : {rbac::kGuest, rbac::kLimitedGuest}) {
    Identity who = Member("no" + std::to_string(role), p, role);
    EXPECT_EQ(controller_->ResolveForArtifact(who, p, global).status().code(),
              Code::kPermissionDenied)
        << "role " << role;
  }
  Identity outsider = Member("outsider", 0, 0);
  EXPECT_EQ(controller_->ResolveForArtifact(outsider, p, global).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(controller_->ResolveForArtifact(Identity{}, p, global).status().code(),
            Code::kUnauthenticated);
  // Refused before the label is looked at: no probing for label ids.
  EXPECT_EQ(controller_->ResolveForArtifact(outsider, p, global + 1000).status().code(),
            Code::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Backends, LabelControllerTest,
                         ::testing::Values(store_test::Backend::kSqlite,
                                           store_test::Backend::kPostgres),
                         [](const auto& info) { return store_test::BackendName(info.param); });

}  // namespace
}  // namespace berth
