/*
 * check_fbp.c: kkit fbp on the CPU (check_gpu runs the GPU's filter
 * against this one):
 *
 *  - the filters: the ramp is |f| away from zero, the windows have
 *    their shapes, FFT lengths are smooth, Parker's weights of a ray and
 *    its conjugate add up to 1;
 *  - the truth: kkit phantom volumes forward projected and
 *    reconstructed, for every geometry type (full and short scans,
 *    anisotropic pixels, detector offsets, a scan turning clockwise,
 *    views in golden-angle order, a view missing, several turns): a
 *    uniform ball's mean within 1% of
 *    its value, the Shepp-Logan head's relative L2 error below a bound
 *    (the table is printed; doc/reconstruction.md has it);
 *  - streamed from file to file, cut into slabs and chunks, in both
 *    axis orders, and for part of the slices only, the same as in one
 *    piece;
 *  - geometries FDK cannot reconstruct are refused, naming the view.
 */
#include "config.h"
#include "cpu_proj.h"
#include "fbp.h"
#include "filter.h"
#include "kk_fbp.cuh"
#include "phantom.h"
#include "testutil.h"
#include "streamtest.h"

#include <math.h>

/* ---- the filters --------------------------------------------------- */

START_TEST(ramp_response)
{
	const int64_t n = 512;
	float h[257];
	struct kk_error err = {0};
	int64_t k;

	ck_assert(!kk_filter_response(KK_FILTER_RAM_LAK, 1, n, h, &err));
	/* |f| in cycles per sample, with 1/n for the inverse FFT; the
	 * band-limited ramp is a little above |f| near zero only. */
	for (k = 8; k <= n / 2; k++)
		ck_assert_msg(fabs(h[k] * n - (double)k / n) < 2e-3,
			      "k %lld: %g", (long long)k, h[k] * n);
	ck_assert(h[0] > 0 && h[0] * n < 1e-2);
	/* A cutoff at half Nyquist: nothing above it. */
	ck_assert(!kk_filter_response(KK_FILTER_HANN, 0.5, n, h, &err));
	for (k = n / 4 + 1; k <= n / 2; k++)
		ck_assert(h[k] == 0);
	ck_assert(fabs(h[n / 8] * n - 0.5 * (n / 8.0) / n) < 2e-3);
}
END_TEST

START_TEST(windows)
{
	static const enum kk_filter_kind all[] = {
		KK_FILTER_RAM_LAK, KK_FILTER_SHEPP_LOGAN, KK_FILTER_COSINE,
		KK_FILTER_HAMMING, KK_FILTER_HANN, KK_FILTER_PARZEN,
		KK_FILTER_TUKEY};
	struct kk_error err = {0};
	enum kk_filter_kind kind;
	size_t i;
	double x;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ck_assert(kk_filter_window(all[i], 0) == 1);
		ck_assert(kk_filter_window(all[i], 1.01) == 0);
		ck_assert(!kk_filter_parse(kk_filter_name(all[i]), &kind,
					   &err));
		ck_assert_int_eq(kind, all[i]);
		/* Non-increasing from 0 to the cutoff. */
		for (x = 0; x < 1; x += 0.01)
			ck_assert(kk_filter_window(all[i], x + 0.01) <=
				  kk_filter_window(all[i], x) + 1e-12);
	}
	ck_assert(fabs(kk_filter_window(KK_FILTER_HAMMING, 1) - 0.08) < 1e-12);
	ck_assert(fabs(kk_filter_window(KK_FILTER_HANN, 0.5) - 0.5) < 1e-12);
	ck_assert(fabs(kk_filter_window(KK_FILTER_SHEPP_LOGAN, 1) -
		       2 / M_PI) < 1e-12);
	ck_assert(kk_filter_window(KK_FILTER_TUKEY, 0.5) == 1);
	ck_assert(fabs(kk_filter_window(KK_FILTER_PARZEN, 0.5) - 0.25) <
		  1e-12);
	ck_assert_int_eq(kk_filter_parse("gauss", &kind, &err), KK_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "'gauss'"));
}
END_TEST

