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
#include "fbp.h"
#include "flatfield.h"
#include "gpu_proj.h"
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
	struct kk_stream_run c;
	struct kk_bp_engine *eng;
	struct kk_axes up_axes;      /* the order uploads have */
	bool gather;                 /* file order is not col last */
	struct item *items;
	int64_t nitems, submitted, consumed;
	int64_t *counted;            /* rows of each chunk read so far, for
				      * the input's warnings: [lo, hi) */
	struct piece *pieces;        /* waiting to be written, in order */
	int64_t npieces, issued;     /* queued so far; handed out so far */
	int64_t written;
	uint64_t fbp_budget;         /* device bytes fbp's filter may take */
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int make_engine(void *arg, struct kk_error *err)
{
	struct bp_run *r = arg;
	const struct kk_plan *p = &r->c.plan;
	struct kk_bp_layout lay;

	lay.slices = p->slab;
	lay.nvol = p->nvol;
	lay.views = p->chunk;
	lay.rows = p->rows;
	lay.nproj = p->nproj;
	lay.axes = r->up_axes;
	lay.fbp = r->c.o->fbp;
	lay.fbp_budget = r->fbp_budget;
	return kk_bp_engine_create(&r->eng, r->c.dev, r->c.g, &lay, err);
}

static void free_engine(void *arg)
{
	struct bp_run *r = arg;

	kk_bp_engine_free(r->eng);
	r->eng = NULL;
}

static const struct kk_stream_kind bp_kind = {kk_plan_bp, make_engine,
					      free_engine};

static int setup(struct bp_run *r, struct kk_reader *in,
		 struct kk_writer *out, struct kk_stream_stats *st,
		 struct kk_error *err)
{
	const struct kk_gpu_proj_opts *go = &r->c.dev->gpu_opts;
	bool gpu = kk_device_on_gpu(r->c.dev);
	struct kk_plan_limits l;
	int rc = kk_stream_limits(r->c.dev, r->c.o, &l, err);

	if (rc)
		return rc;
	/* Projections not stored with the columns last are gathered into
	 * angle,row,col as they are read (a texture layer is a view). */
	r->gather = r->c.o->axes.where[KK_COL] != 2;
	r->up_axes = r->gather ? kk_axes_default : r->c.o->axes;
	l.vol_es = gpu && go->vol_half ? 2 : 4;
	l.proj_es = gpu && go->proj_half && !r->c.o->fbp ? 2 : 4;
	if (gpu && r->c.o->fbp) {
		/* The filter's scratch: an eighth of the memory, up to 128
		 * MiB, a view of every row at least. */
		const struct kk_fbp *f = r->c.o->fbp;
		uint64_t scratch;

		r->fbp_budget = l.device / 8 < ((uint64_t)128 << 20)
				? l.device / 8 : (uint64_t)128 << 20;
		scratch = kk_gpu_fbp_bytes(f, r->c.g->nrows, r->fbp_budget);
		l.device = l.device > scratch ? l.device - scratch : 0;
	}
	l.overlap = gpu;
	l.in_extra = (kk_dtype_size(kk_reader_info(in)->dtype) > 4 ? 2 : 0) +
		     (r->gather ? 1 : 0);
	l.out_extra = kk_writer_dtype(out) == KK_F32 ? 0 : 0.5;
	return kk_stream_setup(&r->c, &l, &bp_kind, r, in, out, st, err);
}

/* The reads, slab by slab, and the pieces to write. */
static int list_work(struct bp_run *r, struct kk_error *err)
{
	const struct kk_plan *p = &r->c.plan;
	const struct kk_geometry *g = r->c.g;
	int64_t s, c, lo, hi, n = 0, per_slab = (p->slab + p->piece - 1) /
						p->piece;

	r->items = malloc((size_t)(p->nslabs * p->nchunks) *
			  sizeof(*r->items));
	r->pieces = malloc((size_t)(p->nslabs * per_slab) *
			   sizeof(*r->pieces));
	r->counted = calloc((size_t)(2 * p->nchunks), sizeof(*r->counted));
	if (!r->items || !r->pieces || !r->counted)
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
			r->items[n].row0 = lo;
			n++;
		}
	r->nitems = n;
	return 0;
}

/* Widen the rows counted, [c[0], c[1]), to cover [lo, hi). */
static void count_rows(int64_t *c, int64_t lo, int64_t hi)
{
	if (c[1] <= c[0]) {
		c[0] = lo;
		c[1] = hi;
		return;
	}
	c[0] = c[0] < lo ? c[0] : lo;
	c[1] = c[1] > hi ? c[1] : hi;
}

