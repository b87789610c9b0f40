/*
 * check_proj.c: the CPU reference projectors against exact answers.
 *
 *  - fp of a ball and of a cube against their exact chord lengths;
 *  - a single voxel: its line integral and its mass;
 *  - bp scaling against ASTRA's weights, worked out by hand;
 *  - the adjoint test <Ax, y> ~ <x, A'y> on random data, every type;
 *  - axis orders, chunks and thread counts change nothing.
 *
 * Each bound is stated where it is checked, with what it allows for.
 */
#include "config.h"
#include "cpu_proj.h"
#include "enginetest.h"
#include "phantom.h"
#include "plan.h"
#include "testutil.h"

#define THREADS 2

static float *fp_all(const struct kk_geometry *g, const float *vol,
		     const struct kk_axes *axes)
{
	struct kk_error err = {0};
	struct kk_proj_chunk c;

	c.data = tu_floats(g->nviews * g->nrows * g->ncols);
	c.view0 = 0;
	c.nviews = g->nviews;
	c.row0 = 0;
	c.nrows = g->nrows;
	c.axes = *axes;
	ck_assert_msg(kk_cpu_fp(g, vol, &c, THREADS, NULL, &err) == 0, "%s",
		      err.msg);
	return c.data;
}

static float *bp_all(const struct kk_geometry *g, float *proj,
		     const struct kk_axes *axes)
{
	int64_t n = g->vol.nx * g->vol.ny * g->vol.nz;
	struct kk_error err = {0};
	struct kk_proj_chunk c = {proj, 0, g->nviews, 0, g->nrows, *axes};
	float *vol = tu_floats(n);

	memset(vol, 0, n * sizeof(float));
	ck_assert_msg(kk_cpu_bp(g, &c, vol, THREADS, NULL, &err) == 0, "%s",
		      err.msg);
	return vol;
}

static float *phantom(const struct kk_geometry *g, enum kk_phantom_kind k,
		      double size, int supersample)
{
	struct kk_phantom_opts o = {k, size, supersample, 7};
	struct kk_error err = {0};
	float *vol = tu_floats(g->vol.nx * g->vol.ny * g->vol.nz);

	ck_assert(kk_phantom_fill(g, &o, 0, g->vol.nz, vol, THREADS,
				  &err) == 0);
	return vol;
}

/* Centre of detector pixel (r, c) and the ray's unit direction. */
static void ray(const struct kk_geometry *g, int64_t view, int64_t r,
		int64_t c, double *p, double *dir)
{
	const struct kk_view *w = &g->views[view];
	double uc = c - 0.5 * g->ncols + 0.5, vr = r - 0.5 * g->nrows + 0.5;
	double len = 0;
	int i;

	for (i = 0; i < 3; i++) {
		p[i] = w->det[i] + uc * w->u[i] + vr * w->v[i];
		dir[i] = g->cone ? p[i] - w->src[i] : w->src[i];
		len += dir[i] * dir[i];
	}
	for (i = 0; i < 3; i++)
		dir[i] /= sqrt(len);
}

/* Exact chord of the line (p, dir) through a ball at centre c. */
static double ball_chord(const double *p, const double *dir,
			 const double *c, double radius)
{
	double q[3] = {p[0] - c[0], p[1] - c[1], p[2] - c[2]};
	double t = q[0] * dir[0] + q[1] * dir[1] + q[2] * dir[2];
	double d2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] - t * t;

	return d2 < radius * radius ? 2 * sqrt(radius * radius - d2) : 0;
}

/* Exact chord of the line through the box [lo, hi] (slab method). */
static double box_chord(const double *p, const double *dir,
			const double *lo, const double *hi)
{
	double t0 = -INFINITY, t1 = INFINITY;
	int i;

	for (i = 0; i < 3; i++) {
		if (dir[i] == 0) {
			if (p[i] < lo[i] || p[i] > hi[i])
				return 0;
			continue;
		}
		double a = (lo[i] - p[i]) / dir[i];
		double b = (hi[i] - p[i]) / dir[i];

		t0 = fmax(t0, fmin(a, b));
		t1 = fmin(t1, fmax(a, b));
	}
	return t1 > t0 ? t1 - t0 : 0;
}

/*
 * fp of a ball of value 1, sampled 4^3 times per voxel, against the
 * exact chords.  Sampling the ball's surface once per slice leaves an
 * error at each end of a chord that grows where the ray meets the
 * surface at a grazing angle: rays that pass 3 voxels inside the rim
 * must be within 2.5% (measured: at most 1.1% parallel, 1.8% cone), and
 * the relative L2 error over the whole detector, rim included, below 3%
 * (measured: parallel 2.3%, cone 2.1%, anisotropic 1.7%).
 */
