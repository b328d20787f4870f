/* Mailboxes: a thread-safe queue of calls into one event loop (the control loop or a
 * worker's), woken with ev_async. The lock is held only to link or unlink messages; the
 * calls run unlocked on the loop's own thread. */
#include <stdlib.h>

#include "server.h"

typedef struct cdns__msg {
	struct cdns__msg *next;
	void (*fn)(void *arg);
	void *arg;
} cdns__msg_t;

static void mailbox_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	cdns__mailbox_t *mb = a->data;
	pthread_mutex_lock(&mb->lock);
	cdns__msg_t *m = mb->head;
	mb->head = NULL;
	mb->tail = &mb->head;
	pthread_mutex_unlock(&mb->lock);
	while (m != NULL) {
		cdns__msg_t *next = m->next;
		m->fn(m->arg);
		free(m);
		m = next;
	}
}

void cdns__mailbox_init(cdns__mailbox_t *mb)
{
	pthread_mutex_init(&mb->lock, NULL);
	mb->head = NULL;
	mb->tail = &mb->head;
	ev_async_init(&mb->async, mailbox_cb);
	mb->async.data = mb;
}

void cdns__mailbox_start(cdns__mailbox_t *mb, struct ev_loop *loop)
{
	mb->loop = loop;
	ev_async_start(loop, &mb->async);
}

int cdns__mailbox_post(cdns__mailbox_t *mb, void (*fn)(void *arg), void *arg)
{
	cdns__msg_t *m = malloc(sizeof(*m));
	if (m == NULL)
		return CDNS_ENOMEM;
	m->fn = fn;
	m->arg = arg;
	m->next = NULL;
	pthread_mutex_lock(&mb->lock);
	*mb->tail = m;
	mb->tail = &m->next;
	pthread_mutex_unlock(&mb->lock);
	ev_async_send(mb->loop, &mb->async);
	return 0;
}

/* Run what is still queued (at exit, after the loop stopped). */
void cdns__mailbox_drain(cdns__mailbox_t *mb)
{
	mailbox_cb(mb->loop, &mb->async, 0);
}
