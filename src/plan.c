/*
 * plan.c: cutting a streamed fp or bp to the memory there is (see
 * plan.h).
 *
 * The sizes aim at chunks of about 256 MiB: big enough that launches and
 * transfers are efficient, small enough that the pipeline has several to
 * overlap.  Row windows come from projecting the corners of a slab's box
 * (grown by a voxel) with backprojection's own detector mapping.
 */
#include "config.h"
#include "plan.h"
#include "budget.h"
#include "cpu_proj.h"
#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_CHUNK_BYTES (256 * KK_MIB)
#define TARGET_PIECE_BYTES (64 * KK_MIB)
/* Per-view parameters and the like that the device also holds. */
#define PARAM_BYTES_PER_VIEW 128
#define FIXED_BYTES 4096
/* bp: slabs to cut a large volume into so that writing overlaps. */
#define OVERLAP_SLABS 8
#define OVERLAP_MIN_BYTES (512 * KK_MIB)
#define OVERLAP_MAX_READ 1.5
/* fp: the most chunks summed at once while the volume arrives. */
#define MAX_OPEN_CHUNKS KK_FP_MAX_PROJ

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
	return (a + b - 1) / b;
}

/* ---- row windows --------------------------------------------------- */

struct rows {
	double lo, hi;  /* row coordinates seen; lo > hi: none yet */
	bool all;
};

/* Widen r by the rows view b sees of index box z in [z0 - 1, z1]. */
static void add_view(const struct kk_geometry *g, const struct kk_bp_view *b,
		     int64_t z0, int64_t z1, struct rows *r)
{
	const struct kk_volume_geom *v = &g->vol;
	double xs[2] = {v->xmin - 0.5 * v->dx,
			v->xmin + (v->nx + 0.5) * v->dx};
	double ys[2] = {v->ymin - 0.5 * v->dy,
			v->ymin + (v->ny + 0.5) * v->dy};
	double zs[2] = {v->zmin + (z0 - 0.5) * v->dz,
			v->zmin + (z1 + 0.5) * v->dz};
	double cv = 0.5 * g->nrows - 0.5;
	int i;

	if (r->all)
		return;
	for (i = 0; i < 8; i++) {
		double x[3] = {xs[i & 1], ys[(i >> 1) & 1], zs[i >> 2]};
		double num = b->V[0] * x[0] + b->V[1] * x[1] + b->V[2] * x[2] +
			     b->V[3];
		double den = b->D[0] * x[0] + b->D[1] * x[1] + b->D[2] * x[2] +
			     b->D[3];
		double row;

		/* At or behind a cone's source: rays to every row. */
		if (!(b->K * den > 0)) {
			r->all = true;
			return;
		}
		row = num / den + cv;
		if (!isfinite(row)) {
			r->all = true;
			return;
		}
		if (r->lo > r->hi) {
			r->lo = r->hi = row;
		} else {
			r->lo = fmin(r->lo, row);
			r->hi = fmax(r->hi, row);
		}
	}
}

/* Row coordinates to whole rows, with a row to spare on each side. */
static void to_window(const struct kk_geometry *g, const struct rows *r,
		      int64_t *lo, int64_t *hi)
{
	double a, b;

	if (r->all || g->nrows == 1) {
		*lo = 0;
		*hi = g->nrows;
		return;
	}
	if (r->lo > r->hi) {
		*lo = *hi = 0;
		return;
	}
	/* bp samples rows floor(row) and floor(row) + 1; fp computes the
	 * rows between the corners' rows. */
	a = floor(r->lo) - 1;
	b = floor(r->hi) + 3;
	a = fmax(a, 0);
	b = fmin(b, (double)g->nrows);
	if (a >= b) {
		*lo = *hi = 0;
		return;
	}
	*lo = (int64_t)a;
	*hi = (int64_t)b;
}

void kk_rows_window(const struct kk_geometry *g, int64_t v0, int64_t n,
		    int64_t z0, int64_t z1, int64_t *lo, int64_t *hi)
{
	struct rows r = {1, 0, false};
	struct kk_bp_view b;
	int64_t i;

	for (i = v0; i < v0 + n && !r.all; i++) {
		kk_bp_view_setup(g, &g->views[i], &b);
		add_view(g, &b, z0, z1, &r);
	}
	to_window(g, &r, lo, hi);
}

