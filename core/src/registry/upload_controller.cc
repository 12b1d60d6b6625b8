#include "registry/upload_controller.h"

#include <sstream>
#include <vector>

#include "common/clock.h"
#include "common/random.h"

namespace berth {

namespace {

constexpr size_t kChunk = 256 * 1024;

Status UploadUnknown() {
  return Status::NotFound("blob upload unknown to registry", "BLOB_UPLOAD_UNKNOWN");
}

// Counts a request in flight for the duration of a scope.
class InFlight {
 public:
  explicit InFlight(std::atomic<int64_t>& n) : n_(n) { ++n_; }
  ~InFlight() { --n_; }

 private:
  std::atomic<int64_t>& n_;
};

}  // namespace

bool IsValidUploadId(std::string_view u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < u.size(); ++i) {
    char c = u[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

UploadController::UploadController(RegistryStore& store, BlobStore& blobs)
    : store_(store), blobs_(blobs) {}

std::shared_ptr<UploadController::State> UploadController::StateFor(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& s = states_[uuid];
  if (!s) s = std::make_shared<State>();
  return s;
}

void UploadController::DropState(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  states_.erase(uuid);
}

StatusOr<UploadRecord> UploadController::Lookup(std::string_view repo, std::string_view uuid) {
  if (!IsValidUploadId(uuid)) return UploadUnknown();
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.GetUpload(uuid));
  if (!rec || rec->repository != repo) return UploadUnknown();
  return *rec;
}

StatusOr<UploadStatus> UploadController::Start(std::string_view repo) {
  UploadRecord rec{NewUuid(), std::string(repo), NowUnixMillis()};
  BERTH_RETURN_IF_ERROR(store_.CreateUpload(rec));
  Status s = blobs_.CreateUpload(rec.uuid);
  if (!s.ok()) {
    IgnoreError(store_.DeleteUpload(rec.uuid), "PurgeStale reclaims an abandoned upload");
    return s;
  }
  auto st = StateFor(rec.uuid);
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->sha256 = std::make_unique<Hasher>(DigestAlgorithm::kSha256);
    st->hashed = 0;
  }
  return UploadStatus{rec.uuid, rec.repository, 0};
}

StatusOr<UploadStatus> UploadController::GetStatus(std::string_view repo, std::string_view uuid) {
  BERTH_ASSIGN_OR_RETURN(auto rec, Lookup(repo, uuid));
  auto size = blobs_.UploadSize(rec.uuid);
  if (!size.ok()) return size.status().IsNotFound() ? UploadUnknown() : size.status();
  return UploadStatus{rec.uuid, rec.repository, *size};
}

StatusOr<int64_t> UploadController::AppendLocked(const std::string& uuid, State& st,
                                                 std::istream& body,
                                                 std::optional<ByteRange> range,
                                                 int64_t content_length, bool commit) {
  auto size = blobs_.UploadSize(uuid);
  if (!size.ok()) return size.status().IsNotFound() ? UploadUnknown() : size.status();
  if (range) {
    if (range->start != *size || range->end < range->start) {
      return Status(Code::kRangeNotSatisfiable,
                    "chunk range " + std::to_string(range->start) + "-" +
                        std::to_string(range->end) + " does not continue the upload at offset " +
                        std::to_string(*size),
                    "BLOB_UPLOAD_INVALID");
    }
    int64_t want = range->end - range->start + 1;
    if (content_length >= 0 && content_length != want) {
      return Status(Code::kRangeNotSatisfiable,
                    "Content-Length " + std::to_string(content_length) +
                        " does not match Content-Range length " + std::to_string(want),
                    "BLOB_UPLOAD_INVALID");
    }
    content_length = want;
  }
  BERTH_ASSIGN_OR_RETURN(auto writer, blobs_.AppendToUpload(uuid));
  if (writer->Size() != *size) {
    return Status::Internal("upload size changed underneath the writer");
  }
  // In-memory hashing continues only when it is exactly caught up.
  bool hashing = st.sha256 != nullptr && st.hashed == *size;
  if (!hashing) st.sha256.reset();
  std::vector<char> buf(kChunk);
  int64_t written = 0;
  Status result;
  bool short_body = false;
  try {
    while (content_length < 0 || written < content_length) {
      size_t want = buf.size();
      if (content_length >= 0) {
        want = static_cast<size_t>(std::min<int64_t>(want, content_length - written));
      }
      body.read(buf.data(), static_cast<std::streamsize>(want));
      std::streamsize n = body.gcount();
      if (n <= 0) {
        short_body = content_length >= 0;
        break;
      }
      result = writer->Write(buf.data(), static_cast<size_t>(n));
      if (!result.ok()) break;
      if (hashing) st.sha256->Update(buf.data(), static_cast<size_t>(n));
      written += n;
    }
  } catch (const std::exception& e) {
    result = Status::IOError(std::string("reading the request body failed: ") + e.what());
  }
  Status end = (result.ok() && commit) ? writer->Commit() : writer->Close();
  if (hashing) st.hashed += written;
  if (!result.ok()) return result;
  BERTH_RETURN_IF_ERROR(end);
  if (short_body) {
    return Status::InvalidArgument("request body ended after " + std::to_string(written) +
                                       " of " + std::to_string(content_length) + " bytes",
                                   "SIZE_INVALID");
  }
  return *size + written;
}

StatusOr<UploadStatus> UploadController::Append(std::string_view repo, std::string_view uuid,
                                                std::istream& body,
                                                std::optional<ByteRange> range,
                                                int64_t content_length) {
  InFlight in_flight(in_flight_);
  BERTH_ASSIGN_OR_RETURN(auto rec, Lookup(repo, uuid));
  auto st = StateFor(rec.uuid);
  std::lock_guard<std::mutex> lock(st->mu);
  BERTH_ASSIGN_OR_RETURN(int64_t size,
                         AppendLocked(rec.uuid, *st, body, range, content_length, false));
  return UploadStatus{rec.uuid, rec.repository, size};
}

StatusOr<Digest> UploadController::DigestOf(const std::string& uuid, State& st,
                                            DigestAlgorithm alg, int64_t size) {
  if (alg == DigestAlgorithm::kSha256 && st.sha256 && st.hashed == size) {
    Digest d = st.sha256->Finish();
    st.sha256.reset();
    return d;
  }
  Hasher h(alg);
  BERTH_ASSIGN_OR_RETURN(auto reader, blobs_.ReadUpload(uuid, 0));
  std::vector<char> buf(kChunk);
  int64_t total = 0;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) break;
    h.Update(buf.data(), n);
    total += static_cast<int64_t>(n);
  }
  if (total != size) return Status::Internal("upload changed while it was verified");
  return h.Finish();
}

