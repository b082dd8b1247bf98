#!/usr/bin/env python3
"""fake_ollama: a stand-in Ollama server for tests (standard library only).

Speaks the parts of Ollama's HTTP API that IntroEval uses, with the same
field names and shapes:

  POST /api/generate, POST /api/chat   streaming NDJSON (the default) or one
                                       JSON object with "stream": false
  GET  /api/tags, GET /api/ps, GET /api/version, POST /api/show, GET /

Answers are deterministic and derived from the prompt. With "format" set
to a JSON schema the answer is a JSON value valid against that schema,
serialised and streamed a few characters per chunk; "format": "json"
gives some JSON object; no format gives plain text. An empty prompt loads
the model, and with "keep_alive": 0 unloads it (done_reason "unload").

Faults for tests (--fault, or at runtime through POST /_control):
  none, error-midstream, cut, garbage, http500,
  invalid-json-once (the first answer with a schema "format" breaks the
    schema; setting the fault again re-arms it), invalid-json (every
    such answer breaks it),
  no-done (the stream ends cleanly without a "done": true chunk),
  busy (every model request answers 503 with Ollama's "server busy").
--latency-per-call-ms M adds M to the delay for every other model request
in flight when one starts (a GPU shared by more calls answers each later:
latency_ms + M * (concurrency - 1)).
POST /_control takes {"fault", "latency_ms", "latency_per_call_ms",
"token_ms", "max_concurrent", "models", "score", "load_ms", "unload_ms",
"answer"} (any subset) and answers with the settings and the number of
model requests in flight ("active"). "answer" (any JSON value; null:
none) is what every answer with a schema "format" says instead of a
generated value, serialised and streamed the same way (a test chooses
what the model understood). A
request whose client disconnects during the latency wait is dropped and
logged with status 499.

--score N makes every integer in a schema answer N (clamped to the
schema's bounds), so tests can make two models agree or disagree.
A schema string whose "description" asks for a quote copied "word for
word" is answered as a model would: three to eight consecutive words
of the text between the prompt's first two triple quotes (the transcript).
--quotes invented (or "quotes" through /_control) answers such strings
with words that are not in the prompt, as a model that makes a quote up.
--load-ms: a model that is not loaded (at start, or after keep_alive 0)
takes this long to load on its first request; requests arriving during
the load wait for it, as Ollama's do. --unload-ms: after keep_alive 0 the
model stays listed in /api/ps this long (Ollama frees memory
asynchronously), so clients must poll. The first request after an unload
pays the whole load again (starting once the memory is freed, if it
comes sooner), and an unload of a model that is not loaded costs nothing
(Ollama expires the runner without loading it).

--log FILE appends one JSON line per request: start and end wall-clock
times, method, path, model, status, fault and the number of model
requests in flight when it started ("concurrency", itself included), and
"kind": "load"/"unload" for an empty-prompt request, else null.
"""

import argparse
import hashlib
import json
import re
import select
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("none", "error-midstream", "cut", "garbage", "invalid-json-once",
          "invalid-json", "http500", "no-done", "busy")
BUSY = "server busy, please try again.  maximum pending requests exceeded"
MIDSTREAM_ERROR = ("an error was encountered while running the model: "
                   "unexpected EOF")
HTTP500_ERROR = "llama runner process has terminated: exit status 2"
QUOTES = ("verbatim", "invented")
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
FILLER = ("clear", "steady", "confident", "brief", "friendly", "calm",
          "natural", "specific")


def now_rfc3339():
    t = time.time()
    base = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return "%s.%09dZ" % (base, int((t % 1) * 1e9))


def canonical(name):
    """Ollama names without a tag mean ":latest"."""
    return name if ":" in name else name + ":latest"


class Rng:
    """Deterministic choices from a hash of the request."""

    def __init__(self, seed_text):
        self.seed = seed_text.encode("utf-8", "surrogatepass")
        self.n = 0

    def next(self, bound):
        self.n += 1
        h = hashlib.sha256(self.seed + b"/" + str(self.n).encode()).digest()
        return int.from_bytes(h[:8], "big") % max(bound, 1)


