#!/usr/bin/env python3
"""Self-test of swagger_shape.py: hand-written good and bad objects against
Harbor's real definitions (Artifact, Icon, SystemInfo, ...) and against small
inline schemas for what the real spec does not exercise (allOf, enums,
required, nullable). No berthd is started (ctest passes --berthd anyway).
"""

import os
import unittest

import berth_harness as bh
import swagger_shape as ss

DIGEST = "sha256:" + "ab" * 32

GOOD_ARTIFACT = {
    "id": 7, "type": "IMAGE", "media_type": "application/vnd.oci.image.config.v1+json",
    "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
    "project_id": 1, "repository_id": 3, "repository_name": "library/hello",
    "digest": DIGEST, "size": 1234, "icon": DIGEST,
    "push_time": "2024-05-01T10:00:00.123Z", "pull_time": "0001-01-01T00:00:00Z",
    "extra_attrs": {"architecture": "amd64", "os": "linux", "config": {"Env": ["A=1"]},
                    "created": "2024-05-01T09:00:00Z"},
    "annotations": {"org.opencontainers.image.title": "hello"},
    "references": [{"parent_id": 7, "child_id": 8, "child_digest": DIGEST,
                    "platform": {"architecture": "arm64", "os": "linux"}}],
    "tags": [{"id": 1, "repository_id": 3, "artifact_id": 7, "name": "latest",
              "push_time": "2024-05-01T10:00:00Z", "pull_time": "2024-05-02T10:00:00+02:00",
              "immutable": False}],
    "addition_links": {"build_history": {"href": "/api/v2.0/x", "absolute": False}},
    "labels": [],
}


class SwaggerShapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = ss.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)

    def problems(self, obj, schema, **kw):
        return ss.shape_problems(obj, schema, **kw)

    def test_a_good_artifact_passes(self):
        self.assertEqual(self.problems(GOOD_ARTIFACT, "Artifact"), [])
        ss.assert_shape(GOOD_ARTIFACT, "Artifact")
        ss.assert_shape([GOOD_ARTIFACT, {"id": 1}],
                        {"type": "array", "items": {"$ref": "#/definitions/Artifact"}})

    def test_bad_artifacts_name_each_path(self):
        bad = dict(GOOD_ARTIFACT)
        bad.update(id="7", size=True, icon=None, unknown_member=1, push_time="yesterday",
                   annotations={"a": 1})
        bad["tags"] = [dict(GOOD_ARTIFACT["tags"][0], immutable="no", extra=1), "latest"]
        bad["addition_links"] = {"build_history": {"href": 5}}
        bad["references"] = {"not": "a list"}
        got = self.problems(bad, "Artifact")
        want = [
            "Artifact.id: string '7' is not of type integer",
            "Artifact.size: boolean True is not of type integer",
            "Artifact.icon: null, but the schema is not x-nullable",
            "Artifact.unknown_member: not declared by Harbor's Artifact",
            "Artifact.push_time: 'yesterday' is not an RFC 3339 date-time",
            "Artifact.annotations.a: integer 1 is not of type string",
            "Artifact.tags[0].immutable: string 'no' is not of type boolean",
            "Artifact.tags[0].extra: not declared by Harbor's Tag",
            "Artifact.tags[1]: string 'latest' is not of type object",
            "Artifact.addition_links.build_history.href: integer 5 is not of type string",
            "Artifact.references: object {'not': 'a list'} is not of type array",
        ]
        self.assertEqual(sorted(got), sorted(want))
        with self.assertRaises(AssertionError) as cm:
            ss.assert_shape(bad, "Artifact")
        self.assertIn("11 difference(s) from Harbor's Artifact", str(cm.exception))
        self.assertEqual(self.problems(bad, "Artifact", allow_null=True).count(
            "Artifact.icon: null, but the schema is not x-nullable"), 0)

    def test_icon_and_system_info(self):
        self.assertEqual(self.problems({"content-type": "image/png", "content": "AAAA"}, "Icon"), [])
        self.assertEqual(self.problems({"content_type": "image/png"}, "Icon"),
                         ["Icon.content_type: not declared by Harbor's Icon"])
        self.assertEqual(self.problems({"storage": [{"total": 10, "free": 3}]}, "SystemInfo"), [])
        self.assertEqual(self.problems({"storage": [{"total": 1.5, "free": "3"}]}, "SystemInfo"),
                         ["SystemInfo.storage[0].total: number 1.5 is not of type integer",
                          "SystemInfo.storage[0].free: string '3' is not of type integer"])
        self.assertEqual(ss.response_schema("/icons/{digest}", "get", 200),
                         {"$ref": "#/definitions/Icon"})
        self.assertEqual(ss.response_schema("/systeminfo/volumes", "get", "200"),
                         {"$ref": "#/definitions/SystemInfo"})

    def test_x_nullable_allows_null(self):
        # GeneralInfo.current_time is x-nullable in Harbor's spec.
        self.assertEqual(self.problems({"current_time": None}, "GeneralInfo"), [])
        self.assertEqual(self.problems({"current_time": "2024-01-01T00:00:00Z"}, "GeneralInfo"), [])

    def test_allof_enum_required_and_maps(self):
        spec = {
            "definitions": {
                "Base": {"type": "object", "required": ["id"],
                         "properties": {"id": {"type": "integer"}}},
                "Colour": {"type": "string", "enum": ["red", "blue"]},
                "Thing": {"allOf": [{"$ref": "#/definitions/Base"},
                                    {"properties": {"colour": {"$ref": "#/definitions/Colour"},
                                                    "ratio": {"type": "number"},
                                                    "meta": {"type": "object",
                                                             "additionalProperties": {
                                                                 "type": "array",
                                                                 "items": {"type": "boolean"}}},
                                                    "any": {"type": "object"}}}]},
            },
        }
        good = {"id": 1, "colour": "red", "ratio": 2, "meta": {"k": [True]}, "any": [1, "x"]}
        self.assertEqual(ss.shape_problems(good, "Thing", required=True, spec=spec), [])
        bad = {"colour": "green", "ratio": "x", "meta": {"k": [1]}, "other": 0}
        self.assertEqual(sorted(ss.shape_problems(bad, "Thing", required=True, spec=spec)), sorted([
            "Thing.colour: 'green' is not one of ['red', 'blue']",
            "Thing.ratio: string 'x' is not of type number",
            "Thing.meta.k[0]: integer 1 is not of type boolean",
            "Thing.other: not declared by Harbor's Thing",
            "Thing.id: missing (required by Harbor's Thing)",
        ]))
        self.assertEqual(ss.shape_problems({"colour": "green"}, "Thing", enums=False, spec=spec), [])

    def test_unknown_definition_is_an_error(self):
        with self.assertRaises(KeyError):
            self.problems({}, "NoSuchDefinition")

    def test_missing_spec_is_reported(self):
        self.assertIn("not found", ss.skip_reason("/nonexistent/swagger.yaml"))
        old = os.environ.get("BERTH_HARBOR_SWAGGER")
        os.environ["BERTH_HARBOR_SWAGGER"] = "/nonexistent/swagger.yaml"
        try:
            self.assertEqual(ss.spec_path(), "/nonexistent/swagger.yaml")
        finally:
            if old is None:
                del os.environ["BERTH_HARBOR_SWAGGER"]
            else:
                os.environ["BERTH_HARBOR_SWAGGER"] = old


if __name__ == "__main__":
    bh.main()
