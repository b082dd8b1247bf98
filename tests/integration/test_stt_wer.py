#!/usr/bin/env python3
"""PocketSphinx's word error rate on the shared fixtures does not regress.

Runs the WER harness (tests/bench/wer.py, with build/bench_wer: the
server's own extraction, normalisation and decoding) on every fixture
video and asserts the mean and pooled word error rates stay below what was
measured when the harness was written plus a margin (the real-time factor
is printed, not checked: speeds are for tests/bench/run wer):

  measured (Debian 12, ffmpeg 5.1, pocketsphinx 0.8+5prealpha):
    pocketsphinx_mean_wer=0.511  pocketsphinx_pooled_wer=0.426

The decoder is deterministic, so the margin only absorbs library updates.
INTROEVAL_MAX_MEAN_WER / INTROEVAL_MAX_POOLED_WER override the limits;
bench_wer is looked for next to $INTROEVAL_BIN (CMake builds it with the
server).

Run: python3 tests/integration/test_stt_wer.py
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import harness  # noqa: E402
import wer  # noqa: E402

MAX_MEAN = float(os.environ.get("INTROEVAL_MAX_MEAN_WER", "0.56"))
MAX_POOLED = float(os.environ.get("INTROEVAL_MAX_POOLED_WER", "0.47"))


class PocketSphinxWer(unittest.TestCase):
    def test_scoring_counts_edits(self):
        self.assertEqual(wer.wer("a b c d", "a b c d")[0], 0.0)
        self.assertEqual(wer.wer("Hello, World.", "hello world")[0], 0.0)
        self.assertEqual(wer.wer("a b c d", "a x c")[1], 2)  # sub + del
        self.assertEqual(wer.wer("a b", "a b c d")[0], 1.0)  # 2 ins / 2

    def test_mean_wer_stays_below_the_measured_figure(self):
        driver = os.path.join(os.path.dirname(harness.binary()), "bench_wer")
        if not os.access(driver, os.X_OK):
            self.fail("no %s: build the project (cmake --build) first" %
                      driver)
        fx = wer.fixtures()
        self.assertGreaterEqual(len(fx), 4, "fixtures missing")
        # Not pinned to one core (the benchmark's setting): the words are
        # the same, and a busy core 0 does not hold the suite up.
        s = wer.score("pocketsphinx", [], fx, driver, pin=False)
        for ident, v in s["files"].items():
            print("%s wer=%.3f heard: %s" % (ident, v["wer"], v["text"]),
                  file=sys.stderr)
        print("pocketsphinx_mean_wer=%.3f (limit %.2f) pooled=%.3f (limit "
              "%.2f) rtf=%.2f" % (s["mean_wer"], MAX_MEAN, s["pooled_wer"],
                                  MAX_POOLED, s["rtf"]), file=sys.stderr)
        self.assertLess(s["mean_wer"], MAX_MEAN)
        self.assertLess(s["pooled_wer"], MAX_POOLED)
        # The real-time factor is printed above, never asserted: speed is
        # what tests/bench reports, and this test runs on loaded machines.


if __name__ == "__main__":
    harness.main()
