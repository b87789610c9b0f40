/*
 * check_recon.c: kkit sirt and kkit cgls on the CPU, through the
 * operator with host vectors and streamed passes (linop_host.c);
 * check_gpu runs the GPU's in-core operator against it.
 *
 *  - the truth: a Shepp-Logan head forward projected and reconstructed
 *    for each geometry type (a helix included, which fbp refuses):
 *    SIRT's residual falls at every iteration and its error is below
 *    a bound after N iterations; CGLS's residual after N is below
 *    SIRT's (the table is printed; doc/reconstruction.md has it);
 *  - cut into slabs and chunks by a small memory limit, the same result
 *    as in one piece; resumed from a saved state, the same as not
 *    stopped; checkpoints saved and loaded, and refused for another run;
 *  - a mask keeps the voxels outside it; --min/--max bound the iterate;
 *    starting from the truth leaves nothing to do; NaN in the
 *    projections stops the method with a message.
 */
#include "config.h"
#include "checkpoint.h"
#include "linop.h"
#include "phantom.h"
#include "testutil.h"
#include "streamtest.h"

#include <math.h>

#define VOL2 "\"volume\": {\"shape\": [64, 64], \"voxel_size\": 1.0}"
#define VOL3 "\"volume\": {\"shape\": [16, 40, 40], \"voxel_size\": 1.0}"

struct case_ {
	const char *name;
	const char *json;
	double sirt_bound, cgls_bound;  /* relative L2 error after N */
};

/* The helix: 3 turns, the source rising 12 voxels a turn. */
static char helix[32768];

static const struct case_ cases[] = {
	{"parallel", "{" VOL2 ", \"projection\": {\"type\": \"parallel\", "
	 "\"detector\": {\"shape\": 96, \"pixel_size\": 1.0}, \"angles\": "
	 "{\"start\": 0, \"stop\": 180, \"count\": 90, \"unit\": "
	 "\"degree\"}}}", 0.33, 0.14},
	{"fanflat", "{" VOL2 ", \"projection\": {\"type\": \"fanflat\", "
	 "\"detector\": {\"shape\": 128, \"pixel_size\": 1.0}, \"angles\": "
	 "{\"start\": 0, \"stop\": 360, \"count\": 120, \"unit\": "
	 "\"degree\"}, \"source_origin\": 150, \"origin_detector\": 75}}",
	 0.30, 0.03},
	{"parallel3d", "{" VOL3 ", \"projection\": {\"type\": \"parallel3d\","
	 " \"detector\": {\"shape\": [16, 60], \"pixel_size\": [1.0, 1.0]}, "
	 "\"angles\": {\"start\": 0, \"stop\": 180, \"count\": 60, \"unit\": "
	 "\"degree\"}}}", 0.25, 0.12},
	{"cone", "{" VOL3 ", \"projection\": {\"type\": \"cone\", "
	 "\"detector\": {\"shape\": [28, 80], \"pixel_size\": [1.0, 1.0]}, "
	 "\"angles\": {\"start\": 0, \"stop\": 360, \"count\": 72, \"unit\": "
	 "\"degree\"}, \"source_origin\": 150, \"origin_detector\": 75}}",
	 0.25, 0.04},
	{"cone_vec helix", helix, 0.25, 0.05},
};

#define NCASES (int)(sizeof(cases) / sizeof(cases[0]))
#define N_ITER 40

static void make_helix(void)
{
	const int n = 3 * 48;
	size_t len;
	int i;

	if (helix[0])
		return;
	len = (size_t)snprintf(helix, sizeof(helix), "{" VOL3 ", "
			       "\"projection\": {\"type\": \"cone_vec\", "
			       "\"detector\": {\"shape\": [24, 80]}, "
			       "\"vectors\": [");
	for (i = 0; i < n; i++) {
		double a = 2 * M_PI * i / 48, c = cos(a), s = sin(a);
		double z = -18 + 36.0 * i / n;

		len += (size_t)snprintf(helix + len, sizeof(helix) - len,
			"%s[%.9f, %.9f, %.9f, %.9f, %.9f, %.9f, %.9f, %.9f, "
			"0, 0, 0, 1]", i ? ", " : "", 150 * s, -150 * c, z,
			-75 * s, 75 * c, z, c, s);
	}
	snprintf(helix + len, sizeof(helix) - len, "]}}");
}

/* What the tests keep of each iteration. */
struct trace {
	double residual[N_ITER + 1];
	int n;
	int save_at;                  /* store the state after it */
	float *x, *p;
};

static int keep(void *ctx, struct kk_linop *op,
		const struct kk_recon_step *s, const struct kk_recon_state *st,
		struct kk_error *err)
{
	struct trace *t = ctx;

