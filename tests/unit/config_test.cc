#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace berth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

std::function<const char*(const char*)> FakeEnv(const Env& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-config-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ParseError(const std::string& yaml) {
  auto c = Config::Parse(yaml, "berth.yml");
  if (c.ok()) return "<parsed without error>";
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  return c.status().message();
}

TEST(ConfigParse, EmptyTextGivesDefaults) {
  for (const char* text : {"", "# only a comment\n", "~"}) {
    auto c = Config::Parse(text, "berth.yml");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->listen, "127.0.0.1:5000");
    EXPECT_EQ(c->data_dir, "./berth-data");
    EXPECT_EQ(c->log_level, "info");
    EXPECT_EQ(c->metadata.driver, "sqlite");
    EXPECT_EQ(c->metadata.pool_size, 16);
    EXPECT_EQ(c->storage.driver, "fs");
    EXPECT_EQ(c->http.max_threads, 256);
    EXPECT_EQ(c->http.header_timeout_s, 10);
    EXPECT_EQ(c->http.max_connections, 10000);
    EXPECT_EQ(c->http.engine, "event");
    EXPECT_TRUE(c->plugin_dirs.empty());
  }
}

TEST(ConfigParse, EveryKnownKey) {
  auto c = Config::Parse(R"(
listen: 0.0.0.0:5001
data_dir: /var/lib/berth/
log_level: debug
external_url: https://registry.example.com/
http:
  max_threads: 64
  keep_alive_timeout_s: 5
  shutdown_grace_s: 0
  header_timeout_s: 3
  max_connections: 500
  engine: threads
  trusted_proxies: [10.0.0.0/8, "127.0.0.1"]
metadata:
  driver: postgres
  pool_size: 4
  sqlite:
    path: /tmp/meta.db
  postgres:
    dsn: postgresql://berth@db:5432/berth
storage:
  driver: fs
  config:
    root: /srv/berth
plugins:
  dirs: [/opt/berth/plugins, ./plugins]
  config:
    ldap: {url: "ldap://x", timeout: 10}
)",
                         "berth.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "0.0.0.0:5001");
  EXPECT_EQ(c->data_dir, "/var/lib/berth/");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->external_url, "https://registry.example.com/");
  EXPECT_EQ(c->http.max_threads, 64);
  EXPECT_EQ(c->http.keep_alive_timeout_s, 5);
  EXPECT_EQ(c->http.shutdown_grace_s, 0);
  EXPECT_EQ(c->http.header_timeout_s, 3);
  EXPECT_EQ(c->http.max_connections, 500);
  EXPECT_EQ(c->http.engine, "threads");
  EXPECT_EQ(c->http.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1"}));
  EXPECT_EQ(c->metadata.driver, "postgres");
  EXPECT_EQ(c->metadata.pool_size, 4);
  EXPECT_EQ(c->metadata.sqlite_path, "/tmp/meta.db");
  EXPECT_EQ(c->metadata.postgres_dsn, "postgresql://berth@db:5432/berth");
  EXPECT_EQ(c->storage.driver, "fs");
  EXPECT_EQ(nlohmann::json::parse(c->storage.config_json), nlohmann::json({{"root", "/srv/berth"}}));
  EXPECT_THAT(c->plugin_dirs, ElementsAre("/opt/berth/plugins", "./plugins"));
  ASSERT_EQ(c->plugin_configs.count("ldap"), 1u);
  EXPECT_EQ(nlohmann::json::parse(c->plugin_configs["ldap"]),
            nlohmann::json({{"url", "ldap://x"}, {"timeout", 10}}));

  // Finalize trims trailing slashes and keeps explicit settings.
  ASSERT_TRUE(c->Finalize().ok());
  EXPECT_EQ(c->data_dir, "/var/lib/berth");
  EXPECT_EQ(c->external_url, "https://registry.example.com");
  EXPECT_EQ(c->listen_host(), "0.0.0.0");
  EXPECT_EQ(c->listen_port(), 5001);
}

