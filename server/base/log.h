/*
 * log: one line per event on stderr, "time level message key=value ..."
 * (log_format kv) or one JSON object (json), with the thread's request
 * id. log_warn appends strerror(errno); fatal/fatalx exit(1).
 */
#ifndef INTROEVAL_LOG_H
#define INTROEVAL_LOG_H

#include <stdbool.h>

#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
};

void	log_set_level(enum log_level);
/* Parses "debug", "info", "warn"; returns false for anything else. */
int	log_parse_level(const char *, enum log_level *);
/* "kv" or "json"; 0 for anything else (the format is unchanged). */
int	log_set_format(const char *);

/*
 * The request id this thread's lines carry ("" or NULL: none), e.g. the
 * X-Request-Id nginx made, until set again. Ids that are not 1 to
 * LOG_REQUEST_ID_LEN letters, digits, '-', '_' or '.' are not kept.
 */
#define LOG_REQUEST_ID_LEN	64
bool	log_request_id_valid(const char *);
void	log_set_request_id(const char *);
const char *log_request_id(void);

void	log_debug(const char *, ...) PRINTF_LIKE(1, 2);
void	log_info(const char *, ...) PRINTF_LIKE(1, 2);
void	log_warn(const char *, ...) PRINTF_LIKE(1, 2);
void	log_warnx(const char *, ...) PRINTF_LIKE(1, 2);
void	fatal(const char *, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));
void	fatalx(const char *, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));

#define ASSERT(x)							\
	do {								\
		if (!(x))						\
			fatalx("assertion failed: %s at %s:%d", #x,	\
			    __FILE__, __LINE__);			\
	} while (0)

#endif