static void check_ball(const char *json, double size)
{
	struct kk_geometry g;
	float *vol, *proj, *exact;
	double c[3], radius, vmin;
	int64_t v, r, k, n, i;

	tu_geometry(&g, json);
	vol = phantom(&g, KK_PHANTOM_BALL, size, 4);
	proj = fp_all(&g, vol, &kk_axes_default);
	n = g.nviews * g.nrows * g.ncols;
	exact = tu_floats(n);
	c[0] = g.vol.xmin + 0.5 * g.vol.nx * g.vol.dx;
	c[1] = g.vol.ymin + 0.5 * g.vol.ny * g.vol.dy;
	c[2] = g.vol.zmin + 0.5 * g.vol.nz * g.vol.dz;
	radius = size * 0.5 * fmin(g.vol.nx * g.vol.dx,
				   fmin(g.vol.ny * g.vol.dy,
					g.vol.nz * g.vol.dz));
	vmin = fmax(g.vol.dx, fmax(g.vol.dy, g.vol.dz));
	for (v = 0; v < g.nviews; v++)
		for (r = 0; r < g.nrows; r++)
			for (k = 0; k < g.ncols; k++) {
				double p[3], d[3], inner;

				ray(&g, v, r, k, p, d);
				i = (v * g.nrows + r) * g.ncols + k;
				exact[i] = (float)ball_chord(p, d, c, radius);
				inner = ball_chord(p, d, c,
						   radius - 3 * vmin);
				if (inner > 0)
					ck_assert_msg(fabs(proj[i] - exact[i])
						      < 0.025 * exact[i],
						      "ray %lld: %g, exact %g",
						      (long long)i, proj[i],
						      exact[i]);
			}
	ck_assert_msg(tu_rel_l2(proj, exact, n) < 0.03,
		      "ball: relative L2 error %g", tu_rel_l2(proj, exact, n));
	free(vol);
	free(proj);
	free(exact);
	kk_geometry_release(&g);
}

START_TEST(fp_ball_parallel)
{
	check_ball("{\"volume\": {\"shape\": [48, 48, 48]}, \"projection\": {"
		   "\"type\": \"parallel3d\", \"detector\": {\"shape\": [40, 56],"
		   "\"pixel_size\": [1.3, 0.9]}, \"angles\": {\"start\": 0,"
		   "\"stop\": 180, \"count\": 7, \"unit\": \"degree\"}}}",
		   20.0 / 24);
}
END_TEST

START_TEST(fp_ball_cone)
{
	check_ball("{\"volume\": {\"shape\": [48, 48, 48]}, \"projection\": {"
		   "\"type\": \"cone\", \"detector\": {\"shape\": [48, 64],"
		   "\"pixel_size\": 1.6, \"offset\": [2.5, -4]},"
		   "\"angles\": {\"start\": 0, \"stop\": 360, \"count\": 7,"
		   "\"unit\": \"degree\"}, \"source_origin\": 100,"
		   "\"origin_detector\": 60}}", 20.0 / 24);
}
END_TEST

START_TEST(fp_ball_anisotropic)
{
	/* 48 x 96 x 64 voxels of 1 x 0.5 x 0.75: a 48-unit cube. */
	check_ball("{\"volume\": {\"shape\": [48, 96, 64], \"voxel_size\": "
		   "[1, 0.5, 0.75], \"center\": [3, -2, 1]}, \"projection\": {"
		   "\"type\": \"cone\", \"detector\": {\"shape\": [48, 64],"
		   "\"pixel_size\": 1.6}, \"angles\": {\"start\": 10,"
		   "\"stop\": 370, \"count\": 5, \"unit\": \"degree\"},"
		   "\"source_origin\": 100, \"origin_detector\": 60}}",
		   20.0 / 24);
}
END_TEST

/*
 * A cube whose faces lie on voxel boundaries is exactly represented.
 * Rays along an axis through voxel centres see it exactly.  Oblique rays
 * see it exactly too as long as they do not cross the half-voxel ramp
 * that bilinear interpolation makes of a side face: check those to float
 * rounding, and the whole projection within 2% relative L2 (measured
 * 0.7%).
 */
START_TEST(fp_cube)
{
	struct kk_geometry g;
	float *vol, *proj;
	double lo[3] = {-8, -8, -8}, hi[3] = {8, 8, 8}, sum_d = 0, sum_e = 0;
	int64_t v, r, k, exact_rays = 0;

	tu_geometry(&g, "{\"volume\": {\"shape\": [32, 32, 32]},"
		    "\"projection\": {\"type\": \"parallel3d\","
		    "\"detector\": {\"shape\": [32, 48], \"pixel_size\": 1},"
		    "\"angles\": {\"values\": [0, 90, 30, 40, 110],"
		    "\"unit\": \"degree\"}}}");
	vol = phantom(&g, KK_PHANTOM_CUBE, 0.5, 1);
	proj = fp_all(&g, vol, &kk_axes_default);
	for (v = 0; v < g.nviews; v++)
		for (r = 0; r < g.nrows; r++)
			for (k = 0; k < g.ncols; k++) {
				double p[3], d[3], e, got, ta, tb, xa, xb;
				int dom, oth;
				bool in, out;

				ray(&g, v, r, k, p, d);
				e = box_chord(p, d, lo, hi);
				got = proj[(v * g.nrows + r) * g.ncols + k];
				sum_d += (got - e) * (got - e);
				sum_e += e * e;
				/* Where the ray crosses the two faces across
				 * its dominant axis, in the other axis. */
				dom = fabs(d[0]) >= fabs(d[1]) ? 0 : 1;
				oth = 1 - dom;
				ta = (-8 - p[dom]) / d[dom];
				tb = (8 - p[dom]) / d[dom];
				xa = p[oth] + ta * d[oth];
				xb = p[oth] + tb * d[oth];
				in = fabs(xa) <= 7.5 && fabs(xb) <= 7.5;
				out = (xa >= 8.5 && xb >= 8.5) ||
				      (xa <= -8.5 && xb <= -8.5);
				if (!in && !out)
					continue;
				exact_rays++;
				ck_assert_msg(fabs(got - e) < 1e-4,
					      "view %lld row %lld col %lld: "
					      "%g, exact %g", (long long)v,
					      (long long)r, (long long)k, got,
					      e);
			}
	ck_assert_int_gt(exact_rays, g.nviews * g.nrows * g.ncols / 2);
	ck_assert_msg(sqrt(sum_d / sum_e) < 0.02, "cube: relative L2 %g",
		      sqrt(sum_d / sum_e));
	free(vol);
	free(proj);
	kk_geometry_release(&g);
}
END_TEST

