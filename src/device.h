/*
 * device.h: where a run computes, the CPU or one GPU, chosen once; the
 * memory it has; and the host buffers that carry data to and from it.
 *
 * A host buffer (struct kk_hbuf) is pinned on a GPU unless asked not to
 * be.  The engines (engine.h) copy into and out of it asynchronously and
 * record when the copy is done; kk_hbuf_wait, from any thread, waits for
 * that before the buffer is read or filled again.  On the CPU copies are
 * done when they return and waiting costs nothing.
 */
#ifndef KK_DEVICE_H
#define KK_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu.h"
#include "gpu_proj.h"
#include "msg.h"

enum kk_device_kind { KK_DEVICE_AUTO, KK_DEVICE_GPU, KK_DEVICE_CPU };

struct kk_device_opts {
	enum kk_device_kind device;
	int gpu;                        /* CUDA ordinal */
	int threads;                    /* CPU threads */
	struct kk_kernel_opts kernels;
	struct kk_gpu_proj_opts gpu_opts;
};

void kk_device_opts_default(struct kk_device_opts *o);

/* Time and bytes of what a device did, for -v. */
struct kk_device_stats {
	double kernel_s;
	double h2d_s, d2h_s;
	uint64_t h2d_bytes, d2h_bytes;
};

struct kk_device {
	struct kk_gpu *gpu;             /* NULL: the CPU */
	int threads;
	struct kk_gpu_proj_opts gpu_opts;
	char name[320];
	pthread_mutex_t lock;           /* guards stats */
	struct kk_device_stats stats;
};

/* Open on the device o asks for.  KK_DEVICE_AUTO takes the GPU if it
 * opens and the CPU if not, with a note saying why; KK_DEVICE_GPU fails
 * then (KK_ERUNTIME: exit status 1). */
int kk_device_open(struct kk_device **d, const struct kk_device_opts *o,
		   struct kk_error *err);
void kk_device_close(struct kk_device *d);
bool kk_device_on_gpu(const struct kk_device *d);

/* Memory for buffers: on a GPU what cuMemGetInfo says is free, on the
 * CPU what the host has available. */
int kk_device_memory(struct kk_device *d, uint64_t *free_bytes,
		     uint64_t *total_bytes, struct kk_error *err);

/* Add to the stats (any thread). */
void kk_device_add_kernel_time(struct kk_device *d, double seconds);
void kk_device_stats(struct kk_device *d, struct kk_device_stats *out);

struct kk_hbuf {
	void *data;
	size_t bytes;
	bool pinned;
	bool on_device;         /* data is GPU memory (kk_hbuf_wrap_device):
				 * the engines copy it on the device */
	struct kk_device *dev;
	void *ev0, *ev1;        /* GPU: around the last copy (CUevent) */
	int pending;            /* a copy not yet waited for: 1 to the
				 * device, 2 from it */
	size_t pending_bytes;
};

/* A host buffer of bytes, pinned when asked and on a GPU; a failed
 * pinned allocation is KK_ENOMEM. */
int kk_hbuf_alloc(struct kk_device *d, struct kk_hbuf *b, size_t bytes,
		  bool pinned, struct kk_error *err);
void kk_hbuf_free(struct kk_hbuf *b);
/* Wait until the last copy into or out of b is done. */
int kk_hbuf_wait(struct kk_hbuf *b, struct kk_error *err);

#ifdef HAVE_CUDA_HEADERS
/* For the GPU engines: a copy of bytes through b on stream begins (ev0)
 * and ends (ev1); direction 1 to the device, 2 from it. */
int kk_hbuf_copy_begin(struct kk_hbuf *b, CUstream stream, int direction,
		       size_t bytes, struct kk_error *err);
int kk_hbuf_copy_end(struct kk_hbuf *b, CUstream stream,
		     struct kk_error *err);
/* GPU memory at ptr, bytes long, as a buffer the engines upload from and
 * download into without crossing the bus (the in-core iterative
 * methods); kk_hbuf_free leaves the memory to its owner. */
int kk_hbuf_wrap_device(struct kk_device *d, struct kk_hbuf *b,
			CUdeviceptr ptr, size_t bytes, struct kk_error *err);
#endif

#endif
