/*
 * jobspec_resolve: the names in a request, against the context: the
 * section ("section B", "B section", "sec. b"), the assignment ("assignment
 * 2", or its title), the backend ("llama3"; "qwen" for the one backend
 * named qwen-something), the students (full name, first or last name,
 * e-mail, student number; "Priya's") and the numbers of priority, rubric
 * version and course. A name that fits several things is a question
 * listing them, never a pick; a name that fits nothing after a word that
 * announces one ("student", "with", "Zed's") is a question too.
 * Multi-word names compare with spaces and hyphens removed, so
 * "Mary-Jane", "mary jane" and "Maryjane" are one name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec_impl.h"
#include "util.h"

static bool	 is(const struct js_parse *, size_t, const char *);
static bool	 free_tok(const struct js_parse *, size_t);
static void	 numbers(struct js_parse *);
static void	 sections(struct js_parse *);
static void	 set_section(struct js_parse *, const char *);
static void	 assignments(struct js_parse *);
static void	 backends(struct js_parse *);
static void	 students(struct js_parse *);
static bool	 name_is(const char *, const char *, bool);
static void	 add_student(struct js_parse *, long long);
static size_t	 window(const struct js_parse *, size_t, size_t, char *, size_t);
static void	 ask_student(struct js_parse *, const char *, const char *,
		    const size_t *, size_t);
static void	 ask_assignment(struct js_parse *, const char *, const char *,
		    const size_t *, size_t);

static bool
is(const struct js_parse *p, size_t i, const char *w)
{
	return i < p->n && strcmp(p->t[i].w, w) == 0;
}

static bool
free_tok(const struct js_parse *p, size_t i)
{
	return i < p->n && !p->t[i].used;
}

/* Tokens i..i+len-1, all unclaimed, concatenated; 0 when not possible. */
static size_t
window(const struct js_parse *p, size_t i, size_t len, char *out,
    size_t outlen)
{
	size_t k, o = 0;
	char key[JS_WORD];

	out[0] = '\0';
	for (k = i; k < i + len; k++) {
		if (!free_tok(p, k) || (k > i && p->t[k - 1].poss))
			return 0;
		js_key(p->t[k].w, key, sizeof(key));
		o += snprintf(out + o, o < outlen ? outlen - o : 0, "%s", key);
	}
	return o < outlen ? len : 0;
}

static void
numbers(struct js_parse *p)
{
	size_t i, k;
	int v;

	for (i = 0; i < p->n; i++) {
		if (p->t[i].used)
			continue;
		if (is(p, i, "priority") || is(p, i, "prio")) {
			k = i + 1;
			if (is(p, k, "of") || is(p, k, "level"))
				k++;
			if (k < p->n && strspn(p->t[k].w, "0123456789") ==
			    strlen(p->t[k].w) && strlen(p->t[k].w) <= 9) {
				p->priority = atol(p->t[k].w);
				for (; i <= k; i++)
					p->t[i].used = true;
				i--;
				continue;
			}
			p->t[i].used = true;
			if (i > 0 && !p->t[i - 1].used && (is(p, i - 1, "low") ||
			    is(p, i - 1, "lowest") || is(p, i - 1, "bottom"))) {
				p->t[i - 1].used = true;
				p->priority = 0;
			} else {
				if (i > 0 && (is(p, i - 1, "high") ||
				    is(p, i - 1, "highest") ||
				    is(p, i - 1, "top") || is(p, i - 1, "max") ||
				    is(p, i - 1, "maximum")))
					p->t[i - 1].used = true;
				p->priority = JOBSPEC_PRIORITY_MAX;
			}
			p->actions |= 1u << JS_PRIORITIZE;
		} else if (is(p, i, "rubric") || is(p, i, "version")) {
			k = i + 1;
			if (is(p, i, "rubric") && is(p, k, "version"))
				k++;
			if (k < p->n && p->t[k].w[0] == 'v' &&
			    (v = js_number(p->t[k].w + 1)) >= 0)
				;
			else if ((v = k < p->n ? js_number(p->t[k].w) : -1) < 0)
				continue;
			json_object_set_new(p->spec, "rubric_version",
			    json_integer(v));
			for (; i <= k; i++)
				p->t[i].used = true;
			i--;
		} else if (is(p, i, "course")) {
			k = i + 1;
			if (is(p, k, "id") || is(p, k, "number"))
				k++;
			if (k >= p->n || strspn(p->t[k].w, "0123456789") !=
			    strlen(p->t[k].w) || strlen(p->t[k].w) > 12)
				continue;
			json_object_set_new(p->spec, "course_id",
			    json_integer(atoll(p->t[k].w)));
			for (; i <= k; i++)
				p->t[i].used = true;
			i--;
		}
	}
}

