/*
 * parallel.c: a parallel for-loop on POSIX threads (see parallel.h).
 */
#include "config.h"
#include "parallel.h"
#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

struct loop {
	int64_t n, block, next;
	kk_range_fn fn;
	void *ctx;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct loop *l = arg;
	int64_t begin, end;

	for (;;) {
		pthread_mutex_lock(&l->lock);
		begin = l->next;
		end = begin + l->block < l->n ? begin + l->block : l->n;
		l->next = end;
		pthread_mutex_unlock(&l->lock);
		if (begin >= l->n || kk_interrupted())
			return NULL;
		l->fn(l->ctx, begin, end);
	}
}

int kk_parallel_for(int64_t n, int nthreads, kk_range_fn fn, void *ctx,
		    struct kk_error *err)
{
	pthread_t *tids;
	struct loop l;
	int i, started = 0, rc;

	if (n <= 0)
		return 0;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > n)
		nthreads = (int)n;
	l.n = n;
	l.next = 0;
	/* Small blocks balance the load; 16 per thread is plenty. */
	l.block = n / ((int64_t)nthreads * 16);
	if (l.block < 1)
		l.block = 1;
	l.fn = fn;
	l.ctx = ctx;
	pthread_mutex_init(&l.lock, NULL);
	tids = malloc((size_t)nthreads * sizeof(*tids));
	if (!tids) {
		pthread_mutex_destroy(&l.lock);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	for (i = 1; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, worker, &l) != 0)
			break;
		started++;
	}
	worker(&l); /* this thread works too */
	for (i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	pthread_mutex_destroy(&l.lock);
	rc = kk_interrupted() ? kk_fail_interrupted(err) : 0;
	return rc;
}

int kk_cpu_count(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set))
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