/* What the windows of a cut come to. */
struct cut {
	int64_t slab, nslabs, chunk, nchunks;
	int64_t rows;       /* the tallest window */
	int64_t items;      /* (slab, chunk) pairs with rows */
	bool host_bound;    /* bp_fits: the host limit bound the chunk */
};

/* The windows of every (slab, chunk) pair of c into win (or only their
 * heights, when win is NULL). */
static void cut_windows(const struct kk_geometry *g,
			const struct kk_bp_view *views, struct cut *c,
			int64_t *win)
{
	int64_t s, k, i, lo, hi;

	c->rows = 0;
	c->items = 0;
	for (s = 0; s < c->nslabs; s++) {
		int64_t z0 = s * c->slab, z1 = min64(z0 + c->slab, g->vol.nz);

		for (k = 0; k < c->nchunks; k++) {
			int64_t v0 = k * c->chunk;
			int64_t v1 = min64(v0 + c->chunk, g->nviews);
			struct rows r = {1, 0, false};

			for (i = v0; i < v1 && !r.all; i++)
				add_view(g, &views[i], z0, z1, &r);
			to_window(g, &r, &lo, &hi);
			c->rows = max64(c->rows, hi - lo);
			c->items += hi > lo;
			if (win) {
				win[2 * (s * c->nchunks + k)] = lo;
				win[2 * (s * c->nchunks + k) + 1] = hi;
			}
		}
	}
}

static void set_cut(struct cut *c, const struct kk_geometry *g, int64_t slab,
		    int64_t chunk)
{
	c->slab = slab;
	c->nslabs = ceil_div(g->vol.nz, slab);
	c->chunk = chunk;
	c->nchunks = ceil_div(g->nviews, chunk);
}

/* ---- sizes --------------------------------------------------------- */

static int64_t target_chunk(const struct kk_geometry *g,
			    const struct kk_plan_limits *l, uint64_t view)
{
	if (l->chunk)
		return min64(l->chunk, g->nviews);
	return max64(1, min64(g->nviews, (int64_t)(TARGET_CHUNK_BYTES /
						   view)));
}

static int too_small(struct kk_error *err, const char *what, uint64_t need,
		     uint64_t have, const char *where)
{
	char a[32], b[32];

	kk_format_size(need, a, sizeof(a));
	kk_format_size(have, b, sizeof(b));
	return kk_fail(err, KK_ENOMEM, "not even %s fit in the %s of %s "
		       "there is to use: they need %s", what, b, where, a);
}

static int alloc_windows(struct kk_plan *p, struct kk_error *err)
{
	size_t n = (size_t)(p->nslabs * p->nchunks);

	p->windows = malloc(2 * n * sizeof(*p->windows));
	if (!p->windows)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	return 0;
}

static struct kk_bp_view *all_views(const struct kk_geometry *g,
				    struct kk_error *err)
{
	struct kk_bp_view *v = malloc((size_t)g->nviews * sizeof(*v));
	int64_t i;

