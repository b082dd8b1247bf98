#!/usr/bin/env python3
"""GPU telemetry and the thermal ceiling, with a stand-in nvidia-smi.

A stand-in `nvidia-smi` on the server's PATH prints the real CSV format
(--query-gpu=index,name,memory.used,memory.total,utilization.gpu,
temperature.gpu --format=csv,noheader,nounits) from a file the test
rewrites. With GPU 0 at 91 °C (ceiling 85) the node's LLM calls are
paused: a transcribed submission waits, no generation call reaches the
stand-in Ollama, and the health page says why; once the GPU cools to
60 °C the call is made and the submission is scored. The health page
shows each GPU's memory, utilisation and temperature with its recent
samples, and the unload before a later STT phase records GPU memory
before and after in the phase log.

Run: python3 tests/integration/test_gpu_thermal.py (INTROEVAL_BIN names
the binary).
"""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT = float(os.environ.get("INTROEVAL_E2E_TIMEOUT", "180"))

SMI = r"""#!/bin/sh
# Stand-in nvidia-smi: answers the telemetry query from a file.
case "$1" in
--query-gpu=index,name,memory.used,memory.total,utilization.gpu,temperature.gpu) ;;
*) echo "stand-in nvidia-smi: unexpected arguments: $*" >&2; exit 6 ;;
esac
[ "$2" = --format=csv,noheader,nounits ] || exit 6
exec cat "%s"
"""


def gpus(temp0, mem0=20000):
    return ("0, NVIDIA GeForce RTX 4090, %d, 24564, 97, %d\n"
            "1, NVIDIA GeForce RTX 4090, 512, 24564, 0, 45\n" % (mem0, temp0))


class Thermal(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="introeval-smi-")
        cls.state = os.path.join(cls.dir, "gpus.csv")
        cls.write(gpus(91))
        smi = os.path.join(cls.dir, "nvidia-smi")
        with open(smi, "w") as f:
            f.write(SMI % cls.state)
        os.chmod(smi, 0o755)
        cls.ollama_log = os.path.join(cls.dir, "ollama.jsonl")
        cls.stack = harness.Stack(
            models=("mistral",), one_fake=True,
            fake_kw={"log_file": cls.ollama_log},
            server_env={"PATH": cls.dir + os.pathsep + os.environ["PATH"],
                        "INTROEVAL_GPU_SAMPLE_S": "1",
                        "INTROEVAL_GPU_TEMP_CEILING_C": "85",
                        "INTROEVAL_BATCH_WINDOW_S": "0"}).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.admin = harness.Client(cls.server.url)
        cls.admin.login("admin@example.com", harness.create_user(
            cls.server, "admin@example.com", "Ada Admin", "admin",
            "pw-admin-12345"))
        cls.student = harness.Client(cls.server.url)
        cls.student.login("s@example.com", harness.create_user(
            cls.server, "s@example.com", "Sam Student", "student",
            "pw-student-1234"))

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def write(cls, text):
        tmp = cls.state + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, cls.state)

    def health(self):
        return self.admin.expect("GET", "/admin/health", 200).text

    def poll(self, what, fn, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.3)
        self.fail("not within %d s: %s" % (timeout, what))

    def generate_calls(self):
        if not os.path.exists(self.ollama_log):
            return 0
        with open(self.ollama_log) as f:
            recs = [json.loads(line) for line in f]
        # Generations only: the unload before STT is an empty-prompt
        # request ("kind": "unload"), not an LLM call.
        return sum(1 for r in recs if r.get("path") == "/api/generate"
                   and not r.get("kind"))

    def phase(self, sid):
        return self.stack.pg.psql("SELECT phase || '/' || status FROM "
                                  "submissions WHERE id = %d" % sid).strip()

    def test_hot_gpu_pauses_llm_calls_until_it_cools(self):
        page = self.poll("the health page says the LLM calls are paused",
                         lambda: "LLM calls paused" in self.health()
                         and self.health())
        self.assertIn("GPU 0 is at 91 °C", page)
        self.assertIn("ceiling of 85 °C", page)
        # The GPU table: both cards, memory, utilisation, temperature.
        self.assertIn("GPUs of", page)
        self.assertIn("20000 / 24564 MiB", page)
        self.assertIn("97 %", page)
        self.assertIn("91 °C", page)
        self.assertIn('class="spark"', page)

        sub = self.student.upload(harness.short_intro("intro01"))
        sid = sub["id"]
        # Transcribed, then held: it waits for the LLM, nothing is sent.
        self.poll("submission %d waiting for the LLM" % sid,
                  lambda: self.phase(sid).startswith("llm/"), TIMEOUT)
        for _ in range(3):      # a few samples and dispatch rounds
            n = self.server_samples()
            self.poll("a later GPU sample", lambda: self.server_samples() > n)
        self.assertEqual(self.generate_calls(), 0)
        self.assertNotEqual(self.student.get_json(
            "/api/v1/submissions/%d" % sid)["status"], "completed")

        self.write(gpus(60))
        done = self.student.wait_for(sid, ("completed", "failed"),
                                     timeout=TIMEOUT)
        self.assertEqual(done["status"], "completed", done.get("error"))
        self.assertGreaterEqual(self.generate_calls(), 1)
        self.poll("the pause lifted on the health page",
                  lambda: "LLM calls paused" not in self.health())
        self.assertIn("resumed", self.server.log_text())

        # A later STT phase unloads the model: memory before and after.
        self.write(gpus(60, mem0=3000))
        sub2 = self.student.upload(harness.short_intro("intro02"))
        self.student.wait_for(sub2["id"], ("completed", "failed"),
                              timeout=TIMEOUT)
        out = self.stack.pg.psql(
            "SELECT detail FROM phase_log WHERE phase = 'unload' "
            "ORDER BY id DESC LIMIT 1").strip()
        self.assertTrue(out, "no unload was logged")
        detail = json.loads(out)
        self.assertIn("vram_before_mib", detail)
        self.assertIn("vram_after_mib", detail)
        self.assertIn("GPU memory", self.health())

    def server_samples(self):
        """How many GPU samples the node has reported (its history)."""
        out = self.stack.pg.psql(
            "SELECT coalesce(jsonb_array_length(detail->'gpus'->0->"
            "'history'), 0) || ':' || extract(epoch FROM updated_at) "
            "FROM system_state LIMIT 1").strip()
        return float(out.split(":")[1]) if out else 0


if __name__ == "__main__":
    harness.main()
