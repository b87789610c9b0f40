/*
 * gpu_fbp.c: kkit fbp's weighting and ramp filtering on the GPU, inside
 * the bp engine's upload (see gpu_proj.h).
 *
 * A chunk's rows go from the host buffer into a scratch buffer of rows
 * padded to the FFT length (plus the 2 floats an in-place real
 * transform needs), a batch of rows at a time: kernels/fbp.cu weights
 * them and zeroes the padding, cuFFT transforms them, the filter
 * multiplies the spectra, cuFFT transforms back, and a pitched copy
 * puts the first ncols floats of each row into the texture array.
 * Everything runs on the stream of the upload, in order, so the bp
 * kernels that wait for the upload see filtered rows.
 *
 * cuFFT is part of the CUDA Toolkit; like the driver and NVRTC it is
 * opened at run time (libcufft.so.12 or .11), the first time a run
 * needs it, and stays loaded until exit.
 */
#include "config.h"
#include "gpu_proj.h"

/* Rows of scratch a batch aims at: 64 MiB of them. */
#define SCRATCH_BYTES ((uint64_t)64 << 20)

static int64_t batch_lines(int64_t length, int64_t unit)
{
	int64_t lines = (int64_t)(SCRATCH_BYTES / ((uint64_t)(length + 2) *
						  sizeof(float)));
	int64_t units = lines / unit;

	return (units < 1 ? 1 : units) * unit;
}

/* The most lines a batch takes: whole views (angle first) or whole rows
 * across the chunk's views (row first), whichever is larger. */
static int64_t max_lines(int64_t length, int64_t views, int64_t rows)
{
	int64_t a = batch_lines(length, rows), b = batch_lines(length, views);

	return a > b ? a : b;
}

uint64_t kk_gpu_fbp_bytes(int64_t length, int64_t views, int64_t rows)
{
	/* The scratch rows, and as much again for cuFFT's work area. */
	return 2 * (uint64_t)max_lines(length, views, rows) *
	       (uint64_t)(length + 2) * sizeof(float);
}

#ifdef HAVE_CUDA_HEADERS

#include "device.h"
#include "fbp.h"
#include "kernels.h"
#include "kk_fbp.cuh"

#include <cufft.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KK_FFT_FUNCTIONS(X)                                             \
	X(cufftPlanMany) X(cufftSetStream) X(cufftExecR2C)              \
	X(cufftExecC2R) X(cufftDestroy)

static struct {
	void *lib;
	KK_FFT_FUNCTIONS(KK_FN_POINTER)
	char why[256];
} fft;
static pthread_once_t fft_once = PTHREAD_ONCE_INIT;

