#!/usr/bin/env python3
# Sizing for scale-out: threads, sockets and DB connections of a web instance under WebSockets and requests; K worker nodes on one PostgreSQL
"""scaleout: the sizing figures of README's "Scaling out" (issue 17).

Part 1, one web instance (role web, the built-in defaults but
ws_per_user): its threads, open sockets, RSS and PostgreSQL connections
idle, then with --ws-clients WebSockets open (a teacher's, each
subscribed to the course) and --load-threads clients sending
GET /api/v1/submissions back to back for --load-s seconds.

Part 2, worker nodes: submissions are uploaded once through the web
instance and prepared once (a worker without an STT engine); then for
each K of --nodes (2,4,8) K role=worker processes, each its own
node_name and db_pool_size --worker-pool (2: a worker's HTTP port serves
three routes; at the default 8, eight nodes and a web instance do not
fit in PostgreSQL's default max_connections), run on the one database with zero-latency stand-ins (one
fake whisper.cpp, one fake Ollama, shared). They are fed --rate copies of
the prepared submissions a second for --feed-s seconds (a row inserted
already prepared: its upload and WAV hard-linked under a new name), so
what is measured is the coordination: wake-up by NOTIFY work, the
SKIP LOCKED claim, heartbeats, rescue sweeps. Before the feed, the K
idle nodes are watched for --idle-s seconds.

Prints key=value lines:
  web_threads_idle, web_sockets_idle, web_db_conns_idle, web_rss_mib_idle
  web_ws_clients               sockets open during the load
  web_threads, web_sockets     the web process at the load's end (/proc:
                               Threads, file descriptors that are sockets)
  web_db_conns                 its PostgreSQL sessions (pool + LISTEN)
  web_rss_mib
  web_req_per_s, web_req_p50_ms, web_req_p99_ms   the request load
  nodes_K_db_conns             sessions of K workers (pg_stat_activity)
  nodes_K_claim_p50_ms, nodes_K_claim_p99_ms
                               row inserted (claimable) to its STT claim
                               (stt_started_at - created_at)
  nodes_K_done, nodes_K_fed    completed of those fed
  nodes_K_pg_cpu_idle_pct      PostgreSQL's CPU (all its processes) while
                               the K nodes are idle, % of one core
  nodes_K_pg_cpu_pct           the same during the feed
  nodes_K_db_conns_by_name     the same by application_name (the web
                               instance's included; "lock": node locks)
  worker_db_conns              sessions per node in those runs
  nodes_per_db_max_connections_100
                               (100 - 3 reserved - one web instance) /
                               worker_db_conns, rounded down
  worker_db_conns_default, nodes_per_db_max_connections_100_default
                               the same for one worker at the defaults
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import benchlib as B  # noqa: E402
from benchlib import harness, say, emit  # noqa: E402
from wsclient import WsClient  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
TEACHER = "bench-teacher@example.com"
PW = "bench-password-1"


# ------------------------------------------------------------ processes

def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def sockets(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                    "socket:"):
                n += 1
        except OSError:
            pass
    return n


def pg_cpu_s(pg):
    """CPU seconds of the postmaster and all its children so far."""
    with open(os.path.join(pg.datadir, "postmaster.pid")) as f:
        master = int(f.readline())
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(name), int(fields[1])
        if pid == master or ppid == master:
            total += int(fields[11]) + int(fields[12])	# utime, stime
    return total / CLK_TCK


def db_conns(rig, where="true"):
    return int(rig.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                       "backend_type = 'client backend' AND pid <> "
                       "pg_backend_pid() AND (%s)" % where)[0][0])


def web_figures(rig, web, suffix):
    st = proc_status(web.proc.pid)
    emit("web_threads" + suffix, int(st["Threads"]))
    emit("web_sockets" + suffix, sockets(web.proc.pid))
    emit("web_db_conns" + suffix, db_conns(rig))
    emit("web_rss_mib" + suffix, int(st["VmRSS"].split()[0]) / 1024.0)


# ---------------------------------------------------------------- part 1

def load(client, seconds, times, stop):
    c = B.clone(client)
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        t = time.monotonic()
        c.expect("GET", "/api/v1/submissions", 200)
        times.append(time.monotonic() - t)


def part_web(rig, web, args):
    web_figures(rig, web, "_idle")
    harness.create_user(web, TEACHER, "Bench Teacher", "teacher", PW)
    teacher = harness.Client(web.url, timeout=60)
    teacher.login(TEACHER, PW)
    course = rig.sql("SELECT id FROM courses WHERE code = '%s'" %
                     harness.DEFAULT_COURSE_CODE)[0][0]
    cookie = "introeval_session=" + teacher.cookies["introeval_session"]
    say("%d WebSockets" % args.ws_clients)
    socks = []
    for _ in range(args.ws_clients):
        ws = WsClient.connect(web.url, cookie=cookie)
        ws.recv_json(timeout=30)
        ws.send_json({"type": "subscribe", "topic": "course:" + course,
                      "since": 0})
        socks.append(ws)
    say("%d clients of GET /api/v1/submissions for %d s" % (
        args.load_threads, args.load_s))
    times, stop = [], threading.Event()
    threads = [threading.Thread(target=load, args=(teacher, args.load_s,
                                                   times, stop))
               for _ in range(args.load_threads)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    # Measured while the load runs, near its end.
    time.sleep(args.load_s * 0.8)
    emit("web_ws_clients", len(socks))
    web_figures(rig, web, "")
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    emit("web_req_per_s", len(times) / wall)
    emit("web_req_p50_ms", B.pct(times, 50) * 1000)
    emit("web_req_p99_ms", B.pct(times, 99) * 1000)
    for ws in socks:
        ws.close()


# ---------------------------------------------------------------- part 2

def prepare(rig, web, data_dir, n):
    """n uploads through the web instance, prepared by a worker without
    an STT engine; kept as templates (bench_tpl) for the feeds."""
    c = B.student(web)
    say("%d uploads, then their preparation" % n)
    B.upload_all(c, n, threads=2)
    prep = rig.server({"INTROEVAL_STT_URL": "http://127.0.0.1:9/",
                       "INTROEVAL_NODE_NAME": "prep"}, role="worker",
                      data_dir=data_dir)
    try:
        harness.wait_until(lambda: rig.sql(
            "SELECT count(*) FROM submissions WHERE phase = 'prep'")[0][0]
            == "0", "every upload prepared", 600, 0.2)
    finally:
        prep.cleanup()
    rig.sql("CREATE TABLE bench_tpl AS SELECT * FROM submissions WHERE "
            "phase = 'stt'; UPDATE bench_tpl SET status = 'pending', "
            "error_message = NULL, retry_count = 0, attempts = 0, "
            "crashes = 0, worker_id = NULL, claim_token = NULL, "
            "lease_expires_at = NULL, node = NULL, batch_id = NULL")
    # The originals are not fed: only copies are timed.
    rig.sql("DELETE FROM submissions")
    return [r[0] for r in rig.sql("SELECT stored_name FROM bench_tpl")]


def link_copies(data_dir, names):
    """Hard links of each template's upload and WAV under new names."""
    up = os.path.join(data_dir, "uploads")
    for new, old in names:
        for ext in ("", ".wav"):
            os.link(os.path.join(up, old + ext), os.path.join(up, new + ext))


