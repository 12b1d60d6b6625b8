#include "policy/doublestar.h"

#include <string>
#include <utility>
#include <vector>

namespace berth {

namespace {

// Patterns and names are compared per code point, as Go's runes.
using U32 = std::u32string;

constexpr size_t kNone = static_cast<size_t>(-1);

U32 Decode(std::string_view s) {
  U32 out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      valid = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!valid) {
      // A stray byte stands for itself (in the surrogate range no code point uses).
      out.push_back(0xDC00 + b);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

Status Bad(const std::string& why) {
  return Status::InvalidArgument("malformed doublestar pattern: " + why, "BAD_REQUEST");
}

// The first unescaped ']' after p[from]; kNone when there is none.
size_t ClassEnd(const U32& p, size_t from) {
  for (size_t j = from; j < p.size(); ++j) {
    if (p[j] == '\\') {
      ++j;
    } else if (p[j] == ']') {
      return j;
    }
  }
  return kNone;
}

// Moves past p[i] (an escape pair or a whole class counts as one token).
size_t SkipToken(const U32& p, size_t i) {
  if (p[i] == '\\') return i + 2;
  if (p[i] == '[') {
    size_t end = ClassEnd(p, i + 1);
    if (end != kNone) return end + 1;
  }
  return i + 1;
}

struct CharClass {
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;
  bool Has(char32_t c) const {
    bool in = false;
    for (const auto& [lo, hi] : ranges) in = in || (lo <= c && c <= hi);
    return in != negated;
  }
};

// Parses the class opening at p[i] == '['; *end is its closing ']'. The
// rules are Go doublestar's: non-empty, '-' only between two characters,
// '\' escapes, a leading '^' negates.
Status ParseClass(const U32& p, size_t i, CharClass* out, size_t* end) {
  *end = ClassEnd(p, i + 1);
  if (*end == kNone) return Bad("'[' without a closing ']'");
  U32 c = p.substr(i + 1, *end - i - 1);
  if (c.empty()) return Bad("empty character class '[]'");
  size_t k = 0;
  if (c[0] == '^' || c[0] == '!') {
    out->negated = true;
    ++k;
  }
  auto one = [&](char32_t* v) -> Status {
    if (c[k] == '-') return Bad("'-' must sit between two characters in a class");
    *v = c[k++];
    if (*v == '\\') {
      if (k >= c.size()) return Bad("'\\' ends a character class");
      *v = c[k++];
    }
    return {};
  };
  while (k < c.size()) {
    char32_t lo = 0, hi = 0;
    BERTH_RETURN_IF_ERROR(one(&lo));
    hi = lo;
    if (k < c.size() && c[k] == '-') {
      if (++k >= c.size()) return Bad("a class range has no upper end");
      BERTH_RETURN_IF_ERROR(one(&hi));
    }
    out->ranges.emplace_back(lo, hi);
  }
  return {};
}

// Checks one path component's syntax (braces are expanded by then).
Status CheckComponent(const U32& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      if (i + 1 >= p.size()) return Bad("the pattern ends with an escaping '\\'");
      ++i;
    } else if (p[i] == '[') {
      CharClass cc;
      size_t end = 0;
      BERTH_RETURN_IF_ERROR(ParseClass(p, i, &cc, &end));
      i = end;
    }
  }
  return {};
}

// Expands the first top-level {a,b,...} (alternatives may nest) until no
// brace is left.
Status Expand(const U32& p, std::vector<U32>* out) {
  size_t open = kNone;
  for (size_t i = 0; i < p.size(); i = SkipToken(p, i)) {
    if (p[i] == '{') {
      open = i;
      break;
    }
  }
  if (open == kNone) {
    if (out->size() >= kMaxDoublestarAlternatives) {
      return Bad("more than " + std::to_string(kMaxDoublestarAlternatives) + " alternatives");
    }
    out->push_back(p);
    return {};
  }
  std::vector<U32> alternatives;
  size_t start = open + 1;
  int depth = 1;
  size_t close = kNone;
  for (size_t i = open + 1; i < p.size(); i = SkipToken(p, i)) {
    if (p[i] == '{') {
      ++depth;
    } else if (p[i] == '}') {
      if (--depth == 0) {
        close = i;
        break;
      }
    } else if (p[i] == ',' && depth == 1) {
      alternatives.push_back(p.substr(start, i - start));
      start = i + 1;
    }
  }
  if (close == kNone) return Bad("'{' without a closing '}'");
  alternatives.push_back(p.substr(start, close - start));
  U32 prefix = p.substr(0, open);
  U32 suffix = p.substr(close + 1);
  for (const auto& alt : alternatives) {
    BERTH_RETURN_IF_ERROR(Expand(prefix + alt + suffix, out));
  }
  return {};
}

// Splits on '/' not escaped by '\'.
std::vector<U32> Components(const U32& p) {
  std::vector<U32> out(1);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      out.back() += p[i];
      out.back() += p[++i];
    } else if (p[i] == '/') {
      out.emplace_back();
    } else {
      out.back() += p[i];
    }
  }
  return out;
}

