/*
 * gpu_proj.c: what the GPU projectors share: the options, the defines
 * that name a kernel variant, launching, textures and host staging.
 */
#include "config.h"
#include "gpu_proj.h"
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
		   const struct kk_gpu_proj_opts *o,
		   const struct kk_axes *axes)
{
	snprintf(buf, n, "-DKK_CONE=%d -DKK_AXIS=%d -DKK_FP_TEX=%d "
		 "-DKK_VOL_HALF=%d -DKK_PROJ_HALF=%d -DKK_WHERE_ANGLE=%d "
		 "-DKK_WHERE_ROW=%d -DKK_WHERE_COL=%d -DKK_FP_BATCH=%d", cone,
		 axis, o->fp_texture, o->vol_half, o->proj_half,
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
	if (!gx || !gy || !gz)
		return 0;
	return KK_CU(g, err, cuLaunchKernel, fn, gx, gy, gz, bx, by, 1, 0,
		     g->stream, args, NULL);
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

int kk_gpu_staging(void **buf, size_t *cap, size_t bytes,
		   struct kk_error *err)
{
	void *p;

	if (bytes <= *cap)
		return 0;
	p = realloc(*buf, bytes);
	if (!p)
		return kk_fail(err, KK_ENOMEM, "out of host memory for a "
			       "%zu-byte staging buffer", bytes);
	*buf = p;
	*cap = bytes;
	return 0;
}

#endif
