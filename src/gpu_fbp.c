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
 * kernels that wait for the upload see filtered rows.  With --raw the
 * weighting kernel, compiled with -DKK_FLATFIELD, first turns raw
 * counts into line integrals (flatfield.h) and counts what it clips
 * in a device counter, read when the filter is freed.
 *
 * cuFFT is part of the CUDA Toolkit; like the driver and NVRTC it is
 * opened at run time (libcufft.so.12 or .11), the first time a run
 * needs it, and stays loaded until exit.
 */
#include "config.h"
#include "gpu_proj.h"
#include "fbp.h"
#include "flatfield.h"

#include <stdio.h>

/* Views a batch takes: as many as budget holds, and one at least.  A
 * view takes its scratch rows and twice as much for cuFFT's work area
 * (measured on an H200: up to 1.9 times the rows for lengths like 2100;
 * none for powers of 2). */
#define WORK_FACTOR 3

static int64_t views_per_batch(int64_t length, int64_t rows, uint64_t budget)
{
	uint64_t view = WORK_FACTOR * (uint64_t)rows *
			(uint64_t)(length + 2) * sizeof(float);
	uint64_t n = budget / view;

	return n < 1 ? 1 : (int64_t)n;
}

/* --raw's dark and gain images. */
static uint64_t flatfield_bytes(const struct kk_fbp *f)
{
	return f->ff ? 2 * (uint64_t)(f->ff->nrows * f->ff->ncols) *
		       sizeof(float) : 0;
}

uint64_t kk_gpu_fbp_bytes(const struct kk_fbp *f, int64_t rows,
			  uint64_t budget)
{
	return WORK_FACTOR * (uint64_t)views_per_batch(f->length, rows,
						       budget) *
	       (uint64_t)rows * (uint64_t)(f->length + 2) * sizeof(float) +
	       flatfield_bytes(f);
}

#ifdef HAVE_CUDA_HEADERS

#include "device.h"
#include "kernels.h"
#include "kk_fbp.cuh"

#include <cufft.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KK_FFT_FUNCTIONS(X)                                             \
	X(cufftCreate) X(cufftSetAutoAllocation) X(cufftMakePlanMany)   \
	X(cufftSetWorkArea) X(cufftSetStream) X(cufftExecR2C)           \
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

/* One cuFFT library: 0 if it opened, with every function. */
static int try_fft(void *arg, const char *path)
{
	bool ok = true;

	(void)arg;
	fft.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!fft.lib)
		return -1;
	KK_FFT_FUNCTIONS(LOAD_FFT)
	if (!ok) {
		dlclose(fft.lib);
		fft.lib = NULL;
		return -1;
	}
	snprintf(fft.path, sizeof(fft.path), "%s", path);
	return 0;
}

static void load_fft(void)
{
	static const char *const names[] = {"libcufft.so.12",
					    "libcufft.so.11", "libcufft.so",
					    NULL};

	if (kk_cuda_lib_search(names, try_fft, NULL))
		snprintf(fft.why, sizeof(fft.why), "no cuFFT: none of "
			 "libcufft.so.12 or .11 with the functions kkit "
			 "needs can be loaded (install the CUDA Toolkit's "
			 "cuFFT, or run fbp with --device cpu)");
}

void kk_cufft_describe(char *buf, size_t n)
{
	int version = 0;

	pthread_once(&fft_once, load_fft);
	if (!fft.lib) {
		snprintf(buf, n, "%s", "");
		return;
	}
	if (fft.cufftGetVersion(&version) != CUFFT_SUCCESS) {
		snprintf(buf, n, "unknown version (%s)", fft.path);
		return;
	}
	snprintf(buf, n, "%d.%d.%d (%s)", version / 1000, version % 1000 / 100,
		 version % 100, fft.path);
}

static const char *fft_error_name(cufftResult r)
{
	switch (r) {
	case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
	case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
	case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
	case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
	case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
	case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
	case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
	default: return "a cuFFT error";
	}
}

static int fft_check(cufftResult r, const char *call, struct kk_error *err)
{
	if (r == CUFFT_SUCCESS)
		return 0;
	return kk_fail(err, r == CUFFT_ALLOC_FAILED ? KK_ENOMEM : KK_ERUNTIME,
		       "%s failed: %s (%d)", call, fft_error_name(r), (int)r);
}

/* The forward and inverse plans of whole batches, in place, sharing one
 * work area that kkit allocates (and counts). */
struct plans {
	cufftHandle r2c, c2r;
	bool have_r2c, have_c2r;
	CUdeviceptr work;
	size_t work_bytes;
};

struct kk_gpu_fbp {
	struct kk_gpu *g;
	const struct kk_fbp *f;
	int64_t rows, per;           /* rows a view, views a batch */
	CUdeviceptr scratch, params, filter;
	int64_t pitch;               /* floats a scratch row */
	struct plans plans;          /* for whole batches */
	CUfunction weigh, apply;
	/* --raw: the detector's dark and gain images, and a count of the
	 * values clipped (unsigned long long), all NULL without. */
	CUdeviceptr dark, gain, clipped;
	int64_t seen;                /* values corrected and counted */
};

