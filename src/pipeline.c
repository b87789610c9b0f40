/*
 * pipeline.c: reader and writer threads with ordered jobs (see
 * pipeline.h).
 */
#include "config.h"
#include "pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { IDLE, QUEUED, DONE };

struct kk_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;        /* a job was queued, or stop */
	pthread_cond_t done;        /* a job was finished */
	struct kk_job *head, *tail; /* queued, not begun */
	bool stop;
	struct kk_reader *reader;
	struct kk_writer *writer;
	/* After a failure, every later job fails alike. */
	bool failed;
	struct kk_error failure;
	void *scratch;              /* gathers */
	size_t scratch_size;
	double busy;
	uint64_t bytes;
};

/* Widen n float16 values at the start of p to float32, in place: from
 * the end, so that no value is overwritten before it is read. */
static void widen_half(void *p, size_t n)
{
	const uint16_t *h = p;
	float *f = p;

	while (n-- > 0)
		f[n] = kk_f16_to_f32(h[n]);
}

/* The box (in the order axes gives) as angle,row,col into dst. */
static void gather(float *dst, const float *src, const int64_t *count,
		   const struct kk_axes *axes)
{
	int64_t len[3], stride[3], a, r, c;
	int k;

	for (k = 0; k < 3; k++)
		len[k] = count[axes->where[k]];
	for (k = 0; k < 3; k++) {
		int p = axes->where[k];

		stride[k] = p == 2 ? 1 : p == 1 ? count[2]
						: count[1] * count[2];
	}
	for (a = 0; a < len[KK_ANGLE]; a++)
		for (r = 0; r < len[KK_ROW]; r++)
			for (c = 0; c < len[KK_COL]; c++)
				*dst++ = src[a * stride[KK_ANGLE] +
					     r * stride[KK_ROW] +
					     c * stride[KK_COL]];
}

static int do_read(struct kk_worker *w, struct kk_job *job,
		   struct kk_error *err)
{
	int64_t n = job->count[0] * job->count[1] * job->count[2];
	size_t need = (size_t)n * sizeof(float);
	float *dst = job->buf->data;
	int rc;

	if (job->gather) {
		if (need > w->scratch_size) {
			void *p = realloc(w->scratch, need);

			if (!p)
				return kk_fail(err, KK_ENOMEM, "out of memory "
					       "for a %zu-byte buffer", need);
			w->scratch = p;
			w->scratch_size = need;
		}
		dst = w->scratch;
	}
	if (job->count_part)
		kk_reader_count_only(w->reader, job->count_axis, job->count_lo,
				     job->count_hi, job->count_xlo,
				     job->count_xhi);
	else
		kk_reader_count_only(w->reader, -1, 0, 0, 0, 0);
	rc = kk_reader_read_box(w->reader, job->start, job->count, dst, err);
	if (rc)
		return rc;
	if (job->gather)
		gather(job->buf->data, dst, job->count, job->gather);
	if (job->half)
		kk_convert_from_f32(job->buf->data, KK_F16, job->buf->data,
				    (size_t)n, NULL, NULL);
	return 0;
}

static int do_write(struct kk_worker *w, struct kk_job *job,
		    struct kk_error *err)
{
	int64_t n = job->count[0] * job->count[1] * job->count[2];

	if (job->half)
		widen_half(job->buf->data, (size_t)n);
	return kk_writer_write(w->writer, job->axis, job->start[job->axis],
			       job->count[job->axis], job->buf->data, err);
}

static void *worker_main(void *arg)
{
	struct kk_worker *w = arg;
	struct kk_job *job;
	struct kk_error err;
	double t0;
	int rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		job = w->head;
		w->head = job->next;
		if (!w->head)
			w->tail = NULL;
		if (w->failed) {
			job->rc = w->failure.code;
			job->err = w->failure;
		} else {
			pthread_mutex_unlock(&w->lock);
			memset(&err, 0, sizeof(err));
			rc = kk_hbuf_wait(job->buf, &err);
			t0 = kk_now();
			if (!rc)
				rc = w->reader ? do_read(w, job, &err)
					       : do_write(w, job, &err);
			pthread_mutex_lock(&w->lock);
			w->busy += kk_now() - t0;
			if (!rc)
				w->bytes += (uint64_t)(job->count[0] *
					    job->count[1] * job->count[2]) * 4;
			job->rc = rc;
			job->err = err;
			if (rc) {
				w->failed = true;
				w->failure = err;
			}
		}
		job->state = DONE;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int start(struct kk_worker **out, struct kk_reader *r,
		 struct kk_writer *wr, struct kk_error *err)
{
	struct kk_worker *w = calloc(1, sizeof(*w));
	int e;

	*out = NULL;
	if (!w)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	w->reader = r;
	w->writer = wr;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->done, NULL);
	e = pthread_create(&w->thread, NULL, worker_main, w);
	if (e) {
		pthread_cond_destroy(&w->done);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return kk_fail_errno(err, KK_ERUNTIME, e, "cannot start an "
				     "I/O thread");
	}
	*out = w;
	return 0;
}

int kk_worker_start_reader(struct kk_worker **w, struct kk_reader *r,
			   struct kk_error *err)
{
	return start(w, r, NULL, err);
}

int kk_worker_start_writer(struct kk_worker **w, struct kk_writer *wr,
			   struct kk_error *err)
{
	return start(w, NULL, wr, err);
}

void kk_worker_submit(struct kk_worker *w, struct kk_job *job)
{
	pthread_mutex_lock(&w->lock);
	job->state = QUEUED;
	job->next = NULL;
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

int kk_worker_wait(struct kk_worker *w, struct kk_job *job,
		   struct kk_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	while (job->state == QUEUED)
		pthread_cond_wait(&w->done, &w->lock);
	if (job->state == DONE) {
		rc = job->rc;
		if (rc)
			*err = job->err;
	}
	job->state = IDLE;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

bool kk_worker_done(struct kk_worker *w, const struct kk_job *job)
{
	bool done;

	pthread_mutex_lock(&w->lock);
	done = job->state != QUEUED;
	pthread_mutex_unlock(&w->lock);
	return done;
}

void kk_worker_stop(struct kk_worker *w)
{
	struct kk_job *job;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	for (job = w->head; job; job = job->next)
		job->state = IDLE;
	w->head = w->tail = NULL;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w->scratch);
	free(w);
}

double kk_worker_busy(struct kk_worker *w)
{
	double s;

	pthread_mutex_lock(&w->lock);
	s = w->busy;
	pthread_mutex_unlock(&w->lock);
	return s;
}

uint64_t kk_worker_bytes(struct kk_worker *w)
{
	uint64_t b;

	pthread_mutex_lock(&w->lock);
	b = w->bytes;
	pthread_mutex_unlock(&w->lock);
	return b;
}
