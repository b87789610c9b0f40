/*
 * cpu_proj.c: the reference projectors (see cpu_proj.h for what they
 * compute).  Written for clarity and exactness first: double precision,
 * one ray or one voxel line at a time, no tricks beyond skipping the
 * slices a ray cannot reach.
 */
#include "config.h"
#include "cpu_proj.h"
#include "parallel.h"
#include "vec3.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Element strides of a chunk for the logical axes angle, row, col. */
static void chunk_strides(const struct kk_geometry *g,
			  const struct kk_proj_chunk *c, int64_t stride[3])
{
	int64_t len[3], dims[3];
	int a;

	len[KK_ANGLE] = c->nviews;
	len[KK_ROW] = c->nrows;
	len[KK_COL] = g->ncols;
	for (a = 0; a < 3; a++)
		dims[c->axes.where[a]] = len[a];
	for (a = 0; a < 3; a++) {
		int p = c->axes.where[a];

		stride[a] = p == 2 ? 1 : p == 1 ? dims[2] : dims[1] * dims[2];
	}
}

/* Are the chunk's views and rows and the slab's slices in g? */
static bool in_geometry(const struct kk_geometry *g,
			const struct kk_proj_chunk *c,
			const struct kk_vol_slab *vol, struct kk_error *err)
{
	if (c->view0 >= 0 && c->view0 + c->nviews <= g->nviews &&
	    c->row0 >= 0 && c->row0 + c->nrows <= g->nrows && vol->z0 >= 0 &&
	    vol->z0 + vol->nz <= g->vol.nz)
		return true;
	kk_fail(err, KK_ERUNTIME, "internal error: views %lld + %lld, rows "
		"%lld + %lld or slices %lld + %lld are not in the geometry",
		(long long)c->view0, (long long)c->nviews, (long long)c->row0,
		(long long)c->nrows, (long long)vol->z0, (long long)vol->nz);
	return false;
}

void kk_cpu_run_default(struct kk_cpu_run *run)
{
	memset(run, 0, sizeof(*run));
	run->nthreads = kk_cpu_count();
	run->interp = KK_INTERP_EXACT;
	run->row_lo = 0;
	run->row_hi = INT64_MAX;
}

/*
 * Bilinear interpolation of v00 (at 0, 0), v01 (0, 1), v10 (1, 0) and
 * v11 (1, 1) at fractions fa along the first axis, fb along the second,
 * as enum kk_interp says.
 */
static double bilinear(double v00, double v01, double v10, double v11,
		       double fa, double fb, enum kk_interp interp)
{
	double qa, qb, w11;

	if (interp == KK_INTERP_EXACT)
		return (1 - fa) * ((1 - fb) * v00 + fb * v01) +
		       fa * ((1 - fb) * v10 + fb * v11);
	qa = floor(fa * 256 + 0.5) / 256;
	qb = floor(fb * 256 + 0.5) / 256;
	w11 = floor(qa * qb * 256 + 0.5) / 256;
	return (1 - qa - qb + w11) * v00 + (qb - w11) * v01 +
	       (qa - w11) * v10 + w11 * v11;
}

/* ---- forward projection ------------------------------------------- */

struct fp_ctx {
	const struct kk_geometry *g;
	const struct kk_vol_slab *vol;
	struct kk_proj_chunk *out;
	int64_t stride[3];
	int64_t row_lo, nrows;      /* rows computed */
	const struct kk_cpu_run *run;
	double per_item;            /* progress units */
};

void kk_voxel_index(const struct kk_volume_geom *v, const double *w,
		    double *i)
{
	i[0] = (w[0] - v->xmin) / v->dx - 0.5;
	i[1] = (w[1] - v->ymin) / v->dy - 0.5;
	i[2] = (w[2] - v->zmin) / v->dz - 0.5;
}

/* ASTRA's choice: the axis along which the central ray moves most, in
 * voxel units; x wins ties, then y. */
int kk_fp_axis(const struct kk_geometry *g, const struct kk_view *w)
{
	const struct kk_volume_geom *v = &g->vol;
	double d[3];
	int k;

	for (k = 0; k < 3; k++)
		d[k] = g->cone ? w->det[k] - w->src[k] : w->src[k];
	d[0] = fabs(d[0] / v->dx);
	d[1] = fabs(d[1] / v->dy);
	d[2] = fabs(d[2] / v->dz);
	if (d[0] >= d[1] && d[0] >= d[2])
		return 0;
	if (d[1] >= d[0] && d[1] >= d[2])
		return 1;
	return 2;
}

