#!/usr/bin/env python3
"""GET /metrics: who may read it, and that it is valid Prometheus text.

The real server with a metrics_token; an anonymous request, a wrong token
and a teacher are refused, the token and an admin's session are let in.
After one upload is scored, the exposition parses line by line, every
histogram's buckets are cumulative, and the counts match the pipeline.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOKEN = "metrics-token-for-the-test-0123456789"
SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{([a-z_]+="(?:[^"\\]|\\.)*"'
                    r'(?:,[a-z_]+="(?:[^"\\]|\\.)*")*)\})? (-?[0-9.e+]+|\+Inf)$')


def parse(text):
    """{(name, labels-text): value}; fails on any malformed line."""
    out, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "not an exposition line: %r" % line
        out[(m.group(1), m.group(3) or "")] = float(m.group(4))
    return out, types


class Metrics(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(one_fake=True, server_env={
            "INTROEVAL_METRICS_TOKEN": TOKEN,
            "INTROEVAL_BATCH_WINDOW_S": "1"}).start()
        cls.log_sources = [cls.stack.server] + cls.stack.fakes
        srv = cls.stack.server
        cls.clients = {}
        pw = harness.create_users(srv, [
            (role + "@example.com", role, role, "pw-metrics-" + role)
            for role in ("admin", "teacher", "student")])
        for role in ("admin", "teacher", "student"):
            c = harness.Client(srv.url)
            c.login(role + "@example.com", pw[role + "@example.com"])
            cls.clients[role] = c

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_who_may_read(self):
        url = self.stack.server.url
        self.assertEqual(harness.Client(url).request("GET", "/metrics")
                         .status, 401)
        self.assertEqual(harness.Client(url, token="wrong").request(
            "GET", "/metrics").status, 401)
        self.assertEqual(self.clients["teacher"].request(
            "GET", "/metrics").status, 403)
        r = harness.Client(url, token=TOKEN).request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith(
            "text/plain; version=0.0.4"))
        self.assertEqual(self.clients["admin"].request(
            "GET", "/metrics").status, 200)

    def test_counts_after_a_submission(self):
        # The counts are the subject, not the words: a short clip will do.
        sid = self.clients["student"].upload(harness.short_intro("intro01"))[
            "id"]
        self.clients["student"].wait_for(sid, "completed", timeout=240)
        text = harness.Client(self.stack.server.url, token=TOKEN).request(
            "GET", "/metrics").text
        m, types = parse(text)
        self.assertEqual(m[("introeval_submissions",
                            'phase="completed",status="completed"')], 1)
        self.assertEqual(m[("introeval_uploads_total", "")], 1)
        self.assertGreater(m[("introeval_upload_bytes_total", "")], 1000)
        self.assertEqual(m[("introeval_queue_depth", 'phase="stt"')], 0)
        self.assertEqual(types["introeval_call_duration_seconds"],
                         "histogram")
        self.assertIn(("introeval_websocket_clients", ""), m)
        # Every histogram series: cumulative buckets, +Inf = count.
        series = {}
        for (name, labels), v in m.items():
            if name == "introeval_call_duration_seconds_bucket":
                le = re.search(r'le="([^"]+)"', labels).group(1)
                key = re.sub(r',?le="[^"]+"', "", labels)
                series.setdefault(key, []).append(
                    (float("inf") if le == "+Inf" else float(le), v))
        self.assertTrue(any('phase="stt"' in k for k in series), series)
        self.assertTrue(any('phase="llm"' in k for k in series), series)
        for key, buckets in series.items():
            counts = [v for _, v in sorted(buckets)]
            self.assertEqual(counts, sorted(counts), key)
            self.assertEqual(counts[-1], m[(
                "introeval_call_duration_seconds_count", key)])
        ok = sum(v for (name, labels), v in m.items()
                 if name == "introeval_calls_total" and 'outcome="ok"' in
                 labels)
        self.assertGreaterEqual(ok, 2)


if __name__ == "__main__":
    harness.main()
