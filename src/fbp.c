/*
 * fbp.c: the weights and filter of kkit fbp, and their CPU application
 * (see fbp.h; the GPU's is gpu_fbp.c, with the same per-pixel weight
 * from kernels/kk_fbp.cuh).
 */
#include "config.h"
#include "fbp.h"
#include "cpu_proj.h"
#include "parallel.h"
#include "vec3.h"
#include "kk_fbp.cuh"

#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEG(x) ((x) * 180 / M_PI)

void kk_fbp_opts_default(struct kk_fbp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->filter = KK_FILTER_RAM_LAK;
	o->cutoff = 1;
	o->padding = 2;
	o->short_scan = KK_SHORT_SCAN_AUTO;
}

int kk_short_scan_parse(const char *s, enum kk_short_scan *m,
			struct kk_error *err)
{
	if (!strcmp(s, "auto"))
		*m = KK_SHORT_SCAN_AUTO;
	else if (!strcmp(s, "on"))
		*m = KK_SHORT_SCAN_ON;
	else if (!strcmp(s, "off"))
		*m = KK_SHORT_SCAN_OFF;
	else
		return kk_fail(err, KK_EUSAGE, "--short-scan '%s': expected "
			       "auto, on or off", s);
	return 0;
}

/* ---- where the views are ------------------------------------------- */

struct angle {
	double a;
	int64_t view;
};

static int by_angle(const void *x, const void *y)
{
	const struct angle *p = x, *q = y;

	return p->a < q->a ? -1 : p->a > q->a ? 1 : 0;
}

static int by_value(const void *x, const void *y)
{
	double p = *(const double *)x, q = *(const double *)y;

	return p < q ? -1 : p > q ? 1 : 0;
}

/* The views' spread over one period of their angles. */
struct spread {
	double *step;        /* per view: its share of the angle */
	double *beta;        /* per view: from the start of the scan */
	double coverage;     /* what the views cover, <= period */
	bool full;           /* no gap wider than 3 mean steps */
};

/* Angles a (radians, any turn) of n views, taken modulo period. */
static int spread_views(const double *a, int64_t n, double period,
			const char *name, struct spread *s,
			struct kk_error *err)
{
	struct angle *v = malloc((size_t)n * sizeof(*v));
	double *gap = malloc((size_t)n * sizeof(*gap));
	double *nz = malloc((size_t)n * sizeof(*nz));
	double big = -1, typical, start;
	int64_t i, k, nnz = 0, jbig = 0;
	int rc = 0;

	s->step = calloc((size_t)n, sizeof(double));
	s->beta = calloc((size_t)n, sizeof(double));
	if (!v || !gap || !nz || !s->step || !s->beta) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory for the angles "
			     "of %lld views", (long long)n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		v[i].a = fmod(a[i], period);
		if (v[i].a < 0)
			v[i].a += period;
		v[i].view = i;
	}
	qsort(v, (size_t)n, sizeof(*v), by_angle);
	for (k = 0; k < n; k++) {
		gap[k] = k + 1 < n ? v[k + 1].a - v[k].a
				   : v[0].a + period - v[k].a;
		if (gap[k] > big) {
			big = gap[k];
			jbig = k;
		}
		if (gap[k] > 1e-9 * period)
			nz[nnz++] = gap[k];
	}
	/* One view, or all at one angle: there is no scan. */
	if (nnz < 2) {
		rc = kk_fail(err, KK_EINPUT, "'%s': fbp needs views at two "
			     "angles at least; every view is at %.3f degrees",
			     name, DEG(v[0].a));
		goto out;
	}
	qsort(nz, (size_t)nnz, sizeof(*nz), by_value);
	typical = nz[nnz / 2];
	/* The period is covered when no gap is much wider than the mean
	 * one: golden-angle gaps differ by up to 2.6 times, a dropped
	 * view leaves 2 steps, several drifting turns make most gaps
	 * small; a scan that stops short leaves a gap of many steps. */
	s->full = big <= 3 * period / (double)n;
	if (s->full) {
		for (k = 0; k < n; k++)
			s->step[v[k].view] = 0.5 * (gap[(k + n - 1) % n] +
						     gap[k]);
		s->coverage = period;
		jbig = n - 1;
	}
	/* The scan runs from the view after the widest gap to the one
	 * before it; its ends count as a typical step beyond them. */
	start = v[(jbig + 1) % n].a;
	for (i = 0; i < n; i++) {
		k = (jbig + 1 + i) % n;
		s->beta[v[k].view] = fmod(v[k].a - start + period, period) +
				     0.5 * typical;
		if (s->full)
			continue;
		s->step[v[k].view] =
			0.5 * ((i == 0 ? typical : gap[(k + n - 1) % n]) +
			       (i == n - 1 ? typical : gap[k]));
	}
	if (!s->full)
		s->coverage = period - big + typical;
