/*
 * gpu_proj.h: what the GPU engines (gpu_fp.c, gpu_bp.c) share: the
 * options that choose kernel variants, the -D defines that name them,
 * launching, textures and kernel timing.
 */
#ifndef KK_GPU_PROJ_H
#define KK_GPU_PROJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "array.h"
#include "gpu.h"

struct kk_device;
struct kk_hbuf;

/* Views per launch: their parameters fill constant memory (bp: 48 KiB,
 * fp: 60 KiB). */
#define KK_GPU_BATCH 1024
#define KK_GPU_FP_BATCH 768

struct kk_gpu_proj_opts {
	bool vol_half;       /* volume stored as float16 */
	bool proj_half;      /* bp's projections stored as float16 */
	bool fp_texture;     /* fp samples a 3D texture (hardware filter) */
	int zsize;           /* bp: voxels per thread along z */
};

void kk_gpu_proj_opts_default(struct kk_gpu_proj_opts *o);

/* The device memory kkit fbp's filtering takes besides the bp buffers
 * (its scratch rows and an estimate of cuFFT's work area, and --raw's
 * images) for views of rows rows, within budget (one view at least). */
struct kk_fbp;
uint64_t kk_gpu_fbp_bytes(const struct kk_fbp *f, int64_t rows,
			  uint64_t budget);

/* "12.0.0 (libcufft.so.12)": the cuFFT kkit fbp would use, loading it
 * if need be; "" when there is none. */
void kk_cufft_describe(char *buf, size_t n);

/* The -D defines of a kernel variant, as kkit compiles it. */
void kk_fp_defines(char *buf, size_t n, bool cone, int axis,
		   bool accumulate, const struct kk_gpu_proj_opts *o,
		   const struct kk_axes *axes);
void kk_bp_defines(char *buf, size_t n, int power, int zsize,
		   bool vol_half);

#ifdef HAVE_CUDA_HEADERS
int kk_gpu_launch(struct kk_gpu *g, CUfunction fn, unsigned gx, unsigned gy,
		  unsigned gz, unsigned bx, unsigned by, void **args,
		  struct kk_error *err);
/* The same on another stream. */
int kk_gpu_launch_on(struct kk_gpu *g, CUstream stream, CUfunction fn,
		     unsigned gx, unsigned gy, unsigned gz, unsigned bx,
		     unsigned by, void **args, struct kk_error *err);

/*
 * kkit fbp's weighting and filtering on the GPU (gpu_fbp.c): host
 * projection rows in, through a scratch buffer, weighted, padded, FFT'd
 * by cuFFT, multiplied by the filter and transformed back, out into
 * the layers of a bp engine's texture array, all on one stream.
 */
struct kk_gpu_fbp;
/* For chunks of up to views views of rows rows, taking at most about
 * kk_gpu_fbp_bytes(.., budget); cuFFT's plans are made here. */
int kk_gpu_fbp_create(struct kk_gpu_fbp **out, struct kk_gpu *g,
		      const struct kk_fbp *f, int64_t views, int64_t rows,
		      uint64_t budget, struct kk_error *err);
/* Views [view0, view0 + nviews), rows [row0, row0 + rows) in hb, in
 * axes order (col last), into layers [0, nviews) of array; --raw counts
 * what it clips in rows fresh (kk_bp_upload). */
struct kk_fresh_rows;
int kk_gpu_fbp_upload(struct kk_gpu_fbp *p, struct kk_hbuf *hb,
		      const struct kk_axes *axes, int64_t view0,
		      int64_t nviews, int64_t row0,
		      const struct kk_fresh_rows *fresh, CUarray array,
		      CUstream stream, struct kk_error *err);
void kk_gpu_fbp_free(struct kk_gpu_fbp *p);
/* A texture object over an array with bilinear (or trilinear)
 * filtering, unnormalised coordinates and zero outside. */
int kk_gpu_texture(struct kk_gpu *g, CUarray array, CUtexObject *tex,
		   struct kk_error *err);

/* Kernel time on the compute stream, from pairs of events recorded
 * around runs and read back once they are old: reusing a pair waits for
 * its run, so there are more pairs than runs are ever queued (the fp
 * executor queues up to KK_FP_MAX_PROJ chunks and their pieces). */
#define KK_TIMER_PAIRS 32
struct kk_gpu_timer {
	CUevent start[KK_TIMER_PAIRS], end[KK_TIMER_PAIRS];
	bool used[KK_TIMER_PAIRS];
	int next;
};
int kk_gpu_timer_init(struct kk_gpu *g, struct kk_gpu_timer *t,
		      struct kk_error *err);
/* Around one run's launches; the time goes to the device's stats. */
int kk_gpu_timer_start(struct kk_gpu *g, struct kk_gpu_timer *t,
		       struct kk_device *d, struct kk_error *err);
int kk_gpu_timer_stop(struct kk_gpu *g, struct kk_gpu_timer *t,
		      struct kk_error *err);
/* Count what is outstanding (waits for it) and free the events. */
void kk_gpu_timer_release(struct kk_gpu *g, struct kk_gpu_timer *t,
			  struct kk_device *d);
#endif

#endif
