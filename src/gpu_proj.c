/*
 * gpu_proj.c: what the GPU engines share: the options, the defines that
 * name a kernel variant, launching, textures and kernel timing.
 */
#include "config.h"
#include "gpu_proj.h"
#include "device.h"
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kk_gpu_proj_opts_default(struct kk_gpu_proj_opts *o)
{
	memset(o, 0, sizeof(*o));
	/* fp interpolates in float32 by default: within 1e-4 of the CPU
	 * reference on random data.  The 3D texture is 2.2 to 2.7 times as
	 * fast on an H200 but, with its 8-bit weights, only within 5e-4
	 * (doc/gpu-notes.md). */
	o->fp_texture = false;
	o->zsize = 4;
}

void kk_fp_defines(char *buf, size_t n, bool cone, int axis,
		   bool accumulate, const struct kk_gpu_proj_opts *o,
		   const struct kk_axes *axes)
{
	snprintf(buf, n, "-DKK_CONE=%d -DKK_AXIS=%d -DKK_FP_TEX=%d "
		 "-DKK_VOL_HALF=%d -DKK_FP_ACCUMULATE=%d -DKK_WHERE_ANGLE=%d "
		 "-DKK_WHERE_ROW=%d -DKK_WHERE_COL=%d -DKK_FP_BATCH=%d", cone,
		 axis, o->fp_texture, o->vol_half, accumulate,
		 axes->where[KK_ANGLE], axes->where[KK_ROW],
		 axes->where[KK_COL], KK_GPU_FP_BATCH);
}

void kk_bp_defines(char *buf, size_t n, int power, int zsize,
		   bool vol_half)
{
	snprintf(buf, n, "-DKK_POWER=%d -DKK_ZSIZE=%d -DKK_VOL_HALF=%d "
		 "-DKK_BATCH=%d", power, zsize, vol_half, KK_GPU_BATCH);
}

#ifdef HAVE_CUDA_HEADERS

int kk_gpu_launch(struct kk_gpu *g, CUfunction fn, unsigned gx, unsigned gy,
		  unsigned gz, unsigned bx, unsigned by, void **args,
		  struct kk_error *err)
{
	return kk_gpu_launch_on(g, g->stream, fn, gx, gy, gz, bx, by, args,
				err);
}

int kk_gpu_launch_on(struct kk_gpu *g, CUstream stream, CUfunction fn,
		     unsigned gx, unsigned gy, unsigned gz, unsigned bx,
		     unsigned by, void **args, struct kk_error *err)
{
	if (!gx || !gy || !gz)
		return 0;
	return KK_CU(g, err, cuLaunchKernel, fn, gx, gy, gz, bx, by, 1, 0,
		     stream, args, NULL);
}

int kk_gpu_texture(struct kk_gpu *g, CUarray array, CUtexObject *tex,
		   struct kk_error *err)
{
	CUDA_RESOURCE_DESC res;
	CUDA_TEXTURE_DESC td;

	memset(&res, 0, sizeof(res));
	res.resType = CU_RESOURCE_TYPE_ARRAY;
	res.res.array.hArray = array;
	memset(&td, 0, sizeof(td));
	td.addressMode[0] = CU_TR_ADDRESS_MODE_BORDER;
	td.addressMode[1] = CU_TR_ADDRESS_MODE_BORDER;
	td.addressMode[2] = CU_TR_ADDRESS_MODE_BORDER;
	td.filterMode = CU_TR_FILTER_MODE_LINEAR;
	td.flags = 0; /* unnormalised coordinates, values as floats */
	return KK_CU(g, err, cuTexObjectCreate, tex, &res, &td, NULL);
}

int kk_gpu_timer_init(struct kk_gpu *g, struct kk_gpu_timer *t,
		      struct kk_error *err)
{
	int i, rc = 0;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < KK_TIMER_PAIRS && !rc; i++) {
		rc = KK_CU(g, err, cuEventCreate, &t->start[i],
			   CU_EVENT_DEFAULT);
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &t->end[i],
				   CU_EVENT_DEFAULT);
	}
	return rc;
}

/* Add pair i's time to d's stats, once it is done. */
static int count_pair(struct kk_gpu *g, struct kk_gpu_timer *t, int i,
		      struct kk_device *d, struct kk_error *err)
{
	float ms = 0;
	int rc;

	if (!t->used[i])
		return 0;
	t->used[i] = false;
	rc = KK_CU(g, err, cuEventSynchronize, t->end[i]);
	if (!rc)
		rc = KK_CU(g, err, cuEventElapsedTime, &ms, t->start[i],
			   t->end[i]);
	if (!rc)
		kk_device_add_kernel_time(d, ms / 1e3);
	return rc;
}

int kk_gpu_timer_start(struct kk_gpu *g, struct kk_gpu_timer *t,
		       struct kk_device *d, struct kk_error *err)
{
	int rc = count_pair(g, t, t->next, d, err);

	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, t->start[t->next],
			   g->stream);
	return rc;
}

int kk_gpu_timer_stop(struct kk_gpu *g, struct kk_gpu_timer *t,
		      struct kk_error *err)
{
	int rc = KK_CU(g, err, cuEventRecord, t->end[t->next], g->stream);

	if (!rc) {
		t->used[t->next] = true;
		t->next = (t->next + 1) % KK_TIMER_PAIRS;
	}
	return rc;
}

void kk_gpu_timer_release(struct kk_gpu *g, struct kk_gpu_timer *t,
			  struct kk_device *d)
{
	struct kk_error ignored = {0};
	int i;

	for (i = 0; i < KK_TIMER_PAIRS; i++) {
		count_pair(g, t, i, d, &ignored);
		if (t->start[i])
			g->cu.cuEventDestroy(t->start[i]);
		if (t->end[i])
			g->cu.cuEventDestroy(t->end[i]);
	}
	memset(t, 0, sizeof(*t));
}

#endif
