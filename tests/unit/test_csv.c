/*
 * Unit tests for csv (the roster's reader) and auth's one-time codes:
 * quoting, BOM, CRLF, blank lines, broken quotes; codes' shape,
 * randomness, and hashing that forgives case, dashes and spaces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "csv.h"

static struct csv_row *parse(const char *, int *);

static struct csv_row *
parse(const char *text, int *n)
{
	struct csv_row *rows;
	char err[256];

	assert_true(csv_parse(text, strlen(text), &rows, n, err,
	    sizeof(err)));
	return rows;
}

static void
test_plain_and_crlf(void **state)
{
	struct csv_row *rows;
	int n;

	(void)state;
	rows = parse("email,name,section\r\na@x.org,Ann,A\r\n\r\nb@x.org,"
	    "Bob,\r\n", &n);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].nfields, 3);
	assert_string_equal(rows[0].fields[2], "section");
	assert_string_equal(rows[1].fields[1], "Ann");
	assert_int_equal(rows[1].line, 2);
	/* The blank line is skipped but counted. */
	assert_int_equal(rows[2].line, 4);
	assert_int_equal(rows[2].nfields, 3);
	assert_string_equal(rows[2].fields[2], "");
	csv_free(rows, n);

	/* No final line end; a lone CR ends a line too. */
	rows = parse("a,b\rc,d", &n);
	assert_int_equal(n, 2);
	assert_string_equal(rows[1].fields[1], "d");
	csv_free(rows, n);
}

static void
test_quotes_and_bom(void **state)
{
	struct csv_row *rows;
	int n;

	(void)state;
	rows = parse("\xef\xbb\xbf" "email,name\n"
	    "x@y.org,\"Lee, Ann \"\"Al\"\"\"\n"
	    "\"two\nlines\",\"\"\n"
	    "\"\xc3\xa9l\xc3\xa8ve\",last", &n);
	assert_int_equal(n, 4);
	/* The byte-order mark is not part of the first name. */
	assert_string_equal(rows[0].fields[0], "email");
	assert_string_equal(rows[1].fields[1], "Lee, Ann \"Al\"");
	assert_string_equal(rows[2].fields[0], "two\nlines");
	assert_string_equal(rows[2].fields[1], "");
	assert_int_equal(rows[2].line, 3);
	assert_int_equal(rows[3].line, 5);
	assert_string_equal(rows[3].fields[0], "\xc3\xa9l\xc3\xa8ve");
	csv_free(rows, n);

	/* A quoted empty field alone on a line is a row, not a blank. */
	rows = parse("\"\"\n", &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].nfields, 1);
	csv_free(rows, n);

	/* A quote inside an unquoted field is kept as it is. */
	rows = parse("ab\"c,d\n", &n);
	assert_string_equal(rows[0].fields[0], "ab\"c");
	csv_free(rows, n);
}

static void
test_broken(void **state)
{
	struct csv_row *rows = NULL;
	char err[256];
	int n = -1;

	(void)state;
	assert_false(csv_parse("a,b\n\"never closed,x\n", 19, &rows, &n, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "never closed"));
	assert_null(rows);
	assert_int_equal(n, 0);
	assert_false(csv_parse("a,\"b\"c\n", 7, &rows, &n, err, sizeof(err)));
	assert_non_null(strstr(err, "after a closing quote"));
	assert_false(csv_parse("a,b\0c", 5, &rows, &n, err, sizeof(err)));
	assert_non_null(strstr(err, "NUL"));
	assert_true(csv_parse("", 0, &rows, &n, err, sizeof(err)));
	assert_int_equal(n, 0);
	csv_free(rows, n);
}

static void
test_codes(void **state)
{
	char h1[65], h2[65], h3[65];
	char *a, *b, typed[128];
	size_t i;

	(void)state;
	assert_true(auth_init());
	a = auth_code_new();
	b = auth_code_new();
	assert_int_equal(strlen(a), AUTH_CODE_TEXT_LEN);
	assert_string_not_equal(a, b);
	for (i = 0; a[i] != '\0'; i++) {
		if (i % 5 == 4)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("abcdefghjkmnpqrstuvwxyz23456789",
			    a[i]));
	}
	assert_true(auth_code_hash(a, h1));
	assert_int_equal(strlen(h1), 64);
	/* Capitals, spaces for dashes, no dashes: the same code. */
	for (i = 0; a[i] != '\0'; i++)
		typed[i] = a[i] == '-' ? ' ' : (char)(a[i] >= 'a' ?
		    a[i] - 'a' + 'A' : a[i]);
	typed[i] = '\0';
	assert_true(auth_code_hash(typed, h2));
	assert_string_equal(h1, h2);
	assert_true(auth_code_hash(b, h3));
	assert_string_not_equal(h1, h3);
	/* The hash is SHA-256 of the normalised code, not the code. */
	assert_null(strstr(h1, "-"));
	/* Too short, too long, or a letter we never use: not a code. */
	assert_false(auth_code_hash("abcd", h2));
	snprintf(typed, sizeof(typed), "%sa", a);
	assert_false(auth_code_hash(typed, h2));
	snprintf(typed, sizeof(typed), "%s", a);
	typed[0] = '0';
	assert_false(auth_code_hash(typed, h2));
	free(a);
	free(b);
}

static void
test_password_policy(void **state)
{
	char hash[AUTH_HASH_LEN], err[256];

	(void)state;
	assert_true(auth_init());
	assert_false(auth_password_hash("short", hash, err, sizeof(err)));
	assert_non_null(strstr(err, "at least 8 characters"));
	assert_true(auth_password_hash("long enough", hash, err, sizeof(err)));
	assert_true(auth_password_check(hash, "long enough"));
	assert_false(auth_password_check(hash, "long enougH"));
	/* The roster's "no password yet" hash matches nothing. */
	assert_false(auth_password_check("!", ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_crlf),
		cmocka_unit_test(test_quotes_and_bom),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_password_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
