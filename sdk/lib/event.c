/* The event bus: per-type subscriber lists, touched on the control thread only. */
#include <stdlib.h>

#include <clouddns/error.h>
#include <clouddns/event.h>

typedef struct sub {
	struct sub *next;
	cdns_event_cb cb;
	void *arg;
} sub_t;

static sub_t *subs[CDNS_EV_MAX];

int cdns_event_subscribe(int type, cdns_event_cb cb, void *arg)
{
	if (type <= 0 || type >= CDNS_EV_MAX || cb == NULL)
		return CDNS_EINVAL;
	sub_t *s = malloc(sizeof(*s));
	if (s == NULL)
		return CDNS_ENOMEM;
	s->cb = cb;
	s->arg = arg;
	s->next = NULL;
	sub_t **pp = &subs[type];
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = s;
	return 0;
}

void cdns_event_unsubscribe(int type, cdns_event_cb cb, void *arg)
{
	if (type <= 0 || type >= CDNS_EV_MAX)
		return;
	for (sub_t **pp = &subs[type]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->cb == cb && (*pp)->arg == arg) {
			sub_t *s = *pp;
			*pp = s->next;
			free(s);
			return;
		}
	}
}

void cdns_event_emit(const cdns_event_t *ev)
{
	if (ev->type <= 0 || ev->type >= CDNS_EV_MAX)
		return;
	sub_t *next;
	for (sub_t *s = subs[ev->type]; s != NULL; s = next) {
		next = s->next; /* a subscriber may unsubscribe itself */
		s->cb(ev, s->arg);
	}
}
