#!/usr/bin/env python3
"""The sign-in and session front under abuse (issue 15).

A throw-away PostgreSQL, one fake Ollama and the real server, shared by
every test of the class (their names are numbered: the last one stops
PostgreSQL):

  1. CSRF: a request with the session cookie plus `Authorization: Basic
     ...` and no CSRF token is refused (403) for cancel, retry and
     priority; the same requests with the token are not; a bearer
     token's own request needs none;
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
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-12345678"
DB_DOWN = "the database is unavailable; try again shortly"


class AbuseAuth(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        harness.install_signal_handlers()
        cls.stack = harness.Stack(models=("mistral",), one_fake=True).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        harness.create_users(cls.server, [
            ("s1@example.com", "Student One", "student", PW),
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
            self.assertIn("CSRF", r.json()["error"])
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
                self.assertEqual(r.json(), {"error": DB_DOWN})
                self.assertIsNotNone(r.header("Retry-After"))
            r = bearer.request("POST", "/api/v1/submissions", video, {
                "Content-Type": "video/mp4", "X-Filename": "intro.mp4",
                "Accept": "application/json"})
            self.assertEqual(r.status, 503, r.body)
            self.assertIn("unavailable", r.json()["error"])
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
