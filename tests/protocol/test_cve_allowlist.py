#!/usr/bin/env python3
"""CVE allowlists and the vulnerability gate (docs/vulnerability-gate.md).

- Harbor's system allowlist, GET/PUT /api/v2.0/system/CVEAllowlist: any
  signed-in caller reads it, system administrators (and robots granted
  configuration update) write it; bad input is a 400 that changes nothing.
- The project's own list, the cve_allowlist of Harbor's ProjectReq/Project,
  on create, update and read, and the reuse_sys_cve_allowlist metadata.
- Shapes against Harbor's swagger (swagger_shape.py; skipped without PyYAML).
- The gate on /v2 pulls: with no scanner wired it never refuses (Harbor
  without a scanner). End to end (GateEndToEndTest) it goes through the
  scan manager and the scanner-adapter plugin: it registers a Pluggable
  Scanner API v1.1 adapter
  (a small one in this file, answering as the spec says, returning a fixed
  report after pulling the manifest with the credential berthd hands it),
  scans, and checks that skopeo and podman pulls are refused with Harbor's
  412 until the findings are allowlisted, and again once the list expires.

Runs on SQLite, and on PostgreSQL as protocol_pg.cve_allowlist. Python 3
standard library (PyYAML for the shape checks); skopeo and podman for the
end-to-end part.
"""

import base64
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api, basic

SYSTEM = "/system/CVEAllowlist"
REPORT_V11 = "application/vnd.security.vulnerability.report; version=1.1"


def items(*ids):
    return [{"cve_id": i} for i in ids]


class AllowlistCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = Api(cls.reg)
        cls.tmp = tempfile.mkdtemp(prefix="berth-cve-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def assertShape(self, obj, schema):
        reason = ss.skip_reason()
        if reason:
            return  # the checks below still run; only the swagger comparison needs PyYAML
        ss.assert_shape(obj, schema)

    def assertBad(self, r, message=None):
        self.assertStatus(r, 400)
        err = r.json()["errors"][0]
        self.assertEqual(err["code"], "BAD_REQUEST")
        if message is not None:
            self.assertEqual(err["message"], message)

    def project(self, **metadata):
        name = bh.unique("cve")
        pid = self.api.create_project(name)
        if metadata:
            self.api.ok("PUT", "/projects/" + name, {"metadata": metadata})
        return name, pid

    def robot(self, project, access):
        r = self.api.call("POST", "/robots", {
            "name": bh.unique("bot"), "level": "project", "duration": -1,
            "permissions": [{"kind": "project", "namespace": project, "access": access}]})
        self.assertStatus(r, 201)
        return (r.json()["name"], r.json()["secret"])


class SystemAllowlistTest(AllowlistCase):
    def test_read_write_and_shape(self):
        # Any signed-in user reads it (Harbor); anonymous callers do not.
        user = self.api.create_user(bh.unique("reader"))
        before = self.api.ok("GET", SYSTEM, auth=user)
        self.assertShape(before, "CVEAllowlist")
        self.assertEqual(before["project_id"], 0)
        self.assertIsInstance(before["items"], list)
        self.assertStatus(self.api.call("GET", SYSTEM, auth=None), 401)

        later = int(time.time()) + 86400
        self.api.ok("PUT", SYSTEM, {"items": items("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"),
                                    "expires_at": later})
        got = self.api.ok("GET", SYSTEM, auth=user)
        self.assertShape(got, "CVEAllowlist")
        self.assertEqual(set(got), {"id", "project_id", "expires_at", "items", "creation_time",
                                    "update_time"})
        self.assertEqual(got["items"], items("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"))
        self.assertEqual(got["expires_at"], later)
        self.assertEqual(got["project_id"], 0)
        self.assertGreater(got["id"], 0)
        self.assertLessEqual(got["creation_time"], got["update_time"])

        # Replaced whole; ids are trimmed; null expires_at: never expires
        # (left out, as Harbor renders it). id and project_id sent are ignored.
        self.api.ok("PUT", SYSTEM, {"id": 999, "project_id": 5, "items": items(" CVE-2014-0160 "),
                                    "expires_at": None})
        again = self.api.ok("GET", SYSTEM)
        self.assertEqual(again["items"], items("CVE-2014-0160"))
        self.assertNotIn("expires_at", again)
        self.assertEqual((again["id"], again["project_id"]), (got["id"], 0))
        self.assertEqual(again["creation_time"], got["creation_time"])
        # An empty body empties it.
        self.api.ok("PUT", SYSTEM, {})
        self.assertEqual(self.api.ok("GET", SYSTEM)["items"], [])
        # A past expiry is accepted (Harbor): the list then exempts nothing.
        self.api.ok("PUT", SYSTEM, {"items": items("CVE-1"), "expires_at": 1})
        self.assertEqual(self.api.ok("GET", SYSTEM)["expires_at"], 1)
        self.api.ok("PUT", SYSTEM, {})

    def test_only_system_admins_write(self):
        self.api.ok("PUT", SYSTEM, {"items": items("CVE-2000-0001")})
        p, pid = self.project()
        user = self.api.create_user(bh.unique("padmin"))
        self.api.add_member(pid, user, "projectAdmin")  # a project admin is no system admin
        bot = self.robot(p, [{"resource": "repository", "action": "pull"}])
        body = {"items": items("CVE-2000-9999")}
        self.assertStatus(self.api.call("PUT", SYSTEM, body, auth=None), 401)
        self.assertStatus(self.api.call("PUT", SYSTEM, body, auth=user), 403)
        self.assertStatus(self.api.call("PUT", SYSTEM, body, auth=bot), 403)
        # Refused before the body is looked at.
        self.assertStatus(self.api.call("PUT", SYSTEM, {"items": 7}, auth=user), 403)
        self.assertEqual(self.api.ok("GET", SYSTEM, auth=user)["items"], items("CVE-2000-0001"))
        # Robots read it too (signed in); none may be granted configuration
        # update (Harbor refuses the grant), so only system admins write.
        self.assertEqual(self.api.ok("GET", SYSTEM, auth=bot)["items"], items("CVE-2000-0001"))
        self.api.ok("PUT", SYSTEM, {})

    def test_bad_input_changes_nothing(self):
        self.api.ok("PUT", SYSTEM, {"items": items("CVE-2000-0002"), "expires_at": 4102444800})
        for body, message in [
                ({"items": items("CVE-1", "CVE-2", "CVE-1")}, "duplicate CVE ID in allowlist: CVE-1"),
                ({"items": items("CVE-1", " CVE-1")}, "duplicate CVE ID in allowlist: CVE-1"),
                ({"items": items("CVE-1", "   ")}, "empty or whitespace-only CVE ID in allowlist"),
                ({"items": items("")}, "empty or whitespace-only CVE ID in allowlist"),
                ({"items": "CVE-1"}, None),
                ({"items": ["CVE-1"]}, None),
                ({"items": [{"id": "CVE-1"}]}, None),
                ({"items": [{"cve_id": 1}]}, None),
                ({"expires_at": "tomorrow"}, None),
                ({"expires_at": 1.5}, None),
                ({"expires_at": -1}, None)]:
            self.assertBad(self.api.call("PUT", SYSTEM, body), message)
        self.assertBad(self.api.call("PUT", SYSTEM, raw=b"not json"))
        self.assertBad(self.api.call("PUT", SYSTEM, raw=b"[]"))
        got = self.api.ok("GET", SYSTEM)
        self.assertEqual((got["items"], got["expires_at"]), (items("CVE-2000-0002"), 4102444800))
        self.api.ok("PUT", SYSTEM, {})


class ProjectAllowlistTest(AllowlistCase):
    def test_create_update_read(self):
        name = bh.unique("cve")
        r = self.api.call("POST", "/projects", {
            "project_name": name, "metadata": {"public": "false", "reuse_sys_cve_allowlist": "false"},
            "cve_allowlist": {"items": items("CVE-2021-44228"), "expires_at": 4102444800}})
        self.assertStatus(r, 201)
        pid = int(r.header("Location").rsplit("/", 1)[1])
        p = self.api.ok("GET", "/projects/" + name)
        self.assertShape(p, "Project")
        wl = p["cve_allowlist"]
        self.assertShape(wl, "CVEAllowlist")
        self.assertEqual((wl["project_id"], wl["items"], wl["expires_at"]),
                         (pid, items("CVE-2021-44228"), 4102444800))
        self.assertEqual(p["metadata"]["reuse_sys_cve_allowlist"], "false")

        # Update: project_id 0 or the project's own; the list is replaced whole.
        self.api.ok("PUT", "/projects/%d" % pid, {"cve_allowlist": {
            "project_id": 0, "items": items("CVE-2014-0160", "CVE-2017-5638")}})
        wl2 = self.api.ok("GET", "/projects/%d" % pid)["cve_allowlist"]
        self.assertEqual(wl2["items"], items("CVE-2014-0160", "CVE-2017-5638"))
        self.assertNotIn("expires_at", wl2)
        self.assertEqual((wl2["id"], wl2["creation_time"]), (wl["id"], wl["creation_time"]))
        self.api.ok("PUT", "/projects/%d" % pid, {"cve_allowlist": {
            "project_id": pid, "items": []}, "metadata": {"reuse_sys_cve_allowlist": "true"}})
        p = self.api.ok("GET", "/projects/%d" % pid)
        self.assertEqual(p["cve_allowlist"]["items"], [])
        self.assertEqual(p["metadata"]["reuse_sys_cve_allowlist"], "true")
        # Leaving cve_allowlist out leaves it alone.
        self.api.ok("PUT", "/projects/%d" % pid, {"cve_allowlist": {"items": items("CVE-1")}})
        self.api.ok("PUT", "/projects/%d" % pid, {"metadata": {"auto_scan": "true"}})
        self.assertEqual(self.api.ok("GET", "/projects/%d" % pid)["cve_allowlist"]["items"],
                         items("CVE-1"))
        # Lists show each project's own list.
        listed = [x for x in self.api.ok("GET", "/projects?name=" + name) if x["name"] == name]
        self.assertEqual(listed[0]["cve_allowlist"]["items"], items("CVE-1"))

    def test_new_project_has_an_empty_list(self):
        p, pid = self.project()
        wl = self.api.ok("GET", "/projects/" + p)["cve_allowlist"]
        self.assertShape(wl, "CVEAllowlist")
        self.assertEqual((wl["project_id"], wl["items"]), (pid, []))
        self.assertNotIn("expires_at", wl)

    def test_bad_input_writes_nothing(self):
        p, pid = self.project()
        self.api.ok("PUT", "/projects/" + p, {"cve_allowlist": {"items": items("CVE-7")}})
        r = self.api.call("PUT", "/projects/" + p, {"cve_allowlist": {"project_id": pid + 1000,
                                                                      "items": items("CVE-8")}})
        self.assertBad(r, "project_id in cve_allowlist must be %d but it's %d" % (pid, pid + 1000))
        # Nothing of a refused update is applied, metadata included.
        for body in [{"metadata": {"auto_scan": "true"}, "cve_allowlist": {"items": items("A", "A")}},
                     {"metadata": {"auto_scan": "true"}, "cve_allowlist": {"items": {"cve_id": "A"}}},
                     {"metadata": {"auto_scan": "true"}, "cve_allowlist": "CVE-1"},
                     {"cve_allowlist": {"items": items("CVE-8")}, "metadata": {"prevent_vul": "yes"}},
                     {"cve_allowlist": {"items": items("CVE-8")},
                      "metadata": {"reuse_sys_cve_allowlist": "maybe"}}]:
            self.assertBad(self.api.call("PUT", "/projects/" + p, body))
        got = self.api.ok("GET", "/projects/" + p)
        self.assertEqual(got["cve_allowlist"]["items"], items("CVE-7"))
        self.assertNotIn("auto_scan", got["metadata"])
        # A refused create creates nothing.
        name = bh.unique("cve")
        r = self.api.call("POST", "/projects", {"project_name": name,
                                                "cve_allowlist": {"items": items("X", "X")}})
        self.assertBad(r, "duplicate CVE ID in allowlist: X")
        self.assertStatus(self.reg.request("HEAD", "/api/v2.0/projects?project_name=" + name,
                                           headers={"Authorization": self.reg.auth_header()},
                                           check=False, auth=False), 404)

    def test_who_may_change_it(self):
        p, pid = self.project()
        roles = {}
        for role in ("projectAdmin", "maintainer", "developer", "guest", "limitedGuest"):
            roles[role] = self.api.create_user(bh.unique(role.lower()))
            self.api.add_member(pid, roles[role], role)
        outsider = self.api.create_user(bh.unique("outsider"))
        bot = self.robot(p, [{"resource": "repository", "action": "pull"}])
        body = {"cve_allowlist": {"items": items("CVE-2099-0001")}}
        # Harbor: project update is the project admin's (and the system admin's).
        for who in ("maintainer", "developer", "guest", "limitedGuest"):
            self.assertStatus(self.api.call("PUT", "/projects/" + p, body, auth=roles[who]), 403)
        self.assertStatus(self.api.call("PUT", "/projects/" + p, body, auth=outsider), 403)
        self.assertStatus(self.api.call("PUT", "/projects/" + p, body, auth=bot), 403)
        self.assertStatus(self.api.call("PUT", "/projects/" + p, body, auth=None), 401)
        # Denied before the body is looked at.
        self.assertStatus(self.api.call("PUT", "/projects/" + p,
                                        {"cve_allowlist": {"items": 3}}, auth=roles["guest"]), 403)
        self.assertEqual(self.api.ok("GET", "/projects/" + p)["cve_allowlist"]["items"], [])
        self.api.ok("PUT", "/projects/" + p, body, auth=roles["projectAdmin"])
        # Every member reads it with the project.
        got = self.api.ok("GET", "/projects/" + p, auth=roles["guest"])
        self.assertEqual(got["cve_allowlist"]["items"], items("CVE-2099-0001"))

    def test_deleted_with_its_project(self):
        p, pid = self.project()
        self.api.ok("PUT", "/projects/" + p, {"cve_allowlist": {"items": items("CVE-5")}})
        self.api.ok("DELETE", "/projects/" + p)
        self.api.create_project(p)
        got = self.api.ok("GET", "/projects/" + p)["cve_allowlist"]
        self.assertEqual(got["items"], [])


class GateWithoutScannerTest(AllowlistCase):
    def test_never_refuses_without_a_scanner(self):
        # Harbor with no scanner: nothing is scannable, nothing is refused.
        p, _ = self.project(prevent_vul="true", severity="low")
        body, digest = self.reg.push_image(p + "/app", tag="v1")
        for ref in ("v1", digest):
            for method in ("GET", "HEAD"):
                r = self.reg.request(method, "/v2/%s/app/manifests/%s" % (p, ref),
                                     headers={"Accept": bh.OCI_MANIFEST}, check=False)
                self.assertStatus(r, 200)

    def test_severity_metadata_validated(self):
        p, _ = self.project()
        for bad in ({"severity": "severe"}, {"prevent_vul": "1"}):
            self.assertBad(self.api.call("PUT", "/projects/" + p, {"metadata": bad}))
        for good in ("none", "low", "medium", "high", "critical"):
            self.api.ok("PUT", "/projects/" + p, {"metadata": {"severity": good}})


# ---------------------------------------------------------------------------
# End to end through a scanner (needs berthd's scan manager).

FINDINGS = [("CVE-2021-44228", "Critical", "log4j-core", "2.14.1", "2.15.0"),
            ("CVE-2023-44487", "High", "golang.org/x/net", "0.7.0", "0.17.0"),
            ("CVE-2022-0001", "Low", "libc6", "2.36-9", "")]


def push_runnable_image(reg, repo, tag):
    """An image podman can unpack: one gzipped tar layer, and a config with
    its diff_id. Returns the manifest digest."""
    import gzip
    import io
    import tarfile
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = ("berth %s\n" % bh.unique("content")).encode()
        info = tarfile.TarInfo("etc/berth-test")
        info.size = len(data)
        info.mtime = 1700000000
        tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/bin/true"]},
                         "rootfs": {"type": "layers", "diff_ids": [bh.sha256(raw.getvalue())]}}).encode()
    reg.push_blob(repo, layer)
    reg.push_blob(repo, config)
    m = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                  "config": bh.descriptor(bh.OCI_CONFIG, config),
                  "layers": [bh.descriptor(bh.OCI_LAYER, layer)]})
    r = reg.put_manifest(repo, tag, m, bh.OCI_MANIFEST)
    if r.status != 201:
        raise AssertionError("manifest push failed: %r" % r)
    return bh.sha256(m)


