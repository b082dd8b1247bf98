#!/usr/bin/env python3
"""LLM backends failing under the whole server: nothing is lost.

Two fake Ollama servers (mistral, llama3), PocketSphinx, the real server
with a short batch window. The uploads are the first seconds of the
fixtures: what is checked happens after transcription. One PostgreSQL
cluster serves the file; each test has a database of its own, copied from
one that already holds the student. Checks:

  - one backend killed in the middle of the LLM phase: every submission
    still completes, on the other;
  - both backends down: submissions wait in phase llm (not failed) and
    complete after one comes back on its address;
  - a backend that answers 503 is backed off and the work completes on
    the other; neither stand-in ever had more requests at once than its
    max_concurrent.
"""

import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FIXTURES = ["intro%02d" % i for i in range(1, 6)]
STUDENT = ("s@example.com", "Sam", "student", "pw-student-1234")


class Failover(harness.TestCase):
    databases = 0

    @classmethod
    def setUpClass(cls):
        cls.cluster = harness.PgCluster().start()
        try:
            harness.create_user(harness.cli_env(
                cls.cluster.create_database("seed")), *STUDENT)
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="introeval-failover-")
        self.logs = [os.path.join(self.dir, m + ".jsonl")
                     for m in ("mistral", "llama3")]
        Failover.databases += 1
        self.dbname = "test%d" % Failover.databases
        url = self.cluster.create_database(self.dbname, template="seed")
        self.fakes = [harness.FakeOllama(models=[m], latency_ms=1500,
                                         log_file=log).start()
                      for m, log in zip(("mistral", "llama3"), self.logs)]
        backends = harness.backends_for(self.fakes)
        for b in backends:
            b["max_concurrent"] = 2
        self.server = harness.Server(url, backends, env={
            "INTROEVAL_BATCH_WINDOW_S": "1", "INTROEVAL_BATCH_MAX": "5",
            "INTROEVAL_LLM_HEALTH_INTERVAL_S": "1",
            "INTROEVAL_LLM_BREAKER_COOLDOWN_S": "2",
            "INTROEVAL_SCHEDULER_POLL_S": "0.2"}).start()
        self.log_sources = [self.server] + self.fakes
        self.c = harness.Client(self.server.url)
        self.c.login(STUDENT[0], STUDENT[3])

    def tearDown(self):
        self.server.cleanup()
        for f in self.fakes:
            f.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def upload(self, n):
        return [self.c.upload(harness.short_intro(FIXTURES[i % 5]))["id"]
                for i in range(n)]

    def phases(self):
        rows = self.cluster.psql("SELECT phase || '/' || status FROM "
                                 "submissions", dbname=self.dbname)
        return sorted(rows.splitlines())

    def wait_until(self, cond, timeout=120, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.2)
        self.fail("timed out waiting for %s; submissions: %s" % (
            what, self.phases()))

    def all_completed(self, ids):
        subs = [self.c.wait_for(i, ("completed", "failed"), timeout=180)
                for i in ids]
        for s in subs:
            self.assertEqual(s["status"], "completed",
                             "%d: %s" % (s["id"], s.get("error")))
        return subs

    def test_backend_killed_mid_batch(self):
        ids = self.upload(5)
        self.wait_until(lambda: "llm/processing" in self.phases(),
                        what="the LLM phase")
        time.sleep(0.5)
        self.fakes[0].stop()		# mistral dies with calls on the wire
        subs = self.all_completed(ids)
        used = {s["evaluation"]["backend"] for s in subs}
        self.assertIn("llama3", used)

    def test_both_down_then_one_returns(self):
        port = self.fakes[1].url.rsplit(":", 1)[1]
        for f in self.fakes:
            f.stop()
        ids = self.upload(3)
        # Transcribed, then waiting for a backend: never failed.
        self.wait_until(lambda: all(p.startswith("llm/") for p in
                                    self.phases()),
                        what="every submission to reach phase llm")
        time.sleep(4)
        self.assertTrue(all(p.startswith("llm/") for p in self.phases()),
                        self.phases())
        # The student is told what it waits for, not a made-up time.
        self.wait_until(lambda: (self.c.get_json(
            "/api/v1/submissions/%d" % ids[0]).get("queue") or {}).get(
            "waiting_for") == "llm_backend", timeout=15,
            what="the queue to say no backend is reachable")
        page = self.c.expect("GET", "/submissions/%d" % ids[0], 200).text
        self.assertIn("none can be reached right now", page)
        self.fakes[1] = harness.FakeOllama(
            models=["llama3"], log_file=self.logs[1],
            extra_args=["--port", port]).start()
        self.all_completed(ids)

    def test_busy_backend_is_backed_off(self):
        self.fakes[0].control(fault="busy")
        ids = self.upload(5)
        subs = self.all_completed(ids)
        self.assertEqual({s["evaluation"]["backend"] for s in subs},
                         {"llama3"})
        for log in self.logs:
            peak = max([r.get("concurrency", 0) for r in
                        harness.read_log(log)
                        if r.get("path") == "/api/generate"] or [0])
            self.assertLessEqual(peak, 2, "%s exceeded max_concurrent" % log)


if __name__ == "__main__":
    harness.main()
