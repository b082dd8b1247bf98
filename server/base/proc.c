/*
 * proc: child processes without a shell (see proc.h).
 *
 * The child is started with fork() and execvp(); between the two it only
 * makes async-signal-safe system calls, so forking from a threaded server
 * is safe. A close-on-exec "status" pipe tells the parent whether exec
 * worked: it reads EOF on success, or the child's errno on failure.
 * The parent polls the output pipes until both reach EOF, the deadline
 * passes, or the child has exited and a short grace period has passed
 * (a grandchild may still hold the pipes). The child's exit is detected
 * with waitid(WNOWAIT) so that the process group can be killed while the
 * zombie still pins its id, and only then reaped.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define PROC_TICK_MS		100	/* poll granularity while running */
#define PROC_GRACE_S		0.5	/* wait for pipes after the child exits */
#define PROC_MAX_ERRLINE	200

struct capture {
	int		 fd;
	struct buf	*buf;
	bool		*truncated;
	size_t		 cap;
};

static void	 child_exec(const char *const argv[], const struct proc_limits *,
		    int devnull, int outfd, int errfd, int statusfd)
		    __attribute__((noreturn));
static void	 child_limit(int, unsigned long);
static bool	 read_exec_status(int, int *);
static bool	 capture_read(struct capture *);
static void	 collect(pid_t, const struct proc_limits *, struct capture *,
		    struct proc_result *, double);
static bool	 child_has_exited(pid_t);
static void	 reap(pid_t, struct proc_result *);
static bool	 explain(const char *, const struct proc_limits *,
		    const struct proc_result *, char *, size_t);
static void	 close_pair(int[2]);

