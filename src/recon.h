/*
 * recon.h: the iterative methods, SIRT and CGLS, written once against a
 * linear operator (struct kk_linop): the projector A, its transpose, and
 * the few vector operations the methods need, on vectors wherever the
 * operator keeps them.  Two operators exist:
 *
 *   linop_host.c  vectors in host memory; A and its transpose are the
 *                 streaming executors (stream.h) reading and writing
 *                 those arrays, so any size that fits the host works, on
 *                 the CPU or a GPU (streamed).
 *   linop_gpu.c   vectors in GPU memory, when all of them fit: nothing
 *                 crosses the bus between iterations (in-core).
 *
 * Both give the same result to rounding.
 */
#ifndef KK_RECON_H
#define KK_RECON_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

enum kk_recon_method { KK_SIRT, KK_CGLS };

/* A volume (z, y, x) or a set of projections (in the operator's axis
 * order), held where the operator holds its vectors. */
struct kk_vec;
struct kk_linop;

struct kk_linop_ops {
	int (*alloc)(struct kk_linop *op, bool proj, struct kk_vec **v,
		     struct kk_error *err);
	void (*free)(struct kk_linop *op, struct kk_vec *v);
	/* Whole vectors to and from float32 arrays in host memory. */
	int (*load)(struct kk_linop *op, struct kk_vec *v, const float *src,
		    struct kk_error *err);
	int (*store)(struct kk_linop *op, const struct kk_vec *v, float *dst,
		     struct kk_error *err);
	/* y = A x and x = A^T y (overwritten, not added to). */
	int (*fp)(struct kk_linop *op, const struct kk_vec *x,
		  struct kk_vec *y, struct kk_error *err);
	int (*bp)(struct kk_linop *op, const struct kk_vec *y,
		  struct kk_vec *x, struct kk_error *err);
	/* y = value */
	int (*fill)(struct kk_linop *op, struct kk_vec *y, float value,
		    struct kk_error *err);
	/* y = a x + b y */
	int (*axpby)(struct kk_linop *op, struct kk_vec *y, float a,
		     const struct kk_vec *x, float b, struct kk_error *err);
	/* y *= x */
	int (*mul)(struct kk_linop *op, struct kk_vec *y,
		   const struct kk_vec *x, struct kk_error *err);
	/* y = |y| > eps ? 1 / y : 0 */
	int (*invert)(struct kk_linop *op, struct kk_vec *y, float eps,
		      struct kk_error *err);
	/* *out = sum of x * y (x may be y), added up in double */
	int (*dot)(struct kk_linop *op, const struct kk_vec *x,
		   const struct kk_vec *y, double *out, struct kk_error *err);
	/* x = min(max(x + a d, lo), hi); *change = |x_new - x_old|^2,
	 * *norm = |x_new|^2 */
	int (*update)(struct kk_linop *op, struct kk_vec *x, float a,
		      const struct kk_vec *d, float lo, float hi,
		      double *change, double *norm, struct kk_error *err);
	void (*destroy)(struct kk_linop *op);
};

struct kk_linop {
	const struct kk_linop_ops *ops;
	int64_t nvol, nproj;     /* elements of a volume, of projections */
	int64_t vol_dims[3];     /* (z, y, x) */
	int64_t proj_dims[3];    /* in the operator's axis order */
	const char *where;       /* "host memory", "GPU memory": for -v */
};

/* What an iteration did, for --log and the progress line. */
struct kk_recon_step {
	int iteration;           /* 1, 2, ... */
	double residual;         /* |b - A x| of the iterate it started from */
	double rel_change;       /* |x_new - x_old| / |x_new| */
	double seconds;          /* since the method started */
};

/* The state that --checkpoint saves and --resume gives back: the iterate
 * x after iteration (and CGLS's search direction p). */
struct kk_recon_state {
	int iteration;
	const struct kk_vec *x, *p;
};

struct kk_recon_opts {
	enum kk_recon_method method;
	int iterations;           /* the last iteration to run */
	double relaxation;        /* SIRT's step factor */
	float min, max;           /* SIRT's box: -INFINITY, INFINITY for none */
	const float *x0;          /* the first iterate (host, volume), or
				   * NULL for zeros */
	const float *mask;        /* only voxels where it is non-zero
				   * change (host, volume), or NULL */
	/* Resume after this iteration: x0 is the saved iterate and, for
	 * CGLS, p0 the saved search direction.  0: start afresh. */
	int start;
	const float *p0;
	/* Called after every iteration with what it did; a non-zero
	 * return stops the method with that code. */
	int (*after)(void *ctx, struct kk_linop *op,
		     const struct kk_recon_step *step,
		     const struct kk_recon_state *state, struct kk_error *err);
	void *ctx;
};

void kk_recon_opts_default(struct kk_recon_opts *o);
const char *kk_recon_method_name(enum kk_recon_method m);

/*
 * Solve A x = b (b: the projections, host, in the operator's order) in
 * the least-squares sense by o->method; the result goes to x (host,
 * volume).  Fails (KK_EINPUT) when the residual stops being finite.
 */
int kk_recon_run(struct kk_linop *op, const float *b, float *x,
		 const struct kk_recon_opts *o, struct kk_error *err);

/* The passes (A or A^T) a run of o takes in all, for progress. */
int64_t kk_recon_passes(const struct kk_recon_opts *o);

#endif
