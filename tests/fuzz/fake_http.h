// In-memory Poco request/response for the fuzz targets: a RequestContext
// whose body is a string, so the real body-reading code runs without sockets.
#ifndef BERTH_TESTS_FUZZ_FAKE_HTTP_H_
#define BERTH_TESTS_FUZZ_FAKE_HTTP_H_

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SocketAddress.h>

#include <sstream>
#include <string>

namespace berth::fuzz {

class FakeResponse : public Poco::Net::HTTPServerResponse {
 public:
  void sendContinue() override {}
  std::ostream& send() override {
    sent_ = true;
    return out_;
  }
  void sendFile(const std::string&, const std::string&) override { sent_ = true; }
  void sendBuffer(const void* p, std::size_t n) override {
    sent_ = true;
    out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  }
  void redirect(const std::string&, HTTPStatus) override { sent_ = true; }
  void requireAuthentication(const std::string&) override { sent_ = true; }
  bool sent() const override { return sent_; }
  std::string body() const { return out_.str(); }

 private:
  bool sent_ = false;
  std::ostringstream out_;
};

class FakeRequest : public Poco::Net::HTTPServerRequest {
 public:
  FakeRequest(FakeResponse& resp, std::string body)
      : resp_(resp), params_(new Poco::Net::HTTPServerParams), in_(std::move(body)) {}
  std::istream& stream() override { return in_; }
  const Poco::Net::SocketAddress& clientAddress() const override { return addr_; }
  const Poco::Net::SocketAddress& serverAddress() const override { return addr_; }
  const Poco::Net::HTTPServerParams& serverParams() const override { return *params_; }
  Poco::Net::HTTPServerResponse& response() const override { return resp_; }
  bool secure() const override { return false; }

 private:
  FakeResponse& resp_;
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::SocketAddress addr_;
  std::istringstream in_;
};

}  // namespace berth::fuzz

#endif  // BERTH_TESTS_FUZZ_FAKE_HTTP_H_
