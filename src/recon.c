/*
 * recon.c: SIRT and CGLS on a struct kk_linop (recon.h), as the ASTRA
 * Toolbox defines them.
 *
 * SIRT:  x <- clamp(x + lambda C A^T R (b - A x)), with the row weights
 *        R = 1 / A m (m: the mask, or ones) and the column weights
 *        C = m / A^T 1, each 0 where the sum is not above KK_SIRT_EPS.
 * CGLS:  conjugate gradients on the normal equations (A M)^T (A M) x =
 *        (A M)^T b, M the mask; one A and one A^T a step, each step the
 *        exact line search along its direction (see cgls()).
 */
#include "config.h"
#include "recon.h"

#include <math.h>
#include <stdlib.h>

/* Sums of weights at or below this count as zero (ASTRA's threshold). */
#define KK_SIRT_EPS 1e-6f

/* The vectors of a run, freed together. */
#define MAX_VECS 8

struct run {
	struct kk_linop *op;
	const struct kk_recon_opts *o;
	struct kk_vec *v[MAX_VECS];
	int n;
	double t0;
};

void kk_recon_opts_default(struct kk_recon_opts *o)
{
	o->method = KK_SIRT;
	o->iterations = 100;
	o->relaxation = 1.0;
	o->min = -INFINITY;
	o->max = INFINITY;
	o->x0 = NULL;
	o->mask = NULL;
	o->start = 0;
	o->p0 = NULL;
	o->after = NULL;
	o->ctx = NULL;
}

const char *kk_recon_method_name(enum kk_recon_method m)
{
	return m == KK_CGLS ? "cgls" : "sirt";
}

int64_t kk_recon_passes(const struct kk_recon_opts *o)
{
	int64_t n = 2 * (int64_t)(o->iterations - o->start);

	if (o->method == KK_SIRT)
		return n + 2;
	return n + 1 + (o->x0 != NULL);
}

static struct kk_vec *vec(struct run *r, bool proj, struct kk_error *err)
{
	struct kk_vec *v = NULL;

	if (r->op->ops->alloc(r->op, proj, &v, err))
		return NULL;
	r->v[r->n++] = v;
	return v;
}

static void free_all(struct run *r)
{
	while (r->n > 0)
		r->op->ops->free(r->op, r->v[--r->n]);
}

/* x from x0, or zeros. */
static int first_iterate(struct run *r, struct kk_vec *x,
			 struct kk_error *err)
{
	const struct kk_linop_ops *f = r->op->ops;

	return r->o->x0 ? f->load(r->op, x, r->o->x0, err)
			: f->fill(r->op, x, 0.0f, err);
}

static int check_residual(double res2, int iteration, struct kk_error *err)
{
	if (isfinite(res2))
		return 0;
	return kk_fail(err, KK_EINPUT, "the residual is not finite at "
		       "iteration %d: the projections (or --x0) hold NaN or "
		       "infinite values", iteration);
}

static int report(struct run *r, int iteration, double res2, double change,
		  double norm, const struct kk_vec *x, const struct kk_vec *p,
		  struct kk_error *err)
{
	struct kk_recon_step s;
	struct kk_recon_state st;

	if (!r->o->after)
		return 0;
	s.iteration = iteration;
	s.residual = sqrt(res2);
	s.rel_change = norm > 0 ? sqrt(change / norm) : 0.0;
	s.seconds = kk_now() - r->t0;
	st.iteration = iteration;
	st.x = x;
	st.p = p;
	return r->o->after(r->o->ctx, r->op, &s, &st, err);
}

static int sirt(struct run *r, const float *b_host, float *x_host,
		struct kk_error *err)
{
	struct kk_linop *op = r->op;
	const struct kk_linop_ops *f = op->ops;
	const struct kk_recon_opts *o = r->o;
	struct kk_vec *b, *res, *rw, *x, *cw, *d;
	double res2, change, norm;
	int k, rc;

