#!/usr/bin/env python3
"""introevalctl (issue 16) against the real server and the stand-ins.

One server (a stand-in model answering slowly enough that uploads are
still in the pipeline when the server restarts), one student, one
teacher, each with their own config directory:

  - --help works for the tool and every command; a bad command line
    exits 2;
  - login takes the password from standard input and stores the URL and
    token in $XDG_CONFIG_HOME/introevalctl/config, mode 600 in a 700
    directory; a wrong password exits 3; logout ends the session (a
    watch on it then exits 3); --token-name keeps an API token;
  - the student submits three fixtures (the ids as JSON) and watches
    them while the server is stopped and started on the same port and
    database: the watch reconnects, every upload's final state is
    printed, exit 0;
  - results --csv as the teacher parses and holds the student's upload
    that counts with its overall score; job "..." --yes runs a job and
    without --yes (no terminal) nothing runs;
  - a cancelled upload makes the watch exit 1; a teacher's watch of the
    course follows an upload made after it started;
  - a submit killed part-way resumes where the server's bytes end, and
    makes one submission;
  - --json answers parse; errors exit 3 (bad token), 4 (no such
    submission) and 5 (no server).
"""

import csv
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW_S = "student-pw-123"
PW_T = "teacher-pw-123"
COMMANDS = ("login", "logout", "submit", "status", "watch", "results",
            "job", "backends", "nodes")


def ctl_binary():
    return os.environ.get("INTROEVALCTL_BIN") or os.path.join(
        harness.repo_dir(), "build", "introevalctl")


class Ctl:
    """introevalctl with its own config and state directories."""

    def __init__(self, url):
        self.url = url
        self.home = tempfile.mkdtemp(prefix="introevalctl-")
        self.env = dict(os.environ)
        for k in ("INTROEVAL_URL", "INTROEVAL_TOKEN", "INTROEVAL_EMAIL"):
            self.env.pop(k, None)
        self.env.update({"HOME": self.home,
                         "XDG_CONFIG_HOME": os.path.join(self.home, "cfg"),
                         "XDG_STATE_HOME": os.path.join(self.home, "st")})

    @property
    def config(self):
        return os.path.join(self.home, "cfg", "introevalctl", "config")

    def argv(self, *args):
        return [ctl_binary()] + list(args)

    def run(self, *args, input=None, expect=0, timeout=120):
        p = subprocess.run(self.argv(*args), env=self.env, input=input,
                           capture_output=True, text=True, timeout=timeout,
                           stdin=None if input is not None else
                           subprocess.DEVNULL)
        report = harness.sanitizer_report(p.stderr)
        if report:
            raise harness.SanitizerReport(report)
        if expect is not None and p.returncode != expect:
            raise AssertionError("introevalctl %s: exit %d, wanted %d\n"
                                 "stdout: %s\nstderr: %s" % (
                                     " ".join(args), p.returncode, expect,
                                     p.stdout, p.stderr))
        return p

    def json(self, *args, expect=0):
        p = self.run(*(list(args) + ["--json"]), expect=expect)
        return [json.loads(line) for line in p.stdout.splitlines()
                if line.strip()]

    def login(self, email, password):
        return self.run("login", "--url", self.url, "--email", email,
                        "--password-stdin", input=password + "\n")

    def stop(self):
        shutil.rmtree(self.home, ignore_errors=True)


