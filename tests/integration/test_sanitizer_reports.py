#!/usr/bin/env python3
"""The harness fails a test whose server reported a sanitizer error.

A build with INTROEVAL_SANITIZE=ON (deploy/test --sanitize) writes
AddressSanitizer, LeakSanitizer and UBSan reports to the server's log;
Server.stop() and cli() must turn one into SanitizerReport, which fails
the test that ran the server. A stand-in "server" (a few lines of Python
that answer every request with 200) writes such a report to its log;
no PostgreSQL is needed.
"""

import os
import shutil
import stat
import tempfile

import harness

STAND_IN = r'''#!/usr/bin/env python3
import http.server, os, sys
report = os.environ.get("STAND_IN_REPORT", "")
if sys.argv[-1] != "serve":
    sys.stderr.write(report)
    sys.exit(0)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", int(os.environ["INTROEVAL_PORT"])), H)
sys.stderr.write("listening\n" + report)
sys.stderr.flush()
srv.serve_forever()
'''

REPORTS = {
    "asan": "=================================================================\n"
            "==4242==ERROR: AddressSanitizer: heap-use-after-free on address "
            "0x602000000010\n    #0 0x55 in heartbeat scheduler.c:88\n",
    "ubsan": "server/pipeline/scheduler.c:120:3: runtime error: null pointer "
             "passed as argument 2, which is declared to never be null\n",
    "lsan": "==4242==ERROR: LeakSanitizer: detected memory leaks\n\n"
            "Direct leak of 64 byte(s) in 1 object(s) allocated from:\n",
}


class SanitizerReports(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="introeval-sanrep-")
        cls.binary = os.path.join(cls.dir, "stand-in")
        with open(cls.binary, "w") as f:
            f.write(STAND_IN)
        os.chmod(cls.binary, stat.S_IRWXU)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def server(self, report):
        return harness.Server("postgresql:///none", binary_path=self.binary,
                              env={"STAND_IN_REPORT": report})

    def test_each_kind_of_report_fails_the_stop(self):
        for kind, text in REPORTS.items():
            with self.subTest(kind=kind):
                srv = self.server(text).start()
                with self.assertRaises(harness.SanitizerReport) as cm:
                    srv.cleanup()
                self.assertIn(text.strip().splitlines()[-1].strip()[:30],
                              str(cm.exception))
                self.assertIsNone(srv.data_dir)	# still cleaned up

    def test_a_clean_log_passes_and_is_checked_once(self):
        srv = self.server("").start()
        srv.stop()
        srv.cleanup()
        srv = self.server(REPORTS["asan"]).start()
        with self.assertRaises(harness.SanitizerReport):
            srv.stop()
        srv.stop()	# the same report is not raised twice
        srv.cleanup()

    def test_cli_report_fails_even_when_not_checked(self):
        srv = self.server(REPORTS["ubsan"])
        try:
            with self.assertRaises(harness.SanitizerReport):
                srv.cli("user-add", check=False)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
