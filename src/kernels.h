/*
 * kernels.h: the CUDA C kernels in kernels/, compiled at run time.
 *
 * The sources are embedded in the binary at build time
 * (kernels_embedded.c, made by scripts/embed-kernels); a directory of
 * edited copies (--kernel-dir, or KKIT_KERNEL_DIR) takes their place
 * file by file.  A variant is the source compiled with a set of -D
 * defines; NVRTC compiles it for the device's own architecture, and the
 * cubin is kept in a cache on disk whose key is the SHA-256 of the
 * source, the options, NVRTC's version and the architecture.
 */
#ifndef KK_KERNELS_H
#define KK_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

#include "gpu.h"
#include "msg.h"

struct kk_kernel_source {
	const char *name;   /* "bp.cu" */
	const char *text;
};
/* NULL-terminated. */
extern const struct kk_kernel_source kk_embedded_kernels[];

/* The cache directory: $XDG_CACHE_HOME/kkit, else ~/.cache/kkit. */
void kk_kernel_cache_dir(char *buf, size_t n);

/* A kernel file and the headers (*.cuh) it may include, each from dir
 * if it has that file, else embedded. */
#define KK_MAX_HEADERS 8
struct kk_kernel_text {
	const char *file;
	char *source;
	char origin[4200];          /* "embedded" or the path */
	bool user;                  /* source or a header from dir */
	int nheaders;
	const char *hnames[KK_MAX_HEADERS];
	char *htexts[KK_MAX_HEADERS];
};
int kk_kernel_text_load(const char *dir, const char *file,
			struct kk_kernel_text *t, struct kk_error *err);
void kk_kernel_text_free(struct kk_kernel_text *t);

#ifdef HAVE_CUDA_HEADERS
/* Compile for sm_<arch> (e.g. 90) with defines ("-DKK_A=1 ..."); needs
 * no GPU.  *cubin is malloc'ed.  A compile error is KK_EINPUT (with
 * NVRTC's log) when a file came from the user's kernel directory,
 * KK_ERUNTIME if the kernel is kkit's own. */
int kk_kernel_compile(struct kk_nvrtc *nv, const struct kk_kernel_text *t,
		      const char *defines, int arch, void **cubin,
		      size_t *size, struct kk_error *err);

/* Called by kk_gpu_open / kk_gpu_close. */
int kk_kernels_init(struct kk_gpu *g, const struct kk_kernel_opts *o,
		    struct kk_error *err);
void kk_kernels_release(struct kk_gpu *g);

/* Function entry of file compiled with defines, loaded on g; compiled
 * at most once per process, and fetched from the disk cache when it is
 * there.  *module is where its __constant__ symbols are. */
int kk_kernel_get(struct kk_gpu *g, const char *file, const char *defines,
		  const char *entry, CUfunction *fn, CUmodule *module,
		  struct kk_error *err);
#endif

#endif
