#include "registry/chart_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

namespace berth {
namespace {

Status Malformed(const std::string& why) {
  return Status::InvalidArgument("the chart archive cannot be read: " + why, "BAD_REQUEST");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Helm's loader: drop the chart directory, then clean the rest. Returns
// false for a path Helm refuses (outside the chart directory, "..").
bool ChartRelativePath(std::string_view raw, std::string* out) {
  char delim = raw.find('\\') != std::string_view::npos ? '\\' : '/';
  size_t cut = raw.find(delim);
  if (cut == std::string_view::npos) return false;
  std::string_view rest = raw.substr(cut + 1);
  std::vector<std::string_view> parts;
  while (!rest.empty()) {
    size_t next = rest.find(delim);
    std::string_view part = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") return false;
    parts.push_back(part);
  }
  if (parts.empty()) return false;
  out->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out->push_back('/');
    out->append(parts[i]);
  }
  return true;
}

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

Status ReadEntry(archive* a, int64_t limit, std::string* out) {
  out->clear();
  char buf[16384];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n == 0) return {};
    if (n < 0) return Malformed(archive_error_string(a) ? archive_error_string(a) : "read error");
    if (static_cast<int64_t>(out->size()) + n > limit) {
      return Malformed("a file is larger than " + std::to_string(limit) + " bytes");
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

StatusOr<ChartFiles> ReadChartArchive(std::string_view tgz, const ChartArchiveLimits& limits) {
  std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
  if (!a) return Status::Internal("archive_read_new failed");
  // gzip through zlib only: ARCHIVE_WARN would mean an external gzip program.
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(a.get()) != ARCHIVE_OK) {
    return Status::Internal("libarchive lacks built-in gzip or tar support");
  }
  if (archive_read_open_memory(a.get(), tgz.data(), tgz.size()) != ARCHIVE_OK) {
    const char* e = archive_error_string(a.get());
    return Malformed(e ? e : "not a gzip'd tar");
  }
  ChartFiles files;
  bool have_chart_yaml = false;
  int64_t entries = 0, declared = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      const char* e = archive_error_string(a.get());
      return Malformed(e ? e : "bad tar header");
    }
    if (entries == 0 && archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_GZIP) {
      return Malformed("not gzip-compressed");
    }
    if (++entries > limits.max_entries) {
      return Malformed("more than " + std::to_string(limits.max_entries) + " entries");
    }
    // Headers (pax records, long names) count too: a belt to the declared sizes.
    if (archive_filter_bytes(a.get(), 0) > 2 * limits.max_total_bytes) {
      return Malformed("more than " + std::to_string(limits.max_total_bytes) +
                       " bytes decompressed");
    }
    int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    if (size < 0) return Malformed("negative entry size");
    if (size > limits.max_file_bytes) {
      return Malformed("a file is larger than " + std::to_string(limits.max_file_bytes) + " bytes");
    }
    declared += size;
    if (declared > limits.max_total_bytes) {
      return Malformed("more than " + std::to_string(limits.max_total_bytes) +
                       " bytes decompressed");
    }
    // Directories, links and devices carry nothing Harbor reads.
    if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
      continue;
    }
    const char* raw = archive_entry_pathname(entry);
    std::string name;
    if (raw == nullptr || !ChartRelativePath(raw, &name)) {
      return Malformed(std::string("an entry lies outside the chart directory: ") +
                       (raw ? raw : "(unnamed)"));
    }
    std::optional<std::string>* slot = nullptr;
    if (name == "Chart.yaml") {
      BERTH_RETURN_IF_ERROR(ReadEntry(a.get(), limits.max_file_bytes, &files.chart_yaml));
      have_chart_yaml = true;
      continue;
    }
    if (EqualsIgnoreCase(name, "values.yaml")) slot = &files.values_yaml;
    else if (EqualsIgnoreCase(name, "README.md")) slot = &files.readme;
    else if (EqualsIgnoreCase(name, "requirements.yaml")) slot = &files.requirements_yaml;
    if (slot == nullptr) continue;  // the next header skips the data
    std::string data;
    BERTH_RETURN_IF_ERROR(ReadEntry(a.get(), limits.max_file_bytes, &data));
    *slot = std::move(data);
  }
  if (entries == 0) return Malformed("empty archive");
  if (!have_chart_yaml) return Malformed("Chart.yaml file is missing");
  return files;
}

}  // namespace berth