bool
proc_run(const char *const argv[], const struct proc_limits *lim,
    struct proc_result *res, char *err, size_t errlen)
{
	static const struct proc_limits nolimits;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, statp[2] = { -1, -1 };
	struct capture cap[2];
	int devnull = -1, exec_errno = 0;
	double start;
	pid_t pid;
	bool ok = false;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out);
	buf_init(&res->err);
	if (lim == NULL)
		lim = &nolimits;
	if (argv == NULL || argv[0] == NULL)
		return util_seterr(err, errlen, "no program to run");

	start = util_monotonic();
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    pipe2(statp, O_CLOEXEC) == -1) {
		util_seterr(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		util_seterr(err, errlen, "cannot run %s: fork: %s", argv[0],
		    strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(argv, lim, devnull, outp[1], errp[1], statp[1]);

	/* Also set here so that a kill at the deadline cannot miss the group. */
	(void)setpgid(pid, pid);
	close(outp[1]);
	close(errp[1]);
	close(statp[1]);
	outp[1] = errp[1] = statp[1] = -1;

	if (read_exec_status(statp[0], &exec_errno)) {
		reap(pid, res);
		res->elapsed_s = util_monotonic() - start;
		if (exec_errno == ENOENT)
			util_seterr(err, errlen, "%s: program not found",
			    argv[0]);
		else
			util_seterr(err, errlen, "cannot run %s: %s", argv[0],
			    strerror(exec_errno));
		goto out;
	}
	res->started = true;

	cap[0] = (struct capture){ outp[0], &res->out, &res->out_truncated,
	    lim->capture_bytes ? lim->capture_bytes : PROC_DEFAULT_CAPTURE };
	cap[1] = (struct capture){ errp[0], &res->err, &res->err_truncated,
	    lim->capture_bytes ? lim->capture_bytes : PROC_DEFAULT_CAPTURE };
	collect(pid, lim, cap, res, start);
	outp[0] = cap[0].fd;
	errp[0] = cap[1].fd;
	res->elapsed_s = util_monotonic() - start;
	ok = explain(argv[0], lim, res, err, errlen);
out:
	if (devnull != -1)
		close(devnull);
	close_pair(outp);
	close_pair(errp);
	close_pair(statp);
	return ok;
}

void
proc_result_free(struct proc_result *res)
{
	if (res == NULL)
		return;
	buf_free(&res->out);
	buf_free(&res->err);
}

/*
 * Runs in the child between fork and exec: only async-signal-safe calls.
 */
static void
child_exec(const char *const argv[], const struct proc_limits *lim,
    int devnull, int outfd, int errfd, int statusfd)
{
	struct sigaction sa;
	sigset_t none;
	int sig, e;

	(void)setpgid(0, 0);
	/* Ignored signals and the blocked mask survive exec: undo ours. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	if (dup2(devnull, STDIN_FILENO) == -1 ||
	    dup2(outfd, STDOUT_FILENO) == -1 ||
	    dup2(errfd, STDERR_FILENO) == -1)
		goto fail;
	child_limit(RLIMIT_AS, lim->mem_bytes);
	child_limit(RLIMIT_CPU, lim->cpu_s);
	child_limit(RLIMIT_FSIZE, lim->fsize_bytes);
	execvp(argv[0], (char *const *)argv);
fail:
	e = errno;
	while (write(statusfd, &e, sizeof(e)) == -1 && errno == EINTR)
		;
	_exit(127);
}

static void
child_limit(int resource, unsigned long value)
{
	struct rlimit rl;

	if (value == 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)value;
	/*
	 * At the hard CPU limit the kernel sends SIGKILL, at the soft one
	 * SIGXCPU: keep a second between them so the cause stays visible.
	 */
	if (resource == RLIMIT_CPU)
		rl.rlim_max = (rlim_t)value + 1;
	/* Best effort: a hard limit lower than ours already is fine. */
	(void)setrlimit(resource, &rl);
}

/*
 * Returns true if exec failed, with the child's errno in *errnop. EOF
 * means the close-on-exec end was closed by a successful exec.
 */
static bool
read_exec_status(int fd, int *errnop)
{
	ssize_t n;
	int e;

	do {
		n = read(fd, &e, sizeof(e));
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		*errnop = e;
		return true;
	}
	return false;
}

/* Reads what is available; returns false (and closes) at EOF or error. */
static bool
capture_read(struct capture *c)
{
	char chunk[16384];
	ssize_t n;
	size_t room, take;

	n = read(c->fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	room = c->buf->len < c->cap ? c->cap - c->buf->len : 0;
	take = (size_t)n < room ? (size_t)n : room;
	if (take > 0)
		buf_append(c->buf, chunk, take);
	if (take < (size_t)n)
		*c->truncated = true;
	return true;
}

/*
 * Reads both pipes until EOF, the deadline, or the grace period after
 * the child's exit; kills the process group when it stops early; reaps.
 */
static void
collect(pid_t pid, const struct proc_limits *lim, struct capture *cap,
    struct proc_result *res, double start)
{
	struct pollfd pfd[2];
	double deadline, now, exited_at = 0;
	int i, n, wait_ms;

	deadline = lim->timeout_s > 0 ? start + lim->timeout_s : 0;
	for (;;) {
		now = util_monotonic();
		if (deadline > 0 && now >= deadline) {
			res->timed_out = true;
			break;
		}
		if (exited_at == 0 && child_has_exited(pid))
			exited_at = now;
		if (cap[0].fd == -1 && cap[1].fd == -1) {
			if (exited_at > 0)
				break;
			wait_ms = 10;	/* pipes closed; exit is imminent */
		} else if (exited_at > 0 && now - exited_at > PROC_GRACE_S)
			break;
		else
			wait_ms = PROC_TICK_MS;
		if (deadline > 0 && (deadline - now) * 1000 < wait_ms)
			wait_ms = (int)((deadline - now) * 1000) + 1;

		for (i = n = 0; i < 2; i++) {
			pfd[i].fd = cap[i].fd;	/* poll ignores -1 */
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			n += cap[i].fd != -1;
		}
		if (poll(pfd, 2, wait_ms) == -1 && errno != EINTR) {
			log_warn("proc: poll");
			util_sleep(wait_ms / 1000.0);
			continue;
		}
		for (i = 0; i < 2; i++)
			if (cap[i].fd != -1 &&
			    (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				capture_read(&cap[i]);
	}
	/*
	 * The child is either still running (deadline) or a zombie; in both
	 * cases the group id cannot have been reused yet.
	 */
	(void)kill(-pid, SIGKILL);
	reap(pid, res);
}

static bool
child_has_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return errno == ECHILD;
	return si.si_pid == pid;
}

static void
reap(pid_t pid, struct proc_result *res)
{
	int status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			log_warn("proc: waitpid %ld", (long)pid);
			return;
		}
	}
	if (WIFEXITED(status)) {
		res->exited = true;
		res->exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status))
		res->term_signal = WTERMSIG(status);
}

/* Turns the result into true or a one-line reason. */
static bool
explain(const char *prog, const struct proc_limits *lim,
    const struct proc_result *res, char *err, size_t errlen)
{
	const char *line = buf_cstr(&res->err), *sig;
	size_t len;

	if (res->timed_out)
		return util_seterr(err, errlen, "%s timed out after %g s", prog,
		    lim->timeout_s);
	if (res->exited && res->exit_status == 0)
		return true;
	if (!res->exited) {
		if (res->term_signal == SIGXCPU)
			return util_seterr(err, errlen,
			    "%s exceeded its CPU time limit", prog);
		if (res->term_signal == SIGXFSZ)
			return util_seterr(err, errlen,
			    "%s exceeded its file size limit", prog);
		sig = sigabbrev_np(res->term_signal);
		return util_seterr(err, errlen, "%s killed by signal %d (SIG%s)",
		    prog, res->term_signal, sig ? sig : "?");
	}
	line += strspn(line, " \t\r\n");
	len = strcspn(line, "\r\n");
	if (len == 0)
		return util_seterr(err, errlen, "%s exited with status %d",
		    prog, res->exit_status);
	if (len > PROC_MAX_ERRLINE)
		len = PROC_MAX_ERRLINE;
	return util_seterr(err, errlen, "%s exited with status %d: %.*s", prog,
	    res->exit_status, (int)len, line);
}

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	p[0] = p[1] = -1;
}
