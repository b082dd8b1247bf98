#!/usr/bin/env python3
"""Media preparation happens outside the exclusive STT phase (issue 11).

An upload starts in phase "prep": a media worker extracts its sound to a
16 kHz mono WAV and checks it, and only then is it claimable for STT, so
the STT phase runs engine calls back to back. Checked with the real
server, PostgreSQL, ffmpeg and the stand-ins (whisper.cpp's /inference,
Ollama):

  - uploads that arrive while an LLM phase runs are prepared during it:
    their preparation (phase_log phase "prep") overlaps LLM calls, while
    no STT engine call does (the stand-ins' own clocks agree);
  - every submission is prepared exactly once and completes; the
    prepared WAV is removed once the transcript is stored;
  - a silent recording is refused at upload by the same level check,
    and never reaches a queue.
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FIXTURES = ["intro%02d" % i for i in range(1, 6)]


class MediaPrep(harness.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="introeval-prep-")
        self.stt_log = os.path.join(self.dir, "stt.jsonl")
        self.llm_log = os.path.join(self.dir, "llm.jsonl")
        self.pg = harness.PgCluster().start()
        self.stt = harness.FakeStt(latency_ms=400,
                                   log_file=self.stt_log).start()
        self.llm = harness.FakeOllama(models=["mistral"], latency_ms=4000,
                                      token_ms=5,
                                      log_file=self.llm_log).start()
        self.server = harness.Server(
            self.pg.url, harness.backends_for([self.llm]), env={
                "INTROEVAL_STT_ENGINE": "whisper_http",
                "INTROEVAL_STT_URL": self.stt.url,
                "INTROEVAL_BATCH_WINDOW_S": "0.5",
                "INTROEVAL_SCHEDULER_POLL_S": "0.2",
                "INTROEVAL_NODE_NAME": "gpu1",
            }).start()
        self.log_sources = [self.server, self.stt, self.llm]
        harness.create_user(self.server, "s1@example.com", "Student One",
                            "student", "pw-student-1-1234")
        harness.create_user(self.server, "t@example.com", "Teacher",
                            "teacher", "pw-teacher-1234")
        self.student = harness.Client(self.server.url)
        self.student.login("s1@example.com", "pw-student-1-1234")
        self.teacher = harness.Client(self.server.url)
        self.teacher.login("t@example.com", "pw-teacher-1234")

    def tearDown(self):
        self.server.cleanup()
        self.stt.stop()
        self.llm.stop()
        self.pg.stop()

    def rows(self, sql):
        return [line.split("|") for line in self.pg.psql(sql).splitlines()
                if line]

    def upload(self, names):
        ids = []
        for name in names:
            video, _ = harness.intro(name)
            ids.append(self.student.upload(video)["id"])
        return ids

    def test_uploads_are_prepared_while_evaluations_run(self):
        first = self.upload(FIXTURES[:2])
        # An LLM call is on the wire: the node is in its LLM phase.
        harness.wait_until(lambda: self.rows(
            "SELECT 1 FROM submissions WHERE phase = 'llm' AND status = "
            "'processing' AND work_started_at IS NOT NULL"),
            "an LLM phase", timeout=120, interval=0.05)
        later = self.upload(FIXTURES[2:5])
        ids = first + later
        for i in ids:
            s = self.teacher.wait_for(i, ("completed", "failed"),
                                      timeout=240, interval=0.3)
            self.assertEqual(s["status"], "completed",
                             "%d: %s" % (i, s.get("error")))

        def intervals(phase, where=""):
            return [(float(a), float(b), int(sid)) for a, b, sid in self.rows(
                "SELECT extract(epoch FROM started_at), extract(epoch FROM "
                "finished_at), submission_id FROM phase_log WHERE phase = "
                "'%s' AND outcome = 'ok' %s" % (phase, where))]

        prep, stt, llm = intervals("prep"), intervals("stt"), \
            intervals("llm")
        # Prepared once each, then transcribed from the prepared sound.
        self.assertEqual(sorted(p[2] for p in prep), sorted(ids))
        self.assertEqual(sorted(s[2] for s in stt), sorted(ids))
        later_prep = [p for p in prep if p[2] in later]
        self.assertTrue(harness.overlaps(later_prep, llm),
                        "no preparation ran during an LLM call: %s / %s" % (
                            later_prep, llm))
        self.assertEqual(harness.overlaps(stt, llm), [],
                         "an STT call overlapped an LLM call")
        # The stand-ins' own clocks say the same of the engine calls.
        stt_calls = [(r["start"], r["end"]) for r in harness.read_log(
            self.stt_log) if r.get("path") == "/inference"]
        llm_calls = [(r["start"], r["end"]) for r in harness.read_log(
            self.llm_log) if r.get("path") in ("/api/generate", "/api/chat")
            and not r.get("kind")]
        self.assertEqual(harness.overlaps(stt_calls, llm_calls), [])
        # No prepared sound is left behind once transcribed.
        left = [f for f in os.listdir(self.server.uploads_dir)
                if f.endswith(".wav")]
        self.assertEqual(left, [])

    def test_silent_refused_at_upload(self):
        # A video whose sound track is silence is refused at the door by
        # the same level check preparation applies (media_check_levels),
        # and never becomes a submission.
        silent = os.path.join(self.dir, "silent.mp4")
        subprocess.run([
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "color=c=black:s=160x120:d=8",
            "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
            "-t", "8", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-c:a", "aac", silent], check=True)
        resp = self.student.upload(silent, expect=422)
        self.assertEqual(harness.error_message(resp), "the recording is "
                         "silent: we could not hear speech in it (was the "
                         "microphone muted?)")
        self.assertEqual(self.rows("SELECT count(*) FROM submissions"),
                         [["0"]])

if __name__ == "__main__":
    harness.install_signal_handlers()
    unittest.main(verbosity=2)
