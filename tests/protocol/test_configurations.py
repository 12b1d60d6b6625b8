#!/usr/bin/env python3
"""Harbor's system configurations (GET/PUT /api/v2.0/configurations) and
read-only mode.

  * GET: ConfigurationsResponse, every key {"value", "editable"}, values of
    the right type, secrets (ldap_search_password, oidc_client_secret) never
    returned; keys berth.yml or the environment set are not editable and a
    PUT of them is refused (403, nothing changed);
  * PUT takes effect without a restart: token_expiration (the next token),
    robot_name_prefix and robot_token_duration (the next robot),
    project_creation_restriction (the next project), self_registration (the
    next sign-up), auth_mode with its LDAP settings (the provider's refusal
    is a 400), audit forwarding (syslog, skip_audit_log_database);
  * unknown keys, wrong types, bad values: 400 in Harbor's error shape and
    nothing written, even for the valid keys of the same body;
  * anonymous 401, a user 403, a project administrator 403;
  * the values survive a restart;
  * read_only: every write on /v2 (upload start, chunk, completion, monolithic
    upload, mount, manifest put and delete) and on the API answers 403 DENIED
    "The system is in read only mode. Any modification is prohibited." (what
    Harbor's readonly middleware sends) while pulls, GETs, tokens and sign-in
    work; switching it off restores writes at once; systeminfo reports it;
    read_only from berth.yml is fixed.

Runs on SQLite, and on PostgreSQL as protocol_pg.configurations. Python 3
standard library only.
"""

import base64
import json
import unittest
import urllib.parse
import uuid

import berth_harness as h
import swagger_shape as ss
from test_audit_ext import SyslogSink

API = "/api/v2.0"
PASSWORD = "Config-Passw0rd"
READ_ONLY_MESSAGE = "The system is in read only mode. Any modification is prohibited."
FILE_STORAGE = 1 << 30  # quota.storage_per_project in berth.yml

# Harbor's keys Berth honours, with the JSON type of their values.
TYPES = {
    "auth_mode": str, "self_registration": bool, "token_expiration": int,
    "robot_token_duration": int, "robot_name_prefix": str,
    "project_creation_restriction": str, "storage_per_project": int, "read_only": bool,
    "audit_log_forward_endpoint": str, "skip_audit_log_database": bool,
    "ldap_url": str, "ldap_base_dn": str, "ldap_filter": str, "ldap_scope": int,
    "ldap_search_dn": str, "ldap_timeout": int, "ldap_uid": str, "ldap_verify_cert": bool,
    "ldap_group_base_dn": str, "ldap_group_admin_dn": str, "ldap_group_attribute_name": str,
    "ldap_group_search_filter": str, "ldap_group_search_scope": int,
    "ldap_group_membership_attribute": str,
    "oidc_endpoint": str, "oidc_client_id": str, "oidc_groups_claim": str,
    "oidc_admin_group": str, "oidc_group_filter": str, "oidc_scope": str,
    "oidc_user_claim": str, "oidc_verify_cert": bool, "oidc_extra_redirect_parms": str,
}
SECRETS = ("ldap_search_password", "oidc_client_secret")


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def uid(prefix):
    return "%s%s" % (prefix, uuid.uuid4().hex[:8])


class Api:
    """/api/v2.0 calls as some identity ("admin", (user, password), or None)."""

    def __init__(self, test, reg):
        self.test = test
        self.reg = reg

    def call(self, method, path, body=None, auth="admin", raw=None, headers=None):
        hdrs = dict(headers or {})
        if auth == "admin":
            hdrs["Authorization"] = self.reg.auth_header()
        elif auth is not None:
            hdrs["Authorization"] = basic(*auth)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        if not path.startswith(("/v2", "/c/", "/service/", API)):
            path = API + path
        r = self.reg.request(method, path, data, hdrs, auth=False)
        if r.status >= 400 and r.body and r.method != "HEAD":
            doc = r.json()
            errs = doc.get("errors") if isinstance(doc, dict) else None
            self.test.assertTrue(
                isinstance(errs, list) and errs and all(
                    isinstance(e.get("code"), str) and isinstance(e.get("message"), str)
                    for e in errs), "not Harbor's error shape: %r" % r)
        return r

    def expect(self, status, method, path, body=None, **kw):
        r = self.call(method, path, body, **kw)
        self.test.assertEqual(r.status, status, "%r" % r)
        return r

    def configs(self):
        return self.expect(200, "GET", "/configurations").json()

    def values(self):
        return {k: v["value"] for k, v in self.configs().items()}

    def put(self, changes, status=200, **kw):
        return self.expect(status, "PUT", "/configurations", changes, **kw)

    def create_user(self, name):
        self.expect(201, "POST", "/users", {"username": name, "email": name + "@example.com",
                                            "realname": name, "password": PASSWORD})
        return (name, PASSWORD)

    def token(self, auth="admin", scope=None):
        path = "/service/token?service=harbor-registry"
        if scope:
            path += "&scope=" + urllib.parse.quote(scope)
        return self.expect(200, "GET", path, auth=auth).json()


