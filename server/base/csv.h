/*
 * csv: a small RFC 4180 reader for files people make in spreadsheets:
 * comma-separated fields, quoted fields that hold commas, quotes ("")
 * and line breaks, CRLF or LF line ends, a UTF-8 byte-order mark at the
 * start. Blank lines are skipped. Used by the roster import.
 */
#ifndef INTROEVAL_CSV_H
#define INTROEVAL_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct csv_row {
	char	**fields;	/* nfields strings, each NUL-terminated */
	int	  nfields;
	int	  line;		/* 1-based line the row starts on */
};

/*
 * Parses text (len bytes; NUL bytes are refused) into *rows (caller
 * frees with csv_free). False with the line and reason in err for an
 * unterminated quote or text after a closing quote.
 */
bool	csv_parse(const char *text, size_t len, struct csv_row **rows,
	    int *nrows, char *err, size_t errlen);
void	csv_free(struct csv_row *, int nrows);

struct buf;
/*
 * Writing: one quoted text field (a leading = + - @ tab or CR gets a
 * quote mark first, so a spreadsheet never runs it as a formula), or a
 * number (an integer as it is, a real with one decimal; NULL/non-number:
 * an empty field). The caller writes the separators.
 */
void	csv_put_text(struct buf *, const char *);
void	csv_put_number(struct buf *, json_t *);

#endif
