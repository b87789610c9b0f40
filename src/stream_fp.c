/*
 * stream_fp.c: kkit fp from file to file (see stream.h).
 *
 * When the volume fits on the device it goes there once, in pieces; the
 * first chunk of views is projected piece by piece as they arrive (each
 * piece's rays only), so reading the volume overlaps computing, and the
 * other chunks see the whole volume.  When it does not fit, each chunk
 * of views is the sum over slabs of the volume, read again for every
 * chunk, each slab computing only the detector rows its rays reach.
 * Every chunk's projections are downloaded and written while the next
 * is computed.
 */
#include "config.h"
#include "stream.h"
#include "budget.h"
#include "engine.h"
#include "pipeline.h"
#include "signals.h"

#include <stdlib.h>
#include <string.h>

/* A read: slices [z0, z0 + nz) of slab s, for chunk c; first: the
 * first read of those slices. */
struct item {
	int64_t c, s, z0, nz;
	bool first;
};

struct fp_run {
	struct kk_stream_run c;
	struct kk_fp_engine *eng;
	struct item *items;
	int64_t nitems, submitted, consumed;
	int64_t written;              /* chunks handed to the writer */
	int vol_turn;                 /* the volume buffer to fill next */
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int make_engine(void *arg, struct kk_error *err)
{
	struct fp_run *r = arg;
	const struct kk_plan *p = &r->c.plan;
	struct kk_fp_layout lay;

	lay.slices = p->resident ? r->c.g->vol.nz : p->slab;
	lay.nvol = p->nvol;
	lay.views = p->chunk;
	lay.nproj = p->nproj;
	lay.axes = r->c.o->axes;
	return kk_fp_engine_create(&r->eng, r->c.dev, r->c.g, &lay, err);
}

static void free_engine(void *arg)
{
	struct fp_run *r = arg;

	kk_fp_engine_free(r->eng);
	r->eng = NULL;
}

static const struct kk_stream_kind fp_kind = {kk_plan_fp, make_engine,
					      free_engine};

static int setup(struct fp_run *r, struct kk_reader *in,
		 struct kk_writer *out, struct kk_stream_stats *st,
		 struct kk_error *err)
{
	const struct kk_device *d = r->c.dev;
	struct kk_plan_limits l;
	int rc = kk_stream_limits(r->c.dev, r->c.o, &l, err);

