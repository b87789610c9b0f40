/*
 * ops.cu: element-wise kernels on float32 arrays, for the algorithms
 * that work on the device (SIRT, CGLS, FBP): grid-stride loops over n
 * elements, n as a 64-bit count.
 */
#include "kk_common.cuh"

#define KK_FOR_ALL(i, n)                                                \
	for (long long i = blockIdx.x * (long long)blockDim.x +         \
			   threadIdx.x;                                 \
	     i < (n); i += (long long)gridDim.x * blockDim.x)

/* y = value */
extern "C" __global__ void kk_fill(float *y, long long n, float value)
{
	KK_FOR_ALL(i, n)
		y[i] = value;
}

/* y += a x */
extern "C" __global__ void kk_axpy(float *y, const float *x, float a,
				   long long n)
{
	KK_FOR_ALL(i, n)
		y[i] = fmaf(a, x[i], y[i]);
}

/* y *= x */
extern "C" __global__ void kk_mul(float *y, const float *x, long long n)
{
	KK_FOR_ALL(i, n)
		y[i] *= x[i];
}

/* y = |y| > eps ? 1 / y : 0, SIRT's row and column weights */
extern "C" __global__ void kk_invert(float *y, float eps, long long n)
{
	KK_FOR_ALL(i, n)
		y[i] = fabsf(y[i]) > eps ? 1.0f / y[i] : 0.0f;
}

/* y = min(max(y, lo), hi) */
extern "C" __global__ void kk_clamp(float *y, float lo, float hi,
				    long long n)
{
	KK_FOR_ALL(i, n)
		y[i] = fminf(fmaxf(y[i], lo), hi);
}

/* float32 <-> float16 storage */
extern "C" __global__ void kk_to_half(kk_half *y, const float *x,
				      long long n)
{
	KK_FOR_ALL(i, n)
		y[i] = kk_f2h(x[i]);
}

extern "C" __global__ void kk_from_half(float *y, const kk_half *x,
					long long n)
{
	KK_FOR_ALL(i, n)
		y[i] = kk_h2f(x[i]);
}

/* Partial sums of x * y, one per block, into out[blockIdx.x]; the host
 * (or a second launch) adds them.  blockDim.x must be 256. */
extern "C" __global__ void kk_dot(float *out, const float *x,
				  const float *y, long long n)
{
	__shared__ float part[256];
	float s = 0.0f;
	int t = threadIdx.x, w;

	KK_FOR_ALL(i, n)
		s = fmaf(x[i], y[i], s);
	part[t] = s;
	__syncthreads();
	for (w = 128; w > 0; w >>= 1) {
		if (t < w)
			part[t] += part[t + w];
		__syncthreads();
	}
	if (t == 0)
		out[blockIdx.x] = part[0];
}
