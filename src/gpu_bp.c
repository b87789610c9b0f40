/*
 * gpu_bp.c: the backprojection engine on a GPU (kernels/bp.cu).
 *
 * Volume buffers are plain device memory; projection buffers are 2D
 * layered arrays (a layer per view) read through texture objects with
 * hardware bilinear filtering.  Uploads go on the copy-in stream,
 * kernels on the compute stream, downloads on the copy-out stream, and
 * events order them: a projection buffer is not overwritten while a
 * kernel reads it, a volume buffer is not cleared before its download.
 *
 * Projections come with the angle or the row first and the columns
 * last: angle first in one copy, row first in a strided copy per view
 * (the copy engine gathers the rows), so no transpose is made.  The
 * views' parameters are worked out once, kept on the device and copied
 * into constant memory KK_GPU_BATCH views a launch.
 */
#include "config.h"
#include "cpu_proj.h"
#include "engine.h"
#include "gpu_proj.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA_HEADERS

#define MAX_BUF 2

struct gpu_bp {
	struct kk_bp_engine base;
	struct kk_gpu *g;
	size_t vol_es, proj_es;
	CUdeviceptr vol[MAX_BUF];
	CUevent vol_ready[MAX_BUF];    /* its clear and kernels are done */
	CUevent vol_free[MAX_BUF];     /* its last download is done */
	CUarray array[MAX_BUF];
	CUtexObject tex[MAX_BUF];
	CUevent proj_ready[MAX_BUF];   /* its upload is done */
	CUevent proj_free[MAX_BUF];    /* the kernels reading it are done */
	CUdeviceptr params;            /* 12 floats a view, every view */
	CUfunction fn;
	CUdeviceptr sym;               /* kk_bp_views in constant memory */
	int power, zsize;
	struct kk_gpu_timer timer;
	struct kk_gpu_fbp *fbp;        /* fbp: weights and filters uploads */
};

/* An affine function of the world point, as one of the voxel index. */
static void index_affine(const struct kk_volume_geom *v, const double *f,
			 double *out)
{
	const double vox[3] = {v->dx, v->dy, v->dz};
	const double lo[3] = {v->xmin, v->ymin, v->zmin};
	int k;

	out[3] = f[3];
	for (k = 0; k < 3; k++) {
		out[k] = f[k] * vox[k];
		out[3] += f[k] * (lo[k] + 0.5 * vox[k]);
	}
}

/* The kernel's U, V, D for a view (see kernels/bp.cu), for the kernel's
 * power (2 for fan beams too when fbp weights them FDK's way). */
static void view_params(const struct kk_geometry *g, const struct kk_view *w,
			int power, float *p)
{
	struct kk_bp_view b;
	double U[4], V[4], D[4], s;
	int k;

	kk_bp_view_setup(g, w, &b);
	index_affine(&g->vol, b.U, U);
	index_affine(&g->vol, b.V, V);
	index_affine(&g->vol, b.D, D);
	/* Texture coordinates: col + 0.5 = U / D + ncols / 2. */
	for (k = 0; k < 4; k++) {
		U[k] += 0.5 * g->ncols * D[k];
		V[k] += 0.5 * g->nrows * D[k];
	}
	/* Scale D so that 1 / D^power is the weight and D > 0 in front. */
	s = power == 2 ? 1 / (b.K * sqrt(b.scale)) : 1 / (b.K * b.scale);
	for (k = 0; k < 4; k++) {
		p[k] = (float)(s * U[k]);
		p[4 + k] = (float)(s * V[k]);
		p[8 + k] = (float)(s * D[k]);
	}
	/* float4 order: x, y, z coefficients then the constant (w). */
}

static int upload_params(struct gpu_bp *b, struct kk_error *err)
{
	const struct kk_geometry *g = b->base.geo;
	size_t bytes = (size_t)g->nviews * 12 * sizeof(float);
	float *p = malloc(bytes);
	int64_t i;
	int rc;

	if (!p)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	for (i = 0; i < g->nviews; i++)
		view_params(g, &g->views[i], b->power, p + 12 * i);
	rc = KK_CU(b->g, err, cuMemAlloc, &b->params, bytes);
	if (!rc)
		rc = KK_CU(b->g, err, cuMemcpyHtoD, b->params, p, bytes);
	free(p);
	return rc;
}

