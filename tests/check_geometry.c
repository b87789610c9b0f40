/*
 * check_geometry.c: geometry files in both spellings, their expansion to
 * ASTRA vectors (checked against vectors worked out by hand), and a table
 * of bad files with the message each must give.
 */
#include "config.h"
#include "geometry.h"
#include "testutil.h"

#include <dirent.h>
#include <hdf5.h>

#define EPS 1e-9

static void assert_vec(const double *got, double x, double y, double z)
{
	ck_assert_msg(fabs(got[0] - x) < EPS && fabs(got[1] - y) < EPS &&
		      fabs(got[2] - z) < EPS,
		      "got (%g, %g, %g), expected (%g, %g, %g)", got[0],
		      got[1], got[2], x, y, z);
}

/* Every example in data/ parses. */
START_TEST(examples_parse)
{
	const char *dir = getenv("KKIT_DATA");
	struct kk_error err = {0};
	struct kk_geometry g;
	struct dirent *e;
	char path[4096];
	int n = 0;
	DIR *d;

	ck_assert_msg(dir != NULL, "KKIT_DATA is not set");
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ck_assert_msg(kk_geometry_load(path, 0, &g, &err) == 0,
			      "%s: %s", path, err.msg);
		ck_assert(g.has_projection && g.nviews > 0);
		kk_geometry_release(&g);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, 10);
}
END_TEST

/* Every geometry example in man kkit-geometry(5) parses: the page and
 * the parser cannot drift apart. */
START_TEST(manpage_examples)
{
	const char *src = getenv("KKIT_SRCDIR");
	char path[4096], line[512], *text = NULL;
	size_t len = 0, cap = 0;
	int in_block = 0, n = 0;
	FILE *f;

	ck_assert_msg(src != NULL, "KKIT_SRCDIR is not set");
	snprintf(path, sizeof(path), "%s/man/kkit-geometry.5", src);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *p, *q;

		if (!in_block && !strncmp(line, "{\"volume\"", 9)) {
			in_block = 1;
			len = 0;
		}
		if (!in_block)
			continue;
		if (!strncmp(line, ".fi", 3)) {
			struct kk_geometry g;

			text[len] = '\0';
			tu_geometry(&g, text);
			kk_geometry_release(&g);
			in_block = 0;
			n++;
			continue;
		}
		/* troff: \- is a minus sign, \e a backslash. */
		for (p = q = line; *p; p++, q++) {
			if (p[0] == '\\' && (p[1] == '-' || p[1] == 'e'))
				*q = *++p == '-' ? '-' : '\\';
			else
				*q = *p;
		}
		*q = '\0';
		if (len + strlen(line) + 1 > cap) {
			cap = 2 * (len + strlen(line) + 1);
			text = realloc(text, cap);
			ck_assert_ptr_nonnull(text);
		}
		memcpy(text + len, line, strlen(line));
		len += strlen(line);
	}
	fclose(f);
	free(text);
	ck_assert_int_ge(n, 9);
}
END_TEST

