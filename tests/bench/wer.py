#!/usr/bin/env python3
"""word error rate of each STT engine on the shared fixture videos

Transcribes every video in ../shared/fixtures/intros/ with build/bench_wer
(tests/bench/wer.c: the server's own extraction and engine code) and
scores it against ../shared/fixtures/intros.json. Prints, as key=value
lines on stdout:

  pocketsphinx_wer_intro01=0.286      each file's word error rate
  pocketsphinx_mean_wer=0.43          mean over the files
  pocketsphinx_pooled_wer=0.42        errors / reference words, all files
  pocketsphinx_rtf=5.4                audio seconds / decoding seconds
  pocketsphinx_load_s=0.25            model loading (not in the RTF)

PocketSphinx decodes on one core (the driver is pinned with taskset when
it is available). The HTTP engines run only against a real server named
in the environment:

  INTROEVAL_BENCH_WHISPER_URL   a whisper.cpp server  -> whisper_http_*
  INTROEVAL_BENCH_OPENAI_URL    /v1/audio/transcriptions server
                                (INTROEVAL_BENCH_OPENAI_MODEL, _KEY)
                                                      -> openai_http_*

Without one, a line says so instead of printing a figure: the stand-ins
in tests/fakes/ answer canned text, so their "WER" would mean nothing.

Run: tests/bench/run wer [--engine NAME] [--json]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORD_RE = re.compile(r"[a-z0-9']+")


def shared_dir():
    d = os.environ.get("INTROEVAL_SHARED_DIR")
    return os.path.abspath(d) if d else os.path.join(
        os.path.dirname(REPO), "shared")


def build_dir():
    return os.environ.get("INTROEVAL_BUILD_DIR") or os.path.join(
        REPO, "build")


def normalise(text):
    """Lower-case words without punctuation: what both sides are scored on."""
    return [w.strip("'") for w in WORD_RE.findall(text.lower())
            if w.strip("'")]


def edit_distance(ref, hyp):
    """Levenshtein distance between two word lists (substitution,
    insertion and deletion each cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(ref_text, hyp_text):
    """(word error rate, errors, reference words)."""
    ref, hyp = normalise(ref_text), normalise(hyp_text)
    errors = edit_distance(ref, hyp)
    return (errors / len(ref) if ref else float(bool(hyp)), errors,
            len(ref))


def fixtures():
    """[(id, video path, true text)] for every video with a true text."""
    base = os.path.join(shared_dir(), "fixtures")
    with open(os.path.join(base, "intros.json"), encoding="utf-8") as f:
        texts = {e["id"]: e["text"] for e in json.load(f)}
    out = []
    for name in sorted(os.listdir(os.path.join(base, "intros"))):
        stem, ext = os.path.splitext(name)
        if stem in texts and ext in (".mp4", ".webm", ".mov", ".mkv"):
            out.append((stem, os.path.join(base, "intros", name),
                        texts[stem]))
    return out


def engines():
    """[(engine name, extra driver arguments or None, why not)]."""
    out = [("pocketsphinx", [], None)]
    url = os.environ.get("INTROEVAL_BENCH_WHISPER_URL")
    out.append(("whisper_http", ["--url", url] if url else None,
                "no whisper.cpp server (set INTROEVAL_BENCH_WHISPER_URL)"))
    url = os.environ.get("INTROEVAL_BENCH_OPENAI_URL")
    args = None
    if url:
        args = ["--url", url]
        if os.environ.get("INTROEVAL_BENCH_OPENAI_MODEL"):
            args += ["--model", os.environ["INTROEVAL_BENCH_OPENAI_MODEL"]]
        if os.environ.get("INTROEVAL_BENCH_OPENAI_KEY"):
            args += ["--api-key", os.environ["INTROEVAL_BENCH_OPENAI_KEY"]]
    out.append(("openai_http", args, "no OpenAI-compatible server (set "
                "INTROEVAL_BENCH_OPENAI_URL)"))
    return out


def transcribe(engine, extra, files, driver=None, pin=True):
    """Runs the driver; returns (header line, {path: result line}).

    pin: PocketSphinx on core 0 only, for steady speed figures (the test
    suite, which only scores words, lets it run on any core).
    """
    driver = driver or os.path.join(build_dir(), "bench_wer")
    argv = [driver, "--engine", engine] + extra + files
    if pin and engine == "pocketsphinx" and shutil.which("taskset"):
        argv = ["taskset", "-c", "0"] + argv
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv),
                                                   p.returncode, p.stderr))
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return lines[0], {x["file"]: x for x in lines[1:]}


def score(engine, extra, fx, driver=None, pin=True):
    """Transcribes the fixtures; returns a dict of figures and per-file."""
    head, results = transcribe(engine, extra, [p for _, p, _ in fx], driver,
                               pin)
    per_file, errors, ref_words, audio, decode = {}, 0, 0, 0.0, 0.0
    for ident, path, truth in fx:
        r = results.get(path)
        if not r or not r.get("ok"):
            raise RuntimeError("%s: %s failed: %s" % (
                engine, ident, r.get("error") if r else "no answer"))
        rate, e, n = wer(truth, r["text"])
        per_file[ident] = {"wer": rate, "text": r["text"]}
        errors += e
        ref_words += n
        audio += r["audio_s"]
        decode += r["decode_s"]
    rates = [v["wer"] for v in per_file.values()]
    return {"engine": engine, "files": per_file,
            "mean_wer": sum(rates) / len(rates),
            "pooled_wer": errors / ref_words,
            "rtf": audio / decode if decode > 0 else 0.0,
            "audio_s": audio, "decode_s": decode,
            "load_s": head.get("load_s", 0.0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", action="append",
                    help="only this engine (repeatable)")
    ap.add_argument("--json", action="store_true",
                    help="also print every transcript as JSON on stderr")
    args = ap.parse_args()
    fx = fixtures()
    if not fx:
        print("wer: no fixtures under %s" % shared_dir(), file=sys.stderr)
        return 1
    for name, extra, why_not in engines():
        if args.engine and name not in args.engine:
            continue
        if extra is None:
            print("%s: not measured: %s; the stand-in in tests/fakes/ "
                  "answers canned text, so it has no word error rate" % (
                      name, why_not))
            continue
        print("wer: %s on %d files" % (name, len(fx)), file=sys.stderr)
        s = score(name, extra, fx)
        for ident, v in s["files"].items():
            print("%s_wer_%s=%.3f" % (name, ident, v["wer"]))
            if args.json:
                print(json.dumps({"engine": name, "id": ident, **v}),
                      file=sys.stderr)
        print("%s_mean_wer=%.3f" % (name, s["mean_wer"]))
        print("%s_pooled_wer=%.3f" % (name, s["pooled_wer"]))
        print("%s_rtf=%.2f" % (name, s["rtf"]))
        print("%s_load_s=%.2f" % (name, s["load_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
