/*
 * Unit tests for gpu's reading of nvidia-smi's CSV (--query-gpu=index,
 * name,memory.used,memory.total,utilization.gpu,temperature.gpu
 * --format=csv,noheader,nounits): one and several cards, [N/A] fields,
 * names with spaces, malformed lines skipped, and a stand-in program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpu.h"

static void
test_two_cards(void **state)
{
	struct gpu g[GPU_MAX];
	size_t n;

	(void)state;
	n = gpu_parse("0, NVIDIA GeForce RTX 4090, 1234, 24564, 37, 52\n"
	    "1, NVIDIA A100-SXM4-40GB, 39000, 40960, 100, 81\n", g, GPU_MAX);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].index, 0);
	assert_string_equal(g[0].name, "NVIDIA GeForce RTX 4090");
	assert_int_equal(g[0].mem_used_mib, 1234);
	assert_int_equal(g[0].mem_total_mib, 24564);
	assert_int_equal(g[0].util_pct, 37);
	assert_int_equal(g[0].temp_c, 52);
	assert_int_equal(g[1].index, 1);
	assert_int_equal(g[1].temp_c, 81);
	assert_int_equal(gpu_mem_used(g, n), 40234);
}

static void
test_not_available_and_junk(void **state)
{
	struct gpu g[GPU_MAX];
	size_t n;

	(void)state;
	n = gpu_parse("\n0, Tesla K80, [N/A], 11441, [Not Supported], 40\r\n"
	    "garbage line\n"
	    "x, bad index, 1, 2, 3, 4\n"
	    "1, too, few, fields\n"
	    "2, Quadro, 10, 20, 30, 40, 50\n"
	    "3,Tight,5,6,7,8", g, GPU_MAX);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].mem_used_mib, -1);
	assert_int_equal(g[0].util_pct, -1);
	assert_int_equal(g[0].temp_c, 40);
	assert_int_equal(g[1].index, 3);
	assert_string_equal(g[1].name, "Tight");
	assert_int_equal(gpu_mem_used(g, 1), -1);
	/* Never more than asked for. */
	assert_int_equal(gpu_parse("0,a,1,2,3,4\n1,b,1,2,3,4\n", g, 1), 1);
	assert_int_equal(gpu_parse("", g, GPU_MAX), 0);
}

static void
test_program(void **state)
{
	struct gpu g[GPU_MAX];
	char path[] = "/tmp/introeval-smi-XXXXXX", err[256];
	bool missing;
	FILE *fp;
	int fd, n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	/* The stand-in checks it is asked exactly nvidia-smi's query. */
	fprintf(fp, "#!/bin/sh\n[ \"$1\" = --query-gpu=index,name,"
	    "memory.used,memory.total,utilization.gpu,temperature.gpu ] && "
	    "[ \"$2\" = --format=csv,noheader,nounits ] || exit 9\n"
	    "echo '0, Stand-in GPU, 100, 8000, 5, 91'\n");
	fclose(fp);
	chmod(path, 0700);
	n = gpu_sample(path, g, GPU_MAX, &missing, err, sizeof(err));
	assert_false(missing);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].temp_c, 91);
	unlink(path);
	n = gpu_sample("/nonexistent/nvidia-smi", g, GPU_MAX, &missing, err,
	    sizeof(err));
	assert_true(missing);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_cards),
		cmocka_unit_test(test_not_available_and_junk),
		cmocka_unit_test(test_program),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
