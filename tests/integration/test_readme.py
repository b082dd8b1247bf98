#!/usr/bin/env python3
"""The README's commands, run verbatim in a fresh clone after deploy/run
(issue 13).

Which commands run. A code block of README.md (lines indented by four
spaces) is run when the line

    <!-- test_readme -->

comes before it (blank lines between are allowed; the comment does not
show on a rendered page). Mark every block a reader is meant to paste
and that works on the machine deploy/run just set up; leave unmarked the
blocks that show output, configuration or commands for other machines.
The marked blocks run in the order of the README, in one bash (so a
variable one block sets, such as $TOKEN, is there for the next) with
`set -euo pipefail`, in the clone's top directory, with a short clip of
a fixture as ./intro.mp4 (the README says "a video intro.mp4 in the
current directory"). The one change made to them: the README's address
`localhost:8080` becomes the test server's `localhost:PORT`, since the
test must not take port 8080.

What happens:

  1. the "fresh clone": the files git tracks (and new files it does not
     ignore), copied from this checkout into a temporary directory, so
     the test sees the README and code being tested, committed or not,
     and nothing built (no build/, no var/);
  2. deploy/run in it, as a newcomer runs it (DATABASE_URL and every
     INTROEVAL_* setting removed from the environment, but for
     INTROEVAL_PORT, a free port): it installs nothing that is already
     there, builds build/introeval, starts the private cluster (as the
     postgres user when the test runs as root, as CI does), migrates,
     creates the admin and prints the banner, then serves;
  3. the command the banner prints runs verbatim, and the admin signs in
     with the banner's password;
  4. the README's marked blocks run; every command must succeed, no
     answer may be an {"error": ...}, and their effects are checked
     through the API (the accounts exist and sign in, the student has
     the upload and the tus upload, the private cluster said it runs);
  5. the server is stopped, then the cluster (deploy/pg-private stop in
     the clone), and the clone is removed.

Run: python3 tests/integration/test_readme.py (it builds its own
binary; INTROEVAL_BIN is not used).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MARK = "<!-- test_readme -->"
README_ADDRESS = "localhost:8080"


def marked_blocks(readme):
    """The code blocks that follow a MARK line, as text, in order."""
    blocks, lines, i = [], readme.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() != MARK:
            i += 1
            continue
        i += 1
        while i < len(lines) and lines[i].strip() == "":
            i += 1
        block = []
        while i < len(lines) and (lines[i].startswith("    ") or (
                lines[i].strip() == "" and i + 1 < len(lines) and
                lines[i + 1].startswith("    "))):
            block.append(lines[i][4:])
            i += 1
        if not block:
            raise AssertionError("%s is not followed by an indented code "
                                 "block (line %d)" % (MARK, i))
        blocks.append("\n".join(block))
    return blocks


def fresh_clone(dest):
    """What a clone of this checkout holds: tracked files and new ones
    git does not ignore, as they are in the working tree."""
    repo = harness.repo_dir()
    p = subprocess.run(
        ["git", "-C", repo, "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"], capture_output=True)
    if p.returncode != 0:	# not a git checkout (an unpacked archive)
        shutil.copytree(repo, dest, dirs_exist_ok=True, ignore=lambda d, n: [
            x for x in n if x in (".git", "var", "node_modules") or
            x == "build" or x.startswith("build-")])
        return
    for rel in sorted(set(p.stdout.decode().split("\0")) - {""}):
        src = os.path.join(repo, rel)
        if not os.path.isfile(src):	# deleted, not yet committed
            continue
        dst = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def newcomer_env(port):
    """The environment of someone who has set nothing up."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INTROEVAL_") and k != "DATABASE_URL"}
    env["INTROEVAL_PORT"] = str(port)
    return env


