/*
 * mkraw.c: a test tool for the CLI tests of --raw (not installed): raw
 * detector counts as a beamline writes them, from line integrals.
 *
 *   mkraw [-n] [-s S] [-z N] PROJ OUT.nxs [FLATS DARKS]
 *
 * PROJ holds line integrals p (angle,row,col).  OUT.nxs gets an NXtomo
 * /entry/instrument/detector/data of uint16 counts round(dark + (flat -
 * dark) exp(-p)) with its image_key: 2 darks, 3 flat fields, the
 * projections, 2 more flat fields.  The flats' frames are 0.98 to 1.02
 * times the flat and the darks' 2 below and above the dark, so their
 * means are the flat and the dark.  -z N sets N counts of the middle
 * detector row to 0 (below the dark: --raw clips them); -n leaves the
 * darks out of OUT.nxs (their frames stay in DARKS); -s S takes S p
 * for p (to keep large problems' rays from going dark).  FLATS and
 * DARKS, when given, get the same frames as float32 stacks of their own.
 */
#include "config.h"
#include "io.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NDARK 2
#define NFLAT 5
#define NFLAT_BEFORE 3

static double flat_of(int64_t r, int64_t c)
{
	return 20000 + 3000 * sin((double)c / 7) + 50 * (double)r;
}

static double dark_of(int64_t r, int64_t c)
{
	return 100 + (double)((r + c) % 5);
}

static double flat_frame(int k, int64_t r, int64_t c)
{
	return flat_of(r, c) * (0.98 + 0.01 * k);
}

static double dark_frame(int k, int64_t r, int64_t c)
{
	return dark_of(r, c) + (k ? 2 : -2);
}

static void die(const char *what, const struct kk_error *err)
{
	fprintf(stderr, "mkraw: %s%s%s\n", what, err ? ": " : "",
		err ? err->msg : "");
	exit(2);
}

static uint16_t count(double v)
{
	v = floor(v + 0.5);
	return (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
}

/* n frames of f(k, r, c) as a float32 stack (frame,row,col). */
static void write_frames(const char *spec, int n, int64_t nr, int64_t nc,
			 double (*f)(int, int64_t, int64_t))
{
	const int64_t dims[3] = {n, nr, nc};
	struct kk_write_opts wo;
	struct kk_writer *w;
	struct kk_error err = {0};
	float *a = malloc((size_t)(n * nr * nc) * sizeof(float));
	int64_t r, c;
	int k;

	if (!a)
		die("out of memory", NULL);
	for (k = 0; k < n; k++)
		for (r = 0; r < nr; r++)
			for (c = 0; c < nc; c++)
				a[(k * nr + r) * nc + c] = (float)f(k, r, c);
	memset(&wo, 0, sizeof(wo));
	wo.dtype = KK_F32;
	wo.force = true;
	wo.page_prefix = "frame";
	wo.prov.kind = "frames";
	if (kk_writer_create(&w, spec, dims, -1, &wo, &err) ||
	    kk_writer_write(w, 0, 0, n, a, &err) ||
	    kk_writer_commit(w, &err))
		die(spec, &err);
	free(a);
}

int main(int argc, char **argv)
{
	struct kk_reader *r;
	struct kk_error err = {0};
	const struct kk_stack_info *info;
	int64_t nv, nr, nc, n, v, row, col, zero = 0, ndark = NDARK;
	hsize_t dims[3], kn;
	uint16_t *data;
	int32_t *keys;
	float *frame;
	hid_t f, s, d, lcpl;
	double scale = 1;
	int opt;

	while ((opt = getopt(argc, argv, "ns:z:")) != -1)
		if (opt == 'z')
			zero = atoll(optarg);
		else if (opt == 's')
			scale = atof(optarg);
		else if (opt == 'n')
			ndark = 0;
		else
			die("usage: mkraw [-n] [-s S] [-z N] PROJ OUT.nxs "
			    "[FLATS DARKS]", NULL);
	if (argc - optind != 2 && argc - optind != 4)
		die("usage: mkraw [-n] [-s S] [-z N] PROJ OUT.nxs [FLATS "
		    "DARKS]", NULL);
	if (kk_reader_open(&r, argv[optind], &err))
		die(argv[optind], &err);
	info = kk_reader_info(r);
	if (info->rank != 3)
		die("PROJ must be 3-D (angle,row,col)", NULL);
	nv = info->dims[0];
	nr = info->dims[1];
	nc = info->dims[2];
	if (kk_reader_expect(r, info->dims, -1, "projections", "angle,row,col",
			     &err))
		die(argv[optind], &err);
	n = ndark + NFLAT + nv;
	data = malloc((size_t)(n * nr * nc) * sizeof(*data));
	keys = malloc((size_t)n * sizeof(*keys));
	frame = malloc((size_t)(nr * nc) * sizeof(*frame));
	if (!data || !keys || !frame)
		die("out of memory", NULL);
	for (v = 0; v < n; v++) {
		int64_t k = v < ndark ? v : v < ndark + NFLAT_BEFORE
			    ? v - ndark : v - ndark - nv;
		bool proj = v >= ndark + NFLAT_BEFORE &&
			    v < ndark + NFLAT_BEFORE + nv;
		uint16_t *out = data + v * nr * nc;

		keys[v] = v < ndark ? 2 : proj ? 0 : 1;
		if (proj && kk_reader_read(r, 0, v - ndark - NFLAT_BEFORE, 1,
					   frame, &err))
			die(argv[optind], &err);
		for (row = 0; row < nr; row++)
			for (col = 0; col < nc; col++) {
				double dk = dark_of(row, col);

				out[row * nc + col] = count(
					keys[v] == 2 ? dark_frame((int)k, row,
								  col)
					: keys[v] == 1 ? flat_frame((int)k, row,
								    col)
					: dk + (flat_of(row, col) - dk) *
					  exp(-scale * frame[row * nc + col]));
			}
		if (proj && zero > 0 && (v - ndark - NFLAT_BEFORE) % 3 == 0) {
			out[nr / 2 * nc + (v % nc)] = 0;
			zero--;
		}
	}
	kk_reader_close(r);
	f = H5Fcreate(argv[optind + 1], H5F_ACC_TRUNC, H5P_DEFAULT,
		      H5P_DEFAULT);
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	H5Pset_create_intermediate_group(lcpl, 1);
	dims[0] = (hsize_t)n;
	dims[1] = (hsize_t)nr;
	dims[2] = (hsize_t)nc;
	s = H5Screate_simple(3, dims, NULL);
	d = H5Dcreate2(f, "/entry/instrument/detector/data", H5T_STD_U16LE, s,
		       lcpl, H5P_DEFAULT, H5P_DEFAULT);
	if (f < 0 || d < 0 || H5Dwrite(d, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL,
				       H5P_DEFAULT, data) < 0)
		die("cannot write the NXtomo data", NULL);
	H5Dclose(d);
	H5Sclose(s);
	kn = (hsize_t)n;
	s = H5Screate_simple(1, &kn, NULL);
	d = H5Dcreate2(f, "/entry/instrument/detector/image_key",
		       H5T_STD_I32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
	if (d < 0 || H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL,
			      H5P_DEFAULT, keys) < 0)
		die("cannot write image_key", NULL);
	H5Dclose(d);
	H5Sclose(s);
	H5Pclose(lcpl);
	H5Fclose(f);
	if (argc - optind == 4) {
		write_frames(argv[optind + 2], NFLAT, nr, nc, flat_frame);
		write_frames(argv[optind + 3], NDARK, nr, nc, dark_frame);
	}
	free(data);
	free(keys);
	free(frame);
	return 0;
}
