#!/usr/bin/env python3
"""Consent, retention, data export, deletion requests, audit log (issue 13).

A throw-away PostgreSQL, one fake Ollama and the real server with
retention_days 30. Assignments and old submissions are made with SQL
(their API is built elsewhere). The tests run in order (their names are
numbered) since each builds on the state the one before left:

  1. no consent text: a student uploads without a consent step; the
     admin's checklist offers "Set the recording consent text";
  2. once the admin saves a text, all three upload paths (raw POST, tus
     POST, the home page's form) refuse with 403 and words until the
     student accepts it; a stale version is refused; a new version asks
     again; versions are immutable in the database;
  3. the export: a ZIP (stored entries, attachment) with data.json
     (account without password hash, submissions with transcript words,
     evaluations, final scores, comments and replies, consent
     acceptances) and the recordings still kept, byte for byte;
  4. `introeval retention-run` removes the files of finished submissions
     whose assignment closed (or, without a due date, that were uploaded)
     more than 30 days ago, nothing else; the media route answers 410,
     the result page says when and why, the transcript stays; a second
     run removes nothing;
  5. a deletion request (form, then 409 on asking again), carried out by
     the admin after a confirmation: files and rows gone, the in-pipeline
     submission cancelled first, the request kept as a record with the
     email's hash; other students untouched;
  6. the audit log: every action above, newest first, paginated;
  7. roles: who may use which route;
  8. three `retention-run`s at once remove each recording once;
  9. the periodic run (retention_interval_s 1) removes a recording that
     becomes due while the server runs.

Run: python3 tests/integration/test_privacy.py (INTROEVAL_BIN names the
binary).
"""

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REFUSAL = "Read and accept the recording consent on your home page first."
PW = "pw-12345678"
DAYS = 30


