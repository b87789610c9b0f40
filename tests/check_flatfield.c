/*
 * check_flatfield.c: --raw on the CPU (flatfield.h): the pixel rule,
 * NXtomo's flat and dark frames, flats and darks from files of their
 * own in the projections' axis order, the averages, the refusals, the
 * correction in every axis order, and fbp of raw counts streamed in
 * slabs against fbp of the line integrals, with the same count of
 * clipped values whatever the cut.
 */
#include "config.h"
#include "fbp.h"
#include "flatfield.h"
#include "kk_flatfield.cuh"
#include "cpu_proj.h"
#include "phantom.h"
#include "streamtest.h"

#include <hdf5.h>
#include <math.h>

/* A small detector: 6 rows of 10 columns, 8 views. */
#define NR 6
#define NC 10
#define NV 8
#define SMALL "{\"volume\": {\"shape\": [6, 10, 10]}, \"projection\": " \
	"{\"type\": \"parallel3d\", \"detector\": {\"shape\": [6, 10], "     \
	"\"pixel_size\": 1.0}, "                                             \
	"\"angles\": {\"start\": 0, \"stop\": 180, \"count\": 8, "          \
	"\"unit\": \"degree\"}}}"

static float flat_at(int f, int64_t r, int64_t c)
{
	return 1000.0f + 10.0f * (float)r + (float)c + 3.0f * (float)f;
}

static float dark_at(int f, int64_t r, int64_t c)
{
	return 50.0f + (float)((r + c) % 3) + (float)f;
}

