/*
 * check_io.c: reading and writing stacks through io.h: every input type
 * in HDF5 and TIFF, every output type and layout, slabs along every axis
 * in any order, 2-D files, NXtomo and the default dataset, provenance,
 * and the temporary-then-rename rules (no file left half-written).
 */
#include "config.h"
#include "array.h"
#include "io.h"
#include "signals.h"
#include "testutil.h"

#include <dirent.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/stat.h>
#include <tiffio.h>

#define NZ 5
#define NY 6
#define NX 7
#define N (NZ * NY * NX)

/* The value every test stores at (z, y, x): exact in every type but
 * float16 (to 0.25), and cut down to fit 8-bit types. */
static double value_of(enum kk_dtype t, int64_t z, int64_t y, int64_t x)
{
	int v = (int)(z * 100 + y * 10 + x);

	return t == KK_U8 ? v % 200 : t == KK_I8 ? v % 100 - 50 : v;
}

static double value_at(int64_t z, int64_t y, int64_t x)
{
	return value_of(KK_F32, z, y, x);
}

static void fill(double *v, enum kk_dtype t)
{
	int64_t z, y, x;

	for (z = 0; z < NZ; z++)
		for (y = 0; y < NY; y++)
			for (x = 0; x < NX; x++)
				v[(z * NY + y) * NX + x] =
					value_of(t, z, y, x);
}

/* Read the whole array through kk_reader along axis, in two slabs. */
static void read_and_check(const char *spec, int axis, double tol,
			   enum kk_dtype t)
{
	const int64_t want[3] = {NZ, NY, NX};
	struct kk_error err = {0};
	struct kk_reader *r;
	float buf[N];
	int64_t len = want[axis], half = len / 2, i, z, y, x;
	int64_t d[3] = {NZ, NY, NX};

	ck_assert_msg(kk_reader_open(&r, spec, &err) == 0, "%s", err.msg);
	ck_assert_msg(kk_reader_expect(r, want, -1, "a volume", "z,y,x",
				       &err) == 0, "%s", err.msg);
	for (i = 0; i < 2; i++) {
		int64_t start = i ? half : 0, count = i ? len - half : half;
		float *slab = buf;

		ck_assert_msg(kk_reader_read(r, axis, start, count, slab,
					     &err) == 0, "%s", err.msg);
		d[axis] = count;
		for (z = 0; z < d[0]; z++)
			for (y = 0; y < d[1]; y++)
				for (x = 0; x < d[2]; x++) {
					int64_t c[3] = {z, y, x};
					double e, got;

					c[axis] += start;
					e = value_of(t, c[0], c[1], c[2]);
					got = slab[(z * d[1] + y) * d[2] + x];
					ck_assert_msg(fabs(got - e) <= tol,
						      "%s axis %d at %lld %lld "
						      "%lld: %g, want %g", spec,
						      axis, (long long)c[0],
						      (long long)c[1],
						      (long long)c[2], got, e);
				}
	}
	kk_reader_close(r);
}

/* ---- inputs of every type ------------------------------------------ */

static hid_t h5_type(enum kk_dtype t)
{
	hid_t h;

	switch (t) {
	case KK_U8: return H5T_STD_U8LE;
	case KK_I8: return H5T_STD_I8LE;
	case KK_U16: return H5T_STD_U16BE; /* big-endian on purpose */
	case KK_I16: return H5T_STD_I16LE;
	case KK_U32: return H5T_STD_U32LE;
	case KK_I32: return H5T_STD_I32LE;
	case KK_F64: return H5T_IEEE_F64BE;
	case KK_F16:
		h = H5Tcopy(H5T_IEEE_F32LE);
		H5Tset_fields(h, 15, 10, 5, 0, 10);
		H5Tset_size(h, 2);
		H5Tset_ebias(h, 15);
		return h;
	default: return H5T_IEEE_F32LE;
	}
}

static void write_h5(const char *path, const char *dset, enum kk_dtype t,
		     int rank)
{
	hsize_t dims3[3] = {NZ, NY, NX}, dims2[2] = {NY, NX};
	double v[N];
	hid_t f, s, d, lcpl;

	fill(v, t);
	f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	H5Pset_create_intermediate_group(lcpl, 1);
	s = rank == 3 ? H5Screate_simple(3, dims3, NULL)
		      : H5Screate_simple(2, dims2, NULL);
	d = H5Dcreate2(f, dset, h5_type(t), s, lcpl, H5P_DEFAULT,
		       H5P_DEFAULT);
	ck_assert_int_ge(d, 0);
	ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
				  H5P_DEFAULT, v), 0);
	H5Dclose(d);
	H5Sclose(s);
	H5Pclose(lcpl);
	H5Fclose(f);
}

static const enum kk_dtype input_types[] = {KK_U8, KK_I8, KK_U16, KK_I16,
					    KK_U32, KK_I32, KK_F16, KK_F32,
					    KK_F64};

