/*
 * streamtest.h: what the tests of streamed runs share: a CPU device,
 * stacks written and read whole, and a streamed fp or bp (fbp when the
 * options carry its setup) from one file to another, as the commands
 * run them.  Header-only, like testutil.h.
 */
#ifndef KK_STREAMTEST_H
#define KK_STREAMTEST_H

#include "device.h"
#include "io.h"
#include "stream.h"
#include "testutil.h"

static inline struct kk_device *cpu(void)
{
	struct kk_device_opts o;
	struct kk_device *d;
	struct kk_error err = {0};

	kk_device_opts_default(&o);
	o.device = KK_DEVICE_CPU;
	o.threads = 2;
	ck_assert(!kk_device_open(&d, &o, &err));
	return d;
}

static inline void write_stack(const char *path, const int64_t dims[3],
			const float *data)
{
	struct kk_write_opts wo;
	struct kk_writer *w;
	struct kk_error err = {0};

	memset(&wo, 0, sizeof(wo));
	wo.dtype = KK_F32;
	wo.force = true;
	wo.page_prefix = "p";
	wo.prov.kind = "test";
	ck_assert_msg(!kk_writer_create(&w, path, dims, -1, &wo, &err), "%s",
		      err.msg);
	ck_assert(!kk_writer_write(w, 0, 0, dims[0], data, &err));
	ck_assert_msg(!kk_writer_commit(w, &err), "%s", err.msg);
}

static inline float *read_stack(const char *path, const int64_t dims[3])
{
	struct kk_reader *r;
	struct kk_error err = {0};
	float *a = tu_floats(dims[0] * dims[1] * dims[2]);

	ck_assert_msg(!kk_reader_open(&r, path, &err), "%s", err.msg);
	ck_assert_msg(!kk_reader_expect(r, dims, -1, "a stack", "a,b,c",
					&err), "%s", err.msg);
	ck_assert(!kk_reader_read(r, 0, 0, dims[0], a, &err));
	kk_reader_close(r);
	return a;
}

/*
 * fp (or bp) from the file in to the file out on device d, as the
 * commands run it; the input's count of values that are not finite goes
 * to *nonfinite.  The output is committed when the run succeeds.
 */
static inline int stream_files(struct kk_device *d,
			       const struct kk_geometry *g, bool fp,
			       const char *in, const char *out,
			       const struct kk_stream_opts *o,
			       struct kk_stream_stats *st,
			       int64_t *nonfinite, struct kk_error *err)
{
	int64_t vdims[3], pdims[3];
	struct kk_write_opts wo;
	struct kk_reader *r;
	struct kk_writer *w;
	int rc;

	kk_geometry_volume_dims(g, vdims);
	kk_geometry_proj_dims(g, &o->axes, pdims);
	memset(&wo, 0, sizeof(wo));
	wo.dtype = KK_F32;
	wo.force = true;
	wo.page_prefix = "p";
	wo.prov.kind = "test";
	ck_assert_msg(!kk_reader_open(&r, in, err), "%s", err->msg);
	ck_assert_msg(!kk_reader_expect(r, fp ? vdims : pdims, -1, "a stack",
					"?", err), "%s", err->msg);
	ck_assert_msg(!kk_writer_create(&w, out, fp ? pdims : vdims, -1, &wo,
					err), "%s", err->msg);
	rc = fp ? kk_stream_fp(d, g, r, w, o, NULL, st, err)
		: kk_stream_bp(d, g, r, w, o, NULL, st, err);
	if (!rc)
		rc = kk_writer_commit(w, err);
	else
		kk_writer_abort(w);
	if (nonfinite)
		*nonfinite = kk_reader_stats(r)->nonfinite;
	kk_reader_close(r);
	return rc;
}

#endif