	if (t->n <= N_ITER)
		t->residual[t->n++] = s->residual;
	if (s->iteration == t->save_at) {
		ck_assert(!op->ops->store(op, st->x, t->x, err));
		if (st->p)
			ck_assert(!op->ops->store(op, st->p, t->p, err));
	}
	return 0;
}

/* A phantom and its projections, in memory. */
struct problem {
	struct kk_geometry g;
	struct kk_device *dev;
	int64_t nv, np;
	float *truth, *b;
};

static void run_on(struct problem *pr, const struct kk_stream_opts *so,
		   const struct kk_recon_opts *ro, float *x)
{
	struct kk_linop *op;
	struct kk_error err = {0};

	ck_assert(!kk_linop_host(&op, pr->dev, &pr->g, so, 2, NULL, NULL,
				 &err));
	ck_assert_msg(!kk_recon_run(op, pr->b, x, ro, &err), "%s", err.msg);
	kk_linop_free(op);
}

static void setup(struct problem *pr, const char *json)
{
	struct kk_phantom_opts po = {KK_PHANTOM_SHEPP_LOGAN, 0.6, 3, 0};
	struct kk_stream_opts so;
	struct kk_linop *op;
	struct kk_vec *x, *y;
	struct kk_error err = {0};

	make_helix();
	tu_geometry(&pr->g, json);
	pr->dev = cpu();
	kk_stream_opts_default(&so);
	ck_assert(!kk_linop_host(&op, pr->dev, &pr->g, &so, 2, NULL, NULL,
				 &err));
	pr->nv = op->nvol;
	pr->np = op->nproj;
	pr->truth = tu_floats(pr->nv);
	pr->b = tu_floats(pr->np);
	ck_assert(!kk_phantom_fill(&pr->g, &po, 0, pr->g.vol.nz, pr->truth, 2,
				   &err));
	ck_assert(!op->ops->alloc(op, false, &x, &err));
	ck_assert(!op->ops->alloc(op, true, &y, &err));
	ck_assert(!op->ops->load(op, x, pr->truth, &err));
	ck_assert(!op->ops->fp(op, x, y, &err));
	ck_assert(!op->ops->store(op, y, pr->b, &err));
	op->ops->free(op, x);
	op->ops->free(op, y);
	kk_linop_free(op);
}

static void teardown(struct problem *pr)
{
	free(pr->truth);
	free(pr->b);
	kk_device_close(pr->dev);
	kk_geometry_release(&pr->g);
}

static double max_rel_diff(const float *a, const float *b, int64_t n)
{
	double m = 0, scale = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		scale = fmax(scale, fabs(b[i]));
	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m / scale;
}

/* ---- the truth ----------------------------------------------------- */

START_TEST(shepp_logan)
{
	const struct case_ *c = &cases[_i];
	struct problem pr;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	struct trace ts = {{0}, 0, 0, NULL, NULL}, tc = ts;
	float *x;
	double es, ec;
	int k;

	setup(&pr, c->json);
	x = tu_floats(pr.nv);
	kk_stream_opts_default(&so);
	kk_recon_opts_default(&ro);
	ro.iterations = N_ITER;
	ro.after = keep;
	ro.ctx = &ts;
	run_on(&pr, &so, &ro, x);
	es = tu_rel_l2(x, pr.truth, pr.nv);
	ro.method = KK_CGLS;
	ro.ctx = &tc;
	run_on(&pr, &so, &ro, x);
	ec = tu_rel_l2(x, pr.truth, pr.nv);
	/* before any assertion: a failing test's output is lost */
	printf("%-16s %d iterations: sirt error %.4f (bound %.2f), residual "
	       "%.4g; cgls error %.4f (bound %.2f), residual %.4g\n",
	       c->name, N_ITER, es, c->sirt_bound, ts.residual[N_ITER - 1],
	       ec, c->cgls_bound, tc.residual[N_ITER - 1]);
	fflush(stdout);
	ck_assert_int_eq(ts.n, N_ITER);
	ck_assert_int_eq(tc.n, N_ITER);
	for (k = 1; k < N_ITER; k++)
		ck_assert_msg(ts.residual[k] < ts.residual[k - 1],
			      "%s: sirt's residual rose at iteration %d: "
			      "%g after %g", c->name, k + 1, ts.residual[k],
			      ts.residual[k - 1]);
	ck_assert_msg(es < c->sirt_bound, "%s: sirt error %g", c->name, es);
	ck_assert_msg(ec < c->cgls_bound, "%s: cgls error %g", c->name, ec);
	ck_assert_msg(tc.residual[N_ITER - 1] < ts.residual[N_ITER - 1],
		      "%s: cgls residual %g, sirt %g", c->name,
		      tc.residual[N_ITER - 1], ts.residual[N_ITER - 1]);
	free(x);
	teardown(&pr);
}
END_TEST

