/*
 * check_stream.c: the streaming pipeline, on the CPU (the GPU runs the
 * same executors; check_gpu tests its engines):
 *
 *  - sizes as users write them;
 *  - plans keep to their limits and cover every slice and view, with
 *    row windows inside the detector;
 *  - fp and bp from file to file, cut every way the limits can cut
 *    them (slabs, chunks of a few views, both axis orders, an order that
 *    needs gathering), equal the in-core reference to rounding;
 *  - a run that cannot fit says so.
 */
#include "config.h"
#include "budget.h"
#include "cpu_proj.h"
#include "device.h"
#include "io.h"
#include "plan.h"
#include "stream.h"
#include "testutil.h"
#include "streamtest.h"

static const char *const geometries[] = {
	"{\"volume\": {\"shape\": [21, 18, 22], \"voxel_size\": [1, 0.9, 1.1]},"
	"\"projection\": {\"type\": \"cone\", \"detector\": {\"shape\": "
	"[20, 30], \"pixel_size\": 1.4, \"offset\": [1.5, -2]}, \"angles\": "
	"{\"start\": 0, \"stop\": 360, \"count\": 23, \"unit\": \"degree\"},"
	"\"source_origin\": 50, \"origin_detector\": 30}}",
	TU_HELIX,
	"{\"volume\": {\"shape\": [16, 20, 24]}, \"projection\": {\"type\": "
	"\"parallel3d\", \"detector\": {\"shape\": [18, 30], \"pixel_size\": "
	"1}, \"angles\": "
	"{\"start\": 0, \"stop\": 180, \"count\": 11, \"unit\": \"degree\"}}}",
	"{\"volume\": {\"shape\": [30, 26]}, \"projection\": {\"type\": "
	"\"fanflat\", \"detector\": {\"shape\": 50, \"pixel_size\": 1.3},"
	"\"angles\": {\"start\": 0, \"stop\": 360, \"count\": 9, \"unit\": "
	"\"degree\"}, \"source_origin\": 70, \"origin_detector\": 40}}",
};
#define NGEOM ((int)(sizeof(geometries) / sizeof(geometries[0])))

START_TEST(sizes)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{"4096", 4096}, {"512K", 512 << 10}, {"512k", 512 << 10},
		{"1.5G", 3 * KK_GIB / 2}, {"8GiB", 8 * KK_GIB},
		{"100MB", 100 * KK_MIB}, {"2t", 2 * 1024 * KK_GIB},
	};
	static const char *const bad[] = {"", "1.5", "-1", "5X", " 5", "G",
					  "5Gb5", "1e30T", "nan"};
	struct kk_error err = {0};
	char buf[32];
	uint64_t b;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(kk_parse_size(good[i].text, "--mem-limit", &b,
					    &err) == 0, "%s", err.msg);
		ck_assert_uint_eq(b, good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(kk_parse_size(bad[i], "--mem-limit", &b,
					       &err), KK_EUSAGE);
		ck_assert_ptr_nonnull(strstr(err.msg, "invalid --mem-limit"));
	}
	kk_format_size(3 * KK_GIB / 2, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.50 GiB");
	kk_format_size(12, buf, sizeof(buf));
	ck_assert_str_eq(buf, "12 bytes");
	ck_assert_uint_gt(kk_rss_now(), 0);
	ck_assert_uint_ge(kk_rss_peak(), kk_rss_now() / 2);
}
END_TEST

