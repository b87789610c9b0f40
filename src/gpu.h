/*
 * gpu.h: the CUDA Driver API and NVRTC, loaded at run time, and one GPU
 * to compute on.
 *
 * libcuda.so.1 and libnvrtc are opened with dlopen into tables of
 * function pointers, so kkit starts (and runs on the CPU) where neither
 * is installed.  The types come from the CUDA Toolkit's headers at build
 * time; a build without them has no GPU (kk_gpu_open says so).
 *
 * Every call goes through KK_CU() or KK_NV(), which turn a failure into a
 * kk_error naming the call and CUDA's name for the error:
 *   rc = KK_CU(g, err, cuMemAlloc, &ptr, bytes);
 */
#ifndef KK_GPU_H
#define KK_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#ifdef HAVE_CUDA_HEADERS
#include <cuda.h>
#include <nvrtc.h>

/* The Driver API functions kkit uses.  cuda.h maps some names to their
 * _v2 versions; the table and dlsym see the mapped names. */
#define KK_CU_FUNCTIONS(X)                                              \
	X(cuInit) X(cuDriverGetVersion) X(cuDeviceGetCount)             \
	X(cuDeviceGet) X(cuDeviceGetName) X(cuDeviceGetAttribute)       \
	X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease)        \
	X(cuCtxSetCurrent) X(cuMemGetInfo) X(cuMemAlloc) X(cuMemFree)   \
	X(cuMemcpyHtoD) X(cuMemcpyDtoH) X(cuMemcpyHtoDAsync)            \
	X(cuMemcpyDtoHAsync) X(cuMemsetD32Async) X(cuMemsetD16Async)    \
	X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction)    \
	X(cuModuleGetGlobal) X(cuLaunchKernel) X(cuStreamCreate)        \
	X(cuStreamDestroy) X(cuStreamSynchronize) X(cuArray3DCreate)    \
	X(cuArrayDestroy) X(cuMemcpy3D) X(cuMemcpy3DAsync)              \
	X(cuTexObjectCreate) X(cuTexObjectDestroy) X(cuGetErrorName)    \
	X(cuGetErrorString) X(cuEventCreate) X(cuEventRecord)           \
	X(cuEventSynchronize) X(cuEventElapsedTime) X(cuEventDestroy)   \
	X(cuStreamWaitEvent) X(cuEventQuery) X(cuMemHostAlloc)          \
	X(cuMemFreeHost) X(cuMemcpyDtoDAsync)

#define KK_NV_FUNCTIONS(X)                                              \
	X(nvrtcVersion) X(nvrtcGetErrorString) X(nvrtcCreateProgram)    \
	X(nvrtcDestroyProgram) X(nvrtcCompileProgram)                   \
	X(nvrtcGetProgramLogSize) X(nvrtcGetProgramLog)                 \
	X(nvrtcGetCUBINSize) X(nvrtcGetCUBIN)                           \
	X(nvrtcGetNumSupportedArchs) X(nvrtcGetSupportedArchs)

#define KK_FN_POINTER(name) __typeof__(&name) name;

struct kk_cuda {
	void *lib;
	int driver_version;         /* e.g. 13000 */
	KK_CU_FUNCTIONS(KK_FN_POINTER)
};

struct kk_nvrtc {
	void *lib;
	char path[256];             /* the library that was opened */
	int major, minor;
	KK_NV_FUNCTIONS(KK_FN_POINTER)
};

/* Check a CUresult / nvrtcResult; KK_ERUNTIME (or KK_ENOMEM) if bad. */
int kk_cu_result(const struct kk_cuda *cu, CUresult r, const char *call,
		 struct kk_error *err);
int kk_nv_result(const struct kk_nvrtc *nv, nvrtcResult r,
		 const char *call, struct kk_error *err);
#define KK_CU(g, err, fn, ...)                                          \
	kk_cu_result(&(g)->cu, (g)->cu.fn(__VA_ARGS__), #fn, (err))
#define KK_NV(g, err, fn, ...)                                          \
	kk_nv_result(&(g)->nv, (g)->nv.fn(__VA_ARGS__), #fn, (err))

/* One device and its primary context, current on the calling thread;
 * three streams, so that copies in both directions overlap kernels. */
struct kk_gpu {
	struct kk_cuda cu;
	struct kk_nvrtc nv;
	int ordinal;
	CUdevice dev;
	CUcontext ctx;
	CUstream stream;            /* kernels */
	CUstream up, down;          /* copies to and from the device */
	char name[256];
	int cc_major, cc_minor;
	int sm_count;
	int max_layers;             /* of a 2D layered texture */
	size_t mem_total;
	struct kk_module *modules;  /* compiled kernels (kernels.c) */
	struct kk_kernel_opts *kopts;
};

/*
 * Open a CUDA Toolkit library: try_open(arg, path) for each of names
 * (newest first) as ld.so finds them, then in lib64/ of
 * $KKIT_CUDA_ROOT, $CUDA_HOME, $CUDA_PATH and the toolkit kkit was built
 * with; 0 at the first it accepts (0 from try_open), -1 if none.
 */
int kk_cuda_lib_search(const char *const *names,
		       int (*try_open)(void *arg, const char *path),
		       void *arg);

/* Load the driver (cuInit included) / NVRTC; a clear sentence if not. */
int kk_cuda_load(struct kk_cuda *cu, struct kk_error *err);
int kk_nvrtc_load(struct kk_nvrtc *nv, struct kk_error *err);
#else
struct kk_gpu;
#endif

/* Where kernels come from and where compiled ones are kept. */
struct kk_kernel_opts {
	const char *dir;       /* --kernel-dir / KKIT_KERNEL_DIR, or NULL */
	bool no_cache;
	char cache_dir[1024];  /* "" when there is none */
};

/* Facts about one device, for kkit info and --device auto. */
struct kk_gpu_info {
	int ordinal;
	char name[256];
	int cc_major, cc_minor;
	int sm_count;
	size_t mem_free, mem_total;
};

/* The devices there are, with the driver's and NVRTC's versions (0 if
 * not found).  *n is 0, and err says why, where there is no GPU. */
int kk_gpu_list(struct kk_gpu_info **infos, int *n, int *driver_version,
		char *nvrtc, size_t nvrtc_len, struct kk_error *err);

/* Open device ordinal with its primary context and a stream. */
int kk_gpu_open(struct kk_gpu **g, int ordinal,
		const struct kk_kernel_opts *kopts, struct kk_error *err);
void kk_gpu_close(struct kk_gpu *g);
/* "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)" */
void kk_gpu_describe(const struct kk_gpu *g, char *buf, size_t n);

#endif
