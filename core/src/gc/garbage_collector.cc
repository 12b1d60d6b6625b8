#include "gc/garbage_collector.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "blob/layout.h"
#include "common/clock.h"

namespace berth {

namespace {

constexpr int64_t kPage = 1000;

std::string HumanBytes(int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument("invalid GC parameter " + field + ": " + why, "BAD_REQUEST");
}

}  // namespace

StatusOr<GcParams> ParseGcParams(const std::string& json) {
  GcParams p;
  auto j = nlohmann::json::parse(json.empty() ? "{}" : json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("parameters", "not a JSON object");
  if (auto it = j.find("delete_untagged"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("delete_untagged", "must be a boolean");
    p.delete_untagged = it->get<bool>();
  }
  if (auto it = j.find("dry_run"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("dry_run", "must be a boolean");
    p.dry_run = it->get<bool>();
  }
  if (auto it = j.find("workers"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer()) return Bad("workers", "must be an integer");
    int64_t w = it->get<int64_t>();
    if (w < 1 || w > 10) return Bad("workers", "must be between 1 and 10");
    p.workers = static_cast<int>(w);
  }
  if (auto it = j.find("time_window"); it != j.end() && !it->is_null()) {
    if (!it->is_number()) return Bad("time_window", "must be a number of hours");
    double h = it->get<double>();
    if (h < 0) return Bad("time_window", "must not be negative");
    p.time_window_ms = static_cast<int64_t>(h * 3600 * 1000);
    // An explicit 0 asks for no window (as Harbor's time_window: 0); in
    // GcParams 0 means the collector's default, so it becomes 1 ms.
    if (p.time_window_ms == 0) p.time_window_ms = 1;
  }
  return p;
}

GarbageCollector::GarbageCollector(RegistryStore& registry, GcStore& gc, BlobStore& blobs,
                                   UploadController& uploads, int64_t default_window_ms,
                                   int64_t upload_grace_ms)
    : registry_(registry),
      gc_(gc),
      blobs_(blobs),
      uploads_(uploads),
      default_window_ms_(default_window_ms),
      upload_grace_ms_(upload_grace_ms) {}

Status GarbageCollector::Run(JobContext& ctx) {
  BERTH_ASSIGN_OR_RETURN(GcParams p, ParseGcParams(ctx.params_json()));
  BERTH_ASSIGN_OR_RETURN(GcResult r, Collect(p, ctx));
  (void)r;
  return {};
}

StatusOr<GcResult> GarbageCollector::Collect(const GcParams& p, JobContext& ctx) {
  GcResult r;
  int64_t window = p.time_window_ms > 0 ? p.time_window_ms : default_window_ms_;
  int64_t started = NowUnixMillis();
  int64_t cutoff = started - window;
  ctx.Info(std::string("start to run gc in job: delete_untagged=") +
           (p.delete_untagged ? "true" : "false") + " dry_run=" + (p.dry_run ? "true" : "false") +
           " workers=" + std::to_string(p.workers) + " time_window=" +
           std::to_string(window / 1000) + "s");
  if (p.delete_untagged) BERTH_RETURN_IF_ERROR(DeleteUntagged(p, cutoff, ctx, &r));
  BERTH_RETURN_IF_ERROR(SweepBlobs(p, cutoff, ctx, &r));
  BERTH_RETURN_IF_ERROR(SweepOrphanFiles(p, cutoff, ctx, &r));
  if (!p.dry_run && !ctx.stopping()) {
    auto purged = uploads_.PurgeStale(started - upload_grace_ms_);
    if (purged.ok()) {
      r.uploads_purged = *purged;
      ctx.Info(std::to_string(*purged) + " abandoned upload sessions removed");
    } else {
      ctx.Warn("removing abandoned uploads failed: " + purged.status().message());
    }
  }
  if (ctx.stopping()) return Status(Code::kUnavailable, "stopped before the end");
  std::string verb = p.dry_run ? "would delete" : "deleted";
  ctx.Info(std::string(p.dry_run ? "dry run: " : "") + std::to_string(r.artifacts_deleted) +
           " untagged artifacts " + verb + ", " + std::to_string(r.blobs_deleted) + " blobs " +
           verb + ", " + std::to_string(r.bytes_freed) + " bytes (" + HumanBytes(r.bytes_freed) +
           ") " + (p.dry_run ? "would be freed" : "freed") + " in " +
           std::to_string((NowUnixMillis() - started)) + " ms");
  ctx.CheckIn("done");
  return r;
}

Status GarbageCollector::DeleteUntagged(const GcParams& p, int64_t cutoff, JobContext& ctx,
                                        GcResult* r) {
  int64_t after = 0;
  while (!ctx.stopping()) {
    BERTH_ASSIGN_OR_RETURN(auto page, gc_.UntaggedArtifacts(cutoff, after, kPage));
    if (page.empty()) break;
    for (const auto& a : page) {
      after = a.id;
      if (p.dry_run) {
        ctx.Info("untagged artifact " + a.repository + "@" + a.digest + " would be deleted");
        r->artifacts_deleted++;
        continue;
      }
      auto deleted = registry_.DeleteArtifactIfUntagged(a.id, cutoff);
      if (!deleted.ok() && deleted.status().code() == Code::kConflict) {
        // Referenced meanwhile: on PostgreSQL an index pushed with it as a
        // child can commit between the re-check and the delete, and the
        // foreign key refuses the delete. It stays; the run goes on.
        ctx.Info("kept untagged artifact " + a.repository + "@" + a.digest +
                 ": referenced meanwhile (" + deleted.status().message() + ")");
        continue;
      }
      BERTH_ASSIGN_OR_RETURN(bool gone, std::move(deleted));
      if (gone) {
        ctx.Info("deleted untagged artifact " + a.repository + "@" + a.digest);
        r->artifacts_deleted++;
      }
    }
  }
  return {};
}

Status GarbageCollector::RemoveBlob(const std::string& digest, int64_t size, bool orphan,
                                    int64_t cutoff, JobContext& ctx, GcResult* r) {
  auto d = Digest::Parse(digest);
  if (!d.ok()) {
    ctx.Warn("skipping malformed digest " + digest);
    return {};
  }
  if (orphan) {
    BERTH_ASSIGN_OR_RETURN(bool marked, gc_.MarkOrphanFile(digest, size));
    if (!marked) return {};
  } else {
    BERTH_ASSIGN_OR_RETURN(bool marked, gc_.MarkDeleting(digest, cutoff));
    if (!marked) return {};
  }
  std::string dir = layout::BlobDataPath(*d);
  dir.resize(dir.size() - 5);  // "/data": remove the blob's directory
  BERTH_ASSIGN_OR_RETURN(bool removed, gc_.FinishDelete(digest, cutoff, [&]() -> Status {
    Status s = blobs_.driver().Remove(dir);
    return s.IsNotFound() ? Status() : s;
  }));
  if (removed) {
    r->blobs_deleted++;
    r->bytes_freed += size;
  }
  return {};
}

Status GarbageCollector::SweepBlobs(const GcParams& p, int64_t cutoff, JobContext& ctx,
                                    GcResult* r) {
  std::string after;
  std::mutex mu;
  while (!ctx.stopping()) {
    BERTH_ASSIGN_OR_RETURN(auto page, gc_.UnreferencedBlobs(cutoff, after, kPage));
    if (page.empty()) break;
    after = page.back().digest;
    if (p.dry_run) {
      for (const auto& b : page) {
        r->blobs_deleted++;
        r->bytes_freed += b.size;
      }
      continue;
    }
    // Workers share the page; each blob is removed under its own lock.
    std::atomic<size_t> next{0};
    Status first_error;
    auto work = [&] {
      GcResult local;
      for (size_t i = next++; i < page.size() && !ctx.stopping(); i = next++) {
        Status s = RemoveBlob(page[i].digest, page[i].size, false, cutoff, ctx, &local);
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) first_error = s;
          ctx.Warn("failed to delete blob " + page[i].digest + ": " + s.message());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      r->blobs_deleted += local.blobs_deleted;
      r->bytes_freed += local.bytes_freed;
    };
    std::vector<std::thread> threads;
    for (int i = 1; i < p.workers; ++i) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    BERTH_RETURN_IF_ERROR(first_error);
    ctx.CheckIn(std::to_string(r->blobs_deleted) + " blobs deleted");
  }
  return {};
}

Status GarbageCollector::SweepOrphanFiles(const GcParams& p, int64_t cutoff, JobContext& ctx,
                                          GcResult* r) {
  // Files the metadata does not know: manifests of deleted artifacts, and
  // what a crash between storing bytes and recording them left behind.
  struct File {
    std::string digest;
    int64_t size;
  };
  std::vector<File> files;
  const std::string root(layout::kBlobsRoot);
  Status walk = blobs_.driver().Walk(root, [&](const std::string& path, const FileInfo& fi) {
    if (fi.is_dir || path.size() < 6 || path.compare(path.size() - 5, 5, "/data") != 0) {
      return WalkAction::kContinue;
    }
    // /blobs/<alg>/<xx>/<hex>/data
    std::string rest = path.substr(root.size() + 1, path.size() - root.size() - 6);
    size_t a = rest.find('/');
    size_t b = rest.rfind('/');
    if (a == std::string::npos || b == a) return WalkAction::kContinue;
    if (fi.mtime_unix_ns / 1000000 >= cutoff) return WalkAction::kContinue;
    files.push_back({rest.substr(0, a) + ":" + rest.substr(b + 1), fi.size});
    return ctx.stopping() ? WalkAction::kStop : WalkAction::kContinue;
  });
  if (!walk.ok() && !walk.IsNotFound()) return walk;
  for (const auto& f : files) {
    if (ctx.stopping()) break;
    BERTH_ASSIGN_OR_RETURN(bool known, gc_.IsKnown(f.digest));
    if (known) continue;
    if (p.dry_run) {
      r->blobs_deleted++;
      r->bytes_freed += f.size;
      continue;
    }
    Status s = RemoveBlob(f.digest, f.size, true, cutoff, ctx, r);
    if (!s.ok()) ctx.Warn("failed to delete unreferenced file " + f.digest + ": " + s.message());
  }
  return {};
}

}  // namespace berth
