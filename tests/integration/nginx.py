#!/usr/bin/env python3
"""nginx: Debian's nginx running deploy/nginx/introeval.conf for a test.

The real site file, with only what a test machine needs rewritten: the
ports (on 127.0.0.1, no IPv6), a throw-away self-signed certificate, the
access log, the /static/ root (this checkout) and the upstream block,
which lists the given web instances' ports (one, or several for a
scale-out test). test_deploy and test_scaleout use it.

  site = Nginx([web_a.port, web_b.port]).start()
  harness.Client(site.url)        # https://127.0.0.1:PORT
  site.stop()
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile

import harness

REPO = harness.repo_dir()
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"	# sbin: not in PATH
# The upstream block's server line; its parameters are kept.
UPSTREAM_RE = re.compile(r"^(\s*)server 127\.0\.0\.1:8080([^;]*);$", re.M)


class Nginx:
    """Debian's nginx with deploy/nginx/introeval.conf, on free ports.

    upstreams: the port of the one web instance, or a list of ports; each
    becomes a "server 127.0.0.1:PORT ...;" line of the upstream block,
    with the site's parameters.
    """

    def __init__(self, upstreams):
        if isinstance(upstreams, int):
            upstreams = [upstreams]
        self.dir = tempfile.mkdtemp(prefix="introeval-nginx-")
        self.https_port = harness.free_port()
        self.http_port = harness.free_port()
        self.proc = None
        d = self.dir
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", d + "/key.pem", "-out",
                        d + "/cert.pem", "-days", "1", "-subj",
                        "/CN=127.0.0.1"], check=True,
                       capture_output=True)
        with open(os.path.join(REPO, "deploy/nginx/introeval.conf")) as f:
            site = f.read()
        m = UPSTREAM_RE.search(site)
        if not m:
            raise AssertionError("the site has no 'server 127.0.0.1:8080' "
                                 "line in its upstream block")
        site = site[:m.start()] + "\n".join(
            "%sserver 127.0.0.1:%d%s;" % (m.group(1), p, m.group(2))
            for p in upstreams) + site[m.end():]
        for old, new in (
                ("/etc/ssl/certs/introeval.pem", d + "/cert.pem"),
                ("/etc/ssl/private/introeval.key", d + "/key.pem"),
                ("/var/log/nginx/introeval.access.log", d + "/access.log"),
                ("root /opt/introeval;", "root %s;" % REPO),
                ("listen 443 ssl", "listen 127.0.0.1:%d ssl" %
                 self.https_port),
                ("listen 80;", "listen 127.0.0.1:%d;" % self.http_port)):
            if old not in site:
                raise AssertionError("the site no longer has %r" % old)
            site = site.replace(old, new)
        # No IPv6 listeners in a test container.
        site = "\n".join(l for l in site.splitlines()
                         if "listen [::]" not in l)
        with open(d + "/site.conf", "w") as f:
            f.write(site)
        temps = " ".join("%s_temp_path %s/%s;" % (k, d, k) for k in (
            "client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(d + "/nginx.conf", "w") as f:
            f.write("%spid %s/nginx.pid;\nerror_log %s/error.log;\n"
                    "daemon off;\nevents {}\nhttp {\n"
                    "include /etc/nginx/mime.types;\naccess_log off;\n"
                    "%s\ninclude %s/site.conf;\n}\n" % (
                        "user root;\n" if os.geteuid() == 0 else "",
                        d, d, temps, d))
        harness._register(self)

    def __repr__(self):
        return "Nginx(%s)" % self.url

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.https_port

    def argv(self, *extra):
        return [NGINX, "-p", self.dir, "-c", self.dir + "/nginx.conf"] + \
            list(extra)

    def test_config(self):
        return subprocess.run(self.argv("-t"), capture_output=True,
                              text=True)

    def start(self):
        # What nginx says before its error_log is open goes to stderr.
        with open(self.dir + "/stderr.log", "ab") as err:
            self.proc = subprocess.Popen(self.argv(),
                                         stdin=subprocess.DEVNULL,
                                         stderr=err, start_new_session=True)
        harness.wait_until(lambda: self._answers(), "nginx answers", 60)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited:\n" + self.log_tail())
        try:
            return harness.Client(self.url, timeout=5).request(
                "GET", "/healthz").status == 200
        except OSError:
            return False

    def log_tail(self, lines=40):
        return "\n".join(t for t in (
            harness.tail(self.dir + "/stderr.log", lines),
            harness.tail(self.dir + "/error.log", lines)) if t)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        harness._unregister(self)
