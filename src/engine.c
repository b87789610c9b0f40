/*
 * engine.c: the engines' entry points (see engine.h): the CPU's or the
 * GPU's implementation, behind one table of operations.
 */
#include "config.h"
#include "engine.h"
#include "budget.h"

#include <stdlib.h>

/*
 * $KKIT_TEST_ENGINE_LIMIT (a size): engines whose buffers need more fail
 * as if the device had run out of memory, so that the tests can see the
 * executors plan for less and try again, on any device.
 */
static int test_limit(uint64_t bytes, struct kk_error *err)
{
	const char *s = getenv("KKIT_TEST_ENGINE_LIMIT");
	struct kk_error ignored = {0};
	uint64_t limit;

	if (!s || kk_parse_size(s, "KKIT_TEST_ENGINE_LIMIT", &limit,
				&ignored) || bytes <= limit)
		return 0;
	return kk_fail(err, KK_ENOMEM, "out of memory for %llu bytes of "
		       "buffers (KKIT_TEST_ENGINE_LIMIT=%s)",
		       (unsigned long long)bytes, s);
}

int kk_fp_engine_create(struct kk_fp_engine **e, struct kk_device *d,
			const struct kk_geometry *g,
			const struct kk_fp_layout *l, struct kk_error *err)
{
	uint64_t bytes = (uint64_t)(l->nvol * l->slices * g->vol.nx *
				    g->vol.ny) * 4 +
			 (uint64_t)(l->nproj * l->views * g->nrows *
				    g->ncols) * 4;

	*e = NULL;
	if (test_limit(bytes, err))
		return err->code;
	if (kk_device_on_gpu(d))
		return kk_gpu_fp_engine(e, d, g, l, err);
	return kk_cpu_fp_engine(e, d, g, l, err);
}

void kk_fp_engine_free(struct kk_fp_engine *e)
{
	if (e)
		e->ops->destroy(e);
}

int kk_fp_upload(struct kk_fp_engine *e, int vol, int64_t at, int64_t nz,
		 struct kk_hbuf *hb, struct kk_error *err)
{
	if (vol < 0 || vol >= e->layout.nvol || at < 0 ||
	    at + nz > e->layout.slices)
		return kk_fail(err, KK_ERUNTIME, "internal error: upload of "
			       "slices %lld + %lld into volume buffer %d",
			       (long long)at, (long long)nz, vol);
	return e->ops->upload(e, vol, at, nz, hb, err);
}

int kk_fp_clear(struct kk_fp_engine *e, int proj, int64_t nviews,
		struct kk_error *err)
{
	return e->ops->clear(e, proj, nviews, err);
}

int kk_fp_run(struct kk_fp_engine *e, const struct kk_fp_job *job,
	      struct kk_error *err)
{
	const struct kk_geometry *g = e->geo;

	if (job->vol < 0 || job->vol >= e->layout.nvol || job->proj < 0 ||
	    job->proj >= e->layout.nproj || job->zlo < job->base ||
	    job->zhi > job->base + e->layout.slices || job->zlo < 0 ||
	    job->zhi > g->vol.nz || job->nviews > e->layout.views ||
	    job->view0 < 0 || job->view0 + job->nviews > g->nviews ||
	    job->row_lo < 0 || job->row_hi > g->nrows)
		return kk_fail(err, KK_ERUNTIME, "internal error: fp of "
			       "slices %lld to %lld, views %lld + %lld, rows "
			       "%lld to %lld", (long long)job->zlo,
			       (long long)job->zhi, (long long)job->view0,
			       (long long)job->nviews, (long long)job->row_lo,
			       (long long)job->row_hi);
	return e->ops->run(e, job, err);
}

int kk_fp_download(struct kk_fp_engine *e, int proj, int64_t nviews,
		   struct kk_hbuf *hb, struct kk_error *err)
{
	return e->ops->download(e, proj, nviews, hb, err);
}

bool kk_fp_idle(struct kk_fp_engine *e)
{
	return e->ops->idle(e);
}

int kk_bp_engine_create(struct kk_bp_engine **e, struct kk_device *d,
			const struct kk_geometry *g,
			const struct kk_bp_layout *l, struct kk_error *err)
{
	uint64_t bytes = (uint64_t)(l->nvol * l->slices * g->vol.nx *
				    g->vol.ny) * 4 +
			 (uint64_t)(l->nproj * l->views * l->rows *
				    g->ncols) * 4;

	*e = NULL;
	if (l->axes.where[KK_COL] != 2)
		return kk_fail(err, KK_ERUNTIME, "internal error: bp engine "
			       "for projections without col last");
	if (test_limit(bytes, err))
		return err->code;
	if (kk_device_on_gpu(d))
		return kk_gpu_bp_engine(e, d, g, l, err);
	return kk_cpu_bp_engine(e, d, g, l, err);
}

void kk_bp_engine_free(struct kk_bp_engine *e)
{
	if (e)
		e->ops->destroy(e);
}

int kk_bp_clear(struct kk_bp_engine *e, int vol, struct kk_error *err)
{
	return e->ops->clear(e, vol, err);
}

int kk_bp_upload(struct kk_bp_engine *e, int proj, int64_t view0,
		 int64_t nviews, int64_t row0,
		 const struct kk_fresh_rows *fresh, struct kk_hbuf *hb,
		 struct kk_error *err)
{
	const struct kk_geometry *g = e->geo;

	if (proj < 0 || proj >= e->layout.nproj || nviews > e->layout.views ||
	    view0 < 0 || view0 + nviews > g->nviews || row0 < 0 ||
	    row0 + e->layout.rows > g->nrows)
		return kk_fail(err, KK_ERUNTIME, "internal error: upload of "
			       "views %lld + %lld, rows from %lld into "
			       "projection buffer %d", (long long)view0,
			       (long long)nviews, (long long)row0, proj);
	return e->ops->upload(e, proj, view0, nviews, row0, fresh, hb, err);
}

int kk_bp_run(struct kk_bp_engine *e, const struct kk_bp_job *job,
	      struct kk_error *err)
{
	const struct kk_geometry *g = e->geo;

	if (job->vol < 0 || job->vol >= e->layout.nvol || job->proj < 0 ||
	    job->proj >= e->layout.nproj || job->z0 < 0 ||
	    job->z0 + job->nz > g->vol.nz || job->nz > e->layout.slices ||
	    job->nviews > e->layout.views || job->view0 < 0 ||
	    job->view0 + job->nviews > g->nviews || job->row0 < 0 ||
	    job->row0 + e->layout.rows > g->nrows)
		return kk_fail(err, KK_ERUNTIME, "internal error: bp of views "
			       "%lld + %lld, rows from %lld, into slices %lld "
			       "+ %lld", (long long)job->view0,
			       (long long)job->nviews, (long long)job->row0,
			       (long long)job->z0, (long long)job->nz);
	return e->ops->run(e, job, err);
}

int kk_bp_download(struct kk_bp_engine *e, int vol, int64_t at, int64_t nz,
		   struct kk_hbuf *hb, struct kk_error *err)
{
	if (vol < 0 || vol >= e->layout.nvol || at < 0 ||
	    at + nz > e->layout.slices)
		return kk_fail(err, KK_ERUNTIME, "internal error: download of "
			       "slices %lld + %lld of volume buffer %d",
			       (long long)at, (long long)nz, vol);
	return e->ops->download(e, vol, at, nz, hb, err);
}
