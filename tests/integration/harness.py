#!/usr/bin/env python3
"""harness: start the real IntroEval binary against throw-away services.

Python 3 standard library only. End-to-end tests import it:

  PgCluster    a private PostgreSQL 15 cluster in a fresh temporary
               directory (unix socket only, trust auth, fsync off); .url
  FakeOllama   tests/fakes/fake_ollama.py on a free port; .url, .control()
  Server       build/introeval (or $INTROEVAL_BIN) on a free port with a
               temporary data directory; .url, .cli(), .stop(), .kill9()
  Client       an HTTP client with its own cookies: login(), get_json(),
               upload(), wait_for(), request()
  Stack        all of the above wired together, as most tests want them
  TestCase     unittest.TestCase that prints the server logs of a failed
               test
  free_port(), shared_dir(), repo_dir(), create_user(), word_overlap()

Every process is started in its own session and every temporary directory
is registered for clean-up: stop() or the context manager ends them, and
whatever is left at interpreter exit (a failed test, SIGTERM, Ctrl-C) is
ended by an atexit hook.

Run as a program ("harness.py --serve-env") it starts a Stack, creates a
student, a teacher and an admin, prints one JSON line describing them and
keeps everything running until its standard input closes or it gets
SIGTERM/SIGINT. The browser tests use it that way.
"""

import argparse
import atexit
import http.client
import json
import os
import pwd
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
IS_ROOT = os.geteuid() == 0
DB_USER = "introeval"

_cleanups = []		# objects with a stop(), newest last
_cleanup_lock = threading.Lock()


def repo_dir():
    """The repository's root directory."""
    return os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


def shared_dir():
    """The read-only shared/ directory: $INTROEVAL_SHARED_DIR or ../shared."""
    d = os.environ.get("INTROEVAL_SHARED_DIR")
    if d:
        return os.path.abspath(d)
    return os.path.join(os.path.dirname(repo_dir()), "shared")


def binary():
    """The server binary: $INTROEVAL_BIN or build/introeval."""
    return os.environ.get("INTROEVAL_BIN") or os.path.join(
        repo_dir(), "build", "introeval")


_ports_given = set()
_ports_lock = threading.Lock()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now and that
    this process has not handed out before: the kernel may give the same
    port to two bind(0) calls in a row (a test once had nginx's http and
    https listeners on one port)."""
    with _ports_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _ports_given:
                _ports_given.add(port)
                return port
    raise RuntimeError("no free port that was not handed out already")


def log(msg):
    print("harness: " + msg, file=sys.stderr, flush=True)


def _register(obj):
    with _cleanup_lock:
        _cleanups.append(obj)


def _unregister(obj):
    with _cleanup_lock:
        if obj in _cleanups:
            _cleanups.remove(obj)


@atexit.register
def _cleanup_all():
    reported = False
    while True:
        with _cleanup_lock:
            if not _cleanups:
                break
            obj = _cleanups.pop()
        try:
            getattr(obj, "cleanup", obj.stop)()
        except SanitizerReport as e:
            log(str(e))
            reported = True
        except Exception as e:  # keep cleaning up the rest
            log("clean-up of %r failed: %s" % (obj, e))
    if reported:
        # A report found only at exit still fails the run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(SANITIZER_EXIT)


# A build with INTROEVAL_SANITIZE=ON (deploy/test --sanitize, with
# tests/sanitize/env.sh) writes AddressSanitizer, LeakSanitizer and UBSan
# reports to the server's standard error, its log. Any report fails the
# test that ran the server: Server.stop() and cli() look for them.
SANITIZER_EXIT = 86
_SANITIZER_RE = re.compile(
    r"^(==\d+==ERROR: (Address|Leak)Sanitizer|.*: runtime error: |"
    r"SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer)", re.M)


class SanitizerReport(AssertionError):
    """A sanitizer report in a server's log or a command's output."""


def sanitizer_report(text):
    """The first sanitizer report in text (up to 80 lines), or None."""
    m = _SANITIZER_RE.search(text or "")
    if m is None:
        return None
    return "\n".join(text[m.start():].splitlines()[:80])


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def install_signal_handlers():
    """Make SIGTERM and SIGHUP run the atexit clean-up."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)


def _kill_group(proc, grace):
    """SIGTERM the process (and its group), SIGKILL after grace seconds."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        log("pid %d ignored SIGTERM for %.0f s: SIGKILL" % (proc.pid, grace))
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.wait()


def tail(path, lines=60):
    """The last lines of a text file, or '' when it cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


# ---------------------------------------------------------------- PostgreSQL

