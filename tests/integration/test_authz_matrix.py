#!/usr/bin/env python3
"""The authorization matrix (issue 13): every route, every role.

One server (a throw-away PostgreSQL, one stand-in LLM). Course A has a
teacher (t_in) and two students (s_in, who owns every object below, and
s_dis, whose account is disabled after signing in); course B has another
teacher (t_out) and another student (s_out); there is an admin. s_in's
upload is transcribed and scored through the stand-in; a teacher comments
on it; s_in starts a resumable upload. Then every route of the server's
own table (`introeval routes`) is sent as each of the seven roles, with
:id resolved to an object of course A, and the status must be exactly
the one in MATRIX. The test fails when a route has no MATRIX row, or a
row names a route the server does not have.

The roles, in the order of every row's statuses:

  anon    no session
  s_in    the student of the course who owns the objects
  s_out   a student of another course
  t_in    a teacher of the course
  t_out   a teacher of another course
  admin   an admin
  dis     a disabled account (s_dis) that still holds a session cookie
          and a bearer token from before: both are sent, and both must
          get the status in this column

A status is a number, or LOGIN: a 303 to /login (what a page answers
without a session; the API answers 401).

Submissions are scoped like courses (issue 15, sql/022's
submission_visible): a teacher of another course (t_out) gets 404 on
every route of a submission of s_in's, as a student of another course
does on those a student may use.

HOW TO ADD A ROUTE: add ONE line to MATRIX:

    R("METHOD", "/pattern/:id", OBJECT, BODY, (anon, s_in, s_out, t_in,
      t_out, admin, dis)),

  OBJECT is what :id stands for: "sub" (s_in's scored submission),
  "course" (course A), "upload" (s_in's tus upload), "node" (the
  scheduler's node, for :name), or a factory that
  makes a fresh one for each role's request, so that a request that
  changes state (cancel, delete, reply once) finds the same precondition
  for every role: "fresh_comment" (a comment by t_in on "sub"),
  "fresh_queued" (a submission of s_in waiting in the queue),
  "fresh_failed" (a failed one of s_in), "fresh_session" (the route
  is sent from a session signed in for it alone: sign-out). None when
  the pattern has no :id. For a new kind of object, add a method
  fresh_KIND(self, role) -> id to AuthzMatrix (or a fixed one made in
  setUpClass, named in resolve()).
  BODY names a function in BODIES(ctx, role, client) -> (body, headers):
  forms carry the client's CSRF token as a browser would; None sends
  no body; "websocket" opens the WebSocket (101 when it opens) instead of
  sending a request.

Run: python3 tests/integration/test_authz_matrix.py (INTROEVAL_BIN names
the binary).
"""

import collections
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from wsclient import HandshakeError, WsClient  # noqa: E402

LOGIN = "login"
ROLES = ("anon", "s_in", "s_out", "t_in", "t_out", "admin", "dis")
PW = "pw-12345678"

R = collections.namedtuple("R", "method pattern obj body expect")