/*
 * One ray: origin o and direction dir in voxel index units, ray length
 * per unit of index along k in world units.  t_min excludes what lies
 * behind a cone source.  Voxels outside the slab count as zero.
 */
static double trace(const struct kk_volume_geom *v,
		    const struct kk_vol_slab *vol, int k, const double *o,
		    const double *dir, double len, double t_min,
		    enum kk_interp interp)
{
	const int64_t lo3[3] = {0, 0, vol->z0};
	const int64_t hi3[3] = {v->nx, v->ny, vol->z0 + vol->nz};
	const int64_t stride[3] = {1, v->nx, v->nx * v->ny};
	const int64_t origin = vol->z0 * stride[2];
	int a = k == 0 ? 1 : 0, b = k == 2 ? 1 : 2;
	double da, db, a0, b0, lo, hi, sum = 0;
	int64_t j, j0, j1;

	if (dir[k] == 0)
		return 0;
	/* Along the ray: coordinate a = a0 + j da in slice j, likewise b. */
	da = dir[a] / dir[k];
	db = dir[b] / dir[k];
	a0 = o[a] - o[k] * da;
	b0 = o[b] - o[k] * db;
	lo = (double)lo3[k];
	hi = (double)(hi3[k] - 1);
	/* Slices where the sample is within one voxel of the slab. */
	if (da != 0) {
		double s0 = (lo3[a] - 1 - a0) / da, s1 = (hi3[a] - a0) / da;

		lo = fmax(lo, fmin(s0, s1));
		hi = fmin(hi, fmax(s0, s1));
	} else if (a0 <= lo3[a] - 1 || a0 >= hi3[a]) {
		return 0;
	}
	if (db != 0) {
		double s0 = (lo3[b] - 1 - b0) / db, s1 = (hi3[b] - b0) / db;

		lo = fmax(lo, fmin(s0, s1));
		hi = fmin(hi, fmax(s0, s1));
	} else if (b0 <= lo3[b] - 1 || b0 >= hi3[b]) {
		return 0;
	}
	/* Cone: only in front of the source (t > t_min). */
	if (dir[k] > 0)
		lo = fmax(lo, o[k] + t_min * dir[k]);
	else
		hi = fmin(hi, o[k] + t_min * dir[k]);
	if (lo > hi)
		return 0;
	j0 = (int64_t)floor(lo);
	j1 = (int64_t)ceil(hi);
	if (j0 < lo3[k])
		j0 = lo3[k];
	if (j1 > hi3[k] - 1)
		j1 = hi3[k] - 1;
	if (dir[k] > 0 && t_min > -INFINITY && j0 < o[k] + t_min * dir[k])
		j0++;
	else if (dir[k] < 0 && t_min > -INFINITY &&
		 j1 > o[k] + t_min * dir[k])
		j1--;
	for (j = j0; j <= j1; j++) {
		double pa = a0 + j * da, pb = b0 + j * db;
		double ia = floor(pa), ib = floor(pb);
		double fa = pa - ia, fb = pb - ib;
		int64_t xa = (int64_t)ia, xb = (int64_t)ib;
		const int64_t base = j * stride[k] - origin;
		const float *s = vol->data;
		double v00 = 0, v01 = 0, v10 = 0, v11 = 0;
		bool a_in = xa >= lo3[a] && xa < hi3[a];
		bool a1_in = xa + 1 >= lo3[a] && xa + 1 < hi3[a];
		bool b_in = xb >= lo3[b] && xb < hi3[b];
		bool b1_in = xb + 1 >= lo3[b] && xb + 1 < hi3[b];

		if (a_in && b_in)
			v00 = s[base + xa * stride[a] + xb * stride[b]];
		if (a_in && b1_in)
			v01 = s[base + xa * stride[a] + (xb + 1) * stride[b]];
		if (a1_in && b_in)
			v10 = s[base + (xa + 1) * stride[a] + xb * stride[b]];
		if (a1_in && b1_in)
			v11 = s[base + (xa + 1) * stride[a] +
				(xb + 1) * stride[b]];
		sum += bilinear(v00, v01, v10, v11, fa, fb, interp);
	}
	return sum * len;
}

