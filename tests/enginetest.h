/*
 * enginetest.h: forward and back projections of whole arrays through
 * the engines of engine.h, in one piece or in slabs of the volume and
 * chunks of views with their row windows, as the streaming executors
 * cut them, for the tests.  Header-only, like testutil.h.
 */
#ifndef KK_ENGINETEST_H
#define KK_ENGINETEST_H

#include "engine.h"
#include "plan.h"
#include "testutil.h"

/* Views [v0, v0 + n), rows [r0, r0 + nr) of the full projections p
 * (axes order) to or from the dense chunk c (same order). */
static inline void te_copy_chunk(const struct kk_geometry *g,
				 const struct kk_axes *axes, float *p,
				 float *c, int64_t v0, int64_t n, int64_t r0,
				 int64_t nr, int to_chunk)
{
	int64_t len[3] = {g->nviews, g->nrows, g->ncols};
	int64_t sub[3] = {n, nr, g->ncols}, from[3] = {v0, r0, 0};
	int64_t i[3], dims[3], sdims[3];
	int a;

	for (a = 0; a < 3; a++) {
		dims[axes->where[a]] = len[a];
		sdims[axes->where[a]] = sub[a];
	}
	for (i[0] = 0; i[0] < n; i[0]++)
		for (i[1] = 0; i[1] < nr; i[1]++)
			for (i[2] = 0; i[2] < g->ncols; i[2]++) {
				int64_t at[3], sat[3], x, y;

				for (a = 0; a < 3; a++) {
					at[axes->where[a]] = i[a] + from[a];
					sat[axes->where[a]] = i[a];
				}
				x = (sat[0] * sdims[1] + sat[1]) * sdims[2] +
				    sat[2];
				y = (at[0] * dims[1] + at[1]) * dims[2] + at[2];
				if (to_chunk)
					c[x] = p[y];
				else
					p[y] = c[x];
			}
}

static inline void te_to_half(void *dst, const float *src, int64_t n)
{
	kk_convert_from_f32(dst, KK_F16, src, (size_t)n, NULL, NULL);
}

static inline void te_from_half(float *dst, const void *src, int64_t n)
{
	kk_convert_to_f32(dst, src, KK_F16, (size_t)n, NULL);
}

/*
 * Forward project vol into proj (all views, axes order) through an fp
 * engine: slabs of slab slices (slab >= nz: the whole volume, stored
 * over), chunks of chunk views, each slab computing only its rows.
 */
static inline int te_fp(struct kk_device *d, const struct kk_geometry *g,
			const struct kk_axes *axes, const float *vol,
			float *proj, int64_t slab, int64_t chunk,
			struct kk_error *err)
{
	const int64_t nz = g->vol.nz, slice = g->vol.nx * g->vol.ny;
	const int64_t view = g->nrows * g->ncols;
	const bool whole = slab >= nz;
	struct kk_fp_layout l = {whole ? nz : slab, whole ? 1 : 2, chunk, 2,
				 *axes};
	struct kk_fp_engine *e = NULL;
	struct kk_hbuf hv = {0}, hp = {0};
	struct kk_fp_job job;
	int64_t v0, z0, n, turn = 0;
	int rc;

	rc = kk_fp_engine_create(&e, d, g, &l, err);
	if (!rc)
		rc = kk_hbuf_alloc(d, &hv, (size_t)(l.slices * slice * 4),
				   true, err);
	if (!rc)
		rc = kk_hbuf_alloc(d, &hp, (size_t)(chunk * view * 4), true,
				   err);
	for (v0 = 0; !rc && v0 < g->nviews; v0 += chunk) {
		n = g->nviews - v0 < chunk ? g->nviews - v0 : chunk;
		memset(&job, 0, sizeof(job));
		job.proj = (int)(v0 / chunk % 2);
		job.view0 = v0;
		job.nviews = n;
		if (!whole)
			rc = kk_fp_clear(e, job.proj, n, err);
		for (z0 = 0; !rc && z0 < nz; z0 += l.slices) {
			int64_t nzs = nz - z0 < l.slices ? nz - z0 : l.slices;

			if (whole) {
				job.row_lo = 0;
				job.row_hi = g->nrows;
			} else {
				kk_rows_window(g, v0, n, z0, z0 + nzs,
					       &job.row_lo, &job.row_hi);
				if (job.row_lo == job.row_hi)
					continue;
			}
			job.vol = (int)(turn++ % l.nvol);
			job.base = job.zlo = z0;
			job.zhi = z0 + nzs;
			job.accumulate = !whole;
			if (!whole || v0 == 0) {
				rc = kk_hbuf_wait(&hv, err);
				if (rc)
					break;
				if (e->vol_half)
					te_to_half(hv.data, vol + z0 * slice,
						   nzs * slice);
				else
					memcpy(hv.data, vol + z0 * slice,
					       (size_t)(nzs * slice) * 4);
				rc = kk_fp_upload(e, job.vol, 0, nzs, &hv, err);
			}
			if (!rc)
				rc = kk_fp_run(e, &job, err);
		}
		if (!rc)
			rc = kk_fp_download(e, job.proj, n, &hp, err);
		if (!rc)
			rc = kk_hbuf_wait(&hp, err);
		if (!rc)
			te_copy_chunk(g, axes, proj, hp.data, v0, n, 0,
				      g->nrows, 0);
	}
	kk_fp_engine_free(e);
	kk_hbuf_free(&hv);
	kk_hbuf_free(&hp);
	return rc;
}