START_TEST(fft_lengths)
{
	ck_assert_int_eq(kk_fft_length(1), 2);
	ck_assert_int_eq(kk_fft_length(100), 100);
	ck_assert_int_eq(kk_fft_length(101), 108);   /* not 2 3 17 */
	ck_assert_int_eq(kk_fft_length(202), 210);
	ck_assert_int_eq(kk_fft_length(2048), 2048);
	ck_assert_int_eq(kk_fft_length(2 * 2049), 4116);
}
END_TEST

START_TEST(parker_pairs)
{
	const float pi = (float)M_PI;
	float delta, beta, gamma;

	for (delta = 0.1f; delta < 1.2f; delta += 0.25f)
		for (gamma = -delta; gamma <= delta; gamma += delta / 7)
			for (beta = 0; beta + pi + 2 * gamma <=
				       pi + 2 * delta; beta += 0.01f) {
				float a = kk_parker(beta, gamma, delta);
				float b = kk_parker(beta + pi + 2 * gamma,
						    -gamma, delta);

				ck_assert_msg(fabsf(a + b - 1) < 1e-5,
					      "delta %g gamma %g beta %g: "
					      "%g + %g", delta, gamma, beta,
					      a, b);
			}
	ck_assert(kk_parker(-0.1f, 0, 0.3f) == 0);
	ck_assert(kk_parker(pi + 0.7f, 0, 0.3f) == 0);
}
END_TEST

/* ---- against the truth --------------------------------------------- */

struct case_ {
	const char *name;
	const char *json;
	double sl_bound;      /* Shepp-Logan's relative L2 error */
};

#define VOL3 "\"volume\": {\"shape\": [24, 48, 48], \"voxel_size\": 1.0}"
#define VOL2 "\"volume\": {\"shape\": [96, 96], \"voxel_size\": 0.5}"
#define CONE_DIST "\"source_origin\": 150, \"origin_detector\": 75"

static char golden[8192], clockwise[65536], golden_fan[8192];
static char dropped[8192], turns[8192];

static const struct case_ cases[] = {
	{"parallel", "{" VOL2 ", \"projection\": {\"type\": \"parallel\", "
	 "\"detector\": {\"shape\": 150, \"pixel_size\": 0.6}, \"angles\": "
	 "{\"start\": 0, \"stop\": 180, \"count\": 160, \"unit\": "
	 "\"degree\"}}}", 0.27},
	{"parallel3d", "{" VOL3 ", \"projection\": {\"type\": \"parallel3d\","
	 " \"detector\": {\"shape\": [20, 80], \"pixel_size\": [1.5, 0.8], "
	 "\"offset\": [0, 2.5]}, \"angles\": {\"start\": 0, \"stop\": 360, "
	 "\"count\": 180, \"unit\": \"degree\"}}}", 0.38},
	{"parallel3d golden", golden, 0.23},
	{"fanflat", "{" VOL2 ", \"projection\": {\"type\": \"fanflat\", "
	 "\"detector\": {\"shape\": 160, \"pixel_size\": 0.8, \"offset\": "
	 "3.5}, \"angles\": {\"start\": 0, \"stop\": 360, \"count\": 240, "
	 "\"unit\": \"degree\"}, \"source_origin\": 100, "
	 "\"origin_detector\": 50}}", 0.21},
	{"fanflat short", "{" VOL2 ", \"projection\": {\"type\": "
	 "\"fanflat\", \"detector\": {\"shape\": 160, \"pixel_size\": 0.8}, "
	 "\"angles\": {\"start\": 30, \"stop\": 260, \"count\": 200, "
	 "\"unit\": \"degree\"}, \"source_origin\": 100, "
	 "\"origin_detector\": 50}}", 0.22},
	{"cone", "{" VOL3 ", \"projection\": {\"type\": \"cone\", "
	 "\"detector\": {\"shape\": [48, 96], \"pixel_size\": [1.2, 0.9], "
	 "\"offset\": [0, 2]}, \"angles\": {\"start\": 0, \"stop\": 360, "
	 "\"count\": 180, \"unit\": \"degree\"}, " CONE_DIST "}}", 0.24},
	{"cone short", "{" VOL3 ", \"projection\": {\"type\": \"cone\", "
	 "\"detector\": {\"shape\": [48, 96], \"pixel_size\": 1.0}, "
	 "\"angles\": {\"start\": 0, \"stop\": 230, \"count\": 180, "
	 "\"unit\": \"degree\"}, " CONE_DIST "}}", 0.25},
	{"cone_vec clockwise", clockwise, 0.25},
	{"fanflat golden", golden_fan, 0.26},
	{"parallel view dropped", dropped, 0.27},
	{"cone 3 turns, drift", turns, 0.23},
};