class PgCluster:
    """A throw-away PostgreSQL cluster; the socket is its only way in.

    When run as root the directory belongs to the postgres user and every
    PostgreSQL program runs through runuser (initdb refuses root).
    """

    def __init__(self, dbname=DB_USER):
        self.dbname = dbname
        self.dir = None
        self.port = None

    def __repr__(self):
        return "PgCluster(%s)" % self.dir

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def datadir(self):
        return os.path.join(self.dir, "data")

    @property
    def logfile(self):
        return os.path.join(self.dir, "postgres.log")

    @property
    def url(self):
        return self.url_for(self.dbname)

    def url_for(self, dbname):
        return "postgresql:///%s?host=%s&port=%d&user=%s" % (
            dbname, self.dir, self.port, DB_USER)

    def _run(self, argv, check=True, **kw):
        if IS_ROOT:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, **kw)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (exit %d):\n%s%s\n%s" % (
                " ".join(argv), p.returncode, p.stdout, p.stderr,
                tail(self.logfile, 30)))
        return p

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="introeval-pg-")
        _register(self)
        if IS_ROOT:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self._run([os.path.join(PGBIN, "initdb"), "-D", self.datadir,
                   "-U", DB_USER, "--auth=trust", "--encoding=UTF8",
                   "--locale=C.UTF-8", "--no-sync"])
        self._pg_start()
        self.create_database(self.dbname)
        return self

    def _pg_start(self):
        opts = ("-c listen_addresses='' -c unix_socket_directories=%s "
                "-c port=%d -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off" % (self.dir, self.port))
        self._run([os.path.join(PGBIN, "pg_ctl"), "-D", self.datadir,
                   "-l", self.logfile, "-w", "-t", "60", "-o", opts, "start"])

    def _pg_stop(self, mode):
        if self.dir is None or not os.path.exists(
                os.path.join(self.datadir, "postmaster.pid")):
            return
        self._run([os.path.join(PGBIN, "pg_ctl"), "-D", self.datadir,
                   "-m", mode, "-w", "-t", "60", "stop"], check=False)

    def create_database(self, dbname, template=None):
        """Create another database in the cluster; returns its URL.

        template: copy that database (schema, users and all; nobody may
        be connected to it), which is much cheaper than making the same
        rows again with the CLI in every test.
        """
        argv = [os.path.join(PGBIN, "createdb"), "-h", self.dir,
                "-p", str(self.port), "-U", DB_USER]
        if template:
            argv += ["-T", template]
        self._run(argv + [dbname])
        return self.url_for(dbname)

    def psql(self, sql, dbname=None):
        """Run SQL; returns psql's unaligned, tuples-only output."""
        p = self._run([os.path.join(PGBIN, "psql"), "-X", "-v",
                       "ON_ERROR_STOP=1", "-h", self.dir, "-p",
                       str(self.port), "-U", DB_USER, "-d",
                       dbname or self.dbname, "-tAc", sql])
        return p.stdout.strip()

    def restart(self, mode="fast"):
        """Stop (mode fast, or immediate for a crash) and start again."""
        self._pg_stop(mode)
        self._pg_start()

    def stop(self):
        if self.dir is None:
            return
        self._pg_stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        _unregister(self)


# ---------------------------------------------------------------- fake Ollama