static void prefetch(struct bp_run *r)
{
	const struct kk_geometry *g = r->c.g;
	const int *where = r->c.o->axes.where;

	while (r->submitted < r->nitems &&
	       r->submitted < r->consumed + r->c.in.n) {
		const struct item *it = &r->items[r->submitted];
		struct kk_job *job = &r->c.in.job[r->submitted % r->c.in.n];

		memset(job, 0, sizeof(*job));
		job->buf = &r->c.in.buf[r->submitted % r->c.in.n];
		job->start[where[KK_ANGLE]] = it->v0;
		job->count[where[KK_ANGLE]] = it->n;
		job->start[where[KK_ROW]] = it->row0;
		job->count[where[KK_ROW]] = r->c.plan.rows;
		job->start[where[KK_COL]] = 0;
		job->count[where[KK_COL]] = g->ncols;
		job->half = r->eng->proj_half;
		job->gather = r->gather ? &r->c.o->axes : NULL;
		/* Rows read for an earlier slab are counted already (the
		 * windows of one chunk move one way as the slabs go). */
		job->count_part = true;
		job->count_axis = where[KK_ROW];
		job->count_lo = it->row0;
		job->count_hi = it->row0 + r->c.plan.rows;
		job->count_xlo = r->counted[2 * it->c];
		job->count_xhi = r->counted[2 * it->c + 1];
		count_rows(r->counted + 2 * it->c, it->row0,
			   it->row0 + r->c.plan.rows);
		kk_worker_submit(r->c.reader, job);
		r->submitted++;
	}
}

/* Hand queued pieces to the writer: those with a free output buffer,
 * or (wait) every piece of slabs up to slab. */
static int write_pieces(struct bp_run *r, bool wait, int64_t slab,
			struct kk_error *err)
{
	const struct kk_volume_geom *v = &r->c.g->vol;
	int rc = 0;

	while (!rc && r->issued < r->npieces) {
		const struct piece *pc = &r->pieces[r->issued];
		int slot = (int)(r->written % r->c.out.n);
		struct kk_job *job = &r->c.out.job[slot];

		if (!(wait && pc->s <= slab) &&
		    !kk_worker_done(r->c.writer, job))
			break;
		rc = kk_worker_wait(r->c.writer, job, err);
		if (!rc)
			rc = kk_bp_download(r->eng, pc->vol, pc->at, pc->nz,
					    &r->c.out.buf[slot], err);
		if (rc)
			break;
		memset(job, 0, sizeof(*job));
		job->buf = &r->c.out.buf[slot];
		job->axis = 0;
		job->start[0] = pc->s * r->c.plan.slab + pc->at;
		job->count[0] = pc->nz;
		job->count[1] = v->ny;
		job->count[2] = v->nx;
		job->half = r->eng->vol_half;
		kk_worker_submit(r->c.writer, job);
		r->written++;
		r->issued++;
	}
	return rc;
}

static int run(struct bp_run *r, struct kk_error *err)
{
	const struct kk_plan *p = &r->c.plan;
	const int64_t nz = r->c.g->vol.nz;
	int64_t i = 0, s, c, at;
	int rc = 0;

	for (s = 0; s < p->nslabs && !rc; s++) {
		int vol = (int)(s % p->nvol);
		int64_t z0 = s * p->slab, z1 = min64(z0 + p->slab, nz);
		struct kk_bp_job job;
		struct kk_fresh_rows fresh;

		/* The slab this buffer held goes out before it is
		 * cleared. */
		rc = write_pieces(r, true, s - p->nvol, err);
		if (!rc)
			rc = kk_bp_clear(r->eng, vol, err);
		for (c = 0; c < p->nchunks && !rc; c++) {
			int slot = (int)(i % r->c.in.n);
			double units = (double)min64(p->chunk, r->c.g->nviews -
						     c * p->chunk) *
				       (z1 - z0) / nz;

			if (kk_interrupted())
				return kk_fail_interrupted(err);
			if (i >= r->nitems || r->items[i].s != s ||
			    r->items[i].c != c) {
				if (r->c.progress)
					kk_progress_add(r->c.progress, units);
				continue;
			}
			prefetch(r);
			rc = kk_worker_wait(r->c.reader, &r->c.in.job[slot], err);
			fresh.lo = r->c.in.job[slot].count_lo;
			fresh.hi = r->c.in.job[slot].count_hi;
			fresh.xlo = r->c.in.job[slot].count_xlo;
			fresh.xhi = r->c.in.job[slot].count_xhi;
			if (!rc)
				rc = kk_bp_upload(r->eng, (int)(i % p->nproj),
						  r->items[i].v0,
						  r->items[i].n,
						  r->items[i].row0, &fresh,
						  &r->c.in.buf[slot], err);
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
			job.progress = r->c.progress;
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

int kk_stream_bp(struct kk_device *d, const struct kk_geometry *g,
		 struct kk_reader *proj, struct kk_writer *vol,
		 const struct kk_stream_opts *o, struct kk_progress *progress,
		 struct kk_stream_stats *st, struct kk_error *err)
{
	struct bp_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	kk_stream_begin(&r.c, d, g, o, progress, st);
	rc = setup(&r, proj, vol, st, err);
	if (!rc)
		rc = list_work(&r, err);
	if (!rc)
		rc = run(&r, err);
	if (!rc)
		rc = kk_stream_drain(&r.c, err);
	kk_stream_stop(&r.c, st);
	free_engine(&r);
	free(r.items);
	free(r.pieces);
	free(r.counted);
	kk_stream_end(&r.c, st);
	return rc;
}
