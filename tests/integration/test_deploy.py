#!/usr/bin/env python3
"""Production files and behaviour (issue 17).

One PostgreSQL, stand-in STT and Ollama servers, the real server (role
all, configuration file with log_format json) and Debian's nginx running
deploy/nginx/introeval.conf in front of it (TLS with a throw-away
self-signed certificate; only ports, certificate, log and static paths
are rewritten). Checks:

  - systemd-analyze verify passes on deploy/introeval.service (its
    ExecStart pointed at this build) and nginx -t on the site;
  - through nginx: sign-in, a WebSocket upgrade on /ws that sees the
    upload's final state, an upload that is scored, static files with
    the server's cache headers, X-Request-Id; the upload's request id is
    in the server's JSON log lines for its request and in the
    scheduler's lines for the submission it created;
  - /readyz: ready, then 503 naming the migration that is missing;
  - SIGHUP re-reads the file: log_format changes at once, a key that
    cannot change live is named as needing a restart, and an open
    WebSocket stays open;
  - SIGTERM while a transcription is in flight: the claimed submission
    is pending again at once (before its lease would have expired), open
    WebSockets are closed with 1012 and a reconnect hint, exit status 0;
    after a restart the submission is scored;
  - deploy/backup and deploy/restore: a round trip into an empty
    database and directory, read back by a server: the submission with
    its recording, transcript and scores.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from nginx import Nginx  # noqa: E402
from wsclient import Closed, WsClient  # noqa: E402

REPO = harness.repo_dir()
WAIT_S = 240
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
STUDENT = ("deploy-student@example.edu", "Dee Ploy", "student",
           "deploy-pass-1")


def wait_until(cond, what, timeout=WAIT_S):
    return harness.wait_until(cond, what, timeout)


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


class Deploy(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = cls.stt = cls.ollama = cls.server = cls.nginx = None
        cls.conf_dir = tempfile.mkdtemp(prefix="introeval-conf-")
        cls.conf = os.path.join(cls.conf_dir, "introeval.json")
        cls.write_conf({"log_format": "json"})
        try:
            cls.pg = harness.PgCluster().start()
            cls.ollama = harness.FakeOllama(models=("mistral",)).start()
            cls.stt = harness.FakeStt(api="whisper").start()
            cls.server = harness.Server(
                cls.pg.url, harness.backends_for([cls.ollama]),
                args=["--config", cls.conf], env={
                    "INTROEVAL_STT_ENGINE": "whisper_http",
                    "INTROEVAL_STT_URL": cls.stt.url,
                    "INTROEVAL_NODE_NAME": "deploy-node",
                    "INTROEVAL_LOG_LEVEL": "info"}).start()
            cls.log_sources = (cls.server, cls.stt)
            harness.create_user(cls.server, *STUDENT)
            cls.nginx = Nginx(cls.server.port)
            cls.nginx.start()
            cls.log_sources = (cls.server, cls.stt, cls.nginx)
            cls.upload_through_nginx()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for obj in (cls.nginx, cls.server):
            if obj is not None:
                if hasattr(obj, "cleanup"):
                    obj.cleanup()
                else:
                    obj.stop()
        for obj in (cls.stt, cls.ollama, cls.pg):
            if obj is not None:
                obj.stop()
        shutil.rmtree(cls.conf_dir, ignore_errors=True)

    @classmethod
    def write_conf(cls, obj):
        with open(cls.conf + ".tmp", "w") as f:
            json.dump(obj, f)
        os.rename(cls.conf + ".tmp", cls.conf)

    @classmethod
    def upload_through_nginx(cls):
        """Signs in, opens /ws and uploads, all through nginx; waits for
        the score and the WebSocket's final event."""
        c = cls.proxied = harness.Client(cls.nginx.url)
        c.login(STUDENT[0], STUDENT[3])
        ws = WsClient.connect(
            cls.nginx.url, cookie="introeval_session=" +
            c.cookies["introeval_session"], origin=cls.nginx.url)
        hello = ws.recv_json()
        ws.send_json({"type": "subscribe", "topic": "mine", "since": 0})
        with open(harness.short_intro("intro01"), "rb") as f:
            cls.recording = f.read()
        resp = c.expect("POST", "/api/v1/submissions", 201,
                        body=cls.recording, headers={
                            "Content-Type": "video/mp4",
                            "Accept": "application/json"})
        cls.upload_resp = resp
        cls.sub_id = resp.json()["id"]
        cls.sub = c.wait_for(cls.sub_id, timeout=WAIT_S)
        cls.ws_events = [hello]
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            m = ws.recv_json(timeout=5)
            if m is not None:
                cls.ws_events.append(m)
                if m.get("type") == "submission" and \
                        m.get("id") == cls.sub_id and \
                        m.get("status") in ("completed", "failed"):
                    break
        ws.close()

    def psql(self, sql, dbname=None):
        return self.pg.psql(sql, dbname).strip()

    # ------------------------------------------------------------ files

    def test_systemd_unit_verifies(self):
        with open(os.path.join(REPO, "deploy/introeval.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/opt/introeval/build/introeval ", unit)
        for word in ("Type=notify", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "PrivateTmp=yes",
                     "Restart=on-failure", "ExecReload=/bin/kill -HUP",
                     "ReadWritePaths=", "User=introeval"):
            self.assertIn(word, unit)
        path = os.path.join(self.conf_dir, "introeval.service")
        with open(path, "w") as f:
            f.write(unit.replace("/opt/introeval/build/introeval",
                                 self.server.binary))
        p = subprocess.run([SYSTEMD_ANALYZE, "verify", path],
                           capture_output=True, text=True)
        if p.returncode != 0 and "System has not been booted" in p.stderr:
            self.skipTest("systemd-analyze cannot run here: " + p.stderr)
        complaints = [l for l in (p.stdout + p.stderr).splitlines()
                      if "introeval.service" in l]
        self.assertEqual((p.returncode, complaints), (0, []),
                         p.stdout + p.stderr)

    def test_nginx_site_config(self):
        p = self.nginx.test_config()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("test is successful", p.stderr)
        with open(os.path.join(REPO, "deploy/nginx/introeval.conf")) as f:
            site = f.read()
        with open(os.path.join(REPO, "deploy/introeval.production.json")) \
                as f:
            prod = json.load(f)
        # client_max_body_size matches upload_max_mb of the example.
        self.assertIn("client_max_body_size %dm;" % prod["upload_max_mb"],
                      site)
        out = subprocess.run([self.server.binary, "--config",
                              os.path.join(REPO,
                                           "deploy/introeval.production.json"),
                              "--print-config"], capture_output=True,
                             text=True)
        self.assertEqual(out.returncode, 0, out.stderr)

    # ------------------------------------------------------ through nginx

    def test_upload_and_websocket_through_nginx(self):
        self.assertEqual(self.sub["status"], "completed", self.sub)
        finals = [m for m in self.ws_events if m.get("type") ==
                  "submission" and m.get("id") == self.sub_id and
                  m.get("status") == "completed"]
        self.assertTrue(finals, self.ws_events)
        rid = self.upload_resp.header("X-Request-Id")
        self.assertTrue(rid, self.upload_resp.headers)
        self.assertEqual(self.psql(
            "SELECT request_id FROM submissions WHERE id = %d" %
            self.sub_id), rid)

    def test_static_files_by_nginx_with_the_servers_cache_headers(self):
        direct = harness.Client(self.server.url).expect(
            "GET", "/static/style.css", 200)
        proxied = self.proxied.expect("GET", "/static/style.css", 200)
        self.assertEqual(proxied.body, direct.body)
        self.assertEqual(proxied.header("Cache-Control"),
                         direct.header("Cache-Control"))
        self.assertTrue(proxied.header("ETag"))
        etag = proxied.header("ETag")
        self.proxied.expect("GET", "/static/style.css", 304,
                            headers={"If-None-Match": etag})
        self.proxied.expect("GET", "/static/../README.md", (400, 404))
        self.proxied.expect("GET", "/static/", 404)

    def test_request_id_in_json_log_lines(self):
        rid = self.upload_resp.header("X-Request-Id")
        lines = json_lines(self.server.log_text())
        self.assertTrue(lines, self.server.log_tail())
        mine = [l for l in lines if l.get("request_id") == rid]
        msgs = [l["msg"] for l in mine]
        self.assertTrue(any(m.startswith("http POST /api/v1/submissions")
                            for m in msgs), msgs)
        # The scheduler's lines for the submission carry the same id.
        sub = "submission=%d " % self.sub_id
        self.assertTrue(any(m.startswith(sub + "stt start") for m in msgs),
                        msgs)
        self.assertTrue(any(m.startswith(sub + "llm done") for m in msgs),
                        msgs)
        for l in mine:
            self.assertEqual(set(l) >= {"time", "level", "msg"}, True, l)
        http = [l for l in mine if l["msg"].startswith("http POST")][0]
        self.assertEqual(http.get("status"), "201", http)

    # ------------------------------------------------------------ /readyz

    def test_readyz(self):
        client = harness.Client(self.server.url)
        r = client.get_json("/readyz")
        self.assertEqual(r["status"], "ready", r)
        self.assertEqual(r["failed"], [])
        for name in ("accepting", "database", "migrations", "node_lock"):
            self.assertTrue(r["checks"][name]["ok"], r)
        self.assertEqual(client.get_json("/healthz")["status"], "ok")
        self.psql("DELETE FROM schema_migrations WHERE version = '020'")
        try:
            resp = client.expect("GET", "/readyz", 503)
            r = resp.json()
            self.assertEqual(r["failed"], ["migrations"], r)
            self.assertIn("020", r["checks"]["migrations"]["detail"])
            # Liveness is another question: still alive.
            self.assertEqual(client.get_json("/healthz")["status"], "ok")
        finally:
            self.psql("INSERT INTO schema_migrations (version) "
                      "VALUES ('020')")
        self.assertEqual(client.get_json("/readyz")["status"], "ready")

    # ------------------------------------------------------------ signals

    def test_sighup_rereads_the_configuration(self):
        c = harness.Client(self.server.url)
        c.login(STUDENT[0], STUDENT[3])
        ws = WsClient.connect(self.server.url, cookie="introeval_session=" +
                              c.cookies["introeval_session"])
        self.assertEqual(ws.recv_json()["type"], "hello")
        self.write_conf({"log_format": "kv", "threads": 80})
        mark = len(self.server.log_text())
        try:
            os.kill(self.server.proc.pid, signal.SIGHUP)
            wait_until(lambda: "SIGHUP: configuration re-read" in
                       self.server.log_text()[mark:], "the reload's line",
                       60)
            after = self.server.log_text()[mark:]
            self.assertIn("applied=log_format needs_restart=threads", after)
            self.assertIn("threads changed but needs a restart", after)
            c.expect("GET", "/api/v1/me", 200)
            wait_until(lambda: [
                l for l in self.server.log_text()[mark:].splitlines()
                if " info http GET /api/v1/me status=200" in l and
                not l.startswith("{")], "a kv line for the request", 60)
            # The open socket was not dropped.
            ws.send_json({"type": "subscribe", "topic": "mine",
                          "since": 0})
            self.assertIsNotNone(ws.recv_json(timeout=30))
            self.assertEqual(self.server.running(), True)
            # A file that does not load changes nothing.
            with open(self.conf, "w") as f:
                f.write("{not json")
            mark = len(self.server.log_text())
            os.kill(self.server.proc.pid, signal.SIGHUP)
            wait_until(lambda: "configuration not reloaded" in
                       self.server.log_text()[mark:], "the refusal", 60)
        finally:
            ws.close()
            self.write_conf({"log_format": "json"})
            mark = len(self.server.log_text())
            os.kill(self.server.proc.pid, signal.SIGHUP)
            wait_until(lambda: "SIGHUP: configuration re-read" in
                       self.server.log_text()[mark:], "the reload back", 60)

    def test_sigterm_hands_back_the_lease_at_once(self):
        """The last test of the class (it restarts the server)."""
        c = harness.Client(self.server.url)
        c.login(STUDENT[0], STUDENT[3])
        self.stt.control(latency_ms=600000)	# the call hangs
        ws = WsClient.connect(self.server.url, cookie="introeval_session=" +
                              c.cookies["introeval_session"])
        self.assertEqual(ws.recv_json()["type"], "hello")
        try:
            sid = c.upload(harness.short_intro("intro02"))["id"]
            wait_until(lambda: self.psql(
                "SELECT phase || ' ' || status || ' ' || "
                "(work_started_at IS NOT NULL) FROM submissions WHERE id = "
                "%d" % sid) == "stt processing true", "the STT call starts")
            lease = self.psql("SELECT lease_expires_at FROM submissions "
                              "WHERE id = %d" % sid)
            self.server.proc.send_signal(signal.SIGTERM)
            # Pending again while its lease still had time to run.
            wait_until(lambda: self.psql(
                "SELECT status FROM submissions WHERE id = %d" % sid) ==
                "pending", "the submission is handed back", 60)
            row = self.psql(
                "SELECT worker_id IS NULL, claim_token IS NULL, "
                "now() < '%s'::timestamptz, crashes FROM submissions "
                "WHERE id = %d" % (lease, sid))
            self.assertEqual(row, "t|t|t|0")
            with self.assertRaises(Closed) as cm:
                while ws.recv(timeout=60) is not None:
                    pass
            self.assertEqual(cm.exception.code, 1012)
            self.assertIn("reconnect", cm.exception.reason)
            rc = self.server.proc.wait(60)
            self.assertEqual(rc, 0, self.server.log_tail())
            log = self.server.log_text()
            self.assertIn("handed back 1 submission(s)", log)
        finally:
            ws.close()
            self.stt.control(latency_ms=0)
            if not self.server.running():
                self.server.start()
        c = harness.Client(self.server.url)
        c.login(STUDENT[0], STUDENT[3])
        self.assertEqual(c.wait_for(sid, timeout=WAIT_S)["status"],
                         "completed")

    # ------------------------------------------------------ backup/restore

    def test_backup_and_restore_round_trip(self):
        work = tempfile.mkdtemp(prefix="introeval-backup-test-")
        restored = None
        try:
            archive = os.path.join(work, "ie.tar")
            env = dict(os.environ, PGBIN=harness.PGBIN)
            p = subprocess.run([os.path.join(REPO, "deploy/backup"),
                                "--database-url", self.pg.url,
                                "--data-dir", self.server.data_dir,
                                archive], capture_output=True, text=True,
                               env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            url = self.pg.create_database("restored")
            data = os.path.join(work, "data")
            restore = [os.path.join(REPO, "deploy/restore"),
                       "--database-url", url, "--data-dir", data, archive]
            p = subprocess.run(restore, capture_output=True, text=True,
                               env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            # Never over live data.
            p = subprocess.run(restore, capture_output=True, text=True,
                               env=env)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("empty database", p.stderr)

            restored = harness.Server(url, harness.backends_for(
                [self.ollama]), data_dir=data, env={
                    "INTROEVAL_STT_ENGINE": "whisper_http",
                    "INTROEVAL_STT_URL": self.stt.url,
                    "INTROEVAL_NODE_NAME": "restored-node"}).start()
            c = harness.Client(restored.url)
            c.login(STUDENT[0], STUDENT[3])
            sub = c.get_json("/api/v1/submissions/%d" % self.sub_id)
            orig = self.proxied.get_json("/api/v1/submissions/%d" %
                                         self.sub_id)
            self.assertEqual(sub["status"], "completed", sub)
            for key in ("transcript", "scores", "evaluation"):
                if key in orig:
                    self.assertEqual(sub.get(key), orig[key], key)
            self.assertTrue(sub.get("transcript") or sub.get("evaluation"),
                            sub)
            media = c.expect("GET", "/api/v1/submissions/%d/media" %
                             self.sub_id, 200)
            self.assertEqual(media.body, self.recording)
        finally:
            if restored is not None:
                restored.stop()
                restored.data_dir = None
                restored.cleanup()
            shutil.rmtree(work, ignore_errors=True)


def load_tests(loader, tests, pattern):
    """The SIGTERM test restarts the server: it runs last."""
    names = sorted(loader.getTestCaseNames(Deploy),
                   key=lambda n: n == "test_sigterm_hands_back_the_lease_"
                   "at_once")
    return unittest.TestSuite(Deploy(n) for n in names)


if __name__ == "__main__":
    harness.main()