class Deployment:
    """deploy/run in a fresh clone; stop() ends the server and the
    cluster and removes the clone."""

    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="introeval-readme-")
        # The postgres user runs the cluster in clone/var/pg when the
        # test runs as root: it must be able to reach it.
        os.chmod(self.top, 0o755)
        self.dir = os.path.join(self.top, "clone")
        os.mkdir(self.dir)
        self.port = harness.free_port()
        self.env = newcomer_env(self.port)
        self.log_path = os.path.join(self.top, "deploy-run.log")
        self.proc = None
        harness._register(self)

    def __repr__(self):
        return "Deployment(%s)" % self.dir

    def start(self, timeout=600):
        fresh_clone(self.dir)
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(
                ["bash", "deploy/run"], cwd=self.dir, env=self.env,
                stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, start_new_session=True)
        harness.wait_until(self.ready, "deploy/run serving on port %d" %
                           self.port, timeout=timeout, interval=0.5)
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("deploy/run exited with %d:\n%s" % (
                self.proc.returncode, self.log_tail()))
        c = harness.Client("http://127.0.0.1:%d" % self.port, timeout=5)
        try:
            return c.request("GET", "/healthz").status == 200
        except OSError:
            return False

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_tail(self, lines=60):
        return harness.tail(self.log_path, lines)

    def bash(self, script, timeout=300):
        return subprocess.run(["bash", "-c", script], cwd=self.dir,
                              env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def stop(self):
        harness._kill_group(self.proc, 15)
        if os.path.exists(os.path.join(self.dir, "deploy", "pg-private")):
            pg = os.path.join(self.dir, "var", "pg")
            target = os.path.realpath(pg)
            subprocess.run(["bash", "deploy/pg-private", "stop"],
                           cwd=self.dir, env=self.env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120)
            # A cluster kept outside the clone (root, unreachable path).
            if os.path.islink(pg) and target.startswith("/var/lib/"):
                shutil.rmtree(target, ignore_errors=True)
        if os.environ.get("INTROEVAL_KEEP_LOGS"):
            harness.log("kept %s" % self.top)
        else:
            shutil.rmtree(self.top, ignore_errors=True)
        harness._unregister(self)


class Readme(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.dep = Deployment().start()
        harness.log("deploy/run served after %.0f s" % (
            time.monotonic() - t0))
        cls.log_sources = [cls.dep]
        cls.url = "http://127.0.0.1:%d" % cls.dep.port
        shutil.copy(harness.short_intro("intro02"),
                    os.path.join(cls.dep.dir, "intro.mp4"))

    @classmethod
    def tearDownClass(cls):
        cls.dep.stop()

    def client(self, email, password):
        c = harness.Client(self.url, timeout=60)
        c.login(email, password)
        return c

    def test_1_banner_commands_work(self):
        banner = self.dep.log_text()
        email = re.search(r"^\s*email\s+(\S+)$", banner, re.M)
        password = re.search(r"^\s*password\s+(\S+)$", banner, re.M)
        self.assertTrue(email and password, banner)
        self.client(email.group(1), password.group(1))
        commands = re.findall(r"^\s*(build/introeval .*)$", banner, re.M)
        self.assertTrue(commands, "the banner shows no command:\n" + banner)
        for cmd in commands:
            p = self.dep.bash(cmd)
            self.assertEqual(p.returncode, 0, "%s\n%s%s" % (
                cmd, p.stdout, p.stderr))
            self.assertIn("created user", p.stdout)

    def test_2_readme_commands_work(self):
        with open(os.path.join(self.dep.dir, "README.md"),
                  encoding="utf-8") as f:
            blocks = marked_blocks(f.read())
        self.assertGreaterEqual(len(blocks), 4)
        script = ["set -euo pipefail"]
        for n, block in enumerate(blocks):
            script.append("echo '@@ block %d'" % n)
            script.append(block.replace(README_ADDRESS,
                                        "localhost:%d" % self.dep.port))
        p = self.dep.bash("\n".join(script) + "\n")
        out = p.stdout
        self.assertEqual(p.returncode, 0, "the README's commands failed "
                         "(exit %d):\n%s\n%s" % (p.returncode, out, p.stderr))
        self.assertNotIn('{"error"', out, out)
        # What they did, seen from outside.
        self.assertIn("running: pid", out)
        self.assertRegex(out, r"url: postgresql:///introeval\?host=")
        self.assertIn("an admin account exists", out)
        self.assertIn("created user", out)
        self.assertRegex(out, r"created course \d+: SPK101 \(join code "
                         r"[A-Z0-9]{8}\)")
        self.assertIn("enrolled student@example.com in SPK101 as student",
                      out)
        self.assertRegex(out, r"created assignment \d+: Introduce yourself")
        self.assertRegex(out, r"X-Submission-Id: \d+")
        s = self.client("student@example.com", "a-long-password")
        subs = s.get_json("/api/v1/submissions")["submissions"]
        self.assertEqual(len(subs), 2, subs)
        p = self.dep.bash("deploy/pg-private psql -tAc \"SELECT role FROM "
                          "users WHERE email = 'teacher@example.com'\"")
        self.assertEqual(p.stdout.strip(), "teacher", p.stderr)

    def test_3_cli_says_when_the_cluster_is_stopped(self):
        p = self.dep.bash("deploy/pg-private stop && deploy/pg-private "
                          "status; build/introeval has-admin; "
                          "echo has-admin=$?; deploy/pg-private start")
        self.assertIn("not running", p.stdout)
        self.assertIn("has-admin=2", p.stdout)
        self.assertIn("the private database is not running: start it "
                      "with deploy/run or deploy/pg-private start, or set "
                      "DATABASE_URL", p.stderr)


if __name__ == "__main__":
    harness.main()
