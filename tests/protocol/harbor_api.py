"""A client for Harbor's /api/v2.0 in protocol tests: JSON calls as some
identity ("admin", (user, password), or None for anonymous), checking
Harbor's {"errors":[{"code","message"}]} shape on every failure, plus the
project, user and member set-up most API tests need. Python 3 standard
library only.
"""

import base64
import json
import re

API = "/api/v2.0"
PASSWORD = "Label-Passw0rd"
ROLES = {"projectAdmin": 1, "developer": 2, "guest": 3, "maintainer": 4, "limitedGuest": 5}


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class Api:
    """JSON calls to /api/v2.0 as some identity ("admin", (user, password),
    or None: anonymous), checking Harbor's error shape on every failure."""

    def __init__(self, reg):
        self.reg = reg

    def call(self, method, path, body=None, auth="admin", raw=None):
        headers = {}
        if auth == "admin":
            headers["Authorization"] = self.reg.auth_header()
        elif auth is not None:
            headers["Authorization"] = basic(*auth)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        r = self.reg.request(method, API + path, data, headers, auth=False)
        if r.status >= 400:
            doc = r.json()
            errs = doc.get("errors") if isinstance(doc, dict) else None
            assert isinstance(errs, list) and errs and all(
                isinstance(e.get("code"), str) and isinstance(e.get("message"), str)
                for e in errs), "not Harbor's error shape: %r" % r
        return r

    def ok(self, method, path, body=None, status=200, auth="admin"):
        r = self.call(method, path, body, auth=auth)
        assert r.status == status, "%r" % r
        return r.json() if r.body else None

    def create_project(self, name, public=False):
        r = self.call("POST", "/projects", {"project_name": name,
                                            "metadata": {"public": "true" if public else "false"}})
        assert r.status == 201, "%r" % r
        return int(r.header("Location").rsplit("/", 1)[1])

    def create_user(self, name):
        r = self.call("POST", "/users", {"username": name, "email": name + "@example.com",
                                          "realname": name, "password": PASSWORD})
        assert r.status == 201, "%r" % r
        return (name, PASSWORD)

    def add_member(self, project_id, user, role):
        r = self.call("POST", "/projects/%d/members" % project_id,
                      {"role_id": ROLES[role], "member_user": {"username": user[0]}})
        assert r.status == 201, "%r" % r

    def create_label(self, body, auth="admin"):
        r = self.call("POST", "/labels", body, auth=auth)
        assert r.status == 201, "%r" % r
        loc = r.header("Location")
        assert re.match(r"^/api/v2\.0/labels/\d+$", loc), loc
        return int(loc.rsplit("/", 1)[1])
