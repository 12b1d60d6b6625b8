#include "jobs/cron.h"

#include <cctype>
#include <ctime>
#include <vector>

#include "common/strings.h"

namespace berth {

namespace {

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // optional aliases, index = value - lo
};

const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                               "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

bool ParseValue(std::string_view s, const FieldSpec& f, int* out) {
  if (f.names != nullptr) {
    std::string up(s);
    for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (int v = f.lo; v <= f.hi; ++v) {
      if (up == f.names[v - f.lo]) {
        *out = v;
        return true;
      }
    }
  }
  auto v = ParseInt64(s);
  if (!v || *v < f.lo || *v > f.hi) {
    // Day-of-week 7 is Sunday too.
    if (v && f.lo == 0 && f.hi == 6 && *v == 7) {
      *out = 0;
      return true;
    }
    return false;
  }
  *out = static_cast<int>(*v);
  return true;
}

// Sets the bits of one field; *star tells whether it was * or ?.
Status ParseField(std::string_view text, const FieldSpec& f, std::vector<bool>* bits, bool* star) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid cron " + std::string(f.name) + " field '" +
                                       std::string(text) + "': " + why,
                                   "BAD_REQUEST");
  };
  bits->assign(f.hi + 1, false);
  *star = text == "*" || text == "?";
  for (std::string_view part : Split(text, ',')) {
    if (part.empty()) return bad("empty list element");
    int step = 1;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      auto s = ParseInt64(part.substr(slash + 1));
      if (!s || *s <= 0 || *s > f.hi + 1) return bad("bad step");
      step = static_cast<int>(*s);
      part = part.substr(0, slash);
    }
    int lo, hi;
    if (part == "*" || part == "?") {
      lo = f.lo;
      hi = f.hi;
    } else if (size_t dash = part.find('-'); dash != std::string_view::npos) {
      if (!ParseValue(part.substr(0, dash), f, &lo) || !ParseValue(part.substr(dash + 1), f, &hi)) {
        return bad("value out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
      }
      if (lo > hi) return bad("range start after its end");
    } else {
      if (!ParseValue(part, f, &lo)) {
        return bad("value out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
      }
      // "n/s" means n, n+s, ... up to the field's end.
      hi = step > 1 ? f.hi : lo;
    }
    for (int v = lo; v <= hi; v += step) (*bits)[v] = true;
  }
  return {};
}

template <size_t N>
void Copy(const std::vector<bool>& v, std::bitset<N>* out) {
  for (size_t i = 0; i < N && i < v.size(); ++i) (*out)[i] = v[i];
}

}  // namespace

StatusOr<CronSchedule> CronSchedule::Parse(std::string_view spec_in) {
  std::string spec(Trim(spec_in));
  if (spec.empty()) return Status::InvalidArgument("empty cron expression", "BAD_REQUEST");
  if (spec[0] == '@') {
    static const std::pair<const char*, const char*> kMacros[] = {
        {"@yearly", "0 0 0 1 1 *"},  {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
        {"@weekly", "0 0 0 * * 0"},  {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
        {"@hourly", "0 0 * * * *"}};
    for (const auto& [name, expansion] : kMacros) {
      if (spec == name) {
        auto c = Parse(expansion);
        if (c.ok()) c->spec_ = spec;
        return c;
      }
    }
    return Status::InvalidArgument("unknown cron descriptor '" + spec + "'", "BAD_REQUEST");
  }
  std::vector<std::string> fields;
  for (std::string& f : Split(spec, ' ')) {
    if (!f.empty()) fields.push_back(std::move(f));
  }
  if (fields.size() != 6) {
    return Status::InvalidArgument(
        "cron expression '" + spec + "' must have 6 fields (second minute hour day-of-month "
        "month day-of-week), it has " + std::to_string(fields.size()),
        "BAD_REQUEST");
  }
  static const FieldSpec kFields[] = {{"second", 0, 59, nullptr},      {"minute", 0, 59, nullptr},
                                      {"hour", 0, 23, nullptr},        {"day-of-month", 1, 31, nullptr},
                                      {"month", 1, 12, kMonths},       {"day-of-week", 0, 6, kDays}};
  CronSchedule c;
  c.spec_ = spec;
  std::vector<bool> bits;
  bool star = false;
  BERTH_RETURN_IF_ERROR(ParseField(fields[0], kFields[0], &bits, &star));
  Copy(bits, &c.sec_);
  BERTH_RETURN_IF_ERROR(ParseField(fields[1], kFields[1], &bits, &star));
  Copy(bits, &c.min_);
  BERTH_RETURN_IF_ERROR(ParseField(fields[2], kFields[2], &bits, &star));
  Copy(bits, &c.hour_);
  BERTH_RETURN_IF_ERROR(ParseField(fields[3], kFields[3], &bits, &c.dom_star_));
  Copy(bits, &c.dom_);
  BERTH_RETURN_IF_ERROR(ParseField(fields[4], kFields[4], &bits, &star));
  Copy(bits, &c.month_);
  BERTH_RETURN_IF_ERROR(ParseField(fields[5], kFields[5], &bits, &c.dow_star_));
  Copy(bits, &c.dow_);
  return c;
}

int64_t CronSchedule::Next(int64_t after) const {
  // Walk forward field by field (largest first), resetting the smaller ones,
  // as robfig/cron does.
  time_t t = static_cast<time_t>(after + 1);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const int limit_year = tm.tm_year + 5;
  auto normalise = [&] {
    time_t x = timegm(&tm);
    gmtime_r(&x, &tm);
  };
  auto day_matches = [&] {
    bool d = dom_[tm.tm_mday], w = dow_[tm.tm_wday];
    if (dom_star_ || dow_star_) return d && w;
    return d || w;
  };
wrap:
  if (tm.tm_year > limit_year) return -1;
  while (!month_[tm.tm_mon + 1]) {
    tm.tm_mon++;
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    normalise();
    if (tm.tm_mon == 0) goto wrap;
  }
  while (!day_matches()) {
    int month = tm.tm_mon;
    tm.tm_mday++;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    normalise();
    if (tm.tm_mon != month) goto wrap;
  }
  while (!hour_[tm.tm_hour]) {
    int day = tm.tm_mday;
    tm.tm_hour++;
    tm.tm_min = tm.tm_sec = 0;
    normalise();
    if (tm.tm_mday != day) goto wrap;
  }
  while (!min_[tm.tm_min]) {
    int hour = tm.tm_hour;
    tm.tm_min++;
    tm.tm_sec = 0;
    normalise();
    if (tm.tm_hour != hour) goto wrap;
  }
  while (!sec_[tm.tm_sec]) {
    int minute = tm.tm_min;
    tm.tm_sec++;
    normalise();
    if (tm.tm_min != minute) goto wrap;
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace berth
