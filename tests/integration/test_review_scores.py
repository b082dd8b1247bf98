#!/usr/bin/env python3
"""Teachers' score adjustments and their audit trail (issue 12).

A throw-away PostgreSQL, one stand-in model that gives every criterion
4, and the real server. A student's short clip is scored once; then, in
order:

  - a student cannot adjust (403) or read the trail (403); nobody signed
    in gets 401;
  - refusals in plain words (400): a score outside the rubric's 1..5, not
    a whole number, an empty or too long comment, an unknown criterion,
    an unscored submission, taking back an adjustment that does not
    exist; an unknown submission is 404, a missing CSRF header 403; none
    of them leaves a trace or bumps review_seq;
  - a teacher's adjustment changes the final score and the overall (mean
    of the final scores), bumps review_seq once, and is in the audit
    trail (who, when, before, after, comment); a second one is appended;
  - the student sees the adjusted score, the model's score beside it and
    the comment, on the page and in the JSON, but no trail; another
    student still gets 404;
  - the CSV export and the course page use the final scores and say
    which were adjusted; the student's list shows the final overall;
  - the WebSocket event of the change carries the new review_seq and the
    final overall;
  - the page's form: 303 back to the page when stored, the page again
    (400) with the words and the comment as typed when refused;
  - taking an adjustment back is a change with a comment (after: null);
  - a re-evaluation with another model score keeps the adjustment and
    flags the difference for staff only.
"""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from wsclient import WsClient  # noqa: E402

PW = "pw-12345678"


def form(client, path, fields, expect=303, csrf=True):
    """POST an HTML form (with the session's CSRF token), as a browser."""
    if csrf:
        fields = dict(fields, csrf=client.csrf_token)
    return client.expect("POST", path, expect,
                         body=urllib.parse.urlencode(fields),
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded"},
                         csrf=False)


