/*
 * linop_gpu.c: the iterative methods' operator with every vector in GPU
 * memory (recon.h), for runs where the volumes and projections fit: the
 * bus is crossed when the run starts and ends, never between iterations.
 *
 * A x and A^T y are the same engines the streamed commands use
 * (engine.h), made once for the whole volume and all views, fed from and
 * emptied into the vectors by device-to-device copies (kk_hbuf_wrap_
 * device).  The vector operations are kernels/ops.cu.  Everything runs
 * in order: the host waits for the engines' copies before it queues
 * vector kernels, and for those before an engine reads a vector.
 */
#include "config.h"
#include "linop.h"
#include "budget.h"
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA_HEADERS
#include "gpu.h"
#include "gpu_proj.h"
#include "kernels.h"

/* Threads a block of the ops.cu kernels (KK_SUM_THREADS there). */
#define THREADS 256
/* The most blocks of a summing kernel: its partial sums' pairs. */
#define MAX_SUM_BLOCKS 1024

enum { FILL, AXPBY, MUL, INVERT, DOT, UPDATE, NFN };
static const char *const fn_names[NFN] = {
	"kk_fill", "kk_axpby", "kk_mul", "kk_invert", "kk_dot", "kk_update",
};

struct kk_vec {
	CUdeviceptr p;
	long long n;
	bool proj;
	struct kk_hbuf hb;      /* p as an engine's buffer */
};

struct gpu_op {
	struct kk_linop base;
	struct kk_device *dev;
	struct kk_gpu *g;
	const struct kk_geometry *geo;
	struct kk_fp_engine *fp;
	struct kk_bp_engine *bp;
	int64_t bp_views;       /* views a backprojection upload */
	CUfunction fn[NFN];
	CUdeviceptr sums;       /* MAX_SUM_BLOCKS pairs of doubles */
	double *host_sums;
	unsigned grid;          /* blocks of an element-wise kernel */
	struct kk_progress *progress;
	struct kk_linop_stats *stats;
};

static struct gpu_op *gpu(struct kk_linop *op)
{
	return (struct gpu_op *)op;
}

static int sync_kernels(struct gpu_op *o, struct kk_error *err)
{
	int rc = KK_CU(o->g, err, cuCtxSetCurrent, o->g->ctx);

	return rc ? rc : KK_CU(o->g, err, cuStreamSynchronize, o->g->stream);
}

