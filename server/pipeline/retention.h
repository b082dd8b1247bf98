/*
 * retention: removes recordings, and the sound extracted from them, of
 * finished submissions once retention_days have passed since their
 * assignment closed (its due date; without an assignment or a due date,
 * the upload). Transcripts, scores and comments stay; the row records
 * when (submissions.media_removed_at) and under which setting.
 *
 * A run may happen in several processes at once (every node that runs
 * the scheduler has the periodic thread; an admin may run the CLI):
 * rows are taken FOR UPDATE SKIP LOCKED and marked in the same
 * transaction, so each recording is removed and counted once.
 */
#ifndef INTROEVAL_RETENTION_H
#define INTROEVAL_RETENTION_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct db;
struct retention;

struct retention_result {
	int		 removed;	/* recordings */
	long long	 bytes;		/* freed on disk, sound files included */
};

/*
 * One run with days (> 0) against the files in uploads_dir; source
 * ("cli", "scheduler") goes to the audit log, which gets an entry for
 * every run that removed something and for every CLI run.
 */
bool	retention_run(struct db *, const char *uploads_dir, int days,
	    const char *source, struct retention_result *, char *err,
	    size_t errlen);
/*
 * Removes every file the server made under a stored name in
 * uploads_dir: the recording, its extracted sound with the extractor's
 * temporary files, an upload's data file. *bytes grows by what was
 * freed.
 */
void	retention_remove_files(const char *uploads_dir,
	    const char *stored_name, long long *bytes);

/* The periodic run (every retention_interval_s); NULL when days is 0. */
struct retention *retention_start(struct db *, const struct config *,
	    const char *uploads_dir);
void	retention_stop(struct retention *);

#endif