/*
 * One voxel of value 1 in a volume of 0.5 x 0.8 x 1.25 voxels.  A ray
 * along y through its centre integrates exactly dy = 0.8.  Over the whole
 * detector, sum(p) * pixel area perpendicular to the rays is the voxel's
 * volume, up to sampling the projection's kinks with pixels of 0.05:
 * within 0.5% (measured at most 0.3%).
 */
START_TEST(fp_single_voxel)
{
	struct kk_geometry g;
	int64_t n, i, v;
	float *vol, *proj;

	tu_geometry(&g, "{\"volume\": {\"shape\": [9, 9, 9],"
		    "\"voxel_size\": [1.25, 0.8, 0.5]}, \"projection\": {"
		    "\"type\": \"parallel3d\", \"detector\": {\"shape\": "
		    "[321, 321], \"pixel_size\": 0.05}, \"angles\": {\"values\":"
		    " [0, 20, 45, 77], \"unit\": \"degree\"}}}");
	n = 9 * 9 * 9;
	vol = tu_floats(n);
	memset(vol, 0, n * sizeof(float));
	vol[(4 * 9 + 4) * 9 + 4] = 1;
	proj = fp_all(&g, vol, &kk_axes_default);
	/* View 0 looks along -y; the central pixel sees the voxel's centre. */
	ck_assert_double_eq_tol(proj[160 * 321 + 160], 0.8, 1e-6);
	for (v = 0; v < g.nviews; v++) {
		double sum = 0;

		for (i = 0; i < 321 * 321; i++)
			sum += proj[v * 321 * 321 + i];
		ck_assert_msg(fabs(sum * 0.0025 - 0.5) < 0.5 * 5e-3,
			      "view %lld: mass %g, voxel volume 0.5",
			      (long long)v, sum * 0.0025);
	}
	free(vol);
	free(proj);
	kk_geometry_release(&g);
}
END_TEST

/*
 * bp of all-ones projections, at voxels that project well inside the
 * detector: parallel, nviews * V / |u x v|; cone, adds M^2 per view with
 * M = (DSO + ODD) / (DSO + x.ray) at the central voxel, which sits at
 * the origin (M = 1.6 in every view).
 */
START_TEST(bp_scaling)
{
	struct kk_geometry g;
	int64_t n;
	float *ones, *vol;
	double want;

	tu_geometry(&g, "{\"volume\": {\"shape\": [9, 9, 9],"
		    "\"voxel_size\": [1, 0.5, 0.5]}, \"projection\": {"
		    "\"type\": \"parallel3d\", \"detector\": {\"shape\": [20, 20],"
		    "\"pixel_size\": [1.3, 0.7]}, \"angles\": {\"start\": 0,"
		    "\"stop\": 180, \"count\": 6, \"unit\": \"degree\"}}}");
	n = g.nviews * g.nrows * g.ncols;
	ones = tu_floats(n);
	for (int64_t i = 0; i < n; i++)
		ones[i] = 1;
	vol = bp_all(&g, ones, &kk_axes_default);
	want = 6 * (1 * 0.5 * 0.5) / (1.3 * 0.7);
	ck_assert_double_eq_tol(vol[(4 * 9 + 4) * 9 + 4], want, want * 1e-6);
	ck_assert_double_eq_tol(vol[(1 * 9 + 2) * 9 + 7], want, want * 1e-6);
	free(vol);
	free(ones);
	kk_geometry_release(&g);

	tu_geometry(&g, "{\"volume\": {\"shape\": [9, 9, 9],"
		    "\"voxel_size\": 2}, \"projection\": {\"type\": \"cone\","
		    "\"detector\": {\"shape\": [40, 40], \"pixel_size\": 1.5},"
		    "\"angles\": {\"start\": 0, \"stop\": 360, \"count\": 5,"
		    "\"unit\": \"degree\"}, \"source_origin\": 100,"
		    "\"origin_detector\": 60}}");
	n = g.nviews * g.nrows * g.ncols;
	ones = tu_floats(n);
	for (int64_t i = 0; i < n; i++)
		ones[i] = 1;
	vol = bp_all(&g, ones, &kk_axes_default);
	want = 5 * 8.0 / (1.5 * 1.5) * 1.6 * 1.6;
	ck_assert_double_eq_tol(vol[(4 * 9 + 4) * 9 + 4], want, want * 1e-6);
	free(vol);
	free(ones);
	kk_geometry_release(&g);
}
END_TEST

