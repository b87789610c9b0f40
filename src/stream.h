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

struct kk_fbp;

struct kk_stream_opts {
	uint64_t mem_limit;       /* the device buffers' bytes; 0: what
				   * is free */
	uint64_t host_mem_limit;  /* the whole process's bytes; 0: what
				   * the host has available */
	int64_t chunk;            /* views a chunk; 0: choose */
	bool pinned;              /* pinned host buffers (GPU) */
	struct kk_axes axes;      /* the projections' axis order */
	const struct kk_fbp *fbp; /* bp: weight and filter the projections
				   * first (kkit fbp) */
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
/* Backproject the projections proj into the volume vol (filtered
 * first when o->fbp is set). */
int kk_stream_bp(struct kk_device *d, const struct kk_geometry *g,
		 struct kk_reader *proj, struct kk_writer *vol,
		 const struct kk_stream_opts *o, struct kk_progress *progress,
		 struct kk_stream_stats *st, struct kk_error *err);

/* With -v: the run's speed and where its time went. */
void kk_stream_report(const struct kk_geometry *g,
		      const struct kk_stream_stats *st);

/* ---- shared by stream_fp.c and stream_bp.c ------------------------- */

/* A ring of host buffers, each with the job that moves it. */
struct kk_ring {
	struct kk_hbuf *buf;
	struct kk_job *job;
	int n;
};

/* What an executor's run holds besides its engine. */
struct kk_stream_run {
	struct kk_device *dev;
	const struct kk_geometry *g;
	const struct kk_stream_opts *o;
	struct kk_progress *progress;
	struct kk_plan plan;
	bool have_plan;
	struct kk_ring in, out;
	struct kk_worker *reader, *writer;
	double t0;
};

/* How an executor plans and makes (frees) its engine for kk_stream_setup;
 * arg is the executor's own run. */
struct kk_stream_kind {
	int (*plan)(struct kk_plan *p, const struct kk_geometry *g,
		    const struct kk_plan_limits *l, struct kk_error *err);
	int (*make_engine)(void *arg, struct kk_error *err);
	void (*free_engine)(void *arg);
};

void kk_stream_begin(struct kk_stream_run *c, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_stream_opts *o,
		     struct kk_progress *progress,
		     struct kk_stream_stats *st);
/* The bytes the device's buffers and the host's may take, from the
 * options and what is free. */
int kk_stream_limits(struct kk_device *d, const struct kk_stream_opts *o,
		     struct kk_plan_limits *l, struct kk_error *err);
/*
 * Plan within l, make the engine and the host buffers; after an
 * out-of-memory, plan for a quarter less and try again (saying so with
 * -v), until not even a slice and a view fit.  Then say the plan with -v
 * and start the reader and the writer threads.
 */
int kk_stream_setup(struct kk_stream_run *c, struct kk_plan_limits *l,
		    const struct kk_stream_kind *kind, void *arg,
		    struct kk_reader *in, struct kk_writer *out,
		    struct kk_stream_stats *st, struct kk_error *err);
/* Wait for every write handed out. */
int kk_stream_drain(struct kk_stream_run *c, struct kk_error *err);
/* Stop the threads and count what they did; then, after the engine is
 * freed, kk_stream_end counts the last copies and frees the rest. */
void kk_stream_stop(struct kk_stream_run *c, struct kk_stream_stats *st);
void kk_stream_end(struct kk_stream_run *c, struct kk_stream_stats *st);

#endif
