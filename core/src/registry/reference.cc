#include "registry/reference.h"

namespace berth {

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool IsValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    // A separator run, then alnum must follow (guaranteed by back() check).
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

}  // namespace

Status ValidateRepositoryName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("repository name is empty", "NAME_INVALID");
  if (name.size() > kMaxRepositoryNameLength) {
    return Status::InvalidArgument("repository name is longer than 255 characters",
                                   "NAME_INVALID");
  }
  size_t start = 0;
  for (;;) {
    size_t slash = name.find('/', start);
    std::string_view comp =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidComponent(comp)) {
      return Status::InvalidArgument(
          "invalid repository name '" + std::string(name) +
              "': components must be lowercase letters and digits, separated by '.', '_', "
              "'__' or '-', and joined by '/'",
          "NAME_INVALID");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

StatusOr<ManifestReference> ParseManifestReference(std::string_view ref) {
  ManifestReference out;
  if (ref.find(':') != std::string_view::npos) {
    auto d = Digest::Parse(ref);
    if (!d.ok()) return d.status();
    out.is_digest = true;
    out.digest = *d;
    return out;
  }
  if (!IsValidTag(ref)) {
    return Status::InvalidArgument(
        "invalid tag '" + std::string(ref.substr(0, 200)) +
            "': tags are up to 128 characters of [A-Za-z0-9_.-] not starting with '.' or '-'",
        "TAG_INVALID");
  }
  out.tag = std::string(ref);
  return out;
}

}  // namespace berth
