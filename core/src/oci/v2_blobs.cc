// /v2 blob and upload endpoints.
#include <unistd.h>

#include <vector>

#include "http/response.h"
#include "http/sendfile.h"
#include "oci/v2_router.h"
#include "oci/v2_util.h"
#include "registry/reference.h"

namespace berth {

namespace {

std::string BlobLocation(const std::string& repo, const std::string& digest) {
  return "/v2/" + repo + "/blobs/" + digest;
}

std::string UploadLocation(const std::string& repo, const std::string& uuid) {
  return "/v2/" + repo + "/blobs/uploads/" + uuid;
}

StatusOr<Digest> ParseDigestParam(const std::string& value, const char* what) {
  if (value.empty()) {
    return Status::InvalidArgument(std::string(what) + " query parameter is required",
                                   "DIGEST_INVALID");
  }
  return Digest::Parse(value);
}

// Streams `length` bytes from a reader into the response body.
Status StreamReader(RequestContext& ctx, StorageReader& reader, int64_t length) {
  std::ostream& os = ctx.response.send();
  if (ctx.method == "HEAD") return {};
  std::vector<char> buf(256 * 1024);
  int64_t left = length;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size())));
    BERTH_ASSIGN_OR_RETURN(size_t n, reader.Read(buf.data(), want));
    if (n == 0) return Status::IOError("blob ended before its recorded size");
    os.write(buf.data(), static_cast<std::streamsize>(n));
    if (!os) return Status::IOError("client went away");
    ctx.bytes_out += static_cast<int64_t>(n);
    left -= static_cast<int64_t>(n);
  }
  os.flush();
  return {};
}

}  // namespace

void V2Router::GetBlob(RequestContext& ctx, const std::string& repo, const std::string& ref) {
  auto d = Digest::Parse(ref);
  if (!d.ok()) return Fail(ctx, d.status());
  auto& resp = ctx.response;
  if (ctx.method == "HEAD") {
    auto size = blobs_.Stat(repo, *d);
    if (!size.ok() && size.status().IsNotFound() && proxy_ != nullptr) {
      // A blob of a manifest proxied for the repository: its size is known.
      auto reg = ProxyRegistryOf(repo);
      if (!reg.ok()) return Fail(ctx, reg.status());
      if (*reg > 0) {
        if (auto known = proxy_->PendingBlobSize(repo, *d)) size = *known;
      }
    }
    if (!size.ok()) return Fail(ctx, size.status());
    resp.set("Docker-Content-Digest", d->ToString());
    resp.set("Accept-Ranges", "bytes");
    resp.set("ETag", "\"" + d->ToString() + "\"");
    SetStatus(ctx, 200);
    resp.setContentType("application/octet-stream");
    resp.setContentLength64(*size);
    resp.send().flush();
    return;
  }
  auto src = blobs_.Open(repo, *d);
  if (!src.ok() && src.status().IsNotFound() && proxy_ != nullptr) {
    if (ProxyBlob(ctx, repo, *d)) return;
    src = blobs_.Open(repo, *d);  // stored meanwhile by another pull
  }
  if (!src.ok()) return Fail(ctx, src.status());
  // The descriptor is ours from here on, whatever happens.
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{src->fd};
  if (!src->redirect_url.empty()) {
    resp.set("Docker-Content-Digest", d->ToString());
    resp.set("Location", src->redirect_url);
    return SendEmpty(ctx, 307);
  }
  int64_t size = src->size;
  auto range = ParseRangeHeader(ctx.Header("Range"), size);
  if (!range.ok()) {
    resp.set("Content-Range", "bytes */" + std::to_string(size));
    return Fail(ctx, range.status());
  }
  int64_t offset = *range ? (*range)->start : 0;
  int64_t length = *range ? (*range)->end - (*range)->start + 1 : size;
  std::unique_ptr<StorageReader> reader;
  if (src->fd < 0) {
    auto r = blobs_.OpenReader(*d, offset);
    if (!r.ok()) return Fail(ctx, r.status());
    reader = std::move(*r);
  }
  resp.set("Docker-Content-Digest", d->ToString());
  resp.set("Accept-Ranges", "bytes");
  resp.set("ETag", "\"" + d->ToString() + "\"");
  resp.set("Cache-Control", "max-age=31536000");
  resp.setContentType("application/octet-stream");
  if (*range) {
    SetStatus(ctx, 206);
    resp.set("Content-Range", "bytes " + std::to_string((*range)->start) + "-" +
                                  std::to_string((*range)->end) + "/" + std::to_string(size));
  } else {
    SetStatus(ctx, 200);
  }
  resp.setContentLength64(length);
  Status sent = src->fd >= 0 ? SendFileBody(ctx, src->fd, offset, length)
                             : StreamReader(ctx, *reader, length);
  // Headers are gone already: the only honest signal left is a short body.
  if (!sent.ok()) ctx.response.setKeepAlive(false);
}

