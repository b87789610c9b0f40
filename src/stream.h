/*
 * stream.h: kkit fp and kkit bp from file to file, streamed through the
 * device in chunks (the executors).
 *
 * The data never needs to fit anywhere whole: plan.h cuts the work to
 * the memory there is, a reader thread fills host buffers while the
 * device computes and a writer thread empties them (pipeline.h), and
 * the engines (engine.h) overlap copies in both directions with the
 * kernels.  The result is the same as an in-core run to rounding,
 * whatever the cut.
 */
#ifndef KK_STREAM_H
#define KK_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "device.h"
#include "geometry.h"
#include "io.h"
#include "msg.h"
#include "plan.h"

struct kk_stream_opts {
	uint64_t mem_limit;       /* the device buffers' bytes; 0: what
				   * is free */
	uint64_t host_mem_limit;  /* the whole process's bytes; 0: what
				   * the host has available */
	int64_t chunk;            /* views a chunk; 0: choose */
	bool pinned;              /* pinned host buffers (GPU) */
	struct kk_axes axes;      /* the projections' axis order */
};

void kk_stream_opts_default(struct kk_stream_opts *o);

/* What a run did, for -v. */
struct kk_stream_stats {
	double seconds;
	double read_s, write_s;
	uint64_t read_bytes, write_bytes;
	struct kk_device_stats dev;
	uint64_t peak_rss;
	int64_t nslabs, nchunks;
};

/* Forward project the volume vol into the projections proj (already
 * opened and checked against g); progress counts views. */
int kk_stream_fp(struct kk_device *d, const struct kk_geometry *g,
		 struct kk_reader *vol, struct kk_writer *proj,
		 const struct kk_stream_opts *o, struct kk_progress *progress,
		 struct kk_stream_stats *st, struct kk_error *err);
/* Backproject the projections proj into the volume vol. */
int kk_stream_bp(struct kk_device *d, const struct kk_geometry *g,
		 struct kk_reader *proj, struct kk_writer *vol,
		 const struct kk_stream_opts *o, struct kk_progress *progress,
		 struct kk_stream_stats *st, struct kk_error *err);

/* With -v: the run's speed and where its time went. */
void kk_stream_report(const struct kk_geometry *g,
		      const struct kk_stream_stats *st);

/* ---- shared by stream_fp.c and stream_bp.c ------------------------- */

/* The bytes the device's buffers and the host's may take, from the
 * options and what is free. */
int kk_stream_limits(struct kk_device *d, const struct kk_stream_opts *o,
		     struct kk_plan_limits *l, struct kk_error *err);
/* After an allocation failed: plan for less, saying so with -v; an
 * error if it cannot go lower. */
int kk_stream_shrink(uint64_t *limit, uint64_t used, const char *where,
		     const struct kk_error *why, struct kk_error *err);

/* A ring of host buffers. */
struct kk_ring {
	struct kk_hbuf *buf;
	struct kk_job *job;
	int n;
};
int kk_ring_alloc(struct kk_ring *r, struct kk_device *d, int n,
		  uint64_t bytes, bool pinned, struct kk_error *err);
void kk_ring_free(struct kk_ring *r);

#endif
