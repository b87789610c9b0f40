/*
 * gpu_time.c: kernel times of the GPU projectors on random data, for the
 * notes in doc/gpu-notes.md (kkit bench will do this properly): the
 * median of 5 runs after a warm-up, from CUDA events, and GUPS (voxels
 * times views per second, 1e9).  Not a test: it prints numbers.
 *
 *   gpu_time [N [VIEWS [DET]]]      (default 256 256 384)
 */
#include "config.h"
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

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 256;
	int views = argc > 2 ? atoi(argv[2]) : 256;
	int det = argc > 3 ? atoi(argv[3]) : n * 3 / 2;
	const char *types[2] = {"cone", "parallel3d"};
	struct kk_kernel_opts kopts = {0};
	struct kk_error err = {0};
	struct kk_gpu *gpu;
	char json[1024], desc[320];
	int t, v, r;

	if (kk_gpu_open(&gpu, 0, &kopts, &err)) {
		printf("no GPU: %s\n", err.msg);
		return 77;
	}
	kk_gpu_describe(gpu, desc, sizeof(desc));
	printf("%s; %d^3 voxels, %d views of %d^2\n", desc, n, views, det);
	for (t = 0; t < 2; t++) {
		struct kk_geometry g;
		struct kk_proj_chunk c;
		int64_t nv = (int64_t)n * n * n, np = (int64_t)views * det * det;
		float *vol = malloc(nv * 4);
		double gu = (double)nv * views / 1e9;

		snprintf(json, sizeof(json), "{\"volume\": {\"shape\": [%d, %d, "
			 "%d]}, \"projection\": {\"type\": \"%s\", \"detector\":"
			 " {\"shape\": [%d, %d], \"pixel_size\": %s}, "
			 "\"angles\": {\"start\": 0, \"stop\": 360, \"count\": "
			 "%d, \"unit\": \"degree\"}%s}}", n, n, n, types[t], det,
			 det, t ? "1.0" : "1.5", views,
			 t ? "" : ", \"source_origin\": 1500, "
			 "\"origin_detector\": 750");
		if (kk_geometry_parse(json, strlen(json), "gpu_time", NULL, 0,
				      &g, &err)) {
			printf("%s\n", err.msg);
			return 1;
		}
		c.data = malloc(np * 4);
		c.view0 = 0;
		c.nviews = views;
		c.axes = kk_axes_default;
		tu_random(vol, nv, 0.5, 1.5, 1);
		for (v = 0; v < 4; v++) {
			struct kk_gpu_proj_opts o;
			double ms[5], prev = 0;
			const char *what;

			kk_gpu_proj_opts_default(&o);
			o.fp_texture = v == 1;
			o.vol_half = o.proj_half = v == 3;
			what = v == 0 ? "fp, loads" : v == 1 ? "fp, texture"
			       : v == 2 ? "bp" : "bp, float16";
			if (v < 2) {
				struct kk_gpu_fp *fp;

				if (kk_gpu_fp_create(&fp, gpu, &g, &o, vol,
						     &err)) {
					printf("%s\n", err.msg);
					return 1;
				}
				for (r = -1; r < 5; r++) {
					if (kk_gpu_fp_run(fp, &c, &err)) {
						printf("%s\n", err.msg);
						return 1;
					}
					if (r >= 0)
						ms[r] = kk_gpu_fp_kernel_ms(fp) -
							prev;
					prev = kk_gpu_fp_kernel_ms(fp);
				}
				kk_gpu_fp_free(fp);
			} else {
				struct kk_gpu_bp *bp;

				tu_random(c.data, np, 0.5, 1.5, 2);
				if (kk_gpu_bp_create(&bp, gpu, &g, &o, &err)) {
					printf("%s\n", err.msg);
					return 1;
				}
				for (r = -1; r < 5; r++) {
					if (kk_gpu_bp_run(bp, &c, &err)) {
						printf("%s\n", err.msg);
						return 1;
					}
					if (r >= 0)
						ms[r] = kk_gpu_bp_kernel_ms(bp) -
							prev;
					prev = kk_gpu_bp_kernel_ms(bp);
				}
				kk_gpu_bp_free(bp);
			}
			printf("%-10s %-12s %9.2f ms %8.1f GUPS\n", types[t], what,
			       median(ms, 5), gu / (median(ms, 5) / 1e3));
		}
		free(vol);
		free(c.data);
		kk_geometry_release(&g);
	}
	kk_gpu_close(gpu);
	return 0;
}

#else

int main(void)
{
	return 77;
}

#endif
