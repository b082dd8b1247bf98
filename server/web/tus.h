/*
 * tus: resumable uploads, the tus 1.0.0 core protocol with its creation
 * and expiration extensions, under /api/v1/uploads.
 *
 *   OPTIONS /api/v1/uploads       what the server supports (anyone)
 *   POST    /api/v1/uploads       a student starts an upload
 *   HEAD    /api/v1/uploads/ID    how much has arrived (the owner)
 *   PATCH   /api/v1/uploads/ID    more bytes, from Upload-Offset (owner)
 *   GET     /api/v1/uploads/ID    the upload's state as JSON (owner)
 *
 * When the last byte arrives the file goes through upload_accept(), the
 * same path as a one-request upload, and becomes a submission; the
 * answer (and every later HEAD) names it in X-Submission-Id and
 * X-Submission-Url. Everyone but the owner gets 404. Unfinished uploads
 * expire upload_expire_h hours after their last byte; tus_sweep()
 * removes them and their files (every POST runs it, and so does the
 * sweeper thread when main starts one).
 */
#ifndef INTROEVAL_TUS_H
#define INTROEVAL_TUS_H

#include <stdbool.h>
#include <stddef.h>

struct app;
struct req;
struct tus_sweeper;

#define TUS_VERSION	"1.0.0"

int	tus_options(struct req *);
int	tus_create(struct req *);
int	tus_head(struct req *);
int	tus_patch(struct req *);
int	tus_get(struct req *);

/*
 * Removes expired uploads and the files of unfinished ones, skipping any
 * that a request is writing to right now; *n is how many rows went.
 */
bool	tus_sweep(struct app *, int *n, char *err, size_t errlen);

/* A thread that runs tus_sweep() every few minutes until stopped. */
struct tus_sweeper *tus_sweeper_start(struct app *);
void	tus_sweeper_stop(struct tus_sweeper *);

#endif
