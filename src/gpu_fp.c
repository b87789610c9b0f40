/*
 * gpu_fp.c: the forward projection engine on a GPU (kernels/fp.cu).
 *
 * Volume buffers are plain device memory (the kernel interpolates in
 * float32) or, with fp_texture, one 3D array of the whole volume read
 * through a texture (hardware filtering).  Projection buffers hold whole
 * views in float32, in the output's axis order.  Uploads go on the
 * copy-in stream, kernels on the compute stream, downloads on the
 * copy-out stream; events order them.
 *
 * Views are launched in groups that share a stepping axis, at most
 * KK_GPU_FP_BATCH at a time.  Their parameters are worked out once and
 * kept on the device sorted by (axis, view), so that the views of one
 * axis in any range of views are one contiguous run, copied into
 * constant memory before each launch.
 */
#include "config.h"
#include "cpu_proj.h"
#include "engine.h"
#include "gpu_proj.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA_HEADERS

#define MAX_BUF 2
#define MAX_PROJ KK_FP_MAX_PROJ

/* The kernel's struct kk_fp_dims, byte for byte. */
struct fp_dims {
	int n[3];
	float vox[3];
	int nrows, ncols, nviews, view0, zbase, zlo, zhi, row_lo, row_hi;
};

struct gpu_fp {
	struct kk_fp_engine base;
	struct kk_gpu *g;
	size_t vol_es;
	CUdeviceptr vol[MAX_BUF];      /* plain buffers, or */
	CUarray array;                 /* the texture's whole volume */
	CUtexObject tex;
	CUevent vol_ready[MAX_BUF];    /* its uploads are done */
	CUevent vol_free[MAX_BUF];     /* the kernels reading it are done */
	CUdeviceptr proj[MAX_PROJ];
	CUevent proj_ready[MAX_PROJ];  /* its clear and kernels are done */
	CUevent proj_free[MAX_PROJ];   /* its download is done */
	CUevent last_run;              /* after the last run queued */
	CUdeviceptr params;            /* 20 floats a view, by (axis, view) */
	int64_t *sorted;               /* the views in that order */
	int64_t first[4];              /* where each axis's views start */
	CUfunction fn[3][2];           /* by axis and accumulation */
	CUdeviceptr sym[3][2];
	struct kk_gpu_timer timer;
};

static void set4(float *p, double x, double y, double z, double w)
{
	p[0] = (float)x;
	p[1] = (float)y;
	p[2] = (float)z;
	p[3] = (float)w;
}

/*
 * The kernel's five float4 for view number view, stepping along axis k:
 * the ray through pixel (c, r) crosses the middle slice jc at
 * (Na . (1, c, r)) / m and moves (Pa . (1, c, r)) / m per slice,
 * m = M . (1, c, r), likewise for the second axis (see fp.cu).
 */
