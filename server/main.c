/*
 * introeval: the server binary and its maintenance commands.
 *
 *   introeval [options] serve       migrate, then serve HTTP and run the
 *                                   scheduler until SIGINT/SIGTERM (a
 *                                   graceful stop); SIGHUP re-reads the
 *                                   configuration (reload_config)
 *   introeval [options] migrate     apply sql/NNN_*.sql not yet applied
 *   introeval [options] user-add --email E --name N --role R
 *                                   [--password-stdin]
 *   introeval [options] has-admin   exit 0 if an admin exists, 1 if not,
 *                                   2 if the database cannot tell
 *   introeval [options] retention-run
 *                                   remove recordings past retention_days
 *   introeval routes                the HTTP route table as JSON lines
 *
 * Without a database URL in the configuration, every command uses the
 * private cluster that deploy/pg-private started, whose URL that script
 * writes to var/pg-private.url in the checkout (use_private_cluster).
 *
 * Start-up failures are fatal with one line saying what to fix; once
 * serving, nothing a request or a job does can stop the process.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "app.h"
#include "assignment.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "course.h"
#include "db.h"
#include "router.h"
#include "llm.h"
#include "log.h"
#include "retention.h"
#include "scheduler.h"
#include "sdnotify.h"
#include "tmpl.h"
#include "tus.h"
#include "ws.h"
#include "util.h"

static void		 usage(FILE *);
static void		 use_private_cluster(struct config *);
static char		*checkout_dir(const struct config *);
static const char	*db_problem(const struct config *, const char *,
			    char *, size_t);
static struct db	*open_db(const struct config *, bool);
static struct db	*open_sched_db(const struct config *);
static void		 make_dir(const char *);
static int		 cmd_serve(const struct config *, const char *);
static void		 reload_config(const struct config *, const char *);
static int		 cmd_migrate(const struct config *);
static int		 cmd_user_add(const struct config *, int, char **);
static int		 cmd_has_admin(const struct config *);
static int		 cmd_retention_run(const struct config *);
static int		 cmd_course_add(const struct config *, int, char **);
static int		 cmd_enrol(const struct config *, int, char **);
static int		 cmd_assignment_add(const struct config *, int, char **);
static long long	 course_named(struct db *, const char *, const char *);

/* var/pg-private.url when no URL was configured (use_private_cluster). */
static char		*private_url_file;

#define PRIVATE_NOT_RUNNING "the private database is not running: start " \
	"it with deploy/run or deploy/pg-private start, or set DATABASE_URL"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: introeval [--config FILE] COMMAND\n"
	    "       introeval --print-config | --config-keys | --version\n"
	    "\n"
	    "commands:\n"
	    "  serve       apply migrations, then serve HTTP and process "
	    "uploads\n"
	    "  migrate     apply the database migrations in sql/\n"
	    "  user-add --email E --name NAME --role student|teacher|admin "
	    "[--password-stdin]\n"
	    "              create an account; without --password-stdin a "
	    "password is\n"
	    "              generated and printed as \"password: X\"\n"
	    "  has-admin   exit 0 if an admin account exists, 1 if not, 2 on "
	    "error\n"
	    "  course-add --code CODE --title TITLE\n"
	    "              create a course; prints its id and join code\n"
	    "  enrol --course CODE --email E --role student|teacher "
	    "[--section S]\n"
	    "              enrol an account in a course\n"
	    "  assignment-add --course CODE --title TITLE [--instructions "
	    "TEXT]\n"
	    "              [--due \"YYYY-MM-DD HH:MM\"] [--late-ok]\n"
	    "              give a course an assignment, open now (dates in "
	    "the\n"
	    "              course's time zone)\n"
	    "  routes      print the HTTP route table, one JSON object a line\n"
	    "  retention-run\n"
	    "              remove the recordings (and extracted sound) kept "
	    "past\n"
	    "              retention_days now; prints how many and the bytes "
	    "freed\n"
	    "\n"
	    "Every configuration key can be set in the JSON file or as "
	    "INTROEVAL_<KEY>\n"
	    "in the environment (DATABASE_URL too); --config-keys lists "
	    "them.\n"
	    "Without a database URL, the private cluster of deploy/run is used "
	    "(its URL is\n"
	    "in var/pg-private.url, written by deploy/pg-private start).\n");
}

/*
 * The checkout this binary was built in: the folder above its own
 * (build/introeval) when that holds deploy/pg-private, else share_dir
 * (which defaults to the source folder the binary was built from).
 */
