#!/usr/bin/env python3
"""Labels: Harbor's /api/v2.0/labels (global labels for system administrators,
project labels for project admins and maintainers): the Label shape, create,
get, update and delete, the list filters (scope, project_id, name, q, sort)
and paging headers, name conflicts per scope and project, bad input, every
role's grants and refusals (anonymous, a signed-in non-member, limited
guest, guest, developer, maintainer, project admin, system administrator; a
public project's labels readable by everyone), and a project's labels going
with the project.

Runs on SQLite, and on PostgreSQL as protocol_pg.labels (ctest sets
BERTH_PROTOCOL_POSTGRES_DSN_FILE). Python 3 standard library only.
"""

import berth_harness as bh
import swagger_shape as ss
from harbor_api import ROLES, Api

LABEL_KEYS = {"id", "name", "description", "color", "scope", "project_id", "creation_time",
              "update_time"}
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"


class LabelCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = Api(cls.reg)

    def assertRefused(self, r, status):
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                409: "CONFLICT"}[status]
        self.assertEqual(r.status, status, "%r" % r)
        self.assertEqual(r.error_codes(), [code], "%r" % r)

    def label(self, label_id, auth="admin"):
        return self.api.ok("GET", "/labels/%d" % label_id, auth=auth)


class LabelCrudTest(LabelCase):
    """Shapes, create/get/update/delete, conflicts, bad input."""

    def test_shape_of_global_and_project_labels(self):
        name = bh.unique("rel")
        gid = self.api.create_label({"name": name, "description": "released", "color": "#48960C",
                                     "scope": "g"})
        g = self.label(gid)
        self.assertEqual(set(g), LABEL_KEYS)
        if ss.skip_reason() is None:
            ss.assert_shape(g, "Label", required=True)
        self.assertEqual(g["id"], gid)
        self.assertEqual(g["name"], name)
        self.assertEqual(g["description"], "released")
        self.assertEqual(g["color"], "#48960C")
        self.assertEqual(g["scope"], "g")
        self.assertEqual(g["project_id"], 0)
        for key in ("creation_time", "update_time"):
            self.assertRegex(g[key], RFC3339)

        pid = self.api.create_project(bh.unique("shape"))
        lid = self.api.create_label({"name": name, "scope": "p", "project_id": pid})
        p = self.label(lid)
        self.assertEqual(set(p), LABEL_KEYS)
        self.assertEqual((p["scope"], p["project_id"], p["description"], p["color"]),
                         ("p", pid, "", ""))

        # A global label ignores a project_id (Harbor sets it to 0).
        other = self.api.create_label({"name": bh.unique("g"), "scope": "g", "project_id": pid})
        self.assertEqual(self.label(other)["project_id"], 0)
        self.assertEqual(self.label(other)["scope"], "g")

    def test_update_and_delete(self):
        pid = self.api.create_project(bh.unique("upd"))
        lid = self.api.create_label({"name": bh.unique("old"), "description": "d", "color": "#111",
                                     "scope": "p", "project_id": pid})
        before = self.label(lid)
        new = bh.unique("new")
        # scope and project_id of the body are ignored: a label never moves.
        self.api.ok("PUT", "/labels/%d" % lid, {"name": new, "description": "dd", "color": "#222",
                                                 "scope": "g", "project_id": 0})
        after = self.label(lid)
        self.assertEqual((after["name"], after["description"], after["color"]), (new, "dd", "#222"))
        self.assertEqual((after["scope"], after["project_id"]), ("p", pid))
        self.assertEqual(after["creation_time"], before["creation_time"])
        self.assertGreaterEqual(after["update_time"], before["update_time"])
        # Harbor's PUT replaces: an absent description or color becomes empty.
        self.api.ok("PUT", "/labels/%d" % lid, {"name": new})
        self.assertEqual((self.label(lid)["description"], self.label(lid)["color"]), ("", ""))

        self.api.ok("DELETE", "/labels/%d" % lid)
        for method, body in (("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)):
            self.assertRefused(self.api.call(method, "/labels/%d" % lid, body), 404)

    def test_names_are_unique_per_scope_and_project(self):
        name = bh.unique("dup")
        a = self.api.create_project(bh.unique("a"))
        b = self.api.create_project(bh.unique("b"))
        self.api.create_label({"name": name, "scope": "g"})
        self.assertRefused(self.api.call("POST", "/labels", {"name": name, "scope": "g"}), 409)
        self.api.create_label({"name": name, "scope": "p", "project_id": a})
        self.assertRefused(self.api.call("POST", "/labels", {"name": name, "scope": "p",
                                                             "project_id": a}), 409)
        self.api.create_label({"name": name, "scope": "p", "project_id": b})
        self.api.create_label({"name": name.upper(), "scope": "g"})  # case-sensitive

        other = self.api.create_label({"name": bh.unique("other"), "scope": "p", "project_id": a})
        self.assertRefused(self.api.call("PUT", "/labels/%d" % other, {"name": name}), 409)
        self.assertNotEqual(self.label(other)["name"], name)
        # Renaming to its own name is no conflict.
        own = self.label(other)["name"]
        self.api.ok("PUT", "/labels/%d" % other, {"name": own, "description": "same"})

    def test_bad_input(self):
        pid = self.api.create_project(bh.unique("bad"))
        bodies = [
            ({"scope": "g"}, "name"),
            ({"name": "", "scope": "g"}, "name"),
            ({"name": "x" * 129, "scope": "g"}, "128"),
            ({"name": 5, "scope": "g"}, "name"),
            ({"name": "n", "scope": "g", "color": 1}, "color"),
            ({"name": "n", "scope": "g", "description": ["d"]}, "description"),
            ({"name": "n"}, "scope"),
            ({"name": "n", "scope": "x"}, "scope"),
            ({"name": "n", "scope": "p"}, "project_id"),
            ({"name": "n", "scope": "p", "project_id": 0}, "project_id"),
            ({"name": "n", "scope": "p", "project_id": -3}, "project_id"),
            ({"name": "n", "scope": "p", "project_id": "1"}, "project_id"),
            ({"name": "n", "scope": "p", "project_id": 1.5}, "project_id"),
            ({"name": "", "scope": "p", "project_id": pid}, "name"),
        ]
        for body, word in bodies:
            r = self.api.call("POST", "/labels", body)
            self.assertRefused(r, 400)
            self.assertIn(word, r.json()["errors"][0]["message"], "%r: %r" % (body, r))
        for raw in (b"{not json", b"[1]", b""):
            self.assertRefused(self.api.call("POST", "/labels", raw=raw), 400)
        self.api.create_label({"name": "y" * 128, "scope": "p", "project_id": pid})
        self.assertRefused(self.api.call("POST", "/labels", {"name": "n", "scope": "p",
                                                             "project_id": 987654321}), 404)

        lid = self.api.create_label({"name": bh.unique("ok"), "scope": "p", "project_id": pid})
        for body in ({}, {"name": ""}, {"name": "z" * 129}, {"name": 1}):
            self.assertRefused(self.api.call("PUT", "/labels/%d" % lid, body), 400)
        self.assertRefused(self.api.call("PUT", "/labels/%d" % lid, raw=b"nope"), 400)
        for bad in ("abc", "0", "-1", "1.5"):
            for method in ("GET", "PUT", "DELETE"):
                body = {"name": "x"} if method == "PUT" else None
                self.assertRefused(self.api.call(method, "/labels/" + bad, body), 400)
        for method, body in (("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)):
            self.assertRefused(self.api.call(method, "/labels/987654321", body), 404)

        for query in ("", "?scope=x", "?scope=p", "?scope=p&project_id=0",
                      "?scope=p&project_id=abc", "?scope=g&q=nope%3D1", "?scope=g&sort=nope",
                      "?scope=g&page_size=0", "?scope=g&page_size=101", "?scope=g&page=0"):
            self.assertRefused(self.api.call("GET", "/labels" + query), 400)
        self.assertRefused(self.api.call("GET", "/labels?scope=p&project_id=987654321"), 404)


class LabelListTest(LabelCase):
    """Filters, sorting and Harbor's paging headers."""

    def test_filters_sort_and_pages(self):
        tag = bh.unique("lst").replace("-", "")
        names = ["%s-%d" % (tag, i) for i in range(5)]
        ids = [self.api.create_label({"name": n, "scope": "g"}) for n in names]
        pid = self.api.create_project(bh.unique("lst"))
        pids = [self.api.create_label({"name": "%s-p%d" % (tag, i), "scope": "p",
                                       "project_id": pid}) for i in range(3)]

        r = self.api.call("GET", "/labels?scope=g&name=%s" % tag.upper())  # case-insensitive
        self.assertEqual(r.status, 200)
        self.assertEqual([l["id"] for l in r.json()], ids)  # by id; project labels apart
        self.assertEqual(r.header("X-Total-Count"), "5")
        self.assertTrue(all(set(l) == LABEL_KEYS for l in r.json()))

        r = self.api.call("GET", "/labels?scope=p&project_id=%d" % pid)
        self.assertEqual([l["id"] for l in r.json()], pids)
        self.assertEqual(r.header("X-Total-Count"), "3")
        r = self.api.call("GET", "/labels?scope=p&project_id=%d&name=p1" % pid)
        self.assertEqual([l["name"] for l in r.json()], ["%s-p1" % tag])

        r = self.api.call("GET", "/labels?scope=g&name=%s&sort=-name&page=1&page_size=2" % tag)
        self.assertEqual([l["name"] for l in r.json()], names[::-1][:2])
        self.assertEqual(r.header("X-Total-Count"), "5")
        link = r.header("Link")
        self.assertIn('rel="next"', link)
        self.assertNotIn('rel="prev"', link)
        self.assertIn("page=2", link)
        self.assertIn("name=%s" % tag, link)
        r = self.api.call("GET", "/labels?scope=g&name=%s&sort=-name&page=3&page_size=2" % tag)
        self.assertEqual([l["name"] for l in r.json()], [names[0]])
        self.assertIn('rel="prev"', r.header("Link"))
        self.assertNotIn('rel="next"', r.header("Link"))
        r = self.api.call("GET", "/labels?scope=g&name=%s&page=9&page_size=2" % tag)
        self.assertEqual((r.status, r.json(), r.header("X-Total-Count")), (200, [], "5"))

        # q: exact and fuzzy names, id ranges; always within the scope asked.
        r = self.api.call("GET", "/labels?scope=g&q=name%%3D%s" % names[2])
        self.assertEqual([l["id"] for l in r.json()], [ids[2]])
        r = self.api.call("GET", "/labels?scope=g&q=name%%3D~%s,id%%3D%%5B%d~%d%%5D"
                          % (tag, ids[1], ids[3]))
        self.assertEqual([l["id"] for l in r.json()], ids[1:4])
        r = self.api.call("GET", "/labels?scope=g&q=project_id%%3D%d" % pid)
        self.assertEqual(r.json(), [])
        r = self.api.call("GET", "/labels?scope=p&project_id=%d&q=scope%%3Dg" % pid)
        self.assertEqual(r.json(), [])


class LabelRbacTest(LabelCase):
    """Every role's grants and refusals, on global and project labels."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        api = cls.api
        cls.users = {}
        cls.private_name = bh.unique("priv")
        cls.private = api.create_project(cls.private_name)
        cls.public = api.create_project(bh.unique("pub"), public=True)
        for role in ROLES:
            user = api.create_user(bh.unique(role.lower()))
            api.add_member(cls.private, user, role)
            cls.users[role] = user
        cls.users["outsider"] = api.create_user(bh.unique("outsider"))
        cls.global_id = api.create_label({"name": bh.unique("glob"), "scope": "g"})
        cls.private_id = api.create_label({"name": bh.unique("privlbl"), "scope": "p",
                                           "project_id": cls.private})
        cls.public_id = api.create_label({"name": bh.unique("publbl"), "scope": "p",
                                          "project_id": cls.public})

    def who(self, name):
        return {"anonymous": None, "admin": "admin"}.get(name, self.users.get(name))

    def test_global_labels_are_for_system_administrators(self):
        everyone = ["anonymous", "outsider"] + list(ROLES)
        for name in everyone:
            auth = self.who(name)
            denied = 401 if auth is None else 403
            # Harbor lists global labels to anyone: every project chooses among them.
            r = self.api.call("GET", "/labels?scope=g", auth=auth)
            self.assertEqual(r.status, 200, "%s: %r" % (name, r))
            self.assertIn(self.global_id, [l["id"] for l in r.json()])
            self.assertRefused(self.api.call("GET", "/labels/%d" % self.global_id, auth=auth),
                               denied)
            self.assertRefused(self.api.call("POST", "/labels", {"name": bh.unique("no"),
                                                                 "scope": "g"}, auth=auth), denied)
            self.assertRefused(self.api.call("PUT", "/labels/%d" % self.global_id,
                                             {"name": bh.unique("no")}, auth=auth), denied)
            self.assertRefused(self.api.call("DELETE", "/labels/%d" % self.global_id, auth=auth),
                               denied)
        self.assertEqual(self.label(self.global_id)["id"], self.global_id)  # still there
        gid = self.api.create_label({"name": bh.unique("adm"), "scope": "g"})
        self.api.ok("PUT", "/labels/%d" % gid, {"name": bh.unique("adm2")})
        self.api.ok("DELETE", "/labels/%d" % gid)

    def test_private_project_labels_follow_the_roles(self):
        readers = {"guest", "developer", "maintainer", "projectAdmin", "admin"}
        managers = {"maintainer", "projectAdmin", "admin"}
        base = "/labels/%d" % self.private_id
        listing = "/labels?scope=p&project_id=%d" % self.private
        for name in ["anonymous", "outsider", "limitedGuest", "guest", "developer", "maintainer",
                     "projectAdmin", "admin"]:
            auth = self.who(name)
            denied = 401 if auth is None else 403
            r = self.api.call("GET", listing, auth=auth)
            if name in readers:
                self.assertEqual(r.status, 200, "%s: %r" % (name, r))
                self.assertEqual([l["id"] for l in r.json()][:1], [self.private_id])
                self.assertEqual(self.api.ok("GET", base, auth=auth)["id"], self.private_id)
            else:
                self.assertRefused(r, denied)
                self.assertRefused(self.api.call("GET", base, auth=auth), denied)

            new = {"name": bh.unique("m"), "scope": "p", "project_id": self.private}
            if name in managers:
                lid = self.api.create_label(new, auth=auth)
                self.api.ok("PUT", "/labels/%d" % lid, {"name": bh.unique("m2")}, auth=auth)
                self.api.ok("DELETE", "/labels/%d" % lid, auth=auth)
                self.assertRefused(self.api.call("GET", "/labels/%d" % lid), 404)
            else:
                self.assertRefused(self.api.call("POST", "/labels", new, auth=auth), denied)
                self.assertRefused(self.api.call("PUT", base, {"name": bh.unique("no")},
                                                 auth=auth), denied)
                self.assertRefused(self.api.call("DELETE", base, auth=auth), denied)
            # Project roles never reach global labels.
            if name != "admin":
                self.assertRefused(self.api.call("POST", "/labels", {"name": bh.unique("g"),
                                                                     "scope": "g"}, auth=auth),
                                   denied)
        self.assertEqual(self.label(self.private_id)["id"], self.private_id)

    def test_refusals_come_before_validation(self):
        # A refused caller learns nothing from a bad body.
        base = "/labels/%d" % self.private_id
        self.assertRefused(self.api.call("PUT", base, raw=b"{bad", auth=self.who("guest")), 403)
        self.assertRefused(self.api.call("PUT", base, raw=b"{bad", auth=None), 401)
        self.assertRefused(self.api.call("POST", "/labels", raw=b"{bad", auth=None), 401)
        self.assertRefused(self.api.call("POST", "/labels", {"name": "", "scope": "p",
                                                             "project_id": self.private},
                                         auth=self.who("developer")), 403)

    def robot(self, level, kind, namespace, access):
        r = self.api.call("POST", "/robots", {
            "name": bh.unique("lbl"), "level": level, "duration": -1, "permissions": [{
                "kind": kind, "namespace": namespace,
                "access": [{"resource": res, "action": act} for res, act in access]}]})
        self.assertEqual(r.status, 201, "%r" % r)
        return (r.json()["name"], r.json()["secret"])

    def test_robots_carry_exactly_their_label_permissions(self):
        system = self.robot("system", "system", "/", [("label", "create"), ("label", "read")])
        gid = self.api.create_label({"name": bh.unique("bot"), "scope": "g"}, auth=system)
        self.assertEqual(self.api.ok("GET", "/labels/%d" % gid, auth=system)["id"], gid)
        self.assertRefused(self.api.call("PUT", "/labels/%d" % gid, {"name": "x"}, auth=system),
                           403)
        self.assertRefused(self.api.call("DELETE", "/labels/%d" % gid, auth=system), 403)
        # System permissions are not project permissions.
        self.assertRefused(self.api.call("GET", "/labels/%d" % self.private_id, auth=system), 403)

        project = self.robot("project", "project", self.private_name,
                             [("label", "list"), ("label", "read")])
        r = self.api.call("GET", "/labels?scope=p&project_id=%d" % self.private, auth=project)
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertEqual(self.api.ok("GET", "/labels/%d" % self.private_id, auth=project)["id"],
                         self.private_id)
        self.assertRefused(self.api.call("POST", "/labels", {"name": bh.unique("no"), "scope": "p",
                                                             "project_id": self.private},
                                         auth=project), 403)
        self.assertRefused(self.api.call("GET", "/labels/%d" % gid, auth=project), 403)
        self.assertRefused(self.api.call("DELETE", "/labels/%d" % self.private_id, auth=project),
                           403)

    def test_public_project_labels_are_readable_by_everyone(self):
        listing = "/labels?scope=p&project_id=%d" % self.public
        base = "/labels/%d" % self.public_id
        for name in ("anonymous", "outsider", "developer"):
            auth = self.who(name)
            denied = 401 if auth is None else 403
            r = self.api.call("GET", listing, auth=auth)
            self.assertEqual(r.status, 200, "%s: %r" % (name, r))
            self.assertEqual([l["id"] for l in r.json()], [self.public_id])
            self.assertEqual(self.api.ok("GET", base, auth=auth)["scope"], "p")
            self.assertRefused(self.api.call("POST", "/labels", {"name": bh.unique("no"),
                                                                 "scope": "p",
                                                                 "project_id": self.public},
                                             auth=auth), denied)
            self.assertRefused(self.api.call("PUT", base, {"name": "no"}, auth=auth), denied)
            self.assertRefused(self.api.call("DELETE", base, auth=auth), denied)


class LabelProjectLifecycleTest(LabelCase):
    def test_labels_go_with_their_project(self):
        name = bh.unique("doomed")
        pid = self.api.create_project(name)
        lids = [self.api.create_label({"name": bh.unique("l"), "scope": "p", "project_id": pid})
                for _ in range(2)]
        gid = self.api.create_label({"name": bh.unique("stays"), "scope": "g"})
        self.api.ok("DELETE", "/projects/%d" % pid)
        for lid in lids:
            self.assertRefused(self.api.call("GET", "/labels/%d" % lid), 404)
            self.assertRefused(self.api.call("DELETE", "/labels/%d" % lid), 404)
        self.assertRefused(self.api.call("GET", "/labels?scope=p&project_id=%d" % pid), 404)
        self.assertEqual(self.label(gid)["scope"], "g")

        # A project of the same name starts without labels.
        again = self.api.create_project(name)
        r = self.api.call("GET", "/labels?scope=p&project_id=%d" % again)
        self.assertEqual((r.status, r.json(), r.header("X-Total-Count")), (200, [], "0"))


if __name__ == "__main__":
    bh.main()
