/*
 * gpu_fp.c: forward projection on a GPU (kernels/fp.cu).
 *
 * The volume goes to the device once, as a plain array (the kernel
 * interpolates in float32) or as a 3D texture (hardware filtering);
 * then each chunk of views is computed in launches of at most
 * KK_GPU_BATCH views that share a stepping axis, written straight into
 * the output layout, and copied back.
 */
#include "config.h"
#include "gpu_proj.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA_HEADERS

/* The kernel's struct kk_fp_dims, byte for byte. */
struct fp_dims {
	int n[3];
	float vox[3];
	int nrows, ncols, nviews;
};

struct kk_gpu_fp {
	struct kk_gpu *g;
	const struct kk_geometry *geo;
	struct kk_gpu_proj_opts o;
	CUdeviceptr vol;        /* plain array, or 0 */
	CUarray array;          /* 3D texture's array, or NULL */
	CUtexObject tex;
	CUdeviceptr proj;
	size_t proj_bytes;
	float *params;          /* 20 floats a view of the chunk */
	size_t params_cap;
	void *staging;
	size_t staging_cap;
	CUevent ev0, ev1;       /* around each run's launches */
	double kernel_ms;
};

/* World point -> voxel index coordinates (centres at integers). */
static void to_index(const struct kk_volume_geom *v, const double *p,
		     double *i)
{
	i[0] = (p[0] - v->xmin) / v->dx - 0.5;
	i[1] = (p[1] - v->ymin) / v->dy - 0.5;
	i[2] = (p[2] - v->zmin) / v->dz - 0.5;
}

static void set4(float *p, double x, double y, double z, double w)
{
	p[0] = (float)x;
	p[1] = (float)y;
	p[2] = (float)z;
	p[3] = (float)w;
}

/*
 * The kernel's five float4 for view w, stepping along axis k, written to
 * output position pos: the ray through pixel (c, r) crosses the middle
 * slice jc at (Na . (1, c, r)) / m and moves (Pa . (1, c, r)) / m per
 * slice, m = M . (1, c, r), likewise for the second axis (see fp.cu).
 */
static void view_params(const struct kk_geometry *g, const struct kk_view *w,
			int k, int pos, float *p)
{
	const struct kk_volume_geom *v = &g->vol;
	const double vox[3] = {v->dx, v->dy, v->dz};
	const int64_t n[3] = {v->nx, v->ny, v->nz};
	int a = k == 0 ? 1 : 0, b = k == 2 ? 1 : 2, i;
	double corner[3], C[3], U[3], V[3], S[3], M[3], Pa[3], Pb[3];
	double Na[3], Nb[3], jc = (double)(n[k] / 2), ref, sign = 0;

	for (i = 0; i < 3; i++) {
		corner[i] = w->det[i] - (0.5 * g->ncols - 0.5) * w->u[i] -
			    (0.5 * g->nrows - 0.5) * w->v[i];
		U[i] = w->u[i] / vox[i];
		V[i] = w->v[i] / vox[i];
	}
	to_index(v, corner, C);
	if (g->cone) {
		to_index(v, w->src, S);
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
	memcpy(&p[11], &pos, sizeof(int));
	set4(p + 12, Pb[0], Pb[1], Pb[2], 0);
	set4(p + 16, M[0], M[1], M[2], 0);
}

static int upload_volume(struct kk_gpu_fp *fp, const float *vol,
			 struct kk_error *err)
{
	struct kk_gpu *g = fp->g;
	const struct kk_volume_geom *v = &fp->geo->vol;
	size_t es = fp->o.vol_half ? 2 : 4, slice = (size_t)v->nx * v->ny;
	int64_t z, nz, slab = (64 << 20) / (int64_t)(slice * es);
	CUDA_ARRAY3D_DESCRIPTOR ad;
	CUDA_MEMCPY3D cp;
	int rc = 0;

	if (slab < 1)
		slab = 1;
	if (fp->o.fp_texture) {
		memset(&ad, 0, sizeof(ad));
		ad.Width = v->nx;
		ad.Height = v->ny;
		ad.Depth = v->nz;
		ad.Format = fp->o.vol_half ? CU_AD_FORMAT_HALF
					   : CU_AD_FORMAT_FLOAT;
		ad.NumChannels = 1;
		rc = KK_CU(g, err, cuArray3DCreate, &fp->array, &ad);
	} else {
		rc = KK_CU(g, err, cuMemAlloc, &fp->vol,
			   (size_t)v->nz * slice * es);
	}
	if (rc) {
		kk_error_prefix(err, "the volume (%.2f GiB) does not fit on "
				"the GPU", v->nz * slice * es / 1073741824.0);
		return rc;
	}
	for (z = 0; z < v->nz && !rc; z += slab) {
		const float *src = vol + z * slice;
		const void *host = src;

		nz = v->nz - z < slab ? v->nz - z : slab;
		if (fp->o.vol_half) {
			rc = kk_gpu_staging(&fp->staging, &fp->staging_cap,
					    nz * slice * 2, err);
			if (rc)
				break;
			kk_convert_from_f32(fp->staging, KK_F16, src,
					    nz * slice, NULL, NULL);
			host = fp->staging;
		}
		if (!fp->o.fp_texture) {
			rc = KK_CU(g, err, cuMemcpyHtoD, fp->vol + z * slice *
				   es, host, nz * slice * es);
			continue;
		}
		memset(&cp, 0, sizeof(cp));
		cp.srcMemoryType = CU_MEMORYTYPE_HOST;
		cp.srcHost = host;
		cp.srcPitch = v->nx * es;
		cp.srcHeight = v->ny;
		cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
		cp.dstArray = fp->array;
		cp.dstZ = z;
		cp.WidthInBytes = v->nx * es;
		cp.Height = v->ny;
		cp.Depth = nz;
		rc = KK_CU(g, err, cuMemcpy3D, &cp);
	}
	if (!rc && fp->o.fp_texture)
		rc = kk_gpu_texture(g, fp->array, &fp->tex, err);
	return rc;
}

int kk_gpu_fp_create(struct kk_gpu_fp **out, struct kk_gpu *g,
		     const struct kk_geometry *geo,
		     const struct kk_gpu_proj_opts *o, const float *vol,
		     struct kk_error *err)
{
	struct kk_gpu_fp *fp = calloc(1, sizeof(*fp));
	int rc;

	*out = NULL;
	if (!fp)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	fp->g = g;
	fp->geo = geo;
	fp->o = *o;
	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, &fp->ev0, CU_EVENT_DEFAULT);
	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, &fp->ev1, CU_EVENT_DEFAULT);
	if (!rc)
		rc = upload_volume(fp, vol, err);
	if (rc) {
		kk_gpu_fp_free(fp);
		return rc;
	}
	*out = fp;
	return 0;
}

