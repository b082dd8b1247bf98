#!/usr/bin/env python3
"""The walking skeleton, end to end against the real binary.

A throw-away PostgreSQL cluster, two fake Ollama servers (mistral and
llama3) and the server. A student signs in, uploads a fixture video as the
raw request body and waits for it to be transcribed and scored; the test
checks the transcript against the fixture's true text, the scores against
the rubric, who may see the result, and how bad sign-ins and bad uploads
are refused.

Run: python3 tests/integration/test_walking_skeleton.py (INTROEVAL_BIN
names the binary; INTROEVAL_MIN_OVERLAP the transcript's required word
overlap, 0.75 by default: PocketSphinx hears 0.84 of intro01's words).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MIN_OVERLAP = float(os.environ.get("INTROEVAL_MIN_OVERLAP", "0.75"))
TIMEOUT = float(os.environ.get("INTROEVAL_E2E_TIMEOUT", "180"))


def files_under(path):
    out = []
    for root, _, names in os.walk(path):
        out += [os.path.join(root, n) for n in names]
    return sorted(out)


class WalkingSkeleton(harness.TestCase):
    """One stack for the whole class; the upload is made once."""

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral", "llama3")).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.pw = harness.create_users(cls.server, [
            (email, name, role, "pw-" + role + "-1234")
            for email, name, role in (
                ("student1@example.com", "Priya Sharma", "student"),
                ("student2@example.com", "Daniel Okafor", "student"),
                ("teacher1@example.com", "Ada Teacher", "teacher"))])
        cls.video, cls.truth = harness.intro("intro01")
        cls.sub = None

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def client(self, email=None):
        c = harness.Client(self.server.url)
        if email:
            c.login(email, self.pw[email])
        return c

    def submission(self):
        """Upload intro01 as student 1 once; later calls reuse it."""
        cls = type(self)
        if cls.sub is None:
            c = self.client("student1@example.com")
            created = c.upload(self.video, "video/mp4")
            self.assertIsInstance(created.get("id"), int, created)
            self.assertIn(created.get("status"), ("pending", "processing"))
            self.assertEqual(created.get("url"),
                             "/submissions/%d" % created["id"])
            cls.sub = c.wait_for(created["id"], ("completed", "failed"),
                                 timeout=TIMEOUT)
        self.assertEqual(cls.sub["status"], "completed",
                         "submission failed: %s" % cls.sub.get("error"))
        return cls.sub

    # ------------------------------------------------------------ happy path

    def test_transcript_matches_the_spoken_text(self):
        sub = self.submission()
        tr = sub.get("transcript")
        self.assertIsInstance(tr, dict, "no transcript: %s" % sub)
        self.assertIsInstance(tr.get("text"), str)
        self.assertIsInstance(tr.get("words"), list)
        overlap = harness.word_overlap(self.truth, tr["text"])
        print("\nintro01 word overlap: %.2f (need %.2f)\n  true: %s\n"
              "  heard: %s" % (overlap, MIN_OVERLAP, self.truth, tr["text"]),
              file=sys.stderr)
        self.assertGreaterEqual(overlap, MIN_OVERLAP)

    def test_evaluation_scores_fit_the_rubric(self):
        sub = self.submission()
        ev = sub.get("evaluation")
        rubric = sub.get("rubric")
        self.assertIsInstance(ev, dict, "no evaluation: %s" % sub)
        self.assertIsInstance(rubric, dict, "no rubric: %s" % sub)
        lo, hi = rubric.get("min"), rubric.get("max")
        self.assertIsInstance(lo, int)
        self.assertIsInstance(hi, int)
        self.assertLess(lo, hi)
        scores = ev.get("scores")
        self.assertIsInstance(scores, dict)
        self.assertTrue(scores, "no criterion scores")
        for key, v in scores.items():
            self.assertTrue(isinstance(v, int) and not isinstance(v, bool),
                            "score %s is not an integer: %r" % (key, v))
            self.assertTrue(lo <= v <= hi,
                            "score %s=%d outside %d..%d" % (key, v, lo, hi))
        crit = rubric.get("criteria")
        if isinstance(crit, list) and crit and isinstance(crit[0], dict):
            keys = {c.get("key") for c in crit}
            self.assertEqual(set(scores), keys, "scored criteria differ "
                             "from the rubric's")
        overall = ev.get("overall")
        self.assertIsInstance(overall, (int, float))
        self.assertTrue(lo <= overall <= hi, "overall %r outside %d..%d" % (
            overall, lo, hi))
        self.assertIsInstance(ev.get("model"), str)
        self.assertTrue(ev["model"].strip(), "empty model name")
        self.assertIsInstance(ev.get("feedback"), str)
        # How long each phase took, for the result page.
        self.assertIsInstance(sub.get("stt_s"), (int, float), sub)
        self.assertIsInstance(sub.get("llm_s"), (int, float), sub)

    def test_owner_sees_the_result_page(self):
        sub = self.submission()
        c = self.client("student1@example.com")
        r = c.expect("GET", "/submissions/%d" % sub["id"], 200)
        self.assertIn('id="overall-score"', r.text)
        self.assertIn('class="criterion-score', r.text)

    # ------------------------------------------------------------ who sees

    def test_other_student_cannot_see_it(self):
        sub = self.submission()
        c = self.client("student2@example.com")
        c.expect("GET", "/api/v1/submissions/%d" % sub["id"], (403, 404))
        c.expect("GET", "/submissions/%d" % sub["id"], (403, 404))

    def test_anonymous_is_refused(self):
        sub = self.submission()
        c = self.client()
        r = c.expect("GET", "/api/v1/submissions/%d" % sub["id"], 401)
        self.assertEqual(harness.error_code(r), "unauthenticated")
        r = c.expect("GET", "/submissions/%d" % sub["id"], (302, 303))
        loc = harness.urllib.parse.urlsplit(r.header("Location") or "")
        self.assertEqual(loc.path, "/login", r.header("Location"))
        c.expect("GET", "/api/v1/me", 401)
        r = c.expect("POST", "/api/v1/submissions", 401,
                     body=b"x" * 100, headers={"Content-Type": "video/mp4"})

    # ------------------------------------------------------------ sign-in

    def test_login_sets_a_safe_session_cookie(self):
        c = self.client()
        r = c.login("student1@example.com",
                    self.pw["student1@example.com"])
        self.assertEqual(r.header("Location"), "/")
        cookie = [v for v in r.header_all("Set-Cookie")
                  if v.startswith("introeval_session=")]
        self.assertTrue(cookie, r.headers)
        attrs = cookie[0].lower()
        self.assertIn("httponly", attrs)
        self.assertIn("samesite=lax", attrs)
        me = c.get_json("/api/v1/me")
        self.assertEqual(me["email"], "student1@example.com")
        self.assertEqual(me["role"], "student")
        self.assertTrue(me.get("csrf_token"))

    def test_wrong_password_is_refused(self):
        c = self.client()
        r = c.login("student1@example.com", "not-the-password", check=False)
        self.assertEqual(r.status, 401, r)
        self.assertNotIn("introeval_session", c.cookies)
        c.expect("GET", "/api/v1/me", 401)
        r = c.login("nobody@example.com", "whatever", check=False)
        self.assertEqual(r.status, 401, r)

    # ------------------------------------------------------------ bad uploads

    def test_empty_upload_is_refused(self):
        c = self.client("student1@example.com")
        r = c.expect("POST", "/api/v1/submissions", 400, body=b"",
                     headers={"Content-Type": "video/mp4"})
        self.assertEqual(harness.error_code(r), "empty")

    def test_upload_without_csrf_token_is_refused(self):
        c = self.client("student1@example.com")
        c.csrf_token = None
        with open(self.video, "rb") as f:
            data = f.read()
        r = c.expect("POST", "/api/v1/submissions", 403, body=data,
                     headers={"Content-Type": "video/mp4"})
        self.assertEqual(harness.error_code(r), "csrf_failed")
        c.csrf_token = "0" * 32
        c.expect("POST", "/api/v1/submissions", 403, body=data,
                 headers={"Content-Type": "video/mp4"})

    def test_upload_over_the_cap_is_refused(self):
        # A long batch window: the upload it takes waits in the queue, so
        # the server stops at once instead of finishing a transcription.
        srv = self.stack.add_server("capped",
                                    env={"INTROEVAL_UPLOAD_MAX_MB": "1",
                                         "INTROEVAL_BATCH_WINDOW_S": "3600"})
        self.log_sources = self.log_sources + [srv]
        try:
            srv.start()
            harness.create_user(srv, "capped@example.com", "Capped",
                                "student", "pw-capped-1234")
            c = harness.Client(srv.url)
            c.login("capped@example.com", "pw-capped-1234")
            data = os.urandom(2 * 1024 * 1024)
            r = c.expect("POST", "/api/v1/submissions", 413, body=data,
                         headers={"Content-Type": "video/mp4"})
            self.assertEqual(harness.error_code(r), "too_large")
            self.assertEqual(files_under(srv.uploads_dir), [],
                             "a refused upload left files behind")
            # Under the cap the same server takes it.
            c.upload(self.video)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