/* ---- the same however it is run ------------------------------------ */

/* Cut into slabs and chunks of 5 views by a small memory limit, in
 * ASTRA's order too: the same as in one piece (cases: sirt and cgls on
 * parallel3d and cone). */
START_TEST(streamed)
{
	struct problem pr;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	float *whole, *cut, *b_astra;
	int64_t nv, np, v, r, col;
	double d;

	setup(&pr, cases[2 + _i % 2].json);
	nv = pr.nv;
	np = pr.np;
	whole = tu_floats(nv);
	cut = tu_floats(nv);
	kk_stream_opts_default(&so);
	kk_recon_opts_default(&ro);
	ro.method = _i < 2 ? KK_SIRT : KK_CGLS;
	ro.iterations = 4;
	run_on(&pr, &so, &ro, whole);
	so.mem_limit = 40 << 10;
	so.chunk = 5;
	run_on(&pr, &so, &ro, cut);
	d = max_rel_diff(cut, whole, nv);
	printf("%s %s cut: max difference %.3g\n", cases[2 + _i % 2].name,
	       kk_recon_method_name(ro.method), d);
	ck_assert_msg(d < 1e-5, "cut differs by %g", d);
	/* the projections as (row, angle, col) */
	b_astra = tu_floats(np);
	for (v = 0; v < pr.g.nviews; v++)
		for (r = 0; r < pr.g.nrows; r++)
			for (col = 0; col < pr.g.ncols; col++)
				b_astra[(r * pr.g.nviews + v) * pr.g.ncols +
					col] = pr.b[(v * pr.g.nrows + r) *
						    pr.g.ncols + col];
	free(pr.b);
	pr.b = b_astra;
	so.axes = kk_axes_astra;
	run_on(&pr, &so, &ro, cut);
	d = max_rel_diff(cut, whole, nv);
	ck_assert_msg(d < 1e-5, "ASTRA's order differs by %g", d);
	free(whole);
	free(cut);
	teardown(&pr);
}
END_TEST

/* Stopped after 3 iterations and resumed from the state then: the same
 * as 7 in a row (sirt, cgls). */
START_TEST(resumed)
{
	struct problem pr;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	struct trace t = {{0}, 0, 3, NULL, NULL};
	float *straight, *again;
	double d;

	setup(&pr, cases[3].json);
	straight = tu_floats(pr.nv);
	again = tu_floats(pr.nv);
	t.x = tu_floats(pr.nv);
	t.p = tu_floats(pr.nv);
	kk_stream_opts_default(&so);
	kk_recon_opts_default(&ro);
	ro.method = _i ? KK_CGLS : KK_SIRT;
	ro.iterations = 7;
	ro.after = keep;
	ro.ctx = &t;
	run_on(&pr, &so, &ro, straight);
	ro.start = 3;
	ro.x0 = t.x;
	ro.p0 = t.p;
	ro.after = NULL;
	run_on(&pr, &so, &ro, again);
	d = max_rel_diff(again, straight, pr.nv);
	printf("%s resumed after 3 of 7: max difference %.3g\n",
	       kk_recon_method_name(ro.method), d);
	ck_assert_msg(d < 1e-5, "resumed differs by %g", d);
	free(straight);
	free(again);
	free(t.x);
	free(t.p);
	teardown(&pr);
}
END_TEST

/* ---- options ------------------------------------------------------- */

START_TEST(mask_and_box)
{
	struct problem pr;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	float *x, *mask, *x0;
	int64_t i, n;

	setup(&pr, cases[0].json);
	n = pr.nv;
	x = tu_floats(n);
	mask = tu_floats(n);
	x0 = tu_floats(n);
	for (i = 0; i < n; i++) {
		int64_t row = i / 64, col = i % 64;

		mask[i] = (row - 31.5) * (row - 31.5) +
			  (col - 31.5) * (col - 31.5) < 28 * 28;
		x0[i] = 0.25f;
	}
	kk_stream_opts_default(&so);
	kk_recon_opts_default(&ro);
	ro.iterations = 5;
	ro.min = 0.1f;
	ro.max = 0.5f;
	ro.mask = mask;
	ro.x0 = x0;
	run_on(&pr, &so, &ro, x);
	for (i = 0; i < n; i++) {
		if (!mask[i])
			ck_assert_float_eq(x[i], 0.25f);
		ck_assert(x[i] >= 0.1f && x[i] <= 0.5f);
	}
	/* CGLS changes nothing outside the mask either. */
	ro.method = KK_CGLS;
	ro.min = -INFINITY;
	ro.max = INFINITY;
	run_on(&pr, &so, &ro, x);
	for (i = 0; i < n; i++)
		if (!mask[i])
			ck_assert_float_eq(x[i], 0.25f);
	free(x);
	free(mask);
	free(x0);
	teardown(&pr);
}
END_TEST

