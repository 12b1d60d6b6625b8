// notifier-webhook: delivers Berth events to HTTP endpoints ("http", Harbor's
// Default and CloudEvents payloads as-is) and to Slack incoming webhooks
// ("slack": Harbor's Slack message as berthd rendered it for project webhook
// policies, payload format "Slack"; a short message for the others).
// Retries and backoff are berthd's job: a
// transient failure (transport error, timeout, 5xx, 408, 429) returns RETRY.
#include <berth/plugin_sdk.hpp>

#include <nlohmann/json.hpp>
#include <string>

namespace {

using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::Notification;
using berth::sdk::Status;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 600000,
                   "description": "per-attempt HTTP timeout (default 10000)"},
    "user_agent": {"type": "string"}
  },
  "additionalProperties": false
})json";

struct Options {
  int64_t timeout_ms = 10000;
  std::string user_agent = "berth-webhook/1.0";
};

Status ParseOptions(std::string_view config, Options* out) {
  auto j = nlohmann::json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("config must be an object");
  out->timeout_ms = j.value("timeout_ms", out->timeout_ms);
  out->user_agent = j.value("user_agent", out->user_agent);
  return {};
}

// Maps an HTTP outcome to a delivery status.
Status Outcome(const Status& transport, int32_t code, const std::string& address) {
  if (!transport.ok()) return Status::Retry("POST " + address + ": " + transport.message());
  if (code >= 200 && code < 300) return {};
  std::string msg = "POST " + address + " answered " + std::to_string(code);
  if (code >= 500 || code == 408 || code == 429) return Status::Retry(msg);
  return Status::InvalidArgument(msg);
}

// What both providers share: options, the host, and one POST with the
// delivery semantics above. Derived classes decide what to send.
class PostingNotifier : public berth::sdk::Notifier {
 protected:
  PostingNotifier(const Host& host, Options o) : host_(host), o_(std::move(o)) {}
  Status Post(const CallCtx& call, const Notification& n, std::string content_type,
              std::string body, bool with_auth) {
    berth::sdk::HttpRequest req;
    req.method = "POST";
    req.url = std::string(n.address);
    req.headers = {{"Content-Type", std::move(content_type)}, {"User-Agent", o_.user_agent}};
    if (with_auth && !n.auth_header.empty()) {
      req.headers.emplace_back("Authorization", std::string(n.auth_header));
    }
    req.body = std::move(body);
    req.timeout_ms = o_.timeout_ms;
    req.insecure_skip_verify = n.skip_cert_verify;
    berth::sdk::HttpResponse resp;
    Status s = host_.Http(call.raw(), req, &resp);
    return Outcome(s, resp.status, req.url);
  }

 private:
  Host host_;
  Options o_;
};

template <class T>
Status CreateWithOptions(const Host& host, std::string_view config, std::unique_ptr<T>* out) {
  Options o;
  Status s = ParseOptions(config, &o);
  if (s.ok()) out->reset(new T(host, std::move(o)));
  return s;
}

// Harbor's "http" type: the payload as is, with the endpoint's auth header.
class HttpNotifier : public PostingNotifier {
 public:
  HttpNotifier(const Host& host, Options o) : PostingNotifier(host, std::move(o)) {}
  static Status Create(const Host& host, std::string_view config, std::unique_ptr<HttpNotifier>* out) {
    return CreateWithOptions(host, config, out);
  }
  Status Deliver(const CallCtx& call, const Notification& n) override {
    return Post(call, n, std::string(n.content_type), std::string(n.payload_json), true);
  }
};

// Harbor's "slack" type: Slack wants a message, not the event.
class SlackNotifier : public PostingNotifier {
 public:
  SlackNotifier(const Host& host, Options o) : PostingNotifier(host, std::move(o)) {}
  static Status Create(const Host& host, std::string_view config, std::unique_ptr<SlackNotifier>* out) {
    return CreateWithOptions(host, config, out);
  }
  Status Deliver(const CallCtx& call, const Notification& n) override {
    if (n.payload_format == "Slack") {
      return Post(call, n, "application/json", std::string(n.payload_json), false);
    }
    auto ev = nlohmann::json::parse(n.payload_json, nullptr, false);
    std::string text = std::string(n.event_type);
    if (!ev.is_discarded()) {
      const auto& data = ev.contains("data") ? ev["data"] : ev.value("event_data", nlohmann::json::object());
      std::string op = ev.value("operator", "");
      if (data.contains("resources") && data["resources"].is_array() && !data["resources"].empty()) {
        text += " " + data["resources"][0].value("resource_url", "");
      }
      if (!op.empty()) text += " by " + op;
    }
    return Post(call, n, "application/json", nlohmann::json{{"text", text}}.dump(), false);
  }
};

const berth_provider kHttp = berth::sdk::MakeNotifierProvider<HttpNotifier>(
    {"http", "POSTs Harbor Default or CloudEvents payloads to an HTTP endpoint", kSchema, 0,
     BERTH_THREADING_REENTRANT});
const berth_provider kSlack = berth::sdk::MakeNotifierProvider<SlackNotifier>(
    {"slack", "Posts a short message to a Slack incoming webhook", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("notifier-webhook", "1.0.0", "Webhook and Slack notifications", &kHttp, &kSlack)
