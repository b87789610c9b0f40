/*
 * gpu_bp.c: backprojection on a GPU (kernels/bp.cu).
 *
 * The volume being summed stays on the device.  Each chunk of views goes
 * into a 2D layered texture, a layer per view, KK_GPU_BATCH views at a
 * time: views stored angle first go in one copy; ASTRA's order (row,
 * angle, col) in one strided copy per view, the copy engine gathering
 * the rows, so no transposed copy is made on the host; float16 storage
 * and other orders are gathered while converting.
 */
#include "config.h"
#include "gpu_proj.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA_HEADERS

struct kk_gpu_bp {
	struct kk_gpu *g;
	const struct kk_geometry *geo;
	struct kk_gpu_proj_opts o;
	CUdeviceptr vol;
	CUarray array;          /* layers: a view each */
	CUtexObject tex;
	int layers;
	int power, zsize;
	CUfunction fn;
	CUdeviceptr sym;        /* kk_bp_views in constant memory */
	float *params;          /* 12 floats a view of a batch */
	void *staging;
	size_t staging_cap;
	CUevent ev0, ev1;       /* around the last launch */
	bool timing;            /* a launch is between them */
	double kernel_ms;
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

/* The kernel's U, V, D for a view (see kernels/bp.cu). */
static void view_params(const struct kk_geometry *g, const struct kk_view *w,
			float *p)
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
	s = b.power == 2 ? 1 / (b.K * sqrt(b.scale)) : 1 / (b.K * b.scale);
	for (k = 0; k < 4; k++) {
		p[k] = (float)(s * U[k]);
		p[4 + k] = (float)(s * V[k]);
		p[8 + k] = (float)(s * D[k]);
	}
	/* float4 order: x, y, z coefficients then the constant (w). */
}

int kk_gpu_bp_create(struct kk_gpu_bp **out, struct kk_gpu *g,
		     const struct kk_geometry *geo,
		     const struct kk_gpu_proj_opts *o, struct kk_error *err)
{
	const struct kk_volume_geom *v = &geo->vol;
	size_t nvox = (size_t)v->nx * v->ny * v->nz, es = o->vol_half ? 2 : 4;
	struct kk_gpu_bp *bp = calloc(1, sizeof(*bp));
	CUDA_ARRAY3D_DESCRIPTOR ad;
	char defines[256];
	CUmodule mod;
	size_t bytes;
	int rc;

	*out = NULL;
	if (!bp)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	bp->g = g;
	bp->geo = geo;
	bp->o = *o;
	bp->power = geo->cone && !geo->is_2d ? 2 : 1;
	bp->zsize = v->nz == 1 ? 1 : o->zsize;
	bp->layers = geo->nviews < KK_GPU_BATCH ? (int)geo->nviews
						: KK_GPU_BATCH;
	bp->params = malloc(12 * sizeof(float) * bp->layers);
	if (!bp->params) {
		free(bp);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc) {
		rc = KK_CU(g, err, cuMemAlloc, &bp->vol, nvox * es);
		if (rc)
			kk_error_prefix(err, "the volume (%.2f GiB) does not "
					"fit on the GPU",
					nvox * es / 1073741824.0);
	}
	if (!rc)
		rc = o->vol_half ? KK_CU(g, err, cuMemsetD16Async, bp->vol, 0,
					 nvox, g->stream)
				 : KK_CU(g, err, cuMemsetD32Async, bp->vol, 0,
					 nvox, g->stream);
	if (!rc) {
		memset(&ad, 0, sizeof(ad));
		ad.Width = geo->ncols;
		ad.Height = geo->nrows;
		ad.Depth = bp->layers;
		ad.Format = o->proj_half ? CU_AD_FORMAT_HALF
					 : CU_AD_FORMAT_FLOAT;
		ad.NumChannels = 1;
		ad.Flags = CUDA_ARRAY3D_LAYERED;
		rc = KK_CU(g, err, cuArray3DCreate, &bp->array, &ad);
	}
	if (!rc)
		rc = kk_gpu_texture(g, bp->array, &bp->tex, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, &bp->ev0, CU_EVENT_DEFAULT);
	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, &bp->ev1, CU_EVENT_DEFAULT);
	kk_bp_defines(defines, sizeof(defines), bp->power, bp->zsize,
		      o->vol_half);
	if (!rc)
		rc = kk_kernel_get(g, "bp.cu", defines, "kk_bp", &bp->fn, &mod,
				   err);
	if (!rc)
		rc = KK_CU(g, err, cuModuleGetGlobal, &bp->sym, &bytes, mod,
			   "kk_bp_views");
	if (rc) {
		kk_gpu_bp_free(bp);
		return rc;
	}
	*out = bp;
	return 0;
}