def refusal(n, severity):
    return ("current image with %d %s cannot be pulled due to configured policy in 'Prevent "
            "images with vulnerability severity of \"%s\" or higher from running.' To continue "
            "with pull, please contact your project administrator to exempt matched "
            "vulnerabilities through configuring the CVE allowlist." %
            (n, "vulnerabilities" if n > 1 else "vulnerability", severity))


def unscanned(severity):
    return ("current image without vulnerability scanning cannot be pulled due to configured "
            "policy in 'Prevent images with vulnerability severity of \"%s\" or higher from "
            "running.' To continue with pull, please contact your project administrator for help."
            % severity)


class Adapter(http.server.ThreadingHTTPServer):
    """Harbor's Pluggable Scanner API v1.1, as an adapter answers it: the
    scanner pulls the manifest with the registry credential of the request,
    then reports FINDINGS (an error report when it could not pull)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), AdapterHandler)
        self.scans = {}  # id -> (status, report or error)
        self.pulls = []  # (repository, digest, HTTP status of the manifest GET)
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class AdapterHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body=None, content_type=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/api/v1/metadata":
            return self.send(200, {
                "scanner": {"name": "berth-test-adapter", "vendor": "Berth tests", "version": "1.0"},
                "capabilities": [{"consumes_mime_types": [bh.OCI_MANIFEST, bh.DOCKER_MANIFEST],
                                  "produces_mime_types": [REPORT_V11]}],
                "properties": {"harbor.scanner-adapter/scanner-type": "os-package-vulnerability"}},
                "application/vnd.scanner.adapter.metadata+json; version=1.0")
        parts = self.path.split("/")
        if len(parts) == 6 and parts[:4] == ["", "api", "v1", "scan"] and parts[5] == "report":
            with self.server.lock:
                scan = self.server.scans.get(parts[4])
            if scan is None:
                return self.send(404)
            if scan[0] != 200:
                return self.send(500, {"error": {"message": scan[1]}},
                                 "application/vnd.scanner.adapter.error+json; version=1.0")
            return self.send(200, scan[1], REPORT_V11)
        self.send(404)

    def do_POST(self):
        if self.path != "/api/v1/scan":
            return self.send(404)
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        reg, art = req["registry"], req["artifact"]
        headers = {"Accept": ", ".join([bh.OCI_MANIFEST, bh.DOCKER_MANIFEST])}
        if reg.get("authorization"):
            headers["Authorization"] = reg["authorization"]
        url = "%s/v2/%s/manifests/%s" % (reg["url"].rstrip("/"), art["repository"], art["digest"])
        status = self.pull(url, headers)
        with self.server.lock:
            self.server.pulls.append((art["repository"], art["digest"], status))
        scan_id = bh.unique("scan")
        if status == 200:
            report = {"generated_at": "2026-01-01T00:00:00Z", "artifact": art,
                      "scanner": {"name": "berth-test-adapter", "vendor": "Berth tests",
                                  "version": "1.0"},
                      "severity": "Critical",
                      "vulnerabilities": [{"id": i, "severity": s, "package": p, "version": v,
                                           "fix_version": f, "description": i, "links": []}
                                          for i, s, p, v, f in FINDINGS]}
            scan = (200, report)
        else:
            scan = (500, "the scanner could not pull the manifest: HTTP %d" % status)
        with self.server.lock:
            self.server.scans[scan_id] = scan
        self.send(202, {"id": scan_id},
                  "application/vnd.scanner.adapter.scan.response+json; version=1.0")

    @staticmethod
    def pull(url, headers):
        """A registry client's GET: Basic credentials traded for a token on 401."""
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            challenge = e.headers.get("WWW-Authenticate", "")
            if e.code != 401 or not challenge.startswith("Bearer ") or "Authorization" not in headers:
                return e.code
        params = dict(kv.split("=", 1) for kv in challenge[7:].split(","))
        params = {k: v.strip('"') for k, v in params.items()}
        token_url = "%s?service=%s&scope=%s" % (params["realm"], params.get("service", ""),
                                                params.get("scope", ""))
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    token_url, headers={"Authorization": headers["Authorization"]}), timeout=30) as r:
                token = json.loads(r.read())["token"]
            bearer = dict(headers, Authorization="Bearer " + token)
            with urllib.request.urlopen(urllib.request.Request(url, headers=bearer), timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code


class GateEndToEndTest(AllowlistCase):
    def setUp(self):
        super().setUp()
        r = self.api.call("GET", "/scanners")
        if r.status == 404:
            self.skipTest("berthd has no scan manager yet (/api/v2.0/scanners answers 404): "
                          "the end-to-end gate test runs once scanning is merged")
        self.assertStatus(r, 200)

    def register_adapter(self):
        adapter = Adapter()
        self.addCleanup(adapter.shutdown)
        r = self.api.call("POST", "/scanners", {"name": bh.unique("adapter"), "url": adapter.url,
                                                "auth": "", "skip_certVerify": False,
                                                "use_internal_addr": False, "disabled": False})
        self.assertStatus(r, 201)
        uuid = r.header("Location").rsplit("/", 1)[1]
        self.api.ok("PATCH", "/scanners/" + uuid, {"is_default": True})
        return adapter

    def scan(self, project, repo, digest):
        base = "/projects/%s/repositories/%s/artifacts/%s" % (project, repo, digest)
        self.api.ok("POST", base + "/scan", {"scan_type": "vulnerability"}, status=202)
        deadline = time.time() + 90
        while time.time() < deadline:
            art = self.api.ok("GET", base + "?with_scan_overview=true")
            # Keyed by report MIME type; the adapter produces only v1.1.
            overviews = list((art.get("scan_overview") or {}).values())
            overview = overviews[0] if overviews else {}
            status = overview.get("scan_status")
            if status == "Success":
                return overview
            self.assertNotIn(status, ("Error", "Stopped"), "scan failed: %r" % overview)
            time.sleep(0.5)
        self.fail("the scan did not finish in 90 s")

    def pull(self, repo, ref):
        return self.reg.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                                headers={"Accept": ", ".join([bh.OCI_MANIFEST, bh.DOCKER_MANIFEST])},
                                check=False)

    def assertRefused(self, repo, ref, message):
        for method in ("GET", "HEAD"):
            r = self.reg.request(method, "/v2/%s/manifests/%s" % (repo, ref),
                                 headers={"Accept": bh.OCI_MANIFEST}, check=False)
            self.assertStatus(r, 412)
        self.assertEqual(self.pull(repo, ref).json(),
                         {"errors": [{"code": "PROJECTPOLICYVIOLATION", "message": message}]})

    def client_pull(self, repo, tag):
        """skopeo, and podman when installed: (ok, stderr) of each."""
        src = "127.0.0.1:%d/%s:%s" % (self.reg.port, repo, tag)
        creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)
        runs = [["skopeo", "copy", "--retry-times", "0", "--src-tls-verify=false",
                 "--src-creds", creds, "docker://" + src,
                 "dir:" + os.path.join(self.tmp, bh.unique("pulled"))]]
        if shutil.which("podman"):
            runs.append(["podman", "pull", "--tls-verify=false", "--creds", creds, src])
        out = []
        for argv in runs:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
            out.append((argv[0], p.returncode == 0, p.stderr.decode(errors="replace")))
        return out

    def assertClientsRefused(self, repo, tag, message):
        # The clients wrap Harbor's message in their own words (and may
        # re-quote it): its opening clause is what must reach the user.
        opening = message.split(" due to ")[0]
        for tool, ok, err in self.client_pull(repo, tag):
            self.assertFalse(ok, "%s pulled a refused image" % tool)
            self.assertIn(opening, " ".join(err.split()), tool)

    def assertClientsPull(self, repo, tag):
        for tool, ok, err in self.client_pull(repo, tag):
            self.assertTrue(ok, "%s: %s" % (tool, err))

    def test_scan_refuse_allowlist_pull(self):
        if shutil.which("skopeo") is None:
            self.skipTest("skopeo is not installed")
        adapter = self.register_adapter()
        p, pid = self.project(prevent_vul="true", severity="high")
        repo = p + "/app"
        digest = push_runnable_image(self.reg, repo, "v1")

        # Scannable and not scanned yet: refused (Harbor).
        self.assertRefused(repo, "v1", unscanned("High"))
        overview = self.scan(p, "app", digest)
        self.assertEqual(overview.get("severity"), "Critical")
        # The scanner pulled the manifest with its own credential, gate or not.
        self.assertIn((repo, digest, 200), adapter.pulls)

        # Three findings left, the worst Critical: refused.
        self.assertRefused(repo, "v1", refusal(3, "High"))
        self.assertRefused(repo, digest, refusal(3, "High"))
        self.assertClientsRefused(repo, "v1", refusal(3, "High"))

        # The project's allowlist: what is left counts.
        self.api.ok("PUT", "/projects/" + p, {"cve_allowlist": {"items": items("CVE-2021-44228")}})
        self.assertRefused(repo, "v1", refusal(2, "High"))
        self.api.ok("PUT", "/projects/" + p, {"cve_allowlist": {
            "items": items("CVE-2021-44228", "CVE-2023-44487")}})
        self.assertStatus(self.pull(repo, "v1"), 200)
        self.assertClientsPull(repo, "v1")
        # A lower threshold catches the Low one left.
        self.api.ok("PUT", "/projects/" + p, {"metadata": {"severity": "low"}})
        self.assertRefused(repo, "v1", refusal(1, "Low"))
        self.api.ok("PUT", "/projects/" + p, {"metadata": {"severity": "high"}})

        # Expired: the list exempts nothing.
        self.api.ok("PUT", "/projects/" + p, {"cve_allowlist": {
            "items": items("CVE-2021-44228", "CVE-2023-44487"), "expires_at": int(time.time()) - 1}})
        self.assertRefused(repo, "v1", refusal(3, "High"))
        self.assertClientsRefused(repo, "v1", refusal(3, "High"))

        # The system's list, for projects that reuse it.
        self.api.ok("PUT", "/projects/" + p, {"metadata": {"reuse_sys_cve_allowlist": "true"}})
        self.api.ok("PUT", SYSTEM, {"items": items("CVE-2021-44228", "CVE-2023-44487")})
        self.addCleanup(self.api.ok, "PUT", SYSTEM, {})
        self.assertStatus(self.pull(repo, "v1"), 200)
        self.api.ok("PUT", SYSTEM, {"items": items("CVE-2023-44487"), "expires_at": 1})
        self.assertRefused(repo, "v1", refusal(3, "High"))

        # prevent_vul off: everything pulls.
        self.api.ok("PUT", "/projects/" + p, {"metadata": {"prevent_vul": "false"}})
        self.assertClientsPull(repo, "v1")

    def test_scanner_credential_and_admins(self):
        self.register_adapter()
        p, pid = self.project(prevent_vul="true", severity="low")
        repo = p + "/app"
        _, digest = self.reg.push_image(repo, tag="v1")
        self.scan(p, "app", digest)
        # A token with scanner-pull (the scanner's credential) is not judged.
        bot = self.robot(p, [{"resource": "repository", "action": "pull"},
                             {"resource": "repository", "action": "scanner-pull"}])
        r = self.reg.request("GET", "/service/token?service=harbor-registry&scope=repository:%s:"
                             "pull,scanner-pull" % repo, headers={"Authorization": basic(*bot)},
                             check=False)
        self.assertStatus(r, 200)
        r = self.reg.request("GET", "/v2/%s/manifests/v1" % repo,
                             headers={"Authorization": "Bearer " + r.json()["token"],
                                      "Accept": bh.OCI_MANIFEST}, check=False)
        self.assertStatus(r, 200)
        # ... through Basic credentials it is (Harbor: v2 tokens only).
        r = self.reg.request("GET", "/v2/%s/manifests/v1" % repo,
                             headers={"Authorization": basic(*bot), "Accept": bh.OCI_MANIFEST},
                             check=False)
        self.assertStatus(r, 412)
        # Administrators are judged like everyone (Harbor).
        self.assertRefused(repo, "v1", refusal(3, "Low"))


if __name__ == "__main__":
    bh.main()
