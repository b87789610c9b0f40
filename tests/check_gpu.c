/*
 * check_gpu.c: the GPU projectors against the CPU reference, on random
 * data (never zeros) with poisoned outputs, for every geometry type,
 * both axis orders, float32 and float16 storage and both fp samplers;
 * any number of views; the element-wise kernels; SIRT and CGLS in-core
 * and streamed against the CPU; the kernel cache; no device memory
 * leaks.  Exit status 77 (skipped) where no GPU opens.
 *
 * The projections go through the engines (engine.h) whole, and also
 * in slabs of the volume and chunks of views with their row windows, as
 * the streaming executors cut them.
 *
 * Bounds: relative L2 error below 1e-4 for float32 storage and 2e-3 for
 * float16.  Hardware filtering keeps its weights in 8-bit fixed point,
 * so kernels that use it are compared with a CPU reference computing the
 * same weights (KK_INTERP_TEXTURE); their distance to the exact
 * reference is printed, not bounded.  fp's optional texture sampler
 * differs from that reference where a float32 coordinate on the GPU and
 * a double one on the CPU round to different 1/256 steps (measured up
 * to 1.4e-4 on an H200): its float32 bound is 3e-4.
 */
#include "config.h"
#include "cpu_proj.h"
#include "device.h"
#include "enginetest.h"
#include "gpu_proj.h"
#include "kernels.h"
#include "testutil.h"
#include "streamtest.h"
#include "fbp.h"
#include "flatfield.h"
#include "phantom.h"
#include "linop.h"

#ifdef HAVE_CUDA_HEADERS

static struct kk_device *dev;
static struct kk_gpu *gpu;
/* Hardware filtering is compared with the CPU's emulation of it. */
static const enum kk_interp tex_rule = KK_INTERP_TEXTURE;

static const char *const geometries[] = {
	"{\"volume\": {\"shape\": [20, 24, 28], \"voxel_size\": [1, 0.9, 1.1]},"
	"\"projection\": {\"type\": \"parallel3d\", \"detector\": {\"shape\": "
	"[22, 36], \"pixel_size\": [1.1, 0.95], \"offset\": [0.5, 1.5]}, "
	"\"angles\": {\"start\": 0, \"stop\": 180, \"count\": 33, \"unit\": "
	"\"degree\"}}}",
	"{\"volume\": {\"shape\": [20, 24, 28]}, \"projection\": {\"type\": "
	"\"parallel3d_vec\", \"detector\": {\"shape\": [26, 34]}, \"vectors\": "
	"[[0.3, -0.9, 0.3, 0, 0, 0, 0.95, 0.3, 0, -0.1, 0.3, 0.95],"
	"[0.9, 0.3, 0.3, 1, 0, 0, -0.3, 0.95, 0, -0.3, -0.1, 0.95],"
	"[0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0],"
	"[-0.6, 0.8, 0.1, 0, 2, 0, -0.8, -0.6, 0, 0, 0.1, 1.0]]}}",
	"{\"volume\": {\"shape\": [20, 24, 28], \"voxel_size\": [0.8, 0.7, 0.9]},"
	"\"projection\": {\"type\": \"cone\", \"detector\": {\"shape\": "
	"[24, 40], \"pixel_size\": 1.2, \"offset\": [-1, 2]}, \"angles\": "
	"{\"start\": 0, \"stop\": 360, \"count\": 31, \"unit\": \"degree\"},"
	"\"source_origin\": 60, \"origin_detector\": 30}}",
	"{\"volume\": {\"shape\": [20, 24, 28]}, \"projection\": {\"type\": "
	"\"cone_vec\", \"detector\": {\"shape\": [30, 44]}, \"vectors\": "
	"[[0, -70, 5, 0, 40, -5, 1.2, 0, 0, 0, 0, 1.2],"
	"[70, 0, -5, -40, 0, 5, 0, 1.1, 0.1, 0, -0.1, 1.2],"
	"[5, 3, -60, -2, 1, 40, 1.2, 0, 0, 0, 1.2, 0],"
	"[-50, 50, 0, 30, -30, 0, -0.85, -0.85, 0, 0, 0, 1.2]]}}",
	"{\"volume\": {\"shape\": [40, 36], \"voxel_size\": [0.9, 1.1]},"
	"\"projection\": {\"type\": \"parallel\", \"detector\": {\"shape\": 60,"
	"\"pixel_size\": 0.9, \"offset\": 1.25}, \"angles\": {\"start\": 0, "
	"\"stop\": 180, \"count\": 37, \"unit\": \"degree\"}}}",
	"{\"volume\": {\"shape\": [40, 36]}, \"projection\": {\"type\": "
	"\"parallel_vec\", \"detector\": {\"shape\": 64}, \"vectors\": "
	"[[0.6, -0.8, 1, 0, 0.8, 0.6], [-0.8, -0.6, 0, 2, 0.6, -0.8],"
	"[1, 0, 0, 0, 0, 1.1]]}}",
	"{\"volume\": {\"shape\": [40, 36]}, \"projection\": {\"type\": "
	"\"fanflat\", \"detector\": {\"shape\": 64, \"pixel_size\": 1.3},"
	"\"angles\": {\"start\": 0, \"stop\": 360, \"count\": 35, \"unit\": "
	"\"degree\"}, \"source_origin\": 70, \"origin_detector\": 40}}",
	"{\"volume\": {\"shape\": [40, 36]}, \"projection\": {\"type\": "
	"\"fanflat_vec\", \"detector\": {\"shape\": 72}, \"vectors\": "
	"[[0, -80, 0, 40, 1.2, 0], [80, 10, -40, 0, 0.1, 1.2],"
	"[-60, 60, 30, -30, -0.9, -0.9]]}}",
};
#define NGEOM ((int)(sizeof(geometries) / sizeof(geometries[0])))

static void round_to_half(float *a, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++)
		a[i] = kk_f16_to_f32(kk_f32_to_f16(a[i]));
}

static void poison(float *a, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++)
		a[i] = NAN;
}

