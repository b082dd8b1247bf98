#!/usr/bin/env python3
"""Evidence for every score (issue 12).

A throw-away PostgreSQL, one fake Ollama and the real server. The fake
answers each criterion's evidence with words copied from the transcript
in the prompt, as a model does; later it is told to make its quotes up
(POST /_control {"quotes": "invented"}). Then:

  - each verified quote is stored with the start of its first word and
    the end of its last word in the timed transcript, and the words
    there are the quote's;
  - an invented quote is kept for staff as unverified (no times), is
    absent from the student's JSON and page, and staff see it marked on
    the page;
  - /metrics counts quotes and unverified quotes per backend, and the
    health page shows the same figures.

Run: python3 tests/integration/test_evidence.py (INTROEVAL_BIN names the
binary).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT = 240


def norm(text):
    return re.sub(r"[^a-z0-9 ]", "", text.lower().replace("'", "")).split()


class Evidence(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="introeval-evidence-")
        cls.clip = os.path.join(cls.tmp, "intro03.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                        "-i", harness.intro("intro03")[0], "-t", "9",
                        "-c", "copy", cls.clip],
                       check=True, stdin=subprocess.DEVNULL)
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.pw = harness.create_users(cls.server, [
            (email, email.split("@")[0], role, "pw-12345678")
            for email, role in (("s1@example.com", "student"),
                                ("t1@example.com", "teacher"),
                                ("a1@example.com", "admin"))])
        s1 = cls.client("s1@example.com")
        cls.good = s1.upload(cls.clip)["id"]
        sub = s1.wait_for(cls.good, timeout=TIMEOUT)
        assert sub["status"] == "completed", sub
        cls.stack.fakes[0].control(quotes="invented")
        cls.bad = s1.upload(cls.clip)["id"]
        sub = s1.wait_for(cls.bad, timeout=TIMEOUT)
        assert sub["status"] == "completed", sub

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def client(cls, email):
        c = harness.Client(cls.server.url, timeout=60)
        c.login(email, cls.pw[email])
        return c

    def test_verified_quotes_have_their_times(self):
        sub = self.client("t1@example.com").get_json(
            "/api/v1/submissions/%d" % self.good)
        words = sub["transcript"]["words"]
        evidence = sub["evaluation"]["evidence"]
        keys = [c["key"] for c in sub["rubric"]["criteria"]]
        self.assertEqual(sorted(evidence), sorted(keys))
        for key, e in evidence.items():
            self.assertTrue(e["verified"], (key, e))
            first = next(i for i, w in enumerate(words)
                         if abs(w["s"] - e["start"]) < 1e-6)
            last = next(i for i, w in enumerate(words)
                        if abs(w["e"] - e["end"]) < 1e-6)
            spoken = [t for w in words[first:last + 1] for t in norm(w["w"])]
            self.assertEqual(spoken, norm(e["quote"]), key)

    def test_invented_quotes_are_for_staff_only(self):
        path = "/api/v1/submissions/%d" % self.bad
        staff = self.client("t1@example.com")
        ev = staff.get_json(path)["evaluation"]["evidence"]
        self.assertTrue(ev)
        for e in ev.values():
            self.assertFalse(e["verified"])
            self.assertIsNone(e["start"])
            self.assertIn("zeppelin", e["quote"])
        student = self.client("s1@example.com")
        self.assertEqual(student.get_json(path)["evaluation"]["evidence"],
                         {})
        page = student.expect("GET", "/submissions/%d" % self.bad,
                              200).text
        self.assertNotIn("zeppelin", page)
        self.assertNotIn("evidence-link", page)
        page = staff.expect("GET", "/submissions/%d" % self.bad, 200).text
        self.assertIn("unverified", page)
        self.assertIn("zeppelin", page)
        # The verified ones are links that play the moment, for both.
        page = student.expect("GET", "/submissions/%d" % self.good,
                              200).text
        self.assertEqual(page.count('class="seek evidence-link"'), 4)

    def test_counted_per_backend(self):
        admin = self.client("a1@example.com")
        metrics = admin.expect("GET", "/metrics", 200).text
        backend = self.client("t1@example.com").get_json(
            "/api/v1/submissions/%d" % self.bad)["evaluation"]["backend"]
        self.assertIn('introeval_evidence_quotes_total{backend="%s"} 8'
                      % backend, metrics)
        self.assertIn('introeval_evidence_unverified_total{backend="%s"} 4'
                      % backend, metrics)
        page = admin.expect("GET", "/admin/health", 200).text
        row = re.search(r'<tr data-backend="%s">(.*?)</tr>'
                        % re.escape(backend), page, re.S)
        self.assertIsNotNone(row, "no evidence row on the health page")
        cells = re.findall(r'<td class="num[^"]*">(\d+)', row.group(1))
        self.assertEqual(cells, ["8", "4"])
        # The backends' figures say where they come from.
        self.assertRegex(page, r"Figures cover the last hour \((pool|phase "
                         r"log|configuration)\)")


if __name__ == "__main__":
    harness.main()