class Configurations(unittest.TestCase):
    """One berthd whose berth.yml fixes quota.storage_per_project. The tests
    run in name order; each puts back what it changed."""

    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = h.Registry(config="quota:\n  storage_per_project: %d\n" % FILE_STORAGE).start()

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def setUp(self):
        self.assertTrue(self.reg.alive(), "berthd is not running:\n" + self.reg.stderr_tail())
        self.api = Api(self, self.reg)

    def assertDenied(self, r, oci):
        self.assertEqual(r.status, 403, "%r" % r)
        self.assertEqual(r.json()["errors"][0]["code"], "DENIED", "%r" % r)
        self.assertEqual(r.json()["errors"][0]["message"], READ_ONLY_MESSAGE, "%r" % r)
        if oci:
            self.assertEqual(r.header("Docker-Distribution-API-Version"), "registry/2.0")

    # -- shape ---------------------------------------------------------------

    def test_01_shape_and_editable_flags(self):
        cfg = self.api.configs()
        if ss.skip_reason() is None:
            ss.assert_shape(cfg, "ConfigurationsResponse")
        for key, typ in TYPES.items():
            self.assertIn(key, cfg)
            item = cfg[key]
            self.assertEqual(set(item), {"value", "editable"}, key)
            self.assertIsInstance(item["editable"], bool, key)
            if typ is int:
                self.assertTrue(isinstance(item["value"], int) and
                                not isinstance(item["value"], bool), (key, item))
            else:
                self.assertIsInstance(item["value"], typ, key)
        for key in SECRETS:
            self.assertNotIn(key, cfg)
        self.assertEqual(cfg["auth_mode"], {"value": "db_auth", "editable": True})
        self.assertEqual(cfg["token_expiration"], {"value": 30, "editable": True})
        self.assertEqual(cfg["robot_token_duration"], {"value": 30, "editable": True})
        self.assertEqual(cfg["robot_name_prefix"], {"value": "robot$", "editable": True})
        self.assertEqual(cfg["project_creation_restriction"]["value"], "everyone")
        self.assertEqual(cfg["self_registration"]["value"], False)
        self.assertEqual(cfg["read_only"], {"value": False, "editable": True})
        # Set in berth.yml: reported, not editable.
        self.assertEqual(cfg["storage_per_project"], {"value": FILE_STORAGE, "editable": False})

    def test_02_auth_mode_and_ldap_settings(self):
        # Runs while the administrator is the only user: Harbor lets the
        # auth mode change only then.
        before = self.api.values()
        # The LDAP provider refuses settings without a URL: 400, nothing kept.
        r = self.api.put({"auth_mode": "ldap_auth", "ldap_base_dn": "dc=example,dc=com"}, 400)
        self.assertEqual(r.json()["errors"][0]["code"], "BAD_REQUEST")
        self.assertEqual(self.api.values(), before)
        self.api.put({"auth_mode": "uaa_auth"}, 400)
        self.api.put({"ldap_scope": 3}, 400)
        self.api.put({"auth_mode": "ldap_auth", "ldap_url": "ldap://127.0.0.1:1",
                      "ldap_base_dn": "dc=example,dc=com", "ldap_uid": "cn", "ldap_scope": 1,
                      "ldap_search_dn": "cn=reader,dc=example,dc=com",
                      "ldap_search_password": "Ldap-S3cret-Value"})
        cfg = self.api.configs()
        self.assertEqual(cfg["auth_mode"]["value"], "ldap_auth")
        self.assertEqual(cfg["ldap_url"]["value"], "ldap://127.0.0.1:1")
        self.assertEqual(cfg["ldap_uid"]["value"], "cn")
        self.assertEqual(cfg["ldap_scope"]["value"], 1)
        self.assertNotIn("ldap_search_password", cfg)
        self.assertNotIn(b"Ldap-S3cret-Value", self.api.call("GET", "/configurations").body)
        info = self.api.expect(200, "GET", "/systeminfo").json()
        self.assertEqual(info["auth_mode"], "ldap_auth")
        # At once: users now come from LDAP, so none are created here...
        r = self.api.call("POST", "/users", {"username": "nope", "email": "n@example.com",
                                             "realname": "n", "password": PASSWORD})
        self.assertEqual(r.status, 403, "%r" % r)
        # ... while the local administrator still signs in.
        self.api.expect(200, "GET", "/users/current")
        self.api.put({"auth_mode": "db_auth"})
        self.assertEqual(self.api.expect(200, "GET", "/systeminfo").json()["auth_mode"], "db_auth")
        user = self.api.create_user(uid("first"))
        # Users exist now: the mode is fixed, as in Harbor.
        self.assertFalse(self.api.configs()["auth_mode"]["editable"])
        r = self.api.put({"auth_mode": "ldap_auth"}, 400)
        self.assertIn("auth mode cannot be modified", r.json()["errors"][0]["message"])
        self.api.expect(200, "GET", "/users/current", auth=user)

    # -- who may ------------------------------------------------------------

    def test_02b_internal_configurations(self):
        r = self.api.expect(200, "GET", "/internalconfig")
        internal, cfg = r.json(), self.api.configs()
        if ss.skip_reason() is None:
            ss.assert_shape(internal, "InternalConfigurationsResponse")
        # Every configuration item, with the deployment's fixed facts.
        for key, item in cfg.items():
            self.assertEqual(internal[key], item, key)
        self.assertEqual(internal["ext_endpoint"],
                         {"value": "http://127.0.0.1:%d" % self.reg.port, "editable": False})
        self.assertEqual(internal["database_type"],
                         {"value": "postgresql" if self.reg.postgres_dsn() else "sqlite",
                          "editable": False})
        self.assertEqual(internal["registry_storage_provider_name"],
                         {"value": "filesystem", "editable": False})
        for key in SECRETS:
            self.assertNotIn(key, internal)
        # System administrators only.
        self.api.expect(401, "GET", "/internalconfig", auth=None)
        self.api.expect(403, "GET", "/internalconfig", auth=self.api.create_user(uid("ic")))

    def test_03_rbac(self):
        self.api.expect(401, "GET", "/configurations", auth=None)
        self.api.expect(401, "PUT", "/configurations", {"token_expiration": 5}, auth=None)
        user = self.api.create_user(uid("plain"))
        self.api.expect(403, "GET", "/configurations", auth=user)
        self.api.expect(403, "PUT", "/configurations", {"token_expiration": 5}, auth=user)
        pa = self.api.create_user(uid("padmin"))
        self.api.expect(201, "POST", "/projects", {"project_name": uid("pa-proj")}, auth=pa)
        self.api.expect(403, "GET", "/configurations", auth=pa)
        r = self.api.expect(403, "PUT", "/configurations", {"token_expiration": 5}, auth=pa)
        self.assertEqual(r.json()["errors"][0]["code"], "FORBIDDEN")
        self.assertEqual(self.api.values()["token_expiration"], 30)

    # -- effect without restart ----------------------------------------------

    def test_04_token_expiration(self):
        self.api.put({"token_expiration": 7})
        self.assertEqual(self.api.token()["expires_in"], 7 * 60)
        self.assertEqual(self.api.token(scope="repository:library/x:pull")["expires_in"], 420)
        self.api.put({"token_expiration": 30})
        self.assertEqual(self.api.token()["expires_in"], 1800)

    def test_05_robot_prefix_and_duration(self):
        self.api.put({"robot_name_prefix": "bot-", "robot_token_duration": 3})
        try:
            name = uid("r")
            r = self.api.expect(201, "POST", "/robots", {
                "name": name, "level": "system",
                "permissions": [{"kind": "project", "namespace": "*",
                                 "access": [{"resource": "repository", "action": "pull"}]}]})
            robot = r.json()
            self.assertEqual(robot["name"], "bot-" + name)
            got = self.api.expect(200, "GET", "/robots/%d" % robot["id"]).json()
            self.assertEqual(got["duration"], 3)
            # The robot signs in under the new prefix.
            tok = self.api.token(auth=(robot["name"], robot["secret"]),
                                 scope="repository:library/x:pull")
            self.assertTrue(tok["token"])
        finally:
            self.api.put({"robot_name_prefix": "robot$", "robot_token_duration": 30})

    def test_06_project_creation_restriction(self):
        user = self.api.create_user(uid("creator"))
        self.api.put({"project_creation_restriction": "adminonly"})
        try:
            self.api.expect(403, "POST", "/projects", {"project_name": uid("denied")}, auth=user)
            info = self.api.expect(200, "GET", "/systeminfo").json()
            self.assertEqual(info["project_creation_restriction"], "adminonly")
        finally:
            self.api.put({"project_creation_restriction": "everyone"})
        self.api.expect(201, "POST", "/projects", {"project_name": uid("allowed")}, auth=user)

    def test_07_self_registration(self):
        body = lambda n: {"username": n, "email": n + "@example.com", "realname": n,
                          "password": PASSWORD}
        self.api.expect(401, "POST", "/users", body(uid("self")), auth=None)
        self.api.put({"self_registration": True})
        try:
            self.assertTrue(self.api.expect(200, "GET", "/systeminfo", auth=None)
                            .json()["self_registration"])
            name = uid("self")
            self.api.expect(201, "POST", "/users", body(name), auth=None)
            self.api.expect(200, "GET", "/users/current", auth=(name, PASSWORD))
        finally:
            self.api.put({"self_registration": False})
        self.api.expect(401, "POST", "/users", body(uid("self")), auth=None)

    def test_08_audit_forwarding(self):
        sink = SyslogSink()
        self.addCleanup(sink.close)
        self.api.put({"skip_audit_log_database": True}, 400)  # no endpoint yet
        self.api.put({"audit_log_forward_endpoint": "127.0.0.1:%d" % sink.port})
        try:
            kept = uid("fwd-kept")
            self.api.expect(201, "POST", "/projects", {"project_name": kept})
            sink.wait_for('resource="%s"' % kept)
            self.api.put({"skip_audit_log_database": True})
            skipped = uid("fwd-skip")
            self.api.expect(201, "POST", "/projects", {"project_name": skipped})
            sink.wait_for('resource="%s"' % skipped)
            rows = self.api.expect(200, "GET", "/audit-logs?q=resource=%s" % skipped).json()
            self.assertEqual(rows, [])
            rows = self.api.expect(200, "GET", "/audit-logs?q=resource=%s" % kept).json()
            self.assertEqual(len(rows), 1)
            # The endpoint cannot go while the database is skipped.
            self.api.put({"audit_log_forward_endpoint": ""}, 400)
        finally:
            self.api.put({"skip_audit_log_database": False, "audit_log_forward_endpoint": ""})
        self.assertEqual(self.api.values()["audit_log_forward_endpoint"], "")

    # -- refusals -----------------------------------------------------------

    def test_09_bad_input_changes_nothing(self):
        before = self.api.values()
        bad = [
            {"no_such_key": 1},
            {"primary_auth_mode": True},  # Harbor's, not honoured by Berth
            {"token_expiration": "5"},
            {"token_expiration": 0},
            {"token_expiration": 1.5},
            {"token_expiration": None},
            {"robot_token_duration": -1},
            {"self_registration": "true"},
            {"read_only": 1},
            {"project_creation_restriction": "nobody"},
            {"robot_name_prefix": ""},
            {"robot_name_prefix": "a:b"},
            {"storage_per_project": -5},
            {"audit_log_forward_endpoint": "no-port"},
            {"ldap_timeout": 0},
            {"oidc_extra_redirect_parms": "[1]"},
            # All or nothing: valid keys beside a bad one are not written.
            {"token_expiration": 5, "self_registration": True, "bogus": 1},
            {"token_expiration": 5, "project_creation_restriction": "x"},
            {"read_only": True, "token_expiration": -3},
        ]
        for body in bad:
            r = self.api.put(body, 400)
            self.assertEqual(r.json()["errors"][0]["code"], "BAD_REQUEST", body)
        for raw in (b"[1]", b"{not json", b'"text"'):
            r = self.api.expect(400, "PUT", "/configurations", raw=raw)
            self.assertEqual(r.json()["errors"][0]["code"], "BAD_REQUEST")
        self.assertEqual(self.api.values(), before)

    def test_10_file_keys_are_fixed(self):
        before = self.api.values()
        r = self.api.put({"storage_per_project": 5}, 403)
        self.assertEqual(r.json()["errors"][0]["code"], "FORBIDDEN")
        self.assertIn("storage_per_project", r.json()["errors"][0]["message"])
        self.api.put({"token_expiration": 9, "storage_per_project": 5}, 403)
        self.assertEqual(self.api.values(), before)
        # New projects get the file's default.
        name = uid("quota")
        pid = int(self.api.expect(201, "POST", "/projects", {"project_name": name})
                  .header("Location").rsplit("/", 1)[1])
        q = self.api.expect(200, "GET", "/quotas?reference=project&reference_id=%d" % pid).json()
        self.assertEqual(q[0]["hard"]["storage"], FILE_STORAGE)

    def test_11_secrets_never_returned(self):
        self.api.put({"oidc_client_secret": "Oidc-S3cret-Value",
                      "ldap_search_password": "Ldap-S3cret-Other"})
        r = self.api.call("GET", "/configurations")
        self.assertEqual(r.status, 200)
        for secret in SECRETS:
            self.assertNotIn(secret, r.json())
        self.assertNotIn(b"S3cret", r.body)

    # -- read-only mode -----------------------------------------------------

    def test_12_read_only(self):
        reg = self.reg
        repo = "library/" + uid("ro")
        other = "library/" + uid("ro-other")
        body, digest = reg.push_image(repo, "v1")
        manifest = json.loads(body)
        layer = manifest["layers"][0]["digest"]
        upload = reg.start_upload(repo)  # an upload begun before the switch
        project = uid("ro-proj")
        pid = int(self.api.expect(201, "POST", "/projects", {"project_name": project})
                  .header("Location").rsplit("/", 1)[1])
        qid = self.api.expect(200, "GET", "/quotas?reference=project&reference_id=%d" % pid) \
            .json()[0]["id"]

        self.api.put({"read_only": True})
        try:
            cfg = self.api.configs()
            self.assertEqual(cfg["read_only"], {"value": True, "editable": True})
            self.assertTrue(self.api.expect(200, "GET", "/systeminfo", auth=None).json()["read_only"])
            data = b"read only blob " + uuid.uuid4().bytes
            # Every kind of write on /v2.
            oct_ = {"Content-Type": "application/octet-stream"}
            writes = [
                ("POST", "/v2/%s/blobs/uploads/" % repo, None, {}),
                ("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, h.sha256(data)), data, oct_),
                ("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (other, layer, repo), None, {}),
                ("PATCH", upload, data, oct_),
                ("PUT", upload + ("&" if "?" in upload else "?") + "digest=" + h.sha256(data),
                 data, oct_),
                ("DELETE", upload, None, {}),
                ("PUT", "/v2/%s/manifests/v2" % repo, body, {"Content-Type": h.OCI_MANIFEST}),
                ("DELETE", "/v2/%s/manifests/%s" % (repo, digest), None, {}),
            ]
            for method, path, data_, hdrs in writes:
                r = reg.request(method, path, data_, hdrs)
                self.assertDenied(r, oci=True)
            # Writes on the API.
            for method, path, b in [
                    ("POST", "/projects", {"project_name": uid("ro-new")}),
                    ("DELETE", "/projects/%d" % pid, None),
                    ("PUT", "/quotas/%d" % qid, {"hard": {"storage": 12345}}),
                    ("POST", "/users", {"username": uid("ro-user"), "email": "r@example.com",
                                        "realname": "r", "password": PASSWORD}),
                    ("POST", "/robots", {"name": uid("ro-robot"), "level": "system",
                                         "permissions": []}),
                    ("DELETE", "/repositories/x", None)]:
                self.assertDenied(self.api.call(method, path, b), oci=False)
            # Reads and sign-in go on.
            r = reg.request("GET", "/v2/%s/manifests/v1" % repo, headers={"Accept": h.OCI_MANIFEST})
            self.assertEqual(r.status, 200, "%r" % r)
            self.assertEqual(r.body, body)
            r = reg.request("GET", "/v2/%s/blobs/%s" % (repo, layer))
            self.assertEqual(r.status, 200, "%r" % r)
            r = reg.request("HEAD", "/v2/%s/manifests/%s" % (repo, digest))
            self.assertEqual(r.status, 200, "%r" % r)
            self.api.expect(200, "GET", "/projects/%d" % pid)
            self.api.token(scope="repository:%s:pull,push" % repo)
            r = self.api.call("POST", "/c/login",
                              raw=("principal=admin&password=" + h.ADMIN_PASSWORD).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(r.status, 200, "%r" % r)
            # Nothing was written.
            q = self.api.expect(200, "GET", "/quotas/%d" % qid).json()
            self.assertNotEqual(q["hard"]["storage"], 12345)
        finally:
            self.api.put({"read_only": False})  # exempt from the mode itself
        self.assertFalse(self.api.expect(200, "GET", "/systeminfo").json()["read_only"])
        # Writes work again at once, the upload begun before included.
        r = reg.request("PUT", upload + ("&" if "?" in upload else "?") + "digest=" +
                        h.sha256(b"after"), b"after", {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, "%r" % r)
        reg.push_image(repo, "v2")
        r = reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest))
        self.assertEqual(r.status, 202, "%r" % r)
        self.api.expect(200, "PUT", "/quotas/%d" % qid, {"hard": {"storage": 12345}})
        self.api.expect(201, "POST", "/projects", {"project_name": uid("ro-after")})

    # -- persistence ----------------------------------------------------------

    def test_13_persisted_across_restart(self):
        self.api.put({"token_expiration": 11, "robot_name_prefix": "keep-",
                      "project_creation_restriction": "adminonly", "read_only": True})
        self.reg.restart()
        try:
            cfg = self.api.configs()
            self.assertEqual(cfg["token_expiration"]["value"], 11)
            self.assertEqual(cfg["robot_name_prefix"]["value"], "keep-")
            self.assertEqual(cfg["project_creation_restriction"]["value"], "adminonly")
            self.assertEqual(cfg["read_only"]["value"], True)
            self.assertEqual(cfg["storage_per_project"], {"value": FILE_STORAGE, "editable": False})
            self.assertEqual(self.api.token()["expires_in"], 660)
            self.assertDenied(self.api.call("POST", "/projects", {"project_name": uid("x")}),
                              oci=False)
        finally:
            self.api.put({"token_expiration": 30, "robot_name_prefix": "robot$",
                          "project_creation_restriction": "everyone", "read_only": False})
        self.api.expect(201, "POST", "/projects", {"project_name": uid("after-restart")})


class ReadOnlyFromFile(unittest.TestCase):
    """read_only in berth.yml, the auth mode in the environment: both fixed."""

    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = h.Registry(config="read_only: true\n",
                             extra_env={"BERTH_AUTH_MODE": "db"}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def test_fixed_read_only(self):
        api = Api(self, self.reg)
        cfg = api.configs()
        self.assertEqual(cfg["read_only"], {"value": True, "editable": False})
        self.assertEqual(cfg["auth_mode"], {"value": "db_auth", "editable": False})
        self.assertTrue(api.expect(200, "GET", "/systeminfo").json()["read_only"])
        r = api.put({"read_only": False}, 403)
        self.assertEqual(r.json()["errors"][0]["code"], "FORBIDDEN")
        api.put({"auth_mode": "oidc_auth"}, 403)
        # Other keys stay editable (the PUT is exempt from read-only mode).
        api.put({"token_expiration": 12})
        self.assertEqual(api.token()["expires_in"], 720)
        r = api.call("POST", "/projects", {"project_name": "nope"})
        self.assertEqual(r.status, 403, "%r" % r)
        self.assertEqual(r.json()["errors"][0]["code"], "DENIED")
        r = self.reg.request("POST", "/v2/library/x/blobs/uploads/")
        self.assertEqual(r.status, 403, "%r" % r)
        self.assertEqual(r.error_codes(), ["DENIED"])
        r = self.reg.request("GET", "/v2/_catalog")
        self.assertEqual(r.status, 200, "%r" % r)


if __name__ == "__main__":
    h.main()