class ReviewScores(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",),
                                  fake_kw={"extra_args": ["--score", "4"]}).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server] + cls.stack.fakes
        harness.create_users(cls.server, [
            (email, name, role, PW) for email, name, role in (
                ("admin@example.com", "Ada Admin", "admin"),
                ("t1@example.com", "T. Teacher", "teacher"),
                ("s1@example.com", "Sam Student", "student"),
                ("s2@example.com", "Sue Student", "student"))],
            course=None)
        cls.c = {}
        for who in ("admin", "t1", "s1", "s2"):
            cl = harness.Client(cls.server.url)
            cl.login(who + "@example.com", PW)
            cls.c[who] = cl
        r = form(cls.c["admin"], "/courses", {"code": "RS1",
                                              "title": "Review"})
        cls.course = int(r.header("Location").rsplit("/", 1)[1])
        for email, role in (("t1@example.com", "teacher"),
                            ("s1@example.com", "student"),
                            ("s2@example.com", "student")):
            form(cls.c["admin"], "/courses/%d/members" % cls.course,
                 {"email": email, "role": role, "section": "A"})
        harness.create_assignment(cls.c["t1"], cls.course)
        cls.sid = cls.c["s1"].upload(harness.short_intro("intro02"))["id"]
        sub = cls.c["t1"].wait_for(cls.sid)
        assert sub["status"] == "completed", sub
        # An unscored submission: failed before any evaluation.
        cls.failed = int(cls.pg.psql(
            "INSERT INTO submissions (student_id, stored_name, size_bytes, "
            "phase, status, error_message) SELECT id, 'gone.mp4', 1, "
            "'failed', 'failed', 'test' FROM users WHERE email = "
            "'s2@example.com' RETURNING id").splitlines()[0])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def api(self, sid=None):
        return "/api/v1/submissions/%d" % (sid or self.sid)

    def get(self, who="t1", sid=None):
        return self.c[who].get_json(self.api(sid))

    def adjust(self, criterion, score, comment, expect=200, who="t1",
               sid=None):
        r = self.c[who].expect(
            "POST", self.api(sid) + "/scores", expect,
            body=json.dumps({"criterion": criterion, "score": score,
                             "comment": comment}),
            headers={"Content-Type": "application/json",
                     "Accept": "application/json"})
        return r.json()

    def audit(self):
        return self.c["t1"].get_json(self.api() + "/audit")["audit"]

    # ---------------------------------------------------------------- tests

    def test_1_students_cannot_adjust(self):
        sub = self.get("s1")
        self.assertEqual(sub["final"]["scores"],
                         {"content": 4, "organization": 4, "delivery": 4,
                          "language": 4})
        self.assertEqual(sub["final"]["overall"], 4)
        self.assertEqual(sub["final"]["adjusted"], [])
        self.assertEqual(sub["adjustments"], [])
        self.adjust("content", 5, "I did well", expect=403, who="s1")
        self.c["s1"].expect("GET", self.api() + "/audit", 403)
        self.c["s2"].expect("GET", self.api(), 404)
        harness.Client(self.server.url).expect(
            "POST", self.api() + "/scores", 401, body="{}")

    def test_2_refusals_in_words(self):
        seq = self.get()["review_seq"]
        for crit, score, comment, words in (
                ("content", 6, "too high", "from 1 to 5"),
                ("content", 0, "too low", "from 1 to 5"),
                ("content", "4", "a string", "whole number"),
                ("content", 4.5, "a fraction", "whole number"),
                ("content", 3, "   \n ", "comment is required"),
                ("content", 3, "x" * 2001, "2000"),
                ("charisma", 3, "no such", "content, organization"),
                ("content", None, "take back", "has not been adjusted")):
            err = harness.error_message(
                self.adjust(crit, score, comment, expect=400))
            self.assertIn(words, err, (crit, score))
        err = harness.error_message(self.adjust(
            "content", 3, "not yet", expect=400, sid=self.failed))
        self.assertIn("not been scored", err)
        self.adjust("content", 3, "nobody", expect=404, sid=999999)
        # Without the CSRF header a cookie session is refused.
        self.c["t1"].expect("POST", self.api() + "/scores", 403,
                            body=json.dumps({"criterion": "content",
                                             "score": 3, "comment": "x"}),
                            csrf=False)
        self.assertEqual(self.audit(), [])
        self.assertEqual(self.get()["review_seq"], seq)

    def test_3_adjust_and_audit(self):
        seq = self.get()["review_seq"]
        out = self.adjust("content", 2, "  Too few details about your "
                          "studies.  ")
        self.assertEqual(out["final"]["scores"]["content"], 2)
        self.assertEqual(out["final"]["overall"], 3.5)
        self.assertEqual(out["final"]["model_overall"], 4)
        self.assertEqual(out["final"]["adjusted"], ["content"])
        self.assertEqual(len(out["audit"]), 1)
        self.assertEqual(self.get()["review_seq"], seq + 1)
        out = self.adjust("content", 3, "On a second look: the goals "
                          "were specific.")
        self.assertEqual(out["final"]["overall"], 3.75)
        trail = self.audit()
        self.assertEqual(len(trail), 2)
        first, second = trail
        self.assertEqual((first["criterion"], first["before"],
                          first["after"], first["model_score"]),
                         ("content", 4, 2, 4))
        self.assertEqual(first["comment"],
                         "Too few details about your studies.")
        self.assertEqual(first["by"], "T. Teacher")
        self.assertEqual(first["by_id"], self.c["t1"].me["id"])
        self.assertRegex(first["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((second["before"], second["after"]), (2, 3))
        self.assertEqual(self.get()["review_seq"], seq + 2)
        adj = self.get()["adjustments"]
        self.assertEqual(len(adj), 1)
        self.assertEqual((adj[0]["score"], adj[0]["model_score"],
                          adj[0]["model_changed"]), (3, 4, False))
        # The trail cannot be rewritten, even from SQL.
        with self.assertRaises(Exception):
            self.pg.psql("UPDATE score_audit SET after_score = 5")

    def test_4_student_sees_adjusted_not_trail(self):
        sub = self.get("s1")
        self.assertEqual(sub["final"]["scores"]["content"], 3)
        self.assertEqual(sub["final"]["overall"], 3.75)
        self.assertNotIn("audit", sub)
        adj = sub["adjustments"][0]
        self.assertEqual((adj["criterion"], adj["score"], adj["model_score"],
                          adj["by"]), ("content", 3, 4, "T. Teacher"))
        self.assertIn("goals were specific", adj["comment"])
        for staff_only in ("model_changed", "by_id", "model_score_then"):
            self.assertNotIn(staff_only, adj)
        page = self.c["s1"].expect("GET", "/submissions/%d" % self.sid,
                                   200).text
        row = page[page.index('id="criterion-content"'):]
        row = row[:row.index("</tr>")]
        self.assertIn('<td class="criterion-score">3</td>', row)
        self.assertIn('class="adjusted-note"', row)
        self.assertIn("Adjusted by T. Teacher", row)
        self.assertIn("Model's score: 4", row)
        self.assertIn('id="overall-score">3.8<', page)
        self.assertIn('id="overall-note"', page)
        self.assertNotIn("adjust-form", page)
        self.assertNotIn("score-audit", page)
        self.c["s2"].expect("GET", "/submissions/%d" % self.sid, 404)
        mine = self.c["s1"].get_json("/api/v1/submissions")["submissions"]
        self.assertEqual([s["overall"] for s in mine
                          if s["id"] == self.sid], [3.8])
        # Staff see the form and the trail.
        page = self.c["t1"].expect("GET", "/submissions/%d" % self.sid,
                                   200).text
        self.assertIn('class="adjust-form"', page)
        self.assertIn("Changes to the scores", page)
        self.assertIn("2 → 3", page)

    def test_5_csv_and_course_results(self):
        r = self.c["t1"].expect("GET", "/courses/%d/results.csv" %
                                self.course, 200)
        lines = r.text.strip().split("\r\n")
        head = lines[0].split(",")
        self.assertEqual(head[-1], "adjusted")
        row = next(l for l in lines if "s1@example.com" in l).split(",")
        self.assertEqual(row[head.index("overall")], "3.8")
        self.assertEqual(row[head.index('"content"')], "3")
        self.assertEqual(row[head.index('"delivery"')], "4")
        self.assertEqual(row[-1], '"content"')
        row2 = next(l for l in lines if "s2@example.com" in l).split(",")
        self.assertEqual(row2[-1], '""')
        page = self.c["t1"].expect("GET", "/courses/%d" % self.course,
                                   200).text
        results = page[page.index('id="results-table"'):]
        self.assertIn('data-adjusted="1"', results)
        self.assertIn('class="adjusted-mark"', results)
        self.assertIn(">3.8<", results)

    def test_6_live_event_carries_the_change(self):
        seq = self.get()["review_seq"]
        ws = WsClient.connect(self.server.url, cookie="introeval_session=" +
                              self.c["t1"].cookies["introeval_session"])
        try:
            self.assertEqual(ws.recv_json(5)["type"], "hello")
            ws.send_json({"type": "subscribe",
                          "topic": "submission:%d" % self.sid})
            # Adjust only once the hub has the subscription: an event
            # sent before it is not this socket's to receive.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                m = ws.recv_json(2)
                if m and m.get("type") == "subscribed":
                    break
            else:
                self.fail("the subscription was not confirmed")
            self.adjust("delivery", 5, "Fluent and confident.")
            deadline = time.monotonic() + 20
            seen = None
            while time.monotonic() < deadline:
                m = ws.recv_json(2)
                if (m and m.get("type") == "submission" and
                        m.get("review_seq", 0) > seq):
                    seen = m
                    break
            self.assertIsNotNone(seen, "no event after the adjustment")
            self.assertEqual(seen["review_seq"], seq + 1)
            self.assertEqual(seen["overall"], 4.0)   # (3 + 4 + 5 + 4) / 4
        finally:
            ws.close()

    def test_7_page_form(self):
        page = "/submissions/%d" % self.sid
        r = form(self.c["t1"], page + "/scores", {
            "criterion": "language", "score": "2",
            "comment": "Several grammar slips."})
        self.assertEqual(r.header("Location"),
                         page + "#criterion-language")
        self.assertEqual(self.get()["final"]["scores"]["language"], 2)
        r = form(self.c["t1"], page + "/scores", {
            "criterion": "language", "score": "9",
            "comment": "keep <this> text"}, expect=400)
        self.assertIn("from 1 to 5", r.text)
        self.assertIn("keep &lt;this&gt; text</textarea>", r.text)
        self.assertIn('<details class="adjust" open>', r.text)
        form(self.c["t1"], page + "/scores", {
            "criterion": "language", "score": "3", "comment": "x"},
            expect=403, csrf=False)
        form(self.c["s1"], page + "/scores", {
            "criterion": "language", "score": "5", "comment": "x"},
            expect=403)
        self.assertEqual(self.get()["final"]["scores"]["language"], 2)

    def test_8_take_back(self):
        out = self.adjust("language", None, "The slips were the "
                          "transcriber's, not yours.")
        self.assertEqual(out["final"]["scores"]["language"], 4)
        self.assertEqual(out["final"]["adjusted"], ["content", "delivery"])
        last = out["audit"][-1]
        self.assertEqual((last["criterion"], last["before"], last["after"],
                          last["model_score"]), ("language", 2, None, 4))
        page = self.c["t1"].expect("GET", "/submissions/%d" % self.sid,
                                   200).text
        self.assertIn("2 → the model&#39;s score (4)", page)

    def test_9_reevaluation_keeps_and_flags(self):
        before = self.get()["evaluation"]["id"]
        self.stack.fakes[0].control(score=2)
        self.pg.psql(
            "UPDATE submissions SET phase = 'llm', status = 'pending', "
            "retry_count = 0, attempts = 0, crashes = 0, "
            "completed_at = NULL, next_attempt_at = now() WHERE id = %d"
            % self.sid)
        sub = harness.wait_until(
            lambda: (lambda s: s if s["status"] == "completed" and
                     s["evaluation"]["id"] != before else None)(self.get()),
            "a second evaluation", timeout=120)
        self.assertEqual(sub["evaluation"]["scores"]["content"], 2)
        final = sub["final"]
        self.assertEqual(final["scores"], {"content": 3, "delivery": 5,
                                           "organization": 2,
                                           "language": 2})
        self.assertEqual(final["overall"], 3.0)
        self.assertEqual(final["adjusted"], ["content", "delivery"])
        adj = {a["criterion"]: a for a in sub["adjustments"]}
        self.assertTrue(adj["content"]["model_changed"])
        self.assertEqual((adj["content"]["model_score"],
                          adj["content"]["model_score_then"]), (2, 4))
        page = self.c["t1"].expect("GET", "/submissions/%d" % self.sid,
                                   200).text
        self.assertIn("Re-evaluated since: the model now gives 2, it gave "
                      "4 when this was adjusted.", page)
        spage = self.c["s1"].expect("GET", "/submissions/%d" % self.sid,
                                    200).text
        self.assertNotIn("Re-evaluated since", spage)
        self.assertIn("Model's score: 2", spage)


if __name__ == "__main__":
    harness.main()
