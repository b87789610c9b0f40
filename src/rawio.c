/*
 * rawio.c: boxes of raw arrays in files, with pread and pwrite on
 * several threads (see rawio.h).
 *
 * A box is a number of runs of the same length, contiguous both in the
 * file and in the buffer; runs are cut into pieces of at most 8 MiB and
 * the pieces handed to the threads.
 */
#include "config.h"
#include "rawio.h"
#include "parallel.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define PIECE_BYTES ((int64_t)8 << 20)
#define MAX_THREADS 8

struct job {
	const struct kk_raw *r;
	char *buf;
	int64_t s[3], c[3], d[3];   /* the box and the array, as rank 3 */
	int64_t runs_per_row;       /* runs for each index of axis 0 */
	bool part_rows;             /* a run is part of one row */
	int64_t run;                /* elements in a run */
	int64_t pieces;             /* pieces in a run */
	pthread_mutex_t lock;
	int errnum;                 /* the first failure */
	bool short_read;
};

/* Where run k starts, in the file and in the buffer (elements). */
static void run_at(const struct job *j, int64_t k, int64_t *file,
		   int64_t *mem)
{
	int64_t i0 = k / j->runs_per_row, i1 = k % j->runs_per_row;
	int64_t z = j->s[0] + i0, y, x;

	if (j->r->frames)
		z = j->r->frames[z];
	if (!j->part_rows) {            /* whole rows of axis 1 */
		y = j->s[1];
		x = 0;
	} else {
		y = j->s[1] + i1;
		x = j->s[2];
	}
	*file = (z * j->d[1] + y) * j->d[2] + x;
	*mem = k * j->run;
}

static void failed(struct job *j, int errnum, bool short_read)
{
	pthread_mutex_lock(&j->lock);
	if (!j->errnum && !j->short_read) {
		j->errnum = errnum;
		j->short_read = short_read;
	}
	pthread_mutex_unlock(&j->lock);
}

static void do_pieces(void *arg, int64_t begin, int64_t end)
{
	struct job *j = arg;
	const size_t es = j->r->esize;
	int64_t item;

	for (item = begin; item < end; item++) {
		int64_t k = item / j->pieces, p = item % j->pieces;
		int64_t file, mem, lo, hi;
		char *b;
		off_t at;

		run_at(j, k, &file, &mem);
		lo = p * PIECE_BYTES;
		hi = (int64_t)(j->run * es);
		if (hi > lo + PIECE_BYTES)
			hi = lo + PIECE_BYTES;
		b = j->buf + mem * (int64_t)es + lo;
		at = (off_t)(j->r->offset + file * (int64_t)es + lo);
		while (lo < hi) {
			size_t len = (size_t)(hi - lo);
			ssize_t n = j->r->writing
				    ? pwrite(j->r->fd, b, len, at)
				    : pread(j->r->fd, b, len, at);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Reading, 0 is the end of the file. */
				failed(j, n < 0 ? errno : EIO,
				       n == 0 && !j->r->writing);
				return;
			}
			lo += n;
			b += n;
			at += n;
		}
	}
}

int kk_raw_io(const struct kk_raw *r, const int64_t *start,
	      const int64_t *count, void *buf, struct kk_error *err)
{
	struct job j;
	int64_t nruns, items;
	int a, rc, threads;

	memset(&j, 0, sizeof(j));
	j.r = r;
	j.buf = buf;
	for (a = 0; a < 3; a++) {
		int k = a - (3 - r->rank);

		j.s[a] = k < 0 ? 0 : start[k];
		j.c[a] = k < 0 ? 1 : count[k];
		j.d[a] = k < 0 ? 1 : r->dims[k];
	}
	if (j.c[0] * j.c[1] * j.c[2] == 0)
		return 0;
	if (j.c[2] == j.d[2] && j.c[1] == j.d[1] && !r->frames) {
		/* One run: a slab along axis 0. */
		j.runs_per_row = 1;
		j.run = j.c[0] * j.c[1] * j.c[2];
		nruns = 1;
	} else if (j.c[2] == j.d[2]) {
		j.runs_per_row = 1;
		j.run = j.c[1] * j.c[2];
		nruns = j.c[0];
	} else {
		j.part_rows = true;
		j.runs_per_row = j.c[1];
		j.run = j.c[2];
		nruns = j.c[0] * j.c[1];
	}
	j.pieces = (j.run * (int64_t)r->esize + PIECE_BYTES - 1) / PIECE_BYTES;
	items = nruns * j.pieces;
	threads = kk_cpu_count();
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	pthread_mutex_init(&j.lock, NULL);
	rc = kk_parallel_for(items, threads, do_pieces, &j, err);
	pthread_mutex_destroy(&j.lock);
	if (rc)
		return rc;
	if (j.short_read)
		return kk_fail(err, KK_EINPUT, "cannot read '%s': the file "
			       "ends before its data does (truncated?)",
			       r->name);
	if (j.errnum)
		return kk_fail_errno(err, r->writing ? KK_EIO : KK_EINPUT,
				     j.errnum, "cannot %s '%s'",
				     r->writing ? "write" : "read", r->name);
	return 0;
}
