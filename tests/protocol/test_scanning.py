#!/usr/bin/env python3
"""Scanning through berthd's HTTP API: Harbor's scanner registrations
(/scanners, /projects/{p}/scanner), scans (scan, stop, log), reports
(additions/vulnerabilities, scan_overview, sbom_overview), scan on push,
index children, scan-all with its concurrency bound, the failure modes of a
scanner (hang, crash, garbage), SBOM accessories read through the OCI
referrers API, and swapping the default scanner in berth.yml.

The scanner is tests/scan/test_scanner.cc, a plugin loaded through the C
ABI like any scanner: it pulls the artifact's manifest with the credential
berthd gives it and returns Harbor's report built from
tests/scan/fixtures/vulnerabilities.json.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "scan", "fixtures")
FINDINGS = os.path.join(FIXTURES, "vulnerabilities.json")
V11 = "application/vnd.security.vulnerability.report; version=1.1"
V10 = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
SBOM_TYPE = "application/vnd.goharbor.harbor.sbom.v1"
ART = "/projects/%s/repositories/%s/artifacts/%s"


def plugin_dir():
    return os.path.join(os.path.dirname(os.path.dirname(bh.berthd_binary())),
                        "test-plugins", "scanner")


def config(records, default=None, max_concurrent=2, timeout_s=8, call_timeout_s=3):
    default = default or {"name": "fixture-default",
                          "config": {"findings_file": FINDINGS, "record_dir": records,
                                     "delay_ms": 300}}
    cfg = {"plugins": {"dirs": [plugin_dir()]},
           "scanning": {"max_concurrent": max_concurrent, "timeout_s": timeout_s,
                        "call_timeout_s": call_timeout_s,
                        "default": dict(default, provider="test-scanner")}}
    return json.dumps(cfg)  # JSON is YAML


def db_rows(reg, sql):
    """Rows straight from berthd's database (SQLite file or PostgreSQL)."""
    if getattr(reg, "pg_dsn", None):
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", reg.pg_dsn, "-c", sql],
                             check=True, stdout=subprocess.PIPE).stdout.decode()
        return [tuple(line.split("\t")) for line in out.splitlines() if line]
    import sqlite3
    conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(reg.data_dir, "berth.db"), uri=True,
                           timeout=30)
    try:
        return [tuple(str(c) for c in row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def shape(obj, schema):
    if ss.skip_reason() is None:
        ss.assert_shape(obj, schema)


class ScanCase(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(plugin_dir(), "test-scanner.so")):
            raise unittest.SkipTest("the test-scanner plugin is not built")
        cls.tmp = tempfile.mkdtemp(prefix="berth-scan-")
        cls.records = os.path.join(cls.tmp, "records")
        os.makedirs(cls.records)
        cls.reg = bh.Registry(config=config(cls.records, **cls.scanning())).start()
        cls.api = Api(cls.reg)

    @classmethod
    def scanning(cls):
        return {}

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ---------------------------------------------------------

    def project(self, **metadata):
        name = bh.unique("scan")
        meta = {"public": "false"}
        meta.update({k: str(v).lower() for k, v in metadata.items()})
        r = self.api.call("POST", "/projects", {"project_name": name, "metadata": meta})
        self.assertEqual(r.status, 201, r)
        self.reg.projects.add(name)
        return name, int(r.header("Location").rsplit("/", 1)[1])

    def registration(self, reg_name=None, **cfg):
        body = {"name": reg_name or bh.unique("reg"), "url": "plugin:test-scanner",
                "config": dict({"findings_file": FINDINGS}, **cfg)}
        r = self.api.call("POST", "/scanners", body)
        self.assertEqual(r.status, 201, r)
        return r.header("Location").rsplit("/", 1)[1]

    def use(self, project, uuid):
        self.api.ok("PUT", "/projects/%s/scanner" % project, {"uuid": uuid})

    def scan(self, project, repo, ref, scan_type=None, auth="admin", status=202):
        body = {"scan_type": scan_type} if scan_type else None
        r = self.api.call("POST", (ART % (project, repo, ref)) + "/scan", body, auth=auth)
        self.assertEqual(r.status, status, r)
        return r

    def artifact(self, project, repo, ref, **flags):
        q = "&".join("%s=%s" % (k, str(v).lower()) for k, v in flags.items())
        return self.api.ok("GET", (ART % (project, repo, ref)) + ("?" + q if q else ""))

    def overview(self, project, repo, ref, until=("Success", "Error", "Stopped"), timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            a = self.artifact(project, repo, ref, with_scan_overview=True)
            ov = a.get("scan_overview") or {}
            summary = next(iter(ov.values()), None)
            if summary is not None and summary["scan_status"] in until:
                return a, summary
            if time.monotonic() > deadline:
                self.fail("scan of %s/%s@%s did not reach %s: %r" % (project, repo, ref, until, ov))
            time.sleep(0.2)

    def log(self, project, repo, ref, report_id):
        r = self.api.call("GET", (ART % (project, repo, ref)) + "/scan/%s/log" % report_id)
        self.assertEqual(r.status, 200, r)
        return r.body.decode()

    def push(self, project, repo="app", tag="v1"):
        _, digest = self.reg.push_image("%s/%s" % (project, repo), tag)
        return digest


class ScannerApiTest(ScanCase):
    def test_registrations(self):
        regs = self.api.ok("GET", "/scanners")
        shape(regs, {"type": "array", "items": {"$ref": "#/definitions/ScannerRegistration"}})
        default = [r for r in regs if r["is_default"]]
        self.assertEqual(len(default), 1, regs)
        d = default[0]
        self.assertEqual((d["name"], d["url"], d["health"]),
                         ("fixture-default", "plugin:test-scanner", "healthy"))
        self.assertEqual((d["adapter"], d["vendor"]), ("Berth Test Scanner", "Berth"))
        self.assertEqual(d["capabilities"], {"support_vulnerability": True, "support_sbom": True})

        name = bh.unique("trivy-like")
        uuid = self.registration(name, name="Other Scanner", sbom=False, report_version="1.0")
        got = self.api.ok("GET", "/scanners/" + uuid)
        shape(got, "ScannerRegistration")
        self.assertEqual((got["name"], got["is_default"], got["adapter"]), (name, False, "Other Scanner"))
        self.assertEqual(got["capabilities"]["support_sbom"], False)
        md = self.api.ok("GET", "/scanners/%s/metadata" % uuid)
        shape(md, "ScannerAdapterMetadata")
        self.assertEqual(md["capabilities"][0]["produces_mime_types"], [V10])

        # Update keeps what is not sent; the config is validated by the plugin's schema.
        self.api.ok("PUT", "/scanners/" + uuid, {"name": name, "url": "plugin:test-scanner",
                                                   "description": "updated"})
        self.assertEqual(self.api.ok("GET", "/scanners/" + uuid)["adapter"], "Other Scanner")
        r = self.api.call("PUT", "/scanners/" + uuid, {"name": name, "url": "plugin:test-scanner",
                                                        "config": {"mode": "explode"}})
        self.assertEqual((r.status, r.error_codes()), (400, ["BAD_REQUEST"]), r)
        self.assertIn("config", r.json()["errors"][0]["message"])

        # Bad registrations: unknown provider, bad url, duplicate name, missing name.
        for body, status in [
                ({"name": bh.unique("x"), "url": "plugin:no-such-scanner"}, 400),
                ({"name": bh.unique("x"), "url": "ftp://scanner"}, 400),
                ({"name": bh.unique("x"), "url": "plugin:test-scanner", "config": {"delay_ms": "soon"}}, 400),
                ({"name": name, "url": "plugin:test-scanner"}, 409),
                ({"url": "plugin:test-scanner"}, 400)]:
            r = self.api.call("POST", "/scanners", body)
            self.assertEqual(r.status, status, (body, r))
        self.assertEqual(len(self.api.ok("GET", "/scanners?q=name%%3D%s" % name)), 1)

        # Ping builds a scanner from the settings without storing it.
        self.api.ok("POST", "/scanners/ping", {"name": "p", "url": "plugin:test-scanner"})
        r = self.api.call("POST", "/scanners/ping", {"name": "p", "url": "plugin:nope"})
        self.assertEqual(r.status, 400, r)

        # Set default, then back; the old default is no longer.
        self.api.ok("PATCH", "/scanners/" + uuid, {"is_default": True})
        self.assertTrue(self.api.ok("GET", "/scanners/" + uuid)["is_default"])
        self.assertFalse(self.api.ok("GET", "/scanners/" + d["uuid"])["is_default"])
        self.api.ok("PATCH", "/scanners/" + d["uuid"], {"is_default": True})

        deleted = self.api.ok("DELETE", "/scanners/" + uuid)
        self.assertEqual(deleted["uuid"], uuid)
        self.assertEqual(self.api.call("GET", "/scanners/" + uuid).status, 404)
        self.assertEqual(self.api.call("DELETE", "/scanners/" + uuid).status, 404)

    def test_project_scanner_and_denials(self):
        p, pid = self.project()
        default = self.api.ok("GET", "/projects/%s/scanner" % p)
        self.assertEqual(default["name"], "fixture-default")
        shape(default, "ScannerRegistration")
        other = self.registration()
        guest = self.api.create_user(bh.unique("guest"))
        dev = self.api.create_user(bh.unique("dev"))
        admin = self.api.create_user(bh.unique("padmin"))
        stranger = self.api.create_user(bh.unique("stranger"))
        self.api.add_member(pid, guest, "guest")
        self.api.add_member(pid, dev, "developer")
        self.api.add_member(pid, admin, "projectAdmin")

        # Registrations are the system administrator's.
        for who, status in [(None, 401), (admin, 403), (guest, 403)]:
            for method, path, body in [("GET", "/scanners", None),
                                       ("POST", "/scanners", {"name": "n", "url": "plugin:test-scanner"}),
                                       ("GET", "/scanners/" + other, None),
                                       ("PATCH", "/scanners/" + other, {"is_default": True}),
                                       ("DELETE", "/scanners/" + other, None),
                                       ("GET", "/scanners/%s/metadata" % other, None),
                                       ("POST", "/scanners/ping", {"name": "n", "url": "plugin:test-scanner"})]:
                r = self.api.call(method, path, body, auth=who)
                self.assertEqual(r.status, status, (who, method, path, r))
        # The project's scanner: read by members, set by project admins.
        self.assertEqual(self.api.call("GET", "/projects/%s/scanner" % p, auth=guest).status, 200)
        self.assertEqual(self.api.call("GET", "/projects/%s/scanner" % p, auth=None).status, 401)
        self.assertEqual(self.api.call("GET", "/projects/%s/scanner" % p, auth=stranger).status, 403)
        for who in (guest, dev):
            r = self.api.call("PUT", "/projects/%s/scanner" % p, {"uuid": other}, auth=who)
            self.assertEqual(r.status, 403, r)
            r = self.api.call("GET", "/projects/%s/scanner/candidates" % p, auth=who)
            self.assertEqual(r.status, 403, r)
        r = self.api.call("PUT", "/projects/%s/scanner" % p, {"uuid": "no-such"}, auth=admin)
        self.assertEqual(r.status, 404, r)
        self.api.ok("PUT", "/projects/%s/scanner" % p, {"uuid": other}, auth=admin)
        self.assertEqual(self.api.ok("GET", "/projects/%s/scanner" % p, auth=guest)["uuid"], other)
        cands = self.api.call("GET", "/projects/%s/scanner/candidates" % p, auth=admin)
        self.assertEqual(cands.status, 200, cands)
        shape(cands.json(), {"type": "array", "items": {"$ref": "#/definitions/ScannerRegistration"}})
        self.assertIn(other, [c["uuid"] for c in cands.json()])

        # Scans: project admins and maintainers; not developers, guests, anonymous.
        digest = self.push(p)
        for who, status in [(None, 401), (stranger, 403), (guest, 403), (dev, 403)]:
            r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan", {"scan_type": "vulnerability"}, auth=who)
            self.assertEqual(r.status, status, (who, r))
            r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan/stop", {"scan_type": "vulnerability"}, auth=who)
            self.assertEqual(r.status, status, (who, r))
        # A robot with pull only may not scan.
        robot = self.api.ok("POST", "/robots", {
            "name": bh.unique("puller"), "level": "project", "duration": -1,
            "permissions": [{"kind": "project", "namespace": p,
                             "access": [{"resource": "repository", "action": "pull"}]}]}, status=201)
        r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan", None,
                          auth=(robot["name"], robot["secret"]))
        self.assertEqual(r.status, 403, r)
        r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan", {"scan_type": "malware"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.api.call("POST", (ART % (p, "app", "v9")) + "/scan", None).status, 404)
        self.scan(p, "app", digest, auth=admin)
        _, summary = self.overview(p, "app", digest)
        self.assertEqual(summary["scan_status"], "Success")
        # Guests read the overview and the log.
        r = self.api.call("GET", (ART % (p, "app", digest)) + "/scan/%s/log" % summary["report_id"], auth=guest)
        self.assertEqual(r.status, 200, r)
        r = self.api.call("GET", (ART % (p, "app", digest)) + "/scan/%s/log" % summary["report_id"], auth=None)
        self.assertEqual(r.status, 401, r)
        # A disabled project scanner refuses new scans with Harbor's 412.
        self.api.ok("PUT", "/scanners/" + other, {"name": self.api.ok("GET", "/scanners/" + other)["name"],
                                                   "url": "plugin:test-scanner", "disabled": True})
        r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan", None)
        self.assertEqual((r.status, r.error_codes()), (412, ["PRECONDITION"]), r)


class ScanReportTest(ScanCase):
    def test_manual_scan_report_and_overview(self):
        p, _ = self.project()
        digest = self.push(p)
        self.scan(p, "app", digest)
        a, summary = self.overview(p, "app", "v1")
        shape(a["scan_overview"], "ScanOverview")
        self.assertEqual(list(a["scan_overview"].keys()), [V11])
        self.assertEqual(summary["scan_status"], "Success", summary)
        self.assertEqual(summary["severity"], "Critical")
        self.assertEqual(summary["complete_percent"], 100)
        self.assertEqual(summary["summary"], {"total": 6, "fixable": 3, "summary": {
            "Critical": 1, "High": 2, "Medium": 1, "Low": 1, "Unknown": 1}})
        self.assertEqual(summary["scanner"], {"name": "Berth Test Scanner", "vendor": "Berth",
                                              "version": "1.0.0"})
        self.assertGreaterEqual(summary["duration"], 0)
        # The list fills it too; without the flag it is absent.
        arts = self.api.ok("GET", "/projects/%s/repositories/app/artifacts?with_scan_overview=true" % p)
        self.assertEqual(arts[0]["scan_overview"][V11]["report_id"], summary["report_id"])
        self.assertNotIn("scan_overview", self.artifact(p, "app", digest))
        # Only the older report type accepted: there is none.
        r = self.api.reg.request("GET", "/api/v2.0" + ART % (p, "app", digest) + "?with_scan_overview=true",
                                 headers={"Authorization": self.reg.auth_header(),
                                          "X-Accept-Vulnerabilities": V10}, auth=False)
        self.assertNotIn("scan_overview", r.json())

        reports = self.api.ok("GET", (ART % (p, "app", digest)) + "/additions/vulnerabilities")
        report = reports[V11]
        self.assertEqual(report["artifact"]["digest"], digest)
        self.assertEqual(report["severity"], "Critical")
        ids = sorted(v["id"] for v in report["vulnerabilities"])
        self.assertEqual(len(ids), 6)
        grpc = [v for v in report["vulnerabilities"] if v["id"] == "GHSA-m425-mq94-257g"][0]
        self.assertEqual(grpc["severity"], "High")  # Trivy's upper case, normalised

        log = self.log(p, "app", digest, summary["report_id"])
        self.assertIn("report stored: 6 vulnerabilities (3 fixable), severity Critical", log)
        self.assertEqual(self.api.call("GET", (ART % (p, "app", digest)) + "/scan/nope/log").status, 404)

        # What the scanner was given: berthd's URL and a token for this repository only.
        req = self.request_for(digest)
        self.assertEqual(req["registry_url"], "http://127.0.0.1:%d" % self.reg.port)
        self.assertEqual(req["repository"], p + "/app")
        self.assertEqual(req["tag"], "v1")
        auth = {"Authorization": req["authorization"]}
        self.assertTrue(req["authorization"].startswith("Bearer "))
        ok = self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, digest), headers=auth, auth=False)
        self.assertEqual(ok.status, 200)
        other = self.push(p, repo="other")
        denied = self.reg.request("GET", "/v2/%s/other/manifests/%s" % (p, other), headers=auth, auth=False)
        self.assertIn(denied.status, (401, 403))
        push = self.reg.request("PUT", "/v2/%s/app/manifests/v2" % p, b"{}",
                                headers=dict(auth, **{"Content-Type": bh.OCI_MANIFEST}), auth=False)
        self.assertIn(push.status, (401, 403))

        # A second scan replaces the report.
        self.scan(p, "app", digest)
        _, again = self.overview(p, "app", digest)
        self.assertNotEqual(again["report_id"], summary["report_id"])

    def request_for(self, digest, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in os.listdir(self.records):
                if f.endswith(".json"):
                    with open(os.path.join(self.records, f)) as fh:
                        try:
                            req = json.load(fh)
                        except ValueError:
                            continue
                    if req.get("digest") == digest:
                        return req
            time.sleep(0.1)
        self.fail("the scanner never received a request for " + digest)

    def test_index_scans_each_child(self):
        p, _ = self.project()
        repo = p + "/multi"
        children = []
        for arch in ("amd64", "arm64"):
            body, digest = self.reg.push_image(repo)
            children.append({"mediaType": bh.OCI_MANIFEST, "digest": digest, "size": len(body),
                             "platform": {"architecture": arch, "os": "linux"}})
        index = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_INDEX, "manifests": children})
        self.assertEqual(self.reg.put_manifest(repo, "v1", index, bh.OCI_INDEX).status, 201)
        self.scan(p, "multi", "v1")
        a, summary = self.overview(p, "multi", "v1")
        self.assertEqual(summary["scan_status"], "Success", summary)
        self.assertEqual(summary["summary"]["total"], 12)  # two children, six each
        self.assertEqual(summary["summary"]["summary"]["Critical"], 2)
        for c in children:
            _, child = self.overview(p, "multi", c["digest"])
            self.assertEqual(child["summary"]["total"], 6)
            self.request_for(c["digest"])
        # The child's log is reachable through the index.
        self.assertIn("report stored", self.log(p, "multi", "v1", summary["report_id"]))

    def test_sbom_accessory_via_referrers(self):
        p, _ = self.project()
        body, digest = self.reg.push_image(p + "/app", "v1")
        self.scan(p, "app", digest, scan_type="sbom")
        deadline = time.monotonic() + 30
        while True:
            a = self.artifact(p, "app", digest, with_sbom_overview=True, with_accessory=True)
            ov = a.get("sbom_overview")
            if ov and ov["scan_status"] in ("Success", "Error"):
                break
            self.assertLess(time.monotonic(), deadline, a)
            time.sleep(0.2)
        shape(ov, "SBOMOverview")
        self.assertEqual(ov["scan_status"], "Success", ov)
        sbom_digest = ov["sbom_digest"]
        self.assertEqual([x["type"] for x in a["accessories"]], ["harbor.sbom"])
        self.assertEqual(a["accessories"][0]["digest"], sbom_digest)
        # Any OCI client: the referrers API, then the manifest and its layer.
        r = self.reg.request("GET", "/v2/%s/app/referrers/%s" % (p, digest))
        self.assertEqual(r.status, 200, r)
        refs = r.json()["manifests"]
        self.assertEqual([(m["digest"], m["artifactType"]) for m in refs], [(sbom_digest, SBOM_TYPE)])
        m = self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, sbom_digest),
                             headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(m.status, 200, m)
        manifest = m.json()
        self.assertEqual(manifest["subject"]["digest"], digest)
        self.assertEqual(manifest["subject"]["size"], len(body))
        layer = manifest["layers"][0]
        self.assertEqual(layer["mediaType"], "application/spdx+json")
        blob = self.reg.request("GET", "/v2/%s/app/blobs/%s" % (p, layer["digest"]))
        doc = blob.json()
        self.assertEqual(doc["spdxVersion"], "SPDX-2.3")
        self.assertIn("libssl3", [pk["name"] for pk in doc["packages"]])
        # The SBOM accessory is not itself scanned, nor listed as an artifact.
        arts = self.api.ok("GET", "/projects/%s/repositories/app/artifacts" % p)
        self.assertEqual([x["digest"] for x in arts], [digest])

    def test_sbom_needs_a_scanner_that_makes_them(self):
        p, _ = self.project()
        self.use(p, self.registration(sbom=False))
        digest = self.push(p)
        r = self.scan(p, "app", digest, scan_type="sbom", status=400)
        self.assertIn("does not generate SBOMs", r.json()["errors"][0]["message"])

    def test_auto_scan_after_skopeo_push(self):
        if shutil.which("skopeo") is None:
            self.skipTest("skopeo is not installed")
        src, _ = self.project()
        self.push(src, "base", "v1")
        dst, _ = self.project(auto_scan=True)
        creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)
        base = "docker://127.0.0.1:%d/" % self.reg.port
        done = subprocess.run(["skopeo", "copy", "--retry-times", "0", "--src-tls-verify=false",
                               "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
                               base + src + "/base:v1", base + dst + "/app:pushed"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace"))
        _, summary = self.overview(dst, "app", "pushed")
        self.assertEqual(summary["scan_status"], "Success")
        self.assertEqual(summary["summary"]["total"], 6)
        # Without auto_scan nothing is scanned.
        self.assertNotIn("scan_overview", self.artifact(src, "base", "v1", with_scan_overview=True))


class SecurityHubTest(ScanCase):
    def test_summary_and_vulnerability_list(self):
        empty = self.api.ok("GET", "/security/summary")
        self.assertEqual((empty["total_vuls"], empty["scanned_cnt"]), (0, 0))
        p, pid = self.project()
        d1 = self.push(p, "one")
        d2 = self.push(p, "two", tag="release")
        for repo, d in (("one", d1), ("two", d2)):
            self.scan(p, repo, d)
            self.overview(p, repo, d)
        s = self.api.ok("GET", "/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true")
        shape(s, "SecuritySummary")
        self.assertEqual((s["total_vuls"], s["critical_cnt"], s["high_cnt"], s["medium_cnt"],
                          s["low_cnt"], s["unknown_cnt"], s["fixable_cnt"]), (12, 2, 4, 2, 2, 2, 6))
        self.assertEqual((s["scanned_cnt"], s["total_artifact"]), (2, 2))
        self.assertEqual([c["cve_id"] for c in s["dangerous_cves"]], ["CVE-2022-48174"] * 2)
        self.assertEqual(s["dangerous_cves"][0]["cvss_score_v3"], 9.8)
        self.assertEqual(sorted(a["digest"] for a in s["dangerous_artifacts"]), sorted([d1, d2]))
        self.assertEqual(s["dangerous_artifacts"][0]["critical_cnt"], 1)

        def vul(q, total):
            r = self.api.call("GET", "/security/vul?page_size=100&q=" + q)
            self.assertEqual(r.status, 200, r)
            shape(r.json(), {"type": "array", "items": {"$ref": "#/definitions/VulnerabilityItem"}})
            self.assertEqual(int(r.header("X-Total-Count")), total, (q, r.json()))
            return r.json()

        rows = vul("", 12)
        self.assertEqual(rows[0]["severity"], "Critical")  # worst first
        self.assertEqual(len(vul("cve_id%3DCVE-2023-0464", 2)), 2)
        self.assertEqual({x["repository_name"] for x in vul("package%3Dlibssl3", 4)},
                         {p + "/one", p + "/two"})
        vul("severity%3DHigh", 4)
        vul("cvss_score_v3%3D%5B7~10%5D", 4)   # 9.8 and 7.5, twice
        vul("repository_name%3D" + p + "/one,severity%3DCritical", 1)
        vul("project_id%3D" + str(pid) + ",digest%3D" + d2, 6)
        vul("package%3D~ssl", 4)
        # Harbor's tag key: the findings of the artifact carrying the tag.
        self.assertEqual({x["repository_name"] for x in vul("tag%3Drelease", 6)}, {p + "/two"})
        vul("tag%3Drelease,severity%3DCritical", 1)
        vul("tag%3D%7Brelease%20v1%7D", 12)
        vul("tag%3Dnope", 0)
        # with_tag: each item carries its artifact's tags.
        r = self.api.call("GET", "/security/vul?with_tag=true&page_size=100")
        shape(r.json(), {"type": "array", "items": {"$ref": "#/definitions/VulnerabilityItem"}})
        self.assertEqual({(x["repository_name"], tuple(x["tags"])) for x in r.json()},
                         {(p + "/one", ("v1",)), (p + "/two", ("release",))})
        self.assertNotIn("tags", rows[0])
        # Harbor's order: the highest CVSS v3 score first.
        scores = [x["cvss_v3_score"] for x in rows]
        self.assertEqual(scores, sorted(scores, reverse=True))
        # tune_count under 1000 matches: the real count.
        r = self.api.call("GET", "/security/vul?tune_count=true&page_size=5")
        self.assertEqual(int(r.header("X-Total-Count")), 12)
        self.assertIn('rel="next"', r.header("Link"))
        for bad in ("severity%3DDire", "cvss_score_v3%3D%5B7~11%5D", "color%3Dred"):
            self.assertEqual(self.api.call("GET", "/security/vul?q=" + bad).status, 400, bad)
        user = self.api.create_user(bh.unique("u"))
        for path in ("/security/summary", "/security/vul"):
            self.assertEqual(self.api.call("GET", path, auth=user).status, 403)
            self.assertEqual(self.api.call("GET", path, auth=None).status, 401)


class ScanFailureTest(ScanCase):
    """A scanner that hangs, crashes or answers garbage fails its own scan
    with a clear log, and the registry keeps answering meanwhile."""

    def failing(self, mode, expect):
        p, _ = self.project()
        self.use(p, self.registration(mode=mode))
        digest = self.push(p)
        started = time.monotonic()
        self.scan(p, "app", digest)
        _, summary = self.overview(p, "app", digest, until=("Success", "Error"), timeout=40)
        self.assertEqual(summary["scan_status"], "Error", summary)
        self.assertNotIn("summary", summary)
        log = self.log(p, "app", digest, summary["report_id"])
        self.assertIn(expect, log)
        return started

    def test_hang_times_out_and_the_registry_keeps_going(self):
        result = {}
        t = threading.Thread(target=lambda: result.update(
            started=self.failing("hang", "did not answer scan request within 3 s")))
        t.start()
        # While the scanner is stuck: pushes, pulls and the API answer quickly.
        time.sleep(0.5)
        p, _ = self.project()
        for i in range(3):
            t0 = time.monotonic()
            digest = self.push(p, tag="t%d" % i)
            self.assertEqual(self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, digest)).status, 200)
            self.assertEqual(self.api.call("GET", "/projects/%s/repositories/app/artifacts" % p).status, 200)
            self.assertLess(time.monotonic() - t0, 2.0)
        # Other scans still run (the hung call holds no job worker).
        self.scan(p, "app", "t0")
        _, ok = self.overview(p, "app", "t0")
        self.assertEqual(ok["scan_status"], "Success")
        t.join(60)
        self.assertIn("started", result)

    def test_crash(self):
        self.failing("crash", "died of signal 11")

    def test_garbage(self):
        self.failing("garbage", "the scanner returned an invalid report: not JSON")


