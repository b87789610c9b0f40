/*
 * linop.h: the operators the iterative methods run on (recon.h): with
 * the vectors in host memory and A, A^T streamed (linop_host.c), or all
 * of them in GPU memory (linop_gpu.c).
 */
#ifndef KK_LINOP_H
#define KK_LINOP_H

#include "device.h"
#include "geometry.h"
#include "recon.h"
#include "stream.h"

/* What the passes (A or A^T) took, for -v. */
struct kk_linop_stats {
	int64_t passes;
	double pass_s;
};

/*
 * Vectors in host memory; each A x or A^T y is one streamed run on d
 * within o's limits (o->axes: the projections' order), adding views to
 * progress.  threads: for the vector operations (0: all CPUs).
 */
int kk_linop_host(struct kk_linop **op, struct kk_device *d,
		  const struct kk_geometry *g, const struct kk_stream_opts *o,
		  int threads, struct kk_progress *progress,
		  struct kk_linop_stats *stats, struct kk_error *err);

/*
 * Vectors in the memory of d's GPU, with engines for A and A^T that
 * stay for the whole run: nvol volumes and nproj sets of projections
 * must fit beside them within o's limits, else KK_ENOMEM (and the
 * caller streams instead).
 */
int kk_linop_gpu(struct kk_linop **op, struct kk_device *d,
		 const struct kk_geometry *g, const struct kk_stream_opts *o,
		 int nvol, int nproj, struct kk_progress *progress,
		 struct kk_linop_stats *stats, struct kk_error *err);

/* The part of an operator both kinds set alike: its ops, its vectors'
 * shapes (the projections in axes order) and where they are. */
static inline void kk_linop_init(struct kk_linop *op,
				 const struct kk_linop_ops *ops,
				 const struct kk_geometry *g,
				 const struct kk_axes *axes,
				 const char *where)
{
	op->ops = ops;
	kk_geometry_volume_dims(g, op->vol_dims);
	kk_geometry_proj_dims(g, axes, op->proj_dims);
	op->nvol = kk_count(op->vol_dims, 3);
	op->nproj = kk_count(op->proj_dims, 3);
	op->where = where;
}

static inline void kk_linop_free(struct kk_linop *op)
{
	if (op)
		op->ops->destroy(op);
}

#endif