static double rel_l2(const float *got, const float *ref, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(isfinite(got[i]), "element %lld is %g (never "
			      "written?)", (long long)i, got[i]);
	return tu_rel_l2(got, ref, n);
}

/* The kernel "probe" of a test source, compiled for this GPU. */
static CUfunction load_probe(const char *file, const char *src,
			     CUmodule *mod)
{
	struct kk_kernel_text t = {0};
	struct kk_error err = {0};
	CUfunction fn;
	void *cubin;
	size_t size;

	t.file = file;
	t.source = (char *)src;
	strcpy(t.origin, "test");
	ck_assert_msg(kk_kernel_compile(&gpu->nv, &t, "", gpu->cc_major * 10 +
					gpu->cc_minor, &cubin, &size, &err) == 0,
		      "%s", err.msg);
	ck_assert(!KK_CU(gpu, &err, cuModuleLoadData, mod, cubin));
	ck_assert(!KK_CU(gpu, &err, cuModuleGetFunction, &fn, *mod, "probe"));
	free(cubin);
	return fn;
}

/* The texture unit's weight for fraction f: rounded to the nearest
 * 1/256, ties up, as KK_INTERP_TEXTURE assumes; near texel 0, 37 and
 * 1000 (the fraction of a large coordinate may be worked out otherwise). */
START_TEST(texture_weights)
{
	static const char *src =
		"extern \"C\" __global__ void probe(float *out, "
		"cudaTextureObject_t t, int n, int base)\n"
		"{ int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
		"  if (i < n) out[i] = tex2DLayered<float>(t, base + 0.5f + "
		"(float)i / n, 0.5f, 0); }\n";
	const int n = 8192, bases[3] = {0, 37, 1000};
	struct kk_error err = {0};
	CUDA_ARRAY3D_DESCRIPTOR ad = {0};
	CUDA_MEMCPY3D cp = {0};
	float *texels = calloc(2048, sizeof(float)), *out = tu_floats(n);
	int even, up, trunc, i, count = n, base, k;
	void *args[4];
	CUmodule mod;
	CUfunction fn;
	CUarray array;
	CUtexObject tex;
	CUdeviceptr d;

	fn = load_probe("probe.cu", src, &mod);
	ad.Width = 2048;
	ad.Height = 1;
	ad.Depth = 1;
	ad.Format = CU_AD_FORMAT_FLOAT;
	ad.NumChannels = 1;
	ad.Flags = CUDA_ARRAY3D_LAYERED;
	ck_assert(!KK_CU(gpu, &err, cuArray3DCreate, &array, &ad));
	ck_assert(!kk_gpu_texture(gpu, array, &tex, &err));
	ck_assert(!KK_CU(gpu, &err, cuMemAlloc, &d, n * 4));
	for (k = 0; k < 3; k++) {
		base = bases[k];
		memset(texels, 0, 2048 * sizeof(float));
		texels[base + 1] = 1;
		memset(&cp, 0, sizeof(cp));
		cp.srcMemoryType = CU_MEMORYTYPE_HOST;
		cp.srcHost = texels;
		cp.srcPitch = 2048 * 4;
		cp.srcHeight = 1;
		cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
		cp.dstArray = array;
		cp.WidthInBytes = 2048 * 4;
		cp.Height = 1;
		cp.Depth = 1;
		ck_assert(!KK_CU(gpu, &err, cuMemcpy3D, &cp));
		args[0] = &d;
		args[1] = &tex;
		args[2] = &count;
		args[3] = &base;
		ck_assert(!kk_gpu_launch(gpu, fn, n / 256, 1, 1, 256, 1, args,
					 &err));
		ck_assert(!KK_CU(gpu, &err, cuStreamSynchronize, gpu->stream));
		ck_assert(!KK_CU(gpu, &err, cuMemcpyDtoH, out, d, n * 4));
		even = up = trunc = 0;
		for (i = 0; i < n; i++) {
			/* The fraction of the coordinate as a float holds
			 * it: base + 0.5 + i/n, less base + 0.5. */
			double f = (double)(base + 0.5f + (float)i / n) -
				   base - 0.5;

			even += out[i] == (float)(rint(f * 256) / 256);
			up += out[i] == (float)(floor(f * 256 + 0.5) / 256);
			trunc += out[i] == (float)(floor(f * 256) / 256);
		}
		printf("texture weights near texel %d, of %d: %d nearest 1/256 "
		       "ties to even, %d ties up, %d truncated\n", base, n,
		       even, up, trunc);
		ck_assert_msg(up == n, "the texture unit does not round its "
			      "weights as KK_INTERP_TEXTURE assumes");
	}
	gpu->cu.cuMemFree(d);
	gpu->cu.cuTexObjectDestroy(tex);
	gpu->cu.cuArrayDestroy(array);
	gpu->cu.cuModuleUnload(mod);
	free(out);
	free(texels);
}
END_TEST

/*
 * Two weights at once: a 2x2 texture that is 1 at one texel and 0
 * elsewhere gives the weight of that texel as the unit computes it:
 * w11 = q(qa qb), the others by differences (KK_INTERP_TEXTURE).
 */
static double q256(double w)
{
	return floor(w * 256 + 0.5) / 256;
}

