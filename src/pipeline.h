/*
 * pipeline.h: the host side of streaming.  A worker is a thread that
 * reads from one input (or writes to one output) job after job, in the
 * order they were submitted, while the main thread keeps the device
 * busy.  Each job moves one host buffer: a read waits until the buffer's
 * last upload is done, then fills it; a write waits until its download
 * is done, then writes it out.  The conversions to and from float16
 * storage, and the gather of an unusual projection axis order, happen
 * in the worker too.
 *
 * A job belongs to the caller; it must not be touched between
 * kk_worker_submit and the kk_worker_wait that ends it.  A failed job
 * fails every job after it with the same error.
 */
#ifndef KK_PIPELINE_H
#define KK_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "device.h"
#include "io.h"
#include "msg.h"

struct kk_job {
	/* What to do; set before submitting. */
	struct kk_hbuf *buf;
	int64_t start[3], count[3];  /* read: a box of the input; write: a
				      * slab, start/count[axis] */
	int axis;                    /* write: the slab's axis */
	bool half;                   /* read: store as float16 after;
				      * write: widen from float16 first */
	const struct kk_axes *gather;/* read: the box's projection axes, to
				      * be gathered into angle,row,col */
	bool count_part;             /* read: count values for the input's
				      * warnings only at indices [count_lo,
				      * count_hi) of count_axis, less
				      * [count_xlo, count_xhi) (data read
				      * twice is counted once) */
	int count_axis;
	int64_t count_lo, count_hi, count_xlo, count_xhi;
	/* The worker's. */
	int state;
	int rc;
	struct kk_error err;
	struct kk_job *next;
};

struct kk_worker;

int kk_worker_start_reader(struct kk_worker **w, struct kk_reader *r,
			   struct kk_error *err);
int kk_worker_start_writer(struct kk_worker **w, struct kk_writer *wr,
			   struct kk_error *err);
void kk_worker_submit(struct kk_worker *w, struct kk_job *job);
/* Wait until job is done (at once if it never was submitted) and give
 * its result; the job may be submitted again after. */
int kk_worker_wait(struct kk_worker *w, struct kk_job *job,
		   struct kk_error *err);
/* Is job done (or never submitted)?  Does not wait. */
bool kk_worker_done(struct kk_worker *w, const struct kk_job *job);
/* Drop the jobs not begun, wait for the one running and end the
 * thread.  NULL is fine. */
void kk_worker_stop(struct kk_worker *w);
/* Seconds spent reading or writing (not waiting), and bytes moved. */
double kk_worker_busy(struct kk_worker *w);
uint64_t kk_worker_bytes(struct kk_worker *w);

#endif
