#!/usr/bin/env python3
"""Time-coded comments on a recording and the student's reply (issue 12).

A throw-away PostgreSQL, one fake Ollama and the real server. Two
students each upload a short clip (nothing here waits for scoring: a
recording can be commented on from the moment it is stored); then:

  - a teacher comments at a moment (201, the comment back); the list
    comes ordered by the moment, for the teacher and the owning student;
  - another student gets 404 on the list and on replying, 403 on
    commenting (staff only), and never sees the comments on the page;
  - the owning student replies once (201), a second reply is 409 "you
    have already replied to this comment", staff cannot reply (403);
  - plain-words 400s: empty or blank body, over 2000 characters (2000
    multi-byte characters pass: characters, not bytes), negative at_s,
    at_s past the end, missing fields, not JSON; a moment just past the
    end is clamped to it; the JSON API wants the CSRF header;
  - a student subscribed to submission:ID over the WebSocket receives an
    event with a larger review_seq after the teacher comments, and again
    after their own reply;
  - the page's no-script forms: a teacher comments with "m:ss", the
    student replies, each 303s back to the page, which shows the marker
    (placed in percent of the duration), the comment and the reply, with
    the text escaped; a student's page has no comment form;
  - a teacher deletes their own comment; another teacher may not (403).

Run: python3 tests/integration/test_comments.py (INTROEVAL_BIN names the
binary).
"""

import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from wsclient import WsClient  # noqa: E402