class Watcher:
    """introevalctl watch in the background, its lines collected."""

    def __init__(self, ctl, *args):
        self.proc = subprocess.Popen(
            ctl.argv("watch", *args), env=ctl.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=self._read, args=(s, dst),
                                         daemon=True)
                        for s, dst in ((self.proc.stdout, self.out),
                                       (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _read(stream, dst):
        for line in stream:
            dst.append(line.rstrip("\n"))

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("watch did not end in %d s:\n%s\n%s" % (
                timeout, "\n".join(self.out), "\n".join(self.err)))
        for t in self.threads:
            t.join(10)
        return rc


class CliTest(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        # Scoring takes a few seconds a call, so that uploads are still
        # in the pipeline when the server restarts.
        cls.stack = harness.Stack(models=("mistral",), one_fake=True,
                                  fake_kw={"latency_ms": 1500}).start()
        cls.log_sources = [cls.stack.server] + cls.stack.fakes
        srv = cls.stack.server
        harness.create_users(srv, [
            ("cli-s@example.com", "Cli Student", "student", PW_S),
            ("cli-t@example.com", "Cli Teacher", "teacher", PW_T)])
        cls.student = Ctl(srv.url)
        cls.teacher = Ctl(srv.url)
        cls.student.login("cli-s@example.com", PW_S)
        cls.teacher.login("cli-t@example.com", PW_T)
        cls.course = harness.Client(srv.url)
        cls.course.login("cli-t@example.com", PW_T)

    @classmethod
    def tearDownClass(cls):
        cls.student.stop()
        cls.teacher.stop()
        cls.stack.stop()

    def course_id(self):
        subs = self.course.get_json("/api/v1/assignments/%d" %
                                    harness.default_assignment(
                                        self.stack.server))
        return subs["course_id"]

    def test_help_and_usage(self):
        p = self.student.run("--help")
        self.assertIn("usage: introevalctl", p.stdout)
        for cmd in COMMANDS:
            p = self.student.run(cmd, "--help")
            self.assertIn("usage: introevalctl " + cmd, p.stdout)
        p = self.student.run("frobnicate", expect=2)
        self.assertIn("unknown command", p.stderr)
        p = self.student.run("status", "--csv", expect=2)
        self.assertIn("unknown option --csv", p.stderr)
        self.student.run("submit", expect=2)
        # The client's version is the server's (one CMake project).
        self.assertEqual(self.student.json("version")[0]["version"],
                         self.stack.server.cli("--version").stdout.split()[-1])

    def test_login_stores_a_private_config(self):
        cfg = self.student.config
        self.assertEqual(stat.S_IMODE(os.stat(cfg).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(cfg))
                                      .st_mode), 0o700)
        with open(cfg, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("url=%s\n" % self.stack.server.url, text)
        self.assertRegex(text, r"token=[0-9a-f]{20,}\n")
        # A wrong password leaves the stored sign-in alone.
        other = Ctl(self.stack.server.url)
        try:
            p = other.run("login", "--url", other.url, "--email",
                          "cli-s@example.com", "--password-stdin",
                          input="wrong-password\n", expect=3)
            self.assertIn("HTTP 401", p.stderr)
            self.assertFalse(os.path.exists(other.config))
            # No terminal and no --password-stdin: said, not hung.
            p = other.run("login", "--url", other.url, "--email", "x@y.z",
                          expect=2)
            self.assertIn("--password-stdin", p.stderr)
        finally:
            other.stop()
        me = self.student.json("status")[0]
        self.assertIn("submissions", me)

    def test_logout_ends_the_session(self):
        other = Ctl(self.stack.server.url)
        try:
            other.login("cli-t@example.com", PW_T)
            token = self.config_token(other)
            probe = harness.Client(self.stack.server.url, token=token)
            probe.expect("GET", "/api/v1/me", 200)
            got = other.json("logout")[0]
            self.assertEqual(got, {"signed_out": True,
                                   "ended_on_server": True})
            probe.expect("GET", "/api/v1/me", 401)
            self.assertEqual(self.config_token(other), "")
            p = other.run("status", expect=3)
            self.assertIn("not signed in", p.stderr)
        finally:
            other.stop()

    def test_watch_ends_when_the_session_does(self):
        other = Ctl(self.stack.server.url)
        try:
            other.login("cli-s@example.com", PW_S)
            out = other.json("submit", harness.short_intro("intro01"))
            w = Watcher(other, str(out[0]["submissions"][0]["id"]))
            harness.wait_until(lambda: len(w.out) >= 1, "the watch's "
                               "first line", timeout=60)
            other.run("logout")
            # The hub closes the socket (4001); the watch finds the
            # session gone instead of reconnecting for ever.
            self.assertEqual(w.wait(120), 3, "\n".join(w.out + w.err))
            self.assertIn("the session has ended", "\n".join(w.err))
        finally:
            other.stop()

    def test_login_with_a_named_api_token(self):
        routes = self.stack.server.cli("routes").stdout
        if '"/api/v1/tokens"' not in routes:
            self.skipTest("this server has no API tokens")
        other = Ctl(self.stack.server.url)

        def login(email, pw, *extra, expect=0):
            return other.run("login", "--url", other.url, "--email", email,
                             "--password-stdin", *extra, input=pw + "\n",
                             expect=expect)

        def names():
            return [t["name"] for t in
                    self.course.get_json("/api/v1/tokens")["tokens"]]
        try:
            # act (the default): logout revokes it with itself.
            p = login("cli-t@example.com", PW_T, "--token-name", "cli-act")
            self.assertIn("API token", p.stdout)
            with open(other.config, encoding="utf-8") as f:
                self.assertIn("kind=api\n", f.read())
            self.assertEqual(names(), ["cli-act"])
            self.assertEqual(other.json("logout")[0],
                             {"signed_out": True, "ended_on_server": True})
            self.assertEqual(names(), [])
            self.assertEqual(self.config_token(other), "")

            # read: reads, may not act; it cannot revoke itself either,
            # so logout forgets it and says where to revoke it.
            login("cli-t@example.com", PW_T, "--token-name", "cli-read",
                  "--scope", "read")
            self.assertEqual([t["scope"] for t in self.course.get_json(
                "/api/v1/tokens")["tokens"]], ["read"])
            self.assertIn("nodes", other.json("nodes")[0])
            p = other.run("job", "retry everything", "--yes", expect=3)
            self.assertIn("HTTP 403", p.stderr)
            p = other.run("logout")
            self.assertIn("account page", p.stderr)
            self.assertEqual(self.config_token(other), "")
            self.assertEqual(names(), ["cli-read"])

            # A student has no API tokens: said, nothing stored.
            p = login("cli-s@example.com", PW_S, "--token-name", "x",
                      expect=3)
            self.assertIn("HTTP 403", p.stderr)
            self.assertEqual(self.config_token(other), "")
        finally:
            other.stop()

    @staticmethod
    def config_token(ctl):
        with open(ctl.config, encoding="utf-8") as f:
            for line in f:
                if line.startswith("token="):
                    return line[len("token="):].strip()
        return None

    def test_submit_watch_through_a_restart_results_and_job(self):
        srv = self.stack.server
        # The fixtures' first seconds: transcription is not under test.
        files = [harness.short_intro(n) for n in ("intro01", "intro02",
                                                  "intro03")]
        out = self.student.json("submit", *files)[0]
        ids = [s["id"] for s in out["submissions"]]
        self.assertEqual(len(ids), 3, out)
        self.assertEqual([s["file"] for s in out["submissions"]], files)

        w = Watcher(self.student, *[str(i) for i in ids])
        # Restart once a line is out and the uploads are not all done.
        harness.wait_until(lambda: len(w.out) >= 3, "the watch's first "
                           "lines", timeout=60)
        states = [self.course.get_json("/api/v1/submissions/%d" % i)
                  ["status"] for i in ids]
        self.assertTrue(any(s not in ("completed", "failed")
                            for s in states), states)
        srv.stop()
        harness.wait_until(lambda: any("reconnecting" in e for e in w.err),
                           "the watch to see the drop", timeout=30)
        srv.start()
        rc = w.wait(int(os.environ.get("INTROEVAL_E2E_TIMEOUT", "240")))
        self.assertEqual(rc, 0, "\n".join(w.out + w.err))
        self.assertTrue(any("reconnected" in e for e in w.err), w.err)
        for i in ids:
            last = [ln for ln in w.out
                    if ln.startswith("%d Cli Student, " % i)][-1]
            self.assertIn("completed, overall", last, w.out)
        self.assertEqual(w.out[-1], "3 done: 3 completed, 0 failed")
        final = {i: self.course.get_json("/api/v1/submissions/%d" % i)
                 for i in ids}
        self.assertTrue(all(s["status"] == "completed"
                            for s in final.values()))

        # results --csv: the student's row holds the upload that counts.
        course = self.course_id()
        text = self.teacher.run("results", "--course", str(course),
                                "--csv").stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        mine = [r for r in rows if r["email"] == "cli-s@example.com"]
        self.assertEqual(len(mine), 1, rows)
        self.assertEqual(int(mine[0]["submission"]), max(ids))
        self.assertAlmostEqual(float(mine[0]["overall"]),
                               final[max(ids)]["final"]["overall"],
                               places=1)
        prog = self.teacher.json("results", "--course", str(course))[0]
        self.assertIn("rows", prog)

        # job: refused without --yes when there is no terminal to ask.
        request = "re-evaluate everything"
        p = self.teacher.run("job", request, "--course", str(course),
                             expect=1)
        self.assertIn("--yes", p.stderr)
        self.assertEqual(self.course.get_json("/api/v1/jobs")["jobs"], [])
        got = self.teacher.json("job", request, "--course", str(course),
                                "--yes")[0]
        self.assertEqual(got["preview"]["questions"], [])
        self.assertGreaterEqual(got["job"]["matched"], 1)
        self.assertEqual(got["job"]["request_text"], request)
        jobs = self.course.get_json("/api/v1/jobs")["jobs"]
        self.assertEqual([j["id"] for j in jobs], [got["job"]["id"]])

    def test_cancelled_upload_fails_the_watch(self):
        out = self.student.json("submit", harness.short_intro("intro04"))
        sid = out[0]["submissions"][0]["id"]
        w = Watcher(self.student, str(sid), "--json")
        harness.wait_until(lambda: len(w.out) >= 1, "the watch's first "
                           "line", timeout=60)
        self.course.post_json("/api/v1/submissions/%d/cancel" % sid, {})
        rc = w.wait(120)
        self.assertEqual(rc, 1, "\n".join(w.out + w.err))
        lines = [json.loads(ln) for ln in w.out]
        self.assertEqual(lines[-1], {"type": "done", "watched": 1,
                                     "failed": 1})
        self.assertEqual(lines[-2]["status"], "failed")
        self.assertIn("cancelled", lines[-2]["error"])

    def test_watch_course_follows_new_uploads(self):
        course = str(self.course_id())
        first = self.student.json("submit", harness.short_intro("intro02"))
        a = first[0]["submissions"][0]["id"]
        w = Watcher(self.teacher, "--course", course, "--json")
        harness.wait_until(lambda: any('"id": %d' % a in ln or
                                       '"id":%d' % a in ln for ln in w.out),
                           "the watch to show the first upload", timeout=60)
        second = self.student.json("submit", harness.short_intro("intro03"))
        b = second[0]["submissions"][0]["id"]
        rc = w.wait(240)
        self.assertEqual(rc, 0, "\n".join(w.out + w.err))
        lines = [json.loads(ln) for ln in w.out]
        finals = {ln["id"]: ln for ln in lines if ln.get("final")}
        self.assertEqual(finals[a]["status"], "completed", lines)
        self.assertEqual(finals[b]["status"], "completed", lines)
        self.assertEqual(lines[-1]["type"], "done")
        self.assertGreaterEqual(lines[-1]["watched"], 2)

    def test_submit_resumes_after_being_killed(self):
        video = harness.short_intro("intro05")
        size = os.path.getsize(video)
        before = len(self.course.get_json("/api/v1/submissions")
                     ["submissions"])
        proc = subprocess.Popen(
            self.student.argv("submit", video, "--chunk-size", "8",
                              "--limit-rate", str(max(size // 8, 4096))),
            env=self.student.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Plain lines (not a terminal): one per quarter sent.
            for line in proc.stderr:
                if "% sent" in line and not line.startswith(
                        os.path.basename(video) + ": 0%"):
                    break
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        state_dir = os.path.join(self.student.home, "st", "introevalctl",
                                 "uploads")
        self.assertEqual(len(os.listdir(state_dir)), 1)
        p = self.student.run("submit", video, "--no-progress")
        m = [ln for ln in p.stderr.splitlines() if "resuming at byte" in ln]
        self.assertEqual(len(m), 1, p.stderr)
        offset = int(m[0].split("resuming at byte ")[1].split()[0])
        self.assertGreater(offset, 0)
        self.assertLess(offset, size)
        self.assertRegex(p.stdout, r": submission \d+\n$")
        sid = int(p.stdout.split("submission ")[1])
        sub = self.course.get_json("/api/v1/submissions/%d" % sid)
        self.assertEqual(sub["size_bytes"], size)
        after = self.course.get_json("/api/v1/submissions")["submissions"]
        self.assertEqual(len(after), before + 1)
        self.assertEqual(os.listdir(state_dir), [])

    def test_json_output_and_exit_codes(self):
        nodes = self.teacher.json("nodes")[0]
        self.assertTrue(nodes["nodes"], nodes)
        table = self.teacher.run("nodes").stdout.splitlines()
        self.assertTrue(table[0].startswith("NODE "), table)
        self.assertTrue(table[1].startswith(nodes["nodes"][0].get(
            "name") or nodes["nodes"][0]["node"]), table)
        # A course by its code, looked up in /api/v1/courses.
        by_code = self.teacher.json("results", "--course",
                                    harness.DEFAULT_COURSE_CODE)[0]
        self.assertEqual(by_code["rows"], self.teacher.json(
            "results", "--course", str(self.course_id()))[0]["rows"])
        p = self.teacher.run("results", "--course", "NOPE", expect=4)
        self.assertIn("no course of yours has the code", p.stderr)
        backends = self.teacher.json("backends")[0]
        self.assertTrue("backends" in backends or "nodes" in backends)
        p = self.student.run("nodes", expect=3)
        self.assertIn("HTTP 403", p.stderr)
        p = self.student.run("status", "999999", expect=4)
        self.assertIn("HTTP 404", p.stderr)
        # --json: the error on standard output too, with the API's code.
        err = self.student.json("status", "999999", expect=4)[0]["error"]
        self.assertEqual(err["status"], 404)
        self.assertEqual(err["request"], "/api/v1/submissions/999999")
        self.assertTrue(err["code"] and err["message"], err)
        p = self.student.run("status", "--token", "not-a-token", expect=3)
        self.assertIn("HTTP 401", p.stderr)
        dead = "http://127.0.0.1:%d" % harness.free_port()
        p = self.student.run("status", "--url", dead, "--token", "x",
                             expect=5)
        self.assertIn("cannot reach the server", p.stderr)
        env_run = subprocess.run(
            self.student.argv("status", "--json"), capture_output=True,
            text=True, timeout=60, stdin=subprocess.DEVNULL,
            env=dict(self.teacher.env, INTROEVAL_URL=self.stack.server.url,
                     INTROEVAL_TOKEN="not-a-token"))
        self.assertEqual(env_run.returncode, 3, env_run.stderr)


if __name__ == "__main__":
    harness.main()
