/*
 * device.c: choosing the device, its memory, and host buffers with the
 * events that say when their copies are done (see device.h).
 */
#include "config.h"
#include "device.h"
#include "budget.h"
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kk_device_opts_default(struct kk_device_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->device = KK_DEVICE_AUTO;
	o->threads = kk_cpu_count();
	kk_gpu_proj_opts_default(&o->gpu_opts);
}

int kk_device_open(struct kk_device **out, const struct kk_device_opts *o,
		   struct kk_error *err)
{
	struct kk_device *d = calloc(1, sizeof(*d));
	struct kk_error why = {0};
	int rc;

	*out = NULL;
	if (!d)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	d->threads = o->threads;
	d->gpu_opts = o->gpu_opts;
	pthread_mutex_init(&d->lock, NULL);
	if (o->device != KK_DEVICE_CPU) {
		rc = kk_gpu_open(&d->gpu, o->gpu, &o->kernels, &why);
		if (rc && (o->device == KK_DEVICE_GPU || rc == KK_EUSAGE)) {
			*err = why;
			pthread_mutex_destroy(&d->lock);
			free(d);
			return rc;
		}
		if (rc)
			kk_msg_note("%s; computing on the CPU", why.msg);
	}
	if (d->gpu)
		kk_gpu_describe(d->gpu, d->name, sizeof(d->name));
	else
		snprintf(d->name, sizeof(d->name), "cpu, %d thread%s",
			 o->threads, o->threads == 1 ? "" : "s");
	*out = d;
	return 0;
}

void kk_device_close(struct kk_device *d)
{
	if (!d)
		return;
	kk_gpu_close(d->gpu);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

bool kk_device_on_gpu(const struct kk_device *d)
{
	return d->gpu != NULL;
}

void kk_device_add_kernel_time(struct kk_device *d, double seconds)
{
	pthread_mutex_lock(&d->lock);
	d->stats.kernel_s += seconds;
	pthread_mutex_unlock(&d->lock);
}

void kk_device_stats(struct kk_device *d, struct kk_device_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->stats;
	pthread_mutex_unlock(&d->lock);
}

#ifdef HAVE_CUDA_HEADERS

int kk_device_memory(struct kk_device *d, uint64_t *free_bytes,
		     uint64_t *total_bytes, struct kk_error *err)
{
	size_t f = 0, t = 0;
	int rc;

	if (!d->gpu) {
		*free_bytes = kk_host_available();
		*total_bytes = *free_bytes;
		return 0;
	}
	rc = KK_CU(d->gpu, err, cuCtxSetCurrent, d->gpu->ctx);
	if (!rc)
		rc = KK_CU(d->gpu, err, cuMemGetInfo, &f, &t);
	*free_bytes = f;
	*total_bytes = t;
	return rc;
}

/* The events that time b's copies. */
static int make_events(struct kk_gpu *g, struct kk_hbuf *b,
		       struct kk_error *err)
{
	int rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);

	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, (CUevent *)&b->ev0,
			   CU_EVENT_DEFAULT);
	if (!rc)
		rc = KK_CU(g, err, cuEventCreate, (CUevent *)&b->ev1,
			   CU_EVENT_DEFAULT);
	return rc;
}

int kk_hbuf_alloc(struct kk_device *d, struct kk_hbuf *b, size_t bytes,
		  bool pinned, struct kk_error *err)
{
	struct kk_gpu *g = d->gpu;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->dev = d;
	b->bytes = bytes;
	b->pinned = pinned && g;
	if (g) {
		rc = make_events(g, b, err);
		if (!rc && b->pinned)
			rc = KK_CU(g, err, cuMemHostAlloc, &b->data,
				   bytes ? bytes : 1, 0);
	}
	if (!rc && !b->pinned) {
		b->data = malloc(bytes ? bytes : 1);
		if (!b->data)
			rc = kk_fail(err, KK_ENOMEM, "out of memory for a "
				     "%zu-byte buffer", bytes);
	}
	if (rc)
		kk_hbuf_free(b);
	return rc;
}

