#!/usr/bin/env python3
"""API tokens, Idempotency-Key and the per-script rate limit (issue 16).

One server (a throw-away PostgreSQL, one stand-in LLM) with a small rate
limit (60 a minute, bursts of 15) so that the limit test reaches it
quickly; every other test uses tokens of its own, so it stays under it.

- A teacher makes tokens (JSON and the account page's form): the secret
  is shown once, never listed, stored only hashed (the table is read);
  a read token may GET but not POST (403 token_read_only); an act token
  makes an assignment, which the audit log records with the token's
  name, method, path and status; a revoked token is 401; a student may
  not make tokens; a token may not make tokens.
- Idempotency-Key: a raw-body upload sent twice with one key is one
  submission, the second answer replayed (Idempotent-Replayed: true);
  the key with another body is 422 idempotency_key_reused; a repeat while
  the first is still sending its body is 409 idempotency_in_progress, and
  once it is done the replay; a JSON POST's body is part of the request;
  a tus creation replays its Location; an expired key runs anew.
- The WebSocket takes an API token, until it is revoked.
- The rate limit: a burst beyond it is 429 rate_limited with Retry-After.

Run: python3 tests/integration/test_api_tokens.py (INTROEVAL_BIN names
the binary).
"""

import base64
import json
import os
import re
import sys
import socket
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from wsclient import HandshakeError, WsClient  # noqa: E402

PW = "pw-12345678"
RATE = {"INTROEVAL_API_RATE_PER_MINUTE": "60", "INTROEVAL_API_RATE_BURST": "15"}


