"""benchlib: what the makespan and overhead benchmarks share.

Not a benchmark (it lives in lib/, which tests/bench/run does not list):
the stand-in STT and LLM servers, the real server with
the built-in scheduler defaults, users, parallel uploads, and figures
read from the database and from the stand-ins' own logs.
"""

import concurrent.futures
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import http.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "integration"))
import harness  # noqa: E402

# intro06 lasts 4.8 s, under the 5 s minimum: it is refused at upload.
FIXTURES = ["intro%02d" % i for i in range(1, 6)]
MODELS = ["mistral", "llama3", "qwen2", "gemma2", "phi3", "llama2"]
NODE = "gpu1"


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def fixture(i):
    return harness.intro(FIXTURES[i % len(FIXTURES)])[0]


def pct(values, p):
    """The p-th percentile by nearest rank (p50 of 30 is the 15th)."""
    v = sorted(values)
    if not v:
        return float("nan")
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


class Rig:
    """A throw-away PostgreSQL, one fake whisper.cpp server (serial), some
    fake Ollama servers (one model each) and their logs in one directory.
    """

    def __init__(self, stt_ms, llm_ms, backends, slots, load_ms=0,
                 unload_ms=0, keep=False):
        self.dir = tempfile.mkdtemp(prefix="introeval-bench-")
        self.keep = keep
        self.stt_log = os.path.join(self.dir, "stt.jsonl")
        self.models = [MODELS[i % len(MODELS)] + ("" if i < len(MODELS)
                                                  else str(i))
                       for i in range(backends)]
        self.llm_logs = [os.path.join(self.dir, "llm-%s.jsonl" % m)
                         for m in self.models]
        self.slots = slots
        self.pg = harness.PgCluster().start()
        self.stt = harness.FakeStt(latency_ms=stt_ms, log_file=self.stt_log,
                                   extra_args=["--serial"]).start()
        extra = ["--max-concurrent", str(slots)]
        if load_ms:
            extra += ["--load-ms", str(load_ms)]
        if unload_ms:
            extra += ["--unload-ms", str(unload_ms)]
        self.fakes = [harness.FakeOllama(models=[m], latency_ms=llm_ms,
                                         token_ms=0, log_file=log,
                                         extra_args=extra).start()
                      for m, log in zip(self.models, self.llm_logs)]

    def backends(self):
        return [{"name": m, "type": "ollama", "url": f.url, "model": m,
                 "max_concurrent": self.slots}
                for m, f in zip(self.models, self.fakes)]

    def server(self, settings, role="all", data_dir=None, start=True):
        """The real server, with the built-in defaults of everything the
        benchmark does not set (the harness's short test windows are
        taken out again). settings: INTROEVAL_* overrides."""
        env = {"INTROEVAL_STT_ENGINE": "whisper_http",
               "INTROEVAL_STT_URL": self.stt.url,
               "INTROEVAL_STT_CONCURRENCY": "1",
               "INTROEVAL_NODE_NAME": NODE,
               "INTROEVAL_LOG_LEVEL": "info",
               "INTROEVAL_ROLE": role}
        env.update(settings)
        srv = (WorkerServer if role == "worker" else harness.Server)(
            self.pg.url, self.backends(), env=env, data_dir=data_dir)
        for k in harness.SERVER_TEST_DEFAULTS:
            if k not in settings and k not in os.environ:
                srv.env.pop(k, None)
        return srv.start() if start else srv

    def sql(self, q):
        out = self.pg.psql(q)
        return [line.split("|") for line in out.splitlines() if line]

    def stt_calls(self):
        return [(r["start"], r["end"]) for r in harness.read_log(self.stt_log)
                if r.get("path") == "/inference" and r.get("status") == 200]

    def llm_calls(self):
        """Generation requests of every backend (not loads or unloads)."""
        out = []
        for log in self.llm_logs:
            out += [(r["start"], r["end"]) for r in harness.read_log(log)
                    if r.get("path") in ("/api/generate", "/api/chat")
                    and not r.get("kind") and r.get("status") == 200]
        return out

    def overlaps(self):
        return len(harness.overlaps(self.stt_calls(), self.llm_calls()))

    def stop(self):
        for f in self.fakes:
            f.stop()
        self.stt.stop()
        self.pg.stop()
        if self.keep:
            say("kept the stand-ins' logs in %s" % self.dir)
        else:
            import shutil
            shutil.rmtree(self.dir, ignore_errors=True)


class WorkerServer(harness.Server):
    """role=worker: its port answers only /healthz (and /metrics)."""

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the worker exited with %d:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            h = self.healthz()
            if h is not None:
                return
            time.sleep(0.02)
        raise RuntimeError("the worker was not ready in %d s (%s):\n%s" % (
            timeout, last, self.log_tail()))

    def healthz(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=5)
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            body = r.read()
            conn.close()
            return json.loads(body) if r.status == 200 else None
        except (OSError, ValueError):
            return None


def student(server, email="bench@example.com"):
    """A signed-in student's Client."""
    pw = harness.create_user(server, email, "Bench Student", "student",
                             "bench-password-1")
    c = harness.Client(server.url, timeout=600)
    c.login(email, pw)
    return c


def clone(c):
    """Another Client with the same session (one per upload thread)."""
    d = harness.Client(c.base_url, timeout=c.timeout)
    d.cookies = dict(c.cookies)
    d.csrf_token = c.csrf_token
    return d


