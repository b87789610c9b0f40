/*
 * fbp.cu: kkit fbp's work on projection rows before the backprojection
 * (src/gpu_fbp.c runs them, with cuFFT between the two).
 *
 * Rows sit in a scratch buffer pitch floats apart (the padded length
 * plus 2, so that cuFFT transforms them in place), view by view.
 */
#include "kk_fbp.cuh"

/* Weight columns [0, ncols) of nlines rows, nrows a view (detector
 * rows row0 + ..., views view0 + ...), and zero the rest of each row. */
extern "C" __global__ void kk_fbp_weigh(float *buf, long long pitch,
					int ncols, int nlines, int nrows,
					const float *params, int view0,
					int row0, int parker, float delta)
{
	const int col = blockIdx.x * blockDim.x + threadIdx.x;
	int line;

	if (col >= pitch)
		return;
	for (line = blockIdx.y; line < nlines; line += gridDim.y) {
		const int v = line / nrows, r = line % nrows;
		float *p = buf + line * pitch + col;

		if (col < ncols)
			*p *= kk_fbp_weight(params + (long long)(view0 + v) *
					    KK_FBP_NPAR, (float)(row0 + r),
					    (float)col, parker, delta);
		else
			*p = 0.0f;
	}
}

/* Multiply nlines spectra of nfreq values, pitch apart, by the filter. */
extern "C" __global__ void kk_fbp_apply(float2 *spec, long long pitch,
					int nfreq, int nlines,
					const float *filter)
{
	const long long n = (long long)nlines * nfreq;

	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
	     i < n; i += (long long)gridDim.x * blockDim.x) {
		const long long line = i / nfreq;
		const int k = (int)(i - line * nfreq);
		float2 *s = spec + line * pitch + k;
		const float h = filter[k];

		s->x *= h;
		s->y *= h;
	}
}
