#!/usr/bin/env python3
"""Browser sessions and CSRF (Harbor's src/server/middleware/csrf): a
session cookie from POST /c/login authenticates API calls, but unsafe
methods (POST, PUT, PATCH, DELETE) must also carry the session's
X-Harbor-CSRF-Token header, otherwise 403 FORBIDDEN and nothing changes.
Safe methods need no token, and callers with HTTP Basic credentials need
none at all.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402

bh = L.bh
API = L.API
CSRF = "X-Harbor-CSRF-Token"


class Csrf(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        cls.b = L.Berth(cls.reg)
        try:
            r = cls.b.admin("POST", API + "/users",
                            {"username": "iam-web", "email": "web@example.com", "realname": "web",
                             "password": L.PASSWORD}, expect=201)
            cls.user_id = int(r.header("Location").rsplit("/", 1)[1])
            cls.project = "iam-web-p"
            cls.b.admin("POST", API + "/projects", {"project_name": cls.project}, expect=201)
            cls.b.admin("POST", "%s/projects/%s/members" % (API, cls.project),
                        {"role_id": 1, "member_user": {"username": "iam-web"}}, expect=201)
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    # -- helpers ------------------------------------------------------------------------

    def login(self, user="iam-web", password=L.PASSWORD):
        r = self.b.call("POST", "/c/login",
                        "principal=%s&password=%s" % (L.q(user), L.q(password)),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 200, L.short(r))
        cookies = r.header_all("Set-Cookie")
        sid = [c for c in cookies if c.startswith("sid=")]
        self.assertEqual(len(sid), 1, cookies)
        attrs = [a.strip().lower() for a in sid[0].split(";")]
        self.assertIn("httponly", attrs, sid[0])
        self.assertIn("samesite=strict", attrs, sid[0])
        self.assertIn("path=/", attrs, sid[0])
        self.assertNotIn("secure", attrs, "Secure on an http:// external URL: " + sid[0])
        token = r.header(CSRF)
        self.assertTrue(token and len(token) >= 16, "no CSRF token on the login response: %r" % r)
        return sid[0].split(";")[0], token

    def session(self, method, path, body=None, cookie=None, token=None, extra=None):
        headers = dict(extra or {})
        if token is not None:
            headers[CSRF] = token
        return self.b.call(method, path, body, cookie=cookie, headers=headers)

    def realname(self):
        return self.b.admin("GET", "%s/users/%d" % (API, self.user_id), expect=200).json()["realname"]

    def project_exists(self, name):
        return self.b.admin("GET", API + "/projects/" + name).status == 200

    def profile(self, realname):
        return {"email": "web@example.com", "realname": realname, "comment": "c"}

    def assertForbidden(self, r, what):
        self.assertEqual(r.status, 403, "%s: %s" % (what, L.short(r)))
        self.assertEqual(L.api_code(r), "FORBIDDEN", what)

    # -- tests --------------------------------------------------------------------------

    def test_safe_methods_need_no_token(self):
        cookie, token = self.login()
        r = self.session("GET", API + "/users/current", cookie=cookie)
        self.assertEqual(r.status, 200, L.short(r))
        self.assertEqual(r.json()["username"], "iam-web")
        self.assertEqual(r.header(CSRF), token, "the session's token comes back on every response")
        r = self.session("HEAD", API + "/projects?project_name=" + self.project, cookie=cookie)
        self.assertEqual(r.status, 200, L.short(r))
        # A session signs /service/token requests in as well (a GET).
        r = self.session("GET", "/service/token?service=harbor-registry&scope=" +
                         L.q("repository:%s/x:pull" % self.project), cookie=cookie)
        self.assertEqual(r.status, 200, L.short(r))
        claims = L.jwt_decode(r.json()["token"])[1]
        self.assertEqual(claims["sub"], "iam-web")

    def test_unsafe_methods_without_token_are_refused(self):
        cookie, token = self.login()
        before = self.realname()
        name = L.uid("iam-csrf")
        rid = self.b.admin("POST", API + "/robots",
                           {"name": L.uid("r"), "level": "project", "duration": -1,
                            "permissions": [{"kind": "project", "namespace": self.project,
                                             "access": [{"resource": "repository",
                                                         "action": "pull"}]}]},
                           expect=201).json()["id"]
        for bad in (None, "", "wrong-" + token, token[:-1], token.upper() if token.lower() == token
                    else token.lower()):
            what = "CSRF token %r" % (bad,)
            r = self.session("PUT", "%s/users/%d" % (API, self.user_id), self.profile("changed"),
                             cookie=cookie, token=bad)
            self.assertForbidden(r, "PUT " + what)
            r = self.session("POST", API + "/projects", {"project_name": name}, cookie=cookie,
                             token=bad)
            self.assertForbidden(r, "POST " + what)
            r = self.session("DELETE", API + "/projects/" + self.project, cookie=cookie, token=bad)
            self.assertForbidden(r, "DELETE " + what)
            r = self.session("PATCH", "%s/robots/%d" % (API, rid), cookie=cookie, token=bad)
            self.assertForbidden(r, "PATCH " + what)
        self.assertEqual(self.realname(), before)
        self.assertFalse(self.project_exists(name))
        self.assertTrue(self.project_exists(self.project))

    def test_unsafe_methods_with_token_succeed(self):
        cookie, token = self.login()
        r = self.session("PUT", "%s/users/%d" % (API, self.user_id), self.profile("via-session"),
                         cookie=cookie, token=token)
        self.assertEqual(r.status, 200, L.short(r))
        self.assertEqual(self.realname(), "via-session")
        name = L.uid("iam-csrf")
        r = self.session("POST", API + "/projects", {"project_name": name}, cookie=cookie,
                         token=token)
        self.assertEqual(r.status, 201, L.short(r))
        self.assertTrue(self.project_exists(name))
        r = self.session("DELETE", API + "/projects/" + name, cookie=cookie, token=token)
        self.assertEqual(r.status, 200, L.short(r))
        self.assertFalse(self.project_exists(name))

    def test_token_belongs_to_its_session(self):
        cookie_a, token_a = self.login()
        cookie_b, token_b = self.login()
        self.assertNotEqual(cookie_a, cookie_b)
        self.assertNotEqual(token_a, token_b)
        r = self.session("PUT", "%s/users/%d" % (API, self.user_id), self.profile("crossed"),
                         cookie=cookie_b, token=token_a)
        self.assertForbidden(r, "another session's token")
        self.assertNotEqual(self.realname(), "crossed")

    def test_basic_callers_need_no_token(self):
        auth = L.basic("iam-web", L.PASSWORD)
        r = self.b.call("PUT", "%s/users/%d" % (API, self.user_id), self.profile("via-basic"),
                        auth=auth)
        self.assertEqual(r.status, 200, L.short(r))
        self.assertEqual(self.realname(), "via-basic")
        self.assertIsNone(r.header(CSRF), "no session, no CSRF token")
        # Basic credentials win over a session cookie sent alongside.
        cookie, _ = self.login()
        r = self.b.call("PUT", "%s/users/%d" % (API, self.user_id), self.profile("basic+cookie"),
                        auth=auth, cookie=cookie)
        self.assertEqual(r.status, 200, L.short(r))

    def test_logout_ends_the_session(self):
        cookie, token = self.login()
        r = self.session("GET", "/c/log_out", cookie=cookie)
        self.assertEqual(r.status, 200, L.short(r))
        self.assertTrue(any(c.startswith("sid=;") for c in r.header_all("Set-Cookie")),
                        r.header_all("Set-Cookie"))
        r = self.session("GET", API + "/users/current", cookie=cookie)
        self.assertEqual(r.status, 401, L.short(r))
        r = self.session("PUT", "%s/users/%d" % (API, self.user_id), self.profile("after-logout"),
                         cookie=cookie, token=token)
        self.assertEqual(r.status, 401, L.short(r))
        self.assertNotEqual(self.realname(), "after-logout")

    def test_forged_session_cookie(self):
        for cookie in ("sid=" + "0" * 64, "sid=" + "g" * 64, "sid=abc", "sid=" + "a" * 65):
            r = self.session("GET", API + "/users/current", cookie=cookie)
            self.assertEqual(r.status, 401, "%s: %s" % (cookie, L.short(r)))

    def test_robot_and_wrong_password_get_no_session(self):
        r = self.b.call("POST", "/c/login", "principal=iam-web&password=Wrong-Passw0rd",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 401, L.short(r))
        self.assertFalse(any(c.startswith("sid=") for c in r.header_all("Set-Cookie")))
        j = self.b.admin("POST", API + "/robots",
                         {"name": L.uid("web"), "level": "project", "duration": -1,
                          "permissions": [{"kind": "project", "namespace": self.project,
                                           "access": [{"resource": "repository",
                                                       "action": "pull"}]}]},
                         expect=201).json()
        r = self.b.call("POST", "/c/login", "principal=%s&password=%s" %
                        (L.q(j["name"]), L.q(j["secret"])),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 401, "robots do not get browser sessions: " + L.short(r))
        self.assertFalse(any(c.startswith("sid=") for c in r.header_all("Set-Cookie")))


if __name__ == "__main__":
    bh.main()