class ScanWebhookTest(ScanCase):
    def test_scanning_events(self):
        recv = bh.Receiver()
        self.addCleanup(recv.close)
        p, _ = self.project()
        r = self.api.call("POST", "/projects/%s/webhook/policies" % p, {
            "name": "scans", "enabled": True,
            "event_types": ["SCANNING_COMPLETED", "SCANNING_FAILED"],
            "targets": [{"type": "http", "address": recv.url("/s"), "auth_header": "",
                         "skip_cert_verify": False, "payload_format": "Default"}]})
        self.assertEqual(r.status, 201, r)
        digest = self.push(p)
        self.scan(p, "app", digest)
        self.overview(p, "app", digest)
        ev = json.loads(recv.wait(1, "/s")[0]["body"])
        self.assertEqual(ev["type"], "SCANNING_COMPLETED")
        self.assertEqual(ev["event_data"]["repository"]["repo_full_name"], "%s/app" % p)
        res = ev["event_data"]["resources"][0]
        self.assertEqual(res["digest"], digest)
        self.assertEqual(res["scan_overview"][V11]["scan_status"], "Success")
        self.assertEqual(res["scan_overview"][V11]["severity"], "Critical")
        # Harbor names every scan event's operator "auto", manual scans included.
        self.assertEqual(ev["operator"], "auto")
        # A scanner answering garbage: SCANNING_FAILED.
        self.use(p, self.registration(mode="garbage"))
        digest2 = self.push(p, tag="v2")
        self.scan(p, "app", digest2)
        self.overview(p, "app", digest2, until=("Error",), timeout=40)
        ev = json.loads(recv.wait(2, "/s")[1]["body"])
        self.assertEqual(ev["type"], "SCANNING_FAILED")
        self.assertEqual(ev["event_data"]["resources"][0]["digest"], digest2)


