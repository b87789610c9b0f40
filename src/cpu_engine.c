/*
 * cpu_engine.c: the engines of engine.h on the CPU: buffers in host
 * memory and the reference projectors of cpu_proj.c.  Every operation is
 * done when it returns.
 */
#include "config.h"
#include "cpu_proj.h"
#include "engine.h"
#include "fbp.h"
#include "flatfield.h"

#include <stdlib.h>
#include <string.h>

/* ---- forward projection -------------------------------------------- */

struct cpu_fp {
	struct kk_fp_engine base;
	float *vol, *proj;
	int64_t slice, view;        /* floats in a slice, a view */
};

static int cfp_upload(struct kk_fp_engine *e, int vol, int64_t at,
		      int64_t nz, struct kk_hbuf *hb, struct kk_error *err)
{
	struct cpu_fp *c = (struct cpu_fp *)e;

	memcpy(c->vol + (vol * e->layout.slices + at) * c->slice, hb->data,
	       (size_t)(nz * c->slice) * sizeof(float));
	return 0;
}

static int cfp_clear(struct kk_fp_engine *e, int proj, int64_t nviews,
		     struct kk_error *err)
{
	struct cpu_fp *c = (struct cpu_fp *)e;

	memset(c->proj + proj * e->layout.views * c->view, 0,
	       (size_t)(nviews * c->view) * sizeof(float));
	return 0;
}

static int cfp_run(struct kk_fp_engine *e, const struct kk_fp_job *job,
		   struct kk_error *err)
{
	struct cpu_fp *c = (struct cpu_fp *)e;
	const struct kk_geometry *g = e->geo;
	struct kk_vol_slab slab;
	struct kk_proj_chunk out;
	struct kk_cpu_run run;
	double t0;
	int rc;

	slab.data = c->vol + (job->vol * e->layout.slices + job->zlo -
			      job->base) * c->slice;
	slab.z0 = job->zlo;
	slab.nz = job->zhi - job->zlo;
	out.data = c->proj + job->proj * e->layout.views * c->view;
	out.view0 = job->view0;
	out.nviews = job->nviews;
	out.row0 = 0;
	out.nrows = g->nrows;
	out.axes = e->layout.axes;
	kk_cpu_run_default(&run);
	run.nthreads = e->dev->threads;
	run.accumulate = job->accumulate;
	run.row_lo = job->row_lo;
	run.row_hi = job->row_hi;
	run.progress = job->progress;
	run.units = job->units;
	t0 = kk_now();
	rc = kk_cpu_fp_slab(g, &slab, &out, &run, err);
	kk_device_add_kernel_time(e->dev, kk_now() - t0);
	return rc;
}

static int cfp_download(struct kk_fp_engine *e, int proj, int64_t nviews,
			struct kk_hbuf *hb, struct kk_error *err)
{
	struct cpu_fp *c = (struct cpu_fp *)e;

	memcpy(hb->data, c->proj + proj * e->layout.views * c->view,
	       (size_t)(nviews * c->view) * sizeof(float));
	return 0;
}

static bool cfp_idle(struct kk_fp_engine *e)
{
	return true; /* runs are done when they return */
}

static void cfp_destroy(struct kk_fp_engine *e)
{
	struct cpu_fp *c = (struct cpu_fp *)e;

	free(c->vol);
	free(c->proj);
	free(c);
}

static const struct kk_fp_engine_ops cpu_fp_ops = {
	cfp_upload, cfp_clear, cfp_run, cfp_download, cfp_idle, cfp_destroy,
};

int kk_cpu_fp_engine(struct kk_fp_engine **out, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_fp_layout *l, struct kk_error *err)
{
	struct cpu_fp *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	c->base.ops = &cpu_fp_ops;
	c->base.dev = d;
	c->base.geo = g;
	c->base.layout = *l;
	c->slice = g->vol.nx * g->vol.ny;
	c->view = g->nrows * g->ncols;
	c->vol = kk_alloc_floats(l->nvol * l->slices * c->slice, "volume",
				 err);
	if (c->vol)
		c->proj = kk_alloc_floats(l->nproj * l->views * c->view,
					  "projections", err);
	if (!c->proj) {
		cfp_destroy(&c->base);
		return err->code;
	}
	*out = &c->base;
	return 0;
}