START_TEST(cone_vectors)
{
	struct kk_geometry g;

	tu_geometry(&g, "{\"volume\": {\"shape\": [8, 8, 8]},"
		    "\"projection\": {\"type\": \"cone\","
		    "\"detector\": {\"shape\": [4, 6], \"pixel_size\": [2, 1.5]},"
		    "\"angles\": {\"values\": [0, 90], \"unit\": \"degree\"},"
		    "\"source_origin\": 300, \"origin_detector\": 150}}");
	ck_assert_int_eq(g.nviews, 2);
	ck_assert_int_eq(g.nrows, 4);
	ck_assert_int_eq(g.ncols, 6);
	ck_assert(g.cone && !g.is_2d);
	assert_vec(g.views[0].src, 0, -300, 0);
	assert_vec(g.views[0].det, 0, 150, 0);
	assert_vec(g.views[0].u, 1.5, 0, 0);
	assert_vec(g.views[0].v, 0, 0, 2);
	assert_vec(g.views[1].src, 300, 0, 0);
	assert_vec(g.views[1].det, -150, 0, 0);
	assert_vec(g.views[1].u, 0, 1.5, 0);
	assert_vec(g.views[1].v, 0, 0, 2);
	ck_assert_double_eq_tol(g.angles[1], M_PI / 2, EPS);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(parallel3d_vectors_and_offset)
{
	struct kk_geometry g;
	double c = cos(M_PI / 6), s = sin(M_PI / 6);

	tu_geometry(&g, "{\"volume\": {\"shape\": [8, 8, 8]},"
		    "\"projection\": {\"type\": \"parallel3d\","
		    "\"detector\": {\"shape\": [4, 6], \"pixel_size\": 0.5,"
		    "\"offset\": [2, 3]},"
		    "\"angles\": {\"values\": [0.5235987755982988],"
		    "\"unit\": \"radian\"}}}");
	assert_vec(g.views[0].src, s, -c, 0);
	assert_vec(g.views[0].u, 0.5 * c, 0.5 * s, 0);
	assert_vec(g.views[0].v, 0, 0, 0.5);
	/* The offset moves the centre along u's and v's directions. */
	assert_vec(g.views[0].det, 3 * c, 3 * s, 2);
	kk_geometry_release(&g);
}
END_TEST

/* 2D: ASTRA's vectors, mirrored in y into kkit's 3D frame. */
START_TEST(fanflat_mirrored)
{
	struct kk_geometry g;

	tu_geometry(&g, "{\"volume\": {\"shape\": [10, 20],"
		    "\"voxel_size\": [0.5, 0.25], \"center\": [1, 2]},"
		    "\"projection\": {\"type\": \"fanflat\","
		    "\"detector\": {\"shape\": 30, \"pixel_size\": 0.2},"
		    "\"angles\": {\"values\": [0, 90], \"unit\": \"degree\"},"
		    "\"source_origin\": 40, \"origin_detector\": 20}}");
	ck_assert(g.is_2d && g.cone);
	ck_assert_int_eq(g.nrows, 1);
	ck_assert_int_eq(g.vol.nz, 1);
	ck_assert_int_eq(g.vol.ny, 10);
	ck_assert_int_eq(g.vol.nx, 20);
	ck_assert_double_eq_tol(g.vol.dy, 0.5, EPS);
	ck_assert_double_eq_tol(g.vol.dx, 0.25, EPS);
	ck_assert_double_eq_tol(g.vol.xmin, 2 - 2.5, EPS);
	/* ASTRA's y window [1 - 2.5, 1 + 2.5] becomes [-3.5, 1.5]. */
	ck_assert_double_eq_tol(g.vol.ymin, -3.5, EPS);
	ck_assert_double_eq_tol(g.vol.zmin, -0.5, EPS);
	assert_vec(g.views[0].src, 0, 40, 0);
	assert_vec(g.views[0].det, 0, -20, 0);
	assert_vec(g.views[0].u, 0.2, 0, 0);
	assert_vec(g.views[0].v, 0, 0, 1);
	assert_vec(g.views[1].src, 40, 0, 0);
	assert_vec(g.views[1].det, -20, 0, 0);
	assert_vec(g.views[1].u, 0, -0.2, 0);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(parallel2d_and_vec_mirrored)
{
	struct kk_geometry g;

	tu_geometry(&g, "{\"volume\": {\"shape\": [4, 4]},"
		    "\"projection\": {\"type\": \"parallel\","
		    "\"detector\": {\"shape\": 6, \"pixel_size\": 1.5},"
		    "\"angles\": {\"values\": [90], \"unit\": \"degree\"}}}");
	assert_vec(g.views[0].src, 1, 0, 0);
	assert_vec(g.views[0].u, 0, -1.5, 0);
	kk_geometry_release(&g);
	tu_geometry(&g, "{\"volume\": {\"shape\": [4, 4]},"
		    "\"projection\": {\"type\": \"parallel_vec\","
		    "\"detector\": {\"shape\": 6},"
		    "\"vectors\": [[0.6, -0.8, 1, 2, 0.8, 0.6]]}}");
	assert_vec(g.views[0].src, 0.6, 0.8, 0);
	assert_vec(g.views[0].det, 1, -2, 0);
	assert_vec(g.views[0].u, 0.8, -0.6, 0);
	assert_vec(g.views[0].v, 0, 0, 1);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(cone_vec_as_given)
{
	struct kk_geometry g;

	tu_geometry(&g, "{\"volume\": {\"shape\": [4, 4, 4]},"
		    "\"projection\": {\"type\": \"cone_vec\","
		    "\"detector\": {\"shape\": [3, 5]},"
		    "\"vectors\": [[1, -50, 2, 3, 40, 4, 1, 0, 0.1, 0, 0.2, 1],"
		    "[-50, 1, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1]]}}");
	ck_assert_int_eq(g.nviews, 2);
	ck_assert_ptr_null(g.angles);
	assert_vec(g.views[0].src, 1, -50, 2);
	assert_vec(g.views[0].det, 3, 40, 4);
	assert_vec(g.views[0].u, 1, 0, 0.1);
	assert_vec(g.views[0].v, 0, 0.2, 1);
	kk_geometry_release(&g);
}
END_TEST

/* ASTRA's keys and kkit's describe the same geometry. */
START_TEST(spellings_agree)
{
	struct kk_geometry a, k;
	int64_t i;

	tu_geometry(&a, "{\"volume\": {\"GridRowCount\": 6,"
		    "\"GridColCount\": 8, \"GridSliceCount\": 4, \"option\":"
		    "{\"WindowMinX\": -2, \"WindowMaxX\": 2, \"WindowMinY\": -3,"
		    "\"WindowMaxY\": 0, \"WindowMinZ\": 0, \"WindowMaxZ\": 8}},"
		    "\"projection\": {\"type\": \"cone\","
		    "\"DetectorSpacingX\": 1.5, \"DetectorSpacingY\": 1.25,"
		    "\"DetectorRowCount\": 7, \"DetectorColCount\": 9,"
		    "\"ProjectionAngles\": [0, 1, 2.5],"
		    "\"DistanceOriginSource\": 100,"
		    "\"DistanceOriginDetector\": 50}}");
	tu_geometry(&k, "{\"volume\": {\"shape\": [4, 6, 8],"
		    "\"window\": {\"min\": [0, -3, -2], \"max\": [8, 0, 2]}},"
		    "\"projection\": {\"type\": \"cone\","
		    "\"detector\": {\"shape\": [7, 9], \"pixel_size\": [1.25, 1.5]},"
		    "\"angles\": {\"values\": [0, 1, 2.5], \"unit\": \"rad\"},"
		    "\"source_origin\": 100, \"origin_detector\": 50}}");
	ck_assert_mem_eq(&a.vol, &k.vol, sizeof(a.vol));
	ck_assert_double_eq_tol(a.vol.dx, 0.5, EPS);
	ck_assert_double_eq_tol(a.vol.dy, 0.5, EPS);
	ck_assert_double_eq_tol(a.vol.dz, 2, EPS);
	ck_assert_int_eq(a.nviews, k.nviews);
	for (i = 0; i < a.nviews; i++)
		ck_assert_mem_eq(&a.views[i], &k.views[i],
				 sizeof(a.views[i]));
	kk_geometry_release(&a);
	kk_geometry_release(&k);
}
END_TEST

START_TEST(angle_ranges)
{
	struct kk_geometry g;

	tu_geometry(&g, "{\"volume\": {\"shape\": [4, 4]},"
		    "\"projection\": {\"type\": \"parallel\","
		    "\"detector\": {\"shape\": 6, \"pixel_size\": 1},"
		    "\"angles\": {\"start\": 0, \"stop\": 180, \"count\": 4,"
		    "\"unit\": \"degree\"}}}");
	ck_assert_int_eq(g.nviews, 4);
	ck_assert_double_eq_tol(g.angles[1], M_PI / 4, EPS);
	ck_assert_double_eq_tol(g.angles[3], 3 * M_PI / 4, EPS);
	kk_geometry_release(&g);
	tu_geometry(&g, "{\"volume\": {\"shape\": [4, 4]},"
		    "\"projection\": {\"type\": \"parallel\","
		    "\"detector\": {\"shape\": 6, \"pixel_size\": 1},"
		    "\"angles\": {\"start\": 10, \"stop\": 20, \"count\": 3,"
		    "\"endpoint\": true, \"unit\": \"degrees\"}}}");
	ck_assert_double_eq_tol(g.angles[2], 20 * M_PI / 180, EPS);
	ck_assert_double_eq_tol(g.angles[1], 15 * M_PI / 180, EPS);
	kk_geometry_release(&g);
}
END_TEST

static void write_nxtomo(const char *path)
{
	double angles[6] = {0, 0, 10, 20, 30, 0};
	int32_t keys[6] = {2, 1, 0, 0, 0, 1};
	hsize_t n = 6;
	hid_t f, lcpl, s, d, t, a;
	const char *deg = "degree";

	f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	H5Pset_create_intermediate_group(lcpl, 1);
	s = H5Screate_simple(1, &n, NULL);
	d = H5Dcreate2(f, "/entry/sample/rotation_angle", H5T_IEEE_F64LE, s,
		       lcpl, H5P_DEFAULT, H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, angles);
	t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, strlen(deg));
	{
		hid_t as = H5Screate(H5S_SCALAR);

		a = H5Acreate2(d, "units", t, as, H5P_DEFAULT, H5P_DEFAULT);
		H5Awrite(a, t, deg);
		H5Aclose(a);
		H5Sclose(as);
	}
	H5Tclose(t);
	H5Dclose(d);
	d = H5Dcreate2(f, "/entry/instrument/detector/image_key",
		       H5T_STD_I32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, keys);
	H5Dclose(d);
	H5Sclose(s);
	H5Pclose(lcpl);
	H5Fclose(f);
}

/* NXtomo rotation_angle, projections only, unit from the attribute,
 * the file named relative to the geometry file. */
START_TEST(angles_from_nxtomo)
{
	char *dir = tu_mkdtemp(), *nx = tu_path(dir, "scan.nxs");
	char *gp = tu_path(dir, "geom.json");
	struct kk_error err = {0};
	struct kk_geometry g;
	FILE *f;

	write_nxtomo(nx);
	f = fopen(gp, "w");
	fputs("{\"volume\": {\"shape\": [4, 4]}, \"projection\": {"
	      "\"type\": \"parallel\", \"detector\": {\"shape\": 6,"
	      "\"pixel_size\": 1}, \"angles\": {\"file\": \"scan.nxs\"}}}",
	      f);
	fclose(f);
	ck_assert_msg(kk_geometry_load(gp, 0, &g, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(g.nviews, 3);
	ck_assert_double_eq_tol(g.angles[0], 10 * M_PI / 180, EPS);
	ck_assert_double_eq_tol(g.angles[2], 30 * M_PI / 180, EPS);
	kk_geometry_release(&g);
	free(nx);
	free(gp);
	tu_rmdir(dir);
}
END_TEST

START_TEST(missing_file)
{
	struct kk_error err = {0};
	struct kk_geometry g;

	ck_assert_int_eq(kk_geometry_load("no/such.json", 0, &g, &err),
			 KK_EINPUT);
	ck_assert_str_eq(err.msg, "cannot open geometry 'no/such.json': No "
			 "such file or directory");
}
END_TEST

/* Bad files and the message (a part of it) each must give. */
#define VOL3 "\"volume\": {\"shape\": [8, 8, 8]}"
#define DET3 "\"detector\": {\"shape\": [4, 6], \"pixel_size\": 1}"
#define ANG "\"angles\": {\"values\": [0, 1], \"unit\": \"rad\"}"
#define PAR3(extra) "{" VOL3 ", \"projection\": {\"type\": " \
	"\"parallel3d\", " DET3 ", " ANG extra "}}"
#define CONE(dso, odd) "{" VOL3 ", \"projection\": {\"type\": \"cone\", " \
	DET3 ", " ANG ", \"source_origin\": " dso ", " \
	"\"origin_detector\": " odd "}}"
#define VEC3(vecs) "{" VOL3 ", \"projection\": {\"type\": " \
	"\"parallel3d_vec\", \"detector\": {\"shape\": [4, 6]}, " \
	"\"vectors\": " vecs "}}"
#define ASTRA_VOL "\"volume\": {\"GridRowCount\": 8, \"GridColCount\": 8," \
	"\"GridSliceCount\": 8}"
#define V12 "[0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]"

static const struct bad {
	const char *json;
	const char *message;
} bad[] = {
	{"", "'test.json': the file is empty"},
	{"{\"volume\": {\"shape\": [1, 2, 3]},",
	 "'test.json': JSON syntax error at line 1, column 33: unexpected "
	 "end of file"},
	{"{\"volume\": {\"shape\": [1, 2, 3]",
	 "'test.json': JSON syntax error at line 1, column 31: unexpected "
	 "end of file"},
	{"{\n  \"volume\": {\n    \"shape\": [1, 2 3]\n  }\n}",
	 "'test.json': JSON syntax error at line 3, column 20"},
	{"[1, 2]", "'test.json': expected an object, got an array"},
	{"{\"volumes\": {}}", "unknown key 'volumes' (did you mean 'volume'?)"},
	{"{" VOL3 "}", "'test.json': missing key 'projection'"},
	{"{\"projection\": {}}", "'test.json': missing key 'volume'"},
	{"{\"volume\": {\"shape\": [1, 2, 3, 4]}}",
	 "volume.shape: expected [z, y, x] (3D) or [y, x] (2D), got an array"},
	{"{\"volume\": {\"shape\": [8, 0, 8]}}",
	 "volume.shape[1]: expected a whole number from 1 to 2147483647, got 0"},
	{"{\"volume\": {\"shape\": [4194304, 2097152, 2097152]}, "
	 "\"projection\": {\"type\": \"parallel3d\", " DET3 ", " ANG "}}",
	 "'test.json': a volume of 4194304 x 2097152 x 2097152: more values "
	 "than kkit can address (2^59)"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", "
	 "\"detector\": {\"shape\": [2000000000, 2000000000], "
	 "\"pixel_size\": 1}, " ANG "}}",
	 "'test.json': projections of 2 x 2000000000 x 2000000000: more"},
	{"{\"volume\": {\"shape\": [8, 2.5, 8]}}",
	 "volume.shape[1]: expected a whole number, got 2.5"},
	{"{\"volume\": {\"shape\": [8, 8, \"8\"]}}",
	 "volume.shape[2]: expected a number, got a string"},
	{"{\"volume\": {\"shape\": [8, 8, 8], \"voxel_size\": -1}}",
	 "volume.voxel_size: expected a positive number, got -1"},
	{"{\"volume\": {\"shape\": [8, 8, 8], \"voxel_size\": [1, 1, 0]}}",
	 "volume.voxel_size[2]: expected a positive number, got 0"},
	{"{\"volume\": {\"shape\": [8, 8, 8], \"voxel_size\": 1e999}}",
	 "volume.voxel_size: expected a finite number"},
	{"{\"volume\": {\"shape\": [8, 8], \"voxel_size\": 1, \"window\": {}}}",
	 "volume: give either 'window' or 'voxel_size' and 'center', not both"},
	{"{\"volume\": {\"shape\": [8, 8], \"window\": {\"min\": [0, 0], "
	 "\"max\": [0, 1]}}}",
	 "volume.window.max[0]: must be greater than volume.window.min[0] (0), "
	 "got 0"},
	{"{\"volume\": {\"shape\": [8, 8, 8], \"shape\": [8, 8, 8]}}",
	 "volume: key 'shape' appears twice"},
	{"{" VOL3 ", \"projection\": {\"type\": \"cone3d\"}}",
	 "projection.type: unknown geometry type 'cone3d'"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel\", \"detector\": "
	 "{\"shape\": 6, \"pixel_size\": 1}, " ANG "}}",
	 "projection.type: 'parallel' is a 2D geometry but the volume is 3D"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", " DET3
	 ", \"angles\": [0, 1]}}",
	 "projection.angles: say which unit the angles are in"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", " DET3
	 ", \"angles\": {\"values\": [0, 1]}}}",
	 "projection.angles: missing key 'unit' (\"degree\" or \"radian\")"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", " DET3
	 ", \"angles\": {\"values\": [0], \"unit\": \"grad\"}}}",
	 "projection.angles.unit: unknown angle unit 'grad'"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", " DET3
	 ", \"angles\": {\"values\": [0], \"start\": 0, \"unit\": \"rad\"}}}",
	 "projection.angles: give the angles one way"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", " DET3
	 ", \"angles\": {\"start\": 0, \"stop\": 1, \"count\": 0, "
	 "\"unit\": \"rad\"}}}",
	 "projection.angles.count: expected a whole number from 1"},
	{"{" VOL3 ", \"projection\": {\"type\": \"parallel3d\", " DET3
	 ", \"angles\": {\"file\": \"missing.nxs\"}}}",
	 "'test.json': projection.angles.file: cannot open 'missing.nxs'"},
	{PAR3(", \"vectors\": [" V12 "]"),
	 "'vectors' does not apply to type 'parallel3d' (use "
	 "'parallel3d_vec')"},
	{PAR3(", \"source_origin\": 10"),
	 "'source_origin' does not apply to type 'parallel3d'"},
	{PAR3(", \"detector_shape\": 10"),
	 "projection: unknown key 'detector_shape'"},
	{"{" VOL3 ", \"projection\": {\"type\": \"cone\", " DET3 ", " ANG
	 ", \"origin_detector\": 10}}",
	 "projection: missing key 'source_origin'"},
	{CONE("-10", "10"),
	 "projection.source_origin: expected a positive number, got -10"},
	{CONE("100", "-100"),
	 "projection (view 0): the source lies on the detector plane"},
	{CONE("3", "100"),
	 "projection (view 0): the source lies inside the volume"},
	{"{" VOL3 ", \"projection\": {\"type\": \"cone_vec\", \"detector\": "
	 "{\"shape\": [4, 6]}, " ANG "}}",
	 "'angles' does not apply to type 'cone_vec'"},
	{"{" VOL3 ", \"projection\": {\"type\": \"cone_vec\", " DET3
	 ", \"vectors\": [" V12 "]}}",
	 "'pixel_size' does not apply to type 'cone_vec'"},
	{VEC3("[" V12 ", [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]]"),
	 "projection.vectors[1]: expected 12 numbers, got 11"},
	{VEC3("[" V12 "," V12 "," V12 "," V12 "," V12 "," V12 "," V12 ","
	      V12 "," V12 "," V12 "," V12 "," V12 "," V12 "," V12 "," V12 ","
	      V12 "," V12 ", [0, 1, 0, \"0\", 0, 0, 1, 0, 0, 0, 0, 1]]"),
	 "'test.json': projection.vectors[17][3]: expected a number, got a "
	 "string"},
	{VEC3("[[0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0]]"),
	 "'test.json': projection.vectors[0]: the detector vectors u and v "
	 "are parallel"},
	{VEC3("[[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]"),
	 "projection.vectors[0]: the detector column step u is zero"},
	{VEC3("[[1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]"),
	 "projection.vectors[0]: the rays run parallel to the detector plane"},
	{VEC3("[]"), "projection.vectors: expected at least one row"},
	{"{\"volume\": {\"shape\": [8, 8]}, \"projection\": {\"type\": "
	 "\"parallel\", \"detector\": {\"shape\": [1, 6], \"pixel_size\": 1}, "
	 ANG "}}",
	 "projection.detector.shape: expected the number of columns"},
	{"{" ASTRA_VOL ", \"projection\": {\"type\": \"parallel3d\","
	 "\"DetectorSpacingX\": 1, \"DetectorSpacingY\": 1,"
	 "\"DetectorColCount\": 4, \"ProjectionAngles\": [0]}}",
	 "projection: missing key 'DetectorRowCount'"},
	{"{" ASTRA_VOL ", \"projection\": {\"type\": \"parallel3d\","
	 "\"DetectorSpacingx\": 1}}",
	 "projection: unknown key 'DetectorSpacingx' (did you mean "
	 "'DetectorSpacingX'?)"},
	{"{\"volume\": {\"GridRowCount\": 8, \"GridColCount\": 8, \"option\": "
	 "{\"WindowMinX\": 1, \"WindowMaxX\": -1}}}",
	 "volume.option.WindowMaxX: must be greater than WindowMinX (1), got "
	 "-1"},
	{"{\"volume\": {\"GridRowCount\": 8, \"GridColCount\": 8, \"option\": "
	 "{\"WindowMinZ\": -1}}}",
	 "a 2D volume (no GridSliceCount) takes no WindowMinZ"},
	{"{\"volume\": {\"GridRowCount\": -5, \"GridColCount\": 8}}",
	 "volume.GridRowCount: expected a whole number from 1 to 2147483647, "
	 "got -5"},
	{"{" ASTRA_VOL ", \"projection\": {\"type\": \"cone\", " DET3
	 ", \"DetectorRowCount\": 4}}",
	 "projection: unknown key 'detector'"},
};

START_TEST(bad_files)
{
	const char *msg = tu_geometry_error(bad[_i].json);

	ck_assert_msg(strstr(msg, bad[_i].message) != NULL,
		      "case %d: got \"%s\", expected \"%s\"", _i, msg,
		      bad[_i].message);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("geometry");
	TCase *tc = tcase_create("good");
	TCase *tb = tcase_create("bad");

	tcase_add_test(tc, examples_parse);
	tcase_add_test(tc, manpage_examples);
	tcase_add_test(tc, cone_vectors);
	tcase_add_test(tc, parallel3d_vectors_and_offset);
	tcase_add_test(tc, fanflat_mirrored);
	tcase_add_test(tc, parallel2d_and_vec_mirrored);
	tcase_add_test(tc, cone_vec_as_given);
	tcase_add_test(tc, spellings_agree);
	tcase_add_test(tc, angle_ranges);
	tcase_add_test(tc, angles_from_nxtomo);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tb, bad_files, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tb);
	return tu_run(s);
}