static int alloc_vec(struct kk_linop *op, bool proj, struct kk_vec **out,
		     struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	struct kk_vec *v = calloc(1, sizeof(*v));
	size_t bytes;
	int rc;

	if (!v)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	v->n = proj ? op->nproj : op->nvol;
	v->proj = proj;
	bytes = (size_t)v->n * sizeof(float);
	rc = KK_CU(o->g, err, cuCtxSetCurrent, o->g->ctx);
	if (!rc)
		rc = KK_CU(o->g, err, cuMemAlloc, &v->p, bytes);
	if (!rc)
		rc = kk_hbuf_wrap_device(o->dev, &v->hb, v->p, bytes, err);
	if (rc) {
		if (v->p)
			o->g->cu.cuMemFree(v->p);
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

static void free_vec(struct kk_linop *op, struct kk_vec *v)
{
	struct gpu_op *o = gpu(op);

	if (!v)
		return;
	kk_hbuf_free(&v->hb);
	o->g->cu.cuCtxSetCurrent(o->g->ctx);
	o->g->cu.cuMemFree(v->p);
	free(v);
}

static int load(struct kk_linop *op, struct kk_vec *v, const float *src,
		struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	int rc = KK_CU(o->g, err, cuCtxSetCurrent, o->g->ctx);

	if (!rc)
		rc = KK_CU(o->g, err, cuMemcpyHtoDAsync, v->p, src,
			   (size_t)v->n * sizeof(float), o->g->stream);
	return rc ? rc : sync_kernels(o, err);
}

static int store(struct kk_linop *op, const struct kk_vec *v, float *dst,
		 struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	int rc = KK_CU(o->g, err, cuCtxSetCurrent, o->g->ctx);

	if (!rc)
		rc = KK_CU(o->g, err, cuMemcpyDtoHAsync, dst, v->p,
			   (size_t)v->n * sizeof(float), o->g->stream);
	return rc ? rc : sync_kernels(o, err);
}

static void count_pass(struct gpu_op *o, double t0)
{
	if (o->stats) {
		o->stats->passes++;
		o->stats->pass_s += kk_now() - t0;
	}
}

static int fp(struct kk_linop *op, const struct kk_vec *x, struct kk_vec *y,
	      struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	const struct kk_geometry *g = o->geo;
	struct kk_fp_job job;
	double t0 = kk_now();
	int rc;

	memset(&job, 0, sizeof(job));
	job.zhi = g->vol.nz;
	job.nviews = g->nviews;
	job.row_hi = g->nrows;
	job.accumulate = true;
	job.progress = o->progress;
	job.units = (double)g->nviews;
	rc = sync_kernels(o, err);
	if (!rc)
		rc = kk_fp_upload(o->fp, 0, 0, g->vol.nz,
				  (struct kk_hbuf *)&x->hb, err);
	if (!rc)
		rc = kk_fp_clear(o->fp, 0, g->nviews, err);
	if (!rc)
		rc = kk_fp_run(o->fp, &job, err);
	if (!rc)
		rc = kk_fp_download(o->fp, 0, g->nviews, &y->hb, err);
	if (!rc)
		rc = kk_hbuf_wait(&y->hb, err);
	if (!rc)
		count_pass(o, t0);
	return rc;
}

static int bp(struct kk_linop *op, const struct kk_vec *y, struct kk_vec *x,
	      struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	const struct kk_geometry *g = o->geo;
	struct kk_hbuf *hb = (struct kk_hbuf *)&y->hb;
	size_t view = (size_t)(g->nrows * g->ncols) * sizeof(float);
	struct kk_bp_job job;
	double t0 = kk_now();
	int64_t v0;
	int rc;

	memset(&job, 0, sizeof(job));
	job.nz = g->vol.nz;
	job.progress = o->progress;
	rc = sync_kernels(o, err);
	if (!rc)
		rc = kk_bp_clear(o->bp, 0, err);
	/* Views in pieces of the texture's layers, all rows at once (a
	 * row-first order only when one piece holds every view). */
	for (v0 = 0; !rc && v0 < g->nviews; v0 += o->bp_views) {
		job.view0 = v0;
		job.nviews = g->nviews - v0 < o->bp_views ? g->nviews - v0
							  : o->bp_views;
		job.units = (double)job.nviews;
		hb->data = (char *)(uintptr_t)y->p + (size_t)v0 * view;
		rc = kk_bp_upload(o->bp, 0, v0, job.nviews, 0, NULL, hb,
				  err);
		if (!rc)
			rc = kk_bp_run(o->bp, &job, err);
		if (!rc)
			rc = kk_hbuf_wait(hb, err);
	}
	hb->data = (void *)(uintptr_t)y->p;
	if (!rc)
		rc = kk_bp_download(o->bp, 0, 0, g->vol.nz, &x->hb, err);
	if (!rc)
		rc = kk_hbuf_wait(&x->hb, err);
	if (!rc)
		count_pass(o, t0);
	return rc;
}

/* ---- vector operations: kernels/ops.cu ------------------------------ */

static int launch(struct gpu_op *o, int which, unsigned blocks, void **args,
		  struct kk_error *err)
{
	int rc = KK_CU(o->g, err, cuCtxSetCurrent, o->g->ctx);

	return rc ? rc : kk_gpu_launch(o->g, o->fn[which], blocks, 1, 1,
				       THREADS, 1, args, err);
}

/* Blocks of a summing kernel over n elements. */
static unsigned sum_blocks(long long n)
{
	long long b = (n + THREADS - 1) / THREADS;

	return b < 1 ? 1 : b > MAX_SUM_BLOCKS ? MAX_SUM_BLOCKS : (unsigned)b;
}

/* Add up the pairs of partial sums of the last summing kernel. */
static int collect(struct gpu_op *o, unsigned blocks, double *s0, double *s1,
		   struct kk_error *err)
{
	unsigned i;
	int rc = KK_CU(o->g, err, cuMemcpyDtoHAsync, o->host_sums, o->sums,
		       (size_t)blocks * 2 * sizeof(double), o->g->stream);

	if (!rc)
		rc = sync_kernels(o, err);
	if (rc)
		return rc;
	*s0 = 0;
	if (s1)
		*s1 = 0;
	for (i = 0; i < blocks; i++) {
		*s0 += o->host_sums[2 * i];
		if (s1)
			*s1 += o->host_sums[2 * i + 1];
	}
	return 0;
}

static int fill(struct kk_linop *op, struct kk_vec *y, float value,
		struct kk_error *err)
{
	void *args[3] = {&y->p, &y->n, &value};

	return launch(gpu(op), FILL, gpu(op)->grid, args, err);
}

static int axpby(struct kk_linop *op, struct kk_vec *y, float a,
		 const struct kk_vec *x, float b, struct kk_error *err)
{
	void *args[5] = {&y->p, (void *)&x->p, &a, &b, &y->n};

	return launch(gpu(op), AXPBY, gpu(op)->grid, args, err);
}

static int mul(struct kk_linop *op, struct kk_vec *y, const struct kk_vec *x,
	       struct kk_error *err)
{
	void *args[3] = {&y->p, (void *)&x->p, &y->n};

	return launch(gpu(op), MUL, gpu(op)->grid, args, err);
}

static int invert(struct kk_linop *op, struct kk_vec *y, float eps,
		  struct kk_error *err)
{
	void *args[3] = {&y->p, &eps, &y->n};

	return launch(gpu(op), INVERT, gpu(op)->grid, args, err);
}

static int dot(struct kk_linop *op, const struct kk_vec *x,
	       const struct kk_vec *y, double *out, struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	unsigned blocks = sum_blocks(x->n);
	void *args[4] = {&o->sums, (void *)&x->p, (void *)&y->p,
			 (void *)&x->n};
	int rc = launch(o, DOT, blocks, args, err);

	return rc ? rc : collect(o, blocks, out, NULL, err);
}

static int update(struct kk_linop *op, struct kk_vec *x, float a,
		  const struct kk_vec *d, float lo, float hi, double *change,
		  double *norm, struct kk_error *err)
{
	struct gpu_op *o = gpu(op);
	unsigned blocks = sum_blocks(x->n);
	void *args[7] = {&o->sums, &x->p, (void *)&d->p, &a, &lo, &hi, &x->n};
	int rc = launch(o, UPDATE, blocks, args, err);

	return rc ? rc : collect(o, blocks, change, norm, err);
}

static void destroy(struct kk_linop *op)
{
	struct gpu_op *o = gpu(op);

	kk_fp_engine_free(o->fp);
	kk_bp_engine_free(o->bp);
	if (o->sums) {
		o->g->cu.cuCtxSetCurrent(o->g->ctx);
		o->g->cu.cuMemFree(o->sums);
	}
	free(o->host_sums);
	free(o);
}

static const struct kk_linop_ops gpu_ops = {
	alloc_vec, free_vec, load, store, fp, bp, fill, axpby, mul, invert,
	dot, update, destroy,
};

/* Why the run cannot be in-core, or 0; with the bytes it needs. */
static int check_fit(struct gpu_op *o, const struct kk_stream_opts *so,
		     int nvol, int nproj, struct kk_error *err)
{
	const struct kk_geometry *g = o->geo;
	struct kk_plan_limits l;
	uint64_t vol = (uint64_t)o->base.nvol * 4;
	uint64_t proj = (uint64_t)o->base.nproj * 4;
	uint64_t view = (uint64_t)(g->nrows * g->ncols) * 4, need;
	char a[32], b[32];
	int rc;

	if (o->dev->gpu_opts.vol_half || o->dev->gpu_opts.proj_half)
		return kk_fail(err, KK_ENOMEM, "--storage float16 streams");
	if (so->axes.where[KK_COL] != 2)
		return kk_fail(err, KK_ENOMEM, "the projections' columns are "
			       "not their last axis");
	rc = kk_stream_limits(o->dev, so, &l, err);
	if (rc)
		return rc;
	o->bp_views = l.max_chunk > 0 && l.max_chunk < g->nviews
		      ? l.max_chunk : g->nviews;
	if (o->bp_views < g->nviews && so->axes.where[KK_ANGLE] != 0)
		return kk_fail(err, KK_ENOMEM, "more views than a texture "
			       "holds, in the row,angle,col order");
	/* the vectors, then fp's volume and projections, then bp's */
	need = nvol * vol + nproj * proj + vol + proj +
	       (uint64_t)o->bp_views * view + vol;
	if (need > l.device) {
		kk_format_size(need, a, sizeof(a));
		kk_format_size(l.device, b, sizeof(b));
		return kk_fail(err, KK_ENOMEM, "it needs %s of %s, %s is "
			       "there", a, l.device_what, b);
	}
	return 0;
}

static int make_engines(struct gpu_op *o, const struct kk_stream_opts *so,
			struct kk_error *err)
{
	const struct kk_geometry *g = o->geo;
	struct kk_fp_layout fl = {g->vol.nz, 1, g->nviews, 1, so->axes};
	struct kk_bp_layout bl = {g->vol.nz, 1, o->bp_views, g->nrows, 1,
				  so->axes, NULL, 0};
	CUmodule mod;
	int i, rc;

	rc = kk_fp_engine_create(&o->fp, o->dev, g, &fl, err);
	if (!rc)
		rc = kk_bp_engine_create(&o->bp, o->dev, g, &bl, err);
	for (i = 0; !rc && i < NFN; i++)
		rc = kk_kernel_get(o->g, "ops.cu", "", fn_names[i], &o->fn[i],
				   &mod, err);
	if (!rc)
		rc = KK_CU(o->g, err, cuMemAlloc, &o->sums,
			   MAX_SUM_BLOCKS * 2 * sizeof(double));
	if (!rc) {
		o->host_sums = malloc(MAX_SUM_BLOCKS * 2 * sizeof(double));
		if (!o->host_sums)
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
	}
	return rc;
}

int kk_linop_gpu(struct kk_linop **out, struct kk_device *d,
		 const struct kk_geometry *g, const struct kk_stream_opts *so,
		 int nvol, int nproj, struct kk_progress *progress,
		 struct kk_linop_stats *stats, struct kk_error *err)
{
	struct gpu_op *o = calloc(1, sizeof(*o));
	int rc;

	*out = NULL;
	if (!o)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	kk_linop_init(&o->base, &gpu_ops, g, &so->axes, "GPU memory");
	o->dev = d;
	o->g = d->gpu;
	o->geo = g;
	o->progress = progress;
	o->stats = stats;
	o->grid = (unsigned)o->g->sm_count * 8;
	rc = check_fit(o, so, nvol, nproj, err);
	if (!rc)
		rc = make_engines(o, so, err);
	if (rc) {
		destroy(&o->base);
		return rc;
	}
	*out = &o->base;
	return 0;
}

#else

int kk_linop_gpu(struct kk_linop **out, struct kk_device *d,
		 const struct kk_geometry *g, const struct kk_stream_opts *so,
		 int nvol, int nproj, struct kk_progress *progress,
		 struct kk_linop_stats *stats, struct kk_error *err)
{
	(void)d;
	(void)g;
	(void)so;
	(void)nvol;
	(void)nproj;
	(void)progress;
	(void)stats;
	*out = NULL;
	return kk_fail(err, KK_ERUNTIME, "kkit was built without CUDA");
}

#endif
