/* The adaptive UDP steering policy (steer_policy.c); see doc/architecture.md, "UDP steering". */
#ifndef CDNS_STEER_POLICY_H
#define CDNS_STEER_POLICY_H

#include <stdbool.h>

/* Seconds between two looks at the workers' busy time. */
#define CDNS_STEER_PERIOD 0.05
/* Weight of the newest period in the smoothed busy fractions. */
#define CDNS_STEER_SMOOTH 0.3
/* A receiving worker busy more than this fraction of a period: more workers receive ... */
#define CDNS_STEER_HIGH 0.85
/* ... enough for each to be busy about this fraction, and at least one more. */
#define CDNS_STEER_TARGET 0.6
/* One worker fewer is tried when the busy time of all would fit in one worker fewer at this
 * fraction each (concentrating costs less than the sum: fewer wake-ups per query) ... */
#define CDNS_STEER_LOW 0.9
/* ... after this many calm periods in a row (1 s); doubled, up to CALM_MAX, each time a
 * shrink had to be undone within UNDO periods; back to the start once a shrink held for
 * HOLD periods. */
#define CDNS_STEER_CALM_PERIODS 20
#define CDNS_STEER_CALM_MAX 1200
#define CDNS_STEER_UNDO_PERIODS 40
#define CDNS_STEER_HOLD_PERIODS 200

typedef struct cdns__steer_state {
	unsigned calm;      /* periods in a row with load low enough to shrink */
	unsigned need_calm; /* calm periods needed before the next shrink (0: CALM_PERIODS) */
	unsigned since;     /* periods since the last shrink (0: none yet) */
} cdns__steer_state_t;

/* The number of workers (1..n) that should receive datagrams, given the `active` ones that do
 * now (workers 0..active-1), each worker's busy fraction over the last period, and whether a
 * receiving worker's socket is backlogged (pressure). Call once per period. */
unsigned cdns__steer_decide(cdns__steer_state_t *st, unsigned active, unsigned n,
			    const double *busy, bool pressure);

#endif
