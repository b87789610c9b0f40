/*
 * linop_host.c: the iterative methods' operator with its vectors in host
 * memory (recon.h).  A x and A^T y are the streaming executors
 * (stream.h) reading one array and writing another through io_memory.c,
 * so a GPU sees the volume in slabs and the projections in chunks as the
 * memory there allows, and the CPU device works the same way.  Vector
 * operations run on the host's threads, in fixed blocks, so that sums
 * come out the same whatever the number of threads.
 */
#include "config.h"
#include "linop.h"
#include "io.h"
#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Elements a block of a vector operation. */
#define BLOCK ((int64_t)1 << 16)

struct kk_vec {
	float *a;
	int64_t n;
	bool proj;
};

struct host_op {
	struct kk_linop base;
	struct kk_device *dev;
	const struct kk_geometry *g;
	struct kk_stream_opts so;
	struct kk_progress *progress;
	int threads;
	int64_t nfp, nbp;             /* passes so far */
	struct kk_linop_stats *stats;
};

static struct host_op *host(struct kk_linop *op)
{
	return (struct host_op *)op;
}

static int alloc_vec(struct kk_linop *op, bool proj, struct kk_vec **out,
		     struct kk_error *err)
{
	struct kk_vec *v = malloc(sizeof(*v));

	if (!v)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	v->n = proj ? op->nproj : op->nvol;
	v->proj = proj;
	v->a = kk_alloc_floats(v->n, proj ? "projections of an iterative "
			       "method" : "volume of an iterative method", err);
	if (!v->a) {
		free(v);
		return err->code;
	}
	*out = v;
	return 0;
}

static void free_vec(struct kk_linop *op, struct kk_vec *v)
{
	(void)op;
	if (v) {
		free(v->a);
		free(v);
	}
}

static int load(struct kk_linop *op, struct kk_vec *v, const float *src,
		struct kk_error *err)
{
	(void)op;
	(void)err;
	memcpy(v->a, src, (size_t)v->n * sizeof(float));
	return 0;
}

static int store(struct kk_linop *op, const struct kk_vec *v, float *dst,
		 struct kk_error *err)
{
	(void)op;
	(void)err;
	memcpy(dst, v->a, (size_t)v->n * sizeof(float));
	return 0;
}

/* One pass of an executor from the array in (dims_in) to out. */
static int pass(struct host_op *h, bool fp, const struct kk_vec *in,
		struct kk_vec *out, struct kk_error *err)
{
	const struct kk_linop *op = &h->base;
	const int64_t *din = fp ? op->vol_dims : op->proj_dims;
	const int64_t *dout = fp ? op->proj_dims : op->vol_dims;
	int64_t *count = fp ? &h->nfp : &h->nbp;
	struct kk_stream_stats st;
	struct kk_reader *r = NULL;
	struct kk_writer *w = NULL;
	int rc;

	rc = kk_reader_open_memory(&r, in->a, din, fp ? "the iterate"
				   : "the weighted residual", err);
	if (!rc)
		rc = kk_reader_expect(r, din, -1, fp ? "volume"
				      : "projections", "a,b,c", err);
	if (!rc)
		rc = kk_writer_create_memory(&w, out->a, dout, fp ?
					     "the projected iterate" :
					     "the backprojection", err);
	/* The first pass of each kind says what it says (the plan with
	 * -v, warnings); the others would repeat it. */
	kk_msg_hush(*count > 0);
	if (!rc)
		rc = fp ? kk_stream_fp(h->dev, h->g, r, w, &h->so, h->progress,
				       &st, err)
			: kk_stream_bp(h->dev, h->g, r, w, &h->so, h->progress,
				       &st, err);
	if (!rc) {
		rc = kk_writer_commit(w, err);
		w = NULL;
	}
	kk_writer_abort(w);
	kk_reader_close(r);
	kk_msg_hush(0);
	if (!rc) {
		(*count)++;
		if (h->stats) {
			h->stats->passes++;
			h->stats->pass_s += st.seconds;
		}
	}
	return rc;
}

static int fp(struct kk_linop *op, const struct kk_vec *x, struct kk_vec *y,
	      struct kk_error *err)
{
	return pass(host(op), true, x, y, err);
}

static int bp(struct kk_linop *op, const struct kk_vec *y, struct kk_vec *x,
	      struct kk_error *err)
{
	return pass(host(op), false, y, x, err);
}

/* ---- element-wise operations, block by block ----------------------- */

struct elem {
	int what;
	float *y;
	const float *x;
	float a, b, lo, hi;
	int64_t n;
	double *part;                 /* two sums a block */
};

enum { FILL, AXPBY, MUL, INVERT, DOT, UPDATE };