def form(client, path, fields, expect=303):
    """POST an HTML form with the CSRF token, as a browser would."""
    body = urllib.parse.urlencode(dict(fields, csrf=client.csrf_token))
    return client.expect("POST", path, expect, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"}, csrf=False)


class Comments(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        pw = harness.create_users(cls.server, [
            (email, name, role, "pw-12345678")
            for email, name, role in (
                ("s1@example.com", "Sam Student", "student"),
                ("s2@example.com", "Other Student", "student"),
                ("t1@example.com", "Tess Teacher", "teacher"),
                ("t2@example.com", "Tom Teacher", "teacher"))])
        cls.users = {}
        for email in pw:
            c = harness.Client(cls.server.url, timeout=60)
            c.login(email, pw[email])
            cls.users[email.split("@")[0]] = c
        clip = harness.short_intro("intro02")
        cls.sid = cls.users["s1"].upload(clip)["id"]
        cls.other_sid = cls.users["s2"].upload(clip)["id"]
        cls.duration = cls.users["t1"].get_json(
            "/api/v1/submissions/%d" % cls.sid)["duration_s"]

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def comment(self, at_s, body, who="t1", sid=None, expect=201):
        return self.users[who].post_json(
            "/api/v1/submissions/%d/comments" % (sid or self.sid),
            {"at_s": at_s, "body": body}, expect=expect)

    def listing(self, who="t1", sid=None, expect=200):
        return self.users[who].get_json(
            "/api/v1/submissions/%d/comments" % (sid or self.sid), expect)

    def error(self, who, method, path, obj, status):
        r = self.users[who].expect(method, path, status,
                                   body=json.dumps(obj), headers={
                                       "Content-Type": "application/json",
                                       "Accept": "application/json"})
        return harness.error_message(r)

    def test_add_and_list_in_order(self):
        self.assertGreater(self.duration, 5)
        late = self.comment(4.25, "Slow down here.")
        early = self.comment(1.5, "Nice opening!")
        self.assertEqual(early["at_s"], 1.5)
        self.assertEqual(early["body"], "Nice opening!")
        self.assertEqual(early["author_name"], "Tess Teacher")
        self.assertEqual(early["submission_id"], self.sid)
        self.assertIsNone(early["reply"])
        self.assertTrue(early["created_at"].endswith("Z"))
        for who in ("t1", "t2", "s1"):
            got = self.listing(who)
            self.assertEqual(got["submission_id"], self.sid)
            moments = [c["at_s"] for c in got["comments"]]
            self.assertEqual(moments, sorted(moments), who)
            ids = [c["id"] for c in got["comments"]]
            self.assertLess(ids.index(early["id"]), ids.index(late["id"]))

    def test_only_the_owner_and_staff(self):
        c = self.comment(2, "Good eye contact.")
        s2 = "/api/v1/comments/%d/reply" % c["id"]
        self.listing("s2", expect=404)
        self.error("s2", "POST", s2, {"body": "not mine"}, 404)
        self.error("s2", "POST", "/api/v1/submissions/%d/comments" %
                   self.sid, {"at_s": 1, "body": "hi"}, 403)
        self.listing("t1", sid=999999, expect=404)
        self.comment(1, "nobody's", sid=999999, expect=404)
        self.error("s1", "POST", "/api/v1/comments/999999/reply",
                   {"body": "hello"}, 404)
        page = self.users["s2"].expect("GET", "/submissions/%d" %
                                       self.sid, 404).text
        self.assertNotIn("Good eye contact", page)
        # A comment on s2's own work stays theirs: s1 cannot read it.
        mine = self.comment(1, "For the other student.",
                            sid=self.other_sid)
        self.listing("s1", sid=self.other_sid, expect=404)
        self.error("s1", "POST", "/api/v1/comments/%d/reply" % mine["id"],
                   {"body": "not mine either"}, 404)

    def test_reply_once(self):
        c = self.comment(3, "Why did you choose this course?")
        path = "/api/v1/comments/%d/reply" % c["id"]
        msg = self.error("t1", "POST", path, {"body": "staff reply"}, 403)
        self.assertIn("student", msg)
        got = self.users["s1"].post_json(path, {"body": "  Because I like "
                                                "talking.\n"}, expect=201)
        self.assertEqual(got["id"], c["id"])
        self.assertEqual(got["reply"]["body"], "Because I like talking.")
        self.assertEqual(got["reply"]["author_name"], "Sam Student")
        msg = self.error("s1", "POST", path, {"body": "again"}, 409)
        self.assertEqual(msg, "you have already replied to this comment")
        listed = {x["id"]: x for x in self.listing("s1")["comments"]}
        self.assertEqual(listed[c["id"]]["reply"]["body"],
                         "Because I like talking.")

    def test_plain_words_for_bad_input(self):
        base = "/api/v1/submissions/%d/comments" % self.sid
        for obj, words in (({"at_s": 1, "body": ""}, "empty"),
                           ({"at_s": 1, "body": " \n\t "}, "empty"),
                           ({"at_s": 1, "body": "x" * 2001}, "2000"),
                           ({"at_s": -0.5, "body": "hi"}, "0 or more"),
                           ({"at_s": 1000, "body": "hi"}, "past the end"),
                           ({"at_s": "soon", "body": "hi"}, "at_s"),
                           ({"body": "hi"}, "at_s"),
                           ({"at_s": 1}, "body")):
            msg = self.error("t1", "POST", base, obj, 400)
            self.assertIn(words, msg, obj)
        r = self.users["t1"].expect("POST", base, 400, body="not json",
                                    headers={"Accept": "application/json"})
        self.assertIn("JSON", harness.error_message(r))
        # Characters, not bytes: 2000 two-byte characters are allowed.
        self.comment(1, "é" * 2000)
        # The player's clock may run a little past the rounded duration.
        end = self.comment(self.duration + 0.4, "At the very end.")
        self.assertLessEqual(end["at_s"], self.duration + 0.05)
        c = self.comment(2, "Reply to me.")
        msg = self.error("s1", "POST", "/api/v1/comments/%d/reply" %
                         c["id"], {"body": ""}, 400)
        self.assertIn("empty", msg)
        # Cookie sessions must show the CSRF header to the JSON API.
        self.users["t1"].expect("POST", base, 403, csrf=False,
                                body=json.dumps({"at_s": 1, "body": "x"}),
                                headers={"Accept": "application/json"})

    def test_live_event_on_comment_and_reply(self):
        s1 = self.users["s1"]
        ws = WsClient.connect(s1.base_url, cookie="introeval_session=" +
                              s1.cookies["introeval_session"])
        try:
            self.assertEqual(ws.recv_json(5)["type"], "hello")
            topic = "submission:%d" % self.sid
            ws.send_json({"type": "subscribe", "topic": topic, "since": 0})
            self.wait_event(ws, lambda m: m.get("type") == "subscribed")
            before = self.users["t1"].get_json(
                "/api/v1/submissions/%d" % self.sid)["review_seq"]
            c = self.comment(2.5, "Live one.")
            ev = self.wait_event(ws, lambda m: m.get("type") ==
                                 "submission" and m["id"] == self.sid and
                                 m["review_seq"] > before)
            s1.post_json("/api/v1/comments/%d/reply" % c["id"],
                         {"body": "Seen it."}, expect=201)
            self.wait_event(ws, lambda m: m.get("type") == "submission" and
                            m["review_seq"] > ev["review_seq"])
        finally:
            ws.close()

    def wait_event(self, ws, want, timeout=20):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            m = ws.recv_json(max(0.1, deadline - time.monotonic()))
            if m is None:
                continue
            if want(m):
                return m
            seen.append(m)
        self.fail("no such event in %d s; saw %s" % (timeout, seen[-5:]))

    def test_page_forms_and_markers(self):
        page = "/submissions/%d" % self.sid
        r = form(self.users["t1"], page + "/comments",
                 {"at_s": "0:03", "body": "Use <b>your</b> hands & voice"})
        self.assertEqual(r.header("Location"), page + "#comments")
        c = [x for x in self.listing("t1")["comments"]
             if x["body"].startswith("Use <b>")][0]
        self.assertEqual(c["at_s"], 3)
        r = form(self.users["t1"], page + "/comments",
                 {"at_s": "soon", "body": "x"}, expect=400)
        self.assertIn("1:15", r.text)
        html = self.users["s1"].expect("GET", page, 200).text
        self.assertIn('<div id="markers" class="timeline', html)
        marker = re.search(r'<button type="button" class="marker" '
                           r'data-id="%d" data-s="3" data-pct="([0-9.]+)" '
                           r'title="([^"]*)"' % c["id"], html)
        self.assertIsNotNone(marker, "no marker for the comment at 0:03")
        self.assertAlmostEqual(float(marker.group(1)),
                               300 / self.duration, delta=0.01)
        self.assertIn("0:03 — Tess Teacher: Use &lt;b&gt;your&lt;/b&gt; "
                      "hands &amp; voice", marker.group(2))
        self.assertIn('<section class="card" id="comments"', html)
        self.assertNotIn("<b>your</b>", html)
        self.assertNotIn('id="comment-form"', html)
        self.assertIn('action="/comments/%d/reply"' % c["id"], html)
        r = form(self.users["s1"], "/comments/%d/reply" % c["id"],
                 {"body": "I will try."})
        self.assertEqual(r.header("Location"), page + "#comments")
        html = self.users["s1"].expect("GET", page, 200).text
        self.assertNotIn('action="/comments/%d/reply"' % c["id"], html)
        self.assertIn("I will try.", html)
        form(self.users["s1"], "/comments/%d/reply" % c["id"],
             {"body": "twice"}, expect=409)
        staff = self.users["t1"].expect("GET", page, 200).text
        self.assertIn('id="comment-form"', staff)
        self.assertIn('id="comment-btn"', staff)

    def test_delete(self):
        c = self.comment(1, "Oops, wrong moment.")
        path = "/api/v1/comments/%d" % c["id"]
        self.users["t2"].expect("DELETE", path, 403)
        self.users["s1"].expect("DELETE", path, 403)
        self.users["t1"].expect("DELETE", path, 200)
        self.users["t1"].expect("DELETE", path, 404)
        ids = [x["id"] for x in self.listing("s1")["comments"]]
        self.assertNotIn(c["id"], ids)


if __name__ == "__main__":
    harness.main()