class ScanLifecycleTest(ScanCase):
    """What scanning leaves behind: one SBOM accessory per artifact, no
    reports or findings of deleted artifacts, no scan jobs nothing reads."""

    def sbom_overview(self, p, repo, digest, not_report=None):
        deadline = time.monotonic() + 30
        while True:
            a = self.artifact(p, repo, digest, with_sbom_overview=True, with_accessory=True)
            ov = a.get("sbom_overview")
            if ov and ov["report_id"] != not_report and ov["scan_status"] in ("Success", "Error"):
                self.assertEqual(ov["scan_status"], "Success", ov)
                return a, ov
            self.assertLess(time.monotonic(), deadline, a)
            time.sleep(0.2)

    def test_sbom_rescan_replaces_the_accessory(self):
        p, _ = self.project()
        digest = self.push(p)
        self.scan(p, "app", digest, scan_type="sbom")
        _, first = self.sbom_overview(p, "app", digest)
        time.sleep(1.1)  # the SBOM manifest's creation time (seconds) differs
        self.scan(p, "app", digest, scan_type="sbom")
        a, second = self.sbom_overview(p, "app", digest, not_report=first["report_id"])
        self.assertNotEqual(first["sbom_digest"], second["sbom_digest"])
        # Only the newest remains, for the API and for OCI clients.
        self.assertEqual([(x["type"], x["digest"]) for x in a["accessories"]],
                         [("harbor.sbom", second["sbom_digest"])])
        r = self.reg.request("GET", "/v2/%s/app/referrers/%s" % (p, digest))
        self.assertEqual([m["digest"] for m in r.json()["manifests"]], [second["sbom_digest"]])
        old = self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, first["sbom_digest"]),
                               headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(old.status, 404, old)
        self.assertIn("earlier SBOM accessory %s is deleted" % first["sbom_digest"],
                      self.log(p, "app", digest, second["report_id"]))

    def test_reports_of_a_deleted_artifact_go_with_it(self):
        p, _ = self.project()
        seed = bh.unique("seed")
        _, d1 = self.reg.push_image(p + "/app", "v1", seed=seed)
        d2 = self.push(p, tag="v2")
        for d in (d1, d2):
            self.scan(p, "app", d)
            self.overview(p, "app", d)

        def findings(d):
            r = self.api.call("GET", "/security/vul?q=digest%3D" + d)
            return int(r.header("X-Total-Count"))

        self.assertEqual((findings(d1), findings(d2)), (6, 6))
        before = self.api.ok("GET", "/security/summary")
        self.api.ok("DELETE", (ART % (p, "app", d1)))
        deadline = time.monotonic() + 15
        while findings(d1) != 0:
            self.assertLess(time.monotonic(), deadline, "the findings of %s stayed" % d1)
            time.sleep(0.1)
        self.assertEqual(db_rows(self.reg, "SELECT COUNT(*) FROM scan_report WHERE digest = '%s'" % d1),
                         [("0",)])
        self.assertEqual(db_rows(self.reg, "SELECT COUNT(*) FROM vulnerability_finding "
                                           "WHERE digest = '%s'" % d1), [("0",)])
        after = self.api.ok("GET", "/security/summary")
        self.assertEqual(after["total_vuls"], before["total_vuls"] - 6)
        self.assertEqual(after["scanned_cnt"], before["scanned_cnt"] - 1)
        self.assertEqual(findings(d2), 6)  # the other artifact keeps its report
        # Pushed again, the image is unscanned (Harbor: the reports went with it).
        self.assertEqual(self.reg.push_image(p + "/app", "v1", seed=seed)[1], d1)
        self.assertNotIn("scan_overview", self.artifact(p, "app", d1, with_scan_overview=True))
        # A repository deleted whole takes its artifacts' reports too.
        d3 = self.push(p, repo="other")
        self.scan(p, "other", d3)
        self.overview(p, "other", d3)
        self.assertEqual(findings(d3), 6)
        self.api.ok("DELETE", "/projects/%s/repositories/other" % p)
        deadline = time.monotonic() + 15
        while findings(d3) != 0:
            self.assertLess(time.monotonic(), deadline, "the findings of %s stayed" % d3)
            time.sleep(0.1)
        self.assertEqual(db_rows(self.reg, "SELECT COUNT(*) FROM scan_report WHERE digest = '%s'" % d3),
                         [("0",)])

    def test_scan_jobs_no_report_reads_are_pruned(self):
        p, _ = self.project()
        digest = self.push(p)
        self.scan(p, "app", digest)
        _, first = self.overview(p, "app", digest)
        [(job1,)] = db_rows(self.reg, "SELECT job_id FROM scan_report WHERE uuid = '%s'" % first["report_id"])
        self.scan(p, "app", digest)
        deadline = time.monotonic() + 30
        while True:
            _, second = self.overview(p, "app", digest)
            if second["report_id"] != first["report_id"]:
                break
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        [(job2,)] = db_rows(self.reg, "SELECT job_id FROM scan_report WHERE uuid = '%s'" % second["report_id"])
        # The job of the replaced report is left until the maintenance loop,
        # which runs at startup.
        self.assertEqual(db_rows(self.reg, "SELECT COUNT(*) FROM job WHERE id = %s" % job1), [("1",)])
        deadline = time.monotonic() + 15
        while db_rows(self.reg, "SELECT status FROM job WHERE id = %s" % job2) != [("Success",)]:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        self.reg.restart()
        deadline = time.monotonic() + 15
        while db_rows(self.reg, "SELECT COUNT(*) FROM job WHERE id = %s" % job1) != [("0",)]:
            self.assertLess(time.monotonic(), deadline, "the replaced scan's job stayed")
            time.sleep(0.1)
        self.assertEqual(db_rows(self.reg, "SELECT COUNT(*) FROM job_log WHERE job_id = %s" % job1),
                         [("0",)])
        # The current report's job and its log stay.
        self.assertIn("report stored", self.log(p, "app", digest, second["report_id"]))


