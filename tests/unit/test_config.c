/* Unit tests for config: defaults, file, environment, validation, masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char *write_tmp(const char *);
static void clear_env(void);

static char *
write_tmp(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/introeval-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
clear_env(void)
{
	unsetenv("INTROEVAL_PORT");
	unsetenv("DATABASE_URL");
	unsetenv("INTROEVAL_DATABASE_URL");
	unsetenv("INTROEVAL_LLM_BACKENDS");
	unsetenv("INTROEVAL_COOKIE_SECURE");
}

static void
test_defaults(void **state)
{
	struct config cfg;
	char err[256];

	clear_env();
	assert_true(config_load(&cfg, NULL, err, sizeof(err)));
	assert_int_equal(cfg.port, 8080);
	assert_string_equal(cfg.stt_engine, "pocketsphinx");
	assert_int_equal(json_array_size(cfg.llm_backends), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(cfg.llm_backends, 0), "url")),
	    "http://localhost:11434");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(cfg.llm_backends, 1), "model")), "llama3");
	config_free(&cfg);
}

static void
test_file_then_env(void **state)
{
	struct config cfg;
	char err[256], *path;

	clear_env();
	path = write_tmp("{\"port\": 9000, \"upload_max_mb\": 5}");
	setenv("INTROEVAL_PORT", "9100", 1);
	setenv("DATABASE_URL", "postgresql://u:secret@h/db", 1);
	setenv("INTROEVAL_COOKIE_SECURE", "true", 1);
	assert_true(config_load(&cfg, path, err, sizeof(err)));
	assert_int_equal(cfg.port, 9100);		/* env beats file */
	assert_int_equal(cfg.upload_max_mb, 5);		/* file beats default */
	assert_true(cfg.cookie_secure);
	assert_string_equal(cfg.database_url, "postgresql://u:secret@h/db");

	json_t *j = config_to_json(&cfg);
	assert_string_equal(json_string_value(json_object_get(j,
	    "database_url")), "postgresql://u:***@h/db");
	json_decref(j);
	config_free(&cfg);
	unlink(path);
	clear_env();
}

static void
test_rejects_bad_values(void **state)
{
	struct config cfg;
	char err[256], *path;

	clear_env();
	setenv("INTROEVAL_PORT", "70000", 1);
	assert_false(config_load(&cfg, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "port"));
	config_free(&cfg);

	setenv("INTROEVAL_PORT", "80x", 1);
	assert_false(config_load(&cfg, NULL, err, sizeof(err)));
	config_free(&cfg);
	clear_env();

	path = write_tmp("{\"prot\": 1}");
	assert_false(config_load(&cfg, path, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown key \"prot\""));
	config_free(&cfg);
	unlink(path);

	path = write_tmp("{\"port\": 80,");
	assert_false(config_load(&cfg, path, err, sizeof(err)));
	config_free(&cfg);
	unlink(path);

	setenv("INTROEVAL_LLM_BACKENDS", "[{\"name\":\"a\",\"url\":\"ftp://x\","
	    "\"model\":\"m\"}]", 1);
	assert_false(config_load(&cfg, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "http://"));
	config_free(&cfg);

	setenv("INTROEVAL_LLM_BACKENDS", "[{\"name\":\"a\",\"url\":\"http://x\","
	    "\"model\":\"m\"},{\"name\":\"a\",\"url\":\"http://y\","
	    "\"model\":\"m\"}]", 1);
	assert_false(config_load(&cfg, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "twice"));
	config_free(&cfg);
	clear_env();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_then_env),
		cmocka_unit_test(test_rejects_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
