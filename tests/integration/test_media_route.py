#!/usr/bin/env python3
"""The recording itself: GET /api/v1/submissions/ID/media (issue 12).

A throw-away PostgreSQL, one fake Ollama and the real server. A student
uploads a fixture video and a sound-only copy of it (m4a); then:

  - the owner and a teacher get the whole file (200) with its type from
    the content, Accept-Ranges, nosniff and Cache-Control: private; the
    bytes are the upload's;
  - Range: bytes=A-B, bytes=A- and bytes=-N answer 206 with the right
    Content-Range and bytes; a range past the end answers 416 with
    "bytes */SIZE"; several ranges, or another unit, get the whole file;
  - HEAD answers the headers without a body;
  - another student gets 404 (as for the submission), nobody signed in
    401, an unknown id 404;
  - the result page plays a video in <video>, a sound-only file in
    <audio>, from that address.

Run: python3 tests/integration/test_media_route.py (INTROEVAL_BIN names
the binary).
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class MediaRoute(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="introeval-media-")
        cls.video = harness.intro("intro02")[0]
        cls.audio = os.path.join(cls.tmp, "intro02.m4a")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                        "-i", cls.video, "-vn", "-c:a", "copy", cls.audio],
                       check=True, stdin=subprocess.DEVNULL)
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.pw = harness.create_users(cls.server, [
            (email, email.split("@")[0], role, "pw-12345678")
            for email, role in (("s1@example.com", "student"),
                                ("s2@example.com", "student"),
                                ("t1@example.com", "teacher"))])
        s1 = cls.client("s1@example.com")
        cls.vid = s1.upload(cls.video)["id"]
        cls.aid = s1.upload(cls.audio, content_type="audio/mp4")["id"]
        with open(cls.video, "rb") as f:
            cls.data = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def client(cls, email=None):
        c = harness.Client(cls.server.url, timeout=60)
        if email:
            c.login(email, cls.pw[email])
        return c

    def url(self, sid):
        return "/api/v1/submissions/%d/media" % sid

    def private_headers(self, r):
        self.assertEqual(r.header("Accept-Ranges"), "bytes")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertIn("private", r.header("Cache-Control") or "")

    def test_whole_file_for_owner_and_staff(self):
        for who in ("s1@example.com", "t1@example.com"):
            r = self.client(who).expect("GET", self.url(self.vid), 200)
            self.assertEqual(r.body, self.data)
            self.assertEqual(r.header("Content-Type"), "video/mp4")
            self.assertEqual(int(r.header("Content-Length")),
                             len(self.data))
            self.private_headers(r)

    def test_ranges(self):
        c, n, d = self.client("s1@example.com"), len(self.data), self.data
        for rng, a, b in (("bytes=0-99", 0, 99),
                          ("bytes=100-", 100, n - 1),
                          ("bytes=-10", n - 10, n - 1),
                          ("bytes=5-5", 5, 5),
                          ("bytes=%d-%d" % (n - 3, n + 500), n - 3, n - 1),
                          ("bytes=-%d" % (n + 10), 0, n - 1)):
            r = c.expect("GET", self.url(self.vid), 206,
                         headers={"Range": rng})
            self.assertEqual(r.header("Content-Range"),
                             "bytes %d-%d/%d" % (a, b, n), rng)
            self.assertEqual(r.body, d[a:b + 1], rng)
            self.private_headers(r)
        for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 5, n + 9),
                    "bytes=-0"):
            r = c.expect("GET", self.url(self.vid), 416,
                         headers={"Range": rng})
            self.assertEqual(r.header("Content-Range"), "bytes */%d" % n,
                             rng)
            self.assertEqual(r.body, b"")
        # Ranges we do not serve one by one: the whole file.
        for rng in ("bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=x"):
            r = c.expect("GET", self.url(self.vid), 200,
                         headers={"Range": rng})
            self.assertEqual(r.body, d, rng)

    def test_head(self):
        r = self.client("s1@example.com").expect(
            "HEAD", self.url(self.vid), 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(int(r.header("Content-Length")), len(self.data))
        self.private_headers(r)

    def test_only_its_readers(self):
        other = self.client("s2@example.com")
        other.expect("GET", self.url(self.vid), 404)
        for rng in ("bytes=0-99", "bytes=-10", "bytes=999999999-"):
            r = other.expect("GET", self.url(self.vid), 404,
                             headers={"Range": rng})
            self.assertNotIn(b"ftyp", r.body)
            self.assertIsNone(r.header("Content-Range"))
        self.client().expect("GET", self.url(self.vid), 401)
        self.client("s1@example.com").expect("GET", self.url(999999), 404)
        self.client("s1@example.com").expect(
            "GET", "/api/v1/submissions/%d/media/../../x" % self.vid, 404)

    def test_page_plays_video_or_audio(self):
        c = self.client("s1@example.com")
        page = c.expect("GET", "/submissions/%d" % self.vid, 200).text
        self.assertIn('<video id="player"', page)
        self.assertIn('src="%s"' % self.url(self.vid), page)
        sub = c.get_json("/api/v1/submissions/%d" % self.aid)
        page = c.expect("GET", "/submissions/%d" % self.aid, 200).text
        if sub["content_type"].startswith("audio/"):
            self.assertIn('<audio id="player"', page)
        else:
            self.fail("a sound-only m4a was typed %s" % sub["content_type"])
        r = c.expect("GET", self.url(self.aid), 200)
        self.assertEqual(r.header("Content-Type"), sub["content_type"])


if __name__ == "__main__":
    harness.main()
