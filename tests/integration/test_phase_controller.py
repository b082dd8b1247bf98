#!/usr/bin/env python3
"""The phase controller: STT and LLM never overlap on a node.

Stand-ins record their own request intervals: fake_stt.py (whisper.cpp's
/inference) for speech-to-text and two fake_ollama.py servers (mistral,
llama3). The server runs with small batches and short windows so a run
takes seconds. Checks, from the stand-ins' logs and from the phase log:

  - twenty uploads: no STT call overlaps any LLM call, both backends
    worked at the same time, STT batches were formed as configured, and
    every submission completed exactly once (one transcript, one
    evaluation);
  - kill -9 while STT and LLM work are both in flight (exclusive: false,
    so both can be), restart: every submission completes once and no
    stored transcript is made again;
  - a steady stream of uploads does not keep the LLM phase from running;
    the longest wait is printed;
  - staff can cancel, retry and reprioritise; a waiting submission shows
    its queue position and an estimate.
"""

import collections
import datetime
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# intro06 lasts 4.8 s, under the 5 s minimum: it is refused at upload.
# The stand-in STT does not listen, so the first 6.5 s of each will do
# (preparing the audio of a short clip takes a third of the time).
FIXTURES = ["intro%02d" % i for i in range(1, 6)]
BATCH_MAX = 5


def ts(text):
    """PostgreSQL's timestamptz text to epoch seconds."""
    text = text.strip()
    if text.endswith("+00"):
        text += ":00"
    return datetime.datetime.fromisoformat(text).timestamp()


USERS = [("s1@example.com", "Student 1", "student", "pw-student-1-1234"),
         ("s2@example.com", "Student 2", "student", "pw-student-2-1234"),
         ("t@example.com", "Teacher", "teacher", "pw-teacher-1234")]
PASSWORDS = {u[0]: u[3] for u in USERS}
SEED_DB = "seed"

# One PostgreSQL cluster for the module; every test gets a database of its
# own, copied from one that already holds the schema and the accounts.
PG = None


def setUpModule():
    global PG
    PG = harness.PgCluster().start()
    try:
        url = PG.create_database(SEED_DB)
        harness.create_users(harness.cli_env(url), USERS)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    global PG
    if PG is not None:
        PG.stop()
        PG = None


class Node:
    """A database of its own, one fake STT, two fake Ollamas, one server."""

    count = 0

    def __init__(self, env=None, stt_latency_ms=300, llm_latency_ms=400):
        self.dir = tempfile.mkdtemp(prefix="introeval-phase-")
        self.stt_log = os.path.join(self.dir, "stt.jsonl")
        self.llm_logs = [os.path.join(self.dir, m + ".jsonl")
                         for m in ("mistral", "llama3")]
        Node.count += 1
        self.dbname = "node%d" % Node.count
        self.pg = PG
        self.url = PG.create_database(self.dbname, template=SEED_DB)
        self.stt = harness.FakeStt(latency_ms=stt_latency_ms,
                                   log_file=self.stt_log,
                                   extra_args=["--serial"]).start()
        self.fakes = [harness.FakeOllama(models=[m], latency_ms=llm_latency_ms,
                                         token_ms=5, log_file=log).start()
                      for m, log in zip(("mistral", "llama3"),
                                        self.llm_logs)]
        server_env = {
            "INTROEVAL_STT_ENGINE": "whisper_http",
            "INTROEVAL_STT_URL": self.stt.url,
            "INTROEVAL_BATCH_MAX": str(BATCH_MAX),
            "INTROEVAL_BATCH_WINDOW_S": "1",
            "INTROEVAL_MAX_PHASE_S": "30",
            "INTROEVAL_SCHEDULER_POLL_S": "0.2",
            "INTROEVAL_LEASE_S": "10",
            "INTROEVAL_NODE_NAME": "gpu1",
        }
        server_env.update(env or {})
        self.server = harness.Server(self.url,
                                     harness.backends_for(self.fakes),
                                     env=server_env).start()
        self.pw = PASSWORDS

    def client(self, email):
        c = harness.Client(self.server.url)
        c.login(email, self.pw[email])
        return c

    def upload_many(self, n, clients, at_once=3):
        """n uploads, at_once at a time (each waits for the server's
        ffprobe); the ids in the order the uploads were started, which is
        the order they were made only with at_once=1."""
        import concurrent.futures

        def one(i):
            video = harness.short_intro(FIXTURES[i % len(FIXTURES)])
            return clients[i % len(clients)].upload(video)["id"]
        for name in FIXTURES:
            harness.short_intro(name)	# made once, before the threads
        with concurrent.futures.ThreadPoolExecutor(at_once) as ex:
            return list(ex.map(one, range(n)))

    def wait_all(self, client, ids, timeout=300):
        return [client.wait_for(i, ("completed", "failed"), timeout=timeout,
                                interval=0.3) for i in ids]

    def rows(self, sql):
        out = self.pg.psql(sql, dbname=self.dbname)
        return [line.split("|") for line in out.splitlines() if line]

    def stop(self):
        self.server.cleanup()
        self.stt.stop()
        for f in self.fakes:
            f.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def llm_calls(log):
    """Generation requests in a fake_ollama log (not unloads or tags)."""
    return [r for r in harness.read_log(log)
            if r.get("path") in ("/api/generate", "/api/chat")
            and not r.get("kind") and r.get("status") == 200]