START_TEST(texture_weights_2d)
{
	static const char *src =
		"extern \"C\" __global__ void probe(float *out, "
		"cudaTextureObject_t t, int n, int three)\n"
		"{ int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
		"  float a = 0.5f + (i % n + 0.3f) / n, b = 0.5f + (i / n + "
		"0.3f) / n;\n"
		"  if (i < n * n) out[i] = three ? tex3D<float>(t, a, b, 0.5f)"
		" : tex2DLayered<float>(t, a, b, 0); }\n";
	const int n = 200;
	struct kk_error err = {0};
	CUDA_ARRAY3D_DESCRIPTOR ad = {0};
	CUDA_MEMCPY3D cp = {0};
	float texels[8], *out = tu_floats(n * n);
	int i, count = n, texel, three, c[4][3];
	void *args[4];
	CUmodule mod;
	CUfunction fn;
	CUarray array;
	CUtexObject tex;
	CUdeviceptr d;

	fn = load_probe("probe2.cu", src, &mod);
	ck_assert(!KK_CU(gpu, &err, cuMemAlloc, &d, n * n * 4));
	for (three = 0; three < 2; three++) {
		memset(&ad, 0, sizeof(ad));
		ad.Width = 2;
		ad.Height = 2;
		ad.Depth = three ? 2 : 1;
		ad.Format = CU_AD_FORMAT_FLOAT;
		ad.NumChannels = 1;
		ad.Flags = three ? 0 : CUDA_ARRAY3D_LAYERED;
		ck_assert(!KK_CU(gpu, &err, cuArray3DCreate, &array, &ad));
		ck_assert(!kk_gpu_texture(gpu, array, &tex, &err));
		memset(c, 0, sizeof(c));
		for (texel = 0; texel < 4; texel++) {
			memset(texels, 0, sizeof(texels));
			texels[texel] = 1;
			memset(&cp, 0, sizeof(cp));
			cp.srcMemoryType = CU_MEMORYTYPE_HOST;
			cp.srcHost = texels;
			cp.srcPitch = 8;
			cp.srcHeight = 2;
			cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
			cp.dstArray = array;
			cp.WidthInBytes = 8;
			cp.Height = 2;
			cp.Depth = three ? 2 : 1;
			ck_assert(!KK_CU(gpu, &err, cuMemcpy3D, &cp));
			args[0] = &d;
			args[1] = &tex;
			args[2] = &count;
			args[3] = &three;
			ck_assert(!kk_gpu_launch(gpu, fn, (n * n + 255) / 256,
						 1, 1, 256, 1, args, &err));
			ck_assert(!KK_CU(gpu, &err, cuStreamSynchronize,
					 gpu->stream));
			ck_assert(!KK_CU(gpu, &err, cuMemcpyDtoH, out, d,
					 n * n * 4));
			for (i = 0; i < n * n; i++) {
				float fa = (float)(0.5f + (i % n + 0.3f) / n) -
					   0.5f;
				float fb = (float)(0.5f + (i / n + 0.3f) / n) -
					   0.5f;
				double qa = q256(fa), qb = q256(fb);
				double wa = texel & 1 ? qa : 1 - qa;
				double wb = texel & 2 ? qb : 1 - qb;
				double w11 = q256(qa * qb), w;

				c[texel][0] += out[i] == (float)q256(wa * wb);
				c[texel][1] += out[i] == (float)(wa * wb);
				w = texel == 3 ? w11 : texel == 1 ? qa - w11
				    : texel == 2 ? qb - w11
				    : 1 - qa - qb + w11;
				c[texel][2] += out[i] == (float)w;
				if (three && i % 8001 == 7)
					printf("  3D texel %d a %.5f b %.5f: "
					       "%.8f (q(wa wb) %.8f, by sums "
					       "%.8f)\n", texel, fa, fb, out[i],
					       q256(wa * wb), w);
			}
			printf("%s texel %d weight, of %d: %d q(wa wb), %d wa "
			       "wb, %d from q(qa qb) by sums\n",
			       three ? "3D" : "2D layered", texel, n * n,
			       c[texel][0], c[texel][1], c[texel][2]);
			if (!three)
				ck_assert_int_eq(c[texel][2], n * n);
		}
		gpu->cu.cuTexObjectDestroy(tex);
		gpu->cu.cuArrayDestroy(array);
	}
	gpu->cu.cuMemFree(d);
	gpu->cu.cuModuleUnload(mod);
	free(out);
}
END_TEST

/* Cases: geometry x axis order x storage x fp sampler. */
struct variant {
	int geom;
	const struct kk_axes *axes;
	bool half;
	bool texture;
};

static struct variant variant_of(int i)
{
	struct variant v;

	v.geom = i % NGEOM;
	v.axes = (i / NGEOM) % 2 ? &kk_axes_astra : &kk_axes_default;
	v.half = (i / NGEOM / 2) % 2;
	v.texture = (i / NGEOM / 4) % 2;
	return v;
}

static const char *describe(const struct kk_geometry *g,
			    const struct variant *v)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s, %s, %s, %s",
		 kk_geom_type_name(g->type),
		 v->axes == &kk_axes_astra ? "row,angle,col" : "angle,row,col",
		 v->half ? "float16" : "float32",
		 v->texture ? "texture" : "loads");
	return buf;
}

/* Storage and sampler for the engines made next. */
static void set_opts(bool half, bool texture)
{
	kk_gpu_proj_opts_default(&dev->gpu_opts);
	dev->gpu_opts.vol_half = dev->gpu_opts.proj_half = half;
	dev->gpu_opts.fp_texture = texture;
}

static struct kk_proj_chunk whole_chunk(const struct kk_geometry *g,
					const struct kk_axes *axes)
{
	struct kk_proj_chunk c = {tu_floats(g->nviews * g->nrows * g->ncols),
				  0, g->nviews, 0, g->nrows, *axes};

	return c;
}