START_TEST(hdf5_inputs)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "in.h5"), spec[4200];
	enum kk_dtype t = input_types[_i];
	/* float16 holds integers up to 2048 exactly, these to 0.25. */
	double tol = t == KK_F16 ? 0.25 : 0;
	int axis;

	write_h5(path, "/entry/stuff", t, 3);
	snprintf(spec, sizeof(spec), "%s:/entry/stuff", path);
	for (axis = 0; axis < 3; axis++)
		read_and_check(spec, axis, tol, t);
	/* The only 3-D dataset is found without a path. */
	read_and_check(path, 1, tol, t);
	free(path);
	tu_rmdir(dir);
}
END_TEST

/* A multi-page TIFF of the same values; tiled or deflated on request. */
static void write_tiff(const char *path, enum kk_dtype t, int tiled,
		       int compress)
{
	TIFF *tif = TIFFOpen(path, "w");
	int fmt = t == KK_F16 || t == KK_F32 || t == KK_F64
		  ? SAMPLEFORMAT_IEEEFP
		  : t == KK_I8 || t == KK_I16 || t == KK_I32 ? SAMPLEFORMAT_INT
		  : SAMPLEFORMAT_UINT;
	size_t es = kk_dtype_size(t);
	unsigned char page[NY * NX * 8];
	int64_t z, i;

	ck_assert_ptr_nonnull(tif);
	for (z = 0; z < NZ; z++) {
		for (i = 0; i < NY * NX; i++) {
			double v = value_of(t, z, i / NX, i % NX);
			void *p = page + i * es;

			switch (t) {
			case KK_U8: *(uint8_t *)p = (uint8_t)v; break;
			case KK_I8: *(int8_t *)p = (int8_t)v; break;
			case KK_U16: *(uint16_t *)p = (uint16_t)v; break;
			case KK_I16: *(int16_t *)p = (int16_t)v; break;
			case KK_U32: *(uint32_t *)p = (uint32_t)v; break;
			case KK_I32: *(int32_t *)p = (int32_t)v; break;
			case KK_F16: *(uint16_t *)p = kk_f32_to_f16((float)v);
				break;
			case KK_F32: *(float *)p = (float)v; break;
			case KK_F64: *(double *)p = v; break;
			}
		}
		TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, NX);
		TIFFSetField(tif, TIFFTAG_IMAGELENGTH, NY);
		TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (int)(8 * es));
		TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, fmt);
		TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
		TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
		TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(tif, TIFFTAG_COMPRESSION,
			     compress ? COMPRESSION_ADOBE_DEFLATE
				      : COMPRESSION_NONE);
		if (tiled) {
			/* 16 x 16 tiles over a 6 x 7 page: one, partial. */
			TIFFSetField(tif, TIFFTAG_TILEWIDTH, 16);
			TIFFSetField(tif, TIFFTAG_TILELENGTH, 16);
			unsigned char tile[16 * 16 * 8];

			memset(tile, 0, sizeof(tile));
			for (i = 0; i < NY; i++)
				memcpy(tile + i * 16 * es, page + i * NX * es,
				       NX * es);
			ck_assert_int_ge(TIFFWriteEncodedTile(tif, 0, tile,
					 sizeof(tile) / 8 * es), 0);
		} else {
			TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 4);
			ck_assert_int_ge(TIFFWriteEncodedStrip(tif, 0, page,
					 4 * NX * es), 0);
			ck_assert_int_ge(TIFFWriteEncodedStrip(tif, 1,
					 page + 4 * NX * es, 2 * NX * es), 0);
		}
		TIFFWriteDirectory(tif);
	}
	TIFFClose(tif);
}

START_TEST(tiff_inputs)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "in.tif");
	enum kk_dtype t = input_types[_i];
	struct kk_error err = {0};
	const int64_t want[3] = {NZ, NY, NX};
	struct kk_reader *r;
	float buf[N];
	int64_t i;
	int variant;

	for (variant = 0; variant < 3; variant++) {
		write_tiff(path, t, variant == 1, variant == 2);
		ck_assert_msg(kk_reader_open(&r, path, &err) == 0, "%s",
			      err.msg);
		ck_assert_int_eq(kk_reader_info(r)->dtype, t);
		ck_assert(kk_reader_expect(r, want, -1, "a volume", "z,y,x",
					   &err) == 0);
		ck_assert_msg(kk_reader_read(r, 2, 0, NX, buf, &err) == 0,
			      "%s", err.msg);
		for (i = 0; i < N; i++) {
			double e = value_of(t, i / (NY * NX), i / NX % NY,
					    i % NX);

			ck_assert_msg(fabs(buf[i] - e) <= (t == KK_F16 ? 0.25
								       : 0),
				      "%s variant %d [%lld]: %g, want %g",
				      kk_dtype_name(t), variant, (long long)i,
				      buf[i], e);
		}
		kk_reader_close(r);
	}
	free(path);
	tu_rmdir(dir);
}
END_TEST