# (method, pattern) -> object, body, statuses for
#  anon   s_in   s_out  t_in   t_out  admin  dis
MATRIX = [
    R("GET", "/login", None, None,
      (200, 303, 303, 303, 303, 303, 200)),
    R("POST", "/login", None, "login_wrong",
      (401, 401, 401, 401, 401, 401, 401)),
    R("POST", "/logout", "fresh_session", "form",
      (LOGIN, 303, 303, 303, 303, 303, LOGIN)),
    R("GET", "/", None, None,
      (LOGIN, 200, 200, 200, 200, 200, LOGIN)),
    R("GET", "/submissions/:id", "sub", None,
      (LOGIN, 200, 404, 200, 404, 200, LOGIN)),
    R("POST", "/submissions/:id/action", "sub", "action_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/submissions/:id/scores", "sub", "scores_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/submissions/:id/comments", "sub", "comment_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/comments/:id/reply", "fresh_comment", "reply_form",
      (LOGIN, 303, 404, 403, 403, 403, LOGIN)),
    R("POST", "/comments/:id/delete", "fresh_comment", "form",
      (LOGIN, 403, 403, 303, 403, 303, LOGIN)),
    R("GET", "/admin/users", None, None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("POST", "/admin/users", None, "user_form",
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("GET", "/healthz", None, None,
      (200, 200, 200, 200, 200, 200, 200)),
    R("GET", "/readyz", None, None,
      (200, 200, 200, 200, 200, 200, 200)),
    R("GET", "/courses", None, None,
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("POST", "/courses", None, "course_form",
      (LOGIN, 403, 403, 403, 403, 303, LOGIN)),
    R("GET", "/courses/:id", "course", None,
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("POST", "/courses/:id/members", "course", "enrol_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("GET", "/courses/:id/results.csv", "course", None,
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("GET", "/api/v1/courses/:id/progress", "course", None,
      (401, 403, 403, 200, 404, 200, 401)),
    # Courses, enrolment and users as data (issue 16): the pages' rules;
    # a student reads the courses they are enrolled in.
    R("GET", "/api/v1/courses", None, None,
      (401, 200, 200, 200, 200, 200, 401)),
    R("POST", "/api/v1/courses", None, "course_json",
      (401, 403, 403, 403, 403, 201, 401)),
    R("GET", "/api/v1/courses/:id", "course", None,
      (401, 200, 404, 200, 404, 200, 401)),
    R("POST", "/api/v1/courses/:id/members", "course", "enrol_json",
      (401, 403, 403, 200, 404, 200, 401)),
    R("GET", "/api/v1/users", None, None,
      (401, 403, 403, 403, 403, 200, 401)),
    R("POST", "/api/v1/users", None, "user_json",
      (401, 403, 403, 403, 403, 201, 401)),
    R("GET", "/api/v1/users/:id", "student", None,
      (401, 403, 403, 200, 404, 200, 401)),
    R("GET", "/admin/health", None, None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("GET", "/metrics", None, None,
      (401, 403, 403, 403, 403, 200, 401)),
    R("GET", "/api/v1/openapi.json", None, None,
      (200, 200, 200, 200, 200, 200, 200)),
    R("GET", "/api/v1/me", None, None,
      (401, 200, 200, 200, 200, 200, 401)),
    R("GET", "/api/v1/submissions", None, None,
      (401, 200, 200, 200, 200, 200, 401)),
    R("POST", "/api/v1/submissions", None, "video",
      (401, 201, 201, 403, 403, 403, 401)),
    R("GET", "/api/v1/submissions/:id", "sub", None,
      (401, 200, 404, 200, 404, 200, 401)),
    R("GET", "/api/v1/submissions/:id/media", "sub", None,
      (401, 200, 404, 200, 404, 200, 401)),
    R("POST", "/api/v1/submissions/:id/cancel", "fresh_queued", "json_empty",
      (401, 403, 403, 200, 404, 200, 401)),
    R("POST", "/api/v1/submissions/:id/retry", "fresh_failed", "json_empty",
      (401, 403, 403, 200, 404, 200, 401)),
    R("POST", "/api/v1/submissions/:id/priority", "fresh_queued",
      "priority_json",
      (401, 403, 403, 200, 404, 200, 401)),
    R("POST", "/api/v1/submissions/:id/scores", "sub", "scores_json",
      (401, 403, 403, 200, 404, 200, 401)),
    R("GET", "/api/v1/submissions/:id/audit", "sub", None,
      (401, 403, 403, 200, 404, 200, 401)),
    R("GET", "/api/v1/submissions/:id/comments", "sub", None,
      (401, 200, 404, 200, 404, 200, 401)),
    R("POST", "/api/v1/submissions/:id/comments", "sub", "comment_json",
      (401, 403, 403, 201, 404, 201, 401)),
    R("POST", "/api/v1/comments/:id/reply", "fresh_comment", "reply_json",
      (401, 201, 404, 403, 403, 403, 401)),
    R("DELETE", "/api/v1/comments/:id", "fresh_comment", None,
      (401, 403, 403, 200, 403, 200, 401)),
    R("GET", "/api/v1/system", None, None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("GET", "/api/v1/backends", None, None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("GET", "/api/v1/nodes", None, None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("GET", "/api/v1/nodes/:name/phases", "node", None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("OPTIONS", "/api/v1/uploads", None, None,
      (204, 204, 204, 204, 204, 204, 204)),
    R("POST", "/api/v1/uploads", None, "tus_create",
      (401, 201, 201, 403, 403, 403, 401)),
    R("HEAD", "/api/v1/uploads/:id", "upload", "tus",
      (401, 200, 404, 404, 404, 404, 401)),
    R("PATCH", "/api/v1/uploads/:id", "upload", "tus_patch",
      (401, 204, 404, 404, 404, 404, 401)),
    R("GET", "/api/v1/uploads/:id", "upload", None,
      (401, 200, 404, 404, 404, 404, 401)),
    R("GET", "/ws", None, "websocket",
      (401, 101, 101, 101, 101, 101, 401)),
    # Accounts, join codes, roster, course administration.
    R("GET", "/signup", None, None,
      (200, 200, 200, 200, 200, 200, 200)),
    R("POST", "/signup", None, "signup_bad_code",
      (422, 422, 422, 422, 422, 422, 422)),
    R("GET", "/reset", None, None,
      (200, 200, 200, 200, 200, 200, 200)),
    R("POST", "/reset", None, "reset_bad_code",
      (422, 422, 422, 422, 422, 422, 422)),
    R("GET", "/account", None, None,
      (LOGIN, 200, 200, 200, 200, 200, LOGIN)),
    R("POST", "/account/password", None, "password_wrong_form",
      (LOGIN, 422, 422, 422, 422, 422, LOGIN)),
    R("GET", "/users/:id", "student", None,
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("POST", "/users/:id", "student", "user_save_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("PATCH", "/api/v1/users/:id", "student", "user_patch_json",
      (401, 403, 403, 200, 404, 200, 401)),
    R("POST", "/api/v1/users/:id/reset", "student", "json_empty",
      (401, 403, 403, 201, 404, 201, 401)),
    R("POST", "/api/v1/me/password", None, "password_wrong_json",
      (401, 422, 422, 422, 422, 422, 401)),
    R("GET", "/courses/:id/manage", "course", None,
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("POST", "/courses/:id/manage", "course", "rename_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/courses/:id/roster", "course", "roster_form",
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("PATCH", "/api/v1/courses/:id", "course", "course_patch_json",
      (401, 403, 403, 200, 404, 200, 401)),
    R("DELETE", "/api/v1/courses/:id/members/:uid", "fresh_member", None,
      (401, 403, 403, 200, 404, 200, 401)),
    R("POST", "/api/v1/courses/:id/roster", "course", "roster_csv",
      (401, 403, 403, 201, 404, 201, 401)),
    # Assignments: read by the course's students and teachers, changed
    # by its teachers and admins.
    R("GET", "/assignments/:id", "assignment", None,
      (LOGIN, 200, 404, 200, 404, 200, LOGIN)),
    R("POST", "/courses/:id/assignments", "course", "assignment_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/courses/:id/time-zone", "course", "time_zone_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/assignments/:id", "fresh_empty_assignment", "assignment_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/assignments/:id/delete", "fresh_empty_assignment", "form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("GET", "/api/v1/courses/:id/assignments", "course", None,
      (401, 200, 404, 200, 404, 200, 401)),
    R("POST", "/api/v1/courses/:id/assignments", "course", "assignment_json",
      (401, 403, 403, 201, 404, 201, 401)),
    R("GET", "/api/v1/assignments/:id", "assignment", None,
      (401, 200, 404, 200, 404, 200, 401)),
    R("PATCH", "/api/v1/assignments/:id", "fresh_empty_assignment",
      "assignment_json",
      (401, 403, 403, 200, 404, 200, 401)),
    R("DELETE", "/api/v1/assignments/:id", "fresh_empty_assignment", None,
      (401, 403, 403, 200, 404, 200, 401)),
    # Rubrics: any teacher reads them; a rubric is edited by its owner
    # (t_in's "rubric") and admins; a student reads the version an
    # assignment of their course uses.
    R("GET", "/rubrics", None, None,
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("GET", "/rubrics/new", None, None,
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("POST", "/rubrics/new", None, "rubric_more_form",
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("GET", "/rubrics/:id", "rubric", None,
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("POST", "/rubrics/:id", "rubric", "rubric_more_form",
      (LOGIN, 403, 403, 200, 403, 200, LOGIN)),
    R("GET", "/api/v1/rubrics", None, None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("POST", "/api/v1/rubrics", None, "rubric_json",
      (401, 403, 403, 201, 201, 201, 401)),
    R("GET", "/api/v1/rubrics/:id", "rubric", None,
      (401, 200, 404, 200, 200, 200, 401)),
    R("POST", "/api/v1/rubrics/:id/versions", "rubric", "rubric_json",
      (401, 403, 403, 201, 403, 201, 401)),
    R("POST", "/rubrics/:id/reevaluate", "fresh_empty_assignment_rubric",
      "reevaluate_form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("POST", "/api/v1/assignments/:id/reevaluate", "fresh_empty_assignment",
      "reevaluate_json",
      (401, 403, 403, 200, 404, 200, 401)),
    # Consent, export, deletion requests, audit (a student acts for
    # themself; admins run it). Setting a consent text makes uploads
    # wait for it, so these come after the upload rows.
    R("GET", "/admin/consent", None, None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("POST", "/admin/consent", None, "consent_text_form",
      (LOGIN, 403, 403, 403, 403, 303, LOGIN)),
    R("POST", "/api/v1/admin/consent", None, "consent_text_json",
      (401, 403, 403, 403, 403, 201, 401)),
    R("GET", "/api/v1/consent", None, None,
      (401, 200, 200, 200, 200, 200, 401)),
    R("POST", "/consent", None, "consent_accept_form",
      (LOGIN, 303, 303, 403, 403, 403, LOGIN)),
    R("POST", "/api/v1/consent", None, "consent_accept_json",
      (401, 200, 200, 403, 403, 403, 401)),
    R("GET", "/api/v1/me/export", None, None,
      (401, 200, 200, 403, 403, 403, 401)),
    R("POST", "/me/deletion-request", None, "deletion_form",
      (LOGIN, 303, 303, 403, 403, 403, LOGIN)),
    R("POST", "/api/v1/me/deletion-request", None, "deletion_json",
      (401, 201, 201, 403, 403, 403, 401)),
    R("GET", "/admin/requests", None, None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("POST", "/admin/requests/:id", "fresh_deletion_request",
      "confirm_form",
      (LOGIN, 403, 403, 403, 403, 303, LOGIN)),
    R("GET", "/admin/audit", None, None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("GET", "/api/v1/admin/audit", None, None,
      (401, 403, 403, 403, 403, 200, 401)),
    R("GET", "/admin/bakeoffs", None, None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    # No backend chosen: the admin's form is refused in words (422).
    R("POST", "/admin/bakeoffs", None, "form",
      (LOGIN, 403, 403, 403, 403, 422, LOGIN)),
    R("GET", "/admin/bakeoffs/:id", "fresh_bakeoff", None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("GET", "/admin/bakeoffs/:id/report.csv", "fresh_bakeoff", None,
      (LOGIN, 403, 403, 403, 403, 200, LOGIN)),
    R("POST", "/admin/bakeoffs/:id/cancel", "fresh_bakeoff", "form",
      (LOGIN, 403, 403, 403, 403, 303, LOGIN)),
    R("GET", "/api/v1/bakeoffs", None, None,
      (401, 403, 403, 403, 403, 200, 401)),
    # Eleven trials: the admin is refused in words (422), nothing starts.
    R("POST", "/api/v1/bakeoffs", None, "bakeoff_json",
      (401, 403, 403, 403, 403, 422, 401)),
    R("GET", "/api/v1/bakeoffs/:id", "fresh_bakeoff", None,
      (401, 403, 403, 403, 403, 200, 401)),
    # Jobs (natural-language requests): staff of the job's course; a
    # spec naming another teacher's course is refused with questions.
    R("GET", "/jobs", None, None,
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("GET", "/jobs/new", None, None,
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("POST", "/jobs", None, "job_form",
      (LOGIN, 403, 403, 303, 422, 303, LOGIN)),
    R("GET", "/jobs/:id", "job", None,
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("POST", "/jobs/:id/cancel", "job", "form",
      (LOGIN, 403, 403, 303, 404, 303, LOGIN)),
    R("GET", "/jobs/:id/export.csv", "job", None,
      (LOGIN, 403, 403, 200, 404, 200, LOGIN)),
    R("POST", "/api/v1/jobs/preview", None, "job_spec_json",
      (401, 403, 403, 200, 200, 200, 401)),
    R("POST", "/api/v1/jobs", None, "job_spec_json",
      (401, 403, 403, 201, 422, 201, 401)),
    R("GET", "/api/v1/jobs", None, None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("GET", "/api/v1/jobs/:id", "job", None,
      (401, 403, 403, 200, 404, 200, 401)),
    R("POST", "/api/v1/jobs/:id/cancel", "job", "json_empty",
      (401, 403, 403, 409, 404, 409, 401)),
    # API tokens (issue 16): staff make, list and revoke their own.
    R("POST", "/account/tokens", None, "token_form",
      (LOGIN, 403, 403, 200, 200, 200, LOGIN)),
    R("POST", "/account/tokens/:id/revoke", "fresh_token", "form",
      (LOGIN, 403, 403, 303, 404, 404, LOGIN)),
    R("GET", "/api/v1/tokens", None, None,
      (401, 403, 403, 200, 200, 200, 401)),
    R("POST", "/api/v1/tokens", None, "token_json",
      (401, 403, 403, 201, 201, 201, 401)),
    R("DELETE", "/api/v1/tokens/:id", "fresh_token", None,
      (401, 403, 403, 200, 404, 404, 401)),
    # Last: signing out everywhere ends the role's other sessions too.
    R("POST", "/account/signout-all", "fresh_session", "form",
      (LOGIN, 303, 303, 303, 303, 303, LOGIN)),
    R("POST", "/api/v1/me/signout-all", "fresh_session", "json_empty",
      (401, 200, 200, 200, 200, 200, 401)),
]


def form(client, fields):
    """A browser's form body: the fields and the page's CSRF token."""
    fields = dict(fields)
    if client.csrf_token:
        fields["csrf"] = client.csrf_token
    return (urllib.parse.urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded"})


def as_json(obj):
    return json.dumps(obj), {"Content-Type": "application/json",
                             "Accept": "application/json"}


_seq = iter(range(1, 1000000))

BODIES = {
    "form": lambda ctx, role, c: form(c, {}),
    # A different unknown account each time: seven wrong passwords for
    # one account would reach its sign-in throttle.
    "login_wrong": lambda ctx, role, c: form(
        c, {"email": "nobody%d@example.com" % next(_seq),
            "password": "wrong-password",
            "signin_csrf": c.signin_form_token()}),
    "action_form": lambda ctx, role, c: form(
        c, {"action": "priority", "priority": "3"}),
    "scores_form": lambda ctx, role, c: form(c, {
        "criterion": ctx.criterion, "score": "3",
        "comment": "checked by %s" % role}),
    "comment_form": lambda ctx, role, c: form(
        c, {"at_s": "0:01", "body": "Comment from %s" % role}),
    "reply_form": lambda ctx, role, c: form(
        c, {"body": "Reply from %s" % role}),
    "user_form": lambda ctx, role, c: form(c, {
        "email": "new%d@example.com" % next(_seq), "name": "New Person",
        "role": "student", "password": PW}),
    "course_form": lambda ctx, role, c: form(c, {
        "code": "NEW%d" % next(_seq), "title": "New course"}),
    "enrol_form": lambda ctx, role, c: form(c, {
        "email": "extra@example.com", "role": "student", "section": ""}),
    "enrol_json": lambda ctx, role, c: as_json({
        "email": "extra@example.com", "role": "student", "section": ""}),
    "course_json": lambda ctx, role, c: as_json({
        "code": "NEW%d" % next(_seq), "title": "New course"}),
    "user_json": lambda ctx, role, c: as_json({
        "email": "new%d@example.com" % next(_seq), "name": "New Person",
        "role": "student", "password": PW}),
    "bakeoff_json": lambda ctx, role, c: as_json({
        "backends": ["mistral"], "trials": 11, "last_n": 5}),
    "video": lambda ctx, role, c: (ctx.clip, {
        "Content-Type": "video/mp4", "X-Filename": "intro.mp4",
        "Accept": "application/json"}),
    "json_empty": lambda ctx, role, c: as_json({}),
    "token_form": lambda ctx, role, c: form(
        c, {"name": "made by %s" % role, "scope": "read"}),
    "token_json": lambda ctx, role, c: as_json(
        {"name": "made by %s" % role, "scope": "read"}),
    "priority_json": lambda ctx, role, c: as_json({"priority": 5}),
    "scores_json": lambda ctx, role, c: as_json({
        "criterion": ctx.criterion, "score": 4,
        "comment": "checked by %s" % role}),
    "comment_json": lambda ctx, role, c: as_json(
        {"at_s": 1, "body": "Comment from %s" % role}),
    "reply_json": lambda ctx, role, c: as_json(
        {"body": "Reply from %s" % role}),
    "tus": lambda ctx, role, c: (None, {"Tus-Resumable": "1.0.0"}),
    "tus_create": lambda ctx, role, c: (None, {
        "Tus-Resumable": "1.0.0", "Upload-Length": "1000",
        "Content-Length": "0"}),
    "tus_patch": lambda ctx, role, c: (b"", {
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": "0"}),
    "signup_bad_code": lambda ctx, role, c: form(c, {
        "name": "New Student", "email": "join%d@example.com" % next(_seq),
        "password": PW, "join_code": "NOSUCHCODE",
        "signin_csrf": c.signin_form_token("/signup")}),
    "reset_bad_code": lambda ctx, role, c: form(c, {
        "code": "not-a-code", "password": PW, "password2": PW}),
    "password_wrong_form": lambda ctx, role, c: form(c, {
        "current": "not-my-password", "password": PW + "x",
        "password2": PW + "x"}),
    "password_wrong_json": lambda ctx, role, c: as_json({
        "current": "not-my-password", "password": PW + "x"}),
    "user_save_form": lambda ctx, role, c: form(c, {
        "action": "save", "name": "S_IN", "email": "s_in@example.com"}),
    "user_patch_json": lambda ctx, role, c: as_json({"name": "S_IN"}),
    "rename_form": lambda ctx, role, c: form(c, {
        "action": "rename", "title": "Course A"}),
    "course_patch_json": lambda ctx, role, c: as_json({"title": "Course A"}),
    "roster_form": lambda ctx, role, c: form(c, {
        "action": "preview",
        "csv": "email,name,section\nroster%d@example.com,Roster Person,A\n"
        % next(_seq)}),
    "roster_csv": lambda ctx, role, c: (
        "email,name,section\nroster%d@example.com,Roster Person,A\n"
        % next(_seq), {"Content-Type": "text/csv",
                       "Accept": "application/json"}),
    "assignment_form": lambda ctx, role, c: form(c, {
        "title": "Set by %s" % role, "instructions": "Say who you are."}),
    "assignment_json": lambda ctx, role, c: as_json({
        "title": "Set by %s" % role, "instructions": "Say who you are."}),
    "time_zone_form": lambda ctx, role, c: form(c, {"time_zone": "UTC"}),
    "rubric_more_form": lambda ctx, role, c: form(c, {
        "title": "Matrix rubric", "min": "1", "max": "5", "more": "1"}),
    "rubric_json": lambda ctx, role, c: as_json(RUBRIC),
    "reevaluate_form": lambda ctx, role, c: form(c, {
        "assignment_id": str(ctx.last_assignment)}),
    "reevaluate_json": lambda ctx, role, c: as_json(
        {"rubric_id": ctx.rubric}),
    "consent_text_form": lambda ctx, role, c: form(c, {
        "text": "Your recording is kept for your teacher (%s)." % role}),
    "consent_text_json": lambda ctx, role, c: as_json(
        {"text": "Your recording is kept for your teacher (%s)." % role}),
    "consent_accept_form": lambda ctx, role, c: form(
        c, {"version": ctx.consent_version()}),
    "consent_accept_json": lambda ctx, role, c: as_json(
        {"version": int(ctx.consent_version())}),
    "deletion_form": lambda ctx, role, c: ctx.no_open_requests() or form(
        c, {"confirm": "1"}),
    "deletion_json": lambda ctx, role, c: ctx.no_open_requests() or as_json(
        {}),
    "confirm_form": lambda ctx, role, c: form(c, {"confirm": "1"}),
    "job_form": lambda ctx, role, c: form(c, {
        "spec": json.dumps(ctx.export_spec()), "parser": "form"}),
    "job_spec_json": lambda ctx, role, c: as_json(
        {"spec": ctx.export_spec()}),
}

# A small rubric of t_in's (and the body of rubric POSTs).
RUBRIC = {"name": "Matrix rubric", "scale": {"min": 1, "max": 5},
          "criteria": [{"key": "content", "title": "Content",
                        "description": "What the student says"},
                       {"key": "delivery", "title": "Delivery",
                        "description": "How they say it", "weight": 2}]}


def server_routes(server):
    """(method, pattern) of every route `introeval routes` prints."""
    p = server.cli("routes")
    return [(r["method"], r["pattern"]) for r in
            map(json.loads, p.stdout.splitlines())]


class AuthzMatrix(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.log_sources = [cls.server] + cls.stack.fakes
        people = [("%s@example.com" % n, n.upper(), role, PW) for n, role in (
            ("admin", "admin"), ("t_in", "teacher"), ("t_out", "teacher"),
            ("s_in", "student"), ("s_out", "student"), ("s_dis", "student"),
            ("extra", "student"))]
        harness.create_users(cls.server, people, course=None)
        cls.ids = {e.split("@")[0]: int(cls.sql(
            "SELECT id FROM users WHERE email = '%s'" % e))
            for e, _, _, _ in people}
        cls.course = cls.make_course("A", ("t_in", "teacher"),
                                     ("s_in", "student"),
                                     ("s_dis", "student"))
        cls.course_b = cls.make_course("B", ("t_out", "teacher"),
                                       ("s_out", "student"))
        cls.clients = {"anon": harness.Client(cls.server.url)}
        for name in ("s_in", "s_out", "t_in", "t_out", "admin", "s_dis"):
            cls.clients[name] = cls.login(name)
        # The disabled account: a cookie session and the same token as a
        # bearer, both taken before the account is disabled.
        dis = cls.clients.pop("s_dis")
        token = dis.cookies["introeval_session"]
        cls.dis_variants = {"cookie": dis,
                            "bearer": harness.Client(cls.server.url,
                                                     token=token)}
        # t_in's rubric, used by course A's assignment; course B has its
        # own assignment, so both students have one to upload to.
        cls.rubric = cls.clients["t_in"].post_json("/api/v1/rubrics",
                                                   RUBRIC)["id"]
        cls.assignment = int(cls.sql(
            "INSERT INTO assignments (course_id, title, rubric_id) VALUES "
            "(%d, 'Introduce yourself', %d) RETURNING id"
            % (cls.course, cls.rubric)).split()[0])
        cls.sql("INSERT INTO assignments (course_id, title) VALUES (%d, "
                "'Introduce yourself')" % cls.course_b)
        cls.clip_path = harness.short_intro("intro02")
        with open(cls.clip_path, "rb") as f:
            cls.clip = f.read()
        s_in = cls.clients["s_in"]
        cls.sub = s_in.upload(cls.clip_path)["id"]
        done = s_in.wait_for(cls.sub, timeout=240)
        assert done["status"] == "completed", done
        cls.criterion = sorted(done["evaluation"]["scores"])[0]
        r = s_in.expect("POST", "/api/v1/uploads", 201, headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": "1000",
            "Content-Length": "0"})
        cls.upload = int(r.header("Location").rsplit("/", 1)[1])
        cls.sql("UPDATE users SET disabled = true WHERE id = %d" %
                cls.ids["s_dis"])
        # A job of course A (an export: done as soon as it is made).
        cls.job = cls.clients["t_in"].post_json(
            "/api/v1/jobs", {"spec": cls.export_spec()}, expect=201)["id"]

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def sql(cls, q):
        return cls.pg.psql(q)

    @classmethod
    def login(cls, name):
        c = harness.Client(cls.server.url, timeout=60)
        c.login("%s@example.com" % name, PW)
        return c

    @classmethod
    def make_course(cls, code, *members):
        cid = int(cls.sql("INSERT INTO courses (code, title) VALUES "
                          "('%s', 'Course %s') RETURNING id" % (code, code)
                          ).split()[0])
        for name, role in members:
            cls.sql("INSERT INTO course_members (course_id, user_id, role) "
                    "VALUES (%d, %d, '%s')" % (cid, cls.ids[name], role))
        return cid

    @classmethod
    def export_spec(cls):
        return {"action": "export", "course_id": cls.course,
                "section": None, "assignment_id": None, "student_ids": [],
                "status": [], "since": None, "until": None,
                "backend": None, "rubric_version": None, "priority": None}

    # Objects that :id stands for, made afresh for each request.
    def fresh_comment(self, role):
        c = self.clients["t_in"].post_json(
            "/api/v1/submissions/%d/comments" % self.sub,
            {"at_s": 1, "body": "for %s" % role})
        return c["id"]

    def insert_submission(self, phase, status):
        """A submission of s_in in this state, which the scheduler leaves
        alone (its next attempt is a day away); its id."""
        return int(self.sql(
            "INSERT INTO submissions (student_id, stored_name, size_bytes, "
            "original_name, phase, status, next_attempt_at, completed_at, "
            "rubric_id) SELECT %d, 'x-' || gen_random_uuid(), 1000, "
            "'intro.mp4', '%s', '%s', now() + interval '1 day', CASE WHEN "
            "'%s' = 'failed' THEN now() END, (SELECT max(id) FROM rubrics) "
            "RETURNING id" % (self.ids["s_in"], phase, status, status)
        ).split()[0])

    def fresh_member(self, role):
        """A student enrolled in course A for this request alone:
        {":id": course, ":uid": the student}."""
        n = next(_seq)
        uid = int(self.sql(
            "WITH u AS (INSERT INTO users (email, name, role, password_hash) "
            "VALUES ('member%d@example.com', 'Member', 'student', '!') "
            "RETURNING id) INSERT INTO course_members (course_id, user_id, "
            "role) SELECT %d, id, 'student' FROM u RETURNING user_id"
            % (n, self.course)).split()[0])
        return {":id": self.course, ":uid": uid}

    def fresh_empty_assignment(self, role):
        """An assignment of course A with no submissions yet."""
        self.last_assignment = int(self.sql(
            "INSERT INTO assignments (course_id, title) VALUES (%d, "
            "'Empty %d') RETURNING id" % (self.course, next(_seq))).split()[0])
        return self.last_assignment

    def fresh_empty_assignment_rubric(self, role):
        """t_in's rubric, and an empty assignment for the form to name."""
        self.fresh_empty_assignment(role)
        return self.rubric

    def consent_version(self):
        return self.sql("SELECT coalesce(max(version), 0) FROM "
                        "consent_texts").split()[0]

    def no_open_requests(self):
        """Each student's deletion request is their only open one."""
        self.sql("UPDATE deletion_requests SET done_at = now() "
                 "WHERE done_at IS NULL")

    def fresh_bakeoff(self, role):
        """A bake-off with no runs yet."""
        return int(self.sql(
            "INSERT INTO bakeoffs (trials, backends, selection) VALUES "
            "(1, '{mistral}', 'the matrix') RETURNING id").split()[0])

    def fresh_deletion_request(self, role):
        """A student of their own who asked for deletion."""
        n = next(_seq)
        return int(self.sql(
            "WITH u AS (INSERT INTO users (email, name, role, password_hash) "
            "VALUES ('leaving%d@example.com', 'Leaving', 'student', '!') "
            "RETURNING id, email) INSERT INTO deletion_requests (user_id, "
            "email_sha256) SELECT id, encode(sha256(convert_to(email, "
            "'UTF8')), 'hex') FROM u RETURNING id" % n).split()[0])

    def node_name(self):
        """The node the server's scheduler runs, once it has said so."""
        return harness.wait_until(lambda: self.sql(
            "SELECT node FROM system_state LIMIT 1").strip(),
            "the scheduler wrote its node's state", timeout=120)

    def fresh_token(self, role):
        """An API token of t_in's (only its owner may revoke it)."""
        return self.clients["t_in"].post_json(
            "/api/v1/tokens", {"name": "for %s" % role, "scope": "read"},
            expect=201)["id"]

    def fresh_queued(self, role):
        return self.insert_submission("llm", "retry")

    def fresh_failed(self, role):
        return self.insert_submission("failed", "failed")

    def resolve(self, row, role):
        """The path for this role, and the client to send it from."""
        fixed = {"sub": lambda: self.sub, "course": lambda: self.course,
                 "upload": lambda: self.upload,
                 "student": lambda: self.ids["s_in"],
                 "rubric": lambda: self.rubric,
                 "assignment": lambda: self.assignment,
                 "job": lambda: self.job,
                 "node": lambda: {":name": self.node_name()}}
        if row.obj in fixed:
            oid = fixed[row.obj]()
        elif row.obj in (None, "fresh_session"):
            oid = None
        else:
            oid = getattr(self, row.obj)(role)
        path = row.pattern
        if isinstance(oid, dict):
            for k, v in oid.items():
                path = path.replace(k, str(v))
        elif ":id" in path:
            assert oid is not None, row
            path = path.replace(":id", str(oid))
        return path

    def send(self, row, role, client):
        path = self.resolve(row, role)
        if row.body == "websocket":
            return path, self.open_websocket(path, client)
        body, headers = (None, {})
        if row.body is not None:
            body, headers = BODIES[row.body](self, role, client)
        return path, client.request(row.method, path, body=body,
                                    headers=headers)

    def open_websocket(self, path, client):
        """The handshake's status, as a Response without a body."""
        cookie = "; ".join("%s=%s" % kv for kv in client.cookies.items())
        try:
            WsClient.connect(self.server.url, path, cookie=cookie or None,
                             token=client.token).close()
            return harness.Response(101, [], b"")
        except HandshakeError as e:
            return harness.Response(e.status, [], e.text.encode())

    @staticmethod
    def verdict(resp, expected):
        if expected == LOGIN:
            loc = resp.header("Location") or ""
            return resp.status == 303 and loc.endswith("/login")
        return resp.status == expected

    def test_matrix_covers_every_route(self):
        have = server_routes(self.server)
        rows = [(r.method, r.pattern) for r in MATRIX]
        dup = [k for k, n in collections.Counter(rows).items() if n > 1]
        self.assertEqual(dup, [], "routes with two MATRIX rows")
        missing = sorted(set(have) - set(rows))
        extra = sorted(set(rows) - set(have))
        self.assertEqual(missing, [], "routes of `introeval routes` with "
                         "no MATRIX row: add one line each (see the top "
                         "of this file)")
        self.assertEqual(extra, [], "MATRIX rows for routes the server "
                         "does not have")
        for r in MATRIX:
            self.assertEqual(len(r.expect), len(ROLES), r)

    def test_every_role_gets_exactly_the_allowed_answer(self):
        wrong = []
        for row in MATRIX:
            for role, expected in zip(ROLES, row.expect):
                if role == "dis":
                    clients = self.dis_variants.items()
                elif row.obj == "fresh_session" and role != "anon":
                    clients = [("", self.login(role))]
                else:
                    clients = [("", self.clients[role])]
                for variant, client in clients:
                    path, resp = self.send(row, role, client)
                    if not self.verdict(resp, expected):
                        wrong.append("%s %s as %s%s: expected %s, got %d %s"
                                     % (row.method, path, role,
                                        " (%s)" % variant if variant else "",
                                        expected, resp.status,
                                        resp.header("Location") or
                                        resp.text[:120].replace("\n", " ")))
        self.assertEqual(wrong, [], "\n" + "\n".join(wrong))

    def test_lists_and_live_topics_follow_the_same_rule(self):
        """The lists and the WebSocket topic answer as the routes do:
        a teacher of another course neither lists s_in's submission nor
        may follow it live; its own teacher and the admin do both."""
        for role, sees in (("t_in", True), ("admin", True),
                           ("t_out", False), ("s_out", False),
                           ("s_in", True)):
            # A session of its own: the matrix's last rows sign the
            # shared clients out everywhere.
            c = self.login(role)
            ids = [x["id"] for x in c.get_json(
                "/api/v1/submissions")["submissions"]]
            self.assertEqual(self.sub in ids, sees, "%s's list" % role)
            self.assertEqual(("/submissions/%d\"" % self.sub) in c.expect(
                "GET", "/", 200).text, sees, "%s's home page" % role)
            cookie = "introeval_session=" + c.cookies["introeval_session"]
            ws = WsClient.connect(self.server.url, cookie=cookie)
            try:
                self.assertEqual(ws.recv_json(10)["type"], "hello")
                ws.send_json({"type": "subscribe",
                              "topic": "submission:%d" % self.sub})
                m = ws.recv_json(10)
                while m is not None and m.get("type") not in (
                        "subscribed", "error"):
                    m = ws.recv_json(10)
                self.assertIsNotNone(m, "%s: no answer" % role)
                self.assertEqual(m["type"], "subscribed" if sees else
                                 "error", "%s: %s" % (role, m))
                if not sees:
                    self.assertEqual(m["error"], "no such submission")
            finally:
                ws.close()

    def test_disabled_column_is_anonymous_where_sign_in_is_needed(self):
        """A disabled account is never signed in: wherever the
        anonymous column refuses, the disabled one refuses the same."""
        for row in MATRIX:
            anon, dis = row.expect[0], row.expect[-1]
            if anon in (LOGIN, 401):
                self.assertEqual(dis, anon, row)


if __name__ == "__main__":
    harness.main()
