/*
 * kk_common.cuh: what kkit's kernels share.  Plain CUDA C, compiled at
 * run time by NVRTC with -D defines that choose the variant; edit a copy
 * in a directory and point kkit at it with --kernel-dir to run it without
 * rebuilding kkit.
 *
 * The volume's storage type is chosen by KK_VOL_HALF (0: float32, 1:
 * IEEE float16); arithmetic is always float32, and so are forward
 * projections (they add up over slabs).  No CUDA headers are needed:
 * half precision is converted with the PTX cvt instruction.
 */
#ifndef KK_COMMON_CUH
#define KK_COMMON_CUH

#ifndef KK_VOL_HALF
#define KK_VOL_HALF 0
#endif
/* Views whose parameters one launch holds in constant memory. */
#ifndef KK_BATCH
#define KK_BATCH 1024
#endif

typedef unsigned short kk_half;

__device__ __forceinline__ float kk_h2f(kk_half h)
{
	float f;

	asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
	return f;
}

__device__ __forceinline__ kk_half kk_f2h(float f)
{
	kk_half h;

	asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
	return h;
}

#if KK_VOL_HALF
typedef kk_half vol_t;
#define KK_VOL_LOAD(p) kk_h2f(__ldg(p))
#define KK_VOL_STORE(p, v) (*(p) = kk_f2h(v))
#define KK_VOL_READ(p) kk_h2f(*(p))
#else
typedef float vol_t;
#define KK_VOL_LOAD(p) __ldg(p)
#define KK_VOL_STORE(p, v) (*(p) = (v))
#define KK_VOL_READ(p) (*(p))
#endif

#endif
