/*
 * gpu.c: load the CUDA driver and NVRTC at run time, check every call,
 * list the devices and open one (see gpu.h).
 *
 * Nothing here prints: a missing driver or NVRTC is an error that the
 * caller turns into a note (--device auto) or an exit status 1.
 */
#include "config.h"
#include "gpu.h"
#include "kernels.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA_HEADERS

#define STR(x) #x
#define XSTR(x) STR(x)

int kk_cu_result(const struct kk_cuda *cu, CUresult r, const char *call,
		 struct kk_error *err)
{
	const char *name = NULL, *text = NULL;

	if (r == CUDA_SUCCESS)
		return 0;
	if (cu->cuGetErrorName)
		cu->cuGetErrorName(r, &name);
	if (cu->cuGetErrorString)
		cu->cuGetErrorString(r, &text);
	return kk_fail(err, r == CUDA_ERROR_OUT_OF_MEMORY ? KK_ENOMEM
							  : KK_ERUNTIME,
		       "%s failed: %s (%s)", call, name ? name : "CUDA error",
		       text ? text : "no description");
}

int kk_nv_result(const struct kk_nvrtc *nv, nvrtcResult r, const char *call,
		 struct kk_error *err)
{
	if (r == NVRTC_SUCCESS)
		return 0;
	return kk_fail(err, KK_ERUNTIME, "%s failed: %s", call,
		       nv->nvrtcGetErrorString ? nv->nvrtcGetErrorString(r)
					       : "NVRTC error");
}

/* dlsym every name of a table; the first missing one is an error. */
#define LOAD_SYMBOL(name)                                               \
	if (!missing &&                                                 \
	    !(t->name = (__typeof__(t->name))dlsym(t->lib, XSTR(name))))    \
		missing = XSTR(name);

int kk_cuda_load(struct kk_cuda *t, struct kk_error *err)
{
	const char *missing = NULL;
	CUresult r;

	memset(t, 0, sizeof(*t));
	t->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!t->lib)
		return kk_fail(err, KK_ERUNTIME, "no CUDA driver (%s)",
			       dlerror());
	KK_CU_FUNCTIONS(LOAD_SYMBOL)
	if (missing) {
		kk_fail(err, KK_ERUNTIME, "the CUDA driver is too old: "
			"libcuda.so.1 lacks %s (kkit was built with the "
			"headers of CUDA %d.%d)", missing,
			CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10);
		goto fail;
	}
	r = t->cuInit(0);
	if (r != CUDA_SUCCESS) {
		kk_cu_result(t, r, "cuInit", err);
		kk_error_prefix(err, "the CUDA driver does not start");
		goto fail;
	}
	t->cuDriverGetVersion(&t->driver_version);
	return 0;
fail:
	dlclose(t->lib);
	memset(t, 0, sizeof(*t));
	return err->code;
}

int kk_cuda_lib_search(const char *const *names,
		       int (*try_open)(void *arg, const char *path),
		       void *arg)
{
	const char *roots[4] = {getenv("KKIT_CUDA_ROOT"), getenv("CUDA_HOME"),
				getenv("CUDA_PATH"), NULL};
	char path[1024];
	int i, j;

#ifdef KK_CUDA_ROOT
	roots[3] = KK_CUDA_ROOT;
#endif
	for (i = 0; names[i]; i++)
		if (try_open(arg, names[i]) == 0)
			return 0;
	for (j = 0; j < 4; j++) {
		if (!roots[j] || !roots[j][0])
			continue;
		for (i = 0; names[i]; i++) {
			snprintf(path, sizeof(path), "%s/lib64/%s", roots[j],
				 names[i]);
			if (try_open(arg, path) == 0)
				return 0;
		}
	}
	return -1;
}

/* Try one NVRTC library: 0 if it opened, with every symbol. */
static int try_nvrtc(void *arg, const char *path)
{
	struct kk_nvrtc *t = arg;
	const char *missing = NULL;

	t->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!t->lib)
		return -1;
	KK_NV_FUNCTIONS(LOAD_SYMBOL)
	if (missing) {
		dlclose(t->lib);
		t->lib = NULL;
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->nvrtcVersion(&t->major, &t->minor);
	return 0;
}

