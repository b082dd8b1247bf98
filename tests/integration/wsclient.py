#!/usr/bin/env python3
"""wsclient: a small RFC 6455 WebSocket client, Python standard library only.

Enough for IntroEval's tests: the opening handshake (with a cookie, a
bearer token or an Origin header), masked text frames out, unmasked frames
in (text, ping answered with pong, close), and JSON helpers.

  ws = WsClient.connect("http://127.0.0.1:8080", cookie="introeval_session=…")
  ws.send_json({"type": "subscribe", "topic": "mine", "since": 0})
  msg = ws.recv_json(timeout=5)      # None on timeout
  ws.close()

connect() raises HandshakeError (with .status) when the server refuses.
"""

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import time
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    def __init__(self, status, text):
        super().__init__("WebSocket handshake refused: %s %s" % (
            status, text[:200]))
        self.status = status
        self.text = text


class Closed(Exception):
    """The server closed the socket (code in .code, None when unknown;
    the close frame's words in .reason)."""

    def __init__(self, code=None, reason=""):
        super().__init__("WebSocket closed (code %s%s)" % (
            code, ", " + reason if reason else ""))
        self.code = code
        self.reason = reason


class WsClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    @classmethod
    def connect(cls, base_url, path="/ws", cookie=None, token=None,
                origin=None, timeout=10):
        u = urllib.parse.urlsplit(base_url)
        sock = socket.create_connection((u.hostname, u.port), timeout)
        if u.scheme == "https":		# a test's self-signed proxy
            sock = ssl._create_unverified_context().wrap_socket(
                sock, server_hostname=u.hostname)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path,
                 "Host: %s:%d" % (u.hostname, u.port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key,
                 "Sec-WebSocket-Version: 13"]
        if cookie:
            lines.append("Cookie: " + cookie)
        if token:
            lines.append("Authorization: Bearer " + token)
        if origin:
            lines.append("Origin: " + origin)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            try:
                chunk = sock.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                sock.close()
                raise HandshakeError(0, head.decode("latin-1"))
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        text = head.decode("latin-1")
        status = int(text.split(" ", 2)[1])
        if status != 101:
            try:
                body = rest + sock.recv(4096)
            except OSError:
                body = rest
            sock.close()
            raise HandshakeError(status, body.decode("utf-8", "replace"))
        want = base64.b64encode(hashlib.sha1(
            (key + GUID).encode()).digest()).decode()
        if ("sec-websocket-accept: " + want).lower() not in text.lower():
            sock.close()
            raise HandshakeError(status, "bad Sec-WebSocket-Accept")
        ws = cls(sock)
        ws.buf = rest
        return ws

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode("utf-8"))

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                raise Closed()
            self.buf += chunk

    def _frame(self, deadline):
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7f, 2
        if n == 126:
            self._need(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, deadline)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0f, payload

    def recv(self, timeout=10):
        """The next text message, or None when none comes in time."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                opcode, payload = self._frame(deadline)
                if opcode == 0x9:
                    self._send_frame(0xa, payload)
                elif opcode == 0x8:
                    self.closed = True
                    code = struct.unpack("!H", payload[:2])[0] \
                        if len(payload) >= 2 else None
                    raise Closed(code, payload[2:].decode("utf-8",
                                                          "replace"))
                elif opcode == 0x1:
                    return payload.decode("utf-8")
        except socket.timeout:
            return None

    def recv_json(self, timeout=10):
        text = self.recv(timeout)
        return json.loads(text) if text is not None else None

    def drain(self, timeout=0.5):
        """Every message that arrives within timeout of the previous one."""
        out = []
        while True:
            m = self.recv_json(timeout)
            if m is None:
                return out
            out.append(m)

    def close(self):
        if not self.closed:
            try:
                self._send_frame(0x8, struct.pack("!H", 1000))
            except OSError:
                pass
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Drop the TCP connection without a close frame (a lost network)."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
