/*
 * tus_impl.h: what tus.c (the protocol) and tus_store.c (the uploads
 * table, the files' names and their expiry) share. Not for other modules.
 */
#ifndef INTROEVAL_TUS_IMPL_H
#define INTROEVAL_TUS_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "upload.h"

struct app;
struct db;

#define TUS_METADATA_MAX	4096	/* bytes of Upload-Metadata */
#define TUS_FILENAME_MAX	255
#define TUS_ERROR_MAX		512
#define TUS_MAX_OPEN		5	/* unfinished uploads per student */

/* One row of the uploads table. */
struct tus_row {
	long long	 id;
	long long	 user_id;
	char		 stored_name[UPLOAD_NAME_LEN + 1];
	long long	 length;
	char		 metadata[TUS_METADATA_MAX + 1];
	char		 filename[TUS_FILENAME_MAX + 1];
	bool		 finished;
	long long	 submission_id;		/* 0: none */
	char		 error[TUS_ERROR_MAX];	/* "" unless refused */
	double		 expires_at;		/* seconds since the epoch */
	char		 expires_iso[32];	/* the same, ISO 8601 UTC */
};

/* tus.c's header parsers (public for tests/fuzz): Upload-Length and
 * Upload-Offset, Upload-Metadata. */
bool	 tus_parse_length(const char *, long long *);
bool	 tus_parse_metadata(const char *h, char *out, size_t outlen,
	    long long *assignment);

/* uploads/<stored_name>.tus: where an unfinished upload's bytes are. */
char	*tus_data_path(const struct app *, const char *stored_name);

/* A new row for user, expiring expire_h hours from now; fills *row. */
bool	 tus_row_create(struct db *, long long user_id, const char *name,
	    long long length, const char *metadata, const char *filename,
	    int expire_h, struct tus_row *row, char *err, size_t errlen);
/* The user's unexpired upload id; *found is false when there is none. */
bool	 tus_row_get(struct db *, long long id, long long user_id,
	    struct tus_row *row, bool *found, char *err, size_t errlen);
/* Moves the expiry to expire_h hours from now (bytes arrived). */
bool	 tus_row_touch(struct db *, struct tus_row *row, int expire_h,
	    char *err, size_t errlen);
/* Records the outcome: a submission, or the reason (error) it was not. */
bool	 tus_row_finish(struct db *, struct tus_row *row,
	    long long submission_id, const char *error, int expire_h,
	    char *err, size_t errlen);
bool	 tus_row_delete(struct db *, long long id, char *err, size_t errlen);

/*
 * tus.c: finishes upload id of user_id if all its bytes are in and no
 * request holds it -- the server stopped between its last byte and its
 * submission. Returns whether it did.
 */
bool	 tus_finish_stranded(struct app *, long long id, long long user_id);

/*
 * Removes the user's unfinished uploads beyond the newest `keep`, with
 * their files, so that no student holds more than TUS_MAX_OPEN.
 */
bool	 tus_prune(struct app *, long long user_id, int keep, char *err,
	    size_t errlen);

#endif
