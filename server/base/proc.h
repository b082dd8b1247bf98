/*
 * proc: run a program in a child process, never through a shell.
 *
 * The child gets /dev/null as standard input, its own process group and
 * optional resource limits; its standard output and error are captured
 * (up to a cap each, the rest read and discarded). A wall-clock timeout
 * kills the whole process group. There is no global state and every
 * descriptor is close-on-exec, so several threads may call proc_run() at
 * once. Callers must not set SIGCHLD to SIG_IGN (children would then be
 * reaped by the kernel and their status lost).
 */
#ifndef INTROEVAL_PROC_H
#define INTROEVAL_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define PROC_DEFAULT_CAPTURE	(1024 * 1024)	/* bytes per stream */

/* Zero-initialised means: no timeout, no rlimits, default capture size. */
struct proc_limits {
	double		 timeout_s;	/* wall clock; 0 = none */
	unsigned long	 mem_bytes;	/* RLIMIT_AS; 0 = none */
	unsigned long	 cpu_s;		/* RLIMIT_CPU; 0 = none */
	unsigned long	 fsize_bytes;	/* RLIMIT_FSIZE; 0 = none */
	size_t		 capture_bytes;	/* per stream; 0 = PROC_DEFAULT_CAPTURE */
};

struct proc_result {
	bool		 started;	/* the program was found and executed */
	bool		 exited;	/* exited normally: see exit_status */
	int		 exit_status;
	int		 term_signal;	/* signal that ended it, or 0 */
	bool		 timed_out;	/* we killed it at the deadline */
	double		 elapsed_s;
	struct buf	 out;		/* captured stdout, NUL-terminated */
	struct buf	 err;		/* captured stderr, NUL-terminated */
	bool		 out_truncated;
	bool		 err_truncated;
};

/*
 * Runs argv[0] (looked up in PATH) with arguments argv (NULL-terminated).
 * lim may be NULL for no limits. Returns true when the program ran and
 * exited with status 0. Otherwise returns false with a one-line reason in
 * err ("ffprobe: program not found", "ffmpeg timed out after 30 s",
 * "ffprobe exited with status 1: <first line of its stderr>"); res is
 * filled in either way and must be released with proc_result_free().
 */
bool	 proc_run(const char *const argv[], const struct proc_limits *lim,
	    struct proc_result *res, char *err, size_t errlen);
void	 proc_result_free(struct proc_result *);

#endif