static void plans_free(struct kk_gpu *g, struct plans *p)
{
	if (p->have_r2c)
		fft.cufftDestroy(p->r2c);
	if (p->have_c2r)
		fft.cufftDestroy(p->c2r);
	if (p->work)
		g->cu.cuMemFree(p->work);
	memset(p, 0, sizeof(*p));
}

/* One plan of lines rows, real to complex or back, without a work area
 * of its own; *work its size. */
static int plan_one(struct kk_gpu_fbp *p, cufftHandle *h, bool *have,
		    cufftType type, int64_t lines, size_t *work,
		    struct kk_error *err)
{
	int n = (int)p->f->length, real = (int)p->pitch, cplx = real / 2;
	bool fwd = type == CUFFT_R2C;
	int rc;

	rc = fft_check(fft.cufftCreate(h), "cufftCreate", err);
	if (rc)
		return rc;
	*have = true;
	rc = fft_check(fft.cufftSetAutoAllocation(*h, 0),
		       "cufftSetAutoAllocation", err);
	if (!rc)
		rc = fft_check(fft.cufftMakePlanMany(*h, 1, &n,
						     fwd ? &real : &cplx, 1,
						     fwd ? real : cplx,
						     fwd ? &cplx : &real, 1,
						     fwd ? cplx : real, type,
						     (int)lines, work),
			       "cufftMakePlanMany", err);
	return rc;
}

static int plans_make(struct kk_gpu_fbp *p, struct plans *pl, int64_t lines,
		      CUstream stream, struct kk_error *err)
{
	struct kk_gpu *g = p->g;
	size_t w1 = 0, w2 = 0;
	int rc;

	rc = plan_one(p, &pl->r2c, &pl->have_r2c, CUFFT_R2C, lines, &w1, err);
	if (!rc)
		rc = plan_one(p, &pl->c2r, &pl->have_c2r, CUFFT_C2R, lines,
			      &w2, err);
	pl->work_bytes = w1 > w2 ? w1 : w2;
	if (!rc && pl->work_bytes)
		rc = KK_CU(g, err, cuMemAlloc, &pl->work, pl->work_bytes);
	if (!rc && pl->work_bytes)
		rc = fft_check(fft.cufftSetWorkArea(pl->r2c,
						    (void *)pl->work),
			       "cufftSetWorkArea", err);
	if (!rc && pl->work_bytes)
		rc = fft_check(fft.cufftSetWorkArea(pl->c2r,
						    (void *)pl->work),
			       "cufftSetWorkArea", err);
	if (!rc)
		rc = fft_check(fft.cufftSetStream(pl->r2c,
						  (cudaStream_t)stream),
			       "cufftSetStream", err);
	if (!rc)
		rc = fft_check(fft.cufftSetStream(pl->c2r,
						  (cudaStream_t)stream),
			       "cufftSetStream", err);
	return rc;
}

/* Hand the counts of --raw to the flat field (flatfield.h), and free
 * its images. */
static void count_clipped(struct kk_gpu_fbp *p)
{
	struct kk_gpu *g = p->g;
	unsigned long long n = 0;

	if (p->clipped && p->seen) {
		if (g->cu.cuStreamSynchronize(g->up) == CUDA_SUCCESS &&
		    g->cu.cuMemcpyDtoH(&n, p->clipped, sizeof(n)) ==
		    CUDA_SUCCESS)
			kk_flatfield_count(p->f->ff, (int64_t)n, p->seen);
		else
			kk_msg_warn("--raw: the count of clipped values could "
				    "not be read from the GPU");
	}
	if (p->clipped)
		g->cu.cuMemFree(p->clipped);
	if (p->dark)
		g->cu.cuMemFree(p->dark);
	if (p->gain)
		g->cu.cuMemFree(p->gain);
}

void kk_gpu_fbp_free(struct kk_gpu_fbp *p)
{
	struct kk_gpu *g;

	if (!p)
		return;
	g = p->g;
	count_clipped(p);
	plans_free(g, &p->plans);
	if (p->scratch)
		g->cu.cuMemFree(p->scratch);
	if (p->params)
		g->cu.cuMemFree(p->params);
	if (p->filter)
		g->cu.cuMemFree(p->filter);
	free(p);
}

/* --raw's images on the device, and its counter at 0. */
static int flatfield_create(struct kk_gpu_fbp *p, struct kk_error *err)
{
	struct kk_gpu *g = p->g;
	const struct kk_flatfield *ff = p->f->ff;
	size_t bytes = (size_t)(ff->nrows * ff->ncols) * sizeof(float);
	const unsigned long long zero = 0;
	int rc;

	rc = KK_CU(g, err, cuMemAlloc, &p->dark, bytes);
	if (!rc)
		rc = KK_CU(g, err, cuMemAlloc, &p->gain, bytes);
	if (!rc)
		rc = KK_CU(g, err, cuMemAlloc, &p->clipped,
			   sizeof(unsigned long long));
	if (!rc)
		rc = KK_CU(g, err, cuMemcpyHtoD, p->dark, ff->dark, bytes);
	if (!rc)
		rc = KK_CU(g, err, cuMemcpyHtoD, p->gain, ff->gain, bytes);
	if (!rc)
		rc = KK_CU(g, err, cuMemcpyHtoD, p->clipped, &zero,
			   sizeof(zero));
	return rc;
}

