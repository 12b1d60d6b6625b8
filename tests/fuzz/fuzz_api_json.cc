// JSON request bodies of the /api/v2.0 handlers: ReadJsonObject and the
// typed member readers of core/src/api/api_util.cc, driven the way the
// create handlers drive them (project, user, robot: see project_api.cc,
// user_api.cc, robot_api.cc), then the body echoed through SendJsonValue.
// The body arrives through a fake Poco request, so RequestContext::ReadBody
// runs too (Content-Length or chunked, chosen by the input's first byte).
// Checks: no crash/UB/leak, no exception out of Status-returning code, and
// the readers accept exactly the types they promise.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "api/api_util.h"
#include "fake_http.h"
#include "http/request_context.h"

namespace {
using nlohmann::json;

void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_api_json: invariant violated: %s\n", what);
    std::abort();
  }
}

void ReadString(const json& body, const char* key, bool required) {
  auto s = berth::JsonString(body, key, required);
  auto it = body.find(key);
  bool present = it != body.end() && !it->is_null();
  if (s.ok()) {
    Check(present ? it->is_string() && *s == it->get<std::string>() : !required && s->empty(),
          "JsonString accepted a wrong value");
  } else {
    Check(!present ? required : !it->is_string(), "JsonString refused a good value");
  }
}

void ReadBool(const json& body, const char* key) {
  auto b = berth::JsonBool(body, key, false);
  auto it = body.find(key);
  bool present = it != body.end() && !it->is_null();
  Check(b.ok() == (!present || it->is_boolean()), "JsonBool accepts the wrong types");
}

void ReadInt(const json& body, const char* key) {
  auto v = berth::JsonInt(body, key, -7);
  auto it = body.find(key);
  bool present = it != body.end() && !it->is_null();
  if (!present) {
    Check(v.ok() && *v == -7, "JsonInt lost its fallback");
    return;
  }
  bool fits = it->is_number_integer() &&
              (!it->is_number_unsigned() || it->get<uint64_t>() <= uint64_t{INT64_MAX});
  Check(v.ok() == fits, "JsonInt accepts the wrong values");
  if (v.ok()) Check(json(*v) == *it, "JsonInt changed the value");
}

// project_api.cc's MetadataFrom walks metadata with the same type tests.
void ReadMetadata(const json& body) {
  auto m = body.find("metadata");
  if (m == body.end() || !m->is_object()) return;
  std::map<std::string, std::string> md;
  for (const auto& [k, v] : m->items()) {
    if (v.is_string()) md[k] = v.get<std::string>();
    else if (v.is_boolean()) md[k] = v.get<bool>() ? "true" : "false";
    else if (v.is_number_integer()) md[k] = std::to_string(v.get<int64_t>());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool chunked = data[0] & 1;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  berth::fuzz::FakeResponse resp;
  berth::fuzz::FakeRequest req(resp, body);
  req.setMethod("POST");
  if (chunked) {
    req.setChunkedTransferEncoding(true);
  } else {
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  berth::RequestContext ctx(req, resp);

  auto j = berth::ReadJsonObject(ctx);
  if (!j.ok()) {
    Check(j.status().code() == berth::Code::kInvalidArgument, "unexpected error kind");
    return 0;
  }
  const json& b = *j;
  Check(b.is_object(), "ReadJsonObject returned a non-object");

  // POST /projects
  ReadString(b, "project_name", true);
  ReadMetadata(b);
  ReadBool(b, "public");
  ReadInt(b, "registry_id");
  ReadInt(b, "storage_limit");
  // POST /users
  for (const char* k : {"username", "email", "realname", "comment", "password"}) {
    ReadString(b, k, false);
  }
  ReadBool(b, "sysadmin_flag");
  // POST /robots
  ReadString(b, "name", true);
  ReadString(b, "level", true);
  ReadString(b, "description", false);
  ReadString(b, "secret", false);
  ReadBool(b, "disable");
  ReadInt(b, "duration");
  if (auto p = b.find("permissions"); p != b.end()) (void)p->dump();
  // Path ids come in as strings.
  if (auto id = berth::JsonString(b, "project_name", false); id.ok()) {
    (void)berth::ParseId(*id, "project_id");
  }

  Check(berth::SendJsonValue(ctx, 200, b).ok(), "SendJsonValue failed");
  return 0;
}