/* A plan keeps to its limits and covers the work. */
static void check_plan(const struct kk_geometry *g, const struct kk_plan *p,
		       const struct kk_plan_limits *l)
{
	int64_t s, c, lo, hi;

	ck_assert_uint_le(p->device_bytes, l->device);
	ck_assert_uint_le(p->host_bytes, l->host);
	ck_assert_int_ge(p->slab, 1);
	ck_assert_int_ge(p->chunk, 1);
	ck_assert_int_ge(p->slab * p->nslabs, g->vol.nz);
	ck_assert_int_lt((p->nslabs - 1) * p->slab, g->vol.nz);
	ck_assert_int_ge(p->chunk * p->nchunks, g->nviews);
	ck_assert_int_lt((p->nchunks - 1) * p->chunk, g->nviews);
	ck_assert_int_ge(p->piece, 1);
	ck_assert_uint_ge(p->in_bytes, 1);
	for (s = 0; s < p->nslabs; s++)
		for (c = 0; c < p->nchunks; c++) {
			kk_plan_window(p, s, c, &lo, &hi);
			ck_assert(0 <= lo && lo <= hi && hi <= g->nrows);
			if (!p->fp && hi > lo)
				ck_assert_int_eq(hi - lo, p->rows);
		}
}

START_TEST(plans)
{
	const uint64_t devs[] = {KK_GIB, 60000, 20000, 9000};
	struct kk_geometry g;
	struct kk_error err = {0};
	struct kk_plan_limits l;
	struct kk_plan p;
	size_t i;
	int fp, rc, k;

	tu_geometry(&g, geometries[_i]);
	memset(&l, 0, sizeof(l));
	l.device_what = "memory";
	l.vol_es = l.proj_es = 4;
	for (k = 0; k < 6; k++) {
		fp = k % 2;
		l.host = k < 2 ? KK_GIB : 200000;
		/* Scratch for conversions and gathers counts too. */
		l.in_extra = k >= 4 ? 3 : 0;
		l.out_extra = k >= 4 ? 0.5 : 0;
		for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
			l.device = devs[i];
			rc = fp ? kk_plan_fp(&p, &g, &l, &err)
				: kk_plan_bp(&p, &g, &l, &err);
			if (rc) {
				/* Only the smallest may not fit. */
				ck_assert_int_eq(rc, KK_ENOMEM);
				ck_assert_int_eq(i, 3);
				ck_assert_ptr_nonnull(strstr(err.msg,
							     "not even"));
				continue;
			}
			check_plan(&g, &p, &l);
			/* Plenty of memory: all at once. */
			if (i == 0 && k < 2)
				ck_assert(p.resident);
			if (i == 0 && k < 2 && !fp)
				ck_assert_int_eq(p.nslabs, 1);
			kk_plan_release(&p);
		}
	}
	/* A chunk asked for is the chunk used, when it fits. */
	l.device = KK_GIB;
	l.chunk = 3;
	ck_assert(!kk_plan_bp(&p, &g, &l, &err));
	ck_assert_int_eq(p.chunk, 3);
	ck_assert(!p.chunk_shrunk);
	kk_plan_release(&p);
	/* Far too little: an error naming what does not fit. */
	l.device = 100;
	ck_assert_int_eq(kk_plan_fp(&p, &g, &l, &err), KK_ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "100 bytes of memory"));
	/* ...and which memory: here the host's. */
	l.device = KK_GIB;
	l.host = 600;
	l.chunk = 0;
	ck_assert_int_eq(kk_plan_bp(&p, &g, &l, &err), KK_ENOMEM);
	ck_assert_msg(strstr(err.msg, "of host memory"), "%s", err.msg);
	kk_geometry_release(&g);
}
END_TEST

/* ---- file to file ----------------------------------------------------- */

/* The cuts: none; a tenth of the data's size in memory (or, for the
 * smallest, a little more than the least that fits: two slices and two
 * views); chunks of 3 views; the least that fits, with chunks of 2. */
static void cut_opts(struct kk_stream_opts *o, int cut,
		     const struct kk_geometry *g, uint64_t data)
{
	uint64_t least = 2 * (uint64_t)(g->vol.nx * g->vol.ny) * 4 +
			 2 * (uint64_t)(g->nrows * g->ncols) * 4 + 4096 +
			 128 * (uint64_t)g->nviews;

	kk_stream_opts_default(o);
	if (cut == 1)
		o->mem_limit = data / 10 > least * 5 / 4 ? data / 10
							 : least * 5 / 4;
	if (cut == 2)
		o->chunk = 3;
	if (cut == 3) {
		o->mem_limit = least + 64;
		o->chunk = 2;
	}
}

