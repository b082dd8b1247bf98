/*
 * args: introevalctl's command line, parsed without side effects so that
 * the unit tests can check it. Options may come before or after the
 * command, as "--name value" or "--name=value"; "--" ends them. Each
 * option belongs to the commands that use it; any other is an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define M(c)	(1u << (c))
#define ALL	0xffffffffu

enum kind { FLAG, TEXT, NUMBER };

struct opt {
	const char	*name;
	enum kind	 kind;
	unsigned	 cmds;		/* commands that accept it */
	size_t		 off;		/* field in struct ctl_opts */
};

#define F(field)	offsetof(struct ctl_opts, field)

static const struct opt opts[] = {
	{ "url",		TEXT,	ALL,		F(url) },
	{ "token",		TEXT,	ALL,		F(token) },
	{ "json",		FLAG,	ALL,		F(json) },
	{ "help",		FLAG,	ALL,		F(help) },
	{ "email",		TEXT,	M(CMD_LOGIN),	F(email) },
	{ "password-stdin",	FLAG,	M(CMD_LOGIN),	F(password_stdin) },
	{ "token-name",		TEXT,	M(CMD_LOGIN),	F(token_name) },
	{ "scope",		TEXT,	M(CMD_LOGIN),	F(scope) },
	{ "assignment",		TEXT,	M(CMD_SUBMIT) | M(CMD_RESULTS),
							F(assignment) },
	{ "chunk-size",		NUMBER,	M(CMD_SUBMIT),	F(chunk_kib) },
	{ "limit-rate",		NUMBER,	M(CMD_SUBMIT),	F(limit_rate) },
	{ "no-progress",	FLAG,	M(CMD_SUBMIT),	F(no_progress) },
	{ "course",		TEXT,	M(CMD_WATCH) | M(CMD_RESULTS) |
				    M(CMD_JOB),		F(course) },
	{ "timeout",		NUMBER,	M(CMD_WATCH),	F(timeout_s) },
	{ "csv",		FLAG,	M(CMD_RESULTS),	F(csv) },
	{ "yes",		FLAG,	M(CMD_JOB),	F(yes) },
};

static const struct {
	const char	*name;
	enum ctl_cmd	 cmd;
} commands[] = {
	{ "login", CMD_LOGIN }, { "logout", CMD_LOGOUT },
	{ "submit", CMD_SUBMIT }, { "status", CMD_STATUS },
	{ "watch", CMD_WATCH }, { "results", CMD_RESULTS },
	{ "job", CMD_JOB }, { "backends", CMD_BACKENDS },
	{ "nodes", CMD_NODES }, { "help", CMD_HELP },
	{ "version", CMD_VERSION },
};

static const struct opt *find_opt(const char *, size_t);
static bool	 set_opt(struct ctl_opts *, const struct opt *, const char *,
		    char *, size_t);
static bool	 check_opts(struct ctl_opts *, unsigned, char *, size_t);
static bool	 seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static bool
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return false;
}

enum ctl_cmd
ctl_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].cmd;
	return CMD_NONE;
}

static const struct opt *
find_opt(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static bool
set_opt(struct ctl_opts *o, const struct opt *op, const char *value,
    char *err, size_t errlen)
{
	char *field = (char *)o + op->off, *end;
	long n;

	switch (op->kind) {
	case FLAG:
		*(bool *)field = true;
		return true;
	case TEXT:
		*(const char **)field = value;
		return true;
	case NUMBER:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < 0)
			return seterr(err, errlen, "--%s wants a whole number "
			    "of 0 or more, not \"%s\"", op->name, value);
		*(long *)field = n;
		return true;
	}
	return false;
}

/* Which options were given is known only once the command is. */
static bool
check_opts(struct ctl_opts *o, unsigned given, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if ((given & (1u << i)) && !(opts[i].cmds & M(o->cmd)))
			return seterr(err, errlen, "%s: unknown option --%s "
			    "(see introevalctl %s --help)", o->cmd_name,
			    opts[i].name, o->cmd_name);
	return true;
}

/*
 * Fills o (pointing into argv) and returns true, or puts the reason in
 * err. No command at all is CMD_HELP, so "introevalctl" prints usage.
 */
bool
ctl_parse_args(int argc, char **argv, struct ctl_opts *o, char *err,
    size_t errlen)
{
	const struct opt *op;
	const char *a, *eq, *value;
	unsigned given = 0;
	bool dashdash = false;
	int i;

	memset(o, 0, sizeof(*o));
	o->args = calloc((size_t)argc + 1, sizeof(char *));
	if (o->args == NULL)
		return seterr(err, errlen, "out of memory");
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (o->cmd_name == NULL) {
				o->cmd_name = a;
				if ((o->cmd = ctl_command(a)) == CMD_NONE)
					return seterr(err, errlen, "unknown "
					    "command \"%s\" (see introevalctl "
					    "--help)", a);
			} else
				o->args[o->nargs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(a, "-h") == 0)
			a = "--help";
		else if (strcmp(a, "-y") == 0)
			a = "--yes";
		if (strncmp(a, "--", 2) != 0)
			return seterr(err, errlen, "unknown option %s", a);
		a += 2;
		eq = strchr(a, '=');
		if ((op = find_opt(a, eq ? (size_t)(eq - a) : strlen(a))) ==
		    NULL)
			return seterr(err, errlen, "unknown option --%.*s",
			    (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		given |= 1u << (op - opts);
		value = NULL;
		if (op->kind != FLAG) {
			if (eq != NULL)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return seterr(err, errlen, "--%s needs a value",
				    op->name);
		} else if (eq != NULL)
			return seterr(err, errlen, "--%s takes no value",
			    op->name);
		if (!set_opt(o, op, value, err, errlen))
			return false;
	}
	if (o->cmd_name == NULL) {
		o->cmd = CMD_HELP;
		o->cmd_name = "help";
	}
	return check_opts(o, given, err, errlen);
}
