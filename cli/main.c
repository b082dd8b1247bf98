/*
 * introevalctl: IntroEval's command-line client (see ctl.h for its
 * files, introevalctl.1 for its use). main parses the command line,
 * finds the URL and token (flags, then INTROEVAL_URL/INTROEVAL_TOKEN,
 * then the config file) and runs the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "ctl.h"

static bool	 find_server(struct ctl *);

static bool
find_server(struct ctl *c)
{
	struct ctl_config cfg;
	char path[1024], err[512];
	const char *url = c->o->url, *token = c->o->token;

	memset(&cfg, 0, sizeof(cfg));
	if (ctl_config_path(path, sizeof(path), err, sizeof(err)) &&
	    !ctl_config_load(path, &cfg, err, sizeof(err)))
		ctl_warnx("%s", err);
	if (url == NULL)
		url = getenv("INTROEVAL_URL");
	if (url == NULL || url[0] == '\0')
		url = cfg.url;
	if (token == NULL)
		token = getenv("INTROEVAL_TOKEN");
	/* The stored token belongs to the stored server only. */
	if ((token == NULL || token[0] == '\0') && strcmp(url, cfg.url) == 0)
		token = cfg.token;
	snprintf(c->url, sizeof(c->url), "%s", url);
	while (c->url[0] && c->url[strlen(c->url) - 1] == '/')
		c->url[strlen(c->url) - 1] = '\0';
	snprintf(c->token, sizeof(c->token), "%s", token ? token : "");
	if (c->o->cmd == CMD_LOGIN)
		return true;
	if (c->url[0] == '\0') {
		ctl_warnx("no server: run \"introevalctl login\", or give "
		    "--url or INTROEVAL_URL");
		return false;
	}
	if (c->token[0] == '\0' && c->o->cmd != CMD_LOGOUT) {
		ctl_warnx("not signed in: run \"introevalctl login\", or give "
		    "--token or INTROEVAL_TOKEN");
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl c;
	char err[512];
	int rc;

	if (!ctl_parse_args(argc, argv, &o, err, sizeof(err))) {
		ctl_warnx("%s", err);
		free(o.args);
		return CTL_USAGE;
	}
	if (o.help || o.cmd == CMD_HELP) {
		fputs(ctl_usage(o.help ? o.cmd : CMD_HELP), stdout);
		free(o.args);
		return CTL_OK;
	}
	if (o.cmd == CMD_VERSION) {
		printf(o.json ? "{\"version\":\"%s\"}\n" : "introevalctl %s\n",
		    INTROEVALCTL_VERSION);
		free(o.args);
		return CTL_OK;
	}
	memset(&c, 0, sizeof(c));
	c.o = &o;
	c.out = stdout;
	c.tty_out = isatty(STDOUT_FILENO);
	c.tty_err = isatty(STDERR_FILENO);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		ctl_warnx("libsodium or libcurl failed to start");
		free(o.args);
		return CTL_FAILED;
	}
	if (!find_server(&c)) {
		rc = o.cmd == CMD_LOGOUT ? CTL_OK : CTL_AUTH;
		goto out;
	}
	switch (o.cmd) {
	case CMD_LOGIN:		rc = ctl_login(&c); break;
	case CMD_LOGOUT:	rc = ctl_logout(&c); break;
	case CMD_SUBMIT:	rc = ctl_submit(&c); break;
	case CMD_STATUS:	rc = ctl_status(&c); break;
	case CMD_WATCH:		rc = ctl_watch(&c); break;
	case CMD_RESULTS:	rc = ctl_results(&c); break;
	case CMD_JOB:		rc = ctl_job(&c); break;
	case CMD_BACKENDS:	rc = ctl_backends(&c); break;
	case CMD_NODES:		rc = ctl_nodes(&c); break;
	default:		rc = CTL_USAGE; break;
	}
out:
	if (c.curl != NULL)
		curl_easy_cleanup(c.curl);
	curl_global_cleanup();
	free(o.args);
	return rc;
}