bool V2Router::ProxyBlob(RequestContext& ctx, const std::string& repo, const Digest& d) {
  auto reg = ProxyRegistryOf(repo);
  if (!reg.ok()) {
    Fail(ctx, reg.status());
    return true;
  }
  if (*reg == 0) return false;
  auto& resp = ctx.response;
  std::ostream* os = nullptr;  // the response body, once a start callback sent the headers
  auto sink = [&](const char* data, size_t len) -> Status {
    os->write(data, static_cast<std::streamsize>(len));
    if (!*os) return Status::IOError("client went away");
    ctx.bytes_out += static_cast<int64_t>(len);
    return {};
  };
  // A range of a blob whose size a proxied manifest told: forwarded upstream
  // (not stored). Without a known size the whole blob is sent (200).
  std::string range_header = ctx.Header("Range");
  std::optional<int64_t> known = range_header.empty() ? std::nullopt : proxy_->PendingBlobSize(repo, d);
  if (known) {
    auto range = ParseRangeHeader(range_header, *known);
    if (!range.ok()) {
      resp.set("Content-Range", "bytes */" + std::to_string(*known));
      Fail(ctx, range.status());
      return true;
    }
    if (*range) {
      int64_t first = (*range)->start, last = (*range)->end;
      auto start_range = [&]() -> Status {
        resp.set("Docker-Content-Digest", d.ToString());
        resp.set("ETag", "\"" + d.ToString() + "\"");
        resp.set("Accept-Ranges", "bytes");
        resp.setContentType("application/octet-stream");
        resp.set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) +
                                      "/" + std::to_string(*known));
        SetStatus(ctx, 206);
        resp.setContentLength64(last - first + 1);
        os = &resp.send();
        return {};
      };
      Status sent = proxy_->FetchBlobRange(*reg, repo, d, first, last - first + 1, start_range, sink);
      if (sent.ok()) {
        os->flush();
      } else if (os == nullptr) {
        Fail(ctx, sent);
      } else {
        resp.setKeepAlive(false);
      }
      return true;
    }
  }
  auto start = [&](int64_t size) -> Status {
    resp.set("Docker-Content-Digest", d.ToString());
    resp.set("ETag", "\"" + d.ToString() + "\"");
    resp.setContentType("application/octet-stream");
    SetStatus(ctx, 200);
    // A size not known from a proxied manifest: the body is sent chunked.
    if (size >= 0) resp.setContentLength64(size);
    else resp.setChunkedTransferEncoding(true);
    os = &resp.send();
    return {};
  };
  auto served = proxy_->FetchBlob(*reg, repo, d, start, sink);
  if (served.ok()) {
    if (*served) os->flush();
    return *served;
  }
  if (os == nullptr) {
    Fail(ctx, served.status());
  } else {
    // Headers are gone: a short body and a closed connection tell the client.
    resp.setKeepAlive(false);
  }
  return true;
}

void V2Router::DeleteBlob(RequestContext& ctx, const std::string& repo, const std::string& ref) {
  auto d = Digest::Parse(ref);
  if (!d.ok()) return Fail(ctx, d.status());
  Status s = blobs_.Delete(repo, *d);
  if (!s.ok()) return Fail(ctx, s);
  ctx.response.set("Docker-Content-Digest", d->ToString());
  SendEmpty(ctx, 202);
}

void V2Router::SendUploadAccepted(RequestContext& ctx, const UploadStatus& st, int status) {
  ctx.response.set("Location", UploadLocation(st.repository, st.uuid));
  ctx.response.set("Docker-Upload-UUID", st.uuid);
  ctx.response.set("Range", UploadRange(st.size));
  SendEmpty(ctx, status);
}