static const struct kk_axes col_angle_row = {{1, 2, 0}};

START_TEST(stream_cuts)
{
	const int geom = _i % NGEOM, cut = _i / NGEOM % 4;
	const int order = _i / NGEOM / 4;
	const struct kk_axes *axes = order == 0 ? &kk_axes_default
				     : order == 1 ? &kk_axes_astra
						  : &col_angle_row;
	char *dir = tu_mkdtemp(), *vpath = tu_path(dir, "vol.h5");
	char *ppath = tu_path(dir, "proj.h5"), *bpath = tu_path(dir, "b.h5");
	struct kk_device *d = cpu();
	struct kk_geometry g;
	struct kk_error err = {0};
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	struct kk_proj_chunk ref;
	int64_t vdims[3], pdims[3], nv, np;
	float *vol, *got, *back, *back_ref;
	double e;

	tu_geometry(&g, geometries[geom]);
	kk_geometry_volume_dims(&g, vdims);
	kk_geometry_proj_dims(&g, axes, pdims);
	nv = vdims[0] * vdims[1] * vdims[2];
	np = pdims[0] * pdims[1] * pdims[2];
	vol = tu_floats(nv);
	tu_random(vol, nv, 0.5, 1.5, 40 + _i);
	write_stack(vpath, vdims, vol);
	cut_opts(&o, cut, &g, (uint64_t)(nv + np) * 4);
	o.axes = *axes;

	/* fp: the reference in memory, the stream from file to file. */
	ref.data = tu_floats(np);
	ref.view0 = 0;
	ref.nviews = g.nviews;
	ref.row0 = 0;
	ref.nrows = g.nrows;
	ref.axes = *axes;
	ck_assert(!kk_cpu_fp(&g, vol, &ref, 2, NULL, &err));
	ck_assert_msg(!stream_files(d, &g, true, vpath, ppath, &o, &st, NULL,
				    &err), "%s", err.msg);
	got = read_stack(ppath, pdims);
	e = tu_rel_l2(got, ref.data, np);
	ck_assert_msg(e < 1e-6, "fp, geometry %d, cut %d, order %d: %lld "
		      "slabs x %lld chunks differ by %g", geom, cut, order,
		      (long long)st.nslabs, (long long)st.nchunks, e);
	if (cut == 3 || (cut == 1 && g.vol.nz > 1))
		ck_assert_int_gt(st.nslabs * st.nchunks, 1);

	/* bp of the reference projections, from the file just written. */
	back_ref = tu_floats(nv);
	memset(back_ref, 0, nv * sizeof(float));
	ck_assert(!kk_cpu_bp(&g, &ref, back_ref, 2, NULL, &err));
	ck_assert_msg(!stream_files(d, &g, false, ppath, bpath, &o, &st, NULL,
				    &err), "%s", err.msg);
	back = read_stack(bpath, vdims);
	e = tu_rel_l2(back, back_ref, nv);
	ck_assert_msg(e < 1e-6, "bp, geometry %d, cut %d, order %d: %lld "
		      "slabs x %lld chunks differ by %g", geom, cut, order,
		      (long long)st.nslabs, (long long)st.nchunks, e);
	if (cut == 3 || (cut == 1 && g.vol.nz > 1))
		ck_assert_int_gt(st.nslabs * st.nchunks, 1);
	printf("geometry %d cut %d order %d: bp %lld x %lld, ok\n", geom, cut,
	       order, (long long)st.nslabs, (long long)st.nchunks);

	free(vol);
	free(got);
	free(back);
	free(back_ref);
	free(ref.data);
	free(vpath);
	free(ppath);
	free(bpath);
	kk_geometry_release(&g);
	kk_device_close(d);
	tu_rmdir(dir);
}
END_TEST

