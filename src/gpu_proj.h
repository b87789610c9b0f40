/*
 * gpu_proj.h: forward and back projection on a GPU, with the kernels in
 * kernels/fp.cu and kernels/bp.cu, the same numbers as cpu_proj.h
 * computes (to the precision of float32 and of texture filtering).
 *
 * A forward projector holds the volume on the device and computes any
 * chunk of views; a backprojector holds the volume being summed and adds
 * any chunk of views to it.  Both keep the whole volume on the device
 * (slabs of it come with streaming).
 */
#ifndef KK_GPU_PROJ_H
#define KK_GPU_PROJ_H

#include <stdbool.h>

#include "cpu_proj.h"
#include "geometry.h"
#include "gpu.h"

/* Views per launch: their parameters fill constant memory (bp: 48 KiB,
 * fp: 60 KiB). */
#define KK_GPU_BATCH 1024
#define KK_GPU_FP_BATCH 768

struct kk_gpu_proj_opts {
	bool vol_half;       /* volume stored as float16 */
	bool proj_half;      /* projections stored as float16 */
	bool fp_texture;     /* fp samples a 3D texture (hardware filter) */
	int zsize;           /* bp: voxels per thread along z */
};

void kk_gpu_proj_opts_default(struct kk_gpu_proj_opts *o);

/* The -D defines of a kernel variant, as kkit compiles it. */
void kk_fp_defines(char *buf, size_t n, bool cone, int axis,
		   const struct kk_gpu_proj_opts *o,
		   const struct kk_axes *axes);
void kk_bp_defines(char *buf, size_t n, int power, int zsize,
		   bool vol_half);

struct kk_gpu_fp;
struct kk_gpu_bp;

/* Put vol (nz x ny x nx) on the device for forward projection. */
int kk_gpu_fp_create(struct kk_gpu_fp **fp, struct kk_gpu *g,
		     const struct kk_geometry *geo,
		     const struct kk_gpu_proj_opts *o, const float *vol,
		     struct kk_error *err);
/* Compute every element of out (any axis order). */
int kk_gpu_fp_run(struct kk_gpu_fp *fp, struct kk_proj_chunk *out,
		  struct kk_error *err);
void kk_gpu_fp_free(struct kk_gpu_fp *fp);
/* Milliseconds the fp kernels have run so far (CUDA events). */
double kk_gpu_fp_kernel_ms(const struct kk_gpu_fp *fp);

/* A zeroed volume on the device to backproject into. */
int kk_gpu_bp_create(struct kk_gpu_bp **bp, struct kk_gpu *g,
		     const struct kk_geometry *geo,
		     const struct kk_gpu_proj_opts *o, struct kk_error *err);
/* Add the backprojection of the chunk, in any axis order. */
int kk_gpu_bp_run(struct kk_gpu_bp *bp, const struct kk_proj_chunk *in,
		  struct kk_error *err);
/* Copy the sum so far to vol (nz x ny x nx). */
int kk_gpu_bp_result(struct kk_gpu_bp *bp, float *vol,
		     struct kk_error *err);
void kk_gpu_bp_free(struct kk_gpu_bp *bp);
double kk_gpu_bp_kernel_ms(const struct kk_gpu_bp *bp);

#ifdef HAVE_CUDA_HEADERS
/* Shared by gpu_fp.c and gpu_bp.c (gpu_proj.c). */
int kk_gpu_launch(struct kk_gpu *g, CUfunction fn, unsigned gx, unsigned gy,
		  unsigned gz, unsigned bx, unsigned by, void **args,
		  struct kk_error *err);
/* A texture object over an array with bilinear (or trilinear)
 * filtering, unnormalised coordinates and zero outside. */
int kk_gpu_texture(struct kk_gpu *g, CUarray array, CUtexObject *tex,
		   struct kk_error *err);
/* Host memory of n elements of size es, kept for reuse. */
int kk_gpu_staging(void **buf, size_t *cap, size_t bytes,
		   struct kk_error *err);
#endif

#endif