	if (!v) {
		kk_fail(err, KK_ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < g->nviews; i++)
		kk_bp_view_setup(g, &g->views[i], &v[i]);
	return v;
}

int kk_plan_fp(struct kk_plan *p, const struct kk_geometry *g,
	       const struct kk_plan_limits *l, struct kk_error *err)
{
	const struct kk_volume_geom *v = &g->vol;
	uint64_t slice_d = (uint64_t)(v->nx * v->ny) * l->vol_es;
	uint64_t slice_h = (uint64_t)(v->nx * v->ny) * 4;
	uint64_t view = (uint64_t)(g->nrows * g->ncols) * 4;
	uint64_t fixed = FIXED_BYTES + PARAM_BYTES_PER_VIEW *
			 (uint64_t)g->nviews;
	int64_t want = target_chunk(g, l, view), c_host, c_dev, slab;
	double in_n = 3 + l->in_extra, out_n = 3 + l->out_extra;
	struct kk_bp_view *views;
	struct cut cut;

	memset(p, 0, sizeof(*p));
	p->device_what = l->device_what;
	p->fp = true;
	p->nproj = 2;
	p->nin = 3;
	p->nout = 3;
	p->rows = g->nrows;
	/* Host: small pieces of volume in, chunks of views out. */
	p->piece = min64(v->nz, max64(1, (int64_t)(TARGET_PIECE_BYTES /
						   slice_h)));
	p->piece = min64(p->piece, (int64_t)(l->host / 2 / in_n / slice_h));
	if (p->piece < 1)
		return too_small(err, "three slices of the volume",
				 (uint64_t)(in_n * slice_h), l->host / 2,
				 "host memory");
	c_host = (int64_t)((l->host - in_n * p->piece * slice_h) / out_n /
			   view);
	if (c_host < 1)
		return too_small(err, "three views of projections",
				 (uint64_t)(out_n * view + in_n * p->piece *
					    slice_h), l->host, "host memory");
	/* The whole volume on the device, if it fits beside two chunks. */
	c_dev = l->device > slice_d * v->nz + fixed
		? (int64_t)((l->device - slice_d * v->nz - fixed) / 2 / view)
		: 0;
	p->chunk = min64(want, min64(c_host, c_dev));
	if (p->chunk >= 1) {
		uint64_t spare;

		p->resident = true;
		p->nvol = 1;
		slab = p->piece;
		/* More projection buffers, where half the memory left
		 * over holds them: chunks computed while the volume is
		 * still arriving (stream_fp.c). */
		spare = l->device - slice_d * v->nz - fixed -
			2 * p->chunk * view;
		p->nproj = (int)min64(MAX_OPEN_CHUNKS, 2 + (int64_t)(spare /
				      2 / (p->chunk * view)));
		p->nproj = (int)min64(p->nproj, max64(2, ceil_div(g->nviews,
								  p->chunk)));
		p->device_bytes = slice_d * v->nz + p->nproj * p->chunk *
				  view + fixed;
	} else {
		/* Slabs: two (one computes while the next uploads) taking
		 * an eighth, one chunk of projections the rest: the volume
		 * is read again for every chunk, so chunks are as big as
		 * fits, and only two of them are written at a time. */
		p->nvol = 2;
		p->nproj = 1;
		p->nout = 2;
		out_n = 2 + l->out_extra;
		c_host = (int64_t)((l->host - in_n * p->piece * slice_h) /
				   out_n / view);
		slab = max64(1, min64(v->nz, (int64_t)(l->device / 8 / 2 /
						       slice_d)));
		for (;;) {
			uint64_t used = 2 * slab * slice_d + fixed;

			c_dev = l->device > used
				? (int64_t)((l->device - used) / view) : 0;
			p->chunk = min64(l->chunk ? want : g->nviews,
					 min64(c_host, c_dev));
			if (p->chunk >= 1 || slab == 1)
				break;
			slab = max64(1, slab / 2);
		}
		if (p->chunk < 1)
			return too_small(err, "two slices and one view",
					 2 * slice_d + view + fixed,
					 l->device, l->device_what);
		p->piece = min64(p->piece, slab);
		p->device_bytes = 2 * slab * slice_d + p->chunk * view +
				  fixed;
	}
	p->chunk_shrunk = l->chunk && p->chunk < want;
	p->slab = slab;
	p->in_bytes = (uint64_t)p->piece * slice_h;
	p->out_bytes = (uint64_t)p->chunk * view;
	p->host_bytes = (uint64_t)(in_n * p->in_bytes + out_n * p->out_bytes);
	set_cut(&cut, g, slab, p->chunk);
	p->nslabs = cut.nslabs;
	p->nchunks = cut.nchunks;
	p->read_factor = 1;
	views = all_views(g, err);
	if (!views || alloc_windows(p, err)) {
		free(views);
		return err->code;
	}
	cut_windows(g, views, &cut, p->windows);
	free(views);
	return 0;
}

/* bp: can slabs of c.slab slices fit nvol times beside two chunks of
 * their windows?  Shrinks c's chunk until they do; false if not even
 * one view fits. */
static bool bp_fits(const struct kk_geometry *g, const struct kk_bp_view *vw,
		    const struct kk_plan_limits *l, struct cut *c, int nvol,
		    int64_t want, uint64_t *device)
{
	const struct kk_volume_geom *v = &g->vol;
	uint64_t slice_d = (uint64_t)(v->nx * v->ny) * l->vol_es;
	uint64_t row_d = (uint64_t)g->ncols * l->proj_es;
	uint64_t row_h = (uint64_t)g->ncols * 4;
	uint64_t fixed = FIXED_BYTES + PARAM_BYTES_PER_VIEW *
			 (uint64_t)g->nviews;
	uint64_t vol = nvol * (uint64_t)c->slab * slice_d + fixed;
	int64_t chunk = want, fit = 0;
	int tries;

	c->host_bound = false;
	if (vol >= l->device)
		return false;
	/* Taller windows for bigger chunks (a helix): a few rounds. */
	for (tries = 0; tries < 4; tries++) {
		int64_t fit_h;

		set_cut(c, g, c->slab, chunk);
		cut_windows(g, vw, c, NULL);
		if (c->rows == 0)
			c->rows = 1;
		fit = (int64_t)((l->device - vol) / 2 / (c->rows * row_d));
		fit_h = (int64_t)(l->host / 2 / (3 + l->in_extra) /
				  (double)(c->rows * row_h));
		c->host_bound = fit_h < fit;
		fit = min64(fit, fit_h);
		if (fit >= chunk)
			break;
		if (fit < 1)
			return false;
		chunk = fit;
	}
	/* Four rounds may end on a cut of a chunk that no longer fits. */
	if (fit < c->chunk)
		return false;
	*device = vol + 2 * (uint64_t)(c->chunk * c->rows) * row_d;
	return true;
}

int kk_plan_bp(struct kk_plan *p, const struct kk_geometry *g,
	       const struct kk_plan_limits *l, struct kk_error *err)
{
	const struct kk_volume_geom *v = &g->vol;
	uint64_t slice_h = (uint64_t)(v->nx * v->ny) * 4;
	uint64_t view_h = (uint64_t)(g->nrows * g->ncols) * 4;
	int64_t want = target_chunk(g, l, view_h), asked = want, good;
	struct kk_bp_view *vw = all_views(g, err);
	struct cut c, best;
	uint64_t dev = 0, best_dev = 0;
	int64_t n;
	int nvol = 1;
	bool found = false;

	memset(p, 0, sizeof(*p));
	p->device_what = l->device_what;
	if (!vw)
		return err->code;
	if (l->max_chunk && want > l->max_chunk)
		want = l->max_chunk;
	good = min64(want, 8);
	/* Overlap: a large volume in slabs, as many as their windows allow
	 * without reading much more. */
	for (n = OVERLAP_SLABS; l->overlap && !found && n >= 2; n /= 2) {
		if (v->nz < n || slice_h * v->nz < OVERLAP_MIN_BYTES)
			break;
		c.slab = ceil_div(v->nz, n);
		if (bp_fits(g, vw, l, &c, 2, want, &dev) && c.chunk >= good &&
		    (double)(c.items * c.rows) <=
		    OVERLAP_MAX_READ * c.nchunks * g->nrows) {
			best = c;
			best_dev = dev;
			nvol = 2;
			found = true;
		}
	}
	/* The whole volume at once. */
	c.slab = v->nz;
	if (!found && bp_fits(g, vw, l, &c, 1, want, &dev)) {
		best = c;
		best_dev = dev;
		found = true;
	}
	/* Slabs, as few as leave room for chunks of a good size (else as
	 * few as fit at all); two buffers where they fit, one where not. */
	for (n = 2; !found || best.chunk < good; n *= 2) {
		int k;

		c.slab = ceil_div(v->nz, min64(n, v->nz));
		for (k = 2; k >= 1; k--)
			if (bp_fits(g, vw, l, &c, k, want, &dev))
				break;
		if (k >= 1 && (!found || c.chunk > best.chunk)) {
			best = c;
			best_dev = dev;
			nvol = k;
			found = true;
		}
		if (n >= v->nz)
			break;
	}
	if (!found) {
		free(vw);
		/* The last cut tried had the thinnest slabs. */
		if (c.host_bound)
			return too_small(err, "three views of projections",
					 (uint64_t)((3 + l->in_extra) * c.rows *
						    g->ncols * 4), l->host / 2,
					 "host memory");
		return too_small(err, "one slice and two views",
				 (uint64_t)(v->nx * v->ny) * l->vol_es +
				 2 * (uint64_t)(g->nrows * g->ncols) *
				 l->proj_es + FIXED_BYTES, l->device,
				 l->device_what);
	}
	p->fp = false;
	p->slab = best.slab;
	p->nslabs = best.nslabs;
	p->nvol = nvol;
	p->resident = best.nslabs == 1;
	p->chunk = best.chunk;
	p->nchunks = best.nchunks;
	p->chunk_shrunk = l->chunk && p->chunk < asked;
	p->rows = best.rows;
	p->nproj = 2;
	p->device_bytes = best_dev;
	p->nin = 3;
	p->nout = 3;
	p->in_bytes = (uint64_t)(p->chunk * p->rows * g->ncols) * 4;
	p->piece = min64(p->slab, max64(1, (int64_t)(TARGET_PIECE_BYTES /
						     slice_h)));
	p->piece = min64(p->piece, (int64_t)(l->host / 2 / (3 + l->out_extra)
					     / (double)slice_h));
	if (p->piece < 1) {
		free(vw);
		return too_small(err, "three slices of the volume",
				 (uint64_t)((3 + l->out_extra) * slice_h),
				 l->host / 2, "host memory");
	}
	p->out_bytes = (uint64_t)p->piece * slice_h;
	/* One volume buffer: the slab is downloaded whole before the next
	 * one starts, so let the host buffers hold it, if they may. */
	if (p->nvol == 1 && p->nslabs > 1)
		p->nout = (int)max64(3, min64(ceil_div(p->slab, p->piece) + 1,
					      (int64_t)(l->host / 2 /
							p->out_bytes -
							l->out_extra)));
	p->host_bytes = (uint64_t)((3 + l->in_extra) * p->in_bytes +
				   (p->nout + l->out_extra) * p->out_bytes);
	p->read_factor = (double)(best.items * best.rows) /
			 ((double)best.nchunks * g->nrows);
	if (alloc_windows(p, err)) {
		free(vw);
		return err->code;
	}
	cut_windows(g, vw, &best, p->windows);
	free(vw);
	/* Every window p->rows tall, slid to stay on the detector: the
	 * texture is then all data, and rows beyond the detector lie
	 * outside it (zero). */
	for (n = 0; n < p->nslabs * p->nchunks; n++) {
		int64_t *w = p->windows + 2 * n;

		if (w[1] > w[0]) {
			w[0] = min64(w[0], g->nrows - p->rows);
			w[1] = w[0] + p->rows;
		}
	}
	return 0;
}

void kk_plan_release(struct kk_plan *p)
{
	free(p->windows);
	p->windows = NULL;
}

void kk_plan_window(const struct kk_plan *p, int64_t s, int64_t c,
		    int64_t *lo, int64_t *hi)
{
	*lo = p->windows[2 * (s * p->nchunks + c)];
	*hi = p->windows[2 * (s * p->nchunks + c) + 1];
}

void kk_plan_describe(const struct kk_plan *p, char *buf, size_t n)
{
	char dev[32], host[32];

	kk_format_size(p->device_bytes, dev, sizeof(dev));
	kk_format_size(p->host_bytes, host, sizeof(host));
	if (p->fp && p->resident)
		snprintf(buf, n, "the whole volume at once, %lld chunk%s of "
			 "%lld view%s; %s of %s, %s of host buffers",
			 (long long)p->nchunks, p->nchunks == 1 ? "" : "s",
			 (long long)p->chunk, p->chunk == 1 ? "" : "s", dev,
			 p->device_what, host);
	else
		snprintf(buf, n, "%lld slab%s of %lld slice%s x %lld chunk%s "
			 "of %lld view%s%s; %s of %s, %s of host buffers",
			 (long long)p->nslabs,
			 p->nslabs == 1 ? "" : "s", (long long)p->slab,
			 p->slab == 1 ? "" : "s", (long long)p->nchunks,
			 p->nchunks == 1 ? "" : "s", (long long)p->chunk,
			 p->chunk == 1 ? "" : "s",
			 p->fp ? ", the volume read once a chunk" : "", dev,
			 p->device_what, host);
}
