/*
 * projector.c: one interface over cpu_proj.c and the GPU projectors
 * (see projector.h), and the choice of device.
 */
#include "config.h"
#include "projector.h"
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kk_projector {
	const struct kk_geometry *geo;
	struct kk_device_opts o;
	struct kk_gpu *gpu;          /* NULL: the CPU */
	char name[320];
	const float *fp_vol;         /* CPU fp */
	float *bp_vol;               /* CPU bp */
	struct kk_gpu_fp *gfp;
	struct kk_gpu_bp *gbp;
};

void kk_device_opts_default(struct kk_device_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->device = KK_DEVICE_AUTO;
	o->threads = kk_cpu_count();
	kk_gpu_proj_opts_default(&o->gpu_opts);
}

int kk_projector_open(struct kk_projector **out,
		      const struct kk_geometry *g,
		      const struct kk_device_opts *o, struct kk_error *err)
{
	struct kk_projector *p = calloc(1, sizeof(*p));
	struct kk_error why = {0};
	int rc;

	*out = NULL;
	if (!p)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	p->geo = g;
	p->o = *o;
	if (o->device != KK_DEVICE_CPU) {
		rc = kk_gpu_open(&p->gpu, o->gpu, &o->kernels, &why);
		if (rc && (o->device == KK_DEVICE_GPU || rc == KK_EUSAGE)) {
			*err = why;
			free(p);
			return rc;
		}
		if (rc)
			kk_msg_note("%s; computing on the CPU", why.msg);
	}
	if (p->gpu)
		kk_gpu_describe(p->gpu, p->name, sizeof(p->name));
	else
		snprintf(p->name, sizeof(p->name), "cpu, %d thread%s",
			 o->threads, o->threads == 1 ? "" : "s");
	*out = p;
	return 0;
}

void kk_projector_close(struct kk_projector *p)
{
	if (!p)
		return;
	kk_gpu_fp_free(p->gfp);
	kk_gpu_bp_free(p->gbp);
	kk_gpu_close(p->gpu);
	free(p);
}

const char *kk_projector_name(const struct kk_projector *p)
{
	return p->name;
}

bool kk_projector_on_gpu(const struct kk_projector *p)
{
	return p->gpu != NULL;
}

int kk_projector_fp_begin(struct kk_projector *p, const float *vol,
			  struct kk_error *err)
{
	p->fp_vol = vol;
	if (!p->gpu)
		return 0;
	kk_gpu_fp_free(p->gfp);
	p->gfp = NULL;
	return kk_gpu_fp_create(&p->gfp, p->gpu, p->geo, &p->o.gpu_opts, vol,
				err);
}

int kk_projector_fp(struct kk_projector *p, struct kk_proj_chunk *out,
		    struct kk_progress *progress, struct kk_error *err)
{
	int rc;

	if (!p->gpu)
		return kk_cpu_fp(p->geo, p->fp_vol, out, p->o.threads,
				 progress, err);
	rc = kk_gpu_fp_run(p->gfp, out, err);
	if (!rc && progress)
		kk_progress_add(progress, (double)out->nviews);
	return rc;
}

int kk_projector_bp_begin(struct kk_projector *p, float *vol,
			  struct kk_error *err)
{
	const struct kk_volume_geom *v = &p->geo->vol;

	p->bp_vol = vol;
	if (!p->gpu) {
		memset(vol, 0, (size_t)v->nx * v->ny * v->nz * sizeof(float));
		return 0;
	}
	kk_gpu_bp_free(p->gbp);
	p->gbp = NULL;
	return kk_gpu_bp_create(&p->gbp, p->gpu, p->geo, &p->o.gpu_opts,
				err);
}

int kk_projector_bp(struct kk_projector *p, const struct kk_proj_chunk *in,
		    struct kk_progress *progress, struct kk_error *err)
{
	int rc;

	if (!p->gpu)
		return kk_cpu_bp(p->geo, in, p->bp_vol, p->o.threads, progress,
				 err);
	rc = kk_gpu_bp_run(p->gbp, in, err);
	if (!rc && progress)
		kk_progress_add(progress, (double)in->nviews);
	return rc;
}

int kk_projector_bp_end(struct kk_projector *p, float *vol,
			struct kk_error *err)
{
	if (!p->gpu) {
		if (vol != p->bp_vol) {
			const struct kk_volume_geom *v = &p->geo->vol;

			memcpy(vol, p->bp_vol, (size_t)v->nx * v->ny * v->nz *
			       sizeof(float));
		}
		return 0;
	}
	return kk_gpu_bp_result(p->gbp, vol, err);
}
