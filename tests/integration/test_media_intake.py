#!/usr/bin/env python3
"""Media intake end to end: bad files get plain words, tus uploads resume.

A throw-away PostgreSQL cluster, one fake Ollama and the real server with
a 5 MiB upload cap. The test makes its own corpus with ffmpeg in a
temporary directory:

  bad at the door (4xx with the words): an empty file, an mp4 cut before
  its index, a text file named .mp4, a video without sound, 20 minutes of
  silence at 16x16 pixels, a PNG, a file over the size cap, a 4.8-second
  recording, near-silent audio, an mp4 with its index first cut in half
  (test_media_refusals has the other kinds);
  good, in the same batch: the fixtures and copies of one in every
  accepted container (mov, mkv, webm, m4a, mp3, wav, ogg), which must all
  complete (their first 6.5 s: transcribing whole fixtures adds nothing
  here, and test_drop_resume_complete still checks a whole one's words).

Then the tus protocol (POST, HEAD, PATCH under /api/v1/uploads): create,
send half, drop the connection, HEAD, resume, complete into a submission;
a wrong offset (409), another student's upload (404), the wrong version
(412), a busy upload (423), a refused file, an answer lost on the way,
and expiry removing the rows and files.

Run: python3 tests/integration/test_media_intake.py (INTROEVAL_BIN names
the binary).
"""

import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT = float(os.environ.get("INTROEVAL_E2E_TIMEOUT", "240"))
CAP_MB = 5
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"

SILENT = ("the recording is silent: we could not hear speech in it (was "
          "the microphone muted?)")
TEXT = "this file is text, not a video"
PICTURE = "this file is a picture (PNG), not a video"
NO_SOUND = "this file has no sound track"
EMPTY = "this file is empty"
CUT_SHORT = "this file is cut short"
TOO_LONG = ("the recording is 20 minutes long; the limit is 10 minutes")
TOO_SHORT = ("the recording is only 4.8 seconds long; the shortest we "
             "accept is 5 seconds")
TOO_BIG = "this file is larger than the limit of %d MB" % CAP_MB


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y"] +
                   list(args), check=True, stdin=subprocess.DEVNULL)