_videos = {}
_videos_lock = threading.Lock()


def video_bytes(i):
    path = fixture(i)
    with _videos_lock:
        if path not in _videos:
            with open(path, "rb") as f:
                _videos[path] = f.read()
        return path, _videos[path]


def upload(c, i, tries=20):
    """One fixture upload (the i-th of the cycle); retries a 503 (busy)
    or a dropped connection. Returns (id, seconds the request took)."""
    path, data = video_bytes(i)
    t = time.monotonic()
    for attempt in range(tries):
        try:
            r = clone(c).upload_bytes(data, "video/mp4",
                                      os.path.basename(path),
                                      expect=(201, 503))
        except (OSError, http.client.HTTPException) as e:
            say("upload %d: %s; again" % (i, e))
            time.sleep(0.5)
            continue
        if "id" in r:
            return r["id"], time.monotonic() - t
        time.sleep(0.5)
    raise RuntimeError("upload %d kept failing" % i)


def upload_all(c, n, threads=None):
    """n uploads at once (threads), in order; returns [(id, seconds)]."""
    for i in range(min(n, len(FIXTURES))):
        video_bytes(i)
    with concurrent.futures.ThreadPoolExecutor(threads or n) as ex:
        return list(ex.map(lambda i: upload(c, i), range(n)))


def wait_done(rig, n, timeout, what="submissions"):
    """Until n submissions are completed or failed; progress on stderr."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        rows = dict(rig.sql("SELECT status, count(*) FROM submissions "
                            "GROUP BY 1"))
        done = int(rows.get("completed", 0)) + int(rows.get("failed", 0))
        msg = " ".join("%s=%s" % kv for kv in sorted(rows.items()))
        if msg != last:
            say("%s: %s" % (what, msg))
            last = msg
        if done >= n:
            return
        time.sleep(0.5)
    raise RuntimeError("not all %d %s done after %d s" % (n, what, timeout))


def phase_figures(rig):
    """stt_phases, llm_phases, switch_s_total (the 'switching' phase runs)
    and unload_s_total (the unload rows of phase_log)."""
    runs = dict(rig.sql("SELECT phase, count(*) FROM phase_runs "
                        "WHERE node = '%s' GROUP BY 1" % NODE))
    switch = rig.sql("SELECT coalesce(sum(extract(epoch FROM finished_at - "
                     "started_at)), 0) FROM phase_runs WHERE phase = "
                     "'switching' AND node = '%s'" % NODE)
    unload = rig.sql("SELECT coalesce(sum(extract(epoch FROM finished_at - "
                     "started_at)), 0) FROM phase_log WHERE phase = "
                     "'unload' AND node = '%s'" % NODE)
    return {"stt_phases": int(runs.get("stt", 0)),
            "llm_phases": int(runs.get("llm", 0)),
            "switch_s_total": float(switch[0][0]),
            "unload_s_total": float(unload[0][0])}


def timeline(rig, t0):
    """The node's phase runs on stderr, in seconds from t0."""
    for ph, a, b, items, reason in rig.sql(
            "SELECT phase, extract(epoch FROM started_at), "
            "extract(epoch FROM finished_at), items, reason FROM "
            "phase_runs WHERE node = '%s' ORDER BY started_at" % NODE):
        say("phase %-9s %7.1f s .. %9s  items=%s %s" % (
            ph, float(a) - t0, "%.1f s" % (float(b) - t0) if b else "-",
            items, reason))
    made = [float(a) - t0 for (a,) in rig.sql(
        "SELECT extract(epoch FROM created_at) FROM submissions")]
    prep = [(float(a) - t0, float(b) - t0) for a, b in rig.sql(
        "SELECT extract(epoch FROM started_at), extract(epoch FROM "
        "finished_at) FROM phase_log WHERE phase = 'prep' AND "
        "finished_at IS NOT NULL")]
    if made:
        say("uploads stored %.1f s .. %.1f s" % (min(made), max(made)))
    if prep:
        say("prepared %d: first done %.1f s, last done %.1f s, median "
            "%.2f s each" % (len(prep), min(b for _, b in prep),
                             max(b for _, b in prep),
                             pct([b - a for a, b in prep], 50)))


def results(rig):
    """[(status, created_at, completed_at)] in epoch seconds."""
    return [(s, float(a), float(b) if b else None) for s, a, b in rig.sql(
        "SELECT status, extract(epoch FROM created_at), "
        "extract(epoch FROM completed_at) FROM submissions")]


def add_scheduler_flags(ap):
    """--batch-max, --batch-window-s, --max-phase-s: other scheduler
    settings to try (unset: the server's defaults)."""
    ap.add_argument("--batch-max", type=int)
    ap.add_argument("--batch-window-s", type=float)
    ap.add_argument("--max-phase-s", type=float)


def scheduler_settings(args):
    """The INTROEVAL_* overrides of add_scheduler_flags' flags."""
    settings = {}
    for flag, key in (("batch_max", "INTROEVAL_BATCH_MAX"),
                      ("batch_window_s", "INTROEVAL_BATCH_WINDOW_S"),
                      ("max_phase_s", "INTROEVAL_MAX_PHASE_S")):
        v = getattr(args, flag)
        if v is not None:
            settings[key] = str(v)
    return settings


def emit(key, value):
    if isinstance(value, float):
        value = "%.3f" % value if abs(value) < 10 else "%.2f" % value
    print("%s=%s" % (key, value), flush=True)
