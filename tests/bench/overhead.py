#!/usr/bin/env python3
# The controller's own cost: 200 submissions through zero-latency stand-ins (overhead_ms_per_submission, beyond ffmpeg)
"""overhead: what the phase controller spends per submission (issue 11).

Zero-latency stand-ins (fake_stt.py as a whisper.cpp server, serial;
--backends fake_ollama.py servers with --slots calls each), so what is
left is the controller (claims, state changes, NOTIFY, heartbeats, phase
switches) and the stand-ins' own answer time. Media preparation (two
ffmpeg passes per file) runs outside the controller, on media workers, so
it is done before the drain and measured on its own.

1. A role=web server takes --n uploads (fixtures intro01..05 in turn,
   --upload-threads at a time); no scheduler runs, so they all wait,
   claimable. It is stopped.
2. A role=worker server whose STT engine cannot be reached prepares
   them all (media workers run without the engine), and is stopped once
   none is left in phase "prep": prep_s, prep_ms_per_file.
3. A role=worker server starts on the same database and data_dir, with
   the default scheduler settings (--batch-max, --batch-window-s,
   --max-phase-s to try others). The drain runs from the moment its
   /healthz says "scheduler": "running" to the last completed_at.
4. The per-file media cost is measured on its own, with nothing else of
   ours running, half of --media-runs just before the drain and half just
   after (the box is shared; its load changes): the two ffmpeg passes the
   server makes
   (server/speech/media.c: the first audio track decoded to a 16 kHz mono
   s16 WAV, then that WAV through -af dynaudnorm to the same format,
   with the server's arguments) on the same fixtures, --media-runs
   times; the median.

Prints key=value lines:
  n, completed, failed
  drain_s                      scheduler running to the last result
  drain_ms_per_submission      drain_s / n
  media_ms_per_file            median of the two ffmpeg passes
  media_ms_before, media_ms_after   the same, of the runs before and after
  loadavg_1m                   the machine's load average before/after
                               the drain (others' work counts in it)
  overhead_ms_per_submission   drain_ms_per_submission minus the media
                               cost inside the drain, which is none: the
                               audio was prepared before it (step 2)
  prep_s, prep_ms_per_file     step 2: all n prepared, on media_workers
  startup_s                    worker spawned to its scheduler running
  stt_call_ms_median, llm_call_ms_median
                               the stand-ins' own time per call (their logs)
  stt_phases, llm_phases, switch_s_total, overlaps   as in makespan
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import benchlib as B  # noqa: E402
from benchlib import harness, say, emit  # noqa: E402

# server/speech/media.c: ff_argv_build(), decode_track(), normalise().
MEDIA_FORMATS = ("mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,flv,"
                 "mpegts,mpeg,wav,w64,mp3,ogg,flac,aac,amr,caf")
WAV_OUT = ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav"]


def ffmpeg(formats, src, opts, dst):
    argv = (["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
             "-protocol_whitelist", "file", "-format_whitelist", formats,
             "-y", "-i", src] + opts + WAV_OUT + [dst])
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)


def media_cost(runs, workdir):
    """Median seconds of the server's two passes on one fixture (cycled),
    the output read back once as the level check does."""
    raw = os.path.join(workdir, "raw.wav")
    out = os.path.join(workdir, "out.wav")
    times = []
    for i in range(runs):
        src = B.fixture(i)
        t = time.monotonic()
        ffmpeg(MEDIA_FORMATS, src, ["-map", "0:a:0", "-vn"], raw)
        with open(raw, "rb") as f:
            f.read()
        ffmpeg("wav", raw, ["-af", "dynaudnorm"], out)
        times.append(time.monotonic() - t)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--backends", type=int, default=2)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--upload-threads", type=int, default=4)
    ap.add_argument("--media-runs", type=int, default=30)
    B.add_scheduler_flags(ap)
    ap.add_argument("--timeout-s", type=float, default=1800)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    harness.install_signal_handlers()

    settings = B.scheduler_settings(args)
    n = args.n
    data_dir = tempfile.mkdtemp(prefix="introeval-bench-data-")
    rig = B.Rig(stt_ms=0, llm_ms=0, backends=args.backends,
                slots=args.slots, keep=args.keep)
    web = worker = None
    try:
        web = rig.server(settings, role="web", data_dir=data_dir)
        c = B.student(web)
        say("%d uploads to a web-only server (%d at a time)" % (
            n, args.upload_threads))
        t = time.time()
        B.upload_all(c, n, threads=args.upload_threads)
        say("uploaded in %.1f s" % (time.time() - t))
        web.stop()
        waiting = int(rig.sql("SELECT count(*) FROM submissions WHERE "
                              "status = 'pending'")[0][0])
        if waiting != n:
            raise RuntimeError("%d of %d uploads are waiting" % (waiting, n))

        say("preparing them (a worker with no STT engine)")
        t = time.time()
        prep = dict(settings, INTROEVAL_STT_URL="http://127.0.0.1:9/")
        preparer = rig.server(prep, role="worker", data_dir=data_dir)
        worker = preparer
        while True:
            left = int(rig.sql("SELECT count(*) FROM submissions WHERE "
                               "phase = 'prep'")[0][0])
            if left == 0:
                break
            if time.time() - t > args.timeout_s:
                raise RuntimeError("%d not prepared" % left)
            time.sleep(0.1)
        prep_s = time.time() - t
        preparer.stop()
        preparer.cleanup()
        worker = None
        # The engine counts as starting while it is retried, so a batch
        # may have been tried and put back for a retry: make every one
        # a fresh, claimable transcription again.
        rig.sql("UPDATE submissions SET status = 'pending', error_message = NULL, "
                "retry_count = 0, attempts = 0, crashes = 0, "
                "next_attempt_at = now(), worker_id = NULL, "
                "claim_token = NULL, lease_expires_at = NULL "
                "WHERE phase = 'stt'")
        ready_n = int(rig.sql("SELECT count(*) FROM submissions WHERE "
                              "phase = 'stt' AND status = 'pending'")[0][0])
        if ready_n != n:
            raise RuntimeError("%d of %d prepared" % (ready_n, n))
        say("prepared in %.1f s" % prep_s)

        # Half the media runs just before the drain, half just after:
        # the box is shared, and its load changes over minutes.
        say("measuring the media cost (%d runs)" % (args.media_runs // 2))
        _, media_before = media_cost(args.media_runs // 2, rig.dir)
        load_before = os.getloadavg()[0]
        say("starting a worker: %s" % (settings or
                                       "default scheduler settings"))
        spawned = time.time()
        worker = rig.server(settings, role="worker", data_dir=data_dir)
        while True:
            h = worker.healthz() or {}
            if h.get("scheduler") == "running":
                break
            if time.time() - spawned > 120:
                raise RuntimeError("the worker's scheduler is not running: "
                                   "%s" % h)
            time.sleep(0.01)
        ready = time.time()
        B.wait_done(rig, n, args.timeout_s)
        rows = B.results(rig)
        phases = B.phase_figures(rig)
        B.timeline(rig, ready)
        overlaps = rig.overlaps()
        stt_ms = [(b - a) * 1000 for a, b in rig.stt_calls()]
        llm_ms = [(b - a) * 1000 for a, b in rig.llm_calls()]
        worker.stop()
        worker.cleanup()
        worker = None
        load_after = os.getloadavg()[0]
        say("measuring the media cost (%d runs)" % (
            args.media_runs - args.media_runs // 2))
        _, media_after = media_cost(args.media_runs - args.media_runs // 2,
                                    rig.dir)
        media_s = statistics.median(media_before + media_after)
    except BaseException:
        for s in (worker, web):
            if s is not None:
                sys.stderr.write(s.log_tail(40) + "\n")
        raise
    finally:
        for s in (worker, web):
            if s is not None:
                s.cleanup()
        rig.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    completed = sum(1 for s, a, b in rows if s == "completed")
    last = max(b for s, a, b in rows if b is not None)
    drain = last - ready
    per = drain * 1000 / n
    media_ms = media_s * 1000
    emit("n", n)
    emit("completed", completed)
    emit("failed", n - completed)
    emit("drain_s", drain)
    emit("drain_ms_per_submission", per)
    emit("media_ms_per_file", media_ms)
    emit("overhead_ms_per_submission", per)
    emit("prep_s", prep_s)
    emit("prep_ms_per_file", prep_s * 1000 / n)
    emit("media_ms_before", statistics.median(media_before) * 1000
         if media_before else float("nan"))
    emit("media_ms_after", statistics.median(media_after) * 1000)
    emit("startup_s", ready - spawned)
    emit("loadavg_1m", "%.1f/%.1f" % (load_before, load_after))
    emit("stt_call_ms_median", statistics.median(stt_ms) if stt_ms else 0.0)
    emit("llm_call_ms_median", statistics.median(llm_ms) if llm_ms else 0.0)
    for k in ("stt_phases", "llm_phases", "switch_s_total"):
        emit(k, phases[k])
    emit("overlaps", overlaps)
    return 1 if completed != n else 0


if __name__ == "__main__":
    sys.exit(main())
