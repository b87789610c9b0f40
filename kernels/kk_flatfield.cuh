/*
 * kk_flatfield.cuh: --raw's work on one pixel of a raw projection, in
 * one place for both compilers: NVRTC compiles it into kernels/fbp.cu
 * (with -DKK_FLATFIELD), the C compiler into src/flatfield.c, so the
 * CPU and the GPU correct alike.
 *
 * The pixel's transmission is (raw - dark) * gain, gain being 1 / (flat
 * - dark) where the flat field is above the dark and 0 where it is not
 * (a dead pixel: always clipped).  The transmission is held inside
 * [tmin, 1 / tmin]: below (noise at the dark level, a dead pixel),
 * above, or not a number, it is clipped, and the caller counts it.  The
 * result is the line integral -log(transmission).
 */
#ifndef KK_FLATFIELD_CUH
#define KK_FLATFIELD_CUH

#ifdef __CUDACC_RTC__
#define KK_FF_FN __device__ __forceinline__
#else
#include <math.h>
#define KK_FF_FN static inline
#endif

/* -log of the clipped transmission; *clipped is incremented when the
 * transmission had to be clipped. */
KK_FF_FN float kk_flatfield(float raw, float dark, float gain, float tmin,
			    int *clipped)
{
	float t = (raw - dark) * gain;

	if (!(t >= tmin)) {            /* below, or not a number */
		t = tmin;
		*clipped += 1;
	} else if (t > 1.0f / tmin) {
		t = 1.0f / tmin;
		*clipped += 1;
	}
	return -logf(t);
}

#endif