static void
set_section(struct js_parse *p, const char *name)
{
	const char *had = json_string_value(json_object_get(p->spec,
	    "section"));

	if (had != NULL && strcmp(had, name) != 0)
		p->fail = true;		/* the spec holds one section */
	else
		json_object_set_new(p->spec, "section", json_string(name));
}

static void
sections(struct js_parse *p)
{
	const jobspec_ctx *c = p->ctx;
	char key[JS_WORD];
	size_t i, j, k;
	json_t *q;

	for (i = 0; i < p->n; i++) {
		if (p->t[i].used || !(is(p, i, "section") || is(p, i, "sec") ||
		    is(p, i, "sect")))
			continue;
		/* "section B" or "B section" */
		for (k = i + 1; ; k = i - 1) {
			if (free_tok(p, k) && !(k > i && p->t[i].poss)) {
				for (j = 0; j < c->n_sections; j++) {
					js_key(c->sections[j], key,
					    sizeof(key));
					if (strcmp(key, p->t[k].w) == 0)
						break;
				}
				if (j < c->n_sections) {
					set_section(p, c->sections[j]);
					p->t[i].used = p->t[k].used = true;
					break;
				}
			}
			if (k < i || i == 0)
				break;
		}
		if (p->t[i].used || !free_tok(p, i + 1) || p->t[i].poss ||
		    strlen(p->t[i + 1].w) > 3 || js_is_filler(p->t[i + 1].w))
			continue;
		/* "section Q": a short word after "section" names one. */
		q = jobspec_question(p->qs, "unknown_section", "section",
		    "There is no section \"%s\" in this course.",
		    p->t[i + 1].w);
		for (j = 0; j < c->n_sections; j++)
			jobspec_candidate(q, (long long)j + 1, c->sections[j]);
		p->t[i].used = p->t[i + 1].used = true;
	}
}

static void
ask_assignment(struct js_parse *p, const char *code, const char *what,
    const size_t *which, size_t n)
{
	const jobspec_ctx *c = p->ctx;
	json_t *q;
	size_t j;
	char *label;

	q = jobspec_question(p->qs, code, "assignment_id", code[0] == 'a' ?
	    "\"%s\" fits several assignments: which one?" :
	    "There is no assignment \"%s\" in this course.", what);
	for (j = 0; j < (which != NULL ? n : c->n_assignments); j++) {
		const jobspec_assignment *a =
		    &c->assignments[which != NULL ? which[j] : j];

		label = xasprintf("Assignment %d: %s", a->number, a->title);
		jobspec_candidate(q, a->id, label);
		free(label);
	}
}

static void
assignments(struct js_parse *p)
{
	const jobspec_ctx *c = p->ctx;
	size_t i, j, len, best_len = 0, best_i = 0, nbest = 0, *best;
	char win[JS_WORD * 8], key[JS_WORD * 8];
	int num;

	best = xcalloc(c->n_assignments + 1, sizeof(*best));
	for (i = 0; i < p->n; i++) {
		if (p->t[i].used || !(is(p, i, "assignment") || is(p, i, "hw") ||
		    is(p, i, "homework")) || !free_tok(p, i + 1) ||
		    (num = js_number(p->t[i + 1].w)) < 0)
			continue;
		p->t[i].used = p->t[i + 1].used = true;
		for (j = 0; j < c->n_assignments; j++)
			if (c->assignments[j].number == num)
				break;
		if (j < c->n_assignments)
			json_object_set_new(p->spec, "assignment_id",
			    json_integer(c->assignments[j].id));
		else {
			snprintf(win, sizeof(win), "assignment %d", num);
			ask_assignment(p, "unknown_assignment", win, NULL, 0);
		}
	}
	/* By title: the longest title written in the request. */
	for (i = 0; i < p->n; i++)
		for (len = 8; len >= 1; len--) {
			if (window(p, i, len, win, sizeof(win)) == 0)
				continue;
			for (j = 0; j < c->n_assignments; j++) {
				js_key(c->assignments[j].title, key,
				    sizeof(key));
				if (key[0] == '\0' || strcmp(key, win) != 0)
					continue;
				if (len > best_len) {
					best_len = len;
					best_i = i;
					nbest = 0;
				}
				if (len == best_len && best_i == i)
					best[nbest++] = j;
			}
		}
	if (best_len > 0) {
		for (i = best_i; i < best_i + best_len; i++)
			p->t[i].used = true;
		if (nbest == 1)
			json_object_set_new(p->spec, "assignment_id",
			    json_integer(c->assignments[best[0]].id));
		else
			ask_assignment(p, "ambiguous_assignment",
			    c->assignments[best[0]].title, best, nbest);
	}
	free(best);
}