#define NCASES (int)(sizeof(cases) / sizeof(cases[0]))

/* "values": [...] of n angles a(i) into buf after head. */
static void angle_list(char *buf, size_t size, const char *head,
		       const char *tail, int n, double (*a)(int))
{
	size_t k = (size_t)snprintf(buf, size, "%s\"angles\": {\"unit\": "
				    "\"radian\", \"values\": [", head);
	int i;

	for (i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%.9f",
				      i ? ", " : "", a(i));
	snprintf(buf + k, size - k, "]}%s", tail);
}

static double golden_turn(int i)
{
	return fmod(i * (sqrt(5.0) - 1) / 2 * 2 * M_PI, 2 * M_PI);
}

static double one_dropped(int i)
{
	return (i < 80 ? i : i + 1) * M_PI / 160;
}

static double drifting_turns(int i)
{
	return i * 2 * M_PI / 60 + i * 5e-4;
}

/* The geometries made here: parallel views in golden-angle order; a
 * circular cone_vec turning clockwise with its rotation axis 1.7 voxels
 * off the detector's centre line; a fan in golden-angle order; a
 * parallel scan with a view missing; a cone beam turning 3 times, each
 * turn a little further on. */
static void make_geometries(void)
{
	const double phi = (sqrt(5.0) - 1) / 2;
	size_t n = 0;
	int i;

	angle_list(golden_fan, sizeof(golden_fan), "{" VOL2 ", "
		   "\"projection\": {\"type\": \"fanflat\", \"detector\": "
		   "{\"shape\": 160, \"pixel_size\": 0.8}, ",
		   ", \"source_origin\": 100, \"origin_detector\": 50}}",
		   100, golden_turn);
	angle_list(dropped, sizeof(dropped), "{" VOL2 ", \"projection\": "
		   "{\"type\": \"parallel\", \"detector\": {\"shape\": 150, "
		   "\"pixel_size\": 0.6}, ", "}}", 159, one_dropped);
	angle_list(turns, sizeof(turns), "{" VOL3 ", \"projection\": "
		   "{\"type\": \"cone\", \"detector\": {\"shape\": [48, 96], "
		   "\"pixel_size\": 1.0}, ", ", " CONE_DIST "}}", 180,
		   drifting_turns);

	n += (size_t)snprintf(golden, sizeof(golden), "{" VOL3 ", "
			      "\"projection\": {\"type\": \"parallel3d\", "
			      "\"detector\": {\"shape\": [20, 80], "
			      "\"pixel_size\": 1}, \"angles\": {\"unit\": \"radian\", "
			      "\"values\": [");
	for (i = 0; i < 170; i++)
		n += (size_t)snprintf(golden + n, sizeof(golden) - n,
				      "%s%.9f", i ? ", " : "",
				      fmod(i * phi * M_PI, M_PI));
	snprintf(golden + n, sizeof(golden) - n, "]}}}");

	n = (size_t)snprintf(clockwise, sizeof(clockwise), "{" VOL3 ", "
			     "\"projection\": {\"type\": \"cone_vec\", "
			     "\"detector\": {\"shape\": [48, 96]}, "
			     "\"vectors\": [");
	for (i = 0; i < 200; i++) {
		double t = -2 * M_PI * i / 200, c = cos(t), s = sin(t);
		double off = 1.7;   /* the axis is off the centre column */

		n += (size_t)snprintf(clockwise + n, sizeof(clockwise) - n,
			"%s[%.9f, %.9f, 0, %.9f, %.9f, 0, %.9f, %.9f, 0, 0, "
			"0, 1.1]", i ? ", " : "", s * 150, -c * 150,
			-s * 75 + c * off, c * 75 + s * off, c * 1.1,
			s * 1.1);
	}
	snprintf(clockwise + n, sizeof(clockwise) - n, "]}}");
}