TEST(ConfigParse, StorageConfigScalarsBecomeJsonTypes) {
  auto c = Config::Parse(R"(
storage:
  driver: s3
  config:
    int: 5
    negative: -3
    yes_bool: true
    no_bool: False
    quoted_int: "5"
    single_quoted_bool: 'true'
    text: hello
    nothing: ~
    null_word: null
    list: [1, "a", {k: v}]
    nested: {deep: {deeper: 1}}
)",
                         "berth.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto j = nlohmann::json::parse(c->storage.config_json);
  EXPECT_EQ(j["int"], 5);
  EXPECT_EQ(j["negative"], -3);
  EXPECT_EQ(j["yes_bool"], true);
  EXPECT_EQ(j["no_bool"], false);
  EXPECT_EQ(j["quoted_int"], "5");
  EXPECT_EQ(j["single_quoted_bool"], "true");
  EXPECT_EQ(j["text"], "hello");
  EXPECT_TRUE(j["nothing"].is_null());
  EXPECT_TRUE(j["null_word"].is_null());
  EXPECT_EQ(j["list"], nlohmann::json::parse(R"([1, "a", {"k": "v"}])"));
  EXPECT_EQ(j["nested"]["deep"]["deeper"], 1);
}

// The header promises "Plain scalars become bool/null/number when they look
// like one": a plain 1.5 must reach a plugin as a JSON number.
TEST(ConfigParse, PlainFloatScalarBecomesJsonNumber) {
  auto c = Config::Parse(R"(
storage:
  config:
    ratio: 1.5
    quoted: "1.5"
    negative_exp: -2.5e3
    leading_dot: .5
    trailing_dot: 1.
    plus_int: +7
    plus_float: +0.25
    plus_minus: +-5
    version: 1.2.3
    inf: .inf
    nan: .nan
    huge: 1e999
    bare_exp: e5
    open_exp: 1e
)",
                         "b.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto j = nlohmann::json::parse(c->storage.config_json);
  EXPECT_TRUE(j["ratio"].is_number_float()) << "got " << j["ratio"].dump();
  EXPECT_EQ(j["ratio"], 1.5);
  EXPECT_EQ(j["quoted"], "1.5");
  EXPECT_EQ(j["negative_exp"], -2500.0);
  EXPECT_EQ(j["leading_dot"], 0.5);
  EXPECT_EQ(j["trailing_dot"], 1.0);
  EXPECT_TRUE(j["plus_int"].is_number_integer());
  EXPECT_EQ(j["plus_int"], 7);
  EXPECT_EQ(j["plus_float"], 0.25);
  // Not numbers, or not representable in JSON: kept as written.
  for (const char* k : {"plus_minus", "version", "inf", "nan", "huge", "bare_exp", "open_exp"}) {
    EXPECT_TRUE(j[k].is_string()) << k << " = " << j[k].dump();
  }
  EXPECT_EQ(j["plus_minus"], "+-5");
  EXPECT_EQ(j["version"], "1.2.3");
}

TEST(ConfigParse, UnknownKeysAreRejectedWithTheirPlace) {
  EXPECT_EQ(ParseError("lisen: 1.2.3.4:5\n"), "berth.yml: unknown key 'lisen' in the top level");
  EXPECT_EQ(ParseError("http:\n  max_thread: 4\n"), "berth.yml: unknown key 'max_thread' in http");
  EXPECT_EQ(ParseError("metadata:\n  dsn: x\n"), "berth.yml: unknown key 'dsn' in metadata");
  EXPECT_EQ(ParseError("metadata:\n  sqlite:\n    file: x\n"),
            "berth.yml: unknown key 'file' in metadata.sqlite");
  EXPECT_EQ(ParseError("metadata:\n  postgres:\n    url: x\n"),
            "berth.yml: unknown key 'url' in metadata.postgres");
  EXPECT_EQ(ParseError("storage:\n  root: /x\n"), "berth.yml: unknown key 'root' in storage");
  EXPECT_EQ(ParseError("plugins:\n  dir: [x]\n"), "berth.yml: unknown key 'dir' in plugins");
}

