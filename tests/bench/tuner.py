#!/usr/bin/env python3
"""Adaptive concurrency: the tuner against fixed limits 2, 4 and 6.

Starts one stand-in Ollama whose latency grows with the calls it serves
at once (--latency-ms BASE --latency-per-call-ms STEP: BASE + STEP * (c-1),
by default 1.0 s at 2 calls and 2.6 s at 6), then runs build/bench_tuner,
which keeps one pool busy against it at fixed limits 2, 4 and 6 and then
with concurrency_min 2, concurrency_max 6 and the p95 target. Prints:

  fixed_N_p95_ms, fixed_N_throughput_per_min, fixed_N_errors  (N = 2, 4, 6)
  tuned_limit               the limit the tuner ended on
  tuned_p95_ms, tuned_throughput_per_min, tuned_errors
  tuned_vs_best_within_target   tuned throughput / the best fixed limit's
                            whose p95 met the target
  tuned_vs_best_fixed       tuned throughput / the best fixed limit's
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=45,
                    help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=20,
                    help="seconds the tuner gets before it is measured")
    ap.add_argument("--latency-ms", type=int, default=600)
    ap.add_argument("--latency-per-call-ms", type=int, default=400)
    ap.add_argument("--target-ms", type=int, default=2500)
    args = ap.parse_args()
    harness.install_signal_handlers()
    build = os.environ.get("INTROEVAL_BUILD_DIR",
                           os.path.join(harness.repo_dir(), "build"))
    tool = os.path.join(build, "bench_tuner")
    fake = harness.FakeOllama(
        models=("mistral",), latency_ms=args.latency_ms,
        extra_args=["--latency-per-call-ms",
                    str(args.latency_per_call_ms)])
    with fake:
        print("bench: stand-in %s, %d ms + %d ms per other call" % (
            fake.url, args.latency_ms, args.latency_per_call_ms),
            file=sys.stderr, flush=True)
        p = subprocess.run([tool, "--url", fake.url, "--seconds",
                            str(args.seconds), "--warmup", str(args.warmup),
                            "--target-ms", str(args.target_ms)],
                           stdout=subprocess.PIPE, text=True)
    sys.stdout.write(p.stdout)
    figures = dict(line.split("=", 1) for line in p.stdout.split()
                   if "=" in line)
    fixed = [(float(figures["fixed_%d_throughput_per_min" % n]),
              float(figures["fixed_%d_p95_ms" % n])) for n in (2, 4, 6)]
    tuned = float(figures.get("tuned_throughput_per_min", 0))
    ok = [t for t, p95 in fixed if p95 <= args.target_ms]
    if ok:
        print("tuned_vs_best_within_target=%.3f" % (tuned / max(ok)))
    print("tuned_vs_best_fixed=%.3f" % (tuned / max(t for t, _ in fixed)))
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