/* Every box of a few shapes, read through kk_reader_read_box, against
 * value_of; frames maps the 3-D view's z to the stored z (NXtomo). */
static void check_boxes(const char *spec, const int64_t want[3],
			enum kk_dtype t, const int *frames)
{
	static const int64_t boxes[][6] = {
		{0, 0, 0, 1, 1, 1}, {1, 2, 0, 2, 3, NX}, {0, 5, 2, 3, 1, 4},
		{2, 0, 6, 1, 6, 1}, {0, 1, 1, 3, 4, 5},
	};
	struct kk_error err = {0};
	struct kk_reader *r;
	float buf[N];
	size_t b;

	ck_assert_msg(kk_reader_open(&r, spec, &err) == 0, "%s", err.msg);
	ck_assert(kk_reader_expect(r, want, 0, "a stack", "z,y,x",
				   &err) == 0);
	for (b = 0; b < sizeof(boxes) / sizeof(boxes[0]); b++) {
		const int64_t *s = boxes[b], *c = boxes[b] + 3;
		int64_t z, y, x, i = 0;

		if (s[0] + c[0] > want[0])
			continue;
		ck_assert_msg(kk_reader_read_box(r, s, c, buf, &err) == 0,
			      "%s", err.msg);
		for (z = s[0]; z < s[0] + c[0]; z++)
			for (y = s[1]; y < s[1] + c[1]; y++)
				for (x = s[2]; x < s[2] + c[2]; x++, i++) {
					double e = value_of(t, frames ?
							    frames[z] : z, y,
							    x);

					ck_assert_msg(fabs(buf[i] - e) <=
						      (t == KK_F16 ? 0.25 : 0),
						      "%s %s box %zu at %lld "
						      "%lld %lld: %g, want %g",
						      spec, kk_dtype_name(t), b,
						      (long long)z, (long long)y,
						      (long long)x, buf[i], e);
				}
	}
	/* Outside the stack: an error, not a read. */
	{
		const int64_t s[3] = {0, 4, 0}, c[3] = {1, 3, 1};

		ck_assert_int_eq(kk_reader_read_box(r, s, c, buf, &err),
				 KK_ERUNTIME);
		ck_assert_ptr_nonnull(strstr(err.msg, "outside axis 1"));
	}
	kk_reader_close(r);
}

/* The same values, chunked (2 x 3 x 4) and deflated. */
static void write_h5_chunked(const char *path, enum kk_dtype t)
{
	hsize_t dims[3] = {NZ, NY, NX}, chunk[3] = {2, 3, 4};
	double v[N];
	hid_t f, s, d, dcpl;

	fill(v, t);
	f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	s = H5Screate_simple(3, dims, NULL);
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	H5Pset_chunk(dcpl, 3, chunk);
	H5Pset_deflate(dcpl, 4);
	d = H5Dcreate2(f, "/data", h5_type(t), s, H5P_DEFAULT, dcpl,
		       H5P_DEFAULT);
	ck_assert_int_ge(d, 0);
	ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
				  H5P_DEFAULT, v), 0);
	H5Dclose(d);
	H5Pclose(dcpl);
	H5Sclose(s);
	H5Fclose(f);
}

START_TEST(box_reads)
{
	char *dir = tu_mkdtemp(), *h5 = tu_path(dir, "in.h5");
	char *tif = tu_path(dir, "in.tif"), *img = tu_path(dir, "img.h5");
	char *nx = tu_path(dir, "scan.nxs");
	enum kk_dtype t = input_types[_i];
	const int64_t full[3] = {NZ, NY, NX}, one[3] = {1, NY, NX};
	const int64_t three[3] = {3, NY, NX};
	const int frames[3] = {1, 3, 4};
	int32_t keys[NZ] = {2, 0, 1, 0, 0};
	hsize_t n = NZ;
	hid_t f, s, d;
	int variant;

	write_h5(h5, "/data", t, 3);
	check_boxes(h5, full, t, NULL);
	/* Chunked and compressed: through the HDF5 library. */
	write_h5_chunked(h5, t);
	check_boxes(h5, full, t, NULL);
	for (variant = 0; variant < 2; variant++) {
		write_tiff(tif, t, variant, 0);
		check_boxes(tif, full, t, NULL);
	}
	/* A 2-D file is a stack of one. */
	write_h5(img, "/data", t, 2);
	check_boxes(img, one, t, NULL);
	/* NXtomo: frames 1, 3 and 4 are the projections. */
	write_h5(nx, "/entry/instrument/detector/data", t, 3);
	f = H5Fopen(nx, H5F_ACC_RDWR, H5P_DEFAULT);
	s = H5Screate_simple(1, &n, NULL);
	d = H5Dcreate2(f, "/entry/instrument/detector/image_key",
		       H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT,
		       H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, keys);
	H5Dclose(d);
	H5Sclose(s);
	H5Fclose(f);
	check_boxes(nx, three, t, frames);
	free(h5);
	free(tif);
	free(img);
	free(nx);
	tu_rmdir(dir);
}
END_TEST

