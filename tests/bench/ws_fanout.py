#!/usr/bin/env python3
"""WebSocket fan-out: N sockets on one course, database change to receipt.

Starts a throw-away PostgreSQL cluster, a stand-in Ollama and the real
server with enough threads for the sockets (CivetWeb keeps one worker
thread per open WebSocket), enrols a teacher and a student in a course,
stores one finished submission, and runs build/bench_ws_fanout: --clients
sockets (default 500, a libwebsockets client) signed in as the teacher and
subscribed to course:ID; then --rounds times (default 20) the submission's
status is flipped straight in the database and each socket's receipt is
timed. Prints:

  ws_fanout_clients=N       sockets that subscribed
  ws_fanout_samples=N       receipts timed
  ws_fanout_missed=N        receipts that did not come within 5 s
  ws_fanout_p50_ms=M        median, database UPDATE to receipt
  ws_fanout_p99_ms=M
  ws_fanout_max_ms=M
  ws_rss_per_conn_kib=K     the server's RSS growth per open socket
  ws_server_threads=T       the server's `threads` setting
"""

import argparse
import os
import resource
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402


def form(client, path, fields):
    body = urllib.parse.urlencode(dict(fields, csrf=client.csrf_token))
    return client.expect("POST", path, 303, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"}, csrf=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    harness.install_signal_handlers()
    build = os.environ.get("INTROEVAL_BUILD_DIR") or os.path.join(
        harness.repo_dir(), "build")
    tool = os.path.join(build, "bench_ws_fanout")
    if not os.access(tool, os.X_OK):
        sys.exit("bench: no %s (build it first)" % tool)
    # Two ends of every socket live on this machine.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.clients + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    # Sockets may take all but a quarter of the threads (ws_limit.c),
    # and every socket here is the one teacher's.
    threads = -(-args.clients * 4 // 3) + 8
    with harness.PgCluster() as pg, harness.FakeOllama() as fake:
        server = harness.Server(pg.url, harness.backends_for([fake]), env={
            "INTROEVAL_THREADS": str(threads),
            "INTROEVAL_WS_PER_USER": str(args.clients),
            "INTROEVAL_LOG_LEVEL": "info"})
        server.start()
        try:
            pw = {}
            for email, role in (("admin@example.com", "admin"),
                                ("teach@example.com", "teacher"),
                                ("stud@example.com", "student")):
                pw[role] = harness.create_user(server, email, role, role,
                                               "bench-" + role)
            admin = harness.Client(server.url)
            admin.login("admin@example.com", pw["admin"])
            r = form(admin, "/courses", {"code": "BENCH", "title": "Bench"})
            course = int(r.header("Location").rsplit("/", 1)[1])
            for email, role in (("teach@example.com", "teacher"),
                                ("stud@example.com", "student")):
                form(admin, "/courses/%d/members" % course,
                     {"email": email, "role": role, "section": ""})
            sub = int(pg.psql(
                "INSERT INTO submissions (student_id, stored_name, "
                "size_bytes, phase, status, completed_at) SELECT id, "
                "'bench-fanout', 1, 'completed', 'completed', now() "
                "FROM users WHERE email = 'stud@example.com' "
                "RETURNING id").splitlines()[0])
            teacher = harness.Client(server.url)
            teacher.login("teach@example.com", pw["teacher"])
            harness.log("fan-out to %d sockets, %d rounds" % (
                args.clients, args.rounds))
            p = subprocess.run([
                tool, "--port", str(server.port),
                "--cookie", "introeval_session=" +
                teacher.cookies["introeval_session"],
                "--topic", "course:%d" % course, "--db", pg.url,
                "--submission", str(sub), "--clients", str(args.clients),
                "--rounds", str(args.rounds),
                "--pid", str(server.proc.pid)],
                stdout=subprocess.PIPE, text=True, timeout=900)
            sys.stdout.write(p.stdout)
            print("ws_server_threads=%d" % threads)
            if p.returncode != 0:
                harness.log("bench_ws_fanout exited %d; server log:\n%s" % (
                    p.returncode, server.log_tail(30)))
                return 1
        finally:
            server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
