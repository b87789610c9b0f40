/*
 * cpu_proj.h: the reference forward and back projectors, on the CPU.
 *
 * Forward projection is ASTRA's Joseph-style ray tracer: each ray steps
 * through the volume one slice at a time along the view's dominant axis
 * (chosen per view from the central ray, as ASTRA does) and samples each
 * slice with bilinear interpolation, zero outside the volume.  The sum
 * times the ray's length per slice is the line integral in the volume's
 * length unit.
 *
 * Backprojection is voxel-driven with bilinear interpolation on the
 * detector (zero outside it) and ASTRA's default weights, which make it
 * close to the adjoint of the forward projection:
 *   parallel   V / |u x v|
 *   cone       V / |u x v| * M^2,  M = ((u x v).(d - s)) / ((u x v).(x - s))
 *   fan (2D)   V / |u x v| * M
 * with V the voxel volume.  Voxels behind the source get nothing, and
 * rays do not sample behind it.
 *
 * Both work on a chunk of views at a time, in any projection axis order,
 * on nthreads threads, in double precision within a chunk (bp adds each
 * chunk's sums to the float volume).  These are the numbers the GPU
 * kernels are tested against.
 *
 * Like ASTRA, fp steps along one axis per view, the one its central ray
 * follows most.  In a cone beam the rays at the detector's edges may
 * follow another axis more; they are then sampled less than once per
 * voxel they cross, which ASTRA accepts for ordinary fan angles.  Past 4
 * voxels sideways per slice (76 degrees off the axis, in voxel units;
 * only extreme geometries) the result degrades: kk_fp_steep_views()
 * counts the views that have such rays.
 */
#ifndef KK_CPU_PROJ_H
#define KK_CPU_PROJ_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "geometry.h"
#include "msg.h"

/* Projections of views [view0, view0 + nviews) and detector rows
 * [row0, row0 + nrows), stored in axes order with lengths nviews
 * (angle), nrows (row) and g->ncols (col). */
struct kk_proj_chunk {
	float *data;
	int64_t view0, nviews;
	int64_t row0, nrows;
	struct kk_axes axes;
};

/* Slices [z0, z0 + nz) of the volume: nz x ny x nx floats. */
struct kk_vol_slab {
	float *data;
	int64_t z0, nz;
};

/*
 * How bilinear weights are computed: exactly, or as a GPU's texture unit
 * does in fixed point with 8 fractional bits.  The CUDA programming
 * guide says no more; measured on an H200 (check_gpu asserts it): the
 * fractions a and b are rounded to the nearest 1/256 (ties up), the
 * weight of the far corner is a * b rounded again, and the other three
 * follow by differences, so the four add up to 1.  The GPU tests compare
 * hardware-filtered kernels with KK_INTERP_TEXTURE; kkit itself
 * computes exactly.
 */
enum kk_interp {
	KK_INTERP_EXACT,
	KK_INTERP_TEXTURE,
};

/* How a run goes; kk_cpu_run_default() gives exact weights, all rows,
 * no accumulation, all CPUs and no progress. */
struct kk_cpu_run {
	int nthreads;
	enum kk_interp interp;
	bool accumulate;          /* fp: add to out instead of storing */
	int64_t row_lo, row_hi;   /* fp: the rows of out to compute (the
				   * others are left alone) */
	struct kk_progress *progress; /* given units, bit by bit */
	double units;
	bool fdk;                 /* bp: weight fan beams as cone beams,
				   * by M^2 (FDK's backprojection) */
};
void kk_cpu_run_default(struct kk_cpu_run *run);

/*
 * Forward project the slab (the rest of the volume counts as zero) into
 * rows [row_lo, row_hi) of out.  Projections are linear: the slabs'
 * results add up to the whole volume's, to rounding.
 */
int kk_cpu_fp_slab(const struct kk_geometry *g, const struct kk_vol_slab *vol,
		   struct kk_proj_chunk *out, const struct kk_cpu_run *run,
		   struct kk_error *err);
/* Forward project vol (nz x ny x nx) into every element of out. */
int kk_cpu_fp(const struct kk_geometry *g, const float *vol,
	      struct kk_proj_chunk *out, int nthreads,
	      struct kk_progress *progress, struct kk_error *err);
int kk_cpu_fp_interp(const struct kk_geometry *g, const float *vol,
		     struct kk_proj_chunk *out, int nthreads,
		     enum kk_interp interp, struct kk_progress *progress,
		     struct kk_error *err);

/* World point w -> continuous voxel index i (voxel centres at 0, 1, ...
 * along x, y, z). */
void kk_voxel_index(const struct kk_volume_geom *v, const double *w,
		    double *i);

/* The axis fp steps along in view w (0 x, 1 y, 2 z); the GPU kernels
 * use the same. */
int kk_fp_axis(const struct kk_geometry *g, const struct kk_view *w);

/* Views with a detector corner whose ray moves more than 4 voxels
 * sideways for each slice fp steps along. */
int64_t kk_fp_steep_views(const struct kk_geometry *g);

/*
 * bp's view of one geometry view: detector coordinates are ratios of
 * affine functions of the voxel centre x (world coordinates),
 *   col = U(x) / D(x) + ncols/2 - 0.5,  row = V(x) / D(x) + nrows/2 - 0.5,
 * the weight is scale * (K / D(x))^power, and voxels with K D(x) <= 0
 * (behind the source, or in its plane) get nothing.  For parallel beams
 * D = K = 1 and power is 0.  The GPU kernels are set up from this.
 */
struct kk_bp_view {
	double U[4], V[4], D[4];  /* x, y, z coefficients and constant */
	double K, scale;
	int power;                /* 0 parallel, 1 fan, 2 cone */
};
void kk_bp_view_setup(const struct kk_geometry *g, const struct kk_view *w,
		      struct kk_bp_view *b);

/*
 * Backproject the chunk into the slab, adding to it.  Rows the chunk
 * does not hold count as zero: give it every row the slab's voxels see
 * (kk_rows_window).
 */
int kk_cpu_bp_slab(const struct kk_geometry *g,
		   const struct kk_proj_chunk *in, struct kk_vol_slab *vol,
		   const struct kk_cpu_run *run, struct kk_error *err);
/* Backproject the chunk and add the result to vol (the whole volume). */
int kk_cpu_bp(const struct kk_geometry *g, const struct kk_proj_chunk *in,
	      float *vol, int nthreads, struct kk_progress *progress,
	      struct kk_error *err);
int kk_cpu_bp_interp(const struct kk_geometry *g,
		     const struct kk_proj_chunk *in, float *vol, int nthreads,
		     enum kk_interp interp, struct kk_progress *progress,
		     struct kk_error *err);

#endif
