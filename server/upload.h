/*
 * upload: POST /api/v1/submissions. The video arrives as the raw request
 * body and is streamed to disk under a byte cap (never held in memory,
 * never through CivetWeb's form parser), checked with ffprobe, and only
 * then becomes a submission.
 */
#ifndef INTROEVAL_UPLOAD_H
#define INTROEVAL_UPLOAD_H

struct req;

int	upload_submission(struct req *);

#endif