/* Items are (view, row) pairs of the chunk: one detector row each. */
static void fp_rows(void *arg, int64_t begin, int64_t end)
{
	struct fp_ctx *c = arg;
	const struct kk_geometry *g = c->g;
	const struct kk_volume_geom *v = &g->vol;
	int64_t item, col;

	for (item = begin; item < end; item++) {
		int64_t lv = item / c->nrows;
		int64_t row = c->row_lo + item % c->nrows;
		const struct kk_view *w = &g->views[c->out->view0 + lv];
		float *out = c->out->data + lv * c->stride[KK_ANGLE] +
			     (row - c->out->row0) * c->stride[KK_ROW];
		int k = kk_fp_axis(g, w), i;
		double vr = row - 0.5 * g->nrows + 0.5, o[3];

		if (g->cone)
			kk_voxel_index(v, w->src, o);
		for (col = 0; col < g->ncols; col++) {
			double uc = col - 0.5 * g->ncols + 0.5;
			double p[3], dw[3], di[3], len;
			float sum;

			for (i = 0; i < 3; i++)
				p[i] = w->det[i] + uc * w->u[i] + vr * w->v[i];
			if (g->cone) {
				for (i = 0; i < 3; i++)
					dw[i] = p[i] - w->src[i];
			} else {
				memcpy(dw, w->src, sizeof(dw));
				kk_voxel_index(v, p, o);
			}
			di[0] = dw[0] / v->dx;
			di[1] = dw[1] / v->dy;
			di[2] = dw[2] / v->dz;
			len = di[k] != 0 ? sqrt(kk_dot(dw, dw)) / fabs(di[k]) : 0;
			sum = (float)trace(v, c->vol, k, o, di, len,
					   g->cone ? 0 : -INFINITY,
					   c->run->interp);
			if (c->run->accumulate)
				out[col * c->stride[KK_COL]] += sum;
			else
				out[col * c->stride[KK_COL]] = sum;
		}
		if (c->run->progress)
			kk_progress_add(c->run->progress, c->per_item);
	}
}

int kk_cpu_fp_slab(const struct kk_geometry *g, const struct kk_vol_slab *vol,
		   struct kk_proj_chunk *out, const struct kk_cpu_run *run,
		   struct kk_error *err)
{
	struct fp_ctx c;
	int64_t lo = run->row_lo > out->row0 ? run->row_lo : out->row0;
	int64_t hi = out->row0 + out->nrows;

	if (run->row_hi < hi)
		hi = run->row_hi;
	if (!in_geometry(g, out, vol, err))
		return err->code;
	memset(&c, 0, sizeof(c));
	c.g = g;
	c.vol = vol;
	c.out = out;
	c.run = run;
	c.row_lo = lo;
	c.nrows = hi > lo ? hi - lo : 0;
	chunk_strides(g, out, c.stride);
	if (c.nrows == 0 || out->nviews == 0) {
		if (run->progress)
			kk_progress_add(run->progress, run->units);
		return 0;
	}
	c.per_item = run->units / (double)(out->nviews * c.nrows);
	return kk_parallel_for(out->nviews * c.nrows, run->nthreads, fp_rows,
			       &c, err);
}

int kk_cpu_fp(const struct kk_geometry *g, const float *vol,
	      struct kk_proj_chunk *out, int nthreads,
	      struct kk_progress *progress, struct kk_error *err)
{
	return kk_cpu_fp_interp(g, vol, out, nthreads, KK_INTERP_EXACT,
				progress, err);
}

int kk_cpu_fp_interp(const struct kk_geometry *g, const float *vol,
		     struct kk_proj_chunk *out, int nthreads,
		     enum kk_interp interp, struct kk_progress *progress,
		     struct kk_error *err)
{
	struct kk_vol_slab slab = {(float *)vol, 0, g->vol.nz};
	struct kk_cpu_run run;

	kk_cpu_run_default(&run);
	run.nthreads = nthreads;
	run.interp = interp;
	run.progress = progress;
	run.units = (double)out->nviews;
	return kk_cpu_fp_slab(g, &slab, out, &run, err);
}

int64_t kk_fp_steep_views(const struct kk_geometry *g)
{
	const struct kk_volume_geom *v = &g->vol;
	int64_t i, steep = 0;
	int corner, k, a;

	for (i = 0; i < g->nviews; i++) {
		const struct kk_view *w = &g->views[i];
		bool is_steep = false;

		k = kk_fp_axis(g, w);
		for (corner = 0; corner < 4 && !is_steep; corner++) {
			double uc = (corner & 1 ? 0.5 : -0.5) * g->ncols;
			double vr = (corner & 2 ? 0.5 : -0.5) * g->nrows;
			double d[3];

			for (a = 0; a < 3; a++) {
				d[a] = w->det[a] + uc * w->u[a] + vr * w->v[a];
				if (g->cone)
					d[a] -= w->src[a];
				else
					d[a] = w->src[a];
			}
			d[0] = fabs(d[0] / v->dx);
			d[1] = fabs(d[1] / v->dy);
			d[2] = fabs(d[2] / v->dz);
			for (a = 0; a < 3; a++)
				if (a != k && d[a] > 4 * d[k])
					is_steep = true;
		}
		steep += is_steep;
	}
	return steep;
}