static void view_params(const struct kk_geometry *g, int64_t view, int k,
			float *p)
{
	const struct kk_view *w = &g->views[view];
	const struct kk_volume_geom *v = &g->vol;
	const double vox[3] = {v->dx, v->dy, v->dz};
	const int64_t n[3] = {v->nx, v->ny, v->nz};
	int a = k == 0 ? 1 : 0, b = k == 2 ? 1 : 2, i, number = (int)view;
	double corner[3], C[3], U[3], V[3], S[3], M[3], Pa[3], Pb[3];
	double Na[3], Nb[3], jc = (double)(n[k] / 2), ref, sign = 0;

	for (i = 0; i < 3; i++) {
		corner[i] = w->det[i] - (0.5 * g->ncols - 0.5) * w->u[i] -
			    (0.5 * g->nrows - 0.5) * w->v[i];
		U[i] = w->u[i] / vox[i];
		V[i] = w->v[i] / vox[i];
	}
	kk_voxel_index(v, corner, C);
	if (g->cone) {
		kk_voxel_index(v, w->src, S);
		/* D(c, r) = C - S + c U + r V, scaled by its central D_k. */
		ref = (C[k] - S[k]) + 0.5 * (g->ncols - 1) * U[k] +
		      0.5 * (g->nrows - 1) * V[k];
		if (ref == 0)
			ref = 1;
		sign = ref > 0 ? 1 : -1;
		M[0] = (C[k] - S[k]) / ref;
		M[1] = U[k] / ref;
		M[2] = V[k] / ref;
		Pa[0] = (C[a] - S[a]) / ref;
		Pa[1] = U[a] / ref;
		Pa[2] = V[a] / ref;
		Pb[0] = (C[b] - S[b]) / ref;
		Pb[1] = U[b] / ref;
		Pb[2] = V[b] / ref;
		/* ac = S_a + (jc - S_k) da, over the common m. */
		for (i = 0; i < 3; i++) {
			Na[i] = S[a] * M[i] + (jc - S[k]) * Pa[i];
			Nb[i] = S[b] * M[i] + (jc - S[k]) * Pb[i];
		}
	} else {
		double d[3], da, db;

		for (i = 0; i < 3; i++)
			d[i] = w->src[i] / vox[i];
		da = d[a] / d[k];
		db = d[b] / d[k];
		M[0] = 1;
		M[1] = M[2] = 0;
		Pa[0] = da;
		Pb[0] = db;
		Pa[1] = Pa[2] = Pb[1] = Pb[2] = 0;
		/* ac = P_a + (jc - P_k) da, P = C + c U + r V. */
		Na[0] = C[a] + (jc - C[k]) * da;
		Na[1] = U[a] - U[k] * da;
		Na[2] = V[a] - V[k] * da;
		Nb[0] = C[b] + (jc - C[k]) * db;
		Nb[1] = U[b] - U[k] * db;
		Nb[2] = V[b] - V[k] * db;
		S[k] = 0;
	}
	set4(p, Na[0], Na[1], Na[2], g->cone ? S[k] : 0);
	set4(p + 4, Nb[0], Nb[1], Nb[2], sign);
	set4(p + 8, Pa[0], Pa[1], Pa[2], 0);
	memcpy(&p[11], &number, sizeof(int));
	set4(p + 12, Pb[0], Pb[1], Pb[2], 0);
	set4(p + 16, M[0], M[1], M[2], 0);
}

/* Sort the views by axis and put their parameters on the device. */
static int upload_params(struct gpu_fp *f, struct kk_error *err)
{
	const struct kk_geometry *g = f->base.geo;
	size_t bytes = (size_t)g->nviews * 20 * sizeof(float);
	int64_t i, at[3];
	float *p = malloc(bytes);
	int *axis = malloc((size_t)g->nviews * sizeof(*axis));
	int k, rc;

	f->sorted = malloc((size_t)g->nviews * sizeof(*f->sorted));
	if (!p || !axis || !f->sorted) {
		free(p);
		free(axis);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	memset(f->first, 0, sizeof(f->first));
	for (i = 0; i < g->nviews; i++) {
		axis[i] = kk_fp_axis(g, &g->views[i]);
		f->first[axis[i] + 1]++;
	}
	for (k = 0; k < 3; k++) {
		f->first[k + 1] += f->first[k];
		at[k] = f->first[k];
	}
	for (i = 0; i < g->nviews; i++) {
		int64_t j = at[axis[i]]++;

		f->sorted[j] = i;
		view_params(g, i, axis[i], p + 20 * j);
	}
	rc = KK_CU(f->g, err, cuMemAlloc, &f->params, bytes);
	if (!rc)
		rc = KK_CU(f->g, err, cuMemcpyHtoD, f->params, p, bytes);
	free(p);
	free(axis);
	return rc;
}

/* The first position in sorted[lo, hi) whose view is >= view. */
static int64_t lower_bound(const int64_t *sorted, int64_t lo, int64_t hi,
			   int64_t view)
{
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (sorted[mid] < view)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t slice_bytes(const struct gpu_fp *f)
{
	const struct kk_volume_geom *v = &f->base.geo->vol;

	return (size_t)(v->nx * v->ny) * f->vol_es;
}

static size_t view_bytes(const struct gpu_fp *f)
{
	return (size_t)(f->base.geo->nrows * f->base.geo->ncols) * 4;
}

static int gfp_upload(struct kk_fp_engine *e, int vol, int64_t at,
		      int64_t nz, struct kk_hbuf *hb, struct kk_error *err)
{
	struct gpu_fp *f = (struct gpu_fp *)e;
	struct kk_gpu *g = f->g;
	const struct kk_volume_geom *v = &e->geo->vol;
	size_t bytes = (size_t)nz * slice_bytes(f);
	CUDA_MEMCPY3D cp;
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	/* A buffer of slabs is refilled: wait for the kernels reading it.
	 * The whole volume's buffer is filled once, piece by piece, while
	 * kernels read the pieces already there: no need. */
	if (!rc && (e->layout.nvol > 1 ||
		    e->layout.slices < e->geo->vol.nz))
		rc = KK_CU(g, err, cuStreamWaitEvent, g->up, f->vol_free[vol],
			   0);
	if (!rc)
		rc = kk_hbuf_copy_begin(hb, g->up, 1, bytes, err);
	if (rc)
		return rc;
	if (!f->array && hb->on_device) {
		rc = KK_CU(g, err, cuMemcpyDtoDAsync, f->vol[vol] +
			   (size_t)at * slice_bytes(f),
			   (CUdeviceptr)(uintptr_t)hb->data, bytes, g->up);
	} else if (!f->array) {
		rc = KK_CU(g, err, cuMemcpyHtoDAsync, f->vol[vol] +
			   (size_t)at * slice_bytes(f), hb->data, bytes,
			   g->up);
	} else {
		memset(&cp, 0, sizeof(cp));
		cp.srcMemoryType = hb->on_device ? CU_MEMORYTYPE_DEVICE
						 : CU_MEMORYTYPE_HOST;
		cp.srcHost = hb->data;
		cp.srcDevice = (CUdeviceptr)(uintptr_t)hb->data;
		cp.srcPitch = v->nx * f->vol_es;
		cp.srcHeight = v->ny;
		cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
		cp.dstArray = f->array;
		cp.dstZ = at;
		cp.WidthInBytes = v->nx * f->vol_es;
		cp.Height = v->ny;
		cp.Depth = nz;
		rc = KK_CU(g, err, cuMemcpy3DAsync, &cp, g->up);
	}
	if (!rc)
		rc = kk_hbuf_copy_end(hb, g->up, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, f->vol_ready[vol], g->up);
	return rc;
}

static int gfp_clear(struct kk_fp_engine *e, int proj, int64_t nviews,
		     struct kk_error *err)
{
	struct gpu_fp *f = (struct gpu_fp *)e;
	struct kk_gpu *g = f->g;
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->stream,
			   f->proj_free[proj], 0);
	if (!rc)
		rc = KK_CU(g, err, cuMemsetD32Async, f->proj[proj], 0,
			   (size_t)nviews * view_bytes(f) / 4, g->stream);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, f->proj_ready[proj],
			   g->stream);
	return rc;
}

