#include "registry/artifact_icons.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "common/digest.h"

namespace berth {
namespace {

// 50x50, Harbor's icon size. Drawn for Berth: flat shapes, no text.
constexpr std::string_view kImageSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<rect x="5" y="14" width="40" height="26" rx="2" fill="#2f6db5"/>)"
    R"(<path d="M5 22h40M5 31h40M15 14v26M25 14v26M35 14v26" stroke="#fff" stroke-width="1.5"/>)"
    R"(<path d="M8 14l4-6h26l4 6" fill="#5b93d3"/></svg>)";

constexpr std::string_view kChartSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<circle cx="25" cy="25" r="14" fill="none" stroke="#1b3f6b" stroke-width="4"/>)"
    R"(<path d="M25 4v42M4 25h42M10 10l30 30M40 10L10 40" stroke="#1b3f6b" stroke-width="3"/>)"
    R"(<circle cx="25" cy="25" r="5" fill="#1b3f6b"/></svg>)";

constexpr std::string_view kCnabSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<rect x="6" y="26" width="18" height="16" fill="#7a4fb0"/>)"
    R"(<rect x="26" y="26" width="18" height="16" fill="#9b72cf"/>)"
    R"(<rect x="16" y="8" width="18" height="16" fill="#5b3690"/></svg>)";

constexpr std::string_view kWasmSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<path d="M6 6h14a5 5 0 0 0 10 0h14v38H6z" fill="#5a4fcf"/>)"
    R"(<path d="M12 22l4 14 4-10 4 10 4-14M31 36l4-14 4 14M32.5 31h5" fill="none")"
    R"( stroke="#fff" stroke-width="2"/></svg>)";

constexpr std::string_view kSignatureSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<path d="M25 4l17 7v12c0 11-7 19-17 23C15 42 8 34 8 23V11z" fill="#2e8b57"/>)"
    R"(<path d="M16 25l6 6 12-13" fill="none" stroke="#fff" stroke-width="4"/></svg>)";

constexpr std::string_view kSbomSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<rect x="9" y="4" width="32" height="42" rx="2" fill="#c77c1e"/>)"
    R"(<path d="M15 14h4M23 14h12M15 22h4M23 22h12M15 30h4M23 30h12M15 38h4M23 38h8")"
    R"( stroke="#fff" stroke-width="2.5"/></svg>)";

constexpr std::string_view kDefaultSvg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="50" height="50">)"
    R"(<path d="M10 4h21l9 9v33H10z" fill="#6b7785"/>)"
    R"(<path d="M31 4v9h9" fill="#aab3bd"/></svg>)";

enum IconId { kImage, kChart, kCnab, kWasm, kSignature, kSbom, kDefault, kIconCount };

struct Table {
  std::array<std::string, kIconCount> digests;
  std::array<ArtifactIcon, kIconCount> icons;
};

const Table& Icons() {
  static const Table table = [] {
    constexpr std::array<std::string_view, kIconCount> svgs = {
        kImageSvg, kChartSvg, kCnabSvg, kWasmSvg, kSignatureSvg, kSbomSvg, kDefaultSvg};
    Table t;
    for (size_t i = 0; i < svgs.size(); ++i) {
      t.digests[i] = Digest::Of(DigestAlgorithm::kSha256, svgs[i]).ToString();
      t.icons[i] = ArtifactIcon{t.digests[i], "image/svg+xml", svgs[i]};
    }
    return t;
  }();
  return table;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

IconId IconFor(std::string_view artifact_type) {
  std::string t = Upper(artifact_type);
  if (t == "IMAGE") return kImage;
  if (t == "CHART") return kChart;
  if (t == "CNAB") return kCnab;
  if (t == "WASM") return kWasm;
  if (t == "SIGNATURE" || t == "SIGNATURE.COSIGN" || t == "SIGNATURE.NOTATION") return kSignature;
  if (t == "SBOM" || t == "HARBOR.SBOM") return kSbom;
  return kDefault;
}

}  // namespace

std::string_view IconDigestForType(std::string_view artifact_type) {
  return Icons().digests[IconFor(artifact_type)];
}

const ArtifactIcon* FindIcon(std::string_view digest) {
  for (const auto& icon : Icons().icons) {
    if (icon.digest == digest) return &icon;
  }
  return nullptr;
}

}  // namespace berth
