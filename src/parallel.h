/*
 * parallel.h: run a loop over [0, n) on several threads.
 *
 * The work is handed out in blocks from a shared counter, so threads that
 * finish early take more.  A SIGINT or SIGTERM stops the handing out; the
 * call then returns KK_EINTR.
 */
#ifndef KK_PARALLEL_H
#define KK_PARALLEL_H

#include <stdint.h>

#include "msg.h"

/* fn processes items [begin, end); it runs on up to nthreads threads at
 * once and must not touch what other items touch. */
typedef void (*kk_range_fn)(void *ctx, int64_t begin, int64_t end);

int kk_parallel_for(int64_t n, int nthreads, kk_range_fn fn, void *ctx,
		    struct kk_error *err);

/* The number of CPUs this process may run on. */
int kk_cpu_count(void);

#endif