Status UploadController::Discard(const std::string& uuid) {
  DropState(uuid);
  Status a = blobs_.DeleteUpload(uuid);
  Status b = store_.DeleteUpload(uuid);
  return a.ok() ? b : a;
}

StatusOr<BlobRef> UploadController::Complete(std::string_view repo, std::string_view uuid,
                                             const Digest& expected, std::istream* body,
                                             std::optional<ByteRange> range,
                                             int64_t content_length) {
  InFlight in_flight(in_flight_);
  BERTH_ASSIGN_OR_RETURN(auto rec, Lookup(repo, uuid));
  auto st = StateFor(rec.uuid);
  std::unique_lock<std::mutex> lock(st->mu);
  std::istringstream empty;
  // Always reopen and commit: this is where the upload's bytes are fsynced.
  BERTH_ASSIGN_OR_RETURN(
      int64_t size, AppendLocked(rec.uuid, *st, body != nullptr ? *body : empty,
                                 body != nullptr ? range : std::nullopt,
                                 body != nullptr ? content_length : 0, true));
  BERTH_ASSIGN_OR_RETURN(Digest actual, DigestOf(rec.uuid, *st, expected.algorithm, size));
  if (!(actual == expected)) {
    lock.unlock();
    IgnoreError(Discard(rec.uuid), "PurgeStale reclaims an abandoned upload");
    return Status(Code::kInvalidArgument,
                  "digest " + expected.ToString() + " does not match the uploaded content (" +
                      actual.ToString() + "); the upload was discarded",
                  "DIGEST_INVALID");
  }
  BlobRef ref{actual, size};
  // The store moves the bytes to their content address inside its quota
  // check when the project has a limit, so a refused blob is never stored.
  Status linked = store_.LinkBlob(repo, actual.ToString(), size,
                                  [&] { return blobs_.CommitUpload(rec.uuid, actual); },
                                  [&] { return blobs_.CheckPresent(actual); });
  if (!linked.ok()) {
    if (linked.code() == Code::kPermissionDenied) {  // over quota: the bytes go
      lock.unlock();
      IgnoreError(Discard(rec.uuid), "PurgeStale reclaims an abandoned upload");
      if (on_refused_) on_refused_(repo, actual.ToString(), linked);
    }
    return linked;
  }
  lock.unlock();
  DropState(rec.uuid);
  IgnoreError(store_.DeleteUpload(rec.uuid), "PurgeStale reclaims an abandoned upload");
  return ref;
}

