#!/usr/bin/python3
"""A Harbor pluggable scanner adapter for tests: it implements the OpenAPI
spec it is started with (goharbor/pluggable-scanner-spec v1.1 or v1.2, loaded
at runtime with PyYAML, never copied) and VALIDATES every request against it:
the path and method, the Accept / Content-Type headers against the media
types the operation declares, query parameters (sbom_media_type's enum),
and the JSON body against the request schema (required members, types,
enums, formats, $ref/oneOf/nullable; members the schema does not declare
count too, so a misspelt field is caught). A request that breaks the spec is
answered 400 with the spec's ErrorResponse and recorded; the test fails on
any record.

It scans like harbor-scanner-trivy: POST /scan queues a job that runs the
Trivy CLI (here tests/scanners/fake-trivy, which really pulls the image from
the registry with the request's credential) and transforms its JSON the way
harbor-scanner-trivy's transformer does; GET .../report answers 302 with
Refresh-After (or Retry-After, --retry-header) for the first
--not-ready-polls polls of each scan, then the report.

Authentication: with --api-key, requests must carry X-ScannerAdapter-API-Key
(or Authorization: Bearer) with that key; others get 401 (counted apart).

  adapter_server.py --spec FILE --port N [--port-file FILE] --record FILE --trivy PATH --cache-dir DIR
                    [--api-key KEY] [--not-ready-polls N] [--retry-header NAME]
"""
import argparse
import base64
import datetime
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid

import yaml

ARGS = None
SPEC = None
LOCK = threading.Lock()
RECORD = {"requests": 0, "violations": [], "auth_failures": 0, "server_errors": [], "scans": 0}
JOBS = {}
ROUTES = []  # (regex, path template)


# ---------------------------------------------------------------------------
# Spec access and validation


def resolve(ref):
    node = SPEC
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def schema_of(s):
    while isinstance(s, dict) and "$ref" in s:
        s = resolve(s["$ref"])
    return s


def base_type(mime):
    return mime.split(";")[0].strip().lower()


def norm_mime(mime):
    """'type; version=1.1' with blanks and case normalised."""
    parts = [p.strip() for p in mime.split(";")]
    out = [parts[0].lower()]
    for p in parts[1:]:
        k, _, v = p.partition("=")
        out.append("%s=%s" % (k.strip().lower(), v.strip().strip('"')))
    return "; ".join(out)


def validate(schema, value, path, problems, strict=True):
    """Appends to `problems` what makes `value` break `schema`. strict: members
    the schema does not declare count as problems (requests); responses are
    checked with strict=False, since harbor-scanner-trivy adds members (layer,
    status, purl) that Harbor reads."""
    schema = schema_of(schema)
    if value is None:
        if not schema.get("nullable"):
            problems.append("%s: null where the spec does not allow it" % path)
        return
    if "oneOf" in schema:
        ok = []
        for alt in schema["oneOf"]:
            p = []
            validate(alt, value, path, p, strict)
            if not p:
                ok.append(alt)
        if len(ok) != 1:
            problems.append("%s: matches %d of the oneOf alternatives" % (path, len(ok)))
        return
    t = schema.get("type")
    if t is None and "properties" in schema:
        t = "object"
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if t in checks and not checks[t](value):
        problems.append("%s: %s is not of type %s" % (path, json.dumps(value)[:60], t))
        return
    if "enum" in schema and value not in schema["enum"]:
        problems.append("%s: %r is not one of %r" % (path, value, schema["enum"]))
    if t == "string" and schema.get("format") in ("url", "uri"):
        u = urllib.parse.urlsplit(value)
        if u.scheme not in ("http", "https") or not u.netloc:
            problems.append("%s: %r is not a URL" % (path, value))
    if t == "object":
        props = schema.get("properties") or {}
        for req in schema.get("required") or []:
            if req not in value:
                problems.append("%s: required member %r is missing" % (path, req))
        for k, v in value.items():
            if k in props:
                validate(props[k], v, "%s.%s" % (path, k), problems, strict)
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(schema["additionalProperties"], v, "%s.%s" % (path, k), problems, strict)
            elif strict and schema.get("additionalProperties") is not True and props:
                problems.append("%s: member %r is not declared by the spec" % (path, k))
    if t == "array":
        for i, item in enumerate(value):
            validate(schema.get("items") or {}, item, "%s[%d]" % (path, i), problems, strict)


