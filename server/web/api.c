/*
 * api: JSON handlers. Thin by rule: authorize, call store, answer.
 */
#include "api.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

#include "api_query.h"
#include "app.h"
#include "db.h"
#include "log.h"
#include "util.h"

static int	action_answer(struct req *, const char *, int);
static void	hide_unverified(json_t *);
#include "http.h"
#include "node.h"
#include "queue.h"
#include "review.h"
#include "submission.h"

int
api_load_submission(struct req *r, json_t **out)
{
	char err[512];
	bool found;
	json_t *sub, *queue, *rev;

	*out = NULL;
	if (!submission_json(r->app->db, r->id, &sub, &found, err,
	    sizeof(err)))
		return http_db_error(r);
	if (!found || (strcmp(r->user.role, "student") == 0 &&
	    json_integer_value(json_object_get(sub, "student_id")) !=
	    r->user.id)) {
		json_decref(sub);
		return http_error(r, 404, "no such submission");
	}
	if (strcmp(r->user.role, "student") == 0)
		hide_unverified(json_object_get(json_object_get(sub,
		    "evaluation"), "evidence"));
	/* Final scores and teachers' adjustments; the trail for staff. */
	if (!review_json(r->app->db, r->id, strcmp(r->user.role, "student")
	    != 0, &rev, err, sizeof(err))) {
		json_decref(sub);
		return http_db_error(r);
	}
	json_object_update(sub, rev);
	json_decref(rev);
	/* Where it stands is a convenience: its absence is not an error. */
	if (node_queue_json(r->app->db, r->id, &queue, err, sizeof(err)))
		json_object_set_new(sub, "queue", queue);
	*out = sub;
	return 0;
}

/*
 * A quote the model gave that was not found in the transcript is kept
 * for staff only: a student is never told they said what they did not.
 */
static void
hide_unverified(json_t *evidence)
{
	const char *key;
	json_t *e;
	void *tmp;

	json_object_foreach_safe(evidence, tmp, key, e)
		if (!json_is_true(json_object_get(e, "verified")))
			json_object_del(evidence, key);
}

bool
api_apply_action(struct req *r, const char *action, int priority,
    int *status, char *msg, size_t msglen)
{
	char err[512];
	bool found = false, ok;

	if (strcmp(action, "cancel") == 0)
		ok = queue_cancel(r->app->db, r->id, r->user.name, &found, err,
		    sizeof(err));
	else if (strcmp(action, "retry") == 0)
		ok = queue_retry(r->app->db, r->id, &found, err, sizeof(err));
	else if (strcmp(action, "priority") == 0)
		ok = queue_set_priority(r->app->db, r->id, priority, &found,
		    err, sizeof(err));
	else {
		*status = 400;
		return util_seterr(msg, msglen, "unknown action");
	}
	if (!ok) {	/* callers answer 503 with http_db_error */
		const char *words, *retry;

		*status = http_db_status(&words, &retry);
		return util_seterr(msg, msglen, "%s", words);
	}
	if (!found) {
		*status = 409;
		return util_seterr(msg, msglen, "submission %lld cannot be "
		    "%s now (finished, or no such submission)", r->id,
		    strcmp(action, "cancel") == 0 ? "cancelled" :
		    strcmp(action, "retry") == 0 ? "retried" : "changed");
	}
	log_info("submission=%lld %s by user=%lld", r->id, action, r->user.id);
	*status = 200;
	return true;
}

static int
action_answer(struct req *r, const char *action, int priority)
{
	char msg[512];
	json_t *sub;
	int status;

	if (!api_apply_action(r, action, priority, &status, msg, sizeof(msg)))
		return status == 503 ? http_db_error(r) :
		    http_error(r, status, "%s", msg);
	if ((status = api_load_submission(r, &sub)) != 0)
		return status;
	return http_json(r, 200, sub);
}

int
api_submission_cancel(struct req *r)
{
	return action_answer(r, "cancel", 0);
}

int
api_submission_retry(struct req *r)
{
	return action_answer(r, "retry", 0);
}

/*
 * The path is built here from the row's stored name (chosen by the
 * server at intake), never from the request; CivetWeb's file serving is
 * not used (DESIGN.md). Another student's recording is "no such
 * submission", as everywhere else.
 */