/* 2D fan beam: M, not M^2, and V / |u| with the slice of thickness 1. */
START_TEST(bp_scaling_fan)
{
	struct kk_geometry g;
	float ones[5 * 30], *vol;
	double want;
	int i;

	tu_geometry(&g, "{\"volume\": {\"shape\": [9, 9], \"voxel_size\": 2},"
		    "\"projection\": {\"type\": \"fanflat\", \"detector\": {"
		    "\"shape\": 30, \"pixel_size\": 1.5}, \"angles\": {"
		    "\"start\": 0, \"stop\": 360, \"count\": 5, \"unit\": "
		    "\"degree\"}, \"source_origin\": 100, \"origin_detector\": "
		    "60}}");
	for (i = 0; i < 5 * 30; i++)
		ones[i] = 1;
	vol = bp_all(&g, ones, &kk_axes_default);
	want = 5 * 4.0 / 1.5 * 1.6;
	ck_assert_double_eq_tol(vol[4 * 9 + 4], want, want * 1e-6);
	free(vol);
	kk_geometry_release(&g);
}
END_TEST

/*
 * <Ax, y> against <x, A'y> for random x and y, uniform in [0, 1).  bp
 * is ASTRA's approximate adjoint (voxel-driven, bilinear on the
 * detector), not the exact transpose of the ray-driven fp, so the two
 * differ by its approximation (it leaves out the cosine of each ray's
 * angle to the detector normal): relative mismatch below 3% (measured
 * 0.02% to 0.54% for parallel beams, 0.8% to 1.6% for fan and cone
 * beams; each run prints its numbers).
 */
static const char *const adjoint_geometries[] = {
	"{\"volume\": {\"shape\": [20, 24, 28], \"voxel_size\": [1, 0.9, 1.1]},"
	"\"projection\": {\"type\": \"parallel3d\", \"detector\": {\"shape\": "
	"[22, 36], \"pixel_size\": [1.1, 0.95], \"offset\": [0.5, 1.5]}, "
	"\"angles\": {\"start\": 0, \"stop\": 180, \"count\": 13, \"unit\": "
	"\"degree\"}}}",
	"{\"volume\": {\"shape\": [20, 24, 28]}, \"projection\": {\"type\": "
	"\"parallel3d_vec\", \"detector\": {\"shape\": [26, 34]}, \"vectors\": "
	"[[0.3, -0.9, 0.3, 0, 0, 0, 0.95, 0.3, 0, -0.1, 0.3, 0.95],"
	"[0.9, 0.3, 0.3, 1, 0, 0, -0.3, 0.95, 0, -0.3, -0.1, 0.95],"
	"[-0.6, 0.8, 0.1, 0, 2, 0, -0.8, -0.6, 0, 0, 0.1, 1.0]]}}",
	"{\"volume\": {\"shape\": [20, 24, 28], \"voxel_size\": 0.8},"
	"\"projection\": {\"type\": \"cone\", \"detector\": {\"shape\": "
	"[24, 40], \"pixel_size\": 1.2, \"offset\": [-1, 2]}, \"angles\": "
	"{\"start\": 0, \"stop\": 360, \"count\": 11, \"unit\": \"degree\"},"
	"\"source_origin\": 60, \"origin_detector\": 30}}",
	"{\"volume\": {\"shape\": [20, 24, 28]}, \"projection\": {\"type\": "
	"\"cone_vec\", \"detector\": {\"shape\": [30, 44]}, \"vectors\": "
	"[[0, -70, 5, 0, 40, -5, 1.2, 0, 0, 0, 0, 1.2],"
	"[70, 0, -5, -40, 0, 5, 0, 1.1, 0.1, 0, -0.1, 1.2],"
	"[-50, 50, 0, 30, -30, 0, -0.85, -0.85, 0, 0, 0, 1.2]]}}",
	"{\"volume\": {\"shape\": [40, 36], \"voxel_size\": [0.9, 1.1]},"
	"\"projection\": {\"type\": \"parallel\", \"detector\": {\"shape\": 60,"
	"\"pixel_size\": 0.9, \"offset\": 1.25}, \"angles\": {\"start\": 0, "
	"\"stop\": 180, \"count\": 17, \"unit\": \"degree\"}}}",
	"{\"volume\": {\"shape\": [40, 36]}, \"projection\": {\"type\": "
	"\"parallel_vec\", \"detector\": {\"shape\": 64}, \"vectors\": "
	"[[0.6, -0.8, 1, 0, 0.8, 0.6], [-0.8, -0.6, 0, 2, 0.6, -0.8],"
	"[1, 0, 0, 0, 0, 1.1]]}}",
	"{\"volume\": {\"shape\": [40, 36]}, \"projection\": {\"type\": "
	"\"fanflat\", \"detector\": {\"shape\": 64, \"pixel_size\": 1.3},"
	"\"angles\": {\"start\": 0, \"stop\": 360, \"count\": 15, \"unit\": "
	"\"degree\"}, \"source_origin\": 70, \"origin_detector\": 40}}",
	"{\"volume\": {\"shape\": [40, 36]}, \"projection\": {\"type\": "
	"\"fanflat_vec\", \"detector\": {\"shape\": 72}, \"vectors\": "
	"[[0, -80, 0, 40, 1.2, 0], [80, 10, -40, 0, 0.1, 1.2],"
	"[-60, 60, 30, -30, -0.9, -0.9]]}}",
};

