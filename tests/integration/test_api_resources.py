#!/usr/bin/env python3
"""The API's resources (issue 16): what the pages show, as data.

One server (a throw-away PostgreSQL, one stand-in LLM). Course A has a
teacher (t1) and a student (s1); course B another teacher (t2) and
student (s2); there is an admin. Submissions are inserted in SQL in
states the scheduler leaves alone (failed, or a retry a day away), with
the times a test needs, so that no test waits for the pipeline.

Checked: GET /api/v1/submissions's filters (each bad value is a 400
naming its parameter) and its cursor pagination, stable while rows are
added between pages (no duplicate, no gap); courses and enrolment;
users (admin) and one account as staff see it; backends, nodes and a
node's phase timeline; rubric versions; bake-offs (admin).

Run: python3 tests/integration/test_api_resources.py (INTROEVAL_BIN
names the binary).
"""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-12345678"


class ApiResources(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server] + cls.stack.fakes
        people = [("%s@example.com" % n, n.upper(), role, PW) for n, role in (
            ("admin", "admin"), ("t1", "teacher"), ("t2", "teacher"),
            ("s1", "student"), ("s2", "student"), ("s3", "student"))]
        harness.create_users(cls.server, people, course=None)
        cls.ids = {e.split("@")[0]: int(cls.sql(
            "SELECT id FROM users WHERE email = '%s'" % e))
            for e, _, _, _ in people}
        cls.course_a = cls.make_course("A", ("t1", "teacher"),
                                       ("s1", "student"))
        cls.course_b = cls.make_course("B", ("t2", "teacher"),
                                       ("s2", "student"))
        cls.asg_a = int(cls.sql(
            "INSERT INTO assignments (course_id, title) VALUES (%d, "
            "'Intro A') RETURNING id" % cls.course_a).split()[0])
        cls.asg_b = int(cls.sql(
            "INSERT INTO assignments (course_id, title) VALUES (%d, "
            "'Intro B') RETURNING id" % cls.course_b).split()[0])
        cls.c = {}
        for name in ("admin", "t1", "t2", "s1", "s2"):
            cls.c[name] = harness.Client(cls.server.url, timeout=60)
            cls.c[name].login("%s@example.com" % name, PW)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def sql(cls, q):
        return cls.pg.psql(q).strip()

    @classmethod
    def make_course(cls, code, *members):
        cid = int(cls.sql("INSERT INTO courses (code, title) VALUES "
                          "('%s', 'Course %s') RETURNING id" % (code, code)
                          ).split()[0])
        for name, role in members:
            cls.sql("INSERT INTO course_members (course_id, user_id, role) "
                    "VALUES (%d, %d, '%s')" % (cid, cls.ids[name], role))
        return cid

    def insert(self, student, assignment, created_at="now()", n=1,
               phase="failed", status="failed"):
        """n submissions of student to assignment, created at the SQL
        expression created_at, in a state the scheduler leaves alone;
        their ids, oldest first."""
        out = self.sql(
            "INSERT INTO submissions (student_id, stored_name, size_bytes, "
            "original_name, phase, status, next_attempt_at, assignment_id, "
            "created_at) SELECT %d, 'x-' || gen_random_uuid(), 1000, "
            "'intro.mp4', '%s', '%s', now() + interval '1 day', %d, %s "
            "FROM generate_series(1, %d) RETURNING id" % (
                self.ids[student], phase, status, assignment, created_at, n))
        return [int(x) for x in out.splitlines() if x.strip().isdigit()]

    def listed(self, who, query):
        body = self.c[who].get_json("/api/v1/submissions?" +
                                    urllib.parse.urlencode(query))
        return [s["id"] for s in body["submissions"]], body

    def assert_refused(self, who, path, field, status=400):
        resp = self.c[who].expect("GET", path, status,
                                  headers={"Accept": "application/json"})
        self.assertEqual((harness.error_code(resp),
                          harness.error_field(resp)), ("invalid", field),
                         "%s: %s" % (path, resp.text))

    # ------------------------------------------------------- submissions

    def test_submission_filters(self):
        old = self.insert("s1", self.asg_a, "'2026-01-10T12:00:00Z'")
        mid = self.insert("s1", self.asg_a, "'2026-02-10T12:00:00Z'")
        waiting = self.insert("s2", self.asg_b, "'2026-02-11T12:00:00Z'",
                              n=2, phase="llm", status="retry")
        mine = set(old + mid + waiting)

        def ids(who, **q):
            got, body = self.listed(who, dict(q, limit=200))
            self.assertIn("next_cursor", body)
            return [i for i in got if i in mine]

        self.assertEqual(ids("admin", course_id=self.course_a),
                         mid + old)
        self.assertEqual(ids("admin", assignment_id=self.asg_b),
                         sorted(waiting, reverse=True))
        self.assertEqual(ids("admin", student_id=self.ids["s2"]),
                         sorted(waiting, reverse=True))
        self.assertEqual(ids("admin", status="retry"),
                         sorted(waiting, reverse=True))
        self.assertEqual(ids("admin", phase="failed", course_id=self.course_a),
                         mid + old)
        self.assertEqual(ids("admin", since="2026-02-01",
                             until="2026-02-11T00:00:00Z"), mid)
        self.assertEqual(ids("admin", since="2026-02-10T13:00+01:00",
                             until="2026-02-10T12:00:01Z"), mid)
        # Filters narrow what the caller may see, never widen it.
        self.assertEqual(ids("t2", course_id=self.course_a), [])
        self.assertEqual(ids("t1", course_id=self.course_a), mid + old)
        self.assertEqual(ids("s1", student_id=self.ids["s2"]), [])
        self.assertEqual(ids("s1"), mid + old)
        # Each refused value names its parameter.
        for query, field in (("course_id=abc", "course_id"),
                             ("assignment_id=0", "assignment_id"),
                             ("student_id=-3", "student_id"),
                             ("status=done", "status"),
                             ("phase=cooking", "phase"),
                             ("since=2026-02-30", "since"),
                             ("until=yesterday", "until"),
                             ("since=2026-02-10T25:00Z", "since"),
                             ("limit=0", "limit"), ("limit=201", "limit"),
                             ("limit=ten", "limit"),
                             ("cursor=not-a-cursor", "cursor")):
            self.assert_refused("admin", "/api/v1/submissions?" + query,
                                field)

    def test_pagination_stable_while_rows_are_added(self):
        """Page 1, then new submissions arrive, then pages 2 and 3 go on
        where page 1 stopped: every row once, none skipped. Four rows
        share one created_at across the end of page 1, so the cursor's
        id breaks the tie."""
        before = (self.insert("s1", self.asg_a, "'2026-03-01T10:00:00Z'",
                              n=3) +
                  self.insert("s1", self.asg_a,
                              "'2026-03-01T10:00:00.000001Z'") +
                  self.insert("s1", self.asg_a, "'2026-03-02T10:00:00Z'",
                              n=4))
        q = {"student_id": self.ids["s1"], "since": "2026-03-01",
             "until": "2026-04-01", "limit": 3}
        # Newest first; a tie in created_at goes by id, newest first.
        expected = sorted(before, reverse=True)
        page1, body = self.listed("t1", q)
        self.assertEqual(page1, expected[:3])
        self.assertIsNotNone(body["next_cursor"])
        # Newer rows (inside the range), and one at the very same time
        # as rows already listed on page 1: neither may shift page 2.
        added = (self.insert("s1", self.asg_a, "'2026-03-03T10:00:00Z'",
                             n=4) +
                 self.insert("s1", self.asg_a, "'2026-03-02T10:00:00Z'"))
        seen = list(page1)
        cursor = body["next_cursor"]
        while cursor is not None:
            page, body = self.listed("t1", dict(q, cursor=cursor))
            self.assertLessEqual(len(page), 3)
            seen += page
            cursor = body["next_cursor"]
        self.assertEqual(seen, expected, "pages after the first go on "
                         "where it stopped")
        self.assertEqual(len(seen), len(set(seen)))
        # A fresh first page shows what was added.
        fresh, _ = self.listed("t1", dict(q, limit=200))
        self.assertEqual(set(fresh), set(before + added))
        # Without limit, pages of 50.
        many = self.insert("s2", self.asg_b, "'2026-05-01T00:00:00Z'", n=55)
        page, body = self.listed("admin", {"student_id": self.ids["s2"],
                                           "since": "2026-05-01",
                                           "until": "2026-05-02"})
        self.assertEqual(page, sorted(many, reverse=True)[:50])
        rest, body = self.listed("admin", {"student_id": self.ids["s2"],
                                           "since": "2026-05-01",
                                           "until": "2026-05-02",
                                           "cursor": body["next_cursor"]})
        self.assertEqual(rest, sorted(many, reverse=True)[50:])
        self.assertIsNone(body["next_cursor"])
        # Rows keep the fields the pages' scripts read.
        row = self.c["admin"].get_json("/api/v1/submissions?limit=1")[
            "submissions"][0]
        for key in ("id", "student_id", "student_name", "phase", "status",
                    "assignment_id", "created_at", "overall", "course_id"):
            self.assertIn(key, row)
        self.assertNotIn("cursor_us", row)

    # ------------------------------------------------------------ courses

    def test_courses_and_enrolment(self):
        def codes(who):
            return sorted(c["code"] for c in self.c[who].get_json(
                "/api/v1/courses")["courses"])
        self.assertEqual(codes("t1"), ["A"])
        self.assertEqual(codes("s2"), ["B"])
        self.assertTrue({"A", "B"} <= set(codes("admin")))
        made = self.c["admin"].post_json("/api/v1/courses", {
            "code": "API1", "title": "Made by the API"}, expect=201)
        self.assertEqual((made["code"], made["title"]),
                         ("API1", "Made by the API"))
        self.assertIn("API1", codes("admin"))
        self.c["admin"].post_json("/api/v1/courses", {
            "code": "API1", "title": "Again"}, expect=422)
        self.c["admin"].post_json("/api/v1/courses", {"code": "X"},
                                  expect=400)
        self.c["t1"].post_json("/api/v1/courses", {
            "code": "T1", "title": "Not mine to make"}, expect=403)
        # One course: staff see its members, its student no one's.
        a = self.c["t1"].get_json("/api/v1/courses/%d" % self.course_a)
        self.assertIn(self.ids["s1"], [m["user_id"] for m in a["members"]])
        self.assertIn("join_code", a)
        mine = self.c["s1"].get_json("/api/v1/courses/%d" % self.course_a)
        self.assertEqual(mine["code"], "A")
        self.assertNotIn("members", mine)
        self.assertNotIn("join_code", mine)
        for who in ("t2", "s2"):
            self.c[who].expect("GET", "/api/v1/courses/%d" % self.course_a,
                               404)
        self.c["admin"].expect("GET", "/api/v1/courses/999999", 404)
        # Enrolment, as the course page's form.
        path = "/api/v1/courses/%d/members" % self.course_a
        m = self.c["t1"].post_json(path, {"email": "s3@example.com",
                                          "section": "X"}, expect=201)
        self.assertEqual((m["outcome"], m["user_id"], m["section"]),
                         ("added", self.ids["s3"], "X"))
        m = self.c["t1"].post_json(path, {"email": "s3@example.com",
                                          "section": "X"}, expect=200)
        self.assertEqual(m["outcome"], "same")
        self.c["t1"].post_json(path, {"email": "s3@example.com",
                                      "section": "Y"}, expect=409)
        m = self.c["t1"].post_json(path, {"email": "s3@example.com",
                                          "section": "Y", "move": True},
                                   expect=200)
        self.assertEqual((m["outcome"], m["section"]), ("moved", "Y"))
        self.c["t1"].post_json(path, {"email": "t2@example.com",
                                      "role": "teacher"}, expect=403)
        self.c["t1"].post_json(path, {"email": "nobody@example.com"},
                               expect=422)
        self.c["t1"].post_json(path, {"section": "X"}, expect=400)
        self.c["t2"].post_json(path, {"email": "s2@example.com"},
                               expect=404)
        m = self.c["admin"].post_json(path, {"email": "t2@example.com",
                                             "role": "teacher"}, expect=201)
        self.assertEqual(m["role"], "teacher")
        self.sql("DELETE FROM course_members WHERE course_id = %d AND "
                 "user_id = %d" % (self.course_a, self.ids["t2"]))

    # -------------------------------------------------------------- users

    def test_users(self):
        admin = self.c["admin"]
        teachers = admin.get_json("/api/v1/users?role=teacher")["users"]
        self.assertEqual(sorted(u["email"] for u in teachers),
                         ["t1@example.com", "t2@example.com"])
        found = admin.get_json("/api/v1/users?q=S1%40EXAMPLE")["users"]
        self.assertEqual([u["id"] for u in found], [self.ids["s1"]])
        seen, cursor = [], None
        while True:
            q = "/api/v1/users?role=student&limit=2"
            if cursor:
                q += "&cursor=" + cursor
            body = admin.get_json(q)
            seen += [u["id"] for u in body["users"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(sorted(seen), sorted(
            int(x) for x in self.sql(
                "SELECT id FROM users WHERE role = 'student'").split()))
        self.assert_refused("admin", "/api/v1/users?role=king", "role")
        self.assert_refused("admin", "/api/v1/users?limit=500", "limit")
        made = admin.post_json("/api/v1/users", {
            "email": "new@example.com", "name": "New Person",
            "role": "student"}, expect=201)
        self.assertEqual((made["email"], made["role"]),
                         ("new@example.com", "student"))
        self.assertGreaterEqual(len(made["password"]), 12)
        harness.Client(self.server.url).login("new@example.com",
                                              made["password"])
        admin.post_json("/api/v1/users", {
            "email": "NEW@example.com", "name": "Again", "role": "student",
            "password": PW}, expect=422)
        admin.post_json("/api/v1/users", {
            "email": "not-an-email", "name": "X", "role": "student"},
            expect=422)
        admin.post_json("/api/v1/users", {"email": "x@example.com"},
                        expect=400)
        self.c["t1"].expect("GET", "/api/v1/users", 403)
        self.c["t1"].post_json("/api/v1/users", {
            "email": "t@example.com", "name": "T", "role": "admin"},
            expect=403)
        # One account, as /users/:id shows it to staff.
        u = self.c["t1"].get_json("/api/v1/users/%d" % self.ids["s1"])
        self.assertEqual(u["email"], "s1@example.com")
        self.assertEqual([c["code"] for c in u["courses"]], ["A"])
        self.c["t1"].expect("GET", "/api/v1/users/%d" % self.ids["s2"], 404)
        self.c["t1"].expect("GET", "/api/v1/users/%d" % self.ids["t2"], 404)
        admin.expect("GET", "/api/v1/users/999999", 404)
        self.c["s1"].expect("GET", "/api/v1/users/%d" % self.ids["s1"], 403)

    # -------------------------------------------------- backends and nodes

    def test_backends_nodes_and_phases(self):
        b = {x["name"]: x for x in self.c["t1"].get_json(
            "/api/v1/backends")["backends"]}
        self.assertIn("mistral", b)
        m = b["mistral"]
        self.assertEqual((m["kind"], m["model"]), ("llm", "mistral"))
        for key in ("state", "limit", "in_flight", "calls"):
            self.assertIn(key, m)
        self.assertNotIn("url", m)
        self.assertNotIn("api_key", m)
        self.c["s1"].expect("GET", "/api/v1/backends", 403)
        nodes = harness.wait_until(
            lambda: self.c["t1"].get_json("/api/v1/nodes")["nodes"],
            "a node has written its state", timeout=120)
        n = nodes[0]
        for key in ("name", "role", "phase", "last_heartbeat", "gpus"):
            self.assertIn(key, n)
        self.assertIn("pid=", n["lock_holder"] or "")
        self.assertEqual(n["role"], "all")
        self.c["s1"].expect("GET", "/api/v1/nodes", 403)
        # The timeline of a range, oldest first, with microseconds.
        name = n["name"]
        self.sql("INSERT INTO phase_log (node, phase, backend, started_at, "
                 "finished_at, outcome) VALUES "
                 "('%s', 'stt', 'stt', '2026-06-01T10:00:00.25Z', "
                 "'2026-06-01T10:00:02Z', 'ok'), "
                 "('%s', 'llm', 'mistral', '2026-06-01T10:00:03Z', "
                 "'2026-06-01T10:00:06.5Z', 'ok'), "
                 "('%s', 'llm', 'mistral', '2026-06-01T11:00:00Z', "
                 "NULL, 'running')" % (name, name, name))
        path = "/api/v1/nodes/%s/phases" % urllib.parse.quote(name)
        got = self.c["t1"].get_json(
            path + "?since=2026-06-01T10:00Z&until=2026-06-01T10:30Z")
        self.assertEqual([(p["phase"], p["started_at"], p["duration_s"])
                          for p in got["phases"]],
                         [("stt", "2026-06-01T10:00:00.250000Z", 1.75),
                          ("llm", "2026-06-01T10:00:03.000000Z", 3.5)])
        self.assertFalse(got["truncated"])
        got = self.c["admin"].get_json(path + "?since=2026-06-01&limit=2")
        self.assertEqual(len(got["phases"]), 2)
        self.assertTrue(got["truncated"])
        self.assert_refused("t1", path + "?since=June", "since")
        self.c["t1"].expect("GET", "/api/v1/nodes/no-such-node/phases", 404)
        self.c["t1"].expect("GET", "/api/v1/nodes/..%2Fx/phases", 404)
        self.c["s1"].expect("GET", path, 403)

    # ------------------------------------------------ rubrics and bake-offs

    def test_rubric_versions(self):
        rubric = {"name": "Versions", "scale": {"min": 1, "max": 5},
                  "criteria": [{"key": "content", "title": "Content",
                                "description": "What is said"}]}
        r1 = self.c["t1"].post_json("/api/v1/rubrics", rubric, expect=201)
        r2 = self.c["t1"].post_json("/api/v1/rubrics/%d/versions" % r1["id"],
                                    rubric, expect=201)
        got = self.c["t1"].get_json("/api/v1/rubrics/%d" % r2["id"])
        self.assertEqual([v["id"] for v in got["versions"]],
                         [r1["id"], r2["id"]])

    def test_bakeoffs(self):
        admin = self.c["admin"]
        sub = self.insert("s1", self.asg_a, phase="completed",
                          status="completed")[0]
        self.sql("INSERT INTO evaluations (submission_id, backend, model, "
                 "scores, overall, feedback, llm_s) VALUES (%d, 'mistral', "
                 "'mistral', '{\"content\": 3}', 3, 'ok', 1)" % sub)
        made = admin.post_json("/api/v1/bakeoffs", {
            "backends": ["mistral"], "trials": 1,
            "assignment_id": self.asg_a}, expect=201)
        self.assertEqual(made["trials"], 1)
        listed = admin.get_json("/api/v1/bakeoffs")["bakeoffs"]
        self.assertIn(made["id"], [b["id"] for b in listed])
        admin.post_json("/api/v1/bakeoffs", {
            "backends": ["gpt-99"], "trials": 1, "last_n": 5}, expect=422)
        admin.post_json("/api/v1/bakeoffs", {
            "backends": [], "trials": 1, "last_n": 5}, expect=422)
        admin.post_json("/api/v1/bakeoffs", {
            "backends": ["mistral"], "trials": 11, "last_n": 5}, expect=422)
        admin.post_json("/api/v1/bakeoffs", {"trials": 1}, expect=400)
        # No teacher adjusted anything: nothing to compare with.
        admin.post_json("/api/v1/bakeoffs", {
            "backends": ["mistral"], "trials": 1, "last_n": 5}, expect=422)
        self.c["t1"].expect("GET", "/api/v1/bakeoffs", 403)
        self.c["t1"].post_json("/api/v1/bakeoffs", {
            "backends": ["mistral"], "trials": 1, "last_n": 5}, expect=403)


if __name__ == "__main__":
    harness.main()
