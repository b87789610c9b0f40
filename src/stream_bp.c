/*
 * stream_bp.c: kkit bp from file to file (see stream.h).
 *
 * The volume is summed a slab at a time (one slab when it fits, more
 * when it does not, or when a large volume's writing should overlap the
 * computing): for each slab, every chunk of views is read (only the
 * detector rows the slab's voxels see), uploaded and backprojected,
 * then the slab is downloaded in pieces and written while the next slab
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

/* A read: views [v0, v0 + n) and rows [row0, row0 + plan.rows) for
 * slab s. */
struct item {
	int64_t s, c, v0, n, row0;
};

/* A piece of a slab to download and write. */
struct piece {
	int64_t s, at, nz;    /* slab s's slices [at, at + nz) */
	int vol;
};

struct bp_run {
	struct kk_device *dev;
	const struct kk_geometry *g;
	const struct kk_stream_opts *o;
	struct kk_progress *progress;
	struct kk_plan plan;
	bool have_plan;
	struct kk_bp_engine *eng;
	struct kk_axes up_axes;      /* the order uploads have */
	bool gather;                 /* file order is not col last */
	struct kk_ring in, out;
	struct kk_worker *reader, *writer;
	struct item *items;
	int64_t nitems, submitted, consumed;
	struct piece *pieces;        /* waiting to be written, in order */
	int64_t npieces, issued;     /* queued so far; handed out so far */
	int64_t written;
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int setup(struct bp_run *r, struct kk_reader *in,
		 struct kk_writer *out, struct kk_error *err)
{
	const struct kk_geometry *g = r->g;
	const struct kk_gpu_proj_opts *go = &r->dev->gpu_opts;
	bool gpu = kk_device_on_gpu(r->dev);
	struct kk_plan_limits l;
	struct kk_bp_layout lay;
	struct kk_error why, oom = {0};
	int rc;

