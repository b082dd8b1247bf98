/*
 * test_cli: introevalctl's pure parts (cli/): the command line, the
 * config file, the progress line and sizes, API errors in both shapes,
 * exit codes for statuses and a submission's state in words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"

#define ARGV(...)	(char *[]){ "introevalctl", __VA_ARGS__, NULL }
#define ARGC(...)	((int)(sizeof((char *[]){ "introevalctl", \
			    __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) \
	ctl_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (err), \
	    sizeof(err))

static void
test_args_submit(void **state)
{
	struct ctl_opts o;
	char err[256];

	assert_true(PARSE(&o, err, "--json", "submit", "a.mp4",
	    "--assignment", "7", "b.mp4", "--chunk-size=64", "--", "--c.mp4"));
	assert_int_equal(o.cmd, CMD_SUBMIT);
	assert_true(o.json);
	assert_string_equal(o.assignment, "7");
	assert_int_equal(o.chunk_kib, 64);
	assert_int_equal(o.nargs, 3);
	assert_string_equal(o.args[0], "a.mp4");
	assert_string_equal(o.args[1], "b.mp4");
	assert_string_equal(o.args[2], "--c.mp4");
	free(o.args);
}

static void
test_args_global_and_flags(void **state)
{
	struct ctl_opts o;
	char err[256];

	assert_true(PARSE(&o, err, "job", "retry", "failed", "-y",
	    "--course", "3", "--url=http://x:1", "--token", "t"));
	assert_int_equal(o.cmd, CMD_JOB);
	assert_true(o.yes);
	assert_string_equal(o.course, "3");
	assert_string_equal(o.url, "http://x:1");
	assert_string_equal(o.token, "t");
	assert_int_equal(o.nargs, 2);
	free(o.args);

	assert_true(PARSE(&o, err, "login", "--token-name", "cron",
	    "--scope", "read", "--password-stdin"));
	assert_string_equal(o.token_name, "cron");
	assert_string_equal(o.scope, "read");
	assert_true(o.password_stdin);
	free(o.args);
	assert_false(PARSE(&o, err, "status", "--scope", "read"));
	free(o.args);

	assert_true(PARSE(&o, err, "watch", "-h"));
	assert_true(o.help);
	assert_int_equal(o.cmd, CMD_WATCH);
	free(o.args);

	/* No command at all is help. */
	assert_true(ctl_parse_args(1, (char *[]){ "introevalctl", NULL }, &o,
	    err, sizeof(err)));
	assert_int_equal(o.cmd, CMD_HELP);
	free(o.args);
}

static void
test_args_errors(void **state)
{
	struct ctl_opts o;
	char err[256];

	assert_false(PARSE(&o, err, "frobnicate"));
	assert_non_null(strstr(err, "unknown command \"frobnicate\""));
	free(o.args);
	/* An option of another command. */
	assert_false(PARSE(&o, err, "status", "--csv"));
	assert_non_null(strstr(err, "status: unknown option --csv"));
	free(o.args);
	/* Options may come before their command. */
	assert_true(PARSE(&o, err, "--csv", "results", "--course", "1"));
	free(o.args);
	assert_false(PARSE(&o, err, "status", "--nope"));
	assert_non_null(strstr(err, "unknown option --nope"));
	free(o.args);
	assert_false(PARSE(&o, err, "submit", "--assignment"));
	assert_non_null(strstr(err, "--assignment needs a value"));
	free(o.args);
	assert_false(PARSE(&o, err, "submit", "--chunk-size", "big"));
	assert_non_null(strstr(err, "whole number"));
	free(o.args);
	assert_false(PARSE(&o, err, "status", "--json=yes"));
	assert_non_null(strstr(err, "takes no value"));
	free(o.args);
	assert_false(PARSE(&o, err, "status", "-x"));
	free(o.args);
}

static void
test_usage_per_command(void **state)
{
	static const char *const names[] = { "login", "logout", "submit",
	    "status", "watch", "results", "job", "backends", "nodes" };
	char want[64];
	size_t i;

	assert_non_null(strstr(ctl_usage(CMD_HELP), "exit codes"));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "usage: introevalctl %s",
		    names[i]);
		assert_non_null(strstr(ctl_usage(ctl_command(names[i])), want));
		assert_non_null(strstr(ctl_usage(ctl_command(names[i])),
		    "--json"));
	}
}

