#!/usr/bin/env python3
"""LLM dispatch: least-loaded vs round-robin on two backends 3x apart in speed.

Starts two stand-in Ollama servers, "fast" (--latency-ms L, --token-ms T)
and "slow" (3L, 3T), then runs build/bench_dispatch, which sends the same
TASKS evaluations through one pool with least_loaded dispatch and then
through one with round_robin (each backend takes MAX_CONCURRENT calls at
once). Prints, besides the tool's detail lines:

  least_loaded_s=S   first submit to last result, least_loaded
  round_robin_s=S    the same, round_robin
  dispatch_ratio=R   least_loaded_s / round_robin_s (ideal: 0.5)
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
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--max-concurrent", type=int, default=2)
    ap.add_argument("--latency-ms", type=int, default=60)
    ap.add_argument("--token-ms", type=int, default=2)
    args = ap.parse_args()
    harness.install_signal_handlers()
    build = os.environ.get("INTROEVAL_BUILD_DIR",
                           os.path.join(harness.repo_dir(), "build"))
    tool = os.path.join(build, "bench_dispatch")
    fast = harness.FakeOllama(models=("mistral",),
                              latency_ms=args.latency_ms,
                              token_ms=args.token_ms)
    slow = harness.FakeOllama(models=("mistral",),
                              latency_ms=3 * args.latency_ms,
                              token_ms=3 * args.token_ms)
    with fast, slow:
        print("bench: fast %s, slow %s, %d tasks" % (
            fast.url, slow.url, args.tasks), file=sys.stderr, flush=True)
        p = subprocess.run([tool, "--fast", fast.url, "--slow", slow.url,
                            "--tasks", str(args.tasks), "--max-concurrent",
                            str(args.max_concurrent)])
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