TEST(ConfigParse, BadValuesSayWhatIsExpected) {
  EXPECT_THAT(ParseError("listen: [a, b]\n"), HasSubstr("'listen' must be a string"));
  EXPECT_THAT(ParseError("data_dir: {a: b}\n"), HasSubstr("'data_dir' must be a string"));
  EXPECT_THAT(ParseError("http:\n  max_threads: 2\n"),
              HasSubstr("'max_threads' must be an integer between 4 and 10000"));
  EXPECT_THAT(ParseError("http:\n  max_threads: lots\n"),
              HasSubstr("'max_threads' must be an integer between 4 and 10000"));
  EXPECT_THAT(ParseError("http:\n  keep_alive_timeout_s: 1.5\n"),
              HasSubstr("'keep_alive_timeout_s' must be an integer between 1 and 3600"));
  EXPECT_THAT(ParseError("http:\n  header_timeout_s: 0\n"),
              HasSubstr("'header_timeout_s' must be an integer between 1 and 3600"));
  EXPECT_THAT(ParseError("http:\n  max_connections: 2\n"),
              HasSubstr("'max_connections' must be an integer between 16 and 1000000"));
  {
    auto c = Config::Parse("http:\n  engine: fibers\n", "berth.yml");
    ASSERT_TRUE(c.ok());
    EXPECT_THAT(c->Finalize().message(), HasSubstr("http.engine must be 'event' or 'threads'"));
  }
  EXPECT_THAT(ParseError("http:\n  trusted_proxies: [10.0.0.0/40]\n"),
              HasSubstr("http.trusted_proxies: '10.0.0.0/40': the prefix length must be 0 to 32"));
  EXPECT_THAT(ParseError("http:\n  trusted_proxies: [lb.example]\n"),
              HasSubstr("'lb.example' is not an IP address or CIDR block"));
  EXPECT_THAT(ParseError("http:\n  trusted_proxies: 10.0.0.1\n"),
              HasSubstr("'http.trusted_proxies' must be a list"));
  EXPECT_THAT(ParseError("http:\n  shutdown_grace_s: -1\n"),
              HasSubstr("'shutdown_grace_s' must be an integer between 0 and 3600"));
  EXPECT_THAT(ParseError("metadata:\n  pool_size: 0\n"),
              HasSubstr("'pool_size' must be an integer between 1 and 1000"));
  EXPECT_THAT(ParseError("http: 5\n"), HasSubstr("'http' must be a mapping"));
  EXPECT_THAT(ParseError("storage:\n  config: /srv\n"),
              HasSubstr("'storage.config' must be a mapping"));
  EXPECT_THAT(ParseError("plugins:\n  dirs: /opt\n"),
              HasSubstr("'plugins.dirs' must be a list of directories"));
  EXPECT_THAT(ParseError("plugins:\n  config: [a]\n"),
              HasSubstr("'plugins.config' must be a mapping"));
  EXPECT_THAT(ParseError("- a\n- b\n"), HasSubstr("must be a mapping"));
  EXPECT_THAT(ParseError("listen: [unclosed\n"), HasSubstr("berth.yml: invalid YAML"));
}

