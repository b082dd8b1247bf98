#!/usr/bin/env python3
"""What a newcomer tripped over (issue 12), page by page, over HTTP.

A throw-away PostgreSQL, one fake Ollama and the real server. The states
the pages are about are written straight into the database (completed
submissions with an evaluation, a failure, a retry waiting a day), as
the queue's own tests do, so nothing waits for the pipeline:

  - cancelling from a form needs the confirmation step (a form without
    confirm=1 lands on it and changes nothing); the student then reads
    in plain words that their teacher cancelled it and what to do, on
    the result page and in their list;
  - a course page's counts agree: a retry waiting its turn is in
    progress in the tiles and in the pipeline box, "done" counts the
    scores the results table lists, and the progress API says the same;
  - enrolling says what it did; enrolling someone already enrolled
    elsewhere changes nothing until the move is confirmed, then says so;
  - a refused new user comes back as typed (not the password);
  - students read "Introduction 1, 2" in their list and titles, never a
    global number; scores read 4.0 (overall) and 4 (criteria);
  - the health page's queue leaves finished work out, backends without
    calls show no "0 ms", and no label is said twice;
  - the admin's first page is a checklist, ticked as steps get done.

Run: python3 tests/integration/test_newcomer.py (INTROEVAL_BIN names the
binary).
"""

import html
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-12345678"
PEOPLE = (("admin@example.com", "Ada Admin", "admin"),
          ("t1@example.com", "Tess Teacher", "teacher"),
          ("s1@example.com", "Ana Ruiz", "student"),
          ("s2@example.com", "Ben Ode", "student"),
          ("s3@example.com", "Cy Lu", "student"),
          ("s4@example.com", "Dee Ma", "student"),
          ("s5@example.com", "Eve Noor", "student"))
SCORES = '{"content": 4, "organization": 5, "delivery": 3, "language": 4}'