static size_t slice_bytes(const struct gpu_bp *b)
{
	const struct kk_volume_geom *v = &b->base.geo->vol;

	return (size_t)(v->nx * v->ny) * b->vol_es;
}

static int gbp_clear(struct kk_bp_engine *e, int vol, struct kk_error *err)
{
	struct gpu_bp *b = (struct gpu_bp *)e;
	struct kk_gpu *g = b->g;
	size_t n = (size_t)e->layout.slices * slice_bytes(b) / b->vol_es;
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->stream,
			   b->vol_free[vol], 0);
	if (!rc)
		rc = b->vol_es == 2
		     ? KK_CU(g, err, cuMemsetD16Async, b->vol[vol], 0, n,
			     g->stream)
		     : KK_CU(g, err, cuMemsetD32Async, b->vol[vol], 0, n,
			     g->stream);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, b->vol_ready[vol],
			   g->stream);
	return rc;
}

static int gbp_upload(struct kk_bp_engine *e, int proj, int64_t view0,
		      int64_t nviews, int64_t row0,
		      const struct kk_fresh_rows *fresh, struct kk_hbuf *hb,
		      struct kk_error *err)
{
	struct gpu_bp *b = (struct gpu_bp *)e;
	struct kk_gpu *g = b->g;
	const struct kk_geometry *geo = e->geo;
	size_t row = (size_t)geo->ncols * b->proj_es;
	size_t rows = (size_t)e->layout.rows;
	CUDA_MEMCPY3D cp;
	int64_t k;
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->up,
			   b->proj_free[proj], 0);
	if (!rc)
		rc = kk_hbuf_copy_begin(hb, g->up, 1, nviews * rows * row,
					err);
	if (rc)
		return rc;
	if (b->fbp && hb->on_device) {
		rc = kk_fail(err, KK_ERUNTIME, "internal error: fbp uploads "
			     "from host memory only");
		goto done;
	}
	if (b->fbp) {
		rc = kk_gpu_fbp_upload(b->fbp, hb, &e->layout.axes, view0,
				       nviews, row0, fresh, b->array[proj],
				       g->up, err);
		goto done;
	}
	memset(&cp, 0, sizeof(cp));
	cp.srcMemoryType = hb->on_device ? CU_MEMORYTYPE_DEVICE
					 : CU_MEMORYTYPE_HOST;
	cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
	cp.dstArray = b->array[proj];
	cp.WidthInBytes = row;
	cp.Height = rows;
	cp.srcHeight = rows;
	if (e->layout.axes.where[KK_ANGLE] == 0) {
		cp.srcHost = hb->data;
		cp.srcDevice = (CUdeviceptr)(uintptr_t)hb->data;
		cp.srcPitch = row;
		cp.Depth = nviews;
		rc = KK_CU(g, err, cuMemcpy3DAsync, &cp, g->up);
	} else {
		/* (row, angle, col): a view's rows are nviews rows apart. */
		cp.srcPitch = row * nviews;
		cp.Depth = 1;
		for (k = 0; k < nviews && !rc; k++) {
			cp.srcHost = (char *)hb->data + k * row;
			cp.srcDevice = (CUdeviceptr)(uintptr_t)cp.srcHost;
			cp.dstZ = k;
			rc = KK_CU(g, err, cuMemcpy3DAsync, &cp, g->up);
		}
	}
done:
	if (!rc)
		rc = kk_hbuf_copy_end(hb, g->up, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, b->proj_ready[proj], g->up);
	return rc;
}

