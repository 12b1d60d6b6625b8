// Harbor's preheat policy model (pkg/p2p/preheat/models/policy): the
// filters and trigger a policy carries as JSON strings, their validation
// (400s naming the field), and the candidate filtering the enforcer does.
#ifndef BERTH_PREHEAT_PREHEAT_POLICY_H_
#define BERTH_PREHEAT_PREHEAT_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth {

namespace preheat {
inline constexpr char kTriggerManual[] = "manual";
inline constexpr char kTriggerScheduled[] = "scheduled";
inline constexpr char kTriggerEventBased[] = "event_based";
// The severity code an artifact without a finished scan gets (Harbor's
// defaultSeverityCode): any vulnerability filter excludes it.
inline constexpr int kUnscannedSeverity = 99;
}  // namespace preheat

// Parsed `filters`: absent members filter nothing.
struct PreheatFilters {
  std::string repository;  // doublestar on the path inside the project
  std::string tag;         // doublestar
  std::vector<std::string> labels;  // all of them must be on the artifact
  std::optional<bool> signature;    // true: only signed artifacts
  std::optional<int> vulnerability; // keep artifacts whose severity code is below this
};

struct PreheatTrigger {
  std::string type = preheat::kTriggerManual;
  std::string cron;  // scheduled only
};

// ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$, Harbor's nameRegex for policies and
// instances. 400 naming `field`.
Status ValidatePreheatName(const std::string& name, const char* field);

// `filters` as Harbor stores it: a JSON array of {type, value}. Types:
// repository, tag (strings, doublestar patterns), label (array of strings,
// or one comma-separated string), signature (bool), vulnerability (a
// severity code 0..5, also as a numeric string). 400 naming filters[i].
StatusOr<PreheatFilters> ParsePreheatFilters(const std::string& filters);
// {"type": manual|scheduled|event_based, "trigger_setting": {"cron": ...}}.
// A scheduled trigger needs a cron that fires (checked by `check_cron`).
StatusOr<PreheatTrigger> ParsePreheatTrigger(const std::string& trigger);
// single_peer | all_peers (and Dragonfly's single_seed_peer, all_seed_peers);
// "" means single_peer.
StatusOr<std::string> ParsePreheatScope(const std::string& scope);
// "" or a JSON object (Dragonfly: {"cluster_ids": [1, 2]}).
Status ValidatePreheatExtraAttrs(const std::string& extra_attrs);

// One artifact tag, as Harbor's enforcer splits artifacts into candidates.
struct PreheatCandidate {
  std::string repository;  // full name, "library/team/app"
  std::string path;        // inside the project, "team/app"
  std::string tag;
  std::string digest;
  std::vector<std::string> labels;
  bool is_signed = false;
  int severity = preheat::kUnscannedSeverity;  // Severity code, 99 = not scanned
};

// Whether every filter keeps the candidate.
StatusOr<bool> PreheatFiltersKeep(const PreheatFilters& f, const PreheatCandidate& c);

// Harbor's overrideSecuritySettings: a project that enforces signatures
// (enable_content_trust / enable_content_trust_cosign) or prevents
// vulnerable pulls (prevent_vul + severity) imposes those criteria on its
// preheat policies. Returns what was overridden, for the task log.
std::vector<std::string> ApplyProjectSecurity(const std::map<std::string, std::string>& metadata,
                                              PreheatFilters* f);

}  // namespace berth

#endif  // BERTH_PREHEAT_PREHEAT_POLICY_H_
