/*
 * testutil.h: small helpers the Check unit tests share: a scratch
 * directory per test, seeded random arrays, geometries from strings and
 * error norms.  Header-only so each test program stays one file.
 */
#ifndef KK_TESTUTIL_H
#define KK_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geometry.h"
#include "msg.h"

/* A cone-beam helix of 5 views: the source climbs, so each chunk of
 * views sees its own detector rows of a slab (streaming tests). */
#define TU_HELIX                                                        \
	"{\"volume\": {\"shape\": [24, 20, 22]}, \"projection\": {"       \
	"\"type\": \"cone_vec\", \"detector\": {\"shape\": [12, 40]}, "   \
	"\"vectors\": [[0, -60, -14, 0, 30, -14, 1, 0, 0, 0, 0, 1],"     \
	"[60, 0, -7, -30, 0, -7, 0, 1, 0, 0, 0, 1],"                     \
	"[0, 60, 0, 0, -30, 0, -1, 0, 0, 0, 0, 1],"                      \
	"[-60, 0, 7, 30, 0, 7, 0, -1, 0, 0, 0, 1],"                      \
	"[0, -60, 14, 0, 30, 14, 1, 0, 0, 0, 0, 1]]}}"

/* A fresh scratch directory under $TMPDIR; removed by tu_rmdir. */
static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);

	snprintf(p, 4096, "%s/kkit-test-XXXXXX", base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(p));
	return p;
}

static inline void tu_rmdir(char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

static inline char *tu_path(const char *dir, const char *name)
{
	char *p = malloc(4096);

	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

/* Uniform in [lo, hi), from a fixed seed: runs are repeatable. */
static inline void tu_random(float *a, int64_t n, double lo, double hi,
			     uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	int64_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a[i] = (float)(lo + (hi - lo) * ((x >> 11) * 0x1.0p-53));
	}
}

static inline double tu_dot(const float *a, const float *b, int64_t n)
{
	double s = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* ||a - b|| / ||b|| */
static inline double tu_rel_l2(const float *a, const float *b, int64_t n)
{
	double d = 0, r = 0;
	int64_t i;

	for (i = 0; i < n; i++) {
		d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
		r += (double)b[i] * b[i];
	}
	return sqrt(d / r);
}

static inline float *tu_floats(int64_t n)
{
	float *p = malloc((size_t)(n ? n : 1) * sizeof(float));

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Parse a geometry from a string; fails the test if it does not. */
static inline void tu_geometry(struct kk_geometry *g, const char *json)
{
	struct kk_error err = {0};
	int rc = kk_geometry_parse(json, strlen(json), "test.json", NULL, 0,
				   g, &err);

	ck_assert_msg(rc == 0, "geometry failed: %s", err.msg);
}

/* Parse and expect failure; returns the message (static buffer). */
static inline const char *tu_geometry_error(const char *json)
{
	static struct kk_error err;
	struct kk_geometry g;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = kk_geometry_parse(json, strlen(json), "test.json", NULL, 0, &g,
			       &err);
	ck_assert_msg(rc != 0, "geometry unexpectedly parsed: %s", json);
	ck_assert_int_eq(rc, KK_EINPUT);
	return err.msg;
}

/* Run a suite, each test in a child process or (fork false) all in
 * this one; the exit status automake's test driver expects. */
static inline int tu_run_forking(Suite *s, bool fork)
{
	SRunner *sr = srunner_create(s);
	int failed;

	if (!fork)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static inline int tu_run(Suite *s)
{
	return tu_run_forking(s, true);
}

#endif