/* fp of the variant, cut in slabs and chunks when cut is set. */
static void check_fp(int i, bool cut)
{
	struct variant v = variant_of(i);
	struct kk_error err = {0};
	struct kk_geometry g;
	struct kk_proj_chunk ref;
	int64_t nv, np, slab, chunk;
	float *vol, *got;
	double e, exact;

	tu_geometry(&g, geometries[v.geom]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	vol = tu_floats(nv);
	tu_random(vol, nv, 0.5, 1.5, 100 + i);
	if (v.half)
		round_to_half(vol, nv);
	ref = whole_chunk(&g, v.axes);
	got = tu_floats(np);
	ck_assert(!kk_cpu_fp_interp(&g, vol, &ref, 2, v.texture ? tex_rule :
				    KK_INTERP_EXACT, NULL, &err));
	set_opts(v.half, v.texture && !cut);
	poison(got, np);
	slab = cut ? g.vol.nz / 3 + 1 : g.vol.nz;
	chunk = cut ? 5 : g.nviews;
	ck_assert_msg(!te_fp(dev, &g, v.axes, vol, got, slab, chunk, &err),
		      "%s", err.msg);
	e = rel_l2(got, ref.data, np);
	ck_assert(!kk_cpu_fp(&g, vol, &ref, 2, NULL, &err));
	exact = tu_rel_l2(got, ref.data, np);
	printf("fp %-45s%s %.2e (exact reference: %.2e)\n",
	       describe(&g, &v), cut ? " cut" : "", e, exact);
	ck_assert_msg(e < (v.half ? 2e-3 : v.texture ? 3e-4 : 1e-4),
		      "fp %s: relative L2 %g", describe(&g, &v), e);
	free(vol);
	free(ref.data);
	free(got);
	kk_geometry_release(&g);
}

/* bp of the variant, cut in slabs and chunks when cut is set. */
static void check_bp(int i, bool cut)
{
	struct variant v = variant_of(i);
	struct kk_error err = {0};
	struct kk_geometry g;
	struct kk_proj_chunk proj;
	int64_t nv, np, slab, chunk;
	float *ref, *got;
	double e, exact;

	tu_geometry(&g, geometries[v.geom]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	proj = whole_chunk(&g, v.axes);
	tu_random(proj.data, np, 0.5, 1.5, 200 + i);
	if (v.half)
		round_to_half(proj.data, np);
	ref = tu_floats(nv);
	got = tu_floats(nv);
	memset(ref, 0, nv * sizeof(float));
	ck_assert(!kk_cpu_bp_interp(&g, &proj, ref, 2, tex_rule, NULL,
				    &err));
	set_opts(v.half, false);
	poison(got, nv);
	slab = cut ? g.vol.nz / 3 + 1 : g.vol.nz;
	chunk = cut ? 5 : g.nviews;
	ck_assert_msg(!te_bp(dev, &g, v.axes, proj.data, got, slab, chunk,
			     &err), "%s", err.msg);
	e = rel_l2(got, ref, nv);
	memset(ref, 0, nv * sizeof(float));
	ck_assert(!kk_cpu_bp(&g, &proj, ref, 2, NULL, &err));
	exact = tu_rel_l2(got, ref, nv);
	printf("bp %-45s%s %.2e (exact reference: %.2e)\n",
	       describe(&g, &v), cut ? " cut" : "", e, exact);
	ck_assert_msg(e < (v.half ? 2e-3 : 1e-4), "bp %s: relative L2 %g",
		      describe(&g, &v), e);
	free(proj.data);
	free(ref);
	free(got);
	kk_geometry_release(&g);
}

START_TEST(fp_agrees)
{
	check_fp(_i, false);
}
END_TEST

START_TEST(bp_agrees)
{
	check_bp(_i, false);
}
END_TEST

/* Slabs (only what counts of the volume, only the rows they reach) and
 * chunks (per-view parameters from the right place) change nothing. */
START_TEST(fp_cut)
{
	check_fp(_i, true);
}
END_TEST

START_TEST(bp_cut)
{
	check_bp(_i, true);
}
END_TEST

/* Any number of views: 1, 7, 1024 and past the batches. */
START_TEST(view_counts)
{
	static const int counts[] = {1, 7, 1024, 5000, 20000};
	struct kk_error err = {0};
	struct kk_proj_chunk ref;
	struct kk_geometry g;
	char json[512];
	float *vol, *got, *back, *back_ref;
	int64_t nv, np;
	double efp, ebp;

	snprintf(json, sizeof(json), "{\"volume\": {\"shape\": [24, 20]}, "
		 "\"projection\": {\"type\": \"fanflat\", \"detector\": "
		 "{\"shape\": 40, \"pixel_size\": 1}, \"angles\": {\"start\": "
		 "0, \"stop\": 360, \"count\": %d, \"unit\": \"degree\"}, "
		 "\"source_origin\": 60, \"origin_detector\": 20}}",
		 counts[_i]);
	tu_geometry(&g, json);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	vol = tu_floats(nv);
	tu_random(vol, nv, 0.5, 1.5, 7);
	ref = whole_chunk(&g, &kk_axes_default);
	got = tu_floats(np);
	set_opts(false, false);
	ck_assert(!kk_cpu_fp(&g, vol, &ref, 2, NULL, &err));
	poison(got, np);
	ck_assert_msg(!te_fp(dev, &g, &kk_axes_default, vol, got, g.vol.nz,
			     g.nviews, &err), "%s", err.msg);
	efp = rel_l2(got, ref.data, np);
	back = tu_floats(nv);
	back_ref = tu_floats(nv);
	memset(back_ref, 0, nv * sizeof(float));
	ck_assert(!kk_cpu_bp_interp(&g, &ref, back_ref, 2, tex_rule, NULL,
				    &err));
	poison(back, nv);
	/* A chunk of at most 2000 views: texture layers run out at 2048. */
	ck_assert_msg(!te_bp(dev, &g, &kk_axes_default, ref.data, back,
			     g.vol.nz, g.nviews < 2000 ? g.nviews : 2000,
			     &err), "%s", err.msg);
	ebp = rel_l2(back, back_ref, nv);
	printf("%6d views: fp %.2e, bp %.2e\n", counts[_i], efp, ebp);
	ck_assert(efp < 1e-4 && ebp < 1e-4);
	free(vol);
	free(got);
	free(back);
	free(back_ref);
	free(ref.data);
	kk_geometry_release(&g);
}
END_TEST

/* The element-wise kernels of ops.cu against the same on the CPU:
 * y = a x + b y, y *= x, the sum of x y, and SIRT's clamped update with
 * its two sums, in pairs of partial sums a block. */
START_TEST(ops)
{
	const long long n = 100003;
	struct kk_error err = {0};
	float *x = tu_floats(n), *y = tu_floats(n), *out = tu_floats(n);
	double part[2 * 64], dot = 0, sum = 0, change = 0, norm = 0;
	float a = 0.75f, b = -0.5f, lo = -0.3f, hi = 0.4f;
	CUdeviceptr dx, dy, dp;
	CUfunction fn;
	CUmodule mod;
	long long i;
	void *args[7];

	tu_random(x, n, -1, 1, 1);
	tu_random(y, n, -1, 1, 2);
	ck_assert(!KK_CU(gpu, &err, cuMemAlloc, &dx, n * 4));
	ck_assert(!KK_CU(gpu, &err, cuMemAlloc, &dy, n * 4));
	ck_assert(!KK_CU(gpu, &err, cuMemAlloc, &dp, sizeof(part)));
	ck_assert(!KK_CU(gpu, &err, cuMemcpyHtoD, dx, x, n * 4));
	ck_assert(!KK_CU(gpu, &err, cuMemcpyHtoD, dy, y, n * 4));
	/* y = a x + b y, then y *= x, then the sum of x y */
	ck_assert(!kk_kernel_get(gpu, "ops.cu", "", "kk_axpby", &fn, &mod,
				 &err));
	args[0] = &dy;
	args[1] = &dx;
	args[2] = &a;
	args[3] = &b;
	args[4] = (void *)&n;
	ck_assert(!kk_gpu_launch(gpu, fn, 64, 1, 1, 256, 1, args, &err));
	ck_assert(!kk_kernel_get(gpu, "ops.cu", "", "kk_mul", &fn, &mod,
				 &err));
	args[2] = (void *)&n;
	ck_assert(!kk_gpu_launch(gpu, fn, 64, 1, 1, 256, 1, args, &err));
	ck_assert(!kk_kernel_get(gpu, "ops.cu", "", "kk_dot", &fn, &mod,
				 &err));
	args[0] = &dp;
	args[1] = &dx;
	args[2] = &dy;
	args[3] = (void *)&n;
	ck_assert(!kk_gpu_launch(gpu, fn, 64, 1, 1, 256, 1, args, &err));
	ck_assert(!KK_CU(gpu, &err, cuStreamSynchronize, gpu->stream));
	ck_assert(!KK_CU(gpu, &err, cuMemcpyDtoH, out, dy, n * 4));
	ck_assert(!KK_CU(gpu, &err, cuMemcpyDtoH, part, dp, sizeof(part)));
	for (i = 0; i < n; i++) {
		float want = (a * x[i] + b * y[i]) * x[i];

		ck_assert_float_eq_tol(out[i], want, 1e-6f);
		dot += (double)x[i] * out[i];
	}
	for (i = 0; i < 64; i++)
		sum += part[2 * i];
	ck_assert_double_eq_tol(sum, dot, 1e-9 * n);
	/* y = clamp(y + a x, lo, hi) with |change|^2 and |y|^2 */
	ck_assert(!kk_kernel_get(gpu, "ops.cu", "", "kk_update", &fn, &mod,
				 &err));
	args[0] = &dp;
	args[1] = &dy;
	args[2] = &dx;
	args[3] = &a;
	args[4] = &lo;
	args[5] = &hi;
	args[6] = (void *)&n;
	ck_assert(!kk_gpu_launch(gpu, fn, 64, 1, 1, 256, 1, args, &err));
	ck_assert(!KK_CU(gpu, &err, cuStreamSynchronize, gpu->stream));
	ck_assert(!KK_CU(gpu, &err, cuMemcpyDtoH, y, dy, n * 4));
	ck_assert(!KK_CU(gpu, &err, cuMemcpyDtoH, part, dp, sizeof(part)));
	for (i = 0; i < n; i++) {
		float want = fminf(fmaxf(out[i] + a * x[i], lo), hi);

		ck_assert_float_eq_tol(y[i], want, 1e-6f);
		change += ((double)y[i] - out[i]) * ((double)y[i] - out[i]);
		norm += (double)y[i] * y[i];
	}
	for (i = 0, sum = dot = 0; i < 64; i++) {
		sum += part[2 * i];
		dot += part[2 * i + 1];
	}
	ck_assert_double_eq_tol(sum, change, 1e-9 * n);
	ck_assert_double_eq_tol(dot, norm, 1e-9 * n);
	gpu->cu.cuMemFree(dx);
	gpu->cu.cuMemFree(dy);
	gpu->cu.cuMemFree(dp);
	free(x);
	free(y);
	free(out);
}
END_TEST

/*
 * SIRT and CGLS (5 iterations, on a Shepp-Logan head) three ways: on
 * the CPU, on the GPU in-core (linop_gpu.c) and on the GPU streamed from
 * host memory in chunks of 5 views (linop_host.c).  In-core and
 * streamed run the same kernels: the same to rounding.  The GPU's
 * texture filtering keeps 8-bit weights, so the CPU is further off.
 * Cases: parallel3d and cone, each sirt and cgls, each axis order.
 */
START_TEST(recon_agrees)
{
	const int geom = _i % 2 ? 2 : 0;
	const struct kk_axes *axes = _i / 4 ? &kk_axes_astra : &kk_axes_default;
	struct kk_phantom_opts po = {KK_PHANTOM_SHEPP_LOGAN, 0.6, 1, 0};
	struct kk_device *cpu_dev = cpu();
	struct kk_geometry g;
	struct kk_stream_opts so;
	struct kk_recon_opts ro;
	struct kk_linop *op;
	struct kk_error err = {0};
	struct kk_proj_chunk p;
	float *truth, *xc, *xg, *xs;
	int64_t nv;
	double in_core, vs_cpu;

	tu_geometry(&g, geometries[geom]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	truth = tu_floats(nv);
	ck_assert(!kk_phantom_fill(&g, &po, 0, g.vol.nz, truth, 2, &err));
	p = whole_chunk(&g, axes);
	ck_assert(!kk_cpu_fp(&g, truth, &p, 2, NULL, &err));
	xc = tu_floats(nv);
	xg = tu_floats(nv);
	xs = tu_floats(nv);
	set_opts(false, false);
	kk_stream_opts_default(&so);
	so.axes = *axes;
	kk_recon_opts_default(&ro);
	ro.method = _i / 2 % 2 ? KK_CGLS : KK_SIRT;
	ro.iterations = 5;
	ck_assert(!kk_linop_host(&op, cpu_dev, &g, &so, 2, NULL, NULL, &err));
	ck_assert_msg(!kk_recon_run(op, p.data, xc, &ro, &err), "%s", err.msg);
	kk_linop_free(op);
	ck_assert_msg(!kk_linop_gpu(&op, dev, &g, &so, 3, 3, NULL, NULL,
				    &err), "%s", err.msg);
	ck_assert_msg(!kk_recon_run(op, p.data, xg, &ro, &err), "%s", err.msg);
	kk_linop_free(op);
	so.chunk = 5;
	ck_assert(!kk_linop_host(&op, dev, &g, &so, 2, NULL, NULL, &err));
	ck_assert_msg(!kk_recon_run(op, p.data, xs, &ro, &err), "%s", err.msg);
	kk_linop_free(op);
	in_core = rel_l2(xg, xs, nv);
	vs_cpu = rel_l2(xg, xc, nv);
	printf("%s geometry %d order %d: in-core vs streamed %.3g, GPU vs "
	       "CPU %.3g, error %.3g\n", kk_recon_method_name(ro.method), geom,
	       _i / 4, in_core, vs_cpu, rel_l2(xg, truth, nv));
	ck_assert_msg(in_core < 1e-5, "in-core vs streamed %g", in_core);
	ck_assert_msg(vs_cpu < 5e-3, "GPU vs CPU %g", vs_cpu);
	kk_device_close(cpu_dev);
	kk_geometry_release(&g);
	free(truth);
	free(xc);
	free(xg);
	free(xs);
	free(p.data);
}
END_TEST

/* 100 engines made, run and freed: the free memory comes back. */
START_TEST(no_leaks)
{
	struct kk_error err = {0};
	struct kk_geometry g;
	size_t free0 = 0, free1, total;
	float *vol, *proj;
	int i;

	tu_geometry(&g, geometries[2]);
	vol = tu_floats(g.vol.nx * g.vol.ny * g.vol.nz);
	proj = tu_floats(g.nviews * g.nrows * g.ncols);
	tu_random(vol, g.vol.nx * g.vol.ny * g.vol.nz, 0.5, 1.5, 3);
	set_opts(false, false);
	/* One round first: modules load once and stay. */
	for (i = 0; i < 101; i++) {
		ck_assert(!te_fp(dev, &g, &kk_axes_default, vol, proj,
				 i % 2 ? 7 : g.vol.nz, 10, &err));
		ck_assert(!te_bp(dev, &g, &kk_axes_default, proj, vol,
				 i % 2 ? 7 : g.vol.nz, 10, &err));
		if (i == 1)
			ck_assert(!KK_CU(gpu, &err, cuMemGetInfo, &free0,
					 &total));
	}
	ck_assert(!KK_CU(gpu, &err, cuMemGetInfo, &free1, &total));
	printf("free device memory after 2 and 101 rounds: %zu, %zu\n",
	       free0, free1);
	ck_assert_uint_eq(free0, free1);
	free(vol);
	free(proj);
	kk_geometry_release(&g);
}
END_TEST

/* fbp on the GPU, from file to file (cuFFT, the weights kernel, bp with
 * FDK's weights) against the CPU's filter and a texture-rule bp, for a
 * parallel beam with anisotropic pixels, a fan beam, a cone beam with a
 * detector offset and a short cone scan (Parker), both axis orders,
 * whole and in chunks of 7 views with float16 volume storage. */
static const char *const fbp_geometries[] = {
	"{\"volume\": {\"shape\": [20, 40, 44]}, \"projection\": "
	"{\"type\": \"parallel3d\", \"detector\": {\"shape\": [24, 70], "
	"\"pixel_size\": [1.3, 0.8]}, \"angles\": {\"start\": 0, "
	"\"stop\": 180, \"count\": 90, \"unit\": \"degree\"}}}",
	"{\"volume\": {\"shape\": [64, 60]}, \"projection\": {\"type\": "
	"\"fanflat\", \"detector\": {\"shape\": 100, \"pixel_size\": "
	"1.1}, \"angles\": {\"start\": 0, \"stop\": 360, \"count\": "
	"120, \"unit\": \"degree\"}, \"source_origin\": 90, "
	"\"origin_detector\": 40}}",
	"{\"volume\": {\"shape\": [24, 40, 40]}, \"projection\": "
	"{\"type\": \"cone\", \"detector\": {\"shape\": [40, 80], "
	"\"pixel_size\": [1.2, 0.9], \"offset\": [1, 2.5]}, \"angles\": "
	"{\"start\": 0, \"stop\": 360, \"count\": 100, \"unit\": "
	"\"degree\"}, \"source_origin\": 120, \"origin_detector\": 60}}",
	"{\"volume\": {\"shape\": [24, 40, 40]}, \"projection\": "
	"{\"type\": \"cone\", \"detector\": {\"shape\": [40, 80], "
	"\"pixel_size\": 1}, \"angles\": {\"start\": 10, \"stop\": 250, \"count\": 100, "
	"\"unit\": \"degree\"}, \"source_origin\": 120, "
	"\"origin_detector\": 60}}",
};

/* fbp on the CPU of the projections p (filtered in place), with the
 * texture unit's interpolation rule: what the GPU should give. */
static float *fbp_cpu(const struct kk_geometry *g, const struct kk_fbp *f,
		      struct kk_proj_chunk *p)
{
	int64_t nv = g->vol.nx * g->vol.ny * g->vol.nz;
	float *ref = tu_floats(nv);
	struct kk_vol_slab slab;
	struct kk_cpu_run run;
	struct kk_error err = {0};

	ck_assert(!kk_fbp_filter_cpu(f, p->data, &p->axes, 0, g->nviews, 0,
				     g->nrows, 2, &err));
	memset(ref, 0, (size_t)nv * sizeof(float));
	slab.data = ref;
	slab.z0 = 0;
	slab.nz = g->vol.nz;
	kk_cpu_run_default(&run);
	run.nthreads = 2;
	run.interp = tex_rule;
	run.fdk = g->cone;
	ck_assert(!kk_cpu_bp_slab(g, p, &slab, &run, &err));
	return ref;
}

START_TEST(fbp_agrees)
{
	const int geom = _i % 4, order = _i / 4 % 2, cut = _i / 8;
	const struct kk_axes *axes = order ? &kk_axes_astra : &kk_axes_default;
	struct kk_phantom_opts po = {KK_PHANTOM_SHEPP_LOGAN, 0.6, 1, 0};
	char *dir = tu_mkdtemp(), *ppath = tu_path(dir, "p.h5");
	char *rpath = tu_path(dir, "r.h5");
	struct kk_geometry g;
	struct kk_fbp_opts fo;
	struct kk_fbp f;
	struct kk_proj_chunk p;
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	struct kk_error err = {0};
	int64_t nv, pdims[3], vdims[3];
	float *vol, *ref, *got;
	double e;

	tu_geometry(&g, fbp_geometries[geom]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	vol = tu_floats(nv);
	ck_assert(!kk_phantom_fill(&g, &po, 0, g.vol.nz, vol, 2, &err));
	p = whole_chunk(&g, axes);
	ck_assert(!kk_cpu_fp(&g, vol, &p, 2, NULL, &err));
	kk_geometry_proj_dims(&g, axes, pdims);
	write_stack(ppath, pdims, p.data);

	kk_fbp_opts_default(&fo);
	fo.filter = geom == 1 ? KK_FILTER_HANN : KK_FILTER_RAM_LAK;
	ck_assert_msg(!kk_fbp_setup(&f, &g, &fo, &err), "%s", err.msg);
	ref = fbp_cpu(&g, &f, &p);

	set_opts(cut == 1, false);
	kk_stream_opts_default(&o);
	o.axes = *axes;
	o.fbp = &f;
	if (cut)
		o.chunk = 7;
	ck_assert_msg(!stream_files(dev, &g, false, ppath, rpath, &o, &st,
				    NULL, &err), "%s", err.msg);
	kk_geometry_volume_dims(&g, vdims);
	got = read_stack(rpath, vdims);
	e = rel_l2(got, ref, nv);
	printf("fbp geometry %d order %d cut %d: %lld chunks, %g from the "
	       "CPU\n", geom, order, cut, (long long)st.nchunks, e);
	/* Measured on an H200: float32 3.5e-5 to 6.6e-5 (cuFFT and FFTW
	 * round differently); float16 storage rounds each voxel to 11
	 * bits once, 5.1e-4 to 5.8e-4. */
	ck_assert_msg(e < (cut ? 8e-4 : 1e-4), "geometry %d order %d cut %d: "
		      "%g", geom, order, cut, e);
	set_opts(false, false);
	kk_fbp_release(&f);
	kk_geometry_release(&g);
	free(vol);
	free(ref);
	free(got);
	free(p.data);
	free(ppath);
	free(rpath);
	tu_rmdir(dir);
}
END_TEST

/* fbp --raw on the GPU (the weights kernel built with -DKK_FLATFIELD)
 * against the CPU's correction, filter and texture-rule bp: parallel
 * and cone beams, both axis orders, whole and in volume slabs (a small
 * --mem-limit), with flats and darks from files in the projections'
 * order; the count of clipped values is the CPU's, whatever the cut. */
static int64_t seen_whole[4];

START_TEST(fbp_raw_agrees)
{
	const int geom = _i % 2 ? 2 : 0, order = _i / 2 % 2, cut = _i / 4;
	const struct kk_axes *axes = order ? &kk_axes_astra : &kk_axes_default;
	struct kk_phantom_opts po = {KK_PHANTOM_SHEPP_LOGAN, 0.6, 1, 0};
	char *dir = tu_mkdtemp(), *ppath = tu_path(dir, "raw.h5");
	char *rpath = tu_path(dir, "r.h5"), *fpath = tu_path(dir, "flat.tif");
	char *dpath = tu_path(dir, "dark.h5");
	struct kk_geometry g;
	struct kk_fbp_opts fo;
	struct kk_fbp f;
	struct kk_flatfield_opts ffo;
	struct kk_flatfield ff;
	struct kk_proj_chunk p;
	struct kk_stream_opts o;
	struct kk_stream_stats st;
	struct kk_error err = {0};
	int64_t nv, np, pdims[3], vdims[3], ddims[3], i, cpu_clipped;
	float *vol, *ref, *got, *flat, *dark;
	double e;

	tu_geometry(&g, fbp_geometries[geom]);
	nv = g.vol.nx * g.vol.ny * g.vol.nz;
	np = g.nviews * g.nrows * g.ncols;
	vol = tu_floats(nv);
	ck_assert(!kk_phantom_fill(&g, &po, 0, g.vol.nz, vol, 2, &err));
	p = whole_chunk(&g, axes);
	ck_assert(!kk_cpu_fp(&g, vol, &p, 2, NULL, &err));
	/* raw counts: a flat of 800 to 1200 over a dark of 100, stored in
	 * the projections' order (the flat: one 2-D frame; the darks: 2
	 * frames, 90 and 110); 4 values clipped, in the middle row */
	flat = tu_floats(g.nrows * g.ncols);
	dark = tu_floats(2 * g.nrows * g.ncols);
	tu_random(flat, g.nrows * g.ncols, 800, 1200, 7);
	for (i = 0; i < 2 * g.nrows * g.ncols; i++)
		dark[i] = 90 + 20 * (float)(i >= g.nrows * g.ncols);
	for (i = 0; i < np; i++) {
		/* angle,row,col or row,angle,col: the column is last */
		int64_t c = i % g.ncols;
		int64_t r = order ? i / (g.nviews * g.ncols)
				  : i / g.ncols % g.nrows;
		int64_t v = order ? i / g.ncols % g.nviews
				  : i / (g.nrows * g.ncols);

		p.data[i] = 100 + (flat[r * g.ncols + c] - 100) *
				  expf(-p.data[i]);
		if (r == g.nrows / 2 && c % 9 == 4 && v % 7 == 3)
			p.data[i] = 0;
	}
	kk_geometry_proj_dims(&g, axes, pdims);
	write_stack(ppath, pdims, p.data);
	write_stack(fpath, (int64_t[3]){1, g.nrows, g.ncols}, flat);
	ddims[axes->where[KK_ANGLE]] = 2;
	ddims[axes->where[KK_ROW]] = g.nrows;
	ddims[axes->where[KK_COL]] = g.ncols;
	if (order) { /* row,frame,col */
		float *t = tu_floats(2 * g.nrows * g.ncols);
		int64_t r, k;

		for (r = 0; r < g.nrows; r++)
			for (k = 0; k < 2; k++)
				memcpy(t + (r * 2 + k) * g.ncols,
				       dark + (k * g.nrows + r) * g.ncols,
				       (size_t)g.ncols * sizeof(float));
		memcpy(dark, t, (size_t)(2 * g.nrows * g.ncols) *
		       sizeof(float));
		free(t);
	}
	write_stack(dpath, ddims, dark);
	kk_flatfield_opts_default(&ffo);
	ffo.on = true;
	ffo.flats = fpath;
	ffo.darks = dpath;

	/* the CPU: correct, filter, texture-rule bp */
	ck_assert_msg(!kk_flatfield_setup(&ff, &ffo, ppath, &g, axes, &err),
		      "%s", err.msg);
	ck_assert(!kk_flatfield_apply(&ff, p.data, axes, g.nviews, 0, g.nrows,
				      NULL, 2, &err));
	cpu_clipped = ff.clipped;
	kk_flatfield_release(&ff);
	kk_fbp_opts_default(&fo);
	ck_assert_msg(!kk_fbp_setup(&f, &g, &fo, &err), "%s", err.msg);
	ref = fbp_cpu(&g, &f, &p);

	/* the GPU, from the raw file */
	ck_assert(!kk_flatfield_setup(&ff, &ffo, ppath, &g, axes, &err));
	f.ff = &ff;
	kk_stream_opts_default(&o);
	o.axes = *axes;
	o.fbp = &f;
	if (cut)
		o.mem_limit = 300 << 10;
	ck_assert_msg(!stream_files(dev, &g, false, ppath, rpath, &o, &st,
				    NULL, &err), "%s", err.msg);
	kk_geometry_volume_dims(&g, vdims);
	got = read_stack(rpath, vdims);
	e = rel_l2(got, ref, nv);
	printf("fbp --raw geometry %d order %d cut %d: %lld slabs, %g from "
	       "the CPU; clipped %lld (CPU %lld) of %lld\n", geom, order,
	       cut, (long long)st.nslabs, e, (long long)ff.clipped,
	       (long long)cpu_clipped, (long long)ff.seen);
	ck_assert_msg(e < 1e-4, "geometry %d order %d cut %d: %g", geom,
		      order, cut, e);
	ck_assert_int_gt(cpu_clipped, 0);
	ck_assert_int_eq(ff.clipped, cpu_clipped);
	/* every value read once, however many slabs read it: the cone
	 * beam's volume sees every row, the parallel beam's 20 of 24;
	 * the cut runs after the whole (one process, in order) */
	if (geom == 2)
		ck_assert_int_eq(ff.seen, np);
	if (!cut)
		seen_whole[_i % 4] = ff.seen;
	else
		ck_assert_int_eq(ff.seen, seen_whole[_i % 4]);
	if (cut && geom == 2)
		ck_assert_int_gt(st.nslabs, 1);
	kk_flatfield_release(&ff);
	kk_fbp_release(&f);
	kk_geometry_release(&g);
	free(vol);
	free(ref);
	free(got);
	free(flat);
	free(dark);
	free(p.data);
	free(ppath);
	free(rpath);
	free(fpath);
	free(dpath);
	tu_rmdir(dir);
}
END_TEST

int main(void)
{
	struct kk_device_opts o;
	struct kk_error err = {0};
	Suite *s;
	TCase *tc;
	int status;

	/* Compile afresh: the cache is tested by the CLI on its own. */
	kk_device_opts_default(&o);
	o.device = KK_DEVICE_GPU;
	o.threads = 2;
	o.kernels.no_cache = true;
	if (kk_device_open(&dev, &o, &err)) {
		printf("SKIP: %s\n", err.msg);
		return 77;
	}
	gpu = dev->gpu;
	printf("%s\n", dev->name);
	s = suite_create("gpu");
	tc = tcase_create("gpu");
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, texture_weights);
	tcase_add_test(tc, texture_weights_2d);
	tcase_add_loop_test(tc, fp_agrees, 0, 8 * NGEOM);
	tcase_add_loop_test(tc, bp_agrees, 0, 4 * NGEOM);
	tcase_add_loop_test(tc, fp_cut, 0, 4 * NGEOM);
	tcase_add_loop_test(tc, bp_cut, 0, 4 * NGEOM);
	tcase_add_loop_test(tc, view_counts, 0, 5);
	tcase_add_loop_test(tc, fbp_agrees, 0, 16);
	tcase_add_loop_test(tc, fbp_raw_agrees, 0, 8);
	tcase_add_test(tc, ops);
	tcase_add_loop_test(tc, recon_agrees, 0, 8);
	tcase_add_test(tc, no_leaks);
	suite_add_tcase(s, tc);
	/* CUDA does not survive fork(): run the tests in this process. */
	status = tu_run_forking(s, false);
	kk_device_close(dev);
	return status;
}

#else

int main(void)
{
	printf("SKIP: built without the CUDA Toolkit headers\n");
	return 77;
}

#endif