/*
 * Backproject proj (all views, axes order with col last) into vol
 * through a bp engine: slabs of slab slices, chunks of chunk views, each
 * (slab, chunk) given only the rows its window holds.
 */
static inline int te_bp(struct kk_device *d, const struct kk_geometry *g,
			const struct kk_axes *axes, float *proj, float *vol,
			int64_t slab, int64_t chunk, struct kk_error *err)
{
	const int64_t nz = g->vol.nz, slice = g->vol.nx * g->vol.ny;
	struct kk_bp_layout l = {slab < nz ? slab : nz, slab < nz ? 2 : 1,
				 chunk, 1, 2, *axes, NULL, 0};
	struct kk_bp_engine *e = NULL;
	struct kk_hbuf hv = {0}, hp = {0};
	struct kk_bp_job job;
	int64_t v0, z0, n, lo, hi, turn = 0;
	float *tmp;
	int rc;

	/* The tallest window. */
	for (z0 = 0; z0 < nz; z0 += l.slices)
		for (v0 = 0; v0 < g->nviews; v0 += chunk) {
			kk_rows_window(g, v0, g->nviews - v0 < chunk
				       ? g->nviews - v0 : chunk, z0,
				       z0 + l.slices < nz ? z0 + l.slices : nz,
				       &lo, &hi);
			if (hi - lo > l.rows)
				l.rows = hi - lo;
		}
	tmp = tu_floats(chunk * l.rows * g->ncols + l.slices * slice);
	rc = kk_bp_engine_create(&e, d, g, &l, err);
	if (!rc)
		rc = kk_hbuf_alloc(d, &hv, (size_t)(l.slices * slice * 4),
				   true, err);
	if (!rc)
		rc = kk_hbuf_alloc(d, &hp, (size_t)(chunk * l.rows *
						    g->ncols * 4), true, err);
	for (z0 = 0; !rc && z0 < nz; z0 += l.slices) {
		int64_t nzs = nz - z0 < l.slices ? nz - z0 : l.slices;
		int vol_buf = (int)(z0 / l.slices % l.nvol);

		rc = kk_bp_clear(e, vol_buf, err);
		for (v0 = 0; !rc && v0 < g->nviews; v0 += chunk) {
			n = g->nviews - v0 < chunk ? g->nviews - v0 : chunk;
			kk_rows_window(g, v0, n, z0, z0 + nzs, &lo, &hi);
			if (lo == hi)
				continue;
			memset(&job, 0, sizeof(job));
			job.proj = (int)(turn++ % 2);
			job.vol = vol_buf;
			job.view0 = v0;
			job.nviews = n;
			job.row0 = lo < g->nrows - l.rows ? lo
							  : g->nrows - l.rows;
			job.z0 = z0;
			job.nz = nzs;
			rc = kk_hbuf_wait(&hp, err);
			if (rc)
				break;
			te_copy_chunk(g, axes, proj, tmp, v0, n, job.row0,
				      l.rows, 1);
			if (e->proj_half)
				te_to_half(hp.data, tmp, n * l.rows * g->ncols);
			else
				memcpy(hp.data, tmp,
				       (size_t)(n * l.rows * g->ncols) * 4);
			rc = kk_bp_upload(e, job.proj, v0, n, job.row0, NULL,
					  &hp, err);
			if (!rc)
				rc = kk_bp_run(e, &job, err);
		}
		if (!rc)
			rc = kk_bp_download(e, vol_buf, 0, nzs, &hv, err);
		if (!rc)
			rc = kk_hbuf_wait(&hv, err);
		if (!rc && e->vol_half)
			te_from_half(vol + z0 * slice, hv.data, nzs * slice);
		else if (!rc)
			memcpy(vol + z0 * slice, hv.data,
			       (size_t)(nzs * slice) * 4);
	}
	kk_bp_engine_free(e);
	kk_hbuf_free(&hv);
	kk_hbuf_free(&hp);
	free(tmp);
	return rc;
}

#endif
