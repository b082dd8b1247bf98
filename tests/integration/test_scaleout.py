#!/usr/bin/env python3
"""Scale-out behind nginx (issue 17): two web instances, two GPU nodes.

Debian's nginx runs the real site (deploy/nginx/introeval.conf, its
upstream block given both web instances) in front of two `role: web`
servers; two `role: worker` servers run the nodes gpu-a and gpu-b, each
with its own stand-in STT (fake_stt.py) and LLM server (fake_ollama.py),
whose request logs are the evidence. Everything shares one PostgreSQL and
one data directory (the shared upload mount). A teacher's WebSocket,
opened through nginx, follows the course the whole time and reconnects
with `since` whenever it is closed. In order:

  1. uploads through nginx are processed by both nodes (the phase log's
     STT calls name both), each evaluated once;
  2. the teacher's socket, held by one web instance, saw progress made
     by both nodes and every final state (only the workers change
     submissions: every event came through NOTIFY);
  3. kill -9 of gpu-b while it holds a batch (its STT call hangs; gpu-a
     is paused with SIGSTOP so that gpu-b claims it): gpu-a rescues the
     batch only after its lease ran out, and finishes it;
  4. SIGTERM of gpu-b while it holds a batch: the batch is handed back
     at once (no crash counted) and gpu-a claims it before the lease
     gpu-b held would have run out;
  5. a rolling restart of the web instances (stop A, start A, stop B,
     start B) while work runs: requests through nginx are answered while
     either is down; the socket is closed with 1012, reconnects with
     `since` and ends with every submission's final state at the version
     the database holds;
  6. from each node's stand-ins' logs (and the phase log), no STT call of
     a node overlapped an LLM call of the same node, all class long.

Tests check behaviour, never durations; the lease comparisons are
between timestamps PostgreSQL recorded. Waits are generous.
"""

import collections
import concurrent.futures
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from nginx import Nginx  # noqa: E402
from wsclient import Closed, HandshakeError, WsClient  # noqa: E402

WAIT_S = 300
NODES = ("gpu-a", "gpu-b")
LEASE_S = 15
STT_MS = 500
HANG_MS = 600000
PW = "scaleout-pw-1"
STUDENTS = ["s%d@scaleout.example.edu" % i for i in range(1, 5)]
TEACHER = "teacher@scaleout.example.edu"
METRICS_TOKEN = "scaleout-metrics-token"
FIXTURES = ["intro%02d" % i for i in range(1, 6)]


def wait_until(cond, what, timeout=WAIT_S):
    return harness.wait_until(cond, what, timeout)


class Follower:
    """The teacher's live page: a WebSocket through nginx on one course,
    reconnecting with `since` (the highest version received) whenever it
    is closed, as live.js does. Keeps each submission's newest event."""

    def __init__(self, url, cookie, topic):
        self.url, self.cookie, self.topic = url, cookie, topic
        self.lock = threading.Lock()
        self.latest = {}		# id -> newest submission event
        self.events = []		# every submission event, in order
        self.closes = []		# close codes seen
        self.connects = 0
        self.since = 0
        self.ws = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._connect()
        self.thread.start()
        return self

    def _connect(self):
        ws = WsClient.connect(self.url, cookie=self.cookie,
                              origin=self.url)
        hello = ws.recv_json(timeout=30)
        if not hello or hello.get("type") != "hello":
            raise AssertionError("no hello: %r" % hello)
        with self.lock:
            since = self.since
        ws.send_json({"type": "subscribe", "topic": self.topic,
                      "since": since})
        self.ws = ws
        self.connects += 1

    def _run(self):
        while not self.stopping.is_set():
            try:
                m = self.ws.recv_json(timeout=1)
            except (Closed, OSError) as e:
                with self.lock:
                    self.closes.append(getattr(e, "code", None))
                self._reconnect()
                continue
            if m and m.get("type") == "submission":
                self._apply(m)

    def _reconnect(self):
        while not self.stopping.is_set():
            try:
                self._connect()
                return
            except (HandshakeError, OSError, AssertionError, Closed):
                time.sleep(0.2)

    def _apply(self, m):
        with self.lock:
            self.events.append(m)
            old = self.latest.get(m["id"])
            if old is None or m["version"] > old["version"]:
                self.latest[m["id"]] = m
            self.since = max(self.since, m["version"])

    def snapshot(self):
        with self.lock:
            return (dict(self.latest), list(self.events),
                    list(self.closes))

    def stop(self):
        self.stopping.set()
        self.thread.join(30)
        if self.ws is not None:
            self.ws.close()