def png_bytes():
    """A 1x1 PNG, made without any imaging library."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) +
            chunk(b"IEND", b""))


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Corpus:
    """The files, made once in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="introeval-media-")
        self.intro = {n: harness.intro(n)[0]
                      for n in ("intro01", "intro02", "intro03", "intro04",
                                "intro06")}

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def make(self):
        """Writes every file; the ffmpeg runs go two or three at once."""
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            jobs = [ex.submit(fn) for fn in (self.make_bad,
                                             self.make_containers)]
            for j in jobs:
                j.result()

    def make_bad(self):
        with open(self.intro["intro01"], "rb") as f:
            head = f.read()
        self.write("empty.mp4", b"")
        # The fixtures keep their index at the end: the head has none.
        self.write("truncated.mp4", head[:len(head) // 2])
        self.write("text.mp4", b"This is a letter, not a video.\n" * 40)
        self.write("picture.png", png_bytes())
        with open(self.path("huge.mp4"), "wb") as f:
            f.write(head)
            f.write(os.urandom((CAP_MB << 20) + 4096 - len(head)))
        ffmpeg("-f", "lavfi", "-i", "color=c=green:s=64x48:r=5", "-t", "8",
               "-c:v", "libx264", "-preset", "ultrafast",
               self.path("no-sound.mp4"))
        ffmpeg("-f", "lavfi", "-i", "color=c=black:s=16x16:r=1", "-f",
               "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "1200",
               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
               "-b:a", "8k", self.path("silence-20min.mp4"))
        # Speech 60 dB down: a muted microphone picking up a whisper.
        ffmpeg("-i", self.intro["intro03"], "-af", "volume=-60dB", "-c:v",
               "copy", "-c:a", "aac", self.path("near-silent.mp4"))
        # Index first, then cut: ffmpeg decodes up to the cut.
        ffmpeg("-i", self.intro["intro02"], "-c", "copy", "-movflags",
               "+faststart", self.path("faststart.mp4"))
        with open(self.path("faststart.mp4"), "rb") as f:
            data = f.read()
        self.write("cut-after-index.mp4", data[:len(data) // 2])

    def make_containers(self):
        # Containers are the subject, not the words: the first seconds of
        # a fixture (still speech, still over the 5 s minimum) will do.
        src = harness.short_intro("intro04")
        v = ["-c:v", "libx264", "-preset", "ultrafast"]
        ffmpeg("-i", src, *v, "-c:a", "aac", self.path("good.mov"))
        ffmpeg("-i", src, *v, "-c:a", "libopus", self.path("good.mkv"))
        ffmpeg("-i", src, "-c:v", "libvpx", "-deadline", "realtime",
               "-c:a", "libopus", self.path("good.webm"))
        ffmpeg("-i", src, "-vn", "-c:a", "aac", self.path("good.m4a"))
        ffmpeg("-i", src, "-vn", "-c:a", "libmp3lame", self.path("good.mp3"))
        ffmpeg("-i", src, "-vn", "-c:a", "pcm_s16le", self.path("good.wav"))
        ffmpeg("-i", src, "-vn", "-c:a", "libvorbis", self.path("good.ogg"))

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class MediaIntake(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.corpus = Corpus()
        cls.corpus.make()
        cls.stack = harness.Stack(models=("mistral",), server_env={
            "INTROEVAL_UPLOAD_MAX_MB": str(CAP_MB),
            "INTROEVAL_BATCH_WINDOW_S": "1",
        }).start()
        cls.server = cls.stack.server
        cls.log_sources = [cls.server] + cls.stack.fakes
        cls.pw = harness.create_users(cls.server, [
            (email, email.split("@")[0], role, "pw-12345678")
            for email, role in (("s1@example.com", "student"),
                                ("s2@example.com", "student"),
                                ("t1@example.com", "teacher"))])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.corpus.remove()

    def client(self, email="s1@example.com"):
        c = harness.Client(self.server.url, timeout=120)
        c.login(email, self.pw[email])
        return c

    # ------------------------------------------------------------ tus helpers

    # Answers made by the upload handlers carry Tus-Resumable; 401/403
    # from the sign-in and CSRF checks in front of them do not.
    def tus_answer(self, r):
        if r.status not in (401, 403):
            self.assertEqual(r.header("Tus-Resumable"), "1.0.0", r)
        return r

    def create(self, c, length, name="intro.mp4", expect=201):
        r = self.tus_answer(c.expect("POST", "/api/v1/uploads", expect,
                                     headers=dict(TUS, **{
            "Upload-Length": str(length),
            "Upload-Metadata": "filename %s,filetype %s" % (
                b64(name), b64("video/mp4"))})))
        return r.header("Location") if expect == 201 else r

    def patch(self, c, loc, offset, data, expect=204, headers=None):
        h = dict(TUS, **{"Upload-Offset": str(offset),
                         "Content-Type": OCTETS})
        h.update(headers or {})
        return self.tus_answer(c.expect("PATCH", loc, expect, body=data,
                                        headers=h))

    def patch_when_free(self, c, loc, offset, data, expect=204,
                        timeout=15):
        """PATCH as a client does after a dropped connection.

        The dropped connection's handler lets go of the upload once it
        sees the drop, which may be a moment after its last byte was
        stored: a client retries 423 as it would any busy answer.
        """
        deadline = time.monotonic() + timeout
        want = expect if isinstance(expect, tuple) else (expect,)
        while True:
            r = self.patch(c, loc, offset, data, expect=want + (423,))
            if r.status != 423 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIn(r.status, want, r.body)
        return r

    def head(self, c, loc, expect=200):
        r = self.tus_answer(c.expect("HEAD", loc, expect, headers=TUS))
        if expect == 200:
            self.assertEqual(r.header("Cache-Control"), "no-store")
        return r

    def tus_upload(self, c, path, expect_last=204):
        with open(path, "rb") as f:
            data = f.read()
        loc = self.create(c, len(data), os.path.basename(path))
        return loc, self.patch(c, loc, 0, data, expect=expect_last)

    def drop_mid_patch(self, c, loc, offset, data, sent):
        """PATCH all of data, but close the socket after `sent` bytes."""
        s = socket.create_connection(("127.0.0.1", self.server.port))
        hdr = ("PATCH %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
               "X-CSRF-Token: %s\r\nTus-Resumable: 1.0.0\r\n"
               "Upload-Offset: %d\r\nContent-Type: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (
                   loc, c._cookie_header(), c.csrf_token, offset, OCTETS,
                   len(data)))
        s.sendall(hdr.encode() + data[:sent])
        return s

    def wait_offset(self, c, loc, want, timeout=15):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            r = self.head(c, loc)
            got = int(r.header("Upload-Offset"))
            if got == want:
                return got
            time.sleep(0.1)
        self.fail("Upload-Offset stayed %s, expected %d" % (got, want))

    # ------------------------------------------------------------ the corpus

    def test_bad_and_good_media_in_one_batch(self):
        c = self.client()
        refused = [
            ("empty.mp4", 400, EMPTY),
            ("truncated.mp4", 422, CUT_SHORT),
            ("text.mp4", 422, TEXT),
            ("picture.png", 422, PICTURE),
            ("near-silent.mp4", 422, SILENT),
            ("cut-after-index.mp4", 422, CUT_SHORT),
            ("no-sound.mp4", 422, NO_SOUND),
            ("silence-20min.mp4", 422, TOO_LONG),
            ("huge.mp4", 413, TOO_BIG),
        ]
        good = [harness.short_intro("intro01"), harness.short_intro("intro02")]
        good += [self.corpus.path("good." + ext) for ext in
                 ("mov", "mkv", "webm", "m4a", "mp3", "wav", "ogg")]
        ids = {}
        # Interleaved, so the good ones share batches with the bad.
        for i, path in enumerate(good):
            ids[path] = c.upload(path)["id"]
            if i < len(refused):
                name, status, words = refused[i]
                r = c.upload(self.corpus.path(name), expect=status)
                self.assertIn(words, harness.error_message(r), name)
        short = c.upload(self.corpus.intro["intro06"], expect=422)
        self.assertEqual(harness.error_message(short), TOO_SHORT)
        self.assertEqual(harness.error_code(short), "upload_refused")

        for path in good:
            sub = c.wait_for(ids[path], timeout=TIMEOUT)
            self.assertEqual(sub["status"], "completed", "%s: %s" % (
                path, sub.get("error")))
            self.assertTrue(sub["transcript"]["text"], path)
        # The type stored is what the content is, not what the name says.
        types = dict(line.split("|") for line in self.stack.pg.psql(
            "SELECT original_name, content_type FROM submissions "
            "WHERE original_name LIKE 'good.%'").splitlines())
        self.assertEqual(types, {
            "good.mov": "video/mp4", "good.mkv": "video/x-matroska",
            "good.webm": "video/webm", "good.m4a": "audio/mp4",
            "good.mp3": "audio/mpeg", "good.wav": "audio/wav",
            "good.ogg": "audio/ogg"})
        self.assertTrue(self.server.running(), "the server died")
        c.expect("GET", "/healthz", 200)
        # Nothing refused or failed is left behind in uploads/.
        left = [n for n in os.listdir(self.server.uploads_dir)
                if n.endswith(".part")]
        self.assertEqual(left, [])

    def test_refused_through_tus_with_the_same_words(self):
        c = self.client()
        for name, words in (("text.mp4", TEXT),
                            ("no-sound.mp4", NO_SOUND),
                            ("silence-20min.mp4", TOO_LONG)):
            loc, r = self.tus_upload(c, self.corpus.path(name),
                                     expect_last=422)
            self.assertIn(words, harness.error_message(r))
            h = self.head(c, loc)
            self.assertEqual(h.header("Upload-Offset"),
                             h.header("Upload-Length"))
            self.assertIn(words, h.header("X-Upload-Error"))
            st = c.get_json(loc)
            self.assertEqual(st["status"], "refused")
            self.assertIn(words, st["error"])
        r = self.create(c, 0, expect=400)
        self.assertEqual(harness.error_message(r), EMPTY)
        r = self.create(c, (CAP_MB << 20) + 1, expect=413)
        self.assertEqual(harness.error_message(r), TOO_BIG)

    # ------------------------------------------------------------ tus

    def test_options_describes_the_server(self):
        c = harness.Client(self.server.url)
        r = c.expect("OPTIONS", "/api/v1/uploads", (200, 204))
        self.assertEqual(r.header("Tus-Resumable"), "1.0.0")
        self.assertIn("1.0.0", r.header("Tus-Version"))
        self.assertIn("creation", r.header("Tus-Extension"))
        self.assertEqual(int(r.header("Tus-Max-Size")), CAP_MB << 20)

    def test_drop_resume_complete(self):
        c = self.client()
        path, truth = harness.intro("intro01")
        with open(path, "rb") as f:
            data = f.read()
        half = len(data) // 2
        loc = self.create(c, len(data), "intro01.mp4")
        self.assertRegex(loc, r"^/api/v1/uploads/\d+$")
        h = self.head(c, loc)
        self.assertEqual(h.header("Upload-Offset"), "0")
        self.assertEqual(h.header("Upload-Length"), str(len(data)))

        # Half of the body, then the connection goes away.
        s = self.drop_mid_patch(c, loc, 0, data, half)
        time.sleep(0.3)
        s.close()
        self.wait_offset(c, loc, half)

        # A wrong offset is refused with the right one.
        r = self.patch_when_free(c, loc, half - 10, data[half - 10:],
                                 expect=409)
        self.assertEqual(r.header("Upload-Offset"), str(half))
        # Resume from the offset HEAD gave.
        r = self.patch(c, loc, half, data[half:])
        self.assertEqual(r.header("Upload-Offset"), str(len(data)))
        sid = int(r.header("X-Submission-Id"))
        self.assertEqual(r.header("X-Submission-Url"), "/submissions/%d" % sid)
        h = self.head(c, loc)
        self.assertEqual(h.header("Upload-Offset"), str(len(data)))
        self.assertEqual(h.header("X-Submission-Id"), str(sid))
        self.assertEqual(c.get_json(loc)["status"], "completed")

        sub = c.wait_for(sid, timeout=TIMEOUT)
        self.assertEqual(sub["status"], "completed", sub.get("error"))
        self.assertEqual(sub["original_name"], "intro01.mp4")
        self.assertEqual(sub["size_bytes"], len(data))
        self.assertGreaterEqual(
            harness.word_overlap(truth, sub["transcript"]["text"]), 0.7)
        # The bytes went into the submission's file; none are left over.
        name = self.stack.pg.psql("SELECT stored_name FROM uploads WHERE "
                                  "id = %d" % int(loc.rsplit("/", 1)[1]))
        self.assertFalse(os.path.exists(os.path.join(
            self.server.uploads_dir, name + ".tus")))
        self.assertTrue(os.path.exists(os.path.join(
            self.server.uploads_dir, name)))
        # Sending the last (empty) chunk again only repeats the outcome.
        r = self.patch(c, loc, len(data), b"")
        self.assertEqual(r.header("X-Submission-Id"), str(sid))
        self.patch(c, loc, 0, data[:10], expect=409)

    def test_lost_final_answer_is_found_with_head(self):
        c = self.client()
        with open(harness.intro("intro02")[0], "rb") as f:
            data = f.read()
        loc = self.create(c, len(data))
        s = self.drop_mid_patch(c, loc, 0, data, len(data))
        s.close()			# never reads the answer
        deadline = time.monotonic() + 30
        sid = None
        while time.monotonic() < deadline and sid is None:
            sid = self.head(c, loc).header("X-Submission-Id")
            time.sleep(0.2)
        self.assertIsNotNone(sid, "no submission after the last byte")
        c.get_json("/api/v1/submissions/%s" % sid)

    def test_uploads_belong_to_their_student(self):
        c1, c2 = self.client(), self.client("s2@example.com")
        teacher = self.client("t1@example.com")
        loc = self.create(c1, 1000)
        self.patch(c1, loc, 0, b"x" * 100)
        for other in (c2, teacher):
            self.head(other, loc, expect=404)
            other.expect("GET", loc, 404)
            self.patch(other, loc, 100, b"y" * 10, expect=404)
        self.head(c1, loc)
        self.assertEqual(self.head(c1, loc).header("Upload-Offset"), "100")
        # Nobody signed in: 401; teachers do not upload.
        anon = harness.Client(self.server.url)
        anon.expect("HEAD", loc, 401, headers=TUS)
        self.create(teacher, 1000, expect=403)

    def test_protocol_errors(self):
        c = self.client()
        loc = self.create(c, 1000)
        r = c.expect("PATCH", loc, 412, body=b"x", headers={
            "Tus-Resumable": "0.2.2", "Upload-Offset": "0",
            "Content-Type": OCTETS})
        self.assertEqual(r.header("Tus-Version"), "1.0.0")
        c.expect("POST", "/api/v1/uploads", 412, headers={
            "Upload-Length": "10"})
        self.patch(c, loc, 0, b"x", expect=415,
                   headers={"Content-Type": "video/mp4"})
        self.patch(c, loc, 0, b"x" * 1001, expect=413)
        c.expect("PATCH", loc, 400, body=b"x", headers=dict(
            TUS, **{"Content-Type": OCTETS}))
        # A file name that is not UTF-8 is cleaned, not refused.
        r = c.expect("POST", "/api/v1/uploads", 201, headers=dict(TUS, **{
            "Upload-Length": "10", "Upload-Metadata": "filename " +
            base64.b64encode(b"C:\\x\\\xff\xfebad\x01name.mp4").decode()}))
        self.assertEqual(c.get_json(r.header("Location"))["filename"],
                         "badname.mp4")
        # With the session cookie, a PATCH needs the CSRF token.
        token, c.csrf_token = c.csrf_token, None
        self.patch(c, loc, 0, b"x", expect=403)
        c.csrf_token = token
        # A bearer token (scripts) needs none.
        bearer = harness.Client(self.server.url,
                                token=c.cookies["introeval_session"])
        self.patch(bearer, loc, 0, b"x" * 10)
        self.assertEqual(self.head(bearer, loc).header("Upload-Offset"), "10")

    def test_busy_upload_answers_423(self):
        c = self.client()
        loc = self.create(c, 500000)
        # More than the server's 64 KiB read, so some bytes are written
        # while the connection stays open.
        s = self.drop_mid_patch(c, loc, 0, b"z" * 500000, 100000)
        try:
            deadline = time.monotonic() + 15
            offset = 0
            while time.monotonic() < deadline and offset == 0:
                offset = int(self.head(c, loc).header("Upload-Offset"))
                time.sleep(0.1)
            self.assertGreater(offset, 0)
            r = self.patch(c, loc, offset, b"z" * 10, expect=423)
            self.assertIn("another connection", harness.error_message(r))
        finally:
            s.close()
        offset = self.wait_offset(c, loc, 100000)
        r = self.patch_when_free(c, loc, offset, b"z" * 10)
        self.assertEqual(r.header("Upload-Offset"), str(offset + 10))

    def test_expired_uploads_are_removed(self):
        c = self.client("s2@example.com")
        loc = self.create(c, 5000)
        self.patch(c, loc, 0, b"e" * 1000)
        uid = loc.rsplit("/", 1)[1]
        name = self.stack.pg.psql(
            "SELECT stored_name FROM uploads WHERE id = %s" % int(uid))
        data_file = os.path.join(self.server.uploads_dir, name + ".tus")
        self.assertTrue(os.path.exists(data_file))
        self.stack.pg.psql("UPDATE uploads SET expires_at = now() - "
                           "interval '1 minute' WHERE id = %s" % int(uid))
        self.head(c, loc, expect=404)
        self.assertIn("removed", harness.error_message(
            c.expect("GET", loc, 404)))
        self.patch(c, loc, 1000, b"e", expect=404)
        # Any new upload sweeps.
        self.create(c, 10)
        self.assertFalse(os.path.exists(data_file))
        self.assertEqual(self.stack.pg.psql(
            "SELECT count(*) FROM uploads WHERE id = %s" % int(uid)), "0")

    def test_a_student_keeps_at_most_five_unfinished(self):
        c = self.client("s2@example.com")
        locs = [self.create(c, 100) for _ in range(6)]
        self.head(c, locs[0], expect=404)
        for loc in locs[1:]:
            self.head(c, loc)


if __name__ == "__main__":
    harness.main()
