/*
 * projector.h: forward and back projection behind one interface, on the
 * CPU or a GPU.  Commands (and later the algorithms) use only this; the
 * device is chosen once, when the projector is opened.
 *
 * Forward projection: fp_begin with the volume, then fp for each chunk
 * of views.  Backprojection: bp_begin, bp for each chunk, bp_end to get
 * the volume.  The chunks may come in any order and any size.
 */
#ifndef KK_PROJECTOR_H
#define KK_PROJECTOR_H

#include <stdbool.h>

#include "cpu_proj.h"
#include "geometry.h"
#include "gpu.h"
#include "gpu_proj.h"

enum kk_device_kind { KK_DEVICE_AUTO, KK_DEVICE_GPU, KK_DEVICE_CPU };

struct kk_device_opts {
	enum kk_device_kind device;
	int gpu;                        /* CUDA ordinal */
	int threads;                    /* CPU threads */
	struct kk_kernel_opts kernels;
	struct kk_gpu_proj_opts gpu_opts;
};

void kk_device_opts_default(struct kk_device_opts *o);

struct kk_projector;

/* Open on the device o asks for.  KK_DEVICE_AUTO takes the GPU if it
 * opens and the CPU if not, with a note saying why; KK_DEVICE_GPU fails
 * then (KK_ERUNTIME: exit status 1). */
int kk_projector_open(struct kk_projector **p, const struct kk_geometry *g,
		      const struct kk_device_opts *o, struct kk_error *err);
void kk_projector_close(struct kk_projector *p);
/* "cpu, 16 threads" or "GPU 0, NVIDIA H100 (sm_90, 132 SMs)" */
const char *kk_projector_name(const struct kk_projector *p);
bool kk_projector_on_gpu(const struct kk_projector *p);

/* vol must stay valid until the last kk_projector_fp. */
int kk_projector_fp_begin(struct kk_projector *p, const float *vol,
			  struct kk_error *err);
int kk_projector_fp(struct kk_projector *p, struct kk_proj_chunk *out,
		    struct kk_progress *progress, struct kk_error *err);

/* vol (nz x ny x nx) receives the sum at bp_end; on the CPU it is also
 * where the sum grows, so it must stay valid until then. */
int kk_projector_bp_begin(struct kk_projector *p, float *vol,
			  struct kk_error *err);
int kk_projector_bp(struct kk_projector *p, const struct kk_proj_chunk *in,
		    struct kk_progress *progress, struct kk_error *err);
int kk_projector_bp_end(struct kk_projector *p, float *vol,
			struct kk_error *err);

#endif