class Generator:
    """Builds answers from a prompt: schema-valid JSON or plain text."""

    def __init__(self, prompt, model, score=None, quotes="verbatim"):
        self.rng = Rng(model + "\0" + prompt)
        words = WORD_RE.findall(prompt)
        self.words = words or ["nothing"]
        self.score = score
        self.quotes = quotes
        parts = prompt.split('"""')
        self.quoted = (parts[1].split() if len(parts) >= 3 else []) \
            or prompt.split() or ["nothing"]

    def quote(self):
        if self.quotes == "invented":
            return "my favourite zeppelin collects purple volcanoes"
        n = 3 + self.rng.next(6)
        start = self.rng.next(max(1, len(self.quoted) - n + 1))
        return " ".join(self.quoted[start:start + n])

    def word(self):
        return self.words[self.rng.next(len(self.words))]

    def sentence(self):
        a, b = self.word(), self.word()
        tone = FILLER[self.rng.next(len(FILLER))]
        return 'The speaker says "%s" and "%s" in a %s way.' % (a, b, tone)

    def text(self):
        return " ".join(self.sentence() for _ in range(3))

    def value(self, schema, depth=0):
        if not isinstance(schema, dict) or depth > 8:
            return self.sentence()
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            e = schema["enum"]
            return e[self.rng.next(len(e))]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.value(schema[key][0], depth + 1)
        t = schema.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        if t is None:
            t = "object" if "properties" in schema else "string"
        if t == "object":
            props = schema.get("properties") or {}
            return {k: self.value(v, depth + 1) for k, v in props.items()}
        if t == "array":
            lo = int(schema.get("minItems", 2))
            hi = int(schema.get("maxItems", max(lo, 3)))
            n = max(lo, min(hi, 2 + self.rng.next(2)))
            return [self.value(schema.get("items", {}), depth + 1)
                    for _ in range(n)]
        if t == "integer":
            lo = int(schema.get("minimum", 0))
            hi = int(schema.get("maximum", lo + 100))
            if self.score is not None:
                return max(lo, min(hi, int(self.score)))
            return lo + self.rng.next(hi - lo + 1)
        if t == "number":
            lo = float(schema.get("minimum", 0))
            hi = float(schema.get("maximum", lo + 100))
            return round(lo + (hi - lo) * self.rng.next(1001) / 1000, 3)
        if t == "boolean":
            return self.rng.next(2) == 1
        if t == "null":
            return None
        if "word for word" in str(schema.get("description", "")):
            return self.quote()
        return self.sentence()

    def content(self, fmt, spoil):
        """The whole answer as a string. spoil: break the schema once."""
        if isinstance(fmt, dict):
            v = self.value(fmt)
            if spoil:
                v = spoil_value(fmt, v)
            return json.dumps(v)
        if fmt == "json":
            return json.dumps({"answer": self.sentence(),
                               "words": len(self.words)})
        return self.text()


def spoil_value(schema, v):
    """Makes v invalid for schema: an integer above its maximum, else a
    required property removed, else a wrong type."""
    if isinstance(v, dict):
        for k, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and sub.get("type") == "object":
                v[k] = spoil_value(sub, v.get(k))
                return v
            if isinstance(sub, dict) and sub.get("type") == "integer":
                v[k] = int(sub.get("maximum", 100)) + 3
                return v
        req = schema.get("required") or list(v)
        if req:
            v.pop(req[0], None)
            return v
    return "not what the schema asked for"


def pieces(text, rng):
    """Splits text into small chunks, like tokens."""
    out, i = [], 0
    while i < len(text):
        n = 1 + rng.next(6)
        out.append(text[i:i + n])
        i += n
    return out