/* ---- outputs ------------------------------------------------------- */

/* Is anything named like a kkit temporary left in dir? */
static int temporaries_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".kkit") != NULL;
	closedir(d);
	return n;
}

static struct kk_write_opts plain_opts(enum kk_dtype t)
{
	struct kk_write_opts o;

	memset(&o, 0, sizeof(o));
	o.dtype = t;
	o.scale.set = t == KK_U16;
	o.scale.lo = -100;
	o.scale.hi = 1000;
	o.page_prefix = "slice";
	o.prov.kind = "volume";
	o.prov.axes = "z,y,x";
	o.prov.geometry = "{\"volume\": {\"shape\": [5, 6, 7]}}";
	o.prov.command = "kkit test 'with quotes'";
	return o;
}

static const char *const out_specs[] = {"out.h5", "out.h5:/a/b/recon",
					"out.tif", "out/"};
static const enum kk_dtype out_types[] = {KK_F32, KK_F16, KK_U16};

/* Every layout x type x write axis: slabs written out of order. */
START_TEST(writer_round_trip)
{
	int spec_i = _i / 9, type_i = _i / 3 % 3, axis = _i % 3;
	enum kk_dtype t = out_types[type_i];
	struct kk_write_opts o = plain_opts(t);
	const int64_t dims[3] = {NZ, NY, NX};
	char *dir = tu_mkdtemp(), *spec = tu_path(dir, out_specs[spec_i]);
	struct kk_error err = {0};
	struct kk_writer *w;
	double v[N], tol;
	float src[N], slab[N];
	int64_t len = dims[axis], k, z, y, x, d[3];

	fill(v, KK_F32);
	for (k = 0; k < N; k++)
		src[k] = (float)v[k];
	ck_assert_msg(kk_writer_create(&w, spec, dims, -1, &o, &err) == 0,
		      "%s", err.msg);
	/* Backwards, one index at a time. */
	for (k = len - 1; k >= 0; k--) {
		memcpy(d, dims, sizeof(d));
		d[axis] = 1;
		for (z = 0; z < d[0]; z++)
			for (y = 0; y < d[1]; y++)
				for (x = 0; x < d[2]; x++) {
					int64_t c[3] = {z, y, x};

					c[axis] = k;
					slab[(z * d[1] + y) * d[2] + x] =
						src[(c[0] * NY + c[1]) * NX +
						    c[2]];
				}
		ck_assert_msg(kk_writer_write(w, axis, k, 1, slab, &err) == 0,
			      "%s", err.msg);
	}
	ck_assert_msg(kk_writer_commit(w, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(temporaries_in(dir), 0);
	tol = t == KK_U16 ? 1100.0 / 65535 : t == KK_F16 ? 0.25 : 0;
	read_and_check(spec, (axis + 1) % 3, tol, KK_F32);
	free(spec);
	tu_rmdir(dir);
}
END_TEST

/* 2-D files: a 2D image is written and read without its z axis. */
START_TEST(two_d_files)
{
	const char *specs[] = {"img.h5", "img.tif"};
	const int64_t dims[3] = {1, NY, NX};
	struct kk_write_opts o = plain_opts(KK_F32);
	struct kk_error err = {0};
	struct kk_writer *w;
	struct kk_reader *r;
	float img[NY * NX], back[NY * NX];
	char *dir = tu_mkdtemp();
	int i;

	tu_random(img, NY * NX, -1, 1, 3);
	for (i = 0; i < 2; i++) {
		char *spec = tu_path(dir, specs[i]);

		ck_assert(kk_writer_create(&w, spec, dims, 0, &o, &err) == 0);
		ck_assert(kk_writer_write(w, 0, 0, 1, img, &err) == 0);
		ck_assert(kk_writer_commit(w, &err) == 0);
		ck_assert(kk_reader_open(&r, spec, &err) == 0);
		ck_assert_int_eq(kk_reader_info(r)->rank, 2);
		ck_assert_int_eq(kk_reader_info(r)->dims[0], NY);
		ck_assert(kk_reader_expect(r, dims, 0, "a volume", "y,x",
					   &err) == 0);
		ck_assert(kk_reader_read(r, 0, 0, 1, back, &err) == 0);
		ck_assert_mem_eq(img, back, sizeof(img));
		ck_assert(kk_reader_read(r, 2, 3, 2, back, &err) == 0);
		ck_assert_float_eq(back[0], img[3]);
		ck_assert_float_eq(back[1], img[4]);
		ck_assert_float_eq(back[2], img[NX + 3]);
		kk_reader_close(r);
		free(spec);
	}
	tu_rmdir(dir);
}
END_TEST

START_TEST(shape_mismatch)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "in.h5");
	const int64_t want[3] = {NZ, NY, NX + 1};
	struct kk_error err = {0};
	struct kk_reader *r;
	char expect[4300];

	write_h5(path, "/data", KK_F32, 3);
	ck_assert(kk_reader_open(&r, path, &err) == 0);
	ck_assert_int_eq(kk_reader_expect(r, want, -1, "a volume", "z,y,x",
					  &err), KK_EINPUT);
	snprintf(expect, sizeof(expect), "'%s:/data' holds a volume of shape "
		 "5 x 6 x 7 but the geometry needs 5 x 6 x 8 (z,y,x)", path);
	ck_assert_str_eq(err.msg, expect);
	kk_reader_close(r);
	free(path);
	tu_rmdir(dir);
}
END_TEST

