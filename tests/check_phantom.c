/*
 * check_phantom.c: the analytic phantoms: values, orientation, volumes,
 * and that slabs and seeds behave.
 */
#include "config.h"
#include "phantom.h"
#include "testutil.h"

static float *make(const struct kk_geometry *g, enum kk_phantom_kind k,
		   double size, int ss, uint64_t seed)
{
	struct kk_phantom_opts o = {k, size, ss, seed};
	struct kk_error err = {0};
	float *v = tu_floats(g->vol.nx * g->vol.ny * g->vol.nz);

	ck_assert_msg(kk_phantom_fill(g, &o, 0, g->vol.nz, v, 2, &err) == 0,
		      "%s", err.msg);
	return v;
}

/* 2D Shepp-Logan stands upright as ASTRA shows 2D images: the three
 * small ellipses at y = -0.605 are in the bottom rows. */
START_TEST(shepp_logan_2d)
{
	struct kk_geometry g;
	float *v;

	tu_geometry(&g, "{\"volume\": {\"shape\": [101, 101]}, \"projection\":"
		    "{\"type\": \"parallel\", \"detector\": {\"shape\": 8,"
		    "\"pixel_size\": 1}, \"angles\": {\"values\": [0], "
		    "\"unit\": \"rad\"}}}");
	v = make(&g, KK_PHANTOM_SHEPP_LOGAN, 0.5, 1, 0);
	ck_assert_float_eq_tol(v[50 * 101 + 50], 0.2f, 1e-6f);
	/* (x, y) = (-0.08, -0.605): row (1 + 0.605) / 2 * 101 - 0.5. */
	ck_assert_float_eq_tol(v[81 * 101 + 46], 0.3f, 1e-6f);
	ck_assert_float_eq_tol(v[19 * 101 + 46], 0.2f, 1e-6f);
	/* Outside the head: zero, not a rounding residue. */
	ck_assert_float_eq(v[0], 0.0f);
	free(v);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(shepp_logan_3d)
{
	struct kk_geometry g;
	float *v;
	double sum = 0;
	int64_t i, n = 33 * 33 * 33;

	tu_geometry(&g, "{\"volume\": {\"shape\": [33, 33, 33]}, "
		    "\"projection\": {\"type\": \"parallel3d\", \"detector\": "
		    "{\"shape\": [8, 8], \"pixel_size\": 1}, \"angles\": "
		    "{\"values\": [0], \"unit\": \"rad\"}}}");
	v = make(&g, KK_PHANTOM_SHEPP_LOGAN, 0.5, 2, 0);
	ck_assert_float_eq_tol(v[(16 * 33 + 16) * 33 + 16], 0.2f, 1e-6f);
	for (i = 0; i < n; i++) {
		ck_assert(v[i] >= 0 && v[i] <= 1.0f + 1e-6f);
		sum += v[i];
	}
	ck_assert(sum > 0);
	free(v);
	kk_geometry_release(&g);
}
END_TEST

/* 4/3 pi r^3 to 0.5%, in voxels that are not cubes (r is 0.6 of the
 * smallest half extent, 12 along every axis here). */
START_TEST(ball_volume)
{
	struct kk_geometry g;
	float *v;
	double sum = 0, r = 0.6 * 12, want = 4.0 / 3 * M_PI * r * r * r;
	int64_t i, n = 24 * 48 * 32;

	tu_geometry(&g, "{\"volume\": {\"shape\": [24, 48, 32], "
		    "\"voxel_size\": [1, 0.5, 0.75]}, \"projection\": {"
		    "\"type\": \"parallel3d\", \"detector\": {\"shape\": "
		    "[8, 8], \"pixel_size\": 1}, \"angles\": {\"values\": [0],"
		    " \"unit\": \"rad\"}}}");
	v = make(&g, KK_PHANTOM_BALL, 0.6, 4, 0);
	for (i = 0; i < n; i++)
		sum += v[i] * 0.375;
	ck_assert_msg(fabs(sum - want) < 0.005 * want, "volume %g, want %g",
		      sum, want);
	free(v);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(cube_exact)
{
	struct kk_geometry g;
	float *v;
	double sum = 0;
	int64_t i, n = 20 * 20 * 20;

	tu_geometry(&g, "{\"volume\": {\"shape\": [20, 20, 20]}, "
		    "\"projection\": {\"type\": \"parallel3d\", \"detector\": "
		    "{\"shape\": [8, 8], \"pixel_size\": 1}, \"angles\": "
		    "{\"values\": [0], \"unit\": \"rad\"}}}");
	v = make(&g, KK_PHANTOM_CUBE, 0.4, 3, 0);
	for (i = 0; i < n; i++)
		sum += v[i];
	ck_assert_double_eq_tol(sum, 8.0 * 8 * 8, 1e-6);
	ck_assert_float_eq(v[(10 * 20 + 10) * 20 + 10], 1.0f);
	ck_assert_float_eq(v[(10 * 20 + 10) * 20 + 14], 0.0f);
	free(v);
	kk_geometry_release(&g);
}
END_TEST

/* The random phantom depends on the seed and the voxel, not the slab. */
START_TEST(random_slabs)
{
	struct kk_phantom_opts o = {KK_PHANTOM_RANDOM, 0.5, 1, 42};
	struct kk_error err = {0};
	struct kk_geometry g;
	int64_t i, n = 7 * 9 * 11, per = 9 * 11;
	float *a, *b, *c;
	double mean = 0;

	tu_geometry(&g, "{\"volume\": {\"shape\": [7, 9, 11]}, "
		    "\"projection\": {\"type\": \"parallel3d\", \"detector\": "
		    "{\"shape\": [8, 8], \"pixel_size\": 1}, \"angles\": "
		    "{\"values\": [0], \"unit\": \"rad\"}}}");
	a = make(&g, KK_PHANTOM_RANDOM, 0.5, 1, 42);
	b = tu_floats(n);
	ck_assert(kk_phantom_fill(&g, &o, 0, 3, b, 1, &err) == 0);
	ck_assert(kk_phantom_fill(&g, &o, 3, 7, b + 3 * per, 2, &err) == 0);
	ck_assert_mem_eq(a, b, n * sizeof(float));
	c = make(&g, KK_PHANTOM_RANDOM, 0.5, 1, 43);
	ck_assert(memcmp(a, c, n * sizeof(float)) != 0);
	for (i = 0; i < n; i++) {
		ck_assert(a[i] >= 0 && a[i] < 1);
		mean += a[i] / n;
	}
	ck_assert_double_eq_tol(mean, 0.5, 0.05);
	ck_assert_int_eq(kk_phantom_fill(&g, &o, 5, 8, b, 1, &err),
			 KK_ERUNTIME);
	o.supersample = 0;
	ck_assert_int_eq(kk_phantom_fill(&g, &o, 0, 1, b, 1, &err),
			 KK_EUSAGE);
	free(a);
	free(b);
	free(c);
	kk_geometry_release(&g);
}
END_TEST

START_TEST(names)
{
	enum kk_phantom_kind k;

	ck_assert_int_eq(kk_phantom_parse("shepp-logan", &k), 0);
	ck_assert_int_eq(k, KK_PHANTOM_SHEPP_LOGAN);
	ck_assert_str_eq(kk_phantom_name(KK_PHANTOM_CUBE), "cube");
	ck_assert_int_eq(kk_phantom_parse("sheep", &k), KK_EUSAGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("phantom");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, shepp_logan_2d);
	tcase_add_test(tc, shepp_logan_3d);
	tcase_add_test(tc, ball_volume);
	tcase_add_test(tc, cube_exact);
	tcase_add_test(tc, random_slabs);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
