#include "policy/doublestar.h"

#include <string>
#include <vector>

namespace berth {

namespace {

Status BadPattern(std::string_view pattern, const char* why) {
  return Status::InvalidArgument("bad pattern '" + std::string(pattern) + "': " + why,
                                 "BAD_REQUEST");
}

// The end of the brace group opened at `open` (the index of its '}'), or npos.
size_t CloseBrace(std::string_view p, size_t open) {
  int depth = 0;
  for (size_t i = open; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
    } else if (p[i] == '[') {
      // Braces inside a class are literal.
      size_t j = i + 1;
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      if (j >= p.size()) return std::string_view::npos;
      i = j;
    } else if (p[i] == '{') {
      ++depth;
    } else if (p[i] == '}') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

// Expands the first (outermost) brace group, recursively: "a{b,c{d,e}}" ->
// "ab", "acd", "ace". Patterns are short; the product stays small.
Status Expand(std::string_view p, std::vector<std::string>* out, int depth = 0) {
  if (depth > 16 || out->size() > 4096) return BadPattern(p, "too many alternatives");
  size_t open = std::string_view::npos;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] == '[') {
      size_t j = i + 1;
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      if (j >= p.size()) return BadPattern(p, "unclosed '['");
      i = j;
      continue;
    }
    if (p[i] == '{') {
      open = i;
      break;
    }
    if (p[i] == '}') return BadPattern(p, "unmatched '}'");
  }
  if (open == std::string_view::npos) {
    out->emplace_back(p);
    return {};
  }
  size_t close = CloseBrace(p, open);
  if (close == std::string_view::npos) return BadPattern(p, "unclosed '{'");
  std::string_view head = p.substr(0, open), tail = p.substr(close + 1);
  // Split the group's body on top-level commas.
  std::string_view body = p.substr(open + 1, close - open - 1);
  std::vector<std::string_view> alts;
  int d = 0;
  size_t start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\') {
      ++i;
    } else if (body[i] == '{') {
      ++d;
    } else if (body[i] == '}') {
      --d;
    } else if (body[i] == ',' && d == 0) {
      alts.push_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  alts.push_back(body.substr(start));
  for (std::string_view a : alts) {
    std::string joined = std::string(head) + std::string(a) + std::string(tail);
    Status s = Expand(joined, out, depth + 1);
    if (!s.ok()) return s;
  }
  return {};
}

// One class at p[i] == '['; sets *next past its ']' and *hit.
bool MatchClass(std::string_view p, size_t i, char c, size_t* next) {
  size_t j = i + 1;
  bool negate = false;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) {
    negate = true;
    ++j;
  }
  bool hit = false;
  bool first = true;
  while (j < p.size() && (p[j] != ']' || first)) {
    first = false;
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      if (hi == '\\' && j + 3 < p.size()) {
        hi = p[j + 3];
        ++j;
      }
      j += 2;
    }
    if (lo <= c && c <= hi) hit = true;
    ++j;
  }
  *next = j + 1;  // past ']' (validated by Expand)
  return hit != negate;
}

// A glob without braces against one path component (no '/' in either).
bool MatchComponent(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        while (pi < p.size() && p[pi] == '*') ++pi;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (pc == '[') {
        size_t next;
        if (MatchClass(p, pi, s[si], &next)) {
          pi = next;
          ++si;
          continue;
        }
      } else {
        char lit = pc;
        size_t adv = 1;
        if (pc == '\\' && pi + 1 < p.size()) {
          lit = p[pi + 1];
          adv = 2;
        }
        if (lit == s[si]) {
          pi += adv;
          ++si;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

bool MatchParts(const std::vector<std::string_view>& p, size_t pi,
                const std::vector<std::string_view>& s, size_t si) {
  while (pi < p.size()) {
    if (p[pi] == "**") {
      // Collapse runs of "**", then try every number of components.
      while (pi + 1 < p.size() && p[pi + 1] == "**") ++pi;
      if (pi + 1 == p.size()) return true;
      for (size_t k = si; k <= s.size(); ++k) {
        if (MatchParts(p, pi + 1, s, k)) return true;
      }
      return false;
    }
    if (si >= s.size() || !MatchComponent(p[pi], s[si])) return false;
    ++pi;
    ++si;
  }
  return si == s.size();
}

}  // namespace

Status ValidateDoublestar(std::string_view pattern) {
  if (!pattern.empty() && pattern.back() == '\\') {
    size_t n = 0;
    for (size_t i = pattern.size(); i > 0 && pattern[i - 1] == '\\'; --i) ++n;
    if (n % 2 == 1) return BadPattern(pattern, "trailing '\\'");
  }
  std::vector<std::string> alts;
  return Expand(pattern, &alts);
}

StatusOr<bool> DoublestarMatch(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return true;
  Status v = ValidateDoublestar(pattern);
  if (!v.ok()) return v;
  std::vector<std::string> alts;
  Status s = Expand(pattern, &alts);
  if (!s.ok()) return s;
  std::vector<std::string_view> name_parts = Split(name);
  for (const std::string& a : alts) {
    if (MatchParts(Split(a), 0, name_parts, 0)) return true;
  }
  return false;
}

}  // namespace berth