int kk_gpu_fbp_create(struct kk_gpu_fbp **out, struct kk_gpu *g,
		      const struct kk_fbp *f, int64_t views, int64_t rows,
		      uint64_t budget, struct kk_error *err)
{
	struct kk_gpu_fbp *p;
	size_t pbytes = (size_t)f->nviews * KK_FBP_NPAR * sizeof(float);
	double t0 = kk_now(), t1;
	CUmodule mod;
	int rc;

	*out = NULL;
	pthread_once(&fft_once, load_fft);
	if (!fft.lib)
		return kk_fail(err, KK_ERUNTIME, "%s", fft.why);
	t1 = kk_now();
	p = calloc(1, sizeof(*p));
	if (!p)
		return kk_fail(err, KK_ENOMEM, "out of memory for fbp's "
			       "filter");
	p->g = g;
	p->f = f;
	p->rows = rows;
	p->per = views_per_batch(f->length, rows, budget);
	if (p->per > views)
		p->per = views;
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
	/* The plans now: a failure to allocate is one the stream can plan
	 * for less after; and -v says how long cuFFT takes to start. */
	if (!rc)
		rc = plans_make(p, &p->plans, p->per * rows, g->up, err);
	if (!rc)
		kk_msg_verbose("cuFFT %s loaded in %.2f s, planned in %.2f s "
			       "(%.1f MiB of work area)", fft.path, t1 - t0,
			       kk_now() - t1, p->plans.work_bytes / 1048576.0);
	if (!rc && f->ff)
		rc = flatfield_create(p, err);
	if (!rc)
		rc = kk_kernel_get(g, "fbp.cu", f->ff ? "-DKK_FLATFIELD" : "",
				   "kk_fbp_weigh", &p->weigh, &mod, err);
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
 * the first of them view0 of the geometry.  The transforms always run
 * on a whole batch: in a last, partial one the rows past k views are
 * left from before, and never copied out. */
static int filter_batch(struct kk_gpu_fbp *p, int64_t view0, int64_t k,
			int64_t row0, const struct kk_fresh_rows *fresh,
			CUstream stream, struct kk_error *err)
{
	const struct kk_fbp *f = p->f;
	const int64_t n = k * p->rows;
	struct plans *pl = &p->plans;
	long long pitch = p->pitch, cpitch = p->pitch / 2;
	int ncols = (int)f->ncols, nlines = (int)n, nr = (int)p->rows;
	int v0 = (int)view0, r0 = (int)row0, parker = f->parker;
	int nfreq = (int)f->nfreq;
	float delta = (float)f->delta;
	/* --raw: rows [lo, hi) less [xlo, xhi) count their clips. */
	int lo = fresh ? (int)fresh->lo : 0, hi = fresh ? (int)fresh->hi
							 : INT_MAX;
	int xlo = fresh ? (int)fresh->xlo : 0, xhi = fresh ? (int)fresh->xhi
							   : 0;
	float tmin = f->ff ? f->ff->tmin : 0;
	void *wargs[19] = {&p->scratch, &pitch, &ncols, &nlines, &nr,
			   &p->params, &v0, &r0, &parker, &delta, &p->dark,
			   &p->gain, &tmin, &lo, &hi, &xlo, &xhi,
			   &p->clipped};
	void *aargs[5] = {&p->scratch, &cpitch, &nfreq, &nlines,
			  &p->filter};
	unsigned gy = (unsigned)(n < 65535 ? n : 65535);
	int rc;

	/* The plans were made on this stream. */
	rc = kk_gpu_launch_on(p->g, stream, p->weigh,
			      (unsigned)((pitch + 255) / 256), gy, 1, 256, 1,
			      wargs, err);
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
		      int64_t nviews, int64_t row0,
		      const struct kk_fresh_rows *fresh, CUarray array,
		      CUstream stream, struct kk_error *err)
{
	bool angle_first = axes->where[KK_ANGLE] < axes->where[KK_ROW];
	int64_t a;
	int rc = 0;

	if (p->f->ff)
		p->seen += nviews * p->f->ncols * kk_fresh_count(fresh, row0,
								 p->rows);
	for (a = 0; a < nviews && !rc; a += p->per) {
		int64_t k = p->per < nviews - a ? p->per : nviews - a;

		rc = copy_in(p, hb, angle_first, nviews, a, k, stream, err);
		if (!rc)
			rc = filter_batch(p, view0 + a, k, row0, fresh, stream,
					  err);
		if (!rc)
			rc = copy_out(p, array, a, k, stream, err);
	}
	return rc;
}

#else

void kk_cufft_describe(char *buf, size_t n)
{
	snprintf(buf, n, "%s", "");
}

#endif
