// RequestContext: one HTTP exchange as handlers see it.
#ifndef BERTH_HTTP_REQUEST_CONTEXT_H_
#define BERTH_HTTP_REQUEST_CONTEXT_H_

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/identity.h"
#include "common/status.h"

namespace berth {

class QueryParams {
 public:
  // Parses "a=b&c=d" (percent- and '+'-decoding); malformed pairs are kept raw.
  static QueryParams Parse(std::string_view raw);
  bool Has(const std::string& k) const { return values_.count(k) > 0; }
  // First value, or "" when absent.
  std::string Get(const std::string& k) const;
  std::vector<std::string> GetAll(const std::string& k) const;

 private:
  std::multimap<std::string, std::string> values_;
};

struct RequestContext {
  RequestContext(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp)
      : request(req), response(resp) {}

  Poco::Net::HTTPServerRequest& request;
  Poco::Net::HTTPServerResponse& response;
  std::string request_id;
  std::string method;
  std::string path;       // percent-decoded
  std::string raw_path;   // as received
  std::string raw_query;  // after '?', as received
  std::string client_address;  // the peer, or who a trusted proxy forwarded for (client_address.h)
  QueryParams query;
  std::string route = "unknown";  // label for metrics and logs
  Identity identity;  // filled by authentication
  int status = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  std::string error;  // what went wrong behind a 5xx, for the log only

  std::string Header(const std::string& name) const;
  std::vector<std::string> Headers(const std::string& name) const;
  // Request body length: -1 when chunked/unknown, 0 when there is no body.
  int64_t ContentLength() const;
  // The request body, counting bytes into bytes_in. Reads nothing when the
  // request has no body (neither Content-Length nor chunked encoding).
  std::istream& Body();
  // Reads the whole body into *out; kTooLarge (no protocol code: callers
  // add theirs) when it exceeds max_bytes, kInvalidArgument when it ends
  // before its Content-Length.
  Status ReadBody(size_t max_bytes, std::string* out);
  // Reads and discards what the handler left of the body, up to max_bytes.
  // False when more is left (or the read failed): the connection must then
  // close, or the rest would be parsed as the next request on it.
  bool DrainBody(int64_t max_bytes);

 private:
  std::unique_ptr<std::streambuf> counting_buf_;
  std::unique_ptr<std::istream> body_;
};

}  // namespace berth

#endif  // BERTH_HTTP_REQUEST_CONTEXT_H_
