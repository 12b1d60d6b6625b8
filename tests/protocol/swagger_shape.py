"""Checks JSON values against Harbor's swagger (OpenAPI 2.0) definitions.

    import swagger_shape as ss
    ss.assert_shape(obj, "Artifact")                  # a definition by name
    ss.assert_shape(objs, {"type": "array", "items": {"$ref": "#/definitions/Artifact"}})
    ss.assert_shape(obj, ss.response_schema("/icons/{digest}", "get", 200))
    ss.shape_problems(obj, "Artifact")                # the list, without raising

What is checked, recursively (nested $refs, arrays, additionalProperties maps;
allOf parts merged):
  * every member the object has is declared by the schema (or allowed by its
    additionalProperties), reported as "<path>: not declared by Harbor's X";
  * each value has the declared JSON type: string, integer (not bool), number,
    boolean, object, array; format date-time must look like RFC 3339;
  * null only where the schema says x-nullable: true (allow_null=True relaxes);
  * enum values, when enums=True (the default);
  * with required=True, the schema's `required` members are present (Harbor's
    spec lists few; most optional members are omitted when empty).
A schema of bare `type: object` (no properties, no additionalProperties) is
free-form, as go-swagger models it (interface{}): any value passes, so
Harbor's ExtraAttrs {"architecture": "amd64", "config": {...}} is fine.

The spec is Harbor's harbor-api-v2.0-swagger.yaml, which lives outside the
repository: $BERTH_HARBOR_SWAGGER, else <repo>/../shared/reference/specs/.
It needs PyYAML (Debian's python3-yaml). When either is missing,
SwaggerUnavailable is raised; tests call skip_reason() first and skip.
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_PATH = os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "specs",
                                             "harbor-api-v2.0-swagger.yaml"))
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

_SPECS = {}


class SwaggerUnavailable(Exception):
    pass


def spec_path():
    return os.environ.get("BERTH_HARBOR_SWAGGER") or DEFAULT_PATH


def load(path=None):
    """The parsed spec (cached per path)."""
    path = path or spec_path()
    if path not in _SPECS:
        try:
            import yaml
        except ImportError:
            raise SwaggerUnavailable("PyYAML is not installed (Debian: python3-yaml)")
        if not os.path.exists(path):
            raise SwaggerUnavailable("Harbor's swagger not found at %s (set BERTH_HARBOR_SWAGGER)"
                                     % path)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path, encoding="utf-8") as f:
            _SPECS[path] = yaml.load(f, Loader=loader)
    return _SPECS[path]


def skip_reason(path=None):
    """None when the spec can be used, else why not (for skipTest)."""
    try:
        load(path)
        return None
    except SwaggerUnavailable as e:
        return str(e)


def resolve(ref, spec=None):
    """A local JSON pointer ("#/definitions/Artifact") into the spec."""
    spec = spec or load()
    if not ref.startswith("#/"):
        raise ValueError("only local $refs are supported: %r" % ref)
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise KeyError("unresolvable $ref %r" % ref)
        node = node[part]
    return node


def definition(name, spec=None):
    spec = spec or load()
    defs = spec.get("definitions", {})
    if name not in defs:
        raise KeyError("Harbor's swagger has no definition %r" % name)
    return defs[name]


def response_schema(path, method, status, spec=None):
    """The schema of a path's response ("/icons/{digest}", "get", 200), or
    None when the response has no body."""
    spec = spec or load()
    op = spec["paths"][path][method.lower()]
    resp = op["responses"][str(status)] if str(status) in op["responses"] \
        else op["responses"][int(status)]
    while "$ref" in resp:
        resp = resolve(resp["$ref"], spec)
    return resp.get("schema")


def _deref(schema, spec):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema:
        schema = resolve(schema["$ref"], spec)
        seen += 1
        if seen > 50:
            raise ValueError("$ref loop")
    return schema


def _name_of(schema):
    if isinstance(schema, dict) and "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    return None


def _flatten(schema, spec):
    """A schema with its allOf parts merged (properties, required,
    additionalProperties, type)."""
    schema = _deref(schema, spec)
    if not isinstance(schema, dict) or "allOf" not in schema:
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    props = dict(merged.get("properties") or {})
    required = list(merged.get("required") or [])
    for part in schema["allOf"]:
        part = _flatten(part, spec)
        props.update(part.get("properties") or {})
        required += part.get("required") or []
        if "additionalProperties" in part and "additionalProperties" not in merged:
            merged["additionalProperties"] = part["additionalProperties"]
        if "type" in part and "type" not in merged:
            merged["type"] = part["type"]
    merged["properties"] = props
    merged["required"] = required
    return merged


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_ok(want, value):
    got = _json_type(value)
    if want == "number":
        return got in ("integer", "number")
    return got == want


def _key_path(where, key):
    return "%s.%s" % (where, key) if re.match(r"^[A-Za-z0-9_\-]+$", str(key)) \
        else "%s[%r]" % (where, key)


def shape_problems(obj, schema, required=False, enums=True, allow_null=False, where=None,
                   spec=None):
    """Differences between a JSON value and a schema (a definition name or a
    schema dict), each "<path>: <what>"."""
    spec = spec or load()
    if isinstance(schema, str):
        where = where or schema
        schema = {"$ref": "#/definitions/" + schema}
        definition(schema["$ref"].rsplit("/", 1)[1], spec)  # a clear KeyError if absent
    where = where or _name_of(schema) or "$"
    out = []
    _check(obj, schema, where, out, spec, required, enums, allow_null)
    return out


def _check(value, schema, where, out, spec, required, enums, allow_null):
    label = _name_of(schema)
    nullable = isinstance(schema, dict) and schema.get("x-nullable") is True
    schema = _flatten(schema, spec)
    if not isinstance(schema, dict):
        return
    nullable = nullable or schema.get("x-nullable") is True
    if value is None:
        if not (nullable or allow_null):
            out.append("%s: null, but the schema is not x-nullable" % where)
        return
    want = schema.get("type")
    if want is None and ("properties" in schema or "additionalProperties" in schema):
        want = "object"
    if want == "object" and not schema.get("properties") and "additionalProperties" not in schema:
        return  # free-form: go-swagger's interface{}
    if isinstance(want, str) and not _type_ok(want, value):
        out.append("%s: %s %r is not of type %s" % (where, _json_type(value),
                                                     _short(value), want))
        return
    if enums and "enum" in schema and value not in schema["enum"]:
        out.append("%s: %r is not one of %s" % (where, _short(value), schema["enum"]))
    if schema.get("format") == "date-time" and isinstance(value, str) \
            and not RFC3339.match(value):
        out.append("%s: %r is not an RFC 3339 date-time" % (where, value))
    if isinstance(value, list):
        items = schema.get("items")
        if items is not None:
            for i, v in enumerate(value):
                _check(v, items, "%s[%d]" % (where, i), out, spec, required, enums, allow_null)
        return
    if not isinstance(value, dict):
        return
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    owner = label or "schema"
    for key, v in value.items():
        if key in props:
            _check(v, props[key], _key_path(where, key), out, spec, required, enums, allow_null)
        elif extra is None or extra is False:
            out.append("%s: not declared by Harbor's %s" % (_key_path(where, key), owner))
        elif isinstance(extra, dict):
            _check(v, extra, _key_path(where, key), out, spec, required, enums, allow_null)
    if required:
        for key in schema.get("required") or []:
            if key not in value:
                out.append("%s: missing (required by Harbor's %s)" % (_key_path(where, key), owner))


def _short(value):
    r = repr(value)
    return value if len(r) <= 80 else r[:77] + "..."


def assert_shape(obj, schema, required=False, enums=True, allow_null=False, spec=None):
    """Raises AssertionError listing every difference (see shape_problems)."""
    problems = shape_problems(obj, schema, required, enums, allow_null, spec=spec)
    if problems:
        name = schema if isinstance(schema, str) else (_name_of(schema) or "schema")
        raise AssertionError("%d difference(s) from Harbor's %s:\n  %s" %
                             (len(problems), name, "\n  ".join(problems)))
