#!/usr/bin/env python3
"""The sign-in and session front under abuse (issue 15).

A throw-away PostgreSQL, one fake Ollama and the real server, shared by
every test of the class (their names are numbered: the last one stops
PostgreSQL):

  1. CSRF: a request with the session cookie plus `Authorization: Basic
     ...` and no CSRF token is refused (403) for cancel, retry and
     priority; the same requests with the token are not; a bearer
     token's own request needs none;
  2. login CSRF: POST /login (and /signup) without the form's token, or
     with another browser's, is refused (403, words); with it, signed
     in; scripts' JSON POST /login needs none and gives a bearer token;
  3. throttling per account: wrong passwords, then 429 with Retry-After
     and words on the page; the right password is refused too until the
     delay has passed, then works and clears the count;
  4. throttling per client address (X-Forwarded-For from a trusted
     proxy): failures on many accounts, then even a right password from
     that address waits; another address does not;
  5. a burst of sign-ins on a second server with the real (interactive)
     argon2 cost and hash_workers 2: never more than 2 hashes at once
     (/metrics); each is answered 200, or 503 with Retry-After when the
     queue was full;
  9. the database stopped: /api/v1/me (cookie and bearer), an upload
     with a valid bearer token, a page and the WebSocket upgrade answer
     503 "the database is unavailable; try again shortly" with
     Retry-After, never 401; once it is back, the same session works.

Checks behaviour, never a duration. Run: python3
tests/integration/test_abuse_auth.py (INTROEVAL_BIN names the binary).
"""

import base64
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-12345678"
DB_DOWN = "the database is unavailable; try again shortly"
THROTTLED = "too many failed sign-ins; try again in"
DELAY_S = 6
ENV = {"INTROEVAL_SIGNIN_ACCOUNT_FAILURES": "3",
       "INTROEVAL_SIGNIN_ADDRESS_FAILURES": "6",
       "INTROEVAL_SIGNIN_DELAY_S": str(DELAY_S),
       "INTROEVAL_TRUSTED_PROXIES": "127.0.0.1, ::1"}


