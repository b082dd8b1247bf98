/*
 * tz: IANA time zones without touching the process's TZ (setenv("TZ")
 * and tzset() are process-wide, and every request runs on its own
 * thread). Reads the compiled zone file /usr/share/zoneinfo/NAME
 * (TZif, RFC 8536: its 64-bit transitions, then its POSIX TZ footer for
 * instants after the last transition) and converts between UTC and the
 * zone's wall-clock time, daylight saving included.
 *
 * A struct tz is immutable once loaded, so threads may share one.
 */
#ifndef INTROEVAL_TZ_H
#define INTROEVAL_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct tz;

/* Loads zone NAME ("Europe/Berlin"); NULL or "" is UTC. NULL, with the
   reason in err, when the name is malformed or the file unreadable. */
struct tz	*tz_load(const char *name, char *err, size_t errlen);
void		 tz_free(struct tz *);
/* The zone's name as loaded ("UTC" for UTC). */
const char	*tz_name(const struct tz *);
/* Offset from UTC in seconds east at instant t, and its abbreviation
   ("CET", "CEST"; abbr may be NULL). */
long		 tz_offset(const struct tz *, time_t t, const char **abbr);
/* Wall-clock fields of instant t (tm_wday, tm_yday filled; tm_isdst). */
void		 tz_localtime(const struct tz *, time_t t, struct tm *out);
/* The instant whose wall-clock time is *local (tm_year, tm_mon,
   tm_mday, tm_hour, tm_min, tm_sec; normalised like timegm). A time
   that occurs twice (autumn) gives the earlier instant; one skipped
   (spring) is read with the offset before the gap, so 02:30 on the
   day clocks jump from 02:00 to 03:00 becomes 03:30. */
time_t		 tz_mktime(const struct tz *, const struct tm *local);
/* Midnight starting the local day that contains t. */
time_t		 tz_day_start(const struct tz *, time_t t);

#endif