def form(client, path, fields, expect=303):
    """POST an HTML form with the CSRF token, as a browser would."""
    body = urllib.parse.urlencode(dict(fields, csrf=client.csrf_token))
    return client.expect("POST", path, expect, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"}, csrf=False)


def text(page):
    """The page's words: tags dropped, entities decoded, spaces joined."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ",
                                                    page)))


def by_id(page, ident):
    m = re.search(r'id="%s"[^>]*>(.*?)</' % re.escape(ident), page, re.S)
    return html.unescape(m.group(1)).strip() if m else None


class Newcomer(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server] + cls.stack.fakes
        # Their own courses only: the checklist starts from nothing.
        harness.create_users(cls.server, [(e, n, r, PW)
                                          for e, n, r in PEOPLE],
                             course=None)
        cls.ids = {e: int(cls.sql("SELECT id FROM users WHERE email = "
                                  "'%s'" % e)) for e, _, _ in PEOPLE}
        cls.admin = cls.client("admin@example.com")
        # The first page before anything is set up.
        cls.first_home = cls.admin.expect("GET", "/", 200).text
        r = form(cls.admin, "/courses", {"code": "ENG101",
                                         "title": "Speaking lab"})
        cls.course = int(r.header("Location").rsplit("/", 1)[1])
        cls.enrol(cls.course, "t1@example.com", "teacher", "")
        for i, e in enumerate(("s1", "s2", "s3", "s4")):
            cls.enrol(cls.course, e + "@example.com", "student",
                      "A" if i < 2 else "B")
        # Set up, nothing submitted yet; the course page stores the
        # default rubric, which the rows below are scored against.
        cls.set_up_home = cls.admin.expect("GET", "/", 200).text
        cls.admin.expect("GET", "/courses/%d" % cls.course, 200)
        cls.assignment = harness.create_assignment(cls.admin,
                                                   cls.course)["id"]
        s1, s2, s3 = (cls.ids["s%d@example.com" % i] for i in (1, 2, 3))
        s5 = cls.ids["s5@example.com"]
        # Ana: scored, then a new upload waiting a day for a retry.
        cls.add(s1, "completed", overall=4.0)
        cls.add(s1, "llm", "retry", error="the model did not answer")
        cls.add(s2, "completed", overall=3.5)
        cls.add(s3, "failed", "failed",
                error="we could not hear speech in this recording")
        # Eve (in no course): scored, then one the teacher will cancel.
        cls.eve = [cls.add(s5, "completed", overall=4.0, assignment=None),
                   cls.add(s5, "llm", "retry", assignment=None)]

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def sql(cls, q):
        return cls.pg.psql(q)

    @classmethod
    def add(cls, student, phase, status=None, error=None, overall=None,
            assignment=0):
        """A submission in the given state (and its evaluation) to the
        course's assignment (or to none); its id."""
        aid = cls.assignment if assignment == 0 else assignment
        sid = int(cls.sql(
            "INSERT INTO submissions (student_id, stored_name, size_bytes, "
            "original_name, phase, status, error_message, next_attempt_at, "
            "completed_at, rubric_id, assignment_id, course_id) "
            "SELECT %d, 'x-' || gen_random_uuid(), "
            "1000, 'intro.mp4', '%s', '%s', %s, now() + interval '1 day', "
            "CASE WHEN '%s' IN ('completed', 'failed') THEN now() END, "
            "(SELECT max(id) FROM rubrics), %s, %s RETURNING id" % (
                student, phase, status or phase,
                "'%s'" % error if error else "NULL", phase,
                aid if aid else "NULL",
                cls.course if aid else "NULL")).split()[0])
        if overall is not None:
            cls.sql("INSERT INTO evaluations (submission_id, backend, model, "
                    "scores, overall, feedback, llm_s) VALUES (%d, 'mistral', "
                    "'mistral', '%s', %s, 'Good.', 1.0)" % (
                        sid, SCORES, overall))
        return sid

    @classmethod
    def client(cls, email):
        c = harness.Client(cls.server.url, timeout=60)
        c.login(email, PW)
        return c

    @classmethod
    def enrol(cls, course, email, role, section, move=None, expect=303):
        fields = {"email": email, "role": role, "section": section}
        if move:
            fields["move"] = "1"
        return form(cls.admin, "/courses/%d/members" % course, fields,
                    expect)

    def follow(self, client, resp):
        loc = resp.header("Location")
        self.assertTrue(loc, resp)
        return client.expect("GET", loc.split("#")[0], 200).text

    # ------------------------------------------------------------ item 2

    def test_cancel_takes_two_steps_and_the_student_reads_why(self):
        # A teacher acts only on their courses' students: Eve is in
        # Tess's course for this test only (the rest count her as in none).
        eve = self.ids["s5@example.com"]
        self.sql("INSERT INTO course_members (course_id, user_id, role, "
                 "section) VALUES (%d, %d, 'student', 'B')"
                 % (self.course, eve))
        try:
            self.cancel_eve()
        finally:
            self.sql("DELETE FROM course_members WHERE user_id = %d" % eve)

    def cancel_eve(self):
        sid = self.eve[1]
        t = self.client("t1@example.com")
        page = t.expect("GET", "/submissions/%d" % sid, 200).text
        self.assertIn('id="cancel-confirm"', page)
        self.assertNotIn('id="cancel-confirm" open', page)
        # A form without the confirmation lands on it, nothing changes.
        r = form(t, "/submissions/%d/action" % sid, {"action": "cancel"})
        self.assertIn("confirm=cancel", r.header("Location"))
        self.assertEqual(self.sql("SELECT phase FROM submissions WHERE id "
                                  "= %d" % sid), "llm")
        page = self.follow(t, r)
        self.assertIn('id="cancel-confirm" open', page)
        self.assertIn('name="confirm" value="1"', page)
        form(t, "/submissions/%d/action" % sid,
             {"action": "cancel", "confirm": "1"})
        self.assertEqual(self.sql("SELECT phase FROM submissions WHERE id "
                                  "= %d" % sid), "failed")
        staff = text(t.expect("GET", "/submissions/%d" % sid, 200).text)
        self.assertIn("Cancelled by Tess Teacher.", staff)
        s = self.client("s5@example.com")
        page = s.expect("GET", "/submissions/%d" % sid, 200).text
        self.assertEqual(by_id(page, "status"), "Cancelled")
        self.assertEqual(by_id(page, "error"), "Your teacher cancelled the "
                         "processing of this recording.")
        self.assertIn("If you did not expect this, ask them, or upload it "
                      "again.", text(page))
        self.assertNotIn("cancelled by", page)
        home = text(s.expect("GET", "/", 200).text)
        self.assertIn("Cancelled Your teacher cancelled the processing of "
                      "this recording. If you did not expect this", home)
        self.assertNotIn("cancelled by", home)

    # ------------------------------------------------------------ item 3

    def test_course_counts_agree(self):
        t = self.client("t1@example.com")
        page = t.expect("GET", "/courses/%d" % self.course, 200).text
        tiles = {k: int(by_id(page, "n-" + k)) for k in
                 ("students", "none", "working", "failed", "done")}
        # Ana's new upload (waiting for a retry) is her latest, so it is
        # the one that counts: her earlier score is not in the results.
        self.assertEqual(tiles, {"students": 4, "none": 1, "working": 1,
                                 "failed": 1, "done": 1})
        # The pipeline box counts what the "in progress" tile counts.
        self.assertEqual(int(by_id(page, "eta-count")), tiles["working"])
        # "Done" counts the scores the results table lists.
        table = page[page.index('id="results-table"'):]
        table = table[:table.index("</table>")]
        overall = re.findall(r'<td class="num">([^<]*)</td>', table)
        self.assertEqual(sorted(v for v in overall if "." in v), ["3.5"])
        # Criterion scores are whole numbers; overall scores one decimal.
        self.assertIn('<td class="num">5</td>', table)
        self.assertNotIn('<td class="num">5.0</td>', table)
        p = t.get_json("/api/v1/courses/%d/progress" % self.course)
        self.assertEqual(p["counts"], tiles)
        self.assertEqual(p["eta"]["unfinished"], tiles["working"])

    # ------------------------------------------------------------ item 4

    def test_enrolling_says_what_it_did(self):
        r = form(self.admin, "/courses", {"code": "ENG102",
                                          "title": "Speaking lab, B"})
        course = int(r.header("Location").rsplit("/", 1)[1])
        where = ("SELECT section FROM course_members WHERE course_id = %d "
                 "AND user_id = %d" % (course, self.ids["s1@example.com"]))
        r = self.enrol(course, "s1@example.com", "student", "A")
        self.assertEqual(by_id(self.follow(self.admin, r), "enrol-message"),
                         "Added Ana Ruiz as a student, in section A.")
        r = self.enrol(course, "S1@example.com", "student", "A")
        self.assertEqual(by_id(self.follow(self.admin, r), "enrol-message"),
                         "Ana Ruiz is already enrolled in section A as a "
                         "student; nothing changed.")
        # Another section: not moved until the move is confirmed.
        page = self.enrol(course, "s1@example.com", "student", "B",
                          expect=409).text
        self.assertIn("Ana Ruiz is already enrolled in section A. Nothing "
                      "has changed.", text(page))
        self.assertEqual(by_id(page, "enrol-move"),
                         "Move Ana Ruiz to section B")
        self.assertEqual(self.sql(where), "A")
        r = self.enrol(course, "s1@example.com", "student", "B", move=True)
        self.assertEqual(by_id(self.follow(self.admin, r), "enrol-message"),
                         "Ana Ruiz was enrolled in section A; now in section "
                         "B as a student.")
        self.assertEqual(self.sql(where), "B")
        r = self.enrol(course, "t1@example.com", "teacher", "")
        self.assertEqual(by_id(self.follow(self.admin, r), "enrol-message"),
                         "Added Tess Teacher as a teacher of this course.")

    # ------------------------------------------------------------ item 8

    def test_refused_user_form_keeps_what_was_typed(self):
        page = form(self.admin, "/admin/users", {
            "email": "s2@example.com", "name": "Someone Else",
            "role": "teacher", "password": "typed-secret-1"}, 422).text
        self.assertIn('class="alert"', page)
        self.assertIn('value="s2@example.com"', page)
        self.assertIn('value="Someone Else"', page)
        self.assertIn("<option selected>teacher</option>", page)
        self.assertNotIn("typed-secret-1", page)
        fresh = self.admin.expect("GET", "/admin/users", 200).text
        self.assertNotIn('value="s2@example.com"', fresh)

    # ----------------------------------------------------- items 7 and 10

    def test_students_read_their_own_numbers(self):
        s = self.client("s1@example.com")
        home = s.expect("GET", "/", 200).text
        first, second = (self.sql("SELECT id FROM submissions WHERE "
                                  "student_id = %d ORDER BY id" %
                                  self.ids["s1@example.com"]).split())
        self.assertIn('<a href="/submissions/%s">Introduction 1</a>' % first,
                      home)
        self.assertIn('<a href="/submissions/%s">Introduction 2</a>'
                      % second, home)
        self.assertNotRegex(text(home), r"#\d")
        self.assertIn('<td class="num" data-label="Score">4.0</td>', home)
        page = s.expect("GET", "/submissions/%s" % first, 200).text
        self.assertIn("<title>Introduction 1 · IntroEval</title>", page)
        self.assertRegex(page, r'class="criterion-score">4</td>')
        staff = self.admin.expect("GET", "/", 200).text
        self.assertIn("Ana Ruiz <small class=\"hint\">· Introduction 2",
                      staff)

    # ------------------------------------------------------------ item 6

    def test_health_page_says_each_thing_once(self):
        page = self.admin.expect("GET", "/admin/health", 200).text
        queue = page[page.index('id="queue-card"'):]
        queue = queue[:queue.index("</section>")]
        self.assertIn('data-phase="llm"', queue)
        self.assertNotIn("completed", queue)
        self.assertNotIn('data-phase="failed"', queue)
        backends = page[page.index('id="backends"'):]
        backends = backends[:backends.index("</table>")]
        self.assertNotIn("(mistral)", backends)
        self.assertNotIn("circuit", backends)
        self.assertNotIn(">0 ms<", backends)
        self.assertNotIn("Waiting LLM", page)

    # ----------------------------------------------------------- item 11

    def test_admin_first_page_is_a_checklist(self):
        def steps(page):
            return {t: (c, h) for c, h, t in re.findall(
                r'<li class="(done|todo)">.*?<a href="([^"]+)">([^<]+)</a>',
                page, re.S)}
        before = steps(self.first_home)
        self.assertEqual(before["Create a course"], ("todo", "/courses"))
        self.assertEqual(before["Add teacher accounts"],
                         ("done", "/admin/users"))
        self.assertEqual(before["Add student accounts"][0], "done")
        self.assertEqual(before["Enrol a teacher and students in a course"]
                         [0], "todo")
        self.assertEqual(before["Check the backends on the health page"][1],
                         "/admin/health")
        after = steps(self.set_up_home)
        self.assertEqual(after["Create a course"][0], "done")
        self.assertEqual(after["Enrol a teacher and students in a course"]
                         [0], "done")
        # Once the backends are up too and work arrives, it steps aside.
        harness.wait_until(lambda: any(
            n["stt_available"] and n["llm_healthy"] > 0 for n in
            self.admin.get_json("/api/v1/system").get("nodes", [])),
            "a node with its backends up", timeout=60)
        self.assertNotIn('id="first-run"',
                         self.admin.expect("GET", "/", 200).text)
        # Teachers see no checklist.
        t = self.client("t1@example.com").expect("GET", "/", 200).text
        self.assertNotIn('id="first-run"', t)


if __name__ == "__main__":
    harness.main()