	if (!(b = vec(r, true, err)) || !(res = vec(r, true, err)) ||
	    !(rw = vec(r, true, err)) || !(x = vec(r, false, err)) ||
	    !(cw = vec(r, false, err)) || !(d = vec(r, false, err)))
		return err->code;
	/* R = 1 / A m, C = m / A^T 1, with m in d for now. */
	rc = o->mask ? f->load(op, d, o->mask, err) : f->fill(op, d, 1, err);
	if (!rc)
		rc = f->fp(op, d, rw, err);
	if (!rc)
		rc = f->invert(op, rw, KK_SIRT_EPS, err);
	if (!rc)
		rc = f->fill(op, res, 1, err);
	if (!rc)
		rc = f->bp(op, res, cw, err);
	if (!rc)
		rc = f->invert(op, cw, KK_SIRT_EPS, err);
	if (!rc && o->mask)
		rc = f->mul(op, cw, d, err);
	if (!rc)
		rc = f->load(op, b, b_host, err);
	if (!rc)
		rc = first_iterate(r, x, err);
	for (k = o->start + 1; !rc && k <= o->iterations; k++) {
		/* res = b - A x, then R res, then d = C A^T R res */
		rc = f->fp(op, x, res, err);
		if (!rc)
			rc = f->axpby(op, res, 1, b, -1, err);
		if (!rc)
			rc = f->dot(op, res, res, &res2, err);
		if (!rc)
			rc = check_residual(res2, k, err);
		if (!rc)
			rc = f->mul(op, res, rw, err);
		if (!rc)
			rc = f->bp(op, res, d, err);
		if (!rc)
			rc = f->mul(op, d, cw, err);
		if (!rc)
			rc = f->update(op, x, (float)o->relaxation, d, o->min,
				       o->max, &change, &norm, err);
		if (!rc)
			rc = report(r, k, res2, change, norm, x, NULL, err);
	}
	if (!rc)
		rc = f->store(op, x, x_host, err);
	return rc;
}

static int cgls(struct run *r, const float *b_host, float *x_host,
		struct kk_error *err)
{
	struct kk_linop *op = r->op;
	const struct kk_linop_ops *f = op->ops;
	const struct kk_recon_opts *o = r->o;
	struct kk_vec *res, *w, *x, *p, *z, *m = NULL;
	double gamma, gamma_new, ww, wr, res2, change, norm;
	float alpha;
	int k, rc;

	if (!(res = vec(r, true, err)) || !(w = vec(r, true, err)) ||
	    !(x = vec(r, false, err)) || !(p = vec(r, false, err)) ||
	    !(z = vec(r, false, err)))
		return err->code;
	if (o->mask && !(m = vec(r, false, err)))
		return err->code;
	rc = m ? f->load(op, m, o->mask, err) : 0;
	/* res = b - A x; z = M A^T res; gamma = |z|^2 */
	if (!rc)
		rc = f->load(op, res, b_host, err);
	if (!rc)
		rc = first_iterate(r, x, err);
	if (!rc && o->x0) {
		rc = f->fp(op, x, w, err);
		if (!rc)
			rc = f->axpby(op, res, -1, w, 1, err);
	}
	if (!rc)
		rc = f->bp(op, res, z, err);
	if (!rc && m)
		rc = f->mul(op, z, m, err);
	if (!rc)
		rc = f->dot(op, z, z, &gamma, err);
	/* p: the saved search direction, or z */
	if (!rc)
		rc = o->start > 0 ? f->load(op, p, o->p0, err)
				  : f->axpby(op, p, 1, z, 0, err);
	for (k = o->start + 1; !rc && k <= o->iterations; k++) {
		rc = f->dot(op, res, res, &res2, err);
		if (!rc)
			rc = check_residual(res2 + gamma, k, err);
		if (rc)
			break;
		if (gamma == 0) {
			kk_msg_note("cgls: converged after %d iterations "
				    "(the gradient is zero)", k - 1);
			break;
		}
		/* The step: the least residual along p, <w, res> / |w|^2.
		 * With A^T the transpose of A that is CGLS's gamma / |w|^2;
		 * with a backprojector that only nearly is (cone beams) it
		 * keeps the residual from rising where gamma would not. */
		rc = f->fp(op, p, w, err);
		if (!rc)
			rc = f->dot(op, w, w, &ww, err);
		if (!rc)
			rc = f->dot(op, w, res, &wr, err);
		if (rc)
			break;
		alpha = ww > 0 ? (float)(wr / ww) : 0.0f;
		rc = f->update(op, x, alpha, p, -INFINITY, INFINITY, &change,
			       &norm, err);
		if (!rc)
			rc = f->axpby(op, res, -alpha, w, 1, err);
		if (!rc)
			rc = f->bp(op, res, z, err);
		if (!rc && m)
			rc = f->mul(op, z, m, err);
		if (!rc)
			rc = f->dot(op, z, z, &gamma_new, err);
		if (!rc)
			rc = f->axpby(op, p, 1, z, (float)(gamma_new / gamma),
				      err);
		gamma = gamma_new;
		if (!rc)
			rc = report(r, k, res2, change, norm, x, p, err);
	}
	if (!rc)
		rc = f->store(op, x, x_host, err);
	return rc;
}

int kk_recon_run(struct kk_linop *op, const float *b, float *x,
		 const struct kk_recon_opts *o, struct kk_error *err)
{
	struct run r = {op, o, {NULL}, 0, kk_now()};
	int rc;

	rc = o->method == KK_CGLS ? cgls(&r, b, x, err) : sirt(&r, b, x, err);
	free_all(&r);
	return rc;
}