/* The kernel of an axis and accumulation, compiled when first used. */
static int get_kernel(struct gpu_fp *f, int axis, bool acc,
		      struct kk_error *err)
{
	const struct kk_geometry *g = f->base.geo;
	struct kk_gpu_proj_opts o = f->base.dev->gpu_opts;
	char defines[512];
	CUmodule mod;
	size_t bytes;
	int rc;

	if (f->fn[axis][acc])
		return 0;
	o.fp_texture = f->array != NULL;
	kk_fp_defines(defines, sizeof(defines), g->cone, axis, acc, &o,
		      &f->base.layout.axes);
	rc = kk_kernel_get(f->g, "fp.cu", defines, "kk_fp", &f->fn[axis][acc],
			   &mod, err);
	if (!rc)
		rc = KK_CU(f->g, err, cuModuleGetGlobal, &f->sym[axis][acc],
			   &bytes, mod, "kk_fp_views");
	if (rc)
		f->fn[axis][acc] = NULL;
	return rc;
}

static int gfp_run(struct kk_fp_engine *e, const struct kk_fp_job *job,
		   struct kk_error *err)
{
	struct gpu_fp *f = (struct gpu_fp *)e;
	struct kk_gpu *g = f->g;
	const struct kk_geometry *geo = e->geo;
	const struct kk_volume_geom *v = &geo->vol;
	struct fp_dims d = {
		{(int)v->nx, (int)v->ny, (int)v->nz},
		{(float)v->dx, (float)v->dy, (float)v->dz},
		(int)geo->nrows, (int)geo->ncols, (int)job->nviews,
		(int)job->view0, (int)job->base, (int)job->zlo, (int)job->zhi,
		(int)job->row_lo, (int)job->row_hi};
	void *args[4] = {&f->proj[job->proj], &f->vol[job->vol], &f->tex, &d};
	bool acc = job->accumulate;
	int64_t i0, i1, b;
	int axis, rc;

