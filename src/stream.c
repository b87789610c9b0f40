/*
 * stream.c: what the two executors share (see stream.h): the memory a
 * run may take, shrinking after a failed allocation, rings of host
 * buffers, and the report that -v prints.
 */
#include "config.h"
#include "stream.h"
#include "budget.h"
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Held back from the host budget for libraries, caches and stacks. */
#define HOST_SLACK (64 * KK_MIB)
/* Left free on a GPU for kernels, textures and the driver. */
#define DEVICE_MARGIN (256 * KK_MIB)
/* On the CPU, the most the host buffers take of the budget. */
#define CPU_RING_MAX (512 * KK_MIB)
/* Below this, shrinking is pointless. */
#define SHRINK_FLOOR 4096

void kk_stream_opts_default(struct kk_stream_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->pinned = true;
	o->axes = kk_axes_default;
}

int kk_stream_limits(struct kk_device *d, const struct kk_stream_opts *o,
		     struct kk_plan_limits *l, struct kk_error *err)
{
	uint64_t rss = kk_rss_now(), avail = kk_host_available(), host;
	uint64_t free_b = 0, total_b = 0, margin, usable;
	char a[32], b[32], c[32];
	int rc;

	if (o->host_mem_limit) {
		if (o->host_mem_limit <= rss + HOST_SLACK) {
			kk_format_size(o->host_mem_limit, a, sizeof(a));
			kk_format_size(rss, b, sizeof(b));
			kk_format_size(HOST_SLACK, c, sizeof(c));
			return kk_fail(err, KK_EUSAGE, "--host-mem-limit %s "
				       "leaves nothing for buffers: kkit "
				       "holds %s already (its libraries and "
				       "the CUDA driver) and keeps %s for "
				       "them to grow", a, b, c);
		}
		host = o->host_mem_limit - rss - HOST_SLACK;
	} else {
		host = avail ? avail / 4 * 3 : KK_GIB;
	}
	memset(l, 0, sizeof(*l));
	l->chunk = o->chunk;
	l->device_what = kk_device_on_gpu(d) ? "GPU memory" : "memory";
	if (!kk_device_on_gpu(d)) {
		/* The "device" buffers are host memory too. */
		uint64_t ring = host / 4 < CPU_RING_MAX ? host / 4
							: CPU_RING_MAX;

		l->host = ring;
		l->device = host - ring;
		if (o->mem_limit && o->mem_limit < l->device)
			l->device = o->mem_limit;
		return 0;
	}
	l->host = host;
#ifdef HAVE_CUDA_HEADERS
	l->max_chunk = d->gpu->max_layers;
#endif
	rc = kk_device_memory(d, &free_b, &total_b, err);
	if (rc)
		return rc;
	margin = total_b / 32 > DEVICE_MARGIN ? total_b / 32 : DEVICE_MARGIN;
	usable = free_b > margin ? free_b - margin : 0;
	l->device = usable;
	if (o->mem_limit && o->mem_limit <= usable) {
		l->device = o->mem_limit;
	} else if (o->mem_limit) {
		kk_format_size(o->mem_limit, a, sizeof(a));
		kk_format_size(usable, b, sizeof(b));
		kk_msg_verbose("--mem-limit %s is more than the GPU has free "
			       "(less a margin): using %s", a, b);
	}
	return 0;
}

/* After an allocation failed: plan for less, saying so with -v; an
 * error if it cannot go lower. */
static int shrink(uint64_t *limit, uint64_t used, const char *where,
		  const struct kk_error *why, struct kk_error *err)
{
	uint64_t less = used / 4 * 3;
	char a[32];

	if (less < SHRINK_FLOOR) {
		*err = *why;
		return err->code;
	}
	*limit = less;
	kk_format_size(less, a, sizeof(a));
	kk_msg_verbose("out of %s (%s); trying again with %s", where,
		       why->msg, a);
	return 0;
}

static int ring_alloc(struct kk_ring *r, struct kk_device *d, int n,
		      uint64_t bytes, bool pinned, struct kk_error *err);
static void ring_free(struct kk_ring *r);

/* One try at the engine and the rings: 0, KK_ENOMEM after shrinking
 * the limit that ran out (1: try again), or another error. */
static int try_setup(struct kk_stream_run *c, struct kk_plan_limits *l,
		     const struct kk_stream_kind *kind, void *arg,
		     struct kk_error *oom, struct kk_error *err)
{
	struct kk_error why = {0};
	int rc;

	rc = kind->make_engine(arg, &why);
	if (rc == KK_ENOMEM) {
		if (!oom->code)
			*oom = why;
		rc = shrink(&l->device, c->plan.device_bytes, l->device_what,
			    &why, err);
		return rc ? rc : 1;
	}
	if (rc) {
		*err = why;
		return rc;
	}
	rc = ring_alloc(&c->in, c->dev, c->plan.nin, c->plan.in_bytes,
			c->o->pinned, &why);
	if (!rc)
		rc = ring_alloc(&c->out, c->dev, c->plan.nout,
				c->plan.out_bytes, c->o->pinned, &why);
	if (!rc)
		return 0;
	ring_free(&c->in);
	kind->free_engine(arg);
	if (rc != KK_ENOMEM) {
		*err = why;
		return rc;
	}
	if (!oom->code)
		*oom = why;
	rc = shrink(&l->host, c->plan.host_bytes, "host memory", &why, err);
	return rc ? rc : 1;
}

