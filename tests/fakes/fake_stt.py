#!/usr/bin/env python3
"""fake_stt: a stand-in speech-to-text server for tests (stdlib only).

Speaks one of two public APIs (--api), with their field names and shapes:

  whisper  whisper.cpp's server (examples/server): POST /inference with
           multipart/form-data fields file, response_format (json,
           verbose_json, text, srt, vtt), temperature; GET /health
  openai   OpenAI's POST /v1/audio/transcriptions with multipart fields
           file, model, response_format, timestamp_granularities[]
           (word, segment); GET /v1/models; Bearer keys with --api-key

The multipart body is parsed and checked as the real server would (a
missing or unreadable file, a bad field value get the server's own error
answer). The transcript is fixed (--text, --transcript-file or /_control);
its times come from the text and the uploaded WAV's length: one segment
per sentence, words spread over the audio in proportion to their length,
a pause at each sentence end. A verbose_json answer has the real shape:
whisper.cpp's "words" are decoder tokens (" Hello", ",", " prog",
"ramming") with "probability" and times in seconds; OpenAI's are whole
words without punctuation, at the top level, next to "segments".

Faults for tests (--fault, or at runtime through POST /_control):
  none, 503 (the server is busy), 503-once, timeout (no answer until the
  client gives up), garbage (a body that is not JSON, status 200), cut
  (the connection closes in the middle of the body), error (the server's
  own error answer: whisper.cpp's HTTP 200 {"error": "failed to read
  audio data"}, OpenAI's 400), refuse-once (the first request's
  connection closes without an answer). A "-once" fault re-arms when it
  is set again.
POST /_control takes {"fault", "latency_ms", "max_concurrent", "text",
"word_times"} (any subset) and answers with the settings and the number of
transcriptions in flight ("active"). "word_times": false answers without
word times: whisper.cpp's tokens without "start"/"end" (token timestamps
off), OpenAI's answer without "words". A request whose client disconnects
while it waits is dropped and logged with status 499.

--max-concurrent N: a transcription beyond N at once is answered 503
(whisper) or 429 (openai) at once. --serial makes transcriptions wait
their turn instead, as whisper.cpp's server does (a global mutex).

--log FILE appends one JSON line per request: start and end wall-clock
times, method, path, api, status, fault, upload bytes, audio seconds,
model, seconds spent waiting for the --serial lock, and the number of
transcriptions in flight when it started ("concurrency", itself included).
"""

import argparse
import hashlib
import io
import json
import math
import re
import select
import socket
import sys
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("none", "503", "503-once", "timeout", "garbage", "cut", "error",
          "refuse-once")
APIS = ("whisper", "openai")
UPLOAD_MAX = 100 * 1024 * 1024
TIMEOUT_HOLD_S = 3600
DEFAULT_TEXT = "Hello, this is a test of the speech server."
GARBAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"
WHISPER_FORMATS = ("json", "verbose_json", "text", "srt", "vtt")
OPENAI_FORMATS = ("json", "verbose_json", "text", "srt", "vtt")
OPENAI_BUSY = "The server is overloaded or not ready yet."
OPENAI_RATE = ("Rate limit reached for requests. Limit: %d concurrent "
               "requests.")


class Part:
    """One field of a multipart/form-data body."""

    def __init__(self, data, filename, content_type):
        self.data = data
        self.filename = filename
        self.content_type = content_type

    def text(self):
        return self.data.decode("utf-8", "replace")