class ScaleOut(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = cls.nginx = cls.follower = None
        cls.fakes, cls.webs, cls.workers = [], [], {}
        cls.dir = tempfile.mkdtemp(prefix="introeval-scaleout-")
        cls.data_dir = os.path.join(cls.dir, "shared")	# "the NFS mount"
        os.mkdir(cls.data_dir)
        try:
            cls.start_site()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_site(cls):
        cls.pg = harness.PgCluster().start()
        cls.stt, cls.llm, cls.stt_log, cls.llm_log = {}, {}, {}, {}
        for node in NODES:
            cls.stt_log[node] = os.path.join(cls.dir, node + "-stt.jsonl")
            cls.llm_log[node] = os.path.join(cls.dir, node + "-llm.jsonl")
            cls.stt[node] = harness.FakeStt(
                latency_ms=STT_MS, log_file=cls.stt_log[node]).start()
            cls.llm[node] = harness.FakeOllama(
                models=("mistral",), latency_ms=300, token_ms=2,
                log_file=cls.llm_log[node]).start()
            cls.fakes += [cls.stt[node], cls.llm[node]]
        # The first web instance applies the migrations; the rest start
        # on a current schema.
        for name in ("web-a", "web-b"):
            cls.webs.append(cls.server(name, {
                "INTROEVAL_ROLE": "web",
                "INTROEVAL_METRICS_TOKEN": METRICS_TOKEN}))
        for node in NODES:
            cls.workers[node] = cls.server(node, {
                "INTROEVAL_ROLE": "worker",
                "INTROEVAL_NODE_NAME": node,
                "INTROEVAL_STT_ENGINE": "whisper_http",
                "INTROEVAL_STT_URL": cls.stt[node].url,
                "INTROEVAL_LLM_BACKENDS": json.dumps(
                    harness.backends_for([cls.llm[node]])),
                "INTROEVAL_BATCH_MAX": "2",
                "INTROEVAL_LEASE_S": str(LEASE_S)})
        cls.log_sources = cls.webs + list(cls.workers.values()) + cls.fakes
        for node in NODES:
            wait_until(lambda: cls.workers[node].healthz()[1].get(
                "scheduler") == "running", node + " runs its node", 120)
        harness.create_users(cls.webs[0], [
            (e, "Student %d" % i, "student", PW)
            for i, e in enumerate(STUDENTS, 1)] +
            [(TEACHER, "Teacher", "teacher", PW)])
        cls.course = int(cls.psql(
            "SELECT id FROM courses WHERE code = '%s'" %
            harness.DEFAULT_COURSE_CODE))
        cls.nginx = Nginx([w.port for w in cls.webs]).start()
        cls.log_sources.append(cls.nginx)
        teacher = harness.Client(cls.nginx.url)
        teacher.login(TEACHER, PW)
        cls.follower = Follower(
            cls.nginx.url, "introeval_session=" +
            teacher.cookies["introeval_session"],
            "course:%d" % cls.course).start()
        cls.clients = []
        for email in STUDENTS:
            c = harness.Client(cls.nginx.url, timeout=120)
            c.login(email, PW)
            cls.clients.append(c)
        # Which node claims an upload is up to the nodes (the first
        # free one wins): a round of uploads at once usually reaches both;
        # more rounds follow until it has (test 1 fails if five did not).
        cls.first = []
        for _ in range(5):
            ids = cls.upload(4)
            cls.wait_final(ids)
            cls.first += ids
            if cls.stt_nodes(cls.first) == list(NODES):
                break

    @classmethod
    def server(cls, name, env):
        s = harness.HealthReadyServer(cls.pg.url, env=env,
                                      data_dir=cls.data_dir,
                                      log_dir=cls.dir,
                                      log_name=name + ".log")
        s.name = name
        return s.start()

    @classmethod
    def tearDownClass(cls):
        for node in NODES:
            w = cls.workers.get(node)
            if w is not None and w.running():
                os.kill(w.proc.pid, signal.SIGCONT)
        if cls.follower is not None:
            cls.follower.stop()
        if cls.nginx is not None:
            cls.nginx.stop()
        for s in cls.webs + list(cls.workers.values()):
            s.cleanup()
        for f in cls.fakes:
            f.stop()
        if cls.pg is not None:
            cls.pg.stop()
        if not os.environ.get("INTROEVAL_KEEP_LOGS"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    @classmethod
    def psql(cls, sql):
        return cls.pg.psql(sql).strip()

    @classmethod
    def rows(cls, sql):
        return [l.split("|") for l in cls.psql(sql).splitlines() if l]

    @classmethod
    def upload(cls, n):
        """n uploads through nginx, one thread per student; their ids."""
        def one(i):
            video = harness.short_intro(FIXTURES[i % len(FIXTURES)])
            return cls.clients[i % len(cls.clients)].upload(video)["id"]
        # A student's uploads go one after another (one client each).
        by_client = collections.defaultdict(list)
        for i in range(n):
            by_client[i % len(cls.clients)].append(i)
        with concurrent.futures.ThreadPoolExecutor(len(by_client)) as ex:
            lists = ex.map(lambda idx: [one(i) for i in idx],
                           by_client.values())
            return sorted(i for ids in lists for i in ids)

    @classmethod
    def stt_nodes(cls, ids):
        """The nodes whose STT calls transcribed these submissions."""
        return [n for (n,) in cls.rows(
            "SELECT DISTINCT node FROM phase_log WHERE phase = 'stt' AND "
            "outcome = 'ok' AND submission_id IN %s ORDER BY node" %
            cls.ids_sql(ids))]

    @classmethod
    def ids_sql(cls, ids):
        return "(%s)" % ",".join(str(i) for i in ids)

    @classmethod
    def wait_final(cls, ids):
        wait_until(lambda: cls.psql(
            "SELECT count(*) FROM submissions WHERE id IN %s AND status IN "
            "('completed', 'failed')" % cls.ids_sql(ids)) == str(len(ids)),
            "submissions %s final" % ids)

    def assert_completed_once(self, ids):
        for sid, status, n, err in self.rows(
                "SELECT s.id, s.status, (SELECT count(*) FROM evaluations e "
                "WHERE e.submission_id = s.id), coalesce(s.error_message, "
                "'') FROM submissions s WHERE s.id IN %s" %
                self.ids_sql(ids)):
            self.assertEqual((status, n), ("completed", "1"),
                             "submission %s: %s" % (sid, err))

    def hold_on_gpu_b(self, n):
        """Uploads n while gpu-a is paused (SIGSTOP) and gpu-b's STT call
        hangs; returns their ids once every one is prepared and gpu-b
        holds at least one, its STT call started. gpu-a stays paused:
        the caller continues it."""
        a = self.workers["gpu-a"]
        self.stt["gpu-b"].control(latency_ms=HANG_MS)
        os.kill(a.proc.pid, signal.SIGSTOP)
        ids = self.upload(n)
        wait_until(lambda: self.psql(
            "SELECT count(*) FILTER (WHERE phase = 'stt'), count(*) FILTER "
            "(WHERE node = 'gpu-b' AND status = 'processing' AND "
            "work_started_at IS NOT NULL) FROM submissions WHERE id IN %s"
            % self.ids_sql(ids)) == "%d|1" % n,
            "gpu-b holds one of %s in its STT call" % ids)
        wait_until(lambda: self.stt["gpu-b"].control()["active"] == 1,
                   "gpu-b's STT call reached its stand-in")
        return ids

    def held_by_gpu_b(self, ids):
        """(id, started) of those gpu-b holds, and the earliest lease."""
        rows = self.rows(
            "SELECT id, work_started_at IS NOT NULL, lease_expires_at FROM "
            "submissions WHERE id IN %s AND node = 'gpu-b' AND status = "
            "'processing' ORDER BY id" % self.ids_sql(ids))
        self.assertTrue(rows)
        return ([(int(i), st == "t") for i, st, _ in rows],
                min(l for _, _, l in rows))

    def gpu_a_took(self, held, lease):
        """Rows (id, node, gpu-a's first STT call started after lease) of
        the held submissions."""
        return self.rows(
            "SELECT id, node, (SELECT min(started_at) FROM "
            "phase_log l WHERE l.submission_id = s.id AND l.node = 'gpu-a' "
            "AND l.phase = 'stt') > '%s'::timestamptz FROM submissions s "
            "WHERE id IN %s ORDER BY id" % (
                lease, self.ids_sql([i for i, _ in held])))

    def rescued_by_gpu_a(self):
        return sum(int(n) for n in re.findall(
            r"rescued (\d+) submission\(s\) whose lease ran out",
            self.workers["gpu-a"].log_text()))

    def restart_gpu_b(self):
        self.stt["gpu-b"].control(latency_ms=STT_MS)
        b = self.workers["gpu-b"]
        if not b.running():
            b.start()
        wait_until(lambda: b.healthz()[1].get("scheduler") == "running",
                   "gpu-b runs its node again")

    # -------------------------------------------------------------- tests

    def test_1_uploads_through_nginx_are_processed_by_both_nodes(self):
        self.assert_completed_once(self.first)
        # Both nodes transcribed some; any node may take the evaluation
        # of a transcript (submissions.node names the last one).
        self.assertEqual(self.stt_nodes(self.first), list(NODES))
        evaluated = self.psql(
            "SELECT string_agg(DISTINCT node, ',' ORDER BY node) FROM "
            "phase_log WHERE phase = 'llm' AND outcome = 'ok' AND "
            "submission_id IN %s" % self.ids_sql(self.first))
        self.assertTrue(set(evaluated.split(",")) <= set(NODES), evaluated)
        # Each upload went to a web instance: they wrote to the shared
        # directory, where the worker that claimed it read it.
        for (stored,) in self.rows("SELECT stored_name FROM submissions "
                                   "WHERE id IN %s" %
                                   self.ids_sql(self.first)):
            self.assertTrue(os.path.exists(os.path.join(
                self.data_dir, "uploads", stored)), stored)
        for w in self.webs:
            self.assertNotIn("sched: ", w.log_text(), w.name)

    def test_2_websocket_on_one_web_instance_sees_both_nodes(self):
        clients = [self.ws_clients(w) for w in self.webs]
        self.assertEqual(sorted(clients), [0, 1],
                         "the teacher's socket is on one web instance")
        wait_until(lambda: all(
            self.follower.snapshot()[0].get(i, {}).get("status") ==
            "completed" for i in self.first),
            "the teacher's socket has every final state")
        latest, events, _ = self.follower.snapshot()
        mine = [e for e in events if e["id"] in self.first]
        # An event names the node holding the submission at the time.
        for node in NODES:
            progress = [e for e in mine if e.get("node") == node and
                        e["status"] == "processing"]
            self.assertTrue(progress, "no progress from %s: %s" % (
                node, mine))

    def ws_clients(self, web):
        resp = harness.Client(web.url, token=METRICS_TOKEN).expect(
            "GET", "/metrics", 200)
        for line in resp.text.splitlines():
            if line.startswith("introeval_websocket_clients "):
                return int(float(line.split()[1]))
        raise AssertionError("no introeval_websocket_clients on " + web.name)

    def test_3_kill9_of_a_node_mid_batch(self):
        a, b = self.workers["gpu-a"], self.workers["gpu-b"]
        self.addCleanup(self.restart_gpu_b)
        try:
            ids = self.hold_on_gpu_b(2)
            b.kill9()
            held, lease = self.held_by_gpu_b(ids)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        self.wait_final(ids)
        self.assert_completed_once(ids)
        for sid, node, after in self.gpu_a_took(held, lease):
            # gpu-a took it only once gpu-b's lease had run out.
            self.assertEqual((node, after), ("gpu-a", "t"), sid)
        # Rescued (the call in flight counted as a crash), not handed back.
        self.assertEqual(self.rescued_by_gpu_a(), len(held), a.log_tail())

    def test_4_graceful_stop_of_a_node_hands_over_at_once(self):
        a, b = self.workers["gpu-a"], self.workers["gpu-b"]
        self.addCleanup(self.restart_gpu_b)
        rescued_before = self.rescued_by_gpu_a()
        try:
            ids = self.hold_on_gpu_b(2)
            held, lease = self.held_by_gpu_b(ids)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        b.proc.send_signal(signal.SIGTERM)
        self.assertEqual(b.proc.wait(60), 0, b.log_tail())
        m = re.search(r"handed back (\d+) submission", b.log_text())
        self.assertTrue(m and int(m.group(1)) >= len(held), b.log_tail())
        self.wait_final(ids)
        self.assert_completed_once(ids)
        for sid, node, after in self.gpu_a_took(held, lease):
            # Claimed by gpu-a while gpu-b's lease still ran: handed over.
            self.assertEqual((node, after), ("gpu-a", "f"), sid)
        # Not rescued (no crash counted): gpu-a rescued only test 3's.
        self.assertEqual(self.rescued_by_gpu_a(), rescued_before)

    def test_5_rolling_restart_of_the_web_instances(self):
        for node in NODES:
            self.stt[node].control(latency_ms=1500)
        try:
            ids = self.upload(8)
            unfinished = int(self.psql(
                "SELECT count(*) FROM submissions WHERE id IN %s AND status "
                "NOT IN ('completed', 'failed')" % self.ids_sql(ids)))
            answers = []
            for web in self.webs:
                self.assertEqual(web.stop(60), 0, web.log_tail())
                # nginx passes what the stopped one refuses to the other.
                answers += [self.clients[0].request(
                    "GET", "/api/v1/me").status for _ in range(4)]
                web.start()
                # As an operator's script would: the next one stops only
                # once nginx sends requests to this one again (after the
                # upstream's fail_timeout).
                wait_until(lambda: self.served_by(web), "nginx sends "
                           "requests to %s again" % web.name, 60)
        finally:
            for node in NODES:
                self.stt[node].control(latency_ms=STT_MS)
        self.assertEqual(answers, [200] * 8)
        self.assertGreater(unfinished, 0, "the work was over before the "
                           "restart began")
        self.wait_final(ids)
        self.assert_completed_once(ids)
        expected = dict((int(i), int(v)) for i, v in self.rows(
            "SELECT id, version FROM submissions"))

        def caught_up():
            latest = self.follower.snapshot()[0]
            return all(latest.get(i, {}).get("version", -1) >= v
                       for i, v in expected.items())
        wait_until(caught_up, "the teacher's socket has every submission's "
                   "final state", 120)
        latest, _, closes = self.follower.snapshot()
        self.assertIn(1012, closes)
        self.assertGreaterEqual(self.follower.connects, 2)
        for i in ids:
            self.assertEqual(latest[i]["status"], "completed", latest[i])

    def served_by(self, web):
        """Whether a request through nginx reached this web instance (its
        log has the request id nginx gave the request)."""
        r = self.clients[0].expect("GET", "/api/v1/me", 200)
        mark = "request_id=" + r.header("X-Request-Id")
        where = wait_until(lambda: [w for w in self.webs
                                    if mark in w.log_text()],
                           "the request's line in a web log", 30)
        return where == [web]

    def test_6_each_nodes_exclusion_held(self):
        for node in NODES:
            stt = [(r["start"], r["end"]) for r in
                   harness.read_log(self.stt_log[node])
                   if r.get("path") == "/inference" and
                   r.get("status") == 200]
            llm = [(r["start"], r["end"]) for r in
                   harness.read_log(self.llm_log[node])
                   if r.get("path") in ("/api/generate", "/api/chat") and
                   not r.get("kind") and r.get("status") == 200]
            self.assertTrue(stt and llm, node)
            self.assertEqual(harness.overlaps(stt, llm), [],
                             "%s: STT and LLM calls overlapped" % node)
            logged = collections.defaultdict(list)
            for phase, s, e in self.rows(
                    "SELECT phase, extract(epoch FROM started_at), "
                    "extract(epoch FROM finished_at) FROM phase_log WHERE "
                    "node = '%s' AND phase IN ('stt', 'llm') AND "
                    "finished_at IS NOT NULL AND outcome = 'ok'" % node):
                logged[phase].append((float(s), float(e)))
            self.assertEqual(harness.overlaps(logged["stt"],
                                              logged["llm"]), [],
                             "%s: overlap in the phase log" % node)


if __name__ == "__main__":
    harness.main()