class ApiTokens(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",), one_fake=True,
                                  server_env=RATE).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        harness.create_users(cls.server, [
            ("teach@example.com", "Tess Teacher", "teacher", PW),
            ("admin@example.com", "Ada Admin", "admin", PW),
            ("stud@example.com", "Sam Student", "student", PW),
            ("stud2@example.com", "Sue Student", "student", PW),
            ("stud3@example.com", "Stu Student", "student", PW)])
        cls.teacher = harness.Client(cls.server.url)
        cls.teacher.login("teach@example.com", PW)
        cls.admin = harness.Client(cls.server.url)
        cls.admin.login("admin@example.com", PW)
        cls.assignment = harness.default_assignment(cls.server)
        cls.clip = harness.short_intro("intro01")
        with open(cls.clip, "rb") as f:
            cls.video = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def psql(self, sql):
        return self.stack.pg.psql(sql).strip()

    def make_token(self, name, scope, client=None, expect=201):
        resp = (client or self.teacher).expect(
            "POST", "/api/v1/tokens", expect,
            body=json.dumps({"name": name, "scope": scope}),
            headers={"Content-Type": "application/json"})
        return resp.json()

    def bearer(self, secret):
        return harness.Client(self.server.url, token=secret)

    def session_token(self, email):
        c = harness.Client(self.server.url)
        resp = c.expect("POST", "/login", 200, body=json.dumps(
            {"email": email, "password": PW}),
            headers={"Content-Type": "application/json"})
        return resp.json()["token"]

    def audit(self, action):
        entries = self.admin.get_json("/api/v1/admin/audit")["entries"]
        return [e for e in entries if e["action"] == action]

    def test_create_list_revoke(self):
        made = self.make_token("grade export", "read")
        secret = made["token"]
        self.assertRegex(secret, r"^ie_[0-9a-f]{48}$")
        self.assertEqual((made["name"], made["scope"]),
                         ("grade export", "read"))
        # Listed without the secret; stored only as a hash.
        listing = self.teacher.expect("GET", "/api/v1/tokens", 200)
        self.assertNotIn(secret, listing.text)
        mine = [t for t in listing.json()["tokens"] if t["id"] == made["id"]]
        self.assertEqual(len(mine), 1)
        self.assertNotIn("token", mine[0])
        self.assertIsNone(mine[0]["last_used_at"])
        stored = self.psql("SELECT secret_hash FROM api_tokens WHERE id = %d"
                           % made["id"])
        self.assertRegex(stored, r"^[0-9a-f]{64}$")
        self.assertNotIn(secret[3:], self.psql(
            "SELECT string_agg(t::text, ' ') FROM api_tokens t"))
        # It signs its owner in, and its use is noted.
        me = self.bearer(secret).get_json("/api/v1/me")
        self.assertEqual(me["email"], "teach@example.com")
        used = [t for t in self.teacher.get_json("/api/v1/tokens")["tokens"]
                if t["id"] == made["id"]][0]
        self.assertIsNotNone(used["last_used_at"])
        self.assertTrue(self.audit("api_token.created"))
        # Revoked: refused, and no longer listed.
        self.teacher.expect("DELETE", "/api/v1/tokens/%d" % made["id"], 200)
        self.bearer(secret).expect("GET", "/api/v1/me", 401)
        self.assertNotIn(made["id"], [t["id"] for t in self.teacher.get_json(
            "/api/v1/tokens")["tokens"]])
        self.teacher.expect("DELETE", "/api/v1/tokens/%d" % made["id"], 404)
        self.assertTrue(self.audit("api_token.revoked"))

    def test_expired_token_refused(self):
        made = self.make_token("short-lived", "read")
        self.bearer(made["token"]).expect("GET", "/api/v1/me", 200)
        self.psql("UPDATE api_tokens SET expires_at = now() - interval "
                  "'1 second' WHERE id = %d" % made["id"])
        self.bearer(made["token"]).expect("GET", "/api/v1/me", 401)

    def test_websocket(self):
        """The live updates take an API token too (introevalctl watch)."""
        made = self.make_token("watcher", "read")
        ws = WsClient.connect(self.server.url, token=made["token"])
        try:
            hello = ws.recv_json(timeout=30)
        finally:
            ws.close()
        self.assertEqual((hello["type"], hello["role"]), ("hello", "teacher"))
        self.teacher.expect("DELETE", "/api/v1/tokens/%d" % made["id"], 200)
        with self.assertRaises(HandshakeError) as refused:
            WsClient.connect(self.server.url, token=made["token"]).close()
        self.assertEqual(refused.exception.status, 401)

    def test_read_scope_refuses_changes(self):
        reader = self.bearer(self.make_token("reader", "read")["token"])
        self.assertEqual(reader.get_json("/api/v1/me")["role"], "teacher")
        resp = reader.expect("POST", "/api/v1/jobs/preview", 403,
                             body=json.dumps({"request": "everything"}),
                             headers={"Content-Type": "application/json"})
        self.assertEqual(harness.error_code(resp), "token_read_only")

    def test_act_scope_changes_and_is_audited(self):
        made = self.make_token("assignment robot", "act")
        actor = self.bearer(made["token"])
        course = self.teacher.get_json("/api/v1/assignments/%d" %
                                       self.assignment)["course_id"]
        a = harness.create_assignment(actor, course, "Made by a script")
        self.assertEqual(a["title"], "Made by a script")
        rows = [e for e in self.audit("api_token.request")
                if e["details"].get("token_id") == made["id"]]
        self.assertEqual(len(rows), 1, rows)
        d = rows[0]["details"]
        self.assertEqual((d["token_name"], d["method"], d["path"],
                          d["status"]), ("assignment robot", "POST",
                                         "/api/v1/courses/%d/assignments" %
                                         course, 201))
        self.assertEqual(rows[0]["actor_name"], "Tess Teacher")
        # A token cannot make tokens (even an act one).
        resp = actor.expect("POST", "/api/v1/tokens", 403, body=json.dumps(
            {"name": "child", "scope": "act"}),
            headers={"Content-Type": "application/json"})
        self.assertEqual(harness.error_code(resp), "token_not_allowed")

    def test_student_and_bad_input_refused(self):
        student = harness.Client(self.server.url)
        student.login("stud@example.com", PW)
        student.expect("POST", "/api/v1/tokens", 403, body=json.dumps(
            {"name": "mine", "scope": "read"}),
            headers={"Content-Type": "application/json"})
        self.assertNotIn("API tokens", student.expect(
            "GET", "/account", 200).text)
        for bad in ({"name": "", "scope": "read"},
                    {"name": "x", "scope": "write"},
                    {"name": "x", "scope": "read", "expires_in_days": 0}):
            resp = self.teacher.expect(
                "POST", "/api/v1/tokens", 422, body=json.dumps(bad),
                headers={"Content-Type": "application/json"})
            self.assertIn("error", resp.json())
        self.bearer("ie_" + "0" * 48).expect("GET", "/api/v1/me", 401)

    def test_account_page_form(self):
        page = self.teacher.expect("GET", "/account", 200).text
        self.assertIn('id="token-form"', page)
        form = urllib.parse.urlencode({
            "csrf": self.teacher.csrf_token, "name": "page token",
            "scope": "act", "expires_in_days": "30"})
        resp = self.teacher.expect("POST", "/account/tokens", 200, body=form,
                                   headers={"Content-Type": "application/"
                                            "x-www-form-urlencoded"})
        secret = re.search(r'id="new-token"[^>]*>(ie_[0-9a-f]{48})<',
                           resp.text).group(1)
        self.assertEqual(self.bearer(secret).get_json("/api/v1/me")["email"],
                         "teach@example.com")
        tid = [t for t in self.teacher.get_json("/api/v1/tokens")["tokens"]
               if t["name"] == "page token"][0]["id"]
        page = self.teacher.expect("GET", "/account", 200).text
        self.assertIn("page token", page)
        self.assertNotIn(secret, page)
        form = urllib.parse.urlencode({"csrf": self.teacher.csrf_token})
        self.teacher.expect("POST", "/account/tokens/%d/revoke" % tid, 303,
                            body=form, headers={
                                "Content-Type":
                                "application/x-www-form-urlencoded"})
        self.bearer(secret).expect("GET", "/api/v1/me", 401)

    # Idempotency-Key

    def upload(self, client, key, data=None, expect=(201,)):
        return client.expect("POST", "/api/v1/submissions?assignment_id=%d"
                             % self.assignment, expect,
                             body=data if data is not None else self.video,
                             headers={"Content-Type": "video/mp4",
                                      "Idempotency-Key": key})

    def count_submissions(self, email):
        return int(self.psql(
            "SELECT count(*) FROM submissions s JOIN users u ON "
            "u.id = s.student_id WHERE u.email = '%s'" % email))

    def test_idempotent_upload(self):
        student = self.bearer(self.session_token("stud@example.com"))
        before = self.count_submissions("stud@example.com")
        key = str(uuid.uuid4())
        first = self.upload(student, key)
        self.assertIsNone(first.header("Idempotent-Replayed"))
        again = self.upload(student, key)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(self.count_submissions("stud@example.com"),
                         before + 1)
        # The same key for another body: refused, nothing made.
        other = self.upload(student, key, self.video[:-1000], expect=422)
        self.assertEqual(harness.error_code(other), "idempotency_key_reused")
        self.assertEqual(self.count_submissions("stud@example.com"),
                         before + 1)
        # Another user's key space is their own.
        self.upload(self.bearer(self.session_token("stud2@example.com")),
                    key)

    def test_idempotent_json_post(self):
        """A JSON body is part of the key's request: the same body is
        replayed (one token made), another is refused."""
        key = str(uuid.uuid4())
        hdrs = {"Content-Type": "application/json", "Idempotency-Key": key}
        body = json.dumps({"name": "made once", "scope": "read"})
        first = self.teacher.expect("POST", "/api/v1/tokens", 201,
                                    body=body, headers=hdrs)
        again = self.teacher.expect("POST", "/api/v1/tokens", 201,
                                    body=body, headers=hdrs)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.json(), first.json())
        self.assertEqual(self.psql("SELECT count(*) FROM api_tokens WHERE "
                                   "name = 'made once'"), "1")
        other = self.teacher.expect("POST", "/api/v1/tokens", 422,
                                    body=body.replace("once", "twice"),
                                    headers=hdrs)
        self.assertEqual(harness.error_code(other), "idempotency_key_reused")
        # After 24 hours the key is free again (and runs anew).
        self.psql("UPDATE idempotency_keys SET expires_at = now() - "
                  "interval '1 second' WHERE key = '%s'" % key)
        third = self.teacher.expect("POST", "/api/v1/tokens", 201,
                                    body=body.replace("once", "twice"),
                                    headers=hdrs)
        self.assertIsNone(third.header("Idempotent-Replayed"))
        self.assertEqual(third.json()["name"], "made twice")
        bad = self.teacher.expect("POST", "/api/v1/tokens", 400, body=body,
                                  headers={"Content-Type": "application/json",
                                           "Idempotency-Key": "has space"})
        self.assertEqual(harness.error_code(bad), "invalid_idempotency_key")

    def test_idempotent_in_progress(self):
        """A repeat while the first still runs is 409; once it is done,
        the repeat is its replay: one submission."""
        token = self.session_token("stud@example.com")
        before = self.count_submissions("stud@example.com")
        key = str(uuid.uuid4())
        path = "/api/v1/submissions?assignment_id=%d" % self.assignment
        u = urllib.parse.urlsplit(self.server.url)
        # The first sends its header and half its body, then waits.
        first = socket.create_connection((u.hostname, u.port), timeout=60)
        first.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: "
                       "Bearer %s\r\nContent-Type: video/mp4\r\n"
                       "Content-Length: %d\r\nIdempotency-Key: %s\r\n"
                       "Connection: close\r\n\r\n" % (
                           path, token, len(self.video), key)).encode())
        half = len(self.video) // 2
        first.sendall(self.video[:half])
        harness.wait_until(lambda: self.psql(
            "SELECT state FROM idempotency_keys WHERE key = '%s'" % key)
            == "running", "the first request holds its key", timeout=60)
        busy = self.upload(self.bearer(token), key, expect=409)
        self.assertEqual(harness.error_code(busy), "idempotency_in_progress")
        self.assertEqual(busy.header("Retry-After"), "1")
        first.sendall(self.video[half:])
        answer = b""
        while True:
            chunk = first.recv(65536)
            if not chunk:
                break
            answer += chunk
        first.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 201"), answer[:200])
        made = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        again = self.upload(self.bearer(token), key)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.json()["id"], made["id"])
        self.assertEqual(self.count_submissions("stud@example.com"),
                         before + 1)

    def test_idempotent_tus_create(self):
        student = self.bearer(self.session_token("stud@example.com"))
        key = str(uuid.uuid4())
        meta = "assignment_id " + base64.b64encode(
            str(self.assignment).encode()).decode()
        hdrs = {"Tus-Resumable": "1.0.0", "Upload-Length": "1000",
                "Upload-Metadata": meta, "Idempotency-Key": key}
        first = student.expect("POST", "/api/v1/uploads", 201, headers=hdrs)
        again = student.expect("POST", "/api/v1/uploads", 201, headers=hdrs)
        self.assertEqual(again.header("Location"), first.header("Location"))
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        hdrs["Upload-Length"] = "2000"
        resp = student.expect("POST", "/api/v1/uploads", 422, headers=hdrs)
        self.assertEqual(harness.error_code(resp), "idempotency_key_reused")

    def test_rate_limit(self):
        limited = self.bearer(self.make_token("busy script", "read")["token"])
        for _ in range(100):
            resp = limited.request("GET", "/api/v1/me")
            if resp.status != 200:
                break
        self.assertEqual(resp.status, 429)
        self.assertEqual(harness.error_code(resp), "rate_limited")
        self.assertGreaterEqual(int(resp.header("Retry-After")), 1)
        # A script's session token (POST /login) is paced by its account.
        session = self.bearer(self.session_token("stud3@example.com"))
        for _ in range(100):
            resp = session.request("GET", "/api/v1/me")
            if resp.status != 200:
                break
        self.assertEqual(resp.status, 429)
        self.assertEqual(harness.error_code(resp), "rate_limited")
        # Another token, and the pages, are not held back by it.
        self.bearer(self.make_token("calm script", "read")["token"]).expect(
            "GET", "/api/v1/me", 200)
        self.teacher.expect("GET", "/api/v1/me", 200)


if __name__ == "__main__":
    harness.main()