class State:
    """Server-wide settings and counters, shared by handler threads."""

    def __init__(self, args, canon=canonical, faults=FAULTS):
        self.lock = threading.Lock()
        self.canon = canon
        self.faults = faults
        self.models = [canon(m) for m in (args.model or ["llama3"])]
        self.latency_ms = args.latency_ms
        self.latency_per_call_ms = getattr(args, "latency_per_call_ms", 0)
        self.token_ms = args.token_ms
        self.max_concurrent = args.max_concurrent
        self.fault = args.fault
        self.spoiled = False
        self.active = 0
        self.score = args.score
        self.quotes = args.quotes
        self.load_ms = args.load_ms
        self.unload_ms = args.unload_ms
        self.answer = None        # a fixed schema answer, or None
        self.loaded = {}          # name -> expiry (epoch seconds)
        self.loading = {}         # name -> end of its load (epoch seconds)
        self.unloading = {}       # name -> when its memory is freed
        self.log_path = args.log
        self.started = time.time()

    def settings(self):
        return {"fault": self.fault, "latency_ms": self.latency_ms,
                "latency_per_call_ms": self.latency_per_call_ms,
                "token_ms": self.token_ms,
                "max_concurrent": self.max_concurrent,
                "models": list(self.models), "active": self.active,
                "score": self.score, "quotes": self.quotes,
                "load_ms": self.load_ms,
                "unload_ms": self.unload_ms, "answer": self.answer}

    def control(self, body):
        with self.lock:
            if "fault" in body:
                if body["fault"] not in self.faults:
                    raise ValueError("unknown fault %r" % body["fault"])
                self.fault = body["fault"]
                self.spoiled = False
            for key in ("latency_ms", "latency_per_call_ms", "token_ms",
                        "max_concurrent",
                        "load_ms", "unload_ms"):
                if key in body:
                    setattr(self, key, int(body[key]))
            if "score" in body:
                self.score = (None if body["score"] is None
                              else int(body["score"]))
            if "quotes" in body:
                if body["quotes"] not in QUOTES:
                    raise ValueError("unknown quotes %r" % body["quotes"])
                self.quotes = body["quotes"]
            if "models" in body:
                self.models = [self.canon(m) for m in body["models"]]
            if "answer" in body:
                self.answer = body["answer"]
            return self.settings()

    def log(self, rec):
        if not self.log_path:
            return
        line = json.dumps(rec) + "\n"
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-ollama/1.0"
    state = None  # set in main()
    model_paths = ("/api/generate", "/api/chat")  # counted as in flight

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
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def finishing(self):
        """Stamps the log's "end" just before the bytes that complete the
        answer go out: a client can act on the answer only after this,
        so a logged interval never reaches past the moment the client
        learnt the call was over (a stamp taken after the write could
        land after the client's next call began, on a busy machine)."""
        if self.done_at is None:
            self.done_at = time.time()

    def release(self):
        """The request stops counting as in flight. Called just before
        its last bytes go out: a client that starts its next request the
        moment this one ends must not find it still counted."""
        self.finishing()
        if getattr(self, "counted", False):
            with self.state.lock:
                self.state.active -= 1
            self.counted = False

    def send_json(self, status, obj):
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.finishing()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.release()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.status = status

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.status = 200

    def chunk(self, data):
        if isinstance(data, dict) and data.get("done"):
            self.finishing()
        if isinstance(data, dict):
            data = json.dumps(data, separators=(",", ":")) + "\n"
        raw = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
        self.wfile.flush()

    def end_stream(self):
        self.release()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self):
        """Drops the connection without ending the chunked body."""
        self.release()
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait_client(self, seconds):
        """Sleeps, but returns False early if the client disconnects
        (Ollama, too, cancels a request whose client has gone)."""
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
            time.sleep(max(0.0, end - time.monotonic()))
            return True

    def dispatch(self, method):
        st = self.state
        self.status = 0
        self.model = None
        self.fault_used = "none"
        self.kind = None
        self.done_at = None
        start = time.time()
        counted = self.path in self.model_paths
        with st.lock:
            if counted:
                st.active += 1
            concurrency = st.active
        self.counted = counted
        try:
            self.route(method, counted, concurrency)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.release()
            self.finishing()
            st.log({"start": start, "end": self.done_at, "method": method,
                    "path": self.path, "model": self.model,
                    "status": self.status, "fault": self.fault_used,
                    "concurrency": concurrency,
                    # "load" or "unload" for an empty prompt, else null
                    "kind": self.kind})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_HEAD(self):
        self.dispatch("HEAD")

    # ---- routes ---------------------------------------------------------

    def route(self, method, counted, concurrency):
        st = self.state
        body = {}
        if method == "POST":
            try:
                raw = self.read_body()
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.send_json(400, {"error": "invalid request body"})
                return
        path = self.path.split("?")[0]
        if method in ("GET", "HEAD") and path == "/":
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(data)
            self.status = 200
        elif method == "GET" and path == "/api/version":
            self.send_json(200, {"version": "0.6.5"})
        elif method == "GET" and path == "/api/tags":
            self.send_json(200, {"models": [model_info(m)
                                            for m in st.models]})
        elif method == "GET" and path == "/api/ps":
            self.send_json(200, {"models": self.running()})
        elif method == "POST" and path == "/api/show":
            self.show(body)
        elif method == "POST" and path == "/_control":
            try:
                self.send_json(200, st.control(body))
            except (ValueError, TypeError) as e:
                self.send_json(400, {"error": str(e)})
        elif method == "POST" and counted:
            self.model_request(path == "/api/chat", body, concurrency)
        else:
            self.send_json(404, {"error": "404 page not found"})

    def running(self):
        st, out, now = self.state, [], time.time()
        with st.lock:
            for name, expiry in sorted(st.loaded.items()):
                if expiry < now:
                    continue	# expired or freed: no longer listed
                info = model_info(name)
                info["expires_at"] = datetime.fromtimestamp(
                    expiry, timezone.utc).isoformat()
                info["size_vram"] = info["size"]
                out.append(info)
            for name in [n for n, e in st.loaded.items() if e < now]:
                del st.loaded[name]
        return out

    def show(self, body):
        name = canonical(str(body.get("model") or body.get("name") or ""))
        if name not in self.state.models:
            self.send_json(404, {"error": "model '%s' not found" % name})
            return
        info = model_info(name)
        self.send_json(200, {
            "modelfile": "FROM %s\n" % name, "parameters": "",
            "template": "{{ .Prompt }}", "details": info["details"],
            "model_info": {"general.architecture": "llama"},
            "capabilities": ["completion"],
            "modified_at": info["modified_at"]})

    def model_request(self, chat, body, concurrency):
        st = self.state
        name = body.get("model")
        self.model = name
        if not isinstance(name, str) or not name:
            self.send_json(400, {"error": "model is required"})
            return
        if canonical(name) not in st.models:
            self.send_json(404, {"error": 'model "%s" not found, try '
                                 'pulling it first' % name})
            return
        with st.lock:
            busy = st.max_concurrent > 0 and concurrency > st.max_concurrent
            busy = busy or st.fault == "busy"
            fault, latency, token_ms = st.fault, st.latency_ms, st.token_ms
            latency += st.latency_per_call_ms * max(concurrency - 1, 0)
            score, quotes = st.score, st.quotes
            fixed = st.answer
            spoil = False
            # Spoils the first schema-constrained answer (generate or chat).
            if fault == "invalid-json-once" and isinstance(
                    body.get("format"), dict):
                spoil = not st.spoiled
                st.spoiled = True
            elif fault == "invalid-json":
                spoil = isinstance(body.get("format"), dict)
        if busy:
            self.fault_used = "busy"
            self.send_json(503, {"error": BUSY})
            return
        self.fault_used = fault
        if chat:
            msgs = body.get("messages") or []
            prompt = "\n".join(str(m.get("content", "")) for m in msgs
                               if isinstance(m, dict))
        else:
            prompt = str(body.get("prompt") or "")
        t0 = time.monotonic()
        empty = (chat and not body.get("messages")) or (
            not chat and not prompt)
        if empty and keep_alive_seconds(body.get("keep_alive")) == 0:
            # Ollama expires the runner without loading it first.
            self.load_only(chat, name, body.get("keep_alive"), 0)
            return
        load_ns = self.load(name, body.get("keep_alive"))
        if empty:
            self.load_only(chat, name, body.get("keep_alive"), load_ns)
            return
        if not self.wait_client(latency / 1000.0):
            self.status = 499     # the client gave up, as nginx logs it
            self.close_connection = True
            return
        if fault == "http500":
            self.send_json(500, {"error": HTTP500_ERROR})
            return
        if fault == "garbage":
            data = b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.status = 200
            return
        gen = Generator(prompt, name, score, quotes)
        text = gen.content(body.get("format"), spoil)
        if fixed is not None and isinstance(body.get("format"), dict):
            text = json.dumps(fixed)
        toks = pieces(text, gen.rng)
        stats = {"prompt_eval_count": max(1, len(prompt.split())),
                 "eval_count": len(toks)}
        if body.get("stream", True) is False:
            self.answer_whole(chat, name, text, fault, stats, t0, load_ns,
                              token_ms)
        else:
            self.answer_stream(chat, name, toks, fault, stats, t0, load_ns,
                               token_ms)

    def load(self, name, keep_alive):
        """Loads the model if it is not (taking --load-ms, which requests
        arriving meanwhile share); returns the load time in ns."""
        st, key, t0 = self.state, canonical(name), time.time()
        with st.lock:
            start = t0
            if key in st.unloading:
                # Unloaded (keep_alive 0): still listed by /api/ps while
                # its memory is freed, but not loaded; the load starts
                # once the memory is free, and is paid in full.
                start = max(t0, st.unloading.pop(key))
                st.loaded.pop(key, None)
                st.loading.pop(key, None)
            was = key in st.loaded and st.loaded[key] >= t0
            until = st.loading.get(key, 0)
            if not was and until <= t0:
                until = start + st.load_ms / 1000.0
                st.loading[key] = until
            st.loaded[key] = max(until, t0) + keep_alive_seconds(keep_alive)
        if until > t0:
            time.sleep(until - t0)
        return max(1000, int((time.time() - t0) * 1e9))

    def load_only(self, chat, name, keep_alive, load_ns):
        st = self.state
        reason = "load"
        if keep_alive_seconds(keep_alive) == 0:
            with st.lock:
                key = canonical(name)
                # Listed by /api/ps until the memory is freed; the next
                # request loads it again (load() sees it in unloading).
                if key in st.loaded or key in st.loading:
                    freed = time.time() + st.unload_ms / 1000.0
                    st.unloading[key] = freed
                    if st.unload_ms > 0:
                        st.loaded[key] = freed
                    else:
                        st.loaded.pop(key, None)
                st.loading.pop(key, None)
            reason = "unload"
        self.kind = reason
        out = {"model": name, "created_at": now_rfc3339()}
        if chat:
            out["message"] = {"role": "assistant", "content": ""}
        else:
            out["response"] = ""
        out.update({"done_reason": reason, "done": True})
        if reason == "load":
            out["total_duration"] = load_ns
            out["load_duration"] = load_ns
        self.send_json(200, out)

    def final_chunk(self, chat, name, stats, t0, load_ns, eval_ns):
        out = {"model": name, "created_at": now_rfc3339()}
        if chat:
            out["message"] = {"role": "assistant", "content": ""}
        else:
            out["response"] = ""
        out["done"] = True
        out["done_reason"] = "stop"
        if not chat:
            out["context"] = [(hash_int(name) + i) % 32000 for i in range(8)]
        out.update({
            "total_duration": int((time.monotonic() - t0) * 1e9) + load_ns,
            "load_duration": load_ns,
            "prompt_eval_count": stats["prompt_eval_count"],
            "prompt_eval_duration": 1_000_000 * stats["prompt_eval_count"],
            "eval_count": stats["eval_count"],
            "eval_duration": max(eval_ns, 1000)})
        return out

    def part(self, chat, name, text):
        out = {"model": name, "created_at": now_rfc3339()}
        if chat:
            out["message"] = {"role": "assistant", "content": text}
        else:
            out["response"] = text
        out["done"] = False
        return out

    def answer_stream(self, chat, name, toks, fault, stats, t0, load_ns,
                      token_ms):
        self.start_stream()
        e0 = time.monotonic()
        # Stream faults strike after a few chunks (fewer for short answers).
        broken = fault in ("error-midstream", "cut", "no-done")
        limit = min(3, max(1, len(toks) // 2)) if broken else len(toks)
        for tok in toks[:limit]:
            self.chunk(self.part(chat, name, tok))
            if token_ms:
                time.sleep(token_ms / 1000.0)
        if fault == "error-midstream":
            self.chunk({"error": MIDSTREAM_ERROR})
            self.end_stream()
            return
        if fault == "cut":
            self.cut()
            return
        if fault == "no-done":
            self.end_stream()
            return
        eval_ns = int((time.monotonic() - e0) * 1e9)
        self.chunk(self.final_chunk(chat, name, stats, t0, load_ns, eval_ns))
        self.end_stream()

    def answer_whole(self, chat, name, text, fault, stats, t0, load_ns,
                     token_ms):
        if fault == "error-midstream":
            self.send_json(500, {"error": MIDSTREAM_ERROR})
            return
        if fault == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"model":')
            self.status = 200
            self.cut()
            return
        time.sleep(stats["eval_count"] * token_ms / 1000.0)
        eval_ns = int(stats["eval_count"] * token_ms * 1e6)
        out = self.final_chunk(chat, name, stats, t0, load_ns, eval_ns)
        if chat:
            out["message"]["content"] = text
        else:
            out["response"] = text
        if fault == "no-done":
            out["done"] = False
            out.pop("done_reason")
        self.send_json(200, out)


def keep_alive_seconds(v):
    """Ollama accepts a number of seconds or a duration such as "5m"."""
    if v is None:
        return 300
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(v))
    if not m:
        return 300
    n = float(m.group(1))
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def hash_int(s):
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:4], "big")