static char *
checkout_dir(const struct config *cfg)
{
	char exe[PATH_MAX], *slash, *probe;
	bool found = false;
	ssize_t n;
	int i;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		/* Drop the file name and its folder: .../build/introeval. */
		for (i = 0; i < 2 && (slash = strrchr(exe, '/')) != NULL; i++)
			*slash = '\0';
		probe = xasprintf("%s/deploy/pg-private", exe);
		found = exe[0] != '\0' && access(probe, F_OK) == 0;
		free(probe);
	}
	return xstrdup(found ? exe : cfg->share_dir);
}

/*
 * With no database URL configured, takes the one deploy/pg-private start
 * wrote (the script is the only place it is computed). A missing file
 * leaves the URL empty, which open_db reports as the cluster not running.
 */
static void
use_private_cluster(struct config *cfg)
{
	char line[2048], *dir;
	FILE *f;

	if (cfg->database_url[0] != '\0')
		return;
	dir = checkout_dir(cfg);
	private_url_file = xasprintf("%s/var/pg-private.url", dir);
	free(dir);
	if ((f = fopen(private_url_file, "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		free(cfg->database_url);
		cfg->database_url = xstrdup(line);
	}
	fclose(f);
}

/* What to say when there is no URL, or connecting failed with err. */
static const char *
db_problem(const struct config *cfg, const char *err, char *buf,
    size_t len)
{
	if (cfg->database_url[0] == '\0')
		return PRIVATE_NOT_RUNNING;
	if (private_url_file == NULL)
		return err;
	/* libpq's message ends with a newline; the line goes on after it. */
	snprintf(buf, len, "%s (%s names %s: %.*s)", PRIVATE_NOT_RUNNING,
	    private_url_file, cfg->database_url, (int)strcspn(err, "\n"), err);
	return buf;
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		fatal("cannot create %s", path);
}

static struct db *
open_db(const struct config *cfg, bool migrate)
{
	struct db_options o = { .url = cfg->database_url,
	    .size = cfg->db_pool_size,
	    .acquire_timeout_s = cfg->db_acquire_timeout_s,
	    .application_name = "introeval-web" };
	char err[1024], msg[3072], *dir;
	struct db *db;
	int applied;

	if (cfg->database_url[0] == '\0')
		fatalx("%s", db_problem(cfg, "", msg, sizeof(msg)));
	if ((db = db_open_with(&o, err, sizeof(err))) == NULL)
		fatalx("%s", db_problem(cfg, err, msg, sizeof(msg)));
	if (migrate) {
		dir = xasprintf("%s/sql", cfg->share_dir);
		if (!db_migrate(db, dir, &applied, err, sizeof(err)))
			fatalx("migrations in %s: %s", dir, err);
		if (applied > 0)
			log_info("applied %d migration(s)", applied);
		free(dir);
	}
	return db;
}

/*
 * The scheduler's own connections (heartbeats, claims, results), so that
 * request load cannot starve them: a statement time limit instead of a
 * bounded wait, since its callers are few and known.
 */
static struct db *
open_sched_db(const struct config *cfg)
{
	struct db_options o = { .url = cfg->database_url,
	    .size = cfg->stt_concurrency + 4,
	    .statement_timeout_s = cfg->db_statement_timeout_s,
	    .application_name = "introeval-sched" };
	char err[1024];
	struct db *db;

	if ((db = db_open_with(&o, err, sizeof(err))) == NULL)
		fatalx("scheduler: %s", err);
	return db;
}

static int
cmd_migrate(const struct config *cfg)
{
	db_close(open_db(cfg, true));
	return 0;
}

static int
cmd_has_admin(const struct config *cfg)
{
	struct db *db;
	char err[512], msg[3072];
	bool has;

	err[0] = '\0';
	if (cfg->database_url[0] == '\0' ||
	    (db = db_open(cfg->database_url, 1, err, sizeof(err))) == NULL) {
		log_warnx("has-admin: %s", db_problem(cfg, err, msg,
		    sizeof(msg)));
		return 2;
	}
	if (!auth_has_admin(db, &has, err, sizeof(err))) {
		log_warnx("has-admin: %s", err);
		db_close(db);
		return 2;
	}
	db_close(db);
	return has ? 0 : 1;
}

static int
cmd_retention_run(const struct config *cfg)
{
	struct retention_result res;
	struct db *db;
	char err[512], *dir;
	bool ok;

	if (cfg->retention_days <= 0) {
		printf("retention_days is 0: recordings are kept forever; "
		    "nothing removed\n");
		return 0;
	}
	db = open_db(cfg, true);
	dir = xasprintf("%s/uploads", cfg->data_dir);
	ok = retention_run(db, dir, cfg->retention_days, "cli", &res, err,
	    sizeof(err));
	printf("removed %d recording%s, %lld bytes freed (retention_days=%d)"
	    "\n", res.removed, res.removed == 1 ? "" : "s", res.bytes,
	    cfg->retention_days);
	if (!ok)
		fprintf(stderr, "retention-run: %s\n", err);
	free(dir);
	db_close(db);
	return ok ? 0 : 1;
}

static int
cmd_user_add(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	const char *email = NULL, *name = NULL, *role = NULL;
	char line[512], err[512], *password = NULL;
	bool from_stdin = false;
	struct db *db;
	long long id;
	int c, rc = 1;
	size_t n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': email = optarg; break;
		case 'n': name = optarg; break;
		case 'r': role = optarg; break;
		case 'p': from_stdin = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (email == NULL || name == NULL || role == NULL) {
		fprintf(stderr, "user-add needs --email, --name and --role\n");
		return 2;
	}
	if (from_stdin) {
		if (fgets(line, sizeof(line), stdin) == NULL)
			fatalx("user-add: no password on standard input");
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		password = xstrdup(line);
	} else
		password = auth_generate_password();
	db = open_db(cfg, true);
	if (!auth_user_create(db, email, name, role, password, &id, NULL, err,
	    sizeof(err)))
		fprintf(stderr, "user-add: %s\n", err);
	else {
		printf("created user %lld: %s (%s)\n", id, email, role);
		if (!from_stdin)
			printf("password: %s\n", password);
		rc = 0;
	}
	sodium_memzero(password, strlen(password));
	free(password);
	db_close(db);
	return rc;
}

/*
 * Setting up a class from a terminal: a course, its members and an
 * assignment, through the same functions as the pages.
 */
static int
cmd_course_add(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "code", required_argument, NULL, 'c' },
		{ "title", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *code = NULL, *title = NULL;
	char err[512];
	struct db *db;
	json_t *course = NULL;
	long long id;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': code = optarg; break;
		case 't': title = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (code == NULL || title == NULL) {
		fprintf(stderr, "course-add needs --code and --title\n");
		return 2;
	}
	db = open_db(cfg, true);
	if (!course_create(db, code, title, &id, NULL, err, sizeof(err)) ||
	    !course_get(db, id, &course, err, sizeof(err)) || course == NULL)
		fprintf(stderr, "course-add: %s\n", err);
	else {
		printf("created course %lld: %s (join code %s)\n", id, code,
		    json_string_value(json_object_get(course, "join_code")));
		rc = 0;
	}
	json_decref(course);
	db_close(db);
	return rc;
}

/* The id of the course with this code, or 0 after saying why. */
static long long
course_named(struct db *db, const char *cmd, const char *code)
{
	char err[512];
	long long id;

	if (!course_id_by_code(db, code, &id, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 0;
	}
	if (id == 0)
		fprintf(stderr, "%s: there is no course with the code %s\n", cmd,
		    code);
	return id;
}

static int
cmd_enrol(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "course", required_argument, NULL, 'c' },
		{ "email", required_argument, NULL, 'e' },
		{ "role", required_argument, NULL, 'r' },
		{ "section", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *code = NULL, *email = NULL, *role = NULL, *section = "";
	struct course_enrolment en;
	char err[512];
	struct db *db;
	long long course;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': code = optarg; break;
		case 'e': email = optarg; break;
		case 'r': role = optarg; break;
		case 's': section = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (code == NULL || email == NULL || role == NULL ||
	    (strcmp(role, "student") != 0 && strcmp(role, "teacher") != 0)) {
		fprintf(stderr, "enrol needs --course, --email and --role "
		    "student or teacher\n");
		return 2;
	}
	db = open_db(cfg, true);
	if ((course = course_named(db, "enrol", code)) == 0)
		;
	else if (!course_enrol(db, course, email, role, section, false, &en,
	    err, sizeof(err)))
		fprintf(stderr, "enrol: %s\n", err);
	else if (en.outcome == COURSE_ELSEWHERE)
		fprintf(stderr, "enrol: %s is enrolled in %s already%s%s; "
		    "change it on the course page\n", email, code,
		    en.was_section[0] != '\0' ? " in section " : "",
		    en.was_section);
	else {
		printf("%s %s in %s as %s\n", en.outcome == COURSE_SAME ?
		    "already enrolled:" : "enrolled", email, code, role);
		rc = 0;
	}
	db_close(db);
	return rc;
}

static int
cmd_assignment_add(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "course", required_argument, NULL, 'c' },
		{ "title", required_argument, NULL, 't' },
		{ "instructions", required_argument, NULL, 'i' },
		{ "due", required_argument, NULL, 'd' },
		{ "late-ok", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct assignment_input in;
	const char *code = NULL;
	char err[512];
	struct db *db;
	long long course, id = 0;
	const char *invalid;
	int c, rc = 1;

	memset(&in, 0, sizeof(in));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': code = optarg; break;
		case 't': snprintf(in.title, sizeof(in.title), "%s", optarg);
			break;
		case 'i': snprintf(in.instructions, sizeof(in.instructions),
			    "%s", optarg);
			break;
		case 'd': snprintf(in.due, sizeof(in.due), "%s", optarg);
			break;
		case 'l': in.late_ok = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (code == NULL || in.title[0] == '\0') {
		fprintf(stderr, "assignment-add needs --course and --title\n");
		return 2;
	}
	db = open_db(cfg, true);
	if ((course = course_named(db, "assignment-add", code)) == 0)
		;
	else if (!assignment_save(db, course, 0, &in, &id, &invalid, err,
	    sizeof(err)))
		fprintf(stderr, "assignment-add: %s\n", err);
	else {
		printf("created assignment %lld: %s (%s)\n", id, in.title,
		    code);
		rc = 0;
	}
	db_close(db);
	return rc;
}

/*
 * SIGHUP: reads the configuration file (and the environment) again. The
 * keys that can change while serving take effect at once; any other key
 * that changed is named as needing a restart and keeps its old value, so
 * nothing a connection relies on moves under it. A file that does not
 * load changes nothing.
 */
static void
reload_config(const struct config *cur, const char *path)
{
	/* Read by every thread through atomics in log.c. */
	static const char *const live[] = { "log_level", "log_format" };
	struct config next;
	enum log_level level;
	char err[1024];
	struct buf later = BUF_INIT, now = BUF_INIT;
	json_t *a, *b, *v;
	const char *key;
	size_t i;
	bool is_live;

	sdnotify("RELOADING=1");
	if (!config_load(&next, path, err, sizeof(err))) {
		log_warnx("SIGHUP: configuration not reloaded, nothing "
		    "changed: %s", err);
		sdnotify("READY=1");
		return;
	}
	if (next.database_url[0] == '\0') {	/* the private cluster's */
		free(next.database_url);
		next.database_url = xstrdup(cur->database_url);
	}
	a = config_to_json(cur);
	b = config_to_json(&next);
	json_object_foreach(b, key, v) {
		if (json_equal(v, json_object_get(a, key)))
			continue;
		is_live = false;
		for (i = 0; i < ARRAY_LEN(live); i++)
			is_live = is_live || strcmp(key, live[i]) == 0;
		buf_printf(is_live ? &now : &later, "%s%s", (is_live ? now :
		    later).len > 0 ? "," : "", key);
	}
	if (log_parse_level(next.log_level, &level))
		log_set_level(level);
	log_set_format(next.log_format);
	log_info("SIGHUP: configuration re-read from %s applied=%s "
	    "needs_restart=%s", path != NULL ? path : "(environment only)",
	    now.len > 0 ? buf_cstr(&now) : "none", later.len > 0 ?
	    buf_cstr(&later) : "none");
	if (later.len > 0)
		log_warnx("SIGHUP: %s changed but needs a restart to take "
		    "effect; the old value stays until then", buf_cstr(&later));
	buf_free(&now);
	buf_free(&later);
	json_decref(a);
	json_decref(b);
	config_free(&next);
	sdnotify("READY=1");
}

static int
cmd_serve(const struct config *cfg, const char *path)
{
	struct app app;
	struct sched_env env;
	struct router *http;
	struct tus_sweeper *sweeper = NULL;
	struct retention *retention = NULL;
	struct ws_hub *ws = NULL;
	char err[1024], *tdir;
	sigset_t set;
	int sig;
	/* role: web serves people, worker runs the node, all does both. */
	bool pages = strcmp(cfg->role, "worker") != 0;
	bool scheduler = strcmp(cfg->role, "web") != 0;

	memset(&app, 0, sizeof(app));
	app.cfg = cfg;
	app.started_at = util_wallclock();
	gate_init(&app.probes, cfg->media_workers);
	make_dir(cfg->data_dir);
	app.uploads_dir = xasprintf("%s/uploads", cfg->data_dir);
	app.work_dir = xasprintf("%s/work", cfg->data_dir);
	app.static_dir = xasprintf("%s/static", cfg->share_dir);
	make_dir(app.uploads_dir);
	make_dir(app.work_dir);
	tdir = xasprintf("%s/templates", cfg->share_dir);
	if ((app.tmpl = tmpl_set_load(tdir, err, sizeof(err))) == NULL)
		fatalx("templates in %s: %s", tdir, err);
	free(tdir);
	app.db = open_db(cfg, true);

	/* Threads inherit this mask, so only sigwait below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("role=%s: %s", cfg->role, !scheduler ? "pages, API and "
	    "WebSockets; no scheduler" : !pages ? "the scheduler; HTTP "
	    "answers /healthz, /readyz and /metrics only" : "pages, API, WebSockets "
	    "and the scheduler");
	env.cfg = cfg;
	env.db = scheduler ? open_sched_db(cfg) : NULL;
	env.uploads_dir = app.uploads_dir;
	env.work_dir = app.work_dir;
	if (scheduler && (app.sched = sched_start(&env, err, sizeof(err))) ==
	    NULL)
		fatalx("scheduler: %s", err);
	if ((http = router_start(&app, !pages, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (pages && (ws = ws_start(&app, router_context(http), err,
	    sizeof(err))) == NULL)
		fatalx("websocket hub: %s", err);
	router_open(http);
	if (pages)
		sweeper = tus_sweeper_start(&app);
	if (scheduler)
		retention = retention_start(env.db, cfg, app.uploads_dir);
	log_info("introeval %s serving on http://%s:%d/ data_dir=%s role=%s",
	    INTROEVAL_VERSION, cfg->host, cfg->port, cfg->data_dir, cfg->role);
	sdnotify("READY=1");
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		reload_config(cfg, path);
	/*
	 * A graceful stop: /readyz says 503 at once, the node's work goes
	 * back to the queue, live pages are told to reconnect (1012), then
	 * the listener closes and the requests in flight finish.
	 */
	log_info("signal %d: stopping", sig);
	sdnotify("STOPPING=1");
	atomic_store(&app.stopping, true);
	sched_stop_begin(app.sched);
	ws_close_all(ws);
	router_stop(http);
	ws_stop(ws);	/* after router_stop: CivetWeb closes sockets via the hub */
	tus_sweeper_stop(sweeper);
	retention_stop(retention);
	sched_stop(app.sched);
	db_close(env.db);
	db_close(app.db);
	tmpl_set_free(app.tmpl);
	free(app.uploads_dir);
	free(app.work_dir);
	free(app.static_dir);
	gate_destroy(&app.probes);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "config-keys", no_argument, NULL, 'K' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = getenv("INTROEVAL_CONFIG"), *cmd;
	bool print = false;
	struct config cfg;
	enum log_level level;
	char err[1024];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'P': print = true; break;
		case 'K': config_print_keys(); return 0;
		case 'V': printf("introeval %s\n", INTROEVAL_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path != NULL && path[0] == '\0')
		path = NULL;
	if (!config_load(&cfg, path, err, sizeof(err)))
		fatalx("configuration: %s", err);
	if (log_parse_level(cfg.log_level, &level))
		log_set_level(level);
	log_set_format(cfg.log_format);
	use_private_cluster(&cfg);
	if (print) {
		json_t *j = config_to_json(&cfg);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(j);
		config_free(&cfg);
		free(private_url_file);
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!auth_init())
		fatalx("libsodium cannot be initialised");
	auth_configure(cfg.hash_workers, cfg.hash_wait_s, cfg.hash_queue_max,
	    strcmp(cfg.password_hash_cost, "minimum") == 0);
	llm_global_init();
	cmd = argv[optind];
	if (strcmp(cmd, "routes") == 0)
		rc = router_print_routes(stdout) ? 0 : 1;
	else if (strcmp(cmd, "serve") == 0)
		rc = cmd_serve(&cfg, path);
	else if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&cfg);
	else if (strcmp(cmd, "user-add") == 0)
		rc = cmd_user_add(&cfg, argc - optind, argv + optind);
	else if (strcmp(cmd, "retention-run") == 0)
		rc = cmd_retention_run(&cfg);
	else if (strcmp(cmd, "has-admin") == 0)
		rc = cmd_has_admin(&cfg);
	else if (strcmp(cmd, "course-add") == 0)
		rc = cmd_course_add(&cfg, argc - optind, argv + optind);
	else if (strcmp(cmd, "enrol") == 0)
		rc = cmd_enrol(&cfg, argc - optind, argv + optind);
	else if (strcmp(cmd, "assignment-add") == 0)
		rc = cmd_assignment_add(&cfg, argc - optind, argv + optind);
	else {
		fprintf(stderr, "introeval: unknown command \"%s\"\n", cmd);
		usage(stderr);
		rc = 2;
	}
	llm_global_cleanup();
	config_free(&cfg);
	free(private_url_file);
	return rc;
}