/* Views [first, first + n) of the chunk into layers 0 .. n-1. */
static int upload(struct kk_gpu_bp *bp, const struct kk_proj_chunk *in,
		  int64_t first, int n, struct kk_error *err)
{
	struct kk_gpu *g = bp->g;
	const struct kk_geometry *geo = bp->geo;
	const int *where = in->axes.where;
	int64_t len[3], stride[3], r, c, k;
	size_t es = bp->o.proj_half ? 2 : 4, per_view;
	CUDA_MEMCPY3D cp;
	int rc = 0, a;

	len[KK_ANGLE] = in->nviews;
	len[KK_ROW] = geo->nrows;
	len[KK_COL] = geo->ncols;
	for (a = 0; a < 3; a++) {
		int p = where[a], q;

		stride[a] = 1;
		for (q = 0; q < 3; q++)
			if (where[q] > p)
				stride[a] *= len[q];
	}
	per_view = (size_t)geo->nrows * geo->ncols;
	memset(&cp, 0, sizeof(cp));
	cp.srcMemoryType = CU_MEMORYTYPE_HOST;
	cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
	cp.dstArray = bp->array;
	cp.WidthInBytes = geo->ncols * es;
	cp.Height = geo->nrows;
	if (!bp->o.proj_half && where[KK_COL] == 2) {
		/* Direct: one copy (angle first) or one a view (row first,
		 * the copy engine gathering its rows). */
		cp.srcPitch = stride[KK_ROW] * 4;
		cp.srcHeight = geo->nrows;
		if (where[KK_ANGLE] == 0) {
			cp.srcHost = in->data + first * per_view;
			cp.Depth = n;
			return KK_CU(g, err, cuMemcpy3DAsync, &cp, g->stream);
		}
		cp.Depth = 1;
		for (k = 0; k < n && !rc; k++) {
			cp.srcHost = in->data + (first + k) * stride[KK_ANGLE];
			cp.dstZ = k;
			rc = KK_CU(g, err, cuMemcpy3DAsync, &cp, g->stream);
		}
		return rc;
	}
	/* Gather into view order while converting. */
	rc = kk_gpu_staging(&bp->staging, &bp->staging_cap,
			    (size_t)n * per_view * es, err);
	if (rc)
		return rc;
	for (k = 0; k < n; k++)
		for (r = 0; r < geo->nrows; r++) {
			const float *src = in->data + (first + k) *
					   stride[KK_ANGLE] + r * stride[KK_ROW];
			size_t at = (size_t)k * per_view + r * geo->ncols;

			if (bp->o.proj_half && stride[KK_COL] == 1) {
				kk_convert_from_f32((uint16_t *)bp->staging +
						    at, KK_F16, src,
						    geo->ncols, NULL, NULL);
				continue;
			}
			for (c = 0; c < geo->ncols; c++) {
				float x = src[c * stride[KK_COL]];

				if (bp->o.proj_half)
					((uint16_t *)bp->staging)[at + c] =
						kk_f32_to_f16(x);
				else
					((float *)bp->staging)[at + c] = x;
			}
		}
	cp.srcHost = bp->staging;
	cp.srcPitch = geo->ncols * es;
	cp.srcHeight = geo->nrows;
	cp.Depth = n;
	rc = KK_CU(g, err, cuMemcpy3DAsync, &cp, g->stream);
	/* The staging buffer is reused by the next batch: wait for it. */
	if (!rc)
		rc = KK_CU(g, err, cuStreamSynchronize, g->stream);
	return rc;
}

/* After a synchronisation: add the last launch's time. */
static int account(struct kk_gpu_bp *bp, struct kk_error *err)
{
	float ms = 0;
	int rc;

	if (!bp->timing)
		return 0;
	bp->timing = false;
	rc = KK_CU(bp->g, err, cuEventElapsedTime, &ms, bp->ev0, bp->ev1);
	bp->kernel_ms += ms;
	return rc;
}

double kk_gpu_bp_kernel_ms(const struct kk_gpu_bp *bp)
{
	return bp->kernel_ms;
}

