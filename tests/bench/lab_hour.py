#!/usr/bin/env python3
"""A lab hour: 50 students sign in and upload at once, live pages, an API script.

Starts a throw-away PostgreSQL cluster, the stand-ins (tests/fakes: a
whisper.cpp-like STT server taking --stt-ms per file, one call at a time,
and --backends Ollama servers taking --llm-ms per call) and the real
server with --threads threads. --students students of one course and
--teachers teachers of it then, all at once:

  - each student signs in through POST /login, uploads a fixture video
    (../shared/fixtures/intros, intro01..05 in turn) through POST
    /api/v1/submissions, opens their result page (/submissions/ID) and
    keeps it live on a WebSocket subscribed to submission:ID, loading
    the page again on every event, until the result arrives;
  - each teacher signs in, opens the course page (/courses/ID) with a
    WebSocket on course:ID and loads it again every 2 s;
  - a script with a teacher's bearer token polls /api/v1/submissions
    and /api/v1/courses/ID/progress every 0.5 s.

Prints (key=value on stdout; progress and every error on stderr):

  uploads_per_s            uploads stored / first upload sent to last stored
  page_p50_ms, page_p99_ms the HTML pages (result and course pages)
  api_p99_ms               the script's API requests
  time_to_last_result_s    the students' start (sign-in) to the last result
  server_rss_peak_mib      the server's peak RSS (VmHWM)
  fds_before, fds_after    the server's open files, idle, before and after
  db_connections_before, db_connections_after
                           the server's PostgreSQL sessions, the same
  errors                   requests or sockets that did not do what a
                           student, teacher or script expects (must be 0)

Sign-in and upload answers other than 303 and 201 count as errors, 503
("busy, try again") included: each is what someone in the lab would see.
Passwords are hashed at the production cost (the harness's "minimum"
is taken out, as every test-only default is); --set K=V passes other
server settings. The sign-in gate runs with the server's defaults
(hash_queue_max 64, hash_wait_s 60): what a lab gets out of the box.
"""

import argparse
import os
import resource
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import benchlib  # noqa: E402
import harness  # noqa: E402
from wsclient import WsClient, Closed, HandshakeError  # noqa: E402

say = benchlib.say


class Lab:
    """What the participants share: timings, errors, the end."""

    def __init__(self):
        self.lock = threading.Lock()
        self.page_ms = []
        self.api_ms = []
        self.upload_start = []
        self.upload_end = []
        self.results = {}	# submission id -> time its result arrived
        self.errors = []
        self.done = threading.Event()

    def error(self, who, what):
        with self.lock:
            self.errors.append("%s: %s" % (who, what))
        say("error: %s: %s" % (who, what))

    def timed(self, into, client, path, who, expect=200):
        t = time.monotonic()
        try:
            r = client.request("GET", path)
        except OSError as e:
            self.error(who, "GET %s: %s" % (path, e))
            return None
        ms = (time.monotonic() - t) * 1000
        with self.lock:
            into.append(ms)
        if r.status != expect:
            self.error(who, "GET %s answered %d: %s" % (
                path, r.status, r.text[:200]))
            return None
        return r


def cookie(client):
    return "introeval_session=" + client.cookies["introeval_session"]


def student(lab, url, email, pw, index, start):
    who = email.split("@")[0]
    c = harness.Client(url, timeout=600)
    start.wait()
    try:
        r = c.login(email, pw, check=False)
        if r.status != 303:
            lab.error(who, "sign-in answered %d: %s" % (r.status,
                                                         r.text[:200]))
            return
        me = c.get_json("/api/v1/me")
        c.csrf_token = me["csrf_token"]
        path, data = benchlib.video_bytes(index)
        with lab.lock:
            lab.upload_start.append(time.monotonic())
        r = c.request("POST", "/api/v1/submissions", data, {
            "Content-Type": "video/mp4", "Accept": "application/json",
            "X-Filename": os.path.basename(path)})
        with lab.lock:
            lab.upload_end.append(time.monotonic())
        if r.status != 201:
            lab.error(who, "upload answered %d: %s" % (r.status,
                                                       r.text[:200]))
            return
        sub = r.json()["id"]
        follow(lab, c, who, sub)
    except Exception as e:	# noqa: BLE001 -- every failure is counted
        lab.error(who, "%s: %s" % (type(e).__name__, e))