StatusOr<BlobRef> UploadController::Monolithic(std::string_view repo, const Digest& expected,
                                               std::istream& body, int64_t content_length) {
  BERTH_ASSIGN_OR_RETURN(auto up, Start(repo));
  auto done = Complete(repo, up.uuid, expected, &body, std::nullopt, content_length);
  // Nothing of a failed monolithic upload stays behind.
  if (!done.ok()) IgnoreError(Discard(up.uuid), "PurgeStale reclaims an abandoned upload");
  return done;
}

StatusOr<BlobRef> UploadController::Import(std::string_view repo, const Digest& expected,
                                           const std::function<Status(const ChunkSink&)>& produce) {
  InFlight in_flight(in_flight_);
  BERTH_ASSIGN_OR_RETURN(auto up, Start(repo));
  DropState(up.uuid);  // hashed here, not through the upload's state
  auto fail = [&](Status s) -> Status {
    IgnoreError(Discard(up.uuid), "PurgeStale reclaims an abandoned upload");
    return s;
  };
  auto writer = blobs_.AppendToUpload(up.uuid);
  if (!writer.ok()) return fail(writer.status());
  Hasher hash(expected.algorithm);
  int64_t size = 0;
  Status produced = produce([&](const char* data, size_t len) -> Status {
    BERTH_RETURN_IF_ERROR((*writer)->Write(data, len));
    hash.Update(data, len);
    size += static_cast<int64_t>(len);
    return {};
  });
  if (!produced.ok()) {
    IgnoreError((*writer)->Cancel(), "the producer's error is the one to report; the upload is discarded next");
    return fail(produced);
  }
  Status committed = (*writer)->Commit();
  writer->reset();
  if (!committed.ok()) return fail(committed);
  Digest actual = hash.Finish();
  if (!(actual == expected)) {
    return fail(Status(Code::kInvalidArgument,
                       "the upstream sent content of digest " + actual.ToString() + " for " +
                           expected.ToString() + "; it was discarded",
                       "DIGEST_INVALID"));
  }
  Status linked = store_.LinkBlob(repo, actual.ToString(), size,
                                  [&] { return blobs_.CommitUpload(up.uuid, actual); },
                                  [&] { return blobs_.CheckPresent(actual); });
  if (!linked.ok()) {
    if (linked.code() == Code::kPermissionDenied && on_refused_) {
      on_refused_(repo, actual.ToString(), linked);
    }
    return fail(linked);
  }
  IgnoreError(store_.DeleteUpload(up.uuid), "PurgeStale reclaims an abandoned upload");
  return BlobRef{actual, size};
}

Status UploadController::Cancel(std::string_view repo, std::string_view uuid) {
  BERTH_ASSIGN_OR_RETURN(auto rec, Lookup(repo, uuid));
  auto st = StateFor(rec.uuid);
  std::lock_guard<std::mutex> lock(st->mu);
  return Discard(rec.uuid);
}

StatusOr<int> UploadController::PurgeStale(int64_t cutoff) {
  BERTH_ASSIGN_OR_RETURN(auto stale, store_.ListUploadsStartedBefore(cutoff));
  int n = 0;
  for (const auto& u : stale) {
    auto st = StateFor(u.uuid);
    std::unique_lock<std::mutex> lock(st->mu, std::try_to_lock);
    if (!lock.owns_lock()) continue;  // being written right now
    if (Discard(u.uuid).ok()) ++n;
  }
  return n;
}

}  // namespace berth