double kk_gpu_fp_kernel_ms(const struct kk_gpu_fp *fp)
{
	return fp->kernel_ms;
}

/* Launch the views at positions list[0 .. n) of the chunk that starts
 * at view0, all stepping along axis, in batches. */
static int launch_axis(struct kk_gpu_fp *fp, const struct kk_axes *axes,
		       int axis, int64_t view0, const int *list, int n,
		       const struct fp_dims *dims, struct kk_error *err)
{
	struct kk_gpu *g = fp->g;
	const struct kk_geometry *geo = fp->geo;
	char defines[512];
	CUfunction fn;
	CUmodule mod;
	CUdeviceptr sym;
	size_t bytes;
	int b, i, first = 0, rc;
	void *args[5];

	kk_fp_defines(defines, sizeof(defines), geo->cone, axis, &fp->o,
		      axes);
	rc = kk_kernel_get(g, "fp.cu", defines, "kk_fp", &fn, &mod, err);
	if (!rc)
		rc = KK_CU(g, err, cuModuleGetGlobal, &sym, &bytes, mod,
			   "kk_fp_views");
	args[0] = &fp->proj;
	args[1] = &fp->vol;
	args[2] = &fp->tex;
	args[3] = (void *)dims;
	args[4] = &first;
	for (b = 0; !rc && b < n; b += KK_GPU_FP_BATCH) {
		int m = n - b < KK_GPU_FP_BATCH ? n - b : KK_GPU_FP_BATCH;
		float *p = fp->params + 20 * (size_t)b;

		for (i = 0; i < m; i++)
			view_params(geo, &geo->views[view0 + list[b + i]],
				    axis, list[b + i], p + 20 * i);
		rc = KK_CU(g, err, cuMemcpyHtoDAsync, sym, p,
			   (size_t)m * 20 * sizeof(float), g->stream);
		if (!rc)
			rc = kk_gpu_launch(g, fn, (geo->ncols + 31) / 32,
					   (geo->nrows + 7) / 8, m, 32, 8,
					   args, err);
	}
	return rc;
}