def model_info(name):
    digest = hashlib.sha256(name.encode()).hexdigest()
    family = name.split(":")[0].split("/")[-1].rstrip("0123456789.") or "llama"
    size = 1_000_000_000 + hash_int(name) % 4_000_000_000
    return {"name": name, "model": name,
            "modified_at": "2025-01-15T10:20:30.123456789Z",
            "size": size, "digest": digest,
            "details": {"parent_model": "", "format": "gguf",
                        "family": family, "families": [family],
                        "parameter_size": "%.1fB" % (size / 0.6e9),
                        "quantization_level": "Q4_K_M"}}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def arg_parser(doc):
    """The command line shared by the stand-ins."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=11434,
                    help="0 picks a free port")
    ap.add_argument("--model", action="append",
                    help="a served model (repeatable; default llama3)")
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="delay before the first token")
    ap.add_argument("--latency-per-call-ms", type=int, default=0,
                    help="extra delay per other model request in flight")
    ap.add_argument("--token-ms", type=int, default=0,
                    help="delay after each streamed chunk")
    ap.add_argument("--max-concurrent", type=int, default=0,
                    help="model requests served at once (0: no limit)")
    ap.add_argument("--fault", choices=FAULTS, default="none")
    ap.add_argument("--quotes", choices=QUOTES, default="verbatim",
                    help="evidence quotes: from the transcript or made up")
    ap.add_argument("--score", type=int,
                    help="every integer in a schema answer (clamped)")
    ap.add_argument("--load-ms", type=int, default=0,
                    help="time to load a model that is not loaded")
    ap.add_argument("--unload-ms", type=int, default=0,
                    help="time /api/ps still lists an unloaded model")
    ap.add_argument("--log", help="append one JSON line per request")
    return ap


def serve(handler, state, args):
    """Listens on --host/--port and prints the URL (port 0: a free one)."""
    handler.state = state
    srv = Server((args.host, args.port), handler)
    host, port = srv.server_address[:2]
    print("listening on http://%s:%d" % (host, port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


def main(argv=None):
    args = arg_parser(__doc__).parse_args(argv)
    serve(Handler, State(args), args)


if __name__ == "__main__":
    sys.exit(main())
