/*
 * buf: a growable byte buffer, always NUL-terminated so that data can be
 * used as a C string. Zero-initialised (BUF_INIT) is a valid empty buffer.
 */
#ifndef INTROEVAL_BUF_H
#define INTROEVAL_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, keeps memory */
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_puts(struct buf *, const char *);
void	 buf_putc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s with & < > " ' escaped for HTML text and attribute values. */
void	 buf_put_html(struct buf *, const char *, size_t);
/* Returns the contents as a malloc'd string (caller frees); buf is reset. */
char	*buf_release(struct buf *);
/* Removes the first n bytes. */
void	 buf_consume(struct buf *, size_t);
/* Never NULL: "" for an empty buffer. */
const char *buf_cstr(const struct buf *);

#endif
