/*
 * login: signs in with POST /login and a JSON body (server/web/pages.c),
 * which answers a bearer token, and keeps the URL and token in the config
 * file (config.c). The URL and email come from flags, the environment or
 * a question; the password from the terminal without echo, or from
 * standard input with --password-stdin (scripts), never from a flag.
 * With --token-name a teacher or admin stores a named API token instead
 * of the session's. logout ends the token on the server and forgets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"

static bool	 ask(const char *, char *, size_t, bool);
static bool	 read_line(FILE *, char *, size_t);
static bool	 end_session(struct ctl *);
static bool	 api_token(struct ctl *, struct ctl_config *, int *);

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

/*
 * Ends the session the token in c belongs to: POST /logout is the sign-in
 * form's route, so it wants the account's CSRF token as a form field.
 */
static bool
end_session(struct ctl *c)
{
	struct ctl_req req = { .method = "POST", .path = "/logout",
	    .ctype = "application/x-www-form-urlencoded" };
	struct ctl_resp r;
	char body[200];
	json_t *me;
	bool ok;
	int code;

	if ((me = ctl_get_json(c, "/api/v1/me", &code)) == NULL)
		return code == CTL_AUTH;	/* already ended */
	snprintf(body, sizeof(body), "csrf=%s", json_string_value(
	    json_object_get(me, "csrf_token")) ? json_string_value(
	    json_object_get(me, "csrf_token")) : "");
	json_decref(me);
	req.body = body;
	req.len = strlen(body);
	ok = ctl_http(c, &req, &r) && r.status >= 300 && r.status < 400;
	ctl_resp_free(&r);
	return ok;
}

/*
 * --token-name: a named API token (POST /api/v1/tokens, teachers and
 * admins) replaces the sign-in's session token, which is then ended.
 * False with the exit code when the server made none.
 */
static bool
api_token(struct ctl *c, struct ctl_config *cfg, int *code)
{
	const char *scope = c->o->scope ? c->o->scope : "act";
	json_t *t;
	long status;
	char id[32];

	t = ctl_send_json(c, "POST", "/api/v1/tokens", json_pack("{s:s, s:s}",
	    "name", c->o->token_name, "scope", scope), &status, code);
	if (*code != CTL_OK || !json_is_string(json_object_get(t, "token"))) {
		if (*code == CTL_OK) {
			ctl_warnx("login: the server's answer has no token");
			*code = CTL_UNAVAILABLE;
		} else if (status == 404)
			ctl_warnx("login: this server has no API tokens; sign "
			    "in without --token-name");
		json_decref(t);
		end_session(c);
		return false;
	}
	if (!end_session(c))
		ctl_warnx("login: the sign-in's session could not be ended; "
		    "it expires on its own");
	snprintf(cfg->token, sizeof(cfg->token), "%s",
	    json_string_value(json_object_get(t, "token")));
	snprintf(id, sizeof(id), "%lld",
	    (long long)json_integer_value(json_object_get(t, "id")));
	snprintf(cfg->token_id, sizeof(cfg->token_id), "%s", id);
	snprintf(cfg->kind, sizeof(cfg->kind), "api");
	snprintf(c->token, sizeof(c->token), "%s", cfg->token);
	json_decref(t);
	return true;
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
	if (c->o->scope != NULL && (c->o->token_name == NULL ||
	    (strcmp(c->o->scope, "read") != 0 && strcmp(c->o->scope, "act") !=
	    0))) {
		ctl_warnx("login: --scope is read or act, with --token-name");
		return CTL_USAGE;
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
	if ((c->o->token_name != NULL && !api_token(c, &cfg, &code)) ||
	    !ctl_config_save(path, &cfg, err, sizeof(err))) {
		if (code == CTL_OK) {
			ctl_warnx("login: %s", err);
			code = CTL_FAILED;
		}
		json_decref(me);
		return code;
	}
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:s, s:s, s:s?, s:s, s:s}",
		    "url", c->url, "email", email, "role", role, "config",
		    path, "kind", cfg.kind));
	else
		fprintf(c->out, "Signed in to %s as %s%s%s%s; the %s is in "
		    "%s\n", c->url, email, role ? " (" : "", role ? role : "",
		    role ? ")" : "", cfg.kind[0] == 'a' ? "API token" :
		    "token", path);
	json_decref(me);
	return CTL_OK;
}

/*
 * Forgets the token, after ending it on the server: a session with
 * POST /logout, an API token with DELETE /api/v1/tokens/ID.
 */
int
ctl_logout(struct ctl *c)
{
	struct ctl_config cfg;
	struct ctl_req req = { .method = "DELETE" };
	struct ctl_resp r;
	char path[1024], err[512], tpath[64];
	bool ended = true;

	if (!ctl_config_path(path, sizeof(path), err, sizeof(err)) ||
	    !ctl_config_load(path, &cfg, err, sizeof(err))) {
		ctl_warnx("logout: %s", err);
		return CTL_FAILED;
	}
	if (c->token[0] != '\0' && c->url[0] != '\0') {
		if (strcmp(cfg.kind, "api") == 0 && cfg.token_id[0] != '\0' &&
		    strcmp(c->token, cfg.token) == 0) {
			snprintf(tpath, sizeof(tpath), "/api/v1/tokens/%s",
			    cfg.token_id);
			req.path = tpath;
			ended = ctl_http(c, &req, &r) && (r.status == 200 ||
			    r.status == 401);
			ctl_resp_free(&r);
		} else
			ended = end_session(c);
	}
	if (!ended)
		ctl_warnx("logout: the server did not end the token; it is "
		    "forgotten here anyway%s", cfg.kind[0] == 'a' ? " (revoke "
		    "it on your account page)" : "");
	if (strcmp(c->token, cfg.token) == 0 && cfg.token[0] != '\0') {
		cfg.token[0] = cfg.token_id[0] = '\0';
		if (!ctl_config_save(path, &cfg, err, sizeof(err))) {
			ctl_warnx("logout: %s", err);
			return CTL_FAILED;
		}
	}
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:b, s:b}", "signed_out", 1,
		    "ended_on_server", ended));
	else
		fprintf(c->out, "Signed out%s.\n", ended ? "" : " here");
	return CTL_OK;
}