void kk_hbuf_free(struct kk_hbuf *b)
{
	struct kk_gpu *g = b->dev ? b->dev->gpu : NULL;

	if (g) {
		g->cu.cuCtxSetCurrent(g->ctx);
		if (b->ev1)
			g->cu.cuEventSynchronize(b->ev1);
		if (b->pinned && b->data)
			g->cu.cuMemFreeHost(b->data);
		if (b->ev0)
			g->cu.cuEventDestroy(b->ev0);
		if (b->ev1)
			g->cu.cuEventDestroy(b->ev1);
	}
	if (!b->pinned && !b->on_device)
		free(b->data);
	memset(b, 0, sizeof(*b));
}

int kk_hbuf_wait(struct kk_hbuf *b, struct kk_error *err)
{
	struct kk_device *d = b->dev;
	struct kk_gpu *g = d ? d->gpu : NULL;
	float ms = 0;
	int rc;

	if (!g || !b->pending)
		return 0;
	rc = KK_CU(g, err, cuCtxSetCurrent, g->ctx);
	if (!rc)
		rc = KK_CU(g, err, cuEventSynchronize, b->ev1);
	if (!rc)
		rc = KK_CU(g, err, cuEventElapsedTime, &ms, b->ev0, b->ev1);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	if (b->on_device) {
		/* not a transfer */
	} else if (b->pending == 1) {
		d->stats.h2d_s += ms / 1e3;
		d->stats.h2d_bytes += b->pending_bytes;
	} else {
		d->stats.d2h_s += ms / 1e3;
		d->stats.d2h_bytes += b->pending_bytes;
	}
	pthread_mutex_unlock(&d->lock);
	b->pending = 0;
	return 0;
}

int kk_hbuf_copy_begin(struct kk_hbuf *b, CUstream stream, int direction,
		       size_t bytes, struct kk_error *err)
{
	/* A copy not waited for yet is counted now: its events are about
	 * to be recorded again. */
	int rc = kk_hbuf_wait(b, err);

	if (rc)
		return rc;
	b->pending = direction;
	b->pending_bytes = bytes;
	return KK_CU(b->dev->gpu, err, cuEventRecord, b->ev0, stream);
}

int kk_hbuf_copy_end(struct kk_hbuf *b, CUstream stream,
		     struct kk_error *err)
{
	return KK_CU(b->dev->gpu, err, cuEventRecord, b->ev1, stream);
}

int kk_hbuf_wrap_device(struct kk_device *d, struct kk_hbuf *b,
			CUdeviceptr ptr, size_t bytes, struct kk_error *err)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->dev = d;
	b->bytes = bytes;
	b->data = (void *)(uintptr_t)ptr;
	b->on_device = true;
	rc = make_events(d->gpu, b, err);
	if (rc)
		kk_hbuf_free(b);
	return rc;
}

#else

int kk_device_memory(struct kk_device *d, uint64_t *free_bytes,
		     uint64_t *total_bytes, struct kk_error *err)
{
	*free_bytes = kk_host_available();
	*total_bytes = *free_bytes;
	return 0;
}

int kk_hbuf_alloc(struct kk_device *d, struct kk_hbuf *b, size_t bytes,
		  bool pinned, struct kk_error *err)
{
	memset(b, 0, sizeof(*b));
	b->dev = d;
	b->bytes = bytes;
	b->data = malloc(bytes ? bytes : 1);
	if (!b->data)
		return kk_fail(err, KK_ENOMEM, "out of memory for a %zu-byte "
			       "buffer", bytes);
	return 0;
}

void kk_hbuf_free(struct kk_hbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int kk_hbuf_wait(struct kk_hbuf *b, struct kk_error *err)
{
	return 0;
}

#endif