class Privacy(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.stack = harness.Stack(models=("mistral",), server_env={
            "INTROEVAL_RETENTION_DAYS": str(DAYS),
            "INTROEVAL_RETENTION_INTERVAL_S": "3600"}).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server] + cls.stack.fakes
        harness.create_users(cls.server, [
            (email, email.split("@")[0], role, PW)
            for email, role in (("s1@example.com", "student"),
                                ("s2@example.com", "student"),
                                ("s3@example.com", "student"),
                                ("t1@example.com", "teacher"),
                                ("a1@example.com", "admin"))])
        cls.ids = {e: int(cls.sql("SELECT id FROM users WHERE email = '%s'"
                                  % e)) for e in ("s1@example.com",
                                                  "s2@example.com",
                                                  "s3@example.com",
                                                  "a1@example.com")}
        cls.clients = {}
        cls.clip = harness.short_intro("intro01")
        with open(cls.clip, "rb") as f:
            cls.clip_bytes = f.read()
        cls.course = int(cls.sql(
            "INSERT INTO courses (code, title) VALUES ('PRV1', 'Privacy') "
            "RETURNING id"))
        harness.log("set-up took %.1f s" % (time.monotonic() - cls.t0))

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        harness.log("test_privacy took %.1f s" % (time.monotonic() - cls.t0))

    # ------------------------------------------------------------ helpers

    @classmethod
    def sql(cls, text):
        """psql's output without the command tag RETURNING adds."""
        out = cls.pg.psql(text).split("\n")
        return "\n".join(line for line in out if not re.match(
            r"^(INSERT|UPDATE|DELETE) \d+( \d+)?$", line))

    def client(self, email=None):
        """A signed-in client, one per account (signing in hashes the
        password, which takes a while); a fresh one without email."""
        if email is None:
            return harness.Client(self.server.url, timeout=60)
        if email not in self.clients:
            c = harness.Client(self.server.url, timeout=60)
            c.login(email, PW)
            self.clients[email] = c
        return self.clients[email]

    def form(self, c, path, fields, expect=303):
        fields = dict(fields, csrf=c.csrf_token)
        return c.expect("POST", path, expect,
                        body=urllib.parse.urlencode(fields),
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"},
                        csrf=False)

    def tus_create(self, c, expect):
        return c.expect("POST", "/api/v1/uploads", expect, headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(self.clip_bytes))})

    def old_submission(self, student, name, phase="completed",
                       status=None, due_days_ago=None, created_days_ago=40,
                       no_due=False, transcript=None, wav=True):
        """A finished (or not) submission made with SQL (one statement),
        with its files."""
        ctes, assignment = [], "NULL"
        if due_days_ago is not None or no_due:
            due = "NULL" if no_due else \
                "now() - interval '%d days'" % due_days_ago
            ctes.append(
                "a AS (INSERT INTO assignments (course_id, title, opens_at, "
                "due_at) VALUES (%d, 'A %s', now() - interval '60 days', "
                "%s) RETURNING id)" % (self.course, name, due))
            assignment = "(SELECT id FROM a)"
        status = status or phase
        # A submission waiting to be tried again much later stays in the
        # pipeline without the scheduler touching it.
        attempt = "now() + interval '30 days'" if status == "retry" \
            else "now()"
        ctes.append(
            "s AS (INSERT INTO submissions (student_id, stored_name, "
            "original_name, content_type, size_bytes, duration_s, phase, "
            "status, assignment_id, next_attempt_at, created_at, "
            "completed_at) VALUES (%d, '%s', '%s.mp4', 'video/mp4', 1000, "
            "6.5, '%s', '%s', %s, %s, now() - interval '%d days', "
            "now() - interval '%d days') RETURNING id)"
            % (student, name, name, phase, status, assignment, attempt,
               created_days_ago, created_days_ago))
        if transcript:
            ctes.append(
                "t AS (INSERT INTO transcripts (submission_id, engine, text, "
                "words, audio_s, decode_s) SELECT id, 'test', '%s', "
                "'[{\"w\":\"hello\",\"s\":0.5,\"e\":0.9,\"c\":1}]', "
                "6.5, 1 FROM s)" % transcript)
        sid = int(self.sql("WITH %s SELECT id FROM s" % ", ".join(ctes)))
        with open(os.path.join(self.server.uploads_dir, name), "wb") as f:
            f.write(b"v" * 1000)
        if wav:
            with open(os.path.join(self.server.uploads_dir, name + ".wav"),
                      "wb") as f:
                f.write(b"w" * 500)
        return sid

    def files_of(self, name):
        return sorted(f for f in os.listdir(self.server.uploads_dir)
                      if f == name or f.startswith(name + "."))

    def audit_actions(self):
        return self.sql("SELECT string_agg(action, ',' ORDER BY id) "
                        "FROM audit_log").split(",")

    # -------------------------------------------------------------- tests

    def test_1_no_consent_text_no_step(self):
        s1 = self.client("s1@example.com")
        st = s1.get_json("/api/v1/consent")
        self.assertIsNone(st["version"])
        self.assertFalse(st["required"])
        home = s1.expect("GET", "/", 200).text
        self.assertIn('id="upload-form"', home)
        self.assertNotIn('id="consent-agree"', home)
        # The admin's checklist offers the step (it is shown until the
        # lab is set up and has work: look before the first upload).
        admin = self.client("a1@example.com").expect("GET", "/", 200).text
        self.assertIn("Set the recording consent text", admin)
        self.assertIn('href="/admin/consent"', admin)
        sub = s1.upload(self.clip)
        type(self).first = s1.wait_for(sub["id"], ("completed",),
                                       timeout=180)

    def test_2_consent_required_on_every_upload_path(self):
        admin = self.client("a1@example.com")
        s1 = self.client("s1@example.com")
        # Bad input is refused in words.
        r = admin.expect("POST", "/api/v1/admin/consent", 400,
                         body=json.dumps({"text": "   "}),
                         headers={"Content-Type": "application/json"})
        self.assertIn("empty", harness.error_message(r))
        page = self.form(admin, "/admin/consent", {"text": "  \n "}, 422)
        self.assertIn("the consent text is empty", page.text)
        # Saved through the page: version 1.
        self.form(admin, "/admin/consent", {
            "text": "I agree that my recording <b>is</b> stored.\n"
                    "Line two."})
        page = admin.expect("GET", "/admin/consent", 200).text
        self.assertIn("&lt;b&gt;is&lt;/b&gt;", page)
        self.assertNotIn("<b>is</b>", page)
        st = s1.get_json("/api/v1/consent")
        self.assertEqual(st["required"], True)
        v1 = st["version"]
        self.assertIn("Line two.", st["text"])

        # All three upload paths refuse, in words.
        r = s1.expect("POST", "/api/v1/submissions", 403,
                      body=self.clip_bytes,
                      headers={"Content-Type": "video/mp4"})
        self.assertEqual(harness.error_message(r), REFUSAL)
        r = self.tus_create(s1, 403)
        self.assertEqual(harness.error_message(r), REFUSAL)
        home = s1.expect("GET", "/", 200).text
        self.assertIn('id="consent-agree"', home)
        self.assertIn("Line two.", home)
        self.assertNotIn('id="upload-form"', home)
        self.assertNotIn('id="record-start"', home)
        # Staff have nothing to accept.
        self.assertFalse(self.client("t1@example.com").get_json(
            "/api/v1/consent")["required"])

        # A stale version is refused; the page says so.
        r = s1.expect("POST", "/api/v1/consent", 409,
                      body=json.dumps({"version": v1 + 5}),
                      headers={"Content-Type": "application/json"})
        self.assertIn("changed", harness.error_message(r))
        r = self.form(s1, "/consent", {"version": str(v1 + 5)})
        self.assertIn("privacy=stale", r.header("Location"))
        self.assertIn("consent text changed",
                      s1.expect("GET", r.header("Location"), 200).text)
        # Accepted through the page's button: uploads work.
        r = self.form(s1, "/consent", {"version": str(v1)})
        self.assertIn("privacy=accepted", r.header("Location"))
        self.assertFalse(s1.get_json("/api/v1/consent")["required"])
        self.assertIn('id="upload-form"', s1.expect("GET", "/", 200).text)
        self.tus_create(s1, 201)
        type(self).second = s1.upload(self.clip)["id"]

        # A new version asks again; accepted through the API.
        v2 = admin.post_json("/api/v1/admin/consent",
                             {"text": "Version two of the consent."},
                             expect=201)["version"]
        self.assertGreater(v2, v1)
        r = s1.expect("POST", "/api/v1/submissions", 403,
                      body=self.clip_bytes,
                      headers={"Content-Type": "video/mp4"})
        self.assertEqual(harness.error_message(r), REFUSAL)
        st = s1.post_json("/api/v1/consent", {"version": v2})
        self.assertTrue(st["accepted"])
        self.assertFalse(st["required"])
        # Accepting twice changes nothing and is not an error.
        s1.post_json("/api/v1/consent", {"version": v2})
        self.assertEqual(self.sql(
            "SELECT count(*) FROM consent_acceptances WHERE user_id = %d"
            % self.ids["s1@example.com"]), "2")
        # Versions cannot be changed.
        with self.assertRaises(Exception):
            self.sql("UPDATE consent_texts SET body = 'x' WHERE version = %d"
                     % v1)
        # The others accept too, for the tests below.
        for e in ("s2@example.com", "s3@example.com"):
            self.client(e).post_json("/api/v1/consent", {"version": v2})

    def test_3_export(self):
        teacher = self.client("t1@example.com")
        s1 = self.client("s1@example.com")
        sid = self.first["id"]
        c = teacher.post_json("/api/v1/submissions/%d/comments" % sid,
                              {"at_s": 1.5, "body": "Good opening."},
                              expect=201)
        s1.post_json("/api/v1/comments/%d/reply" % c["id"],
                     {"body": "Thank you!"}, expect=201)
        r = s1.expect("GET", "/api/v1/me/export", 200)
        self.assertEqual(r.header("Content-Type"), "application/zip")
        self.assertIn("attachment", r.header("Content-Disposition"))
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        z = zipfile.ZipFile(io.BytesIO(r.body))
        self.assertIsNone(z.testzip())
        self.assertTrue(all(i.compress_type == zipfile.ZIP_STORED
                            for i in z.infolist()))
        data = json.loads(z.read("data.json"))
        acct = data["account"]
        self.assertEqual(acct["email"], "s1@example.com")
        self.assertNotIn("password_hash", json.dumps(data))
        self.assertNotIn("argon2", json.dumps(data))
        subs = {s["id"]: s for s in data["submissions"]}
        self.assertEqual(set(subs), {sid, self.second})
        first = subs[sid]
        self.assertTrue(first["transcript"]["words"])
        self.assertIn("s", first["transcript"]["words"][0])
        self.assertEqual(len(first["evaluations"]), 1)
        self.assertIn("overall", first["final"])
        self.assertEqual(first["comments"][0]["body"], "Good opening.")
        self.assertEqual(first["comments"][0]["reply"]["body"], "Thank you!")
        self.assertEqual(len(data["consent_acceptances"]), 2)
        for s in subs.values():
            self.assertTrue(s["recording_file"].startswith("recordings/"))
            self.assertEqual(z.read(s["recording_file"]), self.clip_bytes)
        self.assertEqual(len(z.namelist()), 3)
        # Someone else's data is not in it.
        self.assertNotIn("s2@example.com", r.text)
        self.assertEqual(self.sql(
            "SELECT count(*) FROM audit_log WHERE action = "
            "'export.downloaded' AND actor = %d"
            % self.ids["s1@example.com"]), "1")
        # The student's page offers it.
        self.assertIn('href="/api/v1/me/export"',
                      s1.expect("GET", "/", 200).text)

    def test_4_retention_cli(self):
        s2 = self.ids["s2@example.com"]
        due = self.old_submission(s2, "ret-closed", due_days_ago=40,
                                  transcript="hello from the past")
        busy = self.old_submission(s2, "ret-busy", phase="stt",
                                   status="retry", due_days_ago=40)
        recent = self.old_submission(s2, "ret-recent", due_days_ago=10)
        noassign = self.old_submission(s2, "ret-noassign", phase="failed")
        nodue = self.old_submission(s2, "ret-nodue", no_due=True)
        young = self.old_submission(s2, "ret-young", no_due=True,
                                    created_days_ago=5)
        # A real upload, scored, backdated: its extracted sound goes too.
        real = self.first["id"]
        real_name = self.sql("SELECT stored_name FROM submissions WHERE "
                             "id = %d" % real)
        self.sql("UPDATE submissions SET created_at = now() - interval "
                 "'45 days' WHERE id = %d" % real)
        real_bytes = sum(os.path.getsize(os.path.join(
            self.server.uploads_dir, f)) for f in self.files_of(real_name))

        out = self.server.cli("retention-run").stdout
        m = re.search(r"removed (\d+) recordings?, (\d+) bytes freed", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(int(m.group(1)), 4, out)
        self.assertEqual(int(m.group(2)), 3 * 1500 + real_bytes, out)
        for name in ("ret-closed", "ret-noassign", "ret-nodue", real_name):
            self.assertEqual(self.files_of(name), [], name)
        for name in ("ret-busy", "ret-recent", "ret-young"):
            self.assertEqual(self.files_of(name), [name, name + ".wav"])
        removed = self.sql("SELECT string_agg(id::text, ',' ORDER BY id) "
                           "FROM submissions WHERE media_removed_at IS NOT "
                           "NULL")
        self.assertEqual(removed, ",".join(str(i) for i in sorted(
            (due, noassign, nodue, real))))
        for sid in (busy, recent, young):
            self.assertNotIn(str(sid), removed.split(","))

        # The media route and the result page say so; the words stay.
        s1 = self.client("s1@example.com")
        r = s1.expect("GET", "/api/v1/submissions/%d/media" % real, 410)
        self.assertIn("retention policy", harness.error_message(r))
        page = s1.expect("GET", "/submissions/%d" % real, 200).text
        today = self.sql("SELECT to_char(now() AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD')")
        self.assertIn("The recording was removed on %s under the lab&#39;s "
                      "retention policy (%d days after the assignment "
                      "closed). The transcript, scores and comments are "
                      "kept." % (today, DAYS), page.replace("&#x27;",
                                                            "&#39;"))
        self.assertNotIn('id="player"', page)
        self.assertIn('id="transcript"', page)
        self.assertIn('id="scores"', page)
        sub = s1.get_json("/api/v1/submissions/%d" % real)
        self.assertTrue(sub["transcript"]["text"])
        self.assertIsNotNone(sub["media_removed_at"])
        # The export now leaves it out.
        z = zipfile.ZipFile(io.BytesIO(s1.expect(
            "GET", "/api/v1/me/export", 200).body))
        data = json.loads(z.read("data.json"))
        gone = [s for s in data["submissions"] if s["id"] == real][0]
        self.assertIsNone(gone["recording_file"])
        self.assertIsNotNone(gone["recording_removed_at"])
        self.assertEqual(len(z.namelist()), 2)
        # Without its recording or a transcript, it cannot be redone.
        self.client("t1@example.com").expect(
            "POST", "/api/v1/submissions/%d/retry" % noassign, 409)
        # Nothing is removed twice.
        out = self.server.cli("retention-run").stdout
        self.assertIn("removed 0 recordings, 0 bytes freed", out)
        self.assertEqual(self.sql(
            "SELECT count(*) FROM audit_log WHERE action = 'retention.run'"),
            "2")

    def test_5_deletion_request(self):
        s3id = self.ids["s3@example.com"]
        kept = self.old_submission(s3id, "del-kept", no_due=True,
                                   created_days_ago=1, transcript="bye now")
        busy = self.old_submission(s3id, "del-busy", phase="stt",
                                   status="retry", created_days_ago=1)
        teacher = self.client("t1@example.com")
        teacher.post_json("/api/v1/submissions/%d/comments" % kept,
                          {"at_s": 1, "body": "A comment to delete."},
                          expect=201)
        others = self.sql("SELECT count(*) FROM submissions WHERE "
                          "student_id <> %d" % s3id)
        s3 = self.client("s3@example.com")
        # Without the confirmation nothing happens.
        self.form(s3, "/me/deletion-request", {})
        self.assertEqual(self.sql("SELECT count(*) FROM deletion_requests"),
                         "0")
        r = self.form(s3, "/me/deletion-request", {"confirm": "1"})
        home = s3.expect("GET", r.header("Location"), 200).text
        self.assertIn('id="deletion-pending"', home)
        r = s3.expect("POST", "/api/v1/me/deletion-request", 409)
        self.assertIn("already asked", harness.error_message(r))
        rid = int(self.sql("SELECT id FROM deletion_requests"))

        admin = self.client("a1@example.com")
        page = admin.expect("GET", "/admin/requests", 200).text
        self.assertIn("s3@example.com", page)
        self.assertIn("2 submissions, 1 still being processed", page)
        page = self.form(admin, "/admin/requests/%d" % rid, {}, 422).text
        self.assertIn("Tick the box", page)
        self.assertEqual(self.sql("SELECT count(*) FROM users WHERE id = %d"
                                  % s3id), "1")
        r = self.form(admin, "/admin/requests/%d" % rid, {"confirm": "1"})
        self.assertIn("done=%d" % rid, r.header("Location"))

        for table, col in (("users", "id"), ("submissions", "student_id"),
                           ("consent_acceptances", "user_id"),
                           ("sessions", "user_id")):
            self.assertEqual(self.sql("SELECT count(*) FROM %s WHERE %s = %d"
                                      % (table, col, s3id)), "0", table)
        for sid in (kept, busy):
            for table in ("transcripts", "comments", "evaluations"):
                self.assertEqual(self.sql(
                    "SELECT count(*) FROM %s WHERE submission_id = %d"
                    % (table, sid)), "0", table)
        self.assertEqual(self.files_of("del-kept"), [])
        self.assertEqual(self.files_of("del-busy"), [])
        row = self.sql("SELECT user_id || '|' || email_sha256 || '|' || "
                       "(done_at IS NOT NULL) || '|' || done_by || '|' || "
                       "(removed->>'submissions') FROM deletion_requests "
                       "WHERE id = %d" % rid).split("|")
        self.assertEqual(row, [str(s3id), hashlib.sha256(
            b"s3@example.com").hexdigest(), "true",
            str(self.ids["a1@example.com"]), "2"])
        # Others untouched; the signed-out student cannot come back.
        self.assertEqual(self.sql("SELECT count(*) FROM submissions WHERE "
                                  "student_id <> %d" % s3id), others)
        self.assertTrue(self.files_of("ret-busy"))
        s3.expect("GET", "/api/v1/me", 401)
        page = admin.expect("GET", r.header("Location"), 200).text
        self.assertIn("was carried out", page)
        self.assertIn("former account %d" % s3id, page)
        self.assertNotIn("s3@example.com", page)
        # Carrying it out again is refused in words.
        page = self.form(admin, "/admin/requests/%d" % rid,
                         {"confirm": "1"}, 409).text
        self.assertIn("carried out already", page)

    def test_6_audit_log(self):
        actions = self.audit_actions()
        for a in ("consent.set", "consent.accepted", "export.downloaded",
                  "retention.run", "deletion.requested",
                  "deletion.carried_out"):
            self.assertIn(a, actions)
        self.assertEqual(actions.count("consent.set"), 2)
        admin = self.client("a1@example.com")
        page = admin.expect("GET", "/admin/audit", 200).text
        first = page.index("deletion.carried_out")
        self.assertLess(first, page.index("consent.set"))	# newest first
        self.assertIn("the server", page)	# retention runs
        api = admin.get_json("/api/v1/admin/audit")
        self.assertEqual(api["entries"][0]["action"], "deletion.carried_out")
        # Pagination: 50 a page.
        self.sql("INSERT INTO audit_log (action, subject, at) SELECT "
                 "'test.filler', 'n ' || g, now() - interval '1 year' "
                 "FROM generate_series(1, 60) g")
        page = admin.expect("GET", "/admin/audit", 200).text
        self.assertIn('href="/admin/audit?page=2"', page)
        page2 = admin.expect("GET", "/admin/audit?page=2", 200).text
        self.assertIn("test.filler", page2)
        self.assertIn('href="/admin/audit?page=1"', page2)
        total = admin.get_json("/api/v1/admin/audit")["total"]
        self.assertGreater(total, 60)
        self.assertEqual(len(admin.get_json("/api/v1/admin/audit?page=2")
                             ["entries"]), min(50, total - 50))

    def test_7_roles(self):
        anon = self.client()
        student = self.client("s1@example.com")
        teacher = self.client("t1@example.com")
        admin = self.client("a1@example.com")
        for path in ("/admin/consent", "/admin/requests", "/admin/audit",
                     "/api/v1/admin/audit"):
            student.expect("GET", path, 403)
            teacher.expect("GET", path, 403)
            admin.expect("GET", path, 200)
        anon.expect("GET", "/api/v1/consent", 401)
        anon.expect("GET", "/api/v1/me/export", 401)
        self.assertEqual(anon.expect("GET", "/admin/consent", 303)
                         .header("Location"), "/login")
        teacher.expect("GET", "/api/v1/me/export", 403)
        admin.expect("GET", "/api/v1/me/export", 403)
        teacher.expect("POST", "/api/v1/me/deletion-request", 403)
        teacher.expect("POST", "/api/v1/admin/consent", 403,
                       body=json.dumps({"text": "x"}))
        student.expect("POST", "/api/v1/admin/consent", 403,
                       body=json.dumps({"text": "x"}))
        teacher.expect("POST", "/api/v1/consent", 403,
                       body=json.dumps({"version": 1}))
        # Without the CSRF token a cookie request is refused.
        r = student.request("POST", "/api/v1/me/deletion-request",
                            csrf=False)
        self.assertEqual(r.status, 403)
        admin.expect("POST", "/admin/requests/999999", 404, body=
                     urllib.parse.urlencode({"csrf": admin.csrf_token,
                                             "confirm": "1"}),
                     headers={"Content-Type":
                              "application/x-www-form-urlencoded"},
                     csrf=False)

    def test_8_concurrent_runs_remove_once(self):
        n = 40
        names = ["ret-many-%02d" % i for i in range(n)]
        s2 = self.ids["s2@example.com"]
        self.sql("INSERT INTO submissions (student_id, stored_name, "
                 "size_bytes, phase, status, created_at) SELECT %d, "
                 "'ret-many-' || lpad(g::text, 2, '0'), 1000, 'completed', "
                 "'completed', now() - interval '40 days' FROM "
                 "generate_series(0, %d) g" % (s2, n - 1))
        for name in names:
            with open(os.path.join(self.server.uploads_dir, name), "wb") as f:
                f.write(b"m" * 1000)
        procs = [subprocess.Popen(
            [self.server.binary, "retention-run"], env=self.server.env,
            cwd=self.server.data_dir, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for _ in range(3)]
        removed = freed = 0
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, out + err)
            m = re.search(r"removed (\d+) recordings?, (\d+) bytes", out)
            removed += int(m.group(1))
            freed += int(m.group(2))
        self.assertEqual((removed, freed), (n, n * 1000))
        self.assertEqual([f for f in os.listdir(self.server.uploads_dir)
                          if f.startswith("ret-many-")], [])

    def test_9_periodic_run(self):
        self.server.stop()
        self.server.env["INTROEVAL_RETENTION_INTERVAL_S"] = "1"
        self.server.start()
        sid = self.old_submission(self.ids["s2@example.com"], "ret-periodic",
                                  due_days_ago=31)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.sql("SELECT media_removed_at IS NOT NULL FROM "
                        "submissions WHERE id = %d" % sid) == "t":
                break
            time.sleep(0.2)
        else:
            self.fail("the periodic run did not remove the recording")
        self.assertEqual(self.files_of("ret-periodic"), [])
        self.assertEqual(self.files_of("ret-recent"),
                         ["ret-recent", "ret-recent.wav"])
        self.assertEqual(self.sql(
            "SELECT details->>'source' FROM audit_log WHERE action = "
            "'retention.run' ORDER BY id DESC LIMIT 1"), "scheduler")


if __name__ == "__main__":
    harness.main()
