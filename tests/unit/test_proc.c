/*
 * test_proc: child-process runner — capture, exit status, timeouts,
 * resource limits, missing programs, output caps, concurrent callers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

static void	*echo_thread(void *);

static void
test_echo_captured(void **state)
{
	const char *argv[] = { "echo", "hello", "world", NULL };
	struct proc_result res;
	char err[256] = "";

	assert_true(proc_run(argv, NULL, &res, err, sizeof(err)));
	assert_true(res.started);
	assert_true(res.exited);
	assert_int_equal(res.exit_status, 0);
	assert_false(res.timed_out);
	assert_string_equal(buf_cstr(&res.out), "hello world\n");
	assert_string_equal(buf_cstr(&res.err), "");
	proc_result_free(&res);
}

static void
test_stderr_and_status(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo 'bad thing' >&2; "
	    "exit 3", NULL };
	struct proc_result res;
	char err[256] = "";

	assert_false(proc_run(argv, NULL, &res, err, sizeof(err)));
	assert_true(res.started);
	assert_true(res.exited);
	assert_int_equal(res.exit_status, 3);
	assert_string_equal(buf_cstr(&res.out), "out\n");
	assert_string_equal(buf_cstr(&res.err), "bad thing\n");
	assert_string_equal(err, "sh exited with status 3: bad thing");
	proc_result_free(&res);
}

static void
test_stdin_is_devnull(void **state)
{
	const char *argv[] = { "cat", NULL };
	struct proc_limits lim = { .timeout_s = 5 };
	struct proc_result res;
	char err[256] = "";

	assert_true(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_int_equal(res.out.len, 0);
	assert_false(res.timed_out);	/* cat saw end of input at once */
	assert_true(res.exited);
	proc_result_free(&res);
}

