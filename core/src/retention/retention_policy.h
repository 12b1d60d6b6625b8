// Harbor's tag-retention policy (swagger RetentionPolicy): the model, its
// validation (400 naming the field; 409 for two identical rules, as Harbor),
// its JSON form, and the metadata GET /retentions/metadatas serves.
#ifndef BERTH_RETENTION_RETENTION_POLICY_H_
#define BERTH_RETENTION_RETENTION_POLICY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth {

// Template ids (Harbor's src/pkg/retention/policy/rule/*).
inline constexpr char kTplLatestPushedK[] = "latestPushedK";
inline constexpr char kTplLatestPulledN[] = "latestPulledN";
inline constexpr char kTplLatestActiveK[] = "latestActiveK";
inline constexpr char kTplDaysSinceLastPush[] = "nDaysSinceLastPush";
inline constexpr char kTplDaysSinceLastPull[] = "nDaysSinceLastPull";
inline constexpr char kTplLastXDays[] = "lastXDays";
inline constexpr char kTplAlways[] = "always";
inline constexpr char kTplNothing[] = "nothing";

inline constexpr size_t kMaxRetentionRules = 15;

struct RetentionSelector {
  std::string kind;        // doublestar | label
  std::string decoration;  // matches, excludes, repoMatches, repoExcludes, withLabels, withoutLabels
  std::string pattern;
  std::string extras;      // JSON text, e.g. {"untagged":true}
  // Parsed from extras (tag doublestar selectors): whether untagged
  // artifacts are selected. Harbor's default: true for matches, false for
  // excludes.
  bool untagged = true;
};

struct RetentionRule {
  int64_t id = 0;
  int64_t priority = 0;
  bool disabled = false;
  std::string action = "retain";
  std::string template_id;
  nlohmann::json params = nlohmann::json::object();
  int64_t param = 0;  // the template's number (count or days), when it has one
  std::vector<RetentionSelector> tag_selectors;
  std::map<std::string, std::vector<RetentionSelector>> scope_selectors;  // "repository"
};

struct RetentionPolicy {
  int64_t id = 0;
  std::string algorithm = "or";
  std::vector<RetentionRule> rules;
  std::string trigger_kind = "Schedule";
  std::string cron;  // "" = no schedule
  nlohmann::json trigger_references = nlohmann::json::object();
  std::string scope_level = "project";
  int64_t project_id = 0;  // scope.ref
};

// Checks the body of POST/PUT /retentions. kInvalidArgument names the field
// (e.g. "rules[0].params.latestPushedK is less than zero"); kConflict when two
// rules are the same. The cron is checked by the caller (the job service's
// parser).
StatusOr<RetentionPolicy> ParseRetentionPolicy(const nlohmann::json& body);
nlohmann::json RetentionPolicyJson(const RetentionPolicy& p);
// GET /retentions/metadatas: the templates and selectors Harbor offers.
nlohmann::json RetentionMetadataJson();

}  // namespace berth

#endif  // BERTH_RETENTION_RETENTION_POLICY_H_
