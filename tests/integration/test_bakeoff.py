#!/usr/bin/env python3
"""The model bake-off: two stand-in models re-score five submissions.

Two stand-in Ollama servers, mistral answering 4 for every criterion and
llama3 answering 2. Five short clips are scored (by either) and an admin
adjusts every criterion of each to 4, so the teachers' final scores are
all 4. A bake-off of both backends, two trials each, over the last five
adjusted submissions (one model after the other, the models unloaded in
between) then reports mistral as agreeing perfectly (mean
absolute error 0, kappa 1) and llama3 two points off (kappa 0), both
stable across trials, with a CSV of the same figures; and every
student's result — final scores, evaluations, the submission as the API
shows it, its timeline — is exactly what it was before.

Run: python3 tests/integration/test_bakeoff.py (INTROEVAL_BIN names the
binary).
"""

import csv
import io
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT = float(os.environ.get("INTROEVAL_E2E_TIMEOUT", "180"))
CRITERIA = ("content", "organization", "delivery", "language")


class Bakeoff(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral", "llama3"), server_env={
            "INTROEVAL_BATCH_WINDOW_S": "0"}).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.stack.fakes[0].control(score=4)
        cls.stack.fakes[1].control(score=2)
        cls.admin = harness.Client(cls.server.url)
        cls.admin.login("admin@example.com", harness.create_user(
            cls.server, "admin@example.com", "Ada Admin", "admin",
            "pw-admin-12345"))
        st = harness.Client(cls.server.url)
        st.login("s@example.com", harness.create_user(
            cls.server, "s@example.com", "Sam Student", "student",
            "pw-student-1234"))
        cls.student = st
        ids = [st.upload(harness.short_intro("intro0%d" % i))["id"]
               for i in range(1, 6)]
        for sid in ids:
            sub = st.wait_for(sid, ("completed", "failed"), timeout=TIMEOUT)
            assert sub["status"] == "completed", sub.get("error")
            for c in CRITERIA:
                cls.admin.expect(
                    "POST", "/api/v1/submissions/%d/scores" % sid, 200,
                    body=json.dumps({"criterion": c, "score": 4,
                                     "comment": "reference"}),
                    headers={"Content-Type": "application/json",
                             "Accept": "application/json"})
        cls.ids = ids

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def snapshot(self):
        """What students and teachers see of each submission."""
        out = {}
        for sid in self.ids:
            sub = self.student.get_json("/api/v1/submissions/%d" % sid)
            sub.pop("queue_position", None)
            out[sid] = sub
        out["db"] = self.stack.pg.psql(
            "SELECT json_agg(json_build_object('id', s.id, 'final', "
            "final_scores(s.id), 'evaluations', (SELECT count(*) FROM "
            "evaluations e WHERE e.submission_id = s.id), 'calls', "
            "(SELECT count(*) FROM phase_log l WHERE l.submission_id = "
            "s.id), 'status', s.status, 'updated_at', s.updated_at) "
            "ORDER BY s.id) FROM submissions s").strip()
        return out

    def report(self, bid):
        return self.admin.get_json("/api/v1/bakeoffs/%d" % bid)

    def test_bakeoff_report_and_nothing_else_changes(self):
        before = self.snapshot()
        page = self.admin.expect("GET", "/admin/bakeoffs", 200).text
        self.assertIn("Start the bake-off", page)
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r = self.admin.expect(
            "POST", "/admin/bakeoffs", 303,
            body="csrf=%s&b_0=on&b_1=on&trials=2&pick=last&last_n=5" %
            token, headers={"Content-Type":
                            "application/x-www-form-urlencoded"})
        loc = r.header("Location")
        bid = int(loc.rsplit("/", 1)[1])

        deadline = time.monotonic() + TIMEOUT
        rep = self.report(bid)
        while rep["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            rep = self.report(bid)
        self.assertEqual(rep["state"], "done", json.dumps(rep)[:800])
        self.assertEqual(rep["submissions"], 5)
        self.assertEqual(rep["runs"], 20)
        self.assertEqual(rep["done"], 20)
        models = {m["backend"]: m for m in rep["models"]}
        self.assertEqual(sorted(models), ["llama3", "mistral"])
        m, l = models["mistral"], models["llama3"]
        self.assertEqual((m["runs"], m["done"], m["invalid"]), (10, 10, 0))
        self.assertEqual(m["mae_mean"], 0)
        self.assertEqual(m["qwk"], 1)
        self.assertEqual(l["mae_mean"], 2)
        self.assertEqual(l["qwk"], 0)
        self.assertEqual(l["mae"], {c: 2 for c in CRITERIA})
        self.assertEqual(m["stability_sd"], 0)
        self.assertEqual(m["compared"], 40)
        self.assertIsNotNone(m["mean_latency_s"])

        # One model after the other, the models unloaded in between.
        out = self.stack.pg.psql(
            "SELECT (SELECT max(finished_at) FROM bakeoff_runs WHERE "
            "bakeoff_id = %d AND backend = 'mistral') <= (SELECT "
            "min(claimed_at) FROM bakeoff_runs WHERE bakeoff_id = %d AND "
            "backend = 'llama3'), EXISTS (SELECT 1 FROM phase_log WHERE "
            "phase = 'unload' AND started_at >= (SELECT max(finished_at) "
            "FROM bakeoff_runs WHERE bakeoff_id = %d AND backend = "
            "'mistral'))" % (bid, bid, bid)).strip()
        self.assertEqual(out, "t|t")

        # The page: the table and both charts; the CSV, the same figures.
        page = self.admin.expect("GET", loc, 200).text
        self.assertIn('data-backend="mistral"', page)
        self.assertIn("Mean absolute error", page)
        self.assertIn("kappa", page)
        text = self.admin.expect("GET", loc + "/report.csv", 200).text
        rows = {r["backend"]: r for r in csv.DictReader(io.StringIO(text))}
        self.assertEqual(sorted(rows), ["llama3", "mistral"])
        self.assertEqual(float(rows["llama3"]["mae_mean"]), 2.0)
        self.assertEqual(float(rows["mistral"]["qwk"]), 1.0)
        self.assertIn("content=2.00", rows["llama3"]["mae_by_criterion"])
        # The list shows it finished.
        self.assertIn("done", self.admin.expect(
            "GET", "/admin/bakeoffs", 200).text)

        # Nothing a student or teacher sees has changed.
        self.assertEqual(self.snapshot(), before)

    def test_refusals(self):
        page = self.admin.expect("GET", "/admin/bakeoffs", 200).text
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r = self.admin.expect("POST", "/admin/bakeoffs", 422,
                              body="csrf=%s&trials=2&pick=last&last_n=5" %
                              token, headers=form)
        self.assertIn("Choose at least one backend", r.text)
        r = self.admin.expect("POST", "/admin/bakeoffs", 422,
                              body="csrf=%s&b_0=on&trials=99&pick=last"
                              "&last_n=5" % token, headers=form)
        self.assertIn("Trials must be 1 to 10", r.text)
        self.admin.expect("GET", "/api/v1/bakeoffs/999999", 404)
        self.student.expect("GET", "/admin/bakeoffs", (403, 404))


if __name__ == "__main__":
    harness.main()
