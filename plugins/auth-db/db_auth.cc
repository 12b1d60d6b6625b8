// auth-db: local users' passwords, hashed with argon2id (libargon2).
//
// berthd stores each local user's credential (the encoded argon2id string
// this plugin produced) and hands it back at sign-in. An unknown user is
// verified against a dummy hash, so wrong password and unknown user take the
// same time and give the same answer. libargon2 is Debian's well-kept
// reference implementation; using it avoids writing a memory-hard KDF.
#include <argon2.h>
#include <berth/plugin_sdk.hpp>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

namespace {

using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::Status;
using berth::sdk::UserInfo;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "memory_kib": {"type": "integer", "minimum": 8192, "maximum": 4194304,
                   "description": "argon2id memory cost (default 19456, OWASP)"},
    "iterations": {"type": "integer", "minimum": 1, "maximum": 100},
    "parallelism": {"type": "integer", "minimum": 1, "maximum": 16}
  },
  "additionalProperties": false
})json";

class DbAuth : public berth::sdk::AuthBackend {
 public:
  static Status Create(const Host&, std::string_view config, std::unique_ptr<DbAuth>* out) {
    auto j = nlohmann::json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("config must be an object");
    std::unique_ptr<DbAuth> a(new DbAuth(j.value("memory_kib", 19456u), j.value("iterations", 2u),
                                         j.value("parallelism", 1u)));
    std::string dummy;
    Status s = a->Hash(RandomSalt(), &dummy);
    if (!s.ok()) return s;
    a->dummy_ = std::move(dummy);
    *out = std::move(a);
    return {};
  }

  Status Authenticate(const CallCtx&, std::string_view username, std::string_view password,
                      std::string_view stored, UserInfo* out) override {
    // Always run the KDF once, against the real credential or the dummy.
    bool known = !stored.empty() && stored.rfind("$argon2id$", 0) == 0;
    std::string cred(known ? stored : std::string_view(dummy_));
    std::string pw(password);
    int rc = argon2id_verify(cred.c_str(), pw.data(), pw.size());
    if (!known || rc != ARGON2_OK || password.empty()) {
      return Status::Unauthenticated("invalid username or password");
    }
    out->username = std::string(username);
    return {};
  }

  Status HashPassword(const CallCtx&, std::string_view password, std::string* out) override {
    if (password.empty()) return Status::InvalidArgument("password must not be empty");
    return Hash(std::string(password), out);
  }

 private:
  DbAuth(uint32_t m, uint32_t t, uint32_t p) : m_(m), t_(t), p_(p) {}

  static std::string RandomSalt() {
    unsigned char b[16];
    RAND_bytes(b, sizeof b);
    return std::string(reinterpret_cast<char*>(b), sizeof b);
  }

  Status Hash(const std::string& password, std::string* out) const {
    std::string salt = RandomSalt();
    size_t len = argon2_encodedlen(t_, m_, p_, static_cast<uint32_t>(salt.size()), 32, Argon2_id);
    std::string enc(len, '\0');
    int rc = argon2id_hash_encoded(t_, m_, p_, password.data(), password.size(), salt.data(),
                                   salt.size(), 32, enc.data(), enc.size());
    if (rc != ARGON2_OK) return Status::Internal(std::string("argon2: ") + argon2_error_message(rc));
    enc.resize(std::strlen(enc.c_str()));
    *out = std::move(enc);
    return {};
  }

  uint32_t m_, t_, p_;
  std::string dummy_;
};

const berth_provider kDb = berth::sdk::MakeAuthProvider<DbAuth>(
    {"db", "Local users, passwords hashed with argon2id", kSchema,
     BERTH_AUTH_CAP_PASSWORD | BERTH_AUTH_CAP_HASH_PASSWORD, BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("auth-db", "1.0.0", "Local database authentication", &kDb)
