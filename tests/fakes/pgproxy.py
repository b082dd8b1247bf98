#!/usr/bin/env python3
"""pgproxy: a TCP proxy in front of PostgreSQL that injects faults.

Python 3 standard library only. It understands just enough of the
PostgreSQL v3 wire protocol to cut a connection at a chosen moment: the
start-up packet (an SSLRequest or GSSENCRequest is answered 'N', so the
client goes on in plain text), then typed messages (1 byte type, 4 byte
length that counts itself, body).

  pgproxy.py --upstream-unix /tmp/pg/.s.PGSQL.5432   (or --upstream-host H
             --upstream-port P) [--port 0] [--control-port 0]

prints one line, then serves until killed:

  pgproxy listening on http://127.0.0.1:CONTROL proxy_port=PORT

The control port speaks HTTP with JSON bodies:

  GET  /state       {"proxy_port", "connections", "armed", "dropped_after",
                     "dropped_all"}
  POST /drop-after  {"match": "INSERT INTO submissions"}
                    one shot: the next client message Parse ('P') or
                    Query ('Q') whose text contains match is forwarded;
                    every answer of the server after it is held back
                    until its ReadyForQuery ('Z'); then both sockets are
                    closed without forwarding any of it. The statement
                    committed, and the client never learns so.
                    "dropped_after" counts the times this happened.
  POST /drop-all    closes every open connection (both sides) now; new
                    connections are accepted as before.
"""

import argparse
import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


class Proxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.conns = set()
        self.match = None
        self.dropped_after = 0
        self.dropped_all = 0

    def connect_upstream(self):
        if isinstance(self.upstream, str):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(self.upstream)
        return s

    def take_match(self, text):
        """True once for the first statement text that contains match."""
        with self.lock:
            if self.match is not None and self.match in text:
                self.match = None
                return True
        return False

    def state(self):
        with self.lock:
            return {"connections": len(self.conns),
                    "armed": self.match is not None,
                    "dropped_after": self.dropped_after,
                    "dropped_all": self.dropped_all}

    def drop_all(self):
        with self.lock:
            conns = list(self.conns)
            self.dropped_all += 1
        for c in conns:
            c.close()


class Conn:
    """One client connection and its server connection."""

    def __init__(self, proxy, client):
        self.proxy = proxy
        self.client = client
        self.server = None
        self.doomed = False	# the answers are held back, then cut
        self.closed = False
        self.lock = threading.Lock()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.proxy.lock:
            self.proxy.conns.discard(self)

    def run(self):
        with self.proxy.lock:
            self.proxy.conns.add(self)
        try:
            self.server = self.proxy.connect_upstream()
            if not self.startup():
                return
            threading.Thread(target=self.server_to_client,
                             daemon=True).start()
            self.client_to_server()
        except OSError:
            pass
        finally:
            self.close()

    def startup(self):
        while True:
            head = recv_exact(self.client, 8)
            if head is None:
                return False
            length, code = struct.unpack("!ii", head)
            rest = recv_exact(self.client, length - 8)
            if rest is None:
                return False
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                self.client.sendall(b"N")
                continue
            self.server.sendall(head + rest)
            return True

    def client_to_server(self):
        while True:
            msg = read_message(self.client)
            if msg is None:
                return
            kind, body = msg[0:1], msg[5:]
            if kind in (b"P", b"Q") and not self.doomed:
                text = body.decode("utf-8", "replace")
                if self.proxy.take_match(text):
                    self.doomed = True
            self.server.sendall(msg)

    def server_to_client(self):
        try:
            while True:
                msg = read_message(self.server)
                if msg is None:
                    break
                if not self.doomed:
                    self.client.sendall(msg)
                    continue
                if msg[0:1] == b"Z":
                    with self.proxy.lock:
                        self.proxy.dropped_after += 1
                    break
        except OSError:
            pass
        self.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def read_message(s):
    """A whole typed message (type, length, body), or None at the end."""
    head = recv_exact(s, 5)
    if head is None:
        return None
    length = struct.unpack("!i", head[1:5])[0]
    body = recv_exact(s, length - 4) if length > 4 else b""
    if body is None:
        return None
    return head + body


def control_handler(proxy, proxy_port):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def answer(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/state":
                return self.answer(404, {"error": "no such path"})
            st = proxy.state()
            st["proxy_port"] = proxy_port
            self.answer(200, st)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(n) or b"{}")
            except ValueError:
                return self.answer(400, {"error": "send JSON"})
            if self.path == "/drop-after":
                if not isinstance(body.get("match"), str):
                    return self.answer(400, {"error": "send {\"match\": S}"})
                with proxy.lock:
                    proxy.match = body["match"]
                return self.answer(200, proxy.state())
            if self.path == "/drop-all":
                proxy.drop_all()
                return self.answer(200, proxy.state())
            self.answer(404, {"error": "no such path"})
    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--upstream-unix")
    ap.add_argument("--upstream-host", default="127.0.0.1")
    ap.add_argument("--upstream-port", type=int, default=5432)
    a = ap.parse_args()
    proxy = Proxy(a.upstream_unix or (a.upstream_host, a.upstream_port))

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", a.port))
    lsock.listen(128)
    port = lsock.getsockname()[1]
    ctl = ThreadingHTTPServer(("127.0.0.1", a.control_port),
                              control_handler(proxy, port))
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    print("pgproxy listening on http://127.0.0.1:%d proxy_port=%d" % (
        ctl.server_address[1], port), flush=True)
    while True:
        client, _ = lsock.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=Conn(proxy, client).run,
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
