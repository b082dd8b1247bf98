/*
 * signin's pure parts: the throttle's delay (signin_delay), address
 * lists (cidr, for trusted_proxies) and the bounded gate that password
 * hashing waits at (gate_enter_wait).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cidr.h"
#include "gate.h"
#include "signin.h"

static void
test_delay_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(signin_delay(0, 5, 5, 900), 0);
	assert_int_equal(signin_delay(4, 5, 5, 900), 0);
	assert_int_equal(signin_delay(5, 5, 5, 900), 5);
	assert_int_equal(signin_delay(6, 5, 5, 900), 10);
	assert_int_equal(signin_delay(7, 5, 5, 900), 20);
	assert_int_equal(signin_delay(12, 5, 5, 900), 640);
	assert_int_equal(signin_delay(13, 5, 5, 900), 900);
	/* Far past the limit: the cap, never an overflow. */
	assert_int_equal(signin_delay(1000000, 5, 5, 900), 900);
	assert_int_equal(signin_delay(3, 1, 7, 10), 10);
}

static void
test_cidr_match(void **state)
{
	const char *list = "127.0.0.1, 10.0.0.0/8,192.168.4.0/22 , fd00::/8";

	(void)state;
	assert_true(cidr_list_match(list, "127.0.0.1"));
	assert_false(cidr_list_match(list, "127.0.0.2"));
	assert_true(cidr_list_match(list, "10.255.1.2"));
	assert_false(cidr_list_match(list, "11.0.0.1"));
	assert_true(cidr_list_match(list, "192.168.7.255"));
	assert_false(cidr_list_match(list, "192.168.8.0"));
	assert_true(cidr_list_match(list, "fd12::1"));
	assert_false(cidr_list_match(list, "fe80::1"));
	/* An IPv4 address written as IPv6 is the same address. */
	assert_true(cidr_list_match(list, "::ffff:10.1.2.3"));
	assert_false(cidr_list_match(list, "not an address"));
	assert_false(cidr_list_match("", "127.0.0.1"));
	assert_true(cidr_list_match("0.0.0.0/0", "8.8.8.8"));
}

static void
test_cidr_valid(void **state)
{
	char err[256];

	(void)state;
	assert_true(cidr_list_valid("", err, sizeof(err)));
	assert_true(cidr_list_valid("127.0.0.1, ::1, 10.0.0.0/8", err,
	    sizeof(err)));
	assert_false(cidr_list_valid("10.0.0.0/33", err, sizeof(err)));
	assert_non_null(strstr(err, "10.0.0.0/33"));
	assert_false(cidr_list_valid("127.0.0.1, localhost", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "localhost"));
	assert_false(cidr_list_valid("10.0.0.0/", err, sizeof(err)));
}

static void
test_gate_bounds(void **state)
{
	struct gate g;
	bool queued;

	(void)state;
	gate_init(&g, 1);
	assert_true(gate_enter_wait(&g, 1, 0, &queued));
	assert_false(queued);
	/* Full, and no room to wait: refused at once. */
	assert_false(gate_enter_wait(&g, 60, 0, &queued));
	assert_false(queued);
	/* Room to wait, but nobody leaves in time. */
	assert_false(gate_enter_wait(&g, 0.05, 1, &queued));
	assert_true(queued);
	gate_leave(&g);
	assert_true(gate_enter_wait(&g, 0.05, 0, &queued));
	gate_leave(&g);
	gate_destroy(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_doubles_to_the_cap),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_cidr_valid),
		cmocka_unit_test(test_gate_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