/* ---- backprojection ----------------------------------------------- */

static void affine(double *f, const double *coef, double scale,
		   const double *origin)
{
	f[0] = coef[0] * scale;
	f[1] = coef[1] * scale;
	f[2] = coef[2] * scale;
	f[3] = -kk_dot(coef, origin) * scale;
}

void kk_bp_view_setup(const struct kk_geometry *g, const struct kk_view *w,
		      struct kk_bp_view *b)
{
	const struct kk_volume_geom *vol = &g->vol;
	double n[3], vn[3], nu[3], nn, voxel = vol->dx * vol->dy * vol->dz;
	int i;

	kk_cross(w->u, w->v, n);
	kk_cross(w->v, n, vn);
	kk_cross(n, w->u, nu);
	nn = kk_dot(n, n);
	b->scale = voxel / sqrt(nn);
	if (!g->cone) {
		/* Project x - d along the ray onto the detector plane. */
		double rvn = kk_dot(w->src, vn) / kk_dot(n, w->src);
		double rnu = kk_dot(w->src, nu) / kk_dot(n, w->src);
		double A[3], B[3];

		for (i = 0; i < 3; i++) {
			A[i] = vn[i] - n[i] * rvn;
			B[i] = nu[i] - n[i] * rnu;
		}
		affine(b->U, A, 1 / nn, w->det);
		affine(b->V, B, 1 / nn, w->det);
		b->D[0] = b->D[1] = b->D[2] = 0;
		b->D[3] = 1;
		b->K = 1;
		b->power = 0;
		return;
	}
	/* Cone: intersect the line from s through x with the plane. */
	{
		double sd[3], ca, cb, K, A[3], B[3];

		for (i = 0; i < 3; i++)
			sd[i] = w->src[i] - w->det[i];
		K = -kk_dot(n, sd);        /* n.(d - s) */
		ca = kk_dot(sd, vn);       /* ((s - d) x v).n */
		cb = kk_dot(sd, nu);       /* (u x (s - d)).n */
		for (i = 0; i < 3; i++) {
			A[i] = ca * n[i] + K * vn[i];
			B[i] = cb * n[i] + K * nu[i];
		}
		affine(b->U, A, 1 / nn, w->src);
		affine(b->V, B, 1 / nn, w->src);
		affine(b->D, n, 1, w->src);
		b->K = K;
		b->power = g->is_2d ? 1 : 2;
	}
}

struct bp_ctx {
	const struct kk_geometry *g;
	const struct kk_proj_chunk *in;
	struct kk_vol_slab *vol;
	struct kk_bp_view *views;
	int64_t stride[3];
	const struct kk_cpu_run *run;
	double per_line;
};

/* Bilinear sample of one view's image, zero outside it. */
static double sample(const float *img, int64_t srow, int64_t scol,
		     int64_t nrows, int64_t ncols, double row, double col,
		     enum kk_interp interp)
{
	double ir, ic, fr, fc, v00 = 0, v01 = 0, v10 = 0, v11 = 0;
	int64_t r, c;
	bool r0, r1, c0, c1;

	/* Off the image (NaN too): zero, and no cast of a huge value. */
	if (!(row > -1 && row < nrows && col > -1 && col < ncols))
		return 0;
	ir = floor(row);
	ic = floor(col);
	fr = row - ir;
	fc = col - ic;
	r = (int64_t)ir;
	c = (int64_t)ic;
	r0 = r >= 0;
	r1 = r + 1 < nrows;
	c0 = c >= 0;
	c1 = c + 1 < ncols;

	if (r0 && c0)
		v00 = img[r * srow + c * scol];
	if (r0 && c1)
		v01 = img[r * srow + (c + 1) * scol];
	if (r1 && c0)
		v10 = img[(r + 1) * srow + c * scol];
	if (r1 && c1)
		v11 = img[(r + 1) * srow + (c + 1) * scol];
	return bilinear(v00, v01, v10, v11, fr, fc, interp);
}