class AbuseAuth(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        harness.install_signal_handlers()
        cls.stack = harness.Stack(models=("mistral",), one_fake=True,
                                  server_env=ENV).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        harness.create_users(cls.server, [
            ("s1@example.com", "Student One", "student", PW),
            ("s2@example.com", "Student Two", "student", PW),
            ("s3@example.com", "Student Three", "student", PW),
            ("t1@example.com", "Teacher One", "teacher", PW),
        ])
        print("set-up %.1f s" % (time.monotonic() - cls.t0))

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        print("AbuseAuth %.1f s" % (time.monotonic() - cls.t0))

    def client(self, email="s1@example.com"):
        c = harness.Client(self.server.url)
        c.login(email, PW)
        return c

    def session_token(self, c):
        return c.cookies["introeval_session"]

    # ------------------------------------------------------------------

    def test_1_basic_header_does_not_skip_csrf(self):
        student = self.client()
        sub = student.upload_bytes(
            open(harness.short_intro("intro01"), "rb").read(), "video/mp4",
            "intro.mp4")
        teacher = self.client("t1@example.com")
        basic = "Basic " + base64.b64encode(b"lab:door").decode()
        actions = (("cancel", None), ("retry", None),
                   ("priority", json.dumps({"priority": 5})))
        for action, body in actions:
            path = "/api/v1/submissions/%d/%s" % (sub["id"], action)
            r = teacher.request("POST", path, body, csrf=False, headers={
                "Authorization": basic, "Accept": "application/json",
                "Content-Type": "application/json"})
            self.assertEqual(r.status, 403, (action, r.body))
            self.assertIn("CSRF", harness.error_message(r))
        # The same requests with the page's token are not refused for it.
        for action, body in actions:
            path = "/api/v1/submissions/%d/%s" % (sub["id"], action)
            r = teacher.request("POST", path, body, headers={
                "Authorization": basic, "Accept": "application/json",
                "Content-Type": "application/json"})
            self.assertNotEqual(r.status, 403, (action, r.body))
        # A request signed in by its own bearer token needs no token.
        bearer = harness.Client(self.server.url,
                                token=self.session_token(teacher))
        r = bearer.request("POST", "/api/v1/submissions/%d/priority" %
                           sub["id"], json.dumps({"priority": 1}), headers={
                               "Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)

    # ------------------------------------------------------------------

    def post_login(self, c, email, password, token=True, xff=None):
        fields = {"email": email, "password": password}
        if token:
            fields["signin_csrf"] = (token if isinstance(token, str) else
                                     c.signin_form_token())
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if xff:
            headers["X-Forwarded-For"] = xff
        return c.request("POST", "/login", urllib.parse.urlencode(fields),
                         headers, csrf=False)

    def test_2_signin_forms_need_their_token(self):
        c = harness.Client(self.server.url)
        r = self.post_login(c, "s1@example.com", PW, token=False)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("did not come from IntroEval", r.text)
        self.assertNotIn("introeval_session", c.cookies)
        # Another browser's token does not go with this browser's cookie.
        other = harness.Client(self.server.url).signin_form_token()
        c.signin_form_token()
        r = self.post_login(c, "s1@example.com", PW, token=other)
        self.assertEqual(r.status, 403, r.text)
        r = self.post_login(c, "s1@example.com", PW)
        self.assertEqual(r.status, 303, r.text)
        self.assertIn("introeval_session", c.cookies)
        # Sign-up: the same rule.
        r = harness.Client(self.server.url).request(
            "POST", "/signup", urllib.parse.urlencode({
                "name": "N", "email": "n@example.com", "password": PW,
                "join_code": "NOSUCHCODE"}),
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 403, r.text)
        # Scripts: JSON in, a bearer token out.
        s = harness.Client(self.server.url)
        r = s.request("POST", "/login", json.dumps(
            {"email": "s1@example.com", "password": PW}),
            {"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.text)
        token = r.json()["token"]
        me = harness.Client(self.server.url, token=token).get_json(
            "/api/v1/me")
        self.assertEqual(me["email"], "s1@example.com")
        r = s.request("POST", "/login", json.dumps(
            {"email": "s1@example.com", "password": "wrong-password"}),
            {"Content-Type": "application/json"})
        self.assertEqual(r.status, 401, r.text)
        self.assertEqual(r.json(), {"error": {
            "code": "unauthenticated", "message": "wrong email or password"}})

    def wait_retry(self, r):
        retry = int(r.header("Retry-After"))
        self.assertGreaterEqual(retry, 1)
        self.assertLessEqual(retry, DELAY_S)
        time.sleep(retry)   # what the header asks of a client

    def test_3_throttle_per_account(self):
        c = harness.Client(self.server.url)
        for _ in range(3):
            r = self.post_login(c, "s3@example.com", "wrong-password")
            self.assertEqual(r.status, 401, r.text)
            self.assertIn("wrong email or password", r.text)
        # The right password now waits too.
        r = self.post_login(c, "s3@example.com", PW)
        self.assertEqual(r.status, 429, r.text)
        self.assertIn(THROTTLED, r.text)
        self.assertIn("text/html", r.header("Content-Type"))
        self.assertNotIn("introeval_session", c.cookies)
        # Scripts are told the same in JSON.
        j = c.request("POST", "/login", json.dumps(
            {"email": "S3@example.com", "password": PW}),
            {"Content-Type": "application/json"})
        self.assertEqual(j.status, 429, j.text)
        self.assertIn(THROTTLED, harness.error_message(j))
        self.wait_retry(r)
        r = harness.wait_until(lambda: (lambda x: x if x.status != 429
                               else None)(self.post_login(
                                   c, "s3@example.com", PW)),
                               "the delay to pass", 60)
        self.assertEqual(r.status, 303, r.text)
        # A success cleared the account's count.
        r = self.post_login(harness.Client(self.server.url),
                            "s3@example.com", "wrong-password")
        self.assertEqual(r.status, 401, r.text)
        self.assertEqual(self.post_login(harness.Client(self.server.url),
                                         "s3@example.com", PW).status, 303)

    def test_4_throttle_per_address(self):
        c = harness.Client(self.server.url)
        addr = "203.0.113.7"
        for i in range(6):
            r = self.post_login(c, "nobody%d@example.com" % i,
                                "wrong-password", xff=addr)
            self.assertEqual(r.status, 401, r.text)
        r = self.post_login(c, "s2@example.com", PW, xff=addr)
        self.assertEqual(r.status, 429, r.text)
        self.assertIn(THROTTLED, r.text)
        self.assertIsNotNone(r.header("Retry-After"))
        # Through one more trusted proxy it is still that client.
        r = self.post_login(c, "s2@example.com", PW,
                            xff=addr + ", 127.0.0.1")
        self.assertEqual(r.status, 429, r.text)
        # Another client is not held up by it.
        r = self.post_login(harness.Client(self.server.url),
                            "s2@example.com", PW, xff="203.0.113.8")
        self.assertEqual(r.status, 303, r.text)

    def metrics(self, server, token):
        r = harness.Client(server.url, token=token).request(
            "GET", "/metrics")
        self.assertEqual(r.status, 200, r.text)
        return {m.group(1): float(m.group(2)) for m in re.finditer(
            r"^(introeval_password_hashes_\w+) (\S+)$", r.text, re.M)}

    def test_5_hashing_is_bounded(self):
        mtoken = "metrics-" + "x" * 24
        server = self.stack.add_server("hashing", env={
            "INTROEVAL_PASSWORD_HASH_COST": "interactive",
            "INTROEVAL_HASH_WORKERS": "2", "INTROEVAL_HASH_QUEUE_MAX": "6",
            "INTROEVAL_HASH_WAIT_S": "120",
            "INTROEVAL_METRICS_TOKEN": mtoken})
        self.log_sources = [server, self.server]
        server.start()
        try:
            harness.create_user(server, "burst@example.com", "Burst",
                                "student", PW)
            before = self.metrics(server, mtoken)
            self.assertEqual(before["introeval_password_hashes_running_max"],
                             0)
            n = 12
            out = [None] * n

            def one(i):
                out[i] = harness.Client(server.url, timeout=240).request(
                    "POST", "/login", json.dumps(
                        {"email": "burst@example.com", "password": PW}),
                    {"Content-Type": "application/json"})
            ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            refused = 0
            for r in out:
                self.assertIn(r.status, (200, 503), r.text)
                if r.status == 503:
                    refused += 1
                    self.assertIn("too many sign-ins at once",
                                  harness.error_message(r))
                    self.assertIsNotNone(r.header("Retry-After"))
            m = self.metrics(server, mtoken)
            print("burst: %d of %d refused; metrics %s" % (refused, n, m))
            self.assertLessEqual(m["introeval_password_hashes_running_max"],
                                 2)
            self.assertGreaterEqual(
                m["introeval_password_hashes_running_max"], 1)
            self.assertEqual(m["introeval_password_hashes_running"], 0)
            self.assertEqual(m["introeval_password_hashes_total"] -
                             before["introeval_password_hashes_total"],
                             n - refused)
            self.assertEqual(m["introeval_password_hashes_refused_total"],
                             refused)
        finally:
            server.cleanup()

    # ------------------------------------------------------------------

    def ws_upgrade(self, token):
        """The status line of a WebSocket handshake to /ws."""
        s = socket.create_connection(("127.0.0.1", self.server.port), 30)
        try:
            s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "Authorization: Bearer %s\r\n\r\n" %
                       (self.server.port, token)).encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                s.settimeout(2)
                data += s.recv(4096)
            except OSError:
                pass
            return data.decode("latin-1")
        finally:
            s.close()

    def test_9_database_down_is_503_not_401(self):
        c = self.client()
        token = self.session_token(c)
        bearer = harness.Client(self.server.url, token=token)
        self.assertIn(" 101 ", self.ws_upgrade(token).split("\r\n")[0])
        video = open(harness.short_intro("intro01"), "rb").read()
        self.stack.pg._pg_stop("fast")
        try:
            for who in (c, bearer):
                r = who.request("GET", "/api/v1/me",
                                headers={"Accept": "application/json"})
                self.assertEqual(r.status, 503, r.body)
                self.assertEqual(r.json(), {"error": {
                    "code": "database_unavailable", "message": DB_DOWN}})
                self.assertIsNotNone(r.header("Retry-After"))
            r = bearer.request("POST", "/api/v1/submissions", video, {
                "Content-Type": "video/mp4", "X-Filename": "intro.mp4",
                "Accept": "application/json"})
            self.assertEqual(r.status, 503, r.body)
            self.assertIn("unavailable", harness.error_message(r))
            self.assertIsNotNone(r.header("Retry-After"))
            r = c.request("GET", "/", headers={"Accept": "text/html"})
            self.assertEqual(r.status, 503, r.body)
            self.assertIn("text/html", r.header("Content-Type"))
            self.assertIn(DB_DOWN, r.text)
            ws = self.ws_upgrade(token)
            self.assertIn(" 503 ", ws.split("\r\n")[0], ws)
            self.assertIn("Retry-After", ws)
            self.assertIn("unavailable", ws)
        finally:
            self.stack.pg._pg_start()
        harness.wait_until(lambda: c.request(
            "GET", "/api/v1/me").status == 200, "the database to be back",
            120)
        self.assertIn(" 101 ", self.ws_upgrade(token).split("\r\n")[0])


if __name__ == "__main__":
    harness.main()