def follow(lab, c, who, sub):
    """The result page, live until the result arrives."""
    page = "/submissions/%d" % sub
    try:
        ws = WsClient.connect(c.base_url, cookie=cookie(c))
    except (HandshakeError, OSError) as e:
        lab.error(who, "WebSocket: %s" % e)
        return
    try:
        ws.send_json({"type": "subscribe", "topic": "submission:%d" % sub,
                      "since": 0})
        lab.timed(lab.page_ms, c, page, who)
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            m = ws.recv_json(timeout=5)
            if m is None:
                continue
            if m.get("type") == "error":
                lab.error(who, "WebSocket error: %s" % m)
                return
            if m.get("type") != "submission" or m.get("id") != sub:
                continue
            lab.timed(lab.page_ms, c, page, who)
            if m.get("status") in ("completed", "failed", "cancelled"):
                with lab.lock:
                    lab.results[sub] = time.monotonic()
                if m["status"] != "completed":
                    lab.error(who, "submission %d %s: %s" % (
                        sub, m["status"], m.get("error")))
                return
        lab.error(who, "no result for submission %d" % sub)
    except Closed as e:
        lab.error(who, "the WebSocket closed: %s" % e)
    finally:
        ws.close()


def teacher(lab, url, email, pw, course, start):
    who = email.split("@")[0]
    c = harness.Client(url, timeout=600)
    start.wait()
    try:
        c.login(email, pw)
        ws = WsClient.connect(url, cookie=cookie(c))
    except Exception as e:	# noqa: BLE001
        lab.error(who, "%s: %s" % (type(e).__name__, e))
        return
    try:
        ws.send_json({"type": "subscribe", "topic": "course:%d" % course,
                      "since": 0})
        while not lab.done.is_set():
            lab.timed(lab.page_ms, c, "/courses/%d" % course, who)
            t = time.monotonic() + 2
            while time.monotonic() < t and not lab.done.is_set():
                m = ws.recv_json(timeout=0.5)
                if m is not None and m.get("type") == "error":
                    lab.error(who, "WebSocket error: %s" % m)
    except Closed as e:
        lab.error(who, "the WebSocket closed: %s" % e)
    except Exception as e:	# noqa: BLE001
        lab.error(who, "%s: %s" % (type(e).__name__, e))
    finally:
        ws.close()


def script(lab, url, token, course, start):
    c = harness.Client(url, token=token, timeout=600)
    start.wait()
    while not lab.done.is_set():
        lab.timed(lab.api_ms, c, "/api/v1/submissions", "script")
        lab.timed(lab.api_ms, c, "/api/v1/courses/%d/progress" % course,
                  "script")
        lab.done.wait(0.5)


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_peak_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def db_connections(pg):
    """Sessions of the server's database, this query's own left out."""
    return int(pg.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
        "current_database() AND backend_type = 'client backend' AND "
        "pid <> pg_backend_pid()"))


def settle(measure, want, timeout=30):
    """measure() once it is back to want, or its last value after
    timeout (sockets and sessions close a little after the clients)."""
    deadline = time.monotonic() + timeout
    v = measure()
    while v > want and time.monotonic() < deadline:
        time.sleep(0.2)
        v = measure()
    return v


def setup(rig, server, n_students, n_teachers):
    users = [("s%02d@example.com" % i, "Student %02d" % i, "student",
              "lab-student-%02d" % i) for i in range(n_students)]
    staff = [("t%d@example.com" % i, "Teacher %d" % i, "teacher",
              "lab-teacher-%d" % i) for i in range(n_teachers)]
    say("creating %d students and %d teachers" % (len(users), len(staff)))
    harness.create_users(server, users)
    harness.create_users(server, staff, course=None)
    rig.pg.psql(
        "INSERT INTO course_members (course_id, user_id, role) "
        "SELECT c.id, u.id, 'teacher' FROM courses c, users u WHERE "
        "c.code = '%s' AND u.role = 'teacher'" % harness.DEFAULT_COURSE_CODE)
    course = int(rig.pg.psql("SELECT id FROM courses WHERE code = '%s'" %
                             harness.DEFAULT_COURSE_CODE))
    return users, staff, course


