/* How many workers should receive UDP datagrams (the adaptive udp_steering policy). A pure
 * function of the measured busy fractions, so the unit tests can drive it. */
#include "steer_policy.h"

unsigned cdns__steer_decide(cdns__steer_state_t *st, unsigned active, unsigned n,
			    const double *busy, bool pressure)
{
	if (n <= 1)
		return 1;
	if (active < 1)
		active = 1;
	if (active > n)
		active = n;
	if (st->need_calm == 0)
		st->need_calm = CDNS_STEER_CALM_PERIODS;
	if (st->since > 0 && ++st->since > CDNS_STEER_HOLD_PERIODS) {
		st->since = 0; /* the last shrink held: shrink at the normal pace again */
		st->need_calm = CDNS_STEER_CALM_PERIODS;
	}
	double total = 0, max_active = 0;
	for (unsigned i = 0; i < n; i++) {
		total += busy[i];
		if (i < active && busy[i] > max_active)
			max_active = busy[i];
	}
	if (pressure || max_active > CDNS_STEER_HIGH) {
		st->calm = 0;
		if (active == n)
			return n;
		if (st->since > 0 && st->since <= CDNS_STEER_UNDO_PERIODS) {
			/* The last shrink was too much: wait longer before the next. */
			st->need_calm *= 2;
			if (st->need_calm > CDNS_STEER_CALM_MAX)
				st->need_calm = CDNS_STEER_CALM_MAX;
		}
		st->since = 0;
		/* Grow at once, to as many workers as the load needs at the target busy
		 * fraction, and at least by one. */
		double want = total / CDNS_STEER_TARGET + 1;
		if (want >= (double)n)
			return n;
		unsigned k = (unsigned)want;
		return k > active ? k : active + 1;
	}
	if (active > 1 && total < CDNS_STEER_LOW * (double)(active - 1)) {
		/* Shrink one at a time, after the load stayed low for a while. */
		if (++st->calm >= st->need_calm) {
			st->calm = 0;
			st->since = 1;
			return active - 1;
		}
		return active;
	}
	st->calm = 0;
	return active;
}
