#!/usr/bin/env python3
"""End-to-end: every fixture uploaded at once, time until all are scored.

Starts a throw-away PostgreSQL cluster, two stand-in Ollama servers (with
--latency-ms LLM latency, default 500) and the real server; one student
uploads each video in ../shared/fixtures/intros/ (ROUNDS times, default 1)
and the benchmark waits until every submission is completed. Prints:

  pipeline_submissions=N      submissions processed
  pipeline_total_s=S          first upload to last result
  pipeline_per_submission_s=S total / N
  pipeline_audio_s=S          seconds of audio transcribed
  pipeline_stt_rtf=R          audio seconds per STT-phase second (median)
  pipeline_stt_s_median=S     median STT time per submission
  pipeline_llm_s_median=S     median LLM time per submission
  pipeline_upload_ms_median=M median time of one upload request
  pipeline_stt_phases=N       STT phases run (batches)
  pipeline_llm_phases=N       LLM phases run
  pipeline_unload_s_total=S   time spent unloading models before STT
  pipeline_load_s_total=S     model load time the first LLM calls paid
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--latency-ms", type=int, default=500)
    args = ap.parse_args()
    harness.install_signal_handlers()
    fixtures = os.path.join(harness.shared_dir(), "fixtures", "intros")
    videos = sorted(os.path.join(fixtures, f) for f in os.listdir(fixtures)
                    if f.endswith(".mp4"))
    # The stand-ins take 1.5 s to load a model after an unload and 0.3 s
    # to free it, so the cost of each phase switch shows in the figures.
    with harness.Stack(fake_kw={"latency_ms": args.latency_ms,
                                "extra_args": ["--load-ms", "1500",
                                               "--unload-ms", "300"]}) as st:
        pw = harness.create_user(st.server, "bench@example.com", "Bench",
                                 "student", "bench-password-1")
        c = harness.Client(st.server.url)
        c.login("bench@example.com", pw)
        ids, upload_ms = [], []
        t0 = time.monotonic()
        for _ in range(args.rounds):
            for v in videos:
                u0 = time.monotonic()
                r = c.upload(v, expect=(201, 422))
                upload_ms.append((time.monotonic() - u0) * 1000)
                if "id" not in r:	# e.g. shorter than min_duration_s
                    print("bench: %s refused: %s" % (
                        os.path.basename(v), r.get("error")),
                        file=sys.stderr)
                    continue
                ids.append(r["id"])
        subs = [c.wait_for(i, ("completed", "failed"), timeout=1800,
                           interval=0.25) for i in ids]
        total = time.monotonic() - t0
        phases = dict(line.split("|") for line in st.pg.psql(
            "SELECT phase, count(*) FROM phase_runs GROUP BY 1").splitlines()
            if line)
        load = float(st.pg.psql(
            "SELECT coalesce(sum((detail->>'load_s')::float8), 0) FROM "
            "phase_log WHERE phase = 'llm'") or 0)
        unload = float(st.pg.psql(
            "SELECT coalesce(sum(extract(epoch FROM finished_at - "
            "started_at)), 0) FROM phase_log WHERE phase = 'unload'") or 0)
    failed = [s for s in subs if s["status"] != "completed"]
    if failed:
        print("bench: %d submissions failed: %s" % (
            len(failed), failed[0].get("error")), file=sys.stderr)
    audio = sum(s["transcript"]["audio_s"] for s in subs if s["transcript"])
    rtf = [s["transcript"]["audio_s"] / s["stt_s"] for s in subs
           if s["transcript"] and s.get("stt_s")]
    print("pipeline_submissions=%d" % len(subs))
    print("pipeline_failed=%d" % len(failed))
    print("pipeline_total_s=%.2f" % total)
    print("pipeline_per_submission_s=%.2f" % (total / len(subs)))
    print("pipeline_audio_s=%.1f" % audio)
    print("pipeline_stt_rtf=%.2f" % statistics.median(rtf))
    print("pipeline_stt_s_median=%.2f" % statistics.median(
        s["stt_s"] for s in subs if s.get("stt_s") is not None))
    print("pipeline_llm_s_median=%.2f" % statistics.median(
        s["llm_s"] for s in subs if s.get("llm_s") is not None))
    print("pipeline_upload_ms_median=%.1f" % statistics.median(upload_ms))
    print("pipeline_stt_phases=%s" % phases.get("stt", 0))
    print("pipeline_llm_phases=%s" % phases.get("llm", 0))
    print("pipeline_unload_s_total=%.2f" % unload)
    print("pipeline_load_s_total=%.2f" % load)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