int kk_nvrtc_load(struct kk_nvrtc *t, struct kk_error *err)
{
	/* The newest first; the toolkit's own directory if ld.so does not
	 * know it. */
	static const char *const names[] = {
		"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2",
		"libnvrtc.so", NULL};
	const char *own = getenv("KKIT_NVRTC");

	memset(t, 0, sizeof(*t));
	if (own)
		return try_nvrtc(t, own) == 0 ? 0 :
		       kk_fail(err, KK_ERUNTIME, "KKIT_NVRTC='%s' is not an "
			       "NVRTC library kkit can use", own);
	if (kk_cuda_lib_search(names, try_nvrtc, t) == 0)
		return 0;
	return kk_fail(err, KK_ERUNTIME, "no NVRTC: none of libnvrtc.so.13, "
		       ".12 or .11.2 can be loaded (install the CUDA "
		       "Toolkit's NVRTC, or set KKIT_NVRTC to the library)");
}

static int device_info(struct kk_cuda *cu, int ordinal,
		       struct kk_gpu_info *info, struct kk_error *err)
{
	CUdevice dev;
	CUcontext ctx;
	int rc;

	memset(info, 0, sizeof(*info));
	info->ordinal = ordinal;
	rc = kk_cu_result(cu, cu->cuDeviceGet(&dev, ordinal), "cuDeviceGet",
			  err);
	if (!rc)
		rc = kk_cu_result(cu, cu->cuDeviceGetName(info->name,
							   sizeof(info->name),
							   dev),
				  "cuDeviceGetName", err);
	if (!rc)
		rc = kk_cu_result(cu, cu->cuDeviceGetAttribute(
				  &info->cc_major,
				  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
				  dev), "cuDeviceGetAttribute", err);
	if (!rc)
		rc = kk_cu_result(cu, cu->cuDeviceGetAttribute(
				  &info->cc_minor,
				  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
				  dev), "cuDeviceGetAttribute", err);
	if (!rc)
		rc = kk_cu_result(cu, cu->cuDeviceGetAttribute(
				  &info->sm_count,
				  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev),
				  "cuDeviceGetAttribute", err);
	if (rc)
		return rc;
	/* Free memory needs a context: the primary one, released after. */
	rc = kk_cu_result(cu, cu->cuDevicePrimaryCtxRetain(&ctx, dev),
			  "cuDevicePrimaryCtxRetain", err);
	if (rc)
		return rc;
	rc = kk_cu_result(cu, cu->cuCtxSetCurrent(ctx), "cuCtxSetCurrent",
			  err);
	if (!rc)
		rc = kk_cu_result(cu, cu->cuMemGetInfo(&info->mem_free,
						       &info->mem_total),
				  "cuMemGetInfo", err);
	cu->cuCtxSetCurrent(NULL);
	cu->cuDevicePrimaryCtxRelease(dev);
	return rc;
}

int kk_gpu_list(struct kk_gpu_info **infos, int *n, int *driver_version,
		char *nvrtc, size_t nvrtc_len, struct kk_error *err)
{
	struct kk_cuda cu;
	struct kk_nvrtc nv;
	struct kk_error ignored = {0};
	int count = 0, i, rc;

	*infos = NULL;
	*n = 0;
	*driver_version = 0;
	if (nvrtc_len) {
		nvrtc[0] = '\0';
		if (kk_nvrtc_load(&nv, &ignored) == 0) {
			snprintf(nvrtc, nvrtc_len, "%d.%d (%s)", nv.major,
				 nv.minor, nv.path);
			/* Not closed: see kk_gpu_close. */
		}
	}
	rc = kk_cuda_load(&cu, err);
	if (rc)
		return rc;
	*driver_version = cu.driver_version;
	rc = kk_cu_result(&cu, cu.cuDeviceGetCount(&count),
			  "cuDeviceGetCount", err);
	if (!rc && count == 0)
		rc = kk_fail(err, KK_ERUNTIME, "the CUDA driver sees no "
			     "device");
	if (!rc) {
		*infos = calloc((size_t)count, sizeof(**infos));
		if (!*infos)
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
	}
	for (i = 0; !rc && i < count; i++)
		rc = device_info(&cu, i, &(*infos)[i], err);
	if (!rc)
		*n = count;
	else {
		free(*infos);
		*infos = NULL;
	}
	/* Not closed: see kk_gpu_close. */
	return rc;
}

