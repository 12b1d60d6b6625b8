#!/usr/bin/env python3
"""Hostile input to the list endpoints and to names.

1. SQL metacharacters and odd values in q / sort / page / page_size on every
   list endpoint (users, projects, members, robots, audit-logs, usergroups):
   the answer is 400 or 200 with the correct results (empty, or the literal
   matches), never 5xx; fuzzy matches (k=~v) treat % and _ literally; and
   the database is intact afterwards.
2. Names: project names, robot names and usernames that Harbor's rules
   refuse (traversal, upper case, doubled or leading/trailing separators,
   spaces, over-long, the robot prefix) give 400 and create nothing.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402

bh = L.bh
API = L.API
PROJECT = "iam-lit"


class Input(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        cls.b = L.Berth(cls.reg)
        b = cls.b
        try:
            # Literal-match fixtures: a name with '_' and one where '_' would
            # match as a wildcard ('x' in its place).
            for name in ("iam_under", "iamxunder"):
                b.admin("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                                 "realname": name, "password": L.PASSWORD},
                        expect=201)
            for name in (PROJECT, "iam_lit", "iamxlit"):
                b.admin("POST", API + "/projects", {"project_name": name}, expect=201)
            for name in ("iam_under", "iamxunder"):
                b.admin("POST", "%s/projects/%s/members" % (API, PROJECT),
                        {"role_id": 3, "member_user": {"username": name}}, expect=201)
            for name in ("iam_rob", "iamxrob"):
                b.admin("POST", API + "/robots",
                        {"name": name, "level": "system", "duration": -1,
                         "permissions": [{"kind": "project", "namespace": "*",
                                          "access": [{"resource": "repository",
                                                      "action": "pull"}]}]}, expect=201)
            for name in ("iam_grp", "iamxgrp"):
                b.admin("POST", API + "/usergroups", {"group_name": name, "group_type": 2},
                        expect=201)
            cls.users_before = cls.all_users()
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    @classmethod
    def all_users(cls):
        r = cls.b.admin("GET", API + "/users?page_size=100", expect=200)
        return sorted(u["username"] for u in r.json())

    # endpoint -> (path, the key a fuzzy search uses, the name field, the _ fixture, its twin)
    ENDPOINTS = {
        "users": ("/users", "username", "username", "iam_under", "iamxunder"),
        "projects": ("/projects", "name", "name", "iam_lit", "iamxlit"),
        "members": ("/projects/%s/members" % PROJECT, "entityname", "entity_name", "iam_under",
                    "iamxunder"),
        "robots": ("/robots", "name", "name", "robot$iam_rob", "robot$iamxrob"),
        "audit-logs": ("/audit-logs", "resource", "resource", "iam_lit", "iamxlit"),
        "usergroups": ("/usergroups", "group_name", "group_name", "iam_grp", "iamxgrp"),
    }

    def list_call(self, path, query):
        sep = "&" if "?" in path else "?"
        return self.b.admin("GET", API + path + sep + query)

    def names(self, r, field):
        return sorted({str(x.get(field)) for x in r.json()})

    def assertSaneList(self, r, what):
        self.assertIn(r.status, (200, 400), "%s: %s" % (what, L.short(r)))
        if r.status == 200:
            self.assertIsInstance(r.json(), list, what)
            total = r.header("X-Total-Count")
            self.assertIsNotNone(total, what)
            self.assertGreaterEqual(int(total), len(r.json()), what)
        else:
            self.assertEqual(L.api_code(r), "BAD_REQUEST", what)

    # -- q / sort / page ------------------------------------------------------------------

    def test_sql_metacharacters_in_q(self):
        for ep, (path, key, field, _, _) in self.ENDPOINTS.items():
            for value in ("'; DROP TABLE harbor_user; --", "' OR '1'='1", "\" OR 1=1 --",
                          "x') OR ('1'='1", "\\", "%' OR 1=1 --", "robot$'--"):
                for op in ("=~", "="):
                    what = "%s q=%s%s%s" % (ep, key, op, value)
                    r = self.list_call(path, "page_size=100&q=" + L.q(key + op + value))
                    self.assertSaneList(r, what)
                    if r.status == 200:
                        self.assertEqual(r.json(), [], what + " matched something")
            # The same through the plain parameters Harbor offers.
            if ep in ("users", "projects", "usergroups"):
                param = {"users": "username", "projects": "name", "usergroups": "group_name"}[ep]
                r = self.list_call(path, "%s=%s" % (param, L.q("'; DROP TABLE harbor_user; --")))
                self.assertSaneList(r, ep + " " + param)
                if r.status == 200:
                    self.assertEqual(r.json(), [], ep)
        self.assertEqual(self.all_users(), self.users_before, "users changed")

    def test_fuzzy_match_is_literal(self):
        for ep, (path, key, field, under, twin) in self.ENDPOINTS.items():
            # '_' matches itself only: iam_under, not iamxunder.
            probe = under[:under.index("_") + 2]  # e.g. "iam_u", "robot$iam_r"
            probe = probe.replace("robot$", "")
            r = self.list_call(path, "page_size=100&q=" + L.q("%s=~%s" % (key, probe)))
            self.assertEqual(r.status, 200, "%s: %s" % (ep, L.short(r)))
            found = self.names(r, field)
            self.assertIn(under, found, "%s q=%s=~%s" % (ep, key, probe))
            self.assertNotIn(twin, found, "%s: '_' acted as a wildcard" % ep)
            # '%' matches itself only: nothing here has a '%' in its name.
            pct = probe.replace("_", "%")
            r = self.list_call(path, "page_size=100&q=" + L.q("%s=~%s" % (key, pct)))
            self.assertEqual(r.status, 200, "%s: %s" % (ep, L.short(r)))
            self.assertEqual(r.json(), [], "%s: '%%' acted as a wildcard" % ep)
            for only in ("%", "_", "%%", "\\%", "\\_"):
                r = self.list_call(path, "page_size=100&q=" + L.q("%s=~%s" % (key, only)))
                self.assertSaneList(r, "%s q=%s=~%s" % (ep, key, only))
                if r.status == 200:
                    got = self.names(r, field)
                    bad = [n for n in got if only.lstrip("\\")[0] not in n]
                    self.assertEqual(bad, [], "%s q=%s=~%s matched %s" % (ep, key, only, bad))

    def test_unknown_keys_and_sort_fields(self):
        for ep, (path, key, _, _, _) in self.ENDPOINTS.items():
            for query in ("q=nosuchkey%3D1", "q=" + L.q("password=x"),
                          "q=" + L.q("password_hash=~a"), "q=" + L.q("1=1"),
                          "q=" + L.q("%s=1),(1" % key), "q=" + L.q("%s=" % key),
                          "q=" + L.q("=x"), "q=" + L.q(key + "=[a~"),
                          "q=" + L.q(key + "={a b"), "q=" + L.q(key + "=(a)"),
                          "q=" + L.q(key + "=[~]"), "q=" + L.q(key + "=\"unterminated"),
                          "q=" + L.q(key + "=~" + "x" * 5000),
                          "sort=-nosuchfield", "sort=name;drop", "sort=" + L.q("name;drop"),
                          "sort=" + L.q("name desc"), "sort=" + L.q("(select 1)"),
                          "sort=-", "sort=" + L.q(",,"), "sort=" + L.q("-" + key + ",-id")):
                r = self.list_call(path, query)
                self.assertSaneList(r, "%s %s" % (ep, query[:60]))
            r = self.list_call(path, "q=nosuchkey%3D1")
            self.assertEqual(r.status, 400, "%s: an unknown key is an error: %s" % (ep, L.short(r)))
            r = self.list_call(path, "sort=-nosuchfield")
            self.assertEqual(r.status, 400, "%s: an unknown sort field: %s" % (ep, L.short(r)))
        self.assertEqual(self.all_users(), self.users_before)

    def test_paging_values(self):
        for ep, (path, _, _, _, _) in self.ENDPOINTS.items():
            for query, want in (("page=0", 400), ("page=-1", 400), ("page=abc", 400),
                                ("page_size=0", 400), ("page_size=101", 400),
                                ("page_size=-5", 400), ("page_size=1e3", 400),
                                ("page=99999999999999", (200, 400)),
                                ("page=9223372036854775807", (200, 400)),
                                ("page=9223372036854775808", 400),
                                ("page=1&page_size=100", 200), ("page_size=1", 200)):
                r = self.list_call(path, query)
                allowed = want if isinstance(want, tuple) else (want,)
                self.assertIn(r.status, allowed, "%s %s: %s" % (ep, query, L.short(r)))
                self.assertSaneList(r, "%s %s" % (ep, query))
                if r.status == 200 and ("9999" in query or "922337" in query):
                    self.assertEqual(r.json(), [], "%s %s" % (ep, query))
            r = self.list_call(path, "page_size=1")
            self.assertLessEqual(len(r.json()), 1, ep)

    def test_zz_database_intact(self):
        """Runs last (alphabetically): after another round of injection
        attempts everything is still there."""
        self.test_sql_metacharacters_in_q()
        self.assertEqual(self.all_users(), self.users_before)
        for name in ("admin", "iam_under", "iamxunder"):
            self.assertIn(name, self.users_before)
        r = self.b.admin("GET", API + "/projects/" + PROJECT, expect=200)
        self.assertEqual(r.json()["name"], PROJECT)
        r = self.b.admin("GET", "%s/projects/%s/members?page_size=100" % (API, PROJECT), expect=200)
        self.assertEqual(len(r.json()), 3)  # admin (creator) + 2
        # The administrator still signs in and /v2 still works.
        self.reg.push_image(PROJECT + "/after", "v1")

    # -- names ----------------------------------------------------------------------------

    BAD_NAMES = ["../x", "..", "x/../y", "a/b", "A", "Abc", "a__b", "a..b", "a--b", "a b",
                 " a", "a ", "-a", "a-", "_a", ".a", "a.", "x" * 256, "", "a%2Fb", "a\\b",
                 "a+b", "a$b", "a:b", "a;b", "a'b", "é", "a\tb", "a\nb", "a\x00b"]

    def test_project_names(self):
        before = self.b.admin("GET", API + "/projects?page_size=100", expect=200).json()
        for name in self.BAD_NAMES:
            r = self.b.admin("POST", API + "/projects", {"project_name": name})
            self.assertEqual(r.status, 400, "project %r: %s" % (name, L.short(r)))
            self.assertEqual(L.api_code(r), "BAD_REQUEST")
        after = self.b.admin("GET", API + "/projects?page_size=100", expect=200).json()
        self.assertEqual(len(after), len(before), "a refused name created a project")
        # The limits themselves are accepted.
        for name in ("x" * 255, "a", "0", "a.b-c_d", "a1.2-3_4"):
            r = self.b.admin("POST", API + "/projects", {"project_name": name})
            self.assertEqual(r.status, 201, "project %r: %s" % (name, L.short(r)))
        r = self.b.admin("POST", API + "/projects", {"project_name": 5})
        self.assertEqual(r.status, 400, L.short(r))

    def test_robot_names(self):
        def robot(name, level):
            perms = ([{"kind": "project", "namespace": "*",
                       "access": [{"resource": "repository", "action": "pull"}]}]
                     if level == "system" else
                     [{"kind": "project", "namespace": PROJECT,
                       "access": [{"resource": "repository", "action": "pull"}]}])
            return self.b.admin("POST", API + "/robots", {"name": name, "level": level,
                                                          "duration": -1, "permissions": perms})
        for level in ("system", "project"):
            before = len(self.b.admin("GET", API + "/robots?page_size=100", expect=200).json())
            for name in self.BAD_NAMES + ["robot$x", "%s+x" % PROJECT]:
                r = robot(name, level)
                self.assertEqual(r.status, 400, "%s robot %r: %s" % (level, name, L.short(r)))
            after = len(self.b.admin("GET", API + "/robots?page_size=100", expect=200).json())
            self.assertEqual(after, before, "a refused name created a robot")
            r = robot("ok-" + level, level)
            self.assertEqual(r.status, 201, L.short(r))
        # Robot durations: -1 or whole positive days.
        for duration in (0, -2, 1.5, "1"):
            r = self.b.admin("POST", API + "/robots",
                             {"name": L.uid("d"), "level": "system", "duration": duration,
                              "permissions": [{"kind": "project", "namespace": "*",
                                               "access": [{"resource": "repository",
                                                           "action": "pull"}]}]})
            self.assertEqual(r.status, 400, "duration %r: %s" % (duration, L.short(r)))
        # Permission members of the wrong type (effect threw a type_error: 500)
        # and bodies nested too deep to re-serialise safely: 400.
        for access in ({"resource": "repository", "action": "pull", "effect": 1},
                       {"resource": "repository", "action": "pull", "effect": None},
                       {"resource": "repository", "action": "pull", "effect": ["allow"]}):
            r = self.b.admin("POST", API + "/robots",
                             {"name": L.uid("e"), "level": "system", "duration": -1,
                              "permissions": [{"kind": "project", "namespace": "*",
                                               "access": [access]}]})
            self.assertEqual(r.status, 400, "access %r: %s" % (access, L.short(r)))
        deep = '{"name":"deep","level":"system","permissions":' + "[" * 20000 + "]" * 20000 + "}"
        r = self.b.admin("POST", API + "/robots", deep.encode(),
                         headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, L.short(r))

    def test_usernames(self):
        before = self.all_users()
        bad = ["robot$evil", "robot$" + PROJECT + "+pull", "ROBOT$evil", "a b", "a,b", "a~b",
               "a#b", "a%b", "a$b", "", "x" * 256, "\tuser", "user\n"]
        for name in bad:
            r = self.b.admin("POST", API + "/users",
                             {"username": name, "email": "x@example.com", "realname": "x",
                              "password": L.PASSWORD})
            self.assertEqual(r.status, 400, "username %r: %s" % (name, L.short(r)))
        self.assertEqual(self.all_users(), before)
        # A password that breaks Harbor's rule.
        for pw in ("short1A", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere", "x" * 129 + "A1"):
            r = self.b.admin("POST", API + "/users",
                             {"username": L.uid("iam-pw"), "email": "x@example.com",
                              "realname": "x", "password": pw})
            self.assertEqual(r.status, 400, "password %r: %s" % (pw, L.short(r)))
        self.assertEqual(self.all_users(), before)


if __name__ == "__main__":
    bh.main()