/* ---- backprojection ------------------------------------------------ */

struct cpu_bp {
	struct kk_bp_engine base;
	float *vol, *proj;
	int64_t slice, view;        /* floats in a slice, a buffer's view */
};

static int cbp_clear(struct kk_bp_engine *e, int vol, struct kk_error *err)
{
	struct cpu_bp *c = (struct cpu_bp *)e;

	memset(c->vol + vol * e->layout.slices * c->slice, 0,
	       (size_t)(e->layout.slices * c->slice) * sizeof(float));
	return 0;
}

static int cbp_upload(struct kk_bp_engine *e, int proj, int64_t view0,
		      int64_t nviews, int64_t row0,
		      const struct kk_fresh_rows *fresh, struct kk_hbuf *hb,
		      struct kk_error *err)
{
	struct cpu_bp *c = (struct cpu_bp *)e;
	const struct kk_fbp *f = e->layout.fbp;
	float *buf = c->proj + proj * e->layout.views * c->view;
	double t0;
	int rc = 0;

	memcpy(buf, hb->data, (size_t)(nviews * c->view) * sizeof(float));
	if (!f)
		return 0;
	t0 = kk_now();
	if (f->ff)
		rc = kk_flatfield_apply(f->ff, buf, &e->layout.axes, nviews,
					row0, e->layout.rows, fresh,
					e->dev->threads, err);
	if (!rc)
		rc = kk_fbp_filter_cpu(f, buf, &e->layout.axes, view0,
				       nviews, row0, e->layout.rows,
				       e->dev->threads, err);
	kk_device_add_kernel_time(e->dev, kk_now() - t0);
	return rc;
}

static int cbp_run(struct kk_bp_engine *e, const struct kk_bp_job *job,
		   struct kk_error *err)
{
	struct cpu_bp *c = (struct cpu_bp *)e;
	struct kk_vol_slab slab;
	struct kk_proj_chunk in;
	struct kk_cpu_run run;
	double t0;
	int rc;

	slab.data = c->vol + job->vol * e->layout.slices * c->slice;
	slab.z0 = job->z0;
	slab.nz = job->nz;
	in.data = c->proj + job->proj * e->layout.views * c->view;
	in.view0 = job->view0;
	in.nviews = job->nviews;
	in.row0 = job->row0;
	in.nrows = e->layout.rows;
	in.axes = e->layout.axes;
	kk_cpu_run_default(&run);
	run.nthreads = e->dev->threads;
	run.progress = job->progress;
	run.units = job->units;
	run.fdk = e->layout.fbp && e->layout.fbp->cone;
	t0 = kk_now();
	rc = kk_cpu_bp_slab(e->geo, &in, &slab, &run, err);
	kk_device_add_kernel_time(e->dev, kk_now() - t0);
	return rc;
}

static int cbp_download(struct kk_bp_engine *e, int vol, int64_t at,
			int64_t nz, struct kk_hbuf *hb, struct kk_error *err)
{
	struct cpu_bp *c = (struct cpu_bp *)e;

	memcpy(hb->data, c->vol + (vol * e->layout.slices + at) * c->slice,
	       (size_t)(nz * c->slice) * sizeof(float));
	return 0;
}

static void cbp_destroy(struct kk_bp_engine *e)
{
	struct cpu_bp *c = (struct cpu_bp *)e;

	free(c->vol);
	free(c->proj);
	free(c);
}

static const struct kk_bp_engine_ops cpu_bp_ops = {
	cbp_clear, cbp_upload, cbp_run, cbp_download, cbp_destroy,
};

int kk_cpu_bp_engine(struct kk_bp_engine **out, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_bp_layout *l, struct kk_error *err)
{
	struct cpu_bp *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	c->base.ops = &cpu_bp_ops;
	c->base.dev = d;
	c->base.geo = g;
	c->base.layout = *l;
	c->slice = g->vol.nx * g->vol.ny;
	c->view = l->rows * g->ncols;
	c->vol = kk_alloc_floats(l->nvol * l->slices * c->slice, "volume",
				 err);
	if (c->vol)
		c->proj = kk_alloc_floats(l->nproj * l->views * c->view,
					  "projections", err);
	if (!c->proj) {
		cbp_destroy(&c->base);
		return err->code;
	}
	*out = &c->base;
	return 0;
}