/* From the truth there is nothing to do: the residual is rounding. */
START_TEST(start_at_truth)
{
	struct problem pr;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	struct trace t = {{0}, 0, 0, NULL, NULL};
	float *x;
	double bnorm;

	setup(&pr, cases[1].json);
	x = tu_floats(pr.nv);
	bnorm = sqrt(tu_dot(pr.b, pr.b, pr.np));
	kk_stream_opts_default(&so);
	kk_recon_opts_default(&ro);
	ro.method = _i ? KK_CGLS : KK_SIRT;
	ro.iterations = 2;
	ro.x0 = pr.truth;
	ro.after = keep;
	ro.ctx = &t;
	run_on(&pr, &so, &ro, x);
	ck_assert_msg(t.residual[0] < 1e-5 * bnorm, "residual %g of %g",
		      t.residual[0], bnorm);
	ck_assert(tu_rel_l2(x, pr.truth, pr.nv) < 1e-4);
	free(x);
	teardown(&pr);
}
END_TEST

START_TEST(not_finite)
{
	struct problem pr;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	struct kk_linop *op;
	struct kk_error err = {0};
	float *x;

	setup(&pr, cases[0].json);
	x = tu_floats(pr.nv);
	pr.b[pr.np / 2] = NAN;
	kk_stream_opts_default(&so);
	kk_recon_opts_default(&ro);
	ro.method = _i ? KK_CGLS : KK_SIRT;
	ro.iterations = 3;
	ck_assert(!kk_linop_host(&op, pr.dev, &pr.g, &so, 2, NULL, NULL,
				 &err));
	ck_assert_int_eq(kk_recon_run(op, pr.b, x, &ro, &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, "not finite at iteration 1"), "%s",
		      err.msg);
	kk_linop_free(op);
	free(x);
	teardown(&pr);
}
END_TEST

/* A checkpoint comes back as saved, and only for the run it was. */
START_TEST(checkpoint_file)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "state.h5");
	struct kk_checkpoint c = {"cgls", "run A", {2, 3, 4}, 7, NULL, NULL};
	struct kk_checkpoint back = c, other;
	struct kk_error err = {0};
	int i;

	c.x = tu_floats(24);
	c.p = tu_floats(24);
	for (i = 0; i < 24; i++) {
		c.x[i] = (float)i;
		c.p[i] = (float)-i;
	}
	ck_assert_msg(!kk_checkpoint_save(path, &c, &err), "%s", err.msg);
	back.x = back.p = NULL;
	back.iteration = 0;
	ck_assert_msg(!kk_checkpoint_load(path, &back, &err), "%s", err.msg);
	ck_assert_int_eq(back.iteration, 7);
	ck_assert(!memcmp(back.x, c.x, 24 * sizeof(float)));
	ck_assert(!memcmp(back.p, c.p, 24 * sizeof(float)));
	kk_checkpoint_release(&back);
	other = back;
	other.run = "run B";
	ck_assert_int_eq(kk_checkpoint_load(path, &other, &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, "made by another run"), "%s", err.msg);
	other = back;
	other.method = "sirt";
	ck_assert_int_eq(kk_checkpoint_load(path, &other, &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, "is of kkit cgls"), "%s", err.msg);
	other = back;
	other.dims[0] = 3;
	ck_assert_int_eq(kk_checkpoint_load(path, &other, &err), KK_EINPUT);
	ck_assert_msg(strstr(err.msg, "not of the volume's shape"), "%s",
		      err.msg);
	ck_assert_ptr_null(other.x);
	free(c.x);
	free(c.p);
	free(path);
	tu_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("recon");
	TCase *tc = tcase_create("truth");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, shepp_logan, 0, NCASES);
	suite_add_tcase(s, tc);
	tc = tcase_create("same");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, streamed, 0, 4);
	tcase_add_loop_test(tc, resumed, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("options");
	tcase_add_test(tc, mask_and_box);
	tcase_add_loop_test(tc, start_at_truth, 0, 2);
	tcase_add_loop_test(tc, not_finite, 0, 2);
	tcase_add_test(tc, checkpoint_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
