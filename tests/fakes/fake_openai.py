#!/usr/bin/env python3
"""fake_openai: a stand-in OpenAI-compatible server (llama.cpp, vLLM,
LM Studio) for tests; standard library only.

Speaks the parts of the OpenAI API that IntroEval uses, with the same
field names and shapes:

  GET  /v1/models              {"object": "list", "data": [{"id", ...}]}
  POST /v1/chat/completions    server-sent events with "stream": true
                               (chat.completion.chunk objects, a usage
                               chunk when stream_options.include_usage,
                               then "data: [DONE]"), else one
                               chat.completion object
  GET  /health                 llama.cpp's {"status": "ok"}

Answers come from fake_ollama's generator: with "response_format"
{"type": "json_schema", "json_schema": {"schema": ...}} a JSON value valid
against the schema, with {"type": "json_object"} some JSON object, else
plain text. Model names are matched exactly (no ":latest").

Faults (--fault, or POST /_control, as in fake_ollama):
  none, error-midstream (`data: {"error": {...}}` after a few chunks, as
    OpenAI and vLLM send it), error-event (llama.cpp's `error: {...}`),
  cut (the connection drops mid-stream), garbage (an HTML page with
  status 200), http500, invalid-json-once, invalid-json, no-done (the stream ends with
  neither a finish_reason nor [DONE]), busy (503 "server busy").
Past --max-concurrent a request gets 429 with Retry-After: 1.
--score, --quotes, --latency-ms, --token-ms and --log work as in
fake_ollama.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_ollama as fo  # noqa: E402

FAULTS = fo.FAULTS + ("error-event",)
MIDSTREAM = {"message": "the model crashed while generating",
             "type": "server_error", "param": None, "code": 500}


def error_body(message, kind, code):
    return {"error": {"message": message, "type": kind, "param": None,
                      "code": code}}


class OpenAIHandler(fo.Handler):
    server_version = "fake-openai/1.0"
    model_paths = ("/v1/chat/completions",)

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
                self.send_json(400, error_body(
                    "invalid JSON body", "invalid_request_error", 400))
                return
        path = self.path.split("?")[0]
        if method == "GET" and path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000,
                 "owned_by": "fake"} for m in st.models]})
        elif method == "GET" and path == "/health":
            self.send_json(200, {"status": "ok"})
        elif method == "POST" and path == "/_control":
            try:
                self.send_json(200, st.control(body))
            except (ValueError, TypeError) as e:
                self.send_json(400, error_body(str(e), "invalid", 400))
        elif method == "POST" and counted:
            self.chat(body, concurrency)
        else:
            self.send_json(404, error_body("Not found: %s" % path,
                                           "invalid_request_error", 404))

    def chat(self, body, concurrency):
        st = self.state
        name = body.get("model")
        self.model = name
        if not isinstance(name, str) or name not in st.models:
            self.send_json(404, error_body(
                "The model `%s` does not exist." % name,
                "invalid_request_error", "model_not_found"))
            return
        fmt = response_format(body.get("response_format"))
        with st.lock:
            full = st.max_concurrent > 0 and concurrency > st.max_concurrent
            fault, latency, token_ms = st.fault, st.latency_ms, st.token_ms
            score, quotes, spoil = st.score, st.quotes, False
            if fault == "invalid-json-once" and isinstance(fmt, dict):
                spoil, st.spoiled = not st.spoiled, True
            elif fault == "invalid-json":
                spoil = isinstance(fmt, dict)
        if self.refuse(full, fault):
            return
        self.fault_used = fault
        if not self.wait_client(latency / 1000.0):
            self.status = 499
            self.close_connection = True
            return
        if fault == "http500":
            self.send_json(500, error_body("llama runner crashed",
                                           "server_error", 500))
            return
        if fault == "garbage":
            self.send_raw(200, "text/html",
                          b"<html><body><h1>502 Bad Gateway</h1></body>"
                          b"</html>\n")
            return
        prompt = "\n".join(str(m.get("content", ""))
                           for m in body.get("messages") or []
                           if isinstance(m, dict))
        gen = fo.Generator(prompt, name, score, quotes)
        text = gen.content(fmt, spoil)
        toks = fo.pieces(text, gen.rng)
        usage = {"prompt_tokens": max(1, len(prompt.split())),
                 "completion_tokens": len(toks),
                 "total_tokens": max(1, len(prompt.split())) + len(toks)}
        if body.get("stream"):
            want_usage = bool((body.get("stream_options") or {})
                              .get("include_usage"))
            self.stream(name, toks, fault, usage, want_usage, token_ms)
        else:
            time.sleep(len(toks) * token_ms / 1000.0)
            self.send_json(200, completion(name, text, usage))

    def refuse(self, full, fault):
        """429 past max_concurrent, 503 for the busy fault."""
        if fault == "busy":
            self.fault_used = "busy"
            self.send_json(503, error_body("server busy", "unavailable_error",
                                           503))
            return True
        if full:
            self.fault_used = "busy"
            data = json.dumps(error_body(
                "Rate limit reached: too many concurrent requests",
                "rate_limit_error", 429)).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.release()
            self.wfile.write(data)
            self.status = 429
            return True
        return False

    def send_raw(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.release()
        self.wfile.write(data)
        self.status = status

    def event(self, obj, field="data"):
        self.chunk("%s: %s\n\n" % (field, obj if isinstance(obj, str)
                                   else json.dumps(obj)))

    def stream(self, name, toks, fault, usage, want_usage, token_ms):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.status = 200
        self.chunk(": keep-alive\n\n")
        base = chunk_base(name)
        self.event(dict(base, choices=[{"index": 0, "delta": {
            "role": "assistant", "content": ""}, "finish_reason": None}]))
        broken = fault in ("error-midstream", "error-event", "cut", "no-done")
        limit = min(3, max(1, len(toks) // 2)) if broken else len(toks)
        for tok in toks[:limit]:
            self.event(dict(base, choices=[{"index": 0, "delta": {
                "content": tok}, "finish_reason": None}]))
            if token_ms:
                time.sleep(token_ms / 1000.0)
        if fault == "error-midstream":
            self.event({"error": MIDSTREAM})
            self.end_stream()
            return
        if fault == "error-event":
            self.event(dict(MIDSTREAM, code=500), field="error")
            self.end_stream()
            return
        if fault == "cut":
            self.cut()
            return
        if fault == "no-done":
            self.end_stream()
            return
        self.event(dict(base, choices=[{"index": 0, "delta": {},
                                        "finish_reason": "stop"}]))
        if want_usage:
            self.event(dict(base, choices=[], usage=usage))
        self.event("[DONE]")
        self.end_stream()


def response_format(rf):
    """The generator's format: a schema dict, "json", or None."""
    if not isinstance(rf, dict):
        return None
    if rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema") or {}
    if rf.get("type") == "json_object":
        return "json"
    return None


def chunk_base(name):
    return {"id": "chatcmpl-fake%d" % int(time.time() * 1000),
            "object": "chat.completion.chunk", "created": int(time.time()),
            "model": name, "system_fingerprint": "fp_fake_%s" % name}


def completion(name, text, usage):
    return {"id": "chatcmpl-fake%d" % int(time.time() * 1000),
            "object": "chat.completion", "created": int(time.time()),
            "model": name, "system_fingerprint": "fp_fake_%s" % name,
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": text},
                         "finish_reason": "stop"}],
            "usage": usage}


def main(argv=None):
    ap = fo.arg_parser(__doc__)
    for a in ap._actions:
        if a.dest == "fault":
            a.choices = FAULTS
    args = ap.parse_args(argv)
    fo.serve(OpenAIHandler, fo.State(args, canon=lambda m: m, faults=FAULTS),
             args)


if __name__ == "__main__":
    sys.exit(main())