static int gbp_run(struct kk_bp_engine *e, const struct kk_bp_job *job,
		   struct kk_error *err)
{
	struct gpu_bp *b = (struct gpu_bp *)e;
	struct kk_gpu *g = b->g;
	const struct kk_volume_geom *v = &e->geo->vol;
	int nx = (int)v->nx, ny = (int)v->ny, z0 = (int)job->z0;
	int nz = (int)job->nz, n = 0, layer = 0;
	float row0 = (float)job->row0;
	void *args[9] = {&b->vol[job->vol], &b->tex[job->proj], &nx, &ny, &z0,
			 &nz, &n, &layer, &row0};
	int64_t at;
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->stream,
			   b->proj_ready[job->proj], 0);
	if (!rc)
		rc = kk_gpu_timer_start(g, &b->timer, e->dev, err);
	for (at = 0; !rc && at < job->nviews; at += KK_GPU_BATCH) {
		n = (int)(job->nviews - at < KK_GPU_BATCH ? job->nviews - at
							   : KK_GPU_BATCH);
		layer = (int)at;
		/* In stream order: the previous launch has read its own. */
		rc = KK_CU(g, err, cuMemcpyDtoDAsync, b->sym, b->params +
			   (size_t)(job->view0 + at) * 12 * sizeof(float),
			   (size_t)n * 12 * sizeof(float), g->stream);
		if (!rc)
			rc = kk_gpu_launch(g, b->fn, (nx + 15) / 16,
					   (ny + 15) / 16,
					   (nz + b->zsize - 1) / b->zsize, 16,
					   16, args, err);
	}
	if (!rc)
		rc = kk_gpu_timer_stop(g, &b->timer, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, b->proj_free[job->proj],
			   g->stream);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, b->vol_ready[job->vol],
			   g->stream);
	if (!rc && job->progress)
		kk_progress_add(job->progress, job->units);
	return rc;
}

static int gbp_download(struct kk_bp_engine *e, int vol, int64_t at,
			int64_t nz, struct kk_hbuf *hb, struct kk_error *err)
{
	struct gpu_bp *b = (struct gpu_bp *)e;
	struct kk_gpu *g = b->g;
	size_t bytes = (size_t)nz * slice_bytes(b);
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamWaitEvent, g->down,
			   b->vol_ready[vol], 0);
	if (!rc)
		rc = kk_hbuf_copy_begin(hb, g->down, 2, bytes, err);
	if (!rc && hb->on_device)
		rc = KK_CU(g, err, cuMemcpyDtoDAsync,
			   (CUdeviceptr)(uintptr_t)hb->data, b->vol[vol] +
			   (size_t)at * slice_bytes(b), bytes, g->down);
	else if (!rc)
		rc = KK_CU(g, err, cuMemcpyDtoHAsync, hb->data, b->vol[vol] +
			   (size_t)at * slice_bytes(b), bytes, g->down);
	if (!rc)
		rc = kk_hbuf_copy_end(hb, g->down, err);
	/* A clear of this buffer waits for this download. */
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, b->vol_free[vol], g->down);
	return rc;
}

static void gbp_destroy(struct kk_bp_engine *e)
{
	struct gpu_bp *b = (struct gpu_bp *)e;
	struct kk_gpu *g = b->g;
	int i;

	g->cu.cuCtxSetCurrent(g->ctx);
	g->cu.cuStreamSynchronize(g->up);
	g->cu.cuStreamSynchronize(g->stream);
	g->cu.cuStreamSynchronize(g->down);
	kk_gpu_timer_release(g, &b->timer, e->dev);
	for (i = 0; i < MAX_BUF; i++) {
		if (b->tex[i])
			g->cu.cuTexObjectDestroy(b->tex[i]);
		if (b->array[i])
			g->cu.cuArrayDestroy(b->array[i]);
		if (b->vol[i])
			g->cu.cuMemFree(b->vol[i]);
		if (b->vol_ready[i])
			g->cu.cuEventDestroy(b->vol_ready[i]);
		if (b->vol_free[i])
			g->cu.cuEventDestroy(b->vol_free[i]);
		if (b->proj_ready[i])
			g->cu.cuEventDestroy(b->proj_ready[i]);
		if (b->proj_free[i])
			g->cu.cuEventDestroy(b->proj_free[i]);
	}
	if (b->params)
		g->cu.cuMemFree(b->params);
	kk_gpu_fbp_free(b->fbp);
	free(b);
}

static const struct kk_bp_engine_ops gpu_bp_ops = {
	gbp_clear, gbp_upload, gbp_run, gbp_download, gbp_destroy,
};

