#!/usr/bin/env python3
"""The API's OpenAPI description (issue 16), schemas/openapi.json.

- The document is sound OpenAPI 3.1: every $ref resolves, every
  operation has an operationId (unique), answers and security, and every
  path parameter is declared.
- It describes exactly the routes the server registers under /api/
  (`introeval routes`), in both directions, with the same roles
  (x-roles) and the CSRF header on every change a cookie session makes.
- The server serves it at /api/v1/openapi.json to anyone, equal to the
  file with job_spec.schema.json in place of JobSpec's $ref, cached
  with an ETag.
- The checker that harness.Client runs on every /api/v1 answer (see
  openapi_check.py) does catch a wrong answer.

Every other integration test checks the real answers it gets against the
description through harness.Client.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import openapi_check  # noqa: E402

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
                "trace")


def walk_refs(node, where="$"):
    """Every ($ref, where) in a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v, where
            else:
                yield from walk_refs(v, "%s.%s" % (where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_refs(v, "%s[%d]" % (where, i))


def served_form(doc):
    """The file as the server serves it: JobSpec is the schema file."""
    with open(os.path.join(openapi_check.SCHEMAS_DIR,
                           openapi_check.JOBSPEC_REF)) as f:
        jobspec = json.load(f)
    doc = json.loads(json.dumps(doc))
    doc["components"]["schemas"]["JobSpec"] = jobspec
    return doc


class DocumentShape(harness.TestCase):
    """The file alone: no server."""

    @classmethod
    def setUpClass(cls):
        cls.doc = openapi_check.Document.load()
        cls.d = cls.doc.doc

    def test_is_openapi_31(self):
        self.assertEqual(self.d["openapi"], "3.1.0")
        for k in ("title", "version"):
            self.assertTrue(self.d["info"].get(k), k)
        self.assertIn("paths", self.d)
        self.assertEqual(
            set(self.d["components"]["securitySchemes"]),
            {"bearer", "cookieSession", "csrfHeader"})

    def test_every_ref_resolves(self):
        refs = list(walk_refs(self.d))
        self.assertGreater(len(refs), 50)
        for ref, where in refs:
            try:
                target = self.doc.resolve(ref)
            except (KeyError, IndexError, OSError, ValueError) as e:
                self.fail("%s: $ref %r does not resolve (%s)" % (
                    where, ref, e))
            self.assertIsInstance(target, dict, "%s: %s" % (where, ref))

    def test_jobspec_is_the_schema_file(self):
        self.assertEqual(self.d["components"]["schemas"]["JobSpec"],
                         {"$ref": openapi_check.JOBSPEC_REF})

    def test_operations_are_complete(self):
        seen = {}
        for method, template, op in self.doc.operations():
            name = "%s %s" % (method, template)
            oid = op.get("operationId")
            self.assertTrue(oid, name + ": no operationId")
            self.assertNotIn(oid, seen, "%s: operationId %s is also %s" % (
                name, oid, seen.get(oid)))
            seen[oid] = name
            self.assertTrue(op.get("summary"), name + ": no summary")
            self.assertTrue(op.get("responses"), name + ": no responses")
            self.assertIn("security", op, name + ": no security")
            for status, resp in op["responses"].items():
                self.assertRegex(status, r"^([1-5][0-9][0-9]|[1-5]XX|"
                                 r"default)$", name)
                while "$ref" in resp:
                    resp = self.doc.resolve(resp["$ref"])
                self.assertTrue(resp.get("description"),
                                "%s %s: no description" % (name, status))
            declared = set()
            for p in op.get("parameters", []):
                p = self.doc.resolve(p["$ref"]) if "$ref" in p else p
                self.assertIn(p["in"], ("path", "query", "header", "cookie"))
                if p["in"] == "path":
                    declared.add(p["name"])
            wanted = set(seg[1:-1] for seg in template.split("/")
                         if seg.startswith("{"))
            self.assertEqual(declared, wanted,
                             name + ": path parameters")
        self.assertGreater(len(seen), 40)

    def test_checker_catches_wrong_answers(self):
        doc, v = self.doc, openapi_check.validate
        me = {"id": 1, "email": "a@b", "name": "A", "role": "student",
              "csrf_token": "x"}
        body = json.dumps(me).encode()
        self.assertEqual(doc.check_response(
            "GET", "/api/v1/me", 200, "application/json", body), [])
        bad = dict(me, role="pirate")
        del bad["email"]
        problems = doc.check_response("GET", "/api/v1/me", 200,
                                      "application/json",
                                      json.dumps(bad).encode())
        self.assertEqual(len(problems), 2, problems)
        self.assertTrue(any("'email' is required" in p for p in problems))
        self.assertTrue(any("pirate" in p for p in problems))
        self.assertIn("status 418 is not described", doc.check_response(
            "GET", "/api/v1/me", 418, "application/json", b"{}")[0])
        self.assertIn("not described", doc.check_response(
            "GET", "/api/v1/nothing-here", 200, "application/json",
            b"{}")[0])
        self.assertIn("content type", doc.check_response(
            "GET", "/api/v1/me", 200, "text/html", b"<p>")[0])
        # The subset's keywords, each once.
        self.assertEqual(v({"type": ["integer", "null"]}, None, None), [])
        self.assertTrue(v({"type": "integer"}, True, None))
        self.assertTrue(v({"type": "integer"}, 1.5, None))
        self.assertEqual(v({"type": "integer"}, 2.0, None), [])
        self.assertTrue(v({"minimum": 1}, 0, None))
        self.assertTrue(v({"maximum": 1}, 2, None))
        self.assertTrue(v({"minLength": 1}, "", None))
        self.assertTrue(v({"pattern": "^[a-z]+$"}, "Ab", None))
        self.assertEqual(v({"pattern": "^[a-z]+$"}, "ab", None), [])
        self.assertTrue(v({"$ref": "#/components/schemas/Error"},
                          {"error": "a bare string"}, doc.resolve))
        self.assertTrue(v({"$ref": "#/components/schemas/Error"},
                          {"error": {"code": "Not Found",
                                     "message": "x"}}, doc.resolve))
        self.assertTrue(v({"const": True}, False, None))
        self.assertTrue(v({"enum": ["a"]}, "b", None))
        self.assertTrue(v({"items": {"type": "string"}}, ["a", 1], None))
        self.assertTrue(v({"additionalProperties": False}, {"x": 1}, None))
        self.assertTrue(v({"oneOf": [{"type": "integer"},
                                     {"minimum": 0}]}, 1, None))
        self.assertTrue(v({"anyOf": [{"type": "string"},
                                     {"type": "null"}]}, 1, None))
        self.assertTrue(v({"allOf": [{"type": "number"},
                                     {"maximum": 3}]}, 4, None))
        self.assertTrue(v({"$ref": "#/components/schemas/Me"}, {},
                          doc.resolve))
        self.assertTrue(v({"$ref": "#/components/schemas/JobSpec"},
                          {"action": "fly"}, doc.resolve))


class Served(harness.TestCase):
    """The routes of the binary and its served copy."""

    @classmethod
    def setUpClass(cls):
        cls.doc = openapi_check.Document.load()
        out = subprocess.run([harness.binary(), "routes"], check=True,
                             capture_output=True, text=True).stdout
        cls.routes = [json.loads(line) for line in out.splitlines()
                      if line.strip()]
        cls.pg = harness.PgCluster().start()
        cls.server = harness.Server(cls.pg.url)
        cls.server.start()
        cls.log_sources = [cls.server]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.pg.stop()

    def described(self):
        return {(m, t): op for m, t, op in self.doc.operations()}

    def test_every_api_route_is_described_and_back(self):
        registered = {}
        for r in self.routes:
            if r["pattern"].startswith("/api/"):
                template = "/".join("{%s}" % s[1:] if s.startswith(":")
                                    else s for s in
                                    r["pattern"].split("/"))
                registered[(r["method"], template)] = r
        described = self.described()
        missing = sorted("%s %s" % k for k in registered
                         if k not in described)
        extra = sorted("%s %s" % k for k in described
                       if k not in registered)
        self.assertEqual(missing, [], "routes the server registers that "
                         "schemas/openapi.json does not describe")
        self.assertEqual(extra, [], "operations schemas/openapi.json "
                         "describes that the server does not register")
        for key, r in registered.items():
            op = described[key]
            name = "%s %s" % key
            self.assertEqual(sorted(op.get("x-roles", [])),
                             sorted(r["roles"]), name + ": x-roles")
            schemes = [sorted(s) for s in op["security"]]
            if "anonymous" in r["roles"]:
                self.assertIn([], schemes, name + ": may be anonymous")
            else:
                self.assertNotIn([], schemes, name + ": needs sign-in")
            self.assertIn(["bearer"], schemes, name + ": bearer")
            cookie = [s for s in schemes if "cookieSession" in s]
            if r["csrf"] == "header":
                self.assertTrue(cookie and all("csrfHeader" in s
                                               for s in cookie),
                                name + ": a cookie session sends the CSRF "
                                "header")
            if "anonymous" not in r["roles"]:
                self.assertIn("401", op["responses"], name)
                self.assertIn("403", op["responses"], name)

    def test_served_equals_file(self):
        c = harness.Client(self.server.url)
        resp = c.expect("GET", "/api/v1/openapi.json", 200)
        self.assertEqual(resp.header("Content-Type"), "application/json")
        self.assertIn("public", resp.header("Cache-Control"))
        self.assertEqual(resp.json(), served_form(self.doc.doc))
        etag = resp.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        again = c.expect("GET", "/api/v1/openapi.json", 304,
                         headers={"If-None-Match": etag})
        self.assertEqual(again.body, b"")
        self.assertEqual(again.header("ETag"), etag)
        # The served copy stands alone: no $ref leaves the document.
        refs = [r for r, _ in walk_refs(resp.json())
                if not r.startswith("#/")]
        self.assertEqual(refs, [])
        # A signed-in account and a bearer token that is not one get it
        # too: the description is public.
        self.assertEqual(harness.Client(self.server.url, token="x" * 64)
                         .expect("GET", "/api/v1/openapi.json",
                                 200).json()["openapi"], "3.1.0")

    def test_harness_rejects_what_is_not_described(self):
        c = harness.Client(self.server.url)
        # A real answer, checked against a copy of the description that
        # wants something the server does not send.
        strict = json.loads(json.dumps(self.doc.doc))
        me = strict["paths"]["/api/v1/me"]["get"]
        del me["responses"]["401"]
        saved = openapi_check._loaded
        openapi_check._loaded = openapi_check.Document(strict)
        try:
            with self.assertRaises(harness.OpenApiMismatch) as cm:
                c.request("GET", "/api/v1/me")
        finally:
            openapi_check._loaded = saved
        self.assertIn("GET /api/v1/me answered 401", str(cm.exception))
        self.assertIn("status 401 is not described", str(cm.exception))
        # And the real description takes the same answer.
        self.assertEqual(c.request("GET", "/api/v1/me").status, 401)


if __name__ == "__main__":
    harness.main()
