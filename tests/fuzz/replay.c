/*
 * replay: runs every file of the given corpus directories (or the given
 * files) through the target's LLVMFuzzerTestOneInput once, in name
 * order, so that any build (gcc, no libFuzzer) checks that the inputs
 * which once crashed a parser, and the seeds, still pass. A crash or a
 * sanitizer report fails the process; the file being replayed is named
 * on stderr first when INTROEVAL_FUZZ_VERBOSE is set.
 *
 *   fuzz_NAME_replay tests/fuzz/corpus/NAME
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static int	replay_file(const char *, int);
static int	replay_dir(const char *, int);
static int	by_name(const void *, const void *);

int
main(int argc, char **argv)
{
	struct stat st;
	int i, n = 0, verbose = getenv("INTROEVAL_FUZZ_VERBOSE") != NULL;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		n += S_ISDIR(st.st_mode) ? replay_dir(argv[i], verbose) :
		    replay_file(argv[i], verbose);
	}
	if (n == 0) {
		/* An empty corpus would pass without testing anything. */
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replay: %d inputs passed\n", n);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir, int verbose)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	int done = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: cannot open\n", dir);
		exit(1);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		done += replay_file(path, verbose);
		free(names[i]);
	}
	free(names);
	return done;
}

static int
replay_file(const char *path, int verbose)
{
	FILE *f;
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		exit(1);
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			data = xrealloc(data, cap);
		}
		got = fread(data + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	fclose(f);
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 1;
}