int
api_submission_media(struct req *r)
{
	struct submission_media m;
	struct stat st;
	char err[512], path[1024];
	bool found;
	int fd, status;

	if (!submission_media(r->app->db, r->id, &m, &found, err,
	    sizeof(err)))
		return http_db_error(r);
	if (!found || (strcmp(r->user.role, "student") == 0 &&
	    m.student_id != r->user.id))
		return http_error(r, 404, "no such submission");
	if (strchr(m.stored_name, '/') != NULL || m.stored_name[0] == '.' ||
	    m.stored_name[0] == '\0')
		return http_error(r, 404, "no such submission");
	if (m.removed_on[0] != '\0')
		return http_error(r, 410, "this recording was removed on %s "
		    "under the lab's retention policy; the transcript, scores "
		    "and comments are kept", m.removed_on);
	snprintf(path, sizeof(path), "%s/%s", r->app->uploads_dir,
	    m.stored_name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		log_warn("submission=%lld: recording %s", r->id, path);
		return http_error(r, 410, "this recording is no longer kept");
	}
	status = http_send_file(r, fd, (long long)st.st_size,
	    m.content_type);
	close(fd);
	return status;
}

int
api_submission_priority(struct req *r)
{
	json_t *body;
	json_int_t prio;
	char *text;

	if (!http_read_body(r, &text))
		return 413;
	body = json_loads(text, 0, NULL);
	free(text);
	if (json_unpack(body, "{s:I}", "priority", &prio) != 0 ||
	    prio < -QUEUE_PRIORITY_MAX || prio > QUEUE_PRIORITY_MAX) {
		int status = http_error_member(r, 400, body, "priority",
		    "send {\"priority\": N} with N between %d and %d",
		    -QUEUE_PRIORITY_MAX, QUEUE_PRIORITY_MAX);

		json_decref(body);
		return status;
	}
	json_decref(body);
	return action_answer(r, "priority", (int)prio);
}

int
api_system(struct req *r)
{
	char err[512];
	json_t *out;

	if (!node_system_json(r->app->db, &out, err, sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, out);
}

int
api_me(struct req *r)
{
	return http_json(r, 200, json_pack("{s:I, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)r->user.id, "email", r->user.email,
	    "name", r->user.name, "role", r->user.role,
	    "csrf_token", r->user.csrf));
}

/*
 * GET /api/v1/submissions: what the caller may see (submission_list's
 * rule), narrowed by the query's filters, a page at a time.
 */
int
api_submissions_list(struct req *r)
{
	static const char *const statuses[] = { "pending", "processing",
	    "completed", "failed", "retry", NULL };
	static const char *const phases[] = { "prep", "stt", "llm",
	    "completed", "failed", NULL };
	const char *qs = r->ri->query_string;
	char err[512], status[16], phase[16];
	char since[API_TIME_LEN], until[API_TIME_LEN];
	struct submission_filter f;
	struct api_page pg;
	struct api_bad bad;
	json_t *list;

	memset(&f, 0, sizeof(f));
	if (!api_query_id(qs, "course_id", &f.course_id, &bad) ||
	    !api_query_id(qs, "assignment_id", &f.assignment_id, &bad) ||
	    !api_query_id(qs, "student_id", &f.student_id, &bad) ||
	    !api_query_word(qs, "status", statuses, status, sizeof(status),
	    &bad) || !api_query_word(qs, "phase", phases, phase,
	    sizeof(phase), &bad) || !api_query_time(qs, "since", since, &bad) ||
	    !api_query_time(qs, "until", until, &bad) ||
	    !api_query_page(qs, API_PAGE_DEFAULT, API_PAGE_MAX, &pg, &bad))
		return api_refuse(r, &bad);
	f.status = status[0] != '\0' ? status : NULL;
	f.phase = phase[0] != '\0' ? phase : NULL;
	f.since = since[0] != '\0' ? since : NULL;
	f.until = until[0] != '\0' ? until : NULL;
	f.after_us = pg.after_us;
	f.after_id = pg.after ? pg.after_id : 0;
	f.limit = pg.limit + 1;	/* one more says whether a next page is */
	if (!submission_list_where(r->app->db, r->user.id, r->user.role, &f,
	    &list, err, sizeof(err)))
		return http_db_error(r);
	return api_page_answer(r, "submissions", list, pg.limit);
}

int
api_submission_get(struct req *r)
{
	json_t *sub;
	int rc;

	if ((rc = api_load_submission(r, &sub)) != 0)
		return rc;
	return http_json(r, 200, sub);
}
