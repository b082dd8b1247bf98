/*
 * jobs_llm: a job request the rules cannot read, asked of a language
 * model (jobs.h). The answer is constrained by the published job schema
 * (Ollama's `format`, OpenAI's `response_format` json_schema), and the
 * prompt lists what the model needs to fill in ids: the requester's
 * courses, roster, assignments, sections and backends, now and the time
 * zone.
 *
 * Why a direct call and not the pool: the pool is paused for every STT
 * phase (minutes under load) and absent on web-only nodes, and a
 * teacher's preview must answer in seconds. The call is small (one short
 * prompt, num_predict bounded), limited by jobs_llm_timeout_s, made to
 * the configured backends one after another, and refused while any node
 * records an STT phase, so it does not knowingly share the GPU with
 * speech recognition. It is not in the phase log. A site that wants no
 * model outside the scheduler sets jobs_llm_timeout_s to 0: the rules
 * still work and an unreadable request becomes a question.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "jobs.h"
#include "llm.h"
#include "log.h"
#include "util.h"

static char	*prompt_for(const char *, const jobspec_ctx *);
static bool	 backend_from(json_t *, int, struct llm_backend *);

static const char system_prompt[] =
    "You turn a teacher's request about students' recorded "
    "introductions into one job specification, a JSON object that "
    "follows the given schema exactly. Use only ids listed in the "
    "context; never invent one. When the request does not name a "
    "filter, use null (or an empty list). Times are ISO 8601 with an "
    "offset, resolved in the given time zone. Answer with the JSON "
    "object only.";

/* The request and the context, as plain text for the model. */
static char *
prompt_for(const char *request, const jobspec_ctx *ctx)
{
	struct buf b = BUF_INIT;
	char now[64];
	struct tm tm;
	size_t i;

	gmtime_r(&ctx->now, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(&b, "Now: %s (UTC). Time zone of the course: %s.\n", now,
	    ctx->tz != NULL ? ctx->tz : "UTC");
	buf_printf(&b, "Current course id: %lld. Courses the teacher may "
	    "act on:", ctx->course_id);
	for (i = 0; i < ctx->n_course_ids; i++)
		buf_printf(&b, " %lld", ctx->course_ids[i]);
	buf_puts(&b, "\nStudents (id, name, email, student number, "
	    "section):\n");
	for (i = 0; i < ctx->n_students; i++)
		buf_printf(&b, "- %lld, %s, %s, %s, %s\n", ctx->students[i].id,
		    ctx->students[i].name, ctx->students[i].email,
		    ctx->students[i].number, ctx->students[i].section);
	buf_puts(&b, "Assignments (id, number, title):\n");
	for (i = 0; i < ctx->n_assignments; i++)
		buf_printf(&b, "- %lld, %d, %s\n", ctx->assignments[i].id,
		    ctx->assignments[i].number, ctx->assignments[i].title);
	buf_puts(&b, "Sections:");
	for (i = 0; i < ctx->n_sections; i++)
		buf_printf(&b, " \"%s\"", ctx->sections[i]);
	buf_puts(&b, "\nBackends:");
	for (i = 0; i < ctx->n_backends; i++)
		buf_printf(&b, " \"%s\"", ctx->backends[i]);
	buf_printf(&b, "\nThe highest priority (\"to the front\") is %d.\n",
	    JOBSPEC_PRIORITY_MAX);
	/* The request is quoted so the model reads it as data. */
	buf_printf(&b, "\nThe teacher's request:\n\"\"\"%s\"\"\"\n", request);
	return buf_release(&b);
}

static bool
backend_from(json_t *o, int timeout_s, struct llm_backend *be)
{
	memset(be, 0, sizeof(*be));
	be->name = (char *)json_string_value(json_object_get(o, "name"));
	be->type = (char *)json_string_value(json_object_get(o, "type"));
	be->url = (char *)json_string_value(json_object_get(o, "url"));
	be->model = (char *)json_string_value(json_object_get(o, "model"));
	be->api_key = (char *)json_string_value(json_object_get(o,
	    "api_key"));
	be->max_concurrent = 1;
	be->timeout_s = timeout_s;
	be->stall_s = timeout_s;
	return be->name != NULL && be->url != NULL && be->model != NULL;
}

bool
jobs_llm_parse(const struct config *cfg, const char *request,
    const jobspec_ctx *ctx, json_t **spec, char *err, size_t errlen)
{
	struct llm_request req;
	struct llm_response resp;
	struct llm_backend be;
	json_t *schema, *b;
	char *prompt, why[512] = "no language model is configured";
	size_t i;
	bool ok = false;

	*spec = NULL;
	if (cfg->jobs_llm_timeout_s <= 0)
		return util_seterr(err, errlen, "it is turned off here "
		    "(jobs_llm_timeout_s is 0)");
	if ((schema = json_loads(jobspec_schema_json, 0, NULL)) == NULL)
		return util_seterr(err, errlen, "the job schema is not JSON");
	prompt = prompt_for(request, ctx);
	memset(&req, 0, sizeof(req));
	req.prompt = prompt;
	req.system = system_prompt;
	req.format = schema;
	req.format_name = "job_spec";
	req.options = json_pack("{s:i, s:i, s:i}", "temperature", 0, "seed",
	    cfg->llm_seed, "num_predict", 512);
	json_array_foreach(cfg->llm_backends, i, b) {
		if (!backend_from(b, cfg->jobs_llm_timeout_s, &be))
			continue;
		if (!llm_generate(&be, &req, &resp, why, sizeof(why))) {
			log_info("jobs: backend=%s could not read a request: %s",
			    be.name, why);
			continue;
		}
		*spec = json_loads(resp.content != NULL ? resp.content : "", 0,
		    NULL);
		log_info("jobs: backend=%s model=%s read a request (%s)",
		    be.name, resp.model != NULL ? resp.model : "?",
		    *spec != NULL ? "JSON" : "not JSON");
		llm_response_free(&resp);
		if (*spec == NULL) {
			/* Still an answer: refused as an invalid spec. */
			*spec = json_string("not JSON");
		}
		ok = true;
		break;
	}
	free(prompt);
	json_decref(schema);
	json_decref(req.options);
	if (!ok)
		util_seterr(err, errlen, "%s", why);
	return ok;
}
