/*
 * Unit tests for the pure parts of issue 16's API machinery: API
 * tokens' shape, hashing and input checks (apitoken), the per-script
 * token buckets on a fake clock (ratelimit), and Idempotency-Key's key
 * check and request fingerprint (idem).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apitoken.h"
#include "auth.h"
#include "idem.h"
#include "ratelimit.h"

static void
test_token_shape(void **state)
{
	char a[APITOKEN_LEN + 1], b[APITOKEN_LEN + 1], ha[65], hb[65];

	(void)state;
	assert_true(auth_init());
	apitoken_secret_new(a);
	apitoken_secret_new(b);
	assert_int_equal(strlen(a), APITOKEN_LEN);
	assert_true(apitoken_syntax(a));
	assert_string_not_equal(a, b);
	apitoken_hash(a, ha);
	apitoken_hash(b, hb);
	assert_int_equal(strlen(ha), 64);
	assert_string_not_equal(ha, hb);
	assert_null(strstr(ha, a + 3));
	apitoken_hash(a, hb);
	assert_string_equal(ha, hb);
	/* A session token (64 hex) or a mangled token is not one. */
	assert_false(apitoken_syntax("0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"));
	a[10] = 'G';
	assert_false(apitoken_syntax(a));
	assert_false(apitoken_syntax("ie_"));
	assert_false(apitoken_syntax(NULL));
}

static void
test_token_check(void **state)
{
	char err[256], longname[APITOKEN_NAME_MAX + 2];
	const char *field;

	(void)state;
	assert_true(apitoken_check("export", "read", 0, &field, err,
	    sizeof(err)));
	assert_true(apitoken_check("nightly grades", "act", 3650, &field, err,
	    sizeof(err)));
	assert_false(apitoken_check("", "read", 0, &field, err, sizeof(err)));
	assert_string_equal(field, "name");
	assert_false(apitoken_check("a\nb", "read", 0, &field, err,
	    sizeof(err)));
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(apitoken_check(longname, "read", 0, &field, err,
	    sizeof(err)));
	/* Characters, not bytes: 100 two-byte letters are fine. */
	{
		char wide[APITOKEN_NAME_MAX * 2 + 1];
		int i;

		for (i = 0; i < APITOKEN_NAME_MAX; i++)
			memcpy(wide + 2 * i, "\xc3\xa9", 2);
		wide[APITOKEN_NAME_MAX * 2] = '\0';
		assert_true(apitoken_check(wide, "read", 0, &field, err,
		    sizeof(err)));
	}
	assert_false(apitoken_check("x", "write", 0, &field, err,
	    sizeof(err)));
	assert_string_equal(field, "scope");
	assert_false(apitoken_check("x", NULL, 0, &field, err, sizeof(err)));
	assert_false(apitoken_check("x", "read", -1, &field, err,
	    sizeof(err)));
	assert_string_equal(field, "expires_in_days");
	assert_false(apitoken_check("x", "read", 3651, &field, err,
	    sizeof(err)));
}

static void
test_ratelimit(void **state)
{
	struct ratelimit *rl = ratelimit_new(60, 3, 2);
	int retry, i;

	(void)state;
	/* A burst of 3, then one a second. */
	for (i = 0; i < 3; i++)
		assert_true(ratelimit_take(rl, "t:1", 100.0, &retry));
	assert_false(ratelimit_take(rl, "t:1", 100.0, &retry));
	assert_int_equal(retry, 1);
	assert_false(ratelimit_take(rl, "t:1", 100.5, &retry));
	assert_int_equal(retry, 1);
	assert_true(ratelimit_take(rl, "t:1", 101.0, &retry));
	/* Another key has its own bucket. */
	assert_true(ratelimit_take(rl, "t:2", 101.0, &retry));
	/* A third key takes the idlest slot (t:1 at 101.0 vs t:2 at 101.0 +
	 * later use): t:1 comes back with a full bucket. */
	assert_true(ratelimit_take(rl, "t:2", 102.0, &retry));
	assert_true(ratelimit_take(rl, "t:3", 103.0, &retry));
	for (i = 0; i < 3; i++)
		assert_true(ratelimit_take(rl, "t:1", 103.0, &retry));
	ratelimit_free(rl);

	/* A long wait is rounded up to whole seconds. */
	rl = ratelimit_new(1, 1, 4);
	assert_true(ratelimit_take(rl, "u:7", 0, &retry));
	assert_false(ratelimit_take(rl, "u:7", 0.5, &retry));
	assert_int_equal(retry, 60);
	ratelimit_free(rl);

	/* No limit. */
	rl = ratelimit_new(0, 1, 4);
	for (i = 0; i < 1000; i++)
		assert_true(ratelimit_take(rl, "u:7", 0, &retry));
	ratelimit_free(rl);
}

static void
test_idempotency_key(void **state)
{
	char big[IDEM_KEY_MAX + 2];

	(void)state;
	assert_true(idem_key_valid("5f0c6a8e-0b1d-4c4b-9d4e-1f2a3b4c5d6e"));
	assert_true(idem_key_valid("x"));
	assert_false(idem_key_valid(""));
	assert_false(idem_key_valid("has space"));
	assert_false(idem_key_valid("tab\there"));
	assert_false(idem_key_valid("caf\xc3\xa9"));
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(idem_key_valid(big));
	big[IDEM_KEY_MAX] = '\0';
	assert_true(idem_key_valid(big));
}

static void
test_fingerprint(void **state)
{
	const char *a[] = { "POST", "/api/v1/x", NULL, "application/json" };
	const char *b[] = { "POST", "/api/v1/x", "", "application/json" };
	const char *c[] = { "POST", "/api/v1/xa", NULL, "pplication/json" };
	char fa[65], fb[65], fc[65], fd[65], fe[65];

	(void)state;
	idem_fingerprint(a, 4, "{\"n\":1}", 7, fa);
	idem_fingerprint(a, 4, "{\"n\":1}", 7, fb);
	assert_string_equal(fa, fb);
	assert_int_equal(strlen(fa), 64);
	/* NULL and "" differ; so do parts that only move a boundary. */
	idem_fingerprint(b, 4, "{\"n\":1}", 7, fb);
	assert_string_not_equal(fa, fb);
	idem_fingerprint(c, 4, "{\"n\":1}", 7, fc);
	assert_string_not_equal(fa, fc);
	/* Another body, or none read at all. */
	idem_fingerprint(a, 4, "{\"n\":2}", 7, fd);
	assert_string_not_equal(fa, fd);
	idem_fingerprint(a, 4, NULL, 0, fe);
	idem_fingerprint(a, 4, "", 0, fd);
	assert_string_not_equal(fe, fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_shape),
		cmocka_unit_test(test_token_check),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
