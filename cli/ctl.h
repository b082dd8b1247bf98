/*
 * introevalctl: IntroEval's command-line client (issue 16).
 *
 * A client of the HTTP API and the WebSocket hub only: it links libcurl,
 * jansson and libwebsockets and none of the server's modules. Public
 * names share the prefix ctl_; each file owns one concern:
 *
 *   args.c      the command line (pure; unit-tested)
 *   config.c    the config file with the URL and token (unit-tested)
 *   progress.c  the upload progress bar and sizes (pure; unit-tested)
 *   http.c      libcurl requests and API errors in both shapes
 *   submit.c    tus uploads that resume after an interruption
 *   watch.c     the live watch over /ws (libwebsockets)
 *   cmds.c      login, status, results, job, backends, nodes
 *   main.c      dispatch, usage, exit codes
 */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes (documented in introevalctl.1 and the README). */
enum ctl_exit {
	CTL_OK = 0,		/* done; every watched submission completed */
	CTL_FAILED = 1,		/* a submission failed, the server refused,
				   a job has questions or was not confirmed */
	CTL_USAGE = 2,		/* bad command line */
	CTL_AUTH = 3,		/* not signed in, or not allowed (401/403) */
	CTL_NOTFOUND = 4,	/* no such object (404) */
	CTL_UNAVAILABLE = 5	/* server unreachable, 5xx, interrupted */
};

enum ctl_cmd {
	CMD_NONE, CMD_LOGIN, CMD_LOGOUT, CMD_SUBMIT, CMD_STATUS, CMD_WATCH,
	CMD_RESULTS, CMD_JOB, CMD_BACKENDS, CMD_NODES, CMD_HELP, CMD_VERSION
};

struct ctl_opts {
	enum ctl_cmd	 cmd;
	const char	*cmd_name;
	const char	*url;		/* --url */
	const char	*token;		/* --token */
	const char	*email;		/* --email */
	const char	*assignment;	/* --assignment */
	const char	*course;	/* --course */
	const char	*token_name;	/* --token-name */
	const char	*scope;		/* --scope (read or act) */
	long		 chunk_kib;	/* --chunk-size KiB (0: default) */
	long		 limit_rate;	/* --limit-rate bytes/s (0: none) */
	long		 timeout_s;	/* --timeout (watch; 0: none) */
	bool		 json, help, yes, csv, password_stdin, no_progress;
	char		**args;		/* positional arguments */
	int		 nargs;
};

bool	 ctl_parse_args(int, char **, struct ctl_opts *, char *, size_t);
enum ctl_cmd ctl_command(const char *);
const char *ctl_usage(enum ctl_cmd);

/* The config file: $XDG_CONFIG_HOME/introevalctl/config, key=value. */
struct ctl_config {
	char	url[512];
	char	token[256];
	char	email[256];
	char	kind[16];	/* "session" or "api" */
	char	token_id[24];	/* an API token's id (to revoke it) */
};

bool	 ctl_config_path(char *, size_t, char *, size_t);
bool	 ctl_config_load(const char *, struct ctl_config *, char *, size_t);
bool	 ctl_config_save(const char *, const struct ctl_config *, char *,
	    size_t);
bool	 ctl_config_parse(const char *, struct ctl_config *);
char	*ctl_config_format(const struct ctl_config *);

/* Progress: "[#####.....]  45%  90.1 KiB / 200.0 KiB" and sizes. */
void	 ctl_size_text(double, char *, size_t);
void	 ctl_progress_line(const char *, double, double, double, int, char *,
	    size_t);
int	 ctl_progress_step(double, double);

/* The connection every command uses. */
struct ctl {
	struct ctl_opts	*o;
	char		 url[512];	/* without a trailing slash */
	char		 token[256];
	FILE		*out;		/* results (stdout) */
	void		*curl;		/* one handle: connections are kept */
	bool		 tty_out, tty_err;
};

struct ctl_resp {
	long	 status;	/* 0: no answer */
	char	*body;
	size_t	 len;
	char	*headers;	/* the raw header block */
	char	 err[256];	/* libcurl's reason when status is 0 */
};

struct ctl_req {
	const char	*method;
	const char	*path;		/* under the URL */
	const char	*ctype;		/* body's type, or NULL */
	const void	*body;
	size_t		 len;
	const char	*const *headers;	/* NULL-ended extra lines */
	bool		 progress;	/* call on_progress while sending */
	void		(*on_progress)(void *, double);
	void		*arg;
};

bool	 ctl_http(struct ctl *, const struct ctl_req *, struct ctl_resp *);
void	 ctl_resp_free(struct ctl_resp *);
bool	 ctl_resp_header(const struct ctl_resp *, const char *, char *,
	    size_t);
json_t	*ctl_get_json(struct ctl *, const char *, int *);
json_t	*ctl_try_json(struct ctl *, const char *, int *);
json_t	*ctl_send_json(struct ctl *, const char *, const char *, json_t *,
	    long *, int *);
void	 ctl_api_error(const char *, size_t, long, char *, size_t);
bool	 ctl_error_text(json_t *, char *, size_t);
int	 ctl_exit_for_status(long);
int	 ctl_report(struct ctl *, const char *, struct ctl_resp *);
void	 ctl_print_json(struct ctl *, json_t *);
void	 ctl_idempotency_key(char *, size_t);
void	 ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));

int	 ctl_login(struct ctl *);
int	 ctl_logout(struct ctl *);
int	 ctl_submit(struct ctl *);
int	 ctl_status(struct ctl *);
int	 ctl_watch(struct ctl *);
int	 ctl_results(struct ctl *);
int	 ctl_job(struct ctl *);
int	 ctl_backends(struct ctl *);
int	 ctl_nodes(struct ctl *);

/* A submission's state in one line ("stt processing 40%"); shared by
 * status and watch. */
void	 ctl_state_text(json_t *, char *, size_t);
bool	 ctl_state_final(const char *);
bool	 ctl_read_id(const char *, long long *);

#endif