int kk_gpu_bp_run(struct kk_gpu_bp *bp, const struct kk_proj_chunk *in,
		  struct kk_error *err)
{
	struct kk_gpu *g = bp->g;
	const struct kk_geometry *geo = bp->geo;
	const struct kk_volume_geom *v = &geo->vol;
	int nx = (int)v->nx, ny = (int)v->ny, nz = (int)v->nz, n, layer0 = 0;
	void *args[7] = {&bp->vol, &bp->tex, &nx, &ny, &nz, &n, &layer0};
	int64_t b;
	int i, rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	for (b = 0; !rc && b < in->nviews; b += bp->layers) {
		n = (int)(in->nviews - b < bp->layers ? in->nviews - b
						       : bp->layers);
		/* The previous batch's kernel still reads the texture and
		 * the parameters: the copies below wait for it in the
		 * stream, and the host buffer for the copies' own sake. */
		rc = KK_CU(g, err, cuStreamSynchronize, g->stream);
		if (!rc)
			rc = account(bp, err);
		if (!rc)
			rc = upload(bp, in, b, n, err);
		for (i = 0; !rc && i < n; i++)
			view_params(geo, &geo->views[in->view0 + b + i],
				    bp->params + 12 * i);
		if (!rc)
			rc = KK_CU(g, err, cuMemcpyHtoDAsync, bp->sym,
				   bp->params, (size_t)n * 12 * sizeof(float),
				   g->stream);
		if (!rc)
			rc = KK_CU(g, err, cuEventRecord, bp->ev0, g->stream);
		if (!rc)
			rc = kk_gpu_launch(g, bp->fn, (nx + 15) / 16,
					   (ny + 15) / 16,
					   (nz + bp->zsize - 1) / bp->zsize, 16,
					   16, args, err);
		if (!rc)
			rc = KK_CU(g, err, cuEventRecord, bp->ev1, g->stream);
		bp->timing = !rc;
	}
	if (!rc)
		rc = KK_CU(g, err, cuStreamSynchronize, g->stream);
	if (!rc)
		rc = account(bp, err);
	return rc;
}

int kk_gpu_bp_result(struct kk_gpu_bp *bp, float *vol, struct kk_error *err)
{
	struct kk_gpu *g = bp->g;
	const struct kk_volume_geom *v = &bp->geo->vol;
	size_t n = (size_t)v->nx * v->ny * v->nz;
	int rc;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (rc)
		return rc;
	if (!bp->o.vol_half) {
		rc = KK_CU(g, err, cuMemcpyDtoHAsync, vol, bp->vol, n * 4,
			   g->stream);
		return rc ? rc : KK_CU(g, err, cuStreamSynchronize,
				       g->stream);
	}
	rc = kk_gpu_staging(&bp->staging, &bp->staging_cap, n * 2, err);
	if (!rc)
		rc = KK_CU(g, err, cuMemcpyDtoHAsync, bp->staging, bp->vol,
			   n * 2, g->stream);
	if (!rc)
		rc = KK_CU(g, err, cuStreamSynchronize, g->stream);
	if (!rc)
		kk_convert_to_f32(vol, bp->staging, KK_F16, n, NULL);
	return rc;
}

void kk_gpu_bp_free(struct kk_gpu_bp *bp)
{
	if (!bp)
		return;
	bp->g->cu.cuCtxSetCurrent(bp->g->ctx);
	bp->g->cu.cuStreamSynchronize(bp->g->stream);
	if (bp->tex)
		bp->g->cu.cuTexObjectDestroy(bp->tex);
	if (bp->array)
		bp->g->cu.cuArrayDestroy(bp->array);
	if (bp->vol)
		bp->g->cu.cuMemFree(bp->vol);
	if (bp->ev0)
		bp->g->cu.cuEventDestroy(bp->ev0);
	if (bp->ev1)
		bp->g->cu.cuEventDestroy(bp->ev1);
	free(bp->params);
	free(bp->staging);
	free(bp);
}

#else

int kk_gpu_bp_create(struct kk_gpu_bp **bp, struct kk_gpu *g,
		     const struct kk_geometry *geo,
		     const struct kk_gpu_proj_opts *o, struct kk_error *err)
{
	*bp = NULL;
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

/* After a synchronisation: add the last launch's time. */
static int account(struct kk_gpu_bp *bp, struct kk_error *err)
{
	float ms = 0;
	int rc;

	if (!bp->timing)
		return 0;
	bp->timing = false;
	rc = KK_CU(bp->g, err, cuEventElapsedTime, &ms, bp->ev0, bp->ev1);
	bp->kernel_ms += ms;
	return rc;
}

double kk_gpu_bp_kernel_ms(const struct kk_gpu_bp *bp)
{
	return bp->kernel_ms;
}

int kk_gpu_bp_run(struct kk_gpu_bp *bp, const struct kk_proj_chunk *in,
		  struct kk_error *err)
{
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

int kk_gpu_bp_result(struct kk_gpu_bp *bp, float *vol, struct kk_error *err)
{
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

void kk_gpu_bp_free(struct kk_gpu_bp *bp)
{
}

double kk_gpu_bp_kernel_ms(const struct kk_gpu_bp *bp)
{
	return 0;
}

#endif
