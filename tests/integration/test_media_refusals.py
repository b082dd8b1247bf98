#!/usr/bin/env python3
"""Bad media refused at upload, each kind in its own words (issue 15).

One server. The files are made here from the shared fixtures: 4 000
bytes of garbage in the middle of an MP4's payload, an MP4 with a web
page appended, an MKV with bytes after its Segment, an MKV whose sound is
in a codec nobody knows, an MP4 cut short, a silent video, a JPEG, an HLS
playlist and an ffconcat list pointing at a real file on the server, a
text file, an empty file. Each is refused when uploaded (422; the empty
one 400), through the one-request API and through tus, with words of its
own; a good fixture uploaded before them is still accepted and completes,
and nothing refused is left in uploads/.

Run: python3 tests/integration/test_media_refusals.py (INTROEVAL_BIN names
the binary).
"""

import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT = float(os.environ.get("INTROEVAL_E2E_TIMEOUT", "240"))
TUS = {"Tus-Resumable": "1.0.0"}

REFUSED = [
    # name, status, words the error starts with
    ("corrupt_middle.mp4", 422, "the video is damaged: "),
    ("html_appended.mp4", 422, "this file has something else attached "
     "after the end of the recording"),
    ("trailing.mkv", 422, "this file has something else attached after "
     "the end of the recording"),
    ("unknown_codec.mkv", 422, "this file's sound track is in a format we "
     "cannot read"),
    ("truncated.mp4", 422, "this file is cut short"),
    ("silent.mp4", 422, "the recording is silent: we could not hear "
     "speech in it"),
    ("photo.jpg", 422, "this file is a picture (JPEG), not a video"),
    ("list.m3u8", 422, "this file is a playlist (HLS, .m3u8)"),
    ("list.ffconcat", 422, "this file is a playlist (an ffconcat list)"),
    ("letter.txt", 422, "this file is text, not a video"),
    ("empty.mp4", 400, "this file is empty"),
]


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y"] +
                   list(args), check=True, stdin=subprocess.DEVNULL)


class MediaRefusals(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="introeval-refusals-")
        cls.make_files()
        cls.stack = harness.Stack(models=("mistral",), server_env={
            "INTROEVAL_BATCH_WINDOW_S": "1"}).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.pw = harness.create_users(cls.server, [
            ("s1@example.com", "s1", "student", "pw-12345678")])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def write(cls, name, data):
        with open(cls.path(name), "wb") as f:
            f.write(data)

    @classmethod
    def make_files(cls):
        src = harness.intro("intro01")[0]
        with open(src, "rb") as f:
            mp4 = f.read()
        mid = len(mp4) // 2
        garbage = random.Random(15).randbytes(4000)
        cls.write("corrupt_middle.mp4", mp4[:mid] + garbage +
                  mp4[mid + 4000:])
        page = b"<!DOCTYPE html><html><body><script>alert(1)</script>" \
               b"</body></html>\n"
        cls.write("html_appended.mp4", mp4 + page)
        cls.write("truncated.mp4", mp4[:mid])
        ffmpeg("-i", src, "-t", "7", "-c:v", "copy", "-c:a", "libopus",
               cls.path("good.mkv"))
        with open(cls.path("good.mkv"), "rb") as f:
            mkv = f.read()
        cls.write("trailing.mkv", mkv + page)
        cls.write("unknown_codec.mkv", mkv.replace(b"A_OPUS", b"A_QQQQ", 1))
        ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x48:r=5", "-f",
               "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8",
               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
               cls.path("silent.mp4"))
        ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1",
               cls.path("photo.jpg"))
        cls.write("list.m3u8", ("#EXTM3U\n#EXT-X-TARGETDURATION:22\n"
                                "#EXTINF:22,\nfile:%s\n#EXT-X-ENDLIST\n" %
                                src).encode())
        cls.write("list.ffconcat", ("ffconcat version 1.0\nfile '%s'\n" %
                                    src).encode())
        cls.write("letter.txt", b"Dear teacher, my video is attached.\n" * 20)
        cls.write("empty.mp4", b"")

    def client(self):
        c = harness.Client(self.server.url, timeout=120)
        c.login("s1@example.com", self.pw["s1@example.com"])
        return c

    def test_each_kind_refused_in_its_own_words(self):
        c = self.client()
        good = c.upload(harness.short_intro("intro02"))["id"]
        seen = {}
        for name, status, words in REFUSED:
            with self.subTest(name):
                r = c.upload(self.path(name), expect=status)
                msg = harness.error_message(r)
                self.assertTrue(msg.startswith(words), (name, r))
                self.assertNotIn(self.server.uploads_dir, msg)
                self.assertNotIn("0x", msg)
                seen.setdefault(msg, []).append(name)
        # Trailing data is one kind, in two containers; every other kind
        # reads differently from the rest and from the old catch-all.
        self.assertEqual(len(seen), len(REFUSED) - 1, seen)
        self.assertNotIn("this file is not a video we can read", seen)
        # The good upload is untouched by the refusals around it.
        sub = c.wait_for(good, timeout=TIMEOUT)
        self.assertEqual(sub["status"], "completed", sub.get("error"))
        rows = c.get_json("/api/v1/submissions")["submissions"]
        self.assertEqual([s["id"] for s in rows], [good])
        left = [n for n in os.listdir(self.server.uploads_dir)
                if n.endswith((".part", ".tmp"))]
        self.assertEqual(left, [])

    def test_refused_through_tus_in_the_same_words(self):
        c = self.client()
        for name, _, words in REFUSED[:2] + REFUSED[5:8]:
            with open(self.path(name), "rb") as f:
                data = f.read()
            meta = "filename %s" % base64.b64encode(name.encode()).decode()
            r = c.expect("POST", "/api/v1/uploads", 201, headers=dict(
                TUS, **{"Upload-Length": str(len(data)),
                        "Upload-Metadata": meta}))
            loc = r.header("Location")
            r = c.expect("PATCH", loc, 422, body=data, headers=dict(
                TUS, **{"Upload-Offset": "0", "Content-Type":
                        "application/offset+octet-stream"}))
            self.assertTrue(harness.error_message(r).startswith(words), name)
            self.assertEqual(c.get_json(loc)["status"], "refused")


if __name__ == "__main__":
    harness.install_signal_handlers()
    unittest.main(verbosity=2)