	memset(&l, 0, sizeof(l));
	rc = kk_stream_limits(r->dev, r->o, &l, err);
	if (rc)
		return rc;
	r->gather = r->o->axes.where[KK_COL] != 2;
	r->up_axes = r->gather ? kk_axes_default : r->o->axes;
	l.vol_es = gpu && go->vol_half ? 2 : 4;
	l.proj_es = gpu && go->proj_half ? 2 : 4;
	l.overlap = gpu;
	l.in_extra = (kk_dtype_size(kk_reader_info(in)->dtype) > 4 ? 2 : 0) +
		     (r->gather ? 1 : 0);
	l.out_extra = kk_writer_dtype(out) == KK_F32 ? 0 : 0.5;
	for (;;) {
		memset(&why, 0, sizeof(why));
		rc = kk_plan_bp(&r->plan, g, &l, err);
		if (rc && oom.code)
			kk_error_prefix(err, "%s; and planning for less",
					oom.msg);
		if (rc)
			return rc;
		r->have_plan = true;
		lay.slices = r->plan.slab;
		lay.nvol = r->plan.nvol;
		lay.views = r->plan.chunk;
		lay.rows = r->plan.rows;
		lay.nproj = r->plan.nproj;
		lay.axes = r->up_axes;
		rc = kk_bp_engine_create(&r->eng, r->dev, g, &lay, &why);
		if (rc == KK_ENOMEM) {
			if (!oom.code)
				oom = why;
			rc = kk_stream_shrink(&l.device, r->plan.device_bytes,
					      l.device_what, &why, err);
		} else if (!rc) {
			rc = kk_ring_alloc(&r->in, r->dev, r->plan.nin,
					   r->plan.in_bytes, r->o->pinned,
					   &why);
			if (!rc)
				rc = kk_ring_alloc(&r->out, r->dev,
						   r->plan.nout,
						   r->plan.out_bytes,
						   r->o->pinned, &why);
			if (!rc)
				return 0;
			kk_ring_free(&r->in);
			kk_bp_engine_free(r->eng);
			r->eng = NULL;
			if (rc == KK_ENOMEM && !oom.code)
				oom = why;
			if (rc == KK_ENOMEM)
				rc = kk_stream_shrink(&l.host,
						      r->plan.host_bytes,
						      "host memory", &why,
						      err);
			else
				*err = why;
		} else {
			*err = why;
		}
		kk_plan_release(&r->plan);
		r->have_plan = false;
		if (rc)
			return rc;
	}
}

/* The reads, slab by slab, and the pieces to write. */
static int list_work(struct bp_run *r, struct kk_error *err)
{
	const struct kk_plan *p = &r->plan;
	const struct kk_geometry *g = r->g;
	int64_t s, c, lo, hi, n = 0, per_slab = (p->slab + p->piece - 1) /
						p->piece;

	r->items = malloc((size_t)(p->nslabs * p->nchunks) *
			  sizeof(*r->items));
	r->pieces = malloc((size_t)(p->nslabs * per_slab) *
			   sizeof(*r->pieces));
	if (!r->items || !r->pieces)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	for (s = 0; s < p->nslabs; s++)
		for (c = 0; c < p->nchunks; c++) {
			kk_plan_window(p, s, c, &lo, &hi);
			if (lo == hi)
				continue; /* the slab sees none of it */
			r->items[n].s = s;
			r->items[n].c = c;
			r->items[n].v0 = c * p->chunk;
			r->items[n].n = min64(p->chunk, g->nviews - c *
					      p->chunk);
			/* Always plan.rows rows: the texture is then all
			 * data, and rows beyond the detector lie outside
			 * it (zero). */
			r->items[n].row0 = min64(lo, g->nrows - p->rows);
			n++;
		}
	r->nitems = n;
	return 0;
}

static void prefetch(struct bp_run *r)
{
	const struct kk_geometry *g = r->g;
	const int *where = r->o->axes.where;

	while (r->submitted < r->nitems &&
	       r->submitted < r->consumed + r->in.n) {
		const struct item *it = &r->items[r->submitted];
		struct kk_job *job = &r->in.job[r->submitted % r->in.n];

		memset(job, 0, sizeof(*job));
		job->buf = &r->in.buf[r->submitted % r->in.n];
		job->start[where[KK_ANGLE]] = it->v0;
		job->count[where[KK_ANGLE]] = it->n;
		job->start[where[KK_ROW]] = it->row0;
		job->count[where[KK_ROW]] = r->plan.rows;
		job->start[where[KK_COL]] = 0;
		job->count[where[KK_COL]] = g->ncols;
		job->half = r->eng->proj_half;
		job->gather = r->gather ? &r->o->axes : NULL;
		kk_worker_submit(r->reader, job);
		r->submitted++;
	}
}

/* Hand queued pieces to the writer: those with a free output buffer,
 * or (wait) every piece of slabs up to slab. */
static int write_pieces(struct bp_run *r, bool wait, int64_t slab,
			struct kk_error *err)
{
	const struct kk_volume_geom *v = &r->g->vol;
	int rc = 0;

