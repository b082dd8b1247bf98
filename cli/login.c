/*
 * login: signs in with POST /login and a JSON body (server/web/pages.c),
 * which answers a bearer token, and keeps the URL and token in the config
 * file (config.c). The URL and email come from flags, the environment or
 * a question; the password from the terminal without echo, or from
 * standard input with --password-stdin (scripts), never from a flag.
 * logout ends the session and forgets the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"

static bool	 ask(const char *, char *, size_t, bool);
static bool	 read_line(FILE *, char *, size_t);

static bool
read_line(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, f) == NULL)
		return false;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return true;
}

/* A question on the terminal; secret: without echo. */
static bool
ask(const char *prompt, char *buf, size_t len, bool secret)
{
	struct termios old, quiet;
	bool ok, echo_off = false;
	FILE *tty = fopen("/dev/tty", "r+");

	if (tty == NULL)
		return false;
	fputs(prompt, tty);
	fflush(tty);
	if (secret && tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	ok = read_line(tty, buf, len);
	if (echo_off) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	fclose(tty);
	return ok && buf[0] != '\0';
}

int
ctl_login(struct ctl *c)
{
	struct ctl_config cfg;
	char path[1024], err[512], email[256] = "", password[512] = "";
	const char *role = NULL;
	json_t *ans, *me;
	long status;
	int code;

	if (!ctl_config_path(path, sizeof(path), err, sizeof(err))) {
		ctl_warnx("login: %s", err);
		return CTL_FAILED;
	}
	if (c->url[0] == '\0' && (!isatty(STDIN_FILENO) || !ask("IntroEval "
	    "address (e.g. https://lab.example.edu): ", c->url,
	    sizeof(c->url), false))) {
		ctl_warnx("login: give the server's address with --url or "
		    "INTROEVAL_URL");
		return CTL_USAGE;
	}
	c->url[strcspn(c->url, " ")] = '\0';
	while (c->url[0] && c->url[strlen(c->url) - 1] == '/')
		c->url[strlen(c->url) - 1] = '\0';
	if (c->o->email != NULL)
		snprintf(email, sizeof(email), "%s", c->o->email);
	else if (getenv("INTROEVAL_EMAIL") != NULL)
		snprintf(email, sizeof(email), "%s", getenv("INTROEVAL_EMAIL"));
	else if (!isatty(STDIN_FILENO) || !ask("Email: ", email,
	    sizeof(email), false)) {
		ctl_warnx("login: give the account's email with --email");
		return CTL_USAGE;
	}
	if (c->o->password_stdin) {
		if (!read_line(stdin, password, sizeof(password)) ||
		    password[0] == '\0') {
			ctl_warnx("login: --password-stdin: no password on "
			    "standard input");
			return CTL_USAGE;
		}
	} else if (!ask("Password: ", password, sizeof(password), true)) {
		ctl_warnx("login: no terminal to ask the password on: use "
		    "--password-stdin");
		return CTL_USAGE;
	}
	c->token[0] = '\0';	/* a new sign-in, not the old token's */
	ans = ctl_send_json(c, "POST", "/login", json_pack("{s:s, s:s}",
	    "email", email, "password", password), &status, &code);
	memset(password, 0, sizeof(password));
	if (code != CTL_OK) {
		json_decref(ans);
		return code;
	}
	if (!json_is_string(json_object_get(ans, "token"))) {
		ctl_warnx("login: the server's answer has no token");
		json_decref(ans);
		return CTL_UNAVAILABLE;
	}
	snprintf(c->token, sizeof(c->token), "%s",
	    json_string_value(json_object_get(ans, "token")));
	json_decref(ans);
	me = ctl_get_json(c, "/api/v1/me", &code);
	role = json_string_value(json_object_get(me, "role"));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.url, sizeof(cfg.url), "%s", c->url);
	snprintf(cfg.token, sizeof(cfg.token), "%s", c->token);
	snprintf(cfg.email, sizeof(cfg.email), "%s", email);
	snprintf(cfg.kind, sizeof(cfg.kind), "session");
	if (!ctl_config_save(path, &cfg, err, sizeof(err))) {
		ctl_warnx("login: %s", err);
		json_decref(me);
		return CTL_FAILED;
	}
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:s, s:s, s:s?, s:s, s:s}",
		    "url", c->url, "email", email, "role", role, "config",
		    path, "kind", cfg.kind));
	else
		fprintf(c->out, "Signed in to %s as %s%s%s%s; the token is "
		    "in %s\n", c->url, email, role ? " (" : "", role ? role :
		    "", role ? ")" : "", path);
	json_decref(me);
	return CTL_OK;
}

int
ctl_logout(struct ctl *c)
{
	struct ctl_config cfg;
	struct ctl_req req = { .method = "POST", .path = "/logout" };
	struct ctl_resp r;
	char path[1024], err[512];

	if (!ctl_config_path(path, sizeof(path), err, sizeof(err)) ||
	    !ctl_config_load(path, &cfg, err, sizeof(err))) {
		ctl_warnx("logout: %s", err);
		return CTL_FAILED;
	}
	/* The session ends on the server too; a failure there is said. */
	if (c->token[0] != '\0' && c->url[0] != '\0') {
		if (ctl_http(c, &req, &r) && r.status >= 400 && r.status != 401)
			ctl_warnx("logout: the server answered HTTP %ld; the "
			    "token is forgotten here anyway", r.status);
		ctl_resp_free(&r);
	}
	if (cfg.token[0] != '\0') {
		cfg.token[0] = '\0';
		if (!ctl_config_save(path, &cfg, err, sizeof(err))) {
			ctl_warnx("logout: %s", err);
			return CTL_FAILED;
		}
	}
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:b}", "signed_out", 1));
	else
		fprintf(c->out, "Signed out.\n");
	return CTL_OK;
}
