#!/usr/bin/env python3
"""One controller per GPU node, enforced by PostgreSQL, and the role key.

Stand-ins record their own request intervals: fake_stt.py (whisper.cpp's
/inference, --serial) for speech-to-text and two fake_ollama.py servers.
Every server shares one database and one data directory (uploads live on
storage every node can read). Checks:

  - two processes with the same node_name: the second logs one refusal
    naming the first's pid, runs no scheduler and says "standby" on
    /healthz; uploads to either are processed by the first; after
    kill -9 of the first the second takes over and finishes the work;
    from the stand-ins' logs and the phase log, no STT call overlapped
    an LLM call, and every submission was evaluated exactly once;
  - role web beside role worker: the web instance serves pages and the
    API and runs no scheduler; uploads to it are processed by the
    worker, which answers /healthz and nothing else (404).

Tests check behaviour, never durations; waits are generous so a loaded
machine passes.
"""

import collections
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FIXTURES = ["intro%02d" % i for i in range(1, 6)]
WAIT_S = 300


def wait_until(cond, what, timeout=WAIT_S):
    return harness.wait_until(cond, what, timeout)


def llm_calls(log):
    return [(r["start"], r["end"]) for r in harness.read_log(log)
            if r.get("path") in ("/api/generate", "/api/chat")
            and not r.get("kind") and r.get("status") == 200]


def stt_calls(log):
    return [(r["start"], r["end"]) for r in harness.read_log(log)
            if r.get("path") == "/inference" and r.get("status") == 200]