TEST(ConfigParse, ScanDataExportRetention) {
  auto c = Config::Parse("", "berth.yml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->scanning.export_max_age_s, 86400);
  EXPECT_EQ(c->scanning.export_cleanup_cron, "0 0 0 * * *");
  c = Config::Parse("scanning:\n  export_max_age_s: 3600\n  export_cleanup_cron: \"0 0 * * * *\"\n",
                    "berth.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scanning.export_max_age_s, 3600);
  EXPECT_EQ(c->scanning.export_cleanup_cron, "0 0 * * * *");
  EXPECT_THAT(ParseError("scanning:\n  export_max_age_s: 0\n"),
              HasSubstr("'export_max_age_s' must be an integer between 1 and 31536000"));
}

TEST(ConfigFinalize, Defaults) {
  Config c;
  ASSERT_TRUE(c.Finalize().ok());
  EXPECT_EQ(c.metadata.sqlite_path, "./berth-data/berth.db");
  EXPECT_EQ(nlohmann::json::parse(c.storage.config_json),
            nlohmann::json({{"root", "./berth-data/storage"}}));
  EXPECT_EQ(c.external_url, "http://127.0.0.1:5000");
}

TEST(ConfigFinalize, NonFsDriverWithoutConfigGetsEmptyObject) {
  Config c;
  c.storage.driver = "s3";
  ASSERT_TRUE(c.Finalize().ok());
  EXPECT_EQ(c.storage.config_json, "{}");
}

TEST(ConfigFinalize, RejectsBadValues) {
  auto finalize_error = [](auto mutate) {
    Config c;
    mutate(c);
    Status s = c.Finalize();
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    return s.message();
  };
  EXPECT_THAT(finalize_error([](Config& c) { c.listen = "localhost"; }),
              HasSubstr("listen must be host:port"));
  EXPECT_THAT(finalize_error([](Config& c) { c.listen = ":5000"; }),
              HasSubstr("listen must be host:port"));
  EXPECT_THAT(finalize_error([](Config& c) { c.listen = "localhost:65536"; }),
              HasSubstr("'localhost:65536'"));
  EXPECT_THAT(finalize_error([](Config& c) { c.listen = "localhost:http"; }),
              HasSubstr("listen must be host:port"));
  EXPECT_THAT(finalize_error([](Config& c) { c.data_dir = ""; }),
              HasSubstr("data_dir must not be empty"));
  EXPECT_THAT(finalize_error([](Config& c) { c.log_level = "verbose"; }),
              HasSubstr("log_level must be debug, info, warn or error, got 'verbose'"));
  EXPECT_THAT(finalize_error([](Config& c) { c.metadata.driver = "mysql"; }),
              HasSubstr("metadata.driver must be sqlite or postgres, got 'mysql'"));
  EXPECT_THAT(finalize_error([](Config& c) { c.metadata.driver = "postgres"; }),
              HasSubstr("BERTH_POSTGRES_DSN"));
  EXPECT_THAT(finalize_error([](Config& c) { c.storage.driver = ""; }),
              HasSubstr("storage.driver must not be empty"));
}

TEST(ConfigTls, ParsedFromTheFileAndTheEnvironment) {
  auto c = Config::Parse(
      "tls:\n  cert: /c.pem\n  key: /k.pem\n  ca: /ca.pem\n  client_ca: /cl.pem\n"
      "  min_version: \"1.3\"\n  redirect_listen: 0.0.0.0:80\n",
      "t.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tls.cert, "/c.pem");
  EXPECT_EQ(c->tls.key, "/k.pem");
  EXPECT_EQ(c->tls.ca, "/ca.pem");
  EXPECT_EQ(c->tls.client_ca, "/cl.pem");
  EXPECT_EQ(c->tls.min_version, "1.3");
  EXPECT_EQ(c->tls.redirect_listen, "0.0.0.0:80");
  ASSERT_TRUE(c->Finalize().ok());
  EXPECT_EQ(c->external_url, "https://127.0.0.1:5000");  // https once TLS is on

  Env env = {{"BERTH_TLS_CERT", "/e.pem"}, {"BERTH_TLS_KEY", "/e.key"}};
  auto e = Config::Load("", FakeEnv(env));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(e->tls.enabled());
  EXPECT_EQ(e->tls.cert, "/e.pem");
  EXPECT_EQ(e->tls.min_version, "1.2");

  auto bad = Config::Parse("tls:\n  certificate: x\n", "t.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown key 'certificate' in tls"));
}

TEST(ConfigTls, FinalizeRejectsHalfConfigurations) {
  auto finalize_error = [](auto mutate) {
    Config c;
    mutate(c);
    Status s = c.Finalize();
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    return s.message();
  };
  EXPECT_THAT(finalize_error([](Config& c) { c.tls.cert = "/c.pem"; }),
              HasSubstr("tls.cert and tls.key go together"));
  EXPECT_THAT(finalize_error([](Config& c) { c.tls.key = "/k.pem"; }),
              HasSubstr("tls.cert and tls.key go together"));
  EXPECT_THAT(finalize_error([](Config& c) { c.tls.client_ca = "/ca.pem"; }),
              HasSubstr("need tls.cert and tls.key"));
  EXPECT_THAT(finalize_error([](Config& c) {
                c.tls.cert = "/c.pem";
                c.tls.key = "/k.pem";
                c.tls.min_version = "1.1";
              }),
              HasSubstr("tls.min_version must be 1.2 or 1.3, got '1.1'"));
  EXPECT_THAT(finalize_error([](Config& c) {
                c.tls.cert = "/c.pem";
                c.tls.key = "/k.pem";
                c.tls.redirect_listen = "80";
              }),
              HasSubstr("tls.redirect_listen must be host:port"));
  Config plain;
  ASSERT_TRUE(plain.Finalize().ok());
  EXPECT_EQ(plain.external_url, "http://127.0.0.1:5000");
}

TEST(ConfigQuota, StoragePerProject) {
  auto c = Config::Parse("", "berth.yml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->quota.storage_per_project, -1) << "unlimited unless configured";
  c = Config::Parse("quota:\n  storage_per_project: 10737418240\n", "berth.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->quota.storage_per_project, int64_t{10737418240});
  ASSERT_TRUE(c->Finalize().ok());
  EXPECT_EQ(ParseError("quota:\n  storage: 5\n"), "berth.yml: unknown key 'storage' in quota");
  EXPECT_EQ(ParseError("quota:\n  storage_per_project: lots\n"),
            "berth.yml: 'storage_per_project' must be an integer");
  for (const char* bad : {"0", "-2"}) {
    auto b = Config::Parse(std::string("quota:\n  storage_per_project: ") + bad + "\n", "berth.yml");
    ASSERT_TRUE(b.ok());
    Status s = b->Finalize();
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("quota.storage_per_project")) << bad;
  }
  Env env = {{"BERTH_QUOTA_STORAGE_PER_PROJECT", "4096"}};
  auto e = Config::Load("", FakeEnv(env));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->quota.storage_per_project, 4096);
  Env bad_env = {{"BERTH_QUOTA_STORAGE_PER_PROJECT", "4k"}};
  auto f = Config::Load("", FakeEnv(bad_env));
  EXPECT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("BERTH_QUOTA_STORAGE_PER_PROJECT"));
}

TEST(ConfigListen, HostAndPort) {
  Config c;
  c.listen = "[::1]:5000";
  EXPECT_EQ(c.listen_host(), "::1");
  EXPECT_EQ(c.listen_port(), 5000);
  c.listen = "0.0.0.0:0";
  EXPECT_EQ(c.listen_port(), 0);
  c.listen = "example.com:65535";
  EXPECT_EQ(c.listen_host(), "example.com");
  EXPECT_EQ(c.listen_port(), 65535);
  c.listen = "example.com:-1";
  EXPECT_EQ(c.listen_port(), -1);
  c.listen = "example.com";
  EXPECT_EQ(c.listen_port(), -1);
  EXPECT_EQ(c.listen_host(), "");
}

TEST(ConfigLoad, NoFileAndNoEnvironmentGivesFinalizedDefaults) {
  Env env;
  auto c = Config::Load("", FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:5000");
  EXPECT_EQ(c->metadata.sqlite_path, "./berth-data/berth.db");
}

TEST(ConfigLoad, ReadsTheFileAndNamesItInErrors) {
  TempDir dir;
  std::string good = dir.Write("good.yml", "listen: 127.0.0.1:6000\nlog_level: warn\n");
  Env env;
  auto c = Config::Load(good, FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:6000");
  EXPECT_EQ(c->log_level, "warn");

  std::string bad = dir.Write("bad.yml", "listen: 127.0.0.1:6000\nbogus: 1\n");
  auto b = Config::Load(bad, FakeEnv(env));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), bad + ": unknown key 'bogus' in the top level");

  auto missing = Config::Load(dir.path() + "/missing.yml", FakeEnv(env));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot read config file"));
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.yml"));
}

TEST(ConfigLoad, EnvironmentOverridesTheFile) {
  TempDir dir;
  std::string file = dir.Write("berth.yml",
                               "listen: 127.0.0.1:6000\ndata_dir: /from/file\n"
                               "plugins:\n  dirs: [/file/plugins]\n");
  Env env = {{"BERTH_LISTEN", "0.0.0.0:7000"},
             {"BERTH_DATA_DIR", "/from/env/"},
             {"BERTH_LOG_LEVEL", "error"},
             {"BERTH_EXTERNAL_URL", "https://r.example/"},
             {"BERTH_PLUGIN_DIRS", "/a::/b:"}};
  auto c = Config::Load(file, FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "0.0.0.0:7000");
  EXPECT_EQ(c->listen_port(), 7000);
  EXPECT_EQ(c->data_dir, "/from/env");
  EXPECT_EQ(c->log_level, "error");
  EXPECT_EQ(c->external_url, "https://r.example");
  EXPECT_THAT(c->plugin_dirs, ElementsAre("/a", "/b"));
  // Derived defaults follow the overridden data_dir.
  EXPECT_EQ(c->metadata.sqlite_path, "/from/env/berth.db");
  EXPECT_EQ(nlohmann::json::parse(c->storage.config_json),
            nlohmann::json({{"root", "/from/env/storage"}}));
}

TEST(ConfigLoad, EmptyEnvironmentValuesAreIgnored) {
  TempDir dir;
  std::string file = dir.Write("berth.yml", "listen: 127.0.0.1:6000\n");
  Env env = {{"BERTH_LISTEN", ""}, {"BERTH_DATA_DIR", ""}, {"BERTH_PLUGIN_DIRS", ""}};
  auto c = Config::Load(file, FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:6000");
  EXPECT_EQ(c->data_dir, "./berth-data");
}

TEST(ConfigLoad, DataDirDoesNotOverrideExplicitPaths) {
  TempDir dir;
  std::string file = dir.Write("berth.yml",
                               "metadata:\n  sqlite:\n    path: /explicit/meta.db\n"
                               "storage:\n  config:\n    root: /explicit/storage\n");
  Env env = {{"BERTH_DATA_DIR", "/env"}};
  auto c = Config::Load(file, FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->metadata.sqlite_path, "/explicit/meta.db");
  EXPECT_EQ(nlohmann::json::parse(c->storage.config_json),
            nlohmann::json({{"root", "/explicit/storage"}}));
}

TEST(ConfigLoad, BadEnvironmentValuesAreReported) {
  Env env = {{"BERTH_LISTEN", "nope"}};
  auto c = Config::Load("", FakeEnv(env));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("'nope'"));

  env = {{"BERTH_LOG_LEVEL", "loud"}};
  c = Config::Load("", FakeEnv(env));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("'loud'"));

  env = {{"BERTH_METADATA_DRIVER", "postgres"}};
  c = Config::Load("", FakeEnv(env));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("postgres"));

  env = {{"BERTH_METADATA_DRIVER", "postgres"}, {"BERTH_POSTGRES_DSN", "postgresql://x@y/z"}};
  c = Config::Load("", FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->metadata.postgres_dsn, "postgresql://x@y/z");
}

// BERTH_CONFIG chooses the file in berthd's main() (after --config); Load
// reads exactly the path it is given and never consults BERTH_CONFIG itself.
TEST(ConfigLoad, BerthConfigIsResolvedByTheCallerNotByLoad) {
  TempDir dir;
  std::string env_file = dir.Write("env.yml", "listen: 127.0.0.1:7777\n");
  std::string arg_file = dir.Write("arg.yml", "listen: 127.0.0.1:8888\n");
  Env env = {{"BERTH_CONFIG", env_file}};
  auto c = Config::Load(arg_file, FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:8888");

  env = {{"BERTH_CONFIG", dir.path() + "/does-not-exist.yml"}};
  c = Config::Load("", FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:5000");
}

}  // namespace
}  // namespace berth