	while (!rc && r->issued < r->npieces) {
		const struct piece *pc = &r->pieces[r->issued];
		int slot = (int)(r->written % r->out.n);
		struct kk_job *job = &r->out.job[slot];

		if (!(wait && pc->s <= slab) &&
		    !kk_worker_done(r->writer, job))
			break;
		rc = kk_worker_wait(r->writer, job, err);
		if (!rc)
			rc = kk_bp_download(r->eng, pc->vol, pc->at, pc->nz,
					    &r->out.buf[slot], err);
		if (rc)
			break;
		memset(job, 0, sizeof(*job));
		job->buf = &r->out.buf[slot];
		job->axis = 0;
		job->start[0] = pc->s * r->plan.slab + pc->at;
		job->count[0] = pc->nz;
		job->count[1] = v->ny;
		job->count[2] = v->nx;
		job->half = r->eng->vol_half;
		kk_worker_submit(r->writer, job);
		r->written++;
		r->issued++;
	}
	return rc;
}

static int run(struct bp_run *r, struct kk_error *err)
{
	const struct kk_plan *p = &r->plan;
	const int64_t nz = r->g->vol.nz;
	int64_t i = 0, s, c, at;
	int rc = 0;

	for (s = 0; s < p->nslabs && !rc; s++) {
		int vol = (int)(s % p->nvol);
		int64_t z0 = s * p->slab, z1 = min64(z0 + p->slab, nz);
		struct kk_bp_job job;

		/* The slab this buffer held goes out before it is
		 * cleared. */
		rc = write_pieces(r, true, s - p->nvol, err);
		if (!rc)
			rc = kk_bp_clear(r->eng, vol, err);
		for (c = 0; c < p->nchunks && !rc; c++) {
			int slot = (int)(i % r->in.n);
			double units = (double)min64(p->chunk, r->g->nviews -
						     c * p->chunk) *
				       (z1 - z0) / nz;

			if (kk_interrupted())
				return kk_fail_interrupted(err);
			if (i >= r->nitems || r->items[i].s != s ||
			    r->items[i].c != c) {
				if (r->progress)
					kk_progress_add(r->progress, units);
				continue;
			}
			prefetch(r);
			rc = kk_worker_wait(r->reader, &r->in.job[slot], err);
			if (!rc)
				rc = kk_bp_upload(r->eng, (int)(i % p->nproj),
						  r->items[i].n,
						  &r->in.buf[slot], err);
			r->consumed = ++i;
			prefetch(r);
			memset(&job, 0, sizeof(job));
			job.proj = (int)((i - 1) % p->nproj);
			job.vol = vol;
			job.view0 = r->items[i - 1].v0;
			job.nviews = r->items[i - 1].n;
			job.row0 = r->items[i - 1].row0;
			job.z0 = z0;
			job.nz = z1 - z0;
			job.progress = r->progress;
			job.units = units;
			if (!rc)
				rc = kk_bp_run(r->eng, &job, err);
			if (!rc)
				rc = write_pieces(r, false, 0, err);
		}
		for (at = 0; !rc && at < z1 - z0; at += p->piece) {
			struct piece *pc = &r->pieces[r->npieces++];

			pc->s = s;
			pc->at = at;
			pc->nz = min64(p->piece, z1 - z0 - at);
			pc->vol = vol;
		}
	}
	if (!rc)
		rc = write_pieces(r, true, p->nslabs, err);
	return rc;
}

static void finish(struct bp_run *r, struct kk_stream_stats *st)
{
	int i;

	if (r->reader) {
		st->read_s = kk_worker_busy(r->reader);
		st->read_bytes = kk_worker_bytes(r->reader);
	}
	if (r->writer) {
		st->write_s = kk_worker_busy(r->writer);
		st->write_bytes = kk_worker_bytes(r->writer);
	}
	kk_worker_stop(r->reader);
	kk_worker_stop(r->writer);
	kk_bp_engine_free(r->eng);
	for (i = 0; i < r->in.n; i++)
		kk_hbuf_wait(&r->in.buf[i], &(struct kk_error){0});
	for (i = 0; i < r->out.n; i++)
		kk_hbuf_wait(&r->out.buf[i], &(struct kk_error){0});
	kk_ring_free(&r->in);
	kk_ring_free(&r->out);
	if (r->have_plan)
		kk_plan_release(&r->plan);
	free(r->items);
	free(r->pieces);
	kk_device_stats(r->dev, &st->dev);
}

int kk_stream_bp(struct kk_device *d, const struct kk_geometry *g,
		 struct kk_reader *proj, struct kk_writer *vol,
		 const struct kk_stream_opts *o, struct kk_progress *progress,
		 struct kk_stream_stats *st, struct kk_error *err)
{
	struct bp_run r;
	char desc[320];
	double t0 = kk_now();
	int64_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(st, 0, sizeof(*st));
	r.dev = d;
	r.g = g;
	r.o = o;
	r.progress = progress;
	rc = setup(&r, proj, vol, err);
	if (!rc) {
		kk_plan_describe(&r.plan, desc, sizeof(desc));
		kk_msg_verbose("plan: %s; reading %.2f times the projections",
			       desc, r.plan.read_factor);
		if (r.plan.chunk_shrunk)
			kk_msg_warn("--chunk %lld does not fit: using %lld "
				    "views a chunk", (long long)o->chunk,
				    (long long)r.plan.chunk);
		st->nslabs = r.plan.nslabs;
		st->nchunks = r.plan.nchunks;
		rc = list_work(&r, err);
	}
	if (!rc)
		rc = kk_worker_start_reader(&r.reader, proj, err);
	if (!rc)
		rc = kk_worker_start_writer(&r.writer, vol, err);
	if (!rc)
		rc = run(&r, err);
	for (i = 0; !rc && i < r.out.n; i++)
		rc = kk_worker_wait(r.writer, &r.out.job[i], err);
	finish(&r, st);
	st->seconds = kk_now() - t0;
	st->peak_rss = kk_rss_peak();
	return rc;
}