static void
backends(struct js_parse *p)
{
	const jobspec_ctx *c = p->ctx;
	char key[JS_WORD];
	size_t i, j, n, hit = 0, len;
	json_t *q;

	for (i = 0; i < p->n; i++) {
		if (p->t[i].used)
			continue;
		for (j = 0; j < c->n_backends; j++) {
			js_key(c->backends[j], key, sizeof(key));
			if (strcmp(key, p->t[i].w) == 0)
				break;
		}
		if (j < c->n_backends) {
			json_object_set_new(p->spec, "backend",
			    json_string(c->backends[j]));
			p->t[i].used = true;
			continue;
		}
		/* "qwen" for "qwen2.5:7b": a name's leading letters. */
		len = strlen(p->t[i].w);
		if (len < 3 || js_is_filler(p->t[i].w))
			continue;
		for (j = 0; j < len; j++)
			if (!isalpha((unsigned char)p->t[i].w[j]))
				break;
		if (j < len)
			continue;
		for (n = 0, j = 0; j < c->n_backends; j++) {
			js_key(c->backends[j], key, sizeof(key));
			if (strncmp(key, p->t[i].w, len) == 0 &&
			    !isalpha((unsigned char)key[len])) {
				hit = j;
				n++;
			}
		}
		if (n == 0)
			continue;
		p->t[i].used = true;
		if (n == 1) {
			json_object_set_new(p->spec, "backend",
			    json_string(c->backends[hit]));
			continue;
		}
		q = jobspec_question(p->qs, "unknown_backend", "backend",
		    "\"%s\" fits several backends: which one?", p->t[i].w);
		for (j = 0; j < c->n_backends; j++) {
			js_key(c->backends[j], key, sizeof(key));
			if (strncmp(key, p->t[i].w, len) == 0 &&
			    !isalpha((unsigned char)key[len]))
				jobspec_candidate(q, (long long)j + 1,
				    c->backends[j]);
		}
	}
}

/* Whether the words' key is the student's first name, last name or
   (when full) whole name: "Mary-Jane Watson" is "maryjane", "watson",
   "maryjanewatson". */
static bool
name_is(const char *name, const char *key, bool full)
{
	char part[JS_WORD * 4], k[JS_WORD * 4];
	const char *sp = strrchr(name, ' ');

	if (full) {
		js_key(name, k, sizeof(k));
		if (strcmp(k, key) == 0)
			return true;
	}
	snprintf(part, sizeof(part), "%.*s", (int)strcspn(name, " "), name);
	js_key(part, k, sizeof(k));
	if (strcmp(k, key) == 0)
		return true;
	if (sp == NULL)
		return false;
	js_key(sp + 1, k, sizeof(k));
	return strcmp(k, key) == 0;
}

static void
add_student(struct js_parse *p, long long id)
{
	json_t *e;
	size_t i;

	json_array_foreach(p->students, i, e)
		if (json_integer_value(e) == id)
			return;
	json_array_append_new(p->students, json_integer(id));
}

/* A question about a name, with the students at which[0..n) as
   candidates (the ones it fits, or near names when it fits none). */
static void
ask_student(struct js_parse *p, const char *code, const char *what,
    const size_t *which, size_t n)
{
	json_t *q;
	size_t j;
	char *label;

	if (code[0] == 'a')
		q = jobspec_question(p->qs, code, "student_ids",
		    "\"%s\" fits %zu students: which one?", what, n);
	else
		q = jobspec_question(p->qs, code, "student_ids",
		    "There is no student \"%s\" in this course.", what);
	for (j = 0; j < n; j++) {
		label = jobspec_student_label(&p->ctx->students[which[j]]);
		jobspec_candidate(q, p->ctx->students[which[j]].id, label);
		free(label);
	}
}

