#include "http/request_context.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace berth {

namespace {

std::string DecodeQueryPart(std::string_view s) {
  std::string plus(s);
  for (char& c : plus) {
    if (c == '+') c = ' ';
  }
  auto d = UrlDecode(plus);
  return d ? *d : plus;
}

// Reads from another streambuf, counting bytes; large reads go straight to
// the caller's buffer.
class CountingStreamBuf : public std::streambuf {
 public:
  CountingStreamBuf(std::streambuf* src, int64_t* count) : src_(src), count_(count) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    std::streamsize n = Fill(buf_, static_cast<std::streamsize>(sizeof buf_));
    if (n <= 0) return traits_type::eof();
    *count_ += n;
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }
  std::streamsize xsgetn(char* s, std::streamsize n) override {
    std::streamsize got = 0;
    std::streamsize avail = egptr() - gptr();
    if (avail > 0) {
      std::streamsize take = std::min(avail, n);
      std::memcpy(s, gptr(), static_cast<size_t>(take));
      gbump(static_cast<int>(take));
      got += take;
    }
    if (got < n) {
      std::streamsize r = Fill(s + got, n - got);
      if (r > 0) {
        *count_ += r;
        got += r;
      }
    }
    return got;
  }

 private:
  // One sgetn on the source; it only returns short at the end of the body.
  // The end is remembered: Poco's chunked stream does not stay at EOF once it
  // has read the last chunk, and asking it again blocks on the socket for a
  // chunk header that never comes.
  std::streamsize Fill(char* s, std::streamsize n) {
    if (src_ == nullptr || eof_) return 0;
    std::streamsize r = src_->sgetn(s, n);
    if (r < n) eof_ = true;
    return r;
  }

  std::streambuf* src_;
  bool eof_ = false;
  int64_t* count_;
  char buf_[16 * 1024];
};

}  // namespace

QueryParams QueryParams::Parse(std::string_view raw) {
  QueryParams q;
  if (raw.empty()) return q;
  for (const auto& pair : Split(raw, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k = DecodeQueryPart(std::string_view(pair).substr(0, eq));
    std::string v = eq == std::string::npos ? "" : DecodeQueryPart(std::string_view(pair).substr(eq + 1));
    q.values_.emplace(std::move(k), std::move(v));
  }
  return q;
}

std::string QueryParams::Get(const std::string& k) const {
  auto it = values_.find(k);
  return it == values_.end() ? std::string() : it->second;
}

std::vector<std::string> QueryParams::GetAll(const std::string& k) const {
  std::vector<std::string> out;
  auto [b, e] = values_.equal_range(k);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

std::string RequestContext::Header(const std::string& name) const {
  return request.get(name, "");
}

std::vector<std::string> RequestContext::Headers(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = std::make_pair(request.find(name), request.end());
  for (auto it = b; it != e; ++it) {
    if (!EqualsIgnoreCase(it->first, name)) break;
    out.push_back(it->second);
  }
  return out;
}

int64_t RequestContext::ContentLength() const {
  if (request.getChunkedTransferEncoding()) return -1;
  if (request.hasContentLength()) return request.getContentLength64();
  return 0;
}

std::istream& RequestContext::Body() {
  if (!body_) {
    std::streambuf* src = ContentLength() != 0 ? request.stream().rdbuf() : nullptr;
    counting_buf_ = std::make_unique<CountingStreamBuf>(src, &bytes_in);
    body_ = std::make_unique<std::istream>(counting_buf_.get());
  }
  return *body_;
}

Status RequestContext::ReadBody(size_t max_bytes, std::string* out) {
  int64_t len = ContentLength();
  auto too_large = [&] {
    return Status(Code::kTooLarge, "request body exceeds the limit of " +
                                       std::to_string(max_bytes) + " bytes");
  };
  if (len > static_cast<int64_t>(max_bytes)) return too_large();
  if (len == 0) return {};
  std::istream& in = Body();
  char buf[64 * 1024];
  for (;;) {
    in.read(buf, sizeof buf);
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > max_bytes) return too_large();
  }
  if (len > 0 && static_cast<int64_t>(out->size()) != len) {
    return Status::InvalidArgument("request body is shorter than its Content-Length");
  }
  return {};
}

bool RequestContext::DrainBody(int64_t max_bytes) {
  if (ContentLength() == 0) return true;
  Body();
  // Straight on the counting buffer, whatever state the handler left the
  // istream in: it remembers the end of the body, so this never waits for
  // bytes of the next request.
  char buf[16 * 1024];
  int64_t drained = 0;
  try {
    for (;;) {
      std::streamsize n = counting_buf_->sgetn(buf, static_cast<std::streamsize>(sizeof buf));
      if (n <= 0) return true;
      drained += n;
      if (drained > max_bytes) return false;
    }
  } catch (...) {
    return false;
  }
}

}  // namespace berth
