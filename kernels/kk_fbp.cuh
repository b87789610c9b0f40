/*
 * kk_fbp.cuh: the weights kkit fbp puts on each projection pixel before
 * the ramp filter, in one place for both compilers: NVRTC compiles it
 * into kernels/fbp.cu, and the C compiler into src/fbp.c (KK_FBP_FN is
 * the only difference), so the CPU and the GPU weight alike.
 *
 * Each view has KK_FBP_NPAR floats, set up on the host (src/fbp.c):
 *   [0]      scale: angular step, redundancy, the backprojector's own
 *            weight undone, 1 / the (virtual) pixel width
 *   [1..3]   a: from the source to the centre of pixel (row 0, col 0)
 *   [4..6]   u: one column on;  [7..9] v: one row on
 *   [10]     the source's distance to the detector plane (0: parallel
 *            beam, which has no cosine or Parker weight)
 *   [11]     the source angle from the start of the scan, in the scan's
 *            direction (Parker)
 *   [12..13] the central ray's direction in the x-y plane, unit length
 * A cone beam's pixel gets the cosine of its ray's angle to the
 * detector normal (FDK's pre-weighting) and, in a short scan, Parker's
 * weight for its source angle and fan angle.
 */
#ifndef KK_FBP_CUH
#define KK_FBP_CUH

#ifdef __CUDACC_RTC__
#define KK_FBP_FN __device__ __forceinline__
#else
#include <math.h>
#define KK_FBP_FN static inline
#endif

#define KK_FBP_NPAR 16

/* Parker's weight for source angle beta (0 at the start of a scan of
 * pi + 2 delta) and fan angle gamma, signed so that the conjugate ray of
 * (beta, gamma) is (beta + pi + 2 gamma, -gamma): the two add up to 1. */
KK_FBP_FN float kk_parker(float beta, float gamma, float delta)
{
	const float pi = 3.14159265358979f;
	float t;

	if (beta < 0.0f || beta > pi + 2.0f * delta)
		return 0.0f;
	if (beta < 2.0f * (delta - gamma)) {
		t = sinf(0.25f * pi * beta / (delta - gamma));
		return t * t;
	}
	if (beta <= pi - 2.0f * gamma)
		return 1.0f;
	t = sinf(0.25f * pi * (pi + 2.0f * delta - beta) / (delta + gamma));
	return t * t;
}

/* The fan angle of pixel (row, col)'s ray: from the central ray,
 * counter-clockwise seen from +z (kkit sorts the views that way, so
 * Parker's formula needs no other sense). */
KK_FBP_FN float kk_fbp_gamma(const float *p, float row, float col)
{
	float rx = p[1] + col * p[4] + row * p[7];
	float ry = p[2] + col * p[5] + row * p[8];

	return atan2f(p[12] * ry - p[13] * rx, p[12] * rx + p[13] * ry);
}

/* The weight of pixel (row, col) of a view; parker != 0 applies
 * Parker's weights for a scan of pi + 2 delta. */
KK_FBP_FN float kk_fbp_weight(const float *p, float row, float col,
			      int parker, float delta)
{
	float rx, ry, rz, w;

	if (p[10] <= 0.0f)
		return p[0];
	rx = p[1] + col * p[4] + row * p[7];
	ry = p[2] + col * p[5] + row * p[8];
	rz = p[3] + col * p[6] + row * p[9];
	w = p[0] * p[10] / sqrtf(rx * rx + ry * ry + rz * rz);
	if (parker)
		w *= kk_parker(p[11], kk_fbp_gamma(p, row, col), delta);
	return w;
}

#endif