int kk_gpu_open(struct kk_gpu **out, int ordinal,
		const struct kk_kernel_opts *kopts, struct kk_error *err)
{
	struct kk_gpu_info info;
	struct kk_gpu *g;
	int count = 0, rc;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	g->ordinal = ordinal;
	rc = kk_cuda_load(&g->cu, err);
	if (!rc)
		rc = kk_nvrtc_load(&g->nv, err);
	if (!rc)
		rc = KK_CU(g, err, cuDeviceGetCount, &count);
	if (!rc && (ordinal < 0 || ordinal >= count))
		rc = kk_fail(err, KK_EUSAGE, "--gpu %d: there %s %d CUDA "
			     "device%s (0 to %d)", ordinal,
			     count == 1 ? "is" : "are", count,
			     count == 1 ? "" : "s", count - 1);
	if (!rc)
		rc = device_info(&g->cu, ordinal, &info, err);
	if (rc)
		goto fail;
	memcpy(g->name, info.name, sizeof(g->name));
	g->cc_major = info.cc_major;
	g->cc_minor = info.cc_minor;
	g->sm_count = info.sm_count;
	g->mem_total = info.mem_total;
	if (g->cc_major * 10 + g->cc_minor < 75) {
		rc = kk_fail(err, KK_ERUNTIME, "GPU %d (%s) has compute "
			     "capability %d.%d; kkit needs 7.5 or newer",
			     ordinal, g->name, g->cc_major, g->cc_minor);
		goto fail;
	}
	rc = KK_CU(g, err, cuDeviceGet, &g->dev, ordinal);
	if (!rc)
		rc = KK_CU(g, err, cuDeviceGetAttribute, &g->max_layers,
			   CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_LAYERS,
			   g->dev);
	if (!rc)
		rc = KK_CU(g, err, cuDevicePrimaryCtxRetain, &g->ctx, g->dev);
	if (!rc)
		rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuStreamCreate, &g->stream,
			   CU_STREAM_NON_BLOCKING);
	if (!rc)
		rc = KK_CU(g, err, cuStreamCreate, &g->up,
			   CU_STREAM_NON_BLOCKING);
	if (!rc)
		rc = KK_CU(g, err, cuStreamCreate, &g->down,
			   CU_STREAM_NON_BLOCKING);
	if (rc)
		goto fail;
	rc = kk_kernels_init(g, kopts, err);
	if (rc)
		goto fail;
	*out = g;
	return 0;
fail:
	kk_gpu_close(g);
	return rc;
}

void kk_gpu_close(struct kk_gpu *g)
{
	if (!g)
		return;
	if (g->ctx) {
		g->cu.cuCtxSetCurrent(g->ctx);
		kk_kernels_release(g);
		if (g->stream)
			g->cu.cuStreamDestroy(g->stream);
		if (g->up)
			g->cu.cuStreamDestroy(g->up);
		if (g->down)
			g->cu.cuStreamDestroy(g->down);
		g->cu.cuCtxSetCurrent(NULL);
		g->cu.cuDevicePrimaryCtxRelease(g->dev);
	}
	/* The driver and NVRTC stay loaded until the process exits:
	 * NVRTC brings the C++ runtime, whose static state is not meant
	 * to be unloaded (unloading it makes its emergency pool look like
	 * a leak to LeakSanitizer), and a second open finds them loaded. */
	free(g);
}

void kk_gpu_describe(const struct kk_gpu *g, char *buf, size_t n)
{
	snprintf(buf, n, "GPU %d, %s (sm_%d%d, %d SMs)", g->ordinal, g->name,
		 g->cc_major, g->cc_minor, g->sm_count);
}

#else /* no CUDA headers at build time */

static int no_cuda(struct kk_error *err)
{
	return kk_fail(err, KK_ERUNTIME, "this kkit was built without the "
		       "CUDA Toolkit headers: it has no GPU backend");
}

int kk_gpu_list(struct kk_gpu_info **infos, int *n, int *driver_version,
		char *nvrtc, size_t nvrtc_len, struct kk_error *err)
{
	*infos = NULL;
	*n = 0;
	*driver_version = 0;
	if (nvrtc_len)
		nvrtc[0] = '\0';
	return no_cuda(err);
}

int kk_gpu_open(struct kk_gpu **g, int ordinal,
		const struct kk_kernel_opts *kopts, struct kk_error *err)
{
	*g = NULL;
	return no_cuda(err);
}

void kk_gpu_close(struct kk_gpu *g)
{
}

void kk_gpu_describe(const struct kk_gpu *g, char *buf, size_t n)
{
	snprintf(buf, n, "no GPU");
}

#endif
