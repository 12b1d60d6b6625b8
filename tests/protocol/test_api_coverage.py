#!/usr/bin/env python3
"""Every operation of Harbor's v2.0 swagger has a handler in berthd: each
(method, path) is sent anonymously (so nothing changes) with "1" for every
path parameter, and the router must not answer its own "no such API
endpoint" 404 or 405. What the handler then says (401, 404 for project 1's
missing policy, 200 for public reads) is the other suites' business.

Skipped when Harbor's swagger or PyYAML is missing (swagger_shape.py).
"""

import re
import unittest

import berth_harness as bh
import swagger_shape as ss

METHODS = ("get", "put", "post", "delete", "patch", "head")


class ApiCoverageTest(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        reason = ss.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        super().setUpClass()

    def test_every_swagger_operation_is_routed(self):
        spec = ss.load()
        base = spec.get("basePath", "/api/v2.0")
        operations, unrouted = 0, []
        for path, item in spec["paths"].items():
            for method in METHODS:
                if method not in item:
                    continue
                operations += 1
                url = base + re.sub(r"\{[^}]+\}", "1", path)
                r = self.reg.request(method.upper(), url, None, {}, auth=False)
                routed_away = (r.status in (404, 405) and
                               (b"no such API endpoint" in r.body or b"METHOD_NOT_ALLOWED" in r.body))
                if routed_away:
                    unrouted.append("%s %s" % (method.upper(), path))
        self.assertGreater(operations, 200)
        self.assertEqual(unrouted, [], "%d of %d operations have no handler" %
                         (len(unrouted), operations))


if __name__ == "__main__":
    bh.main()