class ScanStopTest(ScanCase):
    def test_stop_a_running_scan(self):
        p, _ = self.project()
        self.use(p, self.registration(delay_ms=60000))
        digest = self.push(p)
        self.scan(p, "app", digest)
        # A second scan of the same artifact while one runs: 409.
        r = self.scan(p, "app", digest, status=409)
        self.assertEqual(r.error_codes(), ["CONFLICT"])
        self.overview(p, "app", digest, until=("Running",))
        r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan/stop", {"scan_type": "vulnerability"})
        self.assertEqual(r.status, 202, r)
        _, summary = self.overview(p, "app", digest, until=("Stopped",), timeout=15)
        self.assertIn("stopped on request", self.log(p, "app", digest, summary["report_id"]))
        # Nothing is running any more.
        r = self.api.call("POST", (ART % (p, "app", digest)) + "/scan/stop", {"scan_type": "vulnerability"})
        self.assertEqual(r.status, 400, r)


class ScanAllTest(ScanCase):
    N = 6

    @classmethod
    def scanning(cls):
        return {"max_concurrent": 2,
                "default": {"name": "slow-default",
                            "config": {"findings_file": FINDINGS, "record_dir": cls.records,
                                       "delay_ms": 800}}}

    def test_scan_all_bounded_and_scheduled(self):
        p, _ = self.project()
        digests = [self.push(p, repo="r%d" % (i % 3), tag="t%d" % i) for i in range(self.N)]
        r = self.api.call("POST", "/system/scanAll/schedule", {"schedule": {"type": "Manual"}})
        self.assertEqual(r.status, 201, r)
        deadline = time.monotonic() + 60
        running_seen = 0
        while True:
            m = self.api.ok("GET", "/scans/all/metrics")
            shape(m, "Stats")
            running_seen = max(running_seen, m["metrics"].get("Running", 0))
            self.assertLessEqual(m["metrics"].get("Running", 0), 2, m)
            if m["total"] == self.N and m["completed"] == self.N and not m["ongoing"]:
                break
            self.assertLess(time.monotonic(), deadline, m)
            time.sleep(0.2)
        self.assertEqual(m["metrics"], {"Success": self.N})
        self.assertEqual(m["trigger"], "Manual")
        with open(os.path.join(self.records, "max_in_flight")) as f:
            in_flight = int(f.read())
        self.assertEqual(in_flight, 2)  # the bound, reached and never exceeded
        for i, d in enumerate(digests):
            _, s = self.overview(p, "r%d" % (i % 3), d)
            self.assertEqual(s["scan_status"], "Success")

        # A second run, stopped while its scans wait for a slot.
        r = self.api.call("POST", "/system/scanAll/schedule", {"schedule": {"type": "Manual"}})
        self.assertEqual(r.status, 201, r)
        deadline = time.monotonic() + 30
        while self.api.ok("GET", "/scans/all/metrics")["total"] < self.N:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(self.api.call("POST", "/system/scanAll/stop").status, 202)
        while True:
            m = self.api.ok("GET", "/scans/all/metrics")
            if not m["ongoing"]:
                break
            self.assertLess(time.monotonic(), deadline, m)
            time.sleep(0.2)
        self.assertEqual(m["completed"], self.N, m)
        self.assertGreaterEqual(m["metrics"].get("Stopped", 0), self.N - 2, m)
        stopped = [self.overview(p, "r%d" % (i % 3), d)[1]["scan_status"] for i, d in enumerate(digests)]
        self.assertGreaterEqual(stopped.count("Stopped"), self.N - 2, stopped)

        # Schedules: Harbor's shapes; the schedule metrics stay empty until it fires.
        self.api.ok("PUT", "/system/scanAll/schedule",
                    {"schedule": {"type": "Custom", "cron": "0 0 3 * * *"}})
        s = self.api.ok("GET", "/system/scanAll/schedule")
        self.assertEqual((s["schedule"]["type"], s["schedule"]["cron"]), ("Custom", "0 0 3 * * *"))
        self.assertEqual(self.api.ok("GET", "/scans/schedule/metrics")["total"], 0)
        r = self.api.call("PUT", "/system/scanAll/schedule", {"schedule": {"type": "Custom", "cron": "bad"}})
        self.assertEqual(r.status, 400, r)
        self.api.ok("PUT", "/system/scanAll/schedule", {"schedule": {"type": "None"}})
        self.assertEqual(self.api.ok("GET", "/system/scanAll/schedule")["schedule"]["type"], "None")
        # System administrators only.
        user = self.api.create_user(bh.unique("u"))
        for method, path in [("GET", "/scans/all/metrics"), ("GET", "/system/scanAll/schedule"),
                             ("POST", "/system/scanAll/stop")]:
            self.assertEqual(self.api.call(method, path, auth=user).status, 403)
            self.assertEqual(self.api.call(method, path, auth=None).status, 401)