/* Phantom, forward projection and reconstruction in memory; returns the
 * reconstruction, the phantom in *truth. */
static float *reconstruct(const struct kk_geometry *g,
			  enum kk_phantom_kind kind, float **truth)
{
	struct kk_phantom_opts po = {kind, 0.6, 3, 0};
	struct kk_fbp_opts fo;
	struct kk_fbp f;
	struct kk_proj_chunk p;
	struct kk_vol_slab slab;
	struct kk_cpu_run run;
	struct kk_error err = {0};
	int64_t nv = g->vol.nx * g->vol.ny * g->vol.nz;
	float *vol = tu_floats(nv), *rec = tu_floats(nv);

	ck_assert(!kk_phantom_fill(g, &po, 0, g->vol.nz, vol, 2, &err));
	p.data = tu_floats(g->nviews * g->nrows * g->ncols);
	p.view0 = 0;
	p.nviews = g->nviews;
	p.row0 = 0;
	p.nrows = g->nrows;
	p.axes = kk_axes_default;
	ck_assert(!kk_cpu_fp(g, vol, &p, 2, NULL, &err));
	kk_fbp_opts_default(&fo);
	ck_assert_msg(!kk_fbp_setup(&f, g, &fo, &err), "%s", err.msg);
	ck_assert(!kk_fbp_filter_cpu(&f, p.data, &p.axes, 0, g->nviews, 0,
				     g->nrows, 2, &err));
	memset(rec, 0, (size_t)nv * sizeof(float));
	slab.data = rec;
	slab.z0 = 0;
	slab.nz = g->vol.nz;
	kk_cpu_run_default(&run);
	run.nthreads = 2;
	run.fdk = g->cone;
	ck_assert(!kk_cpu_bp_slab(g, &p, &slab, &run, &err));
	kk_fbp_release(&f);
	free(p.data);
	*truth = vol;
	return rec;
}

/* The mean of the voxels within 0.7 of the ball's radius (0.6 of the
 * smallest half extent) of the centre. */
static double inner_mean(const struct kk_geometry *g, const float *v)
{
	const struct kk_volume_geom *vg = &g->vol;
	double half = 0.5 * fmin(vg->nx * vg->dx, vg->ny * vg->dy), sum = 0;
	int64_t x, y, z, n = 0;

	if (!g->is_2d)
		half = fmin(half, 0.5 * vg->nz * vg->dz);
	for (z = 0; z < vg->nz; z++)
		for (y = 0; y < vg->ny; y++)
			for (x = 0; x < vg->nx; x++) {
				double dx = (x + 0.5) * vg->dx + vg->xmin;
				double dy = (y + 0.5) * vg->dy + vg->ymin;
				double dz = g->is_2d ? 0 : (z + 0.5) * vg->dz +
							   vg->zmin;

				if (sqrt(dx * dx + dy * dy + dz * dz) <
				    0.7 * 0.6 * half) {
					sum += v[(z * vg->ny + y) * vg->nx + x];
					n++;
				}
			}
	ck_assert_int_gt(n, 100);
	return sum / (double)n;
}