class FakeOllama:
    """tests/fakes/fake_ollama.py on a free port."""

    def __init__(self, models=("mistral", "llama3"), latency_ms=0,
                 token_ms=0, log_file=None, extra_args=()):
        self.models = list(models)
        self.latency_ms = latency_ms
        self.token_ms = token_ms
        self.log_file = log_file
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None
        self.stderr_path = None

    def __repr__(self):
        return "FakeOllama(%s)" % self.url

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def argv(self):
        script = os.path.join(repo_dir(), "tests", "fakes", "fake_ollama.py")
        argv = [sys.executable, script, "--port", "0"]
        for m in self.models:
            argv += ["--model", m]
        if self.latency_ms:
            argv += ["--latency-ms", str(self.latency_ms)]
        if self.token_ms:
            argv += ["--token-ms", str(self.token_ms)]
        if self.log_file:
            argv += ["--log", self.log_file]
        return argv + self.extra_args

    def start(self, timeout=15):
        argv = self.argv()
        fd, self.stderr_path = tempfile.mkstemp(prefix="introeval-ollama-",
                                                suffix=".log")
        with os.fdopen(fd, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err,
                                         start_new_session=True)
        _register(self)
        line = self._first_line(timeout)
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.stop()
            raise RuntimeError("fake_ollama did not start: %r" % line)
        self.url = m.group(1)
        # Keep draining stdout so the fake never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _first_line(self, timeout):
        out = self.proc.stdout
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([out], [], [], left)
            if not r:
                break
            chunk = os.read(out.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode("utf-8", "replace") + tail(self.stderr_path, 20)

    def _drain(self):
        try:
            while self.proc and self.proc.stdout.read(4096):
                pass
        except (OSError, ValueError, AttributeError):
            pass

    def control(self, **settings):
        """POST /_control: fault, latency_ms, token_ms, max_concurrent..."""
        u = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        try:
            conn.request("POST", "/_control", json.dumps(settings),
                         {"Content-Type": "application/json"})
            return json.loads(conn.getresponse().read() or b"{}")
        finally:
            conn.close()

    def log_tail(self, lines=30):
        return tail(self.stderr_path, lines) if self.stderr_path else ""

    def stop(self):
        if self.proc is not None:
            _kill_group(self.proc, 5)
            if self.proc.stdout:
                try:
                    self.proc.stdout.close()
                except OSError:
                    pass
            self.proc = None
        if self.stderr_path:
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass
            self.stderr_path = None
        _unregister(self)


class FakeStt(FakeOllama):
    """tests/fakes/fake_stt.py on a free port (whisper or openai API).

    text: the transcript it answers with (default: the true text of
    intro01); latency_ms: time per transcription.
    """

    def __init__(self, api="whisper", text=None, latency_ms=0,
                 log_file=None, extra_args=()):
        super().__init__(models=(), latency_ms=latency_ms,
                         log_file=log_file, extra_args=extra_args)
        self.api = api
        self.text = text or intro("intro01")[1]

    def __repr__(self):
        return "FakeStt(%s)" % self.url

    def argv(self):
        script = os.path.join(repo_dir(), "tests", "fakes", "fake_stt.py")
        argv = [sys.executable, script, "--port", "0", "--api", self.api,
                "--text", self.text]
        if self.latency_ms:
            argv += ["--latency-ms", str(self.latency_ms)]
        if self.log_file:
            argv += ["--log", self.log_file]
        return argv + self.extra_args


def read_log(path):
    """The JSON lines a fake wrote with --log."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def overlaps(a, b):
    """Pairs of (start, end, ...) tuples from a and b that overlap."""
    return [(x, y) for x in a for y in b
            if x[0] < y[1] and y[0] < x[1]]


def backends_for(fakes):
    """INTROEVAL_LLM_BACKENDS entries: one per model of each fake."""
    out = []
    for fake in fakes:
        for m in fake.models:
            out.append({"name": m, "type": "ollama", "url": fake.url,
                        "model": m})
    return out


# ---------------------------------------------------------------- the server

class _PortTaken(RuntimeError):
    pass


SERVER_TEST_DEFAULTS = {
    "INTROEVAL_BATCH_WINDOW_S": "0.5",
    "INTROEVAL_SCHEDULER_POLL_S": "0.2",
    # libsodium's minimum argon2id cost: a sign-in costs milliseconds,
    # not ~1.5 s of the loaded CI machine (test_abuse_auth's bound test
    # sets "interactive").
    "INTROEVAL_PASSWORD_HASH_COST": "minimum",
}

class Server:
    """The real binary on a free port with a temporary data directory.

    env: extra environment (INTROEVAL_* overrides); backends: a list of
    LLM backend objects for INTROEVAL_LLM_BACKENDS. start() may be called
    again after stop()/kill9() and keeps the port and data directory, which
    is how restart tests go.
    """

    def __init__(self, database_url, backends=None, env=None, port=None,
                 data_dir=None, binary_path=None, args=()):
        self.binary = binary_path or binary()
        # A port found free may be taken by another test before the
        # server binds it (tests run side by side): start() then picks
        # another, unless the caller chose this one or it served before.
        self._port_may_change = port is None
        self.port = port or free_port()
        self._own_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(
            prefix="introeval-data-")
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": database_url,
            "INTROEVAL_HOST": "127.0.0.1",
            "INTROEVAL_PORT": str(self.port),
            "INTROEVAL_DATA_DIR": self.data_dir,
            "INTROEVAL_SHARE_DIR": repo_dir(),
            "INTROEVAL_LOG_LEVEL": "debug",
        })
        # Tests do not wait out production's batch window (20 s) or idle
        # poll (2 s); a test about batching sets its own window.
        for k, v in SERVER_TEST_DEFAULTS.items():
            self.env.setdefault(k, v)
        if backends is not None:
            self.env["INTROEVAL_LLM_BACKENDS"] = json.dumps(backends)
        self.env.update(env or {})
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.proc = None
        self._log_checked = 0	# bytes of the log checked for reports
        _register(self)

    def __repr__(self):
        return "Server(%s)" % self.url

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self.cleanup()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def uploads_dir(self):
        return os.path.join(self.data_dir, "uploads")

    def start(self, timeout=60):
        for attempt in range(5):
            try:
                return self._start(timeout)
            except _PortTaken:
                if not self._port_may_change or attempt == 4:
                    raise
                log("port %d was taken; trying another" % self.port)
                self.port = free_port()
                self.env["INTROEVAL_PORT"] = str(self.port)

    def _start(self, timeout):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("no server binary at %s (build it, or set "
                               "INTROEVAL_BIN)" % self.binary)
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary] + self.args + ["serve"], env=self.env,
                cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            logf.close()
        self._wait_ready(timeout)
        self._port_may_change = False	# restarts keep the address
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = "the server exited with %d before it answered:\n%s" % (
                    self.proc.returncode, self.log_tail())
                if "cannot listen on" in self.log_tail(5):
                    raise _PortTaken(msg)
                raise RuntimeError(msg)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                  timeout=5)
                conn.request("GET", "/login")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
                last = "GET /login answered %d" % status
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError("the server was not ready in %d s (%s):\n%s" % (
            timeout, last, self.log_tail()))

    def cli(self, *args, input=None, check=True, timeout=60):
        """Run the binary with this server's environment (user-add, ...)."""
        p = subprocess.run([self.binary] + self.args + list(args),
                           env=self.env, cwd=self.data_dir, input=input,
                           capture_output=True, text=True, timeout=timeout)
        report = sanitizer_report(p.stderr)
        if report:
            raise SanitizerReport("introeval %s: sanitizer report:\n%s" % (
                " ".join(args), report))
        if check and p.returncode != 0:
            raise RuntimeError("introeval %s failed (exit %d):\n%s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def log_tail(self, lines=60):
        return tail(self.log_path, lines)

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=10):
        """SIGTERM, then SIGKILL after grace seconds; returns the status.

        Raises SanitizerReport when the log holds a sanitizer report
        written since the last check (the process has ended then).
        """
        rc = _kill_group(self.proc, grace)
        self.check_sanitizer()
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.check_sanitizer()

    def check_sanitizer(self):
        """Raises SanitizerReport for a report new in the log."""
        if not self.data_dir:
            return
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_checked)
                text = f.read().decode("utf-8", "replace")
                self._log_checked = f.tell()
        except OSError:
            return
        report = sanitizer_report(text)
        if report:
            raise SanitizerReport("sanitizer report in %s:\n%s" % (
                self.log_path, report))

    def cleanup(self):
        """Stop and remove the data directory (when the harness made it)."""
        try:
            self.stop()
        finally:
            if self._own_data_dir and self.data_dir:
                if os.environ.get("INTROEVAL_KEEP_LOGS"):
                    log("kept %s" % self.data_dir)
                else:
                    shutil.rmtree(self.data_dir, ignore_errors=True)
                self.data_dir = None
            _unregister(self)