static void
test_config_roundtrip(void **state)
{
	char dir[] = "/tmp/test_cli_XXXXXX", path[256], err[256];
	struct ctl_config c, back;
	struct stat st;
	char *text;

	assert_non_null(mkdtemp(dir));
	setenv("XDG_CONFIG_HOME", dir, 1);
	assert_true(ctl_config_path(path, sizeof(path), err, sizeof(err)));
	assert_non_null(strstr(path, "/introevalctl/config"));
	/* No file yet: empty, not an error. */
	assert_true(ctl_config_load(path, &back, err, sizeof(err)));
	assert_string_equal(back.url, "");

	memset(&c, 0, sizeof(c));
	strcpy(c.url, "https://lab.example.edu");
	strcpy(c.token, "abc123");
	strcpy(c.email, "s@example.edu");
	strcpy(c.kind, "api");
	strcpy(c.token_id, "17");
	assert_true(ctl_config_save(path, &c, err, sizeof(err)));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	*strrchr(path, '/') = '\0';
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	strcat(path, "/config");
	assert_true(ctl_config_load(path, &back, err, sizeof(err)));
	assert_string_equal(back.url, c.url);
	assert_string_equal(back.token, c.token);
	assert_string_equal(back.email, c.email);
	assert_string_equal(back.kind, "api");
	assert_string_equal(back.token_id, "17");

	/* Saving again replaces it, still 0600. */
	strcpy(c.token, "");
	assert_true(ctl_config_save(path, &c, err, sizeof(err)));
	assert_true(ctl_config_load(path, &back, err, sizeof(err)));
	assert_string_equal(back.token, "");
	text = ctl_config_format(&c);
	assert_non_null(strstr(text, "url=https://lab.example.edu\n"));
	free(text);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	rmdir(dir);
}

static void
test_config_parse(void **state)
{
	struct ctl_config c;

	assert_true(ctl_config_parse("# comment\nurl=http://a:1\r\n"
	    "future=thing\nno equals sign\ntoken=t=with=equals", &c));
	assert_string_equal(c.url, "http://a:1");
	assert_string_equal(c.token, "t=with=equals");
	assert_false(ctl_config_parse("", &c));
}

