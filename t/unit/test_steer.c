/* The adaptive UDP steering policy (server/steer_policy.c): how many workers receive
 * datagrams, period after period, for given busy fractions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../server/steer_policy.h"

#define N 4

/* Run `periods` periods with the same busy fractions; the active count after them. */
static unsigned run(cdns__steer_state_t *st, unsigned active, const double *busy, bool pressure,
		    unsigned periods)
{
	for (unsigned i = 0; i < periods; i++)
		active = cdns__steer_decide(st, active, N, busy, pressure);
	return active;
}

static void test_one_worker_is_always_one(void **state)
{
	cdns__steer_state_t st = { 0 };
	double busy[1] = { 1.0 };
	assert_int_equal(cdns__steer_decide(&st, 1, 1, busy, true), 1);
	assert_int_equal(cdns__steer_decide(&st, 0, 1, busy, false), 1);
}

static void test_low_load_stays_on_one(void **state)
{
	cdns__steer_state_t st = { 0 };
	double busy[N] = { CDNS_STEER_HIGH - 0.05, 0, 0, 0 };
	assert_int_equal(run(&st, 1, busy, false, 1000), 1);
}

static void test_busy_worker_grows_at_once(void **state)
{
	cdns__steer_state_t st = { 0 };
	/* Just over the threshold: one more worker. */
	double busy[N] = { CDNS_STEER_HIGH + 0.01, 0, 0, 0 };
	assert_int_equal(cdns__steer_decide(&st, 1, N, busy, false), 2);
	/* Saturated with 1.0 in all: enough workers for the target fraction each. */
	double full[N] = { 1.0, 0, 0, 0 };
	unsigned want = (unsigned)(1.0 / CDNS_STEER_TARGET) + 1;
	assert_int_equal(cdns__steer_decide(&st, 1, N, full, false), want);
	/* Never more than there are. */
	double huge[N] = { 1.0, 1.0, 1.0, 0 };
	assert_int_equal(cdns__steer_decide(&st, 3, N, huge, false), N);
	assert_int_equal(cdns__steer_decide(&st, N, N, huge, false), N);
}

static void test_idle_workers_do_not_count_as_receivers(void **state)
{
	cdns__steer_state_t st = { 0 };
	/* Worker 3 does not receive (active 2): its busy time (a TCP client, say) is in the
	 * total but does not make the receivers grow. */
	double busy[N] = { 0.3, 0.3, 0, 0.95 };
	assert_int_equal(cdns__steer_decide(&st, 2, N, busy, false), 2);
}

static void test_backlog_grows_even_when_cpu_is_low(void **state)
{
	cdns__steer_state_t st = { 0 };
	double busy[N] = { 0.2, 0, 0, 0 }; /* waiting for a CPU, not using one */
	assert_int_equal(cdns__steer_decide(&st, 1, N, busy, true), 2);
	assert_int_equal(cdns__steer_decide(&st, 2, N, busy, true), 3);
}

static void test_shrinks_one_at_a_time_after_calm(void **state)
{
	cdns__steer_state_t st = { 0 };
	double busy[N] = { 0.1, 0.1, 0.1, 0.1 };
	/* Not before CALM_PERIODS calm periods. */
	assert_int_equal(run(&st, 4, busy, false, CDNS_STEER_CALM_PERIODS - 1), 4);
	assert_int_equal(run(&st, 4, busy, false, 1), 3);
	assert_int_equal(run(&st, 3, busy, false, CDNS_STEER_CALM_PERIODS), 2);
	assert_int_equal(run(&st, 2, busy, false, CDNS_STEER_CALM_PERIODS), 1);
	assert_int_equal(run(&st, 1, busy, false, 10 * CDNS_STEER_CALM_PERIODS), 1);
}

