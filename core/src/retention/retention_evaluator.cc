#include "retention/retention_evaluator.h"

#include <algorithm>
#include <ctime>

#include "common/strings.h"
#include "policy/selector.h"

namespace berth {

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

StatusOr<bool> TagSelects(const RetentionSelector& s, const RetentionCandidate& c) {
  if (c.tags.empty()) return s.decoration == "matches" ? s.untagged : !s.untagged;
  // matches: any tag matches; excludes: any tag does not match.
  Selector sel{s.kind, s.decoration, s.pattern};
  for (const auto& t : c.tags) {
    BERTH_ASSIGN_OR_RETURN(bool kept, SelectorSelects(sel, t));
    if (kept) return true;
  }
  return false;
}

bool LabelSelects(const RetentionSelector& s, const RetentionCandidate& c) {
  std::set<std::string> has(c.labels.begin(), c.labels.end());
  for (const auto& part : Split(s.pattern, ',')) {
    std::string name(Trim(part));
    if (name.empty()) continue;
    bool present = has.count(name) > 0;
    if (s.decoration == "withLabels" && !present) return false;
    if (s.decoration == "withoutLabels" && present) return false;
  }
  return true;
}

// The first k by `key` descending; ties go to the later id (pushed later).
template <class Key>
std::vector<const RetentionCandidate*> TopK(std::vector<const RetentionCandidate*> v, int64_t k,
                                            Key key) {
  std::sort(v.begin(), v.end(), [&](const RetentionCandidate* a, const RetentionCandidate* b) {
    int64_t ka = key(*a), kb = key(*b);
    return ka != kb ? ka > kb : a->id > b->id;
  });
  if (static_cast<int64_t>(v.size()) > k) v.resize(static_cast<size_t>(k));
  return v;
}

std::vector<const RetentionCandidate*> ApplyTemplate(const RetentionRule& r,
                                                     std::vector<const RetentionCandidate*> sel,
                                                     int64_t now_ms) {
  const std::string& t = r.template_id;
  std::vector<const RetentionCandidate*> out;
  if (t == kTplAlways) return sel;
  if (t == kTplNothing) return out;
  if (t == kTplLatestPushedK) {
    return TopK(std::move(sel), r.param, [](const RetentionCandidate& c) { return c.push_time; });
  }
  if (t == kTplLatestPulledN) {
    return TopK(std::move(sel), r.param, [](const RetentionCandidate& c) { return c.pull_time; });
  }
  if (t == kTplLatestActiveK) {
    return TopK(std::move(sel), r.param,
                [](const RetentionCandidate& c) { return std::max(c.push_time, c.pull_time); });
  }
  int64_t cutoff = now_ms - r.param * kDayMs;
  for (const RetentionCandidate* c : sel) {
    bool keep = false;
    if (t == kTplDaysSinceLastPush) keep = c->push_time >= cutoff;
    if (t == kTplDaysSinceLastPull) keep = c->pull_time > 0 && c->pull_time >= cutoff;
    if (t == kTplLastXDays) keep = c->push_time > cutoff;
    if (keep) out.push_back(c);
  }
  return out;
}

std::string FormatTime(int64_t ms) {
  if (ms <= 0) return "";
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y/%m/%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

StatusOr<std::vector<const RetentionRule*>> RulesForRepository(const RetentionPolicy& policy,
                                                               std::string_view repository) {
  std::vector<const RetentionRule*> out;
  for (const auto& r : policy.rules) {
    if (r.disabled) continue;
    bool in = true;
    for (const auto& [key, list] : r.scope_selectors) {
      for (const auto& s : list) {
        BERTH_ASSIGN_OR_RETURN(bool kept,
                               SelectorSelects({s.kind, s.decoration, s.pattern}, repository));
        if (!kept) in = false;
      }
    }
    if (in) out.push_back(&r);
  }
  return out;
}

StatusOr<std::set<int64_t>> RetainedBy(const std::vector<const RetentionRule*>& rules,
                                       const std::vector<RetentionCandidate>& candidates,
                                       int64_t now_ms) {
  std::set<int64_t> retained;
  for (const RetentionRule* r : rules) {
    std::vector<const RetentionCandidate*> sel;
    for (const auto& c : candidates) sel.push_back(&c);
    for (const auto& s : r->tag_selectors) {
      std::vector<const RetentionCandidate*> next;
      for (const RetentionCandidate* c : sel) {
        bool keep;
        if (s.kind == "label") {
          keep = LabelSelects(s, *c);
        } else {
          BERTH_ASSIGN_OR_RETURN(keep, TagSelects(s, *c));
        }
        if (keep) next.push_back(c);
      }
      sel = std::move(next);
    }
    for (const RetentionCandidate* c : ApplyTemplate(*r, std::move(sel), now_ms)) {
      retained.insert(c->id);
    }
  }
  return retained;
}

std::string RetentionTable(const std::vector<RetentionCandidate>& candidates,
                           const std::map<int64_t, std::string>& marks) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"Digest", "Tag", "Kind", "Labels", "PushedTime", "PulledTime", "CreatedTime",
                  "Retention"});
  for (const auto& c : candidates) {
    auto m = marks.find(c.id);
    rows.push_back({c.digest, Join(c.tags, ","), "image", Join(c.labels, ","),
                    FormatTime(c.push_time), FormatTime(c.pull_time), FormatTime(c.creation_time),
                    m == marks.end() ? "RETAIN" : m->second});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  // tablewriter's layout with left/right borders only: "| a | b |", the
  // header centred and followed by a "|---|---|" rule.
  std::string out;
  for (size_t n = 0; n < rows.size(); ++n) {
    out += "|";
    for (size_t i = 0; i < rows[n].size(); ++i) {
      const std::string& cell = rows[n][i];
      size_t pad = width[i] - cell.size();
      size_t left = n == 0 ? pad / 2 : 0;
      out += " " + std::string(left, ' ') + cell + std::string(pad - left, ' ') + " |";
    }
    out += "\n";
    if (n == 0) {
      out += "|";
      for (size_t w : width) out += std::string(w + 2, '-') + "|";
      out += "\n";
    }
  }
  return out;
}

}  // namespace berth