def parse_multipart(content_type, body):
    """Returns {name: [Part, ...]}; ValueError if the body is malformed."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("Content-Type is not multipart/form-data")
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError("multipart/form-data without a boundary")
    chunks = body.split(b"--" + m.group(1).encode("latin-1"))
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("multipart body without its closing boundary")
    out = {}
    for raw in chunks[1:-1]:
        if not raw.startswith(b"\r\n") or not raw.endswith(b"\r\n"):
            raise ValueError("multipart part not framed by CRLF")
        head, sep, data = raw[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without headers")
        headers = {}
        for line in head.split(b"\r\n"):
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        cd = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', cd)
        fname = re.search(r'\bfilename="([^"]*)"', cd)
        if not cd.startswith("form-data") or not name:
            raise ValueError("multipart part without form-data name")
        out.setdefault(name.group(1), []).append(
            Part(data, fname.group(1) if fname else None,
                 headers.get("content-type")))
    return out


def wav_seconds(data):
    """The length of a PCM WAV file; ValueError if it is not one."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getframerate() <= 0:
                raise ValueError("no sample rate")
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError) as e:
        raise ValueError(str(e)) from e


def unit(s, salt=""):
    """A deterministic number in [0, 1) from a string."""
    h = hashlib.sha256((salt + "\0" + s).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2.0 ** 64


def plan(text, duration):
    """Splits text into timed segments (one per sentence) and words.

    Returns [{"text", "start", "end", "words": [(raw, start, end)]}]:
    the words take the audio in proportion to their length, after a
    short lead-in and before a short tail, with a pause between
    sentences (dropped when the audio is too short for them)."""
    sentences = [s.strip() for s in re.findall(r"[^.!?]+[.!?]*", text)]
    sentences = [s.split() for s in sentences if s.split()]
    if not sentences or duration <= 0:
        return []
    edge = min(0.4, duration * 0.05)
    pause = 0.5
    weights = [[len(re.sub(r"\W", "", w)) + 2 for w in s] for s in sentences]
    total = float(sum(sum(w) for w in weights))
    avail = duration - 2 * edge - pause * (len(sentences) - 1)
    if avail < duration * 0.5:
        pause = 0.0
        avail = duration - 2 * edge
    t, out = edge, []
    for words, ws in zip(sentences, weights):
        seg = {"text": " " + " ".join(words), "start": t, "words": []}
        for w, weight in zip(words, ws):
            d = avail * weight / total
            seg["words"].append((w, t, t + d * 0.85))
            t += d
        seg["end"] = t
        out.append(seg)
        t += pause
    return out


def cs(t):
    """Seconds rounded to whisper.cpp's 10 ms steps."""
    return round(t, 2)


def whisper_tokens(raw, start, end):
    """Splits a word as a BPE tokenizer might: " Hello" ",", or
    " prog" "ramming" for a long word; punctuation tokens take no time."""
    m = re.match(r"^(.*?)([.,!?;:]*)$", raw)
    core, trail = m.group(1), m.group(2)
    pieces = [" " + core] if len(core) <= 6 else [" " + core[:4], core[4:]]
    out, t, n = [], start, float(len(core) or 1)
    for p in pieces:
        d = (end - start) * len(p.strip()) / n
        out.append((p, t, t + d))
        t += d
    for ch in trail:
        out.append((ch, end, end))
    return out


def openai_word(raw):
    """OpenAI's word: no punctuation around it, inner apostrophes kept."""
    return re.sub(r"^[^\w']+|[^\w']+$", "", raw)


class State:
    """Server-wide settings and counters, shared by handler threads."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.serial_lock = threading.Lock()
        self.api = args.api
        self.api_key = args.api_key
        self.models = args.model or []
        self.latency_ms = args.latency_ms
        self.max_concurrent = args.max_concurrent
        self.serial = args.serial
        self.fault = args.fault
        self.fired = False       # a "-once" fault has struck
        self.word_times = True
        self.active = 0
        self.log_path = args.log
        if args.transcript_file:
            with open(args.transcript_file, encoding="utf-8") as f:
                self.text = f.read().strip()
        elif args.text is not None:
            self.text = args.text
        else:
            self.text = DEFAULT_TEXT

    def settings(self):
        return {"api": self.api, "fault": self.fault,
                "latency_ms": self.latency_ms,
                "max_concurrent": self.max_concurrent, "text": self.text,
                "word_times": self.word_times, "serial": self.serial,
                "active": self.active}

    def control(self, body):
        with self.lock:
            if "fault" in body:
                if body["fault"] not in FAULTS:
                    raise ValueError("unknown fault %r" % body["fault"])
                self.fault = body["fault"]
                self.fired = False
            for key in ("latency_ms", "max_concurrent"):
                if key in body:
                    setattr(self, key, int(body[key]))
            if "text" in body:
                self.text = str(body["text"])
            if "word_times" in body:
                self.word_times = bool(body["word_times"])
            return self.settings()

    def take_fault(self):
        """The fault for this request; a "-once" fault strikes once."""
        with self.lock:
            f = self.fault
            if f.endswith("-once"):
                if self.fired:
                    return "none"
                self.fired = True
            return f

    def log(self, rec):
        if not self.log_path:
            return
        line = json.dumps(rec) + "\n"
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-stt/1.0"
    state = None  # set in main()

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > UPLOAD_MAX:
                    raise ValueError("upload too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > UPLOAD_MAX:
            raise ValueError("upload too large")
        return self.rfile.read(n) if n else b""

    def release(self):
        """The request stops counting as in flight: just before its
        answer goes out, so a client's next request never finds it."""
        if getattr(self, "counted", False):
            with self.state.lock:
                self.state.active -= 1
            self.counted = False

    def send_body(self, status, data, ctype):
        # The log's "end": before the answer goes out, so a logged call
        # never reaches past the moment its client learnt it was over.
        if self.done_at is None:
            self.done_at = time.time()
        self.release()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.status = status

    def send_json(self, status, obj):
        # whisper.cpp's nlohmann::json dump(-1): no spaces.
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_body(status, data, "application/json")

    def send_text(self, status, text, ctype="text/plain; charset=utf-8"):
        self.send_body(status, text.encode("utf-8"), ctype)

    def openai_error(self, status, message, etype="invalid_request_error",
                     param=None, code=None):
        self.send_json(status, {"error": {"message": message, "type": etype,
                                          "param": param, "code": code}})

    def drop(self):
        """Closes the connection without a byte of answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cut(self, status, data, ctype):
        """Promises the whole body, sends half of it and hangs up."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.status = status
        self.drop()

    def wait_client(self, seconds):
        """Sleeps, but returns False early if the client disconnects."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return True
            r, _, _ = select.select([self.connection], [], [], left)
            if not r:
                return True
            try:
                if self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return False
            except OSError:
                return False
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def dispatch(self, method):
        st = self.state
        self.status = 0
        self.fault_used = "none"
        self.bytes = 0
        self.audio_s = None
        self.model = None
        self.waited_s = 0.0
        start = time.time()
        self.done_at = None
        path = self.path.split("?")[0]
        counted = method == "POST" and path == (
            "/inference" if st.api == "whisper"
            else "/v1/audio/transcriptions")
        with st.lock:
            if counted:
                st.active += 1
            concurrency = st.active
        self.counted = counted
        try:
            self.route(method, path, counted, concurrency)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.release()
            end = self.done_at if self.done_at is not None else time.time()
            st.log({"start": start, "end": end, "method": method,
                    "path": self.path, "api": st.api, "status": self.status,
                    "fault": self.fault_used, "bytes": self.bytes,
                    "audio_s": self.audio_s, "model": self.model,
                    "waited_s": round(self.waited_s, 3),
                    "concurrency": concurrency})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    # ---- routes ---------------------------------------------------------

    def route(self, method, path, counted, concurrency):
        st = self.state
        if method == "POST" and path == "/_control":
            try:
                body = json.loads(self.read_body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                self.send_json(200, st.control(body))
            except (ValueError, TypeError) as e:
                self.send_json(400, {"error": str(e)})
        elif counted:
            self.transcription(concurrency)
        elif method == "GET" and st.api == "whisper" and path == "/health":
            self.send_json(200, {"status": "ok"})
        elif method == "GET" and st.api == "whisper" and path == "/":
            self.send_text(200, "<html><body><h1>Whisper.cpp Server</h1>"
                           "</body></html>", "text/html")
        elif method == "GET" and st.api == "openai" and path == "/v1/models":
            if self.authorized():
                self.send_json(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 1677610602,
                     "owned_by": "fake-stt"}
                    for m in (st.models or ["whisper-1"])]})
        elif st.api == "whisper":
            self.send_text(404, "File Not Found (%s)" % path)
        else:
            self.openai_error(404, "Invalid URL (%s %s)" % (method, path))

    def authorized(self):
        st = self.state
        if not st.api_key:
            return True
        auth = self.headers.get("Authorization", "")
        if auth == "Bearer " + st.api_key:
            return True
        if not auth:
            msg = ("You didn't provide an API key. You need to provide your "
                   "API key in an Authorization header using Bearer auth "
                   "(i.e. Authorization: Bearer YOUR_KEY).")
        else:
            key = auth.split(" ", 1)[-1]
            msg = ("Incorrect API key provided: %s. You can find your API "
                   "key at https://platform.openai.com/account/api-keys."
                   % (key[:3] + "*" * max(0, len(key) - 7) + key[-4:]))
        self.openai_error(401, msg, code="invalid_api_key")
        return False

    def transcription(self, concurrency):
        st = self.state
        whisper = st.api == "whisper"
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            if whisper:
                self.send_text(413, "Payload Too Large")
            else:
                self.openai_error(413, "Maximum content size limit "
                                  "exceeded.")
            return
        self.bytes = len(body)
        if not whisper and not self.authorized():
            return
        with st.lock:
            busy = st.max_concurrent > 0 and concurrency > st.max_concurrent
            latency = st.latency_ms
        if busy:
            if whisper:
                self.send_json(503, {"error": "server busy: %d inferences "
                                     "running" % (concurrency - 1)})
            else:
                self.openai_error(429, OPENAI_RATE % st.max_concurrent,
                                  etype="requests",
                                  code="rate_limit_exceeded")
            return
        fault = st.take_fault()
        self.fault_used = fault
        if fault == "refuse-once":
            self.drop()
            return
        if fault in ("503", "503-once"):
            if whisper:
                self.send_json(503, {"error": "server busy, try again "
                                     "later"})
            else:
                self.openai_error(503, OPENAI_BUSY, etype="server_error")
            return
        try:
            fields = parse_multipart(self.headers.get("Content-Type", ""),
                                     body)
        except ValueError as e:
            if whisper:
                self.send_text(400, "Invalid request")
            else:
                self.openai_error(400, "Could not parse multipart form: %s"
                                  % e)
            return
        answer = (self.whisper_answer if whisper
                  else self.openai_answer)(fields)
        if answer is None:
            return    # an error answer was sent
        if st.serial:
            t0 = time.monotonic()
            st.serial_lock.acquire()
            self.waited_s = time.monotonic() - t0
        try:
            self.deliver(answer, fault, latency)
        finally:
            if st.serial:
                st.serial_lock.release()

    def deliver(self, answer, fault, latency):
        """Waits the latency, then sends the answer or the fault."""
        status, data, ctype = answer
        if not self.wait_client(latency / 1000.0):
            self.status = 499    # the client gave up, as nginx logs it
            self.close_connection = True
            return
        if fault == "timeout":
            self.wait_client(TIMEOUT_HOLD_S)
            self.status = 499
            self.close_connection = True
            return
        if fault == "garbage":
            self.send_body(200, GARBAGE, "text/html")
        elif fault == "cut":
            self.cut(status, data, ctype)
        elif fault == "error" and self.state.api == "whisper":
            # whisper.cpp reports this with status 200.
            self.send_json(200, {"error": "failed to read audio data"})
        elif fault == "error":
            self.openai_error(400, "Audio file might be corrupted or "
                              "unsupported", param="file")
        else:
            self.send_body(status, data, ctype)

    # ---- the two APIs ---------------------------------------------------

    def whisper_answer(self, fields):
        """(status, body, content type) of /inference, or None after an
        error answer (whisper.cpp's own errors use status 200)."""
        st = self.state
        if "file" not in fields:
            self.send_json(200, {"error": "no 'file' field in the request"})
            return None
        try:
            self.audio_s = wav_seconds(fields["file"][0].data)
        except ValueError:
            self.send_json(200, {"error": "failed to read audio data"})
            return None
        fmt = fields.get("response_format", [Part(b"json", None, None)])
        fmt = fmt[0].text()
        try:
            temperature = float(fields.get(
                "temperature", [Part(b"0.0", None, None)])[0].text())
        except ValueError:
            self.send_text(500, "500 Internal Server Error\nstof")
            return None
        with st.lock:
            text, word_times = st.text, st.word_times
        segs = plan(text, self.audio_s)
        full = "".join(s["text"] + "\n" for s in segs)
        if fmt == "verbose_json":
            obj = self.whisper_verbose(segs, full, temperature, word_times)
            return 200, json.dumps(obj, separators=(",", ":")).encode(), \
                "application/json"
        if fmt == "text":
            return 200, full.encode(), "text/html; charset=utf-8"
        if fmt in ("srt", "vtt"):
            return 200, subtitles(segs, fmt).encode(), (
                "application/x-subrip" if fmt == "srt" else "text/vtt")
        # whisper.cpp answers any other format as "json".
        return 200, json.dumps({"text": full}).encode(), "application/json"

    def whisper_verbose(self, segs, full, temperature, word_times):
        out = {"task": "transcribe", "language": "english",
               "duration": self.audio_s, "text": full, "segments": [],
               "detected_language": "english",
               "detected_language_probability": 0.97,
               "language_probabilities": {"en": 0.97, "cy": 0.01}}
        for i, s in enumerate(segs):
            seg = {"id": i, "text": s["text"], "start": cs(s["start"]),
                   "end": cs(s["end"]), "tokens": [], "words": []}
            total = 0.0
            for raw, ws, we in s["words"]:
                for tok, ts, te in whisper_tokens(raw, ws, we):
                    p = round(0.55 + 0.44 * unit(tok, "p"), 6)
                    seg["tokens"].append(int(unit(tok, "id") * 50000))
                    word = {"word": tok}
                    if word_times:
                        word.update({"start": cs(ts), "end": cs(te),
                                     "t_dtw": -1})
                    word["probability"] = p
                    seg["words"].append(word)
                    total += math.log(p)
            seg["temperature"] = temperature
            seg["avg_logprob"] = total / max(1, len(seg["words"]))
            seg["no_speech_prob"] = round(0.02 * unit(s["text"], "ns"), 6)
            out["segments"].append(seg)
        return out

    def openai_answer(self, fields):
        """(status, body, content type) of /v1/audio/transcriptions, or
        None after an error answer."""
        st = self.state
        if "file" not in fields or fields["file"][0].filename is None:
            self.openai_error(400, "Missing required parameter: 'file'.",
                              param="file")
            return None
        if "model" not in fields or not fields["model"][0].text():
            self.openai_error(400, "Missing required parameter: 'model'.",
                              param="model")
            return None
        self.model = fields["model"][0].text()
        if st.models and self.model not in st.models:
            self.openai_error(404, "The model `%s` does not exist or you do "
                              "not have access to it." % self.model,
                              code="model_not_found")
            return None
        fmt = fields.get("response_format", [Part(b"json", None, None)])
        fmt = fmt[0].text()
        if fmt not in OPENAI_FORMATS:
            self.openai_error(400, "'%s' is not one of %s - "
                              "'response_format'" % (fmt, list(
                                  OPENAI_FORMATS)), param="response_format")
            return None
        gran = [p.text() for p in fields.get("timestamp_granularities[]",
                                              [])]
        bad = [g for g in gran if g not in ("word", "segment")]
        if bad:
            self.openai_error(400, "'%s' is not one of ['word', 'segment'] - "
                              "'timestamp_granularities.0'" % bad[0],
                              param="timestamp_granularities")
            return None
        if gran and fmt != "verbose_json":
            self.openai_error(400, "timestamp_granularities requires "
                              "response_format=verbose_json",
                              param="timestamp_granularities")
            return None
        try:
            self.audio_s = wav_seconds(fields["file"][0].data)
        except ValueError:
            self.openai_error(400, "Invalid file format. Supported formats: "
                              "['flac', 'm4a', 'mp3', 'mp4', 'mpeg', "
                              "'mpga', 'oga', 'ogg', 'wav', 'webm']",
                              param="file")
            return None
        with st.lock:
            text, word_times = st.text, st.word_times
        segs = plan(text, self.audio_s)
        full = " ".join(s["text"].strip() for s in segs)
        usage = {"type": "duration", "seconds": math.ceil(self.audio_s)}
        if fmt == "verbose_json":
            obj = {"task": "transcribe", "language": "english",
                   "duration": round(self.audio_s, 2), "text": full}
            if "word" in gran and word_times:
                obj["words"] = [{"word": openai_word(raw), "start": cs(ws),
                                 "end": cs(we)}
                                for s in segs for raw, ws, we in s["words"]
                                if openai_word(raw)]
            if "segment" in gran or not gran:
                obj["segments"] = [self.openai_segment(i, s)
                                   for i, s in enumerate(segs)]
            obj["usage"] = usage
            return 200, json.dumps(obj).encode(), "application/json"
        if fmt == "json":
            return 200, json.dumps({"text": full, "usage": usage}).encode(), \
                "application/json"
        if fmt == "text":
            return 200, (full + "\n").encode(), "text/plain; charset=utf-8"
        return 200, subtitles(segs, fmt).encode(), "text/plain; charset=utf-8"

    @staticmethod
    def openai_segment(i, s):
        probs = [0.55 + 0.44 * unit(raw, "p") for raw, _, _ in s["words"]]
        return {"id": i, "seek": 0, "start": cs(s["start"]),
                "end": cs(s["end"]), "text": s["text"],
                "tokens": [int(unit(raw, "id") * 50000)
                           for raw, _, _ in s["words"]],
                "temperature": 0.0,
                "avg_logprob": sum(math.log(p) for p in probs) / len(probs),
                "compression_ratio": 1.2,
                "no_speech_prob": round(0.02 * unit(s["text"], "ns"), 6)}


def subtitles(segs, fmt):
    def stamp(t, sep):
        ms = int(round(t * 1000))
        return "%02d:%02d:%02d%s%03d" % (ms // 3600000, ms // 60000 % 60,
                                          ms // 1000 % 60, sep, ms % 1000)
    out = ["WEBVTT\n"] if fmt == "vtt" else []
    sep = "." if fmt == "vtt" else ","
    for i, s in enumerate(segs):
        head = "" if fmt == "vtt" else "%d\n" % (i + 1)
        out.append("%s%s --> %s\n%s\n" % (head, stamp(s["start"], sep),
                                          stamp(s["end"], sep), s["text"]))
    return "\n".join(out)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080,
                    help="0 picks a free port")
    ap.add_argument("--api", choices=APIS, default="whisper")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--text", help="the transcript every answer gives")
    src.add_argument("--transcript-file",
                     help="a UTF-8 text file holding the transcript")
    ap.add_argument("--model", action="append",
                    help="openai: an accepted model (repeatable; default: "
                    "any)")
    ap.add_argument("--api-key", help="openai: the Bearer key required")
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="delay before each answer")
    ap.add_argument("--max-concurrent", type=int, default=0,
                    help="transcriptions served at once (0: no limit)")
    ap.add_argument("--serial", action="store_true",
                    help="one transcription at a time, the others wait "
                    "(whisper.cpp's behaviour)")
    ap.add_argument("--fault", choices=FAULTS, default="none")
    ap.add_argument("--log", help="append one JSON line per request")
    args = ap.parse_args(argv)
    Handler.state = State(args)
    srv = Server((args.host, args.port), Handler)
    host, port = srv.server_address[:2]
    print("listening on http://%s:%d" % (host, port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
