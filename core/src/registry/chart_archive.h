// ChartArchive: the few top-level files Harbor's chart additions need
// (Chart.yaml, values.yaml, README.md, requirements.yaml), read from a Helm
// chart package (.tgz) with libarchive.
//
// Names follow Helm's loader: the first path component (the chart's
// directory) is dropped, and values.yaml / README.md / requirements.yaml
// match case-insensitively (Harbor upper-cases them); files of subcharts
// (charts/...) are not the chart's own. Only gzip-compressed tar is read
// (what `helm package` writes), so no external decompressor can be invoked.
//
// The archive comes from a user's push, so every size is capped before it is
// decompressed: each file (as Helm's MaxDecompressedFileSize), the sum of all
// entries (as Helm's MaxDecompressedChartSize) and the number of entries.
#ifndef BERTH_REGISTRY_CHART_ARCHIVE_H_
#define BERTH_REGISTRY_CHART_ARCHIVE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

struct ChartArchiveLimits {
  int64_t max_file_bytes = 5 << 20;      // any single entry
  int64_t max_total_bytes = 100 << 20;   // all entries together, decompressed
  int64_t max_entries = 20000;
};

struct ChartFiles {
  std::string chart_yaml;                    // always present (else an error)
  std::optional<std::string> values_yaml;
  std::optional<std::string> readme;
  std::optional<std::string> requirements_yaml;
};

// Errors: kInvalidArgument ("BAD_REQUEST") for an archive that is not a
// readable gzip'd tar, lacks Chart.yaml, or passes a limit.
StatusOr<ChartFiles> ReadChartArchive(std::string_view tgz,
                                      const ChartArchiveLimits& limits = {});

}  // namespace berth

#endif  // BERTH_REGISTRY_CHART_ARCHIVE_H_