/* Items are (z, y) lines of the slab. */
static void bp_lines(void *arg, int64_t begin, int64_t end)
{
	struct bp_ctx *c = arg;
	const struct kk_geometry *g = c->g;
	const struct kk_volume_geom *vol = &g->vol;
	double *acc = malloc((size_t)vol->nx * sizeof(*acc));
	/* Row coordinates of the chunk's own rows. */
	double cu = 0.5 * g->ncols - 0.5;
	double cv = 0.5 * g->nrows - 0.5 - c->in->row0;
	int64_t item, lv, ix;

	if (!acc)
		abort(); /* a line of doubles; nothing sane to do */
	for (item = begin; item < end; item++) {
		int64_t iz = c->vol->z0 + item / vol->ny, iy = item % vol->ny;
		double x[3];
		float *out = c->vol->data + item * vol->nx;

		x[1] = vol->ymin + (iy + 0.5) * vol->dy;
		x[2] = vol->zmin + (iz + 0.5) * vol->dz;
		memset(acc, 0, (size_t)vol->nx * sizeof(*acc));
		for (lv = 0; lv < c->in->nviews; lv++) {
			const struct kk_bp_view *b = &c->views[lv];
			const float *img = c->in->data +
					   lv * c->stride[KK_ANGLE];

			for (ix = 0; ix < vol->nx; ix++) {
				double u, v, d, m, wgt;

				x[0] = vol->xmin + (ix + 0.5) * vol->dx;
				u = kk_dot(b->U, x) + b->U[3];
				v = kk_dot(b->V, x) + b->V[3];
				d = kk_dot(b->D, x) + b->D[3];
				/* Behind the source, or in its plane. */
				if (!(b->K * d > 0))
					continue;
				m = b->K / d;
				wgt = b->scale;
				if (b->power >= 1)
					wgt *= m;
				if (b->power == 2)
					wgt *= m;
				acc[ix] += wgt * sample(img,
					c->stride[KK_ROW], c->stride[KK_COL],
					c->in->nrows, g->ncols, v / d + cv,
					u / d + cu, c->run->interp);
			}
		}
		for (ix = 0; ix < vol->nx; ix++)
			out[ix] += (float)acc[ix];
		if (c->run->progress)
			kk_progress_add(c->run->progress, c->per_line);
	}
	free(acc);
}

int kk_cpu_bp_slab(const struct kk_geometry *g,
		   const struct kk_proj_chunk *in, struct kk_vol_slab *vol,
		   const struct kk_cpu_run *run, struct kk_error *err)
{
	struct bp_ctx c;
	int64_t i, lines = vol->nz * g->vol.ny;
	int rc;

	if (!in_geometry(g, in, vol, err))
		return err->code;
	memset(&c, 0, sizeof(c));
	c.g = g;
	c.in = in;
	c.vol = vol;
	c.run = run;
	chunk_strides(g, in, c.stride);
	if (lines == 0 || in->nviews == 0 || in->nrows == 0) {
		if (run->progress)
			kk_progress_add(run->progress, run->units);
		return 0;
	}
	c.per_line = run->units / (double)lines;
	c.views = malloc((size_t)in->nviews * sizeof(*c.views));
	if (!c.views)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	for (i = 0; i < in->nviews; i++) {
		kk_bp_view_setup(g, &g->views[in->view0 + i], &c.views[i]);
		if (run->fdk && c.views[i].power == 1)
			c.views[i].power = 2;
	}
	rc = kk_parallel_for(lines, run->nthreads, bp_lines, &c, err);
	free(c.views);
	return rc;
}

int kk_cpu_bp(const struct kk_geometry *g, const struct kk_proj_chunk *in,
	      float *vol, int nthreads, struct kk_progress *progress,
	      struct kk_error *err)
{
	return kk_cpu_bp_interp(g, in, vol, nthreads, KK_INTERP_EXACT,
				progress, err);
}

int kk_cpu_bp_interp(const struct kk_geometry *g,
		     const struct kk_proj_chunk *in, float *vol, int nthreads,
		     enum kk_interp interp, struct kk_progress *progress,
		     struct kk_error *err)
{
	struct kk_vol_slab slab = {vol, 0, g->vol.nz};
	struct kk_cpu_run run;

	kk_cpu_run_default(&run);
	run.nthreads = nthreads;
	run.interp = interp;
	run.progress = progress;
	run.units = (double)in->nviews;
	return kk_cpu_bp_slab(g, in, &slab, &run, err);
}