/* A float32 dataset at path of file f with shape dims (rank). */
static void put(hid_t f, const char *path, int rank, const hsize_t *dims,
		hid_t type, const void *data)
{
	hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
	hid_t s = H5Screate_simple(rank, dims, NULL), d;

	H5Pset_create_intermediate_group(lcpl, 1);
	d = H5Dcreate2(f, path, type == H5T_NATIVE_INT32 ? H5T_STD_I32LE
			: H5T_IEEE_F32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
	ck_assert(d >= 0);
	ck_assert(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
	H5Dclose(d);
	H5Sclose(s);
	H5Pclose(lcpl);
}

/*
 * An NXtomo file: darks (2), flats (3), the projections proj (nv views
 * of nr x nc, angle,row,col), 1 flat after them, as one dataset with
 * image_key.  Flat and dark frame f differ by f, so their means are
 * known.
 */
static void write_nxtomo(const char *path, const float *proj, int64_t nv,
			 int64_t nr, int64_t nc, bool with_darks)
{
	const int64_t frame = nr * nc, nd = with_darks ? 2 : 0;
	const int64_t n = nd + 3 + nv + 1;
	float *data = tu_floats(n * frame);
	int32_t *keys = malloc((size_t)n * sizeof(*keys));
	hsize_t dims[3] = {(hsize_t)n, (hsize_t)nr, (hsize_t)nc};
	hsize_t kdims = (hsize_t)n;
	int64_t i, p;
	hid_t f;

	for (i = 0; i < n; i++) {
		int kind = i < nd ? 2 : i < nd + 3 || i == n - 1 ? 1 : 0;
		int fi = (int)(kind == 2 ? i : i == n - 1 ? 3 : i - nd);

		keys[i] = kind;
		for (p = 0; p < frame; p++)
			data[i * frame + p] =
				kind == 0 ? proj[(i - nd - 3) * frame + p]
				: kind == 1 ? flat_at(fi, p / nc, p % nc)
					    : dark_at(fi, p / nc, p % nc);
	}
	f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	put(f, "/entry/instrument/detector/data", 3, dims, H5T_NATIVE_FLOAT,
	    data);
	put(f, "/entry/instrument/detector/image_key", 1, &kdims,
	    H5T_NATIVE_INT32, keys);
	H5Fclose(f);
	free(data);
	free(keys);
}

/* Raw counts of line integrals p (nv x nr x nc, angle,row,col) with the
 * mean flat (frames 0..3) and mean dark (frames 0, 1). */
static float *raw_of(const float *p, int64_t nv, int64_t nr, int64_t nc)
{
	float *raw = tu_floats(nv * nr * nc);
	int64_t v, r, c;

	for (v = 0; v < nv; v++)
		for (r = 0; r < nr; r++)
			for (c = 0; c < nc; c++) {
				float fl = flat_at(0, r, c) + 4.5f;
				float dk = dark_at(0, r, c) + 0.5f;
				int64_t i = (v * nr + r) * nc + c;

				raw[i] = dk + (fl - dk) * expf(-p[i]);
			}
	return raw;
}

START_TEST(pixel_rule)
{
	int n = 0;

	ck_assert_float_eq_tol(kk_flatfield(550, 50, 1.0f / 1000, 1e-6f, &n),
			       -logf(0.5f), 1e-6);
	ck_assert_int_eq(n, 0);
	/* below the dark, a dead pixel, NaN: the floor */
	ck_assert_float_eq_tol(kk_flatfield(40, 50, 1.0f / 1000, 1e-3f, &n),
			       -logf(1e-3f), 1e-5);
	ck_assert_float_eq_tol(kk_flatfield(900, 50, 0, 1e-3f, &n),
			       -logf(1e-3f), 1e-5);
	ck_assert_float_eq_tol(kk_flatfield(NAN, 50, 0.1f, 1e-3f, &n),
			       -logf(1e-3f), 1e-5);
	/* far above the flat: the ceiling */
	ck_assert_float_eq_tol(kk_flatfield(1e9f, 0, 1, 1e-3f, &n),
			       logf(1e-3f), 1e-5);
	ck_assert_int_eq(n, 4);
	/* a little above the flat is noise, not clipped */
	ck_assert_float_lt(kk_flatfield(1100, 50, 1.0f / 1000, 1e-6f, &n), 0);
	ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(fresh_rows)
{
	struct kk_fresh_rows f = {10, 20, 8, 14};

	ck_assert(kk_fresh_row(NULL, 3));
	ck_assert(!kk_fresh_row(&f, 9));
	ck_assert(!kk_fresh_row(&f, 13));
	ck_assert(kk_fresh_row(&f, 14));
	ck_assert(!kk_fresh_row(&f, 20));
	ck_assert_int_eq(kk_fresh_count(NULL, 0, 7), 7);
	ck_assert_int_eq(kk_fresh_count(&f, 10, 10), 6);
	ck_assert_int_eq(kk_fresh_count(&f, 12, 4), 2);
	ck_assert_int_eq(kk_fresh_count(&f, 0, 8), 0);
}
END_TEST

/* NXtomo's frames by image_key; a TIFF has none. */
START_TEST(nxtomo_keys)
{
	char *dir = tu_mkdtemp(), *nx = tu_path(dir, "scan.nxs");
	char *tif = tu_path(dir, "p.tif");
	const int64_t dims[3] = {NV, NR, NC};
	float *proj = tu_floats(NV * NR * NC), buf[NR * NC];
	struct kk_reader *r;
	struct kk_error err = {0};

	tu_random(proj, NV * NR * NC, 0, 1, 3);
	write_nxtomo(nx, proj, NV, NR, NC, true);
	ck_assert(!kk_reader_open_key(&r, nx, 1, &err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(kk_reader_info(r)->dims[0], 4);
	ck_assert_ptr_nonnull(strstr(kk_reader_name(r), "(image_key 1)"));
	ck_assert(!kk_reader_expect(r, (int64_t[3]){4, NR, NC}, -1, "flats",
				    "frame,row,col", &err));
	ck_assert(!kk_reader_read(r, 0, 3, 1, buf, &err));
	ck_assert_float_eq(buf[NC + 2], flat_at(3, 1, 2));
	kk_reader_close(r);
	ck_assert(!kk_reader_open_key(&r, nx, 2, &err));
	ck_assert_int_eq(kk_reader_info(r)->dims[0], 2);
	kk_reader_close(r);
	ck_assert(!kk_reader_open_key(&r, nx, 3, &err));
	ck_assert_ptr_null(r);
	ck_assert(!kk_reader_open(&r, nx, &err));
	ck_assert_int_eq(kk_reader_info(r)->dims[0], NV);
	kk_reader_close(r);
	write_stack(tif, dims, proj);
	ck_assert(!kk_reader_open_key(&r, tif, 1, &err));
	ck_assert_ptr_null(r);
	free(proj);
	free(nx);
	free(tif);
	tu_rmdir(dir);
}
END_TEST

/* The averages, from NXtomo and from files in the projections' order. */
START_TEST(averages)
{
	const bool files = _i == 1;
	char *dir = tu_mkdtemp(), *nx = tu_path(dir, "scan.nxs");
	char *fl = tu_path(dir, "flat.tif"), *dk = tu_path(dir, "dark.h5");
	float *proj = tu_floats(NV * NR * NC);
	float flat2d[NR * NC], darks[NR * 3 * NC];
	struct kk_flatfield_opts o;
	struct kk_flatfield ff;
	struct kk_geometry g;
	struct kk_axes axes = files ? kk_axes_astra : kk_axes_default;
	struct kk_error err = {0};
	char desc[4096];
	int64_t r, c, k;

	tu_geometry(&g, SMALL);
	tu_random(proj, NV * NR * NC, 0, 1, 3);
	write_nxtomo(nx, proj, NV, NR, NC, true);
	kk_flatfield_opts_default(&o);
	o.on = true;
	if (files) {
		/* one 2-D flat; three darks stored row,frame,col */
		for (r = 0; r < NR; r++)
			for (c = 0; c < NC; c++) {
				flat2d[r * NC + c] = 2 * flat_at(0, r, c);
				for (k = 0; k < 3; k++)
					darks[(r * 3 + k) * NC + c] =
						dark_at((int)k, r, c);
			}
		write_stack(fl, (int64_t[3]){1, NR, NC}, flat2d);
		write_stack(dk, (int64_t[3]){NR, 3, NC}, darks);
		o.flats = fl;
		o.darks = dk;
	}
	ck_assert_msg(!kk_flatfield_setup(&ff, &o, nx, &g, &axes, &err), "%s",
		      err.msg);
	ck_assert_int_eq(ff.nflats, files ? 1 : 4);
	ck_assert_int_eq(ff.ndarks, files ? 3 : 2);
	ck_assert_int_eq(ff.dead, 0);
	for (r = 0; r < NR; r++)
		for (c = 0; c < NC; c++) {
			float d = dark_at(0, r, c) + (files ? 1.0f : 0.5f);
			float f = files ? 2 * flat_at(0, r, c)
					: flat_at(0, r, c) + 4.5f;

			ck_assert_float_eq_tol(ff.dark[r * NC + c], d, 1e-4);
			ck_assert_float_eq_tol(ff.gain[r * NC + c],
					       1.0f / (f - d), 1e-9);
		}
	kk_flatfield_describe(&ff, desc, sizeof(desc));
	ck_assert_ptr_nonnull(strstr(desc, files ? "1 flat field from"
					       : "4 flat fields from"));
	ck_assert_ptr_nonnull(strstr(desc, files ? "3 darks" : "2 darks"));
	kk_flatfield_release(&ff);
	kk_geometry_release(&g);
	free(proj);
	free(nx);
	free(fl);
	free(dk);
	tu_rmdir(dir);
}
END_TEST

/* What --raw refuses, naming the file; no darks; dead pixels. */
START_TEST(refusals)
{
	char *dir = tu_mkdtemp(), *nx = tu_path(dir, "scan.nxs");
	char *tif = tu_path(dir, "p.tif"), *bad = tu_path(dir, "bad.tif");
	const int64_t dims[3] = {NV, NR, NC};
	float *proj = tu_floats(NV * NR * NC), *wrong = tu_floats(NR * NC);
	struct kk_flatfield_opts o;
	struct kk_flatfield ff;
	struct kk_geometry g;
	struct kk_error err = {0};

	tu_geometry(&g, SMALL);
	tu_random(proj, NV * NR * NC, 0, 1, 3);
	write_stack(tif, dims, proj);
	kk_flatfield_opts_default(&o);
	o.on = true;
	ck_assert_int_eq(kk_flatfield_setup(&ff, &o, tif, &g, &kk_axes_default,
					    &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "--raw needs flat fields"));
	ck_assert_ptr_nonnull(strstr(err.msg, "--flats FILE"));
	ck_assert_ptr_nonnull(strstr(err.msg, tif));

	/* flats of another detector shape */
	write_stack(bad, (int64_t[3]){1, NC, NR}, wrong);
	o.flats = bad;
	ck_assert_int_eq(kk_flatfield_setup(&ff, &o, tif, &g, &kk_axes_default,
					    &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, bad) && strstr(err.msg, "flat fields") &&
		      strstr(err.msg, "frame,row,col"), "%s", err.msg);

	/* frames first, for projections stored row,angle,col */
	write_stack(bad, (int64_t[3]){3, NR, NC}, proj);
	ck_assert_int_eq(kk_flatfield_setup(&ff, &o, tif, &g, &kk_axes_astra,
					    &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, "(row,frame,col); they are stored like "
			     "the projections (--proj-axes), with frames "
			     "where the views are"), "%s", err.msg);

	/* no darks: taken as 0; dead pixels counted */
	write_nxtomo(nx, proj, NV, NR, NC, false);
	o.flats = NULL;
	ck_assert(!kk_flatfield_setup(&ff, &o, nx, &g, &kk_axes_default,
				      &err));
	ck_assert_int_eq(ff.ndarks, 0);
	ck_assert_float_eq(ff.dark[7], 0);
	ck_assert_float_eq_tol(ff.gain[7], 1.0f / (flat_at(0, 0, 7) + 4.5f),
			       1e-9);
	kk_flatfield_release(&ff);
	memset(wrong, 0, NR * NC * sizeof(float));
	wrong[13] = 1000;
	wrong[14] = -5;
	write_stack(bad, (int64_t[3]){1, NR, NC}, wrong);
	o.flats = bad;
	o.no_darks = true;
	ck_assert(!kk_flatfield_setup(&ff, &o, nx, &g, &kk_axes_default,
				      &err));
	ck_assert_int_eq(ff.dead, NR * NC - 1);
	ck_assert_float_eq(ff.gain[13], 1.0f / 1000);
	kk_flatfield_release(&ff);
	/* flats nowhere above the darks: refused */
	wrong[13] = 0;
	write_stack(bad, (int64_t[3]){1, NR, NC}, wrong);
	ck_assert_int_eq(kk_flatfield_setup(&ff, &o, nx, &g, &kk_axes_default,
					    &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, "no detector pixel's flat field") &&
		      strstr(err.msg, "not swapped?"), "%s", err.msg);
	kk_geometry_release(&g);
	free(proj);
	free(wrong);
	free(nx);
	free(tif);
	free(bad);
	tu_rmdir(dir);
}
END_TEST

/* Where value (v, r, c) of an array of dims stored in axes order is. */
static int64_t at_of(const struct kk_axes *axes, const int64_t dims[3],
		     int64_t v, int64_t r, int64_t c)
{
	int64_t at[3];

	at[axes->where[KK_ANGLE]] = v;
	at[axes->where[KK_ROW]] = r;
	at[axes->where[KK_COL]] = c;
	return (at[0] * dims[1] + at[1]) * dims[2] + at[2];
}

/* The correction in each axis order, of a window of rows, counting the
 * clipped values of fresh rows only. */
START_TEST(apply_orders)
{
	static const char *const orders[] = {"angle,row,col", "row,angle,col",
					     "col,row,angle"};
	char *dir = tu_mkdtemp(), *nx = tu_path(dir, "scan.nxs");
	const int64_t row0 = 1, nrows = 4;
	float *p = tu_floats(NV * NR * NC), *raw, *data;
	struct kk_flatfield_opts o;
	struct kk_flatfield ff;
	struct kk_fresh_rows fresh = {0, NR, 0, 2}; /* rows 2.. fresh */
	struct kk_geometry g;
	struct kk_axes axes;
	struct kk_error err = {0};
	int64_t v, r, c, dims[3];
	double worst = 0;

	ck_assert(!kk_axes_parse(orders[_i], &axes, &err));
	tu_geometry(&g, SMALL);
	tu_random(p, NV * NR * NC, 0, 4, 5);
	raw = raw_of(p, NV, NR, NC);
	write_nxtomo(nx, raw, NV, NR, NC, true);
	kk_flatfield_opts_default(&o);
	/* NXtomo's frames come angle first, whatever order the data has
	 * when it is corrected */
	ck_assert(!kk_flatfield_setup(&ff, &o, nx, &g, &kk_axes_default,
				      &err));
	dims[axes.where[KK_ANGLE]] = NV;
	dims[axes.where[KK_ROW]] = nrows;
	dims[axes.where[KK_COL]] = NC;
	data = tu_floats(NV * nrows * NC);
	for (v = 0; v < NV; v++)
		for (r = 0; r < nrows; r++)
			for (c = 0; c < NC; c++)
				data[at_of(&axes, dims, v, r, c)] =
					raw[(v * NR + row0 + r) * NC + c];
	/* clipped: a NaN in row 1 (counted before), a value below the
	 * dark in row 2, a dead pixel in row 3 in every view */
	data[at_of(&axes, dims, NV - 1, 0, 5)] = NAN;
	data[at_of(&axes, dims, 0, 1, 0)] = 0;
	ff.gain[3 * NC + 4] = 0;
	ck_assert(!kk_flatfield_apply(&ff, data, &axes, NV, row0, nrows,
				      &fresh, 2, &err));
	for (v = 0; v < NV; v++)
		for (r = 0; r < nrows; r++)
			for (c = 0; c < NC; c++) {
				float got = data[at_of(&axes, dims, v, r, c)];
				bool hit = (v == NV - 1 && r == 0 && c == 5) ||
					   (v == 0 && r == 1 && c == 0) ||
					   (r == 2 && c == 4);

				if (hit)
					ck_assert_float_eq_tol(got,
						-logf(1e-6f), 1e-4);
				else
					worst = fmax(worst, fabs(got -
						p[(v * NR + row0 + r) * NC +
						  c]));
			}
	printf("%s: worst %.2g, clipped %lld, seen %lld\n", orders[_i], worst,
	       (long long)ff.clipped, (long long)ff.seen);
	ck_assert_msg(worst < 2e-5, "%s: %g", orders[_i], worst);
	ck_assert_int_eq(ff.clipped, 1 + NV);
	ck_assert_int_eq(ff.seen, NV * 3 * NC);
	kk_flatfield_release(&ff);
	kk_geometry_release(&g);
	free(p);
	free(raw);
	free(data);
	free(nx);
	tu_rmdir(dir);
}
END_TEST

/* ---- fbp of raw counts, streamed ----------------------------------- */

#define CONE "{\"volume\": {\"shape\": [16, 32, 32]}, \"projection\": "  \
	"{\"type\": \"cone\", \"detector\": {\"shape\": [32, 64], "        \
	"\"pixel_size\": 1.0}, \"angles\": {\"start\": 0, \"stop\": 360, " \
	"\"count\": 60, \"unit\": \"degree\"}, \"source_origin\": 100, "   \
	"\"origin_detector\": 50}}"

/* fbp of in (line integrals, or raw counts with ff) into a volume. */
static float *fbp_stream(const struct kk_geometry *g, const char *in,
			 const char *out, struct kk_flatfield *ff,
			 uint64_t mem_limit, int64_t *nslabs)
{
	struct kk_device *d = cpu();
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	struct kk_fbp_opts fo;
	struct kk_fbp f;
	struct kk_error err = {0};
	int64_t vdims[3];
	float *v;

	kk_stream_opts_default(&o);
	o.mem_limit = mem_limit;
	kk_fbp_opts_default(&fo);
	ck_assert(!kk_fbp_setup(&f, g, &fo, &err));
	f.ff = ff;
	o.fbp = &f;
	ck_assert_msg(!stream_files(d, g, false, in, out, &o, &st, NULL,
				    &err), "%s", err.msg);
	*nslabs = st.nslabs;
	kk_geometry_volume_dims(g, vdims);
	v = read_stack(out, vdims);
	kk_fbp_release(&f);
	kk_device_close(d);
	return v;
}

START_TEST(fbp_raw_streamed)
{
	char *dir = tu_mkdtemp(), *pp = tu_path(dir, "p.h5");
	char *nx = tu_path(dir, "scan.nxs"), *bad = tu_path(dir, "bad.nxs");
	char *out = tu_path(dir, "v.h5");
	struct kk_phantom_opts po = {KK_PHANTOM_SHEPP_LOGAN, 0.6, 3, 0};
	struct kk_geometry g;
	struct kk_proj_chunk p;
	struct kk_flatfield_opts o;
	struct kk_flatfield ff;
	struct kk_error err = {0};
	int64_t nv, np, pdims[3], slabs = 0, slabs_raw = 0, v;
	int64_t seen[2];
	float *truth, *raw, *ref, *got;
	double e;
	int cut;

	tu_geometry(&g, CONE);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	truth = tu_floats(nv);
	ck_assert(!kk_phantom_fill(&g, &po, 0, g.vol.nz, truth, 2, &err));
	p.data = tu_floats(np);
	p.view0 = 0;
	p.nviews = g.nviews;
	p.row0 = 0;
	p.nrows = g.nrows;
	p.axes = kk_axes_default;
	ck_assert(!kk_cpu_fp(&g, truth, &p, 2, NULL, &err));
	kk_geometry_proj_dims(&g, &kk_axes_default, pdims);
	write_stack(pp, pdims, p.data);
	raw = raw_of(p.data, g.nviews, g.nrows, g.ncols);
	write_nxtomo(nx, raw, g.nviews, g.nrows, g.ncols, true);
	/* 5 values below the dark in the middle rows, which every slab
	 * reads */
	for (v = 0; v < 5; v++)
		raw[((v * 11) * g.nrows + 16) * g.ncols + 20 + v] = 1;
	write_nxtomo(bad, raw, g.nviews, g.nrows, g.ncols, true);
	kk_flatfield_opts_default(&o);
	for (cut = 0; cut < 2; cut++) {
		uint64_t limit = cut ? 150 << 10 : 0;

		ref = fbp_stream(&g, pp, out, NULL, limit, &slabs);
		ck_assert(!kk_flatfield_setup(&ff, &o, nx, &g,
					      &kk_axes_default, &err));
		got = fbp_stream(&g, nx, out, &ff, limit, &slabs_raw);
		e = tu_rel_l2(got, ref, nv);
		printf("fbp --raw, %lld slabs: %g from fbp of the line "
		       "integrals; clipped %lld of %lld\n",
		       (long long)slabs_raw, e, (long long)ff.clipped,
		       (long long)ff.seen);
		ck_assert_int_eq(slabs, slabs_raw);
		ck_assert_msg(e < 1e-5, "%g", e);
		ck_assert_int_eq(ff.clipped, 0);
		seen[cut] = ff.seen;
		kk_flatfield_release(&ff);
		free(got);

		/* the same count of clipped values, however many slabs */
		ck_assert(!kk_flatfield_setup(&ff, &o, bad, &g,
					      &kk_axes_default, &err));
		got = fbp_stream(&g, bad, out, &ff, limit, &slabs_raw);
		ck_assert_int_eq(ff.clipped, 5);
		ck_assert_int_eq(ff.seen, seen[cut]);
		if (cut)
			ck_assert_int_gt(slabs, 1);
		kk_flatfield_release(&ff);
		free(ref);
		free(got);
	}
	ck_assert_int_eq(seen[0], seen[1]);
	kk_geometry_release(&g);
	free(truth);
	free(raw);
	free(p.data);
	free(pp);
	free(nx);
	free(bad);
	free(out);
	tu_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("flatfield");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pixel_rule);
	tcase_add_test(tc, fresh_rows);
	tcase_add_test(tc, nxtomo_keys);
	tcase_add_loop_test(tc, averages, 0, 2);
	tcase_add_test(tc, refusals);
	tcase_add_loop_test(tc, apply_orders, 0, 3);
	tcase_add_test(tc, fbp_raw_streamed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
