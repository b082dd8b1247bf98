#!/usr/bin/env python3
"""The API's one error shape (issue 16).

Every JSON error is {"error": {"code": snake_case, "message": words,
"field": name}} with "field" only when one field of the request is at
fault. The harness checks the shape of every /api/ error answer any test
meets; here the codes and fields of validation errors are checked
endpoint by endpoint, and a sweep sends every route of `introeval routes`
a bad request as each role and finds no error answer of another shape.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-errors-12345678"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
# Routes the sweep leaves out: they act on the caller's own account
# whatever the body (the session ends; a deletion is asked for).
SWEEP_SKIP = {("POST", "/api/v1/me/signout-all"),
              ("POST", "/api/v1/me/deletion-request")}


class ApiErrors(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(one_fake=True).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        roles = ("admin", "teacher", "student")
        harness.create_users(cls.server, [
            ("%s@example.com" % r, r.title(), r, PW) for r in roles])
        cls.c = {}
        for r in roles:
            cls.c[r] = harness.Client(cls.server.url)
            cls.c[r].login("%s@example.com" % r, PW)
        cls.course = int(cls.stack.pg.psql(
            "SELECT id FROM courses ORDER BY id LIMIT 1"))
        # A submission to send bad requests about: a row is enough (no
        # upload, so no pipeline work).
        cls.sub = int(cls.stack.pg.psql(
            "INSERT INTO submissions (student_id, stored_name, size_bytes, "
            "phase, status, error_message) SELECT id, 'gone.mp4', 1, "
            "'failed', 'failed', 'test' FROM users WHERE email = "
            "'student@example.com' RETURNING id").splitlines()[0])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def call(self, who, method, path, body, status):
        """Sends body (an object as JSON, or str/bytes as they are);
        returns the error answer's (code, field) after checking its
        status and shape."""
        if not isinstance(body, (str, bytes)) and body is not None:
            body = json.dumps(body)
        client = who if isinstance(who, harness.Client) else self.c[who]
        r = client.expect(method, path, status, body=body, headers=JSON)
        body = r.json()
        harness.check_error_shape(body)
        self.assertTrue(harness.error_message(body))
        return harness.error_code(body), harness.error_field(body)

    def test_router_errors_have_codes(self):
        anon = harness.Client(self.server.url)
        self.assertEqual(self.call(anon, "GET", "/api/v1/me", None, 401),
                         ("unauthenticated", None))
        self.assertEqual(self.call("student", "GET", "/api/v1/nothing",
                                   None, 404), ("not_found", None))
        self.assertEqual(self.call("student", "DELETE", "/api/v1/me", None,
                                   405), ("method_not_allowed", None))
        self.assertEqual(self.call("student", "GET", "/api/v1/system",
                                   None, 403), ("forbidden", None))
        self.assertEqual(self.call("student", "GET",
                                   "/api/v1/submissions/999999", None, 404),
                         ("not_found", None))
        # A cookie session without the page's CSRF token.
        bare = harness.Client(self.server.url)
        bare.cookies = dict(self.c["teacher"].cookies)
        self.assertEqual(self.call(bare, "POST", "/api/v1/jobs/preview",
                                   {"request": "x"}, 403),
                         ("csrf_failed", None))
        # A page asked for JSON answers in the same shape.
        r = self.c["student"].expect("GET", "/no-such-page", 404,
                                     headers={"Accept": "application/json"})
        self.assertEqual(harness.error_code(r), "not_found")

    def test_bodies_that_are_not_json_objects(self):
        for body in ("{not json", "[1, 2]", '"text"',
                     '{"body": "a", "body": "b"}'):
            with self.subTest(body=body):
                self.assertEqual(self.call(
                    "teacher", "POST", "/api/v1/submissions/%d/comments" %
                    self.sub, body, 400), ("invalid_json", None))
        self.assertEqual(self.call("teacher", "POST", "/api/v1/rubrics",
                                   "{not json", 400)[0], "invalid_json")

    def test_missing_and_invalid_fields(self):
        sub = "/api/v1/submissions/%d" % self.sub
        course = "/api/v1/courses/%d" % self.course
        uid = self.c["student"].me["id"]
        cases = [
            ("teacher", "POST", sub + "/priority", {}, 400,
             ("missing_field", "priority")),
            ("teacher", "POST", sub + "/priority", {"priority": 10 ** 6},
             400, ("invalid", "priority")),
            ("teacher", "POST", sub + "/comments", {"at_s": 1}, 400,
             ("missing_field", "body")),
            ("teacher", "POST", sub + "/comments", {"at_s": "soon",
                                                    "body": "hi"}, 400,
             ("invalid", "at_s")),
            ("teacher", "POST", sub + "/scores", {"criterion": "content"},
             400, ("missing_field", "score")),
            ("teacher", "POST", course + "/assignments", {"title": 5}, 400,
             ("invalid", "title")),
            ("teacher", "POST", course + "/assignments", {"title": ""}, 422,
             ("invalid", "title")),
            ("teacher", "POST", course + "/assignments", {
                "title": "Backwards", "opens_at": "2030-01-02T09:00",
                "due_at": "2030-01-01T09:00"}, 422, ("invalid", "due_at")),
            ("teacher", "POST", course + "/assignments", {
                "title": "Long", "min_duration_s": 60,
                "max_duration_s": 30}, 422,
             ("invalid", "max_duration_s")),
            ("teacher", "PATCH", course, {"archived": "yes"}, 400,
             ("invalid", "archived")),
            ("teacher", "PATCH", course, {"time_zone": "Mars/Olympus"}, 422,
             ("invalid", "time_zone")),
            ("teacher", "POST", "/api/v1/jobs/preview", {}, 400,
             ("missing_field", "request")),
            ("teacher", "POST", "/api/v1/jobs", {"request": "x"}, 400,
             ("missing_field", "spec")),
            ("teacher", "POST", "/api/v1/rubrics", {
                "name": "Talk", "scale": {"min": 1, "max": 3},
                "criteria": [{"key": "a", "title": "A", "weight": 0}]}, 400,
             ("invalid", "weight")),
            ("teacher", "PATCH", "/api/v1/users/%d" % uid,
             {"disabled": "yes"}, 422, ("invalid", "disabled")),
            ("teacher", "PATCH", "/api/v1/users/%d" % uid, {"email": "nope"},
             422, ("invalid", "email")),
            ("student", "POST", "/api/v1/me/password", {"current": PW}, 422,
             ("missing_field", "password")),
            ("student", "POST", "/api/v1/consent", {}, 400,
             ("missing_field", "version")),
            ("admin", "POST", "/api/v1/admin/consent", {"text": 3}, 400,
             ("invalid", "text")),
            ("admin", "POST", "/api/v1/courses", {"code": "X1"}, 400,
             ("missing_field", "title")),
            ("teacher", "POST", course + "/members", {"email": 7}, 400,
             ("invalid", "email")),
            ("admin", "POST", "/api/v1/users", {"email": "a@example.com",
                                                "name": "A"}, 400,
             ("missing_field", "role")),
            ("admin", "POST", "/api/v1/bakeoffs", {"backends": "mistral"},
             400, ("invalid", "backends")),
            ("admin", "POST", "/api/v1/bakeoffs", {"backends": ["nope"]},
             422, ("invalid", "backends")),
            ("teacher", "GET", "/api/v1/submissions?status=sleeping", None,
             400, ("invalid", "status")),
            ("teacher", "POST", "/api/v1/tokens", {"name": "nightly",
                                                   "scope": "everything"},
             422, ("invalid", "scope")),
            ("student", "POST", "/api/v1/submissions?assignment_id=x",
             b"video", 400, ("bad_request", "assignment_id")),
            ("student", "POST", "/api/v1/submissions?assignment_id=999999",
             b"video", 404, ("not_found", "assignment_id")),
        ]
        for who, method, path, body, status, want in cases:
            with self.subTest(path=path, body=body):
                self.assertEqual(self.call(who, method, path, body, status),
                                 want)

    def test_specific_codes(self):
        c = self.c["student"]
        r = c.expect("POST", "/api/v1/submissions", 400, body=b"",
                     headers={"Content-Type": "video/mp4"})
        self.assertEqual(harness.error_code(r), "empty")
        r = c.expect("POST", "/api/v1/submissions", 422, body=b"not a video",
                     headers={"Content-Type": "video/mp4"})
        self.assertEqual(harness.error_code(r), "upload_refused")
        r = c.expect("POST", "/api/v1/uploads", 412,
                     headers={"Upload-Length": "10"})
        self.assertEqual(harness.error_code(r), "tus_version")
        # A class list with errors: the report stays beside the error.
        r = self.c["teacher"].expect(
            "POST", "/api/v1/courses/%d/roster?dry_run=1" % self.course, 422,
            body="email,name,section\nnot-an-email,Ann,A\n",
            headers={"Content-Type": "text/csv"})
        self.assertEqual(harness.error_code(r), "invalid_roster")
        self.assertIn("1 row", harness.error_message(r))
        self.assertEqual(r.json()["rows"][0]["status"], "error")
        # The JSON sign-in: which member is missing, and wrong words.
        anon = harness.Client(self.server.url)
        self.assertEqual(self.call(anon, "POST", "/login",
                                   {"email": "student@example.com"}, 400),
                         ("missing_field", "password"))
        self.assertEqual(self.call(anon, "POST", "/login", {
            "email": "student@example.com", "password": "wrong"}, 401),
            ("unauthenticated", None))

    def test_readme_lists_every_code(self):
        """Each code the server's sources name is in README's table."""
        src = os.path.join(harness.repo_dir(), "server", "web")
        # A code named in a call, or a status's default in http.c.
        found = re.compile(
            r'(?:http_error_(?:code|field)\([^,]+, [^,]+, |'
            r'http_error_body\([^,]+, |fail\(r, [^,]+, (?:true|false), '
            r'[^,]+, |\{ \d{3}, )"([a-z]+(?:_[a-z]+)*)"')
        codes = {"missing_field", "database_unavailable"}
        for name in os.listdir(src):
            if name.endswith(".c"):
                with open(os.path.join(src, name)) as f:
                    codes.update(found.findall(f.read()))
        with open(os.path.join(harness.repo_dir(), "README.md")) as f:
            readme = f.read()
        table = readme[readme.index("### Errors"):]
        table = table[:table.index("\n### ", 5)]
        self.assertGreater(len(codes), 30)
        missing = sorted(c for c in codes if "`%s`" % c not in table)
        self.assertEqual(missing, [], "codes missing from README's table")

    def test_sweep_every_route(self):
        """Every route, as anonymous and as each role, with a body that
        is not JSON and ids that do not exist: each error answer of the
        API is JSON of the one shape (the harness checks the shape of
        each answer it reads; here also that none is of another type)."""
        routes = [(r["method"], r["pattern"]) for r in map(
            json.loads, self.server.cli("routes").stdout.splitlines())]
        who = [harness.Client(self.server.url)] + [
            self.c[r] for r in ("student", "teacher", "admin")]
        errors, codes = 0, set()
        for method, pattern in routes:
            if not pattern.startswith("/api/") or (method, pattern) in \
                    SWEEP_SKIP:
                continue
            path = pattern.replace(":uid", "999998").replace(
                ":id", "999999")
            for client in who:
                r = client.request(method, path, body="{", headers=JSON)
                if r.status < 400 or method == "HEAD":
                    continue
                errors += 1
                ctype = r.header("Content-Type") or ""
                self.assertTrue(ctype.startswith("application/json"),
                                (method, path, r.status, ctype))
                harness.check_error_shape(r.json())
                codes.add(harness.error_code(r))
        self.assertGreater(errors, 100)
        self.assertLessEqual({"unauthenticated", "forbidden", "not_found",
                              "invalid_json"}, codes)


if __name__ == "__main__":
    harness.main()