def stt_calls(log):
    return [r for r in harness.read_log(log)
            if r.get("path") == "/inference" and r.get("status") == 200]


class PhaseController(harness.TestCase):

    def run(self, result=None):
        # Stop the node only after a failure has printed its logs.
        try:
            return super().run(result)
        finally:
            node = getattr(self, "node", None)
            if node is not None:
                node.stop()
                self.node = None

    def start(self, **kw):
        self.node = Node(**kw)
        self.log_sources = [self.node.server, self.node.stt] + \
            self.node.fakes
        return self.node

    def wait_stt_ready(self, staff, timeout):
        """Until the node reports a working STT engine."""
        deadline = time.monotonic() + timeout
        nodes = []
        while time.monotonic() < deadline:
            nodes = staff.get_json("/api/v1/system").get("nodes") or []
            if nodes and all(n.get("stt_available") for n in nodes):
                return
            time.sleep(0.2)
        self.fail("the STT engine was not ready in %d s: %s" % (
            timeout, nodes))

    # -------------------------------------------------------- no overlap

    def test_twenty_uploads_never_overlap(self):
        node = self.start()
        students = [node.client("s1@example.com"),
                    node.client("s2@example.com")]
        ids = node.upload_many(20, students)
        teacher = node.client("t@example.com")
        subs = node.wait_all(teacher, ids)
        for s in subs:
            self.assertEqual(s["status"], "completed",
                             "%d: %s" % (s["id"], s.get("error")))

        # The stand-ins' own clocks: every STT request against every
        # generation request of both backends.
        stt = [(r["start"], r["end"]) for r in stt_calls(node.stt_log)]
        llm = {log: [(r["start"], r["end"]) for r in llm_calls(log)]
               for log in node.llm_logs}
        self.assertGreaterEqual(len(stt), 20)
        self.assertGreaterEqual(sum(len(v) for v in llm.values()), 20)
        for log, calls in llm.items():
            bad = harness.overlaps(stt, calls)
            self.assertEqual(bad, [], "STT and LLM overlapped (%s)" % log)
        mistral, llama3 = llm.values()
        self.assertTrue(mistral and llama3, "a backend was never used")
        self.assertTrue(harness.overlaps(mistral, llama3),
                        "the two backends never worked at the same time")

        # The phase log says the same.
        rows = node.rows("SELECT phase, extract(epoch FROM started_at), "
                         "extract(epoch FROM finished_at) FROM phase_log "
                         "WHERE node = 'gpu1' AND phase IN ('stt', 'llm') "
                         "AND finished_at IS NOT NULL")
        logged = collections.defaultdict(list)
        for phase, a, b in rows:
            logged[phase].append((float(a), float(b)))
        self.assertGreaterEqual(len(logged["stt"]), 20)
        self.assertGreaterEqual(len(logged["llm"]), 20)
        self.assertEqual(harness.overlaps(logged["stt"], logged["llm"]), [])

        # Batches as configured.
        sizes = [int(n) for (n,) in node.rows(
            "SELECT count(*) FROM submissions WHERE batch_id IS NOT NULL "
            "GROUP BY batch_id")]
        self.assertTrue(sizes)
        self.assertLessEqual(max(sizes), BATCH_MAX)
        self.assertGreater(max(sizes), 1, "no batch held two uploads")
        # A run holds back-to-back batches; its items count all of them.
        runs = node.rows("SELECT phase, items FROM phase_runs "
                         "WHERE node = 'gpu1' AND phase = 'stt'")
        self.assertEqual(sum(int(items) for _, items in runs), 20, runs)

        # Exactly once.
        counts = node.rows("SELECT s.id, (SELECT count(*) FROM transcripts "
                           "t WHERE t.submission_id = s.id), (SELECT "
                           "count(*) FROM evaluations e WHERE "
                           "e.submission_id = s.id) FROM submissions s")
        self.assertEqual(len(counts), 20)
        for sid, nt, ne in counts:
            self.assertEqual((nt, ne), ("1", "1"), "submission %s" % sid)
        stt_per_sub = node.rows("SELECT submission_id, count(*) FROM "
                                "phase_log WHERE phase = 'stt' AND outcome "
                                "= 'ok' GROUP BY 1 HAVING count(*) > 1")
        self.assertEqual(stt_per_sub, [], "transcribed twice")
        print("\nbatches: %s; stt calls %d, llm calls %d" % (
            sorted(sizes), len(stt), sum(len(v) for v in llm.values())),
            file=sys.stderr)

    # -------------------------------------------------------- crash

    def test_kill9_then_restart_completes_everything_once(self):
        node = self.start(env={"INTROEVAL_EXCLUSIVE": "false",
                               "INTROEVAL_BATCH_MAX": "3"},
                          stt_latency_ms=1500, llm_latency_ms=2500)
        c = node.client("s1@example.com")
        ids = node.upload_many(8, [c])
        # Wait until an STT call and an LLM call are on the wire at once.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = node.rows("SELECT phase FROM submissions "
                             "WHERE status = 'processing'")
            phases = {p for (p,) in rows}
            if {"stt", "llm"} <= phases:
                break
            time.sleep(0.2)
        else:
            self.fail("STT and LLM were never in flight together")
        time.sleep(0.5)
        killed_at = time.time()
        node.server.kill9()
        before = {int(i) for (i,) in node.rows(
            "SELECT submission_id FROM transcripts")}
        node.server.start()
        subs = node.wait_all(c, ids)
        for s in subs:
            self.assertEqual(s["status"], "completed",
                             "%d: %s" % (s["id"], s.get("error")))
        counts = node.rows("SELECT s.id, (SELECT count(*) FROM evaluations "
                           "e WHERE e.submission_id = s.id) FROM "
                           "submissions s")
        self.assertEqual(len(counts), 8)
        for sid, ne in counts:
            self.assertEqual(ne, "1", "submission %s evaluated %s times" % (
                sid, ne))
        redone = node.rows(
            "SELECT DISTINCT submission_id FROM phase_log WHERE phase = "
            "'stt' AND started_at > to_timestamp(%f)" % killed_at)
        redone = {int(i) for (i,) in redone} & before
        self.assertEqual(redone, set(), "stored transcripts were redone")
        print("\nkilled with %d transcripts stored; all 8 completed" %
              len(before), file=sys.stderr)

    # -------------------------------------------------------- starvation

    def test_steady_stream_does_not_starve_evaluation(self):
        node = self.start(env={"INTROEVAL_MAX_PHASE_S": "4",
                               "INTROEVAL_BATCH_MAX": "3"})
        c = node.client("s1@example.com")
        ids = []
        t0 = time.time()
        for i in range(18):
            video = harness.short_intro(FIXTURES[i % len(FIXTURES)])
            ids.append(c.upload(video)["id"])
            time.sleep(0.5)
        last_upload = time.time()
        subs = node.wait_all(c, ids)
        self.assertTrue(all(s["status"] == "completed" for s in subs))
        llm_runs = [ts(a) for (a,) in node.rows(
            "SELECT started_at FROM phase_runs WHERE phase = 'llm'")]
        stt_runs = [ts(a) for (a,) in node.rows(
            "SELECT started_at FROM phase_runs WHERE phase = 'stt'")]
        self.assertTrue([t for t in llm_runs if t0 < t < last_upload],
                        "no LLM phase ran while uploads kept arriving")
        self.assertGreaterEqual(len(stt_runs), 2)
        waits = [float(w) for (w,) in node.rows(
            "SELECT extract(epoch FROM completed_at - created_at) "
            "FROM submissions")]
        print("\nlongest wait from upload to result: %.1f s (median %.1f "
              "s, %d LLM phases, %d STT phases)" % (
                  max(waits), sorted(waits)[len(waits) // 2],
                  len(llm_runs), len(stt_runs)), file=sys.stderr)

    # -------------------------------------------------------- database

    def test_database_restart_loses_nothing(self):
        node = self.start(stt_latency_ms=800, llm_latency_ms=800)
        c = node.client("s1@example.com")
        ids = node.upload_many(5, [c])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not node.rows(
                "SELECT 1 FROM submissions WHERE status = 'processing'"):
            time.sleep(0.1)
        node.pg.restart()
        # The very next requests are answered: the pool reconnects.
        me = c.get_json("/api/v1/me")
        self.assertEqual(me["email"], "s1@example.com")
        c.expect("GET", "/", 200)
        subs = node.wait_all(c, ids)
        self.assertEqual([s["status"] for s in subs], ["completed"] * 5,
                         [s.get("error") for s in subs])

    # -------------------------------------------------------- two nodes

    def test_two_nodes_share_the_queue(self):
        node = self.start()
        # A second process on the same database and upload storage.
        env = dict(node.server.env)
        env.update({"INTROEVAL_NODE_NAME": "gpu2"})
        second = harness.Server(node.url, harness.backends_for(
            node.fakes), env={k: v for k, v in env.items()
                              if k.startswith("INTROEVAL_") and k not in (
                                  "INTROEVAL_PORT", "INTROEVAL_DATA_DIR")},
            data_dir=node.server.data_dir).start()
        self.log_sources = self.log_sources + [second]
        try:
            c = node.client("s1@example.com")
            ids = node.upload_many(12, [c])
            subs = node.wait_all(c, ids)
        finally:
            second.stop()
        self.assertEqual([s["status"] for s in subs], ["completed"] * 12)
        by_node = collections.defaultdict(lambda: collections.defaultdict(
            list))
        for n, phase, a, b in node.rows(
                "SELECT node, phase, extract(epoch FROM started_at), "
                "extract(epoch FROM finished_at) FROM phase_log WHERE "
                "phase IN ('stt', 'llm') AND finished_at IS NOT NULL"):
            by_node[n][phase].append((float(a), float(b)))
        self.assertEqual(sorted(by_node), ["gpu1", "gpu2"],
                         "both nodes should have worked")
        for n, calls in by_node.items():
            self.assertEqual(harness.overlaps(calls["stt"], calls["llm"]),
                             [], "STT and LLM overlapped on %s" % n)
        counts = node.rows("SELECT (SELECT count(*) FROM evaluations e "
                           "WHERE e.submission_id = s.id) FROM submissions s")
        self.assertEqual([c for (c,) in counts], ["1"] * 12)

    # -------------------------------------------------------- staff

    def test_staff_actions_and_queue_position(self):
        node = self.start(env={"INTROEVAL_BATCH_WINDOW_S": "30"})
        s1 = node.client("s1@example.com")
        teacher = node.client("t@example.com")
        # An engine that is still starting (slow on a busy machine) gives
        # no estimate: wait until the node says its STT engine is ready,
        # before the uploads start the 30 s batch window.
        self.wait_stt_ready(teacher, timeout=120)
        ids = node.upload_many(3, [s1], at_once=1)	# in this order
        # The batch window holds them: each knows where it stands.
        deadline = time.monotonic() + 20
        while True:
            sub = s1.get_json("/api/v1/submissions/%d" % ids[2])
            q = sub.get("queue")
            self.assertIsInstance(q, dict, sub)
            if q.get("eta_s") is not None:
                break
            if time.monotonic() > deadline:
                self.fail("no estimate for a waiting submission: %s" % q)
            time.sleep(0.2)
        self.assertEqual(q["position"], 3)
        self.assertGreater(q["eta_s"], 0, q)
        page = s1.expect("GET", "/submissions/%d" % ids[2], 200).text
        self.assertIn('id="queue"', page)
        # A student may not act; a teacher may.
        s1.expect("POST", "/api/v1/submissions/%d/cancel" % ids[0], 403)
        r = teacher.post_json("/api/v1/submissions/%d/priority" % ids[2],
                              {"priority": 5})
        self.assertEqual(r["priority"], 5)
        self.assertEqual(s1.get_json("/api/v1/submissions/%d" % ids[2])[
            "queue"]["position"], 1)
        r = teacher.post_json("/api/v1/submissions/%d/cancel" % ids[0], {})
        self.assertEqual(r["status"], "failed")
        self.assertIn("cancelled by Teacher", r["error"])
        teacher.expect("POST", "/api/v1/submissions/%d/cancel" % ids[0],
                       409, body="{}")
        r = teacher.post_json("/api/v1/submissions/%d/retry" % ids[0], {})
        # Back in the queue; a media worker may have taken it already.
        self.assertIn(r["status"], ("pending", "processing"), r)
        self.assertIn(r["phase"], ("prep", "stt"), r)
        self.assertFalse(r.get("error"), r)
        subs = node.wait_all(s1, ids, timeout=120)
        self.assertEqual([s["status"] for s in subs], ["completed"] * 3)
        system = teacher.get_json("/api/v1/system")
        self.assertEqual(system["nodes"][0]["node"], "gpu1")


if __name__ == "__main__":
    harness.main()
