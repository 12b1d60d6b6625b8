#include "oidc_login_driver.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

namespace berth::oidctest {

namespace {

struct Response {
  long status = 0;
  std::string location;
  std::string body;
};

size_t OnBody(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

size_t OnHeader(char* p, size_t size, size_t n, void* user) {
  std::string line(p, size * n);
  auto* r = static_cast<Response*>(user);
  if (line.rfind("HTTP/", 0) == 0) r->location.clear();
  if (line.size() > 9 && (line[0] == 'L' || line[0] == 'l')) {
    std::string lower = line.substr(0, 9);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "location:") {
      std::string v = line.substr(9);
      size_t b = v.find_first_not_of(" \t");
      size_t e = v.find_last_not_of(" \t\r\n");
      r->location = b == std::string::npos ? "" : v.substr(b, e - b + 1);
    }
  }
  return size * n;
}

std::string HtmlUnescape(std::string s) {
  const std::pair<const char*, const char*> ents[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#x2F;", "/"}};
  for (const auto& [from, to] : ents) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + 1)) {
      s.replace(pos, std::strlen(from), to);
    }
  }
  return s;
}

std::string Origin(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  size_t slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

std::string Resolve(const std::string& base, const std::string& ref) {
  if (ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0) return ref;
  if (!ref.empty() && ref[0] == '/') return Origin(base) + ref;
  std::string dir = base.substr(0, base.rfind('/') + 1);
  return dir + ref;
}

std::string Attr(const std::string& tag, const std::string& name) {
  std::smatch m;
  std::regex re(name + "\\s*=\\s*\"([^\"]*)\"", std::regex::icase);
  return std::regex_search(tag, m, re) ? HtmlUnescape(m[1].str()) : std::string();
}

std::string Encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class Browser {
 public:
  Browser() : c_(curl_easy_init()) {
    curl_easy_setopt(c_, CURLOPT_COOKIEFILE, "");  // cookie engine on, nothing loaded
    curl_easy_setopt(c_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c_, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c_, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(c_, CURLOPT_HEADERFUNCTION, &OnHeader);
  }
  ~Browser() { curl_easy_cleanup(c_); }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  bool Request(const std::string& url, const std::string* form, Response* r, std::string* err) {
    *r = Response();
    curl_easy_setopt(c_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c_, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c_, CURLOPT_HEADERDATA, r);
    if (form != nullptr) {
      curl_easy_setopt(c_, CURLOPT_POST, 1L);
      curl_easy_setopt(c_, CURLOPT_POSTFIELDS, form->c_str());
      curl_easy_setopt(c_, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
    } else {
      curl_easy_setopt(c_, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(c_);
    if (rc != CURLE_OK) {
      *err = (form ? "POST " : "GET ") + url + ": " + curl_easy_strerror(rc);
      return false;
    }
    curl_easy_getinfo(c_, CURLINFO_RESPONSE_CODE, &r->status);
    return true;
  }

 private:
  CURL* c_;
};

}  // namespace

bool LoadProviderState(const std::string& path, ProviderState* out, std::string* err) {
  const char* env = std::getenv("BERTH_OIDC_STATE");
  std::string file = env != nullptr && *env != '\0' ? env : path;
  std::ifstream in(file);
  if (!in) {
    *err = "no OIDC provider state at " + file + " (run through ctest so the \"oidc\" fixture starts it)";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("issuer")) {
    *err = file + " is not a provider state file";
    return false;
  }
  out->issuer = j.value("issuer", "");
  out->redirect_uri = j.value("redirect_uri", "");
  out->users = j.value("users", nlohmann::json::object());
  out->signing_keys = j.value("signing_keys", nlohmann::json::object());
  out->pid = j.value("pid", 0);
  for (const auto& c : j.value("clients", nlohmann::json::array())) {
    out->clients.push_back({c.value("client_id", ""), c.value("client_secret", ""),
                            c.value("token_endpoint_auth_method", "client_secret_basic"),
                            c.value("id_token_signed_response_alg", "RS256")});
  }
  return true;
}

std::string QueryParam(const std::string& url, const std::string& name) {
  size_t q = url.find('?');
  if (q == std::string::npos) return {};
  std::string query = url.substr(q + 1);
  if (size_t h = query.find('#'); h != std::string::npos) query.resize(h);
  std::stringstream ss(query);
  std::string pair;
  while (std::getline(ss, pair, '&')) {
    size_t eq = pair.find('=');
    std::string k = pair.substr(0, eq);
    if (k != name) continue;
    std::string v = eq == std::string::npos ? "" : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '+') {
        out += ' ';
      } else if (v[i] == '%' && i + 2 < v.size() && std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
        out += static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += v[i];
      }
    }
    return out;
  }
  return {};
}

bool DriveLogin(const std::string& authorization_url, const std::string& login, const std::string& password,
                const std::string& redirect_prefix, LoginOutcome* out, std::string* err) {
  Browser b;
  std::string url = authorization_url;
  std::string form;
  bool post = false;
  for (int step = 0; step < 20; ++step) {
    out->visited.push_back((post ? "POST " : "GET ") + url);
    Response r;
    if (!b.Request(url, post ? &form : nullptr, &r, err)) return false;
    post = false;
    if (r.status >= 300 && r.status < 400) {
      if (r.location.empty()) {
        *err = "redirect without Location from " + url;
        return false;
      }
      std::string next = Resolve(url, r.location);
      if (next.rfind(redirect_prefix, 0) == 0) {
        out->callback_url = next;
        out->code = QueryParam(next, "code");
        out->state = QueryParam(next, "state");
        out->error = QueryParam(next, "error");
        return true;
      }
      url = next;
      continue;
    }
    if (r.status != 200) {
      *err = "HTTP " + std::to_string(r.status) + " from " + url + ": " + r.body.substr(0, 500);
      return false;
    }
    // A page: the provider's login or consent form.
    std::smatch m;
    std::regex form_re("<form[^>]*>([\\s\\S]*?)</form>", std::regex::icase);
    if (!std::regex_search(r.body, m, form_re)) {
      *err = "no form on the page at " + url + ": " + r.body.substr(0, 500);
      return false;
    }
    std::string whole = m[0].str();
    std::string open_tag = whole.substr(0, whole.find('>') + 1);
    std::string action = Attr(open_tag, "action");
    std::string inner = m[1].str();
    std::vector<std::pair<std::string, std::string>> fields;
    std::regex input_re("<input[^>]*>", std::regex::icase);
    for (auto it = std::sregex_iterator(inner.begin(), inner.end(), input_re); it != std::sregex_iterator(); ++it) {
      std::string tag = it->str();
      std::string name = Attr(tag, "name");
      if (name.empty()) continue;
      if (name == "login") {
        fields.emplace_back(name, login);
      } else if (name == "password") {
        fields.emplace_back(name, password);
      } else {
        fields.emplace_back(name, Attr(tag, "value"));
      }
    }
    form.clear();
    for (const auto& [k, v] : fields) form += (form.empty() ? "" : "&") + Encode(k) + "=" + Encode(v);
    url = Resolve(url, action.empty() ? url : action);
    post = true;
  }
  *err = "the sign-in flow did not reach " + redirect_prefix + " within 20 requests";
  return false;
}

}  // namespace berth::oidctest