/* NXtomo: only image_key 0 frames, in order; DXchange and ambiguity. */
START_TEST(hdf5_layouts)
{
	char *dir = tu_mkdtemp(), *nx = tu_path(dir, "scan.nxs");
	char *dx = tu_path(dir, "dx.h5"), *two = tu_path(dir, "two.h5");
	int32_t keys[NZ] = {2, 0, 1, 0, 0};
	const int64_t want[3] = {3, NY, NX};
	struct kk_error err = {0};
	struct kk_reader *r;
	float buf[N];
	hsize_t n = NZ;
	hid_t f, s, d;

	write_h5(nx, "/entry/instrument/detector/data", KK_U16, 3);
	f = H5Fopen(nx, H5F_ACC_RDWR, H5P_DEFAULT);
	s = H5Screate_simple(1, &n, NULL);
	d = H5Dcreate2(f, "/entry/instrument/detector/image_key",
		       H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT,
		       H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, keys);
	H5Dclose(d);
	H5Sclose(s);
	H5Fclose(f);
	ck_assert_msg(kk_reader_open(&r, nx, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(kk_reader_info(r)->dims[0], 3);
	ck_assert_ptr_nonnull(strstr(kk_reader_note(r), "using 3 of 5"));
	ck_assert(kk_reader_expect(r, want, -1, "projections",
				   "angle,row,col", &err) == 0);
	ck_assert(kk_reader_read(r, 0, 1, 2, buf, &err) == 0);
	ck_assert_float_eq(buf[0], value_at(3, 0, 0));
	ck_assert_float_eq(buf[NY * NX], value_at(4, 0, 0));
	ck_assert(kk_reader_read(r, 1, 2, 1, buf, &err) == 0);
	ck_assert_float_eq(buf[0], value_at(1, 2, 0));
	ck_assert_float_eq(buf[NX], value_at(3, 2, 0));
	ck_assert_float_eq(buf[2 * NX + 6], value_at(4, 2, 6));
	kk_reader_close(r);

	write_h5(dx, "/exchange/data", KK_F32, 3);
	ck_assert(kk_reader_open(&r, dx, &err) == 0);
	ck_assert_ptr_nonnull(strstr(kk_reader_name(r), ":/exchange/data"));
	kk_reader_close(r);

	write_h5(two, "/a", KK_F32, 3);
	f = H5Fopen(two, H5F_ACC_RDWR, H5P_DEFAULT);
	H5Ocopy(f, "/a", f, "/b", H5P_DEFAULT, H5P_DEFAULT);
	H5Fclose(f);
	ck_assert_int_eq(kk_reader_open(&r, two, &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "holds several datasets "
				     "(/a, /b): name one"));
	free(nx);
	free(dx);
	free(two);
	tu_rmdir(dir);
}
END_TEST

START_TEST(bad_inputs)
{
	char *dir = tu_mkdtemp(), *txt = tu_path(dir, "fake.h5");
	char *h5 = tu_path(dir, "real.h5"), spec[4200], expect[4300];
	struct kk_error err = {0};
	struct kk_reader *r;
	FILE *f = fopen(txt, "w");

	fputs("not hdf5\n", f);
	fclose(f);
	ck_assert_int_eq(kk_reader_open(&r, txt, &err), KK_EINPUT);
	snprintf(expect, sizeof(expect), "'%s' is not an HDF5 file", txt);
	ck_assert_str_eq(err.msg, expect);
	ck_assert_int_eq(kk_reader_open(&r, "/no/such.h5", &err), KK_EINPUT);
	ck_assert_str_eq(err.msg, "cannot open '/no/such.h5': No such file "
			 "or directory");
	write_h5(h5, "/data", KK_F32, 3);
	snprintf(spec, sizeof(spec), "%s:/nope/data", h5);
	ck_assert_int_eq(kk_reader_open(&r, spec, &err), KK_EINPUT);
	snprintf(expect, sizeof(expect), "'%s' has no dataset '/nope/data'",
		 h5);
	ck_assert_str_eq(err.msg, expect);
	/* A truncated HDF5 file. */
	ck_assert_int_eq(truncate(h5, 1200), 0);
	if (kk_reader_open(&r, h5, &err) == 0) {
		const int64_t want[3] = {NZ, NY, NX};
		float buf[N];

		ck_assert(kk_reader_expect(r, want, -1, "a volume", "z,y,x",
					   &err) == 0);
		ck_assert_int_eq(kk_reader_read(r, 0, 0, NZ, buf, &err),
				 KK_EINPUT);
		kk_reader_close(r);
	}
	ck_assert_ptr_nonnull(strstr(err.msg, "real.h5"));
	free(txt);
	free(h5);
	tu_rmdir(dir);
}
END_TEST

/* Write a whole stack of shape dims from src; fails the test if not. */
static void write_all(const char *spec, const int64_t *dims,
		      const struct kk_write_opts *o, const float *src)
{
	struct kk_error err = {0};
	struct kk_writer *w;

	ck_assert_msg(kk_writer_create(&w, spec, dims, -1, o, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(kk_writer_write(w, 0, 0, dims[0], src, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(kk_writer_commit(w, &err) == 0, "%s", err.msg);
}

static void read_all(const char *spec, const int64_t *dims, float *dst)
{
	struct kk_error err = {0};
	struct kk_reader *r;

	ck_assert_msg(kk_reader_open(&r, spec, &err) == 0, "%s", err.msg);
	ck_assert_msg(kk_reader_expect(r, dims, -1, "a volume", "z,y,x",
				       &err) == 0, "%s", err.msg);
	ck_assert(kk_reader_read(r, 0, 0, dims[0], dst, &err) == 0);
	kk_reader_close(r);
}

/* Overwrites, aborts and incomplete outputs leave nothing behind. */
START_TEST(output_rules)
{
	const int64_t dims[3] = {NZ, NY, NX};
	struct kk_write_opts o = plain_opts(KK_F32);
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "v.h5");
	char expect[4300];
	struct kk_error err = {0};
	struct kk_writer *w;
	float src[N], other[N], back[N];

	tu_random(src, N, 0, 1, 1);
	tu_random(other, N, 0, 1, 2);
	write_all(path, dims, &o, src);
	ck_assert_int_eq(kk_writer_create(&w, path, dims, -1, &o, &err),
			 KK_EINPUT);
	snprintf(expect, sizeof(expect), "'%s' exists: use --force to "
		 "replace it", path);
	ck_assert_str_eq(err.msg, expect);
	o.force = true;
	ck_assert(kk_writer_create(&w, path, dims, -1, &o, &err) == 0);
	ck_assert_int_eq(temporaries_in(dir), 1);
	kk_writer_abort(w);
	ck_assert_int_eq(temporaries_in(dir), 0);
	/* Half-written: commit refuses, and the old file stays as it was. */
	ck_assert(kk_writer_create(&w, path, dims, -1, &o, &err) == 0);
	ck_assert(kk_writer_write(w, 0, 0, 2, other, &err) == 0);
	ck_assert_int_eq(kk_writer_commit(w, &err), KK_ERUNTIME);
	ck_assert_int_eq(temporaries_in(dir), 0);
	read_all(path, dims, back);
	ck_assert_mem_eq(back, src, sizeof(src));
	/* With --force it is replaced. */
	write_all(path, dims, &o, other);
	read_all(path, dims, back);
	ck_assert_mem_eq(back, other, sizeof(src));
	/* A missing directory is the user's mistake. */
	ck_assert_int_eq(kk_writer_create(&w, "/no/such/dir/v.h5", dims, -1,
					  &o, &err), KK_EINPUT);
	ck_assert_str_eq(err.msg, "cannot write output '/no/such/dir/v.h5': "
			 "No such file or directory");
	ck_assert_int_eq(kk_writer_create(&w, "v.dat", dims, -1, &o, &err),
			 KK_EUSAGE);
	free(path);
	tu_rmdir(dir);
}
END_TEST

/* --force never loses other datasets of an HDF5 file. */
START_TEST(force_keeps_other_datasets)
{
	const int64_t dims[3] = {NZ, NY, NX};
	struct kk_write_opts o = plain_opts(KK_F32);
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "scan.h5");
	char spec[4200], expect[4400];
	struct kk_error err = {0};
	struct kk_writer *w;
	float src[N];

	tu_random(src, N, 0, 1, 1);
	snprintf(spec, sizeof(spec), "%s:/entry/volume", path);
	write_all(spec, dims, &o, src);
	o.force = true;
	/* The same dataset again: the file holds nothing else. */
	write_all(spec, dims, &o, src);
	snprintf(spec, sizeof(spec), "%s:/entry/proj", path);
	ck_assert_int_eq(kk_writer_create(&w, spec, dims, -1, &o, &err),
			 KK_EINPUT);
	snprintf(expect, sizeof(expect), "'%s' holds other datasets "
		 "(/entry/volume): kkit writes whole files, so replacing it "
		 "would lose them; write '/entry/proj' to another file", path);
	ck_assert_str_eq(err.msg, expect);
	/* Naming no dataset asks for the whole file: that is replaced. */
	write_all(path, dims, &o, src);
	free(path);
	tu_rmdir(dir);
}
END_TEST

/* A directory that exists is filled in place, file by file; --force
 * replaces its old pages, and only those. */
START_TEST(directory_outputs)
{
	const int64_t dims[3] = {NZ, NY, NX}, fewer[3] = {3, NY, NX};
	struct kk_write_opts o = plain_opts(KK_F32);
	char *dir = tu_mkdtemp(), *sub = tu_path(dir, "slices/");
	char *link = tu_path(dir, "link"), *notes = tu_path(sub, "notes.txt");
	char *inner = tu_path(sub, "keep"), *page = tu_path(sub,
							     "slice_00004.tif");
	char *subdir = tu_path(dir, "slices");
	struct kk_error err = {0};
	struct kk_writer *w;
	struct stat before, after;
	float src[N], back[N];
	FILE *f;

	tu_random(src, N, 0, 1, 1);
	/* A new directory appears whole. */
	write_all(sub, dims, &o, src);
	read_all(sub, dims, back);
	ck_assert_mem_eq(back, src, sizeof(src));
	f = fopen(notes, "w");
	fputs("mine\n", f);
	fclose(f);
	ck_assert_int_eq(mkdir(inner, 0755), 0);
	ck_assert_int_eq(stat(subdir, &before), 0);
	/* Its pages are there: not without --force. */
	ck_assert_int_eq(kk_writer_create(&w, sub, dims, -1, &o, &err),
			 KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "holds TIFF files: use "
				     "--force to replace them"));
	/* Through a link, with --force, fewer pages: the stale go. */
	ck_assert_int_eq(symlink("slices", link), 0);
	o.force = true;
	write_all(link, fewer, &o, src);
	read_all(link, fewer, back);
	ck_assert_mem_eq(back, src, 3 * NY * NX * sizeof(float));
	ck_assert_int_eq(access(page, F_OK), -1);
	ck_assert_int_eq(access(notes, F_OK), 0);
	ck_assert_int_eq(access(inner, F_OK), 0);
	ck_assert_int_eq(stat(subdir, &after), 0);
	ck_assert_int_eq(before.st_ino, after.st_ino);
	ck_assert_int_eq(temporaries_in(subdir), 0);
	ck_assert_int_eq(temporaries_in(dir), 0);
	free(sub);
	free(subdir);
	free(link);
	free(notes);
	free(inner);
	free(page);
	tu_rmdir(dir);
}
END_TEST

/* SIGINT or SIGTERM while writing: nothing is put in place. */
START_TEST(interrupted_writer)
{
	const int64_t dims[3] = {NZ, NY, NX};
	struct kk_write_opts o = plain_opts(KK_F32);
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "v.tif");
	struct kk_error err = {0};
	struct kk_writer *w;
	float src[N];

	tu_random(src, N, 0, 1, 1);
	kk_signals_install();
	ck_assert(kk_writer_create(&w, path, dims, -1, &o, &err) == 0);
	ck_assert(kk_writer_write(w, 0, 0, NZ, src, &err) == 0);
	/* Everything is written; the signal comes before the rename. */
	raise(SIGTERM);
	ck_assert_int_eq(kk_writer_commit(w, &err), KK_EINTR);
	ck_assert_int_eq(err.signo, SIGTERM);
	ck_assert_int_eq(kk_exit_status(&err), 143);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* And later writes stop too. */
	ck_assert(kk_writer_create(&w, path, dims, -1, &o, &err) == 0);
	ck_assert_int_eq(kk_writer_write(w, 0, 0, NZ, src, &err), KK_EINTR);
	kk_writer_abort(w);
	ck_assert_int_eq(temporaries_in(dir), 0);
	free(path);
	tu_rmdir(dir);
}
END_TEST

static char *h5_string_attr(const char *path, const char *name)
{
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	hid_t d = H5Dopen2(f, "/data", H5P_DEFAULT);
	hid_t a = H5Aopen(d, name, H5P_DEFAULT);
	hid_t t = H5Tcopy(H5T_C_S1);
	char *s = NULL, *copy;

	H5Tset_size(t, H5T_VARIABLE);
	H5Tset_cset(t, H5T_CSET_UTF8);
	ck_assert_int_ge(H5Aread(a, t, &s), 0);
	copy = strdup(s);
	H5free_memory(s);
	H5Tclose(t);
	H5Aclose(a);
	H5Dclose(d);
	H5Fclose(f);
	return copy;
}

START_TEST(provenance)
{
	const int64_t dims[3] = {NZ, NY, NX};
	struct kk_write_opts o = plain_opts(KK_F32);
	char *dir = tu_mkdtemp(), *h5 = tu_path(dir, "v.h5");
	char *tif = tu_path(dir, "v.tif"), *s, *desc;
	struct kk_error err = {0};
	struct kk_writer *w;
	float src[N];
	TIFF *t;

	tu_random(src, N, 0, 1, 1);
	ck_assert(kk_writer_create(&w, h5, dims, -1, &o, &err) == 0);
	ck_assert(kk_writer_write(w, 0, 0, NZ, src, &err) == 0);
	ck_assert(kk_writer_commit(w, &err) == 0);
	s = h5_string_attr(h5, "kkit_version");
	ck_assert_str_eq(s, PACKAGE_VERSION);
	free(s);
	s = h5_string_attr(h5, "kkit_command");
	ck_assert_str_eq(s, "kkit test 'with quotes'");
	free(s);
	s = h5_string_attr(h5, "kkit_geometry");
	ck_assert_str_eq(s, "{\"volume\": {\"shape\": [5, 6, 7]}}");
	free(s);
	s = h5_string_attr(h5, "kkit_axes");
	ck_assert_str_eq(s, "z,y,x");
	free(s);
	ck_assert(kk_writer_create(&w, tif, dims, -1, &o, &err) == 0);
	ck_assert(kk_writer_write(w, 0, 0, NZ, src, &err) == 0);
	ck_assert(kk_writer_commit(w, &err) == 0);
	t = TIFFOpen(tif, "r");
	ck_assert_ptr_nonnull(t);
	ck_assert(TIFFGetField(t, TIFFTAG_IMAGEDESCRIPTION, &desc));
	ck_assert_ptr_nonnull(strstr(desc, "\"kkit\":\"" PACKAGE_VERSION));
	ck_assert_ptr_nonnull(strstr(desc, "\"geometry\":{\"volume\""));
	ck_assert_ptr_nonnull(strstr(desc, "with quotes"));
	TIFFClose(t);
	free(h5);
	free(tif);
	tu_rmdir(dir);
}
END_TEST

/* Directories and patterns of single-page TIFFs, in natural order. */
START_TEST(tiff_lists)
{
	const char *names[] = {"p_10.tif", "p_9.tif", "p_0011.TIFF",
			       ".hidden.tif", "notes.txt"};
	const int64_t order[] = {9, 10, 11};
	const int64_t want[3] = {3, NY, NX};
	struct kk_error err = {0};
	struct kk_reader *r;
	char *dir = tu_mkdtemp(), *empty = tu_path(dir, "empty");
	char spec[4200];
	float buf[3 * NY * NX];
	int i, k;

	for (i = 0; i < 5; i++) {
		char *p = tu_path(dir, names[i]);
		FILE *f;

		if (i < 4) {
			TIFF *t = TIFFOpen(p, "w");
			float row[NX];

			TIFFSetField(t, TIFFTAG_IMAGEWIDTH, NX);
			TIFFSetField(t, TIFFTAG_IMAGELENGTH, NY);
			TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
			TIFFSetField(t, TIFFTAG_SAMPLEFORMAT,
				     SAMPLEFORMAT_IEEEFP);
			TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
			TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
				     PHOTOMETRIC_MINISBLACK);
			for (k = 0; k < NX; k++)
				row[k] = (float)(i == 0 ? 10 : i == 1 ? 9
						 : i == 2 ? 11 : -1);
			for (k = 0; k < NY; k++)
				TIFFWriteScanline(t, row, k, 0);
			TIFFClose(t);
		} else {
			f = fopen(p, "w");
			fputs("x\n", f);
			fclose(f);
		}
		free(p);
	}
	for (i = 0; i < 2; i++) {
		if (i == 0)
			snprintf(spec, sizeof(spec), "%s", dir);
		else
			snprintf(spec, sizeof(spec), "%s/p_*", dir);
		ck_assert_msg(kk_reader_open(&r, spec, &err) == 0, "%s",
			      err.msg);
		ck_assert_msg(kk_reader_expect(r, want, -1, "projections",
					       "angle,row,col", &err) == 0,
			      "%s", err.msg);
		ck_assert(kk_reader_read(r, 0, 0, 3, buf, &err) == 0);
		for (k = 0; k < 3; k++)
			ck_assert_float_eq(buf[k * NY * NX], order[k]);
		kk_reader_close(r);
	}
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	ck_assert_int_eq(kk_reader_open(&r, empty, &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "holds no .tif or .tiff"));
	snprintf(spec, sizeof(spec), "%s/q_*.tif", dir);
	ck_assert_int_eq(kk_reader_open(&r, spec, &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "no file matches"));
	free(empty);
	tu_rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");
	int ntypes = sizeof(input_types) / sizeof(input_types[0]);

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, hdf5_inputs, 0, ntypes);
	tcase_add_loop_test(tc, tiff_inputs, 0, ntypes);
	tcase_add_loop_test(tc, box_reads, 0, ntypes);
	tcase_add_loop_test(tc, writer_round_trip, 0, 4 * 3 * 3);
	tcase_add_test(tc, two_d_files);
	tcase_add_test(tc, shape_mismatch);
	tcase_add_test(tc, hdf5_layouts);
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, output_rules);
	tcase_add_test(tc, force_keeps_other_datasets);
	tcase_add_test(tc, directory_outputs);
	tcase_add_test(tc, interrupted_writer);
	tcase_add_test(tc, provenance);
	tcase_add_test(tc, tiff_lists);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