/*
 * Data read more than once (the volume for every chunk of views, the
 * rows that slabs' windows share) is counted once for the input's
 * warnings: one NaN in the volume, two in the projections.
 */
START_TEST(counted_once)
{
	char *dir = tu_mkdtemp(), *vpath = tu_path(dir, "vol.h5");
	char *ppath = tu_path(dir, "proj.h5"), *opath = tu_path(dir, "o.h5");
	struct kk_device *d = cpu();
	struct kk_geometry g;
	struct kk_error err = {0};
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	int64_t vdims[3], pdims[3], nv, np, bad;
	float *vol, *proj;

	tu_geometry(&g, geometries[_i]);
	kk_geometry_volume_dims(&g, vdims);
	kk_geometry_proj_dims(&g, &kk_axes_default, pdims);
	nv = vdims[0] * vdims[1] * vdims[2];
	np = pdims[0] * pdims[1] * pdims[2];
	vol = tu_floats(nv);
	proj = tu_floats(np);
	tu_random(vol, nv, 0.5, 1.5, 5);
	tu_random(proj, np, 0.5, 1.5, 6);
	vol[nv / 2 + 3] = NAN;
	/* The middle row of the first and the last view. */
	proj[(g.nrows / 2) * g.ncols + 3] = INFINITY;
	proj[np - (g.nrows / 2) * g.ncols - 3] = NAN;
	write_stack(vpath, vdims, vol);
	write_stack(ppath, pdims, proj);
	cut_opts(&o, 3, &g, (uint64_t)(nv + np) * 4);

	ck_assert_msg(!stream_files(d, &g, true, vpath, opath, &o, &st, &bad,
				    &err), "%s", err.msg);
	ck_assert_int_gt(st.nchunks, 1);
	ck_assert_int_eq(bad, 1);
	ck_assert_msg(!stream_files(d, &g, false, ppath, opath, &o, &st, &bad,
				    &err), "%s", err.msg);
	if (g.vol.nz > 1)
		ck_assert_int_gt(st.nslabs, 1);
	ck_assert_int_eq(bad, 2);
	free(vol);
	free(proj);
	free(vpath);
	free(ppath);
	free(opath);
	kk_geometry_release(&g);
	kk_device_close(d);
	tu_rmdir(dir);
}
END_TEST

/* Too little memory for even one slice: a clear error, nothing run. */
START_TEST(too_little)
{
	char *dir = tu_mkdtemp(), *vpath = tu_path(dir, "vol.h5");
	char *ppath = tu_path(dir, "proj.h5");
	struct kk_device *d = cpu();
	struct kk_geometry g;
	struct kk_error err = {0};
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	int64_t vdims[3];
	float *vol;

	tu_geometry(&g, geometries[0]);
	kk_geometry_volume_dims(&g, vdims);
	vol = tu_floats(vdims[0] * vdims[1] * vdims[2]);
	tu_random(vol, vdims[0] * vdims[1] * vdims[2], 0, 1, 1);
	write_stack(vpath, vdims, vol);
	kk_stream_opts_default(&o);
	o.mem_limit = 1000;
	ck_assert_int_eq(stream_files(d, &g, true, vpath, ppath, &o, &st,
				      NULL, &err), KK_ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "not even two slices and one "
				     "view fit"));
	ck_assert_int_ne(access(ppath, F_OK), 0);
	free(vol);
	free(vpath);
	free(ppath);
	kk_geometry_release(&g);
	kk_device_close(d);
	tu_rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("stream");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, sizes);
	tcase_add_loop_test(tc, plans, 0, NGEOM);
	/* Geometry x cut x order (default, ASTRA's, one to gather). */
	tcase_add_loop_test(tc, stream_cuts, 0, NGEOM * 4 * 3);
	tcase_add_test(tc, too_little);
	/* The geometries whose middle rows every slab reads. */
	tcase_add_loop_test(tc, counted_once, 0, NGEOM);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