	if (rc)
		return rc;
	l.vol_es = kk_device_on_gpu(d) && d->gpu_opts.vol_half ? 2 : 4;
	l.proj_es = 4;
	l.in_extra = kk_dtype_size(kk_reader_info(in)->dtype) > 4 ? 2 : 0;
	l.out_extra = kk_writer_dtype(out) == KK_F32 ? 0 : 0.5;
	return kk_stream_setup(&r->c, &l, &fp_kind, r, in, out, st, err);
}

/* The reads, in the order the main loop uses them. */
static int list_items(struct fp_run *r, struct kk_error *err)
{
	const struct kk_plan *p = &r->c.plan;
	int64_t nz = r->c.g->vol.nz, c, s, z, lo, hi, n = 0, cap;

	bool *seen;

	cap = p->resident ? p->nslabs
			  : p->nchunks * p->nslabs * (p->slab / p->piece + 1);
	r->items = malloc((size_t)cap * sizeof(*r->items));
	seen = calloc((size_t)p->nslabs, sizeof(*seen));
	if (!r->items || !seen) {
		free(seen);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	for (c = 0; c < (p->resident ? 1 : p->nchunks); c++)
		for (s = 0; s < p->nslabs; s++) {
			int64_t z1 = min64((s + 1) * p->slab, nz);

			kk_plan_window(p, s, c, &lo, &hi);
			if (!p->resident && lo == hi)
				continue; /* nothing of this slab shows */
			for (z = s * p->slab; z < z1; z += p->piece) {
				r->items[n].c = c;
				r->items[n].s = s;
				r->items[n].z0 = z;
				r->items[n].nz = min64(p->piece, z1 - z);
				r->items[n].first = !seen[s];
				n++;
			}
			seen[s] = true;
		}
	r->nitems = n;
	free(seen);
	return 0;
}

/* Queue reads while there are free input buffers. */
static void prefetch(struct fp_run *r)
{
	const struct kk_volume_geom *v = &r->c.g->vol;

	while (r->submitted < r->nitems &&
	       r->submitted < r->consumed + r->c.in.n) {
		const struct item *it = &r->items[r->submitted];
		struct kk_job *job = &r->c.in.job[r->submitted % r->c.in.n];

		memset(job, 0, sizeof(*job));
		job->buf = &r->c.in.buf[r->submitted % r->c.in.n];
		job->start[0] = it->z0;
		job->count[0] = it->nz;
		job->count[1] = v->ny;
		job->count[2] = v->nx;
		job->half = r->eng->vol_half;
		/* Read again for a later chunk: counted already. */
		job->count_part = !it->first;
		kk_worker_submit(r->c.reader, job);
		r->submitted++;
	}
}

/* Upload read number i into volume buffer vol, at slice at. */
static int upload(struct fp_run *r, int64_t i, int vol, int64_t at,
		  struct kk_error *err)
{
	int slot = (int)(i % r->c.in.n);
	int rc;

	if (kk_interrupted())
		return kk_fail_interrupted(err);
	prefetch(r);
	rc = kk_worker_wait(r->c.reader, &r->c.in.job[slot], err);
	if (!rc)
		rc = kk_fp_upload(r->eng, vol, at, r->items[i].nz,
				  &r->c.in.buf[slot], err);
	r->consumed = i + 1;
	prefetch(r);
	return rc;
}

/* Download chunk c from projection buffer proj and have it written. */
static int emit(struct fp_run *r, int64_t c, int proj, struct kk_error *err)
{
	const struct kk_geometry *g = r->c.g;
	const int *where = r->c.o->axes.where;
	int slot = (int)(r->written % r->c.out.n);
	int64_t v0 = c * r->c.plan.chunk, n = min64(r->c.plan.chunk,
						    g->nviews - v0);
	struct kk_job *job = &r->c.out.job[slot];
	int rc;

	rc = kk_worker_wait(r->c.writer, job, err);
	if (!rc)
		rc = kk_fp_download(r->eng, proj, n, &r->c.out.buf[slot], err);
	if (rc)
		return rc;
	memset(job, 0, sizeof(*job));
	job->buf = &r->c.out.buf[slot];
	job->axis = where[KK_ANGLE];
	job->start[where[KK_ANGLE]] = v0;
	job->count[where[KK_ANGLE]] = n;
	job->count[where[KK_ROW]] = g->nrows;
	job->count[where[KK_COL]] = g->ncols;
	kk_worker_submit(r->c.writer, job);
	r->written++;
	return 0;
}

static void fp_job(struct kk_fp_job *job, const struct fp_run *r, int vol,
		   int proj, int64_t c)
{
	memset(job, 0, sizeof(*job));
	job->vol = vol;
	job->proj = proj;
	job->view0 = c * r->c.plan.chunk;
	job->nviews = min64(r->c.plan.chunk, r->c.g->nviews - job->view0);
	job->row_lo = 0;
	job->row_hi = r->c.g->nrows;
	job->progress = r->c.progress;
}

/* ---- the whole volume on the device ------------------------------ */

/* Chunks being computed, oldest first, and the free buffers. */
struct resident {
	int64_t chunk[KK_FP_MAX_PROJ];
	int proj[KK_FP_MAX_PROJ];
	int n;
	bool free[KK_FP_MAX_PROJ];
	int64_t next;               /* the next chunk to begin */
	int64_t have;               /* slices on the device so far */
};

static int take_buffer(struct fp_run *r, struct resident *s)
{
	int i;

	for (i = 0; i < r->c.plan.nproj; i++)
		if (s->free[i]) {
			s->free[i] = false;
			return i;
		}
	return -1;
}

/* Begin the next chunk: over the slices already there (summed into as
 * more come), or over the whole volume once it is all there. */
static int begin_chunk(struct fp_run *r, struct resident *s, bool complete,
		       struct kk_error *err)
{
	struct kk_fp_job job;
	int proj = take_buffer(r, s);
	int rc = 0;

	fp_job(&job, r, 0, proj, s->next);
	job.zhi = s->have;
	job.units = (double)job.nviews * s->have / r->c.g->vol.nz;
	if (complete) {
		rc = kk_fp_run(r->eng, &job, err);
	} else {
		rc = kk_fp_clear(r->eng, proj, job.nviews, err);
		kk_rows_window(r->c.g, job.view0, job.nviews, 0, s->have,
			       &job.row_lo, &job.row_hi);
		job.accumulate = true;
		if (!rc && s->have > 0 && job.row_hi > job.row_lo)
			rc = kk_fp_run(r->eng, &job, err);
		else if (!rc && r->c.progress)
			kk_progress_add(r->c.progress, job.units);
	}
	s->chunk[s->n] = s->next++;
	s->proj[s->n++] = proj;
	return rc;
}

/* Download and write the oldest chunk begun; its buffer is free then. */
static int end_chunk(struct fp_run *r, struct resident *s,
		     struct kk_error *err)
{
	int rc = emit(r, s->chunk[0], s->proj[0], err);

	s->free[s->proj[0]] = true;
	memmove(s->chunk, s->chunk + 1,
		(size_t)(s->n - 1) * sizeof(*s->chunk));
	memmove(s->proj, s->proj + 1, (size_t)(s->n - 1) * sizeof(*s->proj));
	s->n--;
	return rc;
}

/* Until read i is there: begin more chunks, over the slices already on
 * the device, whenever the device has run out of work. */
static int while_reading(struct fp_run *r, struct resident *s, int64_t i,
			 struct kk_error *err)
{
	struct kk_job *job = &r->c.in.job[i % r->c.in.n];
	int rc = 0;

	prefetch(r);
	while (!rc && !kk_worker_done(r->c.reader, job)) {
		if (kk_interrupted())
			return kk_fail_interrupted(err);
		if (s->next < r->c.plan.nchunks && s->n < r->c.plan.nproj &&
		    s->have > 0 && kk_fp_idle(r->eng))
			rc = begin_chunk(r, s, false, err);
		else
			kk_sleep(0.0002);
	}
	return rc;
}

/*
 * The volume arrives in pieces.  Every chunk begun adds each piece's
 * projection as it comes (only the rows the piece's rays reach); while
 * the next piece is still being read and the device has nothing to do,
 * another chunk begins with the slices already there.  Once the whole
 * volume is in, the chunks begun are written and the rest computed in
 * one go each.  The texture projector needs the whole volume first.
 */
static int run_resident(struct fp_run *r, struct kk_error *err)
{
	const struct kk_plan *p = &r->c.plan;
	const bool whole = r->eng->whole_volume;
	struct resident s;
	struct kk_fp_job job;
	int64_t i, k;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	for (k = 0; k < p->nproj; k++)
		s.free[k] = true;
	if (!whole)
		rc = begin_chunk(r, &s, false, err);
	for (i = 0; i < r->nitems && !rc; i++) {
		const struct item *it = &r->items[i];

		if (!whole)
			rc = while_reading(r, &s, i, err);
		if (!rc)
			rc = upload(r, i, 0, it->z0, err);
		s.have = it->z0 + it->nz;
		for (k = 0; k < s.n && !rc && !whole; k++) {
			fp_job(&job, r, 0, s.proj[k], s.chunk[k]);
			kk_plan_window(p, it->s, s.chunk[k], &job.row_lo,
				       &job.row_hi);
			job.zlo = it->z0;
			job.zhi = it->z0 + it->nz;
			job.accumulate = true;
			job.units = (double)job.nviews * it->nz / r->c.g->vol.nz;
			if (job.row_hi > job.row_lo)
				rc = kk_fp_run(r->eng, &job, err);
			else if (r->c.progress)
				kk_progress_add(r->c.progress, job.units);
		}
	}
	/* The rest: keep a chunk queued on the device while writing. */
	while (!rc && (s.n > 0 || s.next < p->nchunks)) {
		if (kk_interrupted())
			return kk_fail_interrupted(err);
		if (s.next < p->nchunks && s.n < p->nproj)
			rc = begin_chunk(r, &s, true, err);
		else
			rc = end_chunk(r, &s, err);
	}
	return rc;
}

/* Slabs of the volume, summed for every chunk of views. */
static int run_slabs(struct fp_run *r, struct kk_error *err)
{
	const struct kk_geometry *g = r->c.g;
	const struct kk_plan *p = &r->c.plan;
	struct kk_fp_job job;
	int64_t i = 0, c, s, nz = g->vol.nz;
	int rc = 0;

	for (c = 0; c < p->nchunks && !rc; c++) {
		int proj = (int)(c % p->nproj);

		fp_job(&job, r, 0, proj, c);
		rc = kk_fp_clear(r->eng, proj, job.nviews, err);
		for (s = 0; s < p->nslabs && !rc; s++) {
			int64_t z0 = s * p->slab, z1 = min64(z0 + p->slab, nz);

			kk_plan_window(p, s, c, &job.row_lo, &job.row_hi);
			job.units = (double)job.nviews * (z1 - z0) / nz;
			if (job.row_lo == job.row_hi) {
				if (r->c.progress)
					kk_progress_add(r->c.progress,
							job.units);
				continue;
			}
			job.vol = r->vol_turn;
			r->vol_turn = (r->vol_turn + 1) % p->nvol;
			for (; !rc && i < r->nitems && r->items[i].c == c &&
			       r->items[i].s == s; i++)
				rc = upload(r, i, job.vol, r->items[i].z0 - z0,
					    err);
			job.base = z0;
			job.zlo = z0;
			job.zhi = z1;
			job.accumulate = true;
			if (!rc)
				rc = kk_fp_run(r->eng, &job, err);
		}
		if (!rc)
			rc = emit(r, c, proj, err);
	}
	return rc;
}

int kk_stream_fp(struct kk_device *d, const struct kk_geometry *g,
		 struct kk_reader *vol, struct kk_writer *proj,
		 const struct kk_stream_opts *o, struct kk_progress *progress,
		 struct kk_stream_stats *st, struct kk_error *err)
{
	struct fp_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	kk_stream_begin(&r.c, d, g, o, progress, st);
	rc = setup(&r, vol, proj, st, err);
	if (!rc)
		rc = list_items(&r, err);
	if (!rc)
		rc = r.c.plan.resident ? run_resident(&r, err)
				       : run_slabs(&r, err);
	if (!rc)
		rc = kk_stream_drain(&r.c, err);
	kk_stream_stop(&r.c, st);
	free_engine(&r);
	free(r.items);
	kk_stream_end(&r.c, st);
	return rc;
}