START_TEST(ball_value)
{
	const struct case_ *c = &cases[_i];
	struct kk_geometry g;
	float *truth, *rec;
	double m;

	make_geometries();
	tu_geometry(&g, c->json);
	rec = reconstruct(&g, KK_PHANTOM_BALL, &truth);
	m = inner_mean(&g, rec);
	printf("%-20s ball: mean inside %.5f (true 1)\n", c->name, m);
	ck_assert_msg(fabs(m - 1) < 0.01, "%s: a ball of 1 came out as %g",
		      c->name, m);
	free(rec);
	free(truth);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(shepp_logan_error)
{
	const struct case_ *c = &cases[_i];
	struct kk_geometry g;
	float *truth, *rec;
	double e;

	make_geometries();
	tu_geometry(&g, c->json);
	rec = reconstruct(&g, KK_PHANTOM_SHEPP_LOGAN, &truth);
	e = tu_rel_l2(rec, truth, g.vol.nx * g.vol.ny * g.vol.nz);
	printf("%-20s Shepp-Logan: relative L2 error %.4f (bound %.2f)\n",
	       c->name, e, c->sl_bound);
	ck_assert_msg(e < c->sl_bound, "%s: error %g", c->name, e);
	free(rec);
	free(truth);
	kk_geometry_release(&g);
}
END_TEST

/* ---- streamed ------------------------------------------------------ */

/* Cases: 0 in one piece, 1 cut by memory, 2 in chunks of 7 views, 3 the
 * same in ASTRA's axis order, 4 slices 5 to 18 only. */
START_TEST(streamed)
{
	const int which = _i / 5, cut = _i % 5;
	const struct case_ *c = &cases[which == 0 ? 1 : 5];
	char *dir = tu_mkdtemp(), *ppath = tu_path(dir, "p.h5");
	char *rpath = tu_path(dir, "r.h5");
	struct kk_device *d = cpu();
	struct kk_geometry g, gs;
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	struct kk_fbp_opts fo;
	struct kk_fbp f;
	struct kk_proj_chunk p;
	struct kk_error err = {0};
	int64_t pdims[3], vdims[3], slice, z0 = 5, z1 = 19;
	float *truth, *ref, *got;
	double e;

	make_geometries();
	tu_geometry(&g, c->json);
	ref = reconstruct(&g, KK_PHANTOM_SHEPP_LOGAN, &truth);
	kk_stream_opts_default(&o);
	o.axes = cut == 3 ? kk_axes_astra : kk_axes_default;
	if (cut == 1)
		o.mem_limit = 200 << 10;
	if (cut == 2 || cut == 3)
		o.chunk = 7;
	p.data = tu_floats(g.nviews * g.nrows * g.ncols);
	p.view0 = 0;
	p.nviews = g.nviews;
	p.row0 = 0;
	p.nrows = g.nrows;
	p.axes = o.axes;
	ck_assert(!kk_cpu_fp(&g, truth, &p, 2, NULL, &err));
	kk_geometry_proj_dims(&g, &o.axes, pdims);
	write_stack(ppath, pdims, p.data);

	tu_geometry(&gs, c->json);
	if (cut == 4)
		kk_geometry_crop_slices(&gs, z0, z1);
	kk_fbp_opts_default(&fo);
	ck_assert(!kk_fbp_setup(&f, &gs, &fo, &err));
	o.fbp = &f;
	ck_assert_msg(!stream_files(d, &gs, false, ppath, rpath, &o, &st,
				    NULL, &err), "%s", err.msg);
	kk_geometry_volume_dims(&gs, vdims);
	got = read_stack(rpath, vdims);
	slice = g.vol.nx * g.vol.ny;
	e = tu_rel_l2(got, ref + (cut == 4 ? z0 * slice : 0),
		      vdims[0] * slice);
	printf("%s cut %d: %lld slabs x %lld chunks, %g from in one piece\n",
	       c->name, cut, (long long)st.nslabs, (long long)st.nchunks, e);
	ck_assert_msg(e < 1e-5, "%s, cut %d: %g", c->name, cut, e);
	if (cut == 1 || cut == 2)
		ck_assert_int_gt(st.nslabs * st.nchunks, 1);

	kk_fbp_release(&f);
	kk_geometry_release(&gs);
	kk_geometry_release(&g);
	kk_device_close(d);
	free(got);
	free(ref);
	free(truth);
	free(p.data);
	free(ppath);
	free(rpath);
	tu_rmdir(dir);
}
END_TEST

/* ---- what FDK cannot do -------------------------------------------- */

START_TEST(refused)
{
	struct kk_geometry g;
	struct kk_fbp_opts fo;
	struct kk_fbp f;
	struct kk_error err = {0};

	kk_fbp_opts_default(&fo);
	tu_geometry(&g, TU_HELIX);
	ck_assert_int_eq(kk_fbp_setup(&f, &g, &fo, &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "view 1's source"));
	ck_assert_ptr_nonnull(strstr(err.msg, "circular"));
	kk_geometry_release(&g);

	/* Laminography: rays tilted against the rotation axis. */
	tu_geometry(&g, "{\"volume\": {\"shape\": [8, 8, 8]}, \"projection\":"
		    " {\"type\": \"parallel3d_vec\", \"detector\": {\"shape\": "
		    "[8, 8]}, \"vectors\": [[0, 0.9, 0.43, 0, 0, 0, 1, 0, 0, "
		    "0, -0.43, 0.9], [0.9, 0, 0.43, 0, 0, 0, 0, 1, 0, -0.43, "
		    "0, 0.9]]}}");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(kk_fbp_setup(&f, &g, &fo, &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "view 0's rays"));
	kk_geometry_release(&g);

	/* Every view at one angle. */
	tu_geometry(&g, "{\"volume\": {\"shape\": [8, 8]}, \"projection\": "
		    "{\"type\": \"parallel\", \"detector\": {\"shape\": 8, "
		    "\"pixel_size\": 1}, "
		    "\"angles\": {\"values\": [0.5, 0.5, 0.5], \"unit\": "
		    "\"radian\"}}}");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(kk_fbp_setup(&f, &g, &fo, &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "two angles"));
	kk_geometry_release(&g);
}
END_TEST

START_TEST(slices_option)
{
	struct kk_error err = {0};
	int64_t a, b;

	ck_assert(!kk_parse_slices("10:20", 64, &a, &b, &err));
	ck_assert(a == 10 && b == 20);
	ck_assert(!kk_parse_slices(":5", 64, &a, &b, &err));
	ck_assert(a == 0 && b == 5);
	ck_assert(!kk_parse_slices("-4:", 64, &a, &b, &err));
	ck_assert(a == 60 && b == 64);
	ck_assert(!kk_parse_slices("60:100", 64, &a, &b, &err));
	ck_assert(a == 60 && b == 64);
	ck_assert_int_eq(kk_parse_slices("20:10", 64, &a, &b, &err),
			 KK_EUSAGE);
	ck_assert_int_eq(kk_parse_slices("7", 64, &a, &b, &err), KK_EUSAGE);
	ck_assert_int_eq(kk_parse_slices("a:b", 64, &a, &b, &err), KK_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "'a:b'"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fbp");
	TCase *tc = tcase_create("filters");

	tcase_add_test(tc, ramp_response);
	tcase_add_test(tc, windows);
	tcase_add_test(tc, fft_lengths);
	tcase_add_test(tc, parker_pairs);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, slices_option);
	suite_add_tcase(s, tc);
	tc = tcase_create("truth");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, ball_value, 0, NCASES);
	tcase_add_loop_test(tc, shepp_logan_error, 0, NCASES);
	suite_add_tcase(s, tc);
	tc = tcase_create("streamed");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, streamed, 0, 10);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