class HealthReadyServer(Server):
    """A server whose readiness is /healthz (a worker serves no /login).

    log_name: its log file inside log_dir, so that several servers can
    share one data directory (test_node_lock, test_scaleout).
    """

    def __init__(self, *a, log_dir=None, log_name="server.log", **kw):
        super().__init__(*a, **kw)
        if log_dir:
            self.log_path = os.path.join(log_dir, log_name)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited with %d:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                status, _ = self.healthz()
                if status == 200:
                    return
                last = "/healthz answered %d" % status
            except (OSError, ValueError) as e:
                # Starting up: keep asking, but say what came back.
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError("the server was not ready in %d s (%s):\n%s" % (
            timeout, last, self.log_tail()))

    def healthz(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            body = r.read()
            try:
                return r.status, (json.loads(body) if body else {})
            except ValueError:
                raise ValueError("/healthz answered %d with %r" % (
                    r.status, body[:200])) from None
        finally:
            conn.close()

    def status(self, method, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            r.read()
            return r.status
        finally:
            conn.close()


# Students the harness creates are enrolled, unless the caller says
# otherwise, in a per-database default course with one assignment that
# is always open (no due date), so that their uploads have somewhere to
# go (every upload names an assignment, or the student's only open one).
DEFAULT_COURSE = "default"
DEFAULT_COURSE_CODE = "HARNESS"
DEFAULT_ASSIGNMENT_TITLE = "Introduce yourself"


def enrol_default(env, email, role="student"):
    """Enrol the account with this email in the default course (as a
    student, or as one of its teachers), creating the course and its
    always-open assignment on first use."""
    sql = ("SELECT pg_advisory_xact_lock(1313131313); "
           "INSERT INTO courses (code, title) VALUES ('%s', "
           "'Default course (test harness)') ON CONFLICT (code) DO NOTHING; "
           "INSERT INTO assignments (course_id, title, instructions, "
           "opens_at) SELECT c.id, '%s', 'Introduce yourself in one to two "
           "minutes.', '2000-01-01T00:00Z' FROM courses c WHERE c.code = "
           "'%s' AND NOT EXISTS (SELECT 1 FROM assignments a "
           "WHERE a.course_id = c.id); "
           "INSERT INTO course_members (course_id, user_id, role) "
           "SELECT c.id, u.id, :'role' FROM courses c, users u "
           "WHERE c.code = '%s' AND lower(u.email) = lower(:'email') "
           "ON CONFLICT DO NOTHING;" % (
               DEFAULT_COURSE_CODE, DEFAULT_ASSIGNMENT_TITLE,
               DEFAULT_COURSE_CODE, DEFAULT_COURSE_CODE))
    # One transaction (-1), so the advisory lock is held until the
    # course and its assignment exist: teachers and students enrolled at
    # once must not make two.
    p = subprocess.run([os.path.join(PGBIN, "psql"), "-X", "-q", "-1", "-v",
                        "ON_ERROR_STOP=1", "-v", "email=" + email,
                        "-v", "role=" + role,
                        "-d", env["DATABASE_URL"]],
                       input=sql, env=env, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("enrolling %s in the default course failed: %s"
                           % (email, p.stderr))


def default_assignment(server_or_env):
    """The id of the default course's assignment (see enrol_default)."""
    env = server_or_env.env if isinstance(server_or_env, Server) \
        else server_or_env
    p = subprocess.run([os.path.join(PGBIN, "psql"), "-X", "-tA", "-d",
                        env["DATABASE_URL"], "-c",
                        "SELECT a.id FROM assignments a JOIN courses c ON "
                        "c.id = a.course_id WHERE c.code = '%s' "
                        "ORDER BY a.id LIMIT 1" % DEFAULT_COURSE_CODE],
                       env=env, capture_output=True, text=True, timeout=60,
                       check=True)
    return int(p.stdout.strip())


def create_assignment(client, course, title="Introduce yourself", **fields):
    """Create an assignment of course through the API as client (a
    teacher of the course or an admin); returns its JSON. fields are the
    API's (opens_at, due_at, min_duration_s, late_ok, ...)."""
    body = {"title": title}
    body.update(fields)
    return client.post_json("/api/v1/courses/%d/assignments" % course, body)


def create_user(server_or_env, email, name, role, password=None,
                course=DEFAULT_COURSE):
    """Create an account with the CLI; returns its password.

    server_or_env is a Server or an environment dict for the binary.
    Without a password the CLI generates one ("password: X" on stdout).
    A student is enrolled in the default course (enrol_default), and a
    teacher teaches it (a teacher sees only their courses' submissions),
    unless course is None: a test that builds its own courses passes None.
    """
    if isinstance(server_or_env, Server):
        argv0 = [server_or_env.binary] + server_or_env.args
        env = server_or_env.env
    else:
        argv0 = [binary()]
        env = server_or_env
    argv = argv0 + ["user-add", "--email", email, "--name", name,
                    "--role", role]
    if password is not None:
        argv.append("--password-stdin")
        io = {"input": password + "\n"}
    else:
        io = {"stdin": subprocess.DEVNULL}
    p = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=60, **io)
    if p.returncode != 0:
        raise RuntimeError("user-add %s failed (exit %d): %s%s" % (
            email, p.returncode, p.stdout, p.stderr))
    if role in ("student", "teacher") and course == DEFAULT_COURSE:
        enrol_default(env, email, role)
    if password is not None:
        return password
    m = re.search(r"^password: (\S+)", p.stdout, re.M)
    if not m:
        raise RuntimeError("user-add printed no password: %r" % p.stdout)
    return m.group(1)


def create_users(server_or_env, users, jobs=4, course=DEFAULT_COURSE):
    """create_user for each (email, name, role, password), several at once
    (each hashes its password with argon2, which takes a while); returns
    {email: password}. The first runs alone, so that a database nobody has
    used yet is migrated once."""
    import concurrent.futures
    users = list(users)
    out = {}
    if not users:
        return out
    first, rest = users[0], users[1:]
    out[first[0]] = create_user(server_or_env, *first, course=course)
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
        for u, pw in zip(rest, ex.map(
                lambda u: create_user(server_or_env, *u, course=course),
                rest)):
            out[u[0]] = pw
    return out


def cli_env(database_url, **extra):
    """An environment for the binary's CLI commands on database_url."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url,
                "INTROEVAL_SHARE_DIR": repo_dir(),
                "INTROEVAL_LOG_LEVEL": "warn"})
    env.update(extra)
    return env


# ---------------------------------------------------------------- the client

ERROR_CODE_RE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*\Z")


def _error_object(body):
    """The "error" object of an API error answer: body is a Response, the
    raw bytes or text, or the parsed JSON."""
    if isinstance(body, Response):
        body = body.json()
    elif isinstance(body, (bytes, str)):
        body = json.loads(body)
    e = body.get("error") if isinstance(body, dict) else None
    if not isinstance(e, dict):
        raise AssertionError("not an API error answer: %r" % (body,))
    return e


def error_message(body):
    """The words of an API error: {"error": {"message": ...}}."""
    return _error_object(body)["message"]


def error_code(body):
    """The code of an API error (snake_case): {"error": {"code": ...}}."""
    return _error_object(body)["code"]


def error_field(body):
    """The request field an API error blames, or None."""
    return _error_object(body).get("field")


def check_error_shape(body):
    """Raises AssertionError unless body (parsed JSON) is an API error:
    {"error": {"code": snake_case, "message": words, "field"?: name}}.
    Other members may sit beside "error" (a job's "questions")."""
    e = _error_object(body)
    problems = []
    if not isinstance(e.get("code"), str) or not ERROR_CODE_RE.match(
            e["code"]):
        problems.append("code is not a snake_case string")
    if not isinstance(e.get("message"), str) or not e["message"]:
        problems.append("message is not a non-empty string")
    if "field" in e and (not isinstance(e["field"], str) or not e["field"]):
        problems.append("field is not a non-empty string")
    if problems:
        raise AssertionError("API error of the wrong shape (%s): %r" % (
            "; ".join(problems), body))


def _check_api_error(method, path, resp):
    """Every JSON error answer of the API has the one error shape; a test
    that meets one that does not fails there."""
    ctype = resp.header("Content-Type") or ""
    if (resp.status < 400 or not path.startswith("/api/") or
            not ctype.startswith("application/json") or not resp.body):
        return
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("%s %s answered %d with JSON that does not "
                             "parse: %r" % (method, path, resp.status,
                                            resp.body[:200]))
    try:
        check_error_shape(body)
    except AssertionError as e:
        raise AssertionError("%s %s answered %d: %s" % (
            method, path, resp.status, e))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers		# list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.body[:200])


class HttpError(AssertionError):
    def __init__(self, method, path, resp, expected):
        self.response = resp
        self.status = resp.status
        super().__init__("%s %s: expected %s, got %d: %s" % (
            method, path, expected, resp.status, resp.text[:500]))


class OpenApiMismatch(AssertionError):
    """An /api/v1 answer that schemas/openapi.json does not describe."""

    def __init__(self, method, path, resp, problems):
        self.response = resp
        self.problems = problems
        super().__init__(
            "%s %s answered %d, which schemas/openapi.json does not "
            "describe:\n  %s\nthe answer: %s" % (
                method, path.split("?")[0], resp.status,
                "\n  ".join(problems[:10]), resp.text[:300]))


# Every answer from /api/v1 is checked against the description unless
# INTROEVAL_OPENAPI_CHECK=0 (for a look at a server the description has
# not caught up with; CI never sets it).
OPENAPI_CHECK = os.environ.get("INTROEVAL_OPENAPI_CHECK", "1") != "0"
OPENAPI_SEEN = os.environ.get("INTROEVAL_OPENAPI_SEEN")


def check_openapi(method, path, resp):
    """Raises OpenApiMismatch when resp is not what the description says
    method path answers."""
    if not OPENAPI_CHECK or not path.startswith("/api/v1/"):
        return
    doc = openapi_check.document()
    problems = doc.check_response(
        method, path, resp.status, resp.header("Content-Type"), resp.body)
    if OPENAPI_SEEN:
        # Which operations and statuses the tests reach, for
        # tests/integration/openapi_check.py --coverage.
        template, _ = doc.operation(method, path)
        with open(OPENAPI_SEEN, "a") as f:
            f.write("%s %s %d\n" % (method, template or path.split("?")[0],
                                     resp.status))
    if problems:
        raise OpenApiMismatch(method, path, resp, problems)


class Client:
    """HTTP/1.1 client with a cookie jar of its own (one per user).

    Redirects are not followed, so tests see the 303s themselves. Uses
    http.client directly so that an early answer to a large upload (413
    before the body is sent) is still read.
    """

    def __init__(self, base_url, token=None, timeout=30):
        u = urllib.parse.urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host = u.hostname
        self.port = u.port
        self.cookies = {}
        self.token = token
        self.csrf_token = None
        self.timeout = timeout

    def _cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    def _store_cookies(self, resp):
        for sc in resp.header_all("Set-Cookie"):
            first, _, attrs = sc.partition(";")
            name, _, value = first.strip().partition("=")
            attrs = attrs.lower()
            if (value == "" or re.search(r"max-age=0\b", attrs) or
                    re.search(r"expires=thu, 01 jan 1970", attrs)):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def request(self, method, path, body=None, headers=None, csrf=None):
        """Send one request; returns a Response whatever the status."""
        hdrs = {"Connection": "close"}
        if self.cookies:
            hdrs["Cookie"] = self._cookie_header()
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if csrf is None:
            csrf = method not in ("GET", "HEAD")
        if csrf and self.csrf_token:
            hdrs["X-CSRF-Token"] = self.csrf_token
        hdrs.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        if self.base_url.startswith("https:"):	# a test's own proxy
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout,
                context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port,
                                              timeout=self.timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            if body is not None:
                hdrs.setdefault("Content-Length", str(len(body)))
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body:
                self._send_body(conn, body)
            r = conn.getresponse()
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        self._store_cookies(resp)
        _check_api_error(method, path, resp)
        check_openapi(method, path, resp)
        return resp

    @staticmethod
    def _send_body(conn, body):
        view = memoryview(body)
        try:
            for off in range(0, len(view), 64 * 1024):
                conn.sock.sendall(view[off:off + 64 * 1024])
        except (BrokenPipeError, ConnectionResetError):
            # The server answered early and closed; read what it said.
            pass

    def expect(self, method, path, expected, **kw):
        """request() that raises HttpError unless the status is expected."""
        resp = self.request(method, path, **kw)
        ok = expected if isinstance(expected, (tuple, list)) else (expected,)
        if resp.status not in ok:
            raise HttpError(method, path, resp, expected)
        return resp

    def signin_form_token(self, page="/login"):
        """The sign-in (or sign-up) form's token, as a browser gets it:
        GET the page (which sets the pre-session cookie) and read the
        form's hidden field. A signed-in client gets it from /signup
        (/login sends it home)."""
        resp = self.request("GET", page)
        if resp.status == 303 and page == "/login":
            return self.signin_form_token("/signup")
        m = re.search(r'name="signin_csrf" value="([0-9a-f]{64})"',
                      resp.text)
        if m is None:
            raise AssertionError("GET %s: no sign-in form token (%d)" % (
                page, resp.status))
        return m.group(1)

    def login(self, email, password, check=True):
        """Sign in through the form (GET /login, then POST /login with
        its token); fetches the session's CSRF token."""
        form = urllib.parse.urlencode({
            "email": email, "password": password,
            "signin_csrf": self.signin_form_token()})
        resp = self.request("POST", "/login", form, {
            "Content-Type": "application/x-www-form-urlencoded"}, csrf=False)
        if check:
            if resp.status != 303:
                raise HttpError("POST", "/login", resp, 303)
            me = self.get_json("/api/v1/me")
            self.csrf_token = me.get("csrf_token")
            self.me = me
        return resp

    def get_json(self, path, expect=200):
        """GET path; raises HttpError unless the status is expected."""
        resp = self.expect("GET", path, expect,
                           headers={"Accept": "application/json"})
        try:
            return resp.json()
        except ValueError:
            raise AssertionError("GET %s: not JSON: %r" % (path, resp.body))

    def post_json(self, path, obj, expect=(200, 201)):
        resp = self.expect("POST", path, expect, body=json.dumps(obj),
                           headers={"Content-Type": "application/json",
                                    "Accept": "application/json"})
        return resp.json() if resp.body else None

    def upload_bytes(self, data, content_type="video/mp4", filename=None,
                     expect=201):
        headers = {"Content-Type": content_type,
                   "Accept": "application/json"}
        if filename:
            headers["X-Filename"] = filename
        resp = self.expect("POST", "/api/v1/submissions", expect, body=data,
                           headers=headers)
        try:
            return resp.json()
        except ValueError:
            raise AssertionError("upload: not JSON: %r" % resp.body)

    def upload(self, path, content_type="video/mp4", expect=201):
        """Upload a file as the raw body; returns the JSON answer."""
        with open(path, "rb") as f:
            data = f.read()
        return self.upload_bytes(data, content_type,
                                 os.path.basename(path), expect)

    def wait_for(self, submission_id, statuses=("completed", "failed"),
                 timeout=180, interval=0.5):
        """Poll a submission until its status is one of statuses."""
        if isinstance(statuses, str):
            statuses = (statuses,)
        deadline = time.monotonic() + timeout
        sub = None
        while time.monotonic() < deadline:
            sub = self.get_json("/api/v1/submissions/%d" % submission_id)
            if sub.get("status") in statuses:
                return sub
            time.sleep(interval)
        raise AssertionError("submission %d not %s after %d s; last: %s" % (
            submission_id, "/".join(statuses), timeout,
            json.dumps(sub)[:1000]))


# ---------------------------------------------------------------- helpers

WORD_RE = re.compile(r"[a-z0-9']+")


def words(text):
    return set(w.strip("'") for w in WORD_RE.findall(text.lower())) - {""}


def word_overlap(truth, transcript):
    """|true words ∩ transcript words| / |true words|, case-insensitive."""
    t = words(truth)
    return len(t & words(transcript)) / len(t) if t else 0.0


def intro(name):
    """(path of the fixture video, its true text) for 'intro01' etc."""
    fixtures = os.path.join(shared_dir(), "fixtures")
    with open(os.path.join(fixtures, "intros.json"), encoding="utf-8") as f:
        texts = {e["id"]: e["text"] for e in json.load(f)}
    return os.path.join(fixtures, "intros", name + ".mp4"), texts[name]


class _ClipDir:
    """The temporary directory of short_intro()'s clips."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="introeval-clips-")
        self.lock = threading.Lock()
        _register(self)

    def stop(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        _unregister(self)


_clips = None
SHORT_CLIP_S = 6.5


def short_intro(name, seconds=SHORT_CLIP_S):
    """The first seconds of a fixture video as an mp4 of its own, made
    once per process: for tests about something other than transcription,
    which spend far less time in PocketSphinx with it. It still has
    speech and lasts longer than the 5 s minimum."""
    global _clips
    if _clips is None:
        _clips = _ClipDir()
    path = os.path.join(_clips.dir, "%s-%gs.mp4" % (name, seconds))
    with _clips.lock:
        if not os.path.exists(path):
            tmp = path + ".tmp.mp4"
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error",
                            "-y", "-i", intro(name)[0], "-t", str(seconds),
                            "-c:v", "libx264", "-preset", "ultrafast",
                            "-pix_fmt", "yuv420p", "-c:a", "aac", tmp],
                           check=True, stdin=subprocess.DEVNULL)
            os.rename(tmp, path)
    return path


class Stack:
    """PgCluster + FakeOllama + Server, started together.

    one_fake: one fake serving every model (else one fake per model).
    server_env: extra INTROEVAL_* settings for the server.
    """

    def __init__(self, models=("mistral", "llama3"), one_fake=False,
                 server_env=None, fake_kw=None):
        self.models = list(models)
        self.one_fake = one_fake
        self.server_env = server_env or {}
        self.fake_kw = fake_kw or {}
        self.pg = None
        self.fakes = []
        self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        try:
            self.pg = PgCluster().start()
            groups = [self.models] if self.one_fake else [
                [m] for m in self.models]
            for g in groups:
                self.fakes.append(FakeOllama(models=g,
                                             **self.fake_kw).start())
            self.server = Server(self.pg.url, backends_for(self.fakes),
                                 env=self.server_env)
            self.server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def add_server(self, dbname, env=None):
        """A second server on its own database in the same cluster."""
        url = self.pg.create_database(dbname)
        return Server(url, backends_for(self.fakes), env=env)

    def stop(self):
        report = None
        if self.server:
            try:
                self.server.cleanup()
            except SanitizerReport as e:
                report = e	# raised once the rest is stopped
            self.server = None
        for f in self.fakes:
            f.stop()
        self.fakes = []
        if self.pg:
            self.pg.stop()
            self.pg = None
        if report is not None:
            raise report


class TestCase(unittest.TestCase):
    """unittest.TestCase that prints server logs when a test fails.

    Put the objects whose logs matter (Servers, FakeOllamas) in
    cls.log_sources.
    """

    log_sources = ()

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for src in self.log_sources:
                if src is None:
                    continue
                sys.stderr.write("\n----- last lines of %r -----\n%s\n"
                                 "----- end -----\n" % (src, src.log_tail()))
            sys.stderr.flush()
        return out


class TimedResult(unittest.TextTestResult):
    """Verbose results that also say how long each test took.

    Only reported, never asserted: the time between two tests (class and
    module set-up and tear-down) is shown as "set-up/tear-down".
    """

    _last = None

    def startTest(self, test):
        now = time.monotonic()
        if TimedResult._last is not None and now - TimedResult._last > 0.5:
            self.stream.write("  (set-up/tear-down %.1f s)\n" % (
                now - TimedResult._last))
        self._started = now
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        TimedResult._last = time.monotonic()
        self.stream.write("  (%.1f s)\n" % (
            TimedResult._last - self._started))
        self.stream.flush()


def main():
    """unittest.main with the harness's signal handling and timings."""
    install_signal_handlers()
    unittest.main(verbosity=2, testRunner=unittest.TextTestRunner(
        verbosity=2, resultclass=TimedResult))


# ---------------------------------------------------------------- --serve-env

def serve_env(argv):
    ap = argparse.ArgumentParser(prog="harness.py --serve-env")
    ap.add_argument("--serve-env", action="store_true", required=True)
    ap.add_argument("--one-fake", action="store_true",
                    help="one fake Ollama serving both models")
    ap.add_argument("--token-ms", type=int, default=0)
    ap.add_argument("--no-default-course", action="store_true",
                    help="enrol the students in no course (the test "
                    "builds its own courses and assignments)")
    ap.add_argument("--set", action="append", default=[], metavar="K=V",
                    help="extra server environment, e.g. "
                    "INTROEVAL_UPLOAD_MAX_MB=1")
    args = ap.parse_args(argv)
    install_signal_handlers()
    signal.signal(signal.SIGINT, _exit_on_signal)
    env = dict(kv.split("=", 1) for kv in args.set)
    stack = Stack(one_fake=args.one_fake, server_env=env,
                  fake_kw={"token_ms": args.token_ms})
    stack.start()
    users = {}
    # "student2" is another student, for what a student must not see.
    for key, role, name in (("student", "student", "Test Student"),
                            ("teacher", "teacher", "Test Teacher"),
                            ("admin", "admin", "Test Admin"),
                            ("student2", "student", "Other Student")):
        email = ("other.student@example.com" if key == "student2"
                 else "%s1@example.com" % key)
        pw = secrets.token_urlsafe(12)
        create_user(stack.server, email, name, role, pw,
                    course=None if args.no_default_course else DEFAULT_COURSE)
        users[key] = {"email": email, "password": pw}
    info = {"base_url": stack.server.url, "users": users,
            "database_url": stack.pg.url,
            "data_dir": stack.server.data_dir,
            "server_log": stack.server.log_path,
            "fakes": [f.url for f in stack.fakes]}
    if not args.no_default_course:
        info["default_assignment"] = default_assignment(stack.server)
    print(json.dumps(info), flush=True)
    try:
        # Until the parent closes our stdin (or kills us).
        while True:
            if not stack.server.running():
                log("the server exited (%s):\n%s" % (
                    stack.server.proc.returncode, stack.server.log_tail()))
                return 1
            r, _, _ = select.select([sys.stdin], [], [], 1.0)
            if r and not os.read(sys.stdin.fileno(), 4096):
                return 0
    finally:
        if os.environ.get("INTROEVAL_HARNESS_DUMP_LOG"):
            sys.stderr.write(stack.server.log_tail(200) + "\n")
        stack.stop()


if __name__ == "__main__":
    if "--serve-env" in sys.argv[1:]:
        try:
            rc = serve_env(sys.argv[1:])
        except SanitizerReport as e:
            log(str(e))
            rc = SANITIZER_EXIT
        sys.exit(rc)
    print(__doc__)



def wait_until(cond, what, timeout=240, interval=0.2):
    """Polls cond() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("not after %d s: %s" % (timeout, what))


# ---------------------------------------------------------------- faults

class PgProxy(FakeOllama):
    """tests/fakes/pgproxy.py in front of a PgCluster's socket."""

    def __init__(self, pg):
        super().__init__(models=())
        self.pg = pg
        self.port = None

    def argv(self):
        script = os.path.join(repo_dir(), "tests", "fakes",
                              "pgproxy.py")
        sock = os.path.join(self.pg.dir, ".s.PGSQL.%d" % self.pg.port)
        return [sys.executable, script, "--upstream-unix", sock]

    def start(self, timeout=15):
        super().start(timeout)
        self.port = self.state()["proxy_port"]
        return self

    def url_for(self, dbname):
        return "postgresql://%s@127.0.0.1:%d/%s?sslmode=disable" % (
            DB_USER, self.port, dbname)

    def _call(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def state(self):
        return self._call("GET", "/state")

    def drop_after(self, match):
        return self._call("POST", "/drop-after", {"match": match})

    def drop_all(self):
        return self._call("POST", "/drop-all", {})