static void test_no_shrink_when_the_rest_would_be_too_busy(void **state)
{
	cdns__steer_state_t st = { 0 };
	/* 2 workers at 0.5: 1.0 in all does not fit in one at LOW. */
	double busy[N] = { 0.5, 0.5, 0, 0 };
	assert_int_equal(run(&st, 2, busy, false, 1000), 2);
	/* A busy period in between starts the count again. */
	double calm[N] = { 0.3, 0.3, 0, 0 };
	assert_int_equal(run(&st, 2, calm, false, CDNS_STEER_CALM_PERIODS - 1), 2);
	assert_int_equal(run(&st, 2, busy, false, 1), 2);
	assert_int_equal(run(&st, 2, calm, false, CDNS_STEER_CALM_PERIODS - 1), 2);
	assert_int_equal(run(&st, 2, calm, false, 1), 1);
}

static void test_undone_shrink_backs_off(void **state)
{
	cdns__steer_state_t st = { 0 };
	double two[N] = { 0.4, 0.4, 0, 0 };
	double one[N] = { 0.9, 0, 0, 0 }; /* concentrated, it is too much */
	unsigned a = run(&st, 2, two, false, CDNS_STEER_CALM_PERIODS);
	assert_int_equal(a, 1);
	a = run(&st, a, one, false, 1);
	assert_int_equal(a, 2);
	/* The next try waits twice as long. */
	assert_int_equal(run(&st, 2, two, false, 2 * CDNS_STEER_CALM_PERIODS - 1), 2);
	a = run(&st, 2, two, false, 1);
	assert_int_equal(a, 1);
	a = run(&st, a, one, false, 1);
	assert_int_equal(a, 2);
	assert_int_equal(run(&st, 2, two, false, 4 * CDNS_STEER_CALM_PERIODS - 1), 2);
	assert_int_equal(run(&st, 2, two, false, 1), 1);
	/* The wait doubles with every undone shrink, up to a ceiling. */
	unsigned need = 4 * CDNS_STEER_CALM_PERIODS;
	for (int i = 0; i < 8; i++) {
		a = run(&st, 1, one, false, 1);
		assert_int_equal(a, 2);
		need = need * 2 > CDNS_STEER_CALM_MAX ? CDNS_STEER_CALM_MAX : need * 2;
		assert_int_equal(run(&st, 2, two, false, need - 1), 2);
		assert_int_equal(run(&st, 2, two, false, 1), 1);
	}
	assert_int_equal(need, CDNS_STEER_CALM_MAX);
	/* A shrink that holds brings the normal pace back. */
	double low[N] = { 0.3, 0, 0, 0 };
	assert_int_equal(run(&st, 1, low, false, CDNS_STEER_HOLD_PERIODS + 1), 1);
	assert_int_equal(run(&st, 2, two, false, CDNS_STEER_CALM_PERIODS), 1);
}

static void test_growth_long_after_a_shrink_is_not_an_undo(void **state)
{
	cdns__steer_state_t st = { 0 };
	double two[N] = { 0.4, 0.4, 0, 0 };
	double one[N] = { 0.6, 0, 0, 0 };
	double busy[N] = { 0.9, 0, 0, 0 };
	unsigned a = run(&st, 2, two, false, CDNS_STEER_CALM_PERIODS);
	assert_int_equal(a, 1);
	a = run(&st, a, one, false, CDNS_STEER_UNDO_PERIODS + 1);
	assert_int_equal(a, 1);
	a = run(&st, a, busy, false, 1);
	assert_int_equal(a, 2);
	/* The load went up later: the normal wait, not a doubled one. */
	assert_int_equal(run(&st, 2, two, false, CDNS_STEER_CALM_PERIODS), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_worker_is_always_one),
		cmocka_unit_test(test_low_load_stays_on_one),
		cmocka_unit_test(test_busy_worker_grows_at_once),
		cmocka_unit_test(test_idle_workers_do_not_count_as_receivers),
		cmocka_unit_test(test_backlog_grows_even_when_cpu_is_low),
		cmocka_unit_test(test_shrinks_one_at_a_time_after_calm),
		cmocka_unit_test(test_no_shrink_when_the_rest_would_be_too_busy),
		cmocka_unit_test(test_undone_shrink_backs_off),
		cmocka_unit_test(test_growth_long_after_a_shrink_is_not_an_undo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