class Feeder:
    """One psql session inserting copies of the templates at a rate."""

    def __init__(self, rig):
        self.rig = rig
        self.p = subprocess.Popen(
            [os.path.join(harness.PGBIN, "psql"), "-X", "-q", "-d",
             rig.pg.url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            text=True)

    def insert(self, tpl, new):
        self.p.stdin.write(
            "INSERT INTO submissions SELECT (jsonb_populate_record(t, "
            "jsonb_build_object('id', nextval(pg_get_serial_sequence("
            "'submissions', 'id')), 'stored_name', '%s', 'created_at', "
            "now(), 'updated_at', now(), 'next_attempt_at', now()))).* "
            "FROM bench_tpl t WHERE stored_name = '%s';\n" % (new, tpl))
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        self.p.wait(60)


def part_nodes(rig, data_dir, tpls, k, args):
    n = int(args.rate * args.feed_s)
    names = [("bench-k%d-%d" % (k, i), tpls[i % len(tpls)])
             for i in range(n)]
    link_copies(data_dir, names)
    rig.sql("DELETE FROM submissions")
    workers = []
    try:
        base = db_conns(rig)
        say("%d worker nodes" % k)
        for i in range(k):
            workers.append(rig.server({
                "INTROEVAL_NODE_NAME": "node%d-%d" % (k, i),
                "INTROEVAL_DB_POOL_SIZE": str(args.worker_pool)},
                role="worker", data_dir=data_dir))
        harness.wait_until(lambda: all(
            (w.healthz() or {}).get("scheduler") == "running"
            for w in workers), "every node runs", 120)
        time.sleep(1)		# start-up work settles
        c0, t0 = pg_cpu_s(rig.pg), time.monotonic()
        time.sleep(args.idle_s)
        emit("nodes_%d_pg_cpu_idle_pct" % k, 100 * (
            pg_cpu_s(rig.pg) - c0) / (time.monotonic() - t0))
        feeder = Feeder(rig)
        say("feeding %d at %.0f/s" % (n, args.rate))
        c0, t0 = pg_cpu_s(rig.pg), time.monotonic()
        conns = 0
        for i, (new, tpl) in enumerate(names):
            due = t0 + i / args.rate
            left = due - time.monotonic()
            if left > 0:
                time.sleep(left)
            feeder.insert(tpl, new)
            if i == n // 2:
                conns = db_conns(rig, "application_name <> 'psql'") - base
                by_name = rig.sql(
                    "SELECT application_name, count(*) FROM "
                    "pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND application_name <> 'psql' GROUP BY 1 ORDER BY 1")
        feeder.close()
        harness.wait_until(lambda: int(rig.sql(
            "SELECT count(*) FROM submissions WHERE status IN "
            "('completed', 'failed')")[0][0]) >= n, "the feed done", 600,
            0.5)
        cpu = pg_cpu_s(rig.pg) - c0
        wall = time.monotonic() - t0
        lat = [float(x) * 1000 for (x,) in rig.sql(
            "SELECT extract(epoch FROM stt_started_at - created_at) FROM "
            "submissions WHERE stt_started_at IS NOT NULL")]
        done = int(rig.sql("SELECT count(*) FROM submissions WHERE status "
                           "= 'completed'")[0][0])
        emit("nodes_%d_fed" % k, n)
        emit("nodes_%d_done" % k, done)
        emit("nodes_%d_db_conns" % k, conns)
        # Sessions by application_name, web instance included; the node
        # lock's are one per node ("introeval pid=... node=...").
        named = {}
        for name, count in by_name:
            key = "lock" if name.startswith("introeval pid=") else name
            named[key] = named.get(key, 0) + int(count)
        emit("nodes_%d_db_conns_by_name" % k, ",".join(
            "%s:%d" % kv for kv in sorted(named.items())))
        emit("nodes_%d_claim_p50_ms" % k, B.pct(lat, 50))
        emit("nodes_%d_claim_p99_ms" % k, B.pct(lat, 99))
        emit("nodes_%d_pg_cpu_pct" % k, 100 * cpu / wall)
        return conns
    finally:
        for w in workers:
            w.cleanup()


def one_worker_conns(rig, data_dir, settings):
    """PostgreSQL sessions of one idle worker with these settings."""
    base = db_conns(rig)
    w = rig.server(dict(settings, INTROEVAL_NODE_NAME="single"),
                   role="worker", data_dir=data_dir)
    try:
        harness.wait_until(lambda: (w.healthz() or {}).get("scheduler") ==
                           "running", "the worker runs", 120)
        time.sleep(1)
        return db_conns(rig) - base
    finally:
        w.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ws-clients", type=int, default=150)
    ap.add_argument("--load-threads", type=int, default=8)
    ap.add_argument("--load-s", type=float, default=10)
    ap.add_argument("--nodes", default="2,4,8")
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--feed-s", type=float, default=15)
    ap.add_argument("--idle-s", type=float, default=8)
    ap.add_argument("--templates", type=int, default=5)
    ap.add_argument("--worker-pool", type=int, default=2)
    args = ap.parse_args()
    harness.install_signal_handlers()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(
        soft, 4 * args.ws_clients + 256)), hard))
    data_dir = tempfile.mkdtemp(prefix="introeval-bench-data-")
    rig = B.Rig(stt_ms=0, llm_ms=0, backends=1, slots=8)
    web = None
    try:
        web = rig.server({"INTROEVAL_WS_PER_USER": str(args.ws_clients)},
                         role="web", data_dir=data_dir)
        part_web(rig, web, args)
        tpls = prepare(rig, web, data_dir, args.templates)
        web_conns = db_conns(rig)
        per_node = []
        for k in [int(x) for x in args.nodes.split(",")]:
            conns = part_nodes(rig, data_dir, tpls, k, args)
            per_node.append(conns / float(k))
        worker = max(per_node)
        emit("worker_db_conns", worker)
        emit("nodes_per_db_max_connections_100",
             int((100 - 3 - web_conns) // worker))
        # At the defaults a worker keeps a request pool of db_pool_size
        # (8) for the three routes it serves.
        default = one_worker_conns(rig, data_dir, {})
        emit("worker_db_conns_default", default)
        emit("nodes_per_db_max_connections_100_default",
             int((100 - 3 - web_conns) // default))
    except BaseException:
        if web is not None:
            sys.stderr.write(web.log_tail(40) + "\n")
        raise
    finally:
        if web is not None:
            web.cleanup()
        rig.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