	if (f->array && (job->zlo != 0 || job->zhi != v->nz))
		return kk_fail(err, KK_ERUNTIME, "internal error: the texture "
			       "forward projector takes the whole volume");
	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->stream,
			   f->vol_ready[job->vol], 0);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->stream,
			   f->proj_free[job->proj], 0);
	if (!rc)
		rc = kk_gpu_timer_start(g, &f->timer, e->dev, err);
	for (axis = 0; axis < 3 && !rc; axis++) {
		i0 = lower_bound(f->sorted, f->first[axis], f->first[axis + 1],
				 job->view0);
		i1 = lower_bound(f->sorted, i0, f->first[axis + 1],
				 job->view0 + job->nviews);
		if (i0 == i1 || job->row_hi <= job->row_lo)
			continue;
		rc = get_kernel(f, axis, acc, err);
		for (b = i0; !rc && b < i1; b += KK_GPU_FP_BATCH) {
			int64_t m = i1 - b < KK_GPU_FP_BATCH ? i1 - b
							     : KK_GPU_FP_BATCH;
			unsigned gx = (unsigned)(geo->ncols + 31) / 32;
			unsigned gy = (unsigned)(job->row_hi - job->row_lo +
						 7) / 8;

			rc = KK_CU(g, err, cuMemcpyDtoDAsync,
				   f->sym[axis][acc], f->params +
				   (size_t)b * 20 * sizeof(float),
				   (size_t)m * 20 * sizeof(float), g->stream);
			if (!rc)
				rc = kk_gpu_launch(g, f->fn[axis][acc], gx, gy,
						   (unsigned)m, 32, 8, args,
						   err);
		}
	}
	if (!rc)
		rc = kk_gpu_timer_stop(g, &f->timer, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, f->vol_free[job->vol],
			   g->stream);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, f->proj_ready[job->proj],
			   g->stream);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, f->last_run, g->stream);
	if (!rc && job->progress)
		kk_progress_add(job->progress, job->units);
	return rc;
}

static int gfp_download(struct kk_fp_engine *e, int proj, int64_t nviews,
			struct kk_hbuf *hb, struct kk_error *err)
{
	struct gpu_fp *f = (struct gpu_fp *)e;
	struct kk_gpu *g = f->g;
	size_t bytes = (size_t)nviews * view_bytes(f);
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->down,
			   f->proj_ready[proj], 0);
	if (!rc)
		rc = kk_hbuf_copy_begin(hb, g->down, 2, bytes, err);
	if (!rc && hb->on_device)
		rc = KK_CU(g, err, cuMemcpyDtoDAsync,
			   (CUdeviceptr)(uintptr_t)hb->data, f->proj[proj],
			   bytes, g->down);
	else if (!rc)
		rc = KK_CU(g, err, cuMemcpyDtoHAsync, hb->data, f->proj[proj],
			   bytes, g->down);
	if (!rc)
		rc = kk_hbuf_copy_end(hb, g->down, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, f->proj_free[proj], g->down);
	return rc;
}

static bool gfp_idle(struct kk_fp_engine *e)
{
	struct gpu_fp *f = (struct gpu_fp *)e;

	f->g->cu.cuCtxSetCurrent(f->g->ctx);
	return f->g->cu.cuEventQuery(f->last_run) != CUDA_ERROR_NOT_READY;
}

static void gfp_destroy(struct kk_fp_engine *e)
{
	struct gpu_fp *f = (struct gpu_fp *)e;
	struct kk_gpu *g = f->g;
	int i;

	g->cu.cuCtxSetCurrent(g->ctx);
	g->cu.cuStreamSynchronize(g->up);
	g->cu.cuStreamSynchronize(g->stream);
	g->cu.cuStreamSynchronize(g->down);
	kk_gpu_timer_release(g, &f->timer, e->dev);
	if (f->tex)
		g->cu.cuTexObjectDestroy(f->tex);
	if (f->array)
		g->cu.cuArrayDestroy(f->array);
	for (i = 0; i < MAX_BUF; i++) {
		if (f->vol[i])
			g->cu.cuMemFree(f->vol[i]);
		if (f->vol_ready[i])
			g->cu.cuEventDestroy(f->vol_ready[i]);
		if (f->vol_free[i])
			g->cu.cuEventDestroy(f->vol_free[i]);
	}
	for (i = 0; i < MAX_PROJ; i++) {
		if (f->proj[i])
			g->cu.cuMemFree(f->proj[i]);
		if (f->proj_ready[i])
			g->cu.cuEventDestroy(f->proj_ready[i]);
		if (f->proj_free[i])
			g->cu.cuEventDestroy(f->proj_free[i]);
	}
	if (f->last_run)
		g->cu.cuEventDestroy(f->last_run);
	if (f->params)
		g->cu.cuMemFree(f->params);
	free(f->sorted);
	free(f);
}