static int create_buffers(struct gpu_bp *b, struct kk_error *err)
{
	const struct kk_bp_layout *l = &b->base.layout;
	const struct kk_geometry *geo = b->base.geo;
	struct kk_gpu *g = b->g;
	CUDA_ARRAY3D_DESCRIPTOR ad;
	int i, rc = 0;

	for (i = 0; i < l->nvol && !rc; i++) {
		rc = KK_CU(g, err, cuMemAlloc, &b->vol[i],
			   (size_t)l->slices * slice_bytes(b));
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &b->vol_ready[i],
				   CU_EVENT_DISABLE_TIMING);
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &b->vol_free[i],
				   CU_EVENT_DISABLE_TIMING);
	}
	memset(&ad, 0, sizeof(ad));
	ad.Width = geo->ncols;
	ad.Height = l->rows;
	ad.Depth = l->views;
	ad.Format = b->proj_es == 2 ? CU_AD_FORMAT_HALF : CU_AD_FORMAT_FLOAT;
	ad.NumChannels = 1;
	ad.Flags = CUDA_ARRAY3D_LAYERED;
	for (i = 0; i < l->nproj && !rc; i++) {
		rc = KK_CU(g, err, cuArray3DCreate, &b->array[i], &ad);
		if (!rc)
			rc = kk_gpu_texture(g, b->array[i], &b->tex[i], err);
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &b->proj_ready[i],
				   CU_EVENT_DISABLE_TIMING);
		if (!rc)
			rc = KK_CU(g, err, cuEventCreate, &b->proj_free[i],
				   CU_EVENT_DISABLE_TIMING);
	}
	return rc;
}

int kk_gpu_bp_engine(struct kk_bp_engine **out, struct kk_device *d,
		     const struct kk_geometry *geo,
		     const struct kk_bp_layout *l, struct kk_error *err)
{
	const struct kk_gpu_proj_opts *o = &d->gpu_opts;
	struct gpu_bp *b = calloc(1, sizeof(*b));
	struct kk_gpu *g = d->gpu;
	char defines[256];
	CUmodule mod;
	size_t bytes;
	int rc;

	*out = NULL;
	if (!b)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	if (l->nvol > MAX_BUF || l->nproj > MAX_BUF) {
		free(b);
		return kk_fail(err, KK_ERUNTIME, "internal error: %d volume "
			       "and %d projection buffers", l->nvol, l->nproj);
	}
	b->base.ops = &gpu_bp_ops;
	b->base.dev = d;
	b->base.geo = geo;
	b->base.layout = *l;
	/* fbp's filtered rows are float32: they come from cuFFT. */
	b->base.proj_half = o->proj_half && !l->fbp;
	b->base.vol_half = o->vol_half;
	b->g = g;
	b->vol_es = o->vol_half ? 2 : 4;
	b->proj_es = b->base.proj_half ? 2 : 4;
	b->power = geo->cone && (!geo->is_2d || l->fbp) ? 2 : 1;
	b->zsize = geo->vol.nz == 1 ? 1 : o->zsize;
	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = kk_gpu_timer_init(g, &b->timer, err);
	if (!rc)
		rc = create_buffers(b, err);
	if (!rc)
		rc = upload_params(b, err);
	if (!rc && l->fbp)
		rc = kk_gpu_fbp_create(&b->fbp, g, l->fbp, l->views, l->rows,
				       l->fbp_budget, err);
	kk_bp_defines(defines, sizeof(defines), b->power, b->zsize,
		      o->vol_half);
	if (!rc)
		rc = kk_kernel_get(g, "bp.cu", defines, "kk_bp", &b->fn, &mod,
				   err);
	if (!rc)
		rc = KK_CU(g, err, cuModuleGetGlobal, &b->sym, &bytes, mod,
			   "kk_bp_views");
	if (rc) {
		gbp_destroy(&b->base);
		return rc;
	}
	*out = &b->base;
	return 0;
}

#else

int kk_gpu_bp_engine(struct kk_bp_engine **e, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_bp_layout *l, struct kk_error *err)
{
	*e = NULL;
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

#endif