out:
	free(v);
	free(gap);
	free(nz);
	if (rc) {
		free(s->step);
		free(s->beta);
		s->step = s->beta = NULL;
	}
	return rc;
}

/* ---- checks and weights -------------------------------------------- */

/* How far (the tolerance, relative) a view may stray from the circle
 * or the plane that the formulas assume. */
#define TOL 1e-3

static int check_parallel(const struct kk_geometry *g, struct kk_error *err)
{
	int64_t i;

	for (i = 0; i < g->nviews; i++) {
		const double *r = g->views[i].src;

		if (fabs(r[2]) > TOL * kk_norm(r))
			return kk_fail(err, KK_EINPUT, "'%s': view %lld's rays "
				       "are not perpendicular to the z axis "
				       "(%.3g of their direction is along z); "
				       "fbp rotates about z (for a tilted or "
				       "laminographic scan use kkit sirt or "
				       "kkit cgls)",
				       g->name, (long long)i,
				       fabs(r[2]) / kk_norm(r));
	}
	return 0;
}

static int check_circle(const struct kk_geometry *g, struct kk_error *err)
{
	const double *s0 = g->views[0].src;
	double r0 = hypot(s0[0], s0[1]);
	int64_t i;

	if (r0 <= 0)
		return kk_fail(err, KK_EINPUT, "'%s': view 0's source is on "
			       "the z axis; fbp needs it to circle the axis",
			       g->name);
	for (i = 1; i < g->nviews; i++) {
		const double *s = g->views[i].src;
		double r = hypot(s[0], s[1]);

		if (fabs(r - r0) > TOL * r0 || fabs(s[2] - s0[2]) > TOL * r0)
			return kk_fail(err, KK_EINPUT, "'%s': view %lld's "
				       "source is %g from the z axis at z = %g, "
				       "view 0's %g at z = %g: FDK needs a "
				       "circular trajectory about the z axis "
				       "(for a helix or another path use kkit "
				       "sirt or kkit cgls)", g->name,
				       (long long)i, r, s[2], r0, s0[2]);
	}
	return 0;
}

/* Warn once when a detector's columns are not across the z axis: the
 * filter runs along the rows. */
static void check_tilt(const struct kk_geometry *g)
{
	int64_t i;

	if (g->is_2d)
		return;
	for (i = 0; i < g->nviews; i++) {
		const double *v = g->views[i].v;
		double t = acos(fmin(1, fabs(v[2]) / kk_norm(v)));

		if (t > M_PI / 180) {
			kk_msg_warn("'%s': view %lld's detector is tilted "
				    "%.1f degrees from the z axis; fbp "
				    "filters along its rows all the same",
				    g->name, (long long)i, DEG(t));
			return;
		}
	}
}

/* Unit normal of the detector, pointing away from the source. */
static void detector_normal(const struct kk_view *w, double *n)
{
	double d[3], len;
	int k;

	kk_cross(w->u, w->v, n);
	for (k = 0; k < 3; k++)
		d[k] = w->det[k] - w->src[k];
	len = kk_dot(n, d) < 0 ? -kk_norm(n) : kk_norm(n);
	for (k = 0; k < 3; k++)
		n[k] /= len;
}

/* Parameters of a divergent beam's view (kk_fbp.cuh); weight is the
 * angular step times redundancy. */
static void cone_params(const struct kk_geometry *g, const struct kk_view *w,
			double weight, double beta, float *p)
{
	struct kk_bp_view b;
	double n[3], a[3], sdd, sod, mag, rs;
	int k;

	kk_bp_view_setup(g, w, &b);
	detector_normal(w, n);
	for (k = 0; k < 3; k++)
		a[k] = w->det[k] - w->src[k] +
		       (0.5 - 0.5 * g->ncols) * w->u[k] +
		       (0.5 - 0.5 * g->nrows) * w->v[k];
	sdd = n[0] * (w->det[0] - w->src[0]) + n[1] * (w->det[1] -
	      w->src[1]) + n[2] * (w->det[2] - w->src[2]);
	sod = -(n[0] * w->src[0] + n[1] * w->src[1]);
	mag = sdd / sod;
	rs = hypot(w->src[0], w->src[1]);
	memset(p, 0, KK_FBP_NPAR * sizeof(*p));
	/* bp weights by scale (sdd / U)^2 = scale mag^2 (sod / U)^2, FDK
	 * wants (sod / U)^2 over a virtual pixel of |u| / mag. */
	p[0] = (float)(weight / (b.scale * mag * kk_norm(w->u)));
	for (k = 0; k < 3; k++) {
		p[1 + k] = (float)a[k];
		p[4 + k] = (float)w->u[k];
		p[7 + k] = (float)w->v[k];
	}
	p[10] = (float)sdd;
	p[11] = (float)beta;
	p[12] = (float)(-w->src[0] / rs);
	p[13] = (float)(-w->src[1] / rs);
}