#define LOAD_FFT(name)                                                  \
	if (ok && !(fft.name = (__typeof__(fft.name))dlsym(fft.lib, #name)))\
		ok = false;

static void load_fft(void)
{
	static const char *const names[] = {"libcufft.so.12",
					    "libcufft.so.11", "libcufft.so",
					    NULL};
	const char *roots[3] = {getenv("KKIT_CUDA_ROOT"), getenv("CUDA_HOME"),
				NULL};
	char path[1024];
	bool ok;
	int i, j;

#ifdef KK_CUDA_ROOT
	roots[2] = KK_CUDA_ROOT;
#endif
	for (j = -1; j < 3 && !fft.lib; j++)
		for (i = 0; names[i] && !fft.lib; i++) {
			if (j >= 0 && (!roots[j] || !roots[j][0]))
				break;
			if (j < 0)
				snprintf(path, sizeof(path), "%s", names[i]);
			else
				snprintf(path, sizeof(path), "%s/lib64/%s",
					 roots[j], names[i]);
			fft.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		}
	if (!fft.lib) {
		snprintf(fft.why, sizeof(fft.why), "no cuFFT: none of "
			 "libcufft.so.12 or .11 can be loaded (install the "
			 "CUDA Toolkit's cuFFT, or run fbp with --device "
			 "cpu)");
		return;
	}
	ok = true;
	KK_FFT_FUNCTIONS(LOAD_FFT)
	if (!ok) {
		snprintf(fft.why, sizeof(fft.why), "the cuFFT library found "
			 "lacks a function kkit needs");
		dlclose(fft.lib);
		fft.lib = NULL;
	}
}

static int fft_check(cufftResult r, const char *call, struct kk_error *err)
{
	if (r == CUFFT_SUCCESS)
		return 0;
	return kk_fail(err, r == CUFFT_ALLOC_FAILED ? KK_ENOMEM : KK_ERUNTIME,
		       "%s failed: cuFFT error %d", call, (int)r);
}

/* Plans for batches of one size, in place. */
struct plans {
	int64_t lines;
	cufftHandle r2c, c2r;
	bool made;
};

struct kk_gpu_fbp {
	struct kk_gpu *g;
	const struct kk_fbp *f;
	int64_t views, rows;
	CUdeviceptr scratch, params, filter;
	int64_t pitch;               /* floats a scratch row */
	struct plans full, tail;
	CUfunction weigh, apply;
};

static void plans_free(struct plans *p)
{
	if (p->made) {
		fft.cufftDestroy(p->r2c);
		fft.cufftDestroy(p->c2r);
	}
	p->made = false;
}

static int plans_make(struct kk_gpu_fbp *p, struct plans *pl, int64_t lines,
		      CUstream stream, struct kk_error *err)
{
	int n = (int)p->f->length, real = (int)p->pitch;
	int cplx = real / 2;
	int rc;

	if (pl->made && pl->lines == lines)
		return 0;
	plans_free(pl);
	rc = fft_check(fft.cufftPlanMany(&pl->r2c, 1, &n, &real, 1, real,
					 &cplx, 1, cplx, CUFFT_R2C,
					 (int)lines), "cufftPlanMany", err);
	if (rc)
		return rc;
	rc = fft_check(fft.cufftPlanMany(&pl->c2r, 1, &n, &cplx, 1, cplx,
					 &real, 1, real, CUFFT_C2R,
					 (int)lines), "cufftPlanMany", err);
	if (rc) {
		fft.cufftDestroy(pl->r2c);
		return rc;
	}
	pl->made = true;
	pl->lines = lines;
	rc = fft_check(fft.cufftSetStream(pl->r2c, (cudaStream_t)stream),
		       "cufftSetStream", err);
	if (!rc)
		rc = fft_check(fft.cufftSetStream(pl->c2r,
						  (cudaStream_t)stream),
			       "cufftSetStream", err);
	return rc;
}

void kk_gpu_fbp_free(struct kk_gpu_fbp *p)
{
	struct kk_gpu *g;

	if (!p)
		return;
	g = p->g;
	plans_free(&p->full);
	plans_free(&p->tail);
	if (p->scratch)
		g->cu.cuMemFree(p->scratch);
	if (p->params)
		g->cu.cuMemFree(p->params);
	if (p->filter)
		g->cu.cuMemFree(p->filter);
	free(p);
}

int kk_gpu_fbp_create(struct kk_gpu_fbp **out, struct kk_gpu *g,
		      const struct kk_fbp *f, int64_t views, int64_t rows,
		      struct kk_error *err)
{
	struct kk_gpu_fbp *p;
	size_t pbytes = (size_t)f->nviews * KK_FBP_NPAR * sizeof(float);
	CUmodule mod;
	int rc;

	*out = NULL;
	pthread_once(&fft_once, load_fft);
	if (!fft.lib)
		return kk_fail(err, KK_ERUNTIME, "%s", fft.why);
	p = calloc(1, sizeof(*p));
	if (!p)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	p->g = g;
	p->f = f;
	p->views = views;
	p->rows = rows;
	p->pitch = f->length + 2;
	rc = KK_CU(g, err, cuMemAlloc, &p->scratch,
		   (size_t)max_lines(f->length, views, rows) *
		   (size_t)p->pitch * sizeof(float));
	if (!rc)
		rc = KK_CU(g, err, cuMemAlloc, &p->params, pbytes);
	if (!rc)
		rc = KK_CU(g, err, cuMemAlloc, &p->filter,
			   (size_t)f->nfreq * sizeof(float));
	if (!rc)
		rc = KK_CU(g, err, cuMemcpyHtoD, p->params, f->params, pbytes);
	if (!rc)
		rc = KK_CU(g, err, cuMemcpyHtoD, p->filter, f->response,
			   (size_t)f->nfreq * sizeof(float));
	if (!rc)
		rc = kk_kernel_get(g, "fbp.cu", "", "kk_fbp_weigh", &p->weigh,
				   &mod, err);
	if (!rc)
		rc = kk_kernel_get(g, "fbp.cu", "", "kk_fbp_apply", &p->apply,
				   &mod, err);
	if (rc) {
		kk_gpu_fbp_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Lines [line0, line0 + n) of the host buffer into the scratch rows. */
static int copy_in(struct kk_gpu_fbp *p, const struct kk_hbuf *hb,
		   int64_t line0, int64_t n, CUstream stream,
		   struct kk_error *err)
{
	size_t row = (size_t)p->f->ncols * sizeof(float);
	CUDA_MEMCPY3D cp;

	memset(&cp, 0, sizeof(cp));
	cp.srcMemoryType = CU_MEMORYTYPE_HOST;
	cp.srcHost = (const char *)hb->data + (size_t)line0 * row;
	cp.srcPitch = row;
	cp.srcHeight = (size_t)n;
	cp.dstMemoryType = CU_MEMORYTYPE_DEVICE;
	cp.dstDevice = p->scratch;
	cp.dstPitch = (size_t)p->pitch * sizeof(float);
	cp.dstHeight = (size_t)n;
	cp.WidthInBytes = row;
	cp.Height = (size_t)n;
	cp.Depth = 1;
	return KK_CU(p->g, err, cuMemcpy3DAsync, &cp, stream);
}

/* The filtered rows of a batch into the texture array: views [v0, v1)
 * whole (angle first), or rows [r0, r1) of every view (row first). */
static int copy_out(struct kk_gpu_fbp *p, CUarray array, bool angle_first,
		    int64_t nviews, int64_t a, int64_t b, CUstream stream,
		    struct kk_error *err)
{
	size_t line = (size_t)p->pitch * sizeof(float);
	CUDA_MEMCPY3D cp;
	int64_t v;
	int rc = 0;

	memset(&cp, 0, sizeof(cp));
	cp.srcMemoryType = CU_MEMORYTYPE_DEVICE;
	cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
	cp.dstArray = array;
	cp.WidthInBytes = (size_t)p->f->ncols * sizeof(float);
	if (angle_first) {
		cp.srcDevice = p->scratch;
		cp.srcPitch = line;
		cp.srcHeight = (size_t)p->rows;
		cp.Height = (size_t)p->rows;
		cp.Depth = (size_t)(b - a);
		cp.dstZ = (size_t)a;
		return KK_CU(p->g, err, cuMemcpy3DAsync, &cp, stream);
	}
	/* A view's rows are nviews scratch rows apart. */
	cp.srcPitch = line * (size_t)nviews;
	cp.srcHeight = (size_t)(b - a);
	cp.Height = (size_t)(b - a);
	cp.Depth = 1;
	cp.dstY = (size_t)a;
	for (v = 0; v < nviews && !rc; v++) {
		cp.srcDevice = p->scratch + (size_t)v * line;
		cp.dstZ = (size_t)v;
		rc = KK_CU(p->g, err, cuMemcpy3DAsync, &cp, stream);
	}
	return rc;
}

static int filter_batch(struct kk_gpu_fbp *p, int64_t line0, int64_t n,
			bool angle_first, int64_t view0, int64_t nviews,
			int64_t row0, CUstream stream, struct kk_error *err)
{
	const struct kk_fbp *f = p->f;
	struct plans *pl = n == p->full.lines || !p->full.made ? &p->full
							      : &p->tail;
	long long pitch = p->pitch, cpitch = p->pitch / 2;
	int ncols = (int)f->ncols, nlines = (int)n, l0 = (int)line0;
	int af = angle_first, nv = (int)nviews, nr = (int)p->rows;
	int v0 = (int)view0, r0 = (int)row0, parker = f->parker;
	int nfreq = (int)f->nfreq;
	float delta = (float)f->delta;
	void *wargs[13] = {&p->scratch, &pitch, &ncols, &nlines, &l0, &af,
			   &nv, &nr, &p->params, &v0, &r0, &parker, &delta};
	void *aargs[5] = {&p->scratch, &cpitch, &nfreq, &nlines,
			  &p->filter};
	unsigned gy = (unsigned)(n < 65535 ? n : 65535);
	int rc;

	rc = plans_make(p, pl, n, stream, err);
	if (!rc)
		rc = kk_gpu_launch_on(p->g, stream, p->weigh,
				      (unsigned)((pitch + 255) / 256), gy, 1,
				      256, 1, wargs, err);
	if (!rc)
		rc = fft_check(fft.cufftExecR2C(pl->r2c,
						(cufftReal *)p->scratch,
						(cufftComplex *)p->scratch),
			       "cufftExecR2C", err);
	if (!rc)
		rc = kk_gpu_launch_on(p->g, stream, p->apply,
				      (unsigned)(p->g->sm_count * 8), 1, 1,
				      256, 1, aargs, err);
	if (!rc)
		rc = fft_check(fft.cufftExecC2R(pl->c2r,
						(cufftComplex *)p->scratch,
						(cufftReal *)p->scratch),
			       "cufftExecC2R", err);
	return rc;
}

int kk_gpu_fbp_upload(struct kk_gpu_fbp *p, struct kk_hbuf *hb,
		      const struct kk_axes *axes, int64_t view0,
		      int64_t nviews, int64_t row0, CUarray array,
		      CUstream stream, struct kk_error *err)
{
	bool angle_first = axes->where[KK_ANGLE] < axes->where[KK_ROW];
	/* Batches of whole outer units: views of all rows, or rows of
	 * all the chunk's views; as many as the scratch holds at the
	 * largest unit (the buffer's views, not this chunk's). */
	int64_t most = angle_first ? p->rows : p->views;
	int64_t per = batch_lines(p->f->length, most) / most;
	int64_t unit = angle_first ? p->rows : nviews;
	int64_t outer = angle_first ? nviews : p->rows, at;
	int rc = 0;

	for (at = 0; at < outer && !rc; at += per) {
		int64_t k = per < outer - at ? per : outer - at;

		rc = copy_in(p, hb, at * unit, k * unit, stream, err);
		if (!rc)
			rc = filter_batch(p, at * unit, k * unit, angle_first,
					  view0, nviews, row0, stream, err);
		if (!rc)
			rc = copy_out(p, array, angle_first, nviews, at,
				      at + k, stream, err);
	}
	return rc;
}

#endif