def build_routes():
    prefix = urllib.parse.urlsplit(SPEC["servers"][0]["url"]).path.rstrip("/")
    for template in SPEC["paths"]:
        rx = re.escape(prefix + template)
        rx = re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", rx)
        ROUTES.append((re.compile("^" + rx + "$"), template))


# ---------------------------------------------------------------------------
# Scanning, the harbor-scanner-trivy way


SEVERITY = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low", "UNKNOWN": "Unknown"}
RANK = {"Unknown": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5}


def trivy_env(authorization):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    scheme, _, cred = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        user, _, pw = base64.b64decode(cred).decode().partition(":")
        env.update(TRIVY_USERNAME=user, TRIVY_PASSWORD=pw)
    elif scheme.lower() == "bearer":
        env["TRIVY_REGISTRY_TOKEN"] = cred
    return env


def run_trivy(req, fmt):
    u = urllib.parse.urlsplit(req["registry"]["url"])
    port = u.port or (80 if u.scheme == "http" else 443)
    ref = "%s:%d/%s@%s" % (u.hostname, port, req["artifact"]["repository"], req["artifact"]["digest"])
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = [ARGS.trivy, "image", "--no-progress", "--format", fmt, "--output", out.name,
                "--cache-dir", ARGS.cache_dir, "--skip-db-update", "--timeout", "5m0s"]
        if u.scheme == "http":
            args.append("--insecure")
        p = subprocess.run(args + [ref], env=trivy_env(req["registry"].get("authorization")),
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("running trivy: exit status %d: %s" % (p.returncode, p.stderr.strip()[-500:]))
        return json.load(open(out.name))


def scanner_meta():
    p = subprocess.run([ARGS.trivy, "--cache-dir", ARGS.cache_dir, "version", "--format", "json"],
                       capture_output=True, text=True, timeout=30)
    version = json.loads(p.stdout)["Version"] if p.returncode == 0 else "Unknown"
    return {"name": "Trivy", "vendor": "Aqua Security", "version": version}


def transform(req, doc):
    vulns = []
    for r in doc.get("Results") or []:
        for v in r.get("Vulnerabilities") or []:
            item = {"id": v["VulnerabilityID"], "package": v["PkgName"], "version": v["InstalledVersion"],
                    "severity": SEVERITY.get(v.get("Severity"), "Unknown"), "description": v.get("Description", ""),
                    "links": [v["PrimaryURL"]] if v.get("PrimaryURL") else (v.get("References") or []),
                    "layer": {"digest": v["Layer"]["Digest"], "diff_id": v["Layer"]["DiffID"]} if v.get("Layer") else None}
            if v.get("Status"):
                item["status"] = v["Status"]
            if (v.get("PkgIdentifier") or {}).get("PURL"):
                item["purl"] = v["PkgIdentifier"]["PURL"]
            if v.get("FixedVersion"):
                item["fix_version"] = v["FixedVersion"]
            if v.get("CweIDs"):
                item["cwe_ids"] = v["CweIDs"]
            if v.get("CVSS"):
                item["vendor_attributes"] = {"CVSS": v["CVSS"]}
            vulns.append(item)
    report = {"generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
              "artifact": req["artifact"], "scanner": scanner_meta()}
    if vulns:
        report["severity"] = max((v["severity"] for v in vulns), key=lambda s: RANK[s])
        report["vulnerabilities"] = vulns
    return report


def scan_job(job_id, req):
    job = JOBS[job_id]
    try:
        caps = req.get("enabled_capabilities") or [{"type": "vulnerability",
                                                    "produces_mime_types": ["application/vnd.security.vulnerability.report; version=1.1"]}]
        reports = {}
        for cap in caps:
            if cap["type"] == "vulnerability":
                doc = run_trivy(req, "json")
                rep = json.dumps(transform(req, doc))
                reports["vuln"] = rep
                reports["raw"] = json.dumps(doc)
            else:
                for media in cap["parameters"]["sbom_media_types"]:
                    doc = run_trivy(req, "spdx-json" if media == "application/spdx+json" else "cyclonedx")
                    reports["sbom:" + media] = json.dumps({
                        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
                        "artifact": req["artifact"], "scanner": scanner_meta(), "media_type": media, "sbom": doc})
        job["reports"] = reports
    except Exception as e:  # noqa: BLE001 - the scan failed: report it as the adapter does
        job["error"] = str(e)
    job["done"] = True


# ---------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("adapter_server: " + (fmt % args) + "\n")

    def send_json(self, status, obj, content_type, extra=None, schema=None):
        body = json.dumps(obj).encode()
        if schema is not None:
            problems = []
            validate(schema, obj, "response", problems, strict=False)
            if problems:
                with LOCK:
                    RECORD["server_errors"].append({"path": self.path, "problems": problems})
        self.save()  # before answering: a client that reads the record next sees this request
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message):
        self.send_json(status, {"error": {"message": message}},
                       "application/vnd.scanner.adapter.error+json; version=1.0",
                       schema={"$ref": "#/components/schemas/ErrorResponse"})

    def violation(self, problems):
        with LOCK:
            RECORD["violations"].append({"method": self.command, "path": self.path, "problems": problems})
        self.error(400, "request violates the scanner adapter API spec: " + "; ".join(problems))

    def save(self):
        with LOCK:
            tmp = "%s.%d.tmp" % (ARGS.record, threading.get_ident())
            with open(tmp, "w") as f:
                json.dump(RECORD, f, indent=2)
            os.replace(tmp, ARGS.record)

    def handle_one(self):
        with LOCK:
            RECORD["requests"] += 1
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if ARGS.api_key:
            key = self.headers.get("X-ScannerAdapter-API-Key") or ""
            authz = self.headers.get("Authorization") or ""
            if key != ARGS.api_key and authz != "Bearer " + ARGS.api_key:
                with LOCK:
                    RECORD["auth_failures"] += 1
                return self.error(401, "invalid api key")
        url = urllib.parse.urlsplit(self.path)
        for rx, template in ROUTES:
            m = rx.match(url.path)
            if m:
                break
        else:
            return self.violation(["no path of the spec matches %s" % url.path])
        op = SPEC["paths"][template].get(self.command.lower())
        if op is None:
            return self.violation(["%s is not an operation of %s" % (self.command, template)])
        problems = []
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        declared = {p["name"]: p for p in (op.get("parameters") or []) if p.get("in") == "query"}
        for k, vals in query.items():
            if k not in declared:
                problems.append("query parameter %r is not declared" % k)
                continue
            enum = declared[k].get("enum") or schema_of(declared[k].get("schema") or {}).get("enum")
            if enum and vals[-1] not in enum:
                problems.append("query parameter %s=%r is not one of %r" % (k, vals[-1], enum))
        ok_codes = [c for c in op["responses"] if str(c).startswith("2")]
        produced = [norm_mime(t) for c in ok_codes for t in (op["responses"][c].get("content") or {})]
        accept = self.headers.get("Accept")
        if template in ("/metadata", "/scan/{scan_request_id}/report"):
            if not accept:
                problems.append("no Accept header (the operation produces %s)" % produced)
        if accept and accept.strip() != "*/*":
            wanted = [norm_mime(a) for a in accept.split(",")]
            if not any(w in produced for w in wanted):
                problems.append("Accept %r names none of %r" % (accept, produced))
        body = None
        if "requestBody" in op:
            ctype = self.headers.get("Content-Type") or ""
            content = {norm_mime(k): v for k, v in op["requestBody"]["content"].items()}
            if norm_mime(ctype) not in content:
                problems.append("Content-Type %r is not one of %r" % (ctype, list(content)))
            else:
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    problems.append("body is not JSON: %s" % e)
                else:
                    validate(content[norm_mime(ctype)]["schema"], body, "body", problems)
        elif raw:
            problems.append("%s %s takes no body" % (self.command, template))
        if template == "/scan/{scan_request_id}/report" and accept and \
                base_type(accept) == "application/vnd.security.sbom.report+json" and "sbom_media_type" not in query:
            problems.append("an SBOM report needs ?sbom_media_type= (the spec's 400)")
        if problems:
            return self.violation(problems)

        if template == "/metadata":
            return self.metadata()
        if template == "/scan":
            return self.accept_scan(body)
        return self.report(m.group("scan_request_id"), accept, (query.get("sbom_media_type") or [""])[-1])

    def metadata(self):
        consumes = ["application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"]
        v12 = str(SPEC["info"]["version"]) == "1.2"
        caps = [{"consumes_mime_types": consumes,
                 "produces_mime_types": ["application/vnd.security.vulnerability.report; version=1.1",
                                         "application/vnd.scanner.adapter.vuln.report.raw"]}]
        if v12:
            caps[0]["type"] = "vulnerability"
            caps.append({"type": "sbom", "consumes_mime_types": consumes,
                         "produces_mime_types": ["application/vnd.security.sbom.report+json; version=1.0"],
                         "additional_attributes": {"sbom_media_types": ["application/spdx+json",
                                                                        "application/vnd.cyclonedx+json"]}})
        meta = {"scanner": scanner_meta(), "capabilities": caps,
                "properties": {"harbor.scanner-adapter/scanner-type": "os-package-vulnerability",
                               "env.SCANNER_TRIVY_SKIP_UPDATE": "true"}}
        self.send_json(200, meta, "application/vnd.scanner.adapter.metadata+json; version=%s" % ("1.1" if v12 else "1.0"),
                       schema={"$ref": "#/components/schemas/ScannerAdapterMetadata"})

    def accept_scan(self, req):
        for cap in req.get("enabled_capabilities") or []:
            if cap["type"] == "sbom" and not ((cap.get("parameters") or {}).get("sbom_media_types")):
                return self.error(422, "missing SBOM media type")
        job_id = str(uuid.uuid4())
        JOBS[job_id] = {"done": False, "polls": 0, "reports": {}, "error": None}
        with LOCK:
            RECORD["scans"] += 1
        threading.Thread(target=scan_job, args=(job_id, req), daemon=True).start()
        self.send_json(202, {"id": job_id}, "application/vnd.scanner.adapter.scan.response+json; version=1.0",
                       schema={"$ref": "#/components/schemas/ScanResponse"})

    def report(self, job_id, accept, sbom_media_type):
        job = JOBS.get(job_id)
        if job is None:
            return self.error(404, "cannot find scan job: %s" % job_id)
        job["polls"] += 1
        if job["polls"] <= ARGS.not_ready_polls or not job["done"]:
            self.save()
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header(ARGS.retry_header, "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if job["error"]:
            return self.error(500, job["error"])
        t = base_type(accept)
        key = ("sbom:" + sbom_media_type if t == "application/vnd.security.sbom.report+json"
               else "raw" if t == "application/vnd.scanner.adapter.vuln.report.raw" else "vuln")
        if key not in job["reports"]:
            return self.error(404, "scan %s has no report of that type" % job_id)
        obj = json.loads(job["reports"][key])
        schema = None if key == "raw" else {"$ref": "#/components/schemas/%s" % (
            "HarborSbomReport" if key.startswith("sbom:") else "HarborVulnerabilityReport")}
        self.send_json(200, obj, accept.split(",")[0].strip(), schema=schema)

    def do_GET(self):
        try:
            self.handle_one()
        finally:
            self.save()

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET


def main():
    global ARGS, SPEC
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--port-file", default="")
    ap.add_argument("--record", required=True)
    ap.add_argument("--trivy", required=True)
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--not-ready-polls", type=int, default=2)
    ap.add_argument("--retry-header", default="Refresh-After")
    ARGS = ap.parse_args()
    with open(ARGS.spec) as f:
        SPEC = yaml.safe_load(f)
    build_routes()
    with open(ARGS.record, "w") as f:
        json.dump(RECORD, f)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    if ARGS.port_file:  # --port 0: the kernel's choice, told through this file
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def on_sigterm(*_):
    raise KeyboardInterrupt()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, on_sigterm)
    main()