class DefaultSwapTest(ScanCase):
    """scanning.default in berth.yml: change one line, restart, and every
    project without its own scanner scans with the new one."""

    def test_restart_with_another_default(self):
        p, _ = self.project()
        digest = self.push(p)
        self.scan(p, "app", digest)
        _, before = self.overview(p, "app", digest)
        self.assertEqual(before["scanner"]["name"], "Berth Test Scanner")
        self.reg.config = config(self.records, default={
            "name": "other-default",
            "config": {"findings_file": FINDINGS, "name": "Second Scanner", "version": "2.0"}})
        self.reg.restart()
        regs = {r["name"]: r for r in self.api.ok("GET", "/scanners")}
        self.assertTrue(regs["other-default"]["is_default"])
        self.assertFalse(regs["fixture-default"]["is_default"])
        self.assertEqual(self.api.ok("GET", "/projects/%s/scanner" % p)["name"], "other-default")
        # The old report belongs to the old scanner; a new scan uses the new one.
        self.assertNotIn("scan_overview", self.artifact(p, "app", digest, with_scan_overview=True))
        self.scan(p, "app", digest)
        _, after = self.overview(p, "app", digest)
        self.assertEqual(after["scanner"], {"name": "Second Scanner", "vendor": "Berth", "version": "2.0"})
        # A config the provider's schema refuses stops berthd with a clear message.
        self.reg.config = config(self.records, default={"name": "broken", "config": {"mode": "nope"}})
        self.reg.stop()
        with self.assertRaises(RuntimeError) as e:
            self.reg.start()
        self.assertIn("scanning.default", str(e.exception))
        self.reg.config = config(self.records)
        self.reg.start()


if __name__ == "__main__":
    bh.main()
