#!/usr/bin/env python3
"""Accounts from sign-up to deletion, join codes, roster import, course
administration (issue 13).

A throw-away PostgreSQL, one fake Ollama and the real server, shared by
every test. An admin, two teachers (each with a course) and students:

  - staff edit a name and email (unique without regard to case; a taken
    one is refused in words); a teacher edits their own course's students
    only (404 for others, 403 for a teacher of their course);
  - disabling: sign-in is refused with the words the issue gives, the
    account's sessions stop working at once, and its open WebSocket is
    closed (long before the periodic check); enabling lets it back in;
  - a reset code is shown once, works once and expires (its expiry is
    moved into the past with SQL); passwords change with the current one;
    sign out everywhere ends every session;
  - signup with a join code: a bad code and an archived course's code are
    refused (no account made), the form keeps what was typed but the
    password; a good code enrols, signs in and lands on the home page;
  - roster import: a preview with two bad rows imports nothing, the fixed
    file imports all rows in one go, each new student's code works once;
  - rename, archive (join code and enrolment refused) and un-enrol (the
    submissions stay); the JSON API for all of it, CSRF header included;
  - no code or password appears in the server's log.

Run: python3 tests/integration/test_accounts.py (INTROEVAL_BIN names the
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
from wsclient import Closed, WsClient  # noqa: E402

PW = "pw-12345678"
DISABLED = ("This account is disabled. Ask your teacher or the lab's "
            "admin.")
CODE_RE = r"[a-z2-9]{4}(?:-[a-z2-9]{4}){6}"


def form(client, path, fields, expect=303):
    """POST an HTML form (with the CSRF token when signed in)."""
    if client.csrf_token:
        fields = dict(fields, csrf=client.csrf_token)
    return client.expect("POST", path, expect,
                         body=urllib.parse.urlencode(fields), headers={
                             "Content-Type":
                             "application/x-www-form-urlencoded"},
                         csrf=False)


def api(client, method, path, obj, expect):
    body = obj if isinstance(obj, str) else json.dumps(obj)
    return client.expect(method, path, expect, body=body, headers={
        "Content-Type": "application/json"})


class Accounts(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server]
        people = [("admin@example.com", "Ada Admin", "admin"),
                  ("t1@example.com", "Tess Teacher", "teacher"),
                  ("t2@example.com", "Tom Teacher", "teacher")]
        people += [("s%d@example.com" % i, "Student %d" % i, "student")
                   for i in range(1, 7)]
        # Teachers teach only the courses made below (not the harness's
        # default one, where every student also is).
        harness.create_users(cls.server, [p + (PW,) for p in people
                                          if p[2] == "student"])
        harness.create_users(cls.server, [p + (PW,) for p in people
                                          if p[2] != "student"], course=None)
        cls.c = {}
        for email, _, _ in people:
            cls.c[email.split("@")[0]] = cls.signin(email)
        cls.ids = {k: v.me["id"] for k, v in cls.c.items()}
        admin = cls.c["admin"]
        cls.course = {}
        for code, teacher, students in (("ACC1", "t1", ("s1", "s2", "s3")),
                                        ("ACC2", "t2", ("s4",))):
            r = form(admin, "/courses", {"code": code, "title": code})
            cid = int(r.header("Location").rsplit("/", 1)[1])
            cls.course[code] = cid
            form(admin, "/courses/%d/members" % cid, {
                "email": teacher + "@example.com", "role": "teacher"})
            for s in students:
                form(admin, "/courses/%d/members" % cid, {
                    "email": s + "@example.com", "role": "student",
                    "section": "A"})

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def signin(cls, email, password=PW):
        c = harness.Client(cls.server.url, timeout=60)
        c.login(email, password)
        return c

    def login_status(self, email, password):
        c = harness.Client(self.server.url)
        r = c.request("POST", "/login", urllib.parse.urlencode(
            {"email": email, "password": password,
             "signin_csrf": c.signin_form_token()}), {
                "Content-Type": "application/x-www-form-urlencoded"},
            csrf=False)
        return r.status, r.text

    def join_code(self, cid):
        return self.pg.psql("SELECT join_code FROM courses WHERE id = %d" %
                            cid)

    # ---- edit, and who may -------------------------------------------

    def test_edit_name_and_email(self):
        t1, sid = self.c["t1"], self.ids["s2"]
        form(t1, "/users/%d" % sid, {"action": "save", "name": "Sofia Two",
                                     "email": "S2.New@Example.com"})
        page = t1.expect("GET", "/users/%d?done=saved" % sid, 200).text
        self.assertIn("Sofia Two", page)
        self.assertIn("Saved.", page)
        # Taken, whatever the capitals: refused in words, form kept.
        r = form(t1, "/users/%d" % sid, {"action": "save", "name": "X",
                                         "email": "S1@EXAMPLE.COM"}, 422)
        self.assertIn("the email S1@EXAMPLE.COM belongs to another "
                      "account", r.text)
        self.assertIn('value="X"', r.text)
        r = form(t1, "/users/%d" % sid, {"action": "save", "name": "",
                                         "email": "nope"}, 422)
        self.assertIn("a name is needed", r.text)
        # The new email signs in, any case.
        self.assertEqual(self.login_status("s2.new@example.com", PW)[0], 303)
        got = api(self.c["admin"], "PATCH", "/api/v1/users/%d" % sid,
                  {"email": "s2@example.com", "name": "Student 2"},
                  200).json()
        self.assertEqual(got["email"], "s2@example.com")
        self.assertEqual(self.login_status("s2@example.com", PW)[0], 303)

    def test_teacher_limited_to_own_students(self):
        t1 = self.c["t1"]
        t1.expect("GET", "/users/%d" % self.ids["s1"], 200)
        # Another course's student, or nobody: 404 as if not there.
        t1.expect("GET", "/users/%d" % self.ids["s4"], 404)
        api(t1, "PATCH", "/api/v1/users/%d" % self.ids["s4"],
            {"name": "Hacked"}, 404)
        t1.expect("GET", "/users/999999", 404)
        api(t1, "POST", "/api/v1/users/%d/reset" % self.ids["s4"], {}, 404)
        # A teacher of their own course (or an admin): 403, never changed.
        cid = self.course["ACC1"]
        form(self.c["admin"], "/courses/%d/members" % cid, {
            "email": "t2@example.com", "role": "teacher"})
        r = api(t1, "PATCH", "/api/v1/users/%d" % self.ids["t2"],
                {"disabled": True}, 403).json()
        self.assertIn("students only", harness.error_message(r))
        form(t1, "/users/%d" % self.ids["t2"], {"action": "disable"}, 403)
        self.assertEqual(self.pg.psql("SELECT disabled FROM users WHERE "
                                      "id = %d" % self.ids["t2"]), "f")
        # Students have no staff pages at all.
        self.c["s1"].expect("GET", "/users/%d" % self.ids["s2"], 403)
        api(self.c["s1"], "PATCH", "/api/v1/users/%d" % self.ids["s2"],
            {"name": "x"}, 403)
        # The JSON API wants the CSRF header with a cookie session.
        r = t1.request("PATCH", "/api/v1/users/%d" % self.ids["s1"],
                       body=json.dumps({"name": "x"}), csrf=False,
                       headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 403)

    # ---- disable -----------------------------------------------------

    def test_disable_ends_sessions_and_websocket(self):
        sid = self.ids["s3"]
        s3 = self.signin("s3@example.com")
        cookie = "introeval_session=" + s3.cookies["introeval_session"]
        ws = WsClient.connect(self.server.url, cookie=cookie)
        try:
            ws.send_json({"type": "subscribe", "topic": "mine"})
            ws.drain(0.5)
            t0 = time.monotonic()
            form(self.c["t1"], "/users/%d" % sid, {"action": "disable"})
            # The session is gone at once.
            s3.expect("GET", "/api/v1/me", 401)
            self.assertEqual(self.pg.psql(
                "SELECT count(*) FROM sessions WHERE user_id = %d" % sid),
                "0")
            # The socket is closed on the notification, not a minute on.
            with self.assertRaises(Closed):
                while time.monotonic() - t0 < 60:
                    ws.recv(timeout=5)
            self.assertLess(time.monotonic() - t0, 60)
        finally:
            ws.abort()
        status, text = self.login_status("s3@example.com", PW)
        self.assertEqual(status, 401)
        self.assertIn(DISABLED.replace("'", "&#39;"), text)
        # A wrong password says nothing about the account.
        status, text = self.login_status("s3@example.com", "wrong-pass")
        self.assertIn("wrong email or password", text)
        page = self.c["admin"].expect("GET", "/admin/users", 200).text
        self.assertRegex(page, r"Student 3</a> <span class=\"chip\">"
                         r"disabled")
        api(self.c["admin"], "PATCH", "/api/v1/users/%d" % sid,
            {"disabled": False}, 200)
        self.assertEqual(self.login_status("s3@example.com", PW)[0], 303)
        # No one disables themselves.
        api(self.c["admin"], "PATCH", "/api/v1/users/%d" %
            self.ids["admin"], {"disabled": True}, 422)

    # ---- reset codes, passwords, sign out everywhere -----------------

    def test_reset_code_once_and_expiry(self):
        sid = self.ids["s5"]
        r = form(self.c["admin"], "/users/%d" % sid, {"action": "reset"},
                 200)
        code = re.search(r'id="reset-code">(%s)<' % CODE_RE, r.text).group(1)
        # Shown once: the page itself does not show it again.
        again = self.c["admin"].expect("GET", "/users/%d" % sid, 200).text
        self.assertNotIn(code, again)
        self.assertEqual(self.pg.psql(
            "SELECT count(*) FROM account_codes WHERE code_hash LIKE '%%%s%%'"
            % code.replace("-", "")), "0")
        anon = harness.Client(self.server.url)
        page = anon.expect("GET", "/reset?code=" + code, 200).text
        self.assertIn('value="%s"' % code, page)
        r = form(anon, "/reset", {"code": code, "password": "short",
                                  "password2": "short"}, 422)
        self.assertIn("at least 8 characters", r.text)
        r = form(anon, "/reset", {"code": code.upper().replace("-", " "),
                                  "password": "new-pass-5",
                                  "password2": "new-pass-5"}, 200)
        self.assertIn("Your password is set", r.text)
        self.assertEqual(self.login_status("s5@example.com", PW)[0], 401)
        self.assertEqual(self.login_status("s5@example.com",
                                           "new-pass-5")[0], 303)
        r = form(anon, "/reset", {"code": code, "password": "other-pass",
                                  "password2": "other-pass"}, 422)
        self.assertIn("used already, it has expired", r.text)
        # The API gives the code once too; an expired one fails.
        got = api(self.c["t1"], "POST", "/api/v1/users/%d/reset" %
                  self.ids["s1"], {}, 201).json()
        self.assertRegex(got["code"], CODE_RE)
        self.assertEqual(got["valid_hours"], 72)
        self.pg.psql("UPDATE account_codes SET expires_at = now() - "
                     "interval '1 second' WHERE user_id = %d" %
                     self.ids["s1"])
        form(anon, "/reset", {"code": got["code"], "password": "x-pass-123",
                              "password2": "x-pass-123"}, 422)
        self.assertEqual(self.login_status("s1@example.com", PW)[0], 303)
        self.assertNotIn(code, self.server.log_text())
        self.assertNotIn(got["code"], self.server.log_text())
        self.assertNotIn("new-pass-5", self.server.log_text())

    def test_change_password_and_signout_everywhere(self):
        one = self.signin("s6@example.com")
        two = self.signin("s6@example.com")
        r = form(one, "/account/password", {
            "current": "wrong", "password": "brand-new-6",
            "password2": "brand-new-6"}, 422)
        self.assertIn("the current password is not right", r.text)
        r = form(one, "/account/password", {
            "current": PW, "password": "brand-new-6",
            "password2": "other"}, 422)
        self.assertIn("the two new passwords differ", r.text)
        form(one, "/account/password", {"current": PW, "password":
                                        "brand-new-6",
                                        "password2": "brand-new-6"})
        self.assertIn("Your password is changed",
                      one.expect("GET", "/account?done=password", 200).text)
        # Other sessions are kept until the user says otherwise.
        two.expect("GET", "/api/v1/me", 200)
        api(two, "POST", "/api/v1/me/password",
            {"current": "brand-new-6", "password": "x"}, 422)
        api(two, "POST", "/api/v1/me/password",
            {"current": "brand-new-6", "password": PW}, 200)
        page = one.expect("GET", "/account", 200).text
        self.assertIn("this one too", page)
        r = form(one, "/account/signout-all", {})
        self.assertEqual(r.header("Location"), "/login")
        one.expect("GET", "/api/v1/me", 401)
        two.expect("GET", "/api/v1/me", 401)
        three = self.signin("s6@example.com")
        self.assertEqual(api(three, "POST", "/api/v1/me/signout-all", {},
                             200).json()["ended"], 1)
        three.expect("GET", "/api/v1/me", 401)

    # ---- signup --------------------------------------------------------

    def signup(self, client, code, email, expect, name="New Student",
               password="signup-pw-1"):
        return form(client, "/signup", {"name": name, "email": email,
                                        "signin_csrf":
                                        client.signin_form_token("/signup"),
                                        "password": password,
                                        "join_code": code}, expect)

    def test_signup_with_join_code(self):
        cid = self.course["ACC1"]
        code = self.join_code(cid)
        self.assertRegex(code, r"^[A-HJ-NP-Z2-9]{8}$")
        self.assertIn(code, self.c["t1"].expect(
            "GET", "/courses/%d" % cid, 200).text)
        anon = harness.Client(self.server.url)
        r = self.signup(anon, "WRONG123", "new1@example.com", 422)
        self.assertIn("this join code does not open any course", r.text)
        self.assertIn('value="new1@example.com"', r.text)
        self.assertIn('value="New Student"', r.text)
        self.assertNotIn("signup-pw-1", r.text)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM users WHERE "
                                      "email = 'new1@example.com'"), "0")
        r = self.signup(anon, code, "s1@example.com", 422)
        self.assertIn("already exists", r.text)
        r = self.signup(anon, code.lower(), "new1@example.com", 303)
        self.assertEqual(r.header("Location"), "/")
        home = anon.expect("GET", "/", 200).text
        self.assertIn("New Student", home)
        self.assertEqual(self.pg.psql(
            "SELECT m.role || '/' || m.section FROM course_members m JOIN "
            "users u ON u.id = m.user_id WHERE u.email = 'new1@example.com' "
            "AND m.course_id = %d" % cid), "student/")
        # An archived course's code does not work; a new code replaces.
        c2 = self.course["ACC2"]
        old = self.join_code(c2)
        form(self.c["t2"], "/courses/%d/manage" % c2, {"action": "new_code"})
        new = self.join_code(c2)
        self.assertNotEqual(old, new)
        self.signup(harness.Client(self.server.url), old,
                    "new2@example.com", 422)
        api(self.c["t2"], "PATCH", "/api/v1/courses/%d" % c2,
            {"archived": True}, 200)
        try:
            r = self.signup(harness.Client(self.server.url), new,
                            "new2@example.com", 422)
            self.assertIn("archived", r.text)
        finally:
            api(self.c["t2"], "PATCH", "/api/v1/courses/%d" % c2,
                {"archived": False}, 200)
        self.signup(harness.Client(self.server.url), new,
                    "new2@example.com", 303)

    # ---- roster import -------------------------------------------------

    def test_roster_import(self):
        cid = self.course["ACC2"]
        t2 = self.c["t2"]
        bad = ('\ufeffemail,name,section,student_number\r\n'
               'r1@example.com,"Lee, Ann",B,"2024-""01"""\r\n'
               'not-an-email,Bob,B,2\r\n'
               'r3@example.com,,B,3\r\n'
               's4@example.com,Student 4,C,4\r\n'
               't1@example.com,Tess,B,5\r\n')
        r = form(t2, "/courses/%d/roster" % cid, {"action": "preview",
                                                  "csv": bad}, 422)
        self.assertIn("&quot;not-an-email&quot; is not an email address",
                      r.text)
        self.assertIn("the name is missing", r.text)
        self.assertIn("belongs to a teacher account", r.text)
        self.assertIn("Nothing was imported", r.text)
        self.assertNotIn('id="roster-confirm"', r.text)
        # Even a direct "import" of the bad file writes nothing.
        form(t2, "/courses/%d/roster" % cid, {"action": "import",
                                              "csv": bad}, 422)
        got = api(t2, "POST", "/api/v1/courses/%d/roster?dry_run=1" % cid,
                  bad, 422).json()
        self.assertEqual(got["errors"], 3)
        self.assertEqual([x["status"] for x in got["rows"]],
                         ["new", "error", "error", "enrolled", "error"])
        self.assertEqual(got["rows"][0]["name"], "Lee, Ann")
        self.assertEqual(got["rows"][0]["student_number"], '2024-"01"')
        self.assertEqual(self.pg.psql("SELECT count(*) FROM users WHERE "
                                      "email LIKE 'r_@example.com'"), "0")
        dup = "email,name,section\nr1@example.com,A,B\nR1@example.com,C,D\n"
        got = api(t2, "POST", "/api/v1/courses/%d/roster?dry_run=1" % cid,
                  dup, 422).json()
        self.assertIn("also on line 2", got["rows"][1]["error"])
        got = api(t2, "POST", "/api/v1/courses/%d/roster" % cid,
                  "name,section\nx,y\n", 422).json()
        self.assertIn("header", got["file_error"])
        good = ('\ufeffemail,name,section,student_number\r\n'
                'r1@example.com,"Lee, Ann",B,"2024-""01"""\r\n'
                'r2@example.com,Bob Roe,B,2\r\n'
                'r3@example.com,Cy Doe,B,3\r\n'
                's4@example.com,Student 4,C,4\r\n'
                's1@example.com,Student 1,B,6\r\n')
        r = form(t2, "/courses/%d/roster" % cid, {"action": "preview",
                                                  "csv": good}, 200)
        self.assertIn('id="roster-confirm"', r.text)
        self.assertIn("Existing account, will be enrolled", r.text)
        r = form(t2, "/courses/%d/roster" % cid, {"action": "import",
                                                  "csv": good}, 200)
        codes = dict(re.findall(r'<td class="lead" data-label="Email">'
                                r'([^<]+)</td>.*?<code>(%s)</code>' %
                                CODE_RE, r.text))
        self.assertEqual(sorted(codes), ["r1@example.com", "r2@example.com",
                                         "r3@example.com"])
        self.assertIn("download=", r.text)
        self.assertIn("data:text/csv", r.text)
        self.assertEqual(self.pg.psql(
            "SELECT string_agg(u.email || ':' || m.section || ':' || "
            "m.student_number, ' ' ORDER BY u.email) FROM course_members m "
            "JOIN users u ON u.id = m.user_id WHERE m.course_id = %d AND "
            "m.role = 'student'" % cid),
            'r1@example.com:B:2024-"01" r2@example.com:B:2 '
            'r3@example.com:B:3 s1@example.com:B:6 s4@example.com:C:4')
        # Shown once: the manage page does not show them again.
        page = t2.expect("GET", "/courses/%d/manage" % cid, 200).text
        for code in codes.values():
            self.assertNotIn(code, page)
        # No password yet; the code sets one, once.
        self.assertEqual(self.login_status("r2@example.com", "")[0], 401)
        anon = harness.Client(self.server.url)
        form(anon, "/reset", {"code": codes["r2@example.com"],
                              "password": "roster-pw-2",
                              "password2": "roster-pw-2"}, 200)
        self.assertEqual(self.login_status("r2@example.com",
                                           "roster-pw-2")[0], 303)
        form(anon, "/reset", {"code": codes["r2@example.com"],
                              "password": "roster-pw-3",
                              "password2": "roster-pw-3"}, 422)
        for code in codes.values():
            self.assertNotIn(code, self.server.log_text())
        # A teacher of another course cannot import into this one.
        api(self.c["t1"], "POST", "/api/v1/courses/%d/roster" % cid, good,
            404)

    # ---- course rename, archive, un-enrol ----------------------------

    def test_rename_archive_unenrol(self):
        admin = self.c["admin"]
        r = form(admin, "/courses", {"code": "ACC3", "title": "Old title"})
        cid = int(r.header("Location").rsplit("/", 1)[1])
        form(admin, "/courses/%d/members" % cid, {
            "email": "t1@example.com", "role": "teacher"})
        form(admin, "/courses/%d/members" % cid, {
            "email": "s6@example.com", "role": "student"})
        t1 = self.c["t1"]
        form(t1, "/courses/%d/manage" % cid, {"action": "rename",
                                              "title": "New title"})
        self.assertIn("New title", t1.expect("GET", "/courses/%d" % cid,
                                             200).text)
        r = form(t1, "/courses/%d/manage" % cid, {"action": "rename",
                                                  "title": ""}, 422)
        self.assertIn("a course needs a title", r.text)
        got = api(t1, "PATCH", "/api/v1/courses/%d" % cid,
                  {"title": "API title"}, 200).json()
        self.assertEqual(got["title"], "API title")
        self.c["t2"].expect("GET", "/courses/%d/manage" % cid, 404)
        api(self.c["t2"], "PATCH", "/api/v1/courses/%d" % cid,
            {"title": "x"}, 404)
        # A teacher takes out students, not teachers.
        api(t1, "DELETE", "/api/v1/courses/%d/members/%d" %
            (cid, self.ids["t1"]), {}, 403)
        # Archived: listed apart, read-only.
        form(t1, "/courses/%d/manage" % cid, {"action": "archive"})
        courses = t1.expect("GET", "/courses", 200).text
        self.assertIn("Archived", courses)
        self.assertLess(courses.index('id="archived-h"'),
                        courses.index("API title"))
        r = form(admin, "/courses/%d/members" % cid, {
            "email": "s5@example.com", "role": "student"}, 422)
        self.assertIn("archived", r.text)
        api(t1, "DELETE", "/api/v1/courses/%d/members/%d" %
            (cid, self.ids["s6"]), {}, 409)
        api(t1, "POST", "/api/v1/courses/%d/roster" % cid,
            "email,name,section\nz@example.com,Z,A\n", 409)
        form(t1, "/courses/%d/manage" % cid, {"action": "unarchive"})
        # Un-enrol: the membership goes, the submissions stay.
        self.pg.psql("INSERT INTO submissions (student_id, course_id, "
                     "stored_name, size_bytes, phase, status) VALUES "
                     "(%d, %d, 'accounts-test.mp4', 1, 'failed', 'failed')"
                     % (self.ids["s6"], cid))
        form(t1, "/courses/%d/manage" % cid, {"action": "unenrol",
                                              "user_id": self.ids["s6"]})
        self.assertEqual(self.pg.psql(
            "SELECT count(*) FROM course_members WHERE course_id = %d AND "
            "user_id = %d" % (cid, self.ids["s6"])), "0")
        self.assertEqual(self.pg.psql(
            "SELECT count(*) FROM submissions WHERE student_id = %d" %
            self.ids["s6"]), "1")
        api(t1, "DELETE", "/api/v1/courses/%d/members/%d" %
            (cid, self.ids["s6"]), {}, 404)


if __name__ == "__main__":
    harness.main()
