#!/usr/bin/env python3
"""Harbor's GET /api/v2.0/icons/{digest} (Berth's built-in artifact-type
icons) and GET /api/v2.0/systeminfo/volumes: shapes against Harbor's swagger
(swagger_shape.py), access rules (icons: anyone; volumes: system-volumes read,
i.e. administrators and robots granted it), errors, and the volume numbers
against statvfs of the storage-fs root.

Runs on SQLite, and on PostgreSQL as protocol_pg.icons_volumes. Python 3
standard library, plus PyYAML for the shape checks (skipped without it).
"""

import base64
import hashlib
import json
import os
import unittest

import berth_harness as bh
import swagger_shape as ss

API = "/api/v2.0"
PASSWORD = "Icons-Passw0rd"

# The icons' digests are part of the API (artifact JSON names them, clients
# cache by them): a changed picture must change its digest, and this list.
ICONS = {
    "IMAGE": "sha256:b8942319a3881fdd4d74c09e8ad9873c63de940421097875ee3670ddc1c4b2c6",
    "CHART": "sha256:d664dc05730bb33865ca768e4a4e838d2cb1dea8c01399b314882831c6258cf0",
    "CNAB": "sha256:7997dcd78f1ce3194f45c9c2668d064c806ba0d8fcf2234d7aba84fafd4b1284",
    "WASM": "sha256:09e56a21b890f4aed6038b890a0acf831e588a31ac395794a7cc5320e757e6a1",
    "SIGNATURE": "sha256:9ae385962d2ab8236151b4c556c3a0b7b2fd8fafbeb017503984f8bc729745de",
    "SBOM": "sha256:84db2d633102b2b31b66ab4e1f45b8bb26ef8aa55330841f52689ea72a961c35",
    "UNKNOWN": "sha256:f7208557d9b27f3a38dee372e37d37e74613b67ec3e2e2d4c62d4a4a4bdfbff2",
}


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class IconsVolumesTest(bh.RegistryTestCase):
    def call(self, method, path, body=None, auth="admin"):
        headers = {}
        if auth == "admin":
            headers["Authorization"] = self.reg.auth_header()
        elif auth is not None:
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        r = self.reg.request(method, API + path, data, headers, auth=False)
        if r.status >= 400:
            errs = r.json().get("errors")
            self.assertTrue(isinstance(errs, list) and errs and isinstance(errs[0].get("code"), str),
                            "not Harbor's error shape: %r" % r)
        return r

    def assertShape(self, obj, schema):
        reason = ss.skip_reason()
        if reason:
            self.skipTest(reason)
        ss.assert_shape(obj, schema)

    # -- icons ---------------------------------------------------------------

    def test_every_builtin_icon_is_served_to_anyone(self):
        for kind, digest in ICONS.items():
            for auth in ("admin", None):
                r = self.call("GET", "/icons/" + digest, auth=auth)
                self.assertEqual(r.status, 200, "%s: %r" % (kind, r))
                self.assertTrue(r.header("Content-Type").startswith("application/json"), r)
                icon = r.json()
                self.assertShape(icon, "Icon")
                self.assertEqual(set(icon), {"content-type", "content"})
                self.assertEqual(icon["content-type"], "image/svg+xml")
                svg = base64.b64decode(icon["content"], validate=True)
                self.assertTrue(svg.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"'), svg)
                self.assertTrue(svg.endswith(b"</svg>"), svg)
                self.assertEqual("sha256:" + hashlib.sha256(svg).hexdigest(), digest, kind)
        self.assertEqual(len(set(ICONS.values())), len(ICONS))

    def test_icon_errors(self):
        for bad in ("nope", "sha256:1234", "sha256:" + "G" * 64, "md5:" + "a" * 32,
                    "sha256:" + "A" * 64):
            r = self.call("GET", "/icons/" + bad)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.error_codes(), ["BAD_REQUEST"], r)
        for unknown in ("sha256:" + "0" * 64, "sha512:" + "0" * 128):
            r = self.call("GET", "/icons/" + unknown, auth=None)
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.error_codes(), ["NOT_FOUND"], r)

    def test_artifact_json_names_its_types_icon(self):
        """Once the artifact API is there: a pushed image's `icon` is the
        IMAGE icon, which /icons serves."""
        repo = "%s/app" % bh.unique("icons")
        self.reg.push_image(repo, tag="v1")
        project, name = repo.split("/", 1)
        r = self.call("GET", "/projects/%s/repositories/%s/artifacts/v1" % (project, name))
        if r.status == 404 and "no such API endpoint" in r.body.decode("utf-8", "replace"):
            self.skipTest("no artifact API in this build")
        self.assertEqual(r.status, 200, r)
        art = r.json()
        self.assertEqual(art.get("icon"), ICONS["IMAGE"], art)
        self.assertEqual(self.call("GET", "/icons/" + art["icon"]).status, 200)

    # -- volumes -------------------------------------------------------------

    def test_volumes_match_statvfs_of_the_storage_root(self):
        r = self.call("GET", "/systeminfo/volumes")
        self.assertEqual(r.status, 200, r)
        info = r.json()
        self.assertShape(info, "SystemInfo")
        self.assertEqual(list(info), ["storage"])
        self.assertEqual(len(info["storage"]), 1)
        vol = info["storage"][0]
        self.assertEqual(set(vol), {"total", "free"})
        # The default storage root: <data_dir>/storage.
        st = os.statvfs(os.path.join(self.reg.data_dir, "storage"))
        self.assertEqual(vol["total"], st.f_blocks * st.f_frsize)
        self.assertGreater(vol["total"], 0)
        self.assertLessEqual(vol["free"], vol["total"])
        # Free space moves with everything else on the machine: roughly.
        self.assertLess(abs(vol["free"] - st.f_bavail * st.f_frsize), 1 << 30)

    def test_volumes_need_system_volumes_read(self):
        r = self.call("GET", "/systeminfo/volumes", auth=None)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.error_codes(), ["UNAUTHORIZED"], r)
        user = bh.unique("vol")
        r = self.call("POST", "/users", {"username": user, "email": user + "@example.com",
                                         "realname": user, "password": PASSWORD})
        self.assertEqual(r.status, 201, r)
        r = self.call("GET", "/systeminfo/volumes", auth=basic(user, PASSWORD))
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.error_codes(), ["FORBIDDEN"], r)
        # Robots: exactly what their permissions grant.
        robots = {}
        for name, access in (("volreader", [{"resource": "system-volumes", "action": "read"}]),
                             ("other", [{"resource": "audit-log", "action": "list"}])):
            r = self.call("POST", "/robots", {
                "name": bh.unique(name), "level": "system", "duration": -1,
                "permissions": [{"kind": "system", "namespace": "/", "access": access}]})
            self.assertEqual(r.status, 201, r)
            robots[name] = basic(r.json()["name"], r.json()["secret"])
        self.assertEqual(self.call("GET", "/systeminfo/volumes", auth=robots["volreader"]).status,
                         200)
        r = self.call("GET", "/systeminfo/volumes", auth=robots["other"])
        self.assertEqual(r.status, 403, r)


if __name__ == "__main__":
    bh.main()