static const struct kk_fp_engine_ops gpu_fp_ops = {
	gfp_upload, gfp_clear, gfp_run, gfp_download, gfp_idle, gfp_destroy,
};

static int create_buffers(struct gpu_fp *f, struct kk_error *err)
{
	const struct kk_fp_layout *l = &f->base.layout;
	const struct kk_volume_geom *v = &f->base.geo->vol;
	struct kk_gpu *g = f->g;
	CUDA_ARRAY3D_DESCRIPTOR ad;
	int i, rc = 0;

	for (i = 0; i < MAX_BUF && !rc; i++) {
		rc = KK_CU(g, err, cuEventCreate, &f->vol_ready[i],
			   CU_EVENT_DISABLE_TIMING);
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &f->vol_free[i],
				   CU_EVENT_DISABLE_TIMING);
	}
	for (i = 0; i < l->nproj && !rc; i++) {
		rc = KK_CU(g, err, cuEventCreate, &f->proj_ready[i],
			   CU_EVENT_DISABLE_TIMING);
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &f->proj_free[i],
				   CU_EVENT_DISABLE_TIMING);
	}
	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, &f->last_run,
			   CU_EVENT_DISABLE_TIMING);
	if (!rc && f->base.whole_volume) {
		memset(&ad, 0, sizeof(ad));
		ad.Width = v->nx;
		ad.Height = v->ny;
		ad.Depth = v->nz;
		ad.Format = f->vol_es == 2 ? CU_AD_FORMAT_HALF
					   : CU_AD_FORMAT_FLOAT;
		ad.NumChannels = 1;
		rc = KK_CU(g, err, cuArray3DCreate, &f->array, &ad);
		if (!rc)
			rc = kk_gpu_texture(g, f->array, &f->tex, err);
	}
	for (i = 0; i < l->nvol && !rc && !f->array; i++)
		rc = KK_CU(g, err, cuMemAlloc, &f->vol[i],
			   (size_t)l->slices * slice_bytes(f));
	for (i = 0; i < l->nproj && !rc; i++)
		rc = KK_CU(g, err, cuMemAlloc, &f->proj[i],
			   (size_t)l->views * view_bytes(f));
	return rc;
}

int kk_gpu_fp_engine(struct kk_fp_engine **out, struct kk_device *d,
		     const struct kk_geometry *geo,
		     const struct kk_fp_layout *l, struct kk_error *err)
{
	const struct kk_gpu_proj_opts *o = &d->gpu_opts;
	struct gpu_fp *f = calloc(1, sizeof(*f));
	struct kk_gpu *g = d->gpu;
	int rc;

	*out = NULL;
	if (!f)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	if (l->nvol > MAX_BUF || l->nproj > MAX_PROJ) {
		free(f);
		return kk_fail(err, KK_ERUNTIME, "internal error: %d volume "
			       "and %d projection buffers", l->nvol, l->nproj);
	}
	f->base.ops = &gpu_fp_ops;
	f->base.dev = d;
	f->base.geo = geo;
	f->base.layout = *l;
	f->base.vol_half = o->vol_half;
	/* The texture holds the whole volume (its hardware filter would
	 * blend a slab's edge with whatever lies beyond). */
	f->base.whole_volume = o->fp_texture && l->nvol == 1 &&
			       l->slices == geo->vol.nz;
	f->g = g;
	f->vol_es = o->vol_half ? 2 : 4;
	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = kk_gpu_timer_init(g, &f->timer, err);
	if (!rc)
		rc = create_buffers(f, err);
	if (!rc)
		rc = upload_params(f, err);
	if (rc) {
		gfp_destroy(&f->base);
		return rc;
	}
	*out = &f->base;
	return 0;
}

#else

int kk_gpu_fp_engine(struct kk_fp_engine **e, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_fp_layout *l, struct kk_error *err)
{
	*e = NULL;
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

#endif