START_TEST(adjoint)
{
	struct kk_geometry g;
	int64_t nv, np;
	float *x, *y, *ax, *aty;
	double lhs, rhs, mismatch;

	tu_geometry(&g, adjoint_geometries[_i]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	x = tu_floats(nv);
	y = tu_floats(np);
	tu_random(x, nv, 0, 1, 11 + _i);
	tu_random(y, np, 0, 1, 23 + _i);
	ax = fp_all(&g, x, &kk_axes_default);
	aty = bp_all(&g, y, &kk_axes_default);
	lhs = tu_dot(ax, y, np);
	rhs = tu_dot(x, aty, nv);
	mismatch = fabs(lhs - rhs) / fabs(lhs);
	fprintf(stderr, "adjoint %-15s <Ax,y> %.6g <x,A'y> %.6g mismatch "
		"%.2e\n", kk_geom_type_name(g.type), lhs, rhs, mismatch);
	ck_assert_msg(lhs > 0 && mismatch < 0.03, "%s: mismatch %g",
		      kk_geom_type_name(g.type), mismatch);
	free(x);
	free(y);
	free(ax);
	free(aty);
	kk_geometry_release(&g);
}
END_TEST

/*
 * Voxels whose centres lie in the plane of the source (parallel to the
 * detector) or behind it get nothing from a cone or fan beam: not NaN,
 * not infinity.  The source is beside the volume, not in it, so these
 * geometries are valid; with u pointing either way (the 2D mirror flips
 * it) the sign of the weights' denominator differs.
 */
static const char *const beside_source[] = {
	"{\"volume\": {\"shape\": [64, 64], \"window\": {\"min\": [-64, 10],"
	"\"max\": [0, 74]}}, \"projection\": {\"type\": \"fanflat\","
	"\"detector\": {\"shape\": 128, \"pixel_size\": 1.0}, \"angles\": "
	"{\"values\": [0], \"unit\": \"degree\"}, \"source_origin\": 40.5,"
	"\"origin_detector\": 60}}",
	"{\"volume\": {\"shape\": [4, 64, 64], \"window\": {\"min\": "
	"[-2, -32, 10], \"max\": [2, 32, 74]}}, \"projection\": {\"type\": "
	"\"cone_vec\", \"detector\": {\"shape\": [4, 128]}, \"vectors\": "
	"[[0, -10.5, 0, 0, 100, 0, -1, 0, 0, 0, 0, 1],"
	"[0, -10.5, 0, 0, 100, 0, 1, 0, 0, 0, 0, 1]]}}",
};

START_TEST(source_plane)
{
	struct kk_geometry g;
	int64_t nv, np, i, nonzero = 0;
	float *ones, *vol, *x, *proj;

	tu_geometry(&g, beside_source[_i]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	ones = tu_floats(np);
	for (i = 0; i < np; i++)
		ones[i] = 1;
	vol = bp_all(&g, ones, &kk_axes_default);
	for (i = 0; i < nv; i++) {
		ck_assert_msg(isfinite(vol[i]), "voxel %lld: %g",
			      (long long)i, vol[i]);
		nonzero += vol[i] != 0;
	}
	ck_assert_int_gt(nonzero, 0);
	x = tu_floats(nv);
	tu_random(x, nv, 0, 1, 2);
	proj = fp_all(&g, x, &kk_axes_default);
	for (i = 0; i < np; i++)
		ck_assert(isfinite(proj[i]));
	free(ones);
	free(vol);
	free(x);
	free(proj);
	kk_geometry_release(&g);
}
END_TEST

/* Views with rays that cross more than 4 voxels per slice stepped. */
START_TEST(steep_views)
{
	struct kk_geometry g;

	tu_geometry(&g, adjoint_geometries[2]);
	ck_assert_int_eq(kk_fp_steep_views(&g), 0);
	kk_geometry_release(&g);
	/* A detector 400 wide 45 from the source: a 154-degree fan; and one
	 * 330 away: 63 degrees. */
	tu_geometry(&g, "{\"volume\": {\"shape\": [4, 20, 20]}, "
		    "\"projection\": {\"type\": \"cone_vec\", \"detector\": "
		    "{\"shape\": [4, 80]}, \"vectors\": [[0, -15, 0, 0, 30, 0, "
		    "5, 0, 0, 0, 0, 1], [0, -300, 0, 0, 30, 0, 5, 0, 0, "
		    "0, 0, 1]]}}");
	ck_assert_int_eq(kk_fp_steep_views(&g), 1);
	kk_geometry_release(&g);
}
END_TEST

/* The same numbers in ASTRA's order (row, angle, col), and any order. */
START_TEST(axis_orders)
{
	struct kk_geometry g;
	struct kk_axes odd;
	struct kk_error err = {0};
	int64_t nv, v, r, c, n;
	float *x, *a, *b, *back_a, *back_b, *y;

	tu_geometry(&g, adjoint_geometries[2]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	x = tu_floats(nv);
	tu_random(x, nv, 0, 1, 5);
	a = fp_all(&g, x, &kk_axes_default);
	b = fp_all(&g, x, &kk_axes_astra);
	for (v = 0; v < g.nviews; v++)
		for (r = 0; r < g.nrows; r++)
			for (c = 0; c < g.ncols; c++)
				ck_assert_float_eq(
					a[(v * g.nrows + r) * g.ncols + c],
					b[(r * g.nviews + v) * g.ncols + c]);
	back_a = bp_all(&g, a, &kk_axes_default);
	back_b = bp_all(&g, b, &kk_axes_astra);
	ck_assert_mem_eq(back_a, back_b, nv * sizeof(float));
	/* col,angle,row: strides are all the projectors know of. */
	ck_assert_int_eq(kk_axes_parse("col,angle,row", &odd, &err), 0);
	n = g.nviews * g.nrows * g.ncols;
	y = tu_floats(n);
	for (v = 0; v < g.nviews; v++)
		for (r = 0; r < g.nrows; r++)
			for (c = 0; c < g.ncols; c++)
				y[(c * g.nviews + v) * g.nrows + r] =
					a[(v * g.nrows + r) * g.ncols + c];
	free(back_b);
	back_b = bp_all(&g, y, &odd);
	ck_assert_mem_eq(back_a, back_b, nv * sizeof(float));
	free(y);
	free(x);
	free(a);
	free(b);
	free(back_a);
	free(back_b);
	kk_geometry_release(&g);
}
END_TEST

/* Chunks of views and thread counts give the same projections. */
START_TEST(chunks_and_threads)
{
	struct kk_geometry g;
	struct kk_error err = {0};
	struct kk_proj_chunk c;
	int64_t nv, per_view, v0;
	float *x, *whole, *parts, *vol1, *vol2;

	tu_geometry(&g, adjoint_geometries[2]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	per_view = g.nrows * g.ncols;
	x = tu_floats(nv);
	tu_random(x, nv, 0, 1, 9);
	whole = fp_all(&g, x, &kk_axes_default);
	parts = tu_floats(g.nviews * per_view);
	c.axes = kk_axes_default;
	c.row0 = 0;
	c.nrows = g.nrows;
	for (v0 = 0; v0 < g.nviews; v0 += 3) {
		c.view0 = v0;
		c.nviews = g.nviews - v0 < 3 ? g.nviews - v0 : 3;
		c.data = parts + v0 * per_view;
		ck_assert(kk_cpu_fp(&g, x, &c, 1 + (int)v0 % 4, NULL,
				    &err) == 0);
	}
	ck_assert_mem_eq(whole, parts, g.nviews * per_view * sizeof(float));
	/* bp: chunks add up to the whole, to float rounding. */
	vol1 = bp_all(&g, whole, &kk_axes_default);
	vol2 = tu_floats(nv);
	memset(vol2, 0, nv * sizeof(float));
	for (v0 = 0; v0 < g.nviews; v0 += 4) {
		c.view0 = v0;
		c.nviews = g.nviews - v0 < 4 ? g.nviews - v0 : 4;
		c.data = whole + v0 * per_view;
		ck_assert(kk_cpu_bp(&g, &c, vol2, 3, NULL, &err) == 0);
	}
	ck_assert(tu_rel_l2(vol2, vol1, nv) < 1e-6);
	c.view0 = g.nviews - 1;
	c.nviews = 2;
	ck_assert_int_eq(kk_cpu_fp(&g, x, &c, 1, NULL, &err), KK_ERUNTIME);
	free(x);
	free(whole);
	free(parts);
	free(vol1);
	free(vol2);
	kk_geometry_release(&g);
}
END_TEST

/* Is row r of the chunk (all views, all columns) zero? */
static int row_is_zero(const struct kk_geometry *g,
		       const struct kk_proj_chunk *c, int64_t r)
{
	int64_t len[3] = {c->nviews, c->nrows, g->ncols}, dims[3], i[3];
	int a;

	for (a = 0; a < 3; a++)
		dims[c->axes.where[a]] = len[a];
	i[KK_ROW] = r - c->row0;
	for (i[0] = 0; i[0] < c->nviews; i[0]++)
		for (i[2] = 0; i[2] < g->ncols; i[2]++) {
			int64_t at[3];

			for (a = 0; a < 3; a++)
				at[c->axes.where[a]] = i[a];
			if (c->data[(at[0] * dims[1] + at[1]) * dims[2] +
				    at[2]] != 0)
				return 0;
		}
	return 1;
}

static const char *const slab_geometries[] = {
	TU_HELIX,
};

/*
 * Slabs and row windows: fp of each slab alone, into its rows only,
 * adds up to fp of the whole volume; rows outside a window get nothing
 * from the slab; bp of a window of rows into a slab equals that slab of
 * the whole bp.  Both axis orders.
 */
START_TEST(slabs_and_windows)
{
	const int ngeom = sizeof(adjoint_geometries) /
			  sizeof(adjoint_geometries[0]);
	const char *text = _i < ngeom ? adjoint_geometries[_i]
				      : slab_geometries[_i - ngeom];
	const struct kk_axes *axes[2] = {&kk_axes_default, &kk_axes_astra};
	struct kk_geometry g;
	struct kk_error err = {0};
	struct kk_cpu_run run;
	int64_t nv, np, per_slice, cuts[4], s, v0, lo, hi, r;
	float *x, *y, *whole, *back;
	int ax, narrow = 0;

	tu_geometry(&g, text);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	per_slice = g.vol.nx * g.vol.ny;
	/* Three uneven slabs (one in 2D). */
	cuts[0] = 0;
	cuts[1] = g.vol.nz / 3;
	cuts[2] = g.vol.nz / 3 + g.vol.nz / 2;
	cuts[3] = g.vol.nz;
	x = tu_floats(nv);
	y = tu_floats(np);
	tu_random(x, nv, 0, 1, 21);
	tu_random(y, np, 0, 1, 22);
	kk_cpu_run_default(&run);
	run.nthreads = THREADS;
	for (ax = 0; ax < 2; ax++) {
		struct kk_proj_chunk sum = {tu_floats(np), 0, g.nviews, 0,
					    g.nrows, *axes[ax]};
		struct kk_proj_chunk alone = sum;

		whole = fp_all(&g, x, axes[ax]);
		back = bp_all(&g, y, axes[ax]);
		alone.data = tu_floats(np);
		memset(sum.data, 0, np * sizeof(float));
		for (s = 0; s < 3; s++) {
			struct kk_vol_slab slab = {x + cuts[s] * per_slice,
						   cuts[s],
						   cuts[s + 1] - cuts[s]};
			float *part;

			if (slab.nz == 0)
				continue;
			/* fp: the slab's window, added up. */
			kk_rows_window(&g, 0, g.nviews, cuts[s], cuts[s + 1],
				       &lo, &hi);
			narrow += hi - lo < g.nrows;
			run.accumulate = true;
			run.row_lo = lo;
			run.row_hi = hi;
			ck_assert_msg(kk_cpu_fp_slab(&g, &slab, &sum, &run,
						     &err) == 0, "%s", err.msg);
			/* fp of the slab alone, every row: nothing outside
			 * the window. */
			run.accumulate = false;
			run.row_lo = 0;
			run.row_hi = g.nrows;
			ck_assert(kk_cpu_fp_slab(&g, &slab, &alone, &run,
						 &err) == 0);
			for (r = 0; r < g.nrows; r++)
				if (r < lo || r >= hi)
					ck_assert_msg(row_is_zero(&g, &alone, r),
						      "geometry %d slab %lld: "
						      "row %lld outside [%lld, "
						      "%lld) is not zero", _i,
						      (long long)s, (long long)r,
						      (long long)lo,
						      (long long)hi);
			/* bp: chunks of two views, each with its own
			 * window, into the slab. */
			part = tu_floats(slab.nz * per_slice);
			memset(part, 0, slab.nz * per_slice * sizeof(float));
			slab.data = part;
			for (v0 = 0; v0 < g.nviews; v0 += 2) {
				int64_t n = g.nviews - v0 < 2 ? g.nviews - v0
							      : 2;
				struct kk_proj_chunk c;

				kk_rows_window(&g, v0, n, cuts[s], cuts[s + 1],
					       &lo, &hi);
				if (hi == lo)
					continue;
				narrow += hi - lo < g.nrows;
				c.data = tu_floats(n * (hi - lo) * g.ncols);
				c.view0 = v0;
				c.nviews = n;
				c.row0 = lo;
				c.nrows = hi - lo;
				c.axes = *axes[ax];
				te_copy_chunk(&g, axes[ax], y, c.data, v0, n, lo,
					      hi - lo, 1);
				ck_assert(kk_cpu_bp_slab(&g, &c, &slab, &run,
							 &err) == 0);
				free(c.data);
			}
			ck_assert_msg(tu_rel_l2(part, back + cuts[s] *
						per_slice, slab.nz * per_slice)
				      < 1e-6, "geometry %d slab %lld: bp of "
				      "windows differs by %g", _i, (long long)s,
				      tu_rel_l2(part, back + cuts[s] *
						per_slice, slab.nz * per_slice));
			free(part);
		}
		/* Float sums of three parts: rounding only. */
		ck_assert_msg(tu_rel_l2(sum.data, whole, np) < 1e-6,
			      "geometry %d: fp of slabs differs by %g", _i,
			      tu_rel_l2(sum.data, whole, np));
		free(sum.data);
		free(alone.data);
		free(whole);
		free(back);
	}
	/* The windows cut something, where they can. */
	if (_i == 0 || _i == 2 || _i >= ngeom)
		ck_assert_msg(narrow > 0, "geometry %d: no window is narrower "
			      "than the detector", _i);
	free(x);
	free(y);
	kk_geometry_release(&g);
}
END_TEST

/*
 * 2D images follow ASTRA's 2D orientation: a disc drawn in ASTRA's 2D
 * coordinates (row 0 at the largest y) projects where ASTRA's fan-beam
 * vectors say.  Had the y mirror been left out, the disc (off centre in
 * y) would land elsewhere on the detector and the error would be ~100%.
 */
START_TEST(fan2d_orientation)
{
	struct kk_geometry g;
	const double cx = 4, cy = 7, radius = 10, dso = 80, odd = 40, w = 1.1;
	double sum_d = 0, sum_e = 0;
	int64_t row, col, v, k, s;
	float *img, *proj;

	tu_geometry(&g, "{\"volume\": {\"shape\": [40, 40]}, \"projection\": {"
		    "\"type\": \"fanflat\", \"detector\": {\"shape\": 80,"
		    "\"pixel_size\": 1.1}, \"angles\": {\"start\": 0, \"stop\":"
		    " 360, \"count\": 8, \"unit\": \"degree\"}, "
		    "\"source_origin\": 80, \"origin_detector\": 40}}");
	img = tu_floats(40 * 40);
	for (row = 0; row < 40; row++)
		for (col = 0; col < 40; col++) {
			int in = 0;

			for (s = 0; s < 16; s++) {
				double x = -20 + col + (s % 4 + 0.5) / 4;
				double y = 20 - row - (s / 4 + 0.5) / 4;

				in += (x - cx) * (x - cx) + (y - cy) * (y - cy)
				      <= radius * radius;
			}
			img[row * 40 + col] = in / 16.0f;
		}
	proj = fp_all(&g, img, &kk_axes_default);
	for (v = 0; v < 8; v++) {
		double t = v * M_PI / 4, sx = sin(t) * dso, sy = -cos(t) * dso;

		for (k = 0; k < 80; k++) {
			/* ASTRA 2D: pixel k = d + (k - 40 + 0.5) u. */
			double px = -sin(t) * odd + (k - 39.5) * cos(t) * w;
			double py = cos(t) * odd + (k - 39.5) * sin(t) * w;
			double dx = px - sx, dy = py - sy, len = hypot(dx, dy);
			double qx = cx - sx, qy = cy - sy;
			double dist = fabs(qx * dy - qy * dx) / len;
			double e = dist < radius ? 2 * sqrt(radius * radius -
							    dist * dist) : 0;
			double got = proj[v * 80 + k];

			sum_d += (got - e) * (got - e);
			sum_e += e * e;
			if (dist < radius - 3)
				ck_assert_msg(fabs(got - e) < 0.025 * e,
					      "view %lld pixel %lld: %g, exact "
					      "%g", (long long)v, (long long)k,
					      got, e);
		}
	}
	/* Measured 1.9%: the rim, as for the 3D ball. */
	ck_assert_msg(sqrt(sum_d / sum_e) < 0.03, "fan 2D: relative L2 %g",
		      sqrt(sum_d / sum_e));
	free(img);
	free(proj);
	kk_geometry_release(&g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("projectors");
	TCase *tc = tcase_create("exact");
	TCase *ta = tcase_create("adjoint");
	TCase *tl = tcase_create("layout");

	tcase_set_timeout(tc, 600);
	tcase_set_timeout(ta, 600);
	tcase_set_timeout(tl, 600);
	tcase_add_test(tc, fp_ball_parallel);
	tcase_add_test(tc, fp_ball_cone);
	tcase_add_test(tc, fp_ball_anisotropic);
	tcase_add_test(tc, fp_cube);
	tcase_add_test(tc, fp_single_voxel);
	tcase_add_test(tc, bp_scaling);
	tcase_add_test(tc, bp_scaling_fan);
	tcase_add_test(tc, fan2d_orientation);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(ta, adjoint, 0, sizeof(adjoint_geometries) /
				       sizeof(adjoint_geometries[0]));
	suite_add_tcase(s, ta);
	tcase_add_loop_test(tc, source_plane, 0, 2);
	tcase_add_test(tc, steep_views);
	tcase_add_test(tl, axis_orders);
	tcase_add_test(tl, chunks_and_threads);
	tcase_add_loop_test(tl, slabs_and_windows, 0,
			    sizeof(adjoint_geometries) /
			    sizeof(adjoint_geometries[0]) +
			    sizeof(slab_geometries) /
			    sizeof(slab_geometries[0]));
	suite_add_tcase(s, tl);
	return tu_run(s);
}
