#!/usr/bin/env python3
# The lab at 1/10 scale: N uploads at once, last result against the ideal bound (makespan_ratio, first_result_s, overlaps)
"""makespan: the phase controller against the ideal bound (issue 11).

The real server (default scheduler settings) with the project's stand-ins
at fixed service times: fake_stt.py as a whisper.cpp server taking
--stt-s per file, one at a time (--serial; stt_concurrency 1), and
--backends fake_ollama.py servers (one model each) taking --llm-s per
call with --slots calls at once (the backend's max_concurrent too) and
--load-s to load the model after an unload (--unload-s to free it). N
fixture videos (intro01..05 in turn) are uploaded at once through the
HTTP API, and the benchmark waits until every one is completed or failed.
Defaults: the lab at 1/10 time scale. Prints key=value lines:

  n, completed, failed       submissions, by outcome
  makespan_s                 first upload started (client clock) to the
                             last completed_at
  ideal_s                    N*stt_s/stt_concurrency + N*llm_s/(backends*slots)
  makespan_ratio             makespan_s / ideal_s
  first_result_s             first upload started to the first completed_at
  p50_upload_to_result_s     completed_at - created_at, median
  p95_upload_to_result_s     the same, 95th percentile (nearest rank)
  upload_s_max               the slowest upload request (intake)
  stt_phases, llm_phases     phase_runs of each phase
  switch_s_total             sum of the durations of the 'switching'
                             phase_runs (unloading before an STT phase)
  unload_s_total             sum of phase_log's unload rows
  overlaps                   pairs of STT calls and LLM generation calls
                             that overlapped, from the stand-ins' own logs

--arrival-every-s X --duration-s Y: a steady arrival instead (one upload
every X seconds for Y seconds, each in its own thread); ideal_s and
makespan_ratio are then not printed.
--batch-max, --batch-window-s, --max-phase-s: try other scheduler
settings (unset: the server's defaults). --keep keeps the stand-ins' logs.
"""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import benchlib as B  # noqa: E402
from benchlib import harness, say, emit  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--stt-s", type=float, default=2.0)
    ap.add_argument("--llm-s", type=float, default=3.0)
    ap.add_argument("--load-s", type=float, default=1.5)
    ap.add_argument("--unload-s", type=float, default=0.3,
                    help="time the stand-in takes to free a model "
                    "(/api/ps lists it meanwhile)")
    ap.add_argument("--backends", type=int, default=2)
    ap.add_argument("--slots", type=int, default=4)
    B.add_scheduler_flags(ap)
    ap.add_argument("--arrival-every-s", type=float,
                    help="steady arrival: one upload every X s")
    ap.add_argument("--duration-s", type=float, default=120,
                    help="steady arrival: for this long")
    ap.add_argument("--timeout-s", type=float, default=1800)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    harness.install_signal_handlers()

    settings = B.scheduler_settings(args)
    steady = args.arrival_every_s is not None
    n = (max(1, int(args.duration_s / args.arrival_every_s)) if steady
         else args.n)
    stt_concurrency = 1

    say("stand-ins: STT %.1f s serial, %d backend(s) x %d slots, LLM %.1f s,"
        " load %.1f s; %s" % (args.stt_s, args.backends, args.slots,
                               args.llm_s, args.load_s, settings or
                               "default scheduler settings"))
    rig = B.Rig(stt_ms=int(args.stt_s * 1000), llm_ms=int(args.llm_s * 1000),
                backends=args.backends, slots=args.slots,
                load_ms=int(args.load_s * 1000),
                unload_ms=int(args.unload_s * 1000), keep=args.keep)
    server = None
    try:
        server = rig.server(settings)
        c = B.student(server)
        for i in range(min(n, len(B.FIXTURES))):
            B.video_bytes(i)
        took = []
        if steady:
            say("steady arrival: %d uploads, one every %.1f s" % (
                n, args.arrival_every_s))
            threads = []
            t0 = time.time()
            for i in range(n):
                delay = t0 + i * args.arrival_every_s - time.time()
                if delay > 0:
                    time.sleep(delay)
                th = threading.Thread(
                    target=lambda i=i: took.append(B.upload(c, i)[1]))
                th.start()
                threads.append(th)
            for th in threads:
                th.join()
        else:
            say("%d uploads at once" % n)
            t0 = time.time()
            took = [s for _, s in B.upload_all(c, n)]
        say("uploaded in %.1f s (slowest request %.1f s)" % (
            time.time() - t0, max(took)))
        B.wait_done(rig, n, args.timeout_s)
        rows = B.results(rig)
        phases = B.phase_figures(rig)
        B.timeline(rig, t0)
        overlaps = rig.overlaps()
    except BaseException:
        if server is not None:
            sys.stderr.write(server.log_tail(40) + "\n")
        raise
    finally:
        if server is not None:
            server.cleanup()
        rig.stop()

    done = [b for s, a, b in rows if s == "completed"]
    failed = sum(1 for s, a, b in rows if s != "completed")
    waits = [b - a for s, a, b in rows if s == "completed"]
    last = max(b for s, a, b in rows if b is not None)
    makespan = last - t0
    emit("n", len(rows))
    emit("completed", len(done))
    emit("failed", failed)
    emit("makespan_s", makespan)
    if not steady:
        ideal = (n * args.stt_s / stt_concurrency +
                 n * args.llm_s / (args.backends * args.slots))
        emit("ideal_s", ideal)
        emit("makespan_ratio", makespan / ideal)
    emit("first_result_s", (min(done) - t0) if done else float("nan"))
    emit("p50_upload_to_result_s", B.pct(waits, 50))
    emit("p95_upload_to_result_s", B.pct(waits, 95))
    emit("upload_s_max", max(took))
    for k in ("stt_phases", "llm_phases", "switch_s_total",
              "unload_s_total"):
        emit(k, phases[k])
    emit("overlaps", overlaps)
    return 1 if failed or overlaps else 0


if __name__ == "__main__":
    sys.exit(main())