def run(args, rig, server):
    users, staff, course = setup(rig, server, args.students, args.teachers)
    pid = server.proc.pid
    for i in range(len(benchlib.FIXTURES)):
        benchlib.video_bytes(i)
    tok = harness.Client(server.url)
    tok.login(staff[0][0], staff[0][3])
    token = tok.cookies["introeval_session"]
    fds_before = fds(pid)
    db_before = db_connections(rig.pg)
    lab = Lab()
    start = threading.Event()
    threads = [threading.Thread(target=student, args=(
        lab, server.url, u[0], u[3], i, start)) for i, u in enumerate(users)]
    threads += [threading.Thread(target=teacher, args=(
        lab, server.url, s[0], s[3], course, start)) for s in staff]
    poller = threading.Thread(target=script, args=(
        lab, server.url, token, course, start))
    for t in threads + [poller]:
        t.start()
    say("the lab starts: %d students, %d teachers, one script" % (
        len(users), len(staff)))
    t0 = time.monotonic()
    start.set()
    for t in threads[:len(users)]:
        t.join()
    lab.done.set()
    for t in threads[len(users):] + [poller]:
        t.join()
    say("every student is done after %.1f s" % (time.monotonic() - t0))
    rss = rss_peak_mib(pid)
    fds_after = settle(lambda: fds(pid), fds_before)
    db_after = settle(lambda: db_connections(rig.pg), db_before)
    stored = len(lab.upload_end)
    span = (max(lab.upload_end) - min(lab.upload_start)) if stored else 0
    emit = benchlib.emit
    emit("students", len(users))
    emit("teachers", len(staff))
    emit("uploads_per_s", stored / span if span > 0 else 0.0)
    emit("page_requests", len(lab.page_ms))
    emit("page_p50_ms", benchlib.pct(lab.page_ms, 50))
    emit("page_p99_ms", benchlib.pct(lab.page_ms, 99))
    emit("api_requests", len(lab.api_ms))
    emit("api_p99_ms", benchlib.pct(lab.api_ms, 99))
    emit("results", len(lab.results))
    emit("time_to_last_result_s",
         max(lab.results.values()) - t0 if lab.results else float("nan"))
    emit("server_rss_peak_mib", rss)
    emit("fds_before", fds_before)
    emit("fds_after", fds_after)
    emit("db_connections_before", db_before)
    emit("db_connections_after", db_after)
    emit("errors", len(lab.errors))
    for e in lab.errors:
        print("bench: error: " + e, file=sys.stderr)
    return 1 if lab.errors else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=50)
    ap.add_argument("--teachers", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0,
                    help="the server's threads (each WebSocket holds one; "
                    "0: the server's default)")
    ap.add_argument("--stt-ms", type=int, default=300)
    ap.add_argument("--llm-ms", type=int, default=500)
    ap.add_argument("--backends", type=int, default=2)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--set", action="append", default=[], metavar="K=V",
                    help="more server settings, e.g. "
                    "INTROEVAL_HASH_QUEUE_MAX=16")
    args = ap.parse_args()
    harness.install_signal_handlers()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)),
                                                hard))
    rig = benchlib.Rig(args.stt_ms, args.llm_ms, args.backends, args.slots)
    try:
        # The sign-in gate with the server's defaults; --set changes it.
        settings = {"INTROEVAL_BATCH_WINDOW_S": "2"}
        if args.threads:
            settings["INTROEVAL_THREADS"] = str(args.threads)
        settings.update(kv.split("=", 1) for kv in args.set)
        server = rig.server(settings)
        try:
            return run(args, rig, server)
        finally:
            server.cleanup()
    finally:
        rig.stop()


if __name__ == "__main__":
    sys.exit(main())
