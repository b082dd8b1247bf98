/*
 * csv: see csv.h. One pass over the text with a field buffer; a row is
 * kept unless it is one empty unquoted field (a blank line).
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct parser {
	struct csv_row	*rows;
	int		 nrows, cap;
	struct csv_row	 row;		/* the row being read */
	int		 fcap;
	struct buf	 field;
	bool		 quoted;	/* the current field was quoted */
};

static void	add_field(struct parser *);
static void	end_row(struct parser *, int);
static void	row_free(struct csv_row *);

static void
add_field(struct parser *p)
{
	if (p->row.nfields == p->fcap) {
		p->fcap = p->fcap ? p->fcap * 2 : 8;
		p->row.fields = xrealloc(p->row.fields, (size_t)p->fcap *
		    sizeof(char *));
	}
	p->row.fields[p->row.nfields++] = xstrndup(buf_cstr(&p->field),
	    p->field.len);
	buf_reset(&p->field);
}

static void
end_row(struct parser *p, int line)
{
	bool blank = p->row.nfields == 0 && p->field.len == 0 && !p->quoted;

	if (blank)
		return;
	add_field(p);
	if (p->nrows == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		p->rows = xrealloc(p->rows, (size_t)p->cap * sizeof(*p->rows));
	}
	p->row.line = line;
	p->rows[p->nrows++] = p->row;
	memset(&p->row, 0, sizeof(p->row));
	p->fcap = 0;
}

bool
csv_parse(const char *text, size_t len, struct csv_row **rows, int *nrows,
    char *err, size_t errlen)
{
	struct parser p;
	size_t i = 0;
	int line = 1, start = 1;
	bool ok = false;

	memset(&p, 0, sizeof(p));
	buf_init(&p.field);
	*rows = NULL;
	*nrows = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		char ch = text[i];

		if (ch == '\0') {
			util_seterr(err, errlen, "line %d: the file has a NUL "
			    "byte (is it a spreadsheet, not a CSV file?)",
			    line);
			goto out;
		}
		if (ch == '"' && p.field.len == 0 && !p.quoted) {
			/* A quoted field: up to the lone closing quote. */
			p.quoted = true;
			for (i++;; i++) {
				if (i >= len) {
					util_seterr(err, errlen, "line %d: a "
					    "quoted field is never closed",
					    start);
					goto out;
				}
				if (text[i] == '"' && i + 1 < len &&
				    text[i + 1] == '"')
					i++;
				else if (text[i] == '"')
					break;
				else if (text[i] == '\n')
					line++;
				buf_append(&p.field, &text[i], 1);
			}
			i++;
			if (i < len && text[i] != ',' && text[i] != '\n' &&
			    text[i] != '\r') {
				util_seterr(err, errlen, "line %d: text after "
				    "a closing quote", line);
				goto out;
			}
			continue;
		}
		if (ch == ',') {
			add_field(&p);
			p.quoted = false;
		} else if (ch == '\n' || ch == '\r') {
			end_row(&p, start);
			p.quoted = false;
			if (ch == '\r' && i + 1 < len && text[i + 1] == '\n')
				i++;
			start = ++line;
		} else
			buf_append(&p.field, &ch, 1);
		i++;
	}
	end_row(&p, start);
	ok = true;
out:
	buf_free(&p.field);
	if (!ok) {
		row_free(&p.row);
		csv_free(p.rows, p.nrows);
		return false;
	}
	*rows = p.rows;
	*nrows = p.nrows;
	return true;
}

static void
row_free(struct csv_row *row)
{
	int j;

	for (j = 0; j < row->nfields; j++)
		free(row->fields[j]);
	free(row->fields);
}

void
csv_free(struct csv_row *rows, int nrows)
{
	int i;

	for (i = 0; i < nrows; i++)
		row_free(&rows[i]);
	free(rows);
}

void
csv_put_text(struct buf *b, const char *s)
{
	const char *p;

	if (s == NULL)
		s = "";
	buf_putc(b, '"');
	if (s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
		buf_putc(b, '\'');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

void
csv_put_number(struct buf *b, json_t *v)
{
	if (json_is_integer(v))
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_number(v))
		buf_printf(b, "%.1f", json_number_value(v));
}
