#!/usr/bin/env python3
"""The LLM pool end to end: an ensemble grade and its provenance stored.

A throw-away PostgreSQL cluster, two fake Ollama servers made to disagree
(every score 5 from mistral, 1 from llama3) and the server in ensemble
mode. A student uploads a fixture video; once it is scored, the stored
evaluation must hold both models' scores, their mean, needs_review, and
the provenance columns (backend URL, model digest, options with the seed,
rubric version, prompt hash, mode, and the calls made).

Run: python3 tests/integration/test_llm_pool.py (INTROEVAL_BIN names the
binary).
"""

import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT = float(os.environ.get("INTROEVAL_E2E_TIMEOUT", "180"))


class Ensemble(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral", "llama3"), server_env={
            "INTROEVAL_EVALUATION_MODE": "ensemble",
            "INTROEVAL_ENSEMBLE_MARGIN": "1.0",
            "INTROEVAL_LLM_SEED": "7"}).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.stack.fakes[0].control(score=5)
        cls.stack.fakes[1].control(score=1)
        pw = harness.create_user(cls.server, "s@example.com", "Sam Student",
                                 "student", "pw-student-1234")
        c = harness.Client(cls.server.url)
        c.login("s@example.com", pw)
        # What is checked happens after transcription: a short clip will do.
        created = c.upload(harness.short_intro("intro01"), "video/mp4")
        cls.sub = c.wait_for(created["id"], ("completed", "failed"),
                             timeout=TIMEOUT)
        cls.page = c.expect("GET", "/submissions/%d" % created["id"],
                            200).text

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def row(self):
        self.assertEqual(self.sub["status"], "completed",
                         "submission failed: %s" % self.sub.get("error"))
        out = self.stack.pg.psql(
            "SELECT row_to_json(e) FROM (SELECT backend, model, scores, "
            "overall, backend_url, model_digest, options, rubric_version, "
            "prompt_sha256, mode, needs_review, ensemble, provenance "
            "FROM evaluations WHERE submission_id = %d) e" % self.sub["id"])
        self.assertTrue(out, "no evaluation stored")
        return json.loads(out.splitlines()[0])

    def test_both_models_scores_are_stored(self):
        e = self.row()
        self.assertEqual(e["mode"], "ensemble")
        models = {m["backend"]: m for m in e["ensemble"]}
        self.assertEqual(sorted(models), ["llama3", "mistral"])
        self.assertTrue(all(v == 5 for v in
                            models["mistral"]["scores"].values()))
        self.assertTrue(all(v == 1 for v in
                            models["llama3"]["scores"].values()))
        self.assertTrue(all(v == 3 for v in e["scores"].values()))
        self.assertEqual(e["overall"], 3.0)

    def test_disagreement_is_flagged(self):
        e = self.row()
        self.assertIs(e["needs_review"], True)
        # The API and the result page say so too, with each model's grade.
        ev = self.sub["evaluation"]
        self.assertIs(ev["needs_review"], True)
        self.assertEqual(ev["mode"], "ensemble")
        self.assertEqual(len(ev["ensemble"]), 2)
        self.assertIn('id="needs-review"', self.page)
        self.assertIn("llama3", self.page)

    def test_provenance_columns(self):
        e = self.row()
        self.assertEqual(e["backend"], "mistral")
        self.assertEqual(e["backend_url"], self.stack.fakes[0].url)
        self.assertEqual(e["model_digest"], hashlib.sha256(
            b"mistral:latest").hexdigest())
        self.assertEqual(e["options"]["seed"], 7)
        self.assertEqual(e["options"]["temperature"], 0)
        self.assertEqual(e["options"]["num_ctx"], 4096)
        self.assertEqual(e["rubric_version"], 1)
        self.assertRegex(e["prompt_sha256"], r"^[0-9a-f]{64}$")
        calls = e["provenance"]["calls"]
        self.assertEqual(sorted(c["backend"] for c in calls),
                         ["llama3", "mistral"])
        self.assertTrue(all(c["outcome"] == "ok" for c in calls))


if __name__ == "__main__":
    harness.main()
