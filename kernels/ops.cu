/*
 * ops.cu: element-wise kernels on float32 arrays, the vector operations
 * of the iterative methods on the GPU (src/linop_gpu.c): grid-stride
 * loops over n elements, n as a 64-bit count.  Sums are made in double,
 * one partial sum per block, which the host adds up.
 */
#include "kk_common.cuh"

#define KK_FOR_ALL(i, n)                                                \
	for (long long i = blockIdx.x * (long long)blockDim.x +         \
			   threadIdx.x;                                 \
	     i < (n); i += (long long)gridDim.x * blockDim.x)

/* Threads a block of the summing kernels. */
#define KK_SUM_THREADS 256

/* y = value */
extern "C" __global__ void kk_fill(float *y, long long n, float value)
{
	KK_FOR_ALL(i, n)
		y[i] = value;
}

/* y = a x + b y; y is not read when b is 0 */
extern "C" __global__ void kk_axpby(float *y, const float *x, float a,
				    float b, long long n)
{
	if (b == 0.0f) {
		KK_FOR_ALL(i, n)
			y[i] = a * x[i];
	} else {
		KK_FOR_ALL(i, n)
			y[i] = a * x[i] + b * y[i];
	}
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

/* Add up s0 and s1 over the block into out[2 blockIdx.x + {0, 1}]. */
__device__ void kk_block_sums(double *out, double s0, double s1)
{
	__shared__ double p0[KK_SUM_THREADS], p1[KK_SUM_THREADS];
	int t = threadIdx.x;

	p0[t] = s0;
	p1[t] = s1;
	__syncthreads();
	for (int w = KK_SUM_THREADS / 2; w > 0; w >>= 1) {
		if (t < w) {
			p0[t] += p0[t + w];
			p1[t] += p1[t + w];
		}
		__syncthreads();
	}
	if (t == 0) {
		out[2 * blockIdx.x] = p0[0];
		out[2 * blockIdx.x + 1] = p1[0];
	}
}

/* Partial sums of x * y (and 0), a pair per block; blockDim.x must be
 * KK_SUM_THREADS. */
extern "C" __global__ void kk_dot(double *out, const float *x,
				  const float *y, long long n)
{
	double s = 0.0;

	KK_FOR_ALL(i, n)
		s += (double)x[i] * y[i];
	kk_block_sums(out, s, 0.0);
}

/* x = min(max(x + a d, lo), hi), with partial sums of (x_new - x_old)^2
 * and x_new^2, a pair per block; blockDim.x must be KK_SUM_THREADS. */
extern "C" __global__ void kk_update(double *out, float *x, const float *d,
				     float a, float lo, float hi, long long n)
{
	double change = 0.0, norm = 0.0;

	KK_FOR_ALL(i, n) {
		float v = fminf(fmaxf(fmaf(a, d[i], x[i]), lo), hi);
		double dv = (double)v - x[i];

		change += dv * dv;
		norm += (double)v * v;
		x[i] = v;
	}
	kk_block_sums(out, change, norm);
}