class Site:
    """PostgreSQL, a fake STT server, two fake Ollamas, shared storage."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="introeval-nodelock-")
        self.data_dir = os.path.join(self.dir, "data")
        os.mkdir(self.data_dir)
        self.stt_log = os.path.join(self.dir, "stt.jsonl")
        self.llm_logs = [os.path.join(self.dir, m + ".jsonl")
                         for m in ("mistral", "llama3")]
        self.servers = []
        self.pg = harness.PgCluster().start()
        self.stt = harness.FakeStt(latency_ms=300, log_file=self.stt_log,
                                   extra_args=["--serial"]).start()
        self.fakes = [harness.FakeOllama(models=[m], latency_ms=400,
                                         token_ms=5, log_file=log).start()
                      for m, log in zip(("mistral", "llama3"),
                                        self.llm_logs)]
        self.env = {
            "INTROEVAL_STT_ENGINE": "whisper_http",
            "INTROEVAL_STT_URL": self.stt.url,
            "INTROEVAL_BATCH_MAX": "5",
            "INTROEVAL_BATCH_WINDOW_S": "1",
            "INTROEVAL_SCHEDULER_POLL_S": "0.2",
            "INTROEVAL_LEASE_S": "10",
            "INTROEVAL_NODE_NAME": "gpu1",
        }

    def server(self, name, **env):
        e = dict(self.env)
        e.update(env)
        s = harness.HealthReadyServer(self.pg.url, harness.backends_for(self.fakes),
                              env=e, data_dir=self.data_dir,
                              log_dir=self.dir, log_name=name + ".log")
        self.servers.append(s)
        return s.start()

    def client(self, server, email, password):
        c = harness.Client(server.url)
        c.login(email, password)
        return c

    def rows(self, sql):
        return [line.split("|") for line in self.pg.psql(sql).splitlines()
                if line]

    def assert_no_overlap(self, test):
        stt = stt_calls(self.stt_log)
        test.assertTrue(stt, "no STT call was logged")
        llm = []
        for log in self.llm_logs:
            llm += llm_calls(log)
        test.assertTrue(llm, "no LLM call was logged")
        test.assertEqual(harness.overlaps(stt, llm), [],
                         "STT and LLM calls overlapped (stand-ins' logs)")
        logged = collections.defaultdict(list)
        for phase, a, b in self.rows(
                "SELECT phase, extract(epoch FROM started_at), "
                "extract(epoch FROM finished_at) FROM phase_log WHERE "
                "node = 'gpu1' AND phase IN ('stt', 'llm') AND "
                "finished_at IS NOT NULL AND outcome = 'ok'"):
            logged[phase].append((float(a), float(b)))
        test.assertEqual(harness.overlaps(logged["stt"], logged["llm"]), [],
                         "STT and LLM calls overlapped (phase log)")

    def assert_evaluated_once(self, test, n):
        counts = self.rows("SELECT s.id, s.status, (SELECT count(*) FROM "
                           "evaluations e WHERE e.submission_id = s.id) "
                           "FROM submissions s")
        test.assertEqual(len(counts), n)
        for sid, status, ne in counts:
            test.assertEqual((status, ne), ("completed", "1"),
                             "submission %s" % sid)

    def stop(self):
        for s in self.servers:
            s.cleanup()
        self.stt.stop()
        for f in self.fakes:
            f.stop()
        self.pg.stop()
        if not os.environ.get("INTROEVAL_KEEP_LOGS"):
            shutil.rmtree(self.dir, ignore_errors=True)



def upload(clients, n, offset=0):
    ids = []
    for i in range(n):
        video, _ = harness.intro(FIXTURES[(i + offset) % len(FIXTURES)])
        ids.append(clients[i % len(clients)].upload(video)["id"])
    return ids


class NodeLock(harness.TestCase):

    def run(self, result=None):
        try:
            return super().run(result)
        finally:
            site = getattr(self, "site", None)
            if site is not None:
                site.stop()
                self.site = None

    def start_site(self):
        self.site = Site()
        self.log_sources = self.site.servers
        return self.site

    def users(self, server):
        pw = "pw-student-1234"
        harness.create_user(server, "s1@example.com", "Student 1",
                            "student", pw)
        harness.create_user(server, "s2@example.com", "Student 2",
                            "student", pw)
        harness.create_user(server, "t@example.com", "Teacher", "teacher",
                            pw)
        return pw

    def test_second_process_of_a_node_stands_by_then_takes_over(self):
        site = self.start_site()
        first = site.server("first")
        wait_until(lambda: "holding the node lock" in first.log_text(),
                   "the first process holds its node")
        second = site.server("second")
        refusal = "node gpu1 is already run by introeval pid=%d " % \
            first.proc.pid
        wait_until(lambda: refusal in second.log_text(),
                   "the second process names the first")
        status, h = second.healthz()
        self.assertEqual(status, 200)
        self.assertEqual(h["scheduler"], "standby", h)
        self.assertIn("pid=%d" % first.proc.pid, h["scheduler_detail"])
        status, h = first.healthz()
        self.assertEqual((status, h["scheduler"]), (200, "running"), h)

        # Uploads through both; the first process does the work.
        pw = self.users(first)
        c1 = site.client(first, "s1@example.com", pw)
        c2 = site.client(second, "s2@example.com", pw)
        ids = upload([c1, c2], 10)
        wait_until(lambda: int(site.pg.psql(
            "SELECT count(*) FROM submissions WHERE status = "
            "'completed'")) >= 3, "three submissions completed")

        first.kill9()
        wait_until(lambda: "holding the node lock (took over)" in
                   second.log_text(), "the second process takes over")
        self.assertEqual(second.healthz()[1]["scheduler"], "running")
        ids += upload([c2], 3, offset=2)
        teacher = site.client(second, "t@example.com", pw)
        for i in ids:
            sub = teacher.wait_for(i, ("completed", "failed"), timeout=WAIT_S,
                              interval=0.3)
            self.assertEqual(sub["status"], "completed",
                             "%d: %s" % (i, sub.get("error")))

        site.assert_evaluated_once(self, len(ids))
        site.assert_no_overlap(self)
        log = second.log_text()
        before, _, after = log.partition("holding the node lock")
        self.assertEqual(before.count("is already run by"), 1,
                         "one refusal message, not one per retry")
        self.assertNotIn("sched: phase", before,
                         "the standby process ran a phase")
        self.assertNotIn("sched: node=gpu1", before)
        self.assertIn("llm done", after, "the second process did no work")

    def test_lost_lock_is_taken_again(self):
        # The LLM phase's loop sees the lost lock when the phase ends (the
        # pool is paused at once, so no call starts meanwhile); a short
        # max_phase_s keeps that wait short.
        site = self.start_site()
        server = site.server("only", INTROEVAL_MAX_PHASE_S="15")
        pw = self.users(server)
        c = site.client(server, "t@example.com", pw)
        s1 = site.client(server, "s1@example.com", pw)
        ids = upload([s1], 8)
        wait_until(lambda: int(site.pg.psql(
            "SELECT count(*) FROM submissions WHERE status = "
            "'completed'")) >= 1, "one submission completed")
        # The lock's own connection is the one named after the process.
        killed = site.pg.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM "
            "pg_stat_activity WHERE application_name = "
            "'introeval pid=%d node=gpu1 host=' || "
            "split_part(application_name, 'host=', 2)" % server.proc.pid)
        self.assertEqual(killed, "1")
        wait_until(lambda: "lost the node lock" in server.log_text(),
                   "the server notices the lost lock")
        wait_until(lambda: "holding the node lock again" in
                   server.log_text(), "the server takes its lock again")
        for i in ids:
            sub = c.wait_for(i, ("completed", "failed"), timeout=WAIT_S,
                             interval=0.3)
            self.assertEqual(sub["status"], "completed",
                             "%d: %s" % (i, sub.get("error")))
        site.assert_evaluated_once(self, len(ids))
        site.assert_no_overlap(self)
        self.assertEqual(server.healthz()[1]["scheduler"], "running")

    def test_web_beside_worker(self):
        site = self.start_site()
        web = site.server("web", INTROEVAL_ROLE="web")
        worker = site.server("worker", INTROEVAL_ROLE="worker")
        wait_until(lambda: worker.healthz()[1].get("scheduler") ==
                   "running", "the worker runs the node")
        status, h = web.healthz()
        self.assertEqual((status, h["role"], h["scheduler"]),
                         (200, "web", "none"), h)

        # The worker answers /healthz (and /metrics) and nothing else.
        for method, path in (("GET", "/login"), ("GET", "/"),
                             ("GET", "/static/style.css"), ("GET", "/ws"),
                             ("GET", "/api/v1/me"),
                             ("POST", "/api/v1/submissions"),
                             ("GET", "/admin/health")):
            self.assertEqual(worker.status(method, path), 404,
                             "%s %s on the worker" % (method, path))
        self.assertNotEqual(worker.status("GET", "/metrics"), 404)
        self.assertEqual(web.status("GET", "/login"), 200)

        pw = self.users(web)
        c = site.client(web, "s1@example.com", pw)
        ids = upload([c], 4)
        for i in ids:
            sub = c.wait_for(i, ("completed", "failed"), timeout=WAIT_S,
                             interval=0.3)
            self.assertEqual(sub["status"], "completed",
                             "%d: %s" % (i, sub.get("error")))
        self.assertEqual(c.expect("GET", "/submissions/%d" % ids[0],
                                  200).status, 200)
        site.assert_evaluated_once(self, len(ids))
        site.assert_no_overlap(self)
        self.assertIn("role=web", web.log_text())
        self.assertIsNone(re.search(r"sched: ", web.log_text()),
                          "the web instance ran a scheduler")
        self.assertIn("llm done", worker.log_text())


if __name__ == "__main__":
    harness.main()
