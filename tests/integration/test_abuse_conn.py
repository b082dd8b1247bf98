#!/usr/bin/env python3
"""Connection limits: WebSockets per account and in total, slow senders.

One server with few threads (16; sockets may take 12 of them) and a
header time limit of 3 s, so that each attack below would take every
thread of it without the limits:

  - one student opens 80 live sockets one after another and never
    answers a close frame: each one past ws_per_user (5) closes that
    student's oldest with code 4008 and the reason, its thread is free
    at once (80 sockets through 16 threads), /healthz answers throughout
    and the student holds 5;
  - students up to the total: the next upgrade is refused with 503 while
    /healthz and a page answer, and a closed socket makes room again;
  - 60 slow senders (one header byte a second, reconnecting when cut
    off) leave /healthz answering; a lone slow sender is cut off before
    its 40-byte header is complete (CivetWeb limits the whole header);
  - an honest upload whose body trickles in for longer than the header
    limit still completes.
"""

import os
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from wsclient import Closed, HandshakeError, WsClient  # noqa: E402

THREADS = 16
WS_TOTAL = THREADS - max(4, THREADS // 4)	# ws_limit_total()
PER_USER = 5
HEADER_S = 3
REASON = "too many open pages for this account; this one was closed"
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 0123456789\r\n\r\n"


def cookie(client):
    return "introeval_session=" + client.cookies["introeval_session"]


class SlowSenders:
    """n connections that send SLOW_HEAD one byte a second, each opened
    again when the server cuts it off (as slow-loris tools do). lives: how
    long each cut-off connection lived; finished: headers sent whole."""

    def __init__(self, port, n):
        self.port, self.n = port, n
        self.lives, self.finished = [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)

    def _open(self, sel):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        sel.register(s, selectors.EVENT_READ, [time.monotonic(), 0])

    def _run(self):
        sel = selectors.DefaultSelector()
        for _ in range(self.n):
            self._open(sel)
        next_tick = time.monotonic()
        while not self.stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:	# cut off (or answered and closed)
                    self.lives.append(time.monotonic() - key.data[0])
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    self._open(sel)
            if time.monotonic() < next_tick:
                continue
            next_tick += 1.0
            for key in list(sel.get_map().values()):
                sent = key.data[1]
                if sent >= len(SLOW_HEAD):
                    continue
                try:
                    key.fileobj.send(SLOW_HEAD[sent:sent + 1])
                    key.data[1] = sent + 1
                    if key.data[1] == len(SLOW_HEAD):
                        self.finished += 1
                except OSError:
                    pass
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()


class AbuseConn(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(one_fake=True, server_env={
            "INTROEVAL_THREADS": str(THREADS),
            "INTROEVAL_HEADER_TIMEOUT_S": str(HEADER_S),
            "INTROEVAL_WS_PER_USER": str(PER_USER)}).start()
        cls.log_sources = [cls.stack.server] + cls.stack.fakes
        srv = cls.stack.server
        names = ["s%d" % i for i in range(4)]
        pw = harness.create_users(srv, [
            (n + "@example.com", n, "student", "password-" + n) for n in names])
        cls.users = {}
        for n in names:
            c = harness.Client(srv.url, timeout=60)
            c.login(n + "@example.com", pw[n + "@example.com"])
            cls.users[n] = c

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def healthz(self, timeout=30):
        """GET /healthz on a fresh connection; returns the seconds taken."""
        t0 = time.monotonic()
        c = harness.Client(self.stack.server.url, timeout=timeout)
        c.expect("GET", "/healthz", 200)
        return time.monotonic() - t0

    def open_ws(self, who, hello=True, give_up=20):
        """A socket of who's (that said hello); retried while the server
        is still freeing the threads of sockets closed just before."""
        deadline = time.monotonic() + give_up
        while True:
            try:
                ws = WsClient.connect(self.stack.server.url,
                                      cookie=cookie(self.users[who]))
                if hello:
                    m = ws.recv_json(10)
                    self.assertEqual(m and m["type"], "hello")
                return ws
            except HandshakeError as e:
                if e.status != 503 or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def assert_open(self, ws):
        ws.send_json({"type": "ping"})
        self.assertEqual(ws.recv_json(10), {"type": "pong"})

    def test_1_one_user_80_sockets(self):
        socks, probes = [], []
        for i in range(80):
            # Each one closed frees its thread at once, though this
            # client reads nothing yet (it answers no close frame).
            socks.append(self.open_ws("s0", hello=False))
            if i % 20 == 19:
                probes.append(self.healthz())
        harness.log("80 sockets opened; /healthz took %s s" % [
            "%.2f" % p for p in probes])
        closed = []
        for ws in socks[:-PER_USER]:
            with self.assertRaises(Closed) as e:
                while True:	# hello, then the close frame
                    if ws.recv_json(10) is None:
                        break
            closed.append(e.exception)
            ws.close()
        self.assertEqual({(c.code, c.reason) for c in closed},
                         {(4008, REASON)})
        for ws in socks[-PER_USER:]:
            self.assertEqual(ws.recv_json(10)["type"], "hello")
            self.assert_open(ws)
        # A sixth closes the oldest of the five kept.
        sixth = self.open_ws("s0")
        with self.assertRaises(Closed) as e:
            socks[-PER_USER].recv_json(10)
        self.assertEqual(e.exception.code, 4008)
        for ws in socks[-PER_USER + 1:] + [sixth]:
            self.assert_open(ws)
            ws.close()
        self.healthz()

    def test_2_total_cap(self):
        held = []
        for who, n in (("s1", 5), ("s2", 5), ("s3", WS_TOTAL - 10)):
            held += [self.open_ws(who) for _ in range(n)]
        self.assertEqual(len(held), WS_TOTAL)
        with self.assertRaises(HandshakeError) as e:
            WsClient.connect(self.stack.server.url,
                             cookie=cookie(self.users["s3"]))
        self.assertEqual(e.exception.status, 503)
        self.assertIn("too many open live pages", e.exception.text)
        self.healthz()
        self.users["s3"].expect("GET", "/", (200, 303))
        self.users["s3"].get_json("/api/v1/me")
        for ws in held:
            self.assert_open(ws)
        # A closed socket makes room (the count goes down, not only up).
        held.pop().close()
        extra = self.open_ws("s3")
        self.assert_open(extra)
        for ws in held + [extra]:
            ws.close()

    def test_3_slow_senders(self):
        # Alone, a slow sender is cut off before its header is complete.
        with SlowSenders(self.stack.server.port, 1) as one:
            deadline = time.monotonic() + len(SLOW_HEAD) + 20
            while not one.lives and time.monotonic() < deadline:
                time.sleep(0.2)
        self.assertTrue(one.lives, "a slow sender was never cut off")
        self.assertEqual(one.finished, 0)
        harness.log("a lone slow sender lived %.1f s (header_timeout_s %d, "
                    "%d-byte header at 1 byte/s)" % (
                        one.lives[0], HEADER_S, len(SLOW_HEAD)))
        with SlowSenders(self.stack.server.port, 60) as many:
            time.sleep(HEADER_S)	# let them take every thread
            took = [self.healthz(timeout=40) for _ in range(2)]
        harness.log("60 slow senders: /healthz took %s s; %d cut off, "
                    "%d finished a header" % (
                        ["%.2f" % t for t in took], len(many.lives),
                        many.finished))
        self.assertGreater(len(many.lives), 0)
        self.assertEqual(many.finished, 0)

    def test_4_slow_honest_upload(self):
        data = open(harness.short_intro("intro01"), "rb").read()
        c = self.users["s1"]
        pieces = 4 * (HEADER_S + 3)	# a piece every 0.25 s
        size = -(-len(data) // pieces)
        s = socket.create_connection(("127.0.0.1",
                                      self.stack.server.port), 30)
        t0 = time.monotonic()
        s.sendall(("POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\n"
                   "Cookie: %s\r\nX-CSRF-Token: %s\r\n"
                   "Content-Type: video/mp4\r\nAccept: application/json\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n" % (
                       cookie(c), c.csrf_token, len(data))).encode())
        for off in range(0, len(data), size):
            s.sendall(data[off:off + size])
            time.sleep(0.25)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        s.close()
        spent = time.monotonic() - t0
        harness.log("a %d-byte upload over %.1f s answered %r" % (
            len(data), spent, answer[:12]))
        self.assertGreater(spent, HEADER_S)
        self.assertTrue(answer.startswith(b"HTTP/1.1 201"), answer[:300])


if __name__ == "__main__":
    harness.main()
