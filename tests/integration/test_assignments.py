#!/usr/bin/env python3
"""Assignments (issue 13): a course's assignments, and uploads filed
under one.

  - teachers create and edit assignments through the API and the course
    page's forms, with dates in the course's time zone; bad input and an
    unknown time zone are refused in words; an assignment with uploads is
    not deleted;
  - an upload names an assignment (or goes to the student's only open
    one) and is refused in words when the student has none, when it is
    not open yet, past due without late work, outside the duration range,
    another course's (404), or when several are open and none is named;
    tus uploads are refused the same way;
  - late work is marked late; a resubmission supersedes the earlier one,
    which stays visible; the course's progress, results and CSV are per
    assignment; a student in two courses shows only where they submitted.
"""

import csv
import html
import io
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "assignments-pw-1"
NONE_OPEN = ("You have no open assignment to submit to. Your teacher adds "
             "assignments to your course.")


def form(client, path, fields, expect=303):
    body = urllib.parse.urlencode(dict(fields, csrf=client.csrf_token))
    return client.expect("POST", path, expect, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"}, csrf=False)


def text(page):
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


class Assignments(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server] + cls.stack.fakes
        people = [("admin@example.com", "Ada Admin", "admin"),
                  ("t1@example.com", "Tess Teacher", "teacher"),
                  ("t2@example.com", "Tom Teacher", "teacher"),
                  ("s1@example.com", "Sam Student", "student"),
                  ("s2@example.com", "Sue Student", "student"),
                  ("s3@example.com", "Lone Student", "student")]
        harness.create_users(cls.server, [(e, n, r, PW) for e, n, r in people],
                             course=None)
        cls.c = {}
        for e, _, _ in people:
            cl = harness.Client(cls.server.url, timeout=60)
            cl.login(e, PW)
            cls.c[e.split("@")[0]] = cl
        admin = cls.c["admin"]
        cls.courses = {}
        for code, teacher in (("ASG1", "t1"), ("ASG2", "t2")):
            r = form(admin, "/courses", {"code": code, "title": code})
            cls.courses[code] = int(r.header("Location").rsplit("/", 1)[1])
            form(admin, "/courses/%d/members" % cls.courses[code],
                 {"email": teacher + "@example.com", "role": "teacher"})
        for s in ("s1", "s2"):
            form(admin, "/courses/%d/members" % cls.courses["ASG1"],
                 {"email": s + "@example.com", "role": "student"})
        # s2 is also in ASG2; s3 in no course at all.
        form(admin, "/courses/%d/members" % cls.courses["ASG2"],
             {"email": "s2@example.com", "role": "student"})
        cls.clip = harness.short_intro("intro01")
        with open(cls.clip, "rb") as f:
            cls.clip_bytes = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    # helpers

    def api(self, who, method, path, body=None, expect=200):
        r = self.c[who].expect(method, path, expect, body=json.dumps(body)
                               if body is not None else None, headers={
                                   "Content-Type": "application/json",
                                   "Accept": "application/json"})
        return r.json()

    def create(self, course, who="t1", **fields):
        fields.setdefault("title", "Assignment")
        return self.api(who, "POST", "/api/v1/courses/%d/assignments" %
                        self.courses[course], fields, expect=201)

    def upload(self, who, assignment=None, expect=201):
        path = "/api/v1/submissions"
        if assignment:
            path += "?assignment_id=%d" % assignment
        r = self.c[who].expect("POST", path, expect, body=self.clip_bytes,
                               headers={"Content-Type": "video/mp4",
                                        "X-Filename": "intro.mp4",
                                        "Accept": "application/json"})
        return r.json()

    def delete_all(self, course):
        self.pg.psql("DELETE FROM submissions WHERE assignment_id IN (SELECT "
                     "id FROM assignments WHERE course_id = %d); DELETE FROM "
                     "assignments WHERE course_id = %d" % (
                         self.courses[course], self.courses[course]))

    # tests, in order: each starts from courses without assignments

    def setUp(self):
        self.delete_all("ASG1")
        self.delete_all("ASG2")

    def test_1_create_and_edit_in_the_course_time_zone(self):
        cid = self.courses["ASG1"]
        self.api("t1", "PATCH", "/api/v1/courses/%d" % cid,
                 {"time_zone": "Asia/Tokyo"})
        a = self.create("ASG1", title="Week 1", instructions="Line one\n"
                        "Line two", opens_at="2020-01-01T09:00",
                        due_at="2030-01-15T09:00", min_duration_s=2,
                        max_duration_s=120, late_ok=False)
        # 09:00 in Tokyo is midnight UTC.
        self.assertEqual(a["due_at"], "2030-01-15T00:00:00Z")
        self.assertEqual(a["due_local"], "2030-01-15T09:00")
        self.assertIn("(Asia/Tokyo)", a["due_text"])
        self.assertTrue(a["is_open"])
        b = self.api("t1", "PATCH", "/api/v1/assignments/%d" % a["id"],
                     {"title": "Week one", "due_at": None})
        self.assertEqual(b["title"], "Week one")
        self.assertIsNone(b["due_at"])
        self.assertEqual(b["instructions"], "Line one\nLine two")
        # Bad input, in words; a teacher of another course is not let in.
        r = self.c["t1"].expect("PATCH", "/api/v1/assignments/%d" % a["id"],
                                422, body=json.dumps({
                                    "due_at": "2019-01-01T00:00"}),
                                headers={"Content-Type": "application/json"})
        self.assertIn("after the opening date", harness.error_message(r))
        self.c["t2"].expect("PATCH", "/api/v1/assignments/%d" % a["id"], 404,
                            body="{}")
        self.c["s1"].expect("PATCH", "/api/v1/assignments/%d" % a["id"], 403,
                            body="{}")
        r = self.c["t1"].expect("PATCH", "/api/v1/courses/%d" % cid, 422,
                                body=json.dumps({"time_zone": "Mars/Base"}),
                                headers={"Content-Type": "application/json"})
        self.assertIn("is not a time zone", harness.error_message(r))
        # Students of the course read the list; others do not.
        got = self.api("s1", "GET", "/api/v1/courses/%d/assignments" % cid)
        self.assertEqual([x["id"] for x in got["assignments"]], [a["id"]])
        self.c["s3"].expect("GET", "/api/v1/courses/%d/assignments" % cid,
                            404)
        self.c["s3"].expect("GET", "/api/v1/assignments/%d" % a["id"], 404)
        # The page's forms: create, a refused edit keeps what was typed,
        # then an edit that works.
        r = form(self.c["t1"], "/courses/%d/assignments" % cid, {
            "title": "Week 2", "instructions": "Say hello.",
            "opens": "2020-02-01T10:00", "due": "2031-02-01T10:00",
            "min_s": "0", "max_s": "", "rubric_id": "0", "late_ok": "1"})
        new = int(re.search(r"assignment=(\d+)", r.header("Location"))[1])
        got = self.api("t1", "GET", "/api/v1/assignments/%d" % new)
        self.assertEqual(got["due_local"], "2031-02-01T10:00")
        self.assertTrue(got["late_ok"])
        page = form(self.c["t1"], "/assignments/%d" % new, {
            "title": "Week 2 typed", "opens": "2020-02-01T10:00",
            "due": "2031-02-01T10:00", "min_s": "30", "max_s": "10"},
            expect=422).text
        self.assertIn("must be longer than the shortest", text(page))
        self.assertIn('value="Week 2 typed"', page)
        form(self.c["t1"], "/assignments/%d" % new, {
            "title": "Week 2 edited", "instructions": "Say hello.",
            "opens": "2020-02-01T10:00", "due": "", "min_s": "1",
            "max_s": "100"})
        got = self.api("t1", "GET", "/api/v1/assignments/%d" % new)
        self.assertEqual((got["title"], got["due_at"], got["max_duration_s"]),
                         ("Week 2 edited", None, 100))
        page = self.c["t1"].expect("GET", "/courses/%d" % cid, 200).text
        self.assertIn("Week 2 edited", page)
        self.assertIn("Asia/Tokyo", page)
        self.api("t1", "PATCH", "/api/v1/courses/%d" % cid,
                 {"time_zone": "UTC"})

    def test_2_uploads_refused_in_words(self):
        # No course at all: the page says so and has no form; so does
        # the API.
        page = self.c["s3"].expect("GET", "/", 200).text
        self.assertIn(NONE_OPEN, text(page))
        self.assertNotIn('id="upload-form"', page)
        self.assertEqual(harness.error_message(
            self.upload("s3", expect=422)), NONE_OPEN)
        future = self.create("ASG1", title="Later", opens_at="2035-03-01T08:00")
        err = harness.error_message(
            self.upload("s1", future["id"], expect=422))
        self.assertIn("not open yet", err)
        self.assertIn("2035", err)
        past = self.create("ASG1", title="Gone", opens_at="2020-01-01T00:00",
                           due_at="2020-06-01T17:00")
        refused = self.upload("s1", past["id"], expect=422)
        self.assertEqual(harness.error_code(refused), "upload_refused")
        err = harness.error_message(refused)
        self.assertIn("was due on", err)
        self.assertIn("Monday 1 June 2020, 17:00", err)
        self.assertIn("late work is not accepted", err)
        # tus is refused the same way, before any byte is sent.
        r = self.c["s1"].expect("POST", "/api/v1/uploads", 422, headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": "1000",
            "Upload-Metadata": "filename aW50cm8ubXA0,assignment_id " +
            __import__("base64").b64encode(str(past["id"]).encode())
            .decode()})
        self.assertIn("was due on", r.text)
        long_only = self.create("ASG1", title="Long", min_duration_s=60,
                                max_duration_s=120)
        err = harness.error_message(
            self.upload("s1", long_only["id"], expect=422))
        self.assertIn("accepts recordings from 1 min 0 s to 2 min 0 s", err)
        other = self.create("ASG2", who="t2", title="Other course")
        refused = self.upload("s1", other["id"], expect=404)
        self.assertIn("not an assignment of one of your courses",
                      harness.error_message(refused))
        self.assertEqual((harness.error_code(refused),
                          harness.error_field(refused)),
                         ("not_found", "assignment_id"))
        # s1 has one open assignment (Long): unnamed uploads go there
        # and are refused for its length; add a second: choose.
        self.upload("s1", expect=422)
        self.create("ASG1", title="Short")
        self.assertIn("choose the assignment",
                      harness.error_message(self.upload("s1", expect=422)))
        page = self.c["s1"].expect("GET", "/", 200).text
        self.assertIn('<select id="assignment"', page)
        self.assertNotIn("Gone", page)
        self.assertNotIn("Later", page)
        # An archived course takes no uploads: its assignments leave the
        # student's page, and naming one is refused in words.
        cid = self.courses["ASG1"]
        self.api("t1", "PATCH", "/api/v1/courses/%d" % cid,
                 {"archived": True})
        try:
            self.assertIn(NONE_OPEN, harness.error_message(
                self.upload("s1", expect=422)))
            err = harness.error_message(
                self.upload("s1", long_only["id"], expect=422))
            self.assertIn("ASG1 is archived", err)
            page = self.c["s1"].expect("GET", "/", 200).text
            self.assertNotIn("Short", page)
            self.assertIn(NONE_OPEN, text(page))
        finally:
            self.api("t1", "PATCH", "/api/v1/courses/%d" % cid,
                     {"archived": False})

    def test_3_late_work_and_resubmission(self):
        late = self.create("ASG1", title="Late ok", opens_at="2020-01-01T00:00",
                           due_at="2020-06-01T00:00", late_ok=True)
        sub = self.upload("s1")    # the only open one
        got = self.c["s1"].get_json("/api/v1/submissions/%d" % sub["id"])
        self.assertEqual((got["assignment_id"], got["late"]),
                         (late["id"], True))
        on_time = self.create("ASG1", title="On time")
        first = self.upload("s2", on_time["id"])["id"]
        second = self.upload("s2", on_time["id"])["id"]
        # The results below wait for this one: it goes first.
        self.api("t1", "POST", "/api/v1/submissions/%d/priority" % second,
                 {"priority": 100})
        c = self.c["s2"]
        self.assertFalse(c.get_json("/api/v1/submissions/%d" % first)["counts"])
        self.assertTrue(c.get_json("/api/v1/submissions/%d" % second)["counts"])
        self.assertFalse(c.get_json("/api/v1/submissions/%d" % second)["late"])
        page = c.expect("GET", "/", 200).text
        self.assertIn("superseded by Introduction 2", text(page))
        self.assertIn('href="/submissions/%d"' % first, page)
        page = c.expect("GET", "/submissions/%d" % first, 200).text
        self.assertIn("superseded: a later upload to this assignment counts",
                      text(page))
        self.assertIn("On time", text(page))
        page = c.expect("GET", "/assignments/%d" % on_time["id"], 200).text
        self.assertIn("superseded by Introduction 2", text(page))
        self.assertIn('href="/submissions/%d"' % first, page)
        self.assertNotIn('href="/submissions/%d"' % sub["id"], page)
        # The course: per assignment, the latest counts, late is marked.
        cid = self.courses["ASG1"]
        t = self.c["t1"]
        done = t.wait_for(second)
        self.assertEqual(done["status"], "completed", done)
        p = t.get_json("/api/v1/courses/%d/progress?assignment=%d" % (
            cid, on_time["id"]))
        rows = {r["name"]: r for r in p["rows"]}
        self.assertEqual(rows["Sue Student"]["id"], second)
        self.assertIsNone(rows["Sam Student"]["id"])
        self.assertEqual(p["assignment_id"], on_time["id"])
        p = t.get_json("/api/v1/courses/%d/progress?assignment=%d" % (
            cid, late["id"]))
        rows = {r["name"]: r for r in p["rows"]}
        self.assertEqual(rows["Sam Student"]["id"], sub["id"])
        self.assertTrue(rows["Sam Student"]["late"])
        page = t.expect("GET", "/courses/%d?assignment=%d" % (
            cid, late["id"]), 200).text
        self.assertIn("chip-late", page)
        r = t.expect("GET", "/courses/%d/results.csv?assignment=%d" % (
            cid, on_time["id"]), 200)
        rows = list(csv.DictReader(io.StringIO(r.text)))
        self.assertIn("late", rows[0])
        sue = [x for x in rows if x["student"] == "Sue Student"][0]
        self.assertEqual((sue["assignment"], sue["submission"], sue["late"]),
                         ("On time", str(second), "no"))
        self.assertIn("assignment-%d" % on_time["id"],
                      r.header("Content-Disposition"))
        # An assignment with uploads is not deleted; one without is.
        r = t.expect("DELETE", "/api/v1/assignments/%d" % on_time["id"], 409)
        self.assertIn("cannot be deleted", harness.error_message(r))
        empty = self.create("ASG1", title="Empty")
        t.expect("DELETE", "/api/v1/assignments/%d" % empty["id"], 200)
        t.expect("GET", "/api/v1/assignments/%d" % empty["id"], 404)

    def test_4_a_student_in_two_courses(self):
        a1 = self.create("ASG1", title="One")
        a2 = self.create("ASG2", who="t2", title="Two")
        sid = self.upload("s2", a2["id"])["id"]
        p2 = self.c["t2"].get_json("/api/v1/courses/%d/progress" %
                                   self.courses["ASG2"])
        p1 = self.c["t1"].get_json("/api/v1/courses/%d/progress" %
                                   self.courses["ASG1"])
        self.assertEqual(p1["assignment_id"], a1["id"])
        self.assertEqual([r["id"] for r in p2["rows"]
                          if r["name"] == "Sue Student"], [sid])
        self.assertEqual([r["id"] for r in p1["rows"]
                          if r["name"] == "Sue Student"], [None])
        page = self.c["t1"].expect("GET", "/courses/%d" %
                                   self.courses["ASG1"], 200).text
        self.assertNotIn('href="/submissions/%d"' % sid, page)


if __name__ == "__main__":
    harness.main()