static void
students(struct js_parse *p)
{
	const jobspec_ctx *c = p->ctx;
	char win[JS_WORD * 4], key[JS_WORD * 4];
	size_t i, j, len, n, *hits;

	hits = xcalloc(c->n_students + 1, sizeof(*hits));
	/* Full names first, longest first. */
	for (len = 4; len >= 2; len--)
		for (i = 0; i < p->n; i++) {
			if (window(p, i, len, win, sizeof(win)) == 0)
				continue;
			for (n = 0, j = 0; j < c->n_students; j++)
				if (name_is(c->students[j].name, win, true))
					hits[n++] = j;
			if (n == 0)
				continue;
			for (j = i; j < i + len; j++)
				p->t[j].used = true;
			if (n == 1)
				add_student(p, c->students[hits[0]].id);
			else
				ask_student(p, "ambiguous_student",
				    c->students[hits[0]].name, hits, n);
		}
	/* E-mail addresses and student numbers. */
	for (i = 0; i < p->n; i++) {
		if (p->t[i].used)
			continue;
		for (n = 0, j = 0; j < c->n_students; j++) {
			if (c->students[j].email != NULL)
				js_norm(c->students[j].email, key, sizeof(key));
			else
				key[0] = '\0';
			if (strcmp(key, p->t[i].w) == 0)
				hits[n++] = j;
			else if (c->students[j].number != NULL) {
				js_norm(c->students[j].number, key,
				    sizeof(key));
				if (strcmp(key, p->t[i].w) == 0)
					hits[n++] = j;
			}
		}
		if (n == 1) {
			add_student(p, c->students[hits[0]].id);
			p->t[i].used = true;
		} else if (n > 1) {
			ask_student(p, "ambiguous_student", p->t[i].w, hits, n);
			p->t[i].used = true;
		} else if (strchr(p->t[i].w, '@') != NULL) {
			ask_student(p, "unknown_student", p->t[i].w, NULL, 0);
			p->t[i].used = true;
		}
	}
	/* A first or last name alone; a word of the vocabulary stays one
	   unless written as a name ("Will's", "student Will"). */
	for (i = 0; i < p->n; i++) {
		if (p->t[i].used || (js_is_keyword(p->t[i].w) &&
		    !p->t[i].poss && !(i > 0 && is(p, i - 1, "student"))))
			continue;
		for (n = 0, j = 0; j < c->n_students; j++)
			if (name_is(c->students[j].name, p->t[i].w, false))
				hits[n++] = j;
		if (n == 0)
			continue;
		p->t[i].used = true;
		if (n == 1)
			add_student(p, c->students[hits[0]].id);
		else
			ask_student(p, "ambiguous_student", p->t[i].w, hits, n);
	}
	free(hits);
}

void
js_resolve(struct js_parse *p)
{
	numbers(p);
	sections(p);
	assignments(p);
	backends(p);
	students(p);
}

/* Students whose names are near w, as candidates for a question. */
static size_t
near_students(const struct js_parse *p, const char *w, size_t *hits)
{
	const jobspec_ctx *c = p->ctx;
	char key[JS_WORD * 4], part[JS_WORD];
	const char *s;
	size_t j, n = 0, k;

	for (j = 0; j < c->n_students; j++) {
		s = c->students[j].name;
		while (*s != '\0') {
			k = strcspn(s, " ");
			snprintf(part, sizeof(part), "%.*s", (int)k, s);
			js_key(part, key, sizeof(key));
			if (strlen(w) >= 3 && js_distance(key, w) <= 2) {
				hits[n++] = j;
				break;
			}
			s += k;
			s += strspn(s, " ");
		}
	}
	return n;
}

void
js_leftovers(struct js_parse *p)
{
	const char *prev;
	size_t i, j, n, *hits;
	json_t *q;

	hits = xcalloc(p->ctx->n_students + 1, sizeof(*hits));
	for (i = 0; i < p->n && !p->fail; i++) {
		if (p->t[i].used)
			continue;
		prev = i > 0 ? p->t[i - 1].w : "";
		p->t[i].used = true;
		if (p->t[i].poss || strcmp(prev, "student") == 0) {
			n = near_students(p, p->t[i].w, hits);
			ask_student(p, "unknown_student", p->t[i].w, hits, n);
		} else if (strcmp(prev, "with") == 0 ||
		    strcmp(prev, "using") == 0 || strcmp(prev, "via") == 0 ||
		    strcmp(prev, "backend") == 0 ||
		    strcmp(prev, "model") == 0) {
			q = jobspec_question(p->qs, "unknown_backend",
			    "backend", "There is no backend \"%s\".",
			    p->t[i].w);
			for (j = 0; j < p->ctx->n_backends; j++)
				jobspec_candidate(q, (long long)j + 1,
				    p->ctx->backends[j]);
		} else
			p->fail = true;
	}
	free(hits);
}
