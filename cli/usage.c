/*
 * usage: the text of "introevalctl --help" and of each command's --help.
 * The man page (cli/introevalctl.1) says the same at length.
 */
#include "ctl.h"

#define COMMON \
	"\nEvery command takes --url URL (or INTROEVAL_URL), --token TOKEN " \
	"(or\nINTROEVAL_TOKEN), --json (machine-readable output) and --help. " \
	"Without\nthem the URL and token come from \"introevalctl login\".\n"

static const char top[] =
	"usage: introevalctl COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"IntroEval's command-line client.\n"
	"\n"
	"commands:\n"
	"  login      sign in and keep the token in ~/.config/introevalctl\n"
	"  logout     end the session and forget the token\n"
	"  submit     upload recordings (resumable): submit FILE... "
	"[--assignment ID]\n"
	"  status     show submissions: status [ID...]\n"
	"  watch      follow submissions live until done: watch "
	"[--course ID | ID...]\n"
	"  results    a course's results: results --course ID [--csv]\n"
	"  job        preview and run a job request: job \"words\" [--yes]\n"
	"  backends   the LLM and speech backends\n"
	"  nodes      the GPU nodes and their phases\n"
	"  version    print the version\n"
	"\n"
	"exit codes: 0 done; 1 a submission failed, the server refused, or a\n"
	"job was not run; 2 bad command line; 3 not signed in or not allowed;\n"
	"4 not found; 5 the server could not be reached or failed.\n"
	COMMON
	"\nintroevalctl COMMAND --help says more; man introevalctl all.\n";

const char *
ctl_usage(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CMD_LOGIN:
		return "usage: introevalctl login [--url URL] [--email EMAIL] "
		    "[--password-stdin]\n"
		    "                         [--token-name NAME [--scope read|"
		    "act]]\n\n"
		    "Signs in and stores the URL and token in\n"
		    "$XDG_CONFIG_HOME/introevalctl/config (~/.config; the file "
		    "mode 600,\nits directory 700). The password is asked on "
		    "the terminal without\necho, or read from the first line "
		    "of standard input with\n--password-stdin. INTROEVAL_EMAIL "
		    "may give the email. With --token-name\na teacher or admin "
		    "stores a named API token (scope act, or read)\ninstead of "
		    "the sign-in's session token.\n" COMMON;
	case CMD_LOGOUT:
		return "usage: introevalctl logout\n\n"
		    "Ends the stored token on the server (signs the session out"
		    ", or\nrevokes the API token) and removes it from the "
		    "config file.\n" COMMON;
	case CMD_SUBMIT:
		return "usage: introevalctl submit FILE... [--assignment ID] "
		    "[--chunk-size KIB]\n"
		    "                          [--limit-rate BYTES_PER_S] "
		    "[--no-progress]\n\n"
		    "Uploads each recording with tus (resumable) and prints "
		    "its submission's\nnumber. A progress bar on a terminal, a "
		    "line per quarter otherwise.\nInterrupted, the same "
		    "command goes on where it stopped (state in\n"
		    "$XDG_STATE_HOME/introevalctl/uploads). Without "
		    "--assignment the\nserver takes your only open assignment."
		    " Chunks are 1024 KiB.\n" COMMON;
	case CMD_STATUS:
		return "usage: introevalctl status [ID...]\n\n"
		    "Without IDs, the submissions you may see, newest first;"
		    "\nwith IDs, those submissions.\n" COMMON;
	case CMD_WATCH:
		return "usage: introevalctl watch ID... | --course ID "
		    "[--timeout S]\n\n"
		    "Follows the submissions live over the WebSocket, one "
		    "line per change,\nand exits when all are completed or "
		    "failed: 0 when none failed, 1\notherwise. With --course, "
		    "the course's unfinished uploads (staff).\nAfter a drop "
		    "it reconnects and catches up; --timeout gives up (5).\n"
		    COMMON;
	case CMD_RESULTS:
		return "usage: introevalctl results --course ID "
		    "[--assignment ID] [--csv]\n\n"
		    "A course's students and their uploads that count (staff);"
		    "\n--csv prints the gradebook CSV as the course page "
		    "exports it.\n" COMMON;
	case CMD_JOB:
		return "usage: introevalctl job \"REQUEST\" [--course ID] "
		    "[--yes]\n\n"
		    "Shows how the server read the request, what it matches "
		    "and any\nquestions, then asks to run it (--yes: without "
		    "asking). A request\nwith questions is never run (exit 1), "
		    "nor one that matches nothing\n(exit 0)."
		    "\n" COMMON;
	case CMD_BACKENDS:
		return "usage: introevalctl backends\n\n"
		    "The LLM and speech backends and their health "
		    "(staff).\n" COMMON;
	case CMD_NODES:
		return "usage: introevalctl nodes\n\n"
		    "Each GPU node's phase, queues and health (staff).\n"
		    COMMON;
	default:
		return top;
	}
}