int kk_gpu_fp_run(struct kk_gpu_fp *fp, struct kk_proj_chunk *out,
		  struct kk_error *err)
{
	struct kk_gpu *g = fp->g;
	const struct kk_geometry *geo = fp->geo;
	const struct kk_volume_geom *v = &geo->vol;
	size_t n = (size_t)out->nviews * geo->nrows * geo->ncols;
	size_t es = fp->o.proj_half ? 2 : 4;
	struct fp_dims dims = {{(int)v->nx, (int)v->ny, (int)v->nz},
			       {(float)v->dx, (float)v->dy, (float)v->dz},
			       (int)geo->nrows, (int)geo->ncols,
			       (int)out->nviews};
	int *order = NULL, counts[3] = {0, 0, 0}, axis, at[3], rc;
	int64_t i;

	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (rc)
		return rc;
	if (n * es > fp->proj_bytes) {
		if (fp->proj)
			g->cu.cuMemFree(fp->proj);
		fp->proj = 0;
		fp->proj_bytes = 0;
		rc = KK_CU(g, err, cuMemAlloc, &fp->proj, n * es);
		if (rc)
			return rc;
		fp->proj_bytes = n * es;
	}
	/* The views' positions in the chunk, grouped by stepping axis. */
	order = malloc((size_t)out->nviews * sizeof(*order));
	rc = order ? kk_gpu_staging((void **)&fp->params, &fp->params_cap,
				    20 * sizeof(float) * out->nviews, err)
		   : kk_fail(err, KK_ENOMEM, "out of memory");
	if (rc)
		goto out;
	for (i = 0; i < out->nviews; i++)
		counts[kk_fp_axis(geo, &geo->views[out->view0 + i])]++;
	at[0] = 0;
	at[1] = counts[0];
	at[2] = counts[0] + counts[1];
	for (i = 0; i < out->nviews; i++) {
		axis = kk_fp_axis(geo, &geo->views[out->view0 + i]);
		order[at[axis]++] = (int)i;
	}
	rc = KK_CU(g, err, cuEventRecord, fp->ev0, g->stream);
	for (axis = 0, i = 0; axis < 3 && !rc; i += counts[axis++])
		if (counts[axis])
			rc = launch_axis(fp, &out->axes, axis, out->view0,
					 order + i, counts[axis], &dims, err);
	if (!rc)
		rc = KK_CU(g, err, cuEventRecord, fp->ev1, g->stream);
	if (rc)
		goto out;
	if (fp->o.proj_half) {
		rc = kk_gpu_staging(&fp->staging, &fp->staging_cap, n * 2, err);
		if (!rc)
			rc = KK_CU(g, err, cuMemcpyDtoHAsync, fp->staging,
				   fp->proj, n * 2, g->stream);
	} else {
		rc = KK_CU(g, err, cuMemcpyDtoHAsync, out->data, fp->proj,
			   n * 4, g->stream);
	}
	if (!rc)
		rc = KK_CU(g, err, cuStreamSynchronize, g->stream);
	if (!rc) {
		float ms = 0;

		rc = KK_CU(g, err, cuEventElapsedTime, &ms, fp->ev0, fp->ev1);
		fp->kernel_ms += ms;
	}
	if (!rc && fp->o.proj_half)
		kk_convert_to_f32(out->data, fp->staging, KK_F16, n, NULL);
out:
	free(order);
	return rc;
}

void kk_gpu_fp_free(struct kk_gpu_fp *fp)
{
	if (!fp)
		return;
	fp->g->cu.cuCtxSetCurrent(fp->g->ctx);
	fp->g->cu.cuStreamSynchronize(fp->g->stream);
	if (fp->tex)
		fp->g->cu.cuTexObjectDestroy(fp->tex);
	if (fp->array)
		fp->g->cu.cuArrayDestroy(fp->array);
	if (fp->vol)
		fp->g->cu.cuMemFree(fp->vol);
	if (fp->proj)
		fp->g->cu.cuMemFree(fp->proj);
	if (fp->ev0)
		fp->g->cu.cuEventDestroy(fp->ev0);
	if (fp->ev1)
		fp->g->cu.cuEventDestroy(fp->ev1);
	free(fp->params);
	free(fp->staging);
	free(fp);
}

#else

int kk_gpu_fp_create(struct kk_gpu_fp **fp, struct kk_gpu *g,
		     const struct kk_geometry *geo,
		     const struct kk_gpu_proj_opts *o, const float *vol,
		     struct kk_error *err)
{
	*fp = NULL;
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

int kk_gpu_fp_run(struct kk_gpu_fp *fp, struct kk_proj_chunk *out,
		  struct kk_error *err)
{
	return kk_fail(err, KK_ERUNTIME, "no GPU backend in this build");
}

void kk_gpu_fp_free(struct kk_gpu_fp *fp)
{
}

double kk_gpu_fp_kernel_ms(const struct kk_gpu_fp *fp)
{
	return 0;
}

#endif