void kk_stream_begin(struct kk_stream_run *c, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_stream_opts *o,
		     struct kk_progress *progress,
		     struct kk_stream_stats *st)
{
	memset(c, 0, sizeof(*c));
	memset(st, 0, sizeof(*st));
	c->dev = d;
	c->g = g;
	c->o = o;
	c->progress = progress;
	c->t0 = kk_now();
}

int kk_stream_setup(struct kk_stream_run *c, struct kk_plan_limits *l,
		    const struct kk_stream_kind *kind, void *arg,
		    struct kk_reader *in, struct kk_writer *out,
		    struct kk_stream_stats *st, struct kk_error *err)
{
	struct kk_error oom = {0};
	char desc[320];
	int rc;

	do {
		rc = kind->plan(&c->plan, c->g, l, err);
		if (rc && oom.code)
			kk_error_prefix(err, "%s; and planning for less",
					oom.msg);
		if (rc)
			return rc;
		c->have_plan = true;
		rc = try_setup(c, l, kind, arg, &oom, err);
		if (rc) {
			kk_plan_release(&c->plan);
			c->have_plan = false;
		}
	} while (rc == 1);
	if (rc)
		return rc;
	kk_plan_describe(&c->plan, desc, sizeof(desc));
	if (c->plan.fp)
		kk_msg_verbose("plan: %s", desc);
	else
		kk_msg_verbose("plan: %s; reading %.2f times the projections",
			       desc, c->plan.read_factor);
	if (c->plan.chunk_shrunk)
		kk_msg_warn("--chunk %lld does not fit: using %lld views a "
			    "chunk", (long long)c->o->chunk,
			    (long long)c->plan.chunk);
	st->nslabs = c->plan.nslabs;
	st->nchunks = c->plan.nchunks;
	rc = kk_worker_start_reader(&c->reader, in, err);
	if (!rc)
		rc = kk_worker_start_writer(&c->writer, out, err);
	return rc;
}

int kk_stream_drain(struct kk_stream_run *c, struct kk_error *err)
{
	int i, rc = 0;

	for (i = 0; !rc && i < c->out.n; i++)
		rc = kk_worker_wait(c->writer, &c->out.job[i], err);
	return rc;
}

void kk_stream_stop(struct kk_stream_run *c, struct kk_stream_stats *st)
{
	if (c->reader) {
		st->read_s = kk_worker_busy(c->reader);
		st->read_bytes = kk_worker_bytes(c->reader);
	}
	if (c->writer) {
		st->write_s = kk_worker_busy(c->writer);
		st->write_bytes = kk_worker_bytes(c->writer);
	}
	kk_worker_stop(c->reader);
	kk_worker_stop(c->writer);
	c->reader = c->writer = NULL;
}

void kk_stream_end(struct kk_stream_run *c, struct kk_stream_stats *st)
{
	struct kk_error ignored = {0};
	int i;

	/* The last copies' times, now that all is done. */
	for (i = 0; i < c->in.n; i++)
		kk_hbuf_wait(&c->in.buf[i], &ignored);
	for (i = 0; i < c->out.n; i++)
		kk_hbuf_wait(&c->out.buf[i], &ignored);
	ring_free(&c->in);
	ring_free(&c->out);
	if (c->have_plan)
		kk_plan_release(&c->plan);
	c->have_plan = false;
	kk_device_stats(c->dev, &st->dev);
	st->seconds = kk_now() - c->t0;
	st->peak_rss = kk_rss_peak();
}

static int ring_alloc(struct kk_ring *r, struct kk_device *d, int n,
		      uint64_t bytes, bool pinned, struct kk_error *err)
{
	int i, rc = 0;

	memset(r, 0, sizeof(*r));
	r->buf = calloc((size_t)n, sizeof(*r->buf));
	r->job = calloc((size_t)n, sizeof(*r->job));
	if (!r->buf || !r->job) {
		ring_free(r);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	for (i = 0; i < n && !rc; i++) {
		rc = kk_hbuf_alloc(d, &r->buf[i], (size_t)bytes, pinned, err);
		if (!rc)
			r->n = i + 1;
	}
	if (rc)
		ring_free(r);
	return rc;
}

static void ring_free(struct kk_ring *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		kk_hbuf_free(&r->buf[i]);
	free(r->buf);
	free(r->job);
	memset(r, 0, sizeof(*r));
}

void kk_stream_report(const struct kk_geometry *g,
		      const struct kk_stream_stats *st)
{
	double updates = (double)g->vol.nx * g->vol.ny * g->vol.nz *
			 (double)g->nviews / 1e9;
	char h2d[32], d2h[32], rd[32], wr[32], peak[32];

	kk_format_size(st->dev.h2d_bytes, h2d, sizeof(h2d));
	kk_format_size(st->dev.d2h_bytes, d2h, sizeof(d2h));
	kk_format_size(st->read_bytes, rd, sizeof(rd));
	kk_format_size(st->write_bytes, wr, sizeof(wr));
	kk_format_size(st->peak_rss, peak, sizeof(peak));
	kk_msg_verbose("%.2f s from file to file, %.1f GUPS; computing "
		       "%.2f s (%.1f GUPS)", st->seconds,
		       st->seconds > 0 ? updates / st->seconds : 0,
		       st->dev.kernel_s, st->dev.kernel_s > 0
		       ? updates / st->dev.kernel_s : 0);
	kk_msg_verbose("reading %.2f s (%s), writing %.2f s (%s), copies to "
		       "the device %.2f s (%s) and from it %.2f s (%s); peak "
		       "host memory %s", st->read_s, rd, st->write_s, wr,
		       st->dev.h2d_s, h2d, st->dev.d2h_s, d2h, peak);
}
