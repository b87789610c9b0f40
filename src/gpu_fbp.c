/*
 * gpu_fbp.c: kkit fbp's weighting and ramp filtering on the GPU, inside
 * the bp engine's upload (see gpu_proj.h).
 *
 * A chunk's rows go from the host buffer into a scratch buffer of rows
 * padded to the FFT length (plus the 2 floats an in-place real
 * transform needs), a batch of whole views at a time, view by view
 * whatever the host's axis order: kernels/fbp.cu weights
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

#include <stdio.h>

/* Views a batch takes: as many as budget holds, scratch rows and as
 * much again for cuFFT's work area, and one at least. */
static int64_t views_per_batch(int64_t length, int64_t rows, uint64_t budget)
{
	uint64_t view = 2 * (uint64_t)rows * (uint64_t)(length + 2) *
			sizeof(float);
	uint64_t n = budget / view;

	return n < 1 ? 1 : (int64_t)n;
}

uint64_t kk_gpu_fbp_bytes(int64_t length, int64_t rows, uint64_t budget)
{
	return 2 * (uint64_t)views_per_batch(length, rows, budget) *
	       (uint64_t)rows * (uint64_t)(length + 2) * sizeof(float);
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
	X(cufftExecC2R) X(cufftDestroy) X(cufftGetVersion)

static struct {
	void *lib;
	KK_FFT_FUNCTIONS(KK_FN_POINTER)
	char path[1024];
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
#else

void kk_cufft_describe(char *buf, size_t n)
{
	snprintf(buf, n, "%s", "");
}

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
			if (fft.lib)
				snprintf(fft.path, sizeof(fft.path), "%s",
					 path);
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

void kk_cufft_describe(char *buf, size_t n)
{
	int version = 0;

	pthread_once(&fft_once, load_fft);
	if (!fft.lib) {
		snprintf(buf, n, "%s", "");
		return;
	}
	fft.cufftGetVersion(&version);
	snprintf(buf, n, "%d.%d.%d (%s)", version / 1000, version % 1000 / 100,
		 version % 100, fft.path);
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
	int64_t rows, per;           /* rows a view, views a batch */
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
		      const struct kk_fbp *f, int64_t rows, uint64_t budget,
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
	p->rows = rows;
	p->per = views_per_batch(f->length, rows, budget);
	p->pitch = f->length + 2;
	rc = KK_CU(g, err, cuMemAlloc, &p->scratch, (size_t)(p->per * rows) *
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

/* Views [a, a + k) of the chunk's nviews from the host buffer into the
 * scratch rows, view by view: the host holds them angle first (one
 * copy) or row first (a view's rows nviews rows apart). */
static int copy_in(struct kk_gpu_fbp *p, const struct kk_hbuf *hb,
		   bool angle_first, int64_t nviews, int64_t a, int64_t k,
		   CUstream stream, struct kk_error *err)
{
	size_t row = (size_t)p->f->ncols * sizeof(float);
	size_t line = (size_t)p->pitch * sizeof(float);
	CUDA_MEMCPY3D cp;
	int64_t v;
	int rc = 0;

	memset(&cp, 0, sizeof(cp));
	cp.srcMemoryType = CU_MEMORYTYPE_HOST;
	cp.dstMemoryType = CU_MEMORYTYPE_DEVICE;
	cp.dstPitch = line;
	cp.WidthInBytes = row;
	cp.Depth = 1;
	if (angle_first) {
		cp.srcHost = (const char *)hb->data + (size_t)(a * p->rows) *
			     row;
		cp.srcPitch = row;
		cp.dstDevice = p->scratch;
		cp.Height = (size_t)(k * p->rows);
		return KK_CU(p->g, err, cuMemcpy3DAsync, &cp, stream);
	}
	cp.srcPitch = row * (size_t)nviews;
	cp.Height = (size_t)p->rows;
	for (v = 0; v < k && !rc; v++) {
		cp.srcHost = (const char *)hb->data + (size_t)(a + v) * row;
		cp.dstDevice = p->scratch + (size_t)(v * p->rows) * line;
		rc = KK_CU(p->g, err, cuMemcpy3DAsync, &cp, stream);
	}
	return rc;
}

/* The filtered rows of views [a, a + k) into their texture layers. */
static int copy_out(struct kk_gpu_fbp *p, CUarray array, int64_t a,
		    int64_t k, CUstream stream, struct kk_error *err)
{
	CUDA_MEMCPY3D cp;

	memset(&cp, 0, sizeof(cp));
	cp.srcMemoryType = CU_MEMORYTYPE_DEVICE;
	cp.srcDevice = p->scratch;
	cp.srcPitch = (size_t)p->pitch * sizeof(float);
	cp.srcHeight = (size_t)p->rows;
	cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
	cp.dstArray = array;
	cp.dstZ = (size_t)a;
	cp.WidthInBytes = (size_t)p->f->ncols * sizeof(float);
	cp.Height = (size_t)p->rows;
	cp.Depth = (size_t)k;
	return KK_CU(p->g, err, cuMemcpy3DAsync, &cp, stream);
}

/* Weight, transform, filter and transform back k views in the scratch,
 * the first of them view0 of the geometry. */
static int filter_batch(struct kk_gpu_fbp *p, int64_t view0, int64_t k,
			int64_t row0, CUstream stream, struct kk_error *err)
{
	const struct kk_fbp *f = p->f;
	const int64_t n = k * p->rows;
	struct plans *pl = n == p->full.lines || !p->full.made ? &p->full
							      : &p->tail;
	long long pitch = p->pitch, cpitch = p->pitch / 2;
	int ncols = (int)f->ncols, nlines = (int)n, nr = (int)p->rows;
	int v0 = (int)view0, r0 = (int)row0, parker = f->parker;
	int nfreq = (int)f->nfreq;
	float delta = (float)f->delta;
	void *wargs[10] = {&p->scratch, &pitch, &ncols, &nlines, &nr,
			   &p->params, &v0, &r0, &parker, &delta};
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
	int64_t a;
	int rc = 0;

	for (a = 0; a < nviews && !rc; a += p->per) {
		int64_t k = p->per < nviews - a ? p->per : nviews - a;

		rc = copy_in(p, hb, angle_first, nviews, a, k, stream, err);
		if (!rc)
			rc = filter_batch(p, view0 + a, k, row0, stream, err);
		if (!rc)
			rc = copy_out(p, array, a, k, stream, err);
	}
	return rc;
}

#endif
