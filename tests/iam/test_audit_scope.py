#!/usr/bin/env python3
"""Which audit-log entries a user who is not an administrator sees.

GET /api/v2.0/audit-logs shows such a user the entries of the projects whose
logs they may list. Every user sees every public project, so once there are
more than a page of public projects (berthd reads them 1,000 at a time), the
user's own private project sits beyond the first page: its entries must still
be listed, and a user who is not a member must still not see them. Only
project administrators may list a project's logs (Harbor's matrix), so the
member is one, of the private project and of the first public one.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402

bh = L.bh
API = L.API
PUBLIC_PROJECTS = 1005  # more than one page of the projects a user sees


class AuditScope(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        try:
            cls.b = L.Berth(cls.reg)
            for name in ("aud-member", "aud-outsider"):
                cls.b.admin("POST", API + "/users",
                            {"username": name, "email": name + "@example.com",
                             "realname": name, "password": L.PASSWORD}, expect=201)
            for i in range(PUBLIC_PROJECTS):
                cls.b.admin("POST", API + "/projects",
                            {"project_name": "aud-pub-%04d" % i, "metadata": {"public": "true"}},
                            expect=201)
            # Created last, so its id is past the first page of visible projects.
            cls.private = "aud-private"
            cls.b.admin("POST", API + "/projects", {"project_name": cls.private}, expect=201)
            for project in (cls.private, "aud-pub-0000"):
                cls.b.admin("POST", "%s/projects/%s/members" % (API, project),
                            {"role_id": 1, "member_user": {"username": "aud-member"}},
                            expect=201)
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def resources(self, user, project):
        r = self.b.call("GET", API + "/audit-logs?page_size=100&q=" + L.q("resource=" + project),
                        auth=L.basic(user, L.PASSWORD))
        self.assertEqual(r.status, 200, L.short(r))
        return [e["resource"] for e in r.json()]

    def test_member_sees_its_projects_on_both_pages(self):
        for project in ("aud-pub-0000", self.private):
            self.assertEqual(self.resources("aud-member", project), [project])

    def test_member_does_not_see_other_public_projects(self):
        self.assertEqual(self.resources("aud-member", "aud-pub-0001"), [])

    def test_outsider_sees_none_of_them(self):
        for project in ("aud-pub-0000", "aud-pub-0001", self.private):
            self.assertEqual(self.resources("aud-outsider", project), [])


if __name__ == "__main__":
    bh.main()