static void
test_sizes_and_progress(void **state)
{
	char b[200];

	ctl_size_text(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	ctl_size_text(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	ctl_size_text(1024, b, sizeof(b));
	assert_string_equal(b, "1.0 KiB");
	ctl_size_text(201543, b, sizeof(b));
	assert_string_equal(b, "196.8 KiB");
	ctl_size_text(1.5 * 1024 * 1024, b, sizeof(b));
	assert_string_equal(b, "1.5 MiB");

	ctl_progress_line("intro01.mp4", 100, 200, 0, 80, b, sizeof(b));
	assert_string_equal(b, "intro01.mp4  [############............]  50%"
	    "  100 B / 200 B");
	ctl_progress_line("a.mp4", 2048, 2048, 1024, 80, b, sizeof(b));
	assert_string_equal(b, "a.mp4  [########################] 100%"
	    "  2.0 KiB / 2.0 KiB  1.0 KiB/s");
	/* A long name is cut from the left to fit the terminal. */
	ctl_progress_line("/very/long/directory/name/of/the/recording.mp4", 0,
	    10, 0, 80, b, sizeof(b));
	assert_true(strncmp(b, "...", 3) == 0);
	assert_non_null(strstr(b, "recording.mp4  ["));
	assert_true(strlen(b) <= 80);

	assert_int_equal(ctl_progress_step(0, 100), 0);
	assert_int_equal(ctl_progress_step(24, 100), 0);
	assert_int_equal(ctl_progress_step(25, 100), 1);
	assert_int_equal(ctl_progress_step(99, 100), 3);
	assert_int_equal(ctl_progress_step(100, 100), 4);
	assert_int_equal(ctl_progress_step(0, 0), 4);
}

static void
test_api_errors_both_shapes(void **state)
{
	char b[256];
	const char *old = "{\"error\": \"no such submission\"}";
	const char *now = "{\"error\": {\"code\": \"invalid\", \"message\": "
	    "\"too short\", \"field\": \"priority\"}}";
	const char *code_only = "{\"error\": {\"code\": \"rate_limited\"}}";
	json_t *e;

	ctl_api_error(old, strlen(old), 404, b, sizeof(b));
	assert_string_equal(b, "no such submission");
	ctl_api_error(now, strlen(now), 422, b, sizeof(b));
	assert_string_equal(b, "too short (priority)");
	ctl_api_error(code_only, strlen(code_only), 429, b, sizeof(b));
	assert_string_equal(b, "rate_limited");
	ctl_api_error("sign in first\n", 14, 401, b, sizeof(b));
	assert_string_equal(b, "sign in first");
	ctl_api_error("<html>", 6, 502, b, sizeof(b));
	assert_string_equal(b, "the server answered HTTP 502");
	ctl_api_error(NULL, 0, 500, b, sizeof(b));
	assert_string_equal(b, "the server answered HTTP 500");
	ctl_api_error("", 0, 500, b, sizeof(b));
	assert_string_equal(b, "the server answered HTTP 500");

	/* A WebSocket's {"type": "error", "error": ...} in either shape. */
	e = json_pack("{s:s, s:s}", "code", "forbidden", "message",
	    "no such submission");
	assert_true(ctl_error_text(e, b, sizeof(b)));
	assert_string_equal(b, "no such submission");
	json_decref(e);
	e = json_string("unknown topic");
	assert_true(ctl_error_text(e, b, sizeof(b)));
	assert_string_equal(b, "unknown topic");
	json_decref(e);
	assert_false(ctl_error_text(NULL, b, sizeof(b)));
}

static void
test_exit_codes(void **state)
{
	assert_int_equal(ctl_exit_for_status(200), CTL_OK);
	assert_int_equal(ctl_exit_for_status(201), CTL_OK);
	assert_int_equal(ctl_exit_for_status(401), CTL_AUTH);
	assert_int_equal(ctl_exit_for_status(403), CTL_AUTH);
	assert_int_equal(ctl_exit_for_status(404), CTL_NOTFOUND);
	assert_int_equal(ctl_exit_for_status(422), CTL_FAILED);
	assert_int_equal(ctl_exit_for_status(409), CTL_FAILED);
	assert_int_equal(ctl_exit_for_status(429), CTL_UNAVAILABLE);
	assert_int_equal(ctl_exit_for_status(503), CTL_UNAVAILABLE);
	assert_int_equal(ctl_exit_for_status(0), CTL_UNAVAILABLE);
}

static void
test_state_text(void **state)
{
	char b[256];
	json_t *s;
	long long id;

	s = json_pack("{s:s, s:s, s:f}", "phase", "completed", "status",
	    "completed", "overall", 3.75);
	ctl_state_text(s, b, sizeof(b));
	assert_string_equal(b, "completed, overall 3.75");
	json_decref(s);
	s = json_pack("{s:s, s:s, s:s}", "phase", "failed", "status",
	    "failed", "error", "cancelled by T");
	ctl_state_text(s, b, sizeof(b));
	assert_string_equal(b, "failed: cancelled by T");
	json_decref(s);
	s = json_pack("{s:s, s:s, s:f}", "phase", "stt", "status",
	    "processing", "stt_progress", 0.4);
	ctl_state_text(s, b, sizeof(b));
	assert_string_equal(b, "stt processing 40%");
	json_decref(s);
	s = json_pack("{s:s, s:s}", "phase", "llm", "status", "pending");
	ctl_state_text(s, b, sizeof(b));
	assert_string_equal(b, "llm pending");
	json_decref(s);
	s = json_pack("{s:n}", "status");
	ctl_state_text(s, b, sizeof(b));
	assert_string_equal(b, "not submitted");
	json_decref(s);

	assert_true(ctl_state_final("completed"));
	assert_true(ctl_state_final("failed"));
	assert_false(ctl_state_final("retry"));
	assert_false(ctl_state_final(NULL));
	assert_true(ctl_read_id("12", &id));
	assert_int_equal(id, 12);
	assert_true(ctl_read_id("#12", &id));
	assert_false(ctl_read_id("12x", &id));
	assert_false(ctl_read_id("0", &id));
	assert_false(ctl_read_id("", &id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_submit),
		cmocka_unit_test(test_args_global_and_flags),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_usage_per_command),
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_sizes_and_progress),
		cmocka_unit_test(test_api_errors_both_shapes),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_state_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