static void parallel_params(const struct kk_geometry *g,
			    const struct kk_view *w, double weight, float *p)
{
	struct kk_bp_view b;
	double r[3], up[3], ur;
	int k;

	kk_bp_view_setup(g, w, &b);
	for (k = 0; k < 3; k++)
		r[k] = w->src[k] / kk_norm(w->src);
	/* The pixel width across the rays. */
	ur = kk_dot(w->u, r);
	for (k = 0; k < 3; k++)
		up[k] = w->u[k] - ur * r[k];
	memset(p, 0, KK_FBP_NPAR * sizeof(*p));
	p[0] = (float)(weight / (b.scale * kk_norm(up)));
}

/* The widest fan angle of any view's central detector row. */
static double fan_angle(const struct kk_fbp *f, const struct kk_geometry *g)
{
	double fan = 0;
	int64_t i, c;

	for (i = 0; i < g->nviews; i++) {
		const float *p = f->params + i * KK_FBP_NPAR;
		double row = 0.5 * (g->nrows - 1);

		for (c = 0; c < g->ncols; c += g->ncols - 1) {
			double t = fabs(kk_fbp_gamma(p, (float)row,
						     (float)c));

			fan = t > fan ? t : fan;
			if (g->ncols == 1)
				break;
		}
	}
	return fan;
}

static int view_weights(struct kk_fbp *f, const struct kk_geometry *g,
			struct kk_error *err)
{
	double *angle = malloc((size_t)g->nviews * sizeof(double));
	double period = f->cone ? 2 * M_PI : M_PI, redundancy = 1;
	struct spread s = {0};
	int64_t i;
	int rc;

	if (!angle)
		return kk_fail(err, KK_ENOMEM, "out of memory for the angles "
			       "of %lld views", (long long)g->nviews);
	for (i = 0; i < g->nviews; i++) {
		const double *d = g->views[i].src;

		angle[i] = atan2(d[1], d[0]);
	}
	rc = spread_views(angle, g->nviews, period, g->name, &s, err);
	free(angle);
	if (rc)
		return rc;
	f->coverage = s.coverage;
	if (f->cone && s.full) {
		redundancy = 0.5;   /* every ray twice in a turn */
		if (f->opts.short_scan == KK_SHORT_SCAN_ON)
			kk_msg_warn("'%s': the views cover a full turn: no "
				    "short-scan weights", g->name);
	} else if (f->cone && f->opts.short_scan == KK_SHORT_SCAN_OFF) {
		redundancy = M_PI / s.coverage;
	} else if (f->cone && s.coverage > M_PI) {
		f->parker = true;
		f->delta = 0.5 * (s.coverage - M_PI);
	}
	for (i = 0; i < g->nviews; i++) {
		double wt = s.step[i] * redundancy;

		if (f->cone)
			cone_params(g, &g->views[i], wt, s.beta[i],
				    f->params + i * KK_FBP_NPAR);
		else
			parallel_params(g, &g->views[i], wt,
					f->params + i * KK_FBP_NPAR);
	}
	free(s.step);
	free(s.beta);
	if (f->cone)
		f->fan = fan_angle(f, g);
	if (!f->cone && !s.full)
		kk_msg_warn("'%s': the views cover %.1f degrees of the 180 "
			    "a parallel beam needs; the missing angles blur "
			    "the reconstruction", g->name, DEG(s.coverage));
	else if (f->cone && !s.full &&
		 s.coverage < M_PI + 2 * f->fan - 1e-9)
		kk_msg_warn("'%s': the views cover %.1f degrees, less than "
			    "180 plus the fan angle (%.1f): some rays are "
			    "missing", g->name, DEG(s.coverage),
			    DEG(2 * f->fan));
	return 0;
}

int kk_fbp_setup(struct kk_fbp *f, const struct kk_geometry *g,
		 const struct kk_fbp_opts *o, struct kk_error *err)
{
	int64_t want;
	int rc;

	memset(f, 0, sizeof(*f));
	f->opts = *o;
	f->cone = g->cone;
	f->ncols = g->ncols;
	f->nviews = g->nviews;
	rc = f->cone ? check_circle(g, err) : check_parallel(g, err);
	if (rc)
		return rc;
	check_tilt(g);
	want = (int64_t)ceil(o->padding * (double)g->ncols);
	f->length = kk_fft_length(want > g->ncols ? want : g->ncols);
	f->nfreq = f->length / 2 + 1;
	f->response = malloc((size_t)f->nfreq * sizeof(float));
	f->params = malloc((size_t)g->nviews * KK_FBP_NPAR * sizeof(float));
	if (!f->response || !f->params) {
		kk_fbp_release(f);
		return kk_fail(err, KK_ENOMEM, "out of memory for the "
			       "weights of %lld views", (long long)g->nviews);
	}
	rc = kk_filter_response(o->filter, o->cutoff, f->length, f->response,
				err);
	if (!rc)
		rc = view_weights(f, g, err);
	if (rc)
		kk_fbp_release(f);
	return rc;
}