static void elem_block(void *ctx, int64_t begin, int64_t end)
{
	const struct elem *e = ctx;
	int64_t blk, i;

	for (blk = begin; blk < end; blk++) {
		int64_t i0 = blk * BLOCK;
		int64_t i1 = i0 + BLOCK < e->n ? i0 + BLOCK : e->n;
		double s0 = 0, s1 = 0;
		float *y = e->y;
		const float *x = e->x;

		for (i = i0; i < i1; i++) {
			switch (e->what) {
			case FILL:
				y[i] = e->a;
				break;
			case AXPBY:
				y[i] = e->b == 0 ? e->a * x[i]
						 : e->a * x[i] + e->b * y[i];
				break;
			case MUL:
				y[i] *= x[i];
				break;
			case INVERT:
				y[i] = fabsf(y[i]) > e->a ? 1.0f / y[i] : 0;
				break;
			case DOT:
				s0 += (double)y[i] * x[i];
				break;
			case UPDATE: {
				float v = fminf(fmaxf(fmaf(e->a, x[i], y[i]),
						      e->lo), e->hi);
				double dv = (double)v - y[i];

				s0 += dv * dv;
				s1 += (double)v * v;
				y[i] = v;
				break;
			}
			}
		}
		if (e->part) {
			e->part[2 * blk] = s0;
			e->part[2 * blk + 1] = s1;
		}
	}
}

static int elem_run(struct kk_linop *op, struct elem *e, double *s0,
		    double *s1, struct kk_error *err)
{
	int64_t nblk = (e->n + BLOCK - 1) / BLOCK, i;
	int rc;

	e->part = NULL;
	if (s0) {
		e->part = calloc((size_t)nblk * 2, sizeof(double));
		if (!e->part)
			return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	rc = kk_parallel_for(nblk, host(op)->threads, elem_block, e, err);
	if (!rc && s0) {
		*s0 = 0;
		for (i = 0; i < nblk; i++)
			*s0 += e->part[2 * i];
		if (s1) {
			*s1 = 0;
			for (i = 0; i < nblk; i++)
				*s1 += e->part[2 * i + 1];
		}
	}
	free(e->part);
	return rc;
}

static int fill(struct kk_linop *op, struct kk_vec *y, float value,
		struct kk_error *err)
{
	struct elem e = {FILL, y->a, NULL, value, 0, 0, 0, y->n, NULL};

	return elem_run(op, &e, NULL, NULL, err);
}

static int axpby(struct kk_linop *op, struct kk_vec *y, float a,
		 const struct kk_vec *x, float b, struct kk_error *err)
{
	struct elem e = {AXPBY, y->a, x->a, a, b, 0, 0, y->n, NULL};

	return elem_run(op, &e, NULL, NULL, err);
}

static int mul(struct kk_linop *op, struct kk_vec *y, const struct kk_vec *x,
	       struct kk_error *err)
{
	struct elem e = {MUL, y->a, x->a, 0, 0, 0, 0, y->n, NULL};

	return elem_run(op, &e, NULL, NULL, err);
}

static int invert(struct kk_linop *op, struct kk_vec *y, float eps,
		  struct kk_error *err)
{
	struct elem e = {INVERT, y->a, NULL, eps, 0, 0, 0, y->n, NULL};

	return elem_run(op, &e, NULL, NULL, err);
}

static int dot(struct kk_linop *op, const struct kk_vec *x,
	       const struct kk_vec *y, double *out, struct kk_error *err)
{
	struct elem e = {DOT, y->a, x->a, 0, 0, 0, 0, y->n, NULL};

	return elem_run(op, &e, out, NULL, err);
}

static int update(struct kk_linop *op, struct kk_vec *x, float a,
		  const struct kk_vec *d, float lo, float hi, double *change,
		  double *norm, struct kk_error *err)
{
	struct elem e = {UPDATE, x->a, d->a, a, 0, lo, hi, x->n, NULL};

	return elem_run(op, &e, change, norm, err);
}

static void destroy(struct kk_linop *op)
{
	free(op);
}

static const struct kk_linop_ops host_ops = {
	alloc_vec, free_vec, load, store, fp, bp, fill, axpby, mul, invert,
	dot, update, destroy,
};

int kk_linop_host(struct kk_linop **out, struct kk_device *d,
		  const struct kk_geometry *g, const struct kk_stream_opts *o,
		  int threads, struct kk_progress *progress,
		  struct kk_linop_stats *stats, struct kk_error *err)
{
	struct host_op *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	kk_linop_init(&h->base, &host_ops, g, &o->axes, "host memory");
	h->dev = d;
	h->g = g;
	h->so = *o;
	h->so.fbp = NULL;
	h->progress = progress;
	h->threads = threads > 0 ? threads : kk_cpu_count();
	h->stats = stats;
	*out = &h->base;
	return 0;
}
