#!/usr/bin/env python3
"""Credentials that do not sign in, on the management API.

Harbor treats Basic credentials it cannot verify as no credentials: the
caller goes on as anonymous. So endpoints open to anonymous callers
(/api/v2.0/ping, /systeminfo, the public project's reads, the project list)
answer a wrong password exactly as they answer no credentials, while every
endpoint that needs a caller still answers 401 (with the sign-in failure's
own message), and 429 once the limiter holds the name. Each failure still
counts toward the sign-in limiter (5 per name in 5 minutes).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402

bh = L.bh
API = L.API


class BadCredentials(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        cls.b = L.Berth(cls.reg)
        cls.pool = L.AddressPool()
        cls.public = L.uid("bc-pub")
        cls.private = L.uid("bc-priv")
        for name, public in ((cls.public, "true"), (cls.private, "false")):
            cls.b.admin("POST", API + "/projects",
                        {"project_name": name, "metadata": {"public": public}}, expect=201)

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def user(self):
        name = L.uid("bc-user")
        self.b.admin("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                              "realname": name, "password": L.PASSWORD},
                     expect=201)
        return name

    def as_anon(self, method, path):
        return self.b.call(method, path, source=self.pool.fresh())

    def as_wrong(self, method, path, user=None, auth=None, body=None):
        return self.b.call(method, path, body, source=self.pool.fresh(),
                           auth=auth or L.basic(user or L.uid("bc-nobody"), "Wrong-Passw0rd"))

    OPEN = [
        ("GET", "/ping"),
        ("GET", "/systeminfo"),
        ("GET", "/health"),
        ("GET", "/projects"),
        ("GET", "/projects/{public}"),
        ("GET", "/projects/{public}/summary"),
    ]

    def path(self, p):
        return API + p.format(public=self.public, private=self.private)

    def test_open_endpoints_answer_as_for_anonymous(self):
        known = self.user()
        for method, p in self.OPEN:
            anon = self.as_anon(method, self.path(p))
            self.assertEqual(anon.status, 200, "%s %s anonymous: %s" % (method, p, L.short(anon)))
            for who in (known, None):  # a wrong password, an unknown user
                r = self.as_wrong(method, self.path(p), user=who)
                self.assertEqual(r.status, 200, "%s %s: %s" % (method, p, L.short(r)))
                if p != "/systeminfo":  # carries the clock
                    self.assertEqual(r.body, anon.body, "%s %s" % (method, p))
        # What anonymous callers may not see, they do not see with bad credentials.
        r = self.as_wrong("GET", API + "/projects?page_size=100", user=known)
        names = [x["name"] for x in r.json()]
        self.assertIn(self.public, names)
        self.assertNotIn(self.private, names)
        info = self.as_wrong("GET", API + "/systeminfo", user=known).json()
        self.assertNotIn("external_url", info)  # only for signed-in callers

    def test_malformed_basic_is_anonymous_too(self):
        for bad in ("Basic !!!", "Basic " + "bm9jb2xvbg=="):  # not base64; "nocolon"
            r = self.as_wrong("GET", API + "/ping", auth=bad)
            self.assertEqual(r.status, 200, L.short(r))
            r = self.as_wrong("GET", API + "/users/current", auth=bad)
            self.assertEqual(r.status, 401, L.short(r))

    def test_protected_endpoints_still_401(self):
        # A fresh name each time: 5 failures would lock one name (429).
        created = L.uid("bc-new")
        for method, p, body in (("GET", "/users/current", None), ("GET", "/users", None),
                                ("GET", "/projects/{private}", None),
                                ("HEAD", "/projects?project_name=x", None),
                                ("POST", "/projects", {"project_name": created}),
                                ("GET", "/audit-logs", None), ("GET", "/permissions", None)):
            r = self.as_wrong(method, self.path(p), user=self.user(), body=body)
            self.assertEqual(r.status, 401, "%s %s: %s" % (method, p, L.short(r)))
            if method != "HEAD":
                err = r.json()["errors"][0]
                self.assertEqual((err["code"], err["message"]),
                                 ("UNAUTHORIZED", "invalid username or password"), p)
        # A wrong password created nothing (POST /projects was refused).
        self.assertEqual(self.b.admin("GET", API + "/projects/" + created).status, 404)

    def test_failures_on_open_endpoints_count_toward_the_limiter(self):
        name = self.user()
        for i in range(5):
            r = self.as_wrong("GET", API + "/ping", user=name)
            self.assertEqual(r.status, 200, "failure %d: %s" % (i + 1, L.short(r)))
        # The name is now locked: the right password is refused where a
        # caller is needed, from another address too ...
        r = self.b.call("GET", API + "/users/current", auth=L.basic(name, L.PASSWORD),
                        source=self.pool.fresh())
        self.assertEqual(r.status, 429, L.short(r))
        self.assertEqual(r.error_codes(), ["TOO_MANY_REQUEST"])
        r, tok = self.b.token([], auth=L.basic(name, L.PASSWORD), source=self.pool.fresh())
        self.assertEqual(r.status, 429, L.short(r))
        # ... and open endpoints still answer as for anonymous.
        r = self.b.call("GET", API + "/systeminfo", auth=L.basic(name, L.PASSWORD),
                        source=self.pool.fresh())
        self.assertEqual(r.status, 200, L.short(r))
        self.assertNotIn("external_url", r.json())

    def test_right_credentials_still_sign_in(self):
        name = self.user()
        r = self.b.call("GET", API + "/systeminfo", auth=L.basic(name, L.PASSWORD),
                        source=self.pool.fresh())
        self.assertEqual(r.status, 200, L.short(r))
        self.assertIn("external_url", r.json())
        r = self.b.call("GET", API + "/users/current", auth=L.basic(name, L.PASSWORD),
                        source=self.pool.fresh())
        self.assertEqual(r.status, 200, L.short(r))
        self.assertEqual(r.json()["username"], name)

    def test_registry_token_service_still_refuses(self):
        # /service/token is not an anonymous fallback: a registry client
        # that sent a password must learn it is wrong.
        r, tok = self.b.token(["repository:%s/x:pull" % self.public],
                              auth=L.basic(self.user(), "Wrong-Passw0rd"), source=self.pool.fresh())
        self.assertEqual(r.status, 401, L.short(r))
        self.assertIsNone(tok)


if __name__ == "__main__":
    bh.main()