void kk_fbp_release(struct kk_fbp *f)
{
	free(f->response);
	free(f->params);
	memset(f, 0, sizeof(*f));
}

void kk_fbp_describe(const struct kk_fbp *f, char *buf, size_t n)
{
	char cut[32] = "";

	if (f->opts.cutoff < 1)
		snprintf(cut, sizeof(cut), " (cutoff %.2f)", f->opts.cutoff);
	snprintf(buf, n, "%s filter%s, rows padded to %lld, views cover "
		 "%.1f degrees%s", kk_filter_name(f->opts.filter), cut,
		 (long long)f->length, DEG(f->coverage),
		 f->parker ? ", Parker's short-scan weights" : "");
}

/* ---- on the CPU ---------------------------------------------------- */

struct filter_ctx {
	const struct kk_fbp *f;
	float *data;
	int out_of_memory;          /* a thread could not get its row */
	bool angle_first;
	int64_t view0, nviews, row0, nrows;
	fftwf_plan forward, inverse;
};

static void filter_lines(void *arg, int64_t begin, int64_t end)
{
	struct filter_ctx *c = arg;
	const struct kk_fbp *f = c->f;
	float *buf = fftwf_malloc((size_t)(f->length + 2) * sizeof(float));
	fftwf_complex *spec = (fftwf_complex *)buf;
	int64_t line, k;

	if (!buf) {
		__atomic_store_n(&c->out_of_memory, 1, __ATOMIC_RELAXED);
		return;
	}
	for (line = begin; line < end; line++) {
		int64_t v = c->angle_first ? line / c->nrows : line % c->nviews;
		int64_t r = c->angle_first ? line % c->nrows : line / c->nviews;
		const float *p = f->params + (c->view0 + v) * KK_FBP_NPAR;
		float *row = c->data + line * f->ncols;

		for (k = 0; k < f->ncols; k++)
			buf[k] = row[k] * kk_fbp_weight(p, (float)(c->row0 + r),
							(float)k, f->parker,
							(float)f->delta);
		memset(buf + f->ncols, 0, (size_t)(f->length + 2 - f->ncols) *
		       sizeof(float));
		fftwf_execute_dft_r2c(c->forward, buf, spec);
		for (k = 0; k < f->nfreq; k++) {
			spec[k][0] *= f->response[k];
			spec[k][1] *= f->response[k];
		}
		fftwf_execute_dft_c2r(c->inverse, spec, buf);
		memcpy(row, buf, (size_t)f->ncols * sizeof(float));
	}
	fftwf_free(buf);
}

int kk_fbp_filter_cpu(const struct kk_fbp *f, float *data,
		      const struct kk_axes *axes, int64_t view0,
		      int64_t nviews, int64_t row0, int64_t nrows,
		      int nthreads, struct kk_error *err)
{
	struct filter_ctx c;
	float *buf;
	int rc;

	memset(&c, 0, sizeof(c));
	c.f = f;
	c.data = data;
	c.angle_first = axes->where[KK_ANGLE] < axes->where[KK_ROW];
	c.view0 = view0;
	c.nviews = nviews;
	c.row0 = row0;
	c.nrows = nrows;
	/* Planning is not thread safe in FFTW: here, on the caller's
	 * thread; the threads execute the plans on their own rows. */
	buf = fftwf_malloc((size_t)(f->length + 2) * sizeof(float));
	if (!buf)
		return kk_fail(err, KK_ENOMEM, "out of memory for a row of "
			       "%lld samples to filter", (long long)f->length);
	c.forward = fftwf_plan_dft_r2c_1d((int)f->length, buf,
					  (fftwf_complex *)buf,
					  FFTW_ESTIMATE);
	c.inverse = fftwf_plan_dft_c2r_1d((int)f->length,
					  (fftwf_complex *)buf, buf,
					  FFTW_ESTIMATE);
	fftwf_free(buf);
	if (!c.forward || !c.inverse)
		rc = kk_fail(err, KK_ENOMEM, "FFTW cannot plan a transform "
			     "of %lld samples", (long long)f->length);
	else
		rc = kk_parallel_for(nviews * nrows, nthreads, filter_lines,
				     &c, err);
	if (!rc && c.out_of_memory)
		rc = kk_fail(err, KK_ENOMEM, "out of memory for a row of "
			     "%lld samples to filter", (long long)f->length);
	if (c.forward)
		fftwf_destroy_plan(c.forward);
	if (c.inverse)
		fftwf_destroy_plan(c.inverse);
	return rc;
}