void V2Router::SendBlobCreated(RequestContext& ctx, const std::string& repo, const BlobRef& b) {
  ctx.response.set("Location", BlobLocation(repo, b.digest.ToString()));
  ctx.response.set("Docker-Content-Digest", b.digest.ToString());
  SendEmpty(ctx, 201);
}

void V2Router::StartUpload(RequestContext& ctx, const std::string& repo) {
  if (ctx.query.Has("mount")) {
    auto d = ParseDigestParam(ctx.query.Get("mount"), "mount");
    if (!d.ok()) return Fail(ctx, d.status());
    std::string from = ctx.query.Get("from");
    if (!from.empty()) {
      Status valid = ValidateRepositoryName(from);
      if (!valid.ok()) return Fail(ctx, valid);
      // A source the caller cannot read is treated as unknown: fall back to
      // a normal upload, revealing nothing.
      if (access_ == nullptr || access_->CanPull(ctx, from)) {
        auto mounted = blobs_.Mount(repo, *d, from);
        if (!mounted.ok()) return Fail(ctx, mounted.status());
        if (*mounted) {
          FinishBody(ctx);
          auto size = blobs_.Stat(repo, *d);
          return SendBlobCreated(ctx, repo, BlobRef{*d, size.ok() ? *size : 0});
        }
      }
    }
  }
  if (ctx.query.Has("digest")) {
    auto d = ParseDigestParam(ctx.query.Get("digest"), "digest");
    if (!d.ok()) return Fail(ctx, d.status());
    auto done = uploads_.Monolithic(repo, *d, ctx.Body(), ctx.ContentLength());
    if (!done.ok()) return Fail(ctx, done.status());
    return SendBlobCreated(ctx, repo, *done);
  }
  FinishBody(ctx);
  auto st = uploads_.Start(repo);
  if (!st.ok()) return Fail(ctx, st.status());
  SendUploadAccepted(ctx, *st, 202);
}

void V2Router::UploadStatusOf(RequestContext& ctx, const std::string& repo,
                              const std::string& uuid) {
  auto st = uploads_.GetStatus(repo, uuid);
  if (!st.ok()) return Fail(ctx, st.status());
  SendUploadAccepted(ctx, *st, 204);
}

void V2Router::PatchUpload(RequestContext& ctx, const std::string& repo,
                           const std::string& uuid) {
  auto range = ParseContentRange(ctx.Header("Content-Range"));
  if (!range.ok()) return Fail(ctx, range.status());
  auto st = uploads_.Append(repo, uuid, ctx.Body(), *range, ctx.ContentLength());
  if (!st.ok()) {
    if (st.status().code() == Code::kRangeNotSatisfiable) {
      // Tell the client where the upload really stands so it can resume.
      if (auto cur = uploads_.GetStatus(repo, uuid); cur.ok()) {
        ctx.response.set("Location", UploadLocation(repo, uuid));
        ctx.response.set("Range", UploadRange(cur->size));
        ctx.response.set("Docker-Upload-UUID", uuid);
      }
    }
    return Fail(ctx, st.status());
  }
  SendUploadAccepted(ctx, *st, 202);
}

void V2Router::PutUpload(RequestContext& ctx, const std::string& repo, const std::string& uuid) {
  auto d = ParseDigestParam(ctx.query.Get("digest"), "digest");
  if (!d.ok()) return Fail(ctx, d.status());
  auto range = ParseContentRange(ctx.Header("Content-Range"));
  if (!range.ok()) return Fail(ctx, range.status());
  int64_t len = ctx.ContentLength();
  auto done = uploads_.Complete(repo, uuid, *d, len != 0 ? &ctx.Body() : nullptr, *range, len);
  if (!done.ok()) return Fail(ctx, done.status());
  SendBlobCreated(ctx, repo, *done);
}

void V2Router::CancelUpload(RequestContext& ctx, const std::string& repo,
                            const std::string& uuid) {
  Status s = uploads_.Cancel(repo, uuid);
  if (!s.ok()) return Fail(ctx, s);
  SendEmpty(ctx, 204);
}

}  // namespace berth
