/*
 * fbp.cu: kkit fbp's work on projection rows before the backprojection
 * (src/gpu_fbp.c runs them, with cuFFT between the two).
 *
 * Rows sit in a scratch buffer pitch floats apart (the padded length
 * plus 2, so that cuFFT transforms them in place), view by view.
 */
#include "kk_fbp.cuh"
#ifdef KK_FLATFIELD
#include "kk_flatfield.cuh"
#endif

/*
 * Weight columns [0, ncols) of nlines rows, nrows a view (detector
 * rows row0 + ..., views view0 + ...), and zero the rest of each row.
 *
 * Compiled with -DKK_FLATFIELD (kkit fbp --raw), each value is first a
 * raw count, turned into a line integral with the detector's dark and
 * gain images (ncols a row); values clipped in detector rows [lo, hi)
 * less [xlo, xhi) are added to *clipped.  Without, those parameters
 * are not read.
 */
extern "C" __global__ void kk_fbp_weigh(float *buf, long long pitch,
					int ncols, int nlines, int nrows,
					const float *params, int view0,
					int row0, int parker, float delta,
					const float *dark, const float *gain,
					float tmin, int lo, int hi, int xlo,
					int xhi,
					unsigned long long *clipped)
{
	const int col = blockIdx.x * blockDim.x + threadIdx.x;
	int line;
#ifdef KK_FLATFIELD
	__shared__ unsigned int block_clipped;
	unsigned int mine = 0;

	if (threadIdx.x == 0)
		block_clipped = 0;
	__syncthreads();
#endif
	for (line = blockIdx.y; col < pitch && line < nlines;
	     line += gridDim.y) {
		const int v = line / nrows, r = line % nrows;
		float *p = buf + line * pitch + col;
		float x;

		if (col >= ncols) {
			*p = 0.0f;
			continue;
		}
		x = *p;
#ifdef KK_FLATFIELD
		{
			const int row = row0 + r;
			const long long pix = (long long)row * ncols + col;
			int n = 0;

			x = kk_flatfield(x, dark[pix], gain[pix], tmin, &n);
			if (n && row >= lo && row < hi &&
			    !(row >= xlo && row < xhi))
				mine++;
		}
#endif
		*p = x * kk_fbp_weight(params + (long long)(view0 + v) *
				       KK_FBP_NPAR, (float)(row0 + r),
				       (float)col, parker, delta);
	}
#ifdef KK_FLATFIELD
	if (mine)
		atomicAdd(&block_clipped, mine);
	__syncthreads();
	if (threadIdx.x == 0 && block_clipped)
		atomicAdd(clipped, (unsigned long long)block_clipped);
#endif
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
