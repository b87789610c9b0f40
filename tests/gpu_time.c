/*
 * gpu_time.c: kernel times of the GPU engines on random data, for the
 * notes in doc/gpu-notes.md (kkit bench will do this properly): the
 * median of 5 runs after a warm-up, from CUDA events, and GUPS (voxels
 * times views per second, 1e9).  Not a test: it prints numbers.
 *
 *   gpu_time [N [VIEWS [DET]]]      (default 256 256 384)
 */
#include "config.h"
#include "device.h"
#include "engine.h"
#include "gpu_proj.h"
#include "testutil.h"

#ifdef HAVE_CUDA_HEADERS

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
	qsort(t, n, sizeof(*t), cmp);
	return t[n / 2];
}

/* The median time of 5 runs (after one) of fn on the compute stream. */
static double time_runs(struct kk_gpu *gpu, int (*fn)(void *), void *arg)
{
	struct kk_error err = {0};
	CUevent e0, e1;
	double ms[5];
	float t;
	int r;

	KK_CU(gpu, &err, cuEventCreate, &e0, CU_EVENT_DEFAULT);
	KK_CU(gpu, &err, cuEventCreate, &e1, CU_EVENT_DEFAULT);
	for (r = -1; r < 5; r++) {
		KK_CU(gpu, &err, cuEventRecord, e0, gpu->stream);
		if (fn(arg))
			return -1;
		KK_CU(gpu, &err, cuEventRecord, e1, gpu->stream);
		KK_CU(gpu, &err, cuEventSynchronize, e1);
		KK_CU(gpu, &err, cuEventElapsedTime, &t, e0, e1);
		if (r >= 0)
			ms[r] = t;
	}
	gpu->cu.cuEventDestroy(e0);
	gpu->cu.cuEventDestroy(e1);
	return median(ms, 5);
}

struct fp_case {
	struct kk_fp_engine *e;
	struct kk_fp_job job;
};

static int run_fp(void *arg)
{
	struct fp_case *c = arg;
	struct kk_error err = {0};

	if (!kk_fp_run(c->e, &c->job, &err))
		return 0;
	printf("%s\n", err.msg);
	return -1;
}

struct bp_case {
	struct kk_bp_engine *e;
	struct kk_bp_job job;
};

static int run_bp(void *arg)
{
	struct bp_case *c = arg;
	struct kk_error err = {0};

	if (!kk_bp_run(c->e, &c->job, &err))
		return 0;
	printf("%s\n", err.msg);
	return -1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 256;
	int views = argc > 2 ? atoi(argv[2]) : 256;
	int det = argc > 3 ? atoi(argv[3]) : n * 3 / 2;
	const char *types[2] = {"cone", "parallel3d"};
	struct kk_device_opts o;
	struct kk_error err = {0};
	struct kk_device *dev;
	char json[1024];
	int t, v;

	kk_device_opts_default(&o);
	o.device = KK_DEVICE_GPU;
	if (kk_device_open(&dev, &o, &err)) {
		printf("no GPU: %s\n", err.msg);
		return 77;
	}
	printf("%s; %d^3 voxels, %d views of %d^2\n", dev->name, n, views,
	       det);
	for (t = 0; t < 2; t++) {
		struct kk_geometry g;
		int64_t nv = (int64_t)n * n * n, np = (int64_t)views * det * det;
		double gu = (double)nv * views / 1e9, ms;
		struct kk_hbuf hv, hp;

		snprintf(json, sizeof(json), "{\"volume\": {\"shape\": [%d, %d, "
			 "%d]}, \"projection\": {\"type\": \"%s\", \"detector\":"
			 " {\"shape\": [%d, %d], \"pixel_size\": %s}, "
			 "\"angles\": {\"start\": 0, \"stop\": 360, \"count\": "
			 "%d, \"unit\": \"degree\"}%s}}", n, n, n, types[t], det,
			 det, t ? "1.0" : "1.5", views,
			 t ? "" : ", \"source_origin\": 1500, "
			 "\"origin_detector\": 750");
		if (kk_geometry_parse(json, strlen(json), "gpu_time", NULL, 0,
				      &g, &err) ||
		    kk_hbuf_alloc(dev, &hv, nv * 4, true, &err) ||
		    kk_hbuf_alloc(dev, &hp, np * 4, true, &err)) {
			printf("%s\n", err.msg);
			return 1;
		}
		tu_random(hv.data, nv, 0.5, 1.5, 1);
		tu_random(hp.data, np, 0.5, 1.5, 2);
		for (v = 0; v < 4; v++) {
			const char *what;

			kk_gpu_proj_opts_default(&dev->gpu_opts);
			dev->gpu_opts.fp_texture = v == 1;
			dev->gpu_opts.vol_half = dev->gpu_opts.proj_half =
				v == 3;
			what = v == 0 ? "fp, loads" : v == 1 ? "fp, texture"
			       : v == 2 ? "bp" : "bp, float16";
			if (v < 2) {
				struct kk_fp_layout l = {n, 1, views, 1,
							 kk_axes_default};
				struct fp_case c;

				memset(&c, 0, sizeof(c));
				if (kk_fp_engine_create(&c.e, dev, &g, &l,
							&err) ||
				    kk_fp_upload(c.e, 0, 0, n, &hv, &err)) {
					printf("%s\n", err.msg);
					return 1;
				}
				c.job.nviews = views;
				c.job.zhi = n;
				c.job.row_hi = det;
				ms = time_runs(dev->gpu, run_fp, &c);
				kk_fp_engine_free(c.e);
			} else {
				struct kk_bp_layout l = {n, 1, views, det, 1,
							 kk_axes_default, NULL, 0};
				struct bp_case c;

				memset(&c, 0, sizeof(c));
				/* float16 storage times the same data as
				 * if it were: only the speed counts. */
				if (kk_bp_engine_create(&c.e, dev, &g, &l,
							&err) ||
				    kk_bp_upload(c.e, 0, 0, views, 0, NULL, &hp,
						 &err) ||
				    kk_bp_clear(c.e, 0, &err)) {
					printf("%s\n", err.msg);
					return 1;
				}
				c.job.nviews = views;
				c.job.nz = n;
				ms = time_runs(dev->gpu, run_bp, &c);
				kk_bp_engine_free(c.e);
			}
			if (ms < 0)
				return 1;
			printf("%-10s %-12s %9.2f ms %8.1f GUPS\n", types[t],
			       what, ms, gu / (ms / 1e3));
		}
		kk_hbuf_free(&hv);
		kk_hbuf_free(&hp);
		kk_geometry_release(&g);
	}
	kk_device_close(dev);
	return 0;
}

#else

int main(void)
{
	return 77;
}

#endif