// Whether the pattern token at p[*pi] matches c; advances *pi past it.
bool MatchOne(const U32& p, size_t* pi, char32_t c) {
  char32_t t = p[*pi];
  if (t == '?') {
    ++*pi;
    return true;
  }
  if (t == '\\') {
    *pi += 2;
    return p[*pi - 1] == c;
  }
  if (t == '[') {
    CharClass cc;
    size_t end = 0;
    if (!ParseClass(p, *pi, &cc, &end).ok()) return false;  // validated before
    *pi = end + 1;
    return cc.Has(c);
  }
  ++*pi;
  return t == c;
}

// One component: '*' backtracks to the last star only, which is complete
// for patterns whose only repetition is '*' (linear in practice, never
// exponential).
bool MatchComponent(const U32& p, const U32& n) {
  size_t pi = 0, ni = 0;
  size_t star_p = kNone, star_n = 0;
  while (ni < n.size()) {
    if (pi < p.size()) {
      if (p[pi] == '*') {
        star_p = ++pi;
        star_n = ni;
        continue;
      }
      size_t next = pi;
      if (MatchOne(p, &next, n[ni])) {
        pi = next;
        ++ni;
        continue;
      }
    }
    if (star_p == kNone) return false;
    pi = star_p;
    ni = ++star_n;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// Go doublestar's doMatching: a "**" component takes zero or more name
// components, but not the last one's absence ("a/**" needs something under a).
bool MatchComponents(const std::vector<U32>& pc, size_t pi, const std::vector<U32>& nc,
                     size_t ni) {
  if (pi == pc.size() || ni == nc.size()) return pi == pc.size() && ni == nc.size();
  while (pi < pc.size() && ni < nc.size()) {
    if (pc[pi] == U"**") {
      if (++pi >= pc.size()) return true;
      for (; ni < nc.size(); ++ni) {
        if (MatchComponents(pc, pi, nc, ni)) return true;
      }
      return false;
    }
    if (!MatchComponent(pc[pi], nc[ni])) return false;
    ++pi;
    ++ni;
  }
  return pi >= pc.size() && ni >= nc.size();
}

// The pattern as brace-free alternatives split into components; validated.
Status Compile(std::string_view pattern, std::vector<std::vector<U32>>* out) {
  std::vector<U32> expanded;
  BERTH_RETURN_IF_ERROR(Expand(Decode(pattern), &expanded));
  for (const auto& e : expanded) {
    std::vector<U32> comps = Components(e);
    for (const auto& c : comps) BERTH_RETURN_IF_ERROR(CheckComponent(c));
    out->push_back(std::move(comps));
  }
  return {};
}

}  // namespace

Status ValidateDoublestar(std::string_view pattern) {
  std::vector<std::vector<U32>> compiled;
  return Compile(pattern, &compiled);
}

StatusOr<bool> DoublestarMatch(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return true;  // Harbor's selectors: no pattern, no filter
  std::vector<std::vector<U32>> compiled;
  BERTH_RETURN_IF_ERROR(Compile(pattern, &compiled));
  std::vector<U32> names;
  {
    U32 n = Decode(name);
    names.emplace_back();
    for (char32_t c : n) {
      if (c == '/') {
        names.emplace_back();
      } else {
        names.back() += c;
      }
    }
  }
  for (const auto& comps : compiled) {
    if (MatchComponents(comps, 0, names, 0)) return true;
  }
  return false;
}

}  // namespace berth