static void
test_timeout_kills(void **state)
{
	const char *argv[] = { "sleep", "10", NULL };
	struct proc_limits lim = { .timeout_s = 1 };
	struct proc_result res;
	char err[256] = "";

	assert_false(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_true(res.timed_out);
	assert_false(res.exited);
	assert_int_equal(res.term_signal, SIGKILL);
	/* Waited out the limit, not the 10 s (generous for loaded machines). */
	assert_true(res.elapsed_s >= 0.99 && res.elapsed_s < 9.0);
	assert_string_equal(err, "sleep timed out after 1 s");
	proc_result_free(&res);
}

/* The whole group dies, so a background grandchild cannot hold us. */
static void
test_timeout_kills_group(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 10 & sleep 10; wait", NULL };
	struct proc_limits lim = { .timeout_s = 0.5 };
	struct proc_result res;
	char err[256] = "";
	double t0 = util_monotonic();

	assert_false(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_true(res.timed_out);
	assert_true(util_monotonic() - t0 < 9.0);	/* not the 10 s */
	proc_result_free(&res);
}

/* The program exits but leaves a child holding its stdout open. */
static void
test_exit_with_straggler(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 10 & echo done", NULL };
	struct proc_limits lim = { .timeout_s = 5 };
	struct proc_result res;
	char err[256] = "";

	assert_true(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_false(res.timed_out);
	assert_string_equal(buf_cstr(&res.out), "done\n");
	assert_true(res.elapsed_s < 2.0);
	proc_result_free(&res);
}

static void
test_missing_program(void **state)
{
	const char *argv[] = { "introeval-no-such-program", "x", NULL };
	struct proc_result res;
	char err[256] = "";

	assert_false(proc_run(argv, NULL, &res, err, sizeof(err)));
	assert_false(res.started);
	assert_string_equal(err,
	    "introeval-no-such-program: program not found");
	proc_result_free(&res);
}

static void
test_large_output_capped(void **state)
{
	const char *argv[] = { "head", "-c", "5000000", "/dev/zero", NULL };
	struct proc_limits lim = { .timeout_s = 10 };
	struct proc_result res;
	char err[256] = "";

	assert_true(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_int_equal(res.out.len, PROC_DEFAULT_CAPTURE);
	assert_true(res.out_truncated);
	assert_false(res.err_truncated);
	proc_result_free(&res);

	lim.capture_bytes = 1000;
	assert_true(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_int_equal(res.out.len, 1000);
	assert_true(res.out_truncated);
	proc_result_free(&res);
}

static void
test_killed_by_signal(void **state)
{
	const char *argv[] = { "sh", "-c", "kill -TERM $$", NULL };
	struct proc_result res;
	char err[256] = "";

	assert_false(proc_run(argv, NULL, &res, err, sizeof(err)));
	assert_false(res.exited);
	assert_int_equal(res.term_signal, SIGTERM);
	assert_string_equal(err, "sh killed by signal 15 (SIGTERM)");
	proc_result_free(&res);
}

static void
test_fsize_limit(void **state)
{
	char dir[] = "/tmp/test_proc.XXXXXX", *of, *path;
	const char *argv[] = { "dd", "if=/dev/zero", NULL, "bs=1024",
	    "count=100", NULL };
	struct proc_limits lim = { .timeout_s = 5, .fsize_bytes = 10000 };
	struct proc_result res;
	char err[256] = "";

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/out", dir);
	of = xasprintf("of=%s", path);
	argv[2] = of;
	assert_false(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_int_equal(res.term_signal, SIGXFSZ);
	assert_string_equal(err, "dd exceeded its file size limit");
	proc_result_free(&res);
	unlink(path);
	rmdir(dir);
	free(of);
	free(path);
}

static void
test_cpu_limit(void **state)
{
	const char *argv[] = { "sh", "-c", "while :; do :; done", NULL };
	struct proc_limits lim = { .timeout_s = 10, .cpu_s = 1 };
	struct proc_result res;
	char err[256] = "";

	assert_false(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_false(res.timed_out);
	assert_int_equal(res.term_signal, SIGXCPU);
	assert_string_equal(err, "sh exceeded its CPU time limit");
	proc_result_free(&res);
}

static void
test_memory_limit(void **state)
{
	/* A 200 MB allocation cannot fit in 100 MB of address space. */
	const char *argv[] = { "python3", "-c", "x = bytearray(200 << 20)",
	    NULL };
	struct proc_limits lim = { .timeout_s = 10, .mem_bytes = 100 << 20 };
	struct proc_result res;
	char err[256] = "";

	assert_false(proc_run(argv, &lim, &res, err, sizeof(err)));
	assert_true(res.started);
	assert_true(res.exited);
	assert_int_not_equal(res.exit_status, 0);
	assert_non_null(strstr(buf_cstr(&res.err), "MemoryError"));
	proc_result_free(&res);
}

static void *
echo_thread(void *arg)
{
	long id = (long)arg, i;
	char word[32], want[40], err[256];
	const char *argv[] = { "echo", word, NULL };
	struct proc_limits lim = { .timeout_s = 10 };
	struct proc_result res;
	long failures = 0;

	for (i = 0; i < 25; i++) {
		snprintf(word, sizeof(word), "t%ld-%ld", id, i);
		snprintf(want, sizeof(want), "%s\n", word);
		if (!proc_run(argv, &lim, &res, err, sizeof(err)) ||
		    strcmp(buf_cstr(&res.out), want) != 0)
			failures++;
		proc_result_free(&res);
	}
	return (void *)failures;
}

static void
test_concurrent_callers(void **state)
{
	pthread_t th[4];
	void *rv;
	long i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, echo_thread,
		    (void *)i), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_int_equal((long)rv, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_captured),
		cmocka_unit_test(test_stderr_and_status),
		cmocka_unit_test(test_stdin_is_devnull),
		cmocka_unit_test(test_timeout_kills),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_exit_with_straggler),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_large_output_capped),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_fsize_limit),
		cmocka_unit_test(test_cpu_limit),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_concurrent_callers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
